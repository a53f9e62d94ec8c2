/* auth: tenants, API tokens and roles — who may do what to which events (docs/security.md).
 *
 * Tenants form a tree written as paths: "" is the root (the admins'), "acme" a domain,
 * "acme/prod" a sub-domain or account. A tenant's subtree is itself and every tenant whose
 * path starts with it followed by '/'. Token tenants are checked paths (segments of
 * A-Z a-z 0-9 . _ - separated by single '/', at most AUTH_TENANT_MAX bytes).
 *
 * Tokens are bearer secrets "evd_" + base64url(32 random bytes). Only their SHA-256 is kept:
 * in SQLite at <data_dir>/auth.db (table tokens; WAL) and in an in-memory hash table loaded
 * at start and updated on create and revoke, so authenticating a request never touches
 * SQLite. last_used is kept in memory (coarse: updated at most once a minute per token) and
 * written back when tokens are listed and at close.
 *
 * Roles (what each may do; the visibility of events is `auth_visibility`):
 *   admin         root admin: everything; its tenant is always the root ""
 *   domain-admin  ingest into, read and manage tokens of its tenant subtree
 *   user          ingest into and read its own tenant exactly (not its sub-tenants)
 *   ingest        only send events, into its tenant subtree
 *   read          only read (query, count, histogram, get, tail, Magma), its tenant subtree;
 *                 a read token of the root tenant may also scrape /metrics
 * Registry reads and validation are open to every role; registry reload and /metrics
 * (except root read tokens) are admin-only. The outputs API is open to admin, domain-admin
 * and user; which outputs each may manage (owner tenant, scope) is decided in
 * src/outputs/http_outputs.c.
 *
 * Optional restrictions of a token: streams ("a,b") and type prefixes ("acct.,vm."). Ingest
 * refuses events outside them; reads are narrowed to them (auth_restrict_filter).
 *
 * Threads: everything here runs on the server's event-loop thread except the pure functions
 * (tenant helpers, auth_role_*, auth_allows, auth_visible, auth_restrict_filter,
 * auth_check_event), which touch no shared state. */
#ifndef EVD_SERVER_AUTH_H
#define EVD_SERVER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/event.h"
#include "store/store.h"

#define AUTH_TENANT_MAX 256
#define AUTH_NAME_MAX 128
#define AUTH_LIST_MAX 1024 /* streams / type_prefixes, comma-separated */
#define AUTH_TOKEN_PREFIX "evd_"
#define AUTH_TOKEN_LEN 47 /* "evd_" + 43 base64url characters */

typedef enum auth_role {
  AUTH_ROLE_ADMIN = 0,
  AUTH_ROLE_DOMAIN_ADMIN,
  AUTH_ROLE_USER,
  AUTH_ROLE_INGEST,
  AUTH_ROLE_READ,
  AUTH_ROLE__COUNT
} auth_role;

/* What a request wants to do (one per endpoint; see auth_allows). */
typedef enum auth_action {
  AUTH_ACT_INGEST = 0,     /* POST /v1/events, Elasticsearch and OTLP ingest, gRPC */
  AUTH_ACT_READ,           /* query, count, histogram, get, tail, Magma queries */
  AUTH_ACT_REGISTRY_READ,  /* GET /v1/registry..., POST /v1/registry/validate */
  AUTH_ACT_REGISTRY_ADMIN, /* POST /v1/registry/reload */
  AUTH_ACT_OUTPUTS,        /* /v1/outputs (all methods) */
  AUTH_ACT_TOKENS,         /* /v1/tokens (within the caller's subtree) */
  AUTH_ACT_METRICS,        /* GET /metrics */
  AUTH_ACT__COUNT
} auth_action;

/* The identity a request authenticated as: a copy of the token's record (no secret). */
typedef struct auth_principal {
  int64_t id;
  auth_role role;
  char name[AUTH_NAME_MAX + 1];
  char tenant[AUTH_TENANT_MAX + 1];
  char streams[AUTH_LIST_MAX + 1];       /* "" = any */
  char type_prefixes[AUTH_LIST_MAX + 1]; /* "" = any */
} auth_principal;

/* ---- pure functions --------------------------------------------------------------------- */

/* "admin", "domain-admin", ... ; auth_role_parse returns the role or -1. */
const char *auth_role_name(auth_role r);
int auth_role_parse(const char *s);
const char *auth_action_name(auth_action a);

/* 1 if t[0..n) is a valid token tenant path ("" = root is valid). */
int auth_tenant_valid(const char *t, size_t n);
/* 1 if tenant t[0..n) is in the subtree of root (root "" contains everything). */
int auth_tenant_in_subtree(const char *t, size_t n, const char *root);

/* 1 if role r may do action a at all (tenant limits are checked separately). For
 * AUTH_ACT_METRICS a read token needs the root tenant, hence the principal. */
int auth_allows(const auth_principal *p, auth_action a);

/* Events of which tenants p sees: *tenant (NUL-terminated) and *subtree = 1 for its subtree,
 * 0 for that tenant exactly (user). Returns 1 when p sees every tenant (root). */
int auth_visibility(const auth_principal *p, const char **tenant, int *subtree);

/* 1 if p may see a stored event with these fields (tenant, stream, type). */
int auth_visible(const auth_principal *p, strv tenant, strv stream, strv type);

/* Narrow a read filter to what p may see: its tenant subtree (f->tenant_prefix) or exact
 * tenant (user), its streams and type prefixes. A filter that asks for something p cannot
 * see is made to match nothing (never an error, so nothing leaks through errors). Strings
 * come from a (NULL: only p's own strings are used). Returns 0, or -1 with err when p's
 * restrictions cannot be expressed for this filter (several allowed streams and none asked
 * for: the caller answers 403 naming the remedy). */
int auth_restrict_filter(const auth_principal *p, store_filter *f, arena *a, char *err,
                         size_t errlen);

/* Check an incoming (normalized) event against p: tenant_given says whether the producer
 * gave a tenant; when not, the event gets p's tenant (when p's tenant is not the root). A
 * tenant outside what p may send into, a stream or type outside p's restrictions is
 * refused: returns -1 with *field and reason. Returns 0 when the event may be stored. */
int auth_check_event(const auth_principal *p, event *ev, int tenant_given, char *field,
                     size_t fieldlen, char *reason, size_t reasonlen);

/* 1 if host (without brackets) is a loopback address (127.0.0.0/8, ::1, localhost). */
int auth_host_is_loopback(const char *host);

/* ---- the token database ----------------------------------------------------------------- */

typedef struct auth_db auth_db;

/* One token as listed (no secret). */
typedef struct auth_token_info {
  auth_principal p;
  int64_t created_ns;
  int64_t last_used_ns; /* 0 = never */
  int revoked;
} auth_token_info;

/* Open (create) <dir>/auth.db and load the active tokens. When the database holds no token
 * at all, create a bootstrap admin token named "bootstrap-admin" and write it to
 * <dir>/admin.token (mode 0600, created exclusively); *bootstrap_path is then set to that
 * path (static storage in the db; NULL otherwise). Returns 0 or -1 with err. */
int auth_db_open(const char *dir, auth_db **out, const char **bootstrap_path, char *err,
                 size_t errlen);
/* Write last_used back and close. NULL is fine. */
void auth_db_close(auth_db *db);

/* Look up a presented token (header value after "Bearer "). Returns 0 with *out, or -1
 * when it is unknown or revoked. Touches no SQLite. */
int auth_db_authenticate(auth_db *db, const char *token, size_t len, int64_t now_ns,
                         auth_principal *out);

/* Create a token on behalf of `by` (admin, or domain-admin within its subtree: tenant in its
 * subtree, role not admin). spec's id is ignored. The secret is written to
 * token_out[AUTH_TOKEN_LEN + 1]; *info gets the record. Returns 0; -1 with err for a bad
 * request (status 400), -2 when `by` may not (403), -3 on a database error (500). */
int auth_db_create(auth_db *db, const auth_principal *by, const auth_principal *spec,
                   int64_t now_ns, char token_out[AUTH_TOKEN_LEN + 1], auth_token_info *info,
                   char *err, size_t errlen);

/* Revoke token id if `by` may see it (admin: any; domain-admin: tenants of its subtree).
 * Returns 0, -ENOENT (unknown or invisible: the same answer), or -EIO with err. */
int auth_db_revoke(auth_db *db, const auth_principal *by, int64_t id, char *err, size_t errlen);

/* Call fn for each token `by` may see (revoked ones included), in id order. Returns 0 or
 * -1 with err. */
int auth_db_list(auth_db *db, const auth_principal *by,
                 int (*fn)(void *arg, const auth_token_info *t), void *arg, char *err,
                 size_t errlen);

/* Number of active (not revoked) tokens in memory. */
size_t auth_db_active_count(const auth_db *db);

/* Look up an active token by its name (the subject CN of a client certificate on the socket
 * inputs' mTLS; added for issue 7). Touches no SQLite. Returns 0 with *out; -1 when no
 * active token has that name; -2 when several active tokens share it (ambiguous: the caller
 * refuses). */
int auth_db_find_by_name(const auth_db *db, const char *name, auth_principal *out);

/* ---- failed-authentication slowdown ----------------------------------------------------- */

typedef struct auth_throttle auth_throttle;

auth_throttle *auth_throttle_new(void);
void auth_throttle_free(auth_throttle *t);
/* Record a failed authentication from peer (address text) and return how long to wait
 * before answering it, in ms: 0 for the first failures, then doubling from 100 ms up to
 * 5000 ms; a peer's count decays after 10 minutes without failures. */
long auth_throttle_fail(auth_throttle *t, const char *peer, int64_t now_ns);
/* A successful authentication from peer resets its count. */
void auth_throttle_ok(auth_throttle *t, const char *peer);

#endif
