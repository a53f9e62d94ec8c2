/* client_bench — libeventd's cost on the application's thread, and one client's throughput.
 *
 *   client_bench latency URL [EVENTS] [RATE]   evd_emit cost per call (ns: p50, p99, p99.9,
 *                                              max) at RATE events/s (default 200000 events
 *                                              at 50000/s); URL "slow" starts an in-process
 *                                              HTTP server that answers every request after
 *                                              500 ms, "down" a port nothing listens on
 *   URL "sink" (both modes): an in-process HTTP server that answers at once without
 *   parsing — the library's own ceiling, without eventd's ingest cost.
 *   client_bench throughput URL [EVENTS]       emit EVENTS (default 1000000) as fast as
 *                                              possible; events/s from the first emit until
 *                                              eventd has acknowledged every event
 *
 * The event is built before the timed call (its cost is printed separately: build_ns). The
 * environment configures the client as usual (EVENTD_SPOOL etc.). Output: one line of
 * key=value pairs. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <eventd/eventd.h>

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU time used by this process so far (user + system), ns. */
static int64_t cpu_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
         ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static evd_event *make_event(long i) {
  evd_event *ev = evd_event_new("bench.session_created");
  evd_event_set_stream(ev, "sessiond");
  evd_event_set_tag(ev, "IMSI001010000000001");
  evd_event_set_label(ev, "env", "bench");
  evd_event_set_data_int(ev, "seq", i);
  evd_event_set_data_string(ev, "apn", "internet");
  return ev;
}

/* ---- a slow HTTP server: answers each request after 500 ms ---------------------------- */

static long answer_delay_ms; /* set once before the server starts */

static void *slow_conn(void *arg) {
  int fd = (int)(intptr_t)arg;
  char *buf = malloc(1 << 20);
  size_t have = 0;
  for (;;) {
    char *e = NULL;
    while ((e = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
      if (have >= (1 << 20) - 1) goto out;
      ssize_t r = recv(fd, buf + have, (1 << 20) - 1 - have, 0);
      if (r <= 0) goto out;
      have += (size_t)r;
    }
    size_t head = (size_t)(e - buf) + 4, clen = 0;
    char saved = buf[head];
    buf[head] = '\0'; /* search the head only */
    char *cl = strcasestr(buf, "Content-Length:");
    if (cl) clen = strtoul(cl + 15, NULL, 10);
    buf[head] = saved;
    if (head + clen > (1 << 20) - 1) goto out;
    size_t lines = 0;
    while (have < head + clen) {
      ssize_t r = recv(fd, buf + have, (1 << 20) - have, 0);
      if (r <= 0) goto out;
      have += (size_t)r;
      if (have == 1 << 20) goto out;
    }
    for (size_t i = head; i < head + clen; i++) lines += buf[i] == '\n';
    struct timespec ts = {answer_delay_ms / 1000, (answer_delay_ms % 1000) * 1000000L};
    if (answer_delay_ms) nanosleep(&ts, NULL);
    char body[128], resp[256];
    int bl = snprintf(body, sizeof body, "{\"accepted\":%zu,\"duplicates\":0,\"ids\":[]}", lines);
    int rl = snprintf(resp, sizeof resp,
                      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d"
                      "\r\n\r\n%s", bl, body);
    if (send(fd, resp, (size_t)rl, MSG_NOSIGNAL) != rl) goto out;
    memmove(buf, buf + head + clen, have - head - clen);
    have -= head + clen;
  }
out:
  free(buf);
  close(fd);
  return NULL;
}

static void *slow_server(void *arg) {
  int lfd = (int)(intptr_t)arg;
  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) continue;
    pthread_t t;
    pthread_create(&t, NULL, slow_conn, (void *)(intptr_t)fd);
    pthread_detach(t);
  }
  return NULL;
}

static char *start_slow_server(long delay_ms) {
  answer_delay_ms = delay_ms;
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 16) != 0 ||
      getsockname(lfd, (struct sockaddr *)&a, &al) != 0) {
    perror("slow server");
    exit(1);
  }
  pthread_t t;
  pthread_create(&t, NULL, slow_server, (void *)(intptr_t)lfd);
  pthread_detach(t);
  static char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
  return url;
}

/* block_timeout_ms: 0 = the default (100 ms); the throughput mode waits as long as it takes,
 * so that it measures sustained delivery with no event dropped. */
static evd_client *open_client(const char *url, unsigned block_timeout_ms) {
  evd_options o;
  evd_options_init(&o);
  o.url = url;
  o.block_timeout_ms = block_timeout_ms;
  char err[256];
  evd_client *c = evd_client_open_err(&o, err, sizeof err);
  if (c == NULL) {
    fprintf(stderr, "client_bench: %s\n", err);
    exit(1);
  }
  return c;
}

static void print_stats(evd_client *c) {
  evd_stats st;
  evd_client_stats(c, &st);
  printf(" delivered=%" PRIu64 " spooled=%" PRIu64 " dropped=%" PRIu64 " blocked=%" PRIu64,
         st.delivered, st.spooled,
         st.dropped_newest + st.dropped_oldest + st.dropped_block_timeout, st.blocked);
}

static int latency(const char *url, long n, long rate) {
  if (strcmp(url, "slow") == 0) url = start_slow_server(500);
  else if (strcmp(url, "sink") == 0) url = start_slow_server(0);
  if (strcmp(url, "down") == 0) url = "http://127.0.0.1:1";
  evd_client *c = open_client(url, 0);
  int64_t *lat = malloc((size_t)n * sizeof *lat);
  int64_t build_total = 0;
  int64_t t0 = now_ns();
  long failed = 0;
  for (long i = 0; i < n; i++) {
    int64_t due = t0 + (int64_t)((double)i * 1e9 / (double)rate);
    while (now_ns() < due) {
    }
    int64_t b0 = now_ns();
    evd_event *ev = make_event(i);
    int64_t b1 = now_ns();
    if (evd_emit(c, ev) != 0) failed++;
    int64_t b2 = now_ns();
    build_total += b1 - b0;
    lat[i] = b2 - b1;
  }
  int64_t elapsed = now_ns() - t0;
  /* the cost of reading the clock, measured the same way */
  int64_t clk[1000];
  for (int i = 0; i < 1000; i++) {
    int64_t a = now_ns();
    clk[i] = now_ns() - a;
  }
  qsort(clk, 1000, sizeof *clk, cmp_i64);
  qsort(lat, (size_t)n, sizeof *lat, cmp_i64);
  printf("mode=latency url=%s events=%ld rate=%ld achieved_rate=%.0f p50_ns=%" PRId64
         " p99_ns=%" PRId64 " p999_ns=%" PRId64 " max_ns=%" PRId64 " build_ns=%" PRId64
         " clock_ns=%" PRId64 " failed=%ld",
         url, n, rate, (double)n * 1e9 / (double)elapsed, lat[n / 2], lat[n * 99 / 100],
         lat[n * 999 / 1000], lat[n - 1], build_total / n, clk[500], failed);
  print_stats(c);
  printf("\n");
  free(lat);
  evd_client_close(c, 0);
  return 0;
}

static int throughput(const char *url, long n) {
  if (strcmp(url, "sink") == 0) url = start_slow_server(0);
  evd_client *c = open_client(url, 60000);
  int64_t cpu0 = cpu_ns();
  int64_t t0 = now_ns();
  long failed = 0;
  for (long i = 0; i < n; i++)
    if (evd_emit(c, make_event(i)) != 0) failed++;
  int64_t t1 = now_ns();
  /* until every event is acknowledged by eventd (a flush would also return for spooled
     events), at most 120 s */
  int rc = -1;
  evd_stats st;
  while (now_ns() - t1 < 120 * (int64_t)1000000000) {
    evd_client_stats(c, &st);
    if (st.delivered + st.rejected + st.dropped_newest + st.dropped_oldest +
            st.dropped_block_timeout >= (uint64_t)n) {
      rc = 0;
      break;
    }
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  int64_t t2 = now_ns();
  /* the whole process: the emitting thread, the worker, and (sink) the little server */
  double cpu_us = (double)(cpu_ns() - cpu0) / 1e3 / (double)n;
  printf("mode=throughput url=%s events=%ld emit_rate=%.0f delivered_rate=%.0f flush=%s failed=%ld"
         " client_cpu_us_per_event=%.3f",
         url, n, (double)n * 1e9 / (double)(t1 - t0), (double)n * 1e9 / (double)(t2 - t0),
         rc == 0 ? "ok" : "timeout", failed, cpu_us);
  print_stats(c);
  printf("\n");
  evd_client_close(c, 10000);
  return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: client_bench latency URL|slow|down|sink [EVENTS] [RATE]\n"
                    "       client_bench throughput URL|sink [EVENTS]\n");
    return 2;
  }
  if (strcmp(argv[1], "latency") == 0)
    return latency(argv[2], argc > 3 ? atol(argv[3]) : 200000, argc > 4 ? atol(argv[4]) : 50000);
  if (strcmp(argv[1], "throughput") == 0)
    return throughput(argv[2], argc > 3 ? atol(argv[3]) : 1000000);
  fprintf(stderr, "client_bench: unknown mode '%s'\n", argv[1]);
  return 2;
}
