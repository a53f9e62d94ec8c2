/* Unit tests of src/cli (see test-list.h). */
TEST_ENTRY(sse_parses_fields_comments_and_line_endings_in_any_split)
