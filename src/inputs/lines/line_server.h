/* line_server: a TCP + UDP server on one address for the message-per-frame socket inputs
 * (JSON lines, syslog). It owns sockets, framing loop, batching, backpressure and metrics;
 * the input supplies how a TCP stream is cut into frames and how a frame becomes an event.
 *
 * TCP: every read, the complete frames in the connection's buffer (up to LS_BATCH_MAX) go
 * into one ingest batch in per-item mode (ingest_set_partial): valid frames are stored,
 * invalid ones are logged (the first of the batch) and counted as rejected. The frames'
 * bytes leave the buffer only once the batch is with the store. Backpressure instead of
 * loss: with LS_MAX_PENDING batches of a connection waiting for the store, or when the
 * store refuses a batch for now (queue full), reading stops (bufferevent_disable EV_READ) and
 * resumes from the completion or a retry timer. A frame longer than the maximum is counted
 * as rejected (too large), logged, and skipped up to the next LF.
 *
 * UDP: the datagrams read in one wake-up (up to LS_BATCH_MAX) are one batch. UDP cannot be
 * slowed down or acknowledged: what the store refuses (queue full) is counted as rejected
 * (overloaded) and logged.
 *
 * Access and limits (src/inputs/sock_guard.h; issue 7): <name>.allow at accept and per
 * datagram; with auth on every batch is sent as the connection's principal (the
 * listener's <name>.tenant, or the token named by the client certificate's CN);
 * limits.socket_rate_per_peer takes one event per frame (TCP: a frame over the budget stays
 * buffered and reading pauses until the budget allows; UDP: dropped and counted); a sweep
 * timer closes connections idle or stuck inside a frame (or a TLS handshake). */
#ifndef EVD_INPUTS_LINE_SERVER_H
#define EVD_INPUTS_LINE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "server/ingest.h"
#include "server/metrics.h"

struct server;
typedef struct line_server line_server;

#define LS_BATCH_MAX 1024 /* frames per batch */
#define LS_MAX_PENDING 4  /* batches per TCP connection waiting for the store */

/* Framing results. */
enum { LS_FRAME_NEED_MORE = 0, LS_FRAME_OK = 1, LS_FRAME_ERROR = -1 };

typedef struct line_input_ops {
  const char *name;         /* "lines", "syslog": logs, the announce line */
  const char *setting;      /* "lines.listen" */
  ingest_input input;       /* metrics label */
  /* Cut the next frame from a TCP stream p[0..len): LS_FRAME_OK with the frame at
   * p[*start .. *start + *flen) and *used bytes consumed; LS_FRAME_NEED_MORE; or
   * LS_FRAME_ERROR with err (the connection is closed). max: the longest frame. */
  int (*frame)(const uint8_t *p, size_t len, size_t max, size_t *start, size_t *flen,
               size_t *used, char *err, size_t errlen);
  /* Add one frame (a TCP frame or a UDP datagram) to b as one event (or one failure).
   * line: 1-based frame number on the connection (0 for UDP). peer: "ADDR:PORT". */
  void (*add)(void *ctx, ingest_batch *b, const char *p, size_t n, size_t line, const char *peer);
  int udp_split_lines;      /* a datagram may hold several LF-separated frames */
} line_input_ops;

/* Start TCP and UDP on listen. With tls_cert and tls_key (PEM; both or neither; tls_prefix
 * names the settings in errors, e.g. "syslog.tls") the TCP side is TLS (RFC 5425 for
 * syslog) and there is no UDP. Returns the server, or NULL with err. */
line_server *line_server_start(struct server *s, const line_input_ops *ops, void *ctx,
                               const char *listen, size_t max_frame, uint64_t max_conns,
                               const char *tls_prefix, const char *tls_cert,
                               const char *tls_key, char *err, size_t errlen);
/* "eventd: NAME listening on ADDR:PORT (TCP and UDP)" (or "(TLS)"). */
void line_server_announce(line_server *ls);
void line_server_stop(line_server *ls);
void line_server_free(line_server *ls);

/* LF framing (a CR before the LF is dropped; empty lines are skipped by the caller). */
int ls_frame_lf(const uint8_t *p, size_t len, size_t max, size_t *start, size_t *flen,
                size_t *used, char *err, size_t errlen);

#endif
