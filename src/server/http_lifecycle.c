/* http_lifecycle: archive, delete and purge of events (docs/lifecycle.md) —
 * POST /v1/events/archive, POST /v1/events/delete, POST /v1/events/purge, and the periodic
 * purge (purge.* settings).
 *
 * archive/delete take a JSON body {ids?, type?, since?, until?}; at least one of ids, type
 * or until is required (CloudStack's archiveEvents/deleteEvents rule). The events affected
 * are those matching every condition given AND visible to the caller (its tenant subtree,
 * or its tenant exactly for a user, and its stream/type restrictions: the same narrowing as
 * queries, auth_restrict_filter). Non-admins never touch events of the "audit" stream. The
 * selection is turned into seqs and handed to store_mark, which makes the marks durable
 * before the answer {"archived": N} / {"deleted": N} is sent. Each operation that changed
 * something is recorded as an event of stream "audit" (type event.archived, event.deleted,
 * event.purged) in the caller's tenant, with who, what and how many in its data; the answer
 * waits until that audit event is durable too (a 500 names the missing audit record if the
 * store fails it — the marks themselves are kept).
 *
 * Roles (docs/security.md): admin anything; domain-admin its subtree; user its own tenant;
 * read and ingest tokens are refused (403). Purge is admin-only.
 *
 * Everything runs on the loop thread; store_mark blocks it for one fdatasync. */
#include <errno.h>
#include <pthread.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/timeutil.h"
#include "server/server.h"

#define LC_AUDIT_STREAM "audit"
#define LC_MAX_IDS 100000
#define LC_AUDIT_IDS 100 /* ids listed in an audit event (ids_total gives the count) */

/* Seqs collected for marking. */
typedef struct seqvec {
  uint64_t *v;
  size_t n, cap;
  int oom;
} seqvec;

static void seqvec_push(seqvec *sv, uint64_t seq) {
  if (sv->n == sv->cap) {
    size_t cap = sv->cap ? sv->cap * 2 : 1024;
    uint64_t *nv = realloc(sv->v, cap * sizeof *nv);
    if (!nv) {
      sv->oom = 1;
      return;
    }
    sv->v = nv;
    sv->cap = cap;
  }
  sv->v[sv->n++] = seq;
}

static int strv_is(strv s, const char *z) {
  size_t n = strlen(z);
  return s.n == n && (n == 0 || memcmp(s.p, z, n) == 0);
}

/* ---- selection ------------------------------------------------------------------------ */

typedef struct select_ctx {
  server *s;
  seqvec *out;
  int protect_audit;      /* skip events of the audit stream (non-admin callers) */
  const store_filter *f;  /* for id lookups: the conditions to check on the record */
  int matched;            /* id lookup: the record passed */
  /* purge: per-stream overrides (streams listed here are skipped by the global pass) */
  const char *const *skip_streams;
  size_t nskip;
} select_ctx;

static int on_select(void *arg, uint64_t seq, const record_view *rv) {
  select_ctx *c = arg;
  if (c->protect_audit && strv_is(rv->f[EVF_STREAM], LC_AUDIT_STREAM)) return 0;
  for (size_t i = 0; i < c->nskip; i++)
    if (strv_is(rv->f[EVF_STREAM], c->skip_streams[i])) return 0;
  seqvec_push(c->out, seq);
  return c->out->oom;
}

/* Every record matching f (seq order), into c->out. Returns 0 or -errno. */
static int select_all(store *st, const store_filter *f, select_ctx *c) {
  uint64_t after = 0, end = store_committed_seq(st);
  while (after < end) {
    uint64_t last = after;
    int rc = store_scan_seq(st, f, after, 4096, on_select, c, &last);
    if (rc) return rc;
    if (c->out->oom) return -ENOMEM;
    if (last <= after) break;
    after = last;
  }
  return 0;
}

/* Record found by id: check the body's conditions and the caller's visibility. */
static int on_id(void *arg, uint64_t seq, const record_view *rv) {
  select_ctx *c = arg;
  const store_filter *f = c->f;
  if (!http_auth_visible(c->s, rv)) return 0;
  if (rv->time_ns < f->since_ns || rv->time_ns >= f->until_ns) return 0;
  if (f->exact[EVF_TYPE] && !strv_is(rv->f[EVF_TYPE], f->exact[EVF_TYPE])) return 0;
  if (f->type_prefix) {
    size_t pn = strlen(f->type_prefix);
    if (rv->f[EVF_TYPE].n < pn || memcmp(rv->f[EVF_TYPE].p, f->type_prefix, pn) != 0) return 0;
  }
  unsigned k = store_marks_of(c->s->st, seq);
  if (k & STORE_MARK_DELETED) return 0;
  if (f->archived == STORE_ARCHIVED_HIDE && (k & STORE_MARK_ARCHIVED)) return 0;
  c->matched = 1;
  return on_select(arg, seq, rv);
}

/* ---- audit ---------------------------------------------------------------------------- */

/* The loop thread waiting for one audit append: the writer thread fills status and signals. */
typedef struct audit_wait {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  int status;
} audit_wait;

/* store_append_cb (writer thread): free the batch, then wake the waiter. Nothing touches w
 * after the unlock (the waiter's stack frame may be gone). */
static void audit_done(void *arg, int status, store_batch *b) {
  audit_wait *w = arg;
  store_batch_free(b);
  pthread_mutex_lock(&w->mu);
  w->status = status;
  w->done = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

/* Append one audit event (stream "audit") describing an operation and wait until the store
 * has made it durable (per the sync policy), so that an operation is never answered before
 * its audit record is kept. data_json is the event's data object. Blocks the loop thread for
 * one commit, like store_mark does; safe because the writer never waits for the loop.
 * Returns 0, or -1 with the reason in why[0..whylen) (also logged). */
static int audit_record(server *s, const char *type, const char *tenant, const char *data_json,
                        char *why, size_t whylen) {
  buf j = {0};
  buf_puts(&j, "{\"stream\":\"" LC_AUDIT_STREAM "\",\"type\":");
  json_write_string(&j, type, strlen(type));
  if (tenant && *tenant) {
    buf_puts(&j, ",\"tenant\":");
    json_write_string(&j, tenant, strlen(tenant));
  }
  buf_puts(&j, ",\"source\":\"eventd\",\"data\":");
  buf_puts(&j, data_json);
  buf_puts(&j, "}");
  arena a;
  arena_init(&a, 4096);
  json_error je;
  evd_field_error fe;
  event ev;
  buf enc = {0};
  store_batch *b = NULL;
  const char *fail = NULL;
  int rc = 0;
  audit_wait w = {.done = 0, .status = 0};
  pthread_mutex_init(&w.mu, NULL);
  pthread_cond_init(&w.cv, NULL);
  json_value *v = j.data ? json_parse(&a, (const char *)j.data, j.len, 16, &je) : NULL;
  if (!v) fail = "cannot build the audit event";
  else if (event_from_json(v, &s->cfg.limits, time_now_ns(), &a, &ev, &fe) != 0) fail = fe.reason;
  else if (record_encode(&ev, &enc) != 0) fail = "out of memory";
  else if (!(b = store_batch_new()) || store_batch_add(b, enc.data, enc.len) != 0) fail = "out of memory";
  else if ((rc = store_append(s->st, b, audit_done, &w)) != 0) fail = strerror(-rc);
  else {
    b = NULL; /* the store's until audit_done */
    pthread_mutex_lock(&w.mu);
    while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    if (w.status != 0) fail = strerror(-w.status);
  }
  if (fail) {
    snprintf(why, whylen, "%s", fail);
    log_error(&s->log, "lifecycle: audit event %s not stored: %s", type, fail);
  }
  pthread_cond_destroy(&w.cv);
  pthread_mutex_destroy(&w.mu);
  store_batch_free(b);
  buf_free(&enc);
  arena_free(&a);
  buf_free(&j);
  return fail ? -1 : 0;
}

/* ---- archive / delete ----------------------------------------------------------------- */

/* 1 if the caller may archive/delete at all; otherwise answers 403. */
static int may_manage(server *s, struct evhttp_request *req, int admin_only) {
  const auth_principal *p = s->req_principal;
  if (!s->auth || !p) return 1; /* auth off */
  if (p->role == AUTH_ROLE_ADMIN) return 1;
  if (!admin_only && (p->role == AUTH_ROLE_DOMAIN_ADMIN || p->role == AUTH_ROLE_USER)) return 1;
  http_reply_error(s, req, ROUTE_LIFECYCLE, 403,
                   admin_only ? "role %s may not purge events (admin only)"
                              : "role %s may not archive or delete events (admin, domain-admin or user)",
                   auth_role_name(p->role));
  return 0;
}

static int parse_time(const json_value *v, const char *name, int64_t *out, char *err, size_t errlen) {
  if (v->type == JSON_NUMBER) {
    int64_t x;
    if (json_as_int64(v, &x) == 0 && time_from_epoch_int(x, out) == 0) return 0;
  } else if (v->type == JSON_STRING && v->n < 128) {
    char tmp[128];
    memcpy(tmp, v->s, v->n);
    tmp[v->n] = '\0';
    if (time_parse_user(tmp, time_now_ns(), out) == 0) return 0;
  }
  snprintf(err, errlen, "'%s': expected an RFC 3339 time, an epoch number or a relative time (-15d)", name);
  return -1;
}

void http_lifecycle_handle(server *s, struct evhttp_request *req, const char *what) {
  int purge = strcmp(what, "purge") == 0, del = strcmp(what, "delete") == 0;
  if (purge) {
    if (may_manage(s, req, 1)) {
      uint64_t n = 0;
      int rc = lifecycle_purge_run(s, &n);
      if (rc == -EIO && n > 0) {
        http_reply_error(s, req, ROUTE_LIFECYCLE, 500,
                         "deleted %llu events, but their audit event could not be stored",
                         (unsigned long long)n);
      } else if (rc) {
        http_reply_error(s, req, ROUTE_LIFECYCLE, 500, "purge failed: %s", strerror(-rc));
      } else {
        evbuffer_add_printf(evhttp_request_get_output_buffer(req), "{\"deleted\":%llu}",
                            (unsigned long long)n);
        http_reply_output(s, req, ROUTE_LIFECYCLE, 200);
      }
    }
    arena_reset(&s->req_arena);
    return;
  }
  if (!may_manage(s, req, 0)) {
    arena_reset(&s->req_arena);
    return;
  }
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(in);
  const char *body = len ? (const char *)evbuffer_pullup(in, -1) : NULL;
  json_error je;
  json_value *v = body ? json_parse(&s->req_arena, body, len, 8, &je) : NULL;
  char err[512];
  seqvec sv = {0};
  store_filter f;
  store_filter_init(&f);
  f.archived = del ? STORE_ARCHIVED_INCLUDE : STORE_ARCHIVED_HIDE;
  const json_value *ids = NULL;
  buf audit = {0};
  if (!v || v->type != JSON_OBJECT) {
    http_reply_error(s, req, ROUTE_LIFECYCLE, 400, "expected a JSON object {ids?, type?, since?, until?}%s%s",
                     v ? "" : ": ", v ? "" : (body ? je.message : "empty body"));
    goto done;
  }
  int have_type = 0, have_until = 0;
  for (const json_value *m = v->child; m; m = m->next) {
    char shown[80];
    if (m->key_len == 3 && memcmp(m->key, "ids", 3) == 0) {
      if (m->type != JSON_ARRAY || m->n > LC_MAX_IDS) {
        http_reply_error(s, req, ROUTE_LIFECYCLE, 400, "'ids': expected an array of at most %d event ids", LC_MAX_IDS);
        goto done;
      }
      for (const json_value *e = m->child; e; e = e->next)
        if (e->type != JSON_STRING || e->n == 0) {
          http_reply_error(s, req, ROUTE_LIFECYCLE, 400, "'ids': every element must be a non-empty string");
          goto done;
        }
      ids = m;
    } else if (m->key_len == 4 && memcmp(m->key, "type", 4) == 0) {
      if (m->type != JSON_STRING || m->n == 0 || memchr(m->s, '\0', m->n)) {
        http_reply_error(s, req, ROUTE_LIFECYCLE, 400, "'type': expected a non-empty string");
        goto done;
      }
      char *t = arena_strndup(&s->req_arena, m->s, m->n);
      if (!t) goto oom;
      if (m->n >= 2 && t[m->n - 1] == '*' && t[m->n - 2] == '.') {
        t[m->n - 1] = '\0';
        f.type_prefix = t;
      } else if (strchr(t, '*')) {
        http_reply_error(s, req, ROUTE_LIFECYCLE, 400, "'type': a wildcard is only allowed as a last '.*'");
        goto done;
      } else {
        f.exact[EVF_TYPE] = t;
      }
      have_type = 1;
    } else if (m->key_len == 5 && memcmp(m->key, "since", 5) == 0) {
      if (parse_time(m, "since", &f.since_ns, err, sizeof err) != 0) {
        http_reply_error(s, req, ROUTE_LIFECYCLE, 400, "%s", err);
        goto done;
      }
    } else if (m->key_len == 5 && memcmp(m->key, "until", 5) == 0) {
      if (parse_time(m, "until", &f.until_ns, err, sizeof err) != 0) {
        http_reply_error(s, req, ROUTE_LIFECYCLE, 400, "%s", err);
        goto done;
      }
      have_until = 1;
    } else {
      http_reply_error(s, req, ROUTE_LIFECYCLE, 400, "unknown member '%s' (ids, type, since, until)",
                       http_printable(m->key, m->key_len, shown));
      goto done;
    }
  }
  if (!ids && !have_type && !have_until) {
    http_reply_error(s, req, ROUTE_LIFECYCLE, 400,
                     "give at least one of ids, type or until (since alone would %s everything after it)",
                     what);
    goto done;
  }
  const auth_principal *p = s->auth ? s->req_principal : NULL;
  select_ctx c = {.s = s, .out = &sv, .protect_audit = p && p->role != AUTH_ROLE_ADMIN, .f = &f};
  int rc = 0;
  if (ids) {
    for (const json_value *e = ids->child; e && rc == 0; e = e->next) {
      int r = store_get(s->st, e->s, e->n, on_id, &c);
      if (r && r != -ENOENT) rc = r;
    }
  } else {
    if (http_auth_restrict(s, req, ROUTE_LIFECYCLE, &f, &s->req_arena) != 0) goto done;
    rc = select_all(s->st, &f, &c);
  }
  if (sv.oom) rc = -ENOMEM;
  uint64_t changed = 0;
  if (rc == 0) rc = store_mark(s->st, sv.v, sv.n, del ? STORE_MARK_DELETED : STORE_MARK_ARCHIVED, &changed);
  if (rc) {
    log_error(&s->log, "lifecycle: %s failed: %s", what, strerror(-rc));
    http_reply_error(s, req, ROUTE_LIFECYCLE, rc == -ENOMEM ? 503 : 500, "%s failed: %s", what, strerror(-rc));
    goto done;
  }
  if (changed) {
    /* data: who, what (the request body as given) and how many */
    buf_puts(&audit, "{\"by\":");
    const char *who = p ? p->name : "anonymous (auth off)";
    json_write_string(&audit, who, strlen(who));
    buf_puts(&audit, ",\"role\":");
    const char *role = p ? auth_role_name(p->role) : "none";
    json_write_string(&audit, role, strlen(role));
    buf_printf(&audit, ",\"count\":%llu,\"request\":{", (unsigned long long)changed);
    int first = 1;
    for (const json_value *m = v->child; m; m = m->next) {
      buf_printf(&audit, "%s", first ? "" : ",");
      first = 0;
      json_write_string(&audit, m->key, m->key_len);
      buf_putc(&audit, ':');
      if (m == ids && ids->n > LC_AUDIT_IDS) {
        /* keep the audit event under limits.event_max_bytes: the first ids and the total */
        buf_putc(&audit, '[');
        size_t k = 0;
        for (const json_value *e = ids->child; e && k < LC_AUDIT_IDS; e = e->next, k++) {
          if (k) buf_putc(&audit, ',');
          json_write_string(&audit, e->s, e->n);
        }
        buf_printf(&audit, "],\"ids_total\":%u", ids->n);
      } else {
        json_write_value(&audit, m);
      }
    }
    buf_puts(&audit, "}}");
    char why[256];
    if (audit_record(s, del ? "event.deleted" : "event.archived", p ? p->tenant : NULL,
                     audit.data ? (const char *)audit.data : "{}", why, sizeof why) != 0) {
      /* The marks are durable; say so, and that the audit record is missing. */
      http_reply_error(s, req, ROUTE_LIFECYCLE, 500,
                       "%s %llu events, but their audit event could not be stored: %s",
                       del ? "deleted" : "archived", (unsigned long long)changed, why);
      goto done;
    }
  }
  evbuffer_add_printf(evhttp_request_get_output_buffer(req), "{\"%s\":%llu}",
                      del ? "deleted" : "archived", (unsigned long long)changed);
  http_reply_output(s, req, ROUTE_LIFECYCLE, 200);
  goto done;
oom:
  http_reply_error(s, req, ROUTE_LIFECYCLE, 503, "out of memory");
done:
  free(sv.v);
  buf_free(&audit);
  arena_reset(&s->req_arena);
}

/* ---- purge ---------------------------------------------------------------------------- */

/* Parse purge.streams ("a=15d,b=1d") into up to max (stream, duration) pairs written into
 * copy (a modifiable copy of the setting). Returns the number, or -1 on a bad entry. */
static int parse_streams(char *copy, const char **names, int64_t *after, int max) {
  int n = 0;
  for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    while (*tok == ' ') tok++;
    char *eq = strchr(tok, '=');
    if (!eq || eq == tok || n == max) return -1;
    *eq = '\0';
    if (time_parse_duration(eq + 1, &after[n]) != 0 || after[n] < 0) return -1;
    names[n++] = tok;
  }
  return n;
}

#define LC_MAX_STREAM_RULES 64

/* See server.h. */
int lifecycle_purge_run(server *s, uint64_t *deleted) {
  *deleted = 0;
  const evd_config *cfg = &s->cfg;
  int64_t now = time_now_ns();
  seqvec sv = {0};
  const char *names[LC_MAX_STREAM_RULES];
  int64_t afters[LC_MAX_STREAM_RULES];
  char *copy = cfg->purge_streams ? strdup(cfg->purge_streams) : NULL;
  int nstreams = 0;
  if (cfg->purge_streams && (!copy || (nstreams = parse_streams(copy, names, afters, LC_MAX_STREAM_RULES)) < 0)) {
    log_error(&s->log, "purge: purge.streams '%s' is not a list of stream=duration", cfg->purge_streams);
    nstreams = 0;
  }
  select_ctx c = {.s = s, .out = &sv, .skip_streams = names, .nskip = (size_t)nstreams};
  int rc = 0;
  int64_t arch_after = cfg->purge_archived_after_ns ? cfg->purge_archived_after_ns : cfg->purge_after_ns;
  if (cfg->purge_after_ns > 0) {
    store_filter f;
    store_filter_init(&f);
    f.until_ns = now - cfg->purge_after_ns;
    f.archived = cfg->purge_archived_after_ns ? STORE_ARCHIVED_HIDE : STORE_ARCHIVED_INCLUDE;
    rc = select_all(s->st, &f, &c);
  }
  if (rc == 0 && arch_after > 0 && cfg->purge_archived_after_ns) {
    store_filter f;
    store_filter_init(&f);
    f.until_ns = now - arch_after;
    f.archived = STORE_ARCHIVED_ONLY;
    rc = select_all(s->st, &f, &c);
  }
  c.nskip = 0;
  for (int i = 0; rc == 0 && i < nstreams; i++) {
    if (afters[i] <= 0) continue;
    store_filter f;
    store_filter_init(&f);
    f.exact[EVF_STREAM] = names[i];
    f.until_ns = now - afters[i];
    rc = select_all(s->st, &f, &c);
  }
  if (sv.oom) rc = -ENOMEM;
  if (rc == 0) rc = store_mark(s->st, sv.v, sv.n, STORE_MARK_DELETED, deleted);
  free(sv.v);
  free(copy);
  if (rc) {
    log_error(&s->log, "purge failed: %s", strerror(-rc));
    return rc;
  }
  if (*deleted) {
    char data[160];
    snprintf(data, sizeof data, "{\"by\":\"purge\",\"count\":%llu}", (unsigned long long)*deleted);
    char why[256];
    if (audit_record(s, "event.purged", NULL, data, why, sizeof why) != 0) return -EIO;
    log_info(&s->log, "purge: deleted %llu events", (unsigned long long)*deleted);
  }
  return 0;
}

static void on_purge_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  server *s = arg;
  if (s->stopping) return;
  uint64_t n = 0;
  lifecycle_purge_run(s, &n); /* logs its own failures and results */
  struct timeval tv = {(time_t)(s->cfg.purge_interval_ns / 1000000000),
                       (suseconds_t)(s->cfg.purge_interval_ns % 1000000000 / 1000)};
  evtimer_add(s->purge_ev, &tv);
}

/* See server.h. */
int lifecycle_start(server *s, char *err, size_t errlen) {
  const evd_config *c = &s->cfg;
  if (c->purge_after_ns <= 0 && c->purge_archived_after_ns <= 0 && !c->purge_streams) return 0;
  if (c->purge_streams) {
    char *copy = strdup(c->purge_streams);
    const char *names[LC_MAX_STREAM_RULES];
    int64_t afters[LC_MAX_STREAM_RULES];
    int n = copy ? parse_streams(copy, names, afters, LC_MAX_STREAM_RULES) : -1;
    free(copy);
    if (n < 0) {
      snprintf(err, errlen, "purge.streams: expected \"stream=duration,...\" (at most %d), got '%s'",
               LC_MAX_STREAM_RULES, c->purge_streams);
      return -1;
    }
  }
  s->purge_ev = evtimer_new(s->base, on_purge_timer, s);
  if (!s->purge_ev) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  struct timeval tv = {0, 0}; /* first run right after start, then every purge.interval */
  evtimer_add(s->purge_ev, &tv);
  return 0;
}

/* See server.h. */
void lifecycle_stop(server *s) {
  if (s->purge_ev) event_free(s->purge_ev);
  s->purge_ev = NULL;
}
