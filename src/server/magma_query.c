/* magma_query: see magma_query.h. */
#include "server/magma_query.h"

#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"
#include "server/query_params.h"

/* Split a decoded comma list into l. Empty items are errors. Returns 0 or -1 with err. */
static int parse_list(const char *name, const char *v, size_t n, magma_list *l, char *err, size_t errlen) {
  l->n = 0;
  const char *p = v, *end = v + n;
  while (p <= end) {
    const char *c = memchr(p, ',', (size_t)(end - p));
    const char *e = c ? c : end;
    if (e == p) {
      snprintf(err, errlen, "%s: empty value in the list", name);
      return -1;
    }
    if (l->n == MAGMA_MAX_VALUES) {
      snprintf(err, errlen, "%s: more than %d values", name, MAGMA_MAX_VALUES);
      return -1;
    }
    l->v[l->n] = p;
    l->len[l->n++] = (size_t)(e - p);
    if (!c) break;
    p = c + 1;
  }
  return 0;
}

/* A whole number 0..max. Returns 0 or -1 with err. */
static int parse_count(const char *name, const char *v, size_t n, size_t max, size_t *out, char *err,
                       size_t errlen) {
  size_t x = 0;
  int ok = n > 0 && n <= 9;
  for (size_t i = 0; ok && i < n; i++) {
    if (v[i] < '0' || v[i] > '9') ok = 0;
    else x = x * 10 + (size_t)(v[i] - '0');
  }
  if (!ok || x > max) {
    snprintf(err, errlen, "%s: expected a whole number 0..%zu, got '%.*s'", name, max,
             (int)(n > 64 ? 64 : n), v);
    return -1;
  }
  *out = x;
  return 0;
}

static int parse_time(const char *name, const char *v, size_t n, int64_t *out, char *err, size_t errlen) {
  if (time_parse_rfc3339(v, n, out) != 0) {
    snprintf(err, errlen, "%s: expected an RFC 3339 time such as 2026-11-21T08:00:00Z, got '%.*s'",
             name, (int)(n > 64 ? 64 : n), v);
    return -1;
  }
  return 0;
}

#define IS(lit) (kl == sizeof(lit) - 1 && memcmp(k, lit, kl) == 0)

int magma_parse(const char *rest, const char *qs, size_t qlen, arena *a, magma_query *q, char *err,
                size_t errlen) {
  memset(q, 0, sizeof *q);
  q->size = MAGMA_DEFAULT_SIZE;
  q->start_ns = INT64_MIN;
  q->end_ns = INT64_MAX;
  /* Path: NETWORK | NETWORK/about/count | NETWORK/STREAM */
  const char *s1 = strchr(rest, '/');
  size_t netlen = s1 ? (size_t)(s1 - rest) : strlen(rest);
  if (netlen == 0) return -2;
  int oom = 0;
  size_t n;
  q->network_id = query_decode(a, rest, netlen, 0, &q->network_len, &oom);
  if (!q->network_id || q->network_len == 0) {
    snprintf(err, errlen, oom ? "out of memory" : "malformed network_id in the path");
    return -1;
  }
  q->ep = MAGMA_EVENTS;
  if (s1) {
    const char *seg = s1 + 1;
    if (strcmp(seg, "about/count") == 0) {
      q->ep = MAGMA_COUNT;
    } else if (*seg && !strchr(seg, '/')) {
      q->ep = MAGMA_LEGACY;
      q->desc = 1;
      const char *st = query_decode(a, seg, strlen(seg), 0, &n, &oom);
      if (!st || n == 0) {
        snprintf(err, errlen, oom ? "out of memory" : "malformed stream_name in the path");
        return -1;
      }
      q->streams.v[0] = st;
      q->streams.len[0] = n;
      q->streams.n = 1;
    } else {
      return -2;
    }
  }
  /* Query string. */
  const char *p = qs, *end = qs ? qs + qlen : NULL;
  while (p && p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *pe = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(pe - p));
    const char *ke = eq ? eq : pe;
    size_t kl;
    const char *k = query_decode(a, p, (size_t)(ke - p), 1, &kl, &oom);
    const char *v = eq ? query_decode(a, eq + 1, (size_t)(pe - eq - 1), 1, &n, &oom) : "";
    if (!eq) n = 0;
    if (!k || !v) {
      snprintf(err, errlen, oom ? "out of memory" : "malformed percent-encoding in the query string");
      return -1;
    }
    p = amp ? amp + 1 : end;
    if (kl == 0) continue;
    int rc = 0;
    if (q->ep == MAGMA_LEGACY) {
      /* single values, as Magma's legacy handler reads them */
      magma_list *l = IS("event_type") ? &q->events : IS("hardware_id") ? &q->hw_ids : IS("tag") ? &q->tags : NULL;
      if (l && n) {
        l->v[0] = v;
        l->len[0] = n;
        l->n = 1;
      }
      continue;
    }
    if (n == 0) continue; /* an empty parameter is no filter, as in Magma */
    if (IS("streams")) rc = parse_list("streams", v, n, &q->streams, err, errlen);
    else if (IS("events")) rc = parse_list("events", v, n, &q->events, err, errlen);
    else if (IS("tags")) rc = parse_list("tags", v, n, &q->tags, err, errlen);
    else if (IS("hw_ids")) rc = parse_list("hw_ids", v, n, &q->hw_ids, err, errlen);
    else if (IS("start")) rc = parse_time("start", v, n, &q->start_ns, err, errlen);
    else if (IS("end")) rc = parse_time("end", v, n, &q->end_ns, err, errlen);
    else if (IS("from") && q->ep == MAGMA_EVENTS) rc = parse_count("from", v, n, MAGMA_MAX_WINDOW, &q->from, err, errlen);
    else if (IS("size") && q->ep == MAGMA_EVENTS) rc = parse_count("size", v, n, MAGMA_MAX_WINDOW, &q->size, err, errlen);
    if (rc) return -1;
  }
  if (q->ep == MAGMA_EVENTS && q->from + q->size > MAGMA_MAX_WINDOW) {
    snprintf(err, errlen, "from + size must be at most %d, got %zu", MAGMA_MAX_WINDOW, q->from + q->size);
    return -1;
  }
  if (q->start_ns != INT64_MIN && q->end_ns != INT64_MAX && q->end_ns < q->start_ns) {
    snprintf(err, errlen, "end is before start");
    return -1;
  }
  return 0;
}

#undef IS

void magma_store_filter(const magma_query *q, int by, store_filter *f, int *exact_only) {
  store_filter_init(f);
  f->archived = STORE_ARCHIVED_HIDE; /* archived events are hidden (docs/lifecycle.md) */
  f->since_ns = q->start_ns;
  f->until_ns = q->end_ns == INT64_MAX ? INT64_MAX : q->end_ns + 1;
  int exact = 1;
  const struct {
    const magma_list *l;
    evd_field field;
  } lists[] = {{&q->streams, EVF_STREAM}, {&q->events, EVF_TYPE}, {&q->tags, EVF_TAG}, {&q->hw_ids, EVF_SOURCE}};
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
    if (lists[i].l->n == 1) f->exact[lists[i].field] = lists[i].l->v[0];
    else if (lists[i].l->n > 1) exact = 0;
  }
  if (by == MAGMA_BY_TENANT) {
    f->exact[EVF_TENANT] = q->network_id;
  } else {
    f->nlabels = 1;
    f->labels[0].key = "network_id";
    f->labels[0].value = q->network_id;
    exact = 0; /* the tenant must differ: checked by magma_match */
  }
  *exact_only = exact;
}

static int in_list(const magma_list *l, strv v) {
  if (l->n == 0) return 1;
  for (size_t i = 0; i < l->n; i++)
    if (l->len[i] == v.n && memcmp(l->v[i], v.p, v.n) == 0) return 1;
  return 0;
}

int magma_match(const magma_query *q, int by, const record_view *rv) {
  if (rv->time_ns < q->start_ns || rv->time_ns > q->end_ns) return 0;
  strv tenant = rv->f[EVF_TENANT];
  int tenant_is = tenant.n == q->network_len && memcmp(tenant.p, q->network_id, tenant.n) == 0;
  if (by == MAGMA_BY_TENANT) {
    if (!tenant_is) return 0;
  } else {
    if (tenant_is) return 0; /* counted by the tenant variant */
    strv net = record_label_get(rv, "network_id", 10);
    if (net.n != q->network_len || memcmp(net.p, q->network_id, net.n) != 0) return 0;
  }
  return in_list(&q->streams, rv->f[EVF_STREAM]) && in_list(&q->events, rv->f[EVF_TYPE]) &&
         in_list(&q->tags, rv->f[EVF_TAG]) && in_list(&q->hw_ids, rv->f[EVF_SOURCE]);
}
