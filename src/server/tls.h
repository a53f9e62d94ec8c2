/* tls: the server side of TLS shared by the listeners (HTTP API, gRPC): an OpenSSL 3 server
 * context built from PEM files named by settings (<prefix>.cert, <prefix>.key and optionally
 * <prefix>.client_ca), with reload.
 *
 * An evd_tls holds the current SSL_CTX. New connections take an SSL from it (evd_tls_ssl_new);
 * evd_tls_reload builds a fresh context from the same files and swaps it in only when the
 * whole build succeeded, so a bad new certificate keeps the old one (the reason is
 * returned). Connections already open keep the context they started with (SSL_new holds a
 * reference on it).
 *
 * mTLS: with client_ca set, a client must present a certificate that chains to one of the CAs
 * in that PEM file (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT); the handshake fails
 * otherwise. The certificate's subject CN is logged at info level when the handshake is done;
 * it grants nothing (authorization stays with the bearer tokens of auth.h).
 *
 * Contexts allow TLS 1.2 and newer, no compression, no renegotiation. Loop thread only (no
 * locking): every listener using it runs on the server's event loop, and so does SIGHUP. */
#ifndef EVD_SERVER_TLS_H
#define EVD_SERVER_TLS_H

#include <stddef.h>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
struct logger;

typedef struct evd_tls evd_tls;

/* What to build. Strings are copied by evd_tls_new. */
typedef struct evd_tls_options {
  const char *prefix;    /* setting prefix for messages: "http.tls", "grpc.tls" */
  const char *cert;      /* PEM certificate chain file (required) */
  const char *key;       /* PEM private key file (required) */
  const char *client_ca; /* PEM CA bundle: require client certificates (NULL or "": no mTLS) */
  /* Called on every new context after the files are loaded (e.g. ALPN callbacks); returns
   * 0, or -1 with err set. NULL: none. */
  int (*configure)(SSL_CTX *ctx, char *err, size_t errlen);
  struct logger *log;    /* for the handshake log line (NULL: none); not owned */
} evd_tls_options;

/* Check the pairing of cert and key settings: both set or both unset ("" counts as unset),
 * and client_ca only with them. Returns 1 when TLS is configured, 0 when not, -1 with err
 * ("http.tls.cert and http.tls.key go together: ..."). */
int evd_tls_configured(const char *prefix, const char *cert, const char *key,
                       const char *client_ca, char *err, size_t errlen);

/* Build the context. Returns the holder (free with evd_tls_free), or NULL with a message in
 * err naming the setting, the file and the reason (errno's or OpenSSL's). */
evd_tls *evd_tls_new(const evd_tls_options *o, char *err, size_t errlen);
void evd_tls_free(evd_tls *t);

/* A new server-side SSL for one connection (the caller owns it; bufferevent_openssl with
 * BEV_OPT_CLOSE_ON_FREE frees it). NULL when out of memory. */
SSL *evd_tls_ssl_new(evd_tls *t);

/* Load the files again and swap the new context in. Returns 0, or -1 with err (the old
 * context stays in use). */
int evd_tls_reload(evd_tls *t, char *err, size_t errlen);

/* The setting prefix ("http.tls"); 1 if client certificates are required. */
const char *evd_tls_prefix(const evd_tls *t);
int evd_tls_mtls(const evd_tls *t);

/* Subject CN of the certificate the current context serves (for logs and tests), into out
 * ("?" when unknown). Returns out. */
const char *evd_tls_cert_cn(const evd_tls *t, char *out, size_t outlen);

/* Subject CN of ssl's verified peer certificate into out; returns out, or NULL when the peer
 * sent none. */
const char *evd_tls_peer_cn(SSL *ssl, char *out, size_t outlen);

/* Reload a list of holders (NULL entries skipped), logging each outcome on log: "SIGHUP:
 * http.tls: reloaded (CN=...)" or "SIGHUP: http.tls: keeping the old certificate: REASON".
 * Returns the number that failed. */
int evd_tls_reload_all(evd_tls **list, size_t n, struct logger *log);

#endif
