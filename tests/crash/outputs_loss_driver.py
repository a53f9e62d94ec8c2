#!/usr/bin/python3
"""Loss test of the outputs (issue 4): while events are ingested, the webhook receiver is
taken down and up several times and eventd is killed with SIGKILL several times; at the end
every acknowledged event (POST /v1/events answered 200) must have reached the receiver at
least once. Duplicates are allowed (at-least-once) and counted.

The receiver is a small Python HTTP server started as its own process (so it can be
killed); it appends the id of every event it receives to a file *before* answering 200, so
what eventd saw confirmed is on disk. With --dest file the destination is a file output
instead (eventd kills only).

Usage: outputs_loss_driver.py --eventd PATH [--duration S] [--kills N] [--outages N]
                              [--dest webhook|file] [--keep]
Exit status 0 when nothing acknowledged was lost, 1 otherwise, 2 when the test could not
run. Prints one summary line: acked, received, unique, duplicates, kills, outages.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

RECEIVER = r'''
import http.server, json, os, sys
path = sys.argv[2]
out = open(path, "a")
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        try:
            v = json.loads(body)
        except Exception:
            self.send_response(400); self.send_header("Content-Length", "0"); self.end_headers()
            return
        evs = v if isinstance(v, list) else [v]
        out.write("".join(e["id"] + "\n" for e in evs))
        out.flush()
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    def handle_error(self, request, client_address):
        pass  # eventd killed mid-request: expected here
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(method, url, body=None, timeout=5):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Daemon:
    def __init__(self, exe, data, port, log):
        self.exe, self.data, self.port, self.log = exe, data, port, log
        self.proc = None

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [self.exe, "--data-dir", self.data, "--http", "127.0.0.1:%d" % self.port,
             "--grpc", "off", "--set", "outputs.retry_base=20ms", "--set",
             "outputs.retry_cap=300ms"], stderr=logf, stdout=subprocess.DEVNULL)
        for _ in range(200):
            try:
                if http("GET", "http://127.0.0.1:%d/healthz" % self.port, timeout=1)[0] == 200:
                    return
            except Exception:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit("eventd did not start; see %s" % self.log)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def term(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eventd", required=True)
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--outages", type=int, default=3)
    ap.add_argument("--dest", default="webhook", choices=["webhook", "file"])
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    tmp = tempfile.mkdtemp(prefix="evd-outputs-loss-")
    eport, rport = free_port(), free_port()
    base = "http://127.0.0.1:%d" % eport
    ids_path = os.path.join(tmp, "received.txt")
    rscript = os.path.join(tmp, "receiver.py")
    with open(rscript, "w") as f:
        f.write(RECEIVER)
    d = Daemon(a.eventd, os.path.join(tmp, "data"), eport, os.path.join(tmp, "eventd.log"))
    receiver = [None]

    def receiver_up():
        receiver[0] = subprocess.Popen([sys.executable, rscript, str(rport), ids_path])
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", rport), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)

    def receiver_down():
        receiver[0].send_signal(signal.SIGKILL)
        receiver[0].wait()

    d.start()
    if a.dest == "webhook":
        receiver_up()
        spec = {"name": "loss", "type": "webhook", "url": "http://127.0.0.1:%d/in" % rport,
                "batch": 50, "timeout_ms": 2000}
    else:
        spec = {"name": "loss", "type": "file", "path": ids_path + ".jsonl"}
    st, body = http("POST", base + "/v1/outputs", spec)
    if st != 201:
        print("cannot create the output: %s %s" % (st, body))
        return 2

    acked = []
    stop = threading.Event()
    counter = [0]

    def sender():
        while not stop.is_set():
            evs = []
            for _ in range(20):
                counter[0] += 1
                evs.append({"id": "loss-%d" % counter[0], "stream": "loss", "type": "tick",
                            "message": "n%d" % counter[0]})
            try:
                st, body = http("POST", base + "/v1/events", evs, timeout=5)
                if st == 200:
                    acked.extend(e["id"] for e in evs)
                else:
                    time.sleep(0.05)
            except Exception:
                time.sleep(0.05)

    th = threading.Thread(target=sender)
    th.start()
    events = ["kill"] * a.kills + (["outage"] * a.outages if a.dest == "webhook" else [])
    rnd.shuffle(events)
    gap = a.duration / (len(events) + 1)
    kills = outages = 0
    for ev in events:
        time.sleep(gap * rnd.uniform(0.5, 1.5))
        if ev == "kill":
            d.kill9()
            kills += 1
            time.sleep(rnd.uniform(0.1, 0.5))
            d.start()
        else:
            receiver_down()
            outages += 1
            time.sleep(rnd.uniform(0.5, 2.0))
            receiver_up()
    time.sleep(gap)
    stop.set()
    th.join()

    # Let the output catch up.
    deadline = time.time() + 90
    status = None
    while time.time() < deadline:
        st, body = http("GET", base + "/v1/outputs/loss")
        if st == 200:
            status = body["status"]
            if status["lag_events"] == 0 and status["in_flight"] == 0:
                break
        time.sleep(0.2)
    time.sleep(0.3)
    rc = d.term()

    if a.dest == "webhook":
        receiver_down()
        received = [l.strip() for l in open(ids_path) if l.strip()]
    else:
        received = [json.loads(l)["id"] for l in open(ids_path + ".jsonl") if l.strip()]
    got = set(received)
    lost = [i for i in acked if i not in got]
    dups = len(received) - len(got)
    print("outputs loss test (%s): acked %d, received %d, unique %d, duplicates %d, "
          "lost %d, eventd kills %d, receiver outages %d, final status %s, exit %s"
          % (a.dest, len(acked), len(received), len(got), dups, len(lost), kills, outages,
             json.dumps(status), rc))
    ok = not lost and len(acked) > 0 and rc == 0
    if lost:
        print("LOST (first 10):", lost[:10])
    if not ok or a.keep:
        print("kept:", tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
