/* syslog: see syslog.h. */
#include "inputs/syslog/syslog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "inputs/lines/line_server.h"
#include "inputs/syslog/syslog_parse.h"
#include "server/ingest.h"
#include "server/server.h"

typedef struct syslog_input {
  line_server *ls;
  server *s;
  syslog_defaults def;
  arena scratch; /* one message's event */
} syslog_input;

/* One message -> one event (or one failure) in b. */
static void syslog_add(void *ctx, ingest_batch *b, const char *p, size_t n, size_t line,
                       const char *peer) {
  (void)peer;
  syslog_input *si = ctx;
  arena_reset(&si->scratch);
  event ev;
  evd_field_error fe;
  if (syslog_to_event(p, n, &si->def, time_now_ns(), &si->scratch, &ev, &fe) != 0) {
    ingest_add_failure(b, line, fe.kind == EVD_ERR_LIMIT ? INGEST_ERR_TOO_LARGE : INGEST_ERR_INVALID,
                       fe.field, fe.reason);
    return;
  }
  ingest_add_event(b, &ev); /* errors are recorded in the batch */
}

static const line_input_ops SYSLOG_OPS = {
    .name = "syslog",
    .setting = "syslog.listen",
    .input = INGEST_INPUT_SYSLOG,
    .frame = syslog_frame,
    .add = syslog_add,
    .udp_split_lines = 0,
};

static void syslog_free(void *state) {
  syslog_input *si = state;
  if (!si) return;
  line_server_free(si->ls);
  arena_free(&si->scratch);
  free(si);
}

static int syslog_start(server *s, void **state, char *err, size_t errlen) {
  *state = NULL;
  const char *listen = s->cfg.syslog_listen;
  if (!listen || strcmp(listen, "off") == 0) return 0;
  syslog_input *si = calloc(1, sizeof *si);
  if (!si) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  si->s = s;
  si->def.stream = s->cfg.syslog_default_stream ? s->cfg.syslog_default_stream : "syslog";
  si->def.type = s->cfg.syslog_default_type ? s->cfg.syslog_default_type : "syslog.message";
  arena_init(&si->scratch, 64 * 1024);
  si->ls = line_server_start(s, &SYSLOG_OPS, si, listen, (size_t)s->cfg.syslog_max_message_bytes,
                             s->cfg.syslog_max_connections, "syslog.tls",
                             s->cfg.syslog_tls_cert, s->cfg.syslog_tls_key, err, errlen);
  if (!si->ls) {
    syslog_free(si);
    return -1;
  }
  *state = si;
  return 0;
}

static void syslog_announce(void *state) { line_server_announce(((syslog_input *)state)->ls); }
static void syslog_stop(void *state) { line_server_stop(((syslog_input *)state)->ls); }

const input_plugin syslog_input_plugin = {
    .name = "syslog",
    .start = syslog_start,
    .announce = syslog_announce,
    .stop = syslog_stop,
    .free = syslog_free,
};
