/* Fuzz target: the Magma orc8r-compatible query endpoints (server/magma_query.h). The input
 * is "PATH\0QUERY": the path below /magma/v1/events/ (still percent-encoded) and the raw
 * query string. A parsed query must respect the documented bounds, every refusal must say
 * why, and building the store filters and matching a record must be safe for both network
 * variants. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/record.h"
#include "server/magma_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One stored record to match queries against: network lte-1 by label, stream sessiond. */
static void sample_record(buf *out, record_view *rv) {
  event ev;
  memset(&ev, 0, sizeof ev);
  static evd_label labels[1] = {{{"network_id", 10}, {"lte-1", 5}}};
  ev.time_ns = 1763712000LL * 1000000000LL;
  ev.observed_ns = ev.time_ns;
  ev.severity_number = 9;
  ev.f[EVF_TENANT] = (strv){"default", 7};
  ev.f[EVF_STREAM] = (strv){"sessiond", 8};
  ev.f[EVF_TYPE] = (strv){"session_created", 15};
  ev.f[EVF_KEY] = (strv){"sessiond.session_created", 24};
  ev.f[EVF_TAG] = (strv){"IMSI001010000000099", 19};
  ev.f[EVF_SOURCE] = (strv){"agw-1", 5};
  ev.labels = labels;
  ev.nlabels = 1;
  if (record_encode(&ev, out) != 0 || record_decode(out->data, out->len, rv) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, 0, size);
  size_t plen = nul ? (size_t)(nul - data) : size;
  char *path = malloc(plen + 1);
  if (!path) return 0;
  memcpy(path, data, plen);
  path[plen] = '\0';
  const char *qs = nul ? (const char *)nul + 1 : NULL;
  size_t qlen = nul ? size - plen - 1 : 0;

  arena a;
  arena_init(&a, 4096);
  magma_query q;
  char err[512];
  err[0] = '\0';
  int rc = magma_parse(path, qs, qlen, &a, &q, err, sizeof err);
  if (rc == -1 && err[0] == '\0') abort(); /* a 400 must say why */
  if (rc == 0) {
    if (q.from + q.size > MAGMA_MAX_WINDOW) abort();
    if (q.streams.n > MAGMA_MAX_VALUES || q.events.n > MAGMA_MAX_VALUES ||
        q.tags.n > MAGMA_MAX_VALUES || q.hw_ids.n > MAGMA_MAX_VALUES)
      abort();
    buf rec = BUF_INIT;
    record_view rv;
    sample_record(&rec, &rv);
    for (int by = MAGMA_BY_TENANT; by <= MAGMA_BY_LABEL; by++) {
      store_filter f;
      int exact_only = 0;
      magma_store_filter(&q, by, &f, &exact_only);
      (void)magma_match(&q, by, &rv);
    }
    buf_free(&rec);
  }
  arena_free(&a);
  free(path);
  return 0;
}
