/* otlp_json: the OTLP JSON front end (otlp_decode.h). The OTLP JSON encoding is protobuf's
 * JSON mapping with lowerCamelCase names (the original snake_case names are accepted too),
 * 64-bit integers as strings or numbers, enums as integers (or their names), bytes ids as
 * hex, and unknown members ignored. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inputs/otlp/otlp_internal.h"

/* Member `camel` or `snake` of obj (NULL when absent or null). */
static const json_value *member2(const json_value *obj, const char *camel, const char *snake) {
  if (!obj || obj->type != JSON_OBJECT) return NULL;
  size_t cn = strlen(camel), sn = snake ? strlen(snake) : 0;
  for (const json_value *m = obj->child; m; m = m->next) {
    if ((m->key_len == cn && memcmp(m->key, camel, cn) == 0) ||
        (snake && m->key_len == sn && memcmp(m->key, snake, sn) == 0))
      return m->type == JSON_NULL ? NULL : m;
  }
  return NULL;
}

/* An unsigned 64-bit integer written as a JSON number or a decimal string. */
static int as_u64(const json_value *v, uint64_t *out) {
  if (!v || (v->type != JSON_NUMBER && v->type != JSON_STRING) || v->n == 0 || v->n > 20) return -1;
  uint64_t x = 0;
  for (uint32_t i = 0; i < v->n; i++) {
    unsigned d = (unsigned)(v->s[i] - '0');
    if (d > 9) return -1;
    if (x > (UINT64_MAX - d) / 10) return -1;
    x = x * 10 + d;
  }
  *out = x;
  return 0;
}

/* A signed 64-bit integer (number or string). */
static int as_i64(const json_value *v, int64_t *out) {
  if (!v || (v->type != JSON_NUMBER && v->type != JSON_STRING) || v->n == 0 || v->n > 21) return -1;
  int neg = v->s[0] == '-';
  uint64_t x = 0;
  uint32_t i = neg ? 1 : 0;
  if (i == v->n) return -1;
  for (; i < v->n; i++) {
    unsigned d = (unsigned)(v->s[i] - '0');
    if (d > 9) return -1;
    if (x > (UINT64_MAX - d) / 10) return -1;
    x = x * 10 + d;
  }
  if (neg ? x > (uint64_t)INT64_MAX + 1 : x > (uint64_t)INT64_MAX) return -1;
  *out = neg ? (int64_t)(0 - x) : (int64_t)x;
  return 0;
}

static json_value *any_value(arena *a, const json_value *av, int depth, int max_depth, char *reason,
                             size_t rl, int *oom);

/* A KeyValue array -> a new object; depth is the object's own depth. */
static json_value *kv_object(arena *a, const json_value *arr, int depth, int max_depth,
                             const char *what, char *reason, size_t rl, int *oom) {
  if (depth > max_depth) {
    snprintf(reason, rl, "%s: nesting deeper than %d", what, max_depth);
    return NULL;
  }
  json_value *obj = otlp_new_value(a, JSON_OBJECT), *tail = NULL;
  if (!obj) return *oom = 1, NULL;
  if (!arr) return obj;
  if (arr->type != JSON_ARRAY) {
    snprintf(reason, rl, "%s: expected an array of key/value objects, got %s", what,
             json_type_name(arr->type));
    return NULL;
  }
  for (const json_value *kv = arr->child; kv; kv = kv->next) {
    const json_value *k = member2(kv, "key", NULL);
    if (kv->type != JSON_OBJECT || !k || k->type != JSON_STRING) {
      snprintf(reason, rl, "%s: every element needs a string key", what);
      return NULL;
    }
    const json_value *val = member2(kv, "value", NULL);
    json_value *v;
    if (!val) {
      if (!(v = otlp_new_value(a, JSON_NULL))) return *oom = 1, NULL;
    } else if (!(v = any_value(a, val, depth + 1, max_depth, reason, rl, oom))) {
      if (!*oom && !reason[0]) snprintf(reason, rl, "%s: invalid value", what);
      return NULL;
    }
    otlp_append(obj, &tail, v, k->s, k->n);
  }
  const json_value *dup;
  int d = otlp_has_duplicate_key(a, obj, &dup);
  if (d < 0) return *oom = 1, NULL;
  if (d) {
    snprintf(reason, rl, "%s: duplicate key '%.64s'", what, dup->key);
    return NULL;
  }
  return obj;
}

/* An AnyValue object -> its plain JSON value; depth: the value's depth. */
static json_value *any_value(arena *a, const json_value *av, int depth, int max_depth, char *reason,
                             size_t rl, int *oom) {
  if (av->type != JSON_OBJECT) {
    snprintf(reason, rl, "AnyValue must be an object, got %s", json_type_name(av->type));
    return NULL;
  }
  const json_value *v;
  if ((v = member2(av, "stringValue", "string_value"))) {
    if (v->type != JSON_STRING) return snprintf(reason, rl, "stringValue must be a string"), NULL;
    json_value *r = otlp_new_string(a, v->s, v->n);
    return r ? r : (*oom = 1, NULL);
  }
  if ((v = member2(av, "boolValue", "bool_value"))) {
    if (v->type != JSON_TRUE && v->type != JSON_FALSE)
      return snprintf(reason, rl, "boolValue must be true or false"), NULL;
    json_value *r = otlp_new_value(a, v->type);
    return r ? r : (*oom = 1, NULL);
  }
  if ((v = member2(av, "intValue", "int_value"))) {
    int64_t x;
    if (as_i64(v, &x) != 0) return snprintf(reason, rl, "intValue must be a 64-bit integer"), NULL;
    json_value *r = otlp_new_number_i64(a, x);
    return r ? r : (*oom = 1, NULL);
  }
  if ((v = member2(av, "doubleValue", "double_value"))) {
    double d;
    if (v->type == JSON_NUMBER) {
      if (json_as_double(v, &d) != 0) return snprintf(reason, rl, "invalid doubleValue"), NULL;
    } else if (v->type == JSON_STRING) {
      if (v->n == 3 && memcmp(v->s, "NaN", 3) == 0) d = NAN;
      else if (v->n == 8 && memcmp(v->s, "Infinity", 8) == 0) d = INFINITY;
      else if (v->n == 9 && memcmp(v->s, "-Infinity", 9) == 0) d = -INFINITY;
      else {
        char *end;
        errno = 0;
        d = strtod(v->s, &end);
        if (v->n == 0 || end != v->s + v->n || !isfinite(d))
          return snprintf(reason, rl, "invalid doubleValue"), NULL;
      }
    } else {
      return snprintf(reason, rl, "doubleValue must be a number"), NULL;
    }
    json_value *r = otlp_new_number_double(a, d);
    return r ? r : (*oom = 1, NULL);
  }
  if ((v = member2(av, "bytesValue", "bytes_value"))) {
    if (v->type != JSON_STRING) return snprintf(reason, rl, "bytesValue must be a base64 string"), NULL;
    json_value *r = otlp_new_string(a, v->s, v->n);
    return r ? r : (*oom = 1, NULL);
  }
  if ((v = member2(av, "arrayValue", "array_value"))) {
    if (depth > max_depth) return snprintf(reason, rl, "nesting deeper than %d", max_depth), NULL;
    const json_value *vals = member2(v, "values", NULL);
    json_value *arr = otlp_new_value(a, JSON_ARRAY), *tail = NULL;
    if (!arr) return *oom = 1, NULL;
    if (v->type != JSON_OBJECT || (vals && vals->type != JSON_ARRAY))
      return snprintf(reason, rl, "arrayValue must be {\"values\":[...]}"), NULL;
    for (const json_value *e = vals ? vals->child : NULL; e; e = e->next) {
      json_value *x = any_value(a, e, depth + 1, max_depth, reason, rl, oom);
      if (!x) return NULL;
      otlp_append(arr, &tail, x, NULL, 0);
    }
    return arr;
  }
  if ((v = member2(av, "kvlistValue", "kvlist_value"))) {
    if (v->type != JSON_OBJECT) return snprintf(reason, rl, "kvlistValue must be an object"), NULL;
    return kv_object(a, member2(v, "values", NULL), depth, max_depth, "kvlistValue", reason, rl, oom);
  }
  json_value *r = otlp_new_value(a, JSON_NULL); /* an empty AnyValue: no value */
  return r ? r : (*oom = 1, NULL);
}

/* A hex id member (traceId/spanId) as a strv (empty when absent). */
static int hex_member(const json_value *rec, const char *camel, const char *snake, strv *out,
                      char *reason, size_t rl) {
  const json_value *v = member2(rec, camel, snake);
  out->p = NULL;
  out->n = 0;
  if (!v) return 0;
  if (v->type != JSON_STRING) {
    snprintf(reason, rl, "%s must be a hex string", camel);
    return -1;
  }
  *out = (strv){v->s, v->n};
  return 0;
}

/* One log record object -> rec. Returns 0, -1 with reason, -2 out of memory. */
static int read_record(arena *a, const otlp_opts *o, const json_value *r, otlp_record_in *rec,
                       char *reason, size_t rl) {
  memset(rec, 0, sizeof *rec);
  if (r->type != JSON_OBJECT) {
    snprintf(reason, rl, "a log record must be an object, got %s", json_type_name(r->type));
    return -1;
  }
  const json_value *v;
  if ((v = member2(r, "timeUnixNano", "time_unix_nano")) && as_u64(v, &rec->time_ns) != 0) {
    snprintf(reason, rl, "timeUnixNano must be an unsigned 64-bit integer");
    return -1;
  }
  if ((v = member2(r, "observedTimeUnixNano", "observed_time_unix_nano")) &&
      as_u64(v, &rec->observed_ns) != 0) {
    snprintf(reason, rl, "observedTimeUnixNano must be an unsigned 64-bit integer");
    return -1;
  }
  if ((v = member2(r, "severityNumber", "severity_number"))) {
    int64_t x;
    if (v->type == JSON_STRING && v->n > 16 && memcmp(v->s, "SEVERITY_NUMBER_", 16) == 0) {
      int t = strcmp(v->s + 16, "UNSPECIFIED") == 0 ? 0 : severity_from_text(v->s + 16, v->n - 16);
      if (t < 0) {
        snprintf(reason, rl, "unknown severityNumber '%.40s'", v->s);
        return -1;
      }
      rec->severity_number = t;
    } else if (v->type != JSON_NUMBER || as_i64(v, &x) != 0 || x < 0 || x > 24) {
      snprintf(reason, rl, "severityNumber must be an integer 0..24");
      return -1;
    } else {
      rec->severity_number = (int)x;
    }
  }
  if ((v = member2(r, "severityText", "severity_text"))) {
    if (v->type != JSON_STRING) {
      snprintf(reason, rl, "severityText must be a string");
      return -1;
    }
    rec->severity_text = (strv){v->s, v->n};
  }
  if ((v = member2(r, "eventName", "event_name"))) {
    if (v->type != JSON_STRING) {
      snprintf(reason, rl, "eventName must be a string");
      return -1;
    }
    rec->event_name = (strv){v->s, v->n};
  }
  if ((v = member2(r, "flags", NULL))) {
    uint64_t x;
    if (as_u64(v, &x) != 0 || x > UINT32_MAX) {
      snprintf(reason, rl, "flags must be a 32-bit unsigned integer");
      return -1;
    }
    rec->flags = (uint32_t)x;
  }
  if ((v = member2(r, "droppedAttributesCount", "dropped_attributes_count"))) {
    uint64_t x;
    if (as_u64(v, &x) != 0 || x > UINT32_MAX) {
      snprintf(reason, rl, "droppedAttributesCount must be a 32-bit unsigned integer");
      return -1;
    }
    rec->dropped = (uint32_t)x;
  }
  if (hex_member(r, "traceId", "trace_id", &rec->trace_id, reason, rl) != 0 ||
      hex_member(r, "spanId", "span_id", &rec->span_id, reason, rl) != 0)
    return -1;
  int oom = 0;
  reason[0] = '\0';
  if ((v = member2(r, "body", NULL))) {
    rec->body = any_value(a, v, 3, o->max_depth, reason, rl, &oom);
    if (!rec->body) {
      if (oom) return -2;
      char tmp[256];
      snprintf(tmp, sizeof tmp, "%s", reason);
      snprintf(reason, rl, "body: %.200s", tmp);
      return -1;
    }
  }
  rec->attrs = kv_object(a, member2(r, "attributes", NULL), 2, o->max_depth, "attributes", reason,
                         rl, &oom);
  if (!rec->attrs) return oom ? -2 : -1;
  return 0;
}

int otlp_decode_json(arena *a, const otlp_opts *o, const char *body, size_t len, otlp_sink sink,
                     void *arg, char *err, size_t errlen) {
  json_error je;
  /* Each level of AnyValue nesting costs up to 4 JSON levels; the envelope about 8. */
  int depth = o->max_depth * 4 + 16;
  json_value *root = json_parse(a, body, len, depth, &je);
  if (!root) {
    if (strcmp(je.message, "out of memory") == 0) {
      snprintf(err, errlen, "out of memory");
      return OTLP_STOPPED;
    }
    snprintf(err, errlen, "request body is not valid JSON: %s at byte %zu", je.message, je.offset);
    return OTLP_BAD_REQUEST;
  }
  if (root->type != JSON_OBJECT) {
    snprintf(err, errlen, "an ExportLogsServiceRequest must be a JSON object, got %s",
             json_type_name(root->type));
    return OTLP_BAD_REQUEST;
  }
  const json_value *rls = member2(root, "resourceLogs", "resource_logs");
  if (rls && rls->type != JSON_ARRAY) {
    snprintf(err, errlen, "resourceLogs must be an array");
    return OTLP_BAD_REQUEST;
  }
  size_t index = 0;
  char reason[256];
  for (const json_value *rl = rls ? rls->child : NULL; rl; rl = rl->next) {
    if (rl->type != JSON_OBJECT) {
      snprintf(err, errlen, "resourceLogs[] must hold objects");
      return OTLP_BAD_REQUEST;
    }
    otlp_resource_in res = {0};
    char res_reason[256] = "";
    const json_value *r = member2(rl, "resource", NULL);
    if (r && r->type != JSON_OBJECT) {
      snprintf(err, errlen, "resource must be an object");
      return OTLP_BAD_REQUEST;
    }
    int oom = 0;
    res.attrs = kv_object(a, member2(r, "attributes", NULL), 2, o->max_depth, "attributes",
                          res_reason, sizeof res_reason, &oom);
    if (oom) goto nomem;
    if (!res.attrs) res.error = res_reason;
    const json_value *sls = member2(rl, "scopeLogs", "scope_logs");
    if (sls && sls->type != JSON_ARRAY) {
      snprintf(err, errlen, "scopeLogs must be an array");
      return OTLP_BAD_REQUEST;
    }
    for (const json_value *sl = sls ? sls->child : NULL; sl; sl = sl->next) {
      if (sl->type != JSON_OBJECT) {
        snprintf(err, errlen, "scopeLogs[] must hold objects");
        return OTLP_BAD_REQUEST;
      }
      otlp_scope_in scope = {0};
      char scope_reason[256] = "";
      const json_value *sc = member2(sl, "scope", NULL);
      if (sc) {
        if (sc->type != JSON_OBJECT) {
          snprintf(err, errlen, "scope must be an object");
          return OTLP_BAD_REQUEST;
        }
        const json_value *nm = member2(sc, "name", NULL), *ver = member2(sc, "version", NULL);
        if (nm && nm->type == JSON_STRING) scope.name = (strv){nm->s, nm->n};
        if (ver && ver->type == JSON_STRING) scope.version = (strv){ver->s, ver->n};
        if ((nm && nm->type != JSON_STRING) || (ver && ver->type != JSON_STRING))
          scope.error = "name and version must be strings";
        scope.attrs = kv_object(a, member2(sc, "attributes", NULL), 3, o->max_depth, "attributes",
                                scope_reason, sizeof scope_reason, &oom);
        if (oom) goto nomem;
        if (!scope.attrs && !scope.error) scope.error = scope_reason;
      }
      const json_value *lrs = member2(sl, "logRecords", "log_records");
      if (lrs && lrs->type != JSON_ARRAY) {
        snprintf(err, errlen, "logRecords must be an array");
        return OTLP_BAD_REQUEST;
      }
      for (const json_value *lr = lrs ? lrs->child : NULL; lr; lr = lr->next) {
        otlp_record_in rec;
        event ev;
        reason[0] = '\0';
        int rc = read_record(a, o, lr, &rec, reason, sizeof reason);
        if (rc == 0) rc = otlp_assemble(a, o, &res, &scope, &rec, &ev, reason, sizeof reason);
        if (rc == -2) goto nomem;
        if (sink(arg, index++, rc == 0 ? &ev : NULL, reason) != 0) {
          snprintf(err, errlen, "stopped");
          return OTLP_STOPPED;
        }
      }
    }
  }
  return OTLP_OK;
nomem:
  snprintf(err, errlen, "out of memory");
  return OTLP_STOPPED;
}
