/* Unit tests of core/event: normalization rules, errors naming the field, canonical JSON. */
#include "core/event.h"

#include "core/timeutil.h"
#include "test.h"

#define NOW (1795249560LL * NS_PER_SEC + 42) /* 2026-11-21T08:26:00.000000042Z */

/* Per-test state: an arena, the limits, the last event and error. */
typedef struct ctx {
  arena a;
  evd_limits lim;
  event ev;
  evd_field_error err;
} ctx;

static void ctx_init(ctx *c) {
  arena_init(&c->a, 0);
  evd_limits_default(&c->lim);
}

/* Parse text and normalize it; returns event_from_json's result. */
static int norm(ctx *c, const char *text) {
  json_error jerr;
  json_value *v = json_parse(&c->a, text, strlen(text), c->lim.max_depth, &jerr);
  if (!v) {
    fprintf(stderr, "test input is not JSON: %s: %s\n", jerr.message, text);
    abort();
  }
  return event_from_json(v, &c->lim, NOW, &c->a, &c->ev, &c->err);
}

static void expect_ok(ctx *c, const char *text) {
  if (norm(c, text) != 0) {
    fprintf(stderr, "refused %s: %s: %s\n", text, c->err.field, c->err.reason);
    abort();
  }
}

/* Refused, with this field path and a reason containing `reason`. */
static void expect_err(ctx *c, const char *text, const char *field, const char *reason) {
  if (norm(c, text) == 0) {
    fprintf(stderr, "accepted %s, wanted error %s: %s\n", text, field, reason);
    abort();
  }
  if (strcmp(c->err.field, field) != 0 || strstr(c->err.reason, reason) == NULL) {
    fprintf(stderr, "input %s: got %s: %s, wanted %s: %s\n", text, c->err.field, c->err.reason,
            field, reason);
    abort();
  }
}

#define F(c, which) (c).ev.f[which]

TEST_IMPL(event_limits_default_values) {
  evd_limits l;
  evd_limits_default(&l);
  ASSERT_EQ_U64(l.event_max_bytes, 1024 * 1024);
  ASSERT_EQ_U64(l.body_max_bytes, 16 * 1024 * 1024);
  ASSERT_EQ_U64(l.labels_max, 64);
  ASSERT_EQ_U64(l.name_max, 256);
  ASSERT_EQ_U64(l.value_max, 4096);
  ASSERT_EQ_U64(l.message_max, 256 * 1024);
  ASSERT_EQ_INT(l.max_depth, 64);
  return 0;
}

TEST_IMPL(event_field_names_round_trip) {
  for (int f = 0; f < EVF__COUNT; f++) ASSERT_EQ_INT(evd_field_by_name(evd_field_name((evd_field)f)), f);
  ASSERT_EQ_STR(evd_field_name(EVF_TENANT), "tenant");
  ASSERT_EQ_STR(evd_field_name(EVF_CORRELATION_ID), "correlation_id");
  ASSERT_EQ_STR(evd_field_name(EVF_SPAN_ID), "span_id");
  ASSERT_EQ_INT(evd_field_by_name("labels"), -1);
  ASSERT_EQ_INT(evd_field_by_name(""), -1);
  ASSERT_EQ_INT(EVF_INDEXED_COUNT, 7);
  return 0;
}

TEST_IMPL(event_severity_text_and_numbers) {
#define SEV(s) severity_from_text(s, strlen(s))
  ASSERT_EQ_INT(SEV("TRACE"), 1);
  ASSERT_EQ_INT(SEV("debug"), 5);
  ASSERT_EQ_INT(SEV("Info"), 9);
  ASSERT_EQ_INT(SEV("WARN"), 13);
  ASSERT_EQ_INT(SEV("warning"), 13);
  ASSERT_EQ_INT(SEV("ERROR"), 17);
  ASSERT_EQ_INT(SEV("FATAL"), 21);
  ASSERT_EQ_INT(SEV("critical"), 21);
  ASSERT_EQ_INT(SEV("TRACE4"), 4);
  ASSERT_EQ_INT(SEV("INFO2"), 10);
  ASSERT_EQ_INT(SEV("warn3"), 15);
  ASSERT_EQ_INT(SEV("FATAL4"), 24);
  ASSERT_EQ_INT(SEV("INFO1"), -1);
  ASSERT_EQ_INT(SEV("INFO5"), -1);
  ASSERT_EQ_INT(SEV("WARNING2"), -1);
  ASSERT_EQ_INT(SEV("LOUD"), -1);
  ASSERT_EQ_INT(SEV(""), -1);
  ASSERT_EQ_INT(SEV("informational"), -1);
  ASSERT_EQ_INT(severity_from_text("INFOX", 4), 9); /* length honored */
#undef SEV
  ASSERT_EQ_STR(severity_text(1), "TRACE");
  ASSERT_EQ_STR(severity_text(8), "DEBUG");
  ASSERT_EQ_STR(severity_text(9), "INFO");
  ASSERT_EQ_STR(severity_text(12), "INFO");
  ASSERT_EQ_STR(severity_text(13), "WARN");
  ASSERT_EQ_STR(severity_text(20), "ERROR");
  ASSERT_EQ_STR(severity_text(24), "FATAL");
  ASSERT_EQ_STR(severity_text(0), "UNSPECIFIED");
  ASSERT_EQ_STR(severity_text(25), "UNSPECIFIED");
  return 0;
}

TEST_IMPL(event_defaults_for_minimal_event) {
  ctx c;
  ctx_init(&c);
  expect_ok(&c, "{\"type\":\"session_created\"}");
  ASSERT_EQ_MEM(F(c, EVF_TENANT).p, F(c, EVF_TENANT).n, "default");
  ASSERT_EQ_MEM(F(c, EVF_STREAM).p, F(c, EVF_STREAM).n, "default");
  ASSERT_EQ_MEM(F(c, EVF_TYPE).p, F(c, EVF_TYPE).n, "session_created");
  ASSERT_EQ_MEM(F(c, EVF_KEY).p, F(c, EVF_KEY).n, "default.session_created");
  ASSERT_EQ_INT(c.ev.severity_number, 9);
  ASSERT_EQ_INT(c.ev.time_ns, NOW);
  ASSERT_EQ_INT(c.ev.observed_ns, NOW);
  ASSERT_EQ_U64(c.ev.id.n, 0);
  ASSERT_EQ_U64(F(c, EVF_TAG).n, 0);
  ASSERT_EQ_U64(c.ev.nlabels, 0);
  ASSERT(c.ev.data == NULL && c.ev.resource == NULL);
  /* key is stream + "." + type */
  expect_ok(&c, "{\"type\":\"vm.created\",\"stream\":\"nova\"}");
  ASSERT_EQ_MEM(F(c, EVF_KEY).p, F(c, EVF_KEY).n, "nova.vm.created");
  /* null means absent */
  expect_ok(&c, "{\"type\":\"t\",\"tenant\":null,\"time\":null,\"severity\":null,\"labels\":null,"
                "\"data\":null,\"resource\":null,\"tag\":null,\"id\":null,\"severity_number\":null}");
  ASSERT_EQ_MEM(F(c, EVF_TENANT).p, F(c, EVF_TENANT).n, "default");
  ASSERT_EQ_INT(c.ev.time_ns, NOW);
  ASSERT_EQ_INT(c.ev.severity_number, 9);
  arena_free(&c.a);
  return 0;
}

TEST_IMPL(event_full_magma_event_is_normalized) {
  ctx c;
  ctx_init(&c);
  expect_ok(&c,
            "{\"id\":\"evt-0001\",\"time\":\"2026-11-21T10:26:00.5+02:00\",\"tenant\":\"magma\","
            "\"stream\":\"sessiond\",\"type\":\"session_created\",\"key\":\"sessiond.session.created\","
            "\"tag\":\"IMSI001010000000001\",\"severity\":\"warn\",\"source\":\"agw-01\","
            "\"message\":\"session created\",\"correlation_id\":\"job-7\",\"state\":\"Started\","
            "\"trace_id\":\"4BF92F3577B34DA6A3CE929D0E0E4736\",\"span_id\":\"00f067aa0ba902b7\","
            "\"labels\":{\"env\":\"prod\",\"gateway_id\":\"gw1\"},"
            "\"resource\":{\"service.name\":\"sessiond\"},"
            "\"data\":{\"apn\":\"internet\",\"qos\":{\"qci\":9},\"ips\":[\"10.0.0.1\"]}}");
  ASSERT_EQ_MEM(c.ev.id.p, c.ev.id.n, "evt-0001");
  ASSERT_EQ_INT(c.ev.time_ns, 1795249560LL * NS_PER_SEC + 500000000);
  ASSERT_EQ_INT(c.ev.observed_ns, NOW);
  ASSERT_EQ_MEM(F(c, EVF_TENANT).p, F(c, EVF_TENANT).n, "magma");
  ASSERT_EQ_MEM(F(c, EVF_KEY).p, F(c, EVF_KEY).n, "sessiond.session.created");
  ASSERT_EQ_MEM(F(c, EVF_TAG).p, F(c, EVF_TAG).n, "IMSI001010000000001");
  ASSERT_EQ_INT(c.ev.severity_number, 13);
  ASSERT_EQ_MEM(F(c, EVF_SOURCE).p, F(c, EVF_SOURCE).n, "agw-01");
  ASSERT_EQ_MEM(F(c, EVF_MESSAGE).p, F(c, EVF_MESSAGE).n, "session created");
  ASSERT_EQ_MEM(F(c, EVF_CORRELATION_ID).p, F(c, EVF_CORRELATION_ID).n, "job-7");
  ASSERT_EQ_MEM(F(c, EVF_STATE).p, F(c, EVF_STATE).n, "Started");
  ASSERT_EQ_MEM(F(c, EVF_TRACE_ID).p, F(c, EVF_TRACE_ID).n, "4bf92f3577b34da6a3ce929d0e0e4736");
  ASSERT_EQ_MEM(F(c, EVF_SPAN_ID).p, F(c, EVF_SPAN_ID).n, "00f067aa0ba902b7");
  ASSERT_EQ_U64(c.ev.nlabels, 2);
  ASSERT_EQ_MEM(c.ev.labels[1].key.p, c.ev.labels[1].key.n, "gateway_id");
  ASSERT_EQ_MEM(c.ev.labels[1].value.p, c.ev.labels[1].value.n, "gw1");
  ASSERT(c.ev.data && c.ev.data->type == JSON_OBJECT && c.ev.data->n == 3);
  ASSERT(c.ev.resource && c.ev.resource->n == 1);
  arena_free(&c.a);
  return 0;
}

TEST_IMPL(event_type_is_required) {
  ctx c;
  ctx_init(&c);
  expect_err(&c, "{}", "type", "required");
  expect_err(&c, "{\"stream\":\"s\"}", "type", "required");
  expect_err(&c, "{\"type\":null}", "type", "required");
  expect_err(&c, "{\"type\":\"\"}", "type", "must not be empty");
  expect_err(&c, "{\"type\":5}", "type", "expected string, got number");
  expect_err(&c, "[{\"type\":\"x\"}]", "", "expected object, got array");
  expect_err(&c, "\"x\"", "", "expected object, got string");
  arena_free(&c.a);
  return 0;
}

TEST_IMPL(event_names_follow_the_character_rules) {
  ctx c;
  ctx_init(&c);
  expect_ok(&c, "{\"type\":\"a-z_A.Z:0/9@x\",\"stream\":\"s.t\",\"tenant\":\"org:acme/prod@eu\"}");
  expect_err(&c, "{\"type\":\"a b\"}", "type", "invalid character ' '");
  expect_err(&c, "{\"type\":\"x\",\"stream\":\"caf\xc3\xa9\"}", "stream", "invalid character 0xc3");
  expect_err(&c, "{\"type\":\"x\",\"tenant\":\"a*b\"}", "tenant", "invalid character '*'");
  expect_err(&c, "{\"type\":\".x\"}", "type", "must not start or end with '.'");
  expect_err(&c, "{\"type\":\"x.\"}", "type", "must not start or end with '.'");
  expect_err(&c, "{\"type\":\"a..b\"}", "type", "must not contain '..'");
  expect_err(&c, "{\"type\":\"x\",\"tenant\":\"\"}", "tenant", "must not be empty");
  expect_err(&c, "{\"type\":\"x\",\"stream\":\"\"}", "stream", "must not be empty");
  expect_err(&c, "{\"type\":\"x\",\"stream\":\"a\\u0000b\"}", "stream", "invalid character 0x00");
  /* Length: 256 is fine, 257 is over. */
  char text[1024];
  char name[300];
  memset(name, 'n', sizeof name);
  snprintf(text, sizeof text, "{\"type\":\"%.*s\",\"key\":\"k\"}", 256, name);
  expect_ok(&c, text);
  snprintf(text, sizeof text, "{\"type\":\"%.*s\",\"key\":\"k\"}", 257, name);
  expect_err(&c, text, "type", "exceeds 256 bytes (limits.name_max)");
  /* A lower limit is honored. */
  c.lim.name_max = 8;
  expect_err(&c, "{\"type\":\"x\",\"tenant\":\"123456789\"}", "tenant", "exceeds 8 bytes");
  arena_free(&c.a);
  return 0;
}

TEST_IMPL(event_key_is_a_valid_routing_key) {
  ctx c;
  ctx_init(&c);
  expect_ok(&c, "{\"type\":\"x\",\"key\":\"a.b.c\"}");
  ASSERT_EQ_MEM(F(c, EVF_KEY).p, F(c, EVF_KEY).n, "a.b.c");
  expect_ok(&c, "{\"type\":\"x\",\"key\":\"a..b\"}");
  expect_err(&c, "{\"type\":\"x\",\"key\":\"a b\"}", "key", "whitespace");
  expect_err(&c, "{\"type\":\"x\",\"key\":\"a.*\"}", "key", "'*' and '#' are not allowed");
  expect_err(&c, "{\"type\":\"x\",\"key\":\"#\"}", "key", "'*' and '#' are not allowed");
  expect_err(&c, "{\"type\":\"x\",\"key\":\"\"}", "key", "must not be empty");
  expect_err(&c, "{\"type\":\"x\",\"key\":[]}", "key", "expected string, got array");
  char text[1500], name[600];
  memset(name, 'n', sizeof name);
  /* Over the routing-key limit of 255 (but within name_max). */
  snprintf(text, sizeof text, "{\"type\":\"x\",\"key\":\"%.*s\"}", 256, name);
  expect_err(&c, text, "key", "exceeds 255 bytes");
  snprintf(text, sizeof text, "{\"type\":\"x\",\"key\":\"%.*s\"}", 257, name);
  expect_err(&c, text, "key", "exceeds 256 bytes");
  /* The default key can be too long even when stream and type are fine. */
  snprintf(text, sizeof text, "{\"type\":\"%.*s\",\"stream\":\"%.*s\"}", 200, name, 200, name);
  expect_err(&c, text, "key", "(the default key is stream + '.' + type)");
  arena_free(&c.a);
  return 0;
}

TEST_IMPL(event_id_is_printable_ascii) {
  ctx c;
  ctx_init(&c);
  expect_ok(&c, "{\"type\":\"x\",\"id\":\"a:b/c-1_\\\"q\\\\~\"}");
  ASSERT_EQ_MEM(c.ev.id.p, c.ev.id.n, "a:b/c-1_\"q\\~");
  expect_err(&c, "{\"type\":\"x\",\"id\":\"a b\"}", "id", "invalid character ' '");
  expect_err(&c, "{\"type\":\"x\",\"id\":\"caf\xc3\xa9\"}", "id", "invalid character 0xc3");
  expect_err(&c, "{\"type\":\"x\",\"id\":\"a\\tb\"}", "id", "invalid character 0x09");
  expect_err(&c, "{\"type\":\"x\",\"id\":\"\"}", "id", "must not be empty");
  expect_err(&c, "{\"type\":\"x\",\"id\":42}", "id", "expected string, got number");
  c.lim.value_max = 4;
  expect_ok(&c, "{\"type\":\"x\",\"id\":\"abcd\"}");
  expect_err(&c, "{\"type\":\"x\",\"id\":\"abcde\"}", "id", "exceeds 4 bytes");
  arena_free(&c.a);
  return 0;
}

TEST_IMPL(event_value_fields_respect_limits) {
  ctx c;
  ctx_init(&c);
  c.lim.value_max = 5;
  c.lim.message_max = 8;
  expect_ok(&c, "{\"type\":\"x\",\"tag\":\"12345\",\"source\":\"12345\",\"correlation_id\":\"12345\","
                "\"state\":\"12345\",\"message\":\"12345678\"}");
  expect_err(&c, "{\"type\":\"x\",\"tag\":\"123456\"}", "tag", "exceeds 5 bytes");
  expect_err(&c, "{\"type\":\"x\",\"source\":\"123456\"}", "source", "exceeds 5 bytes");
  expect_err(&c, "{\"type\":\"x\",\"correlation_id\":\"123456\"}", "correlation_id", "exceeds 5 bytes");
  expect_err(&c, "{\"type\":\"x\",\"state\":\"123456\"}", "state", "exceeds 5 bytes");
  expect_err(&c, "{\"type\":\"x\",\"message\":\"123456789\"}", "message", "exceeds 8 bytes");
  expect_err(&c, "{\"type\":\"x\",\"message\":{}}", "message", "expected string, got object");
  expect_err(&c, "{\"type\":\"x\",\"tag\":true}", "tag", "expected string, got boolean");
  /* An empty optional string is the same as absent. */
  expect_ok(&c, "{\"type\":\"x\",\"tag\":\"\",\"message\":\"\"}");
  ASSERT_EQ_U64(F(c, EVF_TAG).n, 0);
  /* Any UTF-8 is fine in free text. */
  expect_ok(&c, "{\"type\":\"x\",\"message\":\"\xf0\x9f\x98\x80\"}");
  arena_free(&c.a);
  return 0;
}

TEST_IMPL(event_trace_and_span_ids_are_hex_and_lowercased) {
  ctx c;
  ctx_init(&c);
  expect_ok(&c, "{\"type\":\"x\",\"trace_id\":\"0123456789ABCDEFabcdef0123456789\",\"span_id\":\"ABCDEF0123456789\"}");
  ASSERT_EQ_MEM(F(c, EVF_TRACE_ID).p, F(c, EVF_TRACE_ID).n, "0123456789abcdefabcdef0123456789");
  ASSERT_EQ_MEM(F(c, EVF_SPAN_ID).p, F(c, EVF_SPAN_ID).n, "abcdef0123456789");
  expect_err(&c, "{\"type\":\"x\",\"trace_id\":\"0123\"}", "trace_id", "must be 32 hex digits");
  expect_err(&c, "{\"type\":\"x\",\"trace_id\":\"0123456789abcdef0123456789abcdeg\"}", "trace_id",
             "must be 32 hex digits");
  expect_err(&c, "{\"type\":\"x\",\"trace_id\":\"00000000000000000000000000000000\"}", "trace_id",
             "must not be all zeros");
  expect_err(&c, "{\"type\":\"x\",\"span_id\":\"0000000000000000\"}", "span_id", "must not be all zeros");
  expect_err(&c, "{\"type\":\"x\",\"span_id\":\"00f067aa0ba902b\"}", "span_id", "must be 16 hex digits");
  expect_err(&c, "{\"type\":\"x\",\"span_id\":\"\"}", "span_id", "must not be empty");
  arena_free(&c.a);
  return 0;
}

TEST_IMPL(event_time_forms_and_range) {
  ctx c;
  ctx_init(&c);
  const int64_t t = 1795249560LL * NS_PER_SEC;
  expect_ok(&c, "{\"type\":\"x\",\"time\":\"2026-11-21T08:26:00Z\"}");
  ASSERT_EQ_INT(c.ev.time_ns, t);
  ASSERT_EQ_INT(c.ev.observed_ns, NOW);
  expect_ok(&c, "{\"type\":\"x\",\"time\":\"2026-11-21T03:26:00.000000001-05:00\"}");
  ASSERT_EQ_INT(c.ev.time_ns, t + 1);
  /* Epoch strings, by magnitude. */
  expect_ok(&c, "{\"type\":\"x\",\"time\":\"1795249560\"}");
  ASSERT_EQ_INT(c.ev.time_ns, t);
  expect_ok(&c, "{\"type\":\"x\",\"time\":\"1795249560123\"}");
  ASSERT_EQ_INT(c.ev.time_ns, t + 123 * NS_PER_MS);
  expect_ok(&c, "{\"type\":\"x\",\"time\":\"1795249560123456\"}");
  ASSERT_EQ_INT(c.ev.time_ns, t + 123456 * NS_PER_US);
  expect_ok(&c, "{\"type\":\"x\",\"time\":\"1795249560123456789\"}");
  ASSERT_EQ_INT(c.ev.time_ns, t + 123456789);
  /* Epoch numbers, by magnitude, exact. */
  expect_ok(&c, "{\"type\":\"x\",\"time\":1795249560}");
  ASSERT_EQ_INT(c.ev.time_ns, t);
  expect_ok(&c, "{\"type\":\"x\",\"time\":1795249560.123456789}");
  ASSERT_EQ_INT(c.ev.time_ns, t + 123456789);
  expect_ok(&c, "{\"type\":\"x\",\"time\":1795249560123}");
  ASSERT_EQ_INT(c.ev.time_ns, t + 123 * NS_PER_MS);
  expect_ok(&c, "{\"type\":\"x\",\"time\":1795249560123456}");
  ASSERT_EQ_INT(c.ev.time_ns, t + 123456 * NS_PER_US);
  expect_ok(&c, "{\"type\":\"x\",\"time\":1795249560123456789}");
  ASSERT_EQ_INT(c.ev.time_ns, t + 123456789);
  expect_ok(&c, "{\"type\":\"x\",\"time\":1.79524956e9}");
  ASSERT_EQ_INT(c.ev.time_ns, t);
  expect_ok(&c, "{\"type\":\"x\",\"time\":0}");
  ASSERT_EQ_INT(c.ev.time_ns, 0); /* an explicit epoch 0 is kept, not replaced by now */
  /* Range and syntax. */
  expect_err(&c, "{\"type\":\"x\",\"time\":-1}", "time", "out of range");
  expect_err(&c, "{\"type\":\"x\",\"time\":\"1969-12-31T23:59:59Z\"}", "time", "out of range");
  expect_err(&c, "{\"type\":\"x\",\"time\":\"9999-12-31T23:59:59Z\"}", "time", "out of range");
  expect_err(&c, "{\"type\":\"x\",\"time\":\"99999999999999999999\"}", "time", "out of range");
  expect_err(&c, "{\"type\":\"x\",\"time\":1e30}", "time", "out of range");
  expect_err(&c, "{\"type\":\"x\",\"time\":9223372036854775808}", "time", "out of range");
  expect_err(&c, "{\"type\":\"x\",\"time\":\"2026-02-30T00:00:00Z\"}", "time",
             "invalid RFC 3339 time '2026-02-30T00:00:00Z'");
  expect_err(&c, "{\"type\":\"x\",\"time\":\"yesterday\"}", "time", "invalid RFC 3339 time");
  expect_err(&c, "{\"type\":\"x\",\"time\":\"2026-11-21T08:26:00\"}", "time",
             "invalid RFC 3339 time '2026-11-21T08:26:00' (needs Z or an offset like +02:00)");
  expect_err(&c, "{\"type\":\"x\",\"tag\":\"x\",\"time\":\"2026-11-21T08:26:00+02\"}", "time",
             "invalid RFC 3339 time '2026-11-21T08:26:00+02'");
  expect_err(&c, "{\"type\":\"x\",\"time\":\"\"}", "time", "invalid RFC 3339 time ''");
  expect_err(&c, "{\"type\":\"x\",\"time\":true}", "time", "expected string or number, got boolean");
  expect_err(&c, "{\"type\":\"x\",\"time\":{}}", "time", "expected string or number, got object");
  arena_free(&c.a);
  return 0;
}

TEST_IMPL(event_severity_forms_and_conflicts) {
  ctx c;
  ctx_init(&c);
  expect_ok(&c, "{\"type\":\"x\",\"severity\":\"ERROR\"}");
  ASSERT_EQ_INT(c.ev.severity_number, 17);
  expect_ok(&c, "{\"type\":\"x\",\"severity\":\"critical\"}");
  ASSERT_EQ_INT(c.ev.severity_number, 21);
  expect_ok(&c, "{\"type\":\"x\",\"severity\":14}");
  ASSERT_EQ_INT(c.ev.severity_number, 14);
  expect_ok(&c, "{\"type\":\"x\",\"severity_number\":5}");
  ASSERT_EQ_INT(c.ev.severity_number, 5);
  /* Both: the number may refine the text but not contradict it. */
  expect_ok(&c, "{\"type\":\"x\",\"severity\":\"WARN\",\"severity_number\":14}");
  ASSERT_EQ_INT(c.ev.severity_number, 14);
  expect_ok(&c, "{\"type\":\"x\",\"severity_number\":13,\"severity\":\"warning\"}");
  ASSERT_EQ_INT(c.ev.severity_number, 13);
  expect_err(&c, "{\"type\":\"x\",\"severity\":\"WARN\",\"severity_number\":17}", "severity_number",
             "17 (ERROR) disagrees with severity WARN");
  expect_err(&c, "{\"type\":\"x\",\"severity\":9,\"severity_number\":21}", "severity_number",
             "disagrees");
  expect_err(&c, "{\"type\":\"x\",\"severity\":\"LOUD\"}", "severity", "unknown severity 'LOUD'");
  expect_err(&c, "{\"type\":\"x\",\"severity\":0}", "severity", "must be 1..24, got 0");
  expect_err(&c, "{\"type\":\"x\",\"severity\":25}", "severity", "must be 1..24, got 25");
  expect_err(&c, "{\"type\":\"x\",\"severity\":9.5}", "severity", "expected an integer 1..24, got 9.5");
  expect_err(&c, "{\"type\":\"x\",\"severity\":[]}", "severity", "expected string or number, got array");
  expect_err(&c, "{\"type\":\"x\",\"severity_number\":\"9\"}", "severity_number",
             "expected number, got string");
  expect_err(&c, "{\"type\":\"x\",\"severity_number\":99999999999999999999}", "severity_number",
             "expected an integer 1..24");
  arena_free(&c.a);
  return 0;
}

TEST_IMPL(event_labels_rules) {
  ctx c;
  ctx_init(&c);
  expect_ok(&c, "{\"type\":\"x\",\"labels\":{\"env\":\"prod\",\"a.b-c_D9\":\"\",\"u\":\"\xc3\xa9\"}}");
  ASSERT_EQ_U64(c.ev.nlabels, 3);
  ASSERT_EQ_MEM(c.ev.labels[0].key.p, c.ev.labels[0].key.n, "env");
  ASSERT_EQ_U64(c.ev.labels[1].value.n, 0);
  expect_ok(&c, "{\"type\":\"x\",\"labels\":{}}");
  ASSERT_EQ_U64(c.ev.nlabels, 0);
  expect_err(&c, "{\"type\":\"x\",\"labels\":{\"env\":1}}", "labels.env", "expected string, got number");
  expect_err(&c, "{\"type\":\"x\",\"labels\":{\"env\":null}}", "labels.env", "expected string, got null");
  expect_err(&c, "{\"type\":\"x\",\"labels\":{\"a b\":\"1\"}}", "labels.a b", "invalid character ' ' in key");
  expect_err(&c, "{\"type\":\"x\",\"labels\":{\"a:b\":\"1\"}}", "labels.a:b", "invalid character ':' in key");
  expect_err(&c, "{\"type\":\"x\",\"labels\":{\"\":\"1\"}}", "labels", "must not be empty");
  expect_err(&c, "{\"type\":\"x\",\"labels\":[]}", "labels", "expected object, got array");
  expect_err(&c, "{\"type\":\"x\",\"labels\":\"env=prod\"}", "labels", "expected object, got string");
  c.lim.value_max = 3;
  c.lim.name_max = 9; /* "default.x" still fits */
  c.lim.labels_max = 2;
  expect_err(&c, "{\"type\":\"x\",\"labels\":{\"k\":\"1234\"}}", "labels.k", "exceeds 3 bytes");
  expect_ok(&c, "{\"type\":\"x\",\"labels\":{\"kkkkkkkkk\":\"1\"}}");
  expect_err(&c, "{\"type\":\"x\",\"labels\":{\"kkkkkkkkkk\":\"1\"}}", "labels.kkkkkkkkkk",
             "key exceeds 9 bytes");
  expect_ok(&c, "{\"type\":\"x\",\"labels\":{\"a\":\"1\",\"b\":\"2\"}}");
  expect_err(&c, "{\"type\":\"x\",\"labels\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}}", "labels",
             "has 3 labels, more than the limit of 2 (limits.labels_max)");
  arena_free(&c.a);
  return 0;
}

TEST_IMPL(event_data_resource_unknown_and_owned_fields) {
  ctx c;
  ctx_init(&c);
  expect_err(&c, "{\"type\":\"x\",\"data\":[1]}", "data", "expected object, got array");
  expect_err(&c, "{\"type\":\"x\",\"data\":\"s\"}", "data", "expected object, got string");
  expect_err(&c, "{\"type\":\"x\",\"resource\":1}", "resource", "expected object, got number");
  expect_err(&c, "{\"type\":\"x\",\"color\":\"red\"}", "color", "unknown field");
  expect_err(&c, "{\"type\":\"x\",\"Type\":\"y\"}", "Type", "unknown field");
  expect_err(&c, "{\"type\":\"x\",\"\":1}", "", "unknown field");
  expect_err(&c, "{\"type\":\"x\",\"observed_time\":\"2026-11-21T08:26:00Z\"}", "observed_time",
             "set by eventd");
  /* A huge unknown name is cut on a UTF-8 boundary in the error. */
  char text[700];
  size_t n = (size_t)snprintf(text, sizeof text, "{\"type\":\"x\",\"");
  for (int i = 0; i < 100; i++) n += (size_t)snprintf(text + n, sizeof text - n, "\xc3\xa9");
  snprintf(text + n, sizeof text - n, "\":1}");
  ASSERT(norm(&c, text) != 0);
  ASSERT_EQ_STR(c.err.reason, "unknown field");
  ASSERT(utf8_valid(c.err.field, strlen(c.err.field)));
  ASSERT(strlen(c.err.field) <= 100);
  ASSERT(strstr(c.err.field, "...") != NULL);
  arena_free(&c.a);
  return 0;
}

TEST_IMPL(event_write_json_canonical_form) {
  ctx c;
  ctx_init(&c);
  expect_ok(&c,
            "{\"data\":{\"apn\":\"internet\",\"n\":[1,2.5]},\"labels\":{\"env\":\"prod\"},"
            "\"severity\":\"error\",\"type\":\"session_created\",\"stream\":\"sessiond\","
            "\"tag\":\"IMSI1\",\"time\":\"2026-11-21T08:26:00.5Z\",\"message\":\"a \\\"b\\\"\\n\","
            "\"resource\":{\"host\":\"agw\"},\"span_id\":\"00F067AA0BA902B7\"}");
  buf b = BUF_INIT;
  ASSERT(event_write_json(&c.ev, "01JDXYZ0000000000000000000", 26, &b) == 0);
  ASSERT_EQ_STR(b.data,
                "{\"id\":\"01JDXYZ0000000000000000000\",\"time\":\"2026-11-21T08:26:00.500000000Z\","
                "\"observed_time\":\"2026-11-21T08:26:00.000000042Z\",\"tenant\":\"default\","
                "\"stream\":\"sessiond\",\"type\":\"session_created\",\"key\":\"sessiond.session_created\","
                "\"tag\":\"IMSI1\",\"severity\":\"ERROR\",\"severity_number\":17,"
                "\"message\":\"a \\\"b\\\"\\n\",\"span_id\":\"00f067aa0ba902b7\","
                "\"labels\":{\"env\":\"prod\"},\"resource\":{\"host\":\"agw\"},"
                "\"data\":{\"apn\":\"internet\",\"n\":[1,2.5]}}");
  ASSERT(memcmp(b.data, "{\"id\":\"", 7) == 0);
  ASSERT(memcmp(b.data + 7, "01JDXYZ", 7) == 0);
  /* Minimal event: only the always-present members; appends after existing content. */
  expect_ok(&c, "{\"type\":\"t\",\"severity\":3}");
  buf_clear(&b);
  buf_puts(&b, "[");
  ASSERT(event_write_json(&c.ev, "x", 1, &b) == 0);
  ASSERT_EQ_STR(b.data,
                "[{\"id\":\"x\",\"time\":\"2026-11-21T08:26:00.000000042Z\","
                "\"observed_time\":\"2026-11-21T08:26:00.000000042Z\",\"tenant\":\"default\","
                "\"stream\":\"default\",\"type\":\"t\",\"key\":\"default.t\","
                "\"severity\":\"TRACE\",\"severity_number\":3}");
  buf_free(&b);
  arena_free(&c.a);
  return 0;
}

TEST_IMPL(event_write_json_output_parses_back_to_the_same_event) {
  ctx c;
  ctx_init(&c);
  expect_ok(&c,
            "{\"id\":\"q\\\"uo\\\\te\",\"type\":\"t\",\"tenant\":\"acme\",\"key\":\"k.x\",\"source\":\"s\","
            "\"correlation_id\":\"c\",\"state\":\"Completed\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
            "\"message\":\"\\u0001\\u001f\xe2\x82\xac\",\"labels\":{\"a\":\"\\\"\"},\"severity\":22,"
            "\"time\":1795249560.000000007,\"data\":{\"deep\":[[{\"x\":null}]]}}");
  buf b = BUF_INIT;
  ASSERT(event_write_json(&c.ev, c.ev.id.p, c.ev.id.n, &b) == 0);
  /* The output is JSON; without the eventd-owned member it normalizes to the same values. */
  arena a2;
  arena_init(&a2, 0);
  json_error jerr;
  json_value *v = json_parse(&a2, b.data, b.len, 64, &jerr);
  ASSERT(v != NULL);
  ASSERT_EQ_STR(json_get(v, "severity")->s, "FATAL");
  ASSERT_EQ_STR(json_get(v, "time")->s, "2026-11-21T08:26:00.000000007Z");
  /* Drop observed_time and severity (keep severity_number) and normalize again. */
  json_value **pp = &v->child;
  while (*pp) {
    if (strcmp((*pp)->key, "observed_time") == 0 || strcmp((*pp)->key, "severity") == 0) *pp = (*pp)->next;
    else pp = &(*pp)->next;
  }
  event ev2;
  evd_field_error err;
  ASSERT(event_from_json(v, &c.lim, NOW + 5, &a2, &ev2, &err) == 0);
  buf b2 = BUF_INIT;
  ASSERT(event_write_json(&ev2, ev2.id.p, ev2.id.n, &b2) == 0);
  /* The same canonical JSON except observed_time. */
  char *want = strdup(b.data);
  char *obs = strstr(want, "08:26:00.000000042Z\",\"tenant\"");
  ASSERT(obs != NULL);
  obs[17] = '7';
  ASSERT_EQ_STR(b2.data, want);
  free(want);
  ASSERT_EQ_INT(ev2.time_ns, c.ev.time_ns);
  ASSERT_EQ_INT(ev2.severity_number, 22);
  for (int f = 0; f < EVF__COUNT; f++) {
    ASSERT_EQ_U64(ev2.f[f].n, c.ev.f[f].n);
    ASSERT(memcmp(ev2.f[f].p ? ev2.f[f].p : "", c.ev.f[f].p ? c.ev.f[f].p : "", c.ev.f[f].n) == 0);
  }
  ASSERT_EQ_U64(ev2.nlabels, 1);
  ASSERT_EQ_MEM(ev2.labels[0].value.p, ev2.labels[0].value.n, "\"");
  buf_free(&b);
  buf_free(&b2);
  arena_free(&a2);
  arena_free(&c.a);
  return 0;
}

TEST_IMPL(event_finish_applies_the_same_rules_to_filled_events) {
  arena a;
  arena_init(&a, 0);
  evd_limits lim;
  evd_limits_default(&lim);
  evd_field_error err;
  event ev;
  memset(&ev, 0, sizeof ev);
  ev.f[EVF_TYPE] = (strv){"syslog.auth", 11};
  ev.f[EVF_SOURCE] = (strv){"host1", 5};
  ASSERT(event_finish(&ev, &lim, NOW, &a, &err) == 0);
  ASSERT_EQ_MEM(ev.f[EVF_KEY].p, ev.f[EVF_KEY].n, "default.syslog.auth");
  ASSERT_EQ_INT(ev.time_ns, NOW);
  ASSERT_EQ_INT(ev.observed_ns, NOW);
  ASSERT_EQ_INT(ev.severity_number, 9);
  /* Missing type. */
  memset(&ev, 0, sizeof ev);
  ASSERT(event_finish(&ev, &lim, NOW, &a, &err) == -1);
  ASSERT_EQ_STR(err.field, "type");
  ASSERT_EQ_STR(err.reason, "required");
  /* Invalid UTF-8 from a non-JSON input is refused. */
  memset(&ev, 0, sizeof ev);
  ev.f[EVF_TYPE] = (strv){"t", 1};
  ev.f[EVF_MESSAGE] = (strv){"bad \xff", 5};
  ASSERT(event_finish(&ev, &lim, NOW, &a, &err) == -1);
  ASSERT_EQ_STR(err.field, "message");
  ASSERT_EQ_STR(err.reason, "invalid UTF-8");
  /* Duplicate label keys. */
  evd_label labels[2] = {{{"env", 3}, {"a", 1}}, {{"env", 3}, {"b", 1}}};
  memset(&ev, 0, sizeof ev);
  ev.f[EVF_TYPE] = (strv){"t", 1};
  ev.labels = labels;
  ev.nlabels = 2;
  ASSERT(event_finish(&ev, &lim, NOW, &a, &err) == -1);
  ASSERT_EQ_STR(err.field, "labels.env");
  ASSERT_EQ_STR(err.reason, "duplicate label");
  /* Severity out of range, negative time. */
  memset(&ev, 0, sizeof ev);
  ev.f[EVF_TYPE] = (strv){"t", 1};
  ev.severity_number = 30;
  ASSERT(event_finish(&ev, &lim, NOW, &a, &err) == -1);
  ASSERT_EQ_STR(err.field, "severity_number");
  memset(&ev, 0, sizeof ev);
  ev.f[EVF_TYPE] = (strv){"t", 1};
  ev.time_ns = -5;
  ASSERT(event_finish(&ev, &lim, NOW, &a, &err) == -1);
  ASSERT_EQ_STR(err.field, "time");
  /* A given time is kept. */
  memset(&ev, 0, sizeof ev);
  ev.f[EVF_TYPE] = (strv){"t", 1};
  ev.time_ns = 12345;
  ASSERT(event_finish(&ev, &lim, NOW, &a, &err) == 0);
  ASSERT_EQ_INT(ev.time_ns, 12345);
  arena_free(&a);
  return 0;
}

TEST_IMPL(event_errors_say_whether_a_limit_or_a_rule_was_broken) {
  ctx c;
  ctx_init(&c);
  c.lim.value_max = 8;
  c.lim.labels_max = 1;
  /* Over configured limits: kind LIMIT (inputs answer 413 / RESOURCE_EXHAUSTED). */
  expect_err(&c, "{\"type\":\"t\",\"tag\":\"123456789\"}", "tag", "limits.value_max");
  ASSERT_EQ_INT(c.err.kind, EVD_ERR_LIMIT);
  expect_err(&c, "{\"type\":\"t\",\"labels\":{\"a\":\"1\",\"b\":\"2\"}}", "labels", "limits.labels_max");
  ASSERT_EQ_INT(c.err.kind, EVD_ERR_LIMIT);
  /* Broken rules: kind INVALID (400 / INVALID_ARGUMENT). */
  expect_err(&c, "{\"type\":\"t\",\"tag\":5}", "tag", "expected string");
  ASSERT_EQ_INT(c.err.kind, EVD_ERR_INVALID);
  expect_err(&c, "{\"type\":\"t\",\"bogus\":1}", "bogus", "unknown field");
  ASSERT_EQ_INT(c.err.kind, EVD_ERR_INVALID);
  arena_free(&c.a);
  return 0;
}
