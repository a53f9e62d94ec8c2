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
 * value text) pairs so that key/value setters can refuse duplicates.
 *
 * Cost: an event is one malloc (its copies live in an arena inside it, see "memory" below),
 * every value's length is kept, and the encoder reserves its worst case once and writes with
 * plain stores; measured in bench/client_bench (make_event, throughput). */
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
  int dots = 0; /* a ".." seen */
  for (size_t i = 0; i < n; i++) {
    if (!name_char((unsigned char)s[i])) return "may contain only A-Z a-z 0-9 _ . : / @ -";
    if (s[i] == '.' && i > 0 && s[i - 1] == '.') dots = 1;
  }
  if (s[0] == '.' || s[n - 1] == '.') return "must not start or end with '.'";
  if (dots) return "must not contain '..'";
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

/* ---- memory: one allocation per typical event ---------------------------------------------
 *
 * An evd_event carries EVC_EVENT_ARENA bytes inline; setters carve their copies from it with
 * a bump pointer (never given back: a replaced value's bytes stay used until the event is
 * freed) and fall back to malloc when it is full. ev_release frees only what malloc gave. So
 * the usual event (a type, a few fields, labels and data members) costs one malloc on the
 * caller's thread and one free on the worker's. */

static void *ev_alloc(evd_event *ev, size_t n) {
  size_t a = (n + 7) & ~(size_t)7;
  if (a <= EVC_EVENT_ARENA - ev->arena_used) {
    void *p = ev->arena + ev->arena_used;
    ev->arena_used += a;
    return p;
  }
  return malloc(n);
}

static int in_arena(const evd_event *ev, const void *p) {
  uintptr_t a = (uintptr_t)ev->arena, x = (uintptr_t)p;
  return x >= a && x < a + EVC_EVENT_ARENA;
}

static void ev_release(evd_event *ev, void *p) {
  if (p != NULL && !in_arena(ev, p)) free(p);
}

/* A NUL-terminated copy of s[0..n) from ev's arena (or malloc); NULL when out of memory. */
static char *ev_strndup(evd_event *ev, const char *s, size_t n) {
  char *c = ev_alloc(ev, n + 1);
  if (c == NULL) return NULL;
  memcpy(c, s, n);
  c[n] = '\0';
  return c;
}

/* ---- JSON string writing into a buffer sized in advance ----------------------------------- */

/* The most bytes s[0..n) can take as a quoted JSON string (every byte as \u00XX). */
static size_t jstr_max(size_t n) { return 6 * n + 2; }

/* Write s[0..n) as a quoted JSON string at o (room for jstr_max(n) bytes); returns the end.
 * Escapes ", \ and bytes < 0x20 only (the text is valid UTF-8: the setters checked it). */
static char *put_jstr(char *o, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  *o++ = '"';
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    /* 8 bytes at a time while none needs escaping (a byte < 0x20, '"' or '\\') */
    while (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
      uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
      uint64_t bad = ((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((bs - ones) & ~bs);
      if (bad & high) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    memcpy(o, s + run, i - run);
    o += i - run;
    run = i + 1;
    *o++ = '\\';
    switch (c) {
      case '"': *o++ = '"'; break;
      case '\\': *o++ = '\\'; break;
      case '\n': *o++ = 'n'; break;
      case '\r': *o++ = 'r'; break;
      case '\t': *o++ = 't'; break;
      case '\b': *o++ = 'b'; break;
      case '\f': *o++ = 'f'; break;
      default:
        *o++ = 'u';
        *o++ = '0';
        *o++ = '0';
        *o++ = hex[c >> 4];
        *o++ = hex[c & 15];
    }
  }
  memcpy(o, s + run, n - run);
  o += n - run;
  *o++ = '"';
  return o;
}

static char *put(char *o, const char *s, size_t n) {
  memcpy(o, s, n);
  return o + n;
}

#define PUT_LIT(o, lit) put((o), (lit), sizeof(lit) - 1)

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
  evd_event *ev = malloc(sizeof *ev);
  if (ev == NULL) return NULL;
  memset(ev, 0, offsetof(evd_event, arena)); /* the arena needs no zeroing */
  ev->f[EVC_F_TYPE] = ev_strndup(ev, type, n);
  if (ev->f[EVC_F_TYPE] == NULL) {
    free(ev);
    errno = ENOMEM;
    return NULL;
  }
  ev->flen[EVC_F_TYPE] = (uint32_t)n;
  evc_ulid_next(ev->idbuf);
  return ev;
}

static void kvlist_free(evd_event *ev, evc_kvlist *l) {
  for (size_t i = 0; i < l->n; i++) {
    ev_release(ev, l->v[i].key);
    ev_release(ev, l->v[i].val);
  }
  ev_release(ev, l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

void evd_event_free(evd_event *ev) {
  if (ev == NULL) return;
  for (int i = 0; i < EVC_F_COUNT; i++) ev_release(ev, ev->f[i]);
  kvlist_free(ev, &ev->labels);
  kvlist_free(ev, &ev->data);
  kvlist_free(ev, &ev->resource);
  free(ev->error);
  free(ev);
}

const char *evd_event_id(const evd_event *ev) {
  if (ev == NULL) return NULL;
  return ev->f[EVC_F_ID] ? ev->f[EVC_F_ID] : ev->idbuf;
}

/* Replace field f by a copy of v[0..n) (NULL or, when empty_is_absent, "" unsets it). */
static int set_field(evd_event *ev, int f, const char *v, size_t n, int empty_is_absent) {
  if (v == NULL || (empty_is_absent && n == 0)) {
    ev_release(ev, ev->f[f]);
    ev->f[f] = NULL;
    ev->flen[f] = 0;
    return 0;
  }
  if (n > UINT32_MAX) return ev_fail(ev, EINVAL, "event", "value too long");
  char *c = ev_strndup(ev, v, n);
  if (c == NULL) return ev_fail(ev, ENOMEM, "event", "out of memory");
  ev_release(ev, ev->f[f]);
  ev->f[f] = c;
  ev->flen[f] = (uint32_t)n;
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
  size_t n = strlen(v);
  CHECKED(ev, "type", evc_check_name(v, n));
  return set_field(ev, EVC_F_TYPE, v, n, 0);
}

int evd_event_set_id(evd_event *ev, const char *v) {
  NEED_EV(ev);
  size_t n = v ? strlen(v) : 0;
  if (v) CHECKED(ev, "id", check_id(v, n));
  return set_field(ev, EVC_F_ID, v, n, 0);
}

int evd_event_set_tenant(evd_event *ev, const char *v) {
  NEED_EV(ev);
  size_t n = v ? strlen(v) : 0;
  if (v) CHECKED(ev, "tenant", evc_check_name(v, n));
  return set_field(ev, EVC_F_TENANT, v, n, 0);
}

int evd_event_set_stream(evd_event *ev, const char *v) {
  NEED_EV(ev);
  size_t n = v ? strlen(v) : 0;
  if (v) CHECKED(ev, "stream", evc_check_name(v, n));
  return set_field(ev, EVC_F_STREAM, v, n, 0);
}

int evd_event_set_key(evd_event *ev, const char *v) {
  NEED_EV(ev);
  size_t n = v ? strlen(v) : 0;
  if (v) CHECKED(ev, "key", check_key(v, n));
  return set_field(ev, EVC_F_KEY, v, n, 0);
}

static int set_text(evd_event *ev, int f, const char *field, const char *v) {
  NEED_EV(ev);
  size_t n = v ? strlen(v) : 0;
  if (v) CHECKED(ev, field, check_text(v, n, EVC_VALUE_MAX,
                                      "exceeds 4096 bytes (limits.value_max)"));
  return set_field(ev, f, v, n, 1);
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
  size_t n = v ? strlen(v) : 0;
  if (v) CHECKED(ev, "message", check_text(v, n, EVC_MESSAGE_MAX,
                                          "exceeds 262144 bytes (limits.message_max)"));
  return set_field(ev, EVC_F_MESSAGE, v, n, 1);
}

int evd_event_set_messagef(evd_event *ev, const char *fmt, ...) {
  NEED_EV(ev);
  if (fmt == NULL) return set_field(ev, EVC_F_MESSAGE, NULL, 0, 1);
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
  size_t n = v ? strlen(v) : 0;
  if (v) CHECKED(ev, "trace_id", check_hex(v, n, 32));
  return set_field(ev, EVC_F_TRACE_ID, v, n, 0);
}

int evd_event_set_span_id(evd_event *ev, const char *v) {
  NEED_EV(ev);
  size_t n = v ? strlen(v) : 0;
  if (v) CHECKED(ev, "span_id", check_hex(v, n, 16));
  return set_field(ev, EVC_F_SPAN_ID, v, n, 0);
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
    if (l->v[i].klen == klen && memcmp(l->v[i].key, key, klen) == 0) return (long)i;
  return -1;
}

/* Append (copies of key[0..klen), val[0..vlen)), from ev's arena. Returns 0 or -1 (ENOMEM). */
static int kv_add(evd_event *ev, evc_kvlist *l, const char *key, size_t klen, const char *val,
                  size_t vlen) {
  if (klen > UINT32_MAX || vlen > UINT32_MAX) return -1;
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 4;
    evc_member *nv = ev_alloc(ev, nc * sizeof *nv);
    if (nv == NULL) return -1;
    if (l->n) memcpy(nv, l->v, l->n * sizeof *nv);
    ev_release(ev, l->v);
    l->v = nv;
    l->cap = nc;
  }
  char *k = ev_strndup(ev, key, klen);
  char *v = k ? ev_strndup(ev, val, vlen) : NULL;
  if (v == NULL) {
    ev_release(ev, k);
    return -1;
  }
  l->v[l->n] = (evc_member){.key = k, .val = v, .klen = (uint32_t)klen, .vlen = (uint32_t)vlen};
  l->n++;
  return 0;
}

static void kv_remove(evd_event *ev, evc_kvlist *l, size_t i) {
  ev_release(ev, l->v[i].key);
  ev_release(ev, l->v[i].val);
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
    if (at >= 0) kv_remove(ev, &ev->labels, (size_t)at);
    return 0;
  }
  size_t vl = strlen(value);
  why = check_text(value, vl, EVC_VALUE_MAX, "exceeds 4096 bytes (limits.value_max)");
  if (why) return ev_fail_kv(ev, EINVAL, "labels", key, why);
  if (at >= 0) {
    char *c = ev_strndup(ev, value, vl);
    if (c == NULL) return ev_fail_kv(ev, ENOMEM, "labels", key, "out of memory");
    ev_release(ev, ev->labels.v[at].val);
    ev->labels.v[at].val = c;
    ev->labels.v[at].vlen = (uint32_t)vl;
    return 0;
  }
  if (ev->labels.n >= EVC_LABELS_MAX)
    return ev_fail(ev, EINVAL, "labels", "more than 64 labels (limits.labels_max)");
  if (kv_add(ev, &ev->labels, key, kl, value, vl) != 0)
    return ev_fail_kv(ev, ENOMEM, "labels", key, "out of memory");
  return 0;
}

typedef struct collect_ctx {
  evd_event *ev;
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
  int rc = kv_add(cc->ev, cc->out, k.p ? k.p : "", k.len, val, vlen);
  evc_buf_free(&k);
  if (rc != 0) cc->oom = 1;
  return rc;
}

/* Replace list *l by the members of the JSON object text json (NULL = empty list). */
static int set_object_json(evd_event *ev, evc_kvlist *l, const char *field, const char *json) {
  NEED_EV(ev);
  if (json == NULL) {
    kvlist_free(ev, l);
    return 0;
  }
  evc_kvlist fresh = {0};
  collect_ctx cc = {ev, &fresh, 0};
  char err[200];
  if (evc_json_check(json, strlen(json), 1, EVC_DATA_DEPTH_MAX, collect_member, &cc, err,
                     sizeof err) != 0) {
    kvlist_free(ev, &fresh);
    if (cc.oom) return ev_fail(ev, ENOMEM, field, "out of memory");
    return ev_fail(ev, EINVAL, field, err);
  }
  kvlist_free(ev, l);
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
  if (kv_add(ev, l, key, kl, val, vlen) != 0)
    return ev_fail_kv(ev, ENOMEM, list, key, "out of memory");
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
  char small[512];
  size_t need = jstr_max(vl);
  char *t = need <= sizeof small ? small : malloc(need);
  if (t == NULL) return ev_fail(ev, ENOMEM, list, "out of memory");
  size_t tl = (size_t)(put_jstr(t, value, vl) - t);
  int rc = add_member(ev, l, list, key, t, tl);
  if (t != small) free(t);
  return rc;
}

int evd_event_set_data_string(evd_event *ev, const char *key, const char *value) {
  return add_string_member(ev, ev ? &ev->data : NULL, "data", key, value);
}

int evd_event_set_resource_string(evd_event *ev, const char *key, const char *value) {
  return add_string_member(ev, ev ? &ev->resource : NULL, "resource", key, value);
}

/* Decimal text of v into t (room for 21 bytes); returns its length. */
static size_t i64_text(char *t, int64_t v) {
  char tmp[24];
  size_t i = sizeof tmp;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) tmp[--i] = '-';
  memcpy(t, tmp + i, sizeof tmp - i);
  return sizeof tmp - i;
}

int evd_event_set_data_int(evd_event *ev, const char *key, int64_t value) {
  NEED_EV(ev);
  char t[24];
  size_t n = i64_text(t, value);
  return add_member(ev, &ev->data, "data", key, t, n);
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
/*
 * The encoder computes the most bytes the event can take, reserves that once, and writes
 * with plain pointer stores (no per-piece capacity checks, no strlen: lengths are kept).
 * The automatic resource members come pre-encoded from the client (evc_auto.res_members)
 * when the event sets no resource member itself. */

static size_t list_max(const evc_kvlist *l, int values_are_text) {
  size_t n = 16;
  for (size_t i = 0; i < l->n; i++)
    n += jstr_max(l->v[i].klen) + 2 + (values_are_text ? jstr_max(l->v[i].vlen) : l->v[i].vlen);
  return n;
}

static char *put_list(char *o, const char *name, size_t namelen, const evc_kvlist *l,
                      int values_are_text, const evc_kv *extra, size_t nextra) {
  o = put(o, name, namelen);
  *o++ = '{';
  int first = 1;
  for (size_t i = 0; i < l->n; i++) {
    if (!first) *o++ = ',';
    first = 0;
    o = put_jstr(o, l->v[i].key, l->v[i].klen);
    *o++ = ':';
    o = values_are_text ? put_jstr(o, l->v[i].val, l->v[i].vlen) : put(o, l->v[i].val, l->v[i].vlen);
  }
  for (size_t i = 0; i < nextra; i++) {
    if (extra[i].key == NULL || kv_find(l, extra[i].key, strlen(extra[i].key)) >= 0) continue;
    if (!first) *o++ = ',';
    first = 0;
    o = put_jstr(o, extra[i].key, strlen(extra[i].key));
    *o++ = ':';
    o = put(o, extra[i].val, strlen(extra[i].val));
  }
  *o++ = '}';
  return o;
}

/* A string member ,"name":"value" of field f, if set. */
static char *put_field(char *o, const char *name, size_t namelen, const evd_event *ev, int f) {
  if (ev->f[f] == NULL) return o;
  o = put(o, name, namelen);
  return put_jstr(o, ev->f[f], ev->flen[f]);
}

#define PUT_FIELD(o, lit, ev, f) put_field((o), (lit), sizeof(lit) - 1, (ev), (f))

int evc_event_encode(const evd_event *ev, const evc_auto *au, evc_buf *b) {
  const char *id = ev->f[EVC_F_ID] ? ev->f[EVC_F_ID] : ev->idbuf;
  size_t idlen = ev->f[EVC_F_ID] ? ev->flen[EVC_F_ID] : strlen(ev->idbuf);
  const char *tenant = ev->f[EVC_F_TENANT] ? ev->f[EVC_F_TENANT] : (au ? au->tenant : NULL);
  const char *stream = ev->f[EVC_F_STREAM] ? ev->f[EVC_F_STREAM] : (au ? au->stream : NULL);
  size_t tenantlen = ev->f[EVC_F_TENANT] ? ev->flen[EVC_F_TENANT] : tenant ? strlen(tenant) : 0;
  size_t streamlen = ev->f[EVC_F_STREAM] ? ev->flen[EVC_F_STREAM] : stream ? strlen(stream) : 0;
  int auto_res = au && au->nres;
  int res_pre = auto_res && ev->resource.n == 0 && au->res_members != NULL;

  /* the bound: names, punctuation, time, severity (256) + every value escaped at worst */
  size_t need = 256 + jstr_max(idlen) + jstr_max(tenantlen) + jstr_max(streamlen);
  for (int f = 0; f < EVC_F_COUNT; f++)
    if (f != EVC_F_ID && f != EVC_F_TENANT && f != EVC_F_STREAM && ev->f[f])
      need += jstr_max(ev->flen[f]) + 20;
  if (ev->labels.n) need += list_max(&ev->labels, 1);
  if (ev->data.n) need += list_max(&ev->data, 0);
  if (ev->resource.n || auto_res) need += list_max(&ev->resource, 0);
  if (res_pre) {
    need += au->res_members_len;
  } else if (auto_res) {
    for (size_t i = 0; i < au->nres; i++)
      if (au->res[i].key)
        need += jstr_max(strlen(au->res[i].key)) + strlen(au->res[i].val) + 2;
  }
  if (evc_buf_reserve(b, need) != 0) return -1;

  char *o = b->p + b->len;
  o = PUT_LIT(o, "{\"id\":");
  o = put_jstr(o, id, idlen);
  if (ev->has_time) {
    o = PUT_LIT(o, ",\"time\":");
    o = evc_put_time(o, ev->time_ns);
  }
  if (tenant) o = put_jstr(PUT_LIT(o, ",\"tenant\":"), tenant, tenantlen);
  if (stream) o = put_jstr(PUT_LIT(o, ",\"stream\":"), stream, streamlen);
  o = PUT_FIELD(o, ",\"type\":", ev, EVC_F_TYPE);
  o = PUT_FIELD(o, ",\"key\":", ev, EVC_F_KEY);
  o = PUT_FIELD(o, ",\"tag\":", ev, EVC_F_TAG);
  if (ev->severity) {
    char t[24];
    o = PUT_LIT(o, ",\"severity\":");
    o = put(o, t, i64_text(t, ev->severity));
  }
  o = PUT_FIELD(o, ",\"source\":", ev, EVC_F_SOURCE);
  o = PUT_FIELD(o, ",\"message\":", ev, EVC_F_MESSAGE);
  o = PUT_FIELD(o, ",\"correlation_id\":", ev, EVC_F_CORRELATION_ID);
  o = PUT_FIELD(o, ",\"state\":", ev, EVC_F_STATE);
  o = PUT_FIELD(o, ",\"trace_id\":", ev, EVC_F_TRACE_ID);
  o = PUT_FIELD(o, ",\"span_id\":", ev, EVC_F_SPAN_ID);
  if (ev->labels.n) o = put_list(o, ",\"labels\":", 10, &ev->labels, 1, NULL, 0);
  if (res_pre) {
    o = PUT_LIT(o, ",\"resource\":{");
    o = put(o, au->res_members, au->res_members_len);
    *o++ = '}';
  } else if (ev->resource.n || auto_res) {
    o = put_list(o, ",\"resource\":", 12, &ev->resource, 0, au ? au->res : NULL,
                 au ? au->nres : 0);
  }
  if (ev->data.n) o = put_list(o, ",\"data\":", 8, &ev->data, 0, NULL, 0);
  *o++ = '}';
  b->len = (size_t)(o - b->p);
  b->p[b->len] = '\0';
  return 0;
}

/* The resource members of au->res[] as JSON text without braces, for au->res_members.
 * Returns a malloc'd string (caller frees) with its length in *len, or NULL (ENOMEM). */
char *evc_auto_res_members(const evc_auto *au, size_t *len) {
  evc_buf b = {0};
  evc_buf_reserve(&b, 64);
  for (size_t i = 0; i < au->nres; i++) {
    if (au->res[i].key == NULL) continue;
    if (b.len) evc_buf_addc(&b, ',');
    evc_buf_add_jstr(&b, au->res[i].key, strlen(au->res[i].key));
    evc_buf_addc(&b, ':');
    evc_buf_adds(&b, au->res[i].val);
  }
  if (b.oom) {
    evc_buf_free(&b);
    return NULL;
  }
  *len = b.len;
  return b.p;
}
