/* msgpack: see msgpack.h. Format: https://github.com/msgpack/msgpack/blob/master/spec.md */
#include "inputs/forward/msgpack.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}

/* Fill o with a byte string of n bytes starting at p + hdr. */
static int take_bytes(mp_reader *r, mp_obj *o, mp_type t, size_t hdr, uint64_t n, size_t *need) {
  size_t avail = (size_t)(r->end - r->p);
  if (n > avail || hdr > avail - n) {
    if (need) *need = hdr + n;
    return MP_NEED_MORE;
  }
  o->type = t;
  o->p = r->p + hdr;
  o->n = (uint32_t)n;
  r->p += hdr + n;
  return MP_OK;
}

int mp_read(mp_reader *r, mp_obj *o, size_t *need) {
  size_t avail = (size_t)(r->end - r->p);
  o->p = NULL; /* the fields a reader may look at whatever the type */
  o->n = 0;
  o->ext_type = 0;
  if (avail < 1) {
    if (need) *need = 1;
    return MP_NEED_MORE;
  }
  uint8_t c = r->p[0];
  /* Fixed-size headers: how many bytes follow the first one. */
  size_t extra = 0;
  if (c <= 0x7f || c >= 0xe0 || (c >= 0x80 && c <= 0x9f) || c == 0xc0 || c == 0xc2 || c == 0xc3)
    extra = 0;
  else if (c >= 0xa0 && c <= 0xbf)
    extra = 0;
  else
    switch (c) {
      case 0xc4: case 0xd9: case 0xcc: case 0xd0: extra = 1; break;
      case 0xc5: case 0xda: case 0xcd: case 0xd1: case 0xdc: case 0xde: extra = 2; break;
      case 0xc6: case 0xdb: case 0xce: case 0xd2: case 0xca: case 0xdd: case 0xdf: extra = 4; break;
      case 0xcf: case 0xd3: case 0xcb: extra = 8; break;
      case 0xc7: extra = 2; break;       /* ext 8: len, type */
      case 0xc8: extra = 3; break;       /* ext 16 */
      case 0xc9: extra = 5; break;       /* ext 32 */
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: extra = 1; break; /* fixext: type */
      case 0xc1: return MP_INVALID;
      default: return MP_INVALID;
    }
  if (avail < 1 + extra) {
    if (need) *need = 1 + extra;
    return MP_NEED_MORE;
  }
  const uint8_t *q = r->p + 1;
  if (c <= 0x7f) {
    o->type = MP_UINT;
    o->u = c;
    o->i = c;
  } else if (c >= 0xe0) {
    o->type = MP_INT;
    o->i = (int8_t)c;
  } else if (c <= 0x8f) {
    o->type = MP_MAP;
    o->n = c & 0x0f;
  } else if (c <= 0x9f) {
    o->type = MP_ARRAY;
    o->n = c & 0x0f;
  } else if (c <= 0xbf) {
    return take_bytes(r, o, MP_STR, 1, c & 0x1f, need);
  } else {
    switch (c) {
      case 0xc0: o->type = MP_NIL; break;
      case 0xc2: case 0xc3: o->type = MP_BOOL; o->boolean = c == 0xc3; break;
      case 0xc4: return take_bytes(r, o, MP_BIN, 2, be(q, 1), need);
      case 0xc5: return take_bytes(r, o, MP_BIN, 3, be(q, 2), need);
      case 0xc6: return take_bytes(r, o, MP_BIN, 5, be(q, 4), need);
      case 0xd9: return take_bytes(r, o, MP_STR, 2, be(q, 1), need);
      case 0xda: return take_bytes(r, o, MP_STR, 3, be(q, 2), need);
      case 0xdb: return take_bytes(r, o, MP_STR, 5, be(q, 4), need);
      case 0xc7: case 0xc8: case 0xc9: {
        int lb = c == 0xc7 ? 1 : c == 0xc8 ? 2 : 4;
        uint64_t n = be(q, lb);
        int8_t t = (int8_t)q[lb];
        int rc = take_bytes(r, o, MP_EXT, 1 + (size_t)lb + 1, n, need);
        if (rc == MP_OK) o->ext_type = t;
        return rc;
      }
      case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: {
        int8_t t = (int8_t)q[0];
        int rc = take_bytes(r, o, MP_EXT, 2, (uint64_t)1 << (c - 0xd4), need);
        if (rc == MP_OK) o->ext_type = t;
        return rc;
      }
      case 0xca: {
        uint32_t bits = (uint32_t)be(q, 4);
        float f;
        memcpy(&f, &bits, 4);
        o->type = MP_FLOAT;
        o->f = f;
        break;
      }
      case 0xcb: {
        uint64_t bits = be(q, 8);
        memcpy(&o->f, &bits, 8);
        o->type = MP_FLOAT;
        break;
      }
      case 0xcc: case 0xcd: case 0xce: case 0xcf:
        o->type = MP_UINT;
        o->u = be(q, (int)extra);
        o->i = o->u <= (uint64_t)INT64_MAX ? (int64_t)o->u : 0;
        break;
      case 0xd0: o->i = (int8_t)q[0]; goto signed_int;
      case 0xd1: o->i = (int16_t)be(q, 2); goto signed_int;
      case 0xd2: o->i = (int32_t)be(q, 4); goto signed_int;
      case 0xd3: o->i = (int64_t)be(q, 8);
      signed_int:
        if (o->i >= 0) {
          o->type = MP_UINT;
          o->u = (uint64_t)o->i;
        } else {
          o->type = MP_INT;
        }
        break;
      case 0xdc: o->type = MP_ARRAY; o->n = (uint32_t)be(q, 2); break;
      case 0xdd: o->type = MP_ARRAY; o->n = (uint32_t)be(q, 4); break;
      case 0xde: o->type = MP_MAP; o->n = (uint32_t)be(q, 2); break;
      case 0xdf: o->type = MP_MAP; o->n = (uint32_t)be(q, 4); break;
      default: return MP_INVALID;
    }
  }
  r->p += 1 + extra;
  return MP_OK;
}

int mp_skip(mp_reader *r, size_t *need) {
  const uint8_t *start = r->p;
  uint64_t left = 1; /* objects still to read */
  while (left > 0) {
    mp_obj o;
    size_t n = 0;
    int rc = mp_read(r, &o, &n);
    if (rc != MP_OK) {
      if (rc == MP_NEED_MORE && need) *need = (size_t)(r->p - start) + n;
      r->p = start;
      return rc;
    }
    left--;
    if (o.type == MP_ARRAY) left += o.n;
    else if (o.type == MP_MAP) left += 2 * (uint64_t)o.n;
  }
  return MP_OK;
}

int mp_str_is(const mp_obj *o, const char *lit) {
  size_t n = strlen(lit);
  return (o->type == MP_STR || o->type == MP_BIN) && o->n == n && memcmp(o->p, lit, n) == 0;
}

/* ---- to JSON ------------------------------------------------------------------------------ */

typedef struct conv {
  mp_reader *r;
  arena *a;
  int max_depth;
  char *err;
  size_t errlen;
} conv;

static json_value *conv_fail(conv *c, const char *msg) {
  snprintf(c->err, c->errlen, "%s", msg);
  return NULL;
}

/* A node of type t with `extra` bytes after it (for its key and text), uninitialized but for
 * the fields every node has. One arena allocation per node: the key and the string or number
 * text live in the same block. */
static json_value *new_node(conv *c, json_type t, size_t extra) {
  json_value *v = arena_alloc(c->a, sizeof *v + extra);
  if (!v) return conv_fail(c, "out of memory");
  v->type = t;
  v->n = 0;
  v->s = NULL;
  v->child = v->next = NULL;
  v->key = NULL;
  v->key_len = 0;
  v->offset = 0;
  return v;
}

/* Copy key[0..kn) (NUL-terminated) into the bytes after v, at *off. */
static void put_key(json_value *v, size_t *off, const uint8_t *key, uint32_t kn) {
  if (!key) return;
  char *k = (char *)(v + 1) + *off;
  memcpy(k, key, kn);
  k[kn] = '\0';
  v->key = k;
  v->key_len = kn;
  *off += (size_t)kn + 1;
}

/* A scalar node with text s[0..n) (copied, NUL-terminated) and the member key. */
static json_value *text_node(conv *c, json_type t, const char *s, size_t n, const uint8_t *key,
                             uint32_t kn) {
  json_value *v = new_node(c, t, (key ? (size_t)kn + 1 : 0) + n + 1);
  if (!v) return NULL;
  size_t off = 0;
  put_key(v, &off, key, kn);
  char *d = (char *)(v + 1) + off;
  memcpy(d, s, n);
  d[n] = '\0';
  v->s = d;
  v->n = (uint32_t)n;
  return v;
}

static int key_cmp(const void *x, const void *y) {
  const json_value *a = *(json_value *const *)x, *b = *(json_value *const *)y;
  size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
  int d = memcmp(a->key, b->key, n);
  if (d) return d;
  return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

/* 1 if an object's members repeat a key. Linear for small maps, sorted copy otherwise. */
static int has_duplicate_key(conv *c, json_value *obj) {
  if (obj->n <= 32) {
    for (json_value *m = obj->child; m; m = m->next)
      for (json_value *k = m->next; k; k = k->next)
        if (m->key_len == k->key_len && memcmp(m->key, k->key, m->key_len) == 0) return 1;
    return 0;
  }
  json_value **v = arena_alloc(c->a, obj->n * sizeof *v);
  if (!v) return -1;
  size_t i = 0;
  for (json_value *m = obj->child; m; m = m->next) v[i++] = m;
  qsort(v, i, sizeof *v, key_cmp);
  for (size_t j = 1; j < i; j++)
    if (key_cmp(&v[j - 1], &v[j]) == 0) return 1;
  return 0;
}

/* Decimal text of v (with a leading '-' when neg) at the end of out; returns its start. */
static const char *u64_text(char *out, size_t len, uint64_t v, int neg) {
  char *p = out + len;
  *--p = '\0';
  do {
    *--p = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  if (neg) *--p = '-';
  return p;
}

static json_value *conv_value(conv *c, int depth, const uint8_t *key, uint32_t kn);

/* Convert the next object; key/kn: its member key (NULL outside objects). */
static json_value *conv_value(conv *c, int depth, const uint8_t *key, uint32_t kn) {
  mp_obj o;
  if (mp_read(c->r, &o, NULL) != MP_OK) return conv_fail(c, "truncated or invalid msgpack");
  char num[64];
  const char *t;
  switch (o.type) {
    case MP_NIL:
    case MP_BOOL: {
      json_type jt = o.type == MP_NIL ? JSON_NULL : o.boolean ? JSON_TRUE : JSON_FALSE;
      json_value *v = new_node(c, jt, key ? (size_t)kn + 1 : 0);
      size_t off = 0;
      if (v) put_key(v, &off, key, kn);
      return v;
    }
    case MP_UINT:
      t = u64_text(num, sizeof num, o.u, 0);
      return text_node(c, JSON_NUMBER, t, strlen(t), key, kn);
    case MP_INT: /* negative: its magnitude after '-' (INT64_MIN included) */
      t = u64_text(num, sizeof num, (uint64_t)0 - (uint64_t)o.i, 1);
      return text_node(c, JSON_NUMBER, t, strlen(t), key, kn);
    case MP_FLOAT: {
      if (!isfinite(o.f)) return conv_fail(c, "a float is NaN or infinite (not JSON)");
      int k = snprintf(num, sizeof num, "%.17g", o.f);
      return text_node(c, JSON_NUMBER, num, (size_t)k, key, kn);
    }
    case MP_STR:
    case MP_BIN:
      if (!utf8_valid((const char *)o.p, o.n))
        return conv_fail(c, o.type == MP_STR ? "a string is not valid UTF-8"
                                             : "a binary value is not UTF-8 text");
      return text_node(c, JSON_STRING, (const char *)o.p, o.n, key, kn);
    case MP_EXT:
      if (o.ext_type == 0 && o.n == 8) { /* EventTime inside a record: seconds.nanoseconds */
        uint32_t sec = (uint32_t)be(o.p, 4), nsec = (uint32_t)be(o.p + 4, 4);
        int k = snprintf(num, sizeof num, "%u.%09u", sec, nsec % 1000000000u);
        return text_node(c, JSON_NUMBER, num, (size_t)k, key, kn);
      }
      return conv_fail(c, "an ext value has no JSON form");
    case MP_ARRAY:
    case MP_MAP: {
      if (depth >= c->max_depth) {
        snprintf(c->err, c->errlen, "nesting deeper than %d", c->max_depth);
        return NULL;
      }
      int is_map = o.type == MP_MAP;
      json_value *v = new_node(c, is_map ? JSON_OBJECT : JSON_ARRAY, key ? (size_t)kn + 1 : 0);
      if (!v) return NULL;
      size_t off = 0;
      put_key(v, &off, key, kn);
      json_value **tail = &v->child;
      for (uint32_t k = 0; k < o.n; k++) {
        const uint8_t *ck = NULL;
        uint32_t ckn = 0;
        if (is_map) {
          mp_obj ko;
          if (mp_read(c->r, &ko, NULL) != MP_OK) return conv_fail(c, "truncated msgpack");
          if (ko.type != MP_STR && ko.type != MP_BIN)
            return conv_fail(c, "a map key is not a string (JSON keys are strings)");
          if (!utf8_valid((const char *)ko.p, ko.n))
            return conv_fail(c, "a map key is not valid UTF-8");
          ck = ko.p ? ko.p : (const uint8_t *)"";
          ckn = ko.n;
        }
        json_value *e = conv_value(c, depth + 1, ck, ckn);
        if (!e) return NULL;
        *tail = e;
        tail = &e->next;
        v->n++;
      }
      if (is_map) {
        int d = has_duplicate_key(c, v);
        if (d < 0) return conv_fail(c, "out of memory");
        if (d) return conv_fail(c, "a map repeats a key");
      }
      return v;
    }
  }
  return conv_fail(c, "unknown msgpack type");
}

json_value *mp_to_json(mp_reader *r, arena *a, int max_depth, char *err, size_t errlen) {
  conv c = {r, a, max_depth > 0 ? max_depth : JSON_DEFAULT_MAX_DEPTH, err, errlen};
  if (c.max_depth > JSON_MAX_DEPTH_CAP) c.max_depth = JSON_MAX_DEPTH_CAP;
  return conv_value(&c, 0, NULL, 0);
}
