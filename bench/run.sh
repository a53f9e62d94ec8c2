#!/usr/bin/env bash
# bench/run.sh [scenario...] — run eventd benchmark scenarios and write the results to
# bench/results/<scenario>-<date>.{md,json} (docs/performance.md explains each one).
#
# Scenarios: ingest ingest-always ingest-small idle-rss query profile-ingest
#            (default: ingest ingest-always ingest-small idle-rss query)
#
# Each scenario starts its own eventd (built in $EVD_BUILD_DIR, default build/) on
# 127.0.0.1 with a free port and a data directory under bench/work/, samples the daemon's
# RSS from /proc while the load runs, and stops it with SIGTERM (it must exit 0).
#
# Knobs (environment): EVD_BUILD_DIR, EVD_BENCH_RUNS (3), EVD_BENCH_DURATION (20 s),
# EVD_BENCH_CONNECTIONS (16), EVD_BENCH_WARMUP (2 s), EVD_BENCH_QUERY_EVENTS (10000000),
# EVD_BENCH_QUERY_REQUESTS (200 per scenario and run), EVD_BENCH_TYPES (10),
# EVD_BENCH_TAGS (100000), EVD_BENCH_DAEMON_ARGS (extra eventd flags),
# EVD_BENCH_WORK (bench/work), EVD_BENCH_KEEP (1 = keep ingest data dirs).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${EVD_BUILD_DIR:-$ROOT/build}
[[ $BUILD = /* ]] || BUILD=$ROOT/$BUILD
EVENTD=$BUILD/eventd
LOADGEN=$BUILD/bench/loadgen
QUERYBENCH=$BUILD/bench/querybench
WORK=${EVD_BENCH_WORK:-$ROOT/bench/work}
RESULTS=$ROOT/bench/results
RUNS=${EVD_BENCH_RUNS:-3}
DURATION=${EVD_BENCH_DURATION:-20}
CONNS=${EVD_BENCH_CONNECTIONS:-16}
WARMUP=${EVD_BENCH_WARMUP:-2}
QUERY_EVENTS=${EVD_BENCH_QUERY_EVENTS:-10000000}
QUERY_REQUESTS=${EVD_BENCH_QUERY_REQUESTS:-200}
TYPES=${EVD_BENCH_TYPES:-10}
TAGS=${EVD_BENCH_TAGS:-100000}
read -r -a DAEMON_ARGS <<<"${EVD_BENCH_DAEMON_ARGS:-}"
STAMP=$(date -u +%Y%m%d-%H%M%S)

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

for bin in "$EVENTD" "$LOADGEN" "$QUERYBENCH"; do
  [[ -x $bin ]] || die "$bin is missing; build first (make build, or EVD_BUILD_DIR=...)"
done
command -v python3 >/dev/null || die "python3 is needed for the reports (make setup)"
mkdir -p "$WORK" "$RESULTS"

DAEMON_PID=""
SAMPLER_PID=""
ADDR=""
cleanup() {
  [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null || true
  [[ -n $DAEMON_PID ]] && kill -TERM "$DAEMON_PID" 2>/dev/null || true
}
trap cleanup EXIT

# start_daemon DATADIR SYNC LOG — starts eventd, sets DAEMON_PID, ADDR, STARTUP_MS.
start_daemon() {
  local dir=$1 sync=$2 logf=$3
  mkdir -p "$dir"
  local t0
  t0=$(date +%s%N)
  "$EVENTD" --data-dir "$dir" --http 127.0.0.1:0 --sync "$sync" --log-level warn \
    "${DAEMON_ARGS[@]}" 2>"$logf" &
  DAEMON_PID=$!
  local line=""
  for _ in $(seq 1 600); do
    line=$(grep -m1 -o 'eventd: listening on http://[^ ]*' "$logf" 2>/dev/null || true)
    [[ -n $line ]] && break
    kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$logf" >&2; DAEMON_PID=""; die "eventd exited during startup"; }
    sleep 0.1
  done
  [[ -n $line ]] || { cat "$logf" >&2; die "eventd did not print its listening line within 60 s"; }
  STARTUP_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
  ADDR=${line#eventd: listening on http://}
}

# stop_daemon — SIGTERM, wait (at most 60 s), check the exit status.
stop_daemon() {
  [[ -n $DAEMON_PID ]] || return 0
  kill -TERM "$DAEMON_PID"
  local rc=0
  for _ in $(seq 1 600); do
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$DAEMON_PID" 2>/dev/null; then
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null || true
    DAEMON_PID=""
    die "eventd did not exit within 60 s of SIGTERM"
  fi
  wait "$DAEMON_PID" || rc=$?
  DAEMON_PID=""
  [[ $rc -eq 0 ]] || die "eventd exited with status $rc after SIGTERM"
}

# status_kib FIELD — VmRSS / VmHWM of the daemon in KiB.
status_kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$DAEMON_PID/status"; }
# cpu_ticks — utime + stime of the daemon, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat"; }
CLK_TCK=$(getconf CLK_TCK)

# start_sampler FILE — write the daemon's VmRSS (KiB) every 0.2 s to FILE.
start_sampler() {
  local f=$1 pid=$DAEMON_PID
  : >"$f"
  ( while kill -0 "$pid" 2>/dev/null; do
      awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status" 2>/dev/null >>"$f" || true
      sleep 0.2
    done ) &
  SAMPLER_PID=$!
}
stop_sampler() {
  [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
}
max_of() { sort -n "$1" | tail -1; }

# machine_json — the machine and build the figures belong to.
machine_json() {
  local commit dirty
  commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  dirty=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | wc -l)
  python3 - "$commit" "$dirty" "$BUILD" "$WORK" <<'EOF'
import json, os, platform, shutil, subprocess, sys
commit, dirty, build, work = sys.argv[1:5]
cpu = "unknown"
for l in open("/proc/cpuinfo"):
    if l.startswith("model name"):
        cpu = l.split(":", 1)[1].strip(); break
mem = 0
for l in open("/proc/meminfo"):
    if l.startswith("MemTotal:"):
        mem = int(l.split()[1]) // 1024
btype = "unknown"
try:
    for l in open(os.path.join(build, "CMakeCache.txt")):
        if l.startswith("CMAKE_BUILD_TYPE:"):
            btype = l.split("=", 1)[1].strip()
except OSError:
    pass
du = shutil.disk_usage(work)
print(json.dumps({
    "nproc": os.cpu_count(), "cpu": cpu, "mem_mib": mem, "kernel": platform.release(),
    "disk_free_gib": round(du.free / 2**30, 1), "disk_total_gib": round(du.total / 2**30, 1),
    "commit": commit + ("+%s-modified" % dirty if dirty != "0" else ""),
    "build_dir": build, "build_type": btype,
    "loadavg": open("/proc/loadavg").read().split()[:3],
}))
EOF
}

# report SCENARIO RUNS_FILE EXTRA_JSON — write results/<scenario>-<stamp>.{json,md}.
report() {
  local scen=$1 runs=$2 extra=$3 out=$RESULTS/$1-$STAMP
  machine_json >"$out.machine.json"
  python3 "$ROOT/bench/report.py" "$scen" "$runs" "$out.machine.json" "$extra" "$out"
  rm -f "$out.machine.json"
  log "wrote $out.md"
  cat "$out.md" >&2
}

# ingest_run SYNC BATCH RUNS_FILE INDEX — one timed ingest run on a fresh data dir;
# appends one JSON line (loadgen figures + daemon RSS/CPU/disk) to RUNS_FILE.
ingest_run() {
  local sync=$1 batch=$2 runs=$3 i=$4
  local dir=$WORK/ingest-$sync-$batch-$i
  rm -rf "$dir"
  start_daemon "$dir" "$sync" "$WORK/eventd-$i.log"
  local rss0 cpu0 cpu1 hwm rssmax out cmd
  rss0=$(status_kib VmRSS)
  start_sampler "$WORK/rss-$i.txt"
  cpu0=$(cpu_ticks)
  cmd=("$LOADGEN" --addr "$ADDR" --connections "$CONNS" --batch "$batch"
       --duration "$DURATION" --warmup "$WARMUP" --types "$TYPES" --tags "$TAGS" --json)
  log "run $i: ${cmd[*]}"
  out=$(timeout $((DURATION + 120)) "${cmd[@]}") || log "run $i: loadgen reported errors"
  cpu1=$(cpu_ticks)
  hwm=$(status_kib VmHWM)
  stop_sampler
  rssmax=$(max_of "$WORK/rss-$i.txt")
  stop_daemon
  local disk
  disk=$(du -sb "$dir" | cut -f1)
  [[ ${EVD_BENCH_KEEP:-0} = 1 ]] || rm -rf "$dir"
  [[ -n $out ]] || die "run $i: loadgen printed nothing"
  python3 -c 'import json,sys
r = json.loads(sys.argv[1])
r.update(run=int(sys.argv[2]), daemon_rss_start_kib=int(sys.argv[3]), daemon_rss_max_kib=int(sys.argv[4]),
         daemon_hwm_kib=int(sys.argv[5]), daemon_cpu_s=round(int(sys.argv[6]) / int(sys.argv[7]), 2),
         disk_bytes=int(sys.argv[8]), command=sys.argv[9])
print(json.dumps(r))' "$out" "$i" "$rss0" "$rssmax" "$hwm" "$((cpu1 - cpu0))" "$CLK_TCK" "$disk" \
    "${cmd[*]}" >>"$runs"
}

# scenario_ingest NAME SYNC BATCH
scenario_ingest() {
  local name=$1 sync=$2 batch=$3 runs=$WORK/$1-runs.jsonl
  : >"$runs"
  log "$name: $RUNS runs of ${DURATION} s, sync=$sync, batch $batch, $CONNS connections"
  for i in $(seq 1 "$RUNS"); do ingest_run "$sync" "$batch" "$runs" "$i"; done
  report "$name" "$runs" "{\"sync\":\"$sync\",\"batch\":$batch,\"connections\":$CONNS,\"duration_s\":$DURATION,\"warmup_s\":$WARMUP,\"daemon\":\"$EVENTD --data-dir DIR --http 127.0.0.1:0 --sync $sync --log-level warn ${DAEMON_ARGS[*]}\"}"
}

# scenario_idle_rss — RSS of a fresh idle daemon, under three 10 s load phases, idle after
# load, and after a restart on the data written.
scenario_idle_rss() {
  local dir=$WORK/idle-rss runs=$WORK/idle-rss-runs.jsonl
  rm -rf "$dir"
  : >"$runs"
  start_daemon "$dir" batch "$WORK/eventd-idle.log"
  sleep 5
  local phase rssmax out events_total=0
  echo "{\"phase\":\"fresh idle (5 s after start)\",\"rss_kib\":$(status_kib VmRSS),\"hwm_kib\":$(status_kib VmHWM),\"events_stored\":0}" >>"$runs"
  for phase in 1 2 3; do
    start_sampler "$WORK/rss-idle-$phase.txt"
    out=$("$LOADGEN" --addr "$ADDR" --connections "$CONNS" --batch 1000 --duration 10 \
      --types "$TYPES" --tags "$TAGS" --seed "$phase" --json) || log "idle-rss: loadgen reported errors"
    stop_sampler
    rssmax=$(max_of "$WORK/rss-idle-$phase.txt")
    events_total=$((events_total + $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["events"])' "$out")))
    echo "{\"phase\":\"load phase $phase (10 s, batch 1000, $CONNS conns)\",\"rss_kib\":$rssmax,\"hwm_kib\":$(status_kib VmHWM),\"events_stored\":$events_total}" >>"$runs"
  done
  sleep 5
  echo "{\"phase\":\"idle 5 s after load\",\"rss_kib\":$(status_kib VmRSS),\"hwm_kib\":$(status_kib VmHWM),\"events_stored\":$events_total}" >>"$runs"
  stop_daemon
  start_daemon "$dir" batch "$WORK/eventd-idle2.log"
  sleep 5
  echo "{\"phase\":\"idle 5 s after restart on the stored data\",\"rss_kib\":$(status_kib VmRSS),\"hwm_kib\":$(status_kib VmHWM),\"events_stored\":$events_total,\"startup_ms\":$STARTUP_MS}" >>"$runs"
  stop_daemon
  local disk
  disk=$(du -sb "$dir" | cut -f1)
  rm -rf "$dir"
  report idle-rss "$runs" "{\"disk_bytes\":$disk}"
}

# scenario_query — load QUERY_EVENTS events spread over 24 h (once; kept under
# bench/work/query-<N>), restart eventd on them, run querybench RUNS times.
scenario_query() {
  local dir=$WORK/query-$QUERY_EVENTS runs=$WORK/query-runs.jsonl load_json="null"
  local marker=$dir/.bench-dataset
  if [[ ! -f $marker ]]; then
    rm -rf "$dir"
    log "query: loading $QUERY_EVENTS events spread over 24 h into $dir (once; reused later)"
    start_daemon "$dir" batch "$WORK/eventd-load.log"
    local cmd=("$LOADGEN" --addr "$ADDR" --connections 8 --batch 1000 --events "$QUERY_EVENTS"
               --time-spread 86400 --types "$TYPES" --tags "$TAGS" --progress --json)
    log "${cmd[*]}"
    load_json=$("${cmd[@]}") || { stop_daemon; die "query: loading the dataset failed: $load_json"; }
    stop_daemon
    echo "{\"events\":$QUERY_EVENTS,\"types\":$TYPES,\"tags\":$TAGS,\"load\":$load_json}" >"$marker"
  else
    log "query: reusing the dataset in $dir"
  fi
  local meta
  meta=$(cat "$marker")
  local mtypes mtags
  mtypes=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["types"])' "$meta")
  mtags=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["tags"])' "$meta")
  start_daemon "$dir" batch "$WORK/eventd-query.log"
  local startup=$STARTUP_MS rss_open
  sleep 2
  rss_open=$(status_kib VmRSS)
  : >"$runs"
  start_sampler "$WORK/rss-query.txt"
  local i out cmd
  for i in $(seq 1 "$RUNS"); do
    cmd=("$QUERYBENCH" --addr "$ADDR" --requests "$QUERY_REQUESTS" --types "$mtypes"
         --tags "$mtags" --seed "$i" --json)
    log "run $i: ${cmd[*]}"
    out=$(timeout 1800 "${cmd[@]}") || log "run $i: querybench reported errors"
    [[ -n $out ]] || { stop_sampler; stop_daemon; die "run $i: querybench printed nothing"; }
    python3 -c 'import json,sys
r = json.loads(sys.argv[1]); r.update(run=int(sys.argv[2]), command=sys.argv[3]); print(json.dumps(r))' \
      "$out" "$i" "${cmd[*]}" >>"$runs"
  done
  stop_sampler
  local hwm rssmax disk
  hwm=$(status_kib VmHWM)
  rssmax=$(max_of "$WORK/rss-query.txt")
  stop_daemon
  disk=$(du -sb "$dir" | cut -f1)
  report query "$runs" "{\"dataset\":$meta,\"dataset_dir\":\"$dir\",\"disk_bytes\":$disk,\"startup_ms\":$startup,\"rss_after_open_kib\":$rss_open,\"rss_max_kib\":$rssmax,\"hwm_kib\":$hwm}"
}

# scenario_profile_ingest — perf profile of eventd under the ingest load (sync=batch).
scenario_profile_ingest() {
  command -v perf >/dev/null || die "profile-ingest needs perf (linux-perf)"
  local dir=$WORK/profile out=$RESULTS/profile-ingest-$STAMP
  rm -rf "$dir"
  start_daemon "$dir" batch "$WORK/eventd-profile.log"
  "$LOADGEN" --addr "$ADDR" --connections "$CONNS" --batch 1000 --duration $((DURATION + 5)) \
    --types "$TYPES" --tags "$TAGS" >"$out.loadgen.txt" &
  local lg=$!
  sleep 3
  perf record -e cpu-clock -F 499 -g -p "$DAEMON_PID" -o "$WORK/perf.data" -- sleep "$DURATION" \
    2>"$WORK/perf-record.log" || die "perf record failed: $(cat "$WORK/perf-record.log")"
  wait "$lg" || log "profile: loadgen reported errors"
  stop_daemon
  rm -rf "$dir"
  {
    echo "# eventd ingest profile ($STAMP)"
    echo
    echo "perf record -e cpu-clock -F 499 -g -p <eventd> -- sleep $DURATION, while:"
    echo
    echo '```'
    cat "$out.loadgen.txt"
    echo '```'
    echo
    echo "## Self time by thread"
    echo
    echo '```'
    perf report -i "$WORK/perf.data" --no-children --sort comm --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -20
    echo '```'
    echo
    echo "## Top functions (self time, all threads)"
    echo
    echo '```'
    perf report -i "$WORK/perf.data" --no-children --sort comm,dso,symbol --stdio -g none 2>/dev/null \
      | grep -v '^#' | grep -v '^$' | head -45
    echo '```'
    echo
    echo "## Top functions with children (inclusive)"
    echo
    echo '```'
    perf report -i "$WORK/perf.data" --children --sort symbol --stdio -g none 2>/dev/null \
      | grep -v '^#' | grep -v '^$' | head -40
    echo '```'
  } >"$out.md"
  rm -f "$out.loadgen.txt"
  log "wrote $out.md (perf data: $WORK/perf.data)"
}

SCENARIOS=("$@")
((${#SCENARIOS[@]})) || SCENARIOS=(ingest ingest-always ingest-small idle-rss query)
for s in "${SCENARIOS[@]}"; do
  case $s in
    ingest) scenario_ingest ingest batch 1000 ;;
    ingest-always) scenario_ingest ingest-always always 1000 ;;
    ingest-small) scenario_ingest ingest-small batch 10 ;;
    idle-rss) scenario_idle_rss ;;
    query) scenario_query ;;
    profile-ingest) scenario_profile_ingest ;;
    *) die "unknown scenario '$s' (ingest ingest-always ingest-small idle-rss query profile-ingest)" ;;
  esac
done
