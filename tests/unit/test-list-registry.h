/* Unit tests of src/registry (see test-list.h). */
