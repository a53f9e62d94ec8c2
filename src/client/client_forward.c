/* client_forward.c — the forward:// transport: Fluentd Forward Protocol v1 with acks.
 *
 * A batch (the NDJSON lines the worker would POST) is sent as one Forward-mode message
 *
 *   [tag, [[EventTime, record], ...], {"size": n, "chunk": "<base64 of 16 random bytes>"}]
 *
 * and counts as delivered only when the server answers {"ack": "<the same chunk>"} — eventd's
 * forward input acks after the events are durable, like the 200 of POST /v1/events. No ack
 * before request_timeout_ms, a closed connection or a different chunk is a failure: the batch
 * is sent again later (same event ids, so eventd stores it once).
 *
 * Each event's JSON object becomes the record map, member for member (JSON values converted
 * to msgpack: strings, integers that fit 64 bits, other numbers as float64, true/false/null,
 * arrays, maps), except:
 *   time      → the entry's EventTime (ext type 0: u32 seconds, u32 nanoseconds), exact;
 *   severity  → its text (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) — eventd's forward mapping
 *               takes severity names; the sub-level within a range (e.g. WARN2) is lost;
 *   stream    → always present ("default" when the event has none), so that eventd's tag
 *               rule does not turn the tag into the stream.
 * Members eventd's forward mapping does not know (resource, state) arrive in the stored
 * event's data under "_record" (docs/inputs.md, forward mapping). No handshake (shared key)
 * and no TLS: for a local eventd/Fluent Bit. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_internal.h"

struct evc_fwd {
  char *host, *tag;
  int port;
  int fd;
  int connect_timeout_ms, request_timeout_ms;
  evc_buf msg, in, tmp;
};

/* ---- msgpack writing ---------------------------------------------------------------------- */

static void be16(evc_buf *b, unsigned v) {
  unsigned char t[2] = {(unsigned char)(v >> 8), (unsigned char)v};
  evc_buf_add(b, t, 2);
}
static void be32(evc_buf *b, uint32_t v) {
  unsigned char t[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                        (unsigned char)v};
  evc_buf_add(b, t, 4);
}
static void be64(evc_buf *b, uint64_t v) {
  be32(b, (uint32_t)(v >> 32));
  be32(b, (uint32_t)v);
}
static void patch32(evc_buf *b, size_t at, uint32_t v) {
  if (b->oom) return;
  unsigned char *p = (unsigned char *)b->p + at;
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static void mp_str(evc_buf *b, const char *s, size_t n) {
  if (n < 32) {
    evc_buf_addc(b, (char)(0xa0 | n));
  } else if (n < 256) {
    evc_buf_addc(b, (char)0xd9);
    evc_buf_addc(b, (char)n);
  } else if (n < 65536) {
    evc_buf_addc(b, (char)0xda);
    be16(b, (unsigned)n);
  } else {
    evc_buf_addc(b, (char)0xdb);
    be32(b, (uint32_t)n);
  }
  evc_buf_add(b, s, n);
}

static void mp_int(evc_buf *b, int64_t v) {
  if (v >= 0 && v < 128) {
    evc_buf_addc(b, (char)v);
  } else if (v < 0 && v >= -32) {
    evc_buf_addc(b, (char)(0xe0 | (v + 32)));
  } else {
    evc_buf_addc(b, (char)0xd3);
    be64(b, (uint64_t)v);
  }
}

/* ---- JSON text → msgpack ------------------------------------------------------------------ */

typedef struct jm {
  const char *s;
  size_t n, i;
  evc_buf *out;
  evc_buf *tmp;
  int depth;
} jm;

static void jm_ws(jm *j) {
  while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' ||
                         j->s[j->i] == '\r'))
    j->i++;
}

/* The raw text of the string at j->i (after its opening quote); j->i moves past it. */
static int jm_rawstr(jm *j, const char **p, size_t *n) {
  if (j->i >= j->n || j->s[j->i] != '"') return -1;
  size_t b = ++j->i;
  while (j->i < j->n && j->s[j->i] != '"') j->i += j->s[j->i] == '\\' ? 2 : 1;
  if (j->i >= j->n) return -1;
  *p = j->s + b;
  *n = j->i - b;
  j->i++;
  return 0;
}

static int jm_str(jm *j) {
  const char *p;
  size_t n;
  if (jm_rawstr(j, &p, &n) != 0) return -1;
  j->tmp->len = 0;
  if (evc_json_unescape(p, n, j->tmp) != 0) return -1;
  mp_str(j->out, j->tmp->p ? j->tmp->p : "", j->tmp->len);
  return 0;
}

static int jm_value(jm *j);

static int jm_container(jm *j, int is_map) {
  if (++j->depth > 128) return -1;
  j->i++;
  evc_buf_addc(j->out, (char)(is_map ? 0xdf : 0xdd));
  size_t at = j->out->len;
  be32(j->out, 0);
  uint32_t count = 0;
  jm_ws(j);
  if (j->i < j->n && j->s[j->i] == (is_map ? '}' : ']')) {
    j->i++;
    j->depth--;
    return 0;
  }
  for (;;) {
    jm_ws(j);
    if (is_map) {
      if (jm_str(j) != 0) return -1;
      jm_ws(j);
      if (j->i >= j->n || j->s[j->i] != ':') return -1;
      j->i++;
    }
    if (jm_value(j) != 0) return -1;
    count++;
    jm_ws(j);
    if (j->i >= j->n) return -1;
    if (j->s[j->i] == ',') {
      j->i++;
      continue;
    }
    if (j->s[j->i] != (is_map ? '}' : ']')) return -1;
    j->i++;
    break;
  }
  patch32(j->out, at, count);
  j->depth--;
  return 0;
}

static int jm_number(jm *j) {
  size_t b = j->i;
  int is_float = 0;
  while (j->i < j->n) {
    char c = j->s[j->i];
    if (c == '.' || c == 'e' || c == 'E') is_float = 1;
    else if (!(c == '-' || c == '+' || (c >= '0' && c <= '9'))) break;
    j->i++;
  }
  size_t l = j->i - b;
  if (l == 0) return -1;
  char small[64];
  char *t = l < sizeof small ? small : malloc(l + 1);
  if (t == NULL) return -1;
  memcpy(t, j->s + b, l);
  t[l] = '\0';
  if (!is_float) {
    errno = 0;
    char *e;
    long long v = strtoll(t, &e, 10);
    if (errno == 0 && *e == '\0') {
      mp_int(j->out, v);
      if (t != small) free(t);
      return 0;
    }
    errno = 0;
    unsigned long long u = strtoull(t, &e, 10);
    if (errno == 0 && *e == '\0' && t[0] != '-') {
      evc_buf_addc(j->out, (char)0xcf);
      be64(j->out, u);
      if (t != small) free(t);
      return 0;
    }
  }
  double d = strtod(t, NULL); /* beyond 64-bit integers: the nearest double */
  if (t != small) free(t);
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  evc_buf_addc(j->out, (char)0xcb);
  be64(j->out, bits);
  return 0;
}

static int jm_value(jm *j) {
  jm_ws(j);
  if (j->i >= j->n) return -1;
  char c = j->s[j->i];
  switch (c) {
    case '{': return jm_container(j, 1);
    case '[': return jm_container(j, 0);
    case '"': return jm_str(j);
    case 't':
      if (j->n - j->i < 4 || memcmp(j->s + j->i, "true", 4) != 0) return -1;
      j->i += 4;
      evc_buf_addc(j->out, (char)0xc3);
      return 0;
    case 'f':
      if (j->n - j->i < 5 || memcmp(j->s + j->i, "false", 5) != 0) return -1;
      j->i += 5;
      evc_buf_addc(j->out, (char)0xc2);
      return 0;
    case 'n':
      if (j->n - j->i < 4 || memcmp(j->s + j->i, "null", 4) != 0) return -1;
      j->i += 4;
      evc_buf_addc(j->out, (char)0xc0);
      return 0;
    default: return jm_number(j);
  }
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

/* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" (the form evc_buf_add_time writes) → seconds, ns. */
static int parse_time(const char *p, size_t n, uint64_t *sec, uint32_t *nsec) {
  if (n != 30) return -1;
  unsigned v[7];
  const int pos[7] = {0, 5, 8, 11, 14, 17, 20}, len[7] = {4, 2, 2, 2, 2, 2, 9};
  for (int k = 0; k < 7; k++) {
    v[k] = 0;
    for (int i = 0; i < len[k]; i++) {
      char c = p[pos[k] + i];
      if (c < '0' || c > '9') return -1;
      v[k] = v[k] * 10 + (unsigned)(c - '0');
    }
  }
  int64_t days = days_from_civil(v[0], v[1], v[2]);
  int64_t s = days * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
  if (s < 0 || s > (int64_t)UINT32_MAX) return -1;
  *sec = (uint64_t)s;
  *nsec = v[6];
  return 0;
}

static const char *sev_text(long n) {
  if (n <= 4) return "TRACE";
  if (n <= 8) return "DEBUG";
  if (n <= 12) return "INFO";
  if (n <= 16) return "WARN";
  if (n <= 20) return "ERROR";
  return "FATAL";
}

int evc_fwd_encode_entry(const char *line, size_t len, evc_buf *out, char *err, size_t errlen) {
  evc_buf rec = {0}, tmp = {0};
  jm j = {.s = line, .n = len, .out = &rec, .tmp = &tmp};
  uint64_t sec = (uint64_t)(evc_now_ns() / 1000000000);
  uint32_t nsec = 0;
  uint32_t count = 0;
  int have_stream = 0, rc = -1;
  evc_buf_addc(&rec, (char)0xdf);
  be32(&rec, 0);
  jm_ws(&j);
  if (j.i >= j.n || j.s[j.i] != '{') goto bad;
  j.i++;
  for (;;) {
    jm_ws(&j);
    if (j.i < j.n && j.s[j.i] == '}') break;
    const char *k;
    size_t kl;
    if (jm_rawstr(&j, &k, &kl) != 0) goto bad;
    jm_ws(&j);
    if (j.i >= j.n || j.s[j.i] != ':') goto bad;
    j.i++;
    jm_ws(&j);
    if (kl == 4 && memcmp(k, "time", 4) == 0) {
      const char *t;
      size_t tl;
      if (jm_rawstr(&j, &t, &tl) != 0 || parse_time(t, tl, &sec, &nsec) != 0) goto bad;
    } else if (kl == 8 && memcmp(k, "severity", 8) == 0) {
      long sv = strtol(j.s + j.i, NULL, 10);
      while (j.i < j.n && j.s[j.i] >= '0' && j.s[j.i] <= '9') j.i++;
      mp_str(&rec, "severity", 8);
      const char *st = sev_text(sv);
      mp_str(&rec, st, strlen(st));
      count++;
    } else {
      if (kl == 6 && memcmp(k, "stream", 6) == 0) have_stream = 1;
      mp_str(&rec, k, kl); /* our keys have no escapes */
      if (jm_value(&j) != 0) goto bad;
      count++;
    }
    jm_ws(&j);
    if (j.i < j.n && j.s[j.i] == ',') {
      j.i++;
      continue;
    }
    if (j.i < j.n && j.s[j.i] == '}') break;
    goto bad;
  }
  if (!have_stream) {
    mp_str(&rec, "stream", 6);
    mp_str(&rec, "default", 7);
    count++;
  }
  patch32(&rec, 1, count);
  if (rec.oom) goto bad;
  evc_buf_addc(out, (char)0x92); /* [time, record] */
  evc_buf_addc(out, (char)0xd7); /* fixext8, type 0: EventTime */
  evc_buf_addc(out, 0);
  be32(out, (uint32_t)sec);
  be32(out, nsec);
  evc_buf_add(out, rec.p, rec.len);
  rc = out->oom ? -1 : 0;
  if (rc != 0) snprintf(err, errlen, "out of memory encoding a forward entry");
  goto done;
bad:
  snprintf(err, errlen, "cannot encode an event for forward (at byte %zu)", j.i);
done:
  evc_buf_free(&rec);
  evc_buf_free(&tmp);
  return rc;
}

/* ---- the connection ----------------------------------------------------------------------- */

evc_fwd *evc_fwd_new(const char *host, int port, const char *tag, int connect_timeout_ms,
                     int request_timeout_ms) {
  evc_fwd *f = calloc(1, sizeof *f);
  if (f == NULL) return NULL;
  f->host = strdup(host);
  f->tag = strdup(tag);
  if (f->host == NULL || f->tag == NULL) {
    evc_fwd_free(f);
    errno = ENOMEM;
    return NULL;
  }
  f->port = port;
  f->fd = -1;
  f->connect_timeout_ms = connect_timeout_ms;
  f->request_timeout_ms = request_timeout_ms;
  return f;
}

static void fwd_disconnect(evc_fwd *f) {
  if (f->fd >= 0) close(f->fd);
  f->fd = -1;
}

void evc_fwd_free(evc_fwd *f) {
  if (f == NULL) return;
  fwd_disconnect(f);
  free(f->host);
  free(f->tag);
  evc_buf_free(&f->msg);
  evc_buf_free(&f->in);
  evc_buf_free(&f->tmp);
  free(f);
}

/* Read a msgpack str at p[*i..n): sets s/len. Returns 1 ok, 0 need more, -1 not a str. */
static int read_str(const unsigned char *p, size_t n, size_t *i, const char **s, size_t *len) {
  if (*i >= n) return 0;
  unsigned char c = p[*i];
  size_t hdr, l;
  if ((c & 0xe0) == 0xa0) {
    hdr = 1;
    l = c & 31;
  } else if (c == 0xd9) {
    if (*i + 2 > n) return 0;
    hdr = 2;
    l = p[*i + 1];
  } else if (c == 0xda) {
    if (*i + 3 > n) return 0;
    hdr = 3;
    l = (size_t)p[*i + 1] << 8 | p[*i + 2];
  } else {
    return -1;
  }
  if (*i + hdr + l > n) return 0;
  *s = (const char *)p + *i + hdr;
  *len = l;
  *i += hdr + l;
  return 1;
}

/* Parse {"ack": "<chunk>"} from the bytes received. Returns 1 matched, 0 need more, -1 bad. */
static int parse_ack(const evc_buf *in, const char *chunk) {
  const unsigned char *p = (const unsigned char *)in->p;
  size_t n = in->len, i = 0;
  if (n == 0) return 0;
  if ((p[0] & 0xf0) != 0x80) return -1;
  size_t pairs = p[0] & 15;
  i = 1;
  int matched = 0;
  for (size_t k = 0; k < pairs; k++) {
    const char *key, *val;
    size_t kl, vl;
    int r = read_str(p, n, &i, &key, &kl);
    if (r <= 0) return r;
    r = read_str(p, n, &i, &val, &vl);
    if (r <= 0) return r;
    if (kl == 3 && memcmp(key, "ack", 3) == 0)
      matched = vl == strlen(chunk) && memcmp(val, chunk, vl) == 0 ? 1 : -1;
  }
  return matched ? matched : -1;
}

static void make_chunk(char out[25]) {
  static const char b64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  unsigned char raw[18];
  uint64_t a = evc_random(), b = evc_random();
  memcpy(raw, &a, 8);
  memcpy(raw + 8, &b, 8);
  raw[16] = raw[17] = 0;
  for (int g = 0; g < 6; g++) {
    uint32_t v = (uint32_t)raw[3 * g] << 16 | (uint32_t)raw[3 * g + 1] << 8 | raw[3 * g + 2];
    out[4 * g] = b64[v >> 18 & 63];
    out[4 * g + 1] = b64[v >> 12 & 63];
    out[4 * g + 2] = b64[v >> 6 & 63];
    out[4 * g + 3] = b64[v & 63];
  }
  out[22] = out[23] = '='; /* 16 bytes → 22 characters + "==" */
  out[24] = '\0';
}

int evc_fwd_send(evc_fwd *f, const char *body, size_t len, size_t nlines, evc_idle_fn idle,
                 void *arg, char *err, size_t errlen) {
  char chunk[25];
  make_chunk(chunk);
  f->msg.len = 0;
  evc_buf_addc(&f->msg, (char)0x93);
  mp_str(&f->msg, f->tag, strlen(f->tag));
  evc_buf_addc(&f->msg, (char)0xdd);
  be32(&f->msg, (uint32_t)nlines);
  size_t lines = 0, at = 0;
  while (at < len) {
    const char *nl = memchr(body + at, '\n', len - at);
    size_t l = nl ? (size_t)(nl - (body + at)) : len - at;
    if (l && evc_fwd_encode_entry(body + at, l, &f->msg, err, errlen) != 0) return -1;
    if (l) lines++;
    at += l + 1;
  }
  if (lines != nlines) {
    snprintf(err, errlen, "forward: %zu lines in a batch of %zu", lines, nlines);
    return -1;
  }
  evc_buf_addc(&f->msg, (char)0x82);
  mp_str(&f->msg, "size", 4);
  mp_int(&f->msg, (int64_t)nlines);
  mp_str(&f->msg, "chunk", 5);
  mp_str(&f->msg, chunk, strlen(chunk));
  if (f->msg.oom) {
    f->msg.oom = 0;
    snprintf(err, errlen, "forward: out of memory");
    return -1;
  }
  int64_t deadline = evc_mono_ns() + (int64_t)f->request_timeout_ms * 1000000;
  for (int round = 0; round < 2; round++) {
    int reused = f->fd >= 0;
    if (!reused) {
      f->fd = evc_tcp_connect(f->host, f->port, f->connect_timeout_ms, deadline, idle, arg,
                              err, errlen);
      if (f->fd < 0) return -1;
    }
    int stale = 0;
    if (evc_tcp_send_all(f->fd, f->msg.p, f->msg.len, deadline, idle, arg, err, errlen) != 0) {
      stale = 1;
      goto failed;
    }
    f->in.len = 0;
    for (;;) {
      int a = parse_ack(&f->in, chunk);
      if (a == 1) return 0;
      if (a < 0) {
        snprintf(err, errlen, "forward %s:%d: unexpected answer (not our ack)", f->host, f->port);
        goto failed;
      }
      if (evc_buf_reserve(&f->in, 4096) != 0) {
        f->in.oom = 0;
        snprintf(err, errlen, "forward: out of memory");
        goto failed;
      }
      ssize_t r = recv(f->fd, f->in.p + f->in.len, 4096, 0);
      if (r > 0) {
        f->in.len += (size_t)r;
        continue;
      }
      if (r == 0) {
        stale = f->in.len == 0;
        snprintf(err, errlen, "forward %s:%d: connection closed without an ack", f->host,
                 f->port);
        goto failed;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        snprintf(err, errlen, "forward %s:%d: %s", f->host, f->port, strerror(errno));
        goto failed;
      }
      const char *why = NULL;
      int w = evc_wait_fd(f->fd, POLLIN, deadline, idle, arg, &why);
      if (w == 0) {
        snprintf(err, errlen, "forward %s:%d: no ack within %d ms", f->host, f->port,
                 f->request_timeout_ms);
        goto failed;
      }
      if (w < 0) {
        snprintf(err, errlen, "forward %s:%d: %s", f->host, f->port, why);
        goto failed;
      }
    }
  failed:
    fwd_disconnect(f);
    if (!(reused && stale)) return -1;
  }
  return -1;
}
