/* lines: the JSON lines input (lines.listen): one event per line, TCP and UDP on the same
 * port. See lines.c and docs/inputs.md "JSON lines". */
#ifndef EVD_INPUTS_LINES_H
#define EVD_INPUTS_LINES_H

#include <stddef.h>

#include "core/arena.h"
#include "core/event.h"
#include "inputs/inputs.h"
#include "server/ingest.h"

extern const input_plugin lines_input_plugin;

/* Add one line p[0..n) (1-based number `line`, 0 for UDP) to b: parsed as JSON in arena a
 * (reset first) and handed to ingest_add_json; a line that is not JSON is recorded as a
 * failure. Used by the input and the fuzzer. */
void lines_add_line(ingest_batch *b, arena *a, const evd_limits *lim, const char *p, size_t n,
                    size_t line);

/* The record format: p[0..n) parsed as JSON and mapped like a forward record
 * (fwd_object_to_event, record_time on) with `stream` as the default stream. */
void lines_add_record(ingest_batch *b, arena *a, const evd_limits *lim, const char *stream,
                      const char *p, size_t n, size_t line);

#endif
