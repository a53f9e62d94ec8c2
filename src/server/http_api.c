/* http_api: the evhttp front end — routing, JSON replies, POST /v1/events (ingest) and
 * GET /healthz, GET /metrics. Contract: docs/api.md.
 *
 * POST /v1/events parses the body into the request arena (one tree for a JSON body; one
 * line at a time for NDJSON) and hands every event to the shared ingest path (ingest.h:
 * normalize, registry, encode into one batch). The request is answered from the batch's
 * completion callback, on the loop thread, once the store has made it durable. */
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
#include "inputs/inputs.h"
#include "outputs/http_outputs.h"
#include "outputs/outputs.h"
#include "server/server.h"

/* ---- replies ------------------------------------------------------------------------ */

static void set_json_headers(struct evhttp_request *req) {
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  evhttp_add_header(h, "Content-Type", "application/json");
}

static const char *reason_phrase(int code) {
  switch (code) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 409: return "Conflict";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
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

/* What one ingest request collects while parsing: the batch (ingest.h) and the arena the
 * JSON is parsed into. */
typedef struct ingest_ctx {
  server *s;
  arena *a;
  const evd_limits *lim;
  ingest_batch *b;
  int oom;
} ingest_ctx;

/* Hand one parsed event (or NULL with text_len over the limit) to the ingest path. */
static void ingest_one(ingest_ctx *c, const json_value *v, size_t text_len, size_t line) {
  if (ingest_add_json(c->b, v, text_len, line) == -ENOMEM) c->oom = 1;
}

/* Split an NDJSON body into lines and ingest each non-blank one. Each line's tree is freed
 * (arena reset) once ingest has encoded it. */
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
    if (n > c->lim->event_max_bytes) { /* refused by size before parsing */
      ingest_one(c, NULL, n, line);
      continue;
    }
    json_error je;
    arena_reset(c->a);
    json_value *v = json_parse(c->a, s, n, c->lim->max_depth, &je);
    if (!v) {
      if (strcmp(je.message, "out of memory") == 0) {
        c->oom = 1;
        return;
      }
      char reason[256];
      snprintf(reason, sizeof reason, "invalid JSON at byte %zu of the line: %s", je.offset,
               je.message);
      ingest_add_failure(c->b, line, INGEST_ERR_INVALID, "", reason);
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

/* An HTTP request waiting for its batch to be durable.
 *
 * Request lifetime (the classic evhttp trap): while an append is in flight the request is
 * ours to answer. If its connection dies meanwhile, evhttp either detaches the request
 * (req->evcon = NULL; we must free it) or frees it with the connection (shutdown path). The
 * connection's close callback tells the two apart and clears http_ingest.req, so the
 * completion never touches a freed request. */
typedef struct http_ingest {
  server *s;
  struct evhttp_request *req;      /* NULL once evhttp freed it with its connection */
  struct evhttp_connection *conn;  /* for clearing the close callback */
  int detached;                    /* connection gone, request still ours to free */
} http_ingest;

/* Close callback of a connection with an append in flight. */
static void on_ingest_conn_close(struct evhttp_connection *conn, void *arg) {
  http_ingest *hi = arg;
  if (!hi->req) return;
  if (evhttp_request_get_connection(hi->req) == NULL) {
    hi->detached = 1; /* evhttp let go of it: ours to free at completion */
  } else {
    hi->req = NULL; /* evhttp frees it with the connection right after this call */
  }
}

/* Answer a request whose batch the store refused or failed (status -errno). */
static void reply_store_error(server *s, struct evhttp_request *req, int status) {
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  int err = -status;
  if (err == EAGAIN) {
    evhttp_add_header(h, "Retry-After", "1");
    http_reply_error(s, req, ROUTE_INGEST, 503, "store queue is full");
  } else if (err == ENOSPC) {
    evhttp_add_header(h, "Retry-After", "1");
    http_reply_error(s, req, ROUTE_INGEST, 503, "disk full");
  } else if (err == ESHUTDOWN) {
    http_reply_error(s, req, ROUTE_INGEST, 503, "shutting down");
  } else if (err == ENOMEM) {
    http_reply_error(s, req, ROUTE_INGEST, 503, "out of memory");
  } else {
    evhttp_add_header(h, "Retry-After", "1");
    http_reply_error(s, req, ROUTE_INGEST, 503, "store unavailable: %s", strerror(err));
  }
}

/* ingest_done_cb: answer the request (loop thread) and free the waiter. */
static void on_ingested(void *arg, const ingest_result *r) {
  http_ingest *hi = arg;
  server *s = hi->s;
  if (hi->req && hi->detached) {
    evhttp_request_free(hi->req);
    hi->req = NULL;
  }
  if (!hi->req) {
    if (r->status == 0)
      log_debug(&s->log, "ingest: client went away before the answer (%zu events stored)",
                r->accepted);
    free(hi);
    return;
  }
  struct evhttp_request *req = hi->req;
  if (hi->conn) evhttp_connection_set_closecb(hi->conn, NULL, NULL);
  free(hi);
  if (r->status != 0) {
    reply_store_error(s, req, r->status);
    return;
  }
  size_t n = r->accepted;
  buf *out = &s->scratch;
  buf_clear(out);
  int rc = buf_reserve(out, 64 + n * (ULID_LEN + 4));
  rc |= buf_printf(out, "{\"accepted\":%zu,\"duplicates\":%zu,\"ids\":[", n, r->duplicates);
  for (size_t i = 0; i < n && rc == 0; i++) {
    const char *id = store_batch_id(r->batch, i);
    if (i) rc |= buf_putc(out, ',');
    rc |= json_write_string(out, id, strlen(id));
  }
  rc |= buf_puts(out, "]}");
  if (rc) http_reply_error(s, req, ROUTE_INGEST, 500, "out of memory building the answer");
  else http_reply_buf(s, req, ROUTE_INGEST, 200, out);
  if (s->scratch.cap > 4 * 1024 * 1024) buf_free(&s->scratch); /* don't pin a huge answer */
}

/* Answer 400 with the batch's errors (docs/api.md). Returns 0 or -1 when out of memory. */
int http_write_ingest_errors(const ingest_batch *b, buf *out) {
  size_t nerr = ingest_error_count(b), nev = ingest_count(b);
  int rc = buf_printf(out, "{\"error\":\"%zu of %zu events %s invalid\",\"errors\":[", nerr, nev,
                      nerr == 1 ? "is" : "are");
  for (size_t i = 0; rc == 0; i++) {
    const ingest_error *e = ingest_error_at(b, i);
    if (!e) break;
    if (i) rc |= buf_putc(out, ',');
    rc |= buf_printf(out, "{\"index\":%zu,", e->index);
    if (e->line) rc |= buf_printf(out, "\"line\":%zu,", e->line);
    rc |= buf_puts(out, "\"field\":");
    rc |= json_write_string(out, e->field, strlen(e->field));
    rc |= buf_puts(out, ",\"reason\":");
    rc |= json_write_string(out, e->reason, strlen(e->reason));
    rc |= buf_putc(out, '}');
  }
  rc |= buf_putc(out, ']');
  if (nerr > INGEST_MAX_ERRORS) rc |= buf_printf(out, ",\"more_errors\":%zu", nerr - INGEST_MAX_ERRORS);
  rc |= buf_putc(out, '}');
  return rc ? -1 : 0;
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
    ingest_count_rejected(s, INGEST_INPUT_HTTP, REJECT_UNSUPPORTED_MEDIA_TYPE, 1);
    http_reply_error(s, req, ROUTE_INGEST, 415, "%s", msg);
    return;
  }
  if (query && *query) {
    char shown[80];
    http_printable(query, strcspn(query, "=&"), shown);
    ingest_count_rejected(s, INGEST_INPUT_HTTP, REJECT_INVALID, 1);
    http_reply_error(s, req, ROUTE_INGEST, 400,
                     "unknown query parameter '%s' for POST /v1/events (it takes none)", shown);
    return;
  }
  if (len > lim->body_max_bytes) { /* evhttp enforces this first; kept as a guard */
    ingest_count_rejected(s, INGEST_INPUT_HTTP, REJECT_TOO_LARGE, 1);
    http_reply_error(s, req, ROUTE_INGEST, 413, "request body exceeds %zu bytes",
                     lim->body_max_bytes);
    return;
  }
  if (s->stopping) {
    ingest_count_rejected(s, INGEST_INPUT_HTTP, REJECT_SHUTTING_DOWN, 1);
    http_reply_error(s, req, ROUTE_INGEST, 503, "shutting down");
    return;
  }
  const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
  if (len && !body) {
    http_reply_error(s, req, ROUTE_INGEST, 503, "out of memory");
    return;
  }

  ingest_ctx c = {.s = s, .a = &s->req_arena, .lim = lim, .b = ingest_begin(s)};
  if (!c.b) {
    http_reply_error(s, req, ROUTE_INGEST, 503, "out of memory");
    return;
  }
  ingest_reserve(c.b, len); /* room for the records up front: no regrowth copies */
  int bad_body = 0;
  if (fmt == BODY_NDJSON) ingest_ndjson(&c, body, len);
  else bad_body = ingest_json(&c, body, len, msg, sizeof msg) != 0;
  arena_reset(&s->req_arena);

  if (c.oom || ingest_out_of_memory(c.b)) {
    ingest_abort(c.b);
    http_reply_error(s, req, ROUTE_INGEST, 503, "out of memory while parsing the request");
    return;
  }
  if (bad_body) {
    ingest_abort(c.b); /* counts the body as one invalid event */
    http_reply_error(s, req, ROUTE_INGEST, 400, "%s", msg);
    return;
  }
  if (ingest_error_count(c.b)) {
    buf *out = &s->scratch;
    buf_clear(out);
    if (http_write_ingest_errors(c.b, out) != 0) http_reply_error(s, req, ROUTE_INGEST, 503, "out of memory");
    else http_reply_buf(s, req, ROUTE_INGEST, 400, out);
    ingest_abort(c.b);
    if (s->scratch.cap > 4 * 1024 * 1024) buf_free(&s->scratch);
    return;
  }

  http_ingest *hi = calloc(1, sizeof *hi);
  if (!hi) {
    ingest_abort(c.b);
    http_reply_error(s, req, ROUTE_INGEST, 503, "out of memory");
    return;
  }
  hi->s = s;
  hi->req = req;
  hi->conn = evhttp_request_get_connection(req);
  int rc = ingest_submit(c.b, on_ingested, hi); /* takes the batch */
  if (rc != 0) {
    free(hi);
    reply_store_error(s, req, rc);
    return;
  }
  if (hi->conn) evhttp_connection_set_closecb(hi->conn, on_ingest_conn_close, hi);
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
  if (metrics_render(&s->m, &x, &out) != 0 || outputs_render_metrics(s->outputs, &out) != 0 ||
      http_auth_render_metrics(s, &out) != 0 || http_conn_render_metrics(s, &out) != 0) {
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

void http_method_not_allowed(server *s, struct evhttp_request *req, route r, const char *allow) {
  evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
  http_reply_error(s, req, r, 405, "method not allowed; use %s", allow);
}

static int is_get(enum evhttp_cmd_type m) { return m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD; }

static void route_request(server *s, struct evhttp_request *req) {
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
    else http_method_not_allowed(s, req, ROUTE_QUERY, "GET, HEAD, POST");
  } else if (strcmp(path, "/v1/events/count") == 0) {
    if (is_get(m)) http_query_count(s, req, query);
    else http_method_not_allowed(s, req, ROUTE_COUNT, "GET, HEAD");
  } else if (strcmp(path, "/v1/events/histogram") == 0) {
    if (is_get(m)) http_query_histogram(s, req, query);
    else http_method_not_allowed(s, req, ROUTE_HISTOGRAM, "GET, HEAD");
  } else if (strcmp(path, "/v1/events/archive") == 0 || strcmp(path, "/v1/events/delete") == 0 ||
             strcmp(path, "/v1/events/purge") == 0) {
    if (m == EVHTTP_REQ_POST) http_lifecycle_handle(s, req, path + 11);
    else http_method_not_allowed(s, req, ROUTE_LIFECYCLE, "POST");
  } else if (strncmp(path, "/v1/events/", 11) == 0 && path[11] && !strchr(path + 11, '/')) {
    if (is_get(m)) http_query_get(s, req, path + 11);
    else http_method_not_allowed(s, req, ROUTE_GET, "GET, HEAD");
  } else if (strcmp(path, "/v1/tail") == 0) {
    if (m == EVHTTP_REQ_GET) tail_handle(s, req, query);
    else http_method_not_allowed(s, req, ROUTE_TAIL, "GET");
  } else if (strncmp(path, "/v1/registry", 12) == 0 && (path[12] == '\0' || path[12] == '/')) {
    http_registry_route(s, req, path);
  } else if (strncmp(path, "/v1/outputs", 11) == 0 && (path[11] == '\0' || path[11] == '/')) {
    http_outputs_route(s, req, path, query);
  } else if (strncmp(path, "/v1/tokens", 10) == 0 && (path[10] == '\0' || path[10] == '/')) {
    http_tokens_route(s, req, path);
  } else if (strncmp(path, "/magma/v1/events/", 17) == 0) {
    http_magma_route(s, req, path, query);
  } else if (strcmp(path, "/healthz") == 0) {
    if (is_get(m)) handle_healthz(s, req);
    else http_method_not_allowed(s, req, ROUTE_HEALTHZ, "GET, HEAD");
  } else if (strcmp(path, "/metrics") == 0) {
    if (is_get(m)) handle_metrics(s, req);
    else http_method_not_allowed(s, req, ROUTE_METRICS, "GET, HEAD");
  } else if (inputs_http_route(s->inputs, s, req, path, query)) {
    /* an input on the HTTP port (Elasticsearch-compatible, OTLP/HTTP) took it */
  } else {
    char shown[80];
    http_reply_error(s, req, ROUTE_OTHER, 404, "no such endpoint: %s",
                     http_printable(path, strlen(path), shown));
  }
}

/* Access control (auth.h, http_tokens.c): with auth on, every endpoint but /healthz needs
 * a token allowed to do what the endpoint does; the handler then runs as that principal. */
static void on_request(struct evhttp_request *req, void *arg) {
  server *s = arg;
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
  int healthz = path && strcmp(path, "/healthz") == 0;
  auth_action act;
  route r;
  int basic;
  http_auth_classify(path ? path : "/", evhttp_request_get_command(req) == EVHTTP_REQ_POST, &act,
                     &r, &basic);
  /* Connection layer (http_conn.c): the request is in; limits.rate_per_peer. */
  if (!http_conn_on_request(s, req, healthz ? ROUTE_HEALTHZ : r)) return;
  if (!s->auth || healthz) {
    route_request(s, req);
    return;
  }
  auth_principal who;
  if (!http_auth_request(s, req, r, act, basic, &who)) return;
  if (!http_conn_rate_token(s, req, r, &who)) return; /* limits.rate_per_token */
  s->req_principal = &who;
  route_request(s, req);
  s->req_principal = NULL;
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
  if (http_conn_setup(s, err, errlen) != 0) return -1; /* TLS, limits (http_conn.c) */
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
      snprintf(s->listen_url, sizeof s->listen_url, "%s://[%s]:%d",
               http_conn_is_tls(s) ? "https" : "http", addr, real_port);
      return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    evutil_inet_ntop(AF_INET, &a4->sin_addr, addr, sizeof addr);
    real_port = ntohs(a4->sin_port);
  }
  snprintf(s->listen_url, sizeof s->listen_url, "%s://%s:%d",
           http_conn_is_tls(s) ? "https" : "http", addr, real_port);
  return 0;
}

void http_api_stop_accepting(server *s) {
  if (s->http && s->bound) {
    evhttp_del_accept_socket(s->http, s->bound);
    s->bound = NULL;
  }
}
