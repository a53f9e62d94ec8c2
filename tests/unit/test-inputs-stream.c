/* Unit tests of the socket inputs' pure decoders: msgpack, the Forward Protocol framing,
 * entries and record mapping, decompression, the handshake, syslog parsing and framing. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/event.h"
#include "inputs/forward/forward_auth.h"
#include "inputs/forward/forward_decode.h"
#include "inputs/forward/msgpack.h"
#include "inputs/syslog/syslog_parse.h"
#include "test.h"

/* ---- tiny msgpack writer for the tests ---- */
static void w_raw(buf *b, const void *p, size_t n) { ASSERT(buf_append(b, p, n) == 0); }
static void w_byte(buf *b, uint8_t c) { w_raw(b, &c, 1); }
static void w_str(buf *b, const char *s) {
  size_t n = strlen(s);
  ASSERT(n < 256);
  if (n < 32) w_byte(b, (uint8_t)(0xa0 | n));
  else w_byte(b, 0xd9), w_byte(b, (uint8_t)n);
  w_raw(b, s, n);
}
static void w_eventtime(buf *b, uint32_t sec, uint32_t nsec) {
  uint8_t t[10] = {0xd7, 0, (uint8_t)(sec >> 24), (uint8_t)(sec >> 16), (uint8_t)(sec >> 8), (uint8_t)sec,
                   (uint8_t)(nsec >> 24), (uint8_t)(nsec >> 16), (uint8_t)(nsec >> 8), (uint8_t)nsec};
  w_raw(b, t, sizeof t);
}
/* {"event_type": type, "event_tag": tag, "value": "{\"imsi\":\"1\"}"} */
static void w_record(buf *b, const char *type, const char *tag) {
  w_byte(b, 0x83);
  w_str(b, "event_type");
  w_str(b, type);
  w_str(b, "event_tag");
  w_str(b, tag);
  w_str(b, "value");
  w_str(b, "{\"imsi\":\"1\"}");
}

static const fwd_mapping MAP = {FWD_TAG_SPLIT, "log", 0};

TEST_IMPL(msgpack_skip_reports_need_more_without_reading_past_the_end) {
  buf b = BUF_INIT;
  w_byte(&b, 0x92);
  w_str(&b, "hello");
  w_byte(&b, 0xcd), w_byte(&b, 1), w_byte(&b, 2);
  for (size_t cut = 0; cut < b.len; cut++) {
    mp_reader r;
    mp_reader_init(&r, (const uint8_t *)b.data, cut);
    size_t need = 0;
    ASSERT_EQ_INT(mp_skip(&r, &need), MP_NEED_MORE);
    ASSERT(need > cut);
    ASSERT(r.p == (const uint8_t *)b.data);
  }
  mp_reader r;
  mp_reader_init(&r, (const uint8_t *)b.data, b.len);
  ASSERT_EQ_INT(mp_skip(&r, NULL), MP_OK);
  ASSERT(r.p == (const uint8_t *)b.data + b.len);
  uint8_t bad = 0xc1;
  mp_reader_init(&r, &bad, 1);
  ASSERT_EQ_INT(mp_skip(&r, NULL), MP_INVALID);
  buf_free(&b);
  return 0;
}

TEST_IMPL(msgpack_to_json_refuses_duplicate_keys_and_non_string_keys) {
  arena a;
  arena_init(&a, 0);
  char err[128];
  uint8_t dup[] = {0x82, 0xa1, 'k', 0x01, 0xa1, 'k', 0x02};
  mp_reader r;
  mp_reader_init(&r, dup, sizeof dup);
  ASSERT(mp_to_json(&r, &a, 64, err, sizeof err) == NULL);
  ASSERT(strstr(err, "repeats") != NULL);
  uint8_t intkey[] = {0x81, 0x01, 0x02};
  mp_reader_init(&r, intkey, sizeof intkey);
  ASSERT(mp_to_json(&r, &a, 64, err, sizeof err) == NULL);
  uint8_t ok[] = {0x82, 0xa1, 'a', 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xa1, 'b', 0x92, 0xc3, 0xc0};
  mp_reader_init(&r, ok, sizeof ok);
  json_value *v = mp_to_json(&r, &a, 64, err, sizeof err);
  ASSERT(v != NULL);
  buf out = BUF_INIT;
  ASSERT(json_write_value(&out, v) == 0);
  ASSERT_EQ_MEM(out.data, out.len, "{\"a\":1.5,\"b\":[true,null]}");
  uint8_t ints[] = {0x83, 0xa1, 'a', 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xa1, 'b', 0xcf, 0xff, 0xff, 0xff, 0xff,
                    0xff, 0xff, 0xff, 0xff, 0xa1, 'c', 0xe0};
  mp_reader_init(&r, ints, sizeof ints);
  v = mp_to_json(&r, &a, 64, err, sizeof err);
  ASSERT(v != NULL);
  buf_clear(&out);
  ASSERT(json_write_value(&out, v) == 0);
  ASSERT_EQ_MEM(out.data, out.len, "{\"a\":-9223372036854775808,\"b\":18446744073709551615,\"c\":-32}");
  buf_free(&out);
  arena_free(&a);
  return 0;
}

TEST_IMPL(forward_frame_modes_and_options) {
  char err[256];
  size_t used, need;
  fwd_frame_kind kind;
  fwd_message m;
  /* Message with option chunk */
  buf b = BUF_INIT;
  w_byte(&b, 0x94);
  w_str(&b, "mme.attach");
  w_eventtime(&b, 1700000000, 5);
  w_record(&b, "attach_success", "t1");
  w_byte(&b, 0x82), w_str(&b, "chunk"), w_str(&b, "abc"), w_str(&b, "size"), w_byte(&b, 1);
  ASSERT_EQ_INT(fwd_next_frame((const uint8_t *)b.data, b.len, 1 << 20, &used, &need, &kind, &m, err, sizeof err), 1);
  ASSERT_EQ_INT(kind, FWD_FRAME_MESSAGE);
  ASSERT_EQ_INT(m.mode, FWD_MESSAGE);
  ASSERT_EQ_U64(used, b.len);
  ASSERT_EQ_MEM(m.chunk, m.chunk_len, "abc");
  ASSERT(m.has_size && m.size == 1);
  fwd_entries it;
  fwd_entries_init(&it, &m, NULL, 0);
  int64_t t;
  const uint8_t *rec;
  size_t rl;
  ASSERT_EQ_INT(fwd_entries_next(&it, &t, &rec, &rl, err, sizeof err), 1);
  ASSERT_EQ_U64((uint64_t)t, 1700000000000000005ull);
  ASSERT_EQ_INT(fwd_entries_next(&it, &t, &rec, &rl, err, sizeof err), 0);
  /* every prefix needs more */
  for (size_t cut = 0; cut < b.len; cut++)
    ASSERT_EQ_INT(fwd_next_frame((const uint8_t *)b.data, cut, 1 << 20, &used, &need, &kind, &m, err, sizeof err), 0);
  /* too large */
  ASSERT_EQ_INT(fwd_next_frame((const uint8_t *)b.data, b.len, 16, &used, &need, &kind, &m, err, sizeof err), -1);
  /* PackedForward: two entries, int time */
  buf packed = BUF_INIT;
  for (int i = 0; i < 2; i++) {
    w_byte(&packed, 0x92);
    w_byte(&packed, 0xce), w_byte(&packed, 0x65), w_byte(&packed, 0x53), w_byte(&packed, 0xf1), w_byte(&packed, 0x00);
    w_record(&packed, "x", i ? "b" : "a");
  }
  buf_clear(&b);
  w_byte(&b, 0x92);
  w_str(&b, "tag");
  w_byte(&b, 0xc4), w_byte(&b, (uint8_t)packed.len);
  w_raw(&b, packed.data, packed.len);
  ASSERT_EQ_INT(fwd_next_frame((const uint8_t *)b.data, b.len, 1 << 20, &used, &need, &kind, &m, err, sizeof err), 1);
  ASSERT_EQ_INT(m.mode, FWD_PACKED);
  fwd_entries_init(&it, &m, m.entries, m.entries_len);
  int n = 0;
  while (fwd_entries_next(&it, &t, &rec, &rl, err, sizeof err) == 1) n++;
  ASSERT_EQ_INT(n, 2);
  ASSERT_EQ_U64((uint64_t)t, 0x6553f100ull * 1000000000ull);
  /* nil heartbeat; not an array */
  uint8_t nil = 0xc0, num = 0x05;
  ASSERT_EQ_INT(fwd_next_frame(&nil, 1, 100, &used, &need, &kind, &m, err, sizeof err), 1);
  ASSERT_EQ_INT(kind, FWD_FRAME_HEARTBEAT);
  ASSERT_EQ_INT(fwd_next_frame(&num, 1, 100, &used, &need, &kind, &m, err, sizeof err), -1);
  buf_free(&b);
  buf_free(&packed);
  return 0;
}

TEST_IMPL(forward_gzip_members_decompress_and_bombs_are_refused) {
  const char *text = "0123456789abcdef0123456789abcdef";
  buf gz = BUF_INIT;
  for (int member = 0; member < 2; member++) {
    z_stream z;
    memset(&z, 0, sizeof z);
    ASSERT(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    uint8_t out[256];
    z.next_in = (Bytef *)text;
    z.avail_in = (uInt)strlen(text);
    z.next_out = out;
    z.avail_out = sizeof out;
    ASSERT(deflate(&z, Z_FINISH) == Z_STREAM_END);
    w_raw(&gz, out, sizeof out - z.avail_out);
    deflateEnd(&z);
  }
  buf out = BUF_INIT;
  char err[256];
  ASSERT_EQ_INT(fwd_decompress(FWD_COMP_GZIP, (const uint8_t *)gz.data, gz.len, 1000, &out, err, sizeof err), 0);
  ASSERT_EQ_U64(out.len, 2 * strlen(text));
  ASSERT(memcmp(out.data, text, strlen(text)) == 0);
  ASSERT_EQ_INT(fwd_decompress(FWD_COMP_GZIP, (const uint8_t *)gz.data, gz.len, 40, &out, err, sizeof err), -1);
  ASSERT(strstr(err, "larger") != NULL);
  ASSERT_EQ_INT(fwd_decompress(FWD_COMP_GZIP, (const uint8_t *)gz.data, gz.len - 3, 1000, &out, err, sizeof err), -1);
  ASSERT_EQ_INT(fwd_decompress(FWD_COMP_ZSTD, (const uint8_t *)gz.data, gz.len, 1000, &out, err, sizeof err), -1);
  buf_free(&gz);
  buf_free(&out);
  return 0;
}

TEST_IMPL(forward_magma_record_maps_to_the_original_event) {
  arena a;
  arena_init(&a, 0);
  evd_limits lim;
  evd_limits_default(&lim);
  buf r = BUF_INIT;
  w_byte(&r, 0x86);
  w_str(&r, "stream_name"), w_str(&r, "sessiond");
  w_str(&r, "event_type"), w_str(&r, "session_created");
  w_str(&r, "event_tag"), w_str(&r, "IMSI1");
  w_str(&r, "value"), w_str(&r, "{\"apn\":\"internet\"}");
  w_str(&r, "hw_id"), w_str(&r, "hw-1");
  w_str(&r, "retry_on_failure"), w_str(&r, "True");
  event ev;
  evd_field_error fe;
  ASSERT_EQ_INT(fwd_record_to_event(&MAP, "eventd", 6, 1000000000, (const uint8_t *)r.data, r.len, &lim, &a, &ev, &fe), 0);
  ASSERT_EQ_MEM(ev.f[EVF_STREAM].p, ev.f[EVF_STREAM].n, "sessiond");
  ASSERT_EQ_MEM(ev.f[EVF_TYPE].p, ev.f[EVF_TYPE].n, "session_created");
  ASSERT_EQ_MEM(ev.f[EVF_TAG].p, ev.f[EVF_TAG].n, "IMSI1");
  ASSERT_EQ_MEM(ev.f[EVF_SOURCE].p, ev.f[EVF_SOURCE].n, "hw-1");
  ASSERT_EQ_INT(ev.nlabels, 1);
  ASSERT_EQ_MEM(ev.labels[0].key.p, ev.labels[0].key.n, "retry_on_failure");
  buf out = BUF_INIT;
  ASSERT(json_write_value(&out, ev.data) == 0);
  ASSERT_EQ_MEM(out.data, out.len, "{\"apn\":\"internet\"}");
  /* tag split; no type anywhere with default_type "" -> refused */
  buf_clear(&r);
  w_byte(&r, 0x81), w_str(&r, "log"), w_str(&r, "hello");
  ASSERT_EQ_INT(fwd_record_to_event(&MAP, "app.login.ok", 12, 1, (const uint8_t *)r.data, r.len, &lim, &a, &ev, &fe), 0);
  ASSERT_EQ_MEM(ev.f[EVF_STREAM].p, ev.f[EVF_STREAM].n, "app");
  ASSERT_EQ_MEM(ev.f[EVF_TYPE].p, ev.f[EVF_TYPE].n, "login.ok");
  ASSERT_EQ_MEM(ev.f[EVF_MESSAGE].p, ev.f[EVF_MESSAGE].n, "hello");
  fwd_mapping strict = {FWD_TAG_SPLIT, "", 0};
  ASSERT_EQ_INT(fwd_record_to_event(&strict, "app", 3, 1, (const uint8_t *)r.data, r.len, &lim, &a, &ev, &fe), -1);
  ASSERT_EQ_STR(fe.field, "type");
  /* value that is not JSON */
  buf_clear(&r);
  w_byte(&r, 0x81), w_str(&r, "value"), w_str(&r, "{nope");
  ASSERT_EQ_INT(fwd_record_to_event(&MAP, "a.b", 3, 1, (const uint8_t *)r.data, r.len, &lim, &a, &ev, &fe), -1);
  ASSERT_EQ_STR(fe.field, "value");
  buf_free(&r);
  buf_free(&out);
  arena_free(&a);
  return 0;
}

TEST_IMPL(forward_handshake_accepts_the_right_digests_only) {
  fwd_auth au;
  char err[256];
  ASSERT_EQ_INT(fwd_auth_init(&au, NULL, "u:p", NULL, err, sizeof err), -1);
  ASSERT_EQ_INT(fwd_auth_init(&au, "key", "alice:pw", "srv", err, sizeof err), 0);
  fwd_handshake hs;
  buf helo = BUF_INIT;
  ASSERT_EQ_INT(fwd_auth_helo(&au, &hs, &helo), 0);
  ASSERT(helo.len > 40);
  char d1[129], d2[129];
  const char *salt = "saltsalt", *host = "client";
  const void *p1[4] = {salt, host, hs.nonce, "key"};
  size_t l1[4] = {8, 6, 16, 3};
  fwd_sha512_hex(p1, l1, 4, d1);
  const void *p2[3] = {hs.salt, "alice", "pw"};
  size_t l2[3] = {16, 5, 2};
  fwd_sha512_hex(p2, l2, 3, d2);
  for (int variant = 0; variant < 3; variant++) {
    buf ping = BUF_INIT, pong = BUF_INIT;
    w_byte(&ping, 0x96);
    w_str(&ping, "PING"), w_str(&ping, host), w_str(&ping, salt);
    char bad[129];
    memcpy(bad, d1, sizeof bad);
    bad[0] = bad[0] == 'a' ? 'b' : 'a';
    w_byte(&ping, 0xd9), w_byte(&ping, 128), w_raw(&ping, variant == 1 ? bad : d1, 128);
    w_str(&ping, "alice");
    w_byte(&ping, 0xd9), w_byte(&ping, 128);
    memcpy(bad, d2, sizeof bad);
    bad[5] = bad[5] == '0' ? '1' : '0';
    w_raw(&ping, variant == 2 ? bad : d2, 128);
    int ok = fwd_auth_check_ping(&au, &hs, (const uint8_t *)ping.data, ping.len, &pong, err, sizeof err);
    ASSERT_EQ_INT(ok, variant == 0);
    ASSERT(pong.len > 5 && (uint8_t)pong.data[0] == 0x95);
    buf_free(&ping);
    buf_free(&pong);
  }
  buf_free(&helo);
  fwd_auth_free(&au);
  return 0;
}

static const syslog_defaults SDEF = {"syslog", "syslog.message"};

TEST_IMPL(syslog_5424_fields_sd_and_labels) {
  arena a;
  arena_init(&a, 0);
  const char *m = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su 77 ID47 "
                  "[exampleSDID@32473 iut=\"3\" eventSource=\"App\\\"lication\"][labels@1 env=\"prod\"] "
                  "\xef\xbb\xbf'su root' failed";
  event ev;
  evd_field_error fe;
  ASSERT_EQ_INT(syslog_to_event(m, strlen(m), &SDEF, 1, &a, &ev, &fe), 0);
  ASSERT_EQ_MEM(ev.f[EVF_SOURCE].p, ev.f[EVF_SOURCE].n, "mymachine.example.com");
  ASSERT_EQ_MEM(ev.f[EVF_STREAM].p, ev.f[EVF_STREAM].n, "su");
  ASSERT_EQ_MEM(ev.f[EVF_TYPE].p, ev.f[EVF_TYPE].n, "ID47");
  ASSERT_EQ_MEM(ev.f[EVF_MESSAGE].p, ev.f[EVF_MESSAGE].n, "'su root' failed");
  ASSERT_EQ_INT(ev.severity_number, 22); /* crit */
  ASSERT_EQ_U64((uint64_t)ev.time_ns, 1065910455003000000ull);
  ASSERT_EQ_INT(ev.nlabels, 1);
  buf out = BUF_INIT;
  ASSERT(json_write_value(&out, ev.data) == 0);
  ASSERT_EQ_MEM(out.data, out.len,
                "{\"facility\":\"auth\",\"facility_code\":4,\"syslog_severity\":\"crit\",\"procid\":\"77\","
                "\"structured_data\":{\"exampleSDID@32473\":{\"iut\":\"3\",\"eventSource\":\"App\\\"lication\"}}}");
  const char *nil = "<13>1 - - - - - -";
  ASSERT_EQ_INT(syslog_to_event(nil, strlen(nil), &SDEF, 5, &a, &ev, &fe), 0);
  ASSERT_EQ_MEM(ev.f[EVF_STREAM].p, ev.f[EVF_STREAM].n, "syslog");
  ASSERT_EQ_INT(ev.time_ns, 5);
  const char *bad[] = {"<192>1 - - - - - -", "<13>1 - - - - - [x", "<13>1 notatime h a p m -",
                       "<13>1 - - - - - [a b]", "<13>1 - - - - - [a][a]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ASSERT_EQ_INT(syslog_to_event(bad[i], strlen(bad[i]), &SDEF, 1, &a, &ev, &fe), -1);
  buf_free(&out);
  arena_free(&a);
  return 0;
}

TEST_IMPL(syslog_3164_host_tag_pid_and_message) {
  arena a;
  arena_init(&a, 0);
  event ev;
  evd_field_error fe;
  const char *m = "<13>Nov 21 11:02:25 vm root[42]: hello world";
  int64_t now = 1763722945LL * 1000000000LL; /* 2025-11-21 */
  ASSERT_EQ_INT(syslog_to_event(m, strlen(m), &SDEF, now, &a, &ev, &fe), 0);
  ASSERT_EQ_MEM(ev.f[EVF_SOURCE].p, ev.f[EVF_SOURCE].n, "vm");
  ASSERT_EQ_MEM(ev.f[EVF_STREAM].p, ev.f[EVF_STREAM].n, "root");
  ASSERT_EQ_MEM(ev.f[EVF_TYPE].p, ev.f[EVF_TYPE].n, "syslog.message");
  ASSERT_EQ_MEM(ev.f[EVF_MESSAGE].p, ev.f[EVF_MESSAGE].n, "hello world");
  /* local time of this year: within a day of now, whole seconds */
  ASSERT(ev.time_ns > now - 86400LL * 1000000000LL && ev.time_ns < now + 86400LL * 1000000000LL);
  ASSERT_EQ_INT(ev.time_ns % 1000000000LL, 0);
  const char *notag = "<13>Nov  1 11:02:25 vm just text";
  ASSERT_EQ_INT(syslog_to_event(notag, strlen(notag), &SDEF, now, &a, &ev, &fe), 0);
  ASSERT_EQ_MEM(ev.f[EVF_STREAM].p, ev.f[EVF_STREAM].n, "syslog");
  ASSERT_EQ_MEM(ev.f[EVF_MESSAGE].p, ev.f[EVF_MESSAGE].n, "just text");
  const char *nopri = "plain line";
  ASSERT_EQ_INT(syslog_to_event(nopri, strlen(nopri), &SDEF, now, &a, &ev, &fe), 0);
  ASSERT_EQ_MEM(ev.f[EVF_MESSAGE].p, ev.f[EVF_MESSAGE].n, "plain line");
  const char *latin1 = "<13>Nov 21 11:02:25 vm app: caf\xe9";
  ASSERT_EQ_INT(syslog_to_event(latin1, strlen(latin1), &SDEF, now, &a, &ev, &fe), -1);
  ASSERT_EQ_STR(fe.field, "message");
  arena_free(&a);
  return 0;
}

TEST_IMPL(syslog_framing_detects_octet_counting_per_frame) {
  const char *s = "11 <13>1 - - x<13>1 - - y\n";
  size_t st, fl, used;
  char err[128];
  ASSERT_EQ_INT(syslog_frame((const uint8_t *)s, strlen(s), 1000, &st, &fl, &used, err, sizeof err), 1);
  ASSERT_EQ_MEM(s + st, fl, "<13>1 - - x");
  ASSERT_EQ_INT(used, 14);
  ASSERT_EQ_INT(st, 3);
  ASSERT_EQ_INT(syslog_frame((const uint8_t *)s + used, strlen(s) - used, 1000, &st, &fl, &used, err, sizeof err), 1);
  ASSERT_EQ_INT(fl, 11);
  ASSERT_EQ_INT(syslog_frame((const uint8_t *)"12 abc", 6, 1000, &st, &fl, &used, err, sizeof err), 0);
  ASSERT_EQ_INT(syslog_frame((const uint8_t *)"99999 a", 7, 1000, &st, &fl, &used, err, sizeof err), -1);
  ASSERT_EQ_INT(syslog_frame((const uint8_t *)"12x", 3, 1000, &st, &fl, &used, err, sizeof err), -1);
  return 0;
}
