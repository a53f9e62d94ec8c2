/* sock_guard: who may send to a socket input (forward, syslog, JSON lines) and how fast,
 * shared by forward.c and line_server.c (docs/security.md "Socket inputs"; issue 7).
 *
 * One guard per listener, loop thread only. It holds:
 *   - the listener's principal (auth on only): {role ingest, tenant <input>.tenant}. Events
 *     that name no tenant get it; events naming a tenant outside its subtree are refused
 *     (ingest_set_principal does the check per event);
 *   - the peer allow list <input>.allow: comma-separated CIDRs, IPv4 and IPv6 (an
 *     IPv4-mapped IPv6 peer matches the IPv4 entries). A TCP peer outside is closed at
 *     accept, a UDP datagram from it dropped; both counted, the first refusal of a peer
 *     logged (a small direct-mapped table remembers the peers already logged);
 *   - the mTLS identity rule: with auth on and <input>.tls.client_ca, the client
 *     certificate's subject CN must be the name of an active token whose role may ingest;
 *     the connection then sends as that token (sock_guard_identity);
 *   - the per-peer event rate limits.socket_rate_per_peer (a ratelimit.h limiter keyed by the
 *     client address, one token per event, burst one second's worth);
 *   - the deadlines limits.socket_idle_timeout (no byte from the peer for that long) and
 *     limits.socket_frame_timeout (a started frame, or the TLS handshake from accept, must
 *     be complete within it), checked by a per-listener sweep timer the input arms with
 *     sock_guard_sweep_start; sock_guard_deadline tells a connection's verdict.
 *
 * With auth off there is no principal and no identity check; allow lists, rate limits and
 * deadlines apply whatever auth.mode is. */
#ifndef EVD_INPUTS_SOCK_GUARD_H
#define EVD_INPUTS_SOCK_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "server/auth.h"
#include "server/metrics.h"

struct server;
typedef struct ssl_st SSL;
typedef struct sock_guard sock_guard;

#define SOCK_ADDR_MAX 64 /* a client address as text, without port */

/* Build the guard of input `name` ("forward", "syslog", "lines"; settings "<name>.tenant",
 * "<name>.allow", "<name>.tls.client_ca" are read from s->cfg by that prefix). Returns it,
 * or NULL with err naming the setting (a bad tenant path, a bad CIDR). */
sock_guard *sock_guard_new(struct server *s, ingest_input input, const char *name, char *err,
                           size_t errlen);
/* Stops the sweep timer too. NULL is fine. */
void sock_guard_free(sock_guard *g);

/* The listener's principal, or NULL when auth is off (no checks). */
const auth_principal *sock_guard_principal(const sock_guard *g);
/* The listener's tenant ("" = root), for the forward users' check. */
const char *sock_guard_tenant(const sock_guard *g);

/* The client address of sa as text without port ("127.0.0.1", "::1"; an IPv4-mapped IPv6
 * address as IPv4), into out[SOCK_ADDR_MAX]. */
void sock_guard_addr(const struct sockaddr *sa, char *out);

/* 1 if peer sa may connect / send (allow list). When not, counts it (TCP: closed, reason
 * refused; UDP: datagram dropped, reason refused), logs the first refusal of the address,
 * and returns 0. peer: "ADDR:PORT" for the log. */
int sock_guard_allowed(sock_guard *g, const struct sockaddr *sa, const char *peer, int udp);

/* 1 if limits.socket_rate_per_peer is on. */
int sock_guard_rate_on(const sock_guard *g);
/* Take one event from addr's budget at now_ns: 0 when it may go, else ns to wait (> 0). Always
 * 0 when the rate limit is off. */
int64_t sock_guard_take(sock_guard *g, const char *addr, int64_t now_ns);
/* Count a TCP pause (rate limit) / a UDP datagram dropped for the rate limit. The first one of
 * an address is logged. */
void sock_guard_count_delayed(sock_guard *g, const char *addr);
void sock_guard_count_dropped(sock_guard *g, const char *addr);

/* mTLS identity (see above). needs: 1 when this listener authenticates connections by their
 * certificate (auth on and client_ca set). sock_guard_identity: call once the handshake is
 * done; returns 1 with *out the token's principal, or 0 (logged as a warning naming the CN,
 * counted as closed, reason identity): close the connection. */
int sock_guard_needs_identity(const sock_guard *g);
int sock_guard_identity(sock_guard *g, SSL *ssl, const char *peer, auth_principal *out);

/* A TCP connection's clocks (monotonic ns). */
typedef struct sock_clock {
  int64_t last_byte_ns;   /* last time bytes arrived (accept at first) */
  int64_t frame_start_ns; /* when the frame being received started (0: none pending) */
} sock_clock;

/* Start the clocks at accept. tls: the handshake counts as a frame from now. */
void sock_clock_start(sock_clock *k, int64_t now_ns, int tls);
/* Bytes arrived. */
static inline void sock_clock_bytes(sock_clock *k, int64_t now_ns) { k->last_byte_ns = now_ns; }
/* After a parse: left = bytes of an incomplete frame still buffered, progress = whether a
 * frame completed in this pass (the incomplete rest then starts now). */
void sock_clock_frame(sock_clock *k, int64_t now_ns, size_t left, int progress);

/* The verdict for one connection at now_ns: -1 keep it, else SOCK_CLOSE_IDLE or
 * SOCK_CLOSE_SLOW. Only ask for connections waiting on the peer (reading, nothing pending
 * with the store, not paused by a limit). */
int sock_guard_deadline(const sock_guard *g, const sock_clock *k, int64_t now_ns);
/* Log (info) and count a connection closed for reason (SOCK_CLOSE_IDLE or SOCK_CLOSE_SLOW). */
void sock_guard_closed(sock_guard *g, const char *peer, int reason);

/* Arm the sweep timer (when a deadline is set): cb(arg) every 50-500 ms (a quarter of the
 * shortest deadline). Returns 0 or -1 (out of memory). */
int sock_guard_sweep_start(sock_guard *g, void (*cb)(void *arg, int64_t now_ns), void *arg);

#endif
