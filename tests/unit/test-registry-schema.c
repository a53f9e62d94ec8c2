/* Tests of registry/schema*.c: every keyword accepts and rejects with the exact path and
 * rule, $ref (also recursive), composition, formats, lengths in code points, integer
 * dialects, compile errors with file:line. */
#include "registry/schema.h"
#include "registry/schema_internal.h"
#include "test.h"

/* Validate the JSON data against a schema and return "ok" or "path: reason" (malloc'd).
 * doc is a JSON document; the schema is its definition `def` or, when def is NULL, its
 * root. max > 1 collects up to max errors, joined by " | ". */
static char *vres_ex(const char *doc, const char *def, const char *data, size_t max) {
  schema_error serr;
  schema_doc *d = schema_doc_parse("test.json", doc, strlen(doc), SCHEMA_JSON, &serr);
  if (!d) {
    fprintf(stderr, "schema does not parse: %s\n", serr.message);
    abort();
  }
  const json_value *src = def ? schema_doc_find_definition(d, def, strlen(def)) : schema_doc_root(d);
  if (!src) abort();
  const schema_node *s = schema_doc_compile(d, src, def ? def : "(root)", &serr);
  if (!s) {
    fprintf(stderr, "schema does not compile: %s\n", serr.message);
    abort();
  }
  arena a;
  arena_init(&a, 0);
  json_error jerr;
  json_value *v = json_parse(&a, data, strlen(data), 0, &jerr);
  if (!v) {
    fprintf(stderr, "test data is not JSON: %s\n", jerr.message);
    abort();
  }
  evd_field_error errs[8];
  schema_validate_opts o = {max, 0, 0, 0};
  size_t n = schema_validate(s, v, "data", &o, errs);
  buf out = BUF_INIT;
  if (n == 0) buf_puts(&out, "ok");
  for (size_t i = 0; i < n; i++) buf_printf(&out, "%s%s: %s", i ? " | " : "", errs[i].field, errs[i].reason);
  /* Every expectation also holds with the fast paths switched off. */
  evd_field_error ref[8];
  schema_validate_opts ro = {max, 0, 0, 1};
  size_t nr = schema_validate(s, v, "data", &ro, ref);
  if (nr != n) {
    fprintf(stderr, "reference mode disagrees: %zu errors, fast %zu (%s)\n", nr, n, out.data);
    abort();
  }
  for (size_t i = 0; i < n; i++)
    if (strcmp(ref[i].field, errs[i].field) != 0 || strcmp(ref[i].reason, errs[i].reason) != 0) {
      fprintf(stderr, "reference mode disagrees: %s: %s\n", ref[i].field, ref[i].reason);
      abort();
    }
  arena_free(&a);
  schema_doc_free(d);
  return buf_steal(&out);
}

static char *vres(const char *schema, const char *data) { return vres_ex(schema, NULL, data, 1); }

#define EXPECT(schema, data, want)           \
  do {                                       \
    char *got_ = vres((schema), (data));     \
    ASSERT_EQ_STR(got_, (want));             \
    free(got_);                              \
  } while (0)

#define EXPECT_DEF(doc, def, data, want)              \
  do {                                                \
    char *got_ = vres_ex((doc), (def), (data), 1);    \
    ASSERT_EQ_STR(got_, (want));                      \
    free(got_);                                       \
  } while (0)

/* The compile error of a document (all of it) or "ok" (static buffer). */
static const char *cerr(const char *name, const char *doc) {
  static schema_error serr;
  schema_doc *d = schema_doc_parse(name, doc, strlen(doc), SCHEMA_AUTO, &serr);
  if (!d) return serr.message;
  int rc = schema_doc_compile_all(d, &serr);
  schema_doc_free(d);
  return rc ? serr.message : "ok";
}

TEST_IMPL(schema_type_checks_each_json_type) {
  EXPECT("{\"type\":\"string\"}", "\"x\"", "ok");
  EXPECT("{\"type\":\"string\"}", "1", "data: expected string, got integer");
  EXPECT("{\"type\":\"string\"}", "1.5", "data: expected string, got number");
  EXPECT("{\"type\":\"boolean\"}", "false", "ok");
  EXPECT("{\"type\":\"boolean\"}", "null", "data: expected boolean, got null");
  EXPECT("{\"type\":\"null\"}", "null", "ok");
  EXPECT("{\"type\":\"null\"}", "0", "data: expected null, got integer");
  EXPECT("{\"type\":\"array\"}", "[]", "ok");
  EXPECT("{\"type\":\"array\"}", "{}", "data: expected array, got object");
  EXPECT("{\"type\":\"object\"}", "{}", "ok");
  EXPECT("{\"type\":\"object\"}", "[]", "data: expected object, got array");
  EXPECT("{\"type\":\"number\"}", "1", "ok");
  EXPECT("{\"type\":\"number\"}", "-1.5e-3", "ok");
  EXPECT("{\"type\":\"number\"}", "\"1\"", "data: expected number, got string");
  EXPECT("{\"type\":\"integer\"}", "42", "ok");
  EXPECT("{\"type\":\"integer\"}", "\"42\"", "data: expected integer, got string");
  EXPECT("{\"type\":\"integer\"}", "4.2", "data: expected integer, got number");
  EXPECT("{\"type\":[\"string\",\"null\"]}", "null", "ok");
  EXPECT("{\"type\":[\"string\",\"null\"]}", "\"a\"", "ok");
  EXPECT("{\"type\":[\"string\",\"null\"]}", "true", "data: expected string or null, got boolean");
  EXPECT("{\"type\":[\"null\",\"integer\",\"object\"]}", "[]", "data: expected object, integer or null, got array");
  EXPECT("{}", "[1,{\"a\":null}]", "ok"); /* no type: anything */
  return 0;
}

/* draft-7 (and unversioned JSON Schema): an integer is any number with a zero fraction.
 * Swagger 2.0 and draft-04: only numbers written without fraction or exponent. */
TEST_IMPL(schema_integer_dialects) {
  EXPECT("{\"type\":\"integer\"}", "1.0", "ok");
  EXPECT("{\"type\":\"integer\"}", "1e3", "ok");
  EXPECT("{\"type\":\"integer\"}", "12.50e1", "ok");
  EXPECT("{\"type\":\"integer\"}", "1e-3", "data: expected integer, got number");
  EXPECT("{\"type\":\"integer\"}", "1000e-3", "ok");
  EXPECT("{\"type\":\"integer\"}", "1001e-3", "data: expected integer, got number");
  EXPECT("{\"type\":\"integer\"}", "-0.0", "ok");
  EXPECT("{\"type\":\"integer\"}", "123456789012345678901234567890", "ok");
  EXPECT("{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"integer\"}", "2.0", "ok");
  EXPECT("{\"$schema\":\"http://json-schema.org/draft-04/schema#\",\"type\":\"integer\"}", "2.0",
         "data: expected integer, got number");
  const char *sw = "{\"swagger\":\"2.0\",\"definitions\":{\"t\":{\"type\":\"object\","
                   "\"properties\":{\"pdp_start_time\":{\"type\":\"integer\"}}}}}";
  EXPECT_DEF(sw, "t", "{\"pdp_start_time\":1700000000}", "ok");
  EXPECT_DEF(sw, "t", "{\"pdp_start_time\":1.0}", "data.pdp_start_time: expected integer, got number");
  EXPECT_DEF(sw, "t", "{\"pdp_start_time\":\"1700000000\"}", "data.pdp_start_time: expected integer, got string");
  return 0;
}

TEST_IMPL(schema_required_and_properties_with_paths) {
  const char *s = "{\"type\":\"object\",\"required\":[\"imsi\",\"apn\"],"
                  "\"properties\":{\"imsi\":{\"type\":\"string\"},\"n\":{\"type\":\"integer\"},"
                  "\"list\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":"
                  "{\"rating_group\":{\"type\":\"integer\",\"minimum\":0}}}}}}";
  EXPECT(s, "{\"imsi\":\"1\",\"apn\":\"x\"}", "ok");
  EXPECT(s, "{\"apn\":\"x\"}", "data: missing required property 'imsi'");
  EXPECT(s, "{\"imsi\":\"1\"}", "data: missing required property 'apn'");
  EXPECT(s, "{\"imsi\":1,\"apn\":\"x\"}", "data.imsi: expected string, got integer");
  EXPECT(s, "{\"imsi\":\"1\",\"apn\":\"x\",\"other\":[1]}", "ok"); /* additional allowed by default */
  EXPECT(s,
         "{\"imsi\":\"1\",\"apn\":\"x\",\"list\":[{\"rating_group\":1},{\"rating_group\":0},"
         "{\"rating_group\":-1}]}",
         "data.list[2].rating_group: must be >= 0");
  /* required names that are not in properties still count */
  EXPECT("{\"required\":[\"a\"],\"additionalProperties\":false}", "{\"a\":1}", "data.a: additional property not allowed");
  /* a schema with many properties uses the hash index */
  EXPECT("{\"required\":[\"p9\"],\"properties\":{\"p0\":{},\"p1\":{},\"p2\":{},\"p3\":{},\"p4\":{},\"p5\":{},"
         "\"p6\":{},\"p7\":{},\"p8\":{},\"p9\":{\"type\":\"string\"},\"p10\":{}}}",
         "{\"p10\":1,\"p9\":2}", "data.p9: expected string, got integer");
  EXPECT("{\"required\":[\"p9\"],\"properties\":{\"p0\":{},\"p1\":{},\"p2\":{},\"p3\":{},\"p4\":{},\"p5\":{},"
         "\"p6\":{},\"p7\":{},\"p8\":{},\"p9\":{\"type\":\"string\"},\"p10\":{}}}",
         "{\"p10\":1}", "data: missing required property 'p9'");
  return 0;
}

TEST_IMPL(schema_additional_properties) {
  const char *closed = "{\"properties\":{\"foo\":{\"type\":\"string\"}},\"additionalProperties\":false}";
  EXPECT(closed, "{\"foo\":\"x\"}", "ok");
  EXPECT(closed, "{\"foo\":\"x\",\"bar\":1}", "data.bar: additional property not allowed");
  const char *typed = "{\"properties\":{\"foo\":{}},\"additionalProperties\":{\"type\":\"integer\"}}";
  EXPECT(typed, "{\"foo\":\"x\",\"a\":1,\"b\":2}", "ok");
  EXPECT(typed, "{\"foo\":\"x\",\"a\":1,\"b\":\"2\"}", "data.b: expected integer, got string");
  EXPECT("{\"additionalProperties\":true}", "{\"a\":1}", "ok");
  /* nested objects report their own path */
  EXPECT("{\"properties\":{\"o\":{\"additionalProperties\":false}}}", "{\"o\":{\"x\":1}}",
         "data.o.x: additional property not allowed");
  return 0;
}

TEST_IMPL(schema_items_tuples_and_array_sizes) {
  EXPECT("{\"items\":{\"type\":\"string\"}}", "[\"a\",\"b\"]", "ok");
  EXPECT("{\"items\":{\"type\":\"string\"}}", "[\"a\",2]", "data[1]: expected string, got integer");
  EXPECT("{\"items\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", "[\"a\",2,null]", "ok");
  EXPECT("{\"items\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}", "[\"a\",\"b\"]", "data[1]: expected integer, got string");
  EXPECT("{\"items\":[{}],\"additionalItems\":false}", "[1,2]", "data[1]: additional item not allowed (at most 1 items)");
  EXPECT("{\"items\":[{}],\"additionalItems\":{\"type\":\"boolean\"}}", "[1,true,3]", "data[2]: expected boolean, got integer");
  EXPECT("{\"minItems\":2,\"maxItems\":3}", "[1,2]", "ok");
  EXPECT("{\"minItems\":2,\"maxItems\":3}", "[1]", "data: must have at least 2 items");
  EXPECT("{\"minItems\":2,\"maxItems\":3}", "[1,2,3,4]", "data: must have at most 3 items");
  EXPECT("{\"minItems\":2}", "\"not an array\"", "ok"); /* array keywords ignore other types */
  EXPECT("{\"uniqueItems\":true}", "[1,2,\"1\",[1],{\"a\":1}]", "ok");
  EXPECT("{\"uniqueItems\":true}", "[1,2,1.0]", "data: items must be unique ([0] and [2] are equal)");
  EXPECT("{\"uniqueItems\":true}", "[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1}]", "data: items must be unique ([0] and [1] are equal)");
  EXPECT("{\"uniqueItems\":false}", "[1,1]", "ok");
  EXPECT("{\"contains\":{\"type\":\"integer\"}}", "[\"a\",3]", "ok");
  EXPECT("{\"contains\":{\"type\":\"integer\"}}", "[\"a\",\"b\"]",
         "data: must contain at least one item matching the contains schema");
  return 0;
}

TEST_IMPL(schema_enum_and_const) {
  EXPECT("{\"enum\":[\"gprd\",\"gstg\"]}", "\"gstg\"", "ok");
  EXPECT("{\"enum\":[\"gprd\",\"gstg\"]}", "\"prod\"", "data: must be one of \"gprd\", \"gstg\"");
  EXPECT("{\"enum\":[1,null,[1,2],{\"a\":true}]}", "1.0", "ok");
  EXPECT("{\"enum\":[1,null,[1,2],{\"a\":true}]}", "{\"a\":true}", "ok");
  EXPECT("{\"enum\":[1,null,[1,2],{\"a\":true}]}", "[2,1]", "data: must be one of 1, null, [...], {...}");
  EXPECT("{\"const\":\"VM.CREATE\"}", "\"VM.CREATE\"", "ok");
  EXPECT("{\"const\":\"VM.CREATE\"}", "\"VM.STOP\"", "data: must be equal to \"VM.CREATE\"");
  EXPECT("{\"const\":0}", "-0", "ok");
  EXPECT("{\"const\":false}", "0", "data: must be equal to false");
  EXPECT("{\"const\":null}", "null", "ok");
  return 0;
}

TEST_IMPL(schema_numeric_bounds_both_exclusive_forms) {
  EXPECT("{\"minimum\":0,\"maximum\":10}", "0", "ok");
  EXPECT("{\"minimum\":0,\"maximum\":10}", "10", "ok");
  EXPECT("{\"minimum\":0,\"maximum\":10}", "-1", "data: must be >= 0");
  EXPECT("{\"minimum\":0,\"maximum\":10}", "10.5", "data: must be <= 10");
  /* draft-6/7 number form */
  EXPECT("{\"exclusiveMinimum\":0,\"exclusiveMaximum\":10}", "0", "data: must be > 0");
  EXPECT("{\"exclusiveMinimum\":0,\"exclusiveMaximum\":10}", "10", "data: must be < 10");
  EXPECT("{\"exclusiveMinimum\":0,\"exclusiveMaximum\":10}", "0.0001", "ok");
  /* draft-4 / Swagger boolean form modifies minimum/maximum */
  EXPECT("{\"minimum\":0,\"exclusiveMinimum\":true}", "0", "data: must be > 0");
  EXPECT("{\"minimum\":0,\"exclusiveMinimum\":false}", "0", "ok");
  EXPECT("{\"maximum\":5,\"exclusiveMaximum\":true}", "5", "data: must be < 5");
  EXPECT("{\"maximum\":5,\"exclusiveMaximum\":true}", "4.99", "ok");
  EXPECT("{\"minimum\":1.5}", "1.49", "data: must be >= 1.5");
  EXPECT("{\"minimum\":0}", "\"-5\"", "ok"); /* numeric keywords ignore strings */
  /* integers beyond 2^53 compare exactly */
  EXPECT("{\"maximum\":9007199254740992}", "9007199254740993", "data: must be <= 9007199254740992");
  EXPECT("{\"maximum\":9007199254740992}", "9007199254740992", "ok");
  EXPECT("{\"minimum\":-9223372036854775808}", "-9223372036854775808", "ok");
  return 0;
}

TEST_IMPL(schema_multiple_of) {
  EXPECT("{\"multipleOf\":5}", "25", "ok");
  EXPECT("{\"multipleOf\":5}", "26", "data: must be a multiple of 5");
  EXPECT("{\"multipleOf\":0.1}", "0.3", "ok");
  EXPECT("{\"multipleOf\":0.01}", "19.99", "ok");
  EXPECT("{\"multipleOf\":0.01}", "19.991", "data: must be a multiple of 0.01");
  EXPECT("{\"multipleOf\":2}", "4.0", "ok");
  EXPECT("{\"multipleOf\":0.123456789}", "1e308", "data: must be a multiple of 0.123456789");
  ASSERT(strstr(cerr("m.json", "{\"multipleOf\":0}"), "multipleOf: must be greater than 0"));
  return 0;
}

TEST_IMPL(schema_string_lengths_count_code_points) {
  EXPECT("{\"minLength\":2,\"maxLength\":3}", "\"ab\"", "ok");
  EXPECT("{\"minLength\":2,\"maxLength\":3}", "\"a\"", "data: must be at least 2 characters long");
  EXPECT("{\"minLength\":2,\"maxLength\":3}", "\"abcd\"", "data: must be at most 3 characters long");
  /* é (2 bytes), 😀 (4 bytes, one code point; \ud83d\ude00 in JSON) */
  EXPECT("{\"maxLength\":3}", "\"\xc3\xa9\xc3\xa9\xc3\xa9\"", "ok");
  EXPECT("{\"maxLength\":2}", "\"\xc3\xa9\xc3\xa9\xc3\xa9\"", "data: must be at most 2 characters long");
  EXPECT("{\"minLength\":2,\"maxLength\":2}", "\"\\ud83d\\ude00\\ud83d\\ude00\"", "ok");
  EXPECT("{\"minLength\":2}", "\"\\ud83d\\ude00\"", "data: must be at least 2 characters long");
  EXPECT("{\"maxLength\":1}", "\"\\ud83d\\ude00\"", "ok");
  EXPECT("{\"maxLength\":0}", "\"\"", "ok");
  EXPECT("{\"minLength\":1}", "5", "ok"); /* string keywords ignore numbers */
  ASSERT_EQ_INT(utf8_codepoints("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10), 4);
  return 0;
}

TEST_IMPL(schema_pattern) {
  const char *s = "{\"pattern\":\"^(IMSI)?[0-9]{5,15}$\"}";
  EXPECT(s, "\"IMSI001011234560000\"", "ok");
  EXPECT(s, "\"001011234560000\"", "ok");
  EXPECT(s, "\"IMSI00101123456000X\"", "data: must match pattern '^(IMSI)?[0-9]{5,15}$'");
  EXPECT("{\"pattern\":\"[0-9]\"}", "\"abc1def\"", "ok"); /* not anchored */
  EXPECT("{\"pattern\":\"[0-9]\"}", "\"abcdef\"", "data: must match pattern '[0-9]'");
  EXPECT("{\"pattern\":\"^.{2}$\"}", "\"\xc3\xa9\xc3\xa9\"", "ok"); /* code points */
  EXPECT("{\"pattern\":\"^a\"}", "7", "ok");
  return 0;
}

TEST_IMPL(schema_formats) {
  EXPECT("{\"format\":\"date-time\"}", "\"2024-06-01T12:00:00Z\"", "ok");
  EXPECT("{\"format\":\"date-time\"}", "\"2024-06-01t12:00:00.123456789+02:00\"", "ok");
  EXPECT("{\"format\":\"date-time\"}", "\"2024-06-01 12:00:00 +0000\"", "data: must be a valid date-time (RFC 3339)");
  EXPECT("{\"format\":\"date-time\"}", "\"2023-02-29T00:00:00Z\"", "data: must be a valid date-time (RFC 3339)");
  ASSERT(format_is_date_time("2024-02-29T00:00:00Z", 20));
  ASSERT(format_is_date_time("1998-12-31T23:59:60Z", 20));
  ASSERT(format_is_date_time("1998-12-31T15:59:60.123-08:00", 29));
  ASSERT(!format_is_date_time("1998-12-31T22:59:60Z", 20));
  ASSERT(!format_is_date_time("2024-06-01T24:00:00Z", 20));
  ASSERT(!format_is_date_time("2024-06-01T12:00:00", 19));
  ASSERT(!format_is_date_time("2024-06-01T12:00:00.Z", 21));
  ASSERT(format_is_date("2000-02-29", 10) && !format_is_date("1900-02-29", 10) && !format_is_date("2024-13-01", 10));
  EXPECT("{\"format\":\"ipv4\"}", "\"192.168.156.10\"", "ok");
  EXPECT("{\"format\":\"ipv4\"}", "\"192.168.156.256\"", "data: must be a valid IPv4 address");
  ASSERT(!format_is_ipv4("1.2.3", 5) && !format_is_ipv4("01.2.3.4", 8) && !format_is_ipv4("1.2.3.4.", 8));
  ASSERT(format_is_ipv4("0.0.0.0", 7) && format_is_ipv4("255.255.255.255", 15));
  EXPECT("{\"format\":\"ipv6\"}", "\"2001:db8::1\"", "ok");
  EXPECT("{\"format\":\"ipv6\"}", "\"::ffff:192.0.2.1\"", "ok");
  EXPECT("{\"format\":\"ipv6\"}", "\"2001:db8:::1\"", "data: must be a valid IPv6 address");
  ASSERT(!format_is_ipv6("fe80::1%eth0", 12) && !format_is_ipv6("12345::", 7) && !format_is_ipv6("", 0));
  EXPECT("{\"format\":\"uuid\"}", "\"fd9cb997-25b1-4d0a-b7d8-fea605558311\"", "ok");
  EXPECT("{\"format\":\"uuid\"}", "\"fd9cb997-25b1-4d0a-b7d8-fea60555831\"", "data: must be a valid UUID");
  ASSERT(!format_is_uuid("fd9cb997x25b1-4d0a-b7d8-fea605558311", 36));
  EXPECT("{\"format\":\"byte\"}", "\"aGVsbG8=\"", "ok");
  EXPECT("{\"format\":\"byte\"}", "\"\"", "ok");
  EXPECT("{\"format\":\"byte\"}", "\"aGVsbG8\"", "data: must be a valid base64 string (format byte)");
  ASSERT(!format_is_byte("a=bc", 4) && !format_is_byte("ab c", 4) && format_is_byte("ab+/", 4));
  EXPECT("{\"format\":\"email\"}", "\"joe.bloggs@example.com\"", "ok");
  EXPECT("{\"format\":\"email\"}", "\"joe..bloggs@example.com\"", "data: must be a valid email address");
  ASSERT(format_is_email("\"joe bloggs\"@example.com", 24) && format_is_email("a@[127.0.0.1]", 13));
  ASSERT(format_is_email("a@[IPv6:::1]", 12));
  ASSERT(!format_is_email("@example.com", 12) && !format_is_email("a@", 2) && !format_is_email("a@-x.com", 8));
  ASSERT(!format_is_email(".a@x.com", 8) && !format_is_email("a.@x.com", 8) && !format_is_email("ab", 2));
  /* unknown formats are annotations; formats ignore other types */
  EXPECT("{\"format\":\"int64\"}", "\"anything\"", "ok");
  EXPECT("{\"format\":\"ipv4\"}", "12", "ok");
  return 0;
}

TEST_IMPL(schema_ref_to_definitions_root_and_pointers) {
  const char *doc = "{\"definitions\":{\"imsi\":{\"type\":\"string\",\"minLength\":5},"
                    "\"evt\":{\"properties\":{\"imsi\":{\"$ref\":\"#/definitions/imsi\"},"
                    "\"again\":{\"$ref\":\"#/definitions/evt/properties/imsi\"},"
                    "\"esc\":{\"$ref\":\"#/definitions/a~1b%20c\"}}},"
                    "\"a/b c\":{\"type\":\"integer\"}}}";
  EXPECT_DEF(doc, "evt", "{\"imsi\":\"12345\",\"again\":\"12345\",\"esc\":3}", "ok");
  EXPECT_DEF(doc, "evt", "{\"imsi\":\"1234\"}", "data.imsi: must be at least 5 characters long");
  EXPECT_DEF(doc, "evt", "{\"again\":7}", "data.again: expected string, got integer");
  EXPECT_DEF(doc, "evt", "{\"esc\":\"x\"}", "data.esc: expected integer, got string");
  /* draft-7: keywords beside $ref are ignored */
  EXPECT("{\"definitions\":{\"a\":{\"type\":\"array\"}},\"properties\":{\"f\":{\"$ref\":\"#/definitions/a\","
         "\"maxItems\":1}}}",
         "{\"f\":[1,2,3]}", "ok");
  /* $ref to the root */
  EXPECT("{\"properties\":{\"child\":{\"$ref\":\"#\"},\"n\":{\"type\":\"integer\"}},\"additionalProperties\":false}",
         "{\"child\":{\"child\":{\"n\":\"x\"}}}", "data.child.child.n: expected integer, got string");
  return 0;
}

TEST_IMPL(schema_recursive_ref_validates_nested_data) {
  const char *doc = "{\"definitions\":{\"node\":{\"type\":\"object\",\"required\":[\"value\"],\"properties\":"
                    "{\"value\":{\"type\":\"integer\"},\"children\":{\"type\":\"array\",\"items\":"
                    "{\"$ref\":\"#/definitions/node\"}}}},"
                    "\"even\":{\"anyOf\":[{\"type\":\"null\"},{\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/odd\"}}]},"
                    "\"odd\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/even\"}}}}";
  EXPECT_DEF(doc, "node", "{\"value\":1,\"children\":[{\"value\":2},{\"value\":3,\"children\":[{\"value\":4}]}]}", "ok");
  EXPECT_DEF(doc, "node", "{\"value\":1,\"children\":[{\"value\":2},{\"value\":3,\"children\":[{\"valu\":4}]}]}",
             "data.children[1].children[0]: missing required property 'value'");
  EXPECT_DEF(doc, "even", "[[[[null]]]]", "ok");
  /* 64 levels deep (the parser's limit): recursion follows the data */
  char deep[200];
  size_t k = 0;
  for (int i = 0; i < 63; i++) deep[k++] = '[';
  for (int i = 0; i < 63; i++) deep[k++] = ']';
  deep[k] = '\0';
  EXPECT_DEF(doc, "even", deep, "ok");
  return 0;
}

TEST_IMPL(schema_ref_cycles_without_progress_are_compile_errors) {
  const char *e = cerr("c.json", "{\"definitions\":{\n\"a\":{\"$ref\":\"#/definitions/a\"}}}");
  ASSERT(strstr(e, "c.json:2: "));
  ASSERT(strstr(e, "loops back"));
  ASSERT(strstr(cerr("c.json", "{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/b\"},\"b\":{\"allOf\":[{\"$ref\":\"#/definitions/a\"}]}}}"),
                "without descending into the data"));
  ASSERT(strstr(cerr("c.json", "{\"definitions\":{\"a\":{\"not\":{\"anyOf\":[{\"$ref\":\"#/definitions/a\"}]}}}}"),
                "without descending into the data"));
  ASSERT(strstr(cerr("c.json", "{\"allOf\":[{\"$ref\":\"#\"}]}"), "without descending into the data"));
  /* a cycle through properties/items descends: fine */
  ASSERT_EQ_STR(cerr("c.json", "{\"definitions\":{\"a\":{\"items\":{\"$ref\":\"#/definitions/a\"}}}}"), "ok");
  ASSERT_EQ_STR(cerr("c.json", "{\"properties\":{\"x\":{\"$ref\":\"#\"}}}"), "ok");
  return 0;
}

TEST_IMPL(schema_allof_anyof_oneof) {
  const char *all = "{\"allOf\":[{\"required\":[\"a\"]},{\"properties\":{\"a\":{\"type\":\"integer\"}}}]}";
  EXPECT(all, "{\"a\":1}", "ok");
  EXPECT(all, "{}", "data: missing required property 'a'");
  EXPECT(all, "{\"a\":\"1\"}", "data.a: expected integer, got string");
  const char *any = "{\"anyOf\":[{\"type\":\"string\",\"maxLength\":2},{\"type\":\"integer\"}]}";
  EXPECT(any, "\"ab\"", "ok");
  EXPECT(any, "5", "ok");
  EXPECT(any, "\"abc\"", "data: must match at least one schema in anyOf (anyOf[0]: data: must be at most 2 characters long)");
  EXPECT(any, "null", "data: must match at least one schema in anyOf (anyOf[0]: data: expected string, got null)");
  /* oneOf: exactly one */
  const char *one = "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}";
  EXPECT(one, "1", "ok");       /* integer only */
  EXPECT(one, "2.5", "ok");     /* minimum only */
  EXPECT(one, "3", "data: must match exactly one schema in oneOf, matched oneOf[0] and oneOf[1]");
  EXPECT(one, "1.5", "data: must match exactly one schema in oneOf, matched none (oneOf[0]: data: expected integer, got number)");
  return 0;
}

TEST_IMPL(schema_not_and_if_then_else) {
  EXPECT("{\"not\":{\"type\":\"null\"}}", "1", "ok");
  EXPECT("{\"not\":{\"type\":\"null\"}}", "null", "data: must not match the schema in not");
  const char *cond = "{\"if\":{\"properties\":{\"status\":{\"const\":\"failed\"}}},"
                     "\"then\":{\"required\":[\"failure_reason\"]},\"else\":{\"not\":{\"required\":[\"failure_reason\"]}}}";
  EXPECT(cond, "{\"status\":\"failed\",\"failure_reason\":\"x\"}", "ok");
  EXPECT(cond, "{\"status\":\"failed\"}", "data: missing required property 'failure_reason'");
  EXPECT(cond, "{\"status\":\"ok\"}", "ok");
  EXPECT(cond, "{\"status\":\"ok\",\"failure_reason\":\"x\"}", "data: must not match the schema in not");
  EXPECT("{\"then\":{\"type\":\"string\"}}", "1", "ok"); /* then without if is ignored */
  return 0;
}

TEST_IMPL(schema_nullable_forms_and_null_type) {
  const char *sw = "{\"swagger\":\"2.0\",\"definitions\":{\"t\":{\"properties\":{"
                   "\"a\":{\"type\":\"string\",\"x-nullable\":true},"
                   "\"b\":{\"type\":\"string\"},"
                   "\"c\":{\"$ref\":\"#/definitions/s\",\"x-nullable\":true},"
                   "\"d\":{\"type\":\"string\",\"enum\":[\"x\"],\"nullable\":true}}},"
                   "\"s\":{\"type\":\"string\"}}}";
  EXPECT_DEF(sw, "t", "{\"a\":null,\"c\":null,\"d\":null}", "ok");
  EXPECT_DEF(sw, "t", "{\"a\":\"x\",\"c\":\"y\",\"d\":\"x\"}", "ok");
  EXPECT_DEF(sw, "t", "{\"b\":null}", "data.b: expected string, got null");
  EXPECT_DEF(sw, "t", "{\"c\":1}", "data.c: expected string, got integer");
  EXPECT_DEF(sw, "t", "{\"d\":\"y\"}", "data.d: must be one of \"x\"");
  EXPECT("{\"type\":[\"integer\",\"null\"],\"minimum\":0}", "null", "ok");
  EXPECT("{\"type\":[\"integer\",\"null\"],\"minimum\":0}", "-1", "data: must be >= 0");
  ASSERT(strstr(cerr("n.json", "{\"nullable\":\"yes\"}"), "nullable: expected a boolean, got string"));
  return 0;
}

TEST_IMPL(schema_object_keywords) {
  const char *pp = "{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},\"additionalProperties\":false}";
  EXPECT(pp, "{\"x-a\":\"1\",\"x-b\":\"2\"}", "ok");
  EXPECT(pp, "{\"x-a\":1}", "data.x-a: expected string, got integer");
  EXPECT(pp, "{\"y\":\"1\"}", "data.y: additional property not allowed");
  EXPECT("{\"propertyNames\":{\"pattern\":\"^[a-z_]+$\"}}", "{\"ok_name\":1}", "ok");
  EXPECT("{\"propertyNames\":{\"pattern\":\"^[a-z_]+$\"}}", "{\"Bad\":1}",
         "data.Bad: property name does not match propertyNames (data.Bad: must match pattern '^[a-z_]+$')");
  EXPECT("{\"minProperties\":1,\"maxProperties\":2}", "{\"a\":1}", "ok");
  EXPECT("{\"minProperties\":1,\"maxProperties\":2}", "{}", "data: must have at least 1 properties");
  EXPECT("{\"minProperties\":1,\"maxProperties\":2}", "{\"a\":1,\"b\":2,\"c\":3}", "data: must have at most 2 properties");
  const char *deps = "{\"dependencies\":{\"card\":[\"billing\"],\"vip\":{\"required\":[\"level\"]}}}";
  EXPECT(deps, "{\"card\":1,\"billing\":2}", "ok");
  EXPECT(deps, "{\"card\":1}", "data: property 'card' requires property 'billing'");
  EXPECT(deps, "{\"vip\":true}", "data: missing required property 'level'");
  EXPECT(deps, "{\"billing\":2}", "ok");
  return 0;
}

TEST_IMPL(schema_boolean_schemas) {
  EXPECT("true", "{\"anything\":[1]}", "ok");
  EXPECT("false", "1", "data: no value is allowed here (the schema is false)");
  EXPECT("{\"properties\":{\"gone\":false}}", "{\"gone\":1}", "data.gone: no value is allowed here (the schema is false)");
  EXPECT("{\"properties\":{\"gone\":false}}", "{}", "ok");
  EXPECT("{\"items\":true}", "[1,\"a\"]", "ok");
  return 0;
}

TEST_IMPL(schema_unknown_keywords_are_ignored) {
  EXPECT("{\"type\":\"string\",\"title\":\"t\",\"description\":\"d\",\"default\":1,\"example\":2,"
         "\"readOnly\":true,\"x-custom\":{\"type\":\"integer\"},\"discriminator\":\"k\",\"$comment\":\"c\","
         "\"contentEncoding\":\"base64\",\"futureKeyword\":[1]}",
         "\"x\"", "ok");
  return 0;
}

/* Each compile error names the file, the line of the offending node, where it is, and why. */
TEST_IMPL(schema_compile_errors_name_file_line_and_reason) {
  const char *yml =
      "swagger: '2.0'\n"                       /* 1 */
      "definitions:\n"                         /* 2 */
      "  ev:\n"                                /* 3 */
      "    type: object\n"                     /* 4 */
      "    properties:\n"                      /* 5 */
      "      n:\n"                             /* 6 */
      "        type: integer\n"                /* 7 */
      "        minimum: zero\n";               /* 8 */
  ASSERT_EQ_STR(cerr("spec.yml", yml), "spec.yml:8: definitions.ev.properties.n.minimum: expected a number, got string");
  ASSERT_EQ_STR(cerr("s.yml", "definitions:\n  ev:\n    type: strng\n"),
                "s.yml:3: definitions.ev.type: unknown type 'strng' (expected null, boolean, integer, number, "
                "string, array or object)");
  ASSERT_EQ_STR(cerr("s.yml", "definitions:\n  ev:\n    properties:\n      a:\n        pattern: '(ab'\n"),
                "s.yml:5: definitions.ev.properties.a.pattern: invalid pattern '(ab': missing ')' for the group at "
                "offset 0");
  ASSERT_EQ_STR(cerr("s.yml", "definitions:\n  ev:\n    $ref: '#/definitions/nope'\n"),
                "s.yml:3: definitions.ev.$ref: unresolved $ref '#/definitions/nope': it points to nothing in this file");
  ASSERT(strstr(cerr("s.yml", "definitions:\n  ev:\n    $ref: 'other.yml#/definitions/x'\n"),
                "only references within the same file"));
  ASSERT(strstr(cerr("s.yml", "definitions:\n  ev:\n    properties:\n      a:\n        required: true\n"),
                "s.yml:5: definitions.ev.properties.a.required: expected an array of property names, got boolean "
                "(draft-3 style"));
  ASSERT_EQ_STR(cerr("s.yml", "definitions:\n  ev:\n    minLength: -1\n"),
                "s.yml:3: definitions.ev.minLength: expected a non-negative integer, got -1");
  ASSERT_EQ_STR(cerr("s.yml", "definitions:\n  ev:\n    items: [1]\n"),
                "s.yml:3: definitions.ev.items[0]: a schema must be a mapping or a boolean, got integer");
  ASSERT_EQ_STR(cerr("s.yml", "definitions:\n  ev:\n    allOf: []\n"),
                "s.yml:3: definitions.ev.allOf: expected at least one schema, got an empty array");
  ASSERT_EQ_STR(cerr("s.yml", "definitions:\n  ev:\n    enum: []\n"),
                "s.yml:3: definitions.ev.enum: expected at least one value, got an empty array");
  ASSERT_EQ_STR(cerr("s.yml", "definitions: [1]\n"), "s.yml:1: definitions must be a mapping of names to schemas, not array");
  ASSERT_EQ_STR(cerr("s.yml", ""), "s.yml: the file is empty");
  ASSERT_EQ_STR(cerr("s.yml", "a: [\n"), "s.yml:2: did not find expected node content while parsing a flow node");
  /* JSON: the line of the offending value */
  ASSERT_EQ_STR(cerr("s.json", "{\n \"definitions\": {\n  \"ev\": {\n   \"maxItems\": \"3\"\n  }\n }\n}"),
                "s.json:4: definitions.ev.maxItems: expected a non-negative integer, got string");
  ASSERT_EQ_STR(cerr("s.json", "{\n \"type\": \"object\",\n}"), "s.json:2: trailing comma in object");
  return 0;
}

TEST_IMPL(schema_collects_up_to_max_errors) {
  const char *s = "{\"required\":[\"a\",\"b\"],\"properties\":{\"c\":{\"type\":\"string\"}}}";
  char *got = vres_ex(s, NULL, "{\"c\":1}", 5);
  ASSERT_EQ_STR(got, "data.c: expected string, got integer | data: missing required property 'a' | data: missing "
                     "required property 'b'");
  free(got);
  got = vres_ex(s, NULL, "{\"c\":1}", 2);
  ASSERT_EQ_STR(got, "data.c: expected string, got integer | data: missing required property 'a'");
  free(got);
  return 0;
}

TEST_IMPL(schema_step_budget_stops_exponential_schemas) {
  /* Every level tries both branches of anyOf: 2^depth work for nested arrays. */
  const char *doc = "{\"definitions\":{\"a\":{\"anyOf\":[{\"items\":{\"$ref\":\"#/definitions/a\"},"
                    "\"contains\":{\"type\":\"string\"}},{\"items\":{\"$ref\":\"#/definitions/a\"}}]}}}";
  schema_error serr;
  schema_doc *d = schema_doc_parse("b.json", doc, strlen(doc), SCHEMA_JSON, &serr);
  ASSERT(d);
  const schema_node *s = schema_doc_compile(d, schema_doc_find_definition(d, "a", 1), "a", &serr);
  ASSERT(s);
  char data[200];
  size_t k = 0;
  for (int i = 0; i < 60; i++) data[k++] = '[';
  data[k++] = '1';
  for (int i = 0; i < 60; i++) data[k++] = ']';
  data[k] = '\0';
  arena a;
  arena_init(&a, 0);
  json_error jerr;
  json_value *v = json_parse(&a, data, k, 0, &jerr);
  ASSERT(v);
  evd_field_error e;
  schema_validate_opts o = {1, 100000, 0, 0};
  ASSERT_EQ_INT(schema_validate(s, v, "data", &o, &e), 1);
  ASSERT_EQ_STR(e.field, "data");
  ASSERT(strstr(e.reason, "validation gave up: step budget exceeded"));
  arena_free(&a);
  schema_doc_free(d);
  return 0;
}

TEST_IMPL(schema_error_paths_quote_unusual_keys) {
  EXPECT("{\"additionalProperties\":false}", "{\"a.b\":1}", "data[\"a.b\"]: additional property not allowed");
  EXPECT("{\"additionalProperties\":false}", "{\"\":1}", "data[\"\"]: additional property not allowed");
  EXPECT("{\"additionalProperties\":false}", "{\"q\\\"\\n\":1}", "data[\"q\\\"\\u000a\"]: additional property not allowed");
  EXPECT("{\"additionalProperties\":{\"items\":false}}", "{\"old-state\":[1]}",
         "data.old-state[0]: no value is allowed here (the schema is false)");
  return 0;
}

TEST_IMPL(schema_absent_data_is_validated_as_empty_object) {
  schema_error serr;
  const char *doc = "{\"type\":\"object\",\"required\":[\"imsi\"]}";
  schema_doc *d = schema_doc_parse("t.json", doc, strlen(doc), SCHEMA_JSON, &serr);
  ASSERT(d);
  const schema_node *s = schema_doc_compile(d, schema_doc_root(d), "(root)", &serr);
  ASSERT(s);
  evd_field_error e;
  ASSERT_EQ_INT(schema_validate(s, NULL, "data", NULL, &e), 1);
  ASSERT_EQ_STR(e.reason, "missing required property 'imsi'");
  schema_doc_free(d);
  return 0;
}

/* compile_all covers every definition, and a document compiles each node once however
 * many definitions refer to it. */
TEST_IMPL(schema_doc_compiles_each_node_once) {
  const char *doc = "{\"definitions\":{\"base\":{\"type\":\"string\"},\"a\":{\"$ref\":\"#/definitions/base\"},"
                    "\"b\":{\"$ref\":\"#/definitions/base\"}}}";
  schema_error serr;
  schema_doc *d = schema_doc_parse("o.json", doc, strlen(doc), SCHEMA_JSON, &serr);
  ASSERT(d);
  ASSERT_EQ_INT(schema_doc_compile_all(d, &serr), 0);
  const schema_node *base = schema_doc_compile(d, schema_doc_find_definition(d, "base", 4), "base", &serr);
  const schema_node *again = schema_doc_compile(d, schema_doc_find_definition(d, "base", 4), "base", &serr);
  ASSERT(base && base == again);
  ASSERT_EQ_INT(schema_node_line(base), 1);
  schema_doc_free(d);
  ASSERT(strstr(cerr("bad.json", "{\"definitions\":{\"ok\":{},\"bad\":{\"type\":1}}}"), "definitions.bad.type"));
  return 0;
}

/* A string member whose schema is an anyOf of string checks ("an IPv4 address or empty")
 * has a fast path (the cheap branch first); it decides exactly what the full check does
 * (vres_ex also compares every answer with reference mode). */
TEST_IMPL(schema_string_anyof_members_fast_path) {
  const char *doc =
      "{\"definitions\":{"
      "\"ip\":{\"type\":\"string\",\"anyOf\":[{\"format\":\"ipv4\"},{\"maxLength\":0}]},"
      "\"code\":{\"type\":\"string\",\"pattern\":\"^[A-Z]\",\"anyOf\":[{\"minLength\":3,\"pattern\":\"^[A-Z]+$\"},"
      "{\"format\":\"uuid\"},{\"type\":\"integer\"}]},"
      "\"any\":{\"anyOf\":[{\"maxLength\":1},{\"type\":\"string\"}]},"
      "\"no\":{\"type\":\"string\",\"anyOf\":[{\"format\":\"ipv4\"},{\"not\":{\"maxLength\":0}}]},"
      "\"e\":{\"type\":\"object\",\"properties\":{\"ip\":{\"$ref\":\"#/definitions/ip\"},"
      "\"code\":{\"$ref\":\"#/definitions/code\"},\"any\":{\"$ref\":\"#/definitions/any\"},"
      "\"no\":{\"$ref\":\"#/definitions/no\"}}}}}";
  EXPECT_DEF(doc, "e", "{\"ip\":\"10.0.2.1\",\"code\":\"ABC\",\"any\":\"abc\",\"no\":\"x\"}", "ok");
  EXPECT_DEF(doc, "e", "{\"ip\":\"\"}", "ok");
  EXPECT_DEF(doc, "e", "{\"ip\":\"10.0.2\"}",
             "data.ip: must match at least one schema in anyOf (anyOf[0]: data.ip: must be a valid IPv4 address)");
  EXPECT_DEF(doc, "e", "{\"ip\":\"\xc3\xa9\"}",
             "data.ip: must match at least one schema in anyOf (anyOf[0]: data.ip: must be a valid IPv4 address)");
  EXPECT_DEF(doc, "e", "{\"ip\":5}", "data.ip: expected string, got integer");
  EXPECT_DEF(doc, "e", "{\"code\":\"A0000000-0000-0000-0000-000000000000\"}", "ok");
  EXPECT_DEF(doc, "e", "{\"code\":\"AB\"}",
             "data.code: must match at least one schema in anyOf (anyOf[0]: data.code: must be at least 3 characters long)");
  EXPECT_DEF(doc, "e", "{\"code\":\"abc\"}", "data.code: must match pattern '^[A-Z]'");
  EXPECT_DEF(doc, "e", "{\"code\":7}", "data.code: expected string, got integer");
  EXPECT_DEF(doc, "e", "{\"any\":5,\"no\":\"1.2.3.4\"}", "ok");
  EXPECT_DEF(doc, "e", "{\"no\":\"\"}",
             "data.no: must match at least one schema in anyOf (anyOf[0]: data.no: must be a valid IPv4 address)");
  /* which nodes have the fast path: not the one with a `not` branch */
  schema_error serr;
  schema_doc *d = schema_doc_parse("test.json", doc, strlen(doc), SCHEMA_JSON, &serr);
  ASSERT(d);
  const char *names[] = {"ip", "code", "any", "no"};
  int want[] = {1, 1, 1, 0};
  for (int i = 0; i < 4; i++) {
    const schema_node *s = schema_doc_compile(d, schema_doc_find_definition(d, names[i], strlen(names[i])), names[i], &serr);
    ASSERT(s);
    ASSERT_EQ_INT(s->str_any != NULL, want[i]);
  }
  const schema_node *ip = schema_doc_compile(d, schema_doc_find_definition(d, "ip", 2), "ip", &serr);
  ASSERT(ip && ip->nstr_any_branches == 2 && ip->str_any_branches[0]->max_length == 0); /* cheap branch first */
  const schema_node *any = schema_doc_compile(d, schema_doc_find_definition(d, "any", 3), "any", &serr);
  ASSERT(any && any->str_any_always);
  schema_doc_free(d);
  return 0;
}
