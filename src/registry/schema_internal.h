/* schema_internal: the compiled form shared by schema_compile.c and schema_validate.c.
 * Everything here lives in the owning schema_doc's arena and is read only once compiled. */
#ifndef EVD_SCHEMA_INTERNAL_H
#define EVD_SCHEMA_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "registry/regex.h"
#include "registry/schema.h"

/* Allowed JSON types (schema_node.types); 0 = any. */
enum {
  ST_NULL = 1 << 0,
  ST_BOOLEAN = 1 << 1,
  ST_INTEGER = 1 << 2,
  ST_NUMBER = 1 << 3,
  ST_STRING = 1 << 4,
  ST_ARRAY = 1 << 5,
  ST_OBJECT = 1 << 6
};

enum {
  SF_FALSE = 1u << 0,         /* the schema `false`: nothing is valid */
  SF_NULLABLE = 1u << 1,      /* null is valid whatever the other keywords say */
  SF_STRICT_INT = 1u << 2,    /* integer = written without fraction/exponent (draft-4/Swagger) */
  SF_UNIQUE = 1u << 3,        /* uniqueItems */
  SF_HAS_CONST = 1u << 4,
  SF_HAS_ENUM = 1u << 5,
  SF_NUMERIC = 1u << 6,       /* any of minimum, maximum, exclusiveM..., multipleOf */
  SF_STRINGY = 1u << 7,       /* any of minLength/maxLength/pattern/format */
  SF_ARRAYISH = 1u << 8,      /* any array keyword */
  SF_OBJECTISH = 1u << 9,     /* any object keyword */
  SF_COMPOSED = 1u << 10,     /* allOf/anyOf/oneOf/not/if */
  SF_INT_BOUNDS = 1u << 11,   /* every numeric bound is an exact integer (no strtod for integers) */
  SF_MEMBER_EXTRAS = 1u << 12 /* patternProperties, additionalProperties or propertyNames */
};

typedef enum {
  FMT_NONE = 0,
  FMT_DATE_TIME,
  FMT_DATE,
  FMT_IPV4,
  FMT_IPV6,
  FMT_UUID,
  FMT_BYTE,
  FMT_EMAIL
} schema_fmt;

/* A numeric bound: the value as double, exactly as int64 when integral and in range. */
typedef struct num_bound {
  int present;
  int is_int;
  int64_t i;
  double d;
  const char *text; /* as written in the spec, for messages */
} num_bound;

typedef struct schema_prop {
  const char *name;
  uint32_t len;
  uint32_t hash;
  const schema_node *schema; /* from `properties`; NULL: only named by `required` */
  uint32_t slot;             /* its entry in the owning node's prop_slots */
} schema_prop;

/* One entry of a node's property hash table: the name, and a copy of what the member
 * check needs so that a leaf member touches nothing else. */
typedef struct schema_slot {
  const char *name;            /* NULL: empty */
  uint32_t len;
  uint32_t hash;
  uint32_t index;              /* into props */
  uint32_t leaf_types;         /* as schema_node.leaf_types */
  const schema_node *schema;   /* props[index].schema (NULL: only in required) */
  uint8_t leaf, has_min, has_max;
  int64_t min, max;
  const schema_node *str_leaf; /* as schema_node.str_leaf */
  const schema_node *str_any;  /* as schema_node.str_any */
} schema_slot;

typedef struct schema_pattern_prop {
  const evd_regex *re;
  const char *text;
  const schema_node *schema;
} schema_pattern_prop;

typedef struct schema_dependency {
  const char *name;
  uint32_t len;
  const json_value **names;     /* array form: names that must be present too */
  uint32_t nnames;
  const schema_node *schema;    /* schema form */
} schema_dependency;

struct schema_node {
  uint32_t types;
  uint32_t flags;
  const schema_node *ref; /* $ref: validate against this instead (siblings ignored) */
  uint32_t line;
  const char *ref_text;   /* the $ref string, for messages */
  uint32_t cgen, cidx;    /* compile-time bookkeeping (cycle check) */

  /* Fast path, set after compiling: a "leaf" is a schema (after its $refs) that only checks
   * the type -- and, for integers, integral bounds -- so object members and array items
   * are checked inline. A value that fails the fast check goes the full way, which also
   * writes the error. */
  uint8_t leaf;
  uint8_t leaf_has_min, leaf_has_max;
  uint32_t leaf_types;    /* 0 = any */
  int64_t leaf_min, leaf_max;
  /* A "string leaf": for a string value, the node (after $refs) whose only keywords are
   * string ones (minLength, maxLength, pattern, format) and perhaps type string. */
  const schema_node *str_leaf;
  /* A "string anyOf": for a string value, the node (after $refs) whose only keywords are
   * type (string, perhaps null), string ones and an anyOf whose branches are all string
   * leaves or leaves; str_any_branches lists the branches' string leaves cheapest first
   * (length-only, then format, then pattern). str_any_always: a branch accepts every
   * string. The value is valid iff the node's own string keywords pass and one branch
   * does -- what the full check decides (anyOf is a plain "or"). */
  const schema_node *str_any;
  const schema_node **str_any_branches;
  uint32_t nstr_any_branches;
  uint8_t str_any_always;

  /* any type */
  const json_value *const_val;
  const json_value **enum_vals;
  uint32_t nenum;
  const schema_node **all_of, **any_of, **one_of;
  uint32_t nall, nany, none;
  const schema_node *not_, *if_, *then_, *else_;

  /* numbers */
  num_bound minimum, maximum, xminimum, xmaximum, multiple_of;

  /* strings */
  uint32_t min_length, max_length; /* max_length UINT32_MAX = none */
  const evd_regex *pattern;
  const char *pattern_text;
  schema_fmt format;

  /* arrays */
  uint32_t min_items, max_items;
  const schema_node *items;        /* every item (single-schema form) */
  const schema_node **tuple;       /* tuple form: items[i] */
  uint32_t ntuple;
  const schema_node *additional_items;
  const schema_node *contains;

  /* objects */
  schema_prop *props;              /* properties, then names only in required */
  uint32_t nprops;
  struct schema_slot *prop_slots;  /* open-addressing table over props (when nprops > 0) */
  uint32_t prop_mask;
  uint32_t *required;              /* props indices, in `required` order */
  uint32_t nrequired;
  uint64_t required_mask;          /* bits of the required props indices, when nprops <= 64 */
  const schema_node *additional;   /* additionalProperties; NULL = any */
  schema_pattern_prop *pattern_props;
  uint32_t npattern_props;
  const schema_node *property_names;
  uint32_t min_props, max_props;
  schema_dependency *deps;
  uint32_t ndeps;
};

/* Hash of a property or type name, on the hot path of every object member: the length and
 * the first and last 8 bytes (names that differ only in the middle share a hash and are
 * told apart by the full comparison that follows every hash match). */
static inline uint32_t schema_hash(const char *s, size_t n) {
  uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ull, w1, w2;
  if (n >= 8) {
    memcpy(&w1, s, 8);
    memcpy(&w2, s + n - 8, 8);
  } else if (n >= 4) {
    uint32_t lo, hi;
    memcpy(&lo, s, 4);
    memcpy(&hi, s + n - 4, 4);
    w1 = lo;
    w2 = hi;
  } else {
    w1 = n ? (uint64_t)(unsigned char)s[0] | (uint64_t)(unsigned char)s[n / 2] << 8 |
                 (uint64_t)(unsigned char)s[n - 1] << 16
           : 0;
    w2 = 0;
  }
  h = (h ^ w1) * 0xff51afd7ed558ccdull;
  h = (h ^ w2 ^ (h >> 32)) * 0xc4ceb9fe1a85ec53ull;
  return (uint32_t)(h >> 32);
}

/* Equality of two keys of length n, without a call and almost without loops for the
 * short ones (overlapping word compares). */
static inline int schema_key_eq(const char *a, const char *b, size_t n) {
  if (n >= 8) {
    uint64_t x, y;
    for (size_t i = 0; i + 8 < n; i += 8) {
      memcpy(&x, a + i, 8);
      memcpy(&y, b + i, 8);
      if (x != y) return 0;
    }
    memcpy(&x, a + n - 8, 8);
    memcpy(&y, b + n - 8, 8);
    return x == y;
  }
  if (n >= 4) {
    uint32_t x1, y1, x2, y2;
    memcpy(&x1, a, 4), memcpy(&y1, b, 4), memcpy(&x2, a + n - 4, 4), memcpy(&y2, b + n - 4, 4);
    return x1 == y1 && x2 == y2;
  }
  if (n == 0) return 1;
  return a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]; /* every byte of 1..3 */
}

/* A JSON path as a chain of segments on the C stack: key (object member) or index. */
typedef struct schema_path {
  const struct schema_path *up;
  const char *key; /* NULL: array index */
  uint32_t klen;
  uint32_t index;
} schema_path;

/* Render root + path ("data.a[2].b", data["x.y"]) into out[0..cap), NUL-terminated; a path
 * that does not fit ends in "...". Returns the length written. */
size_t schema_path_render(const char *root, const schema_path *p, char *out, size_t cap);

/* Whether a JSON number is an integer: textually (strict) or by value (draft-7). */
int schema_number_is_integer(const json_value *v, int strict);

/* Deep equality of JSON values as JSON Schema defines it (1 == 1.0; objects unordered).
 * *steps is increased by the work done. */
int schema_json_equal(const json_value *a, const json_value *b, uint64_t *steps);

/* Format check by id. */
int schema_format_check(schema_fmt f, const char *s, size_t n);

#endif
