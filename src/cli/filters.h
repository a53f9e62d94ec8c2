/* filters: the event filter options shared by query, count, histogram and tail. Each one
 * maps onto a query parameter of GET /v1/events (docs/api.md); values are passed through
 * as given (eventd checks them and names the bad one), except --label, which accepts
 * KEY:VALUE and KEY=VALUE and is sent as KEY:VALUE. */
#ifndef EVD_CLI_FILTERS_H
#define EVD_CLI_FILTERS_H

#include <getopt.h>

#include "cli/http.h"

enum {
  FILTER_OPT_STREAM = 1200,
  FILTER_OPT_TYPE,
  FILTER_OPT_TAG,
  FILTER_OPT_SOURCE,
  FILTER_OPT_TENANT,
  FILTER_OPT_SEVERITY,
  FILTER_OPT_LABEL,
  FILTER_OPT_KEY,
  FILTER_OPT_SINCE,
  FILTER_OPT_UNTIL,
  FILTER_OPT_Q,
  FILTER_OPT_CORRELATION_ID,
  FILTER_OPT_ARCHIVED, /* docs/lifecycle.md */
  FILTER_OPT_END
};

#define FILTER_LONG_OPTIONS                                                     \
  {"stream", required_argument, NULL, FILTER_OPT_STREAM},                       \
  {"type", required_argument, NULL, FILTER_OPT_TYPE},                           \
  {"tag", required_argument, NULL, FILTER_OPT_TAG},                             \
  {"source", required_argument, NULL, FILTER_OPT_SOURCE},                       \
  {"tenant", required_argument, NULL, FILTER_OPT_TENANT},                       \
  {"severity", required_argument, NULL, FILTER_OPT_SEVERITY},                   \
  {"label", required_argument, NULL, FILTER_OPT_LABEL},                         \
  {"key", required_argument, NULL, FILTER_OPT_KEY},                             \
  {"since", required_argument, NULL, FILTER_OPT_SINCE},                         \
  {"until", required_argument, NULL, FILTER_OPT_UNTIL},                         \
  {"q", required_argument, NULL, FILTER_OPT_Q},                                 \
  {"correlation-id", required_argument, NULL, FILTER_OPT_CORRELATION_ID},       \
  {"archived", required_argument, NULL, FILTER_OPT_ARCHIVED}

#define FILTER_OPTIONS_HELP                                                                  \
  "FILTERS (all optional; an event must match every one given)\n"                           \
  "    --stream S            events of stream S\n"                                          \
  "    --type T              events of type T; 'account.*' matches a type prefix\n"         \
  "    --tag T               events whose tag is T\n"                                       \
  "    --source S            events from source S\n"                                        \
  "    --tenant T            events of tenant T\n"                                          \
  "    --severity S          events at least this severe (TRACE DEBUG INFO WARN ERROR\n"    \
  "                          FATAL, or 1-24)\n"                                             \
  "    --label KEY:VALUE     events with that label (KEY=VALUE also accepted; repeat the\n" \
  "                          option to require several labels)\n"                           \
  "    --key PATTERN         routing key pattern, AMQP style: '*' is one word, '#' zero or\n" \
  "                          more ('sessiond.#'); quote it for the shell\n"                 \
  "    --since T             events at or after T: RFC 3339, epoch (s/ms/us/ns), or\n"      \
  "                          relative to now ('-15m', '-2h', '-1d')\n"                      \
  "    --until T             events before T (same forms)\n"                                \
  "    --q TEXT              events whose message contains TEXT\n"                          \
  "    --correlation-id ID   events of one long-running job\n"                            \
  "    --archived WHICH      true: only archived events; any: both; false (default): none\n"

#define FILTERS_MAX 128

typedef struct filters {
  size_t n;
  const char *name[FILTERS_MAX];  /* API parameter names (static strings) */
  char *value[FILTERS_MAX];       /* owned */
} filters;

void filters_init(filters *f);
void filters_free(filters *f);

/* Take option opt with its argument when it is a filter option. Returns 1 when taken,
 * 0 when opt is not a filter option, -1 when the value is bad (usage error printed for
 * command cmd). */
int filters_option(filters *f, int opt, const char *arg, const char *cmd);

/* Append the filters as URL-encoded query parameters to path. Returns 0 or -1 (OOM). */
int filters_append(const filters *f, http_client *c, buf *path);

/* Whether a parameter of that API name was given. */
int filters_has(const filters *f, const char *name);

#endif
