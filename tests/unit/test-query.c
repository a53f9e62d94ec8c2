/* Tests of store_query / store_count / store_histogram / store_scan_seq / store_get against a
 * brute-force evaluation of the same filters over the same events. The data spans several
 * sealed segments (rolled by size and by a reopen) and the in-memory active segment. */
#include <errno.h>
#include <inttypes.h>

#include "core/keymatch.h"
#include "store-testutil.h"
#include "store/store_internal.h"
#include "test.h"

#define NOW_NS 1763712000000000000LL
#define NEV 2500

static const char *TYPES[] = {"account.admin.create", "account.admin.delete", "account.user.login",
                              "vm.created",           "vm.deleted",           "net.link.up"};

typedef struct dset {
  tev ev[NEV];
  uint64_t seq[NEV];
  char id[NEV][32];
  char strs[NEV][8][48];
  char *msg[NEV];
} dset;

static dset *D;

static void build_event(int i) {
  tev *e = &D->ev[i];
  char (*s)[48] = D->strs[i];
  snprintf(s[0], 48, "t%d", i % 3);
  snprintf(s[1], 48, "s%d", i % 4);
  const char *type = TYPES[(i * 7) % 6];
  snprintf(s[2], 48, "s%d.%s", i % 4, type);
  snprintf(s[3], 48, "tag%d", i % 97);
  snprintf(s[4], 48, "host%d", i % 5);
  snprintf(s[5], 48, "job%d", i % 3);
  snprintf(s[6], 48, "g%d", i % 4);
  snprintf(s[7], 48, "cid-%d", i);
  size_t pad = 300 + (size_t)(i * 37 % 900);
  D->msg[i] = malloc(pad + 64);
  int n = snprintf(D->msg[i], 64, "%s %d ", i % 13 == 0 ? "disk failure on sda" : "all fine", i);
  memset(D->msg[i] + n, 'p', pad);
  D->msg[i][n + (int)pad] = '\0';
  *e = (tev){
      .id = i % 10 == 0 ? s[7] : NULL,
      .time_ns = NOW_NS + (int64_t)((i * 7919) % 1000) * 1000000,
      .sev = 1 + (i * 5) % 24,
      .tenant = s[0],
      .stream = s[1],
      .type = type,
      .key = s[2],
      .tag = s[3],
      .source = i % 5 == 0 ? NULL : s[4],
      .corr = i % 11 == 0 ? s[5] : NULL,
      .msg = D->msg[i],
      .lk = {"env", i % 3 == 0 ? "gw" : NULL},
      .lv = {i % 2 ? "prod" : "dev", i % 3 == 0 ? s[6] : NULL},
  };
}

static store *load(const char *dir) {
  D = calloc(1, sizeof *D);
  for (int i = 0; i < NEV; i++) build_event(i);
  store_options o;
  topts(&o, dir);
  o.segment_max_bytes = 1 << 20;
  store *s = topen(&o);
  for (int i = 0; i < NEV; i += 50) {
    if (i == 1200) { /* seal what is there, go on in a new segment */
      store_close(s);
      s = topen(&o);
    }
    store_batch *b = NULL;
    ASSERT_EQ_INT(tappend(s, &D->ev[i], 50, &b), 0);
    for (int k = 0; k < 50; k++) {
      D->seq[i + k] = store_batch_seq(b, (size_t)k);
      snprintf(D->id[i + k], 32, "%s", store_batch_id(b, (size_t)k));
    }
    store_batch_free(b);
  }
  ASSERT(tcount_files(dir, ".idx") >= 3);
  return s;
}

static void unload(void) {
  for (int i = 0; i < NEV; i++) free(D->msg[i]);
  free(D);
}

static int streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static const char *label_of(const tev *e, const char *k) {
  for (int i = 0; i < 2; i++)
    if (e->lk[i] && strcmp(e->lk[i], k) == 0) return e->lv[i];
  return NULL;
}

/* Brute-force evaluation of f on event i. */
static int matches(const store_filter *f, int i) {
  const tev *e = &D->ev[i];
  const char *vals[EVF_INDEXED_COUNT] = {e->tenant, e->stream, e->type, e->key, e->tag, e->source, e->corr};
  for (int k = 0; k < EVF_INDEXED_COUNT; k++)
    if (f->exact[k] && !streq(f->exact[k], vals[k])) return 0;
  if (e->time_ns < f->since_ns || e->time_ns >= f->until_ns) return 0;
  if (f->min_severity && e->sev < f->min_severity) return 0;
  if (f->type_prefix && strncmp(e->type, f->type_prefix, strlen(f->type_prefix)) != 0) return 0;
  if (f->key_pattern && !keymatch(f->key_pattern, strlen(f->key_pattern), e->key, strlen(e->key)))
    return 0;
  if (f->q && !strstr(e->msg, f->q)) return 0;
  for (size_t l = 0; l < f->nlabels; l++)
    if (!streq(label_of(e, f->labels[l].key), f->labels[l].value)) return 0;
  return 1;
}

static int cmp_order_asc(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  if (D->ev[x].time_ns != D->ev[y].time_ns) return D->ev[x].time_ns < D->ev[y].time_ns ? -1 : 1;
  return D->seq[x] < D->seq[y] ? -1 : (D->seq[x] > D->seq[y]);
}

static int cmp_seq(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return D->seq[x] < D->seq[y] ? -1 : (D->seq[x] > D->seq[y]);
}

/* Every matching event, in the query order, fetched page by page with the cursor. */
static void check_paging(store *s, const store_filter *f, int desc, size_t limit, const int *want,
                         size_t nwant) {
  size_t got = 0;
  store_pos cursor, last;
  const store_pos *after = NULL;
  for (int pages = 0; pages < 5000; pages++) {
    tres r;
    int more = -1;
    ASSERT_EQ_INT(tquery(s, f, desc, limit, after, &r, &last, &more), 0);
    for (size_t i = 0; i < r.n; i++) {
      ASSERT(got < nwant);
      size_t w = desc ? nwant - 1 - got : got;
      if (r.seq[i] != D->seq[want[w]]) {
        fprintf(stderr, "page %d item %zu: got seq %" PRIu64 " want %" PRIu64 "\n", pages, i, r.seq[i],
                D->seq[want[w]]);
        ASSERT(0);
      }
      ASSERT_EQ_STR(r.id[i], D->id[want[w]]);
      got++;
    }
    ASSERT_EQ_INT(more, got < nwant);
    if (!more) break;
    ASSERT_EQ_INT(r.n, limit);
    ASSERT_EQ_U64(last.seq, r.seq[r.n - 1]);
    cursor = last;
    after = &cursor;
  }
  ASSERT_EQ_U64(got, nwant);
}

typedef struct hrow {
  int64_t b;
  char g[48];
  uint64_t n;
} hrow;

typedef struct hout {
  hrow rows[20000];
  size_t n;
} hout;

static int hist_cb(void *arg, int64_t b, const char *g, size_t gn, uint64_t n) {
  hout *h = arg;
  ASSERT(h->n < 20000 && gn < 48);
  h->rows[h->n].b = b;
  memcpy(h->rows[h->n].g, g, gn);
  h->rows[h->n].g[gn] = '\0';
  h->rows[h->n].n = n;
  h->n++;
  return 0;
}

static int cmp_hrow(const void *a, const void *b) {
  const hrow *x = a, *y = b;
  if (x->b != y->b) return x->b < y->b ? -1 : 1;
  return strcmp(x->g, y->g);
}

static void check_histogram(store *s, const store_filter *f, const int *want, size_t nwant,
                            store_group by) {
  const int64_t interval = 100000000; /* 100 ms */
  static hout got, exp;
  got.n = exp.n = 0;
  ASSERT_EQ_INT(store_histogram(s, f, interval, by, hist_cb, &got), 0);
  for (size_t i = 0; i < nwant; i++) {
    const tev *e = &D->ev[want[i]];
    int64_t b = e->time_ns / interval * interval;
    const char *g = "";
    if (by == STORE_GROUP_TYPE) g = e->type;
    if (by == STORE_GROUP_SOURCE) g = e->source ? e->source : "";
    if (by == STORE_GROUP_SEVERITY) g = severity_text(e->sev);
    size_t k = 0;
    while (k < exp.n && !(exp.rows[k].b == b && strcmp(exp.rows[k].g, g) == 0)) k++;
    if (k == exp.n) {
      exp.rows[k].b = b;
      snprintf(exp.rows[k].g, 48, "%s", g);
      exp.rows[k].n = 0;
      exp.n++;
    }
    exp.rows[k].n++;
  }
  qsort(exp.rows, exp.n, sizeof exp.rows[0], cmp_hrow);
  ASSERT_EQ_INT(got.n, exp.n);
  for (size_t i = 0; i < exp.n; i++) {
    ASSERT_EQ_U64(got.rows[i].b, exp.rows[i].b);
    ASSERT_EQ_STR(got.rows[i].g, exp.rows[i].g);
    ASSERT_EQ_U64(got.rows[i].n, exp.rows[i].n);
  }
}

static void check_scan(store *s, const store_filter *f, const int *want, size_t nwant) {
  int *byseq = malloc((nwant + 1) * sizeof *byseq);
  memcpy(byseq, want, nwant * sizeof *byseq);
  qsort(byseq, nwant, sizeof *byseq, cmp_seq);
  uint64_t after = 0;
  size_t got = 0;
  for (int pages = 0; pages < 5000; pages++) {
    tres r;
    uint64_t last = 0;
    ASSERT_EQ_INT(tscan(s, f, after, 13, &r, &last), 0);
    for (size_t i = 0; i < r.n; i++) {
      ASSERT(got < nwant);
      ASSERT_EQ_U64(r.seq[i], D->seq[byseq[got]]);
      got++;
    }
    ASSERT(last >= after);
    if (r.n == 0) {
      ASSERT_EQ_U64(last, store_committed_seq(s)); /* examined everything */
      break;
    }
    after = last;
  }
  ASSERT_EQ_U64(got, nwant);
  free(byseq);
}

/* All checks of one filter. */
static void check_filter(store *s, const store_filter *f, const char *what) {
  static int want[NEV];
  size_t nwant = 0;
  for (int i = 0; i < NEV; i++)
    if (matches(f, i)) want[nwant++] = i;
  qsort(want, nwant, sizeof want[0], cmp_order_asc);
  uint64_t count = 0;
  ASSERT_EQ_INT(store_count(s, f, &count), 0);
  if (count != nwant) fprintf(stderr, "filter %s: count %" PRIu64 " want %zu\n", what, count, nwant);
  ASSERT_EQ_U64(count, nwant);
  size_t limit = nwant > 300 ? 97 : 7;
  check_paging(s, f, 0, limit, want, nwant);
  check_paging(s, f, 1, limit, want, nwant);
  check_histogram(s, f, want, nwant, STORE_GROUP_NONE);
  check_histogram(s, f, want, nwant, STORE_GROUP_TYPE);
  check_histogram(s, f, want, nwant, STORE_GROUP_SEVERITY);
  check_histogram(s, f, want, nwant, STORE_GROUP_SOURCE);
  check_scan(s, f, want, nwant);
}

static store_filter F(void) {
  store_filter f;
  store_filter_init(&f);
  return f;
}

static void label(store_filter *f, const char *k, const char *v) {
  f->labels[f->nlabels].key = k;
  f->labels[f->nlabels].value = v;
  f->nlabels++;
}

TEST_IMPL(query_matches_brute_force_for_every_filter) {
  char *dir = test_tmpdir();
  store *s = load(dir);
  store_filter f;
  f = F(); check_filter(s, &f, "all");
  f = F(); f.exact[EVF_TYPE] = "vm.created"; check_filter(s, &f, "type");
  f = F(); f.exact[EVF_TENANT] = "t1"; f.exact[EVF_STREAM] = "s2"; check_filter(s, &f, "tenant+stream");
  f = F(); f.exact[EVF_TAG] = "tag5"; check_filter(s, &f, "tag");
  f = F(); f.exact[EVF_SOURCE] = "host3"; check_filter(s, &f, "source");
  f = F(); f.exact[EVF_CORRELATION_ID] = "job1"; check_filter(s, &f, "correlation_id");
  f = F(); f.exact[EVF_KEY] = "s2.vm.deleted"; check_filter(s, &f, "key");
  f = F(); f.exact[EVF_TYPE] = "no.such.type"; check_filter(s, &f, "missing value");
  f = F(); f.type_prefix = "account."; check_filter(s, &f, "type prefix");
  f = F(); f.type_prefix = "account.admin."; f.min_severity = 13; check_filter(s, &f, "prefix+severity");
  f = F(); f.type_prefix = "vm.created"; check_filter(s, &f, "prefix one value");
  f = F(); f.key_pattern = "*.vm.#"; check_filter(s, &f, "key *.vm.#");
  f = F(); f.key_pattern = "s0.#"; f.exact[EVF_TAG] = "tag7"; check_filter(s, &f, "key s0.# + tag");
  f = F(); f.key_pattern = "#.login"; check_filter(s, &f, "key #.login");
  f = F(); f.key_pattern = "#"; check_filter(s, &f, "key #");
  f = F(); label(&f, "env", "prod"); check_filter(s, &f, "label");
  f = F(); label(&f, "env", "dev"); label(&f, "gw", "g2"); check_filter(s, &f, "two labels");
  f = F(); label(&f, "nokey", "x"); check_filter(s, &f, "missing label");
  f = F(); f.q = "failure"; check_filter(s, &f, "q");
  f = F(); f.q = "failure"; f.type_prefix = "account."; check_filter(s, &f, "q+prefix");
  f = F(); f.q = "fine 24"; f.min_severity = 5; check_filter(s, &f, "q+severity");
  f = F(); f.min_severity = 17; check_filter(s, &f, "severity");
  f = F(); f.since_ns = NOW_NS + 100000000; f.until_ns = NOW_NS + 400000000; check_filter(s, &f, "window");
  f = F(); f.since_ns = NOW_NS + 250000000; f.exact[EVF_TYPE] = "vm.deleted"; f.min_severity = 9;
  check_filter(s, &f, "since+type+severity");
  f = F(); f.until_ns = NOW_NS + 3000000; check_filter(s, &f, "until, tiny window");
  f = F(); f.since_ns = NOW_NS + 2000000000; check_filter(s, &f, "window past everything");
  store_close(s);
  unload();
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

typedef struct got_seq {
  uint64_t seq;
  char id[64];
} got_seq;

static int got_cb(void *arg, uint64_t seq, const record_view *rv) {
  got_seq *g = arg;
  g->seq = seq;
  snprintf(g->id, sizeof g->id, "%.*s", (int)rv->id.n, rv->id.p);
  return 0;
}

TEST_IMPL(query_get_finds_every_id_in_sealed_and_active_segments) {
  char *dir = test_tmpdir();
  store *s = load(dir);
  for (int i = 0; i < NEV; i += 7) {
    got_seq g = {0, ""};
    ASSERT_EQ_INT(store_get(s, D->id[i], strlen(D->id[i]), got_cb, &g), 0);
    ASSERT_EQ_U64(g.seq, D->seq[i]);
    ASSERT_EQ_STR(g.id, D->id[i]);
    uint64_t seq = 0;
    ASSERT_EQ_INT(store_seq_of_id(s, D->id[i], strlen(D->id[i]), &seq), 0);
    ASSERT_EQ_U64(seq, D->seq[i]);
  }
  /* A ULID inside a segment's range that does not exist: change the last character. */
  char fake[32];
  snprintf(fake, sizeof fake, "%s", D->id[1]);
  fake[25] = fake[25] == 'Z' ? 'Y' : 'Z';
  uint64_t seq;
  int rc = store_seq_of_id(s, fake, 26, &seq);
  ASSERT(rc == -ENOENT || (rc == 0 && strcmp(fake, D->id[1]) != 0 && seq != D->seq[1]));
  ASSERT_EQ_INT(store_seq_of_id(s, "cid-3", 5, &seq), -ENOENT); /* 3 % 10 != 0: no such client id */
  store_close(s);
  unload();
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(query_results_are_the_same_before_and_after_sealing) {
  char *dir = test_tmpdir();
  store *s = load(dir);
  store_filter fs[4];
  fs[0] = F();
  fs[1] = F(); fs[1].type_prefix = "account.";
  fs[2] = F(); label(&fs[2], "env", "dev"); fs[2].exact[EVF_SOURCE] = "host2";
  fs[3] = F(); fs[3].key_pattern = "s3.*.#"; fs[3].since_ns = NOW_NS + 500000000;
  uint64_t before[4], after[4];
  for (int i = 0; i < 4; i++) ASSERT_EQ_INT(store_count(s, &fs[i], &before[i]), 0);
  store_close(s); /* the active segment gets sealed at the next open */
  store_options o;
  topts(&o, dir);
  s = topen(&o);
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ_INT(store_count(s, &fs[i], &after[i]), 0);
    ASSERT_EQ_U64(after[i], before[i]);
    check_filter(s, &fs[i], "after sealing");
  }
  store_close(s);
  unload();
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

static int stop_after_two(void *arg, uint64_t seq, const record_view *rv) {
  int *n = arg;
  return ++*n >= 2;
}

TEST_IMPL(query_callback_can_stop_early_and_more_is_set) {
  char *dir = test_tmpdir();
  store *s = load(dir);
  store_filter f = F();
  int n = 0, more = 0;
  store_pos last;
  ASSERT_EQ_INT(store_query(s, &f, 1, 10, NULL, stop_after_two, &n, &last, &more), 0);
  ASSERT_EQ_INT(n, 2);
  ASSERT_EQ_INT(more, 1);
  /* limit 0: nothing delivered, more tells whether anything matches */
  n = 0;
  ASSERT_EQ_INT(store_query(s, &f, 0, 0, NULL, stop_after_two, &n, &last, &more), 0);
  ASSERT_EQ_INT(n, 0);
  ASSERT_EQ_INT(more, 1);
  f.exact[EVF_TAG] = "nothing";
  ASSERT_EQ_INT(store_query(s, &f, 0, 0, NULL, stop_after_two, &n, &last, &more), 0);
  ASSERT_EQ_INT(more, 0);
  f = F();
  ASSERT_EQ_INT(store_histogram(s, &f, 0, STORE_GROUP_NONE, hist_cb, NULL), -EINVAL);
  ASSERT_EQ_INT(store_histogram(s, &f, 1000, (store_group)EVF_TAG, hist_cb, NULL), -EINVAL);
  store_close(s);
  unload();
  test_rmdir_r(dir);
  free(dir);
  return 0;
}
