/* query_params: the query string of the read endpoints (GET /v1/events, /count, /histogram,
 * /v1/tail) parsed into a store_filter and paging options, and the opaque page cursor.
 *
 * Pure functions: no I/O, no libevent, so they are unit-tested and fuzzed directly. Decoded
 * strings live in the caller's arena (the filter points into it). Every problem is an error
 * naming the parameter: an unknown parameter, a repeated one (only `label` repeats), an
 * empty value, a bad time, a limit over the maximum (never clamped), a bad cursor. */
#ifndef EVD_SERVER_QUERY_PARAMS_H
#define EVD_SERVER_QUERY_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "store/store.h"

typedef enum qp_endpoint {
  QP_QUERY = 0,  /* GET /v1/events: filters + limit, order, cursor */
  QP_COUNT,      /* GET /v1/events/count: filters */
  QP_HISTOGRAM,  /* GET /v1/events/histogram: filters + interval (required), by */
  QP_TAIL        /* GET /v1/tail: filters + last_event_id */
} qp_endpoint;

typedef struct qp_limits {
  size_t default_limit; /* limit when not given */
  size_t max_limit;     /* larger limit= is an error */
} qp_limits;

typedef struct query_params {
  store_filter filter;
  int has_since;              /* since= was given (tail starts from it) */
  size_t limit;               /* QP_QUERY */
  int desc;                   /* QP_QUERY: 1 = newest first (default) */
  int has_cursor;             /* QP_QUERY: cursor= was given */
  store_pos cursor;           /*   ... the position it names */
  int64_t interval_ns;        /* QP_HISTOGRAM */
  const char *interval_text;  /*   ... as given, echoed in the answer */
  store_group by;             /* QP_HISTOGRAM: STORE_GROUP_NONE unless by= */
  const char *last_event_id;  /* QP_TAIL: NULL unless last_event_id= */
  size_t last_event_id_len;
} query_params;

/* Parse the raw (still percent-encoded) query string qs[0..len) (without '?'; NULL or
 * empty = no parameters) for endpoint ep. Relative times resolve against now_ns. Strings
 * are decoded ('+' is a space, %XX a byte; %00 and malformed escapes are errors) into a.
 * Returns 0, or -1 with a one-line message in err. */
int query_params_parse(const char *qs, size_t len, qp_endpoint ep, const qp_limits *lim,
                       int64_t now_ns, arena *a, query_params *out, char *err, size_t errlen);

/* Cursor text: base64url (no padding) of version, order, time_ns, seq and a check value. */
#define CURSOR_LEN 27

/* Write the cursor for position pos in order desc into out (CURSOR_LEN chars + NUL). */
void cursor_encode(const store_pos *pos, int desc, char out[CURSOR_LEN + 1]);

/* Decode a cursor. Returns 0 with *pos and *desc, or -1 when s[0..n) is not a cursor this
 * version wrote (wrong length, alphabet, version, flags or check value). */
int cursor_decode(const char *s, size_t n, store_pos *pos, int *desc);

/* Percent-decode s[0..n) into a NUL-terminated arena string ('+' -> ' ' when plus_space).
 * Returns it (length in *outlen), or NULL when malformed, when it would hold a NUL byte,
 * or when out of memory (*oom set). */
char *query_decode(arena *a, const char *s, size_t n, int plus_space, size_t *outlen, int *oom);

#endif
