/* client_json.c — a strict JSON checker for the JSON text an application hands to
 * libeventd (evd_event_set_data_json & co.), so that an event eventd would refuse for its
 * JSON is refused by the setter instead of by the server after the fact.
 *
 * The rules are eventd's (docs/event.md, "JSON parsing"): RFC 8259, one value, whitespace
 * only space/tab/CR/LF, no leading zeros, no NaN/Infinity, valid UTF-8, no lone surrogates,
 * no raw control characters in strings, no duplicate keys (compared after decoding escapes),
 * bounded nesting. It builds no tree: it walks the text once, keeping the decoded keys of the
 * open objects in one buffer to find duplicates (sorted per object when it closes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

typedef struct jkey {
  size_t off, len; /* in keys buffer */
} jkey;

typedef struct jctx {
  const char *s;
  size_t n, i;
  int max_depth;
  evc_buf keys;         /* decoded key bytes */
  jkey *kv;             /* key spans, a stack of per-object ranges */
  size_t nk, capk;
  char *err;
  size_t errlen;
  int failed;
} jctx;

static int fail(jctx *c, const char *msg) {
  if (!c->failed && c->err && c->errlen)
    snprintf(c->err, c->errlen, "%s at offset %zu", msg, c->i);
  c->failed = 1;
  return -1;
}

static void skip_ws(jctx *c) {
  while (c->i < c->n) {
    char ch = c->s[c->i];
    if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') break;
    c->i++;
  }
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

static int read_hex4(const char *s, size_t n, size_t i, unsigned *out) {
  if (i + 4 > n) return -1;
  unsigned v = 0;
  for (int k = 0; k < 4; k++) {
    int h = hexval(s[i + (size_t)k]);
    if (h < 0) return -1;
    v = v << 4 | (unsigned)h;
  }
  *out = v;
  return 0;
}

static void put_utf8(evc_buf *b, unsigned cp) {
  char t[4];
  size_t n;
  if (cp < 0x80) {
    t[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    t[0] = (char)(0xc0 | cp >> 6);
    t[1] = (char)(0x80 | (cp & 0x3f));
    n = 2;
  } else if (cp < 0x10000) {
    t[0] = (char)(0xe0 | cp >> 12);
    t[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    t[2] = (char)(0x80 | (cp & 0x3f));
    n = 3;
  } else {
    t[0] = (char)(0xf0 | cp >> 18);
    t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    t[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    t[3] = (char)(0x80 | (cp & 0x3f));
    n = 4;
  }
  evc_buf_add(b, t, n);
}

/* Decode escapes of raw string text k[0..n) into out (when out is not NULL). Returns 0, or
 * -1 with *why set. The text has no raw control characters or quotes (checked before). */
static int unescape(const char *k, size_t n, evc_buf *out, const char **why) {
  size_t i = 0, run = 0;
  while (i < n) {
    if (k[i] != '\\') {
      i++;
      continue;
    }
    if (out) evc_buf_add(out, k + run, i - run);
    if (i + 1 >= n) {
      *why = "bad escape";
      return -1;
    }
    char e = k[i + 1];
    const char *simple = NULL;
    switch (e) {
      case '"': simple = "\""; break;
      case '\\': simple = "\\"; break;
      case '/': simple = "/"; break;
      case 'b': simple = "\b"; break;
      case 'f': simple = "\f"; break;
      case 'n': simple = "\n"; break;
      case 'r': simple = "\r"; break;
      case 't': simple = "\t"; break;
      case 'u': break;
      default:
        *why = "bad escape";
        return -1;
    }
    if (simple) {
      if (out) evc_buf_add(out, simple, 1);
      i += 2;
      run = i;
      continue;
    }
    unsigned cp;
    if (read_hex4(k, n, i + 2, &cp) != 0) {
      *why = "bad \\u escape";
      return -1;
    }
    i += 6;
    if (cp >= 0xdc00 && cp <= 0xdfff) {
      *why = "lone low surrogate";
      return -1;
    }
    if (cp >= 0xd800 && cp <= 0xdbff) {
      unsigned lo;
      if (i + 6 > n || k[i] != '\\' || k[i + 1] != 'u' || read_hex4(k, n, i + 2, &lo) != 0 ||
          lo < 0xdc00 || lo > 0xdfff) {
        *why = "lone high surrogate";
        return -1;
      }
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      i += 6;
    }
    if (out) put_utf8(out, cp);
    run = i;
  }
  if (out) evc_buf_add(out, k + run, n - run);
  return 0;
}

int evc_json_unescape(const char *k, size_t n, evc_buf *out) {
  const char *why;
  return unescape(k, n, out, &why);
}

/* Scan a string starting at the opening quote. On success *start and *len give the raw text
 * between the quotes and c->i is after the closing quote. */
static int scan_string(jctx *c, size_t *start, size_t *len) {
  c->i++; /* opening quote */
  size_t b = c->i;
  for (;;) {
    if (c->i >= c->n) return fail(c, "unterminated string");
    unsigned char ch = (unsigned char)c->s[c->i];
    if (ch == '"') break;
    if (ch < 0x20) return fail(c, "unescaped control character in string");
    if (ch == '\\') {
      if (c->i + 1 >= c->n) return fail(c, "unterminated string");
      c->i += 2;
      continue;
    }
    c->i++;
  }
  *start = b;
  *len = c->i - b;
  c->i++;
  if (!evc_utf8_valid(c->s + b, *len)) return fail(c, "invalid UTF-8");
  const char *why = NULL;
  if (unescape(c->s + b, *len, NULL, &why) != 0) return fail(c, why);
  return 0;
}

static int scan_number(jctx *c) {
  size_t i = c->i;
  const char *s = c->s;
  if (i < c->n && s[i] == '-') i++;
  if (i >= c->n) return fail(c, "invalid number");
  if (s[i] == '0') {
    i++;
    if (i < c->n && s[i] >= '0' && s[i] <= '9') return fail(c, "invalid number (leading zero)");
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < c->n && s[i] >= '0' && s[i] <= '9') i++;
  } else {
    return fail(c, "invalid number");
  }
  if (i < c->n && s[i] == '.') {
    i++;
    size_t d = i;
    while (i < c->n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d) return fail(c, "invalid number (no digits after '.')");
  }
  if (i < c->n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < c->n && (s[i] == '+' || s[i] == '-')) i++;
    size_t d = i;
    while (i < c->n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d) return fail(c, "invalid number (no exponent digits)");
  }
  c->i = i;
  return 0;
}

static int key_cmp(const void *a, const void *b, void *arg) {
  const jkey *x = a, *y = b;
  const char *base = arg;
  size_t m = x->len < y->len ? x->len : y->len;
  int r = memcmp(base + x->off, base + y->off, m);
  if (r) return r;
  return x->len < y->len ? -1 : x->len > y->len;
}

static int push_key(jctx *c, const char *raw, size_t rawlen) {
  if (c->nk == c->capk) {
    size_t nc = c->capk ? c->capk * 2 : 32;
    jkey *nv = realloc(c->kv, nc * sizeof *nv);
    if (nv == NULL) return fail(c, "out of memory");
    c->kv = nv;
    c->capk = nc;
  }
  size_t off = c->keys.len;
  if (unescape(raw, rawlen, &c->keys, &(const char *){NULL}) != 0 || c->keys.oom)
    return fail(c, "out of memory");
  c->kv[c->nk].off = off;
  c->kv[c->nk].len = c->keys.len - off;
  c->nk++;
  return 0;
}

/* Sort the keys of the object that began at key index first; a duplicate is an error. */
static int check_dups(jctx *c, size_t first) {
  size_t cnt = c->nk - first;
  if (cnt > 1) {
    qsort_r(c->kv + first, cnt, sizeof *c->kv, key_cmp, c->keys.p);
    for (size_t k = first + 1; k < c->nk; k++) {
      if (key_cmp(&c->kv[k - 1], &c->kv[k], c->keys.p) == 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "duplicate key '%.*s'", (int)(c->kv[k].len > 64 ? 64 : c->kv[k].len),
                 c->keys.p + c->kv[k].off);
        return fail(c, msg);
      }
    }
  }
  /* drop this object's keys: they were appended last, from the smallest offset on */
  if (cnt) {
    size_t lo = c->kv[first].off;
    for (size_t k = first; k < c->nk; k++)
      if (c->kv[k].off < lo) lo = c->kv[k].off;
    c->keys.len = lo;
  }
  c->nk = first;
  return 0;
}

typedef struct top_cb {
  evc_json_member_fn fn;
  void *arg;
} top_cb;

static int scan_value(jctx *c, int depth, const top_cb *top);

static int scan_object(jctx *c, int depth, const top_cb *top) {
  c->i++; /* { */
  size_t first = c->nk;
  skip_ws(c);
  if (c->i < c->n && c->s[c->i] == '}') {
    c->i++;
    return 0;
  }
  for (;;) {
    skip_ws(c);
    if (c->i >= c->n) return fail(c, "unexpected end of input");
    if (c->s[c->i] != '"') {
      if (c->s[c->i] == '}') return fail(c, "trailing comma in object");
      return fail(c, "expected a string key");
    }
    size_t ks, kl;
    if (scan_string(c, &ks, &kl) != 0) return -1;
    if (push_key(c, c->s + ks, kl) != 0) return -1;
    skip_ws(c);
    if (c->i >= c->n || c->s[c->i] != ':') return fail(c, "expected ':'");
    c->i++;
    skip_ws(c);
    size_t vs = c->i;
    if (scan_value(c, depth + 1, NULL) != 0) return -1;
    if (top && top->fn && top->fn(top->arg, c->s + ks, kl, c->s + vs, c->i - vs) != 0)
      return fail(c, "rejected member");
    skip_ws(c);
    if (c->i >= c->n) return fail(c, "unexpected end of input");
    if (c->s[c->i] == ',') {
      c->i++;
      continue;
    }
    if (c->s[c->i] == '}') {
      c->i++;
      return check_dups(c, first);
    }
    return fail(c, "expected ',' or '}'");
  }
}

static int scan_array(jctx *c, int depth) {
  c->i++; /* [ */
  skip_ws(c);
  if (c->i < c->n && c->s[c->i] == ']') {
    c->i++;
    return 0;
  }
  for (;;) {
    skip_ws(c);
    if (c->i < c->n && c->s[c->i] == ']') return fail(c, "trailing comma in array");
    if (scan_value(c, depth + 1, NULL) != 0) return -1;
    skip_ws(c);
    if (c->i >= c->n) return fail(c, "unexpected end of input");
    if (c->s[c->i] == ',') {
      c->i++;
      continue;
    }
    if (c->s[c->i] == ']') {
      c->i++;
      return 0;
    }
    return fail(c, "expected ',' or ']'");
  }
}

static int scan_lit(jctx *c, const char *lit) {
  size_t l = strlen(lit);
  if (c->n - c->i < l || memcmp(c->s + c->i, lit, l) != 0) return fail(c, "unexpected character");
  c->i += l;
  return 0;
}

static int scan_value(jctx *c, int depth, const top_cb *top) {
  skip_ws(c);
  if (c->i >= c->n) return fail(c, "unexpected end of input");
  char ch = c->s[c->i];
  if ((ch == '{' || ch == '[') && depth > c->max_depth) return fail(c, "nesting too deep");
  switch (ch) {
    case '{': return scan_object(c, depth, top);
    case '[': return scan_array(c, depth);
    case '"': {
      size_t a, b;
      return scan_string(c, &a, &b);
    }
    case 't': return scan_lit(c, "true");
    case 'f': return scan_lit(c, "false");
    case 'n': return scan_lit(c, "null");
    default:
      if (ch == '-' || (ch >= '0' && ch <= '9')) return scan_number(c);
      return fail(c, "unexpected character");
  }
}

int evc_json_check(const char *s, size_t n, int want_object, int max_depth,
                   evc_json_member_fn fn, void *arg, char *err, size_t errlen) {
  jctx c = {.s = s, .n = n, .max_depth = max_depth, .err = err, .errlen = errlen};
  top_cb top = {fn, arg};
  int rc = 0;
  skip_ws(&c);
  if (want_object && (c.i >= n || s[c.i] != '{')) {
    fail(&c, "expected a JSON object");
    rc = -1;
  } else if (scan_value(&c, 1, want_object ? &top : NULL) != 0) {
    rc = -1;
  } else {
    skip_ws(&c);
    if (c.i != n) {
      fail(&c, "trailing characters after the value");
      rc = -1;
    }
  }
  evc_buf_free(&c.keys);
  free(c.kv);
  return rc;
}
