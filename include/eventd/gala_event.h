/* gala_event.h — gala-gopher-compatible event output on top of libeventd.
 *
 * Probe code written for gala-gopher's event probe (src/probes/event.probe/event.h) compiles
 * unchanged against this header: it fills a struct event_data and calls print_event_output()
 * (or PrintEventOutput()). Instead of printing "|event|ts|level|body|" for the gala-gopher
 * daemon, the event goes to eventd through the process's default client
 * (evd_default_client(): configured from EVENTD_URL, EVENTD_SPOOL, ... — see eventd.h).
 *
 * Mapping: type "gala.event" (or the value of EVENTD_GALA_TYPE), stream "gala-gopher" (or
 * EVENTD_STREAM), time = timestamp (seconds; 0 = now), severity = level ("INFO", "WARN",
 * "ERROR", "FATAL"; anything else is sent as INFO with label gala_level=<level>), message =
 * body (up to its first NUL, at most MAX_DATA_STR_LEN bytes; invalid UTF-8 bytes are replaced
 * by U+FFFD and counted as label body_repaired=true rather than refusing the event).
 *
 * print_event_output never blocks beyond evd_emit's bounded enqueue and never fails loudly:
 * an event that cannot be queued is counted in the default client's evd_stats.
 */
#ifndef EVENTD_GALA_EVENT_H
#define EVENTD_GALA_EVENT_H

#include <stdint.h>

#include "eventd.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EVENT_LEVEL_INFO "INFO"
#define EVENT_LEVEL_WARN "WARN"
#define EVENT_LEVEL_ERROR "ERROR"
#define EVENT_LEVEL_FATAL "FATAL"

#ifndef MAX_DATA_STR_LEN
#define MAX_DATA_STR_LEN 8192 /* gala-gopher's common.h value; define it first to change it */
#endif

struct event_data {
  uint64_t timestamp;          /* UNIX epoch time in seconds */
  char level[16];              /* "INFO" | "WARN" | "ERROR" | "FATAL" */
  char body[MAX_DATA_STR_LEN]; /* NUL-terminated text */
};

/* Send *event through the default client. Returns 0 when queued, -1 (errno) otherwise. The
 * body bound is passed so that the library reads at most sizeof body bytes. */
EVD_PUBLIC int evd_gala_event_output(uint64_t timestamp, const char *level, const char *body,
                                     size_t body_max);

/* gala-gopher's names: the event probe's readme spells print_event_output, its header
 * PrintEventOutput. Both are static inline wrappers, so the library exports only evd_*. */
static inline void print_event_output(const struct event_data *event) {
  if (event != NULL)
    (void)evd_gala_event_output(event->timestamp, event->level, event->body,
                                sizeof event->body);
}
static inline void PrintEventOutput(const struct event_data *event) { print_event_output(event); }

#ifdef __cplusplus
}
#endif

#endif /* EVENTD_GALA_EVENT_H */
