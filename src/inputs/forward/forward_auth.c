/* forward_auth: see forward_auth.h. */
#include "inputs/forward/forward_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inputs/forward/msgpack.h"
#include "server/auth.h"

/* Parse forward.users into a->user_list. Returns 0 or -1 with err. */
static int parse_users(fwd_auth *a, const char *users, char *err, size_t errlen) {
  size_t cap = 1;
  for (const char *p = users; *p; p++) cap += *p == ',';
  a->user_list = calloc(cap, sizeof *a->user_list);
  if (!a->user_list) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (const char *p = users; *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    const char *colon = memchr(p, ':', n);
    if (!colon || colon == p) {
      snprintf(err, errlen, "forward.users: '%.*s' is not user:password[:tenant]",
               (int)(n > 64 ? 64 : (int)(colon ? colon - p : (long)n)), p);
      return -1;
    }
    const char *rest = colon + 1, *stop = p + n, *last = NULL;
    for (const char *q = rest; q < stop; q++)
      if (*q == ':') last = q;
    fwd_user *u = &a->user_list[a->nusers++];
    u->name = strndup(p, (size_t)(colon - p));
    u->password = strndup(rest, (size_t)((last ? last : stop) - rest));
    if (!u->name || !u->password) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    if (last && last + 1 < stop) {
      size_t tl = (size_t)(stop - last - 1);
      if (!auth_tenant_valid(last + 1, tl) || tl > AUTH_TENANT_MAX) {
        snprintf(err, errlen, "forward.users: user '%s': '%.*s' is not a tenant path (segments of "
                              "A-Z a-z 0-9 . _ - separated by '/'; a password containing ':' "
                              "needs the tenant field: user:password:tenant)",
                 u->name, (int)(tl > 64 ? 64 : tl), last + 1);
        return -1;
      }
      if (!(u->tenant = strndup(last + 1, tl))) {
        snprintf(err, errlen, "out of memory");
        return -1;
      }
    }
    p += n + (end ? 1 : 0);
  }
  return 0;
}

int fwd_auth_init(fwd_auth *a, const char *shared_key, const char *users, const char *hostname,
                  char *err, size_t errlen) {
  memset(a, 0, sizeof *a);
  int has_users = users && *users;
  if (!shared_key || !*shared_key) {
    if (has_users) {
      snprintf(err, errlen, "forward.users needs forward.shared_key (the handshake carries both)");
      return -1;
    }
    return 0;
  }
  if (has_users && parse_users(a, users, err, errlen) != 0) {
    fwd_auth_free(a);
    return -1;
  }
  a->shared_key = strdup(shared_key);
  a->users = has_users ? strdup(users) : NULL;
  if (!a->shared_key || (has_users && !a->users)) {
    fwd_auth_free(a);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  if (hostname && *hostname) snprintf(a->hostname, sizeof a->hostname, "%s", hostname);
  else if (gethostname(a->hostname, sizeof a->hostname - 1) != 0) snprintf(a->hostname, sizeof a->hostname, "eventd");
  a->enabled = 1;
  return 0;
}

void fwd_auth_free(fwd_auth *a) {
  for (size_t i = 0; i < a->nusers; i++) {
    free(a->user_list[i].name);
    free(a->user_list[i].password);
    free(a->user_list[i].tenant);
  }
  free(a->user_list);
  a->user_list = NULL;
  a->nusers = 0;
  free(a->shared_key);
  free(a->users);
  a->shared_key = a->users = NULL;
  a->enabled = 0;
}

void fwd_sha512_hex(const void *const *parts, const size_t *lens, size_t n, char out[129]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1;
  for (size_t i = 0; ok && i < n; i++) ok = EVP_DigestUpdate(ctx, parts[i], lens[i]) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) mdlen = 0, memset(md, 0, sizeof md);
  static const char HEX[] = "0123456789abcdef";
  for (unsigned i = 0; i < 64; i++) {
    out[2 * i] = HEX[md[i] >> 4];
    out[2 * i + 1] = HEX[md[i] & 15];
  }
  out[128] = '\0';
}

/* ---- msgpack writing ---------------------------------------------------------------------- */

static int put_str(buf *b, const void *s, size_t n) {
  uint8_t h[5];
  size_t k = 0;
  if (n < 32) h[k++] = (uint8_t)(0xa0 | n);
  else if (n < 256) h[k++] = 0xd9, h[k++] = (uint8_t)n;
  else h[k++] = 0xda, h[k++] = (uint8_t)(n >> 8), h[k++] = (uint8_t)n;
  return buf_append(b, h, k) | buf_append(b, s, n);
}

static int put_cstr(buf *b, const char *s) { return put_str(b, s, strlen(s)); }

static int put_bin16(buf *b, const uint8_t *p) {
  uint8_t h[2] = {0xc4, 16};
  return buf_append(b, h, 2) | buf_append(b, p, 16);
}

static int put_byte(buf *b, uint8_t c) { return buf_append(b, &c, 1); }

int fwd_auth_helo(const fwd_auth *a, fwd_handshake *hs, buf *out) {
  if (RAND_bytes(hs->nonce, sizeof hs->nonce) != 1 || RAND_bytes(hs->salt, sizeof hs->salt) != 1)
    return -1;
  int rc = put_byte(out, 0x92) | put_cstr(out, "HELO") | put_byte(out, 0x83);
  rc |= put_cstr(out, "nonce") | put_bin16(out, hs->nonce);
  rc |= put_cstr(out, "auth");
  rc |= a->users ? put_bin16(out, hs->salt) : put_cstr(out, "");
  rc |= put_cstr(out, "keepalive") | put_byte(out, 0xc3);
  return rc ? -1 : 0;
}

static int pong(const fwd_auth *a, buf *out, int ok, const char *reason, const char *digest) {
  int rc = put_byte(out, 0x95) | put_cstr(out, "PONG") | put_byte(out, ok ? 0xc3 : 0xc2);
  rc |= put_cstr(out, reason) | put_cstr(out, a->hostname) | put_cstr(out, digest);
  return rc;
}

/* The index of the user with that name, or -1. */
static long find_user(const fwd_auth *a, const uint8_t *name, size_t nlen) {
  for (size_t i = 0; i < a->nusers; i++)
    if (strlen(a->user_list[i].name) == nlen && memcmp(a->user_list[i].name, name, nlen) == 0)
      return (long)i;
  return -1;
}

static int fail(const fwd_auth *a, buf *out, char *err, size_t errlen, const char *why) {
  snprintf(err, errlen, "%s", why);
  pong(a, out, 0, why, "");
  return 0;
}

int fwd_auth_check_ping(const fwd_auth *a, const fwd_handshake *hs, const uint8_t *p, size_t len,
                        buf *out, char *err, size_t errlen) {
  long user;
  return fwd_auth_check_ping_user(a, hs, p, len, out, &user, err, errlen);
}

int fwd_auth_check_ping_user(const fwd_auth *a, const fwd_handshake *hs, const uint8_t *p,
                             size_t len, buf *out, long *user_out, char *err, size_t errlen) {
  *user_out = -1;
  mp_reader r;
  mp_reader_init(&r, p, len);
  mp_obj top, el[6];
  if (mp_read(&r, &top, NULL) != MP_OK || top.type != MP_ARRAY || top.n != 6)
    return fail(a, out, err, errlen, "PING must be an array of 6 elements");
  for (int i = 0; i < 6; i++)
    if (mp_read(&r, &el[i], NULL) != MP_OK || (el[i].type != MP_STR && el[i].type != MP_BIN))
      return fail(a, out, err, errlen, "PING elements must be strings");
  if (!mp_str_is(&el[0], "PING")) return fail(a, out, err, errlen, "not a PING");
  const mp_obj *host = &el[1], *salt = &el[2], *digest = &el[3], *user = &el[4], *pwd = &el[5];
  char want[129];
  const void *parts[4] = {salt->p, host->p, hs->nonce, a->shared_key};
  size_t lens[4] = {salt->n, host->n, sizeof hs->nonce, strlen(a->shared_key)};
  fwd_sha512_hex(parts, lens, 4, want);
  if (digest->n != 128 || CRYPTO_memcmp(digest->p, want, 128) != 0)
    return fail(a, out, err, errlen, "shared_key mismatch");
  long ui = -1;
  if (a->users) {
    ui = find_user(a, user->p, user->n);
    if (ui < 0) return fail(a, out, err, errlen, "username/password mismatch");
    const char *pw = a->user_list[ui].password;
    size_t pwlen = strlen(pw);
    const void *up[3] = {hs->salt, user->p, pw};
    size_t ul[3] = {sizeof hs->salt, user->n, pwlen};
    fwd_sha512_hex(up, ul, 3, want);
    if (pwd->n != 128 || CRYPTO_memcmp(pwd->p, want, 128) != 0)
      return fail(a, out, err, errlen, "username/password mismatch");
  }
  const void *sp[4] = {salt->p, a->hostname, hs->nonce, a->shared_key};
  size_t sl[4] = {salt->n, strlen(a->hostname), sizeof hs->nonce, strlen(a->shared_key)};
  fwd_sha512_hex(sp, sl, 4, want);
  if (pong(a, out, 1, "", want) != 0) {
    snprintf(err, errlen, "out of memory");
    return 0;
  }
  *user_out = ui;
  return 1;
}
