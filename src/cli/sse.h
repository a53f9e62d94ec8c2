/* sse: an incremental parser for text/event-stream (the WHATWG "server-sent events" format)
 * as eventd's GET /v1/tail sends it.
 *
 * Bytes are fed in arbitrary chunks. Lines end with LF, CRLF or CR. A line starting with ':'
 * is a comment (eventd's keepalive). "id:", "event:" and "data:" fields are collected (one
 * optional space after the colon is dropped; several data lines are joined with "\n"); a
 * blank line dispatches the event (unless its data is empty, as the spec says). The last id seen persists across events, as the spec's
 * "last event ID" does. Other fields are ignored. */
#ifndef EVD_CLI_SSE_H
#define EVD_CLI_SSE_H

#include <stddef.h>

#include "core/buf.h"

/* One dispatched event: type ("event" field, default "message"), the last event id (""
 * when none was ever sent), and the data (NUL-terminated, n bytes). Return 0 to continue,
 * non-zero to stop (sse_feed returns that value). */
typedef int (*sse_event_fn)(void *ud, const char *type, const char *id, const char *data,
                            size_t n);

#define SSE_MAX_LINE (64u << 20) /* a longer line is an error, not truncated */

typedef struct sse_parser {
  buf line;        /* the line being received */
  buf data;        /* data of the event being collected */
  buf type;        /* event type of the event being collected */
  buf last_id;     /* last event id */
  int have_data;   /* a data field was seen for the current event */
  int after_cr;    /* the previous byte was CR: a following LF belongs to it */
  sse_event_fn fn;
  void *ud;
} sse_parser;

void sse_init(sse_parser *p, sse_event_fn fn, void *ud);
void sse_free(sse_parser *p);
/* Forget a partially received event (after a dropped connection); last_id is kept. */
void sse_reset_partial(sse_parser *p);
/* Feed n bytes. Returns 0, the callback's non-zero value, or -1 on out of memory or a line
 * over SSE_MAX_LINE. */
int sse_feed(sse_parser *p, const char *chunk, size_t n);

#endif
