/* json: see json.h.
 *
 * A recursive-descent parser over a byte range (never reads past text + len, never needs a
 * terminating NUL). Depth is bounded by max_depth, so the recursion is too. Strings are
 * scanned eight bytes at a time for the bytes that need attention ('"', '\\', control
 * characters, non-ASCII); a string without escapes is copied into the arena in one memcpy,
 * one with escapes is validated first and then decoded (decoding never grows the text).
 * Every node and decoded string comes from the caller's arena. */
#include "core/json.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
  arena *a;
  const unsigned char *base; /* start of the input (offsets are relative to it) */
  const unsigned char *p;    /* current position */
  const unsigned char *end;  /* one past the last input byte */
  int depth;
  int max_depth;
  json_error *err;
} parser;

/* ---- errors ------------------------------------------------------------------------- */

/* Fill the error at byte offset `at` with a printf-style message (the offset is kept in
 * err->offset, not repeated in the text). Returns NULL for tail calls. */
static json_value *fail(parser *ps, const unsigned char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_value *fail(parser *ps, const unsigned char *at, const char *fmt, ...) {
  json_error *e = ps->err;
  size_t off = (size_t)(at - ps->base);
  e->offset = off;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
  return NULL;
}

static json_value *fail_oom(parser *ps) {
  ps->err->offset = (size_t)(ps->p - ps->base);
  snprintf(ps->err->message, sizeof ps->err->message, "out of memory");
  return NULL;
}

/* "unexpected character 'x'" for the byte at `at`, or "unexpected end of input". */
static json_value *fail_unexpected(parser *ps, const unsigned char *at) {
  if (at >= ps->end) return fail(ps, at, "unexpected end of input");
  unsigned c = *at;
  if (c >= 0x21 && c < 0x7f) return fail(ps, at, "unexpected character '%c'", (char)c);
  return fail(ps, at, "unexpected byte 0x%02x", c);
}

/* ---- scanning helpers --------------------------------------------------------------- */

static inline void skip_ws(parser *ps) {
  const unsigned char *p = ps->p, *end = ps->end;
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  ps->p = p;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t load64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

/* Bit 7 of a byte of the result is set for the first byte of v (in memory order) that is
 * '"', '\\', < 0x20 or >= 0x80; bytes above it may be flagged spuriously (borrows), bytes
 * below it never are. Zero when none of the 8 bytes needs attention. */
static inline uint64_t string_special_mask(uint64_t v) {
  uint64_t q = v ^ (ONES * '"');
  uint64_t b = v ^ (ONES * '\\');
  uint64_t m = ((q - ONES) & ~q) | ((b - ONES) & ~b) | ((v - ONES * 0x20) & ~v) | v;
  return m & HIGHS;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define JSON_SWAR 1
#endif

/* 1 for bytes a string may hold as they are: 0x20..0x7f except '"' and '\\'. */
static const unsigned char STRING_PLAIN[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* Length of the valid UTF-8 sequence starting at p (p[0] >= 0x80), or 0 if it is invalid
 * (bad lead byte, truncated, overlong, surrogate, above U+10FFFF). RFC 3629 table 3-7. */
static inline size_t utf8_seq_len(const unsigned char *p, const unsigned char *end) {
  unsigned c = p[0];
  size_t avail = (size_t)(end - p);
  if (c >= 0xc2 && c <= 0xdf) {
    if (avail < 2 || (p[1] & 0xc0) != 0x80) return 0;
    return 2;
  }
  if (c >= 0xe0 && c <= 0xef) {
    if (avail < 3) return 0;
    unsigned c1 = p[1];
    if (c == 0xe0) {
      if (c1 < 0xa0 || c1 > 0xbf) return 0;
    } else if (c == 0xed) {
      if (c1 < 0x80 || c1 > 0x9f) return 0;
    } else if ((c1 & 0xc0) != 0x80) {
      return 0;
    }
    if ((p[2] & 0xc0) != 0x80) return 0;
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (avail < 4) return 0;
    unsigned c1 = p[1];
    if (c == 0xf0) {
      if (c1 < 0x90 || c1 > 0xbf) return 0;
    } else if (c == 0xf4) {
      if (c1 < 0x80 || c1 > 0x8f) return 0;
    } else if ((c1 & 0xc0) != 0x80) {
      return 0;
    }
    if ((p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80) return 0;
    return 4;
  }
  return 0;
}

int utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
#ifdef JSON_SWAR
    while (end - p >= 8 && (load64(p) & HIGHS) == 0) p += 8;
    if (p >= end) break;
#endif
    if (*p < 0x80) {
      p++;
      continue;
    }
    size_t l = utf8_seq_len(p, end);
    if (l == 0) return 0;
    p += l;
  }
  return 1;
}

static inline int hexval(unsigned c) {
  if (c >= '0' && c <= '9') return (int)(c - '0');
  c |= 0x20;
  if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
  return -1;
}

/* The 4 hex digits at p (the caller checked 4 bytes are there), or -1. */
static inline long hex4(const unsigned char *p) {
  int a = hexval(p[0]), b = hexval(p[1]), c = hexval(p[2]), d = hexval(p[3]);
  if ((a | b | c | d) < 0) return -1;
  return (long)((a << 12) | (b << 8) | (c << 4) | d);
}

/* ---- strings ------------------------------------------------------------------------ */

/* Validate the string whose opening quote is at ps->p. On success *close points at the
 * closing quote and *escaped tells whether a backslash occurs; ps->p is unchanged.
 * Returns 0, or -1 with the error set. */
static int scan_string(parser *ps, const unsigned char **close, int *escaped) {
  const unsigned char *start = ps->p, *p = ps->p + 1, *end = ps->end;
  int esc = 0;
  for (;;) {
#ifdef JSON_SWAR
    while (end - p >= 8) {
      uint64_t m = string_special_mask(load64(p));
      if (m) {
        p += __builtin_ctzll(m) >> 3;
        break;
      }
      p += 8;
    }
#endif
    /* Byte-wise to the next interesting byte (tail, or after the SWAR loop stopped). */
    while (p < end && STRING_PLAIN[*p]) p++;
    if (p >= end) {
      fail(ps, start, "unterminated string");
      return -1;
    }
    unsigned c = *p;
    if (c == '"') {
      *close = p;
      *escaped = esc;
      return 0;
    }
    if (c == '\\') {
      esc = 1;
      if (end - p < 2) {
        fail(ps, start, "unterminated string");
        return -1;
      }
      unsigned e = p[1];
      switch (e) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          p += 2;
          continue;
        case 'u':
          break;
        default:
          if (e >= 0x21 && e < 0x7f) fail(ps, p, "invalid escape '\\%c' in string", (char)e);
          else fail(ps, p, "invalid escape in string");
          return -1;
      }
      if (end - p < 6) {
        fail(ps, p, "invalid \\u escape (needs 4 hex digits)");
        return -1;
      }
      long u = hex4(p + 2);
      if (u < 0) {
        fail(ps, p, "invalid \\u escape (needs 4 hex digits)");
        return -1;
      }
      if (u >= 0xdc00 && u <= 0xdfff) {
        fail(ps, p, "lone low surrogate \\u%04lx", u);
        return -1;
      }
      if (u >= 0xd800 && u <= 0xdbff) {
        long lo = -1;
        if (end - p >= 12 && p[6] == '\\' && p[7] == 'u') lo = hex4(p + 8);
        if (lo < 0xdc00 || lo > 0xdfff) {
          fail(ps, p, "lone high surrogate \\u%04lx (not followed by a low surrogate)", u);
          return -1;
        }
        p += 12;
      } else {
        p += 6;
      }
      continue;
    }
    if (c < 0x20) {
      fail(ps, p, "unescaped control character 0x%02x in string", c);
      return -1;
    }
    size_t l = utf8_seq_len(p, end);
    if (l == 0) {
      fail(ps, p, "invalid UTF-8");
      return -1;
    }
    p += l;
  }
}

/* Append the UTF-8 encoding of code point u (<= 0x10FFFF, not a surrogate) at o. */
static inline unsigned char *put_utf8(unsigned char *o, unsigned long u) {
  if (u < 0x80) {
    *o++ = (unsigned char)u;
  } else if (u < 0x800) {
    *o++ = (unsigned char)(0xc0 | (u >> 6));
    *o++ = (unsigned char)(0x80 | (u & 0x3f));
  } else if (u < 0x10000) {
    *o++ = (unsigned char)(0xe0 | (u >> 12));
    *o++ = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
    *o++ = (unsigned char)(0x80 | (u & 0x3f));
  } else {
    *o++ = (unsigned char)(0xf0 | (u >> 18));
    *o++ = (unsigned char)(0x80 | ((u >> 12) & 0x3f));
    *o++ = (unsigned char)(0x80 | ((u >> 6) & 0x3f));
    *o++ = (unsigned char)(0x80 | (u & 0x3f));
  }
  return o;
}

/* Decode the already validated string body p[0..close) into o; returns the decoded end. */
static unsigned char *decode_string(const unsigned char *p, const unsigned char *close,
                                    unsigned char *o) {
  while (p < close) {
    const unsigned char *bs = memchr(p, '\\', (size_t)(close - p));
    if (!bs) bs = close;
    size_t run = (size_t)(bs - p);
    memcpy(o, p, run);
    o += run;
    p = bs;
    if (p >= close) break;
    unsigned e = p[1];
    switch (e) {
      case 'b': *o++ = '\b'; p += 2; break;
      case 'f': *o++ = '\f'; p += 2; break;
      case 'n': *o++ = '\n'; p += 2; break;
      case 'r': *o++ = '\r'; p += 2; break;
      case 't': *o++ = '\t'; p += 2; break;
      case 'u': {
        unsigned long u = (unsigned long)hex4(p + 2);
        p += 6;
        if (u >= 0xd800 && u <= 0xdbff) {
          unsigned long lo = (unsigned long)hex4(p + 2);
          u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
          p += 6;
        }
        o = put_utf8(o, u);
        break;
      }
      default: /* '"', '\\', '/' */
        *o++ = (unsigned char)e;
        p += 2;
        break;
    }
  }
  return o;
}

/* Parse the string at ps->p (which is '"') into a NUL-terminated arena copy, placed
 * `before` bytes into a fresh allocation (so a caller can put its node in front: one
 * allocation instead of two); *block gets the allocation's start.
 * Returns 0 with *out and *outn, or -1 with the error set. */
static int parse_string_into(parser *ps, size_t before, void **block, const char **out,
                             uint32_t *outn) {
  const unsigned char *close;
  int escaped;
  if (scan_string(ps, &close, &escaped) != 0) return -1;
  const unsigned char *body = ps->p + 1;
  size_t raw = (size_t)(close - body);
  unsigned char *mem = arena_alloc(ps->a, before + raw + 1);
  if (!mem) {
    fail_oom(ps);
    return -1;
  }
  *block = mem;
  unsigned char *dst = mem + before;
  size_t n;
  if (!escaped) {
    memcpy(dst, body, raw);
    n = raw;
  } else {
    n = (size_t)(decode_string(body, close, dst) - dst);
  }
  dst[n] = '\0';
  *out = (const char *)dst;
  *outn = (uint32_t)n;
  ps->p = close + 1;
  return 0;
}

/* A key: the string alone. */
static int parse_string_raw(parser *ps, const char **out, uint32_t *outn) {
  void *block;
  return parse_string_into(ps, 0, &block, out, outn);
}

/* ---- values ------------------------------------------------------------------------- */

static inline void init_node(parser *ps, json_value *v, json_type t, const unsigned char *at) {
  v->type = t;
  v->n = 0;
  v->s = NULL;
  v->child = NULL;
  v->next = NULL;
  v->key = NULL;
  v->key_len = 0;
  v->offset = (uint32_t)(at - ps->base);
}

static inline json_value *new_node(parser *ps, json_type t, const unsigned char *at) {
  json_value *v = arena_alloc(ps->a, sizeof *v);
  if (!v) return fail_oom(ps);
  init_node(ps, v, t, at);
  return v;
}

/* Node size rounded to the arena's alignment, so text placed after a node stays apart. */
#define NODE_SPACE ((sizeof(json_value) + 15) & ~(size_t)15)

static inline int is_digit(unsigned c) { return c - '0' < 10u; }

static json_value *parse_number(parser *ps) {
  const unsigned char *start = ps->p, *p = ps->p, *end = ps->end;
  if (*p == '-') p++;
  if (p >= end || !is_digit(*p)) {
    if (p < end && (*p == 'I' || *p == 'i')) return fail(ps, start, "Infinity is not valid JSON");
    return fail(ps, start, "invalid number (expected a digit after '-')");
  }
  if (*p == '0') {
    p++;
    if (p < end && is_digit(*p)) return fail(ps, start, "invalid number (leading zero)");
  } else {
    while (p < end && is_digit(*p)) p++;
  }
  if (p < end && *p == '.') {
    p++;
    if (p >= end || !is_digit(*p))
      return fail(ps, start, "invalid number (expected a digit after '.')");
    while (p < end && is_digit(*p)) p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (p >= end || !is_digit(*p))
      return fail(ps, start, "invalid number (expected a digit in the exponent)");
    while (p < end && is_digit(*p)) p++;
  }
  size_t n = (size_t)(p - start);
  unsigned char *mem = arena_alloc(ps->a, NODE_SPACE + n + 1);
  if (!mem) return fail_oom(ps);
  json_value *v = (json_value *)mem;
  init_node(ps, v, JSON_NUMBER, start);
  char *s = (char *)mem + NODE_SPACE;
  memcpy(s, start, n);
  s[n] = '\0';
  v->s = s;
  v->n = (uint32_t)n;
  ps->p = p;
  return v;
}

static json_value *parse_literal(parser *ps) {
  const unsigned char *p = ps->p;
  size_t avail = (size_t)(ps->end - p);
  json_type t;
  size_t n;
  if (avail >= 4 && memcmp(p, "true", 4) == 0) {
    t = JSON_TRUE;
    n = 4;
  } else if (avail >= 5 && memcmp(p, "false", 5) == 0) {
    t = JSON_FALSE;
    n = 5;
  } else if (avail >= 4 && memcmp(p, "null", 4) == 0) {
    t = JSON_NULL;
    n = 4;
  } else {
    if (*p == 'N') return fail(ps, p, "NaN is not valid JSON");
    return fail_unexpected(ps, p);
  }
  json_value *v = new_node(ps, t, p);
  if (!v) return NULL;
  ps->p = p + n;
  return v;
}

static json_value *parse_value(parser *ps);

static json_value *parse_array(parser *ps) {
  const unsigned char *start = ps->p;
  if (++ps->depth > ps->max_depth) return fail(ps, start, "nesting deeper than %d", ps->max_depth);
  json_value *arr = new_node(ps, JSON_ARRAY, start);
  if (!arr) return NULL;
  ps->p++;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == ']') {
    ps->p++;
    ps->depth--;
    return arr;
  }
  json_value **tail = &arr->child;
  uint32_t count = 0;
  for (;;) {
    json_value *v = parse_value(ps);
    if (!v) return NULL;
    *tail = v;
    tail = &v->next;
    if (count == UINT32_MAX) return fail(ps, ps->p, "array has too many elements");
    count++;
    skip_ws(ps);
    if (ps->p >= ps->end) return fail_unexpected(ps, ps->p);
    unsigned c = *ps->p;
    if (c == ',') {
      const unsigned char *comma = ps->p;
      ps->p++;
      skip_ws(ps);
      if (ps->p < ps->end && *ps->p == ']') return fail(ps, comma, "trailing comma in array");
      continue;
    }
    if (c == ']') {
      ps->p++;
      break;
    }
    if (c >= 0x21 && c < 0x7f)
      return fail(ps, ps->p, "unexpected character '%c' (expected ',' or ']')", (char)c);
    return fail_unexpected(ps, ps->p);
  }
  arr->n = count;
  ps->depth--;
  return arr;
}

/* Duplicate-key detection: linear for small objects, an open-addressing hash table (in the
 * arena) once an object has more than SMALL_OBJECT members, so a hostile object with many
 * keys costs O(n), not O(n^2). */
#define SMALL_OBJECT 16

typedef struct key_table {
  const json_value **slots;
  size_t cap; /* power of two, or 0 */
} key_table;

static inline uint64_t key_hash(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
  return h;
}

static inline int same_key(const json_value *m, const char *k, uint32_t kn) {
  return m->key_len == kn && (kn == 0 || (m->key[0] == k[0] && memcmp(m->key, k, kn) == 0));
}

/* Insert m into the table; returns 1 if an equal key was there already, 0 if inserted. */
static int table_insert(key_table *t, const json_value *m) {
  size_t mask = t->cap - 1;
  size_t i = (size_t)key_hash(m->key, m->key_len) & mask;
  while (t->slots[i]) {
    if (same_key(t->slots[i], m->key, m->key_len)) return 1;
    i = (i + 1) & mask;
  }
  t->slots[i] = m;
  return 0;
}

/* Grow (or create) the table to hold at least `need` members at load <= 1/2, reinserting
 * the members of list `first`. Returns 0, or -1 when out of memory. */
static int table_grow(arena *a, key_table *t, const json_value *first, size_t need) {
  size_t cap = t->cap ? t->cap : 64;
  while (cap < need * 2) cap *= 2;
  const json_value **slots = arena_calloc(a, cap * sizeof *slots);
  if (!slots) return -1;
  t->slots = slots;
  t->cap = cap;
  for (const json_value *m = first; m; m = m->next) (void)table_insert(t, m);
  return 0;
}

/* Show a key in an error message: at most 40 bytes, cut on a UTF-8 boundary, control
 * characters replaced by '?'. */
static void key_for_message(const char *k, size_t n, char *out, size_t outsz) {
  size_t lim = n > 40 ? 40 : n;
  while (lim < n && lim > 0 && ((unsigned char)k[lim] & 0xc0) == 0x80) lim--;
  size_t o = 0;
  for (size_t i = 0; i < lim && o + 4 < outsz; i++) {
    unsigned char c = (unsigned char)k[i];
    out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  if (lim < n && o + 4 < outsz) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
}

static json_value *parse_object(parser *ps) {
  const unsigned char *start = ps->p;
  if (++ps->depth > ps->max_depth) return fail(ps, start, "nesting deeper than %d", ps->max_depth);
  json_value *obj = new_node(ps, JSON_OBJECT, start);
  if (!obj) return NULL;
  ps->p++;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == '}') {
    ps->p++;
    ps->depth--;
    return obj;
  }
  json_value **tail = &obj->child;
  uint32_t count = 0;
  key_table table = {NULL, 0};
  for (;;) {
    if (ps->p >= ps->end || *ps->p != '"') {
      if (ps->p < ps->end && *ps->p >= 0x21 && *ps->p < 0x7f)
        return fail(ps, ps->p, "unexpected character '%c' (expected a string key)", (char)*ps->p);
      return fail_unexpected(ps, ps->p);
    }
    const unsigned char *key_at = ps->p;
    const char *key;
    uint32_t key_len;
    if (parse_string_raw(ps, &key, &key_len) != 0) return NULL;
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != ':') {
      if (ps->p < ps->end && *ps->p >= 0x21 && *ps->p < 0x7f)
        return fail(ps, ps->p, "unexpected character '%c' (expected ':')", (char)*ps->p);
      return fail_unexpected(ps, ps->p);
    }
    ps->p++;
    skip_ws(ps);
    json_value *v = parse_value(ps);
    if (!v) return NULL;
    v->key = key;
    v->key_len = key_len;

    int dup = 0;
    if (count < SMALL_OBJECT) {
      for (const json_value *m = obj->child; m; m = m->next)
        if (same_key(m, key, key_len)) {
          dup = 1;
          break;
        }
    } else {
      if (table.cap == 0 || (size_t)(count + 1) * 2 > table.cap) {
        if (table_grow(ps->a, &table, obj->child, (size_t)count + 1) != 0) return fail_oom(ps);
      }
      dup = table_insert(&table, v);
    }
    if (dup) {
      char shown[64];
      key_for_message(key, key_len, shown, sizeof shown);
      return fail(ps, key_at, "duplicate key '%s'", shown);
    }
    *tail = v;
    tail = &v->next;
    if (count == UINT32_MAX) return fail(ps, ps->p, "object has too many members");
    count++;

    skip_ws(ps);
    if (ps->p >= ps->end) return fail_unexpected(ps, ps->p);
    unsigned c = *ps->p;
    if (c == ',') {
      const unsigned char *comma = ps->p;
      ps->p++;
      skip_ws(ps);
      if (ps->p < ps->end && *ps->p == '}') return fail(ps, comma, "trailing comma in object");
      continue;
    }
    if (c == '}') {
      ps->p++;
      break;
    }
    if (c >= 0x21 && c < 0x7f)
      return fail(ps, ps->p, "unexpected character '%c' (expected ',' or '}')", (char)c);
    return fail_unexpected(ps, ps->p);
  }
  obj->n = count;
  ps->depth--;
  return obj;
}

static json_value *parse_value(parser *ps) {
  skip_ws(ps);
  if (ps->p >= ps->end) return fail_unexpected(ps, ps->p);
  switch (*ps->p) {
    case '{':
      return parse_object(ps);
    case '[':
      return parse_array(ps);
    case '"': {
      const unsigned char *at = ps->p;
      void *block;
      const char *str;
      uint32_t n;
      if (parse_string_into(ps, NODE_SPACE, &block, &str, &n) != 0) return NULL;
      json_value *v = block;
      init_node(ps, v, JSON_STRING, at);
      v->s = str;
      v->n = n;
      return v;
    }
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      return parse_number(ps);
    default:
      return parse_literal(ps);
  }
}

json_value *json_parse(arena *a, const char *text, size_t len, int max_depth, json_error *err) {
  parser ps;
  ps.a = a;
  ps.base = (const unsigned char *)text;
  ps.p = ps.base;
  ps.end = ps.base + len;
  ps.depth = 0;
  ps.max_depth = max_depth > 0 ? max_depth : JSON_DEFAULT_MAX_DEPTH;
  if (ps.max_depth > JSON_MAX_DEPTH_CAP) ps.max_depth = JSON_MAX_DEPTH_CAP; /* bounds the stack */
  ps.err = err;
  err->offset = 0;
  err->message[0] = '\0';
  if (len > UINT32_MAX) {
    snprintf(err->message, sizeof err->message, "document larger than 4 GiB");
    return NULL;
  }
  skip_ws(&ps);
  if (ps.p >= ps.end) return fail(&ps, ps.p, "empty document");
  json_value *root = parse_value(&ps);
  if (!root) return NULL;
  skip_ws(&ps);
  if (ps.p < ps.end) {
    unsigned c = *ps.p;
    if (c >= 0x21 && c < 0x7f)
      return fail(&ps, ps.p, "unexpected character '%c' after the JSON value", (char)c);
    return fail(&ps, ps.p, "unexpected byte 0x%02x after the JSON value", c);
  }
  return root;
}

/* ---- accessors ---------------------------------------------------------------------- */

const json_value *json_get(const json_value *obj, const char *key) {
  if (!obj || obj->type != JSON_OBJECT) return NULL;
  size_t n = strlen(key);
  for (const json_value *m = obj->child; m; m = m->next)
    if (m->key_len == n && memcmp(m->key, key, n) == 0) return m;
  return NULL;
}

int json_is_integer(const json_value *v) {
  if (!v || v->type != JSON_NUMBER) return 0;
  for (uint32_t i = 0; i < v->n; i++) {
    char c = v->s[i];
    if (c == '.' || c == 'e' || c == 'E') return 0;
  }
  return 1;
}

int json_as_int64(const json_value *v, int64_t *out) {
  if (!json_is_integer(v) || v->n == 0) return -1;
  const char *s = v->s, *end = v->s + v->n;
  int neg = 0;
  if (*s == '-') {
    neg = 1;
    s++;
  }
  if (s >= end) return -1;
  /* Accumulate as a negative number so INT64_MIN is representable. */
  int64_t acc = 0;
  for (; s < end; s++) {
    unsigned d = (unsigned)(*s - '0');
    if (d > 9) return -1;
    if (acc < (INT64_MIN + (int64_t)d) / 10) return -1;
    acc = acc * 10 - (int64_t)d;
  }
  if (!neg) {
    if (acc == INT64_MIN) return -1;
    acc = -acc;
  }
  *out = acc;
  return 0;
}

int json_as_double(const json_value *v, double *out) {
  if (!v || v->type != JSON_NUMBER) return -1;
  /* The parser stores the text NUL-terminated in the arena, so strtod stops at its end.
   * Out-of-range magnitudes give +-HUGE_VAL (or 0 for underflow), as strtod does. */
  char *endp;
  errno = 0;
  double d = strtod(v->s, &endp);
  if (endp != v->s + v->n) return -1;
  *out = d;
  return 0;
}

const char *json_type_name(json_type t) {
  switch (t) {
    case JSON_NULL: return "null";
    case JSON_FALSE:
    case JSON_TRUE: return "boolean";
    case JSON_NUMBER: return "number";
    case JSON_STRING: return "string";
    case JSON_ARRAY: return "array";
    case JSON_OBJECT: return "object";
  }
  return "unknown";
}

/* ---- writer ------------------------------------------------------------------------- */

/* For each byte: 0 if it is copied as is, else the character after the backslash
 * ('u' for the \u00XX form). */
static const unsigned char ESCAPE[256] = {
    ['\0'] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u',
    [0x06] = 'u', [0x07] = 'u', ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', [0x0b] = 'u',
    ['\f'] = 'f', ['\r'] = 'r', [0x0e] = 'u', [0x0f] = 'u', [0x10] = 'u', [0x11] = 'u',
    [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u', [0x17] = 'u',
    [0x18] = 'u', [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u', [0x1d] = 'u',
    [0x1e] = 'u', [0x1f] = 'u', ['"'] = '"', ['\\'] = '\\',
};

/* Bit 7 set for the first byte of v that is '"', '\\' or < 0x20 (as string_special_mask,
 * but bytes >= 0x80 pass). */
static inline uint64_t write_special_mask(uint64_t v) {
  uint64_t q = v ^ (ONES * '"');
  uint64_t b = v ^ (ONES * '\\');
  uint64_t m = ((q - ONES) & ~q) | ((b - ONES) & ~b) | ((v - ONES * 0x20) & ~v);
  return m & ~v & HIGHS;
}

/* buf_reserve with its "enough room already" test inlined (the common case). */
static inline int reserve(buf *out, size_t n) {
  if (out->cap - out->len > n) return 0;
  return buf_reserve(out, n);
}

/* Append p[0..n). */
static inline int put(buf *out, const char *p, size_t n) {
  if (reserve(out, n) != 0) return -1;
  memcpy(out->data + out->len, p, n);
  out->len += n;
  out->data[out->len] = '\0';
  return 0;
}

static inline int put1(buf *out, char c) {
  if (reserve(out, 1) != 0) return -1;
  out->data[out->len++] = c;
  out->data[out->len] = '\0';
  return 0;
}

int json_write_string(buf *out, const char *s, size_t n) {
  /* Room for the common case (nothing to escape); escapes reserve more as they come. */
  if (n > SIZE_MAX - 8 || reserve(out, n + 2) != 0) return -1;
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  char *o = out->data + out->len;
  *o++ = '"';
  for (;;) {
    const unsigned char *run = p;
#ifdef JSON_SWAR
    while (end - p >= 8) {
      uint64_t m = write_special_mask(load64(p));
      if (m) {
        p += __builtin_ctzll(m) >> 3;
        break;
      }
      p += 8;
    }
#endif
    while (p < end && ESCAPE[*p] == 0) p++;
    size_t rl = (size_t)(p - run);
    memcpy(o, run, rl);
    o += rl;
    if (p >= end) break;
    /* An escape: up to 6 bytes for 1 input byte. Make room for it plus the rest, unescaped. */
    size_t used = (size_t)(o - out->data);
    size_t rest = (size_t)(end - p);
    out->len = used;
    if (buf_reserve(out, 6 + rest + 1) != 0) return -1;
    o = out->data + used;
    unsigned char e = ESCAPE[*p];
    *o++ = '\\';
    if (e == 'u') {
      static const char hex[] = "0123456789abcdef";
      *o++ = 'u';
      *o++ = '0';
      *o++ = '0';
      *o++ = hex[*p >> 4];
      *o++ = hex[*p & 15];
    } else {
      *o++ = (char)e;
    }
    p++;
  }
  *o++ = '"';
  out->len = (size_t)(o - out->data);
  out->data[out->len] = '\0';
  return 0;
}

int json_write_value(buf *out, const json_value *v) {
  switch (v->type) {
    case JSON_NULL: return put(out, "null", 4);
    case JSON_FALSE: return put(out, "false", 5);
    case JSON_TRUE: return put(out, "true", 4);
    case JSON_NUMBER: return put(out, v->s, v->n);
    case JSON_STRING: return json_write_string(out, v->s, v->n);
    case JSON_ARRAY: {
      if (put1(out, '[') != 0) return -1;
      for (const json_value *c = v->child; c; c = c->next) {
        if (c != v->child && put1(out, ',') != 0) return -1;
        if (json_write_value(out, c) != 0) return -1;
      }
      return put1(out, ']');
    }
    case JSON_OBJECT: {
      if (put1(out, '{') != 0) return -1;
      for (const json_value *c = v->child; c; c = c->next) {
        if (c != v->child && put1(out, ',') != 0) return -1;
        if (json_write_string(out, c->key, c->key_len) != 0) return -1;
        if (put1(out, ':') != 0) return -1;
        if (json_write_value(out, c) != 0) return -1;
      }
      return put1(out, '}');
    }
  }
  return -1;
}
