/* Tests of src/server/magma_query.c: the query strings of Magma's orchestrator event
 * endpoints (paths, lists, numbers, times, errors) and the per-record match (network by
 * tenant or label, lists, inclusive time range). */
#include <string.h>

#include "core/record.h"
#include "core/timeutil.h"
#include "server/magma_query.h"
#include "test.h"

/* Parse rest?qs into *q with a fresh arena (kept in *a; caller frees). */
static int parse(arena *a, const char *rest, const char *qs, magma_query *q, char *err) {
  arena_init(a, 0);
  err[0] = '\0';
  return magma_parse(rest, qs, qs ? strlen(qs) : 0, a, q, err, 256);
}

TEST_IMPL(magma_query_paths_pick_the_endpoint) {
  arena a;
  magma_query q;
  char err[256];
  ASSERT_EQ_INT(parse(&a, "net1", NULL, &q, err), 0);
  ASSERT_EQ_INT(q.ep, MAGMA_EVENTS);
  ASSERT_EQ_MEM(q.network_id, q.network_len, "net1");
  ASSERT_EQ_U64(q.size, 50);
  ASSERT_EQ_U64(q.from, 0);
  ASSERT_EQ_INT(q.desc, 0);
  ASSERT(q.start_ns == INT64_MIN && q.end_ns == INT64_MAX);
  arena_free(&a);
  ASSERT_EQ_INT(parse(&a, "net%201/about/count", NULL, &q, err), 0);
  ASSERT_EQ_INT(q.ep, MAGMA_COUNT);
  ASSERT_EQ_MEM(q.network_id, q.network_len, "net 1");
  arena_free(&a);
  ASSERT_EQ_INT(parse(&a, "net1/sessiond", "event_type=session_created&hardware_id=hw1&tag=t&size=x", &q, err), 0);
  ASSERT_EQ_INT(q.ep, MAGMA_LEGACY);
  ASSERT_EQ_INT(q.desc, 1);
  ASSERT_EQ_U64(q.streams.n, 1);
  ASSERT_EQ_MEM(q.streams.v[0], q.streams.len[0], "sessiond");
  ASSERT_EQ_MEM(q.events.v[0], q.events.len[0], "session_created");
  ASSERT_EQ_MEM(q.hw_ids.v[0], q.hw_ids.len[0], "hw1");
  ASSERT_EQ_MEM(q.tags.v[0], q.tags.len[0], "t");
  arena_free(&a);
  ASSERT_EQ_INT(parse(&a, "net1/a/b", NULL, &q, err), -2);
  arena_free(&a);
  ASSERT_EQ_INT(parse(&a, "", NULL, &q, err), -2);
  arena_free(&a);
  return 0;
}

TEST_IMPL(magma_query_lists_numbers_and_times) {
  arena a;
  magma_query q;
  char err[256];
  ASSERT_EQ_INT(parse(&a, "n", "streams=mme,sessiond&events=a&tags=x%2Cy,z&hw_ids=h1,h2,h3&from=5&size=7"
                              "&start=2026-01-01T00:00:00Z&end=2026-01-01T00:00:01.5Z&unknown=1", &q, err), 0);
  ASSERT_EQ_U64(q.streams.n, 2);
  ASSERT_EQ_MEM(q.streams.v[1], q.streams.len[1], "sessiond");
  ASSERT_EQ_U64(q.events.n, 1);
  ASSERT_EQ_U64(q.tags.n, 3); /* %2C decodes to a comma, which separates */
  ASSERT_EQ_U64(q.hw_ids.n, 3);
  ASSERT_EQ_U64(q.from, 5);
  ASSERT_EQ_U64(q.size, 7);
  int64_t t0;
  ASSERT_EQ_INT(time_parse_rfc3339("2026-01-01T00:00:00Z", 20, &t0), 0);
  ASSERT(q.start_ns == t0);
  ASSERT(q.end_ns == t0 + 1500 * NS_PER_MS);
  arena_free(&a);
  /* empty parameters are no filter */
  ASSERT_EQ_INT(parse(&a, "n", "streams=&size=", &q, err), 0);
  ASSERT_EQ_U64(q.streams.n, 0);
  ASSERT_EQ_U64(q.size, 50);
  arena_free(&a);
  return 0;
}

TEST_IMPL(magma_query_refuses_bad_values) {
  static const struct {
    const char *qs, *needle;
  } bad[] = {
      {"size=x", "size: expected a whole number"},
      {"size=-1", "size: expected a whole number"},
      {"from=1.5", "from: expected a whole number"},
      {"size=10001", "size: expected a whole number 0..10000"},
      {"from=9000&size=1001", "from + size must be at most 10000"},
      {"start=yesterday", "start: expected an RFC 3339 time"},
      {"end=2026-02-30T00:00:00Z", "end: expected an RFC 3339 time"},
      {"start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z", "end is before start"},
      {"streams=a,,b", "streams: empty value"},
      {"tags=%zz", "malformed percent-encoding"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    arena a;
    magma_query q;
    char err[256];
    int rc = parse(&a, "n", bad[i].qs, &q, err);
    arena_free(&a);
    if (rc != -1) TEST_FAIL_("'%s' should be refused, got %d", bad[i].qs, rc);
    if (!strstr(err, bad[i].needle)) TEST_FAIL_("'%s': expected '%s' in '%s'", bad[i].qs, bad[i].needle, err);
  }
  return 0;
}

/* Encode an event and decode it into *rv (payload kept in out). */
static void make_record(buf *out, const char *tenant, const char *stream, const char *type, const char *source,
                        const char *net_label, int64_t t, record_view *rv) {
  event ev;
  memset(&ev, 0, sizeof ev);
  ev.f[EVF_TENANT] = (strv){tenant, strlen(tenant)};
  ev.f[EVF_STREAM] = (strv){stream, strlen(stream)};
  ev.f[EVF_TYPE] = (strv){type, strlen(type)};
  ev.f[EVF_KEY] = (strv){"k", 1};
  if (source) ev.f[EVF_SOURCE] = (strv){source, strlen(source)};
  evd_label l = {{"network_id", 10}, {net_label ? net_label : "", net_label ? strlen(net_label) : 0}};
  if (net_label) {
    ev.labels = &l;
    ev.nlabels = 1;
  }
  ev.time_ns = ev.observed_ns = t;
  ev.severity_number = 9;
  buf_clear(out);
  ASSERT(record_encode(&ev, out) == 0);
  ASSERT(record_decode(out->data, out->len, rv) == 0);
}

TEST_IMPL(magma_query_match_network_by_tenant_or_label_once) {
  arena a;
  magma_query q;
  char err[256];
  ASSERT_EQ_INT(parse(&a, "net1", "streams=mme,sessiond&hw_ids=hw1&start=1970-01-01T00:00:01Z&end=1970-01-01T00:00:02Z",
                      &q, err), 0);
  buf b = BUF_INIT;
  record_view rv;
  const int64_t s = NS_PER_SEC;
  /* tenant net1: variant A only */
  make_record(&b, "net1", "mme", "x", "hw1", NULL, s, &rv);
  ASSERT(magma_match(&q, MAGMA_BY_TENANT, &rv) && !magma_match(&q, MAGMA_BY_LABEL, &rv));
  /* label net1, other tenant: variant B only */
  make_record(&b, "default", "sessiond", "x", "hw1", "net1", s, &rv);
  ASSERT(!magma_match(&q, MAGMA_BY_TENANT, &rv) && magma_match(&q, MAGMA_BY_LABEL, &rv));
  /* both: counted once, by A */
  make_record(&b, "net1", "mme", "x", "hw1", "net1", 2 * s, &rv);
  ASSERT(magma_match(&q, MAGMA_BY_TENANT, &rv) && !magma_match(&q, MAGMA_BY_LABEL, &rv));
  /* other network, other stream, other hw, out of time: no */
  make_record(&b, "net2", "mme", "x", "hw1", "net2", s, &rv);
  ASSERT(!magma_match(&q, MAGMA_BY_TENANT, &rv) && !magma_match(&q, MAGMA_BY_LABEL, &rv));
  make_record(&b, "net1", "magmad", "x", "hw1", NULL, s, &rv);
  ASSERT(!magma_match(&q, MAGMA_BY_TENANT, &rv));
  make_record(&b, "net1", "mme", "x", "hw2", NULL, s, &rv);
  ASSERT(!magma_match(&q, MAGMA_BY_TENANT, &rv));
  make_record(&b, "net1", "mme", "x", NULL, NULL, s, &rv);
  ASSERT(!magma_match(&q, MAGMA_BY_TENANT, &rv));
  make_record(&b, "net1", "mme", "x", "hw1", NULL, 2 * s + 1, &rv);
  ASSERT(!magma_match(&q, MAGMA_BY_TENANT, &rv)); /* end is inclusive to the nanosecond */
  /* the store filter: one-value lists exact, longer ones left to magma_match */
  store_filter f;
  int exact;
  magma_store_filter(&q, MAGMA_BY_TENANT, &f, &exact);
  ASSERT_EQ_STR(f.exact[EVF_TENANT], "net1");
  ASSERT_EQ_STR(f.exact[EVF_SOURCE], "hw1");
  ASSERT(f.exact[EVF_STREAM] == NULL);
  ASSERT_EQ_INT(exact, 0);
  ASSERT(f.since_ns == s && f.until_ns == 2 * s + 1);
  magma_store_filter(&q, MAGMA_BY_LABEL, &f, &exact);
  ASSERT(f.exact[EVF_TENANT] == NULL);
  ASSERT_EQ_U64(f.nlabels, 1);
  ASSERT_EQ_STR(f.labels[0].value, "net1");
  buf_free(&b);
  arena_free(&a);
  ASSERT_EQ_INT(parse(&a, "net1", "streams=mme", &q, err), 0);
  magma_store_filter(&q, MAGMA_BY_TENANT, &f, &exact);
  ASSERT_EQ_INT(exact, 1);
  ASSERT_EQ_STR(f.exact[EVF_STREAM], "mme");
  arena_free(&a);
  return 0;
}
