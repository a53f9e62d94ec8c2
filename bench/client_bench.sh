#!/usr/bin/env bash
# bench/client_bench.sh — libeventd benchmark (docs/client.md, "Figures"): evd_emit cost on
# the caller's thread with eventd up, down and slow, and one client process's sustained
# events/s into eventd. Writes bench/results/client-<date>.txt (every run, then medians).
#
# Knobs: EVD_BUILD_DIR (a RelWithDebInfo build without sanitizers, default build/),
# EVD_BENCH_RUNS (3), EVD_CLIENT_BENCH_EVENTS (200000 for latency), EVD_CLIENT_BENCH_RATE
# (50000 events/s), EVD_CLIENT_BENCH_TPUT_EVENTS (1000000). The throughput rows also give the
# client's CPU per event (client_bench: getrusage) and, into eventd, eventd's (/proc stat);
# tput-loadgen-1conn (if bench/loadgen is built) is eventd's own ceiling for one connection.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${EVD_BUILD_DIR:-$ROOT/build}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
BENCH=$BUILD/bench/client_bench
EVENTD=$BUILD/eventd
RUNS=${EVD_BENCH_RUNS:-3}
N=${EVD_CLIENT_BENCH_EVENTS:-200000}
RATE=${EVD_CLIENT_BENCH_RATE:-50000}
TN=${EVD_CLIENT_BENCH_TPUT_EVENTS:-1000000}
for b in "$BENCH" "$EVENTD"; do [[ -x $b ]] || { echo "missing $b (build first)" >&2; exit 1; }; done
WORK=$(mktemp -d /tmp/evd-client-bench-XXXXXX)
OUT=$ROOT/bench/results/client-$(date -u +%Y%m%d-%H%M%S).txt
mkdir -p "$ROOT/bench/results"
DPID=""
cleanup() { [[ -n $DPID ]] && kill "$DPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

"$EVENTD" --data-dir "$WORK/data" --http 127.0.0.1:0 --grpc off 2>"$WORK/eventd.log" &
DPID=$!
for _ in $(seq 1 100); do grep -q 'listening on http' "$WORK/eventd.log" && break; sleep 0.05; done
URL=$(grep -o 'http://[0-9.:]*' "$WORK/eventd.log" | head -1)
[[ -n $URL ]] || { echo "eventd did not start" >&2; exit 1; }
unset EVENTD_URL EVENTD_SPOOL

HZ=$(getconf CLK_TCK)
eventd_ticks() { awk '{print $14 + $15}' "/proc/$DPID/stat"; }

run() { # name, then env assignments and the client_bench arguments
  local name=$1; shift
  local i line t0 t1 n
  for i in $(seq 1 "$RUNS"); do
    rm -rf "$WORK/spool"
    t0=$(eventd_ticks)
    line=$(env "$@")
    t1=$(eventd_ticks)
    # throughput into eventd: also eventd's CPU per event (both share this machine's cores)
    if [[ $name == tput && $line =~ events=([0-9]+) ]]; then
      n=${BASH_REMATCH[1]}
      line="$line eventd_cpu_us_per_event=$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v n="$n" \
        'BEGIN { printf "%.3f", (b - a) / hz * 1e6 / n }')"
    fi
    echo "$name run=$i $line" | tee -a "$OUT"
  done
}

{
  echo "# libeventd client benchmark, $(date -u +%FT%TZ), $(nproc) CPUs, $(uname -r)"
  echo "# build: $BUILD; eventd: $URL (sync batch, fresh data dir); runs: $RUNS"
  echo "# latency: $N events at $RATE/s, ns per evd_emit (event built before the timed call)"
  echo "# cpu pressure before: $(head -1 /proc/pressure/cpu 2>/dev/null)"
} >"$OUT"
run up          EVENTD_SPOOL= "$BENCH" latency "$URL" "$N" "$RATE"
run down-spool  EVENTD_SPOOL="$WORK/spool" "$BENCH" latency down "$N" "$RATE"
run down-memory EVENTD_SPOOL= "$BENCH" latency down 50000 "$RATE"
run slow-spool  EVENTD_SPOOL="$WORK/spool" "$BENCH" latency slow "$N" "$RATE"
run tput        EVENTD_SPOOL= "$BENCH" throughput "$URL" "$TN"
run tput-spool-always EVENTD_SPOOL="$WORK/spool" EVENTD_SPOOL_MODE=always "$BENCH" throughput "$URL" "$TN"
run tput-sink     EVENTD_SPOOL= "$BENCH" throughput sink "$TN"
# eventd's ceiling for one connection, one request at a time, with bodies built in advance
# (bench/loadgen: ~0.2 us of client CPU per event): what tput would give with a free client
if [[ -x $BUILD/bench/loadgen ]]; then
  for i in $(seq 1 "$RUNS"); do
    r=$("$BUILD/bench/loadgen" --addr "${URL#http://}" --connections 1 --batch 1000 \
        --events "$TN" 2>&1 | grep -o '[0-9]* events/s' | head -1 | cut -d' ' -f1)
    echo "tput-loadgen-1conn run=$i mode=throughput delivered_rate=${r:-0} emit_rate=0" | tee -a "$OUT"
  done
fi
# eventd's ceiling on this machine now: 4 client processes at once (aggregate events/s)
for i in $(seq 1 "$RUNS"); do
  start=$(date +%s%N)
  pids=()
  for k in 1 2 3 4; do EVENTD_SPOOL= "$BENCH" throughput "$URL" $((TN / 4)) >/dev/null & pids+=($!); done
  wait "${pids[@]}"
  echo "tput-4-clients run=$i mode=throughput delivered_rate=$(( TN * 1000 / (($(date +%s%N) - start) / 1000000) )) emit_rate=0" | tee -a "$OUT"
done
echo "# cpu pressure after: $(head -1 /proc/pressure/cpu 2>/dev/null)" >>"$OUT"

python3 - "$OUT" <<'PY' | tee -a "$OUT"
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or " run=" not in line:
        continue
    name = line.split()[0]
    kv = dict(re.findall(r"(\w+)=([^\s]+)", line))
    rows.setdefault(name, []).append(kv)
print("# medians")
for name, rs in rows.items():
    def med(k):
        vals = [float(r[k]) for r in rs if k in r]
        return statistics.median(vals) if vals else float("nan")
    if rs[0].get("mode") == "latency":
        print(f"{name:18} p50={med('p50_ns'):.0f}ns p99={med('p99_ns'):.0f}ns "
              f"p99.9={med('p999_ns'):.0f}ns max={med('max_ns'):.0f}ns build={med('build_ns'):.0f}ns "
              f"dropped={med('dropped'):.0f}")
    else:
        extra = ""
        if "client_cpu_us_per_event" in rs[0]:
            extra += f" client_cpu={med('client_cpu_us_per_event'):.2f}us/event"
        if "eventd_cpu_us_per_event" in rs[0]:
            extra += f" eventd_cpu={med('eventd_cpu_us_per_event'):.2f}us/event"
        print(f"{name:18} delivered={med('delivered_rate'):.0f} events/s "
              f"(emit {med('emit_rate'):.0f}/s){extra}")
PY
echo "results: $OUT" >&2
