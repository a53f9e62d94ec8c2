/* Fuzz target: query strings of the read endpoints (query_params_parse) and page cursors
 * (cursor_decode). The first byte picks the endpoint; the rest is the raw query string.
 * A decoded cursor must re-encode to the same text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "server/query_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  qp_endpoint ep = (qp_endpoint)(data[0] % 4);
  const char *qs = (const char *)data + 1;
  size_t len = size - 1;
  arena a;
  arena_init(&a, 4096);
  qp_limits lim = {.default_limit = 100, .max_limit = 10000};
  query_params qp;
  char err[512];
  int rc = query_params_parse(qs, len, ep, &lim, 1763713560LL * 1000000000LL, &a, &qp, err,
                              sizeof err);
  if (rc != 0 && err[0] == '\0') abort(); /* every refusal says why */
  if (rc == 0 && ep == QP_QUERY && (qp.limit < 1 || qp.limit > 10000)) abort();
  store_pos pos;
  int desc;
  if (cursor_decode(qs, len, &pos, &desc) == 0) {
    char again[CURSOR_LEN + 1];
    cursor_encode(&pos, desc, again);
    if (len != CURSOR_LEN || memcmp(again, qs, CURSOR_LEN) != 0) abort();
  }
  arena_free(&a);
  return 0;
}
