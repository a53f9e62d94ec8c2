/* record: the stored form of one event. The layout is documented in record.h and
 * docs/storage.md; this file is the only code that writes or reads it. */
#include "core/record.h"

#include <string.h>

#include "core/debug.h"

static void put_u16(unsigned char *p, uint16_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}

static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get_u16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t get_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

int record_encode(const event *ev, buf *out) {
  static const char placeholder[ULID_LEN] = "00000000000000000000000000";
  const int client_id = ev->id.n > 0;
  const char *id = client_id ? ev->id.p : placeholder;
  size_t idlen = client_id ? ev->id.n : ULID_LEN;
  if (idlen > UINT16_MAX || ev->nlabels > UINT16_MAX) return -1;

  size_t need = 26 + idlen + 2;
  for (int i = 0; i < EVF__COUNT; i++) {
    if (ev->f[i].n > UINT32_MAX) return -1;
    need += 4 + ev->f[i].n;
  }
  for (size_t i = 0; i < ev->nlabels; i++) {
    if (ev->labels[i].key.n > UINT16_MAX || ev->labels[i].value.n > UINT32_MAX) return -1;
    need += 6 + ev->labels[i].key.n + ev->labels[i].value.n;
  }
  if (buf_reserve(out, need) != 0) return -1;

  size_t start = out->len;
  unsigned char *h = (unsigned char *)out->data + start;
  h[0] = RECORD_VERSION;
  h[1] = client_id ? RECORD_FLAG_CLIENT_ID : 0;
  h[2] = (unsigned char)ev->severity_number;
  h[3] = EVF__COUNT;
  put_u32(h + 4, 0); /* json_off, filled below */
  put_u64(h + 8, (uint64_t)ev->time_ns);
  put_u64(h + 16, (uint64_t)ev->observed_ns);
  put_u16(h + 24, (uint16_t)idlen);
  memcpy(h + 26, id, idlen);
  unsigned char *p = h + 26 + idlen;
  for (int i = 0; i < EVF__COUNT; i++) {
    put_u32(p, (uint32_t)ev->f[i].n);
    if (ev->f[i].n) memcpy(p + 4, ev->f[i].p, ev->f[i].n);
    p += 4 + ev->f[i].n;
  }
  put_u16(p, (uint16_t)ev->nlabels);
  p += 2;
  for (size_t i = 0; i < ev->nlabels; i++) {
    const evd_label *l = &ev->labels[i];
    put_u16(p, (uint16_t)l->key.n);
    memcpy(p + 2, l->key.p, l->key.n);
    p += 2 + l->key.n;
    put_u32(p, (uint32_t)l->value.n);
    if (l->value.n) memcpy(p + 4, l->value.p, l->value.n);
    p += 4 + l->value.n;
  }
  size_t json_off = (size_t)(p - h);
  EVD_ASSERT(json_off == need);
  out->len = start + json_off;
  if (event_write_json(ev, id, idlen, out) != 0) {
    out->len = start;
    return -1;
  }
  if (out->len - start > UINT32_MAX) {
    out->len = start;
    return -1;
  }
  /* buf may have moved while the JSON was appended. */
  put_u32((unsigned char *)out->data + start + 4, (uint32_t)json_off);
  return 0;
}

void record_patch_id(void *payload, size_t len, const char id[ULID_LEN]) {
  unsigned char *p = payload;
  EVD_ASSERT(len >= RECORD_ID_OFFSET + ULID_LEN);
  EVD_ASSERT(!(p[1] & RECORD_FLAG_CLIENT_ID) && get_u16(p + 24) == ULID_LEN);
  uint32_t json_off = get_u32(p + 4);
  EVD_ASSERT((size_t)json_off + RECORD_JSON_ID_OFFSET + ULID_LEN <= len);
  (void)len;
  memcpy(p + RECORD_ID_OFFSET, id, ULID_LEN);
  memcpy(p + json_off + RECORD_JSON_ID_OFFSET, id, ULID_LEN);
}

int record_decode(const void *payload, size_t len, record_view *rv) {
  const unsigned char *p = payload;
  if (len < 28 || p[0] != RECORD_VERSION) return -1;
  memset(rv, 0, sizeof *rv);
  rv->flags = p[1];
  rv->severity = p[2];
  unsigned nstr = p[3];
  uint32_t json_off = get_u32(p + 4);
  /* The header before the JSON is at least 28 bytes; checking it first keeps every
   * `json_off - off` below from wrapping. */
  if (json_off < 28 || json_off > len) return -1;
  rv->time_ns = (int64_t)get_u64(p + 8);
  rv->observed_ns = (int64_t)get_u64(p + 16);
  size_t idlen = get_u16(p + 24);
  size_t off = 26;
  if (idlen == 0 || idlen > json_off - off) return -1;
  rv->id.p = (const char *)p + off;
  rv->id.n = idlen;
  off += idlen;
  for (unsigned i = 0; i < nstr; i++) {
    if (json_off - off < 4) return -1;
    size_t n = get_u32(p + off);
    off += 4;
    if (n > json_off - off) return -1;
    if (i < EVF__COUNT) {
      rv->f[i].p = (const char *)p + off;
      rv->f[i].n = n;
    }
    off += n;
  }
  if (json_off - off < 2) return -1;
  rv->nlabels = get_u16(p + off);
  off += 2;
  rv->labels = p + off;
  size_t lstart = off;
  for (unsigned i = 0; i < rv->nlabels; i++) {
    if (json_off - off < 2) return -1;
    size_t kn = get_u16(p + off);
    off += 2;
    if (kn > json_off - off) return -1;
    off += kn;
    if (json_off - off < 4) return -1;
    size_t vn = get_u32(p + off);
    off += 4;
    if (vn > json_off - off) return -1;
    off += vn;
  }
  if (off != json_off) return -1;
  rv->labels_len = off - lstart;
  rv->json.p = (const char *)p + json_off;
  rv->json.n = len - json_off;
  if (rv->json.n < 2 || rv->json.p[0] != '{') return -1;
  return 0;
}

int record_label_next(const record_view *rv, size_t *pos, strv *key, strv *value) {
  if (*pos >= rv->labels_len) return 0;
  const unsigned char *p = rv->labels + *pos;
  size_t kn = get_u16(p);
  key->p = (const char *)p + 2;
  key->n = kn;
  size_t vn = get_u32(p + 2 + kn);
  value->p = (const char *)p + 6 + kn;
  value->n = vn;
  *pos += 6 + kn + vn;
  return 1;
}

strv record_label_get(const record_view *rv, const char *key, size_t klen) {
  size_t pos = 0;
  strv k, v;
  while (record_label_next(rv, &pos, &k, &v))
    if (k.n == klen && memcmp(k.p, key, klen) == 0) return v;
  strv none = {NULL, 0};
  return none;
}
