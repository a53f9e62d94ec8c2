/* eventd.h — libeventd, the C client library of eventd.
 *
 * An application builds events and hands them to a client with evd_emit(). The call never does
 * I/O and never blocks beyond a bounded enqueue: the event goes into an in-memory queue and a
 * background thread (one per client) batches the queued events and sends them to eventd
 * (POST /v1/events as NDJSON, or the Fluentd forward protocol with acks). When eventd cannot be
 * reached, or the memory queue passes its high-water mark, events go to a disk spool (a
 * directory of segment files) and are replayed in order when eventd answers again. An event
 * leaves the spool only after eventd acknowledged it; after a crash at any point, everything
 * in the spool that was not acknowledged is sent again on the next evd_client_open() with the
 * same spool directory. Every event carries a client-side id (a ULID) that eventd uses as its
 * idempotency key, so an event sent twice is stored once.
 *
 *   evd_client *c = evd_client_open(NULL);               // everything from the environment
 *   evd_event *ev = evd_event_new("session_created");
 *   evd_event_set_stream(ev, "sessiond");
 *   evd_event_set_tag(ev, "IMSI001010000000001");
 *   evd_event_set_data_string(ev, "apn", "internet");
 *   evd_emit(c, ev);                                      // takes ownership of ev
 *   EVD_WARN(c, "quota.low", "%d%% of quota left", 5);    // adds code.file/line/function
 *   evd_client_close(c, 5000);                            // flushes for at most 5 s
 *
 * Environment (read by evd_client_open for every option left NULL/0):
 *   EVENTD_URL      http://HOST:PORT[/] (POST /v1/events) or forward://HOST:PORT
 *                   (default http://127.0.0.1:8910)
 *   EVENTD_SPOOL    spool directory (created if missing); unset or empty = no spool: events
 *                   wait in memory only, and a crash loses what was not yet acknowledged
 *   EVENTD_TOKEN    sent as "Authorization: Bearer <token>" (HTTP only)
 *   EVENTD_SITE, EVENTD_CLUSTER   automatic resource fields (below)
 *   EVENTD_STREAM, EVENTD_TENANT  defaults for events that do not set them
 *
 * Automatic fields, added to every event unless the event already sets them:
 *   id (a ULID, assigned by evd_event_new), time (the evd_emit call's wall clock, ns),
 *   resource {"host.name", "process.pid", "process.executable.name", "site", "cluster"}
 *   (site/cluster only when configured), and the client's default stream/tenant.
 *
 * Thread safety: an evd_client may be used from any number of threads at once. An evd_event
 * belongs to one thread at a time (no locking inside) until evd_emit takes it.
 *
 * Fork: a child process does not inherit the background thread. In the child every call on a
 * client opened by the parent fails (evd_emit returns -1 with errno ECHILD, the event is freed
 * and counted in stats.dropped_fork); evd_client_close(c, ...) in the child releases the
 * handle's descriptors without touching the parent's queue or spool, and returns 0. A child
 * that wants to send events opens its own client, with a different spool directory (a spool
 * directory is locked by the one client that uses it; a second open of the same directory
 * fails with EBUSY).
 *
 * Errors: functions that return int return 0 on success and -1 on failure with errno set;
 * functions that return pointers return NULL on failure with errno set. Nothing is truncated
 * silently: a value that eventd would refuse is refused by the setter (EINVAL), and the
 * message is available from evd_event_error().
 *
 * Symbols: the library exports only names starting with evd_ (and EVD_ macros).
 */
#ifndef EVENTD_EVENTD_H
#define EVENTD_EVENTD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define EVD_PUBLIC __attribute__((visibility("default")))
#define EVD_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define EVD_PUBLIC
#define EVD_PRINTF(fmt, args)
#endif

#define EVD_VERSION_MAJOR 0
#define EVD_VERSION_MINOR 1
#define EVD_VERSION_PATCH 0

/* The library's version as "MAJOR.MINOR.PATCH" (static string). */
EVD_PUBLIC const char *evd_version(void);

/* ---- severities (OpenTelemetry numbers; eventd accepts 1..24) ------------------------- */
#define EVD_SEV_TRACE 1
#define EVD_SEV_DEBUG 5
#define EVD_SEV_INFO 9
#define EVD_SEV_WARN 13
#define EVD_SEV_ERROR 17
#define EVD_SEV_FATAL 21

/* ---- options ------------------------------------------------------------------------- */

/* What evd_emit does when the memory queue is full (and, with a spool, what the background
 * thread does when the spool is at spool_max_bytes). Every applied drop is counted in
 * evd_stats. */
typedef enum evd_overflow_policy {
  EVD_OVERFLOW_DEFAULT = 0,   /* = EVD_OVERFLOW_BLOCK */
  EVD_OVERFLOW_BLOCK,         /* evd_emit waits at most block_timeout_ms for room, then drops
                                 the new event (stats.dropped_block_timeout, errno ETIMEDOUT) */
  EVD_OVERFLOW_DROP_NEWEST,   /* the new event is dropped (stats.dropped_newest, errno ENOBUFS) */
  EVD_OVERFLOW_DROP_OLDEST    /* the oldest queued event is dropped to make room, the new one
                                 is accepted; at the spool bound the oldest spool segment is
                                 deleted (stats.dropped_oldest counts every event dropped) */
} evd_overflow_policy;

/* When events are written to the spool. */
typedef enum evd_spool_mode {
  EVD_SPOOL_DEFAULT = 0,      /* = EVD_SPOOL_OVERFLOW */
  EVD_SPOOL_OVERFLOW,         /* only when eventd is unreachable/refusing, or the memory queue
                                 passes its high-water mark (then everything after goes through
                                 the spool until it is empty again, to keep order) */
  EVD_SPOOL_ALWAYS            /* write-ahead: every batch is in the spool before it is sent,
                                 so a crash of the process loses only what evd_emit queued in
                                 memory and the thread had not yet taken */
} evd_spool_mode;

/* Client options. Initialise with evd_options_init() (zeroes everything), then set what you
 * need: a NULL string or a 0 number means "from the environment variable named above, else
 * the default shown". Strings are copied by evd_client_open; the struct may be freed after. */
typedef struct evd_options {
  const char *url;            /* EVENTD_URL; default "http://127.0.0.1:8910" */
  const char *spool_dir;      /* EVENTD_SPOOL; default none (memory only) */
  const char *token;          /* EVENTD_TOKEN; default none */
  const char *site;           /* EVENTD_SITE; default none */
  const char *cluster;        /* EVENTD_CLUSTER; default none */
  const char *stream;         /* EVENTD_STREAM; default stream of events (eventd: "default") */
  const char *tenant;         /* EVENTD_TENANT; default tenant of events */
  const char *program;        /* resource process.executable.name; default: this program's
                                 name (program_invocation_short_name) */
  const char *forward_tag;    /* forward:// only: the forward tag; default "eventd" */
  unsigned batch_max_events;  /* events per request; default 1000 */
  unsigned batch_max_bytes;   /* request body bound; default 4 MiB */
  unsigned batch_interval_ms; /* send a partial batch after this long; default 200 */
  unsigned queue_max_events;  /* memory queue bound; default 65536 */
  unsigned queue_high_water;  /* with a spool: spill to the spool from this many queued
                                 events; default queue_max_events / 2 */
  uint64_t spool_max_bytes;   /* spool bound; default 1 GiB */
  evd_overflow_policy overflow; /* default EVD_OVERFLOW_BLOCK */
  unsigned block_timeout_ms;  /* EVD_OVERFLOW_BLOCK: longest wait in evd_emit; default 100 */
  evd_spool_mode spool_mode;  /* default EVD_SPOOL_OVERFLOW */
  int spool_fsync;            /* 1: fdatasync spool writes (survives power loss); -1: never
                                 (survives a process crash only); 0: default (1) */
  unsigned connect_timeout_ms;/* default 2000 */
  unsigned request_timeout_ms;/* whole request, connect to answer; default 10000 */
  unsigned retry_min_ms;      /* first retry delay; default 100 (doubles, with jitter) */
  unsigned retry_max_ms;      /* longest retry delay; default 10000 */
  unsigned metrics_interval_ms; /* counters/gauges sent this often; default 10000 */
  void *reserved[8];          /* zero; room for new options without changing the size */
} evd_options;

/* Zero every member of *o (= every default). */
EVD_PUBLIC void evd_options_init(evd_options *o);

/* ---- client -------------------------------------------------------------------------- */

typedef struct evd_client evd_client;
typedef struct evd_event evd_event;

/* Open a client: validate the options (NULL = everything from the environment), open and
 * lock the spool directory if any (recovering what a previous process left there: those
 * events are sent first), and start the background thread. No connection is made here: an
 * unreachable eventd is not an error. Returns the client, or NULL with errno set (EINVAL bad
 * option or URL, EBUSY spool locked by another client, other errno from the file system);
 * evd_client_open_err also writes a message naming the problem into err[errlen]. The caller
 * closes the client with evd_client_close. */
EVD_PUBLIC evd_client *evd_client_open(const evd_options *opts);
EVD_PUBLIC evd_client *evd_client_open_err(const evd_options *opts, char *err, size_t errlen);

/* Wait until every event emitted before this call is either acknowledged by eventd or, when
 * eventd cannot take it now and there is a spool, written to the spool; at most timeout_ms
 * (< 0: no limit). Returns 0, or -1 with errno ETIMEDOUT (or ECHILD in a forked child). */
EVD_PUBLIC int evd_client_flush(evd_client *c, int timeout_ms);

/* Stop the client: send what is queued and spooled for at most timeout_ms (0: do not wait;
 * < 0 is taken as 0 — close never waits without bound), then write what is still in memory to
 * the spool (if any), stop the thread, release everything. Returns the number of events not
 * delivered: those left in the spool (sent by the next client opened on that directory) plus
 * those lost because there was no spool to keep them (or the spool was full under the block
 * policy). c may be NULL (returns 0). c is freed. In a forked child: see "Fork" above. */
EVD_PUBLIC uint64_t evd_client_close(evd_client *c, int timeout_ms);

/* ---- events -------------------------------------------------------------------------- */

/* A new event of type `type` (a name: 1..256 bytes of A-Z a-z 0-9 _ . : / @ -, not starting
 * or ending with '.', no ".."). Returns the event (owned by the caller until evd_emit or
 * evd_event_free), or NULL with errno EINVAL (bad type) or ENOMEM. */
EVD_PUBLIC evd_event *evd_event_new(const char *type);

/* Free an event that was not emitted. ev may be NULL. */
EVD_PUBLIC void evd_event_free(evd_event *ev);

/* The message of the last setter that failed on ev ("tag: exceeds 4096 bytes"), or NULL if
 * none failed. Valid until ev is freed or emitted. */
EVD_PUBLIC const char *evd_event_error(const evd_event *ev);

/* Setters. Each copies its arguments, replaces a previous value of the same field, and
 * returns 0, or -1 with errno EINVAL (value eventd would refuse; the field keeps its previous
 * value and evd_event_error says why) or ENOMEM. A NULL string unsets the field.
 * Rules (docs/event.md): names (stream, tenant, type) as evd_event_new; id 1..4096 bytes of
 * printable ASCII without space; key 1..255 bytes, no whitespace, no word "*" or "#";
 * tag/source/correlation_id/state/label values <= 4096 bytes UTF-8; message <= 256 KiB UTF-8;
 * trace_id 32 hex digits, span_id 16 hex digits (not all zero); label keys 1..256 bytes of
 * A-Z a-z 0-9 _ . -, at most 64 labels. Strings must be valid UTF-8. */
EVD_PUBLIC int evd_event_set_type(evd_event *ev, const char *type);
EVD_PUBLIC int evd_event_set_id(evd_event *ev, const char *id);
EVD_PUBLIC int evd_event_set_tenant(evd_event *ev, const char *tenant);
EVD_PUBLIC int evd_event_set_stream(evd_event *ev, const char *stream);
EVD_PUBLIC int evd_event_set_key(evd_event *ev, const char *key);
EVD_PUBLIC int evd_event_set_tag(evd_event *ev, const char *tag);
EVD_PUBLIC int evd_event_set_source(evd_event *ev, const char *source);
EVD_PUBLIC int evd_event_set_message(evd_event *ev, const char *message);
EVD_PUBLIC int evd_event_set_messagef(evd_event *ev, const char *fmt, ...) EVD_PRINTF(2, 3);
EVD_PUBLIC int evd_event_set_correlation_id(evd_event *ev, const char *correlation_id);
EVD_PUBLIC int evd_event_set_state(evd_event *ev, const char *state);
EVD_PUBLIC int evd_event_set_trace_id(evd_event *ev, const char *trace_id);
EVD_PUBLIC int evd_event_set_span_id(evd_event *ev, const char *span_id);
/* severity: 1..24 (EVD_SEV_*). */
EVD_PUBLIC int evd_event_set_severity(evd_event *ev, int severity);
/* severity by text: TRACE DEBUG INFO WARN WARNING ERROR FATAL CRITICAL (any case). */
EVD_PUBLIC int evd_event_set_severity_text(evd_event *ev, const char *severity);
/* time in nanoseconds since 1970-01-01T00:00:00Z (>= 0). Unset: the evd_emit call's time. */
EVD_PUBLIC int evd_event_set_time(evd_event *ev, int64_t unix_ns);
/* labels: one string label; value NULL removes the label. */
EVD_PUBLIC int evd_event_set_label(evd_event *ev, const char *key, const char *value);

/* data (the event's free-form object). evd_event_set_data_json replaces the whole object
 * with the JSON text `json` (must be one JSON object, checked strictly: EINVAL otherwise;
 * NULL removes data). The key/value setters add one top-level member each; a key that is
 * already present (also from set_data_json) is refused with EEXIST. Doubles must be finite. */
EVD_PUBLIC int evd_event_set_data_json(evd_event *ev, const char *json);
EVD_PUBLIC int evd_event_set_data_string(evd_event *ev, const char *key, const char *value);
EVD_PUBLIC int evd_event_set_data_int(evd_event *ev, const char *key, int64_t value);
EVD_PUBLIC int evd_event_set_data_double(evd_event *ev, const char *key, double value);
EVD_PUBLIC int evd_event_set_data_bool(evd_event *ev, const char *key, int value);
/* data member whose value is JSON text (object, array, number...; checked strictly). */
EVD_PUBLIC int evd_event_set_data_raw(evd_event *ev, const char *key, const char *json);

/* resource (an object describing the emitter). Members set here are kept; the automatic ones
 * (host.name, process.pid, process.executable.name, site, cluster) are added by evd_emit
 * unless set here. evd_event_set_resource_json replaces the object (NULL removes it). */
EVD_PUBLIC int evd_event_set_resource_json(evd_event *ev, const char *json);
EVD_PUBLIC int evd_event_set_resource_string(evd_event *ev, const char *key, const char *value);

/* Hand ev to the client (always: ev is freed or queued whatever the result; do not touch it
 * after). Sets the time unless set, adds the automatic fields, and queues the event.
 * No I/O; waits only under EVD_OVERFLOW_BLOCK, at most block_timeout_ms. Returns 0 when queued,
 * or -1 with errno: ENOBUFS dropped (queue full, drop_newest), ETIMEDOUT dropped (queue still
 * full after block_timeout_ms), ECHILD (client of the parent process, in a forked child),
 * ESHUTDOWN (client closing), EINVAL (c or ev NULL). Every drop is counted in evd_stats. */
EVD_PUBLIC int evd_emit(evd_client *c, evd_event *ev);

/* The event's id: the one given to evd_event_set_id, else the ULID evd_event_new assigned
 * (26 characters, unique, time-ordered per thread). Valid until ev is emitted or freed: copy
 * it before evd_emit if you need it after. */
EVD_PUBLIC const char *evd_event_id(const evd_event *ev);

/* ---- logging-style emit ---------------------------------------------------------------- */

/* Emit an event of type `type` (NULL: "log") with the given severity, the printf-formatted
 * message, and data {"code.file": file, "code.line": line, "code.function": func}. Returns as
 * evd_emit (also -1 EINVAL for a bad type). */
EVD_PUBLIC int evd_log(evd_client *c, int severity, const char *type, const char *file,
                       int line, const char *func, const char *fmt, ...) EVD_PRINTF(7, 8);
EVD_PUBLIC int evd_logv(evd_client *c, int severity, const char *type, const char *file,
                        int line, const char *func, const char *fmt, va_list ap);

#define EVD_LOG(c, sev, type, ...) evd_log((c), (sev), (type), __FILE__, __LINE__, __func__, __VA_ARGS__)
/* (no EVD_DEBUG/EVD_TRACE macros: those names are common build flags; use
   EVD_LOG(c, EVD_SEV_DEBUG, type, fmt, ...)) */
#define EVD_INFO(c, type, ...) EVD_LOG((c), EVD_SEV_INFO, (type), __VA_ARGS__)
#define EVD_WARN(c, type, ...) EVD_LOG((c), EVD_SEV_WARN, (type), __VA_ARGS__)
#define EVD_ERROR(c, type, ...) EVD_LOG((c), EVD_SEV_ERROR, (type), __VA_ARGS__)
#define EVD_FATAL(c, type, ...) EVD_LOG((c), EVD_SEV_FATAL, (type), __VA_ARGS__)

/* ---- counters and gauges ---------------------------------------------------------------- */

/* Add n to the counter `name` (a name as for types; created at 0 on first use). Every
 * metrics_interval_ms, and at close, each counter that changed is sent as one event of type
 * "metric.counter" with data {"name": name, "value": total, "delta": change}. Returns 0, or
 * -1 with errno EINVAL (bad name) / ENOMEM / ECHILD. Lock-protected; cheap (no I/O). */
EVD_PUBLIC int evd_counter_add(evd_client *c, const char *name, int64_t n);

/* Set the gauge `name` to v (finite). Sent like counters, as type "metric.gauge" with data
 * {"name": name, "value": v}, when it was set since the last send. */
EVD_PUBLIC int evd_gauge_set(evd_client *c, const char *name, double v);

/* ---- self-metrics -------------------------------------------------------------------- */

typedef struct evd_stats {
  uint64_t emitted;               /* evd_emit calls that queued their event */
  uint64_t delivered;             /* events acknowledged by eventd (duplicates included) */
  uint64_t duplicates;            /* of those, acknowledged as already stored (resends) */
  uint64_t rejected;              /* events eventd refused as invalid (400): dropped */
  uint64_t dropped_newest;        /* drop_newest drops (memory queue or spool full) */
  uint64_t dropped_oldest;        /* drop_oldest drops (memory queue or spool full) */
  uint64_t dropped_block_timeout; /* block policy: still full after block_timeout_ms */
  uint64_t dropped_fork;          /* evd_emit in a forked child on the parent's client */
  uint64_t blocked;               /* evd_emit calls that had to wait for room */
  uint64_t spooled;               /* events written to the spool */
  uint64_t recovered;             /* events found in the spool at open (previous process) */
  uint64_t requests;              /* requests sent (batches) */
  uint64_t request_failures;      /* requests that failed (connect, timeout, 5xx, ...) */
  uint64_t retries;               /* retries of a failed request */
  uint64_t queue_events;          /* now: events in the memory queue (incl. taken batch) */
  uint64_t spool_events;          /* now: unacknowledged events in the spool */
  uint64_t spool_bytes;           /* now: bytes of spool segments on disk */
  int connected;                  /* now: 1 if the last request succeeded */
  char last_error[256];           /* the last send/spool error ("connect 127.0.0.1:8910:
                                     Connection refused"), "" if none */
} evd_stats;

/* Copy the client's counters into *out. Returns 0, or -1 (EINVAL, ECHILD). */
EVD_PUBLIC int evd_client_stats(evd_client *c, evd_stats *out);

/* ---- default client (used by eventd/gala_event.h) ------------------------------------- */

/* The process's default client: opened from the environment on first use (thread-safe),
 * closed by an atexit handler with a 2000 ms timeout (or EVENTD_CLOSE_TIMEOUT_MS). Returns
 * NULL (errno set) if it cannot be opened. In a forked child, the first call opens a new
 * default client for the child; if the spool directory is still locked by the parent, the
 * child's default client runs without a spool. */
EVD_PUBLIC evd_client *evd_default_client(void);

#ifdef __cplusplus
}
#endif

#endif /* EVENTD_EVENTD_H */
