/* Unit tests of archive/delete marks (src/store/marks.c) and their application on every
 * read path of the store (query, count, histogram, get, seq_of_id, scan_seq). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-testutil.h"
#include "store/store_internal.h" /* store__check */
#include "test.h"

#define LC_NOW 1763712000000000000LL

static uint64_t lc_count(store *s, int archived, const char *type) {
  store_filter f;
  store_filter_init(&f);
  f.archived = archived;
  f.exact[EVF_TYPE] = type;
  uint64_t n = 0;
  if (store_count(s, &f, &n) != 0) return UINT64_MAX;
  return n;
}

static int lc_hist_cb(void *arg, int64_t b, const char *g, size_t gl, uint64_t c) {
  (void)b, (void)g, (void)gl;
  *(uint64_t *)arg += c;
  return 0;
}

static uint64_t lc_hist_total(store *s, int archived) {
  store_filter f;
  store_filter_init(&f);
  f.archived = archived;
  uint64_t total = 0;
  if (store_histogram(s, &f, 1000000000LL, STORE_GROUP_NONE, lc_hist_cb, &total) != 0) return UINT64_MAX;
  return total;
}

static int lc_get_cb(void *arg, uint64_t seq, const record_view *rv) {
  (void)rv;
  *(uint64_t *)arg = seq;
  return 0;
}

/* 100 events in a sealed segment (seqs 1..100) and 20 in the active one (101..120); even
 * seqs have type "a", odd ones "b". */
static store *lc_fill(const char *dir) {
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  tev evs[100];
  for (int i = 0; i < 100; i++)
    evs[i] = (tev){.time_ns = LC_NOW + i, .type = (i + 1) % 2 ? "b" : "a", .msg = "m"};
  tappend_ok(s, evs, 100);
  store_close(s);
  s = topen(&o); /* seals the segment */
  for (int i = 0; i < 20; i++) evs[i].time_ns = LC_NOW + 100 + i;
  tappend_ok(s, evs, 20);
  return s;
}

TEST_IMPL(lifecycle_marks_hide_deleted_and_archived_on_every_read_path) {
  char *dir = test_tmpdir();
  store *s = lc_fill(dir);
  ASSERT_EQ_U64(lc_count(s, STORE_ARCHIVED_HIDE, NULL), 120);
  /* delete 2 (a), 3 (b), 110 (a, active); archive 4 (a), 5 (b), 111 (b, active) */
  uint64_t del[] = {2, 3, 110}, arc[] = {4, 5, 111, 3}, changed = 0;
  ASSERT_EQ_INT(store_mark(s, del, 3, STORE_MARK_DELETED, &changed), 0);
  ASSERT_EQ_U64(changed, 3);
  ASSERT_EQ_INT(store_mark(s, arc, 4, STORE_MARK_ARCHIVED, &changed), 0);
  ASSERT_EQ_U64(changed, 3); /* 3 is deleted: not archived */
  ASSERT_EQ_INT(store_mark(s, arc, 3, STORE_MARK_ARCHIVED, &changed), 0);
  ASSERT_EQ_U64(changed, 0); /* already archived */
  ASSERT_EQ_U64(store_marks_of(s, 3), STORE_MARK_DELETED);
  ASSERT_EQ_U64(store_marks_of(s, 4), STORE_MARK_ARCHIVED);
  for (int round = 0; round < 2; round++) {
    ASSERT_EQ_U64(lc_count(s, STORE_ARCHIVED_HIDE, NULL), 114);
    ASSERT_EQ_U64(lc_count(s, STORE_ARCHIVED_INCLUDE, NULL), 117);
    ASSERT_EQ_U64(lc_count(s, STORE_ARCHIVED_ONLY, NULL), 3);
    ASSERT_EQ_U64(lc_count(s, STORE_ARCHIVED_HIDE, "a"), 57); /* 60 - 2, 110 deleted - 4 */
    ASSERT_EQ_U64(lc_count(s, STORE_ARCHIVED_ONLY, "b"), 2);
    ASSERT_EQ_U64(lc_hist_total(s, STORE_ARCHIVED_HIDE), 114);
    ASSERT_EQ_U64(lc_hist_total(s, STORE_ARCHIVED_ONLY), 3);
    store_filter f;
    store_filter_init(&f);
    f.archived = STORE_ARCHIVED_ONLY;
    tres r;
    ASSERT_EQ_INT(tquery(s, &f, 0, 100, NULL, &r, NULL, NULL), 0);
    ASSERT_EQ_U64(r.n, 3);
    ASSERT_EQ_U64(r.seq[0], 4);
    ASSERT_EQ_U64(r.seq[1], 5);
    ASSERT_EQ_U64(r.seq[2], 111);
    f.archived = STORE_ARCHIVED_HIDE;
    ASSERT_EQ_INT(tquery(s, &f, 1, 200, NULL, &r, NULL, NULL), 0);
    ASSERT_EQ_U64(r.n, 114);
    for (size_t i = 0; i < r.n; i++) ASSERT(r.seq[i] != 2 && r.seq[i] != 4 && r.seq[i] != 110);
    /* scan_seq (tail, outputs): deleted never, archived by the filter */
    uint64_t last = 0;
    f.archived = STORE_ARCHIVED_INCLUDE;
    ASSERT_EQ_INT(tscan(s, &f, 0, 1000, &r, &last), 0);
    ASSERT_EQ_U64(r.n, 117);
    ASSERT_EQ_U64(last, 120);
    for (size_t i = 0; i < r.n; i++) ASSERT(r.seq[i] != 2 && r.seq[i] != 3 && r.seq[i] != 110);
    /* get: a deleted record is not found */
    ASSERT_EQ_INT(tquery(s, &f, 0, 3, NULL, &r, NULL, NULL), 0); /* seqs 1, 4, 5 */
    uint64_t got = 0, sq = 0;
    ASSERT_EQ_INT(store_get(s, r.id[1], strlen(r.id[1]), lc_get_cb, &got), 0);
    ASSERT_EQ_U64(got, 4);
    store_close(s);
    /* the marks are durable: they hold after reopening */
    store_options o;
    topts(&o, dir);
    s = topen(&o);
    (void)sq;
  }
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(lifecycle_deleted_record_is_gone_from_get_and_seq_of_id) {
  char *dir = test_tmpdir();
  store *s = lc_fill(dir);
  store_filter f;
  store_filter_init(&f);
  tres r;
  ASSERT_EQ_INT(tquery(s, &f, 0, 120, NULL, &r, NULL, NULL), 0);
  ASSERT_EQ_U64(r.n, 120);
  char id7[32], id115[32];
  strcpy(id7, r.id[6]);
  strcpy(id115, r.id[114]);
  uint64_t seq = 0, del[] = {7, 115};
  ASSERT_EQ_INT(store_seq_of_id(s, id7, strlen(id7), &seq), 0);
  ASSERT_EQ_U64(seq, 7);
  ASSERT_EQ_INT(store_mark(s, del, 2, STORE_MARK_DELETED, NULL), 0);
  ASSERT_EQ_INT(store_seq_of_id(s, id7, strlen(id7), &seq), -ENOENT);
  ASSERT_EQ_INT(store_get(s, id115, strlen(id115), lc_get_cb, &seq), -ENOENT);
  /* not-yet-committed seqs are not marked */
  uint64_t future = 1000, changed = 9;
  ASSERT_EQ_INT(store_mark(s, &future, 1, STORE_MARK_DELETED, &changed), 0);
  ASSERT_EQ_U64(changed, 0);
  ASSERT_EQ_INT(store_mark(s, &future, 1, 7, &changed), -EINVAL);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(lifecycle_marks_log_torn_tail_is_cut_and_earlier_marks_kept) {
  char *dir = test_tmpdir();
  store *s = lc_fill(dir);
  uint64_t a = 10, b = 11;
  ASSERT_EQ_INT(store_mark(s, &a, 1, STORE_MARK_DELETED, NULL), 0);
  ASSERT_EQ_INT(store_mark(s, &b, 1, STORE_MARK_ARCHIVED, NULL), 0);
  store_close(s);
  char *log = tpath(dir, "marks.log");
  ASSERT_EQ_U64(tfile_size(log), 32);
  tfile_append(log, "\x0c\0\0\0\0\0\0\0\x02", 9); /* half an entry: a torn write */
  /* a leftover rewrite temp file from a crash is removed at open */
  char *tmp = tpath(dir, "marks.log.tmp");
  FILE *tf = fopen(tmp, "w");
  ASSERT(tf != NULL);
  fputs("junk", tf);
  fclose(tf);
  store_options o;
  topts(&o, dir);
  s = topen(&o);
  ASSERT_EQ_U64(tfile_size(log), 32);
  ASSERT(access(tmp, F_OK) != 0);
  ASSERT_EQ_U64(store_marks_of(s, 10), STORE_MARK_DELETED);
  ASSERT_EQ_U64(store_marks_of(s, 11), STORE_MARK_ARCHIVED);
  ASSERT_EQ_U64(store_marks_of(s, 12), 0);
  ASSERT_EQ_U64(lc_count(s, STORE_ARCHIVED_HIDE, NULL), 118);
  store_close(s);
  free(log);
  free(tmp);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

/* Wait up to 10 s for the writer to have compacted n segments. */
static int lc_wait_compacted(store *s, uint64_t n) {
  for (int i = 0; i < 1000; i++) {
    store_stats st;
    store_get_stats(s, &st);
    if (st.compacted_segments >= n) return 1;
    usleep(10000);
  }
  return 0;
}

static void lc_copy_file(const char *from, const char *to) {
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  if (!a || !b) abort();
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, a)) > 0)
    if (fwrite(chunk, 1, n, b) != n) abort();
  fclose(a);
  fclose(b);
}

TEST_IMPL(lifecycle_compaction_rewrites_segment_keeps_seqs_and_shrinks_disk) {
  char *dir = test_tmpdir();
  store *s = lc_fill(dir);
  store_filter f;
  store_filter_init(&f);
  tres r;
  ASSERT_EQ_INT(tquery(s, &f, 0, 120, NULL, &r, NULL, NULL), 0);
  char id70[32];
  strcpy(id70, r.id[69]);
  uint64_t del[60];
  for (int i = 0; i < 60; i++) del[i] = (uint64_t)i + 1; /* seqs 1..60 of the sealed segment */
  ASSERT_EQ_INT(store_mark(s, del, 60, STORE_MARK_DELETED, NULL), 0);
  char *seg1 = tpath(dir, "00000000000000000001.seg");
  uint64_t before = tfile_size(seg1);
  store_stats st0;
  store_get_stats(s, &st0);
  store_close(s);
  store_options o;
  topts(&o, dir);
  s = topen(&o); /* the writer checks retention and compaction right after open */
  ASSERT(lc_wait_compacted(s, 1));
  uint64_t after = tfile_size(seg1);
  ASSERT(after < before / 2 + 100); /* 40 of 100 similar records kept */
  store_stats st;
  store_get_stats(s, &st);
  ASSERT(st.bytes < st0.bytes);
  ASSERT(st.compacted_bytes > 0);
  ASSERT_EQ_U64(st.records, 60);
  ASSERT_EQ_U64(lc_count(s, STORE_ARCHIVED_INCLUDE, NULL), 60);
  ASSERT_EQ_U64(lc_count(s, STORE_ARCHIVED_INCLUDE, "a"), 30);
  ASSERT_EQ_INT(tquery(s, &f, 0, 120, NULL, &r, NULL, NULL), 0);
  ASSERT_EQ_U64(r.n, 60);
  ASSERT_EQ_U64(r.seq[0], 61); /* seqs are preserved */
  ASSERT_EQ_U64(r.seq[39], 100);
  ASSERT_EQ_U64(r.seq[40], 101);
  uint64_t seq = 0;
  ASSERT_EQ_INT(store_seq_of_id(s, id70, strlen(id70), &seq), 0);
  ASSERT_EQ_U64(seq, 70);
  char err[256];
  ASSERT_EQ_INT(store__check(s, err, sizeof err), 0);
  /* Archive still works on the compacted segment. */
  uint64_t a = 80, changed = 0;
  ASSERT_EQ_INT(store_mark(s, &a, 1, STORE_MARK_ARCHIVED, &changed), 0);
  ASSERT_EQ_U64(changed, 1);
  ASSERT_EQ_U64(lc_count(s, STORE_ARCHIVED_HIDE, NULL), 59);
  store_close(s);
  /* and everything holds after another reopen */
  s = topen(&o);
  ASSERT_EQ_U64(lc_count(s, STORE_ARCHIVED_HIDE, NULL), 59);
  ASSERT_EQ_INT(store__check(s, err, sizeof err), 0);
  store_close(s);
  free(seg1);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(lifecycle_compaction_crash_leftovers_are_recovered_at_open) {
  char *dir = test_tmpdir();
  store *s = lc_fill(dir);
  uint64_t del[50];
  for (int i = 0; i < 50; i++) del[i] = (uint64_t)i * 2 + 1; /* the odd seqs 1..99 */
  ASSERT_EQ_INT(store_mark(s, del, 50, STORE_MARK_DELETED, NULL), 0);
  store_close(s);
  char *seg1 = tpath(dir, "00000000000000000001.seg");
  char *saved = tpath(dir, "saved-old-segment");
  lc_copy_file(seg1, saved); /* the segment as it was before compaction */
  store_options o;
  topts(&o, dir);
  s = topen(&o);
  ASSERT(lc_wait_compacted(s, 1));
  store_close(s);
  /* Crash between the index swap and the segment swap: the new index beside the old
   * segment, plus a half-written compaction file. */
  lc_copy_file(saved, seg1);
  char *tmp = tpath(dir, "00000000000000000001.seg.compact.tmp");
  lc_copy_file(saved, tmp);
  unlink(saved);
  tlog_clear();
  s = topen(&o);
  ASSERT(access(tmp, F_OK) != 0);          /* leftover removed */
  ASSERT(tlog_contains("rebuilding"));      /* mismatched index rebuilt from the old segment */
  ASSERT_EQ_U64(lc_count(s, STORE_ARCHIVED_INCLUDE, NULL), 70); /* 50 + 20 active */
  store_filter f;
  store_filter_init(&f);
  tres r;
  ASSERT_EQ_INT(tquery(s, &f, 0, 120, NULL, &r, NULL, NULL), 0);
  ASSERT_EQ_U64(r.n, 70);
  for (size_t i = 0; i < 50; i++) ASSERT_EQ_U64(r.seq[i], (uint64_t)(i + 1) * 2);
  /* and compaction happens again */
  ASSERT(lc_wait_compacted(s, 1));
  ASSERT_EQ_U64(lc_count(s, STORE_ARCHIVED_INCLUDE, NULL), 70);
  char err[256];
  ASSERT_EQ_INT(store__check(s, err, sizeof err), 0);
  store_close(s);
  free(seg1);
  free(saved);
  free(tmp);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(lifecycle_compaction_lets_removed_client_ids_be_stored_again) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  char ids[10][16];
  tev evs[10];
  for (int i = 0; i < 10; i++) {
    snprintf(ids[i], sizeof ids[i], "cid-%d", i);
    evs[i] = (tev){.id = ids[i], .time_ns = LC_NOW + i, .type = "c", .msg = "m"};
  }
  tappend_ok(s, evs, 10);
  store_close(s);
  s = topen(&o); /* seals */
  uint64_t del[8];
  for (int i = 0; i < 8; i++) del[i] = (uint64_t)i + 1;
  ASSERT_EQ_INT(store_mark(s, del, 8, STORE_MARK_DELETED, NULL), 0);
  /* before compaction a deleted client id is still a duplicate (documented) */
  store_close(s);
  s = topen(&o); /* compaction ran in the previous session or runs now */
  store_stats st;
  for (int i = 0; i < 1000; i++) {
    store_get_stats(s, &st);
    if (st.records == 2) break;
    usleep(10000);
  }
  ASSERT_EQ_U64(st.records, 2);
  store_batch *b = NULL;
  ASSERT_EQ_INT(tappend(s, &evs[0], 1, &b), 0);
  ASSERT(!store_batch_duplicate(b, 0)); /* cid-0 was removed: stored again */
  store_batch_free(b);
  b = NULL;
  ASSERT_EQ_INT(tappend(s, &evs[9], 1, &b), 0);
  ASSERT(store_batch_duplicate(b, 0)); /* cid-9 was kept */
  ASSERT_EQ_U64(store_batch_seq(b, 0), 10);
  store_batch_free(b);
  ASSERT_EQ_U64(lc_count(s, STORE_ARCHIVED_INCLUDE, NULL), 3);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}
