/* Fuzz target for the JSON lines input's decoding without sockets: the input is a TCP
 * stream cut into lines by ls_frame_lf (the line_server framing); every line is parsed as
 * JSON and normalized as ingest_add_json does (event_from_json) and as the record format
 * does (fwd_object_to_event); the canonical JSON of an accepted event must parse. */
#include <stdint.h>
#include <string.h>

#include "fuzz_lines_common.h"
#include "inputs/forward/forward_decode.h"
#include "inputs/lines/line_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  evd_limits lim;
  evd_limits_default(&lim);
  arena a;
  arena_init(&a, 0);
  size_t off = 0;
  char err[64];
  while (off < size) {
    size_t st, fl, used;
    if (ls_frame_lf(data + off, size - off, 4096, &st, &fl, &used, err, sizeof err) != LS_FRAME_OK) break;
    if (used == 0 || used > size - off || st + fl > used) abort();
    arena_reset(&a);
    json_error je;
    json_value *v = json_parse(&a, (const char *)data + off + st, fl, lim.max_depth, &je);
    if (v && v->type == JSON_OBJECT) {
      event ev;
      evd_field_error fe;
      if (event_from_json(v, &lim, FUZZ_NOW, &a, &ev, &fe) == 0) fuzz_check_event(&ev, &lim, &a);
    }
    if (v) { /* lines.format record: mapped like a forward record */
      static const fwd_mapping map = {.tag_rule = FWD_TAG_STREAM, .default_type = "log", .record_time = 1};
      event ev;
      evd_field_error fe;
      if (fwd_object_to_event(&map, "lines", 5, 0, v, &lim, &a, &ev, &fe) == 0) fuzz_check_event(&ev, &lim, &a);
    }
    off += used;
  }
  arena_free(&a);
  return 0;
}
