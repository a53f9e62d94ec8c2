/* client_http.c — the minimal HTTP/1.1 client libeventd sends batches with.
 *
 * One persistent (keep-alive) connection to eventd, used by the background thread only.
 * A request is: connect if needed (non-blocking, connect_timeout_ms), send the request line,
 * headers and body, read the status line, headers and a Content-Length (or chunked) body;
 * the whole exchange is bounded by request_timeout_ms. While waiting it calls an idle hook
 * about every 10 ms (the worker spills to the spool from there, and aborts at close).
 * A keep-alive connection that the server closed while idle fails on first use; the request
 * is then retried once on a fresh connection (a resent batch is harmless: event ids make
 * eventd store it once).
 *
 * Why not libcurl: the client needs only this one exchange, and owning the poll loop is what
 * makes the idle hook (spill while a slow server holds a request) and the close deadline
 * simple. libcurl would add its global initialisation to every application. No TLS: use a
 * local eventd or a TLS-terminating proxy (docs/client.md). */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "client_internal.h"

#define RESP_MAX (8u * 1024 * 1024)

struct evc_http {
  char *host, *path, *token;
  int port;
  int fd;
  int connect_timeout_ms, request_timeout_ms;
  evc_buf in;  /* received bytes */
  evc_buf hdr; /* request head */
  evc_idle_fn sent_fn; /* called once a request is fully sent, before its answer is awaited */
  void *sent_arg;
};

evc_http *evc_http_new(const char *host, int port, const char *path, const char *token,
                       int connect_timeout_ms, int request_timeout_ms) {
  evc_http *h = calloc(1, sizeof *h);
  if (h == NULL) return NULL;
  h->host = strdup(host);
  h->path = strdup(path);
  h->token = token ? strdup(token) : NULL;
  if (h->host == NULL || h->path == NULL || (token && h->token == NULL)) {
    evc_http_free(h);
    return NULL;
  }
  h->port = port;
  h->fd = -1;
  h->connect_timeout_ms = connect_timeout_ms;
  h->request_timeout_ms = request_timeout_ms;
  return h;
}

void evc_http_disconnect(evc_http *h) {
  if (h->fd >= 0) close(h->fd);
  h->fd = -1;
  h->in.len = 0;
}

void evc_http_free(evc_http *h) {
  if (h == NULL) return;
  evc_http_disconnect(h);
  free(h->host);
  free(h->path);
  free(h->token);
  evc_buf_free(&h->in);
  evc_buf_free(&h->hdr);
  free(h);
}

/* Wait for fd to be ready for `events` until deadline (mono ns), calling idle every 10 ms.
 * Returns 1 ready, 0 timeout, -1 aborted by idle or poll error (why set). */
int evc_wait_fd(int fd, short events, int64_t deadline, evc_idle_fn idle, void *arg,
                const char **why) {
  for (;;) {
    int64_t now = evc_mono_ns();
    if (now >= deadline) return 0;
    int64_t left_ms = (deadline - now + 999999) / 1000000;
    int t = left_ms > 10 ? 10 : (int)left_ms;
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, t);
    if (r > 0) return 1;
    if (r < 0 && errno != EINTR) {
      *why = strerror(errno);
      return -1;
    }
    if (idle && idle(arg) != 0) {
      *why = "aborted (client closing)";
      return -1;
    }
  }
}

int evc_tcp_connect(const char *host, int port, int connect_timeout_ms, int64_t deadline,
                    evc_idle_fn idle, void *arg, char *err, size_t errlen) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", port);
  /* An IP address is used as is: getaddrinfo can block without bound (a DNS server that
     does not answer) and is not safe in a child forked while another thread was inside it. */
  struct sockaddr_in6 sa6 = {0};
  struct sockaddr_in sa4 = {0};
  struct addrinfo numeric = {.ai_socktype = SOCK_STREAM};
  if (inet_pton(AF_INET, host, &sa4.sin_addr) == 1) {
    sa4.sin_family = AF_INET;
    sa4.sin_port = htons((uint16_t)port);
    numeric.ai_family = AF_INET;
    numeric.ai_addr = (struct sockaddr *)&sa4;
    numeric.ai_addrlen = sizeof sa4;
  } else if (inet_pton(AF_INET6, host, &sa6.sin6_addr) == 1) {
    sa6.sin6_family = AF_INET6;
    sa6.sin6_port = htons((uint16_t)port);
    numeric.ai_family = AF_INET6;
    numeric.ai_addr = (struct sockaddr *)&sa6;
    numeric.ai_addrlen = sizeof sa6;
  }
  int gai = numeric.ai_addr ? 0 : getaddrinfo(host, portstr, &hints, &res);
  if (gai != 0) {
    snprintf(err, errlen, "resolve %s: %s", host, gai_strerror(gai));
    return -1;
  }
  int64_t cdeadline = evc_mono_ns() + (int64_t)connect_timeout_ms * 1000000;
  if (cdeadline > deadline) cdeadline = deadline;
  const char *why = "no address";
  int saved = 0;
  for (struct addrinfo *ai = numeric.ai_addr ? &numeric : res; ai; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd < 0) {
      saved = errno;
      why = NULL;
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        saved = errno;
        why = NULL;
        close(fd);
        continue;
      }
      const char *w = NULL;
      int r = evc_wait_fd(fd, POLLOUT, cdeadline, idle, arg, &w);
      if (r <= 0) {
        close(fd);
        if (res) freeaddrinfo(res);
        snprintf(err, errlen, "connect %s:%d: %s", host, port, r == 0 ? "timed out" : w);
        return -1;
      }
      int soerr = 0;
      socklen_t sl = sizeof soerr;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
      if (soerr != 0) {
        saved = soerr;
        why = NULL;
        close(fd);
        continue;
      }
    }
    if (res) freeaddrinfo(res);
    return fd;
  }
  if (res) freeaddrinfo(res);
  snprintf(err, errlen, "connect %s:%d: %s", host, port, why ? why : strerror(saved));
  return -1;
}

static int do_connect(evc_http *h, int64_t deadline, evc_idle_fn idle, void *arg, char *err,
                      size_t errlen) {
  int fd = evc_tcp_connect(h->host, h->port, h->connect_timeout_ms, deadline, idle, arg, err,
                           errlen);
  if (fd < 0) return -1;
  h->fd = fd;
  h->in.len = 0;
  return 0;
}

/* Send all of p[0..n) on a non-blocking socket by the deadline. Returns 0 or -1 (err). */
int evc_tcp_send_all(int fd, const char *p, size_t n, int64_t deadline, evc_idle_fn idle,
                     void *arg, char *err, size_t errlen) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const char *why = NULL;
      int r = evc_wait_fd(fd, POLLOUT, deadline, idle, arg, &why);
      if (r == 0) {
        snprintf(err, errlen, "send: timed out");
        return -1;
      }
      if (r < 0) {
        snprintf(err, errlen, "send: %s", why);
        return -1;
      }
      continue;
    }
    snprintf(err, errlen, "send: %s", strerror(errno));
    return -1;
  }
  return 0;
}

/* Send head[0..hn) then body[0..bn) with sendmsg (one system call, one TCP segment train,
 * for the usual request) by the deadline. Returns 0 or -1 (err). */
static int send_head_body(evc_http *h, const char *head, size_t hn, const char *body, size_t bn,
                          int64_t deadline, evc_idle_fn idle, void *arg, char *err,
                          size_t errlen) {
  struct iovec iov[2] = {{(void *)head, hn}, {(void *)body, bn}};
  int first = 0;
  while (first < 2) {
    if (iov[first].iov_len == 0) {
      first++;
      continue;
    }
    struct msghdr m = {.msg_iov = iov + first, .msg_iovlen = (size_t)(2 - first)};
    ssize_t w = sendmsg(h->fd, &m, MSG_NOSIGNAL);
    if (w >= 0) {
      size_t left = (size_t)w;
      while (first < 2 && left >= iov[first].iov_len) {
        left -= iov[first].iov_len;
        iov[first].iov_len = 0;
        first++;
      }
      if (first < 2) {
        iov[first].iov_base = (char *)iov[first].iov_base + left;
        iov[first].iov_len -= left;
      }
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      const char *why = NULL;
      int r = evc_wait_fd(h->fd, POLLOUT, deadline, idle, arg, &why);
      if (r == 0) {
        snprintf(err, errlen, "%s:%d: send: timed out", h->host, h->port);
        return -1;
      }
      if (r < 0) {
        snprintf(err, errlen, "%s:%d: send: %s", h->host, h->port, why);
        return -1;
      }
      continue;
    }
    snprintf(err, errlen, "%s:%d: send: %s", h->host, h->port, strerror(errno));
    return -1;
  }
  return 0;
}

/* Receive more bytes into h->in. Returns >0 bytes read, 0 on EOF, -1 on error/timeout. */
static ssize_t recv_more(evc_http *h, int64_t deadline, evc_idle_fn idle, void *arg, char *err,
                         size_t errlen) {
  for (;;) {
    if (evc_buf_reserve(&h->in, 16384) != 0) {
      h->in.oom = 0;
      snprintf(err, errlen, "out of memory reading the answer");
      return -1;
    }
    ssize_t r = recv(h->fd, h->in.p + h->in.len, h->in.cap - h->in.len - 1, 0);
    if (r > 0) {
      h->in.len += (size_t)r;
      return r;
    }
    if (r == 0) return 0;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      snprintf(err, errlen, "receive from %s:%d: %s", h->host, h->port, strerror(errno));
      return -1;
    }
    const char *why = NULL;
    int w = evc_wait_fd(h->fd, POLLIN, deadline, idle, arg, &why);
    if (w == 0) {
      snprintf(err, errlen, "no answer from %s:%d within %d ms", h->host, h->port,
               h->request_timeout_ms);
      return -1;
    }
    if (w < 0) {
      snprintf(err, errlen, "receive from %s:%d: %s", h->host, h->port, why);
      return -1;
    }
  }
}

/* Find a header's value in the head text [p, p+n). */
static const char *find_header(const char *p, size_t n, const char *name, size_t *vlen) {
  size_t nl = strlen(name);
  const char *end = p + n;
  const char *line = memchr(p, '\n', n); /* skip the status line */
  while (line && line + 1 < end) {
    line++;
    const char *eol = memchr(line, '\n', (size_t)(end - line));
    if (eol == NULL) eol = end;
    if ((size_t)(eol - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
      const char *v = line + nl + 1;
      while (v < eol && (*v == ' ' || *v == '\t')) v++;
      const char *ve = eol;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ')) ve--;
      *vlen = (size_t)(ve - v);
      return v;
    }
    line = eol < end ? eol : NULL;
  }
  return NULL;
}

/* Decode a chunked body in src[0..n) into out; returns 1 complete, 0 need more, -1 bad. */
static int dechunk(const char *src, size_t n, evc_buf *out) {
  size_t i = 0;
  out->len = 0;
  for (;;) {
    const char *eol = memchr(src + i, '\n', n - i);
    if (eol == NULL) return 0;
    char *e;
    unsigned long sz = strtoul(src + i, &e, 16);
    if (e == src + i) return -1;
    i = (size_t)(eol - src) + 1;
    if (sz == 0) {
      /* trailers end with an empty line */
      for (;;) {
        const char *l = memchr(src + i, '\n', n - i);
        if (l == NULL) return 0;
        size_t ll = (size_t)(l - (src + i));
        i = (size_t)(l - src) + 1;
        if (ll == 0 || (ll == 1 && src[i - 2] == '\r')) return 1;
      }
    }
    if (sz > RESP_MAX || n - i < sz + 2) return n - i < sz + 2 ? 0 : -1;
    evc_buf_add(out, src + i, sz);
    i += sz;
    if (src[i] == '\r') i++;
    if (i >= n) return 0;
    if (src[i] != '\n') return -1;
    i++;
  }
}

/* One attempt on the current connection. *fresh_fail is set when the connection failed
 * before any byte of the answer arrived (a stale keep-alive connection). */
static int attempt(evc_http *h, const char *body, size_t len, int64_t deadline,
                   evc_idle_fn idle, void *arg, evc_http_resp *resp, int *stale, char *err,
                   size_t errlen) {
  *stale = 0;
  h->hdr.len = 0;
  evc_buf_printf(&h->hdr,
                 "POST %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: libeventd/%s\r\n"
                 "Content-Type: application/x-ndjson\r\nContent-Length: %zu\r\n",
                 h->path, h->host, h->port, evd_version(), len);
  if (h->token) evc_buf_printf(&h->hdr, "Authorization: Bearer %s\r\n", h->token);
  evc_buf_adds(&h->hdr, "\r\n");
  if (h->hdr.oom) {
    h->hdr.oom = 0;
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  if (send_head_body(h, h->hdr.p, h->hdr.len, body, len, deadline, idle, arg, err, errlen) !=
      0) {
    *stale = 1;
    return -1;
  }
  if (h->sent_fn) (void)h->sent_fn(h->sent_arg); /* the server is busy with it: work ahead */
  h->in.len = 0;
  size_t head_end = 0;
  for (;;) {
    if (h->in.len) {
      char *e = memmem(h->in.p, h->in.len, "\r\n\r\n", 4);
      if (e) {
        head_end = (size_t)(e - h->in.p) + 4;
        break;
      }
    }
    if (h->in.len > 64 * 1024) {
      snprintf(err, errlen, "answer head over 64 KiB");
      return -1;
    }
    ssize_t r = recv_more(h, deadline, idle, arg, err, errlen);
    if (r < 0) {
      if (h->in.len == 0) *stale = 1;
      return -1;
    }
    if (r == 0) {
      if (h->in.len == 0) *stale = 1;
      snprintf(err, errlen, "%s:%d closed the connection%s", h->host, h->port,
               h->in.len ? " mid-answer" : " before answering");
      return -1;
    }
  }
  int status = 0;
  const char *sl = h->in.p;
  if (h->in.len < 12 || strncmp(sl, "HTTP/1.", 7) != 0 || sl[8] != ' ' || sl[9] < '1' ||
      sl[9] > '5' || sl[10] < '0' || sl[10] > '9' || sl[11] < '0' || sl[11] > '9') {
    snprintf(err, errlen, "bad answer from %s:%d (not HTTP)", h->host, h->port);
    return -1;
  }
  status = (sl[9] - '0') * 100 + (sl[10] - '0') * 10 + (sl[11] - '0');
  size_t vl;
  const char *v;
  int keep = 1;
  if ((v = find_header(h->in.p, head_end, "Connection", &vl)) && vl == 5 &&
      strncasecmp(v, "close", 5) == 0)
    keep = 0;
  if (h->in.p[7] == '0') keep = 0; /* HTTP/1.0 */
  resp->status = status;
  resp->body.len = 0;
  if ((v = find_header(h->in.p, head_end, "Transfer-Encoding", &vl)) && vl >= 7 &&
      strncasecmp(v + vl - 7, "chunked", 7) == 0) {
    for (;;) {
      int d = dechunk(h->in.p + head_end, h->in.len - head_end, &resp->body);
      if (d == 1) break;
      if (d < 0 || h->in.len - head_end > RESP_MAX) {
        snprintf(err, errlen, "bad chunked answer from %s:%d", h->host, h->port);
        return -1;
      }
      ssize_t r = recv_more(h, deadline, idle, arg, err, errlen);
      if (r <= 0) {
        if (r == 0) snprintf(err, errlen, "%s:%d closed mid-answer", h->host, h->port);
        return -1;
      }
    }
  } else {
    size_t clen = 0;
    int have_len = 0;
    if ((v = find_header(h->in.p, head_end, "Content-Length", &vl))) {
      char tmp[24];
      if (vl == 0 || vl >= sizeof tmp) {
        snprintf(err, errlen, "bad Content-Length from %s:%d", h->host, h->port);
        return -1;
      }
      memcpy(tmp, v, vl);
      tmp[vl] = '\0';
      char *e;
      unsigned long long x = strtoull(tmp, &e, 10);
      if (*e != '\0' || x > RESP_MAX) {
        snprintf(err, errlen, "bad Content-Length from %s:%d", h->host, h->port);
        return -1;
      }
      clen = (size_t)x;
      have_len = 1;
    } else if (status == 204 || status == 304 || status < 200) {
      have_len = 1;
    }
    for (;;) {
      size_t have = h->in.len - head_end;
      if (have_len && have >= clen) break;
      if (have > RESP_MAX) {
        snprintf(err, errlen, "answer over %u bytes", RESP_MAX);
        return -1;
      }
      ssize_t r = recv_more(h, deadline, idle, arg, err, errlen);
      if (r < 0) return -1;
      if (r == 0) {
        if (!have_len) {
          keep = 0;
          clen = have;
          break;
        }
        snprintf(err, errlen, "%s:%d closed mid-answer", h->host, h->port);
        return -1;
      }
    }
    evc_buf_add(&resp->body, h->in.p + head_end, clen);
  }
  if (!keep) evc_http_disconnect(h);
  h->in.len = 0;
  return 0;
}

int evc_http_post(evc_http *h, const char *body, size_t len, evc_idle_fn idle, void *arg,
                  evc_http_resp *resp, char *err, size_t errlen) {
  int64_t deadline = evc_mono_ns() + (int64_t)h->request_timeout_ms * 1000000;
  resp->status = 0;
  for (int round = 0; round < 2; round++) {
    int reused = h->fd >= 0;
    if (!reused && do_connect(h, deadline, idle, arg, err, errlen) != 0) return -1;
    int stale = 0;
    if (attempt(h, body, len, deadline, idle, arg, resp, &stale, err, errlen) == 0) return 0;
    evc_http_disconnect(h);
    if (!(reused && stale)) return -1;
    /* the server closed an idle keep-alive connection: once more on a new one */
  }
  return -1;
}

void evc_http_set_sent_hook(evc_http *h, evc_idle_fn fn, void *arg) {
  h->sent_fn = fn;
  h->sent_arg = arg;
}

/* Use fd (connected, non-blocking) as h's connection (tests and the fuzz target). */
void evc_http_adopt_fd(evc_http *h, int fd) {
  evc_http_disconnect(h);
  h->fd = fd;
}
