/* Unit tests of core/json: strict parsing, error messages, accessors, writer. */
#include "core/json.h"

#include "test.h"

/* Parse NUL-terminated text with the default depth; asserts nothing. */
static json_value *parse(arena *a, const char *text, json_error *err) {
  return json_parse(a, text, strlen(text), JSON_DEFAULT_MAX_DEPTH, err);
}

/* Assert that text is refused and "<message> at offset <offset>" contains `needle`. */
static void expect_error(const char *text, size_t len, const char *needle) {
  arena a;
  arena_init(&a, 0);
  json_error err;
  json_value *v = json_parse(&a, text, len, JSON_DEFAULT_MAX_DEPTH, &err);
  char full[200] = "";
  if (!v) snprintf(full, sizeof full, "%s at offset %zu", err.message, err.offset);
  if (v != NULL || strstr(full, needle) == NULL || strstr(err.message, " at offset ")) {
    fprintf(stderr, "input %.*s: got %s, \"%s\", wanted \"%s\"\n", (int)len, text,
            v ? "success" : "error", full, needle);
    abort();
  }
  arena_free(&a);
}
#define EXPECT_ERROR(lit, needle) expect_error(lit, sizeof(lit) - 1, needle)

/* Assert that text parses and re-serializes compactly to `want`. */
static void expect_canonical(const char *text, const char *want) {
  arena a;
  arena_init(&a, 0);
  json_error err;
  json_value *v = parse(&a, text, &err);
  if (!v) {
    fprintf(stderr, "input %s: %s\n", text, err.message);
    abort();
  }
  buf b = BUF_INIT;
  ASSERT(json_write_value(&b, v) == 0);
  ASSERT_EQ_STR(b.data, want);
  buf_free(&b);
  arena_free(&a);
}

TEST_IMPL(json_parses_event_object_and_keeps_member_order) {
  arena a;
  arena_init(&a, 0);
  json_error err;
  const char *text =
      " {\"type\":\"session_created\", \"tag\" : \"IMSI001010000000001\",\n"
      "  \"labels\":{\"env\":\"prod\"},\"n\":[1,-2.5e3,true,false,null],\"empty\":{},\"e2\":[]}\t";
  json_value *v = parse(&a, text, &err);
  ASSERT(v != NULL);
  ASSERT_EQ_INT(v->type, JSON_OBJECT);
  ASSERT_EQ_INT(v->n, 6);
  const json_value *m = v->child;
  ASSERT_EQ_MEM(m->key, m->key_len, "type");
  ASSERT_EQ_MEM(m->s, m->n, "session_created");
  m = m->next;
  ASSERT_EQ_MEM(m->key, m->key_len, "tag");
  m = m->next;
  ASSERT_EQ_MEM(m->key, m->key_len, "labels");
  ASSERT_EQ_INT(m->type, JSON_OBJECT);
  ASSERT_EQ_MEM(m->child->s, m->child->n, "prod");
  const json_value *arr = json_get(v, "n");
  ASSERT(arr && arr->type == JSON_ARRAY && arr->n == 5);
  ASSERT_EQ_MEM(arr->child->next->s, arr->child->next->n, "-2.5e3");
  ASSERT_EQ_INT(arr->child->next->next->type, JSON_TRUE);
  ASSERT_EQ_INT(arr->child->next->next->next->type, JSON_FALSE);
  ASSERT_EQ_INT(arr->child->next->next->next->next->type, JSON_NULL);
  ASSERT(json_get(v, "empty")->n == 0 && json_get(v, "empty")->child == NULL);
  ASSERT(json_get(v, "missing") == NULL);
  ASSERT_EQ_INT(json_get(v, "tag")->offset, 36);
  arena_free(&a);
  return 0;
}

TEST_IMPL(json_decodes_escapes_and_surrogate_pairs) {
  arena a;
  arena_init(&a, 0);
  json_error err;
  json_value *v = parse(&a, "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u20ac\\ud83d\\ude00\\u0041\"", &err);
  ASSERT(v != NULL);
  ASSERT_EQ_MEM(v->s, v->n, "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "A");
  ASSERT_EQ_INT(v->s[v->n], '\0');
  /* Upper-case hex digits and raw (unescaped) UTF-8 are fine too. */
  v = parse(&a, "\"\\u00E9 \xc3\xa9 \xf0\x9f\x98\x80\"", &err);
  ASSERT(v != NULL);
  ASSERT_EQ_MEM(v->s, v->n, "\xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80");
  arena_free(&a);
  return 0;
}

TEST_IMPL(json_string_with_escaped_nul_keeps_its_length) {
  arena a;
  arena_init(&a, 0);
  json_error err;
  json_value *v = parse(&a, "{\"k\\u0000x\":\"a\\u0000b\"}", &err);
  ASSERT(v != NULL);
  ASSERT_EQ_INT(v->child->key_len, 3);
  ASSERT(memcmp(v->child->key, "k\0x", 3) == 0);
  ASSERT_EQ_INT(v->child->n, 3);
  ASSERT(memcmp(v->child->s, "a\0b", 3) == 0);
  buf b = BUF_INIT;
  ASSERT(json_write_value(&b, v) == 0);
  ASSERT_EQ_STR(b.data, "{\"k\\u0000x\":\"a\\u0000b\"}");
  buf_free(&b);
  arena_free(&a);
  return 0;
}

TEST_IMPL(json_rejects_invalid_utf8) {
  EXPECT_ERROR("\"\xc0\x80\"", "invalid UTF-8");          /* overlong NUL */
  EXPECT_ERROR("\"\xc1\xbf\"", "invalid UTF-8");          /* overlong */
  EXPECT_ERROR("\"\xe0\x80\x80\"", "invalid UTF-8");      /* overlong 3-byte */
  EXPECT_ERROR("\"\xed\xa0\x80\"", "invalid UTF-8");      /* encoded surrogate U+D800 */
  EXPECT_ERROR("\"\xf0\x80\x80\x80\"", "invalid UTF-8");  /* overlong 4-byte */
  EXPECT_ERROR("\"\xf4\x90\x80\x80\"", "invalid UTF-8");  /* above U+10FFFF */
  EXPECT_ERROR("\"\xf5\x80\x80\x80\"", "invalid UTF-8");
  EXPECT_ERROR("\"\x80\"", "invalid UTF-8");              /* lone continuation */
  EXPECT_ERROR("\"\xc3\"", "invalid UTF-8");              /* truncated before quote */
  EXPECT_ERROR("\"abcdefghijkl\xc3(\"", "invalid UTF-8"); /* bad continuation, after SWAR run */
  EXPECT_ERROR("\"\xff\"", "invalid UTF-8");
  EXPECT_ERROR("{\"k\xe2\x82\":1}", "invalid UTF-8");     /* in a key */
  /* Offsets point at the bad byte. */
  EXPECT_ERROR("[\"ok\",\"ab\xc0\x80\"]", "invalid UTF-8 at offset 9");
  /* Valid edge cases are accepted. */
  expect_canonical("\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"",
                   "\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"");
  return 0;
}

TEST_IMPL(json_rejects_lone_surrogates_and_bad_escapes) {
  EXPECT_ERROR("\"\\ud800\"", "lone high surrogate \\ud800");
  EXPECT_ERROR("\"\\ud800x\"", "lone high surrogate");
  EXPECT_ERROR("\"\\ud800\\u0041\"", "lone high surrogate");
  EXPECT_ERROR("\"\\ud800\\ud800\"", "lone high surrogate");
  EXPECT_ERROR("\"\\udc00\"", "lone low surrogate \\udc00");
  EXPECT_ERROR("\"\\ude00\\ud83d\"", "lone low surrogate");
  EXPECT_ERROR("\"\\u12\"", "invalid \\u escape");
  EXPECT_ERROR("\"\\u12g4\"", "invalid \\u escape");
  EXPECT_ERROR("\"\\x41\"", "invalid escape '\\x'");
  EXPECT_ERROR("\"\\'\"", "invalid escape");
  EXPECT_ERROR("\"abc\\", "unterminated string");
  return 0;
}

TEST_IMPL(json_rejects_control_characters_in_strings) {
  EXPECT_ERROR("\"a\nb\"", "unescaped control character 0x0a in string at offset 2");
  EXPECT_ERROR("\"tab\there\"", "control character 0x09");
  EXPECT_ERROR("\"0123456789abcdef\x1f\"", "control character 0x1f in string at offset 17");
  EXPECT_ERROR("{\"a\x01\":1}", "control character 0x01");
  static const char nul[] = {'"', 'a', '\0', 'b', '"'};
  expect_error(nul, sizeof nul, "control character 0x00");
  /* DEL (0x7f) is not a control character in JSON. */
  expect_canonical("\"a\x7f\"", "\"a\x7f\"");
  return 0;
}

TEST_IMPL(json_rejects_trailing_commas) {
  EXPECT_ERROR("[1,2,]", "trailing comma in array at offset 4");
  EXPECT_ERROR("{\"a\":1,}", "trailing comma in object at offset 6");
  EXPECT_ERROR("{\"a\":1 , \n}", "trailing comma in object");
  EXPECT_ERROR("[,1]", "unexpected character ','");
  EXPECT_ERROR("[1,,2]", "unexpected character ','");
  EXPECT_ERROR("{,}", "unexpected character ','");
  return 0;
}

TEST_IMPL(json_rejects_bad_numbers) {
  EXPECT_ERROR("01", "leading zero");
  EXPECT_ERROR("[-01]", "leading zero");
  EXPECT_ERROR("00", "leading zero");
  EXPECT_ERROR("-", "expected a digit after '-'");
  EXPECT_ERROR("1.", "expected a digit after '.'");
  EXPECT_ERROR("1.e5", "expected a digit after '.'");
  EXPECT_ERROR(".5", "unexpected character '.'");
  EXPECT_ERROR("+1", "unexpected character '+'");
  EXPECT_ERROR("1e", "exponent");
  EXPECT_ERROR("1e+", "exponent");
  EXPECT_ERROR("NaN", "NaN is not valid JSON");
  EXPECT_ERROR("[Infinity]", "unexpected character 'I'");
  EXPECT_ERROR("-Infinity", "Infinity is not valid JSON");
  EXPECT_ERROR("0x10", "unexpected character 'x' after the JSON value");
  EXPECT_ERROR("1 2", "unexpected character '2' after the JSON value at offset 2");
  /* Valid forms. */
  expect_canonical("[0,-0,0.5,-0.0e-0,1E+2,1e400,123456789012345678901234567890]",
                   "[0,-0,0.5,-0.0e-0,1E+2,1e400,123456789012345678901234567890]");
  return 0;
}

TEST_IMPL(json_rejects_duplicate_keys_in_small_and_large_objects) {
  EXPECT_ERROR("{\"type\":1,\"a\":2,\"type\":3}", "duplicate key 'type' at offset 16");
  EXPECT_ERROR("{\"a\":{\"x\":1,\"x\":2}}", "duplicate key 'x'");
  /* Keys that differ only after an escaped NUL are distinct. */
  expect_canonical("{\"a\\u0000b\":1,\"a\\u0000c\":2}", "{\"a\\u0000b\":1,\"a\\u0000c\":2}");
  /* Same key spelled with an escape is a duplicate. */
  EXPECT_ERROR("{\"ab\":1,\"a\\u0062\":2}", "duplicate key 'ab'");
  /* Large objects go through the hash table: a duplicate late, and no false positive. */
  buf b = BUF_INIT;
  for (int dup_at = -1; dup_at < 1000; dup_at += 337) {
    buf_clear(&b);
    ASSERT(buf_putc(&b, '{') == 0);
    for (int i = 0; i < 1000; i++) {
      int k = (i == 999 && dup_at >= 0) ? dup_at : i;
      ASSERT(buf_printf(&b, "%s\"key%d\":%d", i ? "," : "", k, i) == 0);
    }
    ASSERT(buf_putc(&b, '}') == 0);
    arena a;
    arena_init(&a, 0);
    json_error err;
    json_value *v = json_parse(&a, b.data, b.len, 64, &err);
    if (dup_at < 0) {
      ASSERT(v != NULL);
      ASSERT_EQ_INT(v->n, 1000);
    } else {
      ASSERT(v == NULL);
      char want[64];
      snprintf(want, sizeof want, "duplicate key 'key%d'", dup_at);
      ASSERT(strstr(err.message, want) != NULL);
    }
    arena_free(&a);
  }
  buf_free(&b);
  /* A long duplicate key is shown shortened. */
  char text[300];
  char key[101];
  memset(key, 'k', 100);
  key[100] = '\0';
  snprintf(text, sizeof text, "{\"%s\":1,\"%s\":2}", key, key);
  expect_error(text, strlen(text), "duplicate key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...'");
  return 0;
}

/* Nested arrays/objects `depth` deep. */
static void nested(buf *b, int depth, int objects) {
  buf_clear(b);
  for (int i = 0; i < depth; i++) buf_puts(b, objects ? "{\"a\":" : "[");
  buf_puts(b, "1");
  for (int i = 0; i < depth; i++) buf_puts(b, objects ? "}" : "]");
}

TEST_IMPL(json_enforces_nesting_depth) {
  buf b = BUF_INIT;
  arena a;
  arena_init(&a, 0);
  json_error err;
  for (int objects = 0; objects < 2; objects++) {
    nested(&b, 64, objects);
    ASSERT(json_parse(&a, b.data, b.len, 64, &err) != NULL);
    nested(&b, 65, objects);
    ASSERT(json_parse(&a, b.data, b.len, 64, &err) == NULL);
    ASSERT_EQ_STR(err.message, "nesting deeper than 64");
    ASSERT_EQ_U64(err.offset, objects ? 320 : 64);
    nested(&b, 3, objects);
    ASSERT(json_parse(&a, b.data, b.len, 2, &err) == NULL);
    ASSERT(strstr(err.message, "nesting deeper than 2") != NULL);
  }
  /* Deep hostile input fails fast without exhausting the stack. */
  buf_clear(&b);
  for (int i = 0; i < 100000; i++) buf_putc(&b, '[');
  ASSERT(json_parse(&a, b.data, b.len, 64, &err) == NULL);
  ASSERT_EQ_U64(err.offset, 64);
  arena_free(&a);
  buf_free(&b);
  return 0;
}

TEST_IMPL(json_error_messages_name_the_problem_and_offset) {
  EXPECT_ERROR("{\"type\":\"x\",\"a\":}", "unexpected character '}' at offset 16");
  EXPECT_ERROR("{\"type\":\"x\"", "unexpected end of input at offset 11");
  EXPECT_ERROR("{\"type\" \"x\"}", "unexpected character '\"' (expected ':') at offset 8");
  EXPECT_ERROR("{\"a\":1 \"b\":2}", "unexpected character '\"' (expected ',' or '}')");
  EXPECT_ERROR("[1 2]", "unexpected character '2' (expected ',' or ']')");
  EXPECT_ERROR("{a:1}", "unexpected character 'a' (expected a string key) at offset 1");
  EXPECT_ERROR("\"abc", "unterminated string at offset 0");
  EXPECT_ERROR("[\"x\", \"abc", "unterminated string at offset 6");
  EXPECT_ERROR("", "empty document at offset 0");
  EXPECT_ERROR("  \n ", "empty document");
  EXPECT_ERROR("tru", "unexpected character 't'");
  EXPECT_ERROR("nul", "unexpected character 'n'");
  EXPECT_ERROR("[true false]", "expected ',' or ']'");
  EXPECT_ERROR("\x01", "unexpected byte 0x01 at offset 0");
  EXPECT_ERROR("{} x", "unexpected character 'x' after the JSON value at offset 3");
  EXPECT_ERROR("{}\xc3\xa9", "unexpected byte 0xc3 after the JSON value");
  /* Only the four JSON whitespace characters are allowed around values. */
  EXPECT_ERROR("\f1", "unexpected byte 0x0c");
  EXPECT_ERROR("\v1", "unexpected byte 0x0b");
  return 0;
}

TEST_IMPL(json_parse_reads_only_the_given_length) {
  arena a;
  arena_init(&a, 0);
  json_error err;
  /* A prefix of a longer buffer: the bytes after len must not be looked at. */
  const char *text = "{\"a\":1}garbage";
  ASSERT(json_parse(&a, text, 7, 64, &err) != NULL);
  ASSERT(json_parse(&a, "[1,2]", 4, 64, &err) == NULL);
  ASSERT_EQ_STR(err.message, "unexpected end of input");
  ASSERT_EQ_U64(err.offset, 4);
  /* Exactly-sized heap buffer with no terminator (ASan catches any over-read). */
  const char *lit = "{\"k\":\"abcdefghijklmnopqrstuvwxyz0123456789\",\"n\":12345}";
  size_t n = strlen(lit);
  for (size_t cut = 0; cut <= n; cut++) {
    char *exact = malloc(cut ? cut : 1);
    memcpy(exact, lit, cut);
    json_value *v = json_parse(&a, exact, cut, 64, &err);
    ASSERT((v != NULL) == (cut == n));
    free(exact);
  }
  arena_free(&a);
  return 0;
}

TEST_IMPL(json_number_accessors_are_exact) {
  arena a;
  arena_init(&a, 0);
  json_error err;
  json_value *v = parse(&a,
                        "[9223372036854775807,-9223372036854775808,9223372036854775808,"
                        "-9223372036854775809,1.0,1e3,-0,1700000000.5,1e400,12]",
                        &err);
  ASSERT(v != NULL);
  const json_value *e = v->child;
  int64_t i;
  double d;
  ASSERT(json_as_int64(e, &i) == 0 && i == INT64_MAX);
  e = e->next;
  ASSERT(json_as_int64(e, &i) == 0 && i == INT64_MIN);
  e = e->next;
  ASSERT(json_as_int64(e, &i) == -1); /* overflow */
  ASSERT(json_is_integer(e));
  e = e->next;
  ASSERT(json_as_int64(e, &i) == -1);
  e = e->next;
  ASSERT(!json_is_integer(e) && json_as_int64(e, &i) == -1); /* 1.0 */
  ASSERT(json_as_double(e, &d) == 0 && d == 1.0);
  e = e->next;
  ASSERT(!json_is_integer(e) && json_as_int64(e, &i) == -1); /* 1e3 */
  ASSERT(json_as_double(e, &d) == 0 && d == 1000.0);
  e = e->next;
  ASSERT(json_as_int64(e, &i) == 0 && i == 0);
  e = e->next;
  ASSERT(json_as_double(e, &d) == 0 && d == 1700000000.5);
  e = e->next;
  ASSERT(json_as_double(e, &d) == 0 && d > 1e308); /* overflows to infinity */
  e = e->next;
  ASSERT(json_as_int64(e, &i) == 0 && i == 12);
  /* Non-numbers. */
  ASSERT(json_as_int64(v, &i) == -1);
  ASSERT(json_as_double(v, &d) == -1);
  ASSERT(!json_is_integer(v));
  ASSERT_EQ_STR(json_type_name(JSON_TRUE), "boolean");
  ASSERT_EQ_STR(json_type_name(JSON_NUMBER), "number");
  ASSERT_EQ_STR(json_type_name(JSON_OBJECT), "object");
  arena_free(&a);
  return 0;
}

TEST_IMPL(json_write_string_escapes_quotes_backslashes_and_controls) {
  buf b = BUF_INIT;
  static const char in[] = "say \"hi\"\\ \n\t\r\b\f\x01\x1f\x7f \xc3\xa9 / end";
  ASSERT(json_write_string(&b, in, sizeof in - 1) == 0);
  ASSERT_EQ_STR(b.data,
                "\"say \\\"hi\\\"\\\\ \\n\\t\\r\\b\\f\\u0001\\u001f\x7f \xc3\xa9 / end\"");
  /* Embedded NUL, empty string, and a long run that needs many escapes (buffer growth). */
  buf_clear(&b);
  ASSERT(json_write_string(&b, "a\0b", 3) == 0);
  ASSERT_EQ_STR(b.data, "\"a\\u0000b\"");
  buf_clear(&b);
  ASSERT(json_write_string(&b, "", 0) == 0);
  ASSERT_EQ_STR(b.data, "\"\"");
  buf_clear(&b);
  char many[1000];
  memset(many, '\n', sizeof many);
  ASSERT(json_write_string(&b, many, sizeof many) == 0);
  ASSERT_EQ_U64(b.len, 2 + 2 * sizeof many);
  ASSERT(strlen(b.data) == b.len);
  buf_clear(&b);
  memset(many, 0x02, sizeof many);
  ASSERT(json_write_string(&b, many, sizeof many) == 0);
  ASSERT_EQ_U64(b.len, 2 + 6 * sizeof many);
  /* Appends after what is there. */
  buf_clear(&b);
  buf_puts(&b, "x=");
  ASSERT(json_write_string(&b, "01234567890123456789\"", 21) == 0);
  ASSERT_EQ_STR(b.data, "x=\"01234567890123456789\\\"\"");
  buf_free(&b);
  return 0;
}

TEST_IMPL(json_write_value_round_trips) {
  expect_canonical(" { \"a\" : [ 1 , 2 , { \"b\" : null } ] , \"c\" : \"\\u0041\\n\" } ",
                   "{\"a\":[1,2,{\"b\":null}],\"c\":\"A\\n\"}");
  expect_canonical("[]", "[]");
  expect_canonical("{}", "{}");
  expect_canonical("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
  expect_canonical("  -12.5E-3  ", "-12.5E-3");
  expect_canonical("[true,false,null,[[]],{\"\":{}}]", "[true,false,null,[[]],{\"\":{}}]");
  /* write(parse(write(parse(x)))) == write(parse(x)) */
  const char *x = "{\"s\":\"\\u0001\\\"\\\\/\xe2\x82\xac\",\"n\":[0,1e5,-3]}";
  arena a;
  arena_init(&a, 0);
  json_error err;
  buf b1 = BUF_INIT, b2 = BUF_INIT;
  json_value *v = parse(&a, x, &err);
  ASSERT(v && json_write_value(&b1, v) == 0);
  v = json_parse(&a, b1.data, b1.len, 64, &err);
  ASSERT(v && json_write_value(&b2, v) == 0);
  ASSERT_EQ_STR(b1.data, b2.data);
  buf_free(&b1);
  buf_free(&b2);
  arena_free(&a);
  return 0;
}

TEST_IMPL(json_utf8_valid_accepts_valid_and_refuses_invalid) {
  ASSERT(utf8_valid("", 0));
  ASSERT(utf8_valid("plain ascii text that is longer than eight bytes", 48));
  ASSERT(utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
  ASSERT(utf8_valid("a\0b", 3));
  ASSERT(!utf8_valid("\xc3", 1));
  ASSERT(!utf8_valid("abcdefgh\xc3", 9));
  ASSERT(!utf8_valid("\xed\xbf\xbf", 3)); /* surrogate */
  ASSERT(!utf8_valid("\xc0\xaf", 2));     /* overlong '/' */
  ASSERT(!utf8_valid("\xf4\x90\x80\x80", 4));
  ASSERT(!utf8_valid("\xbf", 1));
  return 0;
}
