/* Tests of registry/regex.c (the JSON Schema `pattern` matcher) and registry/yamltree.c. */
#include "registry/regex.h"
#include "registry/yamltree.h"
#include "test.h"

/* 1 match, 0 no match; aborts the test when the pattern does not compile. */
static int rx(const char *pattern, const char *text) {
  arena a;
  arena_init(&a, 0);
  char err[200];
  evd_regex *re = regex_compile(&a, pattern, strlen(pattern), err, sizeof err);
  if (!re) {
    fprintf(stderr, "pattern '%s' failed to compile: %s\n", pattern, err);
    abort();
  }
  int m = regex_search(re, text, strlen(text), NULL, 0);
  arena_free(&a);
  return m;
}

/* The compile error of a pattern, or "ok" (static buffer). */
static const char *rx_error(const char *pattern) {
  static char err[200];
  arena a;
  arena_init(&a, 0);
  evd_regex *re = regex_compile(&a, pattern, strlen(pattern), err, sizeof err);
  arena_free(&a);
  return re ? "ok" : err;
}

TEST_IMPL(regex_matches_literals_classes_and_anchors) {
  ASSERT_EQ_INT(rx("abc", "xxabcxx"), 1); /* unanchored search, as JSON Schema says */
  ASSERT_EQ_INT(rx("abc", "abd"), 0);
  ASSERT_EQ_INT(rx("^abc", "abcd"), 1);
  ASSERT_EQ_INT(rx("^abc", "xabc"), 0);
  ASSERT_EQ_INT(rx("abc$", "xabc"), 1);
  ASSERT_EQ_INT(rx("abc$", "abcx"), 0);
  ASSERT_EQ_INT(rx("^$", ""), 1);
  ASSERT_EQ_INT(rx("^$", "a"), 0);
  ASSERT_EQ_INT(rx("", "anything"), 1);
  ASSERT_EQ_INT(rx("^[a-c]+$", "abcabc"), 1);
  ASSERT_EQ_INT(rx("^[a-c]+$", "abcd"), 0);
  ASSERT_EQ_INT(rx("^[^0-9]+$", "abc"), 1);
  ASSERT_EQ_INT(rx("^[^0-9]+$", "ab1"), 0);
  ASSERT_EQ_INT(rx("^\\d{3}-\\d{4}$", "555-1234"), 1);
  ASSERT_EQ_INT(rx("^\\d{3}-\\d{4}$", "555-12345"), 0);
  ASSERT_EQ_INT(rx("^\\w+$", "snake_case1"), 1);
  ASSERT_EQ_INT(rx("^\\w+$", "kebab-case"), 0);
  ASSERT_EQ_INT(rx("^\\S+\\s\\S+$", "two words"), 1);
  ASSERT_EQ_INT(rx("^[\\d\\s]+$", "1 2 3"), 1);
  ASSERT_EQ_INT(rx("^[\\D]+$", "abc"), 1);
  ASSERT_EQ_INT(rx("^[\\D]+$", "ab3"), 0);
  ASSERT_EQ_INT(rx("^a.c$", "abc"), 1);
  ASSERT_EQ_INT(rx("^a.c$", "a\nc"), 0); /* '.' does not match line terminators */
  ASSERT_EQ_INT(rx("\\bcat\\b", "a cat sat"), 1);
  ASSERT_EQ_INT(rx("\\bcat\\b", "concatenate"), 0);
  ASSERT_EQ_INT(rx("\\Bcat\\B", "concatenate"), 1);
  ASSERT_EQ_INT(rx("[]", "a"), 0);  /* the empty class matches nothing */
  ASSERT_EQ_INT(rx("^[^]$", "a"), 1); /* and its negation anything */
  ASSERT_EQ_INT(rx("^[a\\-z]+$", "a-z"), 1);
  ASSERT_EQ_INT(rx("^[a\\-z]+$", "b"), 0);
  ASSERT_EQ_INT(rx("^[-a]+$", "-a-"), 1);
  ASSERT_EQ_INT(rx("^[\\w-]+$", "a-b_c"), 1); /* a class escape then '-' is a literal '-' */
  return 0;
}

TEST_IMPL(regex_quantifiers_and_alternation) {
  ASSERT_EQ_INT(rx("^ab*c$", "ac"), 1);
  ASSERT_EQ_INT(rx("^ab*c$", "abbbc"), 1);
  ASSERT_EQ_INT(rx("^ab+c$", "ac"), 0);
  ASSERT_EQ_INT(rx("^ab?c$", "abbc"), 0);
  ASSERT_EQ_INT(rx("^a{3}$", "aaa"), 1);
  ASSERT_EQ_INT(rx("^a{3}$", "aaaa"), 0);
  ASSERT_EQ_INT(rx("^a{2,}$", "a"), 0);
  ASSERT_EQ_INT(rx("^a{2,}$", "aaaaaa"), 1);
  ASSERT_EQ_INT(rx("^a{2,3}$", "aaa"), 1);
  ASSERT_EQ_INT(rx("^a{2,3}$", "aaaa"), 0);
  ASSERT_EQ_INT(rx("^a{0}$", ""), 1);
  ASSERT_EQ_INT(rx("^(ab)+$", "ababab"), 1);
  ASSERT_EQ_INT(rx("^(ab)+$", "ababa"), 0);
  ASSERT_EQ_INT(rx("^(?:cat|dog)s?$", "dogs"), 1);
  ASSERT_EQ_INT(rx("^(?:cat|dog)s?$", "cow"), 0);
  ASSERT_EQ_INT(rx("^(?<animal>cat|dog)$", "cat"), 1);
  ASSERT_EQ_INT(rx("cat|dog", "hotdog"), 1);
  ASSERT_EQ_INT(rx("^a*?b$", "aab"), 1); /* lazy quantifiers: same yes/no answer */
  ASSERT_EQ_INT(rx("^(a|)+$", "aaa"), 1); /* empty loops terminate */
  ASSERT_EQ_INT(rx("^(a*)*$", "aaaa"), 1);
  ASSERT_EQ_INT(rx("^x{a}$", "x{a}"), 1); /* '{' not starting a quantifier is a literal */
  ASSERT_EQ_INT(rx("^a}$", "a}"), 1);
  ASSERT_EQ_INT(rx("^a]$", "a]"), 1);
  ASSERT_EQ_INT(rx("^(IMSI)?[0-9]{5,15}$", "IMSI001011234560000"), 1);
  ASSERT_EQ_INT(rx("^(IMSI)?[0-9]{5,15}$", "IMSI0010112345600001"), 0);
  return 0;
}

TEST_IMPL(regex_matches_code_points_not_bytes) {
  ASSERT_EQ_INT(rx("^.$", "\xc3\xa9"), 1);           /* é is one code point, two bytes */
  ASSERT_EQ_INT(rx("^..$", "\xc3\xa9"), 0);
  ASSERT_EQ_INT(rx("^.$", "\xf0\x9f\x98\x80"), 1);   /* U+1F600, four bytes */
  ASSERT_EQ_INT(rx("^[\xc3\xa0-\xc3\xbf]+$", "\xc3\xa9\xc3\xa8"), 1); /* range of code points */
  ASSERT_EQ_INT(rx("^\\u00e9$", "\xc3\xa9"), 1);
  ASSERT_EQ_INT(rx("^\\u{1F600}$", "\xf0\x9f\x98\x80"), 1);
  ASSERT_EQ_INT(rx("^\\ud83d\\ude00$", "\xf0\x9f\x98\x80"), 1); /* surrogate pair escape */
  ASSERT_EQ_INT(rx("^\\s$", "\xe3\x80\x80"), 1);     /* U+3000 is white space */
  ASSERT_EQ_INT(rx("^\\w$", "\xc3\xa9"), 0);         /* \w is ASCII, as in ECMA-262 */
  return 0;
}

TEST_IMPL(regex_escapes) {
  ASSERT_EQ_INT(rx("^\\.$", "."), 1);
  ASSERT_EQ_INT(rx("^\\.$", "a"), 0);
  ASSERT_EQ_INT(rx("^a\\/b$", "a/b"), 1);
  ASSERT_EQ_INT(rx("^\\t\\n\\r$", "\t\n\r"), 1);
  ASSERT_EQ_INT(rx("^\\x41\\u0042$", "AB"), 1);
  ASSERT_EQ_INT(rx("^\\cJ$", "\n"), 1);
  ASSERT_EQ_INT(rx("^[\\b]$", "\b"), 1);
  ASSERT_EQ_INT(rx("^\\$\\^\\(\\)\\[\\]\\{\\}\\|\\*\\+\\?$", "$^()[]{}|*+?"), 1);
  return 0;
}

TEST_IMPL(regex_rejects_unsupported_syntax) {
  ASSERT(strstr(rx_error("(a)\\1"), "back-references are not supported"));
  ASSERT(strstr(rx_error("(?<n>a)\\k<n>"), "back-references are not supported"));
  ASSERT(strstr(rx_error("a(?=b)"), "lookahead"));
  ASSERT(strstr(rx_error("a(?!b)"), "lookahead"));
  ASSERT(strstr(rx_error("(?<=a)b"), "lookbehind"));
  ASSERT(strstr(rx_error("\\p{L}"), "Unicode property escapes"));
  ASSERT(strstr(rx_error("(ab"), "missing ')'"));
  ASSERT(strstr(rx_error("ab)"), "unbalanced ')'"));
  ASSERT(strstr(rx_error("[ab"), "unterminated character class"));
  ASSERT(strstr(rx_error("*a"), "nothing to repeat"));
  ASSERT(strstr(rx_error("a**"), "nothing to repeat"));
  ASSERT(strstr(rx_error("^*"), "nothing to repeat"));
  ASSERT(strstr(rx_error("[z-a]"), "range out of order"));
  ASSERT(strstr(rx_error("a{3,2}"), "out of order"));
  ASSERT(strstr(rx_error("a\\"), "ends with a backslash"));
  ASSERT_EQ_STR(rx_error("^[a-z]{1,1000}$"), "ok");
  return 0;
}

TEST_IMPL(regex_counted_repeat_limits) {
  ASSERT(strstr(rx_error("a{1001}"), "repeat count above 1000"));
  ASSERT(strstr(rx_error("(a{1000}){1000}"), "pattern too complex"));
  ASSERT(strstr(rx_error("((a{100}){100}){100}"), "pattern too complex"));
  char big[64];
  snprintf(big, sizeof big, "^a{%d}$", REGEX_MAX_REPEAT);
  char text[REGEX_MAX_REPEAT + 2];
  memset(text, 'a', REGEX_MAX_REPEAT);
  text[REGEX_MAX_REPEAT] = '\0';
  ASSERT_EQ_INT(rx(big, text), 1);
  text[REGEX_MAX_REPEAT - 1] = '\0';
  ASSERT_EQ_INT(rx(big, text), 0);
  return 0;
}

/* Patterns that make backtracking engines exponential stay linear here, and the step
 * budget stops a search that is too long. */
TEST_IMPL(regex_is_linear_on_pathological_patterns) {
  static char text[100001];
  memset(text, 'a', sizeof text - 1);
  text[sizeof text - 1] = '\0';
  ASSERT_EQ_INT(rx("^(a*)*b$", text), 0);
  ASSERT_EQ_INT(rx("^(a|aa)+$", text), 1);
  ASSERT_EQ_INT(rx("(x+x+)+y", text), 0);
  arena a;
  arena_init(&a, 0);
  char err[200];
  evd_regex *re = regex_compile(&a, "^(a|a)*b$", 9, err, sizeof err);
  ASSERT(re);
  uint64_t steps = 0;
  ASSERT_EQ_INT(regex_search_nfa(re, text, strlen(text), &steps, 1000), -1); /* gives up as it goes */
  ASSERT(steps > 1000 && steps < 2000);
  steps = 0;
  ASSERT_EQ_INT(regex_search(re, text, strlen(text), &steps, 1000), -1); /* the DFA charges the length up front */
  steps = 0;
  ASSERT_EQ_INT(regex_search(re, "aab", 3, &steps, 1000), 1);
  arena_free(&a);
  return 0;
}

/* ---- yamltree ------------------------------------------------------------------------- */

static json_value *yaml(arena *a, const char *text, yamltree_error *err) {
  return yamltree_parse_yaml(a, text, strlen(text), 0, 0, err);
}

TEST_IMPL(yamltree_scalars_follow_yaml_1_2_core_schema) {
  arena a;
  arena_init(&a, 0);
  yamltree_error err;
  json_value *v = yaml(&a,
                       "a: ~\nb: null\nc:\nd: true\ne: False\nf: 12\ng: -0x1F\nh: 0x1F\ni: 0o17\nj: +5\nk: 007\n"
                       "l: 1.5e3\nm: .5\nn: 2.\no: '12'\np: \"true\"\nq: yes\nr: .inf\ns: 1_000\nt: !!str 42\n"
                       "u: [1, two, {x: y}]\n",
                       &err);
  ASSERT(v);
  ASSERT_EQ_INT(v->type, JSON_OBJECT);
  ASSERT_EQ_INT(json_get(v, "a")->type, JSON_NULL);
  ASSERT_EQ_INT(json_get(v, "b")->type, JSON_NULL);
  ASSERT_EQ_INT(json_get(v, "c")->type, JSON_NULL);
  ASSERT_EQ_INT(json_get(v, "d")->type, JSON_TRUE);
  ASSERT_EQ_INT(json_get(v, "e")->type, JSON_FALSE);
  const struct {
    const char *key, *text;
  } nums[] = {{"f", "12"}, {"h", "31"}, {"i", "15"}, {"j", "5"}, {"k", "7"}, {"l", "1.5e3"}, {"m", "0.5"}, {"n", "2"}};
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    const json_value *n = json_get(v, nums[i].key);
    ASSERT_EQ_INT(n->type, JSON_NUMBER);
    ASSERT_EQ_MEM(n->s, n->n, nums[i].text);
  }
  const char *strings[] = {"g", "o", "p", "q", "r", "s", "t"}; /* -0x1F is not a 1.2 int */
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
    ASSERT_EQ_INT(json_get(v, strings[i])->type, JSON_STRING);
  ASSERT_EQ_STR(json_get(v, "q")->s, "yes");
  ASSERT_EQ_STR(json_get(v, "t")->s, "42");
  const json_value *u = json_get(v, "u");
  ASSERT_EQ_INT(u->type, JSON_ARRAY);
  ASSERT_EQ_INT(u->n, 3);
  ASSERT_EQ_STR(json_get(u->child->next->next, "x")->s, "y");
  /* Every number the converter writes parses as JSON. */
  for (const json_value *m = v->child; m; m = m->next) {
    double d;
    if (m->type == JSON_NUMBER) ASSERT_EQ_INT(json_as_double(m, &d), 0);
  }
  arena_free(&a);
  return 0;
}

TEST_IMPL(yamltree_reports_lines_of_nodes) {
  arena a;
  arena_init(&a, 0);
  yamltree_error err;
  json_value *v = yaml(&a, "# comment\nfirst: 1\nsecond:\n  - a\n  - b\nthird: {x: 1}\n", &err);
  ASSERT(v);
  ASSERT_EQ_INT(json_get(v, "first")->offset, 2);
  const json_value *second = json_get(v, "second");
  ASSERT_EQ_INT(second->offset, 4);
  ASSERT_EQ_INT(second->child->next->offset, 5);
  ASSERT_EQ_INT(json_get(v, "third")->offset, 6);
  /* JSON input: the line of each value. */
  const char *js = "{\n  \"a\": 1,\n  \"b\": [\n    true\n  ]\n}";
  json_value *j = yamltree_parse_json(&a, js, strlen(js), 0, &err);
  ASSERT(j);
  ASSERT_EQ_INT(j->offset, 1);
  ASSERT_EQ_INT(json_get(j, "a")->offset, 2);
  ASSERT_EQ_INT(json_get(j, "b")->child->offset, 4);
  ASSERT(!yamltree_parse_json(&a, "{\n\"a\": 1,\n}", 11, 0, &err));
  ASSERT_EQ_INT(err.line, 2); /* the trailing comma */
  ASSERT(!yamltree_parse_json(&a, "{\n\"a\": 1,\n\n  x}", 15, 0, &err));
  ASSERT_EQ_INT(err.line, 4);
  arena_free(&a);
  return 0;
}

TEST_IMPL(yamltree_rejects_duplicate_keys_recursion_and_bad_yaml) {
  arena a;
  arena_init(&a, 0);
  yamltree_error err;
  ASSERT(!yaml(&a, "a: 1\nb: 2\na: 3\n", &err));
  ASSERT_EQ_INT(err.line, 3);
  ASSERT(strstr(err.message, "duplicate key 'a'"));
  ASSERT(!yaml(&a, "a: &x [1, *x]\n", &err));
  ASSERT(strstr(err.message, "recursive alias"));
  ASSERT(!yaml(&a, "a: *nope\n", &err));
  ASSERT(strstr(err.message, "unknown alias"));
  ASSERT(!yaml(&a, "a: 1\n---\nb: 2\n", &err));
  ASSERT(strstr(err.message, "more than one YAML document"));
  ASSERT(!yaml(&a, "a: [1, 2\nb: 3\n", &err));
  ASSERT(err.line >= 2);
  ASSERT(!yaml(&a, "? [1, 2]\n: x\n", &err));
  ASSERT(strstr(err.message, "mapping key must be a scalar"));
  /* An alias is a copy: both places hold the same content. */
  json_value *v = yaml(&a, "base: &b {type: string}\nother: *b\n", &err);
  ASSERT(v);
  ASSERT_EQ_STR(json_get(json_get(v, "other"), "type")->s, "string");
  arena_free(&a);
  return 0;
}

TEST_IMPL(yamltree_bounds_alias_expansion_and_depth) {
  arena a;
  arena_init(&a, 0);
  yamltree_error err;
  /* "billion laughs": each level doubles the nodes ten times. */
  const char *laughs =
      "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
      "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
      "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
  ASSERT(!yamltree_parse_yaml(&a, laughs, strlen(laughs), 0, 100000, &err));
  ASSERT(strstr(err.message, "more than 100000 nodes"));
  char deep[600];
  size_t k = 0;
  for (int i = 0; i < 200; i++) deep[k++] = '[';
  for (int i = 0; i < 200; i++) deep[k++] = ']';
  deep[k] = '\0';
  ASSERT(!yamltree_parse_yaml(&a, deep, k, 100, 0, &err));
  ASSERT(strstr(err.message, "nesting deeper than 100"));
  /* Aliases cannot be used to nest past the limit either. */
  const char *stack = "a: &a [[[[[[[[1]]]]]]]]\nb: &b [[[[[[[[*a]]]]]]]]\nc: [[[[[[[[*b]]]]]]]]\n";
  ASSERT(!yamltree_parse_yaml(&a, stack, strlen(stack), 20, 0, &err));
  ASSERT(strstr(err.message, "nesting deeper than 20"));
  arena_free(&a);
  return 0;
}

/* The DFA and the NFA simulation give the same answer on every pattern and text here. */
TEST_IMPL(regex_dfa_agrees_with_nfa) {
  const char *patterns[] = {"abc", "^abc", "abc$", "^$", "", "^(IMSI)?[0-9]{5,15}$", "a|b|cd", "^(a|ab)*c$",
                            "x*", "^[^a-c]+$", "\\d+\\.\\d*", "^.{2,3}$", "(^a|b$)", "^(([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2})?$",
                            "[\xc3\xa0-\xc3\xbf]", "^\\s*$", "^\\S+@\\S+$", "a$|^b", "$a", "a^", "^(?:x|)$", "[\\w-]{3}", "$\\b", "a$\\B"};
  const char *texts[] = {"", "a", "abc", "xabcx", "ab", "IMSI001011234560000", "001011234560000", "1234", "abababc",
                         "ac", "abac", "xyz", "12.", "1.5", "\xc3\xa9", "a\n", " \t", "me@x", "b", "ba", "ab-c",
                         "00:11:22:33:44:55", "00:11:22:33:44", "x", "\xf0\x9f\x98\x80", "a b"};
  arena a;
  arena_init(&a, 0);
  int with_dfa = 0;
  for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
    char err[200];
    evd_regex *re = regex_compile(&a, patterns[i], strlen(patterns[i]), err, sizeof err);
    ASSERT(re);
    with_dfa += regex_has_dfa(re);
    for (size_t j = 0; j < sizeof texts / sizeof texts[0]; j++) {
      int d = regex_search(re, texts[j], strlen(texts[j]), NULL, 0);
      int n = regex_search_nfa(re, texts[j], strlen(texts[j]), NULL, 0);
      if (d != n) fprintf(stderr, "pattern '%s' text '%s': dfa %d nfa %d\n", patterns[i], texts[j], d, n);
      ASSERT_EQ_INT(d, n);
    }
  }
  ASSERT(with_dfa >= 20); /* nearly all of them get a DFA */
  ASSERT_EQ_INT(rx("$\\b", "xI"), 1);  /* found by fuzz_schema_regex: \b after $ */
  ASSERT_EQ_INT(rx("$\\b", "x "), 0);
  evd_regex *wb = regex_compile(&a, "\\bx", 3, (char[200]){0}, 200);
  ASSERT(wb && !regex_has_dfa(wb)); /* \b needs the NFA */
  arena_free(&a);
  return 0;
}

/* Simple anchored patterns (ASCII runs and optional literals, no greedy choice that can be
 * wrong) are matched by one greedy pass over the bytes; it gives the NFA's and the DFA's
 * answer, and patterns where greed could be wrong do not get it. */
TEST_IMPL(regex_sequence_form_agrees_with_nfa) {
  const char *seq[] = {"^(IMSI)?[0-9]{5,15}$", "^[a-z]+-\\d{3}$", "^\\d{4}-\\d{2}-\\d{2}$", "^(ab)?b{2,3}$",
                       "^x*$", "^[0-9A-F]{2}$", "^$", "^[\\x00-\\x79]{0,9}z$", "^(?:x0)?[0-9]{8,}$"};
  const char *other[] = {"^[0-9]{1,3}[0-9]$", "^(a)?a$", "^a|b$", "abc", "^[^a]+$", "^.{2}$", "^\\s+$",
                         "^\xc3\xa9+$", "^(ab|cd)?$", "^[0-9]+[0-9a-f]$", "^a{2,3}a$", "^(?:0x)?[0-9]{8,}$", "^[\\x00-\\x7f]{0,9}z$"};
  const char *texts[] = {"", "1234", "12345", "001011234560000", "0010112345600001", "IMSI001010000000001",
                         "IMSI00101000000000123", "IMSI1234", "IMS12345", "abc-123", "abc-12", "-123", "2024-01-31",
                         "2024-1-31", "abbb", "bb", "abbbb", "xxxxxxxxxxxxxxxxxxx", "0F", "0g", "z", "\x01\x7fz",
                         "0x12345678", "x012345678", "123456789012345678901234", "12345678\xc3\xa9", "aa", "aaa", "aaaa", "a",
                         "\xc3\xa9\xc3\xa9", "  ", "cd", "1234567a"};
  arena a;
  arena_init(&a, 0);
  for (int kind = 0; kind < 2; kind++) {
    const char **pats = kind == 0 ? seq : other;
    size_t np = kind == 0 ? sizeof seq / sizeof seq[0] : sizeof other / sizeof other[0];
    for (size_t i = 0; i < np; i++) {
      char err[200];
      evd_regex *re = regex_compile(&a, pats[i], strlen(pats[i]), err, sizeof err);
      ASSERT(re);
      if (regex_has_seq(re) != (kind == 0)) fprintf(stderr, "pattern '%s': sequence form %d\n", pats[i], regex_has_seq(re));
      ASSERT_EQ_INT(regex_has_seq(re), kind == 0);
      for (size_t j = 0; j < sizeof texts / sizeof texts[0]; j++) {
        size_t n = strlen(texts[j]);
        uint64_t s1 = 0, s2 = 0;
        int fast = regex_search(re, texts[j], n, &s1, 1000000);
        int dfa = regex_search_dfa(re, texts[j], n, &s2, 1000000);
        int nfa = regex_search_nfa(re, texts[j], n, NULL, 0);
        if (fast != nfa || dfa != nfa) fprintf(stderr, "pattern '%s' text '%s': fast %d dfa %d nfa %d\n", pats[i], texts[j], fast, dfa, nfa);
        ASSERT_EQ_INT(fast, nfa);
        ASSERT_EQ_INT(dfa, nfa);
        if (regex_has_dfa(re)) ASSERT(s1 == s2); /* the same step count as the DFA */
      }
    }
  }
  /* the pass counts steps like the DFA, so the budget gives up at the same point */
  evd_regex *imsi = regex_compile(&a, seq[0], strlen(seq[0]), (char[200]){0}, 200);
  uint64_t steps = 0;
  ASSERT_EQ_INT(regex_search(imsi, "IMSI001010000000001", 19, &steps, 10), -1);
  ASSERT_EQ_INT(rx(seq[0], "IMSI001010000000001"), 1);
  ASSERT_EQ_INT(rx(seq[0], "IMSI0010100000000012"), 0);
  arena_free(&a);
  return 0;
}
