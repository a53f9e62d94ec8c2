/* sink_http: eventd over plain HTTP with libcurl, for builds without libeventd.
 *
 * Events are kept in memory as NDJSON and POSTed to URL/v1/events
 * (application/x-ndjson) by flush() and whenever 500 events are pending; a failed request
 * (connection error, 5xx, 429) is retried with a doubling delay until the flush timeout.
 * A 4xx other than 429 means eventd refused the batch as invalid: the batch is dropped and
 * counted as failed (sending it again cannot succeed). There is no disk spool: events still
 * pending at close are reported as undelivered. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "probe/sink.h"

#define HTTP_BATCH_EVENTS 500

typedef struct http_sink {
  probe_sink base;
  CURL *curl;
  char url[1024];
  buf pending;
  uint64_t npending;
  buf reply;
} http_sink;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  buf *b = ud;
  if (buf_append(b, p, size * n) < 0) return 0;
  return size * n;
}

/* One POST of the pending batch. Returns 0 sent, 1 retryable failure, -1 refused. */
static int post_once(http_sink *h, char *err, size_t errcap) {
  buf_clear(&h->reply);
  struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/x-ndjson");
  curl_easy_reset(h->curl);
  curl_easy_setopt(h->curl, CURLOPT_URL, h->url);
  curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
  curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, h->pending.data);
  curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->pending.len);
  curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &h->reply);
  curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(h->curl);
  curl_slist_free_all(hdr);
  if (rc != CURLE_OK) {
    snprintf(err, errcap, "POST %s: %s", h->url, curl_easy_strerror(rc));
    return 1;
  }
  long status = 0;
  curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status == 200) return 0;
  snprintf(err, errcap, "POST %s: HTTP %ld: %.200s", h->url, status, h->reply.data ? h->reply.data : "");
  return (status >= 500 || status == 429) ? 1 : -1;
}

static int http_flush(probe_sink *s, int timeout_ms, char *err, size_t errcap) {
  http_sink *h = (http_sink *)s;
  if (h->npending == 0) return 0;
  int64_t deadline = time_mono_ns() + (int64_t)timeout_ms * NS_PER_MS;
  long delay_ms = 100;
  for (;;) {
    int r = post_once(h, err, errcap);
    if (r == 0) {
      buf_clear(&h->pending);
      h->npending = 0;
      return 0;
    }
    if (r < 0) {
      s->failed += h->npending;
      s->sent -= h->npending;
      buf_clear(&h->pending);
      h->npending = 0;
      return -1;
    }
    if (time_mono_ns() + delay_ms * NS_PER_MS > deadline) return -1;
    struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    if (delay_ms < 2000) delay_ms *= 2;
  }
}

static int http_send(probe_sink *s, const probe_event *ev, char *err, size_t errcap) {
  http_sink *h = (http_sink *)s;
  if (probe_event_write_eventd(ev, s->host, &h->pending) < 0 || buf_putc(&h->pending, '\n') < 0) {
    snprintf(err, errcap, "out of memory");
    return -1;
  }
  h->npending++;
  if (h->npending >= HTTP_BATCH_EVENTS) {
    char ferr[256];
    if (http_flush(s, 10000, ferr, sizeof ferr) < 0) fprintf(stderr, "eventd-probe: %s (will retry)\n", ferr);
  }
  return 0;
}

static uint64_t http_close(probe_sink *s, int timeout_ms) {
  http_sink *h = (http_sink *)s;
  char err[256];
  if (http_flush(s, timeout_ms, err, sizeof err) < 0) fprintf(stderr, "eventd-probe: %s\n", err);
  uint64_t lost = h->npending;
  curl_easy_cleanup(h->curl);
  buf_free(&h->pending);
  buf_free(&h->reply);
  free(h);
  return lost;
}

probe_sink *probe_sink_http_open(const char *url, const probe_host *host, char *err, size_t errcap) {
  http_sink *h = calloc(1, sizeof *h);
  if (!h) {
    snprintf(err, errcap, "out of memory");
    return NULL;
  }
  size_t n = strlen(url);
  while (n > 0 && url[n - 1] == '/') n--;
  if (n + strlen("/v1/events") >= sizeof h->url) {
    free(h);
    snprintf(err, errcap, "URL too long");
    return NULL;
  }
  memcpy(h->url, url, n);
  strcpy(h->url + n, "/v1/events");
  h->curl = curl_easy_init();
  if (!h->curl) {
    free(h);
    snprintf(err, errcap, "curl_easy_init failed");
    return NULL;
  }
  h->base.kind = "http";
  h->base.send = http_send;
  h->base.flush = http_flush;
  h->base.close = http_close;
  h->base.host = host;
  buf_init(&h->pending);
  buf_init(&h->reply);
  return &h->base;
}
