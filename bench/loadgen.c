/* loadgen: HTTP ingest load generator for eventd (docs/performance.md).
 *
 * One thread, epoll, non-blocking sockets, HTTP/1.1 keep-alive: each of --connections
 * connections sends POST /v1/events with an NDJSON body of --batch Magma-shaped events,
 * waits for the response, and sends the next, until --duration seconds have passed or
 * --events events were sent. Bodies come from a pool generated before the clock starts;
 * per request only the `time` values are written in place, so the generator costs little
 * of the CPU it shares with the daemon.
 *
 * Every response must be 200 with "accepted":<batch>; other statuses are counted and
 * reported (exit status 1). 503 is back-pressure: the same request is sent again after
 * Retry-After seconds and counted apart (not an error).
 *
 * Usage: loadgen [--addr HOST:PORT] [--connections N] [--batch B] [--duration SEC |
 *                --events TOTAL] [--time-spread SEC] [--types N] [--tags N] [--warmup SEC]
 *                [--pool-events N] [--seed N] [--no-time] [--ids] [--progress] [--json]
 *
 * --ids gives every event a client id ("id":"lg<seed, 4 digits><event number, 16 digits>"),
 * unique within the run, written in place per request like the time: the store's
 * idempotency check (writer.c) then runs for every event, as it does for libeventd. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "benchlib.h"

/* One pre-generated request body: `nev` NDJSON lines. */
typedef struct body {
  char *text;
  size_t len;
  uint32_t nev;
  uint32_t *line_end; /* offset just past line i's '\n' */
  uint32_t *time_off; /* offset of line i's time placeholder (when with_time) */
  uint32_t *tag_off;  /* offsets of line i's two tag copies (2 per line) */
  uint32_t *id_off;   /* offset of line i's id digits (with --ids) */
} body;

typedef enum conn_state {
  C_CONNECTING, /* non-blocking connect in progress */
  C_SENDING,    /* writing the request */
  C_READING,    /* request written, waiting for the whole response */
  C_RETRY_WAIT, /* got 503: resend the same request at retry_at */
  C_IDLE        /* nothing in flight and nothing more to send */
} conn_state;

typedef struct conn {
  int fd;
  conn_state st;
  int want_out;        /* EPOLLOUT registered */
  int has_request;     /* cur/nev describe a request not yet acknowledged */
  body *bodies;        /* this connection's own bodies (patched in place, never shared) */
  unsigned nbodies, next_body;
  body *cur;           /* body of the request in flight */
  uint32_t nev;        /* events of cur in this request (may be < cur->nev at the end) */
  size_t body_len;
  char hdr[256];
  size_t hdr_len;
  size_t sent;         /* bytes of hdr + body written */
  uint64_t t_start;    /* when the request's first byte was written (mono ns) */
  uint64_t retry_at;   /* for C_RETRY_WAIT (mono ns) */
  char *rbuf;
  size_t rlen, rcap;
} conn;

typedef struct options {
  char host[256];
  int port;
  unsigned connections, batch, types, tags;
  double duration, warmup, time_spread;
  uint64_t events;     /* 0 = run for duration */
  uint64_t pool_events;
  uint64_t seed;
  int with_time, progress, json, ids;
} options;

typedef struct loadgen {
  options o;
  int ep;
  conn *conns;
  uint64_t issued;        /* events put into requests so far */
  uint64_t t0, t_measure, t_deadline, t_last_done;
  int stopping;
  int64_t spread_base_ns; /* time of event 0 with --time-spread */
  bench_time_cache tcache;
  bench_rng tag_rng;      /* tags written into reused bodies */
  /* results (responses completed at or after t_measure) */
  uint64_t ok_events, ok_bytes, ok_requests;
  uint64_t all_events;    /* acknowledged events, warm-up included */
  lat_sample lat;
  uint64_t status_count[600];
  uint64_t retries_503, conn_errors, proto_errors, accept_mismatch, lost_events;
  uint64_t connect_failures;
  char last_error[512];
} loadgen;

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen [--addr HOST:PORT] [--connections N] [--batch B]\n"
          "               [--duration SEC | --events TOTAL] [--warmup SEC]\n"
          "               [--time-spread SEC] [--types N] [--tags N] [--pool-events N]\n"
          "               [--seed N] [--no-time] [--ids] [--progress] [--json]\n");
  exit(2);
}

/* Parse a positive number option or die naming it. */
static double num_arg(const char *name, const char *v, double min, double max) {
  char *end;
  double d = strtod(v, &end);
  if (*v == '\0' || *end != '\0' || d < min || d > max)
    bench_die("loadgen: --%s wants a number in [%g, %g], got '%s'", name, min, max, v);
  return d;
}

static void parse_options(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  const char *addr = getenv("EVENTD_URL");
  if (!addr) addr = "127.0.0.1:8910";
  o->connections = 16;
  o->batch = 1000;
  o->types = 10;
  o->tags = 100000;
  o->duration = 20;
  o->pool_events = 65536;
  o->seed = 1;
  o->with_time = 1;
  enum { O_ADDR = 1, O_CONN, O_BATCH, O_DUR, O_EVENTS, O_SPREAD, O_TYPES, O_TAGS, O_WARM,
         O_POOL, O_SEED, O_NOTIME, O_PROGRESS, O_JSON, O_IDS, O_HELP };
  static const struct option lo[] = {
      {"addr", required_argument, 0, O_ADDR},       {"connections", required_argument, 0, O_CONN},
      {"batch", required_argument, 0, O_BATCH},     {"duration", required_argument, 0, O_DUR},
      {"events", required_argument, 0, O_EVENTS},   {"time-spread", required_argument, 0, O_SPREAD},
      {"types", required_argument, 0, O_TYPES},     {"tags", required_argument, 0, O_TAGS},
      {"warmup", required_argument, 0, O_WARM},     {"pool-events", required_argument, 0, O_POOL},
      {"seed", required_argument, 0, O_SEED},       {"no-time", no_argument, 0, O_NOTIME},
      {"progress", no_argument, 0, O_PROGRESS},     {"json", no_argument, 0, O_JSON},
      {"ids", no_argument, 0, O_IDS},
      {"help", no_argument, 0, O_HELP},             {0, 0, 0, 0}};
  int c, have_duration = 0;
  while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    switch (c) {
    case O_ADDR: addr = optarg; break;
    case O_CONN: o->connections = (unsigned)num_arg("connections", optarg, 1, 1024); break;
    case O_BATCH: o->batch = (unsigned)num_arg("batch", optarg, 1, 100000); break;
    case O_DUR: o->duration = num_arg("duration", optarg, 0.1, 86400); have_duration = 1; break;
    case O_EVENTS: o->events = (uint64_t)num_arg("events", optarg, 1, 1e12); break;
    case O_SPREAD: o->time_spread = num_arg("time-spread", optarg, 0.001, 1e9); break;
    case O_TYPES: o->types = (unsigned)num_arg("types", optarg, 1, 100000); break;
    case O_TAGS: o->tags = (unsigned)num_arg("tags", optarg, 1, 4e9); break;
    case O_WARM: o->warmup = num_arg("warmup", optarg, 0, 3600); break;
    case O_POOL: o->pool_events = (uint64_t)num_arg("pool-events", optarg, 1, 1e8); break;
    case O_SEED: o->seed = (uint64_t)num_arg("seed", optarg, 0, 1e18); break;
    case O_NOTIME: o->with_time = 0; break;
    case O_PROGRESS: o->progress = 1; break;
    case O_JSON: o->json = 1; break;
    case O_IDS: o->ids = 1; break;
    default: usage();
    }
  }
  if (optind != argc) usage();
  if (bench_parse_addr(addr, o->host, sizeof o->host, &o->port) != 0)
    bench_die("loadgen: bad address '%s' (want HOST:PORT)", addr);
  if (o->events && have_duration)
    bench_die("loadgen: give --duration or --events, not both");
  if (o->events) o->duration = 0;
  if (o->time_spread > 0 && !o->events)
    bench_die("loadgen: --time-spread needs --events (times are spread over that many)");
  if (o->time_spread > 0 && !o->with_time)
    bench_die("loadgen: --time-spread and --no-time contradict each other");
  if (o->duration > 0 && o->warmup >= o->duration)
    bench_die("loadgen: --warmup must be shorter than --duration");
}

/* Generate connection c's bodies. */
static void make_pool(loadgen *g, conn *c, unsigned idx) {
  const options *o = &g->o;
  uint64_t per_conn = (o->pool_events + o->connections - 1) / o->connections;
  unsigned nb = (unsigned)((per_conn + o->batch - 1) / o->batch);
  if (nb < 2) nb = 2;
  c->bodies = calloc(nb, sizeof *c->bodies);
  if (!c->bodies) bench_die("loadgen: out of memory for the body pool");
  c->nbodies = nb;
  bench_rng rng;
  bench_rng_seed(&rng, o->seed * 1000003u + idx);
  for (unsigned b = 0; b < nb; b++) {
    body *bd = &c->bodies[b];
    size_t cap = (size_t)o->batch * 640 + 64;
    bd->text = malloc(cap);
    bd->line_end = malloc(o->batch * sizeof *bd->line_end);
    bd->time_off = malloc(o->batch * sizeof *bd->time_off);
    bd->tag_off = malloc(2 * (size_t)o->batch * sizeof *bd->tag_off);
    bd->id_off = malloc(o->batch * sizeof *bd->id_off);
    if (!bd->text || !bd->line_end || !bd->time_off || !bd->tag_off || !bd->id_off)
      bench_die("loadgen: out of memory for the body pool");
    for (unsigned i = 0; i < o->batch; i++) {
      size_t toff = 0, tagoff[2], at = bd->len;
      if (bench_gen_event(&rng, o->types, o->tags, o->with_time, bd->text, cap, &bd->len,
                          &toff, tagoff) != 0)
        bench_die("loadgen: event generation overflowed its buffer");
      if (o->ids) { /* insert "id":"lg<20 digits>", after the event's '{' */
        static const char ph[] = "\"id\":\"lg00000000000000000000\",";
        size_t pl = sizeof ph - 1;
        if (bd->len + pl >= cap) bench_die("loadgen: event generation overflowed its buffer");
        memmove(bd->text + at + 1 + pl, bd->text + at + 1, bd->len - at - 1);
        memcpy(bd->text + at + 1, ph, pl);
        bd->len += pl;
        toff += pl;
        tagoff[0] += pl;
        tagoff[1] += pl;
        bd->id_off[i] = (uint32_t)(at + 1 + 8);
      }
      bd->line_end[i] = (uint32_t)bd->len;
      bd->time_off[i] = (uint32_t)toff;
      bd->tag_off[2 * i] = (uint32_t)tagoff[0];
      bd->tag_off[2 * i + 1] = (uint32_t)tagoff[1];
    }
    bd->nev = o->batch;
  }
}

static void ep_set(loadgen *g, conn *c, int want_out) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0);
  ev.data.ptr = c;
  if (epoll_ctl(g->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
    bench_die("loadgen: epoll_ctl: %s", strerror(errno));
  c->want_out = want_out;
}

/* Open connection c (non-blocking) and register it. */
static int conn_open(loadgen *g, conn *c) {
  int inprog = 0;
  c->fd = bench_tcp_connect(g->o.host, g->o.port, 1, &inprog);
  if (c->fd < 0) {
    snprintf(g->last_error, sizeof g->last_error, "connect %.128s:%d: %.100s", g->o.host, g->o.port,
             strerror(errno));
    g->connect_failures++;
    return -1;
  }
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.ptr = c;
  if (epoll_ctl(g->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
    bench_die("loadgen: epoll_ctl: %s", strerror(errno));
  c->want_out = 1;
  c->st = C_CONNECTING;
  c->rlen = 0;
  return 0;
}

static void conn_close(conn *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

/* Fill in the time values and fresh tags of the first c->nev events of c->cur, for events
 * numbered first.. in the run. New tags per use keep every subscriber present even though
 * the pool is reused (the pool holds fewer events than --tags). */
static void patch_request(loadgen *g, conn *c, uint64_t first) {
  body *b = c->cur;
  if (g->o.ids) {
    for (uint32_t i = 0; i < c->nev; i++) {
      char d[21];
      snprintf(d, sizeof d, "%04u%016llu", (unsigned)(g->o.seed % 10000),
               (unsigned long long)((first + i) % 10000000000000000ull));
      memcpy(b->text + b->id_off[i], d, 20);
    }
  }
  for (uint32_t i = 0; i < c->nev; i++) {
    unsigned tag = (unsigned)bench_rng_below(&g->tag_rng, g->o.tags);
    bench_patch_tag(b->text + b->tag_off[2 * i], tag);
    bench_patch_tag(b->text + b->tag_off[2 * i + 1], tag);
  }
  if (!g->o.with_time) return;
  if (g->o.time_spread > 0) {
    double step = g->o.time_spread * 1e9 / (double)g->o.events;
    for (uint32_t i = 0; i < c->nev; i++)
      bench_rfc3339_cached(&g->tcache, g->spread_base_ns + (int64_t)((double)(first + i) * step),
                           b->text + b->time_off[i]);
  } else {
    int64_t now = bench_wall_ns();
    for (uint32_t i = 0; i < c->nev; i++)
      bench_rfc3339_cached(&g->tcache, now + i, b->text + b->time_off[i]);
  }
}

static void try_send(loadgen *g, conn *c);

/* Start the next request on c, or make it idle when there is nothing more to send. */
static void start_request(loadgen *g, conn *c) {
  if (g->stopping || (g->o.events && g->issued >= g->o.events)) {
    c->st = C_IDLE;
    c->has_request = 0;
    if (c->want_out) ep_set(g, c, 0);
    return;
  }
  uint32_t n = g->o.batch;
  if (g->o.events && g->o.events - g->issued < n) n = (uint32_t)(g->o.events - g->issued);
  c->cur = &c->bodies[c->next_body++ % c->nbodies];
  c->nev = n;
  c->body_len = c->cur->line_end[n - 1];
  patch_request(g, c, g->issued);
  g->issued += n;
  c->hdr_len = (size_t)snprintf(c->hdr, sizeof c->hdr,
                                "POST /v1/events HTTP/1.1\r\nHost: %s:%d\r\n"
                                "Content-Type: application/x-ndjson\r\n"
                                "Content-Length: %zu\r\n\r\n",
                                g->o.host, g->o.port, c->body_len);
  c->has_request = 1;
  c->sent = 0;
  c->st = C_SENDING;
  c->t_start = bench_mono_ns();
  try_send(g, c);
}

/* The connection broke: count it, drop what was in flight (reported as lost), reconnect. */
static void conn_fail(loadgen *g, conn *c, const char *why) {
  g->conn_errors++;
  snprintf(g->last_error, sizeof g->last_error, "%s", why);
  if (c->has_request) g->lost_events += c->nev;
  c->has_request = 0;
  conn_close(c);
  if (g->stopping || (g->o.events && g->issued >= g->o.events)) {
    c->st = C_IDLE;
    return;
  }
  if (conn_open(g, c) != 0) c->st = C_IDLE;
}

/* Write as much of the request as the socket takes. */
static void try_send(loadgen *g, conn *c) {
  while (c->sent < c->hdr_len + c->body_len) {
    struct iovec iov[2];
    int n = 0;
    if (c->sent < c->hdr_len) {
      iov[n].iov_base = c->hdr + c->sent;
      iov[n++].iov_len = c->hdr_len - c->sent;
      iov[n].iov_base = c->cur->text;
      iov[n++].iov_len = c->body_len;
    } else {
      size_t off = c->sent - c->hdr_len;
      iov[n].iov_base = c->cur->text + off;
      iov[n++].iov_len = c->body_len - off;
    }
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = iov;
    m.msg_iovlen = (size_t)n;
    ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!c->want_out) ep_set(g, c, 1);
        return;
      }
      char why[128];
      snprintf(why, sizeof why, "send: %s", strerror(errno));
      conn_fail(g, c, why);
      return;
    }
    c->sent += (size_t)w;
  }
  c->st = C_READING;
  if (c->want_out) ep_set(g, c, 0);
}

/* Parse "accepted":N in body[0..n); -1 when absent. */
static long long find_accepted(const char *p, size_t n) {
  static const char key[] = "\"accepted\":";
  const char *k = memmem(p, n, key, sizeof key - 1);
  if (!k) return -1;
  k += sizeof key - 1;
  const char *e = p + n;
  while (k < e && *k == ' ') k++;
  long long v = 0;
  int nd = 0;
  while (k < e && *k >= '0' && *k <= '9') {
    v = v * 10 + (*k++ - '0');
    nd++;
  }
  return nd ? v : -1;
}

/* A complete response r arrived for c's request. */
static void on_response(loadgen *g, conn *c, const http_resp *r) {
  uint64_t now = bench_mono_ns();
  int measured = now >= g->t_measure;
  if (c->st != C_READING) {
    /* answered before the request was fully written (e.g. 413): the rest is abandoned */
    g->proto_errors++;
    snprintf(g->last_error, sizeof g->last_error, "status %d before the request was sent",
             r->status);
  }
  if (r->status == 200) {
    long long acc = find_accepted(c->rbuf + r->body_off, r->body_len);
    if (acc != (long long)c->nev) {
      g->accept_mismatch++;
      snprintf(g->last_error, sizeof g->last_error, "200 with accepted=%lld for %u events", acc,
               c->nev);
    }
    g->all_events += c->nev;
    if (measured) {
      g->ok_events += c->nev;
      g->ok_bytes += c->body_len;
      g->ok_requests++;
      if (lat_add(&g->lat, (now - c->t_start) / 1000) != 0)
        bench_die("loadgen: out of memory for latencies");
    }
    g->t_last_done = now;
    c->has_request = 0;
  } else if (r->status == 503) {
    g->retries_503++;
    int ra = r->retry_after >= 0 ? r->retry_after : 1;
    c->retry_at = now + (uint64_t)ra * 1000000000ull;
    if (ra == 0) c->retry_at = now + 10000000ull;
  } else {
    g->status_count[r->status]++;
    g->lost_events += c->nev;
    size_t bl = r->body_len < 160 ? r->body_len : 160;
    snprintf(g->last_error, sizeof g->last_error, "status %d: %.*s", r->status, (int)bl,
             c->rbuf + r->body_off);
    c->has_request = 0;
    g->t_last_done = now;
  }
  /* consume the response */
  memmove(c->rbuf, c->rbuf + r->total, c->rlen - r->total);
  c->rlen -= r->total;
  if (c->rlen != 0) {
    g->proto_errors++;
    snprintf(g->last_error, sizeof g->last_error, "bytes after a response (no request sent)");
    c->rlen = 0;
  }
  int was_503 = r->status == 503;
  if (r->close) {
    conn_close(c);
    if (conn_open(g, c) != 0) {
      if (c->has_request) g->lost_events += c->nev;
      c->has_request = 0;
      c->st = C_IDLE;
      return;
    }
    if (was_503) c->st = C_CONNECTING; /* on connect, the retry wait is honoured below */
    return;
  }
  if (was_503) {
    c->st = C_RETRY_WAIT;
    return;
  }
  start_request(g, c);
}

/* Resend c's current request (after a 503 or a reconnect). */
static void resend(loadgen *g, conn *c) {
  c->sent = 0;
  c->st = C_SENDING;
  c->t_start = bench_mono_ns();
  try_send(g, c);
}

/* The socket is readable: read what is there, handle complete responses. */
static void on_readable(loadgen *g, conn *c) {
  for (;;) {
    if (c->rcap - c->rlen < 16384) {
      size_t ncap = c->rcap ? c->rcap * 2 : 65536;
      char *nb = realloc(c->rbuf, ncap);
      if (!nb) bench_die("loadgen: out of memory for a response");
      c->rbuf = nb;
      c->rcap = ncap;
    }
    ssize_t n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      char why[128];
      snprintf(why, sizeof why, "read: %s", strerror(errno));
      conn_fail(g, c, why);
      return;
    }
    if (n == 0) {
      conn_fail(g, c, "server closed the connection");
      return;
    }
    c->rlen += (size_t)n;
  }
  http_resp r;
  char err[128];
  int rc = http_resp_parse(c->rbuf, c->rlen, &r, err, sizeof err);
  if (rc < 0) {
    g->proto_errors++;
    if (c->has_request) g->lost_events += c->nev;
    c->has_request = 0;
    conn_fail(g, c, err);
    return;
  }
  if (rc == 1) on_response(g, c, &r);
}

/* The non-blocking connect finished (writable): check it and go. */
static void on_connected(loadgen *g, conn *c) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    g->connect_failures++;
    snprintf(g->last_error, sizeof g->last_error, "connect %.128s:%d: %.100s", g->o.host, g->o.port,
             strerror(err));
    conn_close(c);
    c->st = C_IDLE;
    if (c->has_request) g->lost_events += c->nev;
    c->has_request = 0;
    return;
  }
  ep_set(g, c, 0);
  if (c->has_request) {
    if (c->retry_at > bench_mono_ns()) {
      c->st = C_RETRY_WAIT;
      return;
    }
    resend(g, c);
  } else {
    start_request(g, c);
  }
}

static int in_flight(const loadgen *g) {
  int n = 0;
  for (unsigned i = 0; i < g->o.connections; i++)
    if (g->conns[i].st != C_IDLE) n++;
  return n;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

/* Print the results (text or JSON). Returns the number of errors. */
static uint64_t report(loadgen *g, double elapsed, double cpu, double avg_event_bytes) {
  uint64_t by_status = 0;
  for (int s = 0; s < 600; s++) by_status += g->status_count[s];
  uint64_t errors = by_status + g->conn_errors + g->proto_errors + g->accept_mismatch +
                    g->connect_failures;
  double ev_s = elapsed > 0 ? (double)g->ok_events / elapsed : 0;
  double mib_s = elapsed > 0 ? (double)g->ok_bytes / elapsed / 1048576.0 : 0;
  double rq_s = elapsed > 0 ? (double)g->ok_requests / elapsed : 0;
  const options *o = &g->o;
  if (o->json) {
    printf("{\"connections\":%u,\"batch\":%u,\"elapsed_s\":%.3f,\"events\":%llu,"
           "\"events_per_s\":%.0f,\"mib_per_s\":%.2f,\"requests\":%llu,\"requests_per_s\":%.1f,"
           "\"avg_event_bytes\":%.1f,"
           "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"mean\":%.3f},"
           "\"retries_503\":%llu,\"errors\":{\"total\":%llu,\"by_status\":{",
           o->connections, o->batch, elapsed, (unsigned long long)g->ok_events, ev_s, mib_s,
           (unsigned long long)g->ok_requests, rq_s, avg_event_bytes,
           lat_quantile_ms(&g->lat, 0.5), lat_quantile_ms(&g->lat, 0.9),
           lat_quantile_ms(&g->lat, 0.99), lat_max_ms(&g->lat), lat_mean_ms(&g->lat),
           (unsigned long long)g->retries_503, (unsigned long long)errors);
    int first = 1;
    for (int s = 0; s < 600; s++) {
      if (!g->status_count[s]) continue;
      printf("%s\"%d\":%llu", first ? "" : ",", s, (unsigned long long)g->status_count[s]);
      first = 0;
    }
    printf("},\"connection\":%llu,\"connect\":%llu,\"protocol\":%llu,\"accept_mismatch\":%llu,"
           "\"lost_events\":%llu},\"client_cpu_s\":%.2f,\"client_cpu_pct\":%.1f",
           (unsigned long long)g->conn_errors, (unsigned long long)g->connect_failures,
           (unsigned long long)g->proto_errors, (unsigned long long)g->accept_mismatch,
           (unsigned long long)g->lost_events, cpu, elapsed > 0 ? 100.0 * cpu / elapsed : 0);
    printf(",\"last_error\":\"");
    for (const char *p = g->last_error; *p; p++) {
      if (*p == '"' || *p == '\\') putchar('\\');
      putchar((unsigned char)*p < 0x20 ? ' ' : *p);
    }
    printf("\"}\n");
  } else {
    printf("loadgen: %u connections, batch %u, %.2f s measured\n", o->connections, o->batch,
           elapsed);
    printf("  events      %llu acknowledged, %.0f events/s (avg %.0f bytes/event)\n",
           (unsigned long long)g->ok_events, ev_s, avg_event_bytes);
    printf("  body bytes  %.2f MiB/s\n", mib_s);
    printf("  requests    %llu, %.1f requests/s\n", (unsigned long long)g->ok_requests, rq_s);
    printf("  ack latency p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms\n",
           lat_quantile_ms(&g->lat, 0.5), lat_quantile_ms(&g->lat, 0.9),
           lat_quantile_ms(&g->lat, 0.99), lat_max_ms(&g->lat));
    printf("  503 retries %llu\n", (unsigned long long)g->retries_503);
    printf("  client cpu  %.2f s (%.0f%% of one core)\n", cpu,
           elapsed > 0 ? 100.0 * cpu / elapsed : 0);
    if (!errors) {
      printf("  errors      none\n");
    } else {
      printf("  errors      %llu:", (unsigned long long)errors);
      for (int s = 0; s < 600; s++)
        if (g->status_count[s])
          printf(" status %d x%llu;", s, (unsigned long long)g->status_count[s]);
      printf(" connection %llu; connect %llu; protocol %llu; accepted-mismatch %llu;"
             " lost events %llu\n",
             (unsigned long long)g->conn_errors, (unsigned long long)g->connect_failures,
             (unsigned long long)g->proto_errors, (unsigned long long)g->accept_mismatch,
             (unsigned long long)g->lost_events);
      printf("  last error  %s\n", g->last_error);
    }
  }
  fflush(stdout);
  return errors;
}

int main(int argc, char **argv) {
  loadgen g;
  memset(&g, 0, sizeof g);
  parse_options(argc, argv, &g.o);
  signal(SIGPIPE, SIG_IGN);
  const options *o = &g.o;

  g.conns = calloc(o->connections, sizeof *g.conns);
  if (!g.conns) bench_die("loadgen: out of memory");
  size_t pool_bytes = 0, pool_events = 0;
  for (unsigned i = 0; i < o->connections; i++) {
    g.conns[i].fd = -1;
    make_pool(&g, &g.conns[i], i);
    for (unsigned b = 0; b < g.conns[i].nbodies; b++) {
      pool_bytes += g.conns[i].bodies[b].len;
      pool_events += g.conns[i].bodies[b].nev;
    }
  }
  double avg_event_bytes = (double)pool_bytes / (double)pool_events;

  bench_rng_seed(&g.tag_rng, o->seed * 31337u + 7);
  g.ep = epoll_create1(EPOLL_CLOEXEC);
  if (g.ep < 0) bench_die("loadgen: epoll_create1: %s", strerror(errno));
  if (o->time_spread > 0) g.spread_base_ns = bench_wall_ns() - (int64_t)(o->time_spread * 1e9);

  double cpu0 = cpu_seconds();
  g.t0 = bench_mono_ns();
  g.t_measure = g.t0 + (uint64_t)(o->warmup * 1e9);
  g.t_deadline = o->duration > 0 ? g.t0 + (uint64_t)(o->duration * 1e9) : UINT64_MAX;
  for (unsigned i = 0; i < o->connections; i++) {
    if (conn_open(&g, &g.conns[i]) != 0) bench_die("loadgen: %s", g.last_error);
  }

  uint64_t last_progress = g.t0, progress_events = 0;
  uint64_t hard_stop = UINT64_MAX;
  struct epoll_event evs[256];
  for (;;) {
    uint64_t now = bench_mono_ns();
    if (!g.stopping && now >= g.t_deadline) {
      g.stopping = 1;
      hard_stop = now + 60000000000ull;
    }
    if (!g.stopping && o->events && g.issued >= o->events) {
      g.stopping = 1;
      hard_stop = UINT64_MAX;
    }
    /* retries due */
    int timeout_ms = 100;
    for (unsigned i = 0; i < o->connections; i++) {
      conn *c = &g.conns[i];
      if (c->st != C_RETRY_WAIT) continue;
      if (c->retry_at <= now) {
        resend(&g, c);
      } else {
        uint64_t ms = (c->retry_at - now) / 1000000 + 1;
        if (ms < (uint64_t)timeout_ms) timeout_ms = (int)ms;
      }
    }
    if (g.stopping && in_flight(&g) == 0) break;
    if (now >= hard_stop) {
      for (unsigned i = 0; i < o->connections; i++)
        if (g.conns[i].st != C_IDLE) conn_fail(&g, &g.conns[i], "no response 60 s after the end");
      break;
    }
    if (o->progress && now - last_progress >= 1000000000ull) {
      fprintf(stderr, "loadgen: %.0f s  %llu events acknowledged  %.0f events/s\n",
              (double)(now - g.t0) / 1e9, (unsigned long long)g.all_events,
              (double)(g.all_events - progress_events) * 1e9 / (double)(now - last_progress));
      last_progress = now;
      progress_events = g.all_events;
    }
    if (!g.stopping && g.t_deadline != UINT64_MAX) {
      uint64_t left_ms = (g.t_deadline - now) / 1000000 + 1;
      if (left_ms < (uint64_t)timeout_ms) timeout_ms = (int)left_ms;
    }
    int n = epoll_wait(g.ep, evs, 256, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      bench_die("loadgen: epoll_wait: %s", strerror(errno));
    }
    for (int i = 0; i < n; i++) {
      conn *c = evs[i].data.ptr;
      if (c->fd < 0) continue;
      if (c->st == C_CONNECTING) {
        if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(&g, c);
        continue;
      }
      if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        if (c->st == C_IDLE || c->st == C_RETRY_WAIT) {
          /* nothing expected: read to notice a close */
          char tmp[256];
          ssize_t r = read(c->fd, tmp, sizeof tmp);
          if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(c);
            if (c->st == C_RETRY_WAIT) conn_open(&g, c);
          }
          continue;
        }
        on_readable(&g, c);
        if (c->fd < 0) continue;
      }
      if ((evs[i].events & EPOLLOUT) && c->st == C_SENDING) try_send(&g, c);
    }
  }
  double cpu = cpu_seconds() - cpu0;
  uint64_t t_end = g.t_last_done > g.t_measure ? g.t_last_done : bench_mono_ns();
  double elapsed = (double)(t_end - g.t_measure) / 1e9;
  uint64_t errors = report(&g, elapsed, cpu, avg_event_bytes);
  for (unsigned i = 0; i < o->connections; i++) {
    conn_close(&g.conns[i]);
    for (unsigned b = 0; b < g.conns[i].nbodies; b++) {
      free(g.conns[i].bodies[b].text);
      free(g.conns[i].bodies[b].line_end);
      free(g.conns[i].bodies[b].time_off);
      free(g.conns[i].bodies[b].tag_off);
      free(g.conns[i].bodies[b].id_off);
    }
    free(g.conns[i].bodies);
    free(g.conns[i].rbuf);
  }
  free(g.conns);
  lat_free(&g.lat);
  close(g.ep);
  return errors ? 1 : 0;
}
