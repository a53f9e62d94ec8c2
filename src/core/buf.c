/* buf: see buf.h. */
#include "core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf *b) {
  b->data = NULL;
  b->len = b->cap = 0;
}

void buf_free(buf *b) {
  free(b->data);
  buf_init(b);
}

void buf_clear(buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

int buf_reserve(buf *b, size_t n) {
  if (b->cap - b->len > n) return 0; /* keep one byte for the NUL */
  size_t need = b->len + n + 1;
  if (need < b->len) return -1;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) {
    if (cap > SIZE_MAX / 2) {
      cap = need;
      break;
    }
    cap *= 2;
  }
  char *p = realloc(b->data, cap);
  if (!p) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int buf_append(buf *b, const void *p, size_t n) {
  if (buf_reserve(b, n) != 0) return -1;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int buf_puts(buf *b, const char *s) { return buf_append(b, s, strlen(s)); }

int buf_putc(buf *b, char c) {
  if (buf_reserve(b, 1) != 0) return -1;
  b->data[b->len++] = c;
  b->data[b->len] = '\0';
  return 0;
}

int buf_vprintf(buf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  char tmp[256];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap2);
  va_end(ap2);
  if (n < 0) return -1;
  if ((size_t)n < sizeof tmp) return buf_append(b, tmp, (size_t)n);
  if (buf_reserve(b, (size_t)n) != 0) return -1;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return 0;
}

int buf_printf(buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = buf_vprintf(b, fmt, ap);
  va_end(ap);
  return rc;
}

int buf_put_u16le(buf *b, uint16_t v) {
  unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
  return buf_append(b, x, 2);
}

int buf_put_u32le(buf *b, uint32_t v) {
  unsigned char x[4];
  for (int i = 0; i < 4; i++) x[i] = (unsigned char)(v >> (8 * i));
  return buf_append(b, x, 4);
}

int buf_put_u64le(buf *b, uint64_t v) {
  unsigned char x[8];
  for (int i = 0; i < 8; i++) x[i] = (unsigned char)(v >> (8 * i));
  return buf_append(b, x, 8);
}

char *buf_steal(buf *b) {
  char *p = b->data;
  buf_init(b);
  return p;
}
