/* Unit tests of the outputs core (src/outputs): matching, backoff bounds, spec checks, the
 * metadata database, and the dispatcher's cursor rule (it advances only over confirmed
 * messages) with a scripted destination defined here. */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "outputs/dispatcher.h"
#include "outputs/metadb.h"
#include "outputs/outputs.h"
#include "server/config.h"
#include "store-testutil.h"
#include "test.h"

/* ---- matching and backoff ---- */

TEST_IMPL(outputs_match_any_of_several_patterns) {
  output_spec sp;
  memset(&sp, 0, sizeof sp);
  sp.patterns[0] = "sessiond.#";
  sp.patterns[1] = "*.vm.created";
  sp.npatterns = 2;
  record_view rv;
  memset(&rv, 0, sizeof rv);
  const char *yes[] = {"sessiond", "sessiond.a.b", "x.vm.created"};
  const char *no[] = {"session", "vm.created", "x.y.vm.created", "x.vm.created.z"};
  for (size_t i = 0; i < 3; i++) {
    rv.f[EVF_KEY] = (strv){yes[i], strlen(yes[i])};
    ASSERT(output_key_matches(&sp, &rv));
  }
  for (size_t i = 0; i < 4; i++) {
    rv.f[EVF_KEY] = (strv){no[i], strlen(no[i])};
    ASSERT(!output_key_matches(&sp, &rv));
  }
  sp.npatterns = 0; /* no patterns: everything */
  ASSERT(output_key_matches(&sp, &rv));
  return 0;
}

/* Owner and scope (issue 7): local = the owner exactly, domain = its subtree (not a
 * sibling sharing a prefix), global = everything; the root's domain is everything. */
TEST_IMPL(outputs_scope_limits_records_to_owner_tree) {
  output_spec sp;
  memset(&sp, 0, sizeof sp);
  record_view rv;
  memset(&rv, 0, sizeof rv);
  const char *tenants[] = {"acme", "acme/dev", "acme2", "beta", ""};
  /* expected per scope (local, domain, global) for owner "acme" */
  const int want[3][5] = {{1, 0, 0, 0, 0}, {1, 1, 0, 0, 0}, {1, 1, 1, 1, 1}};
  sp.owner = "acme";
  for (int sc = OUTPUT_SCOPE_LOCAL; sc <= OUTPUT_SCOPE_GLOBAL; sc++) {
    sp.scope = sc;
    for (size_t i = 0; i < 5; i++) {
      rv.f[EVF_TENANT] = (strv){tenants[i], strlen(tenants[i])};
      if (output_scope_matches(&sp, &rv) != want[sc][i])
        TEST_FAIL_("scope %s, tenant '%s': expected %d", outputs_scope_name(sc), tenants[i],
                   want[sc][i]);
    }
  }
  sp.owner = "";
  sp.scope = OUTPUT_SCOPE_DOMAIN;
  rv.f[EVF_TENANT] = (strv){"beta/x", 6};
  ASSERT(output_scope_matches(&sp, &rv));
  sp.scope = OUTPUT_SCOPE_LOCAL;
  ASSERT(!output_scope_matches(&sp, &rv));
  /* spec checks: bad owner, bad scope, a tenant filter outside the scope */
  char err[256];
  const char *bad[][2] = {
      {"{\"name\":\"a\",\"type\":\"stdout\",\"owner\":\"/x\"}", "owner"},
      {"{\"name\":\"a\",\"type\":\"stdout\",\"scope\":\"planet\"}", "scope"},
      {"{\"name\":\"a\",\"type\":\"stdout\",\"owner\":\"acme\",\"tenant\":\"beta\"}", "tenant"},
      {"{\"name\":\"a\",\"type\":\"stdout\",\"owner\":\"acme\",\"scope\":\"local\","
       "\"tenant\":\"acme/dev\"}", "tenant"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    ASSERT(outputs_check_spec(bad[i][0], strlen(bad[i][0]), err, sizeof err) != 0);
    if (!strstr(err, bad[i][1])) TEST_FAIL_("case %zu: '%s' lacks '%s'", i, err, bad[i][1]);
  }
  const char *good = "{\"name\":\"a\",\"type\":\"stdout\",\"owner\":\"acme\","
                     "\"scope\":\"domain\",\"tenant\":\"acme/dev\"}";
  ASSERT_EQ_INT(outputs_check_spec(good, strlen(good), err, sizeof err), 0);
  return 0;
}

TEST_IMPL(outputs_backoff_doubles_within_cap_and_jitter) {
  uint64_t rng = 12345;
  int64_t base = 100 * NS_PER_MS, cap = 5 * NS_PER_SEC;
  int saw_below_full = 0;
  for (uint64_t attempt = 1; attempt <= 80; attempt++) {
    int64_t full = base;
    for (uint64_t i = 1; i < attempt && full < cap; i++) full *= 2;
    if (full > cap) full = cap;
    for (int k = 0; k < 50; k++) {
      int64_t d = output_backoff_ns(base, cap, attempt, &rng);
      ASSERT(d >= full / 2);
      ASSERT(d <= full);
      if (d < full) saw_below_full = 1;
    }
  }
  ASSERT(saw_below_full); /* there is jitter */
  /* A huge attempt number does not overflow. */
  ASSERT(output_backoff_ns(base, cap, UINT64_MAX, &rng) <= cap);
  return 0;
}

TEST_IMPL(outputs_spec_check_names_the_bad_member) {
  char err[256];
  struct {
    const char *json, *needle;
  } bad[] = {
      {"[]", "object"},
      {"{\"type\":\"file\",\"path\":\"/x\"}", "name"},
      {"{\"name\":\"a b\",\"type\":\"file\",\"path\":\"/x\"}", "name"},
      {"{\"name\":\"a\",\"type\":\"carrier-pigeon\"}", "type"},
      {"{\"name\":\"a\",\"type\":\"file\"}", "path"},
      {"{\"name\":\"a\",\"type\":\"file\",\"path\":\"/x\",\"match\":[]}", "match"},
      {"{\"name\":\"a\",\"type\":\"file\",\"path\":\"/x\",\"match\":[\"ok\",\"b#\"]}", "match[1]"},
      {"{\"name\":\"a\",\"type\":\"file\",\"path\":\"/x\",\"min_severity\":\"LOUD\"}", "min_severity"},
      {"{\"name\":\"a\",\"type\":\"file\",\"path\":\"/x\",\"batch\":0}", "batch"},
      {"{\"name\":\"a\",\"type\":\"file\",\"path\":\"/x\",\"retry\":{\"max_attempts\":-1}}", "retry.max_attempts"},
      {"{\"name\":\"a\",\"type\":\"file\",\"path\":\"/x\",\"retry\":{\"base\":\"2s\",\"cap\":\"1s\"}}", "retry.cap"},
      {"{\"name\":\"a\",\"type\":\"file\",\"path\":\"/x\",\"labels\":{\"k\":1}}", "labels.k"},
      {"{\"name\":\"a\",\"type\":\"file\",\"path\":\"/x\",\"wat\":1}", "wat"},
      {"{\"name\":\"a\",\"type\":\"stdout\",\"path\":\"/x\"}", "path"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    ASSERT(outputs_check_spec(bad[i].json, strlen(bad[i].json), err, sizeof err) != 0);
    if (!strstr(err, bad[i].needle)) TEST_FAIL_("case %zu: '%s' lacks '%s'", i, err, bad[i].needle);
  }
  const char *good = "{\"name\":\"a.b-1\",\"type\":\"file\",\"path\":\"/x\",\"match\":\"a.#\","
                     "\"min_severity\":13,\"retry\":{\"base\":0.5,\"cap\":\"1m\",\"max_attempts\":"
                     "\"forever\"},\"batch\":10,\"start\":\"oldest\",\"max_bytes\":\"1MiB\"}";
  ASSERT_EQ_INT(outputs_check_spec(good, strlen(good), err, sizeof err), 0);
  return 0;
}

/* ---- metadb ---- */

static int count_outputs(void *arg, const char *name, const char *spec, size_t len) {
  (void)spec;
  (void)len;
  int *n = arg;
  ASSERT(strcmp(name, *n == 0 ? "a" : "b") == 0);
  (*n)++;
  return 0;
}
static int count_dead(void *arg, const metadb_dead *d) {
  (void)d;
  (*(int *)arg)++;
  return 0;
}
static int count_deliveries(void *arg, const metadb_delivery *d) {
  int *n = arg;
  if (*n == 0) ASSERT_EQ_U64(d->last_seq, 200); /* newest first */
  (*n)++;
  return 0;
}

static int count_rows(void *arg, const metadb_delivery *d) {
  ASSERT(d->response == NULL || strlen(d->response) <= 512);
  (*(int *)arg)++;
  return 0;
}

TEST_IMPL(outputs_metadb_round_trip_survives_reopen) {
  char *dir = test_tmpdir();
  char *path = tpath(dir, "meta.db");
  char err[256];
  metadb *db;
  ASSERT_EQ_INT(metadb_open(path, &db, err, sizeof err), 0);
  ASSERT_EQ_INT(metadb_output_put(db, "b", "{\"name\":\"b\"}", 12), 0);
  ASSERT_EQ_INT(metadb_output_put(db, "a", "{\"name\":\"a\"}", 12), 0);
  ASSERT_EQ_INT(metadb_cursor_put(db, "a", 42), 0);
  ASSERT_EQ_INT(metadb_paused_put(db, "a", 1, 0), 0);
  ASSERT_EQ_INT(metadb_cursor_put(db, "a", 43), 0); /* keeps paused */
  metadb_dead d = {.seq = 7, .event_id = "ev7", .error = "HTTP 500", .attempts = 5, .time_ns = 1};
  ASSERT_EQ_INT(metadb_dead_add(db, "a", &d), 0);
  d.seq = 9;
  ASSERT_EQ_INT(metadb_dead_add(db, "a", &d), 0);
  for (uint64_t i = 1; i <= 200; i++) {
    output_attempt at = {.first_seq = i, .last_seq = i, .event_id = "x", .count = 1, .ok = 1};
    ASSERT_EQ_INT(metadb_history_add(db, "a", &at, (int64_t)i, 10), 0);
  }
  metadb_close(db);

  ASSERT_EQ_INT(metadb_open(path, &db, err, sizeof err), 0);
  int n = 0;
  ASSERT_EQ_INT(metadb_output_each(db, count_outputs, &n), 0);
  ASSERT_EQ_INT(n, 2);
  uint64_t seq = 0;
  int paused = 0;
  ASSERT_EQ_INT(metadb_cursor_get(db, "a", &seq, &paused), 0);
  ASSERT_EQ_U64(seq, 43);
  ASSERT_EQ_INT(paused, 1);
  ASSERT_EQ_INT(metadb_cursor_get(db, "zzz", &seq, &paused), -ENOENT);
  n = 0;
  ASSERT_EQ_INT(metadb_dead_each(db, "a", 7, 100, count_dead, &n), 0);
  ASSERT_EQ_INT(n, 1); /* only seq 9 is after 7 */
  n = 0;
  ASSERT_EQ_INT(metadb_history_each(db, "a", 1000, count_deliveries, &n), 0);
  ASSERT(n >= 10 && n < 10 + 64); /* trimmed to the newest 10 every 64 inserts */
  uint64_t purged = 0;
  ASSERT_EQ_INT(metadb_dead_purge(db, "a", &purged), 0);
  ASSERT_EQ_U64(purged, 2);
  ASSERT_EQ_INT(metadb_output_delete(db, "a"), 0);
  ASSERT_EQ_INT(metadb_cursor_get(db, "a", &seq, &paused), -ENOENT);
  metadb_close(db);
  free(path);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

/* ---- the dispatcher with a scripted destination ---- */

/* The destination confirms at most `prefix` messages per call and fails the next one
 * (retryably) on every other call; it checks that delivery resumes exactly after what it
 * confirmed, and that the stored cursor never passes what it confirmed. */
typedef struct script {
  pthread_mutex_t mu;
  uint64_t confirmed; /* highest seq confirmed */
  uint64_t calls, gaps, ahead;
  char dbpath[512];
} script;

static script g_script; /* the destination's open gets no argument of ours */

static int sc_check(const json_value *spec, char *err, size_t errlen) {
  (void)spec;
  (void)err;
  (void)errlen;
  return 0;
}
static int sc_open(const json_value *spec, const output_env *env, void **state, char *err,
                   size_t errlen) {
  (void)spec;
  (void)env;
  (void)err;
  (void)errlen;
  *state = &g_script;
  return 0;
}
static void sc_deliver(void *state, const output_msg *msgs, size_t n, output_result *res) {
  script *s = state;
  pthread_mutex_lock(&s->mu);
  s->calls++;
  /* Resumes right after the confirmed prefix (or redelivers it: allowed), never skips. */
  uint64_t next = s->confirmed + 1; /* the next kept event: seq s holds event s-1 */
  while ((next - 1) % 5 == 0) next++;
  if (msgs[0].seq > next) s->gaps++;
  for (size_t i = 1; i < n; i++)
    if ((msgs[i].seq - 1) % 5 == 0 || msgs[i].seq <= msgs[i - 1].seq) s->gaps++;
  /* The stored cursor is never ahead of what was confirmed. */
  metadb *db;
  char err[128];
  if (metadb_open(s->dbpath, &db, err, sizeof err) == 0) {
    uint64_t c = 0;
    int p;
    if (metadb_cursor_get(db, ":sc" /* meta.db keys: OWNER:NAME */, &c, &p) == 0 && c > s->confirmed) s->ahead++;
    metadb_close(db);
  }
  size_t ok = s->calls % 2 ? (n < 3 ? n : 3) : n;
  for (size_t i = 0; i < ok; i++)
    if (msgs[i].seq > s->confirmed) s->confirmed = msgs[i].seq;
  res->confirmed = ok;
  res->status = ok == n ? OUTPUT_OK : OUTPUT_RETRY;
  if (ok < n) snprintf(res->error, sizeof res->error, "scripted failure");
  pthread_mutex_unlock(&s->mu);
}
static void sc_close(void *state) { (void)state; }

static const output_dest_ops sc_ops = {.type = "scripted", .check = sc_check, .open = sc_open,
                                       .deliver = sc_deliver, .close = sc_close};

TEST_IMPL(outputs_cursor_advances_only_over_confirmed_messages) {
  char *dir = test_tmpdir();
  store_options so;
  topts(&so, dir);
  store *st = topen(&so);
  memset(&g_script, 0, sizeof g_script);
  pthread_mutex_init(&g_script.mu, NULL);
  snprintf(g_script.dbpath, sizeof g_script.dbpath, "%s/meta.db", dir);
  tev evs[50];
  for (int i = 0; i < 50; i++)
    evs[i] = (tev){.time_ns = 1000 + i, .stream = "s", .type = i % 5 ? "keep" : "drop",
                   .key = i % 5 ? "s.keep" : "s.drop"};
  tappend_ok(st, evs, 50);

  logger lg;
  log_init(&lg, LOG_ERROR);
  outputs_options oo;
  outputs_options_default(&oo);
  oo.data_dir = dir;
  oo.st = st;
  oo.log = &lg;
  oo.retry_base_ns = NS_PER_MS;
  oo.retry_cap_ns = 2 * NS_PER_MS;
  oo.poll_ns = 10 * NS_PER_MS;
  const output_dest_ops *extra[] = {&sc_ops};
  oo.extra_dests = extra;
  oo.nextra_dests = 1;
  output_set *set;
  char err[256];
  ASSERT_EQ_INT(outputs_start(&oo, NULL, 0, &set, err, sizeof err), 0);
  const char *spec = "{\"name\":\"sc\",\"type\":\"scripted\",\"match\":\"s.keep\",\"batch\":8,"
                     "\"start\":\"oldest\"}";
  ASSERT_EQ_INT(outputs_create(set, spec, strlen(spec), err, sizeof err), 0);
  for (int i = 0; i < 500; i++) {
    pthread_mutex_lock(&g_script.mu);
    uint64_t c = g_script.confirmed;
    pthread_mutex_unlock(&g_script.mu);
    if (c == 50) break;
    usleep(10000);
  }
  /* seq 50 is a kept event (49 % 5 != 0) */
  ASSERT_EQ_U64(g_script.confirmed, 50);
  outputs_stop(set);
  ASSERT_EQ_U64(g_script.gaps, 0);
  ASSERT_EQ_U64(g_script.ahead, 0);
  ASSERT(g_script.calls >= 10); /* 40 kept events, at most 8 per call, failures in between */
  outputs_free(set);

  /* The final cursor was flushed at stop. */
  metadb *db;
  ASSERT_EQ_INT(metadb_open(g_script.dbpath, &db, err, sizeof err), 0);
  uint64_t c = 0;
  int paused;
  ASSERT_EQ_INT(metadb_cursor_get(db, ":sc", &c, &paused), 0);
  ASSERT_EQ_U64(c, 50);
  metadb_close(db);
  store_close(st);
  pthread_mutex_destroy(&g_script.mu);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

/* ---- the store's retention guard ---- */

typedef struct guard_state {
  uint64_t need;
  uint64_t skipped_first, skipped_last, skipped_calls;
} guard_state;

static uint64_t guard_need(void *arg) { return ((guard_state *)arg)->need; }
static void guard_skip(void *arg, uint64_t first, uint64_t last) {
  guard_state *g = arg;
  if (!g->skipped_calls) g->skipped_first = first;
  g->skipped_last = last;
  g->skipped_calls++;
}

/* ~6 MB of events in batches of 100 (~1 KB each). */
static void fill_store(store *s, int n) {
  static char msg[1001];
  memset(msg, 'x', 1000);
  tev evs[100];
  for (int done = 0; done < n; done += 100) {
    for (int i = 0; i < 100; i++)
      evs[i] = (tev){.time_ns = 1700000000000000000LL + done + i, .type = "fill", .msg = msg};
    tappend_ok(s, evs, 100);
  }
}

static void guard_run(uint64_t pin_max, guard_state *g, store_stats *st, uint64_t *oldest) {
  char *dir = test_tmpdir();
  store_options o;
  topts(&o, dir);
  o.segment_max_bytes = 1 << 20;
  o.retention_max_bytes = 2u << 20;
  store *s = topen(&o);
  store_set_retention_guard(s, guard_need, guard_skip, g, pin_max);
  fill_store(s, 6000);
  store_get_stats(s, st);
  store_filter f;
  store_filter_init(&f);
  tres r;
  uint64_t last;
  ASSERT_EQ_INT(tscan(s, &f, 0, 1, &r, &last), 0);
  *oldest = r.n ? r.seq[0] : 0;
  store_set_retention_guard(s, NULL, NULL, NULL, 0);
  store_close(s);
  test_rmdir_r(dir);
  free(dir);
}

TEST_IMPL(store_retention_guard_pins_undelivered_segments) {
  guard_state g = {.need = 1}; /* an output still needs everything */
  store_stats st;
  uint64_t oldest;
  guard_run(64u << 20, &g, &st, &oldest);
  ASSERT_EQ_U64(st.retention_dropped_segments, 0);
  ASSERT_EQ_U64(oldest, 1);
  ASSERT_EQ_U64(st.records, 6000);
  ASSERT_EQ_U64(g.skipped_calls, 0);
  /* Once the output has delivered, retention proceeds as usual. */
  guard_state done = {.need = UINT64_MAX};
  guard_run(64u << 20, &done, &st, &oldest);
  ASSERT(st.retention_dropped_segments >= 2);
  ASSERT(oldest > 1);
  ASSERT_EQ_U64(done.skipped_calls, 0);
  return 0;
}

TEST_IMPL(store_retention_guard_past_pin_bound_reports_skipped_range) {
  guard_state g = {.need = 1};
  store_stats st;
  uint64_t oldest;
  guard_run(1u << 20, &g, &st, &oldest);
  ASSERT(st.retention_dropped_segments >= 1);
  ASSERT(g.skipped_calls >= 1);
  ASSERT_EQ_U64(g.skipped_first, 1);
  /* Everything up to the reported end is gone, the next record is the oldest kept. */
  ASSERT_EQ_U64(g.skipped_last + 1, oldest);
  /* The pinned part stays within the bound: more is kept than without a guard would be. */
  ASSERT(st.bytes <= (2u << 20) + (1u << 20) + (1u << 20) + 200000);
  return 0;
}

TEST_IMPL(outputs_metadb_flush_writes_cursors_and_queued_history) {
  char *dir = test_tmpdir();
  char *path = tpath(dir, "meta.db");
  char err[256];
  metadb *db;
  ASSERT_EQ_INT(metadb_open(path, &db, err, sizeof err), 0);
  for (uint64_t i = 1; i <= 30; i++) {
    char resp[600];
    memset(resp, 'r', sizeof resp); /* longer than the 512 bytes kept */
    output_attempt at = {.first_seq = i, .last_seq = i, .event_id = "e", .count = 1,
                         .code = 503, .ok = 0, .response = resp, .response_len = sizeof resp,
                         .error = "HTTP 503"};
    ASSERT_EQ_INT(metadb_history_queue(db, "h", &at, (int64_t)i), 0);
  }
  metadb_cursor cs[2] = {{"h", 30}, {"other", 5}};
  ASSERT_EQ_INT(metadb_flush(db, cs, 2, 20), 0);
  uint64_t seq;
  int paused;
  ASSERT_EQ_INT(metadb_cursor_get(db, "h", &seq, &paused), 0);
  ASSERT_EQ_U64(seq, 30);
  ASSERT_EQ_INT(metadb_cursor_get(db, "other", &seq, &paused), 0);
  ASSERT_EQ_U64(seq, 5);
  int n = 0;
  ASSERT_EQ_INT(metadb_history_each(db, "h", 1000, count_rows, &n), 0);
  ASSERT_EQ_INT(n, 20); /* trimmed to keep = 20 in the same flush */
  /* An empty flush is a no-op. */
  ASSERT_EQ_INT(metadb_flush(db, NULL, 0, 20), 0);
  metadb_close(db);
  free(path);
  test_rmdir_r(dir);
  free(dir);
  return 0;
}

/* ---- the config file's outputs ---- */

TEST_IMPL(outputs_config_yaml_list_becomes_checked_json) {
  evd_config c;
  config_init(&c);
  char err[512];
  const char *y = "outputs:\n"
                  "  retry_base: 50ms\n"
                  "  max_attempts: 7\n"
                  "  list:\n"
                  "    - name: a\n"
                  "      type: file\n"
                  "      path: /tmp/a.jsonl\n"
                  "      match: [\"x.#\", '*.y']\n"
                  "      batch: 10\n"
                  "      fsync: false\n"
                  "      retry: {max_attempts: forever}\n"
                  "    - {name: b, type: stdout, paused: true, min_severity: 13}\n";
  ASSERT_EQ_INT(config_load_yaml(&c, "t.yml", y, strlen(y), err, sizeof err), 0);
  ASSERT_EQ_INT(c.outputs_ndeclared, 2);
  ASSERT_EQ_STR(c.outputs_declared[0],
                "{\"name\":\"a\",\"type\":\"file\",\"path\":\"/tmp/a.jsonl\",\"match\":[\"x.#\","
                "\"*.y\"],\"batch\":10,\"fsync\":false,\"retry\":{\"max_attempts\":\"forever\"}}");
  ASSERT_EQ_STR(c.outputs_declared[1],
                "{\"name\":\"b\",\"type\":\"stdout\",\"paused\":true,\"min_severity\":13}");
  ASSERT_EQ_U64(c.outputs_max_attempts, 7);
  ASSERT_EQ_INT(c.outputs_retry_base_ns, 50 * NS_PER_MS);
  /* --print-config writes a list that loads back to the same JSON. */
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  config_print(&c, f, 1);
  fclose(f);
  evd_config c2;
  config_init(&c2);
  ASSERT_EQ_INT(config_load_yaml(&c2, "p.yml", text, len, err, sizeof err), 0);
  ASSERT_EQ_INT(c2.outputs_ndeclared, 2);
  ASSERT_EQ_STR(c2.outputs_declared[0], c.outputs_declared[0]);
  free(text);
  config_free(&c2);
  config_free(&c);

  /* `outputs:` as the list itself; a bad entry names file, line, index and member. */
  config_init(&c);
  const char *bad = "outputs:\n  - name: ok\n    type: stdout\n  - name: x\n    type: file\n";
  ASSERT(config_load_yaml(&c, "b.yml", bad, strlen(bad), err, sizeof err) != 0);
  ASSERT(strstr(err, "b.yml:4: outputs[1]: path") != NULL);
  config_free(&c);
  config_init(&c);
  const char *dup = "outputs:\n  - {name: a, type: stdout}\n  - {name: a, type: stdout}\n";
  ASSERT(config_load_yaml(&c, "d.yml", dup, strlen(dup), err, sizeof err) != 0);
  ASSERT(strstr(err, "declared twice") != NULL);
  config_free(&c);
  /* --set outputs.list takes a JSON array; "" empties it. */
  config_init(&c);
  ASSERT_EQ_INT(config_set(&c, "outputs.list", "[{\"name\":\"s\",\"type\":\"stdout\"}]", err,
                           sizeof err), 0);
  ASSERT_EQ_INT(c.outputs_ndeclared, 1);
  ASSERT_EQ_INT(config_set(&c, "outputs.list", "", err, sizeof err), 0);
  ASSERT_EQ_INT(c.outputs_ndeclared, 0);
  config_free(&c);
  return 0;
}
