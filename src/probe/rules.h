/* rules: kernel log lines -> probe events (process.oom_kill, process.segfault, process.trap,
 * task.hung, process.abnormal_exit from an audit ANOM_ABEND line).
 *
 * Patterns (printk formats of x86 Linux 3.x to 6.x, see docs/probe.md for samples):
 *
 *   OOM      "Out of memory: Killed process N (comm) total-vm:NkB, anon-rss:NkB, file-rss:NkB,
 *            shmem-rss:NkB, UID:N pgtables:NkB oom_score_adj:N"    (5.1+; UID 5.4+, last two 5.9+)
 *            "Memory cgroup out of memory: Killed process ..."      (5.1+, cgroup OOM)
 *            "Out of memory: Kill process N (comm) score N or sacrifice child" followed by
 *            "Killed process N (comm) total-vm:..., anon-rss:..., file-rss:...[, shmem-rss:...]"
 *                                                                   (3.x - 5.0)
 *            "Task in /a killed as a result of limit of /a"         (memcg, before 4.19)
 *            "oom-kill:constraint=C,nodemask=M,cpuset=S,mems_allowed=M,(oom_memcg=P|global_oom),
 *            task_memcg=P,task=comm,pid=N,uid=N"                    (4.19+ summary, printed
 *            before the kill line: merged into the same event by pid)
 *            "comm invoked oom-killer: gfp_mask=..., order=N, oom_score_adj=N" (the trigger)
 *   segfault "comm[pid]: segfault at ADDR ip IP sp SP error E[ in mod[BASE+SIZE]]
 *            [ likely on CPU N (core N, socket N)]"
 *   trap     "traps: comm[pid] trap DESC ip:IP sp:SP error:E[ in mod[BASE+SIZE]]"
 *            "traps: comm[pid] general protection fault ip:IP sp:SP error:E[ in ...]" (older:
 *            "general protection ip:"; before 3.11 without the "traps: " prefix)
 *            kernel mode: "general protection fault[, probably for non-canonical address
 *            0xADDR]: 0000 [#1] SMP PTI" then "CPU: N [UID: N ]PID: N Comm: comm ..." and
 *            "RIP: 0010:func+0x1/0x2" (merged into one event)
 *   oops     "BUG: kernel NULL pointer dereference, address: X" (5.x; 4.x: "BUG: unable to
 *            handle kernel NULL pointer dereference at X"), "BUG: unable to handle page fault
 *            for address: X" (4.x: "... kernel paging request at X"), "kernel BUG at F:L!",
 *            completed like the kernel GPF (error from "#PF: error_code(0x..)" or "Oops: ..")
 *   arm64    "comm[pid]: unhandled level 3 translation fault (11) at 0xA, esr 0xE, in mod[..]"
 *            (4.x), "comm[pid]: unhandled exception: CLASS, ESR 0xE, WHAT in mod[..]" (5.x+)
 *   hung     "INFO: task comm:pid blocked for more than N seconds."
 *   audit    "audit: type=1701 audit(T:S): ... pid=N comm="c" exe="/p" sig=N res=1"
 *
 * The matcher keeps a little state for the multi-line patterns (OOM, kernel oops): feed the
 * records in order; krules_flush() emits what is pending (at the end of a replay, or when a
 * pending part is older than its time limit). Pure: no I/O. */
#ifndef EVD_PROBE_RULES_H
#define EVD_PROBE_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "probe/probe_event.h"

typedef struct krules_config {
  int oom_kill;         /* switches: 1 on, 0 off */
  int segfault;
  int trap;
  int hung_task;
  int audit_anom_abend;
  int64_t hung_task_min_seconds; /* report only hung tasks blocked at least this long */
  char id_prefix[96];   /* event ids are "<id_prefix>:<seq>"; "" = no ids */
} krules_config;

/* Defaults: every rule on, hung_task_min_seconds 0, no id prefix. */
void krules_config_default(krules_config *cfg);

typedef struct krules_pending_oom {
  int active;
  uint64_t seq;
  int64_t time_ns;
  int64_t pid;
  char text[512];       /* the summary line, for the message when emitted alone */
  char constraint[64], nodemask[64], cpuset[256], mems_allowed[64], oom_memcg[256], task_memcg[256];
  char comm[64];
  int64_t uid;
  int global;
} krules_pending_oom;

typedef struct kernel_rules {
  krules_config cfg;
  krules_pending_oom summary;
  /* old kernels: "Out of memory: Kill process N (comm) score S or sacrifice child" */
  int64_t kill_pid;
  int kill_memcg;       /* the Kill line said "Memory cgroup out of memory" */
  int64_t kill_score;
  char old_memcg[256];  /* "Task in X killed as a result of limit of Y": X */
  char invoker[64];     /* "comm invoked oom-killer" */
  /* kernel-mode general protection fault waiting for its CPU:/RIP: lines */
  int gpf_active;
  probe_event gpf;
  int gpf_records;      /* records seen since the GPF line */
} kernel_rules;

void krules_init(kernel_rules *kr, const krules_config *cfg);
/* Release pending state (events not flushed are dropped: call krules_flush first). */
void krules_free(kernel_rules *kr);

/* Feed the message text[0..n) of one record (seq, time). Writes complete events to
 * out[0..max) (each initialized; the caller frees them) and returns their number (0..max).
 * max must be at least 3. */
int krules_feed(kernel_rules *kr, const char *text, size_t n, uint64_t seq, int64_t time_ns, probe_event *out,
                int max);

/* Emit pending parts: all of them when force, else those older than 5 s at now_ns.
 * Same output convention as krules_feed. */
int krules_flush(kernel_rules *kr, int64_t now_ns, int force, probe_event *out, int max);

/* Name of a signal number ("SIGSEGV"), or NULL when unknown. */
const char *probe_signal_name(int sig);
/* Whether a signal means a crash (SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGSYS, SIGTRAP). */
int probe_signal_is_crash(int sig);

#endif
