/* kmsg_parse: one /dev/kmsg record, per the kernel ABI (Documentation/ABI/testing/dev-kmsg).
 *
 * A record is one read() of /dev/kmsg (and one line group of a replay file):
 *
 *     "<prio>,<seq>,<ts_usec>,<flags>[,<more fields>...];<message>\n"
 *     " <KEY>=<VALUE>\n"  (zero or more dictionary lines, each starting with a space)
 *
 * prio is the syslog priority (facility << 3 | level); seq the 64-bit record sequence
 * number; ts_usec the monotonic time since boot in microseconds; flags '-' for a normal
 * record, 'c' / '+' for continuation fragments of old kernels. Future kernels may add more
 * comma-separated fields before ';': they are ignored. Non-printable bytes, bytes >= 127 and
 * '\' itself are written by the kernel as "\xNN"; the parser decodes them, so the message is
 * the raw bytes the kernel logged (not necessarily UTF-8). The message ends at the first
 * newline; dictionary lines are collected (at most KMSG_MAX_DICT, the rest counted).
 *
 * Pure functions, no I/O, no allocation: the caller owns all memory. */
#ifndef EVD_PROBE_KMSG_PARSE_H
#define EVD_PROBE_KMSG_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define KMSG_MAX_DICT 8

typedef struct kmsg_record {
  int prio;            /* syslog priority as written (level = prio & 7, facility = prio >> 3) */
  uint64_t seq;
  uint64_t ts_usec;
  char flag;           /* first flag character: '-', 'c', '+' */
  const char *text;    /* decoded message (in the caller's scratch), NUL-terminated */
  size_t text_len;
  struct {
    const char *key, *value; /* in the caller's scratch, NUL-terminated */
  } dict[KMSG_MAX_DICT];
  int ndict;
  int dict_dropped;    /* dictionary lines beyond KMSG_MAX_DICT */
} kmsg_record;

/* Parse in[0..n) (one record, the trailing newline optional). scratch must hold at least
 * n + 1 bytes; the decoded text and dictionary are written there. Returns 0 and fills *rec,
 * or -1 with a one-line reason in err (e.g. "missing ';' after the record header",
 * "sequence number is not a number"). */
int kmsg_parse_record(const char *in, size_t n, char *scratch, kmsg_record *rec, char *err, size_t errcap);

/* Decode the kernel's "\xNN" escapes of in[0..n) into out (at least n + 1 bytes; NUL-
 * terminated). Returns the decoded length. A malformed escape is copied as is. */
size_t kmsg_unescape(const char *in, size_t n, char *out);

#endif
