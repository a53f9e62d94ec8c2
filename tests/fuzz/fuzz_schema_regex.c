/* Differential fuzz target for registry/regex: the input is a pattern and a text separated
 * by the first 0 byte. When the pattern compiles, the search (regex_search: the greedy pass
 * of a sequence pattern, else the DFA), the DFA search (regex_search_dfa) and the NFA
 * simulation (regex_search_nfa) must agree on the text and on every suffix of its first 64
 * bytes, and the first two must count the same steps. Must never crash, hang or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/regex.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
  const char *text = (const char *)in;
  const char *zero = memchr(text, '\0', size);
  size_t plen = zero ? (size_t)(zero - text) : size;
  const char *subject = zero ? zero + 1 : "";
  size_t slen = zero ? size - plen - 1 : 0;
  arena a;
  arena_init(&a, 4096);
  char err[200];
  evd_regex *re = regex_compile(&a, text, plen, err, sizeof err);
  if (!re) {
    if (err[0] == '\0') abort();
  } else {
    for (size_t off = 0; off <= slen && off <= 64; off++) {
      uint64_t s1 = 0, s2 = 0, s3 = 0;
      int d = regex_search(re, subject + off, slen - off, &s1, 10000000);
      int n = regex_search_nfa(re, subject + off, slen - off, &s2, 10000000);
      int f = regex_search_dfa(re, subject + off, slen - off, &s3, 10000000);
      if (d != n || f != n) abort();
      if (regex_has_dfa(re) && s1 != s3) abort();
    }
  }
  arena_free(&a);
  return 0;
}
