/* Unit tests of src/server/query_params.c: query strings of the read endpoints into a
 * store_filter and paging options, and the page cursor. */
#include <string.h>

#include "core/arena.h"
#include "core/event.h"
#include "core/timeutil.h"
#include "server/query_params.h"
#include "test.h"

#define NOW_NS (1763713560LL * NS_PER_SEC) /* 2025-11-21T08:26:00Z */

static const qp_limits LIMITS = {.default_limit = 100, .max_limit = 10000};

/* Parse qs for ep; returns the status, message in err. */
static int parse(arena *a, const char *qs, qp_endpoint ep, query_params *qp, char *err) {
  err[0] = '\0';
  return query_params_parse(qs, strlen(qs), ep, &LIMITS, NOW_NS, a, qp, err, 512);
}

static void expect_400(const char *qs, qp_endpoint ep, const char *needle) {
  arena a;
  arena_init(&a, 0);
  query_params qp;
  char err[512];
  int rc = parse(&a, qs, ep, &qp, err);
  arena_free(&a);
  if (rc == 0) TEST_FAIL_("'%s' was accepted", qs);
  if (!strstr(err, needle)) TEST_FAIL_("expected '%s' in '%s'", needle, err);
}

TEST_IMPL(query_params_empty_query_matches_everything) {
  arena a;
  arena_init(&a, 0);
  query_params qp;
  char err[512];
  ASSERT_EQ_INT(query_params_parse(NULL, 0, QP_QUERY, &LIMITS, NOW_NS, &a, &qp, err, 512), 0);
  ASSERT_EQ_INT(qp.limit, 100);
  ASSERT_EQ_INT(qp.desc, 1);
  ASSERT_EQ_INT(qp.has_cursor, 0);
  ASSERT(qp.filter.since_ns == INT64_MIN);
  ASSERT(qp.filter.until_ns == INT64_MAX);
  for (int i = 0; i < EVF_INDEXED_COUNT; i++) ASSERT(qp.filter.exact[i] == NULL);
  ASSERT_EQ_INT(qp.filter.nlabels, 0);
  arena_free(&a);
  return 0;
}

TEST_IMPL(query_params_fill_every_filter) {
  arena a;
  arena_init(&a, 0);
  query_params qp;
  char err[512];
  int rc = parse(&a,
                 "stream=gw&type=account.*&tag=IMSI1&source=host%2F1&tenant=t1&correlation_id=c-9"
                 "&severity=warn&label=env:prod&label=stage%3Aa:b&key=gw.*.created&since=-15m"
                 "&until=2025-11-21T08:00:00Z&q=disk+full&limit=25&order=asc",
                 QP_QUERY, &qp, err);
  if (rc != 0) TEST_FAIL_("unexpected error: %s", err);
  ASSERT_EQ_STR(qp.filter.exact[EVF_STREAM], "gw");
  ASSERT(qp.filter.exact[EVF_TYPE] == NULL);
  ASSERT_EQ_STR(qp.filter.type_prefix, "account.");
  ASSERT_EQ_STR(qp.filter.exact[EVF_TAG], "IMSI1");
  ASSERT_EQ_STR(qp.filter.exact[EVF_SOURCE], "host/1");
  ASSERT_EQ_STR(qp.filter.exact[EVF_TENANT], "t1");
  ASSERT_EQ_STR(qp.filter.exact[EVF_CORRELATION_ID], "c-9");
  ASSERT_EQ_INT(qp.filter.min_severity, 13);
  ASSERT_EQ_INT(qp.filter.nlabels, 2);
  ASSERT_EQ_STR(qp.filter.labels[0].key, "env");
  ASSERT_EQ_STR(qp.filter.labels[0].value, "prod");
  ASSERT_EQ_STR(qp.filter.labels[1].key, "stage"); /* split at the first colon */
  ASSERT_EQ_STR(qp.filter.labels[1].value, "a:b");
  ASSERT_EQ_STR(qp.filter.key_pattern, "gw.*.created");
  ASSERT(qp.filter.since_ns == NOW_NS - 15 * 60 * NS_PER_SEC);
  ASSERT(qp.filter.until_ns == 1763712000LL * NS_PER_SEC);
  ASSERT_EQ_INT(qp.has_since, 1);
  ASSERT_EQ_STR(qp.filter.q, "disk full");
  ASSERT_EQ_INT(qp.limit, 25);
  ASSERT_EQ_INT(qp.desc, 0);
  arena_free(&a);
  return 0;
}

TEST_IMPL(query_params_type_and_key_without_wildcards_are_exact) {
  arena a;
  arena_init(&a, 0);
  query_params qp;
  char err[512];
  ASSERT_EQ_INT(parse(&a, "type=account.admin.create&key=gw.vm&severity=17", QP_COUNT, &qp, err), 0);
  ASSERT_EQ_STR(qp.filter.exact[EVF_TYPE], "account.admin.create");
  ASSERT(qp.filter.type_prefix == NULL);
  ASSERT_EQ_STR(qp.filter.exact[EVF_KEY], "gw.vm");
  ASSERT(qp.filter.key_pattern == NULL);
  ASSERT_EQ_INT(qp.filter.min_severity, 17);
  arena_free(&a);
  return 0;
}

TEST_IMPL(query_params_refuse_unknown_repeated_and_empty) {
  expect_400("stream=a&colour=red", QP_QUERY, "unknown query parameter 'colour'");
  expect_400("limit=5", QP_COUNT, "unknown query parameter 'limit' for /v1/events/count");
  expect_400("interval=1m", QP_QUERY, "unknown query parameter 'interval'");
  expect_400("last_event_id=x", QP_QUERY, "unknown query parameter 'last_event_id'");
  expect_400("stream=a&stream=b", QP_QUERY, "'stream' is given more than once");
  expect_400("stream=", QP_QUERY, "'stream' is empty");
  expect_400("stream", QP_QUERY, "'stream' has no value");
  expect_400("stream=%zz", QP_QUERY, "malformed percent-encoding");
  expect_400("stream=a%00b", QP_QUERY, "NUL byte");
  expect_400("stream=a%4", QP_QUERY, "malformed percent-encoding");
  return 0;
}

TEST_IMPL(query_params_refuse_bad_values) {
  expect_400("limit=10001", QP_QUERY, "between 1 and 10000");
  expect_400("limit=0", QP_QUERY, "between 1 and 10000");
  expect_400("limit=ten", QP_QUERY, "'limit'");
  expect_400("order=up", QP_QUERY, "'order': 'up' is not asc or desc");
  expect_400("severity=LOUD", QP_QUERY, "'severity': 'LOUD' is not a severity");
  expect_400("severity=25", QP_QUERY, "is not a severity");
  expect_400("since=yesterday", QP_QUERY, "'since': 'yesterday' is not a time");
  expect_400("until=-5parsecs", QP_QUERY, "'until'");
  expect_400("label=env", QP_QUERY, "'label': 'env' is not KEY:VALUE");
  expect_400("label=:x", QP_QUERY, "is not KEY:VALUE");
  expect_400("type=acc*", QP_QUERY, "prefix ending in '.*'");
  expect_400("key=a.b*", QP_QUERY, "'key'");
  expect_400("label=a:1&label=b:1&label=c:1&label=d:1&label=e:1&label=f:1&label=g:1&label=h:1&"
             "label=i:1&label=j:1&label=k:1&label=l:1&label=m:1&label=n:1&label=o:1&label=p:1&"
             "label=q:1",
             QP_QUERY, "at most 16 label filters");
  return 0;
}

TEST_IMPL(query_params_histogram_requires_interval) {
  expect_400("by=type", QP_HISTOGRAM, "'interval' is required");
  expect_400("interval=0", QP_HISTOGRAM, "positive duration");
  expect_400("interval=1m&by=colour", QP_HISTOGRAM, "'by': 'colour'");
  arena a;
  arena_init(&a, 0);
  query_params qp;
  char err[512];
  ASSERT_EQ_INT(parse(&a, "interval=5m&by=severity&type=x", QP_HISTOGRAM, &qp, err), 0);
  ASSERT_EQ_U64(qp.interval_ns, 300 * NS_PER_SEC);
  ASSERT_EQ_STR(qp.interval_text, "5m");
  ASSERT_EQ_INT(qp.by, STORE_GROUP_SEVERITY);
  ASSERT_EQ_INT(parse(&a, "interval=1h", QP_HISTOGRAM, &qp, err), 0);
  ASSERT_EQ_INT(qp.by, STORE_GROUP_NONE);
  arena_free(&a);
  return 0;
}

TEST_IMPL(query_params_tail_takes_last_event_id) {
  arena a;
  arena_init(&a, 0);
  query_params qp;
  char err[512];
  ASSERT_EQ_INT(parse(&a, "last_event_id=01JABCDEF&type=x.*", QP_TAIL, &qp, err), 0);
  ASSERT_EQ_MEM(qp.last_event_id, qp.last_event_id_len, "01JABCDEF");
  ASSERT_EQ_INT(qp.has_since, 0);
  expect_400("cursor=abc", QP_TAIL, "unknown query parameter 'cursor'");
  arena_free(&a);
  return 0;
}

TEST_IMPL(cursor_round_trips_and_carries_order) {
  store_pos in[] = {{0, 1}, {1763713560123456789LL, 42}, {-5, UINT64_MAX}, {INT64_MAX, 7},
                    {INT64_MIN, 3}};
  for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
    for (int desc = 0; desc <= 1; desc++) {
      char cur[CURSOR_LEN + 1];
      cursor_encode(&in[i], desc, cur);
      ASSERT_EQ_INT(strlen(cur), CURSOR_LEN);
      for (const char *p = cur; *p; p++)
        ASSERT((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
               (*p >= '0' && *p <= '9') || *p == '-' || *p == '_');
      store_pos out;
      int d = -1;
      ASSERT_EQ_INT(cursor_decode(cur, strlen(cur), &out, &d), 0);
      ASSERT(out.time_ns == in[i].time_ns);
      ASSERT_EQ_U64(out.seq, in[i].seq);
      ASSERT_EQ_INT(d, desc);
    }
  }
  return 0;
}

TEST_IMPL(cursor_decode_rejects_damaged_cursors) {
  store_pos p = {1763713560123456789LL, 42}, out;
  char cur[CURSOR_LEN + 1];
  int d;
  cursor_encode(&p, 1, cur);
  ASSERT_EQ_INT(cursor_decode(cur, CURSOR_LEN - 1, &out, &d), -1);
  ASSERT_EQ_INT(cursor_decode("", 0, &out, &d), -1);
  /* Every single-character change is detected. */
  for (size_t i = 0; i < CURSOR_LEN; i++) {
    char bad[CURSOR_LEN + 1];
    memcpy(bad, cur, sizeof bad);
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    if (cursor_decode(bad, CURSOR_LEN, &out, &d) == 0) TEST_FAIL_("change at %zu not detected", i);
  }
  char junk[CURSOR_LEN + 1];
  memset(junk, '!', CURSOR_LEN);
  junk[CURSOR_LEN] = '\0';
  ASSERT_EQ_INT(cursor_decode(junk, CURSOR_LEN, &out, &d), -1);
  /* In a query string: a bad cursor is an error naming the parameter. */
  expect_400("cursor=notacursor", QP_QUERY, "'cursor': 'notacursor' is not a cursor");
  return 0;
}

TEST_IMPL(query_params_cursor_sets_order_and_must_agree) {
  store_pos p = {1000, 5};
  char cur[CURSOR_LEN + 1];
  cursor_encode(&p, 0, cur);
  char qs[128];
  arena a;
  arena_init(&a, 0);
  query_params qp;
  char err[512];
  snprintf(qs, sizeof qs, "cursor=%s", cur);
  ASSERT_EQ_INT(parse(&a, qs, QP_QUERY, &qp, err), 0);
  ASSERT_EQ_INT(qp.has_cursor, 1);
  ASSERT_EQ_INT(qp.desc, 0); /* from the cursor */
  ASSERT(qp.cursor.time_ns == 1000);
  ASSERT_EQ_U64(qp.cursor.seq, 5);
  snprintf(qs, sizeof qs, "order=asc&cursor=%s", cur);
  ASSERT_EQ_INT(parse(&a, qs, QP_QUERY, &qp, err), 0);
  snprintf(qs, sizeof qs, "cursor=%s&order=desc", cur);
  expect_400(qs, QP_QUERY, "belongs to a query with order=asc");
  arena_free(&a);
  return 0;
}

TEST_IMPL(query_decode_handles_plus_and_percent) {
  arena a;
  arena_init(&a, 0);
  size_t n;
  int oom;
  char *s = query_decode(&a, "a+b%20c%2B%e2%82%ac", 19, 1, &n, &oom);
  ASSERT(s != NULL);
  ASSERT_EQ_STR(s, "a b c+\xe2\x82\xac");
  ASSERT_EQ_INT(n, 9);
  s = query_decode(&a, "a+b", 3, 0, &n, &oom); /* paths keep '+' */
  ASSERT_EQ_STR(s, "a+b");
  ASSERT(query_decode(&a, "%", 1, 1, &n, &oom) == NULL);
  ASSERT_EQ_INT(oom, 0);
  ASSERT(query_decode(&a, "%0", 2, 1, &n, &oom) == NULL);
  ASSERT(query_decode(&a, "%00", 3, 1, &n, &oom) == NULL);
  ASSERT(query_decode(&a, "%g0", 3, 1, &n, &oom) == NULL);
  arena_free(&a);
  return 0;
}
