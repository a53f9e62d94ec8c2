/* filters: see filters.h. */
#include "cli/filters.h"

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void filters_init(filters *f) { memset(f, 0, sizeof *f); }

void filters_free(filters *f) {
  for (size_t i = 0; i < f->n; i++) free(f->value[i]);
  f->n = 0;
}

/* API parameter name of a filter option, or NULL. */
static const char *param_name(int opt) {
  switch (opt) {
    case FILTER_OPT_STREAM: return "stream";
    case FILTER_OPT_TYPE: return "type";
    case FILTER_OPT_TAG: return "tag";
    case FILTER_OPT_SOURCE: return "source";
    case FILTER_OPT_TENANT: return "tenant";
    case FILTER_OPT_SEVERITY: return "severity";
    case FILTER_OPT_LABEL: return "label";
    case FILTER_OPT_KEY: return "key";
    case FILTER_OPT_SINCE: return "since";
    case FILTER_OPT_UNTIL: return "until";
    case FILTER_OPT_Q: return "q";
    case FILTER_OPT_CORRELATION_ID: return "correlation_id";
    case FILTER_OPT_ARCHIVED: return "archived";
    default: return NULL;
  }
}

int filters_option(filters *f, int opt, const char *arg, const char *cmd) {
  const char *name = param_name(opt);
  if (!name) return 0;
  if (f->n == FILTERS_MAX) {
    cli_usage_error(cmd, "too many filters (at most %d)", FILTERS_MAX);
    return -1;
  }
  char *value;
  if (opt == FILTER_OPT_LABEL) {
    /* KEY:VALUE or KEY=VALUE, split at the first ':' or '=' */
    size_t k = strcspn(arg, ":=");
    if (k == 0 || arg[k] == '\0') {
      cli_usage_error(cmd, "--label expects KEY:VALUE (or KEY=VALUE), got '%s'", arg);
      return -1;
    }
    value = strdup(arg);
    if (value) value[k] = ':';
  } else {
    if (opt != FILTER_OPT_Q && arg[0] == '\0') {
      cli_usage_error(cmd, "--%s needs a non-empty value",
                      opt == FILTER_OPT_CORRELATION_ID ? "correlation-id" : name);
      return -1;
    }
    value = strdup(arg);
  }
  if (!value) {
    cli_errorf("out of memory");
    return -1;
  }
  f->name[f->n] = name;
  f->value[f->n] = value;
  f->n++;
  return 1;
}

int filters_append(const filters *f, http_client *c, buf *path) {
  for (size_t i = 0; i < f->n; i++)
    if (http_query_add(c, path, f->name[i], f->value[i]) != 0) return -1;
  return 0;
}

int filters_has(const filters *f, const char *name) {
  for (size_t i = 0; i < f->n; i++)
    if (strcmp(f->name[i], name) == 0) return 1;
  return 0;
}
