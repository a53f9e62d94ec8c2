/* grpc_calls: the gRPC services — what each method does with its request messages.
 *
 *   /magma.orc8r.EventService/LogEvent   one Magma Event -> one stored event; Void
 *   /eventd.v1.Events/Publish            a batch, all-or-nothing; PublishResponse
 *   /eventd.v1.Events/PublishStream      batches as they arrive; PublishResponse at the end
 *   /grpc.health.v1.Health/Check         SERVING, NOT_SERVING while stopping
 *
 * Every event goes through server/ingest.h. A call is answered OK from the ingest
 * completion, i.e. once its events are durable. Status codes (docs/grpc.md):
 * INVALID_ARGUMENT for an invalid event ("Event validation failed, Details: ..." on
 * LogEvent, as Magma's clients expect), RESOURCE_EXHAUSTED over a limit, UNAVAILABLE when
 * the store cannot take the events (queue full, disk full, failed, shutting down). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inputs/grpc/grpc_events.h"
#include "inputs/grpc/grpc_internal.h"
#include "server/ingest.h"
#include "server/server.h"

/* ---- helpers ---------------------------------------------------------------------------- */

/* Pack a response message and answer OK with it. */
static void reply_message(grpc_call *c, const ProtobufCMessage *m) {
  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t *p = malloc(n ? n : 1);
  if (!p) {
    grpc_call_fail(c, GRPC_RESOURCE_EXHAUSTED, "out of memory building the answer");
    return;
  }
  protobuf_c_message_pack(m, p);
  grpc_call_reply(c, p, n);
  free(p);
}

/* Decode a request; on failure answer the call and count the refusal (when the request
 * carries events). magma: LogEvent's wording for an invalid field. */
static ProtobufCMessage *decode_or_fail(grpc_call *c, const ProtobufCMessageDescriptor *desc,
                                        const uint8_t *msg, size_t len, int counts_events,
                                        int magma) {
  grpc_code code;
  char err[256];
  ProtobufCMessage *m = grpc_decode(desc, msg, len, grpc_call_arena(c), &code, err, sizeof err);
  if (!m) {
    if (counts_events)
      ingest_count_rejected(grpc_call_server(c), INGEST_INPUT_GRPC, REJECT_INVALID, 1);
    if (magma && code == GRPC_INVALID_ARGUMENT)
      grpc_call_fail(c, code, "Event validation failed, Details: %s", err);
    else
      grpc_call_fail(c, code, "%s", err);
  }
  return m;
}

/* Answer a batch refused by ingest (it is aborted here). magma: LogEvent's wording. */
static void fail_batch(grpc_call *c, ingest_batch *b, int magma) {
  if (ingest_out_of_memory(b)) {
    ingest_abort(b);
    grpc_call_fail(c, GRPC_UNAVAILABLE, "out of memory while checking the events; retry later");
    return;
  }
  const ingest_error *e = ingest_error_at(b, 0);
  size_t nerr = ingest_error_count(b), n = ingest_count(b);
  grpc_code code = e && e->kind == INGEST_ERR_TOO_LARGE ? GRPC_RESOURCE_EXHAUSTED
                                                        : GRPC_INVALID_ARGUMENT;
  const char *field = e ? e->field : "";
  const char *reason = e ? e->reason : "invalid event";
  if (magma)
    grpc_call_fail(c, code, "Event validation failed, Details: %s%s%s", field,
                   *field ? ": " : "", reason);
  else
    grpc_call_fail(c, code, "%zu of %zu events %s invalid; events[%zu]%s%s: %s", nerr, n,
                   nerr == 1 ? "is" : "are", e ? e->index : 0, *field ? "." : "", field, reason);
  ingest_abort(b);
}

/* Answer a store completion that failed. */
static void fail_status(grpc_call *c, int status) {
  int err = -status;
  if (err == ENOSPC) grpc_call_fail(c, GRPC_UNAVAILABLE, "disk full; retry later");
  else if (err == ESHUTDOWN) grpc_call_fail(c, GRPC_UNAVAILABLE, "shutting down");
  else grpc_call_fail(c, GRPC_UNAVAILABLE, "store unavailable: %s", strerror(err));
}

/* Submit a checked batch; done is called with c (which holds a reference until then).
 * On a refusal the call is answered UNAVAILABLE. Returns 0 or -1. */
static int submit(grpc_call *c, ingest_batch *b, ingest_done_cb done) {
  grpc_call_state *st = grpc_call_state_of(c);
  grpc_call_ref(c);
  st->pending++;
  st->batches++;
  int rc = ingest_submit(b, done, c);
  if (rc == 0) return 0;
  st->pending--;
  st->batches--;
  if (rc == -EAGAIN)
    grpc_call_fail(c, GRPC_UNAVAILABLE, "store queue is full; retry later");
  else if (rc == -ESHUTDOWN)
    grpc_call_fail(c, GRPC_UNAVAILABLE, "shutting down");
  else if (rc == -ENOMEM)
    grpc_call_fail(c, GRPC_UNAVAILABLE, "out of memory; retry later");
  else
    grpc_call_fail(c, GRPC_UNAVAILABLE, "store unavailable: %s", strerror(-rc));
  grpc_call_unref(c);
  return -1;
}

/* ---- access control (auth.h; docs/security.md) ------------------------------------------ */

void grpc_call_authorization(grpc_call *c, const uint8_t *value, size_t len) {
  server *s = grpc_call_server(c);
  grpc_call_state *st = grpc_call_state_of(c);
  if (!s->auth) return;
  st->auth = server_auth_bearer(s, (const char *)value, len, &st->principal) == 0 ? 1 : -1;
}

/* 1 if the call may send events (auth off, or an ingest-capable token); otherwise answers
 * UNAUTHENTICATED or PERMISSION_DENIED and returns 0. */
static int call_may_ingest(grpc_call *c) {
  server *s = grpc_call_server(c);
  grpc_call_state *st = grpc_call_state_of(c);
  /* limits.rate_per_peer: before authentication, as on HTTP (it slows token guessing too) */
  int64_t pwait = server_rate_peer(s, grpc_call_peer_addr(c));
  if (pwait) {
    grpc_call_fail(c, GRPC_RESOURCE_EXHAUSTED,
                   "too many requests (limits.rate_per_peer); retry in %lld ms",
                   (long long)((pwait + 999999) / 1000000));
    return 0;
  }
  if (!s->auth) return 1;
  if (st->auth != 1) {
    grpc_call_fail(c, GRPC_UNAUTHENTICATED,
                   "missing or unknown token: send metadata authorization: Bearer TOKEN");
    return 0;
  }
  if (!auth_allows(&st->principal, AUTH_ACT_INGEST)) {
    grpc_call_fail(c, GRPC_PERMISSION_DENIED, "token '%s' (role %s) may not send events",
                   st->principal.name, auth_role_name(st->principal.role));
    return 0;
  }
  int64_t wait = server_rate_token(s, &st->principal); /* limits.rate_per_token */
  if (wait) {
    grpc_call_fail(c, GRPC_RESOURCE_EXHAUSTED,
                   "too many requests (limits.rate_per_token); retry in %lld ms",
                   (long long)((wait + 999999) / 1000000));
    return 0;
  }
  return 1;
}

/* Start a batch counted under the gRPC input, sent as the call's principal; answers the call
 * when out of memory or not allowed. */
static ingest_batch *begin(grpc_call *c) {
  if (!call_may_ingest(c)) return NULL;
  ingest_batch *b = ingest_begin(grpc_call_server(c));
  if (!b) {
    grpc_call_fail(c, GRPC_UNAVAILABLE, "out of memory; retry later");
    return NULL;
  }
  ingest_set_input(b, INGEST_INPUT_GRPC);
  grpc_call_state *st = grpc_call_state_of(c);
  ingest_set_principal(b, st->auth == 1 ? &st->principal : NULL);
  return b;
}

/* Add one converted event (or its conversion error) to the batch. */
static void add_converted(ingest_batch *b, int conv_rc, event *ev, const evd_field_error *fe) {
  if (conv_rc != 0)
    ingest_add_failure(b, 0, grpc_error_is_limit(fe) ? INGEST_ERR_TOO_LARGE : INGEST_ERR_INVALID,
                       fe->field, fe->reason);
  else
    ingest_add_event(b, ev); /* errors are recorded in the batch */
}

/* ---- magma.orc8r.EventService/LogEvent -------------------------------------------------- */

static void log_event_done(void *arg, const ingest_result *r) {
  grpc_call *c = arg;
  grpc_call_state_of(c)->pending--;
  if (r->status != 0) {
    fail_status(c, r->status);
  } else {
    Magma__Orc8r__Void v = MAGMA__ORC8R__VOID__INIT;
    reply_message(c, &v.base);
  }
  grpc_call_resume(c);
  grpc_call_unref(c);
}

static void log_event(grpc_call *c, const uint8_t *msg, size_t len) {
  server *s = grpc_call_server(c);
  Magma__Orc8r__Event *m =
      (Magma__Orc8r__Event *)decode_or_fail(c, &magma__orc8r__event__descriptor, msg, len, 1, 1);
  if (!m) return;
  ingest_batch *b = begin(c);
  if (!b) return;
  event ev;
  evd_field_error fe;
  int rc = grpc_magma_event(m, &s->cfg.limits, grpc_call_arena(c), &ev, &fe);
  if (rc != 0 && strcmp(fe.field, "type") == 0) snprintf(fe.field, sizeof fe.field, "event_type");
  add_converted(b, rc, &ev, &fe);
  if (ingest_error_count(b) || ingest_out_of_memory(b)) {
    fail_batch(c, b, 1);
    return;
  }
  submit(c, b, log_event_done);
}

/* ---- eventd.v1.Events/Publish ----------------------------------------------------------- */

static void publish_done(void *arg, const ingest_result *r) {
  grpc_call *c = arg;
  grpc_call_state_of(c)->pending--;
  if (r->status != 0) {
    fail_status(c, r->status);
  } else if (grpc_call_live(c)) {
    Eventd__V1__PublishResponse pr = EVENTD__V1__PUBLISH_RESPONSE__INIT;
    pr.accepted = r->accepted;
    pr.duplicates = r->duplicates;
    size_t n = r->batch ? store_batch_count(r->batch) : 0;
    char **ids = n ? malloc(n * sizeof *ids) : NULL;
    if (n && !ids) {
      grpc_call_fail(c, GRPC_RESOURCE_EXHAUSTED, "out of memory building the answer");
    } else {
      for (size_t i = 0; i < n; i++) ids[i] = (char *)store_batch_id(r->batch, i);
      pr.n_ids = n;
      pr.ids = ids;
      reply_message(c, &pr.base);
      free(ids);
    }
  }
  grpc_call_resume(c);
  grpc_call_unref(c);
}

/* Check every event of a PublishRequest into a new batch. Returns the batch ready to
 * submit, or NULL when the call has been answered (invalid events, out of memory). */
static ingest_batch *publish_batch(grpc_call *c, const uint8_t *msg, size_t len) {
  server *s = grpc_call_server(c);
  Eventd__V1__PublishRequest *m = (Eventd__V1__PublishRequest *)decode_or_fail(
      c, &eventd__v1__publish_request__descriptor, msg, len, 1, 0);
  if (!m) return NULL;
  ingest_batch *b = begin(c);
  if (!b) return NULL;
  for (size_t i = 0; i < m->n_events; i++) {
    event ev;
    evd_field_error fe;
    int rc = grpc_native_event(m->events[i], &s->cfg.limits, grpc_call_arena(c), &ev, &fe);
    add_converted(b, rc, &ev, &fe);
    if (ingest_out_of_memory(b)) break;
  }
  if (ingest_error_count(b) || ingest_out_of_memory(b)) {
    fail_batch(c, b, 0);
    return NULL;
  }
  return b;
}

static void publish(grpc_call *c, const uint8_t *msg, size_t len) {
  ingest_batch *b = publish_batch(c, msg, len);
  if (b) submit(c, b, publish_done);
}

/* ---- eventd.v1.Events/PublishStream ----------------------------------------------------- */

static void publish_stream_answer(grpc_call *c) {
  grpc_call_state *st = grpc_call_state_of(c);
  if (!grpc_call_live(c) || !st->half_closed || st->pending) return;
  Eventd__V1__PublishResponse pr = EVENTD__V1__PUBLISH_RESPONSE__INIT;
  pr.accepted = st->accepted;
  pr.duplicates = st->duplicates;
  reply_message(c, &pr.base);
}

static void publish_stream_done(void *arg, const ingest_result *r) {
  grpc_call *c = arg;
  grpc_call_state *st = grpc_call_state_of(c);
  st->pending--;
  if (r->status != 0) {
    fail_status(c, r->status);
  } else {
    st->accepted += r->accepted;
    st->duplicates += r->duplicates;
    publish_stream_answer(c);
  }
  grpc_call_resume(c);
  grpc_call_unref(c);
}

static void publish_stream_message(grpc_call *c, const uint8_t *msg, size_t len) {
  ingest_batch *b = publish_batch(c, msg, len);
  if (b) submit(c, b, publish_stream_done);
}

static void publish_stream_half_close(grpc_call *c) { publish_stream_answer(c); }

/* ---- grpc.health.v1.Health/Check -------------------------------------------------------- */

static void health_check(grpc_call *c, const uint8_t *msg, size_t len) {
  Grpc__Health__V1__HealthCheckRequest *m = (Grpc__Health__V1__HealthCheckRequest *)
      decode_or_fail(c, &grpc__health__v1__health_check_request__descriptor, msg, len, 0, 0);
  if (!m) return;
  const char *svc = m->service ? m->service : "";
  if (*svc && strcmp(svc, "magma.orc8r.EventService") != 0 && strcmp(svc, "eventd.v1.Events") != 0 &&
      strcmp(svc, "grpc.health.v1.Health") != 0) {
    grpc_call_fail(c, GRPC_NOT_FOUND, "unknown service '%.100s'", svc);
    return;
  }
  Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  int stopping = grpc_server_stopping(grpc_call_grpc(c));
  r.status = stopping ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
                      : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
  reply_message(c, &r.base);
}

/* ---- the method table ------------------------------------------------------------------- */

static const grpc_method METHODS[] = {
    {"/magma.orc8r.EventService/LogEvent", 0, log_event, NULL},
    {"/eventd.v1.Events/Publish", 0, publish, NULL},
    {"/eventd.v1.Events/PublishStream", 1, publish_stream_message, publish_stream_half_close},
    {"/grpc.health.v1.Health/Check", 0, health_check, NULL},
};

const grpc_method *grpc_method_find(const char *path, size_t len) {
  for (size_t i = 0; i < sizeof METHODS / sizeof METHODS[0]; i++)
    if (strlen(METHODS[i].path) == len && memcmp(METHODS[i].path, path, len) == 0)
      return &METHODS[i];
  return NULL;
}
