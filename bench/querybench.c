/* querybench: query latency benchmark for eventd (docs/performance.md).
 *
 * Issues GET requests one after another on one HTTP/1.1 keep-alive connection and reports
 * p50/p90/p99/max latency per scenario:
 *   page       GET /v1/events?type=T&since=S&until=S+1h&limit=100   (random type, random 1 h
 *              window inside the data's time range)
 *   tag        GET /v1/events?tag=IMSI...&limit=100                 (random tag)
 *   count      GET /v1/events/count?type=T&since=S&until=S+1h
 *   histogram  GET /v1/events/histogram?since=E-24h&until=E&interval=1h&by=type
 * Types and tags are drawn the way loadgen makes them (--types, --tags must match the load).
 * The time range is found by asking for the oldest and newest event, unless --since and
 * --until are given. Any status other than 200 is an error: the run exits 1.
 *
 * Usage: querybench [--addr HOST:PORT] [--scenarios page,tag,count,histogram]
 *                   [--requests N | --duration SEC] [--warmup N] [--types N] [--tags N]
 *                   [--since RFC3339 --until RFC3339] [--seed N] [--json] */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "benchlib.h"

typedef struct options {
  char host[256];
  int port;
  char scenarios[256];
  unsigned requests, warmup, types, tags;
  double duration;
  int64_t since_ns, until_ns;
  uint64_t seed;
  int json;
} options;

/* One keep-alive connection with its read buffer. */
typedef struct client {
  const options *o;
  int fd;
  char *rbuf;
  size_t rlen, rcap;
  char *body; /* de-chunked body of the last response */
  size_t body_cap;
} client;

static void usage(void) {
  fprintf(stderr,
          "usage: querybench [--addr HOST:PORT] [--scenarios page,tag,count,histogram]\n"
          "                  [--requests N | --duration SEC] [--warmup N] [--types N]\n"
          "                  [--tags N] [--since RFC3339 --until RFC3339] [--seed N] [--json]\n");
  exit(2);
}

static double num_arg(const char *name, const char *v, double min, double max) {
  char *end;
  double d = strtod(v, &end);
  if (*v == '\0' || *end != '\0' || d < min || d > max)
    bench_die("querybench: --%s wants a number in [%g, %g], got '%s'", name, min, max, v);
  return d;
}

static int64_t time_arg(const char *name, const char *v) {
  int64_t t;
  if (bench_parse_rfc3339(v, strlen(v), &t) != 0)
    bench_die("querybench: --%s wants an RFC 3339 time, got '%s'", name, v);
  return t;
}

static void parse_options(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  const char *addr = getenv("EVENTD_URL");
  if (!addr) addr = "127.0.0.1:8910";
  snprintf(o->scenarios, sizeof o->scenarios, "page,tag,count,histogram");
  o->requests = 200;
  o->warmup = 5;
  o->types = 10;
  o->tags = 100000;
  o->seed = 1;
  enum { O_ADDR = 1, O_SCEN, O_REQ, O_DUR, O_WARM, O_TYPES, O_TAGS, O_SINCE, O_UNTIL, O_SEED,
         O_JSON };
  static const struct option lo[] = {
      {"addr", required_argument, 0, O_ADDR},     {"scenarios", required_argument, 0, O_SCEN},
      {"requests", required_argument, 0, O_REQ},  {"duration", required_argument, 0, O_DUR},
      {"warmup", required_argument, 0, O_WARM},   {"types", required_argument, 0, O_TYPES},
      {"tags", required_argument, 0, O_TAGS},     {"since", required_argument, 0, O_SINCE},
      {"until", required_argument, 0, O_UNTIL},   {"seed", required_argument, 0, O_SEED},
      {"json", no_argument, 0, O_JSON},           {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    switch (c) {
    case O_ADDR: addr = optarg; break;
    case O_SCEN:
      if (strlen(optarg) >= sizeof o->scenarios) usage();
      snprintf(o->scenarios, sizeof o->scenarios, "%s", optarg);
      break;
    case O_REQ: o->requests = (unsigned)num_arg("requests", optarg, 1, 1e8); break;
    case O_DUR: o->duration = num_arg("duration", optarg, 0.1, 86400); break;
    case O_WARM: o->warmup = (unsigned)num_arg("warmup", optarg, 0, 1e6); break;
    case O_TYPES: o->types = (unsigned)num_arg("types", optarg, 1, 100000); break;
    case O_TAGS: o->tags = (unsigned)num_arg("tags", optarg, 1, 4e9); break;
    case O_SINCE: o->since_ns = time_arg("since", optarg); break;
    case O_UNTIL: o->until_ns = time_arg("until", optarg); break;
    case O_SEED: o->seed = (uint64_t)num_arg("seed", optarg, 0, 1e18); break;
    case O_JSON: o->json = 1; break;
    default: usage();
    }
  }
  if (optind != argc) usage();
  if (bench_parse_addr(addr, o->host, sizeof o->host, &o->port) != 0)
    bench_die("querybench: bad address '%s' (want HOST:PORT)", addr);
  if ((o->since_ns != 0) != (o->until_ns != 0))
    bench_die("querybench: give both --since and --until, or neither");
  if (o->since_ns && o->until_ns <= o->since_ns)
    bench_die("querybench: --until must be after --since");
}

static int client_connect(client *c) {
  c->fd = bench_tcp_connect(c->o->host, c->o->port, 0, NULL);
  if (c->fd < 0) return -1;
  struct timeval tv = {.tv_sec = 60, .tv_usec = 0};
  (void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  c->rlen = 0;
  return 0;
}

static void client_close(client *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

/* GET path; fills *r and c->body. Returns 0, or -1 with err (connection or protocol
 * failure). A server close on a reused connection before any response byte is retried
 * once on a new connection. */
static int http_get(client *c, const char *path, http_resp *r, char *err, size_t errlen) {
  char req[2048];
  int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", path,
                    c->o->host, c->o->port);
  if (rl < 0 || (size_t)rl >= sizeof req) {
    snprintf(err, errlen, "request path too long");
    return -1;
  }
  for (int attempt = 0; attempt < 2; attempt++) {
    if (c->fd < 0 && client_connect(c) != 0) {
      snprintf(err, errlen, "connect %.128s:%d: %.80s", c->o->host, c->o->port, strerror(errno));
      return -1;
    }
    size_t off = 0;
    int broken = 0;
    while (off < (size_t)rl) {
      ssize_t w = send(c->fd, req + off, (size_t)rl - off, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        broken = 1;
        break;
      }
      off += (size_t)w;
    }
    c->rlen = 0;
    while (!broken) {
      if (c->rcap - c->rlen < 65536) {
        size_t ncap = c->rcap ? c->rcap * 2 : 262144;
        char *nb = realloc(c->rbuf, ncap);
        if (!nb) bench_die("querybench: out of memory");
        c->rbuf = nb;
        c->rcap = ncap;
      }
      ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        snprintf(err, errlen, "no response within 60 s");
        client_close(c);
        return -1;
      }
      if (n <= 0) {
        if (c->rlen == 0) {
          broken = 1;
          break;
        }
        snprintf(err, errlen, "connection closed in the middle of a response");
        client_close(c);
        return -1;
      }
      c->rlen += (size_t)n;
      int rc = http_resp_parse(c->rbuf, c->rlen, r, err, errlen);
      if (rc < 0) {
        client_close(c);
        return -1;
      }
      if (rc == 0) continue;
      if (c->body_cap < r->body_len + 1) {
        char *nb = realloc(c->body, r->body_len + 1);
        if (!nb) bench_die("querybench: out of memory");
        c->body = nb;
        c->body_cap = r->body_len + 1;
      }
      http_resp_body(c->rbuf, r, c->body);
      if (r->close || c->rlen != r->total) client_close(c);
      return 0;
    }
    client_close(c);
    if (attempt == 1) break;
  }
  snprintf(err, errlen, "server closed the connection without a response");
  return -1;
}

/* Count non-overlapping occurrences of needle in s. */
static size_t count_occ(const char *s, const char *needle) {
  size_t n = 0, nl = strlen(needle);
  for (const char *p = strstr(s, needle); p; p = strstr(p + nl, needle)) n++;
  return n;
}

/* The first "time":"..." value in body, parsed; -1 if none. */
static int first_time(const char *body, int64_t *t) {
  const char *p = strstr(body, "\"time\":\"");
  if (!p) return -1;
  p += 8;
  const char *e = strchr(p, '"');
  if (!e) return -1;
  return bench_parse_rfc3339(p, (size_t)(e - p), t);
}

/* Find the oldest and newest event times. */
static void discover_range(client *c, int64_t *lo, int64_t *hi) {
  http_resp r;
  char err[256];
  const char *paths[2] = {"/v1/events?order=asc&limit=1", "/v1/events?order=desc&limit=1"};
  int64_t *out[2] = {lo, hi};
  for (int i = 0; i < 2; i++) {
    if (http_get(c, paths[i], &r, err, sizeof err) != 0)
      bench_die("querybench: GET %s: %s", paths[i], err);
    if (r.status != 200)
      bench_die("querybench: GET %s: status %d: %.200s", paths[i], r.status, c->body);
    if (first_time(c->body, out[i]) != 0)
      bench_die("querybench: the store holds no events (GET %s returned %.200s)", paths[i],
                c->body);
  }
}

typedef enum scen_kind { S_PAGE, S_TAG, S_COUNT, S_HISTOGRAM } scen_kind;

typedef struct scen_result {
  const char *name;
  unsigned requests, errors;
  lat_sample lat;
  double results_sum;  /* events per page, count value, or buckets */
  double results_min, results_max;
  unsigned zero_results;
  double bytes_sum;
  char first_error[600];
} scen_result;

/* Build the request path of one query of kind k into p (cap n). */
static void make_path(scen_kind k, const options *o, bench_rng *rng, int64_t lo, int64_t hi,
                      char *p, size_t n) {
  char tname[64], since[BENCH_RFC3339_LEN + 1], until[BENCH_RFC3339_LEN + 1];
  const int64_t hour = 3600ll * 1000000000ll;
  int64_t span = hi - lo > hour ? hi - lo - hour : 0;
  int64_t s = lo + (span > 0 ? (int64_t)(bench_rng_below(rng, (uint64_t)span / 1000000000ull + 1) *
                                          1000000000ull)
                             : 0);
  since[BENCH_RFC3339_LEN] = until[BENCH_RFC3339_LEN] = '\0';
  const char *type = bench_type_name((unsigned)bench_rng_below(rng, o->types), tname);
  switch (k) {
  case S_PAGE:
    bench_rfc3339(s, since);
    bench_rfc3339(s + hour, until);
    snprintf(p, n, "/v1/events?type=%s&since=%s&until=%s&limit=100", type, since, until);
    break;
  case S_TAG: {
    char tag[BENCH_TAG_LEN + 1];
    bench_tag((unsigned)bench_rng_below(rng, o->tags), tag);
    snprintf(p, n, "/v1/events?tag=%s&limit=100", tag);
    break;
  }
  case S_COUNT:
    bench_rfc3339(s, since);
    bench_rfc3339(s + hour, until);
    snprintf(p, n, "/v1/events/count?type=%s&since=%s&until=%s", type, since, until);
    break;
  case S_HISTOGRAM: {
    int64_t from = hi - 24 * hour > lo ? hi - 24 * hour : lo;
    bench_rfc3339(from, since);
    bench_rfc3339(hi + 1, until);
    snprintf(p, n, "/v1/events/histogram?since=%s&until=%s&interval=1h&by=type", since, until);
    break;
  }
  }
}

/* What a response holds: events of a page, the count, or histogram buckets. */
static double result_size(scen_kind k, const char *body) {
  if (k == S_PAGE || k == S_TAG) return (double)count_occ(body, "{\"id\":\"");
  if (k == S_COUNT) {
    const char *p = strstr(body, "\"count\":");
    return p ? strtod(p + 8, NULL) : -1;
  }
  return (double)count_occ(body, "\"time\":\"");
}

/* Run one scenario; fills *res. */
static void run_scenario(client *c, scen_kind k, const options *o, int64_t lo, int64_t hi,
                         scen_result *res) {
  bench_rng rng;
  bench_rng_seed(&rng, o->seed * 7919u + (unsigned)k);
  char path[1024], err[256];
  http_resp r;
  res->results_min = 1e300;
  uint64_t t_end = o->duration > 0 ? bench_mono_ns() + (uint64_t)(o->duration * 1e9) : 0;
  for (unsigned i = 0;; i++) {
    int warm = i < o->warmup;
    if (!warm) {
      unsigned m = i - o->warmup;
      if (o->duration > 0 ? bench_mono_ns() >= t_end : m >= o->requests) break;
    }
    make_path(k, o, &rng, lo, hi, path, sizeof path);
    uint64_t t0 = bench_mono_ns();
    int rc = http_get(c, path, &r, err, sizeof err);
    uint64_t dt = bench_mono_ns() - t0;
    if (rc != 0 || r.status != 200) {
      res->errors++;
      if (!res->first_error[0]) {
        if (rc != 0)
          snprintf(res->first_error, sizeof res->first_error, "GET %.200s: %s", path, err);
        else
          snprintf(res->first_error, sizeof res->first_error, "GET %.120s: status %d: %.150s",
                   path, r.status, c->body);
      }
      if (res->errors >= 10) break; /* the scenario is failing: stop hammering */
      continue;
    }
    if (warm) continue;
    res->requests++;
    if (lat_add(&res->lat, dt / 1000) != 0) bench_die("querybench: out of memory");
    double sz = result_size(k, c->body);
    res->results_sum += sz;
    if (sz < res->results_min) res->results_min = sz;
    if (sz > res->results_max) res->results_max = sz;
    if (sz <= 0) res->zero_results++;
    res->bytes_sum += (double)r.body_len;
  }
  if (res->requests == 0) res->results_min = 0;
}

int main(int argc, char **argv) {
  options o;
  parse_options(argc, argv, &o);
  signal(SIGPIPE, SIG_IGN);
  client c = {.o = &o, .fd = -1};
  int64_t lo = o.since_ns, hi = o.until_ns;
  if (!lo) discover_range(&c, &lo, &hi);

  static const struct {
    const char *name;
    scen_kind kind;
  } all[] = {{"page", S_PAGE}, {"tag", S_TAG}, {"count", S_COUNT}, {"histogram", S_HISTOGRAM}};
  scen_result res[4];
  int nres = 0;
  char list[256];
  snprintf(list, sizeof list, "%s", o.scenarios);
  for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int found = -1;
    for (int i = 0; i < 4; i++)
      if (strcmp(tok, all[i].name) == 0) found = i;
    if (found < 0) bench_die("querybench: unknown scenario '%s' (page, tag, count, histogram)", tok);
    if (nres == 4) bench_die("querybench: too many scenarios");
    memset(&res[nres], 0, sizeof res[nres]);
    res[nres].name = all[found].name;
    run_scenario(&c, all[found].kind, &o, lo, hi, &res[nres]);
    nres++;
  }

  char slo[BENCH_RFC3339_LEN + 1] = {0}, shi[BENCH_RFC3339_LEN + 1] = {0};
  bench_rfc3339(lo, slo);
  bench_rfc3339(hi, shi);
  unsigned total_errors = 0;
  if (o.json) printf("{\"since\":\"%s\",\"until\":\"%s\",\"scenarios\":{", slo, shi);
  else printf("querybench: data from %s to %s\n", slo, shi);
  for (int i = 0; i < nres; i++) {
    scen_result *s = &res[i];
    total_errors += s->errors;
    double avg = s->requests ? s->results_sum / s->requests : 0;
    double avgb = s->requests ? s->bytes_sum / s->requests : 0;
    if (o.json) {
      printf("%s\"%s\":{\"requests\":%u,\"errors\":%u,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
             "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f,\"avg_results\":%.1f,"
             "\"min_results\":%.0f,\"max_results\":%.0f,\"zero_results\":%u,"
             "\"avg_body_bytes\":%.0f,\"first_error\":\"",
             i ? "," : "", s->name, s->requests, s->errors, lat_quantile_ms(&s->lat, 0.5),
             lat_quantile_ms(&s->lat, 0.9), lat_quantile_ms(&s->lat, 0.99), lat_max_ms(&s->lat),
             lat_mean_ms(&s->lat), avg, s->results_min, s->results_max, s->zero_results, avgb);
      for (const char *p = s->first_error; *p; p++) {
        if (*p == '"' || *p == '\\') putchar('\\');
        putchar((unsigned char)*p < 0x20 ? ' ' : *p);
      }
      printf("\"}");
    } else {
      printf("  %-9s n=%-5u p50 %8.2f ms  p90 %8.2f ms  p99 %8.2f ms  max %8.2f ms"
             "  results avg %.1f (min %.0f, max %.0f)  %.0f bytes\n",
             s->name, s->requests, lat_quantile_ms(&s->lat, 0.5), lat_quantile_ms(&s->lat, 0.9),
             lat_quantile_ms(&s->lat, 0.99), lat_max_ms(&s->lat), avg, s->results_min,
             s->results_max, avgb);
      if (s->errors) printf("  %-9s %u errors; first: %s\n", s->name, s->errors, s->first_error);
    }
    lat_free(&s->lat);
  }
  if (o.json) printf("},\"errors\":%u}\n", total_errors);
  client_close(&c);
  free(c.rbuf);
  free(c.body);
  return total_errors ? 1 : 0;
}
