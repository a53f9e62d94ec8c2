/* store: the embedded event store — segmented journal, per-segment index, queries,
 * retention (DESIGN.md "The store"; on-disk format in docs/storage.md).
 *
 * Threads: one writer thread, owned by the store, does all appends, fsyncs, segment rolls
 * and retention. Every other function may be called from any thread (the server calls them
 * from its event loop); they see only committed records (seq <= store_committed_seq). The
 * store has no global state: two stores in one process are independent.
 *
 * Records are payloads made by record_encode (core/record.h). The store assigns each a
 * sequence number (global, from 1, gap-free in store order) and, when the record has no
 * client id, a ULID (monotonic in seq order). A record whose client id the store already
 * holds (within retention) is not stored again: it is reported as a duplicate with the
 * original id and seq. */
#ifndef EVD_STORE_H
#define EVD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/record.h"

typedef struct store store;

typedef enum store_sync {
  STORE_SYNC_ALWAYS = 0, /* every append request gets its own fdatasync before its ack */
  STORE_SYNC_BATCH = 1,  /* group commit: all queued requests share one fdatasync (default) */
  STORE_SYNC_NONE = 2    /* ack after write(); fdatasync every sync_interval_ns */
} store_sync;

enum { STORE_LOG_ERROR = 0, STORE_LOG_WARN = 1, STORE_LOG_INFO = 2, STORE_LOG_DEBUG = 3 };

typedef struct store_options {
  const char *dir;               /* data directory; created if missing */
  store_sync sync;               /* default STORE_SYNC_BATCH */
  int64_t sync_interval_ns;      /* for STORE_SYNC_NONE (default 1 s) */
  uint64_t segment_max_bytes;    /* roll the active segment past this size (default 128 MiB) */
  int64_t segment_max_age_ns;    /* ... or this age (default 1 h) */
  int64_t retention_age_ns;      /* drop sealed segments whose newest event is older; 0 = keep */
  uint64_t retention_max_bytes;  /* drop oldest sealed segments while total exceeds; 0 = no bound */
  uint64_t queue_max_bytes;      /* bound on bytes queued for the writer (default 64 MiB) */
  /* Rewrite a sealed segment without its deleted records (store_mark) once at least this
   * fraction of its records is deleted (default 0 = 0.25; above 1 = never). */
  double compact_deleted_ratio;
  /* Called from any store thread; msg is one line without newline. May be NULL. */
  void (*log)(void *arg, int level, const char *msg);
  void *log_arg;
} store_options;

void store_options_default(store_options *o);

/* Open (and recover) the store in o->dir, taking an exclusive lock on it, and start the
 * writer. On failure returns -1 with a message in err (e.g. "data directory ./data is
 * locked by another eventd (pid 1234)"). Recovery truncates a torn tail and reports it
 * through o->log; a corrupt record in the middle is reported with segment and offset and
 * skipped; the rest is kept. */
int store_open(const store_options *o, store **out, char *err, size_t errlen);

/* Stop the writer after it has committed everything queued (callbacks still fire), fsync,
 * release the lock and free the store. */
void store_close(store *s);

/* ---- appending ---------------------------------------------------------------------- */

typedef struct store_batch store_batch;

/* An empty batch (NULL when out of memory). Owned by the caller until store_append. */
store_batch *store_batch_new(void);
void store_batch_free(store_batch *b);
/* Copy one record payload (record_encode output) into the batch. Returns 0, or -1 when out
 * of memory, when the payload does not decode (record_decode) or lacks the id placeholder of
 * record_encode, when it is over 16 MiB, or when the batch would pass 1 GiB. */
int store_batch_add(store_batch *b, const void *payload, size_t len);
/* Make room ahead for about payload_bytes of records (a size hint: adding past it still
 * works; a batch grown by doubling copies its records once more). Returns 0, or -1 when
 * out of memory (the batch is unchanged and still usable). */
int store_batch_reserve(store_batch *b, size_t payload_bytes);
size_t store_batch_count(const store_batch *b);
size_t store_batch_bytes(const store_batch *b);

/* After completion: the id (assigned ULID or the client's id; NUL-terminated, owned by the
 * batch), the seq, and whether record i was a duplicate of an already stored one. */
const char *store_batch_id(const store_batch *b, size_t i);
uint64_t store_batch_seq(const store_batch *b, size_t i);
int store_batch_duplicate(const store_batch *b, size_t i);

/* Completion callback, called on the writer thread once the whole batch is durable per the
 * sync policy (status 0), or failed as a whole (status -errno: -ENOSPC disk full, -EIO);
 * on failure none of its records is stored. The callback owns the batch from then on and
 * must free it (store_batch_free) — typically after handing it to another thread. */
typedef void (*store_append_cb)(void *arg, int status, store_batch *b);

/* Queue a batch for the writer; the store takes ownership of b until the callback.
 * Returns 0 when queued, -EAGAIN when the queue is over queue_max_bytes (refuse with 503
 * and Retry-After; b stays the caller's), -EROFS/-EIO when the store has failed, -ESHUTDOWN
 * when closing. A batch is never split: its records get consecutive seqs. */
int store_append(store *s, store_batch *b, store_append_cb cb, void *arg);

/* Called on the writer thread after each commit with the new committed seq (for tail
 * notification). Set before events flow; one hook per store. */
void store_set_commit_hook(store *s, void (*fn)(void *arg, uint64_t committed_seq), void *arg);

uint64_t store_committed_seq(store *s);

/* Retention guard (outputs: retention never silently deletes what an output has not
 * delivered). needed(arg) returns the lowest seq some reader still needs (UINT64_MAX: none).
 * Retention then keeps the segments holding seqs >= needed that it would otherwise drop, as
 * long as together they stay within pin_max_bytes; past that bound it drops them oldest
 * first and calls skipped(arg, first, last) with the needed seq range it deleted. Both run
 * on the writer thread, must be cheap and must not call back into the store's writer side.
 * needed = NULL removes the guard. Any thread, any time. */
void store_set_retention_guard(store *s, uint64_t (*needed)(void *arg),
                               void (*skipped)(void *arg, uint64_t first, uint64_t last),
                               void *arg, uint64_t pin_max_bytes);

/* ---- reading ------------------------------------------------------------------------ */

#define STORE_FILTER_MAX_LABELS 16

/* What to read. Unset strings are NULL; all set conditions must hold. */
typedef struct store_filter {
  int64_t since_ns;           /* inclusive; INT64_MIN = unbounded */
  int64_t until_ns;           /* exclusive; INT64_MAX = unbounded */
  const char *exact[EVF_INDEXED_COUNT]; /* exact match per indexed field (EVF_TENANT..EVF_CORRELATION_ID) */
  const char *type_prefix;    /* type starts with this (from type=account.* -> "account.") */
  const char *key_pattern;    /* AMQP topic pattern on key (keymatch.h) */
  const char *q;              /* substring of message (case-sensitive) */
  int min_severity;           /* 0 = any */
  size_t nlabels;
  struct { const char *key, *value; } labels[STORE_FILTER_MAX_LABELS];
  /* Tenant subtree (access control, src/server/auth.h): tenant == tenant_prefix or starts
   * with tenant_prefix + "/". NULL or "" = any tenant. Combines with exact[EVF_TENANT]. */
  const char *tenant_prefix;
  /* Archived records (store_mark): STORE_ARCHIVED_INCLUDE (0, the default of
   * store_filter_init and of a zeroed filter: outputs and internal readers see them),
   * STORE_ARCHIVED_HIDE (the API's default), STORE_ARCHIVED_ONLY (?archived=true).
   * Deleted records are never returned. */
  int archived;
} store_filter;

enum { STORE_ARCHIVED_INCLUDE = 0, STORE_ARCHIVED_HIDE = 1, STORE_ARCHIVED_ONLY = 2 };

/* A filter that matches everything. */
void store_filter_init(store_filter *f);

/* Position in query order (time_ns, seq): the cursor of paginated queries. */
typedef struct store_pos {
  int64_t time_ns;
  uint64_t seq;
} store_pos;

/* Called for each matching record, in order. rv is valid only during the call. Return 0 to
 * go on, non-zero to stop. */
typedef int (*store_record_cb)(void *arg, uint64_t seq, const record_view *rv);

/* Up to `limit` matching records ordered by (time_ns, seq), ascending or descending (desc
 * != 0), strictly after `after` in that order when after != NULL. *more is set to 1 when
 * further matches exist past the last one delivered, and *last to the last delivered
 * position (the next page's cursor). Returns 0, or -errno (I/O error). Segments whose
 * time range or postings cannot match are not read. */
int store_query(store *s, const store_filter *f, int desc, size_t limit, const store_pos *after,
                store_record_cb cb, void *arg, store_pos *last, int *more);

/* Number of matching records. Returns 0 or -errno. */
int store_count(store *s, const store_filter *f, uint64_t *count);

typedef enum store_group {
  STORE_GROUP_NONE = -1,
  STORE_GROUP_TYPE = EVF_TYPE,
  STORE_GROUP_STREAM = EVF_STREAM,
  STORE_GROUP_SOURCE = EVF_SOURCE,
  STORE_GROUP_SEVERITY = 100 /* grouped by severity text (TRACE..FATAL) */
} store_group;

/* Histogram of matching records by time bucket (floor(time/interval)*interval) and
 * optionally by a field. cb is called once per non-empty (bucket, group) in ascending
 * bucket order, then ascending group; group is "" when ungrouped. Returns 0 or -errno;
 * -E2BIG if more than 100000 (bucket, group) cells would result. */
typedef int (*store_hist_cb)(void *arg, int64_t bucket_ns, const char *group, size_t glen,
                             uint64_t count);
int store_histogram(store *s, const store_filter *f, int64_t interval_ns, store_group by,
                    store_hist_cb cb, void *arg);

/* The record with this id (assigned ULID or client id): calls cb once and returns 0, or
 * returns -ENOENT. */
int store_get(store *s, const char *id, size_t idlen, store_record_cb cb, void *arg);

/* Seq of the record with this id, or -ENOENT (for tail's Last-Event-ID). */
int store_seq_of_id(store *s, const char *id, size_t idlen, uint64_t *seq);

/* Matching records with seq > after_seq in store (seq) order, up to limit; *last_seq is set
 * to the highest seq examined (matching or not) so a follower can continue from it.
 * Returns 0 or -errno. Used by live tail and outputs. */
int store_scan_seq(store *s, const store_filter *f, uint64_t after_seq, size_t limit,
                   store_record_cb cb, void *arg, uint64_t *last_seq);

/* ---- archive and delete marks (marks.c; docs/storage.md "Marks") ------------------- */

#define STORE_MARK_ARCHIVED 1u
#define STORE_MARK_DELETED 2u

/* Mark the records with these seqs archived or deleted (kind = STORE_MARK_ARCHIVED or
 * STORE_MARK_DELETED). Seqs that are not committed, already carry the mark, or are deleted
 * are skipped; *changed (may be NULL) is set to how many records got the mark. The marks are
 * written and fdatasynced before the call returns and before any reader sees them; from then
 * on every read path applies them (store_filter.archived; deleted records are gone from
 * query, count, histogram, get, seq_of_id and scan_seq). Deleted records are removed from
 * disk when their segment is compacted or dropped by retention. Any thread; blocks for the
 * fsync. Returns 0, -EINVAL (bad kind), -ENOMEM, or -errno of the write (after which marking
 * is refused with -EROFS until the store is reopened). */
int store_mark(store *s, const uint64_t *seqs, size_t n, unsigned kind, uint64_t *changed);

/* The mark bits (STORE_MARK_*) of one seq, 0 when unmarked. Any thread. */
unsigned store_marks_of(store *s, uint64_t seq);

/* Number of records currently marked archived (and not deleted), and deleted. */
void store_marks_stats(store *s, uint64_t *archived, uint64_t *deleted);

/* ---- state for metrics -------------------------------------------------------------- */

#define STORE_FSYNC_BUCKETS 14
/* Upper bounds in seconds of the fsync latency histogram buckets (last is +Inf). */
extern const double store_fsync_bucket_bounds[STORE_FSYNC_BUCKETS];

typedef struct store_stats {
  uint64_t segments;              /* sealed + active */
  uint64_t bytes;                 /* on disk, segments + indexes */
  uint64_t records;               /* records currently retained */
  uint64_t appended_records;      /* since start */
  uint64_t appended_bytes;
  uint64_t duplicates;            /* client ids already stored */
  uint64_t committed_seq;
  uint64_t queue_bytes;           /* bytes waiting for the writer */
  uint64_t queue_batches;
  uint64_t fsyncs;
  double fsync_seconds_sum;
  uint64_t fsync_buckets[STORE_FSYNC_BUCKETS]; /* non-cumulative counts */
  uint64_t retention_dropped_segments;
  uint64_t recovered_truncated_bytes; /* torn tail cut at the last open */
  uint64_t corrupt_records;           /* corrupt records reported at the last open */
  uint64_t compacted_segments;        /* segments rewritten without deleted records */
  uint64_t compacted_bytes;           /* bytes reclaimed by those rewrites */
  int failed;                         /* 1 if the store refuses writes (I/O error) */
} store_stats;

void store_get_stats(store *s, store_stats *out);

#endif
