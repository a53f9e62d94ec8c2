/* Tests of eventctl's text/event-stream parser (src/cli/sse.c). */
#include "cli/sse.h"
#include "test.h"

typedef struct seen {
  int n;
  char type[4][32], id[4][32], data[4][64];
} seen;

static int on_event(void *ud, const char *type, const char *id, const char *d, size_t n) {
  seen *s = ud;
  if (s->n >= 4) return 1;
  snprintf(s->type[s->n], sizeof s->type[0], "%s", type);
  snprintf(s->id[s->n], sizeof s->id[0], "%s", id);
  snprintf(s->data[s->n], sizeof s->data[0], "%.*s", (int)n, d);
  s->n++;
  return 0;
}

TEST_IMPL(sse_parses_fields_comments_and_line_endings_in_any_split) {
  static const char stream[] =
      ": keepalive\n"
      "id: 01A\nevent: event\ndata: {\"a\":1}\n\n"  /* LF */
      "data: x\r\ndata:y\r\n\r\n"                    /* CRLF, two data lines, no space */
      "id: 02B\rdata: z\r\r"                         /* CR */
      "event: nothing\n\n";                          /* no data: not dispatched */
  size_t len = sizeof stream - 1;
  for (size_t chunk = 1; chunk <= len; chunk++) {
    seen s = {0};
    sse_parser p;
    sse_init(&p, on_event, &s);
    for (size_t off = 0; off < len; off += chunk)
      ASSERT_EQ_INT(sse_feed(&p, stream + off, off + chunk > len ? len - off : chunk), 0);
    sse_free(&p);
    ASSERT_EQ_INT(s.n, 3);
    ASSERT_EQ_STR(s.type[0], "event");
    ASSERT_EQ_STR(s.id[0], "01A");
    ASSERT_EQ_STR(s.data[0], "{\"a\":1}");
    ASSERT_EQ_STR(s.type[1], "message");
    ASSERT_EQ_STR(s.id[1], "01A"); /* the last id persists */
    ASSERT_EQ_STR(s.data[1], "x\ny");
    ASSERT_EQ_STR(s.id[2], "02B");
    ASSERT_EQ_STR(s.data[2], "z");
  }
  return 0;
}
