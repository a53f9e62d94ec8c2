/* eventctl: the command line of eventd. This file holds main(): global options, the command
 * table, `help`, and the option handling every command shares (see cli.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"

static const cli_command *const commands[] = {
    &cli_cmd_send,  &cli_cmd_query,  &cli_cmd_count, &cli_cmd_histogram,
    &cli_cmd_get,   &cli_cmd_tail,   &cli_cmd_health, &cli_cmd_schema,
    &cli_cmd_validate,
    &cli_cmd_outputs,
    &cli_cmd_tokens,
    &cli_cmd_archive, &cli_cmd_delete, &cli_cmd_purge, /* cmd_lifecycle.c (issue 7) */
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const char global_help_head[] =
    "NAME\n"
    "    eventctl - command line of eventd, the structured event service\n"
    "\n"
    "SYNOPSIS\n"
    "    eventctl [--url URL] [--timeout SEC] [--retries N] COMMAND [ARGS...]\n"
    "    eventctl help [COMMAND]\n"
    "    eventctl COMMAND --help\n"
    "    eventctl --version\n"
    "\n"
    "DESCRIPTION\n"
    "    eventctl sends events to eventd and reads them back: it queries, counts and\n"
    "    follows the event store over eventd's HTTP API (docs/api.md). Every command has\n"
    "    its own page: `eventctl help COMMAND` or `eventctl COMMAND --help`.\n"
    "\n"
    "COMMANDS\n";

static const char global_help_tail[] =
    "\n"
    "GLOBAL OPTIONS (also accepted after the command)\n" CLI_COMMON_OPTIONS_HELP
    "    --version\n"
    "        Print eventctl's version and exit.\n"
    "\n"
    "    Requests that find eventd unreachable or busy (connection refused, HTTP 503) are\n"
    "    retried --retries times with exponential backoff (0.25 s, 0.5 s, 1 s, ... with\n"
    "    jitter), so a CI job does not fail on a blip.\n"
    "\n"
    "ENVIRONMENT\n"
    "    EVENTD_URL   base URL of eventd when --url is not given\n"
    "    EVENTD_TOKEN API token when --token is not given (docs/security.md)\n"
    "    EVENTD_CACERT, EVENTD_CLIENT_CERT, EVENTD_CLIENT_KEY\n"
    "                 https: PEM CA bundle to trust, client certificate and key (mTLS)\n"
    "                 when --cacert, --client-cert, --client-key are not given\n"
    "    COLUMNS      table width when stdout is not a terminal\n"
    "\n"
    "EXAMPLES\n"
    "    eventctl send \"Starting deploy\" --type deployment --label env=gprd \\\n"
    "        --label stage=main --source \"$CI_JOB_URL\"\n"
    "    eventctl query --type deployment --since -1h\n"
    "    eventctl count --stream sessiond --severity ERROR --since -1d\n"
    "    eventctl tail --key 'sessiond.#'\n"
    "    eventctl --url http://events.internal:8910 health\n"
    "    eventctl schema check examples/registry/eventd.yml\n"
    "    eventctl validate --type attach_success --data '{\"imsi\":\"IMSI001010000000001\"}'\n"
    "\n" CLI_EXIT_STATUS_HELP;

static void print_global_help(FILE *out) {
  fputs(global_help_head, out);
  for (size_t i = 0; i < NCOMMANDS; i++)
    fprintf(out, "    %-10s %s\n", commands[i]->name, commands[i]->summary);
  fprintf(out, "    %-10s %s\n", "help", "show the help page of eventctl or of a command");
  fputs(global_help_tail, out);
}

static const cli_command *find_command(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (strcmp(commands[i]->name, name) == 0) return commands[i];
  return NULL;
}

void cli_errorf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("eventctl: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "eventctl%s%s: ", cmd ? " " : "", cmd ? cmd : "");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fprintf(stderr, "Try 'eventctl %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
  return CLI_EXIT_USAGE;
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
               const char *cmd) {
  opterr = 0;
  int opt = getopt_long(argc, argv, shortopts, longopts, NULL);
  if (opt == '?') {
    if (optopt && optopt < 256)
      cli_usage_error(cmd, "unknown option '-%c'", optopt);
    else
      cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
    return CLI_OPT_BAD;
  }
  if (opt == ':') {
    cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
    return CLI_OPT_BAD;
  }
  return opt;
}

int cli_parse_count(const char *s, long long max, long long *out) {
  if (!s || !*s || *s == '-' || *s == '+') return -1;
  errno = 0;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || v < 0 || v > max) return -1;
  *out = v;
  return 0;
}

/* Parse a timeout in seconds (> 0, decimals allowed). Returns 0 or -1. */
static int parse_timeout(const char *s, double *out) {
  if (!s || !*s) return -1;
  errno = 0;
  char *end;
  double v = strtod(s, &end);
  if (errno || *end || !(v > 0) || v > 86400.0 * 365) return -1;
  *out = v;
  return 0;
}

/* Whether s is an http:// or https:// URL with something after the scheme. */
static int url_looks_valid(const char *s) {
  return (strncmp(s, "http://", 7) == 0 && s[7]) || (strncmp(s, "https://", 8) == 0 && s[8]);
}

int cli_common_option(cli_ctx *ctx, const cli_command *cmd, int opt, const char *arg) {
  const char *name = cmd ? cmd->name : NULL;
  switch (opt) {
    case CLI_OPT_URL:
      if (!url_looks_valid(arg))
        return CLI_COMMON_EXIT +
               cli_usage_error(name, "--url expects http://HOST:PORT or https://..., got '%s'", arg);
      ctx->url = arg;
      return 0;
    case CLI_OPT_TIMEOUT:
      if (parse_timeout(arg, &ctx->timeout_s) != 0)
        return CLI_COMMON_EXIT +
               cli_usage_error(name, "--timeout expects seconds > 0, got '%s'", arg);
      return 0;
    case CLI_OPT_RETRIES: {
      long long v;
      if (cli_parse_count(arg, 100, &v) != 0)
        return CLI_COMMON_EXIT +
               cli_usage_error(name, "--retries expects a number from 0 to 100, got '%s'", arg);
      ctx->retries = (int)v;
      return 0;
    }
    case CLI_OPT_TOKEN:
      if (!arg || !*arg) return CLI_COMMON_EXIT + cli_usage_error(name, "--token expects a token");
      if (setenv("EVENTD_TOKEN", arg, 1) != 0)
        return CLI_COMMON_EXIT + cli_usage_error(name, "cannot set EVENTD_TOKEN");
      return 0;
    case CLI_OPT_CACERT:
    case CLI_OPT_CERT:
    case CLI_OPT_KEY: {
      /* https (docs/security.md): like --token, passed to the HTTP client through the
       * environment variables of the same meaning. */
      const char *flag = opt == CLI_OPT_CACERT ? "--cacert" : opt == CLI_OPT_CERT ? "--client-cert" : "--client-key";
      const char *var = opt == CLI_OPT_CACERT ? "EVENTD_CACERT" : opt == CLI_OPT_CERT ? "EVENTD_CLIENT_CERT" : "EVENTD_CLIENT_KEY";
      if (!arg || !*arg) return CLI_COMMON_EXIT + cli_usage_error(name, "%s expects a PEM file", flag);
      if (setenv(var, arg, 1) != 0)
        return CLI_COMMON_EXIT + cli_usage_error(name, "cannot set %s", var);
      return 0;
    }
    case CLI_OPT_HELP:
    case 'h':
      if (cmd)
        fputs(cmd->help, stdout);
      else
        print_global_help(stdout);
      return CLI_COMMON_EXIT + CLI_EXIT_OK;
    default:
      return -1;
  }
}

int cli_open_client(const cli_ctx *ctx, int default_retries, http_client *c) {
  char err[256];
  if (!url_looks_valid(ctx->url)) {
    cli_errorf("eventd URL must be http://HOST:PORT or https://..., got '%s'%s", ctx->url,
               getenv("EVENTD_URL") && strcmp(getenv("EVENTD_URL"), ctx->url) == 0 ? " (from EVENTD_URL)" : "");
    return CLI_EXIT_USAGE;
  }
  int retries = ctx->retries >= 0 ? ctx->retries : default_retries;
  long timeout_ms = (long)(ctx->timeout_s * 1000.0 + 0.5);
  if (timeout_ms < 1) timeout_ms = 1;
  if (http_client_init(c, ctx->url, timeout_ms, retries, err, sizeof err) != 0) {
    cli_errorf("%s", err);
    return CLI_EXIT_REFUSED;
  }
  return 0;
}

int main(int argc, char **argv) {
  output_init();
  cli_ctx ctx = {.url = CLI_DEFAULT_URL, .timeout_s = CLI_DEFAULT_TIMEOUT_S, .retries = -1};
  const char *env_url = getenv("EVENTD_URL");
  if (env_url && *env_url) ctx.url = env_url; /* checked when used (cli_open_client) */

  enum { OPT_VERSION = CLI_OPT_FIRST_OWN };
  static const struct option longopts[] = {
      CLI_COMMON_LONG_OPTIONS,
      {"version", no_argument, NULL, OPT_VERSION},
      {NULL, 0, NULL, 0},
  };
  opterr = 0;
  for (;;) {
    /* '+': stop at the command name; ':': report missing values ourselves */
    int opt = getopt_long(argc, argv, "+:h", longopts, NULL);
    if (opt == -1) break;
    if (opt == '?')
      return cli_usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
    if (opt == ':')
      return cli_usage_error(NULL, "option '%s' needs a value", argv[optind - 1]);
    if (opt == OPT_VERSION) {
      printf("eventctl %s\n", EVD_VERSION);
      return CLI_EXIT_OK;
    }
    int r = cli_common_option(&ctx, NULL, opt, optarg);
    if (r >= CLI_COMMON_EXIT) return r - CLI_COMMON_EXIT;
  }
  if (optind >= argc) {
    fputs("usage: eventctl [--url URL] [--timeout SEC] [--retries N] COMMAND [ARGS...]\n"
          "Commands: send query count histogram get tail health schema validate help. "
          "Try 'eventctl --help'.\n",
          stderr);
    return CLI_EXIT_USAGE;
  }
  const char *name = argv[optind];
  if (strcmp(name, "help") == 0) {
    if (optind + 1 >= argc) {
      print_global_help(stdout);
      return CLI_EXIT_OK;
    }
    const cli_command *cmd = find_command(argv[optind + 1]);
    if (!cmd) return cli_usage_error(NULL, "no command '%s'", argv[optind + 1]);
    fputs(cmd->help, stdout);
    return CLI_EXIT_OK;
  }
  const cli_command *cmd = find_command(name);
  if (!cmd) return cli_usage_error(NULL, "no command '%s'", name);
  int cargc = argc - optind;
  char **cargv = argv + optind;
  optind = 0; /* glibc: start a fresh scan for the command's options */
  return cmd->run(&ctx, cargc, cargv);
}
