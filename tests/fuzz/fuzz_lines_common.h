/* What the socket-input fuzz targets (fuzz_forward, fuzz_syslog, fuzz_lines) share: an event
 * the decoder produced must pass event_finish or be refused cleanly, and its canonical JSON
 * must parse. Header-only (each fuzz target is one translation unit). */
#ifndef EVD_FUZZ_LINES_COMMON_H
#define EVD_FUZZ_LINES_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "core/event.h"
#include "core/json.h"
#include "core/timeutil.h"

#define FUZZ_NOW (1795249560LL * NS_PER_SEC)

static void fuzz_check_event(event *ev, const evd_limits *lim, arena *a) {
  evd_field_error fe;
  if (event_finish(ev, lim, FUZZ_NOW, a, &fe) != 0) return;
  buf out = BUF_INIT;
  if (event_write_json(ev, "01JDXYZ0000000000000000000", 26, &out) != 0) abort();
  json_error je;
  if (!json_parse(a, out.data, out.len, lim->max_depth + 2, &je)) {
    fprintf(stderr, "canonical JSON of an input event does not parse: %s at %zu: %.*s\n",
            je.message, je.offset, (int)(out.len > 400 ? 400 : out.len), out.data);
    abort();
  }
  buf_free(&out);
}

#endif
