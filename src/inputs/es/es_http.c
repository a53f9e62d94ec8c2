/* es_http: the HTTP glue of the Elasticsearch-compatible input (es.h). Decoding and mapping
 * are in es_map.c.
 *
 * A request becomes one ingest batch in per-item mode (ingest_set_partial): each item is
 * recorded (op, index, id, and either its position in the store batch or its refusal)
 * while the body is decoded; the answer is written from the completion callback, once the
 * stored items are durable. Nothing of a request is acknowledged before that. */
#include "inputs/es/es.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/timeutil.h"
#include "inputs/es/es_map.h"
#include "inputs/http_input.h"
#include "server/server.h"

#define ES_VERSION "8.11.0"
/* Actions one _bulk request may hold: bounds the per-item bookkeeping and the answer (a
 * few hundred bytes per item) whatever the body size. More is refused as a whole. */
#define ES_BULK_MAX_ITEMS 100000

typedef struct es_state {
  es_index_rule rule;
  es_map_opts opts;
  char default_type[256];
} es_state;

/* ---- ES-shaped errors ---------------------------------------------------------------------- */

static int write_es_error_obj(buf *out, const char *type, const char *reason) {
  int rc = buf_puts(out, "{\"type\":");
  rc |= json_write_string(out, type, strlen(type));
  rc |= buf_puts(out, ",\"reason\":");
  rc |= json_write_string(out, reason, strlen(reason));
  rc |= buf_putc(out, '}');
  return rc;
}

/* Reply {"error":{"root_cause":[{type,reason}],"type","reason"},"status":code}. */
static void es_reply_error(server *s, struct evhttp_request *req, int code, const char *type,
                           const char *reason) {
  buf b = BUF_INIT;
  int rc = buf_puts(&b, "{\"error\":{\"root_cause\":[");
  rc |= write_es_error_obj(&b, type, reason);
  rc |= buf_puts(&b, "],\"type\":");
  rc |= json_write_string(&b, type, strlen(type));
  rc |= buf_puts(&b, ",\"reason\":");
  rc |= json_write_string(&b, reason, strlen(reason));
  rc |= buf_printf(&b, "},\"status\":%d}", code);
  if (rc) http_reply_error(s, req, ROUTE_ES, 503, "out of memory");
  else http_reply_buf(s, req, ROUTE_ES, code, &b);
  buf_free(&b);
}

/* ---- GET / ------------------------------------------------------------------------------- */

static void handle_root(server *s, struct evhttp_request *req) {
  buf b = BUF_INIT;
  int rc = buf_printf(&b,
                      "{\"name\":\"eventd\",\"cluster_name\":\"eventd\",\"cluster_uuid\":"
                      "\"eventd-0000000000000000\",\"version\":{\"number\":\"%s\",\"build_flavor\":"
                      "\"default\",\"build_type\":\"eventd\",\"build_hash\":\"eventd-%s\","
                      "\"build_date\":\"2023-11-04T10:04:57.184859352Z\",\"build_snapshot\":false,"
                      "\"lucene_version\":\"9.8.0\",\"minimum_wire_compatibility_version\":\"7.17.0\","
                      "\"minimum_index_compatibility_version\":\"7.0.0\"},\"tagline\":\"You Know, for "
                      "Search\"}",
                      ES_VERSION, EVD_VERSION);
  if (rc) http_reply_error(s, req, ROUTE_ES, 503, "out of memory");
  else http_reply_buf(s, req, ROUTE_ES, 200, &b);
  buf_free(&b);
}

/* ---- one request ------------------------------------------------------------------------- */

enum { ES_REQ_BULK = 0, ES_REQ_DOC, ES_REQ_CREATE };

/* What the answer needs to know about one item. Strings are offsets into es_request.strings. */
typedef struct es_item_rec {
  es_op op;
  int has_id;
  size_t index_off, index_len, id_off, id_len;
  int status;          /* 0: stored as store_idx; else the item's HTTP status */
  size_t store_idx;
  const char *type;    /* exception type when refused (static string) */
  size_t reason_off, reason_len;
} es_item_rec;

typedef struct es_request {
  http_pending pend; /* first: the close callback gets this address */
  server *s;
  es_state *st;
  int kind;
  int64_t start_ns;
  ingest_batch *b;
  es_item_rec *items;
  size_t nitems, cap;
  size_t stored;   /* events added to the batch */
  buf strings;
  int oom;
  int too_many;    /* more than ES_BULK_MAX_ITEMS actions */
} es_request;

static void es_request_free(es_request *r) {
  if (!r) return;
  free(r->items);
  buf_free(&r->strings);
  free(r);
}

static int save_string(es_request *r, const char *p, size_t n, size_t *off) {
  *off = r->strings.len;
  return n ? buf_append(&r->strings, p, n) : 0;
}

static const char *str_at(const es_request *r, size_t off) {
  return r->strings.data ? r->strings.data + off : "";
}

/* The exception type for an ingest error kind. */
static const char *type_of_kind(int kind) {
  switch (kind) {
    case INGEST_ERR_INVALID: return "document_parsing_exception";
    case INGEST_ERR_SCHEMA: return "document_parsing_exception";
    case INGEST_ERR_TOO_LARGE: return "illegal_argument_exception";
    case INGEST_ERR_UNREGISTERED: return "illegal_argument_exception";
  }
  return "illegal_argument_exception";
}

/* es_bulk_sink: record the item and hand its event to the ingest path. */
static int on_item(void *arg, const es_bulk_item *it) {
  es_request *r = arg;
  if (r->nitems == ES_BULK_MAX_ITEMS) return r->too_many = 1, -1;
  if (r->nitems == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 16;
    es_item_rec *n = realloc(r->items, cap * sizeof *n);
    if (!n) return r->oom = 1, -1;
    r->items = n;
    r->cap = cap;
  }
  es_item_rec *rec = &r->items[r->nitems];
  memset(rec, 0, sizeof *rec);
  rec->op = it->op;
  rec->index_len = it->index_len;
  if (save_string(r, it->index, it->index_len, &rec->index_off) != 0) return r->oom = 1, -1;
  if (it->id) {
    rec->has_id = 1;
    rec->id_len = it->id_len;
    if (save_string(r, it->id, it->id_len, &rec->id_off) != 0) return r->oom = 1, -1;
  }
  r->nitems++;
  const char *reason = NULL;
  char why[448];
  if (it->status) {
    ingest_add_failure(r->b, it->line, INGEST_ERR_INVALID, "", it->reason);
    rec->status = it->status;
    rec->type = it->error_type;
    reason = it->reason;
  } else {
    int rc = ingest_add_json(r->b, it->too_large ? NULL : it->event, it->source_len, it->line);
    if (rc == -ENOMEM) return r->oom = 1, -1;
    if (rc == 0) {
      rec->store_idx = r->stored++;
      return 0;
    }
    const ingest_error *e = ingest_last_error(r->b);
    rec->status = 400;
    rec->type = type_of_kind(e ? e->kind : INGEST_ERR_INVALID);
    if (e && e->field[0]) snprintf(why, sizeof why, "[%s] %s", e->field, e->reason);
    else snprintf(why, sizeof why, "%s", e ? e->reason : "refused");
    reason = why;
  }
  rec->reason_len = strlen(reason);
  if (save_string(r, reason, rec->reason_len, &rec->reason_off) != 0) return r->oom = 1, -1;
  return 0;
}

/* Append the decimal text of v (the answer of a big bulk writes a few numbers per item:
 * no printf on that path). */
static int put_u64(buf *out, uint64_t v) {
  char t[24];
  size_t i = sizeof t;
  do {
    t[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  return buf_append(out, t + i, sizeof t - i);
}

#define PUT_LIT(out, lit) buf_append(out, lit, sizeof(lit) - 1)

/* The body of one stored item (without braces): _index, _id, _version, result, _shards,
 * _seq_no, _primary_term[, status]. Returns 0/-1; *code gets the HTTP status. */
static int write_item_body(buf *out, const es_request *r, const es_item_rec *rec,
                           const ingest_result *res, int with_status, int *code) {
  int rc = buf_puts(out, "\"_index\":");
  rc |= json_write_string(out, str_at(r, rec->index_off), rec->index_len);
  rc |= buf_puts(out, ",\"_id\":");
  if (rec->status) {
    if (rec->has_id) rc |= json_write_string(out, str_at(r, rec->id_off), rec->id_len);
    else rc |= buf_puts(out, "null");
    const char *reason = str_at(r, rec->reason_off);
    rc |= buf_printf(out, ",\"status\":%d,\"error\":", rec->status);
    rc |= buf_puts(out, "{\"type\":");
    rc |= json_write_string(out, rec->type, strlen(rec->type));
    rc |= buf_puts(out, ",\"reason\":");
    rc |= json_write_string(out, reason, rec->reason_len);
    rc |= buf_puts(out, ",\"index\":");
    rc |= json_write_string(out, str_at(r, rec->index_off), rec->index_len);
    rc |= buf_putc(out, '}');
    *code = rec->status;
    return rc;
  }
  const char *id = store_batch_id(res->batch, rec->store_idx);
  uint64_t seq = store_batch_seq(res->batch, rec->store_idx);
  int dup = store_batch_duplicate(res->batch, rec->store_idx);
  rc |= json_write_string(out, id, strlen(id));
  if (dup && rec->op == ES_OP_CREATE) {
    char reason[600];
    snprintf(reason, sizeof reason,
             "[%.500s]: version conflict, document already exists (current version [1])", id);
    rc |= buf_puts(out, ",\"status\":409,\"error\":{\"type\":\"version_conflict_engine_exception\",\"reason\":");
    rc |= json_write_string(out, reason, strlen(reason));
    rc |= buf_puts(out, ",\"index\":");
    rc |= json_write_string(out, str_at(r, rec->index_off), rec->index_len);
    rc |= buf_putc(out, '}');
    *code = 409;
    return rc;
  }
  *code = dup ? 200 : 201;
  rc |= dup ? PUT_LIT(out, ",\"_version\":1,\"result\":\"noop\",")
            : PUT_LIT(out, ",\"_version\":1,\"result\":\"created\",");
  rc |= PUT_LIT(out, "\"_shards\":{\"total\":1,\"successful\":1,\"failed\":0},\"_seq_no\":");
  rc |= put_u64(out, seq);
  rc |= PUT_LIT(out, ",\"_primary_term\":1");
  if (with_status) rc |= dup ? PUT_LIT(out, ",\"status\":200") : PUT_LIT(out, ",\"status\":201");
  return rc;
}

/* ingest_done_cb: answer (loop thread). */
static void on_es_ingested(void *arg, const ingest_result *res) {
  es_request *r = arg;
  server *s = r->s;
  struct evhttp_request *req = http_pending_take(&r->pend);
  if (!req) {
    es_request_free(r);
    return;
  }
  if (res->status != 0) {
    char msg[256];
    int code = http_store_error(req, res->status, 429, msg, sizeof msg);
    es_reply_error(s, req, code, code == 429 ? "es_rejected_execution_exception" : "unavailable_shards_exception", msg);
    es_request_free(r);
    return;
  }
  buf out = BUF_INIT;
  int rc = 0, code = 200;
  if (r->kind == ES_REQ_BULK) {
    int errors = 0;
    /* Errors first in a scratch pass so that "errors" precedes "items" (Fluent Bit looks for
     * "errors":false,"items":[ in the text). */
    for (size_t i = 0; i < r->nitems; i++) {
      const es_item_rec *rec = &r->items[i];
      if (rec->status || (rec->op == ES_OP_CREATE &&
                          store_batch_duplicate(res->batch, rec->store_idx)))
        errors = 1;
    }
    int64_t took = (time_now_ns() - r->start_ns) / NS_PER_MS;
    rc |= buf_reserve(&out, 64 + r->nitems * 200);
    rc |= buf_printf(&out, "{\"took\":%lld,\"errors\":%s,\"items\":[", (long long)took,
                     errors ? "true" : "false");
    for (size_t i = 0; i < r->nitems && rc == 0; i++) {
      const es_item_rec *rec = &r->items[i];
      int item_code;
      if (i) rc |= buf_putc(&out, ',');
      const char *opn = es_op_name(rec->op);
      rc |= PUT_LIT(&out, "{\"");
      rc |= buf_append(&out, opn, strlen(opn));
      rc |= PUT_LIT(&out, "\":{");
      rc |= write_item_body(&out, r, rec, res, 1, &item_code);
      rc |= buf_puts(&out, "}}");
    }
    rc |= buf_puts(&out, "]}");
  } else {
    const es_item_rec *rec = &r->items[0];
    if (rec->status) {
      es_reply_error(s, req, rec->status, rec->type, str_at(r, rec->reason_off));
      es_request_free(r);
      return;
    }
    rc |= buf_putc(&out, '{');
    rc |= write_item_body(&out, r, rec, res, 0, &code);
    rc |= buf_putc(&out, '}');
    if (code == 409) { /* the single-document form of a conflict is a top-level error */
      const char *id = store_batch_id(res->batch, rec->store_idx);
      char reason[600];
      snprintf(reason, sizeof reason,
               "[%.500s]: version conflict, document already exists (current version [1])", id);
      buf_free(&out);
      es_reply_error(s, req, 409, "version_conflict_engine_exception", reason);
      es_request_free(r);
      return;
    }
  }
  if (rc) http_reply_error(s, req, ROUTE_ES, 503, "out of memory building the answer");
  else {
    if (code == 201 && r->kind != ES_REQ_BULK) {
      char loc[600];
      snprintf(loc, sizeof loc, "/%.*s/_doc/%s", (int)(r->items[0].index_len > 255 ? 255 : r->items[0].index_len),
               str_at(r, r->items[0].index_off), store_batch_id(res->batch, r->items[0].store_idx));
      evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
    }
    http_reply_buf(s, req, ROUTE_ES, code, &out);
  }
  buf_free(&out);
  es_request_free(r);
}

/* 1 if the Content-Type is one Elasticsearch accepts for these endpoints (or absent). */
static int content_type_ok(struct evhttp_request *req, char *mt, size_t mtlen) {
  http_media_type(evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type"), mt,
                  mtlen);
  return !mt[0] || strcmp(mt, "application/json") == 0 || strcmp(mt, "application/x-ndjson") == 0 ||
         strcmp(mt, "application/ndjson") == 0 ||
         strcmp(mt, "application/vnd.elasticsearch+json") == 0 ||
         strcmp(mt, "application/vnd.elasticsearch+x-ndjson") == 0;
}

/* Decode and ingest one request. index/id: URL-decoded (id NULL for none). */
static void handle_ingest(es_state *st, server *s, struct evhttp_request *req, int kind,
                          const char *index, const char *id) {
  char mt[128], msg[512];
  if (!content_type_ok(req, mt, sizeof mt)) {
    ingest_count_rejected(s, INGEST_INPUT_ES, REJECT_UNSUPPORTED_MEDIA_TYPE, 1);
    snprintf(msg, sizeof msg, "Content-Type header [%.100s] is not supported", mt);
    es_reply_error(s, req, 406, "media_type_header_exception", msg);
    return;
  }
  if (s->stopping) {
    ingest_count_rejected(s, INGEST_INPUT_ES, REJECT_SHUTTING_DOWN, 1);
    es_reply_error(s, req, 503, "unavailable_shards_exception", "shutting down");
    return;
  }
  http_body body;
  int brc = http_body_read(req, s->cfg.limits.body_max_bytes, &body, msg, sizeof msg);
  if (brc != HTTP_BODY_OK) {
    int code = brc == HTTP_BODY_TOO_LARGE ? 413 : brc == HTTP_BODY_UNSUPPORTED_ENCODING ? 415
             : brc == HTTP_BODY_NOMEM ? 503 : 400;
    ingest_count_rejected(s, INGEST_INPUT_ES,
                          code == 413 ? REJECT_TOO_LARGE : code == 415 ? REJECT_UNSUPPORTED_MEDIA_TYPE
                          : code == 503 ? REJECT_OVERLOADED : REJECT_INVALID, 1);
    es_reply_error(s, req, code, code == 413 ? "content_too_long_exception" : "parse_exception", msg);
    return;
  }
  METRIC_ADD(s->m.ingest_bytes, body.wire_len);
  es_request *r = calloc(1, sizeof *r);
  if (!r || !(r->b = ingest_begin(s))) {
    free(r);
    http_body_free(&body);
    es_reply_error(s, req, 503, "unavailable_shards_exception", "out of memory");
    return;
  }
  r->s = s;
  r->st = st;
  r->kind = kind;
  r->start_ns = time_now_ns();
  ingest_set_input(r->b, INGEST_INPUT_ES);
  ingest_set_partial(r->b);
  ingest_reserve(r->b, body.len); /* room for the records up front: no regrowth copies */
  const evd_limits *lim = &s->cfg.limits;
  int bad = 0;
  if (kind == ES_REQ_BULK) {
    int rc = es_bulk_decode(&s->req_arena, &st->opts, index ? index : "", index ? strlen(index) : 0,
                            body.data, body.len, lim->event_max_bytes, lim->max_depth, on_item, r,
                            msg, sizeof msg);
    if (rc == -1) bad = 1;
    else if (rc == -2 && r->too_many) {
      bad = 1;
      snprintf(msg, sizeof msg, "a bulk request may hold at most %d actions; split it",
               ES_BULK_MAX_ITEMS);
    } else if (rc == -2) r->oom = 1;
  } else {
    es_bulk_item it;
    memset(&it, 0, sizeof it);
    it.op = kind == ES_REQ_CREATE ? ES_OP_CREATE : ES_OP_INDEX;
    it.index = index;
    it.index_len = strlen(index);
    it.id = id;
    it.id_len = id ? strlen(id) : 0;
    it.source_len = body.len;
    size_t e = body.len;
    while (e > 0 && (body.data[e - 1] == '\n' || body.data[e - 1] == ' ' ||
                     body.data[e - 1] == '\r' || body.data[e - 1] == '\t'))
      e--;
    if (body.len > lim->event_max_bytes) {
      it.too_large = 1;
    } else {
      json_error je;
      arena_reset(&s->req_arena);
      json_value *doc = json_parse(&s->req_arena, body.data, body.len, lim->max_depth - 1, &je);
      if (!doc) {
        if (strcmp(je.message, "out of memory") == 0) r->oom = 1;
        it.status = 400;
        it.error_type = body.len ? "document_parsing_exception" : "parse_exception";
        snprintf(it.reason, sizeof it.reason, body.len ? "[1:%zu] failed to parse: %s"
                                                       : "request body is required",
                 je.offset + 1, je.message);
      } else {
        int oom = 0;
        it.event = es_map_document(&s->req_arena, &st->opts, index, it.index_len, id, it.id_len,
                                   doc, &oom, it.reason, sizeof it.reason);
        if (!it.event) {
          if (oom) r->oom = 1;
          it.status = 400;
          it.error_type = "document_parsing_exception";
        }
      }
    }
    if (!r->oom) on_item(r, &it);
  }
  arena_reset(&s->req_arena);
  http_body_free(&body);
  if (r->oom || ingest_out_of_memory(r->b)) {
    ingest_abort(r->b);
    es_request_free(r);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Retry-After", "1");
    es_reply_error(s, req, 503, "unavailable_shards_exception", "out of memory while parsing the request");
    return;
  }
  if (bad) {
    ingest_abort(r->b);
    es_request_free(r);
    es_reply_error(s, req, 400, "illegal_argument_exception", msg);
    return;
  }
  ingest_batch *b = r->b;
  r->b = NULL;
  int rc = ingest_submit(b, on_es_ingested, r);
  if (rc != 0) {
    int code = http_store_error(req, rc, 429, msg, sizeof msg);
    es_reply_error(s, req, code, code == 429 ? "es_rejected_execution_exception" : "unavailable_shards_exception", msg);
    es_request_free(r);
    return;
  }
  http_pending_watch(&r->pend, req);
}

/* ---- routing ----------------------------------------------------------------------------- */

/* Copy the URL-decoded segment p[0..n) into a malloc'd string (NULL when out of memory or
 * the segment decodes to something with a NUL). */
static char *decode_segment(const char *p, size_t n) {
  char *raw = malloc(n + 1);
  if (!raw) return NULL;
  memcpy(raw, p, n);
  raw[n] = '\0';
  size_t outlen = 0;
  char *dec = evhttp_uridecode(raw, 0, &outlen);
  free(raw);
  if (dec && strlen(dec) != outlen) {
    free(dec);
    return NULL;
  }
  return dec;
}

static int es_http_route(void *state, server *s, struct evhttp_request *req, const char *path,
                         const char *query) {
  es_state *st = state;
  if (!st) return 0;
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  /* Elasticsearch clients (elasticsearch-py 8, the Java client) check this header on every
   * answer; it is set for every request this input takes. */
  struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
  if (strcmp(path, "/") == 0) {
    evhttp_add_header(oh, "X-elastic-product", "Elasticsearch");
    if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD) handle_root(s, req);
    else http_method_not_allowed(s, req, ROUTE_ES, "GET, HEAD");
    return 1;
  }
  if (strcmp(path, "/_bulk") == 0) {
    evhttp_add_header(oh, "X-elastic-product", "Elasticsearch");
    if (m == EVHTTP_REQ_POST || m == EVHTTP_REQ_PUT) handle_ingest(st, s, req, ES_REQ_BULK, NULL, NULL);
    else http_method_not_allowed(s, req, ROUTE_ES, "POST, PUT");
    return 1;
  }
  /* /{index}/{_doc|_create|_bulk}[/{id}] */
  const char *p1 = path + 1;
  const char *sl1 = strchr(p1, '/');
  if (!sl1 || sl1 == p1 || *p1 == '_') return 0;
  const char *p2 = sl1 + 1;
  const char *sl2 = strchr(p2, '/');
  size_t n2 = sl2 ? (size_t)(sl2 - p2) : strlen(p2);
  int kind;
  if (n2 == 4 && memcmp(p2, "_doc", 4) == 0) kind = ES_REQ_DOC;
  else if (n2 == 7 && memcmp(p2, "_create", 7) == 0) kind = ES_REQ_CREATE;
  else if (n2 == 5 && memcmp(p2, "_bulk", 5) == 0) kind = ES_REQ_BULK;
  else return 0;
  const char *p3 = sl2 ? sl2 + 1 : NULL;
  if (p3 && (strchr(p3, '/') || !*p3)) return 0;
  if ((kind == ES_REQ_BULK && p3) || (kind == ES_REQ_CREATE && !p3)) return 0;
  evhttp_add_header(oh, "X-elastic-product", "Elasticsearch");
  if (kind == ES_REQ_BULK) {
    if (m != EVHTTP_REQ_POST && m != EVHTTP_REQ_PUT) {
      http_method_not_allowed(s, req, ROUTE_ES, "POST, PUT");
      return 1;
    }
  } else if (p3 ? (m != EVHTTP_REQ_POST && m != EVHTTP_REQ_PUT) : m != EVHTTP_REQ_POST) {
    http_method_not_allowed(s, req, ROUTE_ES, p3 ? "POST, PUT" : "POST");
    return 1;
  }
  if (kind == ES_REQ_DOC && query && strstr(query, "op_type=create")) kind = ES_REQ_CREATE;
  char *index = decode_segment(p1, (size_t)(sl1 - p1));
  char *id = p3 ? decode_segment(p3, strlen(p3)) : NULL;
  if (!index || (p3 && !id) || !*index) {
    es_reply_error(s, req, 400, "invalid_index_name_exception", "invalid index name or id in the URL");
  } else {
    handle_ingest(st, s, req, kind, index, id);
  }
  free(index);
  free(id);
  return 1;
}

/* ---- plugin ------------------------------------------------------------------------------ */

static int es_start(server *s, void **state, char *err, size_t errlen) {
  *state = NULL;
  es_state *st = calloc(1, sizeof *st);
  if (!st) {
    snprintf(err, errlen, "es: out of memory");
    return -1;
  }
  const char *rule = s->cfg.es_index_rule ? s->cfg.es_index_rule : "{stream}-{env}";
  if (es_index_rule_parse(rule, &st->rule, err, errlen) != 0) {
    free(st);
    return -1;
  }
  snprintf(st->default_type, sizeof st->default_type, "%s",
           s->cfg.es_default_type ? s->cfg.es_default_type : "es.document");
  st->opts.rule = &st->rule;
  st->opts.default_type = st->default_type;
  *state = st;
  return 0;
}

static void es_stop(void *state) { (void)state; }
static void es_free(void *state) { free(state); }

const input_plugin es_input_plugin = {
    .name = "es",
    .start = es_start,
    .announce = NULL,
    .stop = es_stop,
    .free = es_free,
    .http_route = es_http_route,
};
