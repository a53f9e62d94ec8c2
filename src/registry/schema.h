/* schema: JSON Schema (draft-7 validation vocabulary) and Swagger 2.0 `definitions`,
 * compiled once at load, validated without allocating. docs/registry.md has the full list
 * of keywords and their exact semantics; in short:
 *
 *   type (one or an array; "integer" vs "number", see below), enum, const, nullable
 *   (OpenAPI) and x-nullable (Swagger), minimum, maximum, exclusiveMinimum and
 *   exclusiveMaximum (draft-4/Swagger boolean form and draft-6/7 number form), multipleOf,
 *   minLength/maxLength (Unicode code points), pattern (registry/regex.h), format
 *   (date-time, date, ipv4, ipv6, uuid, byte, email; others are annotations), items (one
 *   schema or a tuple), additionalItems, minItems, maxItems, uniqueItems, contains,
 *   properties, required, additionalProperties (boolean or schema), patternProperties,
 *   propertyNames, minProperties, maxProperties, dependencies, allOf, anyOf, oneOf
 *   (exactly one), not, if/then/else, $ref to "#" or any JSON pointer into the same file
 *   ("#/definitions/x", "#/components/schemas/x", "#/$defs/x"), boolean schemas.
 *   Other keywords are ignored (annotations such as title, description, default, example,
 *   readOnly, discriminator, x-*). As draft-7 says, keywords beside $ref are ignored,
 *   except nullable/x-nullable.
 *
 * Integers: in a Swagger 2.0 file or a draft-04/03 JSON Schema, "integer" means a number
 * written without fraction or exponent (1.0 is not an integer: what Magma's bravado and
 * draft-4 validators do); in a draft-06/07 (or unversioned) JSON Schema any number with a
 * zero fractional part is an integer (1.0 and 1e3 are), as draft-7 specifies.
 *
 * Recursion: $ref cycles are resolved at compile time (each node compiled once); a cycle
 * that does not descend into the data (a: {$ref: a}, or through allOf/anyOf/oneOf/not/if)
 * is a compile error, so validation recursion is bounded by the data's depth. Validation
 * also has a step budget against adversarial schema/data combinations. */
#ifndef EVD_SCHEMA_H
#define EVD_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/json.h"

typedef struct schema_doc schema_doc;   /* one spec file: its tree and compiled nodes */
typedef struct schema_node schema_node; /* one compiled schema (opaque) */

/* A load or compile error: "file:line: reason" in message, line separately. */
typedef struct schema_error {
  int line;
  char message[768];
} schema_error;

typedef enum schema_format {
  SCHEMA_AUTO, /* by file name: .json is JSON, anything else YAML (JSON is valid YAML too) */
  SCHEMA_JSON,
  SCHEMA_YAML
} schema_format;

/* Parse a spec file held in text[0..len); name is used in error messages and kept. Nothing
 * is compiled yet. Returns the document (free with schema_doc_free) or NULL with *err. */
schema_doc *schema_doc_parse(const char *name, const char *text, size_t len, schema_format fmt, schema_error *err);

/* Read and parse the file at path. NULL with *err ("path: No such file or directory"). */
schema_doc *schema_doc_load_file(const char *path, schema_error *err);

/* Free the document and every schema compiled from it. */
void schema_doc_free(schema_doc *d);

/* The file name given at parse time. */
const char *schema_doc_name(const schema_doc *d);

/* Whether the file is Swagger 2.0 (has a top-level `swagger` key). */
int schema_doc_is_swagger(const schema_doc *d);

/* The object holding the file's named schemas: `definitions` (Swagger 2.0, draft-7),
 * else `$defs`, else `components.schemas` (OpenAPI 3); NULL when there is none. Members
 * carry their names (key) and lines (offset). */
const json_value *schema_doc_definitions(const schema_doc *d);

/* The source of the named schema in schema_doc_definitions, or NULL. */
const json_value *schema_doc_find_definition(const schema_doc *d, const char *name, size_t len);

/* The document root. */
const json_value *schema_doc_root(const schema_doc *d);

/* Compile the schema whose source is src (a node of this document's tree, e.g. from
 * schema_doc_find_definition); `where` names it in errors ("definitions.attach_success").
 * Compiling is memoized per source node, so calling it again, or for a definition that
 * another one refers to, costs nothing. Returns the compiled schema (owned by the document)
 * or NULL with *err ("spec.yml:12: definitions.x.properties.y.minimum: expected a number,
 * got string"). After an error the document should only be freed. */
const schema_node *schema_doc_compile(schema_doc *d, const json_value *src, const char *where, schema_error *err);

/* Compile every named schema and, unless the file is Swagger/OpenAPI, the root: the check
 * behind `eventctl schema check`. Returns 0 or -1 with *err (the first problem). */
int schema_doc_compile_all(schema_doc *d, schema_error *err);

/* The line of the source node a compiled schema came from. */
int schema_node_line(const schema_node *s);

/* Collect the property names a closed root object may have: properties of s and, through
 * $ref and allOf/anyOf/oneOf, of the schemas that apply to the same object. Calls fn for
 * each name (duplicates possible). Returns 0, or the first non-zero fn result. */
int schema_root_property_names(const schema_node *s, int (*fn)(void *ctx, const char *name, size_t len), void *ctx);

/* ---- validation ------------------------------------------------------------------------- */

#define SCHEMA_DEFAULT_STEP_BUDGET 10000000u

typedef struct schema_validate_opts {
  size_t max_errors;      /* errors to collect; 0 means 1 (stop at the first) */
  uint64_t step_budget;   /* units of work before giving up; 0 = SCHEMA_DEFAULT_STEP_BUDGET */
  int open_root;          /* ignore additionalProperties at the root object */
  int reference_mode;     /* for tests: skip every fast path (the answer must not change) */
} schema_validate_opts;

/* Validate data against s. root names the data in error paths ("data"). errs has room
 * for opts->max_errors entries (1 when opts is NULL). Each error holds the JSON path
 * ("data.list_of_service_data[2].rating_group", keys that are not plain words in brackets:
 * data["a.b"]) and the rule ("must be >= 0", "expected integer, got string", "missing
 * required property 'imsi'", "additional property not allowed"). data NULL is validated
 * as an absent value would be: like an empty object.
 * Returns the number of errors written (0 = valid). Does not allocate; thread-safe. */
size_t schema_validate(const schema_node *s, const json_value *data, const char *root,
                       const schema_validate_opts *opts, evd_field_error *errs);

/* ---- helpers shared with the tests ------------------------------------------------------ */

/* Number of Unicode code points in the UTF-8 text s[0..n). */
size_t utf8_codepoints(const char *s, size_t n);
/* Format checks on s[0..n): 1 when valid, 0 when not. */
int format_is_date_time(const char *s, size_t n);
int format_is_date(const char *s, size_t n);
int format_is_ipv4(const char *s, size_t n);
int format_is_ipv6(const char *s, size_t n);
int format_is_uuid(const char *s, size_t n);
int format_is_byte(const char *s, size_t n);
int format_is_email(const char *s, size_t n);

#endif
