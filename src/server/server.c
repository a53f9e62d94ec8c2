/* server: lifecycle of the daemon — create (store, libevent, HTTP), run, stop, free.
 *
 * Graceful stop on SIGTERM/SIGINT:
 *   1. stop accepting connections; requests still arriving on open connections get 503;
 *   2. end every live tail;
 *   3. wait until every in-flight append has been answered (at most shutdown_timeout);
 *   4. let the loop flush the answers briefly, then leave it;
 *   5. server_free: free the HTTP server, store_close (commits and fsyncs), free the rest.
 * A second signal during the stop leaves the loop at once (exit status 1). */
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "inputs/inputs.h"
#include "outputs/outputs.h"
#include "server/server.h"

#define FLUSH_GRACE_MS 200 /* time given to the loop to write the last answers */

static void on_done(evutil_socket_t fd, short what, void *arg);
static void finish_stop(server *s);

static void on_done(evutil_socket_t fd, short what, void *arg) {
  server *s = arg;
  ingest_drain_completions(s);
  if (s->stopping && s->inflight == 0) finish_stop(s);
}

static void finish_stop(server *s) {
  if (s->stopping == 2) return;
  s->stopping = 2;
  if (s->stop_timer) event_del(s->stop_timer);
  struct timeval tv = {0, FLUSH_GRACE_MS * 1000};
  event_base_loopexit(s->base, &tv);
}

static void on_stop_timeout(evutil_socket_t fd, short what, void *arg) {
  server *s = arg;
  log_warn(&s->log, "shutdown: %zu appends still in flight after %lld ms; stopping anyway "
           "(they will still be committed, but not answered)",
           s->inflight, (long long)(s->cfg.shutdown_timeout_ns / NS_PER_MS));
  finish_stop(s);
}

/* SIGHUP: reload the registry; a failure keeps the running one (and is logged). */
static void on_sighup(evutil_socket_t sig, short what, void *arg) {
  server *s = arg;
  char err[1024];
  int rc = server_registry_reload(s, err, sizeof err);
  int tls = 0;
  for (size_t i = 0; i < SERVER_TLS_MAX; i++) tls |= s->tls_holders[i] != NULL;
  if (rc == -2 && !tls) log_warn(&s->log, "SIGHUP: %s; nothing to reload", err);
  server_tls_reload(s); /* certificates of the TLS listeners (tls.h); failures logged */
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
  server *s = arg;
  const char *name = sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "signal";
  if (s->stopping) {
    log_warn(&s->log, "%s again: leaving now", name);
    s->exit_code = 1;
    event_base_loopbreak(s->base);
    return;
  }
  s->stopping = 1;
  log_info(&s->log, "%s: stopping (%zu appends in flight, %zu tail clients)", name, s->inflight,
           tail_client_count(s->tail));
  http_api_stop_accepting(s);
  inputs_stop(s->inputs); /* gRPC: GOAWAY; calls in flight are still answered */
  tail_close_all(s->tail);
  if (s->inflight == 0) {
    finish_stop(s);
    return;
  }
  int64_t ns = s->cfg.shutdown_timeout_ns;
  struct timeval tv = {.tv_sec = (time_t)(ns / NS_PER_SEC),
                       .tv_usec = (suseconds_t)(ns % NS_PER_SEC / 1000)};
  event_add(s->stop_timer, &tv);
}

/* The store's one commit hook (writer thread): wake live tails and the output workers. */
static void commit_fanout(void *arg, uint64_t committed_seq) {
  server *s = arg;
  tail_commit_hook(s->tail, committed_seq);
  outputs_notify(__atomic_load_n(&s->outputs, __ATOMIC_ACQUIRE), committed_seq);
}

/* Start the outputs (config-declared and runtime ones). Returns 0 or -1 with err. */
static int server_outputs_start(server *s, char *err, size_t errlen) {
  outputs_options oo;
  outputs_options_default(&oo);
  oo.data_dir = s->cfg.data_dir;
  oo.st = s->st;
  oo.log = &s->log;
  oo.retry_base_ns = s->cfg.outputs_retry_base_ns;
  oo.retry_cap_ns = s->cfg.outputs_retry_cap_ns;
  oo.max_attempts = s->cfg.outputs_max_attempts;
  oo.history_size = s->cfg.outputs_history_size;
  oo.pin_max_bytes = s->cfg.outputs_pin_max_bytes;
  oo.tenant_types = s->cfg.outputs_tenant_types;
  oo.allow_local_targets = s->cfg.outputs_allow_local_targets &&
                           strcmp(s->cfg.outputs_allow_local_targets, "true") == 0;
  const char *own[] = {s->cfg.http_listen, s->cfg.grpc_listen, s->cfg.forward_listen,
                       s->cfg.syslog_listen, s->cfg.lines_listen};
  oo.own_listeners = own; /* resolved by outputs_start; not kept */
  oo.nown_listeners = sizeof own / sizeof own[0];
  output_set *set;
  if (outputs_start(&oo, s->cfg.outputs_declared, s->cfg.outputs_ndeclared, &set, err, errlen) != 0)
    return -1;
  __atomic_store_n(&s->outputs, set, __ATOMIC_RELEASE);
  return 0;
}

int server_new(evd_config *cfg, server **out, char *err, size_t errlen) {
  *out = NULL;
  server *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    config_free(cfg);
    return -1;
  }
  s->cfg = *cfg;
  memset(cfg, 0, sizeof *cfg);
  log_init(&s->log, s->cfg.log_level);
  metrics_init(&s->m);
  pthread_mutex_init(&s->done_mu, NULL);
  /* Parsing a 1000-event NDJSON request of ~350 KB takes ~1.6 MB of arena: one 4 MiB block
   * kept across requests avoids an mmap/munmap pair per request. */
  arena_init(&s->req_arena, 4 * 1024 * 1024);
  buf_init(&s->scratch);
  arena_init(&s->ingest_arena, 64 * 1024);
  buf_init(&s->ingest_enc);
  registry_holder_init(&s->registry, NULL);

  /* Thread-safe libevent (event_active from the store's writer) before any base exists. */
  if (evthread_use_pthreads() != 0) {
    snprintf(err, errlen, "libevent: cannot enable pthreads support");
    goto fail;
  }
  s->base = event_base_new();
  if (!s->base) {
    snprintf(err, errlen, "libevent: cannot create the event loop");
    goto fail;
  }
  s->done_ev = event_new(s->base, -1, 0, on_done, s);
  s->stop_timer = evtimer_new(s->base, on_stop_timeout, s);
  s->sig_term = evsignal_new(s->base, SIGTERM, on_signal, s);
  s->sig_int = evsignal_new(s->base, SIGINT, on_signal, s);
  s->sig_hup = evsignal_new(s->base, SIGHUP, on_sighup, s);
  if (!s->done_ev || !s->stop_timer || !s->sig_term || !s->sig_int || !s->sig_hup ||
      event_add(s->sig_term, NULL) != 0 || event_add(s->sig_int, NULL) != 0 ||
      event_add(s->sig_hup, NULL) != 0) {
    snprintf(err, errlen, "libevent: cannot create events");
    goto fail;
  }

  store_options so;
  config_store_options(&s->cfg, &so);
  so.log = log_store_cb;
  so.log_arg = &s->log;
  char serr[512];
  if (store_open(&so, &s->st, serr, sizeof serr) != 0) {
    snprintf(err, errlen, "%s", serr);
    s->st = NULL;
    goto fail;
  }
  s->tail = tail_hub_new(s);
  if (!s->tail) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  store_set_commit_hook(s->st, commit_fanout, s);
  if (server_auth_start(s, err, errlen) != 0) goto fail; /* access control (http_tokens.c) */
  if (server_outputs_start(s, err, errlen) != 0) goto fail;
  if (lifecycle_start(s, err, errlen) != 0) goto fail; /* periodic purge (http_lifecycle.c) */
  if (http_api_start(s, err, errlen) != 0) goto fail;
  if (inputs_start(s, &s->inputs, err, errlen) != 0) goto fail;
  *out = s;
  return 0;
fail:
  server_free(s);
  return -1;
}

int server_run(server *s) {
  /* Exactly one line, parsed by tests and tools. */
  fprintf(stderr, "eventd: listening on %s\n", s->listen_url);
  fflush(stderr);
  inputs_announce(s->inputs); /* "eventd: grpc listening on HOST:PORT" */
  log_info(&s->log, "eventd %s: data_dir %s, sync %s", EVD_VERSION, s->cfg.data_dir,
           s->cfg.sync == STORE_SYNC_ALWAYS ? "always" : s->cfg.sync == STORE_SYNC_NONE ? "none" : "batch");
  if (event_base_dispatch(s->base) < 0) {
    log_error(&s->log, "event loop failed");
    return 1;
  }
  if (s->stopping && s->exit_code == 0) log_info(&s->log, "stopped accepting; closing the store");
  return s->exit_code;
}

void server_free(server *s) {
  if (!s) return;
  /* Answers that arrived while the loop was winding down. */
  if (s->done_ev) ingest_drain_completions(s);
  if (s->tail) tail_close_all(s->tail);
  if (s->http) {
    /* Frees every connection; close callbacks clear the requests still waiting. */
    evhttp_free(s->http);
    s->http = NULL;
  }
  http_conn_free(s); /* after evhttp_free: drops the connection references (http_conn.c) */
  /* Output workers stop before the store closes (blocked destinations are told, cursors
   * flushed); the set itself is freed after it, since commits still call the hook. */
  outputs_stop(s->outputs);
  if (s->st) {
    store_close(s->st); /* commits what is queued; late callbacks land in the done list */
    s->st = NULL;
  }
  /* Completions that came after the store closed: their inputs are gone (callbacks see
   * that their requests were freed). */
  if (s->done_ev) ingest_drain_completions(s);
  outputs_free(s->outputs);
  s->outputs = NULL;
  /* Inputs last: no ingest completion can reach their calls any more. */
  inputs_free(s->inputs);
  s->inputs = NULL;
  tail_hub_free(s->tail);
  server_auth_free(s); /* after evhttp_free: held 401 answers see their connections close */
  lifecycle_stop(s);
  if (s->done_ev) event_free(s->done_ev);
  if (s->stop_timer) event_free(s->stop_timer);
  if (s->sig_term) event_free(s->sig_term);
  if (s->sig_int) event_free(s->sig_int);
  if (s->sig_hup) event_free(s->sig_hup);
  if (s->base) event_base_free(s->base);
  arena_free(&s->req_arena);
  buf_free(&s->scratch);
  arena_free(&s->ingest_arena);
  buf_free(&s->ingest_enc);
  registry_holder_destroy(&s->registry);
  pthread_mutex_destroy(&s->done_mu);
  config_free(&s->cfg);
  free(s);
}
