/* query: store_query, store_count, store_histogram, store_scan_seq.
 *
 * One evaluator walks one segment at a time (eval_seg):
 *   1. prune by the segment's time range, highest severity, the cursor and the current top-k;
 *   2. look up the postings list of every exact filter and label (a value missing from the
 *      segment's dictionary skips the segment without reading anything); type_prefix,
 *      key_pattern and tenant_prefix walk the type / key / tenant dictionary and union the
 *      matching lists;
 *   3. drive the shortest list (or all records, or the BY_TIME order for a time window) and
 *      intersect the others by galloping search;
 *   4. check time window and minimum severity from the per-record arrays;
 *   5. hand the survivor to the mode (count, top-k heap, histogram cell) — or, when `q` is set
 *      or records must be delivered in seq order, collect it, and read the records after the
 *      lock is released.
 * Records are read (pread + CRC) only for `q`, and for the page of results being delivered.
 * The active segment's in-memory index is looked at under the store's read lock; no user
 * callback and no record read happens while it is held. */
#include <errno.h>
#include <stdlib.h>

#include "core/keymatch.h"
#include "store/store_internal.h"

#define COLLECT_CHUNK 4096
#define HIST_MAX_CELLS 100000

enum { QM_COUNT, QM_TOPK, QM_HIST, QM_SCAN };

typedef struct recinfo {
  int64_t time;
  uint64_t seq;
  uint32_t off, span;
  uint32_t grp;
  uint32_t segi;
} recinfo;

typedef struct hcell {
  int64_t bucket;
  uint32_t gid;
  uint32_t used;
  uint64_t count;
} hcell;

typedef struct qctx {
  store *s;
  const store_filter *f;
  store_snap sn;
  int mode;
  int has_time; /* since/until restrict */
  size_t qlen;
  buf labels[STORE_FILTER_MAX_LABELS];
  /* per-segment scratch */
  postings lists[EVF_INDEXED_COUNT + STORE_FILTER_MAX_LABELS + 3];
  uint32_t cur[EVF_INDEXED_COUNT + STORE_FILTER_MAX_LABELS + 3];
  size_t nlists;
  postings *uvals;
  size_t nuvals, capuvals;
  uint64_t *bits;
  size_t capbits;
  uint32_t *utmp[3];
  size_t caputmp[3];
  recinfo *cands;
  size_t ncands, capcands;
  recreader rr;
  int err;
  /* count */
  uint64_t count;
  /* top-k */
  int desc;
  size_t k;
  const store_pos *after;
  recinfo *heap;
  size_t nheap, capheap;
  /* histogram */
  int64_t interval;
  store_group by;
  hcell *cells;
  size_t ncells, capcells;
  buf gpool;
  uint32_t *goff, *glen;
  uint64_t *ghash;
  size_t ngroups, capgroups;
  uint32_t *gslots;
  size_t ngslots;
  /* archive/delete marks of the current segment (marks.c): the slice [mlo, mhi) of
   * s->marks, looked at under s->marks.lock (held by eval_locked) */
  size_t mlo, mhi;
  int segmarked;
  uint32_t *grp; /* per ordinal of the current segment */
  size_t capgrp;
  int grp_ready;
} qctx;

/* ---- setup -------------------------------------------------------------------------- */

static int qctx_init(qctx *q, store *s, const store_filter *f, int mode) {
  memset(q, 0, sizeof *q);
  q->s = s;
  q->f = f;
  q->mode = mode;
  recreader_init(&q->rr);
  if (f->nlabels > STORE_FILTER_MAX_LABELS) return -EINVAL;
  q->has_time = f->since_ns != INT64_MIN || f->until_ns != INT64_MAX;
  q->qlen = f->q ? strlen(f->q) : 0;
  for (size_t i = 0; i < f->nlabels; i++) {
    if (!f->labels[i].key || !f->labels[i].value) return -EINVAL;
    if (label_value_encode(&q->labels[i], f->labels[i].key, strlen(f->labels[i].key),
                           f->labels[i].value, strlen(f->labels[i].value)) != 0)
      return -EINVAL;
  }
  return store_snap_take(s, &q->sn);
}

static void qctx_free(qctx *q) {
  for (size_t i = 0; i < STORE_FILTER_MAX_LABELS; i++) buf_free(&q->labels[i]);
  free(q->uvals);
  free(q->bits);
  free(q->utmp[0]);
  free(q->utmp[1]);
  free(q->utmp[2]);
  free(q->cands);
  free(q->heap);
  free(q->cells);
  buf_free(&q->gpool);
  free(q->goff);
  free(q->glen);
  free(q->ghash);
  free(q->gslots);
  free(q->grp);
  recreader_free(&q->rr);
  store_snap_release(&q->sn);
}

static int ensure(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 64;
  while (c < need) c *= 2;
  void *np = realloc(*p, c * elem);
  if (!np) return -1;
  *p = np;
  *cap = c;
  return 0;
}

/* ---- ordering ----------------------------------------------------------------------- */

/* 1 if (t1, s1) comes before (t2, s2) in the query's order. */
static inline int before(int desc, int64_t t1, uint64_t s1, int64_t t2, uint64_t s2) {
  if (t1 != t2) return desc ? t1 > t2 : t1 < t2;
  return desc ? s1 > s2 : s1 < s2;
}

static inline int heap_worse(const qctx *q, const recinfo *a, const recinfo *b) {
  return before(q->desc, b->time, b->seq, a->time, a->seq); /* a after b */
}

static void heap_sift_down(qctx *q, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, w = i;
    if (l < q->nheap && heap_worse(q, &q->heap[l], &q->heap[w])) w = l;
    if (r < q->nheap && heap_worse(q, &q->heap[r], &q->heap[w])) w = r;
    if (w == i) return;
    recinfo t = q->heap[i];
    q->heap[i] = q->heap[w];
    q->heap[w] = t;
    i = w;
  }
}

/* Keep the k best in a heap whose root is the worst of them. */
static void heap_offer(qctx *q, const recinfo *ri) {
  if (q->nheap < q->k) {
    if (q->nheap == q->capheap) {
      size_t cap = q->capheap ? q->capheap * 2 : 64;
      recinfo *nh = realloc(q->heap, cap * sizeof *nh);
      if (!nh) {
        q->err = -ENOMEM;
        return;
      }
      q->heap = nh;
      q->capheap = cap;
    }
    size_t i = q->nheap++;
    q->heap[i] = *ri;
    while (i > 0) {
      size_t p = (i - 1) / 2;
      if (!heap_worse(q, &q->heap[i], &q->heap[p])) break;
      recinfo t = q->heap[i];
      q->heap[i] = q->heap[p];
      q->heap[p] = t;
      i = p;
    }
    return;
  }
  if (!q->k || !before(q->desc, ri->time, ri->seq, q->heap[0].time, q->heap[0].seq)) return;
  q->heap[0] = *ri;
  heap_sift_down(q, 0);
}

/* 1 if a record at (t, s) could enter the heap and is after the cursor. */
static inline int topk_wants(const qctx *q, int64_t t, uint64_t s) {
  if (q->after && !before(q->desc, q->after->time_ns, q->after->seq, t, s)) return 0;
  if (q->nheap == q->k && (!q->k || !before(q->desc, t, s, q->heap[0].time, q->heap[0].seq)))
    return 0;
  return 1;
}

/* ---- histogram groups and cells ----------------------------------------------------- */

static uint32_t group_id(qctx *q, const char *v, size_t n) {
  uint64_t h = store_hash(q->s->hash_seed, v, n);
  if (q->ngslots) {
    size_t mask = q->ngslots - 1;
    for (size_t j = (size_t)h & mask; q->gslots[j]; j = (j + 1) & mask) {
      uint32_t g = q->gslots[j] - 1;
      if (q->ghash[g] == h && q->glen[g] == n && memcmp(q->gpool.data + q->goff[g], v, n) == 0)
        return g;
    }
  }
  if ((q->ngroups + 1) * 2 > q->ngslots) {
    size_t ns = q->ngslots ? q->ngslots * 2 : 64;
    uint32_t *sl = calloc(ns, sizeof *sl);
    if (!sl) goto oom;
    for (size_t g = 0; g < q->ngroups; g++) {
      size_t j = (size_t)q->ghash[g] & (ns - 1);
      while (sl[j]) j = (j + 1) & (ns - 1);
      sl[j] = (uint32_t)(g + 1);
    }
    free(q->gslots);
    q->gslots = sl;
    q->ngslots = ns;
  }
  size_t cap = q->capgroups;
  if (ensure((void **)&q->goff, &cap, q->ngroups + 1, 4)) goto oom;
  cap = q->capgroups;
  if (ensure((void **)&q->glen, &cap, q->ngroups + 1, 4)) goto oom;
  cap = q->capgroups;
  if (ensure((void **)&q->ghash, &cap, q->ngroups + 1, 8)) goto oom;
  q->capgroups = cap;
  q->goff[q->ngroups] = (uint32_t)q->gpool.len;
  q->glen[q->ngroups] = (uint32_t)n;
  q->ghash[q->ngroups] = h;
  if (buf_append(&q->gpool, v, n) != 0) goto oom;
  size_t j = (size_t)h & (q->ngslots - 1);
  while (q->gslots[j]) j = (j + 1) & (q->ngslots - 1);
  q->gslots[j] = (uint32_t)(q->ngroups + 1);
  return (uint32_t)q->ngroups++;
oom:
  q->err = -ENOMEM;
  return 0;
}

static const char *sev_group(int sev) {
  if (sev >= 1 && sev <= 24) return severity_text(sev);
  return "UNSPECIFIED";
}

static int64_t bucket_of(int64_t t, int64_t interval) {
  int64_t b = t / interval;
  if (t % interval != 0 && t < 0) b--;
  return b;
}

static int hist_grow(qctx *q) {
  size_t ncap = q->capcells ? q->capcells * 2 : 1024;
  hcell *nc = calloc(ncap, sizeof *nc);
  if (!nc) return -1;
  for (size_t i = 0; i < q->capcells; i++) {
    if (!q->cells[i].used) continue;
    uint64_t h = (uint64_t)q->cells[i].bucket * 0x9E3779B97F4A7C15ULL ^ q->cells[i].gid * 0xC2B2AE3D27D4EB4FULL;
    size_t j = (size_t)(h >> 17) & (ncap - 1);
    while (nc[j].used) j = (j + 1) & (ncap - 1);
    nc[j] = q->cells[i];
  }
  free(q->cells);
  q->cells = nc;
  q->capcells = ncap;
  return 0;
}

/* Add n to the cell (bucket b, group gid). */
static void hist_add_n(qctx *q, int64_t b, uint32_t gid, uint64_t n) {
  if (q->err || n == 0) return;
  if ((q->ncells + 1) * 2 > q->capcells && hist_grow(q) != 0) {
    q->err = -ENOMEM;
    return;
  }
  uint64_t h = (uint64_t)b * 0x9E3779B97F4A7C15ULL ^ gid * 0xC2B2AE3D27D4EB4FULL;
  size_t mask = q->capcells - 1, j = (size_t)(h >> 17) & mask;
  for (; q->cells[j].used; j = (j + 1) & mask)
    if (q->cells[j].bucket == b && q->cells[j].gid == gid) {
      q->cells[j].count += n;
      return;
    }
  if (q->ncells >= HIST_MAX_CELLS) {
    q->err = -E2BIG;
    return;
  }
  q->cells[j] = (hcell){b, gid, 1, n};
  q->ncells++;
}

static void hist_add(qctx *q, int64_t time, uint32_t gid) {
  hist_add_n(q, bucket_of(time, q->interval), gid, 1);
}

typedef struct grp_fill {
  qctx *q;
  uint32_t n;
} grp_fill;

static int grp_fill_value(void *arg, const char *v, size_t n, postings p) {
  grp_fill *gf = arg;
  uint32_t gid = group_id(gf->q, v, n);
  for (uint32_t i = 0; i < p.n; i++)
    if (p.ids[i] < gf->n) gf->q->grp[p.ids[i]] = gid;
  return gf->q->err;
}

/* Group of every record of segment g, for grouping by an indexed field. */
static int grp_build(qctx *q, const seg *g, uint32_t n) {
  if (ensure((void **)&q->grp, &q->capgrp, n ? n : 1, 4)) return q->err = -ENOMEM;
  uint32_t none = group_id(q, "", 0);
  for (uint32_t i = 0; i < n; i++) q->grp[i] = none;
  grp_fill gf = {q, n};
  seg_dict_each(g, (int)q->by, "", 0, grp_fill_value, &gf);
  q->grp_ready = 1;
  return q->err;
}

/* ---- per-candidate ------------------------------------------------------------------ */

/* A record passed the index filters: count it, offer it, or collect it. Returns 1 when the
 * collection is full (stop), else 0. */
static int take(qctx *q, const segview *v, uint32_t segi, uint32_t ord, int collect, size_t max) {
  int64_t t = v->times[ord];
  if (q->mode == QM_COUNT && !collect) {
    q->count++;
    return 0;
  }
  uint64_t seq = segview_seq(v, ord);
  if (q->mode == QM_TOPK && !topk_wants(q, t, seq)) return 0;
  recinfo ri = {t, seq, v->offs[ord], v->offs[ord + 1] - v->offs[ord], 0, segi};
  if (q->mode == QM_HIST) {
    if (q->by == STORE_GROUP_SEVERITY) {
      const char *g = sev_group(v->sevs[ord]);
      ri.grp = group_id(q, g, strlen(g));
    } else if (q->by != STORE_GROUP_NONE && !collect) {
      if (!q->grp_ready && grp_build(q, v->g, v->n) != 0) return 1;
      ri.grp = q->grp[ord];
    }
  }
  if (collect) {
    if (ensure((void **)&q->cands, &q->capcands, q->ncands + 1, sizeof *q->cands)) {
      q->err = -ENOMEM;
      return 1;
    }
    q->cands[q->ncands++] = ri;
    return q->ncands >= max;
  }
  if (q->mode == QM_TOPK)
    heap_offer(q, &ri);
  else
    hist_add(q, t, ri.grp);
  return q->err != 0;
}

/* ---- segment evaluation ------------------------------------------------------------- */

typedef struct union_ctx {
  qctx *q;
  const char *pattern;
  size_t plen;
  size_t subtree; /* tenant subtree: length of the prefix; values must be it or go on with '/' */
} union_ctx;

static int union_collect(void *arg, const char *v, size_t n, postings p) {
  union_ctx *u = arg;
  qctx *q = u->q;
  if (u->pattern && !keymatch(u->pattern, u->plen, v, n)) return 0;
  if (u->subtree && n != u->subtree && (n < u->subtree || v[u->subtree] != '/')) return 0;
  if (ensure((void **)&q->uvals, &q->capuvals, q->nuvals + 1, sizeof *q->uvals)) {
    q->err = -ENOMEM;
    return 1;
  }
  q->uvals[q->nuvals++] = p;
  return 0;
}

/* Union of the postings of dict d values matching a prefix (pattern == NULL) or a key pattern.
 * Adds one list to q->lists. Returns 1 if it matched nothing (the segment can be skipped), 0,
 * or -1 on error. */
static int add_union(qctx *q, const seg *g, uint32_t n, int d, const char *prefix,
                     const char *pattern, int slot) {
  union_ctx u = {q, pattern, pattern ? strlen(pattern) : 0, 0};
  if (slot == 2) u.subtree = strlen(prefix); /* the tenant subtree (slot 2 is its own) */
  q->nuvals = 0;
  seg_dict_each(g, d, pattern ? "" : prefix, pattern ? 0 : strlen(prefix), union_collect, &u);
  if (q->err) return -1;
  if (q->nuvals == 0) return 1;
  if (q->nuvals == 1) {
    q->lists[q->nlists++] = q->uvals[0];
    return 0;
  }
  size_t words = ((size_t)n + 63) / 64;
  if (ensure((void **)&q->bits, &q->capbits, words ? words : 1, 8) ||
      ensure((void **)&q->utmp[slot], &q->caputmp[slot], n ? n : 1, 4)) {
    q->err = -ENOMEM;
    return -1;
  }
  memset(q->bits, 0, words * 8);
  for (size_t i = 0; i < q->nuvals; i++)
    for (uint32_t j = 0; j < q->uvals[i].n; j++) {
      uint32_t o = q->uvals[i].ids[j];
      if (o < n) q->bits[o / 64] |= 1ULL << (o % 64);
    }
  uint32_t cnt = 0;
  for (size_t w = 0; w < words; w++)
    for (uint64_t x = q->bits[w]; x; x &= x - 1) q->utmp[slot][cnt++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(x));
  if (!cnt) return 1;
  q->lists[q->nlists++] = (postings){q->utmp[slot], cnt};
  return 0;
}

/* First index i >= lo with a[i] >= target (galloping, then binary search). */
static uint32_t gallop(const uint32_t *a, uint32_t n, uint32_t lo, uint32_t target) {
  if (lo >= n || a[lo] >= target) return lo;
  uint32_t step = 1, hi = lo + 1;
  while (hi < n && a[hi] < target) {
    lo = hi;
    hi = hi + step < n ? hi + step : n;
    step *= 2;
  }
  if (hi > n) hi = n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (a[mid] < target)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static int cmp_postings_len(const void *a, const void *b) {
  const postings *x = a, *y = b;
  return x->n < y->n ? -1 : (x->n > y->n);
}

/* First position in BY_TIME whose record time >= t. */
static uint32_t bytime_lower(const segview *v, int64_t t) {
  uint32_t lo = 0, hi = v->n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    uint32_t o = v->bytime[mid];
    if (o < v->n && v->times[o] < t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static inline int passes(const qctx *q, const segview *v, uint32_t ord) {
  int64_t t = v->times[ord];
  if (t < q->f->since_ns || t >= q->f->until_ns) return 0;
  if (q->f->min_severity > 0 && v->sevs[ord] < q->f->min_severity) return 0;
  if (q->segmarked &&
      !marks_visible(marks_kind_in(&q->s->marks, q->mlo, q->mhi, segview_seq(v, ord)),
                     q->f->archived))
    return 0;
  return 1;
}

/* Top-k over BY_TIME without any list: walk in query order from the window edge, stop when
 * nothing further can enter the heap. */
static void topk_bytime(qctx *q, const segview *v, uint32_t segi) {
  int64_t since = q->f->since_ns, until = q->f->until_ns;
  if (q->after) {
    if (!q->desc && q->after->time_ns > since) since = q->after->time_ns;
    if (q->desc && q->after->time_ns < INT64_MAX && q->after->time_ns + 1 < until)
      until = q->after->time_ns + 1;
  }
  if (!q->desc) {
    for (uint32_t i = bytime_lower(v, since); i < v->n; i++) {
      uint32_t o = v->bytime[i];
      if (o >= v->n) continue;
      if (v->times[o] >= until) break;
      if (q->nheap == q->k && !before(0, v->times[o], segview_seq(v, o), q->heap[0].time, q->heap[0].seq))
        break;
      if (passes(q, v, o)) take(q, v, segi, o, 0, 0);
    }
  } else {
    for (uint32_t i = bytime_lower(v, until); i-- > 0;) {
      uint32_t o = v->bytime[i];
      if (o >= v->n) continue;
      if (v->times[o] < since) break;
      if (q->nheap == q->k && !before(1, v->times[o], segview_seq(v, o), q->heap[0].time, q->heap[0].seq))
        break;
      if (passes(q, v, o)) take(q, v, segi, o, 0, 0);
    }
  }
}

/* Ungrouped histogram of a sealed segment without list filters: count each bucket with two
 * binary searches in BY_TIME instead of visiting the records. Returns 1 when done, 0 when
 * the segment has too many buckets for this to pay (the caller then walks the records). */
static int hist_bytime(qctx *q, const segview *v) {
  int64_t lo = v->meta.min_time > q->f->since_ns ? v->meta.min_time : q->f->since_ns;
  int64_t hi = v->meta.max_time < q->f->until_ns - 1 ? v->meta.max_time : q->f->until_ns - 1;
  if (lo > hi) return 1;
  int64_t b0 = bucket_of(lo, q->interval), b1 = bucket_of(hi, q->interval);
  if ((uint64_t)(b1 - b0) >= v->n / 32) return 0;
  uint32_t gid = 0;
  for (int64_t b = b0; b <= b1 && !q->err; b++) {
    int64_t start, endx; /* [start, endx) */
    if (__builtin_mul_overflow(b, q->interval, &start) || start < lo) start = lo;
    uint32_t a = bytime_lower(v, start), z;
    if (__builtin_mul_overflow(b + 1, q->interval, &endx) || endx > hi)
      z = hi == INT64_MAX ? v->n : bytime_lower(v, hi + 1); /* up to hi, inclusive */
    else
      z = bytime_lower(v, endx);
    hist_add_n(q, b, gid, z - a);
  }
  return 1;
}

/* Evaluate segment v (index segi of the snapshot) from ordinal `from`. With collect != 0,
 * survivors are appended to q->cands until max of them; *resume is set to the ordinal to go
 * on from (v->n when the segment is done). Returns 0 or -errno. */
static int eval_seg(qctx *q, const segview *v, uint32_t segi, uint32_t from, int collect,
                    size_t max, uint32_t *resume) {
  const store_filter *f = q->f;
  const segmeta *mt = &v->meta;
  *resume = v->n;
  q->grp_ready = 0;
  if (v->n == 0 || from >= v->n) return 0;
  if (mt->max_time < f->since_ns || mt->min_time >= f->until_ns) return 0;
  if (f->min_severity > 0 && mt->max_sev < f->min_severity) return 0;
  if (f->archived == STORE_ARCHIVED_ONLY && !q->segmarked) return 0; /* nothing archived here */
  if (q->mode == QM_TOPK) {
    int64_t lt = q->desc ? mt->min_time : mt->max_time;
    uint64_t ls = q->desc ? mt->first_seq : mt->last_seq;
    if (q->after && !before(q->desc, q->after->time_ns, q->after->seq, lt, ls)) return 0;
    int64_t bt = q->desc ? mt->max_time : mt->min_time;
    uint64_t bs = q->desc ? mt->last_seq : mt->first_seq;
    if (q->nheap == q->k && (!q->k || !before(q->desc, bt, bs, q->heap[0].time, q->heap[0].seq)))
      return 0;
  }
  const seg *g = v->g;
  q->nlists = 0;
  for (int i = 0; i < EVF_INDEXED_COUNT; i++) {
    if (!f->exact[i]) continue;
    postings p;
    if (!seg_lookup(g, i, f->exact[i], strlen(f->exact[i]), &p)) return 0;
    q->lists[q->nlists++] = p;
  }
  for (size_t i = 0; i < f->nlabels; i++) {
    postings p;
    if (!seg_lookup(g, DICT_LABELS, q->labels[i].data, q->labels[i].len, &p)) return 0;
    q->lists[q->nlists++] = p;
  }
  if (f->type_prefix && *f->type_prefix) {
    int r = add_union(q, g, v->n, EVF_TYPE, f->type_prefix, NULL, 0);
    if (r) return r < 0 ? q->err : 0;
  }
  if (f->key_pattern) {
    int r = add_union(q, g, v->n, EVF_KEY, NULL, f->key_pattern, 1);
    if (r) return r < 0 ? q->err : 0;
  }
  if (f->tenant_prefix && *f->tenant_prefix) {
    int r = add_union(q, g, v->n, EVF_TENANT, f->tenant_prefix, NULL, 2);
    if (r) return r < 0 ? q->err : 0;
  }
  int full_window = !q->has_time || (mt->min_time >= f->since_ns && mt->max_time < f->until_ns);
  int no_sev = f->min_severity <= 0 && !q->segmarked; /* marks: visit each record */
  if (q->nlists == 0) {
    if (q->mode == QM_COUNT && !collect && from == 0 && no_sev) {
      if (full_window) {
        q->count += v->n;
        return 0;
      }
      if (v->bytime) {
        q->count += bytime_lower(v, f->until_ns) - bytime_lower(v, f->since_ns);
        return 0;
      }
    }
    if (q->mode == QM_TOPK && !collect && v->bytime && from == 0 &&
        (!q->segmarked || f->archived != STORE_ARCHIVED_ONLY)) {
      topk_bytime(q, v, segi);
      return q->err;
    }
    if (q->mode == QM_HIST && q->by == STORE_GROUP_NONE && !collect && v->bytime && from == 0 &&
        no_sev && hist_bytime(q, v))
      return q->err;
    for (uint32_t o = from; o < v->n; o++) {
      if (!passes(q, v, o)) continue;
      if (take(q, v, segi, o, collect, max)) {
        *resume = o + 1;
        return q->err;
      }
    }
    return q->err;
  }
  qsort(q->lists, q->nlists, sizeof q->lists[0], cmp_postings_len);
  const postings *drv = &q->lists[0];
  if (q->mode == QM_COUNT && !collect && from == 0 && q->nlists == 1 && full_window && no_sev &&
      (drv->n == 0 || drv->ids[drv->n - 1] < v->n)) {
    q->count += drv->n;
    return 0;
  }
  for (size_t j = 1; j < q->nlists; j++) q->cur[j] = 0;
  for (uint32_t i = gallop(drv->ids, drv->n, 0, from); i < drv->n; i++) {
    uint32_t o = drv->ids[i];
    if (o >= v->n) break;
    size_t j = 1;
    for (; j < q->nlists; j++) {
      q->cur[j] = gallop(q->lists[j].ids, q->lists[j].n, q->cur[j], o);
      if (q->cur[j] >= q->lists[j].n) {
        *resume = v->n;
        return q->err; /* one list is exhausted: nothing further intersects */
      }
      if (q->lists[j].ids[q->cur[j]] != o) break;
    }
    if (j < q->nlists || !passes(q, v, o)) continue;
    if (take(q, v, segi, o, collect, max)) {
      *resume = o + 1;
      return q->err;
    }
  }
  return q->err;
}

/* Evaluate segment segi of the snapshot, locking when it has an in-memory index. */
static int eval_locked(qctx *q, size_t segi, uint32_t from, int collect, size_t max,
                       uint32_t *resume, uint64_t *last_seq, uint32_t *n) {
  const seg *g = q->sn.segs[segi];
  pthread_rwlock_rdlock(&q->s->marks.lock);
  if (g->mem) pthread_rwlock_rdlock(&q->s->lock);
  segview v;
  seg_view(g, &v);
  if (v.n) {
    marks_range(&q->s->marks, v.meta.first_seq, v.meta.last_seq, &q->mlo, &q->mhi);
  } else {
    q->mlo = q->mhi = 0;
  }
  q->segmarked = q->mlo < q->mhi;
  int rc = eval_seg(q, &v, (uint32_t)segi, from, collect, max, resume);
  if (last_seq) *last_seq = v.n ? v.meta.last_seq : 0;
  if (n) *n = v.n;
  if (g->mem) pthread_rwlock_unlock(&q->s->lock);
  pthread_rwlock_unlock(&q->s->marks.lock);
  return rc;
}

/* Read a collected candidate. 0, -EBADMSG (damaged; logged), or -errno. */
static int read_cand(qctx *q, const recinfo *c, size_t ahead, record_view *rv) {
  uint64_t seq;
  int rc = recreader_read(&q->rr, q->sn.segs[c->segi], c->off, c->span, ahead, &q->s->rep, &seq, rv);
  if (rc == 0 && seq != c->seq) rc = -EBADMSG;
  return rc;
}

static int message_matches(const qctx *q, const record_view *rv) {
  if (!q->qlen) return 1;
  const strv *m = &rv->f[EVF_MESSAGE];
  return m->n >= q->qlen && memmem(m->p, m->n, q->f->q, q->qlen) != NULL;
}

/* Run the q filter over the collected candidates and hand the matches to the mode. */
static int q_phase(qctx *q) {
  for (size_t i = 0; i < q->ncands && !q->err; i++) {
    recinfo *c = &q->cands[i];
    if (q->mode == QM_TOPK && !topk_wants(q, c->time, c->seq)) continue;
    record_view rv;
    int rc = read_cand(q, c, 256 << 10, &rv);
    if (rc == -EBADMSG) continue;
    if (rc) return rc;
    if (!message_matches(q, &rv)) continue;
    if (q->mode == QM_COUNT) {
      q->count++;
    } else if (q->mode == QM_TOPK) {
      heap_offer(q, c);
    } else if (q->mode == QM_HIST) {
      if (q->by != STORE_GROUP_NONE && q->by != STORE_GROUP_SEVERITY) {
        const strv *gv = &rv.f[q->by];
        c->grp = group_id(q, gv->p ? gv->p : "", gv->n);
      }
      hist_add(q, c->time, c->grp);
    }
  }
  q->ncands = 0;
  return q->err;
}

/* Evaluate every segment of the snapshot in order `order` (indices; NULL = as stored) for
 * count / top-k / histogram. With q set, candidates are collected in chunks and their
 * records read outside the lock. */
static int run_all(qctx *q, const size_t *order) {
  int use_q = q->qlen > 0;
  for (size_t k = 0; k < q->sn.n; k++) {
    size_t segi = order ? order[k] : k;
    uint32_t from = 0;
    for (;;) {
      uint32_t resume = 0, n = 0;
      int rc = eval_locked(q, segi, from, use_q, COLLECT_CHUNK, &resume, NULL, &n);
      if (rc) return rc;
      if (use_q && (rc = q_phase(q)) != 0) return rc;
      if (!use_q || resume >= n) break;
      from = resume;
    }
  }
  return 0;
}

/* See store.h. */
int store_count(store *s, const store_filter *f, uint64_t *count) {
  qctx q;
  *count = 0;
  int rc = qctx_init(&q, s, f, QM_COUNT);
  if (rc == 0) rc = run_all(&q, NULL);
  if (rc == 0) *count = q.count;
  qctx_free(&q);
  return rc;
}

typedef struct seg_key {
  int64_t t;
  uint64_t s;
  size_t i;
  int desc;
} seg_key;

static int cmp_seg_key(const void *a, const void *b) {
  const seg_key *x = a, *y = b;
  if (before(x->desc, x->t, x->s, y->t, y->s)) return -1;
  if (before(x->desc, y->t, y->s, x->t, x->s)) return 1;
  return 0;
}

/* Segment order for top-k: the segment that can hold the best record first, so the heap
 * fills with good records early and prunes the rest. */
static size_t *topk_order(qctx *q) {
  seg_key *keys = malloc((q->sn.n ? q->sn.n : 1) * sizeof *keys);
  size_t *order = malloc((q->sn.n ? q->sn.n : 1) * sizeof *order);
  if (!keys || !order) {
    free(keys);
    free(order);
    return NULL;
  }
  for (size_t i = 0; i < q->sn.n; i++) {
    const seg *g = q->sn.segs[i];
    if (g->mem) pthread_rwlock_rdlock(&q->s->lock);
    segview v;
    seg_view(g, &v);
    keys[i].t = q->desc ? v.meta.max_time : v.meta.min_time;
    keys[i].s = q->desc ? v.meta.last_seq : v.meta.first_seq;
    if (g->mem) pthread_rwlock_unlock(&q->s->lock);
    keys[i].i = i;
    keys[i].desc = q->desc;
  }
  qsort(keys, q->sn.n, sizeof *keys, cmp_seg_key);
  for (size_t i = 0; i < q->sn.n; i++) order[i] = keys[i].i;
  free(keys);
  return order;
}

static int cmp_recinfo_asc(const void *a, const void *b) {
  const recinfo *x = a, *y = b;
  if (before(0, x->time, x->seq, y->time, y->seq)) return -1;
  return before(0, y->time, y->seq, x->time, x->seq);
}

static int cmp_recinfo_desc(const void *a, const void *b) { return cmp_recinfo_asc(b, a); }

#define STORE_QUERY_LIMIT_MAX 100000000u

/* See store.h. */
int store_query(store *s, const store_filter *f, int desc, size_t limit, const store_pos *after,
                store_record_cb cb, void *arg, store_pos *last, int *more) {
  *more = 0;
  if (last) *last = after ? *after : (store_pos){0, 0};
  if (limit > STORE_QUERY_LIMIT_MAX) return -EINVAL;
  qctx q;
  int rc = qctx_init(&q, s, f, QM_TOPK);
  if (rc) {
    qctx_free(&q);
    return rc;
  }
  q.desc = desc != 0;
  q.after = after;
  q.k = limit + 1;
  size_t *order = topk_order(&q);
  if (!order) {
    qctx_free(&q);
    return -ENOMEM;
  }
  rc = run_all(&q, order);
  free(order);
  if (rc == 0) {
    if (q.nheap) qsort(q.heap, q.nheap, sizeof *q.heap, q.desc ? cmp_recinfo_desc : cmp_recinfo_asc);
    size_t nd = q.nheap < limit ? q.nheap : limit;
    if (q.nheap > limit) *more = 1;
    for (size_t i = 0; i < nd; i++) {
      record_view rv;
      int r = read_cand(&q, &q.heap[i], 0, &rv);
      if (r == -EBADMSG) continue;
      if (r) {
        rc = r;
        break;
      }
      if (last) *last = (store_pos){q.heap[i].time, q.heap[i].seq};
      if (cb(arg, q.heap[i].seq, &rv) != 0) {
        if (i + 1 < q.nheap) *more = 1;
        break;
      }
    }
  }
  qctx_free(&q);
  return rc;
}

typedef struct out_cell {
  int64_t bucket;
  const char *g;
  size_t gn;
  uint64_t count;
} out_cell;

static int cmp_out_cell(const void *a, const void *b) {
  const out_cell *x = a, *y = b;
  if (x->bucket != y->bucket) return x->bucket < y->bucket ? -1 : 1;
  int c = memcmp(x->g, y->g, x->gn < y->gn ? x->gn : y->gn);
  if (c) return c;
  return x->gn < y->gn ? -1 : (x->gn > y->gn);
}

/* See store.h. */
int store_histogram(store *s, const store_filter *f, int64_t interval_ns, store_group by,
                    store_hist_cb cb, void *arg) {
  if (interval_ns <= 0) return -EINVAL;
  if (by != STORE_GROUP_NONE && by != STORE_GROUP_TYPE && by != STORE_GROUP_STREAM &&
      by != STORE_GROUP_SOURCE && by != STORE_GROUP_SEVERITY)
    return -EINVAL;
  qctx q;
  int rc = qctx_init(&q, s, f, QM_HIST);
  if (rc == 0) {
    q.interval = interval_ns;
    q.by = by;
    rc = run_all(&q, NULL);
  }
  out_cell *cells = NULL;
  if (rc == 0 && q.ncells) {
    cells = malloc(q.ncells * sizeof *cells);
    if (!cells) rc = -ENOMEM;
  }
  if (rc == 0) {
    size_t k = 0;
    for (size_t i = 0; i < q.capcells; i++) {
      const hcell *c = &q.cells[i];
      if (!c->used) continue;
      const char *g = "";
      size_t gn = 0;
      if (by != STORE_GROUP_NONE) {
        g = q.gpool.data ? q.gpool.data + q.goff[c->gid] : "";
        gn = q.glen[c->gid];
      }
      cells[k++] = (out_cell){c->bucket, g, gn, c->count};
    }
    if (k) qsort(cells, k, sizeof *cells, cmp_out_cell);
    for (size_t i = 0; i < k; i++) {
      int64_t b;
      if (__builtin_mul_overflow(cells[i].bucket, interval_ns, &b))
        b = cells[i].bucket < 0 ? INT64_MIN : INT64_MAX;
      if (cb(arg, b, cells[i].g, cells[i].gn, cells[i].count) != 0) break;
    }
  }
  free(cells);
  qctx_free(&q);
  return rc;
}

/* See store.h. */
int store_scan_seq(store *s, const store_filter *f, uint64_t after_seq, size_t limit,
                   store_record_cb cb, void *arg, uint64_t *last_seq) {
  *last_seq = after_seq;
  if (limit == 0) return 0;
  qctx q;
  int rc = qctx_init(&q, s, f, QM_SCAN);
  if (rc) {
    qctx_free(&q);
    return rc;
  }
  size_t delivered = 0;
  int stop = 0;
  for (size_t segi = 0; segi < q.sn.n && !stop && rc == 0; segi++) {
    const seg *g = q.sn.segs[segi];
    uint32_t from = 0;
    int first = 1;
    for (;;) {
      size_t max = q.qlen ? COLLECT_CHUNK : limit - delivered;
      if (max > COLLECT_CHUNK) max = COLLECT_CHUNK;
      uint32_t resume = 0, n = 0;
      uint64_t seg_last = 0;
      pthread_rwlock_rdlock(&s->marks.lock);
      if (g->mem) pthread_rwlock_rdlock(&s->lock);
      segview v;
      seg_view(g, &v);
      if (first) from = segview_ord_of_seq(&v, after_seq + 1);
      first = 0;
      if (v.n)
        marks_range(&s->marks, v.meta.first_seq, v.meta.last_seq, &q.mlo, &q.mhi);
      else
        q.mlo = q.mhi = 0;
      q.segmarked = q.mlo < q.mhi;
      rc = eval_seg(&q, &v, (uint32_t)segi, from, 1, max, &resume);
      n = v.n;
      seg_last = v.n ? v.meta.last_seq : 0;
      if (g->mem) pthread_rwlock_unlock(&s->lock);
      pthread_rwlock_unlock(&s->marks.lock);
      if (rc) break;
      for (size_t i = 0; i < q.ncands && !stop; i++) {
        const recinfo *c = &q.cands[i];
        record_view rv;
        int r = read_cand(&q, c, q.qlen ? (256u << 10) : 0, &rv);
        if (r && r != -EBADMSG) {
          rc = r;
          break;
        }
        if (c->seq > *last_seq) *last_seq = c->seq;
        if (r == -EBADMSG || !message_matches(&q, &rv)) continue;
        delivered++;
        if (cb(arg, c->seq, &rv) != 0 || delivered >= limit) stop = 1;
      }
      q.ncands = 0;
      if (rc || stop) break;
      if (resume >= n) {
        if (seg_last > *last_seq) *last_seq = seg_last;
        break;
      }
      from = resume;
    }
  }
  qctx_free(&q);
  return rc;
}

/* See store.h. */
void store_filter_init(store_filter *f) {
  memset(f, 0, sizeof *f);
  f->since_ns = INT64_MIN;
  f->until_ns = INT64_MAX;
}
