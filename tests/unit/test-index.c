/* Tests of sealed segment indexes (missing / damaged / stale ones are rebuilt), the
 * client-id map, and the store's self-check. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "store-testutil.h"
#include "store/store_internal.h"
#include "test.h"

#define NOW_NS 1763712000000000000LL

/* A store with several sealed segments; returns its options (dir must outlive them). */
static void make_sealed(const char *dir, store_options *o, int n) {
  topts(o, dir);
  o->segment_max_bytes = 1 << 20;
  store *s = topen(o);
  static char msg[2001];
  memset(msg, 'i', 2000);
  for (int i = 0; i < n; i += 10) {
    tev evs[10];
    for (int k = 0; k < 10; k++)
      evs[k] = (tev){.time_ns = NOW_NS + i + k, .type = (i + k) % 2 ? "odd" : "even", .msg = msg};
    tappend_ok(s, evs, 10);
  }
  store_close(s);
  ASSERT(tcount_files(dir, ".idx") >= 2);
}

static uint64_t count_type(store *s, const char *type) {
  store_filter f;
  store_filter_init(&f);
  f.exact[EVF_TYPE] = type;
  uint64_t n = 0;
  ASSERT_EQ_INT(store_count(s, &f, &n), 0);
  return n;
}

static void check_store(store *s) {
  char err[256];
  int rc = store__check(s, err, sizeof err);
  if (rc) fprintf(stderr, "store__check: %s\n", err);
  ASSERT_EQ_INT(rc, 0);
}

TEST_IMPL(index_missing_is_rebuilt) {
  char *dir = test_tmpdir();
  store_options o;
  make_sealed(dir, &o, 1500);
  char *idx = tnth_file(dir, ".idx", 0), *p = tpath(dir, idx);
  uint64_t size = tfile_size(p);
  ASSERT_EQ_INT(unlink(p), 0);
  tlog_clear();
  store *s = topen(&o);
  ASSERT(tlog_contains("missing; rebuilding it"));
  ASSERT_EQ_U64(tfile_size(p), size); /* the same index again */
  ASSERT_EQ_U64(count_type(s, "odd"), 750);
  ASSERT_EQ_U64(count_type(s, "even"), 750);
  check_store(s);
  store_close(s);
  free(idx);
  free(p);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(index_damaged_is_rebuilt) {
  char *dir = test_tmpdir();
  store_options o;
  make_sealed(dir, &o, 1500);
  char *idx = tnth_file(dir, ".idx", 1), *p = tpath(dir, idx);
  tfile_poke(p, tfile_size(p) - 3, "\x01\x02", 2); /* in the body (the type dictionary's strings) */
  tlog_clear();
  store *s = topen(&o);
  ASSERT(tlog_contains("body CRC mismatch; rebuilding it"));
  ASSERT_EQ_U64(count_type(s, "odd"), 750);
  check_store(s);
  store_close(s);
  /* A damaged header, too. */
  tfile_poke(p, 20, "\x7f", 1);
  tlog_clear();
  s = topen(&o);
  ASSERT(tlog_contains("bad header"));
  ASSERT_EQ_U64(count_type(s, "even"), 750);
  store_close(s);
  free(idx);
  free(p);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(index_of_a_grown_segment_is_rebuilt) {
  char *dir = test_tmpdir();
  store_options o;
  make_sealed(dir, &o, 1500);
  char *segname = tnth_file(dir, ".seg", 0), *p = tpath(dir, segname);
  tfile_append(p, "trailing junk after sealing", 27);
  tlog_clear();
  store *s = topen(&o);
  ASSERT(tlog_contains("covers a different segment length"));
  store_stats st;
  store_get_stats(s, &st);
  ASSERT_EQ_U64(st.recovered_truncated_bytes, 27);
  ASSERT_EQ_U64(count_type(s, "odd") + count_type(s, "even"), 1500);
  check_store(s);
  store_close(s);
  free(segname);
  free(p);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(index_leftover_files_are_cleaned_at_open) {
  char *dir = test_tmpdir();
  store_options o;
  make_sealed(dir, &o, 1500);
  char *tmp = tpath(dir, "00000000000000000001.idx.tmp");
  char *orphan = tpath(dir, "00000000000099999999.idx");
  FILE *f = fopen(tmp, "w");
  fputs("half", f);
  fclose(f);
  f = fopen(orphan, "w");
  fputs("orphan", f);
  fclose(f);
  store *s = topen(&o);
  ASSERT(access(tmp, F_OK) != 0);
  ASSERT(access(orphan, F_OK) != 0);
  ASSERT_EQ_U64(count_type(s, "odd"), 750);
  store_close(s);
  free(tmp);
  free(orphan);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(index_cmap_delete_keeps_colliding_entries_findable) {
  cmap m = {0};
  /* Many entries on few home slots: long probe runs that wrap around the table end. */
  for (uint64_t i = 1; i <= 600; i++) ASSERT_EQ_INT(cmap_insert(&m, (i % 7) * 1021 + 1023, i), 0);
  for (uint64_t i = 1; i <= 600; i += 3) cmap_delete(&m, (i % 7) * 1021 + 1023, i);
  ASSERT_EQ_U64(m.n, 400);
  for (uint64_t i = 1; i <= 600; i++) {
    uint64_t out[600];
    size_t k = cmap_find(&m, (i % 7) * 1021 + 1023, out, 600);
    int found = 0;
    for (size_t j = 0; j < k; j++) found |= out[j] == i;
    ASSERT_EQ_INT(found, (i - 1) % 3 != 0);
  }
  cmap_delete(&m, 5, 12345); /* absent: no effect */
  ASSERT_EQ_U64(m.n, 400);
  cmap_free(&m);
  return 0;
}

TEST_IMPL(index_memidx_lookup_and_postings) {
  memidx *m = memidx_new(42, SEG_HDR_SIZE, 0);
  ASSERT(m != NULL);
  buf pl = BUF_INIT;
  for (int i = 0; i < 1000; i++) {
    char tag[16];
    snprintf(tag, sizeof tag, "tag%d", i % 10);
    tev e = {.time_ns = 1000 - i, .type = "t", .tag = tag, .lk = {"k"}, .lv = {i % 2 ? "a" : "b"}};
    buf_clear(&pl);
    tev_encode(&e, &pl);
    record_view rv;
    ASSERT_EQ_INT(record_decode(pl.data, pl.len, &rv), 0);
    uint64_t off = m->meta.data_end;
    ASSERT_EQ_INT(memidx_add(m, &rv, 100 + (uint64_t)i, off, off + 20 + pl.len), 0);
  }
  postings p;
  ASSERT(memidx_lookup(m, EVF_TAG, "tag3", 4, &p));
  ASSERT_EQ_INT(p.n, 100);
  for (uint32_t i = 0; i < p.n; i++) ASSERT_EQ_INT(p.ids[i], 3 + 10 * i);
  ASSERT(!memidx_lookup(m, EVF_TAG, "tag10", 5, &p));
  buf lv = BUF_INIT;
  label_value_encode(&lv, "k", 1, "a", 1);
  ASSERT(memidx_lookup(m, DICT_LABELS, lv.data, lv.len, &p));
  ASSERT_EQ_INT(p.n, 500);
  ASSERT_EQ_INT(m->meta.count, 1000);
  ASSERT_EQ_U64(m->meta.first_seq, 100);
  ASSERT_EQ_U64(m->meta.last_seq, 1099);
  ASSERT_EQ_INT(m->meta.dense, 1);
  ASSERT_EQ_U64(m->meta.min_time, 1);
  ASSERT_EQ_U64(m->meta.max_time, 1000);
  ASSERT(m->nsamples >= 1000 / ULID_SAMPLE_EVERY);
  buf_free(&lv);
  buf_free(&pl);
  memidx_free(m);
  return 0;
}

/* cmp_bytes order, for the check below. */
static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn) {
  int c = memcmp(a, b, an < bn ? an : bn);
  return c ? c : (an < bn ? -1 : an > bn);
}

TEST_IMPL(index_dictionaries_are_sorted_bytewise_with_shared_prefixes) {
  /* Client ids that share a long prefix, that are prefixes of each other, that differ only
   * past their first 8 bytes after the shared prefix, and label values holding zero bytes:
   * the sealed dictionary must be in byte order and every value must be found. */
  char *dir = test_tmpdir();
  int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
  ASSERT(dirfd >= 0);
  memidx *m = memidx_new(7, SEG_HDR_SIZE, 0);
  ASSERT(m != NULL);
  static const char *extra[] = {"lg0001", "lg00010", "lg0001000000000000000", "lg0001000000000000000\x01",
                                "lg000100000000000000a", "lg000100000000000000", "lg0002", "lg0001zzzzzzzzzzzzzzzzzz0",
                                "lg0001zzzzzzzzzzzzzzzzzz"};
  size_t nextra = sizeof extra / sizeof extra[0];
  buf pl = BUF_INIT;
  char id[64];
  int n = 0;
  for (int i = 0; i < 600; i++, n++) {
    if ((size_t)i < nextra)
      snprintf(id, sizeof id, "%s", extra[i]);
    else
      snprintf(id, sizeof id, "lg0001%016d", (i * 7919) % 100003);
    char lv[8] = {'v', (char)('a' + i % 3)};
    tev e = {.id = id, .time_ns = 1000 + i, .type = "t", .lk = {i % 2 ? "k" : "kk"}, .lv = {lv}};
    buf_clear(&pl);
    tev_encode(&e, &pl);
    record_view rv;
    ASSERT_EQ_INT(record_decode(pl.data, pl.len, &rv), 0);
    uint64_t off = m->meta.data_end;
    ASSERT_EQ_INT(memidx_add(m, &rv, 1 + (uint64_t)i, off, off + 20 + pl.len), 0);
  }
  uint64_t bytes = 0;
  ASSERT_EQ_INT(index_write(dirfd, 1, m, &bytes), 0);
  idxfile x;
  char why[128];
  ASSERT_EQ_INT(index_open(dirfd, 1, m->meta.data_end, &x, why, sizeof why), 0);
  for (int d = DICT_LABELS; d <= DICT_CLIENT_IDS; d++) {
    uint32_t cnt = index_dict_count(&x, d);
    ASSERT_EQ_U64(cnt, m->dict[d].nvals);
    const char *pv = NULL;
    size_t pn = 0;
    for (uint32_t j = 0; j < cnt; j++) {
      const char *v;
      size_t vn;
      postings p, q;
      ASSERT(index_dict_value(&x, d, j, &v, &vn, &p));
      if (j) ASSERT(bytes_cmp(pv, pn, v, vn) < 0);
      ASSERT(index_lookup(&x, d, v, vn, &q));
      ASSERT_EQ_INT(q.n, p.n);
      pv = v;
      pn = vn;
    }
  }
  for (size_t i = 0; i < nextra; i++) {
    postings q;
    ASSERT(index_lookup(&x, DICT_CLIENT_IDS, extra[i], strlen(extra[i]), &q));
    ASSERT_EQ_INT(q.n, 1);
    ASSERT_EQ_INT(q.ids[0], (uint32_t)i);
  }
  ASSERT(n == 600);
  index_close(&x);
  memidx_free(m);
  buf_free(&pl);
  close(dirfd);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}
