/* forward: the Fluentd Forward Protocol input (see forward.h; wire format in
 * forward_decode.h; handshake in forward_auth.c).
 *
 * A connection is a bufferevent on the loop. Its input buffer is parsed one complete
 * msgpack object at a time (fwd_next_frame, on a linearized view of the buffer); a message
 * becomes one ingest batch, and the message's bytes leave the buffer only once the batch has
 * been handed to the store. Backpressure, instead of dropping:
 *   - at most FWD_MAX_PENDING batches per connection wait for the store: then reading stops
 *     (bufferevent_disable EV_READ) until an ingest completion arrives;
 *   - when the store refuses a batch for now (queue full, out of memory), the message stays
 *     in the buffer, reading stops and the message is tried again after FWD_RETRY_MS.
 * Acks: {"ack": chunk} is written from the ingest completion, in store order.
 * Invalid events (forward.on_invalid): skip (default) stores the message's valid events,
 * acks, and logs and counts the invalid ones (they would fail the same way on every retry);
 * refuse stores nothing, does not ack, and closes the connection so the sender retries.
 *
 * Lifetime: a connection is reference counted (the open socket holds one reference, each
 * batch in flight one), so a completion that arrives after the peer went away finds valid
 * memory and only skips the ack.
 *
 * Access and limits (sock_guard.h; issue 7): forward.allow at accept; with auth on every
 * batch is sent as the connection's principal (the listener's forward.tenant, a forward
 * user's tenant, or the token named by the client certificate's CN); a message is paid for
 * from limits.socket_rate_per_peer before it is stored (MSG_RATE: reading pauses until the
 * budget allows); a sweep timer closes connections idle or stuck inside a message. */
#include "inputs/forward/forward.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "inputs/forward/forward_auth.h"
#include "inputs/forward/forward_decode.h"
#include "inputs/lines/sock_listen.h"
#include "inputs/sock_guard.h"
#include "server/ingest.h"
#include "server/server.h"
#include "server/tls.h"

#define FWD_MAX_PENDING 8 /* batches per connection waiting for the store */
#define FWD_RETRY_MS 20   /* retry of a message the store could not take yet */
#define FWD_READ_CHUNK (256 * 1024) /* bytes read per callback; first parse window */
#define FWD_CLOSE_GRACE_NS (10 * 1000000000LL) /* closing: acks not taken by then are dropped */

typedef struct fwd_conn fwd_conn;

typedef struct fwd_server {
  server *s;
  struct evconnlistener *lis;
  char addr[300];
  size_t max_message;
  uint64_t max_conns;
  fwd_mapping map;
  int refuse_invalid;
  int chunk_ids;         /* forward.chunk_ids */
  fwd_auth auth;         /* shared key / users (auth.enabled = 0: no handshake) */
  sock_tls_ctx *tls;
  fwd_conn *conns;
  size_t nconns;
  arena scratch;         /* one record at a time */
  buf dbuf;              /* decompressed entries of the current message */
  int stopping;
  sock_guard *guard;     /* tenant, allow list, identity, rate limit, deadlines */
} fwd_server;

struct fwd_conn {
  fwd_server *g;
  fwd_conn *prev, *next;
  struct bufferevent *bev;
  struct event *retry;
  char peer[64];
  int refs;
  int closed;
  int awaiting_ping;     /* handshake: HELO sent, PING not yet verified */
  int eof;               /* the peer finished sending */
  int paused;            /* reading disabled (backpressure) */
  int closing;           /* close once the output is written */
  size_t pending;        /* batches waiting for the store */
  size_t need;           /* bytes needed before the next parse attempt (0: any) */
  fwd_handshake hs;      /* nonce and auth salt sent in HELO */
  int64_t closing_since; /* when closing was set (a peer that reads nothing is cut later) */
  char addr[SOCK_ADDR_MAX]; /* client address without port (rate limit key) */
  sock_clock clk;        /* idle and frame deadlines */
  size_t frames;         /* objects consumed (frame clock progress) */
  int tls_done;          /* TLS: handshake finished (and identity checked) */
  int rate_waiting;      /* paused by limits.socket_rate_per_peer: the retry timer resumes */
  size_t rate_paid;      /* events of the head message already taken from the budget */
  int64_t rate_wait;     /* set by handle_message with MSG_RATE */
  const auth_principal *principal; /* the events' identity (NULL: auth off) */
  auth_principal own;    /* the certificate's token, or the forward user's tenant */
};

typedef struct fwd_pending {
  fwd_conn *c;
  int has_chunk;
  size_t chunk_len;
  char chunk[];
} fwd_pending;

static void conn_process(fwd_conn *c);

/* ---- connection lifetime ------------------------------------------------------------------ */

static void conn_unref(fwd_conn *c) {
  if (--c->refs > 0) return;
  free(c);
}

/* Close the socket and take the connection off the server (memory lives on while batches
 * are in flight). */
static void conn_close(fwd_conn *c) {
  if (c->closed) return;
  fwd_server *g = c->g;
  c->closed = 1;
  if (c->prev) c->prev->next = c->next;
  else g->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  g->nconns--;
  METRIC_SUB(g->s->m.input_connections_open[INGEST_INPUT_FORWARD], 1);
  if (c->bev) bufferevent_free(c->bev);
  c->bev = NULL;
  if (c->retry) event_free(c->retry);
  c->retry = NULL;
  conn_unref(c);
}

/* Close once what is queued for the peer has been written. */
static void conn_close_after_flush(fwd_conn *c) {
  if (c->closed) return;
  if (!c->closing) c->closing_since = time_mono_ns();
  c->closing = 1;
  bufferevent_disable(c->bev, EV_READ);
  if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) conn_close(c);
}

static void conn_pause(fwd_conn *c) {
  if (c->paused || c->closed) return;
  c->paused = 1;
  bufferevent_disable(c->bev, EV_READ);
}

static void conn_resume(fwd_conn *c) {
  if (!c->paused || c->closed || c->closing || c->eof) return;
  c->paused = 0;
  bufferevent_enable(c->bev, EV_READ);
}

/* Give up on the connection's input (a protocol error, a refused message): drop what is
 * buffered, read nothing more, and close once the acks of the batches already with the
 * store have been written. */
static void conn_fail(fwd_conn *c) {
  if (c->closed) return;
  struct evbuffer *in = bufferevent_get_input(c->bev);
  evbuffer_drain(in, evbuffer_get_length(in));
  c->eof = 1;
  bufferevent_disable(c->bev, EV_READ);
  if (c->pending == 0) conn_close_after_flush(c);
}

/* ---- messages ---------------------------------------------------------------------------- */

static void on_done(void *arg, const ingest_result *r) {
  fwd_pending *pd = arg;
  fwd_conn *c = pd->c;
  c->pending--;
  if (!c->closed) {
    if (r->status != 0) {
      log_warn(&c->g->s->log, "forward: %s: events not stored (%s); not acknowledged", c->peer,
               strerror(-r->status));
    } else if (pd->has_chunk) {
      buf ack = BUF_INIT;
      if (fwd_write_ack(&ack, pd->chunk, pd->chunk_len) != 0 ||
          bufferevent_write(c->bev, ack.data, ack.len) != 0)
        log_error(&c->g->s->log, "forward: %s: out of memory writing an ack", c->peer);
      buf_free(&ack);
    }
    if (c->g->stopping && c->pending == 0) conn_close_after_flush(c);
    else conn_process(c); /* after EOF: the rest of the buffer, then close */
  }
  free(pd);
  conn_unref(c);
}

/* Log the refused events of a batch (before submit: the errors are dropped there). */
static void log_refused(fwd_conn *c, ingest_batch *b, const fwd_message *m, size_t n, int refused) {
  const ingest_error *e = ingest_error_at(b, 0);
  size_t nerr = ingest_error_count(b);
  log_warn(&c->g->s->log, "forward: %s: tag %.*s: %zu of %zu events invalid (%s); first: events[%zu]%s%s: %s",
           c->peer, (int)(m->tag_len > 128 ? 128 : m->tag_len), m->tag, nerr, n,
           refused ? "message refused, not acknowledged" : "skipped, the valid ones stored",
           e ? e->index : 0, e && e->field[0] ? "." : "", e ? e->field : "", e ? e->reason : "?");
}

enum { MSG_DONE = 0, MSG_RETRY = 1, MSG_CLOSE = -1, MSG_RATE = 2 };

/* Events in message m (entries bytes[0..len)): counted without decoding the records; a
 * malformed entry ends the count (the real pass reports it). */
static size_t count_entries(const fwd_message *m, const uint8_t *bytes, size_t len) {
  if (m->mode == FWD_MESSAGE) return 1;
  if (m->mode == FWD_FORWARD) return m->n_entries;
  fwd_entries it;
  fwd_entries_init(&it, m, bytes, len);
  size_t n = 0;
  int64_t t;
  const uint8_t *rec;
  size_t rl;
  char err[8];
  while (fwd_entries_next(&it, &t, &rec, &rl, err, sizeof err) == 1) n++;
  return n;
}

/* Ingest one message. Returns MSG_DONE (handed to the store, or refused for good: drop its
 * bytes), MSG_RETRY (the store cannot take it now: keep it and retry), MSG_RATE (the peer's
 * limits.socket_rate_per_peer budget does not cover it yet: keep it, retry after
 * c->rate_wait ns) or MSG_CLOSE. */
static int handle_message(fwd_conn *c, const fwd_message *m) {
  fwd_server *g = c->g;
  server *s = g->s;
  char err[256];
  const uint8_t *bytes = m->entries;
  size_t blen = m->entries_len;
  if (m->mode == FWD_COMPRESSED) {
    if (fwd_decompress(m->compression, m->entries, m->entries_len, g->max_message, &g->dbuf, err,
                       sizeof err) != 0) {
      log_warn(&s->log, "forward: %s: %s; closing the connection", c->peer, err);
      ingest_count_rejected(s, INGEST_INPUT_FORWARD,
                            strstr(err, "larger") ? REJECT_TOO_LARGE : REJECT_INVALID, 1);
      return MSG_CLOSE;
    }
    bytes = (const uint8_t *)g->dbuf.data;
    blen = g->dbuf.len;
  }
  if (sock_guard_rate_on(g->guard)) { /* pay for every event before the batch (the ack follows) */
    size_t want = count_entries(m, bytes, blen);
    while (c->rate_paid < want) {
      int64_t w = sock_guard_take(g->guard, c->addr, time_mono_ns());
      if (w > 0) {
        c->rate_wait = w;
        return MSG_RATE;
      }
      c->rate_paid++;
    }
  }
  ingest_batch *b = ingest_begin(s);
  if (!b) return MSG_RETRY;
  ingest_set_input(b, INGEST_INPUT_FORWARD);
  ingest_set_principal(b, c->principal);
  if (!g->refuse_invalid) ingest_set_partial(b);
  /* Idempotent retries: with forward.chunk_ids, the events of a message with a chunk id get
   * ids "CHUNK:INDEX" (unless the record gives one), so a chunk resent after a lost ack is
   * stored once (the store deduplicates client ids). */
  int chunk_ids = g->chunk_ids && m->chunk && m->chunk_len > 0 && m->chunk_len <= 200;
  for (size_t i = 0; chunk_ids && i < m->chunk_len; i++)
    if ((unsigned char)m->chunk[i] <= ' ' || (unsigned char)m->chunk[i] >= 0x7f) chunk_ids = 0;
  fwd_entries it;
  fwd_entries_init(&it, m, bytes, blen);
  size_t n = 0;
  for (;;) {
    int64_t t;
    const uint8_t *rec;
    size_t rl;
    int r = fwd_entries_next(&it, &t, &rec, &rl, err, sizeof err);
    if (r == 0) break;
    if (r < 0) {
      log_warn(&s->log, "forward: %s: entry %zu: %s; closing the connection", c->peer, n, err);
      ingest_abort(b);
      return MSG_CLOSE;
    }
    n++;
    arena_reset(&g->scratch);
    event ev;
    evd_field_error fe;
    if (fwd_record_to_event(&g->map, m->tag, m->tag_len, t, rec, rl, &s->cfg.limits, &g->scratch,
                            &ev, &fe) != 0) {
      if (fe.kind == EVD_ERR_NOMEM) {
        ingest_abort(b);
        return MSG_RETRY;
      }
      ingest_add_failure(b, 0, fe.kind == EVD_ERR_LIMIT ? INGEST_ERR_TOO_LARGE : INGEST_ERR_INVALID,
                         fe.field, fe.reason);
    } else {
      if (chunk_ids && ev.id.n == 0) {
        char *id = arena_alloc(&g->scratch, m->chunk_len + 24);
        if (!id) {
          ingest_abort(b);
          return MSG_RETRY;
        }
        int k = snprintf(id, m->chunk_len + 24, "%.*s:%zu", (int)m->chunk_len, m->chunk, n - 1);
        ev.id = (strv){id, (size_t)k};
      }
      if (ingest_add_event(b, &ev) == -ENOMEM) {
        ingest_abort(b);
        return MSG_RETRY;
      }
    }
  }
  if (m->has_size && m->size != n) {
    log_warn(&s->log, "forward: %s: option size says %llu events, the message has %zu; closing",
             c->peer, (unsigned long long)m->size, n);
    ingest_abort(b);
    return MSG_CLOSE;
  }
  if (ingest_error_count(b)) {
    log_refused(c, b, m, n, g->refuse_invalid);
    if (g->refuse_invalid) {
      ingest_abort(b);
      return MSG_CLOSE;
    }
  }
  fwd_pending *pd = malloc(sizeof *pd + m->chunk_len);
  if (!pd) {
    ingest_abort(b);
    return MSG_RETRY;
  }
  pd->c = c;
  pd->has_chunk = m->chunk != NULL;
  pd->chunk_len = m->chunk_len;
  if (m->chunk_len) memcpy(pd->chunk, m->chunk, m->chunk_len);
  c->refs++;
  c->pending++;
  int rc = ingest_submit(b, on_done, pd);
  if (rc == 0) return MSG_DONE;
  c->pending--;
  c->refs--;
  free(pd);
  if (rc == -EAGAIN || rc == -ENOMEM) return MSG_RETRY;
  log_warn(&s->log, "forward: %s: the store refused the events (%s); not acknowledged", c->peer,
           strerror(-rc));
  return MSG_CLOSE;
}

static void on_retry(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fwd_conn *c = arg;
  c->rate_waiting = 0; /* a rate wait is over (or a store retry: it was 0) */
  conn_process(c);
}

/* Parse and handle every complete object in the input buffer, within the limits. */
static void conn_process(fwd_conn *c) {
  fwd_server *g = c->g;
  server *s = g->s;
  if (c->closed || c->closing || c->rate_waiting) return;
  struct evbuffer *in = bufferevent_get_input(c->bev);
  c->refs++; /* handle_message may close the connection */
  size_t frames_at_start = c->frames;
  for (;;) {
    if (c->pending >= FWD_MAX_PENDING) {
      conn_pause(c);
      goto out;
    }
    size_t len = evbuffer_get_length(in);
    if (len == 0 || (c->need && len < c->need)) break;
    /* Linearize a bounded window first (copying the whole buffer for every message would be
     * quadratic when many are queued), then exactly what the message needs. */
    size_t window = len < FWD_READ_CHUNK ? len : FWD_READ_CHUNK;
    size_t used, need;
    fwd_frame_kind kind;
    fwd_message m;
    char err[256];
    const uint8_t *p;
    int rc;
    for (;;) {
      p = evbuffer_pullup(in, (ev_ssize_t)window);
      if (!p) {
        log_error(&s->log, "forward: %s: out of memory reading a message", c->peer);
        conn_close(c);
        goto out;
      }
      rc = fwd_next_frame(p, window, g->max_message, &used, &need, &kind, &m, err, sizeof err);
      if (rc != 0 || window == len) break;
      window = need > window && need <= len ? need : len;
    }
    if (rc == 0) {
      c->need = need > len ? need : len + 1;
      break;
    }
    c->need = 0;
    if (rc < 0) {
      log_warn(&s->log, "forward: %s: %s; closing the connection", c->peer, err);
      ingest_count_rejected(s, INGEST_INPUT_FORWARD,
                            strstr(err, "larger") ? REJECT_TOO_LARGE : REJECT_INVALID, 1);
      conn_fail(c);
      goto out;
    }
    if (kind == FWD_FRAME_PING) {
      if (!c->awaiting_ping) {
        log_warn(&s->log, "forward: %s: unexpected PING; closing the connection", c->peer);
        conn_fail(c);
        goto out;
      }
      buf pong = BUF_INIT;
      long user = -1;
      int ok = fwd_auth_check_ping_user(&g->auth, &c->hs, p, used, &pong, &user, err, sizeof err);
      evbuffer_drain(in, used);
      c->frames++;
      if (pong.len) bufferevent_write(c->bev, pong.data, pong.len);
      buf_free(&pong);
      if (!ok) {
        log_warn(&s->log, "forward: %s: handshake failed: %s", c->peer, err);
        conn_close_after_flush(c);
        goto out;
      }
      c->awaiting_ping = 0;
      /* A forward user with a tenant sends into it (unless a client certificate already
       * named a token: that identity stays). */
      if (user >= 0 && g->guard && sock_guard_principal(g->guard) && c->principal != &c->own &&
          g->auth.user_list[user].tenant) {
        memset(&c->own, 0, sizeof c->own);
        c->own.role = AUTH_ROLE_INGEST;
        snprintf(c->own.name, sizeof c->own.name, "forward user %s", g->auth.user_list[user].name);
        snprintf(c->own.tenant, sizeof c->own.tenant, "%s", g->auth.user_list[user].tenant);
        c->principal = &c->own;
      }
      continue;
    }
    if (c->awaiting_ping) {
      log_warn(&s->log, "forward: %s: data before the handshake (forward.shared_key is set); closing",
               c->peer);
      conn_close(c);
      goto out;
    }
    if (kind == FWD_FRAME_MESSAGE) {
      int r = handle_message(c, &m);
      if (c->closed) goto out;
      if (r == MSG_RETRY) {
        conn_pause(c);
        struct timeval tv = {0, FWD_RETRY_MS * 1000};
        evtimer_add(c->retry, &tv);
        goto out;
      }
      if (r == MSG_RATE) { /* backpressure: the message stays unread (and unacknowledged) */
        sock_guard_count_delayed(g->guard, c->addr);
        conn_pause(c);
        c->rate_waiting = 1;
        struct timeval tv = {(time_t)(c->rate_wait / 1000000000),
                             (suseconds_t)(c->rate_wait % 1000000000 / 1000 + 1)};
        evtimer_add(c->retry, &tv);
        goto out;
      }
      c->rate_paid = 0;
      if (r == MSG_CLOSE) {
        conn_fail(c);
        goto out;
      }
    }
    c->frames++;
    METRIC_ADD(s->m.input_bytes[INGEST_INPUT_FORWARD], used);
    evbuffer_drain(in, used);
  }
  if (c->eof && c->pending == 0) {
    if (evbuffer_get_length(in) > 0)
      log_debug(&s->log, "forward: %s: connection closed inside a message (%zu bytes)", c->peer,
                evbuffer_get_length(in));
    conn_close_after_flush(c);
  } else {
    conn_resume(c);
  }
out:
  if (!c->closed && c->bev) /* frame deadline: an incomplete message buffered keeps its clock */
    sock_clock_frame(&c->clk, time_mono_ns(), evbuffer_get_length(in), c->frames != frames_at_start);
  conn_unref(c);
}

/* The TLS handshake is done: the frame clock stops, and with auth on and mTLS the client
 * certificate's CN must name an ingest token (the connection then sends as it). Returns 0,
 * or -1 when the connection was closed. */
static int conn_handshake_done(fwd_conn *c) {
  if (c->tls_done) return 0;
  c->tls_done = 1;
  c->clk.frame_start_ns = 0;
  fwd_server *g = c->g;
  if (!sock_guard_needs_identity(g->guard)) return 0;
  if (!sock_guard_identity(g->guard, bufferevent_openssl_get_ssl(c->bev), c->peer, &c->own)) {
    conn_close(c);
    return -1;
  }
  c->principal = &c->own;
  return 0;
}

static void on_read(struct bufferevent *bev, void *arg) {
  (void)bev;
  fwd_conn *c = arg;
  sock_clock_bytes(&c->clk, time_mono_ns());
  if (c->g->tls && conn_handshake_done(c) != 0) return;
  conn_process(c);
}

static void on_write(struct bufferevent *bev, void *arg) {
  fwd_conn *c = arg;
  if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0) conn_close(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
  (void)bev;
  fwd_conn *c = arg;
  if ((what & BEV_EVENT_CONNECTED) && c->g->tls) {
    conn_handshake_done(c);
    return;
  }
  if (what & BEV_EVENT_ERROR) { /* a reset, a TLS failure: what was received is still read */
    unsigned long e = bufferevent_get_openssl_error(c->bev);
    log_debug(&c->g->s->log, "forward: %s: connection error (%s%lu)", c->peer,
              e ? "TLS error " : "", e ? e : 0UL);
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    /* Handle what is buffered; close once nothing is pending (acks are still written). */
    c->eof = 1;
    c->need = 0;
    bufferevent_disable(c->bev, EV_READ);
    conn_process(c);
    return;
  }
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg) {
  (void)lis;
  (void)socklen;
  fwd_server *g = arg;
  server *s = g->s;
  char peer[64];
  sock_name(sa, peer, sizeof peer);
  if (!sock_guard_allowed(g->guard, sa, peer, 0)) { /* forward.allow */
    evutil_closesocket(fd);
    return;
  }
  if (g->stopping || g->nconns >= g->max_conns) {
    METRIC_ADD(s->m.input_connections_refused[INGEST_INPUT_FORWARD], 1);
    log_warn(&s->log, "forward: %s: refused, %zu connections open (forward.max_connections)", peer,
             g->nconns);
    evutil_closesocket(fd);
    return;
  }
  fwd_conn *c = calloc(1, sizeof *c);
  if (!c) {
    evutil_closesocket(fd);
    return;
  }
  c->g = g;
  c->refs = 1;
  snprintf(c->peer, sizeof c->peer, "%s", peer);
  sock_guard_addr(sa, c->addr);
  sock_clock_start(&c->clk, time_mono_ns(), g->tls != NULL);
  c->principal = sock_guard_principal(g->guard);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (g->tls) {
    SSL *ssl = evd_tls_ssl_new(g->tls);
    c->bev = ssl ? bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                  BEV_OPT_CLOSE_ON_FREE)
                 : NULL;
    if (!c->bev && ssl) SSL_free(ssl);
    if (c->bev) bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
  } else {
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
  }
  c->retry = evtimer_new(s->base, on_retry, c);
  if (!c->bev || !c->retry) {
    if (c->bev) bufferevent_free(c->bev);
    else evutil_closesocket(fd);
    if (c->retry) event_free(c->retry);
    free(c);
    return;
  }
  c->next = g->conns;
  if (g->conns) g->conns->prev = c;
  g->conns = c;
  g->nconns++;
  METRIC_ADD(s->m.input_connections[INGEST_INPUT_FORWARD], 1);
  METRIC_ADD(s->m.input_connections_open[INGEST_INPUT_FORWARD], 1);
  bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
  bufferevent_set_max_single_read(c->bev, FWD_READ_CHUNK); /* libevent's default: 16 KiB */
  bufferevent_enable(c->bev, EV_READ | EV_WRITE);
  if (g->auth.enabled) {
    buf helo = BUF_INIT;
    if (fwd_auth_helo(&g->auth, &c->hs, &helo) != 0 ||
        bufferevent_write(c->bev, helo.data, helo.len) != 0) {
      buf_free(&helo);
      log_error(&s->log, "forward: %s: cannot send HELO", peer);
      conn_close(c);
      return;
    }
    buf_free(&helo);
    c->awaiting_ping = 1;
  }
  log_debug(&s->log, "forward: connection from %s", peer);
}

/* ---- deadlines ---------------------------------------------------------------------------- */

/* The sweep timer (sock_guard.h): close connections idle or stuck inside a message. Only
 * those waiting on the peer: none with batches pending with the store (their acks are
 * written first), paused (backpressure, rate limit), closing or at EOF. */
static void on_sweep(void *arg, int64_t now_ns) {
  fwd_server *g = arg;
  for (fwd_conn *c = g->conns, *next; c; c = next) {
    next = c->next;
    if (c->closing && !c->pending && now_ns - c->closing_since >= FWD_CLOSE_GRACE_NS) {
      /* its last acks were not read within the grace period: the peer is gone or stuck */
      log_info(&g->s->log, "forward: %s: closing: %zu bytes of acks not taken by the peer",
               c->peer, evbuffer_get_length(bufferevent_get_output(c->bev)));
      conn_close(c);
      continue;
    }
    if (c->pending || c->paused || c->rate_waiting || c->eof || c->closing) continue;
    int why = sock_guard_deadline(g->guard, &c->clk, now_ns);
    if (why < 0) continue;
    sock_guard_closed(g->guard, c->peer, why);
    conn_close_after_flush(c); /* acks already written by the completions go out first */
  }
}

/* ---- the plugin -------------------------------------------------------------------------- */

static void fwd_free(void *state);

static int fwd_start(server *s, void **state, char *err, size_t errlen) {
  *state = NULL;
  const evd_config *cfg = &s->cfg;
  if (!cfg->forward_listen || strcmp(cfg->forward_listen, "off") == 0) return 0;
  fwd_server *g = calloc(1, sizeof *g);
  if (!g) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  g->s = s;
  g->max_message = (size_t)cfg->forward_max_message_bytes;
  g->max_conns = cfg->forward_max_connections;
  arena_init(&g->scratch, 64 * 1024);
  buf_init(&g->dbuf);
  if (fwd_tag_rule_parse(cfg->forward_tag_rule ? cfg->forward_tag_rule : "split", &g->map.tag_rule) != 0) {
    snprintf(err, errlen, "forward.tag_rule: '%s' is not split, stream or type", cfg->forward_tag_rule);
    goto fail;
  }
  g->map.default_type = cfg->forward_default_type;
  g->chunk_ids = cfg->forward_chunk_ids;
  const char *inv = cfg->forward_on_invalid ? cfg->forward_on_invalid : "skip";
  if (strcmp(inv, "refuse") == 0) g->refuse_invalid = 1;
  else if (strcmp(inv, "skip") != 0) {
    snprintf(err, errlen, "forward.on_invalid: '%s' is not skip or refuse", inv);
    goto fail;
  }
  if (fwd_auth_init(&g->auth, cfg->forward_shared_key, cfg->forward_users,
                    cfg->forward_self_hostname, err, errlen) != 0)
    goto fail;
  if (!(g->guard = sock_guard_new(s, INGEST_INPUT_FORWARD, "forward", err, errlen))) goto fail;
  for (size_t i = 0; i < g->auth.nusers; i++) { /* users' tenants inside forward.tenant's */
    const char *t = g->auth.user_list[i].tenant;
    if (t && !auth_tenant_in_subtree(t, strlen(t), sock_guard_tenant(g->guard))) {
      snprintf(err, errlen, "forward.users: user '%s': tenant '%s' is outside forward.tenant '%s'",
               g->auth.user_list[i].name, t, sock_guard_tenant(g->guard));
      goto fail;
    }
  }
  if (sock_guard_sweep_start(g->guard, on_sweep, g) != 0) {
    snprintf(err, errlen, "forward: out of memory");
    goto fail;
  }
  const char *cert = cfg->forward_tls_cert, *key = cfg->forward_tls_key;
  if ((cert && *cert) != (key && *key)) {
    snprintf(err, errlen, "forward.tls.cert and forward.tls.key go together");
    goto fail;
  }
  if (cert && *cert &&
      !(g->tls = sock_tls_ctx_new(s, "forward.tls", cert, key, cfg->forward_tls_client_ca, err,
                                  errlen)))
    goto fail;
  int port;
  if (sock_tcp_listen(s, "forward.listen", cfg->forward_listen, on_accept, g, &g->lis, g->addr,
                      sizeof g->addr, &port, err, errlen) != 0)
    goto fail;
  *state = g;
  return 0;
fail:
  fwd_free(g);
  return -1;
}

static void fwd_announce(void *state) {
  fwd_server *g = state;
  fprintf(stderr, "eventd: forward listening on %s%s%s\n", g->addr, g->tls ? " (TLS)" : "",
          g->auth.enabled ? " (shared key)" : "");
  fflush(stderr);
}

/* Graceful stop: no new connections, no more reading; connections close once their
 * batches in flight are acknowledged. */
static void fwd_stop(void *state) {
  fwd_server *g = state;
  if (g->stopping) return;
  g->stopping = 1;
  if (g->lis) evconnlistener_free(g->lis);
  g->lis = NULL;
  for (fwd_conn *c = g->conns, *next; c; c = next) {
    next = c->next;
    if (c->pending == 0) conn_close_after_flush(c);
    else bufferevent_disable(c->bev, EV_READ);
  }
}

static void fwd_free(void *state) {
  fwd_server *g = state;
  if (!g) return;
  while (g->conns) conn_close(g->conns);
  if (g->lis) evconnlistener_free(g->lis);
  if (g->tls) sock_tls_ctx_free(g->s, g->tls);
  sock_guard_free(g->guard);
  fwd_auth_free(&g->auth);
  arena_free(&g->scratch);
  buf_free(&g->dbuf);
  free(g);
}

const input_plugin forward_input_plugin = {
    .name = "forward",
    .start = fwd_start,
    .announce = fwd_announce,
    .stop = fwd_stop,
    .free = fwd_free,
};
