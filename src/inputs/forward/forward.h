/* forward: the Fluentd Forward Protocol v1 input (forward.listen; docs/inputs.md "Forward").
 *
 * TCP (or TLS with forward.tls.*) connections on the daemon's event loop; each message
 * (Message, Forward, PackedForward, CompressedPackedForward: forward_decode.h) becomes one
 * ingest batch. A message with the `chunk` option is answered {"ack": chunk} from the ingest
 * completion, i.e. once its events are durable; a message whose events cannot be stored now
 * (store queue full) stays in the connection's buffer and reading stops until it can be
 * retried, so nothing is dropped. With forward.shared_key the connection starts with the
 * HELO/PING/PONG handshake (SHA-512 digests, optional users) Fluent Bit's out_forward and
 * Fluentd's expect. */
#ifndef EVD_INPUTS_FORWARD_H
#define EVD_INPUTS_FORWARD_H

#include "inputs/inputs.h"

extern const input_plugin forward_input_plugin;

#endif
