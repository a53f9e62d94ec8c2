/* Unit tests of access control (src/server/auth.h): tenant subtrees, the role x action table,
 * token creation / hashing / lookup / revocation in the token database, read-filter
 * narrowing, ingest checks, the brute-force slowdown, and the store's tenant_prefix filter. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/auth.h"
#include "store-testutil.h"
#include "test.h"

static auth_principal P(auth_role role, const char *tenant) {
  auth_principal p;
  memset(&p, 0, sizeof p);
  p.role = role;
  snprintf(p.tenant, sizeof p.tenant, "%s", tenant);
  snprintf(p.name, sizeof p.name, "%s@%s", auth_role_name(role), tenant);
  return p;
}

static strv S(const char *s) { return (strv){s, strlen(s)}; }

TEST_IMPL(auth_tenant_subtree_is_the_tenant_and_its_slash_children) {
  ASSERT(auth_tenant_in_subtree("acme", 4, "acme"));
  ASSERT(auth_tenant_in_subtree("acme/prod", 9, "acme"));
  ASSERT(auth_tenant_in_subtree("acme/prod/x", 11, "acme/prod"));
  ASSERT(!auth_tenant_in_subtree("acmex", 5, "acme"));
  ASSERT(!auth_tenant_in_subtree("acm", 3, "acme"));
  ASSERT(!auth_tenant_in_subtree("acme", 4, "acme/prod"));
  ASSERT(!auth_tenant_in_subtree("other", 5, "acme"));
  ASSERT(auth_tenant_in_subtree("anything", 8, "")); /* root contains everything */
  ASSERT(auth_tenant_in_subtree("", 0, ""));
  return 0;
}

TEST_IMPL(auth_tenant_paths_are_checked) {
  const char *good[] = {"", "acme", "acme/prod", "a.b_c-d/E9"};
  const char *bad[] = {"/acme", "acme/", "acme//prod", "ac me", "acme/pr\"od", "é"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    ASSERT(auth_tenant_valid(good[i], strlen(good[i])));
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ASSERT(!auth_tenant_valid(bad[i], strlen(bad[i])));
  char longt[AUTH_TENANT_MAX + 2];
  memset(longt, 'a', sizeof longt - 1);
  longt[sizeof longt - 1] = '\0';
  ASSERT(!auth_tenant_valid(longt, strlen(longt)));
  return 0;
}

TEST_IMPL(auth_role_action_table_matches_the_documented_model) {
  /* rows: admin, domain-admin, user, ingest, read; columns: auth_action order */
  static const int want[5][AUTH_ACT__COUNT] = {
      /* outputs: domain-admin and user too, limited to their own outputs (http_outputs.c) */
      {1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 0, 1, 1, 0}, {1, 1, 1, 0, 1, 0, 0},
      {1, 0, 1, 0, 0, 0, 0}, {0, 1, 1, 0, 0, 0, 0}};
  for (int r = 0; r < AUTH_ROLE__COUNT; r++)
    for (int a = 0; a < AUTH_ACT__COUNT; a++) {
      auth_principal p = P((auth_role)r, r == AUTH_ROLE_ADMIN ? "" : "acme");
      if (auth_allows(&p, (auth_action)a) != want[r][a]) {
        fprintf(stderr, "role %s action %s: got %d\n", auth_role_name((auth_role)r),
                auth_action_name((auth_action)a), auth_allows(&p, (auth_action)a));
        return 1;
      }
    }
  auth_principal root_read = P(AUTH_ROLE_READ, "");
  ASSERT(auth_allows(&root_read, AUTH_ACT_METRICS)); /* read at the root may scrape */
  for (int r = 0; r < AUTH_ROLE__COUNT; r++) ASSERT_EQ_INT(auth_role_parse(auth_role_name((auth_role)r)), r);
  ASSERT_EQ_INT(auth_role_parse("root"), -1);
  return 0;
}

TEST_IMPL(auth_visibility_user_exact_others_subtree) {
  auth_principal u = P(AUTH_ROLE_USER, "acme/prod"), d = P(AUTH_ROLE_DOMAIN_ADMIN, "acme");
  auth_principal a = P(AUTH_ROLE_ADMIN, ""), r = P(AUTH_ROLE_READ, "acme");
  ASSERT(auth_visible(&u, S("acme/prod"), S("s"), S("t")));
  ASSERT(!auth_visible(&u, S("acme/prod/x"), S("s"), S("t")));
  ASSERT(!auth_visible(&u, S("acme"), S("s"), S("t")));
  ASSERT(auth_visible(&d, S("acme/prod/x"), S("s"), S("t")));
  ASSERT(!auth_visible(&d, S("acmex"), S("s"), S("t")));
  ASSERT(auth_visible(&r, S("acme"), S("s"), S("t")));
  ASSERT(auth_visible(&a, S("anything"), S("s"), S("t")));
  auth_principal rs = P(AUTH_ROLE_READ, "acme");
  snprintf(rs.streams, sizeof rs.streams, "billing,audit");
  snprintf(rs.type_prefixes, sizeof rs.type_prefixes, "inv.");
  ASSERT(auth_visible(&rs, S("acme"), S("audit"), S("inv.paid")));
  ASSERT(!auth_visible(&rs, S("acme"), S("other"), S("inv.paid")));
  ASSERT(!auth_visible(&rs, S("acme"), S("billing"), S("vm.created")));
  ASSERT(!auth_visible(&rs, S("acme"), S("bill"), S("inv.paid"))); /* streams are exact */
  return 0;
}

TEST_IMPL(auth_restrict_filter_narrows_and_never_widens) {
  char err[256];
  store_filter f;
  auth_principal d = P(AUTH_ROLE_DOMAIN_ADMIN, "acme");
  store_filter_init(&f);
  ASSERT_EQ_INT(auth_restrict_filter(&d, &f, NULL, err, sizeof err), 0);
  ASSERT_EQ_STR(f.tenant_prefix, "acme");
  ASSERT(f.until_ns > f.since_ns);
  store_filter_init(&f);
  f.exact[EVF_TENANT] = "other"; /* asking outside the subtree: matches nothing, no error */
  ASSERT_EQ_INT(auth_restrict_filter(&d, &f, NULL, err, sizeof err), 0);
  ASSERT(f.until_ns <= f.since_ns);
  auth_principal u = P(AUTH_ROLE_USER, "acme/prod");
  store_filter_init(&f);
  ASSERT_EQ_INT(auth_restrict_filter(&u, &f, NULL, err, sizeof err), 0);
  ASSERT_EQ_STR(f.exact[EVF_TENANT], "acme/prod");
  ASSERT(f.tenant_prefix == NULL);
  store_filter_init(&f);
  f.exact[EVF_TENANT] = "acme/prod/x"; /* a user does not see sub-tenants */
  ASSERT_EQ_INT(auth_restrict_filter(&u, &f, NULL, err, sizeof err), 0);
  ASSERT(f.until_ns <= f.since_ns);
  auth_principal a = P(AUTH_ROLE_ADMIN, "");
  store_filter_init(&f);
  ASSERT_EQ_INT(auth_restrict_filter(&a, &f, NULL, err, sizeof err), 0);
  ASSERT(f.tenant_prefix == NULL && f.exact[EVF_TENANT] == NULL && f.until_ns > f.since_ns);
  /* stream restrictions: one is applied, several need an explicit stream= */
  auth_principal r1 = P(AUTH_ROLE_READ, ""), r2 = P(AUTH_ROLE_READ, "");
  snprintf(r1.streams, sizeof r1.streams, "billing");
  snprintf(r2.streams, sizeof r2.streams, "billing,audit");
  store_filter_init(&f);
  ASSERT_EQ_INT(auth_restrict_filter(&r1, &f, NULL, err, sizeof err), 0);
  ASSERT_EQ_STR(f.exact[EVF_STREAM], "billing");
  store_filter_init(&f);
  ASSERT_EQ_INT(auth_restrict_filter(&r2, &f, NULL, err, sizeof err), -1);
  ASSERT(strstr(err, "stream=") != NULL);
  store_filter_init(&f);
  f.exact[EVF_STREAM] = "audit";
  ASSERT_EQ_INT(auth_restrict_filter(&r2, &f, NULL, err, sizeof err), 0);
  ASSERT(f.until_ns > f.since_ns);
  /* strings copied into an arena outlive the principal */
  arena ar;
  arena_init(&ar, 1024);
  auth_principal *tmp = malloc(sizeof *tmp);
  *tmp = P(AUTH_ROLE_READ, "acme/dev");
  store_filter_init(&f);
  ASSERT_EQ_INT(auth_restrict_filter(tmp, &f, &ar, err, sizeof err), 0);
  free(tmp);
  ASSERT_EQ_STR(f.tenant_prefix, "acme/dev");
  arena_free(&ar);
  return 0;
}

TEST_IMPL(auth_check_event_forces_or_refuses_the_tenant) {
  char field[64], reason[256];
  event ev;
  auth_principal i = P(AUTH_ROLE_INGEST, "acme");
  memset(&ev, 0, sizeof ev);
  ev.f[EVF_TYPE] = S("t");
  ASSERT_EQ_INT(auth_check_event(&i, &ev, 0, field, sizeof field, reason, sizeof reason), 0);
  ASSERT_EQ_MEM(ev.f[EVF_TENANT].p, ev.f[EVF_TENANT].n, "acme");
  ev.f[EVF_TENANT] = S("acme/prod");
  ASSERT_EQ_INT(auth_check_event(&i, &ev, 1, field, sizeof field, reason, sizeof reason), 0);
  ev.f[EVF_TENANT] = S("acmex");
  ASSERT_EQ_INT(auth_check_event(&i, &ev, 1, field, sizeof field, reason, sizeof reason), -1);
  ASSERT_EQ_STR(field, "tenant");
  ASSERT(strstr(reason, "'acmex'") != NULL);
  auth_principal u = P(AUTH_ROLE_USER, "acme");
  ev.f[EVF_TENANT] = S("acme/prod");
  ASSERT_EQ_INT(auth_check_event(&u, &ev, 1, field, sizeof field, reason, sizeof reason), -1);
  auth_principal a = P(AUTH_ROLE_ADMIN, "");
  ev.f[EVF_TENANT] = S("default"); /* what event_from_json defaults to */
  ASSERT_EQ_INT(auth_check_event(&a, &ev, 0, field, sizeof field, reason, sizeof reason), 0);
  ASSERT_EQ_MEM(ev.f[EVF_TENANT].p, ev.f[EVF_TENANT].n, "default");
  auth_principal t = P(AUTH_ROLE_INGEST, "acme");
  snprintf(t.type_prefixes, sizeof t.type_prefixes, "inv.,acct.");
  ev.f[EVF_TENANT] = S("acme");
  ev.f[EVF_TYPE] = S("acct.login");
  ASSERT_EQ_INT(auth_check_event(&t, &ev, 1, field, sizeof field, reason, sizeof reason), 0);
  ev.f[EVF_TYPE] = S("vm.created");
  ASSERT_EQ_INT(auth_check_event(&t, &ev, 1, field, sizeof field, reason, sizeof reason), -1);
  ASSERT_EQ_STR(field, "type");
  return 0;
}

TEST_IMPL(auth_loopback_addresses) {
  ASSERT(auth_host_is_loopback("127.0.0.1"));
  ASSERT(auth_host_is_loopback("127.1.2.3"));
  ASSERT(auth_host_is_loopback("::1"));
  ASSERT(auth_host_is_loopback("localhost"));
  ASSERT(!auth_host_is_loopback("0.0.0.0"));
  ASSERT(!auth_host_is_loopback("::"));
  ASSERT(!auth_host_is_loopback(""));
  ASSERT(!auth_host_is_loopback("10.0.0.1"));
  ASSERT(!auth_host_is_loopback("127.0.0.1.evil.com"));
  return 0;
}

static int count_cb(void *arg, const auth_token_info *t) {
  (void)t;
  (*(int *)arg)++;
  return 0;
}

TEST_IMPL(auth_db_tokens_are_hashed_looked_up_revoked_and_persist) {
  char *dir = test_tmpdir();
  auth_db *db;
  const char *boot;
  char err[512];
  ASSERT_EQ_INT(auth_db_open(dir, &db, &boot, err, sizeof err), 0);
  ASSERT(boot != NULL);
  struct stat st;
  ASSERT_EQ_INT(stat(boot, &st), 0);
  ASSERT_EQ_INT(st.st_mode & 0777, 0600);
  char admin_tok[128] = "";
  FILE *f = fopen(boot, "r");
  ASSERT(f && fgets(admin_tok, sizeof admin_tok, f));
  fclose(f);
  admin_tok[strcspn(admin_tok, "\n")] = '\0';
  ASSERT_EQ_INT((int)strlen(admin_tok), AUTH_TOKEN_LEN);
  auth_principal admin;
  ASSERT_EQ_INT(auth_db_authenticate(db, admin_tok, strlen(admin_tok), 1, &admin), 0);
  ASSERT_EQ_INT(admin.role, AUTH_ROLE_ADMIN);

  /* create; the secret is not stored anywhere in the database file */
  auth_principal spec = P(AUTH_ROLE_USER, "acme/prod");
  char tok[AUTH_TOKEN_LEN + 1];
  auth_token_info info;
  ASSERT_EQ_INT(auth_db_create(db, &admin, &spec, 5, tok, &info, err, sizeof err), 0);
  ASSERT(strncmp(tok, "evd_", 4) == 0 && strlen(tok) == AUTH_TOKEN_LEN);
  auth_principal got;
  ASSERT_EQ_INT(auth_db_authenticate(db, tok, strlen(tok), 6, &got), 0);
  ASSERT_EQ_STR(got.tenant, "acme/prod");
  ASSERT_EQ_INT(got.role, AUTH_ROLE_USER);
  char wrong[AUTH_TOKEN_LEN + 1];
  memcpy(wrong, tok, sizeof wrong);
  wrong[10] = wrong[10] == 'A' ? 'B' : 'A';
  ASSERT_EQ_INT(auth_db_authenticate(db, wrong, strlen(wrong), 6, &got), -1);
  ASSERT_EQ_INT(auth_db_authenticate(db, tok, strlen(tok) - 1, 6, &got), -1);
  ASSERT_EQ_INT(auth_db_authenticate(db, "", 0, 6, &got), -1);

  /* many tokens: lookup stays exact through table growth */
  char toks[100][AUTH_TOKEN_LEN + 1];
  for (int i = 0; i < 100; i++) {
    auth_principal sp = P(AUTH_ROLE_READ, "acme");
    snprintf(sp.name, sizeof sp.name, "r%d", i);
    ASSERT_EQ_INT(auth_db_create(db, &admin, &sp, 7, toks[i], &info, err, sizeof err), 0);
  }
  for (int i = 0; i < 100; i++) {
    ASSERT_EQ_INT(auth_db_authenticate(db, toks[i], AUTH_TOKEN_LEN, 8, &got), 0);
    char want[16];
    snprintf(want, sizeof want, "r%d", i);
    ASSERT_EQ_STR(got.name, want);
  }

  /* domain admins: only their subtree, never admin tokens */
  auth_principal dad = P(AUTH_ROLE_DOMAIN_ADMIN, "acme");
  auth_principal outside = P(AUTH_ROLE_USER, "other");
  ASSERT_EQ_INT(auth_db_create(db, &dad, &outside, 9, tok, &info, err, sizeof err), -2);
  auth_principal adm2 = P(AUTH_ROLE_ADMIN, "");
  ASSERT_EQ_INT(auth_db_create(db, &dad, &adm2, 9, tok, &info, err, sizeof err), -2);
  auth_principal bad = P(AUTH_ROLE_USER, "acme//x");
  ASSERT_EQ_INT(auth_db_create(db, &admin, &bad, 9, tok, &info, err, sizeof err), -1);
  auth_principal u2 = P(AUTH_ROLE_USER, "other");
  char other_tok[AUTH_TOKEN_LEN + 1];
  ASSERT_EQ_INT(auth_db_create(db, &admin, &u2, 9, other_tok, &info, err, sizeof err), 0);
  int n_admin = 0, n_dad = 0;
  ASSERT_EQ_INT(auth_db_list(db, &admin, count_cb, &n_admin, err, sizeof err), 0);
  ASSERT_EQ_INT(auth_db_list(db, &dad, count_cb, &n_dad, err, sizeof err), 0);
  ASSERT_EQ_INT(n_admin, 103); /* bootstrap, user, 100 read, other */
  ASSERT_EQ_INT(n_dad, 101);   /* the acme subtree */

  /* revoke: invisible ids answer like unknown ones; revoked tokens stop at once */
  ASSERT_EQ_INT(auth_db_revoke(db, &dad, info.p.id, err, sizeof err), -ENOENT);
  ASSERT_EQ_INT(auth_db_revoke(db, &admin, 999999, err, sizeof err), -ENOENT);
  ASSERT_EQ_INT(auth_db_revoke(db, &admin, info.p.id, err, sizeof err), 0);
  ASSERT_EQ_INT(auth_db_authenticate(db, other_tok, AUTH_TOKEN_LEN, 10, &got), -1);
  for (int i = 0; i < 100; i++) /* removal kept the others findable */
    ASSERT_EQ_INT(auth_db_authenticate(db, toks[i], AUTH_TOKEN_LEN, 11, &got), 0);
  size_t active = auth_db_active_count(db);
  auth_db_close(db);

  /* reopen: same tokens, no new bootstrap */
  ASSERT_EQ_INT(auth_db_open(dir, &db, &boot, err, sizeof err), 0);
  ASSERT(boot == NULL);
  ASSERT_EQ_INT((int)auth_db_active_count(db), (int)active);
  ASSERT_EQ_INT(auth_db_authenticate(db, toks[42], AUTH_TOKEN_LEN, 12, &got), 0);
  ASSERT_EQ_INT(auth_db_authenticate(db, other_tok, AUTH_TOKEN_LEN, 12, &got), -1);
  auth_db_close(db);

  /* the database file holds no token text */
  char *path = tpath(dir, "auth.db");
  f = fopen(path, "rb");
  ASSERT(f != NULL);
  static char content[4 << 20];
  size_t n = fread(content, 1, sizeof content, f);
  fclose(f);
  free(path);
  ASSERT(memmem(content, n, toks[42] + 4, 20) == NULL);
  ASSERT(memmem(content, n, admin_tok + 4, 20) == NULL);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

TEST_IMPL(auth_throttle_delays_repeated_failures_and_resets) {
  auth_throttle *t = auth_throttle_new();
  ASSERT(t != NULL);
  long d[10];
  for (int i = 0; i < 10; i++) d[i] = auth_throttle_fail(t, "10.0.0.1", 1000);
  ASSERT(d[0] == 0 && d[1] == 0 && d[2] == 0);
  ASSERT_EQ_INT((int)d[3], 100);
  ASSERT_EQ_INT((int)d[4], 200);
  ASSERT_EQ_INT((int)d[9], 5000); /* bounded */
  ASSERT_EQ_INT((int)auth_throttle_fail(t, "10.0.0.2", 1000), 0); /* per peer */
  auth_throttle_ok(t, "10.0.0.1");
  ASSERT_EQ_INT((int)auth_throttle_fail(t, "10.0.0.1", 2000), 0);
  for (int i = 0; i < 5; i++) auth_throttle_fail(t, "10.0.0.3", 1000);
  /* forgotten after 10 minutes */
  ASSERT_EQ_INT((int)auth_throttle_fail(t, "10.0.0.3", 1000 + 601 * (int64_t)1000000000), 0);
  auth_throttle_free(t);
  return 0;
}

/* ---- the store's tenant_prefix filter ---------------------------------------------------- */

static uint64_t count_of(store *s, const store_filter *f) {
  uint64_t n = 0;
  if (store_count(s, f, &n) != 0) return UINT64_MAX;
  return n;
}

static int hist_sum_cb(void *arg, int64_t b, const char *g, size_t gl, uint64_t c) {
  (void)b, (void)g, (void)gl;
  *(uint64_t *)arg += c;
  return 0;
}

/* Check count, query, histogram and scan of f against the expected count. */
static int check_prefix(store *s, const char *prefix, const char *exact, uint64_t want) {
  store_filter f;
  store_filter_init(&f);
  f.tenant_prefix = prefix;
  f.exact[EVF_TENANT] = exact;
  if (count_of(s, &f) != want) {
    fprintf(stderr, "prefix %s exact %s: count %llu, want %llu\n", prefix, exact ? exact : "-",
            (unsigned long long)count_of(s, &f), (unsigned long long)want);
    return 1;
  }
  tres *r = malloc(sizeof *r);
  store_pos last;
  int more = 0;
  if (tquery(s, &f, 0, 1000, NULL, r, &last, &more) != 0 || r->n != want) {
    fprintf(stderr, "prefix %s: query %zu, want %llu\n", prefix, r->n, (unsigned long long)want);
    free(r);
    return 1;
  }
  uint64_t sl = 0;
  if (tscan(s, &f, 0, 1000, r, &sl) != 0 || r->n != want) {
    fprintf(stderr, "prefix %s: scan %zu, want %llu\n", prefix, r->n, (unsigned long long)want);
    free(r);
    return 1;
  }
  free(r);
  uint64_t hsum = 0;
  if (store_histogram(s, &f, 1000000000, STORE_GROUP_TYPE, hist_sum_cb, &hsum) != 0 || hsum != want) {
    fprintf(stderr, "prefix %s: histogram %llu, want %llu\n", prefix, (unsigned long long)hsum,
            (unsigned long long)want);
    return 1;
  }
  return 0;
}

static int check_all_prefixes(store *s) {
  return check_prefix(s, "acme", NULL, 6) || check_prefix(s, "acme/prod", NULL, 3) ||
         check_prefix(s, "acme/prod/x", NULL, 1) || check_prefix(s, "acmex", NULL, 1) ||
         check_prefix(s, "other", NULL, 2) || check_prefix(s, "nobody", NULL, 0) ||
         check_prefix(s, "acm", NULL, 0) || check_prefix(s, "", NULL, 10) ||
         check_prefix(s, NULL, NULL, 10) || check_prefix(s, "acme", "acme/dev", 2) ||
         check_prefix(s, "acme", "other", 0) || check_prefix(s, "acme/prod", "acme", 0);
}

TEST_IMPL(store_tenant_prefix_filter_matches_the_subtree_only) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  store *s = topen(&o);
  int64_t t0 = 1763700000000000000;
  tev evs[] = {
      {.time_ns = t0 + 1, .tenant = "acme", .type = "a"},
      {.time_ns = t0 + 2, .tenant = "acme/prod", .type = "a"},
      {.time_ns = t0 + 3, .tenant = "acme/prod", .type = "b"},
      {.time_ns = t0 + 4, .tenant = "acme/prod/x", .type = "a"},
      {.time_ns = t0 + 5, .tenant = "acme/dev", .type = "a"},
      {.time_ns = t0 + 6, .tenant = "acme/dev", .type = "c"},
      {.time_ns = t0 + 7, .tenant = "acmex", .type = "a"},
      {.time_ns = t0 + 8, .tenant = "other", .type = "a"},
      {.time_ns = t0 + 9, .tenant = "other", .type = "a"},
      {.time_ns = t0 + 10, .tenant = "default", .type = "a"},
  };
  tappend_ok(s, evs, sizeof evs / sizeof evs[0]);
  ASSERT_EQ_INT(check_all_prefixes(s), 0); /* the active segment's in-memory index */
  store_close(s);
  s = topen(&o); /* reopened: the segment is read back through its index */
  ASSERT_EQ_INT(check_all_prefixes(s), 0);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}
