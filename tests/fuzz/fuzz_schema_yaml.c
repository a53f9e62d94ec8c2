/* Fuzz target for registry/yamltree and the YAML path of registry/schema: parse the input
 * as a YAML spec file, compile everything in it (schema_doc_compile_all), and validate an
 * empty object and the document's own tree against each definition. Must never crash,
 * hang or leak; every error must carry a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size) {
  schema_error err;
  schema_doc *d = schema_doc_parse("fuzz.yml", (const char *)in, size, SCHEMA_YAML, &err);
  if (!d) {
    if (err.message[0] == '\0') abort();
    return 0;
  }
  if (schema_doc_compile_all(d, &err) != 0) {
    if (err.message[0] == '\0') abort();
    schema_doc_free(d);
    return 0;
  }
  const json_value *defs = schema_doc_definitions(d);
  for (const json_value *m = defs ? defs->child : NULL; m; m = m->next) {
    const schema_node *s = schema_doc_compile(d, m, "definitions.x", &err);
    if (!s) abort(); /* compile_all succeeded: compiling again is a memo hit */
    evd_field_error e;
    schema_validate_opts o = {1, 200000, 0, 0};
    schema_validate(s, NULL, "data", &o, &e);
    if (schema_validate(s, schema_doc_root(d), "data", &o, &e) && (e.field[0] == '\0' || e.reason[0] == '\0'))
      abort();
  }
  schema_doc_free(d);
  return 0;
}
