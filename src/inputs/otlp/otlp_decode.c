/* otlp_decode: record assembly shared by the JSON and protobuf front ends (otlp_json.c,
 * otlp_proto.c), and the JSON-tree builders they use. Contract: otlp_decode.h. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inputs/otlp/otlp_internal.h"

/* ---- tree building ----------------------------------------------------------------------- */

json_value *otlp_new_value(arena *a, json_type t) {
  json_value *v = arena_calloc(a, sizeof *v);
  if (v) v->type = t;
  return v;
}

json_value *otlp_new_string(arena *a, const char *s, size_t n) {
  json_value *v = otlp_new_value(a, JSON_STRING);
  if (!v) return NULL;
  v->s = s;
  v->n = (uint32_t)n;
  return v;
}

static json_value *number_text(arena *a, const char *text) {
  size_t n = strlen(text);
  char *copy = arena_strndup(a, text, n);
  json_value *v = copy ? otlp_new_value(a, JSON_NUMBER) : NULL;
  if (!v) return NULL;
  v->s = copy;
  v->n = (uint32_t)n;
  return v;
}

json_value *otlp_new_number_i64(arena *a, int64_t x) {
  char t[32];
  snprintf(t, sizeof t, "%" PRId64, x);
  return number_text(a, t);
}

json_value *otlp_new_number_u64(arena *a, uint64_t x) {
  char t[32];
  snprintf(t, sizeof t, "%" PRIu64, x);
  return number_text(a, t);
}

json_value *otlp_new_number_double(arena *a, double d) {
  if (isnan(d)) return otlp_new_string(a, "NaN", 3);
  if (isinf(d)) return d > 0 ? otlp_new_string(a, "Infinity", 8) : otlp_new_string(a, "-Infinity", 9);
  char t[40];
  snprintf(t, sizeof t, "%.17g", d);
  /* %.17g may print "1e+300" (valid JSON) or "inf" (excluded above). */
  return number_text(a, t);
}

void otlp_append(json_value *parent, json_value **tail, json_value *v, const char *key, size_t klen) {
  v->key = key;
  v->key_len = (uint32_t)klen;
  v->next = NULL;
  if (*tail) (*tail)->next = v;
  else parent->child = v;
  *tail = v;
  parent->n++;
}

json_value *otlp_new_base64(arena *a, const void *p, size_t n) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t outn = (n + 2) / 3 * 4;
  char *out = arena_alloc(a, outn + 1);
  if (!out) return NULL;
  const unsigned char *s = p;
  size_t o = 0, i = 0;
  for (; i + 2 < n; i += 3) {
    unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
    out[o++] = tbl[v >> 18];
    out[o++] = tbl[(v >> 12) & 63];
    out[o++] = tbl[(v >> 6) & 63];
    out[o++] = tbl[v & 63];
  }
  if (i < n) {
    unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0);
    out[o++] = tbl[v >> 18];
    out[o++] = tbl[(v >> 12) & 63];
    out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
    out[o++] = '=';
  }
  out[o] = '\0';
  return otlp_new_string(a, out, o);
}

static int cmp_member_ptr(const void *x, const void *y) {
  const json_value *a = *(const json_value *const *)x, *b = *(const json_value *const *)y;
  size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
  int c = memcmp(a->key, b->key, n);
  if (c) return c;
  return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

int otlp_has_duplicate_key(arena *a, const json_value *obj, const json_value **dup) {
  size_t n = obj->n;
  if (n < 2) return 0;
  if (n <= 32) {
    for (const json_value *m = obj->child; m; m = m->next)
      for (const json_value *k = m->next; k; k = k->next)
        if (k->key_len == m->key_len && memcmp(k->key, m->key, m->key_len) == 0) {
          *dup = k;
          return 1;
        }
    return 0;
  }
  const json_value **v = arena_alloc(a, n * sizeof *v);
  if (!v) return -1;
  size_t i = 0;
  for (const json_value *m = obj->child; m && i < n; m = m->next) v[i++] = m;
  qsort(v, i, sizeof *v, cmp_member_ptr);
  for (size_t k = 1; k < i; k++)
    if (cmp_member_ptr(&v[k - 1], &v[k]) == 0) {
      *dup = v[k];
      return 1;
    }
  return 0;
}

/* ---- assembly ---------------------------------------------------------------------------- */

#define KEY_IS(m, lit) ((m)->key_len == sizeof(lit) - 1 && memcmp((m)->key, lit, sizeof(lit) - 1) == 0)

static int name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '/' || c == '@' || c == '-';
}

/* 1 if s[0..n) is a valid stream name (event.c's rule, without the length limit). */
static int valid_name(const char *s, size_t n) {
  if (n == 0 || s[0] == '.' || s[n - 1] == '.') return 0;
  for (size_t i = 0; i < n; i++) {
    if (!name_char(s[i])) return 0;
    if (s[i] == '.' && i + 1 < n && s[i + 1] == '.') return 0;
  }
  return 1;
}

/* Hex id: empty or all zeros -> absent; otherwise digits hex digits. Returns 0 or -1. */
static int take_hex_id(strv in, size_t digits, strv *out, const char *what, char *reason,
                       size_t rl) {
  out->p = NULL;
  out->n = 0;
  if (in.n == 0) return 0;
  int nonzero = 0;
  for (size_t i = 0; i < in.n; i++) {
    char c = in.p[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      snprintf(reason, rl, "%s must be %zu hex digits", what, digits);
      return -1;
    }
    if (c != '0') nonzero = 1;
  }
  if (in.n != digits) {
    snprintf(reason, rl, "%s must be %zu hex digits, got %zu", what, digits, in.n);
    return -1;
  }
  if (nonzero) *out = in;
  return 0;
}

int otlp_assemble(arena *a, const otlp_opts *o, const otlp_resource_in *res,
                  const otlp_scope_in *scope, otlp_record_in *rec, event *ev, char *reason,
                  size_t rl) {
  memset(ev, 0, sizeof *ev);
  if (res && res->error) {
    snprintf(reason, rl, "resource: %s", res->error);
    return -1;
  }
  if (scope && scope->error) {
    snprintf(reason, rl, "scope: %s", scope->error);
    return -1;
  }
  /* type: eventName, else attribute event.name (taken out of the attributes). */
  json_value *attrs = rec->attrs;
  if (rec->event_name.n) {
    ev->f[EVF_TYPE] = rec->event_name;
  } else if (attrs) {
    json_value *prev = NULL;
    for (json_value *m = attrs->child; m; prev = m, m = m->next)
      if (KEY_IS(m, "event.name") && m->type == JSON_STRING && m->n) {
        ev->f[EVF_TYPE] = (strv){m->s, m->n};
        if (prev) prev->next = m->next;
        else attrs->child = m->next;
        attrs->n--;
        break;
      }
  }
  if (!ev->f[EVF_TYPE].n) {
    const char *dt = o->default_type && *o->default_type ? o->default_type : "otlp.log";
    ev->f[EVF_TYPE] = (strv){dt, strlen(dt)};
  }
  /* severity */
  int sev = rec->severity_number;
  if (sev < 0 || sev > 24) {
    snprintf(reason, rl, "severityNumber must be 0..24, got %d", sev);
    return -1;
  }
  if (sev == 0 && rec->severity_text.n) {
    int t = severity_from_text(rec->severity_text.p, rec->severity_text.n);
    if (t > 0) sev = t;
  }
  ev->severity_number = sev; /* 0: event_finish's default (INFO) */
  /* time */
  uint64_t t = rec->time_ns ? rec->time_ns : rec->observed_ns;
  if (t > (uint64_t)INT64_MAX) {
    snprintf(reason, rl, "timeUnixNano %" PRIu64 " is out of range (after 2262-04-11)", t);
    return -1;
  }
  ev->time_ns = (int64_t)t; /* 0: event_finish's default (now) */
  /* ids */
  if (take_hex_id(rec->trace_id, 32, &ev->f[EVF_TRACE_ID], "traceId", reason, rl) != 0 ||
      take_hex_id(rec->span_id, 16, &ev->f[EVF_SPAN_ID], "spanId", reason, rl) != 0)
    return -1;
  /* body */
  json_value *data = NULL, *dtail = NULL;
  if (attrs && attrs->n) {
    data = attrs;
    for (dtail = attrs->child; dtail && dtail->next; dtail = dtail->next) {
    }
  }
#define DATA_ADD(v, key)                                                   \
  do {                                                                     \
    json_value *v_ = (v);                                                  \
    if (!v_) return -2;                                                    \
    if (!data && !(data = otlp_new_value(a, JSON_OBJECT))) return -2;      \
    otlp_append(data, &dtail, v_, key, strlen(key));                       \
  } while (0)
  if (rec->body) {
    if (rec->body->type == JSON_STRING) ev->f[EVF_MESSAGE] = (strv){rec->body->s, rec->body->n};
    else if (rec->body->type != JSON_NULL) {
      if (data && json_get(data, "body")) {
        snprintf(reason, rl, "attribute 'body' collides with the record's non-string body");
        return -1;
      }
      DATA_ADD(rec->body, "body");
    }
  }
  if (rec->severity_text.n) {
    const char *canon = severity_text(sev ? sev : 9);
    size_t cn = strlen(canon);
    int same = rec->severity_text.n == cn;
    for (size_t i = 0; same && i < cn; i++) {
      char c = rec->severity_text.p[i];
      if ((c >= 'a' && c <= 'z' ? c - 32 : c) != canon[i]) same = 0;
    }
    if (!same && !(data && json_get(data, "severity_text")))
      DATA_ADD(otlp_new_string(a, rec->severity_text.p, rec->severity_text.n), "severity_text");
  }
  if (rec->flags && !(data && json_get(data, "trace_flags")))
    DATA_ADD(otlp_new_number_u64(a, rec->flags), "trace_flags");
  if (rec->dropped && !(data && json_get(data, "dropped_attributes_count")))
    DATA_ADD(otlp_new_number_u64(a, rec->dropped), "dropped_attributes_count");
  if (scope && scope->attrs && scope->attrs->n && !(data && json_get(data, "otel.scope.attributes"))) {
    json_value *copy = arena_alloc(a, sizeof *copy);
    if (!copy) return -2;
    *copy = *scope->attrs;
    DATA_ADD(copy, "otel.scope.attributes");
  }
#undef DATA_ADD
  ev->data = data;
  /* resource: stream and source from it */
  if (res && res->attrs && res->attrs->n) {
    ev->resource = res->attrs;
    const char *sa = o->stream_attribute;
    for (const json_value *m = res->attrs->child; m; m = m->next) {
      if (m->type != JSON_STRING || m->n == 0) continue;
      if (sa && *sa && m->key_len == strlen(sa) && memcmp(m->key, sa, m->key_len) == 0 &&
          valid_name(m->s, m->n))
        ev->f[EVF_STREAM] = (strv){m->s, m->n};
      else if (KEY_IS(m, "host.name"))
        ev->f[EVF_SOURCE] = (strv){m->s, m->n};
    }
  }
  /* scope -> labels */
  if (scope && (scope->name.n || scope->version.n)) {
    evd_label *l = arena_alloc(a, 2 * sizeof *l);
    if (!l) return -2;
    size_t nl = 0;
    if (scope->name.n) l[nl++] = (evd_label){{"otel.scope.name", 15}, scope->name};
    if (scope->version.n) l[nl++] = (evd_label){{"otel.scope.version", 18}, scope->version};
    ev->labels = l;
    ev->nlabels = nl;
  }
  return 0;
}
