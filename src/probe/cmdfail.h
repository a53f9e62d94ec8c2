/* cmdfail: gala-gopher's failed-command log lines -> command.failed events.
 *
 * The shell audit hook of gala-gopher's hosts logs every command with a non-zero status
 * through syslog; a line in /var/log/messages looks like
 *
 *   Dec 27 16:32:22 hh131 [/bin/bash]: [gala-gopher] return code=[130], execute failed by
 *   [root(uid=0)] from [pts/4 (10.136.119.3)]
 *
 * (one line). Parsed: code (the number in "return code=[N]"; 0 is not a failure and does
 * not match), user and uid ("root(uid=0)"; a plain "root" has no uid), tty ("pts/4") and
 * remote (the part in parentheses, "10.136.119.3"; absent for a local tty), the program
 * (the syslog tag before the message, "/bin/bash"), and the command, when the line carries
 * one: " command=[make install]" anywhere after the marker, or ": make install" after the
 * "from [...]" bracket. The "[gala-gopher]" marker itself is optional (any syslog prefix is
 * accepted); "return code=[" and "], execute failed by [" are required.
 *
 * Pure, no I/O. */
#ifndef EVD_PROBE_CMDFAIL_H
#define EVD_PROBE_CMDFAIL_H

#include <stddef.h>

#include "probe/probe_event.h"

/* Parse line[0..n) (without its newline). Returns 1 and fills *ev (initialized here; the
 * caller frees it) when the line is a failed command, 0 otherwise (*ev untouched). */
int cmdfail_parse(const char *line, size_t n, probe_event *ev);

#endif
