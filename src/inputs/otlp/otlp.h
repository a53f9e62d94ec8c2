/* otlp: the OTLP/HTTP logs input on the HTTP port (docs/inputs.md, "OTLP/HTTP logs"):
 * POST /v1/logs with an ExportLogsServiceRequest as application/json (the OTLP JSON
 * encoding) or application/x-protobuf, optionally Content-Encoding gzip/deflate.
 *
 * Every log record becomes one canonical event (mapping in otlp_decode.h). The request is
 * one ingest batch in per-item mode: valid records are stored, refused ones are counted in
 * the answer's partialSuccess {rejectedLogRecords, errorMessage}, which is sent (in the
 * request's encoding) once the stored records are durable. Settings: otlp.default_type,
 * otlp.stream_attribute; limits.* as for POST /v1/events. */
#ifndef EVD_INPUTS_OTLP_H
#define EVD_INPUTS_OTLP_H

#include "inputs/inputs.h"

extern const input_plugin otlp_input_plugin;

#endif
