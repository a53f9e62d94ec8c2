/* Unit tests of the HTTP-port inputs' pure decoders: the Elasticsearch index rule, document
 * mapping and _bulk decoder (inputs/es/es_map.h), the OTLP JSON and protobuf decoders
 * (inputs/otlp/otlp_decode.h) and the gzip helper (inputs/http_input.h). */
#include <zlib.h>

#include "core/event.h"
#include "inputs/es/es_map.h"
#include "inputs/http_input.h"
#include "inputs/otlp/otlp_decode.h"
#include "test.h"

/* ---- Elasticsearch ---------------------------------------------------------------------- */

/* Map a document text from index, normalize it, return its canonical JSON (malloc'd) or
 * NULL with the reason in why. */
static char *map_doc(const char *rule_text, const char *index, const char *doc_text, char *why,
                     size_t whylen) {
  es_index_rule rule;
  char err[256];
  ASSERT(es_index_rule_parse(rule_text, &rule, err, sizeof err) == 0);
  es_map_opts o = {.rule = &rule, .default_type = "es.document"};
  arena a;
  arena_init(&a, 0);
  json_error je;
  json_value *doc = json_parse(&a, doc_text, strlen(doc_text), 16, &je);
  ASSERT(doc != NULL);
  int oom = 0;
  json_value *obj = es_map_document(&a, &o, index, strlen(index), NULL, 0, doc, &oom, why, whylen);
  char *out = NULL;
  if (obj) {
    evd_limits lim;
    evd_limits_default(&lim);
    event ev;
    evd_field_error fe;
    if (event_from_json(obj, &lim, 1000000000LL, &a, &ev, &fe) == 0) {
      buf b = BUF_INIT;
      ASSERT(event_write_json(&ev, "X", 1, &b) == 0);
      out = buf_steal(&b);
    } else {
      snprintf(why, whylen, "%.60s: %.180s", fe.field, fe.reason);
    }
  }
  arena_free(&a);
  return out;
}

TEST_IMPL(es_index_rule_default_splits_stream_and_env) {
  char why[256];
  char *j = map_doc("{stream}-{env}", "events-gprd", "{\"type\":\"deploy\"}", why, sizeof why);
  ASSERT(j != NULL);
  ASSERT(strstr(j, "\"stream\":\"events\""));
  ASSERT(strstr(j, "\"labels\":{\"env\":\"gprd\"}"));
  free(j);
  /* No separator: the whole index is the stream, no label. */
  j = map_doc("{stream}-{env}", "events", "{}", why, sizeof why);
  ASSERT(j && strstr(j, "\"stream\":\"events\"") && !strstr(j, "labels"));
  ASSERT(strstr(j, "\"type\":\"es.document\""));
  free(j);
  /* Only the first '-' splits. */
  j = map_doc("{stream}-{env}", "a-b-c", "{}", why, sizeof why);
  ASSERT(j && strstr(j, "\"stream\":\"a\"") && strstr(j, "\"env\":\"b-c\""));
  free(j);
  return 0;
}

TEST_IMPL(es_index_rule_custom_patterns_and_errors) {
  char why[256], err[256];
  char *j = map_doc("logs.{tenant}.{stream}.{_}", "logs.acme.web.2026", "{}", why, sizeof why);
  ASSERT(j && strstr(j, "\"tenant\":\"acme\"") && strstr(j, "\"stream\":\"web\""));
  ASSERT(!strstr(j, "2026"));
  free(j);
  /* Leading literal not matched: whole index -> stream. */
  j = map_doc("logs.{stream}", "other", "{}", why, sizeof why);
  ASSERT(j && strstr(j, "\"stream\":\"other\""));
  free(j);
  /* The document's own stream and labels win. */
  j = map_doc("{stream}-{env}", "events-gprd", "{\"stream\":\"mine\",\"labels\":{\"env\":\"x\"}}",
              why, sizeof why);
  ASSERT(j && strstr(j, "\"stream\":\"mine\"") && strstr(j, "\"env\":\"x\""));
  ASSERT(!strstr(j, "gprd"));
  free(j);
  es_index_rule r;
  ASSERT(es_index_rule_parse("{stream}{env}", &r, err, sizeof err) == -1);
  ASSERT(strstr(err, "two placeholders"));
  ASSERT(es_index_rule_parse("{stream", &r, err, sizeof err) == -1);
  ASSERT(es_index_rule_parse("{bad name}", &r, err, sizeof err) == -1);
  ASSERT(es_index_rule_parse("", &r, err, sizeof err) == -1);
  return 0;
}

TEST_IMPL(es_document_maps_canonical_fields_and_keeps_the_rest_in_data) {
  char why[256];
  char *j = map_doc("{stream}-{env}", "events-gprd",
                    "{\"@timestamp\":\"2026-01-02T03:04:05Z\",\"time\":\"ignored\",\"event_type\":\"t.x\","
                    "\"log\":\"hello\",\"level\":\"error\",\"source\":{\"ip\":\"1.2.3.4\"},"
                    "\"tag\":\"T\",\"trace_id\":\"nothex\",\"n\":1}",
                    why, sizeof why);
  ASSERT(j != NULL);
  ASSERT(strstr(j, "\"time\":\"2026-01-02T03:04:05.000000000Z\""));
  ASSERT(strstr(j, "\"type\":\"t.x\""));
  ASSERT(strstr(j, "\"message\":\"hello\""));
  ASSERT(strstr(j, "\"severity\":\"ERROR\""));
  ASSERT(strstr(j, "\"tag\":\"T\""));
  /* Not the canonical shape: kept in data. */
  ASSERT(strstr(j, "\"source\":{\"ip\":\"1.2.3.4\"}"));
  ASSERT(strstr(j, "\"trace_id\":\"nothex\""));
  ASSERT(strstr(j, "\"time\":\"ignored\""));
  ASSERT(strstr(j, "\"n\":1"));
  free(j);
  /* A bad time is refused by normalization, naming the field. */
  j = map_doc("{stream}-{env}", "e-x", "{\"time\":\"yesterday\"}", why, sizeof why);
  ASSERT(j == NULL && strstr(why, "time"));
  /* Not an object. */
  j = map_doc("{stream}-{env}", "e-x", "[1]", why, sizeof why);
  ASSERT(j == NULL && strstr(why, "object"));
  return 0;
}

typedef struct bulk_seen {
  int n;
  es_op ops[16];
  int status[16];
  int has_event[16];
  char ids[16][32];
  char index[16][32];
} bulk_seen;

static int bulk_sink(void *arg, const es_bulk_item *it) {
  bulk_seen *s = arg;
  ASSERT(s->n < 16);
  s->ops[s->n] = it->op;
  s->status[s->n] = it->status;
  s->has_event[s->n] = it->event != NULL;
  snprintf(s->ids[s->n], 32, "%.*s", it->id ? (int)it->id_len : 0, it->id ? it->id : "");
  snprintf(s->index[s->n], 32, "%.*s", (int)it->index_len, it->index);
  s->n++;
  return 0;
}

static int decode_bulk(const char *body, bulk_seen *seen, char *err, size_t errlen) {
  es_index_rule rule;
  ASSERT(es_index_rule_parse("{stream}-{env}", &rule, err, errlen) == 0);
  es_map_opts o = {.rule = &rule, .default_type = "es.document"};
  arena a;
  arena_init(&a, 0);
  memset(seen, 0, sizeof *seen);
  int rc = es_bulk_decode(&a, &o, "dflt-x", 6, body, strlen(body), 1024, 16, bulk_sink, seen, err,
                          errlen);
  arena_free(&a);
  return rc;
}

TEST_IMPL(es_bulk_items_are_decoded_one_by_one_with_their_own_status) {
  bulk_seen s;
  char err[256];
  const char *body =
      "{\"index\":{\"_index\":\"a-b\",\"_id\":\"1\"}}\n{\"x\":1}\n"
      "\n"
      "{\"delete\":{\"_id\":\"1\"}}\r\n"
      "{\"update\":{\"_id\":\"1\"}}\n{\"doc\":{}}\n"
      "{\"create\":{}}\nnot json\n"
      "{\"create\":{\"_id\":42}}\n{\"y\":2}";
  ASSERT_EQ_INT(decode_bulk(body, &s, err, sizeof err), 0);
  ASSERT_EQ_INT(s.n, 5);
  ASSERT_EQ_INT(s.ops[0], ES_OP_INDEX);
  ASSERT_EQ_INT(s.status[0], 0);
  ASSERT(s.has_event[0]);
  ASSERT_EQ_STR(s.index[0], "a-b");
  ASSERT_EQ_STR(s.ids[0], "1");
  ASSERT_EQ_INT(s.ops[1], ES_OP_DELETE);
  ASSERT_EQ_INT(s.status[1], 400);
  ASSERT_EQ_INT(s.ops[2], ES_OP_UPDATE);
  ASSERT_EQ_INT(s.status[2], 400);
  ASSERT_EQ_INT(s.status[3], 400); /* source not JSON */
  ASSERT_EQ_STR(s.index[3], "dflt-x"); /* the URL's index */
  ASSERT_EQ_INT(s.status[4], 0);       /* no final newline: still an item */
  ASSERT_EQ_STR(s.ids[4], "42");
  return 0;
}

TEST_IMPL(es_bulk_refuses_malformed_actions_as_a_whole) {
  bulk_seen s;
  char err[256];
  ASSERT_EQ_INT(decode_bulk("{\"explode\":{}}\n{}\n", &s, err, sizeof err), -1);
  ASSERT(strstr(err, "explode"));
  ASSERT_EQ_INT(decode_bulk("{\"index\":{}}\n", &s, err, sizeof err), -1);
  ASSERT(strstr(err, "source line"));
  ASSERT_EQ_INT(decode_bulk("[1]\n{}\n", &s, err, sizeof err), -1);
  ASSERT(strstr(err, "Malformed action/metadata line [1]"));
  ASSERT_EQ_INT(decode_bulk("{\"index\":{},\"create\":{}}\n{}\n", &s, err, sizeof err), -1);
  return 0;
}

/* ---- OTLP ------------------------------------------------------------------------------- */

typedef struct otlp_seen {
  size_t n, refused;
  char json[8][1024];
  char reason[8][448];
} otlp_seen;

static int record_sink(void *arg, size_t index, event *ev, const char *reason) {
  otlp_seen *s = arg;
  ASSERT_EQ_INT(index, s->n);
  if (s->n < 8) {
    s->json[s->n][0] = s->reason[s->n][0] = '\0';
    if (ev) {
      evd_limits lim;
      evd_limits_default(&lim);
      arena a;
      arena_init(&a, 0);
      evd_field_error fe;
      if (event_finish(ev, &lim, 1000000000LL, &a, &fe) == 0) {
        buf b = BUF_INIT;
        ASSERT(event_write_json(ev, "X", 1, &b) == 0);
        snprintf(s->json[s->n], 1024, "%s", b.data);
        buf_free(&b);
      } else {
        snprintf(s->reason[s->n], 448, "%s: %s", fe.field, fe.reason);
      }
      arena_free(&a);
    } else {
      s->refused++;
      snprintf(s->reason[s->n], 448, "%s", reason);
    }
  }
  s->n++;
  return 0;
}

static const otlp_opts OTLP_OPTS = {.default_type = "otlp.log", .stream_attribute = "service.name",
                                    .max_depth = 8};

static int decode_json(const char *body, otlp_seen *s, char *err) {
  arena a;
  arena_init(&a, 0);
  memset(s, 0, sizeof *s);
  int rc = otlp_decode_json(&a, &OTLP_OPTS, body, strlen(body), record_sink, s, err, 256);
  arena_free(&a);
  return rc;
}

TEST_IMPL(otlp_json_record_maps_to_the_canonical_event) {
  otlp_seen s;
  char err[256];
  const char *body =
      "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
      "{\"stringValue\":\"svc\"}},{\"key\":\"host.name\",\"value\":{\"stringValue\":\"h1\"}}]},"
      "\"scopeLogs\":[{\"scope\":{\"name\":\"lib\"},\"logRecords\":[{\"timeUnixNano\":"
      "\"1000000000\",\"severityNumber\":13,\"eventName\":\"app.start\",\"body\":{\"stringValue\":"
      "\"hi\"},\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0000000000000000\","
      "\"attributes\":[{\"key\":\"i\",\"value\":{\"intValue\":\"-7\"}},{\"key\":\"d\",\"value\":"
      "{\"doubleValue\":\"NaN\"}},{\"key\":\"e\",\"value\":{}}]}]}]}]}";
  ASSERT_EQ_INT(decode_json(body, &s, err), OTLP_OK);
  ASSERT_EQ_INT(s.n, 1);
  const char *j = s.json[0];
  ASSERT(strstr(j, "\"time\":\"1970-01-01T00:00:01.000000000Z\""));
  ASSERT(strstr(j, "\"stream\":\"svc\""));
  ASSERT(strstr(j, "\"type\":\"app.start\""));
  ASSERT(strstr(j, "\"severity\":\"WARN\""));
  ASSERT(strstr(j, "\"source\":\"h1\""));
  ASSERT(strstr(j, "\"message\":\"hi\""));
  ASSERT(strstr(j, "\"trace_id\":\"0102030405060708090a0b0c0d0e0f10\""));
  ASSERT(!strstr(j, "span_id")); /* all zeros: absent */
  ASSERT(strstr(j, "\"otel.scope.name\":\"lib\""));
  ASSERT(strstr(j, "\"i\":-7"));
  ASSERT(strstr(j, "\"d\":\"NaN\""));
  ASSERT(strstr(j, "\"e\":null"));
  return 0;
}

TEST_IMPL(otlp_json_refuses_bad_records_and_keeps_the_rest) {
  otlp_seen s;
  char err[256];
  const char *body =
      "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":["
      "{\"body\":{\"stringValue\":\"ok\"}},"
      "{\"traceId\":\"12\"},"
      "{\"attributes\":[{\"key\":\"a\",\"value\":{\"intValue\":1}},{\"key\":\"a\",\"value\":{}}]},"
      "{\"timeUnixNano\":\"18446744073709551615\"},"
      "{\"severityNumber\":99},"
      "{\"attributes\":[{\"key\":\"deep\",\"value\":{\"arrayValue\":{\"values\":[{\"arrayValue\":"
      "{\"values\":[{\"arrayValue\":{\"values\":[{\"arrayValue\":{\"values\":[{\"arrayValue\":"
      "{\"values\":[{\"arrayValue\":{\"values\":[{\"arrayValue\":{\"values\":[]}}]}}]}}]}}]}}]}}]}}}]}"
      "]}]}]}";
  ASSERT_EQ_INT(decode_json(body, &s, err), OTLP_OK);
  ASSERT_EQ_INT(s.n, 6);
  ASSERT(strstr(s.json[0], "\"message\":\"ok\""));
  ASSERT(strstr(s.reason[1], "traceId"));
  ASSERT(strstr(s.reason[2], "duplicate key 'a'"));
  ASSERT(strstr(s.reason[3], "out of range"));
  ASSERT(strstr(s.reason[4], "severityNumber"));
  ASSERT(strstr(s.reason[5], "nesting deeper than 8"));
  ASSERT_EQ_INT(s.refused, 5);
  /* Envelope errors are bad requests. */
  ASSERT_EQ_INT(decode_json("[]", &s, err), OTLP_BAD_REQUEST);
  ASSERT_EQ_INT(decode_json("{\"resourceLogs\":{}}", &s, err), OTLP_BAD_REQUEST);
  ASSERT_EQ_INT(decode_json("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":7}]}]}", &s, err),
                OTLP_BAD_REQUEST);
  ASSERT_EQ_INT(decode_json("{}", &s, err), OTLP_OK);
  ASSERT_EQ_INT(s.n, 0);
  return 0;
}

/* Hand-encoded protobuf helpers. */
static size_t pb_varint(unsigned char *o, uint64_t v) {
  size_t n = 0;
  do {
    o[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  return n;
}
static size_t pb_len(unsigned char *o, unsigned field, const void *p, size_t len) {
  size_t n = pb_varint(o, (uint64_t)field << 3 | 2);
  n += pb_varint(o + n, len);
  memcpy(o + n, p, len);
  return n + len;
}

static int decode_proto(const unsigned char *body, size_t len, otlp_seen *s, char *err) {
  arena a;
  arena_init(&a, 0);
  memset(s, 0, sizeof *s);
  int rc = otlp_decode_proto(&a, &OTLP_OPTS, body, len, record_sink, s, err, 256);
  arena_free(&a);
  return rc;
}

TEST_IMPL(otlp_proto_record_maps_and_hostile_bodies_are_refused) {
  unsigned char any[64], rec[128], sl[160], rl[200], req[256];
  size_t n_any = pb_len(any, 1, "hello", 5);                 /* AnyValue.string_value */
  size_t n_rec = pb_len(rec, 5, any, n_any);                 /* LogRecord.body */
  rec[n_rec++] = 2 << 3 | 0;                                 /* severity_number = 17 */
  rec[n_rec++] = 17;
  n_rec += pb_len(rec + n_rec, 12, "x.y", 3);                /* event_name */
  unsigned char tid[16] = {0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  n_rec += pb_len(rec + n_rec, 9, tid, 16);                  /* trace_id */
  size_t n_sl = pb_len(sl, 2, rec, n_rec);                   /* ScopeLogs.log_records */
  size_t n_rl = pb_len(rl, 2, sl, n_sl);                     /* ResourceLogs.scope_logs */
  size_t n_req = pb_len(req, 1, rl, n_rl);                   /* request.resource_logs */
  otlp_seen s;
  char err[256];
  ASSERT_EQ_INT(decode_proto(req, n_req, &s, err), OTLP_OK);
  ASSERT_EQ_INT(s.n, 1);
  ASSERT(strstr(s.json[0], "\"message\":\"hello\""));
  ASSERT(strstr(s.json[0], "\"type\":\"x.y\""));
  ASSERT(strstr(s.json[0], "\"severity\":\"ERROR\""));
  ASSERT(strstr(s.json[0], "\"trace_id\":\"ab0102030405060708090a0b0c0d0e0f\""));
  /* Truncated. */
  ASSERT_EQ_INT(decode_proto(req, n_req - 1, &s, err), OTLP_BAD_REQUEST);
  /* A string with a NUL in the body. */
  unsigned char bad_any[16], bad_rec[32], bad_sl[48], bad_rl[64], bad_req[80];
  size_t k = pb_len(bad_any, 1, "a\0b", 3);
  k = pb_len(bad_rec, 5, bad_any, k);
  k = pb_len(bad_sl, 2, bad_rec, k);
  k = pb_len(bad_rl, 2, bad_sl, k);
  k = pb_len(bad_req, 1, bad_rl, k);
  ASSERT_EQ_INT(decode_proto(bad_req, k, &s, err), OTLP_BAD_REQUEST);
  ASSERT(strstr(err, "UTF-8"));
  /* Deep nesting: AnyValue.array_value.values... a thousand levels, refused before unpacking. */
  size_t depth = 1000, cap = depth * 8 + 64;
  unsigned char *deep = malloc(cap), *tmp = malloc(cap);
  ASSERT(deep && tmp);
  size_t dn = pb_len(deep, 1, "x", 1);
  for (size_t i = 0; i < depth; i++) {
    size_t t = pb_len(tmp, 1, deep, dn);  /* ArrayValue.values */
    dn = pb_len(deep, 5, tmp, t);         /* AnyValue.array_value */
  }
  size_t t = pb_len(tmp, 5, deep, dn);    /* LogRecord.body */
  dn = pb_len(deep, 2, tmp, t);
  t = pb_len(tmp, 2, deep, dn);
  dn = pb_len(deep, 1, tmp, t);
  ASSERT_EQ_INT(decode_proto(deep, dn, &s, err), OTLP_BAD_REQUEST);
  ASSERT(strstr(err, "nested deeper"));
  free(deep);
  free(tmp);
  return 0;
}

TEST_IMPL(http_inflate_gzip_limits_and_errors) {
  const char *text = "hello hello hello hello hello hello";
  unsigned char gz[256];
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  ASSERT(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  zs.next_in = (unsigned char *)text;
  zs.avail_in = (uInt)strlen(text);
  zs.next_out = gz;
  zs.avail_out = sizeof gz;
  ASSERT(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  size_t gzlen = sizeof gz - zs.avail_out;
  deflateEnd(&zs);
  buf out = BUF_INIT;
  char err[256];
  ASSERT_EQ_INT(http_inflate(gz, gzlen, 1, 1024, &out, err, sizeof err), HTTP_BODY_OK);
  ASSERT_EQ_MEM(out.data, out.len, text);
  ASSERT_EQ_INT(http_inflate(gz, gzlen, 1, 10, &out, err, sizeof err), HTTP_BODY_TOO_LARGE);
  ASSERT_EQ_INT(http_inflate(gz, gzlen - 3, 1, 1024, &out, err, sizeof err), HTTP_BODY_BAD_ENCODING);
  ASSERT(strstr(err, "truncated"));
  ASSERT_EQ_INT(http_inflate("nope", 4, 1, 1024, &out, err, sizeof err), HTTP_BODY_BAD_ENCODING);
  buf_free(&out);
  return 0;
}
