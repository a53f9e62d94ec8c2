/* Helpers for the store's unit tests; see store-testutil.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/event.h"
#include "core/record.h"
#include "store-testutil.h"
#include "test.h"

static strv sv(const char *s) {
  strv v = {s, s ? strlen(s) : 0};
  return v;
}

void tev_encode(const tev *e, buf *out) {
  event ev;
  memset(&ev, 0, sizeof ev);
  evd_label labels[2];
  ev.id = sv(e->id);
  ev.time_ns = e->time_ns;
  ev.observed_ns = e->time_ns;
  ev.severity_number = e->sev ? e->sev : 9;
  ev.f[EVF_TENANT] = sv(e->tenant ? e->tenant : "default");
  ev.f[EVF_STREAM] = sv(e->stream ? e->stream : "default");
  ev.f[EVF_TYPE] = sv(e->type ? e->type : "test.event");
  ev.f[EVF_KEY] = sv(e->key);
  ev.f[EVF_TAG] = sv(e->tag);
  ev.f[EVF_SOURCE] = sv(e->source);
  ev.f[EVF_CORRELATION_ID] = sv(e->corr);
  ev.f[EVF_MESSAGE] = sv(e->msg);
  for (int i = 0; i < 2; i++) {
    if (!e->lk[i]) break;
    labels[i].key = sv(e->lk[i]);
    labels[i].value = sv(e->lv[i]);
    ev.nlabels++;
  }
  ev.labels = labels;
  ASSERT_EQ_INT(record_encode(&ev, out), 0);
}

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static buf log_lines = BUF_INIT;

static void tlog(void *arg, int level, const char *msg) {
  (void)arg;
  pthread_mutex_lock(&log_mu);
  buf_printf(&log_lines, "[%d] %s\n", level, msg);
  pthread_mutex_unlock(&log_mu);
  if (getenv("EVD_TEST_LOG")) fprintf(stderr, "store log [%d] %s\n", level, msg);
}

void tlog_clear(void) {
  pthread_mutex_lock(&log_mu);
  buf_clear(&log_lines);
  pthread_mutex_unlock(&log_mu);
}

int tlog_contains(const char *needle) {
  pthread_mutex_lock(&log_mu);
  int r = log_lines.data && strstr(log_lines.data, needle) != NULL;
  pthread_mutex_unlock(&log_mu);
  return r;
}

void tlog_dump(void) {
  pthread_mutex_lock(&log_mu);
  fprintf(stderr, "%s", log_lines.data ? log_lines.data : "(no log lines)\n");
  pthread_mutex_unlock(&log_mu);
}

void topts(store_options *o, const char *dir) {
  store_options_default(o);
  o->dir = dir;
  o->log = tlog;
}

store *topen(const store_options *o) {
  store *s = NULL;
  char err[512];
  if (store_open(o, &s, err, sizeof err) != 0) {
    fprintf(stderr, "store_open: %s\n", err);
    tlog_dump();
    ASSERT(0);
  }
  return s;
}

typedef struct waiter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done, status;
  store_batch *b;
} waiter;

static void wait_cb(void *arg, int status, store_batch *b) {
  waiter *w = arg;
  pthread_mutex_lock(&w->mu);
  w->done = 1;
  w->status = status;
  w->b = b;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

int tappend(store *s, const tev *evs, size_t n, store_batch **b_out) {
  store_batch *b = store_batch_new();
  ASSERT(b != NULL);
  buf p = BUF_INIT;
  for (size_t i = 0; i < n; i++) {
    buf_clear(&p);
    tev_encode(&evs[i], &p);
    ASSERT_EQ_INT(store_batch_add(b, p.data, p.len), 0);
  }
  buf_free(&p);
  waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, NULL};
  int rc = store_append(s, b, wait_cb, &w);
  if (rc != 0) {
    store_batch_free(b);
    return rc;
  }
  pthread_mutex_lock(&w.mu);
  while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
  pthread_mutex_unlock(&w.mu);
  if (b_out)
    *b_out = w.b;
  else
    store_batch_free(w.b);
  return w.status;
}

uint64_t tappend_ok(store *s, const tev *evs, size_t n) {
  store_batch *b = NULL;
  int rc = tappend(s, evs, n, &b);
  if (rc != 0) tlog_dump();
  ASSERT_EQ_INT(rc, 0);
  uint64_t first = n ? store_batch_seq(b, 0) : 0;
  store_batch_free(b);
  return first;
}

static int collect_cb(void *arg, uint64_t seq, const record_view *rv) {
  tres *r = arg;
  ASSERT(r->n < 4096);
  r->seq[r->n] = seq;
  r->time[r->n] = rv->time_ns;
  size_t n = rv->id.n < 31 ? rv->id.n : 31;
  memcpy(r->id[r->n], rv->id.p, n);
  r->id[r->n][n] = '\0';
  r->n++;
  return 0;
}

int tquery(store *s, const store_filter *f, int desc, size_t limit, const store_pos *after,
           tres *r, store_pos *last, int *more) {
  r->n = 0;
  store_pos l;
  int m;
  return store_query(s, f, desc, limit, after, collect_cb, r, last ? last : &l, more ? more : &m);
}

int tscan(store *s, const store_filter *f, uint64_t after, size_t limit, tres *r, uint64_t *last) {
  r->n = 0;
  return store_scan_seq(s, f, after, limit, collect_cb, r, last);
}

char *tpath(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

uint64_t tfile_size(const char *path) {
  struct stat st;
  ASSERT_EQ_INT(stat(path, &st), 0);
  return (uint64_t)st.st_size;
}

void tfile_append(const char *path, const void *p, size_t n) {
  int fd = open(path, O_WRONLY | O_APPEND);
  ASSERT(fd >= 0);
  ASSERT_EQ_INT(write(fd, p, n), (long long)n);
  close(fd);
}

void tfile_poke(const char *path, uint64_t off, const void *p, size_t n) {
  int fd = open(path, O_WRONLY);
  ASSERT(fd >= 0);
  ASSERT_EQ_INT(pwrite(fd, p, n, (off_t)off), (long long)n);
  close(fd);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

char *tnth_file(const char *dir, const char *ext, int n) {
  DIR *d = opendir(dir);
  ASSERT(d != NULL);
  char *names[1024];
  int k = 0;
  struct dirent *e;
  size_t el = strlen(ext);
  while ((e = readdir(d)) != NULL && k < 1024) {
    size_t l = strlen(e->d_name);
    if (l > el && strcmp(e->d_name + l - el, ext) == 0) names[k++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)k, sizeof names[0], cmp_str);
  char *r = n < k ? names[n] : NULL;
  for (int i = 0; i < k; i++)
    if (i != n) free(names[i]);
  return r;
}

int tcount_files(const char *dir, const char *ext) {
  int k = 0;
  char *p;
  while ((p = tnth_file(dir, ext, k)) != NULL) {
    free(p);
    k++;
  }
  return k;
}
