/* validate_bench: the cost of checking an event against the event-type registry, per event,
 * next to the in-process cost of ingesting the same event without a registry (json_parse +
 * event_from_json + record_encode: what the event loop does per event before the store).
 *
 *   validate_bench [--registry FILE] [--iterations N] [--runs R] [--event PREFIX] [--no-ingest]
 *
 * Events: simple_event (fixed cost: lookup + one member), session_created (small schema with
 * patterns and anyOf formats), session_terminated with 0, 4 and 10 list_of_service_data
 * items (the CDR-sized schema). Times are thread CPU time, best of R runs, in ns/event.
 * Prints a Markdown table. Links the registry and core libraries (not the daemon).
 * --event measures only the events whose name starts with PREFIX, --no-ingest skips the
 * ingest timing (both for instruction counts under valgrind --tool=callgrind). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/event.h"
#include "core/json.h"
#include "core/record.h"
#include "registry/registry.h"

static double now_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A session_terminated event with n service data items. */
static char *cdr_event(int n) {
  buf b = BUF_INIT;
  buf_puts(&b,
           "{\"type\":\"session_terminated\",\"stream\":\"sessiond\",\"source\":\"gw-17\","
           "\"data\":{\"imsi\":\"IMSI001010000000001\",\"session_id\":\"IMSI001010000000001-123456\","
           "\"ip_addr\":\"192.168.128.12\",\"ipv6_addr\":\"\",\"msisdn\":\"5551234567\","
           "\"imei\":\"356938035643809\",\"spgw_ip\":\"10.0.2.1\",\"apn\":\"internet\","
           "\"mac_addr\":\"\",\"user_location\":\"tac=1;eci=138777000\","
           "\"charging_characteristics\":\"0800\",\"total_tx\":123456789,\"total_rx\":987654321,"
           "\"charging_tx\":123456,\"charging_rx\":654321,\"monitoring_tx\":1000,\"monitoring_rx\":2000,"
           "\"pdp_start_time\":1700000000,\"pdp_end_time\":1700003600,\"duration\":3600,"
           "\"cause_for_rec_closing\":0,\"record_sequence_number\":1,\"list_of_service_data\":[");
  for (int i = 0; i < n; i++)
    buf_printf(&b,
               "%s{\"rating_group\":%d,\"service_identifier\":%d,\"data_volume_uplink\":%d,"
               "\"data_volume_downlink\":%d,\"time_of_first_usage\":1700000000,"
               "\"time_of_last_usage\":1700003600,\"service_condition_change\":0}",
               i ? "," : "", i + 1, 100 + i, 1000 * i, 5000 * i);
  buf_puts(&b, "]}}");
  return b.data;
}

typedef struct result {
  double validate_ns, ingest_ns;
} result;

/* Time one event: validation alone, and the registry-less ingest path. */
static int measure(registry *r, const char *text, long iters, int runs, int ingest, result *out) {
  arena a;
  arena_init(&a, 0);
  json_error je;
  size_t len = strlen(text);
  json_value *root = json_parse(&a, text, len, 64, &je);
  if (!root) {
    fprintf(stderr, "bad event JSON: %s\n", je.message);
    return -1;
  }
  const json_value *type = json_get(root, "type"), *stream = json_get(root, "stream");
  const json_value *data = json_get(root, "data");
  evd_field_error fe;
  registry_verdict v = registry_check_ex(r, stream ? stream->s : NULL, stream ? stream->n : 0, type->s, type->n, data,
                                         NULL, &fe, REGISTRY_CHECK_NO_COUNT);
  if (v != REGISTRY_VALID) {
    fprintf(stderr, "%s is not valid: %s: %s\n", type->s, fe.field, fe.reason);
    return -1;
  }
  double best_v = 1e300, best_i = 1e300;
  evd_limits lim;
  evd_limits_default(&lim);
  arena ea;
  arena_init(&ea, 0);
  buf enc = BUF_INIT;
  for (int run = 0; run < runs; run++) {
    double t0 = now_cpu_ns();
    for (long i = 0; i < iters; i++)
      v += registry_check_ex(r, stream->s, stream->n, type->s, type->n, data, NULL, &fe, REGISTRY_CHECK_NO_COUNT);
    double t1 = now_cpu_ns();
    if ((t1 - t0) / (double)iters < best_v) best_v = (t1 - t0) / (double)iters;
    t0 = now_cpu_ns();
    for (long i = 0; ingest && i < iters; i++) {
      arena_reset(&ea);
      json_value *ev_json = json_parse(&ea, text, len, 64, &je);
      event ev;
      if (!ev_json || event_from_json(ev_json, &lim, 1700000000000000000LL, &ea, &ev, &fe) != 0) return -1;
      buf_clear(&enc);
      if (record_encode(&ev, &enc) != 0) return -1;
    }
    t1 = now_cpu_ns();
    if ((t1 - t0) / (double)iters < best_i) best_i = (t1 - t0) / (double)iters;
  }
  if (v != REGISTRY_VALID) return -1; /* keeps the loop from being optimized away */
  out->validate_ns = best_v;
  out->ingest_ns = best_i;
  buf_free(&enc);
  arena_free(&ea);
  arena_free(&a);
  return 0;
}

int main(int argc, char **argv) {
  const char *reg_path = "examples/registry/eventd.yml";
  const char *only = "";
  long iters = 200000;
  int runs = 7, ingest = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--registry") == 0 && i + 1 < argc) reg_path = argv[++i];
    else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) iters = atol(argv[++i]);
    else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = atoi(argv[++i]);
    else if (strcmp(argv[i], "--event") == 0 && i + 1 < argc) only = argv[++i];
    else if (strcmp(argv[i], "--no-ingest") == 0) ingest = 0;
    else {
      fprintf(stderr,
              "usage: validate_bench [--registry FILE] [--iterations N] [--runs R] [--event PREFIX] [--no-ingest]\n");
      return 64;
    }
  }
  if (iters < 1 || runs < 1) return 64;
  char err[1024];
  registry *r = registry_load(reg_path, NULL, err, sizeof err);
  if (!r) {
    fprintf(stderr, "validate_bench: %s\n", err);
    return 1;
  }
  char *cdr0 = cdr_event(0), *cdr4 = cdr_event(4), *cdr10 = cdr_event(10);
  const struct {
    const char *name, *text;
  } events[] = {
      {"simple_event", "{\"type\":\"simple_event\",\"stream\":\"test\",\"data\":{\"foo\":\"bar\"}}"},
      {"session_created",
       "{\"type\":\"session_created\",\"stream\":\"sessiond\",\"source\":\"gw-17\",\"data\":{"
       "\"imsi\":\"IMSI001010000000001\",\"session_id\":\"IMSI001010000000001-123456\","
       "\"ip_addr\":\"192.168.128.12\",\"ipv6_addr\":\"\",\"msisdn\":\"5551234567\","
       "\"imei\":\"356938035643809\",\"spgw_ip\":\"10.0.2.1\",\"apn\":\"internet\","
       "\"mac_addr\":\"\",\"pdp_start_time\":1700000000,\"user_location\":\"tac=1;eci=138777000\","
       "\"charging_characteristics\":\"0800\"}}"},
      {"session_terminated (0 items)", cdr0},
      {"session_terminated (4 items)", cdr4},
      {"session_terminated (10 items, CDR)", cdr10},
  };
  printf("registry: %s; %ld iterations, best of %d runs, thread CPU time\n\n", reg_path, iters, runs);
  printf("| event | bytes | validation ns/event | ingest ns/event (parse+normalize+encode) | validation share |\n");
  printf("|---|---|---|---|---|\n");
  int rc = 0;
  for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
    result res;
    if (strncmp(events[i].name, only, strlen(only)) != 0) continue;
    if (measure(r, events[i].text, iters, runs, ingest, &res) != 0) {
      rc = 1;
      continue;
    }
    if (ingest)
      printf("| %s | %zu | %.0f | %.0f | %.1f%% |\n", events[i].name, strlen(events[i].text), res.validate_ns,
             res.ingest_ns, 100.0 * res.validate_ns / res.ingest_ns);
    else
      printf("| %s | %zu | %.0f | - | - |\n", events[i].name, strlen(events[i].text), res.validate_ns);
    fflush(stdout);
  }
  free(cdr0);
  free(cdr4);
  free(cdr10);
  registry_unref(r);
  return rc;
}
