/* Fuzz target for the Fluentd Forward Protocol decoder without sockets: the input is the
 * byte stream of one connection. Every complete object is taken with fwd_next_frame (once
 * from the whole input, and the first one also from every prefix at a split point: a prefix
 * must say "need more" or give the same object), messages are decompressed (gzip/zstd,
 * bounded), their entries mapped to events (fwd_record_to_event) whose canonical JSON must
 * parse; PING frames go through the handshake check. */
#include <stdint.h>
#include <string.h>

#include "fuzz_lines_common.h"
#include "inputs/forward/forward_auth.h"
#include "inputs/forward/forward_decode.h"

#define MAX_MESSAGE (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  evd_limits lim;
  evd_limits_default(&lim);
  lim.max_depth = 32;
  arena a;
  arena_init(&a, 0);
  buf dbuf = BUF_INIT;
  fwd_mapping map = {size && (data[0] & 1) ? FWD_TAG_TYPE : FWD_TAG_SPLIT, size > 1 && (data[1] & 1) ? "" : "log",
                     size > 2 && (data[2] & 1)};
  fwd_auth au;
  char err[256];
  if (fwd_auth_init(&au, "key", "u:p", "host", err, sizeof err) != 0) abort();
  fwd_handshake hs;
  memset(&hs, 7, sizeof hs);
  size_t off = 0;
  int first = 1;
  while (off < size) {
    size_t used, need;
    fwd_frame_kind kind;
    fwd_message m;
    int rc = fwd_next_frame(data + off, size - off, MAX_MESSAGE, &used, &need, &kind, &m, err, sizeof err);
    if (rc <= 0) break;
    if (used == 0 || used > size - off) abort();
    if (first) { /* a prefix must ask for more */
      size_t cut = used / 2;
      size_t u2, n2;
      fwd_frame_kind k2;
      fwd_message m2;
      if (fwd_next_frame(data + off, cut, MAX_MESSAGE, &u2, &n2, &k2, &m2, err, sizeof err) != 0) abort();
      if (n2 && n2 <= cut) abort();
      first = 0;
    }
    if (kind == FWD_FRAME_PING) {
      buf pong = BUF_INIT;
      fwd_auth_check_ping(&au, &hs, data + off, used, &pong, err, sizeof err);
      if (pong.len == 0) abort();
      buf_free(&pong);
    } else if (kind == FWD_FRAME_MESSAGE) {
      const uint8_t *bytes = m.entries;
      size_t blen = m.entries_len;
      int ok = 1;
      if (m.mode == FWD_COMPRESSED) {
        ok = fwd_decompress(m.compression, m.entries, m.entries_len, MAX_MESSAGE, &dbuf, err, sizeof err) == 0;
        bytes = (const uint8_t *)dbuf.data;
        blen = dbuf.len;
      }
      fwd_entries it;
      if (ok) fwd_entries_init(&it, &m, bytes, blen);
      for (int k = 0; ok && k < 10000; k++) {
        int64_t t;
        const uint8_t *rec;
        size_t rl;
        int r = fwd_entries_next(&it, &t, &rec, &rl, err, sizeof err);
        if (r <= 0) break;
        arena_reset(&a);
        event ev;
        evd_field_error fe;
        if (fwd_record_to_event(&map, m.tag, m.tag_len, t, rec, rl, &lim, &a, &ev, &fe) == 0)
          fuzz_check_event(&ev, &lim, &a);
      }
    }
    off += used;
  }
  fwd_auth_free(&au);
  buf_free(&dbuf);
  arena_free(&a);
  return 0;
}
