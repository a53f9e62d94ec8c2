/* otlp_http: the HTTP glue of the OTLP/HTTP logs input (otlp.h). Decoding is in
 * otlp_json.c / otlp_proto.c, the record mapping in otlp_decode.c.
 *
 * Statuses (OTLP/HTTP): 200 with an ExportLogsServiceResponse (partialSuccess when some
 * records were refused); 400 for a body that does not decode or whose every record was
 * refused; 413 body too large; 415 for a media type other than application/json or
 * application/x-protobuf (or an unknown Content-Encoding); 429 (store queue full) and 503
 * (disk full, store failed, shutting down, out of memory) with Retry-After where a retry
 * helps. Error bodies are google.rpc.Status {code, message} in the request's encoding. */
#include "inputs/otlp/otlp.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inputs/http_input.h"
#include "inputs/otlp/otlp_decode.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "server/server.h"

#define OTLP_MAX_REASONS 5 /* refusal reasons quoted in errorMessage */

typedef struct otlp_state {
  otlp_opts opts;
  char default_type[256];
  char stream_attribute[256];
} otlp_state;

/* ---- replies ----------------------------------------------------------------------------- */

static void send_body(server *s, struct evhttp_request *req, int code, int proto,
                      const void *body, size_t len) {
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  evhttp_add_header(h, "Content-Type", proto ? "application/x-protobuf" : "application/json");
  if (s->stopping) evhttp_add_header(h, "Connection", "close");
  if (len) evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
  metrics_count_request(&s->m, ROUTE_OTLP_LOGS, http_method_of(req), code);
  evhttp_send_reply(req, code, NULL, NULL);
}

static int put_varint(buf *b, uint64_t v) {
  char t[10];
  size_t n = 0;
  do {
    t[n++] = (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  return buf_append(b, t, n);
}

/* google.rpc.Status {code (1), message (2)} for an HTTP status. */
static void reply_status(server *s, struct evhttp_request *req, int code, int proto, const char *msg) {
  int grpc = code == 429 ? 8 : code >= 500 ? 14 : 3; /* RESOURCE_EXHAUSTED, UNAVAILABLE, INVALID_ARGUMENT */
  buf b = BUF_INIT;
  int rc;
  if (proto) {
    size_t n = strlen(msg);
    rc = buf_putc(&b, 0x08) | put_varint(&b, (uint64_t)grpc) | buf_putc(&b, 0x12) |
         put_varint(&b, n) | buf_append(&b, msg, n);
  } else {
    rc = buf_printf(&b, "{\"code\":%d,\"message\":", grpc) | json_write_string(&b, msg, strlen(msg)) |
         buf_putc(&b, '}');
  }
  if (rc) send_body(s, req, 503, 0, "{\"code\":14,\"message\":\"out of memory\"}", 38);
  else send_body(s, req, code, proto, b.data, b.len);
  buf_free(&b);
}

/* ---- one request ------------------------------------------------------------------------- */

typedef struct otlp_request {
  http_pending pend;
  server *s;
  ingest_batch *b;
  int proto;
  int oom;
  size_t records, rejected;
  buf message; /* errorMessage: the first reasons */
} otlp_request;

static void otlp_request_free(otlp_request *r) {
  buf_free(&r->message);
  free(r);
}

/* otlp_sink: one record to the ingest path. */
static int on_record(void *arg, size_t index, event *ev, const char *reason) {
  otlp_request *r = arg;
  r->records++;
  char why[448];
  if (ev) {
    int rc = ingest_add_event(r->b, ev);
    if (rc == -ENOMEM) return r->oom = 1, -1;
    if (rc == 0) return 0;
    const ingest_error *e = ingest_last_error(r->b);
    if (e && e->field[0]) snprintf(why, sizeof why, "%s: %s", e->field, e->reason);
    else snprintf(why, sizeof why, "%s", e ? e->reason : "refused");
    reason = why;
  } else {
    ingest_add_failure(r->b, 0, INGEST_ERR_INVALID, "", reason);
  }
  if (r->rejected++ < OTLP_MAX_REASONS) {
    if (r->message.len && buf_puts(&r->message, "; ") != 0) return r->oom = 1, -1;
    if (buf_printf(&r->message, "log record %zu: %s", index, reason) != 0) return r->oom = 1, -1;
  }
  return 0;
}

/* The errorMessage text: "N of M log records rejected: ...". */
static int write_summary(const otlp_request *r, buf *out) {
  int rc = buf_printf(out, "%zu of %zu log records rejected: ", r->rejected, r->records);
  rc |= buf_append(out, r->message.data ? r->message.data : "", r->message.len);
  if (r->rejected > OTLP_MAX_REASONS)
    rc |= buf_printf(out, "; and %zu more", r->rejected - OTLP_MAX_REASONS);
  return rc;
}

static void reply_success(otlp_request *r, struct evhttp_request *req) {
  server *s = r->s;
  if (r->rejected == 0) {
    if (r->proto) send_body(s, req, 200, 1, "", 0); /* an empty ExportLogsServiceResponse */
    else send_body(s, req, 200, 0, "{}", 2);
    return;
  }
  buf msg = BUF_INIT, out = BUF_INIT;
  int rc = write_summary(r, &msg);
  if (rc == 0 && r->proto) {
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsPartialSuccess ps =
        OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_PARTIAL_SUCCESS__INIT;
    Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse resp =
        OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_RESPONSE__INIT;
    ps.rejected_log_records = (int64_t)r->rejected;
    ps.error_message = msg.data;
    resp.partial_success = &ps;
    size_t n = opentelemetry__proto__collector__logs__v1__export_logs_service_response__get_packed_size(&resp);
    rc = buf_reserve(&out, n + 1);
    if (rc == 0) {
      out.len = opentelemetry__proto__collector__logs__v1__export_logs_service_response__pack(
          &resp, (uint8_t *)out.data);
    }
  } else if (rc == 0) {
    rc = buf_printf(&out, "{\"partialSuccess\":{\"rejectedLogRecords\":\"%zu\",\"errorMessage\":",
                    r->rejected);
    rc |= json_write_string(&out, msg.data, msg.len);
    rc |= buf_puts(&out, "}}");
  }
  if (rc) reply_status(s, req, 503, r->proto, "out of memory building the answer");
  else send_body(s, req, 200, r->proto, out.data, out.len);
  buf_free(&msg);
  buf_free(&out);
}

/* ingest_done_cb */
static void on_otlp_ingested(void *arg, const ingest_result *res) {
  otlp_request *r = arg;
  struct evhttp_request *req = http_pending_take(&r->pend);
  if (!req) {
    otlp_request_free(r);
    return;
  }
  if (res->status != 0) {
    char msg[256];
    int code = http_store_error(req, res->status, 429, msg, sizeof msg);
    reply_status(r->s, req, code, r->proto, msg);
  } else {
    reply_success(r, req);
  }
  otlp_request_free(r);
}

static void handle_logs(otlp_state *st, server *s, struct evhttp_request *req) {
  char mt[128], msg[512];
  http_media_type(evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type"), mt,
                  sizeof mt);
  int proto;
  if (strcmp(mt, "application/json") == 0) proto = 0;
  else if (strcmp(mt, "application/x-protobuf") == 0 || strcmp(mt, "application/protobuf") == 0)
    proto = 1;
  else {
    ingest_count_rejected(s, INGEST_INPUT_OTLP, REJECT_UNSUPPORTED_MEDIA_TYPE, 1);
    char shown[80];
    snprintf(msg, sizeof msg,
             "unsupported content type '%s'; use application/json or application/x-protobuf",
             http_printable(mt, strlen(mt), shown));
    reply_status(s, req, 415, 0, msg);
    return;
  }
  if (s->stopping) {
    ingest_count_rejected(s, INGEST_INPUT_OTLP, REJECT_SHUTTING_DOWN, 1);
    reply_status(s, req, 503, proto, "shutting down");
    return;
  }
  http_body body;
  int brc = http_body_read(req, s->cfg.limits.body_max_bytes, &body, msg, sizeof msg);
  if (brc != HTTP_BODY_OK) {
    int code = brc == HTTP_BODY_TOO_LARGE ? 413 : brc == HTTP_BODY_UNSUPPORTED_ENCODING ? 415
             : brc == HTTP_BODY_NOMEM ? 503 : 400;
    ingest_count_rejected(s, INGEST_INPUT_OTLP,
                          code == 413 ? REJECT_TOO_LARGE : code == 415 ? REJECT_UNSUPPORTED_MEDIA_TYPE
                          : code == 503 ? REJECT_OVERLOADED : REJECT_INVALID, 1);
    reply_status(s, req, code, proto, msg);
    return;
  }
  METRIC_ADD(s->m.ingest_bytes, body.wire_len);
  otlp_request *r = calloc(1, sizeof *r);
  if (!r || !(r->b = ingest_begin(s))) {
    free(r);
    http_body_free(&body);
    reply_status(s, req, 503, proto, "out of memory");
    return;
  }
  r->s = s;
  r->proto = proto;
  ingest_set_input(r->b, INGEST_INPUT_OTLP);
  ingest_set_partial(r->b);
  arena_reset(&s->req_arena);
  int rc = proto ? otlp_decode_proto(&s->req_arena, &st->opts, body.data, body.len, on_record, r,
                                     msg, sizeof msg)
                 : otlp_decode_json(&s->req_arena, &st->opts, body.data, body.len, on_record, r,
                                    msg, sizeof msg);
  arena_reset(&s->req_arena);
  http_body_free(&body);
  if (r->oom || ingest_out_of_memory(r->b) || rc == OTLP_STOPPED) {
    ingest_abort(r->b);
    otlp_request_free(r);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
    reply_status(s, req, 503, proto, "out of memory while decoding the request");
    return;
  }
  if (rc == OTLP_BAD_REQUEST || (r->records && r->rejected == r->records)) {
    buf m = BUF_INIT;
    int wr = rc == OTLP_BAD_REQUEST ? buf_puts(&m, msg) : write_summary(r, &m);
    if (rc == OTLP_BAD_REQUEST && ingest_count(r->b) == 0) ingest_add_failure(r->b, 0, INGEST_ERR_INVALID, "", msg);
    ingest_abort(r->b);
    reply_status(s, req, 400, proto, wr ? "invalid request" : m.data);
    buf_free(&m);
    otlp_request_free(r);
    return;
  }
  ingest_batch *b = r->b;
  r->b = NULL;
  int sr = ingest_submit(b, on_otlp_ingested, r);
  if (sr != 0) {
    int code = http_store_error(req, sr, 429, msg, sizeof msg);
    reply_status(s, req, code, proto, msg);
    otlp_request_free(r);
    return;
  }
  http_pending_watch(&r->pend, req);
}

static int otlp_http_route(void *state, server *s, struct evhttp_request *req, const char *path,
                           const char *query) {
  otlp_state *st = state;
  if (!st || strcmp(path, "/v1/logs") != 0) return 0;
  if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
    http_method_not_allowed(s, req, ROUTE_OTLP_LOGS, "POST");
    return 1;
  }
  handle_logs(st, s, req);
  return 1;
}

/* ---- plugin ------------------------------------------------------------------------------ */

static int otlp_start(server *s, void **state, char *err, size_t errlen) {
  *state = NULL;
  otlp_state *st = calloc(1, sizeof *st);
  if (!st) {
    snprintf(err, errlen, "otlp: out of memory");
    return -1;
  }
  snprintf(st->default_type, sizeof st->default_type, "%s",
           s->cfg.otlp_default_type ? s->cfg.otlp_default_type : "otlp.log");
  snprintf(st->stream_attribute, sizeof st->stream_attribute, "%s",
           s->cfg.otlp_stream_attribute ? s->cfg.otlp_stream_attribute : "");
  st->opts.default_type = st->default_type;
  st->opts.stream_attribute = st->stream_attribute;
  st->opts.max_depth = s->cfg.limits.max_depth;
  *state = st;
  return 0;
}

static void otlp_stop(void *state) { (void)state; }
static void otlp_free(void *state) { free(state); }

const input_plugin otlp_input_plugin = {
    .name = "otlp",
    .start = otlp_start,
    .announce = NULL,
    .stop = otlp_stop,
    .free = otlp_free,
    .http_route = otlp_http_route,
};
