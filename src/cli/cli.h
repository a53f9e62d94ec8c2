/* cli: what the eventctl modules share — the invocation context, the command table entry,
 * exit statuses, and the handling of options every subcommand accepts (--url, --timeout,
 * --retries, --help).
 *
 * Module map (src/cli):
 *   main.c       global options, command table, `help`, dispatch
 *   http.c       libcurl client: requests with retry/backoff, query strings, streaming
 *   sse.c        text/event-stream parser
 *   output.c     tables (terminal-width aware), pretty JSON, server error reports
 *   filters.c    the query filter options shared by query/count/histogram/tail
 *   cmd_send.c   send
 *   cmd_query.c  query, count, histogram, get, health
 *   cmd_tail.c   tail
 *   cmd_schema.c schema check, validate (the event-type registry)
 *   cmd_outputs.c outputs (the /v1/outputs API) */
#ifndef EVD_CLI_H
#define EVD_CLI_H

#include <getopt.h>

#include "cli/http.h"

/* Exit statuses (documented in every --help and in docs/eventctl.md). */
enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_REFUSED = 1,     /* eventd answered with an error, or the answer was "no" */
  CLI_EXIT_UNREACHABLE = 2, /* no answer from eventd after the retries */
  CLI_EXIT_USAGE = 64       /* bad command line or unreadable input (sysexits EX_USAGE) */
};

#define CLI_DEFAULT_URL "http://127.0.0.1:8910"
#define CLI_DEFAULT_TIMEOUT_S 30.0
#define CLI_DEFAULT_RETRIES 3

/* How one invocation talks to eventd. Filled from the global options, then possibly
 * overridden by the same options given after the subcommand. */
typedef struct cli_ctx {
  const char *url;   /* base URL, e.g. http://127.0.0.1:8910 */
  double timeout_s;  /* per request (connect timeout for streams) */
  int retries;       /* extra attempts; -1 = the command's default */
} cli_ctx;

typedef struct cli_command {
  const char *name;
  const char *summary;  /* one line for `eventctl --help` */
  const char *help;     /* the full help page */
  /* Run with argv[0] = the command name. Returns the exit status. */
  int (*run)(cli_ctx *ctx, int argc, char **argv);
} cli_command;

/* Long-option ids of the options every subcommand accepts. Commands number their own
 * options from CLI_OPT_FIRST_OWN up. */
enum {
  CLI_OPT_URL = 1000,
  CLI_OPT_TIMEOUT,
  CLI_OPT_RETRIES,
  CLI_OPT_HELP,
  CLI_OPT_TOKEN, /* --token: access control (docs/security.md) */
  CLI_OPT_CACERT, /* --cacert, --client-cert, --client-key: https (EVENTD_CACERT, ...) */
  CLI_OPT_CERT,
  CLI_OPT_KEY,
  CLI_OPT_FIRST_OWN = 1100
};

#define CLI_COMMON_LONG_OPTIONS                              \
  {"url", required_argument, NULL, CLI_OPT_URL},             \
  {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},     \
  {"retries", required_argument, NULL, CLI_OPT_RETRIES},     \
  {"help", no_argument, NULL, CLI_OPT_HELP},                 \
  {"token", required_argument, NULL, CLI_OPT_TOKEN},         \
  {"cacert", required_argument, NULL, CLI_OPT_CACERT},       \
  {"client-cert", required_argument, NULL, CLI_OPT_CERT},    \
  {"client-key", required_argument, NULL, CLI_OPT_KEY}

/* Help text of the common options, for the OPTIONS section of each page. */
#define CLI_COMMON_OPTIONS_HELP                                                              \
  "    --url URL\n"                                                                         \
  "        eventd's base URL (default $EVENTD_URL, else " CLI_DEFAULT_URL ").\n"             \
  "    --timeout SEC\n"                                                                     \
  "        Give up on one request after SEC seconds (default 30; decimals allowed).\n"       \
  "    --retries N\n"                                                                       \
  "        Extra attempts when eventd cannot be reached or answers 503 (default 3).\n"       \
  "    --token TOKEN\n"                                                                     \
  "        API token sent as Authorization: Bearer (default $EVENTD_TOKEN).\n"              \
  "    -h, --help\n"                                                                        \
  "        Show this page.\n"

#define CLI_EXIT_STATUS_HELP                                                                 \
  "EXIT STATUS\n"                                                                           \
  "    0   success\n"                                                                       \
  "    1   eventd answered with an error (the message is printed on stderr)\n"              \
  "    2   eventd could not be reached (after the retries)\n"                               \
  "    64  bad command line or unreadable input file\n"

/* Handle one of the common options (CLI_OPT_URL..CLI_OPT_HELP) for command `cmd`.
 * Returns -1 when the option is not a common one, CLI_EXIT_OK (0) when handled, or an
 * exit status + 256 when the program should exit with it (help printed: 256; bad value:
 * 256 + CLI_EXIT_USAGE). Callers use cli_common_done() to tell these apart. */
int cli_common_option(cli_ctx *ctx, const cli_command *cmd, int opt, const char *arg);
#define CLI_COMMON_EXIT 256

/* getopt_long for a command's options (shortopts must start with ':'). Returns the option,
 * -1 after the last one (positional arguments are then argv[optind..]), or CLI_OPT_BAD
 * after printing a usage error for an unknown option or a missing value. */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
               const char *cmd);
#define CLI_OPT_BAD (-2)

/* Print "eventctl CMD: <message>" and the hint to read --help on stderr. Returns
 * CLI_EXIT_USAGE so callers can `return cli_usage_error(...)`. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "eventctl: <message>" on stderr. */
void cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse a non-negative integer option value; returns 0 or -1. */
int cli_parse_count(const char *s, long long max, long long *out);

/* Open the HTTP client for ctx, using default_retries when the user gave none.
 * Returns 0, or the exit status after printing why not (CLI_EXIT_USAGE for a bad URL). */
int cli_open_client(const cli_ctx *ctx, int default_retries, http_client *c);

/* Commands (each defined in its cmd_*.c file). */
extern const cli_command cli_cmd_send;
extern const cli_command cli_cmd_query;
extern const cli_command cli_cmd_count;
extern const cli_command cli_cmd_histogram;
extern const cli_command cli_cmd_get;
extern const cli_command cli_cmd_health;
extern const cli_command cli_cmd_tail;
extern const cli_command cli_cmd_schema;
extern const cli_command cli_cmd_validate;
extern const cli_command cli_cmd_outputs; /* cmd_outputs.c (issue 4) */
extern const cli_command cli_cmd_tokens;  /* cmd_tokens.c (issue 7: access control) */
extern const cli_command cli_cmd_archive, cli_cmd_delete, cli_cmd_purge; /* cmd_lifecycle.c */

#endif
