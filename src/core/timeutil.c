/* timeutil: see timeutil.h.
 *
 * Calendar arithmetic uses Howard Hinnant's days_from_civil / civil_from_days (proleptic
 * Gregorian, no tables, no locks), so formatting a time never calls gmtime_r. Every
 * multiplication and addition into int64 nanoseconds is overflow-checked: times outside
 * 1677-09-21 .. 2262-04-11 (the int64 ns range) are refused, never wrapped.
 *
 * Leap seconds: RFC 3339 allows a seconds value of 60. It is accepted and clamped to the
 * last nanosecond of that minute (xx:xx:59.999999999), which keeps the order of events and
 * needs no leap-second table. */
#include "core/timeutil.h"

#include <math.h>
#include <string.h>
#include <time.h>

int64_t time_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

int64_t time_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12, d 1..31). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

/* The date of day z since 1970-01-01. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(int64_t y, unsigned m) {
  static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* n decimal digits at s as a number, or -1 if any is not a digit. */
static int64_t digits(const char *s, size_t n) {
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/* seconds since the epoch (may be negative) and ns 0..999999999 into int64 ns, checked. */
static int combine_ns(int64_t secs, int64_t frac, int64_t *out) {
  int64_t ns;
  if (secs < 0 && frac > 0) { /* borrow a second so INT64_MIN's second is reachable */
    secs += 1;
    frac -= NS_PER_SEC;
  }
  if (__builtin_mul_overflow(secs, NS_PER_SEC, &ns)) return -1;
  if (__builtin_add_overflow(ns, frac, &ns)) return -1;
  *out = ns;
  return 0;
}

/* Parse "YYYY-MM-DD" at s (10 bytes available) into days since the epoch; 0, or -1. */
static int parse_date(const char *s, int64_t *days) {
  if (s[4] != '-' || s[7] != '-') return -1;
  int64_t y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1) return -1;
  if ((unsigned)d > days_in_month(y, (unsigned)mo)) return -1;
  *days = days_from_civil(y, (unsigned)mo, (unsigned)d);
  return 0;
}

int time_parse_rfc3339(const char *s, size_t n, int64_t *out) {
  return time_parse_rfc3339_ex(s, n, out) == 0 ? 0 : -1;
}

int time_parse_rfc3339_ex(const char *s, size_t n, int64_t *out) {
  /* YYYY-MM-DDTHH:MM:SS = 19 bytes, then [.frac], then Z or +HH:MM. */
  if (n < 20) return -1;
  int64_t days;
  if (parse_date(s, &days) != 0) return -1;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return -1;
  if (s[13] != ':' || s[16] != ':') return -1;
  int64_t h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60) return -1;
  size_t i = 19;
  int64_t frac = 0;
  if (i < n && s[i] == '.') {
    i++;
    size_t nd = 0;
    while (i < n && (unsigned)(s[i] - '0') <= 9) {
      if (++nd > 9) return -1;
      frac = frac * 10 + (s[i] - '0');
      i++;
    }
    if (nd == 0) return -1;
    for (; nd < 9; nd++) frac *= 10;
  }
  if (i >= n) return -1;
  int64_t offset = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    i++;
  } else if (s[i] == '+' || s[i] == '-') {
    if (n - i != 6 || s[i + 3] != ':') return -1;
    int64_t oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return -1;
    offset = (oh * 60 + om) * 60;
    if (s[i] == '-') offset = -offset;
    i += 6;
  } else {
    return -1;
  }
  if (i != n) return -1;
  if (sec == 60) { /* leap second: clamp to the end of the minute (see top of file) */
    sec = 59;
    frac = NS_PER_SEC - 1;
  }
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset;
  return combine_ns(secs, frac, out) == 0 ? 0 : -2;
}

/* Scale (ns per unit) for an epoch number whose integer part has magnitude `mag`. */
static int64_t epoch_scale(uint64_t mag) {
  if (mag < 100000000000ULL) return NS_PER_SEC;         /* < 1e11: seconds */
  if (mag < 100000000000000ULL) return NS_PER_MS;       /* < 1e14: milliseconds */
  if (mag < 100000000000000000ULL) return NS_PER_US;    /* < 1e17: microseconds */
  return 1;                                             /* nanoseconds */
}

int time_from_epoch_int(int64_t v, int64_t *out) {
  uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  int64_t ns;
  if (__builtin_mul_overflow(v, epoch_scale(mag), &ns)) return -1;
  *out = ns;
  return 0;
}

int time_from_epoch_double(double v, int64_t *out) {
  if (!isfinite(v)) return -1;
  double mag = fabs(v);
  if (mag >= 9223372036854775808.0) return -1;
  int64_t scale = epoch_scale((uint64_t)mag);
  if (scale == 1) { /* nanoseconds: integral at this magnitude anyway */
    *out = (int64_t)v;
    return 0;
  }
  double ip = trunc(v);
  double fp = v - ip; /* exact */
  int64_t ns;
  if (__builtin_mul_overflow((int64_t)ip, scale, &ns)) return -1;
  int64_t fns = (int64_t)llround(fp * (double)scale);
  if (__builtin_add_overflow(ns, fns, &ns)) return -1;
  *out = ns;
  return 0;
}

int time_from_epoch_text(const char *s, size_t n, int64_t *out) {
  size_t i = 0;
  int neg = 0;
  if (i < n && s[i] == '-') {
    neg = 1;
    i++;
  }
  size_t int_start = i;
  uint64_t ip = 0;
  while (i < n && (unsigned)(s[i] - '0') <= 9) {
    if (ip > (UINT64_MAX - 9) / 10) return -1;
    ip = ip * 10 + (uint64_t)(s[i] - '0');
    i++;
  }
  if (i == int_start) return -1;
  size_t frac_start = 0, frac_end = 0;
  if (i < n && s[i] == '.') {
    i++;
    frac_start = i;
    while (i < n && (unsigned)(s[i] - '0') <= 9) i++;
    frac_end = i;
    if (frac_end == frac_start) return -1;
  }
  if (i != n) return -1;
  if (ip > (uint64_t)INT64_MAX) return -1;
  int64_t scale = epoch_scale(ip);
  /* The fraction's digits down to one nanosecond: scale has log10(scale) of them. */
  int64_t frac = 0;
  int64_t unit = scale;
  for (size_t k = frac_start; k < frac_end && unit > 1; k++) {
    unit /= 10;
    frac += (s[k] - '0') * unit;
  }
  int64_t ns;
  if (__builtin_mul_overflow((int64_t)ip, scale, &ns)) return -1;
  if (__builtin_add_overflow(ns, frac, &ns)) return -1;
  *out = neg ? -ns : ns;
  return 0;
}

/* Nanoseconds per unit for the unit at s[0..), its length in *len; 0 if none matches. */
static int64_t duration_unit(const char *s, size_t *len) {
  if (s[0] == 'n' && s[1] == 's') return *len = 2, 1;
  if (s[0] == 'u' && s[1] == 's') return *len = 2, NS_PER_US;
  if ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xb5 && s[2] == 's')
    return *len = 3, NS_PER_US; /* µs */
  if (s[0] == 'm' && s[1] == 's') return *len = 2, NS_PER_MS;
  *len = 1;
  switch (s[0]) {
    case 's': return NS_PER_SEC;
    case 'm': return 60 * NS_PER_SEC;
    case 'h': return 3600 * NS_PER_SEC;
    case 'd': return 86400 * NS_PER_SEC;
    case 'w': return 7 * 86400 * NS_PER_SEC;
    default: return 0;
  }
}

int time_parse_duration(const char *s, int64_t *out) {
  if (!s || !*s) return -1;
  int64_t total = 0;
  int components = 0;
  const char *p = s;
  while (*p) {
    int64_t ip = 0;
    const char *start = p;
    while ((unsigned)(*p - '0') <= 9) {
      if (__builtin_mul_overflow(ip, 10, &ip) || __builtin_add_overflow(ip, *p - '0', &ip))
        return -1;
      p++;
    }
    int64_t frac = 0, frac_div = 1;
    if (*p == '.') {
      p++;
      const char *fs = p;
      while ((unsigned)(*p - '0') <= 9) {
        if (p - fs >= 9) return -1; /* more precision than a nanosecond can carry */
        frac = frac * 10 + (*p - '0');
        frac_div *= 10;
        p++;
      }
      if (p == fs) return -1;
    }
    if (p == start) return -1; /* no number */
    size_t ulen = 0;
    int64_t unit = *p ? duration_unit(p, &ulen) : 0;
    if (unit == 0) {
      /* A bare number is seconds, but only as the whole string ("90", not "1h30"). */
      if (*p || components > 0) return -1;
      unit = NS_PER_SEC;
    }
    p += ulen;
    int64_t v;
    if (__builtin_mul_overflow(ip, unit, &v)) return -1;
    int64_t fv = (int64_t)((__int128)frac * unit / frac_div);
    if (__builtin_add_overflow(v, fv, &v) || __builtin_add_overflow(total, v, &total)) return -1;
    components++;
  }
  *out = total;
  return 0;
}

int time_parse_user(const char *s, int64_t now_ns, int64_t *out) {
  if (!s) return -1;
  size_t n = strlen(s);
  if (n == 0) return -1;
  if (n == 3 && (s[0] | 0x20) == 'n' && (s[1] | 0x20) == 'o' && (s[2] | 0x20) == 'w') {
    *out = now_ns;
    return 0;
  }
  if (s[0] == '+' || s[0] == '-') {
    /* Relative when a unit letter follows ("-15m"); "-5" stays an epoch number. */
    int has_unit = 0;
    for (size_t i = 1; i < n; i++)
      if ((unsigned)(s[i] - '0') > 9 && s[i] != '.') has_unit = 1;
    if (has_unit) {
      int64_t d;
      if (time_parse_duration(s + 1, &d) != 0) return -1;
      int64_t t;
      int overflow = s[0] == '-' ? __builtin_sub_overflow(now_ns, d, &t)
                                 : __builtin_add_overflow(now_ns, d, &t);
      if (overflow) return -1;
      *out = t;
      return 0;
    }
  }
  if (n >= 10 && s[4] == '-' && (unsigned)(s[0] - '0') <= 9) {
    if (n == 10) {
      int64_t days;
      if (parse_date(s, &days) != 0) return -1;
      return combine_ns(days * 86400, 0, out);
    }
    return time_parse_rfc3339(s, n, out);
  }
  return time_from_epoch_text(s, n, out);
}

static inline void put2(char *o, unsigned v) {
  o[0] = (char)('0' + v / 10);
  o[1] = (char)('0' + v % 10);
}

size_t time_format_rfc3339(int64_t ns, char *out) {
  int64_t secs = ns / NS_PER_SEC, frac = ns % NS_PER_SEC;
  if (frac < 0) {
    frac += NS_PER_SEC;
    secs -= 1;
  }
  int64_t days = secs / 86400, sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    days -= 1;
  }
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  /* int64 ns spans years 1677..2262, so the year always has 4 digits. */
  unsigned yy = (unsigned)y;
  out[0] = (char)('0' + yy / 1000);
  out[1] = (char)('0' + yy / 100 % 10);
  out[2] = (char)('0' + yy / 10 % 10);
  out[3] = (char)('0' + yy % 10);
  out[4] = '-';
  put2(out + 5, m);
  out[7] = '-';
  put2(out + 8, d);
  out[10] = 'T';
  unsigned s = (unsigned)sod;
  put2(out + 11, s / 3600);
  out[13] = ':';
  put2(out + 14, s / 60 % 60);
  out[16] = ':';
  put2(out + 17, s % 60);
  out[19] = '.';
  unsigned f = (unsigned)frac;
  for (int i = 28; i >= 20; i--) {
    out[i] = (char)('0' + f % 10);
    f /= 10;
  }
  out[29] = 'Z';
  out[30] = '\0';
  return TIME_RFC3339_LEN;
}
