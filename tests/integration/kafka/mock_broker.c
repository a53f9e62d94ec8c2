/* mock_broker: a Kafka cluster for the tests, from librdkafka's mock cluster (owner:
 * outputs-dest). It speaks the Kafka protocol over loopback TCP, so eventd and kcat can
 * produce to and consume from it.
 *
 *   mock_broker [TOPIC[:PARTITIONS]]...
 *
 * Creates the topics (1 partition unless given), prints the bootstrap servers
 * ("127.0.0.1:PORT") as one line on stdout, and stays alive until SIGTERM or SIGINT.
 * SIGUSR1 takes the broker down (connections refused/closed), SIGUSR2 brings it back up:
 * the tests use them for "retry after the destination comes back". */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t last_signal; /* the only global: a signal flag */

static void on_signal(int sig) { last_signal = sig; }

int main(int argc, char **argv) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "mock_broker: %s\n", err);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == NULL) {
    fprintf(stderr, "mock_broker: rd_kafka_new: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
  if (mc == NULL) {
    fprintf(stderr, "mock_broker: could not create the mock cluster\n");
    return 1;
  }
  for (int i = 1; i < argc; i++) {
    char name[256];
    snprintf(name, sizeof name, "%s", argv[i]);
    int partitions = 1;
    char *colon = strchr(name, ':');
    if (colon != NULL) {
      *colon = '\0';
      partitions = atoi(colon + 1);
      if (partitions < 1) partitions = 1;
    }
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, partitions, 1);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      fprintf(stderr, "mock_broker: topic %s: %s\n", name, rd_kafka_err2str(e));
      return 1;
    }
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGUSR2, &sa, NULL);
  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  for (;;) {
    pause();
    int sig = last_signal;
    last_signal = 0;
    if (sig == SIGTERM || sig == SIGINT) break;
    if (sig == SIGUSR1 || sig == SIGUSR2) {
      rd_kafka_resp_err_t e = sig == SIGUSR1 ? rd_kafka_mock_broker_set_down(mc, 1)
                                             : rd_kafka_mock_broker_set_up(mc, 1);
      fprintf(stderr, "mock_broker: broker %s (%s)\n", sig == SIGUSR1 ? "down" : "up",
              rd_kafka_err2str(e));
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
