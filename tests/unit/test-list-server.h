/* Unit tests of src/server (see test-list.h). */
