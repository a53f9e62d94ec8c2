/* proc_connector: abnormal process exits from the kernel's process connector
 * (netlink NETLINK_CONNECTOR, group CN_IDX_PROC; linux/cn_proc.h).
 *
 * The source subscribes with PROC_CN_MCAST_LISTEN and reads fork, exec and exit events.
 * It keeps a table of live processes (pid -> comm, exe, parent, start time), filled by a scan
 * of /proc at start, by fork (inherited from the parent) and by exec (re-read from
 * /proc/PID/comm and /proc/PID/exe), and emptied by exit. An exit of a thread-group leader
 * is classified by procconn_classify():
 *   exit code 0                          -> not reported
 *   exit code N != 0                     -> process.abnormal_exit WARN (report_exit_codes,
 *                                           and the comm is not in ignore_comms)
 *   killed by SIGSEGV SIGABRT SIGBUS SIGFPE SIGILL SIGSYS SIGTRAP
 *                                        -> process.abnormal_exit ERROR (always)
 *   killed by another signal             -> WARN when the signal is in report_signals
 *                                           (default SIGKILL only; SIGTERM, SIGINT, SIGPIPE,
 *                                           SIGHUP ... are normal ways to stop a process)
 * Data: pid, ppid, comm, exe, exit_code (null when killed), signal (null when exited),
 * signal_name, core_dumped, runtime (seconds, from fork/exec or the /proc start time).
 *
 * Needs CAP_NET_ADMIN in the initial network namespace; procconn_open fails with a message
 * naming the missing capability (errno EPERM) so the probe can keep its other sources. */
#ifndef EVD_PROBE_PROC_CONNECTOR_H
#define EVD_PROBE_PROC_CONNECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "probe/probe_event.h"

typedef struct procconn_policy {
  int report_exit_codes;
  uint64_t report_signals;         /* bit n: report death by non-crash signal n */
  const char (*ignore_comms)[16];  /* comms whose non-zero exit codes are not reported */
  int nignore;
  char id_prefix[96];              /* ids "<prefix>:<pid>:<exit ts>"; "" = none */
} procconn_policy;

/* What the kernel says about one exit, plus what the table knows of the process. */
typedef struct procconn_exit {
  int pid, tgid;
  int ppid;               /* -1 unknown */
  uint32_t exit_code;     /* wait status: code << 8, or signal | 0x80 when core dumped */
  uint64_t timestamp_ns;  /* CLOCK_MONOTONIC of the exit */
  const char *comm;       /* NULL unknown */
  const char *exe;        /* NULL unknown */
  int64_t start_ns;       /* CLOCK_MONOTONIC of fork/exec/start; -1 unknown */
} procconn_exit;

/* Classify x under pol. Returns 1 and fills *ev (initialized; caller frees) when the exit is
 * abnormal and reported, 0 otherwise. Pure. */
int procconn_classify(const procconn_exit *x, const procconn_policy *pol, probe_event *ev);

typedef struct procconn procconn;

/* Open the netlink socket, subscribe, and scan /proc. Returns the source, or NULL with a
 * message in err and errno set (EPERM / EACCES when not permitted). pol is copied (the
 * ignore_comms array must outlive the source). */
procconn *procconn_open(const procconn_policy *pol, char *err, size_t errcap);
void procconn_close(procconn *pc);
int procconn_fd(const procconn *pc);

/* Read the pending messages; for each reported exit call emit(ud, ev) (ev is freed after the
 * call). Returns 0, or -1 with err on a socket error. A receive-buffer overflow (ENOBUFS) is
 * counted in *lost (events the kernel dropped) and is not an error. */
int procconn_read(procconn *pc, void (*emit)(void *ud, probe_event *ev), void *ud, uint64_t *lost, char *err,
                  size_t errcap);

/* Number of processes in the table (for tests and the exit log line). */
size_t procconn_tracked(const procconn *pc);

#endif
