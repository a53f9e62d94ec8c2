/* syslog: the syslog input (syslog.listen): RFC 5424 and RFC 3164 messages over UDP and TCP
 * on the same port (TCP frames: LF or RFC 6587 octet counting, detected per frame). Parsing
 * and mapping in syslog_parse.h; sockets, batching and backpressure in
 * inputs/lines/line_server.h. */
#ifndef EVD_INPUTS_SYSLOG_H
#define EVD_INPUTS_SYSLOG_H

#include "inputs/inputs.h"

extern const input_plugin syslog_input_plugin;

#endif
