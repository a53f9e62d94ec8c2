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
#include "server/tls.h"

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

/* evd_tls_options.configure of the socket inputs. */
static int sock_tls_configure(SSL_CTX *ctx, char *err, size_t errlen) {
  (void)err;
  (void)errlen;
  /* No TLS 1.3 session tickets: they are the server's only write on a syslog or lines
   * connection, and writing them to a client that has already sent everything and closed
   * fails (EPIPE) before the rest of its data has been read. */
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx, 0);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  /* A client that closes without close_notify (most log shippers) ends the stream normally. */
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
  return 0;
}

sock_tls_ctx *sock_tls_ctx_new(struct server *s, const char *prefix, const char *cert,
                               const char *key, const char *client_ca, char *err, size_t errlen) {
  int configured = evd_tls_configured(prefix, cert, key, client_ca, err, errlen);
  if (configured != 1) {
    if (configured == 0) snprintf(err, errlen, "%s.cert and %s.key are not set", prefix, prefix);
    return NULL;
  }
  evd_tls_options o = {.prefix = prefix, .cert = cert, .key = key, .client_ca = client_ca,
                       .configure = sock_tls_configure, .log = &s->log};
  evd_tls *t = evd_tls_new(&o, err, errlen);
  if (t) server_tls_register(s, t);
  return t;
}

void sock_tls_ctx_free(struct server *s, sock_tls_ctx *ctx) {
  if (!ctx) return;
  server_tls_unregister(s, ctx);
  evd_tls_free(ctx);
}
