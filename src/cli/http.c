/* http: see http.h. */
#include "cli/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_BASE_MS 250
#define BACKOFF_CAP_MS 4000
#define RETRY_AFTER_CAP_S 5

int http_client_init(http_client *c, const char *base_url, long timeout_ms, int retries,
                     char *err, size_t errlen) {
  memset(c, 0, sizeof *c);
  size_t n = strlen(base_url);
  while (n > 0 && base_url[n - 1] == '/') n--;
  if (n == 0) {
    snprintf(err, errlen, "empty eventd URL");
    return -1;
  }
  if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0) {
    snprintf(err, errlen, "eventd URL '%s' must start with http:// or https://", base_url);
    return -1;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    snprintf(err, errlen, "cannot initialize libcurl");
    return -1;
  }
  c->base = strndup(base_url, n);
  c->curl = curl_easy_init();
  if (!c->base || !c->curl) {
    snprintf(err, errlen, "out of memory");
    http_client_free(c);
    return -1;
  }
  c->timeout_ms = timeout_ms;
  c->retries = retries;
  /* Access control (docs/security.md): --token sets EVENTD_TOKEN before any client exists. */
  const char *token = getenv("EVENTD_TOKEN");
  if (token && *token) {
    size_t tn = strlen(token);
    c->auth_header = malloc(tn + 32);
    if (!c->auth_header) {
      snprintf(err, errlen, "out of memory");
      http_client_free(c);
      return -1;
    }
    snprintf(c->auth_header, tn + 32, "Authorization: Bearer %s", token);
  }
  c->rand_state = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
  return 0;
}

void http_client_free(http_client *c) {
  if (c->curl) {
    curl_easy_cleanup(c->curl);
    curl_global_cleanup();
  }
  free(c->base);
  free(c->auth_header);
  memset(c, 0, sizeof *c);
}

void http_response_init(http_response *r) {
  r->status = 0;
  buf_init(&r->body);
  r->retry_after_s = -1;
}

void http_response_free(http_response *r) {
  buf_free(&r->body);
  r->status = 0;
  r->retry_after_s = -1;
}

int http_query_add(http_client *c, buf *q, const char *name, const char *value) {
  char *esc = curl_easy_escape(c->curl, value, (int)strlen(value));
  if (!esc) return -1;
  int rc = buf_printf(q, "%c%s=%s", q->len == 0 || !strchr(q->data, '?') ? '?' : '&', name, esc);
  curl_free(esc);
  return rc;
}

/* State shared with the libcurl callbacks of one transfer. */
typedef struct transfer {
  http_client *client;
  http_response *resp;
  http_stream_fn stream_fn;      /* NULL: collect the body */
  void *stream_ud;
  volatile sig_atomic_t *stop;
  int stopped;                   /* the consumer or *stop ended the transfer */
  int oom;
} transfer;

/* libcurl write callback: collect the body, or hand a 200 body to the stream consumer. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
  transfer *t = ud;
  size_t n = size * nmemb;
  if (t->stream_fn) {
    long status = 0;
    curl_easy_getinfo(t->client->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200) {
      if (t->stop && *t->stop) {
        t->stopped = 1;
        return 0;
      }
      if (t->stream_fn(t->stream_ud, p, n) != 0) {
        t->stopped = 1;
        return 0;
      }
      return n;
    }
  }
  if (buf_append(&t->resp->body, p, n) != 0) {
    t->oom = 1;
    return 0;
  }
  return n;
}

/* libcurl header callback: remember Retry-After (seconds form) of the final response. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud) {
  transfer *t = ud;
  size_t n = size * nmemb;
  if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) t->resp->retry_after_s = -1;
  static const char name[] = "retry-after:";
  if (n > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
    const char *v = p + sizeof name - 1;
    const char *end = p + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    long secs = 0;
    int digits = 0;
    while (v < end && *v >= '0' && *v <= '9' && secs < 100000) {
      secs = secs * 10 + (*v - '0');
      v++;
      digits++;
    }
    if (digits) t->resp->retry_after_s = secs;
  }
  return n;
}

/* libcurl progress callback: abort the transfer when *stop is set. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  transfer *t = ud;
  if (t->stop && *t->stop) {
    t->stopped = 1;
    return 1;
  }
  return 0;
}

/* Reset the handle and set the options every transfer shares. */
static void setup_transfer(http_client *c, transfer *t, const char *url) {
  CURL *h = c->curl;
  curl_easy_reset(h);
  c->errbuf[0] = '\0';
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "eventctl/" EVD_VERSION);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms > 0 ? c->timeout_ms : 0L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  /* https (docs/security.md): --cacert / --client-cert / --client-key set these before any
   * client exists;
   * without EVENTD_CACERT libcurl's default CA store is used. Verification is always on. */
  const char *ca = getenv("EVENTD_CACERT"), *cert = getenv("EVENTD_CLIENT_CERT"),
             *key = getenv("EVENTD_CLIENT_KEY");
  if (ca && *ca) curl_easy_setopt(h, CURLOPT_CAINFO, ca);
  if (cert && *cert) curl_easy_setopt(h, CURLOPT_SSLCERT, cert);
  if (key && *key) curl_easy_setopt(h, CURLOPT_SSLKEY, key);
}

/* Whether a transport failure proves the request never reached the server. */
static int failure_is_unsent(CURLcode rc) {
  return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
         rc == CURLE_COULDNT_RESOLVE_PROXY;
}

long http_backoff_ms(http_client *c, int attempt) {
  long ms = BACKOFF_BASE_MS;
  for (int i = 1; i < attempt && ms < BACKOFF_CAP_MS; i++) ms *= 2;
  if (ms > BACKOFF_CAP_MS) ms = BACKOFF_CAP_MS;
  /* jitter: 75%..125% */
  long span = ms / 2;
  if (span > 0) ms = ms - span / 2 + (long)(rand_r(&c->rand_state) % (unsigned)(span + 1));
  return ms;
}

int http_sleep_ms(long ms, volatile sig_atomic_t *stop) {
  struct timespec now, end;
  clock_gettime(CLOCK_MONOTONIC, &end);
  end.tv_sec += ms / 1000;
  end.tv_nsec += (ms % 1000) * 1000000L;
  if (end.tv_nsec >= 1000000000L) {
    end.tv_sec++;
    end.tv_nsec -= 1000000000L;
  }
  for (;;) {
    if (stop && *stop) return 1;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left_ms = (long)(end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000L;
    if (left_ms <= 0) return 0;
    if (left_ms > 100) left_ms = 100; /* poll the stop flag */
    struct timespec ts = {left_ms / 1000, (left_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* EINTR: loop re-checks */
  }
}

int http_request(http_client *c, const char *method, const char *path, const char *ctype,
                 const char *body, size_t body_len, http_retry_policy policy,
                 http_response *resp, char *err, size_t errlen) {
  buf url = BUF_INIT;
  if (buf_printf(&url, "%s%s", c->base, path) != 0) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  struct curl_slist *headers = NULL;
  struct curl_slist *h1 = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */
  if (!h1) goto oom;
  headers = h1;
  if (c->auth_header) {
    struct curl_slist *ha = curl_slist_append(headers, c->auth_header);
    if (!ha) goto oom;
    headers = ha;
  }
  if (ctype) {
    char line[128];
    snprintf(line, sizeof line, "Content-Type: %s", ctype);
    struct curl_slist *h2 = curl_slist_append(headers, line);
    if (!h2) goto oom;
    headers = h2;
  }
  int attempts = 1 + (c->retries > 0 ? c->retries : 0);
  int result = -1;
  for (int attempt = 1;; attempt++) {
    http_response_free(resp);
    http_response_init(resp);
    transfer t = {.client = c, .resp = resp};
    setup_transfer(c, &t, url.data);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms > 0 ? c->timeout_ms : 0L);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
    if (body) {
      curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
      curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
    }
    if (strcmp(method, "GET") == 0 && !body)
      curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
    else if (strcmp(method, "POST") != 0)
      curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(c->curl);
    if (t.oom) {
      snprintf(err, errlen, "out of memory reading the response from %s", url.data);
      break;
    }
    int retryable;
    long wait_ms;
    char why[CURL_ERROR_SIZE + 64];
    if (rc == CURLE_OK) {
      curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
      if (resp->status != 503 && resp->status != 429) { /* 429: limits.rate_per_* */
        result = 0;
        break;
      }
      retryable = 1;
      wait_ms = http_backoff_ms(c, attempt);
      if (resp->retry_after_s >= 0) {
        long ra = resp->retry_after_s > RETRY_AFTER_CAP_S ? RETRY_AFTER_CAP_S : resp->retry_after_s;
        if (ra * 1000 > wait_ms) wait_ms = ra * 1000;
      }
      snprintf(why, sizeof why, "eventd answered %ld (%s)", resp->status,
               resp->status == 429 ? "rate limited" : "busy");
    } else {
      retryable = policy == HTTP_RETRY_ANY || failure_is_unsent(rc);
      wait_ms = http_backoff_ms(c, attempt);
      snprintf(why, sizeof why, "cannot reach eventd at %s: %s", c->base,
               c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
      snprintf(err, errlen, "%s%s", why,
               retryable ? "" : " (not retried: the request may have reached eventd)");
    }
    if (!retryable || attempt >= attempts) {
      if (rc == CURLE_OK) result = 0; /* the 503 / 429 answer is the result */
      else if (attempts > 1 && retryable) {
        size_t len = strlen(err);
        snprintf(err + len, errlen > len ? errlen - len : 0, " (after %d attempts)", attempt);
      }
      break;
    }
    fprintf(stderr, "eventctl: %s; retrying in %.1f s (attempt %d of %d)\n", why,
            (double)wait_ms / 1000.0, attempt + 1, attempts);
    http_sleep_ms(wait_ms, NULL);
  }
  curl_slist_free_all(headers);
  buf_free(&url);
  return result;
oom:
  curl_slist_free_all(headers);
  buf_free(&url);
  snprintf(err, errlen, "out of memory");
  return -1;
}

http_stream_end http_stream(http_client *c, const char *path, const char *extra_header,
                            long idle_timeout_s, volatile sig_atomic_t *stop,
                            http_stream_fn fn, void *ud, http_response *resp, char *err,
                            size_t errlen) {
  buf url = BUF_INIT;
  if (buf_printf(&url, "%s%s", c->base, path) != 0) {
    snprintf(err, errlen, "out of memory");
    return HTTP_STREAM_FAILED;
  }
  struct curl_slist *headers = curl_slist_append(NULL, "Accept: text/event-stream");
  if (headers && extra_header) {
    struct curl_slist *h2 = curl_slist_append(headers, extra_header);
    if (!h2) {
      curl_slist_free_all(headers);
      headers = NULL;
    } else {
      headers = h2;
    }
  }
  if (headers && c->auth_header) {
    struct curl_slist *ha = curl_slist_append(headers, c->auth_header);
    if (!ha) curl_slist_free_all(headers);
    headers = ha;
  }
  if (!headers) {
    buf_free(&url);
    snprintf(err, errlen, "out of memory");
    return HTTP_STREAM_FAILED;
  }
  http_response_free(resp);
  http_response_init(resp);
  transfer t = {.client = c, .resp = resp, .stream_fn = fn, .stream_ud = ud, .stop = stop};
  setup_transfer(c, &t, url.data);
  curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, &t);
  if (idle_timeout_s > 0) {
    curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, idle_timeout_s);
  }
  CURLcode rc = curl_easy_perform(c->curl);
  curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
  curl_slist_free_all(headers);
  http_stream_end end;
  if (t.stopped || (stop && *stop)) {
    end = HTTP_STREAM_STOPPED;
  } else if (t.oom) {
    snprintf(err, errlen, "out of memory reading the response from %s", url.data);
    end = HTTP_STREAM_FAILED;
  } else if (rc != CURLE_OK) {
    snprintf(err, errlen, "connection to eventd at %s failed: %s", c->base,
             c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
    end = HTTP_STREAM_FAILED;
  } else if (resp->status != 200) {
    end = HTTP_STREAM_HTTP_ERROR;
  } else {
    end = HTTP_STREAM_EOF;
  }
  buf_free(&url);
  return end;
}
