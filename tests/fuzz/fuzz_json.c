/* Fuzz target for core/json: parse; when the input is accepted, serialize it, parse the
 * output again (must succeed) and serialize again (must be byte-identical). Also checks
 * that every decoded string is valid UTF-8 and that the writer's output is too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

/* Every STRING and key in the tree is valid UTF-8 and NUL-terminated at its length. */
static void check_strings(const json_value *v) {
  for (; v; v = v->next) {
    if (v->key && (!utf8_valid(v->key, v->key_len) || v->key[v->key_len] != '\0')) abort();
    if (v->type == JSON_STRING && (!utf8_valid(v->s, v->n) || v->s[v->n] != '\0')) abort();
    if (v->type == JSON_NUMBER) {
      double d;
      if (json_as_double(v, &d) != 0) abort();
      int64_t i;
      if (json_as_int64(v, &i) == 0 && !json_is_integer(v)) abort();
    }
    if (v->type == JSON_ARRAY || v->type == JSON_OBJECT) check_strings(v->child);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  arena a;
  arena_init(&a, 4096);
  json_error err;
  json_value *v = json_parse(&a, (const char *)data, size, JSON_DEFAULT_MAX_DEPTH, &err);
  if (!v) {
    if (err.message[0] == '\0' || err.offset > size) abort();
    arena_free(&a);
    return 0;
  }
  check_strings(v);
  buf b1 = BUF_INIT, b2 = BUF_INIT;
  if (json_write_value(&b1, v) != 0) abort();
  if (!utf8_valid(b1.data, b1.len)) abort();
  json_value *v2 = json_parse(&a, b1.data, b1.len, JSON_DEFAULT_MAX_DEPTH, &err);
  if (!v2) {
    fprintf(stderr, "re-parse failed: %s\n%s\n", err.message, b1.data);
    abort();
  }
  if (json_write_value(&b2, v2) != 0) abort();
  if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0) {
    fprintf(stderr, "round trip differs:\n%s\n%s\n", b1.data, b2.data);
    abort();
  }
  buf_free(&b1);
  buf_free(&b2);
  arena_free(&a);
  return 0;
}
