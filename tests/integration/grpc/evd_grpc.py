#!/usr/bin/python3
"""A real gRPC client (Debian's python3-grpcio) for eventd's integration tests.

The stubs are generated at test time with grpc_tools.protoc from the project's proto/
files into $EVD_GRPC_GEN (the `gen` command; the other commands generate them when
missing). Every command prints one JSON object on stdout, e.g.
    {"code": "INVALID_ARGUMENT", "details": "Event validation failed, Details: ..."}
so that the shell tests can assert on it with evd_json.

Commands (ADDR is HOST:PORT of eventd's gRPC server; with $EVD_GRPC_TLS_CA set to a PEM
file the channel is TLS, trusting those certificates, else insecure h2c):
  gen
  log ADDR --type T [--stream S] [--tag G] [--value JSON] [--value-size N] [--timeout S] [--gzip]
  publish ADDR EVENTS_JSON [--timeout S]   EVENTS_JSON: a list of eventd.v1.Event fields
  stream ADDR BATCHES_JSON [--timeout S]   BATCHES_JSON: a list of lists of events
  health ADDR [--service NAME]
  raw ADDR PATH HEX... [--timeout S]       client-streaming call sending the given messages
  load ADDR --callers N --calls M [--channels K] [--prefix P] [--value-size B]
            [--ok-file F] [--stop-on-error]
                                           N threads x M LogEvent calls; tags P-<caller>-<i>;
                                           prints counts per status code
  cancel ADDR --calls N                    start LogEvent calls and cancel them at once
  pload ADDR --callers N --calls M --events E [--size B] [--type T]
                                           N threads x M Publish calls of E events each;
                                           prints counts per status code and events accepted
"""
import argparse
import json
import os
import sys
import threading
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("EVD_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..", "..")))


def gen_dir():
    d = os.environ.get("EVD_GRPC_GEN")
    if not d:
        sys.exit("evd_grpc.py: set EVD_GRPC_GEN to a directory for the generated stubs")
    return d


def generate(d):
    """Compile proto/ into d (health.proto under its own root: its package is `grpc`, which
    would shadow the grpc module as a Python package)."""
    from grpc_tools import protoc
    import shutil
    os.makedirs(d, exist_ok=True)
    proto = os.path.join(SOURCE, "proto")
    rc = protoc.main(["protoc", "-I" + proto, "--python_out=" + d, "--grpc_python_out=" + d,
                      os.path.join(proto, "orc8r", "eventd.proto"),
                      os.path.join(proto, "eventd.proto")])
    if rc != 0:
        sys.exit("protoc failed for eventd.proto")
    hdir = os.path.join(d, "healthsrc")
    os.makedirs(hdir, exist_ok=True)
    shutil.copy(os.path.join(proto, "grpc", "health", "v1", "health.proto"), hdir)
    rc = protoc.main(["protoc", "-I" + hdir, "--python_out=" + d, "--grpc_python_out=" + d,
                      os.path.join(hdir, "health.proto")])
    if rc != 0:
        sys.exit("protoc failed for health.proto")


def stubs():
    d = gen_dir()
    if not os.path.exists(os.path.join(d, "health_pb2.py")):
        generate(d)
    sys.path.insert(0, d)
    from orc8r import eventd_pb2 as magma_pb2, eventd_pb2_grpc as magma_grpc
    import eventd_pb2 as native_pb2, eventd_pb2_grpc as native_grpc
    import health_pb2, health_pb2_grpc
    return magma_pb2, magma_grpc, native_pb2, native_grpc, health_pb2, health_pb2_grpc


def channel(addr, options=None):
    """A channel to addr: TLS when $EVD_GRPC_TLS_CA names a PEM file of trusted
    certificates (the server's self-signed one in the tests), else insecure (h2c)."""
    ca = os.environ.get("EVD_GRPC_TLS_CA")
    if ca:
        with open(ca, "rb") as f:
            root = f.read()
        # mTLS: $EVD_GRPC_TLS_CLIENT_CERT / _KEY name the client's PEM certificate and key.
        cert, key = os.environ.get("EVD_GRPC_TLS_CLIENT_CERT"), os.environ.get("EVD_GRPC_TLS_CLIENT_KEY")
        chain = pkey = None
        if cert and key:
            with open(cert, "rb") as f:
                chain = f.read()
            with open(key, "rb") as f:
                pkey = f.read()
        creds = grpc.ssl_channel_credentials(root_certificates=root, private_key=pkey,
                                             certificate_chain=chain)
        return grpc.secure_channel(addr, creds, options=options)
    return grpc.insecure_channel(addr, options=options)


def out(obj):
    print(json.dumps(obj))
    sys.stdout.flush()


def err_obj(e):
    return {"code": e.code().name, "details": e.details() or ""}


def native_event(pb, d):
    ev = pb.Event()
    for k, v in d.items():
        if k == "labels":
            for lk, lv in v.items():
                ev.labels[lk] = lv
        else:
            setattr(ev, k, v)
    return ev


def cmd_log(a):
    magma_pb2, magma_grpc, *_ = stubs()
    value = a.value
    if a.value_size is not None:
        pad = max(0, a.value_size - len('{"pad":""}'))
        value = json.dumps({"pad": "x" * pad})
    ch = channel(a.addr)
    stub = magma_grpc.EventServiceStub(ch)
    req = magma_pb2.Event(stream_name=a.stream, event_type=a.type, tag=a.tag, value=value)
    kw = {"timeout": a.timeout}
    if a.gzip:
        kw["compression"] = grpc.Compression.Gzip
    try:
        stub.LogEvent(req, **kw)
        out({"code": "OK", "details": ""})
    except grpc.RpcError as e:
        out(err_obj(e))


def cmd_publish(a):
    _, _, pb, pg, *_ = stubs()
    stub = pg.EventsStub(channel(a.addr))
    req = pb.PublishRequest(events=[native_event(pb, e) for e in json.loads(a.events)])
    try:
        r = stub.Publish(req, timeout=a.timeout)
        out({"code": "OK", "details": "", "accepted": r.accepted, "duplicates": r.duplicates,
             "ids": list(r.ids)})
    except grpc.RpcError as e:
        out(err_obj(e))


def cmd_stream(a):
    _, _, pb, pg, *_ = stubs()
    stub = pg.EventsStub(channel(a.addr))
    batches = json.loads(a.batches)

    def reqs():
        for b in batches:
            yield pb.PublishRequest(events=[native_event(pb, e) for e in b])

    try:
        r = stub.PublishStream(reqs(), timeout=a.timeout)
        out({"code": "OK", "details": "", "accepted": r.accepted, "duplicates": r.duplicates,
             "ids": list(r.ids)})
    except grpc.RpcError as e:
        out(err_obj(e))


def cmd_health(a):
    *_, hpb, hg = stubs()
    stub = hg.HealthStub(channel(a.addr))
    try:
        r = stub.Check(hpb.HealthCheckRequest(service=a.service), timeout=a.timeout)
        out({"code": "OK", "details": "",
             "status": hpb.HealthCheckResponse.ServingStatus.Name(r.status)})
    except grpc.RpcError as e:
        out(err_obj(e))


def cmd_raw(a):
    ch = channel(a.addr)
    call = ch.stream_unary(a.path)
    msgs = [bytes.fromhex(h) for h in a.messages]
    try:
        r = call(iter(msgs), timeout=a.timeout)
        out({"code": "OK", "details": "", "response_hex": r.hex()})
    except grpc.RpcError as e:
        out(err_obj(e))


def cmd_load(a):
    magma_pb2, magma_grpc, *_ = stubs()
    # A local subchannel pool per channel: K channels are K TCP connections.
    channels = [channel(a.addr, options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(a.channels)]
    stubs_ = [magma_grpc.EventServiceStub(c) for c in channels]
    counts = {}
    lock = threading.Lock()
    okf = open(a.ok_file, "a") if a.ok_file else None
    stop = threading.Event()
    value = json.dumps({"pad": "x" * a.value_size}) if a.value_size else '{"n":1}'
    errors = []

    def worker(w):
        stub = stubs_[w % len(stubs_)]
        for i in range(a.calls):
            if stop.is_set():
                return
            tag = "%s-%d-%d" % (a.prefix, w, i)
            req = magma_pb2.Event(stream_name="load", event_type="load_event", tag=tag,
                                  value=value)
            try:
                stub.LogEvent(req, timeout=a.timeout)
                code = "OK"
            except grpc.RpcError as e:
                code = e.code().name
                if len(errors) < 5:
                    errors.append("%s: %s" % (code, e.details()))
            with lock:
                counts[code] = counts.get(code, 0) + 1
                if code == "OK" and okf:
                    okf.write(tag + "\n")
                    okf.flush()
            if code != "OK" and a.stop_on_error:
                return

    t0 = time.time()
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(a.callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.time() - t0
    if okf:
        okf.close()
    total = sum(counts.values())
    out({"counts": counts, "total": total, "seconds": round(secs, 3),
         "rate": round(total / secs, 1) if secs > 0 else 0, "errors": errors})


def cmd_pload(a):
    _, _, pb, pg, *_ = stubs()
    stub = pg.EventsStub(channel(a.addr))
    counts, details = {}, {}
    accepted = [0]
    lock = threading.Lock()
    msg = "m" * a.size

    def worker(w):
        for i in range(a.calls):
            req = pb.PublishRequest(events=[pb.Event(type=a.type, message=msg, tag="%d-%d-%d" % (w, i, k))
                                            for k in range(a.events)])
            try:
                r = stub.Publish(req, timeout=a.timeout)
                code, n = "OK", r.accepted
            except grpc.RpcError as e:
                code, n = e.code().name, 0
                with lock:
                    details[code] = e.details()
            with lock:
                counts[code] = counts.get(code, 0) + 1
                accepted[0] += n

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(a.callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out({"counts": counts, "accepted": accepted[0], "details": details})


def cmd_cancel(a):
    magma_pb2, magma_grpc, *_ = stubs()
    ch = channel(a.addr)
    stub = magma_grpc.EventServiceStub(ch)
    futs = []
    for i in range(a.calls):
        req = magma_pb2.Event(stream_name="cancel", event_type="cancelled", tag="c%d" % i,
                              value='{"i":%d}' % i)
        f = stub.LogEvent.future(req, timeout=10)
        if i % 2 == 0:
            f.cancel()  # RST_STREAM right away (maybe before the request is out)
        futs.append(f)
    time.sleep(0.002)
    for f in futs:
        f.cancel()  # the rest: after the request, most likely before the ack
    n_cancelled = sum(1 for f in futs if f.cancelled())
    ok = 0
    for f in futs:
        if not f.cancelled():
            try:
                f.result()
                ok += 1
            except grpc.RpcError:
                pass
    out({"calls": a.calls, "cancelled": n_cancelled, "ok": ok})


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("gen")
    s = sub.add_parser("log")
    s.add_argument("addr")
    s.add_argument("--type", default="")
    s.add_argument("--stream", default="")
    s.add_argument("--tag", default="")
    s.add_argument("--value", default="{}")
    s.add_argument("--value-size", type=int)
    s.add_argument("--timeout", type=float, default=10)
    s.add_argument("--gzip", action="store_true")
    s = sub.add_parser("publish")
    s.add_argument("addr")
    s.add_argument("events")
    s.add_argument("--timeout", type=float, default=10)
    s = sub.add_parser("stream")
    s.add_argument("addr")
    s.add_argument("batches")
    s.add_argument("--timeout", type=float, default=30)
    s = sub.add_parser("health")
    s.add_argument("addr")
    s.add_argument("--service", default="")
    s.add_argument("--timeout", type=float, default=10)
    s = sub.add_parser("raw")
    s.add_argument("addr")
    s.add_argument("path")
    s.add_argument("messages", nargs="*")
    s.add_argument("--timeout", type=float, default=10)
    s = sub.add_parser("load")
    s.add_argument("addr")
    s.add_argument("--callers", type=int, default=16)
    s.add_argument("--calls", type=int, default=10)
    s.add_argument("--channels", type=int, default=1)
    s.add_argument("--prefix", default="load")
    s.add_argument("--value-size", type=int, default=0)
    s.add_argument("--timeout", type=float, default=20)
    s.add_argument("--ok-file")
    s.add_argument("--stop-on-error", action="store_true")
    s = sub.add_parser("pload")
    s.add_argument("addr")
    s.add_argument("--callers", type=int, default=8)
    s.add_argument("--calls", type=int, default=4)
    s.add_argument("--events", type=int, default=10)
    s.add_argument("--size", type=int, default=100)
    s.add_argument("--type", default="pload")
    s.add_argument("--timeout", type=float, default=20)
    s = sub.add_parser("cancel")
    s.add_argument("addr")
    s.add_argument("--calls", type=int, default=100)
    a = p.parse_args()
    if a.cmd == "gen":
        generate(gen_dir())
        stubs()
        out({"generated": gen_dir()})
        return
    {"log": cmd_log, "publish": cmd_publish, "stream": cmd_stream, "health": cmd_health,
     "raw": cmd_raw, "load": cmd_load, "cancel": cmd_cancel, "pload": cmd_pload}[a.cmd](a)


if __name__ == "__main__":
    main()
