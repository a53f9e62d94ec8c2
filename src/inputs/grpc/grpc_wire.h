/* grpc_wire: the parts of the gRPC protocol that are plain byte handling, with no sockets,
 * no HTTP/2 and no server behind them (so the fuzzer can drive them):
 *
 * - status codes and their names;
 * - the length-prefixed message framing of a request body ("gRPC over HTTP/2":
 *   1 byte compressed flag, 4 bytes big-endian length, the message), reassembled from DATA
 *   chunks of any size, with the maximum message size enforced from the prefix alone;
 * - the grpc-timeout header, the percent-encoding of grpc-message;
 * - a protobuf-c allocator on an arena, and a check that every string field of an encoded
 *   message is valid UTF-8 without NUL bytes (protobuf-c hands strings out NUL-terminated,
 *   so an embedded NUL would otherwise cut them silently). */
#ifndef EVD_INPUTS_GRPC_WIRE_H
#define EVD_INPUTS_GRPC_WIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"

/* gRPC status codes (grpc/doc/statuscodes.md). */
typedef enum grpc_code {
  GRPC_OK = 0,
  GRPC_CANCELLED = 1,
  GRPC_UNKNOWN = 2,
  GRPC_INVALID_ARGUMENT = 3,
  GRPC_DEADLINE_EXCEEDED = 4,
  GRPC_NOT_FOUND = 5,
  GRPC_ALREADY_EXISTS = 6,
  GRPC_PERMISSION_DENIED = 7,
  GRPC_RESOURCE_EXHAUSTED = 8,
  GRPC_FAILED_PRECONDITION = 9,
  GRPC_ABORTED = 10,
  GRPC_OUT_OF_RANGE = 11,
  GRPC_UNIMPLEMENTED = 12,
  GRPC_INTERNAL = 13,
  GRPC_UNAVAILABLE = 14,
  GRPC_DATA_LOSS = 15,
  GRPC_UNAUTHENTICATED = 16
} grpc_code;

/* "OK", "INVALID_ARGUMENT", ... ("UNKNOWN" for anything else). */
const char *grpc_code_name(int code);

#define GRPC_FRAME_HEADER 5

/* Reassembles request messages from the DATA bytes of one stream. */
typedef struct grpc_framer {
  size_t max_message;  /* largest message accepted (bytes after the prefix) */
  unsigned char hdr[GRPC_FRAME_HEADER];
  size_t hdr_have;     /* bytes of the current prefix seen */
  size_t need;         /* message length from the prefix (valid once hdr_have == 5) */
  buf msg;             /* the message so far */
  int failed;          /* an error was reported: everything after is ignored */
} grpc_framer;

/* Called for every complete message; msg[0..len) lives until the callback returns.
 * Return 0 to go on, -1 to stop feeding (the framer is then failed). */
typedef int (*grpc_message_cb)(void *arg, const uint8_t *msg, size_t len);

void grpc_framer_init(grpc_framer *f, size_t max_message);
void grpc_framer_free(grpc_framer *f);

/* Feed len bytes of DATA. Calls cb for each message completed by them. Returns 0; or -1
 * with *code and msg when the stream breaks the framing: a compressed message
 * (GRPC_UNIMPLEMENTED: only the identity encoding is supported), a message over
 * max_message (GRPC_RESOURCE_EXHAUSTED, detected from the prefix before any of it is
 * buffered), out of memory (GRPC_RESOURCE_EXHAUSTED), or cb returning -1 (*code = GRPC_OK:
 * the callback has answered already). After an error the framer ignores further input. */
int grpc_framer_feed(grpc_framer *f, const uint8_t *data, size_t len, grpc_message_cb cb,
                     void *arg, grpc_code *code, char *msg, size_t msglen);

/* 1 if the stream ended in the middle of a message (prefix or body incomplete). */
int grpc_framer_partial(const grpc_framer *f);

/* Parse a grpc-timeout value ("1S", "250m", "100000u", "5H": 1..8 digits and one unit of
 * H M S m u n) into nanoseconds (saturating at INT64_MAX). Returns 0 or -1. */
int grpc_parse_timeout(const char *s, size_t n, int64_t *ns);

/* Append the percent-encoding of s[0..n) for grpc-message: bytes outside 0x20..0x7E and
 * '%' become %XX. Returns 0 or -1 (out of memory). */
int grpc_percent_encode(buf *out, const char *s, size_t n);

/* A protobuf-c allocator that takes memory from an arena (free is a no-op). */
void grpc_arena_allocator(ProtobufCAllocator *al, arena *a);

/* Walk the encoded message data[0..len) of type desc (and the messages inside it) and check
 * every string field: valid UTF-8, no NUL byte. Malformed encodings are left for
 * protobuf_c_message_unpack to refuse. Returns 0, or -1 with a message naming the field
 * ("events.labels.key: contains a NUL byte"). */
int grpc_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                       char *err, size_t errlen);

#endif
