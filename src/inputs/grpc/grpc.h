/* grpc: the gRPC input — an h2c (cleartext HTTP/2, prior knowledge) server on the daemon's
 * event loop serving magma.orc8r.EventService/LogEvent, eventd.v1.Events/Publish and
 * /PublishStream, and grpc.health.v1.Health/Check (docs/grpc.md).
 *
 * Configured by grpc.listen ("HOST:PORT", or "off"), grpc.max_message_bytes, and
 * grpc.tls.cert / grpc.tls.key (TLS with ALPN h2 instead of h2c). Every event
 * goes through server/ingest.h; a call is answered OK only once its events are durable. */
#ifndef EVD_INPUTS_GRPC_H
#define EVD_INPUTS_GRPC_H

#include "inputs/inputs.h"

extern const input_plugin grpc_input_plugin;

#endif
