/* metrics: the daemon's counters and the Prometheus text exposition of GET /metrics.
 *
 * Counters are plain 64-bit values bumped with relaxed atomic adds, so any thread may count
 * (today only the event loop does). Gauges of the store (segments, bytes, queue, fsync
 * latency histogram) are read from store_get_stats at scrape time. */
#ifndef EVD_SERVER_METRICS_H
#define EVD_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "store/store.h"

/* Endpoints, as the `path` label of eventd_http_requests_total (bounded set). */
typedef enum route {
  ROUTE_INGEST = 0, /* POST /v1/events */
  ROUTE_QUERY,      /* GET /v1/events */
  ROUTE_GET,        /* GET /v1/events/{id} */
  ROUTE_COUNT,      /* GET /v1/events/count */
  ROUTE_HISTOGRAM,  /* GET /v1/events/histogram */
  ROUTE_TAIL,       /* GET /v1/tail */
  ROUTE_HEALTHZ,    /* GET /healthz */
  ROUTE_METRICS,    /* GET /metrics */
  ROUTE_REGISTRY,   /* GET /v1/registry */
  ROUTE_REGISTRY_TYPE,     /* GET /v1/registry/{type} */
  ROUTE_REGISTRY_RELOAD,   /* POST /v1/registry/reload */
  ROUTE_REGISTRY_VALIDATE, /* POST /v1/registry/validate */
  ROUTE_MAGMA_EVENTS,      /* GET /magma/v1/events/{network_id} */
  ROUTE_MAGMA_COUNT,       /* GET /magma/v1/events/{network_id}/about/count */
  ROUTE_MAGMA_STREAM,      /* GET /magma/v1/events/{network_id}/{stream_name} */
  ROUTE_OUTPUTS,    /* /v1/outputs and everything under it (outputs API) */
  ROUTE_ES,         /* Elasticsearch-compatible: GET /, /{index}/_doc, /_bulk, ... */
  ROUTE_OTLP_LOGS,  /* POST /v1/logs (OTLP/HTTP) */
  ROUTE_TOKENS,     /* /v1/tokens and /v1/tokens/{id} (access control, http_tokens.c) */
  ROUTE_LIFECYCLE,  /* POST /v1/events/archive, /delete, /purge (http_lifecycle.c) */
  ROUTE_OTHER,      /* anything else (404s) */
  ROUTE__COUNT
} route;

/* Why events were refused (label `reason` of eventd_events_rejected_total). */
typedef enum reject_reason {
  REJECT_INVALID = 0,            /* 400: bad JSON, bad field, missing type */
  REJECT_TOO_LARGE,              /* 400/413: an event or the body over a limit */
  REJECT_UNSUPPORTED_MEDIA_TYPE, /* 415 */
  REJECT_OVERLOADED,             /* 503: store queue full */
  REJECT_DISK_FULL,              /* 503: ENOSPC */
  REJECT_STORE_FAILED,           /* 503: store I/O error */
  REJECT_SHUTTING_DOWN,          /* 503: daemon stopping */
  REJECT_UNREGISTERED,           /* 400: type not in the registry (policy reject) */
  REJECT_SCHEMA,                 /* 400: data does not match the type's schema */
  REJECT__COUNT
} reject_reason;

/* The inputs events arrive through (label `input` of eventd_input_events_total). */
typedef enum ingest_input {
  INGEST_INPUT_HTTP = 0, /* POST /v1/events */
  INGEST_INPUT_GRPC,     /* gRPC (Magma EventService, eventd.v1) */
  INGEST_INPUT_FORWARD,  /* Fluentd Forward Protocol */
  INGEST_INPUT_SYSLOG,   /* RFC 5424 / 3164 over UDP and TCP */
  INGEST_INPUT_LINES,    /* JSON lines over TCP and UDP */
  INGEST_INPUT_ES,       /* Elasticsearch-compatible _doc / _bulk */
  INGEST_INPUT_OTLP,     /* OTLP/HTTP logs */
  INGEST_INPUT__COUNT
} ingest_input;
/* What happened to them (label `outcome`). */
enum { INPUT_OUTCOME_RECEIVED = 0, INPUT_OUTCOME_ACCEPTED, INPUT_OUTCOME_REJECTED, INPUT_OUTCOME__COUNT };

/* Request methods, as the `method` label. */
typedef enum http_method_label { METHOD_GET = 0, METHOD_HEAD, METHOD_POST, METHOD_OTHER, METHOD__COUNT } http_method_label;

#define METRICS_CODE_MIN 100
#define METRICS_CODE_MAX 599

/* Why a socket input closed a TCP connection (label `reason` of
 * eventd_input_connections_closed_total): idle (limits.socket_idle_timeout), slow
 * (limits.socket_frame_timeout), refused (<input>.allow), identity (client certificate CN
 * not an active ingest token). */
enum { SOCK_CLOSE_IDLE = 0, SOCK_CLOSE_SLOW, SOCK_CLOSE_REFUSED, SOCK_CLOSE_IDENTITY };
/* Why a UDP datagram was dropped (eventd_input_datagrams_dropped_total): refused
 * (<input>.allow), rate_limited (limits.socket_rate_per_peer). */
enum { SOCK_DROP_REFUSED = 0, SOCK_DROP_RATE_LIMITED };

typedef struct metrics {
  uint64_t events_received;  /* events found in requests of every input */
  uint64_t events_accepted;  /* events acknowledged (200), duplicates included */
  uint64_t events_duplicate; /* ... of which already stored (client id seen before) */
  uint64_t events_rejected[REJECT__COUNT];
  uint64_t input_events[INGEST_INPUT__COUNT][INPUT_OUTCOME__COUNT]; /* the same, per input */
  /* Socket inputs (forward, syslog, lines): TCP connections accepted, open (gauge), closed
   * at accept because of max_connections, and bytes received (TCP and UDP). */
  uint64_t input_connections[INGEST_INPUT__COUNT];
  uint64_t input_connections_open[INGEST_INPUT__COUNT];
  uint64_t input_connections_refused[INGEST_INPUT__COUNT];
  uint64_t input_bytes[INGEST_INPUT__COUNT];
  /* Socket inputs' guards (src/inputs/sock_guard.h; issue 7): TCP connections closed by
   * reason (SOCK_CLOSE_*), UDP datagrams dropped (SOCK_DROP_*), TCP reads paused by
   * limits.socket_rate_per_peer. */
  uint64_t input_closed[INGEST_INPUT__COUNT][4];
  uint64_t input_dropped[INGEST_INPUT__COUNT][2];
  uint64_t input_rate_delayed[INGEST_INPUT__COUNT];
  uint64_t ingest_bytes;     /* POST /v1/events body bytes */
  uint64_t ingest_requests_inflight; /* gauge: appends waiting for the store */
  uint64_t tail_events_sent;
  uint64_t registry_reloads[2];      /* [0] succeeded, [1] failed (SIGHUP or HTTP) */
  uint64_t http_requests[ROUTE__COUNT][METHOD__COUNT][METRICS_CODE_MAX - METRICS_CODE_MIN + 1];
  int64_t start_time_ns;
} metrics;

#define METRIC_ADD(field, n) __atomic_fetch_add(&(field), (uint64_t)(n), __ATOMIC_RELAXED)
#define METRIC_SUB(field, n) __atomic_fetch_sub(&(field), (uint64_t)(n), __ATOMIC_RELAXED)
#define METRIC_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* Zero everything; start time = now. */
void metrics_init(metrics *m);

/* Count one answered HTTP request. */
void metrics_count_request(metrics *m, route r, http_method_label method, int code);

/* The `path` label of a route ("/v1/events", "/v1/events/{id}", ..., "other"). */
const char *route_label(route r);

/* Everything the exposition shows besides the counters. */
typedef struct metrics_extra {
  const store_stats *store;
  size_t tail_clients;
  const char *version;
} metrics_extra;

/* Append the Prometheus text exposition (version 0.0.4) to out. Returns 0 or -1 (OOM). */
int metrics_render(const metrics *m, const metrics_extra *x, buf *out);

#endif
