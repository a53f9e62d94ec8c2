/* Tests of the registry and gRPC settings of src/server/config.c (registry.file, .spec_dirs,
 * .unregistered, .streams, grpc.listen; YAML, flags, --print-config round trip) and of the
 * registry options the daemon passes (per-stream policies from the configuration, dry-run
 * checks that count nothing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "registry/registry.h"
#include "server/config.h"
#include "test.h"

static int load(evd_config *c, const char *yaml, char *err, size_t errlen) {
  config_init(c);
  err[0] = '\0';
  return config_load_yaml(c, "test.yml", yaml, strlen(yaml), err, errlen);
}

TEST_IMPL(config_registry_keys_from_yaml) {
  evd_config c;
  char err[512];
  int rc = load(&c,
                "registry:\n"
                "  file: /etc/eventd/registry.yml\n"
                "  spec_dirs: [/a, \"/b c\"]\n"
                "  unregistered: accept-and-flag\n"
                "  streams:\n"
                "    magmad: accept\n"
                "    ci: {unregistered: reject}\n"
                "grpc:\n"
                "  listen: off\n"
                "  max_message_bytes: 1MiB\n",
                err, sizeof err);
  if (rc) TEST_FAIL_("%s", err);
  ASSERT_EQ_STR(c.registry_file, "/etc/eventd/registry.yml");
  ASSERT_EQ_U64(c.registry_nspec_dirs, 2);
  ASSERT_EQ_STR(c.registry_spec_dirs[1], "/b c");
  ASSERT_EQ_INT(c.registry_unregistered, REGISTRY_ACCEPT_AND_FLAG);
  ASSERT_EQ_U64(c.registry_nstreams, 2);
  ASSERT_EQ_STR(c.registry_streams[0].stream, "magmad");
  ASSERT_EQ_INT(c.registry_streams[0].policy, REGISTRY_ACCEPT);
  ASSERT_EQ_STR(c.registry_streams[1].stream, "ci");
  ASSERT_EQ_INT(c.registry_streams[1].policy, REGISTRY_REJECT);
  ASSERT_EQ_STR(c.grpc_listen, "off");
  ASSERT_EQ_U64(c.grpc_max_message_bytes, 1 << 20);
  config_free(&c);
  /* defaults: no registry, reject, gRPC on Magma's port */
  config_init(&c);
  ASSERT(c.registry_file == NULL);
  ASSERT_EQ_U64(c.registry_nspec_dirs, 0);
  ASSERT_EQ_INT(c.registry_unregistered, REGISTRY_REJECT);
  ASSERT_EQ_STR(c.grpc_listen, "127.0.0.1:50075");
  config_free(&c);
  /* null values unset */
  rc = load(&c, "registry:\n  file:\n  spec_dirs:\n  streams:\n", err, sizeof err);
  if (rc) TEST_FAIL_("%s", err);
  ASSERT(c.registry_file == NULL);
  config_free(&c);
  return 0;
}

/* Loading yaml fails with "test.yml:LINE: ...needle...". */
static void expect_error(const char *yaml, int line, const char *needle) {
  evd_config c;
  char err[512];
  int rc = load(&c, yaml, err, sizeof err);
  config_free(&c);
  if (rc == 0) TEST_FAIL_("expected an error for:\n%s", yaml);
  char prefix[64];
  snprintf(prefix, sizeof prefix, "test.yml:%d: ", line);
  if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, needle))
    TEST_FAIL_("expected '%s...%s', got '%s'", prefix, needle, err);
}

TEST_IMPL(config_registry_bad_values_report_their_line) {
  expect_error("registry:\n  unregistered: maybe\n", 2, "registry.unregistered: invalid value 'maybe'");
  expect_error("registry:\n  streams:\n    a: sometimes\n", 3, "registry.streams.a: invalid value 'sometimes'");
  expect_error("registry:\n  streams:\n    a: {unregistred: accept}\n", 3, "unknown key 'unregistred'");
  expect_error("registry:\n  streams:\n    a: accept\n    a: reject\n", 4, "duplicate key");
  expect_error("registry:\n  streams: [a]\n", 2, "registry.streams: expected a mapping");
  expect_error("registry:\n  spec_dirs: {a: b}\n", 2, "registry.spec_dirs: expected a list");
  expect_error("registry:\n  spec_dirs: [\"\"]\n", 2, "empty directory name");
  expect_error("grpc:\n  listen: nowhere\n", 2, "grpc.listen: invalid address 'nowhere'");
  return 0;
}

TEST_IMPL(config_registry_flags_and_print_round_trip) {
  evd_config c;
  config_init(&c);
  char *argv[] = {"eventd", "--registry", "/r.yml", "--grpc", "127.0.0.1:0",
                  "--set", "registry.streams=a=accept,b:accept-and-flag",
                  "--set", "registry.spec_dirs=/x,/y", "--set", "registry.unregistered=accept"};
  config_action act;
  char err[512];
  int rc = config_from_args(&c, (int)(sizeof argv / sizeof argv[0]), argv, &act, err, sizeof err);
  if (rc) TEST_FAIL_("%s", err);
  ASSERT_EQ_STR(c.registry_file, "/r.yml");
  ASSERT_EQ_STR(c.grpc_listen, "127.0.0.1:0");
  ASSERT_EQ_U64(c.registry_nstreams, 2);
  ASSERT_EQ_INT(c.registry_streams[1].policy, REGISTRY_ACCEPT_AND_FLAG);
  ASSERT_EQ_U64(c.registry_nspec_dirs, 2);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  ASSERT(f);
  config_print(&c, f, 1);
  fclose(f);
  evd_config d;
  rc = load(&d, text, err, sizeof err);
  if (rc) TEST_FAIL_("printed config does not load: %s\n%s", err, text);
  ASSERT_EQ_STR(d.registry_file, "/r.yml");
  ASSERT_EQ_U64(d.registry_nstreams, 2);
  ASSERT_EQ_STR(d.registry_streams[0].stream, "a");
  ASSERT_EQ_INT(d.registry_streams[1].policy, REGISTRY_ACCEPT_AND_FLAG);
  ASSERT_EQ_STR(d.registry_spec_dirs[1], "/y");
  ASSERT_EQ_INT(d.registry_unregistered, REGISTRY_ACCEPT);
  config_free(&d);
  free(text);
  /* --registry "" turns the registry off again */
  ASSERT_EQ_INT(config_set(&c, "registry.file", "", err, sizeof err), 0);
  ASSERT(c.registry_file == NULL);
  ASSERT(config_set(&c, "registry.streams", "a", err, sizeof err) != 0);
  ASSERT(strstr(err, "expected STREAM=POLICY"));
  config_free(&c);
  return 0;
}

static void write_file(const char *dir, const char *name, const char *text) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  ASSERT(f);
  fputs(text, f);
  fclose(f);
}

TEST_IMPL(registry_stream_policies_from_options_yield_to_the_file) {
  char *dir = test_tmpdir();
  write_file(dir, "t.yml", "definitions:\n  known: {type: object, properties: {n: {type: integer}}}\n");
  write_file(dir, "reg.yml",
             "unregistered: reject\nstreams:\n  filed: {unregistered: accept}\n"
             "event_registry:\n  known: {filename: t.yml}\n");
  char path[4096], err[1024];
  snprintf(path, sizeof path, "%s/reg.yml", dir);
  registry_stream_option so[] = {{"filed", REGISTRY_ACCEPT_AND_FLAG}, {"conf", REGISTRY_ACCEPT_AND_FLAG}};
  registry_options o = {NULL, 0, REGISTRY_ACCEPT, so, 2};
  registry *r = registry_load(path, &o, err, sizeof err);
  if (!r) TEST_FAIL_("%s", err);
  ASSERT_EQ_INT(registry_policy_for(r, "filed", 5), REGISTRY_ACCEPT);          /* the file's entry */
  ASSERT_EQ_INT(registry_policy_for(r, "conf", 4), REGISTRY_ACCEPT_AND_FLAG);  /* the option */
  ASSERT_EQ_INT(registry_policy_for(r, "other", 5), REGISTRY_REJECT);          /* the file's global */
  ASSERT_EQ_INT(registry_default_policy(r), REGISTRY_REJECT);
  ASSERT_EQ_U64(registry_stream_policy_count(r), 2);
  registry_policy p;
  ASSERT_EQ_STR(registry_stream_policy_at(r, 1, &p), "conf");
  ASSERT_EQ_INT(p, REGISTRY_ACCEPT_AND_FLAG);
  /* a dry run counts nothing; a real check counts */
  json_error je;
  arena a;
  arena_init(&a, 0);
  json_value *bad = json_parse(&a, "{\"n\":\"x\"}", 9, 8, &je);
  evd_field_error fe;
  ASSERT_EQ_INT(registry_check_ex(r, NULL, 0, "known", 5, bad, NULL, &fe, REGISTRY_CHECK_NO_COUNT), REGISTRY_INVALID);
  ASSERT_EQ_STR(fe.field, "data.n");
  ASSERT_EQ_INT(registry_check_ex(r, NULL, 0, "zzz", 3, NULL, NULL, &fe, REGISTRY_CHECK_NO_COUNT),
                REGISTRY_UNKNOWN_REJECTED);
  const registry_type *t = registry_lookup(r, "known", 5);
  ASSERT_EQ_U64(registry_type_seen(t), 0);
  ASSERT_EQ_U64(registry_type_invalid(t), 0);
  ASSERT_EQ_U64(registry_unknown_seen(r), 0);
  ASSERT_EQ_INT(registry_check(r, NULL, 0, "known", 5, bad, NULL, &fe), REGISTRY_INVALID);
  ASSERT_EQ_U64(registry_type_seen(t), 1);
  ASSERT_EQ_U64(registry_type_invalid(t), 1);
  registry_unref(r);
  /* directory mode: the options are all there is */
  write_file(dir, "reg.yml", "definitions:\n  other: {type: object}\n"); /* now a plain spec file */
  registry_stream_option so2[] = {{"x", REGISTRY_ACCEPT}};
  registry_options o2 = {NULL, 0, REGISTRY_REJECT, so2, 1};
  r = registry_load(dir, &o2, err, sizeof err);
  if (!r) TEST_FAIL_("%s", err);
  ASSERT_EQ_INT(registry_policy_for(r, "x", 1), REGISTRY_ACCEPT);
  ASSERT_EQ_INT(registry_policy_for(r, "y", 1), REGISTRY_REJECT);
  registry_unref(r);
  arena_free(&a);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}
