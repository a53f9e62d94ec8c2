#!/usr/bin/env bash
# bench/delivery_bench.sh — end-to-end delivery latency of the outputs (issue 4): POST ack ->
# webhook receiver (local Python receiver) and -> Kafka (librdkafka mock cluster, consumed
# with kcat) at 1k, 10k and 50k events/s (p50/p99/max), and the maximum sustained delivery
# rate of a backlog. Runs bench/delivery_bench.py RUNS times per destination and writes the
# medians to bench/results/delivery-<date>.{md,json}.
#
# Knobs: EVD_BUILD_DIR (an optimized build: RelWithDebInfo without sanitizers; default
# build/), EVD_BENCH_RUNS (3), EVD_DELIVERY_DURATION (seconds per rate, 5),
# EVD_DELIVERY_RATES (1000,10000,50000), EVD_DELIVERY_BACKLOG (100000), EVD_DELIVERY_BATCH
# (`batch` member, 100), EVD_DELIVERY_DESTS (webhook kafka amqp file: amqp starts a private
# rabbitmq-server on loopback as the amqp tests do; file measures the sustained rate only,
# its latency rows being those of a local fdatasync).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${EVD_BUILD_DIR:-$here/../build}
runs=${EVD_BENCH_RUNS:-3}
dests=${EVD_DELIVERY_DESTS:-webhook kafka amqp file}
stamp=$(date -u +%Y%m%d-%H%M%S)
work=$(mktemp -d)
amqp_port=0
if [[ " $dests " == *" amqp "* ]]; then
  # the tests' private RabbitMQ node (tests/integration/amqp/rabbit.sh) needs these three
  EVD_TMP=$work EVD_SOURCE_DIR=$here/..
  evd_fail() { echo "delivery_bench: $*" >&2; exit 1; }
  source "$here/../tests/integration/amqp/rabbit.sh"
  trap 'rabbit_cleanup; rm -rf "$work"' EXIT
  rabbit_start
  amqp_port=$RABBIT_PORT
else
  trap 'rm -rf "$work"' EXIT
fi
for dest in $dests; do
  for r in $(seq 1 "$runs"); do
    echo "== $dest run $r/$runs"
    /usr/bin/python3 "$here/delivery_bench.py" --eventd "$build/eventd" --dest "$dest" \
      --amqp-port "$amqp_port" \
      --kafka-mock "$build/evd-kafka-mock" \
      --rates "$([[ $dest == file ]] || echo "${EVD_DELIVERY_RATES:-1000,10000,50000}")" \
      --duration "${EVD_DELIVERY_DURATION:-5}" --backlog "${EVD_DELIVERY_BACKLOG:-100000}" \
      --batch "${EVD_DELIVERY_BATCH:-100}" --json "$work/$dest-$r.json"
  done
done
mkdir -p "$here/results"
/usr/bin/python3 - "$work" "$here/results/delivery-$stamp" "$runs" <<'PY'
import glob, json, statistics, sys, os
work, out, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
res = {}
for f in sorted(glob.glob(os.path.join(work, "*.json"))):
    d = json.load(open(f))
    res.setdefault(d["dest"], []).append(d)
summary = {"runs": runs, "cpu": os.cpu_count(), "dests": {}}
lines = ["# Delivery latency and rate (bench/delivery_bench.sh)", "",
         "Median of %d runs; latency = receiver arrival - POST ack (0 when the event arrived "
         "before the client saw its ack). Machine: %d CPUs shared with other jobs." % (runs, os.cpu_count()), ""]
for dest, ds in res.items():
    rows = []
    for i, r in enumerate(ds[0]["rates"]):
        col = lambda k: statistics.median(d["rates"][i][k] for d in ds)
        rows.append({k: col(k) for k in ("target_rate", "achieved_rate", "p50_ms", "p99_ms", "max_ms")})
    sus = statistics.median(d["sustained"]["events_per_s"] for d in ds)
    summary["dests"][dest] = {"rates": rows, "sustained_events_per_s": sus, "batch": ds[0]["batch"],
                              "raw": ds}
    lines += ["## %s (batch %d)" % (dest, ds[0]["batch"]), "",
              "| target ev/s | achieved ev/s | p50 ms | p99 ms | max ms |", "|---|---|---|---|---|"]
    if not rows:
        lines[-2:] = ["(sustained rate only)"]
    for r in rows:
        lines.append("| %d | %d | %.2f | %.2f | %.2f |" % (r["target_rate"], r["achieved_rate"],
                     r["p50_ms"], r["p99_ms"], r["max_ms"]))
    lines += ["", "Sustained delivery of a %d-event backlog: **%d events/s**." %
              (ds[0]["sustained"]["events"], sus), ""]
open(out + ".json", "w").write(json.dumps(summary, indent=1))
open(out + ".md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
print("written:", out + ".md", out + ".json")
PY
