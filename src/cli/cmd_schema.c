/* cmd_schema: the registry commands — `schema check FILE...` (compile spec and registry files
 * locally, as eventd would at startup) and `validate --type T --data JSON` (check one event's
 * data against the registry: locally with --registry, else through eventd's
 * POST /v1/registry/validate, which stores nothing). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "core/json.h"
#include "registry/registry.h"
#include "registry/schema.h"

/* ---- schema check ------------------------------------------------------------------------ */

static const char schema_help[] =
    "NAME\n"
    "    eventctl schema check - compile event spec files and registries locally\n"
    "\n"
    "SYNOPSIS\n"
    "    eventctl schema check FILE...\n"
    "\n"
    "DESCRIPTION\n"
    "    Loads each FILE as eventd loads its registry, without talking to eventd:\n"
    "      - a registry file (a YAML file with an `event_registry` key, Magma's eventd.yml\n"
    "        format) or a directory of spec files: every registered type's spec file is\n"
    "        found, read and compiled (registry.file of docs/configuration.md);\n"
    "      - any other file is a spec file (Swagger 2.0 `definitions`, JSON Schema, OpenAPI\n"
    "        3 `components.schemas`; YAML, or JSON by the .json extension): every named\n"
    "        schema (and a JSON Schema's root) is compiled.\n"
    "    Each file is reported on its own line: `FILE: ok (...)` on stdout, or the first\n"
    "    problem as `FILE:LINE: reason` on stderr (the same message eventd would stop\n"
    "    with). docs/registry.md lists the supported keywords.\n"
    "\n"
    "OPTIONS\n"
    "    -h, --help\n"
    "        Show this page.\n"
    "\n"
    "EXAMPLES\n"
    "    eventctl schema check examples/registry/eventd.yml\n"
    "    eventctl schema check lte/swagger/*.yml\n"
    "\n"
    "EXIT STATUS\n"
    "    0   every file is valid\n"
    "    1   some file is not (each problem printed on stderr)\n"
    "    64  bad command line\n";

/* 1 if the parsed document is a registry file (has a top-level event_registry). */
static int is_registry_doc(const schema_doc *d) {
  const json_value *root = schema_doc_root(d);
  return root && root->type == JSON_OBJECT && json_get(root, "event_registry") != NULL;
}

/* Check one registry file or directory. Returns 0 or 1. */
static int check_registry(const char *path) {
  char err[1024];
  registry *r = registry_load(path, NULL, err, sizeof err);
  if (!r) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  printf("%s: ok (registry: %zu event types, %zu spec files)\n", path, registry_type_count(r),
         registry_spec_count(r));
  registry_unref(r);
  return 0;
}

/* Check one file or directory. Returns 0 (valid) or 1. */
static int check_one(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return 1;
  }
  if (S_ISDIR(st.st_mode)) return check_registry(path);
  schema_error e;
  schema_doc *d = schema_doc_load_file(path, &e);
  if (!d) {
    fprintf(stderr, "%s\n", e.message);
    return 1;
  }
  if (is_registry_doc(d)) {
    schema_doc_free(d);
    return check_registry(path);
  }
  if (schema_doc_compile_all(d, &e) != 0) {
    fprintf(stderr, "%s\n", e.message);
    schema_doc_free(d);
    return 1;
  }
  const json_value *defs = schema_doc_definitions(d);
  size_t n = defs ? defs->n : 0;
  printf("%s: ok (%s, %zu definition%s)\n", path,
         schema_doc_is_swagger(d) ? "Swagger 2.0" : "JSON Schema", n, n == 1 ? "" : "s");
  schema_doc_free(d);
  return 0;
}

static int run_schema(cli_ctx *ctx, int argc, char **argv) {
  static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  for (;;) {
    int opt = cli_getopt(argc, argv, "+:h", longopts, "schema");
    if (opt == -1) break;
    if (opt == CLI_OPT_BAD) return CLI_EXIT_USAGE;
    if (opt == 'h') {
      fputs(schema_help, stdout);
      return CLI_EXIT_OK;
    }
  }
  if (optind >= argc) return cli_usage_error("schema", "expected a subcommand: check FILE...");
  if (strcmp(argv[optind], "check") != 0)
    return cli_usage_error("schema", "unknown subcommand '%s' (expected check)", argv[optind]);
  optind++;
  /* options after "check" (only --help) */
  if (optind < argc && (strcmp(argv[optind], "--help") == 0 || strcmp(argv[optind], "-h") == 0)) {
    fputs(schema_help, stdout);
    return CLI_EXIT_OK;
  }
  if (optind >= argc) return cli_usage_error("schema", "check: expected at least one FILE");
  int bad = 0;
  for (int i = optind; i < argc; i++) bad |= check_one(argv[i]);
  return bad ? CLI_EXIT_REFUSED : CLI_EXIT_OK;
}

const cli_command cli_cmd_schema = {
    .name = "schema",
    .summary = "check event spec files and registries (locally)",
    .help = schema_help,
    .run = run_schema,
};

/* ---- validate ----------------------------------------------------------------------------- */

static const char validate_help[] =
    "NAME\n"
    "    eventctl validate - check an event's data against the event-type registry\n"
    "\n"
    "SYNOPSIS\n"
    "    eventctl validate --type TYPE [--data JSON | --data @FILE] [--stream S]\n"
    "                      [--registry FILE]\n"
    "\n"
    "DESCRIPTION\n"
    "    Checks {\"type\": TYPE, \"data\": JSON} as eventd's ingest would, and stores nothing:\n"
    "      - with --registry FILE, locally against that registry (a registry file or a\n"
    "        directory of spec files; see `eventctl schema check`), without eventd;\n"
    "      - otherwise through eventd's POST /v1/registry/validate, against the registry\n"
    "        eventd runs with (the whole event is normalized as POST /v1/events would).\n"
    "    Prints `valid` (with a note when the type is not registered but the policy lets\n"
    "    it in) or the problem as `FIELD: reason`, e.g.\n"
    "        data.pdp_start_time: expected integer, got string\n"
    "\n"
    "OPTIONS\n"
    "    --type TYPE\n"
    "        The event type (required).\n"
    "    --data JSON\n"
    "        The event's data, a JSON object (default {}). @FILE reads it from FILE, @-\n"
    "        from standard input.\n"
    "    --stream S\n"
    "        The event's stream: decides the policy for unregistered types when the\n"
    "        registry sets one per stream.\n"
    "    --registry FILE\n"
    "        Check locally against this registry instead of asking eventd.\n" CLI_COMMON_OPTIONS_HELP
    "\n"
    "EXAMPLES\n"
    "    eventctl validate --type session_created \\\n"
    "        --data '{\"imsi\":\"IMSI001010000000001\",\"session_id\":\"s1\",\"pdp_start_time\":1700000000}'\n"
    "    eventctl validate --registry examples/registry/eventd.yml --type attach_success \\\n"
    "        --data @event.json\n"
    "\n"
    "EXIT STATUS\n"
    "    0   valid (or accepted by the unregistered-type policy)\n"
    "    1   not valid, or eventd answered with an error (printed on stderr)\n"
    "    2   eventd could not be reached (after the retries)\n"
    "    64  bad command line, unreadable data file, data that is not JSON, or a\n"
    "        registry that does not load\n";

enum { OPT_TYPE = CLI_OPT_FIRST_OWN, OPT_DATA, OPT_STREAM, OPT_REGISTRY };

/* Read --data: inline JSON, @FILE or @- (stdin), into b. Returns 0 or -1 (reported). */
static int read_data(const char *arg, buf *b) {
  if (arg[0] != '@') return buf_puts(b, arg) == 0 ? 0 : -1;
  const char *path = arg + 1;
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) {
    cli_usage_error("validate", "cannot read --data file '%s': %s", path, strerror(errno));
    return -1;
  }
  char chunk[8192];
  size_t n;
  int rc = 0;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (buf_append(b, chunk, n) != 0) rc = -1;
  if (ferror(f)) rc = -1;
  if (f != stdin) fclose(f);
  if (rc) cli_usage_error("validate", "cannot read --data file '%s'", path);
  return rc;
}

/* Validate locally against the registry at path. */
static int validate_local(const char *path, const char *type, const char *stream, const json_value *data) {
  char err[1024];
  registry *r = registry_load(path, NULL, err, sizeof err);
  if (!r) {
    cli_errorf("%s", err);
    return CLI_EXIT_USAGE;
  }
  evd_field_error fe;
  const registry_type *t;
  registry_verdict v = registry_check_ex(r, stream, stream ? strlen(stream) : 0, type, strlen(type), data, &t,
                                         &fe, REGISTRY_CHECK_NO_COUNT);
  int rc = CLI_EXIT_OK;
  switch (v) {
    case REGISTRY_VALID: printf("valid\n"); break;
    case REGISTRY_UNKNOWN_ACCEPTED:
      printf("valid (type '%s' is not registered; the policy accepts it)\n", type);
      break;
    case REGISTRY_UNKNOWN_FLAGGED:
      printf("valid (type '%s' is not registered; the policy accepts it with the label unregistered=true)\n",
             type);
      break;
    case REGISTRY_INVALID:
    case REGISTRY_UNKNOWN_REJECTED:
      fprintf(stderr, "%s: %s\n", fe.field, fe.reason);
      rc = CLI_EXIT_REFUSED;
      break;
  }
  registry_unref(r);
  return rc;
}

/* Validate through eventd. */
static int validate_remote(cli_ctx *ctx, const char *type, const char *stream, const json_value *data) {
  buf body = BUF_INIT;
  int w = buf_puts(&body, "{\"type\":");
  w |= json_write_string(&body, type, strlen(type));
  if (stream) {
    w |= buf_puts(&body, ",\"stream\":");
    w |= json_write_string(&body, stream, strlen(stream));
  }
  w |= buf_puts(&body, ",\"data\":");
  w |= json_write_value(&body, data);
  w |= buf_putc(&body, '}');
  if (w) {
    buf_free(&body);
    cli_errorf("out of memory");
    return CLI_EXIT_REFUSED;
  }
  http_client c;
  int rc = cli_open_client(ctx, CLI_DEFAULT_RETRIES, &c);
  if (rc) {
    buf_free(&body);
    return rc;
  }
  http_response resp;
  http_response_init(&resp);
  char err[512];
  rc = http_request(&c, "POST", "/v1/registry/validate", "application/json", body.data, body.len,
                    HTTP_RETRY_ANY, &resp, err, sizeof err);
  buf_free(&body);
  int status = CLI_EXIT_OK;
  if (rc != 0) {
    cli_errorf("%s", err);
    status = CLI_EXIT_UNREACHABLE;
  } else if (resp.status == 200 || resp.status == 400) {
    arena a;
    arena_init(&a, 0);
    json_value *root = parse_json_body(&a, &resp.body, NULL);
    const json_value *valid = root && root->type == JSON_OBJECT ? json_get(root, "valid") : NULL;
    if (!valid) {
      report_http_error("validate", &resp, NULL, NULL);
      status = CLI_EXIT_REFUSED;
    } else if (valid->type == JSON_TRUE) {
      const json_value *u = json_get(root, "unregistered");
      const json_value *reg = json_get(root, "registry");
      int64_t nu = 0;
      if (u) json_as_int64(u, &nu);
      if (reg && reg->type == JSON_FALSE) printf("valid (eventd runs without a registry)\n");
      else if (nu) printf("valid (type '%s' is not registered; eventd's policy accepts it)\n", type);
      else printf("valid\n");
    } else {
      const json_value *errs = json_get(root, "errors");
      for (const json_value *e = errs ? errs->child : NULL; e; e = e->next) {
        const json_value *f = json_get(e, "field"), *r = json_get(e, "reason");
        fprintf(stderr, "%s: %s\n", f && f->type == JSON_STRING ? f->s : "",
                r && r->type == JSON_STRING ? r->s : "");
      }
      if (!errs || !errs->child) report_http_error("validate", &resp, NULL, NULL);
      status = CLI_EXIT_REFUSED;
    }
    arena_free(&a);
  } else {
    report_http_error("validate", &resp, NULL, NULL);
    status = CLI_EXIT_REFUSED;
  }
  http_response_free(&resp);
  http_client_free(&c);
  return status;
}

static int run_validate(cli_ctx *ctx, int argc, char **argv) {
  static const struct option longopts[] = {
      CLI_COMMON_LONG_OPTIONS,
      {"type", required_argument, NULL, OPT_TYPE},
      {"data", required_argument, NULL, OPT_DATA},
      {"stream", required_argument, NULL, OPT_STREAM},
      {"registry", required_argument, NULL, OPT_REGISTRY},
      {NULL, 0, NULL, 0},
  };
  const char *type = NULL, *data_arg = NULL, *stream = NULL, *reg = NULL;
  for (;;) {
    int opt = cli_getopt(argc, argv, ":h", longopts, "validate");
    if (opt == -1) break;
    if (opt == CLI_OPT_BAD) return CLI_EXIT_USAGE;
    switch (opt) {
      case OPT_TYPE: type = optarg; break;
      case OPT_DATA: data_arg = optarg; break;
      case OPT_STREAM: stream = optarg; break;
      case OPT_REGISTRY: reg = optarg; break;
      default: {
        int r = cli_common_option(ctx, &cli_cmd_validate, opt, optarg);
        if (r >= CLI_COMMON_EXIT) return r - CLI_COMMON_EXIT;
        if (r < 0) return cli_usage_error("validate", "unexpected option");
      }
    }
  }
  if (optind < argc) return cli_usage_error("validate", "unexpected argument '%s'", argv[optind]);
  if (!type || !*type) return cli_usage_error("validate", "--type is required");
  buf text = BUF_INIT;
  if (read_data(data_arg ? data_arg : "{}", &text) != 0) {
    buf_free(&text);
    return CLI_EXIT_USAGE;
  }
  arena a;
  arena_init(&a, 0);
  json_error je;
  json_value *data = json_parse(&a, text.data ? text.data : "", text.len, JSON_DEFAULT_MAX_DEPTH, &je);
  int rc;
  if (!data) {
    rc = cli_usage_error("validate", "--data is not valid JSON: %s at byte %zu", je.message, je.offset);
  } else if (data->type != JSON_OBJECT) {
    rc = cli_usage_error("validate", "--data must be a JSON object, got %s", json_type_name(data->type));
  } else {
    rc = reg ? validate_local(reg, type, stream, data) : validate_remote(ctx, type, stream, data);
  }
  arena_free(&a);
  buf_free(&text);
  return rc;
}

const cli_command cli_cmd_validate = {
    .name = "validate",
    .summary = "check an event's data against the event-type registry",
    .help = validate_help,
    .run = run_validate,
};
