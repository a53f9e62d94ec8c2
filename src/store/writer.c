/* writer: batches, the bounded queue, and the writer thread — group commit, seqs, ULIDs,
 * client-id deduplication, segment rolls.
 *
 * store_append puts a batch on the queue. The writer takes everything queued as a group and
 * commits it in units: a unit is the batches that fit the active segment (sync=always: one
 * batch). Per unit: assign seqs and ids and seal the frames in place (each batch's buffer
 * already holds a 20-byte frame header in front of every payload), one pwritev, one
 * fdatasync, then publish the records to the in-memory index under the write lock, then the
 * callbacks, then the commit hook. docs/storage.md, "Writing", describes the error rules. */
#include <fcntl.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/debug.h"
#include "store/store_internal.h"

#define RETENTION_EVERY_NS (5 * 1000000000LL)
#define ROLL_RETRY_NS (5 * 1000000000LL)

/* ---- batches ------------------------------------------------------------------------ */

store_batch *store_batch_new(void) { return calloc(1, sizeof(store_batch)); }

void store_batch_free(store_batch *b) {
  if (!b) return;
  buf_free(&b->data);
  buf_free(&b->ids);
  free(b->rec_off);
  free(b->seqs);
  free(b->dup);
  free(b->id_off);
  free(b);
}

/* Copy one record payload into the batch, with room for its frame header in front. The
 * payload must decode (record_decode); a record without a client id must carry the 26-byte
 * id placeholder of record_encode. Returns 0, or -1 when out of memory, malformed, larger
 * than 16 MiB, or when the batch would pass 1 GiB. */
int store_batch_add(store_batch *b, const void *payload, size_t len) {
  if (len == 0 || len > STORE_RECORD_MAX || b->data.len + FRAME_HDR + len > STORE_BATCH_MAX) return -1;
  record_view rv;
  if (store_record_decode(payload, len, &rv) != 0) return -1;
  if (!(rv.flags & RECORD_FLAG_CLIENT_ID)) {
    if (rv.id.n != ULID_LEN || rv.json.n < RECORD_JSON_ID_OFFSET + ULID_LEN ||
        memcmp(rv.json.p, "{\"id\":\"", RECORD_JSON_ID_OFFSET) != 0)
      return -1;
  }
  if (b->n == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 16;
    uint32_t *np = realloc(b->rec_off, cap * sizeof *np);
    if (!np) return -1;
    b->rec_off = np;
    b->cap = cap;
  }
  size_t off = b->data.len;
  if (buf_reserve(&b->data, FRAME_HDR + len) != 0) return -1;
  unsigned char *f = (unsigned char *)b->data.data + off;
  memset(f, 0, FRAME_HDR);
  st_u32(f + 8, (uint32_t)len);
  memcpy(f + FRAME_HDR, payload, len);
  b->data.len += FRAME_HDR + len;
  b->data.data[b->data.len] = '\0';
  b->rec_off[b->n++] = (uint32_t)off;
  b->payload_bytes += len;
  return 0;
}

/* See store.h. The hint is capped at STORE_BATCH_MAX. */
int store_batch_reserve(store_batch *b, size_t payload_bytes) {
  if (payload_bytes > STORE_BATCH_MAX) payload_bytes = STORE_BATCH_MAX;
  return buf_reserve(&b->data, payload_bytes);
}

size_t store_batch_count(const store_batch *b) { return b->n; }
size_t store_batch_bytes(const store_batch *b) { return b->payload_bytes; }

const char *store_batch_id(const store_batch *b, size_t i) {
  if (i >= b->n || !b->id_off) return NULL;
  return b->ids.data + b->id_off[i];
}

uint64_t store_batch_seq(const store_batch *b, size_t i) {
  return (i < b->n && b->seqs) ? b->seqs[i] : 0;
}

int store_batch_duplicate(const store_batch *b, size_t i) {
  return (i < b->n && b->dup) ? b->dup[i] : 0;
}

/* ---- queue -------------------------------------------------------------------------- */

/* See store.h. */
int store_append(store *s, store_batch *b, store_append_cb cb, void *arg) {
  if (!b || !cb) return -EINVAL;
  pthread_mutex_lock(&s->qmu);
  int rc = 0;
  if (s->closing) {
    rc = -ESHUTDOWN;
  } else if (s->failed) {
    rc = s->failed;
  } else if (s->qbytes > 0 && s->qbytes + b->data.len > s->opt.queue_max_bytes) {
    rc = -EAGAIN;
  } else {
    b->next = NULL;
    b->cb = cb;
    b->cb_arg = arg;
    if (s->qtail)
      s->qtail->next = b;
    else
      s->qhead = b;
    s->qtail = b;
    s->qbytes += b->data.len;
    s->qbatches++;
    pthread_cond_signal(&s->qcv);
  }
  pthread_mutex_unlock(&s->qmu);
  return rc;
}

void store_set_commit_hook(store *s, void (*fn)(void *arg, uint64_t committed_seq), void *arg) {
  pthread_mutex_lock(&s->qmu);
  s->hook = fn;
  s->hook_arg = arg;
  pthread_mutex_unlock(&s->qmu);
}

void store_set_retention_guard(store *s, uint64_t (*needed)(void *arg),
                               void (*skipped)(void *arg, uint64_t first, uint64_t last),
                               void *arg, uint64_t pin_max_bytes) {
  pthread_mutex_lock(&s->guard_mu);
  s->guard_needed = needed;
  s->guard_skipped = needed ? skipped : NULL;
  s->guard_arg = needed ? arg : NULL;
  s->guard_pin_max_bytes = pin_max_bytes;
  pthread_mutex_unlock(&s->guard_mu);
}

/* ---- writer scratch ----------------------------------------------------------------- */

typedef struct pend {
  store_batch *b;
  uint32_t i;
  uint32_t len;
  uint64_t off; /* frame offset in the segment */
  uint64_t h;   /* client-id hash (when client) */
  int client;   /* the record carries a client id */
} pend;

/* How many records ahead the writer prefetches the hash-table slots of client ids: the
 * client map and the active segment's id dictionary are probed at random places, and a
 * miss per record was a large share of the writer's time (docs/performance.md). */
#define PREFETCH_AHEAD 8

typedef struct local_slot {
  uint64_t h;
  uint32_t pend1; /* pend index + 1; 0 = empty */
} local_slot;

struct wscratch {
  struct iovec *iov;
  size_t niov, capiov;
  pend *pend;
  size_t npend, cappend;
  local_slot *local;
  size_t nlocal; /* slots (power of two) */
  uint64_t *hash; /* prepare_unit: client-id hash of the unit's k-th record (0: none) */
  size_t caphash;
  recreader rr;
};

static int grow_arr(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 64;
  while (c < need) c *= 2;
  void *np = realloc(*p, c * elem);
  if (!np) return -1;
  *p = np;
  *cap = c;
  return 0;
}

/* ---- completion --------------------------------------------------------------------- */

/* Give the batches of a unit back to their callbacks with status. */
static void complete_unit(store *s, store_batch *unit, int status) {
  uint64_t bytes = 0, nb = 0;
  for (store_batch *b = unit; b; b = b->next) {
    bytes += b->data.len;
    nb++;
  }
  pthread_mutex_lock(&s->qmu);
  s->qbytes -= bytes;
  s->qbatches -= nb;
  pthread_mutex_unlock(&s->qmu);
  while (unit) {
    store_batch *next = unit->next;
    unit->next = NULL;
    unit->cb(unit->cb_arg, status, unit);
    unit = next;
  }
}

/* See store_internal.h. */
void writer_fail_store(store *s, int err, const char *why) {
  pthread_mutex_lock(&s->qmu);
  int first = !s->failed;
  if (first) s->failed = err;
  store_batch *q = s->qhead;
  s->qhead = s->qtail = NULL;
  pthread_mutex_unlock(&s->qmu);
  pthread_mutex_lock(&s->stmu);
  s->st.failed = 1;
  pthread_mutex_unlock(&s->stmu);
  if (first)
    store_logf(s, STORE_LOG_ERROR, "store %s failed, refusing writes from now on: %s", s->dir, why);
  if (q) complete_unit(s, q, err);
}

/* ---- dedup -------------------------------------------------------------------------- */

static const unsigned char *pend_payload(const pend *p) {
  return (const unsigned char *)p->b->data.data + p->b->rec_off[p->i] + FRAME_HDR;
}

/* Seq of an earlier record of this unit with the same client id, or 0. */
static uint64_t local_find(struct wscratch *w, uint64_t h, const char *id, size_t n, uint64_t seq0) {
  size_t mask = w->nlocal - 1;
  for (size_t j = (size_t)h & mask; w->local[j].pend1; j = (j + 1) & mask) {
    if (w->local[j].h != h) continue;
    const pend *p = &w->pend[w->local[j].pend1 - 1];
    const unsigned char *pl = pend_payload(p);
    if (ld_u16(pl + 24) == n && memcmp(pl + 26, id, n) == 0) return seq0 + (w->local[j].pend1 - 1);
  }
  return 0;
}

static void local_insert(struct wscratch *w, uint64_t h, size_t pend_idx) {
  size_t mask = w->nlocal - 1, j = (size_t)h & mask;
  while (w->local[j].pend1) j = (j + 1) & mask;
  w->local[j].h = h;
  w->local[j].pend1 = (uint32_t)(pend_idx + 1);
}

/* Seq of a stored record with this client id, or 0. Reads the candidates to confirm. */
static uint64_t global_find(store *s, uint64_t h, const char *id, size_t n) {
  uint64_t seqs[16];
  size_t k = cmap_find(&s->clients, h, seqs, 16);
  if (!k) return 0;
  store_snap sn = {s->segs, s->nsegs, 0}; /* the writer's own view: no references needed */
  s->ws->rr.g = NULL; /* segments come and go between calls: never trust an old window */
  for (size_t i = 0; i < k; i++) {
    record_view rv;
    if (store_read_seq(s, &sn, seqs[i], &s->ws->rr, &rv) != 0) continue;
    if ((rv.flags & RECORD_FLAG_CLIENT_ID) && rv.id.n == n && memcmp(rv.id.p, id, n) == 0)
      return seqs[i];
  }
  return 0;
}

/* ---- writing ------------------------------------------------------------------------ */

/* pwritev all iovecs at off (handles short writes and IOV_MAX). 0 or -errno. */
static int write_iov(store *s, int fd, struct iovec *iov, size_t niov, uint64_t off) {
  int inj = atomic_load(&s->inject_write_errno);
  if (inj && atomic_load(&s->inject_write_count) > 0) {
    atomic_fetch_sub(&s->inject_write_count, 1);
    /* A real failure leaves part of the data behind: write half of the first piece. */
    if (niov && iov[0].iov_len > 1) {
      ssize_t w = pwrite(fd, iov[0].iov_base, iov[0].iov_len / 2, (off_t)off);
      (void)w;
    }
    return -inj;
  }
  size_t i = 0;
  while (i < niov) {
    int cnt = (int)(niov - i > IOV_MAX ? IOV_MAX : niov - i);
    ssize_t w = pwritev(fd, iov + i, cnt, (off_t)off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (w == 0) return -EIO;
    off += (uint64_t)w;
    size_t left = (size_t)w;
    while (left > 0 && i < niov) {
      if (left >= iov[i].iov_len) {
        left -= iov[i].iov_len;
        i++;
      } else {
        iov[i].iov_base = (char *)iov[i].iov_base + left;
        iov[i].iov_len -= left;
        left = 0;
      }
    }
  }
  return 0;
}

static void note_fsync(store *s, int64_t ns) {
  double sec = (double)ns / 1e9;
  pthread_mutex_lock(&s->stmu);
  s->st.fsyncs++;
  s->st.fsync_seconds_sum += sec;
  int b = 0;
  while (b < STORE_FSYNC_BUCKETS - 1 && sec > store_fsync_bucket_bounds[b]) b++;
  s->st.fsync_buckets[b]++;
  pthread_mutex_unlock(&s->stmu);
}

/* fdatasync with latency accounting and fault injection. 0 or -errno. */
static int timed_fdatasync(store *s, int fd) {
  int inj = atomic_exchange(&s->inject_fsync_errno, 0);
  if (inj) return -inj;
  int64_t t0 = store_now_ns();
  int rc = fdatasync(fd) == 0 ? 0 : -errno;
  note_fsync(s, store_now_ns() - t0);
  return rc;
}

/* How much of the active segment's durable tail stays in the page cache: live tail and
 * outputs read what was just committed, so the newest bytes are kept; everything older is
 * dropped from the cache once durable. Filling fresh page-cache pages is the writer's main
 * cost (docs/performance.md: +45% ingest on the project's machines), and the journal is
 * read back rarely and sequentially, so caching all of it buys nothing. */
#define CACHE_KEEP_BYTES (16u << 20)
#define CACHE_DROP_STEP (4u << 20)

/* Advise the kernel to drop the durable, clean pages of the active segment that lie more
 * than CACHE_KEEP_BYTES behind its end. Only called right after a successful fdatasync, so
 * the pages are clean and the advice frees them rather than starting writeback. */
static void drop_cache_behind(seg *act) {
  uint64_t end = act->mem->meta.data_end;
  if (end <= CACHE_KEEP_BYTES) return;
  uint64_t upto = (end - CACHE_KEEP_BYTES) & ~(uint64_t)(CACHE_DROP_STEP - 1);
  if (upto <= act->cache_dropped_to) return;
  /* Advice only: a failure changes nothing durable, so it is ignored. */
  (void)posix_fadvise(act->fd, (off_t)act->cache_dropped_to,
                      (off_t)(upto - act->cache_dropped_to), POSIX_FADV_DONTNEED);
  act->cache_dropped_to = upto;
}

/* Give back what a failed write left: truncate the active segment to its committed end. */
static int truncate_back(seg *act) {
  return ftruncate(act->fd, (off_t)act->mem->meta.data_end) == 0 ? 0 : -errno;
}

/* Prepare a unit: seqs, ids, dedup, frames, iovecs. Returns the number of records to write
 * or -ENOMEM. */
static long prepare_unit(store *s, store_batch *unit, seg *act, uint64_t *dups, uint64_t *payload) {
  struct wscratch *w = s->ws;
  size_t total = 0, nclient = 0;
  for (store_batch *b = unit; b; b = b->next) total += b->n;
  if (grow_arr((void **)&w->pend, &w->cappend, total, sizeof *w->pend) ||
      grow_arr((void **)&w->iov, &w->capiov, total, sizeof *w->iov) ||
      grow_arr((void **)&w->hash, &w->caphash, total + PREFETCH_AHEAD, sizeof *w->hash))
    return -ENOMEM;
  /* Hash every client id once (reused by the dedup check and by publish_unit). */
  size_t k = 0;
  for (store_batch *b = unit; b; b = b->next)
    for (size_t i = 0; i < b->n; i++, k++) {
      const unsigned char *pl = (const unsigned char *)b->data.data + b->rec_off[i] + FRAME_HDR;
      w->hash[k] = 0;
      if (pl[1] & RECORD_FLAG_CLIENT_ID) {
        w->hash[k] = store_hash(s->hash_seed, pl + 26, ld_u16(pl + 24));
        nclient++;
      }
    }
  memset(w->hash + total, 0, PREFETCH_AHEAD * sizeof *w->hash);
  size_t nlocal = 16;
  while (nlocal < nclient * 2) nlocal *= 2;
  if (nlocal > w->nlocal) {
    local_slot *nl = realloc(w->local, nlocal * sizeof *nl);
    if (!nl) return -ENOMEM;
    w->local = nl;
    w->nlocal = nlocal;
  }
  if (nclient) memset(w->local, 0, w->nlocal * sizeof *w->local);
  w->npend = w->niov = 0;
  uint64_t seq0 = s->next_seq, pos = act->mem->meta.data_end;
  uint64_t now_ms = (uint64_t)(store_now_ns() / 1000000);
  for (size_t j = 0; j < PREFETCH_AHEAD && j < total; j++)
    if (w->hash[j]) cmap_prefetch(&s->clients, w->hash[j]);
  k = 0;
  for (store_batch *b = unit; b; b = b->next) {
    if (!b->seqs) {
      b->seqs = calloc(b->n ? b->n : 1, sizeof *b->seqs);
      b->dup = calloc(b->n ? b->n : 1, 1);
      b->id_off = calloc(b->n ? b->n : 1, sizeof *b->id_off);
      if (!b->seqs || !b->dup || !b->id_off) return -ENOMEM;
    }
    buf_clear(&b->ids);
    for (size_t i = 0; i < b->n; i++, k++) {
      unsigned char *frame = (unsigned char *)b->data.data + b->rec_off[i];
      unsigned char *pl = frame + FRAME_HDR;
      uint32_t len = ld_u32(frame + 8);
      const char *id = (const char *)pl + 26;
      size_t idlen = ld_u16(pl + 24);
      int client = (pl[1] & RECORD_FLAG_CLIENT_ID) != 0;
      uint64_t h = w->hash[k];
      if (w->hash[k + PREFETCH_AHEAD]) cmap_prefetch(&s->clients, w->hash[k + PREFETCH_AHEAD]);
      if (client) {
        uint64_t orig = local_find(w, h, id, idlen, seq0);
        if (!orig) orig = global_find(s, h, id, idlen);
        if (orig) {
          b->dup[i] = 1;
          b->seqs[i] = orig;
          b->id_off[i] = (uint32_t)b->ids.len;
          if (buf_append(&b->ids, id, idlen) != 0 || buf_putc(&b->ids, '\0') != 0) return -ENOMEM;
          (*dups)++;
          continue;
        }
        local_insert(w, h, w->npend);
      } else {
        char ulid[ULID_LEN];
        ulid_next(&s->ulid, now_ms, ulid);
        record_patch_id(pl, len, ulid);
      }
      uint64_t seq = seq0 + w->npend;
      frame_seal(frame, len, seq);
      b->dup[i] = 0;
      b->seqs[i] = seq;
      b->id_off[i] = (uint32_t)b->ids.len;
      if (buf_append(&b->ids, id, idlen) != 0 || buf_putc(&b->ids, '\0') != 0) return -ENOMEM;
      if (w->niov && (char *)w->iov[w->niov - 1].iov_base + w->iov[w->niov - 1].iov_len == (char *)frame) {
        w->iov[w->niov - 1].iov_len += FRAME_HDR + len;
      } else {
        w->iov[w->niov].iov_base = frame;
        w->iov[w->niov].iov_len = FRAME_HDR + len;
        w->niov++;
      }
      w->pend[w->npend++] = (pend){b, (uint32_t)i, len, pos, h, client};
      pos += FRAME_HDR + len;
      *payload += len;
    }
  }
  return (long)w->npend;
}

/* First stage of publishing a record: decode it (*ok = 0 when it does not decode), hash its
 * dictionary values, and have the CPU fetch the hash-table slots they will probe. */
static void stage_record(store *s, memidx *m, const pend *p, record_view *rv, memidx_hashes *hs,
                         int *ok) {
  *ok = store_record_decode(pend_payload(p), p->len, rv) == 0;
  if (!*ok) return;
  memidx_hash_record(m, rv, p->h, hs);
  if (p->client) cmap_prefetch(&s->clients, p->h);
}

/* Make the unit's records visible: in-memory index, client map, committed seq. */
static int publish_unit(store *s, seg *act) {
  struct wscratch *w = s->ws;
  memidx *m = act->mem;
  uint64_t seq0 = s->next_seq;
  int rc = 0;
  EVD_ASSERT(seq0 == atomic_load(&s->committed_seq) + 1); /* gap-free seqs */
  pthread_rwlock_wrlock(&s->lock);
  uint64_t before = m->meta.data_end;
  size_t added = 0;
  if (memidx_reserve(m, w->npend) != 0) rc = -ENOMEM;
  /* A pipeline PREFETCH_AHEAD records deep: record j is decoded and hashed (its slots
   * prefetched) while record j - PREFETCH_AHEAD is indexed. */
  struct {
    record_view rv;
    memidx_hashes hs;
    int ok;
  } ring[PREFETCH_AHEAD];
  for (size_t j = 0; j < PREFETCH_AHEAD && j < w->npend && rc == 0; j++)
    stage_record(s, m, &w->pend[j], &ring[j].rv, &ring[j].hs, &ring[j].ok);
  for (; added < w->npend && rc == 0; added++) {
    const pend *p = &w->pend[added];
    size_t r = added % PREFETCH_AHEAD;
    if (!ring[r].ok ||
        memidx_add_hashed(m, &ring[r].rv, seq0 + added, p->off, p->off + FRAME_HDR + p->len,
                          &ring[r].hs) != 0) {
      rc = -ENOMEM;
      break;
    }
    if (p->client && cmap_insert(&s->clients, p->h, seq0 + added) != 0)
      rc = -ENOMEM; /* the record is indexed (counted below); the map misses it */
    if (added + PREFETCH_AHEAD < w->npend)
      stage_record(s, m, &w->pend[added + PREFETCH_AHEAD], &ring[r].rv, &ring[r].hs, &ring[r].ok);
  }
  s->total_records += added;
  s->total_bytes += m->meta.data_end - before;
  act->seg_bytes = m->meta.data_end;
  if (added) atomic_store(&s->committed_seq, seq0 + added - 1);
  pthread_rwlock_unlock(&s->lock);
  s->next_seq = seq0 + w->npend;
  return rc;
}

/* Commit one unit (all of it in the active segment) and complete its batches. */
static void commit_unit(store *s, store_batch *unit) {
  seg *act = s->segs[s->nsegs - 1];
  uint64_t dups = 0, payload = 0;
  long nrec = prepare_unit(s, unit, act, &dups, &payload);
  if (nrec < 0) {
    store_logf(s, STORE_LOG_ERROR, "store %s: out of memory preparing a commit", s->dir);
    complete_unit(s, unit, -ENOMEM);
    return;
  }
  if (nrec > 0) {
    struct wscratch *w = s->ws;
    int rc = write_iov(s, act->fd, w->iov, w->niov, act->mem->meta.data_end);
    if (rc != 0) {
      int trc = truncate_back(act);
      if (rc == -ENOSPC && trc == 0) {
        store_logf(s, STORE_LOG_ERROR,
                   "store %s: disk full writing segment %s; %ld records refused (will retry later batches)",
                   s->dir, act->name, nrec);
        complete_unit(s, unit, -ENOSPC);
        return;
      }
      /* Fail the store first, so that nobody who sees this completion can still queue. */
      writer_fail_store(s, -EIO, trc ? "write failed and the segment could not be truncated back"
                                     : "write error on the active segment");
      complete_unit(s, unit, rc == -ENOSPC ? -ENOSPC : -EIO);
      return;
    }
    if (s->opt.sync != STORE_SYNC_NONE) {
      rc = timed_fdatasync(s, act->fd);
      if (rc != 0) {
        truncate_back(act);
        writer_fail_store(s, -EIO, "fdatasync failed (fsync errors are not retryable)");
        complete_unit(s, unit, -EIO);
        return;
      }
    } else {
      s->dirty = 1;
    }
    if (publish_unit(s, act) != 0) {
      /* The records are durable but not indexed: acknowledge them, then stop writing. */
      writer_fail_store(s, -EIO, "out of memory indexing committed records; restart to recover");
      complete_unit(s, unit, 0);
      return;
    }
    if (s->opt.sync != STORE_SYNC_NONE) drop_cache_behind(act);
  }
  pthread_mutex_lock(&s->stmu);
  s->st.appended_records += (uint64_t)nrec;
  s->st.appended_bytes += payload;
  s->st.duplicates += dups;
  pthread_mutex_unlock(&s->stmu);
  EVD_ASSERT(atomic_load(&s->committed_seq) == s->next_seq - 1);
  complete_unit(s, unit, 0);
  if (nrec > 0 && s->hook) s->hook(s->hook_arg, atomic_load(&s->committed_seq));
}

/* ---- rolling ------------------------------------------------------------------------ */

/* See store_internal.h. */
int seg_seal(store *s, uint64_t base_seq, int fd, const memidx *m, seg **out) {
  uint64_t idx_bytes = 0;
  int rc = index_write(s->dirfd, base_seq, m, &idx_bytes);
  if (rc != 0) return rc;
  idxfile x;
  char why[128];
  char name[SEG_NAME_MAX];
  seg_file_name(name, base_seq, ".idx");
  if (index_open(s->dirfd, base_seq, m->meta.data_end, &x, why, sizeof why) != 0) {
    store_logf(s, STORE_LOG_ERROR, "store %s: index %s just written does not check: %s", s->dir,
               name, why);
    unlinkat(s->dirfd, name, 0);
    return -EIO;
  }
  *out = seg_new_sealed(base_seq, fd, &x, m->meta.data_end);
  if (!*out) {
    index_close(&x);
    unlinkat(s->dirfd, name, 0);
    return -ENOMEM;
  }
  return 0;
}

/* See store_internal.h. */
int writer_roll(store *s) {
  seg *act = s->segs[s->nsegs - 1];
  memidx *m = act->mem;
  if (m->meta.count == 0) return 0;
  int rc = timed_fdatasync(s, act->fd);
  if (rc != 0) {
    writer_fail_store(s, -EIO, "fdatasync failed while sealing a segment");
    return -EIO;
  }
  s->dirty = 0;
  s->last_sync_ns = store_now_ns();
  if (s->nsegs == s->capsegs) {
    size_t cap = s->capsegs * 2;
    seg **ns = realloc(s->segs, cap * sizeof *ns); /* only the writer changes the array */
    if (!ns) return -ENOMEM;
    pthread_rwlock_wrlock(&s->lock);
    s->segs = ns;
    s->capsegs = cap;
    pthread_rwlock_unlock(&s->lock);
  }
  int rfd = dup(act->fd);
  if (rfd < 0) return -errno;
  seg *sealed = NULL;
  rc = seg_seal(s, act->base_seq, rfd, m, &sealed);
  if (rc != 0) {
    close(rfd);
    return rc;
  }
  int64_t now = store_now_ns();
  uint64_t base = s->next_seq;
  int fd = journal_create(s->dirfd, base, now);
  memidx *nm = fd >= 0 ? memidx_new(s->hash_seed, SEG_HDR_SIZE, now) : NULL;
  seg *na = nm ? seg_new_active(base, fd, nm) : NULL;
  if (!na) {
    rc = fd < 0 ? fd : -ENOMEM;
    if (fd >= 0) {
      char name[SEG_NAME_MAX];
      seg_file_name(name, base, ".seg");
      close(fd);
      unlinkat(s->dirfd, name, 0);
    }
    memidx_free(nm);
    char iname[SEG_NAME_MAX];
    seg_file_name(iname, act->base_seq, ".idx");
    unlinkat(s->dirfd, iname, 0);
    seg_unref(sealed);
    return rc;
  }
#ifdef EVD_DEBUG
  {
    /* Self-check (debug builds): the sealed index says what the in-memory one said. */
    char why[160];
    EVD_ASSERT(seg_check(sealed, why, sizeof why) == 0);
    EVD_ASSERT(sealed->idx.meta.count == m->meta.count && sealed->idx.meta.last_seq == m->meta.last_seq);
    EVD_ASSERT(m->meta.last_seq + 1 == base);
  }
#endif
  pthread_rwlock_wrlock(&s->lock);
  s->segs[s->nsegs - 1] = sealed;
  s->segs[s->nsegs++] = na;
  s->total_bytes += sealed->idx_bytes + SEG_HDR_SIZE;
  pthread_rwlock_unlock(&s->lock);
  store_logf(s, STORE_LOG_DEBUG, "store %s: sealed segment %s (%" PRIu32 " records), started %s",
             s->dir, act->name, sealed->idx.meta.count, na->name);
  seg_unref(act);
  return 0;
}

/* Roll and, on failure, log it and hold off further attempts for a while. */
static void try_roll(store *s, const char *why) {
  int rc = writer_roll(s);
  if (rc != 0) {
    s->roll_retry_ns = store_now_ns() + ROLL_RETRY_NS;
    store_logf(s, STORE_LOG_ERROR, "store %s: cannot roll the active segment (%s): %s; writing on",
               s->dir, why, strerror(-rc));
    return;
  }
  retention_run(s);
  compact_run(s);
  s->last_retention_ns = store_now_ns();
}

/* ---- the thread --------------------------------------------------------------------- */

static int roll_allowed(store *s) { return store_now_ns() >= s->roll_retry_ns; }

/* Commit a group (linked list of batches), cut into units at segment boundaries. */
static void process_group(store *s, store_batch *group) {
  while (group) {
    if (s->failed) {
      complete_unit(s, group, s->failed);
      return;
    }
    seg *act = s->segs[s->nsegs - 1];
    uint64_t end = act->mem->meta.data_end, bytes = 0;
    int have = act->mem->meta.count > 0, need_roll = 0;
    size_t count = 0;
    store_batch *last = NULL;
    for (store_batch *b = group; b; b = b->next) {
      if (s->opt.sync == STORE_SYNC_ALWAYS && count > 0) break;
      if ((have || count > 0) && end + bytes + b->data.len > s->opt.segment_max_bytes &&
          roll_allowed(s)) {
        need_roll = 1;
        break;
      }
      count++;
      bytes += b->data.len;
      last = b;
    }
    if (count == 0) { /* the active segment is full: roll first */
      try_roll(s, "size"); /* on failure roll_allowed() is false for a while: no loop */
      continue;
    }
    store_batch *unit = group;
    group = last->next;
    last->next = NULL;
    commit_unit(s, unit);
    if (need_roll && !s->failed) try_roll(s, "size");
  }
}

static void periodic(store *s) {
  int64_t now = store_now_ns();
  if (s->failed) return;
  if (s->opt.sync == STORE_SYNC_NONE && s->dirty && now - s->last_sync_ns >= s->opt.sync_interval_ns) {
    seg *act = s->segs[s->nsegs - 1];
    if (timed_fdatasync(s, act->fd) != 0) {
      writer_fail_store(s, -EIO, "periodic fdatasync failed (fsync errors are not retryable)");
      return;
    }
    s->dirty = 0;
    s->last_sync_ns = now;
    drop_cache_behind(act);
  }
  seg *act = s->segs[s->nsegs - 1];
  if (act->mem->meta.count > 0 && now - act->mem->meta.created_ns >= s->opt.segment_max_age_ns &&
      roll_allowed(s))
    try_roll(s, "age");
  if (now - s->last_retention_ns >= RETENTION_EVERY_NS) {
    retention_run(s);
    compact_run(s);
    s->last_retention_ns = now;
    /* Give memory back while things are quiet: index pages that queries mapped in, and
     * heap freed by rolls and batches (docs/storage.md, "Memory"). */
    for (size_t i = 0; i + 1 < s->nsegs; i++) index_release_pages(&s->segs[i]->idx);
#ifdef __GLIBC__
    malloc_trim(0);
#endif
  }
}

static void *writer_main(void *arg) {
  store *s = arg;
  for (;;) {
    pthread_mutex_lock(&s->qmu);
    if (!s->qhead && !s->closing) {
      int64_t wait_ns = 1000000000LL;
      if (s->opt.sync == STORE_SYNC_NONE && s->dirty && s->opt.sync_interval_ns < wait_ns)
        wait_ns = s->opt.sync_interval_ns > 1000000 ? s->opt.sync_interval_ns : 1000000;
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      int64_t t = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + wait_ns;
      ts.tv_sec = t / 1000000000LL;
      ts.tv_nsec = t % 1000000000LL;
      pthread_cond_timedwait(&s->qcv, &s->qmu, &ts);
    }
    store_batch *group = s->qhead;
    s->qhead = s->qtail = NULL;
    int closing = s->closing;
    pthread_mutex_unlock(&s->qmu);
    if (group) process_group(s, group);
    periodic(s);
    if (closing && !group) break;
  }
  if (s->dirty && !s->failed) {
    seg *act = s->segs[s->nsegs - 1];
    if (timed_fdatasync(s, act->fd) != 0)
      store_logf(s, STORE_LOG_ERROR, "store %s: final fdatasync failed", s->dir);
    s->dirty = 0;
  }
  return NULL;
}

/* Start the writer thread. 0, or -1 with err filled. */
int writer_start(store *s, char *err, size_t errlen) {
  s->ws = calloc(1, sizeof *s->ws);
  if (!s->ws) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  recreader_init(&s->ws->rr);
  s->last_sync_ns = s->last_retention_ns = store_now_ns();
  s->last_retention_ns -= RETENTION_EVERY_NS; /* check retention right away */
  int rc = pthread_create(&s->writer, NULL, writer_main, s);
  if (rc != 0) {
    snprintf(err, errlen, "cannot start the store writer thread: %s", strerror(rc));
    return -1;
  }
  s->writer_started = 1;
  return 0;
}

/* Ask the writer to finish what is queued, and join it. */
void writer_stop(store *s) {
  if (s->writer_started) {
    pthread_mutex_lock(&s->qmu);
    s->closing = 1;
    pthread_cond_signal(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
    pthread_join(s->writer, NULL);
    s->writer_started = 0;
  }
  if (s->ws) {
    free(s->ws->iov);
    free(s->ws->pend);
    free(s->ws->local);
    free(s->ws->hash);
    recreader_free(&s->ws->rr);
    free(s->ws);
    s->ws = NULL;
  }
}
