/* client_util.c — small helpers of libeventd: a growable buffer, JSON string writing, UTF-8
 * validation, RFC 3339 time formatting, CRC-32C, clocks, ULIDs and the fork generation.
 *
 * The ULID generator and the random generator are per thread (thread-local), so evd_event_new
 * never takes a lock. A child process after fork() reseeds them (the pthread_atfork child
 * handler bumps the fork generation), so parent and child never produce the same ids. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "client_internal.h"

/* ---- buffer ------------------------------------------------------------------------------ */

/* Release b's memory and reset it to empty. */
void evc_buf_free(evc_buf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
  b->oom = 0;
}

/* Make room for extra more bytes (plus a NUL). Returns 0, or -1 (sets b->oom). */
int evc_buf_reserve(evc_buf *b, size_t extra) {
  if (b->oom) return -1;
  if (b->len + extra + 1 <= b->cap) return 0;
  size_t ncap = b->cap ? b->cap : 256;
  while (ncap < b->len + extra + 1) {
    if (ncap > SIZE_MAX / 2) {
      b->oom = 1;
      return -1;
    }
    ncap *= 2;
  }
  char *np = realloc(b->p, ncap);
  if (np == NULL) {
    b->oom = 1;
    return -1;
  }
  b->p = np;
  b->cap = ncap;
  return 0;
}

/* Append n bytes (the buffer stays NUL-terminated). */
void evc_buf_add(evc_buf *b, const void *p, size_t n) {
  if (evc_buf_reserve(b, n) != 0) return;
  if (n) memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void evc_buf_adds(evc_buf *b, const char *s) { evc_buf_add(b, s, strlen(s)); }

void evc_buf_addc(evc_buf *b, char c) {
  if (evc_buf_reserve(b, 1) != 0) return;
  b->p[b->len++] = c;
  b->p[b->len] = '\0';
}

/* Append printf-formatted text. */
void evc_buf_printf(evc_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->oom = 1;
    return;
  }
  if ((size_t)n < sizeof small) {
    evc_buf_add(b, small, (size_t)n);
    return;
  }
  if (evc_buf_reserve(b, (size_t)n) != 0) return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void evc_buf_add_u64(evc_buf *b, uint64_t v) {
  char tmp[24];
  size_t i = sizeof tmp;
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  evc_buf_add(b, tmp + i, sizeof tmp - i);
}

void evc_buf_add_i64(evc_buf *b, int64_t v) {
  if (v < 0) {
    evc_buf_addc(b, '-');
    evc_buf_add_u64(b, (uint64_t)0 - (uint64_t)v);
  } else {
    evc_buf_add_u64(b, (uint64_t)v);
  }
}

/* Append s[0..n) as a quoted JSON string. Only ", \ and bytes < 0x20 are escaped (the text
 * is valid UTF-8: the setters checked it). */
void evc_buf_add_jstr(evc_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  if (evc_buf_reserve(b, n + 2) != 0) return;
  b->p[b->len++] = '"';
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    evc_buf_add(b, s + run, i - run);
    run = i + 1;
    char esc[6] = {'\\', 0, 0, 0, 0, 0};
    size_t el = 2;
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      default:
        esc[1] = 'u';
        esc[2] = '0';
        esc[3] = '0';
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
        el = 6;
    }
    evc_buf_add(b, esc, el);
  }
  evc_buf_add(b, s + run, n - run);
  evc_buf_addc(b, '"');
}

/* Days since 1970-01-01 → civil date (Howard Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = (int64_t)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

static void put_digits(char *p, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; i--) {
    p[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

/* The date and time of day of one second, "YYYY-MM-DDTHH:MM:SS" with the opening quote
 * (20 bytes), kept per thread: a batch's events mostly fall within the same second. */
typedef struct evc_tls_time {
  int64_t secs; /* -1: nothing cached */
  char text[20];
} evc_tls_time;

static _Thread_local evc_tls_time tls_time = {-1, {0}};

char *evc_put_time(char *t, int64_t unix_ns) {
  if (unix_ns < 0) unix_ns = 0;
  int64_t secs = unix_ns / 1000000000;
  uint64_t frac = (uint64_t)(unix_ns % 1000000000);
  evc_tls_time *c = &tls_time;
  if (c->secs != secs) {
    int64_t days = secs / 86400, sod = secs % 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    char *x = c->text;
    x[0] = '"';
    put_digits(x + 1, (uint64_t)y, 4);
    x[5] = '-';
    put_digits(x + 6, m, 2);
    x[8] = '-';
    put_digits(x + 9, d, 2);
    x[11] = 'T';
    put_digits(x + 12, (uint64_t)(sod / 3600), 2);
    x[14] = ':';
    put_digits(x + 15, (uint64_t)(sod / 60 % 60), 2);
    x[17] = ':';
    put_digits(x + 18, (uint64_t)(sod % 60), 2);
    c->secs = secs;
  }
  /* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" = 30 + quotes */
  memcpy(t, c->text, 20);
  t[20] = '.';
  put_digits(t + 21, frac, 9);
  t[30] = 'Z';
  t[31] = '"';
  return t + 32;
}

void evc_buf_add_time(evc_buf *b, int64_t unix_ns) {
  char t[32];
  evc_put_time(t, unix_ns);
  evc_buf_add(b, t, 32);
}

/* ---- UTF-8 ------------------------------------------------------------------------------- */

int evc_utf8_valid(const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    /* ASCII fast path, 8 bytes at a time. */
    while (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t need;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (n - i <= need) return 0;
    for (size_t k = 1; k <= need; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) return 0;
    if (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) return 0;
    i += need + 1;
  }
  return 1;
}

/* ---- CRC-32C ----------------------------------------------------------------------------- */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static int crc_hw; /* set once by crc_init: the CPU has SSE4.2 */

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    crc_table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++)
      crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
#ifdef EVC_CRC_HW
  __builtin_cpu_init();
  crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

/* Slicing-by-8 CRC-32C (the table is built once, read-only after). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define EVC_CRC_HW 1
/* The SSE4.2 crc32 instruction computes CRC-32C (8 bytes per instruction): used when the CPU
 * has it (checked once, crc_init), with the same result as the tables. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p,
                                                            size_t n) {
  uint64_t c = (uint32_t)~crc;
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    c = __builtin_ia32_crc32di(c, w);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = (uint32_t)c;
  while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return ~c32;
}
#endif

uint32_t evc_crc32c(uint32_t crc, const void *data, size_t n) {
  pthread_once(&crc_once, crc_init);
#ifdef EVC_CRC_HW
  if (crc_hw) return crc32c_hw(crc, data, n);
#endif
  const unsigned char *p = data;
  crc = ~crc;
  while (n >= 8) {
    uint32_t lo = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                  (uint32_t)p[3] << 24;
    lo ^= crc;
    crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
          crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][p[4]] ^
          crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n--) crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
  return ~crc;
}

/* ---- clocks ------------------------------------------------------------------------------ */

int64_t evc_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t evc_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- fork generation --------------------------------------------------------------------- */

static atomic_uint fork_gen;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void) { atomic_fetch_add_explicit(&fork_gen, 1, memory_order_relaxed); }
static void fork_register(void) { pthread_atfork(NULL, NULL, on_fork_child); }

/* Register the atfork child handler (once per process). */
void evc_fork_init(void) { pthread_once(&fork_once, fork_register); }

unsigned evc_fork_generation(void) {
  return atomic_load_explicit(&fork_gen, memory_order_relaxed);
}

/* ---- random numbers and ULIDs ------------------------------------------------------------- */

typedef struct evc_tls_rand {
  int seeded;
  unsigned gen;       /* fork generation it was seeded under */
  uint64_t x;         /* xorshift64* state */
  uint64_t last_ms;   /* ULID: last timestamp */
  uint64_t hi16, lo64;/* ULID: 80 random bits, incremented within one ms */
} evc_tls_rand;

static _Thread_local evc_tls_rand tls_rand;

static void tls_seed(evc_tls_rand *r) {
  uint64_t seed[3];
  if (getrandom(seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
    /* No entropy yet (early boot): clock, address and thread mix; ids stay unique per
       thread through the monotonic counter. */
    seed[0] = (uint64_t)evc_now_ns() ^ (uint64_t)(uintptr_t)r;
    seed[1] = (uint64_t)evc_mono_ns() * 0x9e3779b97f4a7c15ull ^ (uint64_t)pthread_self();
    seed[2] = seed[0] * 0xbf58476d1ce4e5b9ull ^ seed[1];
  }
  r->x = seed[0] | 1;
  r->hi16 = seed[1] & 0xffff;
  r->lo64 = seed[2];
  r->last_ms = 0;
  r->seeded = 1;
  r->gen = evc_fork_generation();
}

static evc_tls_rand *tls_get(void) {
  evc_tls_rand *r = &tls_rand;
  if (!r->seeded || r->gen != evc_fork_generation()) tls_seed(r);
  return r;
}

uint64_t evc_random(void) {
  evc_tls_rand *r = tls_get();
  uint64_t x = r->x;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->x = x;
  return x * 0x2545f4914f6cdd1dull;
}

/* ULID: 48-bit ms time + 80 bits (random at each new ms, incremented within one ms, and kept
 * increasing if the clock steps back), Crockford base32. */
void evc_ulid_next(char out[EVC_ULID_LEN + 1]) {
  static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  evc_tls_rand *r = tls_get();
  /* the coarse clock (the kernel's tick, a few ms; no TSC read): the time part orders ids,
     and ids within one tick stay unique and increasing through the counter below */
  struct timespec ts;
  uint64_t ms = clock_gettime(CLOCK_REALTIME_COARSE, &ts) == 0
                    ? (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000
                    : (uint64_t)(evc_now_ns() / 1000000);
  if (ms > r->last_ms) {
    r->last_ms = ms;
    uint64_t x = evc_random();
    r->lo64 = x;
    r->hi16 = (x >> 13 ^ (uint64_t)evc_mono_ns()) & 0x7fff; /* keep room to increment */
  } else {
    if (++r->lo64 == 0) {
      if (++r->hi16 > 0xffff) { /* 2^80 ids in one ms: move the time on */
        r->hi16 = 0;
        r->last_ms++;
      }
    }
  }
  uint64_t t = r->last_ms;
  for (int i = 9; i >= 0; i--) {
    out[i] = b32[t & 31];
    t >>= 5;
  }
  /* 80 bits = hi16:lo64 → 16 chars of 5 bits */
  uint64_t lo = r->lo64, hi = r->hi16;
  for (int i = 25; i >= 10; i--) {
    out[i] = b32[lo & 31];
    lo = (lo >> 5) | ((hi & 31) << 59);
    hi >>= 5;
  }
  out[EVC_ULID_LEN] = '\0';
}
