/* line_server: see line_server.h. Connections are reference counted like the forward
 * input's: the socket holds one reference, each batch in flight one. */
#include "inputs/lines/line_server.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "inputs/lines/sock_listen.h"
#include "inputs/sock_guard.h"
#include "server/server.h"
#include "server/tls.h"

#define LS_RETRY_MS 20
#define LS_READ_CHUNK (256 * 1024) /* bytes read per callback, and parsed per batch */
#define LS_UDP_PER_WAKEUP 256

typedef struct ls_conn ls_conn;

struct line_server {
  server *s;
  const line_input_ops *ops;
  void *ctx;
  size_t max_frame;
  uint64_t max_conns;
  struct evconnlistener *lis;
  int udp_fd;
  struct event *udp_ev;
  uint8_t *udp_buf;
  size_t udp_buf_len;
  char addr[300];
  sock_tls_ctx *tls;   /* TCP over TLS (no UDP then) */
  ls_conn *conns;
  size_t nconns;
  int stopping;
  sock_guard *guard;   /* tenant, allow list, identity, rate limit, deadlines */
};

struct ls_conn {
  line_server *ls;
  ls_conn *prev, *next;
  struct bufferevent *bev;
  struct event *retry;
  char peer[64];
  int refs;
  int closed, eof, paused, skipping;
  size_t pending;
  size_t lines;      /* frames seen (for error messages) */
  size_t need_len;   /* don't parse again before the buffer holds more than this */
  char addr[SOCK_ADDR_MAX];  /* client address without port (rate limit key) */
  sock_clock clk;            /* idle and frame deadlines */
  int tls_done;              /* TLS: handshake finished (and identity checked) */
  int rate_waiting;          /* paused by limits.socket_rate_per_peer: the retry timer resumes */
  int rate_credit;           /* an event already taken from the rate budget */
  const auth_principal *principal; /* the events' identity (NULL: auth off) */
  auth_principal own;        /* the client certificate's token (mTLS with auth on) */
};

static void conn_process(ls_conn *c);

int ls_frame_lf(const uint8_t *p, size_t len, size_t max, size_t *start, size_t *flen,
                size_t *used, char *err, size_t errlen) {
  (void)max;
  (void)err;
  (void)errlen;
  const uint8_t *nl = memchr(p, '\n', len);
  if (!nl) return LS_FRAME_NEED_MORE;
  size_t n = (size_t)(nl - p);
  *start = 0;
  *used = n + 1;
  if (n && p[n - 1] == '\r') n--;
  *flen = n;
  return LS_FRAME_OK;
}

/* ---- TCP connections --------------------------------------------------------------------- */

static void conn_unref(ls_conn *c) {
  if (--c->refs == 0) free(c);
}

static void conn_close(ls_conn *c) {
  if (c->closed) return;
  line_server *ls = c->ls;
  c->closed = 1;
  if (c->prev) c->prev->next = c->next;
  else ls->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  ls->nconns--;
  METRIC_SUB(ls->s->m.input_connections_open[ls->ops->input], 1);
  bufferevent_free(c->bev);
  c->bev = NULL;
  event_free(c->retry);
  c->retry = NULL;
  conn_unref(c);
}

typedef struct ls_pending {
  ls_conn *c;
} ls_pending;

static void on_tcp_done(void *arg, const ingest_result *r) {
  ls_conn *c = arg;
  c->pending--;
  if (!c->closed) {
    if (r->status != 0)
      log_warn(&c->ls->s->log, "%s: %s: events not stored: %s", c->ls->ops->name, c->peer,
               strerror(-r->status));
    /* After EOF, what is still buffered is processed first (conn_process closes once the
     * buffer is empty and nothing is pending). */
    if (c->ls->stopping && c->pending == 0) conn_close(c);
    else conn_process(c);
  }
  conn_unref(c);
}

static void log_batch_errors(line_server *ls, const char *peer, ingest_batch *b) {
  size_t nerr = ingest_error_count(b);
  if (!nerr) return;
  const ingest_error *e = ingest_error_at(b, 0);
  log_warn(&ls->s->log, "%s: %s: %zu of %zu events invalid (skipped); first: line %zu%s%s: %s",
           ls->ops->name, peer, nerr, ingest_count(b), e ? e->line : 0,
           e && e->field[0] ? ", field " : "", e ? e->field : "", e ? e->reason : "?");
}

static void conn_pause(ls_conn *c) {
  if (!c->paused && !c->closed) {
    c->paused = 1;
    bufferevent_disable(c->bev, EV_READ);
  }
}

/* The bytes left when the peer closed, without a final LF: framed as if the LF had come
 * (a truncated octet-counted frame stays incomplete and is counted as rejected). Returns 0
 * (drained), 1 (retry later: store full) or -1 (connection closed). */
static int conn_tail(ls_conn *c, const uint8_t *p, size_t len) {
  line_server *ls = c->ls;
  server *s = ls->s;
  struct evbuffer *in = bufferevent_get_input(c->bev);
  uint8_t *t = malloc(len + 1);
  if (!t) return 1;
  memcpy(t, p, len);
  t[len] = '\n';
  size_t st, fl, us;
  char err[256] = "";
  int rc = ls->ops->frame(t, len + 1, ls->max_frame, &st, &fl, &us, err, sizeof err);
  if (rc != LS_FRAME_OK || fl == 0) {
    if (rc != LS_FRAME_OK) {
      log_warn(&s->log, "%s: %s: connection closed inside a frame (%zu bytes dropped)%s%s",
               ls->ops->name, c->peer, len, err[0] ? ": " : "", err);
      ingest_count_rejected(s, ls->ops->input, REJECT_INVALID, 1);
    }
    free(t);
    evbuffer_drain(in, len);
    return 0;
  }
  ingest_batch *b = ingest_begin(s);
  if (!b) {
    free(t);
    return 1;
  }
  ingest_set_input(b, ls->ops->input);
  ingest_set_principal(b, c->principal);
  ingest_set_partial(b);
  ls->ops->add(ls->ctx, b, (const char *)t + st, fl, c->lines + 1, c->peer);
  free(t);
  if (ingest_out_of_memory(b)) {
    ingest_abort(b);
    return 1;
  }
  log_batch_errors(ls, c->peer, b);
  c->refs++;
  c->pending++;
  int sr = ingest_submit(b, on_tcp_done, c);
  if (sr != 0) {
    c->pending--;
    c->refs--;
    if (sr == -EAGAIN || sr == -ENOMEM) return 1;
    conn_close(c);
    return -1;
  }
  c->lines++;
  METRIC_ADD(s->m.input_bytes[ls->ops->input], len);
  evbuffer_drain(in, len);
  return 0;
}

static void conn_process(ls_conn *c) {
  line_server *ls = c->ls;
  server *s = ls->s;
  if (c->closed || c->rate_waiting) return; /* rate wait: the retry timer calls again */
  struct evbuffer *in = bufferevent_get_input(c->bev);
  c->refs++;
  size_t lines_at_start = c->lines;
  int64_t rate_wait = 0;
  int rate_on = sock_guard_rate_on(ls->guard);
  for (;;) {
    size_t len = evbuffer_get_length(in);
    if (len == 0) break;
    if (c->skipping) { /* inside an over-long frame: drop through its LF */
      struct evbuffer_ptr nl = evbuffer_search(in, "\n", 1, NULL);
      if (nl.pos < 0) {
        evbuffer_drain(in, len);
        break;
      }
      evbuffer_drain(in, (size_t)nl.pos + 1);
      c->skipping = 0;
      continue;
    }
    if (len <= c->need_len) break;
    if (c->pending >= LS_MAX_PENDING) {
      conn_pause(c);
      goto out;
    }
    /* Coalesce: while a batch is with the store, wait for a full window of bytes (or its
     * completion) rather than sending the store many small batches. */
    if (c->pending > 0 && len < LS_READ_CHUNK && !c->eof) break;
    /* Linearize a bounded window (not the whole buffer: copying megabytes for every batch
     * would be quadratic); grow it to hold one longest frame when nothing ends inside it. */
    size_t window = len < LS_READ_CHUNK ? len : LS_READ_CHUNK;
    const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)window);
    if (p && window < len) {
      size_t st, fl, us;
      char e3[8];
      if (ls->ops->frame(p, window, ls->max_frame, &st, &fl, &us, e3, sizeof e3) == LS_FRAME_NEED_MORE) {
        window = len < ls->max_frame + 2 ? len : ls->max_frame + 2;
        p = evbuffer_pullup(in, (ev_ssize_t)window);
      }
    }
    if (!p) {
      conn_close(c);
      goto out;
    }
    len = window;
    { /* nothing complete yet (and not over-long): wait for more bytes, no batch */
      size_t st, fl, us;
      char e2[8];
      if (ls->ops->frame(p, len, ls->max_frame, &st, &fl, &us, e2, sizeof e2) == LS_FRAME_NEED_MORE &&
          len <= ls->max_frame) {
        if (c->eof) { /* the peer closed after a last frame without LF */
          int rc = conn_tail(c, p, len);
          if (rc == 1) goto retry;
          if (rc < 0) goto out;
          continue;
        }
        c->need_len = len;
        break;
      }
    }
    /* limits.socket_rate_per_peer: one event of budget before a batch is started (an empty
     * batch would count as a rejected event); later frames take theirs as they come. */
    if (rate_on && !c->rate_credit) {
      rate_wait = sock_guard_take(ls->guard, c->addr, time_mono_ns());
      if (rate_wait > 0) goto rate_limited;
      c->rate_credit = 1;
    }
    ingest_batch *b = ingest_begin(s);
    if (!b) goto retry;
    ingest_set_input(b, ls->ops->input);
    ingest_set_principal(b, c->principal);
    ingest_set_partial(b);
    size_t off = 0, frames = 0, lines_before = c->lines;
    int credit_before = c->rate_credit;
    int close_after = 0;
    char err[256];
    while (frames < LS_BATCH_MAX && off < len) {
      size_t start, flen, used;
      int rc = ls->ops->frame(p + off, len - off, ls->max_frame, &start, &flen, &used, err, sizeof err);
      if (rc == LS_FRAME_ERROR) {
        log_warn(&s->log, "%s: %s: %s; closing the connection", ls->ops->name, c->peer, err);
        ingest_count_rejected(s, ls->ops->input, REJECT_INVALID, 1);
        close_after = 1;
        break;
      }
      if (rc == LS_FRAME_NEED_MORE) {
        if (len - off > ls->max_frame) { /* an over-long frame: count it, skip it */
          log_warn(&s->log, "%s: %s: line %zu is longer than %zu bytes; skipped", ls->ops->name,
                   c->peer, c->lines + 1, ls->max_frame);
          ingest_count_rejected(s, ls->ops->input, REJECT_TOO_LARGE, 1);
          c->lines++;
          c->skipping = 1;
          off = len;
        }
        break;
      }
      if (flen && rate_on) { /* this frame's event from the peer's budget */
        if (c->rate_credit) c->rate_credit = 0;
        else if ((rate_wait = sock_guard_take(ls->guard, c->addr, time_mono_ns())) > 0) break;
      }
      off += used;
      c->lines++;
      if (flen == 0) continue; /* empty line */
      frames++;
      if (flen > ls->max_frame) {
        char reason[160];
        snprintf(reason, sizeof reason, "frame of %zu bytes is longer than the limit of %zu", flen,
                 ls->max_frame);
        ingest_add_failure(b, c->lines, INGEST_ERR_TOO_LARGE, "", reason);
        continue;
      }
      ls->ops->add(ls->ctx, b, (const char *)p + off - used + start, flen, c->lines, c->peer);
    }
    if (ingest_out_of_memory(b)) {
      ingest_abort(b);
      c->lines = lines_before;
      c->skipping = 0;
      c->rate_credit = credit_before;
      goto retry;
    }
    log_batch_errors(ls, c->peer, b);
    c->need_len = 0;
    /* Submitted even when it holds no event (only empty lines or refused frames): an empty
     * batch is answered through the completion list and counts nothing. */
    c->refs++;
    c->pending++;
    int rc = ingest_submit(b, on_tcp_done, c);
    if (rc != 0) {
      c->pending--;
      c->refs--;
      c->lines = lines_before;
      c->skipping = 0;
      c->rate_credit = credit_before;
      if (rc == -EAGAIN || rc == -ENOMEM) goto retry;
      log_warn(&s->log, "%s: %s: the store refused the events (%s); closing", ls->ops->name,
               c->peer, strerror(-rc));
      conn_close(c);
      goto out;
    }
    METRIC_ADD(s->m.input_bytes[ls->ops->input], off);
    evbuffer_drain(in, off);
    if (close_after) {
      conn_close(c);
      goto out;
    }
    if (rate_wait > 0) goto rate_limited;
    if (off == 0) break;
  }
  if (c->eof && c->pending == 0) {
    conn_close(c);
    goto out;
  }
  if (c->paused && !c->eof && !ls->stopping) {
    c->paused = 0;
    bufferevent_enable(c->bev, EV_READ);
  }
  goto out;
rate_limited: /* backpressure, never loss: the frames stay buffered until the budget allows */
  sock_guard_count_delayed(ls->guard, c->addr);
  conn_pause(c);
  c->rate_waiting = 1;
  {
    struct timeval tv = {(time_t)(rate_wait / 1000000000), (suseconds_t)(rate_wait % 1000000000 / 1000 + 1)};
    evtimer_add(c->retry, &tv);
  }
  goto out;
retry:
  conn_pause(c);
  {
    struct timeval tv = {0, LS_RETRY_MS * 1000};
    evtimer_add(c->retry, &tv);
  }
out:
  if (!c->closed) /* frame deadline: an incomplete frame buffered starts (or keeps) its clock */
    sock_clock_frame(&c->clk, time_mono_ns(), evbuffer_get_length(in) + (size_t)c->skipping,
                     c->lines != lines_at_start);
  conn_unref(c);
}

static void on_retry(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  ls_conn *c = arg;
  c->rate_waiting = 0;
  conn_process(c);
}

/* The TLS handshake is done: the frame clock stops, and with auth on and mTLS the client
 * certificate's CN must name an ingest token (the connection then sends as it). Returns 0,
 * or -1 when the connection was closed. */
static int conn_handshake_done(ls_conn *c) {
  if (c->tls_done) return 0;
  c->tls_done = 1;
  c->clk.frame_start_ns = 0;
  line_server *ls = c->ls;
  if (!sock_guard_needs_identity(ls->guard)) return 0;
  if (!sock_guard_identity(ls->guard, bufferevent_openssl_get_ssl(c->bev), c->peer, &c->own)) {
    conn_close(c);
    return -1;
  }
  c->principal = &c->own;
  return 0;
}

static void on_read(struct bufferevent *bev, void *arg) {
  (void)bev;
  ls_conn *c = arg;
  sock_clock_bytes(&c->clk, time_mono_ns());
  if (c->ls->tls && conn_handshake_done(c) != 0) return;
  conn_process(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
  (void)bev;
  ls_conn *c = arg;
  if ((what & BEV_EVENT_CONNECTED) && c->ls->tls) {
    conn_handshake_done(c);
    return;
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    /* The peer is gone (a reset or a TLS close without close_notify is an error): what it
     * sent before is still read. A last frame without LF is still a frame (conn_tail). */
    if (what & BEV_EVENT_ERROR)
      log_debug(&c->ls->s->log, "%s: %s: connection error: %s", c->ls->ops->name, c->peer,
                evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    c->eof = 1;
    c->need_len = 0;
    bufferevent_disable(c->bev, EV_READ);
    conn_process(c);
  }
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg) {
  (void)lis;
  (void)socklen;
  line_server *ls = arg;
  server *s = ls->s;
  char peer[64];
  sock_name(sa, peer, sizeof peer);
  if (!sock_guard_allowed(ls->guard, sa, peer, 0)) { /* <input>.allow */
    evutil_closesocket(fd);
    return;
  }
  if (ls->stopping || ls->nconns >= ls->max_conns) {
    METRIC_ADD(s->m.input_connections_refused[ls->ops->input], 1);
    log_warn(&s->log, "%s: %s: refused, %zu connections open (%s max_connections)", ls->ops->name,
             peer, ls->nconns, ls->ops->name);
    evutil_closesocket(fd);
    return;
  }
  ls_conn *c = calloc(1, sizeof *c);
  struct bufferevent *bev = NULL;
  if (ls->tls) {
    SSL *ssl = evd_tls_ssl_new(ls->tls);
    bev = ssl ? bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                               BEV_OPT_CLOSE_ON_FREE)
              : NULL;
    if (!bev && ssl) SSL_free(ssl);
    if (bev) bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  } else {
    bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
  }
  struct event *retry = c ? evtimer_new(s->base, on_retry, c) : NULL;
  if (!c || !bev || !retry) {
    if (bev) bufferevent_free(bev);
    else evutil_closesocket(fd);
    if (retry) event_free(retry);
    free(c);
    return;
  }
  c->ls = ls;
  c->bev = bev;
  c->retry = retry;
  c->refs = 1;
  snprintf(c->peer, sizeof c->peer, "%s", peer);
  sock_guard_addr(sa, c->addr);
  sock_clock_start(&c->clk, time_mono_ns(), ls->tls != NULL);
  c->principal = sock_guard_principal(ls->guard);
  c->next = ls->conns;
  if (ls->conns) ls->conns->prev = c;
  ls->conns = c;
  ls->nconns++;
  METRIC_ADD(s->m.input_connections[ls->ops->input], 1);
  METRIC_ADD(s->m.input_connections_open[ls->ops->input], 1);
  bufferevent_setcb(bev, on_read, NULL, on_event, c);
  bufferevent_set_max_single_read(bev, LS_READ_CHUNK); /* libevent's default is 16 KiB */
  /* Stop reading while this much is buffered (above one longest frame). */
  bufferevent_setwatermark(bev, EV_READ, 0, ls->max_frame + 4 * LS_READ_CHUNK);
  bufferevent_enable(bev, EV_READ);
}

/* ---- UDP --------------------------------------------------------------------------------- */

static void on_udp_done(void *arg, const ingest_result *r) {
  line_server *ls = arg;
  if (r->status != 0)
    log_warn(&ls->s->log, "%s: UDP datagrams not stored: %s", ls->ops->name, strerror(-r->status));
}

static void on_udp(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  line_server *ls = arg;
  server *s = ls->s;
  ingest_batch *b = NULL;
  char peer[64];
  for (int k = 0; k < LS_UDP_PER_WAKEUP; k++) {
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, ls->udp_buf, ls->udp_buf_len, MSG_TRUNC, (struct sockaddr *)&from, &fl);
    if (n < 0) break; /* EAGAIN: all read */
    METRIC_ADD(s->m.input_bytes[ls->ops->input], (size_t)n);
    sock_name((struct sockaddr *)&from, peer, sizeof peer);
    if (!sock_guard_allowed(ls->guard, (struct sockaddr *)&from, peer, 1)) continue;
    char addr[SOCK_ADDR_MAX];
    sock_guard_addr((struct sockaddr *)&from, addr);
    if (!b) {
      b = ingest_begin(s);
      if (!b) {
        ingest_count_rejected(s, ls->ops->input, REJECT_OVERLOADED, 1);
        continue;
      }
      ingest_set_input(b, ls->ops->input);
      ingest_set_principal(b, sock_guard_principal(ls->guard));
      ingest_set_partial(b);
    }
    if ((size_t)n > ls->max_frame) {
      char reason[160];
      snprintf(reason, sizeof reason, "datagram of %zd bytes is longer than the limit of %zu", n,
               ls->max_frame);
      ingest_add_failure(b, 0, INGEST_ERR_TOO_LARGE, "", reason);
      continue;
    }
    const uint8_t *p = ls->udp_buf;
    size_t len = (size_t)n;
    if (!ls->ops->udp_split_lines) {
      while (len && (p[len - 1] == '\n' || p[len - 1] == '\0')) len--;
      if (len && sock_guard_take(ls->guard, addr, time_mono_ns()) > 0) /* socket_rate_per_peer */
        sock_guard_count_dropped(ls->guard, addr);
      else if (len) ls->ops->add(ls->ctx, b, (const char *)p, len, 0, peer);
      continue;
    }
    while (len) {
      const uint8_t *nl = memchr(p, '\n', len);
      size_t fl2 = nl ? (size_t)(nl - p) : len;
      size_t adv = nl ? fl2 + 1 : len;
      if (fl2 && p[fl2 - 1] == '\r') fl2--;
      if (fl2 && sock_guard_take(ls->guard, addr, time_mono_ns()) > 0)
        sock_guard_count_dropped(ls->guard, addr);
      else if (fl2) ls->ops->add(ls->ctx, b, (const char *)p, fl2, 0, peer);
      p += adv;
      len -= adv;
    }
  }
  if (!b) return;
  log_batch_errors(ls, "UDP", b);
  int rc = ingest_submit(b, on_udp_done, ls);
  if (rc != 0)
    log_warn(&s->log, "%s: UDP datagrams refused by the store (%s); counted as rejected",
             ls->ops->name, strerror(-rc));
}

/* ---- deadlines ---------------------------------------------------------------------------- */

/* The sweep timer (sock_guard.h): close connections idle or stuck inside a frame. Only those
 * waiting on the peer: none with batches pending with the store (their events are stored
 * first), paused by backpressure or the rate limit, or already at EOF. */
static void on_sweep(void *arg, int64_t now_ns) {
  line_server *ls = arg;
  for (ls_conn *c = ls->conns, *next; c; c = next) {
    next = c->next;
    if (c->pending || c->paused || c->rate_waiting || c->eof) continue;
    int why = sock_guard_deadline(ls->guard, &c->clk, now_ns);
    if (why < 0) continue;
    sock_guard_closed(ls->guard, c->peer, why);
    conn_close(c);
  }
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

line_server *line_server_start(server *s, const line_input_ops *ops, void *ctx, const char *listen,
                               size_t max_frame, uint64_t max_conns, const char *tls_prefix,
                               const char *tls_cert, const char *tls_key, char *err,
                               size_t errlen) {
  line_server *ls = calloc(1, sizeof *ls);
  if (!ls) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  ls->s = s;
  ls->ops = ops;
  ls->ctx = ctx;
  ls->max_frame = max_frame;
  ls->max_conns = max_conns;
  ls->udp_fd = -1;
  int has_cert = tls_cert && *tls_cert, has_key = tls_key && *tls_key;
  if (has_cert != has_key) {
    snprintf(err, errlen, "%s.cert and %s.key go together", tls_prefix, tls_prefix);
    goto fail;
  }
  if (!(ls->guard = sock_guard_new(s, ops->input, ops->name, err, errlen))) goto fail;
  /* <prefix>.client_ca (mTLS): read from the configuration by the input's prefix. */
  const char *client_ca = strcmp(tls_prefix, "syslog.tls") == 0  ? s->cfg.syslog_tls_client_ca
                          : strcmp(tls_prefix, "lines.tls") == 0 ? s->cfg.lines_tls_client_ca
                                                                 : NULL;
  if ((client_ca && *client_ca) && !has_cert) {
    snprintf(err, errlen, "%s.client_ca needs %s.cert and %s.key (mTLS is part of TLS)",
             tls_prefix, tls_prefix, tls_prefix);
    goto fail;
  }
  if (has_cert &&
      !(ls->tls = sock_tls_ctx_new(s, tls_prefix, tls_cert, tls_key, client_ca, err, errlen)))
    goto fail;
  int port;
  if (sock_tcp_listen(s, ops->setting, listen, on_accept, ls, &ls->lis, ls->addr, sizeof ls->addr,
                      &port, err, errlen) != 0)
    goto fail;
  if (sock_guard_sweep_start(ls->guard, on_sweep, ls) != 0) {
    snprintf(err, errlen, "%s: out of memory", ops->setting);
    goto fail;
  }
  if (ls->tls) return ls; /* TLS: TCP only */
  ls->udp_fd = sock_udp_bind(ops->setting, listen, port, 4 * 1024 * 1024, err, errlen);
  if (ls->udp_fd < 0) goto fail;
  ls->udp_buf_len = (max_frame < 65536 ? 65536 : max_frame) + 1;
  ls->udp_buf = malloc(ls->udp_buf_len);
  ls->udp_ev = event_new(s->base, ls->udp_fd, EV_READ | EV_PERSIST, on_udp, ls);
  if (!ls->udp_buf || !ls->udp_ev || event_add(ls->udp_ev, NULL) != 0) {
    snprintf(err, errlen, "%s: out of memory", ops->setting);
    goto fail;
  }
  return ls;
fail:
  line_server_free(ls);
  return NULL;
}

void line_server_announce(line_server *ls) {
  fprintf(stderr, "eventd: %s listening on %s (%s)\n", ls->ops->name, ls->addr,
          ls->tls ? "TLS" : "TCP and UDP");
  fflush(stderr);
}

void line_server_stop(line_server *ls) {
  if (ls->stopping) return;
  ls->stopping = 1;
  if (ls->lis) evconnlistener_free(ls->lis);
  ls->lis = NULL;
  if (ls->udp_ev) event_del(ls->udp_ev);
  for (ls_conn *c = ls->conns, *next; c; c = next) {
    next = c->next;
    if (c->pending == 0) conn_close(c);
    else bufferevent_disable(c->bev, EV_READ);
  }
}

void line_server_free(line_server *ls) {
  if (!ls) return;
  while (ls->conns) conn_close(ls->conns);
  if (ls->lis) evconnlistener_free(ls->lis);
  if (ls->udp_ev) event_free(ls->udp_ev);
  if (ls->udp_fd >= 0) close(ls->udp_fd);
  if (ls->tls) sock_tls_ctx_free(ls->s, ls->tls);
  sock_guard_free(ls->guard);
  free(ls->udp_buf);
  free(ls);
}
