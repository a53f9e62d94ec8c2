/* auth: roles, tenant subtrees, the token database and the failed-authentication slowdown.
 * Contract and the role model: auth.h; user documentation: docs/security.md.
 *
 * On disk: <data_dir>/auth.db (SQLite, WAL), one table
 *   tokens(id INTEGER PRIMARY KEY, hash BLOB UNIQUE (SHA-256 of the token text), name, role,
 *          tenant, streams, type_prefixes, created_ns, last_used_ns, revoked)
 * and <data_dir>/admin.token, the bootstrap admin token (mode 0600), written once.
 *
 * In memory: every active token in an open-addressing hash table keyed by its SHA-256
 * (the first 8 bytes pick the slot; the full 32 are compared with CRYPTO_memcmp). */
#include "server/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- roles and actions ------------------------------------------------------------------ */

static const char *const ROLE_NAMES[AUTH_ROLE__COUNT] = {"admin", "domain-admin", "user", "ingest",
                                                          "read"};

const char *auth_role_name(auth_role r) {
  return (unsigned)r < AUTH_ROLE__COUNT ? ROLE_NAMES[r] : "?";
}

int auth_role_parse(const char *s) {
  for (int i = 0; i < AUTH_ROLE__COUNT; i++)
    if (strcmp(s, ROLE_NAMES[i]) == 0) return i;
  return -1;
}

const char *auth_action_name(auth_action a) {
  static const char *const n[AUTH_ACT__COUNT] = {"ingest",  "read",   "registry-read",
                                                 "registry-admin", "outputs", "tokens",
                                                 "metrics"};
  return (unsigned)a < AUTH_ACT__COUNT ? n[a] : "?";
}

/* The role x action table (docs/security.md; tests/integration/auth_matrix.tsv checks it
 * endpoint by endpoint). */
static const unsigned char ALLOWED[AUTH_ROLE__COUNT][AUTH_ACT__COUNT] = {
    /*                 ingest read reg-r reg-a outputs tokens metrics */
    [AUTH_ROLE_ADMIN] = {1, 1, 1, 1, 1, 1, 1},
    [AUTH_ROLE_DOMAIN_ADMIN] = {1, 1, 1, 0, 1, 1, 0},
    [AUTH_ROLE_USER] = {1, 1, 1, 0, 1, 0, 0},
    [AUTH_ROLE_INGEST] = {1, 0, 1, 0, 0, 0, 0},
    [AUTH_ROLE_READ] = {0, 1, 1, 0, 0, 0, 0},
};

int auth_allows(const auth_principal *p, auth_action a) {
  if ((unsigned)p->role >= AUTH_ROLE__COUNT || (unsigned)a >= AUTH_ACT__COUNT) return 0;
  if (a == AUTH_ACT_METRICS && p->role == AUTH_ROLE_READ) return p->tenant[0] == '\0';
  return ALLOWED[p->role][a];
}

/* ---- tenants ---------------------------------------------------------------------------- */

static int seg_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

int auth_tenant_valid(const char *t, size_t n) {
  if (n == 0) return 1;
  if (n > AUTH_TENANT_MAX || t[0] == '/' || t[n - 1] == '/') return 0;
  for (size_t i = 0; i < n; i++) {
    if (t[i] == '/') {
      if (t[i + 1] == '/') return 0;
    } else if (!seg_char((unsigned char)t[i])) {
      return 0;
    }
  }
  return 1;
}

int auth_tenant_in_subtree(const char *t, size_t n, const char *root) {
  size_t rn = strlen(root);
  if (rn == 0) return 1;
  if (n < rn || memcmp(t, root, rn) != 0) return 0;
  return n == rn || t[rn] == '/';
}

int auth_visibility(const auth_principal *p, const char **tenant, int *subtree) {
  *tenant = p->tenant;
  *subtree = p->role != AUTH_ROLE_USER;
  return p->tenant[0] == '\0' && *subtree;
}

/* 1 if s[0..n) is one of the comma-separated items of list (exactly, or as a prefix of s
 * when prefix != 0). An empty list allows everything. */
static int list_allows(const char *list, const char *s, size_t n, int prefix) {
  if (!list[0]) return 1;
  for (const char *p = list; *p;) {
    const char *c = strchr(p, ',');
    size_t k = c ? (size_t)(c - p) : strlen(p);
    if (prefix ? (k <= n && memcmp(s, p, k) == 0) : (k == n && memcmp(s, p, k) == 0)) return 1;
    if (!c) break;
    p = c + 1;
  }
  return 0;
}

static size_t list_count(const char *list) {
  if (!list[0]) return 0;
  size_t k = 1;
  for (const char *p = list; *p; p++) k += *p == ',';
  return k;
}

int auth_visible(const auth_principal *p, strv tenant, strv stream, strv type) {
  const char *t;
  int subtree;
  if (!auth_visibility(p, &t, &subtree)) {
    if (subtree ? !auth_tenant_in_subtree(tenant.p, tenant.n, t)
                : !(tenant.n == strlen(t) && memcmp(tenant.p, t, tenant.n) == 0))
      return 0;
  }
  return list_allows(p->streams, stream.p, stream.n, 0) &&
         list_allows(p->type_prefixes, type.p, type.n, 1);
}

/* Make f match nothing (an empty time window). */
static void match_nothing(store_filter *f) {
  f->since_ns = INT64_MAX;
  f->until_ns = INT64_MIN;
}

/* s, or its copy in a when a is not NULL (NULL when out of memory). */
static const char *keep(arena *a, const char *s) {
  if (!a) return s;
  size_t n = strlen(s);
  char *c = arena_alloc(a, n + 1);
  if (c) memcpy(c, s, n + 1);
  return c;
}

int auth_restrict_filter(const auth_principal *p, store_filter *f, arena *a, char *err,
                         size_t errlen) {
  const char *t;
  int subtree;
  const char *set = "";
  if (!auth_visibility(p, &t, &subtree)) {
    const char *asked = f->exact[EVF_TENANT];
    if (subtree) {
      set = f->tenant_prefix = keep(a, t);
      if (asked && !auth_tenant_in_subtree(asked, strlen(asked), t)) match_nothing(f);
    } else if (!asked) {
      set = f->exact[EVF_TENANT] = keep(a, t);
    } else if (strcmp(asked, t) != 0) {
      match_nothing(f);
    }
  }
  if (p->streams[0]) {
    const char *asked = f->exact[EVF_STREAM];
    if (asked) {
      if (!list_allows(p->streams, asked, strlen(asked), 0)) match_nothing(f);
    } else if (list_count(p->streams) == 1) {
      set = set ? f->exact[EVF_STREAM] = keep(a, p->streams) : NULL;
    } else {
      snprintf(err, errlen, "this token may only read the streams %s: add stream=ONE_OF_THEM",
               p->streams);
      return -1;
    }
  }
  if (p->type_prefixes[0]) {
    const char *asked = f->type_prefix ? f->type_prefix : f->exact[EVF_TYPE];
    if (asked) {
      if (!list_allows(p->type_prefixes, asked, strlen(asked), 1)) match_nothing(f);
    } else if (list_count(p->type_prefixes) == 1) {
      set = set ? f->type_prefix = keep(a, p->type_prefixes) : NULL;
    } else {
      snprintf(err, errlen,
               "this token may only read types starting with %s: add type=PREFIX* for one of them",
               p->type_prefixes);
      return -1;
    }
  }
  if (!set) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  return 0;
}

int auth_check_event(const auth_principal *p, event *ev, int tenant_given, char *field,
                     size_t fieldlen, char *reason, size_t reasonlen) {
  if (!tenant_given && p->tenant[0]) ev->f[EVF_TENANT] = (strv){p->tenant, strlen(p->tenant)};
  strv tn = ev->f[EVF_TENANT];
  int ok;
  if (p->role == AUTH_ROLE_USER) /* exact, as auth_visibility */
    ok = tn.n == strlen(p->tenant) && memcmp(tn.p, p->tenant, tn.n) == 0;
  else ok = auth_tenant_in_subtree(tn.p, tn.n, p->tenant);
  if (!ok) {
    snprintf(field, fieldlen, "tenant");
    snprintf(reason, reasonlen, "tenant '%.*s' is outside %s '%s' this token may send into",
             (int)(tn.n > 128 ? 128 : tn.n), tn.p,
             p->role == AUTH_ROLE_USER ? "the tenant" : "the tenant subtree", p->tenant);
    return -1;
  }
  strv st = ev->f[EVF_STREAM], ty = ev->f[EVF_TYPE];
  if (!list_allows(p->streams, st.p, st.n, 0)) {
    snprintf(field, fieldlen, "stream");
    snprintf(reason, reasonlen, "stream '%.*s' is not one this token may send into (%s)",
             (int)(st.n > 128 ? 128 : st.n), st.p, p->streams);
    return -1;
  }
  if (!list_allows(p->type_prefixes, ty.p, ty.n, 1)) {
    snprintf(field, fieldlen, "type");
    snprintf(reason, reasonlen, "type '%.*s' does not start with a prefix this token may send (%s)",
             (int)(ty.n > 128 ? 128 : ty.n), ty.p, p->type_prefixes);
    return -1;
  }
  return 0;
}

int auth_host_is_loopback(const char *host) {
  if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0) return 1;
  if (strncmp(host, "127.", 4) != 0) return 0;
  int dots = 0;
  for (const char *p = host; *p; p++) {
    if (*p == '.') dots++;
    else if (*p < '0' || *p > '9') return 0;
  }
  return dots == 3;
}

/* ---- hashing ---------------------------------------------------------------------------- */

typedef struct token_rec {
  unsigned char hash[32];
  auth_token_info info;
  int64_t persisted_last_used_ns;
} token_rec;

static int sha256(const void *p, size_t n, unsigned char out[32]) {
  unsigned int len = 0;
  return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32 ? 0 : -1;
}

static void b64url(const unsigned char *in, size_t n, char *out) {
  static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
    out[o++] = A[v >> 18];
    out[o++] = A[(v >> 12) & 63];
    out[o++] = A[(v >> 6) & 63];
    out[o++] = A[v & 63];
  }
  if (n - i == 1) {
    unsigned v = (unsigned)in[i] << 16;
    out[o++] = A[v >> 18];
    out[o++] = A[(v >> 12) & 63];
  } else if (n - i == 2) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
    out[o++] = A[v >> 18];
    out[o++] = A[(v >> 12) & 63];
    out[o++] = A[(v >> 6) & 63];
  }
  out[o] = '\0';
}

/* ---- the database ----------------------------------------------------------------------- */

struct auth_db {
  sqlite3 *db;
  token_rec **slots; /* open addressing, power of two; NULL = empty */
  size_t nslots, nactive;
  char bootstrap_path[4096];
};

static size_t slot_of(const unsigned char h[32], size_t mask) {
  uint64_t v;
  memcpy(&v, h, 8);
  return (size_t)v & mask;
}

static int table_put(auth_db *d, token_rec *r) {
  if ((d->nactive + 1) * 2 > d->nslots) {
    size_t nn = d->nslots ? d->nslots * 2 : 64;
    token_rec **ns = calloc(nn, sizeof *ns);
    if (!ns) return -1;
    for (size_t i = 0; i < d->nslots; i++) {
      if (!d->slots[i]) continue;
      size_t j = slot_of(d->slots[i]->hash, nn - 1);
      while (ns[j]) j = (j + 1) & (nn - 1);
      ns[j] = d->slots[i];
    }
    free(d->slots);
    d->slots = ns;
    d->nslots = nn;
  }
  size_t j = slot_of(r->hash, d->nslots - 1);
  while (d->slots[j]) j = (j + 1) & (d->nslots - 1);
  d->slots[j] = r;
  d->nactive++;
  return 0;
}

static token_rec *table_find(const auth_db *d, const unsigned char h[32]) {
  if (!d->nslots) return NULL;
  for (size_t j = slot_of(h, d->nslots - 1);; j = (j + 1) & (d->nslots - 1)) {
    token_rec *r = d->slots[j];
    if (!r) return NULL;
    if (CRYPTO_memcmp(r->hash, h, 32) == 0) return r;
  }
}

/* Remove the record with this id (backward-shift deletion). Returns it or NULL. */
static token_rec *table_remove_id(auth_db *d, int64_t id) {
  size_t mask = d->nslots - 1;
  for (size_t i = 0; i < d->nslots; i++) {
    if (!d->slots[i] || d->slots[i]->info.p.id != id) continue;
    token_rec *r = d->slots[i];
    d->slots[i] = NULL;
    size_t j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (!d->slots[j]) break;
      size_t k = slot_of(d->slots[j]->hash, mask);
      /* move slots[j] into the hole at i when k is not cyclically in (i, j] */
      if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
        d->slots[i] = d->slots[j];
        d->slots[j] = NULL;
        i = j;
      }
    }
    d->nactive--;
    return r;
  }
  return NULL;
}

static const char SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS tokens("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " hash BLOB NOT NULL UNIQUE,"
    " name TEXT NOT NULL,"
    " role TEXT NOT NULL,"
    " tenant TEXT NOT NULL,"
    " streams TEXT NOT NULL DEFAULT '',"
    " type_prefixes TEXT NOT NULL DEFAULT '',"
    " created_ns INTEGER NOT NULL,"
    " last_used_ns INTEGER NOT NULL DEFAULT 0,"
    " revoked INTEGER NOT NULL DEFAULT 0);";

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col) {
  const unsigned char *t = sqlite3_column_text(st, col);
  snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* Fill info from a row of SELECT id,name,role,tenant,streams,type_prefixes,created_ns,
 * last_used_ns,revoked[,hash]. */
static void row_info(sqlite3_stmt *st, auth_token_info *t) {
  memset(t, 0, sizeof *t);
  t->p.id = sqlite3_column_int64(st, 0);
  copy_col(t->p.name, sizeof t->p.name, st, 1);
  const unsigned char *role = sqlite3_column_text(st, 2);
  int r = role ? auth_role_parse((const char *)role) : -1;
  t->p.role = r < 0 ? AUTH_ROLE_READ : (auth_role)r;
  copy_col(t->p.tenant, sizeof t->p.tenant, st, 3);
  copy_col(t->p.streams, sizeof t->p.streams, st, 4);
  copy_col(t->p.type_prefixes, sizeof t->p.type_prefixes, st, 5);
  t->created_ns = sqlite3_column_int64(st, 6);
  t->last_used_ns = sqlite3_column_int64(st, 7);
  t->revoked = sqlite3_column_int(st, 8) != 0;
}

static int load_active(auth_db *d, char *err, size_t errlen) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(d->db,
                         "SELECT id,name,role,tenant,streams,type_prefixes,created_ns,"
                         "last_used_ns,revoked,hash FROM tokens WHERE revoked=0",
                         -1, &st, NULL) != SQLITE_OK) {
    snprintf(err, errlen, "auth.db: %s", sqlite3_errmsg(d->db));
    return -1;
  }
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    token_rec *r = calloc(1, sizeof *r);
    if (!r) break;
    row_info(st, &r->info);
    r->persisted_last_used_ns = r->info.last_used_ns;
    if (sqlite3_column_bytes(st, 9) != 32) {
      free(r);
      continue; /* not a hash this version wrote */
    }
    memcpy(r->hash, sqlite3_column_blob(st, 9), 32);
    if (table_put(d, r) != 0) {
      free(r);
      break;
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    snprintf(err, errlen, "auth.db: cannot load the tokens: %s",
             rc == SQLITE_ROW ? "out of memory" : sqlite3_errmsg(d->db));
    return -1;
  }
  return 0;
}

static int64_t count_rows(auth_db *d) {
  sqlite3_stmt *st = NULL;
  int64_t n = -1;
  if (sqlite3_prepare_v2(d->db, "SELECT count(*) FROM tokens", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

/* Insert a new token for spec; fills token_out and *info. Returns 0 or -1 with err. */
static int insert_token(auth_db *d, const auth_principal *spec, int64_t now_ns,
                        char token_out[AUTH_TOKEN_LEN + 1], auth_token_info *info, char *err,
                        size_t errlen) {
  unsigned char rnd[32];
  if (RAND_bytes(rnd, sizeof rnd) != 1) {
    snprintf(err, errlen, "cannot draw random bytes for a token");
    return -1;
  }
  memcpy(token_out, AUTH_TOKEN_PREFIX, 4);
  b64url(rnd, sizeof rnd, token_out + 4);
  OPENSSL_cleanse(rnd, sizeof rnd);
  token_rec *r = calloc(1, sizeof *r);
  if (!r) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  if (sha256(token_out, strlen(token_out), r->hash) != 0) {
    free(r);
    snprintf(err, errlen, "cannot hash the token");
    return -1;
  }
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(d->db,
                              "INSERT INTO tokens(hash,name,role,tenant,streams,type_prefixes,"
                              "created_ns) VALUES(?1,?2,?3,?4,?5,?6,?7)",
                              -1, &st, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_blob(st, 1, r->hash, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, spec->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, auth_role_name(spec->role), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, spec->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, spec->streams, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, spec->type_prefixes, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, now_ns);
    rc = sqlite3_step(st);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    snprintf(err, errlen, "auth.db: cannot store the token: %s", sqlite3_errmsg(d->db));
    free(r);
    return -1;
  }
  r->info.p = *spec;
  r->info.p.id = sqlite3_last_insert_rowid(d->db);
  r->info.created_ns = now_ns;
  if (table_put(d, r) != 0) {
    snprintf(err, errlen, "out of memory");
    free(r);
    return -1;
  }
  *info = r->info;
  return 0;
}

/* Write the bootstrap token file exclusively with mode 0600. Returns 0 or -1 with err. */
static int write_token_file(const char *path, const char *token, char *err, size_t errlen) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
    return -1;
  }
  char line[AUTH_TOKEN_LEN + 2];
  int n = snprintf(line, sizeof line, "%s\n", token);
  int ok = fchmod(fd, 0600) == 0 && write(fd, line, (size_t)n) == n && fsync(fd) == 0;
  int e = errno;
  OPENSSL_cleanse(line, sizeof line);
  if (close(fd) != 0) ok = 0;
  if (!ok) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
    unlink(path);
    return -1;
  }
  return 0;
}

int auth_db_open(const char *dir, auth_db **out, const char **bootstrap_path, char *err,
                 size_t errlen) {
  *out = NULL;
  *bootstrap_path = NULL;
  auth_db *d = calloc(1, sizeof *d);
  if (!d) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
    free(d);
    return -1;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/auth.db", dir);
  int rc = sqlite3_open_v2(path, &d->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  char *msg = NULL;
  if (rc != SQLITE_OK) {
    snprintf(err, errlen, "token database %s: %s", path,
             d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc));
    goto fail;
  }
  chmod(path, 0600);
  sqlite3_busy_timeout(d->db, 5000);
  if (sqlite3_exec(d->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
    snprintf(err, errlen, "token database %s: %s", path, msg ? msg : "cannot create the table");
    sqlite3_free(msg);
    goto fail;
  }
  if (load_active(d, err, errlen) != 0) goto fail;
  int64_t rows = count_rows(d);
  if (rows < 0) {
    snprintf(err, errlen, "token database %s: %s", path, sqlite3_errmsg(d->db));
    goto fail;
  }
  if (rows == 0) {
    snprintf(d->bootstrap_path, sizeof d->bootstrap_path, "%s/admin.token", dir);
    auth_principal spec = {.role = AUTH_ROLE_ADMIN};
    snprintf(spec.name, sizeof spec.name, "bootstrap-admin");
    char tok[AUTH_TOKEN_LEN + 1];
    auth_token_info info;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    /* Make sure the file can be created before a token nobody could read is stored. */
    if (write_token_file(d->bootstrap_path, "", err, errlen) != 0) {
      size_t k = strlen(err);
      snprintf(err + k, errlen - k,
               " (the token database is new: remove a stale admin.token to bootstrap again)");
      goto fail;
    }
    unlink(d->bootstrap_path);
    if (insert_token(d, &spec, now, tok, &info, err, errlen) != 0 ||
        write_token_file(d->bootstrap_path, tok, err, errlen) != 0) {
      OPENSSL_cleanse(tok, sizeof tok);
      goto fail;
    }
    OPENSSL_cleanse(tok, sizeof tok);
    *bootstrap_path = d->bootstrap_path;
  }
  *out = d;
  return 0;
fail:
  auth_db_close(d);
  return -1;
}

/* Write back the last_used times that changed. */
static void flush_last_used(auth_db *d) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(d->db, "UPDATE tokens SET last_used_ns=?1 WHERE id=?2", -1, &st, NULL) !=
      SQLITE_OK)
    return;
  for (size_t i = 0; i < d->nslots; i++) {
    token_rec *r = d->slots[i];
    if (!r || r->info.last_used_ns == r->persisted_last_used_ns) continue;
    sqlite3_bind_int64(st, 1, r->info.last_used_ns);
    sqlite3_bind_int64(st, 2, r->info.p.id);
    if (sqlite3_step(st) == SQLITE_DONE) r->persisted_last_used_ns = r->info.last_used_ns;
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
}

void auth_db_close(auth_db *d) {
  if (!d) return;
  if (d->db) {
    flush_last_used(d);
    sqlite3_close(d->db);
  }
  for (size_t i = 0; i < d->nslots; i++) free(d->slots[i]);
  free(d->slots);
  free(d);
}

size_t auth_db_active_count(const auth_db *d) { return d->nactive; }

int auth_db_find_by_name(const auth_db *d, const char *name, auth_principal *out) {
  int found = 0;
  for (size_t i = 0; i < d->nslots; i++) {
    const token_rec *r = d->slots[i];
    if (!r || strcmp(r->info.p.name, name) != 0) continue;
    if (found++) return -2;
    *out = r->info.p;
  }
  return found ? 0 : -1;
}

int auth_db_authenticate(auth_db *d, const char *token, size_t len, int64_t now_ns,
                         auth_principal *out) {
  if (len != AUTH_TOKEN_LEN || memcmp(token, AUTH_TOKEN_PREFIX, 4) != 0) return -1;
  unsigned char h[32];
  if (sha256(token, len, h) != 0) return -1;
  token_rec *r = table_find(d, h);
  if (!r) return -1;
  if (now_ns - r->info.last_used_ns > 60 * (int64_t)1000000000) r->info.last_used_ns = now_ns;
  *out = r->info.p;
  return 0;
}

/* Check a list of comma-separated names (no empty items, no blanks). */
static int list_valid(const char *s) {
  if (!s[0]) return 1;
  for (const char *p = s;; p++) {
    if (*p == ',' || *p == '\0') {
      if (p == s || p[-1] == ',') return 0;
      if (!*p) return 1;
    } else if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\\') {
      return 0;
    }
  }
}

int auth_db_create(auth_db *d, const auth_principal *by, const auth_principal *spec,
                   int64_t now_ns, char token_out[AUTH_TOKEN_LEN + 1], auth_token_info *info,
                   char *err, size_t errlen) {
  if ((unsigned)spec->role >= AUTH_ROLE__COUNT) {
    snprintf(err, errlen, "unknown role");
    return -1;
  }
  if (!auth_tenant_valid(spec->tenant, strlen(spec->tenant))) {
    snprintf(err, errlen,
             "invalid tenant '%.64s': a path of segments of A-Z a-z 0-9 . _ - separated by '/'",
             spec->tenant);
    return -1;
  }
  if (spec->role == AUTH_ROLE_ADMIN && spec->tenant[0]) {
    snprintf(err, errlen, "an admin token belongs to the root tenant; use domain-admin for '%.64s'",
             spec->tenant);
    return -1;
  }
  if (spec->role == AUTH_ROLE_USER && !spec->tenant[0]) {
    snprintf(err, errlen, "a user token needs a tenant");
    return -1;
  }
  if (!list_valid(spec->streams) || !list_valid(spec->type_prefixes)) {
    snprintf(err, errlen, "streams and type_prefixes are lists of non-empty names");
    return -1;
  }
  if (!auth_allows(by, AUTH_ACT_TOKENS)) {
    snprintf(err, errlen, "this token may not manage tokens");
    return -2;
  }
  if (by->role != AUTH_ROLE_ADMIN &&
      (spec->role == AUTH_ROLE_ADMIN ||
       !auth_tenant_in_subtree(spec->tenant, strlen(spec->tenant), by->tenant))) {
    snprintf(err, errlen, "a domain-admin of '%s' may only create non-admin tokens in its subtree",
             by->tenant);
    return -2;
  }
  return insert_token(d, spec, now_ns, token_out, info, err, errlen) == 0 ? 0 : -3;
}

/* 1 if `by` may see (list, revoke) a token of tenant t. */
static int manages(const auth_principal *by, const char *t) {
  if (by->role == AUTH_ROLE_ADMIN) return 1;
  if (by->role != AUTH_ROLE_DOMAIN_ADMIN) return 0;
  return auth_tenant_in_subtree(t, strlen(t), by->tenant);
}

int auth_db_revoke(auth_db *d, const auth_principal *by, int64_t id, char *err, size_t errlen) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(d->db, "SELECT tenant, revoked FROM tokens WHERE id=?1", -1, &st, NULL) !=
      SQLITE_OK) {
    snprintf(err, errlen, "auth.db: %s", sqlite3_errmsg(d->db));
    return -EIO;
  }
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  int visible = 0;
  if (rc == SQLITE_ROW) {
    const unsigned char *t = sqlite3_column_text(st, 0);
    visible = manages(by, t ? (const char *)t : "");
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    snprintf(err, errlen, "auth.db: %s", sqlite3_errmsg(d->db));
    return -EIO;
  }
  if (!visible) return -ENOENT;
  if (sqlite3_prepare_v2(d->db, "UPDATE tokens SET revoked=1 WHERE id=?1", -1, &st, NULL) !=
      SQLITE_OK) {
    snprintf(err, errlen, "auth.db: %s", sqlite3_errmsg(d->db));
    return -EIO;
  }
  sqlite3_bind_int64(st, 1, id);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    snprintf(err, errlen, "auth.db: cannot revoke: %s", sqlite3_errmsg(d->db));
    return -EIO;
  }
  free(table_remove_id(d, id));
  return 0;
}

int auth_db_list(auth_db *d, const auth_principal *by,
                 int (*fn)(void *arg, const auth_token_info *t), void *arg, char *err,
                 size_t errlen) {
  flush_last_used(d);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(d->db,
                         "SELECT id,name,role,tenant,streams,type_prefixes,created_ns,"
                         "last_used_ns,revoked FROM tokens ORDER BY id",
                         -1, &st, NULL) != SQLITE_OK) {
    snprintf(err, errlen, "auth.db: %s", sqlite3_errmsg(d->db));
    return -1;
  }
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    auth_token_info t;
    row_info(st, &t);
    if (!manages(by, t.p.tenant)) continue;
    if (fn(arg, &t) != 0) {
      rc = SQLITE_DONE;
      break;
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    snprintf(err, errlen, "auth.db: %s", sqlite3_errmsg(d->db));
    return -1;
  }
  return 0;
}

/* ---- failed-authentication slowdown ----------------------------------------------------- */

#define THROTTLE_SLOTS 1024
#define THROTTLE_DECAY_NS (600 * (int64_t)1000000000)

typedef struct throttle_entry {
  char peer[64];
  unsigned failures;
  int64_t last_ns;
} throttle_entry;

struct auth_throttle {
  throttle_entry e[THROTTLE_SLOTS]; /* direct-mapped by hash; a collision evicts */
};

static size_t peer_slot(const char *peer) {
  uint64_t h = 1469598103934665603ull;
  for (const unsigned char *p = (const unsigned char *)peer; *p; p++) h = (h ^ *p) * 1099511628211ull;
  return (size_t)(h % THROTTLE_SLOTS);
}

auth_throttle *auth_throttle_new(void) { return calloc(1, sizeof(auth_throttle)); }

void auth_throttle_free(auth_throttle *t) { free(t); }

long auth_throttle_fail(auth_throttle *t, const char *peer, int64_t now_ns) {
  throttle_entry *e = &t->e[peer_slot(peer)];
  if (strcmp(e->peer, peer) != 0 || now_ns - e->last_ns > THROTTLE_DECAY_NS) {
    snprintf(e->peer, sizeof e->peer, "%s", peer);
    e->failures = 0;
  }
  e->failures++;
  e->last_ns = now_ns;
  if (e->failures <= 3) return 0;
  unsigned k = e->failures - 4;
  long ms = k >= 6 ? 5000 : 100L << k;
  return ms > 5000 ? 5000 : ms;
}

void auth_throttle_ok(auth_throttle *t, const char *peer) {
  throttle_entry *e = &t->e[peer_slot(peer)];
  if (strcmp(e->peer, peer) == 0) e->failures = 0;
}
