/* Fuzz target for the Elasticsearch _bulk decoder (inputs/es/es_map.h): the input is a bulk
 * NDJSON body. Every item handed to the sink must be either a refusal with a status and a
 * reason, or a mapped event object that event_from_json normalizes (or refuses with a
 * reason) into canonical JSON that parses again within limits.max_depth. */
#include <stdint.h>

#include "fuzz_inputs_check.h"
#include "inputs/es/es_map.h"

static int on_item(void *arg, const es_bulk_item *it) {
  const evd_limits *lim = arg;
  if (it->status) {
    if (!it->reason[0] || !it->error_type) abort();
    return 0;
  }
  if (it->too_large) return 0;
  if (!it->event) abort();
  arena a;
  arena_init(&a, 0);
  event ev;
  evd_field_error err;
  if (event_from_json(it->event, lim, FUZZ_NOW, &a, &ev, &err) == 0) fuzz_check_canonical(&ev, lim);
  else if (!err.reason[0]) abort();
  arena_free(&a);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  evd_limits lim;
  evd_limits_default(&lim);
  lim.event_max_bytes = 4096;
  lim.max_depth = 16;
  es_index_rule rule;
  char err[256];
  if (es_index_rule_parse("{stream}-{env}", &rule, err, sizeof err) != 0) abort();
  es_map_opts o = {.rule = &rule, .default_type = "es.document"};
  arena a;
  arena_init(&a, 0);
  int rc = es_bulk_decode(&a, &o, "fuzz-idx", 8, (const char *)data, size, lim.event_max_bytes,
                          lim.max_depth, on_item, &lim, err, sizeof err);
  if (rc != 0 && !err[0]) abort();
  arena_free(&a);
  return 0;
}
