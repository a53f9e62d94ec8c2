/* regex: see regex.h. Pattern text -> syntax tree (temporary arena) -> Thompson program
 * (caller's arena) -> Pike-VM simulation without captures. */
#include "registry/regex.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- program ------------------------------------------------------------------------ */

enum { I_CHAR, I_ANY, I_CLASS, I_SPLIT, I_JMP, I_BOL, I_EOL, I_WORDB, I_NWORDB, I_MATCH };

typedef struct rinst {
  uint8_t op;
  uint32_t x; /* CHAR: code point; CLASS: class index; SPLIT/JMP: target */
  uint32_t y; /* SPLIT: second target */
} rinst;

enum { CI_RANGE, CI_DIGIT, CI_NDIGIT, CI_WORD, CI_NWORD, CI_SPACE, CI_NSPACE };

typedef struct citem {
  uint8_t kind;
  uint32_t lo, hi; /* CI_RANGE */
} citem;

typedef struct rclass {
  uint32_t first, n; /* items[first .. first+n) */
  uint8_t negated;
} rclass;

/* A DFA equivalent to the program, built at compile time when the pattern is small and has
 * no \b/\B (see build_dfa): one table step per character instead of a thread list. */
typedef struct rdfa {
  uint32_t nstates, nclasses;
  int32_t *trans;        /* [row + class] -> next row (state * nclasses), DFA_DEAD or DFA_MATCH */
  uint8_t *match;        /* the state has reached MATCH: the search succeeds */
  uint8_t *end_accept;   /* at the end of the text the state matches (a satisfied $) */
  uint32_t *bounds;      /* class k holds code points [bounds[k], bounds[k+1]) */
  uint8_t ascii[128];    /* class of each ASCII code point */
} rdfa;

/* A "sequence" pattern, matched by one greedy pass over the bytes: ^ item... $ where an
 * item is a run (an ASCII-only character or class, perhaps repeated: \d{5,15}, [a-f]+, x)
 * or an optional literal ((IMSI)?), and no greedy choice can be wrong: what may follow a
 * run of variable length, or an optional literal, cannot start with a character the run
 * takes, or with the literal's first character (build_seq checks this). Every item is
 * ASCII, so a byte >= 0x80 matches nothing, as its code point would not. */
typedef struct rseq_item {
  uint8_t opt_lit;          /* 1: the optional literal lit[0..len); 0: a run */
  uint32_t min, max;        /* run: how many characters (max UINT32_MAX: no limit) */
  uint64_t set[2];          /* run: the ASCII characters it takes */
  const uint8_t *take;      /* run: take[b] = 1 when it takes byte b (the same set) */
  uint8_t is_range, lo, hi; /* run: the set is the range lo..hi (checked 8 bytes at a time) */
  const unsigned char *lit; /* opt_lit */
  uint32_t len;
} rseq_item;

typedef struct rseq {
  uint32_t n;
  rseq_item *items;
} rseq;

struct evd_regex {
  uint32_t ninst;
  int anchored; /* the pattern starts with ^ at top level: only try position 0 */
  rinst *prog;
  citem *items;
  rclass *classes;
  const rdfa *dfa; /* NULL: simulate the program */
  const rseq *seq; /* NULL: no sequence form (only built beside a DFA) */
};

static const rdfa *build_dfa(const evd_regex *re, arena *a);
typedef struct rnode rnode;
static const rseq *build_seq(const evd_regex *re, const rnode *root, arena *a);

#define DFA_DEAD (-1)  /* no match can follow */
#define DFA_MATCH (-2) /* a match was found */

#define NO_CP 0xFFFFFFFFu /* "no character": before the start / after the end */

/* ---- syntax tree --------------------------------------------------------------------- */

typedef enum { R_EMPTY, R_CHAR, R_ANY, R_CLASS, R_BOL, R_EOL, R_WORDB, R_NWORDB, R_CAT, R_ALT, R_REP } rkind;

struct rnode {
  rkind k;
  uint32_t c;   /* CHAR: code point; CLASS: class index */
  int min, max; /* REP; max -1 = unbounded */
  rnode *kids;  /* CAT/ALT: children; REP: the repeated node */
  rnode *next;  /* sibling in the parent's kids list */
};

typedef struct rparse {
  const unsigned char *start, *p, *end;
  arena *tmp;
  char *err;
  size_t errlen;
  int failed;
  int depth;
  citem *items;
  uint32_t nitems, items_cap;
  rclass *classes;
  uint32_t nclasses, classes_cap;
} rparse;

static void *perr(rparse *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void *perr(rparse *ps, const char *fmt, ...) {
  if (ps->failed) return NULL;
  ps->failed = 1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ps->err, ps->errlen, fmt, ap);
  va_end(ap);
  return NULL;
}

static size_t off(const rparse *ps) { return (size_t)(ps->p - ps->start); }

static rnode *mk(rparse *ps, rkind k) {
  rnode *n = arena_calloc(ps->tmp, sizeof *n);
  if (!n) return perr(ps, "out of memory");
  n->k = k;
  return n;
}

/* Decode one UTF-8 code point at s[i] (i < n); an invalid sequence yields its first byte. */
static uint32_t utf8_at(const unsigned char *s, size_t n, size_t i, int *len) {
  unsigned c = s[i];
  *len = 1;
  if (c < 0x80) return c;
  int need = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
  if (need == 0 || n - i <= (size_t)need) return c;
  uint32_t cp = c & (0x3Fu >> need);
  for (int k = 1; k <= need; k++) {
    unsigned b = s[i + (size_t)k];
    if ((b & 0xC0) != 0x80) return c;
    cp = (cp << 6) | (b & 0x3F);
  }
  *len = need + 1;
  return cp;
}

static uint32_t next_cp(rparse *ps) {
  int len;
  uint32_t cp = utf8_at(ps->p, (size_t)(ps->end - ps->p), 0, &len);
  ps->p += len;
  return cp;
}

static int add_item(rparse *ps, uint8_t kind, uint32_t lo, uint32_t hi) {
  if (ps->nitems == ps->items_cap) {
    uint32_t cap = ps->items_cap ? ps->items_cap * 2 : 16;
    citem *ni = realloc(ps->items, cap * sizeof *ni);
    if (!ni) return perr(ps, "out of memory"), -1;
    ps->items = ni;
    ps->items_cap = cap;
  }
  ps->items[ps->nitems++] = (citem){kind, lo, hi};
  return 0;
}

/* Start a new class whose items follow; returns its index or -1. */
static int new_class(rparse *ps, int negated) {
  if (ps->nclasses == ps->classes_cap) {
    uint32_t cap = ps->classes_cap ? ps->classes_cap * 2 : 8;
    rclass *nc = realloc(ps->classes, cap * sizeof *nc);
    if (!nc) return perr(ps, "out of memory"), -1;
    ps->classes = nc;
    ps->classes_cap = cap;
  }
  ps->classes[ps->nclasses] = (rclass){ps->nitems, 0, (uint8_t)negated};
  return (int)ps->nclasses++;
}

static void end_class(rparse *ps, int idx) {
  ps->classes[idx].n = ps->nitems - ps->classes[idx].first;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Read exactly k hex digits at p; returns the value or -1 (nothing consumed). */
static long hex_digits(rparse *ps, int k) {
  if (ps->end - ps->p < k) return -1;
  long v = 0;
  for (int i = 0; i < k; i++) {
    int h = hexval(ps->p[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  ps->p += k;
  return v;
}

/* An escape after the backslash. Returns the code point (>= 0), or a negative builtin
 * class code -CI_xxx, or -100 for \b / -101 for \B outside classes, or -200 on error. */
static long parse_escape(rparse *ps, int in_class) {
  if (ps->p >= ps->end) return perr(ps, "pattern ends with a backslash"), -200;
  size_t at = off(ps) - 1;
  uint32_t c = next_cp(ps);
  switch (c) {
    case 'd': return -CI_DIGIT;
    case 'D': return -CI_NDIGIT;
    case 'w': return -CI_WORD;
    case 'W': return -CI_NWORD;
    case 's': return -CI_SPACE;
    case 'S': return -CI_NSPACE;
    case 'b': return in_class ? 8 : -100;
    case 'B':
      if (in_class) return perr(ps, "invalid escape \\B in a character class at offset %zu", at), -200;
      return -101;
    case 't': return 9;
    case 'n': return 10;
    case 'v': return 11;
    case 'f': return 12;
    case 'r': return 13;
    case '0':
      if (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
        return perr(ps, "octal escapes are not supported (offset %zu)", at), -200;
      return 0;
    case 'c':
      if (ps->p < ps->end && ((*ps->p | 0x20) >= 'a' && (*ps->p | 0x20) <= 'z')) return *ps->p++ & 31;
      return perr(ps, "invalid \\c escape at offset %zu", at), -200;
    case 'x': {
      long v = hex_digits(ps, 2);
      return v >= 0 ? v : 'x';
    }
    case 'u': {
      if (ps->p < ps->end && *ps->p == '{') {
        const unsigned char *q = ps->p + 1;
        long v = 0;
        int nd = 0;
        while (q < ps->end && hexval(*q) >= 0 && nd < 8) v = v * 16 + hexval(*q++), nd++;
        if (nd > 0 && q < ps->end && *q == '}' && v <= 0x10FFFF) {
          ps->p = q + 1;
          return v;
        }
        return perr(ps, "invalid \\u{...} escape at offset %zu", at), -200;
      }
      long v = hex_digits(ps, 4);
      if (v < 0) return 'u';
      if (v >= 0xD800 && v <= 0xDBFF && ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u') {
        const unsigned char *save = ps->p;
        ps->p += 2;
        long lo = hex_digits(ps, 4);
        if (lo >= 0xDC00 && lo <= 0xDFFF) return 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
        ps->p = save;
      }
      return v;
    }
    case 'p':
    case 'P': return perr(ps, "Unicode property escapes (\\p{...}) are not supported"), -200;
    case 'k': return perr(ps, "back-references are not supported (\\k at offset %zu)", at), -200;
    default:
      if (c >= '1' && c <= '9')
        return perr(ps, "back-references are not supported (\\%c at offset %zu)", (char)c, at), -200;
      return c; /* identity escape: \. \\ \/ \- \[ ... */
  }
}

/* A quantifier {n}, {n,}, {n,m} at p (p at '{'). Returns 1 and consumes it, 0 when the
 * text is not a quantifier (nothing consumed: the '{' is a literal), -1 on error. */
static int parse_braces(rparse *ps, int *min, int *max) {
  const unsigned char *q = ps->p + 1;
  long a = -1, b = -1;
  if (q >= ps->end || *q < '0' || *q > '9') return 0;
  a = 0;
  while (q < ps->end && *q >= '0' && *q <= '9') {
    if (a <= REGEX_MAX_REPEAT) a = a * 10 + (*q - '0');
    q++;
  }
  if (q < ps->end && *q == ',') {
    q++;
    if (q < ps->end && *q >= '0' && *q <= '9') {
      b = 0;
      while (q < ps->end && *q >= '0' && *q <= '9') {
        if (b <= REGEX_MAX_REPEAT) b = b * 10 + (*q - '0');
        q++;
      }
    } else {
      b = -2; /* unbounded */
    }
  } else {
    b = a;
  }
  if (q >= ps->end || *q != '}') return 0;
  if (a > REGEX_MAX_REPEAT || b > REGEX_MAX_REPEAT)
    return perr(ps, "repeat count above %d at offset %zu", REGEX_MAX_REPEAT, off(ps)), -1;
  if (b >= 0 && b < a) return perr(ps, "numbers out of order in {} quantifier at offset %zu", off(ps)), -1;
  ps->p = q + 1;
  *min = (int)a;
  *max = b == -2 ? -1 : (int)b;
  return 1;
}

static rnode *parse_alt(rparse *ps);

/* [...] after the '['. */
static rnode *parse_class(rparse *ps) {
  size_t at = off(ps) - 1;
  int neg = 0;
  if (ps->p < ps->end && *ps->p == '^') {
    neg = 1;
    ps->p++;
  }
  int ci = new_class(ps, neg);
  if (ci < 0) return NULL;
  for (;;) {
    if (ps->p >= ps->end) return perr(ps, "unterminated character class starting at offset %zu", at);
    if (*ps->p == ']') {
      ps->p++;
      break;
    }
    long a;
    if (*ps->p == '\\') {
      ps->p++;
      a = parse_escape(ps, 1);
      if (a == -200) return NULL;
    } else {
      a = next_cp(ps);
    }
    if (ps->end - ps->p >= 2 && ps->p[0] == '-' && ps->p[1] != ']') {
      ps->p++;
      long b;
      if (*ps->p == '\\') {
        ps->p++;
        b = parse_escape(ps, 1);
        if (b == -200) return NULL;
      } else {
        b = next_cp(ps);
      }
      if (a < 0 || b < 0) { /* Annex B: a class escape as a range end makes '-' literal */
        if (add_item(ps, a < 0 ? (uint8_t)-a : CI_RANGE, (uint32_t)(a < 0 ? 0 : a), (uint32_t)(a < 0 ? 0 : a)) ||
            add_item(ps, CI_RANGE, '-', '-') ||
            add_item(ps, b < 0 ? (uint8_t)-b : CI_RANGE, (uint32_t)(b < 0 ? 0 : b), (uint32_t)(b < 0 ? 0 : b)))
          return NULL;
        continue;
      }
      if (a > b) return perr(ps, "range out of order in character class at offset %zu", off(ps));
      if (add_item(ps, CI_RANGE, (uint32_t)a, (uint32_t)b)) return NULL;
      continue;
    }
    if (a < 0) {
      if (add_item(ps, (uint8_t)-a, 0, 0)) return NULL;
    } else if (add_item(ps, CI_RANGE, (uint32_t)a, (uint32_t)a)) {
      return NULL;
    }
  }
  end_class(ps, ci);
  rnode *n = mk(ps, R_CLASS);
  if (n) n->c = (uint32_t)ci;
  return n;
}

static rnode *builtin_class(rparse *ps, int kind) {
  int ci = new_class(ps, 0);
  if (ci < 0 || add_item(ps, (uint8_t)kind, 0, 0)) return NULL;
  end_class(ps, ci);
  rnode *n = mk(ps, R_CLASS);
  if (n) n->c = (uint32_t)ci;
  return n;
}

static int is_name_char(unsigned c) {
  return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static rnode *parse_atom(rparse *ps) {
  size_t at = off(ps);
  unsigned c = *ps->p;
  switch (c) {
    case '(': {
      ps->p++;
      if (++ps->depth > REGEX_MAX_NESTING) return perr(ps, "groups nested deeper than %d", REGEX_MAX_NESTING);
      if (ps->p < ps->end && *ps->p == '?') {
        const unsigned char *q = ps->p + 1;
        if (q < ps->end && *q == ':') {
          ps->p = q + 1;
        } else if (q < ps->end && (*q == '=' || *q == '!')) {
          return perr(ps, "lookahead (?%c...) is not supported (offset %zu)", *q, at);
        } else if (q + 1 < ps->end && *q == '<' && (q[1] == '=' || q[1] == '!')) {
          return perr(ps, "lookbehind (?<%c...) is not supported (offset %zu)", q[1], at);
        } else if (q < ps->end && *q == '<') {
          q++;
          const unsigned char *name = q;
          while (q < ps->end && *q != '>' && is_name_char(*q)) q++;
          if (q >= ps->end || *q != '>' || q == name) return perr(ps, "invalid group name at offset %zu", at);
          ps->p = q + 1;
        } else {
          return perr(ps, "invalid group syntax '(?' at offset %zu", at);
        }
      }
      rnode *inner = parse_alt(ps);
      if (!inner) return NULL;
      if (ps->p >= ps->end || *ps->p != ')') return perr(ps, "missing ')' for the group at offset %zu", at);
      ps->p++;
      ps->depth--;
      return inner;
    }
    case '[': ps->p++; return parse_class(ps);
    case '.': ps->p++; return mk(ps, R_ANY);
    case '^': ps->p++; return mk(ps, R_BOL);
    case '$': ps->p++; return mk(ps, R_EOL);
    case '*':
    case '+':
    case '?': return perr(ps, "nothing to repeat at offset %zu", at);
    case '{': {
      int mn, mx;
      int q = parse_braces(ps, &mn, &mx);
      if (q < 0) return NULL;
      if (q > 0) return perr(ps, "nothing to repeat at offset %zu", at);
      ps->p++;
      rnode *n = mk(ps, R_CHAR);
      if (n) n->c = '{';
      return n;
    }
    case '\\': {
      ps->p++;
      long e = parse_escape(ps, 0);
      if (e == -200) return NULL;
      if (e == -100) return mk(ps, R_WORDB);
      if (e == -101) return mk(ps, R_NWORDB);
      if (e < 0) return builtin_class(ps, (int)-e);
      rnode *n = mk(ps, R_CHAR);
      if (n) n->c = (uint32_t)e;
      return n;
    }
    default: {
      rnode *n = mk(ps, R_CHAR);
      if (n) n->c = next_cp(ps);
      return n;
    }
  }
}

static rnode *parse_repeat(rparse *ps) {
  rnode *atom = parse_atom(ps);
  if (!atom) return NULL;
  if (ps->p >= ps->end) return atom;
  int mn, mx;
  unsigned c = *ps->p;
  if (c == '*') mn = 0, mx = -1, ps->p++;
  else if (c == '+') mn = 1, mx = -1, ps->p++;
  else if (c == '?') mn = 0, mx = 1, ps->p++;
  else if (c == '{') {
    int q = parse_braces(ps, &mn, &mx);
    if (q < 0) return NULL;
    if (q == 0) return atom;
  } else {
    return atom;
  }
  if (atom->k == R_BOL || atom->k == R_EOL || atom->k == R_WORDB || atom->k == R_NWORDB)
    return perr(ps, "nothing to repeat (an assertion) at offset %zu", off(ps) - 1);
  if (ps->p < ps->end && *ps->p == '?') ps->p++; /* lazy: same yes/no answer */
  if (ps->p < ps->end && (*ps->p == '*' || *ps->p == '+' || *ps->p == '?'))
    return perr(ps, "nothing to repeat at offset %zu", off(ps));
  if (ps->p < ps->end && *ps->p == '{') {
    int m2, x2;
    const unsigned char *save = ps->p;
    int q = parse_braces(ps, &m2, &x2);
    if (q < 0) return NULL;
    if (q > 0) {
      ps->p = save;
      return perr(ps, "nothing to repeat at offset %zu", off(ps));
    }
  }
  rnode *r = mk(ps, R_REP);
  if (!r) return NULL;
  r->kids = atom;
  r->min = mn;
  r->max = mx;
  return r;
}

static rnode *parse_cat(rparse *ps) {
  rnode *cat = mk(ps, R_CAT), *tail = NULL;
  if (!cat) return NULL;
  while (ps->p < ps->end && *ps->p != '|' && *ps->p != ')') {
    rnode *n = parse_repeat(ps);
    if (!n) return NULL;
    if (tail) tail->next = n;
    else cat->kids = n;
    tail = n;
  }
  return cat;
}

static rnode *parse_alt(rparse *ps) {
  rnode *first = parse_cat(ps);
  if (!first) return NULL;
  if (ps->p >= ps->end || *ps->p != '|') return first;
  rnode *alt = mk(ps, R_ALT), *tail = first;
  if (!alt) return NULL;
  alt->kids = first;
  while (ps->p < ps->end && *ps->p == '|') {
    ps->p++;
    rnode *n = parse_cat(ps);
    if (!n) return NULL;
    tail->next = n;
    tail = n;
  }
  return alt;
}

/* ---- code generation ------------------------------------------------------------------ */

typedef struct rgen {
  rinst *prog;
  uint32_t n;
  rparse *ps;
} rgen;

static long emit(rgen *g, uint8_t op, uint32_t x, uint32_t y) {
  if (g->n >= REGEX_MAX_INSTS) {
    perr(g->ps, "pattern too complex (more than %d instructions)", REGEX_MAX_INSTS);
    return -1;
  }
  g->prog[g->n] = (rinst){op, x, y};
  return g->n++;
}

#define CHAIN_END 0xFFFFFFFFu

static int gen(rgen *g, const rnode *n) {
  switch (n->k) {
    case R_EMPTY: return 0;
    case R_CHAR: return emit(g, I_CHAR, n->c, 0) < 0 ? -1 : 0;
    case R_ANY: return emit(g, I_ANY, 0, 0) < 0 ? -1 : 0;
    case R_CLASS: return emit(g, I_CLASS, n->c, 0) < 0 ? -1 : 0;
    case R_BOL: return emit(g, I_BOL, 0, 0) < 0 ? -1 : 0;
    case R_EOL: return emit(g, I_EOL, 0, 0) < 0 ? -1 : 0;
    case R_WORDB: return emit(g, I_WORDB, 0, 0) < 0 ? -1 : 0;
    case R_NWORDB: return emit(g, I_NWORDB, 0, 0) < 0 ? -1 : 0;
    case R_CAT:
      for (const rnode *k = n->kids; k; k = k->next)
        if (gen(g, k)) return -1;
      return 0;
    case R_ALT: {
      uint32_t chain = CHAIN_END;
      for (const rnode *k = n->kids; k; k = k->next) {
        if (!k->next) {
          if (gen(g, k)) return -1;
          break;
        }
        long s = emit(g, I_SPLIT, 0, 0);
        if (s < 0) return -1;
        g->prog[s].x = (uint32_t)s + 1;
        if (gen(g, k)) return -1;
        long j = emit(g, I_JMP, chain, 0);
        if (j < 0) return -1;
        chain = (uint32_t)j;
        g->prog[s].y = g->n;
      }
      while (chain != CHAIN_END) {
        uint32_t prev = g->prog[chain].x;
        g->prog[chain].x = g->n;
        chain = prev;
      }
      return 0;
    }
    case R_REP: {
      const rnode *k = n->kids;
      if (n->max < 0) {
        int fixed = n->min > 0 ? n->min - 1 : 0;
        for (int i = 0; i < fixed; i++)
          if (gen(g, k)) return -1;
        if (n->min > 0) { /* e+ : L: e; split L, next */
          uint32_t L = g->n;
          if (gen(g, k)) return -1;
          long s = emit(g, I_SPLIT, L, 0);
          if (s < 0) return -1;
          g->prog[s].y = (uint32_t)s + 1;
        } else { /* e* : L: split L+1, out; e; jmp L; out: */
          long s = emit(g, I_SPLIT, 0, 0);
          if (s < 0) return -1;
          g->prog[s].x = (uint32_t)s + 1;
          if (gen(g, k)) return -1;
          if (emit(g, I_JMP, (uint32_t)s, 0) < 0) return -1;
          g->prog[s].y = g->n;
        }
        return 0;
      }
      for (int i = 0; i < n->min; i++)
        if (gen(g, k)) return -1;
      uint32_t chain = CHAIN_END; /* optional copies: split next, END */
      for (int i = n->min; i < n->max; i++) {
        long s = emit(g, I_SPLIT, 0, chain);
        if (s < 0) return -1;
        g->prog[s].x = (uint32_t)s + 1;
        chain = (uint32_t)s;
        if (gen(g, k)) return -1;
      }
      while (chain != CHAIN_END) {
        uint32_t prev = g->prog[chain].y;
        g->prog[chain].y = g->n;
        chain = prev;
      }
      return 0;
    }
  }
  return -1;
}

evd_regex *regex_compile(arena *a, const char *p, size_t n, char *err, size_t errlen) {
  rparse ps;
  memset(&ps, 0, sizeof ps);
  ps.start = ps.p = (const unsigned char *)p;
  ps.end = ps.start + n;
  ps.err = err;
  ps.errlen = errlen;
  if (errlen) err[0] = '\0';
  arena tmp;
  arena_init(&tmp, 16 * 1024);
  ps.tmp = &tmp;
  evd_regex *re = NULL;
  rinst *prog = NULL;

  rnode *root = parse_alt(&ps);
  if (root && ps.p < ps.end) root = perr(&ps, "unbalanced ')' at offset %zu", off(&ps));
  if (!root) goto done;
  prog = malloc(REGEX_MAX_INSTS * sizeof *prog);
  if (!prog) {
    perr(&ps, "out of memory");
    goto done;
  }
  rgen g = {prog, 0, &ps};
  if (gen(&g, root) || emit(&g, I_MATCH, 0, 0) < 0) goto done;

  re = arena_calloc(a, sizeof *re);
  rinst *rp = re ? arena_alloc(a, g.n * sizeof *rp) : NULL;
  citem *it = re ? arena_alloc(a, (ps.nitems ? ps.nitems : 1) * sizeof *it) : NULL;
  rclass *cl = re ? arena_alloc(a, (ps.nclasses ? ps.nclasses : 1) * sizeof *cl) : NULL;
  if (!re || !rp || !it || !cl) {
    re = NULL;
    perr(&ps, "out of memory");
    goto done;
  }
  memcpy(rp, prog, g.n * sizeof *rp);
  if (ps.nitems) memcpy(it, ps.items, ps.nitems * sizeof *it);
  if (ps.nclasses) memcpy(cl, ps.classes, ps.nclasses * sizeof *cl);
  re->ninst = g.n;
  re->prog = rp;
  re->items = it;
  re->classes = cl;
  /* A top-level leading ^ compiles to prog[0] == BOL (an alternation starts with SPLIT). */
  re->anchored = rp[0].op == I_BOL;
  re->dfa = build_dfa(re, a);
  if (re->dfa) re->seq = build_seq(re, root, a);
done:
  free(prog);
  free(ps.items);
  free(ps.classes);
  arena_free(&tmp);
  return re;
}

/* ---- matching ------------------------------------------------------------------------- */

static int is_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static int is_word(uint32_t c) {
  return c != NO_CP && (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_');
}
static int is_space(uint32_t c) {
  switch (c) {
    case 9: case 10: case 11: case 12: case 13: case 32: case 0xA0: case 0x1680: case 0x2028:
    case 0x2029: case 0x202F: case 0x205F: case 0x3000: case 0xFEFF: return 1;
    default: return c >= 0x2000 && c <= 0x200A;
  }
}

static int class_match(const evd_regex *re, const rclass *cl, uint32_t c) {
  int in = 0;
  for (uint32_t i = 0; i < cl->n && !in; i++) {
    const citem *it = &re->items[cl->first + i];
    switch (it->kind) {
      case CI_RANGE: in = c >= it->lo && c <= it->hi; break;
      case CI_DIGIT: in = is_digit(c); break;
      case CI_NDIGIT: in = !is_digit(c); break;
      case CI_WORD: in = is_word(c); break;
      case CI_NWORD: in = !is_word(c); break;
      case CI_SPACE: in = is_space(c); break;
      case CI_NSPACE: in = !is_space(c); break;
    }
  }
  return in != cl->negated;
}

typedef struct vmstate {
  uint32_t *mark;
  uint32_t gen;
  uint16_t *stack;
} vmstate;

/* Add pc and everything reachable from it without consuming a character to list, at a
 * position whose previous and next characters are prev and next. Returns 1 when MATCH is
 * reachable. */
static int add_thread(const evd_regex *re, vmstate *vm, uint16_t *list, uint32_t *count, uint32_t pc,
                      uint32_t prev, uint32_t next) {
  uint32_t sp = 0;
  vm->stack[sp++] = (uint16_t)pc;
  while (sp) {
    uint32_t p = vm->stack[--sp];
    if (vm->mark[p] == vm->gen) continue;
    vm->mark[p] = vm->gen;
    const rinst *in = &re->prog[p];
    switch (in->op) {
      case I_MATCH: return 1;
      case I_JMP: vm->stack[sp++] = (uint16_t)in->x; break;
      case I_SPLIT:
        vm->stack[sp++] = (uint16_t)in->y;
        vm->stack[sp++] = (uint16_t)in->x;
        break;
      case I_BOL:
        if (prev == NO_CP) vm->stack[sp++] = (uint16_t)(p + 1);
        break;
      case I_EOL:
        if (next == NO_CP) vm->stack[sp++] = (uint16_t)(p + 1);
        break;
      case I_WORDB:
        if (is_word(prev) != is_word(next)) vm->stack[sp++] = (uint16_t)(p + 1);
        break;
      case I_NWORDB:
        if (is_word(prev) == is_word(next)) vm->stack[sp++] = (uint16_t)(p + 1);
        break;
      default: list[(*count)++] = (uint16_t)p; break;
    }
  }
  return 0;
}

static int dfa_search(const rdfa *d, const unsigned char *s, size_t n, uint64_t *steps, uint64_t budget) {
  if (steps) {
    *steps += n + 1;
    if (*steps > budget) return -1;
  }
  if (d->match[0]) return 1;
  int32_t row = 0;
  for (size_t i = 0; i < n;) {
    uint32_t c = s[i], k;
    if (c < 0x80) {
      k = d->ascii[c];
      i++;
    } else {
      int len;
      c = utf8_at(s, n, i, &len);
      i += (size_t)len;
      uint32_t lo = 0, hi = d->nclasses; /* last class whose bound <= c */
      while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (d->bounds[mid] <= c) lo = mid;
        else hi = mid;
      }
      k = lo;
    }
    row = d->trans[(uint32_t)row + k];
    if (row < 0) return row == DFA_MATCH;
  }
  return d->end_accept[(uint32_t)row / d->nclasses];
}

/* The bytes of w (little-endian order) outside lo..hi (lo, hi < 0x80): their high bits.
 * Exact up to and including the first such byte (a byte >= 0x80 may carry into the
 * next one, whose bit then does not matter). */
static inline uint64_t bytes_outside(uint64_t w, unsigned lo, unsigned hi) {
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  uint64_t above = w + ones * (127 - hi);  /* high bit: byte > hi */
  uint64_t atleast = w + ones * (128 - lo); /* high bit: byte >= lo */
  return (w | above | ~atleast) & highs;
}

/* How many bytes of s[i..lim) from i belong to the range lo..hi. */
static inline size_t range_run(const unsigned char *s, size_t i, size_t lim, unsigned lo, unsigned hi) {
  size_t start = i;
  uint64_t w, bad;
  while (lim - i >= 8) {
    memcpy(&w, s + i, 8);
    if ((bad = bytes_outside(w, lo, hi)) != 0) return i - start + (size_t)__builtin_ctzll(bad) / 8;
    i += 8;
  }
  if (i == lim) return i - start;
  if (lim >= 8) { /* the last 8 bytes before lim, shifted so s[i] is the lowest */
    size_t rem = lim - i;
    memcpy(&w, s + lim - 8, 8);
    w >>= 8 * (8 - rem);
    bad = bytes_outside(w, lo, hi) | (0x8080808080808080ull << (8 * rem));
    return i - start + (size_t)__builtin_ctzll(bad) / 8;
  }
  while (i < lim && s[i] >= lo && s[i] <= hi) i++;
  return i - start;
}

/* Whether a[0..n) equals b[0..n). */
static inline int bytes_eq(const unsigned char *a, const unsigned char *b, size_t n) {
  if (n >= 4 && n <= 8) {
    uint32_t x1, y1, x2, y2;
    memcpy(&x1, a, 4), memcpy(&y1, b, 4), memcpy(&x2, a + n - 4, 4), memcpy(&y2, b + n - 4, 4);
    return x1 == y1 && x2 == y2;
  }
  return memcmp(a, b, n) == 0;
}

/* The greedy pass of a sequence pattern over s[0..n): 1 match, 0 not (see rseq). */
static int seq_match(const rseq *q, const unsigned char *s, size_t n) {
  size_t i = 0;
  for (uint32_t k = 0; k < q->n; k++) {
    const rseq_item *it = &q->items[k];
    if (it->opt_lit) {
      if (n - i >= it->len && bytes_eq(s + i, it->lit, it->len)) i += it->len;
      continue;
    }
    size_t start = i, lim = n - i > it->max ? i + it->max : n;
    if (it->is_range) {
      i += range_run(s, i, lim, it->lo, it->hi);
    } else {
      while (i < lim && it->take[s[i]]) i++;
    }
    if (i - start < it->min) return 0;
  }
  return i == n;
}

int regex_has_dfa(const evd_regex *re) { return re->dfa != NULL; }

int regex_has_seq(const evd_regex *re) { return re->seq != NULL; }

int regex_search_dfa(const evd_regex *re, const char *s, size_t n, uint64_t *steps, uint64_t budget) {
  if (re->dfa) return dfa_search(re->dfa, (const unsigned char *)s, n, steps, budget);
  return regex_search_nfa(re, s, n, steps, budget);
}

int regex_search(const evd_regex *re, const char *s, size_t n, uint64_t *steps, uint64_t budget) {
  if (re->seq) { /* counts the steps the DFA would */
    if (steps) {
      *steps += n + 1;
      if (*steps > budget) return -1;
    }
    return seq_match(re->seq, (const unsigned char *)s, n);
  }
  if (re->dfa) return dfa_search(re->dfa, (const unsigned char *)s, n, steps, budget);
  return regex_search_nfa(re, s, n, steps, budget);
}

int regex_search_nfa(const evd_regex *re, const char *s, size_t n, uint64_t *steps, uint64_t budget) {
  uint16_t lists[2][REGEX_MAX_INSTS];
  uint32_t mark[REGEX_MAX_INSTS];
  uint16_t stack[2 * REGEX_MAX_INSTS + 2];
  memset(mark, 0, re->ninst * sizeof mark[0]);
  vmstate vm = {mark, 1, stack};
  const unsigned char *u = (const unsigned char *)s;

  uint16_t *cur = lists[0], *nxt = lists[1];
  uint32_t ncur = 0, nnxt;
  size_t pos = 0;
  int clen = 0;
  uint32_t prev = NO_CP, c = n ? utf8_at(u, n, 0, &clen) : NO_CP;
  if (add_thread(re, &vm, cur, &ncur, 0, prev, c)) return 1;
  while (pos < n) {
    vm.gen++;
    nnxt = 0;
    size_t npos = pos + (size_t)clen;
    int nlen = 0;
    uint32_t nc = npos < n ? utf8_at(u, n, npos, &nlen) : NO_CP;
    for (uint32_t i = 0; i < ncur; i++) {
      const rinst *in = &re->prog[cur[i]];
      int ok;
      switch (in->op) {
        case I_CHAR: ok = in->x == c; break;
        case I_ANY: ok = c != '\n' && c != '\r' && c != 0x2028 && c != 0x2029; break;
        case I_CLASS: ok = class_match(re, &re->classes[in->x], c); break;
        default: ok = 0; break;
      }
      if (ok && add_thread(re, &vm, nxt, &nnxt, cur[i] + 1, c, nc)) return 1;
    }
    if (steps) {
      *steps += ncur + 1;
      if (*steps > budget) return -1;
    }
    if (!re->anchored && add_thread(re, &vm, nxt, &nnxt, 0, c, nc)) return 1;
    uint16_t *t = cur;
    cur = nxt;
    nxt = t;
    ncur = nnxt;
    pos = npos;
    prev = c;
    c = nc;
    clen = nlen;
    if (ncur == 0 && re->anchored) return 0;
  }
  return 0;
}

/* ---- DFA construction ------------------------------------------------------------------ */

#define DFA_MAX_INSTS 256
#define DFA_MAX_STATES 128
#define DFA_MAX_CLASSES 64
#define DFA_MAX_WORK 300000 /* closure steps while building; past this, keep the NFA */
#define CP_END 0x200000u    /* above every code point utf8_at can produce */

static int consumes(const evd_regex *re, const rinst *in, uint32_t c) {
  switch (in->op) {
    case I_CHAR: return in->x == c;
    case I_ANY: return c != '\n' && c != '\r' && c != 0x2028 && c != 0x2029;
    case I_CLASS: return class_match(re, &re->classes[in->x], c);
    default: return 0;
  }
}

typedef struct dfa_build {
  const evd_regex *re;
  uint32_t *mark, gen;
  uint16_t *stack;
  uint16_t *tmp; /* closure output */
  uint32_t ntmp;
  int has_match;
  long work;
  /* states: their pc sets back to back */
  uint16_t *sets;
  uint32_t nsets_used, sets_cap;
  uint32_t set_off[DFA_MAX_STATES + 1];
  uint8_t match[DFA_MAX_STATES];
  uint32_t nstates;
} dfa_build;

/* Closure of the seeds (pushed on stack[0..sp)) at a position that is or is not the start:
 * records consuming and $ instructions in tmp (sorted), notes a reachable MATCH.
 * Returns -1 when the pattern needs the NFA (\b) or the work limit is hit. */
static int dfa_closure(dfa_build *b, uint32_t sp, int at_start) {
  b->gen++;
  b->ntmp = 0;
  b->has_match = 0;
  while (sp) {
    uint32_t p = b->stack[--sp];
    if (b->mark[p] == b->gen) continue;
    b->mark[p] = b->gen;
    if (++b->work > DFA_MAX_WORK) return -1;
    const rinst *in = &b->re->prog[p];
    switch (in->op) {
      case I_MATCH: b->has_match = 1; break;
      case I_JMP: b->stack[sp++] = (uint16_t)in->x; break;
      case I_SPLIT:
        b->stack[sp++] = (uint16_t)in->y;
        b->stack[sp++] = (uint16_t)in->x;
        break;
      case I_BOL:
        if (at_start) b->stack[sp++] = (uint16_t)(p + 1);
        break;
      case I_WORDB:
      case I_NWORDB: return -1;
      default: b->tmp[b->ntmp++] = (uint16_t)p; break; /* consuming, or $ (decided at the end) */
    }
  }
  for (uint32_t i = 1; i < b->ntmp; i++) { /* insertion sort: sets are small */
    uint16_t v = b->tmp[i];
    uint32_t j = i;
    while (j > 0 && b->tmp[j - 1] > v) b->tmp[j] = b->tmp[j - 1], j--;
    b->tmp[j] = v;
  }
  return 0;
}

/* Whether a $ recorded in the set leads to MATCH at the end of the text. */
static int dfa_end_accept(dfa_build *b, const uint16_t *set, uint32_t n, int at_start) {
  uint32_t sp = 0;
  b->gen++;
  for (uint32_t i = 0; i < n; i++)
    if (b->re->prog[set[i]].op == I_EOL) b->stack[sp++] = (uint16_t)(set[i] + 1);
  while (sp) {
    uint32_t p = b->stack[--sp];
    if (b->mark[p] == b->gen) continue;
    b->mark[p] = b->gen;
    const rinst *in = &b->re->prog[p];
    switch (in->op) {
      case I_MATCH: return 1;
      case I_JMP: b->stack[sp++] = (uint16_t)in->x; break;
      case I_SPLIT:
        b->stack[sp++] = (uint16_t)in->y;
        b->stack[sp++] = (uint16_t)in->x;
        break;
      case I_BOL:
        if (at_start) b->stack[sp++] = (uint16_t)(p + 1);
        break;
      case I_EOL: b->stack[sp++] = (uint16_t)(p + 1); break;
      default: break;
    }
  }
  return 0;
}

/* The state holding tmp (and has_match), adding it when new; -1 when over the limit.
 * State 0, the start, is never shared: its closure saw ^ satisfied. */
static int dfa_state(dfa_build *b, int is_start) {
  if (!is_start)
    for (uint32_t s = 1; s < b->nstates; s++) {
      uint32_t n = b->set_off[s + 1] - b->set_off[s];
      if (n == b->ntmp && b->match[s] == b->has_match &&
          (n == 0 || memcmp(b->sets + b->set_off[s], b->tmp, n * sizeof *b->tmp) == 0))
        return (int)s;
    }
  if (b->nstates >= DFA_MAX_STATES) return -1;
  if (b->nsets_used + b->ntmp > b->sets_cap) {
    uint32_t cap = (b->sets_cap + b->ntmp) * 2;
    uint16_t *ns = realloc(b->sets, cap * sizeof *ns);
    if (!ns) return -1;
    b->sets = ns;
    b->sets_cap = cap;
  }
  if (b->ntmp) memcpy(b->sets + b->nsets_used, b->tmp, b->ntmp * sizeof *b->tmp);
  b->nsets_used += b->ntmp;
  b->match[b->nstates] = (uint8_t)b->has_match;
  b->set_off[++b->nstates] = b->nsets_used;
  return (int)b->nstates - 1;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Class boundaries: every point where some instruction's answer can change. */
static uint32_t dfa_bounds(const evd_regex *re, uint32_t *out, uint32_t cap) {
  static const uint32_t digit[] = {'0', '9' + 1};
  static const uint32_t word[] = {'0', '9' + 1, 'A', 'Z' + 1, '_', '_' + 1, 'a', 'z' + 1};
  static const uint32_t space[] = {9,      14,     32,     33,     0xA0,   0xA1,   0x1680, 0x1681, 0x2000, 0x200B,
                                   0x2028, 0x202A, 0x202F, 0x2030, 0x205F, 0x2060, 0x3000, 0x3001, 0xFEFF, 0xFF00};
  static const uint32_t any[] = {'\n', '\n' + 1, '\r', '\r' + 1, 0x2028, 0x202A};
  uint32_t n = 0;
#define ADD(v)                 \
  do {                         \
    if (n >= cap) return 0;    \
    out[n++] = (v);            \
  } while (0)
#define ADD_ALL(arr)                                                     \
  for (size_t q = 0; q < sizeof(arr) / sizeof(arr)[0]; q++) ADD((arr)[q])
  ADD(0);
  ADD(CP_END);
  for (uint32_t i = 0; i < re->ninst; i++) {
    const rinst *in = &re->prog[i];
    if (in->op == I_CHAR) {
      ADD(in->x);
      ADD(in->x + 1);
    } else if (in->op == I_ANY) {
      ADD_ALL(any);
    } else if (in->op == I_CLASS) {
      const rclass *cl = &re->classes[in->x];
      for (uint32_t k = 0; k < cl->n; k++) {
        const citem *it = &re->items[cl->first + k];
        switch (it->kind) {
          case CI_RANGE:
            ADD(it->lo);
            ADD(it->hi + 1);
            break;
          case CI_DIGIT:
          case CI_NDIGIT: ADD_ALL(digit); break;
          case CI_WORD:
          case CI_NWORD: ADD_ALL(word); break;
          default: ADD_ALL(space); break;
        }
      }
    }
  }
#undef ADD_ALL
#undef ADD
  qsort(out, n, sizeof *out, cmp_u32);
  uint32_t u = 0;
  for (uint32_t i = 0; i < n; i++)
    if ((u == 0 || out[i] != out[u - 1]) && out[i] <= CP_END) out[u++] = out[i];
  return u;
}

static const rdfa *build_dfa(const evd_regex *re, arena *a) {
  if (re->ninst > DFA_MAX_INSTS) return NULL;
  for (uint32_t i = 0; i < re->ninst; i++) /* word boundaries depend on the previous character */
    if (re->prog[i].op == I_WORDB || re->prog[i].op == I_NWORDB) return NULL;
  uint32_t bounds[4 * DFA_MAX_CLASSES];
  uint32_t nb = dfa_bounds(re, bounds, sizeof bounds / sizeof bounds[0]);
  if (nb < 2 || nb - 1 > DFA_MAX_CLASSES) return NULL;
  uint32_t ncls = nb - 1;
  dfa_build b;
  memset(&b, 0, sizeof b);
  b.re = re;
  uint32_t marks[DFA_MAX_INSTS];
  uint16_t stack[3 * DFA_MAX_INSTS + 4], tmp[DFA_MAX_INSTS];
  memset(marks, 0, sizeof marks);
  b.mark = marks;
  b.stack = stack;
  b.tmp = tmp;
  int16_t *trans = malloc((size_t)DFA_MAX_STATES * ncls * sizeof *trans);
  uint8_t end_accept[DFA_MAX_STATES];
  const rdfa *result = NULL;
  if (!trans) goto out;

  stack[0] = 0;
  if (dfa_closure(&b, 1, 1) || dfa_state(&b, 1) != 0) goto out;
  for (uint32_t s = 0; s < b.nstates; s++) { /* nstates grows as states are found */
    uint32_t off = b.set_off[s], n = b.set_off[s + 1] - off;
    end_accept[s] = (uint8_t)(b.match[s] || dfa_end_accept(&b, b.sets + off, n, s == 0));
    for (uint32_t k = 0; k < ncls; k++) {
      int16_t *t = &trans[(size_t)s * ncls + k];
      if (b.match[s]) { /* never left: the search has succeeded */
        *t = (int16_t)s;
        continue;
      }
      uint32_t sp = 0;
      for (uint32_t i = 0; i < n; i++) {
        uint16_t pc = b.sets[b.set_off[s] + i]; /* b.sets may move as states are added */
        if (consumes(re, &re->prog[pc], bounds[k])) stack[sp++] = (uint16_t)(pc + 1);
      }
      if (!re->anchored) stack[sp++] = 0; /* the search starts again at every position */
      if (sp == 0) {
        *t = -1;
        continue;
      }
      if (dfa_closure(&b, sp, 0)) goto out;
      if (b.ntmp == 0 && !b.has_match) {
        *t = -1;
        continue;
      }
      int ns = dfa_state(&b, 0);
      if (ns < 0) goto out;
      *t = (int16_t)ns;
    }
  }
  rdfa *d = arena_calloc(a, sizeof *d);
  int32_t *tt = d ? arena_alloc(a, (size_t)b.nstates * ncls * sizeof *tt) : NULL;
  uint8_t *mm = tt ? arena_alloc(a, b.nstates) : NULL;
  uint8_t *ea = mm ? arena_alloc(a, b.nstates) : NULL;
  uint32_t *bb = ea ? arena_alloc(a, nb * sizeof *bb) : NULL;
  if (!bb) goto out; /* out of memory: the NFA still works */
  for (size_t i = 0; i < (size_t)b.nstates * ncls; i++) {
    int16_t t = trans[i];
    tt[i] = t < 0 ? DFA_DEAD : b.match[t] ? DFA_MATCH : (int32_t)((uint32_t)t * ncls);
  }
  memcpy(mm, b.match, b.nstates);
  memcpy(ea, end_accept, b.nstates);
  memcpy(bb, bounds, nb * sizeof *bb);
  d->nstates = b.nstates;
  d->nclasses = ncls;
  d->trans = tt;
  d->match = mm;
  d->end_accept = ea;
  d->bounds = bb;
  for (uint32_t c = 0, k = 0; c < 128; c++) {
    while (k + 1 < ncls && bounds[k + 1] <= c) k++;
    d->ascii[c] = (uint8_t)k;
  }
  result = d;
out:
  free(trans);
  free(b.sets);
  return result;
}

/* ---- sequence form ------------------------------------------------------------------- */

/* The ASCII characters a CHAR or CLASS node takes into set; 0, or -1 when it can also
 * take a code point >= 0x80 (or is another kind of node). */
static int ascii_set(const evd_regex *re, const rnode *n, uint64_t set[2]) {
  set[0] = set[1] = 0;
  if (n->k == R_CHAR) {
    if (n->c >= 0x80) return -1;
    set[n->c >> 6] |= 1ull << (n->c & 63);
    return 0;
  }
  if (n->k != R_CLASS) return -1;
  const rclass *cl = &re->classes[n->c];
  if (cl->negated) return -1;
  for (uint32_t i = 0; i < cl->n; i++) {
    const citem *it = &re->items[cl->first + i];
    if (!(it->kind == CI_DIGIT || it->kind == CI_WORD || (it->kind == CI_RANGE && it->hi < 0x80))) return -1;
  }
  for (uint32_t c = 0; c < 0x80; c++)
    if (class_match(re, cl, c)) set[c >> 6] |= 1ull << (c & 63);
  return 0;
}

/* The sequence form of the pattern whose syntax tree is root (see rseq), or NULL when it
 * has none (or out of memory: the DFA then matches, as it would anyway). */
static const rseq *build_seq(const evd_regex *re, const rnode *root, arena *a) {
  if (root->k != R_CAT || !root->kids || root->kids->k != R_BOL) return NULL;
  uint32_t n = 0;
  const rnode *last = root->kids;
  for (const rnode *k = root->kids->next; k; k = k->next) last = k, n++;
  if (last->k != R_EOL || n == 0) return NULL;
  n--; /* the items between ^ and $ */
  rseq *q = arena_calloc(a, sizeof *q);
  rseq_item *items = arena_calloc(a, (n ? n : 1) * sizeof *items);
  if (!q || !items) return NULL;
  uint32_t i = 0;
  for (const rnode *k = root->kids->next; k != last; k = k->next, i++) {
    rseq_item *it = &items[i];
    if (ascii_set(re, k, it->set) == 0) {
      it->min = it->max = 1;
      continue;
    }
    if (k->k != R_REP) return NULL;
    if (ascii_set(re, k->kids, it->set) == 0) {
      it->min = (uint32_t)k->min;
      it->max = k->max < 0 ? UINT32_MAX : (uint32_t)k->max;
      continue;
    }
    /* (literal)? */
    const rnode *g = k->kids;
    if (k->min != 0 || k->max != 1 || g->k != R_CAT || !g->kids) return NULL;
    uint32_t len = 0;
    for (const rnode *c = g->kids; c; c = c->next, len++)
      if (c->k != R_CHAR || c->c >= 0x80) return NULL;
    unsigned char *lit = arena_alloc(a, len);
    if (!lit) return NULL;
    len = 0;
    for (const rnode *c = g->kids; c; c = c->next) lit[len++] = (unsigned char)c->c;
    it->opt_lit = 1;
    it->lit = lit;
    it->len = len;
  }
  /* No greedy choice may be wrong: what can start the rest must be disjoint from what a
   * variable run takes, and must not hold an optional literal's first character. */
  for (i = 0; i < n; i++) {
    const rseq_item *it = &items[i];
    if (!it->opt_lit && it->min == it->max) continue;
    uint64_t first[2] = {0, 0};
    for (uint32_t j = i + 1; j < n; j++) {
      const rseq_item *nx = &items[j];
      if (nx->opt_lit) {
        first[nx->lit[0] >> 6] |= 1ull << (nx->lit[0] & 63);
        continue;
      }
      first[0] |= nx->set[0];
      first[1] |= nx->set[1];
      if (nx->min > 0) break;
    }
    if (it->opt_lit ? (first[it->lit[0] >> 6] >> (it->lit[0] & 63)) & 1
                    : (first[0] & it->set[0]) || (first[1] & it->set[1]))
      return NULL;
  }
  for (i = 0; i < n; i++) {
    if (items[i].opt_lit) continue;
    uint8_t *take = arena_calloc(a, 256);
    if (!take) return NULL;
    int lo = -1, hi = -1, gaps = 0;
    for (uint32_t b = 0; b < 0x80; b++) {
      take[b] = (uint8_t)((items[i].set[b >> 6] >> (b & 63)) & 1);
      if (!take[b]) continue;
      if (lo < 0) lo = (int)b;
      else if (hi != (int)b - 1) gaps = 1;
      hi = (int)b;
    }
    items[i].take = take;
    if (lo >= 0 && !gaps) {
      items[i].is_range = 1;
      items[i].lo = (uint8_t)lo;
      items[i].hi = (uint8_t)hi;
    }
  }
  q->n = n;
  q->items = items;
  return q;
}
