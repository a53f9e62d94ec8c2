/* otlp_proto: the OTLP protobuf front end (otlp_decode.h). The body is first walked once
 * as raw protobuf wire format, knowing which fields of which OTLP message are messages and
 * strings: this checks the framing, bounds the nesting depth (protobuf-c's unpacker
 * recurses without a limit) and refuses strings that are not UTF-8 or hold a NUL (protobuf-c
 * hands strings out NUL-terminated, which would silently cut them). Then protobuf-c
 * (code generated from proto/opentelemetry/...) unpacks it into the arena and the records
 * are assembled like the JSON ones. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "inputs/otlp/otlp_internal.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"

/* ---- the wire-format walk ---------------------------------------------------------------- */

enum { M_REQ = 0, M_RESLOGS, M_RESOURCE, M_SCOPELOGS, M_SCOPE, M_LOGREC, M_KV, M_ANY, M_ARR,
       M_KVLIST, M__COUNT, M_NONE = -1, M_STR = -2 };

/* What field f of message m holds when length-delimited: a message (M_*), a string (M_STR)
 * or anything else (M_NONE: bytes, packed, unknown). */
static int field_kind(int m, uint64_t f) {
  switch (m) {
    case M_REQ: return f == 1 ? M_RESLOGS : M_NONE;
    case M_RESLOGS: return f == 1 ? M_RESOURCE : f == 2 ? M_SCOPELOGS : f == 3 ? M_STR : M_NONE;
    case M_RESOURCE: return f == 1 ? M_KV : M_NONE;
    case M_SCOPELOGS: return f == 1 ? M_SCOPE : f == 2 ? M_LOGREC : f == 3 ? M_STR : M_NONE;
    case M_SCOPE: return f == 1 || f == 2 ? M_STR : f == 3 ? M_KV : M_NONE;
    case M_LOGREC: return f == 3 || f == 12 ? M_STR : f == 5 ? M_ANY : f == 6 ? M_KV : M_NONE;
    case M_KV: return f == 1 ? M_STR : f == 2 ? M_ANY : M_NONE;
    case M_ANY: return f == 1 ? M_STR : f == 5 ? M_ARR : f == 6 ? M_KVLIST : M_NONE;
    case M_ARR: return f == 1 ? M_ANY : M_NONE;
    case M_KVLIST: return f == 1 ? M_KV : M_NONE;
  }
  return M_NONE;
}

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (*p >= end) return -1;
    uint8_t b = *(*p)++;
    if (shift == 63 && b > 1) return -1;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

/* Walk message m in p[0..n). Returns 0 or -1 with err. */
static int walk(int m, const uint8_t *p, size_t n, int depth, int max_depth, char *err, size_t el) {
  if (depth > max_depth) {
    snprintf(err, el, "protobuf message nested deeper than %d", max_depth);
    return -1;
  }
  const uint8_t *end = p + n;
  while (p < end) {
    uint64_t tag, len;
    if (read_varint(&p, end, &tag) != 0) {
      snprintf(err, el, "truncated protobuf field tag");
      return -1;
    }
    uint64_t f = tag >> 3;
    unsigned wt = (unsigned)(tag & 7);
    if (f == 0 || f > 536870911u) {
      snprintf(err, el, "invalid protobuf field number");
      return -1;
    }
    switch (wt) {
      case 0:
        if (read_varint(&p, end, &len) != 0) {
          snprintf(err, el, "truncated protobuf varint");
          return -1;
        }
        break;
      case 1:
        if ((size_t)(end - p) < 8) {
          snprintf(err, el, "truncated protobuf fixed64");
          return -1;
        }
        p += 8;
        break;
      case 5:
        if ((size_t)(end - p) < 4) {
          snprintf(err, el, "truncated protobuf fixed32");
          return -1;
        }
        p += 4;
        break;
      case 2: {
        if (read_varint(&p, end, &len) != 0 || len > (uint64_t)(end - p)) {
          snprintf(err, el, "truncated protobuf length-delimited field");
          return -1;
        }
        int k = field_kind(m, f);
        if (k == M_STR) {
          if (memchr(p, 0, (size_t)len) || !utf8_valid((const char *)p, (size_t)len)) {
            snprintf(err, el, "a protobuf string field is not valid UTF-8 (or holds a NUL)");
            return -1;
          }
        } else if (k >= 0) {
          if (walk(k, p, (size_t)len, depth + 1, max_depth, err, el) != 0) return -1;
        }
        p += len;
        break;
      }
      default:
        snprintf(err, el, "unsupported protobuf wire type %u", wt);
        return -1;
    }
  }
  return 0;
}

/* ---- conversion -------------------------------------------------------------------------- */

typedef Opentelemetry__Proto__Common__V1__AnyValue pb_any;
typedef Opentelemetry__Proto__Common__V1__KeyValue pb_kv;

static json_value *any_value(arena *a, const pb_any *av, int depth, int max_depth, char *reason,
                             size_t rl, int *oom);

static json_value *kv_object(arena *a, pb_kv *const *kvs, size_t n, int depth, int max_depth,
                             const char *what, char *reason, size_t rl, int *oom) {
  if (depth > max_depth) {
    snprintf(reason, rl, "%s: nesting deeper than %d", what, max_depth);
    return NULL;
  }
  json_value *obj = otlp_new_value(a, JSON_OBJECT), *tail = NULL;
  if (!obj) return *oom = 1, NULL;
  for (size_t i = 0; i < n; i++) {
    const pb_kv *kv = kvs[i];
    json_value *v;
    if (!kv->value) {
      if (!(v = otlp_new_value(a, JSON_NULL))) return *oom = 1, NULL;
    } else if (!(v = any_value(a, kv->value, depth + 1, max_depth, reason, rl, oom))) {
      return NULL;
    }
    otlp_append(obj, &tail, v, kv->key, strlen(kv->key));
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

static json_value *any_value(arena *a, const pb_any *av, int depth, int max_depth, char *reason,
                             size_t rl, int *oom) {
  json_value *r = NULL;
  switch (av->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
      r = otlp_new_string(a, av->string_value, strlen(av->string_value));
      break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
      r = otlp_new_value(a, av->bool_value ? JSON_TRUE : JSON_FALSE);
      break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
      r = otlp_new_number_i64(a, av->int_value);
      break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
      r = otlp_new_number_double(a, av->double_value);
      break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
      r = otlp_new_base64(a, av->bytes_value.data, av->bytes_value.len);
      break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: {
      if (depth > max_depth) {
        snprintf(reason, rl, "nesting deeper than %d", max_depth);
        return NULL;
      }
      json_value *arr = otlp_new_value(a, JSON_ARRAY), *tail = NULL;
      if (!arr) return *oom = 1, NULL;
      const Opentelemetry__Proto__Common__V1__ArrayValue *av2 = av->array_value;
      for (size_t i = 0; av2 && i < av2->n_values; i++) {
        json_value *x = any_value(a, av2->values[i], depth + 1, max_depth, reason, rl, oom);
        if (!x) return NULL;
        otlp_append(arr, &tail, x, NULL, 0);
      }
      return arr;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
      const Opentelemetry__Proto__Common__V1__KeyValueList *l = av->kvlist_value;
      return kv_object(a, l ? l->values : NULL, l ? l->n_values : 0, depth, max_depth,
                       "kvlistValue", reason, rl, oom);
    }
    default:
      r = otlp_new_value(a, JSON_NULL);
      break;
  }
  if (!r) *oom = 1;
  return r;
}

/* Lowercase hex of an id (16 or 8 bytes; empty = absent). Returns 0 or -1 with reason. */
static int hex_id(arena *a, ProtobufCBinaryData b, size_t want, const char *what, strv *out,
                  char *reason, size_t rl, int *oom) {
  out->p = NULL;
  out->n = 0;
  if (b.len == 0) return 0;
  if (b.len != want) {
    snprintf(reason, rl, "%s must be %zu bytes, got %zu", what, want, b.len);
    return -1;
  }
  char *h = arena_alloc(a, want * 2 + 1);
  if (!h) return *oom = 1, -1;
  static const char dig[] = "0123456789abcdef";
  for (size_t i = 0; i < want; i++) {
    h[2 * i] = dig[b.data[i] >> 4];
    h[2 * i + 1] = dig[b.data[i] & 15];
  }
  h[want * 2] = '\0';
  *out = (strv){h, want * 2};
  return 0;
}

static void *arena_pb_alloc(void *data, size_t size) { return arena_alloc(data, size ? size : 1); }
static void arena_pb_free(void *data, void *p) {
  (void)data;
  (void)p;
}

int otlp_decode_proto(arena *a, const otlp_opts *o, const void *body, size_t len,
                      otlp_sink sink, void *arg, char *err, size_t errlen) {
  /* Envelope: request, resource logs, scope logs, record, kv, any = 6 levels, then two
   * per AnyValue nesting level. */
  if (walk(M_REQ, body, len, 0, o->max_depth * 2 + 8, err, errlen) != 0) return OTLP_BAD_REQUEST;
  ProtobufCAllocator alloc = {arena_pb_alloc, arena_pb_free, a};
  Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req =
      opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(&alloc, len, body);
  if (!req) {
    snprintf(err, errlen, "request body is not a valid protobuf ExportLogsServiceRequest");
    return OTLP_BAD_REQUEST;
  }
  size_t index = 0;
  char reason[256];
  for (size_t i = 0; i < req->n_resource_logs; i++) {
    const Opentelemetry__Proto__Logs__V1__ResourceLogs *rl = req->resource_logs[i];
    otlp_resource_in res = {0};
    char res_reason[256] = "";
    int oom = 0;
    res.attrs = kv_object(a, rl->resource ? rl->resource->attributes : NULL,
                          rl->resource ? rl->resource->n_attributes : 0, 2, o->max_depth,
                          "attributes", res_reason, sizeof res_reason, &oom);
    if (oom) goto nomem;
    if (!res.attrs) res.error = res_reason;
    for (size_t j = 0; j < rl->n_scope_logs; j++) {
      const Opentelemetry__Proto__Logs__V1__ScopeLogs *sl = rl->scope_logs[j];
      otlp_scope_in scope = {0};
      char scope_reason[256] = "";
      if (sl->scope) {
        scope.name = (strv){sl->scope->name, strlen(sl->scope->name)};
        scope.version = (strv){sl->scope->version, strlen(sl->scope->version)};
        scope.attrs = kv_object(a, sl->scope->attributes, sl->scope->n_attributes, 3, o->max_depth,
                                "attributes", scope_reason, sizeof scope_reason, &oom);
        if (oom) goto nomem;
        if (!scope.attrs) scope.error = scope_reason;
      }
      for (size_t k = 0; k < sl->n_log_records; k++) {
        const Opentelemetry__Proto__Logs__V1__LogRecord *lr = sl->log_records[k];
        otlp_record_in rec;
        memset(&rec, 0, sizeof rec);
        event ev;
        reason[0] = '\0';
        int rc = 0;
        rec.time_ns = lr->time_unix_nano;
        rec.observed_ns = lr->observed_time_unix_nano;
        rec.severity_number = (int)lr->severity_number;
        rec.severity_text = (strv){lr->severity_text, strlen(lr->severity_text)};
        rec.event_name = (strv){lr->event_name, strlen(lr->event_name)};
        rec.flags = lr->flags;
        rec.dropped = lr->dropped_attributes_count;
        if (hex_id(a, lr->trace_id, 16, "traceId", &rec.trace_id, reason, sizeof reason, &oom) != 0 ||
            hex_id(a, lr->span_id, 8, "spanId", &rec.span_id, reason, sizeof reason, &oom) != 0)
          rc = -1;
        if (rc == 0 && lr->body) {
          rec.body = any_value(a, lr->body, 3, o->max_depth, reason, sizeof reason, &oom);
          if (!rec.body) rc = -1;
        }
        if (rc == 0) {
          rec.attrs = kv_object(a, lr->attributes, lr->n_attributes, 2, o->max_depth, "attributes",
                                reason, sizeof reason, &oom);
          if (!rec.attrs) rc = -1;
        }
        if (oom) goto nomem;
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
