/* forward_auth: the Forward Protocol's shared-key handshake (forward.shared_key,
 * forward.users), as Fluentd's in_forward does it and Fluent Bit's out_forward expects:
 *
 *   server -> HELO  ["HELO", {"nonce": 16 random bytes, "auth": 16-byte salt or "" (no users),
 *                             "keepalive": true}]
 *   client -> PING  ["PING", client_hostname, shared_key_salt,
 *                    hex(sha512(shared_key_salt + client_hostname + nonce + shared_key)),
 *                    username, hex(sha512(auth_salt + username + password))]
 *   server -> PONG  ["PONG", auth_ok, reason, server_hostname,
 *                    hex(sha512(shared_key_salt + server_hostname + nonce + shared_key))]
 *
 * On a failed PING the PONG carries false, the reason and an empty digest, and the server
 * closes the connection. Pure functions over bytes (no sockets): unit tests call them. */
#ifndef EVD_INPUTS_FORWARD_AUTH_H
#define EVD_INPUTS_FORWARD_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* One forward.users entry: "user:password" or "user:password:tenant" (issue 7: the user's
 * events go into that tenant; a password containing ':' needs the third field, which may
 * be empty: "user:pa:ss:" = the listener's tenant). */
typedef struct fwd_user {
  char *name, *password;
  char *tenant;         /* NULL: the listener's (forward.tenant) */
} fwd_user;

typedef struct fwd_auth {
  int enabled;          /* a shared key is configured */
  char *shared_key;
  char *users;          /* "user:password[:tenant],..." or NULL */
  fwd_user *user_list;  /* users parsed */
  size_t nusers;
  char hostname[256];   /* sent in PONG */
} fwd_auth;

/* What one connection's HELO said. */
typedef struct fwd_handshake {
  uint8_t nonce[16];
  uint8_t salt[16];     /* user auth salt (used when users are configured) */
} fwd_handshake;

/* Set up from the settings (shared_key NULL or "": disabled; users need a shared key;
 * hostname NULL or "": gethostname). A user's tenant must be a valid tenant path (the
 * caller checks it is inside the listener's). Returns 0 or -1 with err. */
int fwd_auth_init(fwd_auth *a, const char *shared_key, const char *users, const char *hostname,
                  char *err, size_t errlen);
void fwd_auth_free(fwd_auth *a);

/* Fill hs with fresh random bytes and append the HELO message to out. Returns 0 or -1. */
int fwd_auth_helo(const fwd_auth *a, fwd_handshake *hs, buf *out);

/* Check the PING message p[0..len) (one complete msgpack array) against hs and append the
 * PONG to out. Returns 1 when the client is authenticated, 0 when not (err says why; the
 * PONG says so too and the connection should close after writing it). */
int fwd_auth_check_ping(const fwd_auth *a, const fwd_handshake *hs, const uint8_t *p, size_t len,
                        buf *out, char *err, size_t errlen);
/* The same, also telling which user authenticated: *user = its index in a->user_list, or -1
 * when no users are configured. */
int fwd_auth_check_ping_user(const fwd_auth *a, const fwd_handshake *hs, const uint8_t *p,
                             size_t len, buf *out, long *user, char *err, size_t errlen);

/* hex(sha512(parts...)) into out (129 bytes with the NUL). For the tests and the PONG. */
void fwd_sha512_hex(const void *const *parts, const size_t *lens, size_t n, char out[129]);

#endif
