/* grpc_tls: the gRPC-specific part of gRPC over TLS, ALPN h2 (see grpc_tls.h). */
#include "inputs/grpc/grpc_tls.h"

#include <openssl/ssl.h>

static const unsigned char ALPN_H2[] = {2, 'h', '2'};

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

int grpc_tls_configure(SSL_CTX *ctx, char *err, size_t errlen) {
  (void)err;
  (void)errlen;
  SSL_CTX_set_client_hello_cb(ctx, on_client_hello, NULL);
  SSL_CTX_set_alpn_select_cb(ctx, on_alpn_select, NULL);
  return 0;
}
