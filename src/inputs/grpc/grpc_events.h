/* grpc_events: request messages of the gRPC services decoded into canonical events.
 *
 * Pure functions (no server, no I/O), shared by the services and the fuzzer:
 * decode a message with protobuf-c into an arena (after grpc_check_strings), then fill an
 * `event` per protobuf Event. The events' strings point into the decoded message, so they
 * live as long as the arena. Defaults, limits and the final checks are event_finish's (run
 * by ingest_add_event); what is checked here is what only the protobuf form can get wrong:
 * the JSON text of `value`/`data`/`resource`, time text, severity, label count. */
#ifndef EVD_INPUTS_GRPC_EVENTS_H
#define EVD_INPUTS_GRPC_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/event.h"
#include "eventd.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "inputs/grpc/grpc_wire.h"
#include "orc8r/eventd.pb-c.h"

/* Decode data[0..len) as a message of type desc into arena a (strings checked first).
 * Returns the message, or NULL with *code and a message in err: GRPC_INVALID_ARGUMENT for a
 * string that is not valid UTF-8 or holds a NUL byte, GRPC_INTERNAL for bytes that are not
 * such a message (as gRPC servers answer a request they cannot deserialize). */
ProtobufCMessage *grpc_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                              size_t len, arena *a, grpc_code *code, char *err, size_t errlen);

/* Magma's Event: stream_name -> stream, event_type -> type, tag -> tag, value (JSON object
 * text) -> data. Returns 0, or -1 with *err (field "value" for the JSON text; err->kind says
 * whether it is a rule, a limit or out of memory). */
int grpc_magma_event(const Magma__Orc8r__Event *m, const evd_limits *lim, arena *a, event *ev,
                     evd_field_error *err);

/* eventd.v1.Event: every canonical field (see proto/eventd.proto). Returns 0 or -1 with
 * *err as above. */
int grpc_native_event(const Eventd__V1__Event *m, const evd_limits *lim, arena *a, event *ev,
                      evd_field_error *err);

/* 1 if an error's reason is about a size or count limit (-> RESOURCE_EXHAUSTED). */
int grpc_error_is_limit(const evd_field_error *err);

#endif
