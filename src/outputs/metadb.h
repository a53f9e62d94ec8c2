/* metadb: the outputs' metadata database — SQLite at <data_dir>/meta.db (WAL).
 *
 * Tables (created on open when missing):
 *   outputs(name PRIMARY KEY, spec, created_ns)     outputs created at runtime (JSON spec)
 *   cursors(name PRIMARY KEY, seq, paused, updated_ns)
 *                                                   every output's durable cursor (config-
 *                                                   declared ones too): the highest store seq
 *                                                   confirmed by the destination (or skipped
 *                                                   as not matching); paused flag
 *   dead(output, seq, event_id, error, attempts, time_ns; PRIMARY KEY(output, seq))
 *                                                   dead letters
 *   deliveries(id INTEGER PRIMARY KEY, output, first_seq, last_seq, event_id, count, code,
 *              latency_ns, ok, response, error, time_ns)
 *                                                   delivery history, the newest N per output
 *
 * Every row is keyed by the output's reference "OWNER:NAME" (":NAME" for the root; outputs.h
 * OUTPUTS_REF_MAX), the `name` arguments below: outputs of different owners may share a
 * name (issue 7). Schema version 2 (PRAGMA user_version); metadb_open re-keys the rows of an
 * older database in one transaction (a runtime output's owner comes from its stored spec,
 * everything else belongs to the root).
 *
 * The database runs with journal_mode=WAL and synchronous=NORMAL: a commit costs a WAL
 * append, no fsync. That is enough for at-least-once: a cursor that loses its last updates
 * in a power cut makes the output send a few events again, never skip any (the cursor is
 * only ever written with seqs the destination confirmed).
 *
 * Threads: every function may be called from any thread; one mutex serializes them (the
 * calls are short). Errors return -1 (or -ENOENT where stated) and are logged by callers
 * with metadb_errmsg. */
#ifndef EVD_OUTPUTS_METADB_H
#define EVD_OUTPUTS_METADB_H

#include <stddef.h>
#include <stdint.h>

#include "outputs/output.h"

typedef struct metadb metadb;

/* Open (creating) the database at path. Returns 0 with *out, or -1 with err. */
int metadb_open(const char *path, metadb **out, char *err, size_t errlen);
/* Close (NULL is fine). */
void metadb_close(metadb *db);
/* The last error's text (for logs); valid until the next call on db from this thread. */
const char *metadb_errmsg(metadb *db);

/* ---- runtime outputs ---- */
/* Insert or replace the spec of a runtime output. Returns 0 or -1. */
int metadb_output_put(metadb *db, const char *name, const char *spec, size_t len);
/* Forget an output: its spec, cursor, dead letters and history. Returns 0 or -1. */
int metadb_output_delete(metadb *db, const char *name);
/* Call cb for each stored runtime output (name order). Returns 0, -1, or cb's non-zero. */
typedef int (*metadb_output_cb)(void *arg, const char *name, const char *spec, size_t len);
int metadb_output_each(metadb *db, metadb_output_cb cb, void *arg);

/* ---- cursors ---- */
/* The stored cursor and paused flag of an output: 0, -ENOENT when none, -1 on error. */
int metadb_cursor_get(metadb *db, const char *name, uint64_t *seq, int *paused);
/* Store the cursor (keeping the paused flag). Returns 0 or -1. */
int metadb_cursor_put(metadb *db, const char *name, uint64_t seq);
/* Store the paused flag (keeping the cursor; creating the row with cursor `seq` if none). */
int metadb_paused_put(metadb *db, const char *name, int paused, uint64_t seq);

/* ---- dead letters ---- */
typedef struct metadb_dead {
  uint64_t seq;
  const char *event_id;
  const char *error;
  int64_t attempts;
  int64_t time_ns;
} metadb_dead;
/* Add (or replace) the dead letter of seq. Returns 0 or -1. */
int metadb_dead_add(metadb *db, const char *name, const metadb_dead *d);
/* Dead letters with seq > after_seq, ascending, at most limit. Returns 0, -1, or cb's value. */
typedef int (*metadb_dead_cb)(void *arg, const metadb_dead *d);
int metadb_dead_each(metadb *db, const char *name, uint64_t after_seq, size_t limit,
                     metadb_dead_cb cb, void *arg);
int metadb_dead_delete(metadb *db, const char *name, uint64_t seq);
/* Delete every dead letter of the output; *n gets how many. Returns 0 or -1. */
int metadb_dead_purge(metadb *db, const char *name, uint64_t *n);
int metadb_dead_count(metadb *db, const char *name, uint64_t *n);

/* ---- delivery history ---- */
/* Record one attempt and keep only the newest `keep` rows of the output (trimmed every few
 * inserts). Returns 0 or -1. */
int metadb_history_add(metadb *db, const char *name, const output_attempt *a, int64_t time_ns,
                       uint64_t keep);
/* Queue one attempt for the next metadb_flush (copies everything; cheap: no SQLite call).
 * Returns 0, or -1 when out of memory or when more than 100000 attempts wait (dropped from
 * the history, which is a diagnostic record, not delivery state). Any thread. */
int metadb_history_queue(metadb *db, const char *name, const output_attempt *a, int64_t time_ns);

/* One output's cursor for metadb_flush. */
typedef struct metadb_cursor {
  const char *name;
  uint64_t seq;
} metadb_cursor;

/* In one transaction: store the cursors, insert the queued attempts, and trim the history
 * of the outputs that got some to the newest `keep`. Returns 0 or -1 (the queue is then
 * kept for the next call). */
int metadb_flush(metadb *db, const metadb_cursor *cursors, size_t n, uint64_t keep);

typedef struct metadb_delivery {
  int64_t id;
  uint64_t first_seq, last_seq;
  const char *event_id;
  int64_t count;
  int code;
  int64_t latency_ns;
  int ok;
  const char *response; /* NULL when none */
  const char *error;    /* NULL when none */
  int64_t time_ns;
} metadb_delivery;
/* The newest `limit` attempts, newest first. Returns 0, -1, or cb's value. */
typedef int (*metadb_delivery_cb)(void *arg, const metadb_delivery *d);
int metadb_history_each(metadb *db, const char *name, size_t limit, metadb_delivery_cb cb,
                        void *arg);

#endif
