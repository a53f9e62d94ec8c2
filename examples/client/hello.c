/* hello — the smallest libeventd program: one event with fields, one logging-style event,
 * a counter, and a close that waits at most 3 s for delivery.
 *
 *   EVENTD_URL=http://127.0.0.1:8910 ./hello
 *
 * Prints the id of the first event and how many events could not be delivered. */
#include <stdio.h>

#include <eventd/eventd.h>

int main(void) {
  char err[256];
  evd_client *c = evd_client_open_err(NULL, err, sizeof err); /* configured by EVENTD_* */
  if (c == NULL) {
    fprintf(stderr, "hello: %s\n", err);
    return 1;
  }
  evd_event *ev = evd_event_new("session_created");
  if (ev == NULL) {
    perror("hello: evd_event_new");
    evd_client_close(c, 0);
    return 1;
  }
  evd_event_set_stream(ev, "sessiond");
  evd_event_set_tag(ev, "IMSI001010000000001");
  evd_event_set_severity(ev, EVD_SEV_INFO);
  evd_event_set_label(ev, "env", "example");
  evd_event_set_data_string(ev, "apn", "internet");
  evd_event_set_data_int(ev, "bearer", 5);
  printf("event id %s\n", evd_event_id(ev)); /* the id is valid until evd_emit */
  if (evd_emit(c, ev) != 0) perror("hello: evd_emit");

  EVD_WARN(c, "quota.low", "%d%% of the quota left", 5); /* adds code.file/line/function */
  evd_counter_add(c, "hello.runs", 1);                   /* sent at close */

  unsigned long long left = (unsigned long long)evd_client_close(c, 3000);
  printf("undelivered %llu\n", left);
  return left == 0 ? 0 : 2;
}
