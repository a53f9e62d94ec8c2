/* json: a strict RFC 8259 JSON parser into an arena-allocated tree, and a JSON writer.
 *
 * Parsing allocates every node and every decoded string from the caller's arena: nothing is
 * freed node by node, and there is no hidden global state. Strings are decoded (escapes
 * resolved, \u surrogate pairs combined into UTF-8) and NUL-terminated; a string that holds
 * an embedded NUL (\u0000) keeps its true length in `n`. Invalid UTF-8 in the input, lone
 * surrogates, control characters in strings, trailing commas, leading zeros, NaN/Infinity,
 * duplicate keys and nesting deeper than the limit are all errors. */
#ifndef EVD_JSON_H
#define EVD_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"

typedef enum {
  JSON_NULL,
  JSON_FALSE,
  JSON_TRUE,
  JSON_NUMBER,
  JSON_STRING,
  JSON_ARRAY,
  JSON_OBJECT
} json_type;

typedef struct json_value json_value;
struct json_value {
  json_type type;
  uint32_t n;         /* STRING: byte length; NUMBER: text length; ARRAY/OBJECT: child count */
  const char *s;      /* STRING: decoded text; NUMBER: the number's text as written */
  json_value *child;  /* ARRAY/OBJECT: first element / member (members carry key) */
  json_value *next;   /* next sibling */
  const char *key;    /* when this value is an object member: its decoded key */
  uint32_t key_len;
  uint32_t offset;    /* byte offset of the value in the input (for error messages) */
};

typedef struct json_error {
  size_t offset;       /* byte offset in the input where the problem was found */
  char message[128];   /* for users, without the offset: "unexpected character '}'",
                          "invalid UTF-8", "duplicate key 'type'", "nesting deeper than 64",
                          "unterminated string", "trailing comma in array"; "out of memory" */
} json_error;

#define JSON_DEFAULT_MAX_DEPTH 64
#define JSON_MAX_DEPTH_CAP 4096 /* a larger max_depth is lowered to this (recursion bound) */

/* Parse exactly one JSON value from text[0..len) (surrounding whitespace allowed).
 * max_depth <= 0 means JSON_DEFAULT_MAX_DEPTH.
 * Returns the root, or NULL with *err filled (also NULL when the arena is out of memory:
 * err->message is then "out of memory"). */
json_value *json_parse(arena *a, const char *text, size_t len, int max_depth, json_error *err);

/* Member of an object by key, or NULL. Linear; objects are small. */
const json_value *json_get(const json_value *obj, const char *key);

/* Number accessors. json_as_int64 succeeds (returns 0) only for a NUMBER that is an exact
 * integer in int64 range written without fraction or exponent (e.g. 12, -3, not 1.0/1e3).
 * json_as_double succeeds for any NUMBER. Both return -1 otherwise. */
int json_as_int64(const json_value *v, int64_t *out);
int json_as_double(const json_value *v, double *out);
/* Whether a NUMBER's text is integral (no '.', 'e', 'E'). */
int json_is_integer(const json_value *v);

/* Name of a type for error messages: "null", "boolean", "number", "string", "array", "object". */
const char *json_type_name(json_type t);

/* Append s[0..n) as a JSON string literal (with quotes), escaping ", \, and control
 * characters. Input must be valid UTF-8 (parser output always is). */
int json_write_string(buf *out, const char *s, size_t n);
/* Append the compact serialization of v (no whitespace). Member order is preserved. */
int json_write_value(buf *out, const json_value *v);

/* Validate UTF-8; returns 1 if s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int utf8_valid(const char *s, size_t n);

#endif
