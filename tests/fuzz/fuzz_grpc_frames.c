/* Fuzz target for the gRPC input's request handling without the network: the input is the
 * DATA payload of one stream (after a 2-byte header choosing the method and how the bytes
 * are split into DATA chunks). It is reassembled into gRPC messages by the framer, fed once
 * whole and once in chunks — both must yield the same messages and the same error — and
 * every message is decoded as the method's request (protobuf-c, strings checked) and turned
 * into canonical events (grpc_events + event_finish + event_write_json), as the services do
 * before ingest. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/timeutil.h"
#include "inputs/grpc/grpc_events.h"
#include "inputs/grpc/grpc_wire.h"

#define NOW (1795249560LL * NS_PER_SEC)
#define MAX_MESSAGE (64 * 1024)
#define MAX_SEEN 64

typedef struct run {
  int method;
  size_t n;                 /* messages seen */
  size_t len[MAX_SEEN];     /* their lengths */
  uint32_t sum[MAX_SEEN];   /* and a checksum of their bytes */
  arena a;
  evd_limits lim;
} run;

static void finish_and_write(run *r, event *ev) {
  evd_field_error fe;
  if (event_finish(ev, &r->lim, NOW, &r->a, &fe) != 0) return;
  buf out = BUF_INIT;
  if (event_write_json(ev, "01JDXYZ0000000000000000000", 26, &out) != 0) abort();
  json_error je;
  if (!json_parse(&r->a, out.data, out.len, r->lim.max_depth + 1, &je)) {
    fprintf(stderr, "canonical JSON of a gRPC event does not parse: %s\n", je.message);
    abort();
  }
  buf_free(&out);
}

static void handle(run *r, const uint8_t *msg, size_t len) {
  grpc_code code;
  char err[256];
  event ev;
  evd_field_error fe;
  switch (r->method) {
    case 0: {
      Magma__Orc8r__Event *m = (Magma__Orc8r__Event *)grpc_decode(
          &magma__orc8r__event__descriptor, msg, len, &r->a, &code, err, sizeof err);
      if (!m) {
        if (code != GRPC_INVALID_ARGUMENT && code != GRPC_INTERNAL) abort();
        return;
      }
      /* Strings came through whole: no NUL inside (strlen is their length). */
      if (grpc_magma_event(m, &r->lim, &r->a, &ev, &fe) == 0) finish_and_write(r, &ev);
      break;
    }
    case 1: {
      Eventd__V1__PublishRequest *m = (Eventd__V1__PublishRequest *)grpc_decode(
          &eventd__v1__publish_request__descriptor, msg, len, &r->a, &code, err, sizeof err);
      if (!m) return;
      for (size_t i = 0; i < m->n_events; i++)
        if (grpc_native_event(m->events[i], &r->lim, &r->a, &ev, &fe) == 0) finish_and_write(r, &ev);
      break;
    }
    default: {
      Grpc__Health__V1__HealthCheckRequest *m = (Grpc__Health__V1__HealthCheckRequest *)grpc_decode(
          &grpc__health__v1__health_check_request__descriptor, msg, len, &r->a, &code, err,
          sizeof err);
      if (m && !m->service) abort();
      break;
    }
  }
}

static int on_message(void *arg, const uint8_t *msg, size_t len) {
  run *r = arg;
  if (r->n < MAX_SEEN) {
    uint32_t s = 2166136261u;
    for (size_t i = 0; i < len; i++) s = (s ^ msg[i]) * 16777619u;
    r->len[r->n] = len;
    r->sum[r->n] = s;
  }
  r->n++;
  handle(r, msg, len);
  arena_reset(&r->a);
  return 0;
}

/* Feed data[0..size) in chunks (step 0: all at once). Returns the framer's error code
 * (-1 for none) and fills r. */
static int feed(run *r, const uint8_t *data, size_t size, unsigned step) {
  grpc_framer f;
  grpc_framer_init(&f, MAX_MESSAGE);
  grpc_code code = GRPC_OK;
  char msg[256];
  int result = -1;
  size_t off = 0, k = 0;
  while (off < size) {
    size_t chunk = step ? 1 + (step * 7 + k * 13) % (step + 1) : size - off;
    if (chunk > size - off) chunk = size - off;
    if (grpc_framer_feed(&f, data + off, chunk, on_message, r, &code, msg, sizeof msg) != 0) {
      result = (int)code;
      break;
    }
    off += chunk;
    k++;
  }
  grpc_framer_free(&f);
  return result;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  int method = data[0] % 3;
  unsigned step = data[1];
  data += 2;
  size -= 2;
  static run r1, r2; /* large; reused */
  memset(&r1, 0, sizeof r1);
  memset(&r2, 0, sizeof r2);
  r1.method = r2.method = method;
  evd_limits_default(&r1.lim);
  evd_limits_default(&r2.lim);
  arena_init(&r1.a, 0);
  arena_init(&r2.a, 0);
  int e1 = feed(&r1, data, size, 0);
  int e2 = feed(&r2, data, size, step ? step : 1);
  if (e1 != e2 || r1.n != r2.n) {
    fprintf(stderr, "framing differs with chunking: error %d vs %d, %zu vs %zu messages\n", e1,
            e2, r1.n, r2.n);
    abort();
  }
  for (size_t i = 0; i < r1.n && i < MAX_SEEN; i++)
    if (r1.len[i] != r2.len[i] || r1.sum[i] != r2.sum[i]) abort();
  arena_free(&r1.a);
  arena_free(&r2.a);
  return 0;
}
