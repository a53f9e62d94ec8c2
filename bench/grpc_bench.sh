#!/usr/bin/env bash
# bench/grpc_bench.sh — gRPC ingest rates of eventd, measured with h2load (Debian package
# nghttp2-client), which speaks HTTP/2 in C and sends gRPC-framed request bodies:
#
#   logevent-N   magma.orc8r.EventService/LogEvent, unary, N concurrent callers
#                (N = 1, 16, 64: N connections x 1 stream for N <= 16, else 4 x N/4 streams);
#                one event per call, each call acknowledged only once durable.
#   stream       eventd.v1.Events/PublishStream: each call sends BATCHES messages of
#                BATCH events (one request body), 4 concurrent calls.
#
# Every request must be answered grpc-status 0: h2load counts HTTP statuses only, so the
# script checks the stored count over HTTP afterwards (it must cover every call answered;
# calls still in flight when h2load stops may add up to connections x streams more).
#
# Usage: bench/grpc_bench.sh [SCENARIO...]   (default: logevent-1 logevent-16 logevent-64 stream)
# Knobs: EVD_BUILD_DIR (build), EVD_GRPC_BENCH_SECONDS (10), EVD_GRPC_BENCH_SYNC (batch),
#        EVD_GRPC_BENCH_BATCH (100), EVD_GRPC_BENCH_BATCHES (50), EVD_BENCH_WORK (bench/work).
# Prints one line per scenario: name, calls/s, events/s, mean and max latency.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${EVD_BUILD_DIR:-$ROOT/build}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
EVENTD=$BUILD/eventd
SECONDS_=${EVD_GRPC_BENCH_SECONDS:-10}
SYNC=${EVD_GRPC_BENCH_SYNC:-batch}
BATCH=${EVD_GRPC_BENCH_BATCH:-100}
BATCHES=${EVD_GRPC_BENCH_BATCHES:-50}
WORK=${EVD_BENCH_WORK:-$ROOT/bench/work}
PY=/usr/bin/python3

die() { echo "grpc_bench: $*" >&2; exit 1; }
command -v h2load >/dev/null || die "h2load is missing: apt-get install nghttp2-client"
[[ -x $EVENTD ]] || die "$EVENTD is missing; build first"
"$PY" -c 'import grpc_tools.protoc' 2>/dev/null || die "python3-grpc-tools is missing (make setup)"
mkdir -p "$WORK"
TMP=$(mktemp -d "$WORK/grpc-bench-XXXXXX")
DAEMON_PID=""
cleanup() {
  [[ -n $DAEMON_PID ]] && kill -TERM "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

# Request bodies, encoded with the project's protos.
"$PY" -m grpc_tools.protoc -I "$ROOT/proto" --python_out="$TMP" "$ROOT/proto/orc8r/eventd.proto" \
  "$ROOT/proto/eventd.proto"
"$PY" - "$TMP" "$BATCH" "$BATCHES" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
from orc8r import eventd_pb2 as m
import eventd_pb2 as n
d, batch, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def frame(b): return bytes([0]) + len(b).to_bytes(4, "big") + b
ev = m.Event(stream_name="sessiond", event_type="session_created", tag="IMSI001010000000001",
             value='{"imsi":"IMSI001010000000001","ip_addr":"10.0.0.7","apn":"internet",'
                   '"session_id":"IMSI001010000000001-123456","pdp_start_time":1763713560}')
open(d + "/logevent.bin", "wb").write(frame(ev.SerializeToString()))
req = n.PublishRequest(events=[n.Event(stream="sessiond", type="session_created", tag="IMSI%015d" % i,
                                       data='{"imsi":"IMSI%015d","pdp_start_time":1763713560}' % i)
                               for i in range(batch)])
open(d + "/stream.bin", "wb").write(frame(req.SerializeToString()) * batches)
EOF

start_daemon() {
  rm -rf "$TMP/data" "$TMP/eventd.log"
  "$EVENTD" --data-dir "$TMP/data" --http 127.0.0.1:0 --grpc 127.0.0.1:0 --sync "$SYNC" \
    --log-level warn 2>"$TMP/eventd.log" &
  DAEMON_PID=$!
  for _ in $(seq 1 400); do
    grep -q 'grpc listening on' "$TMP/eventd.log" && break
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.05
  done
  GRPC=$(grep -o 'grpc listening on [^ ]*' "$TMP/eventd.log" | sed 's/.*on //') ||
    die "eventd did not start: $(cat "$TMP/eventd.log")"
  HTTP=$(grep -o 'listening on http://[^ ]*' "$TMP/eventd.log" | sed 's/.*on //')
}

stop_daemon() {
  kill -TERM "$DAEMON_PID"
  wait "$DAEMON_PID" || die "eventd exited with $?"
  DAEMON_PID=""
}

stored() { curl -sS "$HTTP/v1/events/count?since=0" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["count"])'; }

# run NAME PATH BODY CONNS STREAMS EVENTS_PER_CALL
run() {
  local name=$1 path=$2 body=$3 c=$4 m=$5 per=$6
  start_daemon
  h2load -D "$SECONDS_" -c "$c" -m "$m" -d "$body" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://$GRPC$path" >"$TMP/h2load.out" 2>&1 || die "h2load failed: $(tail -5 "$TMP/h2load.out")"
  local ok
  ok=$(awk '/^status codes:/ {print $3}' "$TMP/h2load.out")
  local n
  n=$(stored)
  # Calls still in flight when h2load stops are stored but not counted: up to c*m of them.
  ((n >= ok * per && n <= (ok + c * m) * per)) ||
    die "$name: $ok calls answered 200 but $n events stored (expected $((ok * per)); some calls failed)"
  "$PY" - "$name" "$ok" "$per" "$SECONDS_" "$TMP/h2load.out" <<'EOF'
import re, sys
name, ok, per, secs, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
text = open(path).read()
m = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", text)
lat = "min %s max %s mean %s" % m.groups() if m else "?"
print("%-12s %9.0f calls/s %10.0f events/s   latency %s" % (name, ok / secs, ok * per / secs, lat))
EOF
  stop_daemon
}

scenarios=("$@")
((${#scenarios[@]})) || scenarios=(logevent-1 logevent-16 logevent-64 stream)
echo "eventd gRPC bench: sync $SYNC, ${SECONDS_}s per scenario, $(nproc) CPUs"
for s in "${scenarios[@]}"; do
  case $s in
    logevent-1) run "$s" /magma.orc8r.EventService/LogEvent "$TMP/logevent.bin" 1 1 1 ;;
    logevent-16) run "$s" /magma.orc8r.EventService/LogEvent "$TMP/logevent.bin" 16 1 1 ;;
    logevent-64) run "$s" /magma.orc8r.EventService/LogEvent "$TMP/logevent.bin" 4 16 1 ;;
    stream) run "$s" /eventd.v1.Events/PublishStream "$TMP/stream.bin" 4 1 $((BATCH * BATCHES)) ;;
    *) die "unknown scenario $s" ;;
  esac
done
