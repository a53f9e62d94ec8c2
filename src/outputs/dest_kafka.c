/* dest_kafka: the Kafka destination — a librdkafka producer per output (owner: outputs-dest;
 * issue 4; docs/outputs-destinations.md is the user's reference).
 *
 * Spec members (besides the common ones the dispatcher reads):
 *   brokers      bootstrap servers "host:port[,host:port...]" (required)
 *   topic        fixed name or a template with {stream} {type} {tenant} {key} {tag} {source}
 *                (default "eventd"; "gala_gopher_event" in gala-gopher format)
 *   key          message key: "key" (the event's key, default), "tag", or "none"
 *                (default "none" in gala-gopher format, as gala-gopher sends no key)
 *   format       "eventd" (value = the event's canonical JSON, default) or "gala-gopher"
 *                (value = gala-gopher's OpenTelemetry-log JSON, see gala_value below)
 *   compression  none | gzip | snappy | lz4 | zstd (default none)
 *   timeout_ms   how long a delivery may take (librdkafka's message.timeout.ms; default 30000)
 *   properties   {"librdkafka.property": "value", ...} passed through (applied last)
 *
 * The producer is idempotent with acks=all. deliver produces every message of the batch,
 * then polls (in steps of 100 ms, checking env->stopping) until every delivery report came
 * back or timeout_ms + 5 s passed. confirmed = the leading run of successful reports. Each
 * message's opaque carries (generation << 32 | index), so reports of an earlier call that gave
 * up waiting are recognized and ignored. A fatal error of the idempotent producer destroys it;
 * the next deliver creates a new one.
 *
 * Tenant-owned outputs (env->guard, issue 7): librdkafka's connect callback checks every
 * broker address with the SSRF guard (outputs/netguard.h) and connects the socket itself; a
 * refusal fails the waiting deliver call at once (its message in res->error) and the
 * producer is recreated; literal local broker addresses are refused at create.
 *
 * A substituted template field has characters outside Kafka's topic alphabet
 * [A-Za-z0-9._-] replaced by '_'; an empty field becomes "_". */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/event.h"
#include "core/timeutil.h"
#include "outputs/hmac.h"
#include "outputs/netguard.h"
#include "outputs/output.h"
#include "server/log.h"

#define KAFKA_DEFAULT_TIMEOUT_MS 30000
#define KAFKA_TOPIC_MAX 249

typedef enum { KEY_KEY, KEY_TAG, KEY_NONE } kafka_key_mode;

/* Per-message outcome of the current deliver call. */
enum { KMSG_UNSENT = 0, KMSG_PENDING, KMSG_DONE };
typedef struct kafka_slot {
  int state;
  rd_kafka_resp_err_t err;
} kafka_slot;

typedef struct kafka_dest {
  const output_env *env;
  rd_kafka_t *rk;          /* NULL until the first deliver, or after a fatal error */
  char *brokers;
  char *topic;             /* template */
  kafka_key_mode key_mode;
  int gala;                /* gala-gopher value format */
  char *compression;
  int64_t timeout_ms;
  char **props;            /* name, value, name, value, ... */
  size_t nprops;
  uint32_t generation;     /* of the current deliver call */
  kafka_slot *slots;
  size_t nslots_cap;
  size_t pending;
  rd_kafka_resp_err_t last_logged_err;
  buf value, topic_buf;
  /* SSRF guard refusals, written by librdkafka's broker threads (kafka_on_connect) */
  pthread_mutex_t guard_mu;
  uint64_t guard_refusals;
  char guard_error[256];
} kafka_dest;

static const char *const kafka_members[] = {"brokers", "topic",      "key",        "format",
                                            "compression", "timeout_ms", "properties", NULL};

static int64_t mono_ms(void) { return time_mono_ns() / NS_PER_MS; }

/* Check the template: balanced braces naming known fields. */
static int topic_template_ok(const char *t, char *err, size_t errlen) {
  static const char *const fields[] = {"stream", "type", "tenant", "key", "tag", "source", NULL};
  size_t len = strlen(t);
  if (len == 0 || len > KAFKA_TOPIC_MAX) {
    snprintf(err, errlen, "topic: must be 1 to %d characters", KAFKA_TOPIC_MAX);
    return -1;
  }
  for (const char *p = t; *p;) {
    if (*p == '{') {
      const char *e = strchr(p, '}');
      int known = 0;
      for (size_t i = 0; e != NULL && !known && fields[i] != NULL; i++)
        known = (size_t)(e - p - 1) == strlen(fields[i]) && strncmp(p + 1, fields[i], (size_t)(e - p - 1)) == 0;
      if (!known) {
        snprintf(err, errlen,
                 "topic: unknown template field at '%.32s' (use {stream} {type} {tenant} {key} "
                 "{tag} {source})",
                 p);
        return -1;
      }
      p = e + 1;
      continue;
    }
    char c = *p++;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '_' || c == '-')) {
      snprintf(err, errlen, "topic: '%c' is not allowed in a Kafka topic name", c);
      return -1;
    }
  }
  return 0;
}

/* Build a librdkafka configuration from the spec's values (NULL on error, with err).
 * On success the caller owns the conf (rd_kafka_new takes it). */
static rd_kafka_conf_t *kafka_conf_build(const char *brokers, const char *compression,
                                         int64_t timeout_ms, const json_value *props_obj,
                                         char *const *props, size_t nprops, char *err,
                                         size_t errlen) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (conf == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  char tmo[32], kerr[256];
  snprintf(tmo, sizeof tmo, "%" PRId64, timeout_ms);
  const char *base[][2] = {{"bootstrap.servers", brokers},
                           {"acks", "all"},
                           {"enable.idempotence", "true"},
                           {"compression.type", compression},
                           {"message.timeout.ms", tmo},
                           {"linger.ms", "1"},
                           {"client.id", "eventd"}};
  for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
    if (rd_kafka_conf_set(conf, base[i][0], base[i][1], kerr, sizeof kerr) != RD_KAFKA_CONF_OK) {
      snprintf(err, errlen, "%s: %.200s", i == 0 ? "brokers" : i == 3 ? "compression" : base[i][0], kerr);
      rd_kafka_conf_destroy(conf);
      return NULL;
    }
  if (props_obj != NULL)
    for (const json_value *m = props_obj->child; m != NULL; m = m->next) {
      size_t vlen;
      const char *v = spec_scalar(m, &vlen);
      char *value = strndup(v, vlen);
      int bad = value == NULL ||
                rd_kafka_conf_set(conf, m->key, value, kerr, sizeof kerr) != RD_KAFKA_CONF_OK;
      if (value == NULL) snprintf(kerr, sizeof kerr, "out of memory");
      free(value);
      if (bad) {
        snprintf(err, errlen, "properties.%.64s: %.160s", m->key, kerr);
        rd_kafka_conf_destroy(conf);
        return NULL;
      }
    }
  for (size_t i = 0; i + 1 < nprops * 2; i += 2)
    if (rd_kafka_conf_set(conf, props[i], props[i + 1], kerr, sizeof kerr) != RD_KAFKA_CONF_OK) {
      snprintf(err, errlen, "properties.%.64s: %.160s", props[i], kerr);
      rd_kafka_conf_destroy(conf);
      return NULL;
    }
  return conf;
}

/* Read and check every Kafka member; the strings point into spec. */
typedef struct kafka_spec {
  const char *brokers, *topic, *key, *format, *compression;
  int64_t timeout_ms;
  const json_value *props;
} kafka_spec;

static int kafka_read_spec(const json_value *spec, kafka_spec *ks, char *err, size_t errlen) {
  memset(ks, 0, sizeof *ks);
  ks->timeout_ms = KAFKA_DEFAULT_TIMEOUT_MS;
  if (spec_refuse_unknown(spec, kafka_members, "kafka", err, errlen) != 0 ||
      spec_string(spec, "brokers", &ks->brokers, err, errlen) != 0 ||
      spec_string(spec, "topic", &ks->topic, err, errlen) != 0 ||
      spec_string(spec, "key", &ks->key, err, errlen) != 0 ||
      spec_string(spec, "format", &ks->format, err, errlen) != 0 ||
      spec_string(spec, "compression", &ks->compression, err, errlen) != 0 ||
      spec_int(spec, "timeout_ms", 100, 3600000, &ks->timeout_ms, err, errlen) != 0 ||
      spec_string_map(spec, "properties", &ks->props, err, errlen) != 0)
    return -1;
  if (ks->brokers == NULL || ks->brokers[0] == '\0') {
    snprintf(err, errlen, "brokers: required for a kafka output (\"host:port,...\")");
    return -1;
  }
  if (ks->format == NULL) ks->format = "eventd";
  if (strcmp(ks->format, "eventd") != 0 && strcmp(ks->format, "gala-gopher") != 0) {
    snprintf(err, errlen, "format: expected \"eventd\" or \"gala-gopher\"");
    return -1;
  }
  int gala = strcmp(ks->format, "gala-gopher") == 0;
  if (ks->topic == NULL) ks->topic = gala ? "gala_gopher_event" : "eventd";
  if (ks->key == NULL) ks->key = gala ? "none" : "key";
  if (strcmp(ks->key, "key") != 0 && strcmp(ks->key, "tag") != 0 && strcmp(ks->key, "none") != 0) {
    snprintf(err, errlen, "key: expected \"key\", \"tag\" or \"none\"");
    return -1;
  }
  if (ks->compression == NULL) ks->compression = "none";
  static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};
  int known = 0;
  for (size_t i = 0; !known && codecs[i] != NULL; i++) known = strcmp(ks->compression, codecs[i]) == 0;
  if (!known) {
    snprintf(err, errlen, "compression: expected none, gzip, snappy, lz4 or zstd");
    return -1;
  }
  return topic_template_ok(ks->topic, err, errlen);
}

/* Check the Kafka members, including every librdkafka property (by building, then dropping,
 * a configuration: no connection). */
static int kafka_check(const json_value *spec, char *err, size_t errlen) {
  kafka_spec ks;
  if (kafka_read_spec(spec, &ks, err, errlen) != 0) return -1;
  rd_kafka_conf_t *conf = kafka_conf_build(ks.brokers, ks.compression, ks.timeout_ms, ks.props,
                                           NULL, 0, err, errlen);
  if (conf == NULL) return -1;
  rd_kafka_conf_destroy(conf);
  return 0;
}

static void kafka_free(kafka_dest *k) {
  if (k == NULL) return;
  if (k->rk != NULL) {
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(k->rk, 0);
    rd_kafka_destroy(k->rk);
  }
  free(k->brokers);
  free(k->topic);
  free(k->compression);
  for (size_t i = 0; i < k->nprops * 2; i++) free(k->props[i]);
  free(k->props);
  free(k->slots);
  buf_free(&k->value);
  buf_free(&k->topic_buf);
  pthread_mutex_destroy(&k->guard_mu);
  free(k);
}

static int kafka_check_targets(const json_value *spec, const output_guard *g, char *err,
                               size_t errlen);

/* Create the state (the producer itself is created by the first deliver). */
static int kafka_open(const json_value *spec, const output_env *env, void **state, char *err,
                      size_t errlen) {
  kafka_spec ks;
  if (kafka_check(spec, err, errlen) != 0 || kafka_read_spec(spec, &ks, err, errlen) != 0) return -1;
  /* a tenant's output created before these rules existed is held to them too */
  if (env != NULL && env->guard != NULL && kafka_check_targets(spec, env->guard, err, errlen) != 0)
    return -1;
  kafka_dest *k = calloc(1, sizeof *k);
  if (k == NULL) goto oom;
  k->env = env;
  pthread_mutex_init(&k->guard_mu, NULL);
  buf_init(&k->value);
  buf_init(&k->topic_buf);
  k->gala = strcmp(ks.format, "gala-gopher") == 0;
  k->key_mode = strcmp(ks.key, "tag") == 0 ? KEY_TAG : strcmp(ks.key, "none") == 0 ? KEY_NONE : KEY_KEY;
  k->timeout_ms = ks.timeout_ms;
  if ((k->brokers = strdup(ks.brokers)) == NULL || (k->topic = strdup(ks.topic)) == NULL ||
      (k->compression = strdup(ks.compression)) == NULL)
    goto oom;
  if (ks.props != NULL && ks.props->n > 0) {
    if ((k->props = calloc((size_t)ks.props->n * 2, sizeof *k->props)) == NULL) goto oom;
    for (const json_value *m = ks.props->child; m != NULL; m = m->next) {
      k->props[k->nprops * 2] = strdup(m->key);
      size_t vlen;
      const char *v = spec_scalar(m, &vlen);
      k->props[k->nprops * 2 + 1] = strndup(v, vlen);
      k->nprops++;
      if (k->props[k->nprops * 2 - 2] == NULL || k->props[k->nprops * 2 - 1] == NULL) goto oom;
    }
  }
  *state = k;
  return 0;
oom:
  snprintf(err, errlen, "out of memory");
  kafka_free(k);
  return -1;
}

/* Delivery report (called from rd_kafka_poll on the worker thread). */
static void kafka_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  kafka_dest *k = opaque;
  uint64_t tag = (uint64_t)(uintptr_t)m->_private;
  uint32_t gen = (uint32_t)(tag >> 32), idx = (uint32_t)tag;
  if (gen != k->generation || idx >= k->nslots_cap || k->slots[idx].state != KMSG_PENDING) return;
  k->slots[idx].state = KMSG_DONE;
  k->slots[idx].err = m->err;
  k->pending--;
}

/* Client-level errors (broker down, ...): logged once per distinct error. */
static void kafka_on_error(rd_kafka_t *rk, int code, const char *reason, void *opaque) {
  (void)rk;
  kafka_dest *k = opaque;
  if ((rd_kafka_resp_err_t)code == k->last_logged_err) return;
  k->last_logged_err = (rd_kafka_resp_err_t)code;
  if (k->env != NULL && k->env->log != NULL)
    k->env->log(k->env->env_arg, LOG_WARN, "kafka: %s", reason);
}

/* librdkafka's own log lines (internal threads): only warnings and worse, to the daemon log. */
static void kafka_on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf_) {
  kafka_dest *k = rd_kafka_opaque(rk);
  if (level > 4 || k == NULL || k->env == NULL || k->env->log == NULL) return;
  k->env->log(k->env->env_arg, LOG_WARN, "librdkafka %s: %s", fac, buf_);
}

/* librdkafka's connect callback (broker threads): the SSRF guard (netguard.h) checks every
 * resolved broker address before the connect; a refused one fails with EACCES and its reason
 * is kept for the deliver call to report. Otherwise connect the (non-blocking) socket. */
static int kafka_on_connect(int sockfd, const struct sockaddr *addr, int addrlen, const char *id,
                            void *opaque) {
  (void)id;
  kafka_dest *k = opaque;
  char msg[256];
  if (output_guard_check(k->env != NULL ? k->env->guard : NULL, addr, msg, sizeof msg) != 0) {
    pthread_mutex_lock(&k->guard_mu);
    k->guard_refusals++;
    memcpy(k->guard_error, msg, sizeof k->guard_error);
    pthread_mutex_unlock(&k->guard_mu);
    return EACCES;
  }
  if (connect(sockfd, addr, (socklen_t)addrlen) == -1 && errno != EINPROGRESS) return errno;
  return 0;
}

/* The guard refusals so far, and the last one's message into err (when any). */
static uint64_t kafka_guard_refusals(kafka_dest *k, char *err, size_t errlen) {
  pthread_mutex_lock(&k->guard_mu);
  uint64_t n = k->guard_refusals;
  if (n && err != NULL) snprintf(err, errlen, "%s", k->guard_error);
  pthread_mutex_unlock(&k->guard_mu);
  return n;
}

/* Why a librdkafka property must not be set by a tenant-owned output, or NULL when it may:
 * it names a file on the host, runs a command, loads code, or makes librdkafka fetch a URL
 * itself (outside the connect callback and so outside the SSRF guard). */
static const char *kafka_property_host_use(const char *name) {
  size_t n = strlen(name);
  if (n >= 9 && strcmp(name + n - 9, ".location") == 0) return "names a file on the daemon's host";
  if (strcmp(name, "plugin.library.paths") == 0) return "loads code into the daemon";
  if (strncmp(name, "ssl.engine", 10) == 0 || strcmp(name, "ssl_engine_location") == 0 ||
      strcmp(name, "ssl.providers") == 0)
    return "loads OpenSSL engines or providers into the daemon";
  if (strncmp(name, "sasl.kerberos.", 14) == 0)
    return "runs kinit or reads a keytab on the daemon's host";
  if (strncmp(name, "sasl.oauthbearer.", 17) == 0)
    return "makes librdkafka fetch tokens itself, outside the SSRF guard";
  return NULL;
}

/* check_targets: no property that uses the daemon's host (kafka_property_host_use); every
 * broker "host:port" of brokers whose host is a literal IP address. */
static int kafka_check_targets(const json_value *spec, const output_guard *g, char *err,
                               size_t errlen) {
  const json_value *props = json_get(spec, "properties");
  if (props != NULL && props->type == JSON_OBJECT)
    for (const json_value *m = props->child; m != NULL; m = m->next) {
      const char *why = kafka_property_host_use(m->key);
      if (why != NULL) {
        snprintf(err, errlen, "properties.%.64s: %s; outputs owned by tenant %s may not set it "
                 "(an admin's output may)", m->key, why, g->owner);
        return -1;
      }
    }
  const json_value *b = json_get(spec, "brokers");
  if (b == NULL || b->type != JSON_STRING) return 0;
  for (const char *p = b->s; *p;) {
    while (*p == ',' || *p == ' ') p++;
    size_t n = strcspn(p, ", ");
    if (n == 0) break;
    const char *item = p, *end = p + n;
    const char *at = strstr(item, "://"); /* "PLAINTEXT://host:port" */
    if (at != NULL && at < end) item = at + 3;
    const char *colon = NULL;
    if (*item == '[') {
      const char *rb = memchr(item, ']', (size_t)(end - item));
      colon = rb != NULL && rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
    } else {
      colon = memchr(item, ':', (size_t)(end - item));
    }
    size_t hostlen = colon ? (size_t)(colon - item) : (size_t)(end - item);
    int port = colon ? atoi(colon + 1) : 9092;
    if (output_guard_check_host(g, "brokers", item, hostlen, port, err, errlen) != 0) return -1;
    p = end;
  }
  return 0;
}

static int kafka_connect(kafka_dest *k, char *err, size_t errlen) {
  rd_kafka_conf_t *conf = kafka_conf_build(k->brokers, k->compression, k->timeout_ms, NULL,
                                           k->props, k->nprops, err, errlen);
  if (conf == NULL) return -1;
  rd_kafka_conf_set_opaque(conf, k);
  rd_kafka_conf_set_dr_msg_cb(conf, kafka_on_delivery);
  rd_kafka_conf_set_error_cb(conf, kafka_on_error);
  rd_kafka_conf_set_log_cb(conf, kafka_on_log);
  if (k->env != NULL && k->env->guard != NULL) rd_kafka_conf_set_connect_cb(conf, kafka_on_connect);
  char kerr[256];
  k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof kerr);
  if (k->rk == NULL) {
    rd_kafka_conf_destroy(conf);
    snprintf(err, errlen, "kafka producer: %.200s", kerr);
    return -1;
  }
  return 0;
}

/* Append src with characters outside Kafka's topic alphabet replaced by '_' ("_" if empty). */
static int topic_append_field(buf *out, strv v) {
  if (v.n == 0) return buf_putc(out, '_');
  for (size_t i = 0; i < v.n; i++) {
    char c = v.p[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '_' || c == '-'))
      c = '_';
    if (buf_putc(out, c) != 0) return -1;
  }
  return 0;
}

/* The topic of one event: the template with its fields substituted (capped at 249 bytes). */
static int kafka_topic_of(kafka_dest *k, const record_view *rv) {
  buf *out = &k->topic_buf;
  buf_clear(out);
  if (strchr(k->topic, '{') == NULL) return buf_puts(out, k->topic);
  for (const char *p = k->topic; *p;) {
    if (*p != '{') {
      if (buf_putc(out, *p++) != 0) return -1;
      continue;
    }
    const char *e = strchr(p, '}');
    size_t n = (size_t)(e - p - 1);
    int f = -1;
    if (n == 6 && strncmp(p + 1, "stream", 6) == 0) f = EVF_STREAM;
    else if (n == 4 && strncmp(p + 1, "type", 4) == 0) f = EVF_TYPE;
    else if (n == 6 && strncmp(p + 1, "tenant", 6) == 0) f = EVF_TENANT;
    else if (n == 3 && strncmp(p + 1, "key", 3) == 0) f = EVF_KEY;
    else if (n == 3 && strncmp(p + 1, "tag", 3) == 0) f = EVF_TAG;
    else f = EVF_SOURCE;
    if (topic_append_field(out, rv->f[f]) != 0) return -1;
    p = e + 1;
  }
  if (out->len > KAFKA_TOPIC_MAX) out->len = KAFKA_TOPIC_MAX, out->data[out->len] = '\0';
  return 0;
}

/* gala-gopher's event JSON (its OpenTelemetry-log shape) for one event:
 *   {"Timestamp":<ms>,"event_id":"<ms>_<entity_id>",
 *    "Attributes":{"entity_id":..,"event_id":..,"event_type":"sys","eventd_id":..},
 *    "Resource":{"metric":<label metric or type>,"labels":{<the event's labels>}},
 *    "SeverityText":"ERROR","SeverityNumber":17,"Body":<message or type>}
 * entity_id = label entity_id, else source, else key; event_type = label event_type or "sys". */
static int gala_value(kafka_dest *k, const record_view *rv, buf *out) {
  strv entity = record_label_get(rv, "entity_id", 9);
  if (entity.n == 0) entity = rv->f[EVF_SOURCE];
  if (entity.n == 0) entity = rv->f[EVF_KEY];
  strv etype = record_label_get(rv, "event_type", 10);
  strv metric = record_label_get(rv, "metric", 6);
  if (metric.n == 0) metric = rv->f[EVF_TYPE];
  strv body = rv->f[EVF_MESSAGE].n ? rv->f[EVF_MESSAGE] : rv->f[EVF_TYPE];
  int64_t ms = rv->time_ns / 1000000;
  (void)k;
  buf_clear(out);
  buf eid = BUF_INIT;
  int rc = buf_printf(&eid, "%" PRId64 "_", ms) != 0 || buf_append(&eid, entity.p, entity.n) != 0 ||
           buf_printf(out, "{\"Timestamp\":%" PRId64 ",\"event_id\":", ms) != 0 ||
           json_write_string(out, eid.data, eid.len) != 0 ||
           buf_puts(out, ",\"Attributes\":{\"entity_id\":") != 0 ||
           json_write_string(out, entity.p, entity.n) != 0 || buf_puts(out, ",\"event_id\":") != 0 ||
           json_write_string(out, eid.data, eid.len) != 0 || buf_puts(out, ",\"event_type\":") != 0 ||
           json_write_string(out, etype.n ? etype.p : "sys", etype.n ? etype.n : 3) != 0 ||
           buf_puts(out, ",\"eventd_id\":") != 0 || json_write_string(out, rv->id.p, rv->id.n) != 0 ||
           buf_puts(out, "},\"Resource\":{\"metric\":") != 0 ||
           json_write_string(out, metric.p, metric.n) != 0 || buf_puts(out, ",\"labels\":{") != 0;
  size_t pos = 0;
  strv lk, lv;
  for (int first = 1; rc == 0 && record_label_next(rv, &pos, &lk, &lv); first = 0)
    rc = (!first && buf_putc(out, ',') != 0) || json_write_string(out, lk.p, lk.n) != 0 ||
         buf_putc(out, ':') != 0 || json_write_string(out, lv.p, lv.n) != 0;
  if (rc == 0)
    rc = buf_printf(out, "}},\"SeverityText\":\"%s\",\"SeverityNumber\":%d,\"Body\":",
                    severity_text(rv->severity), rv->severity) != 0 ||
         json_write_string(out, body.p, body.n) != 0 || buf_putc(out, '}') != 0;
  buf_free(&eid);
  return rc ? -1 : 0;
}

/* Errors that retrying the same message cannot fix. */
static int kafka_err_permanent(rd_kafka_resp_err_t e) {
  return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || e == RD_KAFKA_RESP_ERR_INVALID_MSG ||
         e == RD_KAFKA_RESP_ERR_INVALID_RECORD || e == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE ||
         e == RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION || e == RD_KAFKA_RESP_ERR__INVALID_ARG ||
         e == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE;
}

static int kafka_stopping(kafka_dest *k) {
  return k->env != NULL && k->env->stopping != NULL && k->env->stopping(k->env->env_arg);
}

/* Produce msgs[0..n), wait for their delivery reports, confirm the leading successes. */
static void kafka_deliver_batch(void *state, const output_msg *msgs, size_t n, output_result *res) {
  kafka_dest *k = state;
  res->status = OUTPUT_OK;
  res->confirmed = 0;
  res->code = 0;
  res->error[0] = '\0';
  if (k->rk == NULL && kafka_connect(k, res->error, sizeof res->error) != 0) {
    res->status = OUTPUT_RETRY;
    return;
  }
  if (n > k->nslots_cap) {
    kafka_slot *s = realloc(k->slots, n * sizeof *s);
    if (s == NULL) {
      res->status = OUTPUT_RETRY;
      snprintf(res->error, sizeof res->error, "out of memory for %zu delivery slots", n);
      return;
    }
    k->slots = s;
    k->nslots_cap = n;
  }
  memset(k->slots, 0, n * sizeof *k->slots);
  k->generation++;
  k->pending = 0;
  int64_t deadline = mono_ms() + k->timeout_ms + 5000;
  uint64_t refusals0 = kafka_guard_refusals(k, NULL, 0);
  size_t produced = 0;
  rd_kafka_resp_err_t produce_err = RD_KAFKA_RESP_ERR_NO_ERROR;

  for (size_t i = 0; i < n; i++) {
    const record_view *rv = &msgs[i].rv;
    const char *value = rv->json.p;
    size_t value_len = rv->json.n;
    if (k->gala) {
      if (gala_value(k, rv, &k->value) != 0) {
        produce_err = RD_KAFKA_RESP_ERR__FAIL;
        snprintf(res->error, sizeof res->error, "out of memory formatting event %zu", i);
        break;
      }
      value = k->value.data, value_len = k->value.len;
    }
    if (kafka_topic_of(k, rv) != 0) {
      produce_err = RD_KAFKA_RESP_ERR__FAIL;
      snprintf(res->error, sizeof res->error, "out of memory building the topic");
      break;
    }
    strv key = k->key_mode == KEY_KEY ? rv->f[EVF_KEY] : k->key_mode == KEY_TAG ? rv->f[EVF_TAG] : (strv){NULL, 0};
    void *tag = (void *)(uintptr_t)((uint64_t)k->generation << 32 | (uint32_t)i);
    for (;;) {
      rd_kafka_resp_err_t e = rd_kafka_producev(
          k->rk, RD_KAFKA_V_TOPIC(k->topic_buf.data), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_VALUE((void *)value, value_len),
          RD_KAFKA_V_KEY(key.n ? (void *)key.p : NULL, key.n), RD_KAFKA_V_OPAQUE(tag),
          RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && mono_ms() < deadline && !kafka_stopping(k)) {
        rd_kafka_poll(k->rk, 50);
        continue;
      }
      produce_err = e;
      break;
    }
    if (produce_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      snprintf(res->error, sizeof res->error, "kafka produce to %.100s: %.120s", k->topic_buf.data,
               rd_kafka_err2str(produce_err));
      break;
    }
    k->slots[i].state = KMSG_PENDING;
    k->pending++;
    produced++;
  }

  /* Wait for the reports of everything produced. */
  rd_kafka_poll(k->rk, 0);
  int refused = 0;
  while (k->pending > 0 && mono_ms() < deadline && !kafka_stopping(k)) {
    rd_kafka_poll(k->rk, 100);
    /* A broker address the SSRF guard refused: fail now rather than at the timeout. */
    if (kafka_guard_refusals(k, NULL, 0) != refusals0) {
      refused = 1;
      break;
    }
  }

  size_t ok = 0;
  while (ok < produced && k->slots[ok].state == KMSG_DONE && k->slots[ok].err == RD_KAFKA_RESP_ERR_NO_ERROR)
    ok++;
  res->confirmed = ok;
  if (ok == n) return;
  res->status = OUTPUT_RETRY;
  if (refused && ok < produced && k->slots[ok].state != KMSG_DONE) {
    kafka_guard_refusals(k, res->error, sizeof res->error);
    res->code = RD_KAFKA_RESP_ERR__TRANSPORT;
    /* The producer still holds the messages: drop it so that they are not sent later
     * behind the dispatcher's back (the next deliver creates a new one). */
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(k->rk, 0);
    rd_kafka_destroy(k->rk);
    k->rk = NULL;
    return;
  }
  if (ok < produced) {
    if (k->slots[ok].state != KMSG_DONE) {
      res->code = RD_KAFKA_RESP_ERR__TIMED_OUT;
      snprintf(res->error, sizeof res->error, "%s waiting for kafka delivery reports (%zu of %zu pending)",
               kafka_stopping(k) ? "stopped" : "timed out", k->pending, produced);
    } else {
      rd_kafka_resp_err_t e = k->slots[ok].err;
      res->code = e;
      if (kafka_err_permanent(e)) res->status = OUTPUT_REJECTED;
      snprintf(res->error, sizeof res->error, "kafka delivery failed: %.200s", rd_kafka_err2str(e));
    }
  } else { /* msgs[ok] was never produced */
    res->code = produce_err;
    if (kafka_err_permanent(produce_err)) res->status = OUTPUT_REJECTED;
  }
  if (k->rk != NULL) {
    char fatal[256];
    rd_kafka_resp_err_t fe = rd_kafka_fatal_error(k->rk, fatal, sizeof fatal);
    if (fe != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (k->env != NULL && k->env->log != NULL)
        k->env->log(k->env->env_arg, LOG_WARN, "kafka producer fatal error (%s): %s; recreating it",
                    rd_kafka_err2name(fe), fatal);
      rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(k->rk, 0);
      rd_kafka_destroy(k->rk);
      k->rk = NULL;
    }
  }
}

/* deliver: one batch, reported as one attempt in the delivery history. */
static void kafka_deliver(void *state, const output_msg *msgs, size_t n, output_result *res) {
  kafka_dest *k = state;
  int64_t t0 = time_mono_ns();
  kafka_deliver_batch(state, msgs, n, res);
  output_record_attempt(k->env, msgs, n, res->code, res->status == OUTPUT_OK,
                        time_mono_ns() - t0, NULL, 0,
                        res->status == OUTPUT_OK ? NULL : res->error);
}

static int kafka_describe(const json_value *spec, buf *out) {
  static const char *const shown[] = {"brokers", "topic", "key", "format", "compression", "timeout_ms", NULL};
  for (size_t i = 0; shown[i] != NULL; i++) {
    const json_value *v = json_get(spec, shown[i]);
    if (v == NULL) continue;
    if (buf_printf(out, ",\"%s\":", shown[i]) != 0 || json_write_value(out, v) != 0) return -1;
  }
  const json_value *props = json_get(spec, "properties");
  if (props != NULL && props->type == JSON_OBJECT) {
    if (buf_puts(out, ",\"properties\":{") != 0) return -1;
    for (const json_value *m = props->child; m != NULL; m = m->next) {
      int secret = strstr(m->key, "password") != NULL || strstr(m->key, "secret") != NULL ||
                   strstr(m->key, "key") != NULL || strstr(m->key, "token") != NULL;
      if ((m != props->child && buf_putc(out, ',') != 0) ||
          json_write_string(out, m->key, m->key_len) != 0 || buf_putc(out, ':') != 0 ||
          (secret ? buf_puts(out, "\"***\"") : json_write_value(out, m)) != 0)
        return -1;
    }
    if (buf_putc(out, '}') != 0) return -1;
  }
  return 0;
}

static void kafka_close(void *state) { kafka_free(state); }

const output_dest_ops output_dest_kafka = {
    .type = "kafka",
    .check = kafka_check,
    .open = kafka_open,
    .deliver = kafka_deliver,
    .describe = kafka_describe,
    .close = kafka_close,
    .check_targets = kafka_check_targets,
};
