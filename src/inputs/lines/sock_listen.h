/* sock_listen: what the socket inputs (forward, syslog, lines) share: binding a TCP listener
 * (and a UDP socket on the same address and port) on the daemon's event loop, naming
 * addresses, and a plain TLS server context (no ALPN) for inputs that speak TLS: the shared
 * one of src/server/tls.h (mTLS with <prefix>.client_ca, reloaded on SIGHUP). */
#ifndef EVD_INPUTS_SOCK_LISTEN_H
#define EVD_INPUTS_SOCK_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>

struct server;
typedef struct evd_tls sock_tls_ctx; /* src/server/tls.h: new connections use evd_tls_ssl_new */

/* Bind a TCP listener on listen ("HOST:PORT"; port 0 picks one) calling cb(arg) for each
 * connection. On success returns 0 with *out and the bound address in addr ("127.0.0.1:24224",
 * "[::1]:24224"); *port_out gets the bound port. Returns -1 with err naming `setting`. */
int sock_tcp_listen(struct server *s, const char *setting, const char *listen,
                    evconnlistener_cb cb, void *arg, struct evconnlistener **out, char *addr,
                    size_t addrlen, int *port_out, char *err, size_t errlen);

/* Bind a non-blocking UDP socket on host:port (the TCP listener's port). Returns the fd, or
 * -1 with err. rcvbuf > 0 asks for that SO_RCVBUF. */
int sock_udp_bind(const char *setting, const char *listen, int port, int rcvbuf, char *err,
                  size_t errlen);

/* "ADDR:PORT" of a peer, for logs. */
void sock_name(const struct sockaddr *sa, char *out, size_t outlen);

/* A TLS server context (TLS 1.2+) with the PEM certificate chain and key, requiring client
 * certificates when client_ca is set, registered with s for the SIGHUP reload. Returns it,
 * or NULL with err naming the settings (prefix "forward.tls") and the reason. */
sock_tls_ctx *sock_tls_ctx_new(struct server *s, const char *prefix, const char *cert,
                               const char *key, const char *client_ca, char *err, size_t errlen);
void sock_tls_ctx_free(struct server *s, sock_tls_ctx *ctx);

#endif
