#!/usr/bin/python3
"""Load sender for bench/inputs_bench.sh: one protocol, C connections (one process each),
batches of B events, for D seconds. Prints one JSON line with the figures.

    inputs_sender.py MODE HOST PORT [--http-port P] [-c C] [-b B] [-d D]

MODE   http     POST /v1/events, NDJSON body of B events, keep-alive; latency = response
       es       POST /_bulk, B create actions (the Elasticsearch-compatible endpoint)
       forward  PackedForward messages of B events with option chunk; latency = until the ack
       syslog   RFC 5424 lines (LF framing) over TCP, no ack: D seconds of sending, then the
                time until the input's accepted counter (GET /metrics) has every event is
                the end
       lines    JSON lines over TCP, the same way
Every event is ~230 bytes of JSON (or its msgpack/syslog form) with stream bench, a type,
a tag and a small data object, so that the inputs store comparable events. The payload of a
batch is built once and resent (the store does not deduplicate events without an id).
"""
import argparse, base64, hashlib, http.client, json, multiprocessing as mp, os, socket, struct, sys, time

import msgpack

p = argparse.ArgumentParser()
p.add_argument("mode")
p.add_argument("host")
p.add_argument("port", type=int)
p.add_argument("--http-port", type=int)
p.add_argument("-c", type=int, default=4)
p.add_argument("-b", type=int, default=500)
p.add_argument("-d", type=float, default=10)
a = p.parse_args()

RUN = os.urandom(8)  # chunk ids unique per run (the store deduplicates resent chunks)
DATA = {"imsi": "IMSI001010000000001", "apn": "internet", "ip_addr": "10.1.2.3", "pdp_start_time": 1700000000}


def ev_json(i, mode):
    return {"stream": "bench", "type": "session_created", "tag": "w%d" % i, "source": "hw-1", "data": DATA}


def batch_bytes(mode, b, w):
    if mode == "http":
        return b"".join(json.dumps(ev_json(i, mode), separators=(",", ":")).encode() + b"\n" for i in range(b))
    if mode == "lines":
        return b"".join(json.dumps(ev_json(i, mode), separators=(",", ":")).encode() + b"\n" for i in range(b))
    if mode == "es":
        out = []
        for i in range(b):
            out.append(b'{"create":{"_index":"bench"}}\n')
            d = {"type": "session_created", "tag": "w%d" % i, "source": "hw-1", "data": DATA}
            out.append(json.dumps(d, separators=(",", ":")).encode() + b"\n")
        return b"".join(out)
    if mode == "forward":
        t = msgpack.ExtType(0, struct.pack(">II", int(time.time()), 0))
        return b"".join(msgpack.packb([t, {"event_type": "session_created", "event_tag": "w%d" % i,
                                           "hw_id": "hw-1", "value": DATA}], use_bin_type=True)
                        for i in range(b))
    if mode == "syslog":
        sd = '[data@1 imsi="IMSI001010000000001" apn="internet" ip_addr="10.1.2.3"]'
        return b"".join(("<14>1 2024-05-01T10:00:00.000Z hw-1 bench - session_created %s w%d pdp_start_time=1700000000\n"
                         % (sd, i)).encode() for i in range(b))
    raise SystemExit("unknown mode " + mode)


def pct(xs, q):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def worker(w):
    body = batch_bytes(a.mode, a.b, w)
    end = time.time() + a.d
    sent_events = sent_bytes = 0
    lat = []
    if a.mode in ("http", "es"):
        conn = http.client.HTTPConnection(a.host, a.http_port or a.port)
        path = "/v1/events" if a.mode == "http" else "/_bulk"
        ctype = "application/x-ndjson"
        while time.time() < end:
            t0 = time.perf_counter()
            conn.request("POST", path, body=body, headers={"Content-Type": ctype})
            r = conn.getresponse()
            rb = r.read()
            if r.status != 200:
                return {"error": "HTTP %d: %s" % (r.status, rb[:200])}
            if a.mode == "es" and b'"errors":true' in rb:
                return {"error": "bulk errors: %s" % rb[:300]}
            lat.append(time.perf_counter() - t0)
            sent_events += a.b
            sent_bytes += len(body)
        return {"events": sent_events, "bytes": sent_bytes, "lat": lat}
    s = socket.create_connection((a.host, a.port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if a.mode == "forward":
        up = msgpack.Unpacker(raw=False)
        k = 0
        while time.time() < end:
            chunk = base64.b64encode(hashlib.sha512(RUN + b"%d-%d" % (w, k)).digest()[:16]).decode()
            k += 1
            msg = msgpack.packb(["bench.session_created", body, {"chunk": chunk, "size": a.b}], use_bin_type=True)
            t0 = time.perf_counter()
            s.sendall(msg)
            ack = None
            while ack is None:
                data = s.recv(65536)
                if not data:
                    return {"error": "connection closed before the ack"}
                up.feed(data)
                for o in up:
                    ack = o
            if ack.get("ack") != chunk:
                return {"error": "wrong ack %r" % ack}
            lat.append(time.perf_counter() - t0)
            sent_events += a.b
            sent_bytes += len(msg)
        return {"events": sent_events, "bytes": sent_bytes, "lat": lat}
    while time.time() < end:  # syslog, lines: no ack
        s.sendall(body)
        sent_events += a.b
        sent_bytes += len(body)
    s.close()
    return {"events": sent_events, "bytes": sent_bytes, "lat": []}


def stored(hport):
    """Events of this input acknowledged as durable so far (eventd_input_events_total
    {outcome="accepted"}): unlike a count of stored events, retention cannot lower it."""
    c = http.client.HTTPConnection(a.host, hport)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    key = 'eventd_input_events_total{input="%s",outcome="accepted"} ' % a.mode
    for line in text.splitlines():
        if line.startswith(key):
            return int(line[len(key):])
    raise SystemExit("no %s in /metrics" % key.strip())


if __name__ == "__main__":
    hport = a.http_port or a.port
    before = stored(hport)
    t0 = time.time()
    with mp.Pool(a.c) as pool:
        res = pool.map(worker, range(a.c))
    errs = [r["error"] for r in res if "error" in r]
    if errs:
        print(json.dumps({"mode": a.mode, "error": errs[0]}))
        sys.exit(1)
    n = sum(r["events"] for r in res)
    nbytes = sum(r["bytes"] for r in res)
    # Until everything sent is stored (immediate for the acked modes).
    deadline = time.time() + 120
    while stored(hport) - before < n and time.time() < deadline:
        time.sleep(0.05)
    got = stored(hport) - before
    elapsed = time.time() - t0
    lat = [x for r in res for x in r["lat"]]
    print(json.dumps({"mode": a.mode, "connections": a.c, "batch": a.b, "events": n, "stored": got,
                      "seconds": round(elapsed, 3), "events_per_s": round(got / elapsed),
                      "mib_per_s": round(nbytes / elapsed / 1048576, 2),
                      "ack_p50_ms": round(pct(lat, 0.5) * 1000, 2), "ack_p99_ms": round(pct(lat, 0.99) * 1000, 2)}))
