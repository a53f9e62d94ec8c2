/* http_magma: Magma orc8r-compatible event queries (docs/api.md, "Magma orc8r-compatible
 * queries"); parameters and matching in magma_query.h.
 *
 * An event of network N is one whose tenant is N (variant A) or whose label network_id is N
 * with another tenant (variant B). Both variants are store queries that use the index
 * (tenant, or the label, plus every list parameter of one value); list parameters with
 * several values, and B's "other tenant", are checked on each record (magma_match). A page
 * (from + size events) is the merge of the first from + size events of A and of B; each is
 * read in chunks with the store's cursor, so memory stays bounded by from + size (at most
 * 10000, as Elasticsearch's result window). */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/timeutil.h"
#include "server/magma_query.h"
#include "server/server.h"

#define CHUNK_MIN 256 /* records asked of the store per round when post-filtering */

/* Magma's error shape is {"message": ...} (Echo); eventd's is {"error": ...}: give both. */
static void magma_error(server *s, struct evhttp_request *req, route r, int code, const char *msg) {
  buf b = BUF_INIT;
  int rc = buf_puts(&b, "{\"error\":");
  rc |= json_write_string(&b, msg, strlen(msg));
  rc |= buf_puts(&b, ",\"message\":");
  rc |= json_write_string(&b, msg, strlen(msg));
  rc |= buf_putc(&b, '}');
  if (rc) http_reply_error(s, req, r, 500, "out of memory");
  else http_reply_buf(s, req, r, code, &b);
  buf_free(&b);
}

static void store_failed(server *s, struct evhttp_request *req, route r, int rc) {
  char msg[160];
  snprintf(msg, sizeof msg, "store read failed: %s", strerror(-rc));
  log_error(&s->log, "%s: %s", route_label(r), msg);
  magma_error(s, req, r, 500, msg);
}

/* ---- count ------------------------------------------------------------------------------ */

typedef struct count_ctx {
  const magma_query *q;
  int by;
  uint64_t n;
} count_ctx;

static int on_count_record(void *arg, uint64_t seq, const record_view *rv) {
  count_ctx *c = arg;
  if (magma_match(c->q, c->by, rv)) c->n++;
  return 0;
}

/* Events of variant `by`. Returns 0 or -errno. */
static int count_variant(server *s, const magma_query *q, int by, uint64_t *out) {
  store_filter f;
  int exact;
  magma_store_filter(q, by, &f, &exact);
  http_auth_restrict_quiet(s, &f); /* access control: the caller's tenants only */
  if (exact) return store_count(s->st, &f, out);
  if (by == MAGMA_BY_LABEL) {
    /* label N minus (label N and tenant N), when the lists need no per-record check */
    store_filter g;
    int lists_exact;
    magma_store_filter(q, MAGMA_BY_TENANT, &g, &lists_exact);
    http_auth_restrict_quiet(s, &g);
    if (lists_exact) {
      uint64_t all = 0, both = 0;
      int rc = store_count(s->st, &f, &all);
      g.nlabels = 1;
      g.labels[0].key = "network_id";
      g.labels[0].value = q->network_id;
      if (rc == 0) rc = store_count(s->st, &g, &both);
      *out = all - both;
      return rc;
    }
  }
  count_ctx c = {q, by, 0};
  uint64_t after = 0, last = 0;
  for (;;) {
    int rc = store_scan_seq(s->st, &f, after, 4096, on_count_record, &c, &last);
    if (rc) return rc;
    if (last <= after) break;
    after = last;
  }
  *out = c.n;
  return 0;
}

/* ---- events ----------------------------------------------------------------------------- */

typedef struct hit {
  int64_t time_ns;
  uint64_t seq;
  const char *json; /* canonical JSON, copied into the request arena */
  size_t json_len;
} hit;

typedef struct collect_ctx {
  const magma_query *q;
  int by;
  int exact;
  hit *hits;
  size_t n, want;
  arena *a;
  int oom;
} collect_ctx;

static int on_collect(void *arg, uint64_t seq, const record_view *rv) {
  collect_ctx *c = arg;
  if (!c->exact && !magma_match(c->q, c->by, rv)) return 0;
  char *j = arena_alloc(c->a, rv->json.n + 1);
  if (!j) {
    c->oom = 1;
    return 1;
  }
  memcpy(j, rv->json.p, rv->json.n);
  j[rv->json.n] = '\0';
  c->hits[c->n++] = (hit){rv->time_ns, seq, j, rv->json.n};
  return c->n >= c->want;
}

/* The first `want` events of variant `by`, in the query's order, into c->hits. */
static int collect_variant(server *s, collect_ctx *c) {
  store_filter f;
  magma_store_filter(c->q, c->by, &f, &c->exact);
  http_auth_restrict_quiet(s, &f); /* access control: the caller's tenants only */
  store_pos pos, *after = NULL;
  for (;;) {
    size_t ask = c->want - c->n;
    if (!c->exact && ask < CHUNK_MIN) ask = CHUNK_MIN;
    store_pos last;
    int more = 0;
    size_t before = c->n;
    int rc = store_query(s->st, &f, c->q->desc, ask, after, on_collect, c, &last, &more);
    if (rc) return rc;
    if (c->oom) return -ENOMEM;
    if (c->n >= c->want || !more) return 0;
    if (c->exact && c->n == before) return 0;
    pos = last;
    after = &pos;
  }
}

/* 1 if a comes before b in the query's order. */
static int hit_before(const hit *a, const hit *b, int desc) {
  if (a->time_ns != b->time_ns) return desc ? a->time_ns > b->time_ns : a->time_ns < b->time_ns;
  return desc ? a->seq > b->seq : a->seq < b->seq;
}

/* Append one event in Magma's shape: {stream_name, event_type, hardware_id, tag, timestamp,
 * value}. Returns 0, or -1 when out of memory or the record's JSON does not parse. */
static int write_magma_event(server *s, buf *out, const hit *h) {
  json_error je;
  json_value *ev = json_parse(&s->req_arena, h->json, h->json_len, JSON_MAX_DEPTH_CAP, &je);
  if (!ev || ev->type != JSON_OBJECT) return -1;
  const json_value *stream = json_get(ev, "stream"), *type = json_get(ev, "type"),
                   *source = json_get(ev, "source"), *tag = json_get(ev, "tag"),
                   *data = json_get(ev, "data");
  int rc = buf_puts(out, "{\"stream_name\":");
  rc |= stream ? json_write_string(out, stream->s, stream->n) : buf_puts(out, "\"\"");
  rc |= buf_puts(out, ",\"event_type\":");
  rc |= type ? json_write_string(out, type->s, type->n) : buf_puts(out, "\"\"");
  rc |= buf_puts(out, ",\"hardware_id\":");
  rc |= source ? json_write_string(out, source->s, source->n) : buf_puts(out, "\"\"");
  rc |= buf_puts(out, ",\"tag\":");
  rc |= tag ? json_write_string(out, tag->s, tag->n) : buf_puts(out, "\"\"");
  char t[TIME_RFC3339_LEN + 1];
  time_format_rfc3339(h->time_ns, t);
  rc |= buf_printf(out, ",\"timestamp\":\"%s\",\"value\":", t);
  rc |= data ? json_write_value(out, data) : buf_puts(out, "{}");
  rc |= buf_putc(out, '}');
  return rc ? -1 : 0;
}

static void handle_events(server *s, struct evhttp_request *req, const magma_query *q, route r) {
  size_t want = q->ep == MAGMA_LEGACY ? MAGMA_DEFAULT_SIZE : q->from + q->size;
  buf *out = &s->scratch;
  buf_clear(out);
  if (want == 0) {
    buf_puts(out, "[]");
    http_reply_buf(s, req, r, 200, out);
    return;
  }
  hit *hits = calloc(2 * want, sizeof *hits);
  if (!hits) {
    magma_error(s, req, r, 503, "out of memory");
    return;
  }
  collect_ctx a = {q, MAGMA_BY_TENANT, 0, hits, 0, want, &s->req_arena, 0};
  collect_ctx b = {q, MAGMA_BY_LABEL, 0, hits + want, 0, want, &s->req_arena, 0};
  int rc = collect_variant(s, &a);
  if (rc == 0) rc = collect_variant(s, &b);
  if (rc != 0) {
    free(hits);
    if (rc == -ENOMEM) magma_error(s, req, r, 503, "out of memory");
    else store_failed(s, req, r, rc);
    return;
  }
  /* Merge A and B (disjoint), skip `from`, write `size` (legacy: all 50). */
  size_t skip = q->ep == MAGMA_LEGACY ? 0 : q->from;
  size_t take = q->ep == MAGMA_LEGACY ? MAGMA_DEFAULT_SIZE : q->size;
  size_t i = 0, j = 0, pos = 0, written = 0;
  int w = buf_putc(out, '[');
  while (w == 0 && written < take && (i < a.n || j < b.n)) {
    const hit *h;
    if (j >= b.n || (i < a.n && hit_before(&a.hits[i], &b.hits[j], q->desc))) h = &a.hits[i++];
    else h = &b.hits[j++];
    if (pos++ < skip) continue;
    if (written++) w |= buf_putc(out, ',');
    w |= write_magma_event(s, out, h);
  }
  w |= buf_putc(out, ']');
  free(hits);
  if (w) magma_error(s, req, r, 500, "cannot build the answer (out of memory or a damaged record)");
  else http_reply_buf(s, req, r, 200, out);
  if (s->scratch.cap > 4 * 1024 * 1024) buf_free(&s->scratch);
}

/* ---- routing ---------------------------------------------------------------------------- */

void http_magma_route(server *s, struct evhttp_request *req, const char *path, const char *query) {
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  const char *rest = path + strlen("/magma/v1/events/");
  magma_query q;
  char err[512];
  int rc = magma_parse(rest, query, query ? strlen(query) : 0, &s->req_arena, &q, err, sizeof err);
  route r = rc != 0 ? ROUTE_OTHER
            : q.ep == MAGMA_COUNT ? ROUTE_MAGMA_COUNT
            : q.ep == MAGMA_LEGACY ? ROUTE_MAGMA_STREAM
                                   : ROUTE_MAGMA_EVENTS;
  if (rc == -2) {
    char shown[80];
    snprintf(err, sizeof err, "no such endpoint: %s", http_printable(path, strlen(path), shown));
    magma_error(s, req, ROUTE_OTHER, 404, err);
  } else if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
    http_method_not_allowed(s, req, r, "GET, HEAD");
  } else if (rc != 0) {
    magma_error(s, req, r, 400, err);
  } else if (q.ep == MAGMA_COUNT) {
    uint64_t na = 0, nb = 0;
    int c = count_variant(s, &q, MAGMA_BY_TENANT, &na);
    if (c == 0) c = count_variant(s, &q, MAGMA_BY_LABEL, &nb);
    if (c != 0) {
      store_failed(s, req, r, c);
    } else {
      buf *out = &s->scratch;
      buf_clear(out);
      buf_printf(out, "%llu", (unsigned long long)(na + nb));
      http_reply_buf(s, req, r, 200, out);
    }
  } else {
    handle_events(s, req, &q, r);
  }
  arena_reset(&s->req_arena);
}
