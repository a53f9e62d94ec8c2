/* outputs_config: see outputs_config.h. */
#include "outputs/outputs_config.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "outputs/outputs.h"

#define YAML_JSON_MAX_DEPTH 16

/* 1 if s is a JSON number (RFC 8259 grammar). */
static int is_json_number(const char *s) {
  const char *p = s;
  if (*p == '-') p++;
  if (*p == '0') p++;
  else if (*p >= '1' && *p <= '9') while (*p >= '0' && *p <= '9') p++;
  else return 0;
  if (*p == '.') {
    p++;
    if (!(*p >= '0' && *p <= '9')) return 0;
    while (*p >= '0' && *p <= '9') p++;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-') p++;
    if (!(*p >= '0' && *p <= '9')) return 0;
    while (*p >= '0' && *p <= '9') p++;
  }
  return *p == '\0';
}

/* Append node n as JSON. Returns 0, or -1 with err (naming the line). */
static int node_json(yaml_document_t *doc, yaml_node_t *n, int depth, buf *out,
                     const char *file, char *err, size_t errlen) {
  if (depth > YAML_JSON_MAX_DEPTH) {
    snprintf(err, errlen, "%s:%zu: nesting too deep", file, n->start_mark.line + 1);
    return -1;
  }
  if (n->type == YAML_SCALAR_NODE) {
    const char *v = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    if (len != strlen(v) || !utf8_valid(v, len)) {
      snprintf(err, errlen, "%s:%zu: value is not valid text", file, n->start_mark.line + 1);
      return -1;
    }
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
      if (len == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0) return buf_puts(out, "null");
      if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) return buf_puts(out, v);
      if (is_json_number(v)) return buf_puts(out, v);
    }
    return json_write_string(out, v, len);
  }
  if (n->type == YAML_SEQUENCE_NODE) {
    int rc = buf_putc(out, '[');
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
      yaml_node_t *e = yaml_document_get_node(doc, *it);
      if (!e) return -1;
      if (it != n->data.sequence.items.start) rc |= buf_putc(out, ',');
      if (node_json(doc, e, depth + 1, out, file, err, errlen) != 0) return -1;
    }
    return rc | buf_putc(out, ']');
  }
  if (n->type == YAML_MAPPING_NODE) {
    int rc = buf_putc(out, '{');
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
      yaml_node_t *k = yaml_document_get_node(doc, p->key);
      yaml_node_t *v = yaml_document_get_node(doc, p->value);
      if (!k || !v) return -1;
      if (k->type != YAML_SCALAR_NODE) {
        snprintf(err, errlen, "%s:%zu: keys must be plain names", file, k->start_mark.line + 1);
        return -1;
      }
      const char *ks = (const char *)k->data.scalar.value;
      if (k->data.scalar.length != strlen(ks) || !utf8_valid(ks, strlen(ks))) {
        snprintf(err, errlen, "%s:%zu: invalid key", file, k->start_mark.line + 1);
        return -1;
      }
      if (p != n->data.mapping.pairs.start) rc |= buf_putc(out, ',');
      rc |= json_write_string(out, ks, strlen(ks));
      rc |= buf_putc(out, ':');
      if (node_json(doc, v, depth + 1, out, file, err, errlen) != 0) return -1;
    }
    return rc | buf_putc(out, '}');
  }
  snprintf(err, errlen, "%s:%zu: unexpected YAML node", file, n->start_mark.line + 1);
  return -1;
}

/* The name member of a checked spec, copied into name (empty when absent). */
static void spec_name(const char *json, size_t len, char *name, size_t cap) {
  arena a;
  arena_init(&a, 1024);
  json_error je;
  const json_value *v = json_parse(&a, json, len, 16, &je);
  const json_value *n = v && v->type == JSON_OBJECT ? json_get(v, "name") : NULL;
  snprintf(name, cap, "%s", n && n->type == JSON_STRING ? n->s : "");
  arena_free(&a);
}

/* Check one spec and append it (taking json). Returns 0 or -1 with msg. */
static int add_spec(evd_config *c, char *json, char *msg, size_t msglen) {
  if (strstr(json, CONFIG_REDACTED)) {
    snprintf(msg, msglen,
             "holds the placeholder " CONFIG_REDACTED " of eventd --print-config, not a secret; "
             "put the real value here (eventd --print-config --show-secrets prints it)");
    free(json);
    return -1;
  }
  if (outputs_check_spec(json, strlen(json), msg, msglen) != 0) {
    free(json);
    return -1;
  }
  char name[OUTPUTS_NAME_MAX + 1], other[OUTPUTS_NAME_MAX + 1];
  spec_name(json, strlen(json), name, sizeof name);
  for (size_t i = 0; i < c->outputs_ndeclared; i++) {
    spec_name(c->outputs_declared[i], strlen(c->outputs_declared[i]), other, sizeof other);
    if (strcmp(name, other) == 0) {
      snprintf(msg, msglen, "name: '%s' is declared twice", name);
      free(json);
      return -1;
    }
  }
  char **v = realloc(c->outputs_declared, (c->outputs_ndeclared + 1) * sizeof *v);
  if (!v) {
    snprintf(msg, msglen, "out of memory");
    free(json);
    return -1;
  }
  c->outputs_declared = v;
  v[c->outputs_ndeclared++] = json;
  return 0;
}

int outputs_config_yaml(evd_config *c, const char *file, yaml_document_t *doc,
                        yaml_node_t *list, char *err, size_t errlen) {
  if (list->type == YAML_SCALAR_NODE && list->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
      list->data.scalar.length == 0)
    return 0;
  if (list->type != YAML_SEQUENCE_NODE) {
    snprintf(err, errlen, "%s:%zu: outputs: expected a list of outputs (one mapping each)", file,
             list->start_mark.line + 1);
    return -1;
  }
  size_t i = 0;
  for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
       it++, i++) {
    yaml_node_t *e = yaml_document_get_node(doc, *it);
    if (!e) return -1;
    if (e->type != YAML_MAPPING_NODE) {
      snprintf(err, errlen, "%s:%zu: outputs[%zu]: expected a mapping (name, type, ...)", file,
               e->start_mark.line + 1, i);
      return -1;
    }
    buf b = BUF_INIT;
    if (node_json(doc, e, 0, &b, file, err, errlen) != 0) {
      buf_free(&b);
      return -1;
    }
    char msg[512] = "out of memory";
    char *json = buf_steal(&b);
    if (!json || add_spec(c, json, msg, sizeof msg) != 0) {
      snprintf(err, errlen, "%s:%zu: outputs[%zu]: %s", file, e->start_mark.line + 1, i, msg);
      return -1;
    }
  }
  return 0;
}

int outputs_config_set(evd_config *c, const char *name, const char *value, char *err,
                       size_t errlen) {
  outputs_config_free(c);
  if (!*value) return 0;
  arena a;
  arena_init(&a, 4096);
  json_error je;
  const json_value *v = json_parse(&a, value, strlen(value), 32, &je);
  if (!v || (v->type != JSON_ARRAY && v->type != JSON_OBJECT)) {
    snprintf(err, errlen, "%s: expected a JSON array of outputs (or one output object)", name);
    arena_free(&a);
    return -1;
  }
  const json_value *e = v->type == JSON_ARRAY ? v->child : v;
  for (size_t i = 0; e; e = v->type == JSON_ARRAY ? e->next : NULL, i++) {
    buf b = BUF_INIT;
    char msg[512];
    if (json_write_value(&b, e) != 0 || !b.data) {
      buf_free(&b);
      snprintf(err, errlen, "%s: out of memory", name);
      arena_free(&a);
      return -1;
    }
    if (add_spec(c, buf_steal(&b), msg, sizeof msg) != 0) {
      snprintf(err, errlen, "%s[%zu]: %s", name, i, msg);
      arena_free(&a);
      return -1;
    }
  }
  arena_free(&a);
  return 0;
}

/* 1 if a spec member named k (at any depth) holds a secret. */
static int secret_member(const char *k, size_t n) {
  char low[128];
  if (n >= sizeof low) n = sizeof low - 1;
  for (size_t i = 0; i < n; i++) low[i] = (char)(k[i] >= 'A' && k[i] <= 'Z' ? k[i] + 32 : k[i]);
  low[n] = '\0';
  return strstr(low, "secret") || strstr(low, "password") || strstr(low, "token") ||
         strstr(low, "key.pem") || strstr(low, "sasl.jaas");
}

/* Write string s[0..n) with the password of a URL's userinfo ("scheme://user:PASS@host")
 * replaced by CONFIG_REDACTED. */
static int write_url_redacted(buf *out, const char *s, size_t n) {
  const char *sep = n >= 3 ? strstr(s, "://") : NULL;
  const char *auth = sep ? sep + 3 : NULL;
  const char *end = auth ? auth + strcspn(auth, "/?#") : NULL;
  const char *at = NULL;
  for (const char *p = auth; p && p < end; p++)
    if (*p == '@') at = p; /* the last '@' before the path ends the userinfo */
  const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
  if (!colon || (size_t)(at - s) > n) return json_write_string(out, s, n);
  buf t = BUF_INIT;
  int rc = buf_append(&t, s, (size_t)(colon + 1 - s)) | buf_puts(&t, CONFIG_REDACTED) |
           buf_append(&t, at, n - (size_t)(at - s));
  rc |= json_write_string(out, t.data ? (const char *)t.data : "", t.len);
  buf_free(&t);
  return rc ? -1 : 0;
}

/* Write v as JSON with its secrets redacted (see config_print). redact_all: every string
 * under this value is a secret (header values). */
static int write_redacted(buf *out, const json_value *v, int redact_all) {
  int rc = 0;
  switch (v->type) {
    case JSON_OBJECT: {
      rc |= buf_putc(out, '{');
      for (const json_value *m = v->child; m; m = m->next) {
        if (m != v->child) rc |= buf_putc(out, ',');
        rc |= json_write_string(out, m->key, m->key_len);
        rc |= buf_putc(out, ':');
        int headers = m->key_len == 7 && memcmp(m->key, "headers", 7) == 0;
        if (redact_all || secret_member(m->key, m->key_len))
          rc |= json_write_string(out, CONFIG_REDACTED, strlen(CONFIG_REDACTED));
        else
          rc |= write_redacted(out, m, headers);
      }
      return rc | buf_putc(out, '}');
    }
    case JSON_ARRAY:
      rc |= buf_putc(out, '[');
      for (const json_value *e = v->child; e; e = e->next) {
        if (e != v->child) rc |= buf_putc(out, ',');
        rc |= write_redacted(out, e, redact_all);
      }
      return rc | buf_putc(out, ']');
    case JSON_STRING:
      if (redact_all) return json_write_string(out, CONFIG_REDACTED, strlen(CONFIG_REDACTED));
      return write_url_redacted(out, v->s, v->n);
    default: return json_write_value(out, v);
  }
}

void outputs_config_print(const evd_config *c, FILE *out, int show_secrets) {
  fputc('[', out);
  for (size_t i = 0; i < c->outputs_ndeclared; i++) {
    const char *spec = c->outputs_declared[i];
    fputs(i ? ", " : "", out);
    if (show_secrets) {
      fputs(spec, out);
      continue;
    }
    arena a;
    arena_init(&a, 1024);
    json_error je;
    buf b = BUF_INIT;
    const json_value *v = json_parse(&a, spec, strlen(spec), YAML_JSON_MAX_DEPTH + 2, &je);
    if (v && write_redacted(&b, v, 0) == 0 && b.data) fwrite(b.data, 1, b.len, out);
    else fputs("{\"error\":\"cannot print this output (out of memory)\"}", out);
    buf_free(&b);
    arena_free(&a);
  }
  fputc(']', out);
}

void outputs_config_free(evd_config *c) {
  for (size_t i = 0; i < c->outputs_ndeclared; i++) free(c->outputs_declared[i]);
  free(c->outputs_declared);
  c->outputs_declared = NULL;
  c->outputs_ndeclared = 0;
}
