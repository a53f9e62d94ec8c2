/* limiter: per-type de-duplication window and rate limit, counted, never silent.
 *
 * De-duplication (like gala-gopher's event.timeout): an event whose (type, dedup_key) was
 * reported less than dedup_window ago is suppressed; once the window has passed, the next
 * one is reported again. The table holds at most LIMITER_MAX_KEYS keys; when full, the
 * oldest key is forgotten (its next event is reported).
 * Rate limit: a token bucket per type, rate_per_minute tokens per minute, burst the same;
 * 0 turns it off.
 * Every suppressed event is counted per type and reason; limiter_summaries() turns the
 * counts into "probe.suppressed" events (WARN) every summary_interval and at the end, with
 * data {suppressed_type, duplicates, rate_limited, first_time, last_time, window_seconds}.
 *
 * Single-threaded; owns its memory (limiter_free). */
#ifndef EVD_PROBE_LIMITER_H
#define EVD_PROBE_LIMITER_H

#include <stdint.h>

#include "probe/probe_event.h"

#define LIMITER_MAX_KEYS 4096

typedef struct limiter_config {
  int64_t dedup_window_ns;     /* 0 = no de-duplication */
  int64_t rate_per_minute;     /* per type; 0 = unlimited */
  int64_t summary_interval_ns; /* how often suppressed counts are reported (> 0) */
} limiter_config;

typedef struct limiter limiter;

/* A new limiter, or NULL when out of memory. */
limiter *limiter_new(const limiter_config *cfg);
void limiter_free(limiter *l);

/* Whether ev (at time now_ns) may be reported: 1 yes, 0 suppressed (and counted).
 * Events of type "probe.*" always pass. */
int limiter_admit(limiter *l, const probe_event *ev, int64_t now_ns);

/* Summary events for the types with suppressed events, when summary_interval has passed
 * since the last summaries, or always when force. Writes at most max events to out
 * (initialized; caller frees), returns their number; counts left over (more types than max)
 * stay for the next call. */
int limiter_summaries(limiter *l, int64_t now_ns, int force, probe_event *out, int max);

/* Total events suppressed since the start (for the exit log line). */
uint64_t limiter_total_suppressed(const limiter *l);

#endif
