/* store_internal: what the store's modules share (not part of the public contract).
 *
 * Modules:
 *   journal.c   segment files: header, record framing, recovery scan, truncation
 *   memidx.c    in-memory index of the active segment (growable arrays, hashed postings)
 *   index.c     sealed index files: writing from a memidx, validating, mmap'd access
 *   segment.c   segment objects (refcounted), uniform read view, record reads, snapshots
 *   cmap.c      client-id map (keyed hash -> seq) for idempotency keys
 *   writer.c    batches, queue, writer thread, group commit, ids, dedup, rolls
 *   retention.c dropping old sealed segments
 *   query.c     query / count / histogram / scan_seq
 *   lookup.c    get / seq_of_id
 *   store.c     open (recovery), close, lock, stats
 *
 * Locking: s->lock (a writer-preferring rwlock) guards the segment list, the active
 * segment's in-memory index, the client-id map, committed_seq and the totals. The writer
 * thread is the only mutator; it takes the write lock only to publish (after a commit, a roll,
 * a retention drop) and reads its own structures without locking. Readers take the read lock
 * to snapshot the segment list (taking references) and while they look at an in-memory index;
 * they never call a user callback or do file I/O on the reader path while holding it, except
 * the short record reads that confirm a client-id hash hit. Sealed segments are immutable and
 * read without any lock. */
#ifndef EVD_STORE_INTERNAL_H
#define EVD_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/record.h"
#include "core/ulid.h"
#include "store/store.h"

/* ---- on-disk constants (docs/storage.md) -------------------------------------------- */

#define SEG_MAGIC "EVDSEG1\0"
#define SEG_VERSION 1
#define SEG_HDR_SIZE 64
#define SEG_NAME_DIGITS 20
#define SEG_NAME_MAX 40

#define FRAME_MAGIC 0x52445645u /* the bytes "EVDR" */
#define FRAME_HDR 20
#define STORE_RECORD_MAX (16u << 20)
#define STORE_BATCH_MAX (1u << 30)
#define STORE_SEGMENT_MIN (1u << 20)
#define STORE_SEGMENT_MAX (1u << 30)

#define IDX_MAGIC "EVDIDX1\0"
#define IDX_VERSION 1
#define IDX_HDR_SIZE 512
#define IDX_NSECT 16
#define IDX_FLAG_SEQS 1u
#define ULID_SAMPLE_EVERY 64

enum {
  SEC_OFFSETS = 0,
  SEC_TIMES = 1,
  SEC_SEVS = 2,
  SEC_SEQS = 3,
  SEC_BYTIME = 4,
  SEC_ULIDS = 5,
  SEC_DICT0 = 6, /* + dictionary number */
};

/* Dictionaries: 0..6 are the indexed fields (EVF_TENANT..EVF_CORRELATION_ID), then labels
 * (value = u16 key length, key, value) and client ids. */
enum { DICT_LABELS = EVF_INDEXED_COUNT, DICT_CLIENT_IDS = EVF_INDEXED_COUNT + 1, NDICT };

#define DICT_ENTRY_SIZE 24
#define ULID_SAMPLE_SIZE 32

/* ---- little-endian helpers ---------------------------------------------------------- */

static inline uint16_t ld_u16(const void *p) {
  const unsigned char *b = p;
  return (uint16_t)(b[0] | (b[1] << 8));
}
static inline uint32_t ld_u32(const void *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v; /* the store only builds on little-endian machines (checked in store.c) */
}
static inline uint64_t ld_u64(const void *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
static inline void st_u16(void *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void st_u32(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void st_u64(void *p, uint64_t v) { memcpy(p, &v, 8); }

/* record_decode with a guard of our own: a json_off below the fixed header makes
 * record_decode (core/record.c) compute json_off - 26 with unsigned wrap-around and read past
 * the payload. Every payload the store decodes goes through here. */
static inline int store_record_decode(const void *payload, size_t len, record_view *rv) {
  return record_decode(payload, len, rv);
}

/* Keyed 64-bit string hash (hash.c). The seed is random per store, so crafted values cannot
 * make the hash tables degrade. */
uint64_t store_hash(uint64_t seed, const void *p, size_t n);

/* Encode a label as a LABELS dictionary value (u16 key length, key, value) into out.
 * Returns 0 or -1 (OOM or key longer than 65535). */
int label_value_encode(buf *out, const char *k, size_t kn, const char *v, size_t vn);

/* ---- journal.c ---------------------------------------------------------------------- */

/* Report sink of the scan/recovery functions (the store's log callback + counters). */
typedef struct store_report {
  void (*log)(void *arg, int level, const char *msg);
  void *log_arg;
  uint64_t corrupt_records;
  uint64_t truncated_bytes;
} store_report;

void store_report_logf(store_report *r, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Segment file name for a base seq ("00000000000000000001.seg"). */
void seg_file_name(char out[SEG_NAME_MAX], uint64_t base_seq, const char *ext);
/* Parse "<20 digits>.seg" / ".idx"; returns 1 and sets *base_seq, else 0. */
int seg_file_parse(const char *name, const char *ext, uint64_t *base_seq);

/* Create a new empty segment file (O_EXCL) with its header, fsync it and the directory.
 * Returns the fd (O_RDWR) or -errno. */
int journal_create(int dirfd, uint64_t base_seq, int64_t created_ns);
/* Rewrite the header of an existing file (truncating it to the header) and fsync. 0/-errno. */
int journal_reinit(int fd, uint64_t base_seq, int64_t created_ns);

/* Fill the 20-byte frame header in front of payload (frame[20..20+len) is the payload). */
void frame_seal(unsigned char *frame, uint32_t len, uint64_t seq);
/* Check a complete frame in memory: magic, length (== avail - 20 when exact, else <= avail
 * - 20), CRC. Returns the payload length, or -1. */
long frame_check(const unsigned char *frame, size_t avail, uint64_t *seq);

/* Called by journal_scan for each valid record. Return 0 to go on, -1 to abort (OOM). */
typedef int (*journal_record_fn)(void *arg, uint64_t seq, uint64_t off, const unsigned char *payload,
                                 uint32_t len);

typedef struct journal_scan_result {
  uint64_t data_end;      /* end of the last valid record (where the file should end) */
  uint64_t file_size;
  uint64_t last_seq;      /* highest valid seq, or base_seq - 1 */
  int64_t created_ns;     /* from the header, 0 if the header is bad */
  int header_ok;
} journal_scan_result;

/* Scan a segment file (recovery rules of docs/storage.md): calls fn for each valid record,
 * reports corrupt regions (with name and offset) and counts them in *rep. Does not modify
 * the file; the caller truncates to res->data_end if it is below res->file_size.
 * Returns 0, -errno on I/O error, or -ENOMEM when fn failed. */
int journal_scan(int fd, const char *name, uint64_t base_seq, journal_record_fn fn, void *arg,
                 store_report *rep, journal_scan_result *res);

/* ---- memidx.c ----------------------------------------------------------------------- */

typedef struct postings {
  const uint32_t *ids; /* ascending ordinals */
  uint32_t n;
} postings;

typedef struct memval {
  uint64_t hash;
  uint32_t str_off, str_len; /* in the dict's pool */
  uint32_t n, cap;
  union {
    uint32_t inl[2];
    uint32_t *heap;
  } post;
} memval;

/* A slot of a memdict's hash table: the value's index + 1 (0 = empty) and the high 32 bits
 * of its hash, compared before the value itself is looked at, so that a probe past other
 * values reads only the slot array (one cache line per 8 slots), not their memvals. */
typedef struct memslot {
  uint32_t val1;
  uint32_t tag;
} memslot;

typedef struct memdict {
  memslot *slots;
  size_t nslots;   /* power of two */
  memval *vals;
  size_t nvals, capvals;
  buf pool;
} memdict;

typedef struct ulid_sample {
  uint32_t ord;
  char id[ULID_LEN];
} ulid_sample;

/* What queries need to know of a segment without looking at its records. */
typedef struct segmeta {
  uint32_t count;
  uint64_t first_seq, last_seq;
  uint64_t data_end;
  int64_t min_time, max_time, min_obs, max_obs;
  int64_t created_ns;
  uint8_t max_sev;
  int has_ulid;
  char min_ulid[ULID_LEN], max_ulid[ULID_LEN];
  int dense; /* seq = first_seq + ordinal */
} segmeta;

typedef struct memidx {
  uint64_t hash_seed;
  segmeta meta;
  size_t cap;
  uint32_t *offs; /* count + 1 entries (the last is data_end) */
  int64_t *times;
  uint8_t *sevs;
  uint64_t *seqs;
  memdict dict[NDICT];
  ulid_sample *samples;
  size_t nsamples, capsamples;
  uint32_t next_sample_ord;
  buf scratch; /* label value encoding */
} memidx;

memidx *memidx_new(uint64_t hash_seed, uint64_t data_start, int64_t created_ns);
void memidx_free(memidx *m);
/* Make room for n more records in the per-record arrays. 0 or -1 (OOM). */
int memidx_reserve(memidx *m, size_t n);
/* Index one record: its seq, frame offset and frame end in the segment. 0 or -1 (OOM). */
int memidx_add(memidx *m, const record_view *rv, uint64_t seq, uint64_t off, uint64_t end);

/* The dictionary hashes of one record, computed ahead of memidx_add_hashed so that the
 * writer can have the CPU fetch the hash-table slots of record i + k while it indexes record
 * i (the dictionaries are probed at random places: a cache miss per value otherwise). */
#define MEMIDX_HASHED_LABELS 16
typedef struct memidx_hashes {
  uint64_t f[EVF_INDEXED_COUNT];
  uint64_t label[MEMIDX_HASHED_LABELS]; /* the first nlabels labels; later ones are hashed in add */
  uint32_t nlabels;
  uint64_t client; /* the client id's hash (when the record has one) */
} memidx_hashes;

/* Fill *hs for record rv (client_id_hash: store_hash of its client id, as the writer already
 * computed it for deduplication; ignored without one) and prefetch the slots those hashes
 * probe first. Uses m->scratch. Writer thread. */
void memidx_hash_record(memidx *m, const record_view *rv, uint64_t client_id_hash,
                        memidx_hashes *hs);
/* memidx_add with the hashes of memidx_hash_record (same m, same record). 0 or -1 (OOM). */
int memidx_add_hashed(memidx *m, const record_view *rv, uint64_t seq, uint64_t off, uint64_t end,
                      const memidx_hashes *hs);
/* Postings of a value, or 0 when absent. */
int memidx_lookup(const memidx *m, int d, const char *v, size_t n, postings *out);
/* Value of slot j in dict d (for iteration); j < m->dict[d].nvals. */
void memidx_value(const memidx *m, int d, size_t j, const char **v, size_t *n, postings *p);
/* Approximate heap bytes used. */
size_t memidx_bytes(const memidx *m);

/* ---- index.c ------------------------------------------------------------------------ */

typedef struct idxfile {
  const unsigned char *map;
  size_t len;
  segmeta meta;
  uint64_t sect_off[IDX_NSECT], sect_len[IDX_NSECT];
} idxfile;

/* Write the index of a segment from its in-memory index: NAME.idx.tmp, fsync, rename,
 * fsync dir. Returns 0 or -errno (the tmp file is removed on failure). */
int index_write(int dirfd, uint64_t base_seq, const memidx *m, uint64_t *bytes_written);
/* Map and validate NAME.idx against a segment file of seg_size bytes. Returns 0, or -1 with
 * a reason in why (missing, bad crc, ...). */
int index_open(int dirfd, uint64_t base_seq, uint64_t seg_size, idxfile *out, char *why,
               size_t whylen);
void index_close(idxfile *x);
void index_release_pages(const idxfile *x);
int index_lookup(const idxfile *x, int d, const char *v, size_t n, postings *out);
/* Number of values in dict d, and value j (false when the entry is out of bounds). */
uint32_t index_dict_count(const idxfile *x, int d);
int index_dict_value(const idxfile *x, int d, uint32_t j, const char **v, size_t *n, postings *p);
/* First entry >= prefix (for prefix iteration). */
uint32_t index_dict_lower_bound(const idxfile *x, int d, const char *v, size_t n);
const ulid_sample *index_samples(const idxfile *x, size_t *n); /* not aligned: read with memcpy */

/* ---- segment.c ---------------------------------------------------------------------- */

typedef struct seg {
  atomic_int refs;
  uint64_t base_seq;
  char name[SEG_NAME_MAX]; /* file name, for messages */
  int fd;
  memidx *mem; /* active (or sealed after open, until unreferenced) */
  idxfile idx; /* sealed */
  int sealed;
  uint64_t seg_bytes, idx_bytes;
  uint64_t cache_dropped_to; /* writer only: page cache of [0, this) was dropped (writer.c) */
} seg;

/* A read view of one segment. For an in-memory segment valid only under s->lock (read). */
typedef struct segview {
  const seg *g;
  segmeta meta;
  uint32_t n;
  const uint32_t *offs; /* n + 1 */
  const int64_t *times;
  const uint8_t *sevs;
  const uint64_t *seqs; /* NULL when dense */
  const uint32_t *bytime; /* NULL when unavailable */
} segview;

seg *seg_new_active(uint64_t base_seq, int fd, memidx *m);
seg *seg_new_sealed(uint64_t base_seq, int fd, const idxfile *x, uint64_t seg_bytes);
void seg_ref(seg *g);
void seg_unref(seg *g);
void seg_view(const seg *g, segview *v);
static inline uint64_t segview_seq(const segview *v, uint32_t ord) {
  return v->seqs ? v->seqs[ord] : v->meta.first_seq + ord;
}
/* Ordinal of the first record with seq >= seq (n if none). */
uint32_t segview_ord_of_seq(const segview *v, uint64_t seq);
int seg_lookup(const seg *g, int d, const char *v, size_t n, postings *out);
/* Call fn for every value of dict d starting with prefix (all when plen == 0). Stops when fn
 * returns non-zero and returns that. */
typedef int (*dict_value_fn)(void *arg, const char *v, size_t n, postings p);
int seg_dict_each(const seg *g, int d, const char *prefix, size_t plen, dict_value_fn fn, void *arg);

/* Record reads: a reusable buffer window over a segment file. */
typedef struct recreader {
  unsigned char *buf;
  size_t cap;
  const seg *g;
  uint64_t win_off;
  size_t win_len;
} recreader;

void recreader_init(recreader *r);
void recreader_free(recreader *r);
/* Read and check the record whose frame is at off, at most span bytes long (the distance to
 * the next frame). ahead > 0 reads that much extra (sequential scans). Returns 0 and fills
 * rv / *seq, -EBADMSG if the record is damaged (reported through rep), or -errno. */
int recreader_read(recreader *r, const seg *g, uint64_t off, uint64_t span, size_t ahead,
                   store_report *rep, uint64_t *seq, record_view *rv);

/* ---- cmap.c ------------------------------------------------------------------------- */

typedef struct cmap_slot {
  uint64_t h;
  uint64_t seq; /* 0 = empty */
} cmap_slot;

typedef struct cmap {
  cmap_slot *slots;
  size_t nslots; /* power of two or 0 */
  size_t n;
} cmap;

void cmap_free(cmap *m);
int cmap_insert(cmap *m, uint64_t h, uint64_t seq); /* 0 or -1 (OOM) */
void cmap_delete(cmap *m, uint64_t h, uint64_t seq);
/* Seqs stored under h, up to max; returns how many were written to out. */
size_t cmap_find(const cmap *m, uint64_t h, uint64_t *out, size_t max);
/* Hint the CPU to fetch h's home slot (the map is large and probed at random). */
static inline void cmap_prefetch(const cmap *m, uint64_t h) {
  if (m->nslots) __builtin_prefetch(&m->slots[(size_t)h & (m->nslots - 1)]);
}

/* ---- the store ---------------------------------------------------------------------- */

struct store_batch {
  buf data;           /* per record: 20-byte frame header (filled by the writer), payload */
  uint32_t *rec_off;  /* frame offset of each record in data */
  size_t n, cap;
  size_t payload_bytes;
  /* results, filled by the writer */
  uint64_t *seqs;
  uint8_t *dup;
  uint32_t *id_off; /* into ids */
  buf ids;
  /* queue */
  store_batch *next;
  store_append_cb cb;
  void *cb_arg;
};

/* Archive/delete marks (marks.c): sorted by seq. */
typedef struct store_marks {
  pthread_rwlock_t lock; /* readers vs. publishing a merged array */
  pthread_mutex_t wmu;   /* serializes markers */
  int fd;                /* marks.log, O_APPEND; -1 when marking is refused */
  uint64_t *seq;
  uint8_t *kind;
  size_t n, cap;
} store_marks;

struct store {
  store_options opt;
  char *dir;
  int dirfd;
  int lockfd;
  uint64_t hash_seed;
  store_report rep; /* open-time counters; log callback */

  pthread_rwlock_t lock;
  seg **segs; /* oldest first; the last one is the active segment */
  size_t nsegs, capsegs;
  cmap clients;
  uint64_t total_bytes;
  uint64_t total_records;
  _Atomic uint64_t committed_seq;

  /* writer-thread state */
  uint64_t next_seq;
  ulid_gen ulid;
  int64_t last_retention_ns;
  int64_t roll_retry_ns;
  int64_t last_sync_ns;
  int dirty; /* written but not fsynced (sync none) */

  /* queue */
  pthread_mutex_t qmu;
  pthread_cond_t qcv;
  store_batch *qhead, *qtail;
  uint64_t qbytes, qbatches;
  int closing;
  int failed; /* -errno once the store refuses writes */
  pthread_t writer;
  int writer_started;
  struct wscratch *ws; /* the writer's reusable buffers (writer.c) */

  void (*hook)(void *arg, uint64_t committed_seq);
  void *hook_arg;

  /* retention guard (store_set_retention_guard): guard_mu is held while it is set and
   * while retention calls it, so a guard is never called after it was removed */
  pthread_mutex_t guard_mu;
  uint64_t (*guard_needed)(void *arg);
  void (*guard_skipped)(void *arg, uint64_t first, uint64_t last);
  void *guard_arg;
  uint64_t guard_pin_max_bytes;

  pthread_mutex_t stmu;
  store_stats st;

  store_marks marks; /* marks.c */

  /* fault injection for tests (store__inject_*) */
  atomic_int inject_write_errno, inject_write_count, inject_fsync_errno;
};

void store_logf(store *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int64_t store_now_ns(void);

/* writer.c */
int writer_start(store *s, char *err, size_t errlen);
void writer_stop(store *s);
/* Seal the active segment and start a new one (writer thread). 0 or -errno. */
int writer_roll(store *s);
/* Write the index of segment base_seq from m, map it, and make the sealed segment object
 * (owning fd on success). Returns 0 or -errno; nothing is left on disk on failure. */
int seg_seal(store *s, uint64_t base_seq, int fd, const memidx *m, seg **out);
/* Mark the store failed with err (-EIO...), log why, and complete every queued batch with
 * err. Writer thread. */
void writer_fail_store(store *s, int err, const char *why);

/* compact.c (writer thread): rewrite sealed segments with enough deleted records. */
void compact_run(store *s);

/* retention.c (writer thread) */
void retention_run(store *s);
/* Forget the client ids of a segment being dropped (under the write lock). */
void retention_forget_clients(store *s, seg *g);

/* segment snapshots for readers */
typedef struct store_snap {
  seg **segs;
  size_t n;
  uint64_t committed_seq;
} store_snap;
int store_snap_take(store *s, store_snap *sn);
void store_snap_release(store_snap *sn);
/* Where the record with this seq is: segment index in the snapshot, frame offset and span.
 * Takes the read lock for an in-memory segment. Returns 0 or -ENOENT. */
int store_snap_locate(store *s, const store_snap *sn, uint64_t seq, size_t *segi, uint64_t *off,
                      uint64_t *span);
/* Read the record with this seq (writer thread, or a reader with a snapshot). */
int store_read_seq(store *s, const store_snap *sn, uint64_t seq, recreader *rr, record_view *rv);

/* marks.c */
void marks_init(store *s);  /* locks; before recovery */
/* Load marks.log (after recovery; drops marks of seqs no longer retained). 0 or -1 + err. */
int marks_open(store *s, char *err, size_t errlen);
void marks_close(store *s);
/* Slice [*lo, *hi) of the marks with first <= seq <= last. Caller holds marks.lock (read). */
void marks_range(const store_marks *m, uint64_t first, uint64_t last, size_t *lo, size_t *hi);
/* Kind bits of seq within the slice [lo, hi), 0 when unmarked. */
unsigned marks_kind_in(const store_marks *m, size_t lo, size_t hi, uint64_t seq);
/* Whether a record with these mark bits is visible under store_filter.archived. */
int marks_visible(unsigned kind, int archived_mode);

/* Test hooks (fault injection; used by the unit tests only). */
void store__inject_write_error(store *s, int err, int count);
void store__inject_fsync_error(store *s, int err);
/* Check one segment's index against itself: offsets and seqs increase, times within the
 * range, BY_TIME sorted, postings sorted and in range. 0, or -1 with err. (The caller holds
 * the read lock for an in-memory segment.) */
int seg_check(const seg *g, char *err, size_t errlen);
/* Debug self-check: seq continuity and index consistency of every segment; returns 0 or
 * -1 with a description in err. Takes the read lock. */
int store__check(store *s, char *err, size_t errlen);

#endif
