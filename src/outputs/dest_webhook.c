/* dest_webhook: the webhook destination — HTTP(S) POST of events through libcurl
 * (owner: outputs-dest; issue 4; docs/outputs-destinations.md is the user's reference).
 *
 * Spec members (besides the common ones the dispatcher reads):
 *   url         http:// or https:// URL (required)
 *   secret      HMAC key; when set every request carries X-Eventd-Signature
 *   signature   "eventd" (default) or "cloudstack" (adds X-CS-Signature, X-CS-Event-ID,
 *               X-CS-Event as Apache CloudStack's webhooks send them; needs a secret)
 *   headers     {"Name": "value", ...} added to every request
 *   timeout_ms  whole-request timeout (default 10000)
 *   tls_verify  verify the server's certificate and name (default true)
 *   ca_file     CA bundle for verification
 *   batch       (common member) when present, a deliver call sends its messages as one
 *               JSON array; when absent, one request per event
 *
 * Wire format of one request:
 *   POST <url>
 *   Content-Type: application/json
 *   X-Eventd-Id: <event id>          (a batch: the first event's id)
 *   X-Eventd-Count: <n>              (a batch only)
 *   X-Eventd-Type: <event type>      (a batch: the first event's type)
 *   X-Eventd-Timestamp: <unix seconds at signing>
 *   X-Eventd-Signature: t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>   (with a secret)
 *   body: the event's canonical JSON, or a JSON array of them
 *
 * Outcome: any 2xx confirms; 408, 429, 3xx, 5xx and transport errors (refused, timeout, TLS)
 * are OUTPUT_RETRY; any other 4xx is OUTPUT_REJECTED. A batch the receiver rejects is sent
 * again one event at a time (arrays of one) so that only the refused event is rejected. Every request is reported through
 * env->record_attempt. The easy handle (and so its connection) is kept for the life of the
 * output: keep-alive across deliveries.
 *
 * Tenant-owned outputs (env->guard, issue 7): every address curl is about to connect to is
 * checked by the SSRF guard in the open-socket callback (outputs/netguard.h), proxies are not
 * used, and a literal local address in `url` is refused at create (check_targets). */
#include <curl/curl.h>
#include <sys/socket.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/timeutil.h"
#include "outputs/hmac.h"
#include "outputs/netguard.h"
#include "outputs/output.h"
#include "server/log.h"

#define WEBHOOK_RESPONSE_KEEP 512
#define WEBHOOK_DEFAULT_TIMEOUT_MS 10000

typedef struct webhook {
  const output_env *env;
  CURL *curl;
  char *url;
  char *secret; /* NULL: unsigned */
  size_t secret_len;
  int cloudstack;
  int batch;    /* 1: JSON array per deliver call */
  struct curl_slist *fixed_headers; /* Content-Type, Expect:, User-Agent, custom headers */
  buf body;
  char response[WEBHOOK_RESPONSE_KEEP];
  size_t response_len;
  char curl_error[CURL_ERROR_SIZE];
  char guard_error[256]; /* why the SSRF guard refused an address of this request ("" = none) */
} webhook;

static const char *const webhook_members[] = {"url",        "secret",     "signature", "headers",
                                              "timeout_ms", "tls_verify", "ca_file",   NULL};

/* Whether s is an HTTP header name (RFC 9110 token) that is not one eventd sets itself. */
static int header_name_ok(const char *s, size_t n) {
  if (n == 0 || n > 256) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          strchr("!#$%&'*+-.^_`|~", c) != NULL))
      return 0;
  }
  return 1;
}

static int header_reserved(const char *s) {
  return strncasecmp(s, "X-Eventd-", 9) == 0 || strncasecmp(s, "X-CS-", 5) == 0 ||
         strcasecmp(s, "Content-Type") == 0 || strcasecmp(s, "Content-Length") == 0 ||
         strcasecmp(s, "Transfer-Encoding") == 0 || strcasecmp(s, "Host") == 0;
}

/* Check the webhook members of spec (see the file comment). Returns 0 or -1 with err. */
static int webhook_check(const json_value *spec, char *err, size_t errlen) {
  if (spec_refuse_unknown(spec, webhook_members, "webhook", err, errlen) != 0) return -1;
  const char *url = NULL, *secret = NULL, *signature = NULL, *ca_file = NULL;
  const json_value *headers = NULL;
  int64_t timeout_ms = WEBHOOK_DEFAULT_TIMEOUT_MS;
  int tls_verify = 1;
  if (spec_string(spec, "url", &url, err, errlen) != 0 ||
      spec_string(spec, "secret", &secret, err, errlen) != 0 ||
      spec_string(spec, "signature", &signature, err, errlen) != 0 ||
      spec_string(spec, "ca_file", &ca_file, err, errlen) != 0 ||
      spec_string_map(spec, "headers", &headers, err, errlen) != 0 ||
      spec_int(spec, "timeout_ms", 1, 600000, &timeout_ms, err, errlen) != 0 ||
      spec_bool(spec, "tls_verify", &tls_verify, err, errlen) != 0)
    return -1;
  if (url == NULL) {
    snprintf(err, errlen, "url: required for a webhook output");
    return -1;
  }
  if ((strncasecmp(url, "http://", 7) != 0 || url[7] == '\0') &&
      (strncasecmp(url, "https://", 8) != 0 || url[8] == '\0')) {
    snprintf(err, errlen, "url: must be http:// or https://");
    return -1;
  }
  for (const char *p = url; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f) {
      snprintf(err, errlen, "url: must not contain spaces or control characters");
      return -1;
    }
  if (signature != NULL && strcmp(signature, "eventd") != 0 && strcmp(signature, "cloudstack") != 0) {
    snprintf(err, errlen, "signature: expected \"eventd\" or \"cloudstack\"");
    return -1;
  }
  if (signature != NULL && strcmp(signature, "cloudstack") == 0 && (secret == NULL || !*secret)) {
    snprintf(err, errlen, "signature: \"cloudstack\" needs a secret");
    return -1;
  }
  if (secret != NULL && *secret == '\0') {
    snprintf(err, errlen, "secret: must not be empty (leave it out for unsigned requests)");
    return -1;
  }
  if (headers != NULL)
    for (const json_value *h = headers->child; h != NULL; h = h->next) {
      if (!header_name_ok(h->key, h->key_len)) {
        snprintf(err, errlen, "headers: '%.64s' is not a valid header name", h->key);
        return -1;
      }
      if (header_reserved(h->key)) {
        snprintf(err, errlen, "headers: '%.64s' is set by eventd and cannot be overridden", h->key);
        return -1;
      }
      size_t vlen;
      const char *value = spec_scalar(h, &vlen);
      for (size_t i = 0; i < vlen; i++)
        if (value[i] == '\r' || value[i] == '\n') {
          snprintf(err, errlen, "headers.%.64s: must not contain CR or LF", h->key);
          return -1;
        }
    }
  return 0;
}

/* libcurl write callback: keep the first WEBHOOK_RESPONSE_KEEP bytes, count the rest as read. */
static size_t webhook_on_body(char *p, size_t size, size_t nmemb, void *arg) {
  webhook *w = arg;
  size_t n = size * nmemb;
  size_t room = sizeof w->response - w->response_len;
  size_t take = n < room ? n : room;
  memcpy(w->response + w->response_len, p, take);
  w->response_len += take;
  return n;
}

/* libcurl progress callback (about once a second, and on every transfer step): abort the
 * request when the output is being stopped, paused or deleted. */
static int webhook_on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                               curl_off_t ulnow) {
  (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  webhook *w = arg;
  return w->env != NULL && w->env->stopping != NULL && w->env->stopping(w->env->env_arg);
}

/* libcurl open-socket callback: every address curl is about to connect to (after its own
 * resolution, so DNS rebinding cannot slip past) goes through the output's SSRF guard
 * (netguard.h); a refused one is never connected to, and its reason is kept for the error. */
static curl_socket_t webhook_open_socket(void *arg, curlsocktype purpose,
                                         struct curl_sockaddr *a) {
  webhook *w = arg;
  (void)purpose;
  const output_guard *g = w->env != NULL ? w->env->guard : NULL;
  char msg[256];
  if (output_guard_check(g, &a->addr, msg, sizeof msg) != 0) {
    if (w->guard_error[0] == '\0') snprintf(w->guard_error, sizeof w->guard_error, "%s", msg);
    return CURL_SOCKET_BAD;
  }
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* check_targets: no ca_file (a file on the host); the url's host when it is a literal IP
 * address. */
static int webhook_check_targets(const json_value *spec, const output_guard *g, char *err,
                                 size_t errlen) {
  const json_value *url = json_get(spec, "url");
  const char *host;
  size_t hostlen;
  int port;
  if (json_get(spec, "ca_file") != NULL) {
    snprintf(err, errlen, "ca_file: names a file on the daemon's host; outputs owned by tenant "
             "%s may not set it (an admin's output may)", g->owner);
    return -1;
  }
  if (url == NULL || url->type != JSON_STRING || netguard_url_host(url->s, &host, &hostlen, &port) != 0)
    return 0; /* webhook_check names a bad url */
  if (port == 0) port = strncasecmp(url->s, "https", 5) == 0 ? 443 : 80;
  return output_guard_check_host(g, "url", host, hostlen, port, err, errlen);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_global_rc = CURLE_OK;
static void webhook_curl_global_init(void) { curl_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static void webhook_free(webhook *w) {
  if (w == NULL) return;
  if (w->curl != NULL) curl_easy_cleanup(w->curl);
  curl_slist_free_all(w->fixed_headers);
  free(w->url);
  if (w->secret != NULL) {
    memset(w->secret, 0, w->secret_len);
    free(w->secret);
  }
  buf_free(&w->body);
  free(w);
}

/* Append "Name: value" to *list. Returns 0 or -1 (OOM). */
static int slist_add(struct curl_slist **list, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int slist_add(struct curl_slist **list, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  buf big = BUF_INIT;
  const char *text = line;
  if (n < 0) return -1;
  if ((size_t)n >= sizeof line) { /* long custom header: format again into a buffer */
    va_start(ap, fmt);
    int rc = buf_vprintf(&big, fmt, ap);
    va_end(ap);
    if (rc != 0) return -1;
    text = big.data;
  }
  struct curl_slist *l = curl_slist_append(*list, text);
  buf_free(&big);
  if (l == NULL) return -1;
  *list = l;
  return 0;
}

/* Create the webhook's state and its curl handle (no connection yet). */
static int webhook_open(const json_value *spec, const output_env *env, void **state, char *err,
                        size_t errlen) {
  if (webhook_check(spec, err, errlen) != 0) return -1;
  /* a tenant's output created before these rules existed is held to them too */
  if (env != NULL && env->guard != NULL && webhook_check_targets(spec, env->guard, err, errlen) != 0)
    return -1;
  pthread_once(&curl_once, webhook_curl_global_init);
  if (curl_global_rc != CURLE_OK) {
    snprintf(err, errlen, "libcurl initialization failed: %s", curl_easy_strerror(curl_global_rc));
    return -1;
  }
  webhook *w = calloc(1, sizeof *w);
  if (w == NULL) goto oom;
  w->env = env;
  buf_init(&w->body);
  const char *url = NULL, *secret = NULL, *signature = NULL, *ca_file = NULL;
  const json_value *headers = NULL;
  int64_t timeout_ms = WEBHOOK_DEFAULT_TIMEOUT_MS;
  int tls_verify = 1;
  /* Already checked: these cannot fail. */
  (void)spec_string(spec, "url", &url, err, errlen);
  (void)spec_string(spec, "secret", &secret, err, errlen);
  (void)spec_string(spec, "signature", &signature, err, errlen);
  (void)spec_string(spec, "ca_file", &ca_file, err, errlen);
  (void)spec_string_map(spec, "headers", &headers, err, errlen);
  (void)spec_int(spec, "timeout_ms", 1, 600000, &timeout_ms, err, errlen);
  (void)spec_bool(spec, "tls_verify", &tls_verify, err, errlen);
  const json_value *batch = json_get(spec, "batch");
  w->batch = batch != NULL && batch->type != JSON_FALSE && batch->type != JSON_NULL &&
             !(batch->type == JSON_NUMBER && batch->n == 1 && batch->s[0] == '0');
  w->cloudstack = signature != NULL && strcmp(signature, "cloudstack") == 0;
  if ((w->url = strdup(url)) == NULL) goto oom;
  if (secret != NULL) {
    w->secret_len = strlen(secret);
    if ((w->secret = strdup(secret)) == NULL) goto oom;
  }
  if (slist_add(&w->fixed_headers, "Content-Type: application/json") != 0 ||
      slist_add(&w->fixed_headers, "Expect:") != 0 ||
      slist_add(&w->fixed_headers, "User-Agent: %s", w->cloudstack ? "CS-Hookshot/eventd" : "eventd-webhook/1") != 0)
    goto oom;
  if (headers != NULL)
    for (const json_value *h = headers->child; h != NULL; h = h->next)
    {
      size_t vlen;
      const char *value = spec_scalar(h, &vlen);
      if (slist_add(&w->fixed_headers, "%s: %.*s", h->key, (int)vlen, value) != 0) goto oom;
    }

  w->curl = curl_easy_init();
  if (w->curl == NULL) goto oom;
  CURL *c = w->curl;
  CURLcode rc = CURLE_OK;
#define SETOPT(opt, val) \
  if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val)
  SETOPT(CURLOPT_URL, w->url);
  SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_POST, 1L);
  SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
  SETOPT(CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 5000 ? timeout_ms : 5000));
  SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
  SETOPT(CURLOPT_TCP_NODELAY, 1L);
  SETOPT(CURLOPT_SSL_VERIFYPEER, tls_verify ? 1L : 0L);
  SETOPT(CURLOPT_SSL_VERIFYHOST, tls_verify ? 2L : 0L);
  if (ca_file != NULL) SETOPT(CURLOPT_CAINFO, ca_file);
  SETOPT(CURLOPT_WRITEFUNCTION, webhook_on_body);
  SETOPT(CURLOPT_WRITEDATA, w);
  SETOPT(CURLOPT_ERRORBUFFER, w->curl_error);
  SETOPT(CURLOPT_XFERINFOFUNCTION, webhook_on_progress);
  SETOPT(CURLOPT_XFERINFODATA, w);
  SETOPT(CURLOPT_NOPROGRESS, 0L);
  if (env != NULL && env->guard != NULL) {
    /* Tenant-owned: check every address at connect time. A proxy (http_proxy in the
     * environment) would connect on our behalf, past the check: none for these outputs. */
    SETOPT(CURLOPT_OPENSOCKETFUNCTION, webhook_open_socket);
    SETOPT(CURLOPT_OPENSOCKETDATA, w);
    SETOPT(CURLOPT_PROXY, "");
  }
#undef SETOPT
  if (rc != CURLE_OK) {
    snprintf(err, errlen, "libcurl refused an option: %s", curl_easy_strerror(rc));
    webhook_free(w);
    return -1;
  }
  *state = w;
  return 0;
oom:
  snprintf(err, errlen, "out of memory");
  webhook_free(w);
  return -1;
}

/* Map an HTTP status to the outcome (see the file comment). */
static output_status webhook_status_of(long code) {
  if (code >= 200 && code < 300) return OUTPUT_OK;
  if (code >= 400 && code < 500 && code != 408 && code != 429) return OUTPUT_REJECTED;
  return OUTPUT_RETRY;
}

/* POST w->body carrying msgs[0..n) (n == 1 unless batched). Fills *res for this request
 * (status, code, error) and reports the attempt. */
static void webhook_post(webhook *w, const output_msg *msgs, size_t n, int as_batch,
                         output_result *res) {
  const record_view *first = &msgs[0].rv;
  struct curl_slist *headers = NULL;
  int64_t ts = (int64_t)time(NULL);
  int ok = 0;
  /* The per-request headers go first, then the fixed ones (copied: curl owns list nodes). */
  if (slist_add(&headers, "X-Eventd-Id: %.*s", (int)first->id.n, first->id.p) == 0 &&
      slist_add(&headers, "X-Eventd-Type: %.*s", (int)first->f[EVF_TYPE].n,
                first->f[EVF_TYPE].p) == 0 &&
      slist_add(&headers, "X-Eventd-Timestamp: %" PRId64, ts) == 0 &&
      (!as_batch || slist_add(&headers, "X-Eventd-Count: %zu", n) == 0)) {
    ok = 1;
    for (const struct curl_slist *h = w->fixed_headers; ok && h != NULL; h = h->next)
      ok = slist_add(&headers, "%s", h->data) == 0;
  }
  if (ok && w->secret != NULL) {
    char sig[128];
    ok = eventd_signature(w->secret, w->secret_len, ts, w->body.data, w->body.len, sig,
                          sizeof sig) == 0 &&
         slist_add(&headers, "X-Eventd-Signature: %s", sig) == 0;
    if (ok && w->cloudstack) {
      const void *parts[1] = {w->body.data};
      size_t lens[1] = {w->body.len};
      unsigned char mac[HMAC_SHA256_LEN];
      buf b64 = BUF_INIT;
      ok = hmac_sha256(w->secret, w->secret_len, parts, lens, 1, mac) == 0 &&
           base64_append(&b64, mac, sizeof mac) == 0 &&
           slist_add(&headers, "X-CS-Signature: %s", b64.data) == 0 &&
           slist_add(&headers, "X-CS-Event-ID: %.*s", (int)first->id.n, first->id.p) == 0 &&
           slist_add(&headers, "X-CS-Event: %.*s", (int)first->f[EVF_TYPE].n,
                     first->f[EVF_TYPE].p) == 0;
      buf_free(&b64);
    }
  }
  if (!ok) {
    curl_slist_free_all(headers);
    res->status = OUTPUT_RETRY;
    res->code = 0;
    snprintf(res->error, sizeof res->error, "out of memory building the request headers");
    return;
  }

  CURL *c = w->curl;
  w->response_len = 0;
  w->curl_error[0] = '\0';
  w->guard_error[0] = '\0';
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, w->body.data);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)w->body.len);
  int64_t t0 = time_mono_ns();
  CURLcode rc = curl_easy_perform(c);
  int64_t latency = time_mono_ns() - t0;
  long code = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(headers);

  res->code = (int)code;
  if (rc != CURLE_OK && w->guard_error[0] != '\0') {
    res->status = OUTPUT_RETRY; /* the target may resolve elsewhere later; the guard decides */
    snprintf(res->error, sizeof res->error, "%s", w->guard_error);
  } else if (rc != CURLE_OK) {
    res->status = OUTPUT_RETRY;
    snprintf(res->error, sizeof res->error, "%.80s: %.160s", curl_easy_strerror(rc),
             w->curl_error[0] ? w->curl_error : "(no detail)");
  } else {
    res->status = webhook_status_of(code);
    if (res->status == OUTPUT_OK)
      res->error[0] = '\0';
    else {
      /* The status and the start of the response (printable ASCII only) for status, logs
       * and dead letters; the URL is left out (it may carry credentials). */
      char snippet[161];
      size_t k = 0;
      for (size_t i = 0; i < w->response_len && k < sizeof snippet - 1; i++) {
        unsigned char ch = (unsigned char)w->response[i];
        snippet[k++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
      }
      while (k > 0 && snippet[k - 1] == ' ') k--;
      snippet[k] = '\0';
      snprintf(res->error, sizeof res->error, "HTTP %ld%s%s%s", code,
               res->status == OUTPUT_REJECTED ? " (rejected)" : "", k ? ": " : "", snippet);
    }
  }
  output_record_attempt(w->env, msgs, n, (int)code, res->status == OUTPUT_OK, latency,
                        w->response, w->response_len, rc != CURLE_OK ? res->error : NULL);
}

/* POST msgs[0..n) as one JSON array. Returns 0 (res filled), or -1 when out of memory
 * (res says RETRY). */
static int webhook_post_array(webhook *w, const output_msg *msgs, size_t n, output_result *res) {
  buf_clear(&w->body);
  int ok = buf_putc(&w->body, '[') == 0;
  for (size_t i = 0; ok && i < n; i++)
    ok = (i == 0 || buf_putc(&w->body, ',') == 0) &&
         buf_append(&w->body, msgs[i].rv.json.p, msgs[i].rv.json.n) == 0;
  if (!ok || buf_putc(&w->body, ']') != 0) {
    res->status = OUTPUT_RETRY;
    snprintf(res->error, sizeof res->error, "out of memory building a batch of %zu events", n);
    return -1;
  }
  webhook_post(w, msgs, n, 1, res);
  return 0;
}

/* Deliver msgs[0..n): one JSON-array request (batch mode) or one request per event, stopping
 * at the first failure. confirmed = the events whose request got a 2xx. */
static void webhook_deliver(void *state, const output_msg *msgs, size_t n, output_result *res) {
  webhook *w = state;
  res->confirmed = 0;
  res->code = 0;
  res->error[0] = '\0';
  res->status = OUTPUT_OK;
  if (w->batch) {
    if (webhook_post_array(w, msgs, n, res) != 0 || res->status != OUTPUT_REJECTED || n == 1) {
      if (res->status == OUTPUT_OK) res->confirmed = n;
      return;
    }
    /* The receiver refused the batch: find the event it refuses by sending them one at a
     * time (as arrays of one), so only that event is dead-lettered. */
    for (size_t i = 0; i < n; i++) {
      if (webhook_post_array(w, &msgs[i], 1, res) != 0 || res->status != OUTPUT_OK) return;
      res->confirmed = i + 1;
    }
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && w->env != NULL && w->env->stopping != NULL && w->env->stopping(w->env->env_arg)) {
      res->status = OUTPUT_RETRY;
      snprintf(res->error, sizeof res->error, "output stopping");
      return;
    }
    buf_clear(&w->body);
    if (buf_append(&w->body, msgs[i].rv.json.p, msgs[i].rv.json.n) != 0) {
      res->status = OUTPUT_RETRY;
      snprintf(res->error, sizeof res->error, "out of memory copying an event");
      return;
    }
    webhook_post(w, &msgs[i], 1, 0, res);
    if (res->status != OUTPUT_OK) return;
    res->confirmed = i + 1;
  }
}

/* GET /v1/outputs/{name}: the webhook's members with the secret and header values hidden. */
static int webhook_describe(const json_value *spec, buf *out) {
  static const char *const shown[] = {"signature", "timeout_ms", "tls_verify", "ca_file", NULL};
  const json_value *url = json_get(spec, "url");
  if (url != NULL && url->type == JSON_STRING &&
      (buf_puts(out, ",\"url\":") != 0 || url_write_redacted(out, url->s) != 0))
    return -1;
  for (size_t i = 0; shown[i] != NULL; i++) {
    const json_value *v = json_get(spec, shown[i]);
    if (v == NULL) continue;
    if (buf_printf(out, ",\"%s\":", shown[i]) != 0 || json_write_value(out, v) != 0) return -1;
  }
  if (json_get(spec, "secret") != NULL && buf_puts(out, ",\"secret\":\"***\"") != 0) return -1;
  const json_value *headers = json_get(spec, "headers");
  if (headers != NULL && headers->type == JSON_OBJECT) {
    if (buf_puts(out, ",\"headers\":{") != 0) return -1;
    for (const json_value *h = headers->child; h != NULL; h = h->next)
      if ((h != headers->child && buf_putc(out, ',') != 0) ||
          json_write_string(out, h->key, h->key_len) != 0 || buf_puts(out, ":\"***\"") != 0)
        return -1;
    if (buf_putc(out, '}') != 0) return -1;
  }
  return 0;
}

static void webhook_close(void *state) { webhook_free(state); }

const output_dest_ops output_dest_webhook = {
    .type = "webhook",
    .check = webhook_check,
    .open = webhook_open,
    .deliver = webhook_deliver,
    .describe = webhook_describe,
    .close = webhook_close,
    .check_targets = webhook_check_targets,
};
