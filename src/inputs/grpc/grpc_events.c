/* grpc_events: see grpc_events.h. */
#include "inputs/grpc/grpc_events.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/timeutil.h"
#include "inputs/grpc/grpc_wire.h"

#define TIME_RANGE "out of range (1970-01-01T00:00:00Z .. 2262-04-11T23:47:16Z)"

ProtobufCMessage *grpc_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                              size_t len, arena *a, grpc_code *code, char *err, size_t errlen) {
  *code = GRPC_INVALID_ARGUMENT;
  if (grpc_check_strings(desc, data, len, err, errlen) != 0) return NULL;
  *code = GRPC_INTERNAL;
  ProtobufCAllocator al;
  grpc_arena_allocator(&al, a);
  ProtobufCMessage *m = protobuf_c_message_unpack(desc, &al, len, data);
  if (!m) snprintf(err, errlen, "cannot parse the request as %s", desc->name);
  return m;
}

static int fail(evd_field_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(evd_field_error *err, const char *field, const char *fmt, ...) {
  err->kind = EVD_ERR_INVALID;
  snprintf(err->field, sizeof err->field, "%s", field);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->reason, sizeof err->reason, fmt, ap);
  va_end(ap);
  return -1;
}

/* Allocation failure while mapping a message. */
static int fail_nomem(evd_field_error *err) {
  fail(err, "", "out of memory");
  err->kind = EVD_ERR_NOMEM;
  return -1;
}

/* A value over a configured limit: fail() with the kind the inputs map to "too large". */
#define fail_limit(err, field, ...) (fail(err, field, __VA_ARGS__), (err)->kind = EVD_ERR_LIMIT, -1)

int grpc_error_is_limit(const evd_field_error *err) { return err->kind == EVD_ERR_LIMIT; }

/* A protobuf string as a strv (empty = absent). */
static strv sv(const char *s) {
  return (strv){s ? s : "", s ? strlen(s) : 0};
}

/* Parse JSON object text for `field` (data, value, resource). n == 0: absent. */
static int parse_json_field(const char *field, const char *text, size_t n, const evd_limits *lim,
                            arena *a, const json_value **out, evd_field_error *err,
                            int magma_wording) {
  *out = NULL;
  if (n > lim->event_max_bytes)
    return fail_limit(err, field, "is %zu bytes; the limit is %zu (limits.event_max_bytes)", n,
                lim->event_max_bytes);
  json_error je;
  json_value *v = json_parse(a, text, n, lim->max_depth, &je);
  if (!v) {
    if (strcmp(je.message, "out of memory") == 0) return fail_nomem(err);
    if (magma_wording)
      return fail(err, "", "invalid JSON in %s: %s at byte %zu", field, je.message, je.offset);
    return fail(err, field, "invalid JSON: %s at byte %zu", je.message, je.offset);
  }
  *out = v;
  return 0;
}

int grpc_magma_event(const Magma__Orc8r__Event *m, const evd_limits *lim, arena *a, event *ev,
                     evd_field_error *err) {
  memset(ev, 0, sizeof *ev);
  ev->f[EVF_STREAM] = sv(m->stream_name);
  ev->f[EVF_TYPE] = sv(m->event_type);
  ev->f[EVF_TAG] = sv(m->tag);
  if (ev->f[EVF_TYPE].n == 0) return fail(err, "event_type", "required");
  /* Magma parsed value with json.loads: "" is not JSON there either. */
  strv value = sv(m->value);
  if (parse_json_field("value", value.p, value.n, lim, a, &ev->data, err, 1) != 0) return -1;
  return 0;
}

/* Parse the time text as the JSON API does for a string: an epoch number by magnitude, or
 * RFC 3339. */
static int parse_time_text(const char *s, size_t n, int64_t *out, evd_field_error *err) {
  size_t i = 0;
  if (i < n && s[i] == '-') i++;
  size_t d = i;
  while (i < n && s[i] >= '0' && s[i] <= '9') i++;
  int epoch = i > d;
  if (epoch && i < n && s[i] == '.') {
    size_t f = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    epoch = i > f;
  }
  epoch = epoch && i == n;
  int64_t t;
  if (epoch) {
    if (time_from_epoch_text(s, n, &t) != 0) return fail(err, "time", TIME_RANGE);
  } else {
    int rc = time_parse_rfc3339_ex(s, n, &t);
    if (rc == -2) return fail(err, "time", TIME_RANGE);
    if (rc != 0)
      return fail(err, "time", "invalid RFC 3339 time '%.64s%s'", s, n > 64 ? "..." : "");
  }
  if (t < 0) return fail(err, "time", TIME_RANGE);
  *out = t;
  return 0;
}

int grpc_native_event(const Eventd__V1__Event *m, const evd_limits *lim, arena *a, event *ev,
                      evd_field_error *err) {
  memset(ev, 0, sizeof *ev);
  ev->id = sv(m->id);
  ev->f[EVF_TENANT] = sv(m->tenant);
  ev->f[EVF_STREAM] = sv(m->stream);
  ev->f[EVF_TYPE] = sv(m->type);
  ev->f[EVF_KEY] = sv(m->key);
  ev->f[EVF_TAG] = sv(m->tag);
  ev->f[EVF_SOURCE] = sv(m->source);
  ev->f[EVF_MESSAGE] = sv(m->message);
  ev->f[EVF_TRACE_ID] = sv(m->trace_id);
  ev->f[EVF_SPAN_ID] = sv(m->span_id);
  ev->f[EVF_CORRELATION_ID] = sv(m->correlation_id);
  ev->f[EVF_STATE] = sv(m->state);
  if (ev->f[EVF_TYPE].n == 0) return fail(err, "type", "required");

  switch (m->time_case) {
    case EVENTD__V1__EVENT__TIME_TIME_UNIX_NANO:
      if (m->time_unix_nano <= 0)
        return fail(err, "time", "time_unix_nano must be positive, got %lld",
                    (long long)m->time_unix_nano);
      ev->time_ns = m->time_unix_nano;
      break;
    case EVENTD__V1__EVENT__TIME_TIME_TEXT: {
      strv t = sv(m->time_text);
      if (t.n == 0) return fail(err, "time", "time_text is empty");
      if (parse_time_text(t.p, t.n, &ev->time_ns, err) != 0) return -1;
      if (ev->time_ns == 0) return fail(err, "time", "the epoch itself (0) is not a valid time");
      break;
    }
    default: break;
  }
  switch (m->severity_case) {
    case EVENTD__V1__EVENT__SEVERITY_SEVERITY_TEXT: {
      strv t = sv(m->severity_text);
      int s = severity_from_text(t.p, t.n);
      if (s < 0)
        return fail(err, "severity", "unknown severity '%.32s%s'", t.p, t.n > 32 ? "..." : "");
      ev->severity_number = s;
      break;
    }
    case EVENTD__V1__EVENT__SEVERITY_SEVERITY_NUMBER:
      if (m->severity_number < 1 || m->severity_number > 24)
        return fail(err, "severity_number", "must be 1..24, got %d", (int)m->severity_number);
      ev->severity_number = m->severity_number;
      break;
    default: break;
  }

  /* Labels: a protobuf map, so a repeated key means "the last one wins". */
  if (m->n_labels > lim->labels_max)
    return fail_limit(err, "labels", "has %zu labels, more than the limit of %zu (limits.labels_max)",
                m->n_labels, lim->labels_max);
  if (m->n_labels) {
    ev->labels = arena_alloc(a, m->n_labels * sizeof *ev->labels);
    if (!ev->labels) return fail_nomem(err);
    for (size_t i = 0; i < m->n_labels; i++) {
      const Eventd__V1__Event__LabelsEntry *e = m->labels[i];
      strv k = sv(e->key), v = sv(e->value);
      size_t j;
      for (j = 0; j < ev->nlabels; j++)
        if (ev->labels[j].key.n == k.n && memcmp(ev->labels[j].key.p, k.p, k.n) == 0) break;
      if (j < ev->nlabels) ev->labels[j].value = v;
      else ev->labels[ev->nlabels++] = (evd_label){k, v};
    }
  }

  strv data = sv(m->data), res = sv(m->resource);
  if (data.n && parse_json_field("data", data.p, data.n, lim, a, &ev->data, err, 0) != 0)
    return -1;
  if (res.n && parse_json_field("resource", res.p, res.n, lim, a, &ev->resource, err, 0) != 0)
    return -1;
  return 0;
}
