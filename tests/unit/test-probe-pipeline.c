/* Unit tests of eventd-probe's pipeline pieces: the limiter (de-duplication window, rate
 * limit, summaries), the classification of process exits, the configuration file, the two
 * JSON shapes (eventd, gala-gopher Kafka), and the rotation-safe tailer. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/json.h"
#include "probe/kmsg.h"
#include "probe/limiter.h"
#include "probe/probe_config.h"
#include "probe/probe_event.h"
#include "probe/proc_connector.h"
#include "probe/tail.h"
#include "test.h"

#define SEC 1000000000LL

static void make_event(probe_event *ev, const char *type, const char *key) {
  probe_event_init(ev, type, PROBE_SEV_ERROR, "test.rule", "test");
  snprintf(ev->dedup_key, sizeof ev->dedup_key, "%s", key);
}

/* ---- limiter ---------------------------------------------------------------------------- */

TEST_IMPL(probe_limiter_dedup_window_suppresses_and_counts) {
  limiter_config cfg = {10 * SEC, 0, 60 * SEC};
  limiter *l = limiter_new(&cfg);
  ASSERT(l != NULL);
  probe_event a, b;
  make_event(&a, "process.segfault", "loopy|loopy");
  make_event(&b, "process.segfault", "other|other");
  int64_t t0 = 1000 * SEC;
  ASSERT_EQ_INT(limiter_admit(l, &a, t0), 1);
  ASSERT_EQ_INT(limiter_admit(l, &a, t0 + 1 * SEC), 0);
  ASSERT_EQ_INT(limiter_admit(l, &a, t0 + 9 * SEC), 0);
  ASSERT_EQ_INT(limiter_admit(l, &b, t0 + 9 * SEC), 1); /* another key */
  ASSERT_EQ_INT(limiter_admit(l, &a, t0 + 10 * SEC), 1); /* window over */
  ASSERT_EQ_U64(limiter_total_suppressed(l), 2);
  probe_event out[4];
  ASSERT_EQ_INT(limiter_summaries(l, t0 + 11 * SEC, 0, out, 4), 0); /* interval not over */
  ASSERT_EQ_INT(limiter_summaries(l, t0 + 11 * SEC, 1, out, 4), 1);
  ASSERT_EQ_STR(out[0].type, "probe.suppressed");
  ASSERT_EQ_INT(out[0].severity, PROBE_SEV_WARN);
  const probe_field *f = probe_event_get(&out[0], "suppressed");
  ASSERT(f && f->kind == PF_UINT && f->u == 2);
  f = probe_event_get(&out[0], "duplicates");
  ASSERT(f && f->u == 2);
  f = probe_event_get(&out[0], "suppressed_type");
  ASSERT_EQ_STR(f->s, "process.segfault");
  probe_event_free(&out[0]);
  /* counts were reset: nothing more to say */
  ASSERT_EQ_INT(limiter_summaries(l, t0 + 200 * SEC, 1, out, 4), 0);
  probe_event_free(&a);
  probe_event_free(&b);
  limiter_free(l);
  return 0;
}

TEST_IMPL(probe_limiter_rate_limit_per_type_refills) {
  limiter_config cfg = {0, 2, 60 * SEC}; /* 2 per minute, no dedup */
  limiter *l = limiter_new(&cfg);
  probe_event a, c;
  make_event(&a, "process.abnormal_exit", "x");
  make_event(&c, "task.hung", "x");
  int64_t t0 = 5000 * SEC;
  ASSERT_EQ_INT(limiter_admit(l, &a, t0), 1);
  ASSERT_EQ_INT(limiter_admit(l, &a, t0), 1);
  ASSERT_EQ_INT(limiter_admit(l, &a, t0), 0);
  ASSERT_EQ_INT(limiter_admit(l, &c, t0), 1); /* per type */
  ASSERT_EQ_INT(limiter_admit(l, &a, t0 + 30 * SEC), 1); /* one token back after 30 s */
  ASSERT_EQ_INT(limiter_admit(l, &a, t0 + 30 * SEC), 0);
  probe_event out[4];
  ASSERT_EQ_INT(limiter_summaries(l, t0 + 61 * SEC, 0, out, 4), 1);
  const probe_field *f = probe_event_get(&out[0], "rate_limited");
  ASSERT(f && f->u == 2);
  probe_event_free(&out[0]);
  /* probe.* events always pass */
  probe_event s;
  make_event(&s, "probe.suppressed", "x");
  for (int i = 0; i < 10; i++) ASSERT_EQ_INT(limiter_admit(l, &s, t0 + 61 * SEC), 1);
  probe_event_free(&a);
  probe_event_free(&c);
  probe_event_free(&s);
  limiter_free(l);
  return 0;
}

TEST_IMPL(probe_limiter_forgets_oldest_key_when_full) {
  limiter_config cfg = {3600 * SEC, 0, 60 * SEC};
  limiter *l = limiter_new(&cfg);
  probe_event ev;
  char key[32];
  for (int i = 0; i < LIMITER_MAX_KEYS + 10; i++) {
    snprintf(key, sizeof key, "k%d", i);
    make_event(&ev, "process.segfault", key);
    ASSERT_EQ_INT(limiter_admit(l, &ev, (int64_t)(i + 1) * SEC), 1);
    probe_event_free(&ev);
  }
  make_event(&ev, "process.segfault", "k0"); /* evicted: reported again */
  ASSERT_EQ_INT(limiter_admit(l, &ev, (LIMITER_MAX_KEYS + 20) * SEC), 1);
  probe_event_free(&ev);
  snprintf(key, sizeof key, "k%d", LIMITER_MAX_KEYS + 9); /* recent: still a duplicate */
  make_event(&ev, "process.segfault", key);
  ASSERT_EQ_INT(limiter_admit(l, &ev, (LIMITER_MAX_KEYS + 20) * SEC), 0);
  probe_event_free(&ev);
  limiter_free(l);
  return 0;
}

/* ---- process exits ----------------------------------------------------------------------- */

static const char IGNORE[2][16] = {"grep", "test"};

static procconn_policy policy(void) {
  procconn_policy p;
  memset(&p, 0, sizeof p);
  p.report_exit_codes = 1;
  p.report_signals = 1ULL << SIGKILL;
  p.ignore_comms = IGNORE;
  p.nignore = 2;
  return p;
}

TEST_IMPL(probe_procconn_classifies_exit_codes_and_signals) {
  procconn_policy pol = policy();
  procconn_exit x = {100, 100, 1, 0, 5 * SEC, "app", "/usr/bin/app", 2 * SEC};
  probe_event ev;
  ASSERT_EQ_INT(procconn_classify(&x, &pol, &ev), 0); /* exit 0 */
  x.exit_code = 3 << 8;
  ASSERT_EQ_INT(procconn_classify(&x, &pol, &ev), 1);
  ASSERT_EQ_INT(ev.severity, PROBE_SEV_WARN);
  ASSERT_EQ_INT(probe_event_get(&ev, "exit_code")->i, 3);
  ASSERT(probe_event_get(&ev, "signal")->kind == PF_NULL);
  ASSERT_EQ_INT(probe_event_get(&ev, "ppid")->i, 1);
  ASSERT_EQ_STR(probe_event_get(&ev, "exe")->s, "/usr/bin/app");
  ASSERT(probe_event_get(&ev, "runtime")->d > 2.99 && probe_event_get(&ev, "runtime")->d < 3.01);
  ASSERT_EQ_STR(ev.message, "process 100 (app) exited with code 3 after 3.000 s");
  probe_event_free(&ev);
  x.exit_code = SIGSEGV | 0x80; /* core dumped */
  ASSERT_EQ_INT(procconn_classify(&x, &pol, &ev), 1);
  ASSERT_EQ_INT(ev.severity, PROBE_SEV_ERROR);
  ASSERT_EQ_INT(probe_event_get(&ev, "signal")->i, SIGSEGV);
  ASSERT_EQ_INT(probe_event_get(&ev, "core_dumped")->i, 1);
  ASSERT(probe_event_get(&ev, "exit_code")->kind == PF_NULL);
  probe_event_free(&ev);
  int crash[] = {SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGSYS, SIGTRAP};
  for (size_t i = 0; i < sizeof crash / sizeof crash[0]; i++) {
    x.exit_code = (uint32_t)crash[i];
    ASSERT_EQ_INT(procconn_classify(&x, &pol, &ev), 1);
    ASSERT_EQ_INT(ev.severity, PROBE_SEV_ERROR);
    probe_event_free(&ev);
  }
  x.exit_code = SIGKILL;
  ASSERT_EQ_INT(procconn_classify(&x, &pol, &ev), 1);
  ASSERT_EQ_INT(ev.severity, PROBE_SEV_WARN);
  probe_event_free(&ev);
  x.exit_code = SIGTERM; /* not in report_signals */
  ASSERT_EQ_INT(procconn_classify(&x, &pol, &ev), 0);
  pol.report_signals |= 1ULL << SIGTERM;
  ASSERT_EQ_INT(procconn_classify(&x, &pol, &ev), 1);
  probe_event_free(&ev);
  x.exit_code = SIGPIPE;
  ASSERT_EQ_INT(procconn_classify(&x, &pol, &ev), 0);
  return 0;
}

TEST_IMPL(probe_procconn_ignores_threads_and_ignored_comms) {
  procconn_policy pol = policy();
  procconn_exit x = {101, 100, 1, 1 << 8, 5 * SEC, "app", NULL, -1};
  probe_event ev;
  ASSERT_EQ_INT(procconn_classify(&x, &pol, &ev), 0); /* a thread */
  x.pid = 100;
  x.comm = "grep";
  ASSERT_EQ_INT(procconn_classify(&x, &pol, &ev), 0); /* grep exits 1 when nothing matches */
  x.exit_code = SIGSEGV; /* a crash is reported whatever the comm */
  ASSERT_EQ_INT(procconn_classify(&x, &pol, &ev), 1);
  ASSERT(probe_event_get(&ev, "runtime")->kind == PF_NULL);
  ASSERT(probe_event_get(&ev, "exe")->kind == PF_NULL);
  probe_event_free(&ev);
  pol.report_exit_codes = 0;
  x.comm = "app";
  x.exit_code = 1 << 8;
  ASSERT_EQ_INT(procconn_classify(&x, &pol, &ev), 0);
  return 0;
}

/* ---- configuration ---------------------------------------------------------------------- */

TEST_IMPL(probe_config_reads_every_section) {
  const char *yml = "output:\n  url: kafka://127.0.0.1:9092/t\n  kafka_topic: t2\n"
                    "state_dir: /var/lib/p\n"
                    "rules:\n  oom_kill: false\n  hung_task_min_seconds: 240\n  command_failed: false\n"
                    "kmsg:\n  path: /tmp/k\n  from_start: false\n"
                    "process:\n  report_signals: [SIGKILL, TERM, 1]\n  ignore_comms: [a, b]\n  report_exit_codes: false\n"
                    "command_failed:\n  files: [/var/log/messages, /var/log/secure]\n  from_start: true\n"
                    "pstore:\n  dir: /p\n"
                    "limits:\n  dedup_window: 10m\n  rate_per_minute: 5\n  summary_interval: 30\n";
  probe_config c;
  probe_config_default(&c);
  char err[512];
  int rc = probe_config_parse(&c, "t.yml", yml, strlen(yml), err, sizeof err);
  if (rc != 0) fprintf(stderr, "%s\n", err);
  ASSERT_EQ_INT(rc, 0);
  ASSERT_EQ_STR(c.output_url, "kafka://127.0.0.1:9092/t");
  ASSERT_EQ_STR(c.kafka_topic, "t2");
  ASSERT_EQ_STR(c.state_dir, "/var/lib/p");
  ASSERT_EQ_INT(c.krules.oom_kill, 0);
  ASSERT_EQ_INT(c.krules.segfault, 1);
  ASSERT_EQ_INT(c.krules.hung_task_min_seconds, 240);
  ASSERT_EQ_INT(c.command_failed, 0);
  ASSERT_EQ_STR(c.kmsg_path, "/tmp/k");
  ASSERT_EQ_INT(c.kmsg_from_start, 0);
  ASSERT_EQ_U64(c.report_signals, (1ULL << SIGKILL) | (1ULL << SIGTERM) | (1ULL << SIGHUP));
  ASSERT_EQ_INT(c.nignore, 2);
  ASSERT_EQ_STR(c.ignore_comms[1], "b");
  ASSERT_EQ_INT(c.report_exit_codes, 0);
  ASSERT_EQ_INT(c.nfiles, 2);
  ASSERT_EQ_STR(c.files[1], "/var/log/secure");
  ASSERT_EQ_INT(c.files_from_start, 1);
  ASSERT_EQ_STR(c.pstore_dir, "/p");
  ASSERT_EQ_U64(c.limits.dedup_window_ns, 600 * SEC);
  ASSERT_EQ_INT(c.limits.rate_per_minute, 5);
  ASSERT_EQ_U64(c.limits.summary_interval_ns, 30 * SEC);
  return 0;
}

TEST_IMPL(probe_config_errors_name_file_and_line) {
  static const struct {
    const char *yml, *expect;
  } cases[] = {
      {"rules:\n  segfalt: true\n", "t.yml:2: unknown key 'rules.segfalt'"},
      {"limits:\n  dedup_window: soon\n", "t.yml:2: limits.dedup_window: expected a duration"},
      {"process:\n  report_signals: [SIGNOPE]\n", "t.yml:2: process.report_signals: unknown signal 'SIGNOPE'"},
      {"process:\n  ignore_comms: [a-very-long-process-name]\n", "t.yml:2: process.ignore_comms[]"},
      {"colour: red\n", "t.yml:1: unknown key 'colour'"},
      {"- a\n", "t.yml:1: expected a mapping at the top level"},
      {"output: [\n", "t.yml:"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    probe_config c;
    probe_config_default(&c);
    char err[512] = "";
    ASSERT_EQ_INT(probe_config_parse(&c, "t.yml", cases[i].yml, strlen(cases[i].yml), err, sizeof err), -1);
    if (strncmp(err, cases[i].expect, strlen(cases[i].expect)) != 0) {
      fprintf(stderr, "case %zu: got '%s', want prefix '%s'\n", i, err, cases[i].expect);
      ASSERT(0);
    }
  }
  return 0;
}

/* ---- JSON shapes -------------------------------------------------------------------------- */

static const json_value *parse(arena *a, buf *b) {
  json_error e;
  const json_value *v = json_parse(a, b->data, b->len, 0, &e);
  if (!v) fprintf(stderr, "not JSON (%s): %s\n", e.message, b->data);
  return v;
}

TEST_IMPL(probe_event_writes_eventd_shape_with_invalid_utf8_repaired) {
  probe_host h;
  memset(&h, 0, sizeof h);
  snprintf(h.name, sizeof h.name, "web1");
  snprintf(h.id, sizeof h.id, "3c4562092d9e4644b08905a2eaefa138");
  snprintf(h.kernel, sizeof h.kernel, "6.1.0");
  probe_event ev;
  probe_event_init(&ev, "process.segfault", PROBE_SEV_ERROR, "kmsg.segfault", "kmsg");
  ev.time_ns = 1700000000123456789LL;
  probe_event_set_id(&ev, "kmsg:boot:7");
  probe_event_set_int(&ev, "pid", 42);
  probe_event_set_str(&ev, "comm", "bad\xff\xfe\"q", 7);
  probe_event_set_null(&ev, "module");
  probe_event_set_message(&ev, "line\x01 \xc3\xa9", 9);
  buf b = BUF_INIT;
  ASSERT_EQ_INT(probe_event_write_eventd(&ev, &h, &b), 0);
  arena a;
  arena_init(&a, 0);
  const json_value *v = parse(&a, &b);
  ASSERT(v != NULL);
  ASSERT_EQ_STR(json_get(v, "id")->s, "kmsg:boot:7");
  ASSERT_EQ_STR(json_get(v, "time")->s, "2023-11-14T22:13:20.123456789Z");
  ASSERT_EQ_STR(json_get(v, "stream")->s, "host");
  ASSERT_EQ_STR(json_get(v, "source")->s, "web1");
  ASSERT_EQ_STR(json_get(v, "severity")->s, "ERROR");
  ASSERT_EQ_STR(json_get(json_get(v, "labels"), "rule")->s, "kmsg.segfault");
  ASSERT_EQ_STR(json_get(json_get(v, "resource"), "host.id")->s, "3c4562092d9e4644b08905a2eaefa138");
  const json_value *d = json_get(v, "data");
  ASSERT_EQ_STR(json_get(d, "comm")->s, "bad\xEF\xBF\xBD\xEF\xBF\xBD\"q");
  ASSERT(json_get(d, "module")->type == JSON_NULL);
  ASSERT_EQ_STR(json_get(v, "message")->s, "line\x01 \xc3\xa9");
  arena_free(&a);
  buf_free(&b);
  probe_event_free(&ev);
  return 0;
}

TEST_IMPL(probe_event_writes_gala_gopher_kafka_shape) {
  probe_host h;
  memset(&h, 0, sizeof h);
  snprintf(h.name, sizeof h.name, "hh131");
  snprintf(h.id, sizeof h.id, "3c45");
  snprintf(h.ip, sizeof h.ip, "10.0.0.5");
  probe_event ev;
  probe_event_init(&ev, "process.oom_kill", PROBE_SEV_ERROR, "kmsg.oom_kill", "kmsg");
  ev.time_ns = 1640593945000000000LL;
  probe_event_set_int(&ev, "pid", 4123);
  probe_event_set_cstr(&ev, "comm", "stress");
  probe_event_set_message(&ev, "Out of memory: Killed process 4123 (stress)", 43);
  buf b = BUF_INIT;
  ASSERT_EQ_INT(probe_event_write_gala(&ev, &h, &b), 0);
  arena a;
  arena_init(&a, 0);
  const json_value *v = parse(&a, &b);
  ASSERT(v != NULL);
  int64_t ts;
  ASSERT_EQ_INT(json_as_int64(json_get(v, "Timestamp"), &ts), 0);
  ASSERT_EQ_U64(ts, 1640593945000LL);
  ASSERT_EQ_STR(json_get(v, "event_id")->s, "1640593945000_3c45-10.0.0.5_proc_4123");
  const json_value *at = json_get(v, "Attributes");
  ASSERT_EQ_STR(json_get(at, "entity_id")->s, "3c45-10.0.0.5_proc_4123");
  ASSERT_EQ_STR(json_get(at, "event_type")->s, "sys");
  const json_value *r = json_get(v, "Resource");
  ASSERT_EQ_STR(json_get(r, "metric")->s, "gala_gopher_proc_process_oom_kill");
  ASSERT_EQ_STR(json_get(json_get(r, "labels"), "Host")->s, "3c45-10.0.0.5");
  ASSERT_EQ_STR(json_get(json_get(r, "labels"), "PID")->s, "4123");
  ASSERT_EQ_STR(json_get(json_get(r, "labels"), "COMM")->s, "stress");
  ASSERT_EQ_STR(json_get(v, "SeverityText")->s, "ERROR");
  int64_t sn;
  ASSERT_EQ_INT(json_as_int64(json_get(v, "SeverityNumber"), &sn), 0);
  ASSERT_EQ_INT(sn, 17);
  const char *body = json_get(v, "Body")->s;
  ASSERT(strstr(body, " ERROR Entity(3c45-10.0.0.5_proc_4123) Out of memory: Killed process 4123") != NULL);
  /* member order as gala-gopher writes it */
  const char *order[] = {"Timestamp", "event_id", "Attributes", "Resource", "SeverityText", "SeverityNumber", "Body"};
  const json_value *m = v->child;
  for (size_t i = 0; i < 7; i++, m = m->next) ASSERT_EQ_STR(m->key, order[i]);
  arena_free(&a);
  buf_free(&b);
  probe_event_free(&ev);
  return 0;
}

/* ---- tailer ------------------------------------------------------------------------------ */

typedef struct lines {
  char text[16][128];
  int n;
} lines;

static void collect_line(void *ud, const char *t, size_t n) {
  lines *l = ud;
  if (l->n < 16) {
    snprintf(l->text[l->n], sizeof l->text[0], "%.*s", (int)n, t);
    l->n++;
  }
}

static void append(const char *path, const char *s) {
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  ASSERT(fd >= 0);
  ASSERT(write(fd, s, strlen(s)) == (ssize_t)strlen(s));
  close(fd);
}

TEST_IMPL(probe_tail_follows_rotation_truncation_and_resumes) {
  char *dir = test_tmpdir();
  char path[512], rotated[512];
  snprintf(path, sizeof path, "%s/log", dir);
  snprintf(rotated, sizeof rotated, "%s/log.1", dir);
  append(path, "old line\n");
  tailer *t = tail_open(path, 0, dir); /* from the end */
  lines got = {.n = 0};
  ASSERT_EQ_INT(tail_poll(t, collect_line, &got), 0);
  append(path, "one\ntw");
  ASSERT_EQ_INT(tail_poll(t, collect_line, &got), 1);
  append(path, "o\n");
  ASSERT_EQ_INT(tail_poll(t, collect_line, &got), 1);
  ASSERT_EQ_STR(got.text[0], "one");
  ASSERT_EQ_STR(got.text[1], "two");
  /* rotation: lines written to the old file before the rename are still read */
  append(path, "last of old\n");
  ASSERT_EQ_INT(rename(path, rotated), 0);
  append(path, "first of new\n");
  ASSERT_EQ_INT(tail_poll(t, collect_line, &got), 2);
  ASSERT_EQ_STR(got.text[2], "last of old");
  ASSERT_EQ_STR(got.text[3], "first of new");
  ASSERT_EQ_U64(tail_rotations(t), 1);
  /* truncation */
  ASSERT_EQ_INT(truncate(path, 0), 0);
  append(path, "x\n");
  ASSERT_EQ_INT(tail_poll(t, collect_line, &got), 1);
  ASSERT_EQ_STR(got.text[4], "x");
  ASSERT_EQ_U64(tail_truncations(t), 1);
  char err[256];
  ASSERT_EQ_INT(tail_commit(t, err, sizeof err), 0);
  tail_close(t);
  /* resume: only what was appended since the commit */
  append(path, "after restart\n");
  t = tail_open(path, 0, dir);
  lines again = {.n = 0};
  ASSERT_EQ_INT(tail_poll(t, collect_line, &again), 1);
  ASSERT_EQ_STR(again.text[0], "after restart");
  tail_close(t);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

/* ---- kmsg replay source -------------------------------------------------------------- */

typedef struct kmsg_seen {
  char text[8][160];
  uint64_t seq[8];
  int n;
  uint64_t gap_after, gap_next;
  int gaps;
} kmsg_seen;

static void seen_record(void *ud, const kmsg_record *r, int64_t t) {
  kmsg_seen *s = ud;
  (void)t;
  if (s->n < 8) {
    snprintf(s->text[s->n], sizeof s->text[0], "%s", r->text);
    s->seq[s->n++] = r->seq;
  }
}

static void seen_gap(void *ud, uint64_t after, uint64_t next, const char *reason) {
  kmsg_seen *s = ud;
  s->gap_after = after;
  s->gap_next = next;
  s->gaps++;
  ASSERT_EQ_STR(reason, "sequence gap");
}

TEST_IMPL(probe_kmsg_replay_joins_fragments_reports_gaps_skips_bad_lines) {
  char *dir = test_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/k", dir);
  append(path, "# comment\n"
               "6,10,100,-;first\n SUBSYSTEM=pci\n"
               "\n"
               "6,11,200,c;nginx[2211]: segfault at 0 ip 00007f3a4b8e3a3c sp 00007fff9a6b7e18 error 4\n"
               "6,12,201,+; in libc-2.17.so[7f3a4b7a9000+1b6000]\n"
               "not a record\n"
               "6,15,300,-;after the gap\n");
  char err[256];
  kmsg_source *k = kmsg_open(path, 1, NULL, "boot", 1, err, sizeof err);
  ASSERT(k != NULL);
  kmsg_seen s;
  memset(&s, 0, sizeof s);
  kmsg_callbacks cb = {seen_record, seen_gap, &s};
  ASSERT_EQ_INT(kmsg_read(k, &cb, 0, err, sizeof err), 1);
  ASSERT_EQ_INT(s.n, 3);
  ASSERT_EQ_STR(s.text[0], "first");
  ASSERT_EQ_STR(s.text[1], "nginx[2211]: segfault at 0 ip 00007f3a4b8e3a3c sp 00007fff9a6b7e18 error 4 in "
                           "libc-2.17.so[7f3a4b7a9000+1b6000]");
  ASSERT_EQ_U64(s.seq[1], 11);
  ASSERT_EQ_STR(s.text[2], "after the gap");
  ASSERT_EQ_INT(s.gaps, 1);
  ASSERT_EQ_U64(s.gap_after, 12);
  ASSERT_EQ_U64(s.gap_next, 15);
  kmsg_close(k);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

/* ---- the shipped example configuration ----------------------------------------------- */

TEST_IMPL(probe_config_example_file_loads_and_states_the_defaults) {
  char root[4096];
  snprintf(root, sizeof root, "%s", __FILE__);
  for (int i = 0; i < 3; i++) {
    char *slash = strrchr(root, '/');
    ASSERT(slash);
    *slash = '\0';
  }
  char path[4200];
  snprintf(path, sizeof path, "%s/examples/probe/probe.yml", root);
  probe_config ex, def;
  probe_config_default(&ex);
  probe_config_default(&def);
  char err[512];
  int rc = probe_config_load(&ex, path, err, sizeof err);
  if (rc != 0) fprintf(stderr, "%s\n", err);
  ASSERT_EQ_INT(rc, 0);
  /* the keys marked "example" differ; everything else is the default */
  ASSERT_EQ_STR(ex.output_url, "http://127.0.0.1:8910");
  ASSERT_EQ_INT(ex.nfiles, 1);
  ASSERT_EQ_STR(ex.state_dir, "/var/lib/eventd-probe");
  memset(ex.output_url, 0, sizeof ex.output_url);
  memset(def.output_url, 0, sizeof def.output_url);
  ex.nfiles = def.nfiles = 0;
  memset(ex.files, 0, sizeof ex.files);
  memset(def.files, 0, sizeof def.files);
  memset(ex.state_dir, 0, sizeof ex.state_dir);
  memset(def.state_dir, 0, sizeof def.state_dir);
  ASSERT(memcmp(&ex.krules, &def.krules, sizeof ex.krules) == 0);
  ASSERT(memcmp(ex.ignore_comms, def.ignore_comms, sizeof ex.ignore_comms) == 0);
  for (size_t i = 0; i < sizeof ex; i++)
    if (((unsigned char *)&ex)[i] != ((unsigned char *)&def)[i]) {
      fprintf(stderr, "differs at byte %zu of %zu\n", i, sizeof ex);
      ASSERT(0);
    }
  return 0;
}
