/* benchlib: what the benchmark tools (loadgen, querybench) share — an HTTP/1.1 response
 * parser, a latency sample with percentiles, a small PRNG, the Magma-shaped event
 * generator, and a few time helpers.
 *
 * The tools are plain HTTP clients of eventd: they do not link any daemon code, so they
 * measure exactly what a remote producer or operator would see (docs/api.md). */
#ifndef EVD_BENCHLIB_H
#define EVD_BENCHLIB_H

#include <stddef.h>
#include <stdint.h>

/* ---- time --------------------------------------------------------------------------- */

/* CLOCK_MONOTONIC in ns. */
uint64_t bench_mono_ns(void);
/* CLOCK_REALTIME in ns since the epoch. */
int64_t bench_wall_ns(void);
/* Write t (ns since the epoch, UTC) as RFC 3339 with 9 fraction digits into out[0..30):
 * "2024-11-21T08:30:00.123456789Z" — exactly BENCH_RFC3339_LEN bytes, no NUL. */
#define BENCH_RFC3339_LEN 30
void bench_rfc3339(int64_t t_ns, char out[BENCH_RFC3339_LEN]);
/* The same, reusing the date-and-seconds part of the previous call with the same cache
 * when the second is the same (the common case within a batch). Zero-initialize *cache. */
typedef struct bench_time_cache {
  int64_t sec;
  int valid;
  char head[20];
} bench_time_cache;
void bench_rfc3339_cached(bench_time_cache *cache, int64_t t_ns, char out[BENCH_RFC3339_LEN]);
/* Parse "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" to ns since the epoch.
 * Returns 0, or -1 if s[0..n) is not in that form. */
int bench_parse_rfc3339(const char *s, size_t n, int64_t *t_ns);

/* ---- PRNG (xorshift64*; deterministic per seed) ------------------------------------- */

typedef struct bench_rng {
  uint64_t s;
} bench_rng;

void bench_rng_seed(bench_rng *r, uint64_t seed);
uint64_t bench_rng_next(bench_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t bench_rng_below(bench_rng *r, uint64_t n);

/* ---- Magma-shaped events ------------------------------------------------------------- */

/* The i-th event type (0 <= i < ntypes) and the stream it belongs to. The first types are
 * Magma's own (sessiond, mme, magmad); past those, "custom_event_<i>" in stream "app".
 * The strings are static. */
const char *bench_type_name(unsigned i, char tmp[64]);
const char *bench_type_stream(unsigned i);
/* The tag for subscriber number n: "IMSI00101" + 10 digits (an IMSI, 19 bytes). */
#define BENCH_TAG_LEN 19
void bench_tag(unsigned n, char out[BENCH_TAG_LEN + 1]);

/* Append one NDJSON line (with the trailing '\n') for a Magma-shaped event of a random type
 * in [0, ntypes) and a random tag in [0, ntags) to out (capacity cap, at offset *len).
 * When with_time, the event has a "time" member whose value is a placeholder of
 * BENCH_RFC3339_LEN bytes at *time_off (relative to out) for bench_rfc3339 to fill in.
 * The tag appears twice (as "tag" and as data.imsi); tag_off[0..1] get the offsets of the
 * two copies, so bench_patch_tag can give a reused line another subscriber.
 * Returns 0, or -1 if it does not fit in cap. */
int bench_gen_event(bench_rng *r, unsigned ntypes, unsigned ntags, int with_time, char *out,
                    size_t cap, size_t *len, size_t *time_off, size_t tag_off[2]);
/* Overwrite the tag at p (BENCH_TAG_LEN bytes, as written by bench_tag) with subscriber n. */
void bench_patch_tag(char *p, unsigned n);

/* ---- HTTP/1.1 responses ------------------------------------------------------------- */

typedef struct http_resp {
  int status;            /* e.g. 200 */
  size_t total;          /* bytes of the whole response (head + body, chunked framing incl.) */
  size_t body_off;       /* offset of the body (for chunked: of the first chunk's size line) */
  size_t body_len;       /* Content-Length, or the sum of chunk sizes */
  int chunked;
  int close;             /* "Connection: close" */
  int retry_after;       /* Retry-After seconds, -1 when absent */
} http_resp;

/* Parse the response at the start of buf[0..n). Returns 1 when complete (*r filled),
 * 0 when more bytes are needed, -1 when the bytes are not a valid HTTP/1.1 response
 * (a message in err). A response without Content-Length or chunked encoding is refused
 * (-1): eventd always sends one of them. */
int http_resp_parse(const char *buf, size_t n, http_resp *r, char *err, size_t errlen);

/* Copy the body of a complete response (de-chunked) into out, which must hold
 * r->body_len + 1 bytes; NUL-terminates. Returns the body length. */
size_t http_resp_body(const char *buf, const http_resp *r, char *out);

/* ---- latency sample ----------------------------------------------------------------- */

/* Every observation kept (µs), sorted on demand: exact percentiles. */
typedef struct lat_sample {
  uint32_t *v;
  size_t n, cap;
  int sorted;
} lat_sample;

/* Add one observation; returns 0 or -1 when out of memory. */
int lat_add(lat_sample *s, uint64_t us);
/* The p-quantile (0..1, nearest-rank) in ms; 0 when empty. Sorts the sample. */
double lat_quantile_ms(lat_sample *s, double p);
double lat_max_ms(lat_sample *s);
double lat_mean_ms(const lat_sample *s);
void lat_free(lat_sample *s);

/* ---- misc --------------------------------------------------------------------------- */

/* Split "HOST:PORT" or "http://HOST:PORT[/]" into host (cap hostcap) and port.
 * Returns 0 or -1 if malformed. */
int bench_parse_addr(const char *s, char *host, size_t hostcap, int *port);
/* Non-blocking-or-not TCP connection to host:port with TCP_NODELAY.
 * Returns the fd or -1 with errno set (and for non-blocking, connect may be in progress:
 * *in_progress is set to 1). */
int bench_tcp_connect(const char *host, int port, int nonblocking, int *in_progress);
/* Print the error message and exit(2) — only for command-line and set-up errors. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
