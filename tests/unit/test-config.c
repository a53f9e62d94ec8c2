/* Unit tests of src/server/config.c: sizes, addresses, the YAML file (good and each kind of
 * bad file, with the line reported), the command line, and --print-config round trips. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "server/config.h"
#include "server/log.h"
#include "test.h"

/* Load YAML text into a fresh default config; returns the config_load_yaml status. */
static int load(evd_config *c, const char *yaml, char *err, size_t errlen) {
  config_init(c);
  err[0] = '\0';
  return config_load_yaml(c, "test.yml", yaml, strlen(yaml), err, errlen);
}

/* Assert that loading yaml fails and the message starts with "test.yml:LINE: " and
 * contains `needle`. */
static void expect_error(const char *yaml, int line, const char *needle) {
  evd_config c;
  char err[512];
  int rc = load(&c, yaml, err, sizeof err);
  config_free(&c);
  if (rc == 0) TEST_FAIL_("expected an error for:\n%s", yaml);
  char prefix[64];
  snprintf(prefix, sizeof prefix, "test.yml:%d: ", line);
  if (strncmp(err, prefix, strlen(prefix)) != 0)
    TEST_FAIL_("expected '%s...', got '%s'", prefix, err);
  if (!strstr(err, needle)) TEST_FAIL_("expected '%s' in '%s'", needle, err);
}

TEST_IMPL(config_defaults_run_out_of_the_box) {
  evd_config c;
  config_init(&c);
  ASSERT_EQ_STR(c.data_dir, "./data");
  ASSERT_EQ_STR(c.http_listen, "127.0.0.1:8910");
  ASSERT_EQ_INT(c.sync, STORE_SYNC_BATCH);
  ASSERT_EQ_INT(c.log_level, LOG_INFO);
  ASSERT_EQ_U64(c.limits.body_max_bytes, 16 * 1024 * 1024);
  ASSERT_EQ_U64(c.tail_keepalive_ns, 15 * NS_PER_SEC);
  ASSERT_EQ_U64(c.query_max_limit, 10000);
  config_free(&c);
  return 0;
}

TEST_IMPL(config_parse_size_accepts_units) {
  uint64_t v;
  ASSERT_EQ_INT(config_parse_size("0", &v), 0);
  ASSERT_EQ_U64(v, 0);
  ASSERT_EQ_INT(config_parse_size("4096", &v), 0);
  ASSERT_EQ_U64(v, 4096);
  ASSERT_EQ_INT(config_parse_size("16MiB", &v), 0);
  ASSERT_EQ_U64(v, 16ull << 20);
  ASSERT_EQ_INT(config_parse_size("1GiB", &v), 0);
  ASSERT_EQ_U64(v, 1ull << 30);
  ASSERT_EQ_INT(config_parse_size("512KB", &v), 0);
  ASSERT_EQ_U64(v, 512000);
  ASSERT_EQ_INT(config_parse_size("2k", &v), 0);
  ASSERT_EQ_U64(v, 2048);
  ASSERT_EQ_INT(config_parse_size("1.5GiB", &v), 0);
  ASSERT_EQ_U64(v, 3ull << 29);
  ASSERT_EQ_INT(config_parse_size("3 mib", &v), 0);
  ASSERT_EQ_U64(v, 3ull << 20);
  ASSERT_EQ_INT(config_parse_size("2TB", &v), 0);
  ASSERT_EQ_U64(v, 2000000000000ull);
  return 0;
}

TEST_IMPL(config_parse_size_rejects_bad_input) {
  uint64_t v = 77;
  const char *bad[] = {"", "MiB", "-1", "12XB", "1.5", "0.3B", "1..5MiB", "99999999999999999999",
                       "17179869184TiB", "1e6", " 5", "5MiBx", "0x10"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (config_parse_size(bad[i], &v) == 0) TEST_FAIL_("'%s' was accepted", bad[i]);
  }
  ASSERT_EQ_U64(v, 77); /* untouched on failure */
  return 0;
}

TEST_IMPL(config_parse_listen_splits_host_and_port) {
  char host[64];
  int port;
  ASSERT_EQ_INT(config_parse_listen("127.0.0.1:8910", host, sizeof host, &port), 0);
  ASSERT_EQ_STR(host, "127.0.0.1");
  ASSERT_EQ_INT(port, 8910);
  ASSERT_EQ_INT(config_parse_listen("[::1]:0", host, sizeof host, &port), 0);
  ASSERT_EQ_STR(host, "::1");
  ASSERT_EQ_INT(port, 0);
  ASSERT_EQ_INT(config_parse_listen("localhost:80", host, sizeof host, &port), 0);
  ASSERT_EQ_STR(host, "localhost");
  const char *bad[] = {"127.0.0.1", ":8910", "127.0.0.1:", "127.0.0.1:65536", "::1:80",
                       "[::1]80", "host:-1", "host:8x", "a b:80"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (config_parse_listen(bad[i], host, sizeof host, &port) == 0)
      TEST_FAIL_("'%s' was accepted", bad[i]);
  return 0;
}

TEST_IMPL(config_yaml_good_file_sets_every_kind_of_value) {
  const char *yaml =
      "# comment\n"
      "data_dir: /var/lib/eventd\n"
      "log_level: debug\n"
      "sync: always\n"
      "sync_interval: 250ms\n"
      "http:\n"
      "  listen: \"[::1]:9000\"\n"
      "  idle_timeout: 2m\n"
      "store:\n"
      "  segment_max_bytes: 64MiB\n"
      "  segment_max_age: 30m\n"
      "  queue_max_bytes: 8MiB\n"
      "retention:\n"
      "  max_age: 7d\n"
      "  max_bytes: 10GiB\n"
      "limits:\n"
      "  event_max_bytes: 64KiB\n"
      "  body_max_bytes: 4MiB\n"
      "  labels_max: 8\n"
      "  max_depth: 16\n"
      "tail:\n"
      "  keepalive: 5s\n"
      "query:\n"
      "  max_limit: 500\n";
  evd_config c;
  char err[512];
  int rc = load(&c, yaml, err, sizeof err);
  if (rc != 0) TEST_FAIL_("unexpected error: %s", err);
  ASSERT_EQ_STR(c.data_dir, "/var/lib/eventd");
  ASSERT_EQ_INT(c.log_level, LOG_DEBUG);
  ASSERT_EQ_INT(c.sync, STORE_SYNC_ALWAYS);
  ASSERT_EQ_U64(c.sync_interval_ns, 250 * NS_PER_MS);
  ASSERT_EQ_STR(c.http_listen, "[::1]:9000");
  ASSERT_EQ_U64(c.http_idle_timeout_ns, 120 * NS_PER_SEC);
  ASSERT_EQ_U64(c.segment_max_bytes, 64ull << 20);
  ASSERT_EQ_U64(c.segment_max_age_ns, 1800 * NS_PER_SEC);
  ASSERT_EQ_U64(c.queue_max_bytes, 8ull << 20);
  ASSERT_EQ_U64(c.retention_max_age_ns, 7 * 86400 * NS_PER_SEC);
  ASSERT_EQ_U64(c.retention_max_bytes, 10ull << 30);
  ASSERT_EQ_U64(c.limits.event_max_bytes, 64 * 1024);
  ASSERT_EQ_U64(c.limits.body_max_bytes, 4 << 20);
  ASSERT_EQ_U64(c.limits.labels_max, 8);
  ASSERT_EQ_INT(c.limits.max_depth, 16);
  ASSERT_EQ_U64(c.tail_keepalive_ns, 5 * NS_PER_SEC);
  ASSERT_EQ_U64(c.query_max_limit, 500);
  /* untouched settings keep their defaults */
  ASSERT_EQ_U64(c.limits.message_max, 256 * 1024);
  config_free(&c);
  return 0;
}

TEST_IMPL(config_yaml_empty_file_keeps_defaults) {
  evd_config c;
  char err[512];
  ASSERT_EQ_INT(load(&c, "", err, sizeof err), 0);
  ASSERT_EQ_STR(c.data_dir, "./data");
  config_free(&c);
  ASSERT_EQ_INT(load(&c, "# only a comment\n---\n", err, sizeof err), 0);
  ASSERT_EQ_STR(c.http_listen, "127.0.0.1:8910");
  config_free(&c);
  return 0;
}

TEST_IMPL(config_yaml_unknown_key_reports_its_line) {
  expect_error("data_dir: x\nsync: batch\ndata_dri: y\n", 3, "unknown key 'data_dri'");
  expect_error("http:\n  listen: 127.0.0.1:1\n  lisen: 127.0.0.1:2\n", 3,
               "unknown key 'lisen' in section 'http'");
  expect_error("limits:\n  body_max_bytes: 1MiB\nbogus:\n  x: 1\n", 3, "unknown key 'bogus'");
  return 0;
}

TEST_IMPL(config_yaml_wrong_type_reports_its_line) {
  expect_error("data_dir: x\nhttp: 127.0.0.1:80\n", 2, "'http' must be a mapping");
  expect_error("sync: batch\nlimits:\n  labels_max:\n    - 1\n    - 2\n", 4,
               "limits.labels_max: expected a whole number, got a list");
  expect_error("- a\n- b\n", 1, "must be a mapping");
  expect_error("store:\n  segment_max_bytes: {a: 1}\n", 2, "got a mapping");
  return 0;
}

TEST_IMPL(config_yaml_bad_value_reports_its_line) {
  expect_error("sync: sometimes\n", 1, "sync: invalid value 'sometimes'");
  expect_error("\n\nstore:\n  segment_max_bytes: lots\n", 4,
               "store.segment_max_bytes: invalid size 'lots'");
  expect_error("retention:\n  max_age: 7 days\n", 2, "retention.max_age: invalid duration");
  expect_error("http:\n  listen: nowhere\n", 2, "http.listen: invalid address 'nowhere'");
  expect_error("log_level: loud\n", 1, "log_level: invalid value 'loud'");
  expect_error("limits:\n  max_depth: 0\n", 2, "limits.max_depth: '0' is out of range");
  expect_error("limits:\n  labels_max: -3\n", 2, "invalid number '-3'");
  expect_error("data_dir:\n", 1, "data_dir: missing value");
  expect_error("tail:\n  keepalive: 0\n", 2, "tail.keepalive");
  return 0;
}

TEST_IMPL(config_yaml_duplicate_key_reports_its_line) {
  expect_error("sync: batch\nsync: none\n", 2, "duplicate key 'sync'");
  expect_error("http:\n  listen: a:1\nstore: {}\nhttp:\n  idle_timeout: 5s\n", 4,
               "duplicate key 'http'");
  expect_error("limits:\n  labels_max: 1\n  labels_max: 2\n", 3, "duplicate key 'limits.labels_max'");
  return 0;
}

TEST_IMPL(config_yaml_syntax_error_reports_its_line) {
  expect_error("data_dir: x\nhttp:\n  listen: 1\n bad indentation: [\n", 4, "YAML syntax error");
  expect_error("sync: batch\n---\nsync: none\n", 3, "only one YAML document");
  return 0;
}

TEST_IMPL(config_file_missing_names_the_file) {
  evd_config c;
  config_init(&c);
  char err[512];
  ASSERT(config_load_file(&c, "/nonexistent/eventd.yml", err, sizeof err) != 0);
  ASSERT(strstr(err, "/nonexistent/eventd.yml") != NULL);
  ASSERT(strstr(err, "cannot open") != NULL);
  config_free(&c);
  return 0;
}

TEST_IMPL(config_flags_override_the_file) {
  char *dir = test_tmpdir();
  char path[4200];
  snprintf(path, sizeof path, "%s/eventd.yml", dir);
  FILE *f = fopen(path, "w");
  ASSERT(f != NULL);
  fputs("data_dir: /from/file\nsync: always\nlog_level: warn\nlimits:\n  labels_max: 5\n", f);
  fclose(f);
  /* Flags before and after --config: the file is applied first either way. */
  char *argv[] = {"eventd", "--sync=none", "--config", path, "--data-dir", "/from/flag",
                  "--set", "limits.labels_max=7", "--http", "127.0.0.1:0", NULL};
  evd_config c;
  config_init(&c);
  config_action act;
  char err[512];
  int rc = config_from_args(&c, 10, argv, &act, err, sizeof err);
  if (rc != 0) TEST_FAIL_("unexpected error: %s", err);
  ASSERT_EQ_INT(act, CONFIG_RUN);
  ASSERT_EQ_STR(c.data_dir, "/from/flag");
  ASSERT_EQ_INT(c.sync, STORE_SYNC_NONE);
  ASSERT_EQ_INT(c.log_level, LOG_WARN); /* from the file, no flag */
  ASSERT_EQ_U64(c.limits.labels_max, 7);
  ASSERT_EQ_STR(c.http_listen, "127.0.0.1:0");
  config_free(&c);
  unlink(path);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(config_flags_report_usage_errors) {
  struct {
    int argc;
    char *argv[4];
    const char *needle;
  } cases[] = {
      {2, {"eventd", "--bogus"}, "unknown option '--bogus'"},
      {2, {"eventd", "--data-dir"}, "needs a value"},
      {3, {"eventd", "--sync", "maybe"}, "--sync: sync: invalid value 'maybe'"},
      {3, {"eventd", "--set", "nope"}, "--set expects NAME=VALUE"},
      {3, {"eventd", "--set", "no.such=1"}, "unknown setting 'no.such'"},
      {2, {"eventd", "stray"}, "unexpected argument 'stray'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    evd_config c;
    config_init(&c);
    config_action act;
    char err[512] = "";
    int rc = config_from_args(&c, cases[i].argc, cases[i].argv, &act, err, sizeof err);
    config_free(&c);
    if (rc == 0) TEST_FAIL_("case %zu accepted", i);
    if (!strstr(err, cases[i].needle)) TEST_FAIL_("expected '%s' in '%s'", cases[i].needle, err);
  }
  evd_config c;
  config_init(&c);
  config_action act;
  char err[512];
  char *ver[] = {"eventd", "--version", NULL};
  ASSERT_EQ_INT(config_from_args(&c, 2, ver, &act, err, sizeof err), 0);
  ASSERT_EQ_INT(act, CONFIG_VERSION);
  config_free(&c);
  return 0;
}

TEST_IMPL(config_print_redacts_secrets_and_the_redacted_file_does_not_load) {
  evd_config a;
  char err[512];
  ASSERT_EQ_INT(load(&a,
                     "forward:\n  shared_key: s3cr3t-key\n  users: \"alice:pw-a:acme,bob:pw-b\"\n"
                     "outputs:\n"
                     "  - {name: w, type: webhook, url: \"https://u:url-pass@hooks.example/x\", "
                     "secret: hmac-key, headers: {Authorization: \"Bearer tok-1\"}}\n",
                     err, sizeof err),
                0);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  ASSERT(f != NULL);
  config_print(&a, f, 0);
  fclose(f);
  const char *secrets[] = {"s3cr3t-key", "pw-a", "pw-b", "url-pass", "hmac-key", "tok-1"};
  for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
    if (strstr(text, secrets[i])) TEST_FAIL_("secret '%s' printed:\n%s", secrets[i], text);
  /* what is not secret stays readable */
  ASSERT(strstr(text, "alice:" CONFIG_REDACTED ":acme,bob:" CONFIG_REDACTED) != NULL);
  ASSERT(strstr(text, "https://u:" CONFIG_REDACTED "@hooks.example/x") != NULL);
  evd_config b;
  ASSERT(load(&b, text, err, sizeof err) != 0);
  ASSERT(strstr(err, "placeholder " CONFIG_REDACTED) != NULL);
  config_free(&b);
  free(text);
  /* with --show-secrets it loads back */
  text = NULL;
  f = open_memstream(&text, &len);
  ASSERT(f != NULL);
  config_print(&a, f, 1);
  fclose(f);
  if (load(&b, text, err, sizeof err) != 0) TEST_FAIL_("--show-secrets output does not load: %s", err);
  ASSERT_EQ_STR(b.forward_shared_key, "s3cr3t-key");
  ASSERT_EQ_STR(b.forward_users, "alice:pw-a:acme,bob:pw-b");
  ASSERT_EQ_STR(b.outputs_declared[0], a.outputs_declared[0]);
  config_free(&b);
  free(text);
  config_free(&a);
  /* the command line: --show-secrets with --print-config, either order */
  config_action act;
  char *p1[] = {"eventd", "--show-secrets", "--print-config", NULL};
  char *p2[] = {"eventd", "--print-config", "--show-secrets", NULL};
  char *p3[] = {"eventd", "--print-config", NULL};
  config_init(&a);
  ASSERT_EQ_INT(config_from_args(&a, 3, p1, &act, err, sizeof err), 0);
  ASSERT_EQ_INT(act, CONFIG_PRINT_SECRETS);
  config_free(&a);
  config_init(&a);
  ASSERT_EQ_INT(config_from_args(&a, 3, p2, &act, err, sizeof err), 0);
  ASSERT_EQ_INT(act, CONFIG_PRINT_SECRETS);
  config_free(&a);
  config_init(&a);
  ASSERT_EQ_INT(config_from_args(&a, 2, p3, &act, err, sizeof err), 0);
  ASSERT_EQ_INT(act, CONFIG_PRINT);
  config_free(&a);
  return 0;
}

TEST_IMPL(config_print_loads_back_to_the_same_settings) {
  evd_config a;
  char err[512];
  ASSERT_EQ_INT(load(&a,
                     "data_dir: \"/tmp/with space\"\nsync: none\nsync_interval: 1500ms\n"
                     "retention:\n  max_bytes: 3GiB\n  max_age: 36h\nlimits:\n  "
                     "body_max_bytes: 1000000\n",
                     err, sizeof err),
                0);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  ASSERT(f != NULL);
  config_print(&a, f, 1);
  fclose(f);
  evd_config b;
  int rc = load(&b, text, err, sizeof err);
  if (rc != 0) TEST_FAIL_("printed config does not load: %s\n%s", err, text);
  ASSERT_EQ_STR(b.data_dir, "/tmp/with space");
  ASSERT_EQ_INT(b.sync, STORE_SYNC_NONE);
  ASSERT_EQ_U64(b.sync_interval_ns, 1500 * NS_PER_MS);
  ASSERT_EQ_U64(b.retention_max_bytes, 3ull << 30);
  ASSERT_EQ_U64(b.retention_max_age_ns, 36 * 3600 * NS_PER_SEC);
  ASSERT_EQ_U64(b.limits.body_max_bytes, 1000000);
  /* every setting appears in the printout */
  for (size_t i = 0; config_setting_name(i); i++) {
    const char *name = config_setting_name(i);
    const char *dot = strrchr(name, '.');
    char leaf[80];
    snprintf(leaf, sizeof leaf, "%s:", dot ? dot + 1 : name);
    if (!strstr(text, leaf)) TEST_FAIL_("'%s' missing from --print-config", name);
  }
  free(text);
  config_free(&a);
  config_free(&b);
  return 0;
}
