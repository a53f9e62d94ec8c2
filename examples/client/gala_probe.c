/* gala_probe — code written for gala-gopher's event probe, compiled unchanged against
 * libeventd's <eventd/gala_event.h>: print_event_output() sends the event to eventd through
 * the default client (EVENTD_URL, EVENTD_SPOOL, ...), closed at exit.
 *
 *   EVENTD_URL=http://127.0.0.1:8910 ./gala_probe */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <eventd/gala_event.h>

static void report(const char *level, const char *fmt, const char *arg) {
  struct event_data evt;
  memset(&evt, 0, sizeof evt);
  evt.timestamp = (uint64_t)time(NULL);
  snprintf(evt.level, sizeof evt.level, "%s", level);
  snprintf(evt.body, sizeof evt.body, fmt, arg);
  print_event_output(&evt);
}

int main(void) {
  report(EVENT_LEVEL_ERROR, "[gala-gopher] return code=[130], execute failed by [%s]", "root(uid=0)");
  report(EVENT_LEVEL_INFO, "probe %s started", "gala_probe");
  evd_stats st;
  if (evd_client_stats(evd_default_client(), &st) == 0)
    printf("queued %llu events\n", (unsigned long long)st.emitted);
  return 0; /* the default client flushes at exit (EVENTD_CLOSE_TIMEOUT_MS, default 2000) */
}
