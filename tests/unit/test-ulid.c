/* Tests of core/ulid. */
#include "core/ulid.h"
#include "test.h"

TEST_IMPL(ulid_ids_are_valid_and_carry_their_time) {
  ulid_gen g;
  ASSERT_EQ_INT(ulid_gen_init(&g), 0);
  char id[ULID_LEN];
  ulid_next(&g, 1763712000123ULL, id);
  ASSERT(ulid_valid(id, ULID_LEN));
  ASSERT_EQ_U64(ulid_time_ms(id), 1763712000123ULL);
  ASSERT(!ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FA", 25));
  ASSERT(!ulid_valid("81ARZ3NDEKTSV4RRFFQ69G5FAV", 26)); /* first char over 7: overflows 128 bits */
  ASSERT(!ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAU", 26)); /* U is not Crockford */
  ASSERT(ulid_valid("01ARZ3NDEKTSV4RRFFQ69G5FAV", 26));
  return 0;
}

TEST_IMPL(ulid_ids_strictly_increase_within_ms_and_on_clock_step_back) {
  ulid_gen g;
  ASSERT_EQ_INT(ulid_gen_init(&g), 0);
  char prev[ULID_LEN], cur[ULID_LEN];
  ulid_next(&g, 1000000, prev);
  uint64_t clock[] = {1000000, 1000000, 1000001, 999990, 999990, 1000002, 1000002, 5000000};
  for (int round = 0; round < 2000; round++) {
    ulid_next(&g, clock[round % 8] + (uint64_t)(round / 8) * 10, cur);
    ASSERT(memcmp(prev, cur, ULID_LEN) < 0);
    memcpy(prev, cur, ULID_LEN);
  }
  return 0;
}
