#!/usr/bin/env bash
# Clients that go away: before the ack of an append (FIN and RST), in the middle of a body,
# in the middle of a tail stream; and a SIGTERM while appends are in flight — every event
# acknowledged before the stop is there after a restart. Meant to run under the ASan build
# too (EVD_BUILD_DIR=build-asan): evd_stop fails on any sanitizer report.
source "$(dirname "$0")/lib.sh"

evd_start --sync always

cat >"$EVD_TMP/rude.py" <<'EOF'
import socket, struct, sys, time
host, port, mode, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
line = b'{"type":"rude.client","message":"' + b"r" * 300 + b'"}\n'
body = line * 1000
for i in range(n):
    s = socket.create_connection((host, port))
    if mode == "rst":  # close with a reset instead of a FIN
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    head = ("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
            "Content-Length: %d\r\n\r\n" % len(body)).encode()
    if mode == "partial":
        s.sendall(head + body[: len(body) // 2])
    elif mode == "tail":
        s.sendall(b"GET /v1/tail HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(100)
    else:
        s.sendall(head + body)
    s.close()
EOF

for mode in fin rst partial tail; do
  evd_step "clients closing early ($mode)"
  python3 "$EVD_TMP/rude.py" 127.0.0.1 "$EVD_PORT" "$mode" 20 || evd_fail "client script ($mode)"
done
# The appends of the FIN clients complete (and are stored) even though nobody reads the
# answers; an RST may discard a body before it was read (then nothing of it is stored).
# Wait for them, then check the daemon is healthy.
sleep 1
evd_req GET /healthz
assert_status 200 "healthy after rude clients"
evd_post_json /v1/events '{"type":"polite"}'
assert_status 200 "still accepting"
evd_req GET '/v1/events/count?type=rude.client'
n=$(evd_json 'd["count"]')
(( n % 1000 == 0 && n >= 20000 )) || evd_fail "unexpected number of stored rude events: $n"
metrics=$(evd_curl /metrics)
assert_contains "$metrics" "eventd_tail_clients 0" "tail clients freed"
assert_contains "$metrics" "eventd_ingest_inflight_requests 0" "no append left in flight"

evd_step "SIGTERM with appends in flight: everything acknowledged survives"
cat >"$EVD_TMP/load.py" <<'EOF'
import http.client, json, sys, threading
host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
acked, lock = [], threading.Lock()
def worker(w):
    i = 0
    while True:
        try:
            c = http.client.HTTPConnection(host, port, timeout=10)
            body = "".join(json.dumps({"type": "load", "id": "w%d-%d-%d" % (w, i, k)}) + "\n"
                           for k in range(100))
            c.request("POST", "/v1/events", body, {"Content-Type": "application/x-ndjson"})
            r = c.getresponse()
            data = r.read()
            if r.status == 200:
                with lock:
                    acked.extend(json.loads(data)["ids"])
            elif r.status != 503:
                print("unexpected status", r.status, data, file=sys.stderr)
                sys.exit(1)
            c.close()
        except (ConnectionError, OSError, http.client.HTTPException):
            break
        i += 1
ts = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
for t in ts: t.start()
for t in ts: t.join()
open(out, "w").write("\n".join(acked))
EOF
python3 "$EVD_TMP/load.py" 127.0.0.1 "$EVD_PORT" "$EVD_TMP/acked" &
load=$!
evd_bg_pid "$load"
sleep 1.5
evd_stop TERM
assert_eq "$EVD_EXIT" 0 "exit status with appends in flight"
wait "$load" || evd_fail "load script failed"
acked=$(wc -l <"$EVD_TMP/acked")
((acked > 0)) || evd_fail "nothing was acknowledged before the stop"
evd_start
missing=$(python3 - "$EVD_URL" "$EVD_TMP/acked" <<'EOF'
import json, sys, urllib.request
url, path = sys.argv[1], sys.argv[2]
ids = [l for l in open(path).read().split("\n") if l]
have, cursor = set(), None
while True:
    q = url + "/v1/events?type=load&limit=10000" + ("&cursor=" + cursor if cursor else "")
    d = json.load(urllib.request.urlopen(q))
    have.update(e["id"] for e in d["events"])
    cursor = d.get("next")
    if not cursor:
        break
print(len([i for i in ids if i not in have]))
EOF
)
assert_eq "$missing" 0 "acknowledged events missing after restart (of $acked)"
evd_stop
assert_eq "$EVD_EXIT" 0 "exit status"
evd_pass
