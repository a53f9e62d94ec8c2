/* Helpers for the destination unit tests (test-dest-*.c): a fake output_env that records
 * what a destination reports, and a set of encoded events to deliver. */
#ifndef EVD_TEST_DEST_UTIL_H
#define EVD_TEST_DEST_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/event.h"
#include "core/record.h"
#include "outputs/output.h"
#include "test.h"

typedef struct fake_env {
  output_env env;
  int attempts;
  output_attempt last;
  char last_response[600];
  char last_error[256];
  char last_event_id[128];
  int stop; /* what env.stopping answers */
} fake_env;

static inline void fake_env_record(void *arg, const output_attempt *a) {
  fake_env *fe = arg;
  fe->attempts++;
  fe->last = *a;
  snprintf(fe->last_response, sizeof fe->last_response, "%.*s", (int)a->response_len,
           a->response ? a->response : "");
  snprintf(fe->last_error, sizeof fe->last_error, "%s", a->error ? a->error : "");
  snprintf(fe->last_event_id, sizeof fe->last_event_id, "%s", a->event_id ? a->event_id : "");
  fe->last.response = NULL;
  fe->last.error = NULL;
  fe->last.event_id = NULL;
}

static inline void fake_env_log(void *arg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void fake_env_log(void *arg, int level, const char *fmt, ...) {
  (void)arg;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "dest log %d: ", level);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static inline int fake_env_stopping(void *arg) { return __atomic_load_n(&((fake_env *)arg)->stop, __ATOMIC_ACQUIRE); }

static inline void fake_env_init(fake_env *fe) {
  memset(fe, 0, sizeof *fe);
  fe->env.name = "test";
  fe->env.record_attempt = fake_env_record;
  fe->env.env_arg = fe;
  fe->env.log = fake_env_log;
  fe->env.stopping = fake_env_stopping;
}

#define DEST_MSGS_MAX 64
/* n events of type `type` (key "app.<type>", tag "tag<i>", message "m<i>"), encoded as
 * stored records with ids 01J000000000000000000000<i>, seq 100 + i. */
typedef struct dest_msgs {
  output_msg msgs[DEST_MSGS_MAX];
  buf payloads[DEST_MSGS_MAX];
  char ids[DEST_MSGS_MAX][ULID_LEN + 1];
  char jsons[DEST_MSGS_MAX][4096];
  size_t n;
} dest_msgs;

static inline void dest_msgs_init_json(dest_msgs *m, size_t n, const char *fmt_with_type_and_i,
                                       const char *type) {
  ASSERT(n <= DEST_MSGS_MAX);
  memset(m, 0, sizeof *m);
  m->n = n;
  evd_limits lim;
  evd_limits_default(&lim);
  for (size_t i = 0; i < n; i++) {
    arena a;
    arena_init(&a, 0);
    char text[1024];
    snprintf(text, sizeof text, fmt_with_type_and_i, type, (int)i, (int)i);
    json_error je;
    json_value *obj = json_parse(&a, text, strlen(text), 0, &je);
    ASSERT(obj != NULL);
    event ev;
    evd_field_error fe;
    if (event_from_json(obj, &lim, 1700000000000000000LL + (int64_t)i, &a, &ev, &fe) != 0)
      TEST_FAIL_("event %s: %s", fe.field, fe.reason);
    buf_init(&m->payloads[i]);
    ASSERT(record_encode(&ev, &m->payloads[i]) == 0);
    snprintf(m->ids[i], sizeof m->ids[i], "01J00000000000000000000%03d", (int)i);
    record_patch_id(m->payloads[i].data, m->payloads[i].len, m->ids[i]);
    m->msgs[i].seq = 100 + i;
    ASSERT(record_decode(m->payloads[i].data, m->payloads[i].len, &m->msgs[i].rv) == 0);
    ASSERT(m->msgs[i].rv.json.n < sizeof m->jsons[i]);
    memcpy(m->jsons[i], m->msgs[i].rv.json.p, m->msgs[i].rv.json.n);
    arena_free(&a);
  }
}

static inline void dest_msgs_init(dest_msgs *m, size_t n, const char *type) {
  dest_msgs_init_json(m, n,
                      "{\"type\":\"%s\",\"stream\":\"app\",\"tag\":\"tag%d\",\"message\":\"m%d\"}",
                      type);
}

static inline void dest_msgs_free(dest_msgs *m) {
  for (size_t i = 0; i < m->n; i++) buf_free(&m->payloads[i]);
}

#endif
