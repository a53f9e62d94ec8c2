/* Fuzz target for archive/delete marks (src/store/marks.c, docs/storage.md "Marks"): the
 * input becomes marks.log beside a sealed segment of six records, the store is opened, and
 * every read path must agree with the marks: count (each archived mode) equals what scan
 * and query deliver, archived-only + hidden = all, and no deleted seq is ever delivered.
 * Then more marks are made from the input and must survive a reopen unchanged.
 *
 * The first input byte picks the layout of marks.log:
 *   0  the rest as is (torn, damaged, any CRC)
 *   1  the rest as (seq byte, kind byte) pairs, each made a valid entry (CRC right), so the
 *      fuzzer reaches the merge of repeated, out-of-order and out-of-range seqs */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/event.h"
#include "core/record.h"
#include "store/store.h"
#include "store/store_internal.h"

#define NREC 6

static void put_file(const char *dir, const char *name, const void *p, size_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) abort();
  if (n && write(fd, p, n) != (ssize_t)n) abort();
  close(fd);
}

static void seg_header(buf *b, uint64_t base) {
  unsigned char h[SEG_HDR_SIZE] = {0};
  memcpy(h, SEG_MAGIC, 8);
  st_u32(h + 8, SEG_VERSION);
  st_u32(h + 12, SEG_HDR_SIZE);
  st_u64(h + 16, base);
  st_u32(h + 60, crc32c_extend(0, h, 60));
  buf_append(b, h, sizeof h);
}

static void records(buf *b) {
  for (int i = 0; i < NREC; i++) {
    event ev;
    memset(&ev, 0, sizeof ev);
    ev.time_ns = 1000 + i;
    ev.observed_ns = 1000 + i;
    ev.severity_number = 9;
    ev.f[EVF_TYPE] = (strv){i % 2 ? "fuzz.b" : "fuzz.a", 6};
    buf p = BUF_INIT;
    if (record_encode(&ev, &p) != 0) abort();
    char id[27];
    snprintf(id, sizeof id, "01ARZ3NDEKTSV4RRFFQ69G5FA%d", i);
    record_patch_id(p.data, p.len, id);
    size_t at = b->len;
    unsigned char z[FRAME_HDR] = {0};
    buf_append(b, z, sizeof z);
    buf_append(b, p.data, p.len);
    frame_seal((unsigned char *)b->data + at, (uint32_t)p.len, (uint64_t)i + 1);
    buf_free(&p);
  }
}

typedef struct seen {
  int n;
  int got[NREC + 1];
} seen;

static int seen_cb(void *arg, uint64_t seq, const record_view *rv) {
  (void)rv;
  seen *s = arg;
  if (seq < 1 || seq > NREC || s->got[seq]) abort();
  s->got[seq] = 1;
  s->n++;
  return 0;
}

static void quiet(void *arg, int level, const char *msg) {}

/* Check every read path against store_marks_of; returns the marks of seqs 1..NREC. */
static void check(store *s, unsigned marks[NREC + 1]) {
  for (uint64_t q = 1; q <= NREC; q++) marks[q] = store_marks_of(s, q);
  for (int mode = 0; mode <= 2; mode++) {
    store_filter f;
    store_filter_init(&f);
    f.archived = mode;
    seen sc = {0}, sq = {0};
    uint64_t last = 0, count = 0, count_t = 0;
    if (store_scan_seq(s, &f, 0, 1000, seen_cb, &sc, &last) != 0) abort();
    store_pos lp;
    int more;
    if (store_query(s, &f, 0, 1000, NULL, seen_cb, &sq, &lp, &more) != 0) abort();
    if (store_count(s, &f, &count) != 0) abort();
    f.exact[EVF_TYPE] = "fuzz.a";
    if (store_count(s, &f, &count_t) != 0) abort();
    int want = 0, want_t = 0;
    for (int q = 1; q <= NREC; q++) {
      unsigned k = marks[q];
      int vis = !(k & STORE_MARK_DELETED) &&
                (mode == STORE_ARCHIVED_INCLUDE || (mode == STORE_ARCHIVED_HIDE) == !(k & STORE_MARK_ARCHIVED));
      if (vis != sc.got[q] || vis != sq.got[q]) abort();
      want += vis;
      want_t += vis && (q % 2 == 1); /* seqs 1, 3, 5 are fuzz.a */
    }
    if ((uint64_t)want != count || (uint64_t)want_t != count_t || sc.n != want || sq.n != want) abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > (1u << 16)) return 0;
  int mode = data[0] % 2;
  data++;
  size--;
  const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  char dir[256];
  snprintf(dir, sizeof dir, "%s/fuzz-marks-XXXXXX", base);
  if (!mkdtemp(dir)) abort();
  buf seg = BUF_INIT;
  seg_header(&seg, 1);
  records(&seg);
  put_file(dir, "00000000000000000001.seg", seg.data, seg.len);
  buf_free(&seg);
  buf log = BUF_INIT;
  if (mode == 0) {
    buf_append(&log, data, size);
  } else {
    for (size_t i = 0; i + 2 <= size; i += 2) {
      unsigned char e[16] = {0};
      st_u64(e, data[i] % 10);
      e[8] = data[i + 1] & 3;
      st_u32(e + 12, crc32c_extend(0, e, 12));
      buf_append(&log, e, 16);
    }
  }
  put_file(dir, "marks.log", log.data, log.len);
  buf_free(&log);

  store_options o;
  store_options_default(&o);
  o.dir = dir;
  o.log = quiet;
  o.compact_deleted_ratio = 2; /* off: the seqs must stay for the comparison */
  store *s = NULL;
  char err[512];
  if (store_open(&o, &s, err, sizeof err) != 0) abort(); /* a bad marks.log is cut, not fatal */
  unsigned before[NREC + 1], after[NREC + 1];
  check(s, before);
  /* More marks from the input; each must apply exactly as documented. */
  for (size_t i = 0; i < size && i < 16; i++) {
    uint64_t q = data[i] % 9; /* 0 and 7, 8 are not stored: skipped */
    unsigned kind = (data[i] & 0x80) ? STORE_MARK_DELETED : STORE_MARK_ARCHIVED;
    uint64_t changed = 0;
    unsigned old = q >= 1 && q <= NREC ? store_marks_of(s, q) : 0;
    if (store_mark(s, &q, 1, kind, &changed) != 0) abort();
    int should = q >= 1 && q <= NREC && !(old & STORE_MARK_DELETED) && !(old & kind);
    if ((uint64_t)should != changed) abort();
  }
  check(s, before);
  store_close(s);
  if (store_open(&o, &s, err, sizeof err) != 0) abort();
  check(s, after);
  if (memcmp(before + 1, after + 1, NREC * sizeof before[0]) != 0) abort();
  store_close(s);
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    char path[600];
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(dir);
  return 0;
}
