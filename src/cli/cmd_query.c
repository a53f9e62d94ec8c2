/* cmd_query: the read commands — query, count, histogram, get, health. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/filters.h"
#include "cli/output.h"
#include "core/json.h"
#include "core/timeutil.h"

#define API_PAGE_MAX 10000
#define QUERY_DEFAULT_LIMIT 100

/* Output formats of the read commands. */
typedef enum out_format { OUT_TABLE, OUT_JSON, OUT_NDJSON } out_format;

/* Report a failed request: unreachable (exit 2) or an error answer (exit 1). */
static int request_failed(int rc, const char *err, const http_response *resp, const char *what) {
  if (rc != 0) {
    cli_errorf("%s", err);
    return CLI_EXIT_UNREACHABLE;
  }
  report_http_error(what, resp, NULL, NULL);
  return CLI_EXIT_REFUSED;
}

/* Print a response body as it came, ending with a newline. */
static void print_body(const http_response *resp) {
  if (resp->body.len) fwrite(resp->body.data, 1, resp->body.len, stdout);
  if (!resp->body.len || resp->body.data[resp->body.len - 1] != '\n') putchar('\n');
}

/* Parse a 200 body that must be a JSON object. Returns the root or NULL (reported). */
static const json_value *parse_answer(arena *a, const http_response *resp) {
  json_error jerr;
  const json_value *root = parse_json_body(a, &resp->body, &jerr);
  if (!root || root->type != JSON_OBJECT) {
    cli_errorf("eventd's answer is not a JSON object: %.200s", resp->body.data ? resp->body.data : "");
    return NULL;
  }
  return root;
}

/* ---- query ---------------------------------------------------------------------------- */

static const char query_help[] =
    "NAME\n"
    "    eventctl query - list stored events that match filters\n"
    "\n"
    "SYNOPSIS\n"
    "    eventctl query [FILTERS] [--limit N | --all] [--order asc|desc] [--cursor C]\n"
    "                   [--table | --json | --ndjson] [--wide]\n"
    "\n"
    "DESCRIPTION\n"
    "    Asks GET /v1/events for the events matching every filter given and prints them,\n"
    "    newest first unless --order asc. eventd answers in pages; eventctl follows the\n"
    "    pages' cursors until it has --limit events, or all of them with --all. When more\n"
    "    events match than were printed, a note on stderr says how to continue.\n"
    "\n" FILTER_OPTIONS_HELP
    "\n"
    "OPTIONS\n"
    "    --limit N\n"
    "        Print at most N events (default 100). With --all, N is the page size.\n"
    "    --all\n"
    "        Print every matching event, following the cursors to the end.\n"
    "    --order asc|desc\n"
    "        Oldest or newest first (default desc), by event time then store order.\n"
    "    --cursor C\n"
    "        Continue after a previous page (the \"next\" value of its --json output).\n"
    "    --table\n"
    "        An aligned table: TIME SEVERITY STREAM TYPE TAG SOURCE MESSAGE (default). Long\n"
    "        cells are cut with an ellipsis to fit the terminal (or $COLUMNS).\n"
    "    --wide\n"
    "        Do not cut table cells.\n"
    "    --json\n"
    "        eventd's JSON answer: {\"events\":[...],\"next\":\"...\"}. Several pages are\n"
    "        merged into one object.\n"
    "    --ndjson\n"
    "        One event per line, as JSON.\n" CLI_COMMON_OPTIONS_HELP
    "\n"
    "EXAMPLES\n"
    "    eventctl query --type deployment --label env:gprd --since -1d\n"
    "    eventctl query --key 'sessiond.#' --severity WARN --limit 20\n"
    "    eventctl query --stream audit --order asc --all --ndjson > audit.ndjson\n"
    "    eventctl query --q timeout --source gw-17 --json\n"
    "\n" CLI_EXIT_STATUS_HELP;

enum {
  OPT_LIMIT = CLI_OPT_FIRST_OWN,
  OPT_ALL,
  OPT_ORDER,
  OPT_CURSOR,
  OPT_TABLE,
  OPT_JSON,
  OPT_NDJSON,
  OPT_WIDE,
  OPT_INTERVAL,
  OPT_BY,
  OPT_COMPACT,
  OPT_WAIT
};

/* Fetch one page: GET /v1/events with the filters, order, limit and cursor. */
static int fetch_page(http_client *c, const filters *f, const char *order, long long limit,
                      const char *cursor, http_response *resp, char *err, size_t errlen) {
  buf path = BUF_INIT;
  char lim[32];
  snprintf(lim, sizeof lim, "%lld", limit);
  int rc = -1;
  if (buf_puts(&path, "/v1/events") == 0 && filters_append(f, c, &path) == 0 &&
      (!order || http_query_add(c, &path, "order", order) == 0) &&
      http_query_add(c, &path, "limit", lim) == 0 &&
      (!cursor || http_query_add(c, &path, "cursor", cursor) == 0)) {
    rc = http_request(c, "GET", path.data, NULL, NULL, 0, HTTP_RETRY_ANY, resp, err, errlen);
  } else {
    snprintf(err, errlen, "out of memory");
  }
  buf_free(&path);
  return rc;
}

static int run_query(cli_ctx *ctx, int argc, char **argv) {
  static const struct option longopts[] = {
      CLI_COMMON_LONG_OPTIONS,
      FILTER_LONG_OPTIONS,
      {"limit", required_argument, NULL, OPT_LIMIT},
      {"all", no_argument, NULL, OPT_ALL},
      {"order", required_argument, NULL, OPT_ORDER},
      {"cursor", required_argument, NULL, OPT_CURSOR},
      {"table", no_argument, NULL, OPT_TABLE},
      {"json", no_argument, NULL, OPT_JSON},
      {"ndjson", no_argument, NULL, OPT_NDJSON},
      {"wide", no_argument, NULL, OPT_WIDE},
      {NULL, 0, NULL, 0},
  };
  filters f;
  filters_init(&f);
  long long limit = QUERY_DEFAULT_LIMIT;
  int all = 0, wide = 0, limit_given = 0;
  const char *order = NULL;
  const char *cursor_arg = NULL;
  out_format fmt = OUT_TABLE;
  int status = CLI_EXIT_USAGE;
  int opt;
  while ((opt = cli_getopt(argc, argv, ":h", longopts, "query")) != -1) {
    if (opt == CLI_OPT_BAD) goto out;
    int r = cli_common_option(ctx, &cli_cmd_query, opt, optarg);
    if (r >= CLI_COMMON_EXIT) {
      status = r - CLI_COMMON_EXIT;
      goto out;
    }
    if (r == 0) continue;
    r = filters_option(&f, opt, optarg, "query");
    if (r < 0) goto out;
    if (r == 1) continue;
    switch (opt) {
      case OPT_LIMIT:
        if (cli_parse_count(optarg, 1000000000LL, &limit) != 0 || limit == 0) {
          cli_usage_error("query", "--limit expects a number > 0, got '%s'", optarg);
          goto out;
        }
        limit_given = 1;
        break;
      case OPT_ALL: all = 1; break;
      case OPT_ORDER:
        if (strcmp(optarg, "asc") != 0 && strcmp(optarg, "desc") != 0) {
          cli_usage_error("query", "--order expects asc or desc, got '%s'", optarg);
          goto out;
        }
        order = optarg;
        break;
      case OPT_CURSOR: cursor_arg = optarg; break;
      case OPT_TABLE: fmt = OUT_TABLE; break;
      case OPT_JSON: fmt = OUT_JSON; break;
      case OPT_NDJSON: fmt = OUT_NDJSON; break;
      case OPT_WIDE: wide = 1; break;
      default: cli_usage_error("query", "unexpected option"); goto out;
    }
  }
  if (optind < argc) {
    cli_usage_error("query", "unexpected argument '%s' (filters are options, e.g. --type T)",
                    argv[optind]);
    goto out;
  }
  long long page_size = all ? (limit_given ? limit : 1000) : limit;
  if (page_size > API_PAGE_MAX) page_size = API_PAGE_MAX;

  http_client c;
  status = cli_open_client(ctx, CLI_DEFAULT_RETRIES, &c);
  if (status != 0) goto out;
  http_response resp;
  http_response_init(&resp);
  arena ar;
  arena_init(&ar, 0);
  table t;
  table_init(&t, EVENT_COLS, event_headers);
  buf merged = BUF_INIT; /* --json over several pages */
  buf line = BUF_INIT;
  char *cursor = cursor_arg ? strdup(cursor_arg) : NULL;
  long long printed = 0, pages = 0;
  int more = 0;
  char err[512];
  status = CLI_EXIT_OK;
  for (;;) {
    long long want = all ? page_size : limit - printed;
    if (want > page_size) want = page_size;
    int rc = fetch_page(&c, &f, order, want, cursor, &resp, err, sizeof err);
    if (rc != 0 || resp.status != 200) {
      status = request_failed(rc, err, &resp, "query failed");
      break;
    }
    pages++;
    arena_reset(&ar);
    const json_value *root = parse_answer(&ar, &resp);
    const json_value *events = root ? json_get(root, "events") : NULL;
    if (!events || events->type != JSON_ARRAY) {
      if (root) cli_errorf("eventd's answer has no \"events\" array");
      status = CLI_EXIT_REFUSED;
      break;
    }
    const json_value *next = json_get(root, "next");
    free(cursor);
    cursor = next && next->type == JSON_STRING && next->n ? strdup(next->s) : NULL;
    more = cursor != NULL;
    int last_page = !more || (!all && printed + events->n >= limit);
    if (fmt == OUT_JSON && pages == 1 && last_page) {
      print_body(&resp); /* one page: eventd's answer as it is */
      printed += events->n;
      break;
    }
    for (const json_value *ev = events->child; ev; ev = ev->next) {
      if (fmt == OUT_TABLE) {
        char tbuf[40];
        const char *cells[EVENT_COLS];
        event_cells(ev, tbuf, cells);
        if (table_add_row(&t, cells) != 0) status = CLI_EXIT_REFUSED;
      } else if (fmt == OUT_NDJSON) {
        buf_clear(&line);
        if (json_write_value(&line, ev) != 0) status = CLI_EXIT_REFUSED;
        else printf("%s\n", line.data);
      } else {
        if (buf_puts(&merged, merged.len ? "," : "{\"events\":[") != 0 ||
            json_write_value(&merged, ev) != 0)
          status = CLI_EXIT_REFUSED;
      }
      printed++;
    }
    if (status != CLI_EXIT_OK) {
      cli_errorf("out of memory");
      break;
    }
    if (last_page) break;
  }
  if (status == CLI_EXIT_OK) {
    if (fmt == OUT_TABLE) {
      int width = wide ? 0 : output_term_width();
      table_print(&t, stdout, width, wide ? NULL : event_caps, EVENT_FLEX_COL);
    } else if (fmt == OUT_JSON && pages > 1) {
      if (!merged.len) buf_puts(&merged, "{\"events\":[");
      buf_putc(&merged, ']');
      if (more && cursor) {
        buf_puts(&merged, ",\"next\":");
        json_write_string(&merged, cursor, strlen(cursor));
      }
      buf_putc(&merged, '}');
      printf("%s\n", merged.data);
    }
    if (more && fmt != OUT_JSON)
      fprintf(stderr,
              "eventctl: more events match; use --all, a larger --limit, or --cursor '%s'\n",
              cursor);
  }
  free(cursor);
  buf_free(&line);
  buf_free(&merged);
  table_free(&t);
  arena_free(&ar);
  http_response_free(&resp);
  http_client_free(&c);
out:
  filters_free(&f);
  return status;
}

const cli_command cli_cmd_query = {
    .name = "query",
    .summary = "list stored events matching filters (table, JSON or NDJSON)",
    .help = query_help,
    .run = run_query,
};

/* ---- count ---------------------------------------------------------------------------- */

static const char count_help[] =
    "NAME\n"
    "    eventctl count - count stored events that match filters\n"
    "\n"
    "SYNOPSIS\n"
    "    eventctl count [FILTERS] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Asks GET /v1/events/count and prints the number of matching events.\n"
    "\n" FILTER_OPTIONS_HELP
    "\n"
    "OPTIONS\n"
    "    --json\n"
    "        Print eventd's answer, {\"count\":N}.\n" CLI_COMMON_OPTIONS_HELP
    "\n"
    "EXAMPLES\n"
    "    eventctl count --type deployment --since -7d\n"
    "    eventctl count --stream sessiond --severity ERROR --label gateway_id:gw-17\n"
    "\n" CLI_EXIT_STATUS_HELP;

/* Parse the filter options and output flags shared by count and histogram. Returns -1 to
 * continue, or the exit status. Sets *json when --json was given; other own options are
 * passed to own(opt, arg, ud) which returns 0 when taken, or an exit status. */
typedef int (*own_option_fn)(void *ud, int opt, const char *arg);

static int parse_filter_command(cli_ctx *ctx, const cli_command *cmd, int argc, char **argv,
                                const struct option *longopts, filters *f, int *json,
                                own_option_fn own, void *ud) {
  int opt;
  while ((opt = cli_getopt(argc, argv, ":h", longopts, cmd->name)) != -1) {
    if (opt == CLI_OPT_BAD) return CLI_EXIT_USAGE;
    int r = cli_common_option(ctx, cmd, opt, optarg);
    if (r >= CLI_COMMON_EXIT) return r - CLI_COMMON_EXIT;
    if (r == 0) continue;
    r = filters_option(f, opt, optarg, cmd->name);
    if (r < 0) return CLI_EXIT_USAGE;
    if (r == 1) continue;
    if (opt == OPT_JSON) {
      *json = 1;
      continue;
    }
    r = own ? own(ud, opt, optarg) : cli_usage_error(cmd->name, "unexpected option");
    if (r != 0) return r;
  }
  if (optind < argc)
    return cli_usage_error(cmd->name, "unexpected argument '%s' (filters are options)",
                           argv[optind]);
  return -1;
}

/* Open the client and GET path + the filters + the extra parameters (name, value pairs,
 * NULL-terminated; a NULL value skips its pair). On 200 leaves the answer in resp and returns
 * -1, else reports and returns the exit status. */
static int get_with_filters(cli_ctx *ctx, http_client *c, buf *path, const filters *f,
                            const char *const *extra, http_response *resp, const char *what) {
  char err[512];
  int open_status = cli_open_client(ctx, CLI_DEFAULT_RETRIES, c);
  if (open_status != 0) return open_status;
  int oom = filters_append(f, c, path) != 0;
  for (size_t i = 0; extra && extra[i] && !oom; i += 2)
    if (extra[i + 1] && http_query_add(c, path, extra[i], extra[i + 1]) != 0) oom = 1;
  if (oom) {
    cli_errorf("out of memory");
    return CLI_EXIT_REFUSED;
  }
  int rc = http_request(c, "GET", path->data, NULL, NULL, 0, HTTP_RETRY_ANY, resp, err, sizeof err);
  if (rc != 0 || resp->status != 200) return request_failed(rc, err, resp, what);
  return -1;
}

/* Print a parsed answer; returns the exit status. */
typedef int (*answer_printer)(const json_value *root, void *arg);

/* The rest of a filtered read command once its options are parsed: GET endpoint with the
 * filters and extra parameters, then print the raw body (--json) or hand the parsed answer
 * to print. Frees the filters. Returns the exit status. */
static int run_filtered_get(cli_ctx *ctx, filters *f, int json, const char *endpoint,
                            const char *const *extra, const char *what, answer_printer print,
                            void *print_arg) {
  http_client c = {0};
  http_response resp;
  http_response_init(&resp);
  buf path = BUF_INIT;
  arena ar;
  arena_init(&ar, 0);
  int status;
  if (buf_puts(&path, endpoint) != 0) {
    cli_errorf("out of memory");
    status = CLI_EXIT_REFUSED;
  } else {
    status = get_with_filters(ctx, &c, &path, f, extra, &resp, what);
  }
  if (status < 0) {
    if (json) {
      print_body(&resp);
      status = CLI_EXIT_OK;
    } else {
      const json_value *root = parse_answer(&ar, &resp);
      status = root ? print(root, print_arg) : CLI_EXIT_REFUSED;
    }
  }
  arena_free(&ar);
  buf_free(&path);
  http_response_free(&resp);
  if (c.curl) http_client_free(&c);
  filters_free(f);
  return status;
}

/* count's answer {"count":N} as a bare number. */
static int print_count(const json_value *root, void *arg) {
  (void)arg;
  const json_value *count = json_get(root, "count");
  int64_t n;
  if (!count || json_as_int64(count, &n) != 0) {
    cli_errorf("eventd's answer has no integer \"count\"");
    return CLI_EXIT_REFUSED;
  }
  printf("%lld\n", (long long)n);
  return CLI_EXIT_OK;
}

static int run_count(cli_ctx *ctx, int argc, char **argv) {
  static const struct option longopts[] = {
      CLI_COMMON_LONG_OPTIONS,
      FILTER_LONG_OPTIONS,
      {"json", no_argument, NULL, OPT_JSON},
      {NULL, 0, NULL, 0},
  };
  filters f;
  filters_init(&f);
  int json = 0;
  int status = parse_filter_command(ctx, &cli_cmd_count, argc, argv, longopts, &f, &json, NULL, NULL);
  if (status >= 0) {
    filters_free(&f);
    return status;
  }
  return run_filtered_get(ctx, &f, json, "/v1/events/count", NULL, "count failed", print_count,
                          NULL);
}

const cli_command cli_cmd_count = {
    .name = "count",
    .summary = "print the number of stored events matching filters",
    .help = count_help,
    .run = run_count,
};

/* ---- histogram ------------------------------------------------------------------------ */

static const char histogram_help[] =
    "NAME\n"
    "    eventctl histogram - count matching events per time interval\n"
    "\n"
    "SYNOPSIS\n"
    "    eventctl histogram [FILTERS] [--interval D] [--by FIELD] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Asks GET /v1/events/histogram and prints one row per time bucket: its start, the\n"
    "    number of matching events, and with --by, the count for each value of FIELD (one\n"
    "    column per value, most frequent first; when the columns do not fit the terminal,\n"
    "    one row per bucket and value instead).\n"
    "\n" FILTER_OPTIONS_HELP
    "\n"
    "OPTIONS\n"
    "    --interval D\n"
    "        Bucket width: 30s, 1m (default), 15m, 1h, 1d ...\n"
    "    --by FIELD\n"
    "        Split each bucket by type, stream, severity or source.\n"
    "    --json\n"
    "        Print eventd's answer, {\"interval\":\"1m\",\"buckets\":[...]}.\n"
    CLI_COMMON_OPTIONS_HELP
    "\n"
    "EXAMPLES\n"
    "    eventctl histogram --since -1h --interval 5m\n"
    "    eventctl histogram --stream sessiond --since -1d --interval 1h --by type\n"
    "\n" CLI_EXIT_STATUS_HELP;

typedef struct histogram_args {
  const char *interval;
  const char *by;
} histogram_args;

static int histogram_option(void *ud, int opt, const char *arg) {
  histogram_args *h = ud;
  if (opt == OPT_INTERVAL) {
    int64_t d;
    if (time_parse_duration(arg, &d) != 0 || d <= 0)
      return cli_usage_error("histogram", "--interval expects a duration like 1m or 1h, got '%s'", arg);
    h->interval = arg;
    return 0;
  }
  if (opt == OPT_BY) {
    if (strcmp(arg, "type") && strcmp(arg, "stream") && strcmp(arg, "severity") && strcmp(arg, "source"))
      return cli_usage_error("histogram", "--by expects type, stream, severity or source, got '%s'", arg);
    h->by = arg;
    return 0;
  }
  return cli_usage_error("histogram", "unexpected option");
}

/* One group value and its total over all buckets. */
typedef struct group_total {
  const char *name;
  long long total;
} group_total;

static int by_total_desc(const void *a, const void *b) {
  const group_total *x = a, *y = b;
  if (x->total != y->total) return x->total < y->total ? 1 : -1;
  return strcmp(x->name, y->name);
}

/* Print the histogram answer as a table. Returns the exit status. */
static int print_histogram(const json_value *root, const char *by) {
  const json_value *buckets = json_get(root, "buckets");
  if (!buckets || buckets->type != JSON_ARRAY) {
    cli_errorf("eventd's answer has no \"buckets\" array");
    return CLI_EXIT_REFUSED;
  }
  /* collect the group values */
  size_t ng = 0, capg = 0;
  group_total *groups = NULL;
  for (const json_value *b = buckets->child; b; b = b->next) {
    const json_value *gs = by ? json_get(b, "groups") : NULL;
    if (!gs || gs->type != JSON_OBJECT) continue;
    for (const json_value *g = gs->child; g; g = g->next) {
      int64_t n = 0;
      json_as_int64(g, &n);
      size_t i;
      for (i = 0; i < ng; i++)
        if (strcmp(groups[i].name, g->key) == 0) break;
      if (i == ng) {
        if (ng == capg) {
          size_t nc = capg ? capg * 2 : 16;
          group_total *ngs = realloc(groups, nc * sizeof *ngs);
          if (!ngs) {
            free(groups);
            cli_errorf("out of memory");
            return CLI_EXIT_REFUSED;
          }
          groups = ngs;
          capg = nc;
        }
        groups[ng].name = g->key;
        groups[ng].total = 0;
        ng++;
      }
      groups[i].total += n;
    }
  }
  if (ng) qsort(groups, ng, sizeof *groups, by_total_desc);
  int width = output_term_width();
  /* pivot: TIME COUNT <one column per group>; long form when too wide */
  size_t ncols = 2 + ng;
  const char **headers = calloc(ncols > 3 ? ncols : 3, sizeof *headers);
  const char **cells = calloc(ncols > 3 ? ncols : 3, sizeof *cells);
  char (*nums)[24] = calloc(ncols > 3 ? ncols : 3, sizeof *nums);
  int status = CLI_EXIT_OK;
  if (!headers || !cells || !nums) {
    cli_errorf("out of memory");
    status = CLI_EXIT_REFUSED;
    goto done;
  }
  size_t pivot_width = 30 + 2 + 8;
  for (size_t i = 0; i < ng; i++) {
    size_t w = output_display_width(groups[i].name);
    pivot_width += 2 + (w > 8 ? w : 8);
  }
  int pivot = ng == 0 || width == 0 || pivot_width <= (size_t)width;
  table t;
  if (pivot) {
    headers[0] = "TIME";
    headers[1] = "COUNT";
    for (size_t i = 0; i < ng; i++) headers[2 + i] = groups[i].name;
    table_init(&t, ncols, headers);
  } else {
    static const char *const long_headers[3] = {"TIME", "VALUE", "COUNT"};
    table_init(&t, 3, long_headers);
  }
  for (const json_value *b = buckets->child; b && status == CLI_EXIT_OK; b = b->next) {
    const json_value *tv = json_get(b, "time");
    const json_value *cv = json_get(b, "count");
    const json_value *gs = by ? json_get(b, "groups") : NULL;
    /* 2026-11-21T08:46:00.000000000Z -> 2026-11-21T08:46:00Z (display only) */
    char time_s[64];
    snprintf(time_s, sizeof time_s, "%s", tv && tv->type == JSON_STRING ? tv->s : "");
    char *zero_frac = strstr(time_s, ".000000000Z");
    if (zero_frac && zero_frac[11] == '\0') strcpy(zero_frac, "Z");
    int64_t n = 0;
    if (cv) json_as_int64(cv, &n);
    if (pivot) {
      cells[0] = time_s;
      snprintf(nums[1], sizeof nums[1], "%lld", (long long)n);
      cells[1] = nums[1];
      for (size_t i = 0; i < ng; i++) {
        const json_value *g = gs && gs->type == JSON_OBJECT ? json_get(gs, groups[i].name) : NULL;
        int64_t gn = 0;
        if (g) json_as_int64(g, &gn);
        snprintf(nums[2 + i], sizeof nums[2 + i], "%lld", (long long)gn);
        cells[2 + i] = nums[2 + i];
      }
      if (table_add_row(&t, cells) != 0) status = CLI_EXIT_REFUSED;
    } else if (gs && gs->type == JSON_OBJECT) {
      for (const json_value *g = gs->child; g; g = g->next) {
        int64_t gn = 0;
        json_as_int64(g, &gn);
        snprintf(nums[0], sizeof nums[0], "%lld", (long long)gn);
        const char *row[3] = {time_s, g->key, nums[0]};
        if (table_add_row(&t, row) != 0) status = CLI_EXIT_REFUSED;
      }
    }
  }
  if (status == CLI_EXIT_OK)
    table_print(&t, stdout, width, NULL, -1);
  else
    cli_errorf("out of memory");
  table_free(&t);
done:
  free(headers);
  free(cells);
  free(nums);
  free(groups);
  return status;
}

/* answer_printer for histogram: arg is the command's histogram_args. */
static int print_histogram_answer(const json_value *root, void *arg) {
  const histogram_args *h = arg;
  return print_histogram(root, h->by);
}

static int run_histogram(cli_ctx *ctx, int argc, char **argv) {
  static const struct option longopts[] = {
      CLI_COMMON_LONG_OPTIONS,
      FILTER_LONG_OPTIONS,
      {"json", no_argument, NULL, OPT_JSON},
      {"interval", required_argument, NULL, OPT_INTERVAL},
      {"by", required_argument, NULL, OPT_BY},
      {NULL, 0, NULL, 0},
  };
  filters f;
  filters_init(&f);
  int json = 0;
  histogram_args h = {.interval = "1m"};
  int status = parse_filter_command(ctx, &cli_cmd_histogram, argc, argv, longopts, &f, &json,
                                    histogram_option, &h);
  if (status >= 0) {
    filters_free(&f);
    return status;
  }
  const char *const extra[] = {"interval", h.interval, "by", h.by, NULL};
  return run_filtered_get(ctx, &f, json, "/v1/events/histogram", extra, "histogram failed",
                          print_histogram_answer, &h);
}

const cli_command cli_cmd_histogram = {
    .name = "histogram",
    .summary = "count matching events per time interval, optionally split by a field",
    .help = histogram_help,
    .run = run_histogram,
};

/* ---- get ------------------------------------------------------------------------------ */

static const char get_help[] =
    "NAME\n"
    "    eventctl get - print one stored event by its id\n"
    "\n"
    "SYNOPSIS\n"
    "    eventctl get ID [--compact]\n"
    "\n"
    "DESCRIPTION\n"
    "    Asks GET /v1/events/ID and prints the event as indented JSON. The id is the one\n"
    "    `eventctl send` printed (or the client-supplied --id).\n"
    "\n"
    "OPTIONS\n"
    "    --compact\n"
    "        Print the event on one line.\n" CLI_COMMON_OPTIONS_HELP
    "\n"
    "EXAMPLES\n"
    "    id=$(eventctl send \"Starting deploy\" --type deployment)\n"
    "    eventctl get \"$id\"\n"
    "\n" CLI_EXIT_STATUS_HELP
    "    (1 also when no event has that id)\n";

static int run_get(cli_ctx *ctx, int argc, char **argv) {
  static const struct option longopts[] = {
      CLI_COMMON_LONG_OPTIONS,
      {"compact", no_argument, NULL, OPT_COMPACT},
      {NULL, 0, NULL, 0},
  };
  int compact = 0;
  int opt;
  while ((opt = cli_getopt(argc, argv, ":h", longopts, "get")) != -1) {
    if (opt == CLI_OPT_BAD) return CLI_EXIT_USAGE;
    int r = cli_common_option(ctx, &cli_cmd_get, opt, optarg);
    if (r >= CLI_COMMON_EXIT) return r - CLI_COMMON_EXIT;
    if (r == 0) continue;
    if (opt == OPT_COMPACT) compact = 1;
    else return cli_usage_error("get", "unexpected option");
  }
  if (argc - optind != 1)
    return cli_usage_error("get", argc - optind == 0 ? "ID is missing" : "one ID expected");
  const char *id = argv[optind];
  if (!*id) return cli_usage_error("get", "ID is empty");
  http_client c;
  int open_status = cli_open_client(ctx, CLI_DEFAULT_RETRIES, &c);
  if (open_status != 0) return open_status;
  http_response resp;
  http_response_init(&resp);
  buf path = BUF_INIT, out = BUF_INIT;
  arena ar;
  arena_init(&ar, 0);
  char err[512];
  int status = CLI_EXIT_REFUSED;
  char *esc = curl_easy_escape(c.curl, id, (int)strlen(id));
  if (!esc || buf_printf(&path, "/v1/events/%s", esc) != 0) {
    cli_errorf("out of memory");
    goto done;
  }
  int rc = http_request(&c, "GET", path.data, NULL, NULL, 0, HTTP_RETRY_ANY, &resp, err, sizeof err);
  if (rc == 0 && resp.status == 404) {
    cli_errorf("no event with id '%s'", id);
    goto done;
  }
  if (rc != 0 || resp.status != 200) {
    status = request_failed(rc, err, &resp, "get failed");
    goto done;
  }
  const json_value *ev = parse_answer(&ar, &resp);
  if (!ev) goto done;
  if ((compact ? json_write_value(&out, ev) : json_write_pretty(&out, ev)) != 0) {
    cli_errorf("out of memory");
    goto done;
  }
  printf("%s\n", out.data);
  status = CLI_EXIT_OK;
done:
  curl_free(esc);
  arena_free(&ar);
  buf_free(&out);
  buf_free(&path);
  http_response_free(&resp);
  http_client_free(&c);
  return status;
}

const cli_command cli_cmd_get = {
    .name = "get",
    .summary = "print one event by id",
    .help = get_help,
    .run = run_get,
};

/* ---- health --------------------------------------------------------------------------- */

static const char health_help[] =
    "NAME\n"
    "    eventctl health - check that eventd is up and healthy\n"
    "\n"
    "SYNOPSIS\n"
    "    eventctl health [--wait SEC] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "    Asks GET /healthz and prints \"ok\" with eventd's version and the sequence number\n"
    "    of the last committed event. Exits 0 when eventd says it is ok, 1 otherwise -\n"
    "    including when eventd cannot be reached, so it fits a readiness check. Unlike the\n"
    "    other commands it does not retry unless --retries or --wait is given.\n"
    "\n"
    "OPTIONS\n"
    "    --wait SEC\n"
    "        Keep asking (every 0.2 s) until eventd is healthy or SEC seconds have passed;\n"
    "        useful right after starting the daemon.\n"
    "    --json\n"
    "        Print eventd's answer as it is.\n" CLI_COMMON_OPTIONS_HELP
    "\n"
    "EXAMPLES\n"
    "    eventctl health\n"
    "    eventd --data-dir /var/lib/eventd & eventctl health --wait 10\n"
    "\n"
    "EXIT STATUS\n"
    "    0   eventd answered {\"status\":\"ok\"}\n"
    "    1   anything else: not ok, an error answer, or eventd not reachable\n"
    "    64  bad command line\n";

static int run_health(cli_ctx *ctx, int argc, char **argv) {
  static const struct option longopts[] = {
      CLI_COMMON_LONG_OPTIONS,
      {"json", no_argument, NULL, OPT_JSON},
      {"wait", required_argument, NULL, OPT_WAIT},
      {NULL, 0, NULL, 0},
  };
  int json = 0;
  double wait_s = 0;
  int opt;
  while ((opt = cli_getopt(argc, argv, ":h", longopts, "health")) != -1) {
    if (opt == CLI_OPT_BAD) return CLI_EXIT_USAGE;
    int r = cli_common_option(ctx, &cli_cmd_health, opt, optarg);
    if (r >= CLI_COMMON_EXIT) return r - CLI_COMMON_EXIT;
    if (r == 0) continue;
    if (opt == OPT_JSON) {
      json = 1;
    } else if (opt == OPT_WAIT) {
      char *end;
      wait_s = strtod(optarg, &end);
      if (*end || !(wait_s >= 0) || wait_s > 86400)
        return cli_usage_error("health", "--wait expects seconds, got '%s'", optarg);
    } else {
      return cli_usage_error("health", "unexpected option");
    }
  }
  if (optind < argc) return cli_usage_error("health", "unexpected argument '%s'", argv[optind]);
  http_client c;
  int open_status = cli_open_client(ctx, 0, &c);
  if (open_status != 0) return open_status;
  http_response resp;
  http_response_init(&resp);
  arena ar;
  arena_init(&ar, 0);
  char err[512];
  int status = CLI_EXIT_REFUSED;
  int64_t deadline = time_mono_ns() + (int64_t)(wait_s * 1e9);
  for (;;) {
    int rc = http_request(&c, "GET", "/healthz", NULL, NULL, 0, HTTP_RETRY_ANY, &resp, err, sizeof err);
    const json_value *root = NULL;
    const json_value *st = NULL;
    if (rc == 0 && resp.status == 200) {
      arena_reset(&ar);
      root = parse_json_body(&ar, &resp.body, NULL);
      st = root && root->type == JSON_OBJECT ? json_get(root, "status") : NULL;
    }
    int ok = st && st->type == JSON_STRING && strcmp(st->s, "ok") == 0;
    if (ok || time_mono_ns() >= deadline) {
      if (ok) {
        status = CLI_EXIT_OK;
        if (json) {
          print_body(&resp);
        } else {
          const json_value *ver = json_get(root, "version");
          const json_value *seq = json_get(root, "committed_seq");
          printf("ok");
          if (ver && ver->type == JSON_STRING) printf(" version=%s", ver->s);
          if (seq && seq->type == JSON_NUMBER) printf(" committed_seq=%s", seq->s);
          printf("\n");
        }
      } else if (rc != 0) {
        cli_errorf("%s", err);
      } else if (json && resp.body.len) {
        print_body(&resp);
      } else if (resp.status == 200) {
        cli_errorf("eventd is not healthy: %.300s", resp.body.data ? resp.body.data : "");
      } else {
        report_http_error("eventd is not healthy", &resp, NULL, NULL);
      }
      break;
    }
    http_sleep_ms(200, NULL);
  }
  arena_free(&ar);
  http_response_free(&resp);
  http_client_free(&c);
  return status;
}

const cli_command cli_cmd_health = {
    .name = "health",
    .summary = "check eventd's health (exit 0 when ok)",
    .help = health_help,
    .run = run_health,
};
