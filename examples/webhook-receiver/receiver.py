#!/usr/bin/python3
"""eventd webhook receiver: verifies signatures, rejects replays, de-duplicates, prints events.

A reference receiver for eventd's webhook output (docs/outputs-destinations.md describes the
scheme). Python 3 standard library only.

    receiver.py --port 9000 --secret s3cret            # verify X-Eventd-Signature
    receiver.py --port 9000 --secret s3cret --cloudstack  # verify X-CS-Signature instead

For every accepted request it prints each *new* event as one JSON line on stdout (events
seen before, by id, are counted as duplicates and not printed again) and answers 200.
A request whose signature is missing or wrong, or whose timestamp is outside the tolerance
(a replay of an old request), gets 401 and is not printed.

--tls-cert/--tls-key serve HTTPS. --timestamps wraps each line as
{"received_ns": N, "event": {...}} (for latency measurements). Test knobs: --fail-first N answers 503 to the first N requests; --reject-type T answers 400
to requests carrying an event of type T; --port 0 picks a free port. The chosen port is
printed as "listening on 127.0.0.1:PORT" on stderr. GET /stats returns counters as JSON.
"""
import argparse
import base64
import collections
import hashlib
import hmac
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.seen = collections.OrderedDict()  # event id -> None, bounded
        self.requests = 0
        self.unique = 0
        self.duplicates = 0
        self.rejected = 0
        self.failed_on_purpose = 0


def verify_eventd(secret, headers, body, tolerance, now):
    """Check X-Eventd-Signature "t=<ts>,v1=<hex>" against HMAC-SHA256(secret, "<ts>.<body>").
    Returns None when valid, else the reason."""
    sig = headers.get("X-Eventd-Signature")
    if not sig:
        return "missing X-Eventd-Signature"
    ts, v1s = None, []
    for part in sig.split(","):
        k, _, v = part.strip().partition("=")
        if k == "t":
            ts = v
        elif k == "v1":
            v1s.append(v)
    if ts is None or not ts.isdigit() or not v1s:
        return "malformed X-Eventd-Signature"
    if abs(now - int(ts)) > tolerance:
        return "timestamp outside tolerance (replay?)"
    if headers.get("X-Eventd-Timestamp") not in (None, ts):
        return "X-Eventd-Timestamp does not match the signed timestamp"
    expected = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, v) for v in v1s):
        return "signature mismatch"
    return None


def verify_cloudstack(secret, headers, body):
    """Check X-CS-Signature = base64(HMAC-SHA256(secret, body)) (Apache CloudStack webhooks)."""
    sig = headers.get("X-CS-Signature")
    if not sig:
        return "missing X-CS-Signature"
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, sig):
        return "signature mismatch"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as eventd reuses its connection
    # The status line + headers and the body are two writes: without TCP_NODELAY the second
    # waits for the client's delayed ACK (40 ms per request on Linux).
    disable_nagle_algorithm = True

    def log_message(self, fmt, *a):  # quiet: stdout carries the events
        if self.server.state.args.verbose:
            sys.stderr.write("receiver: " + (fmt % a) + "\n")

    def reply(self, code, text):
        data = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        st = self.server.state
        if self.path != "/stats":
            return self.reply(404, "not found")
        with st.lock:
            body = json.dumps({"requests": st.requests, "unique": st.unique,
                               "duplicates": st.duplicates, "rejected": st.rejected,
                               "failed_on_purpose": st.failed_on_purpose})
        self.reply(200, body)

    def do_POST(self):
        st = self.server.state
        args = st.args
        length = int(self.headers.get("Content-Length") or 0)
        if length > args.max_body:
            return self.reply(413, "body too large")
        body = self.rfile.read(length)
        with st.lock:
            st.requests += 1
            if st.failed_on_purpose < args.fail_first:
                st.failed_on_purpose += 1
                return self.reply(503, "failing on purpose")
        if args.secret is not None:
            if args.cloudstack:
                why = verify_cloudstack(args.secret, self.headers, body)
            else:
                why = verify_eventd(args.secret, self.headers, body, args.tolerance, int(time.time()))
            if why is not None:
                with st.lock:
                    st.rejected += 1
                sys.stderr.write("receiver: rejected: %s\n" % why)
                return self.reply(401, why)
        try:
            doc = json.loads(body)
        except ValueError:
            return self.reply(400, "body is not JSON")
        events = doc if isinstance(doc, list) else [doc]
        if args.reject_type and any(isinstance(e, dict) and e.get("type") == args.reject_type
                                    for e in events):
            with st.lock:
                st.rejected += 1
            return self.reply(400, "rejected type %s" % args.reject_type)
        with st.lock:
            for e in events:
                eid = e.get("id") if isinstance(e, dict) else None
                if eid is not None and eid in st.seen:
                    st.duplicates += 1
                    sys.stderr.write("receiver: duplicate %s\n" % eid)
                    continue
                if eid is not None:
                    st.seen[eid] = None
                    if len(st.seen) > args.remember:
                        st.seen.popitem(last=False)
                st.unique += 1
                if args.timestamps:  # for latency measurements: when it arrived
                    e = {"received_ns": time.time_ns(), "event": e}
                sys.stdout.write(json.dumps(e, separators=(",", ":")) + "\n")
            sys.stdout.flush()
        self.reply(200, "ok")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--secret", help="shared secret; without it signatures are not checked")
    p.add_argument("--cloudstack", action="store_true", help="verify X-CS-Signature instead")
    p.add_argument("--tolerance", type=int, default=300, help="max |now - t| in seconds")
    p.add_argument("--remember", type=int, default=1000000, help="event ids kept for de-duplication")
    p.add_argument("--max-body", type=int, default=64 << 20)
    p.add_argument("--fail-first", type=int, default=0, help="answer 503 to the first N requests")
    p.add_argument("--reject-type", help="answer 400 to requests carrying this event type")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", help="... and this private key (PEM)")
    p.add_argument("--timestamps", action="store_true",
                   help='print {"received_ns": <wall clock ns>, "event": {...}} lines')
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    sys.stderr.write("listening on %s:%d\n" % srv.server_address[:2])
    sys.stderr.flush()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
