/* server: the daemon's state and the pieces of its HTTP front end.
 *
 * One `server` value holds everything (no globals): configuration, logger, the libevent
 * base and evhttp, the store, metrics, the ingest completion hand-off and the tail hub.
 * All HTTP work runs on the event-loop thread; the store's writer thread only touches the
 * completion list (under done_mu) and the tail hub's committed seq, and wakes the loop with
 * event_active (libevent is put in thread-safe mode with evthread_use_pthreads before the
 * base is created).
 *
 * Modules: server.c (lifecycle, signals, shutdown), ingest.c (the ingest path shared by
 * every input: normalize, registry, encode, completion hand-off), http_api.c (routing,
 * replies, POST /v1/events, healthz), http_query.c (query, count, histogram, get by id), tail.c (SSE live tail),
 * metrics.c (counters and /metrics), query_params.c (query strings, cursors). */
#ifndef EVD_SERVER_SERVER_H
#define EVD_SERVER_SERVER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "server/config.h"
#include "server/log.h"
#include "server/metrics.h"
#include "registry/registry.h"
#include "server/auth.h"
#include "server/ingest.h"
#include "server/query_params.h"
#include "store/store.h"

struct event;
struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_request;

typedef struct tail_hub tail_hub;
struct evd_tls;
#define SERVER_TLS_MAX 8 /* TLS listeners whose certificates SIGHUP reloads */

typedef struct server {
  evd_config cfg;
  logger log;
  struct event_base *base;
  struct evhttp *http;
  struct evhttp_bound_socket *bound;
  char listen_url[300]; /* "http://127.0.0.1:8910" once bound */
  store *st;
  metrics m;

  /* Ingest completions (ingest.c): the writer thread appends under done_mu and activates
   * done_ev. */
  pthread_mutex_t done_mu;
  ingest_batch *done_head, *done_tail;
  struct event *done_ev;
  size_t inflight; /* batches submitted and not answered yet (loop thread) */
  /* Per-event scratch of ingest_add_* (loop thread; reset for every event). */
  arena ingest_arena;
  buf ingest_enc;

  /* The event-type registry (NULL inside when none is configured). */
  registry_holder registry;
  int64_t registry_loaded_ns;      /* when the current one was installed */
  char registry_last_error[1024];  /* why the last reload failed ("" after a success) */

  /* Request scratch, loop thread only: reset after every request. */
  arena req_arena;
  buf scratch;

  tail_hub *tail;

  /* Inputs besides the HTTP API (src/inputs/inputs.h: gRPC, ...). */
  struct input_set *inputs;

  /* Outputs (src/outputs/outputs.h): delivery to webhooks, Kafka, AMQP, files. */
  struct output_set *outputs;

  /* Access control (auth.h; http_tokens.c): NULL when auth.mode is off. req_principal is
   * the identity of the request being handled on the loop thread (NULL when auth is off or
   * outside a request); ingest_begin takes it as the batch's principal. */
  struct http_auth *auth;
  const struct auth_principal *req_principal;

  /* Transport security and hostile input (http_conn.c, tls.h, ratelimit.h): the HTTP
   * connection tracker, and the TLS holders SIGHUP reloads (HTTP's, gRPC's, ...). */
  struct http_conns *conns;
  struct evd_tls *tls_holders[SERVER_TLS_MAX];

  /* Periodic purge (http_lifecycle.c; purge.* settings): NULL when purge is off. */
  struct event *purge_ev;

  /* Shutdown. */
  int stopping;
  struct event *sig_term, *sig_int, *sig_hup, *stop_timer;
  int exit_code;
} server;

/* ---- server.c ---- */

/* Create the server from a configuration (taken over: the server frees it), open the store
 * and bind the HTTP address. Returns 0, or -1 with err (the server is then freed and *out
 * NULL). Prints nothing; server_run prints the listening line. */
int server_new(evd_config *cfg, server **out, char *err, size_t errlen);
/* Print the listening line and run the event loop until SIGTERM/SIGINT has been handled.
 * Returns the process exit status. */
int server_run(server *s);
/* Close the store (commit + fsync) and free everything. */
void server_free(server *s);

/* ---- http_api.c ---- */

/* Create the evhttp, register the router, bind cfg.http_listen. Returns 0 or -1 with err. */
int http_api_start(server *s, char *err, size_t errlen);
/* Stop accepting connections (shutdown step 1). */
void http_api_stop_accepting(server *s);

/* Append the 400 body for a batch with errors ({"error":"2 of 5 events are invalid",
 * "errors":[{index, line?, field, reason}...], "more_errors"?}). Returns 0 or -1 (OOM). */
int http_write_ingest_errors(const ingest_batch *b, buf *out);
/* Reply helpers (all count the request in metrics and set Content-Type). */
void http_reply_buf(server *s, struct evhttp_request *req, route r, int code, const buf *body);
void http_reply_error(server *s, struct evhttp_request *req, route r, int code, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));
/* Copy at most 64 bytes of s[0..n) into out for a message, '?' for anything that is not
 * printable ASCII (or is a quote or backslash), "..." when cut. Returns out. */
const char *http_printable(const char *s, size_t n, char out[80]);
/* The metrics label of a request's method. */
http_method_label http_method_of(struct evhttp_request *req);
/* Reply with whatever the handler put into the request's output buffer (JSON). */
void http_reply_output(server *s, struct evhttp_request *req, route r, int code);

/* 405 with an Allow header. */
void http_method_not_allowed(server *s, struct evhttp_request *req, route r, const char *allow);

/* ---- http_registry.c ---- */

/* Load the registry the configuration names (registry.file, .spec_dirs, .unregistered,
 * .streams). Returns 0 with *out (NULL when none is configured), or -1 with err
 * ("registry: FILE:LINE: reason"). */
int server_registry_load(const evd_config *c, registry **out, char *err, size_t errlen);
/* Install r as the server's registry (taking the caller's reference; NULL = none). */
void server_set_registry(server *s, registry *r);
/* Load the configured registry again and swap it in, carrying its counters. Returns 0; -1
 * with err when the new one does not load (the running one stays; logged and counted); -2
 * when no registry is configured. Loop thread. */
int server_registry_reload(server *s, char *err, size_t errlen);
/* Requests under /v1/registry. */
void http_registry_route(server *s, struct evhttp_request *req, const char *path);

/* ---- http_magma.c ---- */

/* Requests under /magma/v1/events/ (Magma orc8r-compatible queries). */
void http_magma_route(server *s, struct evhttp_request *req, const char *path, const char *query);

/* ---- http_query.c ---- */

void http_query_events(server *s, struct evhttp_request *req, const char *query);
void http_query_count(server *s, struct evhttp_request *req, const char *query);
void http_query_histogram(server *s, struct evhttp_request *req, const char *query);
void http_query_get(server *s, struct evhttp_request *req, const char *raw_id);
/* The query limits from the configuration. */
void http_query_limits(const server *s, qp_limits *ql);
/* http_lifecycle.c: POST /v1/events/{archive,delete,purge} (what = "archive", ...). */
void http_lifecycle_handle(server *s, struct evhttp_request *req, const char *what);
/* Run the purge now (purge.* settings); *deleted gets the number of events deleted. Loop
 * thread; returns once the deletions and their audit event are durable. Returns 0 or
 * -errno (-EIO with *deleted > 0: deleted, but the audit event could not be stored). */
int lifecycle_purge_run(server *s, uint64_t *deleted);
/* Start the periodic purge when any purge.* retention is set (every purge.interval).
 * Returns 0 or -1 with err. lifecycle_stop frees the timer (NULL-safe). */
int lifecycle_start(server *s, char *err, size_t errlen);
void lifecycle_stop(server *s);

/* ---- http_tokens.c (access control; auth.h) ---- */

/* Check the auth configuration (auth.mode, and that with auth off every listener is on
 * loopback unless auth.allow_insecure), open the token database and create the bootstrap
 * token when auth is on. Returns 0 or -1 with err. Before any listener starts. */
int server_auth_start(server *s, char *err, size_t errlen);
void server_auth_free(server *s);
/* Authenticate the request (Authorization: Bearer, or Basic when allow_basic) and check
 * that it may do `act`. Returns 1 with *p filled when it may go on; 0 when it has been
 * answered (401 with WWW-Authenticate, possibly after the brute-force delay, or 403). */
int http_auth_request(server *s, struct evhttp_request *req, route r, auth_action act,
                      int allow_basic, auth_principal *p);
/* Authenticate an `authorization` value ("Bearer TOKEN") outside HTTP (gRPC metadata).
 * Returns 0 with *p, or -1 (counted as a failed authentication). Auth must be on. */
int server_auth_bearer(server *s, const char *value, size_t len, auth_principal *p);
/* The principal of the active token named name (socket inputs: the subject CN of a client
 * certificate). Returns 0 with *p; -1 unknown or revoked; -2 several active tokens share the
 * name; -3 auth is off. */
int server_auth_principal_by_name(server *s, const char *name, auth_principal *p);
/* Narrow a read filter to the request's principal (no-op with auth off). Returns 0, or -1
 * after answering 403 (restrictions that need an explicit stream/type parameter) or 503.
 * a: where to copy strings that must outlive the request (NULL: the request's own). */
int http_auth_restrict(server *s, struct evhttp_request *req, route r, store_filter *f, arena *a);
/* The same for filters answered without an error path (Magma): restrictions that cannot be
 * expressed make the filter match nothing. */
void http_auth_restrict_quiet(const server *s, store_filter *f);
/* 1 if the request's principal may see a stored event (always 1 with auth off). */
int http_auth_visible(const server *s, const record_view *rv);
/* The action and metrics route of a request path (is_post: the method is POST); *basic is
 * set for paths that also take Basic auth (the HTTP-port inputs). */
void http_auth_classify(const char *path, int is_post, auth_action *act, route *r, int *basic);
/* Requests under /v1/tokens. */
void http_tokens_route(server *s, struct evhttp_request *req, const char *path);
/* Append the auth metrics (Prometheus text) to out. Returns 0 or -1 (OOM). */
int http_auth_render_metrics(const server *s, buf *out);

/* ---- http_conn.c (TLS, connection limits, slow clients, rate limits; issue 7) ---- */

/* Set up the HTTP connection layer on s->http (before binding): TLS from http.tls.*, the
 * connection tracker (http.max_connections, http.header_timeout, http.body_timeout) and the
 * rate limiters. Returns 0 or -1 with err (e.g. a certificate that cannot be used). */
int http_conn_setup(server *s, char *err, size_t errlen);
/* 1 if the HTTP API speaks TLS. */
int http_conn_is_tls(const server *s);
/* At the start of every request: the request is fully in (stops its slow-client clock),
 * then limits.rate_per_peer. Returns 1 to go on, 0 when answered (429). */
int http_conn_on_request(server *s, struct evhttp_request *req, route r);
/* limits.rate_per_token for an authenticated request. Returns 1 to go on, 0 when answered. */
int http_conn_rate_token(server *s, struct evhttp_request *req, route r,
                         const auth_principal *p);
/* limits.rate_per_token for any input (gRPC calls too): take one request from p's bucket.
 * Returns 0 when it may go on, else the ns until it may retry (counted). Loop thread. */
int64_t server_rate_token(server *s, const auth_principal *p);
/* limits.rate_per_peer for any input with requests (gRPC calls too; the HTTP API checks it
 * in http_conn_on_request): take one request from addr's bucket, shared with HTTP. Returns 0
 * when it may go on (or the limit is off), else the ns until it may retry (counted). Loop
 * thread. */
int64_t server_rate_peer(server *s, const char *addr);
/* Append the connection metrics (Prometheus text). Returns 0 or -1 (OOM). */
int http_conn_render_metrics(const server *s, buf *out);
/* After evhttp_free. */
void http_conn_free(server *s);
/* TLS holders reloaded by SIGHUP (at most SERVER_TLS_MAX; not owned). */
void server_tls_register(server *s, struct evd_tls *t);
void server_tls_unregister(server *s, struct evd_tls *t);
/* Reload every registered certificate (logged). Returns how many failed. */
int server_tls_reload(server *s);

/* ---- tail.c ---- */

tail_hub *tail_hub_new(server *s);
void tail_hub_free(tail_hub *h);
/* Store commit hook (writer thread): remember the seq and wake the loop. */
void tail_commit_hook(void *hub, uint64_t committed_seq);
void tail_handle(server *s, struct evhttp_request *req, const char *query);
/* End every tail stream (shutdown). */
void tail_close_all(tail_hub *h);
size_t tail_client_count(const tail_hub *h);

#endif
