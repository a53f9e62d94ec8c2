/* ulid: time-ordered unique ids (ULID: 48-bit ms timestamp + 80 bits, Crockford base32,
 * 26 characters). A generator is monotonic: ids it returns sort strictly increasing as
 * strings, also within one millisecond and if the clock steps back. Not thread-safe: one
 * generator per thread (the store's writer owns the one that names events). */
#ifndef EVD_ULID_H
#define EVD_ULID_H

#include <stddef.h>
#include <stdint.h>

#define ULID_LEN 26

typedef struct ulid_gen {
  uint64_t last_ms;
  uint64_t hi16; /* upper 16 of the 80 random bits */
  uint64_t lo64; /* lower 64 of the 80 random bits */
} ulid_gen;

/* Seed from getrandom(). Returns 0, or -1 if no randomness is available. */
int ulid_gen_init(ulid_gen *g);
/* Write the next id (26 chars, not NUL-terminated) for time now_ms into out. */
void ulid_next(ulid_gen *g, uint64_t now_ms, char out[ULID_LEN]);
/* 1 if s[0..n) is a syntactically valid ULID (26 Crockford base32 chars, first <= '7'). */
int ulid_valid(const char *s, size_t n);
/* The ms timestamp of a valid ULID. */
uint64_t ulid_time_ms(const char s[ULID_LEN]);

#endif
