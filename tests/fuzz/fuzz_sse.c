/* Fuzz target: eventctl's text/event-stream parser (src/cli/sse.c), which reads what the
 * network sends. The first two input bytes choose a chunk size; the rest is the stream. It is
 * fed once whole and once in chunks: the two runs must dispatch exactly the same events
 * (type, id, data), since a stream's meaning cannot depend on how TCP split it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sse.h"
#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Record every dispatched event as type \0 id \0 len data into a buf. */
static int record_event(void *ud, const char *type, const char *id, const char *d, size_t n) {
  buf *log = ud;
  uint64_t len = n;
  if (buf_puts(log, type) || buf_putc(log, 0) || buf_puts(log, id) || buf_putc(log, 0) ||
      buf_append(log, &len, sizeof len) || buf_append(log, d, n))
    abort();
  return 0;
}

static int run(const uint8_t *p, size_t n, size_t chunk, buf *log) {
  sse_parser ps;
  sse_init(&ps, record_event, log);
  int rc = 0;
  for (size_t off = 0; off < n && rc == 0; off += chunk) {
    size_t k = n - off < chunk ? n - off : chunk;
    rc = sse_feed(&ps, (const char *)p + off, k);
  }
  sse_free(&ps);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t chunk = 1 + (((size_t)data[0] << 8) | data[1]) % 97;
  const uint8_t *p = data + 2;
  size_t n = size - 2;
  buf whole = BUF_INIT, split = BUF_INIT;
  int rc1 = run(p, n, n ? n : 1, &whole);
  int rc2 = run(p, n, chunk, &split);
  if (rc1 != rc2 || whole.len != split.len || (whole.len && memcmp(whole.data, split.data, whole.len)))
    abort();
  buf_free(&whole);
  buf_free(&split);
  return 0;
}
