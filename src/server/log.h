/* log: the daemon's diagnostic log — one line per message on stderr:
 *
 *   2026-11-21T08:26:00.123Z info  store: opened ./data (3 segments, 1200 records)
 *
 * Thread-safe: a line is formatted into a local buffer and written with a single write(2),
 * so lines from the event loop and the store's writer thread never interleave. Control
 * characters inside a message (a newline from a peer, say) are replaced by spaces so that
 * one message stays one line. No global state: the level lives in a `logger` value. */
#ifndef EVD_SERVER_LOG_H
#define EVD_SERVER_LOG_H

#include <stdarg.h>

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

typedef struct logger {
  int level; /* messages above this level are dropped */
  int fd;    /* where lines go (2 = stderr) */
} logger;

/* A logger at `level` writing to stderr. */
void log_init(logger *lg, int level);

/* Name of a level ("error", "warn", "info", "debug"). */
const char *log_level_name(int level);
/* Level by name (also "warning"); -1 if unknown. */
int log_level_parse(const char *name);

/* 1 if a message at `level` would be written (to skip building expensive messages). */
static inline int log_enabled(const logger *lg, int level) { return level <= lg->level; }

/* Write one line at `level` (printf format). Long messages are cut at 4 KiB with a
 * trailing "..." marker — the only place text is shortened, and visibly so. */
void log_msg(const logger *lg, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void log_vmsg(const logger *lg, int level, const char *fmt, va_list ap);

#define log_error(lg, ...) log_msg((lg), LOG_ERROR, __VA_ARGS__)
#define log_warn(lg, ...) log_msg((lg), LOG_WARN, __VA_ARGS__)
#define log_info(lg, ...) log_msg((lg), LOG_INFO, __VA_ARGS__)
#define log_debug(lg, ...)                                               \
  do {                                                                   \
    if (log_enabled((lg), LOG_DEBUG)) log_msg((lg), LOG_DEBUG, __VA_ARGS__); \
  } while (0)

/* Adapter with the store's log callback signature (store_options.log); arg is a logger*.
 * Store levels map one to one onto ours. */
void log_store_cb(void *arg, int level, const char *msg);

#endif
