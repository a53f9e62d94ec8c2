/* Fuzz target for core/event: the input is NDJSON; each line is parsed and normalized with
 * the default limits, and every accepted event is written as canonical JSON, which must
 * parse, start with {"id":", and normalize again (after dropping the eventd-owned members)
 * to an event that writes the same canonical JSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/timeutil.h"

#define NOW (1795249560LL * NS_PER_SEC)

static void check_event(const event *ev, const evd_limits *lim, arena *a) {
  buf out = BUF_INIT;
  if (event_write_json(ev, "01JDXYZ0000000000000000000", 26, &out) != 0) abort();
  if (memcmp(out.data, "{\"id\":\"", 7) != 0) abort();
  json_error jerr;
  json_value *v = json_parse(a, out.data, out.len, lim->max_depth + 1, &jerr);
  if (!v || v->type != JSON_OBJECT) {
    fprintf(stderr, "canonical JSON does not parse: %s\n%s\n", jerr.message, out.data);
    abort();
  }
  /* Drop what eventd owns and normalize again: the result must be the same event. */
  json_value **pp = &v->child;
  while (*pp) {
    if (strcmp((*pp)->key, "observed_time") == 0 || strcmp((*pp)->key, "severity") == 0)
      *pp = (*pp)->next;
    else
      pp = &(*pp)->next;
  }
  event ev2;
  evd_field_error err;
  if (event_from_json(v, lim, NOW, a, &ev2, &err) != 0) {
    fprintf(stderr, "canonical JSON refused: %s: %s\n%s\n", err.field, err.reason, out.data);
    abort();
  }
  buf out2 = BUF_INIT;
  if (event_write_json(&ev2, "01JDXYZ0000000000000000000", 26, &out2) != 0) abort();
  if (out.len != out2.len || memcmp(out.data, out2.data, out.len) != 0) {
    fprintf(stderr, "canonical JSON not stable:\n%s\n%s\n", out.data, out2.data);
    abort();
  }
  buf_free(&out);
  buf_free(&out2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  evd_limits lim;
  evd_limits_default(&lim);
  arena a;
  arena_init(&a, 4096);
  const char *p = (const char *)data, *end = p + size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *line_end = nl ? nl : end;
    json_error jerr;
    json_value *v = json_parse(&a, p, (size_t)(line_end - p), lim.max_depth, &jerr);
    if (v) {
      event ev;
      evd_field_error err;
      if (event_from_json(v, &lim, NOW, &a, &ev, &err) == 0) {
        if (ev.f[EVF_TYPE].n == 0 || ev.observed_ns != NOW || ev.severity_number < 1 ||
            ev.severity_number > 24 || ev.time_ns < 0)
          abort();
        check_event(&ev, &lim, &a);
      } else if (err.reason[0] == '\0' || !utf8_valid(err.field, strlen(err.field)) ||
                 !utf8_valid(err.reason, strlen(err.reason))) {
        abort();
      }
    }
    p = line_end + 1;
    arena_reset(&a);
  }
  arena_free(&a);
  return 0;
}
