/* client_spool.c — libeventd's disk spool: an append-only queue of encoded events in segment
 * files, with an acknowledgement pointer. Only the client's background thread uses it (no
 * locking inside); one process at a time owns a spool directory (flock on dir/LOCK).
 *
 * On-disk format (all integers little-endian):
 *
 *   dir/LOCK                    empty; flock(LOCK_EX) while a client has the spool open
 *   dir/<16 hex digits>.seg     segments, numbered in write order
 *       header   8 bytes "EVDSPL01" + u64 segment number            (16 bytes)
 *       records  u32 len | u32 crc32c(len bytes ‖ payload) | payload (one event's JSON)
 *   dir/ACK                     "EVDACK01" | u64 segment | u64 offset | u32 crc32c(first 24
 *                               bytes) | u32 0                        (32 bytes)
 *
 * Every record before the ACK position has been acknowledged by eventd; everything after it
 * has not and is sent again after a restart. The ACK file is rewritten in place (pwrite of 32
 * bytes) after each acknowledged batch and never fsync'd: if it is lost or torn (bad CRC),
 * recovery starts at the first segment and eventd drops the resent events as duplicates by
 * their ids. Segments wholly before the ACK position are deleted.
 *
 * Recovery (evc_spool_open): list the segments, read ACK, delete segments before it, then
 * validate every record of every remaining segment; the first record that is short or fails
 * its CRC ends the segment (a torn write from a crash) and the file is truncated there. A file
 * without a valid header is renamed <name>.corrupt (kept for inspection, reported in the
 * error text) rather than deleted.
 *
 * Why segment files rather than SQLite: appending a batch is one write() (+ one fdatasync when
 * configured), acknowledging is one 32-byte pwrite, and trimming is unlink(); SQLite needs a
 * transaction with its journal for each insert batch and each delete (measured figures in
 * docs/client.md), and it would bring its own global state into every application that links
 * libeventd. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_internal.h"

#define SEG_MAGIC "EVDSPL01"
#define ACK_MAGIC "EVDACK01"
#define SEG_HDR 16
#define REC_HDR 8
#define REC_MAX (64u * 1024 * 1024)

typedef struct seg {
  uint64_t num;
  uint64_t size;   /* bytes on disk (valid records end) */
  uint64_t events; /* unacknowledged records in it */
} seg;

struct evc_spool {
  char *dir;
  int lock_fd;
  int wfd;              /* write fd of the last segment, -1 if none */
  int rfd;              /* read fd (cached) and the segment it is for */
  uint64_t rfd_num;
  int ack_fd;
  int fsync;
  uint64_t max_bytes, segment_bytes;
  seg *segs;            /* ascending; the last one is written */
  size_t nsegs, capsegs;
  evc_spos ack;         /* first unacknowledged position */
  uint64_t events;      /* unacknowledged events (on disk) */
  uint64_t bytes;       /* segment bytes on disk */
  evc_buf wbuf;         /* appended, not yet committed */
  uint64_t wbuf_events;
  evc_buf rbuf;
  char err[256];
};

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const unsigned char *p) {
  return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int set_err(evc_spool *s, const char *what, const char *path) {
  int e = errno;
  snprintf(s->err, sizeof s->err, "spool: %s %.180s: %.40s", what, path ? path : "", strerror(e));
  errno = e;
  return -1;
}

const char *evc_spool_error(const evc_spool *s) { return s->err; }
uint64_t evc_spool_events(const evc_spool *s) { return s->events + s->wbuf_events; }
uint64_t evc_spool_bytes(const evc_spool *s) { return s->bytes + s->wbuf.len; }

static void seg_path(const evc_spool *s, uint64_t num, char *out, size_t n) {
  snprintf(out, n, "%s/%016" PRIx64 ".seg", s->dir, num);
}

uint64_t evc_spool_scan(const char *p, size_t n, uint64_t from, uint64_t *records,
                        evc_spool_record_fn fn, void *arg) {
  uint64_t off = from, cnt = 0;
  while (off + REC_HDR <= n) {
    const unsigned char *h = (const unsigned char *)p + off;
    uint32_t len = get32(h), crc = get32(h + 4);
    if (len == 0 || len > REC_MAX || len > n - off - REC_HDR) break;
    uint32_t c = evc_crc32c(evc_crc32c(0, h, 4), h + REC_HDR, len);
    if (c != crc) break;
    if (fn && fn(arg, (const char *)h + REC_HDR, len) != 0) break;
    off += REC_HDR + len;
    cnt++;
  }
  if (records) *records = cnt;
  return off;
}

static int segs_push(evc_spool *s, uint64_t num, uint64_t size, uint64_t events) {
  if (s->nsegs == s->capsegs) {
    size_t nc = s->capsegs ? s->capsegs * 2 : 16;
    seg *nv = realloc(s->segs, nc * sizeof *nv);
    if (nv == NULL) return -1;
    s->segs = nv;
    s->capsegs = nc;
  }
  s->segs[s->nsegs++] = (seg){num, size, events};
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Rewrite the ACK file with the current ack position. */
static int write_ack(evc_spool *s) {
  unsigned char a[32];
  memcpy(a, ACK_MAGIC, 8);
  put64(a + 8, s->ack.seg);
  put64(a + 16, s->ack.off);
  put32(a + 24, evc_crc32c(0, a, 24));
  put32(a + 28, 0);
  if (pwrite(s->ack_fd, a, sizeof a, 0) != (ssize_t)sizeof a) return set_err(s, "write", "ACK");
  return 0;
}

static int fsync_dir(evc_spool *s) {
  if (!s->fsync) return 0;
  int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return set_err(s, "open", s->dir);
  int rc = fsync(fd);
  close(fd);
  if (rc != 0) return set_err(s, "fsync", s->dir);
  return 0;
}

/* Start a new segment after the last one and make it the write segment. */
static int new_segment(evc_spool *s) {
  uint64_t num = s->nsegs ? s->segs[s->nsegs - 1].num + 1 : 1;
  char path[4200];
  seg_path(s, num, path, sizeof path);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return set_err(s, "create", path);
  unsigned char h[SEG_HDR];
  memcpy(h, SEG_MAGIC, 8);
  put64(h + 8, num);
  if (write(fd, h, sizeof h) != (ssize_t)sizeof h) {
    set_err(s, "write", path);
    close(fd);
    unlink(path);
    return -1;
  }
  if (segs_push(s, num, SEG_HDR, 0) != 0) {
    close(fd);
    unlink(path);
    errno = ENOMEM;
    return set_err(s, "grow segment list", "");
  }
  if (s->wfd >= 0) close(s->wfd);
  s->wfd = fd;
  s->bytes += SEG_HDR;
  if (s->nsegs == 1) {
    s->ack.seg = num;
    s->ack.off = SEG_HDR;
  }
  return fsync_dir(s);
}

/* Read the whole file at path into b. Returns 0 or -1. */
static int slurp(const char *path, evc_buf *b) {
  b->len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || evc_buf_reserve(b, (size_t)st.st_size) != 0) {
    close(fd);
    return -1;
  }
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t r = read(fd, b->p + got, (size_t)st.st_size - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return -1;
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  close(fd);
  b->len = got;
  return 0;
}

/* Recovery, see the file comment. */
static int recover(evc_spool *s, char *msg, size_t msglen) {
  msg[0] = '\0';
  DIR *d = opendir(s->dir);
  if (d == NULL) return set_err(s, "open", s->dir);
  uint64_t *nums = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    const char *nm = de->d_name;
    if (strlen(nm) != 20 || strcmp(nm + 16, ".seg") != 0) continue;
    char *end;
    uint64_t v = strtoull(nm, &end, 16);
    if (end != nm + 16) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      uint64_t *nv = realloc(nums, cap * sizeof *nv);
      if (nv == NULL) {
        free(nums);
        closedir(d);
        errno = ENOMEM;
        return set_err(s, "list", s->dir);
      }
      nums = nv;
    }
    nums[n++] = v;
  }
  closedir(d);
  if (n) qsort(nums, n, sizeof *nums, cmp_u64);

  /* the ack position */
  int have_ack = 0;
  evc_spos ack = {0, 0};
  unsigned char a[32];
  if (pread(s->ack_fd, a, sizeof a, 0) == (ssize_t)sizeof a && memcmp(a, ACK_MAGIC, 8) == 0 &&
      get32(a + 24) == evc_crc32c(0, a, 24)) {
    ack.seg = get64(a + 8);
    ack.off = get64(a + 16);
    have_ack = 1;
  }

  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    char path[4200];
    seg_path(s, nums[i], path, sizeof path);
    if (have_ack && nums[i] < ack.seg) { /* fully acknowledged */
      if (unlink(path) != 0 && errno != ENOENT) {
        rc = set_err(s, "unlink", path);
        break;
      }
      continue;
    }
    if (slurp(path, &s->rbuf) != 0) {
      rc = set_err(s, "read", path);
      break;
    }
    const unsigned char *p = (const unsigned char *)s->rbuf.p;
    if (s->rbuf.len < SEG_HDR || memcmp(p, SEG_MAGIC, 8) != 0 || get64(p + 8) != nums[i]) {
      char bad[4300];
      snprintf(bad, sizeof bad, "%s.corrupt", path);
      if (s->rbuf.len < SEG_HDR && s->rbuf.len == 0) {
        unlink(path); /* created, crashed before the header: nothing in it */
      } else if (rename(path, bad) != 0) {
        rc = set_err(s, "rename", path);
        break;
      } else {
        size_t l = strlen(msg);
        snprintf(msg + l, msglen - l, "%sbad segment header: kept as %.200s", l ? "; " : "", bad);
      }
      continue;
    }
    uint64_t recs = 0;
    uint64_t end = evc_spool_scan(s->rbuf.p, s->rbuf.len, SEG_HDR, &recs, NULL, NULL);
    uint64_t unacked = recs;
    uint64_t start = SEG_HDR;
    if (have_ack && nums[i] == ack.seg && ack.off > SEG_HDR && ack.off <= end) {
      /* count the records before the ack position; use it only on a record boundary */
      uint64_t before = 0;
      uint64_t at = evc_spool_scan(s->rbuf.p, (size_t)ack.off, SEG_HDR, &before, NULL, NULL);
      if (at == ack.off) {
        unacked = recs - before;
        start = ack.off;
      }
    }
    if (end < s->rbuf.len) {
      if (truncate(path, (off_t)end) != 0) {
        rc = set_err(s, "truncate", path);
        break;
      }
      size_t l = strlen(msg);
      snprintf(msg + l, msglen - l, "%struncated torn tail of %.200s at %" PRIu64 " (%zu bytes)",
               l ? "; " : "", path, end, (size_t)(s->rbuf.len - end));
    }
    if (unacked == 0 && i + 1 < n) { /* nothing left to send in it, and not the last one */
      if (unlink(path) != 0 && errno != ENOENT) {
        rc = set_err(s, "unlink", path);
        break;
      }
      continue;
    }
    if (segs_push(s, nums[i], end, unacked) != 0) {
      errno = ENOMEM;
      rc = set_err(s, "grow segment list", "");
      break;
    }
    if (s->nsegs == 1) {
      s->ack.seg = nums[i];
      s->ack.off = start;
    }
    s->events += unacked;
    s->bytes += end;
  }
  free(nums);
  if (rc != 0) return rc;
  if (s->nsegs) {
    seg *last = &s->segs[s->nsegs - 1];
    char path[4200];
    seg_path(s, last->num, path, sizeof path);
    if (last->size < s->segment_bytes) {
      s->wfd = open(path, O_WRONLY | O_CLOEXEC);
      if (s->wfd < 0) return set_err(s, "open", path);
    }
  }
  if (s->wfd < 0 && new_segment(s) != 0) return -1;
  return write_ack(s);
}

evc_spool *evc_spool_open(const evc_spool_opts *o, uint64_t *recovered, char *err,
                          size_t errlen) {
  evc_spool *s = calloc(1, sizeof *s);
  if (s == NULL) {
    snprintf(err, errlen, "spool: out of memory");
    return NULL;
  }
  s->lock_fd = s->wfd = s->rfd = s->ack_fd = -1;
  s->fsync = o->fsync;
  s->max_bytes = o->max_bytes;
  s->segment_bytes = o->segment_bytes ? o->segment_bytes : 16u * 1024 * 1024;
  s->dir = strdup(o->dir);
  char path[4200];
  if (s->dir == NULL) {
    errno = ENOMEM;
    goto fail_errno;
  }
  if (mkdir(s->dir, 0700) != 0 && errno != EEXIST) {
    set_err(s, "mkdir", s->dir);
    goto fail;
  }
  snprintf(path, sizeof path, "%s/LOCK", s->dir);
  s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->lock_fd < 0) {
    set_err(s, "open", path);
    goto fail;
  }
  if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      snprintf(s->err, sizeof s->err, "spool: %s is in use by another client", s->dir);
      errno = EBUSY;
      goto fail;
    }
    set_err(s, "lock", path);
    goto fail;
  }
  snprintf(path, sizeof path, "%s/ACK", s->dir);
  s->ack_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->ack_fd < 0) {
    set_err(s, "open", path);
    goto fail;
  }
  char msg[1024];
  if (recover(s, msg, sizeof msg) != 0) goto fail;
  s->err[0] = '\0';
  if (msg[0]) snprintf(s->err, sizeof s->err, "spool recovery: %.230s", msg);
  if (recovered) *recovered = s->events;
  return s;
fail_errno:
  set_err(s, "open", o->dir);
fail:;
  int e = errno;
  snprintf(err, errlen, "%s", s->err);
  evc_spool_abandon(s);
  errno = e;
  return NULL;
}

/* Close every descriptor and free memory; no file changes. */
void evc_spool_abandon(evc_spool *s) {
  if (s == NULL) return;
  if (s->wfd >= 0) close(s->wfd);
  if (s->rfd >= 0) close(s->rfd);
  if (s->ack_fd >= 0) close(s->ack_fd);
  if (s->lock_fd >= 0) close(s->lock_fd);
  free(s->segs);
  free(s->dir);
  evc_buf_free(&s->wbuf);
  evc_buf_free(&s->rbuf);
  free(s);
}

void evc_spool_close(evc_spool *s) {
  if (s == NULL) return;
  if (s->wbuf.len) (void)evc_spool_commit(s);
  evc_spool_abandon(s);
}

int evc_spool_append(evc_spool *s, const void *p, size_t n) {
  if (n == 0 || n > REC_MAX) {
    errno = EINVAL;
    snprintf(s->err, sizeof s->err, "spool: record of %zu bytes (limit %u)", n, REC_MAX);
    return -1;
  }
  /* a full write segment is committed (and rolled) first, so that the bound is made of
     whole segments that drop_oldest can remove */
  if (s->wbuf.len && s->segs[s->nsegs - 1].size + s->wbuf.len + REC_HDR + n > s->segment_bytes &&
      evc_spool_commit(s) != 0)
    return -1;
  if (s->max_bytes && evc_spool_bytes(s) + REC_HDR + n > s->max_bytes) {
    errno = ENOSPC;
    return -1;
  }
  unsigned char h[REC_HDR];
  put32(h, (uint32_t)n);
  put32(h + 4, evc_crc32c(evc_crc32c(0, h, 4), p, n));
  if (evc_buf_reserve(&s->wbuf, REC_HDR + n) != 0) {
    s->wbuf.oom = 0;
    errno = ENOMEM;
    return -1;
  }
  evc_buf_add(&s->wbuf, h, REC_HDR);
  evc_buf_add(&s->wbuf, p, n);
  s->wbuf_events++;
  return 0;
}

int evc_spool_commit(evc_spool *s) {
  if (s->wbuf.len == 0) return 0;
  seg *w = &s->segs[s->nsegs - 1];
  size_t done = 0;
  while (done < s->wbuf.len) {
    ssize_t r = pwrite(s->wfd, s->wbuf.p + done, s->wbuf.len - done, (off_t)(w->size + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      char path[4200];
      seg_path(s, w->num, path, sizeof path);
      set_err(s, "write", path);
      /* leave the segment as it was (a later recovery would cut a partial record anyway) */
      int e = errno;
      if (ftruncate(s->wfd, (off_t)w->size) != 0) { /* nothing more to do */
      }
      errno = e;
      return -1;
    }
    done += (size_t)r;
  }
  if (s->fsync && fdatasync(s->wfd) != 0) {
    char path[4200];
    seg_path(s, w->num, path, sizeof path);
    int e = errno;
    set_err(s, "fdatasync", path);
    if (ftruncate(s->wfd, (off_t)w->size) != 0) {
    }
    errno = e;
    return -1;
  }
  w->size += s->wbuf.len;
  w->events += s->wbuf_events;
  s->bytes += s->wbuf.len;
  s->events += s->wbuf_events;
  s->wbuf.len = 0;
  s->wbuf_events = 0;
  if (w->size >= s->segment_bytes) {
    if (new_segment(s) != 0) return -1; /* the records are committed; the next append retries */
  }
  return 0;
}

static int read_fd_for(evc_spool *s, uint64_t num) {
  if (s->rfd >= 0 && s->rfd_num == num) return s->rfd;
  if (s->rfd >= 0) close(s->rfd);
  char path[4200];
  seg_path(s, num, path, sizeof path);
  s->rfd = open(path, O_RDONLY | O_CLOEXEC);
  if (s->rfd < 0) return set_err(s, "open", path);
  s->rfd_num = num;
  return s->rfd;
}

long evc_spool_read_head(evc_spool *s, size_t max_events, size_t max_bytes,
                         evc_spool_record_fn fn, void *arg, evc_spos *end) {
  long got = 0;
  size_t bytes = 0;
  evc_spos pos = s->ack;
  for (size_t i = 0; i < s->nsegs && (size_t)got < max_events; i++) {
    seg *g = &s->segs[i];
    if (g->num < pos.seg) continue;
    if (g->num > pos.seg) {
      pos.seg = g->num;
      pos.off = SEG_HDR;
    }
    while (pos.off < g->size && (size_t)got < max_events) {
      int fd = read_fd_for(s, g->num);
      if (fd < 0) return -1;
      size_t want = (size_t)(g->size - pos.off);
      size_t room = max_bytes > bytes ? max_bytes - bytes : 0;
      if (want > room + REC_HDR) want = room + REC_HDR;
      /* read about what the records still wanted take (their average size in this segment,
         +25 %, at least 64 KiB), not the whole byte budget (4 MiB by default, ~12 times a
         1000-event batch): the loop reads on from where parsing stopped if it was short */
      if (g->events > 0 && g->size > pos.off) {
        uint64_t est = ((g->size - pos.off) / g->events + 1) * (uint64_t)(max_events - (size_t)got);
        est += est / 4;
        if (est < 65536) est = 65536;
        if (want > est) want = (size_t)est;
      }
      if (want < REC_HDR) want = REC_HDR;
      s->rbuf.len = 0;
      if (evc_buf_reserve(&s->rbuf, want) != 0) {
        s->rbuf.oom = 0;
        errno = ENOMEM;
        return set_err(s, "read", "(out of memory)");
      }
      ssize_t r = pread(fd, s->rbuf.p, want, (off_t)pos.off);
      if (r < REC_HDR) return set_err(s, "read", "segment");
      uint32_t len = get32((unsigned char *)s->rbuf.p);
      if (len == 0 || len > REC_MAX || pos.off + REC_HDR + len > g->size) {
        errno = EIO;
        return set_err(s, "corrupt record in", "segment");
      }
      if ((size_t)r < REC_HDR + (size_t)len) {
        if (got > 0) goto done; /* does not fit this batch's byte budget */
        /* a single record larger than the budget: read it whole */
        if (evc_buf_reserve(&s->rbuf, REC_HDR + (size_t)len) != 0) {
          s->rbuf.oom = 0;
          errno = ENOMEM;
          return set_err(s, "read", "(out of memory)");
        }
        r = pread(fd, s->rbuf.p, REC_HDR + (size_t)len, (off_t)pos.off);
        if (r != (ssize_t)(REC_HDR + len)) return set_err(s, "read", "segment");
      }
      /* parse as many whole records as the buffer holds */
      size_t off = 0;
      while (off + REC_HDR <= (size_t)r && (size_t)got < max_events) {
        const unsigned char *h = (const unsigned char *)s->rbuf.p + off;
        uint32_t l = get32(h);
        if (l == 0 || l > REC_MAX || off + REC_HDR + l > (size_t)r) break;
        if (got > 0 && bytes + l > max_bytes) goto done_off;
        if (evc_crc32c(evc_crc32c(0, h, 4), h + REC_HDR, l) != get32(h + 4)) {
          errno = EIO;
          return set_err(s, "CRC mismatch in", "segment");
        }
        if (fn(arg, (const char *)h + REC_HDR, l) != 0) {
          errno = ENOMEM;
          return set_err(s, "read", "(callback)");
        }
        off += REC_HDR + l;
        bytes += l;
        got++;
      }
    done_off:
      pos.off += off;
      if (off == 0) break;
      if (bytes >= max_bytes) goto done;
    }
  }
done:
  *end = pos;
  return got;
}

/* Delete segment index i from disk and from the list. */
static int drop_seg(evc_spool *s, size_t i) {
  char path[4200];
  seg_path(s, s->segs[i].num, path, sizeof path);
  if (s->rfd >= 0 && s->rfd_num == s->segs[i].num) {
    close(s->rfd);
    s->rfd = -1;
  }
  if (unlink(path) != 0 && errno != ENOENT) return set_err(s, "unlink", path);
  s->bytes -= s->segs[i].size;
  s->events -= s->segs[i].events;
  memmove(s->segs + i, s->segs + i + 1, (s->nsegs - i - 1) * sizeof *s->segs);
  s->nsegs--;
  return 0;
}

int evc_spool_ack(evc_spool *s, evc_spos pos, uint64_t nevents) {
  uint64_t left = nevents;
  /* segments wholly before pos, or ending exactly at pos, that are not the write segment */
  while (s->nsegs > 1 && (s->segs[0].num < pos.seg ||
                          (s->segs[0].num == pos.seg && pos.off >= s->segs[0].size))) {
    uint64_t e = s->segs[0].events;
    left = left > e ? left - e : 0;
    if (drop_seg(s, 0) != 0) return -1;
  }
  if (s->nsegs && s->segs[0].num <= pos.seg) {
    uint64_t e = left < s->segs[0].events ? left : s->segs[0].events;
    s->segs[0].events -= e;
    s->events -= e;
  }
  if (s->nsegs && s->segs[0].num > pos.seg) {
    s->ack.seg = s->segs[0].num;
    s->ack.off = SEG_HDR;
  } else {
    s->ack = pos;
  }
  return write_ack(s);
}

uint64_t evc_spool_drop_oldest(evc_spool *s, uint64_t keep_upto) {
  size_t i = 0;
  while (i < s->nsegs && keep_upto && s->segs[i].num <= keep_upto) i++;
  if (s->nsegs < 2 || i >= s->nsegs - 1) return 0; /* never the write segment */
  uint64_t e = s->segs[i].events;
  if (drop_seg(s, i) != 0) return 0;
  if (i == 0) {
    s->ack.seg = s->segs[0].num;
    s->ack.off = SEG_HDR;
    (void)write_ack(s);
  }
  return e;
}

evc_spos evc_spool_tail(const evc_spool *s) {
  const seg *w = &s->segs[s->nsegs - 1];
  return (evc_spos){w->num, w->size};
}
