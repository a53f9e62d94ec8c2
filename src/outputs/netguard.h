/* netguard: the SSRF guard of tenant-owned outputs (issue 7; docs/security.md "Outputs").
 *
 * An output owned by a tenant other than the root must not be a way into the daemon's
 * network: with outputs.allow_local_targets false (the default, GitLab's "allow requests to
 * the local network from webhooks" model) it may not connect to
 *   loopback      127.0.0.0/8, ::1 (and 0.0.0.0/8, which Linux routes to the host itself,
 *                 counts as "unspecified")
 *   private       10/8, 172.16/12, 192.168/16, 100.64/10 (carrier NAT), fc00::/7
 *   link-local    169.254/16, fe80::/10
 *   unspecified   0.0.0.0/8, ::
 * (IPv4-mapped IPv6 addresses ::ffff:a.b.c.d and NAT64 addresses 64:ff9b::a.b.c.d are
 * classified by their IPv4 address), and
 * never, whatever the setting, to one of the daemon's own listeners (an output feeding
 * eventd's own inputs is a loop). Root-owned outputs are not restricted.
 *
 * The check is made on the resolved address at connect time (so a name that resolves to a
 * local address later — DNS rebinding — is caught): the webhook in curl's open-socket
 * callback, Kafka in librdkafka's connect callback, AMQP on the addresses it resolves itself.
 * When an output is created or changed, a target host written as a literal IP address is
 * checked at once (output_guard_check_host) so the caller gets a 400 right away.
 *
 * Everything here is pure or read-only after output_guard_listeners_init: callable from any
 * thread (librdkafka calls the connect callback on its broker threads). */
#ifndef EVD_OUTPUTS_NETGUARD_H
#define EVD_OUTPUTS_NETGUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef enum netguard_class {
  NETGUARD_PUBLIC = 0,
  NETGUARD_LOOPBACK,
  NETGUARD_PRIVATE,
  NETGUARD_LINK_LOCAL,
  NETGUARD_UNSPECIFIED
} netguard_class;

/* The class of an IPv4 or IPv6 socket address (other families: NETGUARD_PUBLIC). */
netguard_class netguard_classify(const struct sockaddr *sa);
/* "public", "loopback", "private", "link-local", "unspecified". */
const char *netguard_class_name(netguard_class c);

/* One of the daemon's listening addresses (resolved). */
typedef struct netguard_listener {
  struct sockaddr_storage addr; /* port included */
  int wildcard;                 /* 0.0.0.0 or ::: every local address of the host */
} netguard_listener;

/* Resolve "HOST:PORT" listen strings ("[::1]:8910", "localhost:8910", "0.0.0.0:24224"; "off"
 * and port 0 are skipped) into a malloc'd array *out of *n entries (caller frees; NULL/0
 * when there is none). Names that do not resolve are skipped. Returns 0 or -1 (OOM). */
int netguard_listeners_resolve(const char *const *listen, size_t nlisten, netguard_listener **out,
                               size_t *n);

/* What an output's destination gets (output_env.guard): who owns it and what it may reach. */
typedef struct output_guard {
  const char *owner;                 /* the owning tenant (not the root) */
  int allow_local;                   /* outputs.allow_local_targets */
  const netguard_listener *listeners; /* the daemon's own listeners */
  size_t nlisteners;
} output_guard;

/* Check a resolved address about to be connected to. Returns 0 when g allows it (g NULL:
 * always), or -1 with err naming the address, why and the setting:
 * "10.0.0.5 is a private address; outputs of tenant acme may not reach the local network
 * (outputs.allow_local_targets)". */
int output_guard_check(const output_guard *g, const struct sockaddr *sa, char *err,
                       size_t errlen);

/* Check a target host as written (brackets around IPv6 allowed) with its port (0 = unknown):
 * a literal IP address is checked like output_guard_check; a name passes (it is checked when
 * it is resolved at connect time). what names the member for err ("url"). Returns 0 or -1. */
int output_guard_check_host(const output_guard *g, const char *what, const char *host,
                            size_t hostlen, int port, char *err, size_t errlen);

/* The host and port of an http(s):// or amqp(s):// URL ([v6] allowed; userinfo skipped):
 * *host, *hostlen point into url; *port is the explicit port or 0. Returns 0 or -1. */
int netguard_url_host(const char *url, const char **host, size_t *hostlen, int *port);

/* Resolve host (a name or literal; brackets allowed) and port with getaddrinfo (TCP), and
 * return the first address g allows in *out (*outlen), or -1 with err: the refusal of the
 * first refused address when every address is refused, or the resolver's error. */
int output_guard_resolve(const output_guard *g, const char *host, int port,
                         struct sockaddr_storage *out, socklen_t *outlen, char *err,
                         size_t errlen);

/* The text form of sa's address (no port) into out (at least 64 bytes). */
void netguard_addr_text(const struct sockaddr *sa, char *out, size_t outlen);

#endif
