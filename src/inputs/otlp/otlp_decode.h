/* otlp_decode: the pure half of the OTLP/HTTP logs input — an ExportLogsServiceRequest in
 * the OTLP JSON encoding or in protobuf, turned into canonical events, one per log record,
 * or a refusal per record. No server, no I/O: unit tests and fuzz targets call it directly.
 *
 * Mapping (docs/inputs.md, "OTLP/HTTP logs"):
 *   eventName (field 12), else the attribute event.name (string) -> type; neither ->
 *     opts.default_type
 *   severityNumber 1..24 -> severity; 0 -> severityText when it names a severity
 *     (INFO, WARN, ERROR2...), else the default (INFO); a severityText that is not the
 *     canonical name of the resulting severity is kept as data.severity_text
 *   body: a string -> message; any other value -> data.body (as JSON)
 *   attributes -> data (AnyValue unwrapped: kvlist -> object, array -> array, int -> number,
 *     bytes -> base64 string, NaN/Infinity -> string)
 *   resource attributes -> resource; the attribute opts.stream_attribute (service.name) ->
 *     stream when it is a valid stream name; host.name -> source
 *   scope name / version -> labels otel.scope.name / otel.scope.version; scope attributes
 *     -> data["otel.scope.attributes"]
 *   traceId / spanId -> trace_id / span_id (hex; all-zero ids are absent)
 *   timeUnixNano, else observedTimeUnixNano, else now -> time
 *   flags, droppedAttributesCount (when not 0) -> data.trace_flags,
 *     data.dropped_attributes_count
 * A record is refused (and the others kept) when a value breaks a rule: duplicate attribute
 * keys, invalid UTF-8, ids of the wrong length, a time past 2262, nesting deeper than
 * max_depth. */
#ifndef EVD_INPUTS_OTLP_DECODE_H
#define EVD_INPUTS_OTLP_DECODE_H

#include <stddef.h>

#include "core/arena.h"
#include "core/event.h"

typedef struct otlp_opts {
  const char *default_type;     /* "otlp.log" */
  const char *stream_attribute; /* "service.name"; NULL or "" = none */
  int max_depth;                /* limits.max_depth: nesting of data/resource */
} otlp_opts;

/* Called once per log record, in request order (index counts from 0). ev is the event
 * (strings in the arena, fields it has no value for empty: ready for ingest_add_event), or
 * NULL when the record was refused, with the reason. Return 0 to go on, -1 to stop. */
typedef int (*otlp_sink)(void *arg, size_t index, event *ev, const char *reason);

enum { OTLP_OK = 0, OTLP_BAD_REQUEST = -1, OTLP_STOPPED = -2 };

/* Decode an OTLP JSON request. Returns OTLP_OK when every record went to the sink,
 * OTLP_BAD_REQUEST with err when the body is not an ExportLogsServiceRequest (not JSON,
 * wrong shapes above the record level), OTLP_STOPPED when the sink stopped or the arena ran
 * out of memory (err says which). Records before a bad-request error may already have
 * gone to the sink. */
int otlp_decode_json(arena *a, const otlp_opts *o, const char *body, size_t len, otlp_sink sink,
                     void *arg, char *err, size_t errlen);

/* The same for the protobuf encoding (checked for wire-format errors and nesting depth
 * before it is unpacked, so a hostile body cannot exhaust the stack). */
int otlp_decode_proto(arena *a, const otlp_opts *o, const void *body, size_t len,
                      otlp_sink sink, void *arg, char *err, size_t errlen);

#endif
