/* yamltree: see yamltree.h. */
#include "registry/yamltree.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- files ----------------------------------------------------------------------------- */

char *yamltree_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  buf b = BUF_INIT;
  char chunk[16384];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (buf_append(&b, chunk, n) != 0) {
      buf_free(&b);
      fclose(f);
      errno = ENOMEM;
      return NULL;
    }
  }
  int rerr = ferror(f);
  fclose(f);
  if (rerr) {
    buf_free(&b);
    errno = EIO;
    return NULL;
  }
  if (!b.data && buf_reserve(&b, 1) != 0) {
    errno = ENOMEM;
    return NULL;
  }
  b.data[b.len] = '\0';
  *len = b.len;
  return buf_steal(&b);
}

static void set_err(yamltree_error *err, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(yamltree_error *err, int line, const char *fmt, ...) {
  err->line = line;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
}

/* ---- JSON ------------------------------------------------------------------------------ */

typedef struct linemap {
  const uint32_t *starts; /* offsets where lines 2.. begin */
  size_t n;
} linemap;

static uint32_t line_of(const linemap *m, uint32_t offset) {
  size_t lo = 0, hi = m->n; /* number of line starts <= offset */
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (m->starts[mid] <= offset) lo = mid + 1;
    else hi = mid;
  }
  return (uint32_t)lo + 1;
}

static void offsets_to_lines(json_value *v, const linemap *m) {
  for (; v; v = v->next) {
    v->offset = line_of(m, v->offset);
    if (v->type == JSON_ARRAY || v->type == JSON_OBJECT) offsets_to_lines(v->child, m);
  }
}

json_value *yamltree_parse_json(arena *a, const char *text, size_t len, int max_depth, yamltree_error *err) {
  err->line = 0;
  err->message[0] = '\0';
  size_t nl = 0;
  for (size_t i = 0; i < len; i++) nl += text[i] == '\n';
  uint32_t *starts = malloc((nl ? nl : 1) * sizeof *starts);
  if (!starts) {
    set_err(err, 0, "out of memory");
    return NULL;
  }
  size_t k = 0;
  for (size_t i = 0; i < len; i++)
    if (text[i] == '\n') starts[k++] = (uint32_t)(i + 1);
  linemap m = {starts, nl};
  json_error jerr;
  json_value *root = json_parse(a, text, len, max_depth, &jerr);
  if (!root) {
    set_err(err, (int)line_of(&m, (uint32_t)(jerr.offset > UINT32_MAX ? UINT32_MAX : jerr.offset)), "%s",
            jerr.message);
  } else {
    offsets_to_lines(root, &m);
  }
  free(starts);
  return root;
}

/* ---- YAML ------------------------------------------------------------------------------ */

typedef struct anchor {
  char *name;
  json_value *node;
  int complete;
  int height; /* nesting levels of the node (a scalar is 1) */
} anchor;

typedef struct frame {
  json_value *node;
  json_value *tail;
  const char *key; /* mapping: the key waiting for its value, or NULL */
  uint32_t key_len;
  int key_line;
  int anchor; /* index into anchors, or -1 */
} frame;

typedef struct ybuild {
  arena *a;
  yamltree_error *err;
  frame *stack;
  int depth, max_depth;
  size_t nodes, max_nodes;
  anchor *anchors;
  size_t nanchors, anchors_cap;
  json_value *root;
  int have_root;
} ybuild;

static json_value *new_node(ybuild *b, json_type t, int line) {
  if (++b->nodes > b->max_nodes) {
    set_err(b->err, line, "document has more than %zu nodes", b->max_nodes);
    return NULL;
  }
  json_value *v = arena_calloc(b->a, sizeof *v);
  if (!v) {
    set_err(b->err, line, "out of memory");
    return NULL;
  }
  v->type = t;
  v->offset = (uint32_t)line;
  return v;
}

static int node_height(const json_value *v) {
  if (v->type != JSON_ARRAY && v->type != JSON_OBJECT) return 1;
  int h = 0;
  for (const json_value *c = v->child; c; c = c->next) {
    int ch = node_height(c);
    if (ch > h) h = ch;
  }
  return h + 1;
}

/* Copy src (its key is not copied). */
static json_value *copy_node(ybuild *b, const json_value *src) {
  json_value *v = new_node(b, src->type, (int)src->offset);
  if (!v) return NULL;
  v->n = src->n;
  v->s = src->s; /* strings are immutable and arena-owned: share them */
  json_value *tail = NULL;
  if (src->type == JSON_ARRAY || src->type == JSON_OBJECT) {
    for (const json_value *c = src->child; c; c = c->next) {
      json_value *cc = copy_node(b, c);
      if (!cc) return NULL;
      cc->key = c->key;
      cc->key_len = c->key_len;
      if (tail) tail->next = cc;
      else v->child = cc;
      tail = cc;
    }
  }
  return v;
}

/* Attach a finished or opened node to the current parent (or make it the root). */
static int attach(ybuild *b, json_value *v, int line) {
  if (b->depth == 0) {
    b->root = v;
    b->have_root = 1;
    return 0;
  }
  frame *f = &b->stack[b->depth - 1];
  if (f->node->type == JSON_OBJECT) {
    if (!f->key) {
      set_err(b->err, line, "a mapping key must be a scalar");
      return -1;
    }
    v->key = f->key;
    v->key_len = f->key_len;
    f->key = NULL;
  }
  if (f->tail) f->tail->next = v;
  else f->node->child = v;
  f->tail = v;
  f->node->n++;
  return 0;
}

/* In a mapping waiting for a key: take this scalar text as the key. */
static int take_key(ybuild *b, const char *s, size_t n, int line) {
  frame *f = &b->stack[b->depth - 1];
  if (n > UINT32_MAX) {
    set_err(b->err, line, "mapping key too long");
    return -1;
  }
  for (const json_value *c = f->node->child; c; c = c->next)
    if (c->key_len == n && memcmp(c->key, s, n) == 0) {
      set_err(b->err, line, "duplicate key '%.*s'", (int)(n > 60 ? 60 : n), s);
      return -1;
    }
  char *k = arena_strndup(b->a, s, n);
  if (!k) {
    set_err(b->err, line, "out of memory");
    return -1;
  }
  f->key = k;
  f->key_len = (uint32_t)n;
  f->key_line = line;
  return 0;
}

static int waiting_for_key(const ybuild *b) {
  if (b->depth == 0) return 0;
  const frame *f = &b->stack[b->depth - 1];
  return f->node->type == JSON_OBJECT && f->key == NULL;
}

static int add_anchor(ybuild *b, const char *name, json_value *v, int complete, int line) {
  if (b->nanchors == b->anchors_cap) {
    size_t cap = b->anchors_cap ? b->anchors_cap * 2 : 8;
    anchor *na = realloc(b->anchors, cap * sizeof *na);
    if (!na) {
      set_err(b->err, line, "out of memory");
      return -1;
    }
    b->anchors = na;
    b->anchors_cap = cap;
  }
  char *nm = arena_strndup(b->a, name, strlen(name));
  if (!nm) {
    set_err(b->err, line, "out of memory");
    return -1;
  }
  /* A later anchor of the same name shadows the earlier one (YAML allows redefinition). */
  b->anchors[b->nanchors] = (anchor){nm, v, complete, complete ? node_height(v) : 0};
  return (int)b->nanchors++;
}

static const anchor *find_anchor(const ybuild *b, const char *name) {
  for (size_t i = b->nanchors; i-- > 0;)
    if (strcmp(b->anchors[i].name, name) == 0) return &b->anchors[i];
  return NULL;
}

static int all_digits(const char *s, size_t n, int base) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    int c = s[i];
    int ok = base == 16 ? ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'))
                        : (c >= '0' && c < '0' + base);
    if (!ok) return 0;
  }
  return 1;
}

/* A plain scalar that is a YAML 1.2 core-schema number, written as JSON number text into
 * out (arena). Returns 1 (number), 0 (not a number), -1 (out of memory). */
static int plain_number(arena *a, const char *s, size_t n, const char **out, uint32_t *outlen) {
  if (n == 0 || n > 4096) return 0;
  buf tmp = BUF_INIT;
  int rc = 0;
  if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    int base = s[1] == 'x' ? 16 : 8;
    if (!all_digits(s + 2, n - 2, base)) return 0;
    uint64_t v = 0;
    for (size_t i = 2; i < n; i++) {
      int d = s[i] <= '9' ? s[i] - '0' : (s[i] | 0x20) - 'a' + 10;
      if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return 0; /* too large: a string */
      v = v * (uint64_t)base + (uint64_t)d;
    }
    if (buf_printf(&tmp, "%" PRIu64, v) != 0) rc = -1;
  } else {
    size_t i = 0;
    int neg = 0;
    if (s[i] == '+' || s[i] == '-') neg = s[i++] == '-';
    size_t ip = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    size_t ipn = i - ip;
    size_t fp = 0, fpn = 0;
    int has_dot = 0;
    if (i < n && s[i] == '.') {
      has_dot = 1;
      fp = ++i;
      while (i < n && s[i] >= '0' && s[i] <= '9') i++;
      fpn = i - fp;
    }
    if (ipn == 0 && fpn == 0) return 0;
    size_t ep = 0, epn = 0;
    char esign = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
      i++;
      if (i < n && (s[i] == '+' || s[i] == '-')) esign = s[i++];
      ep = i;
      while (i < n && s[i] >= '0' && s[i] <= '9') i++;
      epn = i - ep;
      if (epn == 0) return 0;
    }
    if (i != n) return 0;
    (void)has_dot;
    /* integer part without leading zeros */
    while (ipn > 1 && s[ip] == '0') ip++, ipn--;
    if (neg) rc |= buf_putc(&tmp, '-');
    if (ipn == 0) rc |= buf_putc(&tmp, '0');
    else rc |= buf_append(&tmp, s + ip, ipn);
    if (fpn) {
      rc |= buf_putc(&tmp, '.');
      rc |= buf_append(&tmp, s + fp, fpn);
    }
    if (epn) {
      rc |= buf_putc(&tmp, 'e');
      if (esign) rc |= buf_putc(&tmp, esign);
      rc |= buf_append(&tmp, s + ep, epn);
    }
    if (rc) rc = -1;
  }
  if (rc == 0) {
    char *o = arena_strndup(a, tmp.data, tmp.len);
    if (!o) rc = -1;
    else {
      *out = o;
      *outlen = (uint32_t)tmp.len;
      rc = 1;
    }
  }
  buf_free(&tmp);
  return rc;
}

static int str_is(const char *s, size_t n, const char *lit) { return strlen(lit) == n && memcmp(s, lit, n) == 0; }

static json_value *scalar_node(ybuild *b, const yaml_event_t *ev, int line) {
  const char *s = (const char *)ev->data.scalar.value;
  size_t n = ev->data.scalar.length;
  const char *tag = (const char *)ev->data.scalar.tag;
  int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
              (!tag || strcmp(tag, YAML_STR_TAG) != 0);
  if (n > UINT32_MAX) {
    set_err(b->err, line, "scalar too long");
    return NULL;
  }
  if (plain) {
    if (n == 0 || str_is(s, n, "~") || str_is(s, n, "null") || str_is(s, n, "Null") || str_is(s, n, "NULL"))
      return new_node(b, JSON_NULL, line);
    if (str_is(s, n, "true") || str_is(s, n, "True") || str_is(s, n, "TRUE")) return new_node(b, JSON_TRUE, line);
    if (str_is(s, n, "false") || str_is(s, n, "False") || str_is(s, n, "FALSE"))
      return new_node(b, JSON_FALSE, line);
    const char *num;
    uint32_t numlen;
    int r = plain_number(b->a, s, n, &num, &numlen);
    if (r < 0) {
      set_err(b->err, line, "out of memory");
      return NULL;
    }
    if (r > 0) {
      json_value *v = new_node(b, JSON_NUMBER, line);
      if (v) {
        v->s = num;
        v->n = numlen;
      }
      return v;
    }
  }
  json_value *v = new_node(b, JSON_STRING, line);
  if (!v) return NULL;
  char *copy = arena_strndup(b->a, s, n);
  if (!copy) {
    set_err(b->err, line, "out of memory");
    return NULL;
  }
  v->s = copy;
  v->n = (uint32_t)n;
  return v;
}

/* Handle one parser event. Returns 1 at the end of the stream, 0 to go on, -1 on error. */
static int on_event(ybuild *b, const yaml_event_t *ev) {
  int line = (int)ev->start_mark.line + 1;
  switch (ev->type) {
    case YAML_NO_EVENT:
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT: return 0;
    case YAML_STREAM_END_EVENT: return 1;
    case YAML_DOCUMENT_START_EVENT:
      if (b->have_root) {
        set_err(b->err, line, "more than one YAML document in the file");
        return -1;
      }
      return 0;
    case YAML_SCALAR_EVENT: {
      if (waiting_for_key(b)) {
        if (ev->data.scalar.anchor && add_anchor(b, (const char *)ev->data.scalar.anchor, NULL, 0, line) < 0)
          return -1;
        json_value *k = scalar_node(b, ev, line); /* anchors on keys: keep the value node */
        if (!k) return -1;
        if (ev->data.scalar.anchor) {
          b->anchors[b->nanchors - 1].node = k;
          b->anchors[b->nanchors - 1].complete = 1;
          b->anchors[b->nanchors - 1].height = 1;
        }
        return take_key(b, (const char *)ev->data.scalar.value, ev->data.scalar.length, line);
      }
      json_value *v = scalar_node(b, ev, line);
      if (!v) return -1;
      if (ev->data.scalar.anchor && add_anchor(b, (const char *)ev->data.scalar.anchor, v, 1, line) < 0) return -1;
      return attach(b, v, line);
    }
    case YAML_ALIAS_EVENT: {
      const anchor *an = find_anchor(b, (const char *)ev->data.alias.anchor);
      if (!an) {
        set_err(b->err, line, "unknown alias '*%s'", (const char *)ev->data.alias.anchor);
        return -1;
      }
      if (!an->complete) {
        set_err(b->err, line, "recursive alias '*%s'", an->name);
        return -1;
      }
      if (waiting_for_key(b)) {
        if (an->node->type != JSON_STRING && an->node->type != JSON_NUMBER) {
          set_err(b->err, line, "a mapping key must be a scalar");
          return -1;
        }
        return take_key(b, an->node->s, an->node->n, line);
      }
      if (b->depth + an->height > b->max_depth) {
        set_err(b->err, line, "nesting deeper than %d", b->max_depth);
        return -1;
      }
      json_value *v = copy_node(b, an->node);
      if (!v) return -1;
      v->offset = (uint32_t)line;
      return attach(b, v, line);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
      int is_map = ev->type == YAML_MAPPING_START_EVENT;
      if (waiting_for_key(b)) {
        set_err(b->err, line, "a mapping key must be a scalar");
        return -1;
      }
      if (b->depth >= b->max_depth) {
        set_err(b->err, line, "nesting deeper than %d", b->max_depth);
        return -1;
      }
      json_value *v = new_node(b, is_map ? JSON_OBJECT : JSON_ARRAY, line);
      if (!v) return -1;
      const yaml_char_t *an = is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
      int ai = -1;
      if (an && (ai = add_anchor(b, (const char *)an, v, 0, line)) < 0) return -1;
      if (attach(b, v, line)) return -1;
      b->stack[b->depth++] = (frame){v, NULL, NULL, 0, 0, ai};
      return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
      frame *f = &b->stack[--b->depth];
      if (f->anchor >= 0) {
        b->anchors[f->anchor].complete = 1;
        b->anchors[f->anchor].height = node_height(f->node);
      }
      return 0;
    }
  }
  return 0;
}

json_value *yamltree_parse_yaml(arena *a, const char *text, size_t len, int max_depth, size_t max_nodes,
                                yamltree_error *err) {
  err->line = 0;
  err->message[0] = '\0';
  ybuild b;
  memset(&b, 0, sizeof b);
  b.a = a;
  b.err = err;
  b.max_depth = max_depth > 0 ? max_depth : YAMLTREE_DEFAULT_MAX_DEPTH;
  b.max_nodes = max_nodes ? max_nodes : YAMLTREE_DEFAULT_MAX_NODES;
  b.stack = malloc((size_t)b.max_depth * sizeof *b.stack);
  if (!b.stack) {
    set_err(err, 0, "out of memory");
    return NULL;
  }
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    free(b.stack);
    set_err(err, 0, "out of memory");
    return NULL;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  int rc = 0;
  while (rc == 0) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      const yaml_mark_t *mk = &parser.problem_mark;
      set_err(err, (int)mk->line + 1, "%s%s%s", parser.problem ? parser.problem : "invalid YAML",
              parser.context ? " " : "", parser.context ? parser.context : "");
      rc = -1;
      break;
    }
    rc = on_event(&b, &ev);
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);
  free(b.stack);
  free(b.anchors);
  if (rc < 0) return NULL;
  if (!b.have_root) {
    json_value *v = arena_calloc(a, sizeof *v);
    if (!v) set_err(err, 0, "out of memory");
    else v->type = JSON_NULL, v->offset = 1;
    return v;
  }
  return b.root;
}
