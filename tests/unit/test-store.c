/* Tests of the store's write path: append and read back, seqs and ids, group commit,
 * deduplication, lock, segment roll, retention, back-pressure, write/fsync errors, close. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "core/ulid.h"
#include "store-testutil.h"
#include "store/store_internal.h"
#include "test.h"

#define NOW_NS 1763712000000000000LL /* 2025-11-21 */

static void check_store(store *s) {
  char err[256];
  int rc = store__check(s, err, sizeof err);
  if (rc != 0) fprintf(stderr, "store__check: %s\n", err);
  ASSERT_EQ_INT(rc, 0);
}

static int count_all(store *s) {
  store_filter f;
  store_filter_init(&f);
  uint64_t n = 0;
  ASSERT_EQ_INT(store_count(s, &f, &n), 0);
  return (int)n;
}

typedef struct got_one {
  char json[1024];
  uint64_t seq;
} got_one;

static int get_cb(void *arg, uint64_t seq, const record_view *rv) {
  got_one *g = arg;
  g->seq = seq;
  size_t n = rv->json.n < sizeof g->json - 1 ? rv->json.n : sizeof g->json - 1;
  memcpy(g->json, rv->json.p, n);
  g->json[n] = '\0';
  return 0;
}

TEST_IMPL(store_append_then_read_back) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  tev evs[10];
  for (int i = 0; i < 10; i++)
    evs[i] = (tev){.time_ns = NOW_NS + i, .type = "vm.created", .tag = "t1", .msg = "hello"};
  store_batch *b = NULL;
  ASSERT_EQ_INT(tappend(s, evs, 10, &b), 0);
  ASSERT_EQ_INT(store_batch_count(b), 10);
  for (size_t i = 0; i < 10; i++) {
    ASSERT_EQ_U64(store_batch_seq(b, i), i + 1);
    ASSERT(!store_batch_duplicate(b, i));
    ASSERT(ulid_valid(store_batch_id(b, i), strlen(store_batch_id(b, i))));
  }
  ASSERT_EQ_U64(store_committed_seq(s), 10);
  store_filter f;
  store_filter_init(&f);
  tres r;
  int more = 0;
  ASSERT_EQ_INT(tquery(s, &f, 0, 100, NULL, &r, NULL, &more), 0);
  ASSERT_EQ_INT(r.n, 10);
  ASSERT_EQ_INT(more, 0);
  for (size_t i = 0; i < 10; i++) {
    ASSERT_EQ_U64(r.seq[i], i + 1);
    ASSERT_EQ_STR(r.id[i], store_batch_id(b, i));
  }
  /* The stored JSON carries the assigned id, and store_get finds it by that id. */
  got_one g;
  const char *id3 = store_batch_id(b, 3);
  ASSERT_EQ_INT(store_get(s, id3, strlen(id3), get_cb, &g), 0);
  ASSERT_EQ_U64(g.seq, 4);
  ASSERT(strncmp(g.json, "{\"id\":\"", 7) == 0 && strncmp(g.json + 7, id3, ULID_LEN) == 0);
  ASSERT(strstr(g.json, "\"vm.created\"") != NULL);
  uint64_t seq = 0;
  ASSERT_EQ_INT(store_seq_of_id(s, id3, strlen(id3), &seq), 0);
  ASSERT_EQ_U64(seq, 4);
  ASSERT_EQ_INT(store_get(s, "01ARZ3NDEKTSV4RRFFQ69G5FAV", 26, get_cb, &g), -ENOENT);
  ASSERT_EQ_INT(store_get(s, "nope", 4, get_cb, &g), -ENOENT);
  store_batch_free(b);
  check_store(s);
  store_stats st;
  store_get_stats(s, &st);
  ASSERT_EQ_U64(st.records, 10);
  ASSERT_EQ_U64(st.appended_records, 10);
  ASSERT_EQ_U64(st.committed_seq, 10);
  ASSERT(st.fsyncs >= 1);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(store_seq_continues_across_reopen) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  tev e = {.time_ns = NOW_NS, .type = "a.b"};
  for (int round = 0; round < 3; round++) {
    store *s = topen(&o);
    ASSERT_EQ_U64(store_committed_seq(s), (uint64_t)round * 5);
    for (int i = 0; i < 5; i++) ASSERT_EQ_U64(tappend_ok(s, &e, 1), (uint64_t)round * 5 + i + 1);
    check_store(s);
    store_close(s);
  }
  store *s = topen(&o);
  ASSERT_EQ_INT(count_all(s), 15);
  /* scan_seq returns every seq once, in order, page by page. */
  store_filter f;
  store_filter_init(&f);
  uint64_t after = 0, expect = 1;
  for (int pages = 0; pages < 10; pages++) {
    tres r;
    uint64_t last = 0;
    ASSERT_EQ_INT(tscan(s, &f, after, 4, &r, &last), 0);
    for (size_t i = 0; i < r.n; i++) ASSERT_EQ_U64(r.seq[i], expect++);
    if (r.n == 0) {
      ASSERT_EQ_U64(last, 15);
      break;
    }
    after = last;
  }
  ASSERT_EQ_U64(expect, 16);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(store_assigned_ids_increase_with_seq) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  char prev[ULID_LEN + 1] = "";
  tev evs[50];
  for (int i = 0; i < 50; i++) evs[i] = (tev){.time_ns = NOW_NS - i * 1000, .type = "x"};
  for (int round = 0; round < 2; round++) {
    store *s = topen(&o);
    for (int k = 0; k < 10; k++) {
      store_batch *b = NULL;
      ASSERT_EQ_INT(tappend(s, evs, 50, &b), 0);
      for (size_t i = 0; i < 50; i++) {
        const char *id = store_batch_id(b, i);
        ASSERT(ulid_valid(id, strlen(id)));
        ASSERT(strcmp(prev, id) < 0);
        memcpy(prev, id, ULID_LEN + 1);
      }
      store_batch_free(b);
    }
    store_close(s);
  }
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

typedef struct async_state {
  pthread_mutex_t mu;
  int done, failed;
  uint64_t *seqs; /* per seq: times seen */
  size_t maxseq;
} async_state;

static void async_cb(void *arg, int status, store_batch *b) {
  async_state *a = arg;
  pthread_mutex_lock(&a->mu);
  a->done++;
  if (status != 0) a->failed++;
  for (size_t i = 0; status == 0 && i < store_batch_count(b); i++) {
    uint64_t q = store_batch_seq(b, i);
    if (q > 0 && q <= a->maxseq) a->seqs[q]++;
  }
  pthread_mutex_unlock(&a->mu);
  store_batch_free(b);
}

typedef struct producer {
  store *s;
  async_state *a;
  int batches, per;
} producer;

static void *producer_main(void *arg) {
  producer *p = arg;
  buf pl = BUF_INIT;
  for (int k = 0; k < p->batches; k++) {
    store_batch *b = store_batch_new();
    for (int i = 0; i < p->per; i++) {
      tev e = {.time_ns = NOW_NS + k, .type = "load", .msg = "concurrent"};
      buf_clear(&pl);
      tev_encode(&e, &pl);
      ASSERT_EQ_INT(store_batch_add(b, pl.data, pl.len), 0);
    }
    int rc;
    while ((rc = store_append(p->s, b, async_cb, p->a)) == -EAGAIN) usleep(100);
    ASSERT_EQ_INT(rc, 0);
  }
  buf_free(&pl);
  return NULL;
}

static void run_producers(store *s, async_state *a, int nthreads, int batches, int per) {
  pthread_t th[8];
  producer p[8];
  for (int t = 0; t < nthreads; t++) {
    p[t] = (producer){s, a, batches, per};
    pthread_create(&th[t], NULL, producer_main, &p[t]);
  }
  for (int t = 0; t < nthreads; t++) pthread_join(th[t], NULL);
  for (;;) {
    pthread_mutex_lock(&a->mu);
    int done = a->done;
    pthread_mutex_unlock(&a->mu);
    if (done == nthreads * batches) break;
    usleep(1000);
  }
}

TEST_IMPL(store_group_commit_completes_concurrent_appends) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  const int T = 4, B = 300, P = 5;
  async_state a = {PTHREAD_MUTEX_INITIALIZER, 0, 0, calloc(T * B * P + 1, 8), T * B * P};
  run_producers(s, &a, T, B, P);
  ASSERT_EQ_INT(a.failed, 0);
  for (size_t q = 1; q <= a.maxseq; q++) ASSERT_EQ_U64(a.seqs[q], 1); /* every seq exactly once */
  ASSERT_EQ_U64(store_committed_seq(s), (uint64_t)T * B * P);
  store_stats st;
  store_get_stats(s, &st);
  /* Group commit: far fewer fsyncs than batches. */
  ASSERT(st.fsyncs > 0 && st.fsyncs < (uint64_t)T * B);
  uint64_t hist = 0;
  for (int i = 0; i < STORE_FSYNC_BUCKETS; i++) hist += st.fsync_buckets[i];
  ASSERT_EQ_U64(hist, st.fsyncs);
  check_store(s);
  store_close(s);
  free(a.seqs);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(store_sync_always_fsyncs_every_batch) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  o.sync = STORE_SYNC_ALWAYS;
  store *s = topen(&o);
  const int T = 2, B = 50, P = 3;
  async_state a = {PTHREAD_MUTEX_INITIALIZER, 0, 0, calloc(T * B * P + 1, 8), T * B * P};
  run_producers(s, &a, T, B, P);
  ASSERT_EQ_INT(a.failed, 0);
  store_stats st;
  store_get_stats(s, &st);
  ASSERT_EQ_U64(st.fsyncs, (uint64_t)T * B);
  store_close(s);
  free(a.seqs);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(store_sync_none_acks_and_survives_reopen) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  o.sync = STORE_SYNC_NONE;
  o.sync_interval_ns = 2000000000LL; /* 2 s */
  store *s = topen(&o);
  tev e = {.time_ns = NOW_NS, .type = "n"};
  for (int i = 0; i < 20; i++) tappend_ok(s, &e, 1);
  store_stats st;
  store_get_stats(s, &st);
  ASSERT_EQ_U64(st.fsyncs, 0); /* acknowledged before any fsync */
  for (int i = 0; i < 400 && st.fsyncs == 0; i++) {
    usleep(10000);
    store_get_stats(s, &st);
  }
  ASSERT_EQ_U64(st.fsyncs, 1); /* then one periodic fsync for all of them */
  store_close(s);
  s = topen(&o);
  ASSERT_EQ_INT(count_all(s), 20);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(store_client_ids_are_deduplicated) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  tev evs[4] = {
      {.id = "order-1", .time_ns = NOW_NS, .type = "o"},
      {.id = "order-2", .time_ns = NOW_NS, .type = "o"},
      {.id = "order-1", .time_ns = NOW_NS + 5, .type = "o"}, /* same batch duplicate */
      {.time_ns = NOW_NS, .type = "o"},
  };
  store_batch *b = NULL;
  ASSERT_EQ_INT(tappend(s, evs, 4, &b), 0);
  ASSERT(!store_batch_duplicate(b, 0) && !store_batch_duplicate(b, 1));
  ASSERT(store_batch_duplicate(b, 2));
  ASSERT_EQ_U64(store_batch_seq(b, 2), store_batch_seq(b, 0));
  ASSERT_EQ_STR(store_batch_id(b, 2), "order-1");
  ASSERT_EQ_U64(store_batch_seq(b, 3), 3); /* no gap for the duplicate */
  store_batch_free(b);
  /* Another batch: order-2 again is a duplicate of seq 2. */
  tev again[2] = {{.id = "order-2", .time_ns = NOW_NS, .type = "o"},
                  {.id = "order-3", .time_ns = NOW_NS, .type = "o"}};
  ASSERT_EQ_INT(tappend(s, again, 2, &b), 0);
  ASSERT(store_batch_duplicate(b, 0));
  ASSERT_EQ_U64(store_batch_seq(b, 0), 2);
  ASSERT_EQ_U64(store_batch_seq(b, 1), 4);
  store_batch_free(b);
  ASSERT_EQ_INT(count_all(s), 4);
  store_stats st;
  store_get_stats(s, &st);
  ASSERT_EQ_U64(st.duplicates, 2);
  store_close(s);
  /* After a reopen (the map is rebuilt from the sealed index) it is still a duplicate. */
  s = topen(&o);
  ASSERT_EQ_INT(tappend(s, evs, 1, &b), 0);
  ASSERT(store_batch_duplicate(b, 0));
  ASSERT_EQ_U64(store_batch_seq(b, 0), 1);
  store_batch_free(b);
  got_one g;
  ASSERT_EQ_INT(store_get(s, "order-3", 7, get_cb, &g), 0);
  ASSERT_EQ_U64(g.seq, 4);
  uint64_t seq;
  ASSERT_EQ_INT(store_seq_of_id(s, "order-2", 7, &seq), 0);
  ASSERT_EQ_U64(seq, 2);
  ASSERT_EQ_INT(store_seq_of_id(s, "order-9", 7, &seq), -ENOENT);
  ASSERT_EQ_INT(count_all(s), 4);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(store_lock_refuses_second_open) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  store *s2 = NULL;
  char err[512];
  ASSERT_EQ_INT(store_open(&o, &s2, err, sizeof err), -1);
  ASSERT(s2 == NULL);
  char pid[32];
  snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
  ASSERT(strstr(err, dir) != NULL);
  ASSERT(strstr(err, pid) != NULL);
  ASSERT(strstr(err, "locked") != NULL);
  store_close(s);
  /* Released at close. */
  s = topen(&o);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

static void fill(store *s, int n, int64_t t0, int msgsize) {
  char *msg = malloc((size_t)msgsize + 1);
  memset(msg, 'm', (size_t)msgsize);
  msg[msgsize] = '\0';
  tev evs[20];
  for (int i = 0; i < n;) {
    int k = n - i < 20 ? n - i : 20;
    for (int j = 0; j < k; j++) evs[j] = (tev){.time_ns = t0 + i + j, .type = "fill", .msg = msg};
    tappend_ok(s, evs, (size_t)k);
    i += k;
  }
  free(msg);
}

TEST_IMPL(store_segment_rolls_by_size) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  o.segment_max_bytes = 1 << 20;
  store *s = topen(&o);
  fill(s, 3000, NOW_NS, 1000); /* ~3.5 MB */
  ASSERT(tcount_files(dir, ".seg") >= 4);
  ASSERT_EQ_INT(tcount_files(dir, ".idx"), tcount_files(dir, ".seg") - 1);
  store_stats st;
  store_get_stats(s, &st);
  ASSERT_EQ_U64(st.segments, (uint64_t)tcount_files(dir, ".seg"));
  ASSERT_EQ_U64(st.records, 3000);
  /* No segment is much bigger than the bound (one batch at most). */
  for (int i = 0; i + 1 < tcount_files(dir, ".seg"); i++) {
    char *n = tnth_file(dir, ".seg", i), *p = tpath(dir, n);
    ASSERT(tfile_size(p) <= (1 << 20) + 25000);
    free(n);
    free(p);
  }
  ASSERT_EQ_INT(count_all(s), 3000);
  check_store(s);
  store_close(s);
  s = topen(&o);
  ASSERT_EQ_INT(count_all(s), 3000);
  check_store(s);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(store_retention_drops_oldest_segments_by_size) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  o.segment_max_bytes = 1 << 20;
  o.retention_max_bytes = 3u << 20;
  store *s = topen(&o);
  tev c = {.id = "early-client-id", .time_ns = NOW_NS, .type = "fill"};
  tappend_ok(s, &c, 1);
  fill(s, 6000, NOW_NS, 1000); /* ~7 MB */
  store_stats st;
  store_get_stats(s, &st);
  ASSERT(st.retention_dropped_segments >= 2);
  /* Bound holds up to the active segment, which is never dropped. */
  ASSERT(st.bytes <= (3u << 20) + (1u << 20) + 100000);
  uint64_t n = (uint64_t)count_all(s);
  ASSERT(n < 6001 && n > 1000);
  ASSERT_EQ_U64(st.records, n);
  /* The oldest records are gone; the newest are there. */
  uint64_t seq;
  ASSERT_EQ_INT(store_seq_of_id(s, "early-client-id", 15, &seq), -ENOENT);
  store_filter f;
  store_filter_init(&f);
  tres r;
  ASSERT_EQ_INT(tquery(s, &f, 1, 1, NULL, &r, NULL, NULL), 0);
  ASSERT_EQ_U64(r.seq[0], 6001);
  /* A dropped client id can be stored again. */
  store_batch *b = NULL;
  ASSERT_EQ_INT(tappend(s, &c, 1, &b), 0);
  ASSERT(!store_batch_duplicate(b, 0));
  store_batch_free(b);
  check_store(s);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(store_retention_drops_segments_by_age) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  o.segment_max_bytes = 1 << 20;
  o.retention_age_ns = 3600LL * 1000000000LL;
  int64_t now = store_now_ns();
  store *s = topen(&o);
  fill(s, 1500, now - 2 * 3600LL * 1000000000LL, 1000); /* observed 2 h ago: expired */
  fill(s, 1500, now, 1000);
  store_stats st;
  store_get_stats(s, &st);
  ASSERT(st.retention_dropped_segments >= 1);
  store_filter f;
  store_filter_init(&f);
  f.until_ns = now - 3600LL * 1000000000LL;
  uint64_t old = 0;
  ASSERT_EQ_INT(store_count(s, &f, &old), 0);
  ASSERT(old < 1500); /* the whole sealed segments of old events are gone */
  store_filter_init(&f);
  f.since_ns = now;
  uint64_t fresh = 0;
  ASSERT_EQ_INT(store_count(s, &f, &fresh), 0);
  ASSERT_EQ_U64(fresh, 1500); /* nothing recent was dropped */
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

typedef struct gate {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int open, entered;
} gate;

static void gate_hook(void *arg, uint64_t seq) {
  gate *g = arg;
  pthread_mutex_lock(&g->mu);
  g->entered = 1;
  pthread_cond_broadcast(&g->cv);
  while (!g->open) pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}

TEST_IMPL(store_append_returns_eagain_when_queue_full) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  o.queue_max_bytes = 8192;
  store *s = topen(&o);
  gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
  store_set_commit_hook(s, gate_hook, &g);
  async_state a = {PTHREAD_MUTEX_INITIALIZER, 0, 0, calloc(1000, 8), 999};
  buf pl = BUF_INIT;
  tev e = {.time_ns = NOW_NS, .type = "q", .msg = "some text to take room in the queue"};
  tev_encode(&e, &pl);
  /* The first batch is committed and then the writer blocks in the hook. */
  store_batch *b = store_batch_new();
  store_batch_add(b, pl.data, pl.len);
  ASSERT_EQ_INT(store_append(s, b, async_cb, &a), 0);
  pthread_mutex_lock(&g.mu);
  while (!g.entered) pthread_cond_wait(&g.cv, &g.mu);
  pthread_mutex_unlock(&g.mu);
  int queued = 0, rc = 0;
  for (int i = 0; i < 1000; i++) {
    b = store_batch_new();
    store_batch_add(b, pl.data, pl.len);
    rc = store_append(s, b, async_cb, &a);
    if (rc != 0) {
      store_batch_free(b); /* refused: still ours */
      break;
    }
    queued++;
  }
  ASSERT_EQ_INT(rc, -EAGAIN);
  ASSERT(queued > 0 && queued < 100);
  store_stats st;
  store_get_stats(s, &st);
  ASSERT(st.queue_bytes > 0 && st.queue_bytes <= 8192);
  ASSERT_EQ_U64(st.queue_batches, (uint64_t)queued);
  pthread_mutex_lock(&g.mu);
  g.open = 1;
  pthread_cond_broadcast(&g.cv);
  pthread_mutex_unlock(&g.mu);
  store_close(s); /* drains the queue: every callback fires */
  ASSERT_EQ_INT(a.done, queued + 1);
  ASSERT_EQ_INT(a.failed, 0);
  buf_free(&pl);
  free(a.seqs);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(store_enospc_fails_batch_truncates_and_recovers) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  tev e = {.time_ns = NOW_NS, .type = "d", .msg = "a message long enough to be cut in half"};
  tappend_ok(s, &e, 1);
  char *segname = tnth_file(dir, ".seg", 0), *path = tpath(dir, segname);
  uint64_t size = tfile_size(path);
  store__inject_write_error(s, ENOSPC, 1);
  tev two[2] = {e, e};
  ASSERT_EQ_INT(tappend(s, two, 2, NULL), -ENOSPC);
  ASSERT_EQ_U64(tfile_size(path), size); /* the half-written data was cut back */
  ASSERT_EQ_U64(store_committed_seq(s), 1);
  /* Not fatal: the next batch is stored, with the next seq. */
  ASSERT_EQ_U64(tappend_ok(s, &e, 1), 2);
  ASSERT_EQ_INT(count_all(s), 2);
  store_close(s);
  tlog_clear();
  s = topen(&o);
  store_stats st;
  store_get_stats(s, &st);
  ASSERT_EQ_U64(st.recovered_truncated_bytes, 0);
  ASSERT_EQ_U64(st.corrupt_records, 0);
  ASSERT_EQ_INT(count_all(s), 2);
  store_close(s);
  free(segname);
  free(path);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

static void noop_cb(void *arg, int status, store_batch *b) { store_batch_free(b); }

TEST_IMPL(store_fsync_failure_fails_the_store) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  tev e = {.time_ns = NOW_NS, .type = "f"};
  tappend_ok(s, &e, 1);
  store__inject_fsync_error(s, EIO);
  ASSERT_EQ_INT(tappend(s, &e, 1, NULL), -EIO);
  store_batch *b = store_batch_new();
  buf pl = BUF_INIT;
  tev_encode(&e, &pl);
  store_batch_add(b, pl.data, pl.len);
  ASSERT_EQ_INT(store_append(s, b, noop_cb, NULL), -EIO);
  store_batch_free(b);
  buf_free(&pl);
  store_stats st;
  store_get_stats(s, &st);
  ASSERT_EQ_INT(st.failed, 1);
  ASSERT(tlog_contains("fdatasync failed"));
  store_close(s);
  /* A restart recovers from disk: the failed record is not there. */
  s = topen(&o);
  ASSERT_EQ_INT(count_all(s), 1);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(store_close_commits_everything_queued) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  async_state a = {PTHREAD_MUTEX_INITIALIZER, 0, 0, calloc(2001, 8), 2000};
  buf pl = BUF_INIT;
  tev e = {.time_ns = NOW_NS, .type = "c"};
  tev_encode(&e, &pl);
  for (int i = 0; i < 200; i++) {
    store_batch *b = store_batch_new();
    for (int k = 0; k < 10; k++) store_batch_add(b, pl.data, pl.len);
    ASSERT_EQ_INT(store_append(s, b, async_cb, &a), 0);
  }
  store_close(s);
  ASSERT_EQ_INT(a.done, 200);
  ASSERT_EQ_INT(a.failed, 0);
  s = topen(&o);
  ASSERT_EQ_INT(count_all(s), 2000);
  store_close(s);
  buf_free(&pl);
  free(a.seqs);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

static void seq_hook(void *arg, uint64_t seq) { atomic_store((_Atomic uint64_t *)arg, seq); }

/* The hook runs after the callbacks: wait (up to 2 s) for it to have seen want. */
static uint64_t hook_wait(_Atomic uint64_t *seen, uint64_t want) {
  for (int i = 0; i < 2000 && atomic_load(seen) < want; i++) usleep(1000);
  return atomic_load(seen);
}

TEST_IMPL(store_commit_hook_reports_committed_seq) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  _Atomic uint64_t seen = 0;
  store_set_commit_hook(s, seq_hook, &seen);
  tev e[3] = {{.time_ns = 1, .type = "h"}, {.time_ns = 2, .type = "h"}, {.time_ns = 3, .type = "h"}};
  tappend_ok(s, e, 3);
  ASSERT_EQ_U64(hook_wait(&seen, 3), 3);
  tappend_ok(s, e, 1);
  ASSERT_EQ_U64(hook_wait(&seen, 4), 4);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(store_batch_add_refuses_malformed_payload) {
  store_batch *b = store_batch_new();
  ASSERT_EQ_INT(store_batch_add(b, "garbage", 7), -1);
  ASSERT_EQ_INT(store_batch_add(b, "", 0), -1);
  ASSERT_EQ_INT(store_batch_count(b), 0);
  buf pl = BUF_INIT;
  tev e = {.time_ns = 5, .type = "ok"};
  tev_encode(&e, &pl);
  ASSERT_EQ_INT(store_batch_add(b, pl.data, 20), -1); /* cut inside the header */
  ASSERT_EQ_INT(store_batch_add(b, pl.data, pl.len), 0);
  ASSERT_EQ_INT(store_batch_count(b), 1);
  ASSERT_EQ_U64(store_batch_bytes(b), pl.len);
  buf_free(&pl);
  store_batch_free(b);
  return 0;
}

typedef struct reader_arg {
  store *s;
  atomic_int stop;
  int retention; /* records may disappear */
  atomic_long queries;
} reader_arg;

static int order_cb(void *arg, uint64_t seq, const record_view *rv) {
  int64_t *prev = arg;
  ASSERT(rv->time_ns <= *prev); /* descending */
  *prev = rv->time_ns;
  return 0;
}

static void *reader_main(void *p) {
  reader_arg *a = p;
  uint64_t last_count = 0, after = 0;
  while (!atomic_load(&a->stop)) {
    store_filter f;
    store_filter_init(&f);
    uint64_t n = 0;
    ASSERT_EQ_INT(store_count(a->s, &f, &n), 0);
    if (!a->retention) ASSERT(n >= last_count);
    last_count = n;
    f.exact[EVF_TYPE] = "odd";
    int64_t prev = INT64_MAX;
    int more = 0;
    store_pos last;
    ASSERT_EQ_INT(store_query(a->s, &f, 1, 50, NULL, order_cb, &prev, &last, &more), 0);
    tres r;
    uint64_t l = 0;
    store_filter_init(&f);
    ASSERT_EQ_INT(tscan(a->s, &f, after, 100, &r, &l), 0);
    for (size_t i = 1; i < r.n; i++) ASSERT(r.seq[i] > r.seq[i - 1]);
    if (!a->retention)
      for (size_t i = 0; i < r.n; i++) ASSERT_EQ_U64(r.seq[i], after + i + 1);
    after = l;
    if (r.n) {
      uint64_t seq = 0;
      int rc = store_seq_of_id(a->s, r.id[0], strlen(r.id[0]), &seq);
      ASSERT(rc == 0 || (a->retention && rc == -ENOENT));
      if (rc == 0) ASSERT_EQ_U64(seq, r.seq[0]);
    }
    a->queries++;
  }
  return NULL;
}

static void concurrent_run(int retention) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  o.segment_max_bytes = 1 << 20;
  if (retention) o.retention_max_bytes = 2u << 20;
  store *s = topen(&o);
  reader_arg ra[2] = {{s, 0, retention, 0}, {s, 0, retention, 0}};
  pthread_t th[2];
  for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, reader_main, &ra[i]);
  static char msg[801];
  memset(msg, 'c', 800);
  for (int i = 0; i < 6000; i += 20) {
    tev evs[20];
    for (int k = 0; k < 20; k++)
      evs[k] = (tev){.time_ns = NOW_NS + (i + k) % 777, .type = (i + k) % 2 ? "odd" : "even",
                     .msg = msg, .id = NULL};
    tappend_ok(s, evs, 20);
  }
  for (int i = 0; i < 2; i++) {
    atomic_store(&ra[i].stop, 1);
    pthread_join(th[i], NULL);
    ASSERT(ra[i].queries > 0);
  }
  check_store(s);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
}

TEST_IMPL(store_concurrent_reads_during_appends_and_rolls) {
  concurrent_run(0);
  return 0;
}

TEST_IMPL(store_concurrent_reads_during_retention) {
  concurrent_run(1);
  return 0;
}

TEST_IMPL(store_segment_rolls_by_age) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  o.segment_max_age_ns = 100000000; /* 100 ms */
  store *s = topen(&o);
  tev e = {.time_ns = NOW_NS, .type = "age"};
  tappend_ok(s, &e, 1);
  /* The writer checks the age at least once a second, even with nothing to write. */
  /* (The roll writes the index, then creates the next segment: wait for both.) */
  for (int i = 0; i < 300 && (tcount_files(dir, ".idx") < 1 || tcount_files(dir, ".seg") < 2); i++)
    usleep(10000);
  ASSERT_EQ_INT(tcount_files(dir, ".idx"), 1);
  ASSERT_EQ_INT(tcount_files(dir, ".seg"), 2);
  /* An empty active segment does not roll, however old. */
  usleep(1500000);
  ASSERT_EQ_INT(tcount_files(dir, ".seg"), 2);
  ASSERT_EQ_U64(tappend_ok(s, &e, 1), 2);
  ASSERT_EQ_INT(count_all(s), 2);
  check_store(s);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(store_write_eio_fails_batch_and_store) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  tev e = {.time_ns = NOW_NS, .type = "w", .msg = "some bytes to cut in the middle"};
  tappend_ok(s, &e, 1);
  char *segname = tnth_file(dir, ".seg", 0), *path = tpath(dir, segname);
  uint64_t size = tfile_size(path);
  store__inject_write_error(s, EIO, 1);
  ASSERT_EQ_INT(tappend(s, &e, 1, NULL), -EIO);
  ASSERT_EQ_U64(tfile_size(path), size); /* no partial record left */
  ASSERT_EQ_INT(tappend(s, &e, 1, NULL), -EIO); /* refused from now on */
  store_stats st;
  store_get_stats(s, &st);
  ASSERT_EQ_INT(st.failed, 1);
  store_close(s);
  s = topen(&o);
  ASSERT_EQ_INT(count_all(s), 1);
  ASSERT_EQ_U64(tappend_ok(s, &e, 1), 2); /* a restart recovers */
  store_close(s);
  free(segname);
  free(path);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

static int count_cells(void *arg, int64_t b, const char *g, size_t gn, uint64_t n) {
  (*(uint64_t *)arg)++;
  return 0;
}

TEST_IMPL(store_histogram_refuses_more_than_100000_cells) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  static tev evs[1000];
  for (int i = 0; i < 100001; i += 1000) {
    int k = 100001 - i < 1000 ? 100001 - i : 1000;
    for (int j = 0; j < k; j++) evs[j] = (tev){.time_ns = NOW_NS + i + j, .type = "h"};
    tappend_ok(s, evs, (size_t)k);
  }
  store_filter f;
  store_filter_init(&f);
  uint64_t cells = 0;
  ASSERT_EQ_INT(store_histogram(s, &f, 1, STORE_GROUP_NONE, count_cells, &cells), -E2BIG);
  ASSERT_EQ_U64(cells, 0);
  f.since_ns = NOW_NS + 1; /* one cell fewer: fits */
  ASSERT_EQ_INT(store_histogram(s, &f, 1, STORE_GROUP_NONE, count_cells, &cells), 0);
  ASSERT_EQ_U64(cells, 100000);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}
