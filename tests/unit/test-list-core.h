/* Unit tests of src/core (see test-list.h). */
TEST_ENTRY(crc32c_matches_standard_check_value)
TEST_ENTRY(crc32c_extend_equals_one_shot)
TEST_ENTRY(ulid_ids_are_valid_and_carry_their_time)
TEST_ENTRY(ulid_ids_strictly_increase_within_ms_and_on_clock_step_back)
