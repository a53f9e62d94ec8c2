/* magma_query: the query strings of Magma's orchestrator event endpoints (docs/api.md,
 * "Magma orc8r-compatible queries"), and the tests a stored event must pass to match them.
 *
 *   GET /magma/v1/events/{network_id}?streams=&events=&tags=&hw_ids=&from=&size=&start=&end=
 *   GET /magma/v1/events/{network_id}/about/count?streams=&events=&tags=&hw_ids=&start=&end=
 *   GET /magma/v1/events/{network_id}/{stream_name}?event_type=&hardware_id=&tag=
 *
 * Mapping to eventd's event: stream_name = stream, event_type = type, hardware_id (hw_ids) =
 * source, tag = tag; an event belongs to network N when its tenant is N or its label
 * `network_id` is N. List parameters are comma-separated (any value matches); start and end
 * are RFC 3339 times, both inclusive. As Magma's handlers do, parameters the endpoint does not
 * know are ignored; a bad value of a known one is an error (400).
 *
 * Pure functions (no I/O): unit-tested directly. Strings live in the caller's arena. */
#ifndef EVD_SERVER_MAGMA_QUERY_H
#define EVD_SERVER_MAGMA_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/record.h"
#include "store/store.h"

typedef enum magma_endpoint {
  MAGMA_EVENTS = 0, /* /magma/v1/events/{network_id}: ascending, from/size */
  MAGMA_COUNT,      /* .../about/count: a bare integer */
  MAGMA_LEGACY      /* .../{stream_name}: descending, 50 newest */
} magma_endpoint;

#define MAGMA_DEFAULT_SIZE 50
#define MAGMA_MAX_WINDOW 10000 /* from + size, as Elasticsearch's max_result_window */
#define MAGMA_MAX_VALUES 64    /* values in one list parameter */

/* A list parameter: n values (n == 0: not given). */
typedef struct magma_list {
  const char *v[MAGMA_MAX_VALUES];
  size_t len[MAGMA_MAX_VALUES];
  size_t n;
} magma_list;

typedef struct magma_query {
  magma_endpoint ep;
  const char *network_id; /* decoded path segment */
  size_t network_len;
  magma_list streams, events, tags, hw_ids; /* legacy: stream_name, event_type, tag, hardware_id */
  size_t from, size;
  int64_t start_ns;       /* inclusive; INT64_MIN when not given */
  int64_t end_ns;         /* inclusive; INT64_MAX when not given */
  int desc;               /* newest first (legacy) */
} magma_query;

/* Parse the path below "/magma/v1/events/" (rest, still percent-encoded) and the raw query
 * string qs[0..qlen) (may be NULL). Returns 0 with *q; -1 with a message in err for a bad
 * value (400); -2 when the path is not one of the three endpoints (404). */
int magma_parse(const char *rest, const char *qs, size_t qlen, arena *a, magma_query *q, char *err,
                size_t errlen);

/* Network variants: an event matches network N as (A) tenant N, or (B) label network_id N
 * with a tenant other than N — two disjoint sets that can each use the store's index. */
enum { MAGMA_BY_TENANT = 0, MAGMA_BY_LABEL = 1 };

/* The store filter for variant `by` (strings point into q). Lists of one value become exact
 * conditions; longer lists are left to magma_match. *exact_only is set to 1 when the filter
 * says everything (no record needs magma_match). */
void magma_store_filter(const magma_query *q, int by, store_filter *f, int *exact_only);

/* 1 if the record matches the query for variant `by` (lists, network, times). */
int magma_match(const magma_query *q, int by, const record_view *rv);

#endif
