/* event: the canonical event (DESIGN.md "The event"), its limits, normalization from JSON,
 * and its canonical JSON form.
 *
 * Every input produces an `event` through event_from_json (or by filling the struct itself
 * and calling event_finish), so validation, defaults and limits are the same everywhere.
 * An event does not own its strings: they point into the request's arena or input text and
 * live as long as that. */
#ifndef EVD_EVENT_H
#define EVD_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"

/* A borrowed string: p[0..n). p is NUL-terminated when it comes from the JSON parser, but
 * code must not rely on it. n == 0 means "absent". */
typedef struct strv {
  const char *p;
  size_t n;
} strv;

/* The string fields of an event. Indexed ones (postings in every segment) come first; the
 * order is part of the record format (docs/storage.md): append new fields at the end only. */
typedef enum evd_field {
  EVF_TENANT = 0,
  EVF_STREAM,
  EVF_TYPE,
  EVF_KEY,
  EVF_TAG,
  EVF_SOURCE,
  EVF_CORRELATION_ID,
  EVF_INDEXED_COUNT, /* fields before this one are indexed */
  EVF_STATE = EVF_INDEXED_COUNT,
  EVF_MESSAGE,
  EVF_TRACE_ID,
  EVF_SPAN_ID,
  EVF__COUNT
} evd_field;

/* JSON name of a field ("tenant", "stream", ..., "span_id"). */
const char *evd_field_name(evd_field f);
/* The field with that JSON name, or -1. */
int evd_field_by_name(const char *name);

typedef struct evd_label {
  strv key;
  strv value;
} evd_label;

typedef struct event {
  strv id;               /* client-supplied id (idempotency key), or empty: store assigns a ULID */
  int64_t time_ns;       /* when it happened (default: observed_ns) */
  int64_t observed_ns;   /* when eventd received it */
  int severity_number;   /* OpenTelemetry 1..24; default 9 (INFO) */
  strv f[EVF__COUNT];    /* string fields, indexed by evd_field; empty = absent */
  const json_value *data;      /* JSON object or NULL */
  const json_value *resource;  /* JSON object or NULL */
  size_t nlabels;
  evd_label *labels;     /* unique keys, in the order given */
} event;

/* Limits on what one event may hold. Everything over a limit is refused with an error naming
 * the field and the limit; nothing is ever truncated. */
typedef struct evd_limits {
  size_t event_max_bytes;  /* one event's JSON text as received (default 1 MiB) */
  size_t body_max_bytes;   /* one request body (default 16 MiB; enforced by inputs) */
  size_t labels_max;       /* number of labels (default 64) */
  size_t name_max;         /* stream, type, tenant, key, label keys (default 256 bytes) */
  size_t value_max;        /* id, tag, source, correlation_id, state, label values,
                              trace/span ids (default 4096 bytes) */
  size_t message_max;      /* message (default 256 KiB) */
  int max_depth;           /* JSON nesting depth (default 64) */
} evd_limits;

void evd_limits_default(evd_limits *l);

/* What kind of refusal an evd_field_error is: inputs map them to their own statuses
 * (HTTP 400/413, gRPC INVALID_ARGUMENT/RESOURCE_EXHAUSTED) and metrics reasons. */
typedef enum evd_error_kind {
  EVD_ERR_INVALID = 0, /* the value breaks a rule */
  EVD_ERR_LIMIT,       /* the value is over a configured limit (limits.*) */
  EVD_ERR_NOMEM        /* out of memory while normalizing */
} evd_error_kind;

/* Why an event was refused: the field's JSON path ("data", "labels.env", "time", "" for the
 * whole event), a reason that names the rule ("expected string, got number"), and its kind. */
typedef struct evd_field_error {
  char field[160];
  char reason[256];
  evd_error_kind kind;
} evd_field_error;

/* Normalize one event from its parsed JSON object (the /v1/events format, see docs/api.md):
 * checks types and limits, parses time (RFC 3339 or epoch number/string by magnitude) and
 * severity (text or number), applies defaults (tenant "default", stream "default", severity
 * INFO, time = now_ns, key = stream + "." + type), and refuses unknown top-level fields.
 * `type` is required. Strings in *ev point into obj's arena or into a; extra allocations
 * come from a. Returns 0, or -1 with *err filled. */
int event_from_json(const json_value *obj, const evd_limits *lim, int64_t now_ns, arena *a,
                    event *ev, evd_field_error *err);

/* Apply defaults and check limits on an event an input filled itself (the same rules as
 * event_from_json after parsing). Returns 0 or -1 with *err. */
int event_finish(event *ev, const evd_limits *lim, int64_t now_ns, arena *a, evd_field_error *err);

/* Severity: parse text (case-insensitive TRACE, DEBUG, INFO, WARN, WARNING, ERROR, FATAL,
 * CRITICAL, also OpenTelemetry's INFO2..FATAL4) to 1..24; returns -1 if unknown. */
int severity_from_text(const char *s, size_t n);
/* The short text of a severity number: TRACE 1-4, DEBUG 5-8, INFO 9-12, WARN 13-16,
 * ERROR 17-20, FATAL 21-24 ("UNSPECIFIED" outside). */
const char *severity_text(int number);

/* Append the canonical JSON of ev, with `id` as its id. Members in this order, absent ones
 * omitted: id, time, observed_time, tenant, stream, type, key, tag, severity,
 * severity_number, source, message, correlation_id, state, trace_id, span_id, labels,
 * resource, data. Times are RFC 3339 UTC with 9 fraction digits. The text always starts
 * with {"id":" so the id sits at offset 7 (record.h relies on it). */
int event_write_json(const event *ev, const char *id, size_t idlen, buf *out);

#endif
