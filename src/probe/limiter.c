/* limiter: de-duplication and rate limiting of probe events (see limiter.h).
 *
 * Keys live in an open-addressing table (linear probing, tombstone-free: a full table evicts
 * the oldest entry by scanning, which is rare and bounded by LIMITER_MAX_KEYS). Types are a
 * small array: the probe has a handful of them. */
#include "probe/limiter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

#define MAX_TYPES 32
#define TABLE_SIZE (LIMITER_MAX_KEYS * 2)

typedef struct key_entry {
  uint64_t hash;      /* 0 = empty */
  int64_t reported_ns;
  char key[208];      /* "type|dedup_key" */
} key_entry;

typedef struct type_state {
  char type[48];
  double tokens;
  int64_t refill_ns;
  uint64_t duplicates, rate_limited;
  int64_t first_ns, last_ns;
} type_state;

struct limiter {
  limiter_config cfg;
  key_entry *table;
  size_t nkeys;
  type_state types[MAX_TYPES];
  int ntypes;
  int64_t last_summary_ns;
  uint64_t total;
};

limiter *limiter_new(const limiter_config *cfg) {
  limiter *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  l->table = calloc(TABLE_SIZE, sizeof *l->table);
  if (!l->table) {
    free(l);
    return NULL;
  }
  l->cfg = *cfg;
  if (l->cfg.summary_interval_ns <= 0) l->cfg.summary_interval_ns = 60 * NS_PER_SEC;
  return l;
}

void limiter_free(limiter *l) {
  if (!l) return;
  free(l->table);
  free(l);
}

uint64_t limiter_total_suppressed(const limiter *l) { return l->total; }

static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h ? h : 1;
}

static type_state *type_of(limiter *l, const char *type, int64_t now_ns) {
  for (int i = 0; i < l->ntypes; i++)
    if (strcmp(l->types[i].type, type) == 0) return &l->types[i];
  if (l->ntypes >= MAX_TYPES) return NULL;
  type_state *t = &l->types[l->ntypes++];
  memset(t, 0, sizeof *t);
  snprintf(t->type, sizeof t->type, "%s", type);
  t->tokens = (double)l->cfg.rate_per_minute;
  t->refill_ns = now_ns;
  return t;
}

/* Remove the entry at slot i and re-insert the cluster after it (backward-shift delete). */
static void table_delete(limiter *l, size_t i) {
  l->table[i].hash = 0;
  l->nkeys--;
  size_t j = (i + 1) % TABLE_SIZE;
  while (l->table[j].hash) {
    key_entry e = l->table[j];
    l->table[j].hash = 0;
    size_t k = e.hash % TABLE_SIZE;
    while (l->table[k].hash) k = (k + 1) % TABLE_SIZE;
    l->table[k] = e;
    j = (j + 1) % TABLE_SIZE;
  }
}

/* The entry for key (found or created; reported_ns 0 when new). */
static key_entry *key_lookup(limiter *l, const char *key) {
  uint64_t h = fnv1a(key);
  size_t i = h % TABLE_SIZE;
  while (l->table[i].hash) {
    if (l->table[i].hash == h && strcmp(l->table[i].key, key) == 0) return &l->table[i];
    i = (i + 1) % TABLE_SIZE;
  }
  if (l->nkeys >= LIMITER_MAX_KEYS) {
    size_t oldest = 0;
    int64_t t = INT64_MAX;
    for (size_t k = 0; k < TABLE_SIZE; k++)
      if (l->table[k].hash && l->table[k].reported_ns < t) {
        t = l->table[k].reported_ns;
        oldest = k;
      }
    table_delete(l, oldest);
    i = h % TABLE_SIZE;
    while (l->table[i].hash) i = (i + 1) % TABLE_SIZE;
  }
  key_entry *e = &l->table[i];
  e->hash = h;
  e->reported_ns = 0;
  snprintf(e->key, sizeof e->key, "%s", key);
  l->nkeys++;
  return e;
}

static void count(limiter *l, type_state *t, int dup, int64_t now_ns) {
  if (dup) t->duplicates++;
  else t->rate_limited++;
  if (t->first_ns == 0) t->first_ns = now_ns;
  t->last_ns = now_ns;
  l->total++;
}

int limiter_admit(limiter *l, const probe_event *ev, int64_t now_ns) {
  if (strncmp(ev->type, "probe.", 6) == 0) return 1;
  if (l->last_summary_ns == 0) l->last_summary_ns = now_ns; /* the first interval starts now */
  type_state *t = type_of(l, ev->type, now_ns);
  if (!t) return 1; /* more types than expected: never drop for bookkeeping reasons */
  key_entry *e = NULL;
  if (l->cfg.dedup_window_ns > 0 && ev->dedup_key[0]) {
    char key[208];
    snprintf(key, sizeof key, "%s|%s", ev->type, ev->dedup_key);
    e = key_lookup(l, key);
    if (e->reported_ns && now_ns - e->reported_ns < l->cfg.dedup_window_ns) {
      count(l, t, 1, now_ns);
      return 0;
    }
  }
  if (l->cfg.rate_per_minute > 0) {
    double rate = (double)l->cfg.rate_per_minute;
    t->tokens += (double)(now_ns - t->refill_ns) * rate / (60.0 * NS_PER_SEC);
    if (t->tokens > rate) t->tokens = rate;
    t->refill_ns = now_ns;
    if (t->tokens < 1.0) {
      count(l, t, 0, now_ns);
      return 0;
    }
    t->tokens -= 1.0;
  }
  if (e) e->reported_ns = now_ns;
  return 1;
}

int limiter_summaries(limiter *l, int64_t now_ns, int force, probe_event *out, int max) {
  if (l->last_summary_ns == 0) l->last_summary_ns = now_ns;
  if (!force && now_ns - l->last_summary_ns < l->cfg.summary_interval_ns) return 0;
  int n = 0;
  for (int i = 0; i < l->ntypes && n < max; i++) {
    type_state *t = &l->types[i];
    if (t->duplicates == 0 && t->rate_limited == 0) continue;
    probe_event *ev = &out[n++];
    probe_event_init(ev, "probe.suppressed", PROBE_SEV_WARN, "probe.limiter", "probe");
    char first[TIME_RFC3339_LEN + 1], last[TIME_RFC3339_LEN + 1], msg[256];
    time_format_rfc3339(t->first_ns, first);
    time_format_rfc3339(t->last_ns, last);
    probe_event_set_cstr(ev, "suppressed_type", t->type);
    probe_event_set_uint(ev, "suppressed", t->duplicates + t->rate_limited);
    probe_event_set_uint(ev, "duplicates", t->duplicates);
    probe_event_set_uint(ev, "rate_limited", t->rate_limited);
    probe_event_set_cstr(ev, "first_time", first);
    probe_event_set_cstr(ev, "last_time", last);
    probe_event_set_int(ev, "window_seconds", l->cfg.dedup_window_ns / NS_PER_SEC);
    probe_event_set_int(ev, "rate_per_minute", l->cfg.rate_per_minute);
    snprintf(msg, sizeof msg, "%llu %s events suppressed (%llu duplicates, %llu over the rate limit)",
             (unsigned long long)(t->duplicates + t->rate_limited), t->type, (unsigned long long)t->duplicates,
             (unsigned long long)t->rate_limited);
    probe_event_set_message(ev, msg, strlen(msg));
    ev->time_ns = now_ns;
    t->duplicates = t->rate_limited = 0;
    t->first_ns = t->last_ns = 0;
  }
  l->last_summary_ns = now_ns;
  return n;
}
