/* Unit tests of eventd-probe's pure parsers: /dev/kmsg records, the kernel line rules (OOM,
 * segfault, traps, general protection faults, hung tasks, audit ANOM_ABEND) on samples in
 * the exact printk formats of old and new kernels, and the command.failed line parser. */
#include <signal.h>

#include "probe/cmdfail.h"
#include "probe/kmsg_parse.h"
#include "probe/rules.h"
#include "test.h"

/* ---- helpers -------------------------------------------------------------------------- */

#define MAXEV 16

typedef struct collected {
  probe_event ev[MAXEV];
  int n;
} collected;

/* Feed lines (plain kernel messages, in order) through a fresh rule set; then flush. */
static void run_rules(const char *const *lines, int nlines, collected *out) {
  krules_config cfg;
  krules_config_default(&cfg);
  snprintf(cfg.id_prefix, sizeof cfg.id_prefix, "kmsg:test");
  kernel_rules kr;
  krules_init(&kr, &cfg);
  out->n = 0;
  for (int i = 0; i < nlines; i++) {
    probe_event tmp[8];
    int k = krules_feed(&kr, lines[i], strlen(lines[i]), (uint64_t)(100 + i), 1700000000000000000LL, tmp, 8);
    for (int j = 0; j < k; j++) {
      ASSERT(out->n < MAXEV);
      out->ev[out->n++] = tmp[j];
    }
  }
  probe_event tmp[8];
  int k = krules_flush(&kr, 1700000000000000000LL, 1, tmp, 8);
  for (int j = 0; j < k; j++) out->ev[out->n++] = tmp[j];
  krules_free(&kr);
}

static void free_collected(collected *c) {
  for (int i = 0; i < c->n; i++) probe_event_free(&c->ev[i]);
  c->n = 0;
}

static const char *str_of(const probe_event *ev, const char *key) {
  const probe_field *f = probe_event_get(ev, key);
  if (!f) return "(absent)";
  if (f->kind == PF_NULL) return "(null)";
  if (f->kind != PF_STR) return "(not a string)";
  return f->s;
}

static long long int_of(const probe_event *ev, const char *key) {
  const probe_field *f = probe_event_get(ev, key);
  if (!f || (f->kind != PF_INT && f->kind != PF_BOOL)) return -999999;
  return (long long)f->i;
}

static int is_null(const probe_event *ev, const char *key) {
  const probe_field *f = probe_event_get(ev, key);
  return f && f->kind == PF_NULL;
}

/* ---- kmsg records --------------------------------------------------------------------- */

TEST_IMPL(probe_kmsg_record_parses_header_text_and_dictionary) {
  const char *in = "6,2400,512400000,-;e1000e 0000:00:1f.6 eno1: NIC Link is Up\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:1f.6\n";
  char scratch[512];
  kmsg_record r;
  char err[128];
  ASSERT_EQ_INT(kmsg_parse_record(in, strlen(in), scratch, &r, err, sizeof err), 0);
  ASSERT_EQ_INT(r.prio, 6);
  ASSERT_EQ_U64(r.seq, 2400);
  ASSERT_EQ_U64(r.ts_usec, 512400000);
  ASSERT_EQ_INT(r.flag, '-');
  ASSERT_EQ_STR(r.text, "e1000e 0000:00:1f.6 eno1: NIC Link is Up");
  ASSERT_EQ_INT(r.ndict, 2);
  ASSERT_EQ_STR(r.dict[0].key, "SUBSYSTEM");
  ASSERT_EQ_STR(r.dict[0].value, "pci");
  ASSERT_EQ_STR(r.dict[1].key, "DEVICE");
  ASSERT_EQ_STR(r.dict[1].value, "+pci:0000:00:1f.6");
  return 0;
}

TEST_IMPL(probe_kmsg_record_decodes_escapes_and_ignores_future_fields) {
  /* facility 3 (daemon) level 6 = 30; a future field after the flags; escaped bytes */
  const char *in = "30,7,1234,c,future=1;a\\x5cb\\x0ac\\xe5\\x90\\x8d \\xZZ";
  char scratch[128];
  kmsg_record r;
  char err[128];
  ASSERT_EQ_INT(kmsg_parse_record(in, strlen(in), scratch, &r, err, sizeof err), 0);
  ASSERT_EQ_INT(r.prio, 30);
  ASSERT_EQ_INT(r.flag, 'c');
  ASSERT_EQ_MEM(r.text, r.text_len, "a\\b\nc\xe5\x90\x8d \\xZZ");
  return 0;
}

TEST_IMPL(probe_kmsg_record_rejects_malformed_headers) {
  static const char *const bad[] = {"",          "6",           "6,1",          "6,1,2",
                                    "x,1,2,-;m", "6,-1,2,-;m", "6,1,2,-message", "2000,1,2,-;m",
                                    "6,1,2,-\n;m"};
  char scratch[64];
  kmsg_record r;
  char err[128];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    ASSERT_EQ_INT(kmsg_parse_record(bad[i], strlen(bad[i]), scratch, &r, err, sizeof err), -1);
    ASSERT(err[0] != '\0');
  }
  return 0;
}

/* ---- OOM -------------------------------------------------------------------------------- */

TEST_IMPL(probe_oom_merges_summary_and_kill_line_of_new_kernels) {
  static const char *const lines[] = {
      "stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
      "CPU: 1 PID: 4123 Comm: stress Not tainted 6.1.0-13-amd64 #1  Debian 6.1.55-1",
      "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/system.slice/"
      "stress.service,task_memcg=/system.slice/stress.service,task=stress,pid=4123,uid=0",
      "Memory cgroup out of memory: Killed process 4123 (stress) total-vm:1050060kB, anon-rss:1048728kB, "
      "file-rss:1244kB, shmem-rss:0kB, UID:0 pgtables:2108kB oom_score_adj:-17",
      "oom_reaper: reaped process 4123 (stress), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB"};
  collected c;
  run_rules(lines, 5, &c);
  ASSERT_EQ_INT(c.n, 1);
  probe_event *ev = &c.ev[0];
  ASSERT_EQ_STR(ev->type, "process.oom_kill");
  ASSERT_EQ_INT(ev->severity, PROBE_SEV_ERROR);
  ASSERT_EQ_STR(ev->rule, "kmsg.oom_kill");
  ASSERT_EQ_INT(int_of(ev, "pid"), 4123);
  ASSERT_EQ_STR(str_of(ev, "comm"), "stress");
  ASSERT_EQ_INT(int_of(ev, "uid"), 0);
  ASSERT_EQ_INT(int_of(ev, "total_vm_kb"), 1050060);
  ASSERT_EQ_INT(int_of(ev, "anon_rss_kb"), 1048728);
  ASSERT_EQ_INT(int_of(ev, "file_rss_kb"), 1244);
  ASSERT_EQ_INT(int_of(ev, "pgtables_kb"), 2108);
  ASSERT_EQ_INT(int_of(ev, "oom_score_adj"), -17);
  ASSERT_EQ_STR(str_of(ev, "memcg"), "/system.slice/stress.service");
  ASSERT_EQ_STR(str_of(ev, "oom_memcg"), "/system.slice/stress.service");
  ASSERT_EQ_STR(str_of(ev, "constraint"), "CONSTRAINT_MEMCG");
  ASSERT_EQ_STR(str_of(ev, "scope"), "cgroup");
  ASSERT_EQ_STR(str_of(ev, "invoked_by"), "stress");
  ASSERT_EQ_STR(ev->id, "kmsg:test:103"); /* the kill line's sequence number */
  ASSERT(strstr(ev->message, "Killed process 4123 (stress)") != NULL);
  free_collected(&c);
  return 0;
}

TEST_IMPL(probe_oom_global_summary_with_commas_in_comm_and_nodemask) {
  static const char *const lines[] = {
      "oom-kill:constraint=CONSTRAINT_NONE,nodemask=0-1,3,cpuset=/,mems_allowed=0-1,3,global_oom,task_memcg=/user."
      "slice/user-1000.slice/session-3.scope,task=my,odd proc,pid=7788,uid=1000",
      "Out of memory: Killed process 7788 (my,odd proc) total-vm:2345678kB, anon-rss:1234567kB, file-rss:0kB, "
      "shmem-rss:0kB, UID:1000"};
  collected c;
  run_rules(lines, 2, &c);
  ASSERT_EQ_INT(c.n, 1);
  probe_event *ev = &c.ev[0];
  ASSERT_EQ_STR(str_of(ev, "comm"), "my,odd proc");
  ASSERT_EQ_STR(str_of(ev, "nodemask"), "0-1,3");
  ASSERT_EQ_STR(str_of(ev, "mems_allowed"), "0-1,3");
  ASSERT_EQ_STR(str_of(ev, "memcg"), "/user.slice/user-1000.slice/session-3.scope");
  ASSERT(is_null(ev, "oom_memcg"));
  ASSERT_EQ_STR(str_of(ev, "scope"), "system");
  ASSERT_EQ_INT(int_of(ev, "uid"), 1000);
  ASSERT(is_null(ev, "oom_score_adj")); /* 5.4 has no oom_score_adj in the kill line */
  free_collected(&c);
  return 0;
}

TEST_IMPL(probe_oom_old_kernel_kill_process_and_killed_lines) {
  /* 3.10: two lines, no UID, no shmem-rss; 4.x memcg with the "Task in" line */
  static const char *const lines[] = {
      "java invoked oom-killer: gfp_mask=0x201da, order=0, oom_score_adj=0",
      "Out of memory: Kill process 2233 (java) score 912 or sacrifice child",
      "Killed process 2233 (java) total-vm:8123456kB, anon-rss:3712345kB, file-rss:1234kB",
      "Task in /docker/3f2a killed as a result of limit of /docker/3f2a",
      "Memory cgroup out of memory: Kill process 3344 (python) score 1000 or sacrifice child",
      "Killed process 3344 (python) total-vm:612340kB, anon-rss:262144kB, file-rss:8192kB, shmem-rss:0kB"};
  collected c;
  run_rules(lines, 6, &c);
  ASSERT_EQ_INT(c.n, 2);
  ASSERT_EQ_INT(int_of(&c.ev[0], "pid"), 2233);
  ASSERT_EQ_STR(str_of(&c.ev[0], "comm"), "java");
  ASSERT_EQ_INT(int_of(&c.ev[0], "total_vm_kb"), 8123456);
  ASSERT_EQ_INT(int_of(&c.ev[0], "anon_rss_kb"), 3712345);
  ASSERT_EQ_INT(int_of(&c.ev[0], "score"), 912);
  ASSERT(is_null(&c.ev[0], "uid"));
  ASSERT(is_null(&c.ev[0], "memcg"));
  ASSERT_EQ_STR(str_of(&c.ev[0], "scope"), "system");
  ASSERT_EQ_STR(str_of(&c.ev[0], "invoked_by"), "java");
  ASSERT_EQ_INT(int_of(&c.ev[1], "pid"), 3344);
  ASSERT_EQ_STR(str_of(&c.ev[1], "memcg"), "/docker/3f2a");
  ASSERT_EQ_STR(str_of(&c.ev[1], "scope"), "cgroup");
  ASSERT_EQ_INT(int_of(&c.ev[1], "shmem_rss_kb"), 0);
  free_collected(&c);
  return 0;
}

TEST_IMPL(probe_oom_summary_without_kill_line_is_reported_alone) {
  static const char *const lines[] = {
      "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a/b,"
      "task=worker,pid=55,uid=33",
      "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a/c,"
      "task=other,pid=66,uid=33"};
  collected c;
  run_rules(lines, 2, &c); /* the second summary pushes out the first; the flush the second */
  ASSERT_EQ_INT(c.n, 2);
  ASSERT_EQ_STR(c.ev[0].rule, "kmsg.oom_kill_summary");
  ASSERT_EQ_INT(int_of(&c.ev[0], "pid"), 55);
  ASSERT_EQ_STR(str_of(&c.ev[0], "comm"), "worker");
  ASSERT_EQ_STR(str_of(&c.ev[0], "memcg"), "/a/b");
  ASSERT_EQ_INT(int_of(&c.ev[0], "uid"), 33);
  ASSERT(is_null(&c.ev[0], "total_vm_kb"));
  ASSERT_EQ_INT(int_of(&c.ev[1], "pid"), 66);
  ASSERT_EQ_STR(c.ev[0].id, "kmsg:test:100");
  free_collected(&c);
  return 0;
}

/* ---- segfault / traps / GPF ------------------------------------------------------------ */

TEST_IMPL(probe_segfault_lines_of_old_and_new_kernels) {
  static const char *const lines[] = {
      /* 6.1+: " likely on CPU" suffix */
      "a.out[4200]: segfault at 0 ip 000055d0c1e5a131 sp 00007ffc4d1c1f60 error 6 in a.out[55d0c1e5a000+1000] "
      "likely on CPU 3 (core 3, socket 0)",
      /* 3.x: a library, read fault */
      "nginx[2211]: segfault at 7f3a2c000000 ip 00007f3a4b8e3a3c sp 00007fff9a6b7e18 error 4 in "
      "libc-2.17.so[7f3a4b7a9000+1b6000]",
      /* no VMA for the ip: no " in" part; instruction fetch */
      "python3[3301]: segfault at 10 ip 0000000000000010 sp 00007ffd1c0e0d38 error 14 likely on CPU 0 (core 0, "
      "socket 0)",
      /* a comm with a space and brackets */
      "Web [x] Content[12345]: segfault at 8 ip 00007f1c2a3b4c5d sp 00007ffe11223344 error 4 in "
      "libxul.so[7f1c28000000+5a00000]",
      /* 6.18 as recorded on the test machine: the file offset before the mapping */
      "evt-segv[10541]: segfault at 0 ip 00007f1f6e785ad8 sp 00007ffe65e1d548 error 4 in "
      "libc.so.6[167ad8,7f1f6e644000+156000] likely on CPU 1 (core 1, socket 0)"};
  collected c;
  run_rules(lines, 5, &c);
  ASSERT_EQ_INT(c.n, 5);
  ASSERT_EQ_STR(str_of(&c.ev[4], "comm"), "evt-segv");
  ASSERT_EQ_STR(str_of(&c.ev[4], "module"), "libc.so.6");
  ASSERT_EQ_STR(str_of(&c.ev[4], "module_offset"), "0x167ad8");
  ASSERT_EQ_STR(str_of(&c.ev[4], "module_base"), "0x7f1f6e644000");
  ASSERT_EQ_STR(str_of(&c.ev[4], "module_size"), "0x156000");
  ASSERT_EQ_INT(int_of(&c.ev[4], "cpu"), 1);
  probe_event *e = &c.ev[0];
  ASSERT_EQ_STR(e->type, "process.segfault");
  ASSERT_EQ_INT(int_of(e, "pid"), 4200);
  ASSERT_EQ_STR(str_of(e, "comm"), "a.out");
  ASSERT_EQ_STR(str_of(e, "addr"), "0x0");
  ASSERT_EQ_STR(str_of(e, "ip"), "0x000055d0c1e5a131");
  ASSERT_EQ_STR(str_of(e, "sp"), "0x00007ffc4d1c1f60");
  ASSERT_EQ_INT(int_of(e, "error"), 6);
  ASSERT_EQ_STR(str_of(e, "module"), "a.out");
  ASSERT_EQ_STR(str_of(e, "module_base"), "0x55d0c1e5a000");
  ASSERT_EQ_STR(str_of(e, "module_size"), "0x1000");
  ASSERT_EQ_INT(int_of(e, "cpu"), 3);
  ASSERT_EQ_STR(str_of(e, "access"), "write");
  ASSERT_EQ_STR(str_of(e, "cause"), "not-present");
  ASSERT_EQ_STR(str_of(&c.ev[1], "module"), "libc-2.17.so");
  ASSERT_EQ_STR(str_of(&c.ev[1], "access"), "read");
  ASSERT(is_null(&c.ev[2], "module"));
  ASSERT_EQ_INT(int_of(&c.ev[2], "error"), 0x14);
  ASSERT_EQ_STR(str_of(&c.ev[2], "access"), "exec");
  ASSERT_EQ_STR(str_of(&c.ev[3], "comm"), "Web [x] Content");
  ASSERT_EQ_INT(int_of(&c.ev[3], "pid"), 12345);
  ASSERT_EQ_STR(str_of(&c.ev[3], "module"), "libxul.so");
  free_collected(&c);
  return 0;
}

TEST_IMPL(probe_trap_and_user_gpf_lines_of_old_and_new_kernels) {
  static const char *const lines[] = {
      "traps: a.out[4300] trap invalid opcode ip:401126 sp:7ffd5c3b9e90 error:0 in a.out[401000+1000]",
      "traps: calc[4301] trap divide error ip:55e4d1a3b13d sp:7ffe0b2d0a70 error:0 in calc[55e4d1a3b000+1000]",
      ("traps: node[4302] general protection fault ip:7f2c8a1b2c3d sp:7ffc11223340 error:0 in "
       "libnode.so.108[7f2c89e00000+1a00000]"),
      "traps: java[5500] general protection ip:7f0e8c1d2e3f sp:7f0e5a4b3c20 error:0 in libjvm.so[7f0e8b000000+1200000]",
      "a.out[900] general protection ip:400526 sp:7fff4b3c9e50 error:0 in a.out[400000+1000]",
      "traps: x[1] trap int3 ip:4005d0 sp:7ffc00000000 error:0"};
  collected c;
  run_rules(lines, 6, &c);
  ASSERT_EQ_INT(c.n, 6);
  ASSERT_EQ_STR(c.ev[0].type, "process.trap");
  ASSERT_EQ_STR(str_of(&c.ev[0], "trap"), "invalid opcode");
  ASSERT_EQ_INT(int_of(&c.ev[0], "pid"), 4300);
  ASSERT_EQ_STR(str_of(&c.ev[0], "comm"), "a.out");
  ASSERT_EQ_STR(str_of(&c.ev[0], "ip"), "0x401126");
  ASSERT_EQ_STR(str_of(&c.ev[0], "sp"), "0x7ffd5c3b9e90");
  ASSERT_EQ_STR(str_of(&c.ev[0], "module"), "a.out");
  ASSERT(is_null(&c.ev[0], "addr"));
  ASSERT_EQ_STR(str_of(&c.ev[1], "trap"), "divide error");
  ASSERT_EQ_STR(str_of(&c.ev[2], "trap"), "general protection fault");
  ASSERT_EQ_STR(c.ev[2].rule, "kmsg.general_protection");
  ASSERT_EQ_STR(str_of(&c.ev[2], "module"), "libnode.so.108");
  ASSERT_EQ_STR(str_of(&c.ev[3], "trap"), "general protection fault");
  ASSERT_EQ_INT(int_of(&c.ev[3], "pid"), 5500);
  ASSERT_EQ_STR(str_of(&c.ev[4], "comm"), "a.out");
  ASSERT_EQ_STR(str_of(&c.ev[5], "trap"), "int3");
  ASSERT(is_null(&c.ev[5], "module"));
  free_collected(&c);
  return 0;
}

TEST_IMPL(probe_kernel_gpf_takes_pid_comm_and_rip_from_the_oops) {
  static const char *const lines[] = {
      "general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI",
      "CPU: 2 PID: 5123 Comm: kworker/2:1 Tainted: G           OE      6.1.0-13-amd64 #1  Debian 6.1.55-1",
      "Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
      "Workqueue: events foo_work_fn [foo]",
      "RIP: 0010:foo_work_fn+0x2a/0x60 [foo]",
      /* 4.x: no address hint; the old RIP format */
      "general protection fault: 0000 [#1] SMP PTI",
      "CPU: 0 PID: 77 Comm: modprobe Not tainted 4.15.0-20-generic #21-Ubuntu",
      "RIP: 0010:[<ffffffff811b4e9b>]  [<ffffffff811b4e9b>] kfree+0x5b/0x1c0"};
  collected c;
  run_rules(lines, 8, &c);
  ASSERT_EQ_INT(c.n, 2);
  probe_event *e = &c.ev[0];
  ASSERT_EQ_STR(e->type, "process.trap");
  ASSERT_EQ_STR(e->rule, "kmsg.general_protection_kernel");
  ASSERT_EQ_INT(int_of(e, "pid"), 5123);
  ASSERT_EQ_STR(str_of(e, "comm"), "kworker/2:1");
  ASSERT_EQ_STR(str_of(e, "addr"), "0xdead000000000122");
  ASSERT_EQ_STR(str_of(e, "ip"), "foo_work_fn+0x2a/0x60 [foo]");
  ASSERT_EQ_STR(str_of(e, "module"), "foo");
  ASSERT_EQ_INT(int_of(e, "kernel"), 1);
  ASSERT_EQ_STR(e->id, "kmsg:test:100");
  ASSERT_EQ_INT(int_of(&c.ev[1], "pid"), 77);
  ASSERT_EQ_STR(str_of(&c.ev[1], "comm"), "modprobe");
  ASSERT_EQ_STR(str_of(&c.ev[1], "ip"), "kfree+0x5b/0x1c0");
  ASSERT(is_null(&c.ev[1], "addr"));
  free_collected(&c);
  return 0;
}

TEST_IMPL(probe_kernel_oops_null_dereference_page_fault_and_bug) {
  static const char *const lines[] = {
      /* 5.x */
      "BUG: kernel NULL pointer dereference, address: 0000000000000008",
      "#PF: supervisor read access in kernel mode",
      "#PF: error_code(0x0000) - not-present page",
      "PGD 0 P4D 0 ",
      "Oops: 0000 [#1] PREEMPT SMP NOPTI",
      "CPU: 3 PID: 4321 Comm: insmod Tainted: G           O       6.1.0-13-amd64 #1  Debian 6.1.55-1",
      "RIP: 0010:foo_init+0x10/0x30 [foo]",
      /* 4.x */
      "BUG: unable to handle kernel paging request at ffffffffc0a01000",
      "Oops: 0002 [#2] SMP PTI",
      "CPU: 0 PID: 99 Comm: kworker/0:2 Not tainted 4.15.0-20-generic #21-Ubuntu",
      "RIP: 0010:bar_work+0x5/0x20 [bar]",
      /* BUG() */
      "kernel BUG at mm/slub.c:305!",
      "invalid opcode: 0000 [#3] SMP PTI",
      "CPU: 1 PID: 1 Comm: systemd Not tainted 5.4.0-42-generic #46-Ubuntu",
      "RIP: 0010:__slab_free+0x2a1/0x330"};
  collected c;
  run_rules(lines, 15, &c);
  ASSERT_EQ_INT(c.n, 3);
  ASSERT_EQ_STR(c.ev[0].rule, "kmsg.kernel_oops");
  ASSERT_EQ_STR(str_of(&c.ev[0], "trap"), "NULL pointer dereference");
  ASSERT_EQ_STR(str_of(&c.ev[0], "addr"), "0x0000000000000008");
  ASSERT_EQ_INT(int_of(&c.ev[0], "error"), 0);
  ASSERT_EQ_INT(int_of(&c.ev[0], "pid"), 4321);
  ASSERT_EQ_STR(str_of(&c.ev[0], "comm"), "insmod");
  ASSERT_EQ_STR(str_of(&c.ev[0], "module"), "foo");
  ASSERT_EQ_STR(str_of(&c.ev[1], "trap"), "page fault");
  ASSERT_EQ_STR(str_of(&c.ev[1], "addr"), "0xffffffffc0a01000");
  ASSERT_EQ_INT(int_of(&c.ev[1], "error"), 2);
  ASSERT_EQ_STR(str_of(&c.ev[1], "comm"), "kworker/0:2");
  ASSERT_EQ_STR(str_of(&c.ev[2], "trap"), "kernel BUG");
  ASSERT_EQ_STR(str_of(&c.ev[2], "location"), "mm/slub.c:305");
  ASSERT(is_null(&c.ev[2], "addr"));
  ASSERT_EQ_STR(str_of(&c.ev[2], "ip"), "__slab_free+0x2a1/0x330");
  ASSERT(is_null(&c.ev[2], "module"));
  free_collected(&c);
  return 0;
}

TEST_IMPL(probe_arm64_user_faults_of_4x_and_5x_kernels) {
  static const char *const lines[] = {
      ("crashy[1234]: unhandled level 3 translation fault (11) at 0x00000000, esr 0x92000046, in "
       "crashy[400000+1000]"),
      ("crashy[1235]: unhandled exception: DABT (lower EL), ESR 0x0000000092000046, level 3 translation fault in "
       "libc.so.6[ffff8a3c0000+190000]"),
      ("ill[77]: unhandled exception: Unknown/Uncategorized, ESR 0x0000000002000000, undefined instruction in "
       "ill[aaaab8c50000+1000]")};
  collected c;
  run_rules(lines, 3, &c);
  ASSERT_EQ_INT(c.n, 3);
  ASSERT_EQ_STR(c.ev[0].type, "process.segfault");
  ASSERT_EQ_STR(c.ev[0].rule, "kmsg.arm64_fault");
  ASSERT_EQ_INT(int_of(&c.ev[0], "pid"), 1234);
  ASSERT_EQ_STR(str_of(&c.ev[0], "comm"), "crashy");
  ASSERT_EQ_STR(str_of(&c.ev[0], "addr"), "0x00000000");
  ASSERT_EQ_INT(int_of(&c.ev[0], "error"), 0x92000046);
  ASSERT_EQ_STR(str_of(&c.ev[0], "module"), "crashy");
  ASSERT_EQ_STR(str_of(&c.ev[0], "fault"), "level 3 translation fault");
  ASSERT_EQ_INT(int_of(&c.ev[0], "signal"), 11);
  ASSERT(is_null(&c.ev[0], "ip"));
  ASSERT_EQ_STR(c.ev[1].type, "process.segfault");
  ASSERT(is_null(&c.ev[1], "addr"));
  ASSERT_EQ_STR(str_of(&c.ev[1], "esr_class"), "DABT (lower EL)");
  ASSERT_EQ_STR(str_of(&c.ev[1], "module"), "libc.so.6");
  ASSERT_EQ_STR(str_of(&c.ev[1], "fault"), "level 3 translation fault");
  ASSERT_EQ_STR(c.ev[2].type, "process.trap");
  ASSERT_EQ_STR(str_of(&c.ev[2], "trap"), "undefined instruction");
  ASSERT_EQ_INT(int_of(&c.ev[2], "error"), 0x2000000);
  free_collected(&c);
  return 0;
}

/* ---- hung task, audit --------------------------------------------------------------------- */

TEST_IMPL(probe_hung_task_with_colons_in_comm) {
  static const char *const lines[] = {
      "INFO: task kworker/u16:2:1234 blocked for more than 122 seconds.",
      "      Not tainted 5.15.0-88-generic #98-Ubuntu",
      "\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.",
      "INFO: task jbd2/sda1-8:312 blocked for more than 120 seconds.",
      "INFO: task nocolon blocked for more than 120 seconds."};
  collected c;
  run_rules(lines, 5, &c);
  ASSERT_EQ_INT(c.n, 2);
  ASSERT_EQ_STR(c.ev[0].type, "task.hung");
  ASSERT_EQ_STR(str_of(&c.ev[0], "comm"), "kworker/u16:2");
  ASSERT_EQ_INT(int_of(&c.ev[0], "pid"), 1234);
  ASSERT_EQ_INT(int_of(&c.ev[0], "seconds"), 122);
  ASSERT_EQ_STR(str_of(&c.ev[1], "comm"), "jbd2/sda1-8");
  ASSERT_EQ_INT(int_of(&c.ev[1], "pid"), 312);
  free_collected(&c);
  return 0;
}

TEST_IMPL(probe_hung_task_threshold_filters_short_blocks) {
  krules_config cfg;
  krules_config_default(&cfg);
  cfg.hung_task_min_seconds = 200;
  kernel_rules kr;
  krules_init(&kr, &cfg);
  probe_event out[4];
  const char *short_block = "INFO: task a:1 blocked for more than 120 seconds.";
  const char *long_block = "INFO: task a:1 blocked for more than 241 seconds.";
  ASSERT_EQ_INT(krules_feed(&kr, short_block, strlen(short_block), 1, 1, out, 4), 0);
  ASSERT_EQ_INT(krules_feed(&kr, long_block, strlen(long_block), 2, 1, out, 4), 1);
  probe_event_free(&out[0]);
  cfg.hung_task = 0; /* switched off */
  krules_init(&kr, &cfg);
  ASSERT_EQ_INT(krules_feed(&kr, long_block, strlen(long_block), 3, 1, out, 4), 0);
  return 0;
}

TEST_IMPL(probe_audit_anom_abend_becomes_abnormal_exit) {
  static const char *const lines[] = {
      "audit: type=1701 audit(1700000000.123:456): auid=1000 uid=1000 gid=1000 ses=3 subj=unconfined pid=4242 "
      "comm=\"crashy\" exe=\"/usr/local/bin/crashy\" sig=11 res=1",
      /* hex-encoded comm (it has a space) */
      "audit: type=1701 audit(1700000001.000:457): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=4343 "
      "comm=6D792070726F67 exe=\"/opt/my prog\" sig=6 res=1"};
  collected c;
  run_rules(lines, 2, &c);
  ASSERT_EQ_INT(c.n, 2);
  ASSERT_EQ_STR(c.ev[0].type, "process.abnormal_exit");
  ASSERT_EQ_INT(c.ev[0].severity, PROBE_SEV_ERROR);
  ASSERT_EQ_INT(int_of(&c.ev[0], "pid"), 4242);
  ASSERT_EQ_STR(str_of(&c.ev[0], "comm"), "crashy");
  ASSERT_EQ_STR(str_of(&c.ev[0], "exe"), "/usr/local/bin/crashy");
  ASSERT_EQ_INT(int_of(&c.ev[0], "signal"), SIGSEGV);
  ASSERT_EQ_STR(str_of(&c.ev[0], "signal_name"), "SIGSEGV");
  ASSERT(is_null(&c.ev[0], "exit_code"));
  ASSERT_EQ_STR(str_of(&c.ev[1], "comm"), "my prog");
  ASSERT_EQ_INT(int_of(&c.ev[1], "signal"), SIGABRT);
  free_collected(&c);
  return 0;
}

TEST_IMPL(probe_rules_ignore_ordinary_kernel_lines) {
  static const char *const lines[] = {
      "Linux version 6.18.44 (builder@sandboxing) (gcc (GCC) 15.3.0) #1 SMP PREEMPT_DYNAMIC",
      "e1000e 0000:00:1f.6 eno1: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
      "a.out[12]: segfault at", "traps: a.out[12] trap invalid opcode", "INFO: task x:12 blocked for more than",
      "Killed process 12 (x) without numbers", "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null)",
      "a.out[x]: segfault at 0 ip 0 sp 0 error 4", "audit: type=1701 audit(1.0:1): pid=x sig=11"};
  collected c;
  run_rules(lines, 9, &c);
  ASSERT_EQ_INT(c.n, 0);
  return 0;
}

/* ---- command.failed ---------------------------------------------------------------------- */

TEST_IMPL(probe_cmdfail_parses_gala_gopher_sample) {
  const char *line = "Dec 27 16:32:22 hh131 [/bin/bash]: [gala-gopher] return code=[130], execute failed by "
                     "[root(uid=0)] from [pts/4 (10.136.119.3)]";
  probe_event ev;
  ASSERT_EQ_INT(cmdfail_parse(line, strlen(line), &ev), 1);
  ASSERT_EQ_STR(ev.type, "command.failed");
  ASSERT_EQ_INT(ev.severity, PROBE_SEV_ERROR);
  ASSERT_EQ_INT(int_of(&ev, "code"), 130);
  ASSERT_EQ_STR(str_of(&ev, "user"), "root");
  ASSERT_EQ_INT(int_of(&ev, "uid"), 0);
  ASSERT_EQ_STR(str_of(&ev, "tty"), "pts/4");
  ASSERT_EQ_STR(str_of(&ev, "remote"), "10.136.119.3");
  ASSERT_EQ_STR(str_of(&ev, "program"), "/bin/bash");
  ASSERT(is_null(&ev, "command"));
  ASSERT_EQ_STR(ev.message, line);
  probe_event_free(&ev);
  return 0;
}

TEST_IMPL(probe_cmdfail_command_forms_local_tty_and_rfc3339_prefix) {
  const char *a = "2026-11-21T10:00:01.123456+00:00 web1 bash[2211]: [gala-gopher] return code=[2], execute failed "
                  "by [alice(uid=1000)] from [tty1], command=[make -C /src install]";
  const char *b = "Nov 21 10:00:02 web1 root: return code=[127], execute failed by [bob] from [pts/0 (::1)]: "
                  "frobnicate --all";
  probe_event ev;
  ASSERT_EQ_INT(cmdfail_parse(a, strlen(a), &ev), 1);
  ASSERT_EQ_STR(str_of(&ev, "command"), "make -C /src install");
  ASSERT_EQ_INT(int_of(&ev, "code"), 2);
  ASSERT_EQ_STR(str_of(&ev, "user"), "alice");
  ASSERT_EQ_INT(int_of(&ev, "uid"), 1000);
  ASSERT_EQ_STR(str_of(&ev, "tty"), "tty1");
  ASSERT(is_null(&ev, "remote"));
  ASSERT_EQ_STR(str_of(&ev, "program"), "bash");
  probe_event_free(&ev);
  ASSERT_EQ_INT(cmdfail_parse(b, strlen(b), &ev), 1);
  ASSERT_EQ_STR(str_of(&ev, "command"), "frobnicate --all");
  ASSERT_EQ_STR(str_of(&ev, "user"), "bob");
  ASSERT(is_null(&ev, "uid"));
  ASSERT_EQ_STR(str_of(&ev, "tty"), "pts/0");
  ASSERT_EQ_STR(str_of(&ev, "remote"), "::1");
  ASSERT_EQ_STR(str_of(&ev, "program"), "root");
  probe_event_free(&ev);
  return 0;
}

TEST_IMPL(probe_cmdfail_ignores_success_and_other_lines) {
  static const char *const lines[] = {
      "Dec 27 16:32:22 hh131 [/bin/bash]: [gala-gopher] return code=[0], execute failed by [root(uid=0)] from [pts/4]",
      "Dec 27 16:32:22 hh131 sshd[22]: Accepted publickey for root from 10.0.0.1 port 22",
      "return code=[1]",
      "return code=[12x], execute failed by [a] from [b]",
      "return code=[1], execute failed by [a] from [b",
      "return code=[], execute failed by [a] from [b]"};
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
    probe_event ev;
    ASSERT_EQ_INT(cmdfail_parse(lines[i], strlen(lines[i]), &ev), 0);
  }
  return 0;
}
