/* config: every setting of the daemon, its defaults, the YAML configuration file and the
 * command line (docs/configuration.md is the reference for users).
 *
 * Settings have dotted names ("store.segment_max_bytes") that are the same in the YAML file
 * (nested mappings), in `--set NAME=VALUE` and in `--print-config`. Values are checked when
 * they are set: a bad file stops startup with "FILE:LINE: reason". Sizes take "16MiB",
 * "1GiB", "512KB" or a plain number of bytes; durations take "500ms", "15m", "7d" or a plain
 * number of seconds. */
#ifndef EVD_SERVER_CONFIG_H
#define EVD_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/event.h"
#include "store/store.h"

#define EVD_DEFAULT_DATA_DIR "./data"
#define EVD_DEFAULT_HTTP "127.0.0.1:8910"
#define EVD_DEFAULT_GRPC "127.0.0.1:50075"

/* One entry of registry.streams: the unregistered policy of one stream. */
typedef struct evd_stream_policy {
  char *stream;
  int policy; /* registry_policy */
} evd_stream_policy;

typedef struct evd_config {
  char *data_dir;                    /* data_dir */
  char *http_listen;                 /* http.listen, "HOST:PORT" */
  int64_t http_idle_timeout_ns;      /* http.idle_timeout */
  uint64_t http_max_header_bytes;    /* http.max_header_bytes */
  store_sync sync;                   /* sync */
  int64_t sync_interval_ns;          /* sync_interval */
  uint64_t segment_max_bytes;        /* store.segment_max_bytes */
  int64_t segment_max_age_ns;        /* store.segment_max_age */
  uint64_t queue_max_bytes;          /* store.queue_max_bytes */
  int64_t retention_max_age_ns;      /* retention.max_age (0 = keep) */
  uint64_t retention_max_bytes;      /* retention.max_bytes (0 = no bound) */
  int64_t purge_after_ns;            /* purge.after (0 = never; docs/lifecycle.md) */
  int64_t purge_archived_after_ns;   /* purge.archived_after (0 = as purge.after) */
  int64_t purge_interval_ns;         /* purge.interval */
  char *purge_streams;               /* purge.streams "stream=dur,..." (NULL = none) */
  evd_limits limits;                 /* limits.* */
  int log_level;                     /* log_level (LOG_*) */
  int64_t tail_keepalive_ns;         /* tail.keepalive */
  uint64_t tail_max_clients;         /* tail.max_clients */
  uint64_t tail_buffer_max_bytes;    /* tail.buffer_max_bytes */
  uint64_t query_default_limit;      /* query.default_limit */
  uint64_t query_max_limit;          /* query.max_limit */
  uint64_t query_max_response_bytes; /* query.max_response_bytes */
  uint64_t histogram_max_buckets;    /* query.histogram_max_buckets */
  int64_t shutdown_timeout_ns;       /* shutdown_timeout */
  char *grpc_listen;                 /* grpc.listen, "HOST:PORT" or "off" */
  uint64_t grpc_max_message_bytes;   /* grpc.max_message_bytes */
  char *grpc_tls_cert;               /* grpc.tls.cert: PEM certificate chain (NULL: h2c) */
  char *grpc_tls_key;                /* grpc.tls.key: PEM private key (NULL: h2c) */
  /* Socket inputs of issue 5 (src/inputs/{forward,syslog,lines}; docs/inputs.md). */
  char *forward_listen;              /* forward.listen, "HOST:PORT" or "off" */
  uint64_t forward_max_message_bytes; /* forward.max_message_bytes (also decompressed) */
  uint64_t forward_max_connections;  /* forward.max_connections */
  char *forward_tag_rule;            /* forward.tag_rule: split | stream | type */
  char *forward_default_type;        /* forward.default_type (NULL: the type is required) */
  char *forward_on_invalid;          /* forward.on_invalid: skip | refuse */
  int forward_chunk_ids;             /* forward.chunk_ids: event ids CHUNK:INDEX (0/1) */
  char *forward_shared_key;          /* forward.shared_key (NULL: no handshake) */
  char *forward_users;               /* forward.users: "user:password,..." (NULL: none) */
  char *forward_self_hostname;       /* forward.self_hostname (NULL: gethostname) */
  char *forward_tls_cert;            /* forward.tls.cert (NULL: plain TCP) */
  char *forward_tls_key;             /* forward.tls.key */
  char *syslog_listen;               /* syslog.listen (UDP and TCP), or "off" */
  uint64_t syslog_max_message_bytes; /* syslog.max_message_bytes */
  uint64_t syslog_max_connections;   /* syslog.max_connections */
  char *syslog_default_stream;       /* syslog.default_stream (no app-name) */
  char *syslog_default_type;         /* syslog.default_type (no msgid) */
  char *lines_listen;                /* lines.listen (UDP and TCP), or "off" */
  uint64_t lines_max_line_bytes;     /* lines.max_line_bytes */
  uint64_t lines_max_connections;    /* lines.max_connections */
  char *lines_format;                /* lines.format: event | record */
  char *lines_stream;                /* lines.stream: stream of record-format lines */
  char *syslog_tls_cert, *syslog_tls_key; /* syslog.tls.cert/key: TCP over TLS (RFC 5425) */
  char *lines_tls_cert, *lines_tls_key;   /* lines.tls.cert/key: TCP over TLS */
  /* HTTP-port inputs of issue 5 (src/inputs/{es,otlp}; docs/inputs.md). */
  char *es_index_rule;               /* es.index_rule: "{stream}-{env}" */
  char *es_default_type;             /* es.default_type: "es.document" */
  char *otlp_default_type;           /* otlp.default_type: "otlp.log" */
  char *otlp_stream_attribute;       /* otlp.stream_attribute: "service.name" (NULL: none) */
  char *registry_file;               /* registry.file (NULL: no registry, accept everything) */
  char **registry_spec_dirs;         /* registry.spec_dirs */
  size_t registry_nspec_dirs;
  int registry_unregistered;         /* registry.unregistered (registry_policy) */
  evd_stream_policy *registry_streams; /* registry.streams */
  size_t registry_nstreams;
  /* Outputs of issue 4 (src/outputs; docs/outputs.md). */
  int64_t outputs_retry_base_ns;     /* outputs.retry_base */
  int64_t outputs_retry_cap_ns;      /* outputs.retry_cap */
  uint64_t outputs_max_attempts;     /* outputs.max_attempts (0 = forever) */
  uint64_t outputs_history_size;     /* outputs.history_size */
  uint64_t outputs_pin_max_bytes;    /* outputs.pin_max_bytes */
  char **outputs_declared;           /* outputs.list (or `outputs:` as a list): JSON specs */
  size_t outputs_ndeclared;
  char *outputs_tenant_types;        /* outputs.tenant_types: types non-admins may create */
  char *outputs_allow_local_targets; /* outputs.allow_local_targets: "true" | "false" */
  /* Access control of issue 7 (src/server/auth.h; docs/security.md). */
  char *auth_mode;                   /* auth.mode: "on" | "off" */
  char *auth_allow_insecure;         /* auth.allow_insecure: "true" | "false" */
  /* Transport security and hostile input of issue 7 (src/server/tls.h, ratelimit.h;
   * docs/security.md). */
  char *http_tls_cert;               /* http.tls.cert (NULL: plain HTTP) */
  char *http_tls_key;                /* http.tls.key */
  char *http_tls_client_ca;          /* http.tls.client_ca (NULL: no client certificates) */
  char *grpc_tls_client_ca;          /* grpc.tls.client_ca (NULL: no client certificates) */
  uint64_t grpc_max_connections;     /* grpc.max_connections (0 = no bound) */
  int64_t grpc_handshake_timeout_ns; /* grpc.handshake_timeout: accept to client SETTINGS */
  char *forward_tls_client_ca;       /* forward.tls.client_ca (NULL: no client certificates) */
  char *syslog_tls_client_ca;        /* syslog.tls.client_ca */
  char *lines_tls_client_ca;         /* lines.tls.client_ca */
  uint64_t http_max_connections;     /* http.max_connections (0 = no bound) */
  int64_t http_header_timeout_ns;    /* http.header_timeout: first byte to end of headers */
  int64_t http_body_timeout_ns;      /* http.body_timeout: first byte to end of body */
  uint64_t rate_per_token;           /* limits.rate_per_token: requests/s (0 = off) */
  uint64_t rate_per_peer;            /* limits.rate_per_peer: requests/s (0 = off) */
  /* Socket inputs' tenants, peer allow lists and limits (issue 7; docs/security.md "Socket
   * inputs"; src/inputs/sock_guard.h). */
  char *forward_tenant, *syslog_tenant, *lines_tenant; /* <input>.tenant (NULL: root) */
  char *forward_allow, *syslog_allow, *lines_allow;    /* <input>.allow: CIDRs (NULL: all) */
  uint64_t socket_rate_per_peer;     /* limits.socket_rate_per_peer: events/s (0 = off) */
  int64_t socket_idle_timeout_ns;    /* limits.socket_idle_timeout (0 = none) */
  int64_t socket_frame_timeout_ns;   /* limits.socket_frame_timeout (0 = none) */
} evd_config;

/* Fill c with the defaults (runs out of the box: ./data, 127.0.0.1:8910, sync batch). */
void config_init(evd_config *c);
/* Free the strings c owns. */
void config_free(evd_config *c);

/* Set one setting by dotted name from its text form. Returns 0, or -1 with a message in
 * err naming the setting and the problem (no file position: callers add it). */
int config_set(evd_config *c, const char *name, const char *value, char *err, size_t errlen);

/* Apply a YAML document text[0..len) (a mapping; nested mappings for the dotted names).
 * `file` names the source in messages. Unknown keys, duplicate keys, wrong types and bad
 * values are errors reported as "FILE:LINE: reason". An empty document changes nothing.
 * On error c may be partly updated. Returns 0 or -1. */
int config_load_yaml(evd_config *c, const char *file, const char *text, size_t len, char *err,
                     size_t errlen);
/* Read and apply a YAML file (config_load_yaml). Returns 0 or -1 with err. */
int config_load_file(evd_config *c, const char *path, char *err, size_t errlen);

/* What the command line asks for. */
typedef enum config_action {
  CONFIG_RUN = 0,     /* start the daemon */
  CONFIG_HELP,        /* print the manual page and exit 0 */
  CONFIG_VERSION,     /* print the version and exit 0 */
  CONFIG_CHECK,       /* load the configuration, report, exit 0 if valid */
  CONFIG_PRINT,       /* print the effective configuration as YAML (secrets redacted), exit 0 */
  CONFIG_PRINT_SECRETS /* the same with the secrets (--print-config --show-secrets) */
} config_action;

/* Parse the command line: the file named by --config is applied first, then the other
 * options in order, so flags override the file. Returns 0 and *action, or -1 with err
 * (usage error or bad configuration). */
int config_from_args(evd_config *c, int argc, char **argv, config_action *action, char *err,
                     size_t errlen);

/* The manual page of `eventd --help`. */
void config_usage(FILE *out);

/* The effective configuration as a complete YAML file. With show_secrets it loads back to
 * the same settings; without, every secret (forward.shared_key, the passwords of
 * forward.users, the secrets, passwords, tokens, header values and URL passwords of output
 * specs) is printed as CONFIG_REDACTED, which config loading refuses with a message saying
 * so — a redacted file never loads as if the placeholder were the secret. */
void config_print(const evd_config *c, FILE *out, int show_secrets);

/* The placeholder of a secret in config_print's output. */
#define CONFIG_REDACTED "<redacted>"
/* 0 when value holds no CONFIG_REDACTED; else -1 with err naming the setting. */
int config_check_not_redacted(const char *name, const char *value, char *err, size_t errlen);

/* Store options from the configuration (log callback left unset). */
void config_store_options(const evd_config *c, store_options *o);

/* Names of all settings, NULL-terminated (for tests and tools). */
const char *config_setting_name(size_t i);

/* Parse a size: a whole number with an optional unit, B, KB/MB/GB/TB (powers of 1000) or
 * K/KiB, M/MiB, G/GiB, T/TiB (powers of 1024), case-insensitive, optionally a decimal
 * fraction ("1.5GiB") as long as the result is a whole number of bytes. Returns 0 or -1. */
int config_parse_size(const char *s, uint64_t *out);

/* Split "HOST:PORT" or "[V6ADDR]:PORT" (port 0..65535; 0 = pick a free one). host gets the
 * address without brackets. Returns 0 or -1. */
int config_parse_listen(const char *s, char *host, size_t hostlen, int *port);

#endif
