/* hmac: HMAC-SHA256 signatures, hex/base64 encoding, and the spec-member readers shared by
 * the webhook, Kafka and AMQP destinations (see hmac.h). */
#include "outputs/hmac.h"

#include "outputs/output.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

/* HMAC-SHA256 over the concatenation of parts, with OpenSSL's EVP_MAC API. Returns 0 or -1. */
int hmac_sha256(const void *key, size_t keylen, const void *const *parts, const size_t *lens,
                size_t nparts, unsigned char out[HMAC_SHA256_LEN]) {
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if (mac == NULL) return -1;
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
  int rc = -1;
  if (ctx != NULL) {
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                           OSSL_PARAM_construct_end()};
    static const unsigned char empty_key[1] = {0};
    if (EVP_MAC_init(ctx, keylen ? key : empty_key, keylen, params) == 1) {
      rc = 0;
      for (size_t i = 0; i < nparts && rc == 0; i++)
        if (lens[i] > 0 && EVP_MAC_update(ctx, parts[i], lens[i]) != 1) rc = -1;
      size_t outlen = 0;
      if (rc == 0 && (EVP_MAC_final(ctx, out, &outlen, HMAC_SHA256_LEN) != 1 ||
                      outlen != HMAC_SHA256_LEN))
        rc = -1;
    }
    EVP_MAC_CTX_free(ctx);
  }
  EVP_MAC_free(mac);
  return rc;
}

/* Lowercase hex of p[0..n) into out (2n+1 bytes, NUL-terminated). */
void hex_encode(const unsigned char *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

/* Standard base64 with padding, appended to out. Returns 0 or -1 (OOM). */
int base64_append(buf *out, const unsigned char *p, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (buf_reserve(out, (n + 2) / 3 * 4 + 1) != 0) return -1;
  size_t i = 0;
  char q[4];
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    q[0] = tab[v >> 18], q[1] = tab[(v >> 12) & 63], q[2] = tab[(v >> 6) & 63], q[3] = tab[v & 63];
    if (buf_append(out, q, 4) != 0) return -1;
  }
  if (i < n) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
    q[0] = tab[v >> 18], q[1] = tab[(v >> 12) & 63];
    q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
    q[3] = '=';
    if (buf_append(out, q, 4) != 0) return -1;
  }
  return 0;
}

/* "t=<ts>,v1=<hex>" where hex = HMAC-SHA256(secret, "<ts>.<body>"). Returns 0 or -1. */
int eventd_signature(const char *secret, size_t secretlen, int64_t ts, const char *body,
                     size_t bodylen, char *out, size_t outlen) {
  char tsbuf[32];
  int tn = snprintf(tsbuf, sizeof tsbuf, "%" PRId64 ".", ts);
  if (tn <= 0 || (size_t)tn >= sizeof tsbuf) return -1;
  const void *parts[2] = {tsbuf, body};
  size_t lens[2] = {(size_t)tn, bodylen};
  unsigned char mac[HMAC_SHA256_LEN];
  if (hmac_sha256(secret, secretlen, parts, lens, 2, mac) != 0) return -1;
  char hex[2 * HMAC_SHA256_LEN + 1];
  hex_encode(mac, sizeof mac, hex);
  int n = snprintf(out, outlen, "t=%" PRId64 ",v1=%s", ts, hex);
  return n > 0 && (size_t)n < outlen ? 0 : -1;
}

/* ---- spec members ---------------------------------------------------------------------- */

int spec_string(const json_value *spec, const char *name, const char **out, char *err,
                size_t errlen) {
  const json_value *v = json_get(spec, name);
  if (v == NULL) return 0;
  if (v->type != JSON_STRING || memchr(v->s, '\0', v->n) != NULL) {
    snprintf(err, errlen, "%s: expected a string, got %s", name,
             v->type == JSON_STRING ? "a string with a NUL byte" : json_type_name(v->type));
    return -1;
  }
  *out = v->s;
  return 0;
}

int spec_int(const json_value *spec, const char *name, int64_t min, int64_t max, int64_t *out,
             char *err, size_t errlen) {
  const json_value *v = json_get(spec, name);
  if (v == NULL) return 0;
  int64_t x;
  if (v->type != JSON_NUMBER || json_as_int64(v, &x) != 0 || x < min || x > max) {
    snprintf(err, errlen, "%s: expected an integer from %" PRId64 " to %" PRId64, name, min, max);
    return -1;
  }
  *out = x;
  return 0;
}

int spec_bool(const json_value *spec, const char *name, int *out, char *err, size_t errlen) {
  const json_value *v = json_get(spec, name);
  if (v == NULL) return 0;
  if (v->type != JSON_TRUE && v->type != JSON_FALSE) {
    snprintf(err, errlen, "%s: expected true or false, got %s", name, json_type_name(v->type));
    return -1;
  }
  *out = v->type == JSON_TRUE;
  return 0;
}

const char *spec_scalar(const json_value *v, size_t *len) {
  switch (v->type) {
  case JSON_STRING:
  case JSON_NUMBER:
    *len = v->n;
    return v->s;
  case JSON_TRUE:
    *len = 4;
    return "true";
  case JSON_FALSE:
    *len = 5;
    return "false";
  default:
    return NULL;
  }
}

int spec_string_map(const json_value *spec, const char *name, const json_value **out, char *err,
                    size_t errlen) {
  const json_value *v = json_get(spec, name);
  if (v == NULL) return 0;
  if (v->type != JSON_OBJECT) {
    snprintf(err, errlen, "%s: expected an object of strings, got %s", name,
             json_type_name(v->type));
    return -1;
  }
  for (const json_value *m = v->child; m != NULL; m = m->next) {
    size_t len;
    const char *text = spec_scalar(m, &len);
    if (text == NULL || memchr(text, '\0', len) != NULL || memchr(m->key, '\0', m->key_len) != NULL) {
      snprintf(err, errlen, "%s.%s: expected a string", name, m->key);
      return -1;
    }
  }
  *out = v;
  return 0;
}

int spec_refuse_unknown(const json_value *spec, const char *const *own, const char *what,
                        char *err, size_t errlen) {
  if (spec == NULL || spec->type != JSON_OBJECT) {
    snprintf(err, errlen, "the %s output must be a JSON object", what);
    return -1;
  }
  for (const json_value *m = spec->child; m != NULL; m = m->next) {
    int known = output_common_member(m->key);
    for (size_t i = 0; !known && own[i] != NULL; i++) known = strcmp(m->key, own[i]) == 0;
    if (!known) {
      snprintf(err, errlen, "unknown member '%s' for a %s output", m->key, what);
      return -1;
    }
  }
  return 0;
}

int url_write_redacted(buf *out, const char *url) {
  const char *scheme = strstr(url, "://");
  const char *host = scheme ? scheme + 3 : NULL;
  const char *end = host ? host + strcspn(host, "/?#") : NULL;
  const char *at = NULL;
  for (const char *p = host; p && p < end; p++)
    if (*p == '@') at = p;
  const char *colon = at ? memchr(host, ':', (size_t)(at - host)) : NULL;
  if (colon == NULL) return json_write_string(out, url, strlen(url));
  buf tmp = BUF_INIT;
  int rc = buf_append(&tmp, url, (size_t)(colon + 1 - url)) != 0 || buf_puts(&tmp, "***") != 0 ||
           buf_puts(&tmp, at) != 0 || json_write_string(out, tmp.data, tmp.len) != 0;
  buf_free(&tmp);
  return rc ? -1 : 0;
}

/* See hmac.h. */
void output_record_attempt(const output_env *env, const output_msg *msgs, size_t n, int code,
                           int ok, int64_t latency_ns, const char *response,
                           size_t response_len, const char *error) {
  if (env == NULL || env->record_attempt == NULL || n == 0) return;
  buf id = BUF_INIT; /* the history wants a C string; record ids are not NUL-terminated */
  if (buf_append(&id, msgs[0].rv.id.p, msgs[0].rv.id.n) == 0) {
    output_attempt a = {.first_seq = msgs[0].seq,
                        .last_seq = msgs[n - 1].seq,
                        .event_id = id.data,
                        .count = n,
                        .code = code,
                        .latency_ns = latency_ns,
                        .ok = ok,
                        .response = response_len ? response : NULL,
                        .response_len = response_len,
                        .error = error};
    env->record_attempt(env->env_arg, &a);
  }
  buf_free(&id);
}
