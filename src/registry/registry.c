/* registry: see registry.h. Loading (registry file or directory), lookup, check, counters,
 * and the reference-counted handoff used for reloads. */
#include "registry/registry.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/timeutil.h"
#include "registry/schema_internal.h"
#include "registry/yamltree.h"

#define REGISTRY_FILE_MAX_DEPTH 32
#define SPEC_DIR_MAX_DEPTH 8 /* directory mode: how deep subdirectories are searched */

typedef struct stream_policy {
  const char *stream;
  size_t len;
  registry_policy policy;
} stream_policy;

struct registry {
  _Atomic long refs;
  arena a;                 /* strings, the registry file's tree, hash tables */
  char *path;
  registry_type *types;    /* sorted by name */
  size_t ntypes;
  uint32_t *index;         /* hash of name -> types index + 1 (0 empty) */
  uint32_t mask;
  schema_doc **docs;       /* every spec file, loaded once */
  char **doc_keys;         /* their canonical paths */
  size_t ndocs, docs_cap;
  registry_policy policy;
  stream_policy *streams;
  size_t nstreams;
  registry_counters *counters;
  _Atomic uint64_t unknown_seen;
};

/* ---- small helpers ---------------------------------------------------------------------- */

const char *registry_policy_name(registry_policy p) {
  switch (p) {
    case REGISTRY_REJECT: return "reject";
    case REGISTRY_ACCEPT: return "accept";
    case REGISTRY_ACCEPT_AND_FLAG: return "accept-and-flag";
  }
  return "reject";
}

int registry_policy_parse(const char *s, size_t n, registry_policy *out) {
  static const registry_policy all[] = {REGISTRY_REJECT, REGISTRY_ACCEPT, REGISTRY_ACCEPT_AND_FLAG};
  for (size_t i = 0; i < 3; i++) {
    const char *name = registry_policy_name(all[i]);
    if (strlen(name) == n && memcmp(name, s, n) == 0) {
      *out = all[i];
      return 0;
    }
  }
  return -1;
}

static char *path_join(const char *dir, const char *name) {
  if (name[0] == '/' || dir == NULL || dir[0] == '\0') return strdup(name);
  size_t a = strlen(dir), b = strlen(name);
  char *p = malloc(a + b + 2);
  if (!p) return NULL;
  memcpy(p, dir, a);
  size_t k = a;
  if (k && p[k - 1] != '/') p[k++] = '/';
  memcpy(p + k, name, b + 1);
  return p;
}

static char *path_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

static int is_regular_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static uint32_t name_hash(const char *s, size_t n) { return schema_hash(s, n); }

/* ---- load context ------------------------------------------------------------------------ */

typedef struct loadctx {
  registry *r;
  char *err;
  size_t errlen;
  const char *file; /* registry file (or directory) for messages */
  char **dirs;      /* spec dirs, malloc'd */
  size_t ndirs;
  registry_type *types; /* growing array (becomes r->types) */
  size_t ntypes, types_cap;
} loadctx;

static int lerr(loadctx *l, const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int lerr(loadctx *l, const char *file, int line, const char *fmt, ...) {
  char reason[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  if (line > 0) snprintf(l->err, l->errlen, "%s:%d: %s", file, line, reason);
  else snprintf(l->err, l->errlen, "%s: %s", file, reason);
  return -1;
}

static const char *astr(loadctx *l, const char *s, size_t n) {
  char *p = arena_strndup(&l->r->a, s, n);
  if (!p) lerr(l, l->file, 0, "out of memory");
  return p;
}

static int add_dir(loadctx *l, const char *base, const char *dir) {
  char *p = path_join(base, dir);
  char **nd = p ? realloc(l->dirs, (l->ndirs + 1) * sizeof *nd) : NULL;
  if (!nd) {
    free(p);
    return lerr(l, l->file, 0, "out of memory");
  }
  l->dirs = nd;
  l->dirs[l->ndirs++] = p;
  return 0;
}

/* The spec file at path, parsed once per registry (keyed by its canonical path). */
static schema_doc *get_doc(loadctx *l, const char *path) {
  registry *r = l->r;
  char *key = realpath(path, NULL);
  if (!key) {
    lerr(l, path, 0, "%s", strerror(errno));
    return NULL;
  }
  for (size_t i = 0; i < r->ndocs; i++)
    if (strcmp(r->doc_keys[i], key) == 0) {
      free(key);
      return r->docs[i];
    }
  if (r->ndocs == r->docs_cap) {
    size_t cap = r->docs_cap ? r->docs_cap * 2 : 8;
    schema_doc **nd = realloc(r->docs, cap * sizeof *nd);
    if (nd) r->docs = nd;
    char **nk = nd ? realloc(r->doc_keys, cap * sizeof *nk) : NULL;
    if (nk) r->doc_keys = nk;
    if (!nd || !nk) {
      free(key);
      lerr(l, path, 0, "out of memory");
      return NULL;
    }
    r->docs_cap = cap;
  }
  schema_error serr;
  schema_doc *d = schema_doc_load_file(path, &serr);
  if (!d) {
    free(key);
    snprintf(l->err, l->errlen, "%s", serr.message);
    return NULL;
  }
  r->docs[r->ndocs] = d;
  r->doc_keys[r->ndocs++] = key;
  return d;
}

static registry_type *new_type(loadctx *l) {
  if (l->ntypes == l->types_cap) {
    size_t cap = l->types_cap ? l->types_cap * 2 : 32;
    registry_type *nt = realloc(l->types, cap * sizeof *nt);
    if (!nt) {
      lerr(l, l->file, 0, "out of memory");
      return NULL;
    }
    l->types = nt;
    l->types_cap = cap;
  }
  registry_type *t = &l->types[l->ntypes++];
  memset(t, 0, sizeof *t);
  t->additional_properties = -1;
  t->retry_on_failure = -1;
  t->module = "";
  return t;
}

/* Compile the definition src of spec doc d as type t. */
static int compile_type(loadctx *l, registry_type *t, schema_doc *d, const json_value *src, const char *where) {
  schema_error serr;
  t->schema = schema_doc_compile(d, src, where, &serr);
  if (!t->schema) {
    if (t->registry_line > 0)
      snprintf(l->err, l->errlen, "%s (event type '%s', registered at %s:%d)", serr.message, t->name, l->file,
               t->registry_line);
    else
      snprintf(l->err, l->errlen, "%s (event type '%s')", serr.message, t->name);
    return -1;
  }
  t->schema_source = src;
  t->spec_line = (int)src->offset;
  t->spec_path = schema_doc_name(d);
  return 0;
}

/* ---- the registry file ------------------------------------------------------------------- */

static const char *vtype(const json_value *v) { return json_type_name(v->type); }

static int get_policy(loadctx *l, const json_value *v, registry_policy *out) {
  if (v->type == JSON_STRING && registry_policy_parse(v->s, v->n, out) == 0) return 0;
  if (v->type == JSON_STRING)
    return lerr(l, l->file, (int)v->offset, "unregistered: expected reject, accept or accept-and-flag, got '%s'", v->s);
  return lerr(l, l->file, (int)v->offset, "unregistered: expected reject, accept or accept-and-flag, got %s", vtype(v));
}

/* Find the spec file of {module, filename}. Returns a malloc'd path or NULL (err set). */
static char *find_spec(loadctx *l, const char *type, const char *module, const char *filename, int line) {
  if (filename[0] == '/') {
    if (is_regular_file(filename)) return strdup(filename);
    lerr(l, l->file, line, "event type '%s': spec file %s not found", type, filename);
    return NULL;
  }
  buf tried = BUF_INIT;
  int oom = 0;
  for (size_t i = 0; i < l->ndirs && !oom; i++) {
    const char *layouts[3] = {"", "swagger/", "swagger/specs/"};
    int nlayouts = module[0] ? 3 : 1;
    for (int k = 0; k < nlayouts; k++) {
      buf p = BUF_INIT;
      int rc = module[0] ? buf_printf(&p, "%s/%s/%s%s", l->dirs[i], module, layouts[k], filename)
                         : buf_printf(&p, "%s/%s", l->dirs[i], filename);
      if (rc != 0) {
        oom = 1;
        break;
      }
      if (is_regular_file(p.data)) {
        buf_free(&tried);
        return buf_steal(&p);
      }
      if (buf_printf(&tried, "%s%s", tried.len ? ", " : "", p.data) != 0) oom = 1;
      buf_free(&p);
    }
  }
  if (oom) lerr(l, l->file, line, "out of memory");
  else
    lerr(l, l->file, line, "event type '%s': spec file '%s%s%s' not found (looked for %s)", type, module,
         module[0] ? "/" : "", filename, tried.len ? tried.data : "it in no spec dir");
  buf_free(&tried);
  return NULL;
}

static int entry_string(loadctx *l, const char *type, const json_value *v, const char **out) {
  if (v->type != JSON_STRING || v->n == 0)
    return lerr(l, l->file, (int)v->offset, "event type '%s': %s must be a non-empty string, got %s", type, v->key,
                v->type == JSON_STRING ? "an empty string" : vtype(v));
  *out = v->s;
  return 0;
}

static int entry_bool(loadctx *l, const char *type, const json_value *v, int *out) {
  if (v->type == JSON_TRUE || v->type == JSON_FALSE) {
    *out = v->type == JSON_TRUE;
    return 0;
  }
  /* Magma's Python config sometimes spells booleans as strings ("True"). */
  if (v->type == JSON_STRING && (strcmp(v->s, "True") == 0 || strcmp(v->s, "true") == 0)) return *out = 1, 0;
  if (v->type == JSON_STRING && (strcmp(v->s, "False") == 0 || strcmp(v->s, "false") == 0)) return *out = 0, 0;
  return lerr(l, l->file, (int)v->offset, "event type '%s': %s must be true or false, got %s", type, v->key, vtype(v));
}

static int load_entry(loadctx *l, const json_value *e) {
  const char *type = astr(l, e->key, e->key_len);
  if (!type) return -1;
  if (e->key_len == 0) return lerr(l, l->file, (int)e->offset, "an event type name must not be empty");
  if (e->type != JSON_OBJECT)
    return lerr(l, l->file, (int)e->offset, "event type '%s': expected a mapping with module and filename, got %s",
                type, vtype(e));
  registry_type *t = new_type(l);
  if (!t) return -1;
  t->name = type;
  t->name_len = e->key_len;
  t->registry_line = (int)e->offset;
  const json_value *fname = NULL;
  for (const json_value *m = e->child; m; m = m->next) {
    const char *k = m->key;
    if (strcmp(k, "module") == 0) {
      if (entry_string(l, type, m, &t->module)) return -1;
    } else if (strcmp(k, "filename") == 0) {
      if (entry_string(l, type, m, &t->filename)) return -1;
      fname = m;
    } else if (strcmp(k, "stream") == 0) {
      if (entry_string(l, type, m, &t->stream)) return -1;
    } else if (strcmp(k, "severity") == 0) {
      int sev = -1;
      if (m->type == JSON_STRING) sev = severity_from_text(m->s, m->n);
      else if (m->type == JSON_NUMBER) {
        int64_t x;
        if (json_as_int64(m, &x) == 0 && x >= 1 && x <= 24) sev = (int)x;
      }
      if (sev < 1)
        return lerr(l, l->file, (int)m->offset,
                    "event type '%s': severity must be a name (INFO, WARN, ERROR, ...) or a number 1..24", type);
      t->severity = sev;
    } else if (strcmp(k, "retention") == 0) {
      int64_t ns = -1;
      if (m->type == JSON_STRING || m->type == JSON_NUMBER) {
        if (time_parse_duration(m->s, &ns) != 0) ns = -1;
      }
      if (ns < 0)
        return lerr(l, l->file, (int)m->offset, "event type '%s': retention must be a duration (30d, 12h, 3600), got %s",
                    type, m->type == JSON_STRING ? m->s : vtype(m));
      t->retention_ns = ns;
    } else if (strcmp(k, "additional_properties") == 0) {
      if (entry_bool(l, type, m, &t->additional_properties)) return -1;
    } else if (strcmp(k, "retry_on_failure") == 0) {
      if (entry_bool(l, type, m, &t->retry_on_failure)) return -1;
    } else {
      return lerr(l, l->file, (int)m->offset,
                  "event type '%s': unknown key '%s' (expected module, filename, stream, severity, retention, "
                  "additional_properties, retry_on_failure)",
                  type, k);
    }
  }
  if (!fname) return lerr(l, l->file, (int)e->offset, "event type '%s': missing filename", type);
  char *spec = find_spec(l, type, t->module, t->filename, (int)fname->offset);
  if (!spec) return -1;
  schema_doc *d = get_doc(l, spec);
  free(spec);
  if (!d) return -1;
  const json_value *def = schema_doc_find_definition(d, type, t->name_len);
  if (!def) {
    buf names = BUF_INIT;
    const json_value *defs = schema_doc_definitions(d);
    size_t k = 0;
    for (const json_value *m = defs ? defs->child : NULL; m && k < 12; m = m->next, k++)
      buf_printf(&names, "%s%.*s", k ? ", " : "", (int)m->key_len, m->key);
    if (defs && defs->n > 12) buf_puts(&names, ", ...");
    lerr(l, l->file, t->registry_line, "event type '%s' is not defined in %s (%s%s%s)", type, schema_doc_name(d),
         names.len ? "it defines: " : "it has no definitions", names.len ? names.data : "", "");
    buf_free(&names);
    return -1;
  }
  char where[400];
  snprintf(where, sizeof where, "definitions.%s", type);
  return compile_type(l, t, d, def, where);
}

static int load_registry_file(loadctx *l, const char *path, const registry_options *opts) {
  registry *r = l->r;
  size_t len;
  char *text = yamltree_read_file(path, &len);
  if (!text) return lerr(l, path, 0, "%s", strerror(errno));
  yamltree_error yerr;
  json_value *root = yamltree_parse_yaml(&r->a, text, len, REGISTRY_FILE_MAX_DEPTH, 0, &yerr);
  free(text);
  if (!root) return lerr(l, path, yerr.line, "%s", yerr.message);
  if (root->type != JSON_OBJECT)
    return lerr(l, path, root->type == JSON_NULL ? 0 : (int)root->offset,
                "a registry file must be a mapping with an event_registry key%s",
                root->type == JSON_NULL ? " (the file is empty)" : "");
  char *base = path_dir(path);
  if (!base) return lerr(l, path, 0, "out of memory");
  int rc = 0;
  const json_value *dirs = json_get(root, "spec_dirs");
  if (dirs) {
    if (dirs->type == JSON_STRING) {
      rc = add_dir(l, base, dirs->s);
    } else if (dirs->type == JSON_ARRAY) {
      for (const json_value *d = dirs->child; d && rc == 0; d = d->next) {
        if (d->type != JSON_STRING || d->n == 0) rc = lerr(l, path, (int)d->offset, "spec_dirs: expected a directory name");
        else rc = add_dir(l, base, d->s);
      }
    } else {
      rc = lerr(l, path, (int)dirs->offset, "spec_dirs: expected a directory or a list of them, got %s", vtype(dirs));
    }
  } else {
    rc = add_dir(l, NULL, base);
  }
  free(base);
  for (size_t i = 0; opts && i < opts->nspec_dirs && rc == 0; i++) rc = add_dir(l, NULL, opts->spec_dirs[i]);
  if (rc) return -1;

  const json_value *pol = json_get(root, "unregistered");
  if (pol && get_policy(l, pol, &r->policy)) return -1;
  const json_value *streams = json_get(root, "streams");
  if (streams && streams->type != JSON_NULL) {
    if (streams->type != JSON_OBJECT)
      return lerr(l, path, (int)streams->offset, "streams: expected a mapping of stream names, got %s", vtype(streams));
    r->streams = arena_calloc(&r->a, (streams->n ? streams->n : 1) * sizeof *r->streams);
    if (!r->streams) return lerr(l, path, 0, "out of memory");
    for (const json_value *s = streams->child; s; s = s->next) {
      if (s->type != JSON_OBJECT)
        return lerr(l, path, (int)s->offset, "streams.%s: expected a mapping (unregistered: ...), got %s", s->key,
                    vtype(s));
      stream_policy *sp = &r->streams[r->nstreams++];
      sp->stream = s->key;
      sp->len = s->key_len;
      sp->policy = r->policy;
      for (const json_value *m = s->child; m; m = m->next) {
        if (strcmp(m->key, "unregistered") == 0) {
          if (get_policy(l, m, &sp->policy)) return -1;
        } else {
          return lerr(l, path, (int)m->offset, "streams.%s: unknown key '%s' (expected unregistered)", s->key, m->key);
        }
      }
    }
    /* A stream without its own `unregistered` follows the global one, wherever it is set. */
  }
  const json_value *reg = json_get(root, "event_registry");
  if (!reg) return lerr(l, path, 0, "no event_registry key: nothing is registered");
  if (reg->type == JSON_NULL) return 0;
  if (reg->type != JSON_OBJECT)
    return lerr(l, path, (int)reg->offset, "event_registry: expected a mapping of event types, got %s", vtype(reg));
  for (const json_value *e = reg->child; e; e = e->next)
    if (load_entry(l, e)) return -1;
  return 0;
}

/* ---- a directory of spec files -------------------------------------------------------------- */

typedef struct file_list {
  char **paths;
  size_t n, cap;
} file_list;

static int spec_name(const char *n) {
  size_t len = strlen(n);
  return (len > 4 && strcmp(n + len - 4, ".yml") == 0) || (len > 5 && strcmp(n + len - 5, ".yaml") == 0) ||
         (len > 5 && strcmp(n + len - 5, ".json") == 0);
}

static int list_specs(loadctx *l, const char *dir, int depth, file_list *fl) {
  DIR *dp = opendir(dir);
  if (!dp) return lerr(l, dir, 0, "%s", strerror(errno));
  int rc = 0;
  struct dirent *de;
  while (rc == 0 && (de = readdir(dp)) != NULL) {
    if (de->d_name[0] == '.') continue;
    char *p = path_join(dir, de->d_name);
    if (!p) {
      rc = lerr(l, dir, 0, "out of memory");
      break;
    }
    struct stat st;
    if (stat(p, &st) != 0) {
      free(p);
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      if (depth < SPEC_DIR_MAX_DEPTH) rc = list_specs(l, p, depth + 1, fl);
      free(p);
    } else if (S_ISREG(st.st_mode) && spec_name(de->d_name)) {
      if (fl->n == fl->cap) {
        size_t cap = fl->cap ? fl->cap * 2 : 32;
        char **np = realloc(fl->paths, cap * sizeof *np);
        if (!np) {
          free(p);
          rc = lerr(l, dir, 0, "out of memory");
          break;
        }
        fl->paths = np;
        fl->cap = cap;
      }
      fl->paths[fl->n++] = p;
    } else {
      free(p);
    }
  }
  closedir(dp);
  return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int load_directory(loadctx *l, const char *dir) {
  file_list fl = {0};
  int rc = list_specs(l, dir, 0, &fl);
  if (rc == 0) qsort(fl.paths, fl.n, sizeof *fl.paths, cmp_str);
  size_t dlen = strlen(dir);
  for (size_t i = 0; i < fl.n && rc == 0; i++) {
    schema_doc *d = get_doc(l, fl.paths[i]);
    if (!d) {
      rc = -1;
      break;
    }
    const json_value *root = schema_doc_root(d);
    if (root->type == JSON_OBJECT && json_get(root, "event_registry")) continue; /* a registry file */
    const char *rel = fl.paths[i] + (strncmp(fl.paths[i], dir, dlen) == 0 ? dlen : 0);
    while (*rel == '/') rel++;
    const char *relname = astr(l, rel, strlen(rel));
    if (!relname) {
      rc = -1;
      break;
    }
    const json_value *defs = schema_doc_definitions(d);
    if (defs) {
      for (const json_value *m = defs->child; m && rc == 0; m = m->next) {
        registry_type *t = new_type(l);
        if (!t) {
          rc = -1;
          break;
        }
        t->name = m->key;
        t->name_len = m->key_len;
        t->filename = relname;
        char where[400];
        snprintf(where, sizeof where, "definitions.%s", m->key);
        rc = compile_type(l, t, d, m, where);
      }
    } else if (!schema_doc_is_swagger(d) && !json_get(root, "openapi")) {
      /* A JSON Schema without definitions: one type named after the file. */
      const char *base = strrchr(rel, '/');
      base = base ? base + 1 : rel;
      const char *dot = strrchr(base, '.');
      registry_type *t = new_type(l);
      const char *name = t ? astr(l, base, (size_t)(dot - base)) : NULL;
      if (!name) {
        rc = -1;
        break;
      }
      t->name = name;
      t->name_len = (size_t)(dot - base);
      t->filename = relname;
      rc = compile_type(l, t, d, root, "(root)");
    }
  }
  for (size_t i = 0; i < fl.n; i++) free(fl.paths[i]);
  free(fl.paths);
  return rc;
}

/* ---- finishing --------------------------------------------------------------------------- */

static int cmp_type(const void *a, const void *b) {
  const registry_type *x = a, *y = b;
  size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
  int c = memcmp(x->name, y->name, n);
  if (c) return c;
  return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

typedef struct name_set {
  const char **names;
  uint32_t *lens;
  uint32_t mask;
} name_set;

static int collect_name(void *ctx, const char *name, size_t len) {
  buf *b = ctx; /* (ptr, len) pairs */
  if (buf_append(b, &name, sizeof name) || buf_append(b, &len, sizeof len)) return -1;
  return 0;
}

/* Build the closed-root name set of t (additional_properties: false). */
static int build_closed(loadctx *l, registry_type *t) {
  buf pairs = BUF_INIT;
  if (schema_root_property_names(t->schema, collect_name, &pairs) != 0) {
    buf_free(&pairs);
    return lerr(l, l->file, 0, "out of memory");
  }
  size_t n = pairs.len / (sizeof(const char *) + sizeof(size_t));
  uint32_t size = 8;
  while (size < n * 2 + 2) size *= 2;
  const char **names = arena_calloc(&l->r->a, size * sizeof *names);
  uint32_t *lens = arena_calloc(&l->r->a, size * sizeof *lens);
  if (!names || !lens) {
    buf_free(&pairs);
    return lerr(l, l->file, 0, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    const char *name;
    size_t len;
    memcpy(&name, pairs.data + i * (sizeof name + sizeof len), sizeof name);
    memcpy(&len, pairs.data + i * (sizeof name + sizeof len) + sizeof name, sizeof len);
    uint32_t h = name_hash(name, len) & (size - 1);
    while (names[h] && !(lens[h] == len && memcmp(names[h], name, len) == 0)) h = (h + 1) & (size - 1);
    names[h] = name;
    lens[h] = (uint32_t)len;
  }
  buf_free(&pairs);
  t->closed_names = names;
  t->closed_lens = lens;
  t->closed_mask = size - 1;
  return 0;
}

static int finish(loadctx *l) {
  registry *r = l->r;
  r->types = l->types;
  r->ntypes = l->ntypes;
  l->types = NULL;
  if (r->ntypes) qsort(r->types, r->ntypes, sizeof *r->types, cmp_type);
  for (size_t i = 1; i < r->ntypes; i++) {
    const registry_type *a = &r->types[i - 1], *b = &r->types[i];
    if (a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0)
      return lerr(l, b->spec_path, b->spec_line, "event type '%s' is defined twice (also at %s:%d)", b->name,
                  a->spec_path, a->spec_line);
  }
  r->counters = calloc(r->ntypes ? r->ntypes : 1, sizeof *r->counters);
  uint32_t size = 16;
  while (size < r->ntypes * 2) size *= 2;
  r->index = arena_calloc(&r->a, size * sizeof *r->index);
  if (!r->counters || !r->index) return lerr(l, l->file, 0, "out of memory");
  r->mask = size - 1;
  for (size_t i = 0; i < r->ntypes; i++) {
    registry_type *t = &r->types[i];
    t->counters = &r->counters[i];
    uint32_t h = name_hash(t->name, t->name_len) & r->mask;
    while (r->index[h]) h = (h + 1) & r->mask;
    r->index[h] = (uint32_t)i + 1;
    if (t->additional_properties == 0 && build_closed(l, t)) return -1;
  }
  return 0;
}

static void registry_free(registry *r) {
  if (!r) return;
  for (size_t i = 0; i < r->ndocs; i++) {
    schema_doc_free(r->docs[i]);
    free(r->doc_keys[i]);
  }
  free(r->docs);
  free(r->doc_keys);
  free(r->types);
  free(r->counters);
  free(r->path);
  arena_free(&r->a);
  free(r);
}

/* Append the configuration's per-stream policies for streams the file does not name. */
static int add_option_streams(loadctx *l, const registry_options *opts) {
  registry *r = l->r;
  stream_policy *sp = arena_calloc(&r->a, (r->nstreams + opts->nstream_policies) * sizeof *sp);
  if (!sp) return lerr(l, r->path, 0, "out of memory");
  if (r->nstreams) memcpy(sp, r->streams, r->nstreams * sizeof *sp);
  size_t n = r->nstreams;
  for (size_t i = 0; i < opts->nstream_policies; i++) {
    const char *name = opts->stream_policies[i].stream;
    size_t len = strlen(name);
    int named = 0;
    for (size_t j = 0; j < r->nstreams && !named; j++)
      named = sp[j].len == len && memcmp(sp[j].stream, name, len) == 0;
    if (named) continue;
    char *copy = arena_strndup(&r->a, name, len);
    if (!copy) return lerr(l, r->path, 0, "out of memory");
    sp[n++] = (stream_policy){copy, len, opts->stream_policies[i].policy};
  }
  r->streams = sp;
  r->nstreams = n;
  return 0;
}

registry *registry_load(const char *path, const registry_options *opts, char *err, size_t errlen) {
  if (errlen) err[0] = '\0';
  registry *r = calloc(1, sizeof *r);
  if (!r) {
    snprintf(err, errlen, "%s: out of memory", path);
    return NULL;
  }
  atomic_init(&r->refs, 1);
  atomic_init(&r->unknown_seen, 0);
  arena_init(&r->a, 16 * 1024);
  r->policy = opts ? opts->default_policy : REGISTRY_REJECT;
  r->path = strdup(path);
  loadctx l = {r, err, errlen, path, NULL, 0, NULL, 0, 0};
  int rc;
  struct stat st;
  if (!r->path) rc = lerr(&l, path, 0, "out of memory");
  else if (stat(path, &st) != 0) rc = lerr(&l, path, 0, "%s", strerror(errno));
  else if (S_ISDIR(st.st_mode)) rc = load_directory(&l, path);
  else rc = load_registry_file(&l, path, opts);
  if (rc == 0 && opts && opts->nstream_policies) rc = add_option_streams(&l, opts);
  if (rc == 0) rc = finish(&l);
  for (size_t i = 0; i < l.ndirs; i++) free(l.dirs[i]);
  free(l.dirs);
  free(l.types);
  if (rc) {
    registry_free(r);
    return NULL;
  }
  return r;
}

/* ---- references and handoff ------------------------------------------------------------- */

registry *registry_ref(registry *r) {
  if (r) atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
  return r;
}

void registry_unref(registry *r) {
  if (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) registry_free(r);
}

int registry_holder_init(registry_holder *h, registry *r) {
  h->current = r;
  return pthread_mutex_init(&h->mu, NULL) == 0 ? 0 : -1;
}

registry *registry_holder_get(registry_holder *h) {
  pthread_mutex_lock(&h->mu);
  registry *r = registry_ref(h->current);
  pthread_mutex_unlock(&h->mu);
  return r;
}

void registry_holder_set(registry_holder *h, registry *r) {
  pthread_mutex_lock(&h->mu);
  registry *old = h->current;
  h->current = r;
  pthread_mutex_unlock(&h->mu);
  registry_unref(old);
}

void registry_holder_destroy(registry_holder *h) {
  registry_unref(h->current);
  h->current = NULL;
  pthread_mutex_destroy(&h->mu);
}

/* ---- lookups and checks ----------------------------------------------------------------- */

const char *registry_path(const registry *r) { return r->path; }
size_t registry_spec_count(const registry *r) { return r->ndocs; }
const char *registry_spec_path(const registry *r, size_t i) { return i < r->ndocs ? schema_doc_name(r->docs[i]) : NULL; }
size_t registry_type_count(const registry *r) { return r->ntypes; }
const registry_type *registry_type_at(const registry *r, size_t i) { return i < r->ntypes ? &r->types[i] : NULL; }
uint64_t registry_type_seen(const registry_type *t) { return atomic_load_explicit(&t->counters->seen, memory_order_relaxed); }
uint64_t registry_type_invalid(const registry_type *t) {
  return atomic_load_explicit(&t->counters->invalid, memory_order_relaxed);
}
uint64_t registry_unknown_seen(const registry *r) { return atomic_load_explicit(&r->unknown_seen, memory_order_relaxed); }

const registry_type *registry_lookup(const registry *r, const char *type, size_t len) {
  if (!r->ntypes) return NULL;
  for (uint32_t h = name_hash(type, len) & r->mask;; h = (h + 1) & r->mask) {
    uint32_t k = r->index[h];
    if (!k) return NULL;
    const registry_type *t = &r->types[k - 1];
    if (t->name_len == len && schema_key_eq(t->name, type, len)) return t;
  }
}

registry_policy registry_policy_for(const registry *r, const char *stream, size_t stream_len) {
  for (size_t i = 0; stream && i < r->nstreams; i++)
    if (r->streams[i].len == stream_len && memcmp(r->streams[i].stream, stream, stream_len) == 0)
      return r->streams[i].policy;
  return r->policy;
}

static int closed_has(const registry_type *t, const char *k, uint32_t len) {
  for (uint32_t h = name_hash(k, len) & t->closed_mask;; h = (h + 1) & t->closed_mask) {
    if (!t->closed_names[h]) return 0;
    if (t->closed_lens[h] == len && memcmp(t->closed_names[h], k, len) == 0) return 1;
  }
}

registry_verdict registry_check(const registry *r, const char *stream, size_t stream_len, const char *type,
                                size_t type_len, const json_value *data, const registry_type **type_out,
                                evd_field_error *err) {
  return registry_check_ex(r, stream, stream_len, type, type_len, data, type_out, err, 0);
}

registry_policy registry_default_policy(const registry *r) { return r->policy; }

size_t registry_stream_policy_count(const registry *r) { return r->nstreams; }

const char *registry_stream_policy_at(const registry *r, size_t i, registry_policy *policy) {
  if (i >= r->nstreams) return NULL;
  if (policy) *policy = r->streams[i].policy;
  return r->streams[i].stream;
}

registry_verdict registry_check_ex(const registry *r, const char *stream, size_t stream_len, const char *type,
                                   size_t type_len, const json_value *data, const registry_type **type_out,
                                   evd_field_error *err, int flags) {
  const int count = !(flags & REGISTRY_CHECK_NO_COUNT);
  const registry_type *t = registry_lookup(r, type, type_len);
  if (type_out) *type_out = t;
  if (!t) {
    if (count) atomic_fetch_add_explicit(&((registry *)r)->unknown_seen, 1, memory_order_relaxed);
    switch (registry_policy_for(r, stream, stream_len)) {
      case REGISTRY_ACCEPT: return REGISTRY_UNKNOWN_ACCEPTED;
      case REGISTRY_ACCEPT_AND_FLAG: return REGISTRY_UNKNOWN_FLAGGED;
      case REGISTRY_REJECT: break;
    }
    snprintf(err->field, sizeof err->field, "type");
    snprintf(err->reason, sizeof err->reason, "event type '%.*s' is not registered, please add it to the event registry",
             (int)(type_len > 128 ? 128 : type_len), type);
    return REGISTRY_UNKNOWN_REJECTED;
  }
  return registry_check_type(t, data, err, flags);
}

registry_verdict registry_check_type(const registry_type *t, const json_value *data, evd_field_error *err, int flags) {
  const int count = !(flags & REGISTRY_CHECK_NO_COUNT);
  if (count) atomic_fetch_add_explicit(&t->counters->seen, 1, memory_order_relaxed);
  schema_validate_opts o = {1, 0, t->additional_properties == 1, 0};
  size_t nerr = schema_validate(t->schema, data, "data", &o, err);
  if (nerr == 0 && t->closed_mask && data && data->type == JSON_OBJECT) {
    for (const json_value *m = data->child; m; m = m->next)
      if (!closed_has(t, m->key, m->key_len)) {
        schema_path p = {NULL, m->key, m->key_len, 0};
        schema_path_render("data", &p, err->field, sizeof err->field);
        snprintf(err->reason, sizeof err->reason, "additional property not allowed");
        nerr = 1;
        break;
      }
  }
  if (nerr) {
    if (count) atomic_fetch_add_explicit(&t->counters->invalid, 1, memory_order_relaxed);
    return REGISTRY_INVALID;
  }
  return REGISTRY_VALID;
}

void registry_carry_counts(registry *new_reg, const registry *old_reg) {
  for (size_t i = 0; i < new_reg->ntypes; i++) {
    registry_type *t = &new_reg->types[i];
    const registry_type *o = registry_lookup(old_reg, t->name, t->name_len);
    if (!o) continue;
    atomic_fetch_add_explicit(&t->counters->seen, registry_type_seen(o), memory_order_relaxed);
    atomic_fetch_add_explicit(&t->counters->invalid, registry_type_invalid(o), memory_order_relaxed);
  }
  atomic_fetch_add_explicit(&new_reg->unknown_seen, registry_unknown_seen(old_reg), memory_order_relaxed);
}
