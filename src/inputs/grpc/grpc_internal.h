/* grpc_internal: what the HTTP/2 transport (grpc_h2.c) and the services (grpc_calls.c)
 * share. Not for use outside src/inputs/grpc.
 *
 * A call is one HTTP/2 stream carrying one RPC. The transport owns its HTTP/2 side
 * (headers, framing, deadline, answer); a method's handlers get every complete request
 * message and the client's half-close, and finish the call with grpc_call_reply or
 * grpc_call_fail — at once, or later from an ingest completion.
 *
 * Lifetime: a call is reference counted. The stream holds one reference while it is open;
 * a handler that waits for something asynchronous (an ingest ack) takes one with
 * grpc_call_ref and drops it with grpc_call_unref in the completion. If the stream is reset
 * or its connection closes first, the call is detached (grpc_call_live returns 0) and
 * answers are dropped, but the memory stays valid until the last reference is gone. */
#ifndef EVD_INPUTS_GRPC_INTERNAL_H
#define EVD_INPUTS_GRPC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "inputs/grpc/grpc_wire.h"
#include "server/auth.h"

struct server;
typedef struct grpc_call grpc_call;
typedef struct grpc_server grpc_server;

typedef struct grpc_method {
  const char *path;       /* "/magma.orc8r.EventService/LogEvent" */
  int client_streaming;   /* more than one request message allowed */
  /* A complete request message (msg lives until return), as soon as it is complete. For a
   * unary method the transport refuses a second message (INTERNAL) and a half-close
   * without any (INTERNAL). */
  void (*on_message)(grpc_call *c, const uint8_t *msg, size_t len);
  /* The client half-closed (after the last on_message). Unary methods leave it NULL. */
  void (*on_half_close)(grpc_call *c);
} grpc_method;

/* The method for a :path, or NULL (services in grpc_calls.c). */
const grpc_method *grpc_method_find(const char *path, size_t len);

/* ---- per-call state for the services (the transport does not look at it) ---- */
typedef struct grpc_call_state {
  uint64_t accepted, duplicates; /* PublishStream: totals of the acked batches */
  size_t pending;                /* ingest submits not acked yet */
  size_t batches;                /* batches submitted */
  int half_closed;               /* the client has sent everything */
  /* Access control (auth.h): the metadata `authorization: Bearer TOKEN`, when auth is on. */
  int auth;                      /* 0: none given, 1: authenticated, -1: unknown token */
  auth_principal principal;      /* when auth == 1 */
} grpc_call_state;

/* ---- the transport's side, for the services ---- */

struct server *grpc_call_server(grpc_call *c);
/* The client's address without port ("127.0.0.1", "::1"), for per-peer limits. */
const char *grpc_call_peer_addr(grpc_call *c);
grpc_server *grpc_call_grpc(grpc_call *c);
grpc_call_state *grpc_call_state_of(grpc_call *c);
/* Scratch arena for decoding one message (reset by the transport after each message). */
arena *grpc_call_arena(grpc_call *c);
/* 1 while the call can still be answered (stream open, not answered, deadline not passed). */
int grpc_call_live(const grpc_call *c);
void grpc_call_ref(grpc_call *c);
/* Drop a reference; frees the call when it was the last. */
void grpc_call_unref(grpc_call *c);
/* Answer OK with one response message (msg[0..len), copied). No-op when not live. */
void grpc_call_reply(grpc_call *c, const uint8_t *msg, size_t len);
/* Answer with an error status and message. No-op when not live. */
void grpc_call_fail(grpc_call *c, grpc_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An asynchronous step finished (ingest ack): let the transport resume reading a stream it
 * paused and write what the handler queued. Call after grpc_call_reply/fail, before
 * grpc_call_unref. */
void grpc_call_resume(grpc_call *c);

/* The request's `authorization` metadata (grpc_calls.c; checked when a method handler
 * starts a batch). Called by the transport for each such header. */
void grpc_call_authorization(grpc_call *c, const uint8_t *value, size_t len);

/* Submits in flight per stream before the transport stops reading it (flow control). */
#define GRPC_MAX_PENDING_PER_CALL 4

/* gRPC settings of the server (from evd_config). */
size_t grpc_server_max_message(const grpc_server *g);
/* 1 once the server is stopping (health says NOT_SERVING). */
int grpc_server_stopping(const grpc_server *g);

#endif
