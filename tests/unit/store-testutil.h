/* Helpers shared by the store's unit tests (test-journal.c, test-index.c, test-query.c,
 * test-store.c): building record payloads, opening stores, appending and waiting. */
#ifndef EVD_STORE_TESTUTIL_H
#define EVD_STORE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "store/store.h"

/* What a test event holds; NULL strings are absent. */
typedef struct tev {
  const char *id; /* client id or NULL */
  int64_t time_ns;
  int sev;
  const char *tenant, *stream, *type, *key, *tag, *source, *corr, *msg;
  const char *lk[2], *lv[2]; /* up to two labels */
} tev;

/* Append the record payload of e to out (record_encode). Aborts on failure. */
void tev_encode(const tev *e, buf *out);
/* A store_options with dir and the test log collector set (log lines are kept in the
 * collector; see tlog_*). */
void topts(store_options *o, const char *dir);
store *topen(const store_options *o);
/* Append one batch made of n events and wait for its completion; returns the status.
 * When b_out is given, the completed batch is handed out (caller frees). */
int tappend(store *s, const tev *evs, size_t n, store_batch **b_out);
/* Append and expect success: returns the batch's first seq. */
uint64_t tappend_ok(store *s, const tev *evs, size_t n);

/* Log collector: every line logged by stores opened with topts. */
void tlog_clear(void);
int tlog_contains(const char *needle); /* 1 if any line contains needle */
void tlog_dump(void);

/* Query helpers: collect seqs matching f (ascending/descending), with cursor paging. */
typedef struct tres {
  uint64_t seq[4096];
  int64_t time[4096];
  char id[4096][32];
  size_t n;
} tres;
int tquery(store *s, const store_filter *f, int desc, size_t limit, const store_pos *after,
           tres *r, store_pos *last, int *more);

/* store_scan_seq into r. */
int tscan(store *s, const store_filter *f, uint64_t after, size_t limit, tres *r, uint64_t *last);

/* Path helpers. */
char *tpath(const char *dir, const char *name); /* malloc'd dir/name */
uint64_t tfile_size(const char *path);
void tfile_append(const char *path, const void *p, size_t n);
void tfile_poke(const char *path, uint64_t off, const void *p, size_t n);
/* Name of the n-th (0-based) file with extension ext in dir, sorted; NULL if none. */
char *tnth_file(const char *dir, const char *ext, int n);
int tcount_files(const char *dir, const char *ext);

#endif
