/* tls: shared server TLS contexts (src/server/tls.h). Certificates are made with the openssl
 * CLI in a temporary directory. */
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/tls.h"
#include "test.h"

/* Make a self-signed EC certificate CN=cn as dir/name.pem + dir/name.key. Returns 0 or -1. */
static int make_cert(const char *dir, const char *name, const char *cn) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
           "-subj /CN=%s -keyout %s/%s.key -out %s/%s.pem >/dev/null 2>&1",
           cn, dir, name, dir, name);
  return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t n, const char *dir, const char *file) {
  snprintf(out, n, "%s/%s", dir, file);
}

static int copy_file(const char *from, const char *to) {
  char cmd[2048];
  if ((size_t)snprintf(cmd, sizeof cmd, "cp %s %s", from, to) >= sizeof cmd) return -1;
  return system(cmd) == 0 ? 0 : -1;
}

TEST_IMPL(tls_settings_go_together) {
  char err[256];
  ASSERT_EQ_INT(evd_tls_configured("http.tls", NULL, NULL, NULL, err, sizeof err), 0);
  ASSERT_EQ_INT(evd_tls_configured("http.tls", "", "", "", err, sizeof err), 0);
  ASSERT_EQ_INT(evd_tls_configured("http.tls", "c.pem", "k.pem", NULL, err, sizeof err), 1);
  ASSERT_EQ_INT(evd_tls_configured("http.tls", "c.pem", NULL, NULL, err, sizeof err), -1);
  ASSERT(strstr(err, "http.tls.cert and http.tls.key go together: http.tls.cert is set") != NULL);
  ASSERT_EQ_INT(evd_tls_configured("grpc.tls", NULL, NULL, "ca.pem", err, sizeof err), -1);
  ASSERT(strstr(err, "grpc.tls.client_ca needs grpc.tls.cert") != NULL);
  return 0;
}

TEST_IMPL(tls_new_names_the_setting_and_file_that_cannot_be_used) {
  char *dir = test_tmpdir();
  char cert[512], key[512], missing[512], err[512];
  ASSERT_EQ_INT(make_cert(dir, "a", "one"), 0);
  path_of(cert, sizeof cert, dir, "a.pem");
  path_of(key, sizeof key, dir, "a.key");
  path_of(missing, sizeof missing, dir, "nope.pem");
  evd_tls_options o = {.prefix = "http.tls", .cert = missing, .key = key};
  ASSERT(evd_tls_new(&o, err, sizeof err) == NULL);
  ASSERT(strstr(err, "http.tls.cert: cannot open") != NULL && strstr(err, "nope.pem") != NULL);
  o.cert = cert;
  o.key = cert; /* a certificate is not a key */
  ASSERT(evd_tls_new(&o, err, sizeof err) == NULL);
  ASSERT(strstr(err, "http.tls.key: cannot use") != NULL);
  o.key = key;
  o.client_ca = missing;
  ASSERT(evd_tls_new(&o, err, sizeof err) == NULL);
  ASSERT(strstr(err, "http.tls.client_ca: cannot open") != NULL);
  o.client_ca = cert; /* self-signed: its own CA */
  evd_tls *t = evd_tls_new(&o, err, sizeof err);
  ASSERT(t != NULL);
  ASSERT_EQ_INT(evd_tls_mtls(t), 1);
  evd_tls_free(t);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(tls_reload_swaps_the_certificate_and_keeps_the_old_one_on_failure) {
  char *dir = test_tmpdir();
  char cert[512], key[512], b_cert[512], b_key[512], err[512], cn[64];
  ASSERT_EQ_INT(make_cert(dir, "a", "first"), 0);
  ASSERT_EQ_INT(make_cert(dir, "b", "second"), 0);
  path_of(cert, sizeof cert, dir, "live.pem");
  path_of(key, sizeof key, dir, "live.key");
  path_of(b_cert, sizeof b_cert, dir, "b.pem");
  path_of(b_key, sizeof b_key, dir, "b.key");
  char a_cert[512], a_key[512];
  path_of(a_cert, sizeof a_cert, dir, "a.pem");
  path_of(a_key, sizeof a_key, dir, "a.key");
  ASSERT_EQ_INT(copy_file(a_cert, cert), 0);
  ASSERT_EQ_INT(copy_file(a_key, key), 0);
  evd_tls_options o = {.prefix = "http.tls", .cert = cert, .key = key};
  evd_tls *t = evd_tls_new(&o, err, sizeof err);
  ASSERT(t != NULL);
  ASSERT_EQ_STR(evd_tls_cert_cn(t, cn, sizeof cn), "first");
  SSL *old_conn = evd_tls_ssl_new(t); /* a connection open across the reload */
  ASSERT(old_conn != NULL);
  /* A good new pair is swapped in. */
  ASSERT_EQ_INT(copy_file(b_cert, cert), 0);
  ASSERT_EQ_INT(copy_file(b_key, key), 0);
  ASSERT_EQ_INT(evd_tls_reload(t, err, sizeof err), 0);
  ASSERT_EQ_STR(evd_tls_cert_cn(t, cn, sizeof cn), "second");
  /* A certificate that does not match the key: refused, the running one stays. */
  ASSERT_EQ_INT(copy_file(a_cert, cert), 0);
  ASSERT_EQ_INT(evd_tls_reload(t, err, sizeof err), -1);
  ASSERT(strstr(err, "http.tls.key") != NULL);
  ASSERT_EQ_STR(evd_tls_cert_cn(t, cn, sizeof cn), "second");
  /* A missing file: the same. */
  remove(cert);
  ASSERT_EQ_INT(evd_tls_reload(t, err, sizeof err), -1);
  ASSERT(strstr(err, "http.tls.cert: cannot open") != NULL);
  ASSERT_EQ_STR(evd_tls_cert_cn(t, cn, sizeof cn), "second");
  SSL *new_conn = evd_tls_ssl_new(t);
  ASSERT(new_conn != NULL);
  evd_tls_free(t);
  /* Connections outlive the holder's contexts safely (they hold references). */
  SSL_free(old_conn);
  SSL_free(new_conn);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}
