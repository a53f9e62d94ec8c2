#!/usr/bin/python3
"""Hostile clients for tests/integration/test_hostile.sh (raw sockets, standard library only).

Commands (ADDR is HOST:PORT); each prints one JSON line describing what happened:
  slowloris ADDR INTERVAL MAX      send a request head one byte every INTERVAL s; report when
                                   (seconds) the server closed the connection, or
                                   {"closed": false} after MAX s
  slowbody ADDR INTERVAL MAX       complete headers (Content-Length: 1000), then the body one
                                   byte every INTERVAL s; same report
  garbage ADDR NBYTES [udp]        send NBYTES of random bytes (TCP, or one UDP datagram per
                                   1200 bytes), then read until close (at most 5 s)
  raw ADDR FILE                    send FILE's bytes, read the answer until close (5 s) and
                                   report its first line
  slowh2 ADDR INTERVAL MAX         the HTTP/2 client preface one byte every INTERVAL s; same
                                   report as slowloris
  conns ADDR N HOLD                open N TCP connections, keep them HOLD s, report how many
                                   the server closed meanwhile
"""
import json
import os
import socket
import sys
import time


def connect(addr):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
    return s


def drained_and_closed(s):
    """Read whatever the peer sent (e.g. HTTP/2 SETTINGS); True only if it has closed."""
    s.setblocking(False)
    try:
        while True:
            if s.recv(65536) == b"":
                return True
    except BlockingIOError:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True


def trickle(addr, head, body, interval, limit):
    s = connect(addr)
    start = time.monotonic()
    if head is not None:
        s.sendall(head)
    data = body if head is not None else b"POST /v1/events HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100000
    for i in range(len(data)):
        if time.monotonic() - start > limit:
            break
        try:
            s.sendall(data[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            return {"closed": True, "after": round(time.monotonic() - start, 2), "sent": i}
        time.sleep(interval)
        if drained_and_closed(s):
            return {"closed": True, "after": round(time.monotonic() - start, 2), "sent": i + 1}
    return {"closed": False, "after": round(time.monotonic() - start, 2)}


def read_all(s, limit=5.0):
    s.settimeout(limit)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except (socket.timeout, ConnectionResetError):
        pass
    return out


def main():
    cmd, addr = sys.argv[1], sys.argv[2]
    if cmd == "slowloris":
        r = trickle(addr, None, None, float(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "slowbody":
        head = b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        r = trickle(addr, head, b"[" * 1000, float(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "slowh2":
        r = trickle(addr, b"", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\0" * 64,
                    float(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "garbage":
        n = int(sys.argv[3])
        data = os.urandom(n)
        if len(sys.argv) > 4 and sys.argv[4] == "udp":
            host, port = addr.rsplit(":", 1)
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for i in range(0, n, 1200):
                u.sendto(data[i:i + 1200], (host, int(port)))
            r = {"sent": n}
        else:
            s = connect(addr)
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            ans = read_all(s)
            r = {"sent": n, "answer": ans[:80].decode("latin-1")}
    elif cmd == "raw":
        with open(sys.argv[3], "rb") as f:
            data = f.read()
        s = connect(addr)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        ans = read_all(s)
        r = {"first_line": ans.split(b"\r\n", 1)[0].decode("latin-1")}
    elif cmd == "conns":
        n, hold = int(sys.argv[3]), float(sys.argv[4])
        socks = []
        for _ in range(n):
            try:
                socks.append(connect(addr))
            except OSError:
                break
        time.sleep(hold)
        closed = sum(1 for s in socks if drained_and_closed(s))
        for s in socks:
            s.close()
        r = {"opened": len(socks), "closed_by_server": closed}
    else:
        sys.exit("unknown command " + cmd)
    print(json.dumps(r))


if __name__ == "__main__":
    main()
