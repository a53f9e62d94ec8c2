/* outputs_test: the test delivery of an output (POST /v1/outputs/{name}/test) — one
 * synthetic event ({"type":"eventd.test","stream":"eventd"}) delivered to a fresh instance
 * of the output's destination (open, deliver once, close), outside the output's cursor. Its
 * attempt goes to the output's delivery history.
 *
 * outputs_test_start runs it on a thread of its own so the HTTP loop never waits for a
 * destination; the set counts these threads, and outputs_stop tells them to stop
 * (output_env.stopping) and waits for them, bounded. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "outputs/dispatcher.h"

static void test_env_log(void *arg, int level, const char *fmt, ...) {
  output *o = arg;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_msg(o->set->log, level, "output %s (test): %s", OUTPUT_LABEL(o), msg);
}
/* A test delivery's attempts go to the output's history too. */
static void test_env_record(void *arg, const output_attempt *a) {
  output *o = arg;
  metadb_history_queue(o->set->db, o->key, a, time_now_ns());
}
static int test_env_stopping(void *arg) {
  output *o = arg;
  return __atomic_load_n(&o->set->tests_stop, __ATOMIC_ACQUIRE);
}

/* A private copy of the output `name` for a test delivery, or NULL with rc/err. */
static output *test_prepare(output_set *set, const char *name, int *rc, char *err,
                            size_t errlen) {
  pthread_mutex_lock(&set->mu);
  output *cur = output_find(set, name);
  output *o = cur ? output_new(cur->spec_json, cur->spec_len, &set->opt, err, errlen) : NULL;
  pthread_mutex_unlock(&set->mu);
  if (!cur) {
    snprintf(err, errlen, "no output named '%s'", name);
    *rc = -ENOENT;
    return NULL;
  }
  if (!o) {
    *rc = -EIO;
    return NULL;
  }
  o->set = set;
  return o;
}

/* Deliver the synthetic event through o's destination and append the result JSON to out.
 * Frees o. */
static void test_run(output *o, buf *out) {
  output_env env = {.name = o->sp.name, .env_arg = o, .log = test_env_log,
                    .stopping = test_env_stopping, .record_attempt = test_env_record,
                    .guard = output_guard_of(o)};
  /* The synthetic event, in the canonical form. */
  int64_t now = time_now_ns();
  char t[TIME_RFC3339_LEN + 1];
  time_format_rfc3339(now, t);
  char id[64];
  snprintf(id, sizeof id, "eventd-test-%lld", (long long)now);
  buf json = BUF_INIT;
  buf_printf(&json, "{\"id\":\"%s\",\"time\":\"%s\",\"observed_time\":\"%s\",\"tenant\":\"default\","
             "\"stream\":\"eventd\",\"type\":\"eventd.test\",\"key\":\"eventd.eventd.test\","
             "\"severity\":\"INFO\",\"severity_number\":9,\"source\":\"eventd\","
             "\"message\":\"test delivery from eventd to output %s\"}", id, t, t, o->sp.name);
  output_msg m;
  memset(&m, 0, sizeof m);
  m.seq = 0;
  m.rv.severity = 9;
  m.rv.time_ns = m.rv.observed_ns = now;
  m.rv.id = (strv){id, strlen(id)};
  m.rv.f[EVF_TENANT] = (strv){"default", 7};
  m.rv.f[EVF_STREAM] = (strv){"eventd", 6};
  m.rv.f[EVF_TYPE] = (strv){"eventd.test", 11};
  m.rv.f[EVF_KEY] = (strv){"eventd.eventd.test", 18};
  m.rv.f[EVF_SOURCE] = (strv){"eventd", 6};
  m.rv.json = (strv){json.data, json.len};
  void *state = NULL;
  char oerr[512] = "";
  int64_t t0 = time_mono_ns();
  output_result res;
  memset(&res, 0, sizeof res);
  int opened = o->sp.ops->open(o->root, &env, &state, oerr, sizeof oerr) == 0;
  if (opened) {
    o->sp.ops->deliver(state, &m, 1, &res);
    o->sp.ops->close(state);
  }
  double ms = (double)(time_mono_ns() - t0) / 1e6;
  buf_puts(out, "{\"output\":");
  json_write_string(out, o->sp.name, strlen(o->sp.name));
  buf_puts(out, ",\"event_id\":");
  json_write_string(out, id, strlen(id));
  if (!opened) {
    buf_puts(out, ",\"ok\":false,\"error\":");
    json_write_string(out, oerr, strlen(oerr));
  } else {
    buf_printf(out, ",\"ok\":%s,\"code\":%d,\"error\":",
               res.status == OUTPUT_OK ? "true" : "false", res.code);
    if (res.status == OUTPUT_OK) buf_puts(out, "null");
    else json_write_string(out, res.error, strnlen(res.error, sizeof res.error));
  }
  buf_printf(out, ",\"latency_ms\":%.3f}", ms);
  buf_free(&json);
  output_free(o);
}

int outputs_test(output_set *set, const char *name, buf *out, char *err, size_t errlen) {
  int rc = 0;
  output *o = test_prepare(set, name, &rc, err, errlen);
  if (!o) return rc;
  test_run(o, out);
  return 0;
}

typedef struct test_job {
  output_set *set;
  output *o;
  outputs_test_done_fn done;
  void *arg;
} test_job;

static void *test_thread(void *arg) {
  test_job *j = arg;
  output_set *set = j->set;
  buf out = BUF_INIT;
  test_run(j->o, &out);
  pthread_mutex_lock(&set->tmu);
  j->done(j->arg, &out, set->tests_stop);
  set->tests_live--;
  pthread_cond_broadcast(&set->tcv);
  pthread_mutex_unlock(&set->tmu);
  buf_free(&out);
  free(j);
  return NULL;
}

int outputs_test_start(output_set *set, const char *name, outputs_test_done_fn done, void *arg,
                       char *err, size_t errlen) {
  int rc = 0;
  output *o = test_prepare(set, name, &rc, err, errlen);
  if (!o) return rc;
  test_job *j = malloc(sizeof *j);
  if (!j) {
    output_free(o);
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  *j = (test_job){set, o, done, arg};
  pthread_mutex_lock(&set->tmu);
  if (set->tests_stop) {
    pthread_mutex_unlock(&set->tmu);
    output_free(o);
    free(j);
    snprintf(err, errlen, "eventd is stopping");
    return -ESHUTDOWN;
  }
  set->tests_live++;
  pthread_mutex_unlock(&set->tmu);
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_t th;
  int e = pthread_create(&th, &at, test_thread, j);
  pthread_attr_destroy(&at);
  if (e != 0) {
    pthread_mutex_lock(&set->tmu);
    set->tests_live--;
    pthread_mutex_unlock(&set->tmu);
    output_free(o);
    free(j);
    snprintf(err, errlen, "cannot start a thread: %s", strerror(e));
    return -EIO;
  }
  return 0;
}

size_t outputs_tests_stop(output_set *set, int64_t deadline_ns) {
  pthread_mutex_lock(&set->tmu);
  __atomic_store_n(&set->tests_stop, 1, __ATOMIC_RELEASE);
  while (set->tests_live > 0 && time_mono_ns() < deadline_ns) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t t = (int64_t)ts.tv_nsec + 10 * NS_PER_MS;
    ts.tv_sec += (time_t)(t / NS_PER_SEC);
    ts.tv_nsec = (long)(t % NS_PER_SEC);
    pthread_cond_timedwait(&set->tcv, &set->tmu, &ts);
  }
  size_t left = set->tests_live;
  pthread_mutex_unlock(&set->tmu);
  return left;
}
