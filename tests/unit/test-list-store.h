/* Unit tests of src/store (see test-list.h). */
