/* client_worker.c — libeventd's background thread: batching, sending, retrying, spooling.
 *
 * One thread per client owns the connection, the spool and the batch being sent. Its loop:
 *
 *   1. counters/gauges due → queue them as events;
 *   2. spooling (spool mode "always", or the spool holds events, or the memory queue is at its
 *      high-water mark) → move the due events of the memory queue into the spool, so that
 *      the order is kept: while the spool is not empty, every event goes through it;
 *   3. no batch → take one: from the spool's head when it holds events, else from memory
 *      (at most batch_max events / batch_bytes, when batch_max are queued, the oldest has
 *      waited batch_interval_ms, a flush asks, or the client is closing);
 *   4. a batch and its retry time has come → send it:
 *        200 → acknowledged: from the spool, the ack position moves past it;
 *        400 → the events eventd names as invalid are dropped (stats.rejected), the rest is
 *              sent again; an error that names no event → each event alone, once;
 *        413 → each event alone;
 *        anything else (no connection, timeout, 5xx, 503 busy, other 4xx) → a failure: the
 *              batch goes to the spool if there is one (it is then sent from there), and the
 *              next attempt waits retry_min_ms·2^k (≤ retry_max_ms) with jitter (50–100 %);
 *   5. sleep on the eventfd until the earliest deadline or a wakeup.
 *
 * Once a request is sent, the worker encodes the events queued behind it while eventd works
 * on it (encode_ahead; they stay in the queue, so spilling, flushing and closing see them as
 * before), and taking the next batch copies those lines: encoding overlaps the wait.
 *
 * While a request waits for the server, the HTTP client calls back here every ~10 ms: the
 * memory queue is spilled into the spool when it passes its high-water mark (a memory batch
 * in flight is first written to the spool, so it stays ahead of the events spilled after it),
 * and the request is abandoned when the close deadline has passed.
 *
 * At close: the loop keeps delivering until nothing is left or the deadline; then everything
 * still in memory (the batch, the queue) is written to the spool, or counted as lost when
 * there is no spool. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_internal.h"

enum { SEND_OK = 0, SEND_FAIL = -1, SEND_ABORT = -2 };

/* ---- batch ------------------------------------------------------------------------------- */

static void batch_reset(evc_batch *b) {
  b->body.len = 0;
  b->n = b->alive = 0;
  b->from_spool = 0;
  b->spool_records = 0;
  b->first_seq = 0;
  b->attempts = 0;
  if (b->off) b->off[0] = 0;
}

/* Room for one more line in off[]/dead[]. Returns 0 or -1 (ENOMEM). */
static int batch_grow(evc_batch *b) {
  if (b->n + 1 < b->cap) return 0;
  size_t nc = b->cap ? b->cap * 2 : 1024;
  size_t *no = realloc(b->off, (nc + 1) * sizeof *no);
  if (no == NULL) return -1;
  b->off = no;
  unsigned char *nd = realloc(b->dead, nc);
  if (nd == NULL) return -1;
  b->dead = nd;
  b->cap = nc;
  return 0;
}

/* Close the line that body holds from off[n] on with '\n' and count it. Returns 0, or -1
 * (ENOMEM: the partial line is taken back). */
static int batch_end_line(evc_batch *b) {
  evc_buf_addc(&b->body, '\n');
  if (b->body.oom) {
    b->body.oom = 0;
    b->body.len = b->off[b->n];
    return -1;
  }
  b->dead[b->n] = 0;
  b->n++;
  b->alive++;
  b->off[b->n] = b->body.len;
  return 0;
}

/* Append one line (p[0..n) + '\n'). Returns 0 or -1 (ENOMEM). */
static int batch_add(evc_batch *b, const char *p, size_t n) {
  if (batch_grow(b) != 0) return -1;
  if (b->n == 0) b->off[0] = 0;
  evc_buf_add(&b->body, p, n);
  return batch_end_line(b);
}

/* Append ev encoded as one line, written straight into the body (no copy). Returns 0 or -1
 * (ENOMEM: the batch is as before). */
static int batch_add_event(evc_batch *b, const evd_event *ev, const evc_auto *au) {
  if (batch_grow(b) != 0) return -1;
  if (b->n == 0) b->off[0] = 0;
  if (evc_event_encode(ev, au, &b->body) != 0) {
    b->body.oom = 0;
    b->body.len = b->off[b->n];
    return -1;
  }
  return batch_end_line(b);
}

static int batch_add_cb(void *arg, const char *p, size_t n) { return batch_add(arg, p, n); }

/* ---- shared-state helpers ------------------------------------------------------------------ */

static void set_error(evd_client *c, const char *msg) {
  pthread_mutex_lock(&c->mu);
  snprintf(c->st.last_error, sizeof c->st.last_error, "%s", msg);
  pthread_mutex_unlock(&c->mu);
}

/* Recompute settled_seq: every event before the oldest one still only in memory (the hold
 * slot, a memory batch, the queue's head) is settled. Wakes flush waiters. */
static void update_settled(evd_client *c) {
  pthread_mutex_lock(&c->mu);
  uint64_t s = c->head_seq;
  if (c->batch.n && !c->batch.from_spool && c->batch.first_seq < s) s = c->batch.first_seq;
  if (c->has_hold && c->hold_seq < s) s = c->hold_seq;
  if (s > c->settled_seq) {
    c->settled_seq = s;
    pthread_cond_broadcast(&c->progress);
  }
  c->batch_mem_events = (c->batch.n && !c->batch.from_spool ? c->batch.alive : 0) +
                        (c->has_hold ? 1 : 0);
  if (c->spool) {
    c->st.spool_events = evc_spool_events(c->spool);
    c->st.spool_bytes = evc_spool_bytes(c->spool);
  }
  pthread_mutex_unlock(&c->mu);
}

/* Pop up to max events from the ring head (mu not held). Returns the count; out[] gets them
 * and *first_seq the seq of the first. */
static size_t ring_take(evd_client *c, evd_event **out, size_t max, uint64_t *first_seq) {
  pthread_mutex_lock(&c->mu);
  size_t n = c->rcount < max ? c->rcount : max;
  *first_seq = c->head_seq;
  for (size_t i = 0; i < n; i++) {
    out[i] = c->ring[c->rhead];
    c->rhead = (c->rhead + 1) % c->qmax;
  }
  c->rcount -= n;
  c->head_seq += n;
  if (n && c->room_waiters) pthread_cond_broadcast(&c->room);
  pthread_mutex_unlock(&c->mu);
  return n;
}

/* ---- spool -------------------------------------------------------------------------------- */

/* Append one encoded event to the spool under the overflow policy. in_flight: a request is
 * waiting (the head segment must not be dropped). Returns 1 appended, 0 dropped (counted),
 * -1 no room under the block policy (the caller keeps the event), -2 I/O error. */
static int spool_put(evd_client *c, const char *p, size_t n, int in_flight) {
  for (;;) {
    if (evc_spool_append(c->spool, p, n) == 0) return 1;
    if (errno != ENOSPC) {
      set_error(c, evc_spool_error(c->spool));
      return -2;
    }
    if (c->overflow == EVD_OVERFLOW_BLOCK) return -1;
    if (c->overflow == EVD_OVERFLOW_DROP_OLDEST) {
      int pending_from_spool = c->batch.n && c->batch.from_spool;
      /* in flight: the request covers the spool up to its end segment; keep those */
      uint64_t keep = in_flight && c->batch.from_spool ? c->batch.spool_end.seg : 0;
      if (in_flight && !keep) keep = evc_spool_tail(c->spool).seg; /* converting: drop none */
      uint64_t d = evc_spool_drop_oldest(c->spool, keep);
      if (d) {
        if (!in_flight && pending_from_spool) batch_reset(&c->batch); /* its records may be gone */
        pthread_mutex_lock(&c->mu);
        c->st.dropped_oldest += d;
        pthread_mutex_unlock(&c->mu);
        continue;
      }
      /* nothing can be dropped before it (one segment): this one goes */
    }
    pthread_mutex_lock(&c->mu);
    c->st.dropped_newest++;
    pthread_mutex_unlock(&c->mu);
    return 0;
  }
}

static void count_spooled(evd_client *c, uint64_t n) {
  pthread_mutex_lock(&c->mu);
  c->st.spooled += n;
  pthread_mutex_unlock(&c->mu);
}

/* Commit what was appended; on failure keep going (the records stay buffered). */
static void spool_commit(evd_client *c) {
  if (evc_spool_commit(c->spool) != 0) set_error(c, evc_spool_error(c->spool));
}

/* Write a memory batch's live lines to the spool (it then becomes the spool's head records
 * when the spool was empty). Lines that cannot be spooled under a full spool are dropped or
 * (block) kept in memory by leaving the batch as it is. Returns 1 if the whole batch is now
 * in the spool. */
static int spool_mem_batch(evd_client *c, int in_flight) {
  evc_batch *b = &c->batch;
  int was_empty = evc_spool_events(c->spool) == 0;
  uint64_t put = 0;
  for (size_t i = 0; i < b->n; i++) {
    if (b->dead[i]) continue;
    int r = spool_put(c, b->body.p + b->off[i], b->off[i + 1] - b->off[i] - 1, in_flight);
    if (r == -1 || r == -2) { /* keep the rest in memory */
      spool_commit(c);
      count_spooled(c, put);
      return 0;
    }
    b->dead[i] = 1;
    b->alive--;
    if (r == 1) put++;
  }
  spool_commit(c);
  count_spooled(c, put);
  if (in_flight && was_empty) {
    /* the request in flight carries exactly the spool's first `put` records */
    b->from_spool = 1;
    b->spool_records = put;
    b->spool_end = evc_spool_tail(c->spool);
    for (size_t i = 0; i < b->n; i++) b->dead[i] = 0; /* still to be acknowledged */
    b->alive = b->n;
  } else if (!in_flight) {
    batch_reset(b);
  }
  return 1;
}

/* The line encode_ahead made for the event of seq sq, without its '\n': 1 and *p, *n, or 0
 * when that event was not encoded ahead. */
static int pre_line(const evd_client *c, uint64_t sq, const char **p, size_t *n) {
  if (c->pre_n == 0 || sq < c->pre_first_seq || sq >= c->pre_first_seq + c->pre_n) return 0;
  size_t k = (size_t)(sq - c->pre_first_seq);
  *p = c->pre.p + c->pre_off[k];
  *n = c->pre_off[k + 1] - c->pre_off[k] - 1;
  return 1;
}

/* Forget the lines encoded ahead once every one of them has left the queue. */
static void pre_trim(evd_client *c) {
  if (c->pre_n == 0) return;
  pthread_mutex_lock(&c->mu);
  uint64_t head = c->head_seq;
  pthread_mutex_unlock(&c->mu);
  if (c->pre_first_seq + c->pre_n <= head) {
    c->pre_n = 0;
    c->pre.len = 0;
  }
}

/* Move events from the memory queue to the spool: all of them (all=1) or only while the
 * queue is at its high-water mark. */
static void spill(evd_client *c, int all, int in_flight) {
  if (c->batch.n && !c->batch.from_spool) {
    if (!in_flight) {
      if (!spool_mem_batch(c, 0)) return;
    } else if (evc_spool_events(c->spool) == 0) {
      if (!spool_mem_batch(c, 1)) return;
    }
  }
  uint64_t put = 0;
  if (c->has_hold) {
    int r = spool_put(c, c->hold.p, c->hold.len, in_flight);
    if (r == -1 || r == -2) goto out;
    c->has_hold = 0;
    if (r == 1) put++;
  }
  for (;;) {
    pthread_mutex_lock(&c->mu);
    size_t q = c->rcount;
    pthread_mutex_unlock(&c->mu);
    if (q == 0 || (!all && q < c->high_water / 2)) break;
    /* one event at a time: an event the spool cannot take stays in the hold slot, and
       nothing else has been taken out of the queue */
    evd_event *ev;
    uint64_t seq;
    if (ring_take(c, &ev, 1, &seq) != 1) break;
    c->enc.len = 0;
    const char *line;
    size_t linelen;
    int enc_rc = 0;
    if (pre_line(c, seq, &line, &linelen)) /* encoded ahead */
      evc_buf_add(&c->enc, line, linelen);
    else
      enc_rc = evc_event_encode(ev, &c->au, &c->enc);
    if (c->enc.oom) enc_rc = -1;
    evd_event_free(ev);
    if (enc_rc != 0) {
      c->enc.oom = 0;
      pthread_mutex_lock(&c->mu);
      c->st.rejected++;
      snprintf(c->st.last_error, sizeof c->st.last_error, "out of memory encoding an event");
      pthread_mutex_unlock(&c->mu);
      continue;
    }
    int r = spool_put(c, c->enc.p, c->enc.len, in_flight);
    if (r == 1) put++;
    if (r == -1 || r == -2) {
      c->hold.len = 0;
      evc_buf_add(&c->hold, c->enc.p, c->enc.len);
      c->hold_seq = seq;
      c->has_hold = 1;
      goto out;
    }
  }
out:
  spool_commit(c);
  count_spooled(c, put);
  pre_trim(c);
  update_settled(c);
}

/* ---- sending ------------------------------------------------------------------------------ */

static int idle_hook(void *arg) {
  evd_client *c = arg;
  pthread_mutex_lock(&c->mu);
  int closing = c->closing;
  int64_t dl = c->close_deadline;
  size_t q = c->rcount;
  pthread_mutex_unlock(&c->mu);
  if (closing && evc_mono_ns() >= dl) return 1;
  if (c->spool && q >= c->high_water) spill(c, 0, 1);
  return 0;
}

/* Parse `"name":N` in body; returns N or -1. */
static long json_int_member(const char *body, const char *name) {
  const char *p = body ? strstr(body, name) : NULL;
  if (p == NULL) return -1;
  p += strlen(name);
  while (*p == ' ') p++;
  if (*p < '0' || *p > '9') return -1;
  return strtol(p, NULL, 10);
}

/* Mark the events a 400 answer names ("index": i counts live lines in the request) as dead.
 * Returns how many were marked. */
static size_t mark_rejected(evc_batch *b, const char *body, size_t *map) {
  size_t marked = 0;
  const char *p = body ? strstr(body, "\"errors\"") : NULL;
  while (p && (p = strstr(p, "\"index\":")) != NULL) {
    p += 8;
    char *e;
    unsigned long idx = strtoul(p, &e, 10);
    if (e == p) continue;
    p = e;
    if (idx < b->alive && map[idx] != (size_t)-1) {
      size_t line = map[idx];
      if (!b->dead[line]) {
        b->dead[line] = 2; /* rejected */
        marked++;
      }
      map[idx] = (size_t)-1;
    }
  }
  return marked;
}

/* One request with the given lines (dead ones skipped). Returns the HTTP status, or -1
 * (transport failure, err set), -2 (aborted). */
static int post_lines(evd_client *c, const size_t *lines, size_t n, evc_http_resp *resp) {
  evc_batch *b = &c->batch;
  const char *body;
  size_t len;
  if (n == b->n && b->alive == b->n) {
    body = b->body.p;
    len = b->body.len;
  } else {
    c->enc.len = 0;
    for (size_t i = 0; i < n; i++)
      evc_buf_add(&c->enc, b->body.p + b->off[lines[i]], b->off[lines[i] + 1] - b->off[lines[i]]);
    if (c->enc.oom) {
      c->enc.oom = 0;
      snprintf(c->errbuf, sizeof c->errbuf, "out of memory building a request");
      return -1;
    }
    body = c->enc.p;
    len = c->enc.len;
  }
  pthread_mutex_lock(&c->mu);
  c->st.requests++;
  pthread_mutex_unlock(&c->mu);
  if (c->fwd) {
    int r = evc_fwd_send(c->fwd, body, len, n, idle_hook, c, c->errbuf, sizeof c->errbuf);
    if (r == 0) {
      resp->status = 200;
      resp->body.len = 0;
      return 200;
    }
    return idle_hook(c) ? -2 : -1;
  }
  if (evc_http_post(c->http, body, len, idle_hook, c, resp, c->errbuf, sizeof c->errbuf) != 0) {
    pthread_mutex_lock(&c->mu);
    int abort_now = c->closing && evc_mono_ns() >= c->close_deadline;
    pthread_mutex_unlock(&c->mu);
    return abort_now ? -2 : -1;
  }
  return resp->status;
}

static void count_delivered(evd_client *c, size_t n, long dups) {
  pthread_mutex_lock(&c->mu);
  c->st.delivered += n;
  if (dups > 0) c->st.duplicates += (uint64_t)dups;
  c->st.connected = 1;
  pthread_mutex_unlock(&c->mu);
}

static void count_rejected(evd_client *c, size_t n, int status, const char *body) {
  pthread_mutex_lock(&c->mu);
  c->st.rejected += n;
  snprintf(c->st.last_error, sizeof c->st.last_error, "eventd refused %zu event(s): HTTP %d %.180s",
           n, status, body ? body : "");
  pthread_mutex_unlock(&c->mu);
}

/* Send the batch's live lines. Returns SEND_OK (every line acknowledged or refused),
 * SEND_FAIL or SEND_ABORT. */
static int send_batch(evd_client *c) {
  evc_batch *b = &c->batch;
  evc_http_resp resp = {0};
  size_t *lines = malloc((b->n + 1) * sizeof *lines);
  if (lines == NULL) {
    snprintf(c->errbuf, sizeof c->errbuf, "out of memory");
    return SEND_FAIL;
  }
  int result = SEND_FAIL;
  for (int round = 0; round < 100 && b->alive > 0; round++) {
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
      if (!b->dead[i]) lines[n++] = i;
    int st = post_lines(c, lines, n, &resp);
    if (st == -2) {
      result = SEND_ABORT;
      goto out;
    }
    if (st < 0) goto out;
    if (st == 200) {
      count_delivered(c, n, json_int_member(resp.body.p, "\"duplicates\":"));
      for (size_t i = 0; i < n; i++) b->dead[lines[i]] = 1;
      b->alive = 0;
      break;
    }
    if (st == 400 || st == 413) {
      size_t marked = st == 400 ? mark_rejected(b, resp.body.p, lines) : 0;
      if (marked) {
        b->alive -= marked;
        count_rejected(c, marked, st, resp.body.p);
        continue; /* send the rest again */
      }
      /* 413: later batches are made smaller (half this body), so that one oversized
         request does not make every following batch go event by event */
      if (st == 413) {
        size_t body = 0;
        for (size_t k = 0; k < n; k++) body += b->off[lines[k] + 1] - b->off[lines[k]];
        if (body / 2 >= 1024 && body / 2 < c->batch_bytes) c->batch_bytes = (unsigned)(body / 2);
      }
      /* nothing named: each event alone */
      for (size_t k = 0; k < n; k++) {
        size_t one = lines[k];
        int s1 = post_lines(c, &one, 1, &resp);
        if (s1 == -2) {
          result = SEND_ABORT;
          goto out;
        }
        if (s1 < 0) goto out;
        if (s1 == 200) {
          count_delivered(c, 1, json_int_member(resp.body.p, "\"duplicates\":"));
        } else if (s1 == 400 || s1 == 413) {
          count_rejected(c, 1, s1, resp.body.p);
        } else {
          snprintf(c->errbuf, sizeof c->errbuf, "HTTP %d from eventd: %.180s", s1,
                   resp.body.p ? resp.body.p : "");
          goto out;
        }
        b->dead[one] = 1;
        b->alive--;
      }
      continue;
    }
    snprintf(c->errbuf, sizeof c->errbuf, "HTTP %d from eventd: %.180s", st,
             resp.body.p ? resp.body.p : "");
    goto out;
  }
  result = b->alive == 0 ? SEND_OK : SEND_FAIL;
out:
  free(lines);
  evc_buf_free(&resp.body);
  return result;
}

/* ---- the loop ----------------------------------------------------------------------------- */

/* The sent hook of the HTTP client: while eventd works on the request just sent, encode the
 * events queued behind it (at most batch_max lines ahead), leaving them in the queue. Only
 * the worker takes events out of the queue, except evd_emit under drop_oldest, which can free
 * the queue's head at any time: that policy does not encode ahead. Returns 0. */
static int encode_ahead(void *arg) {
  evd_client *c = arg;
  if (c->overflow == EVD_OVERFLOW_DROP_OLDEST) return 0;
  pthread_mutex_lock(&c->mu);
  uint64_t head = c->head_seq;
  size_t q = c->rcount, rhead = c->rhead;
  pthread_mutex_unlock(&c->mu);
  if (c->pre_n && c->pre_first_seq + c->pre_n <= head) c->pre_n = 0; /* all taken since */
  if (c->pre_n == 0) {
    c->pre.len = 0;
    c->pre_first_seq = head;
  }
  uint64_t next = c->pre_first_seq + c->pre_n; /* >= head: the cache starts at or before it */
  while (c->pre_n < c->batch_max && next < head + q) {
    if (c->pre_n + 2 > c->pre_cap) {
      size_t nc = c->pre_cap ? c->pre_cap * 2 : 1024;
      size_t *no = realloc(c->pre_off, nc * sizeof *no);
      if (no == NULL) break;
      c->pre_off = no;
      c->pre_cap = nc;
    }
    if (c->pre_n == 0) c->pre_off[0] = 0;
    const evd_event *ev = c->ring[(rhead + (size_t)(next - head)) % c->qmax];
    if (evc_event_encode(ev, &c->au, &c->pre) == 0) evc_buf_addc(&c->pre, '\n');
    if (c->pre.oom) { /* stop here; those events are encoded when taken */
      c->pre.oom = 0;
      c->pre.len = c->pre_off[c->pre_n];
      break;
    }
    c->pre_n++;
    c->pre_off[c->pre_n] = c->pre.len;
    next++;
  }
  return 0;
}

/* Take a batch from memory: up to batch_max events / batch_bytes. */
static void take_mem_batch(evd_client *c) {
  evd_event *evs[256];
  evc_batch *b = &c->batch;
  batch_reset(b);
  while (b->n < c->batch_max && b->body.len < c->batch_bytes) {
    size_t want = c->batch_max - b->n;
    if (want > 256) want = 256;
    uint64_t seq;
    size_t n = ring_take(c, evs, want, &seq);
    if (n == 0) break;
    if (b->n == 0) b->first_seq = seq;
    for (size_t i = 0; i < n; i++) {
      const char *line;
      size_t linelen;
      int ok = pre_line(c, seq + i, &line, &linelen) /* encoded ahead: copy the line */
                   ? batch_add(b, line, linelen) == 0
                   : batch_add_event(b, evs[i], &c->au) == 0;
      evd_event_free(evs[i]);
      if (!ok) {
        c->enc.oom = 0;
        pthread_mutex_lock(&c->mu);
        c->st.rejected++;
        snprintf(c->st.last_error, sizeof c->st.last_error, "out of memory encoding an event");
        pthread_mutex_unlock(&c->mu);
        /* keep the line numbering consistent with seqs: an empty slot is not needed since
           settled_seq uses first_seq only */
      }
    }
  }
  pre_trim(c);
  update_settled(c);
}

static void take_spool_batch(evd_client *c) {
  evc_batch *b = &c->batch;
  batch_reset(b);
  evc_spos end;
  long n = evc_spool_read_head(c->spool, c->batch_max, c->batch_bytes, batch_add_cb, b, &end);
  if (n < 0) {
    set_error(c, evc_spool_error(c->spool));
    batch_reset(b);
    return;
  }
  if (n == 0) return;
  b->from_spool = 1;
  b->spool_records = (uint64_t)n;
  b->spool_end = end;
}

static void after_success(evd_client *c) {
  evc_batch *b = &c->batch;
  if (b->from_spool) {
    if (evc_spool_ack(c->spool, b->spool_end, b->spool_records) != 0)
      set_error(c, evc_spool_error(c->spool));
  }
  batch_reset(b);
  c->backoff_ms = 0;
  c->next_attempt = 0;
  update_settled(c);
}

static void after_failure(evd_client *c) {
  pthread_mutex_lock(&c->mu);
  c->st.request_failures++;
  c->st.connected = 0;
  snprintf(c->st.last_error, sizeof c->st.last_error, "%s", c->errbuf);
  pthread_mutex_unlock(&c->mu);
  c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : c->retry_min_ms;
  if (c->backoff_ms > c->retry_max_ms) c->backoff_ms = c->retry_max_ms;
  /* jitter: 50..100 % of the delay */
  uint64_t half = c->backoff_ms / 2;
  uint64_t delay = half + (half ? evc_random() % (half + 1) : 0);
  c->next_attempt = evc_mono_ns() + (int64_t)delay * 1000000;
  if (c->spool && !c->batch.from_spool && c->batch.n) spool_mem_batch(c, 0);
  update_settled(c);
}

/* The shutdown step: what is left in memory goes to the spool, or is counted as lost. */
static void drain_at_close(evd_client *c) {
  if (c->spool) {
    if (c->batch.n && !c->batch.from_spool) spool_mem_batch(c, 0);
    spill(c, 1, 0);
  }
  uint64_t lost = 0;
  if (c->batch.n && !c->batch.from_spool) lost += c->batch.alive;
  if (c->has_hold) lost++;
  pthread_mutex_lock(&c->mu);
  lost += c->rcount;
  c->lost_at_close = lost;
  pthread_mutex_unlock(&c->mu);
}

void *evc_worker_main(void *arg) {
  evd_client *c = arg;
  const int64_t MS = 1000000;
  if (c->http) evc_http_set_sent_hook(c->http, encode_ahead, c);
  for (;;) {
    int64_t now = evc_mono_ns();
    pthread_mutex_lock(&c->mu);
    int closing = c->closing;
    int64_t close_dl = c->close_deadline;
    size_t q = c->rcount;
    int64_t oldest = q ? c->ring[c->rhead]->enqueue_mono_ns : 0;
    int flush = c->flush_seq > c->head_seq;
    pthread_mutex_unlock(&c->mu);
    if (closing && now >= close_dl) break;

    if (!closing && now >= c->next_metrics) {
      evc_metrics_flush(c);
      c->next_metrics = now + (int64_t)c->metrics_ms * MS;
      continue;
    }
    int due = q >= c->batch_max || (q && (now - oldest >= (int64_t)c->interval_ms * MS || flush ||
                                          closing));
    if (c->spool) {
      int spooling = c->spool_mode == EVD_SPOOL_ALWAYS || evc_spool_events(c->spool) > 0 ||
                     c->has_hold || q >= c->high_water;
      if (spooling && (due || q >= c->high_water || c->has_hold)) spill(c, 1, 0);
    }
    if (c->batch.n == 0) {
      if (c->spool && evc_spool_events(c->spool) > 0) {
        /* committed records only: spill committed what it appended */
        take_spool_batch(c);
      } else if (due && !(c->spool && c->spool_mode == EVD_SPOOL_ALWAYS)) {
        take_mem_batch(c);
      }
    }
    now = evc_mono_ns();
    if (c->batch.n && now >= c->next_attempt) {
      if (c->batch.attempts++ > 0) {
        pthread_mutex_lock(&c->mu);
        c->st.retries++;
        pthread_mutex_unlock(&c->mu);
      }
      int r = send_batch(c);
      if (r == SEND_OK) after_success(c);
      else if (r == SEND_ABORT) break;
      else after_failure(c);
      continue;
    }

    /* nothing to do now: sleep until the next deadline or a wakeup */
    pthread_mutex_lock(&c->mu);
    q = c->rcount;
    oldest = q ? c->ring[c->rhead]->enqueue_mono_ns : 0;
    flush = c->flush_seq > c->head_seq;
    closing = c->closing;
    int64_t wake_at = now + 1000 * MS;
    if (c->batch.n && c->next_attempt < wake_at) wake_at = c->next_attempt;
    /* the queue's deadline matters only if the worker can act on it: spill it (a spool
       that is not full under the block policy) or take a batch (none pending) */
    int mem_batch = c->batch.n && !c->batch.from_spool; /* only there when the spool could
                                                            not take it (full, block) */
    int can_take = c->spool ? !c->has_hold && !mem_batch : !c->batch.n;
    if (q && can_take) {
      int64_t t = oldest + (int64_t)c->interval_ms * MS;
      if ((flush || closing || q >= c->batch_max) && !c->batch.n) t = now;
      if (t < wake_at) wake_at = t;
    }
    if (!closing && c->next_metrics < wake_at) wake_at = c->next_metrics;
    if (closing) {
      if (c->batch.n == 0 && q == 0 && !c->has_hold &&
          (!c->spool || evc_spool_events(c->spool) == 0)) {
        pthread_mutex_unlock(&c->mu);
        break;
      }
      if (close_dl < wake_at) wake_at = close_dl;
    }
    if (wake_at <= now) {
      pthread_mutex_unlock(&c->mu);
      continue;
    }
    c->sleeping = 1;
    c->wake_pending = q >= c->batch_max || q >= c->high_water;
    pthread_mutex_unlock(&c->mu);
    struct pollfd p = {.fd = c->wakefd, .events = POLLIN};
    int64_t ms = (wake_at - now + MS - 1) / MS;
    (void)poll(&p, 1, (int)ms);
    uint64_t v;
    if (read(c->wakefd, &v, sizeof v) < 0) { /* EAGAIN: timeout, nothing to read */
    }
    pthread_mutex_lock(&c->mu);
    c->sleeping = 0;
    pthread_mutex_unlock(&c->mu);
  }
  drain_at_close(c);
  update_settled(c);
  return NULL;
}
