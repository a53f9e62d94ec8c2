/* dispatcher: internals shared by outputs.c (the set, specs, control, rendering) and
 * dispatcher.c (the worker thread of one output). Not a public interface: the rest of the
 * daemon uses outputs.h.
 *
 * Locking: set->mu guards the list of outputs (and list_mu its links, see below); o->mu guards an output's control requests
 * (stop, paused, reset, redeliver) and its last error. Counters and the cursor are atomics
 * (read by metrics and status without locks). A worker never holds o->mu during deliver. */
#ifndef EVD_OUTPUTS_DISPATCHER_H
#define EVD_OUTPUTS_DISPATCHER_H

#include <pthread.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/json.h"
#include "outputs/metadb.h"
#include "outputs/netguard.h"
#include "outputs/outputs.h"

#define OUTPUT_FILTER_MAX_LABELS 16

/* The common members of a spec, parsed (strings point into the output's arena). */
typedef struct output_spec {
  const char *name;
  const char *type;
  const output_dest_ops *ops;
  const char *patterns[OUTPUTS_MAX_PATTERNS];
  size_t npatterns;
  const char *type_prefix; /* NULL = any */
  int min_severity;        /* 0 = any */
  const char *tenant;      /* NULL = any */
  const char *owner;       /* owning tenant ("" = root; never NULL after parsing) */
  int scope;               /* OUTPUT_SCOPE_*: which tenants' events it may receive */
  size_t nlabels;
  const char *label_key[OUTPUT_FILTER_MAX_LABELS], *label_value[OUTPUT_FILTER_MAX_LABELS];
  int64_t retry_base_ns, retry_cap_ns;
  uint64_t max_attempts;   /* 0 = forever */
  int paused;
  size_t batch;
  int start_oldest;        /* "start": "oldest" (else "now") */
} output_spec;

typedef struct output output;
struct output {
  output_set *set;
  output *next;
  char *spec_json; /* the spec as given (malloc) */
  size_t spec_len;
  arena ar;        /* the parsed spec */
  const json_value *root;
  output_spec sp;
  /* The output's identity (issue 7): "OWNER:NAME" (":NAME" for the root), unique in a set;
   * outputs of different owners may share a name. meta.db keys its rows by it. */
  char key[OUTPUTS_REF_MAX + 1];
  int declared;    /* from the config file */

  output_env env;
  output_guard guard;    /* env.guard points here for tenant-owned outputs (issue 7) */
  pthread_t thread;
  int thread_started;

  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop;              /* leave the loop */
  int deleted;           /* ... and forget everything (no last cursor flush); self-free */
  int paused;
  int reset_pending;
  uint64_t reset_to;
  int redeliver_pending;
  uint64_t redeliver_seq; /* 0 = all */
  char last_error[256];
  int64_t last_error_ns;

  /* atomics */
  uint64_t cursor;        /* highest seq confirmed or skipped */
  uint64_t cursor_stored; /* what meta.db holds */
  uint64_t wake;          /* bumped by outputs_notify */
  uint64_t delivered, retries, failures, dead_lettered, skipped, in_flight;
  uint64_t skipped_first, skipped_last; /* last range lost to retention (0 = none) */
  int64_t last_delivered_ns;            /* wall time of the last confirmation */
  int running;                          /* worker alive */
};

struct output_set {
  outputs_options opt;
  store *st;
  const logger *log;
  metadb *db;
  pthread_mutex_t mu;
  /* list_mu guards only the links of the list (taken together with mu to change them): the
   * writer thread's commit hook and retention guard take it alone, so they never wait for
   * a control request or a status render holding mu. */
  pthread_mutex_t list_mu;
  output *head;
  int stopped;
  uint64_t detached_live; /* atomic: workers of deleted/replaced outputs still running */
  /* The persister thread: stores cursors and the queued delivery history every
   * OUTPUTS_CURSOR_FLUSH_NS (or when woken), in one transaction, off the delivery path. */
  pthread_t persister;
  int persister_started;
  pthread_mutex_t pmu;
  pthread_cond_t pcv;
  int pstop, pwake;
  /* Test deliveries running on their own threads (outputs_test.c), under tmu. */
  pthread_mutex_t tmu;
  pthread_cond_t tcv;
  size_t tests_live;
  int tests_stop; /* also read without tmu (atomic) by the test's env.stopping */
  /* The SSRF guard's view of the daemon's listeners (issue 7; read-only after start). */
  netguard_listener *listeners;
  size_t nlisteners;
};

/* How logs name an output: its name for a root-owned one, "OWNER:NAME" otherwise (outputs
 * of different owners may share a name). */
#define OUTPUT_LABEL(o) ((o)->sp.owner[0] ? (o)->key : (o)->sp.name)

/* The output a reference ("OWNER:NAME", or "NAME" when unique) names, or NULL. Caller
 * holds set->mu. */
output *output_find(output_set *set, const char *ref);

/* The type rule of a caller (outputs_access.c): may c have an output of type `type` (the
 * new spec's, or with old = 1 the type of the output `name` it changes)? c NULL or an admin:
 * always. Returns 0 or -1 with err naming the type and that it needs an admin token. */
int output_caller_may_type(const output_set *set, const outputs_caller *c, const char *name,
                           const char *type, int old, char *err, size_t errlen);
/* For a tenant-owned output o (sets o->set = set): its destination's check_targets against
 * its guard. Returns 0 (also for root-owned outputs) or -1 with err. */
int output_check_literal_targets(output_set *set, output *o, char *err, size_t errlen);

/* The guard of o for its destination (o->set must be set): NULL for a root-owned output,
 * else &o->guard filled from o's owner and the set's options. */
const output_guard *output_guard_of(output *o);

/* Stop accepting test deliveries and wait (until deadline_ns, monotonic) for the running
 * ones; their completion callbacks are not called after this. Returns the number still
 * running. */
size_t outputs_tests_stop(output_set *set, int64_t deadline_ns);

/* Ask the persister to run now (any thread). */
void outputs_persist_wake(output_set *set);

/* Parse and check a spec into o->ar / o->sp / o->root (o->spec_json must be set). Defaults
 * come from opt (NULL: built-in defaults). Returns 0 or -1 with err. */
int output_spec_parse(output *o, const outputs_options *opt, char *err, size_t errlen);

/* 1 if the record passes the output's key patterns (the store filter does the rest). */
int output_key_matches(const output_spec *sp, const record_view *rv);
/* 1 if the record's tenant is within what the output's owner and scope allow (local: the
 * owner exactly; domain: the owner's subtree; global: any). */
int output_scope_matches(const output_spec *sp, const record_view *rv);
/* Fill a store filter from the spec (strings borrowed). */
void output_store_filter(const output_spec *sp, store_filter *f);

/* The backoff before retry number `attempt` (1 = first retry): min(cap, base*2^(attempt-1))
 * scaled by a random factor in [0.5, 1.0] from *rng (xorshift state, non-zero). */
int64_t output_backoff_ns(int64_t base_ns, int64_t cap_ns, uint64_t attempt, uint64_t *rng);

/* Start the worker thread. Returns 0 or -1 with err. */
int dispatcher_start(output *o, char *err, size_t errlen);
/* Wake the worker (after a control request). */
void dispatcher_wake(output *o);
/* Write the cursor to meta.db if it moved (any thread). */
void dispatcher_flush_cursor(output *o);
/* A new output holding a copy of json[0..len), parsed and checked against opt's defaults
 * (not linked, no worker). Returns it, or NULL with err. */
output *output_new(const char *json, size_t len, const outputs_options *opt, char *err,
                   size_t errlen);
/* Free an output whose worker is not running (or was never started). */
void output_free(output *o);
/* Set the last error (any thread). */
void output_set_error(output *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
