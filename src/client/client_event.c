/* client_event.c — evd_event: building an event with eventd's rules, and encoding it as one
 * NDJSON line.
 *
 * Every setter checks the value against the rule eventd applies at ingest (docs/event.md), so
 * an event that leaves the application is one eventd accepts (a registry schema can still
 * refuse `data`; the worker counts such events as `rejected`). Values are copied; a failed
 * setter leaves the field as it was and records why (evd_event_error).
 *
 * The encoding is compact JSON with members in eventd's canonical order; `time` is written
 * as RFC 3339 UTC with 9 fraction digits (exact, and unambiguous for any time >= 1970),
 * `severity` as its number. `data` and `resource` members are kept as (decoded key, JSON
 * value text) pairs so that key/value setters can refuse duplicates. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client_internal.h"

/* ---- errors ------------------------------------------------------------------------------- */

/* Record "field: reason" as ev's error, set errno, return -1. */
static int ev_fail(evd_event *ev, int err, const char *field, const char *reason) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", field, reason);
  char *m = strdup(msg);
  if (m) {
    free(ev->error);
    ev->error = m;
  }
  errno = err;
  return -1;
}

/* ev_fail for a member "list.key" (the name is only formatted on failure). */
static int ev_fail_kv(evd_event *ev, int err, const char *list, const char *key,
                      const char *reason) {
  char field[300];
  snprintf(field, sizeof field, "%s.%.256s", list, key);
  return ev_fail(ev, err, field, reason);
}

const char *evd_event_error(const evd_event *ev) { return ev ? ev->error : NULL; }

/* ---- rules -------------------------------------------------------------------------------- */

static int name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.' || c == ':' || c == '/' || c == '@' || c == '-';
}

const char *evc_check_name(const char *s, size_t n) {
  if (n == 0) return "must not be empty";
  if (n > EVC_NAME_MAX) return "exceeds 256 bytes (limits.name_max)";
  for (size_t i = 0; i < n; i++)
    if (!name_char((unsigned char)s[i])) return "may contain only A-Z a-z 0-9 _ . : / @ -";
  if (s[0] == '.' || s[n - 1] == '.') return "must not start or end with '.'";
  if (memmem(s, n, "..", 2) != NULL) return "must not contain '..'";
  return NULL;
}

static const char *check_id(const char *s, size_t n) {
  if (n == 0) return "must not be empty";
  if (n > EVC_VALUE_MAX) return "exceeds 4096 bytes (limits.value_max)";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x21 || c > 0x7e) return "must be printable ASCII without spaces";
  }
  return NULL;
}

static const char *check_key(const char *s, size_t n) {
  if (n == 0) return "must not be empty";
  if (n > EVC_KEY_MAX) return "exceeds 255 bytes";
  if (!evc_utf8_valid(s, n)) return "invalid UTF-8";
  size_t w = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == '.') {
      if (i - w == 1 && (s[w] == '*' || s[w] == '#')) return "a word must not be '*' or '#'";
      w = i + 1;
      continue;
    }
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c == 0x7f) return "must not contain whitespace or control characters";
  }
  return NULL;
}

static const char *check_text(const char *s, size_t n, size_t max, const char *maxmsg) {
  if (n > max) return maxmsg;
  if (!evc_utf8_valid(s, n)) return "invalid UTF-8";
  return NULL;
}

static const char *check_hex(const char *s, size_t n, size_t want) {
  if (n != want) return want == 32 ? "must be 32 hex digits" : "must be 16 hex digits";
  int nonzero = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return want == 32 ? "must be 32 hex digits" : "must be 16 hex digits";
    if (c != '0') nonzero = 1;
  }
  return nonzero ? NULL : "must not be all zero";
}

static const char *check_label_key(const char *s, size_t n) {
  if (n == 0) return "must not be empty";
  if (n > EVC_NAME_MAX) return "exceeds 256 bytes (limits.name_max)";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '.' || c == '-'))
      return "may contain only A-Z a-z 0-9 _ . -";
  }
  return NULL;
}

/* ---- construction ----------------------------------------------------------------------- */

evd_event *evd_event_new(const char *type) {
  if (type == NULL) {
    errno = EINVAL;
    return NULL;
  }
  size_t n = strlen(type);
  if (evc_check_name(type, n) != NULL) {
    errno = EINVAL;
    return NULL;
  }
  evd_event *ev = calloc(1, sizeof *ev);
  if (ev == NULL) return NULL;
  ev->f[EVC_F_TYPE] = malloc(n + 1);
  if (ev->f[EVC_F_TYPE] == NULL) {
    free(ev);
    errno = ENOMEM;
    return NULL;
  }
  memcpy(ev->f[EVC_F_TYPE], type, n + 1);
  evc_ulid_next(ev->idbuf);
  return ev;
}

static void kvlist_free(evc_kvlist *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i].key);
    free(l->v[i].val);
  }
  free(l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

void evd_event_free(evd_event *ev) {
  if (ev == NULL) return;
  for (int i = 0; i < EVC_F_COUNT; i++) free(ev->f[i]);
  kvlist_free(&ev->labels);
  kvlist_free(&ev->data);
  kvlist_free(&ev->resource);
  free(ev->error);
  free(ev);
}

const char *evd_event_id(const evd_event *ev) {
  if (ev == NULL) return NULL;
  return ev->f[EVC_F_ID] ? ev->f[EVC_F_ID] : ev->idbuf;
}

/* Replace field f by a copy of v (NULL or, when empty_is_absent, "" unsets it). */
static int set_field(evd_event *ev, int f, const char *v, int empty_is_absent) {
  if (v == NULL || (empty_is_absent && v[0] == '\0')) {
    free(ev->f[f]);
    ev->f[f] = NULL;
    return 0;
  }
  char *c = strdup(v);
  if (c == NULL) return ev_fail(ev, ENOMEM, "event", "out of memory");
  free(ev->f[f]);
  ev->f[f] = c;
  return 0;
}

#define CHECKED(ev, field, reason)                          \
  do {                                                      \
    const char *r_ = (reason);                              \
    if (r_ != NULL) return ev_fail((ev), EINVAL, field, r_); \
  } while (0)

#define NEED_EV(ev)      \
  do {                   \
    if ((ev) == NULL) {  \
      errno = EINVAL;    \
      return -1;         \
    }                    \
  } while (0)

int evd_event_set_type(evd_event *ev, const char *v) {
  NEED_EV(ev);
  if (v == NULL) return ev_fail(ev, EINVAL, "type", "required");
  CHECKED(ev, "type", evc_check_name(v, strlen(v)));
  return set_field(ev, EVC_F_TYPE, v, 0);
}

int evd_event_set_id(evd_event *ev, const char *v) {
  NEED_EV(ev);
  if (v) CHECKED(ev, "id", check_id(v, strlen(v)));
  return set_field(ev, EVC_F_ID, v, 0);
}

int evd_event_set_tenant(evd_event *ev, const char *v) {
  NEED_EV(ev);
  if (v) CHECKED(ev, "tenant", evc_check_name(v, strlen(v)));
  return set_field(ev, EVC_F_TENANT, v, 0);
}

int evd_event_set_stream(evd_event *ev, const char *v) {
  NEED_EV(ev);
  if (v) CHECKED(ev, "stream", evc_check_name(v, strlen(v)));
  return set_field(ev, EVC_F_STREAM, v, 0);
}

int evd_event_set_key(evd_event *ev, const char *v) {
  NEED_EV(ev);
  if (v) CHECKED(ev, "key", check_key(v, strlen(v)));
  return set_field(ev, EVC_F_KEY, v, 0);
}

static int set_text(evd_event *ev, int f, const char *field, const char *v) {
  NEED_EV(ev);
  if (v) CHECKED(ev, field, check_text(v, strlen(v), EVC_VALUE_MAX,
                                      "exceeds 4096 bytes (limits.value_max)"));
  return set_field(ev, f, v, 1);
}

int evd_event_set_tag(evd_event *ev, const char *v) { return set_text(ev, EVC_F_TAG, "tag", v); }
int evd_event_set_source(evd_event *ev, const char *v) {
  return set_text(ev, EVC_F_SOURCE, "source", v);
}
int evd_event_set_correlation_id(evd_event *ev, const char *v) {
  return set_text(ev, EVC_F_CORRELATION_ID, "correlation_id", v);
}
int evd_event_set_state(evd_event *ev, const char *v) {
  return set_text(ev, EVC_F_STATE, "state", v);
}

int evd_event_set_message(evd_event *ev, const char *v) {
  NEED_EV(ev);
  if (v) CHECKED(ev, "message", check_text(v, strlen(v), EVC_MESSAGE_MAX,
                                          "exceeds 262144 bytes (limits.message_max)"));
  return set_field(ev, EVC_F_MESSAGE, v, 1);
}

int evd_event_set_messagef(evd_event *ev, const char *fmt, ...) {
  NEED_EV(ev);
  if (fmt == NULL) return set_field(ev, EVC_F_MESSAGE, NULL, 1);
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0) return ev_fail(ev, ENOMEM, "message", "out of memory");
  int rc = evd_event_set_message(ev, s);
  free(s);
  return rc;
}

int evd_event_set_trace_id(evd_event *ev, const char *v) {
  NEED_EV(ev);
  if (v) CHECKED(ev, "trace_id", check_hex(v, strlen(v), 32));
  return set_field(ev, EVC_F_TRACE_ID, v, 0);
}

int evd_event_set_span_id(evd_event *ev, const char *v) {
  NEED_EV(ev);
  if (v) CHECKED(ev, "span_id", check_hex(v, strlen(v), 16));
  return set_field(ev, EVC_F_SPAN_ID, v, 0);
}

int evd_event_set_severity(evd_event *ev, int sev) {
  NEED_EV(ev);
  if (sev < 1 || sev > 24) return ev_fail(ev, EINVAL, "severity", "must be 1..24");
  ev->severity = sev;
  return 0;
}

int evd_event_set_severity_text(evd_event *ev, const char *t) {
  NEED_EV(ev);
  static const struct { const char *name; int num; } tab[] = {
      {"TRACE", 1}, {"DEBUG", 5}, {"INFO", 9}, {"WARN", 13}, {"WARNING", 13},
      {"ERROR", 17}, {"FATAL", 21}, {"CRITICAL", 21}};
  if (t == NULL) {
    ev->severity = 0;
    return 0;
  }
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (strcasecmp(t, tab[i].name) == 0) {
      ev->severity = tab[i].num;
      return 0;
    }
  return ev_fail(ev, EINVAL, "severity", "unknown severity");
}

int evd_event_set_time(evd_event *ev, int64_t unix_ns) {
  NEED_EV(ev);
  if (unix_ns < 0) return ev_fail(ev, EINVAL, "time", "out of range (before 1970)");
  ev->time_ns = unix_ns;
  ev->has_time = 1;
  return 0;
}

/* ---- key/value lists ---------------------------------------------------------------------- */

static long kv_find(const evc_kvlist *l, const char *key, size_t klen) {
  for (size_t i = 0; i < l->n; i++)
    if (strlen(l->v[i].key) == klen && memcmp(l->v[i].key, key, klen) == 0) return (long)i;
  return -1;
}

/* Append (copies of key[0..klen), val[0..vlen)). Returns 0 or -1 (ENOMEM). */
static int kv_add(evc_kvlist *l, const char *key, size_t klen, const char *val, size_t vlen) {
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 4;
    evc_kv *nv = realloc(l->v, nc * sizeof *nv);
    if (nv == NULL) return -1;
    l->v = nv;
    l->cap = nc;
  }
  char *k = malloc(klen + 1), *v = malloc(vlen + 1);
  if (k == NULL || v == NULL) {
    free(k);
    free(v);
    return -1;
  }
  memcpy(k, key, klen);
  k[klen] = '\0';
  memcpy(v, val, vlen);
  v[vlen] = '\0';
  l->v[l->n].key = k;
  l->v[l->n].val = v;
  l->n++;
  return 0;
}

static void kv_remove(evc_kvlist *l, size_t i) {
  free(l->v[i].key);
  free(l->v[i].val);
  memmove(l->v + i, l->v + i + 1, (l->n - i - 1) * sizeof *l->v);
  l->n--;
}

int evd_event_set_label(evd_event *ev, const char *key, const char *value) {
  NEED_EV(ev);
  if (key == NULL) return ev_fail(ev, EINVAL, "labels", "key must not be NULL");
  size_t kl = strlen(key);
  const char *why = check_label_key(key, kl);
  if (why) return ev_fail_kv(ev, EINVAL, "labels", key, why);
  long at = kv_find(&ev->labels, key, kl);
  if (value == NULL) {
    if (at >= 0) kv_remove(&ev->labels, (size_t)at);
    return 0;
  }
  size_t vl = strlen(value);
  why = check_text(value, vl, EVC_VALUE_MAX, "exceeds 4096 bytes (limits.value_max)");
  if (why) return ev_fail_kv(ev, EINVAL, "labels", key, why);
  if (at >= 0) {
    char *c = strdup(value);
    if (c == NULL) return ev_fail_kv(ev, ENOMEM, "labels", key, "out of memory");
    free(ev->labels.v[at].val);
    ev->labels.v[at].val = c;
    return 0;
  }
  if (ev->labels.n >= EVC_LABELS_MAX)
    return ev_fail(ev, EINVAL, "labels", "more than 64 labels (limits.labels_max)");
  if (kv_add(&ev->labels, key, kl, value, vl) != 0)
    return ev_fail_kv(ev, ENOMEM, "labels", key, "out of memory");
  return 0;
}

typedef struct collect_ctx {
  evc_kvlist *out;
  int oom;
} collect_ctx;

/* evc_json_check member callback: keep (decoded key, raw value). */
static int collect_member(void *arg, const char *key, size_t klen, const char *val, size_t vlen) {
  collect_ctx *cc = arg;
  evc_buf k = {0};
  if (evc_json_unescape(key, klen, &k) != 0 || k.oom) {
    evc_buf_free(&k);
    cc->oom = 1;
    return -1;
  }
  int rc = kv_add(cc->out, k.p ? k.p : "", k.len, val, vlen);
  evc_buf_free(&k);
  if (rc != 0) cc->oom = 1;
  return rc;
}

/* Replace list *l by the members of the JSON object text json (NULL = empty list). */
static int set_object_json(evd_event *ev, evc_kvlist *l, const char *field, const char *json) {
  NEED_EV(ev);
  if (json == NULL) {
    kvlist_free(l);
    return 0;
  }
  evc_kvlist fresh = {0};
  collect_ctx cc = {&fresh, 0};
  char err[200];
  if (evc_json_check(json, strlen(json), 1, EVC_DATA_DEPTH_MAX, collect_member, &cc, err,
                     sizeof err) != 0) {
    kvlist_free(&fresh);
    if (cc.oom) return ev_fail(ev, ENOMEM, field, "out of memory");
    return ev_fail(ev, EINVAL, field, err);
  }
  kvlist_free(l);
  *l = fresh;
  return 0;
}

/* Add member key = JSON text val (already valid) to list *l; EEXIST if present. */
static int add_member(evd_event *ev, evc_kvlist *l, const char *list, const char *key,
                      const char *val, size_t vlen) {
  NEED_EV(ev);
  if (key == NULL) return ev_fail(ev, EINVAL, list, "key must not be NULL");
  size_t kl = strlen(key);
  if (!evc_utf8_valid(key, kl)) return ev_fail_kv(ev, EINVAL, list, key, "invalid UTF-8 in key");
  if (kv_find(l, key, kl) >= 0) return ev_fail_kv(ev, EEXIST, list, key, "already set");
  if (kv_add(l, key, kl, val, vlen) != 0) return ev_fail_kv(ev, ENOMEM, list, key, "out of memory");
  return 0;
}

int evd_event_set_data_json(evd_event *ev, const char *json) {
  return set_object_json(ev, ev ? &ev->data : NULL, "data", json);
}

int evd_event_set_resource_json(evd_event *ev, const char *json) {
  return set_object_json(ev, ev ? &ev->resource : NULL, "resource", json);
}

static int add_string_member(evd_event *ev, evc_kvlist *l, const char *list, const char *key,
                             const char *value) {
  NEED_EV(ev);
  if (value == NULL) return ev_fail(ev, EINVAL, list, "value must not be NULL");
  size_t vl = strlen(value);
  if (!evc_utf8_valid(value, vl)) return ev_fail(ev, EINVAL, list, "invalid UTF-8 in value");
  evc_buf b = {0};
  evc_buf_add_jstr(&b, value, vl);
  if (b.oom) {
    evc_buf_free(&b);
    return ev_fail(ev, ENOMEM, list, "out of memory");
  }
  int rc = add_member(ev, l, list, key, b.p, b.len);
  evc_buf_free(&b);
  return rc;
}

int evd_event_set_data_string(evd_event *ev, const char *key, const char *value) {
  return add_string_member(ev, ev ? &ev->data : NULL, "data", key, value);
}

int evd_event_set_resource_string(evd_event *ev, const char *key, const char *value) {
  return add_string_member(ev, ev ? &ev->resource : NULL, "resource", key, value);
}

int evd_event_set_data_int(evd_event *ev, const char *key, int64_t value) {
  NEED_EV(ev);
  char t[32];
  int n = snprintf(t, sizeof t, "%lld", (long long)value);
  return add_member(ev, &ev->data, "data", key, t, (size_t)n);
}

int evd_event_set_data_double(evd_event *ev, const char *key, double value) {
  NEED_EV(ev);
  if (!isfinite(value)) return ev_fail(ev, EINVAL, "data", "value must be finite");
  char t[40];
  int n = snprintf(t, sizeof t, "%.17g", value);
  /* "%.17g" may give "1e+300" (valid JSON) or "5" (valid JSON): both fine; never "inf". */
  return add_member(ev, &ev->data, "data", key, t, (size_t)n);
}

int evd_event_set_data_bool(evd_event *ev, const char *key, int value) {
  NEED_EV(ev);
  return add_member(ev, &ev->data, "data", key, value ? "true" : "false", value ? 4 : 5);
}

int evd_event_set_data_raw(evd_event *ev, const char *key, const char *json) {
  NEED_EV(ev);
  if (json == NULL) return ev_fail(ev, EINVAL, "data", "value must not be NULL");
  char err[200];
  size_t n = strlen(json);
  if (evc_json_check(json, n, 0, EVC_DATA_DEPTH_MAX - 1, NULL, NULL, err, sizeof err) != 0)
    return ev_fail(ev, EINVAL, "data", err);
  /* keep the value without surrounding whitespace */
  const char *b = json, *e = json + n;
  while (b < e && (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r')) b++;
  while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) e--;
  return add_member(ev, &ev->data, "data", key, b, (size_t)(e - b));
}

/* ---- encoding ----------------------------------------------------------------------------- */

static void add_str_member(evc_buf *b, const char *name, const char *v) {
  evc_buf_adds(b, name);
  evc_buf_add_jstr(b, v, strlen(v));
}

static void add_obj(evc_buf *b, const char *name, const evc_kvlist *l, int values_are_text,
                    const evc_kv *extra, size_t nextra) {
  evc_buf_adds(b, name);
  evc_buf_addc(b, '{');
  int first = 1;
  for (size_t i = 0; i < l->n; i++) {
    if (!first) evc_buf_addc(b, ',');
    first = 0;
    evc_buf_add_jstr(b, l->v[i].key, strlen(l->v[i].key));
    evc_buf_addc(b, ':');
    if (values_are_text)
      evc_buf_add_jstr(b, l->v[i].val, strlen(l->v[i].val));
    else
      evc_buf_adds(b, l->v[i].val);
  }
  for (size_t i = 0; i < nextra; i++) {
    if (extra[i].key == NULL || kv_find(l, extra[i].key, strlen(extra[i].key)) >= 0) continue;
    if (!first) evc_buf_addc(b, ',');
    first = 0;
    evc_buf_add_jstr(b, extra[i].key, strlen(extra[i].key));
    evc_buf_addc(b, ':');
    evc_buf_adds(b, extra[i].val);
  }
  evc_buf_addc(b, '}');
}

int evc_event_encode(const evd_event *ev, const evc_auto *au, evc_buf *b) {
  evc_buf_adds(b, "{\"id\":");
  const char *id = evd_event_id(ev);
  evc_buf_add_jstr(b, id, strlen(id));
  if (ev->has_time) {
    evc_buf_adds(b, ",\"time\":");
    evc_buf_add_time(b, ev->time_ns);
  }
  const char *tenant = ev->f[EVC_F_TENANT] ? ev->f[EVC_F_TENANT] : (au ? au->tenant : NULL);
  const char *stream = ev->f[EVC_F_STREAM] ? ev->f[EVC_F_STREAM] : (au ? au->stream : NULL);
  if (tenant) add_str_member(b, ",\"tenant\":", tenant);
  if (stream) add_str_member(b, ",\"stream\":", stream);
  add_str_member(b, ",\"type\":", ev->f[EVC_F_TYPE]);
  if (ev->f[EVC_F_KEY]) add_str_member(b, ",\"key\":", ev->f[EVC_F_KEY]);
  if (ev->f[EVC_F_TAG]) add_str_member(b, ",\"tag\":", ev->f[EVC_F_TAG]);
  if (ev->severity) {
    evc_buf_adds(b, ",\"severity\":");
    evc_buf_add_u64(b, (uint64_t)ev->severity);
  }
  if (ev->f[EVC_F_SOURCE]) add_str_member(b, ",\"source\":", ev->f[EVC_F_SOURCE]);
  if (ev->f[EVC_F_MESSAGE]) add_str_member(b, ",\"message\":", ev->f[EVC_F_MESSAGE]);
  if (ev->f[EVC_F_CORRELATION_ID])
    add_str_member(b, ",\"correlation_id\":", ev->f[EVC_F_CORRELATION_ID]);
  if (ev->f[EVC_F_STATE]) add_str_member(b, ",\"state\":", ev->f[EVC_F_STATE]);
  if (ev->f[EVC_F_TRACE_ID]) add_str_member(b, ",\"trace_id\":", ev->f[EVC_F_TRACE_ID]);
  if (ev->f[EVC_F_SPAN_ID]) add_str_member(b, ",\"span_id\":", ev->f[EVC_F_SPAN_ID]);
  if (ev->labels.n) add_obj(b, ",\"labels\":", &ev->labels, 1, NULL, 0);
  if (ev->resource.n || (au && au->nres))
    add_obj(b, ",\"resource\":", &ev->resource, 0, au ? au->res : NULL, au ? au->nres : 0);
  if (ev->data.n) add_obj(b, ",\"data\":", &ev->data, 0, NULL, 0);
  evc_buf_addc(b, '}');
  return b->oom ? -1 : 0;
}
