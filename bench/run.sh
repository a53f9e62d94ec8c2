#!/usr/bin/env bash
# bench/run.sh [scenario...] — run eventd benchmark scenarios and write the results to
# bench/results/<scenario>-<date>.{md,json} (docs/performance.md explains each one).
#
# Scenarios: ingest ingest-always ingest-small idle-rss query profile-ingest grpc validate
#            (default: ingest ingest-always ingest-small idle-rss query)
#   grpc      bench/grpc_bench.sh (h2load: LogEvent with 1/16/64 callers, PublishStream),
#             RUNS times; knobs EVD_GRPC_BENCH_* (see that script)
#   validate  build/bench/validate_bench on examples/registry/eventd.yml, RUNS times
#             (validation ns/event next to the in-process ingest cost)
#
# Each scenario starts its own eventd (built in $EVD_BUILD_DIR, default build/) on
# 127.0.0.1 with a free port and a data directory under bench/work/, samples the daemon's
# RSS from /proc while the load runs, and stops it with SIGTERM (it must exit 0).
#
# Knobs (environment): EVD_BUILD_DIR, EVD_BENCH_RUNS (3), EVD_BENCH_DURATION (20 s),
# EVD_BENCH_CONNECTIONS (16), EVD_BENCH_WARMUP (2 s), EVD_BENCH_QUERY_EVENTS (10000000),
# EVD_BENCH_QUERY_REQUESTS (200 per scenario and run), EVD_BENCH_TYPES (10),
# EVD_BENCH_TAGS (100000), EVD_BENCH_DAEMON_ARGS (extra eventd flags),
# EVD_BENCH_WORK (bench/work), EVD_BENCH_KEEP (1 = keep ingest data dirs),
# EVD_BENCH_QUIET_PSI (25) and EVD_BENCH_QUIET_WAIT (90 s): before each run, wait up to
# QUIET_WAIT seconds for the machine's CPU pressure (avg10, /proc/pressure/cpu) to fall
# under QUIET_PSI %.
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
  "$EVENTD" --data-dir "$dir" --http 127.0.0.1:0 --grpc off --sync "$sync" --log-level warn \
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
# thread_ticks — "tid:ticks" of each daemon thread (utime + stime), one per line.
thread_ticks() {
  local t
  for t in /proc/"$DAEMON_PID"/task/*; do
    awk -v tid="${t##*/}" '{ print tid ":" $14 + $15 }' "$t/stat" 2>/dev/null || true
  done
}
CLK_TCK=$(getconf CLK_TCK)
# wait_quiet — on a shared machine, wait (at most EVD_BENCH_QUIET_WAIT s, default 90) until
# the CPU pressure of the last 10 s is under EVD_BENCH_QUIET_PSI % (default 25), so that a
# run does not start in the middle of someone else's build. Prints the avg10 it started at.
wait_quiet() {
  local limit=${EVD_BENCH_QUIET_PSI:-25} waited=0 avg
  while :; do
    avg=$(awk '$1 == "some" { sub("avg10=", "", $2); print $2 }' /proc/pressure/cpu 2>/dev/null || echo 0)
    [[ -z $avg ]] && avg=0
    if awk -v a="$avg" -v l="$limit" 'BEGIN { exit !(a < l) }'; then break; fi
    if ((waited >= ${EVD_BENCH_QUIET_WAIT:-90})); then
      log "CPU pressure still ${avg}% after ${waited} s: running anyway"
      break
    fi
    sleep 3
    waited=$((waited + 3))
  done
  echo "$avg"
}

# psi_cpu_us — total µs some task waited for a CPU (/proc/pressure/cpu), 0 if unavailable.
# Its growth during a run, over the run's length, says how much the machine was contended.
psi_cpu_us() { awk '$1 == "some" { sub("total=", "", $5); print $5; f = 1 } END { if (!f) print 0 }' /proc/pressure/cpu 2>/dev/null || echo 0; }

# start_sampler FILE — every 0.2 s, append "VmRSS RssAnon RssFile" (KiB) of the daemon to
# FILE. RssFile is mapped file pages (e.g. mmapped segments): the kernel can drop them, so
# the bound that matters for "RSS bounded by configuration" is RssAnon.
start_sampler() {
  local f=$1 pid=$DAEMON_PID
  : >"$f"
  ( while kill -0 "$pid" 2>/dev/null; do
      awk '$1 == "VmRSS:" { r = $2 } $1 == "RssAnon:" { a = $2 } $1 == "RssFile:" { f = $2 }
           END { if (r != "") print r, a, f }' "/proc/$pid/status" 2>/dev/null >>"$f" || true
      sleep 0.2
    done ) &
  SAMPLER_PID=$!
}
stop_sampler() {
  [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
}
# max_of FILE [COLUMN] — the largest value in that column (1 = VmRSS, 2 = RssAnon, 3 = RssFile).
max_of() { awk -v c="${2:-1}" 'BEGIN { m = 0 } $c + 0 > m { m = $c + 0 } END { print m }' "$1"; }

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
    "eventd_built": __import__("time").strftime("%Y-%m-%d %H:%M:%S UTC", __import__("time").gmtime(os.path.getmtime(os.path.join(build, "eventd")))),
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
  local psi_start
  psi_start=$(wait_quiet)
  start_daemon "$dir" "$sync" "$WORK/eventd-$i.log"
  local rss0 cpu0 cpu1 hwm rssmax out cmd
  rss0=$(status_kib VmRSS)
  start_sampler "$WORK/rss-$i.txt"
  cpu0=$(cpu_ticks)
  local th0 th1
  th0=$(thread_ticks | tr '\n' ' ')
  local psi0 psi1 t_run0 t_run1
  psi0=$(psi_cpu_us)
  t_run0=$(date +%s%N)
  cmd=("$LOADGEN" --addr "$ADDR" --connections "$CONNS" --batch "$batch"
       --duration "$DURATION" --warmup "$WARMUP" --types "$TYPES" --tags "$TAGS" --json)
  log "run $i: ${cmd[*]}"
  out=$(timeout $((DURATION + 120)) "${cmd[@]}") || log "run $i: loadgen reported errors"
  cpu1=$(cpu_ticks)
  psi1=$(psi_cpu_us)
  t_run1=$(date +%s%N)
  th1=$(thread_ticks | tr '\n' ' ')
  hwm=$(status_kib VmHWM)
  stop_sampler
  rssmax=$(max_of "$WORK/rss-$i.txt")
  local anonmax
  anonmax=$(max_of "$WORK/rss-$i.txt" 2)
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
t0 = dict(x.split(":") for x in sys.argv[10].split())
t1 = dict(x.split(":") for x in sys.argv[11].split())
tk = int(sys.argv[7])
r["daemon_rss_anon_max_kib"] = int(sys.argv[12])
r["cpu_pressure_avg10_at_start"] = float(sys.argv[16])
r["cpu_pressure_pct"] = round(100.0 * (int(sys.argv[13]) - int(sys.argv[14])) * 1000 / max(1, int(sys.argv[15])), 1)
r["daemon_threads_cpu_s"] = sorted((round((int(v) - int(t0.get(k, 0))) / tk, 2) for k, v in t1.items()), reverse=True)
print(json.dumps(r))' "$out" "$i" "$rss0" "$rssmax" "$hwm" "$((cpu1 - cpu0))" "$CLK_TCK" "$disk" \
    "${cmd[*]}" "$th0" "$th1" "$anonmax" "$psi1" "$psi0" "$((t_run1 - t_run0))" "$psi_start" >>"$runs"
}

# scenario_ingest NAME SYNC BATCH
scenario_ingest() {
  local name=$1 sync=$2 batch=$3 runs=$WORK/$1-runs.jsonl
  : >"$runs"
  log "$name: $RUNS runs of ${DURATION} s, sync=$sync, batch $batch, $CONNS connections"
  for i in $(seq 1 "$RUNS"); do ingest_run "$sync" "$batch" "$runs" "$i"; done
  report "$name" "$runs" "{\"sync\":\"$sync\",\"batch\":$batch,\"connections\":$CONNS,\"duration_s\":$DURATION,\"warmup_s\":$WARMUP,\"daemon\":\"$EVENTD --data-dir DIR --http 127.0.0.1:0 --grpc off --sync $sync --log-level warn ${DAEMON_ARGS[*]}\"}"
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
  echo "{\"phase\":\"fresh idle (5 s after start)\",\"rss_kib\":$(status_kib VmRSS),\"anon_kib\":$(status_kib RssAnon),\"hwm_kib\":$(status_kib VmHWM),\"events_stored\":0}" >>"$runs"
  for phase in 1 2 3; do
    start_sampler "$WORK/rss-idle-$phase.txt"
    out=$("$LOADGEN" --addr "$ADDR" --connections "$CONNS" --batch 1000 --duration 10 \
      --types "$TYPES" --tags "$TAGS" --seed "$phase" --json) || log "idle-rss: loadgen reported errors"
    stop_sampler
    rssmax=$(max_of "$WORK/rss-idle-$phase.txt")
    local anonmax
    anonmax=$(max_of "$WORK/rss-idle-$phase.txt" 2)
    events_total=$((events_total + $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["events"])' "$out")))
    echo "{\"phase\":\"load phase $phase (10 s, batch 1000, $CONNS conns)\",\"rss_kib\":$rssmax,\"anon_kib\":$anonmax,\"hwm_kib\":$(status_kib VmHWM),\"events_stored\":$events_total}" >>"$runs"
  done
  sleep 5
  echo "{\"phase\":\"idle 5 s after load\",\"rss_kib\":$(status_kib VmRSS),\"anon_kib\":$(status_kib RssAnon),\"hwm_kib\":$(status_kib VmHWM),\"events_stored\":$events_total}" >>"$runs"
  stop_daemon
  start_daemon "$dir" batch "$WORK/eventd-idle2.log"
  sleep 5
  echo "{\"phase\":\"idle 5 s after restart on the stored data\",\"rss_kib\":$(status_kib VmRSS),\"anon_kib\":$(status_kib RssAnon),\"hwm_kib\":$(status_kib VmHWM),\"events_stored\":$events_total,\"startup_ms\":$STARTUP_MS}" >>"$runs"
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
    wait_quiet >/dev/null
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
  local anonmax filemax
  anonmax=$(max_of "$WORK/rss-query.txt" 2)
  filemax=$(max_of "$WORK/rss-query.txt" 3)
  stop_daemon
  disk=$(du -sb "$dir" | cut -f1)
  report query "$runs" "{\"dataset\":$meta,\"dataset_dir\":\"$dir\",\"disk_bytes\":$disk,\"startup_ms\":$startup,\"rss_after_open_kib\":$rss_open,\"rss_max_kib\":$rssmax,\"rss_anon_max_kib\":$anonmax,\"rss_file_max_kib\":$filemax,\"hwm_kib\":$hwm}"
}

# perf_top N ARGS... — the first N lines of a perf report (no header lines). `head` closes
# the pipe early; that is not a failure.
perf_top() {
  local n=$1
  shift
  perf report -i "$WORK/perf.data" --stdio "$@" 2>/dev/null | grep -v '^#' | grep -v '^$' \
    | head -n "$n" || true
}

# scenario_profile_ingest — perf profile of eventd under the ingest load (sync=batch).
# Call graphs are unwound with DWARF (eventd is built without frame pointers), so the
# inclusive view attributes time to eventd's own functions.
scenario_profile_ingest() {
  command -v perf >/dev/null || die "profile-ingest needs perf (linux-perf)"
  local dir=$WORK/profile out=$RESULTS/profile-ingest-$STAMP
  rm -rf "$dir"
  start_daemon "$dir" batch "$WORK/eventd-profile.log"
  local lgcmd=("$LOADGEN" --addr "$ADDR" --connections "$CONNS" --batch 1000
               --duration $((DURATION + 5)) --types "$TYPES" --tags "$TAGS")
  "${lgcmd[@]}" >"$WORK/profile-loadgen.txt" &
  local lg=$!
  sleep 3
  local th0 th1
  th0=$(thread_ticks | tr '\n' ' ')
  local pcmd=(perf record -e cpu-clock -F 199 --call-graph dwarf,16384 -p "$DAEMON_PID"
              -o "$WORK/perf.data" -- sleep "$DURATION")
  "${pcmd[@]}" 2>"$WORK/perf-record.log" || die "perf record failed: $(cat "$WORK/perf-record.log")"
  th1=$(thread_ticks | tr '\n' ' ')
  wait "$lg" || log "profile: loadgen reported errors"
  stop_daemon
  rm -rf "$dir"
  {
    echo "# eventd ingest profile ($STAMP)"
    echo
    echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), build $BUILD"
    echo "- load: \`${lgcmd[*]}\`"
    echo "- profile: \`${pcmd[*]}\` (started 3 s into the load)"
    echo
    echo '```'
    cat "$WORK/profile-loadgen.txt"
    echo '```'
    echo
    echo "## CPU seconds per eventd thread during the profile (tid: seconds of $DURATION)"
    echo
    echo '```'
    python3 -c 'import sys
t0 = dict(x.split(":") for x in sys.argv[1].split()); t1 = dict(x.split(":") for x in sys.argv[2].split())
for k, v in sorted(t1.items(), key=lambda kv: -int(kv[1]) + int(t0.get(kv[0], 0))):
    print(k, round((int(v) - int(t0.get(k, 0))) / int(sys.argv[3]), 2))' "$th0" "$th1" "$CLK_TCK"
    echo '```'
    echo
    echo "## Samples by thread"
    echo
    echo '```'
    perf_top 10 --no-children --sort pid -g none
    echo '```'
    echo
    echo "## Top functions (self time) by thread"
    echo
    echo '```'
    perf_top 60 --no-children --sort pid,dso,symbol -g none
    echo '```'
    echo
    echo "## Inclusive time (with children), all threads"
    echo
    echo '```'
    perf_top 70 --children --sort symbol -g none
    echo '```'
  } >"$out.md"
  log "wrote $out.md (perf data: $WORK/perf.data)"
}

# report_lines SCENARIO RUNS_FILE EXTRA_JSON — results/<scenario>-<stamp>.{json,md} for the
# scenarios whose runs are tables of named figures (grpc, validate): RUNS_FILE holds one JSON
# object per run, {"run": I, "command": ..., "rows": {NAME: {FIGURE: VALUE}}}; the report
# lists every run and the median of each figure.
report_lines() {
  local scen=$1 runs=$2 extra=$3 out=$RESULTS/$1-$STAMP
  machine_json >"$out.machine.json"
  python3 - "$scen" "$runs" "$out.machine.json" "$extra" "$out" <<'EOF'
import json, statistics, sys, time
scen, runs_path, machine_path, extra_json, out = sys.argv[1:6]
runs = [json.loads(l) for l in open(runs_path) if l.strip()]
m = json.load(open(machine_path))
extra = json.loads(extra_json)
names, figures = [], []
for r in runs:
    for n, row in r["rows"].items():
        if n not in names: names.append(n)
        for f in row:
            if f not in figures: figures.append(f)
median = {n: {f: statistics.median([r["rows"][n][f] for r in runs
                                     if n in r["rows"] and f in r["rows"][n]])
              for f in figures if any(n in r["rows"] and f in r["rows"][n] for r in runs)}
          for n in names}
def fmt(v): return f"{v:,.1f}" if isinstance(v, float) and abs(v) < 100 else f"{v:,.0f}"
md = [f"# eventd benchmark: {scen}", "",
      f"- date (UTC): {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())}",
      f"- commit: {m['commit']} at report time (build {m['build_type']}, {m['build_dir']}, "
      f"eventd built {m.get('eventd_built', '?')})",
      f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['mem_mib']} MiB RAM, kernel {m['kernel']}, "
      f"load average at the end {' '.join(m['loadavg'])} (a shared machine: other jobs ran "
      f"during the runs; medians of {len(runs)} runs)"]
for k, v in extra.items():
    md.append(f"- {k}: {v}")
md += ["", f"## Median of {len(runs)} runs", "", "| | " + " | ".join(figures) + " |",
       "|---|" + "---|" * len(figures)]
for n in names:
    md.append(f"| {n} | " + " | ".join(fmt(median[n][f]) if f in median[n] else "-" for f in figures) + " |")
md += ["", "## Every run", "", "| run | | " + " | ".join(figures) + " |", "|---|---|" + "---|" * len(figures)]
for r in runs:
    for n in names:
        row = r["rows"].get(n, {})
        md.append(f"| {r['run']} | {n} | " + " | ".join(fmt(row[f]) if f in row else "-" for f in figures) + " |")
md += ["", "Commands:", "", "```"] + [r["command"] for r in runs] + ["```", ""]
open(out + ".md", "w").write("\n".join(md))
with open(out + ".json", "w") as f:
    json.dump({"scenario": scen, "machine": m, "params": extra, "runs": runs, "median": median}, f, indent=1)
    f.write("\n")
EOF
  rm -f "$out.machine.json"
  log "wrote $out.md"
  cat "$out.md" >&2
}

# scenario_grpc — bench/grpc_bench.sh RUNS times (each starts its own eventd per gRPC
# scenario: LogEvent with 1, 16 and 64 callers, PublishStream).
scenario_grpc() {
  local runs=$WORK/grpc-runs.jsonl i out cmd
  : >"$runs"
  for i in $(seq 1 "$RUNS"); do
    wait_quiet >/dev/null
    cmd=(env EVD_BUILD_DIR="$BUILD" EVD_BENCH_WORK="$WORK" "$ROOT/bench/grpc_bench.sh")
    log "grpc run $i: ${cmd[*]}"
    out=$("${cmd[@]}") || die "grpc run $i: grpc_bench.sh failed"
    echo "$out" >&2
    python3 -c 'import json, re, sys
rows = {}
for l in sys.argv[1].splitlines():
    m = re.match(r"(\S+)\s+(\S+) calls/s\s+(\S+) events/s\s+latency min (\S+) max (\S+) mean (\S+)", l)
    if m:
        rows[m.group(1)] = {"calls/s": float(m.group(2)), "events/s": float(m.group(3)),
                            "latency mean": m.group(6), "latency max": m.group(5)}
        for k in ("latency mean", "latency max"):
            v = rows[m.group(1)][k]
            n = re.match(r"([\d.]+)(us|ms|s)$", v)
            rows[m.group(1)][k + " ms"] = float(n.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[n.group(2)] if n else None
            del rows[m.group(1)][k]
if not rows: sys.exit("no figures in grpc_bench.sh output")
print(json.dumps({"run": int(sys.argv[2]), "command": sys.argv[3], "rows": rows}))' \
      "$out" "$i" "${cmd[*]}" >>"$runs" || die "grpc run $i: cannot parse its output"
  done
  report_lines grpc "$runs" "{\"tool\":\"h2load (nghttp2-client), one event per LogEvent call, PublishStream: 4 calls of ${EVD_GRPC_BENCH_BATCHES:-50} batches x ${EVD_GRPC_BENCH_BATCH:-100} events\",\"seconds per scenario\":${EVD_GRPC_BENCH_SECONDS:-10},\"sync\":\"${EVD_GRPC_BENCH_SYNC:-batch}\",\"note\":\"every call answered OK is checked against the stored count\"}"
}

# scenario_validate — validate_bench RUNS times on the example registry.
scenario_validate() {
  local vb=$BUILD/bench/validate_bench runs=$WORK/validate-runs.jsonl i out cmd
  [[ -x $vb ]] || die "$vb is missing; build first"
  : >"$runs"
  for i in $(seq 1 "$RUNS"); do
    wait_quiet >/dev/null
    cmd=("$vb" --registry "$ROOT/examples/registry/eventd.yml")
    log "validate run $i: ${cmd[*]}"
    out=$("${cmd[@]}") || die "validate run $i: validate_bench failed"
    echo "$out" >&2
    python3 -c 'import json, sys
rows = {}
for l in sys.argv[1].splitlines():
    c = [x.strip() for x in l.strip().strip("|").split("|")]
    if len(c) == 5 and c[1].isdigit():
        rows[c[0]] = {"bytes": int(c[1]), "validation ns/event": float(c[2]),
                      "ingest ns/event": float(c[3]) if c[3] != "-" else None,
                      "validation share %": float(c[4].rstrip("%")) if c[4] != "-" else None}
        rows[c[0]] = {k: v for k, v in rows[c[0]].items() if v is not None}
if not rows: sys.exit("no figures in validate_bench output")
print(json.dumps({"run": int(sys.argv[2]), "command": sys.argv[3], "rows": rows}))' \
      "$out" "$i" "${cmd[*]}" >>"$runs" || die "validate run $i: cannot parse its output"
  done
  report_lines validate "$runs" "{\"what\":\"validation: registry check of one event (thread CPU time, best of 7 inner runs); ingest: json_parse + event_from_json + record_encode of the same event without a registry (the event loop's per-event work before the store)\"}"
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
    grpc) scenario_grpc ;;
    validate) scenario_validate ;;
    *) die "unknown scenario '$s' (ingest ingest-always ingest-small idle-rss query profile-ingest grpc validate)" ;;
  esac
done
