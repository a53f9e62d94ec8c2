/* netguard: see netguard.h. */
#include "outputs/netguard.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The class of an IPv4 address in host byte order. */
static netguard_class classify4(uint32_t a) {
  if ((a >> 24) == 127) return NETGUARD_LOOPBACK;
  if ((a >> 24) == 0) return NETGUARD_UNSPECIFIED;
  if ((a >> 24) == 10 || (a & 0xfff00000u) == 0xac100000u || (a & 0xffff0000u) == 0xc0a80000u)
    return NETGUARD_PRIVATE;
  if ((a & 0xffc00000u) == 0x64400000u) return NETGUARD_PRIVATE; /* 100.64/10, carrier NAT */
  if ((a & 0xffff0000u) == 0xa9fe0000u) return NETGUARD_LINK_LOCAL;
  return NETGUARD_PUBLIC;
}

/* 1 if b (16 bytes) is an IPv4-mapped IPv6 address ::ffff:a.b.c.d; *v4 gets a.b.c.d. */
static int mapped4(const unsigned char *b, uint32_t *v4) {
  static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (memcmp(b, prefix, 12) != 0) return 0;
  *v4 = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
  return 1;
}

netguard_class netguard_classify(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    return classify4(ntohl(s4->sin_addr.s_addr));
  }
  if (sa->sa_family != AF_INET6) return NETGUARD_PUBLIC;
  const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
  uint32_t v4;
  if (mapped4(b, &v4)) return classify4(v4);
  /* 64:ff9b::/96, the NAT64 well-known prefix: a NAT64 gateway connects to the IPv4 address
   * in the last 32 bits, so it is judged by that address. */
  static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (memcmp(b, nat64, 12) == 0)
    return classify4((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
  static const unsigned char zero[16] = {0};
  if (memcmp(b, zero, 15) == 0) return b[15] == 0 ? NETGUARD_UNSPECIFIED
                                  : b[15] == 1 ? NETGUARD_LOOPBACK
                                               : NETGUARD_PUBLIC;
  if ((b[0] & 0xfe) == 0xfc) return NETGUARD_PRIVATE;                      /* fc00::/7 */
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return NETGUARD_LINK_LOCAL;   /* fe80::/10 */
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return NETGUARD_PRIVATE;      /* fec0::/10 (site-local) */
  return NETGUARD_PUBLIC;
}

const char *netguard_class_name(netguard_class c) {
  switch (c) {
    case NETGUARD_LOOPBACK: return "loopback";
    case NETGUARD_PRIVATE: return "private";
    case NETGUARD_LINK_LOCAL: return "link-local";
    case NETGUARD_UNSPECIFIED: return "unspecified";
    default: return "public";
  }
}

void netguard_addr_text(const struct sockaddr *sa, char *out, size_t outlen) {
  const void *a = sa->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                  : sa->sa_family == AF_INET6
                      ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                      : NULL;
  if (!a || !inet_ntop(sa->sa_family, a, out, (socklen_t)outlen))
    snprintf(out, outlen, "(address family %d)", (int)sa->sa_family);
}

static int port_of(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET) return ntohs(((const struct sockaddr_in *)sa)->sin_port);
  if (sa->sa_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
  return 0;
}

/* The address as 16 bytes (IPv4 as ::ffff:a.b.c.d), so v4 and mapped v6 compare equal.
 * Returns 0, or -1 for another family. */
static int addr16(const struct sockaddr *sa, unsigned char out[16]) {
  if (sa->sa_family == AF_INET) {
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    return 0;
  }
  if (sa->sa_family == AF_INET6) {
    memcpy(out, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, 16);
    return 0;
  }
  return -1;
}

/* 1 if a16 is an address of one of this host's interfaces. */
static int host_has_addr(const unsigned char a16[16]) {
  struct ifaddrs *ifs;
  if (getifaddrs(&ifs) != 0) return 0;
  int found = 0;
  for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next) {
    unsigned char b[16];
    if (i->ifa_addr && addr16(i->ifa_addr, b) == 0 && memcmp(a16, b, 16) == 0) found = 1;
  }
  freeifaddrs(ifs);
  return found;
}

/* Linux: the inodes of the TCP sockets listening on port at address a16 (or on a wildcard
 * address; any = 1: on any address, for a target 0.0.0.0 or ::, which Linux connects to the
 * host itself) per /proc/net/tcp and tcp6, into inodes[0..cap); returns how many. */
static size_t proc_listeners(int port, const unsigned char a16[16], int any,
                             unsigned long *inodes, size_t cap) {
  static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
  size_t n = 0;
  for (size_t f = 0; f < 2; f++) {
    FILE *fp = fopen(files[f], "r");
    if (!fp) continue;
    char line[512];
    if (!fgets(line, sizeof line, fp)) { /* header */
      fclose(fp);
      continue;
    }
    while (n < cap && fgets(line, sizeof line, fp)) {
      char local[64];
      unsigned lport, state;
      unsigned long inode;
      /* "sl: local rem st tx:rx tr:when retr uid timeout inode" */
      if (sscanf(line, " %*[^:]: %63[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*s %*s %lu", local,
                 &lport, &state, &inode) != 4)
        continue;
      if (state != 0x0A || (int)lport != port) continue; /* 0A = LISTEN */
      unsigned char l16[16];
      size_t hex = strlen(local);
      if (hex == 8) {
        uint32_t w = (uint32_t)strtoul(local, NULL, 16);
        memset(l16, 0, 10);
        l16[10] = l16[11] = 0xff;
        memcpy(l16 + 12, &w, 4); /* printed as the host-order value of the network bytes */
      } else if (hex == 32) {
        for (int k = 0; k < 4; k++) {
          char word[9];
          memcpy(word, local + 8 * k, 8);
          word[8] = '\0';
          uint32_t w = (uint32_t)strtoul(word, NULL, 16);
          memcpy(l16 + 4 * k, &w, 4);
        }
      } else {
        continue;
      }
      static const unsigned char any6[16] = {0};
      static const unsigned char any4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
      if (any || memcmp(l16, a16, 16) == 0 || memcmp(l16, any6, 16) == 0 ||
          memcmp(l16, any4, 16) == 0)
        inodes[n++] = inode;
    }
    fclose(fp);
  }
  return n;
}

/* Linux: 1 if this process holds one of the socket inodes. */
static int proc_self_has_socket(const unsigned long *inodes, size_t n) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return 0;
  int found = 0;
  struct dirent *e;
  while (!found && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[64], target[64];
    snprintf(path, sizeof path, "/proc/self/fd/%.20s", e->d_name);
    ssize_t k = readlink(path, target, sizeof target - 1);
    if (k <= 0) continue;
    target[k] = '\0';
    unsigned long ino;
    if (sscanf(target, "socket:[%lu]", &ino) != 1) continue;
    for (size_t i = 0; i < n && !found; i++) found = inodes[i] == ino;
  }
  closedir(d);
  return found;
}

/* 1 if sa (with its port) reaches one of the listeners: one named in the configuration, or
 * (Linux; this covers listeners on port 0) a listening socket of this very process on a
 * local address. */
static int is_own_listener(const output_guard *g, const struct sockaddr *sa) {
  unsigned char t[16];
  int port = port_of(sa);
  if (addr16(sa, t) != 0 || port == 0) return 0;
  int local = -1; /* computed once, when a wildcard listener needs it */
  for (size_t i = 0; i < g->nlisteners; i++) {
    const struct sockaddr *l = (const struct sockaddr *)&g->listeners[i].addr;
    unsigned char a[16];
    if (port_of(l) != port || addr16(l, a) != 0) continue;
    if (memcmp(a, t, 16) == 0) return 1;
    if (g->listeners[i].wildcard) {
      if (local < 0) {
        netguard_class c = netguard_classify(sa);
        local = c == NETGUARD_LOOPBACK || c == NETGUARD_UNSPECIFIED || host_has_addr(t);
      }
      if (local) return 1;
    }
  }
  if (local < 0) {
    netguard_class c = netguard_classify(sa);
    local = c == NETGUARD_LOOPBACK || c == NETGUARD_UNSPECIFIED || host_has_addr(t);
  }
  if (!local) return 0;
  unsigned long inodes[64];
  size_t n = proc_listeners(port, t, netguard_classify(sa) == NETGUARD_UNSPECIFIED, inodes,
                            sizeof inodes / sizeof inodes[0]);
  return n > 0 && proc_self_has_socket(inodes, n);
}

int output_guard_check(const output_guard *g, const struct sockaddr *sa, char *err,
                       size_t errlen) {
  if (!g) return 0;
  char text[INET6_ADDRSTRLEN + 16];
  netguard_class c = netguard_classify(sa);
  if (!g->allow_local && c != NETGUARD_PUBLIC) {
    netguard_addr_text(sa, text, sizeof text);
    snprintf(err, errlen, "%s is %s %s address; outputs of tenant %s may not reach the local "
             "network (outputs.allow_local_targets)", text,
             c == NETGUARD_UNSPECIFIED ? "an" : "a", netguard_class_name(c), g->owner);
    return -1;
  }
  if (is_own_listener(g, sa)) {
    netguard_addr_text(sa, text, sizeof text);
    snprintf(err, errlen, "%s port %d is one of eventd's own listeners; outputs of tenant %s "
             "may not send to eventd itself", text, port_of(sa), g->owner);
    return -1;
  }
  return 0;
}

/* Copy host[0..n) without brackets into out. Returns 0 or -1 (too long / empty). */
static int host_copy(const char *host, size_t n, char *out, size_t outlen) {
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']') host++, n -= 2;
  if (n == 0 || n >= outlen) return -1;
  memcpy(out, host, n);
  out[n] = '\0';
  return 0;
}

int output_guard_check_host(const output_guard *g, const char *what, const char *host,
                            size_t hostlen, int port, char *err, size_t errlen) {
  if (!g) return 0;
  char h[256];
  if (host_copy(host, hostlen, h, sizeof h) != 0) return 0; /* the destination's check says */
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct in_addr a4;
  struct in6_addr a6;
  /* inet_aton also takes the short forms a resolver would ("127.1", "0x7f000001") */
  if (inet_aton(h, &a4)) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    s4->sin_addr = a4;
    s4->sin_port = htons((uint16_t)port);
  } else if (inet_pton(AF_INET6, h, &a6) == 1) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_addr = a6;
    s6->sin6_port = htons((uint16_t)port);
  } else {
    return 0; /* a name: checked when it is resolved, at connect time */
  }
  char msg[384];
  if (output_guard_check(g, (const struct sockaddr *)&ss, msg, sizeof msg) == 0) return 0;
  snprintf(err, errlen, "%s: %s", what, msg);
  return -1;
}

int netguard_url_host(const char *url, const char **host, size_t *hostlen, int *port) {
  const char *p = strstr(url, "://");
  if (!p) return -1;
  p += 3;
  size_t alen = strcspn(p, "/?#");
  const char *end = p + alen;
  for (const char *q = p; q < end; q++)
    if (*q == '@') p = q + 1; /* userinfo */
  const char *hend;
  if (*p == '[') {
    const char *rb = memchr(p, ']', (size_t)(end - p));
    if (!rb) return -1;
    hend = rb + 1;
  } else {
    hend = memchr(p, ':', (size_t)(end - p));
    if (!hend) hend = end;
  }
  *host = p;
  *hostlen = (size_t)(hend - p);
  *port = 0;
  if (hend < end && *hend == ':') {
    int v = 0;
    for (const char *q = hend + 1; q < end; q++) {
      if (*q < '0' || *q > '9' || v > 65535) return -1;
      v = v * 10 + (*q - '0');
    }
    *port = v > 65535 ? 0 : v;
  }
  return *hostlen ? 0 : -1;
}

int output_guard_resolve(const output_guard *g, const char *host, int port,
                         struct sockaddr_storage *out, socklen_t *outlen, char *err,
                         size_t errlen) {
  char h[256], ps[16];
  if (host_copy(host, strlen(host), h, sizeof h) != 0) {
    snprintf(err, errlen, "host: not a usable host name");
    return -1;
  }
  snprintf(ps, sizeof ps, "%d", port);
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  int rc = getaddrinfo(h, ps, &hints, &res);
  if (rc != 0) {
    snprintf(err, errlen, "cannot resolve %s: %s", h, gai_strerror(rc));
    return -1;
  }
  int found = 0;
  char first_err[384] = "";
  for (struct addrinfo *ai = res; ai && !found; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof *out) continue;
    char msg[384];
    if (output_guard_check(g, ai->ai_addr, msg, sizeof msg) == 0) {
      memcpy(out, ai->ai_addr, ai->ai_addrlen);
      *outlen = ai->ai_addrlen;
      found = 1;
    } else if (!first_err[0]) {
      snprintf(first_err, sizeof first_err, "%s", msg);
    }
  }
  freeaddrinfo(res);
  if (found) return 0;
  snprintf(err, errlen, "%s", first_err[0] ? first_err : "no usable address");
  return -1;
}

int netguard_listeners_resolve(const char *const *listen, size_t nlisten, netguard_listener **out,
                               size_t *n) {
  *out = NULL;
  *n = 0;
  size_t cap = 0;
  for (size_t i = 0; i < nlisten; i++) {
    const char *s = listen[i];
    if (!s || strcmp(s, "off") == 0) continue;
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s) continue;
    int port = atoi(colon + 1);
    if (port <= 0 || port > 65535) continue;
    char h[256];
    if (host_copy(s, (size_t)(colon - s), h, sizeof h) != 0) continue;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(h, colon + 1, &hints, &res) != 0) continue;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
      if (ai->ai_addrlen > sizeof(struct sockaddr_storage)) continue;
      if (*n == cap) {
        size_t nc = cap ? cap * 2 : 8;
        netguard_listener *g = realloc(*out, nc * sizeof *g);
        if (!g) {
          freeaddrinfo(res);
          free(*out);
          *out = NULL;
          *n = 0;
          return -1;
        }
        *out = g;
        cap = nc;
      }
      netguard_listener *l = &(*out)[(*n)++];
      memset(l, 0, sizeof *l);
      memcpy(&l->addr, ai->ai_addr, ai->ai_addrlen);
      l->wildcard = netguard_classify(ai->ai_addr) == NETGUARD_UNSPECIFIED;
    }
    freeaddrinfo(res);
  }
  return 0;
}
