/* grpc_wire: see grpc_wire.h. */
#include "inputs/grpc/grpc_wire.h"

#include <stdio.h>
#include <string.h>

#include "core/json.h"

const char *grpc_code_name(int code) {
  static const char *const NAMES[] = {
      "OK",                "CANCELLED",          "UNKNOWN",     "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",          "ALREADY_EXISTS", "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",    "OUT_OF_RANGE",
      "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE", "DATA_LOSS",
      "UNAUTHENTICATED"};
  return code >= 0 && code <= 16 ? NAMES[code] : "UNKNOWN";
}

/* ---- framing ---------------------------------------------------------------------------- */

void grpc_framer_init(grpc_framer *f, size_t max_message) {
  memset(f, 0, sizeof *f);
  f->max_message = max_message;
  buf_init(&f->msg);
}

void grpc_framer_free(grpc_framer *f) { buf_free(&f->msg); }

int grpc_framer_partial(const grpc_framer *f) { return f->hdr_have > 0; }

int grpc_framer_feed(grpc_framer *f, const uint8_t *data, size_t len, grpc_message_cb cb,
                     void *arg, grpc_code *code, char *msg, size_t msglen) {
  if (f->failed) return 0;
  while (len > 0 || (f->hdr_have == GRPC_FRAME_HEADER && f->msg.len == f->need)) {
    if (f->hdr_have < GRPC_FRAME_HEADER) {
      size_t k = GRPC_FRAME_HEADER - f->hdr_have;
      if (k > len) k = len;
      memcpy(f->hdr + f->hdr_have, data, k);
      f->hdr_have += k;
      data += k;
      len -= k;
      if (f->hdr_have < GRPC_FRAME_HEADER) return 0;
      uint32_t n = (uint32_t)f->hdr[1] << 24 | (uint32_t)f->hdr[2] << 16 |
                   (uint32_t)f->hdr[3] << 8 | (uint32_t)f->hdr[4];
      if (f->hdr[0] != 0) {
        f->failed = 1;
        *code = GRPC_UNIMPLEMENTED;
        if (f->hdr[0] == 1)
          snprintf(msg, msglen, "compressed messages are not supported (only the identity "
                   "encoding is; grpc-accept-encoding: identity)");
        else
          snprintf(msg, msglen, "invalid message prefix: compressed flag is %u (expected 0)",
                   (unsigned)f->hdr[0]);
        if (f->hdr[0] != 1) *code = GRPC_INTERNAL;
        return -1;
      }
      if (n > f->max_message) {
        f->failed = 1;
        *code = GRPC_RESOURCE_EXHAUSTED;
        snprintf(msg, msglen,
                 "received message larger than max (%lu vs. %zu bytes; grpc.max_message_bytes)",
                 (unsigned long)n, f->max_message);
        return -1;
      }
      f->need = n;
      buf_clear(&f->msg);
      if (buf_reserve(&f->msg, n) != 0) {
        f->failed = 1;
        *code = GRPC_RESOURCE_EXHAUSTED;
        snprintf(msg, msglen, "out of memory for a %lu-byte message", (unsigned long)n);
        return -1;
      }
    }
    size_t k = f->need - f->msg.len;
    if (k > len) k = len;
    if (k && buf_append(&f->msg, data, k) != 0) { /* cannot fail: reserved */
      f->failed = 1;
      *code = GRPC_RESOURCE_EXHAUSTED;
      snprintf(msg, msglen, "out of memory");
      return -1;
    }
    data += k;
    len -= k;
    if (f->msg.len < f->need) return 0;
    /* A complete message. */
    f->hdr_have = 0;
    const uint8_t *m = f->msg.len ? (const uint8_t *)f->msg.data : (const uint8_t *)"";
    if (cb(arg, m, f->msg.len) != 0) {
      f->failed = 1;
      *code = GRPC_OK;
      msg[0] = '\0';
      return -1;
    }
    /* Don't pin a large buffer between messages. */
    if (f->msg.cap > 256 * 1024) buf_free(&f->msg);
    else buf_clear(&f->msg);
    f->need = 0;
  }
  return 0;
}

/* ---- headers ---------------------------------------------------------------------------- */

int grpc_parse_timeout(const char *s, size_t n, int64_t *ns) {
  if (n < 2 || n > 9) return -1;
  int64_t v = 0;
  for (size_t i = 0; i + 1 < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  int64_t mult;
  switch (s[n - 1]) {
    case 'H': mult = 3600LL * 1000000000LL; break;
    case 'M': mult = 60LL * 1000000000LL; break;
    case 'S': mult = 1000000000LL; break;
    case 'm': mult = 1000000LL; break;
    case 'u': mult = 1000LL; break;
    case 'n': mult = 1; break;
    default: return -1;
  }
  *ns = v > INT64_MAX / mult ? INT64_MAX : v * mult;
  return 0;
}

int grpc_percent_encode(buf *out, const char *s, size_t n) {
  static const char HEX[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      if (buf_putc(out, (char)c) != 0) return -1;
    } else {
      char e[3] = {'%', HEX[c >> 4], HEX[c & 15]};
      if (buf_append(out, e, 3) != 0) return -1;
    }
  }
  return 0;
}

/* ---- protobuf-c helpers --------------------------------------------------------------- */

static void *arena_pb_alloc(void *data, size_t size) { return arena_alloc(data, size ? size : 1); }
static void arena_pb_free(void *data, void *p) {}

void grpc_arena_allocator(ProtobufCAllocator *al, arena *a) {
  al->alloc = arena_pb_alloc;
  al->free = arena_pb_free;
  al->allocator_data = a;
}

/* Read a varint at *p (< end). Returns 0 or -1 (truncated or longer than 10 bytes). */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (*p >= end) return -1;
    uint8_t b = *(*p)++;
    v |= (uint64_t)(b & 0x7f) << (shift < 64 ? shift : 0);
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

#define CHECK_MAX_DEPTH 32

static int check_walk(const ProtobufCMessageDescriptor *desc, const uint8_t *p, const uint8_t *end,
                      int depth, char *path, size_t pathlen, char *err, size_t errlen) {
  size_t base = strlen(path);
  while (p < end) {
    uint64_t key;
    if (read_varint(&p, end, &key) != 0) return 0; /* malformed: unpack refuses it */
    uint32_t wire = (uint32_t)(key & 7);
    uint64_t num = key >> 3;
    const uint8_t *val = p;
    uint64_t vlen = 0;
    switch (wire) {
      case 0:
        if (read_varint(&p, end, &vlen) != 0) return 0;
        continue;
      case 1:
        if ((size_t)(end - p) < 8) return 0;
        p += 8;
        continue;
      case 5:
        if ((size_t)(end - p) < 4) return 0;
        p += 4;
        continue;
      case 2:
        if (read_varint(&p, end, &vlen) != 0 || vlen > (uint64_t)(end - p)) return 0;
        val = p;
        p += vlen;
        break;
      default: return 0; /* groups and invalid wire types: unpack decides */
    }
    const ProtobufCFieldDescriptor *fd =
        num <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(desc, (unsigned)num) : NULL;
    if (!fd) continue; /* unknown field */
    if (fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_MESSAGE) continue;
    snprintf(path + base, pathlen - base, "%s%s", base ? "." : "", fd->name);
    if (fd->type == PROTOBUF_C_TYPE_STRING) {
      if (memchr(val, 0, vlen)) {
        snprintf(err, errlen, "%s: contains a NUL byte", path);
        return -1;
      }
      if (!utf8_valid((const char *)val, vlen)) {
        snprintf(err, errlen, "%s: invalid UTF-8", path);
        return -1;
      }
    } else if (depth < CHECK_MAX_DEPTH &&
               check_walk(fd->descriptor, val, val + vlen, depth + 1, path, pathlen, err,
                          errlen) != 0) {
      return -1;
    }
    path[base] = '\0';
  }
  return 0;
}

int grpc_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                       char *err, size_t errlen) {
  char path[160] = "";
  return check_walk(desc, data, data + len, 0, path, sizeof path, err, errlen);
}
