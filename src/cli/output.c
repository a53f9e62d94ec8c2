/* output: see output.h. */
#include "cli/output.h"

#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#define FLEX_MIN_WIDTH 12

void output_init(void) {
  /* Only LC_CTYPE: it decides wcwidth() and the ellipsis; numbers stay in "C" format. */
  if (!setlocale(LC_CTYPE, "") || strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
    setlocale(LC_CTYPE, "C.UTF-8");
}

int output_term_width(void) {
  struct winsize ws;
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  const char *cols = getenv("COLUMNS");
  if (cols && *cols) {
    char *end;
    long v = strtol(cols, &end, 10);
    if (*end == '\0' && v > 0 && v < 100000) return (int)v;
  }
  return 0;
}

/* Decode one UTF-8 sequence at s (NUL-terminated); returns its length (1 for an invalid
 * byte, which is then shown as one column) and the code point in *cp (-1 if invalid). */
static size_t utf8_next(const unsigned char *s, long *cp) {
  unsigned c = s[0];
  size_t len;
  long v;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2;
    v = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    v = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    v = c & 0x07;
  } else {
    *cp = -1;
    return 1;
  }
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) {
      *cp = -1;
      return 1;
    }
    v = (v << 6) | (s[i] & 0x3F);
  }
  *cp = v;
  return len;
}

/* Columns one code point takes (0 for combining marks, 2 for wide ones). */
static int cp_width(long cp) {
  if (cp < 0) return 1;
  int w = wcwidth((wchar_t)cp);
  return w < 0 ? 1 : w;
}

size_t output_display_width(const char *s) {
  size_t w = 0;
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    long cp;
    p += utf8_next(p, &cp);
    w += (size_t)cp_width(cp);
  }
  return w;
}

static const char *ellipsis(void) {
  return strcmp(nl_langinfo(CODESET), "UTF-8") == 0 ? "\xE2\x80\xA6" : "~";
}

void table_init(table *t, size_t ncols, const char *const *headers) {
  t->ncols = ncols;
  t->headers = headers;
  t->nrows = t->cap = 0;
  t->cells = NULL;
}

void table_free(table *t) {
  for (size_t i = 0; i < t->nrows * t->ncols; i++) free(t->cells[i]);
  free(t->cells);
  t->cells = NULL;
  t->nrows = t->cap = 0;
}

/* A copy of s with control characters replaced by spaces (caller frees), or NULL. */
static char *sanitized_copy(const char *s) {
  char *c = strdup(s ? s : "");
  if (!c) return NULL;
  for (unsigned char *p = (unsigned char *)c; *p; p++)
    if (*p < 0x20 || *p == 0x7F) *p = ' ';
  return c;
}

int table_add_row(table *t, const char *const *cells) {
  if (t->nrows == t->cap) {
    size_t ncap = t->cap ? t->cap * 2 : 64;
    char **n = realloc(t->cells, ncap * t->ncols * sizeof *n);
    if (!n) return -1;
    t->cells = n;
    t->cap = ncap;
  }
  char **row = t->cells + t->nrows * t->ncols;
  for (size_t c = 0; c < t->ncols; c++) {
    row[c] = sanitized_copy(cells[c]);
    if (!row[c]) {
      for (size_t k = 0; k < c; k++) free(row[k]);
      return -1;
    }
  }
  t->nrows++;
  return 0;
}

void table_widths(const table *t, int width, const size_t *caps, int flex_col, size_t *w) {
  for (size_t c = 0; c < t->ncols; c++) {
    w[c] = output_display_width(t->headers[c]);
    for (size_t r = 0; r < t->nrows; r++) {
      size_t cw = output_display_width(t->cells[r * t->ncols + c]);
      if (cw > w[c]) w[c] = cw;
    }
    size_t hw = output_display_width(t->headers[c]);
    if (caps && caps[c] && w[c] > caps[c]) w[c] = caps[c] > hw ? caps[c] : hw;
  }
  if (width <= 0 || flex_col < 0 || (size_t)flex_col >= t->ncols) return;
  size_t total = 2 * (t->ncols - 1);
  for (size_t c = 0; c < t->ncols; c++) total += w[c];
  if (total <= (size_t)width) return;
  /* 1. narrow the flexible column, down to FLEX_MIN_WIDTH */
  size_t others = total - w[flex_col];
  size_t room = (size_t)width > others ? (size_t)width - others : 0;
  if (room < FLEX_MIN_WIDTH) room = FLEX_MIN_WIDTH;
  if (room < w[flex_col]) {
    total -= w[flex_col] - room;
    w[flex_col] = room;
  }
  /* 2. then the widest other column, one step at a time, down to its header (min 6) */
  while (total > (size_t)width) {
    size_t best = t->ncols;
    for (size_t c = 0; c < t->ncols; c++) {
      if ((int)c == flex_col) continue;
      size_t hw = output_display_width(t->headers[c]);
      size_t min = hw > 6 ? hw : 6;
      if (w[c] > min && (best == t->ncols || w[c] > w[best])) best = c;
    }
    if (best == t->ncols) break; /* the terminal is too narrow: let lines wrap */
    w[best]--;
    total--;
  }
}

/* Print s in exactly `width` columns (padded unless last), cut with an ellipsis if longer. */
static void print_cell(FILE *out, const char *s, size_t width, int last) {
  size_t sw = output_display_width(s);
  if (sw <= width) {
    fputs(s, out);
    if (!last)
      for (size_t i = sw; i < width; i++) fputc(' ', out);
    return;
  }
  /* cut: keep as many characters as fit in width - 1, then the ellipsis */
  const unsigned char *p = (const unsigned char *)s;
  size_t used = 0;
  while (*p) {
    long cp;
    size_t len = utf8_next(p, &cp);
    int cw = cp_width(cp);
    if (used + (size_t)cw + 1 > width) break;
    fwrite(p, 1, len, out);
    used += (size_t)cw;
    p += len;
  }
  if (width > 0) {
    fputs(ellipsis(), out);
    used++;
  }
  if (!last)
    for (size_t i = used; i < width; i++) fputc(' ', out);
}

void table_print_row(FILE *out, size_t ncols, const char *const *cells, const size_t *widths) {
  /* trailing empty cells print nothing, so lines carry no trailing blanks */
  size_t last = ncols;
  while (last > 1 && (!cells[last - 1] || !cells[last - 1][0])) last--;
  for (size_t c = 0; c < last; c++) {
    if (c) fputs("  ", out);
    print_cell(out, cells[c] ? cells[c] : "", widths[c], c + 1 == last);
  }
  fputc('\n', out);
}

void table_print(const table *t, FILE *out, int width, const size_t *caps, int flex_col) {
  size_t *w = calloc(t->ncols, sizeof *w);
  if (!w) return;
  table_widths(t, width, caps, flex_col, w);
  table_print_row(out, t->ncols, t->headers, w);
  for (size_t r = 0; r < t->nrows; r++)
    table_print_row(out, t->ncols, (const char *const *)(t->cells + r * t->ncols), w);
  free(w);
}

const char *const event_headers[EVENT_COLS] = {"TIME", "SEVERITY", "STREAM", "TYPE",
                                               "TAG",  "SOURCE",   "MESSAGE"};
const size_t event_caps[EVENT_COLS] = {0, 8, 20, 32, 24, 32, 0};

/* The string value of member key of obj, or "". */
static const char *member_str(const json_value *obj, const char *key) {
  const json_value *v = json_get(obj, key);
  return v && v->type == JSON_STRING ? v->s : "";
}

void event_cells(const json_value *ev, char time_buf[40], const char *cells[EVENT_COLS]) {
  const char *t = member_str(ev, "time");
  size_t n = strlen(t);
  /* 2026-11-21T08:26:00.123456789Z -> 2026-11-21T08:26:00.123Z */
  if (n == 30 && t[19] == '.' && t[29] == 'Z') {
    memcpy(time_buf, t, 23);
    time_buf[23] = 'Z';
    time_buf[24] = '\0';
  } else {
    snprintf(time_buf, 40, "%s", t);
  }
  cells[0] = time_buf;
  cells[1] = member_str(ev, "severity");
  cells[2] = member_str(ev, "stream");
  cells[3] = member_str(ev, "type");
  cells[4] = member_str(ev, "tag");
  cells[5] = member_str(ev, "source");
  cells[6] = member_str(ev, "message");
}

static int indent(buf *out, int depth) {
  for (int i = 0; i < depth; i++)
    if (buf_puts(out, "  ") != 0) return -1;
  return 0;
}

static int write_pretty(buf *out, const json_value *v, int depth) {
  if (v->type != JSON_ARRAY && v->type != JSON_OBJECT) return json_write_value(out, v);
  int is_obj = v->type == JSON_OBJECT;
  if (!v->child) return buf_puts(out, is_obj ? "{}" : "[]");
  if (buf_putc(out, is_obj ? '{' : '[') != 0) return -1;
  for (const json_value *c = v->child; c; c = c->next) {
    if (buf_putc(out, '\n') != 0 || indent(out, depth + 1) != 0) return -1;
    if (is_obj) {
      if (json_write_string(out, c->key, c->key_len) != 0 || buf_puts(out, ": ") != 0) return -1;
    }
    if (write_pretty(out, c, depth + 1) != 0) return -1;
    if (c->next && buf_putc(out, ',') != 0) return -1;
  }
  if (buf_putc(out, '\n') != 0 || indent(out, depth) != 0) return -1;
  return buf_putc(out, is_obj ? '}' : ']');
}

int json_write_pretty(buf *out, const json_value *v) { return write_pretty(out, v, 0); }

json_value *parse_json_body(arena *a, const buf *body, json_error *err) {
  json_error local;
  if (!body->data || body->len == 0) return NULL;
  return json_parse(a, body->data, body->len, JSON_DEFAULT_MAX_DEPTH, err ? err : &local);
}

void report_http_error(const char *what, const http_response *resp, index_label_fn label_fn,
                       void *ud) {
  arena a;
  arena_init(&a, 0);
  const json_value *root = parse_json_body(&a, &resp->body, NULL);
  const json_value *msg = root && root->type == JSON_OBJECT ? json_get(root, "error") : NULL;
  if (msg && msg->type == JSON_STRING) {
    fprintf(stderr, "eventctl: %s: %s (HTTP %ld)\n", what, msg->s, resp->status);
  } else {
    /* not eventd's JSON error: show the first line of whatever came back */
    const char *b = resp->body.data ? resp->body.data : "";
    size_t n = strcspn(b, "\r\n");
    if (n > 300) n = 300;
    fprintf(stderr, "eventctl: %s: HTTP %ld%s%.*s\n", what, resp->status, n ? ": " : "",
            (int)n, b);
  }
  const json_value *errs = root && root->type == JSON_OBJECT ? json_get(root, "errors") : NULL;
  if (errs && errs->type == JSON_ARRAY) {
    for (const json_value *e = errs->child; e; e = e->next) {
      if (e->type != JSON_OBJECT) continue;
      const json_value *idx = json_get(e, "index");
      const json_value *field = json_get(e, "field");
      const json_value *reason = json_get(e, "reason");
      char label[64] = "";
      int64_t i;
      if (idx && json_as_int64(idx, &i) == 0) {
        if (label_fn)
          label_fn(ud, (long long)i, label, sizeof label);
        else
          snprintf(label, sizeof label, "event %lld", (long long)i);
      }
      const char *f = field && field->type == JSON_STRING ? field->s : "";
      const char *r = reason && reason->type == JSON_STRING ? reason->s : "invalid";
      fprintf(stderr, "eventctl:   %s%s%s%s%s\n", label, label[0] ? ": " : "", f, f[0] ? ": " : "",
              r);
    }
  }
  arena_free(&a);
}
