/* cmd_send: `eventctl send` — one event from command-line options, or many from NDJSON in
 * batches, to POST /v1/events. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/output.h"
#include "core/json.h"
#include "core/timeutil.h"

#define SEND_DEFAULT_BATCH 500
#define SEND_BATCH_MAX_BYTES (4u << 20) /* stay well below eventd's 16 MiB body limit */
#define SEND_MAX_LABELS 256
#define SEND_MAX_INPUT_BYTES (64u << 20)

static const char send_help[] =
    "NAME\n"
    "    eventctl send - send an event (or many, from NDJSON) to eventd\n"
    "\n"
    "SYNOPSIS\n"
    "    eventctl send MESSAGE --type TYPE [OPTIONS]\n"
    "    eventctl send --ndjson FILE|- [OPTIONS]\n"
    "\n"
    "DESCRIPTION\n"
    "    The first form builds one event from MESSAGE and the options, sends it to\n"
    "    POST /v1/events, and prints the id eventd gave it. eventd answers only after the\n"
    "    event is stored durably, so exit status 0 means the event is kept.\n"
    "\n"
    "    The second form reads one JSON event object per line (blank lines skipped) and\n"
    "    sends them in batches; it prints each event's id, one per line, in input order.\n"
    "    eventd takes or refuses each batch as a whole: on a refusal eventctl names the\n"
    "    offending lines and stops; batches sent before it are stored. Field options given\n"
    "    with --ndjson (--type, --stream, --label, ...) fill in fields a line lacks.\n"
    "\n"
    "    Retries: when eventd cannot be reached (connection refused) or is busy (HTTP 503)\n"
    "    the request is repeated up to --retries times (default 3) with exponential backoff\n"
    "    (0.25 s, 0.5 s, 1 s, ... with jitter; a Retry-After up to 5 s is honoured), so a\n"
    "    CI job does not fail on a blip such as a daemon restart. A request that may already\n"
    "    have reached eventd (timeout, connection lost mid-request) is repeated only when\n"
    "    every event in it has an --id / \"id\", since eventd then recognizes the repeat and\n"
    "    does not store it twice.\n"
    "\n"
    "    Options may come before or after MESSAGE. A MESSAGE starting with '-' goes after\n"
    "    '--': eventctl send --type retry -- '-1 attempts left'.\n"
    "\n"
    "OPTIONS\n"
    "    --type TYPE\n"
    "        Event type, e.g. deployment or account.admin.create. Required for one event.\n"
    "    --stream S\n"
    "        Stream (logical bucket); eventd's default is 'default'.\n"
    "    --tag T\n"
    "        Subject or correlation value (an IMSI, a resource id, ...).\n"
    "    --source S\n"
    "        Emitting host, service or job (e.g. \"$CI_JOB_URL\").\n"
    "    --severity S\n"
    "        TRACE, DEBUG, INFO (default), WARN, ERROR, FATAL, or a number 1-24.\n"
    "    --label KEY=VALUE\n"
    "        Add a label (indexed string); repeat for several. KEY:VALUE is also accepted.\n"
    "    --data JSON\n"
    "        Event-specific data: a JSON object, e.g. '{\"sha\":\"abc123\"}'.\n"
    "    --data-file FILE|-\n"
    "        Read the data object from FILE (or stdin).\n"
    "    --time T\n"
    "        When it happened: RFC 3339, epoch (s, ms, us or ns by magnitude), 'now' or\n"
    "        relative ('-5m'). Default: when eventd receives it.\n"
    "    --id ID\n"
    "        Client-supplied id, used as an idempotency key: sending the same id again is\n"
    "        acknowledged with the first event's id and not stored twice.\n"
    "    --key KEY\n"
    "        Routing key (dot-separated words); eventd's default is STREAM.TYPE.\n"
    "    --tenant T\n"
    "        Owner for access control; eventd's default is 'default'.\n"
    "    --correlation-id ID\n"
    "        Links the events of one long-running job (Scheduled, Started, Completed).\n"
    "    --state S\n"
    "        State of the job in that chain, e.g. Started.\n"
    "    --trace-id ID, --span-id ID\n"
    "        W3C trace context.\n"
    "    --ndjson FILE|-\n"
    "        Send the events of FILE (or stdin), one JSON object per line.\n"
    "    --batch-size N\n"
    "        Events per request with --ndjson (default 500; batches are also cut at 4 MiB).\n"
    "    -q, --quiet\n"
    "        Print no ids and no notes; only errors.\n" CLI_COMMON_OPTIONS_HELP
    "\n"
    "OUTPUT\n"
    "    stdout: the event id (one per line with --ndjson). stderr: a note when eventd\n"
    "    already had an event with that id, the --ndjson summary, retries and errors: the\n"
    "    daemon's message and, per refused event, the field and reason.\n"
    "\n"
    "EXAMPLES\n"
    "    eventctl send \"Starting deploy\" --type deployment --label env=gprd \\\n"
    "        --label stage=main --source \"$CI_JOB_URL\"\n"
    "    eventctl send \"Deploy done\" --type deployment --severity INFO \\\n"
    "        --correlation-id \"$CI_PIPELINE_ID\" --state Completed --data '{\"sha\":\"'$SHA'\"}'\n"
    "    eventctl send --ndjson events.ndjson --stream import\n"
    "    producer | eventctl send --ndjson -\n"
    "\n" CLI_EXIT_STATUS_HELP;

enum {
  OPT_TYPE = CLI_OPT_FIRST_OWN,
  OPT_STREAM,
  OPT_TAG,
  OPT_SOURCE,
  OPT_SEVERITY,
  OPT_LABEL,
  OPT_DATA,
  OPT_DATA_FILE,
  OPT_TIME,
  OPT_ID,
  OPT_KEY,
  OPT_TENANT,
  OPT_CORRELATION_ID,
  OPT_STATE,
  OPT_TRACE_ID,
  OPT_SPAN_ID,
  OPT_NDJSON,
  OPT_BATCH_SIZE,
  OPT_QUIET
};

/* A string field given on the command line: JSON name and value (NULL when not given). */
typedef struct field_opt {
  const char *name;
  const char *value;
} field_opt;

/* Everything the options say about the event(s). */
typedef struct send_args {
  const char *message;
  field_opt fields[12];   /* in canonical order; see send_args_init */
  const char *severity;
  const char *labels[SEND_MAX_LABELS]; /* "k=v" / "k:v" as given */
  size_t key_len[SEND_MAX_LABELS];     /* length of the key part */
  size_t nlabels;
  const char *data_text;  /* --data */
  const char *data_file;  /* --data-file */
  char time_rfc3339[TIME_RFC3339_LEN + 1]; /* --time, converted; "" when absent */
  const char *ndjson;
  long long batch_size;
  int quiet;
} send_args;

enum { F_ID, F_TENANT, F_STREAM, F_TYPE, F_KEY, F_TAG, F_SOURCE, F_CORRELATION_ID, F_STATE,
       F_TRACE_ID, F_SPAN_ID, F_COUNT };

static void send_args_init(send_args *a) {
  memset(a, 0, sizeof *a);
  static const char *const names[F_COUNT] = {"id",  "tenant", "stream", "type",
                                             "key", "tag",    "source", "correlation_id",
                                             "state", "trace_id", "span_id"};
  for (int i = 0; i < F_COUNT; i++) a->fields[i].name = names[i];
  a->batch_size = SEND_DEFAULT_BATCH;
}

/* Read all of path ("-" = stdin) into out. Returns 0, or -1 with a message printed. */
static int read_input(const char *path, buf *out) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) {
    cli_errorf("cannot open '%s': %s", path, strerror(errno));
    return -1;
  }
  char chunk[65536];
  size_t n;
  int rc = 0;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (out->len + n > SEND_MAX_INPUT_BYTES) {
      cli_errorf("'%s' is larger than %u bytes", path, SEND_MAX_INPUT_BYTES);
      rc = -1;
      break;
    }
    if (buf_append(out, chunk, n) != 0) {
      cli_errorf("out of memory reading '%s'", path);
      rc = -1;
      break;
    }
  }
  if (rc == 0 && ferror(f)) {
    cli_errorf("cannot read '%s': %s", path, strerror(errno));
    rc = -1;
  }
  if (f != stdin) fclose(f);
  return rc;
}

/* Whether s is a plain decimal number (a severity number is sent as a JSON number). */
static int is_decimal(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

/* Append ,"name":"value" (or without the comma when first) to out. */
static int put_member(buf *out, int *first, const char *name, const char *value, size_t n) {
  if (!*first && buf_putc(out, ',') != 0) return -1;
  *first = 0;
  if (json_write_string(out, name, strlen(name)) != 0 || buf_putc(out, ':') != 0) return -1;
  return json_write_string(out, value, n);
}

static int put_severity(buf *out, int *first, const char *sev) {
  if (!is_decimal(sev)) return put_member(out, first, "severity", sev, strlen(sev));
  if (!*first && buf_putc(out, ',') != 0) return -1;
  *first = 0;
  return buf_printf(out, "\"severity\":%s", sev);
}

/* Append the label members from the options that obj_labels (may be NULL) lacks. */
static int put_option_labels(buf *out, int *first_label, const send_args *a,
                             const json_value *obj_labels) {
  for (size_t i = 0; i < a->nlabels; i++) {
    const char *l = a->labels[i];
    size_t kl = a->key_len[i];
    int present = 0;
    if (obj_labels)
      for (const json_value *m = obj_labels->child; m; m = m->next)
        if (m->key_len == kl && memcmp(m->key, l, kl) == 0) present = 1;
    if (present) continue;
    if (!*first_label && buf_putc(out, ',') != 0) return -1;
    *first_label = 0;
    if (json_write_string(out, l, kl) != 0 || buf_putc(out, ':') != 0 ||
        json_write_string(out, l + kl + 1, strlen(l + kl + 1)) != 0)
      return -1;
  }
  return 0;
}

/* Build the JSON object of the single event. Returns 0 or -1 (message printed). */
static int build_event(const send_args *a, const json_value *data, buf *out) {
  int first = 1;
  if (buf_putc(out, '{') != 0) goto oom;
  for (int i = 0; i < F_COUNT; i++) {
    const field_opt *f = &a->fields[i];
    if (!f->value) continue;
    if (put_member(out, &first, f->name, f->value, strlen(f->value)) != 0) goto oom;
    if (i == F_ID && a->time_rfc3339[0] &&
        put_member(out, &first, "time", a->time_rfc3339, strlen(a->time_rfc3339)) != 0)
      goto oom;
  }
  if (!a->fields[F_ID].value && a->time_rfc3339[0] &&
      put_member(out, &first, "time", a->time_rfc3339, strlen(a->time_rfc3339)) != 0)
    goto oom;
  if (a->severity && put_severity(out, &first, a->severity) != 0) goto oom;
  if (a->message && put_member(out, &first, "message", a->message, strlen(a->message)) != 0)
    goto oom;
  if (a->nlabels) {
    int first_label = 1;
    if ((!first && buf_putc(out, ',') != 0) || buf_puts(out, "\"labels\":{") != 0) goto oom;
    first = 0;
    if (put_option_labels(out, &first_label, a, NULL) != 0 || buf_putc(out, '}') != 0) goto oom;
  }
  if (data) {
    if ((!first && buf_putc(out, ',') != 0) || buf_puts(out, "\"data\":") != 0 ||
        json_write_value(out, data) != 0)
      goto oom;
    first = 0;
  }
  if (buf_putc(out, '}') != 0) goto oom;
  return 0;
oom:
  cli_errorf("out of memory");
  return -1;
}

/* Handle a 200 answer: print the ids (and notes). Returns the number of ids printed or -1
 * when the answer is not what docs/api.md promises. */
static long long print_ids(const http_response *resp, int quiet, long long *duplicates) {
  arena ar;
  arena_init(&ar, 0);
  json_error jerr;
  const json_value *root = parse_json_body(&ar, &resp->body, &jerr);
  const json_value *ids = root && root->type == JSON_OBJECT ? json_get(root, "ids") : NULL;
  if (!ids || ids->type != JSON_ARRAY) {
    cli_errorf("eventd answered 200 but not with the ids of the events: %.200s",
               resp->body.data ? resp->body.data : "");
    arena_free(&ar);
    return -1;
  }
  const json_value *dup = json_get(root, "duplicates");
  int64_t d = 0;
  if (dup) json_as_int64(dup, &d);
  *duplicates += d;
  long long n = 0;
  for (const json_value *id = ids->child; id; id = id->next) {
    if (!quiet && id->type == JSON_STRING) printf("%s\n", id->s);
    n++;
  }
  arena_free(&ar);
  return n;
}

/* Send one event built from the options. */
static int send_one(cli_ctx *ctx, const send_args *a) {
  arena ar;
  arena_init(&ar, 0);
  buf data_text = BUF_INIT, body = BUF_INIT;
  http_client client;
  int client_open = 0;
  http_response resp;
  http_response_init(&resp);
  int status = CLI_EXIT_USAGE;
  const json_value *data = NULL;
  const char *data_src = a->data_text;
  size_t data_len = data_src ? strlen(data_src) : 0;
  if (a->data_file) {
    if (read_input(a->data_file, &data_text) != 0) goto done;
    data_src = data_text.data ? data_text.data : "";
    data_len = data_text.len;
  }
  if (data_src) {
    json_error jerr;
    data = json_parse(&ar, data_src, data_len, JSON_DEFAULT_MAX_DEPTH, &jerr);
    if (!data) {
      status = cli_usage_error("send", "%s is not valid JSON: %s",
                               a->data_file ? "--data-file" : "--data", jerr.message);
      goto done;
    }
    if (data->type != JSON_OBJECT) {
      status = cli_usage_error("send", "%s must be a JSON object, got %s",
                               a->data_file ? "--data-file" : "--data", json_type_name(data->type));
      goto done;
    }
  }
  status = CLI_EXIT_REFUSED;
  if (build_event(a, data, &body) != 0) goto done;
  status = cli_open_client(ctx, CLI_DEFAULT_RETRIES, &client);
  if (status != 0) goto done;
  status = CLI_EXIT_REFUSED;
  client_open = 1;
  char err[512];
  http_retry_policy pol = a->fields[F_ID].value ? HTTP_RETRY_ANY : HTTP_RETRY_UNSENT;
  if (http_request(&client, "POST", "/v1/events", "application/json", body.data, body.len, pol,
                   &resp, err, sizeof err) != 0) {
    cli_errorf("%s", err);
    status = CLI_EXIT_UNREACHABLE;
    goto done;
  }
  if (resp.status != 200) {
    report_http_error("eventd refused the event", &resp, NULL, NULL);
    goto done;
  }
  long long dups = 0;
  if (print_ids(&resp, a->quiet, &dups) < 0) goto done;
  if (dups && !a->quiet)
    fprintf(stderr, "eventctl: eventd already had an event with this id; not stored again\n");
  status = CLI_EXIT_OK;
done:
  if (client_open) http_client_free(&client);
  http_response_free(&resp);
  buf_free(&body);
  buf_free(&data_text);
  arena_free(&ar);
  return status;
}

/* One batch of NDJSON lines on its way out. */
typedef struct batch {
  buf body;
  long long *lines;   /* input line number of each event */
  size_t n, cap;
  int all_have_ids;   /* every event carries "id": safe to repeat */
  const char *path;
} batch;

static void label_line(void *ud, long long index, char *out, size_t outlen) {
  const batch *b = ud;
  if (index >= 0 && (size_t)index < b->n)
    snprintf(out, outlen, "%s:%lld", strcmp(b->path, "-") == 0 ? "stdin" : b->path,
             b->lines[index]);
  else
    snprintf(out, outlen, "event %lld of the batch", index);
}

/* Append line (a JSON object, parsed as obj) to the batch, filling in the fields the
 * options give that it lacks. Returns 0 or -1 (OOM). */
static int batch_add(batch *b, const send_args *a, const char *line, size_t len,
                     const json_value *obj, long long lineno) {
  if (b->n == b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 256;
    long long *nl = realloc(b->lines, ncap * sizeof *nl);
    if (!nl) return -1;
    b->lines = nl;
    b->cap = ncap;
  }
  if (b->n && buf_putc(&b->body, '\n') != 0) return -1;
  if (!json_get(obj, "id")) b->all_have_ids = 0;
  int have_defaults = a->nlabels || a->severity || a->time_rfc3339[0] || a->message;
  for (int i = 0; i < F_COUNT; i++) have_defaults |= a->fields[i].value != NULL;
  if (!have_defaults) {
    if (buf_append(&b->body, line, len) != 0) return -1;
  } else {
    /* the object's own members first, then the defaults it lacks */
    int first = 1;
    const json_value *labels = json_get(obj, "labels");
    if (buf_putc(&b->body, '{') != 0) return -1;
    for (const json_value *m = obj->child; m; m = m->next) {
      if (!first && buf_putc(&b->body, ',') != 0) return -1;
      first = 0;
      if (json_write_string(&b->body, m->key, m->key_len) != 0 || buf_putc(&b->body, ':') != 0)
        return -1;
      if (m == labels && m->type == JSON_OBJECT && a->nlabels) {
        int first_label = 1;
        if (buf_putc(&b->body, '{') != 0) return -1;
        for (const json_value *l = m->child; l; l = l->next) {
          if (!first_label && buf_putc(&b->body, ',') != 0) return -1;
          first_label = 0;
          if (json_write_string(&b->body, l->key, l->key_len) != 0 ||
              buf_putc(&b->body, ':') != 0 || json_write_value(&b->body, l) != 0)
            return -1;
        }
        if (put_option_labels(&b->body, &first_label, a, m) != 0 || buf_putc(&b->body, '}') != 0)
          return -1;
      } else if (json_write_value(&b->body, m) != 0) {
        return -1;
      }
    }
    for (int i = 0; i < F_COUNT; i++) {
      const field_opt *f = &a->fields[i];
      if (f->value && !json_get(obj, f->name) &&
          put_member(&b->body, &first, f->name, f->value, strlen(f->value)) != 0)
        return -1;
    }
    if (a->time_rfc3339[0] && !json_get(obj, "time") &&
        put_member(&b->body, &first, "time", a->time_rfc3339, strlen(a->time_rfc3339)) != 0)
      return -1;
    if (a->severity && !json_get(obj, "severity") && !json_get(obj, "severity_number") &&
        put_severity(&b->body, &first, a->severity) != 0)
      return -1;
    if (a->nlabels && !labels) {
      int first_label = 1;
      if ((!first && buf_putc(&b->body, ',') != 0) || buf_puts(&b->body, "\"labels\":{") != 0)
        return -1;
      first = 0;
      if (put_option_labels(&b->body, &first_label, a, NULL) != 0 ||
          buf_putc(&b->body, '}') != 0)
        return -1;
    }
    if (buf_putc(&b->body, '}') != 0) return -1;
  }
  b->lines[b->n++] = lineno;
  return 0;
}

/* Send the batch; on success print its ids and clear it. Returns CLI_EXIT_OK or the exit
 * status of the failure (reported). */
static int batch_flush(batch *b, http_client *client, const send_args *a, long long *sent,
                       long long *duplicates, long long *batches) {
  if (b->n == 0) return CLI_EXIT_OK;
  http_response resp;
  http_response_init(&resp);
  char err[512];
  int status = CLI_EXIT_OK;
  http_retry_policy pol = b->all_have_ids ? HTTP_RETRY_ANY : HTTP_RETRY_UNSENT;
  const char *src = strcmp(b->path, "-") == 0 ? "stdin" : b->path;
  if (http_request(client, "POST", "/v1/events", "application/x-ndjson", b->body.data, b->body.len,
                   pol, &resp, err, sizeof err) != 0) {
    cli_errorf("%s", err);
    status = CLI_EXIT_UNREACHABLE;
  } else if (resp.status != 200) {
    char what[160];
    snprintf(what, sizeof what, "eventd refused the batch of %s lines %lld-%lld", src,
             b->lines[0], b->lines[b->n - 1]);
    report_http_error(what, &resp, label_line, b);
    status = CLI_EXIT_REFUSED;
  } else {
    long long n = print_ids(&resp, a->quiet, duplicates);
    if (n < 0) {
      status = CLI_EXIT_REFUSED;
    } else {
      *sent += n;
      (*batches)++;
    }
  }
  if (status == CLI_EXIT_REFUSED)
    fprintf(stderr,
            "eventctl: %lld events before %s:%lld were stored; that batch and the lines after "
            "it were not\n",
            *sent, src, b->lines[0]);
  else if (status == CLI_EXIT_UNREACHABLE)
    fprintf(stderr,
            "eventctl: %lld events before %s:%lld were stored; the batch of lines %lld-%lld may "
            "or may not have been; the lines after it were not sent\n",
            *sent, src, b->lines[0], b->lines[0], b->lines[b->n - 1]);
  fflush(stdout);
  http_response_free(&resp);
  buf_clear(&b->body);
  b->n = 0;
  b->all_have_ids = 1;
  return status;
}

/* Send the events of an NDJSON file in batches. */
static int send_ndjson(cli_ctx *ctx, const send_args *a) {
  FILE *in = strcmp(a->ndjson, "-") == 0 ? stdin : fopen(a->ndjson, "rb");
  if (!in) {
    cli_errorf("cannot open '%s': %s", a->ndjson, strerror(errno));
    return CLI_EXIT_USAGE;
  }
  http_client client;
  int open_status = cli_open_client(ctx, CLI_DEFAULT_RETRIES, &client);
  if (open_status != 0) {
    if (in != stdin) fclose(in);
    return open_status;
  }
  const char *src = strcmp(a->ndjson, "-") == 0 ? "stdin" : a->ndjson;
  batch b = {.body = BUF_INIT, .all_have_ids = 1, .path = a->ndjson};
  arena ar;
  arena_init(&ar, 0);
  char *line = NULL;
  size_t linecap = 0;
  ssize_t len;
  long long lineno = 0, sent = 0, duplicates = 0, batches = 0;
  int status = CLI_EXIT_OK;
  errno = 0;
  while ((len = getline(&line, &linecap, in)) >= 0) {
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
    size_t start = strspn(line, " \t");
    if ((size_t)len <= start) continue; /* blank line */
    json_error jerr;
    const json_value *obj = json_parse(&ar, line, (size_t)len, JSON_DEFAULT_MAX_DEPTH, &jerr);
    if (!obj || obj->type != JSON_OBJECT) {
      if (!obj)
        cli_errorf("%s:%lld: not valid JSON: %s", src, lineno, jerr.message);
      else
        cli_errorf("%s:%lld: expected a JSON object, got %s", src, lineno,
                   json_type_name(obj->type));
      if (sent)
        fprintf(stderr, "eventctl: the %lld events before it were stored; the rest were not sent\n",
                sent);
      else
        fprintf(stderr, "eventctl: nothing was sent\n");
      status = CLI_EXIT_USAGE;
      break;
    }
    /* cut the batch before this line if it would grow past the byte budget */
    if (b.n && b.body.len + (size_t)len + 1 > SEND_BATCH_MAX_BYTES) {
      status = batch_flush(&b, &client, a, &sent, &duplicates, &batches);
      if (status != CLI_EXIT_OK) break;
      arena_reset(&ar);
      obj = json_parse(&ar, line, (size_t)len, JSON_DEFAULT_MAX_DEPTH, &jerr);
      if (!obj) {
        cli_errorf("out of memory");
        status = CLI_EXIT_REFUSED;
        break;
      }
    }
    if (batch_add(&b, a, line, (size_t)len, obj, lineno) != 0) {
      cli_errorf("out of memory");
      status = CLI_EXIT_REFUSED;
      break;
    }
    if ((long long)b.n >= a->batch_size) {
      status = batch_flush(&b, &client, a, &sent, &duplicates, &batches);
      if (status != CLI_EXIT_OK) break;
      arena_reset(&ar);
    }
  }
  if (status == CLI_EXIT_OK && ferror(in)) {
    cli_errorf("cannot read '%s': %s", src, strerror(errno));
    status = CLI_EXIT_USAGE;
  }
  if (status == CLI_EXIT_OK) status = batch_flush(&b, &client, a, &sent, &duplicates, &batches);
  if (status == CLI_EXIT_OK && !a->quiet)
    fprintf(stderr, "eventctl: sent %lld events in %lld requests (%lld already stored)\n", sent,
            batches, duplicates);
  free(line);
  free(b.lines);
  buf_free(&b.body);
  arena_free(&ar);
  http_client_free(&client);
  if (in != stdin) fclose(in);
  return status;
}

static int run_send(cli_ctx *ctx, int argc, char **argv) {
  static const struct option longopts[] = {
      CLI_COMMON_LONG_OPTIONS,
      {"type", required_argument, NULL, OPT_TYPE},
      {"stream", required_argument, NULL, OPT_STREAM},
      {"tag", required_argument, NULL, OPT_TAG},
      {"source", required_argument, NULL, OPT_SOURCE},
      {"severity", required_argument, NULL, OPT_SEVERITY},
      {"label", required_argument, NULL, OPT_LABEL},
      {"data", required_argument, NULL, OPT_DATA},
      {"data-file", required_argument, NULL, OPT_DATA_FILE},
      {"time", required_argument, NULL, OPT_TIME},
      {"id", required_argument, NULL, OPT_ID},
      {"key", required_argument, NULL, OPT_KEY},
      {"tenant", required_argument, NULL, OPT_TENANT},
      {"correlation-id", required_argument, NULL, OPT_CORRELATION_ID},
      {"state", required_argument, NULL, OPT_STATE},
      {"trace-id", required_argument, NULL, OPT_TRACE_ID},
      {"span-id", required_argument, NULL, OPT_SPAN_ID},
      {"ndjson", required_argument, NULL, OPT_NDJSON},
      {"batch-size", required_argument, NULL, OPT_BATCH_SIZE},
      {"quiet", no_argument, NULL, OPT_QUIET},
      {NULL, 0, NULL, 0},
  };
  send_args a;
  send_args_init(&a);
  const char *time_arg = NULL;
  int opt;
  while ((opt = cli_getopt(argc, argv, ":hq", longopts, "send")) != -1) {
    if (opt == CLI_OPT_BAD) return CLI_EXIT_USAGE;
    int r = cli_common_option(ctx, &cli_cmd_send, opt, optarg);
    if (r >= CLI_COMMON_EXIT) return r - CLI_COMMON_EXIT;
    if (r == 0) continue;
    int field = -1;
    switch (opt) {
      case OPT_TYPE: field = F_TYPE; break;
      case OPT_STREAM: field = F_STREAM; break;
      case OPT_TAG: field = F_TAG; break;
      case OPT_SOURCE: field = F_SOURCE; break;
      case OPT_ID: field = F_ID; break;
      case OPT_KEY: field = F_KEY; break;
      case OPT_TENANT: field = F_TENANT; break;
      case OPT_CORRELATION_ID: field = F_CORRELATION_ID; break;
      case OPT_STATE: field = F_STATE; break;
      case OPT_TRACE_ID: field = F_TRACE_ID; break;
      case OPT_SPAN_ID: field = F_SPAN_ID; break;
      case OPT_SEVERITY: a.severity = optarg; break;
      case OPT_DATA: a.data_text = optarg; break;
      case OPT_DATA_FILE: a.data_file = optarg; break;
      case OPT_TIME: time_arg = optarg; break;
      case OPT_NDJSON: a.ndjson = optarg; break;
      case OPT_QUIET:
      case 'q': a.quiet = 1; break;
      case OPT_BATCH_SIZE:
        if (cli_parse_count(optarg, 100000, &a.batch_size) != 0 || a.batch_size == 0)
          return cli_usage_error("send", "--batch-size expects 1 to 100000, got '%s'", optarg);
        break;
      case OPT_LABEL: {
        size_t k = strcspn(optarg, "=:");
        if (k == 0 || optarg[k] == '\0')
          return cli_usage_error("send", "--label expects KEY=VALUE, got '%s'", optarg);
        for (size_t i = 0; i < a.nlabels; i++)
          if (a.key_len[i] == k && memcmp(a.labels[i], optarg, k) == 0)
            return cli_usage_error("send", "label '%.*s' given twice", (int)k, optarg);
        if (a.nlabels == SEND_MAX_LABELS)
          return cli_usage_error("send", "too many labels (at most %d)", SEND_MAX_LABELS);
        a.labels[a.nlabels] = optarg;
        a.key_len[a.nlabels] = k;
        a.nlabels++;
        break;
      }
      default:
        return cli_usage_error("send", "unexpected option");
    }
    if (field >= 0) a.fields[field].value = optarg;
  }
  int npos = argc - optind;
  if (time_arg) {
    int64_t t;
    if (time_parse_user(time_arg, time_now_ns(), &t) != 0)
      return cli_usage_error("send",
                             "--time expects RFC 3339, an epoch number, 'now' or '-5m', got '%s'",
                             time_arg);
    time_format_rfc3339(t, a.time_rfc3339);
  }
  if (a.data_text && a.data_file)
    return cli_usage_error("send", "give --data or --data-file, not both");
  if (a.ndjson) {
    if (npos > 0)
      return cli_usage_error("send", "MESSAGE cannot be combined with --ndjson (got '%s')",
                             argv[optind]);
    if (a.fields[F_ID].value)
      return cli_usage_error("send", "--id cannot be used with --ndjson: put \"id\" in each line");
    if (a.data_text || a.data_file)
      return cli_usage_error("send", "--data cannot be used with --ndjson");
    return send_ndjson(ctx, &a);
  }
  if (npos == 0) return cli_usage_error("send", "MESSAGE is missing");
  if (npos > 1)
    return cli_usage_error("send", "one MESSAGE expected, got %d arguments ('%s', '%s'...); quote it",
                           npos, argv[optind], argv[optind + 1]);
  a.message = argv[optind];
  if (!a.fields[F_TYPE].value) return cli_usage_error("send", "--type is required");
  return send_one(ctx, &a);
}

const cli_command cli_cmd_send = {
    .name = "send",
    .summary = "send an event (or many, from NDJSON); prints the id",
    .help = send_help,
    .run = run_send,
};
