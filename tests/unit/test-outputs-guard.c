/* Unit tests of the outputs' SSRF guard (src/outputs/netguard.c) and the type rule setting
 * outputs.tenant_types (src/outputs/outputs.c), issue 7. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/json.h"
#include "outputs/netguard.h"
#include "outputs/output.h"
#include "outputs/outputs.h"
#include "test-dest-util.h"
#include "test.h"

/* The class of a literal address (v4 or v6). */
static netguard_class class_of(const char *text) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
  } else {
    ASSERT(inet_pton(AF_INET6, text, &s6->sin6_addr) == 1);
    s6->sin6_family = AF_INET6;
  }
  return netguard_classify((const struct sockaddr *)&ss);
}

TEST_IMPL(outputs_guard_classifies_every_local_range) {
  static const struct {
    const char *addr;
    netguard_class want;
  } cases[] = {
      {"127.0.0.1", NETGUARD_LOOPBACK},        {"127.255.255.254", NETGUARD_LOOPBACK},
      {"::1", NETGUARD_LOOPBACK},              {"::ffff:127.0.0.1", NETGUARD_LOOPBACK},
      {"10.0.0.5", NETGUARD_PRIVATE},          {"10.255.255.255", NETGUARD_PRIVATE},
      {"172.16.0.1", NETGUARD_PRIVATE},        {"172.31.255.255", NETGUARD_PRIVATE},
      {"192.168.1.1", NETGUARD_PRIVATE},       {"fc00::1", NETGUARD_PRIVATE},
      {"fdff:ffff::1", NETGUARD_PRIVATE},      {"::ffff:10.1.2.3", NETGUARD_PRIVATE},
      {"169.254.169.254", NETGUARD_LINK_LOCAL}, {"fe80::1", NETGUARD_LINK_LOCAL},
      {"febf::1", NETGUARD_LINK_LOCAL},        {"::ffff:169.254.0.1", NETGUARD_LINK_LOCAL},
      {"0.0.0.0", NETGUARD_UNSPECIFIED},       {"0.1.2.3", NETGUARD_UNSPECIFIED},
      {"::", NETGUARD_UNSPECIFIED},
      {"100.64.0.1", NETGUARD_PRIVATE},        {"100.127.255.255", NETGUARD_PRIVATE},
      {"64:ff9b::127.0.0.1", NETGUARD_LOOPBACK}, {"64:ff9b::10.0.0.1", NETGUARD_PRIVATE},
      {"64:ff9b::8.8.8.8", NETGUARD_PUBLIC},   {"100.63.255.255", NETGUARD_PUBLIC},
      {"100.128.0.0", NETGUARD_PUBLIC},
      /* just outside each range */
      {"172.15.255.255", NETGUARD_PUBLIC},     {"172.32.0.0", NETGUARD_PUBLIC},
      {"192.167.255.255", NETGUARD_PUBLIC},    {"192.169.0.0", NETGUARD_PUBLIC},
      {"169.253.255.255", NETGUARD_PUBLIC},    {"11.0.0.1", NETGUARD_PUBLIC},
      {"126.255.255.255", NETGUARD_PUBLIC},    {"128.0.0.1", NETGUARD_PUBLIC},
      {"8.8.8.8", NETGUARD_PUBLIC},            {"fbff::1", NETGUARD_PUBLIC},
      {"fe00::1", NETGUARD_PUBLIC},            {"::2", NETGUARD_PUBLIC},
      {"2001:db8::1", NETGUARD_PUBLIC},        {"::ffff:8.8.8.8", NETGUARD_PUBLIC},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    netguard_class got = class_of(cases[i].addr);
    if (got != cases[i].want)
      fprintf(stderr, "%s: got %s, want %s\n", cases[i].addr, netguard_class_name(got),
              netguard_class_name(cases[i].want));
    ASSERT_EQ_STR(netguard_class_name(got), netguard_class_name(cases[i].want));
  }
  return 0;
}

TEST_IMPL(outputs_guard_message_names_address_tenant_and_setting) {
  output_guard g = {.owner = "acme", .allow_local = 0};
  char err[512];
  ASSERT(output_guard_check_host(&g, "url", "10.0.0.5", 8, 80, err, sizeof err) == -1);
  ASSERT_EQ_STR(err, "url: 10.0.0.5 is a private address; outputs of tenant acme may not reach "
                     "the local network (outputs.allow_local_targets)");
  ASSERT(output_guard_check_host(&g, "url", "[::ffff:127.0.0.1]", 18, 80, err, sizeof err) == -1);
  ASSERT(strstr(err, "is a loopback address") != NULL);
  /* the short forms a resolver accepts are literals too */
  ASSERT(output_guard_check_host(&g, "url", "127.1", 5, 80, err, sizeof err) == -1);
  ASSERT(strstr(err, "127.0.0.1 is a loopback address") != NULL);
  ASSERT(output_guard_check_host(&g, "url", "0", 1, 80, err, sizeof err) == -1);
  ASSERT(strstr(err, "0.0.0.0 is an unspecified address") != NULL);
  /* names and public addresses pass; names are checked at connect time */
  ASSERT(output_guard_check_host(&g, "url", "localhost", 9, 80, err, sizeof err) == 0);
  ASSERT(output_guard_check_host(&g, "url", "8.8.8.8", 7, 80, err, sizeof err) == 0);
  /* allow_local lets local addresses through; no guard (root) allows everything */
  g.allow_local = 1;
  ASSERT(output_guard_check_host(&g, "url", "10.0.0.5", 8, 80, err, sizeof err) == 0);
  ASSERT(output_guard_check_host(NULL, "url", "127.0.0.1", 9, 80, err, sizeof err) == 0);
  return 0;
}

TEST_IMPL(outputs_guard_url_host_parsing) {
  const char *h;
  size_t n;
  int port;
  ASSERT(netguard_url_host("http://u:p@[::1]:8080/x?y", &h, &n, &port) == 0);
  ASSERT_EQ_MEM(h, n, "[::1]");
  ASSERT_EQ_INT(port, 8080);
  ASSERT(netguard_url_host("https://hooks.example.com/a@b", &h, &n, &port) == 0);
  ASSERT_EQ_MEM(h, n, "hooks.example.com");
  ASSERT_EQ_INT(port, 0);
  ASSERT(netguard_url_host("amqp://guest:guest@10.0.0.5:5672/", &h, &n, &port) == 0);
  ASSERT_EQ_MEM(h, n, "10.0.0.5");
  ASSERT_EQ_INT(port, 5672);
  ASSERT(netguard_url_host("no-scheme", &h, &n, &port) == -1);
  return 0;
}

/* A listening TCP socket on 127.0.0.1 (non-blocking); *port gets its port. */
static int listen_loopback(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT(fd >= 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
  ASSERT(listen(fd, 8) == 0);
  socklen_t len = sizeof a;
  ASSERT(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
  *port = ntohs(a.sin_port);
  ASSERT(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
  return fd;
}

TEST_IMPL(outputs_guard_own_listener_refused_even_with_allow_local) {
  int port;
  int fd = listen_loopback(&port); /* a listener of this very process, port picked by the kernel */
  output_guard g = {.owner = "acme", .allow_local = 1};
  char err[512];
  ASSERT(output_guard_check_host(&g, "url", "127.0.0.1", 9, port, err, sizeof err) == -1);
  ASSERT(strstr(err, "one of eventd's own listeners") != NULL);
  ASSERT(strstr(err, "tenant acme") != NULL);
  /* 0.0.0.0 reaches the host itself on Linux: the same listener */
  ASSERT(output_guard_check_host(&g, "url", "0.0.0.0", 7, port, err, sizeof err) == -1);
  close(fd);
  /* closed: nobody of ours listens there any more */
  ASSERT(output_guard_check_host(&g, "url", "127.0.0.1", 9, port, err, sizeof err) == 0);
  /* a configured listener ("HOST:PORT"), wildcard address: any local address on its port */
  const char *listen[] = {"0.0.0.0:18999", "off", "[::1]:0"};
  netguard_listener *ls;
  size_t nls;
  ASSERT(netguard_listeners_resolve(listen, 3, &ls, &nls) == 0);
  ASSERT_EQ_INT((int)nls, 1);
  g.listeners = ls;
  g.nlisteners = nls;
  ASSERT(output_guard_check_host(&g, "url", "127.0.0.7", 9, 18999, err, sizeof err) == -1);
  ASSERT(output_guard_check_host(&g, "url", "127.0.0.7", 9, 18998, err, sizeof err) == 0);
  free(ls);
  return 0;
}

/* Serve one HTTP request with 200 on fd in a child process (so the listener is not one of
 * this process's own, which the guard would refuse). Returns the child's pid. */
static pid_t serve_one_in_child(int fd) {
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    alarm(20);
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    int c = accept(fd, NULL, NULL);
    if (c < 0) _exit(1);
    char req[8192];
    size_t len = 0;
    while (len < sizeof req - 1) {
      ssize_t r = read(c, req + len, sizeof req - 1 - len);
      if (r <= 0) _exit(2);
      len += (size_t)r;
      req[len] = '\0';
      char *e = strstr(req, "\r\n\r\n");
      char *cl = strcasestr(req, "Content-Length:");
      if (e && cl && len >= (size_t)(e - req) + 4 + strtoul(cl + 15, NULL, 10)) break;
    }
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    if (write(c, ok, sizeof ok - 1) != (ssize_t)(sizeof ok - 1)) _exit(3);
    close(c);
    _exit(0);
  }
  close(fd);
  return pid;
}

TEST_IMPL(outputs_guard_webhook_refuses_localhost_at_connect) {
  int port;
  int fd = listen_loopback(&port);
  pid_t child = serve_one_in_child(fd); /* answers the one request that gets through */
  char spec_text[256];
  snprintf(spec_text, sizeof spec_text, "{\"name\":\"h\",\"type\":\"webhook\",\"url\":"
           "\"http://localhost:%d/hook\",\"timeout_ms\":5000}", port);
  arena a;
  arena_init(&a, 4096);
  json_error je;
  const json_value *spec = json_parse(&a, spec_text, strlen(spec_text), 8, &je);
  ASSERT(spec != NULL);
  output_guard g = {.owner = "acme", .allow_local = 0};
  fake_env fe;
  fake_env_init(&fe);
  fe.env.guard = &g;
  char err[256];
  /* a name is not refused up front ... */
  ASSERT(output_dest_webhook.check_targets(spec, &g, err, sizeof err) == 0);
  void *state = NULL;
  ASSERT(output_dest_webhook.open(spec, &fe.env, &state, err, sizeof err) == 0);
  dest_msgs m;
  dest_msgs_init(&m, 1, "t.guard");
  output_result res;
  memset(&res, 0, sizeof res);
  output_dest_webhook.deliver(state, m.msgs, 1, &res);
  /* ... but where it resolves to is, before connecting (had it connected, the child would
   * have answered 200 and this would be OUTPUT_OK) */
  ASSERT_EQ_INT(res.status, OUTPUT_RETRY);
  ASSERT_EQ_INT((int)res.confirmed, 0);
  ASSERT(strstr(res.error, "is a loopback address; outputs of tenant acme may not reach the "
                           "local network (outputs.allow_local_targets)") != NULL);
  ASSERT_EQ_INT(fe.attempts, 1);
  ASSERT(strstr(fe.last_error, "loopback") != NULL);
  output_dest_webhook.close(state);
  /* with allow_local the same output gets through */
  g.allow_local = 1;
  ASSERT(output_dest_webhook.open(spec, &fe.env, &state, err, sizeof err) == 0);
  memset(&res, 0, sizeof res);
  output_dest_webhook.deliver(state, m.msgs, 1, &res);
  if (res.status != OUTPUT_OK) fprintf(stderr, "allow_local: %s\n", res.error);
  ASSERT_EQ_INT(res.status, OUTPUT_OK);
  ASSERT_EQ_INT(res.code, 200);
  output_dest_webhook.close(state);
  int st = -1;
  ASSERT(waitpid(child, &st, 0) == child);
  ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  dest_msgs_free(&m);
  arena_free(&a);
  return 0;
}

TEST_IMPL(outputs_tenant_types_refuses_file_and_stdout) {
  char err[512];
  ASSERT(outputs_tenant_types_check(OUTPUTS_TENANT_TYPES_DEFAULT, err, sizeof err) == 0);
  ASSERT(outputs_tenant_types_check("webhook", err, sizeof err) == 0);
  ASSERT(outputs_tenant_types_check("none", err, sizeof err) == 0);
  ASSERT(outputs_tenant_types_check("webhook,file", err, sizeof err) == -1);
  ASSERT(strstr(err, "'file' cannot be given to tenants") != NULL);
  ASSERT(strstr(err, "only admins may create one") != NULL);
  ASSERT(outputs_tenant_types_check("stdout", err, sizeof err) == -1);
  ASSERT(outputs_tenant_types_check("webhook,ftp", err, sizeof err) == -1);
  ASSERT(strstr(err, "unknown output type 'ftp'") != NULL);
  ASSERT(outputs_tenant_types_check(",", err, sizeof err) == -1);
  return 0;
}

/* dest_amqp: "amqp://host/" means vhost "" (AMQP URI spec); a failed connection says so. */
TEST_IMPL(outputs_amqp_url_slash_error_names_empty_vhost) {
  int port;
  int fd = listen_loopback(&port);
  close(fd); /* nobody listens there now: the connect is refused */
  char spec_text[256];
  snprintf(spec_text, sizeof spec_text, "{\"name\":\"a\",\"type\":\"amqp\",\"url\":"
           "\"amqp://guest:guest@127.0.0.1:%d/\",\"timeout_ms\":1000}", port);
  arena a;
  arena_init(&a, 4096);
  json_error je;
  const json_value *spec = json_parse(&a, spec_text, strlen(spec_text), 8, &je);
  ASSERT(spec != NULL);
  fake_env fe;
  fake_env_init(&fe);
  char err[256];
  void *state = NULL;
  ASSERT(output_dest_amqp.open(spec, &fe.env, &state, err, sizeof err) == 0);
  dest_msgs m;
  dest_msgs_init(&m, 1, "t.vhost");
  output_result res;
  memset(&res, 0, sizeof res);
  output_dest_amqp.deliver(state, m.msgs, 1, &res);
  ASSERT_EQ_INT(res.status, OUTPUT_RETRY);
  ASSERT(strstr(res.error, "vhost '' (url ends in '/'; the default vhost '/' is written %2f)") !=
         NULL);
  output_dest_amqp.close(state);
  /* %2f is the default vhost "/", named as such */
  snprintf(spec_text, sizeof spec_text, "{\"name\":\"a\",\"type\":\"amqp\",\"url\":"
           "\"amqp://guest:guest@127.0.0.1:%d/%%2f\",\"timeout_ms\":1000}", port);
  spec = json_parse(&a, spec_text, strlen(spec_text), 8, &je);
  ASSERT(spec != NULL);
  ASSERT(output_dest_amqp.open(spec, &fe.env, &state, err, sizeof err) == 0);
  memset(&res, 0, sizeof res);
  output_dest_amqp.deliver(state, m.msgs, 1, &res);
  ASSERT(strstr(res.error, "[vhost '/']") != NULL);
  output_dest_amqp.close(state);
  dest_msgs_free(&m);
  arena_free(&a);
  return 0;
}
