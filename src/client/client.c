/* client.c — evd_client: open/close, evd_emit, flush, stats, counters and gauges, the
 * logging entry points and the process's default client.
 *
 * The caller's side of evd_emit is: stamp the time, take the client mutex, put the event
 * pointer in a ring (the memory queue), release, and wake the worker only when a batch is
 * full or the queue reaches its high-water mark (and the worker is asleep). The worker does
 * all encoding and I/O (client_worker.c).
 *
 * Fork: the pthread_atfork child handler bumps a global generation number; a client compares
 * it with the one it was opened under and, in a child, refuses to run (ECHILD) without
 * touching its mutexes (which another thread of the parent may have held at fork time). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "client_internal.h"

const char *evd_version(void) { return "0.1.0"; }

void evd_options_init(evd_options *o) {
  if (o) memset(o, 0, sizeof *o);
}

/* ---- configuration ------------------------------------------------------------------------ */

static const char *opt_str(const char *v, const char *env) {
  if (v) return v;
  const char *e = getenv(env);
  return e && e[0] ? e : NULL;
}

/* Parse http://HOST[:PORT][/PREFIX] or forward://HOST[:PORT] into c. */
static int parse_url(evd_client *c, const char *url, char *err, size_t errlen) {
  const char *p;
  if (strncmp(url, "http://", 7) == 0) {
    p = url + 7;
    c->forward = 0;
    c->port = 8910;
  } else if (strncmp(url, "forward://", 10) == 0) {
    p = url + 10;
    c->forward = 1;
    c->port = 24224;
  } else if (strncmp(url, "https://", 8) == 0) {
    snprintf(err, errlen, "EVENTD_URL '%s': https is not supported (use a local eventd or a "
             "TLS-terminating proxy)", url);
    return -1;
  } else {
    snprintf(err, errlen, "EVENTD_URL '%s': expected http://HOST:PORT or forward://HOST:PORT",
             url);
    return -1;
  }
  const char *hs = p, *he;
  if (*p == '[') {
    hs = p + 1;
    he = strchr(hs, ']');
    if (he == NULL) {
      snprintf(err, errlen, "EVENTD_URL '%s': unterminated [IPv6 address]", url);
      return -1;
    }
    p = he + 1;
  } else {
    he = p + strcspn(p, ":/");
    p = he;
  }
  if (he == hs) {
    snprintf(err, errlen, "EVENTD_URL '%s': no host", url);
    return -1;
  }
  c->host = strndup(hs, (size_t)(he - hs));
  if (*p == ':') {
    char *e;
    long port = strtol(p + 1, &e, 10);
    if (e == p + 1 || port < 1 || port > 65535 || (*e != '\0' && *e != '/')) {
      snprintf(err, errlen, "EVENTD_URL '%s': bad port", url);
      return -1;
    }
    c->port = (int)port;
    p = e;
  }
  if (*p != '\0' && *p != '/') {
    snprintf(err, errlen, "EVENTD_URL '%s': unexpected '%s'", url, p);
    return -1;
  }
  if (c->forward) {
    if (*p && strcmp(p, "/") != 0) {
      snprintf(err, errlen, "EVENTD_URL '%s': forward:// takes no path", url);
      return -1;
    }
    c->path = strdup("");
  } else {
    size_t pl = strlen(p);
    while (pl && p[pl - 1] == '/') pl--;
    c->path = malloc(pl + sizeof "/v1/events");
    if (c->path) {
      memcpy(c->path, p, pl);
      memcpy(c->path + pl, "/v1/events", sizeof "/v1/events");
    }
  }
  if (c->host == NULL || c->path == NULL) {
    snprintf(err, errlen, "out of memory");
    errno = ENOMEM;
    return -1;
  }
  return 0;
}

static char *json_string_dup(const char *s) {
  evc_buf b = {0};
  evc_buf_add_jstr(&b, s, strlen(s));
  if (b.oom) {
    evc_buf_free(&b);
    return NULL;
  }
  return b.p;
}

/* Resource members added to every event (values as JSON text). */
static int set_auto(evd_client *c, const evd_options *o, char *err, size_t errlen) {
  char host[256];
  if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "unknown");
  host[sizeof host - 1] = '\0';
  if (!evc_utf8_valid(host, strlen(host))) snprintf(host, sizeof host, "unknown");
  const char *prog = o && o->program ? o->program : program_invocation_short_name;
  if (prog == NULL || !evc_utf8_valid(prog, strlen(prog))) prog = "unknown";
  char pid[24];
  snprintf(pid, sizeof pid, "%ld", (long)getpid());
  const char *site = opt_str(o ? o->site : NULL, "EVENTD_SITE");
  const char *cluster = opt_str(o ? o->cluster : NULL, "EVENTD_CLUSTER");
  const char *keys[5] = {"host.name", "process.pid", "process.executable.name", "site",
                         "cluster"};
  const char *vals[5] = {host, NULL, prog, site, cluster};
  size_t k = 0;
  for (int i = 0; i < 5; i++) {
    char *v;
    if (i == 1) {
      v = strdup(pid);
    } else {
      if (vals[i] == NULL) continue;
      if (!evc_utf8_valid(vals[i], strlen(vals[i])) || strlen(vals[i]) > EVC_VALUE_MAX) {
        snprintf(err, errlen, "%s: invalid UTF-8 or over 4096 bytes", keys[i]);
        errno = EINVAL;
        return -1;
      }
      v = json_string_dup(vals[i]);
    }
    if (v == NULL) {
      snprintf(err, errlen, "out of memory");
      errno = ENOMEM;
      return -1;
    }
    c->au_strings[k] = v;
    c->au.res[k].key = (char *)keys[i];
    c->au.res[k].val = v;
    k++;
  }
  c->au.nres = k;
  /* interned once: events that set no resource member copy this text as is */
  size_t rl = 0;
  if ((c->au_strings[7] = evc_auto_res_members(&c->au, &rl)) == NULL) {
    snprintf(err, errlen, "out of memory");
    errno = ENOMEM;
    return -1;
  }
  c->au.res_members = c->au_strings[7];
  c->au.res_members_len = rl;
  const char *stream = opt_str(o ? o->stream : NULL, "EVENTD_STREAM");
  const char *tenant = opt_str(o ? o->tenant : NULL, "EVENTD_TENANT");
  const char *why;
  if (stream && (why = evc_check_name(stream, strlen(stream))) != NULL) {
    snprintf(err, errlen, "stream '%s': %s", stream, why);
    errno = EINVAL;
    return -1;
  }
  if (tenant && (why = evc_check_name(tenant, strlen(tenant))) != NULL) {
    snprintf(err, errlen, "tenant '%s': %s", tenant, why);
    errno = EINVAL;
    return -1;
  }
  if (stream && (c->au_strings[5] = strdup(stream)) == NULL) return -1;
  if (tenant && (c->au_strings[6] = strdup(tenant)) == NULL) return -1;
  c->au.stream = c->au_strings[5];
  c->au.tenant = c->au_strings[6];
  return 0;
}

static void client_free(evd_client *c) {
  if (c == NULL) return;
  if (c->ring) {
    for (size_t i = 0; i < c->rcount; i++) evd_event_free(c->ring[(c->rhead + i) % c->qmax]);
    free(c->ring);
  }
  for (size_t i = 0; i < c->nmetrics; i++) free(c->metrics[i].name);
  free(c->metrics);
  for (int i = 0; i < 8; i++) free(c->au_strings[i]);
  free(c->host);
  free(c->path);
  free(c->spool_dir);
  free(c->token);
  free(c->forward_tag);
  evc_buf_free(&c->batch.body);
  free(c->batch.off);
  free(c->batch.dead);
  evc_buf_free(&c->enc);
  evc_buf_free(&c->pre);
  free(c->pre_off);
  evc_buf_free(&c->hold);
  if (c->wakefd >= 0) close(c->wakefd);
  free(c);
}

static unsigned env_uint(const char *name, unsigned dflt) {
  const char *e = getenv(name);
  if (e == NULL || *e == '\0') return dflt;
  char *end;
  unsigned long v = strtoul(e, &end, 10);
  if (*end != '\0' || v > UINT_MAX) return dflt;
  return (unsigned)v;
}

evd_client *evd_client_open_err(const evd_options *o, char *err, size_t errlen) {
  char dummy[8];
  if (err == NULL || errlen == 0) {
    err = dummy;
    errlen = sizeof dummy;
  }
  err[0] = '\0';
  evc_fork_init();
  evd_client *c = calloc(1, sizeof *c);
  if (c == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  c->wakefd = -1;
  c->fork_gen = evc_fork_generation();
  const char *url = opt_str(o ? o->url : NULL, "EVENTD_URL");
  if (url == NULL) url = "http://127.0.0.1:8910";
  if (parse_url(c, url, err, errlen) != 0) goto fail_inval;
  const char *spool = opt_str(o ? o->spool_dir : NULL, "EVENTD_SPOOL");
  if (spool && spool[0] == '\0') spool = NULL; /* "" = explicitly no spool */
  const char *token = opt_str(o ? o->token : NULL, "EVENTD_TOKEN");
  const char *tag = o && o->forward_tag ? o->forward_tag : "eventd";
  if ((spool && (c->spool_dir = strdup(spool)) == NULL) ||
      (token && (c->token = strdup(token)) == NULL) || (c->forward_tag = strdup(tag)) == NULL)
    goto fail_nomem;
  if (token) {
    for (const char *t = token; *t; t++)
      if ((unsigned char)*t < 0x21 || (unsigned char)*t > 0x7e) {
        snprintf(err, errlen, "EVENTD_TOKEN: must be printable ASCII without spaces");
        goto fail_inval;
      }
  }
  if (set_auto(c, o, err, errlen) != 0) goto fail;

#define OPT(field, env, dflt) (o && o->field ? o->field : env_uint(env, dflt))
  c->batch_max = OPT(batch_max_events, "EVENTD_BATCH_MAX_EVENTS", 1000);
  c->batch_bytes = OPT(batch_max_bytes, "EVENTD_BATCH_MAX_BYTES", 4u << 20);
  c->interval_ms = OPT(batch_interval_ms, "EVENTD_BATCH_INTERVAL_MS", 200);
  c->qmax = OPT(queue_max_events, "EVENTD_QUEUE_MAX_EVENTS", 65536);
  c->high_water = OPT(queue_high_water, "EVENTD_QUEUE_HIGH_WATER", 0);
  c->block_timeout_ms = OPT(block_timeout_ms, "EVENTD_BLOCK_TIMEOUT_MS", 100);
  c->connect_timeout_ms = OPT(connect_timeout_ms, "EVENTD_CONNECT_TIMEOUT_MS", 2000);
  c->request_timeout_ms = OPT(request_timeout_ms, "EVENTD_REQUEST_TIMEOUT_MS", 10000);
  c->retry_min_ms = OPT(retry_min_ms, "EVENTD_RETRY_MIN_MS", 100);
  c->retry_max_ms = OPT(retry_max_ms, "EVENTD_RETRY_MAX_MS", 10000);
  c->metrics_ms = OPT(metrics_interval_ms, "EVENTD_METRICS_INTERVAL_MS", 10000);
#undef OPT
  if (o && o->spool_max_bytes) {
    c->spool_max = o->spool_max_bytes;
  } else {
    const char *e = getenv("EVENTD_SPOOL_MAX_BYTES");
    c->spool_max = e && *e ? strtoull(e, NULL, 10) : 0;
    if (c->spool_max == 0) c->spool_max = 1ull << 30;
  }
  c->overflow = o && o->overflow ? o->overflow : EVD_OVERFLOW_BLOCK;
  if (!(o && o->overflow)) {
    const char *e = getenv("EVENTD_OVERFLOW");
    if (e && *e) {
      if (strcmp(e, "block") == 0) c->overflow = EVD_OVERFLOW_BLOCK;
      else if (strcmp(e, "drop_newest") == 0) c->overflow = EVD_OVERFLOW_DROP_NEWEST;
      else if (strcmp(e, "drop_oldest") == 0) c->overflow = EVD_OVERFLOW_DROP_OLDEST;
      else {
        snprintf(err, errlen, "EVENTD_OVERFLOW '%s': expected block, drop_newest or drop_oldest", e);
        goto fail_inval;
      }
    }
  }
  if (c->overflow > EVD_OVERFLOW_DROP_OLDEST) {
    snprintf(err, errlen, "overflow: unknown policy %d", (int)c->overflow);
    goto fail_inval;
  }
  c->spool_mode = o && o->spool_mode ? o->spool_mode : EVD_SPOOL_OVERFLOW;
  if (!(o && o->spool_mode)) {
    const char *e = getenv("EVENTD_SPOOL_MODE");
    if (e && strcmp(e, "always") == 0) c->spool_mode = EVD_SPOOL_ALWAYS;
    else if (e && *e && strcmp(e, "overflow") != 0) {
      snprintf(err, errlen, "EVENTD_SPOOL_MODE '%s': expected overflow or always", e);
      goto fail_inval;
    }
  }
  if (c->spool_mode > EVD_SPOOL_ALWAYS) {
    snprintf(err, errlen, "spool_mode: unknown mode %d", (int)c->spool_mode);
    goto fail_inval;
  }
  c->fsync = !(o && o->spool_fsync < 0);
  if (!(o && o->spool_fsync)) {
    const char *e = getenv("EVENTD_SPOOL_FSYNC");
    if (e && strcmp(e, "0") == 0) c->fsync = 0;
  }
  if (c->qmax < 2) c->qmax = 2;
  if (c->batch_max > c->qmax) c->batch_max = c->qmax;
  if (c->high_water == 0 || c->high_water > c->qmax) c->high_water = c->qmax / 2;
  if (c->retry_max_ms < c->retry_min_ms) c->retry_max_ms = c->retry_min_ms;
  if (c->batch_bytes < 1024) c->batch_bytes = 1024;

  c->ring = calloc(c->qmax, sizeof *c->ring);
  if (c->ring == NULL) goto fail_nomem;
  c->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (c->wakefd < 0) {
    snprintf(err, errlen, "eventfd: %s", strerror(errno));
    goto fail;
  }
  if (c->forward) {
    c->fwd = evc_fwd_new(c->host, c->port, c->forward_tag, (int)c->connect_timeout_ms,
                         (int)c->request_timeout_ms);
    if (c->fwd == NULL) {
      snprintf(err, errlen, "forward://: %s", strerror(errno));
      goto fail;
    }
  } else {
    c->http = evc_http_new(c->host, c->port, c->path, c->token, (int)c->connect_timeout_ms,
                           (int)c->request_timeout_ms);
    if (c->http == NULL) goto fail_nomem;
  }
  if (c->spool_dir) {
    uint64_t seg = c->spool_max / 8;
    if (seg > 16u << 20) seg = 16u << 20;
    if (seg < 64u << 10) seg = 64u << 10;
    evc_spool_opts so = {.dir = c->spool_dir, .max_bytes = c->spool_max, .segment_bytes = seg,
                         .fsync = c->fsync};
    c->spool = evc_spool_open(&so, &c->st.recovered, err, errlen);
    if (c->spool == NULL) goto fail;
    snprintf(c->st.last_error, sizeof c->st.last_error, "%s", evc_spool_error(c->spool));
  }
  pthread_mutex_init(&c->mu, NULL);
  pthread_mutex_init(&c->mmu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&c->room, &ca);
  pthread_cond_init(&c->progress, &ca);
  pthread_condattr_destroy(&ca);
  c->next_metrics = evc_mono_ns() + (int64_t)c->metrics_ms * 1000000;
  int prc = pthread_create(&c->thread, NULL, evc_worker_main, c);
  if (prc != 0) {
    snprintf(err, errlen, "cannot start the client thread: %s", strerror(prc));
    evc_spool_close(c->spool);
    c->spool = NULL;
    errno = prc;
    goto fail;
  }
  c->thread_started = 1;
  return c;

fail_nomem:
  snprintf(err, errlen, "out of memory");
  errno = ENOMEM;
  goto fail;
fail_inval:
  errno = EINVAL;
fail:;
  int e = errno;
  evc_http_free(c->http);
  evc_fwd_free(c->fwd);
  client_free(c);
  errno = e ? e : EINVAL;
  return NULL;
}

evd_client *evd_client_open(const evd_options *o) { return evd_client_open_err(o, NULL, 0); }

/* ---- emit --------------------------------------------------------------------------------- */

static int in_child(const evd_client *c) { return c->fork_gen != evc_fork_generation(); }

void evc_wake(evd_client *c) {
  uint64_t one = 1;
  ssize_t r = write(c->wakefd, &one, sizeof one);
  (void)r; /* EAGAIN means a wakeup is already pending */
}

/* The monotonic clock at its tick's resolution (a few ms, and no TSC read): enough for the
 * batch_interval_ms deadline of a queued event, which it can only bring forward. */
static int64_t mono_coarse_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0) return evc_mono_ns();
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Put ev at the ring's tail (mu held, room available). Returns whether to wake the worker. */
static int ring_push(evd_client *c, evd_event *ev) {
  c->ring[(c->rhead + c->rcount) % c->qmax] = ev;
  c->rcount++;
  c->next_seq++;
  c->st.emitted++;
  if (c->sleeping && !c->wake_pending &&
      (c->rcount >= c->batch_max || c->rcount >= c->high_water)) {
    c->wake_pending = 1;
    return 1;
  }
  return 0;
}

/* Remove the oldest ring event (mu held, rcount > 0). */
static void ring_drop_head(evd_client *c) {
  evd_event_free(c->ring[c->rhead]);
  c->rhead = (c->rhead + 1) % c->qmax;
  c->rcount--;
  c->head_seq++;
  c->st.dropped_oldest++;
}

int evd_emit(evd_client *c, evd_event *ev) {
  if (c == NULL || ev == NULL) {
    evd_event_free(ev);
    errno = EINVAL;
    return -1;
  }
  if (in_child(c)) {
    evd_event_free(ev);
    c->st.dropped_fork++; /* the child's copy: not shared with anyone */
    errno = ECHILD;
    return -1;
  }
  if (!ev->has_time) {
    ev->time_ns = evc_now_ns();
    ev->has_time = 1;
  }
  ev->enqueue_mono_ns = mono_coarse_ns();
  pthread_mutex_lock(&c->mu);
  if (c->closing) {
    pthread_mutex_unlock(&c->mu);
    evd_event_free(ev);
    errno = ESHUTDOWN;
    return -1;
  }
  if (c->rcount == c->qmax) {
    switch (c->overflow) {
      case EVD_OVERFLOW_DROP_NEWEST:
        c->st.dropped_newest++;
        pthread_mutex_unlock(&c->mu);
        evd_event_free(ev);
        errno = ENOBUFS;
        return -1;
      case EVD_OVERFLOW_DROP_OLDEST:
        ring_drop_head(c);
        break;
      default: {
        c->st.blocked++;
        if (c->sleeping && !c->wake_pending) {
          c->wake_pending = 1;
          evc_wake(c);
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t dl = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec +
                     (int64_t)c->block_timeout_ms * 1000000;
        ts.tv_sec = dl / 1000000000;
        ts.tv_nsec = dl % 1000000000;
        c->room_waiters++;
        while (c->rcount == c->qmax && !c->closing) {
          if (pthread_cond_timedwait(&c->room, &c->mu, &ts) == ETIMEDOUT) break;
        }
        c->room_waiters--;
        if (c->rcount == c->qmax || c->closing) {
          int closing = c->closing;
          if (!closing) c->st.dropped_block_timeout++;
          pthread_mutex_unlock(&c->mu);
          evd_event_free(ev);
          errno = closing ? ESHUTDOWN : ETIMEDOUT;
          return -1;
        }
      }
    }
  }
  int wake = ring_push(c, ev);
  pthread_mutex_unlock(&c->mu);
  if (wake) evc_wake(c);
  return 0;
}

void evc_emit_internal(evd_client *c, evd_event *ev) {
  if (!ev->has_time) {
    ev->time_ns = evc_now_ns();
    ev->has_time = 1;
  }
  ev->enqueue_mono_ns = evc_mono_ns();
  pthread_mutex_lock(&c->mu);
  if (c->rcount == c->qmax) {
    if (c->overflow == EVD_OVERFLOW_DROP_OLDEST) {
      ring_drop_head(c);
    } else {
      c->st.dropped_newest++;
      pthread_mutex_unlock(&c->mu);
      evd_event_free(ev);
      return;
    }
  }
  (void)ring_push(c, ev); /* the caller is the worker or close: no wakeup needed */
  pthread_mutex_unlock(&c->mu);
}

/* ---- flush, close, stats ------------------------------------------------------------------ */

int evd_client_flush(evd_client *c, int timeout_ms) {
  if (c == NULL) {
    errno = EINVAL;
    return -1;
  }
  if (in_child(c)) {
    errno = ECHILD;
    return -1;
  }
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t dl = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (int64_t)timeout_ms * 1000000;
  ts.tv_sec = dl / 1000000000;
  ts.tv_nsec = dl % 1000000000;
  pthread_mutex_lock(&c->mu);
  uint64_t target = c->next_seq;
  if (c->flush_seq < target) c->flush_seq = target;
  c->wake_pending = 1;
  evc_wake(c);
  int rc = 0;
  while (c->settled_seq < target) {
    int w = timeout_ms < 0 ? pthread_cond_wait(&c->progress, &c->mu)
                           : pthread_cond_timedwait(&c->progress, &c->mu, &ts);
    if (w == ETIMEDOUT) {
      rc = c->settled_seq < target ? -1 : 0;
      break;
    }
  }
  pthread_mutex_unlock(&c->mu);
  if (rc != 0) errno = ETIMEDOUT;
  return rc;
}

uint64_t evd_client_close(evd_client *c, int timeout_ms) {
  if (c == NULL) return 0;
  if (in_child(c)) {
    /* The parent's thread does not exist here and its mutexes may be held: close the
       descriptors, leave the memory (the child usually execs or exits). */
    if (c->wakefd >= 0) close(c->wakefd);
    evc_http_free(c->http); /* closes the connection socket */
    c->http = NULL;
    evc_spool_abandon(c->spool);
    c->spool = NULL;
    return 0;
  }
  if (timeout_ms < 0) timeout_ms = 0;
  evc_metrics_flush(c);
  pthread_mutex_lock(&c->mu);
  c->closing = 1;
  c->close_deadline = evc_mono_ns() + (int64_t)timeout_ms * 1000000;
  c->flush_seq = c->next_seq;
  pthread_cond_broadcast(&c->room);
  pthread_mutex_unlock(&c->mu);
  evc_wake(c);
  if (c->thread_started) pthread_join(c->thread, NULL);
  uint64_t left = c->lost_at_close + (c->spool ? evc_spool_events(c->spool) : 0);
  evc_spool_close(c->spool);
  evc_http_free(c->http);
  evc_fwd_free(c->fwd);
  pthread_mutex_destroy(&c->mu);
  pthread_mutex_destroy(&c->mmu);
  pthread_cond_destroy(&c->room);
  pthread_cond_destroy(&c->progress);
  client_free(c);
  return left;
}

int evd_client_stats(evd_client *c, evd_stats *out) {
  if (c == NULL || out == NULL) {
    errno = EINVAL;
    return -1;
  }
  if (in_child(c)) {
    errno = ECHILD;
    return -1;
  }
  pthread_mutex_lock(&c->mu);
  *out = c->st;
  out->queue_events = c->rcount + c->batch_mem_events;
  pthread_mutex_unlock(&c->mu);
  return 0;
}

/* ---- counters and gauges ------------------------------------------------------------------ */

static evc_metric *metric_get(evd_client *c, const char *name, int is_gauge) {
  for (size_t i = 0; i < c->nmetrics; i++)
    if (c->metrics[i].is_gauge == is_gauge && strcmp(c->metrics[i].name, name) == 0)
      return &c->metrics[i];
  if (c->nmetrics == c->capmetrics) {
    size_t nc = c->capmetrics ? c->capmetrics * 2 : 16;
    evc_metric *nv = realloc(c->metrics, nc * sizeof *nv);
    if (nv == NULL) return NULL;
    c->metrics = nv;
    c->capmetrics = nc;
  }
  char *n = strdup(name);
  if (n == NULL) return NULL;
  evc_metric *m = &c->metrics[c->nmetrics++];
  memset(m, 0, sizeof *m);
  m->name = n;
  m->is_gauge = is_gauge;
  return m;
}

static int metric_check(evd_client *c, const char *name) {
  if (c == NULL || name == NULL || evc_check_name(name, strlen(name)) != NULL) {
    errno = EINVAL;
    return -1;
  }
  if (in_child(c)) {
    errno = ECHILD;
    return -1;
  }
  return 0;
}

int evd_counter_add(evd_client *c, const char *name, int64_t n) {
  if (metric_check(c, name) != 0) return -1;
  pthread_mutex_lock(&c->mmu);
  evc_metric *m = metric_get(c, name, 0);
  if (m) {
    m->total += n;
    m->dirty = 1;
  }
  pthread_mutex_unlock(&c->mmu);
  if (m == NULL) errno = ENOMEM;
  return m ? 0 : -1;
}

int evd_gauge_set(evd_client *c, const char *name, double v) {
  if (metric_check(c, name) != 0) return -1;
  if (!isfinite(v)) {
    errno = EINVAL;
    return -1;
  }
  pthread_mutex_lock(&c->mmu);
  evc_metric *m = metric_get(c, name, 1);
  if (m) {
    m->gauge = v;
    m->dirty = 1;
  }
  pthread_mutex_unlock(&c->mmu);
  if (m == NULL) errno = ENOMEM;
  return m ? 0 : -1;
}

void evc_metrics_flush(evd_client *c) {
  pthread_mutex_lock(&c->mmu);
  for (size_t i = 0; i < c->nmetrics; i++) {
    evc_metric *m = &c->metrics[i];
    if (!m->dirty) continue;
    evd_event *ev = evd_event_new(m->is_gauge ? "metric.gauge" : "metric.counter");
    if (ev == NULL) continue; /* out of memory: stays dirty, next round */
    int rc = evd_event_set_data_string(ev, "name", m->name);
    if (m->is_gauge) {
      rc |= evd_event_set_data_double(ev, "value", m->gauge);
    } else {
      rc |= evd_event_set_data_int(ev, "value", m->total);
      rc |= evd_event_set_data_int(ev, "delta", m->total - m->sent_total);
    }
    if (rc != 0) {
      evd_event_free(ev);
      continue;
    }
    m->dirty = 0;
    m->sent_total = m->total;
    evc_emit_internal(c, ev);
  }
  pthread_mutex_unlock(&c->mmu);
}

/* ---- logging ------------------------------------------------------------------------------ */

int evd_logv(evd_client *c, int severity, const char *type, const char *file, int line,
             const char *func, const char *fmt, va_list ap) {
  evd_event *ev = evd_event_new(type ? type : "log");
  if (ev == NULL) return -1;
  int rc = 0;
  if (severity >= 1 && severity <= 24) rc |= evd_event_set_severity(ev, severity);
  if (fmt) {
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0) {
      evd_event_free(ev);
      errno = ENOMEM;
      return -1;
    }
    if (evd_event_set_message(ev, msg) != 0) {
      /* a message eventd would refuse (over 256 KiB or invalid UTF-8): keep the event and
         say so rather than losing it */
      char note[128];
      snprintf(note, sizeof note, "(message refused: %s)", evd_event_error(ev));
      rc |= evd_event_set_message(ev, note);
    }
    free(msg);
  }
  if (file) rc |= evd_event_set_data_string(ev, "code.file", file);
  if (line > 0) rc |= evd_event_set_data_int(ev, "code.line", line);
  if (func) rc |= evd_event_set_data_string(ev, "code.function", func);
  if (rc != 0) {
    evd_event_free(ev);
    errno = EINVAL;
    return -1;
  }
  return evd_emit(c, ev);
}

int evd_log(evd_client *c, int severity, const char *type, const char *file, int line,
            const char *func, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = evd_logv(c, severity, type, file, line, func, fmt, ap);
  va_end(ap);
  return rc;
}

/* ---- default client ----------------------------------------------------------------------- */

static pthread_mutex_t default_mu = PTHREAD_MUTEX_INITIALIZER;
static evd_client *default_client; /* the process's default client (see eventd.h) */
static unsigned default_gen;
static int default_atexit;

static void default_close(void) {
  pthread_mutex_lock(&default_mu);
  evd_client *c = default_client;
  default_client = NULL;
  pthread_mutex_unlock(&default_mu);
  if (c && !in_child(c)) evd_client_close(c, (int)env_uint("EVENTD_CLOSE_TIMEOUT_MS", 2000));
}

evd_client *evd_default_client(void) {
  evc_fork_init();
  unsigned gen = evc_fork_generation();
  evd_client *c = __atomic_load_n(&default_client, __ATOMIC_ACQUIRE);
  if (c && default_gen == gen) return c;
  if (c && default_gen != gen) {
    /* in a forked child: the parent's lock state is unknown; start over */
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    default_mu = fresh;
    default_client = NULL;
  }
  pthread_mutex_lock(&default_mu);
  if (default_client == NULL) {
    char err[256];
    evd_client *n = evd_client_open_err(NULL, err, sizeof err);
    if (n == NULL && errno == EBUSY) {
      /* the spool directory belongs to another client (our parent after fork) */
      evd_options o;
      evd_options_init(&o);
      o.spool_dir = "";
      n = evd_client_open_err(&o, err, sizeof err);
    }
    if (n) {
      default_gen = gen;
      __atomic_store_n(&default_client, n, __ATOMIC_RELEASE);
      if (!default_atexit) {
        default_atexit = 1;
        atexit(default_close);
      }
    }
  }
  c = default_client;
  pthread_mutex_unlock(&default_mu);
  return c;
}
