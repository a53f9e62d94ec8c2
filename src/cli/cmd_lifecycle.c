/* cmd_lifecycle: `eventctl archive|delete|purge` — the event lifecycle API
 * (POST /v1/events/archive, /delete, /purge; docs/lifecycle.md).
 *
 *   archive [--id ID]... [--type TYPE] [--since TIME] [--until TIME]
 *   delete  [--id ID]... [--type TYPE] [--since TIME] [--until TIME]
 *       at least one of --id, --type or --until; prints "archived N events"
 *   purge   runs the purge now (admin); prints "deleted N events" */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "core/arena.h"
#include "core/json.h"

enum { OPT_ID = CLI_OPT_FIRST_OWN, OPT_TYPE, OPT_SINCE, OPT_UNTIL };

#define LIFECYCLE_SELECT_HELP                                                                \
  "OPTIONS\n"                                                                                \
  "    --id ID\n"                                                                            \
  "        An event id (repeatable).\n"                                                      \
  "    --type TYPE\n"                                                                        \
  "        Events of this type; \"account.*\" for a type prefix.\n"                          \
  "    --since TIME, --until TIME\n"                                                         \
  "        Event time window [since, until): RFC 3339, a date, epoch, or relative (-15d).\n" \
  "        At least one of --id, --type or --until is required (as in CloudStack).\n"

static const char archive_help[] =
    "NAME\n"
    "    eventctl archive - hide events from queries, keeping them for audit\n"
    "\n"
    "SYNOPSIS\n"
    "    eventctl archive [--id ID]... [--type TYPE] [--since TIME] [--until TIME]\n"
    "\n"
    "DESCRIPTION\n"
    "    Archives the matching events the token may manage (POST /v1/events/archive;\n"
    "    docs/lifecycle.md). Archived events are hidden from query, count, histogram, get\n"
    "    and tail unless archived=true (eventctl query --archived). Prints how many were\n"
    "    archived. Needs an admin, domain-admin or user token.\n"
    "\n" LIFECYCLE_SELECT_HELP CLI_COMMON_OPTIONS_HELP "\n" CLI_EXIT_STATUS_HELP
    "\n"
    "EXAMPLES\n"
    "    eventctl archive --type vm.created --until -30d\n"
    "    eventctl archive --id 01J9Z3Q0M5XW2Q6N8B4T7R1C0D\n";

static const char delete_help[] =
    "NAME\n"
    "    eventctl delete - delete events\n"
    "\n"
    "SYNOPSIS\n"
    "    eventctl delete [--id ID]... [--type TYPE] [--since TIME] [--until TIME]\n"
    "\n"
    "DESCRIPTION\n"
    "    Deletes the matching events the token may manage, archived ones included\n"
    "    (POST /v1/events/delete; docs/lifecycle.md). They are gone from every read path at\n"
    "    once and from disk when their segment is compacted. Prints how many were deleted.\n"
    "    Events of the audit stream can only be deleted with an admin token.\n"
    "\n" LIFECYCLE_SELECT_HELP CLI_COMMON_OPTIONS_HELP "\n" CLI_EXIT_STATUS_HELP
    "\n"
    "EXAMPLES\n"
    "    eventctl delete --type debug.* --until -1d\n";

static const char purge_help[] =
    "NAME\n"
    "    eventctl purge - run the purge now\n"
    "\n"
    "SYNOPSIS\n"
    "    eventctl purge\n"
    "\n"
    "DESCRIPTION\n"
    "    Deletes the events older than the purge.* settings allow (POST /v1/events/purge;\n"
    "    docs/lifecycle.md), as the periodic purge does. Admin only. Prints how many.\n"
    "\n"
    "OPTIONS\n" CLI_COMMON_OPTIONS_HELP "\n" CLI_EXIT_STATUS_HELP;

extern const cli_command cli_cmd_archive, cli_cmd_delete, cli_cmd_purge;

static void put_str(buf *b, int *first, const char *key, const char *v) {
  buf_printf(b, "%s\"%s\":", *first ? "" : ",", key);
  json_write_string(b, v, strlen(v));
  *first = 0;
}

static int run_lifecycle(cli_ctx *ctx, int argc, char **argv) {
  const char *what = argv[0];
  const cli_command *cmd = strcmp(what, "archive") == 0  ? &cli_cmd_archive
                           : strcmp(what, "delete") == 0 ? &cli_cmd_delete
                                                         : &cli_cmd_purge;
  int purge = cmd == &cli_cmd_purge;
  static const struct option longopts[] = {
      CLI_COMMON_LONG_OPTIONS,
      {"id", required_argument, NULL, OPT_ID},
      {"type", required_argument, NULL, OPT_TYPE},
      {"since", required_argument, NULL, OPT_SINCE},
      {"until", required_argument, NULL, OPT_UNTIL},
      {NULL, 0, NULL, 0},
  };
  static const struct option purge_longopts[] = {CLI_COMMON_LONG_OPTIONS, {NULL, 0, NULL, 0}};
  const char *type = NULL, *since = NULL, *until = NULL;
  char **ids = calloc((size_t)argc + 1, sizeof *ids);
  size_t nids = 0;
  if (!ids) {
    cli_errorf("out of memory");
    return CLI_EXIT_REFUSED;
  }
  int status = CLI_EXIT_OK;
  for (;;) {
    int opt = cli_getopt(argc, argv, ":h", purge ? purge_longopts : longopts, what);
    if (opt == -1) break;
    if (opt == CLI_OPT_BAD) {
      free(ids);
      return CLI_EXIT_USAGE;
    }
    switch (opt) {
      case OPT_ID: ids[nids++] = optarg; break;
      case OPT_TYPE: type = optarg; break;
      case OPT_SINCE: since = optarg; break;
      case OPT_UNTIL: until = optarg; break;
      default: {
        int r = cli_common_option(ctx, cmd, opt, optarg);
        if (r >= CLI_COMMON_EXIT) {
          free(ids);
          return r - CLI_COMMON_EXIT;
        }
        if (r < 0) {
          free(ids);
          return cli_usage_error(what, "unexpected option");
        }
      }
    }
  }
  if (optind < argc) {
    free(ids);
    return cli_usage_error(what, "unexpected argument '%s'", argv[optind]);
  }
  if (!purge && !nids && !type && !until) {
    free(ids);
    return cli_usage_error(what, "give at least one of --id, --type or --until");
  }
  buf body = BUF_INIT;
  if (!purge) {
    int first = 1;
    buf_putc(&body, '{');
    if (nids) {
      buf_puts(&body, "\"ids\":[");
      for (size_t i = 0; i < nids; i++) {
        if (i) buf_putc(&body, ',');
        json_write_string(&body, ids[i], strlen(ids[i]));
      }
      buf_putc(&body, ']');
      first = 0;
    }
    if (type) put_str(&body, &first, "type", type);
    if (since) put_str(&body, &first, "since", since);
    if (until) put_str(&body, &first, "until", until);
    buf_putc(&body, '}');
  } else {
    buf_puts(&body, "{}"); /* a body, so that the request is a POST */
  }
  free(ids);
  http_client c;
  int rc = cli_open_client(ctx, CLI_DEFAULT_RETRIES, &c);
  if (rc) {
    buf_free(&body);
    return rc;
  }
  char path[64];
  snprintf(path, sizeof path, "/v1/events/%s", what);
  http_response resp;
  http_response_init(&resp);
  char err[512];
  /* Repeating an archive/delete/purge is harmless (it affects nothing the second time). */
  if (http_request(&c, "POST", path, "application/json", body.data, body.len,
                   HTTP_RETRY_ANY, &resp, err, sizeof err) != 0) {
    cli_errorf("%s", err);
    status = CLI_EXIT_UNREACHABLE;
  } else if (resp.status < 200 || resp.status >= 300) {
    report_http_error(what, &resp, NULL, NULL);
    status = CLI_EXIT_REFUSED;
  } else {
    arena a;
    arena_init(&a, 0);
    json_value *v = parse_json_body(&a, &resp.body, NULL);
    const char *key = strcmp(what, "archive") == 0 ? "archived" : "deleted";
    const json_value *n = v && v->type == JSON_OBJECT ? json_get(v, key) : NULL;
    if (!n || n->type != JSON_NUMBER) {
      cli_errorf("%s: unexpected answer", what);
      status = CLI_EXIT_REFUSED;
    } else {
      printf("%s %.*s events\n", key, (int)n->n, n->s);
    }
    arena_free(&a);
  }
  http_response_free(&resp);
  http_client_free(&c);
  buf_free(&body);
  return status;
}

const cli_command cli_cmd_archive = {
    .name = "archive",
    .summary = "archive events (hidden unless archived=true): by ids, type, time",
    .help = archive_help,
    .run = run_lifecycle,
};

const cli_command cli_cmd_delete = {
    .name = "delete",
    .summary = "delete events by ids, type, time",
    .help = delete_help,
    .run = run_lifecycle,
};

const cli_command cli_cmd_purge = {
    .name = "purge",
    .summary = "run the purge now (purge.* settings; admin)",
    .help = purge_help,
    .run = run_lifecycle,
};
