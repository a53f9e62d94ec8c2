/* retention: drop whole sealed segments, oldest first — by age (the segment's newest
 * observed time is older than retention_age_ns) and by size (while segments and indexes
 * together exceed retention_max_bytes). The active segment is never dropped. Runs on the
 * writer thread (every few seconds and after each roll). Readers that hold a reference to a
 * dropped segment finish with it; its files are unlinked at once (the open descriptor and
 * mapping keep the data readable until the last reference goes). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/store_internal.h"

/* Remove the client ids of g from the client map (caller holds the write lock). */
void retention_forget_clients(store *s, seg *g) {
  segview v;
  seg_view(g, &v);
  const char *val;
  size_t n;
  postings p;
  if (g->mem) {
    for (size_t j = 0; j < g->mem->dict[DICT_CLIENT_IDS].nvals; j++) {
      memidx_value(g->mem, DICT_CLIENT_IDS, j, &val, &n, &p);
      if (p.n && p.ids[0] < v.n)
        cmap_delete(&s->clients, store_hash(s->hash_seed, val, n), segview_seq(&v, p.ids[0]));
    }
    return;
  }
  uint32_t cnt = index_dict_count(&g->idx, DICT_CLIENT_IDS);
  for (uint32_t j = 0; j < cnt; j++) {
    if (!index_dict_value(&g->idx, DICT_CLIENT_IDS, j, &val, &n, &p) || !p.n || p.ids[0] >= v.n)
      continue;
    cmap_delete(&s->clients, store_hash(s->hash_seed, val, n), segview_seq(&v, p.ids[0]));
  }
}

static int should_drop(const store *s, const seg *g, uint64_t total, int64_t now) {
  if (s->opt.retention_max_bytes && total > s->opt.retention_max_bytes) return 1;
  if (s->opt.retention_age_ns > 0 && g->idx.meta.count > 0 &&
      g->idx.meta.max_obs < now - s->opt.retention_age_ns)
    return 1;
  return 0;
}

/* See store_internal.h. */
void retention_run(store *s) {
  if (!s->opt.retention_age_ns && !s->opt.retention_max_bytes) return;
  int64_t now = store_now_ns();
  size_t ndrop = 0;
  uint64_t total = s->total_bytes; /* the writer is the only one changing it */
  while (ndrop + 1 < s->nsegs && should_drop(s, s->segs[ndrop], total, now)) {
    total -= s->segs[ndrop]->seg_bytes + s->segs[ndrop]->idx_bytes;
    ndrop++;
  }
  if (!ndrop) return;
  /* The retention guard (outputs): keep the segments holding seqs still needed, within
   * pin_max_bytes; past it drop them oldest first and report the needed range lost. */
  pthread_mutex_lock(&s->guard_mu);
  if (s->guard_needed) {
    uint64_t need = s->guard_needed(s->guard_arg);
    size_t first_needed = ndrop; /* first segment to drop whose last seq >= need */
    for (size_t i = 0; i < ndrop; i++)
      if (s->segs[i + 1]->base_seq - 1 >= need) {
        first_needed = i;
        break;
      }
    uint64_t pinned = 0;
    for (size_t i = first_needed; i < ndrop; i++)
      pinned += s->segs[i]->seg_bytes + s->segs[i]->idx_bytes;
    size_t keep_from = first_needed; /* drop [0, keep_from) */
    while (keep_from < ndrop && pinned > s->guard_pin_max_bytes) {
      pinned -= s->segs[keep_from]->seg_bytes + s->segs[keep_from]->idx_bytes;
      keep_from++;
    }
    if (keep_from > first_needed) {
      uint64_t last_lost = s->segs[keep_from]->base_seq - 1;
      uint64_t first_lost = need > s->segs[first_needed]->base_seq ? need : s->segs[first_needed]->base_seq;
      store_logf(s, STORE_LOG_WARN, "store %s: retention deletes seq %" PRIu64 "..%" PRIu64
                 " that an output has not delivered (pin bound %" PRIu64 " bytes reached)",
                 s->dir, first_lost, last_lost, s->guard_pin_max_bytes);
      if (s->guard_skipped) s->guard_skipped(s->guard_arg, first_lost, last_lost);
    } else if (first_needed < ndrop) {
      store_logf(s, STORE_LOG_DEBUG, "store %s: retention keeps %zu segment(s) (%" PRIu64
                 " bytes) an output still needs", s->dir, ndrop - first_needed, pinned);
    }
    for (size_t i = keep_from; i < ndrop; i++)
      total += s->segs[i]->seg_bytes + s->segs[i]->idx_bytes;
    ndrop = keep_from;
  }
  pthread_mutex_unlock(&s->guard_mu);
  if (!ndrop) return;
  seg **dropped = malloc(ndrop * sizeof *dropped);
  if (!dropped) return; /* try again next time */
  uint64_t records = 0;
  pthread_rwlock_wrlock(&s->lock);
  for (size_t i = 0; i < ndrop; i++) {
    dropped[i] = s->segs[i];
    records += dropped[i]->idx.meta.count;
    retention_forget_clients(s, dropped[i]);
  }
  memmove(s->segs, s->segs + ndrop, (s->nsegs - ndrop) * sizeof *s->segs);
  s->nsegs -= ndrop;
  s->total_bytes = total;
  s->total_records -= records;
  pthread_rwlock_unlock(&s->lock);
  for (size_t i = 0; i < ndrop; i++) {
    seg *g = dropped[i];
    char name[SEG_NAME_MAX];
    if (unlinkat(s->dirfd, g->name, 0) != 0)
      store_logf(s, STORE_LOG_ERROR, "store %s: retention cannot delete %s: %s", s->dir, g->name,
                 strerror(errno));
    seg_file_name(name, g->base_seq, ".idx");
    unlinkat(s->dirfd, name, 0);
    store_logf(s, STORE_LOG_INFO, "store %s: retention dropped segment %s (%" PRIu32 " records)",
               s->dir, g->name, g->idx.meta.count);
    seg_unref(g);
  }
  fsync(s->dirfd);
  pthread_mutex_lock(&s->stmu);
  s->st.retention_dropped_segments += ndrop;
  pthread_mutex_unlock(&s->stmu);
  free(dropped);
}
