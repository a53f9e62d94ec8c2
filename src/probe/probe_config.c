/* probe_config: the YAML configuration of eventd-probe, read with registry/yamltree into a
 * JSON-like tree (lines kept for messages) and walked strictly (see probe_config.h). */
#include "probe/probe_config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/json.h"
#include "core/timeutil.h"
#include "registry/yamltree.h"

void probe_config_default(probe_config *c) {
  memset(c, 0, sizeof *c);
  krules_config_default(&c->krules);
  c->abnormal_exit = c->command_failed = c->panic_previous_boot = 1;
  c->kmsg_enabled = 1;
  snprintf(c->kmsg_path, sizeof c->kmsg_path, "/dev/kmsg");
  c->kmsg_from_start = 1;
  c->process_enabled = 1;
  c->report_exit_codes = 1;
  c->report_signals = 1ULL << SIGKILL;
  static const char *const ignore[] = {"grep", "egrep", "fgrep", "diff", "cmp", "test", "[", "false"};
  for (size_t i = 0; i < sizeof ignore / sizeof ignore[0]; i++)
    snprintf(c->ignore_comms[c->nignore++], sizeof c->ignore_comms[0], "%s", ignore[i]);
  snprintf(c->pstore_dir, sizeof c->pstore_dir, "/sys/fs/pstore");
  snprintf(c->kafka_topic, sizeof c->kafka_topic, "gala_gopher_event");
  c->limits.dedup_window_ns = 60 * NS_PER_SEC;
  c->limits.rate_per_minute = 60;
  c->limits.summary_interval_ns = 60 * NS_PER_SEC;
}

int probe_signal_from_name(const char *s) {
  if (!s || !*s) return -1;
  if (s[0] >= '0' && s[0] <= '9') {
    char *end;
    long v = strtol(s, &end, 10);
    return (*end || v < 1 || v > 63) ? -1 : (int)v;
  }
  for (int sig = 1; sig < 32; sig++) {
    const char *name = probe_signal_name(sig);
    if (!name) continue;
    if (strcmp(s, name) == 0 || strcmp(s, name + 3) == 0) return sig;
  }
  return -1;
}

typedef struct walk {
  const char *file;
  char *err;
  size_t errcap;
} walk;

__attribute__((format(printf, 3, 4))) static int werr(walk *w, const json_value *at, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(w->err, w->errcap, "%s:%u: %s", w->file, at ? at->offset : 0, msg);
  return -1;
}

static int get_bool(walk *w, const json_value *v, const char *name, int *out) {
  if (v->type == JSON_TRUE) *out = 1;
  else if (v->type == JSON_FALSE) *out = 0;
  else return werr(w, v, "%s: expected true or false, got %s", name, json_type_name(v->type));
  return 0;
}

static int get_string(walk *w, const json_value *v, const char *name, char *out, size_t cap) {
  if (v->type != JSON_STRING) return werr(w, v, "%s: expected a string, got %s", name, json_type_name(v->type));
  if (v->n >= cap) return werr(w, v, "%s: longer than %zu bytes", name, cap - 1);
  memcpy(out, v->s, v->n);
  out[v->n] = '\0';
  return 0;
}

static int get_int(walk *w, const json_value *v, const char *name, int64_t min, int64_t *out) {
  int64_t x;
  if (v->type != JSON_NUMBER || json_as_int64(v, &x) < 0)
    return werr(w, v, "%s: expected an integer, got %s", name, json_type_name(v->type));
  if (x < min) return werr(w, v, "%s: must be at least %lld", name, (long long)min);
  *out = x;
  return 0;
}

/* A duration: "60s", "10m", "0", or a number of seconds. */
static int get_duration(walk *w, const json_value *v, const char *name, int64_t *out) {
  if (v->type == JSON_NUMBER) {
    int64_t s;
    if (json_as_int64(v, &s) < 0 || s < 0) return werr(w, v, "%s: expected a duration (\"60s\") or seconds", name);
    *out = s * NS_PER_SEC;
    return 0;
  }
  if (v->type != JSON_STRING || time_parse_duration(v->s, out) < 0 || *out < 0)
    return werr(w, v, "%s: expected a duration like \"60s\", \"10m\"", name);
  return 0;
}

static int expect_map(walk *w, const json_value *v, const char *name) {
  if (v->type != JSON_OBJECT) return werr(w, v, "%s: expected a mapping, got %s", name, json_type_name(v->type));
  return 0;
}

static int walk_output(walk *w, probe_config *c, const json_value *m) {
  if (expect_map(w, m, "output") < 0) return -1;
  for (const json_value *v = m->child; v; v = v->next) {
    if (strcmp(v->key, "url") == 0) {
      if (get_string(w, v, "output.url", c->output_url, sizeof c->output_url) < 0) return -1;
    } else if (strcmp(v->key, "kafka_topic") == 0) {
      if (get_string(w, v, "output.kafka_topic", c->kafka_topic, sizeof c->kafka_topic) < 0) return -1;
    } else {
      return werr(w, v, "unknown key 'output.%s' (known: url, kafka_topic)", v->key);
    }
  }
  return 0;
}

static int walk_rules(walk *w, probe_config *c, const json_value *m) {
  if (expect_map(w, m, "rules") < 0) return -1;
  for (const json_value *v = m->child; v; v = v->next) {
    int *sw = NULL;
    if (strcmp(v->key, "oom_kill") == 0) sw = &c->krules.oom_kill;
    else if (strcmp(v->key, "segfault") == 0) sw = &c->krules.segfault;
    else if (strcmp(v->key, "trap") == 0) sw = &c->krules.trap;
    else if (strcmp(v->key, "hung_task") == 0) sw = &c->krules.hung_task;
    else if (strcmp(v->key, "audit_anom_abend") == 0) sw = &c->krules.audit_anom_abend;
    else if (strcmp(v->key, "abnormal_exit") == 0) sw = &c->abnormal_exit;
    else if (strcmp(v->key, "command_failed") == 0) sw = &c->command_failed;
    else if (strcmp(v->key, "panic_previous_boot") == 0) sw = &c->panic_previous_boot;
    if (sw) {
      if (get_bool(w, v, v->key, sw) < 0) return -1;
    } else if (strcmp(v->key, "hung_task_min_seconds") == 0) {
      if (get_int(w, v, "rules.hung_task_min_seconds", 0, &c->krules.hung_task_min_seconds) < 0) return -1;
    } else {
      return werr(w, v,
                  "unknown key 'rules.%s' (known: oom_kill, segfault, trap, hung_task, audit_anom_abend, "
                  "abnormal_exit, command_failed, panic_previous_boot, hung_task_min_seconds)",
                  v->key);
    }
  }
  return 0;
}

static int walk_kmsg(walk *w, probe_config *c, const json_value *m) {
  if (expect_map(w, m, "kmsg") < 0) return -1;
  for (const json_value *v = m->child; v; v = v->next) {
    if (strcmp(v->key, "enabled") == 0) {
      if (get_bool(w, v, "kmsg.enabled", &c->kmsg_enabled) < 0) return -1;
    } else if (strcmp(v->key, "path") == 0) {
      if (get_string(w, v, "kmsg.path", c->kmsg_path, sizeof c->kmsg_path) < 0) return -1;
    } else if (strcmp(v->key, "from_start") == 0) {
      if (get_bool(w, v, "kmsg.from_start", &c->kmsg_from_start) < 0) return -1;
    } else if (strcmp(v->key, "accept_user_records") == 0) {
      if (get_bool(w, v, "kmsg.accept_user_records", &c->kmsg_user_records) < 0) return -1;
    } else {
      return werr(w, v, "unknown key 'kmsg.%s' (known: enabled, path, from_start, accept_user_records)", v->key);
    }
  }
  return 0;
}

static int walk_process(walk *w, probe_config *c, const json_value *m) {
  if (expect_map(w, m, "process") < 0) return -1;
  for (const json_value *v = m->child; v; v = v->next) {
    if (strcmp(v->key, "enabled") == 0) {
      if (get_bool(w, v, "process.enabled", &c->process_enabled) < 0) return -1;
    } else if (strcmp(v->key, "report_exit_codes") == 0) {
      if (get_bool(w, v, "process.report_exit_codes", &c->report_exit_codes) < 0) return -1;
    } else if (strcmp(v->key, "report_signals") == 0) {
      if (v->type != JSON_ARRAY) return werr(w, v, "process.report_signals: expected a list of signal names");
      c->report_signals = 0;
      for (const json_value *e = v->child; e; e = e->next) {
        char name[32];
        if (e->type == JSON_NUMBER) snprintf(name, sizeof name, "%.*s", (int)e->n, e->s);
        else if (get_string(w, e, "process.report_signals[]", name, sizeof name) < 0) return -1;
        int sig = probe_signal_from_name(name);
        if (sig < 0) return werr(w, e, "process.report_signals: unknown signal '%s'", name);
        c->report_signals |= 1ULL << sig;
      }
    } else if (strcmp(v->key, "ignore_comms") == 0) {
      if (v->type != JSON_ARRAY) return werr(w, v, "process.ignore_comms: expected a list of process names");
      c->nignore = 0;
      for (const json_value *e = v->child; e; e = e->next) {
        if (c->nignore >= PROBE_MAX_IGNORE) return werr(w, e, "process.ignore_comms: more than %d names", PROBE_MAX_IGNORE);
        if (get_string(w, e, "process.ignore_comms[] (at most 15 bytes, like a comm)", c->ignore_comms[c->nignore],
                       sizeof c->ignore_comms[0]) < 0)
          return -1;
        c->nignore++;
      }
    } else {
      return werr(w, v, "unknown key 'process.%s' (known: enabled, report_exit_codes, report_signals, ignore_comms)",
                  v->key);
    }
  }
  return 0;
}

static int walk_command_failed(walk *w, probe_config *c, const json_value *m) {
  if (expect_map(w, m, "command_failed") < 0) return -1;
  for (const json_value *v = m->child; v; v = v->next) {
    if (strcmp(v->key, "files") == 0) {
      if (v->type != JSON_ARRAY) return werr(w, v, "command_failed.files: expected a list of paths");
      c->nfiles = 0;
      for (const json_value *e = v->child; e; e = e->next) {
        if (c->nfiles >= PROBE_MAX_FILES) return werr(w, e, "command_failed.files: more than %d files", PROBE_MAX_FILES);
        if (get_string(w, e, "command_failed.files[]", c->files[c->nfiles], sizeof c->files[0]) < 0) return -1;
        c->nfiles++;
      }
    } else if (strcmp(v->key, "from_start") == 0) {
      if (get_bool(w, v, "command_failed.from_start", &c->files_from_start) < 0) return -1;
    } else {
      return werr(w, v, "unknown key 'command_failed.%s' (known: files, from_start)", v->key);
    }
  }
  return 0;
}

static int walk_limits(walk *w, probe_config *c, const json_value *m) {
  if (expect_map(w, m, "limits") < 0) return -1;
  for (const json_value *v = m->child; v; v = v->next) {
    if (strcmp(v->key, "dedup_window") == 0) {
      if (get_duration(w, v, "limits.dedup_window", &c->limits.dedup_window_ns) < 0) return -1;
    } else if (strcmp(v->key, "rate_per_minute") == 0) {
      if (get_int(w, v, "limits.rate_per_minute", 0, &c->limits.rate_per_minute) < 0) return -1;
    } else if (strcmp(v->key, "summary_interval") == 0) {
      if (get_duration(w, v, "limits.summary_interval", &c->limits.summary_interval_ns) < 0) return -1;
      if (c->limits.summary_interval_ns <= 0) return werr(w, v, "limits.summary_interval: must be positive");
    } else {
      return werr(w, v, "unknown key 'limits.%s' (known: dedup_window, rate_per_minute, summary_interval)", v->key);
    }
  }
  return 0;
}

int probe_config_parse(probe_config *c, const char *name, const char *text, size_t len, char *err, size_t errcap) {
  walk w = {name, err, errcap};
  arena a;
  arena_init(&a, 0);
  yamltree_error ye;
  int rc = 0;
  json_value *root = yamltree_parse_yaml(&a, text, len, 32, 100000, &ye);
  if (!root) {
    snprintf(err, errcap, "%s:%d: %s", name, ye.line, ye.message);
    rc = -1;
    goto out;
  }
  if (root->type == JSON_NULL) goto out;
  if (root->type != JSON_OBJECT) {
    rc = werr(&w, root, "expected a mapping at the top level, got %s", json_type_name(root->type));
    goto out;
  }
  for (const json_value *v = root->child; v && rc == 0; v = v->next) {
    if (strcmp(v->key, "output") == 0) rc = walk_output(&w, c, v);
    else if (strcmp(v->key, "state_dir") == 0) rc = get_string(&w, v, "state_dir", c->state_dir, sizeof c->state_dir);
    else if (strcmp(v->key, "rules") == 0) rc = walk_rules(&w, c, v);
    else if (strcmp(v->key, "kmsg") == 0) rc = walk_kmsg(&w, c, v);
    else if (strcmp(v->key, "process") == 0) rc = walk_process(&w, c, v);
    else if (strcmp(v->key, "command_failed") == 0) rc = walk_command_failed(&w, c, v);
    else if (strcmp(v->key, "pstore") == 0) {
      if (expect_map(&w, v, "pstore") < 0) rc = -1;
      for (const json_value *p = v->child; p && rc == 0; p = p->next) {
        if (strcmp(p->key, "dir") == 0) rc = get_string(&w, p, "pstore.dir", c->pstore_dir, sizeof c->pstore_dir);
        else rc = werr(&w, p, "unknown key 'pstore.%s' (known: dir)", p->key);
      }
    } else if (strcmp(v->key, "limits") == 0) rc = walk_limits(&w, c, v);
    else
      rc = werr(&w, v,
                "unknown key '%s' (known: output, state_dir, rules, kmsg, process, command_failed, pstore, limits)",
                v->key);
  }
out:
  arena_free(&a);
  return rc;
}

int probe_config_load(probe_config *c, const char *path, char *err, size_t errcap) {
  size_t len;
  char *text = yamltree_read_file(path, &len);
  if (!text) {
    snprintf(err, errcap, "%s: cannot read: %m", path);
    return -1;
  }
  int rc = probe_config_parse(c, path, text, len, err, errcap);
  free(text);
  return rc;
}
