/* client_spool_compare — the measurement behind libeventd's spool format choice
 * (docs/client.md, "Spool"): segment files (the library's evc_spool) against SQLite used the
 * way python-logstash-async uses it (a table of events; insert a batch in one transaction,
 * delete it in one transaction once acknowledged), WAL mode.
 *
 *   client_spool_compare DIR [EVENTS] [BATCH]    (default 200000 events of ~250 bytes, 1000)
 *
 * For each store and each durability level (fsync per batch / none) it appends EVENTS in
 * batches, then reads and acknowledges them in batches, and prints events/s for each phase. */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/client_internal.h"

static double secs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int noop(void *arg, const char *p, size_t n) {
  (void)p;
  *(size_t *)arg += n;
  return 0;
}

static void make_record(char *out, size_t cap, size_t *len, long i) {
  *len = (size_t)snprintf(out, cap,
                          "{\"id\":\"01JDXYZ5Q9M3T8R2V6K4N%05ld\",\"time\":\"2026-11-21T08:26:00."
                          "123000000Z\",\"stream\":\"sessiond\",\"type\":\"session_created\",\"tag\":"
                          "\"IMSI001010000000001\",\"labels\":{\"env\":\"prod\"},\"resource\":{\"host."
                          "name\":\"gw1\",\"process.pid\":4242},\"data\":{\"seq\":%ld,\"apn\":\"internet\"}}",
                          i % 100000, i);
}

static void segments(const char *dir, long n, long batch, int fsync_on) {
  char d[4096], cmd[4200];
  snprintf(d, sizeof d, "%s/seg-%d", dir, fsync_on);
  snprintf(cmd, sizeof cmd, "rm -rf %s", d);
  if (system(cmd) != 0) return;
  evc_spool_opts o = {.dir = d, .segment_bytes = 16u << 20, .fsync = fsync_on};
  char err[256];
  uint64_t rec;
  evc_spool *s = evc_spool_open(&o, &rec, err, sizeof err);
  if (s == NULL) {
    fprintf(stderr, "%s\n", err);
    exit(1);
  }
  char r[512];
  size_t l;
  double t0 = secs();
  for (long i = 0; i < n; i++) {
    make_record(r, sizeof r, &l, i);
    if (evc_spool_append(s, r, l) != 0) exit(1);
    if ((i + 1) % batch == 0 && evc_spool_commit(s) != 0) exit(1);
  }
  evc_spool_commit(s);
  double t1 = secs();
  long got = 0;
  size_t bytes = 0;
  for (;;) {
    evc_spos end;
    long k = evc_spool_read_head(s, (size_t)batch, 4u << 20, noop, &bytes, &end);
    if (k <= 0) break;
    got += k;
    if (evc_spool_ack(s, end, (uint64_t)k) != 0) exit(1);
  }
  double t2 = secs();
  printf("segments fsync=%d append=%.0f/s read+ack=%.0f/s (%ld read)\n", fsync_on,
         (double)n / (t1 - t0), (double)got / (t2 - t1), got);
  evc_spool_close(s);
}

static void sq(sqlite3 *db, const char *sql) {
  char *e = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &e) != SQLITE_OK) {
    fprintf(stderr, "sqlite: %s: %s\n", sql, e);
    exit(1);
  }
}

static void sqlite(const char *dir, long n, long batch, int fsync_on) {
  char path[4096];
  snprintf(path, sizeof path, "%s/spool-%d.db", dir, fsync_on);
  unlink(path);
  char wal[4200];
  snprintf(wal, sizeof wal, "%s-wal", path);
  unlink(wal);
  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK) exit(1);
  sq(db, "PRAGMA journal_mode=WAL");
  sq(db, fsync_on ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF");
  sq(db, "CREATE TABLE event(id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL)");
  sqlite3_stmt *ins, *sel, *del;
  sqlite3_prepare_v2(db, "INSERT INTO event(body) VALUES(?)", -1, &ins, NULL);
  sqlite3_prepare_v2(db, "SELECT id, body FROM event ORDER BY id LIMIT ?", -1, &sel, NULL);
  sqlite3_prepare_v2(db, "DELETE FROM event WHERE id <= ?", -1, &del, NULL);
  char r[512];
  size_t l;
  double t0 = secs();
  for (long i = 0; i < n; i += batch) {
    sq(db, "BEGIN");
    for (long k = i; k < i + batch && k < n; k++) {
      make_record(r, sizeof r, &l, k);
      sqlite3_bind_blob(ins, 1, r, (int)l, SQLITE_STATIC);
      if (sqlite3_step(ins) != SQLITE_DONE) exit(1);
      sqlite3_reset(ins);
    }
    sq(db, "COMMIT");
  }
  double t1 = secs();
  long got = 0;
  for (;;) {
    sqlite3_bind_int64(sel, 1, batch);
    int64_t last = -1;
    long k = 0;
    size_t bytes = 0;
    while (sqlite3_step(sel) == SQLITE_ROW) {
      last = sqlite3_column_int64(sel, 0);
      bytes += (size_t)sqlite3_column_bytes(sel, 1);
      k++;
    }
    sqlite3_reset(sel);
    if (k == 0) break;
    got += k;
    sq(db, "BEGIN");
    sqlite3_bind_int64(del, 1, last);
    if (sqlite3_step(del) != SQLITE_DONE) exit(1);
    sqlite3_reset(del);
    sq(db, "COMMIT");
  }
  double t2 = secs();
  printf("sqlite   fsync=%d append=%.0f/s read+ack=%.0f/s (%ld read)\n", fsync_on,
         (double)n / (t1 - t0), (double)got / (t2 - t1), got);
  sqlite3_finalize(ins);
  sqlite3_finalize(sel);
  sqlite3_finalize(del);
  sqlite3_close(db);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: client_spool_compare DIR [EVENTS] [BATCH]\n");
    return 2;
  }
  long n = argc > 2 ? atol(argv[2]) : 200000, batch = argc > 3 ? atol(argv[3]) : 1000;
  for (int f = 0; f <= 1; f++) {
    segments(argv[1], n, batch, f);
    sqlite(argv[1], n, batch, f);
  }
  return 0;
}
