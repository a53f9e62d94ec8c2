/* tail: rotation-safe file following (see tail.h). */
#include "probe/tail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"

struct tailer {
  char path[1024];
  char state_path[1200];
  int from_start;
  int fd;
  dev_t dev;
  ino_t ino;
  off_t off;
  off_t line_off;     /* file offset of the line being delivered (tail_line_pos) */
  int had_file;       /* a file was followed before, or the path was missing: the next file
                         opened is new and is read from its start */
  int warned;         /* the "cannot open" message was logged */
  buf partial;
  uint64_t rotations, truncations, long_lines;
  /* position to resume from, loaded from the state file */
  int resume_valid;
  unsigned long long resume_dev, resume_ino;
  long long resume_off;
  /* last committed */
  unsigned long long c_dev, c_ino;
  long long c_off;
};

static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

tailer *tail_open(const char *path, int from_start, const char *state_dir) {
  tailer *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  snprintf(t->path, sizeof t->path, "%s", path);
  t->from_start = from_start;
  t->fd = -1;
  t->c_off = -1;
  buf_init(&t->partial);
  if (state_dir && *state_dir) {
    snprintf(t->state_path, sizeof t->state_path, "%s/tail-%016llx.state", state_dir,
             (unsigned long long)fnv1a(path));
    FILE *f = fopen(t->state_path, "r");
    if (f) {
      if (fscanf(f, "%llu %llu %lld", &t->resume_dev, &t->resume_ino, &t->resume_off) == 3) t->resume_valid = 1;
      fclose(f);
    }
  }
  return t;
}

void tail_close(tailer *t) {
  if (!t) return;
  if (t->fd >= 0) close(t->fd);
  buf_free(&t->partial);
  free(t);
}

uint64_t tail_rotations(const tailer *t) { return t->rotations; }
uint64_t tail_truncations(const tailer *t) { return t->truncations; }
uint64_t tail_long_lines(const tailer *t) { return t->long_lines; }

/* Open the file at path; position per resume state / from_start / rotation. */
static void try_open(tailer *t) {
  int fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    t->had_file = 1; /* when it appears, it is a new file: read it from its start */
    if (!t->warned) {
      fprintf(stderr, "eventd-probe: tail %s: %s (retrying)\n", t->path, strerror(errno));
      t->warned = 1;
    }
    return;
  }
  struct stat st;
  if (fstat(fd, &st) < 0) {
    close(fd);
    return;
  }
  t->warned = 0;
  t->fd = fd;
  t->dev = st.st_dev;
  t->ino = st.st_ino;
  off_t pos;
  if (t->resume_valid && t->resume_dev == (unsigned long long)st.st_dev &&
      t->resume_ino == (unsigned long long)st.st_ino && t->resume_off <= (long long)st.st_size)
    pos = (off_t)t->resume_off;
  else if (t->had_file || t->from_start || t->resume_valid)
    pos = 0; /* a new file after rotation (or a different file than last run): all of it */
  else
    pos = st.st_size;
  t->resume_valid = 0;
  t->off = lseek(fd, pos, SEEK_SET) < 0 ? 0 : pos;
  t->had_file = 1;
}

/* Split buffered data into lines. base: the file offset of p[0]. */
static int emit_lines(tailer *t, const char *p, size_t n, off_t base,
                      void (*line)(void *, const char *, size_t), void *ud) {
  int count = 0;
  const char *start = p;
  while (n) {
    const char *nl = memchr(p, '\n', n);
    size_t take = nl ? (size_t)(nl - p) : n;
    /* where the line delivered next starts: before the buffered partial, if any */
    t->line_off = base + (off_t)(p - start) - (off_t)t->partial.len;
    if (t->partial.len + take > TAIL_LINE_MAX) { /* deliver in pieces, counted */
      size_t room = TAIL_LINE_MAX - t->partial.len;
      buf_append(&t->partial, p, room);
      line(ud, t->partial.data, t->partial.len);
      count++;
      t->long_lines++;
      buf_clear(&t->partial);
      p += room;
      n -= room;
      continue;
    }
    if (!nl) {
      buf_append(&t->partial, p, n);
      break;
    }
    if (t->partial.len) {
      buf_append(&t->partial, p, take);
      line(ud, t->partial.data, t->partial.len);
      buf_clear(&t->partial);
    } else {
      line(ud, p, take);
    }
    count++;
    p += take + 1;
    n -= take + 1;
  }
  return count;
}

static int drain(tailer *t, void (*line)(void *, const char *, size_t), void *ud) {
  char chunk[65536];
  int count = 0;
  for (;;) {
    ssize_t r = read(t->fd, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    t->off += r;
    count += emit_lines(t, chunk, (size_t)r, t->off - r, line, ud);
  }
  return count;
}

int tail_poll(tailer *t, void (*line)(void *ud, const char *text, size_t len), void *ud) {
  int count = 0;
  if (t->fd < 0) {
    try_open(t);
    if (t->fd < 0) return 0;
  }
  count += drain(t, line, ud);
  struct stat now, cur;
  int exists = stat(t->path, &now) == 0;
  if (fstat(t->fd, &cur) == 0 && exists && now.st_dev == t->dev && now.st_ino == t->ino) {
    if (cur.st_size < t->off) { /* truncated in place */
      t->truncations++;
      fprintf(stderr, "eventd-probe: tail %s: truncated; reading from the start\n", t->path);
      buf_clear(&t->partial);
      lseek(t->fd, 0, SEEK_SET);
      t->off = 0;
      count += drain(t, line, ud);
    }
    return count;
  }
  /* rotated (renamed away, removed, or replaced): the old file was read to its end above */
  if (t->partial.len) {
    t->line_off = t->off - (off_t)t->partial.len;
    line(ud, t->partial.data, t->partial.len);
    buf_clear(&t->partial);
    count++;
  }
  if (exists) {
    t->rotations++;
    close(t->fd);
    t->fd = -1;
    try_open(t);
    if (t->fd >= 0) count += drain(t, line, ud);
  }
  return count;
}

void tail_line_pos(const tailer *t, uint64_t *dev, uint64_t *ino, uint64_t *off) {
  *dev = (uint64_t)t->dev;
  *ino = (uint64_t)t->ino;
  *off = (uint64_t)t->line_off;
}

int tail_commit(tailer *t, char *err, size_t errcap) {
  if (!t->state_path[0] || t->fd < 0) return 0;
  unsigned long long dev = (unsigned long long)t->dev, ino = (unsigned long long)t->ino;
  /* the committed offset excludes a pending partial line, which is read again */
  long long off = (long long)t->off - (long long)t->partial.len;
  if (dev == t->c_dev && ino == t->c_ino && off == t->c_off) return 0;
  char tmp[1300];
  snprintf(tmp, sizeof tmp, "%s.tmp", t->state_path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    snprintf(err, errcap, "write %s: %s", tmp, strerror(errno));
    return -1;
  }
  int ok = fprintf(f, "%llu %llu %lld\n", dev, ino, off) > 0;
  ok = fflush(f) == 0 && ok;
  ok = fsync(fileno(f)) == 0 && ok;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, t->state_path) != 0) {
    snprintf(err, errcap, "write %s: %s", t->state_path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  t->c_dev = dev;
  t->c_ino = ino;
  t->c_off = off;
  return 0;
}
