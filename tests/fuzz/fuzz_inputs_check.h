/* fuzz_inputs_check: the oracle shared by the HTTP-port input fuzz targets (fuzz_es_bulk,
 * fuzz_otlp_json, fuzz_otlp_proto): an event the decoder produced must either be refused by
 * normalization with a reason, or be written as canonical JSON that parses again. */
#ifndef EVD_FUZZ_INPUTS_CHECK_H
#define EVD_FUZZ_INPUTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/timeutil.h"

#define FUZZ_NOW (1795249560LL * NS_PER_SEC)

/* Write ev (normalized) as canonical JSON and parse it back; abort on any inconsistency. */
static void fuzz_check_canonical(const event *ev, const evd_limits *lim) {
  buf out = BUF_INIT;
  if (event_write_json(ev, "01JDXYZ0000000000000000000", 26, &out) != 0) abort();
  if (!utf8_valid(out.data, out.len)) {
    fprintf(stderr, "canonical JSON is not UTF-8:\n%s\n", out.data);
    abort();
  }
  arena a;
  arena_init(&a, 0);
  json_error jerr;
  json_value *v = json_parse(&a, out.data, out.len, lim->max_depth, &jerr);
  if (!v || v->type != JSON_OBJECT) {
    fprintf(stderr, "canonical JSON does not parse within max_depth: %s\n%s\n", jerr.message,
            out.data);
    abort();
  }
  arena_free(&a);
  buf_free(&out);
}

#endif
