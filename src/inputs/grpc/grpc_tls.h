/* grpc_tls: the gRPC side of TLS on the gRPC listener (grpc.tls.cert, grpc.tls.key,
 * grpc.tls.client_ca). The context itself (files, mTLS, reload on SIGHUP) is the shared one of
 * src/server/tls.h; this adds what HTTP/2 needs: TLS 1.2 or newer (tls.h) and HTTP/2
 * negotiated with ALPN ("h2"); a client that offers no ALPN, or offers it without "h2", fails
 * the handshake (no_application_protocol alert). Not for use outside src/inputs/grpc. */
#ifndef EVD_INPUTS_GRPC_TLS_H
#define EVD_INPUTS_GRPC_TLS_H

#include <stddef.h>

typedef struct ssl_ctx_st SSL_CTX;

/* evd_tls_options.configure for the gRPC listener: install the ALPN h2 callbacks on ctx.
 * Returns 0. */
int grpc_tls_configure(SSL_CTX *ctx, char *err, size_t errlen);

#endif
