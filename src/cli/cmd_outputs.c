/* cmd_outputs: `eventctl outputs ...` — manage eventd's outputs (subscriptions) over the
 * /v1/outputs API (docs/outputs.md): list, get, create, update, delete, pause, resume,
 * replay, dead (list | redeliver | purge), deliveries, test. Answers are printed as
 * indented JSON, except `list`, which prints a table (--raw for the JSON answer). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "core/json.h"

enum {
  OPT_FILE = CLI_OPT_FIRST_OWN,
  OPT_JSON,
  OPT_NAME,
  OPT_TYPE,
  OPT_MATCH,
  OPT_SET,
  OPT_SINCE,
  OPT_AFTER_ID,
  OPT_SEQ,
  OPT_LIMIT,
  OPT_RAW,
  OPT_OWNER
};

static const char outputs_help[] =
    "NAME\n"
    "    eventctl outputs - manage eventd's outputs (webhook, kafka, amqp, file, stdout)\n"
    "\n"
    "SYNOPSIS\n"
    "    eventctl outputs list [--raw]\n"
    "    eventctl outputs get NAME\n"
    "    eventctl outputs create (--file FILE | --json SPEC | --name NAME --type TYPE\n"
    "                            [--match PATTERN]... [--set MEMBER=VALUE]...)\n"
    "    eventctl outputs update NAME (--file FILE | --json SPEC | --set MEMBER=VALUE...)\n"
    "    eventctl outputs delete|pause|resume|test NAME\n"
    "    eventctl outputs replay NAME (--since TIME | --after-id ID)\n"
    "    eventctl outputs dead NAME [list [--limit N] | redeliver [--seq N] | purge]\n"
    "    eventctl outputs deliveries NAME [--limit N]\n"
    "    (every command naming an output also takes --owner TENANT)\n"
    "\n"
    "DESCRIPTION\n"
    "    An output delivers the events matching its patterns (AMQP topic patterns on the\n"
    "    event's key: '*' one word, '#' zero or more) to a destination, at least once and\n"
    "    in store order. `create` takes the same JSON object as POST /v1/outputs, from a\n"
    "    file (--file, '-' for stdin), inline (--json) or built from flags: --set\n"
    "    MEMBER=VALUE takes VALUE as JSON when it parses as JSON, else as a string\n"
    "    (--set url=http://127.0.0.1:9000/in --set batch=10). `update` merges members\n"
    "    into a runtime output (PATCH); outputs declared in eventd's config file cannot be\n"
    "    changed here. `replay` moves the cursor back to a time (RFC 3339, epoch, -1h) or\n"
    "    to an event id (that event and what follows are delivered again). `dead` shows,\n"
    "    redelivers or purges the events that exhausted their attempts; `deliveries` shows\n"
    "    the delivery history; `test` delivers one synthetic event and shows the result.\n"
    "\n"
    "OPTIONS\n"
    "    --file FILE, --json SPEC, --name NAME, --type TYPE, --match PATTERN,\n"
    "    --set MEMBER=VALUE\n"
    "        The output's spec (create, update).\n"
    "    --since TIME, --after-id ID\n"
    "        Where replay restarts.\n"
    "    --seq N\n"
    "        Redeliver only the dead letter of store seq N.\n"
    "    --limit N\n"
    "        Rows of dead letters or deliveries to show (default 100).\n"
    "    --raw\n"
    "        With list: print eventd's JSON answer instead of a table.\n"
    "    --owner TENANT\n"
    "        The owner of the output NAME (\"\" for the root). Names are unique per owner:\n"
    "        without it NAME means the output of the token's own tenant, else the only one\n"
    "        with that name the token may manage; eventd answers \"ambiguous\" when several\n"
    "        tenants' outputs share it.\n" CLI_COMMON_OPTIONS_HELP
    "\n" CLI_EXIT_STATUS_HELP
    "\n"
    "EXAMPLES\n"
    "    eventctl outputs create --name hook1 --type webhook --match 'sessiond.#' \\\n"
    "        --set url=http://127.0.0.1:9000/in --set secret=s3cret\n"
    "    eventctl outputs replay hook1 --since -2h\n"
    "    eventctl outputs dead hook1 redeliver\n";

/* Read a file ("-" = stdin) into b. Returns 0, or CLI_EXIT_USAGE after a message. */
static int read_file(const char *path, buf *b) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) return cli_usage_error("outputs", "cannot read '%s': %s", path, strerror(errno));
  char chunk[8192];
  size_t n;
  int rc = 0;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (buf_append(b, chunk, n) != 0) rc = -1;
  if (ferror(f)) rc = -1;
  if (f != stdin) fclose(f);
  return rc ? cli_usage_error("outputs", "cannot read '%s'", path) : 0;
}

typedef struct spec_opts {
  const char *file, *json, *name, *type;
  const char *match[32];
  int nmatch;
  const char *set[64];
  int nset;
} spec_opts;

/* Build the spec JSON from the options. Returns 0 or an exit status. */
static int build_spec(const spec_opts *o, int need_name_type, buf *out) {
  if (o->file || o->json) {
    if (o->name || o->type || o->nmatch || o->nset)
      return cli_usage_error("outputs", "give either --file/--json or the spec flags, not both");
    if (o->file) return read_file(o->file, out);
    return buf_puts(out, o->json) ? CLI_EXIT_USAGE : 0;
  }
  if (need_name_type && (!o->name || !o->type))
    return cli_usage_error("outputs", "create needs --name and --type (or --file/--json)");
  int first = 1;
  buf_putc(out, '{');
  if (o->name) {
    buf_puts(out, "\"name\":");
    json_write_string(out, o->name, strlen(o->name));
    first = 0;
  }
  if (o->type) {
    buf_puts(out, first ? "\"type\":" : ",\"type\":");
    json_write_string(out, o->type, strlen(o->type));
    first = 0;
  }
  if (o->nmatch) {
    buf_puts(out, first ? "\"match\":[" : ",\"match\":[");
    for (int i = 0; i < o->nmatch; i++) {
      if (i) buf_putc(out, ',');
      json_write_string(out, o->match[i], strlen(o->match[i]));
    }
    buf_putc(out, ']');
    first = 0;
  }
  for (int i = 0; i < o->nset; i++) {
    const char *eq = strchr(o->set[i], '=');
    if (!eq || eq == o->set[i])
      return cli_usage_error("outputs", "--set expects MEMBER=VALUE, got '%s'", o->set[i]);
    if (!first) buf_putc(out, ',');
    first = 0;
    json_write_string(out, o->set[i], (size_t)(eq - o->set[i]));
    buf_putc(out, ':');
    const char *v = eq + 1;
    arena a;
    arena_init(&a, 0);
    json_error je;
    if (*v && utf8_valid(v, strlen(v)) && json_parse(&a, v, strlen(v), 32, &je)) buf_puts(out, v);
    else json_write_string(out, v, strlen(v));
    arena_free(&a);
  }
  return buf_putc(out, '}') ? CLI_EXIT_USAGE : 0;
}

/* Print the answer: pretty JSON on 2xx (exit 0), the error otherwise (exit 1). */
static int print_answer(const char *what, const http_response *resp) {
  if (resp->status < 200 || resp->status >= 300) {
    report_http_error(what, resp, NULL, NULL);
    return CLI_EXIT_REFUSED;
  }
  arena a;
  arena_init(&a, 0);
  json_value *v = parse_json_body(&a, &resp->body, NULL);
  if (v) {
    buf pretty = BUF_INIT;
    json_write_pretty(&pretty, v);
    printf("%s\n", pretty.data ? pretty.data : "");
    buf_free(&pretty);
  } else {
    fwrite(resp->body.data, 1, resp->body.len, stdout);
  }
  arena_free(&a);
  return CLI_EXIT_OK;
}

static const char *str_member(const json_value *o, const char *k) {
  const json_value *v = o ? json_get(o, k) : NULL;
  return v && v->type == JSON_STRING ? v->s : "";
}

static void num_member(const json_value *o, const char *k, char *out, size_t n) {
  const json_value *v = o ? json_get(o, k) : NULL;
  snprintf(out, n, "%.*s", v && v->type == JSON_NUMBER ? (int)v->n : 0, v ? v->s : "");
}

/* The list as a table. */
static int print_list(const http_response *resp) {
  if (resp->status != 200) {
    report_http_error("outputs list", resp, NULL, NULL);
    return CLI_EXIT_REFUSED;
  }
  arena a;
  arena_init(&a, 0);
  json_value *root = parse_json_body(&a, &resp->body, NULL);
  const json_value *list = root && root->type == JSON_OBJECT ? json_get(root, "outputs") : NULL;
  if (!list || list->type != JSON_ARRAY) {
    arena_free(&a);
    cli_errorf("outputs list: unexpected answer");
    return CLI_EXIT_REFUSED;
  }
  static const char *const headers[] = {"NAME", "OWNER", "TYPE", "STATE", "DELIVERED", "LAG",
                                        "DEAD", "DECLARED", "LAST ERROR"};
  table t;
  table_init(&t, 9, headers);
  for (const json_value *o = list->child; o; o = o->next) {
    const json_value *st = json_get(o, "status");
    char delivered[32], lag[32], dead[32];
    num_member(st, "delivered", delivered, sizeof delivered);
    num_member(st, "lag_events", lag, sizeof lag);
    num_member(st, "dead_letters", dead, sizeof dead);
    const json_value *decl = json_get(o, "declared");
    const char *owner = str_member(o, "owner");
    const char *cells[9] = {str_member(o, "name"), owner && *owner ? owner : "(root)",
                            str_member(o, "type"), str_member(st, "state"),
                            delivered, lag, dead,
                            decl && decl->type == JSON_TRUE ? "config" : "runtime",
                            str_member(st, "last_error")};
    table_add_row(&t, cells);
  }
  table_print(&t, stdout, output_term_width(), NULL, 8);
  table_free(&t);
  arena_free(&a);
  return CLI_EXIT_OK;
}

static int run_outputs(cli_ctx *ctx, int argc, char **argv) {
  static const struct option longopts[] = {
      CLI_COMMON_LONG_OPTIONS,
      {"file", required_argument, NULL, OPT_FILE},
      {"json", required_argument, NULL, OPT_JSON},
      {"raw", no_argument, NULL, OPT_RAW},
      {"name", required_argument, NULL, OPT_NAME},
      {"type", required_argument, NULL, OPT_TYPE},
      {"match", required_argument, NULL, OPT_MATCH},
      {"set", required_argument, NULL, OPT_SET},
      {"since", required_argument, NULL, OPT_SINCE},
      {"after-id", required_argument, NULL, OPT_AFTER_ID},
      {"seq", required_argument, NULL, OPT_SEQ},
      {"limit", required_argument, NULL, OPT_LIMIT},
      {"owner", required_argument, NULL, OPT_OWNER},
      {NULL, 0, NULL, 0},
  };
  spec_opts so = {0};
  const char *since = NULL, *after_id = NULL;
  long long seq = 0, limit = 100;
  int raw = 0;
  const char *owner = NULL;
  for (;;) {
    int opt = cli_getopt(argc, argv, ":h", longopts, "outputs");
    if (opt == -1) break;
    if (opt == CLI_OPT_BAD) return CLI_EXIT_USAGE;
    switch (opt) {
      case OPT_FILE: so.file = optarg; break;
      case OPT_JSON: so.json = optarg; break;
      case OPT_RAW: raw = 1; break;
      case OPT_OWNER:
        for (const char *p = optarg; *p; p++)
          if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                *p == '_' || *p == '-' || *p == '.' || *p == '/'))
            return cli_usage_error("outputs", "--owner expects a tenant path, got '%s'", optarg);
        owner = optarg;
        break;
      case OPT_NAME: so.name = optarg; break;
      case OPT_TYPE: so.type = optarg; break;
      case OPT_MATCH:
        if (so.nmatch == 32) return cli_usage_error("outputs", "at most 32 --match");
        so.match[so.nmatch++] = optarg;
        break;
      case OPT_SET:
        if (so.nset == 64) return cli_usage_error("outputs", "at most 64 --set");
        so.set[so.nset++] = optarg;
        break;
      case OPT_SINCE: since = optarg; break;
      case OPT_AFTER_ID: after_id = optarg; break;
      case OPT_SEQ:
        if (cli_parse_count(optarg, (1LL << 62), &seq) != 0 || seq < 1)
          return cli_usage_error("outputs", "--seq expects a store seq (1, 2, ...)");
        break;
      case OPT_LIMIT:
        if (cli_parse_count(optarg, 10000, &limit) != 0 || limit < 1)
          return cli_usage_error("outputs", "--limit expects 1..10000");
        break;
      default: {
        int r = cli_common_option(ctx, &cli_cmd_outputs, opt, optarg);
        if (r >= CLI_COMMON_EXIT) return r - CLI_COMMON_EXIT;
        if (r < 0) return cli_usage_error("outputs", "unexpected option");
      }
    }
  }
  if (optind >= argc)
    return cli_usage_error("outputs", "missing subcommand (list, get, create, update, delete, "
                           "pause, resume, replay, dead, deliveries, test)");
  const char *sub = argv[optind];
  const char *name = optind + 1 < argc ? argv[optind + 1] : NULL;
  const char *action = optind + 2 < argc ? argv[optind + 2] : NULL;
  int needs_name = strcmp(sub, "list") != 0 && strcmp(sub, "create") != 0;
  if (needs_name && !name) return cli_usage_error("outputs", "%s needs an output NAME", sub);
  if (name) {
    for (const char *p = name; *p; p++)
      if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '_' || *p == '-' || *p == '.'))
        return cli_usage_error("outputs", "invalid output name '%s'", name);
  }
  int extra = optind + (needs_name ? 2 : 1) + (strcmp(sub, "dead") == 0 && action ? 1 : 0);
  if (!needs_name && name) extra = optind + 1;
  if (extra < argc) return cli_usage_error("outputs", "unexpected argument '%s'", argv[extra]);

  char path[640];
  const char *method = "GET";
  buf body = BUF_INIT;
  int rc = 0, is_list = 0;
  if (strcmp(sub, "list") == 0) {
    snprintf(path, sizeof path, "/v1/outputs");
    is_list = !raw;
  } else if (strcmp(sub, "get") == 0) {
    snprintf(path, sizeof path, "/v1/outputs/%s", name);
  } else if (strcmp(sub, "create") == 0) {
    method = "POST";
    snprintf(path, sizeof path, "/v1/outputs");
    rc = build_spec(&so, 1, &body);
  } else if (strcmp(sub, "update") == 0) {
    method = "PATCH";
    snprintf(path, sizeof path, "/v1/outputs/%s", name);
    rc = build_spec(&so, 0, &body);
  } else if (strcmp(sub, "delete") == 0) {
    method = "DELETE";
    snprintf(path, sizeof path, "/v1/outputs/%s", name);
  } else if (strcmp(sub, "pause") == 0 || strcmp(sub, "resume") == 0 ||
             strcmp(sub, "test") == 0) {
    method = "POST";
    snprintf(path, sizeof path, "/v1/outputs/%s/%s", name, sub);
  } else if (strcmp(sub, "replay") == 0) {
    method = "POST";
    snprintf(path, sizeof path, "/v1/outputs/%s/replay", name);
    if (!since == !after_id) rc = cli_usage_error("outputs", "replay needs --since or --after-id");
    else {
      buf_puts(&body, since ? "{\"since\":" : "{\"after_id\":");
      json_write_string(&body, since ? since : after_id, strlen(since ? since : after_id));
      buf_putc(&body, '}');
    }
  } else if (strcmp(sub, "dead") == 0) {
    if (!action || strcmp(action, "list") == 0) {
      snprintf(path, sizeof path, "/v1/outputs/%s/dead?limit=%lld", name, limit);
    } else if (strcmp(action, "redeliver") == 0) {
      method = "POST";
      snprintf(path, sizeof path, "/v1/outputs/%s/dead/redeliver", name);
      if (seq) buf_printf(&body, "{\"seq\":%lld}", seq);
    } else if (strcmp(action, "purge") == 0) {
      method = "DELETE";
      snprintf(path, sizeof path, "/v1/outputs/%s/dead", name);
    } else {
      rc = cli_usage_error("outputs", "dead: unknown action '%s' (list, redeliver, purge)", action);
    }
  } else if (strcmp(sub, "deliveries") == 0) {
    snprintf(path, sizeof path, "/v1/outputs/%s/deliveries?limit=%lld", name, limit);
  } else {
    rc = cli_usage_error("outputs", "unknown subcommand '%s'", sub);
  }
  if (rc == 0 && owner && needs_name) { /* ?owner= (tenant characters need no escaping) */
    size_t used = strlen(path);
    int n = snprintf(path + used, sizeof path - used, "%sowner=%s", strchr(path, '?') ? "&" : "?",
                     owner);
    if (n < 0 || (size_t)n >= sizeof path - used)
      rc = cli_usage_error("outputs", "--owner: tenant too long");
  } else if (rc == 0 && owner) {
    rc = cli_usage_error("outputs", "--owner goes with a command naming an output");
  }
  if (rc) {
    buf_free(&body);
    return rc;
  }
  if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0 && body.len == 0)
    buf_puts(&body, "{}"); /* a POST without a body would not be sent as a POST */
  http_client c;
  rc = cli_open_client(ctx, CLI_DEFAULT_RETRIES, &c);
  if (rc) {
    buf_free(&body);
    return rc;
  }
  http_response resp;
  http_response_init(&resp);
  char err[512];
  /* Reads, pause/resume and replay are safe to repeat; creation and redelivery are not. */
  int safe = strcmp(method, "GET") == 0 || strcmp(sub, "pause") == 0 ||
             strcmp(sub, "resume") == 0 || strcmp(sub, "replay") == 0;
  int status;
  if (http_request(&c, method, path, body.len ? "application/json" : NULL, body.data, body.len,
                   safe ? HTTP_RETRY_ANY : HTTP_RETRY_UNSENT, &resp, err, sizeof err) != 0) {
    cli_errorf("%s", err);
    status = CLI_EXIT_UNREACHABLE;
  } else {
    char what[300];
    snprintf(what, sizeof what, "outputs %s", sub);
    status = is_list ? print_list(&resp) : print_answer(what, &resp);
  }
  http_response_free(&resp);
  http_client_free(&c);
  buf_free(&body);
  return status;
}

const cli_command cli_cmd_outputs = {
    .name = "outputs",
    .summary = "manage outputs: list, create, pause, replay, dead letters, test",
    .help = outputs_help,
    .run = run_outputs,
};
