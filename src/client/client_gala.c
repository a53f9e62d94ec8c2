/* client_gala.c — gala-gopher compatibility (include/eventd/gala_event.h): a struct
 * event_data becomes an event sent through the process's default client. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client_internal.h"
#include "eventd/gala_event.h"

/* Copy s[0..n) into out, replacing invalid UTF-8 bytes by U+FFFD. Returns how many bytes
 * were replaced. */
static size_t repair_utf8(const char *s, size_t n, evc_buf *out) {
  size_t bad = 0, i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && (unsigned char)s[j] < 0x80) j++;
    evc_buf_add(out, s + i, j - i);
    i = j;
    if (i >= n) break;
    /* the longest valid sequence starting at i, 2..4 bytes */
    size_t len = 0;
    for (size_t l = 2; l <= 4 && i + l <= n; l++)
      if (evc_utf8_valid(s + i, l)) {
        len = l;
        break;
      }
    if (len) {
      evc_buf_add(out, s + i, len);
      i += len;
    } else {
      evc_buf_add(out, "\xef\xbf\xbd", 3);
      bad++;
      i++;
    }
  }
  return bad;
}

int evd_gala_event_output(uint64_t timestamp, const char *level, const char *body,
                          size_t body_max) {
  evd_client *c = evd_default_client();
  if (c == NULL) return -1;
  const char *type = getenv("EVENTD_GALA_TYPE");
  evd_event *ev = evd_event_new(type && *type ? type : "gala.event");
  if (ev == NULL) return -1;
  int rc = 0;
  if (getenv("EVENTD_STREAM") == NULL) rc |= evd_event_set_stream(ev, "gala-gopher");
  if (timestamp) {
    if (timestamp > (uint64_t)INT64_MAX / 1000000000) {
      rc |= evd_event_set_label(ev, "gala_timestamp", "out_of_range");
    } else {
      rc |= evd_event_set_time(ev, (int64_t)timestamp * 1000000000);
    }
  }
  char lv[17];
  size_t ll = level ? strnlen(level, 16) : 0;
  memcpy(lv, level ? level : "", ll);
  lv[ll] = '\0';
  if (evd_event_set_severity_text(ev, lv) != 0) {
    rc |= evd_event_set_severity(ev, EVD_SEV_INFO);
    if (ll && evc_utf8_valid(lv, ll)) rc |= evd_event_set_label(ev, "gala_level", lv);
  }
  if (body) {
    size_t bl = strnlen(body, body_max);
    evc_buf b = {0};
    size_t bad = repair_utf8(body, bl, &b);
    if (b.oom) {
      evc_buf_free(&b);
      evd_event_free(ev);
      errno = ENOMEM;
      return -1;
    }
    if (b.len) rc |= evd_event_set_message(ev, b.p);
    if (bad) rc |= evd_event_set_label(ev, "body_repaired", "true");
    evc_buf_free(&b);
  }
  if (rc != 0) {
    evd_event_free(ev);
    errno = EINVAL;
    return -1;
  }
  return evd_emit(c, ev);
}
