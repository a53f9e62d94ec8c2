#!/usr/bin/env bash
# Hostile senders on the socket inputs (forward, syslog, JSON lines; docs/security.md
# "Socket inputs"):
#   - limits.socket_rate_per_peer: a TCP sender over the rate is slowed down (backpressure),
#     never dropped: all N events are stored, and it takes at least the time the rate
#     allows (lines and forward, whose acks still come after the store); UDP over the
#     budget is dropped and counted in /metrics;
#   - limits.socket_idle_timeout: a connection with nothing received that long is closed;
#   - limits.socket_frame_timeout: a one-byte-every-0.3-s sender (never idle) is cut off on
#     lines, syslog (octet-counted, over TLS) and forward; a TLS client that never
#     handshakes is cut off too;
#   - after every attack /healthz answers and every acknowledged event is stored.
source "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || evd_fail "the openssl CLI is missing (run scripts/setup.sh)"
PY=/usr/bin/python3
FWD="$EVD_SOURCE_DIR/tests/integration/inputs/fwd_client.py"

count() { # STREAM
  curl -sS "$EVD_URL/v1/events/count?stream=$1" | $PY -c 'import json,sys; print(json.load(sys.stdin)["count"])'
}
metric() { # NAME{LABELS}: its value
  curl -sS "$EVD_URL/metrics" | awk -v k="$1" '$1 == k {print $2}'
}

evd_step "rate limit 100 events/s per peer: lines TCP, forward with acks, UDP"
evd_start --grpc off --lines 127.0.0.1:0 --syslog 127.0.0.1:0 --forward 127.0.0.1:0 \
  --set limits.socket_rate_per_peer=100
LINES=$(evd_input_addr lines)
SYSLOG=$(evd_input_addr syslog)
FPORT=$(evd_input_addr forward)
FPORT=${FPORT##*:}

# 300 lines sent at once: the first 100 are the burst, the other 200 take >= 2 s.
elapsed=$($PY - "$LINES" "$EVD_URL" <<'PY'
import json, socket, sys, time, urllib.request
addr, url = sys.argv[1:3]
host, port = addr.rsplit(":", 1)
t0 = time.time()
s = socket.create_connection((host, int(port)))
s.sendall(b"".join(b'{"type":"rl.line","stream":"rltcp","message":"%d"}\n' % i for i in range(300)))
s.shutdown(socket.SHUT_WR)
while time.time() - t0 < 30:
    n = json.load(urllib.request.urlopen(url + "/v1/events/count?stream=rltcp"))["count"]
    if n >= 300:
        break
    time.sleep(0.05)
print("%.2f" % (time.time() - t0))
PY
)
assert_eq "$(count rltcp)" 300 "every line sent over TCP is stored"
$PY -c "import sys; sys.exit(0 if float('$elapsed') >= 1.7 else 1)" ||
  evd_fail "300 lines at 100/s (burst 100) took ${elapsed}s, expected >= 2 s (1.7 with slack)"
echo "   300 lines at 100/s: ${elapsed}s"
[[ $(metric 'eventd_input_rate_limited_total{input="lines"}') -gt 0 ]] || evd_fail "TCP pauses not counted"

# forward: 6 messages of 50 events, each acknowledged before the next is sent (the ack
# follows the store); the budget refills at 100/s, so >= 2 s for the 200 beyond the burst.
t0=$(date +%s.%N)
out=$($PY "$FWD" "$FPORT" forward --tag rlfwd.ev --n 50 --messages 6 --chunk rl) || evd_fail "forward: $out"
t1=$(date +%s.%N)
assert_eq "$(grep -c '"ack"' <<<"$out")" 6 "every forward message acknowledged"
assert_eq "$(count rlfwd)" 300 "every forward event stored"
el=$($PY -c "print('%.2f' % ($t1 - $t0))")
$PY -c "import sys; sys.exit(0 if $el >= 1.7 else 1)" || evd_fail "forward 300 events at 100/s took ${el}s"
echo "   forward 6 x 50 events at 100/s: ${el}s"

# syslog over UDP: 300 datagrams at once from one peer; the budget holds ~100.
$PY - "$SYSLOG" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(300):
    u.sendto(b"<13>1 2024-05-01T10:00:00Z h rludp - rl.udp - n%d" % i, (host, int(port)))
PY
sleep 1
stored=$(count rludp)
dropped=$(metric 'eventd_input_datagrams_dropped_total{input="syslog",reason="rate_limited"}')
echo "   UDP: $stored stored, $dropped dropped"
[[ $stored -ge 90 && $stored -le 200 ]] || evd_fail "UDP stored $stored of 300, expected about the burst of 100"
[[ $dropped -ge 100 ]] || evd_fail "UDP drops not counted ($dropped)"
# Datagrams the kernel itself dropped are in neither count.
[[ $((stored + dropped)) -le 300 ]] || evd_fail "stored + dropped > sent"
evd_wait_for_log 'syslog: 127.0.0.1: over limits.socket_rate_per_peer \(100 events/s\): UDP datagrams dropped' ||
  evd_fail "the drop is not logged"
evd_req GET /healthz
assert_status 200 "healthz after the rate-limit attacks"
evd_stop

evd_step "deadlines: frame timeout 1 s, idle timeout 3 s"
P=$EVD_TMP/pki
mkdir -p "$P"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=localhost" -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
  -keyout "$P/server.key" -out "$P/server.pem" >"$P/openssl.out" 2>&1 || evd_fail "openssl req"
EVD_DATA=$EVD_TMP/data2 evd_start --grpc off --lines 127.0.0.1:0 --syslog 127.0.0.1:0 \
  --forward 127.0.0.1:0 --set syslog.tls.cert="$P/server.pem" --set syslog.tls.key="$P/server.key" \
  --set limits.socket_frame_timeout=1s --set limits.socket_idle_timeout=3s
LINES=$(evd_input_addr lines)
SYSLOG=$(evd_input_addr syslog)
FWDADDR=$(evd_input_addr forward)

# drip ADDR tcp|tls HEXDATA INTERVAL [HOLD]: send the bytes one by one every INTERVAL s
# (then hold the connection open up to HOLD s); prints "closed after S" when the server
# closed the connection, "open" otherwise.
drip() {
  $PY - "$@" "$P/server.pem" <<'PY'
import socket, ssl, sys, time
addr, mode, hexdata, interval = sys.argv[1:5]
hold = float(sys.argv[5]) if len(sys.argv) > 6 else 8
ca = sys.argv[-1]
host, port = addr.rsplit(":", 1)
data = bytes.fromhex(hexdata)
t0 = time.time()
s = socket.create_connection((host, int(port)), timeout=10)
if mode == "tls":
    ctx = ssl.create_default_context(cafile=ca)
    s = ctx.wrap_socket(s, server_hostname="localhost")
def closed():
    s.settimeout(0.01)
    try:
        return s.recv(100) == b""
    except (socket.timeout, ssl.SSLWantReadError):
        return False
    except OSError:
        return True
try:
    for b in data:
        s.sendall(bytes([b]))
        time.sleep(float(interval))
        if closed():
            print("closed after %.1f" % (time.time() - t0)); sys.exit(0)
    end = time.time() + hold
    while time.time() < end:
        if closed():
            print("closed after %.1f" % (time.time() - t0)); sys.exit(0)
        time.sleep(0.05)
except OSError:
    print("closed after %.1f" % (time.time() - t0)); sys.exit(0)
print("open")
PY
}
hex() { $PY -c 'import sys; print(sys.argv[1].encode().hex())' "$1"; }
secs() { $PY -c 'import sys; print(int(float(sys.argv[1].split()[-1])))' "$1"; }

evd_step "idle: a complete line, then silence: closed after ~3 s (not by the frame timeout)"
out=$(drip "$LINES" tcp "$(hex '{"type":"dl.idle","stream":"dl"}
')" 0 6)
assert_contains "$out" "closed after" "idle lines connection"
s=$(secs "$out")
[[ $s -ge 2 && $s -le 6 ]] || evd_fail "idle close after $out, expected ~3 s"
evd_wait_for_log 'lines: 127.0.0.1:[0-9]+: closing: nothing received for limits.socket_idle_timeout' ||
  evd_fail "idle close not logged"

evd_step "slow drip (1 byte / 0.3 s, never idle) on lines: cut by the frame timeout"
out=$(drip "$LINES" tcp "$(hex '{"type":"dl.slow","stream":"dl","message":"a very slow line that never ends"}
')" 0.3)
assert_contains "$out" "closed after" "slow lines"
s=$(secs "$out")
[[ $s -le 4 ]] || evd_fail "slow lines cut after $out, expected ~1 s"

evd_step "slow drip on syslog over TLS (octet-counted frame)"
m='<13>1 2024-05-01T10:00:00Z h dl - dl.sys - slow message over tls'
out=$(drip "$SYSLOG" tls "$(hex "${#m} $m")" 0.3)
assert_contains "$out" "closed after" "slow syslog over TLS"

evd_step "a TLS client that connects and never handshakes: cut by the frame timeout"
out=$(drip "$SYSLOG" tcp "" 0 6)
assert_contains "$out" "closed after" "no handshake"
s=$(secs "$out")
[[ $s -le 4 ]] || evd_fail "no-handshake cut after $out, expected ~1 s"

evd_step "slow drip of a forward message"
fmsg=$($PY -c '
import msgpack, sys
sys.stdout.write(msgpack.packb(["dl.fwd", [[1700000000, {"message": "slow forward record padding padding"}]]], use_bin_type=True).hex())')
out=$(drip "$FWDADDR" tcp "$fmsg" 0.3)
assert_contains "$out" "closed after" "slow forward"

evd_step "metrics count the closes; nothing acknowledged is lost; the daemon still serves"
slow=$(metric 'eventd_input_connections_closed_total{input="lines",reason="slow"}')
idle=$(metric 'eventd_input_connections_closed_total{input="lines",reason="idle"}')
assert_eq "$idle" 1 "lines idle closes"
assert_eq "$slow" 1 "lines slow closes"
assert_eq "$(metric 'eventd_input_connections_closed_total{input="syslog",reason="slow"}')" 2 "syslog slow closes (drip + no handshake)"
assert_eq "$(metric 'eventd_input_connections_closed_total{input="forward",reason="slow"}')" 1 "forward slow closes"
evd_wait_for_log 'forward: 127.0.0.1:[0-9]+: closing: a frame \(or the TLS handshake\) took longer than limits.socket_frame_timeout' ||
  evd_fail "forward slow close not logged"
assert_eq "$(count dl)" 1 "the complete line of the idle connection is stored"
out=$($PY "$FWD" "${FWDADDR##*:}" forward --tag dlok.ev --n 5 --chunk ok) || evd_fail "forward after the attacks: $out"
assert_eq "$(count dlok)" 5 "forward still stores and acknowledges"
evd_req GET /healthz
assert_status 200 "healthz after the deadline attacks"
evd_stop
assert_eq "$EVD_EXIT" 0 "clean exit"

evd_step "TLS forward and lines listeners: a client that never handshakes is cut off too"
EVD_DATA=$EVD_TMP/data3 evd_start --grpc off --lines 127.0.0.1:0 --forward 127.0.0.1:0 \
  --set lines.tls.cert="$P/server.pem" --set lines.tls.key="$P/server.key" \
  --set forward.tls.cert="$P/server.pem" --set forward.tls.key="$P/server.key" \
  --set limits.socket_frame_timeout=1s --set limits.socket_idle_timeout=5s
LINES=$(evd_input_addr lines)
FWDADDR=$(evd_input_addr forward)
for a in "$LINES" "$FWDADDR"; do
  out=$(drip "$a" tcp "" 0 6)
  assert_contains "$out" "closed after" "no handshake on $a"
  s=$(secs "$out")
  [[ $s -le 4 ]] || evd_fail "no-handshake on $a cut after $out, expected ~1 s"
done
assert_eq "$(metric 'eventd_input_connections_closed_total{input="lines",reason="slow"}')" 1 "lines TLS handshake close"
assert_eq "$(metric 'eventd_input_connections_closed_total{input="forward",reason="slow"}')" 1 "forward TLS handshake close"
out=$(drip "$LINES" tls "$(hex '{"type":"dl.tls","stream":"dltls"}
')" 0 0.5)
assert_eq "$(count dltls)" 1 "a TLS client that handshakes is served"
evd_req GET /healthz
assert_status 200 "healthz"
evd_stop

evd_pass
