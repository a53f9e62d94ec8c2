/* journal: segment files — header, record framing, recovery scan.
 *
 * Format summary (docs/storage.md is the reference; little-endian, CRC-32C):
 *
 *   segment file NNNNNNNNNNNNNNNNNNNN.seg  (20-digit base seq: the first record's seq)
 *     0   8  "EVDSEG1\0"      8  4  version 1     12  4  header size 64
 *     16  8  base seq         24 8  created ns    32 28  zero     60  4  CRC of 0..60
 *     64 ..  records back to back:
 *            0 4 magic "EVDR" | 4 4 CRC of bytes 8..20 + payload | 8 4 payload length
 *            12 8 seq          | 20 .. payload (record_encode output)
 *
 * Recovery (journal_scan): a frame is valid when magic, length, bounds, CRC, increasing seq
 * and record_decode all hold. At an invalid frame the scan looks for the next valid frame;
 * if one exists the damaged bytes are a corrupt record in the middle (reported with file name
 * and offset, skipped), otherwise they are a torn tail (reported with the number of bytes;
 * the caller truncates the file at data_end). The scan itself never writes. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "store/store_internal.h"

/* Format a message and hand it to the report's log callback (if any). */
void store_report_logf(store_report *r, int level, const char *fmt, ...) {
  if (!r || !r->log) return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  r->log(r->log_arg, level, msg);
}

/* Write the file name of a segment (ext ".seg") or its index (".idx") into out. */
void seg_file_name(char out[SEG_NAME_MAX], uint64_t base_seq, const char *ext) {
  snprintf(out, SEG_NAME_MAX, "%020" PRIu64 "%s", base_seq, ext);
}

/* 1 if name is exactly 20 digits followed by ext, with *base_seq set (>= 1); else 0. */
int seg_file_parse(const char *name, const char *ext, uint64_t *base_seq) {
  size_t el = strlen(ext);
  if (strlen(name) != SEG_NAME_DIGITS + el || strcmp(name + SEG_NAME_DIGITS, ext) != 0) return 0;
  uint64_t v = 0;
  for (int i = 0; i < SEG_NAME_DIGITS; i++) {
    if (name[i] < '0' || name[i] > '9') return 0;
    unsigned d = (unsigned)(name[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return 0;
    v = v * 10 + d;
  }
  if (v == 0) return 0;
  *base_seq = v;
  return 1;
}

static void seg_header_build(unsigned char h[SEG_HDR_SIZE], uint64_t base_seq, int64_t created_ns) {
  memset(h, 0, SEG_HDR_SIZE);
  memcpy(h, SEG_MAGIC, 8);
  st_u32(h + 8, SEG_VERSION);
  st_u32(h + 12, SEG_HDR_SIZE);
  st_u64(h + 16, base_seq);
  st_u64(h + 24, (uint64_t)created_ns);
  st_u32(h + 60, crc32c_extend(0, h, 60));
}

/* pwrite all of p[0..n) at off; 0 or -errno. */
static int pwrite_all(int fd, const void *p, size_t n, uint64_t off) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = pwrite(fd, c, n, (off_t)off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (w == 0) return -EIO;
    c += w;
    n -= (size_t)w;
    off += (uint64_t)w;
  }
  return 0;
}

/* Create segment base_seq (must not exist), write and fsync its header, fsync the directory.
 * Returns the O_RDWR fd, or -errno (nothing is left behind). */
int journal_create(int dirfd, uint64_t base_seq, int64_t created_ns) {
  char name[SEG_NAME_MAX];
  seg_file_name(name, base_seq, ".seg");
  int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  unsigned char h[SEG_HDR_SIZE];
  seg_header_build(h, base_seq, created_ns);
  int rc = pwrite_all(fd, h, sizeof h, 0);
  if (rc == 0 && fsync(fd) != 0) rc = -errno;
  if (rc == 0 && fsync(dirfd) != 0) rc = -errno;
  if (rc != 0) {
    close(fd);
    unlinkat(dirfd, name, 0);
    return rc;
  }
  return fd;
}

/* Reset an existing segment file to an empty segment (header only) and fsync it. */
int journal_reinit(int fd, uint64_t base_seq, int64_t created_ns) {
  unsigned char h[SEG_HDR_SIZE];
  seg_header_build(h, base_seq, created_ns);
  if (ftruncate(fd, 0) != 0) return -errno;
  int rc = pwrite_all(fd, h, sizeof h, 0);
  if (rc == 0 && fsync(fd) != 0) rc = -errno;
  return rc;
}

/* Fill the frame header in front of the len-byte payload at frame + FRAME_HDR. */
void frame_seal(unsigned char *frame, uint32_t len, uint64_t seq) {
  st_u32(frame, FRAME_MAGIC);
  st_u32(frame + 8, len);
  st_u64(frame + 12, seq);
  uint32_t crc = crc32c_extend(0, frame + 8, 12);
  crc = crc32c_extend(crc, frame + FRAME_HDR, len);
  st_u32(frame + 4, crc);
}

/* Check the frame at frame[0..avail): returns the payload length (and *seq) when the magic,
 * the length bounds and the CRC hold, else -1. Never reads past avail. */
long frame_check(const unsigned char *frame, size_t avail, uint64_t *seq) {
  if (avail < FRAME_HDR || ld_u32(frame) != FRAME_MAGIC) return -1;
  uint32_t len = ld_u32(frame + 8);
  if (len == 0 || len > STORE_RECORD_MAX || len > avail - FRAME_HDR) return -1;
  uint32_t crc = crc32c_extend(0, frame + 8, 12);
  crc = crc32c_extend(crc, frame + FRAME_HDR, len);
  if (crc != ld_u32(frame + 4)) return -1;
  *seq = ld_u64(frame + 12);
  return (long)len;
}

/* ---- scanning ----------------------------------------------------------------------- */

#define SCAN_WINDOW (4u << 20)

typedef struct scanbuf {
  int fd;
  uint64_t size; /* file size */
  unsigned char *p;
  size_t cap;
  uint64_t off; /* file offset of p[0] */
  size_t len;
} scanbuf;

/* Make [pos, pos + need) available in the window when the file has it. Returns the number of
 * bytes available from pos (may be less than need at the end of the file, or more), or
 * -errno. */
static long scan_ensure(scanbuf *b, uint64_t pos, size_t need) {
  if (pos >= b->size) return 0;
  if (pos >= b->off && pos - b->off <= b->len) {
    size_t have = b->len - (size_t)(pos - b->off);
    if (have >= need || pos + have >= b->size) return (long)have;
  }
  size_t want = need > SCAN_WINDOW ? need : SCAN_WINDOW;
  if (want > b->size - pos) want = (size_t)(b->size - pos);
  if (want > b->cap) {
    unsigned char *np = realloc(b->p, want);
    if (!np) return -ENOMEM;
    b->p = np;
    b->cap = want;
  }
  size_t got = 0;
  while (got < want) {
    ssize_t r = pread(b->fd, b->p + got, want - got, (off_t)(pos + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (r == 0) break; /* the file shrank under us: treat as its end */
    got += (size_t)r;
  }
  b->off = pos;
  b->len = got;
  if (got < want) b->size = pos + got; /* short read: the file ends here */
  return (long)got;
}

/* Validate a frame at pos: 1 (valid; *len, *seq, payload pointer set), 0 (invalid), -errno. */
static int scan_frame_at(scanbuf *b, uint64_t pos, uint64_t base_seq, uint64_t last_seq,
                         uint32_t *len_out, uint64_t *seq_out, const unsigned char **payload) {
  long avail = scan_ensure(b, pos, FRAME_HDR);
  if (avail < 0) return (int)avail;
  if (avail < FRAME_HDR) return 0;
  const unsigned char *f = b->p + (pos - b->off);
  if (ld_u32(f) != FRAME_MAGIC) return 0;
  uint32_t len = ld_u32(f + 8);
  uint64_t seq = ld_u64(f + 12);
  if (len == 0 || len > STORE_RECORD_MAX || pos + FRAME_HDR + len > b->size) return 0;
  /* A plausible seq before paying for the CRC: above the previous one and not absurdly far
   * (each record takes at least FRAME_HDR + 1 bytes of the file). */
  if (seq < base_seq || seq <= last_seq) return 0;
  if (seq - last_seq > b->size / (FRAME_HDR + 1) + 1) return 0;
  avail = scan_ensure(b, pos, FRAME_HDR + len);
  if (avail < 0) return (int)avail;
  if ((size_t)avail < FRAME_HDR + len) return 0;
  f = b->p + (pos - b->off);
  uint64_t seq2;
  if (frame_check(f, FRAME_HDR + len, &seq2) != (long)len) return 0;
  record_view rv;
  if (store_record_decode(f + FRAME_HDR, len, &rv) != 0) return 0;
  *len_out = len;
  *seq_out = seq;
  *payload = f + FRAME_HDR;
  return 1;
}

/* Offset of the next valid frame after from, or 0 when there is none (-errno on error). */
static int64_t scan_resync(scanbuf *b, uint64_t from, uint64_t base_seq, uint64_t last_seq) {
  static const unsigned char magic[4] = {'E', 'V', 'D', 'R'};
  uint64_t pos = from;
  while (pos + FRAME_HDR <= b->size) {
    long avail = scan_ensure(b, pos, FRAME_HDR);
    if (avail < 0) return avail;
    if (avail < FRAME_HDR) return 0;
    const unsigned char *w = b->p + (pos - b->off);
    const unsigned char *hit = memmem(w, (size_t)avail, magic, 4);
    if (!hit) {
      pos += (uint64_t)avail - 3; /* a magic may straddle the window end */
      continue;
    }
    uint64_t cand = pos + (uint64_t)(hit - w);
    uint32_t len;
    uint64_t seq;
    const unsigned char *payload;
    int ok = scan_frame_at(b, cand, base_seq, last_seq, &len, &seq, &payload);
    if (ok < 0) return ok;
    if (ok) return (int64_t)cand;
    pos = cand + 1;
  }
  return 0;
}

/* Read and check the segment header; fills res->created_ns and res->header_ok. */
static int scan_header(scanbuf *b, const char *name, uint64_t base_seq, store_report *rep,
                       journal_scan_result *res) {
  long avail = scan_ensure(b, 0, SEG_HDR_SIZE);
  if (avail < 0) return (int)avail;
  const unsigned char *h = b->p;
  if (memcmp(h, SEG_MAGIC, 8) == 0 && ld_u32(h + 8) == SEG_VERSION &&
      ld_u32(h + 12) == SEG_HDR_SIZE && ld_u64(h + 16) == base_seq &&
      ld_u32(h + 60) == crc32c_extend(0, h, 60)) {
    res->header_ok = 1;
    res->created_ns = (int64_t)ld_u64(h + 24);
    return 0;
  }
  res->header_ok = 0;
  rep->corrupt_records++;
  store_report_logf(rep, STORE_LOG_WARN,
                    "segment %s: damaged header at offset 0; base seq %" PRIu64
                    " taken from the file name",
                    name, base_seq);
  return 0;
}

/* See store_internal.h. */
int journal_scan(int fd, const char *name, uint64_t base_seq, journal_record_fn fn, void *arg,
                 store_report *rep, journal_scan_result *res) {
  memset(res, 0, sizeof *res);
  res->last_seq = base_seq - 1;
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  scanbuf b = {fd, (uint64_t)st.st_size, NULL, 0, 0, 0};
  res->file_size = b.size;
  int rc = 0;
  if (b.size < SEG_HDR_SIZE) {
    /* Crash while the segment was being created: nothing acknowledged can be in it. */
    if (b.size > 0) {
      rep->truncated_bytes += b.size;
      store_report_logf(rep, STORE_LOG_WARN,
                        "segment %s: incomplete header (%" PRIu64 " bytes); re-initialized",
                        name, b.size);
    }
    res->data_end = 0;
    return 0;
  }
  rc = scan_header(&b, name, base_seq, rep, res);
  uint64_t pos = SEG_HDR_SIZE, last_seq = base_seq - 1;
  while (rc == 0 && pos < b.size) {
    uint32_t len;
    uint64_t seq;
    const unsigned char *payload;
    int ok = scan_frame_at(&b, pos, base_seq, last_seq, &len, &seq, &payload);
    if (ok < 0) {
      rc = ok;
      break;
    }
    if (ok) {
      if (fn && fn(arg, seq, pos, payload, len) != 0) {
        rc = -ENOMEM;
        break;
      }
      last_seq = seq;
      pos += FRAME_HDR + len;
      continue;
    }
    int64_t next = scan_resync(&b, pos + 1, base_seq, last_seq);
    if (next < 0) {
      rc = (int)next;
      break;
    }
    if (next == 0) {
      uint64_t cut = b.size - pos;
      rep->truncated_bytes += cut;
      store_report_logf(rep, STORE_LOG_WARN,
                        "segment %s: torn tail at offset %" PRIu64 ": %" PRIu64
                        " bytes cut (an incomplete last write)",
                        name, pos, cut);
      b.size = pos;
      break;
    }
    rep->corrupt_records++;
    store_report_logf(rep, STORE_LOG_WARN,
                      "segment %s: corrupt record at offset %" PRIu64 " (%" PRIu64
                      " bytes skipped; the records after it are kept)",
                      name, pos, (uint64_t)next - pos);
    pos = (uint64_t)next;
  }
  free(b.p);
  res->data_end = pos < b.size ? pos : b.size;
  res->last_seq = last_seq;
  return rc;
}
