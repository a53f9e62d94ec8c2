/* Unit tests of the Kafka destination (src/outputs/dest_kafka.c), driven directly with a
 * fake output_env against librdkafka's mock cluster started inside the test, consumed back
 * with a librdkafka consumer. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/json.h"
#include "outputs/netguard.h"
#include "outputs/output.h"
#include "test-dest-util.h"
#include "test.h"

typedef struct mock_kafka {
  rd_kafka_t *rk;
  rd_kafka_mock_cluster_t *mc;
  char bootstraps[256];
} mock_kafka;

static void mock_kafka_start(mock_kafka *mk, const char *topic) {
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  ASSERT(rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err) == RD_KAFKA_CONF_OK);
  mk->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT(mk->rk != NULL);
  mk->mc = rd_kafka_mock_cluster_new(mk->rk, 1);
  ASSERT(mk->mc != NULL);
  if (topic != NULL) ASSERT(rd_kafka_mock_topic_create(mk->mc, topic, 1, 1) == 0);
  snprintf(mk->bootstraps, sizeof mk->bootstraps, "%s", rd_kafka_mock_cluster_bootstraps(mk->mc));
}

static void mock_kafka_stop(mock_kafka *mk) {
  rd_kafka_mock_cluster_destroy(mk->mc);
  rd_kafka_destroy(mk->rk);
}

/* Read messages of partition 0 of topic from the beginning: until max arrived, or at least
 * min arrived and none came for 1 s, or 30 s passed. Keys and values are copied into
 * keys[i] / values[i] (malloc'd). Returns the count. */
static int consume_range(const char *bootstraps, const char *topic, int min, int max, char **keys,
                         char **values) {
  char err[256];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  ASSERT(rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err) == RD_KAFKA_CONF_OK);
  ASSERT(rd_kafka_conf_set(conf, "group.id", "t", err, sizeof err) == RD_KAFKA_CONF_OK);
  ASSERT(rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err) == RD_KAFKA_CONF_OK);
  rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  ASSERT(c != NULL);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  ASSERT(rd_kafka_assign(c, parts) == 0);
  rd_kafka_topic_partition_list_destroy(parts);
  int n = 0, idle_polls = 0;
  time_t end = time(NULL) + 30;
  while (n < max && time(NULL) < end && !(n >= min && idle_polls >= 5)) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
    if (m == NULL) {
      idle_polls++;
      continue;
    }
    idle_polls = 0;
    if (m->err == 0) {
      keys[n] = m->key ? strndup(m->key, m->key_len) : NULL;
      values[n] = strndup(m->payload, m->len);
      n++;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  return n;
}

static int consume_all(const char *bootstraps, const char *topic, int max, char **keys, char **values) {
  return consume_range(bootstraps, topic, max, max, keys, values);
}

static void *open_dest(arena *a, const char *text, fake_env *fe) {
  json_error je;
  json_value *spec = json_parse(a, text, strlen(text), 0, &je);
  ASSERT(spec != NULL);
  void *st = NULL;
  char err[256] = "";
  if (output_dest_kafka.open(spec, &fe->env, &st, err, sizeof err) != 0) TEST_FAIL_("open: %s", err);
  return st;
}

TEST_IMPL(dest_kafka_check_refuses_bad_members) {
  static const struct {
    const char *spec;
    const char *err_part;
  } cases[] = {
      {"{\"type\":\"kafka\"}", "brokers: required"},
      {"{\"type\":\"kafka\",\"brokers\":\"h:1\",\"compression\":\"brotli\"}", "compression:"},
      {"{\"type\":\"kafka\",\"brokers\":\"h:1\",\"key\":\"id\"}", "key:"},
      {"{\"type\":\"kafka\",\"brokers\":\"h:1\",\"topic\":\"a/{stream}\"}", "not allowed"},
      {"{\"type\":\"kafka\",\"brokers\":\"h:1\",\"topic\":\"{nope}\"}", "unknown template field"},
      {"{\"type\":\"kafka\",\"brokers\":\"h:1\",\"format\":\"otlp\"}", "format:"},
      {"{\"type\":\"kafka\",\"brokers\":\"h:1\",\"properties\":{\"no.such.thing\":\"1\"}}",
       "properties.no.such.thing"},
      {"{\"type\":\"kafka\",\"brokers\":\"h:1\",\"properties\":{\"linger.ms\":\"soon\"}}", "properties.linger.ms"},
      {"{\"type\":\"kafka\",\"brokers\":\"h:1\",\"properties\":{\"linger.ms\":[5]}}", "properties.linger.ms"},
      {"{\"type\":\"kafka\",\"brokers\":\"h:1\",\"url\":\"x\"}", "unknown member 'url'"},
  };
  arena a;
  arena_init(&a, 0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_error je;
    json_value *spec = json_parse(&a, cases[i].spec, strlen(cases[i].spec), 0, &je);
    ASSERT(spec != NULL);
    char err[256] = "";
    if (output_dest_kafka.check(spec, err, sizeof err) != -1 || strstr(err, cases[i].err_part) == NULL)
      TEST_FAIL_("case %zu: got \"%s\", wanted \"%s\"", i, err, cases[i].err_part);
  }
  const char *good = "{\"type\":\"kafka\",\"brokers\":\"h:1\",\"topic\":\"ev-{stream}.{type}\",\"key\":\"tag\","
                     "\"compression\":\"zstd\",\"properties\":{\"linger.ms\":\"5\",\"batch.num.messages\":1000,"
                     "\"enable.idempotence\":true,\"sasl.password\":\"p\"}}";
  json_error je;
  json_value *spec = json_parse(&a, good, strlen(good), 0, &je);
  char err[256] = "";
  ASSERT_EQ_INT(output_dest_kafka.check(spec, err, sizeof err), 0);
  buf d = BUF_INIT;
  ASSERT(output_dest_kafka.describe(spec, &d) == 0);
  ASSERT(strstr(d.data, "\"sasl.password\":\"***\"") != NULL);
  ASSERT(strstr(d.data, "\"linger.ms\":\"5\"") != NULL);
  buf_free(&d);
  arena_free(&a);
  return 0;
}

TEST_IMPL(dest_kafka_delivers_in_order_with_keys_and_topic_template) {
  mock_kafka mk;
  mock_kafka_start(&mk, "ev-app");
  fake_env fe;
  fake_env_init(&fe);
  dest_msgs m;
  dest_msgs_init(&m, 5, "app.started");
  arena a;
  arena_init(&a, 0);
  char spec[512];
  snprintf(spec, sizeof spec,
           "{\"type\":\"kafka\",\"brokers\":\"%s\",\"topic\":\"ev-{stream}\",\"key\":\"tag\","
           "\"compression\":\"gzip\",\"timeout_ms\":5000}",
           mk.bootstraps);
  void *st = open_dest(&a, spec, &fe);
  output_result res;
  output_dest_kafka.deliver(st, m.msgs, 3, &res);
  ASSERT_EQ_INT(res.status, OUTPUT_OK);
  ASSERT_EQ_INT(res.confirmed, 3);
  output_dest_kafka.deliver(st, &m.msgs[3], 2, &res);
  ASSERT_EQ_INT(res.status, OUTPUT_OK);
  ASSERT_EQ_INT(res.confirmed, 2);
  ASSERT_EQ_INT(fe.attempts, 2); /* one history entry per batch */
  ASSERT_EQ_INT(fe.last.count, 2);
  ASSERT_EQ_INT(fe.last.ok, 1);
  ASSERT_EQ_STR(fe.last_event_id, m.ids[3]);
  output_dest_kafka.close(st);

  char *keys[8] = {0}, *values[8] = {0};
  int n = consume_all(mk.bootstraps, "ev-app", 5, keys, values);
  ASSERT_EQ_INT(n, 5);
  for (int i = 0; i < n; i++) {
    char tag[16];
    snprintf(tag, sizeof tag, "tag%d", i);
    ASSERT_EQ_STR(keys[i], tag);
    ASSERT_EQ_STR(values[i], m.jsons[i]);
    free(keys[i]);
    free(values[i]);
  }
  mock_kafka_stop(&mk);
  dest_msgs_free(&m);
  arena_free(&a);
  return 0;
}

TEST_IMPL(dest_kafka_gala_gopher_format_has_otel_log_shape) {
  mock_kafka mk;
  mock_kafka_start(&mk, "gala_gopher_event");
  fake_env fe;
  fake_env_init(&fe);
  dest_msgs m;
  dest_msgs_init_json(&m, 1,
                      "{\"type\":\"%s\",\"severity\":\"ERROR\",\"message\":\"oom killed %d\","
                      "\"labels\":{\"entity_id\":\"host1_proc_%d\",\"Host\":\"h1\"}}",
                      "kernel.oom");
  arena a;
  arena_init(&a, 0);
  char spec[512];
  snprintf(spec, sizeof spec, "{\"type\":\"kafka\",\"brokers\":\"%s\",\"format\":\"gala-gopher\"}",
           mk.bootstraps);
  void *st = open_dest(&a, spec, &fe);
  output_result res;
  output_dest_kafka.deliver(st, m.msgs, 1, &res);
  ASSERT_EQ_INT(res.status, OUTPUT_OK);
  output_dest_kafka.close(st);
  char *keys[2] = {0}, *values[2] = {0};
  ASSERT_EQ_INT(consume_all(mk.bootstraps, "gala_gopher_event", 1, keys, values), 1);
  ASSERT(keys[0] == NULL); /* gala-gopher sends no key */
  json_error je;
  json_value *v = json_parse(&a, values[0], strlen(values[0]), 0, &je);
  ASSERT(v != NULL);
  int64_t ts;
  ASSERT(json_as_int64(json_get(v, "Timestamp"), &ts) == 0);
  ASSERT_EQ_INT(ts, 1700000000000LL);
  ASSERT_EQ_STR(json_get(v, "event_id")->s, "1700000000000_host1_proc_0");
  const json_value *attrs = json_get(v, "Attributes");
  ASSERT_EQ_STR(json_get(attrs, "entity_id")->s, "host1_proc_0");
  ASSERT_EQ_STR(json_get(attrs, "event_type")->s, "sys");
  ASSERT_EQ_STR(json_get(attrs, "eventd_id")->s, m.ids[0]);
  const json_value *resource = json_get(v, "Resource");
  ASSERT_EQ_STR(json_get(resource, "metric")->s, "kernel.oom");
  ASSERT_EQ_STR(json_get(json_get(resource, "labels"), "Host")->s, "h1");
  ASSERT_EQ_STR(json_get(v, "SeverityText")->s, "ERROR");
  int64_t sev;
  ASSERT(json_as_int64(json_get(v, "SeverityNumber"), &sev) == 0);
  ASSERT_EQ_INT(sev, 17);
  ASSERT_EQ_STR(json_get(v, "Body")->s, "oom killed 0");
  free(values[0]);
  mock_kafka_stop(&mk);
  dest_msgs_free(&m);
  arena_free(&a);
  return 0;
}

TEST_IMPL(dest_kafka_broker_down_is_retry_then_delivers_when_back) {
  mock_kafka mk;
  mock_kafka_start(&mk, "eventd");
  fake_env fe;
  fake_env_init(&fe);
  dest_msgs m;
  dest_msgs_init(&m, 2, "t");
  arena a;
  arena_init(&a, 0);
  char spec[512];
  snprintf(spec, sizeof spec, "{\"type\":\"kafka\",\"brokers\":\"%s\",\"timeout_ms\":1000}", mk.bootstraps);
  void *st = open_dest(&a, spec, &fe);
  output_result res;
  /* connected and working; on a loaded machine the first connection and metadata fetch can
   * take longer than timeout_ms, so it gets the dispatcher's retries too */
  int first_ok = 0;
  for (int i = 0; i < 10 && !first_ok; i++) {
    output_dest_kafka.deliver(st, m.msgs, 1, &res);
    first_ok = res.status == OUTPUT_OK;
  }
  if (!first_ok) TEST_FAIL_("the first delivery never succeeded: %s", res.error);
  ASSERT(rd_kafka_mock_broker_set_down(mk.mc, 1) == 0);
  output_dest_kafka.deliver(st, &m.msgs[1], 1, &res);
  ASSERT_EQ_INT(res.status, OUTPUT_RETRY);
  ASSERT_EQ_INT(res.confirmed, 0);
  ASSERT(res.error[0] != '\0');
  ASSERT(rd_kafka_mock_broker_set_up(mk.mc, 1) == 0);
  int delivered = 0;
  for (int i = 0; i < 10 && !delivered; i++) { /* the dispatcher's retries */
    output_dest_kafka.deliver(st, &m.msgs[1], 1, &res);
    delivered = res.status == OUTPUT_OK && res.confirmed == 1;
  }
  ASSERT(delivered);
  output_dest_kafka.close(st);
  char *keys[4] = {0}, *values[4] = {0};
  int n = consume_range(mk.bootstraps, "eventd", 2, 4, keys, values);
  ASSERT(n >= 2); /* at least once: a timed-out message may still have landed */
  ASSERT_EQ_STR(values[0], m.jsons[0]);
  ASSERT_EQ_STR(values[n - 1], m.jsons[1]);
  ASSERT_EQ_STR(keys[0], "app.t"); /* key member default: the event's key */
  for (int i = 0; i < n; i++) free(keys[i]), free(values[i]);
  mock_kafka_stop(&mk);
  dest_msgs_free(&m);
  arena_free(&a);
  return 0;
}

/* The SSRF guard (issue 7) on the Kafka destination: librdkafka's connect callback checks
 * every broker address. The mock cluster runs in a child process, so its listener is not one
 * of this process's own (which the guard always refuses). */
TEST_IMPL(outputs_guard_kafka_checks_broker_addresses_at_connect) {
  int pfd[2];
  ASSERT(pipe(pfd) == 0);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    close(pfd[0]);
    alarm(60);
    mock_kafka mk;
    mock_kafka_start(&mk, "guarded");
    size_t n = strlen(mk.bootstraps) + 1;
    if (write(pfd[1], mk.bootstraps, n) != (ssize_t)n) _exit(1);
    close(pfd[1]);
    pause(); /* until the parent kills it */
    _exit(0);
  }
  close(pfd[1]);
  char boot[256] = "";
  size_t got = 0;
  ssize_t r;
  while (got < sizeof boot - 1 && (r = read(pfd[0], boot + got, sizeof boot - 1 - got)) > 0)
    got += (size_t)r;
  close(pfd[0]);
  const char *colon = strrchr(boot, ':');
  ASSERT(colon != NULL);
  int port = atoi(colon + 1);
  ASSERT(port > 0);
  output_guard g = {.owner = "acme", .allow_local = 0};
  fake_env fe;
  fake_env_init(&fe);
  fe.env.guard = &g;
  dest_msgs m;
  dest_msgs_init(&m, 1, "t");
  arena a;
  arena_init(&a, 0);
  char spec[512];
  /* a name: not refused at open, refused at connect */
  snprintf(spec, sizeof spec, "{\"type\":\"kafka\",\"brokers\":\"localhost:%d\",\"topic\":"
           "\"guarded\",\"timeout_ms\":20000}", port);
  void *st = open_dest(&a, spec, &fe);
  output_result res;
  time_t t0 = time(NULL);
  output_dest_kafka.deliver(st, m.msgs, 1, &res);
  ASSERT_EQ_INT(res.status, OUTPUT_RETRY);
  ASSERT_EQ_INT(res.confirmed, 0);
  if (strstr(res.error, "is a loopback address; outputs of tenant acme") == NULL)
    TEST_FAIL_("error: %s", res.error);
  ASSERT(time(NULL) - t0 < 10); /* failed at once, not at the 20 s timeout */
  output_dest_kafka.close(st);
  /* allow_local: the same output delivers (the broker's metadata address is checked too) */
  g.allow_local = 1;
  st = open_dest(&a, spec, &fe);
  output_dest_kafka.deliver(st, m.msgs, 1, &res);
  if (res.status != OUTPUT_OK) TEST_FAIL_("allow_local: %s", res.error);
  ASSERT_EQ_INT(res.confirmed, 1);
  output_dest_kafka.close(st);
  char *keys[2] = {0}, *values[2] = {0};
  int n = consume_all(boot, "guarded", 1, keys, values);
  ASSERT_EQ_INT(n, 1);
  ASSERT_EQ_STR(values[0], m.jsons[0]);
  free(keys[0]), free(values[0]);
  /* a literal local broker address is refused at open for a tenant */
  g.allow_local = 0;
  snprintf(spec, sizeof spec, "{\"type\":\"kafka\",\"brokers\":\"127.0.0.1:%d\"}", port);
  json_error je;
  json_value *sv = json_parse(&a, spec, strlen(spec), 0, &je);
  ASSERT(sv != NULL);
  char err[256] = "";
  void *st2 = NULL;
  ASSERT(output_dest_kafka.open(sv, &fe.env, &st2, err, sizeof err) == -1);
  ASSERT(strstr(err, "brokers: 127.0.0.1 is a loopback address") != NULL);
  kill(pid, SIGKILL);
  int wst;
  ASSERT(waitpid(pid, &wst, 0) == pid);
  dest_msgs_free(&m);
  arena_free(&a);
  return 0;
}

/* The AMQP destination's spec checks (its delivery is tested against a real rabbitmq-server
 * in tests/integration/test_output_amqp.sh). */
TEST_IMPL(dest_amqp_check_refuses_bad_members_and_hides_password) {
  static const struct {
    const char *spec;
    const char *err_part;
  } cases[] = {
      {"{\"type\":\"amqp\",\"url\":\"http://x/\"}", "url: not an amqp"},
      {"{\"type\":\"amqp\",\"url\":\"amqp://a:b@h/v\",\"host\":\"h\"}", "not both"},
      {"{\"type\":\"amqp\",\"port\":0}", "port:"},
      {"{\"type\":\"amqp\",\"routing_key\":\"tag\"}", "routing_key:"},
      {"{\"type\":\"amqp\",\"heartbeat\":-1}", "heartbeat:"},
      {"{\"type\":\"amqp\",\"ca_file\":\"/x\"}", "needs tls"},
      {"{\"type\":\"amqp\",\"tls\":true,\"cert_file\":\"/x\"}", "go together"},
      {"{\"type\":\"amqp\",\"exchnage\":\"x\"}", "unknown member 'exchnage'"},
      {"{\"type\":\"amqp\",\"declare\":1}", "declare:"},
  };
  arena a;
  arena_init(&a, 0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_error je;
    json_value *spec = json_parse(&a, cases[i].spec, strlen(cases[i].spec), 0, &je);
    ASSERT(spec != NULL);
    char err[256] = "";
    if (output_dest_amqp.check(spec, err, sizeof err) != -1 || strstr(err, cases[i].err_part) == NULL)
      TEST_FAIL_("case %zu: got \"%s\", wanted \"%s\"", i, err, cases[i].err_part);
  }
  const char *good = "{\"name\":\"mq\",\"type\":\"amqp\",\"url\":\"amqps://u:pw@rabbit:5671/prod\","
                     "\"routing_key\":\"cloudstack\",\"tls_verify\":false,\"ca_file\":\"/ca.pem\"}";
  json_error je;
  json_value *spec = json_parse(&a, good, strlen(good), 0, &je);
  char err[256] = "";
  if (output_dest_amqp.check(spec, err, sizeof err) != 0) TEST_FAIL_("good spec refused: %s", err);
  buf d = BUF_INIT;
  ASSERT(output_dest_amqp.describe(spec, &d) == 0);
  ASSERT(strstr(d.data, "amqps://u:***@rabbit:5671/prod") != NULL);
  ASSERT(strstr(d.data, "pw") == NULL);
  buf_free(&d);
  /* open without a broker: no connection yet, so it succeeds; deliver reports RETRY. */
  const char *down = "{\"type\":\"amqp\",\"host\":\"127.0.0.1\",\"port\":1,\"timeout_ms\":500}";
  spec = json_parse(&a, down, strlen(down), 0, &je);
  fake_env fe;
  fake_env_init(&fe);
  void *st = NULL;
  ASSERT(output_dest_amqp.open(spec, &fe.env, &st, err, sizeof err) == 0);
  dest_msgs m;
  dest_msgs_init(&m, 1, "t");
  output_result res;
  output_dest_amqp.deliver(st, m.msgs, 1, &res);
  ASSERT_EQ_INT(res.status, OUTPUT_RETRY);
  ASSERT_EQ_INT(res.confirmed, 0);
  ASSERT(strstr(res.error, "connect to 127.0.0.1:1") != NULL);
  output_dest_amqp.close(st);
  dest_msgs_free(&m);
  arena_free(&a);
  return 0;
}
