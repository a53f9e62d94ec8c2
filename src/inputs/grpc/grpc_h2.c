/* grpc_h2: the gRPC transport — h2c connections (HTTP/2 with prior knowledge, what gRPC
 * clients use for insecure channels) on libevent bufferevents in the daemon's event loop,
 * with nghttp2's server session doing the HTTP/2 protocol, and gRPC's request framing,
 * deadlines, answers (trailers) and graceful shutdown (GOAWAY) on top. With grpc.tls.* set,
 * the connections are TLS instead (bufferevent_openssl, ALPN "h2"; grpc_tls.c); the HTTP/2
 * side is the same.
 *
 * Entry points (the only places a connection may be freed): accept, the bufferevent read,
 * write and event callbacks, a call's deadline timer, grpc_call_resume (ingest
 * completions) and the plugin's stop. Inside nghttp2 (conn->busy) nothing is sent or freed;
 * the entry point flushes when nghttp2 returns.
 *
 * Flow control: automatic WINDOW_UPDATE is off. A stream's DATA is consumed (its window
 * reopened) once the bytes have been handed to the framer, except while the call has
 * GRPC_MAX_PENDING_PER_CALL batches waiting for the store: then the client is held back
 * by its window until an ack arrives (a fast PublishStream cannot outrun the disk). */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/timeutil.h"
#include "inputs/grpc/grpc.h"
#include "inputs/grpc/grpc_internal.h"
#include "inputs/grpc/grpc_tls.h"
#include "server/tls.h"
#include "server/server.h"

#define OUTPUT_HIGH_WATER (256 * 1024)       /* stop serializing frames above this */
#define STREAM_WINDOW (1024 * 1024)          /* SETTINGS_INITIAL_WINDOW_SIZE */
#define CONN_WINDOW (16 * 1024 * 1024)       /* connection-level receive window */
#define MAX_CONCURRENT_STREAMS 256     /* per connection; each may buffer one message */
#define MAX_HEADER_LIST (64 * 1024)

typedef struct grpc_conn grpc_conn;

struct grpc_server {
  server *s;
  struct evconnlistener *lis;
  char addr[300];        /* "127.0.0.1:50075" once bound */
  size_t max_message;
  int stopping;
  grpc_conn *conns;
  size_t nconns;         /* open connections (grpc.max_connections) */
  uint64_t refused;      /* connections closed at accept over grpc.max_connections */
  uint64_t slow_hellos;  /* connections closed over grpc.handshake_timeout */
  arena scratch;         /* decoding one message at a time (loop thread) */
  nghttp2_session_callbacks *cbs;
  nghttp2_option *opt;
  evd_tls *tls;          /* NULL: h2c; else TLS with ALPN h2 (grpc.tls.*; reloaded on SIGHUP) */
};

struct grpc_conn {
  grpc_server *g;
  grpc_conn *prev, *next;
  struct bufferevent *bev;
  nghttp2_session *ng;
  grpc_call *calls;   /* open streams */
  int busy;           /* inside nghttp2: no send, no free */
  int dead;           /* protocol or I/O failure: free at the end of the entry point */
  char peer[64];
  char peer_addr[INET6_ADDRSTRLEN]; /* the client's address without port (rate limits) */
  struct event *hello_timer; /* grpc.handshake_timeout: until the client's first SETTINGS */
};

typedef enum header_problem {
  HP_NONE = 0, HP_METHOD, HP_CONTENT_TYPE, HP_PATH
} header_problem;

struct grpc_call {
  grpc_server *g;
  grpc_conn *conn;     /* NULL once detached (stream closed or connection gone) */
  grpc_call *prev, *next;
  int32_t stream_id;
  int refs;
  const grpc_method *method;
  /* request headers */
  header_problem hp;
  char path[128];      /* for the UNIMPLEMENTED message */
  int64_t timeout_ns;  /* 0: none */
  struct event *deadline;
  /* request body */
  grpc_framer fr;
  size_t nmessages;
  size_t unconsumed;   /* DATA bytes received and not yet given back to the window */
  int remote_closed;   /* END_STREAM received */
  int expired;         /* the deadline passed while the client was still sending */
  /* answer */
  int answered;        /* a final status has been submitted */
  buf resp;            /* the framed response message */
  size_t resp_off;
  grpc_call_state st;
};

/* ---- calls ------------------------------------------------------------------------------ */

server *grpc_call_server(grpc_call *c) { return c->g->s; }
const char *grpc_call_peer_addr(grpc_call *c) { return c->conn->peer_addr; }
grpc_server *grpc_call_grpc(grpc_call *c) { return c->g; }
grpc_call_state *grpc_call_state_of(grpc_call *c) { return &c->st; }
arena *grpc_call_arena(grpc_call *c) { return &c->g->scratch; }
int grpc_call_live(const grpc_call *c) { return c->conn != NULL && !c->answered; }
size_t grpc_server_max_message(const grpc_server *g) { return g->max_message; }
int grpc_server_stopping(const grpc_server *g) { return g->stopping || g->s->stopping; }

void grpc_call_ref(grpc_call *c) { c->refs++; }

void grpc_call_unref(grpc_call *c) {
  if (--c->refs > 0) return;
  grpc_framer_free(&c->fr);
  buf_free(&c->resp);
  if (c->deadline) event_free(c->deadline);
  free(c);
}

/* Take the call off its connection: no more answers; drop the stream's reference. */
static void call_detach(grpc_call *c) {
  grpc_conn *conn = c->conn;
  if (!conn) return;
  if (c->unconsumed && !conn->dead) nghttp2_session_consume_connection(conn->ng, c->unconsumed);
  c->unconsumed = 0;
  if (c->prev) c->prev->next = c->next;
  else conn->calls = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
  c->conn = NULL;
  if (c->deadline) event_del(c->deadline);
  nghttp2_session_set_stream_user_data(conn->ng, c->stream_id, NULL);
  grpc_call_unref(c);
}

/* Give received DATA back to the stream's window unless the call is saturated. */
static void call_maybe_consume(grpc_call *c) {
  if (!c->conn || !c->unconsumed) return;
  if (!c->answered && c->st.pending >= GRPC_MAX_PENDING_PER_CALL) return;
  nghttp2_session_consume(c->conn->ng, c->stream_id, c->unconsumed);
  c->unconsumed = 0;
}

static void conn_flush(grpc_conn *conn);

static void nv_set(nghttp2_nv *nv, const char *name, const char *value, size_t vlen) {
  nv->name = (uint8_t *)name;
  nv->namelen = strlen(name);
  nv->value = (uint8_t *)value;
  nv->valuelen = vlen;
  nv->flags = NGHTTP2_NV_FLAG_NONE;
}

/* Data source of an OK answer: the response message, then the trailers. */
static ssize_t resp_read(nghttp2_session *ng, int32_t stream_id, uint8_t *out, size_t len,
                         uint32_t *flags, nghttp2_data_source *src, void *user) {
  grpc_call *c = src->ptr;
  size_t left = c->resp.len - c->resp_off;
  size_t k = left < len ? left : len;
  if (k) memcpy(out, c->resp.data + c->resp_off, k);
  c->resp_off += k;
  if (c->resp_off == c->resp.len) {
    *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    nghttp2_nv tr[1];
    nv_set(&tr[0], "grpc-status", "0", 1);
    if (nghttp2_submit_trailer(ng, stream_id, tr, 1) != 0)
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
  }
  return (ssize_t)k;
}

void grpc_call_reply(grpc_call *c, const uint8_t *msg, size_t len) {
  if (!grpc_call_live(c)) return;
  buf_clear(&c->resp);
  unsigned char hdr[GRPC_FRAME_HEADER] = {0, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                                          (unsigned char)(len >> 8), (unsigned char)len};
  if (buf_append(&c->resp, hdr, sizeof hdr) != 0 || buf_append(&c->resp, msg, len) != 0) {
    grpc_call_fail(c, GRPC_RESOURCE_EXHAUSTED, "out of memory building the answer");
    return;
  }
  c->resp_off = 0;
  nghttp2_nv nv[3];
  nv_set(&nv[0], ":status", "200", 3);
  nv_set(&nv[1], "content-type", "application/grpc", 16);
  nv_set(&nv[2], "grpc-accept-encoding", "identity", 8);
  nghttp2_data_provider dp = {.source.ptr = c, .read_callback = resp_read};
  c->answered = 1;
  if (c->deadline) event_del(c->deadline);
  if (nghttp2_submit_response(c->conn->ng, c->stream_id, nv, 3, &dp) != 0)
    nghttp2_submit_rst_stream(c->conn->ng, NGHTTP2_FLAG_NONE, c->stream_id,
                              NGHTTP2_INTERNAL_ERROR);
}

/* A Trailers-Only answer: one HEADERS frame with the status, ending the stream. */
static void call_fail_v(grpc_call *c, grpc_code code, const char *fmt, va_list ap) {
  if (!grpc_call_live(c)) return;
  char text[1024];
  vsnprintf(text, sizeof text, fmt, ap);
  buf enc = BUF_INIT;
  char codebuf[12];
  int cl = snprintf(codebuf, sizeof codebuf, "%d", (int)code);
  nghttp2_nv nv[5];
  size_t n = 0;
  nv_set(&nv[n++], ":status", "200", 3);
  nv_set(&nv[n++], "content-type", "application/grpc", 16);
  nv_set(&nv[n++], "grpc-accept-encoding", "identity", 8);
  nv_set(&nv[n++], "grpc-status", codebuf, (size_t)cl);
  if (text[0] && grpc_percent_encode(&enc, text, strlen(text)) == 0)
    nv_set(&nv[n++], "grpc-message", enc.data, enc.len);
  c->answered = 1;
  if (c->deadline) event_del(c->deadline);
  server *s = c->g->s;
  if (code == GRPC_INTERNAL || code == GRPC_UNAVAILABLE)
    log_debug(&s->log, "grpc: %s %s: %s %s", c->conn->peer,
              c->method ? c->method->path : c->path, grpc_code_name(code), text);
  if (nghttp2_submit_response(c->conn->ng, c->stream_id, nv, n, NULL) != 0)
    nghttp2_submit_rst_stream(c->conn->ng, NGHTTP2_FLAG_NONE, c->stream_id,
                              NGHTTP2_INTERNAL_ERROR);
  buf_free(&enc);
}

void grpc_call_fail(grpc_call *c, grpc_code code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  call_fail_v(c, code, fmt, ap);
  va_end(ap);
}

/* Answer a request that is not gRPC at all with a bare HTTP status. */
static void call_http_error(grpc_call *c, const char *status) {
  nghttp2_nv nv[1];
  nv_set(&nv[0], ":status", status, strlen(status));
  c->answered = 1;
  if (nghttp2_submit_response(c->conn->ng, c->stream_id, nv, 1, NULL) != 0)
    nghttp2_submit_rst_stream(c->conn->ng, NGHTTP2_FLAG_NONE, c->stream_id,
                              NGHTTP2_INTERNAL_ERROR);
}

void grpc_call_resume(grpc_call *c) {
  grpc_conn *conn = c->conn;
  if (!conn) return;
  call_maybe_consume(c);
  conn_flush(conn);
}

/* How long an expired call waits for the rest of its request before it is answered anyway.
 * Answering while the client is still sending forces a RST_STREAM on it, which some clients
 * (curl) report as a transport error instead of the status. */
#define DEADLINE_DRAIN_GRACE_US 1000000

static void on_deadline(evutil_socket_t fd, short what, void *arg) {
  grpc_call *c = arg;
  grpc_conn *conn = c->conn;
  if (!grpc_call_live(c)) return;
  if (!c->remote_closed && !c->expired) {
    /* Nothing more will be ingested (on_message checks `expired`); answer when the request
     * has been read, or after the grace period. */
    c->expired = 1;
    struct timeval grace = {.tv_sec = 0, .tv_usec = DEADLINE_DRAIN_GRACE_US};
    event_add(c->deadline, &grace);
    return;
  }
  log_debug(&c->g->s->log, "grpc: %s %s: deadline of %lld ms passed before the answer",
            conn->peer, c->method ? c->method->path : c->path,
            (long long)(c->timeout_ns / NS_PER_MS));
  grpc_call_fail(c, GRPC_DEADLINE_EXCEEDED,
                 "deadline exceeded before the events were durable (they may still be stored)");
  conn_flush(conn); /* may free conn and, through it, the call: touch neither after */
}

/* ---- nghttp2 callbacks ------------------------------------------------------------------ */

static ssize_t on_send(nghttp2_session *ng, const uint8_t *data, size_t len, int flags,
                       void *user) {
  grpc_conn *conn = user;
  struct evbuffer *out = bufferevent_get_output(conn->bev);
  if (evbuffer_get_length(out) >= OUTPUT_HIGH_WATER) return NGHTTP2_ERR_WOULDBLOCK;
  if (evbuffer_add(out, data, len) != 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
  return (ssize_t)len;
}

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *user) {
  grpc_conn *conn = user;
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  grpc_call *c = calloc(1, sizeof *c);
  if (!c) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
  c->g = conn->g;
  c->conn = conn;
  c->stream_id = frame->hd.stream_id;
  c->refs = 1;
  c->hp = HP_PATH; /* until a known :path arrives */
  grpc_framer_init(&c->fr, conn->g->max_message);
  buf_init(&c->resp);
  c->next = conn->calls;
  if (conn->calls) conn->calls->prev = c;
  conn->calls = c;
  nghttp2_session_set_stream_user_data(ng, c->stream_id, c);
  return 0;
}

static int header_is(const uint8_t *name, size_t len, const char *lit) {
  return len == strlen(lit) && memcmp(name, lit, len) == 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  grpc_call *c = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
  if (!c) return 0;
  if (header_is(name, namelen, ":path")) {
    c->method = grpc_method_find((const char *)value, valuelen);
    size_t k = valuelen < sizeof c->path - 1 ? valuelen : sizeof c->path - 1;
    for (size_t i = 0; i < k; i++)
      c->path[i] = value[i] >= 0x20 && value[i] < 0x7f ? (char)value[i] : '?';
    c->path[k] = '\0';
    if (c->method && c->hp == HP_PATH) c->hp = HP_NONE;
  } else if (header_is(name, namelen, ":method")) {
    if (!header_is(value, valuelen, "POST")) c->hp = HP_METHOD;
  } else if (header_is(name, namelen, "content-type")) {
    /* application/grpc, application/grpc+proto, application/grpc;... */
    if (!(valuelen >= 16 && strncasecmp((const char *)value, "application/grpc", 16) == 0 &&
          (valuelen == 16 || value[16] == '+' || value[16] == ';')))
      c->hp = HP_CONTENT_TYPE;
  } else if (header_is(name, namelen, "authorization")) {
    grpc_call_authorization(c, value, valuelen); /* access control (grpc_calls.c) */
  } else if (header_is(name, namelen, "grpc-timeout")) {
    int64_t ns;
    if (grpc_parse_timeout((const char *)value, valuelen, &ns) == 0) c->timeout_ns = ns ? ns : 1;
  }
  return 0;
}

/* Framer callback: one complete request message. */
static int on_message(void *arg, const uint8_t *msg, size_t len) {
  grpc_call *c = arg;
  if (!grpc_call_live(c)) return -1;
  c->nmessages++;
  if (c->expired) return 0; /* past the deadline: read, not ingested; answered at half-close */
  if (!c->method->client_streaming && c->nmessages > 1) {
    grpc_call_fail(c, GRPC_INTERNAL, "more than one request message for a unary method");
    return -1;
  }
  c->method->on_message(c, msg, len);
  arena_reset(&c->g->scratch);
  return grpc_call_live(c) ? 0 : -1;
}

/* The request headers are complete: check them, start the deadline. */
static void call_headers_done(grpc_call *c) {
  switch (c->hp) {
    case HP_METHOD: call_http_error(c, "405"); return;
    case HP_CONTENT_TYPE: call_http_error(c, "415"); return;
    case HP_PATH:
      grpc_call_fail(c, GRPC_UNIMPLEMENTED, "unknown method %s", c->path[0] ? c->path : "(none)");
      return;
    case HP_NONE: break;
  }
  if (c->timeout_ns > 0) {
    c->deadline = evtimer_new(c->g->s->base, on_deadline, c);
    if (!c->deadline) {
      grpc_call_fail(c, GRPC_RESOURCE_EXHAUSTED, "out of memory");
      return;
    }
    int64_t ns = c->timeout_ns;
    if (ns > 100LL * 365 * 86400 * NS_PER_SEC) ns = 100LL * 365 * 86400 * NS_PER_SEC;
    struct timeval tv = {.tv_sec = (time_t)(ns / NS_PER_SEC),
                         .tv_usec = (suseconds_t)(ns % NS_PER_SEC / 1000)};
    event_add(c->deadline, &tv);
  }
}

/* The client has sent everything (END_STREAM). */
static void call_half_closed(grpc_call *c) {
  c->remote_closed = 1;
  c->st.half_closed = 1;
  if (!grpc_call_live(c)) return;
  if (c->expired) {
    grpc_call_fail(c, GRPC_DEADLINE_EXCEEDED, "deadline exceeded before the request was read");
    return;
  }
  if (grpc_framer_partial(&c->fr)) {
    grpc_call_fail(c, GRPC_INTERNAL, "the request ended inside a message");
    return;
  }
  if (c->method->client_streaming) {
    if (c->method->on_half_close) c->method->on_half_close(c);
    return;
  }
  if (c->nmessages == 0) grpc_call_fail(c, GRPC_INTERNAL, "no request message for a unary method");
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *user) {
  grpc_conn *conn = user;
  if (frame->hd.type == NGHTTP2_SETTINGS && conn->hello_timer) {
    event_free(conn->hello_timer); /* the client said hello in time */
    conn->hello_timer = NULL;
  }
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
  grpc_call *c = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
  if (!c) return 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
    call_headers_done(c);
  if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) call_half_closed(c);
  return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user) {
  grpc_call *c = nghttp2_session_get_stream_user_data(ng, stream_id);
  if (!c) {
    nghttp2_session_consume(ng, stream_id, len);
    return 0;
  }
  c->unconsumed += len;
  if (grpc_call_live(c)) {
    grpc_code code;
    char msg[256];
    grpc_call_ref(c);
    if (grpc_framer_feed(&c->fr, data, len, on_message, c, &code, msg, sizeof msg) != 0 &&
        code != GRPC_OK)
      grpc_call_fail(c, code, "%s", msg);
    call_maybe_consume(c);
    grpc_call_unref(c);
  } else {
    call_maybe_consume(c);
  }
  return 0;
}

/* After the last frame of an answer went out while the client is still sending, tell it to
 * stop (RST_STREAM NO_ERROR, RFC 9113 section 8.1). */
static int on_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *user) {
  if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
  grpc_call *c = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
  if (c && !c->remote_closed)
    nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
  return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t stream_id, uint32_t error_code,
                           void *user) {
  grpc_call *c = nghttp2_session_get_stream_user_data(ng, stream_id);
  if (!c) return 0;
  if (!c->answered && c->st.pending)
    log_debug(&c->g->s->log, "grpc: %s %s: stream closed (%s) before the answer; %zu batch(es) "
              "still being stored", c->conn->peer, c->method ? c->method->path : c->path,
              nghttp2_http2_strerror(error_code), c->st.pending);
  call_detach(c);
  return 0;
}

/* ---- connections ------------------------------------------------------------------------- */

static void conn_free(grpc_conn *conn) {
  grpc_server *g = conn->g;
  conn->dead = 1;
  while (conn->calls) call_detach(conn->calls);
  nghttp2_session_del(conn->ng);
  bufferevent_free(conn->bev);
  if (conn->hello_timer) event_free(conn->hello_timer);
  if (conn->prev) conn->prev->next = conn->next;
  else g->conns = conn->next;
  if (conn->next) conn->next->prev = conn->prev;
  g->nconns--;
  free(conn);
}

/* Serialize what nghttp2 has queued; free the connection when it is finished (GOAWAY
 * exchanged and no stream left, or broken). The caller must not touch conn afterwards
 * unless it knows conn is still alive (busy). */
static void conn_flush(grpc_conn *conn) {
  if (conn->busy) return;
  if (!conn->dead) {
    conn->busy = 1;
    int rv = nghttp2_session_send(conn->ng);
    conn->busy = 0;
    if (rv != 0) {
      log_debug(&conn->g->s->log, "grpc: %s: %s", conn->peer, nghttp2_strerror(rv));
      conn->dead = 1;
    }
  }
  if (conn->dead) {
    conn_free(conn);
    return;
  }
  if (!nghttp2_session_want_read(conn->ng) && !nghttp2_session_want_write(conn->ng) &&
      evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0)
    conn_free(conn);
}

static void on_read(struct bufferevent *bev, void *arg) {
  grpc_conn *conn = arg;
  struct evbuffer *in = bufferevent_get_input(bev);
  conn->busy = 1;
  size_t len;
  while (!conn->dead && (len = evbuffer_get_length(in)) > 0) {
    struct evbuffer_iovec v;
    if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) break;
    ssize_t rv = nghttp2_session_mem_recv(conn->ng, v.iov_base, v.iov_len);
    if (rv < 0) {
      log_debug(&conn->g->s->log, "grpc: %s: %s", conn->peer, nghttp2_strerror((int)rv));
      conn->dead = 1;
      break;
    }
    evbuffer_drain(in, (size_t)rv);
  }
  conn->busy = 0;
  conn_flush(conn);
}

static void on_write(struct bufferevent *bev, void *arg) {
  conn_flush(arg); /* output drained: serialize more, or finish */
}

static void on_conn_event(struct bufferevent *bev, short what, void *arg) {
  grpc_conn *conn = arg;
  if ((what & BEV_EVENT_CONNECTED) && conn->g->tls) {
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    log_debug(&conn->g->s->log, "grpc: %s: TLS handshake done (%s, %s)", conn->peer,
              ssl ? SSL_get_version(ssl) : "?", ssl ? SSL_get_cipher_name(ssl) : "?");
  }
  if ((what & BEV_EVENT_ERROR) && conn->g->tls) {
    unsigned long e;
    char reason[256];
    while ((e = bufferevent_get_openssl_error(bev)) != 0) {
      ERR_error_string_n(e, reason, sizeof reason);
      log_debug(&conn->g->s->log, "grpc: %s: TLS: %s", conn->peer, reason);
    }
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
    if (conn->calls)
      log_debug(&conn->g->s->log, "grpc: %s: connection closed with streams open", conn->peer);
    conn_free(conn);
  }
}

/* grpc.handshake_timeout: the TLS handshake, the HTTP/2 preface and the client's SETTINGS
 * did not all arrive in time (a slow or idle client holding a connection): close it. Runs
 * outside nghttp2, so the connection can be freed here. */
static void on_hello_timeout(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  grpc_conn *conn = arg;
  grpc_server *g = conn->g;
  g->slow_hellos++;
  log_info(&g->s->log, "grpc: %s: no HTTP/2 hello within grpc.handshake_timeout (%lld ms); "
           "closing", conn->peer, (long long)(g->s->cfg.grpc_handshake_timeout_ns / NS_PER_MS));
  conn_free(conn);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg) {
  grpc_server *g = arg;
  if (g->stopping) {
    evutil_closesocket(fd);
    return;
  }
  uint64_t max = g->s->cfg.grpc_max_connections; /* hostile input (docs/security.md) */
  if (max && g->nconns >= max) {
    evutil_closesocket(fd);
    if (g->refused++ % 1000 == 0)
      log_warn(&g->s->log, "grpc: grpc.max_connections (%llu) open; closing new ones "
               "(%llu so far)", (unsigned long long)max, (unsigned long long)g->refused);
    return;
  }
  grpc_conn *conn = calloc(1, sizeof *conn);
  if (!conn) {
    evutil_closesocket(fd);
    return;
  }
  conn->g = g;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (sa->sa_family == AF_INET6) {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;
    evutil_inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof host);
    port = ntohs(a6->sin6_port);
  } else if (sa->sa_family == AF_INET) {
    struct sockaddr_in *a4 = (struct sockaddr_in *)sa;
    evutil_inet_ntop(AF_INET, &a4->sin_addr, host, sizeof host);
    port = ntohs(a4->sin_port);
  }
  snprintf(conn->peer, sizeof conn->peer, "%s:%d", host, port);
  snprintf(conn->peer_addr, sizeof conn->peer_addr, "%s", host);
  if (g->tls) {
    /* The bufferevent owns the SSL (freed with it, BEV_OPT_CLOSE_ON_FREE); the handshake
     * runs before any HTTP/2 bytes, which wait in the output buffer meanwhile. */
    SSL *ssl = evd_tls_ssl_new(g->tls);
    conn->bev = ssl ? bufferevent_openssl_socket_new(g->s->base, fd, ssl,
                                                     BUFFEREVENT_SSL_ACCEPTING,
                                                     BEV_OPT_CLOSE_ON_FREE)
                    : NULL;
    if (!conn->bev) {
      if (ssl) SSL_free(ssl);
      ERR_clear_error();
      log_error(&g->s->log, "grpc: %s: cannot set up TLS for the connection", conn->peer);
    } else {
      /* A client that closes without close_notify is an ordinary EOF, not an error. */
      bufferevent_openssl_set_allow_dirty_shutdown(conn->bev, 1);
    }
  } else {
    conn->bev = bufferevent_socket_new(g->s->base, fd, BEV_OPT_CLOSE_ON_FREE);
  }
  if (!conn->bev) {
    evutil_closesocket(fd);
    free(conn);
    return;
  }
  if (nghttp2_session_server_new2(&conn->ng, g->cbs, conn, g->opt) != 0) {
    bufferevent_free(conn->bev);
    free(conn);
    return;
  }
  conn->next = g->conns;
  if (g->conns) g->conns->prev = conn;
  g->conns = conn;
  g->nconns++;
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MAX_CONCURRENT_STREAMS},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST},
  };
  if (nghttp2_submit_settings(conn->ng, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0 ||
      nghttp2_session_set_local_window_size(conn->ng, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW) != 0) {
    conn_free(conn);
    return;
  }
  int64_t hello_ns = g->s->cfg.grpc_handshake_timeout_ns;
  if (hello_ns > 0) {
    struct timeval tv = {.tv_sec = (time_t)(hello_ns / NS_PER_SEC),
                         .tv_usec = (suseconds_t)(hello_ns % NS_PER_SEC / 1000)};
    conn->hello_timer = evtimer_new(g->s->base, on_hello_timeout, conn);
    if (conn->hello_timer) evtimer_add(conn->hello_timer, &tv);
  }
  bufferevent_setcb(conn->bev, on_read, on_write, on_conn_event, conn);
  bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
  log_debug(&g->s->log, "grpc: connection from %s", conn->peer);
  conn_flush(conn);
}

/* ---- the plugin ------------------------------------------------------------------------ */

static void grpc_free(void *state);

static int grpc_start(server *s, void **state, char *err, size_t errlen) {
  *state = NULL;
  const char *listen = s->cfg.grpc_listen;
  if (!listen || strcmp(listen, "off") == 0) return 0;
  char host[256];
  int port;
  if (config_parse_listen(listen, host, sizeof host, &port) != 0) {
    snprintf(err, errlen, "invalid grpc.listen '%s'", listen);
    return -1;
  }
  grpc_server *g = calloc(1, sizeof *g);
  if (!g) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  g->s = s;
  g->max_message = (size_t)s->cfg.grpc_max_message_bytes;
  arena_init(&g->scratch, 256 * 1024);
  if (nghttp2_session_callbacks_new(&g->cbs) != 0 || nghttp2_option_new(&g->opt) != 0) {
    snprintf(err, errlen, "out of memory");
    grpc_free(g);
    return -1;
  }
  nghttp2_session_callbacks_set_send_callback(g->cbs, on_send);
  nghttp2_session_callbacks_set_on_begin_headers_callback(g->cbs, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(g->cbs, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(g->cbs, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(g->cbs, on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_send_callback(g->cbs, on_frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(g->cbs, on_stream_close);
  nghttp2_option_set_no_auto_window_update(g->opt, 1);

  /* TLS (src/server/tls.h; ALPN h2 from grpc_tls.c), optionally with client certificates
   * (grpc.tls.client_ca); the certificate is reloaded on SIGHUP. */
  const char *cert = s->cfg.grpc_tls_cert, *key = s->cfg.grpc_tls_key;
  int tls = evd_tls_configured("grpc.tls", cert, key, s->cfg.grpc_tls_client_ca, err, errlen);
  if (tls < 0) {
    grpc_free(g);
    return -1;
  }
  if (tls) {
    evd_tls_options to = {.prefix = "grpc.tls", .cert = cert, .key = key,
                          .client_ca = s->cfg.grpc_tls_client_ca,
                          .configure = grpc_tls_configure, .log = &s->log};
    if (!(g->tls = evd_tls_new(&to, err, errlen))) {
      grpc_free(g);
      return -1;
    }
    server_tls_register(s, g->tls);
  }

  struct evutil_addrinfo hints = {0}, *ai = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_NUMERICSERV;
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", port);
  int gai = evutil_getaddrinfo(host, portstr, &hints, &ai);
  if (gai != 0 || !ai) {
    snprintf(err, errlen, "grpc: cannot resolve '%s': %s", host, evutil_gai_strerror(gai));
    grpc_free(g);
    return -1;
  }
  g->lis = evconnlistener_new_bind(s->base, on_accept, g,
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                       LEV_OPT_CLOSE_ON_EXEC,
                                   -1, ai->ai_addr, (int)ai->ai_addrlen);
  int bind_errno = errno;
  evutil_freeaddrinfo(ai);
  if (!g->lis) {
    snprintf(err, errlen, "cannot listen on %s (grpc.listen): %s", listen, strerror(bind_errno));
    grpc_free(g);
    return -1;
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  evutil_socket_t fd = evconnlistener_get_fd(g->lis);
  char addr[INET6_ADDRSTRLEN] = "?";
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_INET6) {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    evutil_inet_ntop(AF_INET6, &a6->sin6_addr, addr, sizeof addr);
    snprintf(g->addr, sizeof g->addr, "[%s]:%d", addr, ntohs(a6->sin6_port));
  } else if (ss.ss_family == AF_INET) {
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    evutil_inet_ntop(AF_INET, &a4->sin_addr, addr, sizeof addr);
    snprintf(g->addr, sizeof g->addr, "%s:%d", addr, ntohs(a4->sin_port));
  } else {
    snprintf(g->addr, sizeof g->addr, "%s", listen);
  }
  *state = g;
  return 0;
}

static void grpc_announce(void *state) {
  grpc_server *g = state;
  /* One line, parsed by tests and tools (like the HTTP one). */
  fprintf(stderr, "eventd: grpc listening on %s%s\n", g->addr,
          !g->tls ? "" : evd_tls_mtls(g->tls) ? " (TLS, ALPN h2, client certificates)"
                                               : " (TLS, ALPN h2)");
  fflush(stderr);
}

/* Graceful stop: no new connections; every connection gets GOAWAY naming the last stream
 * it will finish; calls in flight are answered, then connections close. */
static void grpc_stop(void *state) {
  grpc_server *g = state;
  if (g->stopping) return;
  g->stopping = 1;
  if (g->lis) {
    evconnlistener_free(g->lis);
    g->lis = NULL;
  }
  size_t n = 0;
  for (grpc_conn *conn = g->conns, *next; conn; conn = next) {
    next = conn->next;
    n++;
    nghttp2_submit_goaway(conn->ng, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(conn->ng), NGHTTP2_NO_ERROR,
                          (const uint8_t *)"server shutting down", 20);
    conn_flush(conn); /* may free conn */
  }
  if (n) log_info(&g->s->log, "grpc: sent GOAWAY to %zu connection(s)", n);
}

static void grpc_free(void *state) {
  grpc_server *g = state;
  if (!g) return;
  while (g->conns) conn_free(g->conns);
  if (g->lis) evconnlistener_free(g->lis);
  if (g->cbs) nghttp2_session_callbacks_del(g->cbs);
  if (g->opt) nghttp2_option_del(g->opt);
  if (g->tls) {
    server_tls_unregister(g->s, g->tls);
    evd_tls_free(g->tls);
  }
  arena_free(&g->scratch);
  free(g);
}

const input_plugin grpc_input_plugin = {
    .name = "grpc",
    .start = grpc_start,
    .announce = grpc_announce,
    .stop = grpc_stop,
    .free = grpc_free,
};
