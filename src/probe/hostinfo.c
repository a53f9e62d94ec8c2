/* hostinfo: the host facts every probe event carries (probe_host in probe_event.h). */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "probe/probe_event.h"

/* Read the first line of path into out (without the newline); "" when unreadable. */
static void read_first_line(const char *path, char *out, size_t cap) {
  out[0] = '\0';
  FILE *f = fopen(path, "r");
  if (!f) return;
  if (fgets(out, (int)cap, f) == NULL) out[0] = '\0';
  fclose(f);
  out[strcspn(out, "\r\n")] = '\0';
}

/* Fill h; see probe_event.h. */
void probe_host_load(probe_host *h) {
  memset(h, 0, sizeof *h);
  if (gethostname(h->name, sizeof h->name - 1) != 0) h->name[0] = '\0';
  read_first_line("/etc/machine-id", h->id, sizeof h->id);
  struct utsname u;
  if (uname(&u) == 0) snprintf(h->kernel, sizeof h->kernel, "%s", u.release);
  read_first_line("/proc/sys/kernel/random/boot_id", h->boot_id, sizeof h->boot_id);
  struct ifaddrs *ifs = NULL;
  if (getifaddrs(&ifs) == 0) {
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
      if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK)) continue;
      const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)i->ifa_addr;
      if (inet_ntop(AF_INET, &sin->sin_addr, h->ip, sizeof h->ip)) break;
    }
    freeifaddrs(ifs);
  }
}
