/* http_tokens: access control on the HTTP front end — authenticating requests (Bearer, and
 * Basic for the Elasticsearch-compatible endpoints), the role check per endpoint, narrowing
 * reads to the caller's tenants, the failed-authentication slowdown, the /v1/tokens API and
 * the startup checks of auth.mode. The model: auth.h and docs/security.md.
 *
 * A failed authentication is answered 401 with WWW-Authenticate. After a few failures from
 * one peer address the answer is held back (auth_throttle_fail: 100 ms doubling to 5 s);
 * while held, the request waits on a timer and its connection's close is watched so that a
 * peer that goes away does not leave a dangling request (same rules as the ingest path in
 * http_api.c). */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "core/timeutil.h"
#include "server/server.h"

/* A 401 answer held back by the slowdown. */
typedef struct held_reply {
  struct http_auth *owner;
  struct evhttp_request *req;     /* NULL once evhttp freed it with its connection */
  struct evhttp_connection *conn;
  int detached;                   /* connection gone, request ours to free */
  route r;
  int basic;
  struct event *timer;
  struct held_reply *prev, *next;
} held_reply;

typedef struct http_auth {
  server *s;
  auth_db *db;
  auth_throttle *thr;
  held_reply *held;
  uint64_t failures;  /* 401 answers */
  uint64_t denied;    /* 403 answers */
  uint64_t delayed;   /* 401 answers held back */
  uint64_t ok;        /* authenticated requests */
} http_auth;

/* ---- startup ---------------------------------------------------------------------------- */

/* Check one listener's address for auth off. Returns 0, or -1 with err. */
static int check_loopback(const char *setting, const char *listen, int allow, logger *log,
                          char *err, size_t errlen) {
  if (!listen || strcmp(listen, "off") == 0) return 0;
  char host[256];
  int port;
  if (config_parse_listen(listen, host, sizeof host, &port) != 0) return 0; /* reported later */
  if (auth_host_is_loopback(host)) return 0;
  if (allow) {
    log_warn(log, "auth: off while %s %s is not a loopback address: anyone who can reach it "
                  "may read and write every event (auth.allow_insecure: true)",
             setting, listen);
    return 0;
  }
  snprintf(err, errlen,
           "refusing to start: auth.mode is off but %s %s is not a loopback address, so anyone "
           "who can reach it could read and write every event; start with --auth on (see "
           "docs/security.md), listen on 127.0.0.1, or set auth.allow_insecure: true",
           setting, listen);
  return -1;
}

static int is_set(const char *v) { return v && *v; }

/* With auth on, the socket inputs (no bearer tokens) must know who sends beyond loopback:
 * syslog and lines need mTLS (<input>.tls.client_ca: the certificate's CN names a token) or
 * an allow list (<input>.allow); forward also takes its shared key (forward.shared_key).
 * auth.allow_insecure: true lets them start anyway (with a warning). Returns 0, or -1 with
 * err naming the setting and the remedies. */
static int check_socket_inputs(server *s, int allow_insecure, char *err, size_t errlen) {
  const evd_config *c = &s->cfg;
  const struct {
    const char *name, *listen, *client_ca, *allow, *shared_key;
  } L[] = {{"forward", c->forward_listen, c->forward_tls_client_ca, c->forward_allow,
            c->forward_shared_key},
           {"syslog", c->syslog_listen, c->syslog_tls_client_ca, c->syslog_allow, NULL},
           {"lines", c->lines_listen, c->lines_tls_client_ca, c->lines_allow, NULL}};
  for (size_t i = 0; i < sizeof L / sizeof L[0]; i++) {
    if (!L[i].listen || strcmp(L[i].listen, "off") == 0) continue;
    char host[256];
    int port;
    if (config_parse_listen(L[i].listen, host, sizeof host, &port) != 0) continue; /* later */
    if (auth_host_is_loopback(host)) continue;
    if (is_set(L[i].client_ca) || is_set(L[i].allow) || is_set(L[i].shared_key)) continue;
    if (allow_insecure) {
      log_warn(&s->log, "auth: %s.listen %s is not a loopback address and has no %s%s.tls."
                        "client_ca or %s.allow: anyone who can reach it may send events "
                        "(auth.allow_insecure: true)",
               L[i].name, L[i].listen, strcmp(L[i].name, "forward") == 0 ? "forward.shared_key, " : "",
               L[i].name, L[i].name);
      continue;
    }
    snprintf(err, errlen,
             "refusing to start: auth.mode is on but %s.listen %s is not a loopback address "
             "and nothing identifies its senders, so anyone who can reach it could send "
             "events; set %s%s.tls.client_ca (mTLS: the certificate's CN names an ingest "
             "token), set %s.allow (client CIDRs), listen on 127.0.0.1, or set "
             "auth.allow_insecure: true (see docs/security.md)",
             L[i].name, L[i].listen, strcmp(L[i].name, "forward") == 0 ? "forward.shared_key or " : "",
             L[i].name, L[i].name);
    return -1;
  }
  return 0;
}

int server_auth_start(server *s, char *err, size_t errlen) {
  const evd_config *c = &s->cfg;
  int on = c->auth_mode && strcmp(c->auth_mode, "on") == 0;
  int allow = c->auth_allow_insecure && strcmp(c->auth_allow_insecure, "true") == 0;
  if (!on) {
    const struct {
      const char *setting, *listen;
    } L[] = {{"http.listen", c->http_listen},
             {"grpc.listen", c->grpc_listen},
             {"forward.listen", c->forward_listen},
             {"syslog.listen", c->syslog_listen},
             {"lines.listen", c->lines_listen}};
    for (size_t i = 0; i < sizeof L / sizeof L[0]; i++)
      if (check_loopback(L[i].setting, L[i].listen, allow, &s->log, err, errlen) != 0) return -1;
    return 0;
  }
  if (check_socket_inputs(s, allow, err, errlen) != 0) return -1;
  http_auth *a = calloc(1, sizeof *a);
  if (!a) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  a->s = s;
  a->thr = auth_throttle_new();
  const char *boot = NULL;
  if (!a->thr || auth_db_open(c->data_dir, &a->db, &boot, err, errlen) != 0) {
    if (!a->thr) snprintf(err, errlen, "out of memory");
    auth_throttle_free(a->thr);
    free(a);
    return -1;
  }
  s->auth = a;
  if (boot)
    log_info(&s->log, "auth: bootstrap admin token written to %s (mode 0600, owner only)", boot);
  log_info(&s->log, "auth: on, %zu active tokens", auth_db_active_count(a->db));
  return 0;
}

static void held_free(held_reply *h) {
  http_auth *a = h->owner;
  if (h->prev) h->prev->next = h->next;
  else a->held = h->next;
  if (h->next) h->next->prev = h->prev;
  if (h->timer) event_free(h->timer);
  free(h);
}

void server_auth_free(server *s) {
  http_auth *a = s->auth;
  if (!a) return;
  while (a->held) {
    held_reply *h = a->held;
    if (h->req && h->detached) evhttp_request_free(h->req);
    else if (h->req && h->conn) evhttp_connection_set_closecb(h->conn, NULL, NULL);
    held_free(h);
  }
  auth_db_close(a->db);
  auth_throttle_free(a->thr);
  free(a);
  s->auth = NULL;
}

/* ---- authentication ----------------------------------------------------------------------- */

static void send_401(server *s, struct evhttp_request *req, route r, int basic) {
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"eventd\"");
  if (basic) evhttp_add_header(h, "WWW-Authenticate", "Basic realm=\"eventd\"");
  http_reply_error(s, req, r, 401, "missing or unknown token: send Authorization: Bearer TOKEN");
}

static void on_held_close(struct evhttp_connection *conn, void *arg) {
  (void)conn;
  held_reply *h = arg;
  if (!h->req) return;
  if (evhttp_request_get_connection(h->req) == NULL) h->detached = 1;
  else h->req = NULL;
}

static void on_held_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  held_reply *h = arg;
  server *s = h->owner->s;
  if (h->req && h->detached) {
    evhttp_request_free(h->req);
    h->req = NULL;
  }
  if (h->req) {
    if (h->conn) evhttp_connection_set_closecb(h->conn, NULL, NULL);
    send_401(s, h->req, h->r, h->basic);
  }
  held_free(h);
}

/* Answer 401, after `ms` when positive. */
static void reply_401(server *s, struct evhttp_request *req, route r, int basic, long ms) {
  http_auth *a = s->auth;
  a->failures++;
  if (ms <= 0 || s->stopping) {
    send_401(s, req, r, basic);
    return;
  }
  held_reply *h = calloc(1, sizeof *h);
  if (h) h->timer = evtimer_new(s->base, on_held_timer, h);
  if (!h || !h->timer) {
    free(h);
    send_401(s, req, r, basic);
    return;
  }
  h->owner = a;
  h->req = req;
  h->conn = evhttp_request_get_connection(req);
  h->r = r;
  h->basic = basic;
  h->next = a->held;
  if (a->held) a->held->prev = h;
  a->held = h;
  a->delayed++;
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  evtimer_add(h->timer, &tv);
  if (h->conn) evhttp_connection_set_closecb(h->conn, on_held_close, h);
}

/* Decode standard base64 s[0..n) into out (cap bytes). Returns the length or -1. */
static long b64_decode(const char *s, size_t n, char *out, size_t cap) {
  unsigned v = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    int d;
    if (ch >= 'A' && ch <= 'Z') d = ch - 'A';
    else if (ch >= 'a' && ch <= 'z') d = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9') d = ch - '0' + 52;
    else if (ch == '+') d = 62;
    else if (ch == '/') d = 63;
    else if (ch == '=') break;
    else return -1;
    v = (v << 6) | (unsigned)d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o >= cap) return -1;
      out[o++] = (char)((v >> bits) & 0xff);
    }
  }
  return (long)o;
}

/* The token of an Authorization header value (Bearer, or Basic when allowed: the password,
 * whose user must be the token's name). Returns 0 with *p, -1 otherwise. */
static int authenticate_header(http_auth *a, const char *hv, int allow_basic, auth_principal *p) {
  if (!hv) return -1;
  while (*hv == ' ') hv++;
  int64_t now = time_now_ns();
  if (strncasecmp(hv, "Bearer ", 7) == 0) {
    const char *t = hv + 7;
    while (*t == ' ') t++;
    size_t n = strlen(t);
    while (n && t[n - 1] == ' ') n--;
    return auth_db_authenticate(a->db, t, n, now, p);
  }
  if (allow_basic && strncasecmp(hv, "Basic ", 6) == 0) {
    const char *t = hv + 6;
    while (*t == ' ') t++;
    size_t n = strlen(t);
    while (n && t[n - 1] == ' ') n--;
    char dec[AUTH_NAME_MAX + AUTH_TOKEN_LEN + 8];
    long k = b64_decode(t, n, dec, sizeof dec - 1);
    if (k < 0) return -1;
    dec[k] = '\0';
    char *colon = memchr(dec, ':', (size_t)k);
    if (!colon) return -1;
    *colon = '\0';
    const char *tok = colon + 1;
    if (auth_db_authenticate(a->db, tok, strlen(tok), now, p) != 0) return -1;
    return strcmp(dec, p->name) == 0 ? 0 : -1;
  }
  return -1;
}

int http_auth_request(server *s, struct evhttp_request *req, route r, auth_action act,
                      int allow_basic, auth_principal *p) {
  http_auth *a = s->auth;
  if (!a) return 1;
  const char *hv = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
  char peer[64] = "?";
  struct evhttp_connection *conn = evhttp_request_get_connection(req);
  if (conn) {
    const char *addr = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(conn, (char **)&addr, &port);
    if (addr) snprintf(peer, sizeof peer, "%s", addr);
  }
  if (authenticate_header(a, hv, allow_basic, p) != 0) {
    /* Only presented tokens count as guesses: a request without one is not slowed down. */
    long ms = hv ? auth_throttle_fail(a->thr, peer, time_now_ns()) : 0;
    log_info(&s->log, "auth: %s from %s: %s %s", hv ? "unknown token" : "no token", peer,
             route_label(r), ms > 0 ? "(answer delayed)" : "");
    reply_401(s, req, r, allow_basic, ms);
    return 0;
  }
  auth_throttle_ok(a->thr, peer);
  if (!auth_allows(p, act)) {
    a->denied++;
    http_reply_error(s, req, r, 403, "token '%s' (role %s) may not use this endpoint (%s)", p->name,
                     auth_role_name(p->role), auth_action_name(act));
    return 0;
  }
  a->ok++;
  return 1;
}

int server_auth_bearer(server *s, const char *value, size_t len, auth_principal *p) {
  http_auth *a = s->auth;
  if (!a) return -1;
  char hv[AUTH_TOKEN_LEN + 64];
  if (len >= sizeof hv) {
    a->failures++;
    return -1;
  }
  memcpy(hv, value, len);
  hv[len] = '\0';
  if (authenticate_header(a, hv, 0, p) != 0) {
    a->failures++;
    return -1;
  }
  a->ok++;
  return 0;
}

int server_auth_principal_by_name(server *s, const char *name, auth_principal *p) {
  http_auth *a = s->auth;
  if (!a) return -3;
  return auth_db_find_by_name(a->db, name, p);
}

int http_auth_restrict(server *s, struct evhttp_request *req, route r, store_filter *f, arena *ar) {
  const auth_principal *p = s->req_principal;
  if (!s->auth || !p) return 0;
  char err[512];
  if (auth_restrict_filter(p, f, ar, err, sizeof err) != 0) {
    int oom = strcmp(err, "out of memory") == 0;
    if (!oom) s->auth->denied++;
    http_reply_error(s, req, r, oom ? 503 : 403, "%s", err);
    return -1;
  }
  return 0;
}

void http_auth_restrict_quiet(const server *s, store_filter *f) {
  const auth_principal *p = s->req_principal;
  if (!s->auth || !p) return;
  char err[512];
  if (auth_restrict_filter(p, f, NULL, err, sizeof err) != 0) {
    f->since_ns = INT64_MAX; /* an empty window: nothing matches */
    f->until_ns = INT64_MIN;
  }
}

int http_auth_visible(const server *s, const record_view *rv) {
  const auth_principal *p = s->req_principal;
  if (!s->auth || !p) return 1;
  return auth_visible(p, rv->f[EVF_TENANT], rv->f[EVF_STREAM], rv->f[EVF_TYPE]);
}

int http_auth_render_metrics(const server *s, buf *out) {
  const http_auth *a = s->auth;
  if (!a) return 0;
  int rc = buf_puts(out,
                    "# HELP eventd_auth_failures_total Requests answered 401 (no or unknown token).\n"
                    "# TYPE eventd_auth_failures_total counter\n");
  rc |= buf_printf(out, "eventd_auth_failures_total %llu\n", (unsigned long long)a->failures);
  rc |= buf_puts(out,
                 "# HELP eventd_auth_delayed_total 401 answers held back by the brute-force slowdown.\n"
                 "# TYPE eventd_auth_delayed_total counter\n");
  rc |= buf_printf(out, "eventd_auth_delayed_total %llu\n", (unsigned long long)a->delayed);
  rc |= buf_puts(out,
                 "# HELP eventd_auth_denied_total Requests answered 403 (role or tenant not allowed).\n"
                 "# TYPE eventd_auth_denied_total counter\n");
  rc |= buf_printf(out, "eventd_auth_denied_total %llu\n", (unsigned long long)a->denied);
  rc |= buf_puts(out,
                 "# HELP eventd_auth_tokens Active (not revoked) API tokens.\n"
                 "# TYPE eventd_auth_tokens gauge\n");
  rc |= buf_printf(out, "eventd_auth_tokens %zu\n", auth_db_active_count(a->db));
  return rc ? -1 : 0;
}

/* ---- /v1/tokens --------------------------------------------------------------------------- */

/* Append a comma-separated list as a JSON array. */
static int write_list(buf *out, const char *list) {
  int rc = buf_putc(out, '[');
  for (const char *p = list; *p;) {
    const char *c = strchr(p, ',');
    size_t k = c ? (size_t)(c - p) : strlen(p);
    if (p != list) rc |= buf_putc(out, ',');
    rc |= json_write_string(out, p, k);
    if (!c) break;
    p = c + 1;
  }
  return rc | buf_putc(out, ']');
}

static int write_time(buf *out, const char *name, int64_t ns) {
  int rc = buf_printf(out, ",\"%s\":", name);
  if (!ns) return rc | buf_puts(out, "null");
  char t[TIME_RFC3339_LEN + 1];
  time_format_rfc3339(ns, t);
  return rc | buf_printf(out, "\"%s\"", t);
}

static int write_token(buf *out, const auth_token_info *t) {
  int rc = buf_printf(out, "{\"id\":%lld,\"name\":", (long long)t->p.id);
  rc |= json_write_string(out, t->p.name, strlen(t->p.name));
  rc |= buf_printf(out, ",\"role\":\"%s\",\"tenant\":", auth_role_name(t->p.role));
  rc |= json_write_string(out, t->p.tenant, strlen(t->p.tenant));
  rc |= buf_puts(out, ",\"streams\":");
  rc |= write_list(out, t->p.streams);
  rc |= buf_puts(out, ",\"type_prefixes\":");
  rc |= write_list(out, t->p.type_prefixes);
  rc |= write_time(out, "created", t->created_ns);
  rc |= write_time(out, "last_used", t->last_used_ns);
  rc |= buf_printf(out, ",\"revoked\":%s", t->revoked ? "true" : "false");
  return rc;
}

/* Copy a string member (or array of strings, joined with ',') into dst. Returns 0, 1 when
 * absent, -1 with err. */
static int member_text(const json_value *obj, const char *key, int list, char *dst, size_t cap,
                       char *err, size_t errlen) {
  const json_value *v = json_get(obj, key);
  dst[0] = '\0';
  if (!v || v->type == JSON_NULL) return 1;
  if (v->type == JSON_STRING) {
    if (v->n >= cap || memchr(v->s, '\0', v->n)) {
      snprintf(err, errlen, "%s: longer than %zu bytes", key, cap - 1);
      return -1;
    }
    memcpy(dst, v->s, v->n);
    dst[v->n] = '\0';
    return 0;
  }
  if (list && v->type == JSON_ARRAY) {
    size_t o = 0;
    for (const json_value *e = v->child; e; e = e->next) {
      if (e->type != JSON_STRING || e->n == 0 || memchr(e->s, ',', e->n)) {
        snprintf(err, errlen, "%s: expected an array of non-empty strings without commas", key);
        return -1;
      }
      if (o + e->n + 2 > cap) {
        snprintf(err, errlen, "%s: longer than %zu bytes in all", key, cap - 1);
        return -1;
      }
      if (o) dst[o++] = ',';
      memcpy(dst + o, e->s, e->n);
      o += e->n;
    }
    dst[o] = '\0';
    return 0;
  }
  snprintf(err, errlen, "%s: expected a string%s, got %s", key, list ? " or an array of strings" : "",
           json_type_name(v->type));
  return -1;
}

static void tokens_create(server *s, struct evhttp_request *req, const auth_principal *by) {
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(in);
  const char *body = (const char *)evbuffer_pullup(in, -1);
  json_error je;
  json_value *v = body ? json_parse(&s->req_arena, body, len, 8, &je) : NULL;
  char err[512];
  if (!v || v->type != JSON_OBJECT) {
    http_reply_error(s, req, ROUTE_TOKENS, 400,
                     "expected a JSON object {role, tenant, name?, streams?, type_prefixes?}");
    return;
  }
  for (const json_value *m = v->child; m; m = m->next) {
    static const char *const known[] = {"role", "tenant", "name", "streams", "type_prefixes"};
    int ok = 0;
    for (size_t i = 0; i < 5; i++) ok |= strlen(known[i]) == m->key_len && memcmp(m->key, known[i], m->key_len) == 0;
    if (!ok) {
      char shown[80];
      http_reply_error(s, req, ROUTE_TOKENS, 400, "unknown member '%s' (role, tenant, name, streams, type_prefixes)",
                       http_printable(m->key, m->key_len, shown));
      return;
    }
  }
  auth_principal spec;
  memset(&spec, 0, sizeof spec);
  char role[32];
  int rc = member_text(v, "role", 0, role, sizeof role, err, sizeof err);
  if (rc == 0) {
    int r = auth_role_parse(role);
    if (r < 0) {
      snprintf(err, sizeof err, "role: expected admin, domain-admin, user, ingest or read, got '%.32s'", role);
      rc = -1;
    } else {
      spec.role = (auth_role)r;
    }
  } else if (rc == 1) {
    snprintf(err, sizeof err, "role is required (admin, domain-admin, user, ingest or read)");
    rc = -1;
  }
  if (rc == 0) rc = member_text(v, "tenant", 0, spec.tenant, sizeof spec.tenant, err, sizeof err);
  if (rc == 1 && spec.role != AUTH_ROLE_ADMIN) {
    snprintf(err, sizeof err, "tenant is required (\"\" is the root, for admin and read tokens)");
    rc = -1;
  }
  if (rc >= 0) rc = member_text(v, "name", 0, spec.name, sizeof spec.name, err, sizeof err);
  if (rc >= 0 && spec.name[0]) {
    for (const char *p = spec.name; *p; p++)
      if ((unsigned char)*p < 0x20 || *p == ':' || *p == 0x7f) {
        snprintf(err, sizeof err, "name: no control characters or ':' (it is the Basic auth user)");
        rc = -1;
        break;
      }
  }
  if (rc == 1 || (rc == 0 && !spec.name[0])) {
    snprintf(spec.name, sizeof spec.name, "%.16s@%.100s", auth_role_name(spec.role),
             spec.tenant[0] ? spec.tenant : "root");
    rc = 0;
  }
  if (rc >= 0) rc = member_text(v, "streams", 1, spec.streams, sizeof spec.streams, err, sizeof err);
  if (rc >= 0)
    rc = member_text(v, "type_prefixes", 1, spec.type_prefixes, sizeof spec.type_prefixes, err,
                     sizeof err);
  if (rc < 0) {
    http_reply_error(s, req, ROUTE_TOKENS, 400, "%s", err);
    return;
  }
  char tok[AUTH_TOKEN_LEN + 1];
  auth_token_info info;
  rc = auth_db_create(s->auth->db, by, &spec, time_now_ns(), tok, &info, err, sizeof err);
  if (rc != 0) {
    http_reply_error(s, req, ROUTE_TOKENS, rc == -1 ? 400 : rc == -2 ? 403 : 500, "%s", err);
    return;
  }
  log_info(&s->log, "auth: token %lld '%s' (%s, tenant '%s') created by '%s'", (long long)info.p.id,
           info.p.name, auth_role_name(info.p.role), info.p.tenant, by->name);
  buf out = BUF_INIT;
  int w = write_token(&out, &info);
  w |= buf_puts(&out, ",\"token\":");
  w |= json_write_string(&out, tok, strlen(tok));
  w |= buf_putc(&out, '}');
  if (w) http_reply_error(s, req, ROUTE_TOKENS, 500, "out of memory");
  else http_reply_buf(s, req, ROUTE_TOKENS, 201, &out);
  memset(tok, 0, sizeof tok);
  if (out.data) memset(out.data, 0, out.len);
  buf_free(&out);
}

typedef struct list_ctx {
  buf *out;
  size_t n;
  int rc;
} list_ctx;

static int on_list_token(void *arg, const auth_token_info *t) {
  list_ctx *c = arg;
  if (c->n++) c->rc |= buf_putc(c->out, ',');
  c->rc |= write_token(c->out, t);
  c->rc |= buf_putc(c->out, '}');
  return c->rc;
}

static void tokens_list(server *s, struct evhttp_request *req, const auth_principal *by) {
  buf out = BUF_INIT;
  list_ctx c = {&out, 0, buf_puts(&out, "{\"tokens\":[")};
  char err[512];
  if (auth_db_list(s->auth->db, by, on_list_token, &c, err, sizeof err) != 0) {
    buf_free(&out);
    http_reply_error(s, req, ROUTE_TOKENS, 500, "%s", err);
    return;
  }
  c.rc |= buf_puts(&out, "]}");
  if (c.rc) http_reply_error(s, req, ROUTE_TOKENS, 500, "out of memory");
  else http_reply_buf(s, req, ROUTE_TOKENS, 200, &out);
  buf_free(&out);
}

static void tokens_revoke(server *s, struct evhttp_request *req, const auth_principal *by,
                          const char *idtext) {
  char *end = NULL;
  errno = 0;
  long long id = strtoll(idtext, &end, 10);
  char err[512];
  int rc = (!*idtext || *end || errno || id <= 0) ? -ENOENT
                                                  : auth_db_revoke(s->auth->db, by, id, err, sizeof err);
  if (rc == -ENOENT) {
    char shown[80];
    http_reply_error(s, req, ROUTE_TOKENS, 404, "no such token: %s",
                     http_printable(idtext, strlen(idtext), shown));
  } else if (rc != 0) {
    http_reply_error(s, req, ROUTE_TOKENS, 500, "%s", err);
  } else {
    log_info(&s->log, "auth: token %lld revoked by '%s'", id, by->name);
    buf out = BUF_INIT;
    if (buf_printf(&out, "{\"revoked\":%lld}", id) != 0)
      http_reply_error(s, req, ROUTE_TOKENS, 500, "out of memory");
    else http_reply_buf(s, req, ROUTE_TOKENS, 200, &out);
    buf_free(&out);
  }
}

void http_tokens_route(server *s, struct evhttp_request *req, const char *path) {
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  const auth_principal *by = s->req_principal;
  if (!s->auth || !by) {
    http_reply_error(s, req, ROUTE_TOKENS, 404,
                     "access control is off (auth.mode: off): there are no tokens; start eventd "
                     "with --auth on");
    goto done;
  }
  if (strcmp(path, "/v1/tokens") == 0) {
    if (m == EVHTTP_REQ_POST) tokens_create(s, req, by);
    else if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD) tokens_list(s, req, by);
    else http_method_not_allowed(s, req, ROUTE_TOKENS, "GET, HEAD, POST");
  } else if (strncmp(path, "/v1/tokens/", 11) == 0 && path[11] && !strchr(path + 11, '/')) {
    if (m == EVHTTP_REQ_DELETE) tokens_revoke(s, req, by, path + 11);
    else http_method_not_allowed(s, req, ROUTE_TOKENS, "DELETE");
  } else {
    char shown[80];
    http_reply_error(s, req, ROUTE_TOKENS, 404, "no such endpoint: %s",
                     http_printable(path, strlen(path), shown));
  }
done:
  arena_reset(&s->req_arena);
}

/* ---- which action each endpoint is ---------------------------------------------------------- */

/* The action and metrics route of a request (see the table in docs/security.md). *basic is
 * set for the endpoints of HTTP-port inputs (Elasticsearch-compatible: Basic auth too). */
void http_auth_classify(const char *path, int is_post, auth_action *act, route *r, int *basic) {
  *basic = 0;
  if (strcmp(path, "/v1/events") == 0) {
    *act = is_post ? AUTH_ACT_INGEST : AUTH_ACT_READ;
    *r = is_post ? ROUTE_INGEST : ROUTE_QUERY;
  } else if (strcmp(path, "/v1/events/count") == 0) {
    *act = AUTH_ACT_READ, *r = ROUTE_COUNT;
  } else if (strcmp(path, "/v1/events/histogram") == 0) {
    *act = AUTH_ACT_READ, *r = ROUTE_HISTOGRAM;
  } else if (strcmp(path, "/v1/events/archive") == 0 || strcmp(path, "/v1/events/delete") == 0 ||
             strcmp(path, "/v1/events/purge") == 0) {
    /* lifecycle: READ lets every reading role through; http_lifecycle.c then refuses the
     * roles that may not manage events (docs/security.md) */
    *act = AUTH_ACT_READ, *r = ROUTE_LIFECYCLE;
  } else if (strncmp(path, "/v1/events/", 11) == 0) {
    *act = AUTH_ACT_READ, *r = ROUTE_GET;
  } else if (strcmp(path, "/v1/tail") == 0) {
    *act = AUTH_ACT_READ, *r = ROUTE_TAIL;
  } else if (strncmp(path, "/magma/", 7) == 0) {
    *act = AUTH_ACT_READ, *r = ROUTE_MAGMA_EVENTS;
  } else if (strcmp(path, "/v1/registry/reload") == 0) {
    *act = AUTH_ACT_REGISTRY_ADMIN, *r = ROUTE_REGISTRY_RELOAD;
  } else if (strncmp(path, "/v1/registry", 12) == 0 && (path[12] == '\0' || path[12] == '/')) {
    *act = AUTH_ACT_REGISTRY_READ, *r = ROUTE_REGISTRY;
  } else if (strncmp(path, "/v1/outputs", 11) == 0 && (path[11] == '\0' || path[11] == '/')) {
    *act = AUTH_ACT_OUTPUTS, *r = ROUTE_OUTPUTS;
  } else if (strncmp(path, "/v1/tokens", 10) == 0 && (path[10] == '\0' || path[10] == '/')) {
    *act = AUTH_ACT_TOKENS, *r = ROUTE_TOKENS;
  } else if (strcmp(path, "/metrics") == 0) {
    *act = AUTH_ACT_METRICS, *r = ROUTE_METRICS;
  } else { /* HTTP-port inputs (Elasticsearch-compatible, OTLP/HTTP) and unknown paths */
    *act = AUTH_ACT_INGEST, *r = ROUTE_OTHER, *basic = 1;
  }
}
