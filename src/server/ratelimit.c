/* ratelimit: token buckets in a chained hash table (see ratelimit.h). */
#include "server/ratelimit.h"

#include <stdlib.h>
#include <string.h>

typedef struct bucket {
  struct bucket *next;
  double tokens;      /* at last_ns */
  int64_t last_ns;
  size_t keylen;
  char key[];
} bucket;

struct ratelimit {
  double rate, burst;
  size_t max_keys, nkeys, nslots;
  uint64_t refused;
  bucket **slots;
};

static uint64_t hash_key(const char *k, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
  return h;
}

ratelimit *ratelimit_new(double rate, double burst, size_t max_keys) {
  if (!(rate > 0) || burst < 1 || max_keys < 1) return NULL;
  ratelimit *rl = calloc(1, sizeof *rl);
  if (!rl) return NULL;
  rl->rate = rate;
  rl->burst = burst;
  rl->max_keys = max_keys;
  rl->nslots = 64;
  while (rl->nslots < max_keys && rl->nslots < (1u << 20)) rl->nslots *= 2;
  rl->slots = calloc(rl->nslots, sizeof *rl->slots);
  if (!rl->slots) {
    free(rl);
    return NULL;
  }
  return rl;
}

void ratelimit_free(ratelimit *rl) {
  if (!rl) return;
  for (size_t i = 0; i < rl->nslots; i++)
    for (bucket *b = rl->slots[i], *next; b; b = next) {
      next = b->next;
      free(b);
    }
  free(rl->slots);
  free(rl);
}

/* Tokens in b at now_ns (refilled, capped at burst). */
static double level(const ratelimit *rl, const bucket *b, int64_t now_ns) {
  double t = b->tokens;
  if (now_ns > b->last_ns) t += (double)(now_ns - b->last_ns) * rl->rate / 1e9;
  return t > rl->burst ? rl->burst : t;
}

/* Drop every bucket that has refilled completely (it is the same as an absent key). */
static void evict_full(ratelimit *rl, int64_t now_ns) {
  for (size_t i = 0; i < rl->nslots; i++) {
    bucket **pp = &rl->slots[i];
    while (*pp) {
      bucket *b = *pp;
      if (level(rl, b, now_ns) >= rl->burst) {
        *pp = b->next;
        free(b);
        rl->nkeys--;
      } else {
        pp = &b->next;
      }
    }
  }
}

/* ns until `need` more tokens arrive (at least 1). */
static int64_t wait_ns(const ratelimit *rl, double need) {
  double ns = need * 1e9 / rl->rate;
  return ns < 1 ? 1 : ns > 9e18 ? INT64_MAX : (int64_t)ns + 1;
}

int64_t ratelimit_take(ratelimit *rl, const char *key, size_t keylen, int64_t now_ns) {
  size_t slot = (size_t)(hash_key(key, keylen) & (rl->nslots - 1));
  bucket *b = rl->slots[slot];
  while (b && !(b->keylen == keylen && memcmp(b->key, key, keylen) == 0)) b = b->next;
  if (!b) {
    if (rl->nkeys >= rl->max_keys) evict_full(rl, now_ns);
    if (rl->nkeys >= rl->max_keys) {
      rl->refused++;
      return wait_ns(rl, 1);
    }
    b = malloc(sizeof *b + keylen);
    if (!b) {
      rl->refused++;
      return wait_ns(rl, 1);
    }
    memcpy(b->key, key, keylen);
    b->keylen = keylen;
    b->tokens = rl->burst;
    b->last_ns = now_ns;
    b->next = rl->slots[slot];
    rl->slots[slot] = b;
    rl->nkeys++;
  }
  double t = level(rl, b, now_ns);
  if (now_ns > b->last_ns) b->last_ns = now_ns;
  b->tokens = t;
  if (t >= 1) {
    b->tokens = t - 1;
    return 0;
  }
  rl->refused++;
  return wait_ns(rl, 1 - t);
}

size_t ratelimit_keys(const ratelimit *rl) { return rl->nkeys; }
uint64_t ratelimit_refused(const ratelimit *rl) { return rl->refused; }
