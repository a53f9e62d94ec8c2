/* sink: URL dispatch and the stdout sink (JSON lines). */
#include "probe/sink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"

typedef struct stdout_sink {
  probe_sink base;
  int fd;
  buf line;
} stdout_sink;

/* Write all of p[0..n) to fd. 0 or -1 (errno). */
static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int stdout_send(probe_sink *s, const probe_event *ev, char *err, size_t errcap) {
  stdout_sink *o = (stdout_sink *)s;
  buf_clear(&o->line);
  if (probe_event_write_eventd(ev, s->host, &o->line) < 0 || buf_putc(&o->line, '\n') < 0) {
    snprintf(err, errcap, "out of memory");
    return -1;
  }
  if (write_all(o->fd, o->line.data, o->line.len) < 0) {
    snprintf(err, errcap, "write to stdout: %s", strerror(errno));
    return -1;
  }
  return 0;
}

static int stdout_flush(probe_sink *s, int timeout_ms, char *err, size_t errcap) {
  (void)s, (void)timeout_ms, (void)err, (void)errcap;
  return 0;
}

static uint64_t stdout_close(probe_sink *s, int timeout_ms) {
  stdout_sink *o = (stdout_sink *)s;
  (void)timeout_ms;
  buf_free(&o->line);
  free(o);
  return 0;
}

probe_sink *probe_sink_stdout_open(const probe_host *host, int fd, char *err, size_t errcap) {
  stdout_sink *o = calloc(1, sizeof *o);
  if (!o) {
    snprintf(err, errcap, "out of memory");
    return NULL;
  }
  o->base.kind = "stdout";
  o->base.send = stdout_send;
  o->base.flush = stdout_flush;
  o->base.close = stdout_close;
  o->base.host = host;
  o->fd = fd;
  buf_init(&o->line);
  return &o->base;
}

probe_sink *probe_sink_open(const char *url, const probe_host *host, const probe_sink_options *o, char *err,
                            size_t errcap) {
  if (!url || !*url || strcmp(url, "stdout") == 0 || strcmp(url, "stdout:") == 0 || strcmp(url, "-") == 0)
    return probe_sink_stdout_open(host, o && o->stdout_fd > 0 ? o->stdout_fd : 1, err, errcap);
  if (strncmp(url, "kafka://", 8) == 0) {
    const char *rest = url + 8;
    const char *slash = strchr(rest, '/');
    char brokers[1024];
    const char *topic = (o && o->kafka_topic && *o->kafka_topic) ? o->kafka_topic : "gala_gopher_event";
    size_t bl = slash ? (size_t)(slash - rest) : strlen(rest);
    if (bl == 0 || bl >= sizeof brokers) {
      snprintf(err, errcap, "kafka URL '%s' names no broker (kafka://HOST:PORT[,HOST:PORT]/TOPIC)", url);
      return NULL;
    }
    memcpy(brokers, rest, bl);
    brokers[bl] = '\0';
    if (slash && slash[1]) topic = slash + 1;
    return probe_sink_kafka_open(brokers, topic, host, err, errcap);
  }
  if (strncmp(url, "curl+http://", 12) == 0 || strncmp(url, "curl+https://", 13) == 0)
    return probe_sink_http_open(url + 5, host, err, errcap); /* plain HTTP, no libeventd */
  if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0 || strncmp(url, "forward://", 10) == 0) {
    probe_sink *s = probe_sink_eventd_open(url, o ? o->spool_dir : NULL, host, err, errcap);
    if (s || strncmp(url, "forward://", 10) == 0) return s;
    if (strstr(err, "built without libeventd") == NULL) return NULL;
    return probe_sink_http_open(url, host, err, errcap);
  }
  snprintf(err, errcap, "unknown output '%s' (use stdout, http://HOST:PORT, forward://HOST:PORT or kafka://BROKERS/TOPIC)",
           url);
  return NULL;
}
