/* cmd_tokens: `eventctl tokens create|list|revoke` — the /v1/tokens API (docs/security.md).
 *
 *   tokens create --role ROLE --tenant T [--name N] [--stream S]... [--type-prefix P]...
 *       prints the new token alone on stdout (it is shown once), details on stderr
 *   tokens list [--raw]    a table (or the JSON answer)
 *   tokens revoke ID */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "core/arena.h"
#include "core/json.h"

enum { OPT_ROLE = CLI_OPT_FIRST_OWN, OPT_TENANT, OPT_NAME, OPT_STREAM, OPT_TYPE_PREFIX, OPT_RAW };

static const char tokens_help[] =
    "NAME\n"
    "    eventctl tokens - create, list and revoke API tokens (auth.mode: on)\n"
    "\n"
    "SYNOPSIS\n"
    "    eventctl tokens create --role ROLE --tenant TENANT [--name NAME]\n"
    "                           [--stream STREAM]... [--type-prefix PREFIX]...\n"
    "    eventctl tokens list [--raw]\n"
    "    eventctl tokens revoke ID\n"
    "\n"
    "DESCRIPTION\n"
    "    Manage the bearer tokens of eventd's access control (POST/GET/DELETE /v1/tokens;\n"
    "    docs/security.md). Needs an admin token, or a domain-admin token for tokens of\n"
    "    its own tenant subtree (--token or EVENTD_TOKEN).\n"
    "\n"
    "    create prints the new token alone on standard output (it is never shown again)\n"
    "    and its id, role and tenant on standard error.\n"
    "\n"
    "OPTIONS\n"
    "    --role ROLE\n"
    "        admin, domain-admin, user, ingest or read.\n"
    "    --tenant TENANT\n"
    "        Tenant path, e.g. acme/prod; \"\" is the root (admin, root read tokens).\n"
    "    --name NAME\n"
    "        A name for people (also the Basic-auth user of the Elasticsearch endpoints);\n"
    "        default ROLE@TENANT.\n"
    "    --stream STREAM, --type-prefix PREFIX\n"
    "        Restrict the token to these streams / types starting with these prefixes\n"
    "        (repeatable).\n"
    "    --raw\n"
    "        list: print eventd's JSON answer instead of a table.\n" CLI_COMMON_OPTIONS_HELP
    "\n" CLI_EXIT_STATUS_HELP
    "\n"
    "EXAMPLES\n"
    "    export EVENTD_TOKEN=$(cat data/admin.token)\n"
    "    eventctl tokens create --role user --tenant acme/prod --name billing-app\n"
    "    eventctl tokens list\n"
    "    eventctl tokens revoke 4\n";

/* Append "key":[items...] for a repeated option. */
static void put_list(buf *b, const char *key, char **items, size_t n) {
  if (!n) return;
  buf_printf(b, ",\"%s\":[", key);
  for (size_t i = 0; i < n; i++) {
    if (i) buf_putc(b, ',');
    json_write_string(b, items[i], strlen(items[i]));
  }
  buf_putc(b, ']');
}

static const char *str_of(const json_value *o, const char *k) {
  const json_value *v = o ? json_get(o, k) : NULL;
  return v && v->type == JSON_STRING ? v->s : "";
}

/* The list of an answer as a comma-joined string into out. */
static void joined(const json_value *o, const char *k, char *out, size_t n) {
  const json_value *v = o ? json_get(o, k) : NULL;
  size_t used = 0;
  out[0] = '\0';
  if (!v || v->type != JSON_ARRAY) return;
  for (const json_value *e = v->child; e; e = e->next) {
    if (e->type != JSON_STRING) continue;
    int w = snprintf(out + used, n - used, "%s%s", used ? "," : "", e->s);
    if (w < 0 || (size_t)w >= n - used) break;
    used += (size_t)w;
  }
}

static int print_table(const http_response *resp) {
  arena a;
  arena_init(&a, 0);
  json_value *root = parse_json_body(&a, &resp->body, NULL);
  const json_value *list = root && root->type == JSON_OBJECT ? json_get(root, "tokens") : NULL;
  if (!list || list->type != JSON_ARRAY) {
    arena_free(&a);
    cli_errorf("tokens list: unexpected answer");
    return CLI_EXIT_REFUSED;
  }
  static const char *const headers[] = {"ID", "NAME", "ROLE", "TENANT", "RESTRICTED TO",
                                        "CREATED", "LAST USED", "STATE"};
  table t;
  table_init(&t, 8, headers);
  for (const json_value *o = list->child; o; o = o->next) {
    const json_value *id = json_get(o, "id");
    char ids[32], streams[256], types[256], restr[520];
    snprintf(ids, sizeof ids, "%.*s", id && id->type == JSON_NUMBER ? (int)id->n : 0,
             id ? id->s : "");
    joined(o, "streams", streams, sizeof streams);
    joined(o, "type_prefixes", types, sizeof types);
    snprintf(restr, sizeof restr, "%s%s%s", streams, streams[0] && types[0] ? " " : "", types);
    const json_value *rv = json_get(o, "revoked");
    const char *tenant = str_of(o, "tenant");
    const char *cells[8] = {ids, str_of(o, "name"), str_of(o, "role"), *tenant ? tenant : "(root)",
                            restr, str_of(o, "created"), str_of(o, "last_used"),
                            rv && rv->type == JSON_TRUE ? "revoked" : "active"};
    table_add_row(&t, cells);
  }
  table_print(&t, stdout, output_term_width(), NULL, 1);
  table_free(&t);
  arena_free(&a);
  return CLI_EXIT_OK;
}

static int run_tokens(cli_ctx *ctx, int argc, char **argv) {
  static const struct option longopts[] = {
      CLI_COMMON_LONG_OPTIONS,
      {"role", required_argument, NULL, OPT_ROLE},
      {"tenant", required_argument, NULL, OPT_TENANT},
      {"name", required_argument, NULL, OPT_NAME},
      {"stream", required_argument, NULL, OPT_STREAM},
      {"type-prefix", required_argument, NULL, OPT_TYPE_PREFIX},
      {"raw", no_argument, NULL, OPT_RAW},
      {NULL, 0, NULL, 0},
  };
  const char *role = NULL, *tenant = NULL, *name = NULL;
  char *streams[32], *types[32];
  size_t nstreams = 0, ntypes = 0;
  int raw = 0;
  for (;;) {
    int opt = cli_getopt(argc, argv, ":h", longopts, "tokens");
    if (opt == -1) break;
    if (opt == CLI_OPT_BAD) return CLI_EXIT_USAGE;
    switch (opt) {
      case OPT_ROLE: role = optarg; break;
      case OPT_TENANT: tenant = optarg; break;
      case OPT_NAME: name = optarg; break;
      case OPT_STREAM:
        if (nstreams == 32) return cli_usage_error("tokens", "at most 32 --stream");
        streams[nstreams++] = optarg;
        break;
      case OPT_TYPE_PREFIX:
        if (ntypes == 32) return cli_usage_error("tokens", "at most 32 --type-prefix");
        types[ntypes++] = optarg;
        break;
      case OPT_RAW: raw = 1; break;
      default: {
        int r = cli_common_option(ctx, &cli_cmd_tokens, opt, optarg);
        if (r >= CLI_COMMON_EXIT) return r - CLI_COMMON_EXIT;
        if (r < 0) return cli_usage_error("tokens", "unexpected option");
      }
    }
  }
  if (optind >= argc) return cli_usage_error("tokens", "missing subcommand (create, list, revoke)");
  const char *sub = argv[optind];
  const char *method = "GET";
  char path[128] = "/v1/tokens";
  buf body = BUF_INIT;
  int nargs = 1;
  if (strcmp(sub, "create") == 0) {
    if (!role) return cli_usage_error("tokens", "create needs --role");
    if (!tenant && strcmp(role, "admin") != 0)
      return cli_usage_error("tokens", "create needs --tenant (\"\" for the root)");
    method = "POST";
    buf_puts(&body, "{\"role\":");
    json_write_string(&body, role, strlen(role));
    buf_puts(&body, ",\"tenant\":");
    json_write_string(&body, tenant ? tenant : "", tenant ? strlen(tenant) : 0);
    if (name) {
      buf_puts(&body, ",\"name\":");
      json_write_string(&body, name, strlen(name));
    }
    put_list(&body, "streams", streams, nstreams);
    put_list(&body, "type_prefixes", types, ntypes);
    if (buf_putc(&body, '}') != 0) {
      buf_free(&body);
      cli_errorf("out of memory");
      return CLI_EXIT_REFUSED;
    }
  } else if (strcmp(sub, "list") == 0) {
    /* GET /v1/tokens */
  } else if (strcmp(sub, "revoke") == 0) {
    if (optind + 1 >= argc) return cli_usage_error("tokens", "revoke needs a token ID");
    long long id;
    if (cli_parse_count(argv[optind + 1], (1LL << 62), &id) != 0 || id < 1)
      return cli_usage_error("tokens", "revoke: '%s' is not a token id (see tokens list)",
                             argv[optind + 1]);
    method = "DELETE";
    snprintf(path, sizeof path, "/v1/tokens/%lld", id);
    nargs = 2;
  } else {
    return cli_usage_error("tokens", "unknown subcommand '%s' (create, list, revoke)", sub);
  }
  if (optind + nargs < argc) {
    buf_free(&body);
    return cli_usage_error("tokens", "unexpected argument '%s'", argv[optind + nargs]);
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
  int status = CLI_EXIT_OK;
  /* Creating is not safe to repeat (a lost answer would leave an unknown token behind). */
  if (http_request(&c, method, path, body.len ? "application/json" : NULL, body.data, body.len,
                   strcmp(method, "POST") == 0 ? HTTP_RETRY_UNSENT : HTTP_RETRY_ANY, &resp, err,
                   sizeof err) != 0) {
    cli_errorf("%s", err);
    status = CLI_EXIT_UNREACHABLE;
  } else if (resp.status < 200 || resp.status >= 300) {
    char what[64];
    snprintf(what, sizeof what, "tokens %s", sub);
    report_http_error(what, &resp, NULL, NULL);
    status = CLI_EXIT_REFUSED;
  } else if (strcmp(sub, "list") == 0) {
    if (raw) fwrite(resp.body.data, 1, resp.body.len, stdout), fputc('\n', stdout);
    else status = print_table(&resp);
  } else {
    arena a;
    arena_init(&a, 0);
    json_value *v = parse_json_body(&a, &resp.body, NULL);
    if (strcmp(sub, "create") == 0) {
      const char *tok = str_of(v, "token");
      const json_value *id = v ? json_get(v, "id") : NULL;
      if (!*tok) {
        cli_errorf("tokens create: the answer has no token");
        status = CLI_EXIT_REFUSED;
      } else {
        printf("%s\n", tok);
        fprintf(stderr, "eventctl: token %.*s '%s' created (role %s, tenant '%s'); it is shown once\n",
                id && id->type == JSON_NUMBER ? (int)id->n : 1, id ? id->s : "?", str_of(v, "name"),
                str_of(v, "role"), str_of(v, "tenant"));
      }
    } else {
      printf("revoked token %s\n", argv[optind + 1]);
    }
    arena_free(&a);
  }
  http_response_free(&resp);
  http_client_free(&c);
  buf_free(&body);
  return status;
}

const cli_command cli_cmd_tokens = {
    .name = "tokens",
    .summary = "manage API tokens: create, list, revoke (access control)",
    .help = tokens_help,
    .run = run_tokens,
};
