/* config: see config.h. Every setting is one row of SETTINGS: its dotted name, its kind of
 * value, where it lives in evd_config and its bounds. The YAML walker, config_set,
 * --print-config and the tests all work from that one table, so a new setting is one row
 * (plus its line in docs/configuration.md and examples/eventd.yml). */
#include "server/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "core/timeutil.h"
#include "outputs/outputs_config.h"
#include "registry/registry.h"
#include "server/log.h"

typedef enum setting_kind {
  K_STRING,   /* char *, non-empty */
  K_LISTEN,   /* char *, HOST:PORT */
  K_LISTEN_OFF, /* char *, HOST:PORT or "off" */
  K_SIZE,     /* uint64_t bytes */
  K_SIZE_T,   /* size_t bytes */
  K_COUNT,    /* uint64_t plain integer */
  K_COUNT_T,  /* size_t plain integer */
  K_INT,      /* int plain integer */
  K_DURATION, /* int64_t ns */
  K_SYNC,     /* store_sync */
  K_LOGLEVEL, /* int LOG_* */
  K_OPT_PATH, /* char *, NULL when unset ("" unsets) */
  K_DIRLIST,  /* registry.spec_dirs: char ** + count; a YAML list or "a,b" */
  K_POLICY,   /* int registry_policy */
  K_STREAMS,  /* registry.streams: evd_stream_policy * + count; a YAML mapping or "s=p,..." */
  K_OUTPUTS   /* outputs.list: JSON specs (src/outputs/outputs_config.c); a YAML list */
} setting_kind;

typedef struct setting {
  const char *name;
  setting_kind kind;
  size_t offset;
  uint64_t min, max; /* bounds for numbers, sizes and durations (ns) */
  const char *help;  /* one line, for --print-config */
} setting;

#define OFF(field) offsetof(evd_config, field)
#define NS_MAX ((uint64_t)INT64_MAX)
#define GiB (1024ull * 1024 * 1024)

static const setting SETTINGS[] = {
    {"data_dir", K_STRING, OFF(data_dir), 0, 0, "where the store keeps its segments"},
    {"log_level", K_LOGLEVEL, OFF(log_level), 0, 0, "error | warn | info | debug"},
    {"sync", K_SYNC, OFF(sync), 0, 0, "always | batch | none: when an append is durable"},
    {"sync_interval", K_DURATION, OFF(sync_interval_ns), 1000000, NS_MAX,
     "with sync: none, fdatasync at least this often"},
    {"shutdown_timeout", K_DURATION, OFF(shutdown_timeout_ns), 0, NS_MAX,
     "on SIGTERM, wait this long for in-flight appends"},
    {"http.listen", K_LISTEN, OFF(http_listen), 0, 0, "HOST:PORT of the HTTP API (port 0 = any)"},
    {"http.idle_timeout", K_DURATION, OFF(http_idle_timeout_ns), NS_PER_SEC, NS_MAX,
     "close a connection idle (or stalled) this long"},
    {"http.max_header_bytes", K_SIZE, OFF(http_max_header_bytes), 1024, 16 * 1024 * 1024,
     "bound on the request line plus headers"},
    /* http.tls.*, connection limits, slow clients (issue 7; docs/security.md) */
    {"http.tls.cert", K_OPT_PATH, OFF(http_tls_cert), 0, 0,
     "PEM certificate (chain): HTTPS on http.listen; with http.tls.key; \"\" = plain HTTP"},
    {"http.tls.key", K_OPT_PATH, OFF(http_tls_key), 0, 0, "PEM private key for http.tls.cert"},
    {"http.tls.client_ca", K_OPT_PATH, OFF(http_tls_client_ca), 0, 0,
     "PEM CA bundle: require client certificates signed by it (mTLS); \"\" = none"},
    {"http.max_connections", K_COUNT, OFF(http_max_connections), 0, 10000000,
     "open HTTP connections; more get 503 and are closed (0 = no bound)"},
    {"http.header_timeout", K_DURATION, OFF(http_header_timeout_ns), NS_PER_SEC / 10, NS_MAX,
     "a request's headers must arrive within this of its first byte (TLS: of accept)"},
    {"http.body_timeout", K_DURATION, OFF(http_body_timeout_ns), NS_PER_SEC / 10, NS_MAX,
     "a whole request must arrive within this of its first byte"},
    {"store.segment_max_bytes", K_SIZE, OFF(segment_max_bytes), 4096, 64 * GiB,
     "roll the active segment past this size"},
    {"store.segment_max_age", K_DURATION, OFF(segment_max_age_ns), NS_PER_SEC, NS_MAX,
     "... or past this age"},
    {"store.queue_max_bytes", K_SIZE, OFF(queue_max_bytes), 4096, 64 * GiB,
     "bytes waiting for the writer before ingest answers 503"},
    {"retention.max_age", K_DURATION, OFF(retention_max_age_ns), 0, NS_MAX,
     "drop segments whose newest event is older (0 = keep)"},
    {"retention.max_bytes", K_SIZE, OFF(retention_max_bytes), 0, UINT64_MAX,
     "drop oldest segments while the store is larger (0 = no bound)"},
    /* Event lifecycle of issue 7 (docs/lifecycle.md). */
    {"purge.after", K_DURATION, OFF(purge_after_ns), 0, NS_MAX,
     "delete events older than this (event time), like event.purge.delay (0 = never)"},
    {"purge.archived_after", K_DURATION, OFF(purge_archived_after_ns), 0, NS_MAX,
     "delete archived events older than this (0 = as purge.after)"},
    {"purge.interval", K_DURATION, OFF(purge_interval_ns), NS_PER_SEC, NS_MAX,
     "how often the purge runs"},
    {"purge.streams", K_OPT_PATH, OFF(purge_streams), 0, 0, /* optional string */
     "per-stream purge.after: \"stream=15d,debug=1d\" (overrides purge.after)"},
    {"limits.event_max_bytes", K_SIZE_T, OFF(limits.event_max_bytes), 64, 1 * GiB,
     "one event's JSON as received"},
    {"limits.body_max_bytes", K_SIZE_T, OFF(limits.body_max_bytes), 64, 4 * GiB,
     "one request body"},
    {"limits.labels_max", K_COUNT_T, OFF(limits.labels_max), 0, 65535, "labels per event"},
    {"limits.name_max", K_SIZE_T, OFF(limits.name_max), 1, 65535,
     "tenant, stream, type, key and label keys"},
    {"limits.value_max", K_SIZE_T, OFF(limits.value_max), 1, 1 * GiB,
     "id, tag, source, correlation_id, state, label values, trace ids"},
    {"limits.message_max", K_SIZE_T, OFF(limits.message_max), 1, 1 * GiB, "message"},
    {"limits.max_depth", K_INT, OFF(limits.max_depth), 2, 1000, "JSON nesting depth"},
    /* request rate limits (issue 7; docs/security.md) */
    {"limits.rate_per_token", K_COUNT, OFF(rate_per_token), 0, 100000000,
     "requests (HTTP, gRPC calls) per second per API token, burst 1 s (0 = off); over: 429"},
    {"limits.rate_per_peer", K_COUNT, OFF(rate_per_peer), 0, 100000000,
     "HTTP requests per second per client address, burst 1 s (0 = no limit); over: 429"},
    {"limits.socket_rate_per_peer", K_COUNT, OFF(socket_rate_per_peer), 0, 100000000,
     "socket inputs: events per second per client address, burst 1 s (0 = off); TCP waits, UDP drops"},
    {"limits.socket_idle_timeout", K_DURATION, OFF(socket_idle_timeout_ns), 0, NS_MAX,
     "socket inputs: close a TCP connection with no byte from the peer this long (0 = never)"},
    {"limits.socket_frame_timeout", K_DURATION, OFF(socket_frame_timeout_ns), 0, NS_MAX,
     "socket inputs: a started frame (line, message, TLS handshake) must be complete within this (0 = no bound)"},
    {"tail.keepalive", K_DURATION, OFF(tail_keepalive_ns), 100000000, NS_MAX,
     "comment line sent to idle live-tail clients this often"},
    {"tail.max_clients", K_COUNT, OFF(tail_max_clients), 1, 1000000,
     "concurrent live-tail streams"},
    {"tail.buffer_max_bytes", K_SIZE, OFF(tail_buffer_max_bytes), 4096, 1 * GiB,
     "unsent bytes per tail client before it is paused"},
    {"query.default_limit", K_COUNT, OFF(query_default_limit), 1, 1000000,
     "events per page when limit= is not given"},
    {"query.max_limit", K_COUNT, OFF(query_max_limit), 1, 1000000,
     "largest limit= accepted (larger is a 400)"},
    {"query.max_response_bytes", K_SIZE, OFF(query_max_response_bytes), 4096, 4 * GiB,
     "a page stops early (with next) past this size"},
    {"query.histogram_max_buckets", K_COUNT, OFF(histogram_max_buckets), 1, 100000,
     "most time buckets one histogram may have"},
    {"grpc.listen", K_LISTEN_OFF, OFF(grpc_listen), 0, 0,
     "HOST:PORT of the gRPC server (h2c), or off"},
    {"grpc.max_message_bytes", K_SIZE, OFF(grpc_max_message_bytes), 1024, 1 * GiB,
     "largest gRPC request message"},
    {"grpc.tls.cert", K_OPT_PATH, OFF(grpc_tls_cert), 0, 0,
     "PEM certificate (chain) for gRPC over TLS; with grpc.tls.key; \"\" = h2c"},
    {"grpc.tls.key", K_OPT_PATH, OFF(grpc_tls_key), 0, 0,
     "PEM private key for grpc.tls.cert; \"\" = h2c"},
    {"grpc.tls.client_ca", K_OPT_PATH, OFF(grpc_tls_client_ca), 0, 0,
     "PEM CA bundle: require gRPC client certificates signed by it (mTLS); \"\" = none"},
    {"grpc.max_connections", K_COUNT, OFF(grpc_max_connections), 0, 10000000,
     "open gRPC connections; more are closed at accept (0 = no bound)"},
    {"grpc.handshake_timeout", K_DURATION, OFF(grpc_handshake_timeout_ns), NS_PER_SEC / 10, NS_MAX,
     "close a connection whose TLS handshake + HTTP/2 preface + SETTINGS take longer"},
    /* Socket inputs of issue 5 (docs/inputs.md). */
    {"forward.listen", K_LISTEN_OFF, OFF(forward_listen), 0, 0,
     "HOST:PORT of the Fluentd Forward input (TCP, usually :24224), or off"},
    {"forward.max_message_bytes", K_SIZE, OFF(forward_max_message_bytes), 1024, 1 * GiB,
     "largest forward message (and its decompressed entries)"},
    {"forward.max_connections", K_COUNT, OFF(forward_max_connections), 1, 1000000,
     "forward connections open at once (more are closed at accept)"},
    {"forward.tag_rule", K_STRING, OFF(forward_tag_rule), 0, 0,
     "split (first dotted word -> stream, rest -> type) | stream | type"},
    {"forward.default_type", K_OPT_PATH, OFF(forward_default_type), 0, 0,
     "type of records that neither tag nor record types; \"\" = refuse them"},
    {"forward.on_invalid", K_STRING, OFF(forward_on_invalid), 0, 0,
     "skip (store the valid events, ack, count the invalid) | refuse (no ack)"},
    {"forward.chunk_ids", K_INT, OFF(forward_chunk_ids), 0, 1,
     "1: events of a message with a chunk id get ids CHUNK:INDEX (a resent chunk is stored once)"},
    {"forward.shared_key", K_OPT_PATH, OFF(forward_shared_key), 0, 0,
     "shared key of the HELO/PING/PONG handshake; \"\" = no handshake"},
    {"forward.users", K_OPT_PATH, OFF(forward_users), 0, 0,
     "user:password[:tenant],... required in the handshake (tenant: with auth on, its events go there); \"\" = none"},
    {"forward.self_hostname", K_OPT_PATH, OFF(forward_self_hostname), 0, 0,
     "hostname sent in PONG; \"\" = the machine's"},
    {"forward.tls.cert", K_OPT_PATH, OFF(forward_tls_cert), 0, 0,
     "PEM certificate for forward over TLS; with forward.tls.key"},
    {"forward.tls.key", K_OPT_PATH, OFF(forward_tls_key), 0, 0,
     "PEM private key for forward.tls.cert"},
    {"forward.tls.client_ca", K_OPT_PATH, OFF(forward_tls_client_ca), 0, 0,
     "PEM CA bundle: require client certificates signed by it (mTLS); \"\" = none"},
    {"forward.tenant", K_OPT_PATH, OFF(forward_tenant), 0, 0,
     "with auth on: tenant of forward events (events naming none get it; others must be in its subtree); \"\" = root"},
    {"forward.allow", K_OPT_PATH, OFF(forward_allow), 0, 0,
     "client addresses allowed, comma-separated CIDRs (10.0.0.0/8,::1/128); \"\" = everyone"},
    {"syslog.listen", K_LISTEN_OFF, OFF(syslog_listen), 0, 0,
     "HOST:PORT of the syslog input (UDP and TCP), or off"},
    {"syslog.max_message_bytes", K_SIZE, OFF(syslog_max_message_bytes), 480, 1 * GiB,
     "largest syslog message (TCP frame or UDP datagram)"},
    {"syslog.max_connections", K_COUNT, OFF(syslog_max_connections), 1, 1000000,
     "syslog TCP connections open at once"},
    {"syslog.default_stream", K_STRING, OFF(syslog_default_stream), 0, 0,
     "stream of messages without an app-name"},
    {"syslog.default_type", K_STRING, OFF(syslog_default_type), 0, 0,
     "type of messages without a msgid"},
    {"syslog.tls.cert", K_OPT_PATH, OFF(syslog_tls_cert), 0, 0,
     "PEM certificate: syslog over TLS (RFC 5425; TCP only, no UDP); with syslog.tls.key"},
    {"syslog.tls.key", K_OPT_PATH, OFF(syslog_tls_key), 0, 0, "PEM private key for syslog.tls.cert"},
    {"syslog.tls.client_ca", K_OPT_PATH, OFF(syslog_tls_client_ca), 0, 0,
     "PEM CA bundle: require client certificates signed by it (mTLS); \"\" = none"},
    {"syslog.tenant", K_OPT_PATH, OFF(syslog_tenant), 0, 0,
     "with auth on: tenant of syslog events (as forward.tenant); \"\" = root"},
    {"syslog.allow", K_OPT_PATH, OFF(syslog_allow), 0, 0,
     "client addresses allowed (TCP and UDP), comma-separated CIDRs; \"\" = everyone"},
    {"lines.listen", K_LISTEN_OFF, OFF(lines_listen), 0, 0,
     "HOST:PORT of the JSON lines input (TCP and UDP), or off"},
    {"lines.max_line_bytes", K_SIZE, OFF(lines_max_line_bytes), 64, 1 * GiB,
     "longest JSON line (TCP) or datagram (UDP)"},
    {"lines.max_connections", K_COUNT, OFF(lines_max_connections), 1, 1000000,
     "JSON lines TCP connections open at once"},
    {"lines.format", K_STRING, OFF(lines_format), 0, 0,
     "event (each line a /v1/events event) | record (free-form, mapped like forward records)"},
    {"lines.stream", K_STRING, OFF(lines_stream), 0, 0,
     "stream of record-format lines that name none"},
    {"lines.tls.cert", K_OPT_PATH, OFF(lines_tls_cert), 0, 0,
     "PEM certificate: JSON lines over TLS (TCP only, no UDP); with lines.tls.key"},
    {"lines.tls.key", K_OPT_PATH, OFF(lines_tls_key), 0, 0, "PEM private key for lines.tls.cert"},
    {"lines.tls.client_ca", K_OPT_PATH, OFF(lines_tls_client_ca), 0, 0,
     "PEM CA bundle: require client certificates signed by it (mTLS); \"\" = none"},
    {"lines.tenant", K_OPT_PATH, OFF(lines_tenant), 0, 0,
     "with auth on: tenant of JSON lines events (as forward.tenant); \"\" = root"},
    {"lines.allow", K_OPT_PATH, OFF(lines_allow), 0, 0,
     "client addresses allowed (TCP and UDP), comma-separated CIDRs; \"\" = everyone"},
    /* HTTP-port inputs of issue 5 (docs/inputs.md). */
    {"es.index_rule", K_STRING, OFF(es_index_rule), 0, 0,
     "Elasticsearch index -> stream/labels pattern, e.g. {stream}-{env}"},
    {"es.default_type", K_STRING, OFF(es_default_type), 0, 0,
     "type of Elasticsearch documents without type/event_type"},
    {"otlp.default_type", K_STRING, OFF(otlp_default_type), 0, 0,
     "type of OTLP log records without eventName / event.name"},
    {"otlp.stream_attribute", K_OPT_PATH, OFF(otlp_stream_attribute), 0, 0,
     "resource attribute whose value is the stream; \"\" = none (stream default)"},
    {"registry.file", K_OPT_PATH, OFF(registry_file), 0, 0,
     "event-type registry (eventd.yml-compatible file or spec directory); \"\" = none"},
    {"registry.spec_dirs", K_DIRLIST, OFF(registry_spec_dirs), 0, 0,
     "more directories to look for spec files in"},
    {"registry.unregistered", K_POLICY, OFF(registry_unregistered), 0, 0,
     "reject | accept | accept-and-flag: events of unregistered types"},
    {"registry.streams", K_STREAMS, OFF(registry_streams), 0, 0,
     "per-stream unregistered policy: {STREAM: POLICY}"},
    /* Outputs of issue 4 (docs/outputs.md). */
    {"outputs.retry_base", K_DURATION, OFF(outputs_retry_base_ns), NS_PER_MS, NS_MAX,
     "first retry delay of an output (doubles per attempt, with jitter)"},
    {"outputs.retry_cap", K_DURATION, OFF(outputs_retry_cap_ns), NS_PER_MS, NS_MAX,
     "longest retry delay"},
    {"outputs.max_attempts", K_COUNT, OFF(outputs_max_attempts), 0, 1000000000,
     "attempts before an event is dead-lettered (0 = retry forever)"},
    {"outputs.history_size", K_COUNT, OFF(outputs_history_size), 1, 100000000,
     "delivery attempts kept per output (GET /v1/outputs/NAME/deliveries)"},
    {"outputs.pin_max_bytes", K_SIZE, OFF(outputs_pin_max_bytes), 0, UINT64_MAX,
     "bytes retention may keep beyond its bounds for undelivered events (0 = none)"},
    {"outputs.list", K_OUTPUTS, OFF(outputs_declared), 0, 0,
     "outputs declared here (also `outputs:` as a list); one mapping each"},
    {"outputs.tenant_types", K_STRING, OFF(outputs_tenant_types), 0, 0,
     "output types non-admin tokens may create (comma list, or none; never file, stdout)"},
    {"outputs.allow_local_targets", K_STRING, OFF(outputs_allow_local_targets), 0, 0,
     "true: tenant-owned outputs may reach loopback, private and link-local addresses"},
    /* Access control of issue 7 (docs/security.md). */
    {"auth.mode", K_STRING, OFF(auth_mode), 0, 0,
     "on | off: bearer tokens on every endpoint (off only when every listener is loopback)"},
    {"auth.allow_insecure", K_STRING, OFF(auth_allow_insecure), 0, 0,
     "true: allow auth.mode off on a non-loopback listener (not recommended)"},
};
#define NSETTINGS (sizeof SETTINGS / sizeof SETTINGS[0])

void config_init(evd_config *c) {
  memset(c, 0, sizeof *c);
  c->data_dir = strdup(EVD_DEFAULT_DATA_DIR);
  c->http_listen = strdup(EVD_DEFAULT_HTTP);
  c->grpc_listen = strdup(EVD_DEFAULT_GRPC);
  c->grpc_max_message_bytes = 4 * 1024 * 1024;
  c->forward_listen = strdup("off");
  c->forward_max_message_bytes = 16 * 1024 * 1024;
  c->forward_max_connections = 1024;
  c->forward_tag_rule = strdup("split");
  c->forward_default_type = strdup("log");
  c->forward_on_invalid = strdup("skip");
  c->forward_chunk_ids = 0;
  c->syslog_listen = strdup("off");
  c->syslog_max_message_bytes = 64 * 1024;
  c->syslog_max_connections = 1024;
  c->syslog_default_stream = strdup("syslog");
  c->syslog_default_type = strdup("syslog.message");
  c->lines_listen = strdup("off");
  c->auth_mode = strdup("off");
  c->auth_allow_insecure = strdup("false");
  c->lines_max_line_bytes = 1024 * 1024;
  c->lines_max_connections = 1024;
  c->lines_format = strdup("event");
  c->lines_stream = strdup("lines");
  c->es_index_rule = strdup("{stream}-{env}");
  c->es_default_type = strdup("es.document");
  c->otlp_default_type = strdup("otlp.log");
  c->otlp_stream_attribute = strdup("service.name");
  c->http_idle_timeout_ns = 60 * NS_PER_SEC;
  c->http_max_header_bytes = 64 * 1024;
  c->http_max_connections = 10000;
  c->grpc_max_connections = 10000;
  c->grpc_handshake_timeout_ns = 10 * NS_PER_SEC;
  c->http_header_timeout_ns = 10 * NS_PER_SEC;
  c->http_body_timeout_ns = 120 * NS_PER_SEC;
  c->socket_idle_timeout_ns = 600 * NS_PER_SEC;
  c->socket_frame_timeout_ns = 30 * NS_PER_SEC;
  c->sync = STORE_SYNC_BATCH;
  c->sync_interval_ns = NS_PER_SEC;
  c->segment_max_bytes = 128ull * 1024 * 1024;
  c->segment_max_age_ns = 3600 * NS_PER_SEC;
  c->queue_max_bytes = 64ull * 1024 * 1024;
  c->retention_max_age_ns = 0;
  c->retention_max_bytes = 0;
  c->purge_after_ns = 0;
  c->purge_archived_after_ns = 0;
  c->purge_interval_ns = 3600 * NS_PER_SEC;
  evd_limits_default(&c->limits);
  c->log_level = LOG_INFO;
  c->tail_keepalive_ns = 15 * NS_PER_SEC;
  c->tail_max_clients = 1000;
  c->tail_buffer_max_bytes = 1024 * 1024;
  c->query_default_limit = 100;
  c->query_max_limit = 10000;
  c->query_max_response_bytes = 64ull * 1024 * 1024;
  c->histogram_max_buckets = 10000;
  c->shutdown_timeout_ns = 10 * NS_PER_SEC;
  c->registry_unregistered = REGISTRY_REJECT;
  c->outputs_retry_base_ns = 100 * NS_PER_MS;
  c->outputs_retry_cap_ns = 30 * NS_PER_SEC;
  c->outputs_max_attempts = 0;
  c->outputs_history_size = 1000;
  c->outputs_pin_max_bytes = 1024ull * 1024 * 1024;
  c->outputs_tenant_types = strdup(OUTPUTS_TENANT_TYPES_DEFAULT);
  c->outputs_allow_local_targets = strdup("false");
}

static void free_dirlist(evd_config *c) {
  for (size_t i = 0; i < c->registry_nspec_dirs; i++) free(c->registry_spec_dirs[i]);
  free(c->registry_spec_dirs);
  c->registry_spec_dirs = NULL;
  c->registry_nspec_dirs = 0;
}

static void free_streams(evd_config *c) {
  for (size_t i = 0; i < c->registry_nstreams; i++) free(c->registry_streams[i].stream);
  free(c->registry_streams);
  c->registry_streams = NULL;
  c->registry_nstreams = 0;
}

void config_free(evd_config *c) {
  free(c->data_dir);
  free(c->http_listen);
  free(c->registry_file);
  free(c->grpc_listen);
  free(c->grpc_tls_cert);
  free(c->grpc_tls_key);
  c->data_dir = c->http_listen = c->registry_file = c->grpc_listen = NULL;
  c->grpc_tls_cert = c->grpc_tls_key = NULL;
  char **inputs5[] = {&c->forward_listen, &c->forward_tag_rule, &c->forward_default_type,
                     &c->forward_on_invalid, &c->forward_shared_key, &c->forward_users,
                     &c->forward_self_hostname, &c->forward_tls_cert, &c->forward_tls_key,
                     &c->syslog_listen, &c->syslog_default_stream, &c->syslog_default_type,
                     &c->lines_listen, &c->lines_format, &c->lines_stream,
                     &c->syslog_tls_cert, &c->syslog_tls_key, &c->lines_tls_cert, &c->lines_tls_key, &c->es_index_rule, &c->es_default_type,
                     &c->otlp_default_type, &c->otlp_stream_attribute,
                     &c->auth_mode, &c->auth_allow_insecure,
                     &c->outputs_tenant_types, &c->outputs_allow_local_targets,
                     &c->http_tls_cert, &c->http_tls_key, &c->http_tls_client_ca,
                     &c->grpc_tls_client_ca, &c->forward_tls_client_ca,
                     &c->syslog_tls_client_ca, &c->lines_tls_client_ca,
                     &c->forward_tenant, &c->syslog_tenant, &c->lines_tenant,
                     &c->forward_allow, &c->syslog_allow, &c->lines_allow};
  for (size_t i = 0; i < sizeof inputs5 / sizeof inputs5[0]; i++) {
    free(*inputs5[i]);
    *inputs5[i] = NULL;
  }
  free(c->purge_streams); /* lifecycle (issue 7) */
  c->purge_streams = NULL;
  free_dirlist(c);
  free_streams(c);
  outputs_config_free(c);
}

/* Append a copy of dir[0..n) to registry.spec_dirs. Returns 0 or -1 (out of memory). */
static int dirlist_add(evd_config *c, const char *dir, size_t n) {
  char **d = realloc(c->registry_spec_dirs, (c->registry_nspec_dirs + 1) * sizeof *d);
  if (!d) return -1;
  c->registry_spec_dirs = d;
  char *copy = strndup(dir, n);
  if (!copy) return -1;
  d[c->registry_nspec_dirs++] = copy;
  return 0;
}

/* Set the policy of one stream in registry.streams (replacing an earlier entry). Returns 0
 * or -1 (out of memory). */
static int streams_set(evd_config *c, const char *stream, size_t n, int policy) {
  for (size_t i = 0; i < c->registry_nstreams; i++)
    if (strlen(c->registry_streams[i].stream) == n && memcmp(c->registry_streams[i].stream, stream, n) == 0) {
      c->registry_streams[i].policy = policy;
      return 0;
    }
  evd_stream_policy *sp = realloc(c->registry_streams, (c->registry_nstreams + 1) * sizeof *sp);
  if (!sp) return -1;
  c->registry_streams = sp;
  char *copy = strndup(stream, n);
  if (!copy) return -1;
  sp[c->registry_nstreams++] = (evd_stream_policy){copy, policy};
  return 0;
}

/* registry.streams from its text form "STREAM=POLICY,STREAM=POLICY" (':' also separates);
 * replaces the whole map. Returns 0 or -1 with err. */
static int parse_streams(evd_config *c, const char *name, const char *value, char *err, size_t errlen);

const char *config_setting_name(size_t i) { return i < NSETTINGS ? SETTINGS[i].name : NULL; }

static const setting *setting_find(const char *name) {
  for (size_t i = 0; i < NSETTINGS; i++)
    if (strcmp(SETTINGS[i].name, name) == 0) return &SETTINGS[i];
  return NULL;
}

/* 1 if `name` is a section: some setting is named "name.<something>". */
static int is_section(const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < NSETTINGS; i++)
    if (strncmp(SETTINGS[i].name, name, n) == 0 && SETTINGS[i].name[n] == '.') return 1;
  return 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

int config_parse_size(const char *s, uint64_t *out) {
  const char *p = s;
  if (!isdigit((unsigned char)*p)) return -1;
  uint64_t whole = 0;
  while (isdigit((unsigned char)*p)) {
    unsigned d = (unsigned)(*p++ - '0');
    if (whole > (UINT64_MAX - d) / 10) return -1;
    whole = whole * 10 + d;
  }
  uint64_t frac = 0, frac_scale = 1;
  if (*p == '.') {
    p++;
    if (!isdigit((unsigned char)*p)) return -1;
    while (isdigit((unsigned char)*p)) {
      if (frac_scale >= 1000000000000ull) return -1; /* more than 12 fraction digits */
      frac = frac * 10 + (uint64_t)(*p++ - '0');
      frac_scale *= 10;
    }
  }
  while (*p == ' ') p++;
  static const struct {
    const char *unit;
    uint64_t mult;
  } UNITS[] = {{"", 1},
               {"b", 1},
               {"k", 1ull << 10},
               {"kib", 1ull << 10},
               {"kb", 1000ull},
               {"m", 1ull << 20},
               {"mib", 1ull << 20},
               {"mb", 1000000ull},
               {"g", 1ull << 30},
               {"gib", 1ull << 30},
               {"gb", 1000000000ull},
               {"t", 1ull << 40},
               {"tib", 1ull << 40},
               {"tb", 1000000000000ull}};
  uint64_t mult = 0;
  for (size_t i = 0; i < sizeof UNITS / sizeof UNITS[0]; i++)
    if (strcasecmp(p, UNITS[i].unit) == 0) {
      mult = UNITS[i].mult;
      break;
    }
  if (mult == 0) return -1;
  if (whole > UINT64_MAX / mult) return -1;
  uint64_t v = whole * mult;
  if (frac) {
    /* frac/frac_scale * mult must be a whole number of bytes. frac < 10^12 and mult <= 2^40
     * could overflow 64 bits, so use 128-bit arithmetic. */
    unsigned __int128 f = (unsigned __int128)frac * mult;
    if (f % frac_scale != 0) return -1;
    unsigned __int128 add = f / frac_scale;
    if (add > UINT64_MAX - v) return -1;
    v += (uint64_t)add;
  }
  *out = v;
  return 0;
}

/* Parse a plain non-negative decimal integer (no sign, no unit). Returns 0 or -1. */
static int parse_count(const char *s, uint64_t *out) {
  if (!isdigit((unsigned char)*s)) return -1;
  uint64_t v = 0;
  for (; *s; s++) {
    if (!isdigit((unsigned char)*s)) return -1;
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

int config_parse_listen(const char *s, char *host, size_t hostlen, int *port) {
  const char *colon;
  const char *hs, *he;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (!close || close[1] != ':') return -1;
    hs = s + 1;
    he = close;
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon) return -1;
    hs = s;
    he = colon;
    if (memchr(hs, ':', (size_t)(he - hs))) return -1; /* a bare IPv6 address needs [] */
  }
  size_t hl = (size_t)(he - hs);
  if (hl == 0 || hl >= hostlen) return -1;
  for (const char *q = hs; q < he; q++)
    if (isspace((unsigned char)*q) || *q == '/' || *q == '[' || *q == ']') return -1;
  uint64_t p;
  if (colon[1] == '\0' || parse_count(colon + 1, &p) != 0 || p > 65535) return -1;
  memcpy(host, hs, hl);
  host[hl] = '\0';
  *port = (int)p;
  return 0;
}

/* Describe a setting's expected form for error messages. */
static const char *kind_hint(setting_kind k) {
  switch (k) {
    case K_SIZE:
    case K_SIZE_T: return "a size such as 16MiB, 512KB or a number of bytes";
    case K_COUNT:
    case K_COUNT_T:
    case K_INT: return "a whole number";
    case K_DURATION: return "a duration such as 500ms, 15m, 7d or a number of seconds";
    case K_SYNC: return "always, batch or none";
    case K_LOGLEVEL: return "error, warn, info or debug";
    case K_LISTEN: return "HOST:PORT, e.g. 127.0.0.1:8910 or [::1]:8910";
    case K_LISTEN_OFF: return "HOST:PORT, e.g. 127.0.0.1:50075 or [::1]:50075, or off";
    case K_STRING: return "a non-empty string";
    case K_OPT_PATH: return "a path, or \"\" for none";
    case K_DIRLIST: return "a list of directories";
    case K_POLICY: return "reject, accept or accept-and-flag";
    case K_STREAMS: return "a mapping of stream names to reject, accept or accept-and-flag";
    case K_OUTPUTS: return "a list of outputs (mappings), or their JSON array";
  }
  return "?";
}

/* Format a size or duration bound for messages. */
static void format_bound(const setting *st, uint64_t v, char *out, size_t n) {
  if (st->kind == K_DURATION) {
    if (v % NS_PER_SEC == 0) snprintf(out, n, "%llus", (unsigned long long)(v / NS_PER_SEC));
    else snprintf(out, n, "%llums", (unsigned long long)(v / NS_PER_MS));
  } else {
    snprintf(out, n, "%llu", (unsigned long long)v);
  }
}

/* Settings whose values config_print redacts. */
static int is_secret_setting(const char *name) {
  return strcmp(name, "forward.shared_key") == 0 || strcmp(name, "forward.users") == 0;
}

int config_check_not_redacted(const char *name, const char *value, char *err, size_t errlen) {
  if (!value || !strstr(value, CONFIG_REDACTED)) return 0;
  set_err(err, errlen,
          "%s: holds the placeholder " CONFIG_REDACTED " of eventd --print-config, not a "
          "secret; put the real value here (eventd --print-config --show-secrets prints it)",
          name);
  return -1;
}

int config_set(evd_config *c, const char *name, const char *value, char *err, size_t errlen) {
  const setting *st = setting_find(name);
  if (!st) {
    set_err(err, errlen, "unknown setting '%s'", name);
    return -1;
  }
  if (!value) value = "";
  if (is_secret_setting(name) && config_check_not_redacted(name, value, err, errlen) != 0)
    return -1;
  char *base = (char *)c + st->offset;
  switch (st->kind) {
    case K_OPT_PATH: {
      char *copy = NULL;
      if (*value && !(copy = strdup(value))) {
        set_err(err, errlen, "%s: out of memory", name);
        return -1;
      }
      char **slot = (char **)base;
      free(*slot);
      *slot = copy;
      return 0;
    }
    case K_DIRLIST: {
      free_dirlist(c);
      for (const char *p = value; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0) {
          set_err(err, errlen, "%s: empty directory name in '%s'", name, value);
          return -1;
        }
        if (dirlist_add(c, p, n) != 0) {
          set_err(err, errlen, "%s: out of memory", name);
          return -1;
        }
        p += n + (comma ? 1 : 0);
      }
      return 0;
    }
    case K_STREAMS: return parse_streams(c, name, value, err, errlen);
    case K_OUTPUTS: return outputs_config_set(c, name, value, err, errlen);
    default: break;
  }
  if (!*value) {
    set_err(err, errlen, "%s: missing value (expected %s)", name, kind_hint(st->kind));
    return -1;
  }
  uint64_t v = 0;
  switch (st->kind) {
    case K_STRING:
    case K_LISTEN:
    case K_LISTEN_OFF: {
      if (st->kind == K_LISTEN_OFF && strcmp(value, "off") == 0) {
        /* fine */
      } else if (strcmp(name, "auth.mode") == 0 && strcmp(value, "on") != 0 &&
                 strcmp(value, "off") != 0) {
        set_err(err, errlen, "auth.mode: expected on or off, got '%s'", value);
        return -1;
      } else if (strcmp(name, "auth.allow_insecure") == 0 && strcmp(value, "true") != 0 &&
                 strcmp(value, "false") != 0) {
        set_err(err, errlen, "auth.allow_insecure: expected true or false, got '%s'", value);
        return -1;
      } else if (strcmp(name, "outputs.allow_local_targets") == 0 &&
                 strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
        set_err(err, errlen, "outputs.allow_local_targets: expected true or false, got '%s'",
                value);
        return -1;
      } else if (strcmp(name, "outputs.tenant_types") == 0 &&
                 outputs_tenant_types_check(value, err, errlen) != 0) {
        return -1;
      } else if (st->kind == K_LISTEN || st->kind == K_LISTEN_OFF) {
        char host[256];
        int port;
        if (config_parse_listen(value, host, sizeof host, &port) != 0) {
          set_err(err, errlen, "%s: invalid address '%s' (expected %s)", name, value,
                  kind_hint(st->kind));
          return -1;
        }
      }
      char *copy = strdup(value);
      if (!copy) {
        set_err(err, errlen, "%s: out of memory", name);
        return -1;
      }
      char **slot = (char **)base;
      free(*slot);
      *slot = copy;
      return 0;
    }
    case K_SYNC: {
      store_sync sy;
      if (strcmp(value, "always") == 0) sy = STORE_SYNC_ALWAYS;
      else if (strcmp(value, "batch") == 0) sy = STORE_SYNC_BATCH;
      else if (strcmp(value, "none") == 0) sy = STORE_SYNC_NONE;
      else {
        set_err(err, errlen, "%s: invalid value '%s' (expected %s)", name, value,
                kind_hint(st->kind));
        return -1;
      }
      *(store_sync *)base = sy;
      return 0;
    }
    case K_LOGLEVEL: {
      int lv = log_level_parse(value);
      if (lv < 0) {
        set_err(err, errlen, "%s: invalid value '%s' (expected %s)", name, value,
                kind_hint(st->kind));
        return -1;
      }
      *(int *)base = lv;
      return 0;
    }
    case K_POLICY: {
      registry_policy p;
      if (registry_policy_parse(value, strlen(value), &p) != 0) {
        set_err(err, errlen, "%s: invalid value '%s' (expected %s)", name, value,
                kind_hint(st->kind));
        return -1;
      }
      *(int *)base = (int)p;
      return 0;
    }
    case K_OPT_PATH:
    case K_DIRLIST:
    case K_STREAMS:
    case K_OUTPUTS: return -1; /* handled above */
    case K_SIZE:
    case K_SIZE_T:
      if (config_parse_size(value, &v) != 0) {
        set_err(err, errlen, "%s: invalid size '%s' (expected %s)", name, value,
                kind_hint(st->kind));
        return -1;
      }
      break;
    case K_COUNT:
    case K_COUNT_T:
    case K_INT:
      if (parse_count(value, &v) != 0) {
        set_err(err, errlen, "%s: invalid number '%s' (expected %s)", name, value,
                kind_hint(st->kind));
        return -1;
      }
      break;
    case K_DURATION: {
      int64_t ns;
      if (time_parse_duration(value, &ns) != 0 || ns < 0) {
        set_err(err, errlen, "%s: invalid duration '%s' (expected %s)", name, value,
                kind_hint(st->kind));
        return -1;
      }
      v = (uint64_t)ns;
      break;
    }
  }
  if (v < st->min || v > st->max) {
    char lo[32], hi[32];
    format_bound(st, st->min, lo, sizeof lo);
    format_bound(st, st->max, hi, sizeof hi);
    if (st->max == UINT64_MAX || st->max == NS_MAX)
      set_err(err, errlen, "%s: '%s' is below the minimum %s", name, value, lo);
    else
      set_err(err, errlen, "%s: '%s' is out of range (%s..%s)", name, value, lo, hi);
    return -1;
  }
  switch (st->kind) {
    case K_SIZE:
    case K_COUNT: *(uint64_t *)base = v; break;
    case K_SIZE_T:
    case K_COUNT_T: *(size_t *)base = (size_t)v; break;
    case K_INT: *(int *)base = (int)v; break;
    case K_DURATION: *(int64_t *)base = (int64_t)v; break;
    default: break;
  }
  return 0;
}

static int parse_streams(evd_config *c, const char *name, const char *value, char *err, size_t errlen) {
  free_streams(c);
  for (const char *p = value; *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    const char *sep = memchr(p, '=', n);
    if (!sep) sep = memchr(p, ':', n);
    registry_policy pol;
    if (!sep || sep == p ||
        registry_policy_parse(sep + 1, (size_t)(p + n - sep - 1), &pol) != 0) {
      set_err(err, errlen, "%s: expected STREAM=POLICY (reject, accept or accept-and-flag), got '%.*s'",
              name, (int)(n > 200 ? 200 : n), p);
      return -1;
    }
    if (streams_set(c, p, (size_t)(sep - p), (int)pol) != 0) {
      set_err(err, errlen, "%s: out of memory", name);
      return -1;
    }
    p += n + (comma ? 1 : 0);
  }
  return 0;
}

/* ---- YAML ------------------------------------------------------------------------------ */

typedef struct yaml_walk {
  evd_config *c;
  const char *file;
  yaml_document_t *doc;
  char *err;
  size_t errlen;
  const setting *seen[NSETTINGS]; /* settings already set (duplicate detection) */
  size_t nseen;
  const char *section_names[16]; /* sections already walked: prefixes of setting names */
  size_t sections[16];           /* ... and their lengths */
  size_t nsections;
} yaml_walk;

/* A setting name that starts with the section name `sec` (a stable pointer to compare the
 * section by later; is_section(sec) guarantees one exists). */
static const char *full_static_prefix(const char *sec) {
  size_t n = strlen(sec);
  for (size_t i = 0; i < NSETTINGS; i++)
    if (strncmp(SETTINGS[i].name, sec, n) == 0 && SETTINGS[i].name[n] == '.') return SETTINGS[i].name;
  return "";
}

static int walk_error(yaml_walk *w, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int walk_error(yaml_walk *w, const yaml_node_t *at, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  set_err(w->err, w->errlen, "%s:%zu: %s", w->file, at ? at->start_mark.line + 1 : 1, msg);
  return -1;
}

static const char *node_kind_name(const yaml_node_t *n) {
  switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_SCALAR_NODE: return "a scalar";
    default: return "nothing";
  }
}

/* 1 if a scalar node is YAML's null: empty plain scalar, "~" or "null". */
static int scalar_is_null(const yaml_node_t *n) {
  if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
  const char *v = (const char *)n->data.scalar.value;
  return n->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
         strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static int walk_mapping(yaml_walk *w, yaml_node_t *map, const char *prefix, int depth);

/* A plain scalar's text, or NULL (with an error reported) when it is not a scalar or holds a
 * NUL character. */
static const char *scalar_text(yaml_walk *w, const yaml_node_t *n, const char *what) {
  if (n->type != YAML_SCALAR_NODE) {
    walk_error(w, n, "%s: expected a scalar, got %s", what, node_kind_name(n));
    return NULL;
  }
  const char *v = (const char *)n->data.scalar.value;
  if (n->data.scalar.length != strlen(v)) {
    walk_error(w, n, "%s: value contains a NUL character", what);
    return NULL;
  }
  return v;
}

/* The settings whose value may be null, a list or a mapping (registry.file, .spec_dirs,
 * .streams). Returns 0 when handled, -1 on error, 1 when val is a non-null scalar that
 * config_set should take as usual. */
static int walk_structured(yaml_walk *w, const setting *st, const char *full, yaml_node_t *val) {
  evd_config *c = w->c;
  if (val->type == YAML_SCALAR_NODE && scalar_is_null(val)) {
    char msg[64];
    return config_set(c, full, "", msg, sizeof msg) == 0 ? 0 : walk_error(w, val, "%s", msg);
  }
  if (val->type == YAML_SCALAR_NODE) return 1;
  if (st->kind == K_DIRLIST && val->type == YAML_SEQUENCE_NODE) {
    free_dirlist(c);
    for (yaml_node_item_t *it = val->data.sequence.items.start; it < val->data.sequence.items.top; it++) {
      yaml_node_t *d = yaml_document_get_node(w->doc, *it);
      const char *v = d ? scalar_text(w, d, full) : NULL;
      if (!v) return d ? -1 : walk_error(w, val, "malformed list");
      if (!*v || scalar_is_null(d)) return walk_error(w, d, "%s: empty directory name", full);
      if (dirlist_add(c, v, strlen(v)) != 0) return walk_error(w, d, "out of memory");
    }
    return 0;
  }
  if (st->kind == K_STREAMS && val->type == YAML_MAPPING_NODE) {
    free_streams(c);
    for (yaml_node_pair_t *p = val->data.mapping.pairs.start; p < val->data.mapping.pairs.top; p++) {
      yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
      yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
      if (!k || !v) return walk_error(w, val, "malformed mapping");
      const char *stream = scalar_text(w, k, full);
      if (!stream) return -1;
      if (!*stream) return walk_error(w, k, "%s: empty stream name", full);
      for (size_t i = 0; i < c->registry_nstreams; i++)
        if (strcmp(c->registry_streams[i].stream, stream) == 0)
          return walk_error(w, k, "duplicate key '%s.%s'", full, stream);
      /* STREAM: POLICY, or STREAM: {unregistered: POLICY} as in the registry file. */
      yaml_node_t *pv = v;
      if (v->type == YAML_MAPPING_NODE) {
        pv = NULL;
        for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
          yaml_node_t *qk = yaml_document_get_node(w->doc, q->key);
          yaml_node_t *qv = yaml_document_get_node(w->doc, q->value);
          const char *kn = qk ? scalar_text(w, qk, full) : NULL;
          if (!kn || !qv) return -1;
          if (strcmp(kn, "unregistered") != 0)
            return walk_error(w, qk, "unknown key '%s' in '%s.%s' (expected unregistered)", kn, full, stream);
          pv = qv;
        }
        if (!pv) return walk_error(w, v, "%s.%s: missing unregistered", full, stream);
      }
      const char *pol = scalar_text(w, pv, full);
      if (!pol) return -1;
      registry_policy rp;
      if (registry_policy_parse(pol, strlen(pol), &rp) != 0)
        return walk_error(w, pv, "%s.%s: invalid value '%s' (expected reject, accept or accept-and-flag)",
                          full, stream, pol);
      if (streams_set(c, stream, strlen(stream), (int)rp) != 0) return walk_error(w, k, "out of memory");
    }
    return 0;
  }
  return walk_error(w, val, "%s: expected %s, got %s", full, kind_hint(st->kind), node_kind_name(val));
}

static int walk_pair(yaml_walk *w, yaml_node_t *key, yaml_node_t *val, const char *prefix,
                     int depth) {
  if (key->type != YAML_SCALAR_NODE)
    return walk_error(w, key, "keys must be plain names, got %s", node_kind_name(key));
  const char *k = (const char *)key->data.scalar.value;
  if (key->data.scalar.length != strlen(k) || key->data.scalar.length == 0)
    return walk_error(w, key, "invalid key");
  char full[256];
  int n = snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", k);
  if (n < 0 || (size_t)n >= sizeof full) return walk_error(w, key, "key '%.64s...' is too long", k);

  if (is_section(full)) {
    size_t fl = strlen(full);
    for (size_t i = 0; i < w->nsections; i++)
      if (w->sections[i] == fl && strncmp(w->section_names[i], full, fl) == 0)
        return walk_error(w, key, "duplicate key '%s'", full);
    if (w->nsections < sizeof w->sections / sizeof w->sections[0]) {
      w->sections[w->nsections] = fl;
      w->section_names[w->nsections++] = full_static_prefix(full);
    }
    if (val->type == YAML_SCALAR_NODE && scalar_is_null(val)) return 0; /* "http:" alone */
    if (val->type == YAML_SEQUENCE_NODE && strcmp(full, "outputs") == 0) /* = outputs.list */
      return outputs_config_yaml(w->c, w->file, w->doc, val, w->err, w->errlen);
    if (val->type != YAML_MAPPING_NODE)
      return walk_error(w, val, "'%s' must be a mapping of settings, got %s", full,
                        node_kind_name(val));
    return walk_mapping(w, val, full, depth + 1);
  }
  const setting *st = setting_find(full);
  if (!st) {
    if (*prefix) return walk_error(w, key, "unknown key '%s' in section '%s'", k, prefix);
    return walk_error(w, key, "unknown key '%s'", full);
  }
  /* The same setting twice: in one mapping, or once nested and once as a dotted key. */
  for (size_t i = 0; i < w->nseen; i++)
    if (w->seen[i] == st) return walk_error(w, key, "duplicate key '%s'", full);
  if (w->nseen < NSETTINGS) w->seen[w->nseen++] = st;
  if (st->kind == K_OUTPUTS) /* a YAML list of mappings (src/outputs/outputs_config.c) */
    return outputs_config_yaml(w->c, w->file, w->doc, val, w->err, w->errlen);
  if (st->kind == K_DIRLIST || st->kind == K_STREAMS || st->kind == K_OPT_PATH) {
    int rc = walk_structured(w, st, full, val);
    if (rc <= 0) return rc; /* handled (or failed); 1: a plain scalar, go on below */
  }
  if (val->type != YAML_SCALAR_NODE)
    return walk_error(w, val, "%s: expected %s, got %s", full, kind_hint(st->kind),
                      node_kind_name(val));
  if (scalar_is_null(val))
    return walk_error(w, val, "%s: missing value (expected %s)", full, kind_hint(st->kind));
  const char *v = (const char *)val->data.scalar.value;
  if (val->data.scalar.length != strlen(v))
    return walk_error(w, val, "%s: value contains a NUL character", full);
  char msg[512];
  if (config_set(w->c, full, v, msg, sizeof msg) != 0) return walk_error(w, val, "%s", msg);
  return 0;
}

static int walk_mapping(yaml_walk *w, yaml_node_t *map, const char *prefix, int depth) {
  if (depth > 4) return walk_error(w, map, "nesting too deep");
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *key = yaml_document_get_node(w->doc, p->key);
    yaml_node_t *val = yaml_document_get_node(w->doc, p->value);
    if (!key || !val) return walk_error(w, map, "malformed mapping");
    if (walk_pair(w, key, val, prefix, depth) != 0) return -1;
  }
  return 0;
}

int config_load_yaml(evd_config *c, const char *file, const char *text, size_t len, char *err,
                     size_t errlen) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    set_err(err, errlen, "%s: out of memory", file);
    return -1;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  yaml_document_t doc;
  if (!yaml_parser_load(&parser, &doc)) {
    const char *problem = parser.problem ? parser.problem : "cannot parse";
    size_t line = parser.problem_mark.line + 1;
    if (parser.context)
      set_err(err, errlen, "%s:%zu: YAML syntax error: %s %s", file, line, problem,
              parser.context);
    else
      set_err(err, errlen, "%s:%zu: YAML syntax error: %s", file, line, problem);
    yaml_parser_delete(&parser);
    return -1;
  }
  int rc = 0;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (root) {
    yaml_walk w = {.c = c, .file = file, .doc = &doc, .err = err, .errlen = errlen};
    if (root->type == YAML_SCALAR_NODE && scalar_is_null(root)) {
      /* a document holding only "~" or "---": nothing to set */
    } else if (root->type != YAML_MAPPING_NODE) {
      rc = walk_error(&w, root, "the configuration must be a mapping of settings, got %s",
                      node_kind_name(root));
    } else {
      rc = walk_mapping(&w, root, "", 0);
    }
    if (rc == 0) {
      /* Only one document: a second one would silently be ignored otherwise. */
      yaml_document_t next;
      if (!yaml_parser_load(&parser, &next)) {
        set_err(err, errlen, "%s:%zu: YAML syntax error: %s", file,
                parser.problem_mark.line + 1, parser.problem ? parser.problem : "cannot parse");
        rc = -1;
      } else {
        yaml_node_t *r2 = yaml_document_get_root_node(&next);
        if (r2) {
          set_err(err, errlen, "%s:%zu: only one YAML document is allowed", file,
                  r2->start_mark.line + 1);
          rc = -1;
        }
        yaml_document_delete(&next);
      }
    }
  }
  yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  return rc;
}

int config_load_file(evd_config *c, const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  char *text = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (cap - len < 4096) {
      if (cap > 16 * 1024 * 1024) {
        set_err(err, errlen, "%s: file is larger than 16 MiB", path);
        free(text);
        fclose(f);
        return -1;
      }
      size_t ncap = cap ? cap * 2 : 8192;
      char *nt = realloc(text, ncap);
      if (!nt) {
        set_err(err, errlen, "%s: out of memory", path);
        free(text);
        fclose(f);
        return -1;
      }
      text = nt;
      cap = ncap;
    }
    size_t r = fread(text + len, 1, cap - len, f);
    len += r;
    if (r == 0) break;
  }
  int rd_err = ferror(f);
  fclose(f);
  if (rd_err) {
    set_err(err, errlen, "%s: read error", path);
    free(text);
    return -1;
  }
  int rc = config_load_yaml(c, path, text ? text : "", len, err, errlen);
  free(text);
  return rc;
}

/* ---- command line ------------------------------------------------------------------- */

/* Options that take a value, and the setting each one sets (NULL: handled specially). */
static const struct {
  const char *opt;
  const char *setting;
} VALUE_OPTS[] = {
    {"--config", NULL},          {"--set", NULL},
    {"--data-dir", "data_dir"},  {"--http", "http.listen"},
    {"--sync", "sync"},          {"--log-level", "log_level"},
    {"--registry", "registry.file"}, {"--grpc", "grpc.listen"},
    {"--grpc-tls-cert", "grpc.tls.cert"}, {"--grpc-tls-key", "grpc.tls.key"},
    {"--forward", "forward.listen"}, {"--syslog", "syslog.listen"},
    {"--lines", "lines.listen"},
    {"--auth", "auth.mode"},
};

/* Split argv[*i] into option name and value ("--opt=value" or "--opt value"). Returns the
 * index into VALUE_OPTS, -2 for a flag without value (help etc., *flag set), or -1 with err. */
static int next_option(int argc, char **argv, int *i, const char **value, config_action *flag,
                       char *err, size_t errlen) {
  const char *arg = argv[*i];
  static const struct {
    const char *opt;
    config_action action;
  } FLAGS[] = {{"--help", CONFIG_HELP},          {"-h", CONFIG_HELP},
               {"--version", CONFIG_VERSION},    {"-V", CONFIG_VERSION},
               {"--check-config", CONFIG_CHECK}, {"--print-config", CONFIG_PRINT},
               {"--show-secrets", CONFIG_PRINT_SECRETS}};
  for (size_t f = 0; f < sizeof FLAGS / sizeof FLAGS[0]; f++)
    if (strcmp(arg, FLAGS[f].opt) == 0) {
      *flag = FLAGS[f].action;
      return -2;
    }
  const char *eq = strchr(arg, '=');
  size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
  for (size_t o = 0; o < sizeof VALUE_OPTS / sizeof VALUE_OPTS[0]; o++) {
    if (strlen(VALUE_OPTS[o].opt) != nl || strncmp(VALUE_OPTS[o].opt, arg, nl) != 0) continue;
    if (eq) {
      *value = eq + 1;
    } else {
      if (*i + 1 >= argc) {
        set_err(err, errlen, "option %s needs a value (see eventd --help)", VALUE_OPTS[o].opt);
        return -1;
      }
      *value = argv[++*i];
    }
    return (int)o;
  }
  if (arg[0] == '-') set_err(err, errlen, "unknown option '%s' (see eventd --help)", arg);
  else set_err(err, errlen, "unexpected argument '%s' (see eventd --help)", arg);
  return -1;
}

int config_from_args(evd_config *c, int argc, char **argv, config_action *action, char *err,
                     size_t errlen) {
  *action = CONFIG_RUN;
  const char *config_path = NULL;
  /* Pass 1: syntax, the action, and the configuration file. */
  for (int i = 1; i < argc; i++) {
    const char *value = NULL;
    config_action flag = CONFIG_RUN;
    int o = next_option(argc, argv, &i, &value, &flag, err, errlen);
    if (o == -1) return -1;
    if (o == -2) {
      if (flag == CONFIG_HELP || flag == CONFIG_VERSION) {
        *action = flag;
        return 0; /* nothing else matters */
      }
      /* --print-config --show-secrets (either order): print with the secrets */
      if (!(flag == CONFIG_PRINT && *action == CONFIG_PRINT_SECRETS)) *action = flag;
      continue;
    }
    if (strcmp(VALUE_OPTS[o].opt, "--config") == 0) {
      if (config_path) {
        set_err(err, errlen, "--config given twice");
        return -1;
      }
      config_path = value;
    }
  }
  if (config_path && config_load_file(c, config_path, err, errlen) != 0) return -1;
  /* Pass 2: the other options, in order, over the file. */
  for (int i = 1; i < argc; i++) {
    const char *value = NULL;
    config_action flag;
    int o = next_option(argc, argv, &i, &value, &flag, err, errlen);
    if (o < 0) continue;
    const char *opt = VALUE_OPTS[o].opt;
    char msg[512];
    if (strcmp(opt, "--config") == 0) continue;
    if (strcmp(opt, "--set") == 0) {
      const char *eq = strchr(value, '=');
      if (!eq || eq == value) {
        set_err(err, errlen, "--set expects NAME=VALUE, got '%s'", value);
        return -1;
      }
      char name[128];
      size_t nl = (size_t)(eq - value);
      if (nl >= sizeof name) {
        set_err(err, errlen, "--set: unknown setting '%.*s'", (int)nl, value);
        return -1;
      }
      memcpy(name, value, nl);
      name[nl] = '\0';
      if (config_set(c, name, eq + 1, msg, sizeof msg) != 0) {
        set_err(err, errlen, "--set: %s", msg);
        return -1;
      }
      continue;
    }
    if (config_set(c, VALUE_OPTS[o].setting, value, msg, sizeof msg) != 0) {
      set_err(err, errlen, "%s: %s", opt, msg);
      return -1;
    }
  }
  return 0;
}

void config_store_options(const evd_config *c, store_options *o) {
  store_options_default(o);
  o->dir = c->data_dir;
  o->sync = c->sync;
  o->sync_interval_ns = c->sync_interval_ns;
  o->segment_max_bytes = c->segment_max_bytes;
  o->segment_max_age_ns = c->segment_max_age_ns;
  o->retention_age_ns = c->retention_max_age_ns;
  o->retention_max_bytes = c->retention_max_bytes;
  o->queue_max_bytes = c->queue_max_bytes;
}

/* Format a size with the largest binary unit that divides it exactly. */
static void format_size(uint64_t v, char *out, size_t n) {
  static const char *const U[] = {"TiB", "GiB", "MiB", "KiB"};
  static const int SHIFT[] = {40, 30, 20, 10};
  for (int i = 0; i < 4; i++) {
    uint64_t m = 1ull << SHIFT[i];
    if (v >= m && v % m == 0) {
      snprintf(out, n, "%llu%s", (unsigned long long)(v / m), U[i]);
      return;
    }
  }
  snprintf(out, n, "%llu", (unsigned long long)v);
}

/* Format a duration with the largest unit that divides it exactly. */
static void format_duration(int64_t ns, char *out, size_t n) {
  static const struct {
    const char *u;
    int64_t ns;
  } U[] = {{"d", 86400 * NS_PER_SEC}, {"h", 3600 * NS_PER_SEC}, {"m", 60 * NS_PER_SEC},
           {"s", NS_PER_SEC},         {"ms", NS_PER_MS},        {"us", NS_PER_US}};
  if (ns == 0) {
    snprintf(out, n, "0");
    return;
  }
  for (size_t i = 0; i < sizeof U / sizeof U[0]; i++)
    if (ns % U[i].ns == 0) {
      snprintf(out, n, "%lld%s", (long long)(ns / U[i].ns), U[i].u);
      return;
    }
  snprintf(out, n, "%lldns", (long long)ns);
}

/* Write a YAML scalar, quoted when plain style could misread it. */
static void print_scalar(FILE *out, const char *s) {
  int plain = *s != '\0';
  for (const char *p = s; *p && plain; p++)
    if (!(isalnum((unsigned char)*p) || strchr("./_-:", *p))) plain = 0;
  if (plain && (s[0] == '-' || s[0] == ':')) plain = 0;
  if (plain) {
    fputs(s, out);
    return;
  }
  fputc('"', out);
  for (const char *p = s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
    else if ((unsigned char)*p < 0x20) fprintf(out, "\\x%02x", (unsigned char)*p);
    else fputc(*p, out);
  }
  fputc('"', out);
}

/* forward.users "user:password[:tenant],..." with every password redacted. Returns a
 * malloc'd string (NULL when out of memory). */
static char *redact_users(const char *users) {
  buf b = BUF_INIT;
  int rc = 0;
  for (const char *p = users; *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    const char *colon = memchr(p, ':', n);
    if (p != users) rc |= buf_putc(&b, ',');
    if (!colon) {
      rc |= buf_append(&b, p, n);
    } else {
      const char *rest = memchr(colon + 1, ':', n - (size_t)(colon + 1 - p)); /* :tenant */
      rc |= buf_append(&b, p, (size_t)(colon + 1 - p));
      rc |= buf_puts(&b, CONFIG_REDACTED);
      if (rest) rc |= buf_append(&b, rest, n - (size_t)(rest - p));
    }
    p += n + (end ? 1 : 0);
  }
  rc |= buf_putc(&b, '\0');
  if (rc) {
    buf_free(&b);
    return NULL;
  }
  return (char *)b.data;
}

void config_print(const evd_config *c, FILE *out, int show_secrets) {
  fprintf(out, "# eventd effective configuration (eventd --print-config%s)\n",
          show_secrets ? " --show-secrets" : "");
  if (!show_secrets)
    fprintf(out, "# secrets are shown as " CONFIG_REDACTED "; this file loads back only once they "
                 "are filled in (--show-secrets prints them)\n");
  char section[64] = "";
  for (size_t i = 0; i < NSETTINGS; i++) {
    const setting *st = &SETTINGS[i];
    const char *dot = strchr(st->name, '.');
    const char *leaf = st->name;
    if (dot) {
      size_t sl = (size_t)(dot - st->name);
      if (strlen(section) != sl || strncmp(section, st->name, sl) != 0) {
        snprintf(section, sizeof section, "%.*s", (int)sl, st->name);
        fprintf(out, "%s:\n", section);
      }
      leaf = dot + 1;
      fputs("  ", out);
    } else {
      section[0] = '\0';
    }
    fprintf(out, "%s: ", leaf);
    const char *base = (const char *)c + st->offset;
    char tmp[64];
    switch (st->kind) {
      case K_STRING:
      case K_LISTEN:
      case K_LISTEN_OFF: print_scalar(out, *(char *const *)base); break;
      case K_SIZE: format_size(*(const uint64_t *)base, tmp, sizeof tmp); fputs(tmp, out); break;
      case K_SIZE_T: format_size(*(const size_t *)base, tmp, sizeof tmp); fputs(tmp, out); break;
      case K_COUNT: fprintf(out, "%llu", (unsigned long long)*(const uint64_t *)base); break;
      case K_COUNT_T: fprintf(out, "%zu", *(const size_t *)base); break;
      case K_INT: fprintf(out, "%d", *(const int *)base); break;
      case K_DURATION:
        format_duration(*(const int64_t *)base, tmp, sizeof tmp);
        fputs(tmp, out);
        break;
      case K_SYNC: {
        store_sync sy = *(const store_sync *)base;
        fputs(sy == STORE_SYNC_ALWAYS ? "always" : sy == STORE_SYNC_NONE ? "none" : "batch", out);
        break;
      }
      case K_LOGLEVEL: fputs(log_level_name(*(const int *)base), out); break;
      case K_OPT_PATH: {
        const char *v = *(char *const *)base;
        if (!show_secrets && v && *v && is_secret_setting(st->name)) {
          char *r = strcmp(st->name, "forward.users") == 0 ? redact_users(v) : NULL;
          print_scalar(out, r ? r : CONFIG_REDACTED);
          free(r);
        } else {
          print_scalar(out, v ? v : "");
        }
        break;
      }
      case K_DIRLIST:
        fputc('[', out);
        for (size_t d = 0; d < c->registry_nspec_dirs; d++) {
          if (d) fputs(", ", out);
          print_scalar(out, c->registry_spec_dirs[d]);
        }
        fputc(']', out);
        break;
      case K_POLICY: fputs(registry_policy_name((registry_policy) * (const int *)base), out); break;
      case K_STREAMS:
        fputc('{', out);
        for (size_t d = 0; d < c->registry_nstreams; d++) {
          if (d) fputs(", ", out);
          print_scalar(out, c->registry_streams[d].stream);
          fprintf(out, ": %s", registry_policy_name((registry_policy)c->registry_streams[d].policy));
        }
        fputc('}', out);
        break;
      case K_OUTPUTS: outputs_config_print(c, out, show_secrets); break;
    }
    fprintf(out, "  # %s\n", st->help);
  }
}

