#!/usr/bin/env bash
# bench/inputs_bench.sh — per-input ingest throughput in one run: POST /v1/events NDJSON (the
# reference), forward PackedForward (acked), Elasticsearch _bulk (when the endpoint exists),
# syslog over TCP and JSON lines over TCP. Each case RUNS times against one eventd (fresh
# data directory, sync batch); medians of events/s, MiB/s (wire bytes) and ack latency
# (p50/p99 per batch; none for syslog/lines, whose time runs until every event sent is
# stored). Results: bench/results/inputs-<date>.{md,json}.
#
# Knobs: EVD_BUILD_DIR (default build/; use a RelWithDebInfo build), EVD_BENCH_RUNS (3),
# EVD_BENCH_DURATION (10 s), EVD_BENCH_CONNECTIONS (4), EVD_BENCH_BATCH (500),
# EVD_BENCH_ARGS (more daemon arguments, e.g. "--set limits.socket_rate_per_peer=100000000"
# to measure the per-event rate limiter's cost),
# EVD_BENCH_MODES ("http forward es syslog lines"), EVD_BENCH_RETENTION (2GiB: the store's
# retention.max_bytes, so that the runs do not fill the disk; "stored" is the input's
# eventd_input_events_total{outcome="accepted"}, which retention does not lower).
# The sender is python (bench/inputs_sender.py, one process per connection, payloads built
# once): on this 2-core machine it shares the CPU with the daemon, so figures are a floor.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${EVD_BUILD_DIR:-$ROOT/build}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
RUNS=${EVD_BENCH_RUNS:-3}
DUR=${EVD_BENCH_DURATION:-10}
CONNS=${EVD_BENCH_CONNECTIONS:-4}
BATCH=${EVD_BENCH_BATCH:-500}
MODES=${EVD_BENCH_MODES:-"http forward es syslog lines"}
WORK=$(mktemp -d /tmp/evd-inputs-bench.XXXXXX)
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=$ROOT/bench/results/inputs-$STAMP
PY=/usr/bin/python3

# Retention bounds the disk: at ~400k events/s a 10 s run stores ~3 GB.
"$BUILD/eventd" --data-dir "$WORK/data" --http 127.0.0.1:0 --grpc off --forward 127.0.0.1:0 \
  --syslog 127.0.0.1:0 --lines 127.0.0.1:0 --log-level warn \
  --set retention.max_bytes="${EVD_BENCH_RETENTION:-2GiB}" ${EVD_BENCH_ARGS:-} >"$WORK/log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do grep -q 'lines listening' "$WORK/log" && break; sleep 0.05; done
addr() { grep -o "eventd: $1 listening on [^ ]*" "$WORK/log" | sed 's/.*://'; }
HPORT=$(grep -o 'listening on http://[^ ]*' "$WORK/log" | sed 's/.*://')
declare -A PORT=([http]=$HPORT [es]=$HPORT [forward]=$(addr forward) [syslog]=$(addr syslog) [lines]=$(addr lines))

: >"$OUT.jsonl"
RUN_MODES=""
for mode in $MODES; do
  if [[ $mode == es ]] && [[ $(curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Content-Type: application/x-ndjson' \
        --data-binary $'{"create":{"_index":"probe"}}\n{"type":"probe"}\n' "http://127.0.0.1:$HPORT/_bulk") != 200 ]]; then
    echo "es: POST /_bulk is not there (yet): skipped" | tee -a "$OUT.skipped"
    continue
  fi
  RUN_MODES="$RUN_MODES $mode"
done
# Interleaved (run 1 of every input, then run 2...), so that the machine's load, which
# varies a lot, weighs on every input alike.
for r in $(seq 1 "$RUNS"); do
  for mode in $RUN_MODES; do
    cpu0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
    line=$($PY "$ROOT/bench/inputs_sender.py" "$mode" 127.0.0.1 "${PORT[$mode]}" --http-port "$HPORT" \
      -c "$CONNS" -b "$BATCH" -d "$DUR") || { echo "$mode run $r failed: $line"; exit 1; }
    cpu1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
    # The daemon's CPU time per stored event: far steadier than events/s on a shared machine.
    line=$($PY -c 'import json, sys, os
d = json.loads(sys.argv[1]); tick = os.sysconf("SC_CLK_TCK")
d["daemon_cpu_us_per_event"] = round((int(sys.argv[3]) - int(sys.argv[2])) / tick * 1e6 / max(d["stored"], 1), 2)
print(json.dumps(d))' "$line" "$cpu0" "$cpu1")
    echo "$line" | tee -a "$OUT.jsonl"
  done
done
kill -TERM $PID; wait $PID || { echo "eventd did not exit cleanly"; exit 1; }

$PY - "$OUT" "$CONNS" "$BATCH" "$DUR" "${EVD_BENCH_ARGS:-}" <<'EOF'
import json, statistics, sys, os, platform
out, conns, batch, dur, extra = sys.argv[1:]
rows = [json.loads(l) for l in open(out + ".jsonl") if l.strip()]
modes = []
for r in rows:
    if r["mode"] not in modes: modes.append(r["mode"])
med = {}
for m in modes:
    rs = [r for r in rows if r["mode"] == m]
    med[m] = {k: statistics.median(r[k] for r in rs) for k in ("events_per_s", "mib_per_s", "ack_p50_ms", "ack_p99_ms", "daemon_cpu_us_per_event")}
    med[m]["runs"] = len(rs)
    med[m]["stored_all"] = all(r["stored"] == r["events"] for r in rs)
ref = med.get("http", {}).get("events_per_s")
with open(out + ".md", "w") as f:
    f.write("# inputs: per-input ingest throughput (%s)\n\n" % os.path.basename(out))
    f.write("%s connections, batches of %s events, %s s per run, medians of the runs; sync batch; "
            "python sender on the same 2-core machine (a floor, not a ceiling); runs interleaved "
            "(run 1 of every input, then run 2...).\n\n" % (conns, batch, dur))
    f.write("Extra daemon arguments (EVD_BENCH_ARGS): %s\n\n" % (("`%s`" % extra) if extra else "none"))
    f.write("| input | events/s | MiB/s | ack p50 ms | ack p99 ms | vs POST /v1/events | daemon CPU us/event | runs | all stored |\n|---|---|---|---|---|---|---|---|---|\n")
    for m in modes:
        x = med[m]
        rel = "%.2fx" % (x["events_per_s"] / ref) if ref else "-"
        ack = ("%.1f" % x["ack_p50_ms"], "%.1f" % x["ack_p99_ms"]) if m in ("http", "es", "forward") else ("-", "-")
        f.write("| %s | %d | %.1f | %s | %s | %s | %.2f | %d | %s |\n" % (m, x["events_per_s"], x["mib_per_s"], ack[0], ack[1], rel, x["daemon_cpu_us_per_event"], x["runs"], x["stored_all"]))
    if os.path.exists(out + ".skipped"):
        f.write("\n" + open(out + ".skipped").read())
json.dump({"medians": med, "runs": rows, "daemon_args": extra}, open(out + ".json", "w"), indent=1)
print(open(out + ".md").read())
EOF
rm -f "$OUT.jsonl" "$OUT.skipped"
exit 0
