/* output: the destination plugin interface of the outputs (issue 4).
 *
 * An output = a destination + a match + a durable cursor on the store. The dispatcher
 * (outputs.c, owner: outputs core) gives each output its own worker thread, which reads
 * matching records from the store after the output's cursor (store_scan_seq), hands them to
 * the destination in store order, and advances the cursor only over what the destination
 * confirmed. Retries (exponential backoff with jitter), dead-lettering, pause/resume, replay,
 * metrics and the metadata database are the dispatcher's job, never a destination's.
 *
 * A destination (webhook, kafka, amqp, file, stdout) is one `output_dest_ops` registered in
 * the table of outputs.c. All of its callbacks run on the output's worker thread, one at a
 * time, so a destination needs no locking of its own; blocking I/O there is fine (with the
 * destination's own timeouts), because it only ever delays its own output.
 *
 * Configuration: an output is described by one JSON object (the body of POST /v1/outputs,
 * or an entry of `outputs:` in the config file converted to the same JSON). The dispatcher
 * reads the common members (name, type, match, filters, retry, paused, batch) and passes the
 * whole object to the destination's `open`, which reads its own members (url, secret,
 * brokers, topic, exchange, path, ...) and refuses unknown or ill-typed ones of its own
 * with a message naming the member. */
#ifndef EVD_OUTPUTS_OUTPUT_H
#define EVD_OUTPUTS_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/record.h"

struct output_guard; /* outputs/netguard.h */

/* One event to deliver: its store seq and its decoded record (rv.json is the canonical
 * event JSON, which is what destinations send unless a compatibility mode says otherwise).
 * Valid only during the deliver call. */
typedef struct output_msg {
  uint64_t seq;
  record_view rv;
} output_msg;

/* The outcome of one deliver call. */
typedef enum output_status {
  OUTPUT_OK = 0,        /* every message confirmed */
  OUTPUT_RETRY,         /* msgs[confirmed] failed in a way worth retrying (timeout, 5xx,
                           connection refused, broker down): retry it after a backoff */
  OUTPUT_REJECTED       /* msgs[confirmed] can never be delivered as is (4xx other than
                           408/429, message too large): dead-letter it at once */
} output_status;

typedef struct output_result {
  output_status status;
  size_t confirmed;     /* leading messages confirmed by the destination (0..n); with
                           OUTPUT_OK it is n */
  int code;             /* protocol status of the last attempt (HTTP status, rd_kafka_resp_err,
                           AMQP reply code), 0 if none */
  char error[256];      /* what went wrong, for logs, status and dead letters ("" when OK) */
} output_result;

/* One delivery attempt, as a destination reports it for the delivery history (webhooks:
 * GET /v1/outputs/{name}/deliveries). */
typedef struct output_attempt {
  uint64_t first_seq, last_seq; /* the messages the attempt carried */
  const char *event_id;         /* id of the first message */
  size_t count;
  int code;                     /* HTTP status (0 = no response) */
  int64_t latency_ns;
  int ok;
  const char *response;         /* the start of the response body, may be NULL */
  size_t response_len;          /* the history keeps at most 512 bytes of it */
  const char *error;            /* curl's message when there was no response, else NULL */
} output_attempt;

/* What the dispatcher lends a destination. */
typedef struct output_env {
  const char *name;             /* the output's name */
  /* Record one delivery attempt in the output's history (may be NULL: no history kept).
   * Thread: the output's worker thread. */
  void (*record_attempt)(void *env_arg, const output_attempt *a);
  void *env_arg;
  /* Log a line with the daemon's logger: level is LOG_* of server/log.h. */
  void (*log)(void *env_arg, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
  /* 1 when the worker should give up waiting (the output is being stopped, paused or
   * deleted): a destination polls it in long waits (broker reconnects, confirms). */
  int (*stopping)(void *env_arg);
  /* The SSRF guard (issue 7; outputs/netguard.h): NULL for root-owned outputs (anything may
   * be reached). Otherwise the destination must check every resolved address with
   * output_guard_check before it connects, fail the attempt (OUTPUT_RETRY) with the guard's
   * message when every address is refused, and never connect to a refused one. */
  const struct output_guard *guard;
} output_env;

typedef struct output_dest_ops {
  const char *type; /* "webhook", "kafka", "amqp", "file", "stdout" */

  /* Check the destination's members of the output's JSON `spec` without connecting
   * (POST /v1/outputs and config loading refuse a bad output with this message). Returns 0
   * or -1 with err naming the member ("url: must be http:// or https://"). */
  int (*check)(const json_value *spec, char *err, size_t errlen);

  /* Create the destination's state from the spec (already checked). May connect lazily in
   * deliver instead: open must not block for long. Returns 0 with *state, or -1 with err. */
  int (*open)(const json_value *spec, const output_env *env, void **state, char *err,
              size_t errlen);

  /* Deliver msgs[0..n) (n >= 1, store order) and wait until the destination confirmed them
   * (HTTP 2xx; Kafka delivery reports with acks=all; AMQP publisher confirms; write+flush
   * for file/stdout) or failed. Fills *res (status, confirmed, code, error). Must not
   * return OUTPUT_OK for a message that was not confirmed. Ordering: message i+1 is never
   * confirmed before message i (a destination that sends a batch confirms its prefix). */
  void (*deliver)(void *state, const output_msg *msgs, size_t n, output_result *res);

  /* Append the destination's members for GET /v1/outputs/{name} as JSON object members
   * (",\"url\":\"...\"" ...), secrets replaced by "***". May be NULL (the dispatcher then
   * shows the spec minus members named secret, password, token). Returns 0 or -1 (OOM). */
  int (*describe)(const json_value *spec, buf *out);

  /* Close connections and free the state (NULL is fine). */
  void (*close)(void *state);

  /* Check what the spec of an output owned by a tenant (g is never NULL here) asks for:
   * target hosts written as literal IP addresses (against g: POST/PUT/PATCH /v1/outputs
   * answer 400 at once instead of failing at connect time; names pass, they are checked when
   * resolved), and members that would use the daemon's host on the tenant's behalf (files
   * to read: ca_file, key files; commands; plugins; fetches that bypass the guard), which
   * such outputs may not set. May be NULL (nothing to check). Returns 0 or -1 with err.
   * (issue 7) */
  int (*check_targets)(const json_value *spec, const struct output_guard *g, char *err,
                       size_t errlen);
} output_dest_ops;

/* The members of an output's spec that the dispatcher reads (name, type, match, type_prefix,
 * min_severity, tenant, labels, retry, paused, batch, start): a destination's check/open
 * skips these and refuses any other member it does not know. Returns 1 for such a key.
 * (Defined in outputs.c; added by outputs-core.) */
int output_common_member(const char *key);

/* The destinations (each in its own file of src/outputs/, owner noted there). */
extern const output_dest_ops output_dest_webhook;
extern const output_dest_ops output_dest_kafka;
extern const output_dest_ops output_dest_amqp;
extern const output_dest_ops output_dest_file;
extern const output_dest_ops output_dest_stdout;

#endif
