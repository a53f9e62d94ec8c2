/* sock_guard: see sock_guard.h. */
#include "inputs/sock_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "server/ratelimit.h"
#include "server/server.h"

#define GUARD_LOGGED_SLOTS 256   /* peers whose first refusal was logged (direct-mapped) */
#define GUARD_RATE_KEYS 65536    /* peers tracked by the rate limiter */
#define GUARD_MAX_CIDRS 256

typedef struct cidr {
  int family; /* AF_INET or AF_INET6 */
  uint8_t addr[16];
  int bits;
} cidr;

struct sock_guard {
  server *s;
  ingest_input input;
  char name[16];
  int auth_on, mtls;
  auth_principal principal; /* the listener's (auth on) */
  cidr *allow;
  size_t nallow;            /* 0: everyone */
  ratelimit *rl;            /* NULL: off */
  int64_t idle_ns, frame_ns;
  struct event *sweep;
  void (*sweep_cb)(void *arg, int64_t now_ns);
  void *sweep_arg;
  char logged[GUARD_LOGGED_SLOTS][SOCK_ADDR_MAX]; /* refusals (allow list) already logged */
  char rate_logged[GUARD_LOGGED_SLOTS][SOCK_ADDR_MAX];
};

/* ---- addresses ---------------------------------------------------------------------------- */

/* The address bytes of sa (IPv4-mapped IPv6 as IPv4). Returns the family or 0. */
static int addr_bytes(const struct sockaddr *sa, uint8_t out[16]) {
  if (sa->sa_family == AF_INET) {
    memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    return AF_INET;
  }
  if (sa->sa_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a)) {
      memcpy(out, a->s6_addr + 12, 4);
      return AF_INET;
    }
    memcpy(out, a->s6_addr, 16);
    return AF_INET6;
  }
  return 0;
}

void sock_guard_addr(const struct sockaddr *sa, char *out) {
  uint8_t b[16];
  int fam = addr_bytes(sa, b);
  if (!fam || !inet_ntop(fam, b, out, SOCK_ADDR_MAX)) snprintf(out, SOCK_ADDR_MAX, "?");
}

/* Parse "A.B.C.D/N" or "X::Y/N" (no /N: a single address) from t[0..n). Returns 0 or -1. */
static int cidr_parse(const char *t, size_t n, cidr *c) {
  char text[INET6_ADDRSTRLEN + 8];
  if (n == 0 || n >= sizeof text) return -1;
  memcpy(text, t, n);
  text[n] = '\0';
  char *slash = strchr(text, '/');
  int bits = -1;
  if (slash) {
    *slash = '\0';
    char *end;
    long v = strtol(slash + 1, &end, 10);
    if (!slash[1] || *end || v < 0 || v > 128) return -1;
    bits = (int)v;
  }
  memset(c, 0, sizeof *c);
  if (inet_pton(AF_INET, text, c->addr) == 1) c->family = AF_INET;
  else if (inet_pton(AF_INET6, text, c->addr) == 1) c->family = AF_INET6;
  else return -1;
  int maxbits = c->family == AF_INET ? 32 : 128;
  if (bits > maxbits) return -1;
  c->bits = bits < 0 ? maxbits : bits;
  if (c->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)c->addr) && c->bits >= 96) {
    memmove(c->addr, c->addr + 12, 4); /* ::ffff:a.b.c.d/N is the IPv4 network */
    memset(c->addr + 4, 0, 12);
    c->family = AF_INET;
    c->bits -= 96;
  }
  return 0;
}

static int cidr_match(const cidr *c, int fam, const uint8_t *a) {
  if (c->family != fam) return 0;
  int full = c->bits / 8, rest = c->bits % 8;
  if (memcmp(c->addr, a, (size_t)full) != 0) return 0;
  if (!rest) return 1;
  uint8_t mask = (uint8_t)(0xff << (8 - rest));
  return (c->addr[full] & mask) == (a[full] & mask);
}

/* Parse the allow list text into g. Returns 0 or -1 with err. */
static int allow_parse(sock_guard *g, const char *setting, const char *text, char *err,
                       size_t errlen) {
  if (!text || !*text) return 0;
  g->allow = calloc(GUARD_MAX_CIDRS, sizeof *g->allow);
  if (!g->allow) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (const char *p = text; *p;) {
    while (*p == ' ' || *p == '\t') p++;
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    size_t m = n;
    while (m && (p[m - 1] == ' ' || p[m - 1] == '\t')) m--;
    if (g->nallow >= GUARD_MAX_CIDRS) {
      snprintf(err, errlen, "%s: more than %d entries", setting, GUARD_MAX_CIDRS);
      return -1;
    }
    if (cidr_parse(p, m, &g->allow[g->nallow]) != 0) {
      snprintf(err, errlen,
               "%s: '%.*s' is not an address or CIDR (e.g. 10.0.0.0/8, 127.0.0.1/32, ::1/128)",
               setting, (int)(m > 64 ? 64 : m), p);
      return -1;
    }
    g->nallow++;
    p += n + (end ? 1 : 0);
    if (end && !*p) {
      snprintf(err, errlen, "%s: empty entry at the end", setting);
      return -1;
    }
  }
  return 0;
}

/* ---- the guard ---------------------------------------------------------------------------- */

static const char *cfg_str(const evd_config *c, const char *name, const char *what) {
  int f = strcmp(name, "forward") == 0, sy = strcmp(name, "syslog") == 0;
  if (strcmp(what, "tenant") == 0) return f ? c->forward_tenant : sy ? c->syslog_tenant : c->lines_tenant;
  if (strcmp(what, "allow") == 0) return f ? c->forward_allow : sy ? c->syslog_allow : c->lines_allow;
  return f ? c->forward_tls_client_ca : sy ? c->syslog_tls_client_ca : c->lines_tls_client_ca;
}

sock_guard *sock_guard_new(server *s, ingest_input input, const char *name, char *err,
                           size_t errlen) {
  sock_guard *g = calloc(1, sizeof *g);
  if (!g) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  const evd_config *c = &s->cfg;
  g->s = s;
  g->input = input;
  snprintf(g->name, sizeof g->name, "%s", name);
  char setting[64];
  const char *tenant = cfg_str(c, name, "tenant");
  if (!tenant) tenant = "";
  snprintf(setting, sizeof setting, "%s.tenant", name);
  if (!auth_tenant_valid(tenant, strlen(tenant)) || strlen(tenant) > AUTH_TENANT_MAX) {
    snprintf(err, errlen, "%s: '%.64s' is not a tenant path (segments of A-Z a-z 0-9 . _ - "
                          "separated by '/')", setting, tenant);
    goto fail;
  }
  g->auth_on = s->auth != NULL;
  const char *ca = cfg_str(c, name, "client_ca");
  g->mtls = g->auth_on && ca && *ca;
  g->principal.role = AUTH_ROLE_INGEST;
  snprintf(g->principal.name, sizeof g->principal.name, "%s listener", name);
  snprintf(g->principal.tenant, sizeof g->principal.tenant, "%s", tenant);
  snprintf(setting, sizeof setting, "%s.allow", name);
  if (allow_parse(g, setting, cfg_str(c, name, "allow"), err, errlen) != 0) goto fail;
  if (c->socket_rate_per_peer > 0) {
    double rate = (double)c->socket_rate_per_peer;
    if (!(g->rl = ratelimit_new(rate, rate, GUARD_RATE_KEYS))) {
      snprintf(err, errlen, "out of memory");
      goto fail;
    }
  }
  g->idle_ns = c->socket_idle_timeout_ns;
  g->frame_ns = c->socket_frame_timeout_ns;
  return g;
fail:
  sock_guard_free(g);
  return NULL;
}

void sock_guard_free(sock_guard *g) {
  if (!g) return;
  if (g->sweep) event_free(g->sweep);
  ratelimit_free(g->rl);
  free(g->allow);
  free(g);
}

const auth_principal *sock_guard_principal(const sock_guard *g) {
  return g->auth_on ? &g->principal : NULL;
}

const char *sock_guard_tenant(const sock_guard *g) { return g->principal.tenant; }

/* 1 the first time addr is seen in table (direct-mapped: a collision forgets the other). */
static int first_time(char table[][SOCK_ADDR_MAX], const char *addr) {
  uint32_t h = 2166136261u;
  for (const char *p = addr; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
  char *slot = table[h % GUARD_LOGGED_SLOTS];
  if (strcmp(slot, addr) == 0) return 0;
  snprintf(slot, SOCK_ADDR_MAX, "%s", addr);
  return 1;
}

int sock_guard_allowed(sock_guard *g, const struct sockaddr *sa, const char *peer, int udp) {
  if (!g->nallow) return 1;
  uint8_t b[16];
  int fam = addr_bytes(sa, b);
  for (size_t i = 0; fam && i < g->nallow; i++)
    if (cidr_match(&g->allow[i], fam, b)) return 1;
  if (udp) METRIC_ADD(g->s->m.input_dropped[g->input][SOCK_DROP_REFUSED], 1);
  else METRIC_ADD(g->s->m.input_closed[g->input][SOCK_CLOSE_REFUSED], 1);
  char addr[SOCK_ADDR_MAX];
  sock_guard_addr(sa, addr);
  if (first_time(g->logged, addr))
    log_warn(&g->s->log, "%s: %s: refused: the address is not in %s.allow (%s; logged once per "
                         "address)", g->name, peer, g->name, udp ? "UDP datagrams dropped" : "TCP");
  return 0;
}

int sock_guard_rate_on(const sock_guard *g) { return g->rl != NULL; }

int64_t sock_guard_take(sock_guard *g, const char *addr, int64_t now_ns) {
  if (!g->rl) return 0;
  return ratelimit_take(g->rl, addr, strlen(addr), now_ns);
}

void sock_guard_count_delayed(sock_guard *g, const char *addr) {
  METRIC_ADD(g->s->m.input_rate_delayed[g->input], 1);
  if (first_time(g->rate_logged, addr))
    log_info(&g->s->log, "%s: %s: over limits.socket_rate_per_peer (%llu events/s): reading "
                         "slowed down (logged once per address)",
             g->name, addr, (unsigned long long)g->s->cfg.socket_rate_per_peer);
}

void sock_guard_count_dropped(sock_guard *g, const char *addr) {
  METRIC_ADD(g->s->m.input_dropped[g->input][SOCK_DROP_RATE_LIMITED], 1);
  if (first_time(g->rate_logged, addr))
    log_warn(&g->s->log, "%s: %s: over limits.socket_rate_per_peer (%llu events/s): UDP "
                         "datagrams dropped (logged once per address)",
             g->name, addr, (unsigned long long)g->s->cfg.socket_rate_per_peer);
}

/* ---- mTLS identity ------------------------------------------------------------------------ */

int sock_guard_needs_identity(const sock_guard *g) { return g->mtls; }

/* The single subject CN of x as a printable string without NUL into out; returns 0, or -1
 * (none, several, too long, or odd bytes: text for the log in out anyway). */
static int cert_cn(X509 *x, char *out, size_t outlen) {
  snprintf(out, outlen, "?");
  X509_NAME *n = x ? X509_get_subject_name(x) : NULL;
  if (!n) return -1;
  int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
  if (i < 0) return -1;
  if (X509_NAME_get_index_by_NID(n, NID_commonName, i) >= 0) {
    snprintf(out, outlen, "(several CNs)");
    return -1;
  }
  ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
  unsigned char *u = NULL;
  int len = d ? ASN1_STRING_to_UTF8(&u, d) : -1;
  if (len < 0) return -1;
  int ok = len > 0 && (size_t)len < outlen && len <= AUTH_NAME_MAX;
  size_t k = 0;
  for (int j = 0; j < len && k + 1 < outlen; j++) {
    unsigned char ch = u[j];
    if (ch < 0x20 || ch == 0x7f) {
      ok = 0;
      ch = '?';
    }
    out[k++] = (char)ch;
  }
  out[k] = '\0';
  OPENSSL_free(u);
  return ok ? 0 : -1;
}

int sock_guard_identity(sock_guard *g, SSL *ssl, const char *peer, auth_principal *out) {
  char cn[AUTH_NAME_MAX + 2];
  X509 *x = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
  int rc = cert_cn(x, cn, sizeof cn);
  X509_free(x);
  const char *why = NULL;
  if (rc != 0) why = "has no usable subject CN (one CN, the name of an ingest token)";
  else {
    int f = server_auth_principal_by_name(g->s, cn, out);
    if (f == -2) why = "names several active tokens (token names used for certificates must be unique)";
    else if (f != 0) why = "is not the name of an active token (unknown or revoked)";
    else if (!auth_allows(out, AUTH_ACT_INGEST))
      why = "names a token whose role may not send events";
  }
  if (!why) {
    log_info(&g->s->log, "%s: %s: client certificate CN=%s: sending as token '%s' (role %s, "
                         "tenant '%s')",
             g->name, peer, cn, out->name, auth_role_name(out->role), out->tenant);
    return 1;
  }
  METRIC_ADD(g->s->m.input_closed[g->input][SOCK_CLOSE_IDENTITY], 1);
  log_warn(&g->s->log, "%s: %s: client certificate CN '%s' %s; closing the connection (%s.tls."
                       "client_ca with auth on: docs/security.md)",
           g->name, peer, cn, why, g->name);
  return 0;
}

/* ---- deadlines ---------------------------------------------------------------------------- */

void sock_clock_start(sock_clock *k, int64_t now_ns, int tls) {
  k->last_byte_ns = now_ns;
  k->frame_start_ns = tls ? now_ns : 0;
}

void sock_clock_frame(sock_clock *k, int64_t now_ns, size_t left, int progress) {
  if (!left) k->frame_start_ns = 0;
  else if (progress || !k->frame_start_ns) k->frame_start_ns = now_ns;
}

int sock_guard_deadline(const sock_guard *g, const sock_clock *k, int64_t now_ns) {
  if (g->frame_ns > 0 && k->frame_start_ns && now_ns - k->frame_start_ns >= g->frame_ns)
    return SOCK_CLOSE_SLOW;
  if (g->idle_ns > 0 && now_ns - k->last_byte_ns >= g->idle_ns) return SOCK_CLOSE_IDLE;
  return -1;
}

void sock_guard_closed(sock_guard *g, const char *peer, int reason) {
  METRIC_ADD(g->s->m.input_closed[g->input][reason], 1);
  if (reason == SOCK_CLOSE_SLOW)
    log_warn(&g->s->log, "%s: %s: closing: a frame (or the TLS handshake) took longer than "
                         "limits.socket_frame_timeout (%.1f s)",
             g->name, peer, (double)g->frame_ns / 1e9);
  else
    log_info(&g->s->log, "%s: %s: closing: nothing received for limits.socket_idle_timeout "
                         "(%.1f s)",
             g->name, peer, (double)g->idle_ns / 1e9);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  sock_guard *g = arg;
  g->sweep_cb(g->sweep_arg, time_mono_ns());
}

int sock_guard_sweep_start(sock_guard *g, void (*cb)(void *arg, int64_t now_ns), void *arg) {
  int64_t shortest = 0;
  if (g->idle_ns > 0) shortest = g->idle_ns;
  if (g->frame_ns > 0 && (!shortest || g->frame_ns < shortest)) shortest = g->frame_ns;
  if (!shortest) return 0;
  int64_t every = shortest / 4;
  if (every < 50 * 1000000LL) every = 50 * 1000000LL;
  if (every > 500 * 1000000LL) every = 500 * 1000000LL;
  g->sweep_cb = cb;
  g->sweep_arg = arg;
  g->sweep = event_new(g->s->base, -1, EV_PERSIST, on_sweep, g);
  if (!g->sweep) return -1;
  struct timeval tv = {(time_t)(every / 1000000000LL), (suseconds_t)((every % 1000000000LL) / 1000)};
  return event_add(g->sweep, &tv);
}
