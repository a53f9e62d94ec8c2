/* Fuzz target for libeventd's HTTP answer parsing (client_http.c): the input is what the
 * "server" sends back — status line, headers, Content-Length or chunked body, garbage — over
 * a socketpair, followed by end of stream. evc_http_post must return (0 with a status, or -1
 * with a message) without crashing, leaking or reading past what it received. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/client_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0; /* fits the socket buffer: no writer thread needed */
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) abort();
  int big = 1 << 20;
  setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  size_t off = 0;
  while (off < size) {
    ssize_t w = write(sv[1], data + off, size - off);
    if (w <= 0) break;
    off += (size_t)w;
  }
  shutdown(sv[1], SHUT_WR);
  /* port 1 on loopback: a reconnect attempt (stale keep-alive path) is refused at once */
  evc_http *h = evc_http_new("127.0.0.1", 1, "/v1/events", "tok", 50, 200);
  if (h == NULL) abort();
  evc_http_adopt_fd(h, sv[0]);
  evc_http_resp resp = {0};
  char err[256];
  int rc = evc_http_post(h, "{\"type\":\"x\"}\n", 13, NULL, NULL, &resp, err, sizeof err);
  if (rc == 0 && (resp.status < 0 || resp.status > 999)) abort();
  if (rc == 0 && resp.body.len && resp.body.p[resp.body.len] != '\0') abort();
  evc_buf_free(&resp.body);
  evc_http_free(h); /* closes sv[0] */
  close(sv[1]);
  return 0;
}
