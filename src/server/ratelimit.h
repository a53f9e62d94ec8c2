/* ratelimit: token buckets keyed by a string (an API token's id, a client address), for the
 * request rate limits limits.rate_per_token and limits.rate_per_peer (docs/security.md).
 *
 * Each key has a bucket of at most `burst` tokens refilled at `rate` tokens per second; a
 * request takes one token or is refused with the time until one is available. A key absent
 * from the table has a full bucket, so buckets that have refilled completely are dropped
 * when the table is full (at most max_keys keys are tracked). When the table is full of
 * keys that are all still limited, a new key is refused too (fail closed) and counted.
 *
 * Not thread-safe: one limiter per thread (the HTTP API uses its own on the loop thread).
 * Time is passed in (monotonic ns) so tests control it. */
#ifndef EVD_SERVER_RATELIMIT_H
#define EVD_SERVER_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ratelimit ratelimit;

/* A limiter of `rate` requests per second (> 0) with bursts of `burst` (>= 1), tracking at
 * most max_keys keys (>= 1). Returns it, or NULL when out of memory. Free with
 * ratelimit_free. */
ratelimit *ratelimit_new(double rate, double burst, size_t max_keys);
void ratelimit_free(ratelimit *rl);

/* Take one token from key[0..keylen)'s bucket at time now_ns. Returns 0 when the request may
 * go on, or the number of ns until a token will be available (> 0) when it is refused. */
int64_t ratelimit_take(ratelimit *rl, const char *key, size_t keylen, int64_t now_ns);

/* Keys tracked now; requests refused so far (for metrics and tests). */
size_t ratelimit_keys(const ratelimit *rl);
uint64_t ratelimit_refused(const ratelimit *rl);

#endif
