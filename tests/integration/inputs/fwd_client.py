#!/usr/bin/python3
"""Forward-protocol client for the integration tests (crafted msgpack with python3-msgpack).

    fwd_client.py PORT MODE [options]

MODE: message | forward | packed | gzip | zstd   (one message of N events, tag TAG)
Options:
    --tag TAG            (default mme.attach_success)
    --n N                events (default 3)
    --chunk ID           ask for an ack; prints the ack map as JSON
    --size K             option size (default: none)
    --time int|float|eventtime|fb2   how entry times are written (default eventtime)
    --bad I              make record I invalid (a non-map event_type... no: stream too long)
    --shared-key KEY     do the HELO/PING/PONG handshake first
    --user USER:PASS     user auth in the PING
    --hostname NAME      client hostname in the PING (default test-client)
    --tls CAFILE         TLS (verify with CAFILE)
    --cert PEM --key PEM client certificate (mTLS)
    --tenant T           records carry "tenant": T
    --bind ADDR          connect from this local address (e.g. 127.0.0.2)
    --messages K         send K messages (each of --n events; with --chunk, ids CHUNK-k,
                         each acknowledged before the next is sent)
    --timeout S          wait this long for an ack (default 10)
Exit 0 on success, 3 when no ack arrived in time, 4 when the handshake failed (PONG printed).
"""
import argparse, hashlib, json, os, socket, ssl, struct, subprocess, sys, time, gzip
import msgpack

p = argparse.ArgumentParser()
p.add_argument("port", type=int)
p.add_argument("mode")
p.add_argument("--tag", default="mme.attach_success")
p.add_argument("--n", type=int, default=3)
p.add_argument("--chunk")
p.add_argument("--size", type=int)
p.add_argument("--time", default="eventtime")
p.add_argument("--bad", type=int, default=-1)
p.add_argument("--shared-key")
p.add_argument("--user")
p.add_argument("--hostname", default="test-client")
p.add_argument("--tls")
p.add_argument("--timeout", type=float, default=10)
p.add_argument("--prefix", default="ev")
p.add_argument("--cert")
p.add_argument("--key")
p.add_argument("--tenant")
p.add_argument("--bind")
p.add_argument("--messages", type=int, default=1)
a = p.parse_args()

T0 = 1700000000  # 2023-11-14T22:13:20Z


def etime(i):
    sec, nsec = T0 + i, 123456789
    if a.time == "int":
        return sec
    if a.time == "float":
        return sec + 0.5
    et = msgpack.ExtType(0, struct.pack(">II", sec, nsec))
    if a.time == "fb2":
        return [et, {}]
    return et


def record(i):
    r = {"event_tag": "%s-%d" % (a.prefix, i), "value": json.dumps({"imsi": "IMSI%05d" % i}),
         "hw_id": "hw-%d" % i}
    if i == a.bad:
        r["stream_name"] = "x" * 5000  # over limits.name_max
    if a.tenant is not None:
        r["tenant"] = a.tenant
    return r


def pack(o):
    return msgpack.packb(o, use_bin_type=True)


def recv_obj(sock, timeout):
    sock.settimeout(timeout)
    up = msgpack.Unpacker(raw=False)
    end = time.time() + timeout
    while time.time() < end:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        if not data:
            break
        up.feed(data)
        for o in up:
            return o
    return None


sock = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout,
                                source_address=(a.bind, 0) if a.bind else None)
if a.tls:
    ctx = ssl.create_default_context(cafile=a.tls)
    ctx.check_hostname = False
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    sock = ctx.wrap_socket(sock)

if a.shared_key:
    helo = recv_obj(sock, a.timeout)
    if not helo or helo[0] != "HELO":
        print("no HELO: %r" % (helo,))
        sys.exit(4)
    opts = helo[1]
    nonce = opts["nonce"]
    nonce = nonce if isinstance(nonce, bytes) else nonce.encode()
    auth = opts.get("auth", b"")
    auth = auth if isinstance(auth, bytes) else auth.encode()
    salt = os.urandom(16).hex()
    h = hashlib.sha512(salt.encode() + a.hostname.encode() + nonce + a.shared_key.encode()).hexdigest()
    user, pw = (a.user.split(":", 1) if a.user else ("", ""))
    pwd = hashlib.sha512(auth + user.encode() + pw.encode()).hexdigest() if a.user else ""
    sock.sendall(pack(["PING", a.hostname, salt, h, user, pwd]))
    pong = recv_obj(sock, a.timeout)
    if not pong or pong[0] != "PONG" or not pong[1]:
        print(json.dumps({"pong": pong if pong is None else [x if not isinstance(x, bytes) else x.decode() for x in pong]}))
        sys.exit(4)
    want = hashlib.sha512(salt.encode() + pong[3].encode() + nonce + a.shared_key.encode()).hexdigest()
    if pong[4] != want:
        print("PONG digest mismatch")
        sys.exit(4)

for k in range(a.messages):
  opt = {}
  if a.chunk:
    opt["chunk"] = a.chunk if a.messages == 1 else "%s-%d" % (a.chunk, k)
  if a.size is not None:
      opt["size"] = a.size
  entries = [[etime(i), record(i)] for i in range(a.n)]
  if a.mode == "message":
      assert a.n == 1
      msg = [a.tag, entries[0][0], entries[0][1]]
  elif a.mode == "forward":
      msg = [a.tag, entries]
  elif a.mode in ("packed", "gzip", "zstd"):
      raw = b"".join(pack(e) for e in entries)
      if a.mode == "gzip":
          half = len(raw) // 2  # two gzip members, as Fluentd may concatenate them
          raw = gzip.compress(raw[:half]) + gzip.compress(raw[half:])
          opt["compressed"] = "gzip"
      elif a.mode == "zstd":
          raw = subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
          opt["compressed"] = "zstd"
      msg = [a.tag, raw]
  else:
      sys.exit("unknown mode " + a.mode)
  if opt:
      msg.append(opt)
  sock.sendall(pack(msg))
  if a.chunk:
      ack = recv_obj(sock, a.timeout)
      if not isinstance(ack, dict) or "ack" not in ack:
          print("no ack")
          sys.exit(3)
      print(json.dumps(ack))
sock.close()
