/* client_internal.h — libeventd's private declarations (never installed).
 *
 * The library is self-contained: it does not link the daemon's code (src/core, evdserver).
 * Every non-static symbol here starts with evc_ and is hidden from the shared library by
 * -fvisibility=hidden; the static library carries them as ordinary globals, which is why the
 * prefix is one the daemon never uses (tests link both into evd-unit).
 *
 * Modules:
 *   client_util.c   growable buffer, JSON string writing, UTF-8 checks, RFC 3339, CRC-32C, ULID
 *   client_json.c   strict JSON checker (data/resource text given by the application)
 *   client_event.c  evd_event: setters with eventd's rules, NDJSON line encoding
 *   client_spool.c  the disk spool (segment files + ack file), recovery
 *   client_http.c   minimal HTTP/1.1 client (keep-alive, timeouts, an idle hook)
 *   client_worker.c the background thread: batching, sending, retries, spilling to the spool
 *   client.c        evd_client: open/close/emit/flush/stats, counters and gauges, fork rules
 *   client_gala.c   gala-gopher compatibility (eventd/gala_event.h)
 */
#ifndef EVD_CLIENT_INTERNAL_H
#define EVD_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "eventd/eventd.h"

#define EVC_HIDDEN __attribute__((visibility("hidden")))

/* ---- limits (eventd's defaults, docs/event.md) ------------------------------------------ */
#define EVC_NAME_MAX 256
#define EVC_VALUE_MAX 4096
#define EVC_MESSAGE_MAX (256 * 1024)
#define EVC_LABELS_MAX 64
#define EVC_KEY_MAX 255
#define EVC_DATA_DEPTH_MAX 63 /* containers in data/resource, itself included (eventd: 64
                                 counting the event object) */
#define EVC_ULID_LEN 26

/* ---- growable byte buffer ---------------------------------------------------------------- */
typedef struct evc_buf {
  char *p;
  size_t len, cap;
  int oom; /* set when a grow failed: later appends are ignored; check before use */
} evc_buf;

EVC_HIDDEN void evc_buf_free(evc_buf *b);
EVC_HIDDEN int evc_buf_reserve(evc_buf *b, size_t extra);
EVC_HIDDEN void evc_buf_add(evc_buf *b, const void *p, size_t n);
EVC_HIDDEN void evc_buf_adds(evc_buf *b, const char *s);
EVC_HIDDEN void evc_buf_addc(evc_buf *b, char c);
EVC_HIDDEN void evc_buf_printf(evc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
EVC_HIDDEN void evc_buf_add_u64(evc_buf *b, uint64_t v);
EVC_HIDDEN void evc_buf_add_i64(evc_buf *b, int64_t v);
/* Append s[0..n) as a JSON string with quotes (escapes ", \ and control characters). */
EVC_HIDDEN void evc_buf_add_jstr(evc_buf *b, const char *s, size_t n);
/* Append "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" with quotes for unix_ns >= 0. */
EVC_HIDDEN void evc_buf_add_time(evc_buf *b, int64_t unix_ns);
/* Write the same 32 bytes at o (room for 32); returns o + 32. */
EVC_HIDDEN char *evc_put_time(char *o, int64_t unix_ns);

/* 1 if s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
EVC_HIDDEN int evc_utf8_valid(const char *s, size_t n);
/* CRC-32C (Castagnoli) of p[0..n), continuing from crc (start with 0). */
EVC_HIDDEN uint32_t evc_crc32c(uint32_t crc, const void *p, size_t n);
/* Wall clock and monotonic clock in ns. */
EVC_HIDDEN int64_t evc_now_ns(void);
EVC_HIDDEN int64_t evc_mono_ns(void);
/* A new ULID (26 chars + NUL) from this thread's generator (monotonic per thread, reseeded
 * after fork). */
EVC_HIDDEN void evc_ulid_next(char out[EVC_ULID_LEN + 1]);
/* A random 64-bit number (thread-local xorshift, seeded from getrandom). */
EVC_HIDDEN uint64_t evc_random(void);

/* Incremented in the child by the pthread_atfork handler; objects remember the value they
 * were created under (the one piece of global mutable state: a fork flag). */
EVC_HIDDEN unsigned evc_fork_generation(void);
EVC_HIDDEN void evc_fork_init(void);

/* ---- JSON checking ---------------------------------------------------------------------- */
/* Called for each top-level member of an object: the raw key text (inside the quotes, escapes
 * not decoded) and the raw value text. Returns 0 to go on, non-zero to stop with an error. */
typedef int (*evc_json_member_fn)(void *arg, const char *key, size_t keylen, const char *val,
                                  size_t vallen);
/* Check s[0..n) strictly (RFC 8259, UTF-8, no duplicate keys, nesting <= max_depth counting
 * the outermost value as 1). want_object: the value must be an object, and fn (if not NULL)
 * gets each of its members. Returns 0, or -1 with a message in err. */
EVC_HIDDEN int evc_json_check(const char *s, size_t n, int want_object, int max_depth,
                              evc_json_member_fn fn, void *arg, char *err, size_t errlen);
/* Decode the raw JSON key text k[0..n) (escapes) into out; returns 0 or -1 (bad escape). */
EVC_HIDDEN int evc_json_unescape(const char *k, size_t n, evc_buf *out);

/* ---- events ----------------------------------------------------------------------------- */
enum {
  EVC_F_ID, EVC_F_TENANT, EVC_F_STREAM, EVC_F_TYPE, EVC_F_KEY, EVC_F_TAG, EVC_F_SOURCE,
  EVC_F_MESSAGE, EVC_F_CORRELATION_ID, EVC_F_STATE, EVC_F_TRACE_ID, EVC_F_SPAN_ID,
  EVC_F_COUNT
};

/* One automatic resource member (key: plain text, val: JSON text). */
typedef struct evc_kv {
  char *key; /* decoded key text */
  char *val;
} evc_kv;

/* One member of an event's labels (value: plain text) or data/resource (value: JSON text),
 * with the lengths kept so that encoding never scans for the end. */
typedef struct evc_member {
  char *key; /* decoded key text, NUL-terminated */
  char *val; /* NUL-terminated */
  uint32_t klen, vlen;
} evc_member;

typedef struct evc_kvlist {
  evc_member *v;
  size_t n, cap;
} evc_kvlist;

/* Bytes of per-event arena held inline in the evd_event allocation: setters carve their
 * copies from it (one malloc per typical event); what does not fit is malloc'd. */
#define EVC_EVENT_ARENA 512

struct evd_event {
  char *f[EVC_F_COUNT];
  uint32_t flen[EVC_F_COUNT];   /* strlen of f[i] */
  char idbuf[EVC_ULID_LEN + 1]; /* the assigned ULID (f[EVC_F_ID] NULL = use this) */
  int severity;                 /* 0 = unset */
  int has_time;
  int64_t time_ns;
  int64_t enqueue_mono_ns;      /* set by evd_emit */
  evc_kvlist labels, data, resource;
  char *error;                  /* last setter failure, or NULL */
  size_t arena_used;            /* bytes of arena[] handed out (never given back) */
  _Alignas(16) char arena[EVC_EVENT_ARENA];
};

/* Per-client automatic fields, written by evc_event_encode. */
typedef struct evc_auto {
  const char *stream, *tenant;   /* NULL = none */
  evc_kv res[5];                 /* host.name, process.pid, process.executable.name, site,
                                    cluster (val = JSON text; NULL key = unused) */
  size_t nres;
  const char *res_members;       /* the res[] members pre-encoded once per client
                                    ("\"host.name\":\"h\",..."), used for events that set no
                                    resource member themselves; NULL = encode res[] each time */
  size_t res_members_len;
} evc_auto;

/* Append ev as one compact JSON object (no newline) to out, with the automatic fields of au
 * (may be NULL). Returns 0, or -1 when out ran out of memory. */
EVC_HIDDEN int evc_event_encode(const evd_event *ev, const evc_auto *au, evc_buf *out);
/* au's resource members (res[]) encoded once as JSON text without braces, for
 * au->res_members. Returns a malloc'd string (caller frees), its length in *len; NULL: ENOMEM. */
EVC_HIDDEN char *evc_auto_res_members(const evc_auto *au, size_t *len);
/* The check of a name (stream, tenant, type): NULL if fine, else a static reason. */
EVC_HIDDEN const char *evc_check_name(const char *s, size_t n);

/* ---- spool ------------------------------------------------------------------------------- */
/* A position in the spool: segment number and byte offset within it. */
typedef struct evc_spos {
  uint64_t seg;
  uint64_t off;
} evc_spos;

typedef struct evc_spool evc_spool;

typedef struct evc_spool_opts {
  const char *dir;
  uint64_t max_bytes;     /* bound on segment bytes on disk (0 = none) */
  uint64_t segment_bytes; /* roll segments at this size */
  int fsync;              /* fdatasync on commit */
} evc_spool_opts;

/* Open (creating the directory if needed), lock (flock LOCK_EX|LOCK_NB on dir/LOCK) and
 * recover the spool: read the ack file, delete fully acknowledged segments, validate every
 * record after the ack position, truncate a torn tail. Returns the spool or NULL with errno
 * and a message in err. recovered (if not NULL) gets the number of unacknowledged events. */
EVC_HIDDEN evc_spool *evc_spool_open(const evc_spool_opts *o, uint64_t *recovered, char *err,
                                     size_t errlen);
EVC_HIDDEN void evc_spool_close(evc_spool *s);
/* Close descriptors only (forked child): no file is changed. */
EVC_HIDDEN void evc_spool_abandon(evc_spool *s);
/* Append one record (payload p[0..n)) to the write buffer. Returns 0, or -1 with errno ENOSPC
 * when the spool would exceed max_bytes (nothing appended), or another errno. */
EVC_HIDDEN int evc_spool_append(evc_spool *s, const void *p, size_t n);
/* Write the buffered records to the segment (one write per segment touched), fdatasync if
 * configured. Returns 0 or -1 (errno, message via evc_spool_error). After a failure the
 * buffered records are still held and the next commit retries them. */
EVC_HIDDEN int evc_spool_commit(evc_spool *s);
/* Read up to max_events records / max_bytes (at least one record) starting at the ack
 * position, calling fn for each payload. end receives the position after the last record
 * read. Returns the number of records read (0 = spool empty), or -1 (I/O error). */
typedef int (*evc_spool_record_fn)(void *arg, const char *p, size_t n);
EVC_HIDDEN long evc_spool_read_head(evc_spool *s, size_t max_events, size_t max_bytes,
                                    evc_spool_record_fn fn, void *arg, evc_spos *end);
/* Acknowledge everything before pos (nevents records): advance the ack position, rewrite the
 * ack file, delete segments that are fully acknowledged. Returns 0 or -1. */
EVC_HIDDEN int evc_spool_ack(evc_spool *s, evc_spos pos, uint64_t nevents);
/* Drop the oldest segment that can be dropped: numbered above keep_upto (0: any; a request
 * in flight covers records up to segment keep_upto), never the one being written. Returns
 * the number of unacknowledged events dropped (0 = nothing could be dropped). */
EVC_HIDDEN uint64_t evc_spool_drop_oldest(evc_spool *s, uint64_t keep_upto);
EVC_HIDDEN uint64_t evc_spool_events(const evc_spool *s);
/* The position after the last committed record (where the next one will go). */
EVC_HIDDEN evc_spos evc_spool_tail(const evc_spool *s);
EVC_HIDDEN uint64_t evc_spool_bytes(const evc_spool *s);
EVC_HIDDEN const char *evc_spool_error(const evc_spool *s);
/* Parse a segment image p[0..n) (for recovery and the fuzz target): count the valid records
 * from offset `from`, return the offset where valid records end (== n for a clean file).
 * fn (if not NULL) gets each payload. */
EVC_HIDDEN uint64_t evc_spool_scan(const char *p, size_t n, uint64_t from, uint64_t *records,
                                   evc_spool_record_fn fn, void *arg);

/* ---- HTTP -------------------------------------------------------------------------------- */
typedef struct evc_http evc_http;
/* Called about every 10 ms while a request waits; returns non-zero to abort the request. */
typedef int (*evc_idle_fn)(void *arg);

typedef struct evc_http_resp {
  int status;        /* HTTP status, 0 when no answer */
  evc_buf body;      /* the answer's body (caller frees with evc_buf_free) */
} evc_http_resp;

EVC_HIDDEN evc_http *evc_http_new(const char *host, int port, const char *path,
                                  const char *token, int connect_timeout_ms,
                                  int request_timeout_ms);
EVC_HIDDEN void evc_http_free(evc_http *h);
/* POST body as application/x-ndjson; fills resp. Returns 0 when an answer was read (any
 * status), -1 on a transport failure or abort (message in err). */
EVC_HIDDEN int evc_http_post(evc_http *h, const char *body, size_t len, evc_idle_fn idle,
                             void *arg, evc_http_resp *resp, char *err, size_t errlen);
EVC_HIDDEN void evc_http_disconnect(evc_http *h);
/* fn(arg) is called each time a request has been sent in full, before its answer is awaited
 * (the worker encodes the next batch then). fn NULL: none. Its return value is ignored. */
EVC_HIDDEN void evc_http_set_sent_hook(evc_http *h, evc_idle_fn fn, void *arg);
/* Use fd (connected, non-blocking) as the connection (tests, fuzz target). */
EVC_HIDDEN void evc_http_adopt_fd(evc_http *h, int fd);

/* TCP helpers shared by the HTTP and forward transports (client_http.c). All take a deadline
 * (mono ns) and call idle about every 10 ms while waiting (non-zero: abort). */
EVC_HIDDEN int evc_wait_fd(int fd, short events, int64_t deadline, evc_idle_fn idle, void *arg,
                           const char **why);
/* A connected non-blocking TCP socket (CLOEXEC, TCP_NODELAY), or -1 with err. */
EVC_HIDDEN int evc_tcp_connect(const char *host, int port, int connect_timeout_ms,
                               int64_t deadline, evc_idle_fn idle, void *arg, char *err,
                               size_t errlen);
EVC_HIDDEN int evc_tcp_send_all(int fd, const char *p, size_t n, int64_t deadline,
                                evc_idle_fn idle, void *arg, char *err, size_t errlen);

/* ---- forward (Fluentd forward protocol, msgpack, with acks) -------------------------------- */
typedef struct evc_fwd evc_fwd;
EVC_HIDDEN evc_fwd *evc_fwd_new(const char *host, int port, const char *tag,
                                int connect_timeout_ms, int request_timeout_ms);
EVC_HIDDEN void evc_fwd_free(evc_fwd *f);
/* Send the NDJSON lines of body as one Forward-mode message with a chunk id and wait for its
 * ack. Returns 0 when acknowledged, -1 otherwise (message in err). */
EVC_HIDDEN int evc_fwd_send(evc_fwd *f, const char *body, size_t len, size_t nlines,
                            evc_idle_fn idle, void *arg, char *err, size_t errlen);
/* Encode one event JSON line (as evc_event_encode writes it) as a forward entry
 * [EventTime, record map] into out. Returns 0 or -1 (err). Exposed for tests. */
EVC_HIDDEN int evc_fwd_encode_entry(const char *line, size_t len, evc_buf *out, char *err,
                                    size_t errlen);

/* ---- the client --------------------------------------------------------------------------- */

typedef struct evc_metric {
  char *name;
  int is_gauge;
  int dirty;           /* changed since the last send */
  int64_t total;       /* counter value */
  int64_t sent_total;  /* counter value at the last send */
  double gauge;
} evc_metric;

/* A batch the worker is sending: NDJSON lines, and where they came from. */
typedef struct evc_batch {
  evc_buf body;        /* the lines, each ending with '\n' */
  size_t *off;         /* line i is body.p[off[i] .. off[i+1]) (off has n+1 entries) */
  unsigned char *dead; /* line refused by eventd (400): not sent again */
  size_t n, cap;
  size_t alive;
  int from_spool;      /* 1: the first `spool_records` records at the spool's ack position */
  uint64_t spool_records;
  evc_spos spool_end;
  uint64_t first_seq;  /* from memory: the seq of line 0 */
  int attempts;
} evc_batch;

struct evd_client {
  /* configuration (immutable after open) */
  char *host, *path, *spool_dir, *token, *forward_tag;
  int port, forward;
  unsigned batch_max, batch_bytes, interval_ms, qmax, high_water, block_timeout_ms;
  unsigned connect_timeout_ms, request_timeout_ms, retry_min_ms, retry_max_ms, metrics_ms;
  uint64_t spool_max;
  evd_overflow_policy overflow;
  evd_spool_mode spool_mode;
  int fsync;
  evc_auto au;
  char *au_strings[8]; /* owned strings behind au */
  unsigned fork_gen;

  /* shared state, under mu */
  pthread_mutex_t mu;
  pthread_cond_t room;       /* evd_emit waits for room (block policy) */
  pthread_cond_t progress;   /* evd_client_flush waits for settled_seq */
  evd_event **ring;
  size_t rhead, rcount;
  uint64_t head_seq;         /* seq of ring[rhead] */
  uint64_t next_seq;         /* seq of the next emitted event */
  uint64_t settled_seq;      /* every seq below is acknowledged, spooled, refused or dropped */
  uint64_t flush_seq;        /* send promptly every seq below this */
  int room_waiters;
  int sleeping, wake_pending;
  int closing;
  int64_t close_deadline;    /* mono ns */
  uint64_t batch_mem_events; /* events of the worker's batch (and hold) from memory */
  evd_stats st;
  uint64_t lost_at_close;

  /* counters and gauges, under mmu */
  pthread_mutex_t mmu;
  evc_metric *metrics;
  size_t nmetrics, capmetrics;

  /* the worker */
  int wakefd;
  pthread_t thread;
  int thread_started;
  evc_spool *spool;
  evc_http *http;
  evc_fwd *fwd;
  evc_batch batch;
  evc_buf hold;              /* one encoded event taken from memory that the full spool
                                could not take yet (block policy); its seq is hold_seq */
  uint64_t hold_seq;
  int has_hold;
  int64_t next_attempt;      /* mono ns; 0 = now */
  unsigned backoff_ms;
  int64_t next_metrics;
  evc_buf enc;               /* scratch encoding buffer */
  /* encode-ahead (client_worker.c): while a request waits for its answer, the worker encodes
     the events queued behind it, which stay in the queue; taking a batch then copies those
     lines. Lines cover seqs [pre_first_seq, pre_first_seq + pre_n). */
  evc_buf pre;
  size_t *pre_off;           /* line i is pre.p[pre_off[i] .. pre_off[i + 1]), '\n' included */
  size_t pre_n, pre_cap;
  uint64_t pre_first_seq;
  char errbuf[256];
};

/* Worker entry point (client_worker.c). */
EVC_HIDDEN void *evc_worker_main(void *arg);
/* Wake the worker (write to its eventfd). */
EVC_HIDDEN void evc_wake(evd_client *c);
/* Queue an internal event (metrics): like evd_emit but never blocks (drop_newest when full).
 * Called with mu NOT held. */
EVC_HIDDEN void evc_emit_internal(evd_client *c, evd_event *ev);
/* Turn the changed counters and gauges into events and queue them (worker; close). */
EVC_HIDDEN void evc_metrics_flush(evd_client *c);

#endif
