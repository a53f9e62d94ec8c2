/* compact: make deletes physical — rewrite a sealed segment without its deleted records
 * once the deleted fraction passes store_options.compact_deleted_ratio (docs/storage.md
 * "Compaction"). Runs on the writer thread, right after retention.
 *
 * A compacted segment keeps its name (base seq) and header, and the seqs of the records it
 * keeps (so its index gets a SEQS section). The swap is crash safe:
 *   1. the kept frames are copied to NAME.seg.compact.tmp, which is fdatasynced;
 *   2. the new index is written (NAME.idx.tmp, fsync, rename over NAME.idx, fsync dir);
 *   3. NAME.seg.compact.tmp is renamed over NAME.seg and the directory fsynced.
 * A crash before 2 leaves a *.tmp file (deleted at open) and the old pair. A crash between 2
 * and 3 leaves the old segment with the new index: its data end does not match the segment,
 * so open rebuilds the index from the old segment (the deletes stay applied by marks.log).
 * After 3 the new pair is consistent. Readers holding the old segment keep its descriptor
 * and index mapping (the files are only unlinked) and finish on it.
 *
 * Marks of removed records stay in marks.log until it is rewritten at the next open (they
 * name seqs that no longer exist, so they change nothing). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_internal.h"

#define COMPACT_DEFAULT_RATIO 0.25

/* Deleted seqs of a segment (copied out of the marks). Writer thread. */
static size_t deleted_in(store *s, uint64_t first, uint64_t last, uint64_t **out) {
  *out = NULL;
  pthread_rwlock_rdlock(&s->marks.lock);
  size_t lo, hi, n = 0;
  marks_range(&s->marks, first, last, &lo, &hi);
  for (size_t i = lo; i < hi; i++) n += (s->marks.kind[i] & STORE_MARK_DELETED) != 0;
  if (n) {
    *out = malloc(n * sizeof **out);
    if (*out) {
      size_t k = 0;
      for (size_t i = lo; i < hi; i++)
        if (s->marks.kind[i] & STORE_MARK_DELETED) (*out)[k++] = s->marks.seq[i];
    } else {
      n = 0;
    }
  }
  pthread_rwlock_unlock(&s->marks.lock);
  return n;
}

static int is_deleted(const uint64_t *del, size_t n, uint64_t seq) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (del[mid] < seq) lo = mid + 1;
    else if (del[mid] > seq) hi = mid;
    else return 1;
  }
  return 0;
}

static int pwrite_all(int fd, const void *p, size_t n, uint64_t off) {
  const unsigned char *b = p;
  while (n) {
    ssize_t w = pwrite(fd, b, n, (off_t)off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    b += w;
    n -= (size_t)w;
    off += (uint64_t)w;
  }
  return 0;
}

/* Forget the client ids of the removed records (under the write lock), so that the id may
 * be stored again, as after retention. */
static void forget_removed_clients(store *s, const seg *old, const segview *v, const uint64_t *del,
                                   size_t ndel) {
  uint32_t cnt = index_dict_count(&old->idx, DICT_CLIENT_IDS);
  for (uint32_t j = 0; j < cnt; j++) {
    const char *val;
    size_t n;
    postings p;
    if (!index_dict_value(&old->idx, DICT_CLIENT_IDS, j, &val, &n, &p) || !p.n || p.ids[0] >= v->n)
      continue;
    uint64_t seq = segview_seq(v, p.ids[0]);
    if (is_deleted(del, ndel, seq)) cmap_delete(&s->clients, store_hash(s->hash_seed, val, n), seq);
  }
}

/* Rewrite sealed segment i (index into s->segs) without the deleted seqs del[0..ndel).
 * Returns 0 (swapped in), or -errno with nothing changed but possibly a leftover .tmp (which
 * is removed here when possible, and at the next open otherwise). */
static int compact_one(store *s, size_t i, const uint64_t *del, size_t ndel) {
  seg *old = s->segs[i];
  segview v;
  seg_view(old, &v);
  char name[SEG_NAME_MAX], tmp[SEG_NAME_MAX + 16];
  seg_file_name(name, old->base_seq, ".seg");
  snprintf(tmp, sizeof tmp, "%s.compact.tmp", name);
  int fd = openat(s->dirfd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  unsigned char hdr[SEG_HDR_SIZE];
  int rc = 0;
  if (pread(old->fd, hdr, SEG_HDR_SIZE, 0) != SEG_HDR_SIZE) rc = -EIO;
  if (rc == 0) rc = pwrite_all(fd, hdr, SEG_HDR_SIZE, 0);
  memidx *m = memidx_new(s->hash_seed, SEG_HDR_SIZE, v.meta.created_ns);
  if (!m) rc = -ENOMEM;
  recreader rr;
  recreader_init(&rr);
  uint64_t woff = SEG_HDR_SIZE, removed = 0;
  for (uint32_t o = 0; rc == 0 && o < v.n; o++) {
    uint64_t seq = segview_seq(&v, o);
    if (is_deleted(del, ndel, seq)) {
      removed++;
      continue;
    }
    uint64_t off = v.offs[o], span = (uint64_t)v.offs[o + 1] - off, rseq;
    record_view rv;
    int r = recreader_read(&rr, old, off, span, 1u << 20, &s->rep, &rseq, &rv);
    if (r == -EBADMSG) { /* damaged on disk: reported; not carried over */
      removed++;
      continue;
    }
    if (r) {
      rc = r;
      break;
    }
    const unsigned char *f = rr.buf + (off - rr.win_off);
    uint32_t len = ld_u32(f + 8);
    rc = pwrite_all(fd, f, FRAME_HDR + (size_t)len, woff);
    if (rc == 0 && memidx_add(m, &rv, rseq, woff, woff + FRAME_HDR + len) != 0) rc = -ENOMEM;
    woff += FRAME_HDR + (uint64_t)len;
  }
  recreader_free(&rr);
  if (rc == 0 && fdatasync(fd) != 0) rc = -errno;
  if (rc == 0) m->meta.created_ns = v.meta.created_ns;
  uint64_t idx_bytes = 0;
  if (rc == 0) rc = index_write(s->dirfd, old->base_seq, m, &idx_bytes); /* step 2 */
  if (rc == 0 && renameat(s->dirfd, tmp, s->dirfd, name) != 0) rc = -errno; /* step 3 */
  if (rc == 0 && fsync(s->dirfd) != 0) rc = -errno;
  if (rc != 0) {
    unlinkat(s->dirfd, tmp, 0);
    close(fd);
    memidx_free(m);
    store_logf(s, STORE_LOG_ERROR, "store %s: compaction of %s failed: %s", s->dir, name, strerror(-rc));
    return rc;
  }
  /* The new pair is on disk: map the index and swap the segment in. */
  idxfile x;
  char why[128];
  seg *ng = NULL;
  if (index_open(s->dirfd, old->base_seq, woff, &x, why, sizeof why) == 0) {
    ng = seg_new_sealed(old->base_seq, fd, &x, woff);
    if (!ng) index_close(&x);
  }
  memidx_free(m);
  if (!ng) {
    /* Should not happen (we just wrote it); the files are consistent, so the next open
     * picks them up. Until then keep serving the old segment (its fd is still valid). */
    close(fd);
    store_logf(s, STORE_LOG_ERROR, "store %s: compacted %s but cannot open its index (%s)", s->dir,
               name, why);
    return -EIO;
  }
  uint64_t old_bytes = old->seg_bytes + old->idx_bytes, new_bytes = ng->seg_bytes + ng->idx_bytes;
  pthread_rwlock_wrlock(&s->lock);
  forget_removed_clients(s, old, &v, del, ndel);
  s->segs[i] = ng;
  s->total_bytes = s->total_bytes - old_bytes + new_bytes;
  s->total_records -= removed;
  pthread_rwlock_unlock(&s->lock);
  pthread_mutex_lock(&s->stmu);
  s->st.compacted_segments++;
  s->st.compacted_bytes += old_bytes > new_bytes ? old_bytes - new_bytes : 0;
  pthread_mutex_unlock(&s->stmu);
  store_logf(s, STORE_LOG_INFO,
             "store %s: compacted %s: removed %" PRIu64 " deleted records, %" PRIu64 " -> %" PRIu64 " bytes",
             s->dir, name, removed, old_bytes, new_bytes);
  seg_unref(old);
  return 0;
}

/* See store_internal.h. */
void compact_run(store *s) {
  double ratio = s->opt.compact_deleted_ratio > 0 ? s->opt.compact_deleted_ratio : COMPACT_DEFAULT_RATIO;
  if (ratio > 1) return; /* compaction off */
  for (size_t i = 0; i + 1 < s->nsegs; i++) { /* never the active (last) segment */
    seg *g = s->segs[i];
    if (!g->sealed) continue;
    segview v;
    seg_view(g, &v);
    if (v.n == 0) continue;
    uint64_t *del = NULL;
    size_t ndel = deleted_in(s, v.meta.first_seq, v.meta.last_seq, &del);
    /* Marks of seqs already removed by an earlier compaction are counted only if present. */
    size_t present = 0;
    for (size_t k = 0; k < ndel; k++) {
      uint32_t o = segview_ord_of_seq(&v, del[k]);
      present += o < v.n && segview_seq(&v, o) == del[k];
    }
    if (present > 0 && (double)present >= ratio * (double)v.n) compact_one(s, i, del, ndel);
    free(del);
  }
}
