/* Unit tests of the webhook destination (src/outputs/dest_webhook.c) and the signature
 * helpers (src/outputs/hmac.c), driven directly with a fake output_env against a tiny
 * HTTP/1.1 server running on a thread of the test. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/event.h"
#include "core/json.h"
#include "core/record.h"
#include "outputs/hmac.h"
#include "outputs/output.h"
#include "test-dest-util.h"
#include "test.h"

/* ---- a scripted HTTP server: answers request i with statuses[i], keeps the requests ---- */

#define HS_MAX 16
typedef struct http_script {
  int listen_fd;
  int port;
  int statuses[HS_MAX];
  int nstatuses;
  char *requests[HS_MAX]; /* head + body of each request, malloc'd */
  int nrequests;
  int connections;
  pthread_t thread;
} http_script;

/* Read one request (head + Content-Length body) from fd into a malloc'd string; NULL at EOF. */
static char *hs_read_request(int fd) {
  size_t cap = 65536, len = 0;
  char *b = malloc(cap + 1);
  ASSERT(b != NULL);
  size_t head_end = 0, body_len = 0;
  for (;;) {
    if (head_end == 0) {
      b[len] = '\0';
      char *e = strstr(b, "\r\n\r\n");
      if (e != NULL) {
        head_end = (size_t)(e - b) + 4;
        char *cl = strcasestr(b, "\r\nContent-Length:");
        body_len = cl != NULL && cl < e ? strtoul(cl + 17, NULL, 10) : 0;
      }
    }
    if (head_end != 0 && len >= head_end + body_len) break;
    ASSERT(len < cap);
    ssize_t r = read(fd, b + len, cap - len);
    if (r <= 0) {
      free(b);
      return NULL;
    }
    len += (size_t)r;
  }
  b[len] = '\0';
  return b;
}

static void *hs_main(void *arg) {
  http_script *hs = arg;
  while (hs->nrequests < hs->nstatuses) {
    int fd = accept(hs->listen_fd, NULL, NULL);
    if (fd < 0) break;
    hs->connections++;
    char *req;
    while (hs->nrequests < hs->nstatuses && (req = hs_read_request(fd)) != NULL) {
      int code = hs->statuses[hs->nrequests];
      hs->requests[hs->nrequests++] = req;
      char resp[128];
      int n = snprintf(resp, sizeof resp, "HTTP/1.1 %d X\r\nContent-Length: 7\r\n\r\nanswer%d",
                       code, code / 100);
      ASSERT(write(fd, resp, (size_t)n) == n);
    }
    close(fd);
  }
  return NULL;
}

/* Start a server answering the given statuses in turn (one request each). */
static void hs_start(http_script *hs, int n, ...) {
  memset(hs, 0, sizeof *hs);
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++) hs->statuses[i] = va_arg(ap, int);
  va_end(ap);
  hs->nstatuses = n;
  hs->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT(hs->listen_fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ASSERT(bind(hs->listen_fd, (struct sockaddr *)&sa, sizeof sa) == 0);
  ASSERT(listen(hs->listen_fd, 8) == 0);
  socklen_t sl = sizeof sa;
  ASSERT(getsockname(hs->listen_fd, (struct sockaddr *)&sa, &sl) == 0);
  hs->port = ntohs(sa.sin_port);
  ASSERT(pthread_create(&hs->thread, NULL, hs_main, hs) == 0);
}

static void hs_finish(http_script *hs) {
  pthread_join(hs->thread, NULL);
  close(hs->listen_fd);
}

static void hs_free(http_script *hs) {
  for (int i = 0; i < hs->nrequests; i++) free(hs->requests[i]);
}

/* Value of header `name` in request text (copied into out), or "" if absent. */
static const char *hs_header(const char *req, const char *name, char *out, size_t outlen) {
  char needle[128];
  snprintf(needle, sizeof needle, "\r\n%s: ", name);
  const char *p = strcasestr(req, needle);
  out[0] = '\0';
  if (p == NULL) return out;
  p += strlen(needle);
  size_t n = strcspn(p, "\r");
  if (n >= outlen) n = outlen - 1;
  memcpy(out, p, n);
  out[n] = '\0';
  return out;
}

static const char *hs_body(const char *req) {
  const char *e = strstr(req, "\r\n\r\n");
  return e != NULL ? e + 4 : "";
}

/* ---- tests ---- */

TEST_IMPL(dest_hmac_signature_matches_reference_values) {
  char sig[128];
  ASSERT(eventd_signature("s3cret", 6, 1700000000, "{\"a\":1}", 7, sig, sizeof sig) == 0);
  /* python3: hmac.new(b's3cret', b'1700000000.{"a":1}', hashlib.sha256).hexdigest() */
  ASSERT_EQ_STR(sig,
                "t=1700000000,v1=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940");
  const void *parts[1] = {"{\"a\":1}"};
  size_t lens[1] = {7};
  unsigned char mac[HMAC_SHA256_LEN];
  ASSERT(hmac_sha256("s3cret", 6, parts, lens, 1, mac) == 0);
  buf b = BUF_INIT;
  ASSERT(base64_append(&b, mac, sizeof mac) == 0);
  ASSERT_EQ_STR(b.data, "WRDmIBbvUDQnLJJsJwcZkqRlwjNc7PQYUb2gcVd/T20=");
  buf_clear(&b);
  ASSERT(base64_append(&b, (const unsigned char *)"ab", 2) == 0);
  ASSERT(base64_append(&b, (const unsigned char *)"abcd", 4) == 0);
  ASSERT_EQ_STR(b.data, "YWI=YWJjZA==");
  buf_free(&b);
  return 0;
}

TEST_IMPL(dest_webhook_check_refuses_bad_members) {
  static const struct {
    const char *spec;
    const char *err_part;
  } cases[] = {
      {"{\"name\":\"h\",\"type\":\"webhook\"}", "url: required"},
      {"{\"type\":\"webhook\",\"url\":\"ftp://x/\"}", "url: must be http"},
      {"{\"type\":\"webhook\",\"url\":7}", "url: expected a string"},
      {"{\"type\":\"webhook\",\"url\":\"http://x/\",\"secrte\":\"a\"}", "unknown member 'secrte'"},
      {"{\"type\":\"webhook\",\"url\":\"http://x/\",\"signature\":\"cloudstack\"}", "needs a secret"},
      {"{\"type\":\"webhook\",\"url\":\"http://x/\",\"signature\":\"md5\"}", "signature:"},
      {"{\"type\":\"webhook\",\"url\":\"http://x/\",\"timeout_ms\":0}", "timeout_ms:"},
      {"{\"type\":\"webhook\",\"url\":\"http://x/\",\"tls_verify\":\"no\"}", "tls_verify:"},
      {"{\"type\":\"webhook\",\"url\":\"http://x/\",\"headers\":{\"A\":\"b\\r\\nX: y\"}}", "CR or LF"},
      {"{\"type\":\"webhook\",\"url\":\"http://x/\",\"headers\":{\"X-Eventd-Id\":\"1\"}}", "set by eventd"},
      {"{\"type\":\"webhook\",\"url\":\"http://x/\",\"headers\":{\"A B\":\"1\"}}", "not a valid header"},
      {"{\"type\":\"webhook\",\"url\":\"http://x/\",\"headers\":[]}", "headers:"},
  };
  arena a;
  arena_init(&a, 0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_error je;
    json_value *spec = json_parse(&a, cases[i].spec, strlen(cases[i].spec), 0, &je);
    ASSERT(spec != NULL);
    char err[256] = "";
    if (output_dest_webhook.check(spec, err, sizeof err) != -1 ||
        strstr(err, cases[i].err_part) == NULL)
      TEST_FAIL_("case %zu: got \"%s\", wanted \"%s\"", i, err, cases[i].err_part);
  }
  const char *good = "{\"name\":\"h\",\"type\":\"webhook\",\"match\":[\"a.#\"],\"url\":\"https://u:pw@x/in?a=b@c\","
                     "\"secret\":\"s\",\"signature\":\"cloudstack\",\"headers\":{\"Authorization\":\"B t\"},"
                     "\"timeout_ms\":500,\"tls_verify\":false,\"batch\":10}";
  json_error je;
  json_value *spec = json_parse(&a, good, strlen(good), 0, &je);
  char err[256] = "";
  ASSERT_EQ_INT(output_dest_webhook.check(spec, err, sizeof err), 0);
  buf d = BUF_INIT;
  ASSERT(output_dest_webhook.describe(spec, &d) == 0);
  ASSERT(strstr(d.data, "\"secret\":\"***\"") != NULL);
  ASSERT(strstr(d.data, "\"Authorization\":\"***\"") != NULL);
  ASSERT(strstr(d.data, "B t") == NULL);
  ASSERT(strstr(d.data, "\"url\":\"https://u:***@x/in?a=b@c\"") != NULL);
  buf_free(&d);
  arena_free(&a);
  return 0;
}

TEST_IMPL(dest_webhook_signs_and_maps_http_statuses) {
  http_script hs;
  hs_start(&hs, 5, 200, 503, 400, 429, 204);
  fake_env fe;
  fake_env_init(&fe);
  dest_msgs m;
  dest_msgs_init(&m, 3, "app.started");

  char spec_text[256];
  snprintf(spec_text, sizeof spec_text,
           "{\"name\":\"h\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:%d/in\","
           "\"secret\":\"s3cret\",\"headers\":{\"Authorization\":\"Bearer x\",\"X-Api-Version\":2}}",
           hs.port);
  arena a;
  arena_init(&a, 0);
  json_error je;
  json_value *spec = json_parse(&a, spec_text, strlen(spec_text), 0, &je);
  ASSERT(spec != NULL);
  void *st = NULL;
  char err[256];
  ASSERT(output_dest_webhook.open(spec, &fe.env, &st, err, sizeof err) == 0);

  /* Request 1 (200) confirms msg 0, request 2 (503) fails msg 1: RETRY with confirmed 1. */
  output_result res;
  output_dest_webhook.deliver(st, m.msgs, 3, &res);
  ASSERT_EQ_INT(res.status, OUTPUT_RETRY);
  ASSERT_EQ_INT(res.confirmed, 1);
  ASSERT_EQ_INT(res.code, 503);
  ASSERT_EQ_STR(res.error, "HTTP 503: answer5");
  ASSERT_EQ_INT(fe.attempts, 2);
  ASSERT_EQ_INT(fe.last.code, 503);
  ASSERT_EQ_INT(fe.last.ok, 0);
  ASSERT_EQ_STR(fe.last_response, "answer5");
  ASSERT_EQ_STR(fe.last_event_id, m.ids[1]); /* a C string holding exactly the id */

  /* Request 3 (400): REJECTED. */
  output_dest_webhook.deliver(st, &m.msgs[1], 2, &res);
  ASSERT_EQ_INT(res.status, OUTPUT_REJECTED);
  ASSERT_EQ_INT(res.confirmed, 0);
  /* Request 4 (429): RETRY; request 5 (204): OK. */
  output_dest_webhook.deliver(st, &m.msgs[1], 1, &res);
  ASSERT_EQ_INT(res.status, OUTPUT_RETRY);
  output_dest_webhook.deliver(st, &m.msgs[1], 1, &res);
  ASSERT_EQ_INT(res.status, OUTPUT_OK);
  ASSERT_EQ_INT(res.confirmed, 1);
  output_dest_webhook.close(st);
  hs_finish(&hs);
  ASSERT_EQ_INT(hs.nrequests, 5);
  ASSERT_EQ_INT(hs.connections, 1); /* keep-alive: one connection for all five */

  /* The first request: headers and a signature a receiver can verify. */
  const char *req = hs.requests[0];
  char v[256];
  ASSERT(strncmp(req, "POST /in HTTP/1.1\r\n", 19) == 0);
  ASSERT_EQ_STR(hs_header(req, "Content-Type", v, sizeof v), "application/json");
  ASSERT_EQ_STR(hs_header(req, "Authorization", v, sizeof v), "Bearer x");
  ASSERT_EQ_STR(hs_header(req, "X-Api-Version", v, sizeof v), "2");
  ASSERT_EQ_STR(hs_header(req, "X-Eventd-Id", v, sizeof v), m.ids[0]);
  ASSERT_EQ_STR(hs_header(req, "X-Eventd-Type", v, sizeof v), "app.started");
  const char *body = hs_body(req);
  ASSERT_EQ_MEM(body, strlen(body), m.jsons[0]);
  char ts[32];
  hs_header(req, "X-Eventd-Timestamp", ts, sizeof ts);
  ASSERT(strlen(ts) >= 10);
  char expect[160];
  ASSERT(eventd_signature("s3cret", 6, strtoll(ts, NULL, 10), body, strlen(body), expect,
                          sizeof expect) == 0);
  ASSERT_EQ_STR(hs_header(req, "X-Eventd-Signature", v, sizeof v), expect);
  ASSERT_EQ_STR(hs_header(hs.requests[1], "X-Eventd-Id", v, sizeof v), m.ids[1]);

  hs_free(&hs);
  dest_msgs_free(&m);
  arena_free(&a);
  return 0;
}

TEST_IMPL(dest_webhook_batch_sends_json_array_with_cloudstack_signature) {
  http_script hs;
  hs_start(&hs, 1, 200);
  fake_env fe;
  fake_env_init(&fe);
  dest_msgs m;
  dest_msgs_init(&m, 3, "vm.create");
  char spec_text[256];
  snprintf(spec_text, sizeof spec_text,
           "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:%d/\",\"secret\":\"k\","
           "\"signature\":\"cloudstack\",\"batch\":3}",
           hs.port);
  arena a;
  arena_init(&a, 0);
  json_error je;
  json_value *spec = json_parse(&a, spec_text, strlen(spec_text), 0, &je);
  void *st = NULL;
  char err[256];
  ASSERT(output_dest_webhook.open(spec, &fe.env, &st, err, sizeof err) == 0);
  output_result res;
  output_dest_webhook.deliver(st, m.msgs, 3, &res);
  ASSERT_EQ_INT(res.status, OUTPUT_OK);
  ASSERT_EQ_INT(res.confirmed, 3);
  ASSERT_EQ_INT(fe.attempts, 1);
  ASSERT_EQ_INT(fe.last.count, 3);
  ASSERT_EQ_U64(fe.last.first_seq, m.msgs[0].seq);
  ASSERT_EQ_U64(fe.last.last_seq, m.msgs[2].seq);
  output_dest_webhook.close(st);
  hs_finish(&hs);

  const char *req = hs.requests[0];
  char v[256];
  const char *body = hs_body(req);
  buf want = BUF_INIT;
  ASSERT(buf_printf(&want, "[%s,%s,%s]", m.jsons[0], m.jsons[1], m.jsons[2]) == 0);
  ASSERT_EQ_STR(body, want.data);
  ASSERT_EQ_STR(hs_header(req, "X-Eventd-Count", v, sizeof v), "3");
  ASSERT_EQ_STR(hs_header(req, "X-Eventd-Id", v, sizeof v), m.ids[0]);
  ASSERT_EQ_STR(hs_header(req, "X-CS-Event-ID", v, sizeof v), m.ids[0]);
  ASSERT_EQ_STR(hs_header(req, "X-CS-Event", v, sizeof v), "vm.create");
  const void *parts[1] = {body};
  size_t lens[1] = {strlen(body)};
  unsigned char mac[HMAC_SHA256_LEN];
  ASSERT(hmac_sha256("k", 1, parts, lens, 1, mac) == 0);
  buf b64 = BUF_INIT;
  ASSERT(base64_append(&b64, mac, sizeof mac) == 0);
  ASSERT_EQ_STR(hs_header(req, "X-CS-Signature", v, sizeof v), b64.data);
  buf_free(&b64);
  buf_free(&want);
  hs_free(&hs);
  dest_msgs_free(&m);
  arena_free(&a);
  return 0;
}

TEST_IMPL(dest_webhook_connection_refused_is_retry_with_curl_error) {
  /* A port nobody listens on: bind, read the port, close. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ASSERT(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
  socklen_t sl = sizeof sa;
  ASSERT(getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
  int port = ntohs(sa.sin_port);
  close(fd);
  fake_env fe;
  fake_env_init(&fe);
  dest_msgs m;
  dest_msgs_init(&m, 1, "t");
  char spec_text[160];
  snprintf(spec_text, sizeof spec_text,
           "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:%d/\",\"timeout_ms\":2000}", port);
  arena a;
  arena_init(&a, 0);
  json_error je;
  json_value *spec = json_parse(&a, spec_text, strlen(spec_text), 0, &je);
  void *st = NULL;
  char err[256];
  ASSERT(output_dest_webhook.open(spec, &fe.env, &st, err, sizeof err) == 0);
  output_result res;
  output_dest_webhook.deliver(st, m.msgs, 1, &res);
  ASSERT_EQ_INT(res.status, OUTPUT_RETRY);
  ASSERT_EQ_INT(res.confirmed, 0);
  ASSERT_EQ_INT(res.code, 0);
  ASSERT(strstr(res.error, "onnect") != NULL);
  ASSERT_EQ_INT(fe.attempts, 1);
  ASSERT(fe.last_error[0] != '\0');
  output_dest_webhook.close(st);
  dest_msgs_free(&m);
  arena_free(&a);
  return 0;
}

/* A server that accepts one connection, reads the request and never answers. */
typedef struct silent_server {
  int listen_fd, port, conn_fd;
  pthread_t thread;
} silent_server;

static void *silent_main(void *arg) {
  silent_server *ss = arg;
  ss->conn_fd = accept(ss->listen_fd, NULL, NULL);
  return NULL;
}

static void *stop_later(void *arg) {
  fake_env *fe = arg;
  usleep(300 * 1000);
  __atomic_store_n(&fe->stop, 1, __ATOMIC_RELEASE);
  return NULL;
}

TEST_IMPL(dest_webhook_request_is_abandoned_when_output_stops) {
  silent_server ss = {.conn_fd = -1};
  ss.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ASSERT(bind(ss.listen_fd, (struct sockaddr *)&sa, sizeof sa) == 0);
  ASSERT(listen(ss.listen_fd, 1) == 0);
  socklen_t sl = sizeof sa;
  ASSERT(getsockname(ss.listen_fd, (struct sockaddr *)&sa, &sl) == 0);
  ss.port = ntohs(sa.sin_port);
  ASSERT(pthread_create(&ss.thread, NULL, silent_main, &ss) == 0);

  fake_env fe;
  fake_env_init(&fe);
  dest_msgs m;
  dest_msgs_init(&m, 1, "t");
  char spec_text[160];
  snprintf(spec_text, sizeof spec_text,
           "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:%d/\",\"timeout_ms\":60000}", ss.port);
  arena a;
  arena_init(&a, 0);
  json_error je;
  json_value *spec = json_parse(&a, spec_text, strlen(spec_text), 0, &je);
  void *st = NULL;
  char err[256];
  ASSERT(output_dest_webhook.open(spec, &fe.env, &st, err, sizeof err) == 0);
  pthread_t stopper;
  ASSERT(pthread_create(&stopper, NULL, stop_later, &fe) == 0);
  time_t t0 = time(NULL);
  output_result res;
  output_dest_webhook.deliver(st, m.msgs, 1, &res);
  /* Returned because of stopping, far before the 60 s request timeout. */
  ASSERT(time(NULL) - t0 < 30);
  ASSERT_EQ_INT(res.status, OUTPUT_RETRY);
  ASSERT_EQ_INT(res.confirmed, 0);
  ASSERT(strstr(res.error, "callback") != NULL);
  pthread_join(stopper, NULL);
  output_dest_webhook.close(st);
  pthread_join(ss.thread, NULL);
  if (ss.conn_fd >= 0) close(ss.conn_fd);
  close(ss.listen_fd);
  dest_msgs_free(&m);
  arena_free(&a);
  return 0;
}
