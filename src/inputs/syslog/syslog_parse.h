/* syslog_parse: syslog messages (RFC 5424 and RFC 3164) and their TCP framing (RFC 6587)
 * as pure functions, shared by the input, the unit tests and the fuzzer.
 *
 * Mapping onto the canonical event (docs/inputs.md "Syslog"):
 *   HOSTNAME -> source; APP-NAME (3164: TAG) -> stream (syslog.default_stream when nil);
 *   MSGID -> type (syslog.default_type when nil or 3164); MSG -> message (a UTF-8 BOM is
 *   dropped); TIMESTAMP -> time (5424: RFC 3339; 3164: "Mmm dd hh:mm:ss" in the daemon's
 *   local time zone, in the current year, or the previous one when that would be more than a
 *   day in the future; nil -> the time received);
 *   PRI -> severity (emerg FATAL4, alert FATAL3, crit FATAL2, err ERROR, warning WARN,
 *   notice INFO2, info INFO, debug DEBUG) and data.facility, data.syslog_severity (names);
 *   PROCID -> data.procid; STRUCTURED-DATA -> data.structured_data.{SD-ID}.{PARAM}, except
 *   the element with SD-ID "labels" (or "labels@...") whose params become labels.
 * A message without <PRI> is taken whole as the MSG of a 3164 user.notice message. */
#ifndef EVD_INPUTS_SYSLOG_PARSE_H
#define EVD_INPUTS_SYSLOG_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/event.h"

typedef struct syslog_defaults {
  const char *stream; /* syslog.default_stream */
  const char *type;   /* syslog.default_type */
} syslog_defaults;

/* Parse one message p[0..n) into ev (zeroed first; strings point into p or arena a) with
 * now_ns as the time received. Returns 0, or -1 with *err (field and reason). */
int syslog_to_event(const char *p, size_t n, const syslog_defaults *def, int64_t now_ns, arena *a,
                    event *ev, evd_field_error *err);

/* RFC 6587 framing, per frame: octet counting ("LEN SP MSG") when the frame starts with a
 * digit 1-9, else LF-terminated (a CR before the LF is dropped). The line_server framing
 * contract (inputs/lines/line_server.h): returns 1 (frame at p[*start..+*flen), *used bytes
 * consumed), 0 (need more) or -1 with err (a length over max or not a number). */
int syslog_frame(const uint8_t *p, size_t len, size_t max, size_t *start, size_t *flen,
                 size_t *used, char *err, size_t errlen);

#endif
