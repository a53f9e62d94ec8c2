/* outputs: the set of outputs — the destination table, spec parsing and checking, starting
 * and stopping workers, control requests, the retention guard, status and metrics
 * rendering. The worker loop is in dispatcher.c; see outputs.h for the model.
 *
 * Spec (JSON object; docs/outputs.md is the reference): common members
 *   name (required; 1..64 of [A-Za-z0-9_.-]; unique per owner: an output's identity is
 *   "OWNER:NAME", its `key`), type (required; a destination of DESTS),
 *   match (a pattern or a list of 1..32 AMQP topic patterns on `key`; default "#"),
 *   type_prefix, min_severity (text or 1..24), tenant, labels ({key: value}, up to 16),
 *   retry ({base, cap: duration text or seconds; max_attempts: integer, 0 or "forever"}),
 *   paused (bool), batch (1..10000, default 100), start ("now" | "oldest", default "now"),
 *   owner (tenant path, default "" = root), scope ("local" | "domain" | "global", default
 *   "domain"; see outputs.h)
 * and the destination's own members (checked by its `check`). */
#include "outputs/outputs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keymatch.h"
#include "core/timeutil.h"
#include "outputs/dispatcher.h"
#include "server/auth.h"

#define A_LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define A_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define A_ADD(x, v) __atomic_fetch_add(&(x), (v), __ATOMIC_RELAXED)

/* ---- the destinations ---------------------------------------------------------------- */

static const output_dest_ops *const DESTS[] = {
    /* destinations: one line each */
    &output_dest_file,
    &output_dest_stdout,
    &output_dest_webhook,
    &output_dest_kafka,
    &output_dest_amqp,
};
#define NDESTS (sizeof DESTS / sizeof DESTS[0])

const output_dest_ops *outputs_dest_find(const char *type) {
  for (size_t i = 0; i < NDESTS; i++)
    if (strcmp(DESTS[i]->type, type) == 0) return DESTS[i];
  return NULL;
}

static const char *const COMMON[] = {"name",   "type",  "match",  "type_prefix",
                                     "min_severity", "tenant", "labels", "retry",
                                     "paused", "batch", "start", "owner", "scope"};

int output_common_member(const char *key) {
  for (size_t i = 0; i < sizeof COMMON / sizeof COMMON[0]; i++)
    if (strcmp(COMMON[i], key) == 0) return 1;
  return 0;
}

void outputs_options_default(outputs_options *o) {
  memset(o, 0, sizeof *o);
  o->retry_base_ns = 100 * NS_PER_MS;
  o->retry_cap_ns = 30 * NS_PER_SEC;
  o->max_attempts = 0;
  o->history_size = 1000;
  o->pin_max_bytes = 1024ull * 1024 * 1024;
  o->poll_ns = NS_PER_SEC;
  o->stop_timeout_ns = 5 * NS_PER_SEC;
}

/* ---- spec parsing ---------------------------------------------------------------------- */

static int name_valid(const char *s, size_t n) {
  if (n == 0 || n > OUTPUTS_NAME_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-' || c == '.'))
      return 0;
  }
  return 1;
}

/* A duration member: "250ms" or a number of seconds. */
static int spec_duration(const json_value *v, const char *what, int64_t *out, char *err,
                         size_t errlen) {
  if (v->type == JSON_STRING) {
    if (time_parse_duration(v->s, out) == 0 && *out > 0) return 0;
  } else if (v->type == JSON_NUMBER) {
    double d;
    if (json_as_double(v, &d) == 0 && d > 0 && d < 1e9) {
      *out = (int64_t)(d * 1e9);
      if (*out > 0) return 0;
    }
  }
  snprintf(err, errlen, "%s: expected a positive duration (\"250ms\", \"5s\" or seconds)", what);
  return -1;
}

int output_spec_parse(output *o, const outputs_options *opt, char *err, size_t errlen) {
  outputs_options defaults;
  if (!opt) {
    outputs_options_default(&defaults);
    opt = &defaults;
  }
  json_error je;
  const json_value *root = json_parse(&o->ar, o->spec_json, o->spec_len, 16, &je);
  if (!root) {
    snprintf(err, errlen, "invalid JSON at byte %zu: %s", je.offset, je.message);
    return -1;
  }
  if (root->type != JSON_OBJECT) {
    snprintf(err, errlen, "an output must be a JSON object, got %s", json_type_name(root->type));
    return -1;
  }
  o->root = root;
  output_spec *sp = &o->sp;
  memset(sp, 0, sizeof *sp);
  sp->retry_base_ns = opt->retry_base_ns;
  sp->retry_cap_ns = opt->retry_cap_ns;
  sp->max_attempts = opt->max_attempts;
  sp->batch = 100;
  const json_value *v = json_get(root, "name");
  if (!v) {
    snprintf(err, errlen, "name: missing");
    return -1;
  }
  if (v->type != JSON_STRING || !name_valid(v->s, v->n)) {
    snprintf(err, errlen, "name: expected 1..64 characters of A-Z a-z 0-9 _ - .");
    return -1;
  }
  sp->name = v->s;
  v = json_get(root, "type");
  if (!v) {
    snprintf(err, errlen, "type: missing");
    return -1;
  }
  if (v->type == JSON_STRING)
    for (size_t i = 0; i < opt->nextra_dests && !sp->ops; i++)
      if (strcmp(opt->extra_dests[i]->type, v->s) == 0) sp->ops = opt->extra_dests[i];
  if (v->type != JSON_STRING || (!sp->ops && !(sp->ops = outputs_dest_find(v->s)))) {
    buf known = BUF_INIT;
    for (size_t i = 0; i < NDESTS; i++) buf_printf(&known, "%s%s", i ? ", " : "", DESTS[i]->type);
    snprintf(err, errlen, "type: unknown output type (known: %s)", known.data ? known.data : "");
    buf_free(&known);
    return -1;
  }
  sp->type = v->s;
  if ((v = json_get(root, "match"))) {
    const json_value *it = v->type == JSON_ARRAY ? v->child : v;
    if (v->type == JSON_ARRAY && (v->n == 0 || v->n > OUTPUTS_MAX_PATTERNS)) {
      snprintf(err, errlen, "match: expected 1..%d patterns", OUTPUTS_MAX_PATTERNS);
      return -1;
    }
    for (size_t i = 0; it; it = v->type == JSON_ARRAY ? it->next : NULL, i++) {
      if (it->type != JSON_STRING || !routing_pattern_valid(it->s, it->n)) {
        if (v->type == JSON_ARRAY)
          snprintf(err, errlen, "match[%zu]: expected an AMQP topic pattern (words separated by "
                   "'.', '*' one word, '#' zero or more)", i);
        else
          snprintf(err, errlen, "match: expected an AMQP topic pattern or a list of them");
        return -1;
      }
      sp->patterns[sp->npatterns++] = it->s;
    }
  }
  if ((v = json_get(root, "type_prefix"))) {
    if (v->type != JSON_STRING || v->n == 0) {
      snprintf(err, errlen, "type_prefix: expected a non-empty string");
      return -1;
    }
    sp->type_prefix = v->s;
  }
  if ((v = json_get(root, "min_severity"))) {
    int64_t n = -1;
    if (v->type == JSON_STRING) n = severity_from_text(v->s, v->n);
    else if (v->type != JSON_NUMBER || json_as_int64(v, &n) != 0) n = -1;
    if (n < 1 || n > 24) {
      snprintf(err, errlen, "min_severity: expected a severity (TRACE..FATAL) or 1..24");
      return -1;
    }
    sp->min_severity = (int)n;
  }
  if ((v = json_get(root, "tenant"))) {
    if (v->type != JSON_STRING || v->n == 0) {
      snprintf(err, errlen, "tenant: expected a non-empty string");
      return -1;
    }
    sp->tenant = v->s;
  }
  sp->owner = "";
  sp->scope = OUTPUT_SCOPE_DOMAIN;
  if ((v = json_get(root, "owner"))) {
    if (v->type != JSON_STRING || !auth_tenant_valid(v->s, v->n)) {
      snprintf(err, errlen, "owner: expected a tenant path (\"\" = root, \"acme\", \"acme/dev\")");
      return -1;
    }
    sp->owner = v->s;
  }
  if ((v = json_get(root, "scope"))) {
    int sc = -1;
    for (int i = 0; i <= OUTPUT_SCOPE_GLOBAL && v->type == JSON_STRING; i++)
      if (strcmp(v->s, outputs_scope_name(i)) == 0) sc = i;
    if (sc < 0) {
      snprintf(err, errlen, "scope: expected \"local\", \"domain\" or \"global\"");
      return -1;
    }
    sp->scope = sc;
  }
  if (sp->tenant && sp->scope != OUTPUT_SCOPE_GLOBAL &&
      (sp->scope == OUTPUT_SCOPE_LOCAL
           ? strcmp(sp->tenant, sp->owner) != 0
           : !auth_tenant_in_subtree(sp->tenant, strlen(sp->tenant), sp->owner))) {
    snprintf(err, errlen, "tenant: '%s' is outside what owner '%s' with scope %s receives",
             sp->tenant, sp->owner, outputs_scope_name(sp->scope));
    return -1;
  }
  if ((v = json_get(root, "labels"))) {
    if (v->type != JSON_OBJECT || v->n > OUTPUT_FILTER_MAX_LABELS) {
      snprintf(err, errlen, "labels: expected an object of at most %d string values",
               OUTPUT_FILTER_MAX_LABELS);
      return -1;
    }
    for (const json_value *m = v->child; m; m = m->next) {
      if (m->type != JSON_STRING) {
        snprintf(err, errlen, "labels.%s: expected a string", m->key);
        return -1;
      }
      sp->label_key[sp->nlabels] = m->key;
      sp->label_value[sp->nlabels++] = m->s;
    }
  }
  if ((v = json_get(root, "retry"))) {
    if (v->type != JSON_OBJECT) {
      snprintf(err, errlen, "retry: expected an object {base, cap, max_attempts}");
      return -1;
    }
    for (const json_value *m = v->child; m; m = m->next) {
      if (strcmp(m->key, "base") == 0) {
        if (spec_duration(m, "retry.base", &sp->retry_base_ns, err, errlen) != 0) return -1;
      } else if (strcmp(m->key, "cap") == 0) {
        if (spec_duration(m, "retry.cap", &sp->retry_cap_ns, err, errlen) != 0) return -1;
      } else if (strcmp(m->key, "max_attempts") == 0) {
        int64_t n;
        if (m->type == JSON_STRING && strcmp(m->s, "forever") == 0) {
          sp->max_attempts = 0;
        } else if (m->type == JSON_NUMBER && json_as_int64(m, &n) == 0 && n >= 0) {
          sp->max_attempts = (uint64_t)n;
        } else {
          snprintf(err, errlen, "retry.max_attempts: expected a whole number >= 0 or \"forever\"");
          return -1;
        }
      } else {
        snprintf(err, errlen, "retry.%s: unknown member (expected base, cap, max_attempts)",
                 m->key);
        return -1;
      }
    }
    if (sp->retry_cap_ns < sp->retry_base_ns) {
      snprintf(err, errlen, "retry.cap: must not be below retry.base");
      return -1;
    }
  }
  if ((v = json_get(root, "paused"))) {
    if (v->type != JSON_TRUE && v->type != JSON_FALSE) {
      snprintf(err, errlen, "paused: expected true or false");
      return -1;
    }
    sp->paused = v->type == JSON_TRUE;
  }
  if ((v = json_get(root, "batch"))) {
    int64_t n;
    if (v->type != JSON_NUMBER || json_as_int64(v, &n) != 0 || n < 1 || n > OUTPUTS_BATCH_MAX) {
      snprintf(err, errlen, "batch: expected a whole number 1..%d", OUTPUTS_BATCH_MAX);
      return -1;
    }
    sp->batch = (size_t)n;
  }
  if ((v = json_get(root, "start"))) {
    if (v->type != JSON_STRING || (strcmp(v->s, "now") != 0 && strcmp(v->s, "oldest") != 0)) {
      snprintf(err, errlen, "start: expected \"now\" or \"oldest\"");
      return -1;
    }
    sp->start_oldest = strcmp(v->s, "oldest") == 0;
  }
  return sp->ops->check(root, err, errlen);
}

/* See dispatcher.h. */
output *output_new(const char *json, size_t len, const outputs_options *opt, char *err,
                          size_t errlen) {
  output *o = calloc(1, sizeof *o);
  if (!o || !(o->spec_json = malloc(len + 1))) {
    free(o);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  memcpy(o->spec_json, json, len);
  o->spec_json[len] = '\0';
  o->spec_len = len;
  arena_init(&o->ar, 4096);
  pthread_mutex_init(&o->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&o->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (output_spec_parse(o, opt, err, errlen) != 0) {
    output_free(o);
    return NULL;
  }
  snprintf(o->key, sizeof o->key, "%s:%s", o->sp.owner, o->sp.name);
  return o;
}

void output_free(output *o) {
  if (!o) return;
  arena_free(&o->ar);
  free(o->spec_json);
  pthread_mutex_destroy(&o->mu);
  pthread_cond_destroy(&o->cv);
  free(o);
}

int outputs_check_spec(const char *json, size_t len, char *err, size_t errlen) {
  output *o = output_new(json, len, NULL, err, errlen);
  if (!o) return -1;
  output_free(o);
  return 0;
}

/* ---- the set ----------------------------------------------------------------------------- */

/* The output a reference names (see OUTPUTS_REF_MAX): "OWNER:NAME" exactly, or "NAME" when
 * only one output has that name (NULL when none or several). Caller holds set->mu. */
static output *find(output_set *set, const char *ref) {
  if (strchr(ref, ':')) {
    for (output *o = set->head; o; o = o->next)
      if (strcmp(o->key, ref) == 0) return o;
    return NULL;
  }
  output *hit = NULL;
  for (output *o = set->head; o; o = o->next)
    if (strcmp(o->sp.name, ref) == 0) {
      if (hit) return NULL;
      hit = o;
    }
  return hit;
}

/* See dispatcher.h. */
output *output_find(output_set *set, const char *ref) { return find(set, ref); }

/* The name part of a reference. */
static const char *ref_name(const char *ref) {
  const char *c = strchr(ref, ':');
  return c ? c + 1 : ref;
}

/* How logs show a reference: "NAME" for the root's (":NAME"), else as it is. */
static const char *ref_label(const char *ref) { return ref[0] == ':' ? ref + 1 : ref; }


/* The retention guard: the lowest seq an output still needs. Writer thread. */
static uint64_t guard_needed(void *arg) {
  output_set *set = arg;
  uint64_t need = UINT64_MAX;
  pthread_mutex_lock(&set->list_mu);
  for (output *o = set->head; o; o = o->next) {
    uint64_t c = A_LOAD(o->cursor) + 1;
    if (c < need) need = c;
  }
  pthread_mutex_unlock(&set->list_mu);
  return need;
}

/* Retention deleted [first, last] although outputs needed it: move their cursors past it
 * and count. Writer thread. */
static void guard_skipped(void *arg, uint64_t first, uint64_t last) {
  output_set *set = arg;
  pthread_mutex_lock(&set->list_mu);
  for (output *o = set->head; o; o = o->next) {
    pthread_mutex_lock(&o->mu);
    uint64_t c = o->reset_pending ? o->reset_to : A_LOAD(o->cursor);
    if (c < last) {
      uint64_t from = c + 1 > first ? c + 1 : first;
      A_ADD(o->skipped, last - from + 1);
      A_STORE(o->skipped_first, from);
      A_STORE(o->skipped_last, last);
      o->reset_pending = 1;
      o->reset_to = last;
      log_error(set->log, "output %s: retention deleted seq %" PRIu64 "..%" PRIu64
                " before delivery (outputs.pin_max_bytes reached); skipped", o->sp.name, from,
                last);
      pthread_cond_signal(&o->cv);
    }
    pthread_mutex_unlock(&o->mu);
  }
  pthread_mutex_unlock(&set->list_mu);
}

/* ---- the persister ----------------------------------------------------------------------- */

/* Store the cursors that moved and the queued delivery history in one transaction. */
static void persist_once(output_set *set) {
  pthread_mutex_lock(&set->list_mu);
  size_t n = 0;
  for (output *o = set->head; o; o = o->next) n++;
  metadb_cursor *cs = n ? calloc(n, sizeof *cs) : NULL;
  output **os = n ? calloc(n, sizeof *os) : NULL;
  size_t k = 0;
  for (output *o = set->head; o && cs && os; o = o->next) {
    uint64_t c = A_LOAD(o->cursor);
    if (c == A_LOAD(o->cursor_stored)) continue;
    char *name = strdup(o->key); /* o may go away while the transaction runs */
    if (!name) break;
    cs[k] = (metadb_cursor){name, c};
    os[k++] = o;
  }
  pthread_mutex_unlock(&set->list_mu);
  if (metadb_flush(set->db, cs, k, set->opt.history_size) != 0) {
    log_error(set->log, "outputs: cannot store cursors and delivery history: %s",
              metadb_errmsg(set->db));
  } else if (k) {
    pthread_mutex_lock(&set->list_mu);
    for (output *o = set->head; o; o = o->next)
      for (size_t i = 0; i < k; i++)
        if (os[i] == o && strcmp(o->key, cs[i].name) == 0) A_STORE(o->cursor_stored, cs[i].seq);
    pthread_mutex_unlock(&set->list_mu);
  }
  for (size_t i = 0; i < k; i++) free((char *)cs[i].name);
  free(cs);
  free(os);
}

static void *persister_main(void *arg) {
  output_set *set = arg;
  pthread_mutex_lock(&set->pmu);
  while (!set->pstop) {
    if (!set->pwake) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      int64_t t = (int64_t)ts.tv_nsec + OUTPUTS_CURSOR_FLUSH_NS;
      ts.tv_sec += (time_t)(t / NS_PER_SEC);
      ts.tv_nsec = (long)(t % NS_PER_SEC);
      pthread_cond_timedwait(&set->pcv, &set->pmu, &ts);
    }
    set->pwake = 0;
    pthread_mutex_unlock(&set->pmu);
    persist_once(set);
    pthread_mutex_lock(&set->pmu);
  }
  pthread_mutex_unlock(&set->pmu);
  return NULL;
}

void outputs_persist_wake(output_set *set) {
  pthread_mutex_lock(&set->pmu);
  set->pwake = 1;
  pthread_cond_signal(&set->pcv);
  pthread_mutex_unlock(&set->pmu);
}

/* Set the starting cursor of a new output (stored one, else start: now|oldest) and start
 * its worker; link it into the set (caller holds set->mu). Returns 0 or -1 with err. */
static int launch(output_set *set, output *o, int fresh, uint64_t carry_cursor, char *err,
                  size_t errlen) {
  o->set = set;
  uint64_t seq = 0;
  int paused = o->sp.paused;
  int stored_paused = 0;
  uint64_t committed = store_committed_seq(set->st);
  int rc = fresh ? -ENOENT : metadb_cursor_get(set->db, o->key, &seq, &stored_paused);
  if (fresh == 2) {
    seq = carry_cursor; /* an update keeps the cursor */
    rc = 0;
  }
  if (rc == 0) {
    if (fresh != 2) paused = paused || stored_paused;
    if (seq > committed) {
      log_warn(set->log, "output %s: stored cursor %" PRIu64 " is past the store's last seq %"
               PRIu64 " (records lost with sync: none?); continuing from there", o->sp.name, seq,
               committed);
      seq = committed;
    }
  } else if (rc == -ENOENT) {
    seq = o->sp.start_oldest ? 0 : committed;
  } else {
    snprintf(err, errlen, "metadata database: %s", metadb_errmsg(set->db));
    return -1;
  }
  o->cursor = seq;
  o->paused = paused;
  if (metadb_cursor_put(set->db, o->key, seq) != 0 ||
      metadb_paused_put(set->db, o->key, paused, seq) != 0) {
    snprintf(err, errlen, "metadata database: %s", metadb_errmsg(set->db));
    return -1;
  }
  o->cursor_stored = seq;
  if (dispatcher_start(o, err, errlen) != 0) return -1;
  pthread_mutex_lock(&set->list_mu);
  o->next = set->head;
  set->head = o;
  pthread_mutex_unlock(&set->list_mu);
  return 0;
}

typedef struct load_ctx {
  output_set *set;
  char *err;
  size_t errlen;
} load_ctx;

static int load_runtime(void *arg, const char *name, const char *spec, size_t len) {
  load_ctx *c = arg;
  char err[512];
  output *o = output_new(spec, len, &c->set->opt, err, sizeof err);
  if (!o) {
    log_error(c->set->log, "output %s (meta.db): no longer valid, not started: %s", name, err);
    return 0;
  }
  if (find(c->set, o->key)) {
    log_error(c->set->log, "output %s (meta.db): a config-declared output has the same name; "
              "the runtime one is not started", name);
    output_free(o);
    return 0;
  }
  if (launch(c->set, o, 0, 0, err, sizeof err) != 0) {
    snprintf(c->err, c->errlen, "output %s: %s", name, err);
    output_free(o);
    return -1;
  }
  return 0;
}

int outputs_start(const outputs_options *opt, char *const *declared, size_t ndeclared,
                  output_set **out, char *err, size_t errlen) {
  *out = NULL;
  output_set *set = calloc(1, sizeof *set);
  if (!set) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  set->opt = *opt;
  if (set->opt.poll_ns <= 0) set->opt.poll_ns = NS_PER_SEC;
  if (set->opt.stop_timeout_ns <= 0) set->opt.stop_timeout_ns = 5 * NS_PER_SEC;
  set->st = opt->st;
  set->log = opt->log;
  if (netguard_listeners_resolve(opt->own_listeners, opt->nown_listeners, &set->listeners,
                                 &set->nlisteners) != 0) {
    free(set);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  set->opt.own_listeners = NULL; /* the strings are the caller's; the resolved copy is ours */
  set->opt.nown_listeners = 0;
  pthread_mutex_init(&set->mu, NULL);
  pthread_mutex_init(&set->list_mu, NULL);
  pthread_mutex_init(&set->pmu, NULL);
  pthread_mutex_init(&set->tmu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&set->pcv, &ca);
  pthread_cond_init(&set->tcv, &ca);
  pthread_condattr_destroy(&ca);
  char path[4096];
  snprintf(path, sizeof path, "%s/meta.db", opt->data_dir);
  if (metadb_open(path, &set->db, err, errlen) != 0) {
    pthread_mutex_destroy(&set->mu);
    pthread_mutex_destroy(&set->list_mu);
    pthread_mutex_destroy(&set->pmu);
    pthread_cond_destroy(&set->pcv);
    pthread_mutex_destroy(&set->tmu);
    pthread_cond_destroy(&set->tcv);
    free(set->listeners);
    free(set);
    return -1;
  }
  char oerr[512];
  pthread_mutex_lock(&set->mu);
  int rc = 0;
  for (size_t i = 0; i < ndeclared && rc == 0; i++) {
    output *o = output_new(declared[i], strlen(declared[i]), &set->opt, oerr, sizeof oerr);
    if (!o) {
      snprintf(err, errlen, "outputs[%zu]: %s", i, oerr);
      rc = -1;
      break;
    }
    o->declared = 1;
    if (find(set, o->key)) {
      snprintf(err, errlen, "outputs[%zu]: name: '%s' is declared twice", i, o->sp.name);
      output_free(o);
      rc = -1;
      break;
    }
    if (launch(set, o, 0, 0, oerr, sizeof oerr) != 0) {
      snprintf(err, errlen, "output %s: %s", o->sp.name, oerr);
      output_free(o);
      rc = -1;
    }
  }
  pthread_mutex_unlock(&set->mu);
  if (rc == 0) {
    int prc = pthread_create(&set->persister, NULL, persister_main, set);
    if (prc != 0) {
      snprintf(err, errlen, "cannot start the outputs' persister thread: %s", strerror(prc));
      rc = -1;
    } else {
      set->persister_started = 1;
    }
  }
  if (rc == 0) {
    load_ctx lc = {set, err, errlen};
    pthread_mutex_lock(&set->mu);
    rc = metadb_output_each(set->db, load_runtime, &lc);
    pthread_mutex_unlock(&set->mu);
    if (rc != 0 && rc != -1) rc = -1;
    if (rc != 0 && !err[0]) snprintf(err, errlen, "metadata database: %s", metadb_errmsg(set->db));
  }
  if (rc != 0) {
    outputs_free(set);
    return -1;
  }
  store_set_retention_guard(set->st, guard_needed, guard_skipped, set, opt->pin_max_bytes);
  size_t n = 0;
  for (output *o = set->head; o; o = o->next) n++;
  if (n) log_info(set->log, "outputs: %zu started (meta.db in %s)", n, opt->data_dir);
  *out = set;
  return 0;
}

void outputs_notify(output_set *set, uint64_t committed_seq) {
  (void)committed_seq;
  if (!set) return;
  /* Writer thread: a signal per output (workers wait on their condition variable). */
  pthread_mutex_lock(&set->list_mu);
  for (output *o = set->head; o; o = o->next) {
    if (A_LOAD(o->in_flight)) continue; /* busy delivering: it will scan again anyway */
    pthread_mutex_lock(&o->mu);
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
  }
  pthread_mutex_unlock(&set->list_mu);
}

/* Join a worker, waiting at most ns. Returns 0 when joined. */
static int join_bounded(output *o, int64_t ns) {
  int64_t end = time_mono_ns() + ns;
  while (A_LOAD(o->running) && time_mono_ns() < end) {
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (A_LOAD(o->running)) return -1;
  pthread_join(o->thread, NULL);
  return 0;
}

void outputs_stop(output_set *set) {
  if (!set || set->stopped) return;
  set->stopped = 1;
  store_set_retention_guard(set->st, NULL, NULL, NULL, 0);
  int64_t tests_end = time_mono_ns() + set->opt.stop_timeout_ns;
  __atomic_store_n(&set->tests_stop, 1, __ATOMIC_RELEASE); /* their env.stopping says 1 now */
  pthread_mutex_lock(&set->mu);
  pthread_mutex_lock(&set->list_mu);
  output *list = set->head;
  set->head = NULL;
  pthread_mutex_unlock(&set->list_mu);
  pthread_mutex_unlock(&set->mu);
  for (output *o = list; o; o = o->next) {
    pthread_mutex_lock(&o->mu);
    o->stop = 1;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
  }
  int64_t end = time_mono_ns() + set->opt.stop_timeout_ns;
  output *o = list;
  while (o) {
    output *next = o->next;
    int64_t left = end - time_mono_ns();
    if (o->thread_started && join_bounded(o, left > 0 ? left : 0) != 0) {
      /* Blocked in the destination: let it finish on its own (it frees itself and never
       * touches the store again, it only finds stop set) and keep the set alive for it. */
      log_error(set->log, "output %s: the destination did not stop within %lld ms; leaving its "
                "worker behind (its cursor is the last one stored)", o->sp.name,
                (long long)(set->opt.stop_timeout_ns / NS_PER_MS));
      __atomic_fetch_add(&set->detached_live, 1, __ATOMIC_ACQ_REL);
      pthread_detach(o->thread);
      pthread_mutex_lock(&o->mu);
      o->deleted = 2; /* self-free, no cursor flush */
      pthread_mutex_unlock(&o->mu);
    } else {
      output_free(o);
    }
    o = next;
  }
  /* Workers of deleted outputs free themselves; wait for them (bounded) before the db goes. */
  while (A_LOAD(set->detached_live) && time_mono_ns() < end) {
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (outputs_tests_stop(set, tests_end) > 0)
    log_warn(set->log, "outputs: a test delivery is still running; leaving it behind");
  /* Last: the persister writes what the workers left in the history queue. */
  if (set->persister_started) {
    pthread_mutex_lock(&set->pmu);
    set->pstop = 1;
    pthread_cond_signal(&set->pcv);
    pthread_mutex_unlock(&set->pmu);
    pthread_join(set->persister, NULL);
    set->persister_started = 0;
    persist_once(set);
  }
}

void outputs_free(output_set *set) {
  if (!set) return;
  outputs_stop(set);
  pthread_mutex_lock(&set->tmu);
  size_t tests = set->tests_live;
  pthread_mutex_unlock(&set->tmu);
  if (A_LOAD(set->detached_live) == 0 && tests == 0) {
    metadb_close(set->db);
    pthread_mutex_destroy(&set->mu);
    pthread_mutex_destroy(&set->list_mu);
    pthread_mutex_destroy(&set->pmu);
    pthread_cond_destroy(&set->pcv);
    pthread_mutex_destroy(&set->tmu);
    pthread_cond_destroy(&set->tcv);
    free(set->listeners);
    free(set);
  } /* else: a worker that ignores stopping still uses them; the process is exiting */
}

/* ---- control ----------------------------------------------------------------------------- */

/* Unlink o (caller holds set->mu) and let its worker stop and free it. */
static void retire(output_set *set, output *o, int deleted) {
  pthread_mutex_lock(&set->list_mu);
  for (output **pp = &set->head; *pp; pp = &(*pp)->next)
    if (*pp == o) {
      *pp = o->next;
      break;
    }
  pthread_mutex_unlock(&set->list_mu);
  int started = o->thread_started;
  if (started) {
    __atomic_fetch_add(&set->detached_live, 1, __ATOMIC_ACQ_REL);
    pthread_detach(o->thread);
  }
  pthread_mutex_lock(&o->mu);
  o->stop = 1;
  o->deleted = deleted ? 1 : 2; /* 2: replaced, keeps its cursor row but does not flush */
  pthread_cond_signal(&o->cv);
  pthread_mutex_unlock(&o->mu);
  /* From here on the worker may free o at any time. */
  if (!started) output_free(o);
}

const char *outputs_scope_name(int scope) {
  static const char *const n[] = {"local", "domain", "global"};
  return scope >= 0 && scope <= OUTPUT_SCOPE_GLOBAL ? n[scope] : "?";
}

static int merge_objects(const json_value *base, const json_value *patch, buf *out);
static int outputs_create_spec(output_set *set, output *o, const char *json, size_t len,
                               char *err, size_t errlen);

int outputs_create(output_set *set, const char *json, size_t len, char *err, size_t errlen) {
  return outputs_create_as(set, json, len, NULL, NULL, NULL, NULL, err, errlen);
}

/* See outputs.h. The stored spec carries the defaults given, so GET shows them. */
int outputs_create_as(output_set *set, const char *json, size_t len, const char *default_owner,
                      const char *default_scope, outputs_may_fn may, void *arg, char *err,
                      size_t errlen) {
  outputs_caller c = {may, arg, 1, default_owner, default_scope};
  return outputs_create_by(set, json, len, &c, err, errlen);
}

/* See outputs.h. */
int outputs_create_by(output_set *set, const char *json, size_t len, const outputs_caller *c,
                      char *err, size_t errlen) {
  const char *default_owner = c ? c->default_owner : NULL;
  const char *default_scope = c ? c->default_scope : NULL;
  outputs_may_fn may = c ? c->may : NULL;
  void *arg = c ? c->arg : NULL;
  buf merged = BUF_INIT;
  if (default_owner || default_scope) {
    arena a;
    arena_init(&a, 4096);
    json_error je;
    const json_value *nv = json_parse(&a, json, len, 16, &je);
    if (nv && nv->type == JSON_OBJECT) {
      buf b = BUF_INIT;
      int rc = buf_putc(&b, '{');
      if (default_owner) {
        rc |= buf_puts(&b, "\"owner\":");
        rc |= json_write_string(&b, default_owner, strlen(default_owner));
      }
      if (default_scope) {
        rc |= buf_puts(&b, default_owner ? ",\"scope\":" : "\"scope\":");
        rc |= json_write_string(&b, default_scope, strlen(default_scope));
      }
      rc |= buf_putc(&b, '}');
      const json_value *base = rc ? NULL : json_parse(&a, b.data, b.len, 4, &je);
      buf_free(&b);
      if (!base || merge_objects(base, nv, &merged) != 0) {
        arena_free(&a);
        buf_free(&merged);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
      }
      json = merged.data;
      len = merged.len;
    }
    arena_free(&a); /* a body that is not an object: output_new names the problem */
  }
  output *o = output_new(json, len, &set->opt, err, errlen);
  if (!o) {
    buf_free(&merged);
    return -EINVAL;
  }
  if (may && !may(arg, o->sp.owner, o->sp.scope)) {
    snprintf(err, errlen, "this token may not create an output owned by '%s' with scope %s",
             o->sp.owner, outputs_scope_name(o->sp.scope));
    output_free(o);
    buf_free(&merged);
    return -EACCES;
  }
  if (output_caller_may_type(set, c, o->sp.name, o->sp.type, 0, err, errlen) != 0) {
    output_free(o);
    buf_free(&merged);
    return -EACCES;
  }
  if (output_check_literal_targets(set, o, err, errlen) != 0) {
    output_free(o);
    buf_free(&merged);
    return -EINVAL;
  }
  int rc = outputs_create_spec(set, o, json, len, err, errlen);
  buf_free(&merged);
  return rc;
}

/* Register and launch a parsed new output (takes o; json is its spec text to store). */
static int outputs_create_spec(output_set *set, output *o, const char *json, size_t len,
                               char *err, size_t errlen) {
  pthread_mutex_lock(&set->mu);
  if (find(set, o->key)) {
    if (*o->sp.owner)
      snprintf(err, errlen, "output '%s' of owner '%s' already exists", o->sp.name, o->sp.owner);
    else
      snprintf(err, errlen, "output '%s' already exists", o->sp.name);
    pthread_mutex_unlock(&set->mu);
    output_free(o);
    return -EEXIST;
  }
  /* A stale row of a deleted output must not be taken as this one's cursor. */
  if (metadb_output_delete(set->db, o->key) != 0 ||
      metadb_output_put(set->db, o->key, json, len) != 0) {
    snprintf(err, errlen, "metadata database: %s", metadb_errmsg(set->db));
    pthread_mutex_unlock(&set->mu);
    output_free(o);
    return -EIO;
  }
  int rc = launch(set, o, 1, 0, err, errlen);
  if (rc == 0) /* before unlocking: o may be deleted right after */
    log_info(set->log, "output %s (%s) created", OUTPUT_LABEL(o), o->sp.type);
  pthread_mutex_unlock(&set->mu);
  if (rc != 0) {
    metadb_output_delete(set->db, o->key);
    output_free(o);
    return -EIO;
  }
  return 0;
}

/* Merge the members of patch into base: base's members not in patch, then patch's. */
static int merge_objects(const json_value *base, const json_value *patch, buf *out) {
  int rc = buf_putc(out, '{');
  int first = 1;
  for (const json_value *m = base->child; m; m = m->next) {
    if (json_get(patch, m->key)) continue;
    rc |= first ? 0 : buf_putc(out, ',');
    first = 0;
    rc |= json_write_string(out, m->key, m->key_len);
    rc |= buf_putc(out, ':');
    rc |= json_write_value(out, m);
  }
  for (const json_value *m = patch->child; m; m = m->next) {
    if (m->type == JSON_NULL) continue; /* null removes a member */
    rc |= first ? 0 : buf_putc(out, ',');
    first = 0;
    rc |= json_write_string(out, m->key, m->key_len);
    rc |= buf_putc(out, ':');
    rc |= json_write_value(out, m);
  }
  rc |= buf_putc(out, '}');
  return rc ? -1 : 0;
}

int outputs_update(output_set *set, const char *name, const char *json, size_t len, int patch,
                   char *err, size_t errlen) {
  return outputs_update_as(set, name, json, len, patch, NULL, NULL, err, errlen);
}

int outputs_update_as(output_set *set, const char *name, const char *json, size_t len,
                      int patch, outputs_may_fn may, void *arg, char *err, size_t errlen) {
  outputs_caller c = {may, arg, 1, NULL, NULL};
  return outputs_update_by(set, name, json, len, patch, &c, err, errlen);
}

/* See outputs.h. */
int outputs_update_by(output_set *set, const char *name, const char *json, size_t len,
                      int patch, const outputs_caller *c, char *err, size_t errlen) {
  outputs_may_fn may = c ? c->may : NULL;
  void *arg = c ? c->arg : NULL;
  buf merged = BUF_INIT;
  pthread_mutex_lock(&set->mu);
  output *old = find(set, name);
  name = ref_name(name); /* from here on: the output's name (old is the output) */
  int rc = 0;
  if (old && may && !may(arg, old->sp.owner, old->sp.scope)) old = NULL;
  if (!old) {
    snprintf(err, errlen, "no output named '%s'", name);
    rc = -ENOENT;
    goto out;
  }
  if (old->declared) {
    snprintf(err, errlen, "output '%s' is declared in the config file; change it there", name);
    rc = -EPERM;
    goto out;
  }
  if (output_caller_may_type(set, c, name, old->sp.type, 1, err, errlen) != 0) {
    rc = -EACCES;
    goto out;
  }
  arena a;
  arena_init(&a, 4096);
  json_error je;
  const json_value *nv = json_parse(&a, json, len, 16, &je);
  if (!nv || nv->type != JSON_OBJECT) {
    if (nv) snprintf(err, errlen, "the body must be a JSON object");
    else snprintf(err, errlen, "invalid JSON at byte %zu: %s", je.offset, je.message);
    arena_free(&a);
    rc = -EINVAL;
    goto out;
  }
  const json_value *nm = json_get(nv, "name");
  if (nm && (nm->type != JSON_STRING || strcmp(nm->s, name) != 0)) {
    snprintf(err, errlen, "name: cannot be changed (delete and create instead)");
    arena_free(&a);
    rc = -EINVAL;
    goto out;
  }
  if (patch || !nm) {
    /* PATCH merges; PUT without a name takes the name from the path. */
    json_value name_only = {0};
    const json_value *base = old->root;
    if (!patch) {
      /* {"name":..., "owner": the old owner} + body */
      buf b = BUF_INIT;
      buf_puts(&b, "{\"name\":");
      json_write_string(&b, name, strlen(name));
      if (json_get(old->root, "owner")) {
        buf_puts(&b, ",\"owner\":");
        json_write_string(&b, old->sp.owner, strlen(old->sp.owner));
      }
      buf_putc(&b, '}');
      const json_value *nb = json_parse(&a, b.data, b.len, 4, &je);
      buf_free(&b);
      base = nb ? nb : &name_only;
    }
    if (merge_objects(base, nv, &merged) != 0) {
      snprintf(err, errlen, "out of memory");
      arena_free(&a);
      rc = -ENOMEM;
      goto out;
    }
  } else if (buf_append(&merged, json, len) != 0) {
    snprintf(err, errlen, "out of memory");
    arena_free(&a);
    rc = -ENOMEM;
    goto out;
  }
  arena_free(&a);
  output *o = output_new(merged.data, merged.len, &set->opt, err, errlen);
  if (!o) {
    rc = -EINVAL;
    goto out;
  }
  if (may && !may(arg, o->sp.owner, o->sp.scope)) {
    snprintf(err, errlen, "this token may not give an output owner '%s' and scope %s",
             o->sp.owner, outputs_scope_name(o->sp.scope));
    output_free(o);
    rc = -EACCES;
    goto out;
  }
  if (output_caller_may_type(set, c, name, o->sp.type, 0, err, errlen) != 0) {
    output_free(o);
    rc = -EACCES;
    goto out;
  }
  if (output_check_literal_targets(set, o, err, errlen) != 0) {
    output_free(o);
    rc = -EINVAL;
    goto out;
  }
  if (strcmp(o->key, old->key) != 0) {
    snprintf(err, errlen, "owner: cannot be changed (it is part of the output's identity; "
             "delete and create instead)");
    output_free(o);
    rc = -EINVAL;
    goto out;
  }
  if (metadb_output_put(set->db, old->key, merged.data, merged.len) != 0) {
    snprintf(err, errlen, "metadata database: %s", metadb_errmsg(set->db));
    output_free(o);
    rc = -EIO;
    goto out;
  }
  uint64_t cursor = A_LOAD(old->cursor);
  pthread_mutex_lock(&old->mu);
  if (old->reset_pending) cursor = old->reset_to;
  int was_paused = old->paused;
  pthread_mutex_unlock(&old->mu);
  if (!json_get(o->root, "paused")) o->sp.paused = was_paused;
  /* The counters go on across an update. */
  o->delivered = A_LOAD(old->delivered);
  o->retries = A_LOAD(old->retries);
  o->failures = A_LOAD(old->failures);
  o->dead_lettered = A_LOAD(old->dead_lettered);
  o->skipped = A_LOAD(old->skipped);
  o->skipped_first = A_LOAD(old->skipped_first);
  o->skipped_last = A_LOAD(old->skipped_last);
  o->last_delivered_ns = A_LOAD(old->last_delivered_ns);
  retire(set, old, 0);
  if (launch(set, o, 2, cursor, err, errlen) != 0) {
    output_free(o);
    rc = -EIO;
    goto out;
  }
  log_info(set->log, "output %s updated", OUTPUT_LABEL(o));
out:
  pthread_mutex_unlock(&set->mu);
  buf_free(&merged);
  return rc;
}

int outputs_delete(output_set *set, const char *name, char *err, size_t errlen) {
  pthread_mutex_lock(&set->mu);
  output *o = find(set, name);
  if (!o || o->declared) {
    if (o) snprintf(err, errlen, "output '%s' is declared in the config file; remove it there",
                    name);
    else snprintf(err, errlen, "no output named '%s'", name);
    pthread_mutex_unlock(&set->mu);
    return o ? -EPERM : -ENOENT;
  }
  char key[sizeof o->key];
  memcpy(key, o->key, sizeof key);
  retire(set, o, 1);
  int rc = metadb_output_delete(set->db, key);
  pthread_mutex_unlock(&set->mu);
  if (rc != 0) {
    snprintf(err, errlen, "metadata database: %s", metadb_errmsg(set->db));
    return -EIO;
  }
  log_info(set->log, "output %s deleted", ref_label(name));
  return 0;
}

/* Find by name under set->mu, or set err. Caller unlocks. */
static output *lookup(output_set *set, const char *name, char *err, size_t errlen) {
  pthread_mutex_lock(&set->mu);
  output *o = find(set, name);
  if (!o) snprintf(err, errlen, "no output named '%s'", name);
  return o;
}

int outputs_pause(output_set *set, const char *name, int paused, char *err, size_t errlen) {
  output *o = lookup(set, name, err, errlen);
  if (!o) {
    pthread_mutex_unlock(&set->mu);
    return -ENOENT;
  }
  pthread_mutex_lock(&o->mu);
  o->paused = paused;
  pthread_cond_signal(&o->cv);
  pthread_mutex_unlock(&o->mu);
  int rc = metadb_paused_put(set->db, o->key, paused, A_LOAD(o->cursor));
  pthread_mutex_unlock(&set->mu);
  if (rc != 0) {
    snprintf(err, errlen, "metadata database: %s", metadb_errmsg(set->db));
    return -EIO;
  }
  log_info(set->log, "output %s %s", ref_label(name), paused ? "paused" : "resumed");
  return 0;
}

typedef struct first_ctx {
  uint64_t seq;
  int found;
} first_ctx;

static int first_cb(void *arg, uint64_t seq, const record_view *rv) {
  (void)rv;
  first_ctx *c = arg;
  c->seq = seq;
  c->found = 1;
  return 1;
}

int outputs_replay(output_set *set, const char *name, int64_t since_ns, const char *after_id,
                   uint64_t *new_cursor, char *err, size_t errlen) {
  uint64_t target;
  if (after_id) {
    int rc = store_seq_of_id(set->st, after_id, strlen(after_id), &target);
    if (rc != 0) {
      snprintf(err, errlen, "after_id: no event with id '%.100s' in the store", after_id);
      return -EINVAL;
    }
  } else {
    /* The earliest event (in time order) at or after since; delivery restarts at its seq.
     * Events are stored roughly in time order, so this is where "since" begins. */
    store_filter f;
    store_filter_init(&f);
    f.since_ns = since_ns;
    first_ctx c = {0};
    store_pos last;
    int more = 0;
    int rc = store_query(set->st, &f, 0, 1, NULL, first_cb, &c, &last, &more);
    if (rc != 0) {
      snprintf(err, errlen, "cannot read the store: %s", strerror(-rc));
      return -EIO;
    }
    uint64_t lowest = c.found ? c.seq : UINT64_MAX;
    target = lowest == UINT64_MAX ? store_committed_seq(set->st) + 1 : lowest;
  }
  output *o = lookup(set, name, err, errlen);
  if (!o) {
    pthread_mutex_unlock(&set->mu);
    return -ENOENT;
  }
  pthread_mutex_lock(&o->mu);
  o->reset_pending = 1;
  o->reset_to = target ? target - 1 : 0;
  pthread_cond_signal(&o->cv);
  pthread_mutex_unlock(&o->mu);
  pthread_mutex_unlock(&set->mu);
  *new_cursor = target ? target - 1 : 0;
  log_info(set->log, "output %s: replay from seq %" PRIu64, ref_label(name), target);
  return 0;
}

int outputs_dead_redeliver(output_set *set, const char *name, uint64_t seq, uint64_t *queued,
                           char *err, size_t errlen) {
  output *o = lookup(set, name, err, errlen);
  if (!o) {
    pthread_mutex_unlock(&set->mu);
    return -ENOENT;
  }
  uint64_t n = 0;
  if (metadb_dead_count(set->db, o->key, &n) != 0) {
    snprintf(err, errlen, "metadata database: %s", metadb_errmsg(set->db));
    pthread_mutex_unlock(&set->mu);
    return -EIO;
  }
  pthread_mutex_lock(&o->mu);
  o->redeliver_pending = 1;
  o->redeliver_seq = seq;
  pthread_cond_signal(&o->cv);
  pthread_mutex_unlock(&o->mu);
  pthread_mutex_unlock(&set->mu);
  *queued = seq ? 1 : n;
  return 0;
}

int outputs_dead_purge(output_set *set, const char *name, uint64_t *purged, char *err,
                       size_t errlen) {
  output *o = lookup(set, name, err, errlen);
  char key[sizeof o->key];
  if (o) memcpy(key, o->key, sizeof key);
  pthread_mutex_unlock(&set->mu);
  if (!o) return -ENOENT;
  if (metadb_dead_purge(set->db, key, purged) != 0) {
    snprintf(err, errlen, "metadata database: %s", metadb_errmsg(set->db));
    return -EIO;
  }
  return 0;
}

/* ---- rendering ------------------------------------------------------------------------- */

static int is_secret_key(const char *k) {
  return strstr(k, "secret") || strstr(k, "password") || strstr(k, "token") ||
         strcmp(k, "sasl.password") == 0;
}

/* The spec's members, secrets redacted (caller holds set->mu). */
static int render_spec(const output *o, buf *out) {
  int rc = 0, first = 1;
  for (const json_value *m = o->root->child; m; m = m->next) {
    int common = output_common_member(m->key);
    if (!common && o->sp.ops->describe) continue;
    rc |= first ? 0 : buf_putc(out, ',');
    first = 0;
    rc |= json_write_string(out, m->key, m->key_len);
    rc |= buf_putc(out, ':');
    if (!common && is_secret_key(m->key)) rc |= buf_puts(out, "\"***\"");
    else rc |= json_write_value(out, m);
  }
  if (o->sp.ops->describe) rc |= o->sp.ops->describe(o->root, out);
  return rc ? -1 : 0;
}

typedef struct lag_ctx {
  int64_t observed_ns;
  int found;
} lag_ctx;

static int lag_cb(void *arg, uint64_t seq, const record_view *rv) {
  (void)seq;
  lag_ctx *c = arg;
  c->observed_ns = rv->observed_ns;
  c->found = 1;
  return 1;
}

/* Lag in events (store records after the cursor) and seconds (age of the oldest of them). */
static void lag_of(output_set *set, const output *o, uint64_t *events, double *seconds) {
  uint64_t committed = store_committed_seq(set->st);
  uint64_t c = A_LOAD(o->cursor);
  *events = committed > c ? committed - c : 0;
  *seconds = 0;
  if (!*events) return;
  store_filter f;
  store_filter_init(&f);
  lag_ctx lc = {0};
  uint64_t last;
  if (store_scan_seq(set->st, &f, c, 1, lag_cb, &lc, &last) == 0 && lc.found) {
    int64_t d = time_now_ns() - lc.observed_ns;
    *seconds = d > 0 ? (double)d / 1e9 : 0;
  }
}

static void put_time(buf *out, const char *key, int64_t ns) {
  char t[TIME_RFC3339_LEN + 1];
  if (!ns) {
    buf_printf(out, ",\"%s\":null", key);
    return;
  }
  time_format_rfc3339(ns, t);
  buf_printf(out, ",\"%s\":\"%s\"", key, t);
}

static int render_status(output_set *set, output *o, buf *out) {
  uint64_t lag_events, dead = 0;
  double lag_seconds;
  lag_of(set, o, &lag_events, &lag_seconds);
  metadb_dead_count(set->db, o->key, &dead);
  pthread_mutex_lock(&o->mu);
  int paused = o->paused;
  char last_error[sizeof o->last_error];
  memcpy(last_error, o->last_error, sizeof last_error);
  int64_t last_error_ns = o->last_error_ns;
  pthread_mutex_unlock(&o->mu);
  int64_t last_ok = A_LOAD(o->last_delivered_ns);
  const char *state = paused ? "paused"
                      : (last_error_ns && last_error_ns > last_ok && A_LOAD(o->in_flight) == 0 &&
                         lag_events)
                          ? "retrying"
                          : "running";
  int rc = buf_printf(out,
                      "\"status\":{\"state\":\"%s\",\"cursor\":%" PRIu64
                      ",\"committed_seq\":%" PRIu64 ",\"lag_events\":%" PRIu64
                      ",\"lag_seconds\":%.3f,\"delivered\":%" PRIu64 ",\"retries\":%" PRIu64
                      ",\"failures\":%" PRIu64 ",\"dead_lettered\":%" PRIu64
                      ",\"dead_letters\":%" PRIu64 ",\"in_flight\":%" PRIu64
                      ",\"skipped_events\":%" PRIu64,
                      state, A_LOAD(o->cursor), store_committed_seq(set->st), lag_events,
                      lag_seconds, A_LOAD(o->delivered), A_LOAD(o->retries), A_LOAD(o->failures),
                      A_LOAD(o->dead_lettered), dead, A_LOAD(o->in_flight), A_LOAD(o->skipped));
  if (A_LOAD(o->skipped_last))
    buf_printf(out, ",\"skipped_range\":[%" PRIu64 ",%" PRIu64 "]", A_LOAD(o->skipped_first),
               A_LOAD(o->skipped_last));
  buf_puts(out, ",\"last_error\":");
  if (last_error[0]) json_write_string(out, last_error, strlen(last_error));
  else buf_puts(out, "null");
  put_time(out, "last_error_time", last_error_ns);
  put_time(out, "last_delivered_time", last_ok);
  return rc | buf_putc(out, '}');
}

static int render_output(output_set *set, output *o, buf *out) {
  int rc = buf_putc(out, '{');
  rc |= render_spec(o, out);
  /* owner and scope are always shown (a spec without them has the defaults) */
  if (!json_get(o->root, "owner")) {
    rc |= buf_puts(out, ",\"owner\":");
    rc |= json_write_string(out, o->sp.owner, strlen(o->sp.owner));
  }
  if (!json_get(o->root, "scope"))
    rc |= buf_printf(out, ",\"scope\":\"%s\"", outputs_scope_name(o->sp.scope));
  rc |= buf_printf(out, ",\"declared\":%s,", o->declared ? "true" : "false");
  rc |= render_status(set, o, out);
  rc |= buf_putc(out, '}');
  return rc ? -1 : 0;
}

int outputs_render_list(output_set *set, buf *out) {
  return outputs_render_list_as(set, NULL, NULL, out);
}

int outputs_access(output_set *set, const char *name, outputs_may_fn may, void *arg) {
  pthread_mutex_lock(&set->mu);
  output *o = find(set, name);
  int rc = o && (!may || may(arg, o->sp.owner, o->sp.scope)) ? 0 : -ENOENT;
  pthread_mutex_unlock(&set->mu);
  return rc;
}

/* List order: by name, then by owner. */
static int list_order(const output *a, const output *b) {
  int c = strcmp(a->sp.name, b->sp.name);
  return c ? c : strcmp(a->sp.owner, b->sp.owner);
}

int outputs_render_list_as(output_set *set, outputs_may_fn may, void *arg, buf *out) {
  pthread_mutex_lock(&set->mu);
  /* Name order: collect and sort the (short) list. */
  size_t n = 0;
  for (output *o = set->head; o; o = o->next) n++;
  output **v = n ? malloc(n * sizeof *v) : NULL;
  int rc = n && !v ? -1 : 0;
  size_t i = 0;
  for (output *o = set->head; o && v; o = o->next)
    if (!may || may(arg, o->sp.owner, o->sp.scope)) v[i++] = o;
  for (size_t a = 1; a < i; a++)
    for (size_t b = a; b > 0 && list_order(v[b - 1], v[b]) > 0; b--) {
      output *t = v[b];
      v[b] = v[b - 1];
      v[b - 1] = t;
    }
  rc |= buf_puts(out, "{\"outputs\":[");
  for (size_t k = 0; k < i && rc == 0; k++) {
    if (k) rc |= buf_putc(out, ',');
    rc |= render_output(set, v[k], out);
  }
  rc |= buf_puts(out, "]}");
  pthread_mutex_unlock(&set->mu);
  free(v);
  return rc ? -1 : 0;
}

int outputs_render_one(output_set *set, const char *name, buf *out) {
  pthread_mutex_lock(&set->mu);
  output *o = find(set, name);
  int rc = o ? render_output(set, o, out) : -ENOENT;
  pthread_mutex_unlock(&set->mu);
  return rc;
}

typedef struct render_ctx {
  buf *out;
  size_t n;
  uint64_t last;
} render_ctx;

static int dead_row(void *arg, const metadb_dead *d) {
  render_ctx *c = arg;
  char t[TIME_RFC3339_LEN + 1];
  time_format_rfc3339(d->time_ns, t);
  buf_printf(c->out, "%s{\"seq\":%" PRIu64 ",\"event_id\":", c->n++ ? "," : "", d->seq);
  json_write_string(c->out, d->event_id, strlen(d->event_id));
  buf_puts(c->out, ",\"error\":");
  json_write_string(c->out, d->error, strlen(d->error));
  buf_printf(c->out, ",\"attempts\":%" PRId64 ",\"time\":\"%s\"}", d->attempts, t);
  c->last = d->seq;
  return 0;
}

int outputs_render_dead(output_set *set, const char *name, uint64_t after_seq, size_t limit,
                        buf *out) {
  pthread_mutex_lock(&set->mu);
  output *o = find(set, name);
  char key[sizeof o->key];
  if (o) memcpy(key, o->key, sizeof key);
  pthread_mutex_unlock(&set->mu);
  if (!o) return -ENOENT;
  uint64_t total = 0;
  metadb_dead_count(set->db, key, &total);
  buf_printf(out, "{\"output\":\"%s\",\"total\":%" PRIu64 ",\"dead\":[", ref_name(key), total);
  render_ctx c = {out, 0, 0};
  if (metadb_dead_each(set->db, key, after_seq, limit, dead_row, &c) != 0) return -EIO;
  buf_puts(out, "]");
  if (c.n == limit && c.last) buf_printf(out, ",\"next_after\":%" PRIu64, c.last);
  return buf_putc(out, '}') ? -ENOMEM : 0;
}

static int delivery_row(void *arg, const metadb_delivery *d) {
  render_ctx *c = arg;
  char t[TIME_RFC3339_LEN + 1];
  time_format_rfc3339(d->time_ns, t);
  buf_printf(c->out,
             "%s{\"id\":%" PRId64 ",\"time\":\"%s\",\"first_seq\":%" PRIu64
             ",\"last_seq\":%" PRIu64 ",\"count\":%" PRId64 ",\"event_id\":",
             c->n++ ? "," : "", d->id, t, d->first_seq, d->last_seq, d->count);
  if (d->event_id) json_write_string(c->out, d->event_id, strlen(d->event_id));
  else buf_puts(c->out, "null");
  buf_printf(c->out, ",\"ok\":%s,\"code\":%d,\"latency_ms\":%.3f,\"response\":",
             d->ok ? "true" : "false", d->code, (double)d->latency_ns / 1e6);
  /* The response snippet may be cut inside a UTF-8 sequence or be binary: keep it valid. */
  if (d->response && utf8_valid(d->response, strlen(d->response)))
    json_write_string(c->out, d->response, strlen(d->response));
  else if (d->response)
    buf_puts(c->out, "\"(not UTF-8)\"");
  else
    buf_puts(c->out, "null");
  buf_puts(c->out, ",\"error\":");
  if (d->error && utf8_valid(d->error, strlen(d->error)))
    json_write_string(c->out, d->error, strlen(d->error));
  else
    buf_puts(c->out, "null");
  return buf_putc(c->out, '}') ? 1 : 0;
}

int outputs_render_deliveries(output_set *set, const char *name, size_t limit, buf *out) {
  pthread_mutex_lock(&set->mu);
  output *o = find(set, name);
  char key[sizeof o->key];
  if (o) memcpy(key, o->key, sizeof key);
  pthread_mutex_unlock(&set->mu);
  if (!o) return -ENOENT;
  /* Write the queued attempts first, so the answer includes the latest ones. */
  if (metadb_flush(set->db, NULL, 0, set->opt.history_size) != 0)
    log_warn(set->log, "outputs: cannot store the delivery history: %s", metadb_errmsg(set->db));
  buf_printf(out, "{\"output\":\"%s\",\"deliveries\":[", ref_name(key));
  render_ctx c = {out, 0, 0};
  if (metadb_history_each(set->db, key, limit, delivery_row, &c) != 0) return -EIO;
  return buf_puts(out, "]}") ? -ENOMEM : 0;
}

int outputs_render_metrics(output_set *set, buf *out) {
  if (!set) return 0;
  static const struct {
    const char *name, *type, *help;
  } M[] = {
      {"eventd_output_delivered_total", "counter", "Events confirmed by the destination."},
      {"eventd_output_retries_total", "counter", "Delivery attempts retried after a failure."},
      {"eventd_output_failures_total", "counter", "Failed delivery attempts."},
      {"eventd_output_dead_lettered_total", "counter", "Events moved to the dead-letter list."},
      {"eventd_output_skipped_events_total", "counter",
       "Events deleted by retention before delivery (outputs.pin_max_bytes reached)."},
      {"eventd_output_lag_events", "gauge", "Store records after the output's cursor."},
      {"eventd_output_lag_seconds", "gauge", "Age of the oldest undelivered record."},
      {"eventd_output_in_flight", "gauge", "Events handed to the destination, not yet confirmed."},
      {"eventd_output_paused", "gauge", "1 when the output is paused."},
  };
  int rc = 0;
  pthread_mutex_lock(&set->mu);
  for (size_t k = 0; k < sizeof M / sizeof M[0]; k++) {
    rc |= buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", M[k].name, M[k].help, M[k].name,
                     M[k].type);
    for (output *o = set->head; o; o = o->next) {
      double v = 0;
      uint64_t le;
      double ls;
      switch (k) {
        case 0: v = (double)A_LOAD(o->delivered); break;
        case 1: v = (double)A_LOAD(o->retries); break;
        case 2: v = (double)A_LOAD(o->failures); break;
        case 3: v = (double)A_LOAD(o->dead_lettered); break;
        case 4: v = (double)A_LOAD(o->skipped); break;
        case 5: lag_of(set, o, &le, &ls); v = (double)le; break;
        case 6: lag_of(set, o, &le, &ls); v = ls; break;
        case 7: v = (double)A_LOAD(o->in_flight); break;
        case 8:
          pthread_mutex_lock(&o->mu);
          v = o->paused;
          pthread_mutex_unlock(&o->mu);
          break;
      }
      rc |= buf_printf(out, "%s{output=\"%s\",owner=\"%s\"} %.17g\n", M[k].name, o->sp.name,
                       o->sp.owner, v);
    }
  }
  pthread_mutex_unlock(&set->mu);
  return rc ? -1 : 0;
}
