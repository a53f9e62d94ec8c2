/* benchlib: shared pieces of the benchmark tools; see benchlib.h. */
#include "benchlib.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- time --------------------------------------------------------------------------- */

/* Monotonic clock in ns. */
uint64_t bench_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wall clock in ns since the epoch. */
int64_t bench_wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Write 'digits' decimal digits of v into p, zero-padded. */
static void put_digits(char *p, unsigned digits, uint64_t v) {
  for (unsigned i = digits; i-- > 0;) {
    p[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

/* RFC 3339 UTC with 9 fraction digits; exactly BENCH_RFC3339_LEN bytes. Uses the civil-
 * from-days algorithm (H. Hinnant) so no libc call or lock is involved per event. */
void bench_rfc3339(int64_t t_ns, char out[BENCH_RFC3339_LEN]) {
  int64_t secs = t_ns / 1000000000ll;
  int64_t frac = t_ns % 1000000000ll;
  if (frac < 0) {
    frac += 1000000000ll;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    days -= 1;
  }
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y += 1;
  put_digits(out, 4, (uint64_t)y);
  out[4] = '-';
  put_digits(out + 5, 2, (uint64_t)m);
  out[7] = '-';
  put_digits(out + 8, 2, (uint64_t)d);
  out[10] = 'T';
  put_digits(out + 11, 2, (uint64_t)(sod / 3600));
  out[13] = ':';
  put_digits(out + 14, 2, (uint64_t)(sod / 60 % 60));
  out[16] = ':';
  put_digits(out + 17, 2, (uint64_t)(sod % 60));
  out[19] = '.';
  put_digits(out + 20, 9, (uint64_t)frac);
  out[29] = 'Z';
}

/* RFC 3339 through a one-entry cache of the "YYYY-MM-DDTHH:MM:SS." part. */
void bench_rfc3339_cached(bench_time_cache *cache, int64_t t_ns, char out[BENCH_RFC3339_LEN]) {
  int64_t sec = t_ns / 1000000000ll, frac = t_ns % 1000000000ll;
  if (frac < 0) {
    frac += 1000000000ll;
    sec -= 1;
  }
  if (!cache->valid || cache->sec != sec) {
    char full[BENCH_RFC3339_LEN];
    bench_rfc3339(t_ns, full);
    memcpy(cache->head, full, 20);
    cache->sec = sec;
    cache->valid = 1;
  }
  memcpy(out, cache->head, 20);
  put_digits(out + 20, 9, (uint64_t)frac);
  out[29] = 'Z';
}

/* Parse n decimal digits at p; -1 if any is not a digit. */
static int64_t get_digits(const char *p, int n) {
  int64_t v = 0;
  for (int i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10 + (p[i] - '0');
  }
  return v;
}

/* RFC 3339 to ns; see benchlib.h. */
int bench_parse_rfc3339(const char *s, size_t n, int64_t *t_ns) {
  if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':')
    return -1;
  int64_t y = get_digits(s, 4), mo = get_digits(s + 5, 2), d = get_digits(s + 8, 2);
  int64_t h = get_digits(s + 11, 2), mi = get_digits(s + 14, 2), se = get_digits(s + 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      se < 0 || se > 60)
    return -1;
  size_t i = 19;
  int64_t frac = 0;
  if (i < n && s[i] == '.') {
    i++;
    int nd = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      if (nd < 9) {
        frac = frac * 10 + (s[i] - '0');
        nd++;
      }
      i++;
    }
    if (nd == 0) return -1;
    while (nd++ < 9) frac *= 10;
  }
  int64_t off = 0;
  if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i + 6 <= n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int64_t oh = get_digits(s + i + 1, 2), om = get_digits(s + i + 4, 2);
    if (oh < 0 || om < 0) return -1;
    off = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return -1;
  }
  if (i != n) return -1;
  /* days from civil (H. Hinnant) */
  int64_t yy = y - (mo <= 2);
  int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
  int64_t yoe = yy - era * 400;
  int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - off;
  *t_ns = secs * 1000000000ll + frac;
  return 0;
}

/* ---- PRNG --------------------------------------------------------------------------- */

void bench_rng_seed(bench_rng *r, uint64_t seed) {
  /* splitmix64 of the seed, never 0 */
  uint64_t z = seed + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  r->s = z ? z : 0x2545f4914f6cdd1dull;
}

uint64_t bench_rng_next(bench_rng *r) {
  uint64_t x = r->s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->s = x;
  return x * 0x2545f4914f6cdd1dull;
}

uint64_t bench_rng_below(bench_rng *r, uint64_t n) { return bench_rng_next(r) % n; }

/* ---- Magma-shaped events ------------------------------------------------------------- */

typedef struct magma_type {
  const char *name;
  const char *stream;
  const char *severity;
} magma_type;

/* Magma's gateway event types (lte/gateway, orc8r/gateway event specs). */
static const magma_type k_magma_types[] = {
    {"session_created", "sessiond", "INFO"},
    {"session_terminated", "sessiond", "INFO"},
    {"attach_success", "mme", "INFO"},
    {"detach_success", "mme", "INFO"},
    {"session_updated", "sessiond", "INFO"},
    {"s1_setup_success", "mme", "INFO"},
    {"processed_updates", "magmad", "DEBUG"},
    {"restarted_services", "magmad", "WARN"},
    {"session_create_failure", "sessiond", "ERROR"},
    {"established_sync_rpc_stream", "magmad", "INFO"},
    {"disconnected_sync_rpc_stream", "magmad", "WARN"},
    {"updated_stored_mconfig", "magmad", "INFO"},
    {"session_update_failure", "sessiond", "ERROR"},
    {"attach_failure", "mme", "ERROR"},
};
#define N_MAGMA_TYPES (sizeof k_magma_types / sizeof k_magma_types[0])

/* Name of type i; tmp holds it when it is synthesized. */
const char *bench_type_name(unsigned i, char tmp[64]) {
  if (i < N_MAGMA_TYPES) return k_magma_types[i].name;
  snprintf(tmp, 64, "custom_event_%u", i);
  return tmp;
}

const char *bench_type_stream(unsigned i) {
  return i < N_MAGMA_TYPES ? k_magma_types[i].stream : "app";
}

static const char *type_severity(unsigned i) {
  return i < N_MAGMA_TYPES ? k_magma_types[i].severity : "INFO";
}

void bench_tag(unsigned n, char out[BENCH_TAG_LEN + 1]) {
  snprintf(out, BENCH_TAG_LEN + 1, "IMSI00101%010u", n);
}

static const char *const k_apns[] = {"internet", "magma.ipv4", "ims", "oai.ipv4", "iot.m2m"};

/* One Magma-shaped NDJSON line; see benchlib.h. About 350-380 bytes. */
int bench_gen_event(bench_rng *r, unsigned ntypes, unsigned ntags, int with_time, char *out,
                    size_t cap, size_t *len, size_t *time_off, size_t tag_off[2]) {
  char tmp[64], tag[BENCH_TAG_LEN + 1];
  unsigned t = (unsigned)bench_rng_below(r, ntypes ? ntypes : 1);
  bench_tag((unsigned)bench_rng_below(r, ntags ? ntags : 1), tag);
  unsigned gw = (unsigned)bench_rng_below(r, 64);
  size_t at = *len;
  int k = snprintf(out + at, cap - at, "{\"stream\":\"%s\",\"type\":\"%s\",\"tag\":\"%s\",",
                   bench_type_stream(t), bench_type_name(t, tmp), tag);
  if (k < 0 || (size_t)k >= cap - at) return -1;
  tag_off[0] = at + (size_t)k - 2 - BENCH_TAG_LEN;
  at += (size_t)k;
  if (with_time) {
    static const char ph[] = "\"time\":\"2000-01-01T00:00:00.000000000Z\",";
    if (sizeof ph - 1 >= cap - at) return -1;
    memcpy(out + at, ph, sizeof ph - 1);
    *time_off = at + 8;
    at += sizeof ph - 1;
  }
  long long pdp = 1700000000ll + (long long)bench_rng_below(r, 30000000);
  int prefix = snprintf(NULL, 0, "\"source\":\"agw-%03u\",\"severity\":\"%s\",\"data\":{\"imsi\":\"",
                        gw, type_severity(t));
  k = snprintf(out + at, cap - at,
               "\"source\":\"agw-%03u\",\"severity\":\"%s\",\"data\":{\"imsi\":\"%s\","
               "\"apn\":\"%s\",\"ip_addr\":\"192.168.%u.%u\",\"msisdn\":\"1555%07u\","
               "\"pdp_start_time\":%lld},"
               "\"labels\":{\"gateway_id\":\"agw-%03u\",\"network_id\":\"lte-net-%u\"}}\n",
               gw, type_severity(t), tag, k_apns[bench_rng_below(r, 5)],
               (unsigned)bench_rng_below(r, 256), (unsigned)bench_rng_below(r, 254) + 1,
               (unsigned)bench_rng_below(r, 10000000), pdp, gw, gw / 8);
  if (k < 0 || (size_t)k >= cap - at) return -1;
  tag_off[1] = at + (size_t)prefix;
  *len = at + (size_t)k;
  return 0;
}

void bench_patch_tag(char *p, unsigned n) { put_digits(p + 9, 10, n); }

/* ---- HTTP/1.1 responses ------------------------------------------------------------- */

/* Case-insensitive: does header line [p, p+n) start with name followed by ':'? If so,
 * returns a pointer to the trimmed value and its length in *vlen. */
static const char *header_value(const char *p, size_t n, const char *name, size_t *vlen) {
  size_t nl = strlen(name);
  if (n <= nl || p[nl] != ':' || strncasecmp(p, name, nl) != 0) return NULL;
  const char *v = p + nl + 1, *e = p + n;
  while (v < e && (*v == ' ' || *v == '\t')) v++;
  while (e > v && (e[-1] == ' ' || e[-1] == '\t')) e--;
  *vlen = (size_t)(e - v);
  return v;
}

/* Parse a decimal size_t from [p, p+n); -1 if not all digits or empty. */
static int parse_size(const char *p, size_t n, size_t *out) {
  if (n == 0 || n > 18) return -1;
  size_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10 + (size_t)(p[i] - '0');
  }
  *out = v;
  return 0;
}

/* Find "\r\n" in [p, e); NULL if absent. */
static const char *find_crlf(const char *p, const char *e) {
  for (; p + 1 < e; p++)
    if (p[0] == '\r' && p[1] == '\n') return p;
  return NULL;
}

/* Walk chunked framing starting at buf+off; see http_resp_parse for returns. */
static int walk_chunks(const char *buf, size_t n, size_t off, http_resp *r, char *err,
                       size_t errlen) {
  const char *e = buf + n, *p = buf + off;
  size_t body = 0;
  for (;;) {
    const char *le = find_crlf(p, e);
    if (!le) return 0;
    size_t sz = 0;
    const char *q = p;
    int nd = 0;
    for (; q < le; q++) {
      int c = *q, v;
      if (c >= '0' && c <= '9') v = c - '0';
      else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
      else break;
      if (++nd > 15) {
        snprintf(err, errlen, "chunk size too long");
        return -1;
      }
      sz = sz * 16 + (size_t)v;
    }
    if (nd == 0 || (q < le && *q != ';')) {
      snprintf(err, errlen, "bad chunk size line");
      return -1;
    }
    p = le + 2;
    if (sz == 0) {
      /* trailers until an empty line */
      for (;;) {
        const char *te = find_crlf(p, e);
        if (!te) return 0;
        int empty = te == p;
        p = te + 2;
        if (empty) break;
      }
      r->body_len = body;
      r->total = (size_t)(p - buf);
      return 1;
    }
    if ((size_t)(e - p) < sz + 2) return 0;
    if (p[sz] != '\r' || p[sz + 1] != '\n') {
      snprintf(err, errlen, "chunk not followed by CRLF");
      return -1;
    }
    body += sz;
    p += sz + 2;
  }
}

/* Parse one HTTP/1.1 response at buf; see benchlib.h. */
int http_resp_parse(const char *buf, size_t n, http_resp *r, char *err, size_t errlen) {
  const char *e = buf + n;
  const char *head_end = NULL;
  for (const char *p = buf; p + 3 < e; p++) {
    if (p[0] == '\r' && p[1] == '\n' && p[2] == '\r' && p[3] == '\n') {
      head_end = p;
      break;
    }
  }
  if (!head_end) {
    if (n > 65536) {
      snprintf(err, errlen, "response head longer than 64 KiB");
      return -1;
    }
    return 0;
  }
  memset(r, 0, sizeof *r);
  r->retry_after = -1;
  if (n < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ') {
    snprintf(err, errlen, "not an HTTP/1.x status line");
    return -1;
  }
  int http10 = buf[7] == '0';
  r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
  if (r->status < 100 || r->status > 599) {
    snprintf(err, errlen, "bad status code");
    return -1;
  }
  const char *line = find_crlf(buf, head_end + 2) + 2;
  int have_len = 0, keepalive = 0;
  size_t clen = 0;
  while (line < head_end + 2) {
    const char *le = find_crlf(line, head_end + 2);
    size_t ln = (size_t)(le - line), vl;
    const char *v;
    if ((v = header_value(line, ln, "Content-Length", &vl))) {
      if (parse_size(v, vl, &clen) != 0) {
        snprintf(err, errlen, "bad Content-Length");
        return -1;
      }
      have_len = 1;
    } else if ((v = header_value(line, ln, "Transfer-Encoding", &vl))) {
      if (vl >= 7 && strncasecmp(v + vl - 7, "chunked", 7) == 0) r->chunked = 1;
    } else if ((v = header_value(line, ln, "Connection", &vl))) {
      if (vl == 5 && strncasecmp(v, "close", 5) == 0) r->close = 1;
      if (vl == 10 && strncasecmp(v, "keep-alive", 10) == 0) keepalive = 1;
    } else if ((v = header_value(line, ln, "Retry-After", &vl))) {
      size_t ra;
      if (parse_size(v, vl, &ra) == 0 && ra < 3600) r->retry_after = (int)ra;
    }
    line = le + 2;
  }
  if (http10 && !keepalive) r->close = 1;
  r->body_off = (size_t)(head_end + 4 - buf);
  if (r->status == 204 || r->status == 304 || r->status < 200) {
    r->total = r->body_off;
    return 1;
  }
  if (r->chunked) return walk_chunks(buf, n, r->body_off, r, err, errlen);
  if (!have_len) {
    snprintf(err, errlen, "response has neither Content-Length nor chunked encoding");
    return -1;
  }
  if (n - r->body_off < clen) return 0;
  r->body_len = clen;
  r->total = r->body_off + clen;
  return 1;
}

/* De-chunk (or copy) the body; see benchlib.h. */
size_t http_resp_body(const char *buf, const http_resp *r, char *out) {
  if (!r->chunked) {
    memcpy(out, buf + r->body_off, r->body_len);
    out[r->body_len] = '\0';
    return r->body_len;
  }
  const char *p = buf + r->body_off;
  size_t at = 0;
  for (;;) {
    size_t sz = strtoul(p, NULL, 16);
    p = strstr(p, "\r\n") + 2;
    if (sz == 0) break;
    memcpy(out + at, p, sz);
    at += sz;
    p += sz + 2;
  }
  out[at] = '\0';
  return at;
}

/* ---- latency sample ----------------------------------------------------------------- */

int lat_add(lat_sample *s, uint64_t us) {
  if (s->n == s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 4096;
    uint32_t *nv = realloc(s->v, ncap * sizeof *nv);
    if (!nv) return -1;
    s->v = nv;
    s->cap = ncap;
  }
  s->v[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
  s->sorted = 0;
  return 0;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static void lat_sort(lat_sample *s) {
  if (!s->sorted) {
    qsort(s->v, s->n, sizeof *s->v, cmp_u32);
    s->sorted = 1;
  }
}

/* Nearest-rank quantile in ms. */
double lat_quantile_ms(lat_sample *s, double p) {
  if (s->n == 0) return 0;
  lat_sort(s);
  size_t rank = (size_t)(p * (double)s->n + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > s->n) rank = s->n;
  return s->v[rank - 1] / 1000.0;
}

double lat_max_ms(lat_sample *s) {
  if (s->n == 0) return 0;
  lat_sort(s);
  return s->v[s->n - 1] / 1000.0;
}

double lat_mean_ms(const lat_sample *s) {
  if (s->n == 0) return 0;
  double sum = 0;
  for (size_t i = 0; i < s->n; i++) sum += s->v[i];
  return sum / (double)s->n / 1000.0;
}

void lat_free(lat_sample *s) {
  free(s->v);
  memset(s, 0, sizeof *s);
}

/* ---- misc --------------------------------------------------------------------------- */

int bench_parse_addr(const char *s, char *host, size_t hostcap, int *port) {
  if (strncmp(s, "http://", 7) == 0) s += 7;
  const char *colon = strrchr(s, ':');
  if (!colon || colon == s) return -1;
  size_t hl = (size_t)(colon - s);
  if (hl >= hostcap) return -1;
  memcpy(host, s, hl);
  host[hl] = '\0';
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (p <= 0 || p > 65535 || (*end != '\0' && strcmp(end, "/") != 0)) return -1;
  *port = (int)p;
  return 0;
}

int bench_tcp_connect(const char *host, int port, int nonblocking, int *in_progress) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  char ps[16];
  snprintf(ps, sizeof ps, "%d", port);
  int rc = getaddrinfo(host, ps, &hints, &res);
  if (rc != 0 || !res) {
    errno = EHOSTUNREACH;
    return -1;
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) {
    freeaddrinfo(res);
    return -1;
  }
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (in_progress) *in_progress = 0;
  if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    if (nonblocking && errno == EINPROGRESS) {
      if (in_progress) *in_progress = 1;
    } else {
      int e = errno;
      close(fd);
      freeaddrinfo(res);
      errno = e;
      return -1;
    }
  }
  freeaddrinfo(res);
  return fd;
}

void bench_die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(2);
}
