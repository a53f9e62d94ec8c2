/* lookup: store_get and store_seq_of_id — find one record by its id.
 *
 * A client id is looked up in the client-id map (hash -> seq) and confirmed by reading the
 * record. An assigned ULID is found through the segments' ULID ranges (ULIDs increase with
 * seq, so at most one segment's range holds it in practice), a binary search over the
 * segment's ULID samples (one per 64 records), and a short sequential read of the records
 * between two samples. */
#include <errno.h>
#include <stdlib.h>

#include "store/store_internal.h"

/* Record with client id `id`: 0 with *seq and *rv, or -ENOENT. */
static int find_client(store *s, const store_snap *sn, const char *id, size_t n, recreader *rr,
                       uint64_t *seq, record_view *rv) {
  uint64_t seqs[16];
  uint64_t h = store_hash(s->hash_seed, id, n);
  pthread_rwlock_rdlock(&s->lock);
  size_t k = cmap_find(&s->clients, h, seqs, 16);
  pthread_rwlock_unlock(&s->lock);
  for (size_t i = 0; i < k; i++) {
    if (seqs[i] > sn->committed_seq) continue;
    if (store_read_seq(s, sn, seqs[i], rr, rv) != 0) continue;
    if ((rv->flags & RECORD_FLAG_CLIENT_ID) && rv->id.n == n && memcmp(rv->id.p, id, n) == 0) {
      *seq = seqs[i];
      return 0;
    }
  }
  return -ENOENT;
}

/* The ordinal window [lo, hi) of segment g where ULID `id` must be if it is there, with a
 * copy of the offsets lo..hi (caller frees *offs). 0, or -ENOENT. */
static int ulid_window(store *s, const seg *g, const char *id, uint32_t *lo, uint32_t *hi,
                       uint32_t **offs) {
  int rc = -ENOENT;
  if (g->mem) pthread_rwlock_rdlock(&s->lock);
  segview v;
  seg_view(g, &v);
  const ulid_sample *smp;
  size_t ns;
  if (g->mem) {
    smp = g->mem->samples;
    ns = g->mem->nsamples;
  } else {
    smp = index_samples(&g->idx, &ns);
  }
  if (v.n && v.meta.has_ulid && memcmp(id, v.meta.min_ulid, ULID_LEN) >= 0 &&
      memcmp(id, v.meta.max_ulid, ULID_LEN) <= 0 && ns > 0) {
    size_t a = 0, b = ns; /* last sample with id <= target */
    while (a < b) {
      size_t mid = a + (b - a) / 2;
      if (memcmp(smp[mid].id, id, ULID_LEN) <= 0)
        a = mid + 1;
      else
        b = mid;
    }
    if (a > 0) {
      uint32_t l = smp[a - 1].ord, h = a < ns ? smp[a].ord : v.n;
      if (h > v.n) h = v.n;
      if (l < h) {
        *offs = malloc(((size_t)(h - l) + 1) * sizeof **offs);
        if (*offs) {
          memcpy(*offs, v.offs + l, ((size_t)(h - l) + 1) * sizeof **offs);
          *lo = l;
          *hi = h;
          rc = 0;
        } else {
          rc = -ENOMEM;
        }
      }
    }
  }
  if (g->mem) pthread_rwlock_unlock(&s->lock);
  return rc;
}

/* Record with assigned ULID `id`: 0 with *seq and *rv, -ENOENT, or -errno. */
static int find_ulid(store *s, const store_snap *sn, const char *id, recreader *rr, uint64_t *seq,
                     record_view *rv) {
  for (size_t i = sn->n; i-- > 0;) {
    const seg *g = sn->segs[i];
    uint32_t lo, hi, *offs = NULL;
    int rc = ulid_window(s, g, id, &lo, &hi, &offs);
    if (rc == -ENOENT) continue;
    if (rc) return rc;
    for (uint32_t o = lo; o < hi; o++) {
      uint64_t off = offs[o - lo], span = (uint64_t)offs[o - lo + 1] - off;
      rc = recreader_read(rr, g, off, span, 64u << 10, &s->rep, seq, rv);
      if (rc == -EBADMSG) continue;
      if (rc) break;
      if (rv->flags & RECORD_FLAG_CLIENT_ID || rv->id.n != ULID_LEN) continue;
      int c = memcmp(rv->id.p, id, ULID_LEN);
      if (c == 0 && *seq <= sn->committed_seq) {
        free(offs);
        return 0;
      }
      if (c > 0) break;
    }
    free(offs);
    if (rc && rc != -EBADMSG) return rc;
  }
  return -ENOENT;
}

static int find_id(store *s, const store_snap *sn, const char *id, size_t n, recreader *rr,
                   uint64_t *seq, record_view *rv) {
  if (n == 0) return -ENOENT;
  int rc = find_client(s, sn, id, n, rr, seq, rv);
  if (rc != -ENOENT) return rc;
  if (n == ULID_LEN && ulid_valid(id, n)) return find_ulid(s, sn, id, rr, seq, rv);
  return -ENOENT;
}

/* See store.h. */
int store_get(store *s, const char *id, size_t idlen, store_record_cb cb, void *arg) {
  store_snap sn;
  int rc = store_snap_take(s, &sn);
  if (rc) return rc;
  recreader rr;
  recreader_init(&rr);
  uint64_t seq;
  record_view rv;
  rc = find_id(s, &sn, id, idlen, &rr, &seq, &rv);
  if (rc == 0 && (store_marks_of(s, seq) & STORE_MARK_DELETED)) rc = -ENOENT; /* marks.c */
  if (rc == 0) cb(arg, seq, &rv);
  recreader_free(&rr);
  store_snap_release(&sn);
  return rc;
}

/* See store.h. */
int store_seq_of_id(store *s, const char *id, size_t idlen, uint64_t *seq) {
  store_snap sn;
  int rc = store_snap_take(s, &sn);
  if (rc) return rc;
  recreader rr;
  recreader_init(&rr);
  record_view rv;
  rc = find_id(s, &sn, id, idlen, &rr, seq, &rv);
  if (rc == 0 && (store_marks_of(s, *seq) & STORE_MARK_DELETED)) rc = -ENOENT;
  recreader_free(&rr);
  store_snap_release(&sn);
  return rc;
}
