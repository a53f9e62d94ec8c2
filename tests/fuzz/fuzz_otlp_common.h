/* fuzz_otlp_common: the sink of fuzz_otlp_json and fuzz_otlp_proto: a decoded record must
 * be refused with a reason, or pass event_finish (or be refused by it with a reason) and
 * then write canonical JSON that parses again. */
#ifndef EVD_FUZZ_OTLP_COMMON_H
#define EVD_FUZZ_OTLP_COMMON_H

#include "fuzz_inputs_check.h"
#include "inputs/otlp/otlp_decode.h"

static int fuzz_otlp_sink(void *arg, size_t index, event *ev, const char *reason) {
  const evd_limits *lim = arg;
  (void)index;
  if (!ev) {
    if (!reason || !reason[0]) abort();
    return 0;
  }
  arena a;
  arena_init(&a, 0);
  evd_field_error err;
  if (event_finish(ev, lim, FUZZ_NOW, &a, &err) == 0) fuzz_check_canonical(ev, lim);
  else if (!err.reason[0]) abort();
  arena_free(&a);
  return 0;
}

#endif
