/* http_api: the evhttp front end — routing, JSON replies, POST /v1/events (ingest) and
 * GET /healthz, GET /metrics. Contract: docs/api.md.
 *
 * Ingest runs on the loop thread up to store_append: the body is parsed into the request
 * arena, every event normalized (event_from_json) and encoded (record_encode) into one
 * store_batch. The request is answered when the store's completion callback — called on
 * the writer thread — has been handed back to the loop through the completion list.
 *
 * Request lifetime (the classic evhttp trap): while an append is in flight the request is
 * ours to answer. If its connection dies meanwhile, evhttp either detaches the request
 * (req->evcon = NULL; we must free it) or frees it with the connection (shutdown path). The
 * connection's close callback tells the two apart and clears ingest_req.req, so the
 * completion never touches a freed request. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/event.h"
#include "core/json.h"
#include "core/record.h"
#include "core/timeutil.h"
#include "server/server.h"

#define INGEST_MAX_ERRORS 100 /* errors listed in a 400; the rest are counted */

struct ingest_req {
  server *s;
  struct evhttp_request *req;      /* NULL once evhttp freed it with its connection */
  struct evhttp_connection *conn;  /* for clearing the close callback */
  int detached;                    /* connection gone, request still ours to free */
  store_batch *batch;
  int status;                      /* completion status (0 or -errno) */
  ingest_req *next;
};

/* ---- replies ------------------------------------------------------------------------ */

static void set_json_headers(struct evhttp_request *req) {
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  evhttp_add_header(h, "Content-Type", "application/json");
}

static const char *reason_phrase(int code) {
  switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return NULL;
  }
}

const char *http_printable(const char *s, size_t n, char out[80]) {
  size_t k = n < 64 ? n : 64;
  for (size_t i = 0; i < k; i++) {
    unsigned char ch = (unsigned char)s[i];
    out[i] = (ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\') ? (char)ch : '?';
  }
  if (n > 64) {
    memcpy(out + k, "...", 3);
    k += 3;
  }
  out[k] = '\0';
  return out;
}

http_method_label http_method_of(struct evhttp_request *req) {
  switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET: return METHOD_GET;
    case EVHTTP_REQ_HEAD: return METHOD_HEAD;
    case EVHTTP_REQ_POST: return METHOD_POST;
    default: return METHOD_OTHER;
  }
}

void http_reply_output(server *s, struct evhttp_request *req, route r, int code) {
  set_json_headers(req);
  if (s->stopping) evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
  metrics_count_request(&s->m, r, http_method_of(req), code);
  evhttp_send_reply(req, code, reason_phrase(code), NULL);
}

void http_reply_buf(server *s, struct evhttp_request *req, route r, int code, const buf *body) {
  struct evbuffer *out = evhttp_request_get_output_buffer(req);
  if (body->len && evbuffer_add(out, body->data, body->len) != 0) {
    evbuffer_drain(out, evbuffer_get_length(out));
    code = 500;
    evbuffer_add_printf(out, "{\"error\":\"out of memory\"}");
  }
  http_reply_output(s, req, r, code);
}

void http_reply_error(server *s, struct evhttp_request *req, route r, int code, const char *fmt,
                      ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  buf b = BUF_INIT;
  if (buf_puts(&b, "{\"error\":") != 0 || json_write_string(&b, msg, strlen(msg)) != 0 ||
      buf_putc(&b, '}') != 0) {
    buf_free(&b);
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evbuffer_add_printf(out, "{\"error\":\"out of memory\"}");
    http_reply_output(s, req, r, 500);
    return;
  }
  http_reply_buf(s, req, r, code, &b);
  buf_free(&b);
}

/* ---- ingest: parsing ------------------------------------------------------------------ */

typedef enum body_format { BODY_JSON, BODY_NDJSON } body_format;

/* Check the Content-Type: application/json or application/x-ndjson (also application/ndjson),
 * optionally with parameters of which charset must be utf-8. Returns 0 with *fmt, or -1
 * with a message. */
static int parse_content_type(const char *ct, body_format *fmt, char *err, size_t errlen) {
  if (!ct || !*ct) {
    snprintf(err, errlen,
             "missing Content-Type; use application/json or application/x-ndjson");
    return -1;
  }
  const char *semi = strchr(ct, ';');
  size_t n = semi ? (size_t)(semi - ct) : strlen(ct);
  while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
  const char *p = ct;
  while (n > 0 && (*p == ' ' || *p == '\t')) p++, n--;
  if (n == 16 && strncasecmp(p, "application/json", 16) == 0) *fmt = BODY_JSON;
  else if ((n == 20 && strncasecmp(p, "application/x-ndjson", 20) == 0) ||
           (n == 18 && strncasecmp(p, "application/ndjson", 18) == 0))
    *fmt = BODY_NDJSON;
  else {
    char shown[80];
    snprintf(err, errlen,
             "unsupported content type '%s'; use application/json or application/x-ndjson",
             http_printable(p, n, shown));
    return -1;
  }
  /* Parameters: only charset is interpreted, and it must be UTF-8. */
  while (semi) {
    const char *param = semi + 1;
    semi = strchr(param, ';');
    size_t pl = semi ? (size_t)(semi - param) : strlen(param);
    while (pl > 0 && (*param == ' ' || *param == '\t')) param++, pl--;
    if (pl >= 8 && strncasecmp(param, "charset=", 8) == 0) {
      const char *v = param + 8;
      size_t vl = pl - 8;
      while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
      if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') v++, vl -= 2;
      if (!((vl == 5 && strncasecmp(v, "utf-8", 5) == 0) ||
            (vl == 4 && strncasecmp(v, "utf8", 4) == 0))) {
        char shown[80];
        snprintf(err, errlen, "unsupported charset '%s'; bodies must be UTF-8",
                 http_printable(v, vl, shown));
        return -1;
      }
    }
  }
  return 0;
}

/* What one ingest request collects while parsing. */
typedef struct ingest_ctx {
  server *s;
  arena *a;
  const evd_limits *lim;
  int64_t now_ns;
  store_batch *batch;
  buf *enc;
  size_t nevents;       /* events seen (valid or not) */
  size_t nerrors;
  int too_large;        /* some error was a size limit */
  int oom;
  buf errors;           /* JSON array members for the first INGEST_MAX_ERRORS errors */
} ingest_ctx;

static void add_error(ingest_ctx *c, size_t index, size_t line, const char *field,
                      const char *reason) {
  c->nerrors++;
  if (c->nerrors > INGEST_MAX_ERRORS) return;
  buf *b = &c->errors;
  int rc = 0;
  if (b->len) rc |= buf_putc(b, ',');
  rc |= buf_printf(b, "{\"index\":%zu,", index);
  if (line) rc |= buf_printf(b, "\"line\":%zu,", line);
  rc |= buf_puts(b, "\"field\":");
  rc |= json_write_string(b, field, strlen(field));
  rc |= buf_puts(b, ",\"reason\":");
  rc |= json_write_string(b, reason, strlen(reason));
  rc |= buf_putc(b, '}');
  if (rc) c->oom = 1;
}

/* Normalize and encode one parsed event. text_len is its JSON size as received. */
static void ingest_one(ingest_ctx *c, const json_value *v, size_t text_len, size_t line) {
  size_t index = c->nevents++;
  char reason[320];
  if (text_len > c->lim->event_max_bytes) {
    snprintf(reason, sizeof reason, "event is %zu bytes; the limit is %zu (limits.event_max_bytes)",
             text_len, c->lim->event_max_bytes);
    c->too_large = 1;
    add_error(c, index, line, "", reason);
    return;
  }
  if (v->type != JSON_OBJECT) {
    snprintf(reason, sizeof reason, "expected an event object, got %s", json_type_name(v->type));
    add_error(c, index, line, "", reason);
    return;
  }
  event ev;
  evd_field_error fe;
  if (event_from_json(v, c->lim, c->now_ns, c->a, &ev, &fe) != 0) {
    if (strstr(fe.reason, "(limits.")) c->too_large = 1; /* core names the limit so */
    add_error(c, index, line, fe.field, fe.reason);
    return;
  }
  if (c->nerrors) return; /* the request is refused anyway: only collect errors */
  buf_clear(c->enc);
  if (record_encode(&ev, c->enc) != 0) {
    add_error(c, index, line, "", "event cannot be encoded (a field exceeds the record format)");
    return;
  }
  if (store_batch_add(c->batch, c->enc->data, c->enc->len) != 0) c->oom = 1;
}

/* Split an NDJSON body into lines and ingest each non-blank one. */
static void ingest_ndjson(ingest_ctx *c, const char *p, size_t len) {
  size_t line = 0;
  const char *end = p + len;
  while (p < end && !c->oom) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    line++;
    const char *s = p, *e = le;
    p = nl ? nl + 1 : end;
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\r')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
    if (s == e) continue; /* blank line */
    size_t n = (size_t)(e - s);
    if (n > c->lim->event_max_bytes) {
      char reason[200];
      snprintf(reason, sizeof reason,
               "event is %zu bytes; the limit is %zu (limits.event_max_bytes)", n,
               c->lim->event_max_bytes);
      c->too_large = 1;
      add_error(c, c->nevents++, line, "", reason);
      continue;
    }
    json_error je;
    json_value *v = json_parse(c->a, s, n, c->lim->max_depth, &je);
    if (!v) {
      if (strcmp(je.message, "out of memory") == 0) {
        c->oom = 1;
        return;
      }
      char reason[256];
      snprintf(reason, sizeof reason, "invalid JSON at byte %zu of the line: %s", je.offset,
               je.message);
      add_error(c, c->nevents++, line, "", reason);
      continue;
    }
    ingest_one(c, v, n, line);
  }
}

/* End of the JSON text of array element v (which is followed by `next` or by the closing
 * bracket at or before text+len): the offset just past its last non-blank byte. */
static size_t element_end(const char *text, size_t len, const json_value *v) {
  size_t e;
  if (v->next) {
    e = v->next->offset; /* back over blanks, the comma, blanks */
    while (e > v->offset && text[e - 1] != ',') e--;
    if (e > v->offset) e--;
  } else {
    e = len;
    while (e > v->offset && text[e - 1] != ']') e--;
    if (e > v->offset) e--;
  }
  while (e > v->offset && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\n' ||
                           text[e - 1] == '\r'))
    e--;
  return e;
}

/* Parse a JSON body (one object or an array of objects). Returns 0, or -1 with a message
 * for a body that is not JSON at all (reported without per-event errors). */
static int ingest_json(ingest_ctx *c, const char *p, size_t len, char *err, size_t errlen) {
  size_t i = 0;
  while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) i++;
  int is_array = i < len && p[i] == '[';
  json_error je;
  json_value *root = json_parse(c->a, p, len, c->lim->max_depth + (is_array ? 1 : 0), &je);
  if (!root) {
    if (strcmp(je.message, "out of memory") == 0) {
      c->oom = 1;
      return 0;
    }
    snprintf(err, errlen, "request body is not valid JSON: %s at byte %zu", je.message, je.offset);
    return -1;
  }
  if (root->type == JSON_ARRAY) {
    for (json_value *v = root->child; v && !c->oom; v = v->next)
      ingest_one(c, v, element_end(p, len, v) - v->offset, 0);
    return 0;
  }
  if (root->type != JSON_OBJECT) {
    snprintf(err, errlen, "request body must be an event object or an array of them, got %s",
             json_type_name(root->type));
    return -1;
  }
  size_t e = len;
  while (e > 0 && (p[e - 1] == ' ' || p[e - 1] == '\t' || p[e - 1] == '\r' || p[e - 1] == '\n'))
    e--;
  ingest_one(c, root, e - root->offset, 0);
  return 0;
}

/* ---- ingest: completion ---------------------------------------------------------------- */

/* Close callback of a connection with an append in flight. */
static void on_ingest_conn_close(struct evhttp_connection *conn, void *arg) {
  ingest_req *ir = arg;
  if (!ir->req) return;
  if (evhttp_request_get_connection(ir->req) == NULL) {
    ir->detached = 1; /* evhttp let go of it: ours to free at completion */
  } else {
    ir->req = NULL; /* evhttp frees it with the connection right after this call */
  }
}

/* Store completion (writer thread): queue for the loop and wake it. */
static void on_appended(void *arg, int status, store_batch *b) {
  ingest_req *ir = arg;
  server *s = ir->s;
  ir->status = status;
  ir->batch = b;
  ir->next = NULL;
  pthread_mutex_lock(&s->done_mu);
  int was_empty = s->done_head == NULL;
  if (s->done_tail) s->done_tail->next = ir;
  else s->done_head = ir;
  s->done_tail = ir;
  pthread_mutex_unlock(&s->done_mu);
  if (was_empty) event_active(s->done_ev, EV_READ, 0);
}

/* Answer one finished append (loop thread) and free it. */
static void finish_ingest(server *s, ingest_req *ir) {
  store_batch *b = ir->batch;
  size_t n = store_batch_count(b);
  if (ir->req && ir->detached) {
    evhttp_request_free(ir->req);
    ir->req = NULL;
  }
  if (ir->req) {
    struct evhttp_request *req = ir->req;
    evhttp_connection_set_closecb(ir->conn, NULL, NULL);
    if (ir->status == 0) {
      size_t dups = 0;
      for (size_t i = 0; i < n; i++) dups += store_batch_duplicate(b, i) ? 1 : 0;
      buf *out = &s->scratch;
      buf_clear(out);
      int rc = buf_reserve(out, 64 + n * (ULID_LEN + 4));
      rc |= buf_printf(out, "{\"accepted\":%zu,\"duplicates\":%zu,\"ids\":[", n, dups);
      for (size_t i = 0; i < n && rc == 0; i++) {
        const char *id = store_batch_id(b, i);
        if (i) rc |= buf_putc(out, ',');
        rc |= json_write_string(out, id, strlen(id));
      }
      rc |= buf_puts(out, "]}");
      if (rc) {
        http_reply_error(s, req, ROUTE_INGEST, 500, "out of memory building the answer");
      } else {
        METRIC_ADD(s->m.events_accepted, n);
        METRIC_ADD(s->m.events_duplicate, dups);
        http_reply_buf(s, req, ROUTE_INGEST, 200, out);
      }
    } else {
      int err = -ir->status;
      struct evkeyvalq *h = evhttp_request_get_output_headers(req);
      if (err == ENOSPC) {
        METRIC_ADD(s->m.events_rejected[REJECT_DISK_FULL], n);
        evhttp_add_header(h, "Retry-After", "1");
        http_reply_error(s, req, ROUTE_INGEST, 503, "disk full");
      } else if (err == ESHUTDOWN) {
        METRIC_ADD(s->m.events_rejected[REJECT_SHUTTING_DOWN], n);
        http_reply_error(s, req, ROUTE_INGEST, 503, "shutting down");
      } else {
        METRIC_ADD(s->m.events_rejected[REJECT_STORE_FAILED], n);
        evhttp_add_header(h, "Retry-After", "1");
        http_reply_error(s, req, ROUTE_INGEST, 503, "store unavailable: %s", strerror(err));
      }
    }
  } else if (ir->status == 0) {
    /* Stored, but nobody is left to tell. */
    METRIC_ADD(s->m.events_accepted, n);
    log_debug(&s->log, "ingest: client went away before the answer (%zu events stored)", n);
  }
  store_batch_free(b);
  free(ir);
  s->inflight--;
  METRIC_SUB(s->m.ingest_requests_inflight, 1);
}

void http_api_drain_completions(server *s) {
  pthread_mutex_lock(&s->done_mu);
  ingest_req *list = s->done_head;
  s->done_head = s->done_tail = NULL;
  pthread_mutex_unlock(&s->done_mu);
  while (list) {
    ingest_req *next = list->next;
    finish_ingest(s, list);
    list = next;
  }
}

void http_api_discard_completions(server *s) {
  /* After evhttp_free every request pointer has been cleared or detached. */
  http_api_drain_completions(s);
}

/* ---- ingest: the handler ---------------------------------------------------------------- */

static void handle_ingest(server *s, struct evhttp_request *req, const char *query) {
  const evd_limits *lim = &s->cfg.limits;
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(in);
  METRIC_ADD(s->m.ingest_bytes, len);
  char msg[512];
  body_format fmt;
  const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
  if (parse_content_type(ct, &fmt, msg, sizeof msg) != 0) {
    METRIC_ADD(s->m.events_rejected[REJECT_UNSUPPORTED_MEDIA_TYPE], 1);
    http_reply_error(s, req, ROUTE_INGEST, 415, "%s", msg);
    return;
  }
  if (query && *query) {
    char shown[80];
    http_printable(query, strcspn(query, "=&"), shown);
    METRIC_ADD(s->m.events_rejected[REJECT_INVALID], 1);
    http_reply_error(s, req, ROUTE_INGEST, 400,
                     "unknown query parameter '%s' for POST /v1/events (it takes none)", shown);
    return;
  }
  if (len > lim->body_max_bytes) { /* evhttp enforces this first; kept as a guard */
    METRIC_ADD(s->m.events_rejected[REJECT_TOO_LARGE], 1);
    http_reply_error(s, req, ROUTE_INGEST, 413, "request body exceeds %zu bytes",
                     lim->body_max_bytes);
    return;
  }
  if (s->stopping) {
    METRIC_ADD(s->m.events_rejected[REJECT_SHUTTING_DOWN], 1);
    http_reply_error(s, req, ROUTE_INGEST, 503, "shutting down");
    return;
  }
  const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
  if (len && !body) {
    http_reply_error(s, req, ROUTE_INGEST, 503, "out of memory");
    return;
  }

  ingest_ctx c = {.s = s, .a = &s->req_arena, .lim = lim, .now_ns = time_now_ns(),
                  .enc = &s->scratch};
  buf_init(&c.errors);
  c.batch = store_batch_new();
  if (!c.batch) {
    http_reply_error(s, req, ROUTE_INGEST, 503, "out of memory");
    return;
  }
  int bad_body = 0;
  if (fmt == BODY_NDJSON) ingest_ndjson(&c, body, len);
  else bad_body = ingest_json(&c, body, len, msg, sizeof msg) != 0;
  arena_reset(&s->req_arena);
  METRIC_ADD(s->m.events_received, c.nevents);

  if (c.oom) {
    METRIC_ADD(s->m.events_rejected[REJECT_OVERLOADED], c.nevents ? c.nevents : 1);
    http_reply_error(s, req, ROUTE_INGEST, 503, "out of memory while parsing the request");
    goto done;
  }
  if (bad_body) {
    METRIC_ADD(s->m.events_rejected[REJECT_INVALID], 1);
    http_reply_error(s, req, ROUTE_INGEST, 400, "%s", msg);
    goto done;
  }
  if (c.nerrors) {
    METRIC_ADD(s->m.events_rejected[c.too_large ? REJECT_TOO_LARGE : REJECT_INVALID], c.nevents);
    buf *out = &s->scratch;
    buf_clear(out);
    int rc = buf_printf(out, "{\"error\":\"%zu of %zu events %s invalid\",\"errors\":[%s]",
                        c.nerrors, c.nevents, c.nerrors == 1 ? "is" : "are",
                        c.errors.data ? c.errors.data : "");
    if (c.nerrors > INGEST_MAX_ERRORS)
      rc |= buf_printf(out, ",\"more_errors\":%zu", c.nerrors - INGEST_MAX_ERRORS);
    rc |= buf_putc(out, '}');
    if (rc) http_reply_error(s, req, ROUTE_INGEST, 503, "out of memory");
    else http_reply_buf(s, req, ROUTE_INGEST, 400, out);
    goto done;
  }
  if (c.nevents == 0) {
    buf_clear(&s->scratch);
    buf_puts(&s->scratch, "{\"accepted\":0,\"duplicates\":0,\"ids\":[]}");
    http_reply_buf(s, req, ROUTE_INGEST, 200, &s->scratch);
    goto done;
  }

  ingest_req *ir = calloc(1, sizeof *ir);
  if (!ir) {
    http_reply_error(s, req, ROUTE_INGEST, 503, "out of memory");
    goto done;
  }
  ir->s = s;
  ir->req = req;
  ir->conn = evhttp_request_get_connection(req);
  int rc = store_append(s->st, c.batch, on_appended, ir);
  if (rc != 0) {
    free(ir);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (rc == -EAGAIN) {
      METRIC_ADD(s->m.events_rejected[REJECT_OVERLOADED], c.nevents);
      evhttp_add_header(h, "Retry-After", "1");
      http_reply_error(s, req, ROUTE_INGEST, 503, "store queue is full");
    } else if (rc == -ESHUTDOWN) {
      METRIC_ADD(s->m.events_rejected[REJECT_SHUTTING_DOWN], c.nevents);
      http_reply_error(s, req, ROUTE_INGEST, 503, "shutting down");
    } else {
      METRIC_ADD(s->m.events_rejected[REJECT_STORE_FAILED], c.nevents);
      evhttp_add_header(h, "Retry-After", "1");
      http_reply_error(s, req, ROUTE_INGEST, 503, "store unavailable: %s", strerror(-rc));
    }
    goto done;
  }
  c.batch = NULL; /* the store's until the callback */
  s->inflight++;
  METRIC_ADD(s->m.ingest_requests_inflight, 1);
  evhttp_connection_set_closecb(ir->conn, on_ingest_conn_close, ir);
done:
  if (c.batch) store_batch_free(c.batch);
  buf_free(&c.errors);
  if (s->scratch.cap > 4 * 1024 * 1024) buf_free(&s->scratch); /* don't pin a huge answer */
}

/* ---- healthz, metrics ------------------------------------------------------------------- */

static void handle_healthz(server *s, struct evhttp_request *req) {
  store_stats st;
  store_get_stats(s->st, &st);
  buf *out = &s->scratch;
  buf_clear(out);
  const char *status = s->stopping ? "stopping" : st.failed ? "failed" : "ok";
  buf_printf(out, "{\"status\":\"%s\",\"version\":\"%s\",\"committed_seq\":%llu}", status,
             EVD_VERSION, (unsigned long long)st.committed_seq);
  http_reply_buf(s, req, ROUTE_HEALTHZ, strcmp(status, "ok") == 0 ? 200 : 503, out);
}

static void handle_metrics(server *s, struct evhttp_request *req) {
  store_stats st;
  store_get_stats(s->st, &st);
  metrics_extra x = {.store = &st, .tail_clients = tail_client_count(s->tail),
                     .version = EVD_VERSION};
  buf out = BUF_INIT;
  /* Count this scrape before rendering so it sees itself. */
  metrics_count_request(&s->m, ROUTE_METRICS, http_method_of(req), 200);
  if (metrics_render(&s->m, &x, &out) != 0) {
    buf_free(&out);
    http_reply_error(s, req, ROUTE_METRICS, 500, "out of memory");
    return;
  }
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  evbuffer_add(evhttp_request_get_output_buffer(req), out.data, out.len);
  buf_free(&out);
  evhttp_send_reply(req, 200, "OK", NULL);
}

/* ---- routing ------------------------------------------------------------------------- */

static void method_not_allowed(server *s, struct evhttp_request *req, route r, const char *allow) {
  evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
  http_reply_error(s, req, r, 405, "method not allowed; use %s", allow);
}

static int is_get(enum evhttp_cmd_type m) { return m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD; }

static void on_request(struct evhttp_request *req, void *arg) {
  server *s = arg;
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
  const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  if (!path || !*path) path = "/";
  if (log_enabled(&s->log, LOG_DEBUG))
    log_debug(&s->log, "http: %s %s", m == EVHTTP_REQ_POST ? "POST" : m == EVHTTP_REQ_GET ? "GET" : "other",
              evhttp_request_get_uri(req));

  if (strcmp(path, "/v1/events") == 0) {
    if (m == EVHTTP_REQ_POST) handle_ingest(s, req, query);
    else if (is_get(m)) http_query_events(s, req, query);
    else method_not_allowed(s, req, ROUTE_QUERY, "GET, HEAD, POST");
  } else if (strcmp(path, "/v1/events/count") == 0) {
    if (is_get(m)) http_query_count(s, req, query);
    else method_not_allowed(s, req, ROUTE_COUNT, "GET, HEAD");
  } else if (strcmp(path, "/v1/events/histogram") == 0) {
    if (is_get(m)) http_query_histogram(s, req, query);
    else method_not_allowed(s, req, ROUTE_HISTOGRAM, "GET, HEAD");
  } else if (strncmp(path, "/v1/events/", 11) == 0 && path[11] && !strchr(path + 11, '/')) {
    if (is_get(m)) http_query_get(s, req, path + 11);
    else method_not_allowed(s, req, ROUTE_GET, "GET, HEAD");
  } else if (strcmp(path, "/v1/tail") == 0) {
    if (m == EVHTTP_REQ_GET) tail_handle(s, req, query);
    else method_not_allowed(s, req, ROUTE_TAIL, "GET");
  } else if (strcmp(path, "/healthz") == 0) {
    if (is_get(m)) handle_healthz(s, req);
    else method_not_allowed(s, req, ROUTE_HEALTHZ, "GET, HEAD");
  } else if (strcmp(path, "/metrics") == 0) {
    if (is_get(m)) handle_metrics(s, req);
    else method_not_allowed(s, req, ROUTE_METRICS, "GET, HEAD");
  } else {
    char shown[80];
    http_reply_error(s, req, ROUTE_OTHER, 404, "no such endpoint: %s",
                     http_printable(path, strlen(path), shown));
  }
}

int http_api_start(server *s, char *err, size_t errlen) {
  char host[256];
  int port;
  if (config_parse_listen(s->cfg.http_listen, host, sizeof host, &port) != 0) {
    snprintf(err, errlen, "invalid http.listen '%s'", s->cfg.http_listen);
    return -1;
  }
  s->http = evhttp_new(s->base);
  if (!s->http) {
    snprintf(err, errlen, "cannot create the HTTP server (out of memory)");
    return -1;
  }
  evhttp_set_gencb(s->http, on_request, s);
  evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                          EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                          EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
  evhttp_set_max_body_size(s->http, (ev_ssize_t)s->cfg.limits.body_max_bytes);
  evhttp_set_max_headers_size(s->http, (ev_ssize_t)s->cfg.http_max_header_bytes);
  int64_t to = s->cfg.http_idle_timeout_ns / NS_PER_SEC;
  evhttp_set_timeout(s->http, to > 0 && to < 1000000 ? (int)to : 60);
  evhttp_set_flags(s->http, EVHTTP_SERVER_LINGERING_CLOSE);
  evhttp_set_default_content_type(s->http, "application/json");
  s->bound = evhttp_bind_socket_with_handle(s->http, host, (ev_uint16_t)port);
  if (!s->bound) {
    snprintf(err, errlen, "cannot listen on %s: %s", s->cfg.http_listen, strerror(errno));
    return -1;
  }
  /* The real address (port 0 picks one). */
  evutil_socket_t fd = evhttp_bound_socket_get_fd(s->bound);
  /* No Nagle: an answer's last segment must not wait for the client's delayed ACK (40 ms
   * per request otherwise). Accepted sockets inherit the option from the listener. */
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
    log_warn(&s->log, "http: cannot set TCP_NODELAY: %s", strerror(errno));
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  char addr[INET6_ADDRSTRLEN] = "?";
  int real_port = port;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
    if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
      evutil_inet_ntop(AF_INET6, &a6->sin6_addr, addr, sizeof addr);
      real_port = ntohs(a6->sin6_port);
      snprintf(s->listen_url, sizeof s->listen_url, "http://[%s]:%d", addr, real_port);
      return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    evutil_inet_ntop(AF_INET, &a4->sin_addr, addr, sizeof addr);
    real_port = ntohs(a4->sin_port);
  }
  snprintf(s->listen_url, sizeof s->listen_url, "http://%s:%d", addr, real_port);
  return 0;
}

void http_api_stop_accepting(server *s) {
  if (s->http && s->bound) {
    evhttp_del_accept_socket(s->http, s->bound);
    s->bound = NULL;
  }
}
