/* keymatch: see keymatch.h.
 *
 * Words play the part of characters in classic wildcard matching: "#" is the star (any run
 * of words, also none), "*" is the single-character wildcard, any other word matches only
 * itself. The matcher is the iterative greedy one with a single restart point: on a
 * mismatch it returns to just after the most recent "#" and lets that "#" swallow one more
 * key word. Remembering only the latest "#" is enough (an earlier "#" could only absorb what
 * the later one can), so there is no recursion and no allocation; each key word is retried
 * against each pattern word at most once per restart, O(len(pattern) * len(key)) overall.
 *
 * A position in a string is the offset of a word's first byte; END (n + 1) means "no more
 * words". The empty string has no words; "a." has two ("a" and ""). */
#include "core/keymatch.h"

#include <string.h>

#define KEY_MAX 255

/* End offset (exclusive) of the word starting at pos. */
static inline size_t word_end(const char *s, size_t n, size_t pos) {
  const char *dot = memchr(s + pos, '.', n - pos);
  return dot ? (size_t)(dot - s) : n;
}

/* Start of the word after the one that ends at wend, or n + 1 (END). */
static inline size_t word_next(size_t n, size_t wend) { return wend < n ? wend + 1 : n + 1; }

int keymatch(const char *pattern, size_t plen, const char *key, size_t klen) {
  const size_t pend = plen + 1, kend = klen + 1;
  size_t pi = plen ? 0 : pend, ki = klen ? 0 : kend;
  size_t star_pi = 0, star_ki = 0; /* restart point: pattern after the last '#', key there */
  int have_star = 0;

  while (ki != kend) {
    if (pi != pend) {
      size_t pe = word_end(pattern, plen, pi);
      size_t pw = pe - pi;
      if (pw == 1 && pattern[pi] == '#') {
        have_star = 1;
        star_pi = word_next(plen, pe);
        star_ki = ki;
        pi = star_pi;
        continue;
      }
      size_t ke = word_end(key, klen, ki);
      if ((pw == 1 && pattern[pi] == '*') ||
          (pw == ke - ki && memcmp(pattern + pi, key + ki, pw) == 0)) {
        pi = word_next(plen, pe);
        ki = word_next(klen, ke);
        continue;
      }
    }
    if (!have_star) return 0;
    /* Let the last '#' absorb one more key word and try again from after it. */
    star_ki = word_next(klen, word_end(key, klen, star_ki));
    ki = star_ki;
    pi = star_pi;
  }
  /* Key used up: what is left of the pattern must be '#' words only. */
  while (pi != pend) {
    size_t pe = word_end(pattern, plen, pi);
    if (!(pe - pi == 1 && pattern[pi] == '#')) return 0;
    pi = word_next(plen, pe);
  }
  return 1;
}

static inline int is_space_or_control(unsigned char c) { return c <= 0x20 || c == 0x7f; }

/* Shared checks: 1..255 bytes, no whitespace/control bytes; wildcards as whole words only
 * (allow_wild) or not at all as words (!allow_wild: '*' and '#' inside a longer word are
 * plain characters of a routing key). */
static int routing_check(const char *s, size_t n, int allow_wild) {
  if (n == 0 || n > KEY_MAX) return 0;
  size_t ws = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == '.') {
      size_t wl = i - ws;
      int wild_word = wl == 1 && (s[ws] == '*' || s[ws] == '#');
      if (!allow_wild && wild_word) return 0;
      if (allow_wild && !wild_word && wl > 0) {
        if (memchr(s + ws, '*', wl) || memchr(s + ws, '#', wl)) return 0;
      }
      ws = i + 1;
      continue;
    }
    if (is_space_or_control((unsigned char)s[i])) return 0;
  }
  return 1;
}

int routing_key_valid(const char *s, size_t n) { return routing_check(s, n, 0); }

int routing_pattern_valid(const char *s, size_t n) { return routing_check(s, n, 1); }
