/* schema_compile: spec files -> compiled schema nodes (see schema.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/schema_internal.h"
#include "registry/yamltree.h"

#define SPEC_MAX_DEPTH 128      /* nesting of a spec file */
#define COMPILE_MAX_DEPTH 256   /* nested subschemas while compiling */

typedef struct memo_entry {
  const json_value *src;
  schema_node *node;
} memo_entry;

struct schema_doc {
  arena a;
  char *name;
  json_value *root;
  int swagger;    /* top-level `swagger` key */
  int openapi;    /* top-level `openapi` key */
  int strict_int; /* integer = no fraction/exponent in the text */
  const json_value *defs;
  memo_entry *memo; /* open addressing on src pointer */
  size_t memo_cap, memo_n;
  uint32_t compile_gen;
  const char *defs_where; /* "definitions", "$defs" or "components.schemas" */
  int failed;             /* a compile failed: the memo may hold half-built nodes */
};

/* ---- documents ------------------------------------------------------------------------- */

static void doc_error(schema_error *err, const char *name, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void doc_error(schema_error *err, const char *name, int line, const char *fmt, ...) {
  char reason[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  err->line = line;
  if (line > 0) snprintf(err->message, sizeof err->message, "%s:%d: %s", name, line, reason);
  else snprintf(err->message, sizeof err->message, "%s: %s", name, reason);
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

schema_doc *schema_doc_parse(const char *name, const char *text, size_t len, schema_format fmt, schema_error *err) {
  err->line = 0;
  err->message[0] = '\0';
  schema_doc *d = calloc(1, sizeof *d);
  if (!d) {
    doc_error(err, name, 0, "out of memory");
    return NULL;
  }
  arena_init(&d->a, 64 * 1024);
  d->name = strdup(name);
  if (!d->name) {
    doc_error(err, name, 0, "out of memory");
    schema_doc_free(d);
    return NULL;
  }
  if (fmt == SCHEMA_AUTO) fmt = ends_with(name, ".json") ? SCHEMA_JSON : SCHEMA_YAML;
  yamltree_error yerr;
  d->root = fmt == SCHEMA_JSON ? yamltree_parse_json(&d->a, text, len, SPEC_MAX_DEPTH, &yerr)
                               : yamltree_parse_yaml(&d->a, text, len, SPEC_MAX_DEPTH, 0, &yerr);
  if (!d->root) {
    doc_error(err, name, yerr.line, "%s", yerr.message);
    schema_doc_free(d);
    return NULL;
  }
  if (d->root->type == JSON_NULL) {
    doc_error(err, name, 0, "the file is empty");
    schema_doc_free(d);
    return NULL;
  }
  if (d->root->type != JSON_OBJECT && d->root->type != JSON_TRUE && d->root->type != JSON_FALSE) {
    doc_error(err, name, (int)d->root->offset, "a spec file must hold a mapping (Swagger or JSON Schema), not %s",
              json_type_name(d->root->type));
    schema_doc_free(d);
    return NULL;
  }
  if (d->root->type == JSON_OBJECT) {
    d->swagger = json_get(d->root, "swagger") != NULL;
    d->openapi = json_get(d->root, "openapi") != NULL;
    const json_value *sch = json_get(d->root, "$schema");
    int old_draft = sch && sch->type == JSON_STRING && (strstr(sch->s, "draft-04") || strstr(sch->s, "draft-03"));
    d->strict_int = d->swagger || d->openapi || old_draft;
    const char *which = "definitions";
    const json_value *defs = json_get(d->root, "definitions");
    if (!defs) defs = json_get(d->root, which = "$defs");
    if (!defs) {
      const json_value *comp = json_get(d->root, "components");
      if (comp && comp->type == JSON_OBJECT) defs = json_get(comp, "schemas");
      which = "components.schemas";
    }
    d->defs_where = which;
    if (defs && defs->type != JSON_OBJECT) {
      doc_error(err, name, (int)defs->offset, "%s must be a mapping of names to schemas, not %s", which,
                json_type_name(defs->type));
      schema_doc_free(d);
      return NULL;
    }
    d->defs = defs;
  }
  return d;
}

schema_doc *schema_doc_load_file(const char *path, schema_error *err) {
  size_t len;
  char *text = yamltree_read_file(path, &len);
  if (!text) {
    doc_error(err, path, 0, "%s", strerror(errno));
    return NULL;
  }
  schema_doc *d = schema_doc_parse(path, text, len, SCHEMA_AUTO, err);
  free(text); /* the tree holds copies of every string */
  return d;
}

void schema_doc_free(schema_doc *d) {
  if (!d) return;
  arena_free(&d->a);
  free(d->memo);
  free(d->name);
  free(d);
}

const char *schema_doc_name(const schema_doc *d) { return d->name; }
int schema_doc_is_swagger(const schema_doc *d) { return d->swagger; }
const json_value *schema_doc_definitions(const schema_doc *d) { return d->defs; }
const json_value *schema_doc_root(const schema_doc *d) { return d->root; }
int schema_node_line(const schema_node *s) { return (int)s->line; }

const json_value *schema_doc_find_definition(const schema_doc *d, const char *name, size_t len) {
  if (!d->defs) return NULL;
  for (const json_value *m = d->defs->child; m; m = m->next)
    if (m->key_len == len && memcmp(m->key, name, len) == 0) return m;
  return NULL;
}

/* ---- memo: source node -> compiled node ------------------------------------------------- */

static size_t ptr_hash(const void *p) {
  uintptr_t x = (uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return (size_t)x;
}

static schema_node *memo_get(const schema_doc *d, const json_value *src) {
  if (!d->memo_cap) return NULL;
  for (size_t i = ptr_hash(src) & (d->memo_cap - 1);; i = (i + 1) & (d->memo_cap - 1)) {
    if (!d->memo[i].src) return NULL;
    if (d->memo[i].src == src) return d->memo[i].node;
  }
}

static int memo_put(schema_doc *d, const json_value *src, schema_node *node) {
  if ((d->memo_n + 1) * 2 > d->memo_cap) {
    size_t cap = d->memo_cap ? d->memo_cap * 2 : 64;
    memo_entry *m = calloc(cap, sizeof *m);
    if (!m) return -1;
    for (size_t k = 0; k < d->memo_cap; k++) {
      if (!d->memo[k].src) continue;
      size_t i = ptr_hash(d->memo[k].src) & (cap - 1);
      while (m[i].src) i = (i + 1) & (cap - 1);
      m[i] = d->memo[k];
    }
    free(d->memo);
    d->memo = m;
    d->memo_cap = cap;
  }
  size_t i = ptr_hash(src) & (d->memo_cap - 1);
  while (d->memo[i].src) i = (i + 1) & (d->memo_cap - 1);
  d->memo[i] = (memo_entry){src, node};
  d->memo_n++;
  return 0;
}

/* ---- compile context ------------------------------------------------------------------- */

typedef struct pending_ref {
  schema_node *node;
  const json_value *target;
  const char *where; /* arena string naming the target in messages */
} pending_ref;

typedef struct cctx {
  schema_doc *d;
  schema_error *err;
  const char *where; /* root name of paths in messages */
  const char *root_where; /* the name given to schema_doc_compile */
  int failed;
  int depth;
  pending_ref *pend;
  size_t npend, pend_cap;
  schema_node **fresh; /* nodes made by this compile call */
  size_t nfresh, fresh_cap;
} cctx;

static void *cfail(cctx *c, const json_value *at, const schema_path *p, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void *cfail(cctx *c, const json_value *at, const schema_path *p, const char *fmt, ...) {
  if (c->failed) return NULL;
  c->failed = 1;
  char reason[400], path[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  schema_path_render(c->where, p, path, sizeof path);
  doc_error(c->err, c->d->name, at ? (int)at->offset : 0, "%s: %s", path, reason);
  return NULL;
}

static void *oom(cctx *c, const json_value *at) { return cfail(c, at, NULL, "out of memory"); }

/* Type name for messages about the spec itself ("got string"). */
static const char *src_type(const json_value *v) {
  if (v->type == JSON_NUMBER) return json_is_integer(v) ? "integer" : "number";
  return json_type_name(v->type);
}

static schema_node *compile(cctx *c, const json_value *src, const schema_path *at);

/* ---- JSON pointers --------------------------------------------------------------------- */

static int unhex(int ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f') return (ch | 0x20) - 'a' + 10;
  return -1;
}

/* Resolve "#", "#/a/b~1c/0" in the document. Returns the node or NULL with *why set. */
static const json_value *resolve_ref(const schema_doc *d, const char *ref, size_t n, const char **why) {
  if (n == 0 || ref[0] != '#') {
    *why = "only references within the same file (\"#/...\") are supported";
    return NULL;
  }
  const json_value *cur = d->root;
  size_t i = 1;
  if (i < n && ref[i] != '/') {
    *why = "the fragment must be a JSON pointer (\"#/definitions/name\")";
    return NULL;
  }
  char seg[512];
  while (i < n) {
    i++; /* the '/' */
    size_t sl = 0;
    while (i < n && ref[i] != '/') {
      int ch = (unsigned char)ref[i++];
      if (ch == '%' && i + 1 < n && unhex(ref[i]) >= 0 && unhex(ref[i + 1]) >= 0) {
        ch = unhex(ref[i]) * 16 + unhex(ref[i + 1]);
        i += 2;
      } else if (ch == '~' && i < n && (ref[i] == '0' || ref[i] == '1')) {
        ch = ref[i++] == '0' ? '~' : '/';
      }
      if (sl + 1 >= sizeof seg) {
        *why = "a pointer segment is too long";
        return NULL;
      }
      seg[sl++] = (char)ch;
    }
    seg[sl] = '\0';
    if (cur->type == JSON_OBJECT) {
      const json_value *m = cur->child;
      while (m && !(m->key_len == sl && memcmp(m->key, seg, sl) == 0)) m = m->next;
      cur = m;
    } else if (cur->type == JSON_ARRAY) {
      char *end;
      unsigned long idx = strtoul(seg, &end, 10);
      if (sl == 0 || *end || (seg[0] == '0' && sl > 1) || seg[0] == '-' || seg[0] == '+') {
        cur = NULL;
      } else {
        const json_value *m = cur->child;
        while (m && idx--) m = m->next;
        cur = m;
      }
    } else {
      cur = NULL;
    }
    if (!cur) {
      *why = "it points to nothing in this file";
      return NULL;
    }
  }
  return cur;
}

/* ---- keyword values -------------------------------------------------------------------- */

enum {
  K_REF, K_TYPE, K_NULLABLE, K_XNULLABLE, K_ENUM, K_CONST, K_MINIMUM, K_MAXIMUM, K_XMIN, K_XMAX,
  K_MULTIPLE, K_MINLEN, K_MAXLEN, K_PATTERN, K_FORMAT, K_ITEMS, K_ADDITEMS, K_MINITEMS, K_MAXITEMS,
  K_UNIQUE, K_CONTAINS, K_PROPS, K_REQUIRED, K_ADDPROPS, K_PATPROPS, K_PROPNAMES, K_MINPROPS,
  K_MAXPROPS, K_DEPS, K_ALLOF, K_ANYOF, K_ONEOF, K_NOT, K_IF, K_THEN, K_ELSE, K__COUNT
};

static const char *const KEYWORDS[K__COUNT] = {
    "$ref", "type", "nullable", "x-nullable", "enum", "const", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "format", "items",
    "additionalItems", "minItems", "maxItems", "uniqueItems", "contains", "properties", "required",
    "additionalProperties", "patternProperties", "propertyNames", "minProperties", "maxProperties",
    "dependencies", "allOf", "anyOf", "oneOf", "not", "if", "then", "else"};

static int keyword_id(const char *k, size_t n) {
  for (int i = 0; i < K__COUNT; i++)
    if (strlen(KEYWORDS[i]) == n && memcmp(KEYWORDS[i], k, n) == 0) return i;
  return -1;
}

static schema_path kw_path(const schema_path *up, int kw) {
  return (schema_path){up, KEYWORDS[kw], (uint32_t)strlen(KEYWORDS[kw]), 0};
}

static int get_bool(cctx *c, const json_value *v, const schema_path *p, int *out) {
  if (v->type == JSON_TRUE || v->type == JSON_FALSE) {
    *out = v->type == JSON_TRUE;
    return 0;
  }
  cfail(c, v, p, "expected a boolean, got %s", src_type(v));
  return -1;
}

static int get_bound(cctx *c, const json_value *v, const schema_path *p, num_bound *b) {
  if (v->type != JSON_NUMBER) {
    cfail(c, v, p, "expected a number, got %s", src_type(v));
    return -1;
  }
  b->present = 1;
  b->is_int = json_as_int64(v, &b->i) == 0;
  if (json_as_double(v, &b->d) != 0) {
    cfail(c, v, p, "invalid number '%s'", v->s);
    return -1;
  }
  b->text = v->s;
  return 0;
}

/* A non-negative integer (1.0 allowed); values past UINT32_MAX saturate, which changes
 * nothing since no JSON text holds that many characters, items or members. */
static int get_count(cctx *c, const json_value *v, const schema_path *p, uint32_t *out) {
  double d;
  if (v->type != JSON_NUMBER || json_as_double(v, &d) != 0 || !schema_number_is_integer(v, 0) || d < 0) {
    if (v->type == JSON_NUMBER) cfail(c, v, p, "expected a non-negative integer, got %s", v->s);
    else cfail(c, v, p, "expected a non-negative integer, got %s", src_type(v));
    return -1;
  }
  *out = d >= 4294967295.0 ? UINT32_MAX : (uint32_t)d;
  return 0;
}

static int type_bit(const json_value *v) {
  static const struct {
    const char *name;
    int bit;
  } T[] = {{"null", ST_NULL},     {"boolean", ST_BOOLEAN}, {"integer", ST_INTEGER}, {"number", ST_NUMBER},
           {"string", ST_STRING}, {"array", ST_ARRAY},     {"object", ST_OBJECT}};
  if (v->type != JSON_STRING) return 0;
  for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
    if (strcmp(v->s, T[i].name) == 0 && strlen(T[i].name) == v->n) return T[i].bit;
  return -1;
}

static int get_types(cctx *c, const json_value *v, const schema_path *p, uint32_t *out) {
  *out = 0;
  if (v->type == JSON_STRING) {
    int b = type_bit(v);
    if (b < 0) {
      cfail(c, v, p, "unknown type '%s' (expected null, boolean, integer, number, string, array or object)", v->s);
      return -1;
    }
    *out = (uint32_t)b;
    return 0;
  }
  if (v->type != JSON_ARRAY) {
    cfail(c, v, p, "expected a type name or an array of them, got %s", src_type(v));
    return -1;
  }
  if (v->n == 0) {
    cfail(c, v, p, "the array of types is empty");
    return -1;
  }
  uint32_t i = 0;
  for (const json_value *e = v->child; e; e = e->next, i++) {
    schema_path ep = {p, NULL, 0, i};
    int b = type_bit(e);
    if (b <= 0) {
      if (e->type == JSON_STRING) cfail(c, e, &ep, "unknown type '%s'", e->s);
      else cfail(c, e, &ep, "expected a type name, got %s", src_type(e));
      return -1;
    }
    if (*out & (uint32_t)b) {
      cfail(c, e, &ep, "type '%s' listed twice", e->s);
      return -1;
    }
    *out |= (uint32_t)b;
  }
  return 0;
}

static schema_fmt format_id(const json_value *v) {
  static const struct {
    const char *name;
    schema_fmt f;
  } F[] = {{"date-time", FMT_DATE_TIME}, {"date", FMT_DATE}, {"ipv4", FMT_IPV4}, {"ipv6", FMT_IPV6},
           {"uuid", FMT_UUID},           {"byte", FMT_BYTE}, {"email", FMT_EMAIL}};
  for (size_t i = 0; i < sizeof F / sizeof F[0]; i++)
    if (strlen(F[i].name) == v->n && memcmp(F[i].name, v->s, v->n) == 0) return F[i].f;
  return FMT_NONE; /* an annotation only (int32, int64, double, password, hostname, ...) */
}

static const evd_regex *get_regex(cctx *c, const json_value *v, const schema_path *p, const char *what) {
  if (v->type != JSON_STRING) return cfail(c, v, p, "expected a regular expression string, got %s", src_type(v));
  char msg[200];
  const evd_regex *re = regex_compile(&c->d->a, v->s, v->n, msg, sizeof msg);
  if (!re) return cfail(c, v, p, "invalid %s '%.80s': %s", what, v->s, msg);
  return re;
}

/* A non-empty array of schemas (allOf/anyOf/oneOf, tuple items). */
static const schema_node **get_schema_array(cctx *c, const json_value *v, const schema_path *p, uint32_t *n,
                                            int allow_empty) {
  if (v->type != JSON_ARRAY) return cfail(c, v, p, "expected an array of schemas, got %s", src_type(v));
  if (v->n == 0 && !allow_empty) return cfail(c, v, p, "expected at least one schema, got an empty array");
  const schema_node **arr = arena_alloc(&c->d->a, (v->n ? v->n : 1) * sizeof *arr);
  if (!arr) return oom(c, v);
  uint32_t i = 0;
  for (const json_value *e = v->child; e; e = e->next, i++) {
    schema_path ep = {p, NULL, 0, i};
    arr[i] = compile(c, e, &ep);
    if (!arr[i]) return NULL;
  }
  *n = v->n;
  return arr;
}

static const schema_node *sub(cctx *c, const json_value *v, const schema_path *up, int kw) {
  schema_path p = kw_path(up, kw);
  return compile(c, v, &p);
}

/* properties + required -> the property table (with a hash index past 8 entries). */
static int build_props(cctx *c, schema_node *n, const json_value *props, const json_value *req,
                       const schema_path *at) {
  arena *a = &c->d->a;
  uint32_t cap = (props ? props->n : 0) + (req ? req->n : 0);
  if (cap == 0) return 0;
  n->props = arena_calloc(a, cap * sizeof *n->props);
  if (!n->props) return oom(c, props ? props : req), -1;
  if (props) {
    schema_path pp = kw_path(at, K_PROPS);
    for (const json_value *m = props->child; m; m = m->next) {
      schema_path mp = {&pp, m->key, m->key_len, 0};
      const schema_node *s = compile(c, m, &mp);
      if (!s) return -1;
      n->props[n->nprops++] = (schema_prop){m->key, m->key_len, schema_hash(m->key, m->key_len), s, 0};
    }
  }
  if (req) {
    schema_path rp = kw_path(at, K_REQUIRED);
    n->required = arena_alloc(a, (req->n ? req->n : 1) * sizeof *n->required);
    if (!n->required) return oom(c, req), -1;
    uint32_t i = 0;
    for (const json_value *e = req->child; e; e = e->next, i++) {
      schema_path ep = {&rp, NULL, 0, i};
      if (e->type != JSON_STRING) return cfail(c, e, &ep, "expected a property name, got %s", src_type(e)), -1;
      uint32_t k = 0;
      while (k < n->nprops && !(n->props[k].len == e->n && memcmp(n->props[k].name, e->s, e->n) == 0)) k++;
      for (uint32_t j = 0; j < n->nrequired; j++)
        if (n->required[j] == k) return cfail(c, e, &ep, "property '%s' listed twice", e->s), -1;
      if (k == n->nprops) n->props[n->nprops++] = (schema_prop){e->s, e->n, schema_hash(e->s, e->n), NULL, 0};
      n->required[n->nrequired++] = k;
    }
  }
  if (n->nprops > 0) {
    uint32_t size = 4;
    while (size < n->nprops * 2) size *= 2;
    n->prop_slots = arena_calloc(a, size * sizeof *n->prop_slots);
    if (!n->prop_slots) return oom(c, props ? props : req), -1;
    n->prop_mask = size - 1;
    for (uint32_t k = 0; k < n->nprops; k++) {
      uint32_t i = n->props[k].hash & n->prop_mask;
      while (n->prop_slots[i].name) i = (i + 1) & n->prop_mask;
      n->prop_slots[i] = (schema_slot){.name = n->props[k].name, .len = n->props[k].len, .hash = n->props[k].hash,
                                       .index = k, .schema = n->props[k].schema};
      n->props[k].slot = i;
    }
    if (n->nprops <= 64)
      for (uint32_t r = 0; r < n->nrequired; r++) n->required_mask |= 1ull << n->required[r];
  }
  return 0;
}

static int build_deps(cctx *c, schema_node *n, const json_value *deps, const schema_path *at) {
  schema_path dp = kw_path(at, K_DEPS);
  if (deps->type != JSON_OBJECT) return cfail(c, deps, &dp, "expected a mapping, got %s", src_type(deps)), -1;
  n->deps = arena_calloc(&c->d->a, (deps->n ? deps->n : 1) * sizeof *n->deps);
  if (!n->deps) return oom(c, deps), -1;
  for (const json_value *m = deps->child; m; m = m->next) {
    schema_path mp = {&dp, m->key, m->key_len, 0};
    schema_dependency *dep = &n->deps[n->ndeps++];
    dep->name = m->key;
    dep->len = m->key_len;
    if (m->type == JSON_ARRAY) {
      dep->names = arena_alloc(&c->d->a, (m->n ? m->n : 1) * sizeof *dep->names);
      if (!dep->names) return oom(c, m), -1;
      uint32_t i = 0;
      for (const json_value *e = m->child; e; e = e->next, i++) {
        schema_path ep = {&mp, NULL, 0, i};
        if (e->type != JSON_STRING) return cfail(c, e, &ep, "expected a property name, got %s", src_type(e)), -1;
        dep->names[dep->nnames++] = e;
      }
    } else {
      dep->schema = compile(c, m, &mp);
      if (!dep->schema) return -1;
    }
  }
  return 0;
}

/* ---- one schema ------------------------------------------------------------------------ */

static schema_node *new_node(cctx *c, const json_value *src) {
  schema_node *n = arena_calloc(&c->d->a, sizeof *n);
  if (!n) return oom(c, src);
  n->line = src->offset;
  n->max_length = UINT32_MAX;
  n->max_items = UINT32_MAX;
  n->max_props = UINT32_MAX;
  if (c->d->strict_int) n->flags |= SF_STRICT_INT;
  if (c->nfresh == c->fresh_cap) {
    size_t cap = c->fresh_cap ? c->fresh_cap * 2 : 64;
    schema_node **f = realloc(c->fresh, cap * sizeof *f);
    if (!f) return oom(c, src);
    c->fresh = f;
    c->fresh_cap = cap;
  }
  n->cgen = c->d->compile_gen;
  n->cidx = (uint32_t)c->nfresh;
  c->fresh[c->nfresh++] = n;
  if (memo_put(c->d, src, n)) return oom(c, src);
  return n;
}

static int compile_keywords(cctx *c, schema_node *n, const json_value *const kw[K__COUNT], const schema_path *at) {
  schema_path p;
  int b;
#define KP(k) (p = kw_path(at, k), &p)
  if (kw[K_NULLABLE] || kw[K_XNULLABLE]) {
    int k = kw[K_NULLABLE] ? K_NULLABLE : K_XNULLABLE;
    if (get_bool(c, kw[k], KP(k), &b)) return -1;
    if (b) n->flags |= SF_NULLABLE;
    if (kw[K_NULLABLE] && kw[K_XNULLABLE]) {
      if (get_bool(c, kw[K_XNULLABLE], KP(K_XNULLABLE), &b)) return -1;
      if (b) n->flags |= SF_NULLABLE;
    }
  }
  if (kw[K_REF]) {
    const json_value *r = kw[K_REF];
    if (r->type != JSON_STRING) return cfail(c, r, KP(K_REF), "expected a string, got %s", src_type(r)), -1;
    const char *why = NULL;
    const json_value *target = resolve_ref(c->d, r->s, r->n, &why);
    if (!target) return cfail(c, r, KP(K_REF), "unresolved $ref '%.200s': %s", r->s, why), -1;
    n->ref_text = r->s;
    if (c->npend == c->pend_cap) {
      size_t cap = c->pend_cap ? c->pend_cap * 2 : 16;
      pending_ref *np = realloc(c->pend, cap * sizeof *np);
      if (!np) return oom(c, r), -1;
      c->pend = np;
      c->pend_cap = cap;
    }
    /* Name the target like a path: "#/definitions/a" -> "definitions.a". */
    char *where = arena_strndup(&c->d->a, r->n > 2 ? r->s + 2 : "(root)", r->n > 2 ? r->n - 2 : 6);
    if (!where) return oom(c, r), -1;
    for (char *q = where; *q; q++)
      if (*q == '/') *q = '.';
    c->pend[c->npend++] = (pending_ref){n, target, where};
    return 0; /* draft-7: the other keywords beside $ref are ignored */
  }
  if (kw[K_TYPE] && get_types(c, kw[K_TYPE], KP(K_TYPE), &n->types)) return -1;
  if (kw[K_ENUM]) {
    const json_value *e = kw[K_ENUM];
    if (e->type != JSON_ARRAY) return cfail(c, e, KP(K_ENUM), "expected an array, got %s", src_type(e)), -1;
    if (e->n == 0) return cfail(c, e, KP(K_ENUM), "expected at least one value, got an empty array"), -1;
    n->enum_vals = arena_alloc(&c->d->a, e->n * sizeof *n->enum_vals);
    if (!n->enum_vals) return oom(c, e), -1;
    for (const json_value *x = e->child; x; x = x->next) n->enum_vals[n->nenum++] = x;
    n->flags |= SF_HAS_ENUM;
  }
  if (kw[K_CONST]) {
    n->const_val = kw[K_CONST];
    n->flags |= SF_HAS_CONST;
  }
  /* numbers */
  if (kw[K_MINIMUM] && get_bound(c, kw[K_MINIMUM], KP(K_MINIMUM), &n->minimum)) return -1;
  if (kw[K_MAXIMUM] && get_bound(c, kw[K_MAXIMUM], KP(K_MAXIMUM), &n->maximum)) return -1;
  if (kw[K_XMIN]) {
    const json_value *x = kw[K_XMIN];
    if (x->type == JSON_TRUE || x->type == JSON_FALSE) { /* draft-4 / Swagger: modifies minimum */
      if (x->type == JSON_TRUE && n->minimum.present) {
        n->xminimum = n->minimum;
        n->minimum.present = 0;
      }
    } else if (x->type != JSON_NUMBER) {
      return cfail(c, x, KP(K_XMIN), "expected a number (or a boolean, draft-4), got %s", src_type(x)), -1;
    } else if (get_bound(c, x, KP(K_XMIN), &n->xminimum)) {
      return -1;
    }
  }
  if (kw[K_XMAX]) {
    const json_value *x = kw[K_XMAX];
    if (x->type == JSON_TRUE || x->type == JSON_FALSE) {
      if (x->type == JSON_TRUE && n->maximum.present) {
        n->xmaximum = n->maximum;
        n->maximum.present = 0;
      }
    } else if (x->type != JSON_NUMBER) {
      return cfail(c, x, KP(K_XMAX), "expected a number (or a boolean, draft-4), got %s", src_type(x)), -1;
    } else if (get_bound(c, x, KP(K_XMAX), &n->xmaximum)) {
      return -1;
    }
  }
  if (kw[K_MULTIPLE]) {
    if (get_bound(c, kw[K_MULTIPLE], KP(K_MULTIPLE), &n->multiple_of)) return -1;
    if (!(n->multiple_of.d > 0)) return cfail(c, kw[K_MULTIPLE], &p, "must be greater than 0"), -1;
  }
  if (n->minimum.present || n->maximum.present || n->xminimum.present || n->xmaximum.present ||
      n->multiple_of.present) {
    n->flags |= SF_NUMERIC;
    const num_bound *all[5] = {&n->minimum, &n->xminimum, &n->maximum, &n->xmaximum, &n->multiple_of};
    int exact = 1;
    for (int i = 0; i < 5; i++) exact &= !all[i]->present || all[i]->is_int;
    if (exact) n->flags |= SF_INT_BOUNDS;
  }
  /* strings */
  if (kw[K_MINLEN] && get_count(c, kw[K_MINLEN], KP(K_MINLEN), &n->min_length)) return -1;
  if (kw[K_MAXLEN] && get_count(c, kw[K_MAXLEN], KP(K_MAXLEN), &n->max_length)) return -1;
  if (kw[K_PATTERN]) {
    n->pattern = get_regex(c, kw[K_PATTERN], KP(K_PATTERN), "pattern");
    if (!n->pattern) return -1;
    n->pattern_text = kw[K_PATTERN]->s;
  }
  if (kw[K_FORMAT]) {
    if (kw[K_FORMAT]->type != JSON_STRING)
      return cfail(c, kw[K_FORMAT], KP(K_FORMAT), "expected a string, got %s", src_type(kw[K_FORMAT])), -1;
    n->format = format_id(kw[K_FORMAT]);
  }
  if (n->min_length || n->max_length != UINT32_MAX || n->pattern || n->format) n->flags |= SF_STRINGY;
  /* arrays */
  if (kw[K_ITEMS]) {
    const json_value *it = kw[K_ITEMS];
    if (it->type == JSON_ARRAY) {
      n->tuple = get_schema_array(c, it, KP(K_ITEMS), &n->ntuple, 1);
      if (!n->tuple) return -1;
    } else if (!(n->items = sub(c, it, at, K_ITEMS))) {
      return -1;
    }
  }
  if (kw[K_ADDITEMS] && n->tuple && !(n->additional_items = sub(c, kw[K_ADDITEMS], at, K_ADDITEMS))) return -1;
  if (kw[K_MINITEMS] && get_count(c, kw[K_MINITEMS], KP(K_MINITEMS), &n->min_items)) return -1;
  if (kw[K_MAXITEMS] && get_count(c, kw[K_MAXITEMS], KP(K_MAXITEMS), &n->max_items)) return -1;
  if (kw[K_UNIQUE]) {
    if (get_bool(c, kw[K_UNIQUE], KP(K_UNIQUE), &b)) return -1;
    if (b) n->flags |= SF_UNIQUE;
  }
  if (kw[K_CONTAINS] && !(n->contains = sub(c, kw[K_CONTAINS], at, K_CONTAINS))) return -1;
  if (n->items || n->tuple || n->min_items || n->max_items != UINT32_MAX || (n->flags & SF_UNIQUE) || n->contains)
    n->flags |= SF_ARRAYISH;
  /* objects */
  const json_value *props = kw[K_PROPS], *req = kw[K_REQUIRED];
  if (props && props->type != JSON_OBJECT)
    return cfail(c, props, KP(K_PROPS), "expected a mapping of property names to schemas, got %s", src_type(props)),
           -1;
  if (req && req->type != JSON_ARRAY) {
    if (req->type == JSON_TRUE || req->type == JSON_FALSE)
      return cfail(c, req, KP(K_REQUIRED),
                   "expected an array of property names, got boolean (draft-3 style 'required: true' is not "
                   "supported: list the name in the parent's required array)"),
             -1;
    return cfail(c, req, KP(K_REQUIRED), "expected an array of property names, got %s", src_type(req)), -1;
  }
  if (build_props(c, n, props, req, at)) return -1;
  if (kw[K_ADDPROPS] && !(n->additional = sub(c, kw[K_ADDPROPS], at, K_ADDPROPS))) return -1;
  if (kw[K_PATPROPS]) {
    const json_value *pp = kw[K_PATPROPS];
    schema_path ppp = kw_path(at, K_PATPROPS);
    if (pp->type != JSON_OBJECT) return cfail(c, pp, &ppp, "expected a mapping, got %s", src_type(pp)), -1;
    n->pattern_props = arena_calloc(&c->d->a, (pp->n ? pp->n : 1) * sizeof *n->pattern_props);
    if (!n->pattern_props) return oom(c, pp), -1;
    for (const json_value *m = pp->child; m; m = m->next) {
      schema_path mp = {&ppp, m->key, m->key_len, 0};
      char msg[200];
      const evd_regex *re = regex_compile(&c->d->a, m->key, m->key_len, msg, sizeof msg);
      if (!re) return cfail(c, m, &mp, "invalid pattern: %s", msg), -1;
      const schema_node *s = compile(c, m, &mp);
      if (!s) return -1;
      n->pattern_props[n->npattern_props++] = (schema_pattern_prop){re, m->key, s};
    }
  }
  if (kw[K_PROPNAMES] && !(n->property_names = sub(c, kw[K_PROPNAMES], at, K_PROPNAMES))) return -1;
  if (kw[K_MINPROPS] && get_count(c, kw[K_MINPROPS], KP(K_MINPROPS), &n->min_props)) return -1;
  if (kw[K_MAXPROPS] && get_count(c, kw[K_MAXPROPS], KP(K_MAXPROPS), &n->max_props)) return -1;
  if (kw[K_DEPS] && build_deps(c, n, kw[K_DEPS], at)) return -1;
  if (n->additional || n->npattern_props || n->property_names) n->flags |= SF_MEMBER_EXTRAS;
  if (n->nprops || n->additional || n->npattern_props || n->property_names || n->min_props ||
      n->max_props != UINT32_MAX || n->ndeps)
    n->flags |= SF_OBJECTISH;
  /* composition */
  if (kw[K_ALLOF] && !(n->all_of = get_schema_array(c, kw[K_ALLOF], KP(K_ALLOF), &n->nall, 0))) return -1;
  if (kw[K_ANYOF] && !(n->any_of = get_schema_array(c, kw[K_ANYOF], KP(K_ANYOF), &n->nany, 0))) return -1;
  if (kw[K_ONEOF] && !(n->one_of = get_schema_array(c, kw[K_ONEOF], KP(K_ONEOF), &n->none, 0))) return -1;
  if (kw[K_NOT] && !(n->not_ = sub(c, kw[K_NOT], at, K_NOT))) return -1;
  if (kw[K_IF]) { /* then/else without if are ignored, as draft-7 says */
    if (!(n->if_ = sub(c, kw[K_IF], at, K_IF))) return -1;
    if (kw[K_THEN] && !(n->then_ = sub(c, kw[K_THEN], at, K_THEN))) return -1;
    if (kw[K_ELSE] && !(n->else_ = sub(c, kw[K_ELSE], at, K_ELSE))) return -1;
  }
  if (n->nall || n->nany || n->none || n->not_ || n->if_) n->flags |= SF_COMPOSED;
#undef KP
  return 0;
}

static schema_node *compile(cctx *c, const json_value *src, const schema_path *at) {
  if (c->failed) return NULL;
  schema_node *n = memo_get(c->d, src);
  if (n) return n;
  if (src->type != JSON_OBJECT && src->type != JSON_TRUE && src->type != JSON_FALSE)
    return cfail(c, src, at, "a schema must be a mapping or a boolean, got %s", src_type(src));
  if (c->depth >= COMPILE_MAX_DEPTH) return cfail(c, src, at, "schemas nested deeper than %d", COMPILE_MAX_DEPTH);
  n = new_node(c, src);
  if (!n) return NULL;
  if (src->type != JSON_OBJECT) {
    if (src->type == JSON_FALSE) n->flags |= SF_FALSE;
    return n;
  }
  const json_value *kw[K__COUNT] = {0};
  for (const json_value *m = src->child; m; m = m->next) {
    int id = keyword_id(m->key, m->key_len);
    if (id >= 0) kw[id] = m;
  }
  c->depth++;
  int rc = compile_keywords(c, n, kw, at);
  c->depth--;
  return rc ? NULL : n;
}

/* ---- cycles that do not descend into the data ----------------------------------------- */

/* The k-th schema that applies to the same instance as n, or NULL past the last. */
static const schema_node *same_instance_edge(const schema_node *n, uint32_t k) {
  if (n->ref) {
    if (k == 0) return n->ref;
    k--;
  }
  if (k < n->nall) return n->all_of[k];
  k -= n->nall;
  if (k < n->nany) return n->any_of[k];
  k -= n->nany;
  if (k < n->none) return n->one_of[k];
  k -= n->none;
  const schema_node *tail[4] = {n->not_, n->if_, n->then_, n->else_};
  for (int i = 0; i < 4; i++) {
    if (!tail[i]) continue;
    if (k == 0) return tail[i];
    k--;
  }
  for (uint32_t i = 0; i < n->ndeps; i++) {
    if (!n->deps[i].schema) continue;
    if (k == 0) return n->deps[i].schema;
    k--;
  }
  return NULL;
}

static int check_cycles(cctx *c) {
  size_t nn = c->nfresh;
  uint8_t *color = calloc(nn ? nn : 1, 1); /* 0 white, 1 on the stack, 2 done */
  struct dfs {
    uint32_t node, edge;
  } *stack = malloc((nn ? nn : 1) * sizeof *stack);
  int rc = 0;
  if (!color || !stack) {
    oom(c, NULL);
    rc = -1;
    goto out;
  }
  uint32_t gen = c->d->compile_gen;
  for (size_t s = 0; s < nn && rc == 0; s++) {
    if (color[s]) continue;
    size_t sp = 0;
    stack[sp++] = (struct dfs){(uint32_t)s, 0};
    color[s] = 1;
    while (sp && rc == 0) {
      struct dfs *top = &stack[sp - 1];
      const schema_node *n = c->fresh[top->node];
      const schema_node *next = same_instance_edge(n, top->edge++);
      if (!next) {
        color[top->node] = 2;
        sp--;
        continue;
      }
      if (next->cgen != gen || next->cidx >= nn || c->fresh[next->cidx] != next) continue; /* compiled earlier */
      if (color[next->cidx] == 1) {
        const schema_node *at = n;
        json_value fake = {0};
        fake.offset = at->line;
        if (at->ref_text)
          cfail(c, &fake, NULL,
                "$ref '%.200s' loops back to a schema that applies to the same value without descending into "
                "the data (a cycle through $ref/allOf/anyOf/oneOf/not/if)",
                at->ref_text);
        else
          cfail(c, &fake, NULL,
                "this schema applies to itself without descending into the data (a cycle through "
                "$ref/allOf/anyOf/oneOf/not/if)");
        rc = -1;
      } else if (color[next->cidx] == 0) {
        color[next->cidx] = 1;
        stack[sp++] = (struct dfs){next->cidx, 0};
      }
    }
  }
out:
  free(color);
  free(stack);
  return rc;
}

/* Set n's fast-path fields (schema_internal.h) once its $refs are resolved. */
static void compute_leaf(schema_node *n) {
  const schema_node *t = n;
  uint32_t extra = 0;
  for (;;) {
    if (t->flags & SF_NULLABLE) extra |= ST_NULL;
    if (!t->ref) break;
    t = t->ref;
  }
  uint32_t other = t->flags & ~(SF_STRICT_INT | SF_NULLABLE | SF_INT_BOUNDS);
  if (other == SF_STRINGY && (t->types & ~(uint32_t)(ST_STRING | ST_NULL)) == 0 &&
      (t->types == 0 || (t->types & ST_STRING)))
    n->str_leaf = t;
  if (other & ~SF_NUMERIC) return;
  if (other & SF_NUMERIC) { /* only integer type with integral inclusive bounds */
    if (t->types != ST_INTEGER || t->xminimum.present || t->xmaximum.present || t->multiple_of.present) return;
    if ((t->minimum.present && !t->minimum.is_int) || (t->maximum.present && !t->maximum.is_int)) return;
    n->leaf_has_min = (uint8_t)t->minimum.present;
    n->leaf_min = t->minimum.i;
    n->leaf_has_max = (uint8_t)t->maximum.present;
    n->leaf_max = t->maximum.i;
  }
  n->leaf_types = t->types ? t->types | extra : 0;
  n->leaf = 1;
}

/* The cost rank of a string leaf's checks, for trying cheap anyOf branches first. */
static int string_leaf_cost(const schema_node *t) { return (t->pattern ? 2 : 0) + (t->format ? 1 : 0); }

/* Set n's "string anyOf" fast path (schema_internal.h) once every node's leaf fields are
 * set. Only an optimization: when the branch list cannot be allocated, n keeps none. */
static void compute_str_any(schema_node *n, arena *a) {
  const schema_node *t = n;
  while (t->ref) t = t->ref;
  uint32_t other = t->flags & ~(SF_STRICT_INT | SF_NULLABLE | SF_INT_BOUNDS | SF_STRINGY);
  if (other != SF_COMPOSED || t->nany == 0 || t->nall || t->none || t->not_ || t->if_) return;
  if ((t->types & ~(uint32_t)(ST_STRING | ST_NULL)) != 0 || (t->types != 0 && !(t->types & ST_STRING))) return;
  const schema_node **br = arena_alloc(a, t->nany * sizeof *br);
  uint32_t nbr = 0;
  uint8_t always = 0;
  if (!br) return;
  for (uint32_t i = 0; i < t->nany; i++) {
    const schema_node *b = t->any_of[i];
    if (b->str_leaf) {
      uint32_t j = nbr++; /* insertion sort by cost, stable */
      while (j > 0 && string_leaf_cost(br[j - 1]) > string_leaf_cost(b->str_leaf)) br[j] = br[j - 1], j--;
      br[j] = b->str_leaf;
    } else if (b->leaf) {
      if (b->leaf_types == 0 || (b->leaf_types & ST_STRING)) always = 1; /* else: never a string */
    } else {
      return; /* a branch without a fast check: no fast path */
    }
  }
  n->str_any_branches = br;
  n->nstr_any_branches = nbr;
  n->str_any_always = always;
  n->str_any = t;
}

const schema_node *schema_doc_compile(schema_doc *d, const json_value *src, const char *where, schema_error *err) {
  err->line = 0;
  err->message[0] = '\0';
  if (d->failed) {
    doc_error(err, d->name, 0, "an earlier schema in this file failed to compile");
    return NULL;
  }
  cctx c;
  memset(&c, 0, sizeof c);
  c.d = d;
  c.err = err;
  c.where = c.root_where = where;
  d->compile_gen++;
  const schema_node *root = compile(&c, src, NULL);
  /* Resolve $refs breadth-first from a worklist: no stack depth from chains of refs. */
  while (root && !c.failed && c.npend) {
    pending_ref pr = c.pend[--c.npend];
    c.where = pr.where;
    const schema_node *t = compile(&c, pr.target, NULL);
    if (!t) break;
    pr.node->ref = t;
  }
  if (c.failed) root = NULL;
  c.where = c.root_where;
  if (root && check_cycles(&c)) root = NULL;
  if (root) {
    for (size_t i = 0; i < c.nfresh; i++) compute_leaf(c.fresh[i]);
    for (size_t i = 0; i < c.nfresh; i++) compute_str_any(c.fresh[i], &d->a);
    for (size_t i = 0; i < c.nfresh; i++) { /* copy the members' fast paths into the slots */
      schema_node *n = c.fresh[i];
      for (uint32_t k = 0; n->prop_slots && k <= n->prop_mask; k++) {
        schema_slot *sl = &n->prop_slots[k];
        if (!sl->name || !sl->schema) continue;
        sl->str_leaf = sl->schema->str_leaf;
        sl->str_any = sl->schema->str_any;
        if (!sl->schema->leaf) continue;
        sl->leaf = 1;
        sl->leaf_types = sl->schema->leaf_types;
        sl->has_min = sl->schema->leaf_has_min;
        sl->has_max = sl->schema->leaf_has_max;
        sl->min = sl->schema->leaf_min;
        sl->max = sl->schema->leaf_max;
      }
    }
  }
  if (!root) d->failed = 1;
  free(c.pend);
  free(c.fresh);
  return root;
}

int schema_doc_compile_all(schema_doc *d, schema_error *err) {
  if (d->defs) {
    for (const json_value *m = d->defs->child; m; m = m->next) {
      char where[300];
      snprintf(where, sizeof where, "%s.%.*s", d->defs_where, (int)m->key_len, m->key);
      if (!schema_doc_compile(d, m, where, err)) return -1;
    }
  }
  if (!d->swagger && !d->openapi && !schema_doc_compile(d, d->root, "(root)", err)) return -1;
  return 0;
}

/* ---- closed roots ---------------------------------------------------------------------- */

static int root_names(const schema_node *s, int (*fn)(void *, const char *, size_t), void *ctx, int depth) {
  if (depth > COMPILE_MAX_DEPTH) return 0;
  while (s->ref) s = s->ref;
  for (uint32_t i = 0; i < s->nprops; i++)
    if (s->props[i].schema) {
      int r = fn(ctx, s->props[i].name, s->props[i].len);
      if (r) return r;
    }
  const schema_node *const *lists[3] = {s->all_of, s->any_of, s->one_of};
  uint32_t counts[3] = {s->nall, s->nany, s->none};
  for (int l = 0; l < 3; l++)
    for (uint32_t i = 0; i < counts[l]; i++) {
      int r = root_names(lists[l][i], fn, ctx, depth + 1);
      if (r) return r;
    }
  return 0;
}

int schema_root_property_names(const schema_node *s, int (*fn)(void *ctx, const char *name, size_t len), void *ctx) {
  return root_names(s, fn, ctx, 0);
}
