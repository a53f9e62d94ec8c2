/* store: open (lock, recovery, index checks, client-id map), close, stats, self-check.
 * The on-disk format and the recovery rules are in docs/storage.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/debug.h"
#include "store/store_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the store's on-disk format is read with native loads: little-endian machines only"
#endif

const double store_fsync_bucket_bounds[STORE_FSYNC_BUCKETS] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01,    0.025,  0.05,    0.1,    0.25,  1.0,    INFINITY};

void store_options_default(store_options *o) {
  memset(o, 0, sizeof *o);
  o->sync = STORE_SYNC_BATCH;
  o->sync_interval_ns = 1000000000LL;
  o->segment_max_bytes = 128u << 20;
  o->segment_max_age_ns = 3600LL * 1000000000LL;
  o->queue_max_bytes = 64u << 20;
}

int64_t store_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Log through the store's callback (one line, no newline). */
void store_logf(store *s, int level, const char *fmt, ...) {
  if (!s->opt.log) return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  s->opt.log(s->opt.log_arg, level, msg);
}

/* ---- opening ------------------------------------------------------------------------ */

static int mkdir_p(const char *dir) {
  char path[4096];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof path) return -ENAMETOOLONG;
  memcpy(path, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (path[i] != '/' && path[i] != '\0') continue;
    char c = path[i];
    path[i] = '\0';
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return -errno;
    path[i] = c;
  }
  return 0;
}

static int take_lock(store *s, char *err, size_t errlen) {
  s->lockfd = openat(s->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (s->lockfd < 0) {
    snprintf(err, errlen, "cannot open %s/LOCK: %s", s->dir, strerror(errno));
    return -1;
  }
  if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (e == EWOULDBLOCK) {
      char pid[32] = "";
      ssize_t r = pread(s->lockfd, pid, sizeof pid - 1, 0);
      pid[r > 0 ? r : 0] = '\0';
      pid[strcspn(pid, "\n")] = '\0';
      snprintf(err, errlen, "data directory %s is locked by another eventd (pid %s)", s->dir,
               pid[0] ? pid : "unknown");
    } else {
      snprintf(err, errlen, "cannot lock %s/LOCK: %s", s->dir, strerror(e));
    }
    return -1;
  }
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(s->lockfd, 0) != 0 || pwrite(s->lockfd, pid, (size_t)n, 0) != n) {
    snprintf(err, errlen, "cannot write %s/LOCK: %s", s->dir, strerror(errno));
    return -1;
  }
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : (x > y);
}

/* Segment bases (sorted), after removing *.tmp files and indexes without a segment. */
static int list_dir(store *s, uint64_t **bases, size_t *nbases) {
  int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -errno;
  }
  uint64_t *segs = NULL, *idxs = NULL;
  size_t ns = 0, ni = 0, cs = 0, ci = 0;
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    uint64_t b;
    size_t len = strlen(e->d_name);
    if (len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0) {
      unlinkat(s->dirfd, e->d_name, 0);
      store_logf(s, STORE_LOG_INFO, "store %s: removed unfinished %s", s->dir, e->d_name);
    } else if (seg_file_parse(e->d_name, ".seg", &b)) {
      if (ns == cs) {
        cs = cs ? cs * 2 : 16;
        uint64_t *np = realloc(segs, cs * sizeof *np);
        if (!np) rc = -ENOMEM; else segs = np;
      }
      if (rc == 0) segs[ns++] = b;
    } else if (seg_file_parse(e->d_name, ".idx", &b)) {
      if (ni == ci) {
        ci = ci ? ci * 2 : 16;
        uint64_t *np = realloc(idxs, ci * sizeof *np);
        if (!np) rc = -ENOMEM; else idxs = np;
      }
      if (rc == 0) idxs[ni++] = b;
    }
  }
  closedir(d);
  if (rc == 0) {
    if (ns) qsort(segs, ns, sizeof *segs, cmp_u64);
    for (size_t i = 0; i < ni; i++) {
      if (segs && bsearch(&idxs[i], segs, ns, sizeof *segs, cmp_u64)) continue;
      char name[SEG_NAME_MAX];
      seg_file_name(name, idxs[i], ".idx");
      unlinkat(s->dirfd, name, 0);
      store_logf(s, STORE_LOG_INFO, "store %s: removed %s (its segment is gone)", s->dir, name);
    }
  }
  free(idxs);
  if (rc) {
    free(segs);
    return rc;
  }
  *bases = segs;
  *nbases = ns;
  return 0;
}

static int scan_add(void *arg, uint64_t seq, uint64_t off, const unsigned char *payload, uint32_t len) {
  memidx *m = arg;
  record_view rv;
  if (store_record_decode(payload, len, &rv) != 0) return 0; /* the scan checked it already */
  return memidx_add(m, &rv, seq, off, off + FRAME_HDR + len);
}

/* Scan a segment file into a new memidx, applying the recovery rules (truncating a torn tail,
 * re-initializing a file shorter than its header). 0 or -errno. */
static int recover_segment(store *s, uint64_t base, int fd, memidx **out) {
  char name[SEG_NAME_MAX];
  seg_file_name(name, base, ".seg");
  memidx *m = memidx_new(s->hash_seed, SEG_HDR_SIZE, 0);
  if (!m) return -ENOMEM;
  journal_scan_result res;
  int rc = journal_scan(fd, name, base, scan_add, m, &s->rep, &res);
  if (rc != 0) {
    memidx_free(m);
    return rc;
  }
  m->meta.created_ns = res.header_ok ? res.created_ns : store_now_ns();
  if (res.data_end < SEG_HDR_SIZE) {
    rc = journal_reinit(fd, base, m->meta.created_ns);
  } else if (res.data_end < res.file_size) {
    if (ftruncate(fd, (off_t)res.data_end) != 0 || fsync(fd) != 0) rc = -errno;
  }
  if (rc != 0) {
    memidx_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

static int push_seg(store *s, seg *g) {
  if (s->nsegs == s->capsegs) {
    size_t cap = s->capsegs ? s->capsegs * 2 : 16;
    seg **np = realloc(s->segs, cap * sizeof *np);
    if (!np) return -ENOMEM;
    s->segs = np;
    s->capsegs = cap;
  }
  s->segs[s->nsegs++] = g;
  return 0;
}

/* Open one segment that is not the last: its index, or a rebuilt one. */
static int open_sealed(store *s, uint64_t base, char *err, size_t errlen) {
  char name[SEG_NAME_MAX];
  seg_file_name(name, base, ".seg");
  int fd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    snprintf(err, errlen, "cannot open %s/%s: %s", s->dir, name, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  idxfile x;
  char why[128];
  seg *g = NULL;
  if (index_open(s->dirfd, base, (uint64_t)st.st_size, &x, why, sizeof why) == 0) {
    g = seg_new_sealed(base, fd, &x, (uint64_t)st.st_size);
    if (!g) index_close(&x);
  } else {
    store_logf(s, STORE_LOG_WARN, "store %s: index of segment %s %s; rebuilding it", s->dir, name, why);
    memidx *m = NULL;
    int rc = recover_segment(s, base, fd, &m);
    if (rc == 0) {
      rc = seg_seal(s, base, fd, m, &g);
      memidx_free(m);
    }
    if (rc != 0) {
      snprintf(err, errlen, "cannot rebuild the index of %s/%s: %s", s->dir, name, strerror(-rc));
      close(fd);
      return -1;
    }
  }
  if (!g || push_seg(s, g) != 0) {
    snprintf(err, errlen, "out of memory");
    if (g) seg_unref(g); else close(fd);
    return -1;
  }
  return 0;
}

/* Start a new, empty active segment named by the next seq. */
static int create_active(store *s, char *err, size_t errlen) {
  int64_t now = store_now_ns();
  int nfd = journal_create(s->dirfd, s->next_seq, now);
  memidx *nm = nfd >= 0 ? memidx_new(s->hash_seed, SEG_HDR_SIZE, now) : NULL;
  seg *g = nm ? seg_new_active(s->next_seq, nfd, nm) : NULL;
  if (!g || push_seg(s, g) != 0) {
    snprintf(err, errlen, "cannot create the active segment in %s: %s", s->dir,
             strerror(nfd < 0 ? -nfd : ENOMEM));
    if (g) {
      seg_unref(g);
    } else {
      memidx_free(nm);
      if (nfd >= 0) close(nfd);
    }
    return -1;
  }
  return 0;
}

/* Recover the last segment; seal it when it has records; start the active segment. */
static int open_last(store *s, uint64_t base, char *err, size_t errlen) {
  char name[SEG_NAME_MAX];
  seg_file_name(name, base, ".seg");
  int fd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "cannot open %s/%s: %s", s->dir, name, strerror(errno));
    return -1;
  }
  memidx *m = NULL;
  int rc = recover_segment(s, base, fd, &m);
  if (rc != 0) {
    snprintf(err, errlen, "cannot recover %s/%s: %s", s->dir, name, strerror(-rc));
    close(fd);
    return -1;
  }
  if (m->meta.count > 0) {
    if (m->meta.last_seq + 1 > s->next_seq) s->next_seq = m->meta.last_seq + 1;
    seg *g = NULL;
    rc = seg_seal(s, base, fd, m, &g);
    memidx_free(m);
    if (rc != 0 || push_seg(s, g) != 0) {
      snprintf(err, errlen, "cannot seal recovered segment %s/%s: %s", s->dir, name,
               strerror(rc ? -rc : ENOMEM));
      if (g) seg_unref(g); else close(fd);
      return -1;
    }
    fd = -1;
  } else if (base == s->next_seq || (s->nsegs == 0 && base > s->next_seq)) {
    /* Empty and in place: it stays the active segment, with a fresh header (its age counts
     * from now, and a damaged header is repaired). */
    s->next_seq = base;
    m->meta.created_ns = store_now_ns();
    rc = journal_reinit(fd, base, m->meta.created_ns);
    if (rc != 0) {
      snprintf(err, errlen, "cannot reset empty segment %s/%s: %s", s->dir, name, strerror(-rc));
      memidx_free(m);
      close(fd);
      return -1;
    }
    seg *g = seg_new_active(base, fd, m);
    if (!g || push_seg(s, g) != 0) {
      snprintf(err, errlen, "out of memory");
      if (g) seg_unref(g); else { memidx_free(m); close(fd); }
      return -1;
    }
    return 0;
  } else {
    /* Empty but misnamed for the next seq: replace it. */
    memidx_free(m);
    close(fd);
    unlinkat(s->dirfd, name, 0);
  }
  return create_active(s, err, errlen);
}

/* Client-id map, ULID continuation and totals from the sealed segments. */
static int finish_open(store *s) {
  char max_ulid[ULID_LEN];
  int have_ulid = 0;
  for (size_t i = 0; i < s->nsegs; i++) {
    seg *g = s->segs[i];
    s->total_bytes += g->seg_bytes + g->idx_bytes;
    if (g->mem) continue;
    const segmeta *mt = &g->idx.meta;
    s->total_records += mt->count;
    if (mt->has_ulid && ulid_valid(mt->max_ulid, ULID_LEN) &&
        (!have_ulid || memcmp(mt->max_ulid, max_ulid, ULID_LEN) > 0)) {
      memcpy(max_ulid, mt->max_ulid, ULID_LEN);
      have_ulid = 1;
    }
    segview v;
    seg_view(g, &v);
    uint32_t cnt = index_dict_count(&g->idx, DICT_CLIENT_IDS);
    for (uint32_t j = 0; j < cnt; j++) {
      const char *id;
      size_t n;
      postings p;
      if (!index_dict_value(&g->idx, DICT_CLIENT_IDS, j, &id, &n, &p) || !p.n || p.ids[0] >= v.n)
        continue;
      if (cmap_insert(&s->clients, store_hash(s->hash_seed, id, n), segview_seq(&v, p.ids[0])) != 0)
        return -ENOMEM;
    }
    /* Open touched the client ids; give those pages back so an idle store stays small. */
    madvise((void *)g->idx.map, g->idx.len, MADV_DONTNEED);
  }
  if (have_ulid) s->ulid.last_ms = ulid_time_ms(max_ulid) + 1;
  return 0;
}

static int recover(store *s, char *err, size_t errlen) {
  uint64_t *bases = NULL;
  size_t nb = 0;
  int rc = list_dir(s, &bases, &nb);
  if (rc != 0) {
    snprintf(err, errlen, "cannot read data directory %s: %s", s->dir, strerror(-rc));
    return -1;
  }
  s->next_seq = 1;
  for (size_t i = 0; i + 1 < nb; i++) {
    if (open_sealed(s, bases[i], err, errlen) != 0) {
      free(bases);
      return -1;
    }
    const segmeta *mt = &s->segs[s->nsegs - 1]->idx.meta;
    if (mt->count && mt->last_seq + 1 > s->next_seq) s->next_seq = mt->last_seq + 1;
  }
  rc = nb == 0 ? create_active(s, err, errlen) : open_last(s, bases[nb - 1], err, errlen);
  free(bases);
  if (rc != 0) return -1;
  if (finish_open(s) != 0) {
    snprintf(err, errlen, "out of memory rebuilding the client-id map");
    return -1;
  }
  return 0;
}

/* See store.h. */
int store_open(const store_options *o, store **out, char *err, size_t errlen) {
  *out = NULL;
  if (!o->dir || !*o->dir) {
    snprintf(err, errlen, "no data directory given");
    return -1;
  }
  store *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  s->opt = *o;
  store_options d;
  store_options_default(&d);
  if (s->opt.sync_interval_ns <= 0) s->opt.sync_interval_ns = d.sync_interval_ns;
  if (!s->opt.segment_max_bytes) s->opt.segment_max_bytes = d.segment_max_bytes;
  if (s->opt.segment_max_bytes < STORE_SEGMENT_MIN) s->opt.segment_max_bytes = STORE_SEGMENT_MIN;
  if (s->opt.segment_max_bytes > STORE_SEGMENT_MAX) s->opt.segment_max_bytes = STORE_SEGMENT_MAX;
  if (s->opt.segment_max_age_ns <= 0) s->opt.segment_max_age_ns = d.segment_max_age_ns;
  if (!s->opt.queue_max_bytes) s->opt.queue_max_bytes = d.queue_max_bytes;
  if (s->opt.sync != STORE_SYNC_ALWAYS && s->opt.sync != STORE_SYNC_NONE) s->opt.sync = STORE_SYNC_BATCH;
  s->dir = strdup(o->dir);
  s->opt.dir = s->dir;
  s->dirfd = s->lockfd = -1;
  s->rep.log = o->log;
  s->rep.log_arg = o->log_arg;
  pthread_rwlockattr_t ra;
  pthread_rwlockattr_init(&ra);
  pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&s->lock, &ra);
  pthread_rwlockattr_destroy(&ra);
  pthread_mutex_init(&s->qmu, NULL);
  pthread_mutex_init(&s->guard_mu, NULL);
  pthread_mutex_init(&s->stmu, NULL);
  marks_init(s);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->qcv, &ca);
  pthread_condattr_destroy(&ca);
  int rc;
  if (!s->dir) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  if (getrandom(&s->hash_seed, sizeof s->hash_seed, 0) != (ssize_t)sizeof s->hash_seed ||
      ulid_gen_init(&s->ulid) != 0) {
    snprintf(err, errlen, "no randomness available (getrandom failed)");
    goto fail;
  }
  if ((rc = mkdir_p(s->dir)) != 0) {
    snprintf(err, errlen, "cannot create data directory %s: %s", s->dir, strerror(-rc));
    goto fail;
  }
  s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->dirfd < 0) {
    snprintf(err, errlen, "cannot open data directory %s: %s", s->dir, strerror(errno));
    goto fail;
  }
  if (take_lock(s, err, errlen) != 0) goto fail;
  if (recover(s, err, errlen) != 0) goto fail;
  if (marks_open(s, err, errlen) != 0) goto fail;
  atomic_store(&s->committed_seq, s->next_seq - 1);
  pthread_mutex_lock(&s->stmu);
  s->st.recovered_truncated_bytes = s->rep.truncated_bytes;
  s->st.corrupt_records = s->rep.corrupt_records;
  pthread_mutex_unlock(&s->stmu);
  if (s->rep.truncated_bytes || s->rep.corrupt_records)
    store_logf(s, STORE_LOG_WARN,
               "store %s: recovery cut %" PRIu64 " bytes of torn tail and skipped %" PRIu64
               " corrupt records",
               s->dir, s->rep.truncated_bytes, s->rep.corrupt_records);
  if (writer_start(s, err, errlen) != 0) goto fail;
  store_logf(s, STORE_LOG_INFO, "store %s: opened, %zu segments, %" PRIu64 " records, next seq %" PRIu64,
             s->dir, s->nsegs, s->total_records, s->next_seq);
  *out = s;
  return 0;
fail:
  store_close(s);
  return -1;
}

/* See store.h. */
void store_close(store *s) {
  if (!s) return;
  writer_stop(s);
  for (size_t i = 0; i < s->nsegs; i++) seg_unref(s->segs[i]);
  free(s->segs);
  cmap_free(&s->clients);
  marks_close(s);
  if (s->dirfd >= 0) close(s->dirfd);
  if (s->lockfd >= 0) close(s->lockfd); /* releases the flock */
  pthread_rwlock_destroy(&s->lock);
  pthread_mutex_destroy(&s->qmu);
  pthread_mutex_destroy(&s->guard_mu);
  pthread_mutex_destroy(&s->stmu);
  pthread_cond_destroy(&s->qcv);
  free(s->dir);
  free(s);
}

uint64_t store_committed_seq(store *s) { return atomic_load(&s->committed_seq); }

/* See store.h. */
void store_get_stats(store *s, store_stats *out) {
  pthread_mutex_lock(&s->stmu);
  *out = s->st;
  pthread_mutex_unlock(&s->stmu);
  pthread_rwlock_rdlock(&s->lock);
  out->segments = s->nsegs;
  out->bytes = s->total_bytes;
  out->records = s->total_records;
  out->committed_seq = atomic_load(&s->committed_seq);
  pthread_rwlock_unlock(&s->lock);
  pthread_mutex_lock(&s->qmu);
  out->queue_bytes = s->qbytes;
  out->queue_batches = s->qbatches;
  out->failed = s->failed != 0;
  pthread_mutex_unlock(&s->qmu);
}

/* ---- test hooks and self-check ------------------------------------------------------ */

void store__inject_write_error(store *s, int err, int count) {
  atomic_store(&s->inject_write_count, count);
  atomic_store(&s->inject_write_errno, err);
}

void store__inject_fsync_error(store *s, int err) { atomic_store(&s->inject_fsync_errno, err); }

static int check_fail(char *err, size_t errlen, const seg *g, const char *what) {
  snprintf(err, errlen, "segment %s: %s", g->name, what);
  return -1;
}

typedef struct check_ctx {
  uint32_t n;
  int bad;
} check_ctx;

static int check_postings(void *arg, const char *v, size_t vn, postings p) {
  check_ctx *c = arg;
  for (uint32_t i = 0; i < p.n; i++)
    if (p.ids[i] >= c->n || (i && p.ids[i] <= p.ids[i - 1])) c->bad = 1;
  return c->bad;
}

/* Check one segment's index against itself (caller holds the read lock for a memidx). */
int seg_check(const seg *g, char *err, size_t errlen) {
  segview v;
  seg_view(g, &v);
  for (uint32_t i = 0; i < v.n; i++) {
    if (v.offs[i + 1] <= v.offs[i] || v.offs[i] < SEG_HDR_SIZE)
      return check_fail(err, errlen, g, "record offsets do not increase");
    if (i && segview_seq(&v, i) <= segview_seq(&v, i - 1))
      return check_fail(err, errlen, g, "seqs do not increase");
    if (v.times[i] < v.meta.min_time || v.times[i] > v.meta.max_time)
      return check_fail(err, errlen, g, "a record time is outside the segment's range");
    if (v.bytime && (v.bytime[i] >= v.n ||
                     (i && v.times[v.bytime[i]] < v.times[v.bytime[i - 1]])))
      return check_fail(err, errlen, g, "BY_TIME is not sorted by time");
  }
  if (v.n && (segview_seq(&v, 0) != v.meta.first_seq || segview_seq(&v, v.n - 1) != v.meta.last_seq))
    return check_fail(err, errlen, g, "first/last seq do not match the records");
  if (v.offs[v.n] != v.meta.data_end) return check_fail(err, errlen, g, "data end mismatch");
  for (int d = 0; d < NDICT; d++) {
    check_ctx c = {v.n, 0};
    seg_dict_each(g, d, "", 0, check_postings, &c);
    if (c.bad) return check_fail(err, errlen, g, "a postings list is unsorted or out of range");
  }
  return 0;
}

/* See store_internal.h. */
int store__check(store *s, char *err, size_t errlen) {
  int rc = 0;
  uint64_t archived_marks, deleted_marks;
  store_marks_stats(s, &archived_marks, &deleted_marks); /* before s->lock (lock order) */
  pthread_rwlock_rdlock(&s->lock);
  uint64_t prev_last = 0;
  int contiguous = s->rep.corrupt_records == 0 && deleted_marks == 0; /* compaction leaves gaps */
  for (size_t i = 0; i < s->nsegs && rc == 0; i++) {
    const seg *g = s->segs[i];
    rc = seg_check(g, err, errlen);
    if (rc) break;
    segview v;
    seg_view(g, &v);
    if (!v.n) continue;
    if (prev_last && v.meta.first_seq <= prev_last)
      rc = check_fail(err, errlen, g, "seqs overlap the previous segment");
    else if (prev_last && contiguous && v.meta.first_seq != prev_last + 1)
      rc = check_fail(err, errlen, g, "seq gap after the previous segment");
    prev_last = v.meta.last_seq;
  }
  if (rc == 0 && prev_last && prev_last != atomic_load(&s->committed_seq)) {
    snprintf(err, errlen, "last stored seq %" PRIu64 " != committed seq %" PRIu64, prev_last,
             atomic_load(&s->committed_seq));
    rc = -1;
  }
  pthread_rwlock_unlock(&s->lock);
  return rc;
}
