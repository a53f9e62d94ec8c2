/* outputs_access: who may have which output (issue 7; docs/outputs.md "Names" and "What
 * tenants may create and reach"): the destination types open to tenants
 * (outputs.tenant_types; file and stdout never), the SSRF guard each tenant-owned output's
 * destination gets (netguard.h), and which output a request naming NAME means (names are
 * unique per owner). Called from outputs.c (create, update) and the HTTP layer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "outputs/dispatcher.h"
#include "outputs/outputs.h"

/* 1 if type is an item of the comma list (spaces around items ignored). */
static int type_listed(const char *list, const char *type) {
  size_t tn = strlen(type);
  for (const char *p = list; *p;) {
    while (*p == ' ' || *p == ',') p++;
    size_t n = strcspn(p, ",");
    size_t m = n;
    while (m > 0 && p[m - 1] == ' ') m--;
    if (m == tn && m > 0 && strncmp(p, type, tn) == 0) return 1;
    p += n;
  }
  return 0;
}

/* Destinations that write on the daemon's own host: admin-only whatever the settings say. */
static int type_host_local(const char *type) {
  return strcmp(type, "file") == 0 || strcmp(type, "stdout") == 0;
}

int outputs_tenant_types_check(const char *list, char *err, size_t errlen) {
  if (strcmp(list, "none") == 0) return 0;
  int items = 0;
  for (const char *p = list; *p;) {
    while (*p == ' ' || *p == ',') p++;
    size_t n = strcspn(p, ",");
    size_t m = n;
    while (m > 0 && p[m - 1] == ' ') m--;
    if (m > 0) {
      char t[32];
      if (m >= sizeof t) m = sizeof t - 1;
      memcpy(t, p, m);
      t[m] = '\0';
      if (type_host_local(t)) {
        snprintf(err, errlen, "outputs.tenant_types: '%s' cannot be given to tenants: a %s "
                 "output writes where the daemon can write (%s), so only admins may create "
                 "one", t, t, strcmp(t, "file") == 0 ? "any path it may open" : "its log");
        return -1;
      }
      if (!outputs_dest_find(t)) {
        snprintf(err, errlen, "outputs.tenant_types: unknown output type '%s' (expected a comma "
                 "list of webhook, kafka, amqp, or none)", t);
        return -1;
      }
      items++;
    }
    p += n;
  }
  if (!items) {
    snprintf(err, errlen, "outputs.tenant_types: expected a comma list of types (webhook, "
             "kafka, amqp) or none");
    return -1;
  }
  return 0;
}

/* See dispatcher.h. */
const output_guard *output_guard_of(output *o) {
  if (!o->sp.owner || !*o->sp.owner || !o->set) return NULL;
  o->guard.owner = o->sp.owner;
  o->guard.allow_local = o->set->opt.allow_local_targets;
  o->guard.listeners = o->set->listeners;
  o->guard.nlisteners = o->set->nlisteners;
  return &o->guard;
}

/* See dispatcher.h. */
int output_caller_may_type(const output_set *set, const outputs_caller *c, const char *name,
                           const char *type, int old, char *err, size_t errlen) {
  if (!c || c->admin) return 0;
  const char *list = set->opt.tenant_types ? set->opt.tenant_types : OUTPUTS_TENANT_TYPES_DEFAULT;
  if (!type_host_local(type) && type_listed(list, type)) return 0;
  char subject[160];
  if (old) snprintf(subject, sizeof subject, "output '%s' is of type '%s', which", name, type);
  else snprintf(subject, sizeof subject, "output type '%s'", type);
  const char *what = old ? "changing it" : "creating or changing one";
  if (type_host_local(type))
    snprintf(err, errlen, "%s writes where the daemon can write (%s): %s needs an admin token",
             subject, strcmp(type, "file") == 0 ? "a path on its host" : "its standard output",
             what);
  else
    snprintf(err, errlen, "%s is not open to tenants (outputs.tenant_types: %s): %s needs an "
             "admin token", subject, list, what);
  return -1;
}

/* See dispatcher.h. */
int output_check_literal_targets(output_set *set, output *o, char *err, size_t errlen) {
  o->set = set;
  const output_guard *g = output_guard_of(o);
  if (!g || !o->sp.ops->check_targets) return 0;
  return o->sp.ops->check_targets(o->root, g, err, errlen);
}

/* See outputs.h. */
int outputs_resolve(output_set *set, const char *name, const char *owner, const char *own_tenant,
                    outputs_may_fn may, void *arg, char *ref) {
  pthread_mutex_lock(&set->mu);
  output *hit = NULL, *own = NULL;
  size_t visible = 0;
  for (output *o = set->head; o; o = o->next) {
    if (strcmp(o->sp.name, name) != 0 || (may && !may(arg, o->sp.owner, o->sp.scope))) continue;
    if (owner && strcmp(o->sp.owner, owner) != 0) continue;
    visible++;
    hit = o;
    if (own_tenant && strcmp(o->sp.owner, own_tenant) == 0) own = o;
  }
  int rc = 0;
  if (own) hit = own;
  else if (visible == 0) rc = -ENOENT;
  else if (visible > 1) rc = -ENOTUNIQ;
  if (rc == 0) snprintf(ref, OUTPUTS_REF_MAX + 1, "%s", hit->key);
  pthread_mutex_unlock(&set->mu);
  return rc;
}
