#!/usr/bin/env bash
# bench/ingest_cpu.sh — eventd's CPU cost per ingested event, comparing eventd binaries.
#
#   bench/ingest_cpu.sh LABEL=PATH/TO/eventd [LABEL=PATH/TO/eventd ...]
#
# On a shared 2-core machine events/s says more about the neighbours than about eventd; the
# daemon's own CPU time (utime + stime of all its threads, /proc/PID/stat) divided by the
# events it stored is steady. For every run and load mode each binary gets a fresh daemon
# (fresh data directory, sync batch) in turn — binary A, binary B, A, B... — so that the
# machine's load weighs on both alike; the report gives every run and the medians.
#
# Modes (EVD_CPU_MODES, default "ndjson ids py-http es"):
#   ndjson  loadgen: POST /v1/events, NDJSON batches of 1000, no client ids
#   ids     the same with a unique client id per event (loadgen --ids): the idempotency
#           check runs for every event, as with libeventd
#   es      POST /_bulk through bench/inputs_sender.py (python; its own CPU is not counted)
#   py-http POST /v1/events through the same sender, with the same (smaller, ~230-byte)
#           events as es: the reference for es
# Knobs: EVD_BENCH_RUNS (3), EVD_CPU_EVENTS (500000 per loadgen run), EVD_CPU_ES_SECONDS (5),
# EVD_BENCH_CONNECTIONS (4), EVD_LOADGEN (build-perf/bench/loadgen, else build/bench/loadgen).
# Results: bench/results/ingest-cpu-<date>.{md,json}.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${EVD_BENCH_RUNS:-3}
EVENTS=${EVD_CPU_EVENTS:-500000}
ES_SECONDS=${EVD_CPU_ES_SECONDS:-5}
CONNS=${EVD_BENCH_CONNECTIONS:-4}
MODES=${EVD_CPU_MODES:-"ndjson ids py-http es"}
LOADGEN=${EVD_LOADGEN:-}
if [[ -z $LOADGEN ]]; then
  for c in "$ROOT/build-perf/bench/loadgen" "$ROOT/build/bench/loadgen"; do
    [[ -x $c ]] && { LOADGEN=$c; break; }
  done
fi
[[ -x ${LOADGEN:-} ]] || { echo "ingest_cpu: no loadgen (set EVD_LOADGEN)" >&2; exit 1; }
(($# >= 1)) || { echo "usage: bench/ingest_cpu.sh LABEL=EVENTD [LABEL=EVENTD...]" >&2; exit 2; }
LABELS=()
declare -A BIN
for a in "$@"; do
  [[ $a == *=* ]] || { echo "ingest_cpu: want LABEL=PATH, got '$a'" >&2; exit 2; }
  l=${a%%=*} b=${a#*=}
  [[ -x $b ]] || { echo "ingest_cpu: $b is not executable" >&2; exit 2; }
  LABELS+=("$l")
  BIN[$l]=$b
done
WORK=$(mktemp -d /tmp/evd-ingest-cpu.XXXXXX)
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=$ROOT/bench/results/ingest-cpu-$STAMP
TICK=$(getconf CLK_TCK)
PID=""
trap '[[ -n $PID ]] && kill $PID 2>/dev/null; rm -rf "$WORK"' EXIT

# one_run LABEL MODE — prints one JSON line.
one_run() {
  local label=$1 mode=$2
  rm -rf "$WORK/data"
  rm -f "$WORK/log" # else the wait below can read the previous daemon's port
  "${BIN[$label]}" --data-dir "$WORK/data" --http 127.0.0.1:0 --grpc off --sync batch \
    --log-level warn 2>"$WORK/log" &
  PID=$!
  local port=""
  for _ in $(seq 1 200); do
    port=$(grep -o 'listening on http://[^ ]*' "$WORK/log" 2>/dev/null | sed 's/.*://' || true)
    [[ -n $port ]] && break
    sleep 0.05
  done
  [[ -n $port ]] || { cat "$WORK/log" >&2; exit 1; }
  local psi0 cpu0 cpu1 psi1 t0 t1 events line
  psi0=$(awk '$1 == "some" { sub("total=", "", $5); print $5 }' /proc/pressure/cpu 2>/dev/null || echo 0)
  cpu0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
  t0=$(date +%s%N)
  case $mode in
    ndjson|ids)
      local extra=()
      [[ $mode == ids ]] && extra=(--ids)
      "$LOADGEN" --addr "127.0.0.1:$port" --events "$EVENTS" --connections "$CONNS" --batch 1000 \
        "${extra[@]}" >"$WORK/lg.txt" || { cat "$WORK/lg.txt" >&2; exit 1; }
      events=$EVENTS ;;
    es|py-http)
      line=$(/usr/bin/python3 "$ROOT/bench/inputs_sender.py" "${mode#py-}" 127.0.0.1 "$port" --http-port "$port" \
        -c "$CONNS" -b 1000 -d "$ES_SECONDS")
      events=$(echo "$line" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["stored"])') ;;
    *) echo "ingest_cpu: unknown mode $mode" >&2; exit 2 ;;
  esac
  t1=$(date +%s%N)
  cpu1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
  psi1=$(awk '$1 == "some" { sub("total=", "", $5); print $5 }' /proc/pressure/cpu 2>/dev/null || echo 0)
  kill -TERM $PID
  wait $PID || { echo "ingest_cpu: eventd ($label) did not exit cleanly" >&2; exit 1; }
  PID=""
  /usr/bin/python3 -c 'import json, sys
l, m, ev, c0, c1, t0, t1, p0, p1, tick = sys.argv[1:]
ev, sec = int(ev), (int(t1) - int(t0)) / 1e9
cpu = (int(c1) - int(c0)) / int(tick)
print(json.dumps({"binary": l, "mode": m, "events": ev, "seconds": round(sec, 2),
  "events_per_s": round(ev / sec), "daemon_cpu_s": cpu,
  "cpu_us_per_event": round(cpu * 1e6 / max(ev, 1), 3),
  "cpu_pressure_pct": round((int(p1) - int(p0)) / 1e4 / sec, 1)}))' \
    "$label" "$mode" "$events" "$cpu0" "$cpu1" "$t0" "$t1" "$psi0" "$psi1" "$TICK"
}

: >"$OUT.jsonl"
for r in $(seq 1 "$RUNS"); do
  for mode in $MODES; do
    for label in "${LABELS[@]}"; do
      one_run "$label" "$mode" | tee -a "$OUT.jsonl"
    done
  done
done

/usr/bin/python3 - "$OUT" "$@" <<EOF
import json, statistics, sys, os
out, pairs = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
labels = [l for l, _ in pairs]
rows = [json.loads(l) for l in open(out + ".jsonl") if l.strip()]
modes = []
for r in rows:
    if r["mode"] not in modes: modes.append(r["mode"])
med = {}
with open(out + ".md", "w") as f:
    f.write("# ingest CPU per event (%s)\n\n" % os.path.basename(out))
    f.write("Daemon utime+stime (all threads) per stored event; sync batch; batches of 1000, "
            "$CONNS connections; binaries interleaved run by run; medians of $RUNS runs.\n\n")
    for l, b in pairs:
        f.write("- %s: \`%s\`\n" % (l, b))
    f.write("\n| mode | " + " | ".join("%s µs/event" % l for l in labels) + " | runs (µs/event) |\n")
    f.write("|---|" + "---|" * len(labels) + "---|\n")
    for m in modes:
        cells, runs = [], []
        for l in labels:
            xs = [r["cpu_us_per_event"] for r in rows if r["mode"] == m and r["binary"] == l]
            med.setdefault(m, {})[l] = statistics.median(xs)
            cells.append("%.3f" % statistics.median(xs))
            runs.append("%s: %s" % (l, ", ".join("%.2f" % x for x in xs)))
        f.write("| %s | %s | %s |\n" % (m, " | ".join(cells), "; ".join(runs)))
    f.write("\nEvery run (events/s and CPU pressure: the share of the run some task waited for a CPU):\n\n")
    for r in rows:
        f.write("- %s %s: %d events, %.2f s, %d events/s, daemon CPU %.2f s = %.3f µs/event, CPU pressure %.1f %%\n" % (
            r["binary"], r["mode"], r["events"], r["seconds"], r["events_per_s"], r["daemon_cpu_s"], r["cpu_us_per_event"], r["cpu_pressure_pct"]))
json.dump({"medians": med, "runs": rows}, open(out + ".json", "w"), indent=1)
print(open(out + ".md").read())
EOF
rm -f "$OUT.jsonl"
