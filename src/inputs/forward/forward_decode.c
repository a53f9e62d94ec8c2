/* forward_decode: see forward_decode.h. */
#include "inputs/forward/forward_decode.h"

#include "core/timeutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static int ferr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int ferr(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

/* ---- framing ------------------------------------------------------------------------------ */

/* Parse the option map of a message (r at it). Returns 0 or -1 with err. */
static int parse_options(mp_reader *r, fwd_message *m, char *err, size_t errlen) {
  mp_obj o;
  if (mp_read(r, &o, NULL) != MP_OK) return ferr(err, errlen, "truncated option");
  if (o.type == MP_NIL) return 0;
  if (o.type != MP_MAP) return ferr(err, errlen, "the option is not a map");
  for (uint32_t i = 0; i < o.n; i++) {
    mp_obj k, v;
    if (mp_read(r, &k, NULL) != MP_OK) return ferr(err, errlen, "truncated option");
    const uint8_t *vstart = r->p;
    if (mp_read(r, &v, NULL) != MP_OK) return ferr(err, errlen, "truncated option");
    if (mp_str_is(&k, "chunk")) {
      if (v.type != MP_STR && v.type != MP_BIN) return ferr(err, errlen, "option chunk is not a string");
      m->chunk = (const char *)v.p;
      m->chunk_len = v.n;
    } else if (mp_str_is(&k, "size")) {
      if (v.type != MP_UINT) return ferr(err, errlen, "option size is not a non-negative integer");
      m->has_size = 1;
      m->size = v.u;
    } else if (mp_str_is(&k, "compressed")) {
      if (mp_str_is(&v, "gzip") || mp_str_is(&v, "text")) /* "text": uncompressed (fluentd) */
        m->compression = mp_str_is(&v, "gzip") ? FWD_COMP_GZIP : FWD_COMP_NONE;
      else if (mp_str_is(&v, "zstd"))
        m->compression = FWD_COMP_ZSTD;
      else
        return ferr(err, errlen, "option compressed: unsupported compression (gzip or zstd)");
    }
    /* Containers as values (metadata, ...): skip their elements. */
    if (v.type == MP_ARRAY || v.type == MP_MAP) {
      r->p = vstart;
      if (mp_skip(r, NULL) != MP_OK) return ferr(err, errlen, "truncated option");
    }
  }
  return 0;
}

/* 1 if o can be an entry's time. */
static int is_time(const mp_obj *o) {
  return o->type == MP_UINT || o->type == MP_INT || o->type == MP_FLOAT ||
         (o->type == MP_EXT && o->ext_type == 0);
}

int fwd_next_frame(const uint8_t *p, size_t len, size_t max_bytes, size_t *used, size_t *need,
                   fwd_frame_kind *kind, fwd_message *msg, char *err, size_t errlen) {
  *need = 0;
  *used = 0;
  mp_reader r;
  mp_reader_init(&r, p, len);
  size_t n = 0;
  int rc = mp_skip(&r, &n);
  if (rc == MP_INVALID) return ferr(err, errlen, "invalid msgpack (byte 0xc1)");
  if (rc == MP_NEED_MORE) {
    if (n > max_bytes || len > max_bytes)
      return ferr(err, errlen, "message larger than forward.max_message_bytes (%zu)", max_bytes);
    *need = n;
    return 0;
  }
  size_t total = (size_t)(r.p - p);
  if (total > max_bytes)
    return ferr(err, errlen, "message of %zu bytes is larger than forward.max_message_bytes (%zu)",
                total, max_bytes);
  *used = total;
  mp_reader_init(&r, p, total);
  mp_obj top;
  mp_read(&r, &top, NULL);
  if (top.type == MP_NIL) {
    *kind = FWD_FRAME_HEARTBEAT;
    return 1;
  }
  if (top.type != MP_ARRAY) return ferr(err, errlen, "a forward message must be an array");
  if (top.n < 2 || top.n > 6) return ferr(err, errlen, "a forward message has 2 to 4 elements, got %u", top.n);
  memset(msg, 0, sizeof *msg);
  mp_obj tag;
  if (mp_read(&r, &tag, NULL) != MP_OK || (tag.type != MP_STR && tag.type != MP_BIN))
    return ferr(err, errlen, "the tag (first element) is not a string");
  if (mp_str_is(&tag, "PING") && top.n == 6) {
    *kind = FWD_FRAME_PING;
    return 1;
  }
  if (top.n > 4) return ferr(err, errlen, "a forward message has 2 to 4 elements, got %u", top.n);
  msg->tag = (const char *)tag.p;
  msg->tag_len = tag.n;
  const uint8_t *second = r.p;
  mp_obj o;
  mp_read(&r, &o, NULL);
  size_t left = top.n - 2; /* elements after the second */
  if (is_time(&o)) {
    if (top.n < 3) return ferr(err, errlen, "a Message [tag, time, record] has no record");
    msg->mode = FWD_MESSAGE;
    r.p = second;
    mp_skip(&r, NULL);
    mp_skip(&r, NULL); /* the record */
    msg->entries = second;
    msg->entries_len = (size_t)(r.p - second);
    msg->n_entries = 1;
    left--;
  } else if (o.type == MP_ARRAY) {
    msg->mode = FWD_FORWARD;
    msg->n_entries = o.n;
    msg->entries = r.p;
    r.p = second;
    mp_skip(&r, NULL);
    msg->entries_len = (size_t)(r.p - msg->entries);
  } else if (o.type == MP_BIN || o.type == MP_STR) {
    msg->mode = FWD_PACKED;
    msg->entries = o.p;
    msg->entries_len = o.n;
  } else {
    return ferr(err, errlen, "the second element is neither a time, an array nor packed entries");
  }
  if (left > 1) return ferr(err, errlen, "too many elements for this mode");
  if (left == 1 && parse_options(&r, msg, err, errlen) != 0) return -1;
  if (msg->compression != FWD_COMP_NONE) {
    if (msg->mode != FWD_PACKED) return ferr(err, errlen, "option compressed on a message that is not PackedForward");
    msg->mode = FWD_COMPRESSED;
  }
  *kind = FWD_FRAME_MESSAGE;
  return 1;
}

/* ---- decompression ------------------------------------------------------------------------- */

static int gunzip(const uint8_t *in, size_t len, size_t max_out, buf *out, char *err, size_t errlen) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return ferr(err, errlen, "gzip: cannot initialize zlib");
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
  int rc = 0;
  for (;;) {
    if (out->cap - out->len < 64 * 1024 && buf_reserve(out, out->len < 64 * 1024 ? 64 * 1024 : out->len) != 0) {
      rc = ferr(err, errlen, "gzip: out of memory");
      break;
    }
    size_t room = out->cap - out->len;
    if (room > max_out + 1 - out->len) room = max_out + 1 - out->len;
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)(room > UINT32_MAX ? UINT32_MAX : room);
    int zr = inflate(&z, Z_NO_FLUSH);
    out->len = (size_t)((char *)z.next_out - out->data);
    if (out->len > max_out) {
      rc = ferr(err, errlen, "decompressed entries larger than forward.max_message_bytes (%zu)", max_out);
      break;
    }
    if (zr == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      if (inflateReset(&z) != Z_OK) { /* another gzip member follows */
        rc = ferr(err, errlen, "gzip: cannot reset zlib");
        break;
      }
      continue;
    }
    if (zr == Z_OK) continue;
    if (zr == Z_BUF_ERROR && z.avail_in == 0) {
      rc = ferr(err, errlen, "gzip: truncated stream");
      break;
    }
    rc = ferr(err, errlen, "gzip: %s", z.msg ? z.msg : "invalid data");
    break;
  }
  inflateEnd(&z);
  return rc;
}

static int unzstd(const uint8_t *in, size_t len, size_t max_out, buf *out, char *err, size_t errlen) {
  ZSTD_DStream *d = ZSTD_createDStream();
  if (!d) return ferr(err, errlen, "zstd: out of memory");
  ZSTD_inBuffer ib = {in, len, 0};
  int rc = 0;
  size_t last = 1;
  while (ib.pos < ib.size || last != 0) {
    if (out->cap - out->len < 64 * 1024 && buf_reserve(out, out->len < 64 * 1024 ? 64 * 1024 : out->len) != 0) {
      rc = ferr(err, errlen, "zstd: out of memory");
      break;
    }
    size_t room = out->cap - out->len;
    if (room > max_out + 1 - out->len) room = max_out + 1 - out->len;
    ZSTD_outBuffer ob = {out->data + out->len, room, 0};
    size_t before_in = ib.pos;
    last = ZSTD_decompressStream(d, &ob, &ib);
    if (ZSTD_isError(last)) {
      rc = ferr(err, errlen, "zstd: %s", ZSTD_getErrorName(last));
      break;
    }
    out->len += ob.pos;
    if (out->len > max_out) {
      rc = ferr(err, errlen, "decompressed entries larger than forward.max_message_bytes (%zu)", max_out);
      break;
    }
    if (ib.pos == ib.size && last != 0 && ob.pos == 0 && before_in == ib.pos) {
      rc = ferr(err, errlen, "zstd: truncated frame");
      break;
    }
  }
  ZSTD_freeDStream(d);
  return rc;
}

int fwd_decompress(fwd_compression c, const uint8_t *in, size_t len, size_t max_out, buf *out,
                   char *err, size_t errlen) {
  buf_clear(out);
  if (c == FWD_COMP_GZIP) return gunzip(in, len, max_out, out, err, errlen);
  if (c == FWD_COMP_ZSTD) return unzstd(in, len, max_out, out, err, errlen);
  if (len > max_out) return ferr(err, errlen, "entries larger than the limit");
  return buf_append(out, in, len) == 0 ? 0 : ferr(err, errlen, "out of memory");
}

/* ---- entries ------------------------------------------------------------------------------ */

void fwd_entries_init(fwd_entries *it, const fwd_message *m, const uint8_t *bytes, size_t len) {
  it->mode = m->mode;
  if (m->mode == FWD_PACKED || m->mode == FWD_COMPRESSED) {
    mp_reader_init(&it->r, bytes, len);
    it->left = 0;
  } else {
    mp_reader_init(&it->r, m->entries, m->entries_len);
    it->left = m->n_entries;
  }
}

/* An entry's time as nanoseconds since the epoch. Returns 0 or -1 with err. */
static int time_of(const mp_obj *o, int64_t *out, char *err, size_t errlen) {
  const int64_t max_sec = INT64_MAX / 1000000000LL;
  switch (o->type) {
    case MP_UINT:
      if (o->u > (uint64_t)max_sec) return ferr(err, errlen, "time %llu out of range", (unsigned long long)o->u);
      *out = (int64_t)o->u * 1000000000LL;
      return 0;
    case MP_INT: return ferr(err, errlen, "time %lld is before 1970", (long long)o->i);
    case MP_FLOAT:
      if (!isfinite(o->f) || o->f < 0 || o->f >= (double)max_sec)
        return ferr(err, errlen, "time %g out of range", o->f);
      *out = (int64_t)llround(o->f * 1e9);
      return 0;
    case MP_EXT: {
      if (o->ext_type != 0 || o->n != 8) return ferr(err, errlen, "EventTime must be ext type 0 of 8 bytes");
      uint32_t sec = (uint32_t)o->p[0] << 24 | (uint32_t)o->p[1] << 16 | (uint32_t)o->p[2] << 8 | o->p[3];
      uint32_t nsec = (uint32_t)o->p[4] << 24 | (uint32_t)o->p[5] << 16 | (uint32_t)o->p[6] << 8 | o->p[7];
      if (nsec >= 1000000000u) return ferr(err, errlen, "EventTime nanoseconds %u out of range", nsec);
      *out = (int64_t)sec * 1000000000LL + nsec;
      return 0;
    }
    default: return ferr(err, errlen, "time is not an integer, a float or an EventTime");
  }
}

int fwd_entries_next(fwd_entries *it, int64_t *time_ns, const uint8_t **rec, size_t *rec_len,
                     char *err, size_t errlen) {
  mp_reader *r = &it->r;
  if (it->mode == FWD_MESSAGE) {
    if (it->left == 0) return 0;
    it->left = 0;
  } else if (it->mode == FWD_FORWARD) {
    if (it->left == 0) return 0;
    it->left--;
  } else if (r->p == r->end) {
    return 0;
  }
  /* One checked pass over the entry's header and time; the record is skipped (checked)
   * here and converted later by fwd_record_to_event. */
  if (it->mode != FWD_MESSAGE) {
    mp_obj a;
    if (mp_read(r, &a, NULL) != MP_OK) return ferr(err, errlen, "truncated or invalid entry");
    if (a.type != MP_ARRAY || a.n != 2) return ferr(err, errlen, "an entry must be [time, record]");
  }
  mp_obj t;
  if (mp_read(r, &t, NULL) != MP_OK) return ferr(err, errlen, "truncated or invalid entry");
  if (t.type == MP_ARRAY && t.n == 2) { /* Fluent Bit 2.1+: [[time, metadata], record] */
    if (mp_read(r, &t, NULL) != MP_OK || mp_skip(r, NULL) != MP_OK)
      return ferr(err, errlen, "truncated or invalid entry");
  }
  if (time_of(&t, time_ns, err, errlen) != 0) return -1;
  const uint8_t *rs = r->p;
  if (mp_skip(r, NULL) != MP_OK) return ferr(err, errlen, "truncated or invalid record");
  *rec = rs;
  *rec_len = (size_t)(r->p - rs);
  return 1;
}

/* ---- records -> events ---------------------------------------------------------------------- */

int fwd_tag_rule_parse(const char *s, fwd_tag_rule *out) {
  if (strcmp(s, "split") == 0) *out = FWD_TAG_SPLIT;
  else if (strcmp(s, "stream") == 0) *out = FWD_TAG_STREAM;
  else if (strcmp(s, "type") == 0) *out = FWD_TAG_TYPE;
  else return -1;
  return 0;
}

static int rfail(evd_field_error *err, evd_error_kind kind, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int rfail(evd_field_error *err, evd_error_kind kind, const char *field, const char *fmt, ...) {
  err->kind = kind;
  snprintf(err->field, sizeof err->field, "%s", field);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->reason, sizeof err->reason, fmt, ap);
  va_end(ap);
  return -1;
}

static int key_is(const json_value *m, const char *lit) {
  size_t n = strlen(lit);
  return m->key_len == n && memcmp(m->key, lit, n) == 0;
}

static strv sv_of(const json_value *v) { return (strv){v->s, v->n}; }

/* Record keys that name an event field. */
typedef enum rec_key {
  RK_NONE = 0, RK_STREAM, RK_TYPE, RK_TAG, RK_SOURCE, RK_MESSAGE, RK_SEVERITY, RK_ID, RK_TENANT,
  RK_KEY, RK_CORRELATION, RK_TRACE, RK_SPAN, RK_LABELS, RK_DATA, RK_LABEL, RK_TIME
} rec_key;

static rec_key classify(const fwd_mapping *map, const json_value *m) {
  if (map->record_time && (key_is(m, "@timestamp") || key_is(m, "timestamp") || key_is(m, "time")))
    return RK_TIME;
#define K(lit, kind) {lit, sizeof lit - 1, kind}
  static const struct {
    const char *name;
    uint32_t len;
    rec_key k;
  } KEYS[] = {K("stream_name", RK_STREAM), K("stream", RK_STREAM), K("event_type", RK_TYPE),
              K("type", RK_TYPE),          K("event_tag", RK_TAG), K("tag", RK_TAG),
              K("hw_id", RK_SOURCE),       K("source", RK_SOURCE), K("host", RK_SOURCE),
              K("hostname", RK_SOURCE),    K("message", RK_MESSAGE), K("log", RK_MESSAGE),
              K("severity", RK_SEVERITY),  K("level", RK_SEVERITY), K("id", RK_ID),
              K("tenant", RK_TENANT),      K("key", RK_KEY), K("correlation_id", RK_CORRELATION),
              K("trace_id", RK_TRACE),     K("span_id", RK_SPAN), K("labels", RK_LABELS),
              K("value", RK_DATA),         K("data", RK_DATA), K("network_id", RK_LABEL),
              K("gateway_id", RK_LABEL)};
#undef K
  for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
    if (m->key_len == KEYS[i].len && memcmp(m->key, KEYS[i].name, KEYS[i].len) == 0) return KEYS[i].k;
  return RK_NONE;
}

/* A scalar's text (string as is; number's text; true/false/null) for a label. */
static int scalar_text(const json_value *v, strv *out) {
  switch (v->type) {
    case JSON_STRING: case JSON_NUMBER: *out = sv_of(v); return 0;
    case JSON_TRUE: *out = (strv){"true", 4}; return 0;
    case JSON_FALSE: *out = (strv){"false", 5}; return 0;
    default: return -1;
  }
}

static int add_label(event *ev, size_t cap, strv k, strv v, const evd_limits *lim, evd_field_error *err) {
  for (size_t j = 0; j < ev->nlabels; j++)
    if (ev->labels[j].key.n == k.n && memcmp(ev->labels[j].key.p, k.p, k.n) == 0) {
      ev->labels[j].value = v; /* labels map wins over record keys: caller order */
      return 0;
    }
  if (ev->nlabels >= cap || ev->nlabels >= lim->labels_max)
    return rfail(err, EVD_ERR_LIMIT, "labels", "more than %zu labels (limits.labels_max)", lim->labels_max);
  ev->labels[ev->nlabels++] = (evd_label){k, v};
  return 0;
}

int fwd_record_to_event(const fwd_mapping *map, const char *tag, size_t tag_len, int64_t time_ns,
                        const uint8_t *rec, size_t len, const evd_limits *lim, arena *a,
                        event *ev, evd_field_error *err) {
  memset(ev, 0, sizeof *ev);
  ev->time_ns = time_ns;
  if (time_ns <= 0) return rfail(err, EVD_ERR_INVALID, "time", "the epoch itself (0) is not a valid time");
  if (len > lim->event_max_bytes)
    return rfail(err, EVD_ERR_LIMIT, "", "record is %zu bytes; the limit is %zu (limits.event_max_bytes)",
                 len, lim->event_max_bytes);
  mp_reader r;
  mp_reader_init(&r, rec, len);
  char msg[160];
  json_value *obj = mp_to_json(&r, a, lim->max_depth, msg, sizeof msg);
  if (!obj) {
    if (strcmp(msg, "out of memory") == 0) return rfail(err, EVD_ERR_NOMEM, "", "out of memory");
    return rfail(err, EVD_ERR_INVALID, "", "record: %s", msg);
  }
  return fwd_object_to_event(map, tag, tag_len, time_ns, obj, lim, a, ev, err);
}

/* A record key that gives the time (mapping.record_time): RFC 3339 text, or an epoch number
 * (or numeric text) by magnitude. Returns 0 or -1 with err. */
static int record_time(const json_value *m, int64_t *out, evd_field_error *err) {
  int rc = -1;
  if (m->type == JSON_NUMBER) {
    rc = time_from_epoch_text(m->s, m->n, out);
  } else if (m->type == JSON_STRING) {
    rc = time_parse_rfc3339(m->s, m->n, out);
    if (rc != 0) rc = time_from_epoch_text(m->s, m->n, out);
  }
  if (rc != 0 || *out <= 0)
    return rfail(err, EVD_ERR_INVALID, m->key, "not an RFC 3339 time or a positive epoch number");
  return 0;
}

int fwd_object_to_event(const fwd_mapping *map, const char *tag, size_t tag_len, int64_t time_ns,
                        const json_value *obj, const evd_limits *lim, arena *a, event *ev,
                        evd_field_error *err) {
  memset(ev, 0, sizeof *ev);
  ev->time_ns = time_ns;
  if (obj->type != JSON_OBJECT)
    return rfail(err, EVD_ERR_INVALID, "", "a record must be a map, got %s", json_type_name(obj->type));

  /* The tag first; record keys override it. */
  strv t = {tag, tag_len};
  if (map->tag_rule == FWD_TAG_STREAM) {
    ev->f[EVF_STREAM] = t;
  } else if (map->tag_rule == FWD_TAG_TYPE) {
    ev->f[EVF_TYPE] = t;
  } else {
    const char *dot = memchr(tag, '.', tag_len);
    if (dot) {
      ev->f[EVF_STREAM] = (strv){tag, (size_t)(dot - tag)};
      ev->f[EVF_TYPE] = (strv){dot + 1, tag_len - (size_t)(dot - tag) - 1};
    } else {
      ev->f[EVF_STREAM] = t;
    }
  }

  size_t cap = obj->n + 8;
  for (const json_value *m = obj->child; m; m = m->next)
    if (key_is(m, "labels") && m->type == JSON_OBJECT) cap += m->n;
  if (cap > lim->labels_max + 1) cap = lim->labels_max + 1;
  ev->labels = arena_alloc(a, cap * sizeof *ev->labels);
  if (!ev->labels) return rfail(err, EVD_ERR_NOMEM, "", "out of memory");
  const json_value *data = NULL, *labels = NULL;
  size_t nrest = 0;
  for (const json_value *m = obj->child; m; m = m->next) {
    rec_key k = classify(map, m);
    int is_str = m->type == JSON_STRING;
    switch (k) {
      case RK_STREAM: case RK_TYPE: case RK_TAG: case RK_SOURCE: case RK_MESSAGE: case RK_ID:
      case RK_TENANT: case RK_KEY: case RK_CORRELATION: case RK_TRACE: case RK_SPAN: {
        if (!is_str) {
          nrest++; /* not a string: kept as data */
          break;
        }
        static const evd_field F[] = {[RK_STREAM] = EVF_STREAM, [RK_TYPE] = EVF_TYPE,
                                      [RK_TAG] = EVF_TAG, [RK_SOURCE] = EVF_SOURCE,
                                      [RK_MESSAGE] = EVF_MESSAGE, [RK_TENANT] = EVF_TENANT,
                                      [RK_KEY] = EVF_KEY, [RK_CORRELATION] = EVF_CORRELATION_ID,
                                      [RK_TRACE] = EVF_TRACE_ID, [RK_SPAN] = EVF_SPAN_ID};
        if (k == RK_ID) ev->id = sv_of(m);
        else if (m->n) ev->f[F[k]] = sv_of(m);
        break;
      }
      case RK_SEVERITY: {
        int sev = -1;
        int64_t num;
        if (is_str) sev = severity_from_text(m->s, m->n);
        else if (m->type == JSON_NUMBER && json_as_int64(m, &num) == 0 && num >= 1 && num <= 24) sev = (int)num;
        if (sev > 0) ev->severity_number = sev;
        else nrest++;
        break;
      }
      case RK_LABELS:
        if (m->type == JSON_OBJECT) labels = m;
        else nrest++;
        break;
      case RK_DATA:
        if (m->type == JSON_OBJECT || m->type == JSON_STRING) {
          if (data) return rfail(err, EVD_ERR_INVALID, "data", "the record has both value and data");
          data = m;
        } else {
          nrest++;
        }
        break;
      case RK_LABEL: {
        strv v;
        if (scalar_text(m, &v) != 0) {
          nrest++;
          break;
        }
        if (add_label(ev, cap, (strv){m->key, m->key_len}, v, lim, err) != 0) return -1;
        break;
      }
      case RK_TIME:
        if (record_time(m, &ev->time_ns, err) != 0) return -1;
        break;
      case RK_NONE: nrest++; break;
    }
  }

  /* value/data: a map, or JSON text of one (Magma). */
  if (data && data->type == JSON_STRING) {
    json_error je;
    json_value *v = json_parse(a, data->s, data->n, lim->max_depth, &je);
    if (!v) {
      if (strcmp(je.message, "out of memory") == 0) return rfail(err, EVD_ERR_NOMEM, "", "out of memory");
      return rfail(err, EVD_ERR_INVALID, data->key, "invalid JSON text: %s at byte %zu", je.message, je.offset);
    }
    if (v->type != JSON_OBJECT)
      return rfail(err, EVD_ERR_INVALID, data->key, "expected JSON text of an object, got %s",
                   json_type_name(v->type));
    ev->data = v;
  } else if (data) {
    ev->data = data;
  }

  /* The other keys: data when there is none; else scalars as labels, the rest as data._record. */
  if (nrest) {
    json_value *rest = arena_calloc(a, sizeof *rest);
    if (!rest) return rfail(err, EVD_ERR_NOMEM, "", "out of memory");
    rest->type = JSON_OBJECT;
    json_value **tail = &rest->child;
    for (const json_value *m = obj->child; m; m = m->next) {
      rec_key k = classify(map, m);
      int kept;
      switch (k) {
        case RK_NONE: kept = 1; break;
        case RK_TIME: kept = 0; break;
        case RK_SEVERITY: {
          int64_t num;
          kept = !((m->type == JSON_STRING && severity_from_text(m->s, m->n) > 0) ||
                   (m->type == JSON_NUMBER && json_as_int64(m, &num) == 0 && num >= 1 && num <= 24));
          break;
        }
        case RK_LABELS: kept = m->type != JSON_OBJECT; break;
        case RK_DATA: kept = m->type != JSON_OBJECT && m->type != JSON_STRING; break;
        case RK_LABEL: kept = m->type == JSON_OBJECT || m->type == JSON_ARRAY || m->type == JSON_NULL; break;
        default: kept = m->type != JSON_STRING; break;
      }
      if (!kept) continue;
      strv v;
      if (ev->data && scalar_text(m, &v) == 0) {
        if (add_label(ev, cap, (strv){m->key, m->key_len}, v, lim, err) != 0) return -1;
        continue;
      }
      json_value *c = arena_alloc(a, sizeof *c);
      if (!c) return rfail(err, EVD_ERR_NOMEM, "", "out of memory");
      *c = *m;
      c->next = NULL;
      *tail = c;
      tail = &c->next;
      rest->n++;
    }
    if (rest->n && !ev->data) {
      ev->data = rest;
    } else if (rest->n) {
      /* data._record: copy data's members and append the rest under "_record". */
      json_value *d = arena_alloc(a, sizeof *d);
      if (!d) return rfail(err, EVD_ERR_NOMEM, "", "out of memory");
      *d = *ev->data;
      d->key = NULL;
      d->key_len = 0;
      d->next = NULL;
      json_value **dt = &d->child;
      for (const json_value *m = ev->data->child; m; m = m->next) {
        if (key_is(m, "_record")) return rfail(err, EVD_ERR_INVALID, "data._record", "reserved for the record's other keys");
        json_value *c = arena_alloc(a, sizeof *c);
        if (!c) return rfail(err, EVD_ERR_NOMEM, "", "out of memory");
        *c = *m;
        c->next = NULL;
        *dt = c;
        dt = &c->next;
      }
      rest->key = "_record";
      rest->key_len = 7;
      *dt = rest;
      d->n++;
      ev->data = d;
    }
  }

  if (labels) {
    for (const json_value *m = labels->child; m; m = m->next) {
      strv v;
      if (scalar_text(m, &v) != 0)
        return rfail(err, EVD_ERR_INVALID, "labels", "label '%.*s' is not a string", (int)(m->key_len > 64 ? 64 : m->key_len), m->key);
      if (add_label(ev, cap, (strv){m->key, m->key_len}, v, lim, err) != 0) return -1;
    }
  }
  if (ev->nlabels == 0) ev->labels = NULL;
  if (ev->f[EVF_TYPE].n == 0 && map->default_type && *map->default_type)
    ev->f[EVF_TYPE] = (strv){map->default_type, strlen(map->default_type)};
  if (ev->f[EVF_TYPE].n == 0)
    return rfail(err, EVD_ERR_INVALID, "type", "required: neither the tag nor the record gives a type");
  return 0;
}

int fwd_write_ack(buf *out, const char *chunk, size_t chunk_len) {
  uint8_t hdr[8];
  size_t h = 0;
  hdr[h++] = 0x81;                     /* fixmap 1 */
  hdr[h++] = 0xa3;                     /* fixstr 3 */
  if (buf_append(out, hdr, h) != 0 || buf_append(out, "ack", 3) != 0) return -1;
  h = 0;
  if (chunk_len < 32) {
    hdr[h++] = (uint8_t)(0xa0 | chunk_len);
  } else if (chunk_len < 256) {
    hdr[h++] = 0xd9;
    hdr[h++] = (uint8_t)chunk_len;
  } else if (chunk_len < 65536) {
    hdr[h++] = 0xda;
    hdr[h++] = (uint8_t)(chunk_len >> 8);
    hdr[h++] = (uint8_t)chunk_len;
  } else {
    hdr[h++] = 0xdb;
    for (int i = 3; i >= 0; i--) hdr[h++] = (uint8_t)(chunk_len >> (8 * i));
  }
  if (buf_append(out, hdr, h) != 0 || buf_append(out, chunk, chunk_len) != 0) return -1;
  return 0;
}
