/* Fuzz target for store recovery: the input becomes the files of a data directory, the store
 * is opened (recovery), everything is queried, and the store is closed. It must never crash
 * or leak, and it must not skip bytes silently: every byte of the recovered segment that is
 * not a kept record must have been reported (torn tail or corrupt record).
 *
 * The first input byte picks how the rest is laid out (so the fuzzer gets past the CRCs):
 *   0  the rest is the whole segment file, as is
 *   1  a valid segment header, then the rest
 *   2  a valid header, then the rest cut into pieces (u16 length + bytes), each wrapped in a
 *      valid frame with increasing seqs (payloads still have to pass record_decode)
 *   3  a valid header, three valid records, then the rest (damage after good data)
 *   4  a sealed segment of three valid records, and the rest as its index file with the
 *      header and body CRCs recomputed (exercises the index bounds checks) */
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

static void frame(buf *b, const void *payload, size_t len, uint64_t seq) {
  size_t at = b->len;
  unsigned char z[FRAME_HDR] = {0};
  buf_append(b, z, sizeof z);
  buf_append(b, payload, len);
  frame_seal((unsigned char *)b->data + at, (uint32_t)len, seq);
}

static void good_records(buf *b, uint64_t first) {
  for (int i = 0; i < 3; i++) {
    event ev;
    memset(&ev, 0, sizeof ev);
    ev.time_ns = 1000 + i;
    ev.observed_ns = 1000 + i;
    ev.severity_number = 9 + i;
    ev.f[EVF_TYPE] = (strv){"fuzz.type", 9};
    ev.f[EVF_TAG] = (strv){i ? "b" : "a", 1};
    ev.f[EVF_MESSAGE] = (strv){"message", 7};
    if (i == 2) ev.id = (strv){"client-2", 8};
    buf p = BUF_INIT;
    if (record_encode(&ev, &p) != 0) abort();
    if (i != 2) record_patch_id(p.data, p.len, "01ARZ3NDEKTSV4RRFFQ69G5FA0");
    frame(b, p.data, p.len, first + (uint64_t)i);
    buf_free(&p);
  }
}

typedef struct tally {
  uint64_t records, bytes;
} tally;

static int count_cb(void *arg, uint64_t seq, const record_view *rv) {
  tally *t = arg;
  const char *start = rv->id.p - RECORD_ID_OFFSET; /* the payload begins 26 bytes before its id */
  t->records++;
  t->bytes += FRAME_HDR + (uint64_t)(rv->json.p + rv->json.n - start);
  return 0;
}

static int hist_cb(void *arg, int64_t b, const char *g, size_t gn, uint64_t n) { return 0; }
static void quiet(void *arg, int level, const char *msg) {}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > (1u << 20)) return 0;
  int mode = data[0] % 5;
  data++;
  size--;
  const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  char dir[256];
  snprintf(dir, sizeof dir, "%s/fuzz-journal-XXXXXX", base);
  if (!mkdtemp(dir)) abort();

  buf segbuf = BUF_INIT;
  if (mode >= 1) seg_header(&segbuf, 1);
  if (mode == 0) buf_append(&segbuf, data, size);
  if (mode == 1) buf_append(&segbuf, data, size);
  if (mode == 2) {
    uint64_t seq = 1;
    size_t i = 0;
    while (i + 2 <= size) {
      size_t n = (size_t)data[i] | ((size_t)data[i + 1] << 8);
      i += 2;
      if (n > size - i) n = size - i;
      if (n) frame(&segbuf, data + i, n, seq++);
      i += n;
    }
  }
  if (mode == 3) {
    good_records(&segbuf, 1);
    buf_append(&segbuf, data, size);
  }
  if (mode == 4) {
    good_records(&segbuf, 1);
    if (size >= IDX_HDR_SIZE) {
      unsigned char *idx = malloc(size);
      memcpy(idx, data, size);
      st_u64(idx + 96, size);
      st_u32(idx + 104, crc32c_extend(0, idx + IDX_HDR_SIZE, size - IDX_HDR_SIZE));
      st_u32(idx + 508, crc32c_extend(0, idx, 508));
      put_file(dir, "00000000000000000001.idx", idx, size);
      free(idx);
    } else {
      put_file(dir, "00000000000000000001.idx", data, size);
    }
    buf active = BUF_INIT;
    seg_header(&active, 4);
    put_file(dir, "00000000000000000004.seg", active.data, active.len);
    buf_free(&active);
  }
  put_file(dir, "00000000000000000001.seg", segbuf.data, segbuf.len);
  uint64_t seg_size = segbuf.len;
  buf_free(&segbuf);

  store_options o;
  store_options_default(&o);
  o.dir = dir;
  o.log = quiet;
  store *s = NULL;
  char err[512];
  if (store_open(&o, &s, err, sizeof err) == 0) {
    store_stats st;
    store_get_stats(s, &st);
    store_filter f;
    store_filter_init(&f);
    tally t = {0, 0};
    uint64_t last = 0, count = 0;
    /* Mode 4 can hand the store an index whose CRCs match but whose content lies; it must
     * survive that, but its answers need not agree with each other (docs/storage.md). */
    int consistent = mode != 4;
    if (store_scan_seq(s, &f, 0, 1000000, count_cb, &t, &last) != 0) abort();
    if (store_count(s, &f, &count) != 0 || (consistent && count != t.records)) abort();
    if (consistent && st.records != t.records) abort();
    if (mode != 4 && seg_size >= SEG_HDR_SIZE) {
      /* Everything not kept was reported. */
      if (SEG_HDR_SIZE + t.bytes + st.recovered_truncated_bytes != seg_size && st.corrupt_records == 0)
        abort();
    }
    tally q = {0, 0};
    store_pos lastpos;
    int more;
    if (store_query(s, &f, 1, 1000, NULL, count_cb, &q, &lastpos, &more) != 0) abort();
    if (consistent && q.records != (t.records < 1000 ? t.records : 1000)) abort();
    f.exact[EVF_TAG] = "b";
    f.type_prefix = "fuzz.";
    f.key_pattern = "#";
    f.q = "mess";
    f.min_severity = 10;
    if (store_count(s, &f, &count) != 0) abort();
    store_filter_init(&f);
    if (store_histogram(s, &f, 7, STORE_GROUP_TYPE, hist_cb, NULL) != 0) abort();
    if (store_histogram(s, &f, 7, STORE_GROUP_SEVERITY, hist_cb, NULL) != 0) abort();
    uint64_t seq;
    store_seq_of_id(s, "client-2", 8, &seq);
    store_seq_of_id(s, "01ARZ3NDEKTSV4RRFFQ69G5FA0", 26, &seq);
    char cerr[256];
    if (consistent && st.corrupt_records == 0 && store__check(s, cerr, sizeof cerr) != 0) abort();
    store_close(s);
  }
  /* Recovery may have made more files (indexes, a new active segment): remove them all. */
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
