/* rules: the kernel line matchers (patterns in rules.h). Each matcher takes the decoded
 * message of one record and either fills an event or returns 0 without touching it. */
#include "probe/rules.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_LIMIT_NS (5LL * 1000000000LL)
#define GPF_RECORD_LIMIT 24

void krules_config_default(krules_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->oom_kill = cfg->segfault = cfg->trap = cfg->hung_task = cfg->audit_anom_abend = 1;
}

void krules_init(kernel_rules *kr, const krules_config *cfg) {
  memset(kr, 0, sizeof *kr);
  kr->cfg = *cfg;
  kr->kill_pid = -1;
}

void krules_free(kernel_rules *kr) {
  if (kr->gpf_active) probe_event_free(&kr->gpf);
  kr->gpf_active = 0;
}

const char *probe_signal_name(int sig) {
  switch (sig) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGUSR1: return "SIGUSR1";
    case SIGSEGV: return "SIGSEGV";
    case SIGUSR2: return "SIGUSR2";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    case SIGSTKFLT: return "SIGSTKFLT";
    case SIGCHLD: return "SIGCHLD";
    case SIGCONT: return "SIGCONT";
    case SIGSTOP: return "SIGSTOP";
    case SIGTSTP: return "SIGTSTP";
    case SIGTTIN: return "SIGTTIN";
    case SIGTTOU: return "SIGTTOU";
    case SIGURG: return "SIGURG";
    case SIGXCPU: return "SIGXCPU";
    case SIGXFSZ: return "SIGXFSZ";
    case SIGVTALRM: return "SIGVTALRM";
    case SIGPROF: return "SIGPROF";
    case SIGWINCH: return "SIGWINCH";
    case SIGIO: return "SIGIO";
    case SIGPWR: return "SIGPWR";
    case SIGSYS: return "SIGSYS";
  }
  return NULL;
}

int probe_signal_is_crash(int sig) {
  return sig == SIGSEGV || sig == SIGABRT || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGSYS ||
         sig == SIGTRAP;
}

/* ---- small scanners over (pointer, length) text ---------------------------------------- */

typedef struct span {
  const char *p;
  size_t n;
} span;

static int starts_with(span s, const char *prefix) {
  size_t k = strlen(prefix);
  return s.n >= k && memcmp(s.p, prefix, k) == 0;
}

/* First occurrence of needle in s at or after from, or -1. */
static long find_from(span s, size_t from, const char *needle) {
  size_t k = strlen(needle);
  if (k == 0 || s.n < k) return -1;
  for (size_t i = from; i + k <= s.n; i++)
    if (s.p[i] == needle[0] && memcmp(s.p + i, needle, k) == 0) return (long)i;
  return -1;
}

static long find(span s, const char *needle) { return find_from(s, 0, needle); }

/* Last occurrence of needle in s, or -1. */
static long rfind(span s, const char *needle) {
  size_t k = strlen(needle);
  if (k == 0 || s.n < k) return -1;
  for (size_t i = s.n - k + 1; i-- > 0;)
    if (s.p[i] == needle[0] && memcmp(s.p + i, needle, k) == 0) return (long)i;
  return -1;
}

/* Parse a signed decimal at s[*i]; advance. 0 or -1. */
static int scan_int(span s, size_t *i, int64_t *out) {
  size_t j = *i;
  int neg = 0;
  if (j < s.n && (s.p[j] == '-' || s.p[j] == '+')) {
    neg = s.p[j] == '-';
    j++;
  }
  size_t start = j;
  int64_t v = 0;
  while (j < s.n && s.p[j] >= '0' && s.p[j] <= '9') {
    if (v > (INT64_MAX - 9) / 10) return -1;
    v = v * 10 + (s.p[j] - '0');
    j++;
  }
  if (j == start) return -1;
  *out = neg ? -v : v;
  *i = j;
  return 0;
}

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Scan a hex number (optional 0x) at s[*i]; its text without 0x into [*from, *to). */
static int scan_hex(span s, size_t *i, size_t *from, size_t *to) {
  size_t j = *i;
  if (j + 1 < s.n && s.p[j] == '0' && (s.p[j + 1] == 'x' || s.p[j + 1] == 'X')) j += 2;
  size_t start = j;
  while (j < s.n && is_hex(s.p[j])) j++;
  if (j == start || j - start > 16) return -1;
  *from = start;
  *to = j;
  *i = j;
  return 0;
}

static uint64_t hex_value(const char *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    unsigned d = (c <= '9') ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
    v = v << 4 | d;
  }
  return v;
}

/* Set a member to "0x<hex>" from s[from..to). */
static void set_hex(probe_event *ev, const char *key, span s, size_t from, size_t to) {
  char tmp[24];
  size_t n = to - from;
  if (n > 16) n = 16;
  tmp[0] = '0';
  tmp[1] = 'x';
  for (size_t i = 0; i < n; i++) tmp[2 + i] = (char)(s.p[from + i] | ((s.p[from + i] >= 'A' && s.p[from + i] <= 'F') ? 0x20 : 0));
  probe_event_set_str(ev, key, tmp, n + 2);
}

/* Expect literal lit at s[*i]; advance. 0 or -1. */
static int expect(span s, size_t *i, const char *lit) {
  size_t k = strlen(lit);
  if (*i + k > s.n || memcmp(s.p + *i, lit, k) != 0) return -1;
  *i += k;
  return 0;
}

static void copy_span(char *dst, size_t cap, const char *p, size_t n) {
  if (n >= cap) n = cap - 1;
  memcpy(dst, p, n);
  dst[n] = '\0';
}

static void set_id(kernel_rules *kr, probe_event *ev, uint64_t seq) {
  if (!kr->cfg.id_prefix[0]) return;
  char id[160];
  snprintf(id, sizeof id, "%s:%llu", kr->cfg.id_prefix, (unsigned long long)seq);
  probe_event_set_id(ev, id);
}

static void set_dedup(probe_event *ev, const char *a, const char *b) {
  snprintf(ev->dedup_key, sizeof ev->dedup_key, "%.63s|%.90s", a ? a : "", b ? b : "");
}

/* ---- "comm[pid]" before a marker --------------------------------------------------------
 * The comm may contain anything, so it is located from the marker backwards: the marker is
 * preceded by "[digits]", and the comm is everything before that '[' (after a prefix). */
static int comm_pid_before(span s, size_t prefix_len, long marker, span *comm, int64_t *pid) {
  if (marker <= 0 || s.p[marker - 1] != ']') return -1;
  long j = marker - 2;
  long digits_end = marker - 1;
  while (j >= (long)prefix_len && s.p[j] >= '0' && s.p[j] <= '9') j--;
  if (j < (long)prefix_len || s.p[j] != '[' || j + 1 == digits_end) return -1;
  size_t k = (size_t)j + 1;
  if (scan_int(s, &k, pid) < 0) return -1;
  comm->p = s.p + prefix_len;
  comm->n = (size_t)j - prefix_len;
  return 0;
}

/* " in mod[BASE+SIZE]" and " likely on CPU N (core N, socket N)" after position i. */
static void parse_vma_suffix(probe_event *ev, span s, size_t i) {
  long in = find_from(s, i, " in ");
  long cpu = find_from(s, i, " likely on CPU ");
  if (in >= 0 && (cpu < 0 || in < cpu)) {
    size_t start = (size_t)in + 4;
    size_t end = cpu >= 0 ? (size_t)cpu : s.n;
    if (end < start) end = start; /* " in likely on CPU": the two markers share a space */
    /* module name up to the last '[' of this part */
    long open = -1;
    for (size_t k = end; k-- > start;)
      if (s.p[k] == '[') {
        open = (long)k;
        break;
      }
    if (open > (long)start) {
      probe_event_set_str(ev, "module", s.p + start, (size_t)open - start);
      size_t close = (size_t)open + 1;
      while (close < end && s.p[close] != ']') close++;
      /* "[BASE+SIZE]" (or "[OFF,BASE+SIZE]"): keep base and size */
      span inner = {s.p + open + 1, close - (size_t)open - 1};
      long plus = find(inner, "+");
      long comma = find(inner, ",");
      size_t bstart = comma >= 0 && comma < plus ? (size_t)comma + 1 : 0;
      if (bstart > 0) { /* 6.x: "[OFFSET,BASE+SIZE]", OFFSET = ip's offset in the file */
        size_t a, b, k = 0;
        if (scan_hex(inner, &k, &a, &b) == 0 && k == (size_t)comma) set_hex(ev, "module_offset", inner, a, b);
      }
      if (plus > (long)bstart) {
        size_t a, b, k = bstart;
        if (scan_hex(inner, &k, &a, &b) == 0 && k == (size_t)plus) set_hex(ev, "module_base", inner, a, b);
        k = (size_t)plus + 1;
        if (scan_hex(inner, &k, &a, &b) == 0) set_hex(ev, "module_size", inner, a, b);
      }
    } else {
      probe_event_set_str(ev, "module", s.p + start, end - start);
    }
  } else {
    probe_event_set_null(ev, "module");
  }
  if (cpu >= 0) {
    size_t k = (size_t)cpu + strlen(" likely on CPU ");
    int64_t n;
    if (scan_int(s, &k, &n) == 0) probe_event_set_int(ev, "cpu", n);
  }
}

/* ---- segfault --------------------------------------------------------------------------- */

static int match_segfault(kernel_rules *kr, span s, probe_event *ev) {
  long m = find(s, ": segfault at ");
  if (m < 0) return 0;
  span comm;
  int64_t pid;
  if (comm_pid_before(s, 0, m, &comm, &pid) < 0) return 0;
  size_t i = (size_t)m + strlen(": segfault at ");
  size_t a0, a1, ip0, ip1, sp0, sp1, e0, e1;
  if (scan_hex(s, &i, &a0, &a1) < 0 || expect(s, &i, " ip ") < 0 || scan_hex(s, &i, &ip0, &ip1) < 0 ||
      expect(s, &i, " sp ") < 0 || scan_hex(s, &i, &sp0, &sp1) < 0 || expect(s, &i, " error ") < 0 ||
      scan_hex(s, &i, &e0, &e1) < 0)
    return 0;
  probe_event_init(ev, "process.segfault", PROBE_SEV_ERROR, "kmsg.segfault", "kmsg");
  probe_event_set_int(ev, "pid", pid);
  probe_event_set_str(ev, "comm", comm.p, comm.n);
  set_hex(ev, "addr", s, a0, a1);
  set_hex(ev, "ip", s, ip0, ip1);
  set_hex(ev, "sp", s, sp0, sp1);
  uint64_t err = hex_value(s.p + e0, e1 - e0);
  probe_event_set_int(ev, "error", (int64_t)err);
  parse_vma_suffix(ev, s, i);
  /* x86 page-fault error code: bit 0 protection (else not present), 1 write, 4 fetch */
  probe_event_set_cstr(ev, "access", (err & 0x10) ? "exec" : (err & 0x2) ? "write" : "read");
  probe_event_set_cstr(ev, "cause", (err & 0x1) ? "protection" : "not-present");
  const probe_field *mod = probe_event_get(ev, "module");
  char c[64];
  copy_span(c, sizeof c, comm.p, comm.n);
  set_dedup(ev, c, mod && mod->kind == PF_STR ? mod->s : "");
  (void)kr;
  return 1;
}

/* ---- arm64 user faults -------------------------------------------------------------------
 * 4.x: "comm[pid]: unhandled level 3 translation fault (11) at 0x00000000, esr 0x92000046, in
 *      mod[BASE+SIZE]"
 * 5.x+: "comm[pid]: unhandled exception: DABT (lower EL), ESR 0x0000000092000046, level 3
 *      translation fault in mod[BASE+SIZE]"
 * A fault (translation, permission, access flag, alignment) is a process.segfault, anything
 * else (undefined instruction, BRK, ...) a process.trap. */
static int match_arm64(kernel_rules *kr, span s, probe_event *ev) {
  long m = find(s, "]: unhandled ");
  if (m < 0) return 0;
  span comm;
  int64_t pid;
  if (comm_pid_before(s, 0, m + 1, &comm, &pid) < 0) return 0;
  size_t i = (size_t)m + strlen("]: unhandled ");
  size_t what0, what1, esr0 = 0, esr1 = 0, addr0 = 0, addr1 = 0;
  int have_addr = 0, have_esr = 0;
  char esr_class[64] = "";
  int64_t sig = 0;
  if (expect(s, &i, "exception: ") == 0) { /* 5.x+ */
    long e = find_from(s, i, ", ESR 0x");
    if (e >= 0) {
      copy_span(esr_class, sizeof esr_class, s.p + i, (size_t)e - i);
      size_t k = (size_t)e + strlen(", ESR ");
      if (scan_hex(s, &k, &esr0, &esr1) < 0 || expect(s, &k, ", ") < 0) return 0;
      have_esr = 1;
      i = k;
    }
    what0 = i;
    long in = find_from(s, i, " in ");
    what1 = in >= 0 ? (size_t)in : s.n;
  } else { /* 4.x */
    long open = find_from(s, i, " (");
    if (open < 0) return 0;
    what0 = i;
    what1 = (size_t)open;
    size_t k = (size_t)open + 2;
    if (scan_int(s, &k, &sig) < 0 || expect(s, &k, ") at ") < 0 || scan_hex(s, &k, &addr0, &addr1) < 0 ||
        expect(s, &k, ", esr ") < 0 || scan_hex(s, &k, &esr0, &esr1) < 0)
      return 0;
    have_addr = have_esr = 1;
  }
  if (what1 <= what0) return 0;
  span what = {s.p + what0, what1 - what0};
  int fault = find(what, " fault") >= 0;
  probe_event_init(ev, fault ? "process.segfault" : "process.trap", PROBE_SEV_ERROR,
                   fault ? "kmsg.arm64_fault" : "kmsg.arm64_trap", "kmsg");
  probe_event_set_int(ev, "pid", pid);
  probe_event_set_str(ev, "comm", comm.p, comm.n);
  if (have_addr) set_hex(ev, "addr", s, addr0, addr1);
  else probe_event_set_null(ev, "addr");
  probe_event_set_null(ev, "ip");
  probe_event_set_null(ev, "sp");
  if (have_esr) probe_event_set_int(ev, "error", (int64_t)hex_value(s.p + esr0, esr1 - esr0));
  else probe_event_set_null(ev, "error");
  parse_vma_suffix(ev, s, what1);
  probe_event_set_str(ev, fault ? "fault" : "trap", what.p, what.n);
  if (esr_class[0]) probe_event_set_cstr(ev, "esr_class", esr_class);
  if (sig) probe_event_set_int(ev, "signal", sig);
  char c[64], w[64];
  copy_span(c, sizeof c, comm.p, comm.n);
  copy_span(w, sizeof w, what.p, what.n);
  set_dedup(ev, c, w);
  (void)kr;
  return 1;
}

/* ---- traps (user mode) ------------------------------------------------------------------ */

static int match_trap(kernel_rules *kr, span s, probe_event *ev) {
  size_t prefix = starts_with(s, "traps: ") ? 7 : 0;
  long m = find_from(s, prefix, "] trap ");
  size_t desc_start;
  long desc_end;
  const char *gpf = NULL;
  if (m >= 0) {
    m += 1; /* marker position is after ']' */
    desc_start = (size_t)m + strlen(" trap ");
    desc_end = find_from(s, desc_start, " ip:");
  } else {
    m = find_from(s, prefix, "] general protection");
    if (m < 0) return 0;
    m += 1;
    desc_start = (size_t)m + 1;
    desc_end = find_from(s, desc_start, " ip:");
    gpf = "general protection fault";
  }
  if (desc_end < 0) return 0;
  span comm;
  int64_t pid;
  if (comm_pid_before(s, prefix, m, &comm, &pid) < 0) return 0;
  size_t i = (size_t)desc_end;
  size_t ip0, ip1, sp0, sp1, e0, e1;
  if (expect(s, &i, " ip:") < 0 || scan_hex(s, &i, &ip0, &ip1) < 0 || expect(s, &i, " sp:") < 0 ||
      scan_hex(s, &i, &sp0, &sp1) < 0 || expect(s, &i, " error:") < 0 || scan_hex(s, &i, &e0, &e1) < 0)
    return 0;
  probe_event_init(ev, "process.trap", PROBE_SEV_ERROR, gpf ? "kmsg.general_protection" : "kmsg.trap", "kmsg");
  probe_event_set_int(ev, "pid", pid);
  probe_event_set_str(ev, "comm", comm.p, comm.n);
  probe_event_set_null(ev, "addr");
  set_hex(ev, "ip", s, ip0, ip1);
  set_hex(ev, "sp", s, sp0, sp1);
  probe_event_set_int(ev, "error", (int64_t)hex_value(s.p + e0, e1 - e0));
  parse_vma_suffix(ev, s, i);
  if (gpf) probe_event_set_cstr(ev, "trap", gpf);
  else probe_event_set_str(ev, "trap", s.p + desc_start, (size_t)desc_end - desc_start);
  probe_event_set_bool(ev, "kernel", 0);
  char c[64];
  copy_span(c, sizeof c, comm.p, comm.n);
  const probe_field *t = probe_event_get(ev, "trap");
  set_dedup(ev, c, t->s);
  (void)kr;
  return 1;
}

/* ---- kernel-mode general protection fault (an oops) --------------------------------------- */

/* Start a pending kernel-mode event (an oops) of kind trap; addr_at is the position of the
 * address's hex digits in s (or -1). */
static void begin_kernel_oops(kernel_rules *kr, span s, uint64_t seq, int64_t time_ns, const char *rule,
                              const char *trap, long addr_at) {
  probe_event *ev = &kr->gpf;
  probe_event_init(ev, "process.trap", PROBE_SEV_ERROR, rule, "kmsg");
  probe_event_set_null(ev, "pid");
  probe_event_set_null(ev, "comm");
  size_t h0, h1, i = (size_t)(addr_at < 0 ? 0 : addr_at);
  if (addr_at >= 0 && scan_hex(s, &i, &h0, &h1) == 0) set_hex(ev, "addr", s, h0, h1);
  else probe_event_set_null(ev, "addr");
  probe_event_set_null(ev, "ip");
  probe_event_set_null(ev, "sp");
  probe_event_set_null(ev, "error");
  probe_event_set_null(ev, "module");
  probe_event_set_cstr(ev, "trap", trap);
  probe_event_set_bool(ev, "kernel", 1);
  probe_event_set_message(ev, s.p, s.n);
  ev->time_ns = time_ns;
  set_id(kr, ev, seq);
  kr->gpf_active = 1;
  kr->gpf_records = 0;
}

/* Position just after prefix when s starts with it, else -1. */
static long after_prefix(span s, const char *prefix) { return starts_with(s, prefix) ? (long)strlen(prefix) : -1; }

/* The first line of a kernel oops: a general protection fault in kernel mode, a NULL pointer
 * dereference, an unhandled page fault, or a BUG(). Returns 1 when s starts one. */
static int start_kernel_oops(kernel_rules *kr, span s, uint64_t seq, int64_t time_ns) {
  long k;
  if (starts_with(s, "general protection fault")) {
    /* user-mode lines have "ip:" right after; kernel oopses have ": 0000 [#1]" or ", ..." */
    if (s.n > 24 && s.p[24] != ':' && s.p[24] != ',') return 0;
    long a = find(s, "address 0x");
    begin_kernel_oops(kr, s, seq, time_ns, "kmsg.general_protection_kernel", "general protection fault",
                      a >= 0 ? a + 8 : -1);
    long colon = find(s, ": ");
    if (colon >= 0) {
      size_t i = (size_t)colon + 2, h0, h1;
      if (scan_hex(s, &i, &h0, &h1) == 0) probe_event_set_int(&kr->gpf, "error", (int64_t)hex_value(s.p + h0, h1 - h0));
    }
    return 1;
  }
  if ((k = after_prefix(s, "BUG: kernel NULL pointer dereference, address: ")) >= 0 ||
      (k = after_prefix(s, "BUG: unable to handle kernel NULL pointer dereference at ")) >= 0) {
    begin_kernel_oops(kr, s, seq, time_ns, "kmsg.kernel_oops", "NULL pointer dereference", k);
    return 1;
  }
  if ((k = after_prefix(s, "BUG: unable to handle page fault for address: ")) >= 0 ||
      (k = after_prefix(s, "BUG: unable to handle kernel paging request at ")) >= 0) {
    begin_kernel_oops(kr, s, seq, time_ns, "kmsg.kernel_oops", "page fault", k);
    return 1;
  }
  if ((k = after_prefix(s, "kernel BUG at ")) >= 0) {
    begin_kernel_oops(kr, s, seq, time_ns, "kmsg.kernel_oops", "kernel BUG", -1);
    size_t end = s.n;
    if (end > (size_t)k && s.p[end - 1] == '!') end--;
    probe_event_set_str(&kr->gpf, "location", s.p + k, end - (size_t)k);
    return 1;
  }
  return 0;
}

/* Fill the pending kernel GPF from its "CPU:" and "RIP:" lines; returns 1 when complete. */
static int continue_kernel_gpf(kernel_rules *kr, span s) {
  probe_event *ev = &kr->gpf;
  if (starts_with(s, "CPU: ")) {
    long p = find(s, " PID: ");
    long c = find(s, " Comm: ");
    if (p >= 0) {
      size_t i = (size_t)p + 6;
      int64_t pid;
      if (scan_int(s, &i, &pid) == 0) probe_event_set_int(ev, "pid", pid);
    }
    if (c >= 0) {
      size_t start = (size_t)c + 7;
      long t = find_from(s, start, " Tainted:");
      long nt = find_from(s, start, " Not tainted");
      size_t end = s.n;
      if (t >= 0) end = (size_t)t;
      if (nt >= 0 && (size_t)nt < end) end = (size_t)nt;
      while (end > start && s.p[end - 1] == ' ') end--;
      probe_event_set_str(ev, "comm", s.p + start, end - start);
    }
    return 0;
  }
  const probe_field *err = probe_event_get(ev, "error");
  if (err && err->kind == PF_NULL) {
    long k = after_prefix(s, "#PF: error_code(0x");
    if (k < 0) k = after_prefix(s, "Oops: ");
    size_t i = (size_t)(k < 0 ? 0 : k), h0, h1;
    if (k >= 0 && scan_hex(s, &i, &h0, &h1) == 0) probe_event_set_int(ev, "error", (int64_t)hex_value(s.p + h0, h1 - h0));
  }
  if (starts_with(s, "RIP: ")) {
    size_t start = 5;
    if (s.n > 10 && s.p[9] == ':') start = 10; /* "RIP: 0010:" */
    /* old kernels: "RIP: 0010:[<ffffffff811b4e9b>]  [<ffffffff811b4e9b>] kfree+0x5b/0x1c0" */
    long sym = rfind(s, "] ");
    if (sym >= (long)start && s.p[start] == '[') start = (size_t)sym + 2;
    probe_event_set_str(ev, "ip", s.p + start, s.n - start);
    long br = find_from(s, start, " [");
    if (br >= 0 && s.n > 0 && s.p[s.n - 1] == ']') probe_event_set_str(ev, "module", s.p + br + 2, s.n - (size_t)br - 3);
    return 1;
  }
  return 0;
}

static void finish_kernel_gpf(kernel_rules *kr, probe_event *out) {
  const probe_field *c = probe_event_get(&kr->gpf, "comm");
  const probe_field *t = probe_event_get(&kr->gpf, "trap");
  set_dedup(&kr->gpf, c && c->kind == PF_STR ? c->s : "", t && t->kind == PF_STR ? t->s : "kernel");
  probe_event_move(out, &kr->gpf);
  kr->gpf_active = 0;
}

/* ---- hung task ---------------------------------------------------------------------------- */

static int match_hung(kernel_rules *kr, span s, probe_event *ev) {
  if (!starts_with(s, "INFO: task ")) return 0;
  long m = find(s, " blocked for more than ");
  if (m < 0) return 0;
  long colon = -1;
  for (long k = m - 1; k >= 11; k--)
    if (s.p[k] == ':') {
      colon = k;
      break;
    }
  if (colon < 0) return 0;
  size_t i = (size_t)colon + 1;
  int64_t pid, secs;
  if (scan_int(s, &i, &pid) < 0 || i != (size_t)m) return 0;
  i = (size_t)m + strlen(" blocked for more than ");
  if (scan_int(s, &i, &secs) < 0 || expect(s, &i, " seconds") < 0) return 0;
  if (secs < kr->cfg.hung_task_min_seconds) return 0;
  probe_event_init(ev, "task.hung", PROBE_SEV_ERROR, "kmsg.hung_task", "kmsg");
  probe_event_set_int(ev, "pid", pid);
  probe_event_set_str(ev, "comm", s.p + 11, (size_t)colon - 11);
  probe_event_set_int(ev, "seconds", secs);
  char c[64];
  copy_span(c, sizeof c, s.p + 11, (size_t)colon - 11);
  set_dedup(ev, c, "");
  return 1;
}

/* ---- audit ANOM_ABEND ------------------------------------------------------------------- */

/* Value of " key=" in s: quoted ("...") or bare (up to a space); hex-encoded bare values of
 * comm/exe are decoded. Returns 0 and writes out, or -1. */
static int audit_value(span s, const char *key, char *out, size_t cap) {
  char pat[32];
  snprintf(pat, sizeof pat, " %s=", key);
  long k = find(s, pat);
  if (k < 0) return -1;
  size_t i = (size_t)k + strlen(pat);
  if (i < s.n && s.p[i] == '"') {
    size_t e = i + 1;
    while (e < s.n && s.p[e] != '"') e++;
    copy_span(out, cap, s.p + i + 1, e - i - 1);
    return 0;
  }
  size_t e = i;
  while (e < s.n && s.p[e] != ' ') e++;
  int hex = (e - i) % 2 == 0 && e > i;
  for (size_t j = i; j < e && hex; j++)
    if (!is_hex(s.p[j]) || (s.p[j] >= 'a' && s.p[j] <= 'f')) hex = 0; /* audit writes upper case */
  if (hex && (strcmp(key, "comm") == 0 || strcmp(key, "exe") == 0)) {
    size_t o = 0;
    for (size_t j = i; j + 1 < e && o + 1 < cap; j += 2) out[o++] = (char)hex_value(s.p + j, 2);
    out[o] = '\0';
    return 0;
  }
  copy_span(out, cap, s.p + i, e - i);
  return 0;
}

static int match_audit_abend(kernel_rules *kr, span s, probe_event *ev) {
  if (!starts_with(s, "audit: type=1701 ")) return 0;
  char pid_s[32], comm[256], exe[1024], sig_s[32];
  if (audit_value(s, "pid", pid_s, sizeof pid_s) < 0 || audit_value(s, "sig", sig_s, sizeof sig_s) < 0) return 0;
  int64_t pid, sig;
  span ps = {pid_s, strlen(pid_s)}, ss = {sig_s, strlen(sig_s)};
  size_t i = 0, j = 0;
  if (scan_int(ps, &i, &pid) < 0 || scan_int(ss, &j, &sig) < 0) return 0;
  int crash = probe_signal_is_crash((int)sig);
  probe_event_init(ev, "process.abnormal_exit", crash ? PROBE_SEV_ERROR : PROBE_SEV_WARN, "kmsg.audit_anom_abend",
                   "kmsg");
  probe_event_set_int(ev, "pid", pid);
  probe_event_set_null(ev, "ppid");
  if (audit_value(s, "comm", comm, sizeof comm) == 0) probe_event_set_cstr(ev, "comm", comm);
  else probe_event_set_null(ev, "comm");
  if (audit_value(s, "exe", exe, sizeof exe) == 0) probe_event_set_cstr(ev, "exe", exe);
  else probe_event_set_null(ev, "exe");
  probe_event_set_null(ev, "exit_code");
  probe_event_set_int(ev, "signal", sig);
  const char *name = probe_signal_name((int)sig);
  if (name) probe_event_set_cstr(ev, "signal_name", name);
  probe_event_set_null(ev, "core_dumped");
  probe_event_set_null(ev, "runtime");
  char sigbuf[32];
  snprintf(sigbuf, sizeof sigbuf, "sig%lld", (long long)sig);
  set_dedup(ev, comm, sigbuf);
  (void)kr;
  return 1;
}

/* ---- OOM -------------------------------------------------------------------------------- */

/* The value of key in the oom-kill summary: from after "key=" up to the next ",word=" of the
 * known keys or ",global_oom". Returns 0 or -1 (absent). */
static int summary_value(span s, const char *key, char *out, size_t cap) {
  static const char *const keys[] = {",constraint=", ",nodemask=", ",cpuset=", ",mems_allowed=", ",global_oom",
                                     ",oom_memcg=",  ",task_memcg=", ",task=", ",pid=", ",uid="};
  char pat[32];
  snprintf(pat, sizeof pat, "%s=", key);
  long k;
  if (strcmp(key, "constraint") == 0) {
    k = starts_with(s, "oom-kill:constraint=") ? 9 : -1;
  } else if (strcmp(key, "pid") == 0 || strcmp(key, "uid") == 0) {
    char pat2[40];
    snprintf(pat2, sizeof pat2, ",%s", pat);
    k = rfind(s, pat2);
    if (k >= 0) k++;
  } else {
    char pat2[40];
    snprintf(pat2, sizeof pat2, ",%s", pat);
    k = find(s, pat2);
    if (k >= 0) k++;
  }
  if (k < 0) return -1;
  size_t start = (size_t)k + strlen(pat);
  size_t end = s.n;
  int is_task = strcmp(key, "task") == 0;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    long e;
    if (is_task) {
      if (strcmp(keys[i], ",pid=") != 0) continue;
      e = rfind(s, keys[i]); /* the comm may contain commas: it ends at the last ",pid=" */
    } else {
      e = find_from(s, start, keys[i]);
    }
    if (e >= (long)start && (size_t)e < end) end = (size_t)e;
  }
  copy_span(out, cap, s.p + start, end - start);
  return 0;
}

static int parse_oom_summary(kernel_rules *kr, span s, uint64_t seq, int64_t time_ns) {
  if (!starts_with(s, "oom-kill:constraint=")) return 0;
  krules_pending_oom *o = &kr->summary;
  memset(o, 0, sizeof *o);
  char pid_s[32] = "", uid_s[32] = "";
  summary_value(s, "constraint", o->constraint, sizeof o->constraint);
  summary_value(s, "nodemask", o->nodemask, sizeof o->nodemask);
  summary_value(s, "cpuset", o->cpuset, sizeof o->cpuset);
  summary_value(s, "mems_allowed", o->mems_allowed, sizeof o->mems_allowed);
  summary_value(s, "oom_memcg", o->oom_memcg, sizeof o->oom_memcg);
  summary_value(s, "task_memcg", o->task_memcg, sizeof o->task_memcg);
  summary_value(s, "task", o->comm, sizeof o->comm);
  if (summary_value(s, "pid", pid_s, sizeof pid_s) < 0) return 0;
  summary_value(s, "uid", uid_s, sizeof uid_s);
  span ps = {pid_s, strlen(pid_s)}, us = {uid_s, strlen(uid_s)};
  size_t i = 0, j = 0;
  if (scan_int(ps, &i, &o->pid) < 0) return 0;
  if (scan_int(us, &j, &o->uid) < 0) o->uid = -1;
  o->global = find(s, ",global_oom") >= 0;
  copy_span(o->text, sizeof o->text, s.p, s.n);
  o->seq = seq;
  o->time_ns = time_ns;
  o->active = 1;
  return 1;
}

/* Apply the pending summary (if any) to ev, then clear it. */
static void apply_summary(kernel_rules *kr, probe_event *ev) {
  krules_pending_oom *o = &kr->summary;
  if (o->task_memcg[0]) probe_event_set_cstr(ev, "memcg", o->task_memcg);
  if (o->oom_memcg[0]) probe_event_set_cstr(ev, "oom_memcg", o->oom_memcg);
  else probe_event_set_null(ev, "oom_memcg");
  if (o->constraint[0]) probe_event_set_cstr(ev, "constraint", o->constraint);
  if (o->cpuset[0]) probe_event_set_cstr(ev, "cpuset", o->cpuset);
  if (o->nodemask[0]) probe_event_set_cstr(ev, "nodemask", o->nodemask);
  if (o->mems_allowed[0]) probe_event_set_cstr(ev, "mems_allowed", o->mems_allowed);
  const probe_field *uid = probe_event_get(ev, "uid");
  if ((!uid || uid->kind == PF_NULL) && o->uid >= 0) probe_event_set_int(ev, "uid", o->uid);
  o->active = 0;
}

/* A summary not followed by its kill line: an event of its own. */
static void emit_summary_alone(kernel_rules *kr, probe_event *ev) {
  krules_pending_oom *o = &kr->summary;
  probe_event_init(ev, "process.oom_kill", PROBE_SEV_ERROR, "kmsg.oom_kill_summary", "kmsg");
  probe_event_set_int(ev, "pid", o->pid);
  probe_event_set_cstr(ev, "comm", o->comm);
  if (o->uid >= 0) probe_event_set_int(ev, "uid", o->uid);
  else probe_event_set_null(ev, "uid");
  probe_event_set_null(ev, "total_vm_kb");
  probe_event_set_null(ev, "anon_rss_kb");
  probe_event_set_null(ev, "oom_score_adj");
  probe_event_set_null(ev, "memcg");
  probe_event_set_cstr(ev, "scope", o->global ? "system" : "cgroup");
  probe_event_set_message(ev, o->text, strlen(o->text));
  ev->time_ns = o->time_ns;
  set_id(kr, ev, o->seq);
  apply_summary(kr, ev);
  set_dedup(ev, o->comm, o->task_memcg);
}

/* "<N>kB" value of "key:" in s after from, or -1 when absent. */
static int kb_value(span s, size_t from, const char *key, int64_t *out) {
  long k = find_from(s, from, key);
  if (k < 0) return -1;
  size_t i = (size_t)k + strlen(key);
  return scan_int(s, &i, out);
}

static int match_oom_kill(kernel_rules *kr, span s, uint64_t seq, probe_event *ev) {
  size_t i;
  const char *scope = NULL;
  if (starts_with(s, "Out of memory: Killed process ")) {
    i = strlen("Out of memory: Killed process ");
    scope = "system";
  } else if (starts_with(s, "Memory cgroup out of memory: Killed process ")) {
    i = strlen("Memory cgroup out of memory: Killed process ");
    scope = "cgroup";
  } else if (starts_with(s, "Killed process ")) {
    i = strlen("Killed process ");
  } else {
    return 0;
  }
  int64_t pid;
  if (scan_int(s, &i, &pid) < 0 || expect(s, &i, " (") < 0) return 0;
  long close = find_from(s, i, ") total-vm:");
  if (close < 0) return 0;
  span comm = {s.p + i, (size_t)close - i};
  size_t rest = (size_t)close;
  int64_t v;
  probe_event_init(ev, "process.oom_kill", PROBE_SEV_ERROR, "kmsg.oom_kill", "kmsg");
  probe_event_set_int(ev, "pid", pid);
  probe_event_set_str(ev, "comm", comm.p, comm.n);
  if (kb_value(s, rest, " UID:", &v) == 0) probe_event_set_int(ev, "uid", v);
  else probe_event_set_null(ev, "uid");
  if (kb_value(s, rest, "total-vm:", &v) == 0) probe_event_set_int(ev, "total_vm_kb", v);
  else probe_event_set_null(ev, "total_vm_kb");
  if (kb_value(s, rest, "anon-rss:", &v) == 0) probe_event_set_int(ev, "anon_rss_kb", v);
  else probe_event_set_null(ev, "anon_rss_kb");
  if (kb_value(s, rest, " oom_score_adj:", &v) == 0) probe_event_set_int(ev, "oom_score_adj", v);
  else probe_event_set_null(ev, "oom_score_adj");
  probe_event_set_null(ev, "memcg");
  if (kb_value(s, rest, "file-rss:", &v) == 0) probe_event_set_int(ev, "file_rss_kb", v);
  if (kb_value(s, rest, "shmem-rss:", &v) == 0) probe_event_set_int(ev, "shmem_rss_kb", v);
  if (kb_value(s, rest, " pgtables:", &v) == 0) probe_event_set_int(ev, "pgtables_kb", v);
  /* old kernels: the scope and score come from the preceding "Kill process" line */
  if (!scope && kr->kill_pid >= 0) scope = kr->kill_memcg ? "cgroup" : "system";
  if (kr->kill_pid == pid && kr->kill_score >= 0) probe_event_set_int(ev, "score", kr->kill_score);
  if (kr->old_memcg[0]) {
    probe_event_set_cstr(ev, "memcg", kr->old_memcg);
    if (!scope) scope = "cgroup";
  }
  if (kr->summary.active && kr->summary.pid == pid) {
    if (!scope) scope = kr->summary.global ? "system" : "cgroup";
    apply_summary(kr, ev);
  }
  probe_event_set_cstr(ev, "scope", scope ? scope : "system");
  if (kr->invoker[0]) probe_event_set_cstr(ev, "invoked_by", kr->invoker);
  kr->kill_pid = -1;
  kr->kill_score = -1;
  kr->old_memcg[0] = '\0';
  kr->invoker[0] = '\0';
  set_id(kr, ev, seq);
  char c[64];
  copy_span(c, sizeof c, comm.p, comm.n);
  const probe_field *mc = probe_event_get(ev, "memcg");
  set_dedup(ev, c, mc && mc->kind == PF_STR ? mc->s : "");
  return 1;
}

/* The lines around an OOM kill that only carry context. Returns 1 when s was one. */
static int note_oom_context(kernel_rules *kr, span s) {
  long m = find(s, " invoked oom-killer: ");
  if (m > 0) {
    copy_span(kr->invoker, sizeof kr->invoker, s.p, (size_t)m);
    return 1;
  }
  size_t i = 0;
  int memcg = 0;
  if (starts_with(s, "Out of memory: Kill process ")) {
    i = strlen("Out of memory: Kill process ");
  } else if (starts_with(s, "Memory cgroup out of memory: Kill process ")) {
    i = strlen("Memory cgroup out of memory: Kill process ");
    memcg = 1;
  } else if (starts_with(s, "Task in ")) {
    long k = find_from(s, 8, " killed as a result of limit of ");
    if (k < 8) return 0;
    copy_span(kr->old_memcg, sizeof kr->old_memcg, s.p + 8, (size_t)k - 8);
    return 1;
  } else {
    return 0;
  }
  int64_t pid;
  if (scan_int(s, &i, &pid) < 0) return 0;
  kr->kill_pid = pid;
  kr->kill_memcg = memcg;
  kr->kill_score = -1;
  long sc = find_from(s, i, ") score ");
  if (sc >= 0) {
    size_t k = (size_t)sc + strlen(") score ");
    int64_t score;
    if (scan_int(s, &k, &score) == 0) kr->kill_score = score;
  }
  return 1;
}

/* ---- dispatch ------------------------------------------------------------------------- */

int krules_feed(kernel_rules *kr, const char *text, size_t n, uint64_t seq, int64_t time_ns, probe_event *out,
                int max) {
  span s = {text, n};
  int count = 0;
  if (max < 3) return 0;
  /* a pending kernel GPF takes its context lines, or is emitted after a while */
  if (kr->gpf_active) {
    kr->gpf_records++;
    int done = continue_kernel_gpf(kr, s);
    if (done || kr->gpf_records > GPF_RECORD_LIMIT) {
      finish_kernel_gpf(kr, &out[count++]);
      if (done) return count;
    }
  }
  if (kr->cfg.oom_kill) {
    if (kr->summary.active && time_ns - kr->summary.time_ns > PENDING_LIMIT_NS && time_ns > kr->summary.time_ns)
      emit_summary_alone(kr, &out[count++]);
    if (starts_with(s, "oom-kill:constraint=")) {
      if (kr->summary.active) emit_summary_alone(kr, &out[count++]);
      parse_oom_summary(kr, s, seq, time_ns);
      return count;
    }
    if (note_oom_context(kr, s)) return count;
    probe_event *ev = &out[count];
    if (match_oom_kill(kr, s, seq, ev)) {
      if (kr->summary.active) { /* summary of another pid: emit it on its own first */
        probe_event tmp;
        probe_event_move(&tmp, ev);
        emit_summary_alone(kr, &out[count++]);
        probe_event_move(&out[count], &tmp);
      }
      out[count].time_ns = time_ns;
      probe_event_set_message(&out[count], text, n);
      return count + 1;
    }
  }
  probe_event *ev = &out[count];
  int hit = 0;
  if (kr->cfg.segfault && match_segfault(kr, s, ev)) hit = 1;
  else if (kr->cfg.trap && match_trap(kr, s, ev)) hit = 1;
  else if ((kr->cfg.segfault || kr->cfg.trap) && match_arm64(kr, s, ev)) {
    hit = strcmp(ev->type, "process.segfault") == 0 ? kr->cfg.segfault : kr->cfg.trap;
    if (!hit) probe_event_free(ev);
  }
  else if (kr->cfg.hung_task && match_hung(kr, s, ev)) hit = 1;
  else if (kr->cfg.audit_anom_abend && match_audit_abend(kr, s, ev)) hit = 1;
  if (hit) {
    ev->time_ns = time_ns;
    probe_event_set_message(ev, text, n);
    set_id(kr, ev, seq);
    return count + 1;
  }
  if (kr->cfg.trap && !kr->gpf_active && start_kernel_oops(kr, s, seq, time_ns)) return count;
  return count;
}

int krules_flush(kernel_rules *kr, int64_t now_ns, int force, probe_event *out, int max) {
  int count = 0;
  if (max < 3) return 0;
  if (kr->summary.active && (force || now_ns - kr->summary.time_ns > PENDING_LIMIT_NS))
    emit_summary_alone(kr, &out[count++]);
  if (kr->gpf_active && (force || now_ns - kr->gpf.time_ns > PENDING_LIMIT_NS)) finish_kernel_gpf(kr, &out[count++]);
  return count;
}
