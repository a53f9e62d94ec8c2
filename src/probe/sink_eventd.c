/* sink_eventd: events to eventd through libeventd (include/eventd/eventd.h).
 *
 * Each probe event becomes one evd_event with its own id (deterministic for kernel records,
 * so a record read again after a crash is stored once), time, stream "host", source (the host
 * name), severity, message, labels {rule, probe_source}, resource {host.name, host.id,
 * os.type, os.kernel.release} and data. The client runs with a disk spool in write-ahead mode
 * when a spool directory is given (<state-dir>/spool), so a down eventd loses nothing; flush()
 * is evd_client_flush: everything emitted is acknowledged or on disk.
 *
 * Compiled against libeventd only when the build has it (EVD_PROBE_HAVE_LIBEVENTD); otherwise
 * probe_sink_eventd_open says so and the caller falls back to sink_http.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/sink.h"

#ifndef EVD_PROBE_HAVE_LIBEVENTD

probe_sink *probe_sink_eventd_open(const char *url, const char *spool_dir, const probe_host *host, char *err,
                                   size_t errcap) {
  (void)url, (void)spool_dir, (void)host;
  snprintf(err, errcap, "built without libeventd");
  return NULL;
}

#else

#include <errno.h>

#include "core/buf.h"
#include "eventd/eventd.h"

typedef struct eventd_sink {
  probe_sink base;
  evd_client *client;
  buf scratch;
} eventd_sink;

/* The event's data object as JSON: the "data" member of the eventd form. */
static int data_json(const probe_event *ev, buf *out) {
  buf_clear(out);
  int rc = buf_putc(out, '{');
  for (int i = 0; i < ev->nfields; i++) {
    const probe_field *f = &ev->fields[i];
    if (i) rc |= buf_putc(out, ',');
    rc |= probe_json_string(out, f->key, strlen(f->key));
    rc |= buf_putc(out, ':');
    switch (f->kind) {
      case PF_NULL: rc |= buf_puts(out, "null"); break;
      case PF_INT: rc |= buf_printf(out, "%lld", (long long)f->i); break;
      case PF_UINT: rc |= buf_printf(out, "%llu", (unsigned long long)f->u); break;
      case PF_DOUBLE: rc |= buf_printf(out, "%.3f", f->d); break;
      case PF_BOOL: rc |= buf_puts(out, f->i ? "true" : "false"); break;
      case PF_STR: rc |= probe_json_string(out, f->s, f->n); break;
    }
  }
  rc |= buf_putc(out, '}');
  return rc ? -1 : 0;
}

/* A malloc'd copy of s with invalid UTF-8 replaced (libeventd refuses invalid UTF-8). */
static char *utf8_clean(const char *s) {
  buf out = BUF_INIT;
  if (probe_utf8_repair(&out, s, strlen(s)) < 0 || buf_putc(&out, '\0') < 0) {
    buf_free(&out);
    return NULL;
  }
  return buf_steal(&out);
}

static int eventd_send(probe_sink *s, const probe_event *ev, char *err, size_t errcap) {
  eventd_sink *e = (eventd_sink *)s;
  evd_event *x = evd_event_new(ev->type);
  if (!x) {
    snprintf(err, errcap, "evd_event_new(%s): %s", ev->type, strerror(errno));
    return -1;
  }
  const probe_host *h = s->host;
  int rc = 0;
  if (ev->id) rc |= evd_event_set_id(x, ev->id);
  if (ev->time_ns) rc |= evd_event_set_time(x, ev->time_ns);
  rc |= evd_event_set_stream(x, "host");
  rc |= evd_event_set_source(x, h->name[0] ? h->name : "localhost");
  rc |= evd_event_set_severity(x, ev->severity);
  if (ev->message && ev->message[0]) {
    char *clean = utf8_clean(ev->message);
    if (!clean) rc = -1;
    else rc |= evd_event_set_message(x, clean);
    free(clean);
  }
  rc |= evd_event_set_label(x, "rule", ev->rule);
  rc |= evd_event_set_label(x, "probe_source", ev->source);
  rc |= evd_event_set_resource_string(x, "host.name", h->name);
  rc |= evd_event_set_resource_string(x, "host.id", h->id);
  rc |= evd_event_set_resource_string(x, "os.type", "linux");
  rc |= evd_event_set_resource_string(x, "os.kernel.release", h->kernel);
  if (data_json(ev, &e->scratch) < 0) rc = -1;
  else rc |= evd_event_set_data_json(x, e->scratch.data);
  if (rc != 0) {
    const char *why = evd_event_error(x);
    snprintf(err, errcap, "event %s refused by libeventd: %s", ev->type, why ? why : strerror(errno));
    evd_event_free(x);
    return -1;
  }
  if (evd_emit(e->client, x) < 0) {
    snprintf(err, errcap, "evd_emit(%s): %s", ev->type, strerror(errno));
    return -1;
  }
  return 0;
}

static int eventd_flush(probe_sink *s, int timeout_ms, char *err, size_t errcap) {
  eventd_sink *e = (eventd_sink *)s;
  if (evd_client_flush(e->client, timeout_ms) == 0) return 0;
  evd_stats st;
  if (evd_client_stats(e->client, &st) == 0 && st.last_error[0])
    snprintf(err, errcap, "eventd not reached within %d ms: %s", timeout_ms, st.last_error);
  else
    snprintf(err, errcap, "eventd flush: %s", strerror(errno));
  return -1;
}

static uint64_t eventd_close(probe_sink *s, int timeout_ms) {
  eventd_sink *e = (eventd_sink *)s;
  uint64_t left = evd_client_close(e->client, timeout_ms);
  buf_free(&e->scratch);
  free(e);
  return left;
}

probe_sink *probe_sink_eventd_open(const char *url, const char *spool_dir, const probe_host *host, char *err,
                                   size_t errcap) {
  eventd_sink *e = calloc(1, sizeof *e);
  if (!e) {
    snprintf(err, errcap, "out of memory");
    return NULL;
  }
  evd_options o;
  evd_options_init(&o);
  o.url = url;
  o.spool_dir = spool_dir;
  o.stream = "host";
  o.program = "eventd-probe";
  o.batch_interval_ms = 50;
  if (spool_dir) o.spool_mode = EVD_SPOOL_ALWAYS;
  char why[256] = "";
  e->client = evd_client_open_err(&o, why, sizeof why);
  if (!e->client) {
    snprintf(err, errcap, "libeventd: %s", why[0] ? why : strerror(errno));
    free(e);
    return NULL;
  }
  e->base.kind = "eventd";
  e->base.send = eventd_send;
  e->base.flush = eventd_flush;
  e->base.close = eventd_close;
  e->base.host = host;
  buf_init(&e->scratch);
  return &e->base;
}

#endif
