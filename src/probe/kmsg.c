/* kmsg: /dev/kmsg and replay files (see kmsg.h). */
#include "probe/kmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/timeutil.h"

#define RECORD_MAX 16384

struct kmsg_source {
  int replay;
  int fd;             /* live */
  FILE *file;         /* replay */
  char path[1024];
  char state_path[1100];
  char boot_id[64];
  int have_last;      /* last_seq is meaningful */
  uint64_t last_seq;
  uint64_t committed_seq;
  int committed_valid;
  uint64_t skip_upto; /* live resume: skip records with seq <= this */
  int skipping;
  int gap_restart;    /* the next jump is from the restart (records lost while down) */
  int overrun;        /* EPIPE seen: the next jump is an overrun */
  long lineno;        /* replay */
  buf pending;        /* replay: the record being assembled */
  long pending_line;
  char *rbuf, *scratch;
  /* old kernels: a line split into a 'c' record and '+' continuation records is joined */
  buf cont;
  kmsg_record cont_rec; /* header of the first fragment (text/dict unused) */
  int cont_active;
};

/* Read "boot_id X\nseq N\n". Returns 0 when the state matched boot_id and *seq is set. */
static int load_state(const char *path, const char *boot_id, uint64_t *seq) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char b[128] = "";
  unsigned long long s = 0;
  int ok = fscanf(f, "boot_id %127s seq %llu", b, &s) == 2;
  fclose(f);
  if (!ok || strcmp(b, boot_id) != 0) return -1;
  *seq = s;
  return 0;
}

kmsg_source *kmsg_open(const char *path, int replay, const char *state_dir, const char *boot_id, int from_start,
                       char *err, size_t errcap) {
  kmsg_source *k = calloc(1, sizeof *k);
  if (!k) {
    snprintf(err, errcap, "out of memory");
    return NULL;
  }
  k->fd = -1;
  k->replay = replay;
  snprintf(k->path, sizeof k->path, "%s", path);
  snprintf(k->boot_id, sizeof k->boot_id, "%s", boot_id ? boot_id : "");
  k->rbuf = malloc(RECORD_MAX + 1);
  k->scratch = malloc(RECORD_MAX + 2);
  buf_init(&k->pending);
  buf_init(&k->cont);
  if (!k->rbuf || !k->scratch) {
    snprintf(err, errcap, "out of memory");
    kmsg_close(k);
    return NULL;
  }
  if (replay) {
    k->file = fopen(path, "r");
    if (!k->file) {
      snprintf(err, errcap, "open %s: %s", path, strerror(errno));
      kmsg_close(k);
      return NULL;
    }
    return k;
  }
  k->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (k->fd < 0) {
    snprintf(err, errcap, "open %s: %s", path, strerror(errno));
    kmsg_close(k);
    return NULL;
  }
  if (state_dir && *state_dir) {
    snprintf(k->state_path, sizeof k->state_path, "%s/kmsg.state", state_dir);
    uint64_t seq;
    if (load_state(k->state_path, k->boot_id, &seq) == 0) {
      k->skip_upto = seq;
      k->skipping = 1;
      k->have_last = 1;
      k->last_seq = seq;
      k->committed_seq = seq;
      k->committed_valid = 1;
      k->gap_restart = 1;
      return k;
    }
  }
  if (!from_start && lseek(k->fd, 0, SEEK_END) < 0) {
    snprintf(err, errcap, "seek to the end of %s: %s", path, strerror(errno));
    kmsg_close(k);
    return NULL;
  }
  return k;
}

void kmsg_close(kmsg_source *k) {
  if (!k) return;
  if (k->fd >= 0) close(k->fd);
  if (k->file) fclose(k->file);
  buf_free(&k->pending);
  buf_free(&k->cont);
  free(k->rbuf);
  free(k->scratch);
  free(k);
}

int kmsg_fd(const kmsg_source *k) { return k->replay ? -1 : k->fd; }

uint64_t kmsg_last_seq(const kmsg_source *k) { return k->last_seq; }

/* Wall-clock time of a record: boot time (realtime - monotonic) + its timestamp. */
static int64_t record_time(const kmsg_source *k, uint64_t ts_usec) {
  int64_t now = time_now_ns();
  if (k->replay) return now;
  struct timespec mono;
  clock_gettime(CLOCK_MONOTONIC, &mono);
  int64_t boot = now - ((int64_t)mono.tv_sec * NS_PER_SEC + mono.tv_nsec);
  int64_t t = boot + (int64_t)ts_usec * NS_PER_US;
  return t > now ? now : t;
}

/* Deliver the joined fragments of an old kernel's continued line, if any. */
static void flush_cont(kmsg_source *k, const kmsg_callbacks *cb) {
  if (!k->cont_active) return;
  k->cont_active = 0;
  kmsg_record r = k->cont_rec;
  if (buf_putc(&k->cont, '\0') < 0) return;
  r.text = k->cont.data;
  r.text_len = k->cont.len - 1;
  r.ndict = 0;
  if (cb->on_record) cb->on_record(cb->ud, &r, record_time(k, r.ts_usec));
  buf_clear(&k->cont);
}

/* Handle one parsed record: skip what was handled before, report gaps, join continued
 * fragments ('c' then '+' records of old kernels), deliver. */
static void deliver(kmsg_source *k, const kmsg_record *r, const kmsg_callbacks *cb) {
  if (k->skipping) {
    if (r->seq <= k->skip_upto) return;
    k->skipping = 0;
  }
  if (k->have_last && r->seq > k->last_seq + 1) {
    const char *reason = k->overrun ? "overrun" : k->gap_restart ? "restart" : "sequence gap";
    if (cb->on_gap) cb->on_gap(cb->ud, k->last_seq, r->seq, reason);
  }
  k->overrun = 0;
  k->gap_restart = 0;
  if (!k->have_last || r->seq > k->last_seq || k->replay) {
    k->last_seq = r->seq;
    k->have_last = 1;
  }
  if (r->flag == '+' && k->cont_active) {
    buf_append(&k->cont, r->text, r->text_len);
    return;
  }
  flush_cont(k, cb);
  if (r->flag == 'c') {
    k->cont_rec = *r;
    k->cont_active = 1;
    buf_clear(&k->cont);
    buf_append(&k->cont, r->text, r->text_len);
    return;
  }
  if (cb->on_record) cb->on_record(cb->ud, r, record_time(k, r->ts_usec));
}

static int parse_and_deliver(kmsg_source *k, const char *p, size_t n, long line, const kmsg_callbacks *cb) {
  kmsg_record r;
  char why[128];
  if (n > RECORD_MAX) {
    fprintf(stderr, "eventd-probe: %s:%ld: record of %zu bytes is over %d bytes; skipped\n", k->path, line, n,
            RECORD_MAX);
    return 0;
  }
  if (kmsg_parse_record(p, n, k->scratch, &r, why, sizeof why) < 0) {
    if (k->replay) fprintf(stderr, "eventd-probe: %s:%ld: not a kmsg record (%s); skipped\n", k->path, line, why);
    else fprintf(stderr, "eventd-probe: %s: unreadable record (%s); skipped\n", k->path, why);
    return 0;
  }
  deliver(k, &r, cb);
  return 1;
}

/* Replay: assemble records from lines; a record is complete when the next non-continuation
 * line (or the end) is seen. */
static int read_replay(kmsg_source *k, const kmsg_callbacks *cb, int max_records) {
  char *line = NULL;
  size_t cap = 0;
  int delivered = 0;
  for (;;) {
    if (max_records > 0 && delivered >= max_records) {
      free(line);
      return 0;
    }
    ssize_t n = getline(&line, &cap, k->file);
    if (n < 0) break;
    k->lineno++;
    size_t len = (size_t)n;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
    if (len > 0 && line[0] == ' ' && k->pending.len > 0) {
      buf_putc(&k->pending, '\n');
      buf_append(&k->pending, line, len);
      continue;
    }
    if (k->pending.len > 0) {
      delivered += parse_and_deliver(k, k->pending.data, k->pending.len, k->pending_line, cb);
      buf_clear(&k->pending);
    }
    if (len == 0 || line[0] == '#') continue;
    if (line[0] == ' ') {
      fprintf(stderr, "eventd-probe: %s:%ld: continuation line without a record; skipped\n", k->path, k->lineno);
      continue;
    }
    buf_append(&k->pending, line, len);
    k->pending_line = k->lineno;
  }
  free(line);
  if (k->pending.len > 0) {
    parse_and_deliver(k, k->pending.data, k->pending.len, k->pending_line, cb);
    buf_clear(&k->pending);
  }
  flush_cont(k, cb);
  return 1;
}

int kmsg_read(kmsg_source *k, const kmsg_callbacks *cb, int max_records, char *err, size_t errcap) {
  if (k->replay) return read_replay(k, cb, max_records);
  int count = 0;
  for (;;) {
    if (max_records > 0 && count >= max_records) return 0;
    ssize_t n = read(k->fd, k->rbuf, RECORD_MAX);
    if (n < 0) {
      if (errno == EAGAIN) { /* nothing more now: a continued line is complete */
        flush_cont(k, cb);
        return 0;
      }
      if (errno == EINTR) continue;
      if (errno == EPIPE) { /* overrun: position moved to the oldest record */
        k->overrun = 1;
        continue;
      }
      snprintf(err, errcap, "read %s: %s", k->path, strerror(errno));
      return -1;
    }
    if (n == 0) return 0;
    parse_and_deliver(k, k->rbuf, (size_t)n, 0, cb);
    count++;
  }
}

int kmsg_commit(kmsg_source *k, char *err, size_t errcap) {
  if (!k->state_path[0] || !k->have_last) return 0;
  if (k->committed_valid && k->committed_seq == k->last_seq) return 0;
  char tmp[1200];
  snprintf(tmp, sizeof tmp, "%s.tmp", k->state_path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    snprintf(err, errcap, "write %s: %s", tmp, strerror(errno));
    return -1;
  }
  int ok = fprintf(f, "boot_id %s\nseq %llu\n", k->boot_id[0] ? k->boot_id : "-",
                   (unsigned long long)k->last_seq) > 0;
  ok = fflush(f) == 0 && ok;
  ok = fsync(fileno(f)) == 0 && ok;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, k->state_path) != 0) {
    snprintf(err, errcap, "write %s: %s", k->state_path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  k->committed_seq = k->last_seq;
  k->committed_valid = 1;
  return 0;
}
