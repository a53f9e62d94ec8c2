/* fuzz_probe_lines: eventd-probe's command.failed log-line parser (cmdfail_parse).
 *
 * Each input line is parsed; every event produced is written in both JSON shapes (eventd,
 * gala-gopher), which must parse back as JSON, and its required members must be present. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/json.h"
#include "probe/cmdfail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data, *end = p + size;
  probe_host h;
  memset(&h, 0, sizeof h);
  strcpy(h.name, "fuzz");
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    probe_event ev;
    if (cmdfail_parse(p, n, &ev)) {
      if (!probe_event_get(&ev, "code") || !probe_event_get(&ev, "user") || !probe_event_get(&ev, "tty") ||
          !probe_event_get(&ev, "remote") || !probe_event_get(&ev, "command"))
        abort();
      buf b = BUF_INIT;
      arena a;
      arena_init(&a, 0);
      json_error e;
      if (probe_event_write_eventd(&ev, &h, &b) == 0 && !json_parse(&a, b.data, b.len, 0, &e)) abort();
      buf_clear(&b);
      if (probe_event_write_gala(&ev, &h, &b) == 0 && !json_parse(&a, b.data, b.len, 0, &e)) abort();
      arena_free(&a);
      buf_free(&b);
      probe_event_free(&ev);
    }
    p += n + (nl ? 1 : 0);
  }
  return 0;
}
