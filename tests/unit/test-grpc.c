/* Unit tests of the gRPC input's byte handling (src/inputs/grpc/grpc_wire.c) and of the
 * protobuf -> event mapping (grpc_events.c). The transport and the services are covered by
 * the integration tests with a real gRPC client (tests/integration/test_grpc_*.sh). */
#include "test.h"

#include "core/timeutil.h"
#include "inputs/grpc/grpc_events.h"
#include "inputs/grpc/grpc_wire.h"

typedef struct seen {
  size_t n;
  size_t len[8];
  char text[8][64];
} seen;

static int collect(void *arg, const uint8_t *msg, size_t len) {
  seen *s = arg;
  if (s->n < 8) {
    s->len[s->n] = len;
    size_t k = len < 63 ? len : 63;
    memcpy(s->text[s->n], msg, k);
    s->text[s->n][k] = '\0';
  }
  s->n++;
  return 0;
}

/* Append a gRPC frame (flag 0) of text to b. */
static void frame(buf *b, const char *text) {
  size_t n = strlen(text);
  unsigned char h[5] = {0, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
                        (unsigned char)(n >> 8), (unsigned char)n};
  ASSERT(buf_append(b, h, 5) == 0);
  ASSERT(buf_append(b, text, n) == 0);
}

TEST_IMPL(grpc_framer_reassembles_messages_split_anywhere) {
  buf in = BUF_INIT;
  frame(&in, "hello");
  frame(&in, "");
  frame(&in, "a longer second message");
  /* Every chunk size from 1 to the whole: the same three messages. */
  for (size_t step = 1; step <= in.len; step++) {
    grpc_framer f;
    grpc_framer_init(&f, 1024);
    seen s = {0};
    grpc_code code;
    char msg[128];
    for (size_t off = 0; off < in.len; off += step) {
      size_t k = in.len - off < step ? in.len - off : step;
      ASSERT_EQ_INT(grpc_framer_feed(&f, (const uint8_t *)in.data + off, k, collect, &s, &code,
                                     msg, sizeof msg), 0);
    }
    ASSERT_EQ_INT(s.n, 3);
    ASSERT_EQ_STR(s.text[0], "hello");
    ASSERT_EQ_INT(s.len[1], 0);
    ASSERT_EQ_STR(s.text[2], "a longer second message");
    ASSERT(!grpc_framer_partial(&f));
    grpc_framer_free(&f);
  }
  buf_free(&in);
  return 0;
}

TEST_IMPL(grpc_framer_refuses_oversized_message_from_its_prefix) {
  grpc_framer f;
  grpc_framer_init(&f, 100);
  seen s = {0};
  grpc_code code = GRPC_OK;
  char msg[256];
  /* The prefix alone announces 101 bytes: refused before any of the body arrives. */
  const uint8_t prefix[5] = {0, 0, 0, 0, 101};
  ASSERT_EQ_INT(grpc_framer_feed(&f, prefix, 5, collect, &s, &code, msg, sizeof msg), -1);
  ASSERT_EQ_INT(code, GRPC_RESOURCE_EXHAUSTED);
  ASSERT(strstr(msg, "101 vs. 100") != NULL);
  ASSERT(strstr(msg, "grpc.max_message_bytes") != NULL);
  /* Failed framers ignore the rest. */
  ASSERT_EQ_INT(grpc_framer_feed(&f, (const uint8_t *)"xx", 2, collect, &s, &code, msg, sizeof msg), 0);
  ASSERT_EQ_INT(s.n, 0);
  grpc_framer_free(&f);
  /* Exactly the limit is fine. */
  grpc_framer_init(&f, 3);
  const uint8_t ok[8] = {0, 0, 0, 0, 3, 'a', 'b', 'c'};
  ASSERT_EQ_INT(grpc_framer_feed(&f, ok, 8, collect, &s, &code, msg, sizeof msg), 0);
  ASSERT_EQ_INT(s.n, 1);
  grpc_framer_free(&f);
  return 0;
}

TEST_IMPL(grpc_framer_refuses_compressed_message) {
  grpc_framer f;
  grpc_framer_init(&f, 100);
  seen s = {0};
  grpc_code code = GRPC_OK;
  char msg[256];
  const uint8_t gz[6] = {1, 0, 0, 0, 1, 'x'};
  ASSERT_EQ_INT(grpc_framer_feed(&f, gz, 6, collect, &s, &code, msg, sizeof msg), -1);
  ASSERT_EQ_INT(code, GRPC_UNIMPLEMENTED);
  ASSERT(strstr(msg, "compressed") != NULL);
  grpc_framer_free(&f);
  grpc_framer_init(&f, 100);
  const uint8_t bad[6] = {7, 0, 0, 0, 1, 'x'};
  ASSERT_EQ_INT(grpc_framer_feed(&f, bad, 6, collect, &s, &code, msg, sizeof msg), -1);
  ASSERT_EQ_INT(code, GRPC_INTERNAL);
  ASSERT_EQ_INT(s.n, 0);
  grpc_framer_free(&f);
  return 0;
}

TEST_IMPL(grpc_framer_reports_a_partial_message) {
  grpc_framer f;
  grpc_framer_init(&f, 100);
  seen s = {0};
  grpc_code code;
  char msg[64];
  const uint8_t half[7] = {0, 0, 0, 0, 4, 'a', 'b'};
  ASSERT_EQ_INT(grpc_framer_feed(&f, half, 3, collect, &s, &code, msg, sizeof msg), 0);
  ASSERT(grpc_framer_partial(&f)); /* inside the prefix */
  ASSERT_EQ_INT(grpc_framer_feed(&f, half + 3, 4, collect, &s, &code, msg, sizeof msg), 0);
  ASSERT(grpc_framer_partial(&f)); /* inside the body */
  ASSERT_EQ_INT(s.n, 0);
  ASSERT_EQ_INT(grpc_framer_feed(&f, (const uint8_t *)"cd", 2, collect, &s, &code, msg, sizeof msg), 0);
  ASSERT(!grpc_framer_partial(&f));
  ASSERT_EQ_INT(s.n, 1);
  ASSERT_EQ_STR(s.text[0], "abcd");
  grpc_framer_free(&f);
  return 0;
}

TEST_IMPL(grpc_timeout_header_units_and_errors) {
  int64_t ns;
  ASSERT_EQ_INT(grpc_parse_timeout("1S", 2, &ns), 0);
  ASSERT_EQ_INT(ns, NS_PER_SEC);
  ASSERT_EQ_INT(grpc_parse_timeout("250m", 4, &ns), 0);
  ASSERT_EQ_INT(ns, 250 * NS_PER_MS);
  ASSERT_EQ_INT(grpc_parse_timeout("7u", 2, &ns), 0);
  ASSERT_EQ_INT(ns, 7000);
  ASSERT_EQ_INT(grpc_parse_timeout("3n", 2, &ns), 0);
  ASSERT_EQ_INT(ns, 3);
  ASSERT_EQ_INT(grpc_parse_timeout("2M", 2, &ns), 0);
  ASSERT_EQ_INT(ns, 120 * NS_PER_SEC);
  ASSERT_EQ_INT(grpc_parse_timeout("99999999H", 9, &ns), 0); /* 8 digits: saturates */
  ASSERT_EQ_INT(ns, INT64_MAX);
  ASSERT_EQ_INT(grpc_parse_timeout("100000000S", 10, &ns), -1); /* 9 digits */
  ASSERT_EQ_INT(grpc_parse_timeout("S", 1, &ns), -1);
  ASSERT_EQ_INT(grpc_parse_timeout("10", 2, &ns), -1);
  ASSERT_EQ_INT(grpc_parse_timeout("1s", 2, &ns), -1);
  ASSERT_EQ_INT(grpc_parse_timeout("-1S", 3, &ns), -1);
  return 0;
}

TEST_IMPL(grpc_message_percent_encoding) {
  buf b = BUF_INIT;
  const char in[] = "a b%c\n\xc3\xa9~";
  ASSERT_EQ_INT(grpc_percent_encode(&b, in, sizeof in - 1), 0);
  ASSERT_EQ_STR(b.data, "a b%25c%0A%C3%A9~");
  buf_free(&b);
  return 0;
}

TEST_IMPL(grpc_decode_refuses_nul_and_invalid_utf8_in_nested_strings) {
  arena a;
  arena_init(&a, 0);
  grpc_code code;
  char err[256];
  /* PublishRequest{events: [Event{labels: {"a\0": ""}}]}: field 1 -> field 14 -> key. */
  const uint8_t nul[] = {0x0a, 0x06, 0x72, 0x04, 0x0a, 0x02, 'a', 0x00};
  ASSERT(grpc_decode(&eventd__v1__publish_request__descriptor, nul, sizeof nul, &a, &code, err,
                     sizeof err) == NULL);
  ASSERT_EQ_INT(code, GRPC_INVALID_ARGUMENT);
  ASSERT_EQ_STR(err, "events.labels.key: contains a NUL byte");
  /* Event{type: "\xc3("} */
  const uint8_t utf[] = {0x0a, 0x04, 0x32, 0x02, 0xc3, 0x28};
  ASSERT(grpc_decode(&eventd__v1__publish_request__descriptor, utf, sizeof utf, &a, &code, err,
                     sizeof err) == NULL);
  ASSERT_EQ_INT(code, GRPC_INVALID_ARGUMENT);
  ASSERT_EQ_STR(err, "events.type: invalid UTF-8");
  /* Not a protobuf message at all: INTERNAL. */
  const uint8_t junk[] = {0xff, 0xff, 0xff};
  ASSERT(grpc_decode(&eventd__v1__publish_request__descriptor, junk, sizeof junk, &a, &code, err,
                     sizeof err) == NULL);
  ASSERT_EQ_INT(code, GRPC_INTERNAL);
  /* A valid one decodes; its strings are whole. */
  const uint8_t ok[] = {0x0a, 0x05, 0x32, 0x03, 'a', 'b', 'c'};
  Eventd__V1__PublishRequest *m = (Eventd__V1__PublishRequest *)grpc_decode(
      &eventd__v1__publish_request__descriptor, ok, sizeof ok, &a, &code, err, sizeof err);
  ASSERT(m != NULL);
  ASSERT_EQ_INT(m->n_events, 1);
  ASSERT_EQ_STR(m->events[0]->type, "abc");
  arena_free(&a);
  return 0;
}

TEST_IMPL(grpc_native_event_maps_fields_and_last_label_wins) {
  arena a;
  arena_init(&a, 0);
  evd_limits lim;
  evd_limits_default(&lim);
  Eventd__V1__Event m = EVENTD__V1__EVENT__INIT;
  m.type = "deploy";
  m.stream = "ci";
  m.time_case = EVENTD__V1__EVENT__TIME_TIME_TEXT;
  m.time_text = "2026-11-21T08:26:00.5Z";
  m.severity_case = EVENTD__V1__EVENT__SEVERITY_SEVERITY_TEXT;
  m.severity_text = "warn";
  m.data = "{\"x\":1}";
  Eventd__V1__Event__LabelsEntry l1 = EVENTD__V1__EVENT__LABELS_ENTRY__INIT, l2 = l1, l3 = l1;
  l1.key = "env", l1.value = "dev";
  l2.key = "team", l2.value = "core";
  l3.key = "env", l3.value = "prod";
  Eventd__V1__Event__LabelsEntry *labels[] = {&l1, &l2, &l3};
  m.n_labels = 3;
  m.labels = labels;
  event ev;
  evd_field_error fe;
  ASSERT_EQ_INT(grpc_native_event(&m, &lim, &a, &ev, &fe), 0);
  ASSERT_EQ_MEM(ev.f[EVF_TYPE].p, ev.f[EVF_TYPE].n, "deploy");
  ASSERT_EQ_MEM(ev.f[EVF_STREAM].p, ev.f[EVF_STREAM].n, "ci");
  int64_t want;
  ASSERT_EQ_INT(time_parse_rfc3339("2026-11-21T08:26:00.5Z", 22, &want), 0);
  ASSERT_EQ_INT(ev.time_ns, want);
  ASSERT_EQ_INT(ev.severity_number, 13);
  ASSERT(ev.data && ev.data->type == JSON_OBJECT);
  ASSERT_EQ_INT(ev.nlabels, 2);
  ASSERT_EQ_MEM(ev.labels[0].key.p, ev.labels[0].key.n, "env");
  ASSERT_EQ_MEM(ev.labels[0].value.p, ev.labels[0].value.n, "prod");
  /* Errors name the field. */
  m.data = "{";
  ASSERT_EQ_INT(grpc_native_event(&m, &lim, &a, &ev, &fe), -1);
  ASSERT_EQ_STR(fe.field, "data");
  m.data = "";
  m.time_case = EVENTD__V1__EVENT__TIME_TIME_UNIX_NANO;
  m.time_unix_nano = -5;
  ASSERT_EQ_INT(grpc_native_event(&m, &lim, &a, &ev, &fe), -1);
  ASSERT_EQ_STR(fe.field, "time");
  m.time_unix_nano = 1700000000123456789LL;
  m.severity_case = EVENTD__V1__EVENT__SEVERITY_SEVERITY_NUMBER;
  m.severity_number = 25;
  ASSERT_EQ_INT(grpc_native_event(&m, &lim, &a, &ev, &fe), -1);
  ASSERT_EQ_STR(fe.field, "severity_number");
  m.severity_number = 5;
  lim.labels_max = 2;
  ASSERT_EQ_INT(grpc_native_event(&m, &lim, &a, &ev, &fe), -1); /* 3 entries on the wire */
  ASSERT(grpc_error_is_limit(&fe));
  lim.labels_max = 64;
  ASSERT_EQ_INT(grpc_native_event(&m, &lim, &a, &ev, &fe), 0);
  ASSERT_EQ_INT(ev.time_ns, 1700000000123456789LL);
  arena_free(&a);
  return 0;
}

TEST_IMPL(grpc_magma_event_maps_fields_and_reports_bad_json) {
  arena a;
  arena_init(&a, 0);
  evd_limits lim;
  evd_limits_default(&lim);
  Magma__Orc8r__Event m = MAGMA__ORC8R__EVENT__INIT;
  m.stream_name = "mme";
  m.event_type = "attach_success";
  m.tag = "IMSI1";
  m.value = "{\"imsi\":\"IMSI1\"}";
  event ev;
  evd_field_error fe;
  ASSERT_EQ_INT(grpc_magma_event(&m, &lim, &a, &ev, &fe), 0);
  ASSERT_EQ_MEM(ev.f[EVF_STREAM].p, ev.f[EVF_STREAM].n, "mme");
  ASSERT_EQ_MEM(ev.f[EVF_TYPE].p, ev.f[EVF_TYPE].n, "attach_success");
  ASSERT_EQ_MEM(ev.f[EVF_TAG].p, ev.f[EVF_TAG].n, "IMSI1");
  ASSERT(ev.data && ev.data->type == JSON_OBJECT && ev.data->n == 1);
  m.value = "{\"imsi\":";
  ASSERT_EQ_INT(grpc_magma_event(&m, &lim, &a, &ev, &fe), -1);
  ASSERT_EQ_STR(fe.field, "");
  ASSERT(strncmp(fe.reason, "invalid JSON in value: ", 23) == 0);
  m.value = "";
  ASSERT_EQ_INT(grpc_magma_event(&m, &lim, &a, &ev, &fe), -1);
  m.value = "{}";
  m.event_type = "";
  ASSERT_EQ_INT(grpc_magma_event(&m, &lim, &a, &ev, &fe), -1);
  ASSERT_EQ_STR(fe.field, "event_type");
  arena_free(&a);
  return 0;
}
