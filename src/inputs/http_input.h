/* http_input: what the inputs that live on the HTTP port (Elasticsearch-compatible ingest,
 * OTLP/HTTP logs) share beyond server/http_api.c's reply helpers:
 *
 *  - the request body, with its Content-Encoding undone (identity, gzip, deflate) and the
 *    body limit (limits.body_max_bytes) applied to the decoded size as well;
 *  - a request waiting for its ingest batch to be durable (the evhttp lifetime dance of
 *    http_api.c: a connection that dies while the append is in flight must not leave the
 *    completion with a freed request);
 *  - the answer for a store refusal (503 + Retry-After, or 429 for a full queue when the
 *    input prefers it).
 *
 * Everything runs on the loop thread. */
#ifndef EVD_INPUTS_HTTP_INPUT_H
#define EVD_INPUTS_HTTP_INPUT_H

#include <stddef.h>

#include "core/buf.h"

struct evhttp_request;
struct evhttp_connection;
struct server;

/* The decoded body of a request. data points into the request's input buffer (identity) or
 * into inflated (gzip/deflate); free with http_body_free. */
typedef struct http_body {
  const char *data;
  size_t len;
  size_t wire_len; /* bytes as received */
  buf inflated;
} http_body;

enum {
  HTTP_BODY_OK = 0,
  HTTP_BODY_UNSUPPORTED_ENCODING = -1, /* 415 */
  HTTP_BODY_BAD_ENCODING = -2,         /* 400: not valid gzip/deflate */
  HTTP_BODY_TOO_LARGE = -3,            /* 413 (decoded size over max) */
  HTTP_BODY_NOMEM = -4                 /* 503 */
};

/* Read req's body and undo its Content-Encoding (none/identity, gzip, x-gzip, deflate).
 * max bounds the decoded size. Returns HTTP_BODY_OK with *out (free with http_body_free),
 * or one of HTTP_BODY_* with a message in err (out is then empty and needs no free). */
int http_body_read(struct evhttp_request *req, size_t max, http_body *out, char *err, size_t errlen);

/* Inflate a gzip (or zlib/deflate when gzip == 0) buffer into out, at most max bytes.
 * Returns HTTP_BODY_OK, HTTP_BODY_BAD_ENCODING, HTTP_BODY_TOO_LARGE or HTTP_BODY_NOMEM with
 * err. Pure (used by unit tests and fuzz targets). */
int http_inflate(const void *in, size_t len, int gzip, size_t max, buf *out, char *err, size_t errlen);

void http_body_free(http_body *b);

/* The media type of a Content-Type header without parameters, blanks trimmed, into out
 * (lowercased, at most outlen-1 bytes; "" when absent). */
void http_media_type(const char *content_type, char *out, size_t outlen);

/* A request waiting for an ingest completion. Embed it in the input's waiter struct. */
typedef struct http_pending {
  struct evhttp_request *req;     /* NULL once evhttp freed it with its connection */
  struct evhttp_connection *conn;
  int detached;                   /* connection gone, request still ours to free */
} http_pending;

/* Start waiting: remember req and watch its connection (call right after ingest_submit
 * returned 0). */
void http_pending_watch(http_pending *p, struct evhttp_request *req);
/* At completion: the request to answer, or NULL when the client went away (a detached
 * request is freed here). Stops watching the connection. */
struct evhttp_request *http_pending_take(http_pending *p);

/* The status and message for an ingest_submit / completion status -errno: 503 (disk full,
 * store failed, shutting down, out of memory) or 429/503 for a full queue (queue_status).
 * Sets Retry-After on req when a retry makes sense. Returns the status code; msg gets the
 * message. */
int http_store_error(struct evhttp_request *req, int status, int queue_status, char *msg,
                     size_t msglen);

#endif
