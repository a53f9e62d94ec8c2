/* lines: the JSON lines input (lines.listen; docs/inputs.md "JSON lines"): logstash-style
 * json_lines over TCP (one compact JSON object per LF-terminated line) and UDP datagrams
 * (one or more lines each). With lines.format event (default) every line is one event in the
 * POST /v1/events format, through ingest_add_json; with lines.format record a line is a
 * free-form document (a logstash event: @timestamp, message, host, level, ...) mapped like a
 * forward record (forward_decode.h; time from @timestamp/timestamp/time, stream
 * lines.stream unless the document names one). The socket side (batching, limits,
 * backpressure) is line_server.c. */
#include "inputs/lines/lines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/json.h"
#include "inputs/forward/forward_decode.h"
#include "inputs/lines/line_server.h"
#include "server/server.h"

typedef struct lines_input {
  line_server *ls;
  server *s;
  arena scratch; /* one line's JSON tree */
  int record;    /* lines.format record: free-form documents mapped like forward records */
  fwd_mapping map;
  const char *stream; /* lines.stream (the "tag" of record-format lines, rule stream) */
} lines_input;

void lines_add_record(ingest_batch *b, arena *a, const evd_limits *lim, const char *stream,
                      const char *p, size_t n, size_t line) {
  static const fwd_mapping MAP = {.tag_rule = FWD_TAG_STREAM, .default_type = "log", .record_time = 1};
  arena_reset(a);
  char reason[200];
  if (n > lim->event_max_bytes) {
    snprintf(reason, sizeof reason, "line is %zu bytes; the limit is %zu (limits.event_max_bytes)",
             n, lim->event_max_bytes);
    ingest_add_failure(b, line, INGEST_ERR_TOO_LARGE, "", reason);
    return;
  }
  json_error je;
  json_value *v = json_parse(a, p, n, lim->max_depth, &je);
  if (!v) {
    snprintf(reason, sizeof reason, "invalid JSON: %s at byte %zu", je.message, je.offset);
    ingest_add_failure(b, line, INGEST_ERR_INVALID, "", reason);
    return;
  }
  event ev;
  evd_field_error fe;
  if (fwd_object_to_event(&MAP, stream, strlen(stream), 0, v, lim, a, &ev, &fe) != 0) {
    ingest_add_failure(b, line, fe.kind == EVD_ERR_LIMIT ? INGEST_ERR_TOO_LARGE : INGEST_ERR_INVALID,
                       fe.field, fe.reason);
    return;
  }
  ingest_add_event(b, &ev); /* errors are recorded in the batch */
}

void lines_add_line(ingest_batch *b, arena *a, const evd_limits *lim, const char *p, size_t n,
                    size_t line) {
  arena_reset(a);
  json_error je;
  json_value *v = json_parse(a, p, n, lim->max_depth, &je);
  if (!v) {
    if (strcmp(je.message, "out of memory") == 0) {
      ingest_add_failure(b, line, INGEST_ERR_INVALID, "", "out of memory parsing the line");
      return;
    }
    char reason[200];
    snprintf(reason, sizeof reason, "invalid JSON: %s at byte %zu", je.message, je.offset);
    ingest_add_failure(b, line, INGEST_ERR_INVALID, "", reason);
    return;
  }
  ingest_add_json(b, v, n, line); /* errors are recorded in the batch */
}

static void lines_add(void *ctx, ingest_batch *b, const char *p, size_t n, size_t line,
                      const char *peer) {
  (void)peer;
  lines_input *li = ctx;
  if (li->record) lines_add_record(b, &li->scratch, &li->s->cfg.limits, li->stream, p, n, line);
  else lines_add_line(b, &li->scratch, &li->s->cfg.limits, p, n, line);
}

static const line_input_ops LINES_OPS = {
    .name = "lines",
    .setting = "lines.listen",
    .input = INGEST_INPUT_LINES,
    .frame = ls_frame_lf,
    .add = lines_add,
    .udp_split_lines = 1,
};

static void lines_free(void *state) {
  lines_input *li = state;
  if (!li) return;
  line_server_free(li->ls);
  arena_free(&li->scratch);
  free(li);
}

static int lines_start(server *s, void **state, char *err, size_t errlen) {
  *state = NULL;
  const char *listen = s->cfg.lines_listen;
  if (!listen || strcmp(listen, "off") == 0) return 0;
  lines_input *li = calloc(1, sizeof *li);
  if (!li) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  li->s = s;
  arena_init(&li->scratch, 64 * 1024);
  const char *fmt = s->cfg.lines_format ? s->cfg.lines_format : "event";
  if (strcmp(fmt, "record") == 0) li->record = 1;
  else if (strcmp(fmt, "event") != 0) {
    snprintf(err, errlen, "lines.format: '%s' is not event or record", fmt);
    lines_free(li);
    return -1;
  }
  li->stream = s->cfg.lines_stream ? s->cfg.lines_stream : "lines";
  li->ls = line_server_start(s, &LINES_OPS, li, listen, (size_t)s->cfg.lines_max_line_bytes,
                             s->cfg.lines_max_connections, "lines.tls",
                             s->cfg.lines_tls_cert, s->cfg.lines_tls_key, err, errlen);
  if (!li->ls) {
    lines_free(li);
    return -1;
  }
  *state = li;
  return 0;
}

static void lines_announce(void *state) { line_server_announce(((lines_input *)state)->ls); }
static void lines_stop(void *state) { line_server_stop(((lines_input *)state)->ls); }

const input_plugin lines_input_plugin = {
    .name = "lines",
    .start = lines_start,
    .announce = lines_announce,
    .stop = lines_stop,
    .free = lines_free,
};
