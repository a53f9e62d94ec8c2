/* http_query: the read endpoints GET /v1/events, /v1/events/{id}, /v1/events/count and
 * /v1/events/histogram (docs/api.md). Each parses its query string with query_params, runs
 * the store call on the loop thread and writes the answer straight into the request's
 * output buffer: event JSON is copied once, from the store's record into the evbuffer. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/timeutil.h"
#include "server/server.h"

void http_query_limits(const server *s, qp_limits *ql) {
  ql->default_limit = (size_t)s->cfg.query_default_limit;
  ql->max_limit = (size_t)s->cfg.query_max_limit;
}

/* Parse the query string for ep into *qp (strings in the request arena). On error answers
 * 400 and returns -1. */
static int parse_or_400(server *s, struct evhttp_request *req, route r, const char *query,
                        qp_endpoint ep, query_params *qp) {
  qp_limits ql;
  http_query_limits(s, &ql);
  char err[512];
  if (query_params_parse(query, query ? strlen(query) : 0, ep, &ql, time_now_ns(), &s->req_arena,
                         qp, err, sizeof err) != 0) {
    http_reply_error(s, req, r, 400, "%s", err);
    return -1;
  }
  /* Access control: only the caller's tenants (auth.h; no-op with auth off). */
  if (http_auth_restrict(s, req, r, &qp->filter, NULL) != 0) return -1;
  return 0;
}

static void store_error(server *s, struct evhttp_request *req, route r, int rc) {
  log_error(&s->log, "%s: store read failed: %s", route_label(r), strerror(-rc));
  http_reply_error(s, req, r, 500, "store read failed: %s", strerror(-rc));
}

/* ---- GET /v1/events ------------------------------------------------------------------- */

typedef struct page {
  struct evbuffer *out;
  size_t n;
  size_t bytes;
  size_t max_bytes;
  store_pos last;
  int stopped_early; /* the byte bound ended the page before `limit` */
  int oom;
} page;

static int on_page_record(void *arg, uint64_t seq, const record_view *rv) {
  page *p = arg;
  if (p->n > 0 && p->bytes + rv->json.n > p->max_bytes) {
    p->stopped_early = 1;
    return 1;
  }
  if ((p->n > 0 && evbuffer_add(p->out, ",", 1) != 0) ||
      evbuffer_add(p->out, rv->json.p, rv->json.n) != 0) {
    p->oom = 1;
    return 1;
  }
  p->n++;
  p->bytes += rv->json.n + 1;
  p->last.time_ns = rv->time_ns;
  p->last.seq = seq;
  return 0;
}

void http_query_events(server *s, struct evhttp_request *req, const char *query) {
  query_params qp;
  if (parse_or_400(s, req, ROUTE_QUERY, query, QP_QUERY, &qp) != 0) goto done;
  struct evbuffer *out = evhttp_request_get_output_buffer(req);
  page p = {.out = out, .max_bytes = (size_t)s->cfg.query_max_response_bytes};
  evbuffer_add(out, "{\"events\":[", 11);
  store_pos last;
  int more = 0;
  int rc = store_query(s->st, &qp.filter, qp.desc, qp.limit, qp.has_cursor ? &qp.cursor : NULL,
                       on_page_record, &p, &last, &more);
  if (rc != 0 || p.oom) {
    evbuffer_drain(out, evbuffer_get_length(out));
    if (rc != 0) store_error(s, req, ROUTE_QUERY, rc);
    else http_reply_error(s, req, ROUTE_QUERY, 500, "out of memory building the answer");
    goto done;
  }
  evbuffer_add(out, "]", 1);
  /* Our own record of the last event delivered is the cursor: it is right also when the
   * byte bound stopped the page early. */
  if ((more || p.stopped_early) && p.n > 0) {
    char cur[CURSOR_LEN + 1];
    cursor_encode(&p.last, qp.desc, cur);
    evbuffer_add_printf(out, ",\"next\":\"%s\"", cur);
  }
  evbuffer_add(out, "}", 1);
  http_reply_output(s, req, ROUTE_QUERY, 200);
done:
  arena_reset(&s->req_arena);
}

/* ---- GET /v1/events/{id} ------------------------------------------------------------- */

typedef struct get_ctx {
  server *s;
  struct evbuffer *out;
  int hidden; /* the event exists but the caller may not see it: answered as missing */
  int show_archived; /* ?archived=true|any (docs/lifecycle.md); else archived = missing */
} get_ctx;

static int on_get_record(void *arg, uint64_t seq, const record_view *rv) {
  (void)seq;
  get_ctx *g = arg;
  if (!http_auth_visible(g->s, rv) ||
      (!g->show_archived && (store_marks_of(g->s->st, seq) & STORE_MARK_ARCHIVED))) {
    g->hidden = 1;
    return 0;
  }
  return evbuffer_add(g->out, rv->json.p, rv->json.n) != 0;
}

void http_query_get(server *s, struct evhttp_request *req, const char *raw_id) {
  size_t idlen = 0;
  int oom = 0;
  char *id = query_decode(&s->req_arena, raw_id, strlen(raw_id), 0, &idlen, &oom);
  if (!id || idlen == 0) {
    if (oom) http_reply_error(s, req, ROUTE_GET, 503, "out of memory");
    else http_reply_error(s, req, ROUTE_GET, 400, "malformed event id in the path");
    goto done;
  }
  struct evbuffer *out = evhttp_request_get_output_buffer(req);
  get_ctx g = {s, out, 0, 0};
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  const char *gq = uri ? evhttp_uri_get_query(uri) : NULL;
  if (gq && (strstr(gq, "archived=true") || strstr(gq, "archived=any"))) g.show_archived = 1;
  int rc = store_get(s->st, id, idlen, on_get_record, &g);
  if (rc == -ENOENT || (rc == 0 && g.hidden)) {
    http_reply_error(s, req, ROUTE_GET, 404, "event not found");
  } else if (rc != 0) {
    evbuffer_drain(out, evbuffer_get_length(out));
    store_error(s, req, ROUTE_GET, rc);
  } else {
    http_reply_output(s, req, ROUTE_GET, 200);
  }
done:
  arena_reset(&s->req_arena);
}

/* ---- GET /v1/events/count ------------------------------------------------------------ */

void http_query_count(server *s, struct evhttp_request *req, const char *query) {
  query_params qp;
  if (parse_or_400(s, req, ROUTE_COUNT, query, QP_COUNT, &qp) != 0) goto done;
  uint64_t n = 0;
  int rc = store_count(s->st, &qp.filter, &n);
  if (rc != 0) {
    store_error(s, req, ROUTE_COUNT, rc);
    goto done;
  }
  evbuffer_add_printf(evhttp_request_get_output_buffer(req), "{\"count\":%llu}",
                      (unsigned long long)n);
  http_reply_output(s, req, ROUTE_COUNT, 200);
done:
  arena_reset(&s->req_arena);
}

/* ---- GET /v1/events/histogram -------------------------------------------------------- */

typedef struct hist {
  buf *out;
  buf groups;        /* "groups" members of the open bucket */
  int grouped;
  int open;          /* a bucket is being collected */
  int64_t bucket_ns;
  uint64_t count;
  size_t nbuckets;
  size_t max_buckets;
  int too_many;
  int oom;
} hist;

static int hist_flush(hist *h) {
  if (!h->open) return 0;
  char t[TIME_RFC3339_LEN + 1];
  time_format_rfc3339(h->bucket_ns, t);
  int rc = buf_printf(h->out, "%s{\"time\":\"%s\",\"count\":%llu", h->nbuckets > 1 ? "," : "", t,
                      (unsigned long long)h->count);
  if (h->grouped) rc |= buf_printf(h->out, ",\"groups\":{%s}", h->groups.data ? h->groups.data : "");
  rc |= buf_putc(h->out, '}');
  buf_clear(&h->groups);
  h->open = 0;
  return rc;
}

static int on_hist_cell(void *arg, int64_t bucket_ns, const char *group, size_t glen,
                        uint64_t count) {
  hist *h = arg;
  if (!h->open || bucket_ns != h->bucket_ns) {
    if (hist_flush(h) != 0) {
      h->oom = 1;
      return 1;
    }
    if (++h->nbuckets > h->max_buckets) {
      h->too_many = 1;
      return 1;
    }
    h->open = 1;
    h->bucket_ns = bucket_ns;
    h->count = 0;
  }
  h->count += count;
  if (h->grouped) {
    int rc = 0;
    if (h->groups.len) rc |= buf_putc(&h->groups, ',');
    rc |= json_write_string(&h->groups, group, glen);
    rc |= buf_printf(&h->groups, ":%llu", (unsigned long long)count);
    if (rc) {
      h->oom = 1;
      return 1;
    }
  }
  return 0;
}

/* Number of buckets [since, until) spans at this interval (floor-aligned), saturating. */
static uint64_t bucket_span(int64_t since, int64_t until, int64_t interval) {
  if (until <= since) return 0;
  __int128 first = since / interval - (since % interval < 0 ? 1 : 0);
  __int128 lastv = (until - 1) / interval - ((until - 1) % interval < 0 ? 1 : 0);
  __int128 n = lastv - first + 1;
  return n > (__int128)UINT64_MAX ? UINT64_MAX : (uint64_t)n;
}

void http_query_histogram(server *s, struct evhttp_request *req, const char *query) {
  query_params qp;
  if (parse_or_400(s, req, ROUTE_HISTOGRAM, query, QP_HISTOGRAM, &qp) != 0) goto done;
  size_t max_buckets = (size_t)s->cfg.histogram_max_buckets;
  const char *advice = "narrow since/until or use a larger interval";
  if (qp.filter.since_ns != INT64_MIN && qp.filter.until_ns != INT64_MAX) {
    uint64_t nb = bucket_span(qp.filter.since_ns, qp.filter.until_ns, qp.interval_ns);
    if (nb > max_buckets) {
      http_reply_error(s, req, ROUTE_HISTOGRAM, 400,
                       "histogram would have %llu buckets; the limit is %zu "
                       "(query.histogram_max_buckets): %s",
                       (unsigned long long)nb, max_buckets, advice);
      goto done;
    }
  }
  buf out = BUF_INIT;
  hist h = {.out = &out, .grouped = qp.by != STORE_GROUP_NONE, .max_buckets = max_buckets};
  buf_init(&h.groups);
  int rc = buf_puts(&out, "{\"interval\":");
  rc |= json_write_string(&out, qp.interval_text, strlen(qp.interval_text));
  rc |= buf_puts(&out, ",\"buckets\":[");
  int src = rc ? 0 : store_histogram(s->st, &qp.filter, qp.interval_ns, qp.by, on_hist_cell, &h);
  if (!h.too_many && !h.oom && src == 0 && !rc) {
    rc |= hist_flush(&h);
    rc |= buf_puts(&out, "]}");
  }
  if (h.too_many || src == -E2BIG) {
    http_reply_error(s, req, ROUTE_HISTOGRAM, 400,
                     "histogram has more than %zu buckets (query.histogram_max_buckets): %s",
                     src == -E2BIG ? (size_t)100000 : max_buckets, advice);
  } else if (src != 0) {
    store_error(s, req, ROUTE_HISTOGRAM, src);
  } else if (rc || h.oom) {
    http_reply_error(s, req, ROUTE_HISTOGRAM, 500, "out of memory building the answer");
  } else {
    http_reply_buf(s, req, ROUTE_HISTOGRAM, 200, &out);
  }
  buf_free(&out);
  buf_free(&h.groups);
done:
  arena_reset(&s->req_arena);
}
