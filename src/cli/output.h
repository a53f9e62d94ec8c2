/* output: how eventctl shows things — aligned tables that fit the terminal, pretty JSON,
 * event rows, and eventd's error answers. Display-only shortening (ellipsis) happens in
 * tables and nowhere else; JSON and NDJSON output is always complete. */
#ifndef EVD_CLI_OUTPUT_H
#define EVD_CLI_OUTPUT_H

#include <stdio.h>

#include "cli/http.h"
#include "core/arena.h"
#include "core/json.h"

/* Set up character-width handling (locale); call once at start. */
void output_init(void);

/* Width to fit tables into: the terminal's when stdout is a terminal, else $COLUMNS when
 * set, else 0 (unknown: do not shorten). */
int output_term_width(void);

/* Columns a UTF-8 string takes on a terminal (wide characters count 2). */
size_t output_display_width(const char *s);

/* A table of text cells, printed with columns aligned. Cells are copied, with control
 * characters (newline, tab, ...) shown as spaces so each row stays one line. */
typedef struct table {
  size_t ncols;
  const char *const *headers;
  size_t nrows, cap;
  char **cells; /* nrows * ncols, owned */
} table;

void table_init(table *t, size_t ncols, const char *const *headers);
void table_free(table *t);
/* Add one row of ncols cells (NULL = empty). Returns 0, or -1 when out of memory. */
int table_add_row(table *t, const char *const *cells);

/* Print the header and rows to out. Column c is at most caps[c] columns wide (0 or caps
 * NULL: no cap); when width > 0 and the table is wider, column flex_col (-1: none) is
 * narrowed to fit, down to 12 columns. Cut cells end in an ellipsis. */
void table_print(const table *t, FILE *out, int width, const size_t *caps, int flex_col);

/* Compute column widths as table_print would (widths has ncols entries). */
void table_widths(const table *t, int width, const size_t *caps, int flex_col, size_t *widths);
/* Print one row (header when cells == headers) with the given widths. */
void table_print_row(FILE *out, size_t ncols, const char *const *cells, const size_t *widths);

/* Event table columns: TIME SEVERITY STREAM TYPE TAG SOURCE MESSAGE. */
#define EVENT_COLS 7
extern const char *const event_headers[EVENT_COLS];
extern const size_t event_caps[EVENT_COLS];
#define EVENT_FLEX_COL 6
/* Fill cells for one canonical event object. Strings point into ev, except the time,
 * which is shortened to milliseconds in time_buf. Missing fields are "". */
void event_cells(const json_value *ev, char time_buf[40], const char *cells[EVENT_COLS]);

/* Append the indented JSON (2 spaces) of v to out. Returns 0 or -1 when out of memory. */
int json_write_pretty(buf *out, const json_value *v);

/* Parse a response body as JSON into a (NULL when it is not JSON; err may be NULL). */
json_value *parse_json_body(arena *a, const buf *body, json_error *err);

/* Names the i-th event of a request in an error report ("event 3", "line 17"). */
typedef void (*index_label_fn)(void *ud, long long index, char *out, size_t outlen);

/* Print eventd's error answer on stderr: "eventctl: <what>: <error> (HTTP <status>)" and one
 * line per entry of "errors" ("  event 3: time: <reason>"; label_fn may be NULL). */
void report_http_error(const char *what, const http_response *resp, index_label_fn label_fn,
                       void *ud);

#endif
