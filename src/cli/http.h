/* http: the HTTP client eventctl talks to eventd with (libcurl easy interface, one handle
 * per process so keep-alive connections are reused across requests and pages).
 *
 * Retries: a request is retried up to `retries` extra times, with exponential backoff and
 * jitter (0.25 s, 0.5 s, 1 s, ... capped at 4 s; a 503's Retry-After is honoured up to 5 s):
 *   - on 503 and 429 (rate limited) always (eventd refuses a request as a whole, so
 *     nothing of it was stored); their Retry-After is honoured the same way;
 *   - when no connection could be made (refused, unresolvable host) always;
 *   - on other transport failures (timeout, connection lost mid-request) only when the
 *     request is safe to repeat (HTTP_RETRY_ANY: reads, and writes whose every event has a
 *     client id, so eventd recognizes the repeat and does not store it twice). */
#ifndef EVD_CLI_HTTP_H
#define EVD_CLI_HTTP_H

#include <curl/curl.h>
#include <signal.h>
#include <stddef.h>

#include "core/buf.h"

typedef struct http_client {
  CURL *curl;
  char *base;            /* base URL without trailing '/' (owned) */
  long timeout_ms;       /* whole request; connect timeout for streams */
  int retries;           /* extra attempts */
  unsigned rand_state;   /* jitter */
  char *auth_header;     /* "Authorization: Bearer TOKEN" from $EVENTD_TOKEN (--token), or NULL */
  char errbuf[CURL_ERROR_SIZE];
} http_client;

typedef struct http_response {
  long status;           /* HTTP status, 0 when there was no response */
  buf body;              /* response body (owned; http_response_free) */
  long retry_after_s;    /* Retry-After header in seconds, -1 when absent */
} http_response;

typedef enum http_retry_policy {
  HTTP_RETRY_ANY,        /* safe to repeat: retry every transport failure and 503 */
  HTTP_RETRY_UNSENT      /* retry only when the request surely did not reach eventd, and 503 */
} http_retry_policy;

/* Set up a client for base_url (a trailing '/' is dropped). Returns 0, or -1 with a message
 * in err. Free with http_client_free. */
int http_client_init(http_client *c, const char *base_url, long timeout_ms, int retries,
                     char *err, size_t errlen);
void http_client_free(http_client *c);

void http_response_init(http_response *r);
void http_response_free(http_response *r);

/* Append "name=value" to a query string in q, URL-encoding value (every byte but
 * A-Z a-z 0-9 - . _ ~ is percent-encoded), with '?' before the first parameter and '&'
 * before the others. Returns 0, or -1 when out of memory. */
int http_query_add(http_client *c, buf *q, const char *name, const char *value);

/* Perform METHOD base+path (path starts with '/', may carry a query string) with an optional
 * body of content type ctype, retrying per policy. Returns 0 when a response arrived (any
 * status: resp->status and resp->body filled; resp must be initialized and is cleared
 * first), or -1 when none did after the retries, with a message in err naming the URL and
 * the failure. Retries are announced on stderr. */
int http_request(http_client *c, const char *method, const char *path, const char *ctype,
                 const char *body, size_t body_len, http_retry_policy policy,
                 http_response *resp, char *err, size_t errlen);

/* Consumer of a streamed 200 response body; returns 0 to continue, non-zero to stop. */
typedef int (*http_stream_fn)(void *ud, const char *data, size_t n);

typedef enum http_stream_end {
  HTTP_STREAM_EOF = 0,     /* the server ended the response */
  HTTP_STREAM_STOPPED,     /* *stop became non-zero, or the consumer asked to stop */
  HTTP_STREAM_HTTP_ERROR,  /* status other than 200: resp->status/body hold the answer */
  HTTP_STREAM_FAILED       /* transport failure (message in err) */
} http_stream_end;

/* GET base+path once (no retries) and feed the 200 body to fn as it arrives. extra_header
 * (e.g. "Last-Event-ID: 01J..") may be NULL. The connection is considered dead when
 * less than 1 byte arrives in idle_timeout_s seconds. *stop is polled at least once a
 * second. resp must be initialized; it receives the status (and the body when not 200). */
http_stream_end http_stream(http_client *c, const char *path, const char *extra_header,
                            long idle_timeout_s, volatile sig_atomic_t *stop,
                            http_stream_fn fn, void *ud, http_response *resp, char *err,
                            size_t errlen);

/* Sleep for ms milliseconds, returning early (1) when *stop becomes non-zero (may be NULL);
 * returns 0 after the full sleep. */
int http_sleep_ms(long ms, volatile sig_atomic_t *stop);

/* Backoff delay before attempt number `attempt` (1 = first retry), with jitter. */
long http_backoff_ms(http_client *c, int attempt);

#endif
