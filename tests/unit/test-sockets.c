/* Unit tests of the socket inputs' access control (issue 7): forward users with a tenant
 * ("user:password:tenant") and which user a PING authenticated; the token lookup by name
 * that client certificates use (auth_db_find_by_name). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "inputs/forward/forward_auth.h"
#include "server/auth.h"
#include "test.h"

static void put(buf *b, const void *p, size_t n) { ASSERT(buf_append(b, p, n) == 0); }
static void put_byte(buf *b, uint8_t c) { put(b, &c, 1); }
static void put_str(buf *b, const char *s, size_t n) {
  ASSERT(n < 256);
  if (n < 32) put_byte(b, (uint8_t)(0xa0 | n));
  else put_byte(b, 0xd9), put_byte(b, (uint8_t)n);
  put(b, s, n);
}

/* A PING for hs from user:password with shared key "key". */
static void make_ping(buf *ping, const fwd_handshake *hs, const char *user, const char *pw) {
  char d1[129], d2[129];
  const char *salt = "saltsalt", *host = "client";
  const void *p1[4] = {salt, host, hs->nonce, "key"};
  size_t l1[4] = {8, 6, 16, 3};
  fwd_sha512_hex(p1, l1, 4, d1);
  const void *p2[3] = {hs->salt, user, pw};
  size_t l2[3] = {16, strlen(user), strlen(pw)};
  fwd_sha512_hex(p2, l2, 3, d2);
  put_byte(ping, 0x96);
  put_str(ping, "PING", 4), put_str(ping, host, 6), put_str(ping, salt, 8);
  put_str(ping, d1, 128), put_str(ping, user, strlen(user)), put_str(ping, d2, 128);
}

TEST_IMPL(forward_users_carry_an_optional_tenant_and_the_ping_names_the_user) {
  fwd_auth au;
  char err[256];
  ASSERT_EQ_INT(fwd_auth_init(&au, "key", "alice:pw:acme/eu,bob:pw2,carol:pa:ss:", "srv", err,
                              sizeof err), 0);
  ASSERT_EQ_INT((int)au.nusers, 3);
  ASSERT_EQ_STR(au.user_list[0].name, "alice");
  ASSERT_EQ_STR(au.user_list[0].password, "pw");
  ASSERT_EQ_STR(au.user_list[0].tenant, "acme/eu");
  ASSERT_EQ_STR(au.user_list[1].password, "pw2");
  ASSERT(au.user_list[1].tenant == NULL);
  ASSERT_EQ_STR(au.user_list[2].password, "pa:ss"); /* the last ':' separates the tenant */
  ASSERT(au.user_list[2].tenant == NULL);           /* empty: the listener's */
  const char *who[3][2] = {{"alice", "pw"}, {"bob", "pw2"}, {"carol", "pa:ss"}};
  for (long i = 0; i < 3; i++) {
    fwd_handshake hs;
    buf helo = BUF_INIT, ping = BUF_INIT, pong = BUF_INIT;
    ASSERT_EQ_INT(fwd_auth_helo(&au, &hs, &helo), 0);
    make_ping(&ping, &hs, who[i][0], who[i][1]);
    long user = -2;
    ASSERT_EQ_INT(fwd_auth_check_ping_user(&au, &hs, (const uint8_t *)ping.data, ping.len, &pong,
                                           &user, err, sizeof err), 1);
    ASSERT_EQ_INT((int)user, (int)i);
    buf_free(&helo), buf_free(&ping), buf_free(&pong);
  }
  { /* a wrong password authenticates nobody */
    fwd_handshake hs;
    buf helo = BUF_INIT, ping = BUF_INIT, pong = BUF_INIT;
    ASSERT_EQ_INT(fwd_auth_helo(&au, &hs, &helo), 0);
    make_ping(&ping, &hs, "alice", "pw:acme/eu");
    long user = -2;
    ASSERT_EQ_INT(fwd_auth_check_ping_user(&au, &hs, (const uint8_t *)ping.data, ping.len, &pong,
                                           &user, err, sizeof err), 0);
    ASSERT_EQ_INT((int)user, -1);
    buf_free(&helo), buf_free(&ping), buf_free(&pong);
  }
  fwd_auth_free(&au);
  ASSERT_EQ_INT(fwd_auth_init(&au, "key", "u:p:a//b", NULL, err, sizeof err), -1);
  ASSERT(strstr(err, "'a//b' is not a tenant path") != NULL);
  ASSERT_EQ_INT(fwd_auth_init(&au, "key", "u:p,:x", NULL, err, sizeof err), -1);
  ASSERT(strstr(err, "forward.users") != NULL);
  return 0;
}

TEST_IMPL(auth_db_find_by_name_sees_active_tokens_only_and_refuses_ambiguity) {
  char *dir = test_tmpdir();
  auth_db *db;
  const char *boot;
  char err[512];
  ASSERT_EQ_INT(auth_db_open(dir, &db, &boot, err, sizeof err), 0);
  auth_principal admin = {.role = AUTH_ROLE_ADMIN};
  auth_principal spec = {.role = AUTH_ROLE_INGEST};
  snprintf(spec.name, sizeof spec.name, "shipper-01");
  snprintf(spec.tenant, sizeof spec.tenant, "acme/eu");
  char tok[AUTH_TOKEN_LEN + 1];
  auth_token_info info;
  ASSERT_EQ_INT(auth_db_create(db, &admin, &spec, 1, tok, &info, err, sizeof err), 0);
  auth_principal got;
  ASSERT_EQ_INT(auth_db_find_by_name(db, "shipper-01", &got), 0);
  ASSERT_EQ_STR(got.tenant, "acme/eu");
  ASSERT_EQ_INT(got.role, AUTH_ROLE_INGEST);
  ASSERT_EQ_INT(auth_db_find_by_name(db, "shipper-0", &got), -1);
  ASSERT_EQ_INT(auth_db_find_by_name(db, "bootstrap-admin", &got), 0);
  /* a second active token of the same name: ambiguous */
  auth_token_info info2;
  ASSERT_EQ_INT(auth_db_create(db, &admin, &spec, 2, tok, &info2, err, sizeof err), 0);
  ASSERT_EQ_INT(auth_db_find_by_name(db, "shipper-01", &got), -2);
  /* revoked ones are not found */
  ASSERT_EQ_INT(auth_db_revoke(db, &admin, info2.p.id, err, sizeof err), 0);
  ASSERT_EQ_INT(auth_db_find_by_name(db, "shipper-01", &got), 0);
  ASSERT_EQ_INT(auth_db_revoke(db, &admin, info.p.id, err, sizeof err), 0);
  ASSERT_EQ_INT(auth_db_find_by_name(db, "shipper-01", &got), -1);
  auth_db_close(db);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

/* ---- sock_guard: allow lists, rate budget, deadlines (a server with only cfg/log/metrics) -- */

#include <arpa/inet.h>
#include <netinet/in.h>

#include "inputs/sock_guard.h"
#include "server/server.h"

static server *guard_server(void) {
  server *s = calloc(1, sizeof *s);
  ASSERT(s != NULL);
  config_init(&s->cfg);
  log_init(&s->log, LOG_ERROR);
  return s;
}

static void guard_server_free(server *s) {
  config_free(&s->cfg);
  free(s);
}

/* 1 if text (IPv4 or IPv6 address) may connect through g. */
static int allowed(sock_guard *g, const char *text) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (strchr(text, ':')) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    ASSERT(inet_pton(AF_INET6, text, &a->sin6_addr) == 1);
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    ASSERT(inet_pton(AF_INET, text, &a->sin_addr) == 1);
  }
  return sock_guard_allowed(g, (struct sockaddr *)&ss, text, 0);
}

TEST_IMPL(sock_guard_allow_lists_match_ipv4_ipv6_and_mapped_peers) {
  server *s = guard_server();
  char err[256];
  s->cfg.lines_allow = strdup("10.0.0.0/8, 127.0.0.1,::1/128,2001:db8::/32,192.168.1.128/25");
  sock_guard *g = sock_guard_new(s, INGEST_INPUT_LINES, "lines", err, sizeof err);
  ASSERT(g != NULL);
  ASSERT_EQ_INT(allowed(g, "10.1.2.3"), 1);
  ASSERT_EQ_INT(allowed(g, "11.0.0.1"), 0);
  ASSERT_EQ_INT(allowed(g, "127.0.0.1"), 1);
  ASSERT_EQ_INT(allowed(g, "127.0.0.2"), 0);
  ASSERT_EQ_INT(allowed(g, "192.168.1.200"), 1);
  ASSERT_EQ_INT(allowed(g, "192.168.1.127"), 0);
  ASSERT_EQ_INT(allowed(g, "::1"), 1);
  ASSERT_EQ_INT(allowed(g, "::2"), 0);
  ASSERT_EQ_INT(allowed(g, "::ffff:10.9.9.9"), 1); /* IPv4-mapped matches 10.0.0.0/8 */
  ASSERT_EQ_INT(allowed(g, "::ffff:12.0.0.1"), 0);
  ASSERT_EQ_INT(allowed(g, "2001:db8:1::5"), 1);
  ASSERT_EQ_INT(allowed(g, "2001:db9::1"), 0);
  ASSERT_EQ_U64(s->m.input_closed[INGEST_INPUT_LINES][SOCK_CLOSE_REFUSED], 6);
  sock_guard_free(g);
  /* no list: everyone */
  free(s->cfg.lines_allow);
  s->cfg.lines_allow = NULL;
  g = sock_guard_new(s, INGEST_INPUT_LINES, "lines", err, sizeof err);
  ASSERT(g != NULL);
  ASSERT_EQ_INT(allowed(g, "203.0.113.9"), 1);
  sock_guard_free(g);
  /* bad entries name the setting */
  const char *bad[] = {"10.0.0.0/33", "::1/129", "example.com", "10.0.0.0/8,", "1.2.3.4/", ",1.2.3.4",
                       "1.2.3.4/x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    s->cfg.lines_allow = strdup(bad[i]);
    err[0] = '\0';
    ASSERT(sock_guard_new(s, INGEST_INPUT_LINES, "lines", err, sizeof err) == NULL);
    ASSERT(strstr(err, "lines.allow") != NULL);
    free(s->cfg.lines_allow);
    s->cfg.lines_allow = NULL;
  }
  s->cfg.lines_tenant = strdup("a//b");
  ASSERT(sock_guard_new(s, INGEST_INPUT_LINES, "lines", err, sizeof err) == NULL);
  ASSERT(strstr(err, "lines.tenant") != NULL);
  guard_server_free(s);
  return 0;
}

TEST_IMPL(sock_guard_rate_budget_and_deadlines) {
  server *s = guard_server();
  char err[256];
  s->cfg.socket_rate_per_peer = 10;
  s->cfg.socket_idle_timeout_ns = 3000000000LL;
  s->cfg.socket_frame_timeout_ns = 1000000000LL;
  s->cfg.syslog_tenant = strdup("acme/eu");
  sock_guard *g = sock_guard_new(s, INGEST_INPUT_SYSLOG, "syslog", err, sizeof err);
  ASSERT(g != NULL);
  ASSERT(sock_guard_principal(g) == NULL); /* auth off: no checks */
  ASSERT_EQ_STR(sock_guard_tenant(g), "acme/eu");
  int64_t t = 1000000000000LL;
  ASSERT_EQ_INT(sock_guard_rate_on(g), 1);
  for (int i = 0; i < 10; i++) ASSERT_EQ_INT((int)sock_guard_take(g, "10.0.0.1", t), 0);
  int64_t w = sock_guard_take(g, "10.0.0.1", t);
  ASSERT(w > 0 && w <= 100001000); /* one event at 10/s: ~100 ms */
  ASSERT_EQ_INT((int)sock_guard_take(g, "10.0.0.2", t), 0); /* another peer: its own budget */
  ASSERT_EQ_INT((int)sock_guard_take(g, "10.0.0.1", t + w), 0);
  /* deadlines */
  sock_clock k;
  sock_clock_start(&k, t, 0);
  ASSERT_EQ_INT(sock_guard_deadline(g, &k, t + 2000000000LL), -1);
  ASSERT_EQ_INT(sock_guard_deadline(g, &k, t + 3000000000LL), SOCK_CLOSE_IDLE);
  sock_clock_bytes(&k, t + 2500000000LL);
  sock_clock_frame(&k, t + 2500000000LL, 5, 0); /* an incomplete frame starts */
  ASSERT_EQ_INT(sock_guard_deadline(g, &k, t + 3000000000LL), -1);
  sock_clock_bytes(&k, t + 3400000000LL);
  sock_clock_frame(&k, t + 3400000000LL, 6, 0); /* a byte more: the frame keeps its start */
  ASSERT_EQ_INT(sock_guard_deadline(g, &k, t + 3500000000LL), SOCK_CLOSE_SLOW);
  sock_clock_frame(&k, t + 3450000000LL, 2, 1); /* a frame completed: the rest starts now */
  ASSERT_EQ_INT(sock_guard_deadline(g, &k, t + 3500000000LL), -1);
  sock_clock_frame(&k, t + 3450000000LL, 0, 1); /* nothing left: no frame clock */
  ASSERT_EQ_INT(k.frame_start_ns, 0);
  sock_clock_start(&k, t, 1); /* TLS: the handshake is a frame from the accept */
  ASSERT_EQ_INT(sock_guard_deadline(g, &k, t + 1000000000LL), SOCK_CLOSE_SLOW);
  sock_guard_free(g);
  guard_server_free(s);
  return 0;
}
