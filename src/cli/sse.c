/* sse: see sse.h. */
#include "cli/sse.h"

#include <string.h>

void sse_init(sse_parser *p, sse_event_fn fn, void *ud) {
  memset(p, 0, sizeof *p);
  buf_init(&p->line);
  buf_init(&p->data);
  buf_init(&p->type);
  buf_init(&p->last_id);
  p->fn = fn;
  p->ud = ud;
}

void sse_free(sse_parser *p) {
  buf_free(&p->line);
  buf_free(&p->data);
  buf_free(&p->type);
  buf_free(&p->last_id);
}

void sse_reset_partial(sse_parser *p) {
  buf_clear(&p->line);
  buf_clear(&p->data);
  buf_clear(&p->type);
  p->have_data = 0;
  p->after_cr = 0;
}

/* Process one complete line (without its terminator). Returns 0, the callback's value, or
 * -1 on out of memory. */
static int process_line(sse_parser *p, const char *s, size_t n) {
  if (n == 0) { /* dispatch */
    int rc = 0;
    if (p->have_data && p->data.len > 0) { /* the spec drops events with empty data */
      const char *type = p->type.len ? p->type.data : "message";
      rc = p->fn(p->ud, type, p->last_id.len ? p->last_id.data : "", p->data.data ? p->data.data : "",
                 p->data.len);
    }
    buf_clear(&p->data);
    buf_clear(&p->type);
    p->have_data = 0;
    return rc;
  }
  if (s[0] == ':') return 0; /* comment */
  const char *colon = memchr(s, ':', n);
  size_t name_len = colon ? (size_t)(colon - s) : n;
  const char *value = colon ? colon + 1 : s + n;
  size_t value_len = (size_t)(s + n - value);
  if (value_len > 0 && value[0] == ' ') {
    value++;
    value_len--;
  }
  if (name_len == 4 && memcmp(s, "data", 4) == 0) {
    if (p->have_data && buf_putc(&p->data, '\n') != 0) return -1;
    if (buf_append(&p->data, value, value_len) != 0) return -1;
    p->have_data = 1;
  } else if (name_len == 5 && memcmp(s, "event", 5) == 0) {
    buf_clear(&p->type);
    if (buf_append(&p->type, value, value_len) != 0) return -1;
  } else if (name_len == 2 && memcmp(s, "id", 2) == 0) {
    if (!memchr(value, '\0', value_len)) { /* the spec ignores ids holding NUL */
      buf_clear(&p->last_id);
      if (buf_append(&p->last_id, value, value_len) != 0) return -1;
    }
  }
  return 0;
}

int sse_feed(sse_parser *p, const char *chunk, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (p->after_cr) {
      p->after_cr = 0;
      if (chunk[i] == '\n') {
        i++;
        continue;
      }
    }
    /* find the end of the line in this chunk */
    size_t j = i;
    while (j < n && chunk[j] != '\n' && chunk[j] != '\r') j++;
    if (j > i) {
      if (p->line.len + (j - i) > SSE_MAX_LINE) return -1;
      if (buf_append(&p->line, chunk + i, j - i) != 0) return -1;
    }
    if (j == n) break; /* incomplete line: wait for more */
    if (chunk[j] == '\r') p->after_cr = 1;
    int rc = process_line(p, p->line.data ? p->line.data : "", p->line.len);
    buf_clear(&p->line);
    if (rc != 0) return rc;
    i = j + 1;
  }
  return 0;
}
