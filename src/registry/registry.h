/* registry: the event-type registry. Maps an event type to its compiled schema and its
 * options, decides what happens to unregistered types, and counts what it sees.
 *
 * Two sources (docs/registry.md has the details and examples/registry/ a full example):
 *  - an eventd.yml-compatible file (Magma's format): `event_registry:` maps each type to
 *    {module, filename} plus optional eventd keys (stream, severity, retention,
 *    additional_properties) and Magma's retry_on_failure; top-level `spec_dirs`,
 *    `unregistered` and `streams: {NAME: {unregistered: ...}}` are eventd's, other
 *    top-level keys (Magma's fluent_bit_port, tcp_timeout, log_level) are ignored.
 *    A spec file is looked up in each spec dir D as D/<module>/<filename>,
 *    D/<module>/swagger/<filename> (Magma source tree), D/<module>/swagger/specs/<filename>
 *    (Magma's installed packages), or D/<filename> when no module is given; relative spec
 *    dirs are relative to the registry file, the default spec dir is its directory.
 *  - a directory of spec files (*.yml, *.yaml, *.json, searched recursively): every name in
 *    each file's definitions is an event type (a JSON Schema file without definitions
 *    registers one type named after the file).
 * Every spec file is read and parsed once, however many types use it, and every
 * registered type is compiled at load: a missing file, a type missing from its file's
 * definitions or an invalid schema is a load error naming file, line and reason.
 *
 * Lifetime and reload: a registry is immutable once loaded (its counters are atomics), so
 * any number of threads may look up and validate concurrently. A reload builds a new
 * registry and swaps it in a registry_holder; each user takes a reference
 * (registry_holder_get) for as long as it uses the registry -- e.g. one ingest batch -- and
 * drops it with registry_unref. The old registry is freed when its last user lets go, so
 * events in flight finish against the registry they started with and none is dropped. */
#ifndef EVD_REGISTRY_H
#define EVD_REGISTRY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/json.h"
#include "registry/schema.h"

typedef enum registry_policy {
  REGISTRY_REJECT = 0,       /* refuse events of unregistered types (the default) */
  REGISTRY_ACCEPT,           /* store them as they are */
  REGISTRY_ACCEPT_AND_FLAG   /* store them, marked as unregistered */
} registry_policy;

/* What registry_check decided. */
typedef enum registry_verdict {
  REGISTRY_VALID = 0,          /* registered type, data matches its schema */
  REGISTRY_INVALID,            /* registered type, data does not match: *err says where and why */
  REGISTRY_UNKNOWN_ACCEPTED,   /* unregistered type, policy accept */
  REGISTRY_UNKNOWN_FLAGGED,    /* unregistered type, policy accept-and-flag */
  REGISTRY_UNKNOWN_REJECTED    /* unregistered type, policy reject: *err filled */
} registry_verdict;

typedef struct registry_counters {
  _Atomic uint64_t seen;     /* events of this type checked */
  _Atomic uint64_t invalid;  /* ... of which did not match the schema */
} registry_counters;

/* One registered type. Read only; valid as long as the registry is referenced. */
typedef struct registry_type {
  const char *name;
  size_t name_len;
  const char *module;          /* as registered ("" when not given / directory mode) */
  const char *filename;        /* as registered (directory mode: path below the directory) */
  const char *spec_path;       /* the spec file the schema came from */
  int spec_line;               /* line of the definition in spec_path */
  int registry_line;           /* line of the entry in the registry file (0: directory mode) */
  const char *stream;          /* default stream for the type, or NULL */
  int severity;                /* default severity 1..24, or 0 */
  int64_t retention_ns;        /* retention for the type, or 0 (store default) */
  int additional_properties;   /* -1 as the schema says; 0 close the root object; 1 open it */
  int retry_on_failure;        /* Magma's flag: -1 not set, 0, 1 */
  const schema_node *schema;
  const json_value *schema_source; /* the definition as written (for GET /v1/registry/{type}) */
  registry_counters *counters;
  /* additional_properties 0: the names the root object may have (hash set) */
  const char *const *closed_names;
  const uint32_t *closed_lens;
  uint32_t closed_mask;        /* table size - 1; 0 when not closed */
} registry_type;

typedef struct registry registry;

/* A stream's policy for unregistered types, from the daemon's configuration. */
typedef struct registry_stream_option {
  const char *stream;
  registry_policy policy;
} registry_stream_option;

typedef struct registry_options {
  const char *const *spec_dirs;  /* searched after the file's own spec_dirs (may be NULL) */
  size_t nspec_dirs;
  registry_policy default_policy; /* when the file sets no `unregistered` (directory mode too) */
  /* Per-stream policies for the streams the file's `streams:` does not name (may be NULL).
   * Precedence: the file's stream entry, then these, then the file's `unregistered`, then
   * default_policy. */
  const registry_stream_option *stream_policies;
  size_t nstream_policies;
} registry_options;

/* Load a registry from path: an eventd.yml-compatible file, or a directory of spec files.
 * opts may be NULL. Returns the registry with one reference, or NULL with the reason in
 * err[0..errlen) ("reg.yml:7: event type 'attach_sucess' is not defined in ..."). */
registry *registry_load(const char *path, const registry_options *opts, char *err, size_t errlen);

/* Take / drop a reference (thread-safe). The last registry_unref frees the registry. */
registry *registry_ref(registry *r);
void registry_unref(registry *r);

/* The path it was loaded from. */
const char *registry_path(const registry *r);

/* The registered type of that name, or NULL. A hash lookup. */
const registry_type *registry_lookup(const registry *r, const char *type, size_t len);

/* Registered types, sorted by name: i in [0, registry_type_count). */
size_t registry_type_count(const registry *r);
const registry_type *registry_type_at(const registry *r, size_t i);

/* The spec files the registry loaded (each once), as opened: i in [0, registry_spec_count). */
size_t registry_spec_count(const registry *r);
const char *registry_spec_path(const registry *r, size_t i);

/* What to do with an unregistered type on this stream (stream may be NULL). */
registry_policy registry_policy_for(const registry *r, const char *stream, size_t stream_len);

/* The whole decision for one event: look the type up, validate data (NULL = absent,
 * validated like {}) against its schema, apply the stream's policy to unknown types, and
 * count. On REGISTRY_INVALID err->field is the JSON path ("data.imsi") and err->reason the
 * rule; on REGISTRY_UNKNOWN_REJECTED err is {"type", "event type 'x' is not registered,
 * please add it to the event registry"}. *type_out (may be NULL) gets the type or NULL.
 * Allocates nothing; thread-safe. */
registry_verdict registry_check(const registry *r, const char *stream, size_t stream_len, const char *type,
                                size_t type_len, const json_value *data, const registry_type **type_out,
                                evd_field_error *err);

/* registry_check with flags: REGISTRY_CHECK_NO_COUNT leaves the counters alone (a dry run,
 * e.g. POST /v1/registry/validate). registry_check(...) is registry_check_ex(..., 0). */
#define REGISTRY_CHECK_NO_COUNT 1
registry_verdict registry_check_ex(const registry *r, const char *stream, size_t stream_len, const char *type,
                                   size_t type_len, const json_value *data, const registry_type **type_out,
                                   evd_field_error *err, int flags);

/* The check of a registered type (from registry_lookup on r, while r is referenced): what
 * registry_check_ex does after its lookup — validate data (NULL: like {}) and count. Returns
 * REGISTRY_VALID or REGISTRY_INVALID (with *err). For callers that looked the type up
 * already (the stream only matters for unregistered types). */
registry_verdict registry_check_type(const registry_type *t, const json_value *data, evd_field_error *err, int flags);

/* The policy for unregistered types on streams not listed below (the file's `unregistered`,
 * else registry_options.default_policy). */
registry_policy registry_default_policy(const registry *r);
/* Streams with their own policy: i in [0, registry_stream_policy_count); returns the stream
 * name (NUL-terminated) and sets *policy. */
size_t registry_stream_policy_count(const registry *r);
const char *registry_stream_policy_at(const registry *r, size_t i, registry_policy *policy);

/* Counters. */
uint64_t registry_type_seen(const registry_type *t);
uint64_t registry_type_invalid(const registry_type *t);
uint64_t registry_unknown_seen(const registry *r);

/* After a reload: start new's counters where old's were, for the types both have. */
void registry_carry_counts(registry *new_reg, const registry *old_reg);

/* "reject", "accept", "accept-and-flag". */
const char *registry_policy_name(registry_policy p);
/* Parse one of those names; returns 0 or -1. */
int registry_policy_parse(const char *s, size_t n, registry_policy *out);

/* ---- handing a registry over between threads --------------------------------------------- */

typedef struct registry_holder {
  pthread_mutex_t mu;
  registry *current; /* may be NULL: no registry configured */
} registry_holder;

/* Initialize with r (may be NULL); the holder takes over the caller's reference. */
int registry_holder_init(registry_holder *h, registry *r);
/* A new reference to the current registry (NULL when none); release with registry_unref. */
registry *registry_holder_get(registry_holder *h);
/* Install r (taking over the caller's reference) and drop the holder's reference to the
 * previous one, which is freed once its last user lets go. */
void registry_holder_set(registry_holder *h, registry *r);
/* Drop the holder's reference and destroy the mutex. */
void registry_holder_destroy(registry_holder *h);

#endif
