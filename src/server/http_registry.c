/* http_registry: the event-type registry seen from the daemon — loading it from the
 * configuration, reloading it (SIGHUP, POST /v1/registry/reload) and the endpoints
 * GET /v1/registry, GET /v1/registry/{type}, POST /v1/registry/validate (docs/api.md,
 * docs/registry.md).
 *
 * Reload runs on the loop thread: the new registry is loaded completely (every spec file read
 * and compiled) before anything changes; on failure the running registry stays and the
 * reason is reported. On success the counters are carried over and the new registry swapped
 * into s->registry; batches that started before keep their reference to the old one (ingest.h),
 * so no event in flight is lost or checked half against one and half against the other. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/timeutil.h"
#include "server/server.h"

/* ---- loading ---------------------------------------------------------------------------- */

int server_registry_load(const evd_config *c, registry **out, char *err, size_t errlen) {
  *out = NULL;
  if (!c->registry_file || !*c->registry_file) return 0;
  registry_stream_option *sp = NULL;
  if (c->registry_nstreams) {
    sp = calloc(c->registry_nstreams, sizeof *sp);
    if (!sp) {
      snprintf(err, errlen, "registry: out of memory");
      return -1;
    }
    for (size_t i = 0; i < c->registry_nstreams; i++)
      sp[i] = (registry_stream_option){c->registry_streams[i].stream,
                                       (registry_policy)c->registry_streams[i].policy};
  }
  registry_options o = {.spec_dirs = (const char *const *)c->registry_spec_dirs,
                        .nspec_dirs = c->registry_nspec_dirs,
                        .default_policy = (registry_policy)c->registry_unregistered,
                        .stream_policies = sp,
                        .nstream_policies = c->registry_nstreams};
  char msg[1024];
  registry *r = registry_load(c->registry_file, &o, msg, sizeof msg);
  free(sp);
  if (!r) {
    snprintf(err, errlen, "registry: %s", msg);
    return -1;
  }
  *out = r;
  return 0;
}

void server_set_registry(server *s, registry *r) {
  registry_holder_set(&s->registry, r);
  s->registry_loaded_ns = time_now_ns();
  if (r)
    log_info(&s->log, "registry: %zu event types from %s (%zu spec files; unregistered: %s)",
             registry_type_count(r), registry_path(r), registry_spec_count(r),
             registry_policy_name(registry_default_policy(r)));
}

int server_registry_reload(server *s, char *err, size_t errlen) {
  if (!s->cfg.registry_file || !*s->cfg.registry_file) {
    snprintf(err, errlen, "no registry is configured (registry.file or --registry)");
    return -2;
  }
  registry *fresh;
  int64_t t0 = time_now_ns();
  if (server_registry_load(&s->cfg, &fresh, err, errlen) != 0) {
    METRIC_ADD(s->m.registry_reloads[1], 1);
    snprintf(s->registry_last_error, sizeof s->registry_last_error, "%s", err);
    log_error(&s->log, "registry reload failed, keeping the running registry: %s", err);
    return -1;
  }
  registry *old = registry_holder_get(&s->registry);
  if (old) {
    registry_carry_counts(fresh, old);
    registry_unref(old);
  }
  size_t before = old ? registry_type_count(old) : 0;
  server_set_registry(s, fresh);
  s->registry_last_error[0] = '\0';
  METRIC_ADD(s->m.registry_reloads[0], 1);
  log_info(&s->log, "registry reloaded in %lld ms: %zu event types (was %zu)",
           (long long)((time_now_ns() - t0) / NS_PER_MS), registry_type_count(fresh), before);
  return 0;
}

/* ---- JSON of the registry ---------------------------------------------------------------- */

static int put_str(buf *b, const char *s) {
  if (!s) return buf_puts(b, "null");
  return json_write_string(b, s, strlen(s));
}

/* One type's description (without the schema); the trailing '}' is left to the caller. */
static int write_type(buf *b, const registry_type *t) {
  int rc = buf_puts(b, "{\"type\":");
  rc |= json_write_string(b, t->name, t->name_len);
  rc |= buf_puts(b, ",\"module\":");
  rc |= put_str(b, t->module);
  rc |= buf_puts(b, ",\"filename\":");
  rc |= put_str(b, t->filename);
  rc |= buf_puts(b, ",\"spec\":");
  rc |= put_str(b, t->spec_path);
  rc |= buf_printf(b, ",\"spec_line\":%d,\"registry_line\":%d,\"stream\":", t->spec_line,
                   t->registry_line);
  rc |= put_str(b, t->stream);
  rc |= buf_puts(b, ",\"severity\":");
  rc |= t->severity ? put_str(b, severity_text(t->severity)) : buf_puts(b, "null");
  if (t->retention_ns)
    rc |= buf_printf(b, ",\"retention_seconds\":%lld", (long long)(t->retention_ns / NS_PER_SEC));
  else
    rc |= buf_puts(b, ",\"retention_seconds\":null");
  rc |= buf_printf(b, ",\"additional_properties\":%s",
                   t->additional_properties < 0 ? "null" : t->additional_properties ? "true" : "false");
  rc |= buf_printf(b, ",\"seen\":%llu,\"invalid\":%llu", (unsigned long long)registry_type_seen(t),
                   (unsigned long long)registry_type_invalid(t));
  return rc;
}

/* The registry-wide part: path, policies, counters, reload state. */
static int write_header(server *s, buf *b, const registry *r) {
  int rc = buf_puts(b, "{\"path\":");
  rc |= put_str(b, r ? registry_path(r) : NULL);
  rc |= buf_puts(b, ",\"unregistered\":");
  /* Without a registry everything is accepted. */
  rc |= put_str(b, r ? registry_policy_name(registry_default_policy(r)) : "accept");
  rc |= buf_puts(b, ",\"streams\":{");
  for (size_t i = 0; r && i < registry_stream_policy_count(r); i++) {
    registry_policy p;
    const char *name = registry_stream_policy_at(r, i, &p);
    if (i) rc |= buf_putc(b, ',');
    rc |= put_str(b, name);
    rc |= buf_putc(b, ':');
    rc |= put_str(b, registry_policy_name(p));
  }
  rc |= buf_printf(b, "},\"unregistered_seen\":%llu",
                   (unsigned long long)(r ? registry_unknown_seen(r) : 0));
  char t[TIME_RFC3339_LEN + 1];
  if (r && s->registry_loaded_ns) {
    time_format_rfc3339(s->registry_loaded_ns, t);
    rc |= buf_printf(b, ",\"loaded_at\":\"%s\"", t);
  }
  rc |= buf_printf(b, ",\"reloads\":%llu,\"reload_failures\":%llu,\"last_reload_error\":",
                   (unsigned long long)METRIC_GET(s->m.registry_reloads[0]),
                   (unsigned long long)METRIC_GET(s->m.registry_reloads[1]));
  rc |= s->registry_last_error[0] ? put_str(b, s->registry_last_error) : buf_puts(b, "null");
  return rc;
}

/* GET /v1/registry */
static void handle_list(server *s, struct evhttp_request *req) {
  registry *r = registry_holder_get(&s->registry);
  buf *b = &s->scratch;
  buf_clear(b);
  int rc = write_header(s, b, r);
  size_t n = r ? registry_type_count(r) : 0;
  rc |= buf_printf(b, ",\"count\":%zu,\"types\":[", n);
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (i) rc |= buf_putc(b, ',');
    rc |= write_type(b, registry_type_at(r, i));
    rc |= buf_putc(b, '}');
  }
  rc |= buf_puts(b, "]}");
  if (r) registry_unref(r);
  if (rc) http_reply_error(s, req, ROUTE_REGISTRY, 500, "out of memory");
  else http_reply_buf(s, req, ROUTE_REGISTRY, 200, b);
}

/* GET /v1/registry/{type} */
static void handle_type(server *s, struct evhttp_request *req, const char *raw, size_t rawlen) {
  size_t n;
  int oom = 0;
  char *name = query_decode(&s->req_arena, raw, rawlen, 0, &n, &oom);
  char shown[80];
  if (!name) {
    arena_reset(&s->req_arena);
    if (oom) http_reply_error(s, req, ROUTE_REGISTRY_TYPE, 500, "out of memory");
    else
      http_reply_error(s, req, ROUTE_REGISTRY_TYPE, 400, "malformed percent-encoding in '%s'",
                       http_printable(raw, rawlen, shown));
    return;
  }
  registry *r = registry_holder_get(&s->registry);
  const registry_type *t = r ? registry_lookup(r, name, n) : NULL;
  if (!t) {
    if (r) registry_unref(r);
    http_reply_error(s, req, ROUTE_REGISTRY_TYPE, 404, "event type '%s' is not registered%s",
                     http_printable(name, n, shown), r ? "" : " (no registry is configured)");
    arena_reset(&s->req_arena);
    return;
  }
  arena_reset(&s->req_arena);
  buf *b = &s->scratch;
  buf_clear(b);
  int rc = write_type(b, t);
  rc |= buf_puts(b, ",\"schema\":");
  rc |= t->schema_source ? json_write_value(b, t->schema_source) : buf_puts(b, "null");
  rc |= buf_putc(b, '}');
  registry_unref(r);
  if (rc) http_reply_error(s, req, ROUTE_REGISTRY_TYPE, 500, "out of memory");
  else http_reply_buf(s, req, ROUTE_REGISTRY_TYPE, 200, b);
}

/* POST /v1/registry/reload */
static void handle_reload(server *s, struct evhttp_request *req) {
  char err[1024];
  int rc = server_registry_reload(s, err, sizeof err);
  if (rc == -2) {
    http_reply_error(s, req, ROUTE_REGISTRY_RELOAD, 409, "%s", err);
    return;
  }
  if (rc != 0) {
    buf *b = &s->scratch;
    buf_clear(b);
    int w = buf_puts(b, "{\"reloaded\":false,\"error\":");
    w |= put_str(b, err);
    w |= buf_puts(b, ",\"kept\":");
    registry *r = registry_holder_get(&s->registry);
    w |= put_str(b, r ? registry_path(r) : NULL);
    w |= buf_printf(b, ",\"types\":%zu}", r ? registry_type_count(r) : 0);
    if (r) registry_unref(r);
    if (w) http_reply_error(s, req, ROUTE_REGISTRY_RELOAD, 500, "out of memory");
    else http_reply_buf(s, req, ROUTE_REGISTRY_RELOAD, 422, b);
    return;
  }
  registry *r = registry_holder_get(&s->registry);
  buf *b = &s->scratch;
  buf_clear(b);
  int w = buf_puts(b, "{\"reloaded\":true,\"path\":");
  w |= put_str(b, r ? registry_path(r) : NULL);
  w |= buf_printf(b, ",\"types\":%zu,\"spec_files\":%zu}", r ? registry_type_count(r) : 0,
                  r ? registry_spec_count(r) : 0);
  if (r) registry_unref(r);
  if (w) http_reply_error(s, req, ROUTE_REGISTRY_RELOAD, 500, "out of memory");
  else http_reply_buf(s, req, ROUTE_REGISTRY_RELOAD, 200, b);
}

/* POST /v1/registry/validate: check events exactly as POST /v1/events would, store nothing. */
static void handle_validate(server *s, struct evhttp_request *req) {
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(in);
  const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
  if (len && !body) {
    http_reply_error(s, req, ROUTE_REGISTRY_VALIDATE, 503, "out of memory");
    return;
  }
  json_error je;
  const evd_limits *lim = &s->cfg.limits;
  json_value *root = json_parse(&s->req_arena, body, len, lim->max_depth + 1, &je);
  if (!root) {
    arena_reset(&s->req_arena);
    http_reply_error(s, req, ROUTE_REGISTRY_VALIDATE, 400,
                     "request body is not valid JSON: %s at byte %zu", je.message, je.offset);
    return;
  }
  if (root->type != JSON_OBJECT && root->type != JSON_ARRAY) {
    arena_reset(&s->req_arena);
    http_reply_error(s, req, ROUTE_REGISTRY_VALIDATE, 400,
                     "request body must be an event object or an array of them, got %s",
                     json_type_name(root->type));
    return;
  }
  ingest_batch *b = ingest_begin_check(s);
  if (!b) {
    arena_reset(&s->req_arena);
    http_reply_error(s, req, ROUTE_REGISTRY_VALIDATE, 503, "out of memory");
    return;
  }
  if (root->type == JSON_ARRAY) {
    for (const json_value *v = root->child; v; v = v->next)
      if (ingest_add_json(b, v, 0, 0) == -ENOMEM) break;
  } else {
    ingest_add_json(b, root, len, 0);
  }
  arena_reset(&s->req_arena);
  registry *r = registry_holder_get(&s->registry);
  int have_registry = r != NULL;
  if (r) registry_unref(r);
  buf *out = &s->scratch;
  buf_clear(out);
  int code = 200, rc = 0;
  if (ingest_out_of_memory(b)) {
    ingest_abort(b);
    http_reply_error(s, req, ROUTE_REGISTRY_VALIDATE, 503, "out of memory");
    return;
  }
  if (ingest_error_count(b)) {
    buf errs = BUF_INIT;
    rc = http_write_ingest_errors(b, &errs);
    rc |= buf_puts(out, "{\"valid\":false,");
    if (rc == 0 && errs.len > 1) rc |= buf_append(out, errs.data + 1, errs.len - 1);
    buf_free(&errs);
    code = 400;
  } else {
    rc = buf_printf(out, "{\"valid\":true,\"events\":%zu,\"unregistered\":%zu,\"registry\":%s}",
                    ingest_count(b), ingest_unregistered_count(b), have_registry ? "true" : "false");
  }
  ingest_abort(b);
  if (rc) http_reply_error(s, req, ROUTE_REGISTRY_VALIDATE, 500, "out of memory");
  else http_reply_buf(s, req, ROUTE_REGISTRY_VALIDATE, code, out);
}

/* ---- routing ------------------------------------------------------------------------------- */

void http_registry_route(server *s, struct evhttp_request *req, const char *path) {
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  int get = m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD;
  const char *rest = path + strlen("/v1/registry");
  if (*rest == '\0' || strcmp(rest, "/") == 0) {
    if (get) handle_list(s, req);
    else http_method_not_allowed(s, req, ROUTE_REGISTRY, "GET, HEAD");
  } else if (m == EVHTTP_REQ_POST && strcmp(rest, "/reload") == 0) {
    handle_reload(s, req);
  } else if (m == EVHTTP_REQ_POST && strcmp(rest, "/validate") == 0) {
    handle_validate(s, req);
  } else if (rest[0] == '/' && rest[1] && !strchr(rest + 1, '/')) {
    /* GET of a type (even one named "reload"); anything else on these paths is a 405 */
    if (get) handle_type(s, req, rest + 1, strlen(rest + 1));
    else if (strcmp(rest, "/reload") == 0 || strcmp(rest, "/validate") == 0)
      http_method_not_allowed(s, req, rest[1] == 'r' ? ROUTE_REGISTRY_RELOAD : ROUTE_REGISTRY_VALIDATE, "POST");
    else http_method_not_allowed(s, req, ROUTE_REGISTRY_TYPE, "GET, HEAD");
  } else {
    char shown[80];
    http_reply_error(s, req, ROUTE_OTHER, 404, "no such endpoint: %s",
                     http_printable(path, strlen(path), shown));
  }
}
