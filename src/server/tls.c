/* tls: shared OpenSSL server contexts with reload and optional mTLS (see tls.h). */
#include "server/tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"

struct evd_tls {
  SSL_CTX *ctx; /* current context (connections hold their own reference) */
  char *prefix, *cert, *key, *client_ca;
  int (*configure)(SSL_CTX *ctx, char *err, size_t errlen);
  logger *log;
};

static int is_set(const char *s) { return s && *s; }

/* Format "fmt...: (OpenSSL: REASON)" into err, REASON being the oldest queued OpenSSL error
 * (the queue is cleared). */
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

int evd_tls_configured(const char *prefix, const char *cert, const char *key,
                       const char *client_ca, char *err, size_t errlen) {
  if (is_set(cert) != is_set(key)) {
    snprintf(err, errlen, "%s.cert and %s.key go together: %s.%s is set, %s.%s is not", prefix,
             prefix, prefix, is_set(cert) ? "cert" : "key", prefix,
             is_set(cert) ? "key" : "cert");
    return -1;
  }
  if (is_set(client_ca) && !is_set(cert)) {
    snprintf(err, errlen, "%s.client_ca needs %s.cert and %s.key (mTLS is part of TLS)", prefix,
             prefix, prefix);
    return -1;
  }
  return is_set(cert) ? 1 : 0;
}

/* The handshake log line of mTLS connections: the client certificate's CN. */
static void on_info(const SSL *ssl, int where, int ret) {
  (void)ret;
  if (!(where & SSL_CB_HANDSHAKE_DONE)) return;
  logger *lg = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
  if (!lg || !log_enabled(lg, LOG_INFO)) return;
  char cn[256];
  if (evd_tls_peer_cn((SSL *)ssl, cn, sizeof cn))
    log_info(lg, "tls: client certificate CN=%s accepted (%s)", cn, SSL_get_version(ssl));
}

/* Build a context from t's files. Returns it, or NULL with err. */
static SSL_CTX *build_ctx(const evd_tls *t, char *err, size_t errlen) {
  char setting[128];
  snprintf(setting, sizeof setting, "%s.cert", t->prefix);
  if (check_readable(setting, t->cert, err, errlen) != 0) return NULL;
  snprintf(setting, sizeof setting, "%s.key", t->prefix);
  if (check_readable(setting, t->key, err, errlen) != 0) return NULL;
  if (t->client_ca) {
    snprintf(setting, sizeof setting, "%s.client_ca", t->prefix);
    if (check_readable(setting, t->client_ca, err, errlen) != 0) return NULL;
  }
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) {
    tls_error(err, errlen, "%s: cannot create the TLS context", t->prefix);
    return NULL;
  }
  if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
    tls_error(err, errlen, "%s: cannot set TLS 1.2 as the minimum version", t->prefix);
    goto fail;
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1) {
    tls_error(err, errlen, "%s.cert: cannot use %s as a PEM certificate", t->prefix, t->cert);
    goto fail;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1) {
    tls_error(err, errlen, "%s.key: cannot use %s as a PEM private key", t->prefix, t->key);
    goto fail;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    tls_error(err, errlen, "%s.key: %s does not match the certificate in %s", t->prefix, t->key,
              t->cert);
    goto fail;
  }
  if (t->client_ca) {
    if (SSL_CTX_load_verify_locations(ctx, t->client_ca, NULL) != 1) {
      tls_error(err, errlen, "%s.client_ca: cannot use %s as PEM CA certificates", t->prefix,
                t->client_ca);
      goto fail;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->client_ca);
    if (!names) {
      tls_error(err, errlen, "%s.client_ca: no CA certificate in %s", t->prefix, t->client_ca);
      goto fail;
    }
    SSL_CTX_set_client_CA_list(ctx, names); /* takes names */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_verify_depth(ctx, 8);
    SSL_CTX_set_app_data(ctx, t->log);
    SSL_CTX_set_info_callback(ctx, on_info);
  }
  /* One session cache per listener: resumption across contexts is not needed. */
  static const unsigned char sid_ctx[] = "eventd";
  SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
  if (t->configure && t->configure(ctx, err, errlen) != 0) goto fail;
  return ctx;
fail:
  SSL_CTX_free(ctx);
  return NULL;
}

static char *dup_or_null(const char *s) { return is_set(s) ? strdup(s) : NULL; }

evd_tls *evd_tls_new(const evd_tls_options *o, char *err, size_t errlen) {
  const char *prefix = o->prefix ? o->prefix : "tls";
  if (!is_set(o->cert) || !is_set(o->key)) {
    snprintf(err, errlen, "%s: both %s.cert and %s.key are needed", prefix, prefix, prefix);
    return NULL;
  }
  evd_tls *t = calloc(1, sizeof *t);
  if (!t) goto oom;
  t->prefix = strdup(prefix);
  t->cert = strdup(o->cert);
  t->key = strdup(o->key);
  t->client_ca = dup_or_null(o->client_ca);
  t->configure = o->configure;
  t->log = o->log;
  if (!t->prefix || !t->cert || !t->key || (is_set(o->client_ca) && !t->client_ca)) goto oom;
  t->ctx = build_ctx(t, err, errlen);
  if (!t->ctx) {
    evd_tls_free(t);
    return NULL;
  }
  return t;
oom:
  snprintf(err, errlen, "%s: out of memory", prefix);
  evd_tls_free(t);
  return NULL;
}

void evd_tls_free(evd_tls *t) {
  if (!t) return;
  SSL_CTX_free(t->ctx);
  free(t->prefix);
  free(t->cert);
  free(t->key);
  free(t->client_ca);
  free(t);
}

SSL *evd_tls_ssl_new(evd_tls *t) {
  SSL *ssl = SSL_new(t->ctx);
  if (!ssl) ERR_clear_error();
  return ssl;
}

int evd_tls_reload(evd_tls *t, char *err, size_t errlen) {
  SSL_CTX *ctx = build_ctx(t, err, errlen);
  if (!ctx) return -1;
  SSL_CTX_free(t->ctx); /* open connections keep their reference */
  t->ctx = ctx;
  return 0;
}

const char *evd_tls_prefix(const evd_tls *t) { return t->prefix; }
int evd_tls_mtls(const evd_tls *t) { return t->client_ca != NULL; }

/* Copy the subject CN of x into out; "?" when it has none. */
static const char *subject_cn(X509 *x, char *out, size_t outlen) {
  snprintf(out, outlen, "?");
  if (!x) return out;
  X509_NAME *n = X509_get_subject_name(x);
  if (n && X509_NAME_get_text_by_NID(n, NID_commonName, out, (int)outlen) < 0)
    snprintf(out, outlen, "?");
  /* Control characters from a peer's certificate would break a log line. */
  for (char *p = out; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
  return out;
}

const char *evd_tls_cert_cn(const evd_tls *t, char *out, size_t outlen) {
  return subject_cn(SSL_CTX_get0_certificate(t->ctx), out, outlen);
}

const char *evd_tls_peer_cn(SSL *ssl, char *out, size_t outlen) {
  X509 *peer = SSL_get1_peer_certificate(ssl);
  if (!peer) return NULL;
  subject_cn(peer, out, outlen);
  X509_free(peer);
  return out;
}

int evd_tls_reload_all(evd_tls **list, size_t n, logger *log) {
  int failed = 0;
  for (size_t i = 0; i < n; i++) {
    if (!list[i]) continue;
    char err[1024], cn[256];
    if (evd_tls_reload(list[i], err, sizeof err) != 0) {
      log_error(log, "SIGHUP: %s: keeping the old certificate: %s", list[i]->prefix, err);
      failed++;
    } else {
      log_info(log, "SIGHUP: %s: certificate reloaded (CN=%s)", list[i]->prefix,
               evd_tls_cert_cn(list[i], cn, sizeof cn));
    }
  }
  return failed;
}
