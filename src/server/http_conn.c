/* http_conn: the connection layer under the HTTP API — TLS (http.tls.*, tls.h), the bound on
 * open connections (http.max_connections: a connection past it gets 503 + Connection: close
 * to its first request, or is cut after a second if it sends none), slow-client timeouts (http.header_timeout,
 * http.body_timeout), request rate limits (limits.rate_per_peer, limits.rate_per_token;
 * ratelimit.h) and the SIGHUP reload of every listener's certificate.
 *
 * libevent 2.1's evhttp has no hook for new connections besides the bufferevent callback
 * (evhttp_set_bevcb), and none when a connection ends, so each connection is tracked like
 * this: the callback creates the bufferevent (bufferevent_openssl with TLS, a socket one
 * otherwise), takes a reference on it (bufferevent_incref) and records it. evhttp sets its
 * callbacks on it and clears them all in bufferevent_free; the sweep timer (every 250 ms)
 * sees the cleared callbacks, drops the reference (which frees it and closes the socket) and
 * forgets the record. evhttp shuts the socket down for writing before freeing, so clients see
 * the end at once; only the close(2) waits for the sweep.
 *
 * Slow clients: an evbuffer callback on the connection's input buffer sees every byte as it
 * arrives (decrypted, with TLS). The first byte of a request starts its clock; the end of the
 * headers (an empty line) is found by scanning the new bytes; the request handler (evhttp's
 * callback, once the whole request is in) stops the clock. A request whose headers are not
 * complete within http.header_timeout, or that is not complete within http.body_timeout,
 * has its socket shut down by the sweep; evhttp then sees the end and frees the connection.
 * With TLS the clock starts at accept, so a handshake that never finishes is cut too.
 * evhttp's own idle timeout (http.idle_timeout) still applies between bytes.
 *
 * Everything runs on the loop thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/timeutil.h"
#include "server/ratelimit.h"
#include "server/server.h"
#include "server/tls.h"

#define SWEEP_MS 250
#define OVER_MAX_GRACE_NS (1000 * NS_PER_MS) /* an over-the-bound connection's time to ask */
#define REJECT_LINGER_NS (2000 * NS_PER_MS)  /* after a 413: time for the client to read it */
#define RATE_MAX_KEYS 65536
#define CONN_SLOTS 4096 /* bev -> conn hash buckets */

typedef enum conn_phase {
  PHASE_IDLE = 0, /* between requests (or handling one) */
  PHASE_HEAD,     /* request line and headers arriving (or TLS handshake) */
  PHASE_BODY      /* headers in, body arriving */
} conn_phase;

typedef struct http_conn {
  struct http_conn *prev, *next;   /* all connections */
  struct http_conn *hnext;         /* hash chain by bev */
  struct http_conns *set;
  struct bufferevent *bev;         /* we hold a reference */
  struct evbuffer_cb_entry *in_cb; /* on the input buffer */
  conn_phase phase;
  int64_t started_ns;              /* first byte of the current request (or accept) */
  unsigned last4;                  /* last bytes seen in PHASE_HEAD (end-of-headers scan) */
  int cut;                         /* shut down by us: do not log again */
  int over_max;                    /* opened past http.max_connections: answered 503 */
  /* Content-Length scan of the request head (a 413 before the body is read). */
  unsigned cl_match;               /* bytes of "\ncontent-length:" matched */
  int cl_in_value, cl_have;
  uint64_t cl_value;
  /* A request refused by us with 413: evhttp's callbacks are set aside until the answer is
   * out and the client had time to read it, then given back with an EOF. */
  int rejecting;
  int64_t reject_ns;
  bufferevent_data_cb evhttp_read, evhttp_write;
  bufferevent_event_cb evhttp_event;
  void *evhttp_arg;
} http_conn;

struct http_conns {
  server *s;
  http_conn *all;
  size_t open;
  http_conn *slots[CONN_SLOTS];
  struct event *sweep;
  ratelimit *rl_peer, *rl_token;
  evd_tls *tls;
  uint64_t refused_max, cut_header, cut_body, rate_limited_peer, rate_limited_token;
  uint64_t too_large; /* requests answered 413 from their Content-Length */
};

static size_t slot_of(const struct bufferevent *bev) {
  uintptr_t p = (uintptr_t)bev;
  return (size_t)((p >> 4) ^ (p >> 16)) % CONN_SLOTS;
}

static http_conn *conn_find(struct http_conns *cs, const struct bufferevent *bev) {
  http_conn *c = cs->slots[slot_of(bev)];
  while (c && c->bev != bev) c = c->hnext;
  return c;
}

/* Forget c and drop our reference on its bufferevent (evhttp has freed its side). */
static void conn_forget(http_conn *c) {
  struct http_conns *cs = c->set;
  http_conn **pp = &cs->slots[slot_of(c->bev)];
  while (*pp != c) pp = &(*pp)->hnext;
  *pp = c->hnext;
  if (c->prev) c->prev->next = c->next;
  else cs->all = c->next;
  if (c->next) c->next->prev = c->prev;
  cs->open--;
  if (c->in_cb) evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
  bufferevent_decref(c->bev);
  free(c);
}

/* Shut c's socket down (evhttp notices and frees the connection). */
static void conn_cut(http_conn *c) {
  evutil_socket_t fd = bufferevent_getfd(c->bev);
  c->cut = 1;
  if (fd >= 0) shutdown(fd, SHUT_RDWR);
}

/* ---- 413 from the Content-Length, before the body is read ------------------------------
 *
 * evhttp refuses a body over its maximum with its own HTML page, after reading up to the
 * maximum. Instead, the head scan below sees a Content-Length over limits.body_max_bytes at
 * the end of the headers; the connection is then taken from evhttp (its bufferevent
 * callbacks set aside), answered 413 with a JSON error and Connection: close, and what the
 * client still sends is discarded. Once the answer is written and the client closed (or
 * REJECT_LINGER_NS passed), evhttp's callbacks are put back and it is told EOF, so it frees
 * the connection as if the client had gone. A chunked body over the maximum still gets
 * evhttp's page (no length in the head). */

/* Give the connection back to evhttp with an EOF (it frees it; the sweep then forgets it). */
static void reject_finish(http_conn *c) {
  if (!c->rejecting) return;
  c->rejecting = 0;
  c->cut = 1;
  bufferevent_setcb(c->bev, c->evhttp_read, c->evhttp_write, c->evhttp_event, c->evhttp_arg);
  bufferevent_trigger_event(c->bev, BEV_EVENT_EOF | BEV_EVENT_READING, BEV_TRIG_DEFER_CALLBACKS);
}

static void reject_on_read(struct bufferevent *bev, void *arg) {
  (void)arg;
  struct evbuffer *in = bufferevent_get_input(bev);
  evbuffer_drain(in, evbuffer_get_length(in));
}

static void reject_on_write(struct bufferevent *bev, void *arg) {
  http_conn *c = arg;
  evutil_socket_t fd = bufferevent_getfd(bev);
  if (fd >= 0) shutdown(fd, SHUT_WR); /* the answer is out: FIN after it */
  (void)c;
}

static void reject_on_event(struct bufferevent *bev, short what, void *arg) {
  (void)bev;
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) reject_finish(arg);
}

/* Answer the request now with 413 and take the connection from evhttp (see above). */
static void reject_too_large(http_conn *c, struct evbuffer *in) {
  struct http_conns *cs = c->set;
  uint64_t max = cs->s->cfg.limits.body_max_bytes;
  char body[256], head[256];
  int bn = snprintf(body, sizeof body,
                    "{\"error\":\"request body of %llu bytes exceeds limits.body_max_bytes "
                    "(%llu bytes); send it in smaller requests\"}",
                    (unsigned long long)c->cl_value, (unsigned long long)max);
  int hn = snprintf(head, sizeof head,
                    "HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
                    "Content-Length: %d\r\nConnection: close\r\n\r\n",
                    bn);
  cs->too_large++;
  ingest_count_rejected(cs->s, INGEST_INPUT_HTTP, REJECT_TOO_LARGE, 1);
  bufferevent_getcb(c->bev, &c->evhttp_read, &c->evhttp_write, &c->evhttp_event, &c->evhttp_arg);
  c->rejecting = 1;
  c->reject_ns = time_mono_ns();
  c->phase = PHASE_IDLE; /* no header/body deadline while lingering */
  evbuffer_drain(in, evbuffer_get_length(in));
  bufferevent_setcb(c->bev, reject_on_read, reject_on_write, reject_on_event, c);
  bufferevent_enable(c->bev, EV_READ | EV_WRITE);
  if (bufferevent_write(c->bev, head, (size_t)hn) != 0 ||
      bufferevent_write(c->bev, body, (size_t)bn) != 0)
    reject_finish(c);
}

/* Scan one byte of a request head for "Content-Length: N" (case-insensitive, at the start
 * of a line). The value saturates (a huge length is still over the maximum). */
static void scan_content_length(http_conn *c, unsigned char ch) {
  static const char CL[] = "\ncontent-length:";
  if (c->cl_in_value) {
    if (ch >= '0' && ch <= '9') {
      uint64_t d = (uint64_t)(ch - '0');
      c->cl_value = c->cl_value > (UINT64_MAX - d) / 10 ? UINT64_MAX : c->cl_value * 10 + d;
      c->cl_have = 1;
      return;
    }
    if ((ch == ' ' || ch == '\t') && !c->cl_have) return;
    c->cl_in_value = 0; /* end of the value: this byte may start the next line */
  }
  unsigned char lc = (ch >= 'A' && ch <= 'Z') ? (unsigned char)(ch + 32) : ch;
  if (lc == (unsigned char)CL[c->cl_match]) {
    if (++c->cl_match == sizeof CL - 1) {
      c->cl_match = 0;
      c->cl_in_value = 1;
      c->cl_value = 0;
      c->cl_have = 0;
    }
  } else {
    c->cl_match = ch == '\n' ? 1 : 0;
  }
}

/* Input buffer callback: track the phases of requests as bytes arrive. */
static void on_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg) {
  http_conn *c = arg;
  if (info->n_added == 0 || c->rejecting) return;
  if (c->phase == PHASE_IDLE) {
    c->phase = PHASE_HEAD;
    c->started_ns = time_mono_ns();
    c->last4 = 0;
    c->cl_match = 1; /* the request line ends with LF before the first header */
    c->cl_in_value = c->cl_have = 0;
    c->cl_value = 0;
  }
  if (c->phase != PHASE_HEAD) return;
  size_t len = evbuffer_get_length(in);
  struct evbuffer_ptr pos;
  if (evbuffer_ptr_set(in, &pos, len - info->n_added, EVBUFFER_PTR_SET) != 0) return;
  struct evbuffer_iovec v[64];
  int n = evbuffer_peek(in, (ev_ssize_t)info->n_added, &pos, v, 64);
  if (n > 64) { /* cannot happen with libevent's read sizes; never cut a request wrongly */
    c->phase = PHASE_BODY;
    return;
  }
  size_t left = info->n_added;
  for (int i = 0; i < n && left; i++) {
    const unsigned char *p = v[i].iov_base;
    size_t k = v[i].iov_len < left ? v[i].iov_len : left;
    left -= k;
    for (size_t j = 0; j < k; j++) {
      c->last4 = (c->last4 << 8) | p[j];
      scan_content_length(c, p[j]);
      if ((c->last4 & 0xffffffffu) == 0x0d0a0d0au || (c->last4 & 0xffffu) == 0x0a0au) {
        c->phase = PHASE_BODY; /* the body's deadline counts from the same first byte */
        if (c->cl_have && c->cl_value > c->set->s->cfg.limits.body_max_bytes)
          reject_too_large(c, in);
        return;
      }
    }
  }
}

/* evhttp's bufferevent callback: one per accepted connection. */
static struct bufferevent *on_new_connection(struct event_base *base, void *arg) {
  struct http_conns *cs = arg;
  struct bufferevent *bev;
  if (cs->tls) {
    SSL *ssl = evd_tls_ssl_new(cs->tls);
    if (!ssl) return NULL; /* evhttp falls back to a plain socket: the handshake then fails */
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
      SSL_free(ssl);
      return NULL;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  } else {
    bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) return NULL;
  }
  http_conn *c = calloc(1, sizeof *c);
  if (!c) return bev; /* untracked: evhttp's own limits still apply */
  c->set = cs;
  c->bev = bev;
  /* TLS: the handshake counts as the first request's head. */
  c->phase = cs->tls ? PHASE_HEAD : PHASE_IDLE;
  c->started_ns = time_mono_ns();
  c->in_cb = evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
  bufferevent_incref(bev);
  size_t slot = slot_of(bev);
  c->hnext = cs->slots[slot];
  cs->slots[slot] = c;
  c->next = cs->all;
  if (cs->all) cs->all->prev = c;
  cs->all = c;
  cs->open++;
  uint64_t max = cs->s->cfg.http_max_connections;
  if (max && cs->open > max) {
    cs->refused_max++;
    if (cs->refused_max == 1 || cs->refused_max % 1000 == 0)
      log_warn(&cs->s->log, "http: more than http.max_connections (%llu) open; answering new "
               "ones 503 and closing them (%llu so far)", (unsigned long long)max,
               (unsigned long long)cs->refused_max);
    /* It gets an HTTP answer (503, Connection: close) to its first request
     * (http_conn_on_request); one that sends nothing is cut after OVER_MAX_GRACE_NS. */
    c->over_max = 1;
    c->phase = PHASE_HEAD;
  }
  return bev;
}

/* The sweep: forget freed connections, cut the ones past their deadline. */
static void on_sweep(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  struct http_conns *cs = arg;
  server *s = cs->s;
  int64_t now = time_mono_ns();
  for (http_conn *c = cs->all, *next; c; c = next) {
    next = c->next;
    /* bufferevent_free clears every callback; evhttp clears only the read one while it
     * writes a reply, so all three must be gone. */
    bufferevent_data_cb readcb = NULL, writecb = NULL;
    bufferevent_event_cb eventcb = NULL;
    bufferevent_getcb(c->bev, &readcb, &writecb, &eventcb, NULL);
    if (!readcb && !writecb && !eventcb) {
      conn_forget(c);
      continue;
    }
    if (c->rejecting) {
      if (now - c->reject_ns > REJECT_LINGER_NS) reject_finish(c);
      continue;
    }
    if (c->over_max && !c->cut && c->phase == PHASE_HEAD &&
        now - c->started_ns > OVER_MAX_GRACE_NS) {
      conn_cut(c); /* over http.max_connections and no request to answer */
      continue;
    }
    if (c->phase == PHASE_IDLE) continue;
    int64_t age = now - c->started_ns;
    if (c->phase == PHASE_HEAD && age > s->cfg.http_header_timeout_ns && !c->cut) {
      cs->cut_header++;
      log_info(&s->log, "http: closing a connection whose request headers took longer than "
               "http.header_timeout (%lld ms)",
               (long long)(s->cfg.http_header_timeout_ns / NS_PER_MS));
      conn_cut(c);
    } else if (c->phase == PHASE_BODY && age > s->cfg.http_body_timeout_ns && !c->cut) {
      cs->cut_body++;
      log_info(&s->log, "http: closing a connection whose request took longer than "
               "http.body_timeout (%lld ms)",
               (long long)(s->cfg.http_body_timeout_ns / NS_PER_MS));
      conn_cut(c);
    }
  }
}

int http_conn_setup(server *s, char *err, size_t errlen) {
  const evd_config *cfg = &s->cfg;
  int tls = evd_tls_configured("http.tls", cfg->http_tls_cert, cfg->http_tls_key,
                               cfg->http_tls_client_ca, err, errlen);
  if (tls < 0) return -1;
  struct http_conns *cs = calloc(1, sizeof *cs);
  if (!cs) {
    snprintf(err, errlen, "http: out of memory");
    return -1;
  }
  cs->s = s;
  s->conns = cs;
  if (tls) {
    evd_tls_options o = {.prefix = "http.tls", .cert = cfg->http_tls_cert,
                         .key = cfg->http_tls_key, .client_ca = cfg->http_tls_client_ca,
                         .log = &s->log};
    if (!(cs->tls = evd_tls_new(&o, err, errlen))) return -1;
    server_tls_register(s, cs->tls);
  }
  if (cfg->rate_per_peer &&
      !(cs->rl_peer = ratelimit_new((double)cfg->rate_per_peer, (double)cfg->rate_per_peer,
                                    RATE_MAX_KEYS))) {
    snprintf(err, errlen, "limits.rate_per_peer: out of memory");
    return -1;
  }
  if (cfg->rate_per_token &&
      !(cs->rl_token = ratelimit_new((double)cfg->rate_per_token, (double)cfg->rate_per_token,
                                     RATE_MAX_KEYS))) {
    snprintf(err, errlen, "limits.rate_per_token: out of memory");
    return -1;
  }
  cs->sweep = event_new(s->base, -1, EV_PERSIST, on_sweep, cs);
  struct timeval tv = {0, SWEEP_MS * 1000};
  if (!cs->sweep || event_add(cs->sweep, &tv) != 0) {
    snprintf(err, errlen, "http: cannot create the connection sweep timer");
    return -1;
  }
  evhttp_set_bevcb(s->http, on_new_connection, cs);
  return 0;
}

int http_conn_is_tls(const server *s) { return s->conns && s->conns->tls; }

/* Answer 429 with Retry-After (whole seconds, at least 1). */
static void reply_rate_limited(server *s, struct evhttp_request *req, route r, int64_t wait_ns,
                               const char *which) {
  long long secs = (wait_ns + NS_PER_SEC - 1) / NS_PER_SEC;
  if (secs < 1) secs = 1;
  char v[32];
  snprintf(v, sizeof v, "%lld", secs);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", v);
  http_reply_error(s, req, r, 429, "too many requests (%s); retry in %lld s", which, secs);
}

int http_conn_on_request(server *s, struct evhttp_request *req, route r) {
  struct http_conns *cs = s->conns;
  if (!cs) return 1;
  struct evhttp_connection *evcon = evhttp_request_get_connection(req);
  if (!evcon) return 1;
  http_conn *c = conn_find(cs, evhttp_connection_get_bufferevent(evcon));
  if (c) c->phase = PHASE_IDLE; /* the whole request is in */
  if (c && c->over_max) {
    /* evhttp closes the connection once this answer is written (Connection: close). */
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Retry-After", "1");
    evhttp_add_header(h, "Connection", "close");
    http_reply_error(s, req, r, 503,
                     "too many connections: http.max_connections (%llu) are open; retry later",
                     (unsigned long long)s->cfg.http_max_connections);
    return 0;
  }
  if (!cs->rl_peer || r == ROUTE_HEALTHZ) return 1; /* health checks are never limited */
  char *addr = NULL;
  ev_uint16_t port = 0;
  evhttp_connection_get_peer(evcon, &addr, &port);
  if (!addr) return 1;
  int64_t wait = ratelimit_take(cs->rl_peer, addr, strlen(addr), time_mono_ns());
  if (wait == 0) return 1;
  cs->rate_limited_peer++;
  reply_rate_limited(s, req, r, wait, "limits.rate_per_peer");
  return 0;
}

int64_t server_rate_peer(server *s, const char *addr) {
  struct http_conns *cs = s->conns;
  if (!cs || !cs->rl_peer || !addr || !*addr) return 0;
  int64_t wait = ratelimit_take(cs->rl_peer, addr, strlen(addr), time_mono_ns());
  if (wait) cs->rate_limited_peer++;
  return wait;
}

int64_t server_rate_token(server *s, const auth_principal *p) {
  struct http_conns *cs = s->conns;
  if (!cs || !cs->rl_token || !p) return 0;
  char key[32];
  int n = snprintf(key, sizeof key, "%lld", (long long)p->id);
  int64_t wait = ratelimit_take(cs->rl_token, key, (size_t)n, time_mono_ns());
  if (wait) cs->rate_limited_token++;
  return wait;
}

int http_conn_rate_token(server *s, struct evhttp_request *req, route r,
                         const auth_principal *p) {
  int64_t wait = server_rate_token(s, p);
  if (wait == 0) return 1;
  reply_rate_limited(s, req, r, wait, "limits.rate_per_token");
  return 0;
}

int http_conn_render_metrics(const server *s, buf *out) {
  const struct http_conns *cs = s->conns;
  if (!cs) return 0;
  return buf_printf(out,
                    "# HELP eventd_http_connections_open HTTP connections open now.\n"
                    "# TYPE eventd_http_connections_open gauge\n"
                    "eventd_http_connections_open %zu\n"
                    "# HELP eventd_http_connections_refused_total HTTP connections answered 503 "
                    "and closed because http.max_connections were open.\n"
                    "# TYPE eventd_http_connections_refused_total counter\n"
                    "eventd_http_connections_refused_total %llu\n"
                    "# HELP eventd_http_slow_requests_total HTTP connections closed because a "
                    "request was too slow to arrive.\n"
                    "# TYPE eventd_http_slow_requests_total counter\n"
                    "eventd_http_slow_requests_total{timeout=\"header\"} %llu\n"
                    "eventd_http_slow_requests_total{timeout=\"body\"} %llu\n"
                    "# HELP eventd_http_rate_limited_total HTTP requests answered 429.\n"
                    "# TYPE eventd_http_rate_limited_total counter\n"
                    "eventd_http_rate_limited_total{limit=\"peer\"} %llu\n"
                    "eventd_http_rate_limited_total{limit=\"token\"} %llu\n"
                    "# HELP eventd_http_too_large_total HTTP requests answered 413 from their "
                    "Content-Length (limits.body_max_bytes) before the body was read.\n"
                    "# TYPE eventd_http_too_large_total counter\n"
                    "eventd_http_too_large_total %llu\n",
                    cs->open, (unsigned long long)cs->refused_max,
                    (unsigned long long)cs->cut_header, (unsigned long long)cs->cut_body,
                    (unsigned long long)cs->rate_limited_peer,
                    (unsigned long long)cs->rate_limited_token,
                    (unsigned long long)cs->too_large) < 0
             ? -1
             : 0;
}

void http_conn_free(server *s) {
  struct http_conns *cs = s->conns;
  if (!cs) return;
  /* evhttp_free has run: every connection's bufferevent is released by evhttp. */
  while (cs->all) conn_forget(cs->all);
  if (cs->sweep) event_free(cs->sweep);
  ratelimit_free(cs->rl_peer);
  ratelimit_free(cs->rl_token);
  if (cs->tls) {
    server_tls_unregister(s, cs->tls);
    evd_tls_free(cs->tls);
  }
  free(cs);
  s->conns = NULL;
}

/* ---- TLS holders reloaded on SIGHUP ---------------------------------------------------- */

void server_tls_register(server *s, evd_tls *t) {
  for (size_t i = 0; i < SERVER_TLS_MAX; i++)
    if (!s->tls_holders[i]) {
      s->tls_holders[i] = t;
      return;
    }
  log_warn(&s->log, "tls: more than %d TLS listeners; %s is not reloaded on SIGHUP",
           SERVER_TLS_MAX, evd_tls_prefix(t));
}

void server_tls_unregister(server *s, evd_tls *t) {
  for (size_t i = 0; i < SERVER_TLS_MAX; i++)
    if (s->tls_holders[i] == t) s->tls_holders[i] = NULL;
}

int server_tls_reload(server *s) {
  return evd_tls_reload_all(s->tls_holders, SERVER_TLS_MAX, &s->log);
}
