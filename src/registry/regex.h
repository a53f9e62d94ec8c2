/* regex: the matcher behind JSON Schema `pattern` and `patternProperties`.
 *
 * JSON Schema patterns are ECMA-262 regular expressions. POSIX regex.h differs from them
 * (no \d \w \s, bytes not code points, locale dependence, backtracking time in some libcs),
 * so eventd compiles patterns itself into a Thompson NFA and matches by simulating it
 * (Pike VM without captures): time is O(length x program size), there is no backtracking,
 * and a match allocates nothing (its state lives on the stack).
 *
 * Supported syntax (a subset of ECMA-262, matched on Unicode code points of UTF-8 text):
 *   literals, '.' (any code point except \n \r U+2028 U+2029), ^ $ (start/end of the
 *   text, no multiline mode), \b \B, groups ( ) (?: ) (?<name> ) (captures are not
 *   kept), alternation |, quantifiers * + ? {n} {n,} {n,m} and their lazy forms (*? ...,
 *   the same thing for a yes/no match), classes [...] [^...] with ranges, escapes \d \D
 *   \w \W \s \S \t \n \r \f \v \0 \cX \xHH \uHHHH \u{H...} and identity escapes (\. \/ \-).
 *   As in ECMA-262 Annex B, a '{' that does not start a quantifier and a lone ']' or '}'
 *   are literals.
 * Refused with a compile error naming the feature: back-references (\1, \k<name>),
 * lookahead/lookbehind ((?= (?! (?<= (?<!), Unicode property escapes (\p{..} \P{..}),
 * repeat counts above REGEX_MAX_REPEAT, and programs longer than REGEX_MAX_INSTS
 * instructions ("pattern too complex").
 *
 * A search is unanchored, as in JSON Schema: "a" matches "xax"; anchor with ^ and $. */
#ifndef EVD_REGEX_H
#define EVD_REGEX_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

#define REGEX_MAX_INSTS 2048  /* instructions in one compiled pattern */
#define REGEX_MAX_REPEAT 1000 /* largest n or m in {n,m} */
#define REGEX_MAX_NESTING 64  /* nested groups */

typedef struct evd_regex evd_regex;

/* Compile the pattern p[0..n) (UTF-8). The program is allocated from arena a and lives as
 * long as it. Returns the program, or NULL with a message in err[0..errlen) such as
 * "unbalanced ')' at offset 4" or "back-references are not supported". */
evd_regex *regex_compile(arena *a, const char *p, size_t n, char *err, size_t errlen);

/* Whether the pattern matches somewhere in s[0..n) (UTF-8; an invalid byte counts as one
 * code point). Returns 1 (match) or 0 (no match). When steps is not NULL the work done
 * (threads advanced) is added to *steps and the search gives up, returning -1, as soon as
 * *steps exceeds budget. Thread-safe: re is read only. */
int regex_search(const evd_regex *re, const char *s, size_t n, uint64_t *steps, uint64_t budget);

/* Small patterns without \b/\B are also compiled into a DFA (one table step per character),
 * which regex_search uses. For tests: whether re has one, and the same search done by the
 * NFA simulation alone (the two must always agree). */
int regex_has_dfa(const evd_regex *re);
int regex_search_nfa(const evd_regex *re, const char *s, size_t n, uint64_t *steps, uint64_t budget);

/* Simple anchored patterns with a DFA (^(IMSI)?[0-9]{5,15}$, ^[a-z]+-\d{3}$: ASCII runs and
 * optional literals where no greedy choice can be wrong) are also matched by one greedy
 * pass over the bytes, which regex_search uses (counting the steps the DFA would). For
 * tests: whether re has that form, and the search without it (DFA, or NFA). */
int regex_has_seq(const evd_regex *re);
int regex_search_dfa(const evd_regex *re, const char *s, size_t n, uint64_t *steps, uint64_t budget);

#endif
