/* http_input: see http_input.h. */
#include "inputs/http_input.h"

#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* ---- bodies ------------------------------------------------------------------------------ */

int http_inflate(const void *in, size_t len, int gzip, size_t max, buf *out, char *err,
                 size_t errlen) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  /* 16+MAX_WBITS: gzip only; 32+MAX_WBITS: zlib or gzip (auto); -MAX_WBITS: raw deflate. */
  if (inflateInit2(&zs, gzip ? 16 + MAX_WBITS : 32 + MAX_WBITS) != Z_OK) {
    snprintf(err, errlen, "out of memory (inflate)");
    return HTTP_BODY_NOMEM;
  }
  buf_clear(out);
  size_t start = len < 4096 ? 4096 : len * 4;
  if (start > max + 1) start = max + 1;
  if (buf_reserve(out, start) != 0) {
    inflateEnd(&zs);
    snprintf(err, errlen, "out of memory (inflate)");
    return HTTP_BODY_NOMEM;
  }
  const unsigned char *p = in;
  size_t left = len;
  int rc = Z_OK;
  for (;;) {
    if (zs.avail_in == 0 && left) {
      uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
      zs.next_in = (unsigned char *)p;
      zs.avail_in = chunk;
      p += chunk;
      left -= chunk;
    }
    if (out->cap - out->len < 2) {
      if (out->len > max) break;
      if (buf_reserve(out, out->cap) != 0) {
        inflateEnd(&zs);
        snprintf(err, errlen, "out of memory (inflate)");
        return HTTP_BODY_NOMEM;
      }
    }
    size_t room = out->cap - out->len - 1; /* keep the NUL */
    if (room > (1u << 30)) room = 1u << 30;
    zs.next_out = (unsigned char *)out->data + out->len;
    zs.avail_out = (uInt)room;
    rc = inflate(&zs, Z_NO_FLUSH);
    out->len += room - zs.avail_out;
    out->data[out->len] = '\0';
    if (out->len > max) break;
    if (rc == Z_STREAM_END) {
      /* gzip allows several members back to back (gzip -c a b). */
      if (gzip && (zs.avail_in || left)) {
        if (inflateReset(&zs) != Z_OK) break;
        continue;
      }
      break;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) break; /* truncated */
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
  }
  int trailing = zs.avail_in || left;
  inflateEnd(&zs);
  if (out->len > max) {
    snprintf(err, errlen, "decompressed request body exceeds %zu bytes (limits.body_max_bytes)",
             max);
    buf_clear(out);
    return HTTP_BODY_TOO_LARGE;
  }
  if (rc == Z_MEM_ERROR) {
    snprintf(err, errlen, "out of memory (inflate)");
    buf_clear(out);
    return HTTP_BODY_NOMEM;
  }
  if (rc != Z_STREAM_END || trailing) {
    snprintf(err, errlen, "request body is not valid %s data%s", gzip ? "gzip" : "deflate",
             rc == Z_STREAM_END ? " (bytes after the end of the stream)"
             : rc == Z_OK || rc == Z_BUF_ERROR ? " (truncated)" : "");
    buf_clear(out);
    return HTTP_BODY_BAD_ENCODING;
  }
  return HTTP_BODY_OK;
}

void http_media_type(const char *ct, char *out, size_t outlen) {
  out[0] = '\0';
  if (!ct || outlen == 0) return;
  while (*ct == ' ' || *ct == '\t') ct++;
  size_t n = strcspn(ct, ";");
  while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
  if (n >= outlen) n = outlen - 1;
  for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)ct[i]);
  out[n] = '\0';
}

int http_body_read(struct evhttp_request *req, size_t max, http_body *out, char *err,
                   size_t errlen) {
  memset(out, 0, sizeof *out);
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(in);
  out->wire_len = len;
  if (len > max) {
    snprintf(err, errlen, "request body exceeds %zu bytes (limits.body_max_bytes)", max);
    return HTTP_BODY_TOO_LARGE;
  }
  const char *data = len ? (const char *)evbuffer_pullup(in, -1) : "";
  if (!data) {
    snprintf(err, errlen, "out of memory");
    return HTTP_BODY_NOMEM;
  }
  char enc[32];
  http_media_type(evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Encoding"),
                  enc, sizeof enc);
  if (!enc[0] || strcmp(enc, "identity") == 0) {
    out->data = data;
    out->len = len;
    return HTTP_BODY_OK;
  }
  int gzip;
  if (strcmp(enc, "gzip") == 0 || strcmp(enc, "x-gzip") == 0) gzip = 1;
  else if (strcmp(enc, "deflate") == 0) gzip = 0;
  else {
    snprintf(err, errlen, "unsupported Content-Encoding '%.32s'; use gzip, deflate or none", enc);
    return HTTP_BODY_UNSUPPORTED_ENCODING;
  }
  int rc = http_inflate(data, len, gzip, max, &out->inflated, err, errlen);
  if (rc != HTTP_BODY_OK) {
    buf_free(&out->inflated);
    return rc;
  }
  out->data = out->inflated.data ? out->inflated.data : "";
  out->len = out->inflated.len;
  return HTTP_BODY_OK;
}

void http_body_free(http_body *b) {
  buf_free(&b->inflated);
  b->data = NULL;
  b->len = 0;
}

/* ---- requests waiting for the store ------------------------------------------------------ */

/* Close callback of a connection with an append in flight (see http_api.c). */
static void on_pending_conn_close(struct evhttp_connection *conn, void *arg) {
  http_pending *p = arg;
  if (!p->req) return;
  if (evhttp_request_get_connection(p->req) == NULL) p->detached = 1; /* ours to free */
  else p->req = NULL; /* evhttp frees it with the connection right after this call */
}

void http_pending_watch(http_pending *p, struct evhttp_request *req) {
  p->req = req;
  p->detached = 0;
  p->conn = evhttp_request_get_connection(req);
  if (p->conn) evhttp_connection_set_closecb(p->conn, on_pending_conn_close, p);
}

struct evhttp_request *http_pending_take(http_pending *p) {
  if (p->req && p->detached) {
    evhttp_request_free(p->req);
    p->req = NULL;
  }
  if (!p->req) return NULL;
  if (p->conn) evhttp_connection_set_closecb(p->conn, NULL, NULL);
  struct evhttp_request *req = p->req;
  p->req = NULL;
  return req;
}

int http_store_error(struct evhttp_request *req, int status, int queue_status, char *msg,
                     size_t msglen) {
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  int err = -status;
  if (err == EAGAIN) {
    evhttp_add_header(h, "Retry-After", "1");
    snprintf(msg, msglen, "store queue is full");
    return queue_status;
  }
  if (err == ENOSPC) {
    evhttp_add_header(h, "Retry-After", "1");
    snprintf(msg, msglen, "disk full");
    return 503;
  }
  if (err == ESHUTDOWN) {
    snprintf(msg, msglen, "shutting down");
    return 503;
  }
  if (err == ENOMEM) {
    evhttp_add_header(h, "Retry-After", "1");
    snprintf(msg, msglen, "out of memory");
    return 503;
  }
  evhttp_add_header(h, "Retry-After", "1");
  snprintf(msg, msglen, "store unavailable: %s", strerror(err));
  return 503;
}
