/* timeutil: time parsing and formatting. All times are int64 nanoseconds since the Unix
 * epoch, UTC. */
#ifndef EVD_TIMEUTIL_H
#define EVD_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define NS_PER_SEC 1000000000LL
#define NS_PER_MS 1000000LL
#define NS_PER_US 1000LL

/* CLOCK_REALTIME now in ns. */
int64_t time_now_ns(void);
/* CLOCK_MONOTONIC in ns (for measuring durations). */
int64_t time_mono_ns(void);

/* Parse RFC 3339 ("2026-11-21T08:26:00Z", "2026-11-21T10:26:00.123456789+02:00"; 't'/'z'
 * and a space instead of 'T' accepted; fraction 1..9 digits, more digits are an error).
 * Returns 0 and *out, or -1. */
int time_parse_rfc3339(const char *s, size_t n, int64_t *out);
/* The same, telling the failures apart: returns 0, -1 when the text is not RFC 3339 (or
 * names a day or time that does not exist), -2 when it is well-formed but outside the
 * representable range (int64 ns: 1677-09-21T00:12:43Z .. 2262-04-11T23:47:16Z). */
int time_parse_rfc3339_ex(const char *s, size_t n, int64_t *out);

/* Interpret an epoch number by magnitude: |v| < 1e11 seconds, < 1e14 milliseconds,
 * < 1e17 microseconds, else nanoseconds. Fractions are kept (1700000000.5 s). Returns 0, or
 * -1 when the value is not finite or out of the representable range. */
int time_from_epoch_double(double v, int64_t *out);
/* Same for an exact integer (no precision loss for ns values). */
int time_from_epoch_int(int64_t v, int64_t *out);

/* Parse an epoch number written in decimal ("1700000000", "-5", "1700000000.123456789",
 * "1700000000123"; no exponent, no spaces) exactly, by the magnitude of its integer part as
 * above; fraction digits below one nanosecond are dropped. Returns 0, or -1 when the text is
 * not such a number or the time is not representable. */
int time_from_epoch_text(const char *s, size_t n, int64_t *out);

/* Parse a time given by a user in a query or on the command line: RFC 3339, a date alone
 * ("2026-11-21", midnight UTC), an epoch number (by magnitude, as above), "now", or
 * relative to now: "-15m", "-1h30m", "-2d", "+5s" (units ns, us, ms, s, m, h, d, w).
 * Returns 0 and *out, or -1. */
int time_parse_user(const char *s, int64_t now_ns, int64_t *out);

/* Parse a duration: "500ms", "15m", "1h30m", "7d", "0"; a bare number is seconds.
 * Returns 0 and *out (ns), or -1. */
int time_parse_duration(const char *s, int64_t *out);

/* Format as RFC 3339 UTC with exactly 9 fraction digits: "2026-11-21T08:26:00.123456789Z"
 * (30 characters). out must hold TIME_RFC3339_LEN + 1 bytes. Returns the length. */
#define TIME_RFC3339_LEN 30
size_t time_format_rfc3339(int64_t ns, char *out);

#endif
