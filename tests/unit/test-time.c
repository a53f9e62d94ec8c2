/* Unit tests of core/timeutil: RFC 3339, epoch by magnitude, durations, user times. */
#include <time.h>

#include "core/timeutil.h"
#include "test.h"

static int64_t rfc(const char *s) {
  int64_t t = 0;
  if (time_parse_rfc3339(s, strlen(s), &t) != 0) {
    fprintf(stderr, "could not parse %s\n", s);
    abort();
  }
  return t;
}

static int rfc_fails(const char *s) {
  int64_t t = 0;
  return time_parse_rfc3339(s, strlen(s), &t) != 0;
}

#define T_2026 (1795249560LL * NS_PER_SEC) /* 2026-11-21T08:26:00Z */

TEST_IMPL(time_rfc3339_parses_utc_offsets_and_fractions) {
  ASSERT_EQ_INT(rfc("2026-11-21T08:26:00Z"), T_2026);
  ASSERT_EQ_INT(rfc("2026-11-21t08:26:00z"), T_2026);
  ASSERT_EQ_INT(rfc("2026-11-21 08:26:00Z"), T_2026);
  ASSERT_EQ_INT(rfc("2026-11-21T10:26:00+02:00"), T_2026);
  ASSERT_EQ_INT(rfc("2026-11-21T02:56:00-05:30"), T_2026);
  ASSERT_EQ_INT(rfc("2026-11-21T08:26:00-00:00"), T_2026);
  ASSERT_EQ_INT(rfc("2026-11-22T00:26:00+16:00"), T_2026);
  ASSERT_EQ_INT(rfc("2026-11-21T10:26:00.123456789+02:00"), T_2026 + 123456789);
  ASSERT_EQ_INT(rfc("2026-11-21T08:26:00.1Z"), T_2026 + 100000000);
  ASSERT_EQ_INT(rfc("2026-11-21T08:26:00.12Z"), T_2026 + 120000000);
  ASSERT_EQ_INT(rfc("2026-11-21T08:26:00.000001Z"), T_2026 + 1000);
  ASSERT_EQ_INT(rfc("2026-11-21T08:26:00.000000001Z"), T_2026 + 1);
  ASSERT_EQ_INT(rfc("1970-01-01T00:00:00Z"), 0);
  ASSERT_EQ_INT(rfc("1969-12-31T23:59:59.5Z"), -NS_PER_SEC / 2);
  ASSERT_EQ_INT(rfc("1970-01-01T01:00:00+01:00"), 0);
  return 0;
}

TEST_IMPL(time_rfc3339_checks_calendar_and_syntax) {
  ASSERT_EQ_INT(rfc("2024-02-29T00:00:00Z"), 1709164800LL * NS_PER_SEC);
  ASSERT_EQ_INT(rfc("2000-02-29T12:00:00Z"), 951825600LL * NS_PER_SEC);
  ASSERT(rfc_fails("2023-02-29T00:00:00Z")); /* not a leap year */
  ASSERT(rfc_fails("2100-02-29T00:00:00Z")); /* century, not leap */
  ASSERT(rfc_fails("2026-04-31T00:00:00Z"));
  ASSERT(rfc_fails("2026-13-01T00:00:00Z"));
  ASSERT(rfc_fails("2026-00-01T00:00:00Z"));
  ASSERT(rfc_fails("2026-01-00T00:00:00Z"));
  ASSERT(rfc_fails("2026-01-01T24:00:00Z"));
  ASSERT(rfc_fails("2026-01-01T00:60:00Z"));
  ASSERT(rfc_fails("2026-01-01T00:00:61Z"));
  ASSERT(rfc_fails("2026-11-21T08:26:00"));      /* no offset */
  ASSERT(rfc_fails("2026-11-21T08:26:00.Z"));    /* empty fraction */
  ASSERT(rfc_fails("2026-11-21T08:26:00.1234567891Z")); /* 10 digits */
  ASSERT(rfc_fails("2026-11-21T08:26:00+0200"));
  ASSERT(rfc_fails("2026-11-21T08:26:00+24:00"));
  ASSERT(rfc_fails("2026-11-21T08:26:00+02:60"));
  ASSERT(rfc_fails("2026-11-21T08:26:00Zjunk"));
  ASSERT(rfc_fails("2026-11-21X08:26:00Z"));
  ASSERT(rfc_fails("2026-1-21T08:26:00Z"));
  ASSERT(rfc_fails("+026-11-21T08:26:00Z"));
  ASSERT(rfc_fails("2026-11-21"));
  ASSERT(rfc_fails(""));
  /* A prefix of the text is not enough: the length is honored. */
  int64_t t;
  ASSERT(time_parse_rfc3339("2026-11-21T08:26:00Z", 19, &t) != 0);
  return 0;
}

TEST_IMPL(time_rfc3339_clamps_leap_second_and_reports_range) {
  /* :60 is clamped to the last nanosecond of that minute. */
  ASSERT_EQ_INT(rfc("2016-12-31T23:59:60Z"), 1483228799LL * NS_PER_SEC + 999999999);
  ASSERT_EQ_INT(rfc("2016-12-31T23:59:60.5Z"), 1483228799LL * NS_PER_SEC + 999999999);
  ASSERT_EQ_INT(rfc("2017-01-01T00:59:60+01:00"), 1483228799LL * NS_PER_SEC + 999999999);
  /* Outside the int64 ns range: -2 from the _ex form, -1 from the plain one. */
  int64_t t;
  ASSERT_EQ_INT(time_parse_rfc3339_ex("9999-12-31T23:59:59Z", 20, &t), -2);
  ASSERT_EQ_INT(time_parse_rfc3339_ex("2262-04-11T23:47:17Z", 20, &t), -2);
  ASSERT_EQ_INT(time_parse_rfc3339_ex("2262-04-11T23:47:16.854775807Z", 30, &t), 0);
  ASSERT_EQ_INT(t, INT64_MAX);
  ASSERT_EQ_INT(time_parse_rfc3339_ex("1677-09-21T00:12:43.145224192Z", 30, &t), 0);
  ASSERT_EQ_INT(t, INT64_MIN);
  ASSERT_EQ_INT(time_parse_rfc3339_ex("1677-09-21T00:12:43.145224191Z", 30, &t), -2);
  ASSERT_EQ_INT(time_parse_rfc3339_ex("0000-01-01T00:00:00Z", 20, &t), -2);
  ASSERT_EQ_INT(time_parse_rfc3339_ex("2026-02-30T00:00:00Z", 20, &t), -1);
  ASSERT_EQ_INT(time_parse_rfc3339("9999-12-31T23:59:59Z", 20, &t), -1);
  return 0;
}

TEST_IMPL(time_format_rfc3339_matches_gmtime_and_round_trips) {
  char out[TIME_RFC3339_LEN + 1];
  ASSERT_EQ_INT(time_format_rfc3339(0, out), 30);
  ASSERT_EQ_STR(out, "1970-01-01T00:00:00.000000000Z");
  time_format_rfc3339(T_2026 + 123456789, out);
  ASSERT_EQ_STR(out, "2026-11-21T08:26:00.123456789Z");
  time_format_rfc3339(-1, out);
  ASSERT_EQ_STR(out, "1969-12-31T23:59:59.999999999Z");
  time_format_rfc3339(INT64_MAX, out);
  ASSERT_EQ_STR(out, "2262-04-11T23:47:16.854775807Z");
  time_format_rfc3339(INT64_MIN, out);
  ASSERT_EQ_STR(out, "1677-09-21T00:12:43.145224192Z");
  time_format_rfc3339(1709164800LL * NS_PER_SEC, out);
  ASSERT_EQ_STR(out, "2024-02-29T00:00:00.000000000Z");
  /* Compare against gmtime_r over a spread of instants, and parse back. */
  uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < 20000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    int64_t ns = (int64_t)x;
    if (i % 3 == 0) ns %= 4102444800LL * NS_PER_SEC; /* concentrate on 1840..2100 */
    time_format_rfc3339(ns, out);
    int64_t back;
    ASSERT(time_parse_rfc3339(out, 30, &back) == 0);
    ASSERT_EQ_INT(back, ns);
    int64_t secs = ns / NS_PER_SEC - (ns % NS_PER_SEC < 0);
    time_t tt = (time_t)secs;
    struct tm tm;
    ASSERT(gmtime_r(&tt, &tm) != NULL);
    char want[96];
    snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    ASSERT(memcmp(out, want, 19) == 0);
  }
  return 0;
}

TEST_IMPL(time_epoch_by_magnitude_for_all_units) {
  int64_t t;
  ASSERT(time_from_epoch_int(1700000000, &t) == 0 && t == 1700000000LL * NS_PER_SEC);
  ASSERT(time_from_epoch_int(1700000000123LL, &t) == 0 && t == 1700000000123LL * NS_PER_MS);
  ASSERT(time_from_epoch_int(1700000000123456LL, &t) == 0 && t == 1700000000123456LL * NS_PER_US);
  ASSERT(time_from_epoch_int(1700000000123456789LL, &t) == 0 && t == 1700000000123456789LL);
  ASSERT(time_from_epoch_int(0, &t) == 0 && t == 0);
  ASSERT(time_from_epoch_int(-5, &t) == 0 && t == -5 * NS_PER_SEC);
  /* Boundaries: 99999999999 would be seconds but overflows; 1e11 is ms. */
  ASSERT(time_from_epoch_int(99999999999LL, &t) == -1);
  ASSERT(time_from_epoch_int(9223372036LL, &t) == 0 && t == 9223372036LL * NS_PER_SEC);
  ASSERT(time_from_epoch_int(9223372037LL, &t) == -1);
  ASSERT(time_from_epoch_int(100000000000LL, &t) == 0 && t == 100000000000LL * NS_PER_MS);
  ASSERT(time_from_epoch_int(99999999999999LL, &t) == -1); /* ms, but beyond 2262 */
  ASSERT(time_from_epoch_int(9223372036854LL, &t) == 0 && t == 9223372036854LL * NS_PER_MS);
  ASSERT(time_from_epoch_int(100000000000000LL, &t) == 0 && t == 100000000000000LL * NS_PER_US);
  ASSERT(time_from_epoch_int(100000000000000000LL, &t) == 0 && t == 100000000000000000LL);
  ASSERT(time_from_epoch_int(INT64_MAX, &t) == 0 && t == INT64_MAX);
  ASSERT(time_from_epoch_int(INT64_MIN, &t) == 0 && t == INT64_MIN);

  ASSERT(time_from_epoch_double(1700000000.5, &t) == 0 && t == 1700000000500000000LL);
  ASSERT(time_from_epoch_double(1700000000123.0, &t) == 0 && t == 1700000000123000000LL);
  ASSERT(time_from_epoch_double(1700000000123456.0, &t) == 0 && t == 1700000000123456000LL);
  ASSERT(time_from_epoch_double(1.7e18, &t) == 0 && t == 1700000000000000000LL);
  ASSERT(time_from_epoch_double(-1.5, &t) == 0 && t == -1500000000LL);
  ASSERT(time_from_epoch_double(1e19, &t) == -1);
  ASSERT(time_from_epoch_double(9.3e9, &t) == -1);
  ASSERT(time_from_epoch_double(0.0 / 0.0, &t) == -1);
  ASSERT(time_from_epoch_double(1.0 / 0.0, &t) == -1);
  return 0;
}

TEST_IMPL(time_epoch_text_is_exact) {
  int64_t t;
#define TXT(s) time_from_epoch_text(s, strlen(s), &t)
  ASSERT(TXT("1700000000") == 0 && t == 1700000000LL * NS_PER_SEC);
  ASSERT(TXT("1700000000.123456789") == 0 && t == 1700000000123456789LL);
  ASSERT(TXT("1700000000.1234567891") == 0 && t == 1700000000123456789LL); /* sub-ns dropped */
  ASSERT(TXT("1700000000123.456") == 0 && t == 1700000000123456000LL);
  ASSERT(TXT("1700000000123456.7") == 0 && t == 1700000000123456700LL);
  ASSERT(TXT("1700000000123456789.9") == 0 && t == 1700000000123456789LL);
  ASSERT(TXT("1700000000123456789") == 0 && t == 1700000000123456789LL);
  ASSERT(TXT("-1.5") == 0 && t == -1500000000LL);
  ASSERT(TXT("0") == 0 && t == 0);
  ASSERT(TXT("9223372036854775807") == 0 && t == INT64_MAX);
  ASSERT(TXT("9223372036854775808") == -1);
  ASSERT(TXT("99999999999999999999999") == -1);
  ASSERT(TXT("") == -1);
  ASSERT(TXT("-") == -1);
  ASSERT(TXT("1.") == -1);
  ASSERT(TXT(".5") == -1);
  ASSERT(TXT("12a") == -1);
  ASSERT(TXT("1e9") == -1);
  ASSERT(TXT(" 1") == -1);
#undef TXT
  return 0;
}

TEST_IMPL(time_parse_duration_units_and_errors) {
  int64_t d;
  ASSERT(time_parse_duration("500ms", &d) == 0 && d == 500 * NS_PER_MS);
  ASSERT(time_parse_duration("15m", &d) == 0 && d == 15 * 60 * NS_PER_SEC);
  ASSERT(time_parse_duration("1h30m", &d) == 0 && d == 90 * 60 * NS_PER_SEC);
  ASSERT(time_parse_duration("7d", &d) == 0 && d == 7 * 86400 * NS_PER_SEC);
  ASSERT(time_parse_duration("2w", &d) == 0 && d == 14 * 86400 * NS_PER_SEC);
  ASSERT(time_parse_duration("0", &d) == 0 && d == 0);
  ASSERT(time_parse_duration("90", &d) == 0 && d == 90 * NS_PER_SEC);
  ASSERT(time_parse_duration("1.5h", &d) == 0 && d == 5400 * NS_PER_SEC);
  ASSERT(time_parse_duration("10us", &d) == 0 && d == 10000);
  ASSERT(time_parse_duration("10\xc2\xb5s", &d) == 0 && d == 10000);
  ASSERT(time_parse_duration("7ns", &d) == 0 && d == 7);
  ASSERT(time_parse_duration("1m1s1ms", &d) == 0 && d == 61 * NS_PER_SEC + NS_PER_MS);
  ASSERT(time_parse_duration("", &d) == -1);
  ASSERT(time_parse_duration("m", &d) == -1);
  ASSERT(time_parse_duration("1h30", &d) == -1);
  ASSERT(time_parse_duration("10x", &d) == -1);
  ASSERT(time_parse_duration("-5m", &d) == -1);
  ASSERT(time_parse_duration("1.h", &d) == -1);
  ASSERT(time_parse_duration("99999999999999999999s", &d) == -1);
  ASSERT(time_parse_duration("999999999w", &d) == -1);
  return 0;
}

TEST_IMPL(time_parse_user_relative_absolute_and_epoch) {
  const int64_t now = T_2026;
  int64_t t;
  ASSERT(time_parse_user("now", now, &t) == 0 && t == now);
  ASSERT(time_parse_user("NOW", now, &t) == 0 && t == now);
  ASSERT(time_parse_user("-15m", now, &t) == 0 && t == now - 15 * 60 * NS_PER_SEC);
  ASSERT(time_parse_user("-1h30m", now, &t) == 0 && t == now - 90 * 60 * NS_PER_SEC);
  ASSERT(time_parse_user("-2d", now, &t) == 0 && t == now - 2 * 86400 * NS_PER_SEC);
  ASSERT(time_parse_user("+5s", now, &t) == 0 && t == now + 5 * NS_PER_SEC);
  ASSERT(time_parse_user("2026-11-21T10:26:00+02:00", now, &t) == 0 && t == T_2026);
  ASSERT(time_parse_user("2026-11-21", now, &t) == 0 && t == T_2026 - (8 * 3600 + 26 * 60) * NS_PER_SEC);
  ASSERT(time_parse_user("1795249560", now, &t) == 0 && t == T_2026);
  ASSERT(time_parse_user("1795249560000", now, &t) == 0 && t == T_2026);
  ASSERT(time_parse_user("1795249560.25", now, &t) == 0 && t == T_2026 + NS_PER_SEC / 4);
  ASSERT(time_parse_user("-5", now, &t) == 0 && t == -5 * NS_PER_SEC);
  ASSERT(time_parse_user("yesterday", now, &t) == -1);
  ASSERT(time_parse_user("", now, &t) == -1);
  ASSERT(time_parse_user("-15", now, &t) == 0); /* epoch -15 s, not relative */
  ASSERT(time_parse_user("-15x", now, &t) == -1);
  ASSERT(time_parse_user("2026-02-30", now, &t) == -1);
  ASSERT(time_parse_user("+9999999w", INT64_MAX - 10, &t) == -1); /* overflow */
  return 0;
}

TEST_IMPL(time_now_and_monotonic_clocks_advance) {
  int64_t a = time_now_ns(), m1 = time_mono_ns();
  ASSERT(a > 1600000000LL * NS_PER_SEC);
  int64_t m2 = time_mono_ns();
  ASSERT(m2 >= m1);
  return 0;
}
