/* sink: where eventd-probe sends its events, behind one small interface.
 *
 * Output URLs (--output, EVENTD_URL, config "output.url"):
 *   stdout (or "-")               one eventd event object per line (JSON lines)
 *   http://HOST:PORT[/]           eventd, through libeventd (memory queue + background thread
 *   forward://HOST:PORT            + disk spool in <state-dir>/spool, so a down eventd loses
 *                                  nothing); built without libeventd: HTTP POST /v1/events
 *                                  with libcurl, retried, no spool (sink_http.c)
 *   curl+http://HOST:PORT[/]     eventd over plain HTTP with libcurl even when libeventd is
 *                                  built in (sink_http.c: no spool)
 *   kafka://BROKER[,BROKER...]/TOPIC
 *                                  Kafka through librdkafka, one message per event in
 *                                  gala-gopher's event JSON shape (probe_event_write_gala);
 *                                  default topic gala_gopher_event
 *
 * send() hands one event over (0, or -1 with a message: the caller logs it and counts the
 * event as failed); flush() waits until everything handed over is delivered or, for eventd
 * with a spool, durable on disk (0, or -1 on timeout/failure); close() flushes for at most
 * timeout_ms and frees the sink, returning the number of events it could not deliver.
 * Single-threaded use (the probe's main loop). */
#ifndef EVD_PROBE_SINK_H
#define EVD_PROBE_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "probe/probe_event.h"

typedef struct probe_sink probe_sink;

struct probe_sink {
  const char *kind; /* "stdout", "eventd", "http", "kafka" */
  int (*send)(probe_sink *s, const probe_event *ev, char *err, size_t errcap);
  int (*flush)(probe_sink *s, int timeout_ms, char *err, size_t errcap);
  uint64_t (*close)(probe_sink *s, int timeout_ms);
  const probe_host *host;
  uint64_t sent;    /* events handed over successfully */
  uint64_t failed;  /* events send() refused */
  void *impl;
};

typedef struct probe_sink_options {
  const char *spool_dir;   /* eventd: libeventd spool directory (NULL = memory only) */
  const char *kafka_topic; /* default topic when the URL names none */
  int stdout_fd;           /* stdout sink: descriptor to write to (default 1) */
} probe_sink_options;

/* Open the sink for url. Returns it, or NULL with a message in err (unknown scheme, bad
 * URL, library refusal). */
probe_sink *probe_sink_open(const char *url, const probe_host *host, const probe_sink_options *o, char *err,
                            size_t errcap);

/* Constructors (sink_*.c); probe_sink_open dispatches to them. */
probe_sink *probe_sink_stdout_open(const probe_host *host, int fd, char *err, size_t errcap);
probe_sink *probe_sink_http_open(const char *url, const probe_host *host, char *err, size_t errcap);
probe_sink *probe_sink_kafka_open(const char *brokers, const char *topic, const probe_host *host, char *err,
                                  size_t errcap);
/* NULL with "built without libeventd" when the library was not available at build time. */
probe_sink *probe_sink_eventd_open(const char *url, const char *spool_dir, const probe_host *host, char *err,
                                   size_t errcap);

#endif
