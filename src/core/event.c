/* event: see event.h; the rules are documented for users in docs/event.md.
 *
 * event_from_json walks the members of the event object once, dispatching on the key, and
 * converts what needs converting (time, severity, labels). The checks shared with inputs
 * that fill an event themselves (defaults, names, lengths, ids) live in check_event, which
 * both event_from_json and event_finish end with. The first problem found is reported; the
 * error names the field and the rule. */
#include "core/event.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/keymatch.h"
#include "core/timeutil.h"

static const char *const FIELD_NAMES[EVF__COUNT] = {
    [EVF_TENANT] = "tenant",     [EVF_STREAM] = "stream", [EVF_TYPE] = "type",
    [EVF_KEY] = "key",           [EVF_TAG] = "tag",       [EVF_SOURCE] = "source",
    [EVF_CORRELATION_ID] = "correlation_id",              [EVF_STATE] = "state",
    [EVF_MESSAGE] = "message",   [EVF_TRACE_ID] = "trace_id", [EVF_SPAN_ID] = "span_id",
};

const char *evd_field_name(evd_field f) {
  return (unsigned)f < EVF__COUNT ? FIELD_NAMES[f] : "unknown";
}

int evd_field_by_name(const char *name) {
  if (!name) return -1;
  for (int i = 0; i < EVF__COUNT; i++)
    if (strcmp(FIELD_NAMES[i], name) == 0) return i;
  return -1;
}

void evd_limits_default(evd_limits *l) {
  l->event_max_bytes = 1024 * 1024;
  l->body_max_bytes = 16 * 1024 * 1024;
  l->labels_max = 64;
  l->name_max = 256;
  l->value_max = 4096;
  l->message_max = 256 * 1024;
  l->max_depth = JSON_DEFAULT_MAX_DEPTH;
}

/* ---- errors ------------------------------------------------------------------------- */

/* Length of the longest prefix of s[0..n) that is at most max bytes and does not cut a
 * UTF-8 sequence. */
static size_t utf8_prefix(const char *s, size_t n, size_t max) {
  if (n <= max) return n;
  size_t k = max;
  while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80) k--;
  return k;
}

/* Write user text into an error message: at most `max` bytes on a UTF-8 boundary, "..."
 * appended when cut. The result is valid UTF-8 when the input was. */
static void shown(char *out, size_t outsz, const char *s, size_t n, size_t max) {
  if (max + 4 > outsz) max = outsz - 4;
  size_t k = utf8_prefix(s, n, max);
  memcpy(out, s, k);
  if (k < n) memcpy(out + k, "...", 3), k += 3;
  out[k] = '\0';
}

/* Fill *err (field path, reason, kind) and return -1. fail() is for rule violations,
 * fail_limit() for values over a configured limit, fail_nomem() for allocation failures. */
static int fail_kind(evd_field_error *err, evd_error_kind kind, const char *field,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail_kind(evd_field_error *err, evd_error_kind kind, const char *field,
                     const char *fmt, ...) {
  err->kind = kind;
  shown(err->field, sizeof err->field, field, strlen(field), sizeof err->field - 4);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->reason, sizeof err->reason, fmt, ap);
  va_end(ap);
  return -1;
}

#define fail(err, field, ...) fail_kind(err, EVD_ERR_INVALID, field, __VA_ARGS__)
#define fail_limit(err, field, ...) fail_kind(err, EVD_ERR_LIMIT, field, __VA_ARGS__)
#define fail_nomem(err) fail_kind(err, EVD_ERR_NOMEM, "", "out of memory")

/* "expected string, got number" */
static int fail_type(evd_field_error *err, const char *field, const char *expected,
                     const json_value *got) {
  return fail(err, field, "expected %s, got %s", expected, json_type_name(got->type));
}

/* The field path "labels.<key>" (key cut to fit). */
static void label_path(char *out, size_t outsz, const char *key, size_t klen) {
  memcpy(out, "labels.", 7);
  shown(out + 7, outsz - 7, key, klen, 96);
}

/* ---- character classes -------------------------------------------------------------- */

/* 1: allowed in names (tenant, stream, type): A-Z a-z 0-9 _ . : / @ -
 * 2: allowed in label keys: A-Z a-z 0-9 _ . -   (values are bit flags) */
enum { CC_NAME = 1, CC_LABEL = 2 };
static const unsigned char *classes(void) {
  static const unsigned char table[256] = {
#define NL (CC_NAME | CC_LABEL)
      ['0'] = NL, ['1'] = NL, ['2'] = NL, ['3'] = NL, ['4'] = NL, ['5'] = NL, ['6'] = NL,
      ['7'] = NL, ['8'] = NL, ['9'] = NL,
      ['A'] = NL, ['B'] = NL, ['C'] = NL, ['D'] = NL, ['E'] = NL, ['F'] = NL, ['G'] = NL,
      ['H'] = NL, ['I'] = NL, ['J'] = NL, ['K'] = NL, ['L'] = NL, ['M'] = NL, ['N'] = NL,
      ['O'] = NL, ['P'] = NL, ['Q'] = NL, ['R'] = NL, ['S'] = NL, ['T'] = NL, ['U'] = NL,
      ['V'] = NL, ['W'] = NL, ['X'] = NL, ['Y'] = NL, ['Z'] = NL,
      ['a'] = NL, ['b'] = NL, ['c'] = NL, ['d'] = NL, ['e'] = NL, ['f'] = NL, ['g'] = NL,
      ['h'] = NL, ['i'] = NL, ['j'] = NL, ['k'] = NL, ['l'] = NL, ['m'] = NL, ['n'] = NL,
      ['o'] = NL, ['p'] = NL, ['q'] = NL, ['r'] = NL, ['s'] = NL, ['t'] = NL, ['u'] = NL,
      ['v'] = NL, ['w'] = NL, ['x'] = NL, ['y'] = NL, ['z'] = NL,
      ['_'] = NL, ['.'] = NL, ['-'] = NL, [':'] = CC_NAME, ['/'] = CC_NAME, ['@'] = CC_NAME,
#undef NL
  };
  return table;
}

/* Describe the byte for "invalid character ..." messages. */
static void char_desc(unsigned char c, char out[16]) {
  if (c >= 0x21 && c < 0x7f) snprintf(out, 16, "'%c'", (char)c);
  else if (c == ' ') snprintf(out, 16, "' '");
  else snprintf(out, 16, "0x%02x", c);
}

/* Check a name (tenant, stream, type). Returns 0 or -1 with *err. */
static int check_name(const char *field, strv v, const evd_limits *lim, evd_field_error *err) {
  if (v.n == 0) return fail(err, field, "must not be empty");
  if (v.n > lim->name_max)
    return fail_limit(err, field, "exceeds %zu bytes (limits.name_max)", lim->name_max);
  const unsigned char *cls = classes();
  const unsigned char *p = (const unsigned char *)v.p;
  for (size_t i = 0; i < v.n; i++) {
    if (!(cls[p[i]] & CC_NAME)) {
      char d[16];
      char_desc(p[i], d);
      return fail(err, field, "invalid character %s (allowed: A-Z a-z 0-9 _ . : / @ -)", d);
    }
    if (p[i] == '.' && i + 1 < v.n && p[i + 1] == '.')
      return fail(err, field, "must not contain '..'");
  }
  if (p[0] == '.' || p[v.n - 1] == '.') return fail(err, field, "must not start or end with '.'");
  return 0;
}

/* ---- severity ----------------------------------------------------------------------- */

int severity_from_text(const char *s, size_t n) {
  static const struct {
    const char *name;
    int number;
  } names[] = {
      {"trace", 1},  {"debug", 5},  {"info", 9},      {"warn", 13},
      {"warning", 13}, {"error", 17}, {"fatal", 21},  {"critical", 21},
  };
  if (!s || n == 0 || n > 9) return -1;
  char low[10];
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    low[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  /* OpenTelemetry's numbered forms: TRACE2..4, DEBUG2..4, INFO2..4, WARN2..4, ERROR2..4,
   * FATAL2..4 add 1..3 to the base. */
  int extra = 0;
  size_t base = n;
  if (n > 1 && low[n - 1] >= '2' && low[n - 1] <= '4') {
    extra = low[n - 1] - '1';
    base = n - 1;
  }
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    size_t l = strlen(names[i].name);
    if (l == base && memcmp(low, names[i].name, l) == 0) {
      if (extra && (names[i].number == 13 && l == 7)) return -1; /* no "WARNING2" */
      if (extra && names[i].number == 21 && l == 8) return -1;   /* no "CRITICAL2" */
      return names[i].number + extra;
    }
  }
  return -1;
}

const char *severity_text(int number) {
  static const char *const text[6] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
  if (number < 1 || number > 24) return "UNSPECIFIED";
  return text[(number - 1) / 4];
}

/* ---- field conversions -------------------------------------------------------------- */

/* 1 if s[0..n) is -?digits(.digits)? (an epoch number written as a string). */
static int looks_like_epoch(const char *s, size_t n) {
  size_t i = 0;
  if (i < n && s[i] == '-') i++;
  size_t d = i;
  while (i < n && (unsigned)(s[i] - '0') <= 9) i++;
  if (i == d) return 0;
  if (i < n && s[i] == '.') {
    size_t f = ++i;
    while (i < n && (unsigned)(s[i] - '0') <= 9) i++;
    if (i == f) return 0;
  }
  return i == n;
}

/* 1 if s[0..n) is a valid RFC 3339 time but for the missing zone ("2026-11-21T08:26:00"). */
static int lacks_zone(const char *s, size_t n) {
  char tmp[48];
  int64_t t;
  if (n + 1 >= sizeof tmp) return 0;
  memcpy(tmp, s, n);
  tmp[n] = 'Z';
  return time_parse_rfc3339_ex(tmp, n + 1, &t) != -1;
}

#define TIME_RANGE_REASON "out of range (1970-01-01T00:00:00Z .. 2262-04-11T23:47:16Z)"

/* Convert the `time` member. Returns 0 with *out, or -1 with *err. */
static int convert_time(const json_value *v, int64_t *out, evd_field_error *err) {
  int64_t t = 0;
  if (v->type == JSON_STRING) {
    if (looks_like_epoch(v->s, v->n)) {
      if (time_from_epoch_text(v->s, v->n, &t) != 0) return fail(err, "time", TIME_RANGE_REASON);
    } else {
      int rc = time_parse_rfc3339_ex(v->s, v->n, &t);
      if (rc == -2) return fail(err, "time", TIME_RANGE_REASON);
      if (rc != 0) {
        char s[80];
        shown(s, sizeof s, v->s, v->n, 64);
        return fail(err, "time", "invalid RFC 3339 time '%s'%s", s,
                    lacks_zone(v->s, v->n) ? " (needs Z or an offset like +02:00)" : "");
      }
    }
  } else if (v->type == JSON_NUMBER) {
    int rc;
    if (memchr(v->s, 'e', v->n) || memchr(v->s, 'E', v->n)) {
      double d;
      rc = json_as_double(v, &d) == 0 ? time_from_epoch_double(d, &t) : -1;
    } else {
      rc = time_from_epoch_text(v->s, v->n, &t); /* exact, fraction included */
    }
    if (rc != 0) return fail(err, "time", TIME_RANGE_REASON);
  } else {
    return fail_type(err, "time", "string or number", v);
  }
  if (t < 0) return fail(err, "time", TIME_RANGE_REASON);
  *out = t;
  return 0;
}

/* An integer severity 1..24 from a NUMBER. Returns it, or -1 with *err naming `field`. */
static int convert_severity_number(const json_value *v, const char *field, evd_field_error *err) {
  int64_t x;
  if (json_as_int64(v, &x) != 0) {
    char s[48];
    shown(s, sizeof s, v->s, v->n, 32);
    return fail(err, field, "expected an integer 1..24, got %s", s);
  }
  if (x < 1 || x > 24) return fail(err, field, "must be 1..24, got %lld", (long long)x);
  return (int)x;
}

/* Convert `labels` into an arena array. Returns 0, or -1 with *err. */
static int convert_labels(const json_value *v, const evd_limits *lim, arena *a, event *ev,
                          evd_field_error *err) {
  if (v->type != JSON_OBJECT) return fail_type(err, "labels", "object", v);
  if (v->n > lim->labels_max)
    return fail_limit(err, "labels", "has %u labels, more than the limit of %zu (limits.labels_max)",
                v->n, lim->labels_max);
  if (v->n == 0) return 0;
  evd_label *labels = arena_alloc(a, v->n * sizeof *labels);
  if (!labels) return fail_nomem(err);
  size_t i = 0;
  for (const json_value *m = v->child; m; m = m->next) {
    if (m->type != JSON_STRING) {
      char path[160];
      label_path(path, sizeof path, m->key, m->key_len);
      return fail_type(err, path, "string", m);
    }
    labels[i].key.p = m->key;
    labels[i].key.n = m->key_len;
    labels[i].value.p = m->s;
    labels[i].value.n = m->n;
    i++;
  }
  ev->labels = labels;
  ev->nlabels = i;
  return 0;
}

/* ---- shared checks ------------------------------------------------------------------ */

/* Check a hex id (trace_id: 32 digits, span_id: 16), store it lowercase. */
static int check_hex_id(event *ev, evd_field f, size_t digits, arena *a, evd_field_error *err) {
  strv *v = &ev->f[f];
  const char *name = FIELD_NAMES[f];
  if (v->n != digits) return fail(err, name, "must be %zu hex digits, got %zu bytes", digits, v->n);
  int upper = 0, nonzero = 0;
  for (size_t i = 0; i < v->n; i++) {
    char c = v->p[i];
    if (c >= '0' && c <= '9') nonzero |= c != '0';
    else if (c >= 'a' && c <= 'f') nonzero = 1;
    else if (c >= 'A' && c <= 'F') nonzero = upper = 1;
    else return fail(err, name, "must be %zu hex digits", digits);
  }
  if (!nonzero) return fail(err, name, "must not be all zeros");
  if (upper) {
    char *low = arena_alloc(a, v->n + 1);
    if (!low) return fail_nomem(err);
    for (size_t i = 0; i < v->n; i++) {
      char c = v->p[i];
      low[i] = (char)(c >= 'A' && c <= 'F' ? c + 32 : c);
    }
    low[v->n] = '\0';
    v->p = low;
  }
  return 0;
}

/* Why a routing key is invalid, for the error message. */
static const char *routing_key_problem(const char *s, size_t n) {
  if (n > 255) return "exceeds 255 bytes";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c == 0x7f) return "must not contain whitespace or control characters";
  }
  return "'*' and '#' are not allowed as words of a routing key";
}

enum { CHECK_UTF8 = 1, TIME_GIVEN = 2 };

/* Defaults and limits shared by event_from_json and event_finish (see event.h). */
static int check_event(event *ev, const evd_limits *lim, int64_t now_ns, arena *a,
                       evd_field_error *err, int flags) {
  if (ev->f[EVF_TYPE].n == 0) return fail(err, "type", "required");
  if (flags & CHECK_UTF8) {
    for (int f = 0; f < EVF__COUNT; f++)
      if (ev->f[f].n && !utf8_valid(ev->f[f].p, ev->f[f].n))
        return fail(err, FIELD_NAMES[f], "invalid UTF-8");
    for (size_t i = 0; i < ev->nlabels; i++) {
      const evd_label *l = &ev->labels[i];
      if (!utf8_valid(l->key.p, l->key.n)) return fail(err, "labels", "invalid UTF-8 in a key");
      if (!utf8_valid(l->value.p, l->value.n)) {
        char path[160];
        label_path(path, sizeof path, l->key.p, l->key.n);
        return fail(err, path, "invalid UTF-8");
      }
    }
  }

  /* Names, with their defaults. */
  if (ev->f[EVF_TENANT].n == 0) ev->f[EVF_TENANT] = (strv){"default", 7};
  if (ev->f[EVF_STREAM].n == 0) ev->f[EVF_STREAM] = (strv){"default", 7};
  if (check_name("tenant", ev->f[EVF_TENANT], lim, err) != 0) return -1;
  if (check_name("stream", ev->f[EVF_STREAM], lim, err) != 0) return -1;
  if (check_name("type", ev->f[EVF_TYPE], lim, err) != 0) return -1;

  /* Routing key: given, or stream.type. */
  strv *key = &ev->f[EVF_KEY];
  int key_defaulted = 0;
  if (key->n == 0) {
    strv s = ev->f[EVF_STREAM], t = ev->f[EVF_TYPE];
    char *k = arena_alloc(a, s.n + 1 + t.n + 1);
    if (!k) return fail_nomem(err);
    memcpy(k, s.p, s.n);
    k[s.n] = '.';
    memcpy(k + s.n + 1, t.p, t.n);
    k[s.n + 1 + t.n] = '\0';
    *key = (strv){k, s.n + 1 + t.n};
    key_defaulted = 1;
  }
  if (key->n > lim->name_max)
    return fail_limit(err, "key", "exceeds %zu bytes (limits.name_max)%s", lim->name_max,
                key_defaulted ? " (the default key is stream + '.' + type)" : "");
  if (!routing_key_valid(key->p, key->n))
    return fail(err, "key", "%s%s", routing_key_problem(key->p, key->n),
                key_defaulted ? " (the default key is stream + '.' + type)" : "");

  /* id: printable ASCII without spaces. */
  if (ev->id.n) {
    if (ev->id.n > lim->value_max)
      return fail_limit(err, "id", "exceeds %zu bytes (limits.value_max)", lim->value_max);
    for (size_t i = 0; i < ev->id.n; i++) {
      unsigned char c = (unsigned char)ev->id.p[i];
      if (c < 0x21 || c > 0x7e) {
        char d[16];
        char_desc(c, d);
        return fail(err, "id", "invalid character %s (allowed: printable ASCII without spaces)", d);
      }
    }
  }

  static const evd_field value_fields[] = {EVF_TAG, EVF_SOURCE, EVF_CORRELATION_ID, EVF_STATE};
  for (size_t i = 0; i < sizeof value_fields / sizeof value_fields[0]; i++) {
    evd_field f = value_fields[i];
    if (ev->f[f].n > lim->value_max)
      return fail_limit(err, FIELD_NAMES[f], "exceeds %zu bytes (limits.value_max)", lim->value_max);
  }
  if (ev->f[EVF_MESSAGE].n > lim->message_max)
    return fail_limit(err, "message", "exceeds %zu bytes (limits.message_max)", lim->message_max);
  if (ev->f[EVF_TRACE_ID].n && check_hex_id(ev, EVF_TRACE_ID, 32, a, err) != 0) return -1;
  if (ev->f[EVF_SPAN_ID].n && check_hex_id(ev, EVF_SPAN_ID, 16, a, err) != 0) return -1;

  if (ev->severity_number == 0) ev->severity_number = 9;
  if (ev->severity_number < 1 || ev->severity_number > 24)
    return fail(err, "severity_number", "must be 1..24, got %d", ev->severity_number);

  if (!(flags & TIME_GIVEN) && ev->time_ns == 0) ev->time_ns = now_ns;
  if (ev->time_ns < 0) return fail(err, "time", TIME_RANGE_REASON);
  ev->observed_ns = now_ns;

  /* Labels: count, keys, values, uniqueness. */
  if (ev->nlabels > lim->labels_max)
    return fail_limit(err, "labels", "has %zu labels, more than the limit of %zu (limits.labels_max)",
                ev->nlabels, lim->labels_max);
  const unsigned char *cls = classes();
  char path[160];
#define LABEL_PATH() (label_path(path, sizeof path, l->key.p, l->key.n), path)
  for (size_t i = 0; i < ev->nlabels; i++) {
    const evd_label *l = &ev->labels[i];
    if (l->key.n == 0) return fail(err, "labels", "a label key must not be empty");
    if (l->key.n > lim->name_max)
      return fail_limit(err, LABEL_PATH(), "key exceeds %zu bytes (limits.name_max)", lim->name_max);
    for (size_t j = 0; j < l->key.n; j++) {
      unsigned char c = (unsigned char)l->key.p[j];
      if (!(cls[c] & CC_LABEL)) {
        char d[16];
        char_desc(c, d);
        return fail(err, LABEL_PATH(), "invalid character %s in key (allowed: A-Z a-z 0-9 _ . -)",
                    d);
      }
    }
    if (l->value.n > lim->value_max)
      return fail_limit(err, LABEL_PATH(), "exceeds %zu bytes (limits.value_max)", lim->value_max);
    for (size_t j = 0; j < i; j++)
      if (ev->labels[j].key.n == l->key.n && memcmp(ev->labels[j].key.p, l->key.p, l->key.n) == 0)
        return fail(err, LABEL_PATH(), "duplicate label");
  }
#undef LABEL_PATH

  if (ev->data && ev->data->type != JSON_OBJECT) return fail_type(err, "data", "object", ev->data);
  if (ev->resource && ev->resource->type != JSON_OBJECT)
    return fail_type(err, "resource", "object", ev->resource);
  return 0;
}

int event_finish(event *ev, const evd_limits *lim, int64_t now_ns, arena *a, evd_field_error *err) {
  return check_event(ev, lim, now_ns, a, err, CHECK_UTF8);
}

/* ---- from JSON ---------------------------------------------------------------------- */

/* Members of the event object. */
typedef enum {
  M_UNKNOWN = 0, M_ID, M_TIME, M_SEVERITY, M_SEVERITY_NUMBER, M_LABELS, M_DATA, M_RESOURCE,
  M_OBSERVED_TIME, M_STRING /* one of the string fields; the field in *f */
} member_kind;

static member_kind classify(const char *k, size_t n, evd_field *f) {
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(k, lit, sizeof(lit) - 1) == 0)
  switch (k[0]) {
    case 'c': if (IS("correlation_id")) return *f = EVF_CORRELATION_ID, M_STRING; break;
    case 'd': if (IS("data")) return M_DATA; break;
    case 'i': if (IS("id")) return M_ID; break;
    case 'k': if (IS("key")) return *f = EVF_KEY, M_STRING; break;
    case 'l': if (IS("labels")) return M_LABELS; break;
    case 'm': if (IS("message")) return *f = EVF_MESSAGE, M_STRING; break;
    case 'o': if (IS("observed_time")) return M_OBSERVED_TIME; break;
    case 'r': if (IS("resource")) return M_RESOURCE; break;
    case 's':
      if (IS("stream")) return *f = EVF_STREAM, M_STRING;
      if (IS("source")) return *f = EVF_SOURCE, M_STRING;
      if (IS("severity")) return M_SEVERITY;
      if (IS("severity_number")) return M_SEVERITY_NUMBER;
      if (IS("state")) return *f = EVF_STATE, M_STRING;
      if (IS("span_id")) return *f = EVF_SPAN_ID, M_STRING;
      break;
    case 't':
      if (IS("type")) return *f = EVF_TYPE, M_STRING;
      if (IS("time")) return M_TIME;
      if (IS("tenant")) return *f = EVF_TENANT, M_STRING;
      if (IS("tag")) return *f = EVF_TAG, M_STRING;
      if (IS("trace_id")) return *f = EVF_TRACE_ID, M_STRING;
      break;
    default: break;
  }
  return M_UNKNOWN;
#undef IS
}

int event_from_json(const json_value *obj, const evd_limits *lim, int64_t now_ns, arena *a,
                    event *ev, evd_field_error *err) {
  memset(ev, 0, sizeof *ev);
  err->field[0] = err->reason[0] = '\0';
  if (!obj) return fail(err, "", "expected object");
  if (obj->type != JSON_OBJECT) return fail_type(err, "", "object", obj);

  const json_value *sev = NULL, *sevnum = NULL;
  int flags = 0;
  for (const json_value *m = obj->child; m; m = m->next) {
    evd_field f = EVF_TENANT;
    member_kind kind = m->key_len ? classify(m->key, m->key_len, &f) : M_UNKNOWN;
    if (kind == M_UNKNOWN) {
      char name[128];
      shown(name, sizeof name, m->key, m->key_len, 96);
      return fail(err, name, "unknown field");
    }
    if (kind == M_OBSERVED_TIME)
      return fail(err, "observed_time", "is set by eventd and cannot be sent");
    if (m->type == JSON_NULL) { /* null: the field is absent */
      if (kind == M_STRING && f == EVF_TYPE) return fail(err, "type", "required");
      continue;
    }
    switch (kind) {
      case M_STRING:
        if (m->type != JSON_STRING) return fail_type(err, FIELD_NAMES[f], "string", m);
        if (m->n == 0 && (f <= EVF_KEY || f == EVF_TRACE_ID || f == EVF_SPAN_ID))
          return fail(err, FIELD_NAMES[f], "must not be empty");
        ev->f[f] = (strv){m->s, m->n};
        break;
      case M_ID:
        if (m->type != JSON_STRING) return fail_type(err, "id", "string", m);
        if (m->n == 0) return fail(err, "id", "must not be empty");
        ev->id = (strv){m->s, m->n};
        break;
      case M_TIME:
        if (convert_time(m, &ev->time_ns, err) != 0) return -1;
        flags |= TIME_GIVEN;
        break;
      case M_SEVERITY:
        if (m->type == JSON_STRING) {
          int s = severity_from_text(m->s, m->n);
          if (s < 0) {
            char t[48];
            shown(t, sizeof t, m->s, m->n, 32);
            return fail(err, "severity", "unknown severity '%s'", t);
          }
          ev->severity_number = s;
        } else if (m->type == JSON_NUMBER) {
          int s = convert_severity_number(m, "severity", err);
          if (s < 0) return -1;
          ev->severity_number = s;
        } else {
          return fail_type(err, "severity", "string or number", m);
        }
        sev = m;
        break;
      case M_SEVERITY_NUMBER:
        if (m->type != JSON_NUMBER) return fail_type(err, "severity_number", "number", m);
        if (convert_severity_number(m, "severity_number", err) < 0) return -1;
        sevnum = m;
        break;
      case M_LABELS:
        if (convert_labels(m, lim, a, ev, err) != 0) return -1;
        break;
      case M_DATA:
        if (m->type != JSON_OBJECT) return fail_type(err, "data", "object", m);
        ev->data = m;
        break;
      case M_RESOURCE:
        if (m->type != JSON_OBJECT) return fail_type(err, "resource", "object", m);
        ev->resource = m;
        break;
      default:
        break;
    }
  }
  if (sevnum) {
    int n = convert_severity_number(sevnum, "severity_number", err);
    /* With both, the number refines the text (WARN + 14 is WARN2) but may not contradict
     * it (WARN + 17 is an error). */
    if (sev && strcmp(severity_text(n), severity_text(ev->severity_number)) != 0)
      return fail(err, "severity_number", "%d (%s) disagrees with severity %s", n,
                  severity_text(n), severity_text(ev->severity_number));
    ev->severity_number = n;
  }
  return check_event(ev, lim, now_ns, a, err, flags);
}

/* ---- canonical JSON ----------------------------------------------------------------- */

/* Append p[0..n), with buf_reserve's "enough room already" test inlined. */
static inline int put(buf *out, const char *p, size_t n) {
  if (out->cap - out->len <= n && buf_reserve(out, n) != 0) return -1;
  memcpy(out->data + out->len, p, n);
  out->len += n;
  out->data[out->len] = '\0';
  return 0;
}
#define PUT_LIT(out, lit) put(out, lit, sizeof(lit) - 1)

/* Append ,"name":"<string>" for a present field. */
static int put_field(buf *out, const char *member, size_t mlen, strv v) {
  if (v.n == 0) return 0;
  if (put(out, member, mlen) != 0) return -1;
  return json_write_string(out, v.p, v.n);
}
#define PUT_FIELD(out, lit, v) put_field(out, lit, sizeof(lit) - 1, v)

static int put_time(buf *out, const char *member, size_t mlen, int64_t ns) {
  char t[TIME_RFC3339_LEN + 1];
  time_format_rfc3339(ns, t);
  if (buf_reserve(out, mlen + TIME_RFC3339_LEN + 2) != 0) return -1;
  char *o = out->data + out->len;
  memcpy(o, member, mlen);
  o += mlen;
  *o++ = '"';
  memcpy(o, t, TIME_RFC3339_LEN);
  o += TIME_RFC3339_LEN;
  *o++ = '"';
  out->len = (size_t)(o - out->data);
  out->data[out->len] = '\0';
  return 0;
}

/* Append ,"severity":"INFO","severity_number":9 */
static int put_severity(buf *out, int number) {
  const char *text = severity_text(number);
  size_t tl = strlen(text);
  if (buf_reserve(out, 64) != 0) return -1;
  char *o = out->data + out->len;
  memcpy(o, ",\"severity\":\"", 13);
  o += 13;
  memcpy(o, text, tl);
  o += tl;
  memcpy(o, "\",\"severity_number\":", 20);
  o += 20;
  unsigned v = number < 0 ? 0 : (unsigned)number; /* 1..24 after check_event */
  if (v >= 10) *o++ = (char)('0' + v / 10 % 10);
  *o++ = (char)('0' + v % 10);
  out->len = (size_t)(o - out->data);
  out->data[out->len] = '\0';
  return 0;
}

int event_write_json(const event *ev, const char *id, size_t idlen, buf *out) {
  size_t guess = 320 + idlen;
  for (int f = 0; f < EVF__COUNT; f++) guess += ev->f[f].n;
  if (buf_reserve(out, guess) != 0) return -1;
  size_t start = out->len;
  const strv *f = ev->f;
  int rc = 0;
  rc |= PUT_LIT(out, "{\"id\":");
  rc |= json_write_string(out, id, idlen);
  rc |= put_time(out, ",\"time\":", 8, ev->time_ns);
  rc |= put_time(out, ",\"observed_time\":", 17, ev->observed_ns);
  rc |= PUT_FIELD(out, ",\"tenant\":", f[EVF_TENANT]);
  rc |= PUT_FIELD(out, ",\"stream\":", f[EVF_STREAM]);
  rc |= PUT_FIELD(out, ",\"type\":", f[EVF_TYPE]);
  rc |= PUT_FIELD(out, ",\"key\":", f[EVF_KEY]);
  rc |= PUT_FIELD(out, ",\"tag\":", f[EVF_TAG]);
  rc |= put_severity(out, ev->severity_number);
  rc |= PUT_FIELD(out, ",\"source\":", f[EVF_SOURCE]);
  rc |= PUT_FIELD(out, ",\"message\":", f[EVF_MESSAGE]);
  rc |= PUT_FIELD(out, ",\"correlation_id\":", f[EVF_CORRELATION_ID]);
  rc |= PUT_FIELD(out, ",\"state\":", f[EVF_STATE]);
  rc |= PUT_FIELD(out, ",\"trace_id\":", f[EVF_TRACE_ID]);
  rc |= PUT_FIELD(out, ",\"span_id\":", f[EVF_SPAN_ID]);
  if (ev->nlabels) {
    rc |= PUT_LIT(out, ",\"labels\":{");
    for (size_t i = 0; i < ev->nlabels; i++) {
      if (i) rc |= PUT_LIT(out, ",");
      rc |= json_write_string(out, ev->labels[i].key.p, ev->labels[i].key.n);
      rc |= PUT_LIT(out, ":");
      rc |= json_write_string(out, ev->labels[i].value.p, ev->labels[i].value.n);
    }
    rc |= PUT_LIT(out, "}");
  }
  if (ev->resource) {
    rc |= PUT_LIT(out, ",\"resource\":");
    rc |= json_write_value(out, ev->resource);
  }
  if (ev->data) {
    rc |= PUT_LIT(out, ",\"data\":");
    rc |= json_write_value(out, ev->data);
  }
  rc |= PUT_LIT(out, "}");
  if (rc != 0) { /* out of memory somewhere: leave out as it was */
    out->len = start;
    if (out->data) out->data[start] = '\0';
    return -1;
  }
  return 0;
}
