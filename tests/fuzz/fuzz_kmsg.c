/* fuzz_kmsg: eventd-probe's /dev/kmsg record parser and kernel line rules.
 *
 * The input is split at blank lines into records; each is parsed as one /dev/kmsg record
 * (kmsg_parse_record) and, when it parses, its message is fed to one rule set (so the
 * multi-line OOM and kernel-GPF state is exercised across records). Every event produced is
 * written in both JSON shapes, which must parse back as JSON (an invalid document aborts).
 * Each record's message is also fed directly, without the header, so the rules see
 * arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/json.h"
#include "probe/kmsg_parse.h"
#include "probe/rules.h"

static void check_events(probe_event *ev, int n) {
  probe_host h;
  memset(&h, 0, sizeof h);
  strcpy(h.name, "fuzz");
  for (int i = 0; i < n; i++) {
    buf b = BUF_INIT;
    arena a;
    arena_init(&a, 0);
    json_error e;
    if (probe_event_write_eventd(&ev[i], &h, &b) == 0 && !json_parse(&a, b.data, b.len, 0, &e)) abort();
    buf_clear(&b);
    if (probe_event_write_gala(&ev[i], &h, &b) == 0 && !json_parse(&a, b.data, b.len, 0, &e)) abort();
    arena_free(&a);
    buf_free(&b);
    probe_event_free(&ev[i]);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  krules_config cfg;
  krules_config_default(&cfg);
  strcpy(cfg.id_prefix, "kmsg:fuzz");
  kernel_rules kr;
  krules_init(&kr, &cfg);
  char *scratch = malloc(size + 2);
  if (!scratch) return 0;
  const char *p = (const char *)data, *end = p + size;
  uint64_t seq = 0;
  while (p < end) {
    const char *sep = NULL;
    for (const char *q = p; q + 1 < end; q++)
      if (q[0] == '\n' && q[1] == '\n') {
        sep = q;
        break;
      }
    size_t n = sep ? (size_t)(sep - p) : (size_t)(end - p);
    kmsg_record rec;
    char err[128];
    probe_event out[8];
    if (kmsg_parse_record(p, n, scratch, &rec, err, sizeof err) == 0) {
      if (rec.text_len > n) abort();
      check_events(out, krules_feed(&kr, rec.text, rec.text_len, rec.seq, 1, out, 8));
    }
    check_events(out, krules_feed(&kr, p, n, ++seq, 2, out, 8));
    p += n + (sep ? 2 : 0);
  }
  probe_event out[8];
  check_events(out, krules_flush(&kr, 3, 1, out, 8));
  krules_free(&kr);
  free(scratch);
  return 0;
}
