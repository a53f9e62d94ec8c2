#!/usr/bin/python3
"""Crash test for eventd: kill -9 under concurrent ingest, restart, verify.

What it proves (the "never silently drops an event" promise, for process crashes):

  * Durability of acknowledgements: every event whose POST /v1/events answered 200 is
    still stored after any number of kill -9's at random moments (during ingest, during
    group commit, during recovery right after a restart), with the id the 200 reported.
  * Atomicity of refusals/crashes: no event is stored twice. An event whose request died
    with the daemon (no answer) may be stored once or not at all, never twice; a request
    that was refused (503) stores nothing.
  * Idempotency keys survive crashes: events sent with a client id and sent again after
    a restart (both requests whose fate was unknown and ones already acknowledged) are
    acknowledged with the same id and stored once; resending acknowledged ones reports
    them all as duplicates.
  * Recovery is clean: the daemon restarts on the same data dir every time; its stderr
    may report truncating a torn tail, never corruption; the ids are unique; the
    count endpoint agrees with what a full cursor walk returns; order=asc is ordered by
    time; GET /v1/events/{id} finds acknowledged events.

It does not prove durability against power loss (the page cache survives kill -9); that
depends on fdatasync, which the store's own tests and sync policy cover.

Usage: kill9_driver.py --eventd PATH [--kills N] [--senders N] [--seed S] [--keep]
Exit status 0 when every check held, 1 on any violation (each one printed), 2 when the
test could not run (daemon does not start).
"""

import argparse
import collections
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

LISTEN_RE = re.compile(r"eventd: listening on http://([0-9.]+):([0-9]+)")
CORRUPT_RE = re.compile(r"corrupt", re.I)
BENIGN_CORRUPT_RE = re.compile(r"\b(no|not|0|zero)\b[^.]*corrupt", re.I)
TRUNCATE_RE = re.compile(r"truncat|torn tail|bytes cut|cut [0-9]+ bytes", re.I)
SANITIZER_RE = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|Assertion .* failed|EVD_ASSERT", re.I)

STARTUP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 20.0


class Violations:
    """Thread-safe list of broken promises."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, msg):
        with self.lock:
            if len(self.items) < 1000:
                self.items.append(msg)
            print("VIOLATION: " + msg, file=sys.stderr, flush=True)


class Daemon:
    """One eventd process at a time on a fixed data dir; restarts get a new port."""

    def __init__(self, binary, data_dir, log_dir, extra_args):
        self.binary = binary
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.extra_args = extra_args
        self.proc = None
        self.runs = 0
        self.port = None
        self.generation = 0
        self.cond = threading.Condition()
        self.stderr_lines = []  # (run, line) over all runs
        self.reader = None

    def _read_stderr(self, proc, run, ready):
        with open(os.path.join(self.log_dir, "eventd-run%03d.stderr" % run), "w") as log:
            for raw in proc.stderr:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                log.write(line + "\n")
                log.flush()
                self.stderr_lines.append((run, line))
                m = LISTEN_RE.search(line)
                if m and not ready.is_set():
                    with self.cond:
                        self.port = int(m.group(2))
                        self.generation += 1
                        self.cond.notify_all()
                    ready.set()

    def start(self):
        """Start eventd and wait for its "listening" line. Returns None or an error text."""
        self.runs += 1
        run = self.runs
        ready = threading.Event()
        args = [self.binary, "--data-dir", self.data_dir, "--http", "127.0.0.1:0", "--grpc", "off"] + self.extra_args
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read_stderr, args=(self.proc, run, ready),
                                       daemon=True)
        self.reader.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if ready.wait(0.05):
                return None
            if self.proc.poll() is not None:
                self.reader.join(2)
                tail = [l for r, l in self.stderr_lines if r == run][-20:]
                return "eventd exited with status %s during start (run %d):\n  %s" % (
                    self.proc.returncode, run, "\n  ".join(tail))
        self.kill9()
        return "eventd did not print its listening line within %.0f s (run %d)" % (STARTUP_TIMEOUT_S, run)

    def spawn_and_kill_early(self, delay):
        """Start eventd and kill -9 it after delay seconds, listening or not (a crash during
        recovery)."""
        self.runs += 1
        run = self.runs
        args = [self.binary, "--data-dir", self.data_dir, "--http", "127.0.0.1:0", "--grpc", "off"] + self.extra_args
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read_stderr,
                                       args=(self.proc, run, threading.Event()), daemon=True)
        self.reader.start()
        time.sleep(delay)
        self.kill9()

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc:
            self.proc.wait()
            self.reader.join(5)

    def stop(self):
        """SIGTERM and wait; returns the exit status (None if it had to be killed)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill9()
            return None
        self.reader.join(5)
        return rc

    def current(self):
        with self.cond:
            return self.port, self.generation


class Request:
    """One POST /v1/events: its body and what it carries."""

    def __init__(self, body, ctype, events, markers, resend_of_acked=False):
        self.body = body
        self.ctype = ctype
        self.events = events          # the event dicts, in order
        self.markers = markers        # (w, n) per event
        self.all_ids = all("id" in e for e in events)
        self.resend_of_acked = resend_of_acked


class Sender(threading.Thread):
    """Sends batches of marked events until told to stop; records what was acknowledged."""

    def __init__(self, w, daemon, violations, stop, seed):
        super().__init__(daemon=True)
        self.w = w
        self.d = daemon
        self.v = violations
        self.stop_flag = stop
        self.rng = random.Random(seed * 1000 + w)
        self.n = 0
        self.conn = None
        self.conn_port = None
        self.acked = {}            # marker -> id
        self.acked_run = {}        # marker -> daemon run that acknowledged it (diagnostics)
        self.uncertain = set()     # markers whose request got no answer (not resent)
        self.refused = set()       # markers of requests refused with a non-503 error
        self.acked_with_id = []    # (marker, event) of acknowledged events with a client id
        self.stats = collections.Counter()

    # -- building requests -------------------------------------------------------------

    def _new_event(self, with_id):
        n = self.n
        self.n += 1
        ev = {"type": "crash.test", "stream": "crash", "source": "sender-%d" % self.w,
              "message": "w%d n%d" % (self.w, n), "data": {"w": self.w, "n": n}}
        if with_id:
            ev = {"id": "crash-w%d-n%d" % (self.w, n), **ev}
        return ev

    def _new_request(self):
        rng = self.rng
        size = rng.choice([1, 1, 1, 2, 3, 5, 10, 20, 50, 100, 200])
        id_mode = rng.random()
        events = []
        for _ in range(size):
            with_id = id_mode < 0.3 or (id_mode < 0.4 and rng.random() < 0.5)
            events.append(self._new_event(with_id))
        markers = [(e["data"]["w"], e["data"]["n"]) for e in events]
        kind = rng.random()
        if size == 1 and kind < 0.5:
            return Request(json.dumps(events[0]), "application/json", events, markers)
        if kind < 0.3:
            return Request(json.dumps(events), "application/json", events, markers)
        body = "\n".join(json.dumps(e) for e in events) + "\n"
        return Request(body, "application/x-ndjson", events, markers)

    def _resend_request(self):
        k = min(len(self.acked_with_id), self.rng.choice([1, 3, 10, 20]))
        picked = self.rng.sample(self.acked_with_id, k)
        events = [e for _, e in picked]
        markers = [m for m, _ in picked]
        body = "\n".join(json.dumps(e) for e in events) + "\n"
        return Request(body, "application/x-ndjson", events, markers, resend_of_acked=True)

    # -- sending -----------------------------------------------------------------------

    def _close(self):
        if self.conn:
            self.conn.close()
        self.conn = None

    def _connect(self):
        """Open a connection to the current daemon. Returns True, or False (nothing sent)."""
        port, _ = self.d.current()
        if self.conn and self.conn_port == port:
            return True
        self._close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        try:
            conn.connect()
        except OSError:
            conn.close()
            return False
        self.conn, self.conn_port = conn, port
        return True

    def _send(self, req):
        """Send req until it is answered (or, when unsafe to repeat, until its fate is unknown)."""
        while True:
            if self.stop_flag.is_set() and self.d.proc.poll() is not None:
                # daemon gone for good while stopping: the fate of this request is unknown
                self._mark_unknown(req)
                return
            if not self._connect():
                self.stats["connect_refused"] += 1
                time.sleep(0.02)
                continue  # nothing was sent: safe to try again
            try:
                self.conn.request("POST", "/v1/events", body=req.body.encode(),
                                  headers={"Content-Type": req.ctype})
                resp = self.conn.getresponse()
                data = resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                self._close()
                self.stats["no_answer"] += 1
                if req.all_ids:
                    self.stats["resent_after_no_answer"] += 1
                    time.sleep(0.02)
                    continue  # client ids: repeating is safe and must not duplicate
                self._mark_unknown(req)
                return
            if status == 503:
                self.stats["busy_503"] += 1
                time.sleep(0.05)
                continue  # refused as a whole: nothing stored, send again
            if status != 200:
                self.v.add("sender %d: HTTP %d for a valid request: %s" % (self.w, status, data[:300]))
                self.refused.update(req.markers)
                return
            self._record_ack(req, data)
            return

    def _mark_unknown(self, req):
        for m in req.markers:
            if m not in self.acked:
                self.uncertain.add(m)

    def _record_ack(self, req, data):
        try:
            ans = json.loads(data)
            ids = ans["ids"]
        except (ValueError, KeyError, TypeError):
            self.v.add("sender %d: 200 without ids: %r" % (self.w, data[:300]))
            return
        if len(ids) != len(req.events):
            self.v.add("sender %d: %d events acknowledged with %d ids" % (self.w, len(req.events), len(ids)))
            return
        if req.resend_of_acked:
            self.stats["acked_resent"] += len(ids)
            if ans.get("duplicates") != len(ids):
                self.v.add("sender %d: resent %d acknowledged events with client ids, eventd reported "
                           "%r duplicates (expected all)" % (self.w, len(ids), ans.get("duplicates")))
        for ev, m, i in zip(req.events, req.markers, ids):
            if "id" in ev and i != ev["id"]:
                self.v.add("sender %d: event with client id %s acknowledged as %s" % (self.w, ev["id"], i))
            prev = self.acked.get(m)
            if prev is not None and prev != i:
                self.v.add("sender %d: marker %s acknowledged as %s and later as %s" % (self.w, m, prev, i))
            if prev is None:
                self.acked[m] = i
                self.acked_run[m] = self.d.runs
                self.uncertain.discard(m)
                if "id" in ev:
                    self.acked_with_id.append((m, ev))
        self.stats["requests_acked"] += 1

    def run(self):
        try:
            self._run()
        except Exception:  # a bug in the driver must fail the test, not end it quietly
            import traceback
            self.v.add("sender %d crashed:\n%s" % (self.w, traceback.format_exc()))

    def _run(self):
        while not self.stop_flag.is_set():
            if self.acked_with_id and self.d.generation > 1 and self.rng.random() < 0.05:
                req = self._resend_request()
            else:
                req = self._new_request()
            self._send(req)
            time.sleep(self.rng.uniform(0.0, 0.02))
        self._close()


def http_get_json(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, body
    finally:
        conn.close()


def read_all_events(port, violations):
    """Walk GET /v1/events?order=asc with cursors. Returns the list of events."""
    events = []
    cursor = None
    pages = 0
    while True:
        path = "/v1/events?order=asc&limit=10000"
        if cursor:
            path += "&cursor=" + urllib.parse.quote(cursor, safe="")
        status, body = http_get_json(port, path)
        if status != 200:
            violations.add("GET %s answered %d: %s" % (path[:120], status, body[:300]))
            return events
        ans = json.loads(body)
        events.extend(ans["events"])
        pages += 1
        cursor = ans.get("next")
        if not cursor:
            return events
        if pages > 100000:
            violations.add("cursor walk does not end")
            return events


def verify(port, senders, violations):
    events = read_all_events(port, violations)
    status, body = http_get_json(port, "/v1/events/count")
    count = json.loads(body).get("count") if status == 200 else None
    if count != len(events):
        violations.add("count endpoint says %r, cursor walk returned %d events" % (count, len(events)))

    ids = collections.Counter(e.get("id") for e in events)
    for i, c in ids.items():
        if c > 1:
            violations.add("id %s stored %d times" % (i, c))

    last_time = ""
    for e in events:
        t = e.get("time", "")
        if t < last_time:
            violations.add("order=asc not ordered by time: %s after %s" % (t, last_time))
            break
        last_time = t

    acked, uncertain, refused = {}, set(), set()
    for s in senders:
        acked.update(s.acked)
        uncertain |= s.uncertain
        refused |= s.refused

    stored = collections.defaultdict(list)  # marker -> ids
    for e in events:
        d = e.get("data") or {}
        if e.get("stream") != "crash" or "w" not in d or "n" not in d:
            violations.add("unexpected stored event: %s" % json.dumps(e)[:300])
            continue
        stored[(d["w"], d["n"])].append(e.get("id"))

    for m, sids in stored.items():
        if len(sids) > 1:
            violations.add("marker w%d n%d stored %d times (ids %s)" % (m[0], m[1], len(sids), ", ".join(sids[:5])))
        if m not in acked and m not in uncertain:
            violations.add("marker w%d n%d stored but its request was %s" % (
                m[0], m[1], "refused" if m in refused else "never sent/acknowledged"))
    acked_run = {}
    for s in senders:
        acked_run.update(s.acked_run)
    missing = 0
    missing_by_run = collections.Counter()
    acked_by_run = collections.Counter(acked_run.values())
    for m, i in acked.items():
        sids = stored.get(m)
        if not sids:
            missing += 1
            missing_by_run[acked_run.get(m)] += 1
            if missing <= 20:
                violations.add("acknowledged marker w%d n%d (id %s) is not stored" % (m[0], m[1], i))
        elif sids[0] != i:
            violations.add("acknowledged marker w%d n%d has id %s but is stored as %s" % (m[0], m[1], i, sids[0]))
    if missing > 20:
        violations.add("... %d acknowledged markers missing in all" % missing)
    for run in sorted(missing_by_run):
        violations.add("%d of the %d events acknowledged by daemon run %d are missing "
                       "(logs: eventd-run%03d.stderr and the next runs')" % (
                           missing_by_run[run], acked_by_run[run], run, run))

    # point lookups of a sample of acknowledged ids
    sample = random.Random(7).sample(sorted(acked.items()), min(50, len(acked)))
    for m, i in sample:
        st, body = http_get_json(port, "/v1/events/" + urllib.parse.quote(i, safe=""))
        if st != 200:
            violations.add("GET /v1/events/%s answered %d" % (i, st))
            continue
        d = json.loads(body).get("data") or {}
        if (d.get("w"), d.get("n")) != m:
            violations.add("GET /v1/events/%s returned marker %r, expected %r" % (i, d, m))
    return events, count, acked, uncertain, stored


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eventd", required=True)
    ap.add_argument("--kills", type=int, default=25)
    ap.add_argument("--senders", type=int, default=4)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    ap.add_argument("--daemon-arg", action="append", default=[],
                    help="extra eventd argument (repeatable), e.g. --daemon-arg=--sync=batch")
    args = ap.parse_args()

    if not os.access(args.eventd, os.X_OK):
        print("crash test: eventd binary %s not found" % args.eventd, file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="evd-crash-")
    data_dir = os.path.join(work, "data")
    os.mkdir(data_dir)
    rng = random.Random(args.seed)
    print("crash test: seed %d, %d kills, %d senders, work dir %s" % (args.seed, args.kills, args.senders, work),
          flush=True)
    violations = Violations()
    d = Daemon(args.eventd, data_dir, work, args.daemon_arg)
    err = d.start()
    if err:
        print("crash test: " + err, file=sys.stderr)
        return 2
    stop = threading.Event()
    senders = [Sender(w, d, violations, stop, args.seed) for w in range(args.senders)]
    for s in senders:
        s.start()

    t0 = time.monotonic()
    kills = 0
    early_kills = 0
    start_error = None
    for k in range(args.kills):
        time.sleep(rng.uniform(0.05, 1.5))
        d.kill9()
        kills += 1
        if rng.random() < 0.15:  # sometimes crash again while recovering
            d.spawn_and_kill_early(rng.uniform(0.0, 0.05))
            early_kills += 1
        start_error = d.start()
        if start_error:
            break
        acked_now = sum(len(s.acked) for s in senders)
        print("crash test: kill %d/%d done, %d events acknowledged so far" % (kills, args.kills, acked_now),
              flush=True)
    if not start_error:
        time.sleep(rng.uniform(0.2, 0.5))  # some ingest after the last restart
    stop.set()
    for s in senders:
        s.join(60)
        if s.is_alive():
            violations.add("sender %d did not finish within 60 s" % s.w)
    if start_error:
        violations.add("restart after kill %d failed: %s" % (kills, start_error))
        d.kill9()
    else:
        rc = d.stop()
        if rc != 0:
            violations.add("eventd exited with status %r on SIGTERM (expected 0)" % rc)
        start_error = d.start()  # a clean start on the final data
        if start_error:
            violations.add("restart after the clean stop failed: %s" % start_error)

    events, count, acked, uncertain, stored = [], None, {}, set(), {}
    if not start_error:
        port, _ = d.current()
        events, count, acked, uncertain, stored = verify(port, senders, violations)
        rc = d.stop()
        if rc != 0:
            violations.add("eventd exited with status %r on the final SIGTERM" % rc)

    truncations = []
    for run, line in d.stderr_lines:
        if SANITIZER_RE.search(line):
            violations.add("eventd run %d: %s" % (run, line))
        if CORRUPT_RE.search(line) and not BENIGN_CORRUPT_RE.search(line):
            violations.add("eventd run %d reported corruption: %s" % (run, line))
        elif TRUNCATE_RE.search(line):
            truncations.append((run, line))

    stats = collections.Counter()
    for s in senders:
        stats.update(s.stats)
    uncertain_stored = sum(1 for m in uncertain if m in stored)
    print("crash test summary (seed %d, %.1f s):" % (args.seed, time.monotonic() - t0))
    print("  kills: %d under load + %d during recovery, daemon runs: %d" % (kills, early_kills, d.runs))
    print("  events acknowledged: %d (%d requests; %d acknowledged client-id events resent, %d requests "
          "resent after no answer)" % (len(acked), stats["requests_acked"], stats["acked_resent"],
                                       stats["resent_after_no_answer"]))
    print("  events without answer: %d (%d of them stored)" % (len(uncertain), uncertain_stored))
    print("  events stored: %d (count endpoint: %r)" % (len(events), count))
    print("  requests without answer: %d, refused connections: %d, 503 answers: %d" % (
        stats["no_answer"], stats["connect_refused"], stats["busy_503"]))
    print("  recovery messages mentioning truncation: %d" % len(truncations))
    for run, line in truncations[:5]:
        print("    run %d: %s" % (run, line))
    if len(acked) < 100:
        violations.add("only %d events were acknowledged: the test exercised too little" % len(acked))
    if violations.items:
        print("crash test: FAILED with %d violations (logs kept in %s)" % (len(violations.items), work))
        for v in violations.items[:50]:
            print("  - " + v)
        return 1
    print("crash test: PASSED")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
