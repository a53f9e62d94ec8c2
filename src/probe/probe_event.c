/* probe_event: the probe's event, its members, and its two JSON shapes (see probe_event.h). */
#include "probe/probe_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/timeutil.h"

/* Copy a constant into a fixed array, truncating (callers pass short constants). */
static void copy_fixed(char *dst, size_t cap, const char *src) {
  size_t n = src ? strlen(src) : 0;
  if (n >= cap) n = cap - 1;
  if (n) memcpy(dst, src, n);
  dst[n] = '\0';
}

/* Zero ev and set its identity. */
void probe_event_init(probe_event *ev, const char *type, int severity, const char *rule, const char *source) {
  memset(ev, 0, sizeof *ev);
  copy_fixed(ev->type, sizeof ev->type, type);
  copy_fixed(ev->rule, sizeof ev->rule, rule);
  copy_fixed(ev->source, sizeof ev->source, source);
  ev->severity = severity;
}

/* Free every owned string; the event is left zeroed. */
void probe_event_free(probe_event *ev) {
  for (int i = 0; i < ev->nfields; i++) free(ev->fields[i].s);
  free(ev->message);
  free(ev->id);
  memset(ev, 0, sizeof *ev);
}

/* Move: a plain struct copy transfers ownership of the pointers. */
void probe_event_move(probe_event *dst, probe_event *src) {
  *dst = *src;
  memset(src, 0, sizeof *src);
}

/* The slot for key: the existing member (its string freed) or a new one; NULL when full. */
static probe_field *slot(probe_event *ev, const char *key) {
  for (int i = 0; i < ev->nfields; i++) {
    if (strcmp(ev->fields[i].key, key) == 0) {
      free(ev->fields[i].s);
      memset(&ev->fields[i], 0, sizeof ev->fields[i]);
      ev->fields[i].key = key;
      return &ev->fields[i];
    }
  }
  if (ev->nfields >= PROBE_MAX_FIELDS) return NULL;
  probe_field *f = &ev->fields[ev->nfields++];
  memset(f, 0, sizeof *f);
  f->key = key;
  return f;
}

int probe_event_set_int(probe_event *ev, const char *key, int64_t v) {
  probe_field *f = slot(ev, key);
  if (!f) return -1;
  f->kind = PF_INT;
  f->i = v;
  return 0;
}

int probe_event_set_uint(probe_event *ev, const char *key, uint64_t v) {
  probe_field *f = slot(ev, key);
  if (!f) return -1;
  f->kind = PF_UINT;
  f->u = v;
  return 0;
}

int probe_event_set_double(probe_event *ev, const char *key, double v) {
  probe_field *f = slot(ev, key);
  if (!f) return -1;
  f->kind = PF_DOUBLE;
  f->d = v;
  return 0;
}

int probe_event_set_bool(probe_event *ev, const char *key, int v) {
  probe_field *f = slot(ev, key);
  if (!f) return -1;
  f->kind = PF_BOOL;
  f->i = v ? 1 : 0;
  return 0;
}

int probe_event_set_null(probe_event *ev, const char *key) {
  probe_field *f = slot(ev, key);
  if (!f) return -1;
  f->kind = PF_NULL;
  return 0;
}

int probe_event_set_str(probe_event *ev, const char *key, const char *s, size_t n) {
  char *copy = malloc(n + 1);
  if (!copy) return -1;
  memcpy(copy, s, n);
  copy[n] = '\0';
  probe_field *f = slot(ev, key);
  if (!f) {
    free(copy);
    return -1;
  }
  f->kind = PF_STR;
  f->s = copy;
  f->n = n;
  return 0;
}

int probe_event_set_cstr(probe_event *ev, const char *key, const char *s) {
  if (!s) return probe_event_set_null(ev, key);
  return probe_event_set_str(ev, key, s, strlen(s));
}

const probe_field *probe_event_get(const probe_event *ev, const char *key) {
  for (int i = 0; i < ev->nfields; i++)
    if (strcmp(ev->fields[i].key, key) == 0) return &ev->fields[i];
  return NULL;
}

/* Replace an owned string pointer with a copy of s[0..n). */
static int replace_owned(char **dst, const char *s, size_t n) {
  char *copy = malloc(n + 1);
  if (!copy) return -1;
  memcpy(copy, s, n);
  copy[n] = '\0';
  free(*dst);
  *dst = copy;
  return 0;
}

int probe_event_set_message(probe_event *ev, const char *s, size_t n) { return replace_owned(&ev->message, s, n); }

int probe_event_set_id(probe_event *ev, const char *s) { return replace_owned(&ev->id, s, strlen(s)); }

const char *probe_severity_name(int severity) {
  if (severity >= PROBE_SEV_FATAL) return "FATAL";
  if (severity >= PROBE_SEV_ERROR) return "ERROR";
  if (severity >= PROBE_SEV_WARN) return "WARN";
  return "INFO";
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not valid (overlongs,
 * surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t len;
  unsigned cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return len;
}

int probe_utf8_repair(buf *out, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    size_t len = utf8_seq_len(p + i, n - i);
    int rc;
    if (len == 0) {
      rc = buf_puts(out, "\xEF\xBF\xBD");
      i++;
    } else {
      rc = buf_append(out, p + i, len);
      i += len;
    }
    if (rc < 0) return -1;
  }
  return 0;
}

int probe_json_string(buf *out, const char *s, size_t n) {
  if (buf_putc(out, '"') < 0) return -1;
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    int rc;
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      rc = buf_append(out, esc, 2);
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      switch (c) {
        case '\n': rc = buf_puts(out, "\\n"); break;
        case '\t': rc = buf_puts(out, "\\t"); break;
        case '\r': rc = buf_puts(out, "\\r"); break;
        default: rc = buf_printf(out, "\\u%04x", c); break;
      }
      i++;
    } else if (c < 0x80) {
      rc = buf_putc(out, (char)c);
      i++;
    } else {
      size_t len = utf8_seq_len(p + i, n - i);
      if (len == 0) {
        rc = buf_puts(out, "\xEF\xBF\xBD"); /* U+FFFD */
        i++;
      } else {
        rc = buf_append(out, p + i, len);
        i += len;
      }
    }
    if (rc < 0) return -1;
  }
  return buf_putc(out, '"');
}

static int put_cstr(buf *out, const char *s) { return probe_json_string(out, s, strlen(s)); }

/* Append one member value. */
static int write_field_value(buf *out, const probe_field *f) {
  switch (f->kind) {
    case PF_NULL: return buf_puts(out, "null");
    case PF_INT: return buf_printf(out, "%lld", (long long)f->i);
    case PF_UINT: return buf_printf(out, "%llu", (unsigned long long)f->u);
    case PF_DOUBLE: return buf_printf(out, "%.3f", f->d);
    case PF_BOOL: return buf_puts(out, f->i ? "true" : "false");
    case PF_STR: return probe_json_string(out, f->s, f->n);
  }
  return -1;
}

static int64_t event_time(const probe_event *ev) { return ev->time_ns ? ev->time_ns : time_now_ns(); }

int probe_event_write_eventd(const probe_event *ev, const probe_host *h, buf *out) {
  char when[TIME_RFC3339_LEN + 1];
  time_format_rfc3339(event_time(ev), when);
  int rc = 0;
  rc |= buf_putc(out, '{');
  if (ev->id) {
    rc |= buf_puts(out, "\"id\":");
    rc |= put_cstr(out, ev->id);
    rc |= buf_putc(out, ',');
  }
  rc |= buf_printf(out, "\"time\":\"%s\",\"stream\":\"host\",\"type\":", when);
  rc |= put_cstr(out, ev->type);
  rc |= buf_printf(out, ",\"severity\":\"%s\",\"source\":", probe_severity_name(ev->severity));
  rc |= put_cstr(out, h->name[0] ? h->name : "localhost");
  if (ev->message && ev->message[0]) {
    rc |= buf_puts(out, ",\"message\":");
    rc |= put_cstr(out, ev->message);
  }
  rc |= buf_puts(out, ",\"labels\":{\"rule\":");
  rc |= put_cstr(out, ev->rule);
  rc |= buf_puts(out, ",\"probe_source\":");
  rc |= put_cstr(out, ev->source);
  rc |= buf_puts(out, "},\"resource\":{\"host.name\":");
  rc |= put_cstr(out, h->name);
  rc |= buf_puts(out, ",\"host.id\":");
  rc |= put_cstr(out, h->id);
  rc |= buf_puts(out, ",\"os.type\":\"linux\",\"os.kernel.release\":");
  rc |= put_cstr(out, h->kernel);
  rc |= buf_puts(out, "},\"data\":{");
  for (int i = 0; i < ev->nfields; i++) {
    if (i) rc |= buf_putc(out, ',');
    rc |= put_cstr(out, ev->fields[i].key);
    rc |= buf_putc(out, ':');
    rc |= write_field_value(out, &ev->fields[i]);
  }
  rc |= buf_puts(out, "}}");
  return rc ? -1 : 0;
}

/* The entity of an event in gala-gopher's terms: a process (entity name "proc", id the pid)
 * when the event names a pid, else the host ("host", id the host name). */
static void gala_entity(const probe_event *ev, const probe_host *h, const char **name, char *id, size_t cap) {
  const probe_field *pid = probe_event_get(ev, "pid");
  if (pid && pid->kind == PF_INT) {
    *name = "proc";
    snprintf(id, cap, "%lld", (long long)pid->i);
  } else {
    *name = "host";
    snprintf(id, cap, "%.100s", h->name);
  }
  for (char *p = id; *p; p++)
    if (*p == '/') *p = ':'; /* gala-gopher's transfer_entityId */
}

/* A label value from a member (string or integer), "" when absent. */
static void gala_label(const probe_event *ev, const char *key, char *out, size_t cap) {
  const probe_field *f = probe_event_get(ev, key);
  out[0] = '\0';
  if (!f) return;
  if (f->kind == PF_STR) snprintf(out, cap, "%s", f->s);
  else if (f->kind == PF_INT) snprintf(out, cap, "%lld", (long long)f->i);
}

int probe_event_write_gala(const probe_event *ev, const probe_host *h, buf *out) {
  int64_t ns = event_time(ev);
  long long ms = (long long)(ns / NS_PER_MS);
  const char *ename;
  char oid[128], entity[512], event_id[600], metric[128], pid[32], comm[64];
  gala_entity(ev, h, &ename, oid, sizeof oid);
  /* entity_id: <machine_id>-<host_ip>_<entity_name>_<orig_entity_id> */
  snprintf(entity, sizeof entity, "%s-%s_%s_%s", h->id, h->ip, ename, oid);
  snprintf(event_id, sizeof event_id, "%lld_%s", ms, entity);
  /* metric: gala_gopher_<entity_name>_<metric>; the type's dots become underscores */
  snprintf(metric, sizeof metric, "gala_gopher_%s_%s", ename, ev->type);
  for (char *p = metric; *p; p++)
    if (*p == '.') *p = '_';
  gala_label(ev, "pid", pid, sizeof pid);
  gala_label(ev, "comm", comm, sizeof comm);

  /* Body: "<asctime> <SEVERITY> Entity(<entity_id>) <text>" as report_logs() writes it. */
  char when[64];
  time_t secs = (time_t)(ns / NS_PER_SEC);
  struct tm tm;
  localtime_r(&secs, &tm);
  if (strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y", &tm) == 0) when[0] = '\0';
  buf body = BUF_INIT;
  int rc = buf_printf(&body, "%s %s Entity(%s) %s", when, probe_severity_name(ev->severity), entity,
                      ev->message ? ev->message : ev->type);

  char host_label[200];
  snprintf(host_label, sizeof host_label, "%s-%s", h->id, h->ip);
  rc |= buf_printf(out, "{\"Timestamp\":%lld,\"event_id\":", ms);
  rc |= put_cstr(out, event_id);
  rc |= buf_puts(out, ",\"Attributes\":{\"entity_id\":");
  rc |= put_cstr(out, entity);
  rc |= buf_puts(out, ",\"event_id\":");
  rc |= put_cstr(out, event_id);
  rc |= buf_puts(out, ",\"event_type\":\"sys\"},\"Resource\":{\"metric\":");
  rc |= put_cstr(out, metric);
  rc |= buf_puts(out, ",\"labels\":{\"Host\":");
  rc |= put_cstr(out, host_label);
  rc |= buf_puts(out, ",\"PID\":");
  rc |= put_cstr(out, pid);
  rc |= buf_puts(out, ",\"COMM\":");
  rc |= put_cstr(out, comm);
  rc |= buf_puts(out, ",\"IP\":\"\",\"ContainerID\":\"\",\"POD\":\"\",\"Device\":\"\"}},\"SeverityText\":");
  rc |= put_cstr(out, probe_severity_name(ev->severity));
  rc |= buf_printf(out, ",\"SeverityNumber\":%d,\"Body\":", ev->severity);
  rc |= body.data ? probe_json_string(out, body.data, body.len) : buf_puts(out, "\"\"");
  rc |= buf_putc(out, '}');
  buf_free(&body);
  return rc ? -1 : 0;
}
