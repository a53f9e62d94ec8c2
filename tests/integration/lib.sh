# lib.sh — shared helpers for integration tests (bash). Source it at the top of a test:
#
#     source "$(dirname "$0")/lib.sh"
#
# Every test starts its own eventd on a free loopback port with a fresh data directory, talks
# to it with real clients (curl, eventctl), and stops it. Nothing here is specific to one
# test file; the eventctl tests use it too.
#
# Environment (read):
#   EVD_BUILD_DIR   build directory with eventd and eventctl (ctest sets it; default
#                   $EVD_SOURCE_DIR/build). Point it at an ASan build to run tests under ASan.
#   EVD_SOURCE_DIR  source tree (default: two levels above this file).
#   EVD_KEEP_TMP=1  keep the temporary directory after the test (for debugging).
#
# Variables (set):
#   EVD_EVENTD, EVD_EVENTCTL   paths of the binaries
#   EVD_TMP                    a private temporary directory, removed at exit
#   EVD_URL, EVD_PORT, EVD_PID, EVD_LOG, EVD_DATA
#                              of the daemon started last by evd_start
#   EVD_STATUS, EVD_BODY       HTTP status and body of the last evd_req
#   EVD_EXIT                   exit status of the daemon stopped last by evd_stop
#
# Functions:
#   evd_start [ARGS...]        start eventd (--data-dir $EVD_DATA --http 127.0.0.1:0
#                              --grpc 127.0.0.1:0 ARGS) and wait for its
#                              "eventd: listening on http://ADDR:PORT" line (and the
#                              "eventd: grpc listening on ADDR:PORT" one unless ARGS turn gRPC
#                              off: EVD_GRPC_ADDR, EVD_GRPC_PORT, empty when off).
#                              EVD_DATA defaults to $EVD_TMP/data; set it before calling to
#                              reuse a directory (restart). Fails the test if it does not start.
#   evd_stop [SIGNAL]          send SIGNAL (default TERM) to the daemon, wait for it (15 s),
#                              set EVD_EXIT; fails the test if it does not exit or if the
#                              sanitizer reported anything in its log.
#   evd_req METHOD PATH [CURL-ARGS...]
#                              one HTTP request to the daemon; sets EVD_STATUS and EVD_BODY.
#   evd_post_json PATH BODY    POST BODY as application/json (sets EVD_STATUS, EVD_BODY).
#   evd_post_ndjson PATH BODY  POST BODY as application/x-ndjson.
#   evd_curl ARGS...           curl -sS against the daemon: a first argument starting with '/'
#                              is taken relative to EVD_URL. Prints the body.
#   evd_json EXPR [JSON]       evaluate a Python expression on the JSON (default EVD_BODY),
#                              bound to `d`; prints the result (str as is, others as JSON).
#   evd_wait_for CMD... / evd_wait_for_log REGEX
#                              retry CMD (or grep the daemon log) for up to 10 s.
#   evd_step TEXT              print what the test is doing now.
#   evd_fail TEXT              print TEXT and the daemon's log tail, exit 1.
#   assert_eq ACTUAL EXPECTED [WHAT]       assert_ne ACTUAL UNEXPECTED [WHAT]
#   assert_status CODE [WHAT]              assert_contains HAYSTACK NEEDLE [WHAT]
#   assert_not_contains HAYSTACK NEEDLE [WHAT]
#   evd_pass                   print "PASS <test>" (call at the end).
#
# Daemons started with evd_start are killed at exit if still running; background jobs
# registered with evd_bg_pid PID are killed too.

set -uo pipefail

EVD_SOURCE_DIR=${EVD_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
EVD_BUILD_DIR=${EVD_BUILD_DIR:-$EVD_SOURCE_DIR/build}
EVD_EVENTD=${EVD_EVENTD:-$EVD_BUILD_DIR/eventd}
EVD_EVENTCTL=${EVD_EVENTCTL:-$EVD_BUILD_DIR/eventctl}
EVD_TEST_NAME=$(basename "${0%.sh}")
EVD_TMP=$(mktemp -d "${TMPDIR:-/tmp}/evd-${EVD_TEST_NAME}-XXXXXX")
EVD_DATA=${EVD_DATA:-$EVD_TMP/data}
EVD_PID=""
EVD_URL=""
EVD_PORT=""
EVD_GRPC_ADDR=""
EVD_GRPC_PORT=""
EVD_LOG=""
EVD_STATUS=""
EVD_BODY=""
EVD_EXIT=""
EVD_ALL_PIDS=()
EVD_BG_PIDS=()
EVD_START_COUNT=0

# Sanitizers: fail loudly, and keep leak checking on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [[ ! -x $EVD_EVENTD ]]; then
  echo "SKIP/FAIL $EVD_TEST_NAME: $EVD_EVENTD not built (set EVD_BUILD_DIR)" >&2
  exit 1
fi

evd_cleanup() {
  local pid
  for pid in "${EVD_BG_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${EVD_ALL_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null
    fi
  done
  wait 2>/dev/null
  if [[ ${EVD_KEEP_TMP:-0} == 1 ]]; then
    echo "kept $EVD_TMP" >&2
  else
    rm -rf "$EVD_TMP"
  fi
}
trap evd_cleanup EXIT

evd_step() { echo "-- $EVD_TEST_NAME: $*"; }

evd_fail() {
  echo "FAIL $EVD_TEST_NAME: $*" >&2
  if [[ -n $EVD_LOG && -f $EVD_LOG ]]; then
    echo "---- daemon log (last 40 lines of $EVD_LOG) ----" >&2
    tail -n 40 "$EVD_LOG" >&2
  fi
  exit 1
}

evd_pass() { echo "PASS $EVD_TEST_NAME"; }

evd_bg_pid() { EVD_BG_PIDS+=("$1"); }

assert_eq() {
  [[ "$1" == "$2" ]] || evd_fail "${3:-value}: expected '$2', got '$1'"
}
assert_ne() {
  [[ "$1" != "$2" ]] || evd_fail "${3:-value}: expected something other than '$2'"
}
assert_contains() {
  [[ "$1" == *"$2"* ]] || evd_fail "${3:-text}: expected to contain '$2', got '${1:0:600}'"
}
assert_not_contains() {
  [[ "$1" != *"$2"* ]] || evd_fail "${3:-text}: expected not to contain '$2', got '${1:0:600}'"
}
assert_status() {
  [[ "$EVD_STATUS" == "$1" ]] ||
    evd_fail "${2:-request}: expected HTTP $1, got '$EVD_STATUS' with body '${EVD_BODY:0:600}'"
}

# Fail if the daemon log shows a sanitizer report.
evd_check_log_clean() {
  local log=${1:-$EVD_LOG}
  [[ -f $log ]] || return 0
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log"; then
    evd_fail "sanitizer report in $log"
  fi
}

evd_start() {
  EVD_START_COUNT=$((EVD_START_COUNT + 1))
  EVD_LOG=$EVD_TMP/eventd-$EVD_START_COUNT.log
  "$EVD_EVENTD" --data-dir "$EVD_DATA" --http 127.0.0.1:0 --grpc 127.0.0.1:0 "$@" 2>"$EVD_LOG" &
  EVD_PID=$!
  EVD_ALL_PIDS+=("$EVD_PID")
  local line=""
  for _ in $(seq 1 200); do
    line=$(grep -m1 -oE 'eventd: listening on https?://[^ ]*' "$EVD_LOG" 2>/dev/null || true)
    [[ -n $line ]] && break
    kill -0 "$EVD_PID" 2>/dev/null || break
    sleep 0.05
  done
  [[ -n $line ]] || evd_fail "eventd did not start (args: $*)"
  EVD_URL=${line#eventd: listening on }
  EVD_PORT=${EVD_URL##*:}
  # The gRPC line follows the HTTP one at once (none when gRPC is off).
  EVD_GRPC_ADDR=""
  for _ in $(seq 1 20); do
    line=$(grep -m1 -o 'eventd: grpc listening on [^ ]*' "$EVD_LOG" 2>/dev/null || true)
    [[ -n $line ]] && break
    grep -q 'grpc.listen\|--grpc off\|listen: off' <<<"$*" && break
    sleep 0.05
  done
  [[ -n $line ]] && EVD_GRPC_ADDR=${line#eventd: grpc listening on }
  EVD_GRPC_PORT=${EVD_GRPC_ADDR##*:}
  export EVD_URL EVD_PORT EVENTD_URL=$EVD_URL EVD_GRPC_ADDR EVD_GRPC_PORT
}

evd_stop() {
  local sig=${1:-TERM}
  [[ -n $EVD_PID ]] || evd_fail "evd_stop: no daemon"
  kill "-$sig" "$EVD_PID" 2>/dev/null
  local i
  for i in $(seq 1 150); do kill -0 "$EVD_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$EVD_PID" 2>/dev/null; then evd_fail "eventd did not exit within 15 s of SIG$sig"; fi
  wait "$EVD_PID"
  EVD_EXIT=$?
  EVD_PID=""
  evd_check_log_clean
}

evd_req() {
  local method=$1 path=$2
  shift 2
  local out=$EVD_TMP/.body
  EVD_STATUS=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "$@" "$EVD_URL$path") ||
    evd_fail "curl $method $path failed"
  EVD_BODY=$(cat "$out")
}

evd_post_json() { evd_req POST "$1" -H 'Content-Type: application/json' --data-binary "$2"; }
evd_post_ndjson() { evd_req POST "$1" -H 'Content-Type: application/x-ndjson' --data-binary "$2"; }

evd_curl() {
  if [[ ${1:-} == /* ]]; then
    local path=$1
    shift
    curl -sS "$@" "$EVD_URL$path"
  else
    curl -sS "$@"
  fi
}

evd_json() {
  local expr=$1
  local json=${2-$EVD_BODY}
  python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
r = eval(sys.argv[1])
print(r if isinstance(r, str) else json.dumps(r))
' "$expr" <<<"$json" || evd_fail "evd_json: cannot evaluate '$expr' on '${json:0:300}'"
}

evd_wait_for() {
  for _ in $(seq 1 100); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

evd_wait_for_log() {
  evd_wait_for grep -qE "$1" "$EVD_LOG"
}

# evd_input_addr NAME: the ADDR:PORT of the daemon's "eventd: NAME listening on ADDR:PORT"
# line (socket inputs: forward, syslog, lines), waiting up to 2 s for it; fails the test if
# there is none. Prints it.
evd_input_addr() {
  local line=""
  for _ in $(seq 1 40); do
    line=$(grep -m1 -o "eventd: $1 listening on [^ ]*" "$EVD_LOG" 2>/dev/null || true)
    [[ -n $line ]] && break
    sleep 0.05
  done
  [[ -n $line ]] || evd_fail "no '$1 listening' line in the daemon's log"
  echo "${line#eventd: $1 listening on }"
}
