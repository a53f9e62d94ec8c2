/* ratelimit: token buckets per key (src/server/ratelimit.h). */
#include <stdio.h>
#include <string.h>

#include "server/ratelimit.h"
#include "test.h"

#define SEC 1000000000ll

TEST_IMPL(ratelimit_allows_the_burst_then_refuses_with_the_wait) {
  ratelimit *rl = ratelimit_new(2, 2, 16); /* 2/s, burst 2 */
  ASSERT(rl != NULL);
  int64_t t0 = 5 * SEC;
  ASSERT_EQ_U64(ratelimit_take(rl, "a", 1, t0), 0);
  ASSERT_EQ_U64(ratelimit_take(rl, "a", 1, t0), 0);
  int64_t wait = ratelimit_take(rl, "a", 1, t0);
  /* One token comes back after 0.5 s at 2/s. */
  ASSERT(wait > SEC / 2 - 1000 && wait <= SEC / 2 + 1000);
  ASSERT_EQ_U64(ratelimit_refused(rl), 1);
  /* Half a second later one request passes again, and only one. */
  ASSERT_EQ_U64(ratelimit_take(rl, "a", 1, t0 + SEC / 2 + 1), 0);
  ASSERT(ratelimit_take(rl, "a", 1, t0 + SEC / 2 + 1) > 0);
  ratelimit_free(rl);
  return 0;
}

TEST_IMPL(ratelimit_keys_have_separate_buckets) {
  ratelimit *rl = ratelimit_new(1, 1, 16);
  ASSERT(rl != NULL);
  ASSERT_EQ_U64(ratelimit_take(rl, "10.0.0.1", 8, 0), 0);
  ASSERT(ratelimit_take(rl, "10.0.0.1", 8, 0) > 0);
  /* Same prefix, different length: another key. */
  ASSERT_EQ_U64(ratelimit_take(rl, "10.0.0.12", 9, 0), 0);
  ASSERT_EQ_U64(ratelimit_take(rl, "10.0.0.2", 8, 0), 0);
  ASSERT_EQ_U64(ratelimit_keys(rl), 3);
  ratelimit_free(rl);
  return 0;
}

TEST_IMPL(ratelimit_full_table_drops_refilled_keys_and_refuses_when_all_are_limited) {
  ratelimit *rl = ratelimit_new(1, 1, 4);
  ASSERT(rl != NULL);
  char k[16];
  for (int i = 0; i < 4; i++) {
    snprintf(k, sizeof k, "k%d", i);
    ASSERT_EQ_U64(ratelimit_take(rl, k, strlen(k), 0), 0);
  }
  ASSERT_EQ_U64(ratelimit_keys(rl), 4);
  /* All four are empty now: a fifth key is refused (fail closed), not tracked. */
  ASSERT(ratelimit_take(rl, "k4", 2, 0) > 0);
  ASSERT_EQ_U64(ratelimit_keys(rl), 4);
  /* Two seconds later every bucket is full again: they are dropped to make room. */
  ASSERT_EQ_U64(ratelimit_take(rl, "k4", 2, 2 * SEC), 0);
  ASSERT_EQ_U64(ratelimit_keys(rl), 1);
  ratelimit_free(rl);
  return 0;
}

TEST_IMPL(ratelimit_rejects_bad_parameters) {
  ASSERT(ratelimit_new(0, 1, 4) == NULL);
  ASSERT(ratelimit_new(1, 0.5, 4) == NULL);
  ASSERT(ratelimit_new(1, 1, 0) == NULL);
  return 0;
}
