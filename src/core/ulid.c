/* ulid: see ulid.h. The 80 "random" bits are seeded once from getrandom() and then
 * incremented by one per id within the same millisecond (the monotonic ULID variant), and
 * re-drawn from a cheap xorshift of the previous value when the millisecond advances, so
 * generating an id costs no system call. */
#include "core/ulid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

static const char CROCKFORD[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int ulid_gen_init(ulid_gen *g) {
  uint64_t seed[2];
  ssize_t got;
  do {
    got = getrandom(seed, sizeof seed, 0);
  } while (got < 0 && errno == EINTR);
  if (got != (ssize_t)sizeof seed) return -1;
  g->last_ms = 0;
  g->hi16 = seed[0] & 0xFFFF;
  g->lo64 = seed[1] | 1;
  return 0;
}

/* xorshift64: a full-period generator on non-zero states. */
static uint64_t xorshift64(uint64_t x) {
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

void ulid_next(ulid_gen *g, uint64_t now_ms, char out[ULID_LEN]) {
  if (now_ms > g->last_ms) {
    g->last_ms = now_ms;
    g->lo64 = xorshift64(g->lo64 ? g->lo64 : 0x9E3779B97F4A7C15ULL);
    /* Keep the top random bit clear so the increments below practically never carry into
     * the timestamp. */
    g->hi16 = (g->hi16 * 0x5851u + g->lo64) & 0x7FFF;
  } else {
    /* Same ms, or the clock stepped back: stay on last_ms and increment. */
    if (++g->lo64 == 0 && ++g->hi16 > 0xFFFF) {
      g->hi16 = 0;
      g->last_ms++; /* 80-bit overflow: borrow the next millisecond */
    }
  }
  /* 128 bits = 48-bit time | 16-bit hi | 64-bit lo; 26 chars of 5 bits (first char 3 bits). */
  uint64_t top = (g->last_ms << 16) | (g->hi16 & 0xFFFF); /* upper 64 bits */
  uint64_t bot = g->lo64;                                  /* lower 64 bits */
  for (int i = ULID_LEN - 1; i >= 0; i--) {
    out[i] = CROCKFORD[bot & 31];
    bot = (bot >> 5) | (top << 59);
    top >>= 5;
  }
}

static int crockford_value(char c) {
  const char *p = strchr(CROCKFORD, c);
  return (c && p) ? (int)(p - CROCKFORD) : -1;
}

int ulid_valid(const char *s, size_t n) {
  if (n != ULID_LEN || s[0] > '7') return 0;
  for (size_t i = 0; i < n; i++)
    if (crockford_value(s[i]) < 0) return 0;
  return 1;
}

uint64_t ulid_time_ms(const char s[ULID_LEN]) {
  uint64_t t = 0;
  for (int i = 0; i < 10; i++) t = (t << 5) | (uint64_t)crockford_value(s[i]);
  return t;
}
