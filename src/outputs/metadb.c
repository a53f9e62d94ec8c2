/* metadb: see metadb.h (schema and durability). Statements that run often (cursor updates,
 * history inserts) are prepared once; the rest are prepared per call. */
#include "outputs/metadb.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <time.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/json.h"

#define HISTORY_TRIM_EVERY 64 /* trim an output's history every this many inserts */

/* A queued delivery attempt (metadb_history_queue): strings copied after the struct. */
typedef struct queued_attempt {
  struct queued_attempt *next;
  output_attempt a;
  int64_t time_ns;
  char *name;
} queued_attempt;

#define HISTORY_QUEUE_MAX 100000

struct metadb {
  sqlite3 *db;
  pthread_mutex_t mu;
  pthread_mutex_t qmu; /* the attempt queue (never held with mu by the queueing side) */
  queued_attempt *qhead, *qtail;
  size_t qlen;
  sqlite3_stmt *cursor_put;
  sqlite3_stmt *history_add;
  uint64_t history_inserts;
  char errmsg[256];
};

static const char SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS outputs(name TEXT PRIMARY KEY, spec TEXT NOT NULL,"
    " created_ns INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS cursors(name TEXT PRIMARY KEY, seq INTEGER NOT NULL,"
    " paused INTEGER NOT NULL DEFAULT 0, updated_ns INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS dead(output TEXT NOT NULL, seq INTEGER NOT NULL,"
    " event_id TEXT NOT NULL, error TEXT NOT NULL, attempts INTEGER NOT NULL,"
    " time_ns INTEGER NOT NULL, PRIMARY KEY(output, seq));"
    "CREATE TABLE IF NOT EXISTS deliveries(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " output TEXT NOT NULL, first_seq INTEGER, last_seq INTEGER, event_id TEXT,"
    " count INTEGER, code INTEGER, latency_ns INTEGER, ok INTEGER, response TEXT,"
    " error TEXT, time_ns INTEGER);"
    "CREATE INDEX IF NOT EXISTS deliveries_by_output ON deliveries(output, id);";

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Remember sqlite's message (caller holds mu). Returns -1. */
static int fail(metadb *m) {
  snprintf(m->errmsg, sizeof m->errmsg, "%s", sqlite3_errmsg(m->db));
  return -1;
}

/* Run sql with ?1 = a and ?2 = b bound as text. Returns 0 or -1 (sqlite's message in m). */
static int exec2(metadb *m, const char *sql, const char *a, const char *b) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK) return fail(m);
  sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
  if (b) sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : fail(m);
  sqlite3_finalize(st);
  return rc;
}

/* Schema version 2 (issue 7): every row is keyed by the output's reference "OWNER:NAME"
 * (":NAME" for the root) instead of its name, so outputs of different tenants may share a
 * name. Re-key the rows of an older database in one transaction: a runtime output gets the
 * owner its stored spec names (the root when none), the other rows (cursors, dead letters and
 * history of config-declared outputs) the root. Returns 0 or -1 with err. */
static int migrate_v2(metadb *m, const char *path, char *err, size_t errlen) {
  sqlite3_stmt *st = NULL;
  int version = 0;
  if (sqlite3_prepare_v2(m->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (version >= 2) return 0;
  static const char *const rekey[] = {
      "UPDATE outputs SET name=?2 WHERE name=?1",
      "UPDATE cursors SET name=?2 WHERE name=?1",
      "UPDATE dead SET output=?2 WHERE output=?1",
      "UPDATE deliveries SET output=?2 WHERE output=?1",
  };
  int rc = sqlite3_exec(m->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(m);
  if (rc == 0 && sqlite3_prepare_v2(m->db, "SELECT name, spec FROM outputs WHERE instr(name, ':') = 0",
                                    -1, &st, NULL) != SQLITE_OK)
    rc = fail(m);
  /* collect first: the rows change under the statement otherwise */
  char **olds = NULL, **keys = NULL;
  size_t n = 0, cap = 0;
  while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0);
    const char *spec = (const char *)sqlite3_column_text(st, 1);
    arena a;
    arena_init(&a, 4096);
    json_error je;
    const json_value *v = spec ? json_parse(&a, spec, strlen(spec), 16, &je) : NULL;
    const json_value *ow = v && v->type == JSON_OBJECT ? json_get(v, "owner") : NULL;
    const char *owner = ow && ow->type == JSON_STRING ? ow->s : "";
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 16;
      char **o2 = realloc(olds, nc * sizeof *o2), **k2 = o2 ? realloc(keys, nc * sizeof *k2) : NULL;
      if (o2) olds = o2;
      if (k2) keys = k2;
      if (!o2 || !k2) {
        arena_free(&a);
        snprintf(m->errmsg, sizeof m->errmsg, "out of memory");
        rc = -1;
        break;
      }
      cap = nc;
    }
    size_t klen = strlen(owner) + 1 + strlen(name ? name : "") + 1;
    olds[n] = strdup(name ? name : "");
    keys[n] = malloc(klen);
    if (keys[n]) snprintf(keys[n], klen, "%s:%s", owner, name ? name : "");
    arena_free(&a);
    if (!olds[n] || !keys[n]) {
      free(olds[n]);
      free(keys[n]);
      snprintf(m->errmsg, sizeof m->errmsg, "out of memory");
      rc = -1;
      break;
    }
    n++;
  }
  sqlite3_finalize(st);
  for (size_t i = 0; rc == 0 && i < n; i++)
    for (size_t q = 0; rc == 0 && q < sizeof rekey / sizeof rekey[0]; q++)
      rc = exec2(m, rekey[q], olds[i], keys[i]);
  for (size_t i = 0; i < n; i++) free(olds[i]), free(keys[i]);
  free(olds);
  free(keys);
  static const char REST[] =
      "UPDATE cursors SET name=':'||name WHERE instr(name, ':') = 0;"
      "UPDATE dead SET output=':'||output WHERE instr(output, ':') = 0;"
      "UPDATE deliveries SET output=':'||output WHERE instr(output, ':') = 0;"
      "PRAGMA user_version=2;";
  if (rc == 0 && sqlite3_exec(m->db, REST, NULL, NULL, NULL) != SQLITE_OK) rc = fail(m);
  if (rc == 0 && sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) rc = fail(m);
  if (rc != 0) {
    sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
    snprintf(err, errlen, "metadata database %s: cannot key its rows by owner and name: %s",
             path, m->errmsg);
    return -1;
  }
  return 0;
}

int metadb_open(const char *path, metadb **out, char *err, size_t errlen) {
  *out = NULL;
  metadb *m = calloc(1, sizeof *m);
  if (!m) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  pthread_mutex_init(&m->mu, NULL);
  pthread_mutex_init(&m->qmu, NULL);
  int rc = sqlite3_open_v2(path, &m->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "metadata database %s: %s", path,
             m->db ? sqlite3_errmsg(m->db) : sqlite3_errstr(rc));
    metadb_close(m);
    return -1;
  }
  sqlite3_busy_timeout(m->db, 5000);
  char *msg = NULL;
  if (sqlite3_exec(m->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
    snprintf(err, errlen, "metadata database %s: %s", path, msg ? msg : "cannot create tables");
    sqlite3_free(msg);
    metadb_close(m);
    return -1;
  }
  if (migrate_v2(m, path, err, errlen) != 0) {
    metadb_close(m);
    return -1;
  }
  if (sqlite3_prepare_v2(m->db,
                         "INSERT INTO cursors(name, seq, updated_ns) VALUES(?1, ?2, ?3)"
                         " ON CONFLICT(name) DO UPDATE SET seq=excluded.seq,"
                         " updated_ns=excluded.updated_ns",
                         -1, &m->cursor_put, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(m->db,
                         "INSERT INTO deliveries(output, first_seq, last_seq, event_id, count,"
                         " code, latency_ns, ok, response, error, time_ns)"
                         " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
                         -1, &m->history_add, NULL) != SQLITE_OK) {
    snprintf(err, errlen, "metadata database %s: %s", path, sqlite3_errmsg(m->db));
    metadb_close(m);
    return -1;
  }
  *out = m;
  return 0;
}

void metadb_close(metadb *m) {
  if (!m) return;
  for (queued_attempt *q = m->qhead, *next; q; q = next) {
    next = q->next;
    free(q);
  }
  pthread_mutex_destroy(&m->qmu);
  sqlite3_finalize(m->cursor_put);
  sqlite3_finalize(m->history_add);
  if (m->db) sqlite3_close(m->db);
  pthread_mutex_destroy(&m->mu);
  free(m);
}

const char *metadb_errmsg(metadb *m) { return m->errmsg; }

/* Run one statement with text/int parameters given as a format: 't' text, 'i' int64.
 * Caller holds mu. Returns 0 or -1. */
static int exec_params(metadb *m, const char *sql, const char *fmt, ...) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK) return fail(m);
  va_list ap;
  va_start(ap, fmt);
  for (int i = 0; fmt[i]; i++) {
    if (fmt[i] == 't') sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
    else sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
  }
  va_end(ap);
  int rc = sqlite3_step(st);
  int r = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : fail(m);
  sqlite3_finalize(st);
  return r;
}

int metadb_output_put(metadb *m, const char *name, const char *spec, size_t len) {
  pthread_mutex_lock(&m->mu);
  sqlite3_stmt *st;
  int r = -1;
  if (sqlite3_prepare_v2(m->db,
                         "INSERT INTO outputs(name, spec, created_ns) VALUES(?1, ?2, ?3)"
                         " ON CONFLICT(name) DO UPDATE SET spec=excluded.spec",
                         -1, &st, NULL) != SQLITE_OK) {
    r = fail(m);
  } else {
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, spec, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now_ns());
    r = sqlite3_step(st) == SQLITE_DONE ? 0 : fail(m);
    sqlite3_finalize(st);
  }
  pthread_mutex_unlock(&m->mu);
  return r;
}

int metadb_output_delete(metadb *m, const char *name) {
  pthread_mutex_lock(&m->mu);
  int r = exec_params(m, "BEGIN", "");
  if (r == 0) r = exec_params(m, "DELETE FROM outputs WHERE name=?1", "t", name);
  if (r == 0) r = exec_params(m, "DELETE FROM cursors WHERE name=?1", "t", name);
  if (r == 0) r = exec_params(m, "DELETE FROM dead WHERE output=?1", "t", name);
  if (r == 0) r = exec_params(m, "DELETE FROM deliveries WHERE output=?1", "t", name);
  if (r == 0) r = exec_params(m, "COMMIT", "");
  else exec_params(m, "ROLLBACK", "");
  pthread_mutex_unlock(&m->mu);
  return r;
}

int metadb_output_each(metadb *m, metadb_output_cb cb, void *arg) {
  /* Rows are copied out first: cb may call back into the database. */
  pthread_mutex_lock(&m->mu);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(m->db, "SELECT name, spec FROM outputs ORDER BY name", -1, &st, NULL) !=
      SQLITE_OK) {
    int r = fail(m);
    pthread_mutex_unlock(&m->mu);
    return r;
  }
  char **rows = NULL; /* name, spec, name, spec, ... */
  size_t n = 0;
  int rc, r = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0);
    const char *spec = (const char *)sqlite3_column_text(st, 1);
    char **nr = realloc(rows, (n + 2) * sizeof *nr);
    if (!nr) {
      r = -1;
      snprintf(m->errmsg, sizeof m->errmsg, "out of memory");
      break;
    }
    rows = nr;
    rows[n] = strdup(name ? name : "");
    rows[n + 1] = strdup(spec ? spec : "");
    n += 2;
    if (!rows[n - 2] || !rows[n - 1]) {
      r = -1;
      snprintf(m->errmsg, sizeof m->errmsg, "out of memory");
      break;
    }
  }
  if (r == 0 && rc != SQLITE_DONE) r = fail(m);
  sqlite3_finalize(st);
  pthread_mutex_unlock(&m->mu);
  for (size_t i = 0; i < n && r == 0; i += 2) r = cb(arg, rows[i], rows[i + 1], strlen(rows[i + 1]));
  for (size_t i = 0; i < n; i++) free(rows[i]);
  free(rows);
  return r;
}

int metadb_cursor_get(metadb *m, const char *name, uint64_t *seq, int *paused) {
  pthread_mutex_lock(&m->mu);
  sqlite3_stmt *st;
  int r;
  if (sqlite3_prepare_v2(m->db, "SELECT seq, paused FROM cursors WHERE name=?1", -1, &st, NULL) !=
      SQLITE_OK) {
    r = fail(m);
  } else {
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      *seq = (uint64_t)sqlite3_column_int64(st, 0);
      *paused = sqlite3_column_int(st, 1) != 0;
      r = 0;
    } else {
      r = rc == SQLITE_DONE ? -ENOENT : fail(m);
    }
    sqlite3_finalize(st);
  }
  pthread_mutex_unlock(&m->mu);
  return r;
}

int metadb_cursor_put(metadb *m, const char *name, uint64_t seq) {
  pthread_mutex_lock(&m->mu);
  sqlite3_stmt *st = m->cursor_put;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, (int64_t)seq);
  sqlite3_bind_int64(st, 3, now_ns());
  int r = sqlite3_step(st) == SQLITE_DONE ? 0 : fail(m);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  pthread_mutex_unlock(&m->mu);
  return r;
}

int metadb_paused_put(metadb *m, const char *name, int paused, uint64_t seq) {
  pthread_mutex_lock(&m->mu);
  int r = exec_params(m,
                      "INSERT INTO cursors(name, seq, paused, updated_ns) VALUES(?1, ?2, ?3, ?4)"
                      " ON CONFLICT(name) DO UPDATE SET paused=excluded.paused",
                      "tiii", name, (int64_t)seq, (int64_t)(paused != 0), now_ns());
  pthread_mutex_unlock(&m->mu);
  return r;
}

int metadb_dead_add(metadb *m, const char *name, const metadb_dead *d) {
  pthread_mutex_lock(&m->mu);
  int r = exec_params(m,
                      "INSERT OR REPLACE INTO dead(output, seq, event_id, error, attempts, time_ns)"
                      " VALUES(?1,?2,?3,?4,?5,?6)",
                      "tittii", name, (int64_t)d->seq, d->event_id ? d->event_id : "",
                      d->error ? d->error : "", d->attempts, d->time_ns);
  pthread_mutex_unlock(&m->mu);
  return r;
}

int metadb_dead_each(metadb *m, const char *name, uint64_t after_seq, size_t limit,
                     metadb_dead_cb cb, void *arg) {
  pthread_mutex_lock(&m->mu);
  sqlite3_stmt *st;
  int r = 0;
  if (sqlite3_prepare_v2(m->db,
                         "SELECT seq, event_id, error, attempts, time_ns FROM dead"
                         " WHERE output=?1 AND seq>?2 ORDER BY seq LIMIT ?3",
                         -1, &st, NULL) != SQLITE_OK) {
    r = fail(m);
    pthread_mutex_unlock(&m->mu);
    return r;
  }
  sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, (int64_t)after_seq);
  sqlite3_bind_int64(st, 3, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    metadb_dead d = {.seq = (uint64_t)sqlite3_column_int64(st, 0),
                     .event_id = (const char *)sqlite3_column_text(st, 1),
                     .error = (const char *)sqlite3_column_text(st, 2),
                     .attempts = sqlite3_column_int64(st, 3),
                     .time_ns = sqlite3_column_int64(st, 4)};
    if (!d.event_id) d.event_id = "";
    if (!d.error) d.error = "";
    if ((r = cb(arg, &d)) != 0) break;
  }
  if (r == 0 && rc != SQLITE_DONE) r = fail(m);
  sqlite3_finalize(st);
  pthread_mutex_unlock(&m->mu);
  return r;
}

int metadb_dead_delete(metadb *m, const char *name, uint64_t seq) {
  pthread_mutex_lock(&m->mu);
  int r = exec_params(m, "DELETE FROM dead WHERE output=?1 AND seq=?2", "ti", name, (int64_t)seq);
  pthread_mutex_unlock(&m->mu);
  return r;
}

int metadb_dead_purge(metadb *m, const char *name, uint64_t *n) {
  pthread_mutex_lock(&m->mu);
  int r = exec_params(m, "DELETE FROM dead WHERE output=?1", "t", name);
  *n = r == 0 ? (uint64_t)sqlite3_changes(m->db) : 0;
  pthread_mutex_unlock(&m->mu);
  return r;
}

int metadb_dead_count(metadb *m, const char *name, uint64_t *n) {
  pthread_mutex_lock(&m->mu);
  sqlite3_stmt *st;
  int r;
  if (sqlite3_prepare_v2(m->db, "SELECT count(*) FROM dead WHERE output=?1", -1, &st, NULL) !=
      SQLITE_OK) {
    r = fail(m);
  } else {
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
      *n = (uint64_t)sqlite3_column_int64(st, 0);
      r = 0;
    } else {
      r = fail(m);
    }
    sqlite3_finalize(st);
  }
  pthread_mutex_unlock(&m->mu);
  return r;
}

int metadb_history_add(metadb *m, const char *name, const output_attempt *a, int64_t time_ns,
                       uint64_t keep) {
  pthread_mutex_lock(&m->mu);
  sqlite3_stmt *st = m->history_add;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, (int64_t)a->first_seq);
  sqlite3_bind_int64(st, 3, (int64_t)a->last_seq);
  if (a->event_id) sqlite3_bind_text(st, 4, a->event_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 5, (int64_t)a->count);
  sqlite3_bind_int(st, 6, a->code);
  sqlite3_bind_int64(st, 7, a->latency_ns);
  sqlite3_bind_int(st, 8, a->ok != 0);
  if (a->response && a->response_len)
    sqlite3_bind_text(st, 9, a->response, (int)(a->response_len > 512 ? 512 : a->response_len),
                      SQLITE_TRANSIENT);
  if (a->error) sqlite3_bind_text(st, 10, a->error, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 11, time_ns);
  int r = sqlite3_step(st) == SQLITE_DONE ? 0 : fail(m);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (r == 0 && ++m->history_inserts % HISTORY_TRIM_EVERY == 0)
    r = exec_params(m,
                    "DELETE FROM deliveries WHERE output=?1 AND id <= (SELECT id FROM deliveries"
                    " WHERE output=?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                    "ti", name, (int64_t)(keep ? keep : 1));
  pthread_mutex_unlock(&m->mu);
  return r;
}

int metadb_history_each(metadb *m, const char *name, size_t limit, metadb_delivery_cb cb,
                        void *arg) {
  pthread_mutex_lock(&m->mu);
  sqlite3_stmt *st;
  int r = 0;
  if (sqlite3_prepare_v2(m->db,
                         "SELECT id, first_seq, last_seq, event_id, count, code, latency_ns, ok,"
                         " response, error, time_ns FROM deliveries WHERE output=?1"
                         " ORDER BY id DESC LIMIT ?2",
                         -1, &st, NULL) != SQLITE_OK) {
    r = fail(m);
    pthread_mutex_unlock(&m->mu);
    return r;
  }
  sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    metadb_delivery d = {.id = sqlite3_column_int64(st, 0),
                         .first_seq = (uint64_t)sqlite3_column_int64(st, 1),
                         .last_seq = (uint64_t)sqlite3_column_int64(st, 2),
                         .event_id = (const char *)sqlite3_column_text(st, 3),
                         .count = sqlite3_column_int64(st, 4),
                         .code = sqlite3_column_int(st, 5),
                         .latency_ns = sqlite3_column_int64(st, 6),
                         .ok = sqlite3_column_int(st, 7),
                         .response = (const char *)sqlite3_column_text(st, 8),
                         .error = (const char *)sqlite3_column_text(st, 9),
                         .time_ns = sqlite3_column_int64(st, 10)};
    if ((r = cb(arg, &d)) != 0) break;
  }
  if (r == 0 && rc != SQLITE_DONE) r = fail(m);
  sqlite3_finalize(st);
  pthread_mutex_unlock(&m->mu);
  return r;
}

/* Copy s into *p (advancing it); NULL stays NULL. */
static const char *copy_into(char **p, const char *s, size_t n) {
  if (!s) return NULL;
  char *d = *p;
  memcpy(d, s, n);
  d[n] = '\0';
  *p += n + 1;
  return d;
}

int metadb_history_queue(metadb *m, const char *name, const output_attempt *a, int64_t time_ns) {
  size_t rlen = a->response ? (a->response_len > 512 ? 512 : a->response_len) : 0;
  size_t nlen = strlen(name), ilen = a->event_id ? strlen(a->event_id) : 0,
         elen = a->error ? strlen(a->error) : 0;
  queued_attempt *q = malloc(sizeof *q + nlen + ilen + elen + rlen + 4);
  if (!q) return -1;
  char *p = (char *)(q + 1);
  q->next = NULL;
  q->a = *a;
  q->time_ns = time_ns;
  q->name = (char *)copy_into(&p, name, nlen);
  q->a.event_id = copy_into(&p, a->event_id, ilen);
  q->a.error = copy_into(&p, a->error, elen);
  q->a.response = a->response ? copy_into(&p, a->response, rlen) : NULL;
  q->a.response_len = rlen;
  pthread_mutex_lock(&m->qmu);
  int full = m->qlen >= HISTORY_QUEUE_MAX;
  if (!full) {
    if (m->qtail) m->qtail->next = q;
    else m->qhead = q;
    m->qtail = q;
    m->qlen++;
  }
  pthread_mutex_unlock(&m->qmu);
  if (full) free(q);
  return full ? -1 : 0;
}

int metadb_flush(metadb *m, const metadb_cursor *cursors, size_t n, uint64_t keep) {
  pthread_mutex_lock(&m->qmu);
  queued_attempt *list = m->qhead;
  m->qhead = m->qtail = NULL;
  m->qlen = 0;
  pthread_mutex_unlock(&m->qmu);
  if (!list && n == 0) return 0;
  pthread_mutex_lock(&m->mu);
  int r = exec_params(m, "BEGIN", "");
  int64_t now = now_ns();
  for (size_t i = 0; r == 0 && i < n; i++) {
    sqlite3_stmt *st = m->cursor_put;
    sqlite3_bind_text(st, 1, cursors[i].name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (int64_t)cursors[i].seq);
    sqlite3_bind_int64(st, 3, now);
    if (sqlite3_step(st) != SQLITE_DONE) r = fail(m);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
  const char *trimmed[64];
  size_t ntrimmed = 0;
  for (queued_attempt *q = list; r == 0 && q; q = q->next) {
    sqlite3_stmt *st = m->history_add;
    const output_attempt *a = &q->a;
    sqlite3_bind_text(st, 1, q->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)a->first_seq);
    sqlite3_bind_int64(st, 3, (int64_t)a->last_seq);
    if (a->event_id) sqlite3_bind_text(st, 4, a->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (int64_t)a->count);
    sqlite3_bind_int(st, 6, a->code);
    sqlite3_bind_int64(st, 7, a->latency_ns);
    sqlite3_bind_int(st, 8, a->ok != 0);
    if (a->response && a->response_len)
      sqlite3_bind_text(st, 9, a->response, (int)a->response_len, SQLITE_STATIC);
    if (a->error) sqlite3_bind_text(st, 10, a->error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 11, q->time_ns);
    if (sqlite3_step(st) != SQLITE_DONE) r = fail(m);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    int seen = 0;
    for (size_t i = 0; i < ntrimmed; i++) seen |= strcmp(trimmed[i], q->name) == 0;
    if (!seen && ntrimmed < 64) trimmed[ntrimmed++] = q->name;
  }
  for (size_t i = 0; r == 0 && i < ntrimmed; i++)
    r = exec_params(m,
                    "DELETE FROM deliveries WHERE output=?1 AND id <= (SELECT id FROM deliveries"
                    " WHERE output=?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
                    "ti", trimmed[i], (int64_t)(keep ? keep : 1));
  if (r == 0) r = exec_params(m, "COMMIT", "");
  else exec_params(m, "ROLLBACK", "");
  pthread_mutex_unlock(&m->mu);
  if (r != 0) {
    /* Keep the attempts for the next call (in front of newer ones). */
    pthread_mutex_lock(&m->qmu);
    queued_attempt *last = list;
    while (last && last->next) last = last->next;
    if (last) {
      last->next = m->qhead;
      if (!m->qhead) m->qtail = last;
      m->qhead = list;
    }
    pthread_mutex_unlock(&m->qmu);
  } else {
    for (queued_attempt *q = list, *next; q; q = next) {
      next = q->next;
      free(q);
    }
  }
  return r;
}
