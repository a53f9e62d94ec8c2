/* Fuzz target for libeventd's spool recovery (the one thing the client library reads back
 * that it did not just write: segment and ACK files left by a crashed process, possibly torn
 * or damaged) and for its JSON checker (application-supplied data/resource text).
 *
 * The first input byte picks the layout of the rest:
 *   0  the rest is the JSON text given to evc_json_check (object and any-value modes)
 *   1  the rest is the whole segment file 0000000000000001.seg, as is
 *   2  a valid segment header, then the rest
 *   3  a valid header, then the rest cut into pieces (u8 length + bytes), each wrapped in a
 *      valid record (length + CRC), then the tail of the input as is
 *   4  like 3, plus an ACK file made from the first 16 bytes of the rest (segment, offset)
 *      with a valid CRC
 * The spool is opened (recovery), every record is read back and acknowledged, a record is
 * appended, and the spool is reopened: the recovered count must equal what was read, and the
 * second open must find exactly the appended record. It must never crash or leak. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client_internal.h"

static char dir[256];

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_file(const char *name, const void *p, size_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) abort();
  if (n && write(fd, p, n) != (ssize_t)n) abort();
  close(fd);
}

static void clear_dir(void) {
  DIR *d = opendir(dir);
  if (d == NULL) abort();
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    unlink(path);
  }
  closedir(d);
}

static int count_cb(void *arg, const char *p, size_t n) {
  (void)p;
  (void)n;
  (*(uint64_t *)arg)++;
  return 0;
}

static void seg_header(evc_buf *b) {
  unsigned char h[16];
  memcpy(h, "EVDSPL01", 8);
  put64(h + 8, 1);
  evc_buf_add(b, h, sizeof h);
}

static void add_record(evc_buf *b, const void *p, size_t n) {
  unsigned char h[8];
  put32(h, (uint32_t)n);
  put32(h + 4, evc_crc32c(evc_crc32c(0, h, 4), p, n));
  evc_buf_add(b, h, 8);
  evc_buf_add(b, p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (dir[0] == '\0') {
    snprintf(dir, sizeof dir, "/tmp/fuzz_client_spool.%d", (int)getpid());
    mkdir(dir, 0700);
  }
  if (size < 1) return 0;
  int mode = data[0] % 5;
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  if (mode == 0) {
    char err[200];
    evc_json_check((const char *)p, n, 1, 64, NULL, NULL, err, sizeof err);
    evc_json_check((const char *)p, n, 0, 8, NULL, NULL, err, sizeof err);
    uint64_t recs;
    evc_spool_scan((const char *)p, n, 0, &recs, NULL, NULL);
    return 0;
  }
  clear_dir();
  evc_buf seg = {0};
  if (mode == 1) {
    evc_buf_add(&seg, p, n);
  } else {
    seg_header(&seg);
    size_t i = 0;
    if (mode >= 3) {
      if (mode == 4 && n >= 16) {
        unsigned char a[32];
        memcpy(a, "EVDACK01", 8);
        memcpy(a + 8, p, 16);
        put32(a + 24, evc_crc32c(0, a, 24));
        put32(a + 28, 0);
        put_file("ACK", a, sizeof a);
        i = 16;
      }
      while (i < n) {
        size_t l = p[i++];
        if (l == 0 || i + l > n) break;
        add_record(&seg, p + i, l);
        i += l;
      }
    }
    evc_buf_add(&seg, p + i, n - i);
  }
  if (seg.len) put_file("0000000000000001.seg", seg.p, seg.len);
  evc_buf_free(&seg);

  evc_spool_opts o = {.dir = dir, .max_bytes = 0, .segment_bytes = 1 << 20, .fsync = 0};
  char err[256];
  uint64_t recovered = 0;
  evc_spool *s = evc_spool_open(&o, &recovered, err, sizeof err);
  if (s == NULL) return 0; /* refused with a message (e.g. unreadable): fine */
  uint64_t read_total = 0;
  for (;;) {
    uint64_t got = 0;
    evc_spos end;
    long r = evc_spool_read_head(s, 100, 1 << 16, count_cb, &got, &end);
    if (r < 0) abort(); /* recovery must leave only valid records */
    if (r == 0) break;
    if ((uint64_t)r != got) abort();
    read_total += got;
    if (evc_spool_ack(s, end, got) != 0) abort();
  }
  if (read_total != recovered) abort();
  if (evc_spool_events(s) != 0) abort();
  if (evc_spool_append(s, "{\"type\":\"x\"}", 12) != 0 || evc_spool_commit(s) != 0) abort();
  evc_spool_close(s);
  s = evc_spool_open(&o, &recovered, err, sizeof err);
  if (s == NULL || recovered != 1) abort();
  evc_spool_close(s);
  return 0;
}
