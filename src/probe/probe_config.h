/* probe_config: eventd-probe's YAML configuration (examples/probe/probe.yml, docs/probe.md).
 *
 *   output:   {url: stdout | http://HOST:PORT | forward://HOST:PORT | kafka://BROKERS/TOPIC,
 *              kafka_topic: gala_gopher_event}
 *   state_dir: /var/lib/eventd-probe        (kmsg position, tail positions, spool)
 *   rules:    {oom_kill, segfault, trap, hung_task, audit_anom_abend, abnormal_exit,
 *              command_failed, panic_previous_boot: true|false; hung_task_min_seconds: N}
 *   kmsg:     {enabled: true, path: /dev/kmsg, from_start: true, accept_user_records: false}
 *   process:  {enabled: true, report_exit_codes: true, report_signals: [SIGKILL],
 *              ignore_comms: [grep, ...]}
 *   command_failed: {files: [/var/log/messages], from_start: false}
 *   pstore:   {dir: /sys/fs/pstore}
 *   limits:   {dedup_window: 60s, rate_per_minute: 60, summary_interval: 60s}
 *
 * Unknown keys and values of the wrong type are errors naming file:line. */
#ifndef EVD_PROBE_CONFIG_H
#define EVD_PROBE_CONFIG_H

#include <stdint.h>

#include "probe/limiter.h"
#include "probe/rules.h"

#define PROBE_MAX_FILES 16
#define PROBE_MAX_IGNORE 32

typedef struct probe_config {
  char output_url[1024];     /* "" = not set (then --output, EVENTD_URL, stdout) */
  char kafka_topic[256];
  char state_dir[1024];      /* "" = no state (positions not kept) */
  krules_config krules;
  int abnormal_exit;         /* rules.abnormal_exit */
  int command_failed;        /* rules.command_failed */
  int panic_previous_boot;   /* rules.panic_previous_boot */
  int kmsg_enabled;
  char kmsg_path[1024];
  int kmsg_from_start;
  int kmsg_user_records;     /* kmsg.accept_user_records: also match records written by user
                                space (facility != kernel), which anyone with write access to
                                /dev/kmsg can forge; default off */
  int process_enabled;
  int report_exit_codes;
  uint64_t report_signals;   /* bit n: report death by signal n (crash signals always) */
  char ignore_comms[PROBE_MAX_IGNORE][16];
  int nignore;
  char files[PROBE_MAX_FILES][1024];
  int nfiles;
  int files_from_start;
  char pstore_dir[1024];
  limiter_config limits;
} probe_config;

/* The defaults documented above. */
void probe_config_default(probe_config *c);

/* Read path into c (on top of its current values). Returns 0, or -1 with "FILE:LINE: ..."
 * in err. */
int probe_config_load(probe_config *c, const char *path, char *err, size_t errcap);

/* Parse YAML text (for tests and the fuzzer); name is used in messages. */
int probe_config_parse(probe_config *c, const char *name, const char *text, size_t len, char *err, size_t errcap);

/* Signal number of "SIGKILL" / "KILL" / "9", or -1. */
int probe_signal_from_name(const char *s);

#endif
