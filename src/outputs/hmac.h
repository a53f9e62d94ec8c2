/* hmac: the signatures and spec helpers the network destinations share (owner: outputs-dest).
 *
 * - HMAC-SHA256 of a message, as lowercase hex (eventd's X-Eventd-Signature) or base64
 *   (CloudStack's X-CS-Signature), through OpenSSL.
 * - Reading a destination's members from the output's JSON spec with errors that name the
 *   member ("timeout_ms: expected an integer from 1 to 600000"). */
#ifndef EVD_OUTPUTS_HMAC_H
#define EVD_OUTPUTS_HMAC_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/json.h"
#include "outputs/output.h"

#define HMAC_SHA256_LEN 32

/* HMAC-SHA256(key, parts[0] || parts[1] || ...), nparts pieces, into out[32].
 * Returns 0, or -1 if OpenSSL failed. */
int hmac_sha256(const void *key, size_t keylen, const void *const *parts, const size_t *lens,
                size_t nparts, unsigned char out[HMAC_SHA256_LEN]);

/* out[0..2n) = lowercase hex of p[0..n), NUL-terminated (out has room for 2n+1). */
void hex_encode(const unsigned char *p, size_t n, char *out);

/* Append the standard base64 (with '=' padding) of p[0..n) to out. Returns 0 or -1 (OOM). */
int base64_append(buf *out, const unsigned char *p, size_t n);

/* eventd's webhook signature header value "t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>"
 * into out (at least 96 bytes). Returns 0 or -1. */
int eventd_signature(const char *secret, size_t secretlen, int64_t ts, const char *body,
                     size_t bodylen, char *out, size_t outlen);

/* ---- spec members ---------------------------------------------------------------------- */

/* Each reader: if the member is absent, leave *out as is and return 0; if present and of the
 * right type (and in range), store it and return 0; else return -1 with err naming the
 * member and the rule. Strings point into the spec (valid as long as it is). */
int spec_string(const json_value *spec, const char *name, const char **out, char *err,
                size_t errlen);
int spec_int(const json_value *spec, const char *name, int64_t min, int64_t max, int64_t *out,
             char *err, size_t errlen);
int spec_bool(const json_value *spec, const char *name, int *out, char *err, size_t errlen);
/* An object whose members are all scalars (headers, properties): strings, or numbers and
 * booleans (a config file's `linger.ms: 5`), read as text with spec_scalar.
 * *out = the object or NULL. */
int spec_string_map(const json_value *spec, const char *name, const json_value **out, char *err,
                    size_t errlen);

/* The text of a scalar member value: a string's bytes, a number as written, "true"/"false".
 * *len gets its length (the text of a number is not NUL-terminated). NULL for other types. */
const char *spec_scalar(const json_value *v, size_t *len);

/* Append url as a JSON string with the password of its userinfo replaced by "***"
 * ("amqp://u:***@h/v"). Returns 0 or -1 (OOM). */
int url_write_redacted(buf *out, const char *url);

/* Refuse members of spec that are neither common output members (name, type, match, filters,
 * retry, ...) nor in the NULL-terminated list `own`. Returns 0 or -1 with err
 * ("unknown member 'secrte' for a webhook output"). */
int spec_refuse_unknown(const json_value *spec, const char *const *own, const char *what,
                        char *err, size_t errlen);

/* ---- the delivery history ---------------------------------------------------------------- */

/* Report one delivery attempt that carried msgs[0..n) (n >= 1) through env->record_attempt
 * (nothing when env or record_attempt is NULL): code is the protocol status (0 = none), ok
 * whether it was confirmed, latency_ns how long it took, response[0..response_len) the start
 * of the destination's answer (may be NULL) and error the message to keep (NULL = none). The
 * first message's id is copied to a C string for the history; the call keeps no pointer.
 * Thread: the output's worker (or test) thread. */
void output_record_attempt(const output_env *env, const output_msg *msgs, size_t n, int code,
                           int ok, int64_t latency_ns, const char *response,
                           size_t response_len, const char *error);

#endif
