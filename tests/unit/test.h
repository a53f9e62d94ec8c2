/* Minimal unit-test support, after libuv's test/task.h.
 *
 * A test is `TEST_IMPL(name) { ... }` in some tests/unit/test-<feature>.c file and a line
 * `TEST_ENTRY(name)` in tests/unit/test-list.h. The runner (runner.c) runs one test by name
 * (`evd-unit name`) or all of them (`evd-unit`). A failed ASSERT prints file:line and the
 * expression and exits non-zero, so ctest reports the test as failed. */
#ifndef EVD_TEST_H
#define EVD_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_IMPL(name) int run_test_##name(void); int run_test_##name(void)

#define TEST_FAIL_(fmt, ...)                                                               \
  do {                                                                                      \
    fprintf(stderr, "%s:%d: assertion failed: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__); \
    abort();                                                                                \
  } while (0)

#define ASSERT(expr)                                   \
  do {                                                 \
    if (!(expr)) TEST_FAIL_("%s", #expr);              \
  } while (0)

#define ASSERT_EQ_INT(a, b)                                                                 \
  do {                                                                                      \
    long long a_ = (long long)(a), b_ = (long long)(b);                                     \
    if (a_ != b_) TEST_FAIL_("%s == %s (%lld != %lld)", #a, #b, a_, b_);                    \
  } while (0)

#define ASSERT_EQ_U64(a, b)                                                                 \
  do {                                                                                      \
    uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                        \
    if (a_ != b_) TEST_FAIL_("%s == %s (%" PRIu64 " != %" PRIu64 ")", #a, #b, a_, b_);      \
  } while (0)

#define ASSERT_EQ_STR(a, b)                                                                 \
  do {                                                                                      \
    const char *a_ = (a), *b_ = (b);                                                        \
    if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                                    \
      TEST_FAIL_("%s == %s (\"%s\" != \"%s\")", #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
  } while (0)

/* Compare a (pointer, length) pair with a NUL-terminated string. */
#define ASSERT_EQ_MEM(p, n, s)                                                              \
  do {                                                                                      \
    const char *p_ = (const char *)(p), *s_ = (s);                                          \
    size_t n_ = (size_t)(n);                                                                \
    if (n_ != strlen(s_) || memcmp(p_, s_, n_) != 0)                                        \
      TEST_FAIL_("%s == %s (\"%.*s\" != \"%s\")", #p, #s, (int)n_, p_, s_);                 \
  } while (0)

/* A fresh empty temporary directory for this test; the caller removes it with
 * test_rmdir_r (runner.c). Returns a malloc'd path. */
char *test_tmpdir(void);
void test_rmdir_r(const char *path);

#endif
