/* schema_validate: validate a JSON tree against a compiled schema (see schema.h).
 *
 * Nothing here allocates: the path to the current value is a chain of schema_path records
 * on the C stack and is rendered only when an error is recorded; errors go into the
 * caller's array; the regex matcher keeps its state on the stack. Recursion follows the
 * data (bounded by its depth) and the schema's same-value references (acyclic, checked at
 * compile time), with a depth guard and a step budget on top. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "registry/schema_internal.h"

#define VALIDATE_MAX_DEPTH 1024

typedef struct vctx {
  evd_field_error *errs;
  size_t max_errs, nerrs;
  const char *root;
  int quiet;   /* > 0: a trial (anyOf, oneOf, not, if, contains): record nothing */
  int stop;    /* stop checking: quiet failure, enough errors, or aborted */
  int aborted; /* budget or depth exceeded: the answer is "invalid" whatever follows */
  const char *abort_reason;
  int open_root;
  int slow; /* reference mode: no fast paths */
  int depth;
  uint64_t steps, budget;
} vctx;

static int vnode(vctx *c, const schema_node *s, const json_value *v, const schema_path *p);

static int vfail(vctx *c, const schema_path *p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int vfail(vctx *c, const schema_path *p, const char *fmt, ...) {
  if (c->quiet) {
    c->stop = 1;
    return -1;
  }
  if (c->nerrs < c->max_errs) {
    evd_field_error *e = &c->errs[c->nerrs++];
    schema_path_render(c->root, p, e->field, sizeof e->field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
  }
  if (c->nerrs >= c->max_errs) c->stop = 1;
  return -1;
}

static int vabort(vctx *c, const char *reason) {
  c->aborted = 1;
  c->stop = 1;
  if (!c->abort_reason) c->abort_reason = reason;
  return -1;
}

/* Run s on v as a trial: 0 if valid, -1 if not; records nothing. */
static int vquiet(vctx *c, const schema_node *s, const json_value *v, const schema_path *p) {
  int saved_quiet = c->quiet, saved_stop = c->stop;
  c->quiet = 1;
  c->stop = 0;
  int r = vnode(c, s, v, p);
  c->quiet = saved_quiet;
  c->stop = saved_stop || c->aborted;
  return r;
}

/* The first error s reports for v, as "path: reason", into out (only on failure paths). */
static void vdetail(vctx *c, const schema_node *s, const json_value *v, const schema_path *p, char *out, size_t cap) {
  evd_field_error tmp;
  tmp.field[0] = tmp.reason[0] = '\0';
  vctx saved = *c;
  c->errs = &tmp;
  c->max_errs = 1;
  c->nerrs = 0;
  c->quiet = 0;
  c->stop = 0;
  vnode(c, s, v, p);
  uint64_t steps = c->steps;
  int aborted = c->aborted;
  const char *reason = c->abort_reason;
  *c = saved;
  c->steps = steps;
  if (aborted) vabort(c, reason);
  if (tmp.reason[0]) snprintf(out, cap, "%s: %s", tmp.field, tmp.reason);
  else snprintf(out, cap, "invalid");
}

/* ---- messages ------------------------------------------------------------------------- */

static int is_int(const json_value *v, const schema_node *s) {
  return schema_number_is_integer(v, (s->flags & SF_STRICT_INT) != 0);
}

static const char *got_type(const json_value *v, const schema_node *s) {
  if (v->type == JSON_NUMBER) return is_int(v, s) ? "integer" : "number";
  return json_type_name(v->type);
}

static void types_text(uint32_t types, char *out, size_t cap) {
  static const struct {
    uint32_t bit;
    const char *name;
  } T[] = {{ST_OBJECT, "object"}, {ST_ARRAY, "array"},     {ST_STRING, "string"}, {ST_INTEGER, "integer"},
           {ST_NUMBER, "number"}, {ST_BOOLEAN, "boolean"}, {ST_NULL, "null"}};
  size_t total = 0, k = 0, len = 0;
  for (size_t i = 0; i < 7; i++) total += (types & T[i].bit) != 0;
  out[0] = '\0';
  for (size_t i = 0; i < 7; i++) {
    if (!(types & T[i].bit)) continue;
    const char *sep = k == 0 ? "" : k + 1 == total ? " or " : ", ";
    int n = snprintf(out + len, cap - len, "%s%s", sep, T[i].name);
    if (n < 0 || (size_t)n >= cap - len) break;
    len += (size_t)n;
    k++;
  }
}

/* A short rendering of a value for messages: "abc", 12, true, [...], {...}. */
static size_t value_text(const json_value *v, char *out, size_t cap) {
  int n;
  switch (v->type) {
    case JSON_STRING:
      n = v->n > 40 ? snprintf(out, cap, "\"%.40s...\"", v->s) : snprintf(out, cap, "\"%.*s\"", (int)v->n, v->s);
      break;
    case JSON_NUMBER: n = snprintf(out, cap, "%.*s", (int)(v->n > 40 ? 40 : v->n), v->s); break;
    case JSON_ARRAY: n = snprintf(out, cap, "[...]"); break;
    case JSON_OBJECT: n = snprintf(out, cap, "{...}"); break;
    default: n = snprintf(out, cap, "%s", v->type == JSON_NULL ? "null" : v->type == JSON_TRUE ? "true" : "false");
  }
  if (n < 0) return 0;
  return (size_t)n < cap ? (size_t)n : cap - 1;
}

static const char *format_name(schema_fmt f) {
  switch (f) {
    case FMT_DATE_TIME: return "date-time (RFC 3339)";
    case FMT_DATE: return "date (YYYY-MM-DD)";
    case FMT_IPV4: return "IPv4 address";
    case FMT_IPV6: return "IPv6 address";
    case FMT_UUID: return "UUID";
    case FMT_BYTE: return "base64 string (format byte)";
    case FMT_EMAIL: return "email address";
    case FMT_NONE: break;
  }
  return "value";
}

/* ---- keywords by type ----------------------------------------------------------------- */

#define CHECK(expr)                 \
  do {                              \
    if ((expr) != 0) {              \
      rc = -1;                      \
      if (c->stop) return -1;       \
    }                               \
  } while (0)

/* The slot of the property named key, or NULL. */
static inline const schema_slot *prop_lookup(const schema_node *s, const char *key, uint32_t len) {
  uint32_t h = schema_hash(key, len);
  for (uint32_t i = h & s->prop_mask;; i = (i + 1) & s->prop_mask) {
    const schema_slot *sl = &s->prop_slots[i];
    if (!sl->name) return NULL;
    if (sl->hash == h && sl->len == len && schema_key_eq(sl->name, key, len)) return sl;
  }
}

/* A plain integer (no fraction/exponent) of up to 18 digits, without divisions; longer
 * ones go to json_as_int64. Returns 0 or -1 like json_as_int64. */
static int int_value(const json_value *v, int64_t *out) {
  const char *s = v->s;
  uint32_t n = v->n, neg = 0;
  if (n && s[0] == '-') neg = 1, s++, n--;
  if (n == 0 || n > 18) return json_as_int64(v, out);
  uint64_t acc = 0;
  for (uint32_t i = 0; i < n; i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (d > 9) return -1;
    acc = acc * 10 + d;
  }
  *out = neg ? -(int64_t)acc : (int64_t)acc;
  return 0;
}

/* Whether the 8 bytes in w hold a '.', 'e' or 'E' (exact: a zero byte test on each). */
static inline int word_has_dot_or_e(uint64_t w) {
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  uint64_t dot = w ^ (ones * '.'), e = (w | (ones * 0x20)) ^ (ones * 'e');
  return (((dot - ones) & ~dot) | ((e - ones) & ~e)) & highs ? 1 : 0;
}

/* Whether the number text p[0..n) has a '.', 'e' or 'E' (a fraction or an exponent), a
 * word at a time (overlapping loads, never outside the text). */
static inline int has_fraction_or_exponent(const char *p, uint32_t n) {
  uint64_t w;
  if (n >= 8) {
    for (uint32_t i = 0; i + 8 < n; i += 8) {
      memcpy(&w, p + i, 8);
      if (word_has_dot_or_e(w)) return 1;
    }
    memcpy(&w, p + n - 8, 8);
    return word_has_dot_or_e(w);
  }
  if (n >= 4) {
    uint32_t lo, hi;
    memcpy(&lo, p, 4);
    memcpy(&hi, p + n - 4, 4);
    return word_has_dot_or_e((uint64_t)lo | (uint64_t)hi << 32);
  }
  for (uint32_t i = 0; i < n; i++)
    if (p[i] == '.' || p[i] == 'e' || p[i] == 'E') return 1;
  return 0;
}

/* The fast check of a leaf (see schema_internal.h): 1 valid, 0 not known to be valid. */
static inline __attribute__((always_inline)) int leaf_check(uint32_t t, int has_min, int64_t min, int has_max,
                                                            int64_t max, const json_value *v) {
  /* the type bit of each JSON type but numbers (decided below), without a jump table */
  static const uint8_t type_bit[] = {[JSON_NULL] = ST_NULL,     [JSON_FALSE] = ST_BOOLEAN, [JSON_TRUE] = ST_BOOLEAN,
                                     [JSON_NUMBER] = 0,         [JSON_STRING] = ST_STRING, [JSON_ARRAY] = ST_ARRAY,
                                     [JSON_OBJECT] = ST_OBJECT};
  if (!t) return 1;
  if (v->type != JSON_NUMBER) return (unsigned)v->type < sizeof type_bit && (t & type_bit[v->type]) != 0;
  if (t & ST_NUMBER) return 1; /* bounds make a leaf integer-only */
  if (!(t & ST_INTEGER)) return 0;
  const char *p = v->s;
  if (has_fraction_or_exponent(p, v->n)) return 0; /* not plainly an integer: slow path */
  if (!has_min && !has_max) return 1;
  /* JSON integers have no leading zeros: minimum <= 1 is decided by the text */
  int neg = p[0] == '-';
  if (has_min && !has_max && !neg && (min <= 0 || (min == 1 && p[0] != '0'))) return 1;
  int64_t x;
  if (int_value(v, &x) != 0) return 0;
  return (!has_min || x >= min) && (!has_max || x <= max);
}

static inline int leaf_ok(const schema_node *s, const json_value *v) {
  return leaf_check(s->leaf_types, s->leaf_has_min, s->leaf_min, s->leaf_has_max, s->leaf_max, v);
}

/* <0, 0, >0 as the number compares with the bound. */
static int cmp_bound(int v_is_int, int64_t vi, double vd, const num_bound *b) {
  if (v_is_int && b->is_int) return vi < b->i ? -1 : vi > b->i;
  return vd < b->d ? -1 : vd > b->d;
}

/* Whether v (int64 vi when v_is_int) against bound b can be decided without the double. */
static int exact_int(int v_is_int, const num_bound *b) { return v_is_int && b->is_int; }

static int vnumber(vctx *c, const schema_node *s, const json_value *v, const schema_path *p) {
  int rc = 0;
  int64_t vi = 0;
  double vd = 0;
  int v_is_int = int_value(v, &vi) == 0;
  /* strtod is costly: only when a bound or the value is not an exact integer */
  if (!v_is_int || !(s->flags & SF_INT_BOUNDS)) {
    const num_bound *all[5] = {&s->minimum, &s->xminimum, &s->maximum, &s->xmaximum, &s->multiple_of};
    for (int i = 0; i < 5; i++)
      if (all[i]->present && !exact_int(v_is_int, all[i])) {
        if (json_as_double(v, &vd) != 0) return vfail(c, p, "invalid number");
        break;
      }
  }
  if (s->minimum.present && cmp_bound(v_is_int, vi, vd, &s->minimum) < 0)
    CHECK(vfail(c, p, "must be >= %s", s->minimum.text));
  if (s->xminimum.present && cmp_bound(v_is_int, vi, vd, &s->xminimum) <= 0)
    CHECK(vfail(c, p, "must be > %s", s->xminimum.text));
  if (s->maximum.present && cmp_bound(v_is_int, vi, vd, &s->maximum) > 0)
    CHECK(vfail(c, p, "must be <= %s", s->maximum.text));
  if (s->xmaximum.present && cmp_bound(v_is_int, vi, vd, &s->xmaximum) >= 0)
    CHECK(vfail(c, p, "must be < %s", s->xmaximum.text));
  if (s->multiple_of.present) {
    int ok;
    if (v_is_int && s->multiple_of.is_int) {
      ok = vi % s->multiple_of.i == 0;
    } else {
      double q = vd / s->multiple_of.d;
      ok = isfinite(q) && fabs(q - nearbyint(q)) <= 1e-9 * fmax(1.0, fabs(q));
    }
    if (!ok) CHECK(vfail(c, p, "must be a multiple of %s", s->multiple_of.text));
  }
  return rc;
}

/* Whether the string v has more than max code points (counted only when the byte length
 * cannot decide; exact whatever the bytes). */
static inline int too_long(const json_value *v, uint32_t max) {
  if (v->n <= max) return 0;
  if (max == 0 && ((unsigned char)v->s[0] & 0xC0) != 0x80) return 1; /* a code point starts here */
  return utf8_codepoints(v->s, v->n) > max;
}

static int vstring(vctx *c, const schema_node *s, const json_value *v, const schema_path *p) {
  int rc = 0;
  /* Code points <= bytes <= 4 x code points: count only when the bytes cannot decide. */
  if (s->min_length && (v->n < s->min_length ||
                        (v->n / 4 < s->min_length && utf8_codepoints(v->s, v->n) < s->min_length)))
    CHECK(vfail(c, p, "must be at least %u characters long", s->min_length));
  if (s->max_length != UINT32_MAX && too_long(v, s->max_length))
    CHECK(vfail(c, p, "must be at most %u characters long", s->max_length));
  if (s->pattern) {
    int m = regex_search(s->pattern, v->s, v->n, &c->steps, c->budget);
    if (m < 0) return vabort(c, "step budget exceeded");
    if (m == 0) CHECK(vfail(c, p, "must match pattern '%.120s'", s->pattern_text));
  }
  if (s->format && !schema_format_check(s->format, v->s, v->n))
    CHECK(vfail(c, p, "must be a valid %s", format_name(s->format)));
  return rc;
}

/* The string checks of a string leaf on a string, without recording anything: 1 valid,
 * 0 invalid (or the budget ran out: c->aborted). Exactly what vstring decides. */
static inline __attribute__((always_inline)) int string_ok(vctx *c, const schema_node *s, const json_value *v) {
  if (s->min_length &&
      (v->n < s->min_length || (v->n / 4 < s->min_length && utf8_codepoints(v->s, v->n) < s->min_length)))
    return 0;
  if (s->max_length != UINT32_MAX && too_long(v, s->max_length)) return 0;
  if (s->pattern) {
    int m = regex_search(s->pattern, v->s, v->n, &c->steps, c->budget);
    if (m < 0) return vabort(c, "step budget exceeded"), 0;
    if (m == 0) return 0;
  }
  if (!s->format) return 1;
  return s->format == FMT_IPV4 ? format_is_ipv4(v->s, v->n) : schema_format_check(s->format, v->s, v->n);
}

/* The checks of a "string anyOf" node t (schema_node.str_any) on a string, without
 * recording anything: 1 valid, 0 invalid (or the budget ran out: c->aborted). The cheap
 * branches go first; anyOf is a plain "or", so the order does not change the answer. */
static inline __attribute__((always_inline)) int str_any_ok(vctx *c, const schema_node *t, const json_value *v) {
  if ((t->flags & SF_STRINGY) && !string_ok(c, t, v)) return 0;
  if (t->str_any_always) return 1;
  for (uint32_t i = 0; i < t->nstr_any_branches; i++) {
    if (string_ok(c, t->str_any_branches[i], v)) return 1;
    if (c->aborted) return 0;
  }
  return 0;
}

/* Whether s accepts v, by a fast path when there is one: 1 valid, 0 invalid, -1 unknown. */
static int quick_valid(vctx *c, const schema_node *s, const json_value *v) {
  if (c->slow) return -1;
  if (s->leaf && leaf_ok(s, v)) return 1;
  if (s->str_leaf && v->type == JSON_STRING) return string_ok(c, s->str_leaf, v);
  if (s->str_any && v->type == JSON_STRING) return str_any_ok(c, s->str_any, v);
  return -1;
}

static int varray(vctx *c, const schema_node *s, const json_value *v, const schema_path *p) {
  int rc = 0;
  if (v->n < s->min_items) CHECK(vfail(c, p, "must have at least %u items", s->min_items));
  if (v->n > s->max_items) CHECK(vfail(c, p, "must have at most %u items", s->max_items));
  if (s->items || s->tuple) {
    uint32_t i = 0;
    for (const json_value *e = v->child; e; e = e->next, i++) {
      schema_path ep = {p, NULL, 0, i};
      const schema_node *is = s->items;
      if (s->tuple) {
        is = i < s->ntuple ? s->tuple[i] : s->additional_items;
        if (!is) break;
        if (i >= s->ntuple && (is->flags & SF_FALSE)) {
          CHECK(vfail(c, &ep, "additional item not allowed (at most %u items)", s->ntuple));
          break;
        }
      }
      if (c->slow || !is->leaf || !leaf_ok(is, e)) CHECK(vnode(c, is, e, &ep));
    }
  }
  if (s->contains) {
    int found = 0;
    uint32_t i = 0;
    for (const json_value *e = v->child; e && !found; e = e->next, i++) {
      schema_path ep = {p, NULL, 0, i};
      found = vquiet(c, s->contains, e, &ep) == 0;
      if (c->aborted) return -1;
    }
    if (!found) CHECK(vfail(c, p, "must contain at least one item matching the contains schema"));
  }
  if (s->flags & SF_UNIQUE) {
    uint32_t i = 0;
    for (const json_value *a = v->child; a; a = a->next, i++) {
      uint32_t j = i + 1;
      for (const json_value *b = a->next; b; b = b->next, j++) {
        if (schema_json_equal(a, b, &c->steps)) {
          CHECK(vfail(c, p, "items must be unique ([%u] and [%u] are equal)", i, j));
          goto unique_done;
        }
        if (c->steps > c->budget) return vabort(c, "step budget exceeded");
      }
    }
  unique_done:;
  }
  return rc;
}

static const json_value *member(const json_value *obj, const char *key, uint32_t len) {
  for (const json_value *m = obj->child; m; m = m->next)
    if (m->key_len == len && memcmp(m->key, key, len) == 0) return m;
  return NULL;
}

/* patternProperties, additionalProperties and propertyNames for one member m. */
static int vmember_extras(vctx *c, const schema_node *s, const json_value *m, const schema_path *mp, int matched,
                          int check_additional) {
  int rc = 0;
  for (uint32_t i = 0; i < s->npattern_props; i++) {
    int r = regex_search(s->pattern_props[i].re, m->key, m->key_len, &c->steps, c->budget);
    if (r < 0) return vabort(c, "step budget exceeded");
    if (r) {
      matched = 1;
      CHECK(vnode(c, s->pattern_props[i].schema, m, mp));
    }
  }
  if (!matched && check_additional) {
    if (s->additional->flags & SF_FALSE) CHECK(vfail(c, mp, "additional property not allowed"));
    else CHECK(vnode(c, s->additional, m, mp));
  }
  if (s->property_names) {
    json_value name = {0};
    name.type = JSON_STRING;
    name.s = m->key;
    name.n = m->key_len;
    if (vquiet(c, s->property_names, &name, mp) != 0) {
      if (c->aborted) return -1;
      char detail[300] = "";
      if (!c->quiet) vdetail(c, s->property_names, &name, mp, detail, sizeof detail);
      CHECK(vfail(c, mp, "property name does not match propertyNames (%s)", detail));
    }
  }
  return rc;
}

/* The fast check of an object member through its slot: 1 valid, 0 not known to be valid
 * (the full check then decides and reports). */
static inline int member_fast_ok(vctx *c, const schema_slot *sl, const json_value *m) {
  if (sl->leaf) return leaf_check(sl->leaf_types, sl->has_min, sl->min, sl->has_max, sl->max, m);
  if (m->type != JSON_STRING) return 0;
  if (sl->str_leaf) return string_ok(c, sl->str_leaf, m);
  return sl->str_any && str_any_ok(c, sl->str_any, m);
}

#define SEEN_WORDS 64 /* a bitmap for up to 4096 properties; more fall back to lookups */

static int vobject(vctx *c, const schema_node *s, const json_value *v, const schema_path *p) {
  int rc = 0;
  const uint32_t nprops = s->nprops;
  const schema_prop *props = s->props;
  const int small = nprops <= 64; /* members seen: a bit each in seen_small */
  uint64_t seen_small = 0, seen[SEEN_WORDS];
  int use_seen = s->nrequired && nprops <= SEEN_WORDS * 64;
  if (use_seen && !small) memset(seen, 0, ((nprops + 63) / 64) * sizeof seen[0]);
  if (v->n < s->min_props) CHECK(vfail(c, p, "must have at least %u properties", s->min_props));
  if (v->n > s->max_props) CHECK(vfail(c, p, "must have at most %u properties", s->max_props));
  int check_additional = s->additional && !(c->open_root && p == NULL);
  uint32_t next = 0; /* producers send members in schema order: try props[next] first */
  for (const json_value *m = v->child; m; m = m->next) {
    if (++c->steps > c->budget) return vabort(c, "step budget exceeded");
    int matched = 0;
    if (nprops) {
      const schema_slot *sl;
      uint32_t k = next; /* on a hit, next follows without waiting for a load */
      if (next < nprops && props[next].len == m->key_len && schema_key_eq(props[next].name, m->key, m->key_len))
        sl = &s->prop_slots[props[next].slot];
      else if ((sl = prop_lookup(s, m->key, m->key_len)) != NULL)
        k = sl->index;
      if (sl) {
        next = k + 1;
        if (small) seen_small |= 1ull << k;
        else if (use_seen) seen[k / 64] |= 1ull << (k % 64);
        if (sl->schema) {
          matched = 1;
          if (c->slow || !member_fast_ok(c, sl, m)) { /* the full check, which reports */
            schema_path mp = {p, m->key, m->key_len, 0};
            CHECK(vnode(c, sl->schema, m, &mp));
          }
        }
      }
    }
    if (s->flags & SF_MEMBER_EXTRAS) {
      schema_path mp = {p, m->key, m->key_len, 0};
      CHECK(vmember_extras(c, s, m, &mp, matched, check_additional));
    }
  }
  /* every required property seen: skip the per-name pass (it only reports) */
  if (small && (seen_small & s->required_mask) == s->required_mask) goto required_done;
  for (uint32_t r = 0; r < s->nrequired; r++) {
    uint32_t k = s->required[r];
    int present = small      ? (int)((seen_small >> k) & 1)
                  : use_seen ? (int)((seen[k / 64] >> (k % 64)) & 1)
                             : member(v, props[k].name, props[k].len) != NULL;
    if (!present) CHECK(vfail(c, p, "missing required property '%.100s'", props[k].name));
  }
required_done:
  for (uint32_t d = 0; d < s->ndeps; d++) {
    const schema_dependency *dep = &s->deps[d];
    if (!member(v, dep->name, dep->len)) continue;
    for (uint32_t i = 0; i < dep->nnames; i++)
      if (!member(v, dep->names[i]->s, dep->names[i]->n))
        CHECK(vfail(c, p, "property '%.100s' requires property '%.100s'", dep->name, dep->names[i]->s));
    if (dep->schema) CHECK(vnode(c, dep->schema, v, p));
  }
  return rc;
}

static int vcomposed(vctx *c, const schema_node *s, const json_value *v, const schema_path *p) {
  int rc = 0;
  for (uint32_t i = 0; i < s->nall; i++) CHECK(vnode(c, s->all_of[i], v, p));
  if (s->nany) {
    int ok = 0;
    for (uint32_t i = 0; i < s->nany && !ok; i++) {
      int q = quick_valid(c, s->any_of[i], v);
      ok = q >= 0 ? q : vquiet(c, s->any_of[i], v, p) == 0;
      if (c->aborted) return -1;
    }
    if (!ok) {
      char detail[300] = "";
      if (!c->quiet) vdetail(c, s->any_of[0], v, p, detail, sizeof detail);
      CHECK(vfail(c, p, "must match at least one schema in anyOf (anyOf[0]: %s)", detail));
    }
  }
  if (s->none) {
    uint32_t matches = 0, first = 0, second = 0;
    for (uint32_t i = 0; i < s->none && matches < 2; i++) {
      int q = quick_valid(c, s->one_of[i], v);
      if (q < 0) q = vquiet(c, s->one_of[i], v, p) == 0;
      if (q) {
        if (matches++ == 0) first = i;
        else second = i;
      }
      if (c->aborted) return -1;
    }
    if (matches == 0) {
      char detail[300] = "";
      if (!c->quiet) vdetail(c, s->one_of[0], v, p, detail, sizeof detail);
      CHECK(vfail(c, p, "must match exactly one schema in oneOf, matched none (oneOf[0]: %s)", detail));
    } else if (matches > 1) {
      CHECK(vfail(c, p, "must match exactly one schema in oneOf, matched oneOf[%u] and oneOf[%u]", first, second));
    }
  }
  if (s->not_) {
    int matched = vquiet(c, s->not_, v, p) == 0;
    if (c->aborted) return -1;
    if (matched) CHECK(vfail(c, p, "must not match the schema in not"));
  }
  if (s->if_) {
    int cond = vquiet(c, s->if_, v, p) == 0;
    if (c->aborted) return -1;
    const schema_node *branch = cond ? s->then_ : s->else_;
    if (branch) CHECK(vnode(c, branch, v, p));
  }
  return rc;
}

static int type_ok(const schema_node *s, const json_value *v) {
  switch (v->type) {
    case JSON_NULL: return (s->types & ST_NULL) != 0;
    case JSON_TRUE:
    case JSON_FALSE: return (s->types & ST_BOOLEAN) != 0;
    case JSON_NUMBER: return (s->types & ST_NUMBER) || ((s->types & ST_INTEGER) && is_int(v, s));
    case JSON_STRING: return (s->types & ST_STRING) != 0;
    case JSON_ARRAY: return (s->types & ST_ARRAY) != 0;
    case JSON_OBJECT: return (s->types & ST_OBJECT) != 0;
  }
  return 0;
}

static int vnode_inner(vctx *c, const schema_node *s, const json_value *v, const schema_path *p) {
  for (;;) { /* follow $ref; nullable beside a $ref still counts */
    if ((s->flags & SF_NULLABLE) && v->type == JSON_NULL) return 0;
    if (!s->ref) break;
    s = s->ref;
  }
  if (s->flags & SF_FALSE) return vfail(c, p, "no value is allowed here (the schema is false)");
  int rc = 0;
  if (s->types && !type_ok(s, v)) {
    char want[80];
    types_text(s->types, want, sizeof want);
    return vfail(c, p, "expected %s, got %s", want, got_type(v, s));
  }
  if (s->flags & SF_HAS_CONST) {
    if (!schema_json_equal(v, s->const_val, &c->steps)) {
      char want[64];
      value_text(s->const_val, want, sizeof want);
      CHECK(vfail(c, p, "must be equal to %s", want));
    }
  }
  if (s->flags & SF_HAS_ENUM) {
    int found = 0;
    for (uint32_t i = 0; i < s->nenum && !found; i++) found = schema_json_equal(v, s->enum_vals[i], &c->steps);
    if (!found) {
      char list[200];
      size_t len = 0;
      for (uint32_t i = 0; i < s->nenum && len + 60 < sizeof list; i++) {
        if (i) list[len++] = ',', list[len++] = ' ';
        len += value_text(s->enum_vals[i], list + len, sizeof list - len);
        if (i + 1 < s->nenum && len + 60 >= sizeof list) {
          memcpy(list + len, ", ...", 5);
          len += 5;
        }
      }
      list[len] = '\0';
      CHECK(vfail(c, p, "must be one of %s", list));
    }
  }
  switch (v->type) {
    case JSON_NUMBER:
      if (s->flags & SF_NUMERIC) CHECK(vnumber(c, s, v, p));
      break;
    case JSON_STRING:
      if (s->flags & SF_STRINGY) CHECK(vstring(c, s, v, p));
      break;
    case JSON_ARRAY:
      if (s->flags & SF_ARRAYISH) CHECK(varray(c, s, v, p));
      break;
    case JSON_OBJECT:
      if (s->flags & SF_OBJECTISH) CHECK(vobject(c, s, v, p));
      break;
    default: break;
  }
  if (s->flags & SF_COMPOSED) CHECK(vcomposed(c, s, v, p));
  return rc;
}

static int vnode(vctx *c, const schema_node *s, const json_value *v, const schema_path *p) {
  if (c->aborted) return -1;
  if (++c->steps > c->budget) return vabort(c, "step budget exceeded");
  if (c->depth >= VALIDATE_MAX_DEPTH) return vabort(c, "schema and data nested too deeply");
  c->depth++;
  int rc = vnode_inner(c, s, v, p);
  c->depth--;
  return rc;
}

size_t schema_validate(const schema_node *s, const json_value *data, const char *root,
                       const schema_validate_opts *opts, evd_field_error *errs) {
  static const json_value empty_object = {.type = JSON_OBJECT};
  vctx c;
  memset(&c, 0, sizeof c);
  c.errs = errs;
  c.max_errs = opts && opts->max_errors ? opts->max_errors : 1;
  c.budget = opts && opts->step_budget ? opts->step_budget : SCHEMA_DEFAULT_STEP_BUDGET;
  c.open_root = opts ? opts->open_root : 0;
  c.slow = opts ? opts->reference_mode : 0;
  c.root = root;
  /* vnode's checks cannot fire for the root (budget >= 1, depth 0): call the work directly */
  c.steps = 1;
  c.depth = 1;
  vnode_inner(&c, s, data ? data : &empty_object, NULL);
  c.depth = 0;
  if (c.aborted) {
    evd_field_error *e = &errs[c.nerrs < c.max_errs ? c.nerrs++ : c.max_errs - 1];
    snprintf(e->field, sizeof e->field, "%s", root);
    snprintf(e->reason, sizeof e->reason, "validation gave up: %s (after %llu steps)", c.abort_reason,
             (unsigned long long)c.steps);
  }
  return c.nerrs;
}
