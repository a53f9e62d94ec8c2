/* pstore: kernel.panic_previous_boot events from /sys/fs/pstore dmesg files (pstore.c). */
#ifndef EVD_PROBE_PSTORE_H
#define EVD_PROBE_PSTORE_H

#include "probe/probe_event.h"

/* Report each dmesg-* file of dir not reported before (state in state_dir, may be NULL:
 * then every file is reported). Calls emit for each (ev freed after the call); returns the
 * number reported. A missing dir is not an error (0). */
int pstore_scan(const char *dir, const char *state_dir, void (*emit)(void *ud, probe_event *ev), void *ud);

#endif
