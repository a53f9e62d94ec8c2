/* schema_format: `format` checks, Unicode length, integer-ness and JSON equality for the
 * validator (schema_validate.c). None of these allocate. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "registry/schema_internal.h"

size_t utf8_codepoints(const char *s, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++) count += ((unsigned char)s[i] & 0xC0) != 0x80;
  return count;
}

static int digits(const char *s, size_t n, int *out) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 1;
}

/* YYYY-MM-DD with a day that exists. */
int format_is_date(const char *s, size_t n) {
  int y, m, d;
  if (n != 10 || s[4] != '-' || s[7] != '-') return 0;
  if (!digits(s, 4, &y) || !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d)) return 0;
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return 0;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= dim[m - 1] + (m == 2 && leap);
}

/* RFC 3339 date-time: full-date T partial-time time-offset. 'T' and 'Z' in either case;
 * fraction of any length; second 60 only where UTC time is 23:59 (a leap second). */
int format_is_date_time(const char *s, size_t n) {
  if (n < 20 || !format_is_date(s, 10) || (s[10] != 'T' && s[10] != 't')) return 0;
  const char *t = s + 11;
  size_t tn = n - 11;
  int hh, mm, ss;
  if (tn < 9 || t[2] != ':' || t[5] != ':') return 0;
  if (!digits(t, 2, &hh) || !digits(t + 3, 2, &mm) || !digits(t + 6, 2, &ss)) return 0;
  if (hh > 23 || mm > 59 || ss > 60) return 0;
  size_t i = 8;
  if (i < tn && t[i] == '.') {
    size_t f = ++i;
    while (i < tn && t[i] >= '0' && t[i] <= '9') i++;
    if (i == f) return 0;
  }
  if (i >= tn) return 0;
  int off_min = 0;
  if (t[i] == 'Z' || t[i] == 'z') {
    i++;
  } else if (t[i] == '+' || t[i] == '-') {
    int oh, om;
    if (tn - i != 6 || t[i + 3] != ':' || !digits(t + i + 1, 2, &oh) || !digits(t + i + 4, 2, &om)) return 0;
    if (oh > 23 || om > 59) return 0;
    off_min = (t[i] == '+' ? 1 : -1) * (oh * 60 + om);
    i += 6;
  } else {
    return 0;
  }
  if (i != tn) return 0;
  if (ss == 60) {
    int utc = ((hh * 60 + mm - off_min) % 1440 + 1440) % 1440;
    if (utc != 23 * 60 + 59) return 0;
  }
  return 1;
}

/* Dotted quad, each part 0..255 written without leading zeros. */
int format_is_ipv4(const char *s, size_t n) {
  /* One pass: four parts of 1-3 digits, no leading zero, at most 255, joined by dots. */
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  if (n < 7 || n > 15) return 0;
  for (int part = 0; part < 4; part++) {
    if (part > 0) {
      if (p == end || *p != '.') return 0;
      p++;
    }
    unsigned d0, d1, d2;
    if (p == end || (d0 = (unsigned)(*p - '0')) > 9) return 0;
    p++;
    if (p == end || (d1 = (unsigned)(*p - '0')) > 9) continue;
    if (d0 == 0) return 0; /* leading zero */
    p++;
    if (p == end || (d2 = (unsigned)(*p - '0')) > 9) continue;
    if (d0 * 100 + d1 * 10 + d2 > 255) return 0;
    p++;
  }
  return p == end;
}

/* RFC 4291 text forms (with :: and an embedded IPv4 tail), no zone id: inet_pton. */
int format_is_ipv6(const char *s, size_t n) {
  char tmp[64];
  if (n == 0 || n >= sizeof tmp || memchr(s, '\0', n) || memchr(s, '%', n)) return 0;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  unsigned char out[16];
  return inet_pton(AF_INET6, tmp, out) == 1;
}

static int is_hex(char c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

/* 8-4-4-4-12 hexadecimal digits, either case. */
int format_is_uuid(const char *s, size_t n) {
  if (n != 36) return 0;
  for (size_t i = 0; i < n; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return 0;
    } else if (!is_hex(s[i])) {
      return 0;
    }
  }
  return 1;
}

/* Base64 (RFC 4648 section 4, standard alphabet, padded). */
int format_is_byte(const char *s, size_t n) {
  if (n % 4) return 0;
  size_t pad = 0;
  if (n >= 1 && s[n - 1] == '=') pad++;
  if (n >= 2 && s[n - 2] == '=') pad++;
  for (size_t i = 0; i < n - pad; i++) {
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
      return 0;
  }
  return 1;
}

static int is_atext(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         (c && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

static int is_hostname(const char *s, size_t n) {
  if (n == 0 || n > 253) return 0;
  size_t label = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == '.') {
      if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-') return 0;
      label = 0;
      continue;
    }
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return 0;
    label++;
  }
  return 1;
}

/* RFC 5321 mailbox: dot-atom or quoted local part (<= 64), '@', a host name or an address
 * literal [1.2.3.4] / [IPv6:...]. ASCII only (internationalized mail is idn-email). */
int format_is_email(const char *s, size_t n) {
  if (n == 0 || n > 254) return 0;
  size_t at;
  size_t i = 0;
  if (s[0] == '"') {
    for (i = 1; i < n && s[i] != '"'; i++) {
      if (s[i] == '\\') i++;
      else if ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126) return 0;
    }
    if (i >= n) return 0;
    at = i + 1;
    if (at >= n || s[at] != '@') return 0;
  } else {
    for (i = 0; i < n && s[i] != '@'; i++) {
      if (s[i] == '.') {
        if (i == 0 || s[i - 1] == '.') return 0;
      } else if (!is_atext(s[i])) {
        return 0;
      }
    }
    if (i == 0 || i >= n || s[i - 1] == '.') return 0;
    at = i;
  }
  if (at > 64) return 0;
  const char *d = s + at + 1;
  size_t dn = n - at - 1;
  if (dn >= 2 && d[0] == '[' && d[dn - 1] == ']') {
    if (dn > 7 && strncmp(d + 1, "IPv6:", 5) == 0) return format_is_ipv6(d + 6, dn - 7);
    return format_is_ipv4(d + 1, dn - 2);
  }
  return is_hostname(d, dn);
}

int schema_format_check(schema_fmt f, const char *s, size_t n) {
  switch (f) {
    case FMT_NONE: return 1;
    case FMT_DATE_TIME: return format_is_date_time(s, n);
    case FMT_DATE: return format_is_date(s, n);
    case FMT_IPV4: return format_is_ipv4(s, n);
    case FMT_IPV6: return format_is_ipv6(s, n);
    case FMT_UUID: return format_is_uuid(s, n);
    case FMT_BYTE: return format_is_byte(s, n);
    case FMT_EMAIL: return format_is_email(s, n);
  }
  return 1;
}

/* Value-based integer test on the number's text: the significant digits shifted by the
 * exponent leave no fraction. Exact, whatever the magnitude. */
static int integral_by_value(const char *s, size_t n) {
  size_t i = 0;
  if (i < n && s[i] == '-') i++;
  size_t ds = i;
  while (i < n && s[i] >= '0' && s[i] <= '9') i++;
  size_t int_end = i;
  size_t frac_start = i, frac_end = i;
  if (i < n && s[i] == '.') {
    frac_start = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    frac_end = i;
  }
  long long exp = 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      if (exp < 1000000000LL) exp = exp * 10 + (s[i] - '0');
      i++;
    }
    if (neg) exp = -exp;
  }
  /* Position of the last non-zero digit, counted as a power of ten. */
  long long last_nonzero_pow = 0;
  int any_nonzero = 0;
  for (size_t k = frac_end; k-- > frac_start;)
    if (s[k] != '0') {
      last_nonzero_pow = -(long long)(k - frac_start + 1);
      any_nonzero = 1;
      break;
    }
  if (!any_nonzero) {
    for (size_t k = int_end; k-- > ds;)
      if (s[k] != '0') {
        last_nonzero_pow = (long long)(int_end - 1 - k);
        any_nonzero = 1;
        break;
      }
  }
  if (!any_nonzero) return 1; /* zero */
  return last_nonzero_pow + exp >= 0;
}

int schema_number_is_integer(const json_value *v, int strict) {
  if (json_is_integer(v)) return 1;
  return strict ? 0 : integral_by_value(v->s, v->n);
}

static int numbers_equal(const json_value *a, const json_value *b) {
  int64_t ia, ib;
  if (json_as_int64(a, &ia) == 0 && json_as_int64(b, &ib) == 0) return ia == ib;
  if (a->n == b->n && memcmp(a->s, b->s, a->n) == 0) return 1;
  double da, db;
  if (json_as_double(a, &da) != 0 || json_as_double(b, &db) != 0) return 0;
  return da == db;
}

int schema_json_equal(const json_value *a, const json_value *b, uint64_t *steps) {
  (*steps)++;
  if (a->type != b->type) return 0;
  switch (a->type) {
    case JSON_NULL:
    case JSON_TRUE:
    case JSON_FALSE: return 1;
    case JSON_NUMBER: return numbers_equal(a, b);
    case JSON_STRING: return a->n == b->n && memcmp(a->s, b->s, a->n) == 0;
    case JSON_ARRAY: {
      if (a->n != b->n) return 0;
      const json_value *y = b->child;
      for (const json_value *x = a->child; x; x = x->next, y = y->next)
        if (!y || !schema_json_equal(x, y, steps)) return 0;
      return 1;
    }
    case JSON_OBJECT: {
      if (a->n != b->n) return 0;
      for (const json_value *x = a->child; x; x = x->next) {
        const json_value *y = b->child;
        for (; y; y = y->next) {
          (*steps)++;
          if (y->key_len == x->key_len && memcmp(y->key, x->key, x->key_len) == 0) break;
        }
        if (!y || !schema_json_equal(x, y, steps)) return 0;
      }
      return 1;
    }
  }
  return 0;
}

/* ---- paths ----------------------------------------------------------------------------- */

typedef struct pathbuf {
  char *out;
  size_t cap, len;
  int truncated;
} pathbuf;

static void pb_put(pathbuf *pb, const char *s, size_t n) {
  if (pb->truncated) return;
  if (pb->len + n + 4 > pb->cap) { /* keep room for "..." */
    pb->truncated = 1;
    return;
  }
  memcpy(pb->out + pb->len, s, n);
  pb->len += n;
}

static int plain_key(const char *k, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = k[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '$' || c == '@'))
      return 0;
  }
  return 1;
}

static void render_seg(pathbuf *pb, const schema_path *p, int depth) {
  if (!p) return;
  if (depth > 4096) { /* deeper than any data the parser accepts: elide */
    pb->truncated = 1;
    return;
  }
  render_seg(pb, p->up, depth + 1);
  char tmp[32];
  if (!p->key) {
    int n = snprintf(tmp, sizeof tmp, "[%u]", p->index);
    pb_put(pb, tmp, (size_t)n);
  } else if (plain_key(p->key, p->klen)) {
    pb_put(pb, ".", 1);
    pb_put(pb, p->key, p->klen);
  } else {
    pb_put(pb, "[\"", 2);
    for (uint32_t i = 0; i < p->klen; i++) {
      unsigned char c = (unsigned char)p->key[i];
      if (c == '"' || c == '\\') {
        tmp[0] = '\\';
        tmp[1] = (char)c;
        pb_put(pb, tmp, 2);
      } else if (c < 0x20 || c == 0x7f) {
        int n = snprintf(tmp, sizeof tmp, "\\u%04x", c);
        pb_put(pb, tmp, (size_t)n);
      } else {
        pb_put(pb, (const char *)&p->key[i], 1);
      }
    }
    pb_put(pb, "\"]", 2);
  }
}

size_t schema_path_render(const char *root, const schema_path *p, char *out, size_t cap) {
  if (cap == 0) return 0;
  pathbuf pb = {out, cap, 0, 0};
  if (cap < 8) {
    out[0] = '\0';
    return 0;
  }
  pb_put(&pb, root, strlen(root));
  render_seg(&pb, p, 0);
  if (pb.truncated) {
    memcpy(out + pb.len, "...", 3);
    pb.len += 3;
  }
  out[pb.len] = '\0';
  return pb.len;
}
