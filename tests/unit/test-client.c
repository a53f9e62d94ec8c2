/* Tests of libeventd's event building: the setters apply eventd's rules, the encoding is the
 * compact canonical-order JSON eventd accepts, the JSON checker refuses what eventd's parser
 * refuses, and ids are unique. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "client/client_internal.h"
#include "test.h"

static char *encode(const evd_event *ev, const evc_auto *au) {
  evc_buf b = {0};
  ASSERT_EQ_INT(evc_event_encode(ev, au, &b), 0);
  return b.p;
}

TEST_IMPL(client_event_encodes_fields_in_canonical_order) {
  evd_event *ev = evd_event_new("session_created");
  ASSERT(ev != NULL);
  ASSERT_EQ_INT(evd_event_set_id(ev, "id-1"), 0);
  ASSERT_EQ_INT(evd_event_set_time(ev, 1795249560123456789LL), 0);
  ASSERT_EQ_INT(evd_event_set_tenant(ev, "t1"), 0);
  ASSERT_EQ_INT(evd_event_set_stream(ev, "sessiond"), 0);
  ASSERT_EQ_INT(evd_event_set_key(ev, "sessiond.created"), 0);
  ASSERT_EQ_INT(evd_event_set_tag(ev, "IMSI001"), 0);
  ASSERT_EQ_INT(evd_event_set_severity_text(ev, "warning"), 0);
  ASSERT_EQ_INT(evd_event_set_source(ev, "src"), 0);
  ASSERT_EQ_INT(evd_event_set_message(ev, "line1\n\"q\"\\ \x01"), 0);
  ASSERT_EQ_INT(evd_event_set_correlation_id(ev, "c1"), 0);
  ASSERT_EQ_INT(evd_event_set_state(ev, "open"), 0);
  ASSERT_EQ_INT(evd_event_set_trace_id(ev, "0123456789abcdef0123456789ABCDEF"), 0);
  ASSERT_EQ_INT(evd_event_set_span_id(ev, "0123456789abcdef"), 0);
  ASSERT_EQ_INT(evd_event_set_label(ev, "env", "prod"), 0);
  ASSERT_EQ_INT(evd_event_set_label(ev, "zone", "a"), 0);
  ASSERT_EQ_INT(evd_event_set_label(ev, "env", "dev"), 0); /* replaces, keeps position */
  ASSERT_EQ_INT(evd_event_set_resource_string(ev, "host.name", "mine"), 0);
  ASSERT_EQ_INT(evd_event_set_data_json(ev, " {\"apn\" : \"internet\", \"n\":[1,2.5e3]} "), 0);
  ASSERT_EQ_INT(evd_event_set_data_int(ev, "i", -42), 0);
  ASSERT_EQ_INT(evd_event_set_data_bool(ev, "b", 1), 0);
  ASSERT_EQ_INT(evd_event_set_data_double(ev, "d", 0.5), 0);
  ASSERT_EQ_INT(evd_event_set_data_raw(ev, "o", " {\"x\":null} "), 0);
  evc_auto au = {.stream = "ignored", .tenant = "ignored"};
  au.res[0] = (evc_kv){"host.name", "\"auto\""};
  au.res[1] = (evc_kv){"process.pid", "7"};
  au.nres = 2;
  char *s = encode(ev, &au);
  ASSERT_EQ_STR(s,
      "{\"id\":\"id-1\",\"time\":\"2026-11-21T08:26:00.123456789Z\",\"tenant\":\"t1\","
      "\"stream\":\"sessiond\",\"type\":\"session_created\",\"key\":\"sessiond.created\","
      "\"tag\":\"IMSI001\",\"severity\":13,\"source\":\"src\","
      "\"message\":\"line1\\n\\\"q\\\"\\\\ \\u0001\",\"correlation_id\":\"c1\","
      "\"state\":\"open\",\"trace_id\":\"0123456789abcdef0123456789ABCDEF\","
      "\"span_id\":\"0123456789abcdef\",\"labels\":{\"env\":\"dev\",\"zone\":\"a\"},"
      "\"resource\":{\"host.name\":\"mine\",\"process.pid\":7},"
      "\"data\":{\"apn\":\"internet\",\"n\":[1,2.5e3],\"i\":-42,\"b\":true,\"d\":0.5,"
      "\"o\":{\"x\":null}}}");
  free(s);
  evd_event_free(ev);

  /* defaults from the client; no time until evd_emit sets it */
  ev = evd_event_new("a.b");
  s = encode(ev, &au);
  char want[256];
  snprintf(want, sizeof want,
           "{\"id\":\"%s\",\"tenant\":\"ignored\",\"stream\":\"ignored\",\"type\":\"a.b\","
           "\"resource\":{\"host.name\":\"auto\",\"process.pid\":7}}",
           evd_event_id(ev));
  ASSERT_EQ_STR(s, want);
  free(s);
  evd_event_free(ev);
  return 0;
}

TEST_IMPL(client_event_setters_refuse_what_eventd_refuses) {
  ASSERT(evd_event_new("bad type") == NULL);
  ASSERT_EQ_INT(errno, EINVAL);
  ASSERT(evd_event_new(".a") == NULL);
  ASSERT(evd_event_new("a..b") == NULL);
  ASSERT(evd_event_new("") == NULL);
  evd_event *ev = evd_event_new("ok.type");
  ASSERT(ev != NULL);
  ASSERT(evd_event_error(ev) == NULL);
  ASSERT_EQ_INT(evd_event_set_id(ev, "has space"), -1);
  ASSERT_EQ_INT(errno, EINVAL);
  ASSERT_EQ_STR(evd_event_error(ev), "id: must be printable ASCII without spaces");
  ASSERT_EQ_INT(evd_event_set_id(ev, ""), -1);
  ASSERT_EQ_INT(evd_event_set_stream(ev, "a/b@c:d-e_f.g"), 0);
  ASSERT_EQ_INT(evd_event_set_stream(ev, "x y"), -1);
  ASSERT_EQ_INT(evd_event_set_key(ev, "a.*.b"), -1);
  ASSERT_EQ_INT(evd_event_set_key(ev, "a.#"), -1);
  ASSERT_EQ_INT(evd_event_set_key(ev, "a.**.b"), 0);
  ASSERT_EQ_INT(evd_event_set_key(ev, "a b"), -1);
  ASSERT_EQ_INT(evd_event_set_trace_id(ev, "00000000000000000000000000000000"), -1);
  ASSERT_EQ_STR(evd_event_error(ev), "trace_id: must not be all zero");
  ASSERT_EQ_INT(evd_event_set_trace_id(ev, "0123"), -1);
  ASSERT_EQ_INT(evd_event_set_span_id(ev, "0123456789abcdeg"), -1);
  ASSERT_EQ_INT(evd_event_set_severity(ev, 0), -1);
  ASSERT_EQ_INT(evd_event_set_severity(ev, 25), -1);
  ASSERT_EQ_INT(evd_event_set_severity(ev, 24), 0);
  ASSERT_EQ_INT(evd_event_set_severity_text(ev, "LOUD"), -1);
  ASSERT_EQ_INT(evd_event_set_time(ev, -1), -1);
  ASSERT_EQ_INT(evd_event_set_tag(ev, "bad \xff utf8"), -1);
  ASSERT_EQ_STR(evd_event_error(ev), "tag: invalid UTF-8");
  ASSERT_EQ_INT(evd_event_set_tag(ev, "\xed\xa0\x80"), -1); /* surrogate */
  ASSERT_EQ_INT(evd_event_set_tag(ev, "\xc0\xaf"), -1);     /* overlong */
  ASSERT_EQ_INT(evd_event_set_tag(ev, "ünïcödé ✓ \xf0\x9f\x98\x80"), 0);
  char *big = malloc(EVC_MESSAGE_MAX + 2);
  memset(big, 'x', EVC_MESSAGE_MAX + 1);
  big[EVC_MESSAGE_MAX + 1] = '\0';
  ASSERT_EQ_INT(evd_event_set_message(ev, big), -1);
  big[EVC_MESSAGE_MAX] = '\0';
  ASSERT_EQ_INT(evd_event_set_message(ev, big), 0);
  big[EVC_VALUE_MAX + 1] = '\0';
  ASSERT_EQ_INT(evd_event_set_source(ev, big), -1);
  ASSERT_EQ_STR(evd_event_error(ev), "source: exceeds 4096 bytes (limits.value_max)");
  free(big);
  ASSERT_EQ_INT(evd_event_set_label(ev, "bad key", "v"), -1);
  ASSERT_EQ_INT(evd_event_set_label(ev, "k:x", "v"), -1);
  for (int i = 0; i < EVC_LABELS_MAX; i++) {
    char k[16];
    snprintf(k, sizeof k, "l%d", i);
    ASSERT_EQ_INT(evd_event_set_label(ev, k, "v"), 0);
  }
  ASSERT_EQ_INT(evd_event_set_label(ev, "one_more", "v"), -1);
  ASSERT_EQ_INT(evd_event_set_label(ev, "l0", NULL), 0); /* removal makes room */
  ASSERT_EQ_INT(evd_event_set_label(ev, "one_more", "v"), 0);
  /* "" is absent for free text, refused for names */
  ASSERT_EQ_INT(evd_event_set_tag(ev, ""), 0);
  ASSERT_EQ_INT(evd_event_set_tenant(ev, ""), -1);
  evd_event_free(ev);
  return 0;
}

TEST_IMPL(client_event_data_setters_refuse_duplicates_and_bad_json) {
  evd_event *ev = evd_event_new("t");
  ASSERT_EQ_INT(evd_event_set_data_json(ev, "{\"a\":1,\"b\":{\"c\":2}}"), 0);
  ASSERT_EQ_INT(evd_event_set_data_int(ev, "a", 2), -1);
  ASSERT_EQ_INT(errno, EEXIST);
  ASSERT_EQ_INT(evd_event_set_data_string(ev, "c", "fine"), 0);
  ASSERT_EQ_INT(evd_event_set_data_string(ev, "c", "again"), -1);
  ASSERT_EQ_INT(evd_event_set_data_json(ev, "[1]"), -1);
  ASSERT_EQ_INT(evd_event_set_data_json(ev, "{\"a\":1,\"a\":2}"), -1);
  ASSERT(strstr(evd_event_error(ev), "duplicate key 'a'") != NULL);
  ASSERT_EQ_INT(evd_event_set_data_double(ev, "nan", 0.0 / 0.0), -1);
  ASSERT_EQ_INT(evd_event_set_data_raw(ev, "r", "01"), -1);
  /* a refused data_json keeps the previous members */
  char *s = encode(ev, NULL);
  ASSERT(strstr(s, "\"data\":{\"a\":1,\"b\":{\"c\":2},\"c\":\"fine\"}") != NULL);
  free(s);
  /* replacing data drops the earlier members, escaped keys are decoded for duplicates */
  ASSERT_EQ_INT(evd_event_set_data_json(ev, "{\"\\u0061\":true}"), 0);
  ASSERT_EQ_INT(evd_event_set_data_bool(ev, "a", 0), -1);
  s = encode(ev, NULL);
  ASSERT(strstr(s, "\"data\":{\"a\":true}") != NULL);
  free(s);
  ASSERT_EQ_INT(evd_event_set_data_json(ev, NULL), 0);
  s = encode(ev, NULL);
  ASSERT(strstr(s, "\"data\"") == NULL);
  free(s);
  evd_event_free(ev);
  return 0;
}

static int check(const char *s) {
  char err[200];
  return evc_json_check(s, strlen(s), 0, 8, NULL, NULL, err, sizeof err);
}

TEST_IMPL(client_json_check_applies_eventd_parser_rules) {
  ASSERT_EQ_INT(check("{\"a\":[1,-0,0.5,1e10,-2E-3,true,false,null,\"\\ud83d\\ude00\"]}"), 0);
  ASSERT_EQ_INT(check(" \t\r\n{} "), 0);
  ASSERT_EQ_INT(check("{\"a\":1,}"), -1);
  ASSERT_EQ_INT(check("[1,]"), -1);
  ASSERT_EQ_INT(check("01"), -1);
  ASSERT_EQ_INT(check("1."), -1);
  ASSERT_EQ_INT(check("NaN"), -1);
  ASSERT_EQ_INT(check("\"\\ud800\""), -1);
  ASSERT_EQ_INT(check("\"\\udc00\""), -1);
  ASSERT_EQ_INT(check("\"\\x\""), -1);
  ASSERT_EQ_INT(check("\"a\nb\""), -1);
  ASSERT_EQ_INT(check("\"\xff\""), -1);
  ASSERT_EQ_INT(check("{\"a\":1} x"), -1);
  ASSERT_EQ_INT(check("{\"a\":{\"b\":1,\"b\":2}}"), -1);
  ASSERT_EQ_INT(check("{\"a\":{\"b\":1},\"c\":{\"b\":2}}"), 0); /* same key, other objects */
  ASSERT_EQ_INT(check("{\"ab\":1,\"a\\u0062\":2}"), -1);
  ASSERT_EQ_INT(check("[[[[[[[[1]]]]]]]]"), 0);   /* depth 8 */
  ASSERT_EQ_INT(check("[[[[[[[[[1]]]]]]]]]"), -1); /* depth 9 */
  ASSERT_EQ_INT(check(""), -1);
  /* many keys: duplicate found after sorting */
  evc_buf b = {0};
  evc_buf_addc(&b, '{');
  for (int i = 0; i < 5000; i++) evc_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
  evc_buf_adds(&b, ",\"k4321\":0}");
  char err[200];
  ASSERT_EQ_INT(evc_json_check(b.p, b.len, 1, 8, NULL, NULL, err, sizeof err), -1);
  ASSERT(strstr(err, "duplicate key 'k4321'") != NULL);
  evc_buf_free(&b);
  return 0;
}

TEST_IMPL(client_time_is_rfc3339_utc_with_nine_digits) {
  const int64_t samples[] = {0, 951782400123000000LL /* 2000-02-29 */, 1795249560000000001LL,
                             4102444799999999999LL /* 2099-12-31T23:59:59.999999999 */};
  for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
    evc_buf b = {0};
    evc_buf_add_time(&b, samples[i]);
    time_t secs = (time_t)(samples[i] / 1000000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char want[64];
    snprintf(want, sizeof want, "\"%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ\"", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long long)(samples[i] % 1000000000));
    ASSERT_EQ_STR(b.p, want);
    evc_buf_free(&b);
  }
  return 0;
}

static void *make_ids(void *arg) {
  char (*ids)[EVC_ULID_LEN + 1] = arg;
  for (int i = 0; i < 20000; i++) evc_ulid_next(ids[i]);
  return NULL;
}

static int cmp_id(const void *a, const void *b) { return strcmp(a, b); }

TEST_IMPL(client_ids_are_unique_across_threads_and_increase_per_thread) {
  enum { T = 4, N = 20000 };
  char (*ids)[EVC_ULID_LEN + 1] = calloc((size_t)T * N, EVC_ULID_LEN + 1);
  pthread_t th[T];
  for (int t = 0; t < T; t++) pthread_create(&th[t], NULL, make_ids, ids + (size_t)t * N);
  for (int t = 0; t < T; t++) pthread_join(th[t], NULL);
  for (int t = 0; t < T; t++)
    for (int i = 1; i < N; i++) ASSERT(strcmp(ids[t * N + i - 1], ids[t * N + i]) < 0);
  qsort(ids, (size_t)T * N, EVC_ULID_LEN + 1, cmp_id);
  for (int i = 1; i < T * N; i++) ASSERT(strcmp(ids[i - 1], ids[i]) != 0);
  for (int i = 0; i < T * N; i++) {
    ASSERT_EQ_INT(strlen(ids[i]), 26);
    ASSERT(ids[i][0] <= '7');
  }
  free(ids);
  return 0;
}

TEST_IMPL(client_forward_entry_carries_exact_time_and_severity_text) {
  const char *line = "{\"id\":\"a\",\"time\":\"2026-11-21T08:26:00.123456789Z\",\"type\":\"t\","
                     "\"severity\":14,\"data\":{\"n\":-1,\"big\":18446744073709551615,"
                     "\"f\":1.5,\"b\":[true,null],\"s\":\"\\u00e9\"}}";
  evc_buf b = {0};
  char err[200];
  ASSERT_EQ_INT(evc_fwd_encode_entry(line, strlen(line), &b, err, sizeof err), 0);
  const unsigned char *p = (const unsigned char *)b.p;
  ASSERT_EQ_INT(p[0], 0x92);                   /* [time, record] */
  ASSERT_EQ_INT(p[1], 0xd7);                   /* fixext8 */
  ASSERT_EQ_INT(p[2], 0x00);                   /* EventTime */
  uint32_t sec = (uint32_t)p[3] << 24 | (uint32_t)p[4] << 16 | (uint32_t)p[5] << 8 | p[6];
  uint32_t ns = (uint32_t)p[7] << 24 | (uint32_t)p[8] << 16 | (uint32_t)p[9] << 8 | p[10];
  ASSERT_EQ_U64(sec, 1795249560);
  ASSERT_EQ_U64(ns, 123456789);
  ASSERT_EQ_INT(p[11], 0xdf);                  /* map32: id, type, severity, data, stream */
  ASSERT_EQ_INT(p[15], 5);
  ASSERT(memmem(b.p, b.len, "\xa8severity\xa4WARN", 14) != NULL);
  ASSERT(memmem(b.p, b.len, "\xa6stream\xa7" "default", 15) != NULL);
  ASSERT(memmem(b.p, b.len, "\xa1n\xff", 3) != NULL); /* negative fixint -1 */
  ASSERT(memmem(b.p, b.len, "\xa3" "big\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 13) != NULL);
  ASSERT(memmem(b.p, b.len, "\xa1" "f\xcb\x3f\xf8\0\0\0\0\0\0", 11) != NULL); /* 1.5 */
  ASSERT(memmem(b.p, b.len, "\xa1s\xa2\xc3\xa9", 5) != NULL); /* é decoded to UTF-8 */
  ASSERT(memmem(b.p, b.len, "\xc3\xc0", 2) != NULL);          /* true, null */
  evc_buf_free(&b);
  ASSERT_EQ_INT(evc_fwd_encode_entry("{\"time\":\"yesterday\"}", 20, &b, err, sizeof err), -1);
  evc_buf_free(&b);
  return 0;
}
