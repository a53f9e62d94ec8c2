/* Tests of core/record: the stored form of an event. */
#include "core/json.h"
#include "core/record.h"
#include "test.h"

static strv sv(const char *s) {
  strv v = {s, strlen(s)};
  return v;
}

static void fill_event(event *ev, evd_label *labels) {
  memset(ev, 0, sizeof *ev);
  ev->time_ns = 1763712000123456789LL;
  ev->observed_ns = 1763712001000000000LL;
  ev->severity_number = 17;
  ev->f[EVF_TENANT] = sv("default");
  ev->f[EVF_STREAM] = sv("sessiond");
  ev->f[EVF_TYPE] = sv("session_created");
  ev->f[EVF_KEY] = sv("sessiond.session_created");
  ev->f[EVF_TAG] = sv("IMSI001010000000099");
  ev->f[EVF_MESSAGE] = sv("created \"quoted\"\n");
  labels[0].key = sv("env");
  labels[0].value = sv("gprd");
  labels[1].key = sv("stage");
  labels[1].value = sv("");
  ev->labels = labels;
  ev->nlabels = 2;
}

TEST_IMPL(record_roundtrip_keeps_every_header_field) {
  event ev;
  evd_label labels[2];
  fill_event(&ev, labels);
  buf b = BUF_INIT;
  ASSERT_EQ_INT(record_encode(&ev, &b), 0);
  record_view rv;
  ASSERT_EQ_INT(record_decode(b.data, b.len, &rv), 0);
  ASSERT_EQ_INT(rv.severity, 17);
  ASSERT_EQ_INT(rv.flags, 0);
  ASSERT(rv.time_ns == ev.time_ns);
  ASSERT(rv.observed_ns == ev.observed_ns);
  ASSERT_EQ_INT(rv.id.n, ULID_LEN);
  for (int i = 0; i < EVF__COUNT; i++) {
    ASSERT_EQ_U64(rv.f[i].n, ev.f[i].n);
    if (ev.f[i].n) ASSERT(memcmp(rv.f[i].p, ev.f[i].p, ev.f[i].n) == 0);
  }
  ASSERT_EQ_INT(rv.nlabels, 2);
  strv v = record_label_get(&rv, "env", 3);
  ASSERT_EQ_MEM(v.p, v.n, "gprd");
  v = record_label_get(&rv, "stage", 5);
  ASSERT(v.p != NULL && v.n == 0);
  v = record_label_get(&rv, "nope", 4);
  ASSERT(v.p == NULL);
  ASSERT(rv.json.n > 0 && rv.json.p[0] == '{');
  buf_free(&b);
  return 0;
}

TEST_IMPL(record_patch_id_sets_header_and_json_alike) {
  event ev;
  evd_label labels[2];
  fill_event(&ev, labels);
  buf b = BUF_INIT;
  ASSERT_EQ_INT(record_encode(&ev, &b), 0);
  const char *id = "01KAKX2Y3Z4A5B6C7D8E9F0G1H";
  record_patch_id(b.data, b.len, id);
  record_view rv;
  ASSERT_EQ_INT(record_decode(b.data, b.len, &rv), 0);
  ASSERT_EQ_MEM(rv.id.p, rv.id.n, id);
  /* The JSON, parsed, carries the same id and the fields. */
  arena a;
  arena_init(&a, 0);
  json_error err;
  json_value *root = json_parse(&a, rv.json.p, rv.json.n, 64, &err);
  ASSERT(root != NULL);
  const json_value *jid = json_get(root, "id");
  ASSERT(jid && jid->type == JSON_STRING);
  ASSERT_EQ_STR(jid->s, id);
  const json_value *msg = json_get(root, "message");
  ASSERT(msg && msg->type == JSON_STRING);
  ASSERT_EQ_STR(msg->s, "created \"quoted\"\n");
  arena_free(&a);
  buf_free(&b);
  return 0;
}

TEST_IMPL(record_client_id_is_flagged_and_kept) {
  event ev;
  evd_label labels[2];
  fill_event(&ev, labels);
  ev.id = sv("deploy-42:step-1");
  buf b = BUF_INIT;
  ASSERT_EQ_INT(record_encode(&ev, &b), 0);
  record_view rv;
  ASSERT_EQ_INT(record_decode(b.data, b.len, &rv), 0);
  ASSERT_EQ_INT(rv.flags & RECORD_FLAG_CLIENT_ID, RECORD_FLAG_CLIENT_ID);
  ASSERT_EQ_MEM(rv.id.p, rv.id.n, "deploy-42:step-1");
  ASSERT(memcmp(rv.json.p, "{\"id\":\"deploy-42:step-1\"", 24) == 0);
  buf_free(&b);
  return 0;
}

TEST_IMPL(record_decode_refuses_every_truncation_and_bad_version) {
  event ev;
  evd_label labels[2];
  fill_event(&ev, labels);
  buf b = BUF_INIT;
  ASSERT_EQ_INT(record_encode(&ev, &b), 0);
  record_view rv;
  uint32_t json_off = (uint32_t)(unsigned char)b.data[4] | ((uint32_t)(unsigned char)b.data[5] << 8);
  /* Cutting anywhere inside the header is refused; the decoder never reads past len
   * (ASan would catch it: each prefix is copied to an exact-size allocation). */
  for (size_t n = 0; n < json_off + 2; n++) {
    char *copy = malloc(n ? n : 1);
    memcpy(copy, b.data, n);
    ASSERT_EQ_INT(record_decode(copy, n, &rv), -1);
    free(copy);
  }
  b.data[0] = 2;
  ASSERT_EQ_INT(record_decode(b.data, b.len, &rv), -1);
  buf_free(&b);
  return 0;
}

TEST_IMPL(record_decode_refuses_json_offset_inside_the_header) {
  event ev;
  evd_label labels[2];
  fill_event(&ev, labels);
  buf b = BUF_INIT;
  ASSERT_EQ_INT(record_encode(&ev, &b), 0);
  record_view rv;
  /* A json_off pointing into the fixed header used to wrap the bounds arithmetic and read
   * past the payload; the payload is copied to an exact-size allocation so ASan sees it. */
  for (uint32_t off = 0; off < 40; off++) {
    for (size_t len = 28; len < 80; len++) {
      char *copy = malloc(len);
      memcpy(copy, b.data, len);
      copy[4] = (char)off;
      copy[5] = copy[6] = copy[7] = 0;
      ASSERT_EQ_INT(record_decode(copy, len, &rv), -1);
      free(copy);
    }
  }
  buf_free(&b);
  return 0;
}
