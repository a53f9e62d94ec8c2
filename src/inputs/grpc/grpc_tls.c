/* grpc_tls: OpenSSL server context for gRPC over TLS (see grpc_tls.h). */
#include "inputs/grpc/grpc_tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const unsigned char ALPN_H2[] = {2, 'h', '2'};

/* Format "fmt...: REASON" into err, REASON being the oldest queued OpenSSL error (the
 * queue is cleared). */
static void tls_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void tls_error(char *err, size_t errlen, const char *fmt, ...) {
  char what[512], reason[256] = "unknown OpenSSL error";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  unsigned long e = ERR_peek_error();
  if (e) ERR_error_string_n(e, reason, sizeof reason);
  ERR_clear_error();
  snprintf(err, errlen, "%s (OpenSSL: %s)", what, reason);
}

/* Check that path can be opened for reading, for a clear errno message before OpenSSL
 * tries. Returns 0, or -1 with err set. */
static int check_readable(const char *setting, const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: cannot open %s: %s", setting, path, strerror(errno));
    return -1;
  }
  fclose(f);
  return 0;
}

/* Client hello: refuse a client that does not offer ALPN at all (the ALPN callback below is
 * not called then, and HTTP/2 over TLS requires "h2" to be negotiated). */
static int on_client_hello(SSL *ssl, int *alert, void *arg) {
  (void)arg;
  const unsigned char *ext;
  size_t len;
  if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
                                 &len)) {
    *alert = SSL_AD_NO_APPLICATION_PROTOCOL;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

/* ALPN: select "h2" or fail the handshake. */
static int on_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned int inlen, void *arg) {
  (void)ssl;
  (void)arg;
  unsigned char *sel;
  unsigned char sellen;
  if (SSL_select_next_proto(&sel, &sellen, ALPN_H2, sizeof ALPN_H2, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = sel;
  *outlen = sellen;
  return SSL_TLSEXT_ERR_OK;
}

grpc_tls_ctx *grpc_tls_ctx_new(const char *cert_file, const char *key_file, char *err,
                               size_t errlen) {
  if (check_readable("grpc.tls.cert", cert_file, err, errlen) != 0 ||
      check_readable("grpc.tls.key", key_file, err, errlen) != 0)
    return NULL;
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) {
    tls_error(err, errlen, "grpc: cannot create the TLS context");
    return NULL;
  }
  if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
    tls_error(err, errlen, "grpc: cannot set TLS 1.2 as the minimum version");
    goto fail;
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
    tls_error(err, errlen, "grpc.tls.cert: cannot use %s as a PEM certificate", cert_file);
    goto fail;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
    tls_error(err, errlen, "grpc.tls.key: cannot use %s as a PEM private key", key_file);
    goto fail;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    tls_error(err, errlen, "grpc.tls.key: %s does not match the certificate in %s", key_file,
              cert_file);
    goto fail;
  }
  SSL_CTX_set_client_hello_cb(ctx, on_client_hello, NULL);
  SSL_CTX_set_alpn_select_cb(ctx, on_alpn_select, NULL);
  return ctx;
fail:
  SSL_CTX_free(ctx);
  return NULL;
}

void grpc_tls_ctx_free(grpc_tls_ctx *ctx) { SSL_CTX_free(ctx); }
