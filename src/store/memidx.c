/* memidx: the in-memory index of the active segment.
 *
 * Per record: frame offset, time, severity and seq in growable arrays. Per dictionary (the
 * seven indexed fields, labels, client ids): an open-addressing hash table (linear probing,
 * power-of-two size, at most 70% full; a slot holds the value's index and a 32-bit tag of
 * its hash, so probing past other values reads only the slots) of distinct values, each
 * with an ascending postings list of ordinals. Values live in one pool per dictionary; a
 * postings list holds up to two ordinals inline and moves to a heap array (doubling)
 * beyond, so indexing a record costs no allocation except when an array doubles. The
 * writer mutates it under the store's write lock; readers look at it under the read lock. */
#include <stdlib.h>

#include "core/debug.h"
#include "store/store_internal.h"

/* A new empty index for a segment whose records start at data_start. NULL when OOM. */
memidx *memidx_new(uint64_t hash_seed, uint64_t data_start, int64_t created_ns) {
  memidx *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->hash_seed = hash_seed;
  m->meta.data_end = data_start;
  m->meta.created_ns = created_ns;
  m->meta.min_time = m->meta.min_obs = INT64_MAX;
  m->meta.max_time = m->meta.max_obs = INT64_MIN;
  m->meta.dense = 1;
  if (memidx_reserve(m, 256) != 0) {
    memidx_free(m);
    return NULL;
  }
  m->offs[0] = (uint32_t)data_start;
  return m;
}

static void memdict_free(memdict *d) {
  for (size_t i = 0; i < d->nvals; i++)
    if (d->vals[i].cap) free(d->vals[i].post.heap);
  free(d->vals);
  free(d->slots);
  buf_free(&d->pool);
  memset(d, 0, sizeof *d);
}

/* Free the index and everything it owns. NULL is fine. */
void memidx_free(memidx *m) {
  if (!m) return;
  for (int d = 0; d < NDICT; d++) memdict_free(&m->dict[d]);
  free(m->offs);
  free(m->times);
  free(m->sevs);
  free(m->seqs);
  free(m->samples);
  buf_free(&m->scratch);
  free(m);
}

static int grow(void **p, size_t elem, size_t n) {
  void *np = realloc(*p, elem * n);
  if (!np) return -1;
  *p = np;
  return 0;
}

/* Room for n more records in the per-record arrays. 0 or -1. */
int memidx_reserve(memidx *m, size_t n) {
  size_t need = (size_t)m->meta.count + n;
  if (need <= m->cap) return 0;
  size_t cap = m->cap ? m->cap : 256;
  while (cap < need) cap *= 2;
  if (grow((void **)&m->offs, 4, cap + 1) || grow((void **)&m->times, 8, cap) ||
      grow((void **)&m->sevs, 1, cap) || grow((void **)&m->seqs, 8, cap))
    return -1;
  m->cap = cap;
  return 0;
}

static inline const uint32_t *val_ids(const memval *v) { return v->cap ? v->post.heap : v->post.inl; }

static inline uint32_t hash_tag(uint64_t h) { return (uint32_t)(h >> 32); }

static int memdict_rehash(memdict *d, size_t nslots) {
  memslot *slots = calloc(nslots, sizeof *slots);
  if (!slots) return -1;
  size_t mask = nslots - 1;
  for (size_t i = 0; i < d->nvals; i++) {
    size_t j = (size_t)d->vals[i].hash & mask;
    while (slots[j].val1) j = (j + 1) & mask;
    slots[j].val1 = (uint32_t)(i + 1);
    slots[j].tag = hash_tag(d->vals[i].hash);
  }
  free(d->slots);
  d->slots = slots;
  d->nslots = nslots;
  return 0;
}

static int postings_append(memval *v, uint32_t ord) {
  uint32_t *ids = v->cap ? v->post.heap : v->post.inl;
  if (v->n && ids[v->n - 1] == ord) return 0; /* a value twice in one record */
  if (v->cap == 0 && v->n < 2) {
    v->post.inl[v->n++] = ord;
    return 0;
  }
  if (v->cap == 0 || v->n == v->cap) {
    uint32_t ncap = v->cap ? v->cap * 2 : 8;
    uint32_t *np;
    if (v->cap == 0) {
      np = malloc(ncap * sizeof *np);
      if (!np) return -1;
      memcpy(np, v->post.inl, v->n * sizeof *np);
    } else {
      np = realloc(v->post.heap, ncap * sizeof *np);
      if (!np) return -1;
    }
    v->post.heap = np;
    v->cap = ncap;
  }
  v->post.heap[v->n++] = ord;
  return 0;
}

static memval *memdict_find(const memdict *d, uint64_t h, const char *s, size_t n) {
  if (!d->nslots) return NULL;
  size_t mask = d->nslots - 1;
  uint32_t tag = hash_tag(h);
  for (size_t j = (size_t)h & mask; d->slots[j].val1; j = (j + 1) & mask) {
    if (d->slots[j].tag != tag) continue;
    memval *v = &d->vals[d->slots[j].val1 - 1];
    if (v->hash == h && v->str_len == n && memcmp(d->pool.data + v->str_off, s, n) == 0) return v;
  }
  return NULL;
}

static int memdict_add(memdict *d, uint64_t h, const char *s, size_t n, uint32_t ord) {
  memval *v = memdict_find(d, h, s, n);
  if (v) return postings_append(v, ord);
  if ((d->nvals + 1) * 10 > d->nslots * 7 &&
      memdict_rehash(d, d->nslots ? d->nslots * 2 : 64) != 0)
    return -1;
  if (d->nvals == d->capvals) {
    size_t cap = d->capvals ? d->capvals * 2 : 32;
    if (grow((void **)&d->vals, sizeof *d->vals, cap) != 0) return -1;
    d->capvals = cap;
  }
  if (d->pool.len + n > UINT32_MAX) return -1;
  uint32_t off = (uint32_t)d->pool.len;
  if (buf_append(&d->pool, s, n) != 0) return -1;
  v = &d->vals[d->nvals];
  memset(v, 0, sizeof *v);
  v->hash = h;
  v->str_off = off;
  v->str_len = (uint32_t)n;
  v->post.inl[0] = ord;
  v->n = 1;
  size_t mask = d->nslots - 1;
  size_t j = (size_t)h & mask;
  while (d->slots[j].val1) j = (j + 1) & mask;
  d->slots[j].val1 = (uint32_t)(++d->nvals);
  d->slots[j].tag = hash_tag(h);
  return 0;
}

/* Index one committed record (see store_internal.h). */
int memidx_add(memidx *m, const record_view *rv, uint64_t seq, uint64_t off, uint64_t end) {
  memidx_hashes hs;
  uint64_t ch = (rv->flags & RECORD_FLAG_CLIENT_ID) ? store_hash(m->hash_seed, rv->id.p, rv->id.n) : 0;
  memidx_hash_record(m, rv, ch, &hs);
  return memidx_add_hashed(m, rv, seq, off, end, &hs);
}

static inline void memdict_prefetch(const memdict *d, uint64_t h) {
  if (d->nslots) __builtin_prefetch(&d->slots[(size_t)h & (d->nslots - 1)]);
}

/* See store_internal.h. */
void memidx_hash_record(memidx *m, const record_view *rv, uint64_t client_id_hash,
                        memidx_hashes *hs) {
  for (int f = 0; f < EVF_INDEXED_COUNT; f++) {
    hs->f[f] = 0;
    if (!rv->f[f].n) continue;
    hs->f[f] = store_hash(m->hash_seed, rv->f[f].p, rv->f[f].n);
    memdict_prefetch(&m->dict[f], hs->f[f]);
  }
  size_t pos = 0;
  strv k, v;
  hs->nlabels = 0;
  while (hs->nlabels < MEMIDX_HASHED_LABELS && record_label_next(rv, &pos, &k, &v)) {
    buf_clear(&m->scratch);
    if (label_value_encode(&m->scratch, k.p, k.n, v.p, v.n) != 0) break; /* add reports it */
    uint64_t h = store_hash(m->hash_seed, m->scratch.data, m->scratch.len);
    memdict_prefetch(&m->dict[DICT_LABELS], h);
    hs->label[hs->nlabels++] = h;
  }
  hs->client = 0;
  if (rv->flags & RECORD_FLAG_CLIENT_ID) {
    EVD_ASSERT(client_id_hash == store_hash(m->hash_seed, rv->id.p, rv->id.n));
    hs->client = client_id_hash;
    memdict_prefetch(&m->dict[DICT_CLIENT_IDS], client_id_hash);
  }
}

/* Index one committed record whose hashes are known (see store_internal.h). */
int memidx_add_hashed(memidx *m, const record_view *rv, uint64_t seq, uint64_t off, uint64_t end,
                      const memidx_hashes *hs) {
  if (memidx_reserve(m, 1) != 0) return -1;
  segmeta *mt = &m->meta;
  uint32_t i = mt->count;
  EVD_ASSERT(off == mt->data_end || i == 0 || off > mt->data_end);
  EVD_ASSERT(i == 0 || seq > mt->last_seq);
  EVD_ASSERT(end > off && end <= UINT32_MAX);
  m->offs[i] = (uint32_t)off;
  m->offs[i + 1] = (uint32_t)end;
  m->times[i] = rv->time_ns;
  m->sevs[i] = rv->severity;
  m->seqs[i] = seq;
  for (int f = 0; f < EVF_INDEXED_COUNT; f++) {
    if (!rv->f[f].n) continue;
    EVD_ASSERT(hs->f[f] == store_hash(m->hash_seed, rv->f[f].p, rv->f[f].n));
    if (memdict_add(&m->dict[f], hs->f[f], rv->f[f].p, rv->f[f].n, i) != 0) return -1;
  }
  size_t pos = 0;
  strv k, v;
  for (uint32_t l = 0; record_label_next(rv, &pos, &k, &v); l++) {
    buf_clear(&m->scratch);
    if (label_value_encode(&m->scratch, k.p, k.n, v.p, v.n) != 0) return -1;
    uint64_t h = l < hs->nlabels ? hs->label[l] : store_hash(m->hash_seed, m->scratch.data, m->scratch.len);
    EVD_ASSERT(h == store_hash(m->hash_seed, m->scratch.data, m->scratch.len));
    if (memdict_add(&m->dict[DICT_LABELS], h, m->scratch.data, m->scratch.len, i) != 0) return -1;
  }
  if (rv->flags & RECORD_FLAG_CLIENT_ID) {
    EVD_ASSERT(hs->client == store_hash(m->hash_seed, rv->id.p, rv->id.n));
    if (memdict_add(&m->dict[DICT_CLIENT_IDS], hs->client, rv->id.p, rv->id.n, i) != 0) return -1;
  } else if (rv->id.n == ULID_LEN) {
    if (!mt->has_ulid || memcmp(rv->id.p, mt->min_ulid, ULID_LEN) < 0)
      memcpy(mt->min_ulid, rv->id.p, ULID_LEN);
    if (!mt->has_ulid || memcmp(rv->id.p, mt->max_ulid, ULID_LEN) > 0)
      memcpy(mt->max_ulid, rv->id.p, ULID_LEN);
    mt->has_ulid = 1;
    if (i >= m->next_sample_ord) {
      if (m->nsamples == m->capsamples) {
        size_t cap = m->capsamples ? m->capsamples * 2 : 64;
        if (grow((void **)&m->samples, sizeof *m->samples, cap) != 0) return -1;
        m->capsamples = cap;
      }
      m->samples[m->nsamples].ord = i;
      memcpy(m->samples[m->nsamples].id, rv->id.p, ULID_LEN);
      m->nsamples++;
      m->next_sample_ord = (i / ULID_SAMPLE_EVERY + 1) * ULID_SAMPLE_EVERY;
    }
  }
  /* Everything that can fail is done: now the record becomes visible. */
  if (i == 0) {
    mt->first_seq = seq;
  } else if (seq != mt->last_seq + 1) {
    mt->dense = 0;
  }
  mt->last_seq = seq;
  if (rv->time_ns < mt->min_time) mt->min_time = rv->time_ns;
  if (rv->time_ns > mt->max_time) mt->max_time = rv->time_ns;
  if (rv->observed_ns < mt->min_obs) mt->min_obs = rv->observed_ns;
  if (rv->observed_ns > mt->max_obs) mt->max_obs = rv->observed_ns;
  if (rv->severity > mt->max_sev) mt->max_sev = rv->severity;
  mt->data_end = end;
  mt->count = i + 1;
  return 0;
}

/* Postings of value v in dict d: 1 (found, *out set) or 0. */
int memidx_lookup(const memidx *m, int d, const char *v, size_t n, postings *out) {
  uint64_t h = store_hash(m->hash_seed, v, n);
  const memval *mv = memdict_find(&m->dict[d], h, v, n);
  if (!mv) return 0;
  out->ids = val_ids(mv);
  out->n = mv->n;
  return 1;
}

/* Value j of dict d, with its postings. */
void memidx_value(const memidx *m, int d, size_t j, const char **v, size_t *n, postings *p) {
  const memval *mv = &m->dict[d].vals[j];
  *v = m->dict[d].pool.data + mv->str_off;
  *n = mv->str_len;
  p->ids = val_ids(mv);
  p->n = mv->n;
}

/* Approximate heap bytes held (for logs and tests). */
size_t memidx_bytes(const memidx *m) {
  size_t b = sizeof *m + m->cap * (4 + 8 + 1 + 8) + m->capsamples * sizeof(ulid_sample);
  for (int d = 0; d < NDICT; d++) {
    const memdict *dd = &m->dict[d];
    b += dd->nslots * sizeof(memslot) + dd->capvals * sizeof(memval) + dd->pool.cap;
    for (size_t i = 0; i < dd->nvals; i++) b += dd->vals[i].cap * 4;
  }
  return b;
}
