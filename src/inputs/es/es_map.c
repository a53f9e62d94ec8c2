/* es_map: see es_map.h. */
#include "inputs/es/es_map.h"

#include <stdio.h>
#include <string.h>

#include "core/event.h"

/* ---- index rules ------------------------------------------------------------------------- */

static int label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

int es_index_rule_parse(const char *text, es_index_rule *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  const char *p = text ? text : "";
  if (!*p) {
    snprintf(err, errlen, "es.index_rule: empty rule (the default is {stream}-{env})");
    return -1;
  }
  int prev_placeholder = 0;
  while (*p) {
    if (out->nparts == ES_RULE_MAX_PARTS) {
      snprintf(err, errlen, "es.index_rule: more than %d parts", ES_RULE_MAX_PARTS);
      return -1;
    }
    es_rule_part *part = &out->parts[out->nparts];
    if (*p == '{') {
      const char *e = strchr(p, '}');
      if (!e) {
        snprintf(err, errlen, "es.index_rule: '{' without '}' in '%s'", text);
        return -1;
      }
      size_t n = (size_t)(e - p - 1);
      if (n == 0 || n >= sizeof part->text) {
        snprintf(err, errlen, "es.index_rule: empty or too long placeholder in '%s'", text);
        return -1;
      }
      if (prev_placeholder) {
        snprintf(err, errlen,
                 "es.index_rule: two placeholders without literal text between them in '%s'", text);
        return -1;
      }
      memcpy(part->text, p + 1, n);
      part->text[n] = '\0';
      for (size_t i = 0; i < n; i++)
        if (!label_char(part->text[i])) {
          snprintf(err, errlen, "es.index_rule: invalid placeholder name '{%s}' (A-Z a-z 0-9 _ . -)",
                   part->text);
          return -1;
        }
      if (strcmp(part->text, "_") == 0) part->kind = ES_PART_DROP;
      else if (strcmp(part->text, "stream") == 0 || strcmp(part->text, "tenant") == 0 ||
               strcmp(part->text, "type") == 0 || strcmp(part->text, "source") == 0 ||
               strcmp(part->text, "tag") == 0)
        part->kind = ES_PART_FIELD;
      else part->kind = ES_PART_LABEL;
      prev_placeholder = 1;
      p = e + 1;
    } else {
      size_t n = strcspn(p, "{");
      if (memchr(p, '}', n)) {
        snprintf(err, errlen, "es.index_rule: '}' without '{' in '%s'", text);
        return -1;
      }
      if (n >= sizeof part->text) {
        snprintf(err, errlen, "es.index_rule: literal text longer than 63 bytes in '%s'", text);
        return -1;
      }
      part->kind = ES_PART_LITERAL;
      memcpy(part->text, p, n);
      part->text[n] = '\0';
      prev_placeholder = 0;
      p += n;
    }
    out->nparts++;
  }
  return 0;
}

/* ---- tree building ----------------------------------------------------------------------- */

typedef struct obj_builder {
  json_value *obj;
  json_value *tail;
} obj_builder;

static json_value *new_value(arena *a, json_type t) {
  json_value *v = arena_calloc(a, sizeof *v);
  if (v) v->type = t;
  return v;
}

static int ob_init(obj_builder *b, arena *a) {
  b->obj = new_value(a, JSON_OBJECT);
  b->tail = NULL;
  return b->obj ? 0 : -1;
}

/* Append a shallow copy of v as member key. */
static int ob_add(obj_builder *b, arena *a, const char *key, size_t klen, const json_value *v) {
  json_value *m = arena_alloc(a, sizeof *m);
  if (!m) return -1;
  *m = *v;
  m->key = key;
  m->key_len = (uint32_t)klen;
  m->next = NULL;
  if (b->tail) b->tail->next = m;
  else b->obj->child = m;
  b->tail = m;
  b->obj->n++;
  return 0;
}

static int ob_add_string(obj_builder *b, arena *a, const char *key, const char *s, size_t n) {
  json_value v = {.type = JSON_STRING, .s = s, .n = (uint32_t)n};
  return ob_add(b, a, key, strlen(key), &v);
}

/* ---- documents --------------------------------------------------------------------------- */

#define KEY_IS(m, lit) ((m)->key_len == sizeof(lit) - 1 && memcmp((m)->key, lit, sizeof(lit) - 1) == 0)

static int all_hex(const char *s, size_t n, size_t want) {
  if (n != want) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return 0;
  }
  return 1;
}

static int labels_all_strings(const json_value *v) {
  for (const json_value *m = v->child; m; m = m->next)
    if (m->type != JSON_STRING) return 0;
  return 1;
}

/* What the index rule gives: fields and labels (pointing into index). */
typedef struct rule_values {
  const char *field_name[ES_RULE_MAX_PARTS];
  const char *label_name[ES_RULE_MAX_PARTS];
  const char *val[ES_RULE_MAX_PARTS];
  size_t len[ES_RULE_MAX_PARTS];
  size_t n;
} rule_values;

static void apply_rule(const es_index_rule *r, const char *idx, size_t n, rule_values *rv) {
  memset(rv, 0, sizeof *rv);
  if (!r || r->nparts == 0 || n == 0) return;
  size_t pos = 0, i = 0;
  if (r->parts[0].kind == ES_PART_LITERAL) {
    size_t ln = strlen(r->parts[0].text);
    if (n < ln || memcmp(idx, r->parts[0].text, ln) != 0) { /* no match: whole index = stream */
      rv->field_name[0] = "stream";
      rv->val[0] = idx;
      rv->len[0] = n;
      rv->n = 1;
      return;
    }
    pos = ln;
    i = 1;
  }
  for (; i < r->nparts && pos <= n; i++) {
    const es_rule_part *p = &r->parts[i];
    if (p->kind == ES_PART_LITERAL) continue; /* consumed with the placeholder before it */
    size_t end = n, next_pos = n + 1; /* default: the rest, nothing after */
    int stop = 1;
    if (i + 1 < r->nparts) {
      const char *lit = r->parts[i + 1].text;
      size_t ln = strlen(lit);
      for (size_t k = pos; ln && k + ln <= n; k++)
        if (memcmp(idx + k, lit, ln) == 0) {
          end = k;
          next_pos = k + ln;
          stop = 0;
          break;
        }
    }
    if (end > pos && p->kind != ES_PART_DROP) {
      size_t k = rv->n++;
      if (p->kind == ES_PART_FIELD) rv->field_name[k] = p->text;
      else rv->label_name[k] = p->text;
      rv->val[k] = idx + pos;
      rv->len[k] = end - pos;
    }
    if (stop) break;
    pos = next_pos;
  }
}

json_value *es_map_document(arena *a, const es_map_opts *o, const char *index, size_t index_len,
                            const char *id, size_t id_len, const json_value *doc, int *oom,
                            char *err, size_t errlen) {
  *oom = 0;
  if (!doc || doc->type != JSON_OBJECT) {
    snprintf(err, errlen, "the document must be a JSON object, got %s",
             doc ? json_type_name(doc->type) : "nothing");
    return NULL;
  }
  /* First pass: which canonical members the document gives. */
  const json_value *time_v = NULL, *type_v = NULL, *msg_v = NULL, *log_v = NULL, *sev_v = NULL,
                   *sevnum_v = NULL, *level_v = NULL, *labels_v = NULL, *resource_v = NULL;
  const json_value *strf[6] = {0}; /* tag, source, stream, tenant, state, correlation_id */
  static const char *const strnames[6] = {"tag", "source", "stream", "tenant", "state",
                                          "correlation_id"};
  const json_value *trace_v = NULL, *span_v = NULL;
  const json_value *ts_at = NULL, *ts_time = NULL, *ts_timestamp = NULL, *ty_type = NULL,
                   *ty_event = NULL;
  for (const json_value *m = doc->child; m; m = m->next) {
    if (m->type == JSON_NULL) continue;
    if (KEY_IS(m, "@timestamp")) ts_at = m;
    else if (KEY_IS(m, "time")) ts_time = m;
    else if (KEY_IS(m, "timestamp")) ts_timestamp = m;
    else if (KEY_IS(m, "type") && m->type == JSON_STRING) ty_type = m;
    else if (KEY_IS(m, "event_type") && m->type == JSON_STRING) ty_event = m;
    else if (KEY_IS(m, "message") && m->type == JSON_STRING) msg_v = m;
    else if (KEY_IS(m, "log") && m->type == JSON_STRING) log_v = m;
    else if (KEY_IS(m, "severity") && (m->type == JSON_STRING || m->type == JSON_NUMBER)) sev_v = m;
    else if (KEY_IS(m, "severity_number") && m->type == JSON_NUMBER) sevnum_v = m;
    else if (KEY_IS(m, "level") && m->type == JSON_STRING && severity_from_text(m->s, m->n) > 0)
      level_v = m;
    else if (KEY_IS(m, "labels") && m->type == JSON_OBJECT && labels_all_strings(m)) labels_v = m;
    else if (KEY_IS(m, "resource") && m->type == JSON_OBJECT) resource_v = m;
    else if (KEY_IS(m, "trace_id") && m->type == JSON_STRING && all_hex(m->s, m->n, 32)) trace_v = m;
    else if (KEY_IS(m, "span_id") && m->type == JSON_STRING && all_hex(m->s, m->n, 16)) span_v = m;
    else if (m->type == JSON_STRING) {
      for (int k = 0; k < 6; k++)
        if (m->key_len == strlen(strnames[k]) && memcmp(m->key, strnames[k], m->key_len) == 0 &&
            m->n > 0)
          strf[k] = m;
    }
  }
  time_v = ts_at ? ts_at : ts_time ? ts_time : ts_timestamp;
  type_v = ty_type ? ty_type : ty_event;
  const json_value *message = msg_v ? msg_v : log_v;
  if (sev_v || sevnum_v) level_v = NULL;

  rule_values rv;
  apply_rule(o->rule, index, index_len, &rv);

  obj_builder ev, data;
  if (ob_init(&ev, a) != 0 || ob_init(&data, a) != 0) goto nomem;
  if (id && id_len && ob_add_string(&ev, a, "id", id, id_len) != 0) goto nomem;
  if (type_v) {
    if (ob_add(&ev, a, "type", 4, type_v) != 0) goto nomem;
  } else {
    const char *rule_type = NULL;
    size_t rule_type_len = 0;
    for (size_t k = 0; k < rv.n; k++)
      if (rv.field_name[k] && strcmp(rv.field_name[k], "type") == 0)
        rule_type = rv.val[k], rule_type_len = rv.len[k];
    const char *dt = o->default_type && *o->default_type ? o->default_type : "es.document";
    if (rule_type ? ob_add_string(&ev, a, "type", rule_type, rule_type_len)
                  : ob_add_string(&ev, a, "type", dt, strlen(dt)))
      goto nomem;
  }
  if (time_v && ob_add(&ev, a, "time", 4, time_v) != 0) goto nomem;
  if (message && ob_add(&ev, a, "message", 7, message) != 0) goto nomem;
  if (sev_v && ob_add(&ev, a, "severity", 8, sev_v) != 0) goto nomem;
  if (sevnum_v && ob_add(&ev, a, "severity_number", 15, sevnum_v) != 0) goto nomem;
  if (level_v && ob_add(&ev, a, "severity", 8, level_v) != 0) goto nomem;
  if (trace_v && ob_add(&ev, a, "trace_id", 8, trace_v) != 0) goto nomem;
  if (span_v && ob_add(&ev, a, "span_id", 7, span_v) != 0) goto nomem;
  if (resource_v && ob_add(&ev, a, "resource", 8, resource_v) != 0) goto nomem;
  for (int k = 0; k < 6; k++)
    if (strf[k] && ob_add(&ev, a, strnames[k], strlen(strnames[k]), strf[k]) != 0) goto nomem;
  /* Fields from the index rule, where the document did not give them. */
  for (size_t k = 0; k < rv.n; k++) {
    const char *f = rv.field_name[k];
    if (!f || strcmp(f, "type") == 0) continue;
    int given = 0;
    for (int j = 0; j < 6; j++)
      if (strf[j] && strcmp(strnames[j], f) == 0) given = 1;
    if (!given && ob_add_string(&ev, a, f, rv.val[k], rv.len[k]) != 0) goto nomem;
  }
  /* Labels: the document's, then the rule's (the document wins on the same key). */
  {
    obj_builder lb;
    if (ob_init(&lb, a) != 0) goto nomem;
    if (labels_v)
      for (const json_value *m = labels_v->child; m; m = m->next)
        if (ob_add(&lb, a, m->key, m->key_len, m) != 0) goto nomem;
    for (size_t k = 0; k < rv.n; k++) {
      const char *ln = rv.label_name[k];
      if (!ln) continue;
      size_t lnl = strlen(ln);
      int dup = 0;
      for (const json_value *m = lb.obj->child; m; m = m->next)
        if (m->key_len == lnl && memcmp(m->key, ln, lnl) == 0) dup = 1;
      if (!dup && ob_add_string(&lb, a, ln, rv.val[k], rv.len[k]) != 0) goto nomem;
    }
    if (lb.obj->n && ob_add(&ev, a, "labels", 6, lb.obj) != 0) goto nomem;
  }
  /* Everything else goes into data. */
  for (const json_value *m = doc->child; m; m = m->next) {
    if (m == time_v || m == type_v || m == message || m == sev_v || m == sevnum_v || m == level_v ||
        m == labels_v || m == resource_v || m == trace_v || m == span_v)
      continue;
    int taken = 0;
    for (int k = 0; k < 6; k++)
      if (m == strf[k]) taken = 1;
    if (taken) continue;
    if (ob_add(&data, a, m->key, m->key_len, m) != 0) goto nomem;
  }
  if (data.obj->n && ob_add(&ev, a, "data", 4, data.obj) != 0) goto nomem;
  return ev.obj;
nomem:
  *oom = 1;
  snprintf(err, errlen, "out of memory");
  return NULL;
}

/* ---- _bulk ------------------------------------------------------------------------------- */

const char *es_op_name(es_op op) {
  switch (op) {
    case ES_OP_INDEX: return "index";
    case ES_OP_CREATE: return "create";
    case ES_OP_DELETE: return "delete";
    case ES_OP_UPDATE: return "update";
  }
  return "index";
}

/* The next non-blank line of body from *pos: sets *s, *n (trimmed) and its 1-based number
 * in *line_no (counting every line). Returns 0 when there is none. */
static int next_line(const char *body, size_t len, size_t *pos, size_t *line_no, const char **s,
                     size_t *n) {
  while (*pos < len) {
    const char *p = body + *pos;
    const char *nl = memchr(p, '\n', len - *pos);
    const char *e = nl ? nl : body + len;
    *pos = nl ? (size_t)(nl - body) + 1 : len;
    (*line_no)++;
    const char *b = p;
    while (b < e && (*b == ' ' || *b == '\t' || *b == '\r')) b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
    if (b == e) continue;
    *s = b;
    *n = (size_t)(e - b);
    return 1;
  }
  return 0;
}

int es_bulk_decode(arena *a, const es_map_opts *o, const char *default_index, size_t dlen,
                   const char *body, size_t len, size_t event_max_bytes, int max_depth,
                   es_bulk_sink sink, void *arg, char *err, size_t errlen) {
  size_t pos = 0, line_no = 0;
  const char *s;
  size_t n;
  while (next_line(body, len, &pos, &line_no, &s, &n)) {
    arena_reset(a);
    es_bulk_item it;
    memset(&it, 0, sizeof it);
    it.line = line_no;
    it.index = default_index ? default_index : "";
    it.index_len = default_index ? dlen : 0;
    json_error je;
    json_value *act = n <= 64 * 1024 ? json_parse(a, s, n, 8, &je) : NULL;
    if (!act) {
      if (n <= 64 * 1024 && strcmp(je.message, "out of memory") == 0) {
        snprintf(err, errlen, "out of memory");
        return -2;
      }
      snprintf(err, errlen, "Malformed action/metadata line [%zu]: %s", line_no,
               n > 64 * 1024 ? "longer than 64 KiB" : je.message);
      return -1;
    }
    if (act->type != JSON_OBJECT || act->n != 1 || act->child->type != JSON_OBJECT) {
      snprintf(err, errlen,
               "Malformed action/metadata line [%zu], expected an object with one action "
               "(index, create, delete, update) whose value is an object",
               line_no);
      return -1;
    }
    const json_value *op = act->child;
    if (KEY_IS(op, "index")) it.op = ES_OP_INDEX;
    else if (KEY_IS(op, "create")) it.op = ES_OP_CREATE;
    else if (KEY_IS(op, "delete")) it.op = ES_OP_DELETE;
    else if (KEY_IS(op, "update")) it.op = ES_OP_UPDATE;
    else {
      char shown[64];
      size_t k = op->key_len < 48 ? op->key_len : 48;
      for (size_t i = 0; i < k; i++) {
        unsigned char c = (unsigned char)op->key[i];
        shown[i] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?';
      }
      shown[k] = '\0';
      snprintf(err, errlen,
               "Malformed action/metadata line [%zu], expected one of [create, delete, index, "
               "update] but found [%s]",
               line_no, shown);
      return -1;
    }
    for (const json_value *m = op->child; m; m = m->next) {
      if (KEY_IS(m, "_index") && m->type == JSON_STRING) {
        it.index = m->s;
        it.index_len = m->n;
      } else if (KEY_IS(m, "_id") && (m->type == JSON_STRING || m->type == JSON_NUMBER)) {
        it.id = m->s;
        it.id_len = m->n;
      }
    }
    if (it.op == ES_OP_DELETE) {
      it.status = 400;
      it.error_type = "illegal_argument_exception";
      snprintf(it.reason, sizeof it.reason,
               "delete is not supported: eventd stores events append-only (retention removes them)");
      if (sink(arg, &it) != 0) return -2;
      continue;
    }
    const char *src;
    size_t srcn;
    size_t src_line = line_no;
    if (!next_line(body, len, &pos, &line_no, &src, &srcn)) {
      snprintf(err, errlen, "The bulk request must have a source line after the %s action on line [%zu]",
               es_op_name(it.op), src_line);
      return -1;
    }
    it.source_len = srcn;
    if (it.op == ES_OP_UPDATE) {
      it.status = 400;
      it.error_type = "illegal_argument_exception";
      snprintf(it.reason, sizeof it.reason,
               "update is not supported: eventd stores events append-only; use index or create");
      if (sink(arg, &it) != 0) return -2;
      continue;
    }
    if (it.index_len == 0) {
      it.status = 400;
      it.error_type = "action_request_validation_exception";
      snprintf(it.reason, sizeof it.reason, "Validation Failed: 1: index is missing;");
      if (sink(arg, &it) != 0) return -2;
      continue;
    }
    if (srcn > event_max_bytes) {
      it.too_large = 1;
      if (sink(arg, &it) != 0) return -2;
      continue;
    }
    json_value *doc = json_parse(a, src, srcn, max_depth - 1, &je);
    if (!doc) {
      if (strcmp(je.message, "out of memory") == 0) {
        snprintf(err, errlen, "out of memory");
        return -2;
      }
      it.status = 400;
      it.error_type = "document_parsing_exception";
      snprintf(it.reason, sizeof it.reason, "[%zu:%zu] failed to parse: %s", line_no, je.offset + 1,
               je.message);
      if (sink(arg, &it) != 0) return -2;
      continue;
    }
    int oom = 0;
    it.event = es_map_document(a, o, it.index, it.index_len, it.id, it.id_len, doc, &oom,
                               it.reason, sizeof it.reason);
    if (!it.event) {
      if (oom) {
        snprintf(err, errlen, "out of memory");
        return -2;
      }
      it.status = 400;
      it.error_type = "document_parsing_exception";
    }
    if (sink(arg, &it) != 0) return -2;
  }
  return 0;
}
