/* log: see log.h. */
#include "server/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *const LEVEL_NAMES[] = {"error", "warn", "info", "debug"};

void log_init(logger *lg, int level) {
  lg->level = level;
  lg->fd = 2;
}

const char *log_level_name(int level) {
  if (level < LOG_ERROR || level > LOG_DEBUG) return "?";
  return LEVEL_NAMES[level];
}

int log_level_parse(const char *name) {
  for (int i = LOG_ERROR; i <= LOG_DEBUG; i++)
    if (strcasecmp(name, LEVEL_NAMES[i]) == 0) return i;
  if (strcasecmp(name, "warning") == 0) return LOG_WARN;
  return -1;
}

/* Write all of p[0..n) to fd, retrying on EINTR and short writes; errors are ignored
 * (there is nowhere left to report them). */
static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

void log_vmsg(const logger *lg, int level, const char *fmt, va_list ap) {
  if (!log_enabled(lg, level)) return;
  enum { LINE_MAX_BYTES = 4096 };
  char line[LINE_MAX_BYTES + 64];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                   tm.tm_sec, ts.tv_nsec / 1000000, log_level_name(level));
  size_t head = (size_t)n;
  int m = vsnprintf(line + head, LINE_MAX_BYTES - head, fmt, ap);
  size_t len = head;
  if (m > 0) {
    if ((size_t)m >= LINE_MAX_BYTES - head) {
      len = LINE_MAX_BYTES - 1;
      memcpy(line + len, "...", 3);
      len += 3;
    } else {
      len += (size_t)m;
    }
  }
  for (size_t i = head; i < len; i++)
    if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) line[i] = ' ';
  line[len++] = '\n';
  write_all(lg->fd, line, len);
}

void log_msg(const logger *lg, int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_vmsg(lg, level, fmt, ap);
  va_end(ap);
}

void log_store_cb(void *arg, int level, const char *msg) {
  log_msg((const logger *)arg, level, "store: %s", msg);
}
