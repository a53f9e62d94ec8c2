/* marks: archive and delete marks of single records (store_mark, store_marks_of), applied
 * at read time by query.c and lookup.c.
 *
 * In memory the marks are one sorted array of (seq, kind bits) for the whole store; a
 * segment's marks are the slice [lower_bound(first_seq), upper_bound(last_seq)) of it, so a
 * segment without marks costs one binary search per query and keeps every fast path. Marks
 * are keyed by seq, not by ordinal: they stay valid when the active segment is sealed.
 *
 * On disk: `<data dir>/marks.log`, an append-only file of 16-byte entries
 *   0  8  seq
 *   8  1  kind bits (1 = archived, 2 = deleted), cumulative for that seq
 *   9  3  zero
 *   12 4  CRC-32C of bytes 0..12
 * store_mark appends the new entries and fdatasyncs the file before it publishes them to
 * readers and returns, so an acknowledged archive or delete survives a crash. At open the
 * file is read up to the first entry that fails its CRC (a torn tail, cut off); entries for
 * seqs below the oldest retained record, and delete marks of records compaction removed,
 * are forgotten, and the file is rewritten compactly
 * (marks.log.tmp, fsync, rename, fsync dir) when it holds stale or repeated entries.
 *
 * Locking: s->marks.wmu serializes markers (only they mutate the array, so a marker reads it
 * without further locking); s->marks.lock (rwlock) guards the array against readers: a
 * marker takes it for writing only to merge entries that are already durable. Readers
 * (query.c) take it for reading around the evaluation of one segment, never across a user
 * callback. Lock order: marks.lock before s->lock. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "store/store_internal.h"

#define MARKS_FILE "marks.log"
#define MARKS_TMP "marks.log.tmp"
#define MARK_ENTRY 16

/* Index of the first mark with seq >= seq. Caller holds marks.lock or marks.wmu. */
static size_t lower_bound(const store_marks *m, uint64_t seq) {
  size_t lo = 0, hi = m->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (m->seq[mid] < seq)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* See store_internal.h. */
void marks_range(const store_marks *m, uint64_t first, uint64_t last, size_t *lo, size_t *hi) {
  *lo = lower_bound(m, first);
  *hi = last == UINT64_MAX ? m->n : lower_bound(m, last + 1);
  if (*hi < *lo) *hi = *lo;
}

/* See store_internal.h. */
unsigned marks_kind_in(const store_marks *m, size_t lo, size_t hi, uint64_t seq) {
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (m->seq[mid] < seq)
      lo = mid + 1;
    else if (m->seq[mid] > seq)
      hi = mid;
    else
      return m->kind[mid];
  }
  return 0;
}

/* See store_internal.h. */
int marks_visible(unsigned kind, int archived_mode) {
  if (kind & STORE_MARK_DELETED) return 0;
  if (archived_mode == STORE_ARCHIVED_HIDE) return !(kind & STORE_MARK_ARCHIVED);
  if (archived_mode == STORE_ARCHIVED_ONLY) return (kind & STORE_MARK_ARCHIVED) != 0;
  return 1;
}

static int ensure_cap(store_marks *m, size_t need) {
  if (need <= m->cap) return 0;
  size_t cap = m->cap ? m->cap : 256;
  while (cap < need) cap *= 2;
  uint64_t *ns = realloc(m->seq, cap * sizeof *ns);
  if (!ns) return -1;
  m->seq = ns;
  uint8_t *nk = realloc(m->kind, cap);
  if (!nk) return -1;
  m->kind = nk;
  m->cap = cap;
  return 0;
}

static void entry_encode(unsigned char e[MARK_ENTRY], uint64_t seq, unsigned kind) {
  memset(e, 0, MARK_ENTRY);
  st_u64(e, seq);
  e[8] = (unsigned char)kind;
  st_u32(e + 12, crc32c_extend(0, e, 12));
}

static int write_all(int fd, const unsigned char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

typedef struct pair {
  uint64_t seq;
  unsigned kind;
} pair;

static int cmp_pair(const void *a, const void *b) {
  const pair *x = a, *y = b;
  return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Rewrite marks.log from the in-memory array (open time). 0 or -errno. */
static int rewrite_file(store *s) {
  store_marks *m = &s->marks;
  int fd = openat(s->dirfd, MARKS_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  unsigned char e[MARK_ENTRY * 256];
  int rc = 0;
  size_t k = 0;
  for (size_t i = 0; i < m->n && rc == 0; i++) {
    entry_encode(e + k * MARK_ENTRY, m->seq[i], m->kind[i]);
    if (++k == 256 || i + 1 == m->n) {
      rc = write_all(fd, e, k * MARK_ENTRY);
      k = 0;
    }
  }
  if (rc == 0 && fsync(fd) != 0) rc = -errno;
  close(fd);
  if (rc == 0 && renameat(s->dirfd, MARKS_TMP, s->dirfd, MARKS_FILE) != 0) rc = -errno;
  if (rc == 0 && fsync(s->dirfd) != 0) rc = -errno;
  if (rc) unlinkat(s->dirfd, MARKS_TMP, 0);
  return rc;
}

/* 1 if a record with this seq is stored (open time: every segment but the empty active one
 * is sealed and immutable). */
static int seq_present(store *s, uint64_t seq) {
  size_t lo = 0, hi = s->nsegs;
  while (lo < hi) { /* last segment with base_seq <= seq */
    size_t mid = lo + (hi - lo) / 2;
    if (s->segs[mid]->base_seq <= seq)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0) return 0;
  segview v;
  seg_view(s->segs[lo - 1], &v);
  uint32_t o = segview_ord_of_seq(&v, seq);
  return o < v.n && segview_seq(&v, o) == seq;
}

/* See store_internal.h. */
int marks_open(store *s, char *err, size_t errlen) {
  store_marks *m = &s->marks;
  m->fd = -1;
  uint64_t first_retained = UINT64_MAX;
  for (size_t i = 0; i < s->nsegs; i++) {
    segview v;
    seg_view(s->segs[i], &v);
    if (v.n) {
      first_retained = v.meta.first_seq;
      break;
    }
  }
  int fd = openat(s->dirfd, MARKS_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    snprintf(err, errlen, "cannot open %s/%s: %s", s->dir, MARKS_FILE, strerror(errno));
    return -1;
  }
  off_t size = lseek(fd, 0, SEEK_END);
  pair *ps = NULL;
  size_t np = 0, valid_bytes = 0;
  if (size > 0) {
    ps = malloc(((size_t)size / MARK_ENTRY + 1) * sizeof *ps);
    unsigned char *data = malloc((size_t)size);
    if (!ps || !data || pread(fd, data, (size_t)size, 0) != (ssize_t)size) {
      snprintf(err, errlen, "cannot read %s/%s: %s", s->dir, MARKS_FILE,
               (!ps || !data) ? "out of memory" : strerror(errno ? errno : EIO));
      free(ps);
      free(data);
      close(fd);
      return -1;
    }
    for (size_t off = 0; off + MARK_ENTRY <= (size_t)size; off += MARK_ENTRY) {
      const unsigned char *e = data + off;
      if (crc32c_extend(0, e, 12) != ld_u32(e + 12) || (e[8] & ~3u)) break;
      valid_bytes = off + MARK_ENTRY;
      ps[np].seq = ld_u64(e);
      ps[np].kind = e[8];
      np++;
    }
    free(data);
  }
  int rewrite = valid_bytes != (size_t)size;
  if (rewrite)
    store_logf(s, STORE_LOG_WARN, "store %s: %s: cut %zu bytes of torn or damaged tail", s->dir,
               MARKS_FILE, (size_t)size - valid_bytes);
  if (np) qsort(ps, np, sizeof *ps, cmp_pair);
  for (size_t i = 0; i < np; i++) {
    if (ps[i].seq < first_retained || ps[i].seq > s->next_seq - 1 || ps[i].seq == 0 ||
        ((ps[i].kind & STORE_MARK_DELETED) && !seq_present(s, ps[i].seq))) {
      rewrite = 1; /* dropped by retention or removed by compaction (or never stored) */
      continue;
    }
    if (m->n && m->seq[m->n - 1] == ps[i].seq) {
      m->kind[m->n - 1] |= (uint8_t)ps[i].kind;
      rewrite = 1;
      continue;
    }
    if (ensure_cap(m, m->n + 1) != 0) {
      snprintf(err, errlen, "out of memory loading %s", MARKS_FILE);
      free(ps);
      close(fd);
      return -1;
    }
    m->seq[m->n] = ps[i].seq;
    m->kind[m->n] = (uint8_t)ps[i].kind;
    m->n++;
  }
  free(ps);
  close(fd);
  if (rewrite) {
    int rc = rewrite_file(s);
    if (rc) {
      snprintf(err, errlen, "cannot rewrite %s/%s: %s", s->dir, MARKS_FILE, strerror(-rc));
      return -1;
    }
  }
  m->fd = openat(s->dirfd, MARKS_FILE, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (m->fd < 0) {
    snprintf(err, errlen, "cannot open %s/%s: %s", s->dir, MARKS_FILE, strerror(errno));
    return -1;
  }
  return 0;
}

/* See store_internal.h. */
void marks_init(store *s) {
  pthread_rwlockattr_t ra;
  pthread_rwlockattr_init(&ra);
  pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&s->marks.lock, &ra);
  pthread_rwlockattr_destroy(&ra);
  pthread_mutex_init(&s->marks.wmu, NULL);
  s->marks.fd = -1;
}

/* See store_internal.h. */
void marks_close(store *s) {
  if (s->marks.fd >= 0) close(s->marks.fd);
  free(s->marks.seq);
  free(s->marks.kind);
  pthread_rwlock_destroy(&s->marks.lock);
  pthread_mutex_destroy(&s->marks.wmu);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : (x > y);
}

/* See store.h. */
int store_mark(store *s, const uint64_t *seqs, size_t n, unsigned kind, uint64_t *changed) {
  if (changed) *changed = 0;
  if (kind != STORE_MARK_ARCHIVED && kind != STORE_MARK_DELETED) return -EINVAL;
  if (n == 0) return 0;
  uint64_t committed = store_committed_seq(s);
  uint64_t *sorted = malloc(n * sizeof *sorted);
  if (!sorted) return -ENOMEM;
  memcpy(sorted, seqs, n * sizeof *sorted);
  qsort(sorted, n, sizeof *sorted, cmp_u64);
  store_marks *m = &s->marks;
  pthread_mutex_lock(&m->wmu);
  if (m->fd < 0) {
    pthread_mutex_unlock(&m->wmu);
    free(sorted);
    return -EROFS;
  }
  /* New entries: seqs whose kind bits change (no record is archived once deleted). */
  pair *add = malloc(n * sizeof *add);
  unsigned char *enc = malloc(n * MARK_ENTRY);
  size_t na = 0;
  int rc = (!add || !enc) ? -ENOMEM : 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    uint64_t q = sorted[i];
    if (q == 0 || q > committed || (i && sorted[i - 1] == q)) continue;
    size_t at = lower_bound(m, q);
    unsigned old = at < m->n && m->seq[at] == q ? m->kind[at] : 0;
    if (old & STORE_MARK_DELETED) continue;
    if (old & kind) continue;
    add[na].seq = q;
    add[na].kind = old | kind;
    entry_encode(enc + na * MARK_ENTRY, q, add[na].kind);
    na++;
  }
  if (rc == 0 && na) {
    rc = write_all(m->fd, enc, na * MARK_ENTRY);
    if (rc == 0 && fdatasync(m->fd) != 0) rc = -errno;
    if (rc) {
      /* What reached the file is unknown: refuse further marks rather than guess. */
      store_logf(s, STORE_LOG_ERROR, "store %s: cannot write %s: %s; marks disabled until restart",
                 s->dir, MARKS_FILE, strerror(-rc));
      close(m->fd);
      m->fd = -1;
    }
  }
  if (rc == 0 && na) {
    /* Merge (both sorted) into a new array, then publish under the write lock. */
    size_t total = m->n, nn = 0;
    for (size_t i = 0; i < na; i++) {
      size_t at = lower_bound(m, add[i].seq);
      if (!(at < m->n && m->seq[at] == add[i].seq)) total++;
    }
    uint64_t *ns = malloc((total ? total : 1) * sizeof *ns);
    uint8_t *nk = malloc(total ? total : 1);
    if (!ns || !nk) {
      free(ns);
      free(nk);
      rc = -ENOMEM;
    } else {
      size_t i = 0, j = 0;
      while (i < m->n || j < na) {
        if (j >= na || (i < m->n && m->seq[i] < add[j].seq)) {
          ns[nn] = m->seq[i];
          nk[nn++] = m->kind[i++];
        } else if (i >= m->n || add[j].seq < m->seq[i]) {
          ns[nn] = add[j].seq;
          nk[nn++] = (uint8_t)add[j++].kind;
        } else {
          ns[nn] = add[j].seq;
          nk[nn++] = (uint8_t)add[j++].kind;
          i++;
        }
      }
      pthread_rwlock_wrlock(&m->lock);
      uint64_t *os = m->seq;
      uint8_t *ok = m->kind;
      m->seq = ns;
      m->kind = nk;
      m->n = m->cap = nn;
      pthread_rwlock_unlock(&m->lock);
      free(os);
      free(ok);
      if (changed) *changed = na;
    }
  }
  pthread_mutex_unlock(&m->wmu);
  free(add);
  free(enc);
  free(sorted);
  return rc;
}

/* See store.h. */
unsigned store_marks_of(store *s, uint64_t seq) {
  pthread_rwlock_rdlock(&s->marks.lock);
  unsigned k = marks_kind_in(&s->marks, 0, s->marks.n, seq);
  pthread_rwlock_unlock(&s->marks.lock);
  return k;
}

/* See store.h. */
void store_marks_stats(store *s, uint64_t *archived, uint64_t *deleted) {
  uint64_t a = 0, d = 0;
  pthread_rwlock_rdlock(&s->marks.lock);
  for (size_t i = 0; i < s->marks.n; i++) {
    if (s->marks.kind[i] & STORE_MARK_DELETED)
      d++;
    else if (s->marks.kind[i] & STORE_MARK_ARCHIVED)
      a++;
  }
  pthread_rwlock_unlock(&s->marks.lock);
  *archived = a;
  *deleted = d;
}
