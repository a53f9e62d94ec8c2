/* dispatcher: the worker thread of one output (see outputs.h for the model).
 *
 * Loop: wait until there is something after the cursor (woken by commits, control requests
 * or the poll timer) and the output is not paused; read up to `batch` matching records
 * after the cursor with store_scan_seq (copying them, since record views die with the scan
 * callback); hand them to the destination; advance the cursor over the confirmed prefix
 * (and over the non-matching records in between); on failure retry the first unconfirmed
 * message after a backoff, dead-letter it when it is rejected or out of attempts. The
 * worker never writes SQLite on the delivery path: the set's persister thread (outputs.c)
 * stores the cursor every OUTPUTS_CURSOR_FLUSH_NS (sooner after OUTPUTS_CURSOR_FLUSH_EVENTS
 * events) together with the queued delivery history; the worker stores it once more itself
 * when it stops. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/keymatch.h"
#include "core/timeutil.h"
#include "outputs/dispatcher.h"
#include "server/auth.h"

#define A_LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define A_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define A_ADD(x, v) __atomic_fetch_add(&(x), (v), __ATOMIC_RELAXED)

/* ---- the batch of copied records ---------------------------------------------------- */

typedef struct batch {
  buf data;            /* copied bytes of every record */
  output_msg *msgs;
  size_t n, cap;
  const output_spec *sp;
  int oom;
} batch;

/* Copy v's bytes into data; remember the offset in the strv (rebased by batch_fix). */
static void copy_strv(batch *b, strv *v) {
  size_t off = b->data.len;
  if (v->n && buf_append(&b->data, v->p, v->n) != 0) b->oom = 1;
  v->p = (const char *)(uintptr_t)off;
}

static int collect_cb(void *arg, uint64_t seq, const record_view *rv) {
  batch *b = arg;
  if (!output_key_matches(b->sp, rv) || !output_scope_matches(b->sp, rv)) return 0;
  if (b->n == b->cap) return 1; /* cannot happen: the scan limit is the capacity */
  output_msg *m = &b->msgs[b->n++];
  m->seq = seq;
  m->rv = *rv;
  copy_strv(b, &m->rv.id);
  for (int i = 0; i < EVF__COUNT; i++) copy_strv(b, &m->rv.f[i]);
  copy_strv(b, &m->rv.json);
  size_t off = b->data.len;
  if (rv->labels_len && buf_append(&b->data, rv->labels, rv->labels_len) != 0) b->oom = 1;
  m->rv.labels = (const unsigned char *)(uintptr_t)off;
  return b->oom ? 1 : 0;
}

/* Turn the offsets into pointers (the buffer does not move any more). */
static void batch_fix(batch *b) {
  const char *base = b->data.data ? b->data.data : "";
  for (size_t i = 0; i < b->n; i++) {
    record_view *rv = &b->msgs[i].rv;
    rv->id.p = base + (uintptr_t)rv->id.p;
    for (int f = 0; f < EVF__COUNT; f++) rv->f[f].p = base + (uintptr_t)rv->f[f].p;
    rv->json.p = base + (uintptr_t)rv->json.p;
    rv->labels = (const unsigned char *)base + (uintptr_t)rv->labels;
  }
}

/* ---- helpers ------------------------------------------------------------------------- */

void output_set_error(output *o, const char *fmt, ...) {
  pthread_mutex_lock(&o->mu);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(o->last_error, sizeof o->last_error, fmt, ap);
  va_end(ap);
  o->last_error_ns = time_now_ns();
  pthread_mutex_unlock(&o->mu);
}

int64_t output_backoff_ns(int64_t base_ns, int64_t cap_ns, uint64_t attempt, uint64_t *rng) {
  if (base_ns <= 0) base_ns = 1;
  if (cap_ns < base_ns) cap_ns = base_ns;
  int64_t d = base_ns;
  for (uint64_t i = 1; i < attempt && d < cap_ns; i++) d = d > cap_ns / 2 ? cap_ns : d * 2;
  if (d > cap_ns) d = cap_ns;
  /* xorshift64 */
  uint64_t x = *rng ? *rng : 0x9e3779b97f4a7c15ull;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *rng = x;
  int64_t half = d / 2;
  return half + (int64_t)(x % (uint64_t)(d - half + 1));
}

void dispatcher_flush_cursor(output *o) {
  uint64_t c = A_LOAD(o->cursor);
  if (c == A_LOAD(o->cursor_stored)) return;
  if (metadb_cursor_put(o->set->db, o->key, c) != 0) {
    log_error(o->set->log, "output %s: cannot store the cursor: %s", OUTPUT_LABEL(o),
              metadb_errmsg(o->set->db));
    return;
  }
  A_STORE(o->cursor_stored, c);
}

void dispatcher_wake(output *o) {
  pthread_mutex_lock(&o->mu);
  pthread_cond_signal(&o->cv);
  pthread_mutex_unlock(&o->mu);
}

/* Wait on o->cv for at most ns (caller holds o->mu). */
static void cv_wait_ns(output *o, int64_t ns) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t t = (int64_t)ts.tv_nsec + ns;
  ts.tv_sec += (time_t)(t / NS_PER_SEC);
  ts.tv_nsec = (long)(t % NS_PER_SEC);
  pthread_cond_timedwait(&o->cv, &o->mu, &ts);
}

/* 1 when a control request asks the worker to drop what it is doing. */
static int interrupted(output *o) {
  pthread_mutex_lock(&o->mu);
  int r = o->stop || o->paused || o->reset_pending;
  pthread_mutex_unlock(&o->mu);
  return r;
}

/* Sleep ns unless interrupted. Returns 1 when interrupted. */
static int backoff_sleep(output *o, int64_t ns) {
  int64_t end = time_mono_ns() + ns;
  pthread_mutex_lock(&o->mu);
  for (;;) {
    if (o->stop || o->paused || o->reset_pending) {
      pthread_mutex_unlock(&o->mu);
      return 1;
    }
    int64_t left = end - time_mono_ns();
    if (left <= 0) break;
    cv_wait_ns(o, left);
  }
  pthread_mutex_unlock(&o->mu);
  return 0;
}

/* The env callbacks. */
static void env_record_attempt(void *arg, const output_attempt *a) {
  output *o = arg;
  /* Queued: the persister thread writes the history (no SQLite on the delivery path). */
  if (metadb_history_queue(o->set->db, o->key, a, time_now_ns()) != 0)
    log_debug(o->set->log, "output %s: delivery history queue full; attempt not recorded",
              OUTPUT_LABEL(o));
}

static void env_log(void *arg, int level, const char *fmt, ...) {
  output *o = arg;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_msg(o->set->log, level, "output %s: %s", OUTPUT_LABEL(o), msg);
}

static int env_stopping(void *arg) { return interrupted(arg); }

static void dead_letter(output *o, const output_msg *m, const char *error, uint64_t attempts) {
  char id[256];
  snprintf(id, sizeof id, "%.*s", (int)m->rv.id.n, m->rv.id.p);
  metadb_dead d = {.seq = m->seq, .event_id = id, .error = error,
                   .attempts = (int64_t)attempts, .time_ns = time_now_ns()};
  if (metadb_dead_add(o->set->db, o->key, &d) != 0)
    log_error(o->set->log, "output %s: cannot store the dead letter of seq %" PRIu64 ": %s",
              OUTPUT_LABEL(o), m->seq, metadb_errmsg(o->set->db));
  A_ADD(o->dead_lettered, 1);
  log_warn(o->set->log, "output %s: event %s (seq %" PRIu64 ") dead-lettered after %" PRIu64
           " attempt(s): %s", OUTPUT_LABEL(o), id, m->seq, attempts, error);
}

/* ---- redelivery of dead letters ---------------------------------------------------- */

typedef struct redeliver_ctx {
  output *o;
  void *state;
  uint64_t seqs[256];
  size_t n;
} redeliver_ctx;

static int collect_dead(void *arg, const metadb_dead *d) {
  redeliver_ctx *c = arg;
  c->seqs[c->n++] = d->seq;
  return 0;
}

static int one_record_cb(void *arg, uint64_t seq, const record_view *rv) {
  batch *b = arg;
  (void)seq;
  output_spec any = {.scope = OUTPUT_SCOPE_GLOBAL};
  const output_spec *keep = b->sp;
  b->sp = &any; /* no key or scope filter: the dead letter already matched */
  collect_cb(b, seq, rv);
  b->sp = keep;
  return 1;
}

/* One attempt for each dead letter (all, or only `only`): delivered ones leave the list. */
static void redeliver(output *o, void *state, uint64_t only) {
  redeliver_ctx c = {.o = o, .state = state};
  uint64_t after = only ? only - 1 : 0;
  for (;;) {
    c.n = 0;
    if (metadb_dead_each(o->set->db, o->key, after, only ? 1 : 256, collect_dead, &c) != 0 ||
        c.n == 0)
      return;
    for (size_t i = 0; i < c.n; i++) {
      if (only && c.seqs[i] != only) return;
      after = c.seqs[i];
      if (interrupted(o)) return;
      output_msg m;
      batch b = {.msgs = &m, .cap = 1, .sp = &o->sp};
      buf_init(&b.data);
      uint64_t last;
      store_filter all;
      store_filter_init(&all);
      int rc = store_scan_seq(o->set->st, &all, c.seqs[i] - 1, 1, one_record_cb, &b, &last);
      if (rc != 0 || b.n != 1 || b.msgs[0].seq != c.seqs[i] || b.oom) {
        output_set_error(o, "dead letter seq %" PRIu64 " is no longer in the store", c.seqs[i]);
        buf_free(&b.data);
        continue;
      }
      batch_fix(&b);
      output_result res = {0};
      A_STORE(o->in_flight, 1);
      o->sp.ops->deliver(state, b.msgs, 1, &res);
      A_STORE(o->in_flight, 0);
      if (res.status == OUTPUT_OK && res.confirmed >= 1) {
        metadb_dead_delete(o->set->db, o->key, c.seqs[i]);
        A_ADD(o->delivered, 1);
        A_STORE(o->last_delivered_ns, time_now_ns());
      } else {
        A_ADD(o->failures, 1);
        output_set_error(o, "redelivery of seq %" PRIu64 " failed: %s", c.seqs[i], res.error);
      }
      buf_free(&b.data);
    }
    if (only || c.n < 256) return;
  }
}

/* ---- the worker ---------------------------------------------------------------------- */

/* Open the destination, retrying with backoff until it opens or the worker is stopped.
 * Returns the state or NULL (stopped). */
static void *open_dest(output *o, uint64_t *rng, int *ok) {
  uint64_t attempt = 0;
  for (;;) {
    void *state = NULL;
    char err[512] = "";
    if (o->sp.ops->open(o->root, &o->env, &state, err, sizeof err) == 0) {
      *ok = 1;
      return state;
    }
    attempt++;
    output_set_error(o, "cannot open the destination: %s", err);
    log_warn(o->set->log, "output %s: cannot open the destination: %s", OUTPUT_LABEL(o), err);
    if (backoff_sleep(o, output_backoff_ns(o->sp.retry_base_ns, o->sp.retry_cap_ns, attempt, rng))) {
      pthread_mutex_lock(&o->mu);
      int stop = o->stop;
      pthread_mutex_unlock(&o->mu);
      if (stop) {
        *ok = 0;
        return NULL;
      }
      /* paused/reset: wait like the main loop does before trying again */
      pthread_mutex_lock(&o->mu);
      while (!o->stop && o->paused) cv_wait_ns(o, o->set->opt.poll_ns);
      pthread_mutex_unlock(&o->mu);
    }
  }
}

/* Deliver b (already fixed) with retries; advances the cursor. `scan_last` is the highest
 * seq the scan examined: once every message is settled the cursor moves there. */
static void deliver_batch(output *o, void *state, batch *b, uint64_t scan_last, uint64_t *rng,
                          uint64_t *since_flush) {
  size_t off = 0;
  uint64_t attempts = 0; /* failed attempts of msgs[off] */
  while (off < b->n) {
    output_result res;
    memset(&res, 0, sizeof res);
    size_t n = b->n - off;
    A_STORE(o->in_flight, n);
    o->sp.ops->deliver(state, b->msgs + off, n, &res);
    A_STORE(o->in_flight, 0);
    size_t conf = res.status == OUTPUT_OK ? n : (res.confirmed < n ? res.confirmed : n - 1);
    if (conf > 0) {
      off += conf;
      A_STORE(o->cursor, b->msgs[off - 1].seq);
      A_ADD(o->delivered, conf);
      A_STORE(o->last_delivered_ns, time_now_ns());
      *since_flush += conf;
      attempts = 0;
    }
    if (res.status == OUTPUT_OK) break;
    /* Told to stop, pause or replay mid-delivery (output_env.stopping): the destination gave
     * up waiting; that is not an attempt that failed. The cursor stays at the prefix. */
    if (interrupted(o)) return;
    A_ADD(o->failures, 1);
    attempts++;
    if (!res.error[0]) snprintf(res.error, sizeof res.error, "delivery failed (code %d)", res.code);
    output_set_error(o, "%s", res.error);
    if (res.status == OUTPUT_REJECTED ||
        (o->sp.max_attempts && attempts >= o->sp.max_attempts)) {
      dead_letter(o, &b->msgs[off], res.error, attempts);
      A_STORE(o->cursor, b->msgs[off].seq);
      off++;
      attempts = 0;
      continue;
    }
    A_ADD(o->retries, 1);
    if (backoff_sleep(o, output_backoff_ns(o->sp.retry_base_ns, o->sp.retry_cap_ns, attempts, rng)))
      return; /* stopped, paused or reset: the cursor stays at the confirmed prefix */
  }
  if (scan_last > A_LOAD(o->cursor)) A_STORE(o->cursor, scan_last);
}

static void *worker_main(void *arg) {
  output *o = arg;
  output_set *set = o->set;
  uint64_t rng = (uint64_t)time_mono_ns() ^ (uint64_t)(uintptr_t)o;
  int ok = 0;
  void *state = open_dest(o, &rng, &ok);
  batch b = {.sp = &o->sp};
  buf_init(&b.data);
  b.cap = o->sp.batch;
  b.msgs = calloc(b.cap, sizeof *b.msgs);
  if (!b.msgs) {
    output_set_error(o, "out of memory");
    ok = 0;
  }
  store_filter f;
  output_store_filter(&o->sp, &f);
  uint64_t since_flush = 0;
  while (ok) {
    int redo = 0;
    uint64_t redo_seq = 0;
    pthread_mutex_lock(&o->mu);
    for (;;) {
      if (o->stop) break;
      if (o->reset_pending) {
        o->reset_pending = 0;
        A_STORE(o->cursor, o->reset_to);
        since_flush = OUTPUTS_CURSOR_FLUSH_EVENTS; /* store the new cursor soon */
      }
      if (!o->paused &&
          (o->redeliver_pending || store_committed_seq(set->st) > A_LOAD(o->cursor)))
        break;
      cv_wait_ns(o, set->opt.poll_ns);
    }
    if (o->stop) {
      pthread_mutex_unlock(&o->mu);
      break;
    }
    if (o->redeliver_pending) {
      redo = 1;
      redo_seq = o->redeliver_seq;
      o->redeliver_pending = 0;
    }
    pthread_mutex_unlock(&o->mu);

    if (redo) {
      redeliver(o, state, redo_seq);
      continue;
    }
    b.n = 0;
    b.oom = 0;
    buf_clear(&b.data);
    uint64_t from = A_LOAD(o->cursor), last = from;
    int rc = store_scan_seq(set->st, &f, from, b.cap, collect_cb, &b, &last);
    if (rc != 0 || b.oom) {
      output_set_error(o, "cannot read the store: %s", rc ? strerror(-rc) : "out of memory");
      backoff_sleep(o, set->opt.retry_base_ns * 10);
      continue;
    }
    if (b.n == 0) {
      if (last > from) A_STORE(o->cursor, last);
    } else {
      batch_fix(&b);
      deliver_batch(o, state, &b, last, &rng, &since_flush);
    }
    /* The persister thread stores cursors every OUTPUTS_CURSOR_FLUSH_NS; after many events
     * ask it for one now. */
    if (since_flush >= OUTPUTS_CURSOR_FLUSH_EVENTS) {
      outputs_persist_wake(set);
      since_flush = 0;
    }
  }
  o->sp.ops->close(state); /* NULL when it never opened */
  free(b.msgs);
  buf_free(&b.data);
  pthread_mutex_lock(&o->mu);
  int deleted = o->deleted;
  pthread_mutex_unlock(&o->mu);
  if (!deleted) dispatcher_flush_cursor(o);
  A_STORE(o->running, 0);
  if (deleted) {
    /* Nobody joins a deleted output's worker: it frees its output itself. */
    output_free(o);
    __atomic_fetch_sub(&set->detached_live, 1, __ATOMIC_ACQ_REL);
  }
  return NULL;
}

int dispatcher_start(output *o, char *err, size_t errlen) {
  o->env.name = o->sp.name;
  o->env.record_attempt = env_record_attempt;
  o->env.env_arg = o;
  o->env.log = env_log;
  o->env.stopping = env_stopping;
  o->env.guard = output_guard_of(o);
  A_STORE(o->running, 1);
  int rc = pthread_create(&o->thread, NULL, worker_main, o);
  if (rc != 0) {
    A_STORE(o->running, 0);
    snprintf(err, errlen, "cannot start the worker thread: %s", strerror(rc));
    return -1;
  }
  o->thread_started = 1;
  return 0;
}

/* ---- matching ------------------------------------------------------------------------ */

int output_key_matches(const output_spec *sp, const record_view *rv) {
  if (sp->npatterns == 0) return 1;
  const strv *k = &rv->f[EVF_KEY];
  for (size_t i = 0; i < sp->npatterns; i++)
    if (keymatch(sp->patterns[i], strlen(sp->patterns[i]), k->p ? k->p : "", k->n)) return 1;
  return 0;
}

int output_scope_matches(const output_spec *sp, const record_view *rv) {
  if (sp->scope == OUTPUT_SCOPE_GLOBAL) return 1;
  const char *owner = sp->owner ? sp->owner : "";
  const strv *t = &rv->f[EVF_TENANT];
  size_t on = strlen(owner), tn = t->p ? t->n : 0;
  if (sp->scope == OUTPUT_SCOPE_LOCAL) return tn == on && (on == 0 || memcmp(t->p, owner, on) == 0);
  return auth_tenant_in_subtree(t->p ? t->p : "", tn, owner);
}

void output_store_filter(const output_spec *sp, store_filter *f) {
  store_filter_init(f);
  f->type_prefix = sp->type_prefix;
  f->min_severity = sp->min_severity;
  if (sp->tenant) f->exact[EVF_TENANT] = sp->tenant;
  /* the owner's subtree lets the index skip segments; output_scope_matches checks each record */
  if (sp->scope == OUTPUT_SCOPE_DOMAIN && sp->owner && *sp->owner) f->tenant_prefix = sp->owner;
  if (sp->npatterns == 1) f->key_pattern = sp->patterns[0]; /* lets the index skip segments */
  f->nlabels = sp->nlabels;
  for (size_t i = 0; i < sp->nlabels; i++) {
    f->labels[i].key = sp->label_key[i];
    f->labels[i].value = sp->label_value[i];
  }
}
