/* dest_file: the "file" destination (owner: outputs-core) — events as JSON lines (the
 * canonical event JSON, one per line) appended to a file, rotated by size.
 *
 * Members: path (required), max_bytes (rotate when the file would pass it: a number of
 * bytes or "64MiB"; 0 = never; default 0), max_files (rotated files kept: path.1 newest ..
 * path.N; default 5), fsync (true: fdatasync before confirming, the default; false:
 * confirm after write(2)).
 *
 * A batch is written with one write(2) (looped); a failed or short write truncates the file
 * back to where the batch began, so a retry never leaves a torn line. The file is opened
 * lazily in deliver: an unwritable path is a retryable failure (and ends in the dead-letter
 * list once attempts run out), not an error at creation. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "outputs/output.h"
#include "server/config.h"

typedef struct file_dest {
  char *path;
  uint64_t max_bytes;
  uint64_t max_files;
  int fsync;
  int fd;
  uint64_t size;
  buf out;
  const output_env *env;
} file_dest;

/* Parse the members into *d (d may be NULL: check only). Returns 0 or -1 with err. */
static int parse(const json_value *spec, file_dest *d, char *err, size_t errlen) {
  const char *path = NULL;
  uint64_t max_bytes = 0, max_files = 5;
  int fs = 1;
  for (const json_value *m = spec->child; m; m = m->next) {
    if (output_common_member(m->key)) continue;
    if (strcmp(m->key, "path") == 0) {
      if (m->type != JSON_STRING || m->n == 0 || strlen(m->s) != m->n) {
        snprintf(err, errlen, "path: expected a file name");
        return -1;
      }
      path = m->s;
    } else if (strcmp(m->key, "max_bytes") == 0) {
      int64_t n;
      if (m->type == JSON_NUMBER && json_as_int64(m, &n) == 0 && n >= 0) {
        max_bytes = (uint64_t)n;
      } else if (m->type != JSON_STRING || config_parse_size(m->s, &max_bytes) != 0) {
        snprintf(err, errlen, "max_bytes: expected a size (bytes or \"64MiB\")");
        return -1;
      }
    } else if (strcmp(m->key, "max_files") == 0) {
      int64_t n;
      if (m->type != JSON_NUMBER || json_as_int64(m, &n) != 0 || n < 1 || n > 1000) {
        snprintf(err, errlen, "max_files: expected a whole number 1..1000");
        return -1;
      }
      max_files = (uint64_t)n;
    } else if (strcmp(m->key, "fsync") == 0) {
      if (m->type != JSON_TRUE && m->type != JSON_FALSE) {
        snprintf(err, errlen, "fsync: expected true or false");
        return -1;
      }
      fs = m->type == JSON_TRUE;
    } else {
      snprintf(err, errlen, "%s: unknown member for a file output (expected path, max_bytes, "
               "max_files, fsync)", m->key);
      return -1;
    }
  }
  if (!path) {
    snprintf(err, errlen, "path: missing (the file to append JSON lines to)");
    return -1;
  }
  if (d) {
    d->path = strdup(path);
    d->max_bytes = max_bytes;
    d->max_files = max_files;
    d->fsync = fs;
    if (!d->path) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
  }
  return 0;
}

static int file_check(const json_value *spec, char *err, size_t errlen) {
  return parse(spec, NULL, err, errlen);
}

static int file_open(const json_value *spec, const output_env *env, void **state, char *err,
                     size_t errlen) {
  file_dest *d = calloc(1, sizeof *d);
  if (!d) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  d->fd = -1;
  d->env = env;
  buf_init(&d->out);
  if (parse(spec, d, err, errlen) != 0) {
    free(d->path);
    free(d);
    return -1;
  }
  *state = d;
  return 0;
}

/* Open (or reopen) the file for appending. Returns 0 or -errno. */
static int ensure_open(file_dest *d) {
  if (d->fd >= 0) return 0;
  d->fd = open(d->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (d->fd < 0) return -errno;
  struct stat st;
  d->size = fstat(d->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
  return 0;
}

/* path.N-1 -> path.N ... path -> path.1, then a fresh file. Returns 0 or -errno. */
static int rotate(file_dest *d) {
  size_t n = strlen(d->path) + 32;
  char *from = malloc(n), *to = malloc(n);
  if (!from || !to) {
    free(from);
    free(to);
    return -ENOMEM;
  }
  for (uint64_t i = d->max_files; i >= 1; i--) {
    snprintf(to, n, "%s.%llu", d->path, (unsigned long long)i);
    if (i == 1) snprintf(from, n, "%s", d->path);
    else snprintf(from, n, "%s.%llu", d->path, (unsigned long long)(i - 1));
    if (rename(from, to) != 0 && errno != ENOENT) {
      int e = errno;
      free(from);
      free(to);
      return -e;
    }
  }
  free(from);
  free(to);
  close(d->fd);
  d->fd = -1;
  return ensure_open(d);
}

static void file_deliver(void *state, const output_msg *msgs, size_t n, output_result *res) {
  file_dest *d = state;
  int64_t t0 = time_mono_ns();
  res->status = OUTPUT_RETRY;
  res->confirmed = 0;
  res->code = 0;
  res->error[0] = '\0';
  int rc = ensure_open(d);
  if (rc == 0 && d->max_bytes && d->size > 0) {
    uint64_t need = 0;
    for (size_t i = 0; i < n; i++) need += msgs[i].rv.json.n + 1;
    if (d->size + need > d->max_bytes) rc = rotate(d);
  }
  if (rc != 0) {
    snprintf(res->error, sizeof res->error, "%s: %s", d->path, strerror(-rc));
    res->code = -rc;
    goto done;
  }
  buf_clear(&d->out);
  for (size_t i = 0; i < n; i++)
    if (buf_append(&d->out, msgs[i].rv.json.p, msgs[i].rv.json.n) != 0 ||
        buf_putc(&d->out, '\n') != 0) {
      snprintf(res->error, sizeof res->error, "out of memory");
      goto done;
    }
  size_t off = 0;
  while (off < d->out.len) {
    ssize_t w = write(d->fd, d->out.data + off, d->out.len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = w < 0 ? errno : EIO;
      snprintf(res->error, sizeof res->error, "%s: write: %s", d->path, strerror(e));
      res->code = e;
      /* No torn line: cut the file back to where this batch began. */
      if (off && ftruncate(d->fd, (off_t)d->size) != 0) {
        close(d->fd);
        d->fd = -1;
      }
      goto done;
    }
    off += (size_t)w;
  }
  if (d->fsync && fdatasync(d->fd) != 0) {
    int e = errno;
    snprintf(res->error, sizeof res->error, "%s: fdatasync: %s", d->path, strerror(e));
    res->code = e;
    close(d->fd); /* after a failed fsync the page cache state is unknown: reopen */
    d->fd = -1;
    goto done;
  }
  d->size += d->out.len;
  res->status = OUTPUT_OK;
  res->confirmed = n;
done:
  if (d->env && d->env->record_attempt) {
    char id[128];
    snprintf(id, sizeof id, "%.*s", (int)msgs[0].rv.id.n, msgs[0].rv.id.p);
    output_attempt a = {.first_seq = msgs[0].seq, .last_seq = msgs[n - 1].seq, .event_id = id,
                        .count = n, .code = res->code, .latency_ns = time_mono_ns() - t0,
                        .ok = res->status == OUTPUT_OK,
                        .error = res->status == OUTPUT_OK ? NULL : res->error};
    d->env->record_attempt(d->env->env_arg, &a);
  }
}

static int file_describe(const json_value *spec, buf *out) {
  for (const json_value *m = spec->child; m; m = m->next) {
    if (output_common_member(m->key)) continue;
    if (buf_putc(out, ',') || json_write_string(out, m->key, m->key_len) || buf_putc(out, ':') ||
        json_write_value(out, m))
      return -1;
  }
  return 0;
}

static void file_close(void *state) {
  file_dest *d = state;
  if (!d) return;
  if (d->fd >= 0) close(d->fd);
  buf_free(&d->out);
  free(d->path);
  free(d);
}

const output_dest_ops output_dest_file = {
    .type = "file",
    .check = file_check,
    .open = file_open,
    .deliver = file_deliver,
    .describe = file_describe,
    .close = file_close,
};
