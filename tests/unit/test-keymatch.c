/* Unit tests of core/keymatch: AMQP topic matching and key/pattern validation. */
#include "core/keymatch.h"

#include "test.h"

static int km(const char *p, const char *k) { return keymatch(p, strlen(p), k, strlen(k)); }

TEST_IMPL(keymatch_literal_and_star_words) {
  ASSERT(km("sessiond.session_created", "sessiond.session_created"));
  ASSERT(!km("sessiond.session_created", "sessiond.session_closed"));
  ASSERT(!km("sessiond.session", "sessiond.session_created")); /* words, not prefixes */
  ASSERT(!km("sessiond", "sessiond.a"));
  ASSERT(!km("sessiond.a", "sessiond"));
  ASSERT(km("*.created", "vm.created"));
  ASSERT(!km("*.created", "created"));
  ASSERT(!km("*.created", "a.vm.created"));
  ASSERT(km("a.*.c", "a.b.c"));
  ASSERT(!km("a.*.c", "a.c"));
  ASSERT(km("*", "x"));
  ASSERT(!km("*", "x.y"));
  ASSERT(km("*.*", "x.y"));
  ASSERT(!km("*.*", "x"));
  /* Empty words are literal words; '*' matches an empty word like any other. */
  ASSERT(km("a.*.b", "a..b"));
  ASSERT(km("a..b", "a..b"));
  ASSERT(!km("a.b", "a..b"));
  ASSERT(km("a.*", "a."));
  ASSERT(!km("a", "a."));
  /* The empty key has no words (as in RabbitMQ). */
  ASSERT(!km("*", ""));
  ASSERT(km("#", ""));
  ASSERT(km("", ""));
  ASSERT(!km("", "a"));
  return 0;
}

TEST_IMPL(keymatch_hash_at_start_middle_end_and_repeated) {
  /* End. */
  ASSERT(km("sessiond.#", "sessiond"));
  ASSERT(km("sessiond.#", "sessiond.a"));
  ASSERT(km("sessiond.#", "sessiond.a.b"));
  ASSERT(!km("sessiond.#", "sessiondx.a"));
  ASSERT(!km("sessiond.#", "other.sessiond"));
  /* Start. */
  ASSERT(km("#.created", "created"));
  ASSERT(km("#.created", "vm.created"));
  ASSERT(km("#.created", "a.b.c.created"));
  ASSERT(!km("#.created", "a.created.b"));
  ASSERT(km("#.a", "a.a.a"));
  /* Middle. */
  ASSERT(km("a.#.z", "a.z"));
  ASSERT(km("a.#.z", "a.b.z"));
  ASSERT(km("a.#.z", "a.b.c.d.z"));
  ASSERT(!km("a.#.z", "a.b.c.d"));
  ASSERT(km("a.#.b.#.c", "a.x.b.y.c"));
  ASSERT(km("a.#.b.#.c", "a.b.c"));
  ASSERT(km("a.#.b.#.c", "a.b.b.c.b.c"));
  ASSERT(!km("a.#.b.#.c", "a.c.b"));
  /* Everything. */
  ASSERT(km("#", "a"));
  ASSERT(km("#", "a.b.c"));
  ASSERT(km("#.#", ""));
  ASSERT(km("#.#", "a"));
  ASSERT(km("#.#", "a.b.c"));
  ASSERT(km("#.#.#", "a.b"));
  /* With '*'. */
  ASSERT(km("#.*", "a"));
  ASSERT(!km("#.*", ""));
  ASSERT(km("*.#", "a"));
  ASSERT(km("*.#.*", "a.b"));
  ASSERT(!km("*.#.*", "a"));
  ASSERT(km("#.*.#", "a.b.c"));
  ASSERT(km("*.*.#", "a.b"));
  ASSERT(!km("*.*.#", "a"));
  /* Backtracking must restart from the latest '#'. */
  ASSERT(km("#.a.b", "a.a.b"));
  ASSERT(km("#.a.b", "a.b.a.b"));
  ASSERT(!km("#.a.b", "a.b.a"));
  ASSERT(km("a.#.a.#.a", "a.a.a"));
  ASSERT(!km("a.#.a.#.a", "a.a"));
  return 0;
}

/* Reference matcher: plain recursion over word arrays (exponential, fine for tiny input). */
static int ref_match(char pw[][4], int np, char kw[][4], int nk) {
  if (np == 0) return nk == 0;
  if (strcmp(pw[0], "#") == 0) {
    for (int skip = 0; skip <= nk; skip++)
      if (ref_match(pw + 1, np - 1, kw + skip, nk - skip)) return 1;
    return 0;
  }
  if (nk == 0) return 0;
  if (strcmp(pw[0], "*") == 0 || strcmp(pw[0], kw[0]) == 0)
    return ref_match(pw + 1, np - 1, kw + 1, nk - 1);
  return 0;
}

TEST_IMPL(keymatch_agrees_with_reference_on_random_inputs) {
  static const char *const pwords[] = {"a", "b", "", "*", "#", "#"};
  static const char *const kwords[] = {"a", "b", ""};
  uint32_t x = 2463534242u;
  for (int iter = 0; iter < 200000; iter++) {
    char pw[8][4], kw[8][4];
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    int np = (int)(x % 7), nk = (int)((x >> 3) % 7);
    char p[64] = "", k[64] = "";
    for (int i = 0; i < np; i++) {
      x ^= x << 13; x ^= x >> 17; x ^= x << 5;
      strcpy(pw[i], pwords[x % 6]);
      if (i) strcat(p, ".");
      strcat(p, pw[i]);
    }
    for (int i = 0; i < nk; i++) {
      x ^= x << 13; x ^= x >> 17; x ^= x << 5;
      strcpy(kw[i], kwords[x % 3]);
      if (i) strcat(k, ".");
      strcat(k, kw[i]);
    }
    /* "" as a string has no words; a single empty word cannot be written, skip it. */
    if ((np == 1 && pw[0][0] == '\0') || (nk == 1 && kw[0][0] == '\0')) continue;
    int want = ref_match(pw, np, kw, nk);
    int got = km(p, k);
    if (want != got) {
      fprintf(stderr, "pattern '%s' key '%s': want %d got %d\n", p, k, want, got);
      abort();
    }
  }
  return 0;
}

TEST_IMPL(keymatch_worst_case_is_polynomial) {
  /* "#.a.#.a.#.a...#.b" against "a.a.a....a" is exponential for naive backtracking. */
  char p[256], k[256];
  size_t pl = 0, kl = 0;
  for (int i = 0; i < 40; i++) pl += (size_t)snprintf(p + pl, sizeof p - pl, "#.a.");
  pl += (size_t)snprintf(p + pl, sizeof p - pl, "b");
  for (int i = 0; i < 120; i++) kl += (size_t)snprintf(k + kl, sizeof k - kl, i ? ".a" : "a");
  ASSERT(pl < sizeof p && kl < sizeof k);
  ASSERT(!keymatch(p, pl, k, kl));
  k[kl - 1] = 'b';
  ASSERT(keymatch(p, pl, k, kl));
  return 0;
}

TEST_IMPL(routing_key_and_pattern_validation) {
#define KV(s) routing_key_valid(s, strlen(s))
#define PV(s) routing_pattern_valid(s, strlen(s))
  ASSERT(KV("sessiond.session_created"));
  ASSERT(KV("a"));
  ASSERT(KV("a..b"));
  ASSERT(KV("a*b.c#d")); /* not whole words: plain characters */
  ASSERT(KV("caf\xc3\xa9.x"));
  ASSERT(!KV(""));
  ASSERT(!KV("a b"));
  ASSERT(!KV("a\tb"));
  ASSERT(!KV("a\nb"));
  ASSERT(!KV("a\x01"));
  ASSERT(!KV("*"));
  ASSERT(!KV("a.*"));
  ASSERT(!KV("#.a"));
  ASSERT(!KV("a.#.b"));
  char long_key[300];
  memset(long_key, 'a', sizeof long_key);
  ASSERT(routing_key_valid(long_key, 255));
  ASSERT(!routing_key_valid(long_key, 256));

  ASSERT(PV("sessiond.#"));
  ASSERT(PV("*.created"));
  ASSERT(PV("#"));
  ASSERT(PV("#.#"));
  ASSERT(PV("a..b"));
  ASSERT(PV("a.b"));
  ASSERT(!PV(""));
  ASSERT(!PV("a*"));
  ASSERT(!PV("a.b#"));
  ASSERT(!PV("**"));
  ASSERT(!PV("a.##"));
  ASSERT(!PV("a b"));
  ASSERT(routing_pattern_valid(long_key, 255));
  ASSERT(!routing_pattern_valid(long_key, 256));
#undef KV
#undef PV
  return 0;
}
