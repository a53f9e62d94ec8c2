/* sink_kafka: events to Kafka in gala-gopher's event JSON shape (probe_event_write_gala),
 * through librdkafka, as gala-gopher's own Kafka output does: no key, batch.num.messages
 * 10000, queue.buffering.max.messages 100000, queue.buffering.max.kbytes 1048576,
 * queue.buffering.max.ms 5, no compression; on QUEUE_FULL the producer is polled and the
 * produce retried 3 times. Unlike gala-gopher, a message that still cannot be queued, or
 * whose delivery report is an error, is counted as failed and logged, never dropped
 * silently. flush() waits for every delivery report. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "probe/sink.h"

typedef struct kafka_sink {
  probe_sink base;
  rd_kafka_t *rk;
  rd_kafka_topic_t *topic;
  buf msg;
  uint64_t delivery_failures;
  char last_error[256];
} kafka_sink;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  kafka_sink *k = opaque;
  (void)rk;
  if (m->err) {
    k->delivery_failures++;
    snprintf(k->last_error, sizeof k->last_error, "kafka delivery: %s", rd_kafka_err2str(m->err));
    fprintf(stderr, "eventd-probe: %s\n", k->last_error);
  }
}

static int kafka_send(probe_sink *s, const probe_event *ev, char *err, size_t errcap) {
  kafka_sink *k = (kafka_sink *)s;
  buf_clear(&k->msg);
  if (probe_event_write_gala(ev, s->host, &k->msg) < 0) {
    snprintf(err, errcap, "out of memory");
    return -1;
  }
  for (int attempt = 0;; attempt++) {
    if (rd_kafka_produce(k->topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, k->msg.data, k->msg.len, NULL, 0,
                         NULL) == 0)
      break;
    rd_kafka_resp_err_t e = rd_kafka_last_error();
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || attempt >= 3) {
      snprintf(err, errcap, "kafka produce: %s", rd_kafka_err2str(e));
      return -1;
    }
    rd_kafka_poll(k->rk, 100);
  }
  rd_kafka_poll(k->rk, 0);
  return 0;
}

static int kafka_flush(probe_sink *s, int timeout_ms, char *err, size_t errcap) {
  kafka_sink *k = (kafka_sink *)s;
  uint64_t before = k->delivery_failures;
  rd_kafka_resp_err_t e = rd_kafka_flush(k->rk, timeout_ms);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errcap, "kafka flush: %s (%d messages not yet delivered)", rd_kafka_err2str(e),
             rd_kafka_outq_len(k->rk));
    return -1;
  }
  if (k->delivery_failures != before) {
    s->failed += k->delivery_failures - before;
    snprintf(err, errcap, "%s", k->last_error);
    return -1;
  }
  return 0;
}

static uint64_t kafka_close(probe_sink *s, int timeout_ms) {
  kafka_sink *k = (kafka_sink *)s;
  rd_kafka_flush(k->rk, timeout_ms);
  uint64_t lost = (uint64_t)rd_kafka_outq_len(k->rk) + k->delivery_failures;
  rd_kafka_topic_destroy(k->topic);
  rd_kafka_destroy(k->rk);
  buf_free(&k->msg);
  free(k);
  return lost;
}

/* Set one producer property; 0 or -1 with err. */
static int set_conf(rd_kafka_conf_t *conf, const char *name, const char *value, char *err, size_t errcap) {
  char e[256];
  if (rd_kafka_conf_set(conf, name, value, e, sizeof e) != RD_KAFKA_CONF_OK) {
    snprintf(err, errcap, "kafka %s=%s: %s", name, value, e);
    return -1;
  }
  return 0;
}

probe_sink *probe_sink_kafka_open(const char *brokers, const char *topic, const probe_host *host, char *err,
                                  size_t errcap) {
  kafka_sink *k = calloc(1, sizeof *k);
  if (!k) {
    snprintf(err, errcap, "out of memory");
    return NULL;
  }
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (set_conf(conf, "bootstrap.servers", brokers, err, errcap) < 0 ||
      set_conf(conf, "batch.num.messages", "10000", err, errcap) < 0 ||
      set_conf(conf, "queue.buffering.max.messages", "100000", err, errcap) < 0 ||
      set_conf(conf, "queue.buffering.max.kbytes", "1048576", err, errcap) < 0 ||
      set_conf(conf, "queue.buffering.max.ms", "5", err, errcap) < 0 ||
      set_conf(conf, "compression.codec", "none", err, errcap) < 0) {
    rd_kafka_conf_destroy(conf);
    free(k);
    return NULL;
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, k);
  char e[512];
  k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
  if (!k->rk) {
    snprintf(err, errcap, "kafka producer: %s", e);
    rd_kafka_conf_destroy(conf);
    free(k);
    return NULL;
  }
  k->topic = rd_kafka_topic_new(k->rk, topic, NULL);
  if (!k->topic) {
    snprintf(err, errcap, "kafka topic '%s': %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
    rd_kafka_destroy(k->rk);
    free(k);
    return NULL;
  }
  k->base.kind = "kafka";
  k->base.send = kafka_send;
  k->base.flush = kafka_flush;
  k->base.close = kafka_close;
  k->base.host = host;
  buf_init(&k->msg);
  return &k->base;
}
