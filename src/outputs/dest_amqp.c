/* dest_amqp: the AMQP 0-9-1 destination (RabbitMQ) through librabbitmq / rabbitmq-c 0.11
 * (owner: outputs-dest; issue 4; docs/outputs-destinations.md is the user's reference).
 *
 * Spec members (besides the common ones the dispatcher reads):
 *   url          "amqp://user:pass@host:port/vhost" or "amqps://..." (instead of the next five)
 *   host, port, vhost, user, password   (defaults 127.0.0.1, 5672 / 5671 with TLS, "/",
 *                guest, guest)
 *   exchange     durable topic exchange (default "eventd-events"), declared if absent
 *   declare      declare the exchange (default true; false when it is managed elsewhere)
 *   routing_key  "key" (the event's key, default) or "cloudstack":
 *                source.category.type.resourceType.resourceUuid, '.' inside a part replaced
 *                by '-', an empty part by '*' (as CloudStack's RabbitMQ bus does). The parts
 *                come from the event's source, label category (else the stream), type,
 *                label resource_type and label resource_uuid (camelCase label names work too).
 *   heartbeat    seconds (default 60; 0 = none)
 *   timeout_ms   connect, socket write and confirm wait bound (default 10000)
 *   tls          true for TLS (amqps:// implies it); tls_verify (default true), ca_file,
 *                cert_file + key_file (client certificate)
 *
 * Messages: body = the event's canonical JSON, content_type application/json,
 * delivery_mode 2 (persistent), message_id = event id, type = event type, timestamp = event
 * time (seconds), app_id "eventd". The channel is in confirm mode (confirm.select): deliver
 * publishes the batch, then reads basic.ack / basic.nack (multiple or single) until every
 * delivery tag is settled or the timeout; confirmed = the leading acked messages.
 *
 * Connection loss: any socket or protocol error closes the connection and reports
 * OUTPUT_RETRY; the dispatcher backs off and the next deliver reconnects. A connection that
 * turns out dead before anything of a deliver call was published (idle past the broker's
 * heartbeat, broker restarted) is reopened once at once, so an idle output does not pay a
 * retry for it.
 *
 * vhost: a url ending in "/" means vhost "" (AMQP URI spec; "%2f" is the default "/"); a
 * failed connection or login names the vhost it used.
 *
 * Tenant-owned outputs (env->guard, issue 7): the host is resolved here and the SSRF guard
 * (outputs/netguard.h) picks an allowed address; plain TCP connects to exactly that address,
 * TLS connects by name (for the certificate check) and the peer address is checked right
 * after the connect. Literal local addresses are refused at create (check_targets). */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "core/timeutil.h"
#include "outputs/hmac.h"
#include "outputs/netguard.h"
#include "outputs/output.h"
#include "server/log.h"

#define EVD_AMQP_TIMEOUT_MS 10000
#define EVD_AMQP_HEARTBEAT 60
#define EVD_AMQP_CHANNEL 1
#define EVD_AMQP_ROUTING_KEY_MAX 255

typedef struct amqp_dest {
  const output_env *env;
  /* settings */
  char *host, *vhost, *user, *password, *exchange;
  int port;
  int vhost_from_slash;         /* url ended in "/": vhost "" (named in connect errors) */
  int declare;
  int cloudstack;
  int heartbeat;
  int64_t timeout_ms;
  int tls, tls_verify;
  char *ca_file, *cert_file, *key_file;
  /* connection */
  amqp_connection_state_t conn; /* NULL when disconnected */
  uint64_t next_tag;            /* delivery tag of the next publish on this channel */
  int connect_failures;         /* consecutive, for logging once */
  /* per deliver call */
  unsigned char *acked;         /* 0 pending, 1 acked, 2 nacked */
  size_t acked_cap;
  buf rkey;
} amqp_dest;

static const char *const amqp_members[] = {
    "url",        "host",      "port",    "vhost",       "user",      "password",
    "exchange",   "declare",   "routing_key", "heartbeat", "timeout_ms", "tls",
    "tls_verify", "ca_file",   "cert_file", "key_file",  NULL};

static int64_t mono_ms(void) { return time_mono_ns() / NS_PER_MS; }

/* Everything the spec says, read and checked (strings into spec or into url_copy). */
typedef struct amqp_spec {
  const char *url, *host, *vhost, *user, *password, *exchange, *routing_key;
  const char *ca_file, *cert_file, *key_file;
  int64_t port, heartbeat, timeout_ms;
  int declare, tls, tls_verify;
  int vhost_from_slash; /* the url's path is just "/": vhost "" as the AMQP URI spec says */
  char *url_copy; /* malloc'd, amqp_parse_url writes into it */
} amqp_spec;

static int amqp_read_spec(const json_value *spec, amqp_spec *as, char *err, size_t errlen) {
  memset(as, 0, sizeof *as);
  as->port = -1;
  as->heartbeat = EVD_AMQP_HEARTBEAT;
  as->timeout_ms = EVD_AMQP_TIMEOUT_MS;
  as->declare = 1;
  as->tls_verify = 1;
  if (spec_refuse_unknown(spec, amqp_members, "amqp", err, errlen) != 0 ||
      spec_string(spec, "url", &as->url, err, errlen) != 0 ||
      spec_string(spec, "host", &as->host, err, errlen) != 0 ||
      spec_int(spec, "port", 1, 65535, &as->port, err, errlen) != 0 ||
      spec_string(spec, "vhost", &as->vhost, err, errlen) != 0 ||
      spec_string(spec, "user", &as->user, err, errlen) != 0 ||
      spec_string(spec, "password", &as->password, err, errlen) != 0 ||
      spec_string(spec, "exchange", &as->exchange, err, errlen) != 0 ||
      spec_bool(spec, "declare", &as->declare, err, errlen) != 0 ||
      spec_string(spec, "routing_key", &as->routing_key, err, errlen) != 0 ||
      spec_int(spec, "heartbeat", 0, 3600, &as->heartbeat, err, errlen) != 0 ||
      spec_int(spec, "timeout_ms", 100, 600000, &as->timeout_ms, err, errlen) != 0 ||
      spec_bool(spec, "tls", &as->tls, err, errlen) != 0 ||
      spec_bool(spec, "tls_verify", &as->tls_verify, err, errlen) != 0 ||
      spec_string(spec, "ca_file", &as->ca_file, err, errlen) != 0 ||
      spec_string(spec, "cert_file", &as->cert_file, err, errlen) != 0 ||
      spec_string(spec, "key_file", &as->key_file, err, errlen) != 0)
    return -1;
  if (as->url != NULL) {
    if (as->host || as->port != -1 || as->vhost || as->user || as->password) {
      snprintf(err, errlen, "url: give either url or host/port/vhost/user/password, not both");
      return -1;
    }
    if ((as->url_copy = strdup(as->url)) == NULL) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    struct amqp_connection_info ci;
    amqp_default_connection_info(&ci);
    if (amqp_parse_url(as->url_copy, &ci) != AMQP_STATUS_OK) {
      snprintf(err, errlen, "url: not an amqp:// or amqps:// URL");
      free(as->url_copy);
      as->url_copy = NULL;
      return -1;
    }
    as->host = ci.host, as->port = ci.port, as->vhost = ci.vhost;
    as->vhost_from_slash = ci.vhost != NULL && ci.vhost[0] == '\0';
    as->user = ci.user, as->password = ci.password;
    if (ci.ssl) as->tls = 1;
  }
  if (as->host == NULL) as->host = "127.0.0.1";
  if (as->port == -1) as->port = as->tls ? 5671 : 5672;
  if (as->vhost == NULL) as->vhost = "/";
  if (as->user == NULL) as->user = "guest";
  if (as->password == NULL) as->password = "guest";
  if (as->exchange == NULL) as->exchange = "eventd-events";
  if (as->host[0] == '\0') {
    snprintf(err, errlen, "host: must not be empty");
    goto fail;
  }
  if (strlen(as->exchange) > 255) {
    snprintf(err, errlen, "exchange: at most 255 bytes");
    goto fail;
  }
  if (as->routing_key != NULL && strcmp(as->routing_key, "key") != 0 &&
      strcmp(as->routing_key, "cloudstack") != 0) {
    snprintf(err, errlen, "routing_key: expected \"key\" or \"cloudstack\"");
    goto fail;
  }
  if ((as->cert_file == NULL) != (as->key_file == NULL)) {
    snprintf(err, errlen, "%s: cert_file and key_file go together", as->cert_file ? "key_file" : "cert_file");
    goto fail;
  }
  if (!as->tls && (as->ca_file || as->cert_file)) {
    snprintf(err, errlen, "%s: needs tls (or an amqps:// url)", as->ca_file ? "ca_file" : "cert_file");
    goto fail;
  }
  return 0;
fail:
  free(as->url_copy);
  as->url_copy = NULL;
  return -1;
}

static int amqp_check(const json_value *spec, char *err, size_t errlen) {
  amqp_spec as;
  if (amqp_read_spec(spec, &as, err, errlen) != 0) return -1;
  free(as.url_copy);
  return 0;
}

/* check_targets: no ca_file/cert_file/key_file (files on the host); the broker host (url or
 * host member) when it is a literal IP address. */
static int amqp_check_targets(const json_value *spec, const output_guard *g, char *err,
                              size_t errlen) {
  static const char *const host_files[] = {"ca_file", "cert_file", "key_file"};
  for (size_t i = 0; i < sizeof host_files / sizeof host_files[0]; i++)
    if (json_get(spec, host_files[i]) != NULL) {
      snprintf(err, errlen, "%s: names a file on the daemon's host; outputs owned by tenant %s "
               "may not set it (an admin's output may)", host_files[i], g->owner);
      return -1;
    }
  amqp_spec as;
  char ignored[256];
  if (amqp_read_spec(spec, &as, ignored, sizeof ignored) != 0) return 0; /* amqp_check says */
  int rc = output_guard_check_host(g, json_get(spec, "url") ? "url" : "host", as.host,
                                   strlen(as.host), (int)as.port, err, errlen);
  free(as.url_copy);
  return rc;
}

static void amqp_disconnect(amqp_dest *d, int graceful) {
  if (d->conn == NULL) return;
  if (graceful) {
    amqp_channel_close(d->conn, EVD_AMQP_CHANNEL, AMQP_REPLY_SUCCESS);
    amqp_connection_close(d->conn, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(d->conn);
  d->conn = NULL;
}

static void amqp_free(amqp_dest *d) {
  if (d == NULL) return;
  amqp_disconnect(d, 1);
  free(d->host), free(d->vhost), free(d->user), free(d->exchange);
  if (d->password != NULL) {
    memset(d->password, 0, strlen(d->password));
    free(d->password);
  }
  free(d->ca_file), free(d->cert_file), free(d->key_file);
  free(d->acked);
  buf_free(&d->rkey);
  free(d);
}

static char *dup_or_null(const char *s, int *oom) {
  if (s == NULL) return NULL;
  char *c = strdup(s);
  if (c == NULL) *oom = 1;
  return c;
}

static int amqp_open(const json_value *spec, const output_env *env, void **state, char *err,
                     size_t errlen) {
  amqp_spec as;
  /* a tenant's output created before these rules existed is held to them too */
  if (env != NULL && env->guard != NULL && amqp_check_targets(spec, env->guard, err, errlen) != 0)
    return -1;
  if (amqp_read_spec(spec, &as, err, errlen) != 0) return -1;
  amqp_dest *d = calloc(1, sizeof *d);
  if (d == NULL) {
    free(as.url_copy);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  int oom = 0;
  d->env = env;
  buf_init(&d->rkey);
  d->host = dup_or_null(as.host, &oom);
  d->vhost = dup_or_null(as.vhost, &oom);
  d->user = dup_or_null(as.user, &oom);
  d->password = dup_or_null(as.password, &oom);
  d->exchange = dup_or_null(as.exchange, &oom);
  d->ca_file = dup_or_null(as.ca_file, &oom);
  d->cert_file = dup_or_null(as.cert_file, &oom);
  d->key_file = dup_or_null(as.key_file, &oom);
  d->port = (int)as.port;
  d->vhost_from_slash = as.vhost_from_slash;
  d->declare = as.declare;
  d->cloudstack = as.routing_key != NULL && strcmp(as.routing_key, "cloudstack") == 0;
  d->heartbeat = (int)as.heartbeat;
  d->timeout_ms = as.timeout_ms;
  d->tls = as.tls;
  d->tls_verify = as.tls_verify;
  free(as.url_copy);
  if (oom) {
    amqp_free(d);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  *state = d;
  return 0;
}

/* Text of an RPC reply that is not normal, into err. */
static void rpc_error(amqp_rpc_reply_t r, const char *what, char *err, size_t errlen, int *code) {
  *code = 0;
  switch (r.reply_type) {
  case AMQP_RESPONSE_NORMAL:
    snprintf(err, errlen, "%s: ok", what);
    break;
  case AMQP_RESPONSE_NONE:
    snprintf(err, errlen, "%s: no reply from the broker", what);
    break;
  case AMQP_RESPONSE_LIBRARY_EXCEPTION:
    snprintf(err, errlen, "%s: %s", what, amqp_error_string2(r.library_error));
    break;
  case AMQP_RESPONSE_SERVER_EXCEPTION:
    if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
      amqp_connection_close_t *c = r.reply.decoded;
      *code = c->reply_code;
      snprintf(err, errlen, "%s: connection closed by the broker: %d %.*s", what, c->reply_code,
               (int)c->reply_text.len, (const char *)c->reply_text.bytes);
    } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
      amqp_channel_close_t *c = r.reply.decoded;
      *code = c->reply_code;
      snprintf(err, errlen, "%s: channel closed by the broker: %d %.*s", what, c->reply_code,
               (int)c->reply_text.len, (const char *)c->reply_text.bytes);
    } else {
      snprintf(err, errlen, "%s: unexpected broker method 0x%08x", what, r.reply.id);
    }
    break;
  }
}

/* Append to err (already holding a message) which vhost the connection used: a wrong vhost
 * is the usual reason a login is refused, and "amqp://host/" (vhost "") is easily mistaken
 * for the default vhost "/". */
static void amqp_name_vhost(const amqp_dest *d, char *err, size_t errlen) {
  size_t len = strlen(err);
  if (len + 1 >= errlen) return;
  if (d->vhost_from_slash)
    snprintf(err + len, errlen - len, " [vhost '' (url ends in '/'; the default vhost '/' is "
             "written %%2f)]");
  else
    snprintf(err + len, errlen - len, " [vhost '%s']", d->vhost);
}

/* Open the connection, log in, open channel 1, declare the exchange, confirm.select.
 * Returns 0, or -1 with err/code (and no connection left). */
static int amqp_connect(amqp_dest *d, char *err, size_t errlen, int *code) {
  *code = 0;
  d->conn = amqp_new_connection();
  if (d->conn == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  amqp_socket_t *sock = d->tls ? amqp_ssl_socket_new(d->conn) : amqp_tcp_socket_new(d->conn);
  if (sock == NULL) {
    snprintf(err, errlen, "could not create the %s socket", d->tls ? "TLS" : "TCP");
    goto fail;
  }
  if (d->tls) {
    amqp_ssl_socket_set_verify_peer(sock, d->tls_verify);
    amqp_ssl_socket_set_verify_hostname(sock, d->tls_verify);
    if (d->ca_file != NULL && amqp_ssl_socket_set_cacert(sock, d->ca_file) != AMQP_STATUS_OK) {
      snprintf(err, errlen, "ca_file: could not load %s", d->ca_file);
      goto fail;
    }
    if (d->cert_file != NULL &&
        amqp_ssl_socket_set_key(sock, d->cert_file, d->key_file) != AMQP_STATUS_OK) {
      snprintf(err, errlen, "cert_file/key_file: could not load %s / %s", d->cert_file, d->key_file);
      goto fail;
    }
  }
  struct timeval tv = {.tv_sec = d->timeout_ms / 1000, .tv_usec = (d->timeout_ms % 1000) * 1000};
  const output_guard *g = d->env != NULL ? d->env->guard : NULL;
  const char *connect_host = d->host;
  char numeric[INET6_ADDRSTRLEN + 1];
  if (g != NULL) {
    /* SSRF guard (netguard.h): resolve the host ourselves and take an address it allows.
     * Plain TCP connects to that very address (no second lookup to rebind); TLS must
     * connect by name for the certificate check, so the peer is checked again below. */
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    if (output_guard_resolve(g, d->host, d->port, &ss, &sslen, err, errlen) != 0) goto fail;
    if (!d->tls) {
      netguard_addr_text((const struct sockaddr *)&ss, numeric, sizeof numeric);
      connect_host = numeric;
    }
  }
  int st = amqp_socket_open_noblock(sock, connect_host, d->port, &tv);
  if (st != AMQP_STATUS_OK) {
    snprintf(err, errlen, "connect to %s:%d: %s%s", d->host, d->port, amqp_error_string2(st),
             st == AMQP_STATUS_SOCKET_ERROR ? " (refused or unreachable)" : "");
    goto fail;
  }
  /* Bound every blocking write (a broker that stops reading: memory/disk alarm). */
  int fd = amqp_get_sockfd(d->conn);
  if (g != NULL) {
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&peer, &plen) != 0) {
      snprintf(err, errlen, "connect to %s:%d: cannot read the peer address", d->host, d->port);
      goto fail;
    }
    if (output_guard_check(g, (const struct sockaddr *)&peer, err, errlen) != 0) goto fail;
  }
  if (fd >= 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  amqp_set_handshake_timeout(d->conn, &tv);
  amqp_set_rpc_timeout(d->conn, &tv);
  amqp_rpc_reply_t r = amqp_login(d->conn, d->vhost, 0, 131072, d->heartbeat,
                                  AMQP_SASL_METHOD_PLAIN, d->user, d->password);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    rpc_error(r, "login", err, errlen, code);
    goto fail;
  }
  amqp_channel_open(d->conn, EVD_AMQP_CHANNEL);
  if ((r = amqp_get_rpc_reply(d->conn)).reply_type != AMQP_RESPONSE_NORMAL) {
    rpc_error(r, "channel.open", err, errlen, code);
    goto fail;
  }
  if (d->declare) {
    amqp_exchange_declare(d->conn, EVD_AMQP_CHANNEL, amqp_cstring_bytes(d->exchange),
                          amqp_cstring_bytes("topic"), 0, 1, 0, 0, amqp_empty_table);
    if ((r = amqp_get_rpc_reply(d->conn)).reply_type != AMQP_RESPONSE_NORMAL) {
      rpc_error(r, "exchange.declare", err, errlen, code);
      goto fail;
    }
  }
  amqp_confirm_select(d->conn, EVD_AMQP_CHANNEL);
  if ((r = amqp_get_rpc_reply(d->conn)).reply_type != AMQP_RESPONSE_NORMAL) {
    rpc_error(r, "confirm.select", err, errlen, code);
    goto fail;
  }
  d->next_tag = 1;
  if (d->connect_failures > 0 && d->env != NULL && d->env->log != NULL)
    d->env->log(d->env->env_arg, LOG_INFO, "amqp: connected to %s:%d again",
                d->host, d->port);
  d->connect_failures = 0;
  return 0;
fail:
  amqp_destroy_connection(d->conn);
  d->conn = NULL;
  amqp_name_vhost(d, err, errlen);
  if (d->connect_failures++ == 0 && d->env != NULL && d->env->log != NULL)
    d->env->log(d->env->env_arg, LOG_WARN, "amqp: %s", err);
  return -1;
}

/* Append one routing-key part: '.' -> '-', empty -> '*'. */
static int cs_part(buf *out, strv v, int last) {
  if (v.n == 0) {
    if (buf_putc(out, '*') != 0) return -1;
  } else {
    for (size_t i = 0; i < v.n; i++)
      if (buf_putc(out, v.p[i] == '.' ? '-' : v.p[i]) != 0) return -1;
  }
  return last ? 0 : buf_putc(out, '.');
}

static strv label2(const record_view *rv, const char *a, const char *b) {
  strv v = record_label_get(rv, a, strlen(a));
  return v.n ? v : record_label_get(rv, b, strlen(b));
}

/* The routing key of one event into d->rkey. */
static int amqp_routing_key(amqp_dest *d, const record_view *rv) {
  buf_clear(&d->rkey);
  if (!d->cloudstack) {
    if (rv->f[EVF_KEY].n == 0) return buf_puts(&d->rkey, "");
    return buf_append(&d->rkey, rv->f[EVF_KEY].p, rv->f[EVF_KEY].n);
  }
  strv category = label2(rv, "category", "eventCategory");
  if (category.n == 0) category = rv->f[EVF_STREAM];
  return cs_part(&d->rkey, rv->f[EVF_SOURCE], 0) != 0 || cs_part(&d->rkey, category, 0) != 0 ||
                 cs_part(&d->rkey, rv->f[EVF_TYPE], 0) != 0 ||
                 cs_part(&d->rkey, label2(rv, "resource_type", "resourceType"), 0) != 0 ||
                 cs_part(&d->rkey, label2(rv, "resource_uuid", "resourceUuid"), 1) != 0
             ? -1
             : 0;
}

static int amqp_stopping(amqp_dest *d) {
  return d->env != NULL && d->env->stopping != NULL && d->env->stopping(d->env->env_arg);
}

/* Read frames until every tag in [first, first+n) is settled, the timeout, or an error.
 * Marks d->acked[i] (1 ack, 2 nack). Returns 0, or -1 with err (connection unusable) or
 * -2 (timeout / stopping; connection still fine). */
static int amqp_wait_confirms(amqp_dest *d, uint64_t first, size_t n, size_t *unsettled,
                              char *err, size_t errlen, int *code) {
  int64_t deadline = mono_ms() + d->timeout_ms;
  while (*unsettled > 0) {
    amqp_maybe_release_buffers(d->conn);
    if (amqp_stopping(d)) {
      snprintf(err, errlen, "stopped waiting for publisher confirms");
      return -2;
    }
    int64_t left = deadline - mono_ms();
    if (left <= 0) {
      snprintf(err, errlen, "timed out waiting for publisher confirms (%zu of %zu pending)", *unsettled, n);
      return -2;
    }
    if (left > 100) left = 100;
    struct timeval tv = {.tv_sec = 0, .tv_usec = (suseconds_t)left * 1000};
    amqp_frame_t frame;
    int st = amqp_simple_wait_frame_noblock(d->conn, &frame, &tv);
    if (st == AMQP_STATUS_TIMEOUT) continue;
    if (st != AMQP_STATUS_OK) {
      snprintf(err, errlen, "waiting for publisher confirms: %s", amqp_error_string2(st));
      return -1;
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    uint64_t tag = 0;
    int multiple = 0, outcome = 0;
    switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
      amqp_basic_ack_t *a = frame.payload.method.decoded;
      tag = a->delivery_tag, multiple = a->multiple, outcome = 1;
      break;
    }
    case AMQP_BASIC_NACK_METHOD: {
      amqp_basic_nack_t *a = frame.payload.method.decoded;
      tag = a->delivery_tag, multiple = a->multiple, outcome = 2;
      break;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
      amqp_channel_close_t *c = frame.payload.method.decoded;
      *code = c->reply_code;
      snprintf(err, errlen, "channel closed by the broker: %d %.*s", c->reply_code,
               (int)c->reply_text.len, (const char *)c->reply_text.bytes);
      amqp_channel_close_ok_t ok = {0};
      amqp_send_method(d->conn, EVD_AMQP_CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
      return -1;
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
      amqp_connection_close_t *c = frame.payload.method.decoded;
      *code = c->reply_code;
      snprintf(err, errlen, "connection closed by the broker: %d %.*s", c->reply_code,
               (int)c->reply_text.len, (const char *)c->reply_text.bytes);
      amqp_connection_close_ok_t ok = {0};
      amqp_send_method(d->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
      return -1;
    }
    default:
      continue; /* basic.return (not mandatory: not expected), others: ignore */
    }
    uint64_t lo = multiple ? first : tag;
    for (uint64_t t = lo < first ? first : lo; t <= tag && t < first + n; t++)
      if (d->acked[t - first] == 0) {
        d->acked[t - first] = (unsigned char)outcome;
        (*unsettled)--;
      }
  }
  return 0;
}

/* Publish msgs[0..n) with publisher confirms; confirmed = the leading acked ones. */
static void amqp_deliver_batch(void *state, const output_msg *msgs, size_t n, output_result *res) {
  amqp_dest *d = state;
  res->status = OUTPUT_OK;
  res->confirmed = 0;
  res->code = 0;
  res->error[0] = '\0';
  if (n > d->acked_cap) {
    unsigned char *a = realloc(d->acked, n);
    if (a == NULL) {
      res->status = OUTPUT_RETRY;
      snprintf(res->error, sizeof res->error, "out of memory");
      return;
    }
    d->acked = a, d->acked_cap = n;
  }
  for (int attempt = 0;; attempt++) {
    int was_connected = d->conn != NULL;
    if (d->conn == NULL && amqp_connect(d, res->error, sizeof res->error, &res->code) != 0) {
      res->status = OUTPUT_RETRY;
      return;
    }
    memset(d->acked, 0, n);
    uint64_t first = d->next_tag;
    size_t published = 0;
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
      const record_view *rv = &msgs[i].rv;
      if (amqp_routing_key(d, rv) != 0) {
        snprintf(res->error, sizeof res->error, "out of memory building a routing key");
        failed = 1;
        break;
      }
      if (d->rkey.len > EVD_AMQP_ROUTING_KEY_MAX) {
        if (published == 0) { /* this message can never be published */
          res->status = OUTPUT_REJECTED;
          snprintf(res->error, sizeof res->error, "routing key of %zu bytes is over AMQP's 255",
                   d->rkey.len);
          return;
        }
        break; /* confirm what precedes it; it comes first next time */
      }
      amqp_basic_properties_t props;
      memset(&props, 0, sizeof props);
      props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                     AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TYPE_FLAG |
                     AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_APP_ID_FLAG;
      props.content_type = amqp_cstring_bytes("application/json");
      props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
      props.message_id = (amqp_bytes_t){rv->id.n, (void *)rv->id.p};
      props.type = (amqp_bytes_t){rv->f[EVF_TYPE].n, (void *)rv->f[EVF_TYPE].p};
      props.timestamp = (uint64_t)(rv->time_ns > 0 ? rv->time_ns / 1000000000 : 0);
      props.app_id = amqp_cstring_bytes("eventd");
      int st = amqp_basic_publish(d->conn, EVD_AMQP_CHANNEL, amqp_cstring_bytes(d->exchange),
                                  (amqp_bytes_t){d->rkey.len, d->rkey.data}, 0, 0, &props,
                                  (amqp_bytes_t){rv->json.n, (void *)rv->json.p});
      if (st != AMQP_STATUS_OK) {
        snprintf(res->error, sizeof res->error, "basic.publish: %s", amqp_error_string2(st));
        failed = 1;
        break;
      }
      d->next_tag++;
      published++;
    }
    size_t unsettled = published;
    int wr = 0;
    if (!failed && published > 0)
      wr = amqp_wait_confirms(d, first, published, &unsettled, res->error, sizeof res->error, &res->code);
    size_t ok = 0;
    while (ok < published && d->acked[ok] == 1) ok++;
    res->confirmed = ok;
    if (!failed && wr == 0 && ok == n) return;
    if (!failed && wr == 0 && ok == published && published < n) { /* stopped before a long key */
      res->status = OUTPUT_RETRY;
      snprintf(res->error, sizeof res->error, "routing key of event %zu is over AMQP's 255 bytes", ok);
      return;
    }
    if (failed || wr == -1) {
      amqp_disconnect(d, 0);
      /* A connection that was already dead when this call began: reopen it once at once. */
      if (was_connected && attempt == 0 && ok == 0 && !amqp_stopping(d)) {
        if (d->env != NULL && d->env->log != NULL)
          d->env->log(d->env->env_arg, LOG_INFO, "amqp: connection lost while idle (%s); reopening it",
                      res->error);
        continue;
      }
      res->status = OUTPUT_RETRY;
      return;
    }
    res->status = OUTPUT_RETRY;
    if (wr == 0 && ok < published && d->acked[ok] == 2)
      snprintf(res->error, sizeof res->error, "the broker nacked the message (basic.nack)");
    /* wr == -2 (timeout/stopping): unsettled tags of this call may still arrive; start over
     * on a fresh channel so they cannot be mistaken for the next call's. */
    if (wr == -2) amqp_disconnect(d, 0);
    return;
  }
}

/* deliver: one batch, reported as one attempt in the delivery history. */
static void amqp_deliver(void *state, const output_msg *msgs, size_t n, output_result *res) {
  amqp_dest *d = state;
  int64_t t0 = time_mono_ns();
  amqp_deliver_batch(state, msgs, n, res);
  output_record_attempt(d->env, msgs, n, res->code, res->status == OUTPUT_OK,
                        time_mono_ns() - t0, NULL, 0,
                        res->status == OUTPUT_OK ? NULL : res->error);
}

static int amqp_describe(const json_value *spec, buf *out) {
  static const char *const shown[] = {"host",        "port",      "vhost",      "user",
                                      "exchange",    "declare",   "routing_key", "heartbeat",
                                      "timeout_ms",  "tls",       "tls_verify", "ca_file",
                                      "cert_file",   "key_file",  NULL};
  for (size_t i = 0; shown[i] != NULL; i++) {
    const json_value *v = json_get(spec, shown[i]);
    if (v == NULL) continue;
    if (buf_printf(out, ",\"%s\":", shown[i]) != 0 || json_write_value(out, v) != 0) return -1;
  }
  const json_value *url = json_get(spec, "url");
  if (url != NULL && url->type == JSON_STRING &&
      (buf_puts(out, ",\"url\":") != 0 || url_write_redacted(out, url->s) != 0))
    return -1;
  if (json_get(spec, "password") != NULL && buf_puts(out, ",\"password\":\"***\"") != 0) return -1;
  return 0;
}

static void amqp_close_dest(void *state) { amqp_free(state); }

const output_dest_ops output_dest_amqp = {
    .type = "amqp",
    .check = amqp_check,
    .open = amqp_open,
    .deliver = amqp_deliver,
    .describe = amqp_describe,
    .close = amqp_close_dest,
    .check_targets = amqp_check_targets,
};
