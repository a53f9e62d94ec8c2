/* sock_listen: see sock_listen.h. */
#include "inputs/lines/sock_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/util.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server/server.h"

void sock_name(const struct sockaddr *sa, char *out, size_t outlen) {
  char a[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
    evutil_inet_ntop(AF_INET6, &a6->sin6_addr, a, sizeof a);
    snprintf(out, outlen, "[%s]:%d", a, ntohs(a6->sin6_port));
  } else if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
    evutil_inet_ntop(AF_INET, &a4->sin_addr, a, sizeof a);
    snprintf(out, outlen, "%s:%d", a, ntohs(a4->sin_port));
  } else {
    snprintf(out, outlen, "?");
  }
}

/* Resolve listen with the port given (or the one in listen when port < 0). */
static struct evutil_addrinfo *resolve(const char *setting, const char *listen, int port, int socktype,
                                       char *err, size_t errlen) {
  char host[256];
  int p;
  if (config_parse_listen(listen, host, sizeof host, &p) != 0) {
    snprintf(err, errlen, "invalid %s '%s'", setting, listen);
    return NULL;
  }
  if (port >= 0) p = port;
  struct evutil_addrinfo hints = {0}, *ai = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_NUMERICSERV;
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", p);
  int gai = evutil_getaddrinfo(host, portstr, &hints, &ai);
  if (gai != 0 || !ai) {
    snprintf(err, errlen, "%s: cannot resolve '%s': %s", setting, host, evutil_gai_strerror(gai));
    return NULL;
  }
  return ai;
}

int sock_tcp_listen(server *s, const char *setting, const char *listen, evconnlistener_cb cb,
                    void *arg, struct evconnlistener **out, char *addr, size_t addrlen,
                    int *port_out, char *err, size_t errlen) {
  struct evutil_addrinfo *ai = resolve(setting, listen, -1, SOCK_STREAM, err, errlen);
  if (!ai) return -1;
  struct evconnlistener *lis = evconnlistener_new_bind(
      s->base, cb, arg, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, -1,
      ai->ai_addr, (int)ai->ai_addrlen);
  int bind_errno = errno;
  evutil_freeaddrinfo(ai);
  if (!lis) {
    snprintf(err, errlen, "cannot listen on %s (%s): %s", listen, setting, strerror(bind_errno));
    return -1;
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(evconnlistener_get_fd(lis), (struct sockaddr *)&ss, &sl) != 0) {
    snprintf(err, errlen, "%s: getsockname: %s", setting, strerror(errno));
    evconnlistener_free(lis);
    return -1;
  }
  sock_name((struct sockaddr *)&ss, addr, addrlen);
  *port_out = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
  *out = lis;
  return 0;
}

int sock_udp_bind(const char *setting, const char *listen, int port, int rcvbuf, char *err,
                  size_t errlen) {
  struct evutil_addrinfo *ai = resolve(setting, listen, port, SOCK_DGRAM, err, errlen);
  if (!ai) return -1;
  int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(err, errlen, "%s: UDP socket: %s", setting, strerror(errno));
    evutil_freeaddrinfo(ai);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    snprintf(err, errlen, "cannot bind UDP %s (%s, port %d): %s", listen, setting, port, strerror(errno));
    close(fd);
    evutil_freeaddrinfo(ai);
    return -1;
  }
  evutil_freeaddrinfo(ai);
  return fd;
}

static void tls_err(char *err, size_t errlen, const char *what) {
  char reason[256] = "unknown OpenSSL error";
  unsigned long e = ERR_peek_error();
  if (e) ERR_error_string_n(e, reason, sizeof reason);
  ERR_clear_error();
  snprintf(err, errlen, "%s (OpenSSL: %s)", what, reason);
}

sock_tls_ctx *sock_tls_ctx_new(const char *prefix, const char *cert, const char *key, char *err,
                               size_t errlen) {
  char what[600];
  const char *files[2] = {cert, key}, *names[2] = {"cert", "key"};
  for (int i = 0; i < 2; i++) {
    FILE *f = fopen(files[i], "rb");
    if (!f) {
      snprintf(err, errlen, "%s.%s: cannot open %s: %s", prefix, names[i], files[i], strerror(errno));
      return NULL;
    }
    fclose(f);
  }
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) {
    tls_err(err, errlen, "cannot create a TLS context");
    return NULL;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  /* No TLS 1.3 session tickets: they are the server's only write on a syslog or lines
   * connection, and writing them to a client that has already sent everything and closed
   * fails (EPIPE) before the rest of its data has been read. */
  SSL_CTX_set_num_tickets(ctx, 0);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  /* A client that closes without close_notify (most log shippers) ends the stream normally. */
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
  if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
    snprintf(what, sizeof what, "%s.cert: cannot use %s as a PEM certificate", prefix, cert);
    goto fail;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
    snprintf(what, sizeof what, "%s.key: cannot use %s as a PEM private key", prefix, key);
    goto fail;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    snprintf(what, sizeof what, "%s.key: %s does not match %s", prefix, key, cert);
    goto fail;
  }
  return ctx;
fail:
  tls_err(err, errlen, what);
  SSL_CTX_free(ctx);
  return NULL;
}

void sock_tls_ctx_free(sock_tls_ctx *ctx) { SSL_CTX_free(ctx); }
