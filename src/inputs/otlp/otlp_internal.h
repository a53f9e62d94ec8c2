/* otlp_internal: what the two OTLP front ends (otlp_json.c, otlp_proto.c) share with the
 * record assembly in otlp_decode.c: decoded resource, scope and record values, and small
 * JSON-tree builders. Not a public interface. */
#ifndef EVD_INPUTS_OTLP_INTERNAL_H
#define EVD_INPUTS_OTLP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/event.h"
#include "core/json.h"
#include "inputs/otlp/otlp_decode.h"

/* A resource, converted. error: set when the resource itself is unusable (all its records
 * are refused with it). */
typedef struct otlp_resource_in {
  json_value *attrs; /* object, or NULL */
  const char *error;
} otlp_resource_in;

typedef struct otlp_scope_in {
  strv name, version;
  json_value *attrs; /* object, or NULL */
  const char *error;
} otlp_scope_in;

typedef struct otlp_record_in {
  uint64_t time_ns, observed_ns;
  int severity_number;      /* 0 = unspecified */
  strv severity_text;
  json_value *body;         /* NULL = absent */
  json_value *attrs;        /* object, or NULL */
  strv trace_id, span_id;   /* lowercase/uppercase hex, or empty */
  strv event_name;
  uint32_t flags, dropped;
} otlp_record_in;

/* Build the event of one record into *ev. Returns 0, -1 with reason (refused), or -2 when
 * out of memory. */
int otlp_assemble(arena *a, const otlp_opts *o, const otlp_resource_in *res,
                  const otlp_scope_in *scope, otlp_record_in *rec, event *ev, char *reason,
                  size_t reasonlen);

/* ---- tree building (nodes from the arena; NULL when out of memory) ---- */
json_value *otlp_new_value(arena *a, json_type t);
json_value *otlp_new_string(arena *a, const char *s, size_t n);
json_value *otlp_new_number_i64(arena *a, int64_t v);
json_value *otlp_new_number_u64(arena *a, uint64_t v);
/* A number from a double (non-finite values become the strings NaN, Infinity, -Infinity). */
json_value *otlp_new_number_double(arena *a, double d);
/* Append v (its key set to key[0..klen)) to object/array parent; *tail tracks the end. */
void otlp_append(json_value *parent, json_value **tail, json_value *v, const char *key, size_t klen);
/* Base64 (standard alphabet, padded) of p[0..n) as a string node. */
json_value *otlp_new_base64(arena *a, const void *p, size_t n);
/* 1 if the object has two members with the same key (sets *dup to one of them), 0 if not,
 * -1 when out of memory (large objects are checked through a sorted copy in a). */
int otlp_has_duplicate_key(arena *a, const json_value *obj, const json_value **dup);

#endif
