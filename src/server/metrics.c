/* metrics: see metrics.h. */
#include "server/metrics.h"

#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/timeutil.h"

static const char *const ROUTE_LABELS[ROUTE__COUNT] = {
    [ROUTE_INGEST] = "/v1/events",          [ROUTE_QUERY] = "/v1/events",
    [ROUTE_GET] = "/v1/events/{id}",        [ROUTE_COUNT] = "/v1/events/count",
    [ROUTE_HISTOGRAM] = "/v1/events/histogram", [ROUTE_TAIL] = "/v1/tail",
    [ROUTE_HEALTHZ] = "/healthz",           [ROUTE_METRICS] = "/metrics",
    [ROUTE_REGISTRY] = "/v1/registry",      [ROUTE_REGISTRY_TYPE] = "/v1/registry/{type}",
    [ROUTE_REGISTRY_RELOAD] = "/v1/registry/reload",
    [ROUTE_REGISTRY_VALIDATE] = "/v1/registry/validate",
    [ROUTE_MAGMA_EVENTS] = "/magma/v1/events/{network_id}",
    [ROUTE_MAGMA_COUNT] = "/magma/v1/events/{network_id}/about/count",
    [ROUTE_MAGMA_STREAM] = "/magma/v1/events/{network_id}/{stream_name}",
    [ROUTE_OUTPUTS] = "/v1/outputs",
    [ROUTE_ES] = "/{index}/_doc|_bulk",
    [ROUTE_OTLP_LOGS] = "/v1/logs",
    [ROUTE_TOKENS] = "/v1/tokens",
    [ROUTE_LIFECYCLE] = "/v1/events/archive|delete|purge",
    [ROUTE_OTHER] = "other",
};

static const char *const METHOD_LABELS[METHOD__COUNT] = {"GET", "HEAD", "POST", "other"};

static const char *const REJECT_LABELS[REJECT__COUNT] = {
    [REJECT_INVALID] = "invalid",
    [REJECT_TOO_LARGE] = "too_large",
    [REJECT_UNSUPPORTED_MEDIA_TYPE] = "unsupported_media_type",
    [REJECT_OVERLOADED] = "overloaded",
    [REJECT_DISK_FULL] = "disk_full",
    [REJECT_STORE_FAILED] = "store_failed",
    [REJECT_SHUTTING_DOWN] = "shutting_down",
    [REJECT_UNREGISTERED] = "unregistered",
    [REJECT_SCHEMA] = "schema_mismatch",
};

static const char *const INPUT_LABELS[INGEST_INPUT__COUNT] = {
    [INGEST_INPUT_HTTP] = "http",       [INGEST_INPUT_GRPC] = "grpc",
    [INGEST_INPUT_FORWARD] = "forward", [INGEST_INPUT_SYSLOG] = "syslog",
    [INGEST_INPUT_LINES] = "lines",     [INGEST_INPUT_ES] = "es",
    [INGEST_INPUT_OTLP] = "otlp"};
static const char *const OUTCOME_LABELS[INPUT_OUTCOME__COUNT] = {
    [INPUT_OUTCOME_RECEIVED] = "received", [INPUT_OUTCOME_ACCEPTED] = "accepted",
    [INPUT_OUTCOME_REJECTED] = "rejected"};

void metrics_init(metrics *m) {
  memset(m, 0, sizeof *m);
  m->start_time_ns = time_now_ns();
}

const char *route_label(route r) { return r < ROUTE__COUNT ? ROUTE_LABELS[r] : "other"; }

void metrics_count_request(metrics *m, route r, http_method_label method, int code) {
  if (r >= ROUTE__COUNT) r = ROUTE_OTHER;
  if (method >= METHOD__COUNT) method = METHOD_OTHER;
  if (code < METRICS_CODE_MIN || code > METRICS_CODE_MAX) code = 500;
  METRIC_ADD(m->http_requests[r][method][code - METRICS_CODE_MIN], 1);
}

/* Resident set size in bytes from /proc/self/statm, or 0 if unavailable. */
static uint64_t process_rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  int n = fscanf(f, "%llu %llu", &size, &resident);
  fclose(f);
  if (n != 2) return 0;
  long page = sysconf(_SC_PAGESIZE);
  return resident * (uint64_t)(page > 0 ? page : 4096);
}

/* Number of open file descriptors, or -1 if unavailable. */
static long process_open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  long n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the directory stream's own descriptor */
}

static int header(buf *out, const char *name, const char *type, const char *help) {
  return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int counter(buf *out, const char *name, const char *help, uint64_t v) {
  if (header(out, name, "counter", help) != 0) return -1;
  return buf_printf(out, "%s %llu\n", name, (unsigned long long)v);
}

static int gauge(buf *out, const char *name, const char *help, double v) {
  if (header(out, name, "gauge", help) != 0) return -1;
  return buf_printf(out, "%s %.17g\n", name, v);
}

int metrics_render(const metrics *m, const metrics_extra *x, buf *out) {
  int rc = 0;
  rc |= counter(out, "eventd_events_received_total",
                "Events found in requests of every input (accepted or not).",
                METRIC_GET(m->events_received));
  rc |= counter(out, "eventd_events_accepted_total",
                "Events acknowledged with 200 (durable per the sync policy), duplicates included.",
                METRIC_GET(m->events_accepted));
  rc |= counter(out, "eventd_events_duplicate_total",
                "Acknowledged events whose client id was already stored (not stored again).",
                METRIC_GET(m->events_duplicate));
  rc |= header(out, "eventd_events_rejected_total", "counter",
               "Events refused, by reason (a request that could not be split into events "
               "counts as one).");
  for (int r = 0; r < REJECT__COUNT; r++)
    rc |= buf_printf(out, "eventd_events_rejected_total{reason=\"%s\"} %llu\n", REJECT_LABELS[r],
                     (unsigned long long)METRIC_GET(m->events_rejected[r]));
  rc |= header(out, "eventd_input_events_total", "counter",
               "Events received, accepted and rejected, by input (http, grpc).");
  for (int i = 0; i < INGEST_INPUT__COUNT; i++)
    for (int o = 0; o < INPUT_OUTCOME__COUNT; o++)
      rc |= buf_printf(out, "eventd_input_events_total{input=\"%s\",outcome=\"%s\"} %llu\n",
                       INPUT_LABELS[i], OUTCOME_LABELS[o],
                       (unsigned long long)METRIC_GET(m->input_events[i][o]));
  { /* Socket inputs (src/inputs/{forward,syslog,lines}). */
    static const ingest_input SOCK[] = {INGEST_INPUT_FORWARD, INGEST_INPUT_SYSLOG, INGEST_INPUT_LINES};
    static const struct {
      const char *name, *type, *help;
      size_t off;
    } SM[] = {
        {"eventd_input_connections_total", "counter", "TCP connections accepted, by socket input.",
         offsetof(metrics, input_connections)},
        {"eventd_input_connections_open", "gauge", "TCP connections open, by socket input.",
         offsetof(metrics, input_connections_open)},
        {"eventd_input_connections_refused_total", "counter",
         "TCP connections closed at accept (over max_connections), by socket input.",
         offsetof(metrics, input_connections_refused)},
        {"eventd_input_bytes_total", "counter", "Bytes received (TCP and UDP), by socket input.",
         offsetof(metrics, input_bytes)}};
    for (size_t k = 0; k < sizeof SM / sizeof SM[0]; k++) {
      rc |= header(out, SM[k].name, SM[k].type, SM[k].help);
      const uint64_t *arr = (const uint64_t *)((const char *)m + SM[k].off);
      for (size_t i = 0; i < sizeof SOCK / sizeof SOCK[0]; i++)
        rc |= buf_printf(out, "%s{input=\"%s\"} %llu\n", SM[k].name, INPUT_LABELS[SOCK[i]],
                         (unsigned long long)METRIC_GET(arr[SOCK[i]]));
    }
    /* Their guards (src/inputs/sock_guard.h). */
    static const char *const CLOSE_LABELS[] = {"idle", "slow", "refused", "identity"};
    static const char *const DROP_LABELS[] = {"refused", "rate_limited"};
    rc |= header(out, "eventd_input_connections_closed_total", "counter",
                 "TCP connections closed by a socket input: idle, slow (frame timeout), refused "
                 "(allow list), identity (client certificate not an ingest token).");
    for (size_t i = 0; i < sizeof SOCK / sizeof SOCK[0]; i++)
      for (size_t r = 0; r < 4; r++)
        rc |= buf_printf(out, "eventd_input_connections_closed_total{input=\"%s\",reason=\"%s\"} %llu\n",
                         INPUT_LABELS[SOCK[i]], CLOSE_LABELS[r],
                         (unsigned long long)METRIC_GET(m->input_closed[SOCK[i]][r]));
    rc |= header(out, "eventd_input_datagrams_dropped_total", "counter",
                 "UDP datagrams dropped by a socket input: refused (allow list), rate_limited.");
    for (size_t i = 0; i < sizeof SOCK / sizeof SOCK[0]; i++)
      for (size_t r = 0; r < 2; r++)
        rc |= buf_printf(out, "eventd_input_datagrams_dropped_total{input=\"%s\",reason=\"%s\"} %llu\n",
                         INPUT_LABELS[SOCK[i]], DROP_LABELS[r],
                         (unsigned long long)METRIC_GET(m->input_dropped[SOCK[i]][r]));
    rc |= header(out, "eventd_input_rate_limited_total", "counter",
                 "Times a socket input paused reading a TCP connection for "
                 "limits.socket_rate_per_peer.");
    for (size_t i = 0; i < sizeof SOCK / sizeof SOCK[0]; i++)
      rc |= buf_printf(out, "eventd_input_rate_limited_total{input=\"%s\"} %llu\n",
                       INPUT_LABELS[SOCK[i]],
                       (unsigned long long)METRIC_GET(m->input_rate_delayed[SOCK[i]]));
  }
  rc |= header(out, "eventd_registry_reloads_total", "counter",
               "Registry reloads (SIGHUP, POST /v1/registry/reload), by result.");
  rc |= buf_printf(out, "eventd_registry_reloads_total{result=\"ok\"} %llu\n",
                   (unsigned long long)METRIC_GET(m->registry_reloads[0]));
  rc |= buf_printf(out, "eventd_registry_reloads_total{result=\"failed\"} %llu\n",
                   (unsigned long long)METRIC_GET(m->registry_reloads[1]));
  rc |= counter(out, "eventd_ingest_bytes_total", "Bytes of POST /v1/events bodies received.",
                METRIC_GET(m->ingest_bytes));
  rc |= gauge(out, "eventd_ingest_inflight_requests",
              "Ingest requests waiting for the store to make them durable.",
              (double)METRIC_GET(m->ingest_requests_inflight));

  rc |= header(out, "eventd_http_requests_total", "counter",
               "HTTP requests answered, by endpoint, method and status code.");
  for (int r = 0; r < ROUTE__COUNT; r++)
    for (int me = 0; me < METHOD__COUNT; me++)
      for (int c = 0; c <= METRICS_CODE_MAX - METRICS_CODE_MIN; c++) {
        uint64_t v = METRIC_GET(m->http_requests[r][me][c]);
        if (v)
          rc |= buf_printf(out,
                           "eventd_http_requests_total{path=\"%s\",method=\"%s\",code=\"%d\"} "
                           "%llu\n",
                           ROUTE_LABELS[r], METHOD_LABELS[me], c + METRICS_CODE_MIN,
                           (unsigned long long)v);
      }

  const store_stats *st = x->store;
  rc |= gauge(out, "eventd_store_segments", "Segment files (sealed and active).",
              (double)st->segments);
  rc |= gauge(out, "eventd_store_bytes", "Bytes on disk: segments and their indexes.",
              (double)st->bytes);
  rc |= gauge(out, "eventd_store_records", "Records currently retained.", (double)st->records);
  rc |= gauge(out, "eventd_store_committed_seq", "Sequence number of the newest durable record.",
              (double)st->committed_seq);
  rc |= counter(out, "eventd_store_appended_records_total", "Records appended since start.",
                st->appended_records);
  rc |= counter(out, "eventd_store_appended_bytes_total", "Record bytes appended since start.",
                st->appended_bytes);
  rc |= gauge(out, "eventd_store_queue_bytes", "Bytes queued for the store writer.",
              (double)st->queue_bytes);
  rc |= gauge(out, "eventd_store_queue_batches", "Batches queued for the store writer.",
              (double)st->queue_batches);
  rc |= counter(out, "eventd_store_retention_dropped_segments_total",
                "Segments dropped by retention since start.", st->retention_dropped_segments);
  rc |= counter(out, "eventd_store_compacted_segments_total",
                "Segments rewritten without their deleted events since start (docs/lifecycle.md).",
                st->compacted_segments);
  rc |= counter(out, "eventd_store_compacted_bytes_total",
                "Bytes reclaimed by compaction since start.", st->compacted_bytes);
  rc |= gauge(out, "eventd_store_failed", "1 when the store refuses writes after an I/O error.",
              st->failed ? 1 : 0);
  rc |= header(out, "eventd_store_fsync_seconds", "histogram",
               "Latency of the store's fdatasync calls.");
  uint64_t cum = 0;
  for (int b = 0; b < STORE_FSYNC_BUCKETS; b++) {
    cum += st->fsync_buckets[b];
    if (b == STORE_FSYNC_BUCKETS - 1)
      rc |= buf_printf(out, "eventd_store_fsync_seconds_bucket{le=\"+Inf\"} %llu\n",
                       (unsigned long long)cum);
    else
      rc |= buf_printf(out, "eventd_store_fsync_seconds_bucket{le=\"%g\"} %llu\n",
                       store_fsync_bucket_bounds[b], (unsigned long long)cum);
  }
  rc |= buf_printf(out, "eventd_store_fsync_seconds_sum %.9f\n", st->fsync_seconds_sum);
  rc |= buf_printf(out, "eventd_store_fsync_seconds_count %llu\n", (unsigned long long)st->fsyncs);

  rc |= gauge(out, "eventd_tail_clients", "Connected live-tail (SSE) clients.",
              (double)x->tail_clients);
  rc |= counter(out, "eventd_tail_events_sent_total", "Events written to live-tail clients.",
                METRIC_GET(m->tail_events_sent));

  rc |= header(out, "eventd_build_info", "gauge", "Build information; the value is always 1.");
  rc |= buf_printf(out, "eventd_build_info{version=\"%s\"} 1\n", x->version);
  rc |= gauge(out, "eventd_start_time_seconds", "When the daemon started, seconds since the epoch.",
              (double)m->start_time_ns / 1e9);
  rc |= gauge(out, "eventd_process_resident_memory_bytes", "Resident memory size in bytes.",
              (double)process_rss_bytes());
  long fds = process_open_fds();
  if (fds >= 0)
    rc |= gauge(out, "eventd_process_open_fds", "Open file descriptors.", (double)fds);
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    rc |= header(out, "eventd_process_cpu_seconds_total", "counter",
                 "User and system CPU time spent, in seconds.");
    rc |= buf_printf(out, "eventd_process_cpu_seconds_total %.6f\n", cpu);
  }
  return rc ? -1 : 0;
}
