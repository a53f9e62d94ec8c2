/* Tests of the journal: framing, and recovery at open — torn tails, corrupt records in the
 * middle, damaged or incomplete segment headers. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "store-testutil.h"
#include "store/store_internal.h"
#include "test.h"

#define NOW_NS 1763712000000000000LL

static int count_all(store *s) {
  store_filter f;
  store_filter_init(&f);
  uint64_t n = 0;
  ASSERT_EQ_INT(store_count(s, &f, &n), 0);
  return (int)n;
}

/* Offset of frame number k (0-based) in a segment file. */
static uint64_t frame_offset(const char *path, int k) {
  int fd = open(path, O_RDONLY);
  ASSERT(fd >= 0);
  uint64_t off = SEG_HDR_SIZE;
  for (int i = 0; i < k; i++) {
    unsigned char h[FRAME_HDR];
    ASSERT_EQ_INT(pread(fd, h, sizeof h, (off_t)off), FRAME_HDR);
    ASSERT_EQ_U64(ld_u32(h), FRAME_MAGIC);
    off += FRAME_HDR + ld_u32(h + 8);
  }
  close(fd);
  return off;
}

/* A store with n records in separate batches, closed; returns the path of its segment. */
static char *make_segment(const char *dir, int n) {
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  for (int i = 0; i < n; i++) {
    char msg[32];
    snprintf(msg, sizeof msg, "record %d", i + 1);
    tev e = {.time_ns = NOW_NS + i, .type = "j", .msg = msg};
    tappend_ok(s, &e, 1);
  }
  store_close(s);
  char *name = tnth_file(dir, ".seg", 0);
  ASSERT(name != NULL);
  char *p = tpath(dir, name);
  free(name);
  return p;
}

TEST_IMPL(journal_frame_check_detects_any_flipped_bit) {
  unsigned char f[FRAME_HDR + 40];
  for (int i = 0; i < 40; i++) f[FRAME_HDR + i] = (unsigned char)(i * 7);
  frame_seal(f, 40, 12345);
  uint64_t seq = 0;
  ASSERT_EQ_INT(frame_check(f, sizeof f, &seq), 40);
  ASSERT_EQ_U64(seq, 12345);
  ASSERT_EQ_INT(frame_check(f, sizeof f - 1, &seq), -1); /* cut short */
  for (size_t byte = 0; byte < sizeof f; byte++) {
    f[byte] ^= 0x10;
    ASSERT_EQ_INT(frame_check(f, sizeof f, &seq), -1);
    f[byte] ^= 0x10;
  }
  return 0;
}

TEST_IMPL(journal_recovery_truncates_torn_tail) {
  char *dir = test_tmpdir();
  char *path = make_segment(dir, 10);
  uint64_t good = tfile_size(path);
  /* The start of an 11th record whose write was cut short: a valid-looking frame header
   * announcing more bytes than follow, and some of its payload. */
  unsigned char part[FRAME_HDR + 30];
  memset(part, 'x', sizeof part);
  st_u32(part, FRAME_MAGIC);
  st_u32(part + 8, 300);
  st_u64(part + 12, 11);
  tfile_append(path, part, sizeof part);
  store_options o;
  topts(&o, dir);
  tlog_clear();
  store *s = topen(&o);
  store_stats st;
  store_get_stats(s, &st);
  ASSERT_EQ_U64(st.recovered_truncated_bytes, sizeof part);
  ASSERT_EQ_U64(st.corrupt_records, 0);
  ASSERT(tlog_contains("torn tail"));
  ASSERT(tlog_contains("50 bytes cut"));
  ASSERT(tlog_contains("00000000000000000001.seg"));
  ASSERT_EQ_U64(tfile_size(path), good);
  ASSERT_EQ_INT(count_all(s), 10);
  tev e = {.time_ns = NOW_NS, .type = "j"};
  ASSERT_EQ_U64(tappend_ok(s, &e, 1), 11);
  store_close(s);
  /* Nothing more to cut the second time. */
  tlog_clear();
  s = topen(&o);
  store_get_stats(s, &st);
  ASSERT_EQ_U64(st.recovered_truncated_bytes, 0);
  ASSERT_EQ_INT(count_all(s), 11);
  store_close(s);
  free(path);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(journal_recovery_truncates_garbage_tail) {
  char *dir = test_tmpdir();
  char *path = make_segment(dir, 3);
  uint64_t good = tfile_size(path);
  char junk[1000];
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(i * 31 + 7);
  tfile_append(path, junk, sizeof junk);
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  store_stats st;
  store_get_stats(s, &st);
  ASSERT_EQ_U64(st.recovered_truncated_bytes, 1000);
  ASSERT_EQ_U64(tfile_size(path), good);
  ASSERT_EQ_INT(count_all(s), 3);
  store_close(s);
  free(path);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(journal_recovery_reports_corrupt_middle_record_and_keeps_rest) {
  char *dir = test_tmpdir();
  char *path = make_segment(dir, 10);
  uint64_t size = tfile_size(path);
  uint64_t off5 = frame_offset(path, 4); /* record seq 5 */
  tfile_poke(path, off5 + FRAME_HDR + 40, "\xff\xfe", 2);
  store_options o;
  topts(&o, dir);
  tlog_clear();
  store *s = topen(&o);
  store_stats st;
  store_get_stats(s, &st);
  ASSERT_EQ_U64(st.corrupt_records, 1);
  ASSERT_EQ_U64(st.recovered_truncated_bytes, 0);
  char want[128];
  snprintf(want, sizeof want, "00000000000000000001.seg: corrupt record at offset %" PRIu64, off5);
  if (!tlog_contains(want)) tlog_dump();
  ASSERT(tlog_contains(want));
  ASSERT_EQ_U64(tfile_size(path), size); /* nothing cut */
  ASSERT_EQ_INT(count_all(s), 9);
  store_filter f;
  store_filter_init(&f);
  tres r;
  ASSERT_EQ_INT(tquery(s, &f, 0, 100, NULL, &r, NULL, NULL), 0);
  uint64_t expect[9] = {1, 2, 3, 4, 6, 7, 8, 9, 10};
  ASSERT_EQ_INT(r.n, 9);
  for (int i = 0; i < 9; i++) ASSERT_EQ_U64(r.seq[i], expect[i]);
  /* New records continue after the highest seq. */
  tev e = {.time_ns = NOW_NS, .type = "j"};
  ASSERT_EQ_U64(tappend_ok(s, &e, 1), 11);
  store_close(s);
  /* Reported once: the next open reads the sealed index. */
  s = topen(&o);
  store_get_stats(s, &st);
  ASSERT_EQ_U64(st.corrupt_records, 0);
  ASSERT_EQ_INT(count_all(s), 10);
  store_close(s);
  free(path);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(journal_recovery_reports_damaged_header) {
  char *dir = test_tmpdir();
  char *path = make_segment(dir, 4);
  tfile_poke(path, 3, "X", 1);
  store_options o;
  topts(&o, dir);
  tlog_clear();
  store *s = topen(&o);
  store_stats st;
  store_get_stats(s, &st);
  ASSERT_EQ_U64(st.corrupt_records, 1);
  ASSERT(tlog_contains("damaged header"));
  ASSERT_EQ_INT(count_all(s), 4); /* the records themselves are fine */
  store_close(s);
  free(path);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(journal_recovery_reinitializes_incomplete_segment) {
  char *dir = test_tmpdir();
  char *path = make_segment(dir, 4);
  /* A crash while segment 5 was being created leaves a file shorter than a header. */
  char *p5 = tpath(dir, "00000000000000000005.seg");
  int fd = open(p5, O_WRONLY | O_CREAT | O_EXCL, 0644);
  ASSERT(fd >= 0);
  ASSERT_EQ_INT(write(fd, "EVDSEG", 6), 6);
  close(fd);
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  ASSERT_EQ_INT(count_all(s), 4);
  tev e = {.time_ns = NOW_NS, .type = "j"};
  ASSERT_EQ_U64(tappend_ok(s, &e, 1), 5);
  store_close(s);
  s = topen(&o);
  ASSERT_EQ_INT(count_all(s), 5);
  store_close(s);
  free(p5);
  free(path);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(journal_segment_names_parse_strictly) {
  char name[SEG_NAME_MAX];
  seg_file_name(name, 42, ".seg");
  ASSERT_EQ_STR(name, "00000000000000000042.seg");
  uint64_t b = 0;
  ASSERT(seg_file_parse(name, ".seg", &b));
  ASSERT_EQ_U64(b, 42);
  ASSERT(!seg_file_parse(name, ".idx", &b));
  ASSERT(!seg_file_parse("0000000000000000042.seg", ".seg", &b));
  ASSERT(!seg_file_parse("00000000000000000000.seg", ".seg", &b));
  ASSERT(!seg_file_parse("99999999999999999999.seg", ".seg", &b)); /* over 2^64 */
  ASSERT(!seg_file_parse("0000000000000000004x.seg", ".seg", &b));
  return 0;
}

TEST_IMPL(journal_recovery_keeps_segment_larger_than_scan_window) {
  /* The recovery scan reads the segment in 4 MiB windows: records across and after a window
   * boundary must all be kept, and nothing reported. */
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  static char msg[3001];
  memset(msg, 'w', 3000);
  int n = 0;
  for (; n < 3000; n += 20) {
    tev evs[20];
    for (int k = 0; k < 20; k++) evs[k] = (tev){.time_ns = NOW_NS + n + k, .type = "w", .msg = msg};
    tappend_ok(s, evs, 20);
  }
  store_close(s);
  char *name = tnth_file(dir, ".seg", 0), *path = tpath(dir, name);
  uint64_t size = tfile_size(path);
  ASSERT(size > (9u << 20) / 2 * 2 - (1u << 20)); /* > 8 MiB: two window boundaries */
  tlog_clear();
  s = topen(&o);
  store_stats st;
  store_get_stats(s, &st);
  ASSERT_EQ_U64(st.recovered_truncated_bytes, 0);
  ASSERT_EQ_U64(st.corrupt_records, 0);
  ASSERT_EQ_U64(tfile_size(path), size);
  ASSERT_EQ_INT(count_all(s), n);
  store_close(s);
  free(name);
  free(path);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}
