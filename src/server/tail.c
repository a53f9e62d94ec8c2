/* tail: GET /v1/tail, live tail as server-sent events (docs/api.md).
 *
 * Each client follows the store by sequence number. The store's commit hook (writer thread)
 * records the committed seq and activates one hub event; on the loop every client that is
 * not paused continues with store_scan_seq from its last seq, at most TAIL_BATCH records
 * per turn (then it yields with its own event so one client cannot starve the loop).
 *
 * A client that starts with since= first reads the matching history in time order with
 * store_query up to the seq that was committed when it connected, then switches to live.
 * A client resuming with Last-Event-ID starts live right after that event's seq.
 *
 * Back-pressure: when the connection's unsent output exceeds tail.buffer_max_bytes the
 * client is paused; evhttp's write-done callback resumes it. Nothing is buffered without
 * bound and nothing is dropped: a paused client simply reads further behind in the store.
 *
 * Disconnects: evhttp does not read from a connection while it answers a request, so a
 * client that goes away would only be noticed at the next write. A read watch on the
 * socket (EOF via MSG_PEEK) notices it at once and ends the stream. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/timeutil.h"
#include "server/server.h"

#define TAIL_BATCH 1000              /* records per client per turn */
#define TAIL_TURN_BYTES (256 * 1024) /* ... or this many bytes */

typedef struct tail_client tail_client;

struct tail_hub {
  server *s;
  tail_client *head;
  size_t nclients;
  uint64_t committed;      /* written by the commit hook (atomic) */
  int has_clients;         /* read by the commit hook (atomic) */
  struct event *commit_ev; /* activated by the commit hook */
  struct event *keepalive_ev;
};

struct tail_client {
  tail_hub *hub;
  tail_client *prev, *next;
  struct evhttp_request *req;
  struct evhttp_connection *conn;
  arena arena;          /* the filter's strings */
  query_params qp;
  int catching_up;      /* reading history (since=) before going live */
  store_pos history_after;
  int history_has_after;
  uint64_t history_until_seq;
  uint64_t last_seq;    /* live: everything up to here has been examined */
  int paused;           /* waiting for the connection's output to drain */
  struct event *turn_ev;  /* continue pumping on the next loop turn */
  struct event *eof_ev;   /* read watch for the client going away */
  int64_t last_write_ns;
};

size_t tail_client_count(const tail_hub *h) { return h ? h->nclients : 0; }

/* ---- ending a stream ------------------------------------------------------------------ */

static void client_unlink_free(tail_client *c) {
  tail_hub *h = c->hub;
  if (c->prev) c->prev->next = c->next;
  else h->head = c->next;
  if (c->next) c->next->prev = c->prev;
  h->nclients--;
  __atomic_store_n(&h->has_clients, h->nclients > 0, __ATOMIC_RELAXED);
  if (c->turn_ev) event_free(c->turn_ev);
  if (c->eof_ev) event_free(c->eof_ev);
  arena_free(&c->arena);
  free(c);
}

/* End the stream from our side: finish the chunked reply and free the client. */
static void client_end(tail_client *c) {
  if (c->req) {
    evhttp_connection_set_closecb(c->conn, NULL, NULL);
    evhttp_send_reply_end(c->req);
    c->req = NULL;
  }
  client_unlink_free(c);
}

/* The connection is being freed by evhttp. If evhttp detached our request we free it;
 * otherwise evhttp frees it right after this callback. */
static void on_client_conn_close(struct evhttp_connection *conn, void *arg) {
  tail_client *c = arg;
  if (c->req && evhttp_request_get_connection(c->req) == NULL) evhttp_request_free(c->req);
  c->req = NULL;
  log_debug(&c->hub->s->log, "tail: client disconnected");
  client_unlink_free(c);
}

static void on_client_readable(evutil_socket_t fd, short what, void *arg) {
  tail_client *c = arg;
  char ch;
  ssize_t n = recv(fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    log_debug(&c->hub->s->log, "tail: client closed the connection");
    client_end(c);
    return;
  }
  if (n > 0) event_del(c->eof_ev); /* the client sent data: stop watching, writes will tell */
}

/* ---- pumping events --------------------------------------------------------------------- */

typedef struct frame_ctx {
  tail_client *c;
  struct evbuffer *out;
  size_t n;
  size_t bytes;
  int skipping;        /* history: records past skip_above come through the live phase */
  uint64_t skip_above;
  store_pos last;
  int have_last;
} frame_ctx;

static int on_tail_record(void *arg, uint64_t seq, const record_view *rv) {
  frame_ctx *f = arg;
  f->last.time_ns = rv->time_ns;
  f->last.seq = seq;
  f->have_last = 1;
  if (f->skipping && seq > f->skip_above) return 0;
  evbuffer_add(f->out, "id: ", 4);
  evbuffer_add(f->out, rv->id.p, rv->id.n);
  evbuffer_add(f->out, "\nevent: event\ndata: ", 20);
  evbuffer_add(f->out, rv->json.p, rv->json.n);
  evbuffer_add(f->out, "\n\n", 2);
  f->n++;
  f->bytes += rv->json.n + rv->id.n + 30;
  return f->bytes >= TAIL_TURN_BYTES ? 1 : 0;
}

static size_t output_pending(tail_client *c) {
  struct bufferevent *bev = evhttp_connection_get_bufferevent(c->conn);
  return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

static void on_client_drained(struct evhttp_connection *conn, void *arg);

/* Send what was framed; pause the client when its connection is backed up. */
static void client_send(tail_client *c, struct evbuffer *chunk) {
  server *s = c->hub->s;
  if (evbuffer_get_length(chunk) == 0) return;
  evhttp_send_reply_chunk_with_cb(c->req, chunk, on_client_drained, c);
  c->last_write_ns = time_mono_ns();
  size_t pending = output_pending(c);
  if (pending > s->cfg.tail_buffer_max_bytes) {
    c->paused = 1;
    log_debug(&s->log, "tail: client paused with %zu bytes unsent (seq %llu)", pending,
              (unsigned long long)c->last_seq);
  }
}

/* One turn for one client: read what is new (bounded), send it, and decide whether to
 * continue next turn. Returns -1 if the client was freed. */
static int client_pump(tail_client *c) {
  server *s = c->hub->s;
  if (c->paused || !c->req) return 0;
  struct evbuffer *chunk = evbuffer_new();
  if (!chunk) return 0;
  frame_ctx f = {.c = c, .out = chunk};
  int again = 0, rc = 0;
  if (c->catching_up) {
    store_filter flt = c->qp.filter;
    store_pos last;
    int more = 0;
    f.skipping = 1;
    f.skip_above = c->history_until_seq;
    rc = store_query(s->st, &flt, 0, TAIL_BATCH, c->history_has_after ? &c->history_after : NULL,
                     on_tail_record, &f, &last, &more);
    if (rc == 0) {
      if (f.have_last) {
        c->history_after = f.last;
        c->history_has_after = 1;
      }
      if (more || f.bytes >= TAIL_TURN_BYTES) {
        again = 1; /* more history (the byte bound may have stopped this turn) */
      } else {
        c->catching_up = 0; /* history done: live from the seq committed at connect */
        c->last_seq = c->history_until_seq;
        again = 1;
      }
    }
  } else {
    uint64_t last = c->last_seq;
    rc = store_scan_seq(s->st, &c->qp.filter, c->last_seq, TAIL_BATCH, on_tail_record, &f, &last);
    if (rc == 0) {
      /* Stopped early by the byte bound: continue after the last record delivered. */
      if (f.bytes >= TAIL_TURN_BYTES && f.have_last) last = f.last.seq;
      if (last > c->last_seq) c->last_seq = last;
      again = c->last_seq < __atomic_load_n(&c->hub->committed, __ATOMIC_ACQUIRE);
    }
  }
  if (rc != 0) {
    log_error(&s->log, "tail: store read failed: %s; ending the stream", strerror(-rc));
    evbuffer_free(chunk);
    client_end(c);
    return -1;
  }
  METRIC_ADD(s->m.tail_events_sent, f.n);
  client_send(c, chunk);
  evbuffer_free(chunk);
  if (again && !c->paused) event_active(c->turn_ev, EV_READ, 0);
  return 0;
}

static void on_client_turn(evutil_socket_t fd, short what, void *arg) { client_pump(arg); }

static void on_client_drained(struct evhttp_connection *conn, void *arg) {
  tail_client *c = arg;
  if (c->paused) {
    c->paused = 0;
    log_debug(&c->hub->s->log, "tail: client drained, resuming at seq %llu",
              (unsigned long long)c->last_seq);
    client_pump(c);
  }
}

/* Commit hook on the loop side: every live client continues. */
static void on_commit(evutil_socket_t fd, short what, void *arg) {
  tail_hub *h = arg;
  tail_client *c = h->head;
  while (c) {
    tail_client *next = c->next; /* c may be freed by its pump */
    if (!c->catching_up) client_pump(c);
    c = next;
  }
}

void tail_commit_hook(void *hub, uint64_t committed_seq) {
  tail_hub *h = hub;
  __atomic_store_n(&h->committed, committed_seq, __ATOMIC_RELEASE);
  if (__atomic_load_n(&h->has_clients, __ATOMIC_RELAXED)) event_active(h->commit_ev, EV_READ, 0);
}

static void on_keepalive_tick(evutil_socket_t fd, short what, void *arg) {
  tail_hub *h = arg;
  int64_t now = time_mono_ns();
  int64_t every = h->s->cfg.tail_keepalive_ns;
  for (tail_client *c = h->head; c; c = c->next) {
    if (c->paused || !c->req || now - c->last_write_ns < every - every / 10) continue;
    struct evbuffer *b = evbuffer_new();
    if (!b) continue;
    evbuffer_add(b, ": keepalive\n\n", 13);
    client_send(c, b);
    evbuffer_free(b);
  }
}

/* ---- the handler ------------------------------------------------------------------------ */

void tail_handle(server *s, struct evhttp_request *req, const char *query) {
  tail_hub *h = s->tail;
  if (s->stopping) {
    http_reply_error(s, req, ROUTE_TAIL, 503, "shutting down");
    return;
  }
  if (h->nclients >= s->cfg.tail_max_clients) {
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "5");
    http_reply_error(s, req, ROUTE_TAIL, 503, "too many live-tail clients (tail.max_clients = %llu)",
                     (unsigned long long)s->cfg.tail_max_clients);
    return;
  }
  tail_client *c = calloc(1, sizeof *c);
  if (!c) {
    http_reply_error(s, req, ROUTE_TAIL, 503, "out of memory");
    return;
  }
  c->hub = h;
  arena_init(&c->arena, 4096);
  qp_limits ql;
  http_query_limits(s, &ql);
  char err[512];
  if (query_params_parse(query, query ? strlen(query) : 0, QP_TAIL, &ql, time_now_ns(), &c->arena,
                         &c->qp, err, sizeof err) != 0) {
    http_reply_error(s, req, ROUTE_TAIL, 400, "%s", err);
    goto fail;
  }
  /* Access control: only the caller's tenants, copied into the client's arena. */
  if (http_auth_restrict(s, req, ROUTE_TAIL, &c->qp.filter, &c->arena) != 0) goto fail;
  /* Where to start: Last-Event-ID (header, else parameter), else since=, else now. */
  const char *leid = evhttp_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID");
  size_t leid_len = leid ? strlen(leid) : 0;
  if (!leid || !leid_len) {
    leid = c->qp.last_event_id;
    leid_len = c->qp.last_event_id_len;
  }
  uint64_t committed = store_committed_seq(s->st);
  if (leid && leid_len) {
    uint64_t seq;
    int rc = store_seq_of_id(s->st, leid, leid_len, &seq);
    if (rc != 0) {
      char shown[80];
      http_printable(leid, leid_len, shown);
      if (rc == -ENOENT)
        http_reply_error(s, req, ROUTE_TAIL, 400,
                         "Last-Event-ID '%s' is not in the store (never stored, or dropped by "
                         "retention)", shown);
      else
        http_reply_error(s, req, ROUTE_TAIL, 500, "store read failed: %s", strerror(-rc));
      goto fail;
    }
    c->last_seq = seq;
  } else if (c->qp.has_since) {
    c->catching_up = 1;
    c->history_until_seq = committed;
    c->last_seq = committed;
  } else {
    c->last_seq = committed;
  }

  struct evhttp_connection *conn = evhttp_request_get_connection(req);
  struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
  c->req = req;
  c->conn = conn;
  c->turn_ev = event_new(s->base, -1, 0, on_client_turn, c);
  if (bev && bufferevent_getfd(bev) >= 0)
    c->eof_ev = event_new(s->base, bufferevent_getfd(bev), EV_READ | EV_PERSIST, on_client_readable, c);
  if (!c->turn_ev || (bev && !c->eof_ev)) {
    c->req = NULL;
    if (c->turn_ev) event_free(c->turn_ev);
    if (c->eof_ev) event_free(c->eof_ev);
    c->turn_ev = c->eof_ev = NULL;
    http_reply_error(s, req, ROUTE_TAIL, 503, "out of memory");
    goto fail;
  }
  /* Link in. */
  c->next = h->head;
  if (h->head) h->head->prev = c;
  h->head = c;
  h->nclients++;
  __atomic_store_n(&h->has_clients, 1, __ATOMIC_RELAXED);
  if (__atomic_load_n(&h->committed, __ATOMIC_ACQUIRE) < committed)
    __atomic_store_n(&h->committed, committed, __ATOMIC_RELEASE);

  struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
  evhttp_add_header(oh, "Content-Type", "text/event-stream");
  evhttp_add_header(oh, "Cache-Control", "no-cache");
  evhttp_add_header(oh, "X-Accel-Buffering", "no");
  metrics_count_request(&s->m, ROUTE_TAIL, METHOD_GET, 200);
  evhttp_send_reply_start(req, 200, "OK");
  evhttp_connection_set_closecb(conn, on_client_conn_close, c);
  if (c->eof_ev) event_add(c->eof_ev, NULL);
  c->last_write_ns = time_mono_ns();
  log_debug(&s->log, "tail: client connected (from seq %llu%s)", (unsigned long long)c->last_seq,
            c->catching_up ? ", history first" : "");
  client_pump(c);
  return;
fail:
  arena_free(&c->arena);
  free(c);
}

/* ---- hub ------------------------------------------------------------------------------- */

tail_hub *tail_hub_new(server *s) {
  tail_hub *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  h->s = s;
  h->committed = store_committed_seq(s->st);
  h->commit_ev = event_new(s->base, -1, 0, on_commit, h);
  h->keepalive_ev = event_new(s->base, -1, EV_PERSIST, on_keepalive_tick, h);
  if (!h->commit_ev || !h->keepalive_ev) {
    tail_hub_free(h);
    return NULL;
  }
  int64_t tick = s->cfg.tail_keepalive_ns < NS_PER_SEC ? s->cfg.tail_keepalive_ns : NS_PER_SEC;
  struct timeval tv = {.tv_sec = (time_t)(tick / NS_PER_SEC),
                       .tv_usec = (suseconds_t)(tick % NS_PER_SEC / 1000)};
  event_add(h->keepalive_ev, &tv);
  return h;
}

void tail_close_all(tail_hub *h) {
  if (!h) return;
  while (h->head) client_end(h->head);
}

void tail_hub_free(tail_hub *h) {
  if (!h) return;
  tail_close_all(h);
  if (h->commit_ev) event_free(h->commit_ev);
  if (h->keepalive_ev) event_free(h->keepalive_ev);
  free(h);
}
