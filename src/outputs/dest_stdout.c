/* dest_stdout: the "stdout" destination (owner: outputs-core) — events as JSON lines on the
 * daemon's standard output, for debugging and for shipping with other tools (eventd ... |
 * some-shipper). No members of its own. A batch is one write(2) loop; confirmed once
 * written (a pipe gives no stronger promise). EPIPE and other write errors are retried. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outputs/output.h"

typedef struct stdout_dest {
  buf out;
} stdout_dest;

static int stdout_check(const json_value *spec, char *err, size_t errlen) {
  for (const json_value *m = spec->child; m; m = m->next)
    if (!output_common_member(m->key)) {
      snprintf(err, errlen, "%s: unknown member (a stdout output has no members of its own)",
               m->key);
      return -1;
    }
  return 0;
}

static int stdout_open(const json_value *spec, const output_env *env, void **state, char *err,
                       size_t errlen) {
  (void)spec;
  (void)env;
  stdout_dest *d = calloc(1, sizeof *d);
  if (!d) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  buf_init(&d->out);
  *state = d;
  return 0;
}

static void stdout_deliver(void *state, const output_msg *msgs, size_t n, output_result *res) {
  stdout_dest *d = state;
  res->status = OUTPUT_RETRY;
  res->confirmed = 0;
  res->code = 0;
  res->error[0] = '\0';
  buf_clear(&d->out);
  for (size_t i = 0; i < n; i++)
    if (buf_append(&d->out, msgs[i].rv.json.p, msgs[i].rv.json.n) != 0 ||
        buf_putc(&d->out, '\n') != 0) {
      snprintf(res->error, sizeof res->error, "out of memory");
      return;
    }
  size_t off = 0;
  while (off < d->out.len) {
    ssize_t w = write(STDOUT_FILENO, d->out.data + off, d->out.len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = w < 0 ? errno : EIO;
      snprintf(res->error, sizeof res->error, "stdout: %s", strerror(e));
      res->code = e;
      return;
    }
    off += (size_t)w;
  }
  res->status = OUTPUT_OK;
  res->confirmed = n;
}

static void stdout_close(void *state) {
  stdout_dest *d = state;
  if (!d) return;
  buf_free(&d->out);
  free(d);
}

const output_dest_ops output_dest_stdout = {
    .type = "stdout",
    .check = stdout_check,
    .open = stdout_open,
    .deliver = stdout_deliver,
    .describe = NULL,
    .close = stdout_close,
};
