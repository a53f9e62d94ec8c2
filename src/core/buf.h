/* buf: a growable byte buffer (after Redis' sds, without the header tricks).
 *
 * The buffer owns its memory (malloc). data is always NUL-terminated when non-NULL, so it
 * may be used as a C string when it holds text. Append functions return 0, or -1 when out
 * of memory (the buffer is then unchanged). */
#ifndef EVD_BUF_H
#define EVD_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct buf {
  char *data;
  size_t len;
  size_t cap;
} buf;

#define BUF_INIT {NULL, 0, 0}

void buf_init(buf *b);
/* Free the memory; b becomes empty and may be reused. */
void buf_free(buf *b);
/* Length to 0, memory kept. */
void buf_clear(buf *b);
/* Make room for at least n more bytes. */
int buf_reserve(buf *b, size_t n);
int buf_append(buf *b, const void *p, size_t n);
int buf_puts(buf *b, const char *s);
int buf_putc(buf *b, char c);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf *b, const char *fmt, va_list ap);
/* Little-endian fixed-width integers (the on-disk formats are little-endian). */
int buf_put_u16le(buf *b, uint16_t v);
int buf_put_u32le(buf *b, uint32_t v);
int buf_put_u64le(buf *b, uint64_t v);
/* Take the memory out: returns data (caller frees) and leaves b empty. */
char *buf_steal(buf *b);

#endif
