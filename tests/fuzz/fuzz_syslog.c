/* Fuzz target for the syslog input without sockets: the input is read as a TCP stream
 * (syslog_frame: octet counting or LF, per frame) and each frame parsed (syslog_to_event),
 * and the whole input once more as one UDP datagram. Events' canonical JSON must parse. */
#include <stdint.h>
#include <string.h>

#include "fuzz_lines_common.h"
#include "inputs/syslog/syslog_parse.h"

static void one(const char *p, size_t n, const evd_limits *lim, arena *a) {
  static const syslog_defaults def = {"syslog", "syslog.message"};
  arena_reset(a);
  event ev;
  evd_field_error fe;
  if (syslog_to_event(p, n, &def, FUZZ_NOW, a, &ev, &fe) == 0) fuzz_check_event(&ev, lim, a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  evd_limits lim;
  evd_limits_default(&lim);
  arena a;
  arena_init(&a, 0);
  size_t off = 0;
  char err[256];
  while (off < size) {
    size_t st, fl, used;
    int rc = syslog_frame(data + off, size - off, 4096, &st, &fl, &used, err, sizeof err);
    if (rc <= 0) break;
    if (used == 0 || used > size - off || st + fl > used) abort();
    one((const char *)data + off + st, fl, &lim, &a);
    off += used;
  }
  one((const char *)data, size, &lim, &a);
  arena_free(&a);
  return 0;
}
