/* eventd-probe: host anomalies as events — OOM kills, crashes, abnormal exits, hung tasks,
 * failed commands — sent to eventd (libeventd), Kafka (gala-gopher's shape) or stdout.
 *
 * One thread, one poll() loop over the sources: /dev/kmsg (or a replay file), the netlink
 * process connector, and the tailed log files (polled every second). Every event goes
 * through the limiter (de-duplication window, per-type rate limit; suppressed events are
 * counted and summarized as probe.suppressed) to the sink. Positions (kmsg sequence number,
 * tail offsets) are persisted only after the sink has taken the events (flush), so a crash
 * re-reads rather than loses; kernel records carry deterministic ids, so eventd stores a
 * re-read record once. A source that is not permitted (no CAP_SYSLOG, no CAP_NET_ADMIN) is
 * logged once and the others keep running. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "probe/cmdfail.h"
#include "probe/kmsg.h"
#include "probe/limiter.h"
#include "probe/probe_config.h"
#include "probe/probe_event.h"
#include "probe/proc_connector.h"
#include "probe/pstore.h"
#include "probe/rules.h"
#include "probe/sink.h"
#include "probe/tail.h"

#define FLUSH_TIMEOUT_MS 5000
#define LOOP_FLUSH_TIMEOUT_MS 1000
#define CLOSE_TIMEOUT_MS 10000
#define MAX_OUT 8

static volatile sig_atomic_t g_stop; /* the only global: set by SIGINT/SIGTERM */

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

typedef struct probe {
  probe_config cfg;
  probe_host host;
  probe_sink *sink;
  limiter *limits;
  kernel_rules krules;
  kmsg_source *kmsg;
  procconn *proc;
  tailer *tails[PROBE_MAX_FILES];
  int ntails;
  int replay;
  uint64_t emitted, suppressed, send_failures, proc_lost, proc_lost_reported;
  uint64_t unflushed; /* events handed to the sink since the last flush */
} probe;

static void usage(FILE *out) {
  fprintf(out,
          "Usage: eventd-probe [OPTIONS]\n"
          "\n"
          "Watch this host for anomalies and report each one as an event:\n"
          "  process.oom_kill        the OOM killer killed a process            (/dev/kmsg)\n"
          "  process.segfault        a process segfaulted                         (/dev/kmsg)\n"
          "  process.trap            trap / general protection fault              (/dev/kmsg)\n"
          "  task.hung               a task blocked for more than N seconds       (/dev/kmsg)\n"
          "  process.abnormal_exit   non-zero exit code, or killed by a signal    (process connector)\n"
          "  command.failed          gala-gopher's \"return code=[N], execute failed by\" lines\n"
          "                                                                        (tailed log files)\n"
          "  kernel.panic_previous_boot  panic log kept by pstore                  (/sys/fs/pstore)\n"
          "Also probe.suppressed (counts of events held back by the de-duplication window or\n"
          "the rate limit), probe.kmsg_gap (kernel records lost to a ring-buffer overrun) and\n"
          "probe.proc_events_lost (process-connector receive-buffer overflows).\n"
          "Events have stream \"host\", source = the host name, resource host.name, host.id,\n"
          "os.kernel.release, and the label \"rule\" naming the rule that matched.\n"
          "\n"
          "Options:\n"
          "  -c, --config FILE     YAML configuration (docs/probe.md; examples/probe/probe.yml)\n"
          "  -k, --kmsg-file FILE  replay: read kernel records from FILE (the /dev/kmsg format,\n"
          "                        \"prio,seq,usec,flags;text\" + \" KEY=VALUE\" lines) instead of\n"
          "                        /dev/kmsg, deliver the events, and exit at its end; the\n"
          "                        process connector, log tailing and pstore are off\n"
          "  -o, --output URL      where events go:\n"
          "                          stdout                      JSON lines (eventd's event form)\n"
          "                          http://HOST:PORT            eventd via libeventd (spooled)\n"
          "                          forward://HOST:PORT         eventd's forward input via libeventd\n"
          "                          curl+http://HOST:PORT       eventd over plain HTTP (libcurl, no spool)\n"
          "                          kafka://BROKERS/TOPIC       Kafka, gala-gopher's event JSON\n"
          "                        default: output.url of the config, else $EVENTD_URL, else stdout\n"
          "  -s, --state-dir DIR   keep positions (kmsg sequence, tail offsets) and the eventd\n"
          "                        spool here (default: state_dir of the config; none = no resume)\n"
          "  -t, --tail FILE       also tail FILE for failed commands (repeatable)\n"
          "      --no-process      do not open the process connector\n"
          "      --no-kmsg         do not read /dev/kmsg\n"
          "  -h, --help            this text\n"
          "  -V, --version         print the version\n"
          "\n"
          "Capabilities: CAP_SYSLOG to read /dev/kmsg, CAP_NET_ADMIN for the process connector.\n"
          "A source that is not permitted is reported once on stderr; the others keep running.\n"
          "\n"
          "Exit status: 0 after SIGTERM/SIGINT or the end of a replay with every event\n"
          "delivered (or kept in the eventd spool of the state directory, sent at the next\n"
          "start); 1 when events were lost; 2 on a usage or configuration error.\n"
          "\n"
          "Examples:\n"
          "  eventd-probe --output http://127.0.0.1:8910 --state-dir /var/lib/eventd-probe\n"
          "  eventd-probe --kmsg-file recorded.kmsg --output stdout\n"
          "  eventd-probe -c /etc/eventd/probe.yml --output kafka://10.0.0.5:9092/gala_gopher_event\n");
}

/* ---- the pipeline: limiter -> sink ------------------------------------------------------ */

static void emit(probe *p, probe_event *ev) {
  if (ev->time_ns == 0) ev->time_ns = time_now_ns();
  if (!limiter_admit(p->limits, ev, time_now_ns())) {
    p->suppressed++;
    return;
  }
  char err[512];
  if (p->sink->send(p->sink, ev, err, sizeof err) < 0) {
    p->send_failures++;
    p->sink->failed++;
    fprintf(stderr, "eventd-probe: event %s not sent: %s\n", ev->type, err);
    return;
  }
  p->sink->sent++;
  p->emitted++;
  p->unflushed++;
}

static void emit_all(probe *p, probe_event *evs, int n) {
  for (int i = 0; i < n; i++) {
    emit(p, &evs[i]);
    probe_event_free(&evs[i]);
  }
}

static void emit_cb(void *ud, probe_event *ev) { emit(ud, ev); }

static void emit_summaries(probe *p, int force) {
  probe_event out[MAX_OUT];
  int n;
  while ((n = limiter_summaries(p->limits, time_now_ns(), force, out, MAX_OUT)) > 0) {
    emit_all(p, out, n);
    if (n < MAX_OUT) break;
  }
}

/* Flush the sink; on success persist the positions. In the loop (final 0) this is done only
 * when there are positions to keep (a state directory), with a short timeout so a slow
 * output does not stall the sources for long; at the end always. Returns 0 or -1. */
static int checkpoint(probe *p, int final) {
  char err[512];
  if (!final && !p->cfg.state_dir[0]) return 0;
  if (p->unflushed) {
    if (p->sink->flush(p->sink, final ? FLUSH_TIMEOUT_MS : LOOP_FLUSH_TIMEOUT_MS, err, sizeof err) < 0) {
      fprintf(stderr, "eventd-probe: %s%s\n", err,
              p->cfg.state_dir[0] && !p->replay ? "; positions not saved yet (events are re-read after a restart)" : "");
      return -1;
    }
    p->unflushed = 0;
  }
  if (p->kmsg && !p->replay && kmsg_commit(p->kmsg, err, sizeof err) < 0) fprintf(stderr, "eventd-probe: %s\n", err);
  for (int i = 0; i < p->ntails; i++)
    if (tail_commit(p->tails[i], err, sizeof err) < 0) fprintf(stderr, "eventd-probe: %s\n", err);
  return 0;
}

/* ---- kmsg ------------------------------------------------------------------------------ */

static void on_kmsg_record(void *ud, const kmsg_record *rec, int64_t time_ns) {
  probe *p = ud;
  /* Records written from user space (facility != 0) can be forged by anyone who may write
   * /dev/kmsg: the kernel patterns are matched on kernel records only, unless configured. */
  if ((rec->prio >> 3) != 0 && !p->cfg.kmsg_user_records) return;
  probe_event out[MAX_OUT];
  int n = krules_feed(&p->krules, rec->text, rec->text_len, rec->seq, time_ns, out, MAX_OUT);
  emit_all(p, out, n);
}

static void on_kmsg_gap(void *ud, uint64_t after, uint64_t next, const char *reason) {
  probe *p = ud;
  probe_event ev;
  probe_event_init(&ev, "probe.kmsg_gap", PROBE_SEV_WARN, "kmsg.gap", "kmsg");
  probe_event_set_uint(&ev, "after_seq", after);
  probe_event_set_uint(&ev, "next_seq", next);
  probe_event_set_uint(&ev, "missed", next - after - 1);
  probe_event_set_cstr(&ev, "reason", reason);
  char msg[256];
  snprintf(msg, sizeof msg, "%llu kernel log records lost (%s): sequence %llu to %llu",
           (unsigned long long)(next - after - 1), reason, (unsigned long long)after + 1,
           (unsigned long long)next - 1);
  probe_event_set_message(&ev, msg, strlen(msg));
  if (p->krules.cfg.id_prefix[0]) {
    char id[200];
    snprintf(id, sizeof id, "%s:gap:%llu", p->krules.cfg.id_prefix, (unsigned long long)next);
    probe_event_set_id(&ev, id);
  }
  fprintf(stderr, "eventd-probe: %s\n", msg);
  emit(p, &ev);
  probe_event_free(&ev);
}

/* ---- command.failed -------------------------------------------------------------------- */

/* The line callback's context: the probe and the tailer that read the line. */
typedef struct tail_line_ctx {
  probe *p;
  tailer *t;
} tail_line_ctx;

/* FNV-1a 64 over n bytes, continuing from h. */
static uint64_t fnv1a64(uint64_t h, const void *data, size_t n) {
  const unsigned char *b = data;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

static void on_tail_line(void *ud, const char *text, size_t len) {
  tail_line_ctx *c = ud;
  probe *p = c->p;
  probe_event ev;
  if (!cmdfail_parse(text, len, &ev)) return;
  {
    /* Stable id: the host (machine id, else name), the line's file, offset and text. A line read again after a crash (the
     * position is committed after the events are handed on) gets the same id, and eventd
     * stores it once. The text is in the hash so that a new line written at the same offset
     * after a copytruncate is a new event. */
    uint64_t pos[3];
    tail_line_pos(c->t, &pos[0], &pos[1], &pos[2]);
    uint64_t h = fnv1a64(0xcbf29ce484222325ull, pos, sizeof pos);
    h = fnv1a64(h, text, len);
    char id[200];
    snprintf(id, sizeof id, "cmd:%.64s:%016llx", p->host.id[0] ? p->host.id : p->host.name,
             (unsigned long long)h);
    probe_event_set_id(&ev, id);
  }
  emit(p, &ev);
  probe_event_free(&ev);
}

/* ---- setup ----------------------------------------------------------------------------- */

static int make_dir(const char *path) {
  if (mkdir(path, 0700) == 0 || errno == EEXIST) return 0;
  return -1;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"config", required_argument, NULL, 'c'},    {"kmsg-file", required_argument, NULL, 'k'},
      {"output", required_argument, NULL, 'o'},    {"state-dir", required_argument, NULL, 's'},
      {"tail", required_argument, NULL, 't'},      {"no-process", no_argument, NULL, 'P'},
      {"no-kmsg", no_argument, NULL, 'K'},         {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0}};
  const char *config_path = NULL, *kmsg_file = NULL, *output = NULL, *state_dir = NULL;
  const char *extra_tails[PROBE_MAX_FILES];
  int nextra = 0, no_process = 0, no_kmsg = 0, exit_status_no_source = 0;
  int c;
  while ((c = getopt_long(argc, argv, "c:k:o:s:t:hV", opts, NULL)) != -1) {
    switch (c) {
      case 'c': config_path = optarg; break;
      case 'k': kmsg_file = optarg; break;
      case 'o': output = optarg; break;
      case 's': state_dir = optarg; break;
      case 't':
        if (nextra >= PROBE_MAX_FILES) {
          fprintf(stderr, "eventd-probe: at most %d --tail files\n", PROBE_MAX_FILES);
          return 2;
        }
        extra_tails[nextra++] = optarg;
        break;
      case 'P': no_process = 1; break;
      case 'K': no_kmsg = 1; break;
      case 'h': usage(stdout); return 0;
      case 'V': printf("eventd-probe %s\n", EVD_VERSION); return 0;
      default: usage(stderr); return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "eventd-probe: unexpected argument '%s' (see --help)\n", argv[optind]);
    return 2;
  }

  probe *p = calloc(1, sizeof *p);
  if (!p) {
    fprintf(stderr, "eventd-probe: out of memory\n");
    return 1;
  }
  char err[1024];
  probe_config_default(&p->cfg);
  if (config_path && probe_config_load(&p->cfg, config_path, err, sizeof err) < 0) {
    fprintf(stderr, "eventd-probe: %s\n", err);
    free(p);
    return 2;
  }
  if (state_dir) snprintf(p->cfg.state_dir, sizeof p->cfg.state_dir, "%s", state_dir);
  for (int i = 0; i < nextra; i++) {
    if (p->cfg.nfiles >= PROBE_MAX_FILES) break;
    snprintf(p->cfg.files[p->cfg.nfiles++], sizeof p->cfg.files[0], "%s", extra_tails[i]);
  }
  if (!output) output = p->cfg.output_url[0] ? p->cfg.output_url : getenv("EVENTD_URL");
  if (!output || !*output) output = "stdout";
  p->replay = kmsg_file != NULL;
  probe_host_load(&p->host);

  char spool[1200] = "";
  if (p->cfg.state_dir[0]) {
    if (make_dir(p->cfg.state_dir) < 0) {
      fprintf(stderr, "eventd-probe: state directory %s: %s\n", p->cfg.state_dir, strerror(errno));
      free(p);
      return 2;
    }
    snprintf(spool, sizeof spool, "%s/spool", p->cfg.state_dir);
  }

  probe_sink_options so = {spool[0] ? spool : NULL, p->cfg.kafka_topic, 1};
  p->sink = probe_sink_open(output, &p->host, &so, err, sizeof err);
  if (!p->sink) {
    fprintf(stderr, "eventd-probe: output %s: %s\n", output, err);
    free(p);
    return 2;
  }
  fprintf(stderr, "eventd-probe %s: host %s, output %s (%s)%s\n", EVD_VERSION, p->host.name, output, p->sink->kind,
          p->replay ? ", replay" : "");

  limiter_config lc = p->cfg.limits;
  p->limits = limiter_new(&lc);
  if (!p->limits) {
    fprintf(stderr, "eventd-probe: out of memory\n");
    p->sink->close(p->sink, 0);
    free(p);
    return 1;
  }
  krules_config kc = p->cfg.krules;
  if (!p->replay && p->host.boot_id[0]) snprintf(kc.id_prefix, sizeof kc.id_prefix, "kmsg:%s", p->host.boot_id);
  krules_init(&p->krules, &kc);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  /* sources */
  int kmsg_wanted = p->replay || (p->cfg.kmsg_enabled && !no_kmsg);
  if (kmsg_wanted) {
    const char *path = p->replay ? kmsg_file : p->cfg.kmsg_path;
    p->kmsg = kmsg_open(path, p->replay, p->replay ? NULL : p->cfg.state_dir, p->host.boot_id,
                        p->cfg.kmsg_from_start, err, sizeof err);
    if (!p->kmsg) {
      if (p->replay) {
        fprintf(stderr, "eventd-probe: %s\n", err);
        p->sink->close(p->sink, 0);
        limiter_free(p->limits);
        free(p);
        return 2;
      }
      int denied = strstr(err, strerror(EPERM)) != NULL || strstr(err, strerror(EACCES)) != NULL;
      fprintf(stderr, "eventd-probe: kernel log source off: %s%s\n", err, denied ? " (needs CAP_SYSLOG)" : "");
    }
  }
  if (!p->replay && p->cfg.process_enabled && p->cfg.abnormal_exit && !no_process) {
    procconn_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.report_exit_codes = p->cfg.report_exit_codes;
    pol.report_signals = p->cfg.report_signals;
    pol.ignore_comms = (const char(*)[16])p->cfg.ignore_comms;
    pol.nignore = p->cfg.nignore;
    if (p->host.boot_id[0]) snprintf(pol.id_prefix, sizeof pol.id_prefix, "exit:%s", p->host.boot_id);
    p->proc = procconn_open(&pol, err, sizeof err);
    if (!p->proc) fprintf(stderr, "eventd-probe: abnormal-exit source off: %s\n", err);
    else fprintf(stderr, "eventd-probe: process connector on (%zu processes tracked)\n", procconn_tracked(p->proc));
  }
  if (!p->replay && p->cfg.command_failed) {
    for (int i = 0; i < p->cfg.nfiles; i++) {
      tailer *t = tail_open(p->cfg.files[i], p->cfg.files_from_start, p->cfg.state_dir);
      if (t) p->tails[p->ntails++] = t;
    }
  }
  if (!p->replay && p->cfg.panic_previous_boot && p->cfg.pstore_dir[0])
    pstore_scan(p->cfg.pstore_dir, p->cfg.state_dir, emit_cb, p);

  if (!p->replay && !p->kmsg && !p->proc && p->ntails == 0) {
    fprintf(stderr, "eventd-probe: no source is running (kernel log, process connector, tailed files); exiting\n");
    g_stop = 1;
    exit_status_no_source = 1;
  }

  kmsg_callbacks kcb = {on_kmsg_record, on_kmsg_gap, p};
  int64_t last_tail = 0;
  int rc = exit_status_no_source;
  while (!g_stop) {
    if (p->replay) {
      int r = kmsg_read(p->kmsg, &kcb, 1000, err, sizeof err);
      if (r < 0) {
        fprintf(stderr, "eventd-probe: %s\n", err);
        rc = 1;
        break;
      }
      if (r == 1) break;
      continue;
    }
    struct pollfd pfd[2];
    int nfd = 0;
    if (p->kmsg) pfd[nfd++] = (struct pollfd){kmsg_fd(p->kmsg), POLLIN, 0};
    if (p->proc) pfd[nfd++] = (struct pollfd){procconn_fd(p->proc), POLLIN, 0};
    int pr = poll(pfd, (nfds_t)nfd, 500);
    if (pr < 0 && errno != EINTR) {
      fprintf(stderr, "eventd-probe: poll: %s\n", strerror(errno));
      rc = 1;
      break;
    }
    if (p->kmsg && kmsg_read(p->kmsg, &kcb, 0, err, sizeof err) < 0) {
      fprintf(stderr, "eventd-probe: %s; kernel log source off\n", err);
      kmsg_close(p->kmsg);
      p->kmsg = NULL;
    }
    if (p->proc && procconn_read(p->proc, emit_cb, p, &p->proc_lost, err, sizeof err) < 0) {
      fprintf(stderr, "eventd-probe: %s; abnormal-exit source off\n", err);
      procconn_close(p->proc);
      p->proc = NULL;
    }
    if (p->proc_lost > p->proc_lost_reported) { /* the kernel dropped process events: say so */
      probe_event ev;
      probe_event_init(&ev, "probe.proc_events_lost", PROBE_SEV_WARN, "proc.enobufs", "proc_connector");
      probe_event_set_uint(&ev, "overflows", p->proc_lost - p->proc_lost_reported);
      const char *msg = "the process connector's receive buffer overflowed: exit events were lost";
      probe_event_set_message(&ev, msg, strlen(msg));
      emit(p, &ev);
      probe_event_free(&ev);
      p->proc_lost_reported = p->proc_lost;
    }
    int64_t now = time_now_ns();
    if (now - last_tail >= NS_PER_SEC) {
      for (int i = 0; i < p->ntails; i++) {
        tail_line_ctx tctx = {p, p->tails[i]};
        tail_poll(p->tails[i], on_tail_line, &tctx);
      }
      last_tail = now;
    }
    probe_event out[MAX_OUT];
    emit_all(p, out, krules_flush(&p->krules, now, 0, out, MAX_OUT));
    emit_summaries(p, 0);
    checkpoint(p, 0);
  }

  /* drain: pending multi-line patterns, suppressed counts, then the sink */
  probe_event out[MAX_OUT];
  emit_all(p, out, krules_flush(&p->krules, time_now_ns(), 1, out, MAX_OUT));
  emit_summaries(p, 1);
  (void)checkpoint(p, 1); /* failures show in the undelivered count of close() below */
  int spooled = spool[0] && strcmp(p->sink->kind, "eventd") == 0; /* libeventd keeps what it could not send */
  uint64_t undelivered = p->sink->close(p->sink, CLOSE_TIMEOUT_MS);
  if (undelivered) {
    fprintf(stderr, "eventd-probe: %llu events not delivered%s\n", (unsigned long long)undelivered,
            spooled ? " (kept in the spool, sent at the next start)" : "");
    if (!spooled) rc = 1; /* kept in the spool is not lost; anything else is */
  }
  if (p->send_failures) rc = 1;
  fprintf(stderr,
          "eventd-probe: %llu events sent, %llu suppressed, %llu send failures, %llu undelivered at exit, "
          "%llu process-connector overflows\n",
          (unsigned long long)p->emitted, (unsigned long long)p->suppressed, (unsigned long long)p->send_failures,
          (unsigned long long)undelivered, (unsigned long long)p->proc_lost);
  krules_free(&p->krules);
  limiter_free(p->limits);
  kmsg_close(p->kmsg);
  procconn_close(p->proc);
  for (int i = 0; i < p->ntails; i++) tail_close(p->tails[i]);
  free(p);
  return rc;
}
