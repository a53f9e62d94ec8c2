/* Fuzz target for registry/schema: the input is a JSON schema document and JSON data,
 * separated by the first 0 byte (no 0 byte: the whole input is the schema, data is {}).
 * Compile every definition and the root, then validate the data against each compiled
 * schema. Must never crash, hang (recursion and work are bounded) or leak; checks that
 * collecting several errors agrees with stopping at the first, that validation is
 * deterministic, that the fast paths give the same answer and first error as the full
 * checks (reference mode), and that every error names a path and a rule. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/schema.h"

#define FUZZ_STEP_BUDGET 200000

static void check_one(const schema_node *s, const json_value *data) {
  evd_field_error first, again, many[4];
  schema_validate_opts one = {1, FUZZ_STEP_BUDGET, 0, 0};
  schema_validate_opts four = {4, FUZZ_STEP_BUDGET, 0, 0};
  size_t n1 = schema_validate(s, data, "data", &one, &first);
  size_t n1b = schema_validate(s, data, "data", &one, &again);
  size_t n4 = schema_validate(s, data, "data", &four, many);
  if (n1 > 1 || n4 > 4 || n1 != n1b) abort();
  if ((n1 == 0) != (n4 == 0)) abort(); /* budget exhaustion gives an error in both modes */
  if (n1 && (strcmp(first.field, again.field) != 0 || strcmp(first.reason, again.reason) != 0)) abort();
  for (size_t i = 0; i < n4; i++)
    if (many[i].field[0] == '\0' || many[i].reason[0] == '\0' || strncmp(many[i].field, "data", 4) != 0) abort();
  /* the fast paths decide exactly what the full checks decide */
  schema_validate_opts ref = {4, FUZZ_STEP_BUDGET * 4, 0, 1};
  evd_field_error rerrs[4];
  size_t nr = schema_validate(s, data, "data", &ref, rerrs);
  int budget_hit = (n4 && strstr(many[n4 - 1].reason, "gave up")) || (nr && strstr(rerrs[nr - 1].reason, "gave up"));
  if (!budget_hit) {
    if ((nr == 0) != (n4 == 0)) abort();
    if (nr && (strcmp(rerrs[0].field, many[0].field) != 0 || strcmp(rerrs[0].reason, many[0].reason) != 0)) abort();
  }
  schema_validate_opts open = {1, FUZZ_STEP_BUDGET, 1, 0};
  schema_validate(s, data, "data", &open, &first);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
  const char *text = (const char *)in;
  const char *zero = memchr(text, '\0', size);
  size_t slen = zero ? (size_t)(zero - text) : size;
  schema_error err;
  schema_doc *d = schema_doc_parse("fuzz.json", text, slen, SCHEMA_JSON, &err);
  if (!d) {
    if (err.message[0] == '\0') abort();
    return 0;
  }
  arena a;
  arena_init(&a, 4096);
  json_error jerr;
  const json_value *data = NULL;
  if (zero) {
    data = json_parse(&a, zero + 1, size - slen - 1, 0, &jerr);
    if (!data) goto done;
  }
  const json_value *defs = schema_doc_definitions(d);
  for (const json_value *m = defs ? defs->child : NULL; m; m = m->next) {
    const schema_node *s = schema_doc_compile(d, m, "definitions.x", &err);
    if (!s) {
      if (err.message[0] == '\0') abort();
      goto done;
    }
    check_one(s, data);
  }
  const schema_node *root = schema_doc_compile(d, schema_doc_root(d), "(root)", &err);
  if (!root) {
    if (err.message[0] == '\0') abort();
    goto done;
  }
  check_one(root, data);
done:
  arena_free(&a);
  schema_doc_free(d);
  return 0;
}
