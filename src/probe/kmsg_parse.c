/* kmsg_parse: the /dev/kmsg record parser (format in kmsg_parse.h). */
#include "probe/kmsg_parse.h"

#include <stdio.h>
#include <string.h>

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t kmsg_unescape(const char *in, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (in[i] == '\\' && i + 3 < n && in[i + 1] == 'x') {
      int hi = hexval(in[i + 2]), lo = hexval(in[i + 3]);
      if (hi >= 0 && lo >= 0) {
        out[o++] = (char)(hi << 4 | lo);
        i += 3;
        continue;
      }
    }
    out[o++] = in[i];
  }
  out[o] = '\0';
  return o;
}

/* Parse an unsigned decimal in s[*i..end) up to a delimiter; advance *i. 0 or -1. */
static int parse_u64(const char *s, size_t *i, size_t end, uint64_t *out) {
  size_t start = *i;
  uint64_t v = 0;
  while (*i < end && s[*i] >= '0' && s[*i] <= '9') {
    unsigned d = (unsigned)(s[*i] - '0');
    if (v > (UINT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
    (*i)++;
  }
  if (*i == start) return -1;
  *out = v;
  return 0;
}

static int fail(char *err, size_t cap, const char *msg) {
  if (err && cap) snprintf(err, cap, "%s", msg);
  return -1;
}

int kmsg_parse_record(const char *in, size_t n, char *scratch, kmsg_record *rec, char *err, size_t errcap) {
  memset(rec, 0, sizeof *rec);
  size_t i = 0;
  uint64_t prio, seq, ts;
  if (parse_u64(in, &i, n, &prio) < 0 || prio > 1023) return fail(err, errcap, "priority is not a number 0-1023");
  if (i >= n || in[i] != ',') return fail(err, errcap, "missing ',' after the priority");
  i++;
  if (parse_u64(in, &i, n, &seq) < 0) return fail(err, errcap, "sequence number is not a number");
  if (i >= n || in[i] != ',') return fail(err, errcap, "missing ',' after the sequence number");
  i++;
  if (parse_u64(in, &i, n, &ts) < 0) return fail(err, errcap, "timestamp is not a number");
  if (i >= n || (in[i] != ',' && in[i] != ';')) return fail(err, errcap, "missing ',' after the timestamp");
  char flag = '-';
  if (in[i] == ',') {
    i++;
    if (i < n && in[i] != ';' && in[i] != ',') flag = in[i];
  }
  /* Skip flags and any future fields up to ';' (never past the first newline). */
  while (i < n && in[i] != ';' && in[i] != '\n') i++;
  if (i >= n || in[i] != ';') return fail(err, errcap, "missing ';' after the record header");
  i++;
  size_t msg_end = i;
  while (msg_end < n && in[msg_end] != '\n') msg_end++;
  rec->prio = (int)prio;
  rec->seq = seq;
  rec->ts_usec = ts;
  rec->flag = flag;
  size_t o = kmsg_unescape(in + i, msg_end - i, scratch);
  rec->text = scratch;
  rec->text_len = o;
  char *w = scratch + o + 1; /* dictionary after the text's NUL; total <= n + 1 */
  size_t p = msg_end;
  while (p < n) {
    p++; /* the '\n' */
    if (p >= n) break;
    size_t e = p;
    while (e < n && in[e] != '\n') e++;
    if (in[p] == ' ' && e > p + 1) {
      const char *line = in + p + 1;
      size_t len = e - p - 1;
      const char *eq = memchr(line, '=', len);
      if (eq && eq > line) {
        if (rec->ndict < KMSG_MAX_DICT) {
          size_t klen = (size_t)(eq - line);
          /* key: the ' ' slot before it is reused for the key's NUL budget */
          memcpy(w, line, klen);
          w[klen] = '\0';
          rec->dict[rec->ndict].key = w;
          w += klen + 1;
          size_t vlen = kmsg_unescape(eq + 1, len - klen - 1, w);
          rec->dict[rec->ndict].value = w;
          w += vlen + 1;
          rec->ndict++;
        } else {
          rec->dict_dropped++;
        }
      }
    }
    p = e;
  }
  return 0;
}
