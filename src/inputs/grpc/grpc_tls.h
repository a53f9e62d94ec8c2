/* grpc_tls: the TLS side of the gRPC listener (grpc.tls.cert, grpc.tls.key): an OpenSSL 3
 * server context that allows TLS 1.2 and newer and negotiates HTTP/2 with ALPN ("h2"); a
 * client that offers no ALPN, or offers it without "h2", fails the handshake
 * (no_application_protocol alert). Not for use outside src/inputs/grpc. */
#ifndef EVD_INPUTS_GRPC_TLS_H
#define EVD_INPUTS_GRPC_TLS_H

#include <stddef.h>

typedef struct ssl_ctx_st grpc_tls_ctx; /* OpenSSL's SSL_CTX */

/* A server context with the PEM certificate chain in cert_file and the private key in
 * key_file. Returns it (free with grpc_tls_ctx_free), or NULL with a message in err naming
 * the setting, the file and the reason (errno's or OpenSSL's): e.g.
 * "grpc.tls.key: cannot use /etc/eventd/key.pem: ... (OpenSSL: ...)". */
grpc_tls_ctx *grpc_tls_ctx_new(const char *cert_file, const char *key_file, char *err,
                               size_t errlen);
void grpc_tls_ctx_free(grpc_tls_ctx *ctx);

#endif
