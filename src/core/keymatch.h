/* keymatch: AMQP topic-pattern matching on dot-separated routing keys.
 *
 * A pattern is words separated by '.'; the word "*" matches exactly one word and "#" matches
 * zero or more words. "sessiond.#" matches "sessiond", "sessiond.a" and "sessiond.a.b";
 * "*.created" matches "vm.created" only; "#" matches everything. Empty words are literal
 * (the key "a..b" has an empty middle word). Matching runs in O(len(pattern) * len(key))
 * at worst, with no allocation and no recursion. */
#ifndef EVD_KEYMATCH_H
#define EVD_KEYMATCH_H

#include <stddef.h>

/* 1 if key[0..klen) matches pattern[0..plen), else 0. */
int keymatch(const char *pattern, size_t plen, const char *key, size_t klen);

/* 1 if s[0..n) is a valid routing key (1..255 bytes, no whitespace, no '*' or '#' words). */
int routing_key_valid(const char *s, size_t n);
/* 1 if s[0..n) is a valid pattern (1..255 bytes, no whitespace, '*' and '#' only as whole words). */
int routing_pattern_valid(const char *s, size_t n);

#endif
