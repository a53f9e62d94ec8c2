/* cmd_tail: `eventctl tail` — follow GET /v1/tail (server-sent events) and print events as
 * they are stored, reconnecting with Last-Event-ID after a dropped connection so that no
 * event is missed or printed twice. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/filters.h"
#include "cli/output.h"
#include "cli/sse.h"
#include "core/json.h"

#define TAIL_IDLE_TIMEOUT_S 45 /* eventd sends a keepalive every 15 s */

/* Set by SIGINT/SIGTERM; the only global state of eventctl. */
static volatile sig_atomic_t tail_stop;

static void on_stop_signal(int sig) {
  (void)sig;
  tail_stop = 1;
}

static const char tail_help[] =
    "NAME\n"
    "    eventctl tail - follow events live as eventd stores them\n"
    "\n"
    "SYNOPSIS\n"
    "    eventctl tail [FILTERS] [--table | --ndjson] [--after ID] [-n N]\n"
    "\n"
    "DESCRIPTION\n"
    "    Follows GET /v1/tail (a text/event-stream) and prints each matching event as soon\n"
    "    as it is committed, until interrupted (Ctrl-C / SIGINT or SIGTERM, exit 0) or -n\n"
    "    events were printed. Without --since or --after it starts with the next new event.\n"
    "\n"
    "    When the connection drops or eventd restarts, tail reconnects by itself with\n"
    "    backoff (0.25 s doubling to 4 s), sending the id of the last event it printed\n"
    "    (Last-Event-ID) so eventd resumes right after it: no event is missed or repeated.\n"
    "    It keeps trying forever unless --retries N is given, in which case it gives up\n"
    "    (exit 2) after N reconnection attempts in a row fail. A connection that is silent\n"
    "    for 45 s (eventd sends a keepalive every 15 s) is treated as dropped.\n"
    "\n" FILTER_OPTIONS_HELP
    "    (--since starts the stream at that time instead of at the next new event)\n"
    "\n"
    "OPTIONS\n"
    "    --table\n"
    "        One aligned line per event: TIME SEVERITY STREAM TYPE TAG SOURCE MESSAGE\n"
    "        (default). Cells are cut to fixed widths; the message to the terminal width.\n"
    "    --ndjson, --json\n"
    "        Each event as one line of JSON (eventd's canonical form).\n"
    "    --after ID\n"
    "        Start right after the event with this id (as a reconnect would).\n"
    "    -n, --max N\n"
    "        Exit 0 after printing N events.\n" CLI_COMMON_OPTIONS_HELP
    "    For tail, --timeout limits connecting only, and --retries N counts failed\n"
    "    reconnections in a row (default: no limit).\n"
    "\n"
    "EXAMPLES\n"
    "    eventctl tail --key 'sessiond.#'\n"
    "    eventctl tail --stream audit --severity WARN --ndjson | jq .message\n"
    "    eventctl tail --type deployment --since -10m\n"
    "\n" CLI_EXIT_STATUS_HELP "    (an interrupted tail exits 0)\n";

enum { OPT_TABLE = CLI_OPT_FIRST_OWN, OPT_NDJSON, OPT_AFTER, OPT_MAX };

/* Column widths of tail's table (fixed: rows are printed as they come). */
static const size_t tail_widths[EVENT_COLS] = {24, 8, 16, 24, 16, 20, 0};

typedef struct tail_state {
  int ndjson;
  long long max;       /* 0 = unlimited */
  long long printed;
  int connected;       /* the current connection got a 200 */
  size_t widths[EVENT_COLS];
  arena ar;
} tail_state;

/* Print one table row (cells sanitized through a one-row table). */
static int print_table_row(tail_state *st, const json_value *ev) {
  char tbuf[40];
  const char *cells[EVENT_COLS];
  event_cells(ev, tbuf, cells);
  table t;
  table_init(&t, EVENT_COLS, event_headers);
  if (table_add_row(&t, cells) != 0) return -1;
  table_print_row(stdout, EVENT_COLS, (const char *const *)t.cells, st->widths);
  table_free(&t);
  return 0;
}

/* sse callback: print one event. Returns 1 to stop (after -n events), -1 on error. */
static int on_event(void *ud, const char *type, const char *id, const char *data, size_t n) {
  tail_state *st = ud;
  if (strcmp(type, "event") != 0 && strcmp(type, "message") != 0) {
    if (strcmp(type, "error") == 0) cli_errorf("eventd: %.*s", (int)(n > 500 ? 500 : n), data);
    return 0;
  }
  if (st->ndjson) {
    fwrite(data, 1, n, stdout);
    fputc('\n', stdout);
  } else {
    arena_reset(&st->ar);
    json_error jerr;
    const json_value *ev = json_parse(&st->ar, data, n, JSON_DEFAULT_MAX_DEPTH, &jerr);
    if (!ev || ev->type != JSON_OBJECT) {
      cli_errorf("tail: event %s is not a JSON object: %.200s", id, data);
    } else if (print_table_row(st, ev) != 0) {
      cli_errorf("out of memory");
      return -1;
    }
  }
  fflush(stdout);
  st->printed++;
  return st->max && st->printed >= st->max ? 1 : 0;
}

typedef struct stream_ctx {
  sse_parser *parser;
  tail_state *st;
  int rc;  /* last non-zero sse_feed result */
} stream_ctx;

/* http_stream consumer: feed the SSE parser. */
static int on_stream_data(void *ud, const char *data, size_t n) {
  stream_ctx *sc = ud;
  sc->st->connected = 1;
  int rc = sse_feed(sc->parser, data, n);
  if (rc != 0) sc->rc = rc;
  return rc;
}

/* Build /v1/tail?filters; when resuming after an id, --since is left out (the id says
 * where to start). */
static int tail_path(http_client *c, const filters *f, int resuming, buf *path) {
  buf_clear(path);
  if (buf_puts(path, "/v1/tail") != 0) return -1;
  for (size_t i = 0; i < f->n; i++) {
    if (resuming && strcmp(f->name[i], "since") == 0) continue;
    if (http_query_add(c, path, f->name[i], f->value[i]) != 0) return -1;
  }
  return 0;
}

static int run_tail(cli_ctx *ctx, int argc, char **argv) {
  static const struct option longopts[] = {
      CLI_COMMON_LONG_OPTIONS,
      FILTER_LONG_OPTIONS,
      {"table", no_argument, NULL, OPT_TABLE},
      {"ndjson", no_argument, NULL, OPT_NDJSON},
      {"json", no_argument, NULL, OPT_NDJSON},
      {"after", required_argument, NULL, OPT_AFTER},
      {"max", required_argument, NULL, OPT_MAX},
      {NULL, 0, NULL, 0},
  };
  filters f;
  filters_init(&f);
  tail_state st = {0};
  const char *after = NULL;
  int status = CLI_EXIT_USAGE;
  int opt;
  while ((opt = cli_getopt(argc, argv, ":hn:", longopts, "tail")) != -1) {
    if (opt == CLI_OPT_BAD) goto out;
    int r = cli_common_option(ctx, &cli_cmd_tail, opt, optarg);
    if (r >= CLI_COMMON_EXIT) {
      status = r - CLI_COMMON_EXIT;
      goto out;
    }
    if (r == 0) continue;
    r = filters_option(&f, opt, optarg, "tail");
    if (r < 0) goto out;
    if (r == 1) continue;
    switch (opt) {
      case OPT_TABLE: st.ndjson = 0; break;
      case OPT_NDJSON: st.ndjson = 1; break;
      case OPT_AFTER:
        if (!*optarg) {
          cli_usage_error("tail", "--after needs an event id");
          goto out;
        }
        after = optarg;
        break;
      case OPT_MAX:
      case 'n':
        if (cli_parse_count(optarg, 1LL << 62, &st.max) != 0 || st.max == 0) {
          cli_usage_error("tail", "-n/--max expects a number > 0, got '%s'", optarg);
          goto out;
        }
        break;
      default: cli_usage_error("tail", "unexpected option"); goto out;
    }
  }
  if (optind < argc) {
    cli_usage_error("tail", "unexpected argument '%s' (filters are options, e.g. --key 'a.#')",
                    argv[optind]);
    goto out;
  }
  int max_failures = ctx->retries; /* -1: reconnect forever */
  http_client c;
  status = cli_open_client(ctx, 0, &c);
  if (status != 0) goto out;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);  /* no SA_RESTART: sleeps and polls wake up */
  sigaction(SIGTERM, &sa, NULL);

  arena_init(&st.ar, 0);
  memcpy(st.widths, tail_widths, sizeof st.widths);
  int width = output_term_width();
  size_t fixed = 0;
  for (int i = 0; i < EVENT_COLS - 1; i++) fixed += tail_widths[i] + 2;
  st.widths[EVENT_COLS - 1] = width > 0 && (size_t)width > fixed + 12 ? (size_t)width - fixed : (size_t)-1 / 2;
  if (!st.ndjson) {
    table_print_row(stdout, EVENT_COLS, event_headers, st.widths);
    fflush(stdout);
  }

  sse_parser parser;
  sse_init(&parser, on_event, &st);
  if (after && buf_puts(&parser.last_id, after) != 0) {
    cli_errorf("out of memory");
    status = CLI_EXIT_REFUSED;
    goto done;
  }
  buf path = BUF_INIT;
  http_response resp;
  http_response_init(&resp);
  int failures = 0;
  status = CLI_EXIT_OK;
  while (!tail_stop) {
    int resuming = parser.last_id.len > 0;
    if (tail_path(&c, &f, resuming, &path) != 0) {
      cli_errorf("out of memory");
      status = CLI_EXIT_REFUSED;
      break;
    }
    char header[4200];
    if (resuming) snprintf(header, sizeof header, "Last-Event-ID: %s", parser.last_id.data);
    stream_ctx sc = {.parser = &parser, .st = &st};
    st.connected = 0;
    char err[512];
    http_stream_end end = http_stream(&c, path.data, resuming ? header : NULL, TAIL_IDLE_TIMEOUT_S,
                                      &tail_stop, on_stream_data, &sc, &resp, err, sizeof err);
    if (sc.rc == 1) break; /* -n reached */
    if (sc.rc < 0) {
      cli_errorf("tail: cannot read the event stream (out of memory or a line over %u bytes)",
                 SSE_MAX_LINE);
      status = CLI_EXIT_REFUSED;
      break;
    }
    if (end == HTTP_STREAM_STOPPED || tail_stop) break;
    if (end == HTTP_STREAM_HTTP_ERROR && resp.status != 503 && resp.status < 500) {
      report_http_error("tail refused", &resp, NULL, NULL);
      status = CLI_EXIT_REFUSED;
      break;
    }
    sse_reset_partial(&parser);
    if (st.connected) failures = 0;
    failures++;
    if (max_failures >= 0 && failures > max_failures) {
      if (end == HTTP_STREAM_HTTP_ERROR)
        report_http_error("tail failed", &resp, NULL, NULL);
      else
        cli_errorf("%s", end == HTTP_STREAM_EOF ? "tail: eventd closed the stream" : err);
      status = CLI_EXIT_UNREACHABLE;
      break;
    }
    long wait_ms = http_backoff_ms(&c, failures);
    const char *why = end == HTTP_STREAM_EOF ? "eventd closed the stream"
                      : end == HTTP_STREAM_HTTP_ERROR ? "eventd is busy"
                                                      : err;
    fprintf(stderr, "eventctl: tail: %s; reconnecting in %.1f s%s%s\n", why,
            (double)wait_ms / 1000.0, resuming || parser.last_id.len ? " after event " : "",
            parser.last_id.len ? parser.last_id.data : "");
    if (http_sleep_ms(wait_ms, &tail_stop)) break;
  }
  buf_free(&path);
  http_response_free(&resp);
done:
  sse_free(&parser);
  arena_free(&st.ar);
  http_client_free(&c);
out:
  filters_free(&f);
  return status;
}

const cli_command cli_cmd_tail = {
    .name = "tail",
    .summary = "follow events live; reconnects and resumes without gaps",
    .help = tail_help,
    .run = run_tail,
};
