/* segment: refcounted segment objects, one read view over both index kinds (the active
 * segment's in-memory index and a sealed, mapped index file), record reads, and reader
 * snapshots of the segment list.
 *
 * A segment object is immutable once sealed; the active one is only changed by the writer
 * under the store's write lock. Readers take a reference (in a snapshot) so that a segment
 * dropped by retention or replaced by its sealed form stays readable until they finish. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/debug.h"
#include "store/store_internal.h"

static seg *seg_alloc(uint64_t base_seq, int fd) {
  seg *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  atomic_init(&g->refs, 1);
  g->base_seq = base_seq;
  g->fd = fd;
  seg_file_name(g->name, base_seq, ".seg");
  return g;
}

/* The active segment: takes ownership of fd and m. NULL when OOM (nothing is taken). */
seg *seg_new_active(uint64_t base_seq, int fd, memidx *m) {
  seg *g = seg_alloc(base_seq, fd);
  if (!g) return NULL;
  g->mem = m;
  g->seg_bytes = m->meta.data_end;
  return g;
}

/* A sealed segment: takes ownership of fd and of the mapping in *x. */
seg *seg_new_sealed(uint64_t base_seq, int fd, const idxfile *x, uint64_t seg_bytes) {
  seg *g = seg_alloc(base_seq, fd);
  if (!g) return NULL;
  g->idx = *x;
  g->sealed = 1;
  g->seg_bytes = seg_bytes;
  g->idx_bytes = x->len;
  return g;
}

void seg_ref(seg *g) { atomic_fetch_add(&g->refs, 1); }

/* Drop a reference; the last one closes the file and frees the index. */
void seg_unref(seg *g) {
  if (!g || atomic_fetch_sub(&g->refs, 1) != 1) return;
  if (g->fd >= 0) close(g->fd);
  memidx_free(g->mem);
  index_close(&g->idx);
  free(g);
}

/* Fill a view. For an in-memory segment the caller holds the store lock (read or write). */
void seg_view(const seg *g, segview *v) {
  memset(v, 0, sizeof *v);
  v->g = g;
  if (g->mem) {
    const memidx *m = g->mem;
    v->meta = m->meta;
    v->n = m->meta.count;
    v->offs = m->offs;
    v->times = m->times;
    v->sevs = m->sevs;
    v->seqs = m->meta.dense ? NULL : m->seqs;
    return;
  }
  const idxfile *x = &g->idx;
  v->meta = x->meta;
  v->n = x->meta.count;
  v->offs = (const uint32_t *)(const void *)(x->map + x->sect_off[SEC_OFFSETS]);
  v->times = (const int64_t *)(const void *)(x->map + x->sect_off[SEC_TIMES]);
  v->sevs = x->map + x->sect_off[SEC_SEVS];
  v->seqs = x->meta.dense ? NULL : (const uint64_t *)(const void *)(x->map + x->sect_off[SEC_SEQS]);
  v->bytime = (const uint32_t *)(const void *)(x->map + x->sect_off[SEC_BYTIME]);
}

/* Ordinal of the first record whose seq >= seq (v->n when none). */
uint32_t segview_ord_of_seq(const segview *v, uint64_t seq) {
  if (v->n == 0 || seq <= v->meta.first_seq) return 0;
  if (!v->seqs) {
    uint64_t d = seq - v->meta.first_seq;
    return d >= v->n ? v->n : (uint32_t)d;
  }
  uint32_t lo = 0, hi = v->n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (v->seqs[mid] < seq)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Postings of value v in dict d of segment g: 1 (found) or 0. */
int seg_lookup(const seg *g, int d, const char *v, size_t n, postings *out) {
  if (g->mem) return memidx_lookup(g->mem, d, v, n, out);
  return index_lookup(&g->idx, d, v, n, out);
}

/* See store_internal.h. */
int seg_dict_each(const seg *g, int d, const char *prefix, size_t plen, dict_value_fn fn, void *arg) {
  const char *v;
  size_t n;
  postings p;
  if (g->mem) {
    const memidx *m = g->mem;
    for (size_t j = 0; j < m->dict[d].nvals; j++) {
      memidx_value(m, d, j, &v, &n, &p);
      if (n < plen || memcmp(v, prefix, plen) != 0) continue;
      int rc = fn(arg, v, n, p);
      if (rc) return rc;
    }
    return 0;
  }
  uint32_t cnt = index_dict_count(&g->idx, d);
  for (uint32_t j = plen ? index_dict_lower_bound(&g->idx, d, prefix, plen) : 0; j < cnt; j++) {
    if (!index_dict_value(&g->idx, d, j, &v, &n, &p)) continue;
    if (n < plen || memcmp(v, prefix, plen) != 0) break; /* sorted: past the prefix range */
    int rc = fn(arg, v, n, p);
    if (rc) return rc;
  }
  return 0;
}

/* ---- record reads ------------------------------------------------------------------- */

void recreader_init(recreader *r) { memset(r, 0, sizeof *r); }

void recreader_free(recreader *r) {
  free(r->buf);
  memset(r, 0, sizeof *r);
}

static int rr_load(recreader *r, const seg *g, uint64_t off, size_t want) {
  if (want > r->cap) {
    size_t cap = r->cap ? r->cap : 4096;
    while (cap < want) cap *= 2;
    unsigned char *nb = realloc(r->buf, cap);
    if (!nb) return -ENOMEM;
    r->buf = nb;
    r->cap = cap;
  }
  size_t got = 0;
  while (got < want) {
    ssize_t k = pread(g->fd, r->buf + got, want - got, (off_t)(off + got));
    if (k < 0) {
      if (errno == EINTR) continue;
      r->g = NULL;
      return -errno;
    }
    if (k == 0) break;
    got += (size_t)k;
  }
  r->g = g;
  r->win_off = off;
  r->win_len = got;
  return 0;
}

static int rr_have(const recreader *r, const seg *g, uint64_t off, size_t n) {
  return r->g == g && off >= r->win_off && off - r->win_off <= r->win_len &&
         r->win_len - (off - r->win_off) >= n;
}

/* See store_internal.h. */
int recreader_read(recreader *r, const seg *g, uint64_t off, uint64_t span, size_t ahead,
                   store_report *rep, uint64_t *seq, record_view *rv) {
  if (span <= FRAME_HDR) goto damaged;
  if (!rr_have(r, g, off, FRAME_HDR)) {
    size_t want = span < 4096 ? (size_t)span : 4096;
    if (want < ahead) want = ahead;
    int rc = rr_load(r, g, off, want);
    if (rc) return rc;
    if (!rr_have(r, g, off, FRAME_HDR)) goto damaged;
  }
  const unsigned char *f = r->buf + (off - r->win_off);
  uint32_t len = ld_u32(f + 8);
  if (len > STORE_RECORD_MAX || FRAME_HDR + (uint64_t)len > span) goto damaged;
  if (!rr_have(r, g, off, FRAME_HDR + len)) {
    size_t want = FRAME_HDR + len;
    if (want < ahead) want = ahead;
    int rc = rr_load(r, g, off, want);
    if (rc) return rc;
    if (!rr_have(r, g, off, FRAME_HDR + len)) goto damaged;
    f = r->buf;
  }
  if (frame_check(f, FRAME_HDR + len, seq) != (long)len) goto damaged;
  if (store_record_decode(f + FRAME_HDR, len, rv) != 0) goto damaged;
  return 0;
damaged:
  store_report_logf(rep, STORE_LOG_ERROR,
                    "segment %s: record at offset %" PRIu64
                    " is damaged on disk (read back failed its check); skipped",
                    g->name, off);
  return -EBADMSG;
}

/* ---- snapshots ---------------------------------------------------------------------- */

/* Reference every current segment. Returns 0 or -ENOMEM. */
int store_snap_take(store *s, store_snap *sn) {
  memset(sn, 0, sizeof *sn);
  pthread_rwlock_rdlock(&s->lock);
  sn->segs = malloc((s->nsegs ? s->nsegs : 1) * sizeof *sn->segs);
  if (!sn->segs) {
    pthread_rwlock_unlock(&s->lock);
    return -ENOMEM;
  }
  for (size_t i = 0; i < s->nsegs; i++) {
    sn->segs[i] = s->segs[i];
    seg_ref(sn->segs[i]);
  }
  sn->n = s->nsegs;
  sn->committed_seq = atomic_load(&s->committed_seq);
  pthread_rwlock_unlock(&s->lock);
  return 0;
}

void store_snap_release(store_snap *sn) {
  for (size_t i = 0; i < sn->n; i++) seg_unref(sn->segs[i]);
  free(sn->segs);
  memset(sn, 0, sizeof *sn);
}

/* See store_internal.h. `locked`: the caller is the writer (needs no lock for its own data). */
static int locate_in(const seg *g, uint64_t seq, uint64_t *off, uint64_t *span) {
  segview v;
  seg_view(g, &v);
  uint32_t ord = segview_ord_of_seq(&v, seq);
  if (ord >= v.n || segview_seq(&v, ord) != seq) return -ENOENT;
  *off = v.offs[ord];
  *span = (uint64_t)v.offs[ord + 1] - v.offs[ord];
  return 0;
}

int store_snap_locate(store *s, const store_snap *sn, uint64_t seq, size_t *segi, uint64_t *off,
                      uint64_t *span) {
  /* Segments are ordered by base seq; the record is in the last one whose base <= seq. */
  size_t lo = 0, hi = sn->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (sn->segs[mid]->base_seq <= seq)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0) return -ENOENT;
  const seg *g = sn->segs[lo - 1];
  int rc;
  if (g->mem) {
    pthread_rwlock_rdlock(&s->lock);
    rc = locate_in(g, seq, off, span);
    pthread_rwlock_unlock(&s->lock);
  } else {
    rc = locate_in(g, seq, off, span);
  }
  if (rc == 0) *segi = lo - 1;
  return rc;
}

/* Read the record with this seq from the snapshot. 0, -ENOENT, -EBADMSG or -errno. */
int store_read_seq(store *s, const store_snap *sn, uint64_t seq, recreader *rr, record_view *rv) {
  size_t segi;
  uint64_t off, span, got;
  int rc = store_snap_locate(s, sn, seq, &segi, &off, &span);
  if (rc) return rc;
  rc = recreader_read(rr, sn->segs[segi], off, span, 0, &s->rep, &got, rv);
  if (rc) return rc;
  return got == seq ? 0 : -EBADMSG;
}
