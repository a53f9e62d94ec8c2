/* evd-emit — emit N events through libeventd and report what happened to them.
 *
 * An example of the client API (options from the environment, building events, counters,
 * flush and close) and the driver of libeventd's integration tests and benchmark.
 *
 *   evd-emit [-n COUNT] [-t TYPE] [-l KEY=VALUE]... [-r RATE] [-f FLUSH_MS] [-k EVERY]
 *            [-s SLEEP_MS] [-c CLOSE_MS] [-C] [-q]
 *
 *   -n COUNT     events to emit (default 10); each has data {"seq": i} (0-based)
 *   -t TYPE      event type (default "example.tick")
 *   -l K=V       a label on every event (repeatable)
 *   -r RATE      at most RATE events per second (default: as fast as possible)
 *   -f MS        evd_client_flush(MS) after emitting; prints "flushed" or "flush timed out"
 *   -k EVERY     evd_client_flush(no limit) after every EVERY events, then print
 *                "checkpoint I" (I events are acknowledged or in the spool)
 *   -s MS        sleep MS after emitting (and flushing) before closing
 *   -c MS        evd_client_close timeout (default 5000)
 *   -b K:BYTES   every K-th event (seq % K == K-1) gets a message of BYTES bytes
 *   -C           also count the events in the counter "evd_emit.events" (sent as a
 *                metric.counter event every metrics interval and at close)
 *   -q           print nothing but the final line
 *
 * Configuration comes from the environment (EVENTD_URL, EVENTD_SPOOL, ... see eventd.h).
 * Output: "emitted=N failed=F" after emitting, the client's stats as one JSON line, and
 * "undelivered=U elapsed_ms=T" after close. Exit status 0, or 1 when the client cannot open. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <eventd/eventd.h>

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int main(int argc, char **argv) {
  long count = 10, rate = 0, every = 0, big_every = 0, big_bytes = 0, flush_ms = -1, sleep_after = 0, close_ms = 5000;
  const char *type = "example.tick";
  const char *labels[32];
  int nlabels = 0, quiet = 0, counter = 0, opt;
  while ((opt = getopt(argc, argv, "n:t:l:r:f:k:b:s:c:Cq")) != -1) {
    switch (opt) {
      case 'n': count = atol(optarg); break;
      case 't': type = optarg; break;
      case 'l':
        if (nlabels < 32) labels[nlabels++] = optarg;
        break;
      case 'r': rate = atol(optarg); break;
      case 'f': flush_ms = atol(optarg); break;
      case 'k': every = atol(optarg); break;
      case 'b':
        big_every = atol(optarg);
        big_bytes = strchr(optarg, ':') ? atol(strchr(optarg, ':') + 1) : 0;
        break;
      case 's': sleep_after = atol(optarg); break;
      case 'c': close_ms = atol(optarg); break;
      case 'q': quiet = 1; break;
      case 'C': counter = 1; break;
      default:
        fprintf(stderr, "usage: %s [-n COUNT] [-t TYPE] [-l K=V]... [-r RATE] [-f MS] [-k N]\n"
                        "  [-b K:BYTES] [-s MS] "
                        "[-c MS] [-C] [-q]\n", argv[0]);
        return 2;
    }
  }
  char err[256];
  evd_client *c = evd_client_open_err(NULL, err, sizeof err);
  if (c == NULL) {
    fprintf(stderr, "evd-emit: %s\n", err);
    return 1;
  }
  int64_t t0 = mono_ms();
  long failed = 0;
  for (long i = 0; i < count; i++) {
    if (rate > 0) {
      int64_t due = t0 + i * 1000 / rate;
      int64_t now = mono_ms();
      if (due > now) sleep_ms((long)(due - now));
    }
    evd_event *ev = evd_event_new(type);
    if (ev == NULL) {
      fprintf(stderr, "evd-emit: type '%s': %s\n", type, strerror(errno));
      evd_client_close(c, 0);
      return 2;
    }
    evd_event_set_data_int(ev, "seq", i);
    if (big_every > 0 && big_bytes > 0 && i % big_every == big_every - 1) {
      char *m = malloc((size_t)big_bytes + 1);
      if (m) {
        memset(m, 'x', (size_t)big_bytes);
        m[big_bytes] = '\0';
        if (evd_event_set_message(ev, m) != 0) fprintf(stderr, "evd-emit: %s\n", evd_event_error(ev));
        free(m);
      }
    }
    for (int k = 0; k < nlabels; k++) {
      char kv[512];
      snprintf(kv, sizeof kv, "%s", labels[k]);
      char *eq = strchr(kv, '=');
      if (eq == NULL) continue;
      *eq = '\0';
      if (evd_event_set_label(ev, kv, eq + 1) != 0)
        fprintf(stderr, "evd-emit: %s\n", evd_event_error(ev));
    }
    if (evd_emit(c, ev) != 0) failed++;
    if (counter) evd_counter_add(c, "evd_emit.events", 1);
    if (every > 0 && (i + 1) % every == 0 && evd_client_flush(c, -1) == 0) {
      printf("checkpoint %ld\n", i + 1);
      fflush(stdout);
    }
  }
  if (!quiet) printf("emitted=%ld failed=%ld\n", count - failed, failed);
  if (flush_ms >= 0) {
    int rc = evd_client_flush(c, (int)flush_ms);
    if (!quiet) printf("%s\n", rc == 0 ? "flushed" : "flush timed out");
  }
  fflush(stdout);
  if (sleep_after > 0) sleep_ms(sleep_after);
  evd_stats st;
  if (evd_client_stats(c, &st) == 0 && !quiet) {
    printf("{\"emitted\":%" PRIu64 ",\"delivered\":%" PRIu64 ",\"duplicates\":%" PRIu64
           ",\"rejected\":%" PRIu64 ",\"dropped_newest\":%" PRIu64 ",\"dropped_oldest\":%" PRIu64
           ",\"dropped_block_timeout\":%" PRIu64 ",\"blocked\":%" PRIu64 ",\"spooled\":%" PRIu64
           ",\"recovered\":%" PRIu64 ",\"requests\":%" PRIu64 ",\"request_failures\":%" PRIu64
           ",\"retries\":%" PRIu64 ",\"queue_events\":%" PRIu64 ",\"spool_events\":%" PRIu64
           ",\"spool_bytes\":%" PRIu64 ",\"connected\":%d}\n",
           st.emitted, st.delivered, st.duplicates, st.rejected, st.dropped_newest,
           st.dropped_oldest, st.dropped_block_timeout, st.blocked, st.spooled, st.recovered,
           st.requests, st.request_failures, st.retries, st.queue_events, st.spool_events,
           st.spool_bytes, st.connected);
    if (st.last_error[0]) printf("last_error: %s\n", st.last_error);
  }
  int64_t tc = mono_ms();
  uint64_t left = evd_client_close(c, (int)close_ms);
  printf("undelivered=%" PRIu64 " close_ms=%" PRId64 "\n", left, mono_ms() - tc);
  return 0;
}
