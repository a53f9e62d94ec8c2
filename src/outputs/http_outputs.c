/* http_outputs: the /v1/outputs API — a thin layer over outputs.h (docs/outputs.md lists
 * every endpoint). Runs on the loop thread; everything it calls takes the set's mutex
 * briefly. POST /{name}/test delivers its synthetic event on a thread of its own
 * (outputs_test_start) and is answered on the loop when that finishes.
 *
 *   GET    /v1/outputs                         list (spec + status)
 *   POST   /v1/outputs                         create (201; 409 exists; 400 bad member)
 *   GET    /v1/outputs/{name}                  one
 *   PUT    /v1/outputs/{name}                  replace (runtime outputs only)
 *   PATCH  /v1/outputs/{name}                  merge members (null removes one)
 *   DELETE /v1/outputs/{name}
 *   POST   /v1/outputs/{name}/pause | /resume
 *   POST   /v1/outputs/{name}/replay           {"since": TIME} or {"after_id": ID}
 *   GET    /v1/outputs/{name}/dead             ?after=SEQ&limit=N
 *   POST   /v1/outputs/{name}/dead/redeliver   optional {"seq": N}
 *   DELETE /v1/outputs/{name}/dead             purge
 *   GET    /v1/outputs/{name}/deliveries       ?limit=N
 *   POST   /v1/outputs/{name}/test
 *
 * Names are unique per owner tenant (issue 7): /v1/outputs/{name}... means, among the
 * outputs the caller may manage, the one owned by ?owner=TENANT when given, else the one of
 * the caller's own tenant (the root's with auth off), else the only one with that name;
 * several and none the caller's own answers 409 "ambiguous: ... add ?owner=TENANT".
 *
 * Access (auth on; docs/security.md): admin manages every output; domain-admin those owned
 * within its subtree with scope local or domain; user those owned by exactly its tenant with
 * scope local. An output the caller may not manage answers 404 like a missing one; a new or
 * changed spec it may not have answers 403. Only admins may create or change outputs of a
 * type outside outputs.tenant_types (file and stdout always: they write on the daemon's
 * host) — 403 naming the type; a tenant-owned output aimed at a literal local address is
 * 400 (outputs/netguard.h). */
#include "outputs/http_outputs.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <sys/queue.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "outputs/outputs.h"
#include "server/auth.h"
#include "server/server.h"

#define R ROUTE_OUTPUTS

static int code_of(int rc) {
  switch (rc) {
    case -ENOENT: return 404;
    case -EEXIST: return 409;
    case -EPERM: return 409;
    case -EINVAL: return 400;
    case -EACCES: return 403;
    case -ENOTUNIQ: return 409;
    default: return 500;
  }
}

/* outputs_may_fn over an auth_principal: may it manage an output of owner and scope? */
static int principal_may(void *arg, const char *owner, int scope) {
  const auth_principal *p = arg;
  switch (p->role) {
    case AUTH_ROLE_ADMIN: return 1;
    case AUTH_ROLE_DOMAIN_ADMIN:
      return scope != OUTPUT_SCOPE_GLOBAL && auth_tenant_in_subtree(owner, strlen(owner), p->tenant);
    case AUTH_ROLE_USER: return scope == OUTPUT_SCOPE_LOCAL && strcmp(owner, p->tenant) == 0;
    default: return 0;
  }
}

/* The access rule of this request: NULL (everything) with auth off. */
static outputs_may_fn may_of(server *s) {
  return s->auth && s->req_principal ? principal_may : NULL;
}
static void *may_arg(server *s) {
  return (void *)s->req_principal;
}

static void reply_json(server *s, struct evhttp_request *req, int code, buf *b) {
  http_reply_buf(s, req, R, code, b);
  buf_free(b);
}

/* The request body (NUL-terminated view into the evbuffer) and its length. */
static const char *body_of(struct evhttp_request *req, size_t *len) {
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  *len = evbuffer_get_length(in);
  if (!*len) return "";
  return (const char *)evbuffer_pullup(in, -1);
}

/* A query parameter as an unsigned number (def when absent); -1 when malformed. */
static int query_u64(const char *query, const char *key, uint64_t def, uint64_t max,
                     uint64_t *out) {
  *out = def;
  if (!query) return 0;
  struct evkeyvalq q;
  TAILQ_INIT(&q);
  if (evhttp_parse_query_str(query, &q) != 0) return -1;
  const char *v = evhttp_find_header(&q, key);
  int rc = 0;
  if (v) {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (!*v || *end || errno || n > max || v[0] == '-') rc = -1;
    else *out = n;
  }
  evhttp_clear_headers(&q);
  return rc;
}

static void handle_collection(server *s, struct evhttp_request *req) {
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  buf b = BUF_INIT;
  if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD) {
    if (outputs_render_list_as(s->outputs, may_of(s), may_arg(s), &b) != 0) {
      buf_free(&b);
      http_reply_error(s, req, R, 500, "out of memory");
      return;
    }
    reply_json(s, req, 200, &b);
  } else if (m == EVHTTP_REQ_POST) {
    size_t len;
    const char *body = body_of(req, &len);
    char err[512];
    int rc;
    if (may_of(s)) {
      const auth_principal *p = s->req_principal;
      /* defaults: owner = the caller's tenant; scope domain, local for a user */
      outputs_caller c = {may_of(s), may_arg(s), p->role == AUTH_ROLE_ADMIN, p->tenant,
                          p->role == AUTH_ROLE_USER ? "local" : "domain"};
      rc = outputs_create_by(s->outputs, body, len, &c, err, sizeof err);
    } else {
      rc = outputs_create(s->outputs, body, len, err, sizeof err);
    }
    if (rc != 0) {
      http_reply_error(s, req, R, code_of(rc), "%s", err);
      return;
    }
    /* The name is valid (checked by create): find it again for the answer. */
    arena a;
    arena_init(&a, 1024);
    json_error je;
    const json_value *v = json_parse(&a, body, len, 16, &je);
    const json_value *nm = v ? json_get(v, "name") : NULL;
    const json_value *ow = v ? json_get(v, "owner") : NULL;
    const char *owner = ow && ow->type == JSON_STRING ? ow->s
                        : may_of(s) ? ((const auth_principal *)s->req_principal)->tenant
                                    : "";
    char ref[OUTPUTS_REF_MAX + 1] = "";
    if (nm && nm->type == JSON_STRING)
      snprintf(ref, sizeof ref, "%s:%s", owner, nm->s);
    if (!nm || nm->type != JSON_STRING || outputs_render_one(s->outputs, ref, &b) != 0) {
      buf_free(&b);
      buf_puts(&b, "{\"created\":true}");
    }
    arena_free(&a);
    reply_json(s, req, 201, &b);
  } else {
    http_method_not_allowed(s, req, R, "GET, HEAD, POST");
  }
}

static void handle_replay(server *s, struct evhttp_request *req, const char *name,
                          const char *ref) {
  size_t len;
  const char *body = body_of(req, &len);
  arena a;
  arena_init(&a, 1024);
  json_error je;
  const json_value *v = json_parse(&a, body, len, 8, &je);
  char err[512];
  if (!v || v->type != JSON_OBJECT) {
    arena_free(&a);
    http_reply_error(s, req, R, 400, "the body must be a JSON object {\"since\": TIME} or "
                     "{\"after_id\": ID}");
    return;
  }
  const json_value *since = json_get(v, "since"), *after = json_get(v, "after_id");
  int64_t since_ns = 0;
  const char *after_id = NULL;
  if ((since != NULL) == (after != NULL)) {
    arena_free(&a);
    http_reply_error(s, req, R, 400, "give exactly one of since and after_id");
    return;
  }
  if (since) {
    int ok = 0;
    if (since->type == JSON_STRING) ok = time_parse_user(since->s, time_now_ns(), &since_ns) == 0;
    else if (since->type == JSON_NUMBER) {
      int64_t n;
      ok = json_as_int64(since, &n) == 0 && time_from_epoch_int(n, &since_ns) == 0;
    }
    if (!ok) {
      arena_free(&a);
      http_reply_error(s, req, R, 400, "since: expected a time (RFC 3339, epoch, \"-1h\")");
      return;
    }
  } else {
    if (after->type != JSON_STRING || after->n == 0) {
      arena_free(&a);
      http_reply_error(s, req, R, 400, "after_id: expected an event id");
      return;
    }
    after_id = after->s;
  }
  uint64_t cursor = 0;
  int rc = outputs_replay(s->outputs, ref, since_ns, after_id, &cursor, err, sizeof err);
  arena_free(&a);
  if (rc != 0) {
    http_reply_error(s, req, R, code_of(rc), "%s", err);
    return;
  }
  buf b = BUF_INIT;
  buf_printf(&b, "{\"output\":\"%s\",\"cursor\":%" PRIu64 "}", name, cursor);
  reply_json(s, req, 200, &b);
}

static void handle_dead(server *s, struct evhttp_request *req, const char *name,
                        const char *ref, const char *query, const char *rest) {
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  char err[512];
  buf b = BUF_INIT;
  if (strcmp(rest, "") == 0 && (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD)) {
    uint64_t after, limit;
    if (query_u64(query, "after", 0, UINT64_MAX, &after) != 0 ||
        query_u64(query, "limit", 100, 10000, &limit) != 0 || limit == 0) {
      http_reply_error(s, req, R, 400, "after and limit must be whole numbers (limit 1..10000)");
      return;
    }
    int rc = outputs_render_dead(s->outputs, ref, after, (size_t)limit, &b);
    if (rc != 0) {
      buf_free(&b);
      http_reply_error(s, req, R, code_of(rc), rc == -ENOENT ? "no output named '%s'" : "cannot "
                       "read the dead letters of '%s'", name);
      return;
    }
    reply_json(s, req, 200, &b);
  } else if (strcmp(rest, "") == 0 && m == EVHTTP_REQ_DELETE) {
    uint64_t n = 0;
    int rc = outputs_dead_purge(s->outputs, ref, &n, err, sizeof err);
    if (rc != 0) {
      http_reply_error(s, req, R, code_of(rc), "%s", err);
      return;
    }
    buf_printf(&b, "{\"output\":\"%s\",\"purged\":%" PRIu64 "}", name, n);
    reply_json(s, req, 200, &b);
  } else if (strcmp(rest, "/redeliver") == 0 && m == EVHTTP_REQ_POST) {
    size_t len;
    const char *body = body_of(req, &len);
    uint64_t seq = 0;
    if (len) {
      arena a;
      arena_init(&a, 512);
      json_error je;
      const json_value *v = json_parse(&a, body, len, 4, &je);
      const json_value *sv = v && v->type == JSON_OBJECT ? json_get(v, "seq") : NULL;
      int64_t n = 0;
      int bad = !v || v->type != JSON_OBJECT ||
                (sv && (json_as_int64(sv, &n) != 0 || n < 1));
      arena_free(&a);
      if (bad) {
        http_reply_error(s, req, R, 400, "the body must be empty or {\"seq\": N}");
        return;
      }
      seq = (uint64_t)n;
    }
    uint64_t queued = 0;
    int rc = outputs_dead_redeliver(s->outputs, ref, seq, &queued, err, sizeof err);
    if (rc != 0) {
      http_reply_error(s, req, R, code_of(rc), "%s", err);
      return;
    }
    buf_printf(&b, "{\"output\":\"%s\",\"queued\":%" PRIu64 "}", name, queued);
    reply_json(s, req, 202, &b);
  } else if (strcmp(rest, "") == 0) {
    http_method_not_allowed(s, req, R, "GET, HEAD, DELETE");
  } else if (strcmp(rest, "/redeliver") == 0) {
    http_method_not_allowed(s, req, R, "POST");
  } else {
    http_reply_error(s, req, R, 404, "no such endpoint under /v1/outputs/%s/dead", name);
  }
}

/* ---- POST /{name}/test: delivered on a thread of its own, answered on the loop ---------- */

typedef struct test_call {
  server *s;
  struct evhttp_request *req; /* NULL once the client went away */
  struct evhttp_connection *conn;
  int detached;               /* evhttp let go of req: ours to free */
  buf result;
  int oom;
} test_call;

static void on_test_conn_close(struct evhttp_connection *conn, void *arg) {
  (void)conn;
  test_call *tc = arg;
  if (!tc->req) return;
  if (evhttp_request_get_connection(tc->req) == NULL) tc->detached = 1;
  else tc->req = NULL; /* evhttp frees it with the connection right after this call */
}

/* Loop thread: answer (or drop, when the client went away) and free the call. */
static void on_test_reply(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  test_call *tc = arg;
  if (tc->req && tc->detached) {
    evhttp_request_free(tc->req);
    tc->req = NULL;
  }
  if (tc->req) {
    if (tc->conn) evhttp_connection_set_closecb(tc->conn, NULL, NULL);
    if (tc->oom) http_reply_error(tc->s, tc->req, R, 500, "out of memory");
    else http_reply_buf(tc->s, tc->req, R, 200, &tc->result);
  }
  buf_free(&tc->result);
  free(tc);
}

/* Test thread: keep the result and hand the call back to the loop; when cancelled (the
 * loop has ended; evhttp_free already closed the connection) just clean up. */
static void on_test_done(void *arg, const buf *result, int cancelled) {
  test_call *tc = arg;
  if (cancelled) {
    if (tc->req && tc->detached) evhttp_request_free(tc->req);
    buf_free(&tc->result);
    free(tc);
    return;
  }
  if (!result->data || buf_append(&tc->result, result->data, result->len) != 0) tc->oom = 1;
  struct timeval now = {0, 0};
  if (event_base_once(tc->s->base, -1, EV_TIMEOUT, on_test_reply, tc, &now) != 0)
    log_error(&tc->s->log, "outputs: cannot hand a test result back to the event loop");
}

static void handle_test(server *s, struct evhttp_request *req, const char *name) {
  test_call *tc = calloc(1, sizeof *tc);
  if (!tc) {
    http_reply_error(s, req, R, 500, "out of memory");
    return;
  }
  tc->s = s;
  tc->req = req;
  tc->conn = evhttp_request_get_connection(req);
  buf_init(&tc->result);
  /* The close callback is set before the thread can finish (both run on this loop). */
  if (tc->conn) evhttp_connection_set_closecb(tc->conn, on_test_conn_close, tc);
  char err[512];
  int rc = outputs_test_start(s->outputs, name, on_test_done, tc, err, sizeof err);
  if (rc != 0) {
    if (tc->conn) evhttp_connection_set_closecb(tc->conn, NULL, NULL);
    free(tc);
    http_reply_error(s, req, R, rc == -ESHUTDOWN ? 503 : code_of(rc), "%s", err);
  }
}

static void handle_one(server *s, struct evhttp_request *req, const char *name,
                       const char *ref) {
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  char err[512];
  buf b = BUF_INIT;
  int rc;
  if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD) {
    rc = outputs_render_one(s->outputs, ref, &b);
  } else if (m == EVHTTP_REQ_PUT || m == EVHTTP_REQ_PATCH) {
    size_t len;
    const char *body = body_of(req, &len);
    const auth_principal *p = may_of(s) ? s->req_principal : NULL;
    outputs_caller c = {may_of(s), may_arg(s), !p || p->role == AUTH_ROLE_ADMIN, NULL, NULL};
    rc = outputs_update_by(s->outputs, ref, body, len, m == EVHTTP_REQ_PATCH, &c, err,
                           sizeof err);
    if (rc != 0) {
      http_reply_error(s, req, R, code_of(rc), "%s", err);
      return;
    }
    rc = outputs_render_one(s->outputs, ref, &b);
  } else if (m == EVHTTP_REQ_DELETE) {
    rc = outputs_delete(s->outputs, ref, err, sizeof err);
    if (rc != 0) {
      http_reply_error(s, req, R, code_of(rc), "%s", err);
      return;
    }
    buf_printf(&b, "{\"deleted\":\"%s\"}", name);
  } else {
    http_method_not_allowed(s, req, R, "GET, HEAD, PUT, PATCH, DELETE");
    return;
  }
  if (rc != 0) {
    buf_free(&b);
    http_reply_error(s, req, R, code_of(rc), "no output named '%s'", name);
    return;
  }
  reply_json(s, req, 200, &b);
}

void http_outputs_route(server *s, struct evhttp_request *req, const char *path,
                        const char *query) {
  if (!s->outputs) {
    http_reply_error(s, req, R, 503, "outputs are not running");
    return;
  }
  const char *p = path + 11; /* after "/v1/outputs" */
  if (*p == '\0' || strcmp(p, "/") == 0) {
    handle_collection(s, req);
    return;
  }
  p++;
  const char *slash = strchr(p, '/');
  size_t nlen = slash ? (size_t)(slash - p) : strlen(p);
  char name[OUTPUTS_NAME_MAX + 1];
  if (nlen == 0 || nlen > OUTPUTS_NAME_MAX) {
    http_reply_error(s, req, R, 404, "no such output");
    return;
  }
  memcpy(name, p, nlen);
  name[nlen] = '\0';
  for (size_t i = 0; i < nlen; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-' || c == '.')) {
      http_reply_error(s, req, R, 404, "no such output (names are A-Z a-z 0-9 _ - .)");
      return;
    }
  }
  const char *rest = slash ? slash : "";
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  char err[512];
  /* ?owner=TENANT picks among outputs of different owners that share the name */
  char owner[AUTH_TENANT_MAX + 1];
  int has_owner = 0;
  if (query) {
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(query, &q) == 0) {
      const char *ov = evhttp_find_header(&q, "owner");
      if (ov) {
        has_owner = auth_tenant_valid(ov, strlen(ov)) ? 1 : -1;
        if (has_owner == 1) snprintf(owner, sizeof owner, "%s", ov);
      }
    }
    evhttp_clear_headers(&q);
  }
  if (has_owner < 0) {
    http_reply_error(s, req, R, 400, "owner: expected a tenant path (\"\" = root, \"acme\", "
                     "\"acme/dev\")");
    return;
  }
  /* Which output: among those the caller may manage (any other is not there for it), the
   * one of ?owner=, else the caller's own tenant's, else the only one. */
  const auth_principal *pr = may_of(s) ? s->req_principal : NULL;
  char ref[OUTPUTS_REF_MAX + 1];
  int rrc = outputs_resolve(s->outputs, name, has_owner ? owner : NULL, pr ? pr->tenant : "",
                            may_of(s), may_arg(s), ref);
  if (rrc == -ENOTUNIQ) {
    http_reply_error(s, req, R, 409, "ambiguous: several outputs named '%s' have different "
                     "owners; add ?owner=TENANT", name);
    return;
  }
  if (rrc != 0) {
    http_reply_error(s, req, R, 404, "no output named '%s'", name);
    return;
  }
  if (*rest == '\0') {
    handle_one(s, req, name, ref);
  } else if (strcmp(rest, "/pause") == 0 || strcmp(rest, "/resume") == 0) {
    if (m != EVHTTP_REQ_POST) {
      http_method_not_allowed(s, req, R, "POST");
      return;
    }
    int paused = strcmp(rest, "/pause") == 0;
    int rc = outputs_pause(s->outputs, ref, paused, err, sizeof err);
    if (rc != 0) {
      http_reply_error(s, req, R, code_of(rc), "%s", err);
      return;
    }
    buf b = BUF_INIT;
    buf_printf(&b, "{\"output\":\"%s\",\"paused\":%s}", name, paused ? "true" : "false");
    reply_json(s, req, 200, &b);
  } else if (strcmp(rest, "/replay") == 0) {
    if (m != EVHTTP_REQ_POST) http_method_not_allowed(s, req, R, "POST");
    else handle_replay(s, req, name, ref);
  } else if (strncmp(rest, "/dead", 5) == 0 && (rest[5] == '\0' || rest[5] == '/')) {
    handle_dead(s, req, name, ref, query, rest + 5);
  } else if (strcmp(rest, "/deliveries") == 0) {
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
      http_method_not_allowed(s, req, R, "GET, HEAD");
      return;
    }
    uint64_t limit;
    if (query_u64(query, "limit", 100, 10000, &limit) != 0 || limit == 0) {
      http_reply_error(s, req, R, 400, "limit: expected a whole number 1..10000");
      return;
    }
    buf b = BUF_INIT;
    int rc = outputs_render_deliveries(s->outputs, ref, (size_t)limit, &b);
    if (rc != 0) {
      buf_free(&b);
      http_reply_error(s, req, R, code_of(rc), rc == -ENOENT ? "no output named '%s'"
                       : "cannot read the delivery history of '%s'", name);
      return;
    }
    reply_json(s, req, 200, &b);
  } else if (strcmp(rest, "/test") == 0) {
    if (m != EVHTTP_REQ_POST) {
      http_method_not_allowed(s, req, R, "POST");
      return;
    }
    handle_test(s, req, ref);
  } else {
    http_reply_error(s, req, R, 404, "no such endpoint under /v1/outputs/%s", name);
  }
}
