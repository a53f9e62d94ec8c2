/* proc_connector: netlink process events -> process.abnormal_exit (see proc_connector.h).
 *
 * Wire format: each datagram holds netlink messages (struct nlmsghdr) whose payload is a
 * struct cn_msg (id {CN_IDX_PROC, CN_VAL_PROC}) followed by a struct proc_event. The
 * process table is an open-addressing hash (linear probing, backward-shift deletion) of at
 * most TABLE_MAX processes; when full, new processes are not tracked (their exits are still
 * classified, with what /proc says at exit time). */
#include "probe/proc_connector.h"

#include <dirent.h>
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "probe/rules.h"

#define TABLE_SIZE 65536u
#define TABLE_MAX 49152u

typedef struct proc_entry {
  int pid;            /* 0 = empty */
  int ppid;
  int64_t start_ns;   /* CLOCK_MONOTONIC */
  char comm[16];
  char exe[240];
} proc_entry;

struct procconn {
  int fd;
  procconn_policy pol;
  proc_entry *table;
  size_t count;
  int self;
  char rbuf[65536];
};

/* ---- classification (pure) --------------------------------------------------------------- */

static int comm_ignored(const procconn_policy *pol, const char *comm) {
  if (!comm) return 0;
  for (int i = 0; i < pol->nignore; i++)
    if (strcmp(pol->ignore_comms[i], comm) == 0) return 1;
  return 0;
}

int procconn_classify(const procconn_exit *x, const procconn_policy *pol, probe_event *ev) {
  if (x->pid != x->tgid) return 0; /* a thread, not the process */
  uint32_t status = x->exit_code;
  int sig = (int)(status & 0x7f);
  int core = (status & 0x80) != 0;
  int code = (int)((status >> 8) & 0xff);
  int severity;
  if (sig == 0) {
    if (code == 0 || !pol->report_exit_codes || comm_ignored(pol, x->comm)) return 0;
    severity = PROBE_SEV_WARN;
  } else if (probe_signal_is_crash(sig)) {
    severity = PROBE_SEV_ERROR;
  } else if (sig < 64 && (pol->report_signals & (1ULL << sig))) {
    severity = PROBE_SEV_WARN;
  } else {
    return 0;
  }
  probe_event_init(ev, "process.abnormal_exit", severity, sig ? "proc.killed_by_signal" : "proc.exit_code",
                   "proc_connector");
  probe_event_set_int(ev, "pid", x->pid);
  if (x->ppid > 0) probe_event_set_int(ev, "ppid", x->ppid);
  else probe_event_set_null(ev, "ppid");
  probe_event_set_cstr(ev, "comm", x->comm);
  probe_event_set_cstr(ev, "exe", x->exe && x->exe[0] ? x->exe : NULL);
  if (sig) {
    probe_event_set_null(ev, "exit_code");
    probe_event_set_int(ev, "signal", sig);
    const char *name = probe_signal_name(sig);
    probe_event_set_cstr(ev, "signal_name", name);
  } else {
    probe_event_set_int(ev, "exit_code", code);
    probe_event_set_null(ev, "signal");
    probe_event_set_null(ev, "signal_name");
  }
  probe_event_set_bool(ev, "core_dumped", core);
  double runtime = -1;
  if (x->start_ns >= 0 && (int64_t)x->timestamp_ns >= x->start_ns)
    runtime = (double)((int64_t)x->timestamp_ns - x->start_ns) / 1e9;
  if (runtime >= 0) probe_event_set_double(ev, "runtime", runtime);
  else probe_event_set_null(ev, "runtime");
  char msg[512], rt[48] = "";
  if (runtime >= 0) snprintf(rt, sizeof rt, " after %.3f s", runtime);
  const char *comm = x->comm ? x->comm : "?";
  if (sig) {
    const char *name = probe_signal_name(sig);
    char num[16];
    snprintf(num, sizeof num, "signal %d", sig);
    snprintf(msg, sizeof msg, "process %d (%s) killed by %s%s%s", x->pid, comm, name ? name : num,
             core ? " (core dumped)" : "", rt);
  } else {
    snprintf(msg, sizeof msg, "process %d (%s) exited with code %d%s", x->pid, comm, code, rt);
  }
  probe_event_set_message(ev, msg, strlen(msg));
  snprintf(ev->dedup_key, sizeof ev->dedup_key, "%s|%s%d", comm, sig ? "sig" : "code", sig ? sig : code);
  if (pol->id_prefix[0]) {
    char id[200];
    snprintf(id, sizeof id, "%s:%d:%llu", pol->id_prefix, x->pid, (unsigned long long)x->timestamp_ns);
    probe_event_set_id(ev, id);
  }
  return 1;
}

/* ---- process table --------------------------------------------------------------------- */

static proc_entry *table_find(procconn *pc, int pid) {
  size_t i = (size_t)pid % TABLE_SIZE;
  while (pc->table[i].pid) {
    if (pc->table[i].pid == pid) return &pc->table[i];
    i = (i + 1) % TABLE_SIZE;
  }
  return NULL;
}

static proc_entry *table_add(procconn *pc, int pid) {
  proc_entry *e = table_find(pc, pid);
  if (e) return e;
  if (pc->count >= TABLE_MAX) return NULL;
  size_t i = (size_t)pid % TABLE_SIZE;
  while (pc->table[i].pid) i = (i + 1) % TABLE_SIZE;
  e = &pc->table[i];
  memset(e, 0, sizeof *e);
  e->pid = pid;
  e->start_ns = -1;
  e->ppid = -1;
  pc->count++;
  return e;
}

static void table_remove(procconn *pc, int pid) {
  size_t i = (size_t)pid % TABLE_SIZE;
  while (pc->table[i].pid && pc->table[i].pid != pid) i = (i + 1) % TABLE_SIZE;
  if (!pc->table[i].pid) return;
  pc->table[i].pid = 0;
  pc->count--;
  size_t j = (i + 1) % TABLE_SIZE;
  while (pc->table[j].pid) {
    proc_entry e = pc->table[j];
    pc->table[j].pid = 0;
    size_t k = (size_t)e.pid % TABLE_SIZE;
    while (pc->table[k].pid) k = (k + 1) % TABLE_SIZE;
    pc->table[k] = e;
    j = (j + 1) % TABLE_SIZE;
  }
}

/* comm, ppid and start time (CLOCK_MONOTONIC ns) from /proc/PID/stat. 0 or -1. */
static int read_stat(int pid, char *comm, size_t cap, int *ppid, int64_t *start_ns) {
  char path[64], line[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(line, 1, sizeof line - 1, f);
  fclose(f);
  line[n] = '\0';
  char *open = strchr(line, '('), *close = strrchr(line, ')');
  if (!open || !close || close < open) return -1;
  size_t cl = (size_t)(close - open - 1);
  if (cl >= cap) cl = cap - 1;
  memcpy(comm, open + 1, cl);
  comm[cl] = '\0';
  /* fields after ")": state(3) ppid(4) ... starttime(22) */
  char *p = close + 2;
  int field = 3;
  long long pp = -1;
  unsigned long long start = 0;
  char *save = NULL;
  for (char *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
    if (field == 4) pp = atoll(tok);
    if (field == 22) {
      start = strtoull(tok, NULL, 10);
      break;
    }
  }
  *ppid = (int)pp;
  long hz = sysconf(_SC_CLK_TCK);
  struct timespec boot, mono;
  clock_gettime(CLOCK_BOOTTIME, &boot);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  int64_t offset = ((int64_t)boot.tv_sec - mono.tv_sec) * NS_PER_SEC + (boot.tv_nsec - mono.tv_nsec);
  *start_ns = hz > 0 ? (int64_t)(start * (NS_PER_SEC / hz)) - offset : -1;
  return 0;
}

static void read_exe(int pid, char *out, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  ssize_t n = readlink(path, out, cap - 1);
  out[n > 0 ? n : 0] = '\0';
}

static void read_comm(int pid, char *out, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/comm", pid);
  FILE *f = fopen(path, "r");
  out[0] = '\0';
  if (!f) return;
  if (!fgets(out, (int)cap, f)) out[0] = '\0';
  fclose(f);
  out[strcspn(out, "\n")] = '\0';
}

static void scan_proc(procconn *pc) {
  DIR *d = opendir("/proc");
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d))) {
    char *end;
    long pid = strtol(de->d_name, &end, 10);
    if (*end || pid <= 0) continue;
    proc_entry *e = table_add(pc, (int)pid);
    if (!e) break;
    if (read_stat((int)pid, e->comm, sizeof e->comm, &e->ppid, &e->start_ns) < 0) {
      table_remove(pc, (int)pid);
      continue;
    }
    read_exe((int)pid, e->exe, sizeof e->exe);
  }
  closedir(d);
}

/* ---- socket ----------------------------------------------------------------------------- */

static int send_listen(int fd, enum proc_cn_mcast_op op) {
  /* nlmsghdr | cn_msg (its data[] is the op) */
  char msg[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof(enum proc_cn_mcast_op))];
  memset(msg, 0, sizeof msg);
  struct nlmsghdr *nl = (struct nlmsghdr *)(void *)msg;
  struct cn_msg *cn = (struct cn_msg *)NLMSG_DATA(nl);
  nl->nlmsg_len = NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof op);
  nl->nlmsg_type = NLMSG_DONE;
  nl->nlmsg_pid = 0;
  cn->id.idx = CN_IDX_PROC;
  cn->id.val = CN_VAL_PROC;
  cn->len = sizeof op;
  memcpy(cn->data, &op, sizeof op);
  return send(fd, msg, nl->nlmsg_len, 0) == (ssize_t)nl->nlmsg_len ? 0 : -1;
}

procconn *procconn_open(const procconn_policy *pol, char *err, size_t errcap) {
  procconn *pc = calloc(1, sizeof *pc);
  if (!pc) {
    snprintf(err, errcap, "out of memory");
    errno = ENOMEM;
    return NULL;
  }
  pc->table = calloc(TABLE_SIZE, sizeof *pc->table);
  if (!pc->table) {
    free(pc);
    snprintf(err, errcap, "out of memory");
    errno = ENOMEM;
    return NULL;
  }
  pc->pol = *pol;
  pc->self = getpid();
  pc->fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  const char *step = "socket(NETLINK_CONNECTOR)";
  if (pc->fd >= 0) {
    struct sockaddr_nl sa;
    memset(&sa, 0, sizeof sa);
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = CN_IDX_PROC;
    sa.nl_pid = 0;
    int rcv = 4 << 20;
    if (setsockopt(pc->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0)
      (void)setsockopt(pc->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv); /* best effort */
    step = "bind to CN_IDX_PROC";
    if (bind(pc->fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
      step = "PROC_CN_MCAST_LISTEN";
      if (send_listen(pc->fd, PROC_CN_MCAST_LISTEN) == 0) {
        scan_proc(pc);
        return pc;
      }
    }
  }
  int e = errno;
  snprintf(err, errcap, "process connector: %s: %s%s", step, strerror(e),
           (e == EPERM || e == EACCES) ? " (needs CAP_NET_ADMIN in the initial network namespace)" : "");
  if (pc->fd >= 0) close(pc->fd);
  free(pc->table);
  free(pc);
  errno = e;
  return NULL;
}

void procconn_close(procconn *pc) {
  if (!pc) return;
  if (pc->fd >= 0) {
    (void)send_listen(pc->fd, PROC_CN_MCAST_IGNORE);
    close(pc->fd);
  }
  free(pc->table);
  free(pc);
}

int procconn_fd(const procconn *pc) { return pc->fd; }

size_t procconn_tracked(const procconn *pc) { return pc->count; }

static void handle_event(procconn *pc, const struct proc_event *pe, void (*emit)(void *, probe_event *), void *ud) {
  switch (pe->what) {
    case PROC_EVENT_FORK: {
      int child = pe->event_data.fork.child_pid;
      if (child != pe->event_data.fork.child_tgid) return; /* a thread */
      proc_entry *parent = table_find(pc, pe->event_data.fork.parent_tgid);
      proc_entry *e = table_add(pc, child);
      if (!e) return;
      e->ppid = pe->event_data.fork.parent_tgid;
      e->start_ns = (int64_t)pe->timestamp_ns;
      if (parent) {
        memcpy(e->comm, parent->comm, sizeof e->comm);
        memcpy(e->exe, parent->exe, sizeof e->exe);
      } else {
        read_comm(child, e->comm, sizeof e->comm);
        read_exe(child, e->exe, sizeof e->exe);
      }
      return;
    }
    case PROC_EVENT_EXEC: {
      int pid = pe->event_data.exec.process_tgid;
      proc_entry *e = table_add(pc, pid);
      if (!e) return;
      if (e->start_ns < 0) e->start_ns = (int64_t)pe->timestamp_ns;
      read_comm(pid, e->comm, sizeof e->comm);
      read_exe(pid, e->exe, sizeof e->exe);
      return;
    }
    case PROC_EVENT_COMM: {
      proc_entry *e = table_find(pc, pe->event_data.comm.process_tgid);
      if (e && pe->event_data.comm.process_pid == pe->event_data.comm.process_tgid) {
        memcpy(e->comm, pe->event_data.comm.comm, sizeof e->comm);
        e->comm[sizeof e->comm - 1] = '\0';
      }
      return;
    }
    case PROC_EVENT_EXIT: {
      procconn_exit x;
      memset(&x, 0, sizeof x);
      x.pid = pe->event_data.exit.process_pid;
      x.tgid = pe->event_data.exit.process_tgid;
      if (x.pid != x.tgid) return;
      x.exit_code = pe->event_data.exit.exit_code;
      x.timestamp_ns = pe->timestamp_ns;
      x.ppid = pe->event_data.exit.parent_tgid > 0 ? pe->event_data.exit.parent_tgid : -1;
      x.start_ns = -1;
      proc_entry *e = table_find(pc, x.pid);
      char comm[16] = "";
      int ppid = -1;
      int64_t start = -1;
      if (e) {
        x.comm = e->comm[0] ? e->comm : NULL;
        x.exe = e->exe;
        x.start_ns = e->start_ns;
        if (x.ppid < 0) x.ppid = e->ppid;
      }
      if (x.exit_code != 0 && x.pid != pc->self) {
        /* the zombie is usually still there: its comm is the latest (prctl PR_SET_NAME) */
        if (read_stat(x.pid, comm, sizeof comm, &ppid, &start) == 0) {
          x.comm = comm;
          if (x.ppid < 0) x.ppid = ppid;
          if (x.start_ns < 0) x.start_ns = start;
        }
        probe_event ev;
        if (procconn_classify(&x, &pc->pol, &ev)) {
          /* the kernel's timestamp is CLOCK_MONOTONIC: the event's wall-clock time */
          int64_t age = time_mono_ns() - (int64_t)x.timestamp_ns;
          ev.time_ns = time_now_ns() - (age > 0 ? age : 0);
          emit(ud, &ev);
          probe_event_free(&ev);
        }
      }
      table_remove(pc, x.pid);
      return;
    }
    default:
      return;
  }
}

int procconn_read(procconn *pc, void (*emit)(void *ud, probe_event *ev), void *ud, uint64_t *lost, char *err,
                  size_t errcap) {
  for (;;) {
    ssize_t n = recv(pc->fd, pc->rbuf, sizeof pc->rbuf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        (*lost)++;
        continue;
      }
      snprintf(err, errcap, "process connector: recv: %s", strerror(errno));
      return -1;
    }
    size_t off = 0;
    while (off + sizeof(struct nlmsghdr) <= (size_t)n) {
      struct nlmsghdr *nh = (struct nlmsghdr *)(void *)(pc->rbuf + off);
      if (nh->nlmsg_len < sizeof(struct nlmsghdr) || nh->nlmsg_len > (size_t)n - off) break;
      off += NLMSG_ALIGN(nh->nlmsg_len);
      if (nh->nlmsg_type == NLMSG_NOOP || nh->nlmsg_type == NLMSG_ERROR) continue;
      if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct cn_msg))) continue;
      struct cn_msg *cn = NLMSG_DATA(nh);
      if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC) continue;
      if (cn->len < sizeof(struct proc_event) || cn->len > nh->nlmsg_len - NLMSG_LENGTH(sizeof(struct cn_msg))) continue;
      handle_event(pc, (const struct proc_event *)(void *)cn->data, emit, ud);
    }
  }
}
