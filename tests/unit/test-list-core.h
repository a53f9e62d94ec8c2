/* Unit tests of src/core (see test-list.h). */
