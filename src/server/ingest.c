/* ingest: normalization, registry check, encoding and the store completion hand-off shared
 * by every input. Contract: ingest.h.
 *
 * Memory: a batch is one malloc'd struct plus its store_batch (the encoded records) and, once
 * an event is refused, an error array. The per-event scratch of event_from_json/event_finish
 * (default key, labels, ...) comes from the server's ingest_arena, reset at the start of
 * every ingest_add_*: the encoded record is a copy, so nothing of an event outlives the next
 * add. All of this runs on the loop thread; the writer thread only runs on_appended. */
#include "server/ingest.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keymatch.h"
#include "core/record.h"
#include "core/timeutil.h"
#include "registry/registry.h"
#include "server/server.h"

/* Which of the fields a registry may default the producer gave. */
enum { GIVEN_STREAM = 1, GIVEN_KEY = 2, GIVEN_SEVERITY = 4 };

struct ingest_batch {
  server *s;
  ingest_input input;
  registry *reg;          /* reference held until submit/abort; NULL: no registry */
  store_batch *batch;     /* the encoded events; NULL once handed to the store and back */
  int64_t now_ns;         /* observed time of every event of the batch */
  size_t nevents;
  size_t nerrors;
  int too_large;          /* some error was a size limit */
  int oom;
  int first_kind;         /* kind of the first error */
  int dry;                /* ingest_begin_check: check only, count nothing, store nothing */
  int partial;            /* ingest_set_partial: refused events do not refuse the batch */
  const auth_principal *principal; /* access control (auth.h); NULL: auth off */
  ingest_error last;      /* the most recent error (any index) */
  size_t unregistered;    /* events accepted though their type is not registered */
  ingest_error *errors;   /* the first INGEST_MAX_ERRORS errors */
  size_t errors_cap;
  /* Completion (filled by ingest_submit and the writer thread). */
  ingest_done_cb cb;
  void *cb_arg;
  int status;
  ingest_batch *next;     /* in server.done_head list */
};

/* ---- batches and errors --------------------------------------------------------------- */

ingest_batch *ingest_begin(server *s) {
  ingest_batch *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->batch = store_batch_new();
  if (!b->batch) {
    free(b);
    return NULL;
  }
  b->s = s;
  b->input = INGEST_INPUT_HTTP;
  b->reg = registry_holder_get(&s->registry);
  b->now_ns = time_now_ns();
  b->principal = s->req_principal;
  return b;
}

void ingest_set_principal(ingest_batch *b, const auth_principal *p) { b->principal = p; }

static void add_error(ingest_batch *b, size_t index, size_t line, int kind, const char *field,
                      const char *reason);

/* Access control (auth_check_event): force or check the event's tenant, its stream and
 * type. Returns 0, or -1 after recording the refusal. */
static int check_principal(ingest_batch *b, size_t index, size_t line, event *ev, int tenant_given) {
  if (!b->principal) return 0;
  char field[160], reason[256];
  if (auth_check_event(b->principal, ev, tenant_given, field, sizeof field, reason,
                       sizeof reason) == 0)
    return 0;
  add_error(b, index, line, INGEST_ERR_INVALID, field, reason);
  return -1;
}

/* 1 if a JSON event object gives a (non-null) tenant. */
static int json_gives_tenant(const json_value *obj) {
  for (const json_value *m = obj->child; m; m = m->next)
    if (m->type != JSON_NULL && m->key_len == 6 && memcmp(m->key, "tenant", 6) == 0) return 1;
  return 0;
}

ingest_batch *ingest_begin_check(server *s) {
  ingest_batch *b = ingest_begin(s);
  if (b) b->dry = 1;
  return b;
}

size_t ingest_unregistered_count(const ingest_batch *b) { return b->unregistered; }

void ingest_set_partial(ingest_batch *b) { b->partial = 1; }

const ingest_error *ingest_last_error(const ingest_batch *b) { return b->nerrors ? &b->last : NULL; }

/* Count one event of the request as received (not in a dry run). */
static void count_received(ingest_batch *b) {
  if (b->dry) return;
  METRIC_ADD(b->s->m.events_received, 1);
  METRIC_ADD(b->s->m.input_events[b->input][INPUT_OUTCOME_RECEIVED], 1);
}

void ingest_reserve(ingest_batch *b, size_t body_bytes) {
  if (b->dry || !b->batch || body_bytes == 0) return;
  /* A record is the canonical JSON (the input plus id, observed_time, tenant, key and
   * severity_number) behind a header repeating the string fields: about twice the input. */
  size_t want = body_bytes > SIZE_MAX / 4 ? SIZE_MAX / 2 : body_bytes * 2 + 4096;
  (void)store_batch_reserve(b->batch, want);
}

void ingest_set_input(ingest_batch *b, ingest_input input) {
  if (input >= 0 && input < INGEST_INPUT__COUNT) b->input = input;
}

/* Free everything the batch holds (not the metrics). */
static void batch_free(ingest_batch *b) {
  if (b->reg) registry_unref(b->reg);
  if (b->batch) store_batch_free(b->batch);
  free(b->errors);
  free(b);
}

/* Record an error for event `index`. Keeps the first INGEST_MAX_ERRORS with details. */
static void add_error(ingest_batch *b, size_t index, size_t line, int kind, const char *field,
                      const char *reason) {
  if (b->nerrors == 0) b->first_kind = kind;
  if (kind == INGEST_ERR_TOO_LARGE) b->too_large = 1;
  b->last.index = index;
  b->last.line = line;
  b->last.kind = kind;
  snprintf(b->last.field, sizeof b->last.field, "%s", field ? field : "");
  snprintf(b->last.reason, sizeof b->last.reason, "%s", reason ? reason : "");
  size_t i = b->nerrors++;
  if (i >= INGEST_MAX_ERRORS) return;
  if (i == b->errors_cap) {
    size_t cap = b->errors_cap ? b->errors_cap * 4 : 4;
    if (cap > INGEST_MAX_ERRORS) cap = INGEST_MAX_ERRORS;
    ingest_error *e = realloc(b->errors, cap * sizeof *e);
    if (!e) {
      b->oom = 1;
      return;
    }
    b->errors = e;
    b->errors_cap = cap;
  }
  ingest_error *e = &b->errors[i];
  e->index = index;
  e->line = line;
  e->kind = kind;
  snprintf(e->field, sizeof e->field, "%s", field ? field : "");
  snprintf(e->reason, sizeof e->reason, "%s", reason ? reason : "");
}

void ingest_add_failure(ingest_batch *b, size_t line, int kind, const char *field, const char *reason) {
  count_received(b);
  add_error(b, b->nevents++, line, kind, field, reason);
}

size_t ingest_count(const ingest_batch *b) { return b->nevents; }
size_t ingest_error_count(const ingest_batch *b) { return b->nerrors; }
int ingest_has_too_large(const ingest_batch *b) { return b->too_large; }
int ingest_out_of_memory(const ingest_batch *b) { return b->oom; }

const ingest_error *ingest_error_at(const ingest_batch *b, size_t i) {
  size_t kept = b->nerrors < INGEST_MAX_ERRORS ? b->nerrors : INGEST_MAX_ERRORS;
  if (i >= kept || i >= b->errors_cap) return NULL;
  return &b->errors[i];
}

/* ---- one event ------------------------------------------------------------------------ */

/* Which defaultable members a JSON event object gives (null counts as absent). */
static unsigned json_given(const json_value *obj) {
  unsigned g = 0;
  for (const json_value *m = obj->child; m; m = m->next) {
    if (m->type == JSON_NULL) continue;
    if (m->key_len == 6 && memcmp(m->key, "stream", 6) == 0) g |= GIVEN_STREAM;
    else if (m->key_len == 3 && memcmp(m->key, "key", 3) == 0) g |= GIVEN_KEY;
    else if ((m->key_len == 8 && memcmp(m->key, "severity", 8) == 0) ||
             (m->key_len == 15 && memcmp(m->key, "severity_number", 15) == 0))
      g |= GIVEN_SEVERITY;
  }
  return g;
}

/* Apply the registered type's defaults to what the producer did not give. Returns 0, or -1
 * with *fe (a default that breaks a limit), or -ENOMEM. */
static int apply_type_defaults(ingest_batch *b, event *ev, const registry_type *t, unsigned given,
                               evd_field_error *fe) {
  const evd_limits *lim = &b->s->cfg.limits;
  if (t->severity && !(given & GIVEN_SEVERITY)) ev->severity_number = t->severity;
  if (!t->stream || (given & GIVEN_STREAM)) return 0;
  size_t sn = strlen(t->stream);
  if (sn == 0) return 0;
  if (sn > lim->name_max) {
    snprintf(fe->field, sizeof fe->field, "stream");
    snprintf(fe->reason, sizeof fe->reason,
             "the registry's default stream for this type exceeds %zu bytes (limits.name_max)",
             lim->name_max);
    return -1;
  }
  ev->f[EVF_STREAM] = (strv){t->stream, sn};
  if (given & GIVEN_KEY) return 0;
  strv ty = ev->f[EVF_TYPE];
  size_t kn = sn + 1 + ty.n;
  char *k = arena_alloc(&b->s->ingest_arena, kn + 1);
  if (!k) return -ENOMEM;
  memcpy(k, t->stream, sn);
  k[sn] = '.';
  memcpy(k + sn + 1, ty.p, ty.n);
  k[kn] = '\0';
  if (kn > lim->name_max || !routing_key_valid(k, kn)) {
    snprintf(fe->field, sizeof fe->field, "key");
    snprintf(fe->reason, sizeof fe->reason,
             "the default key (the registry's stream '%.64s' + '.' + type) is not a valid "
             "routing key of at most %zu bytes",
             t->stream, lim->name_max);
    return -1;
  }
  ev->f[EVF_KEY] = (strv){k, kn};
  return 0;
}

/* Mark an event as of an unregistered type: label unregistered=true (replacing a label of
 * that name the producer gave). The label does not count against limits.labels_max. */
static int add_flag_label(ingest_batch *b, event *ev) {
  static const char key[] = "unregistered", value[] = "true";
  for (size_t i = 0; i < ev->nlabels; i++)
    if (ev->labels[i].key.n == sizeof key - 1 && memcmp(ev->labels[i].key.p, key, sizeof key - 1) == 0) {
      ev->labels[i].value = (strv){value, sizeof value - 1};
      return 0;
    }
  evd_label *l = arena_alloc(&b->s->ingest_arena, (ev->nlabels + 1) * sizeof *l);
  if (!l) return -ENOMEM;
  if (ev->nlabels) memcpy(l, ev->labels, ev->nlabels * sizeof *l);
  l[ev->nlabels] = (evd_label){{key, sizeof key - 1}, {value, sizeof value - 1}};
  ev->labels = l;
  ev->nlabels++;
  return 0;
}

/* The part after normalization: registry, encoding. `given` says which defaultable fields
 * the producer set; when obj is not NULL it is computed from obj, only if needed. Returns as
 * ingest_add_json. */
static int add_normalized(ingest_batch *b, size_t index, size_t line, event *ev, unsigned given,
                          const json_value *obj) {
  evd_field_error fe;
  if (b->reg) {
    strv ty = ev->f[EVF_TYPE];
    const registry_type *t = registry_lookup(b->reg, ty.p, ty.n);
    if (t && (t->stream || t->severity)) { /* the type's defaults, where not given */
      if (obj) given = json_given(obj);
      int rc = apply_type_defaults(b, ev, t, given, &fe);
      if (rc == -ENOMEM) return b->oom = 1, -ENOMEM;
      if (rc != 0) {
        add_error(b, index, line, INGEST_ERR_INVALID, fe.field, fe.reason);
        return -1;
      }
    }
    strv st = ev->f[EVF_STREAM];
    int flags = b->dry ? REGISTRY_CHECK_NO_COUNT : 0;
    /* A registered type's check does not depend on the stream: skip the second lookup. */
    registry_verdict v = t ? registry_check_type(t, ev->data, &fe, flags)
                           : registry_check_ex(b->reg, st.p, st.n, ty.p, ty.n, ev->data, NULL, &fe, flags);
    switch (v) {
      case REGISTRY_VALID:
        break;
      case REGISTRY_UNKNOWN_ACCEPTED:
        b->unregistered++;
        break;
      case REGISTRY_UNKNOWN_FLAGGED:
        b->unregistered++;
        if (add_flag_label(b, ev) != 0) return b->oom = 1, -ENOMEM;
        break;
      case REGISTRY_INVALID:
        add_error(b, index, line, INGEST_ERR_SCHEMA, fe.field, fe.reason);
        return -1;
      case REGISTRY_UNKNOWN_REJECTED:
        add_error(b, index, line, INGEST_ERR_UNREGISTERED, fe.field, fe.reason);
        return -1;
    }
  }
  if ((b->nerrors && !b->partial) || b->dry) return 0; /* refused anyway, or only checking */
  buf *enc = &b->s->ingest_enc;
  buf_clear(enc);
  if (record_encode(ev, enc) != 0) {
    add_error(b, index, line, INGEST_ERR_TOO_LARGE, "",
              "event cannot be encoded (a field exceeds the record format)");
    return -1;
  }
  if (store_batch_add(b->batch, enc->data, enc->len) != 0) return b->oom = 1, -ENOMEM;
  return 0;
}

int ingest_add_json(ingest_batch *b, const json_value *obj, size_t raw_len, size_t line) {
  server *s = b->s;
  const evd_limits *lim = &s->cfg.limits;
  size_t index = b->nevents++;
  count_received(b);
  if (b->oom) return -ENOMEM;
  arena_reset(&s->ingest_arena);
  char reason[256];
  if (raw_len > lim->event_max_bytes) {
    snprintf(reason, sizeof reason, "event is %zu bytes; the limit is %zu (limits.event_max_bytes)",
             raw_len, lim->event_max_bytes);
    add_error(b, index, line, INGEST_ERR_TOO_LARGE, "", reason);
    return -1;
  }
  if (!obj || obj->type != JSON_OBJECT) {
    snprintf(reason, sizeof reason, "expected an event object, got %s",
             obj ? json_type_name(obj->type) : "nothing");
    add_error(b, index, line, INGEST_ERR_INVALID, "", reason);
    return -1;
  }
  event ev;
  evd_field_error fe;
  if (event_from_json(obj, lim, b->now_ns, &s->ingest_arena, &ev, &fe) != 0) {
    if (fe.kind == EVD_ERR_NOMEM) return b->oom = 1, -ENOMEM;
    add_error(b, index, line, fe.kind == EVD_ERR_LIMIT ? INGEST_ERR_TOO_LARGE : INGEST_ERR_INVALID,
              fe.field, fe.reason);
    return -1;
  }
  if (b->principal && check_principal(b, index, line, &ev, json_gives_tenant(obj)) != 0) return -1;
  return add_normalized(b, index, line, &ev, 0, obj);
}

int ingest_add_event(ingest_batch *b, event *ev) {
  server *s = b->s;
  size_t index = b->nevents++;
  count_received(b);
  if (b->oom) return -ENOMEM;
  arena_reset(&s->ingest_arena);
  unsigned given = (ev->f[EVF_STREAM].n ? GIVEN_STREAM : 0) | (ev->f[EVF_KEY].n ? GIVEN_KEY : 0) |
                   (ev->severity_number ? GIVEN_SEVERITY : 0);
  evd_field_error fe;
  int tenant_given = ev->f[EVF_TENANT].n != 0;
  if (b->principal && !tenant_given && b->principal->tenant[0])
    ev->f[EVF_TENANT] = (strv){b->principal->tenant, strlen(b->principal->tenant)};
  if (event_finish(ev, &s->cfg.limits, b->now_ns, &s->ingest_arena, &fe) != 0) {
    if (fe.kind == EVD_ERR_NOMEM) return b->oom = 1, -ENOMEM;
    add_error(b, index, 0, fe.kind == EVD_ERR_LIMIT ? INGEST_ERR_TOO_LARGE : INGEST_ERR_INVALID,
              fe.field, fe.reason);
    return -1;
  }
  if (b->principal && check_principal(b, index, 0, ev, tenant_given) != 0) return -1;
  return add_normalized(b, index, 0, ev, given, NULL);
}

/* ---- metrics of refusals ----------------------------------------------------------------- */

void ingest_count_rejected(server *s, ingest_input input, reject_reason reason, size_t n) {
  if (input < 0 || input >= INGEST_INPUT__COUNT) input = INGEST_INPUT_HTTP;
  if (reason < 0 || reason >= REJECT__COUNT) reason = REJECT_INVALID;
  METRIC_ADD(s->m.events_rejected[reason], n);
  METRIC_ADD(s->m.input_events[input][INPUT_OUTCOME_REJECTED], n);
}

/* The metrics reason for a batch refused because of its events' errors. */
static reject_reason errors_reason(const ingest_batch *b) {
  if (b->too_large) return REJECT_TOO_LARGE;
  switch (b->first_kind) {
    case INGEST_ERR_UNREGISTERED: return REJECT_UNREGISTERED;
    case INGEST_ERR_SCHEMA: return REJECT_SCHEMA;
    default: return REJECT_INVALID;
  }
}

/* The metrics reason for a store refusal or failure (-errno). */
static reject_reason store_reason(int status) {
  switch (-status) {
    case EAGAIN: return REJECT_OVERLOADED;
    case ENOMEM: return REJECT_OVERLOADED;
    case ENOSPC: return REJECT_DISK_FULL;
    case ESHUTDOWN: return REJECT_SHUTTING_DOWN;
    default: return REJECT_STORE_FAILED;
  }
}

void ingest_abort(ingest_batch *b) {
  if (!b) return;
  if (b->dry) {
    batch_free(b);
    return;
  }
  size_t n = b->nevents ? b->nevents : 1;
  reject_reason why = b->nerrors ? errors_reason(b) : b->oom ? REJECT_OVERLOADED : REJECT_INVALID;
  ingest_count_rejected(b->s, b->input, why, n);
  batch_free(b);
}

/* ---- completion hand-off ----------------------------------------------------------------- */

/* Put a finished batch on the completion list and wake the loop (any thread). */
static void post_completion(ingest_batch *b) {
  server *s = b->s;
  b->next = NULL;
  pthread_mutex_lock(&s->done_mu);
  int was_empty = s->done_head == NULL;
  if (s->done_tail) s->done_tail->next = b;
  else s->done_head = b;
  s->done_tail = b;
  pthread_mutex_unlock(&s->done_mu);
  if (was_empty) event_active(s->done_ev, EV_READ, 0);
}

/* Store completion (writer thread). */
static void on_appended(void *arg, int status, store_batch *sb) {
  ingest_batch *b = arg;
  b->status = status;
  b->batch = sb;
  post_completion(b);
}

int ingest_submit(ingest_batch *b, ingest_done_cb cb, void *arg) {
  server *s = b->s;
  if (b->dry) {
    batch_free(b);
    return -EINVAL;
  }
  if (b->nerrors && !b->partial) {
    ingest_abort(b);
    return -EINVAL;
  }
  if (b->oom) {
    ingest_abort(b);
    return -ENOMEM;
  }
  int rc = 0;
  if (s->stopping) rc = -ESHUTDOWN;
  if (b->reg) { /* every event has been checked: the registry may go */
    registry_unref(b->reg);
    b->reg = NULL;
  }
  b->cb = cb;
  b->cb_arg = arg;
  size_t n = b->nevents;
  if (b->partial) { /* only the encoded events go to the store; the refused are counted now */
    if (b->nerrors) ingest_count_rejected(s, b->input, errors_reason(b), b->nerrors);
    b->nerrors = 0;
    n = store_batch_count(b->batch);
  }
  if (rc == 0) {
    if (n == 0) {
      b->status = 0;
      post_completion(b);
    } else {
      /* The store's until on_appended, which may run on the writer thread before
       * store_append even returns: let go of it first. */
      store_batch *sb = b->batch;
      b->batch = NULL;
      rc = store_append(s->st, sb, on_appended, b);
      if (rc != 0) b->batch = sb; /* refused: still ours */
    }
  }
  if (rc != 0) {
    ingest_count_rejected(s, b->input, store_reason(rc), n ? n : 1);
    batch_free(b);
    return rc;
  }
  s->inflight++;
  METRIC_ADD(s->m.ingest_requests_inflight, 1);
  return 0;
}

/* Report one finished batch to its input and free it (loop thread). */
static void finish(server *s, ingest_batch *b) {
  ingest_result r = {.status = b->status, .batch = b->batch};
  size_t n = b->batch ? store_batch_count(b->batch) : 0;
  if (b->status == 0) {
    size_t dups = 0;
    for (size_t i = 0; i < n; i++) dups += store_batch_duplicate(b->batch, i) ? 1 : 0;
    r.accepted = n;
    r.duplicates = dups;
    METRIC_ADD(s->m.events_accepted, n);
    METRIC_ADD(s->m.events_duplicate, dups);
    METRIC_ADD(s->m.input_events[b->input][INPUT_OUTCOME_ACCEPTED], n);
  } else {
    ingest_count_rejected(s, b->input, store_reason(b->status), n);
  }
  if (n == 0) r.batch = NULL;
  b->cb(b->cb_arg, &r);
  s->inflight--;
  METRIC_SUB(s->m.ingest_requests_inflight, 1);
  batch_free(b);
}

void ingest_drain_completions(server *s) {
  pthread_mutex_lock(&s->done_mu);
  ingest_batch *list = s->done_head;
  s->done_head = s->done_tail = NULL;
  pthread_mutex_unlock(&s->done_mu);
  while (list) {
    ingest_batch *next = list->next;
    finish(s, list);
    list = next;
  }
}
