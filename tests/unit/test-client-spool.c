/* Tests of libeventd's disk spool (write, replay in order, acknowledgement, recovery of torn
 * tails and bad ack files, locking, the byte bound) and of the client's memory queue
 * (overflow policies, close timeout, fork rule). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/client_internal.h"
#include "test.h"

typedef struct collected {
  char **v;
  size_t n;
} collected;

static int collect(void *arg, const char *p, size_t n) {
  collected *c = arg;
  c->v = realloc(c->v, (c->n + 1) * sizeof *c->v);
  c->v[c->n] = strndup(p, n);
  c->n++;
  return 0;
}

static void collected_free(collected *c) {
  for (size_t i = 0; i < c->n; i++) free(c->v[i]);
  free(c->v);
  c->v = NULL;
  c->n = 0;
}

static evc_spool *open_spool(const char *dir, uint64_t max, uint64_t segbytes, uint64_t *rec) {
  evc_spool_opts o = {.dir = dir, .max_bytes = max, .segment_bytes = segbytes, .fsync = 0};
  char err[256];
  evc_spool *s = evc_spool_open(&o, rec, err, sizeof err);
  if (s == NULL) fprintf(stderr, "spool open: %s\n", err);
  return s;
}

static void append_n(evc_spool *s, int from, int n) {
  for (int i = from; i < from + n; i++) {
    char rec[64];
    int l = snprintf(rec, sizeof rec, "{\"type\":\"t\",\"data\":{\"seq\":%d}}", i);
    ASSERT_EQ_INT(evc_spool_append(s, rec, (size_t)l), 0);
  }
  ASSERT_EQ_INT(evc_spool_commit(s), 0);
}

static int seq_of(const char *rec) {
  const char *p = strstr(rec, "\"seq\":");
  ASSERT(p != NULL);
  return atoi(p + 6);
}

TEST_IMPL(client_spool_replays_in_order_and_resends_what_was_not_acknowledged) {
  char *dir = test_tmpdir();
  char sd[4200];
  snprintf(sd, sizeof sd, "%s/spool", dir);
  uint64_t rec = 99;
  evc_spool *s = open_spool(sd, 0, 1024, &rec); /* small segments: several files */
  ASSERT(s != NULL);
  ASSERT_EQ_U64(rec, 0);
  append_n(s, 0, 100);
  ASSERT_EQ_U64(evc_spool_events(s), 100);
  collected c = {0};
  evc_spos end;
  ASSERT_EQ_INT(evc_spool_read_head(s, 30, 1 << 20, collect, &c, &end), 30);
  for (int i = 0; i < 30; i++) ASSERT_EQ_INT(seq_of(c.v[i]), i);
  ASSERT_EQ_INT(evc_spool_ack(s, end, 30), 0);
  ASSERT_EQ_U64(evc_spool_events(s), 70);
  collected_free(&c);
  /* read the next 40 but do not acknowledge them: a "crash" while they were in flight */
  ASSERT_EQ_INT(evc_spool_read_head(s, 40, 1 << 20, collect, &c, &end), 40);
  ASSERT_EQ_INT(seq_of(c.v[0]), 30);
  collected_free(&c);
  evc_spool_abandon(s); /* no clean close: like kill -9 */

  s = open_spool(sd, 0, 1024, &rec);
  ASSERT(s != NULL);
  ASSERT_EQ_U64(rec, 70);
  ASSERT_EQ_INT(evc_spool_read_head(s, 1000, 1 << 20, collect, &c, &end), 70);
  for (int i = 0; i < 70; i++) ASSERT_EQ_INT(seq_of(c.v[i]), 30 + i);
  ASSERT_EQ_INT(evc_spool_ack(s, end, 70), 0);
  ASSERT_EQ_U64(evc_spool_events(s), 0);
  collected_free(&c);
  /* a byte budget limits the batch but always yields at least one record */
  append_n(s, 100, 5);
  ASSERT_EQ_INT(evc_spool_read_head(s, 1000, 10, collect, &c, &end), 1);
  ASSERT_EQ_INT(seq_of(c.v[0]), 100);
  collected_free(&c);
  evc_spool_close(s);
  s = open_spool(sd, 0, 1024, &rec);
  ASSERT_EQ_U64(rec, 5);
  evc_spool_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

static char *only_segment(const char *sd) {
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "ls %s/*.seg | tail -1", sd);
  FILE *p = popen(cmd, "r");
  char line[4200] = "";
  ASSERT(fgets(line, sizeof line, p) != NULL);
  pclose(p);
  line[strcspn(line, "\n")] = '\0';
  return strdup(line);
}

TEST_IMPL(client_spool_recovery_truncates_a_torn_tail) {
  char *dir = test_tmpdir();
  char sd[4200];
  snprintf(sd, sizeof sd, "%s/spool", dir);
  uint64_t rec;
  evc_spool *s = open_spool(sd, 0, 1 << 20, &rec);
  append_n(s, 0, 10);
  evc_spool_abandon(s);
  char *seg = only_segment(sd);
  struct stat st;
  ASSERT_EQ_INT(stat(seg, &st), 0);
  off_t good = st.st_size;
  /* a record cut short by a crash: header says 50 bytes, 7 are there */
  int fd = open(seg, O_WRONLY | O_APPEND);
  unsigned char torn[15] = {50, 0, 0, 0, 1, 2, 3, 4, '{', '"', 't', 'y', 'p', 'e', '"'};
  ASSERT_EQ_INT(write(fd, torn, sizeof torn), (int)sizeof torn);
  close(fd);
  s = open_spool(sd, 0, 1 << 20, &rec);
  ASSERT(s != NULL);
  ASSERT_EQ_U64(rec, 10);
  ASSERT(strstr(evc_spool_error(s), "truncated torn tail") != NULL);
  ASSERT_EQ_INT(stat(seg, &st), 0);
  ASSERT_EQ_INT(st.st_size, good);
  /* appending after recovery continues cleanly */
  append_n(s, 10, 2);
  collected c = {0};
  evc_spos end;
  ASSERT_EQ_INT(evc_spool_read_head(s, 100, 1 << 20, collect, &c, &end), 12);
  ASSERT_EQ_INT(seq_of(c.v[11]), 11);
  collected_free(&c);
  evc_spool_close(s);

  /* a flipped byte inside the last record: that record is cut, the ones before stay */
  fd = open(seg, O_RDWR);
  ASSERT_EQ_INT(stat(seg, &st), 0);
  char b;
  ASSERT_EQ_INT(pread(fd, &b, 1, st.st_size - 3), 1);
  b ^= 0x20;
  ASSERT_EQ_INT(pwrite(fd, &b, 1, st.st_size - 3), 1);
  close(fd);
  s = open_spool(sd, 0, 1 << 20, &rec);
  ASSERT_EQ_U64(rec, 11);
  evc_spool_close(s);
  free(seg);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(client_spool_with_a_bad_ack_file_resends_everything) {
  char *dir = test_tmpdir();
  char sd[4200], ack[4300];
  snprintf(sd, sizeof sd, "%s/spool", dir);
  snprintf(ack, sizeof ack, "%s/ACK", sd);
  uint64_t rec;
  evc_spool *s = open_spool(sd, 0, 1 << 20, &rec);
  append_n(s, 0, 20);
  collected c = {0};
  evc_spos end;
  ASSERT_EQ_INT(evc_spool_read_head(s, 5, 1 << 20, collect, &c, &end), 5);
  ASSERT_EQ_INT(evc_spool_ack(s, end, 5), 0);
  collected_free(&c);
  evc_spool_abandon(s);
  s = open_spool(sd, 0, 1 << 20, &rec);
  ASSERT_EQ_U64(rec, 15); /* the ack file is honoured */
  evc_spool_abandon(s);
  int fd = open(ack, O_WRONLY);
  ASSERT_EQ_INT(pwrite(fd, "X", 1, 10), 1); /* torn/garbled ack: CRC fails */
  close(fd);
  s = open_spool(sd, 0, 1 << 20, &rec);
  ASSERT_EQ_U64(rec, 20); /* duplicates are fine (ids), loss is not */
  ASSERT_EQ_INT(evc_spool_read_head(s, 100, 1 << 20, collect, &c, &end), 20);
  ASSERT_EQ_INT(seq_of(c.v[0]), 0);
  collected_free(&c);
  evc_spool_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(client_spool_is_locked_by_one_client) {
  char *dir = test_tmpdir();
  char sd[4200];
  snprintf(sd, sizeof sd, "%s/spool", dir);
  uint64_t rec;
  evc_spool *s = open_spool(sd, 0, 1 << 20, &rec);
  ASSERT(s != NULL);
  evc_spool_opts o = {.dir = sd, .segment_bytes = 1 << 20};
  char err[256];
  ASSERT(evc_spool_open(&o, &rec, err, sizeof err) == NULL);
  ASSERT_EQ_INT(errno, EBUSY);
  ASSERT(strstr(err, "in use") != NULL);
  evc_spool_close(s);
  s = evc_spool_open(&o, &rec, err, sizeof err);
  ASSERT(s != NULL);
  evc_spool_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(client_spool_bound_refuses_appends_and_drop_oldest_frees_a_segment) {
  char *dir = test_tmpdir();
  char sd[4200];
  snprintf(sd, sizeof sd, "%s/spool", dir);
  uint64_t rec;
  evc_spool *s = open_spool(sd, 4096, 1024, &rec);
  int added = 0;
  for (;; added++) {
    char r[64];
    int l = snprintf(r, sizeof r, "{\"type\":\"t\",\"data\":{\"seq\":%d}}", added);
    if (evc_spool_append(s, r, (size_t)l) != 0) {
      ASSERT_EQ_INT(errno, ENOSPC);
      break;
    }
    ASSERT_EQ_INT(evc_spool_commit(s), 0);
  }
  ASSERT(added > 50);
  ASSERT(evc_spool_bytes(s) <= 4096);
  uint64_t before = evc_spool_events(s);
  uint64_t dropped = evc_spool_drop_oldest(s, 0);
  ASSERT(dropped > 0);
  ASSERT_EQ_U64(evc_spool_events(s), before - dropped);
  /* the head is now the first record of the next segment */
  collected c = {0};
  evc_spos end;
  ASSERT_EQ_INT(evc_spool_read_head(s, 1, 1 << 20, collect, &c, &end), 1);
  ASSERT_EQ_INT(seq_of(c.v[0]), (int)dropped);
  collected_free(&c);
  ASSERT_EQ_INT(evc_spool_append(s, "{\"type\":\"t\"}", 12), 0);
  evc_spool_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

/* ---- the client's memory queue ------------------------------------------------------------ */

/* A client that can never deliver (nothing listens on the port): the worker holds one batch
 * of `qmax` events and the queue fills up behind it. */
static evd_client *unreachable_client(evd_overflow_policy pol, unsigned qmax) {
  evd_options o;
  evd_options_init(&o);
  o.url = "http://127.0.0.1:1"; /* port 1: connection refused */
  o.spool_dir = "";
  o.queue_max_events = qmax;
  o.batch_max_events = qmax;
  o.batch_interval_ms = 60000;
  o.overflow = pol;
  o.block_timeout_ms = 30;
  o.retry_min_ms = 60000;
  o.retry_max_ms = 60000;
  o.metrics_interval_ms = 600000;
  char err[256];
  evd_client *c = evd_client_open_err(&o, err, sizeof err);
  if (c == NULL) fprintf(stderr, "open: %s\n", err);
  return c;
}

static void emit_n(evd_client *c, int n, int *ok, int *fail, int *last_errno) {
  for (int i = 0; i < n; i++) {
    evd_event *ev = evd_event_new("q.test");
    if (evd_emit(c, ev) == 0) {
      (*ok)++;
    } else {
      (*fail)++;
      *last_errno = errno;
    }
  }
}

/* Fill: qmax events go into the worker's batch (its first send fails), qmax more fill the
 * queue. Returns with the queue full. */
static void fill(evd_client *c, unsigned qmax) {
  int ok = 0, fail = 0, e = 0;
  emit_n(c, (int)qmax, &ok, &fail, &e);
  evd_stats st;
  for (int i = 0; i < 500; i++) {
    ASSERT_EQ_INT(evd_client_stats(c, &st), 0);
    if (st.request_failures >= 1) break;
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  ASSERT(st.request_failures >= 1);
  emit_n(c, (int)qmax, &ok, &fail, &e);
  ASSERT_EQ_INT(ok, (int)(2 * qmax));
  ASSERT_EQ_INT(fail, 0);
}

TEST_IMPL(client_queue_drop_newest_refuses_and_counts) {
  evd_client *c = unreachable_client(EVD_OVERFLOW_DROP_NEWEST, 8);
  ASSERT(c != NULL);
  fill(c, 8);
  int ok = 0, fail = 0, e = 0;
  emit_n(c, 5, &ok, &fail, &e);
  ASSERT_EQ_INT(fail, 5);
  ASSERT_EQ_INT(e, ENOBUFS);
  evd_stats st;
  evd_client_stats(c, &st);
  ASSERT_EQ_U64(st.dropped_newest, 5);
  ASSERT_EQ_U64(st.emitted, 16);
  ASSERT_EQ_U64(st.queue_events, 16);
  ASSERT(strstr(st.last_error, "Connection refused") != NULL);
  ASSERT_EQ_U64(evd_client_close(c, 0), 16); /* no spool: all 16 lost, and said so */
  return 0;
}

TEST_IMPL(client_queue_drop_oldest_accepts_and_counts) {
  evd_client *c = unreachable_client(EVD_OVERFLOW_DROP_OLDEST, 8);
  ASSERT(c != NULL);
  fill(c, 8);
  int ok = 0, fail = 0, e = 0;
  emit_n(c, 5, &ok, &fail, &e);
  ASSERT_EQ_INT(ok, 5);
  evd_stats st;
  evd_client_stats(c, &st);
  ASSERT_EQ_U64(st.dropped_oldest, 5);
  ASSERT_EQ_U64(st.emitted, 21);
  ASSERT_EQ_U64(st.queue_events, 16);
  ASSERT_EQ_U64(evd_client_close(c, 0), 16);
  return 0;
}

TEST_IMPL(client_queue_block_waits_at_most_its_timeout_and_counts) {
  evd_client *c = unreachable_client(EVD_OVERFLOW_BLOCK, 8);
  ASSERT(c != NULL);
  fill(c, 8);
  int ok = 0, fail = 0, e = 0;
  int64_t t0 = evc_mono_ns();
  emit_n(c, 3, &ok, &fail, &e);
  int64_t took_ms = (evc_mono_ns() - t0) / 1000000;
  ASSERT_EQ_INT(fail, 3);
  ASSERT_EQ_INT(e, ETIMEDOUT);
  ASSERT(took_ms >= 3 * 30 - 5);
  ASSERT(took_ms < 3000); /* bounded (generous for a loaded machine) */
  evd_stats st;
  evd_client_stats(c, &st);
  ASSERT_EQ_U64(st.blocked, 3);
  ASSERT_EQ_U64(st.dropped_block_timeout, 3);
  ASSERT_EQ_U64(evd_client_close(c, 0), 16);
  return 0;
}

TEST_IMPL(client_close_with_server_down_honours_its_timeout) {
  evd_options o;
  evd_options_init(&o);
  o.url = "http://127.0.0.1:1";
  o.spool_dir = "";
  o.retry_min_ms = 50;
  evd_client *c = evd_client_open(&o);
  ASSERT(c != NULL);
  for (int i = 0; i < 100; i++) ASSERT_EQ_INT(evd_emit(c, evd_event_new("x")), 0);
  int64_t t0 = evc_mono_ns();
  uint64_t left = evd_client_close(c, 300);
  int64_t ms = (evc_mono_ns() - t0) / 1000000;
  ASSERT_EQ_U64(left, 100);
  ASSERT(ms >= 290);
  ASSERT(ms < 2000);
  /* a blackhole address (no answer at all) is bounded by the same deadline */
  o.url = "http://10.255.255.1:9";
  o.connect_timeout_ms = 60000;
  c = evd_client_open(&o);
  ASSERT(c != NULL);
  ASSERT_EQ_INT(evd_emit(c, evd_event_new("x")), 0);
  ASSERT_EQ_INT(evd_client_flush(c, 100), -1);
  ASSERT_EQ_INT(errno, ETIMEDOUT);
  t0 = evc_mono_ns();
  ASSERT_EQ_U64(evd_client_close(c, 200), 1);
  ms = (evc_mono_ns() - t0) / 1000000;
  ASSERT(ms < 2000);
  return 0;
}

TEST_IMPL(client_in_a_forked_child_refuses_the_parents_client) {
  evd_options o;
  evd_options_init(&o);
  o.url = "http://127.0.0.1:1";
  o.spool_dir = "";
  o.retry_min_ms = o.retry_max_ms = 60000;
  evd_client *c = evd_client_open(&o);
  ASSERT(c != NULL);
  /* Fork while the parent's worker is asleep (its first send failed, the retry is a minute
     away): ASan's allocator, unlike glibc's malloc, is not fork-safe when another thread is
     inside malloc at the fork, and the child's own client would then hang in malloc. */
  ASSERT_EQ_INT(evd_emit(c, evd_event_new("parent")), 0);
  evd_stats st0;
  for (int i = 0; i < 500; i++) {
    ASSERT_EQ_INT(evd_client_stats(c, &st0), 0);
    if (st0.request_failures >= 1) break;
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  ASSERT(st0.request_failures >= 1);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    int rc = evd_emit(c, evd_event_new("child"));
    int e = errno;
    evd_stats st;
    int src = evd_client_stats(c, &st);
    uint64_t left = evd_client_close(c, 1000);
    /* a fresh client in the child works */
    evd_client *mine = evd_client_open(&o);
    int ok = mine && evd_emit(mine, evd_event_new("child")) == 0;
    if (mine) evd_client_close(mine, 0);
    _exit(rc == -1 && e == ECHILD && src == -1 && left == 0 && ok ? 0 : 1);
  }
  int status;
  ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
  ASSERT(WIFEXITED(status));
  ASSERT_EQ_INT(WEXITSTATUS(status), 0);
  /* the parent's client is untouched */
  ASSERT_EQ_INT(evd_emit(c, evd_event_new("parent")), 0);
  ASSERT_EQ_U64(evd_client_close(c, 0), 2);
  return 0;
}
