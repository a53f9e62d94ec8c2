/* cmdfail: the command.failed line parser (format in cmdfail.h). */
#include "probe/cmdfail.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* First occurrence of needle in p[from..n), or -1. */
static long find_from(const char *p, size_t n, size_t from, const char *needle) {
  size_t k = strlen(needle);
  if (n < k) return -1;
  for (size_t i = from; i + k <= n; i++)
    if (p[i] == needle[0] && memcmp(p + i, needle, k) == 0) return (long)i;
  return -1;
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* Trim spaces of [*a, *b). */
static void trim(const char *p, size_t *a, size_t *b) {
  while (*a < *b && is_space(p[*a])) (*a)++;
  while (*b > *a && is_space(p[*b - 1])) (*b)--;
}

/* The syslog tag before the message: the word before the last ": " that precedes pos
 * ("[/bin/bash]" -> "/bin/bash", "bash[123]" -> "bash"). Returns 0 and [*a,*b), or -1. */
static int syslog_tag(const char *p, size_t pos, size_t *a, size_t *b) {
  long colon = -1;
  for (size_t i = pos; i-- > 0;)
    if (p[i] == ':' && i + 1 < pos + 1 && p[i + 1] == ' ') {
      colon = (long)i;
      break;
    }
  if (colon <= 0) return -1;
  size_t end = (size_t)colon, start = end;
  while (start > 0 && !is_space(p[start - 1])) start--;
  if (start == end) return -1;
  if (p[start] == '[' && p[end - 1] == ']') {
    start++;
    end--;
  } else {
    /* "bash[123]" -> "bash" */
    for (size_t i = start; i < end; i++)
      if (p[i] == '[') {
        end = i;
        break;
      }
  }
  if (start >= end) return -1;
  *a = start;
  *b = end;
  return 0;
}

int cmdfail_parse(const char *line, size_t n, probe_event *ev) {
  long rc = find_from(line, n, 0, "return code=[");
  if (rc < 0) return 0;
  size_t i = (size_t)rc + strlen("return code=[");
  long long code = 0;
  size_t digits = 0;
  int neg = 0;
  if (i < n && line[i] == '-') {
    neg = 1;
    i++;
  }
  while (i < n && line[i] >= '0' && line[i] <= '9' && digits < 10) {
    code = code * 10 + (line[i] - '0');
    i++;
    digits++;
  }
  if (digits == 0 || i >= n || line[i] != ']') return 0;
  if (neg) code = -code;
  if (code == 0) return 0;
  long by = find_from(line, n, i, "], execute failed by [");
  if (by != (long)i) return 0;
  size_t ustart = (size_t)by + strlen("], execute failed by [");
  long from = find_from(line, n, ustart, "] from [");
  if (from < 0) return 0;
  size_t uend = (size_t)from;
  size_t tstart = (size_t)from + strlen("] from [");
  /* the tty bracket ends at the first ']' followed by the end, a space, ':' or ',' */
  size_t tend = tstart;
  int depth = 0;
  for (; tend < n; tend++) {
    if (line[tend] == '[') depth++;
    if (line[tend] == ']') {
      if (depth > 0) {
        depth--;
        continue;
      }
      if (tend + 1 == n || is_space(line[tend + 1]) || line[tend + 1] == ':' || line[tend + 1] == ',') break;
    }
  }
  if (tend >= n) return 0;

  probe_event_init(ev, "command.failed", PROBE_SEV_ERROR, "tail.command_failed", "tail");
  /* command */
  long cmd = find_from(line, n, (size_t)rc, "command=[");
  if (cmd >= 0) {
    size_t a = (size_t)cmd + strlen("command=[");
    size_t b = n;
    while (b > a && line[b - 1] != ']') b--;
    if (b > a) b--; /* drop the closing bracket */
    else b = n;
    trim(line, &a, &b);
    probe_event_set_str(ev, "command", line + a, b - a);
  } else if (tend + 2 < n && line[tend + 1] == ':' && line[tend + 2] == ' ') {
    size_t a = tend + 3, b = n;
    trim(line, &a, &b);
    if (b > a) probe_event_set_str(ev, "command", line + a, b - a);
    else probe_event_set_null(ev, "command");
  } else {
    probe_event_set_null(ev, "command");
  }
  probe_event_set_int(ev, "code", code);
  /* user "root(uid=0)" */
  size_t ua = ustart, ub = uend;
  long uidp = find_from(line, uend, ustart, "(uid=");
  if (uidp >= 0) {
    size_t k = (size_t)uidp + 5;
    long long uid = 0;
    size_t d = 0;
    while (k < uend && line[k] >= '0' && line[k] <= '9' && d < 10) {
      uid = uid * 10 + (line[k] - '0');
      k++;
      d++;
    }
    ub = (size_t)uidp;
    trim(line, &ua, &ub);
    probe_event_set_str(ev, "user", line + ua, ub - ua);
    if (d > 0 && k < uend && line[k] == ')') probe_event_set_int(ev, "uid", uid);
    else probe_event_set_null(ev, "uid");
  } else {
    trim(line, &ua, &ub);
    probe_event_set_str(ev, "user", line + ua, ub - ua);
    probe_event_set_null(ev, "uid");
  }
  /* tty "pts/4 (10.136.119.3)" */
  size_t ta = tstart, tb = tend;
  long paren = find_from(line, tend, tstart, " (");
  if (paren >= 0 && tend > 0 && line[tend - 1] == ')') {
    size_t ra = (size_t)paren + 2, rb = tend - 1;
    tb = (size_t)paren;
    trim(line, &ta, &tb);
    trim(line, &ra, &rb);
    probe_event_set_str(ev, "tty", line + ta, tb - ta);
    if (rb > ra) probe_event_set_str(ev, "remote", line + ra, rb - ra);
    else probe_event_set_null(ev, "remote");
  } else {
    trim(line, &ta, &tb);
    probe_event_set_str(ev, "tty", line + ta, tb - ta);
    probe_event_set_null(ev, "remote");
  }
  size_t ga, gb;
  long marker = find_from(line, (size_t)rc, 0, "[gala-gopher]");
  size_t msg_start = marker >= 0 ? (size_t)marker : (size_t)rc;
  if (syslog_tag(line, msg_start, &ga, &gb) == 0) probe_event_set_str(ev, "program", line + ga, gb - ga);
  probe_event_set_message(ev, line, n);
  const probe_field *u = probe_event_get(ev, "user");
  const probe_field *c = probe_event_get(ev, "command");
  snprintf(ev->dedup_key, sizeof ev->dedup_key, "%s|%lld|%.100s", u->s, code, c->kind == PF_STR ? c->s : "");
  return 1;
}
