/* index: sealed segment index files (NAME.idx).
 *
 * Format summary (docs/storage.md is the reference; little-endian, CRC-32C):
 *
 *   512-byte header: "EVDIDX1\0", version 1, header size, base/first/last seq, record count
 *   N, flags (bit 0: SEQS present), data end (segment length covered), min/max event time,
 *   min/max observed time, created, file size, body CRC, max severity, lowest/highest
 *   assigned ULID, 16 x (offset, length) section table, header CRC at 508.
 *   Sections (8-aligned): 0 OFFSETS u32[N+1] | 1 TIMES i64[N] | 2 SEVERITY u8[N] |
 *   3 SEQS u64[N] (only with gaps) | 4 BY_TIME u32[N] ordinals sorted by (time, ordinal) |
 *   5 ULIDS samples (u32 ordinal, 26-byte ULID, 2 pad) every 64 records |
 *   6..12 dictionaries of tenant, stream, type, key, tag, source, correlation_id |
 *   13 LABELS dictionary | 14 CLIENT_IDS dictionary | 15 empty.
 *   Dictionary: u32 V, u32 0, V x (u64 string off, u64 postings off, u32 string len,
 *   u32 postings count) sorted by value, then the postings (u32 ascending ordinals), then
 *   the strings.
 *
 * Written once, when the segment is sealed: NAME.idx.tmp, fsync, rename, fsync directory.
 * Opened with a full check (header CRC, bounds, body CRC read with pread) and then mapped
 * read-only; every access through the functions below is bounds-checked. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "store/store_internal.h"

/* ---- writing ------------------------------------------------------------------------ */

#define OUT_BUF (1u << 20)

typedef struct idxout {
  int fd;
  unsigned char *b;
  size_t len;
  uint64_t off; /* file offset of b[0] */
  uint32_t crc; /* of everything after the header */
  int err;
} idxout;

static void out_flush(idxout *o) {
  size_t done = 0;
  while (!o->err && done < o->len) {
    ssize_t w = pwrite(o->fd, o->b + done, o->len - done, (off_t)(o->off + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      o->err = errno;
    } else if (w == 0) {
      o->err = EIO;
    } else {
      done += (size_t)w;
    }
  }
  o->off += o->len;
  o->len = 0;
}

static uint64_t out_pos(const idxout *o) { return o->off + o->len; }

static void out_put(idxout *o, const void *p, size_t n) {
  const unsigned char *c = p;
  if (out_pos(o) >= IDX_HDR_SIZE) o->crc = crc32c_extend(o->crc, p, n);
  while (n > 0 && !o->err) {
    size_t k = OUT_BUF - o->len;
    if (k > n) k = n;
    memcpy(o->b + o->len, c, k);
    o->len += k;
    c += k;
    n -= k;
    if (o->len == OUT_BUF) out_flush(o);
  }
}

static void out_align8(idxout *o) {
  static const unsigned char zero[8] = {0};
  size_t pad = (size_t)((8 - out_pos(o) % 8) % 8);
  if (pad) out_put(o, zero, pad);
}

typedef struct time_ord {
  int64_t t;
  uint32_t ord;
} time_ord;

static int cmp_time_ord(const void *a, const void *b) {
  const time_ord *x = a, *y = b;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  return x->ord < y->ord ? -1 : (x->ord > y->ord);
}

/* BY_TIME: ordinals sorted by (time, ordinal). Returns 0 or -1 (OOM). */
static int write_bytime(idxout *o, const memidx *m) {
  uint32_t n = m->meta.count;
  int sorted = 1;
  for (uint32_t i = 1; i < n && sorted; i++)
    if (m->times[i] < m->times[i - 1]) sorted = 0;
  if (sorted) {
    for (uint32_t i = 0; i < n; i++) out_put(o, &i, 4);
    return 0;
  }
  time_ord *to = malloc((size_t)n * sizeof *to);
  if (!to) return -1;
  for (uint32_t i = 0; i < n; i++) {
    to[i].t = m->times[i];
    to[i].ord = i;
  }
  qsort(to, n, sizeof *to, cmp_time_ord);
  for (uint32_t i = 0; i < n; i++) out_put(o, &to[i].ord, 4);
  free(to);
  return 0;
}

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn) {
  int c = memcmp(a, b, an < bn ? an : bn);
  if (c) return c;
  return an < bn ? -1 : (an > bn);
}

/* Sorting a dictionary: values are compared by a 64-bit key first — the 8 bytes that follow
 * the prefix every value of the dictionary shares, big-endian, zero-padded — and by their
 * bytes only when the keys are equal. Keys that differ order their values the same way as
 * the bytes do (a shorter value pads with zeros, and a value is before its extensions), so
 * the order is exactly that of cmp_bytes; most comparisons then touch only the key array,
 * not the values scattered over the pool. */
typedef struct dict_sortkey {
  uint64_t key;
  uint32_t idx;
} dict_sortkey;

static int cmp_sortkey(const void *a, const void *b, void *arg) {
  const dict_sortkey *ka = a, *kb = b;
  if (ka->key != kb->key) return ka->key < kb->key ? -1 : 1;
  const memdict *d = arg;
  const memval *x = &d->vals[ka->idx], *y = &d->vals[kb->idx];
  return cmp_bytes(d->pool.data + x->str_off, x->str_len, d->pool.data + y->str_off, y->str_len);
}

/* Fill order[0..nv) with the value indexes of d in byte order. 0 or -1 (OOM). */
static int sort_dict(const memdict *d, uint32_t *order) {
  uint32_t nv = (uint32_t)d->nvals;
  if (nv == 0) return 0;
  size_t lcp = d->vals[0].str_len;
  const char *v0 = d->pool.data + d->vals[0].str_off;
  for (uint32_t i = 1; i < nv && lcp > 0; i++) {
    const memval *v = &d->vals[i];
    const char *p = d->pool.data + v->str_off;
    size_t n = v->str_len < lcp ? v->str_len : lcp, j = 0;
    while (j < n && p[j] == v0[j]) j++;
    lcp = j;
  }
  dict_sortkey *ks = malloc((size_t)nv * sizeof *ks);
  if (!ks) return -1;
  for (uint32_t i = 0; i < nv; i++) {
    const memval *v = &d->vals[i];
    const unsigned char *p = (const unsigned char *)d->pool.data + v->str_off + lcp;
    size_t n = v->str_len - lcp;
    uint64_t k = 0;
    for (size_t j = 0; j < 8; j++) k = (k << 8) | (j < n ? p[j] : 0);
    ks[i].key = k;
    ks[i].idx = i;
  }
  qsort_r(ks, nv, sizeof *ks, cmp_sortkey, (void *)d);
  for (uint32_t i = 0; i < nv; i++) order[i] = ks[i].idx;
  free(ks);
  return 0;
}

/* One dictionary section. Returns 0 or -1 (OOM). */
static int write_dict(idxout *o, const memdict *d) {
  uint32_t nv = (uint32_t)d->nvals;
  uint32_t *order = malloc(((size_t)nv + 1) * sizeof *order);
  if (!order) return -1;
  if (sort_dict(d, order) != 0) {
    free(order);
    return -1;
  }
  unsigned char h[8] = {0};
  st_u32(h, nv);
  out_put(o, h, 8);
  uint64_t post_off = 8 + (uint64_t)nv * DICT_ENTRY_SIZE, total_post = 0;
  for (uint32_t i = 0; i < nv; i++) total_post += d->vals[i].n;
  uint64_t str_off = post_off + total_post * 4;
  for (uint32_t i = 0; i < nv; i++) {
    const memval *v = &d->vals[order[i]];
    unsigned char e[DICT_ENTRY_SIZE];
    st_u64(e, str_off);
    st_u64(e + 8, post_off);
    st_u32(e + 16, v->str_len);
    st_u32(e + 20, v->n);
    out_put(o, e, sizeof e);
    str_off += v->str_len;
    post_off += (uint64_t)v->n * 4;
  }
  for (uint32_t i = 0; i < nv; i++) {
    const memval *v = &d->vals[order[i]];
    out_put(o, v->cap ? v->post.heap : v->post.inl, (size_t)v->n * 4);
  }
  for (uint32_t i = 0; i < nv; i++) {
    const memval *v = &d->vals[order[i]];
    out_put(o, d->pool.data + v->str_off, v->str_len);
  }
  free(order);
  return 0;
}

static void build_header(unsigned char *h, uint64_t base_seq, const memidx *m, uint64_t file_size,
                         uint32_t body_crc, const uint64_t *so, const uint64_t *sl) {
  const segmeta *mt = &m->meta;
  memset(h, 0, IDX_HDR_SIZE);
  memcpy(h, IDX_MAGIC, 8);
  st_u32(h + 8, IDX_VERSION);
  st_u32(h + 12, IDX_HDR_SIZE);
  st_u64(h + 16, base_seq);
  st_u64(h + 24, mt->count ? mt->first_seq : 0);
  st_u64(h + 32, mt->count ? mt->last_seq : 0);
  st_u32(h + 40, mt->count);
  st_u32(h + 44, mt->dense ? 0 : IDX_FLAG_SEQS);
  st_u64(h + 48, mt->data_end);
  st_u64(h + 56, (uint64_t)mt->min_time);
  st_u64(h + 64, (uint64_t)mt->max_time);
  st_u64(h + 72, (uint64_t)mt->min_obs);
  st_u64(h + 80, (uint64_t)mt->max_obs);
  st_u64(h + 88, (uint64_t)mt->created_ns);
  st_u64(h + 96, file_size);
  st_u32(h + 104, body_crc);
  h[108] = mt->max_sev;
  if (mt->has_ulid) {
    memcpy(h + 112, mt->min_ulid, ULID_LEN);
    memcpy(h + 138, mt->max_ulid, ULID_LEN);
  }
  st_u32(h + 164, IDX_NSECT);
  for (int i = 0; i < IDX_NSECT; i++) {
    st_u64(h + 168 + 16 * i, so[i]);
    st_u64(h + 176 + 16 * i, sl[i]);
  }
  st_u32(h + 508, crc32c_extend(0, h, 508));
}

/* See store_internal.h. */
int index_write(int dirfd, uint64_t base_seq, const memidx *m, uint64_t *bytes_written) {
  char name[SEG_NAME_MAX], tmp[SEG_NAME_MAX + 8];
  seg_file_name(name, base_seq, ".idx");
  snprintf(tmp, sizeof tmp, "%s.tmp", name);
  int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  idxout o = {fd, malloc(OUT_BUF), 0, 0, 0, 0};
  int rc = 0;
  if (!o.b) {
    rc = -ENOMEM;
    goto fail;
  }
  uint64_t so[IDX_NSECT] = {0}, sl[IDX_NSECT] = {0};
  unsigned char hdr[IDX_HDR_SIZE];
  memset(hdr, 0, sizeof hdr);
  out_put(&o, hdr, sizeof hdr);
  uint32_t n = m->meta.count;
  for (int sec = 0; sec < IDX_NSECT && !o.err && rc == 0; sec++) {
    out_align8(&o);
    so[sec] = out_pos(&o);
    switch (sec) {
    case SEC_OFFSETS: out_put(&o, m->offs, ((size_t)n + 1) * 4); break;
    case SEC_TIMES: out_put(&o, m->times, (size_t)n * 8); break;
    case SEC_SEVS: out_put(&o, m->sevs, n); break;
    case SEC_SEQS:
      if (!m->meta.dense) out_put(&o, m->seqs, (size_t)n * 8);
      break;
    case SEC_BYTIME:
      if (write_bytime(&o, m) != 0) rc = -ENOMEM;
      break;
    case SEC_ULIDS:
      for (size_t i = 0; i < m->nsamples; i++) {
        unsigned char e[ULID_SAMPLE_SIZE] = {0};
        st_u32(e, m->samples[i].ord);
        memcpy(e + 4, m->samples[i].id, ULID_LEN);
        out_put(&o, e, sizeof e);
      }
      break;
    default:
      if (sec - SEC_DICT0 < NDICT && write_dict(&o, &m->dict[sec - SEC_DICT0]) != 0) rc = -ENOMEM;
      break;
    }
    sl[sec] = out_pos(&o) - so[sec];
  }
  out_flush(&o);
  if (rc == 0 && o.err) rc = -o.err;
  if (rc != 0) goto fail;
  uint64_t file_size = o.off;
  build_header(hdr, base_seq, m, file_size, o.crc, so, sl);
  o.off = 0;
  o.len = 0;
  memcpy(o.b, hdr, sizeof hdr);
  o.len = sizeof hdr;
  out_flush(&o);
  if (o.err) {
    rc = -o.err;
    goto fail;
  }
  if (fsync(fd) != 0) {
    rc = -errno;
    goto fail;
  }
  if (close(fd) != 0) {
    fd = -1;
    rc = -errno;
    goto fail;
  }
  fd = -1;
  if (renameat(dirfd, tmp, dirfd, name) != 0 || fsync(dirfd) != 0) {
    rc = -errno;
    goto fail;
  }
  free(o.b);
  if (bytes_written) *bytes_written = file_size;
  return 0;
fail:
  if (fd >= 0) close(fd);
  free(o.b);
  unlinkat(dirfd, tmp, 0);
  return rc;
}

/* ---- reading ------------------------------------------------------------------------ */

static int reject(char *why, size_t whylen, const char *msg) {
  snprintf(why, whylen, "%s", msg);
  return -1;
}

static int body_crc_ok(int fd, uint64_t size, uint32_t want) {
  size_t cap = 1u << 20;
  unsigned char *b = malloc(cap);
  if (!b) return 0;
  uint32_t crc = 0;
  uint64_t off = IDX_HDR_SIZE;
  int ok = 1;
  while (off < size) {
    size_t k = size - off < cap ? (size_t)(size - off) : cap;
    ssize_t r = pread(fd, b, k, (off_t)off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      ok = 0;
      break;
    }
    crc = crc32c_extend(crc, b, (size_t)r);
    off += (uint64_t)r;
  }
  free(b);
  return ok && crc == want;
}

/* See store_internal.h. */
int index_open(int dirfd, uint64_t base_seq, uint64_t seg_size, idxfile *out, char *why,
               size_t whylen) {
  memset(out, 0, sizeof *out);
  char name[SEG_NAME_MAX];
  seg_file_name(name, base_seq, ".idx");
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return reject(why, whylen, errno == ENOENT ? "missing" : "cannot be opened");
  struct stat st;
  unsigned char h[IDX_HDR_SIZE];
  int rc = -1;
  if (fstat(fd, &st) != 0 || st.st_size < IDX_HDR_SIZE ||
      pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
    rc = reject(why, whylen, "too short");
    goto done;
  }
  if (memcmp(h, IDX_MAGIC, 8) != 0 || ld_u32(h + 8) != IDX_VERSION ||
      ld_u32(h + 12) != IDX_HDR_SIZE || ld_u32(h + 508) != crc32c_extend(0, h, 508)) {
    rc = reject(why, whylen, "bad header (magic, version or CRC)");
    goto done;
  }
  segmeta *mt = &out->meta;
  uint64_t file_size = ld_u64(h + 96);
  mt->count = ld_u32(h + 40);
  mt->first_seq = ld_u64(h + 24);
  mt->last_seq = ld_u64(h + 32);
  uint32_t flags = ld_u32(h + 44);
  mt->dense = !(flags & IDX_FLAG_SEQS);
  mt->data_end = ld_u64(h + 48);
  mt->min_time = (int64_t)ld_u64(h + 56);
  mt->max_time = (int64_t)ld_u64(h + 64);
  mt->min_obs = (int64_t)ld_u64(h + 72);
  mt->max_obs = (int64_t)ld_u64(h + 80);
  mt->created_ns = (int64_t)ld_u64(h + 88);
  mt->max_sev = h[108];
  mt->has_ulid = h[112] != 0;
  memcpy(mt->min_ulid, h + 112, ULID_LEN);
  memcpy(mt->max_ulid, h + 138, ULID_LEN);
  if (ld_u64(h + 16) != base_seq || file_size != (uint64_t)st.st_size ||
      ld_u32(h + 164) != IDX_NSECT) {
    rc = reject(why, whylen, "does not belong to this segment");
    goto done;
  }
  if (mt->data_end != seg_size) {
    rc = reject(why, whylen, "covers a different segment length");
    goto done;
  }
  if (mt->count && (mt->first_seq < base_seq || mt->last_seq < mt->first_seq ||
                    (mt->dense && mt->last_seq - mt->first_seq + 1 != mt->count))) {
    rc = reject(why, whylen, "inconsistent seq range");
    goto done;
  }
  uint64_t n = mt->count;
  for (int i = 0; i < IDX_NSECT; i++) {
    uint64_t o = ld_u64(h + 168 + 16 * i), l = ld_u64(h + 176 + 16 * i);
    if (o < IDX_HDR_SIZE || o % 8 || o > file_size || l > file_size - o) {
      rc = reject(why, whylen, "section out of bounds");
      goto done;
    }
    out->sect_off[i] = o;
    out->sect_len[i] = l;
  }
  if (out->sect_len[SEC_OFFSETS] != (n + 1) * 4 || out->sect_len[SEC_TIMES] != n * 8 ||
      out->sect_len[SEC_SEVS] != n || out->sect_len[SEC_SEQS] != (mt->dense ? 0 : n * 8) ||
      out->sect_len[SEC_BYTIME] != n * 4 || out->sect_len[SEC_ULIDS] % ULID_SAMPLE_SIZE) {
    rc = reject(why, whylen, "section sizes do not match the record count");
    goto done;
  }
  if (!body_crc_ok(fd, file_size, ld_u32(h + 104))) {
    rc = reject(why, whylen, "body CRC mismatch");
    goto done;
  }
  void *map = mmap(NULL, (size_t)file_size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    rc = reject(why, whylen, "cannot be mapped");
    goto done;
  }
  out->map = map;
  out->len = (size_t)file_size;
  /* Dictionary headers: the entry table must fit its section. */
  for (int d = 0; d < NDICT; d++) {
    uint64_t l = out->sect_len[SEC_DICT0 + d];
    if (l == 0) continue;
    const unsigned char *s = out->map + out->sect_off[SEC_DICT0 + d];
    uint64_t nv = l >= 8 ? ld_u32(s) : UINT64_MAX;
    if (nv == UINT64_MAX || 8 + nv * DICT_ENTRY_SIZE > l) {
      index_close(out);
      rc = reject(why, whylen, "dictionary out of bounds");
      goto done;
    }
  }
  rc = 0;
done:
  close(fd);
  return rc;
}

/* Drop this process's page-table entries for the mapping (the pages stay in the page cache
 * and fault back in on the next access): keeps the resident size of an idle store small
 * after queries have touched many index pages. Safe while other threads read the mapping. */
void index_release_pages(const idxfile *x) {
  if (x->map) madvise((void *)x->map, x->len, MADV_DONTNEED);
}

/* Unmap. */
void index_close(idxfile *x) {
  if (x->map) munmap((void *)x->map, x->len);
  x->map = NULL;
  x->len = 0;
}

uint32_t index_dict_count(const idxfile *x, int d) {
  if (x->sect_len[SEC_DICT0 + d] < 8) return 0;
  return ld_u32(x->map + x->sect_off[SEC_DICT0 + d]);
}

/* Value j of dict d: 1 and the value and postings when the entry is in bounds, else 0. */
int index_dict_value(const idxfile *x, int d, uint32_t j, const char **v, size_t *n, postings *p) {
  const unsigned char *s = x->map + x->sect_off[SEC_DICT0 + d];
  uint64_t l = x->sect_len[SEC_DICT0 + d];
  if (j >= index_dict_count(x, d)) return 0;
  const unsigned char *e = s + 8 + (uint64_t)j * DICT_ENTRY_SIZE;
  uint64_t so = ld_u64(e), po = ld_u64(e + 8);
  uint32_t sn = ld_u32(e + 16), pn = ld_u32(e + 20);
  if (so > l || sn > l - so || po > l || po % 4 || (uint64_t)pn * 4 > l - po) return 0;
  *v = (const char *)s + so;
  *n = sn;
  p->ids = (const uint32_t *)(const void *)(s + po);
  p->n = pn;
  return 1;
}

static int entry_cmp(const idxfile *x, int d, uint32_t j, const char *v, size_t n) {
  const char *ev;
  size_t en;
  postings p;
  if (!index_dict_value(x, d, j, &ev, &en, &p)) return -1; /* damaged: sorts first */
  return cmp_bytes(ev, en, v, n);
}

/* Index of the first entry of dict d that is >= v. */
uint32_t index_dict_lower_bound(const idxfile *x, int d, const char *v, size_t n) {
  uint32_t lo = 0, hi = index_dict_count(x, d);
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (entry_cmp(x, d, mid, v, n) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Postings of v in dict d: 1 (found) or 0. */
int index_lookup(const idxfile *x, int d, const char *v, size_t n, postings *out) {
  uint32_t j = index_dict_lower_bound(x, d, v, n);
  const char *ev;
  size_t en;
  if (!index_dict_value(x, d, j, &ev, &en, out)) return 0;
  return en == n && memcmp(ev, v, n) == 0;
}

/* The ULID samples section (entries of ULID_SAMPLE_SIZE bytes; *n of them). */
_Static_assert(sizeof(ulid_sample) == ULID_SAMPLE_SIZE && offsetof(ulid_sample, id) == 4,
               "ulid_sample must match the ULIDS section layout");

const ulid_sample *index_samples(const idxfile *x, size_t *n) {
  *n = (size_t)(x->sect_len[SEC_ULIDS] / ULID_SAMPLE_SIZE);
  return (const ulid_sample *)(const void *)(x->map + x->sect_off[SEC_ULIDS]);
}
