/* outputs: the dispatcher — the set of outputs of a server (issue 4; docs/outputs.md).
 *
 * Each output has its own worker thread. The worker reads the records after the output's
 * cursor in store order (store_scan_seq), keeps those that match (AMQP topic patterns on
 * `key`, type prefix, minimum severity, tenant, labels), hands them in batches to the
 * destination's deliver (output.h), and advances the cursor only over what the destination
 * confirmed. A failed message is retried after an exponential backoff with jitter
 * (base * 2^(attempt-1), capped, then a random value in [d/2, d]); after max_attempts it
 * goes to the dead-letter list and the output goes on with the next one. Cursors, runtime
 * outputs, dead letters and the delivery history live in the metadata database (metadb.h);
 * cursors and history are written by one persister thread per set, in one transaction every
 * OUTPUTS_CURSOR_FLUSH_NS (sooner after OUTPUTS_CURSOR_FLUSH_EVENTS events).
 *
 * Workers wake on store commits (outputs_notify, called by the store's commit hook on the
 * writer thread: one atomic store and a condition signal per output) and on a timer.
 *
 * Retention: outputs_start installs a retention guard on the store (store.h) so segments an
 * output still needs are kept, up to pin_max_bytes; past that bound retention proceeds and
 * the outputs count the skipped range (eventd_output_skipped_events_total, status).
 *
 * Threads: the control functions (create, update, delete, pause, replay, ...) and the
 * render functions run on the caller's thread (the HTTP loop); they take the set's mutex
 * briefly and never wait for a destination. */
#ifndef EVD_OUTPUTS_OUTPUTS_H
#define EVD_OUTPUTS_OUTPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "outputs/output.h"
#include "server/log.h"
#include "store/store.h"

#define OUTPUTS_CURSOR_FLUSH_NS (50 * 1000000LL)
#define OUTPUTS_CURSOR_FLUSH_EVENTS 1000
#define OUTPUTS_NAME_MAX 64
#define OUTPUTS_MAX_PATTERNS 32
#define OUTPUTS_BATCH_MAX 10000
/* An output reference: "OWNER:NAME" (":NAME" for a root-owned output), or just "NAME" when
 * only one output has that name. Every function below that takes `name` takes a reference
 * (issue 7: names are unique per owner, not globally). */
#define OUTPUTS_REF_MAX (256 + 1 + OUTPUTS_NAME_MAX)

typedef struct output_set output_set;

/* Defaults for the members of an output's spec, and set-wide bounds (config outputs.*). */
typedef struct outputs_options {
  const char *data_dir;       /* meta.db lives here */
  store *st;
  const logger *log;
  int64_t retry_base_ns;      /* outputs.retry_base (default 100 ms) */
  int64_t retry_cap_ns;       /* outputs.retry_cap (default 30 s) */
  uint64_t max_attempts;      /* outputs.max_attempts (0 = forever; default 0) */
  uint64_t history_size;      /* outputs.history_size: delivery history rows kept per output */
  uint64_t pin_max_bytes;     /* outputs.pin_max_bytes: retention keeps segments outputs need up
                                 to this many bytes beyond its own bounds (0 = never pin) */
  int64_t poll_ns;            /* timer wake-up of idle workers (default 1 s) */
  int64_t stop_timeout_ns;    /* bound on joining a worker at stop (default 5 s) */
  /* More destinations besides the built-in table (unit tests register a scripted one). */
  const output_dest_ops *const *extra_dests;
  size_t nextra_dests;
  /* Issue 7 (docs/security.md "Outputs"). */
  const char *tenant_types;   /* outputs.tenant_types: destination types callers other than
                                 admin may create ("webhook,kafka,amqp" when NULL; "none") */
  int allow_local_targets;    /* outputs.allow_local_targets: tenant-owned outputs may reach
                                 loopback, private and link-local addresses */
  const char *const *own_listeners; /* the daemon's listen addresses ("HOST:PORT", "off"),
                                 which tenant-owned outputs may never reach */
  size_t nown_listeners;
} outputs_options;

#define OUTPUTS_TENANT_TYPES_DEFAULT "webhook,kafka,amqp"

/* Check a value of outputs.tenant_types: a comma list of known destination types, or
 * "none". file and stdout are refused (they write on the daemon's host, so they stay
 * admin-only). Returns 0 or -1 with err saying why. */
int outputs_tenant_types_check(const char *list, char *err, size_t errlen);

void outputs_options_default(outputs_options *o);

/* The destination named `type`, or NULL. */
const output_dest_ops *outputs_dest_find(const char *type);

/* Check an output spec (JSON text): common members and the destination's check. Returns 0
 * or -1 with err naming the member ("match[1]: invalid pattern 'a..#x'"). */
int outputs_check_spec(const char *json, size_t len, char *err, size_t errlen);

/* Open meta.db, start the config-declared outputs (JSON specs, already checked by the
 * configuration) and the runtime ones stored in meta.db, install the retention guard.
 * Returns 0 with *out, or -1 with err. */
int outputs_start(const outputs_options *o, char *const *declared, size_t ndeclared,
                  output_set **out, char *err, size_t errlen);

/* Store commit hook part (writer thread; cheap): wake the workers. */
void outputs_notify(output_set *set, uint64_t committed_seq);

/* Stop every worker (telling blocked destinations through output_env.stopping; joins with
 * a bound), flush cursors. Idempotent. */
void outputs_stop(output_set *set);
/* Stop (if needed) and free. NULL is fine. */
void outputs_free(output_set *set);

/* ---- control (HTTP API, eventctl). Errors: -EINVAL (bad spec/argument: err says which),
 * -ENOENT (no such output), -EEXIST (name taken), -EPERM (declared in the config file),
 * -EIO (metadata database), -ENOMEM. ---- */
int outputs_create(output_set *set, const char *json, size_t len, char *err, size_t errlen);
/* Replace (patch = 0) or merge members into (patch = 1) a runtime output's spec. The cursor
 * is kept. */
int outputs_update(output_set *set, const char *name, const char *json, size_t len, int patch,
                   char *err, size_t errlen);
int outputs_delete(output_set *set, const char *name, char *err, size_t errlen);
int outputs_pause(output_set *set, const char *name, int paused, char *err, size_t errlen);
/* Reset the cursor: to just before the first event with time >= since_ns (after_id NULL),
 * or to just before the event with id after_id (that event and everything after it are
 * delivered again; docs/outputs.md). */
int outputs_replay(output_set *set, const char *name, int64_t since_ns, const char *after_id,
                   uint64_t *new_cursor, char *err, size_t errlen);
/* Ask the worker to redeliver the dead letters (all, or only seq when seq != 0). */
int outputs_dead_redeliver(output_set *set, const char *name, uint64_t seq, uint64_t *queued,
                           char *err, size_t errlen);
int outputs_dead_purge(output_set *set, const char *name, uint64_t *purged, char *err,
                       size_t errlen);

/* ---- ownership (issue 7; docs/outputs.md "Owner and scope") ----
 * Every output has an owner tenant (spec member `owner`, "" = root, the default) and a scope
 * (member `scope`): local (events of the owner exactly), domain (the owner's subtree; the
 * default) or global (every event). The *_as variants take `may`, the caller's access
 * rule: may(arg, owner, scope) returns 1 when the caller may manage an output with that
 * owner and scope. An output the caller may not manage is answered -ENOENT like a missing
 * one; a new or changed spec it may not have is -EACCES (err says why). */
enum { OUTPUT_SCOPE_LOCAL = 0, OUTPUT_SCOPE_DOMAIN = 1, OUTPUT_SCOPE_GLOBAL = 2 };
typedef int (*outputs_may_fn)(void *arg, const char *owner, int scope);
/* "local", "domain", "global" (or "?"). */
const char *outputs_scope_name(int scope);
/* 0 when output `name` exists and may(arg, owner, scope) allows it; -ENOENT otherwise. */
int outputs_access(output_set *set, const char *name, outputs_may_fn may, void *arg);
/* outputs_create with defaults for owner and scope (members the body does not give; NULL =
 * none) and the access rule applied to the resulting spec. */
int outputs_create_as(output_set *set, const char *json, size_t len, const char *default_owner,
                      const char *default_scope, outputs_may_fn may, void *arg, char *err,
                      size_t errlen);
/* outputs_update with the access rule applied to the old and the resulting spec. A PUT
 * without `owner` keeps the old owner. */
int outputs_update_as(output_set *set, const char *name, const char *json, size_t len,
                      int patch, outputs_may_fn may, void *arg, char *err, size_t errlen);
/* The full access rule of a caller (issue 7): the owner/scope rule, whether it is an admin
 * (only admins may create or change outputs of a type outside outputs.tenant_types — file
 * and stdout always), and the defaults for a new output's owner and scope. */
typedef struct outputs_caller {
  outputs_may_fn may;         /* NULL: every owner and scope */
  void *arg;
  int admin;                  /* 1: any destination type */
  const char *default_owner;  /* create: owner when the body gives none (NULL = root) */
  const char *default_scope;  /* create: scope when the body gives none (NULL = domain) */
} outputs_caller;
/* outputs_create_as / outputs_update_as with the type rule: a non-admin caller asking for
 * (or changing an output from) a type it may not have gets -EACCES with err naming the type
 * ("output type 'file' writes on the daemon's host: creating or changing one needs an admin
 * token"). A tenant-owned output whose target is a literal local address is -EINVAL (the
 * guard's message; netguard.h). c NULL = no rule (auth off). */
int outputs_create_by(output_set *set, const char *json, size_t len, const outputs_caller *c,
                      char *err, size_t errlen);
int outputs_update_by(output_set *set, const char *name, const char *json, size_t len,
                      int patch, const outputs_caller *c, char *err, size_t errlen);
/* Which output a request means: among the outputs named `name` that may(arg, ...) allows
 * (may NULL: all), the one owned by `owner` when owner is not NULL; else the one owned by
 * own_tenant (the caller's tenant; NULL = none); else the only one. Writes its reference
 * ("OWNER:NAME") into ref[OUTPUTS_REF_MAX + 1]. Returns 0, -ENOENT (none), or -ENOTUNIQ
 * (several, none of them the caller's own: the caller must name the owner). */
int outputs_resolve(output_set *set, const char *name, const char *owner, const char *own_tenant,
                    outputs_may_fn may, void *arg, char *ref);
/* outputs_render_list of only the outputs may allows. */
int outputs_render_list_as(output_set *set, outputs_may_fn may, void *arg, buf *out);

/* ---- rendering (JSON into out) ---- */
/* {"outputs":[{spec..., "declared":bool, "status":{...}}...]} */
int outputs_render_list(output_set *set, buf *out);
/* One output: spec (secrets redacted) + "declared" + "status". -ENOENT if none. */
int outputs_render_one(output_set *set, const char *name, buf *out);
int outputs_render_dead(output_set *set, const char *name, uint64_t after_seq, size_t limit,
                        buf *out);
int outputs_render_deliveries(output_set *set, const char *name, size_t limit, buf *out);
/* Prometheus lines eventd_output_*{output="name",owner="tenant"}. Returns 0 or -1. */
int outputs_render_metrics(output_set *set, buf *out);

/* Deliver one synthetic test event ({"type":"eventd.test",...}) to a fresh instance of the
 * output's destination (open, deliver once, close) on the caller's thread, and append the
 * result as JSON to out ({"output","event_id","ok","code","error","latency_ms"}). Blocks
 * for at most the destination's own timeout. Returns 0, -ENOENT or -EIO with err. */
int outputs_test(output_set *set, const char *name, buf *out, char *err, size_t errlen);

/* The same on a thread of its own: done(arg, result, cancelled) is called on that thread
 * exactly once; it must not block. cancelled = 1 when outputs_stop came first (the daemon
 * is stopping: the event loop no longer runs, only clean up). Returns 0 when started, or
 * -ENOENT/-ESHUTDOWN/-EIO/-ENOMEM with err (done is then not called). (outputs_test.c) */
typedef void (*outputs_test_done_fn)(void *arg, const buf *result, int cancelled);
int outputs_test_start(output_set *set, const char *name, outputs_test_done_fn done, void *arg,
                       char *err, size_t errlen);

#endif
