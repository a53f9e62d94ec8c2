/* ingest: the one path from "an input has events" to "they are durable", shared by every
 * input (HTTP POST /v1/events, gRPC EventService/Publish, ...), so that normalization,
 * limits, the event-type registry, encoding, the completion hand-off and the ingest metrics
 * are the same everywhere.
 *
 * A request of an input is one ingest_batch: all of its events are stored, or none.
 *
 *   ingest_batch *b = ingest_begin(s);          // takes a reference to the current registry
 *   for each event:
 *     ingest_add_json(b, obj, raw_len, line);   // or ingest_add_event(b, &ev)
 *   if (ingest_error_count(b)) { report ingest_error_at(b, i)...; ingest_abort(b); }
 *   else rc = ingest_submit(b, done_cb, arg);   // done_cb(arg, result) later, on the loop
 *
 * Threads: every function here runs on the server's event-loop thread (s->base); the input
 * must run on that loop too (the HTTP and gRPC servers do). The store's writer thread only
 * touches the completion list inside ingest.c, and wakes the loop (server.done_ev).
 *
 * Ownership: the batch belongs to the input from ingest_begin until ingest_submit or
 * ingest_abort, which always take it (free it or hand it to the store). Events passed to
 * ingest_add_* are only read during the call: each is encoded (copied) into the batch before
 * the call returns, so the input may free or reuse its JSON tree or event strings at once.
 * The ingest_result given to ingest_done_cb (and its store_batch: ids, seqs) is valid only
 * during the callback; the callback owns `arg` from then on.
 *
 * Registry: when one is configured, each event is checked after normalization against the
 * registry current at ingest_begin (a reload in the middle of a request does not affect it;
 * the reference is dropped at submit/abort). Types registered with a default stream or
 * severity get them when the producer did not give them (the routing key follows the
 * defaulted stream unless given). An unregistered type under policy accept-and-flag is
 * stored with the label unregistered=true. */
#ifndef EVD_SERVER_INGEST_H
#define EVD_SERVER_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/json.h"
#include "server/metrics.h"
#include "store/store.h"

typedef struct server server;
typedef struct ingest_batch ingest_batch; /* events of one request, all-or-nothing */

#define INGEST_MAX_ERRORS 100 /* errors kept per batch (with details); the rest are counted */

/* What kind of problem an event had. */
enum {
  INGEST_ERR_INVALID = 0, /* bad field, missing type, not JSON, not an object */
  INGEST_ERR_TOO_LARGE,   /* over a limit (limits.*) */
  INGEST_ERR_UNREGISTERED,/* type not in the registry, policy reject */
  INGEST_ERR_SCHEMA       /* data does not match the type's schema */
};

/* One refused event. index: position among the request's events (0-based); line: 1-based
 * line for line-oriented inputs (NDJSON), 0 otherwise; field: JSON path of the offending
 * member ("" = the whole event; "data.pdp_start_time"); reason names the rule. */
typedef struct ingest_error {
  size_t index;
  size_t line;
  char field[160];
  char reason[256];
  int kind; /* INGEST_ERR_* */
} ingest_error;

/* The inputs (ingest_input, the `input` label of the ingest metrics) are in metrics.h:
 * INGEST_INPUT_HTTP, INGEST_INPUT_GRPC. */

/* Start a batch for an HTTP request (the input label is http; see ingest_set_input). Takes a
 * reference to the current registry. Loop thread. Returns NULL when out of memory. */
ingest_batch *ingest_begin(server *s);

/* A batch that only checks (POST /v1/registry/validate): ingest_add_* normalize and check
 * as usual but count nothing (neither metrics nor registry counters) and encode nothing.
 * Finish it with ingest_abort (ingest_submit refuses it with -EINVAL). */
ingest_batch *ingest_begin_check(server *s);

/* Events of the batch accepted although their type is not registered (policy accept or
 * accept-and-flag). */
size_t ingest_unregistered_count(const ingest_batch *b);

/* Size hint (added for the ingest CPU work): the request carries about body_bytes of events;
 * the batch reserves room for their records (about twice that) so that it does not grow by
 * copying. Optional; a failure is ignored (the batch then grows as needed). */
void ingest_reserve(ingest_batch *b, size_t body_bytes);

/* Set the input the batch's events are counted under (before the first ingest_add_*). */
void ingest_set_input(ingest_batch *b, ingest_input input);

/* Access control (auth.h; added for issue 7): the identity the batch's events are sent
 * as. ingest_begin takes the server's req_principal (the HTTP request being handled); an
 * input whose events arrive outside that request (gRPC streams) sets its own here. p must
 * stay valid until submit/abort. With a principal, an event without a tenant gets the
 * principal's, and one outside its tenant (subtree), streams or type prefixes is refused
 * (field "tenant", "stream" or "type"). NULL = no checks (auth off). */
struct auth_principal;
void ingest_set_principal(ingest_batch *b, const struct auth_principal *p);

/* Normalize (event_from_json), check against the registry and encode one event given as its
 * parsed JSON object (obj may be of any JSON type: a non-object is an error). raw_len is the
 * event's size as received (checked against limits.event_max_bytes); line is its 1-based
 * line (0 if the input has none). Returns 0 when the event was added; -1 when it was refused
 * (an ingest_error was recorded); -ENOMEM when out of memory (the batch can only be
 * aborted; ingest_submit refuses it). Once the batch has an error, later events are still
 * checked (so that every error is reported) but no longer encoded. */
int ingest_add_json(ingest_batch *b, const json_value *obj, size_t raw_len, size_t line);

/* The same for an input that filled the event struct itself (zeroed, strings set, fields it
 * has no value for left empty): event_finish (defaults, limits) + registry + encode. ev is
 * completed in place (its added strings live until the next ingest_add_* call). Returns as
 * ingest_add_json. */
int ingest_add_event(ingest_batch *b, event *ev);

/* Record an event the input could not even parse (an NDJSON line that is not JSON, a
 * protobuf message with a bad field...): counts it as an event of the request and refuses
 * the batch. kind is INGEST_ERR_*; field may be "". */
void ingest_add_failure(ingest_batch *b, size_t line, int kind, const char *field, const char *reason);

/* Per-item mode (Elasticsearch _bulk, OTLP partialSuccess): a refused event does not refuse
 * the batch. Its error is recorded as usual, later events are still encoded, and
 * ingest_submit stores exactly the events whose ingest_add_* returned 0 (in that order: the
 * k-th of them is store_batch index k); the refused ones are counted as rejected at submit.
 * Call before the first ingest_add_*. (Added for the HTTP-port inputs.) */
void ingest_set_partial(ingest_batch *b);
/* The error of the most recently refused event (kept even past INGEST_MAX_ERRORS), or NULL
 * when no event was refused. Valid until the next ingest_add_* call. */
const ingest_error *ingest_last_error(const ingest_batch *b);

/* Events added so far (valid or not), and how many were refused. */
size_t ingest_count(const ingest_batch *b);
size_t ingest_error_count(const ingest_batch *b);
/* Error i, for i < min(ingest_error_count, INGEST_MAX_ERRORS); NULL otherwise. */
const ingest_error *ingest_error_at(const ingest_batch *b, size_t i);
/* 1 if some error was a size limit (inputs answer 413-like codes with it if they wish). */
int ingest_has_too_large(const ingest_batch *b);
/* 1 if the batch ran out of memory (answer "unavailable", not "invalid"). */
int ingest_out_of_memory(const ingest_batch *b);

typedef struct ingest_result {
  int status;               /* 0 (durable per the sync policy) or -errno: -ENOSPC disk full,
                               -EIO/-EROFS store failed, -ESHUTDOWN */
  const store_batch *batch; /* ids and seqs per event (store_batch_id/seq/duplicate); NULL
                               when the batch was empty */
  size_t accepted;          /* events of the request (duplicates included) when status 0 */
  size_t duplicates;        /* ... of which carried a client id already stored */
} ingest_result;

/* Called on the loop thread once the store has answered; owns arg from then on. */
typedef void (*ingest_done_cb)(void *arg, const ingest_result *r);

/* Hand the batch to the store. Takes b in every case. Returns 0 when queued (cb will be
 * called exactly once, on the loop thread, never from inside this call: an empty batch is
 * answered through the completion list too); otherwise cb is NOT called and the return is
 * -EINVAL (the batch has errors: use ingest_abort instead), -ENOMEM, -EAGAIN (store queue
 * full: retry later), -ESHUTDOWN (the daemon is stopping), -EROFS/-EIO (store failed).
 * Metrics (accepted, duplicates, rejected by reason) are counted here and at completion. */
int ingest_submit(ingest_batch *b, ingest_done_cb cb, void *arg);

/* Drop the batch: nothing of it is stored. Its events are counted as rejected — by the
 * errors' kind (too_large first), as overloaded when out of memory, else as invalid. */
void ingest_abort(ingest_batch *b);

/* Count refusals that never became a batch (a body of the wrong media type, a body that is
 * not JSON, a daemon shutting down): n events of `input` rejected for `reason`. */
void ingest_count_rejected(server *s, ingest_input input, reject_reason reason, size_t n);

/* ---- the server's side (server.c) ---- */

/* The loop side of the completion hand-off: call the done callbacks of every finished
 * append (the server's done_ev callback). */
void ingest_drain_completions(server *s);

#endif
