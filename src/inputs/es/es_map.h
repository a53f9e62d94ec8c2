/* es_map: the pure half of the Elasticsearch-compatible input — index rules, the mapping of
 * an Elasticsearch document onto the canonical event, and the _bulk NDJSON decoder. No
 * server, no I/O: bytes in, canonical event objects (JSON trees for ingest_add_json) and
 * per-item errors out, so unit tests and fuzz targets call it directly (docs/inputs.md,
 * "Elasticsearch-compatible ingest").
 *
 * Index rule (setting es.index_rule): a pattern of literal text and {placeholders} matched
 * against the index name left to right. {stream}, {tenant}, {type}, {source}, {tag} fill
 * those fields; {_} matches and drops; any other {name} becomes the label name=value. Each
 * placeholder takes the text up to the first occurrence of the literal that follows it
 * (the last one takes the rest); when that literal is missing the placeholder takes the
 * rest and the later placeholders stay unset. Empty values are unset. The default
 * "{stream}-{env}" maps events-gprd to stream "events" + label env=gprd, and "events" to
 * stream "events". A pattern starting with a literal that the index does not start with
 * maps the whole index to the stream.
 *
 * Document mapping: @timestamp / time / timestamp -> time (the first present, in that
 * order); type / event_type (strings) -> type (default es.default_type); message (string)
 * -> message, else log (string) -> message; severity (string or number), severity_number,
 * level (when it is a severity name) -> severity; tag, source, stream, tenant, state,
 * correlation_id (strings), trace_id / span_id (strings of 32 / 16 hex digits), labels (an
 * object of strings), resource (an object) are taken as the canonical fields when they
 * have that shape; every other member (and a canonical name with another shape) goes into
 * data as is. The id comes from the URL or the bulk action (_id). */
#ifndef EVD_INPUTS_ES_MAP_H
#define EVD_INPUTS_ES_MAP_H

#include <stddef.h>

#include "core/arena.h"
#include "core/json.h"

#define ES_RULE_MAX_PARTS 16

typedef enum es_part_kind { ES_PART_LITERAL = 0, ES_PART_FIELD, ES_PART_LABEL, ES_PART_DROP } es_part_kind;

typedef struct es_rule_part {
  es_part_kind kind;
  char text[64]; /* literal text, the field name ("stream"...) or the label name */
} es_rule_part;

typedef struct es_index_rule {
  es_rule_part parts[ES_RULE_MAX_PARTS];
  size_t nparts;
} es_index_rule;

/* Compile an index rule. Returns 0, or -1 with err naming the problem. */
int es_index_rule_parse(const char *text, es_index_rule *out, char *err, size_t errlen);

typedef struct es_map_opts {
  const es_index_rule *rule;
  const char *default_type; /* type when the document has none */
} es_map_opts;

/* Map one document (any JSON value: a non-object is an error) from index[0..index_len)
 * onto a canonical event object (allocated in a; it shares doc's nodes). id may be NULL.
 * Returns the object, or NULL with a reason in err (a document that is not an object, or
 * out of memory: *oom set). */
json_value *es_map_document(arena *a, const es_map_opts *o, const char *index, size_t index_len,
                            const char *id, size_t id_len, const json_value *doc, int *oom,
                            char *err, size_t errlen);

/* ---- _bulk ---- */

typedef enum es_op { ES_OP_INDEX = 0, ES_OP_CREATE, ES_OP_DELETE, ES_OP_UPDATE } es_op;

/* Name of an op ("index", "create", "delete", "update"). */
const char *es_op_name(es_op op);

/* One item of a bulk request, as given to the sink. Strings point into the arena or the
 * body and live until the sink returns. */
typedef struct es_bulk_item {
  es_op op;
  const char *index; size_t index_len; /* "" when none */
  const char *id; size_t id_len;       /* NULL when none */
  size_t line;                         /* 1-based line of the action */
  size_t source_len;                   /* bytes of the source line (0 for delete) */
  const json_value *event;             /* the canonical event object, or NULL */
  int too_large;                       /* source over event_max_bytes: not parsed */
  int status;                          /* 0, or the item's HTTP status when refused here */
  const char *error_type;              /* Elasticsearch exception type when refused */
  char reason[256];
} es_bulk_item;

/* Return 0 to go on, -1 to stop (out of memory). */
typedef int (*es_bulk_sink)(void *arg, const es_bulk_item *item);

/* Decode a _bulk body: NDJSON action/metadata lines, each of index/create followed by its
 * source line (update: skipped with a per-item refusal; delete: no source, refused per
 * item). default_index is the URL's index (may be ""). The arena is reset before each
 * item. Returns 0 when every item went to the sink; -1 with err for a body that cannot be
 * split into items (a malformed action line, an action without its source line, an
 * unknown action), or -2 when out of memory / the sink stopped. Documents are parsed with
 * max_depth - 1 (they become the event's data, one level down). */
int es_bulk_decode(arena *a, const es_map_opts *o, const char *default_index, size_t dlen,
                   const char *body, size_t len, size_t event_max_bytes, int max_depth,
                   es_bulk_sink sink, void *arg, char *err, size_t errlen);

#endif
