/* Fuzz target: the pure access-control functions of src/server/auth.h on arbitrary tenants,
 * streams, types and token restrictions. The input is split at NUL bytes into: the token's
 * tenant, its streams list, its type-prefix list, then an event's tenant, stream, type and a
 * filter's asked tenant. Checks invariants, not just crashes:
 *   - a filter narrowed for a principal never matches a tenant the principal cannot see
 *     (the tenant it asks is kept only when visible, else the window is empty);
 *   - an event accepted by auth_check_event has a tenant in the principal's subtree (exact
 *     tenant for user);
 *   - an accepted event is visible to the principal that sent it;
 *   - auth_tenant_in_subtree agrees with its definition. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/auth.h"

static const char *next_part(const uint8_t **p, const uint8_t *end, char *out, size_t cap) {
  size_t n = 0;
  while (*p < end && **p != 0) {
    if (n + 1 < cap) out[n++] = (char)**p;
    (*p)++;
  }
  if (*p < end) (*p)++;
  out[n] = '\0';
  return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const uint8_t *p = data + 1, *end = data + size;
  auth_principal pr;
  memset(&pr, 0, sizeof pr);
  pr.role = (auth_role)(data[0] % AUTH_ROLE__COUNT);
  char etenant[300], estream[300], etype[300], asked[300];
  next_part(&p, end, pr.tenant, sizeof pr.tenant);
  next_part(&p, end, pr.streams, sizeof pr.streams);
  next_part(&p, end, pr.type_prefixes, sizeof pr.type_prefixes);
  next_part(&p, end, etenant, sizeof etenant);
  next_part(&p, end, estream, sizeof estream);
  next_part(&p, end, etype, sizeof etype);
  next_part(&p, end, asked, sizeof asked);
  size_t tn = strlen(etenant), rn = strlen(pr.tenant);

  /* subtree by definition */
  int in = auth_tenant_in_subtree(etenant, tn, pr.tenant);
  int def = rn == 0 || (tn >= rn && memcmp(etenant, pr.tenant, rn) == 0 &&
                        (tn == rn || etenant[rn] == '/'));
  if (in != def) abort();
  (void)auth_tenant_valid(etenant, tn);
  (void)auth_host_is_loopback(etenant);

  /* a narrowed filter asking for a tenant keeps it only if visible */
  store_filter f;
  store_filter_init(&f);
  if (asked[0]) f.exact[EVF_TENANT] = asked;
  if (estream[0] && (data[0] & 0x10)) f.exact[EVF_STREAM] = estream;
  char err[256];
  if (auth_restrict_filter(&pr, &f, NULL, err, sizeof err) == 0 && f.until_ns > f.since_ns) {
    const char *t = f.exact[EVF_TENANT];
    strv st = {f.exact[EVF_STREAM] ? f.exact[EVF_STREAM] : "", 0};
    st.n = strlen(st.p);
    if (t) {
      size_t n = strlen(t);
      int vis_tenant = pr.role == AUTH_ROLE_USER ? (n == rn && memcmp(t, pr.tenant, n) == 0)
                                                 : auth_tenant_in_subtree(t, n, pr.tenant);
      if (!vis_tenant && !(rn == 0 && pr.role != AUTH_ROLE_USER)) abort();
    } else if (pr.role == AUTH_ROLE_USER || rn) {
      if (!f.tenant_prefix || strcmp(f.tenant_prefix, pr.tenant) != 0) abort();
    }
  }

  /* an accepted event is within the principal's tenants */
  event ev;
  memset(&ev, 0, sizeof ev);
  ev.f[EVF_TENANT] = (strv){etenant, tn};
  ev.f[EVF_STREAM] = (strv){estream, strlen(estream)};
  ev.f[EVF_TYPE] = (strv){etype, strlen(etype)};
  char field[64], reason[256];
  if (auth_check_event(&pr, &ev, tn != 0, field, sizeof field, reason, sizeof reason) == 0) {
    strv t = ev.f[EVF_TENANT];
    if (rn) {
      int ok = pr.role == AUTH_ROLE_USER ? (t.n == rn && memcmp(t.p, pr.tenant, rn) == 0)
                                         : auth_tenant_in_subtree(t.p, t.n, pr.tenant);
      if (!ok) abort();
    }
    if (!auth_visible(&pr, t, ev.f[EVF_STREAM], ev.f[EVF_TYPE])) abort(); /* sees what it sent */
  }
  return 0;
}
