#!/usr/bin/env bash
# eventd-probe's process connector, for real: children that abort(), segfault, exit 3, get
# SIGKILLed, exit 0 and get SIGTERMed; the abnormal ones must arrive in eventd as
# process.abnormal_exit with the right severity, exit code / signal, ppid, comm, exe and
# runtime; the normal ones must not. Where the sandbox forbids the netlink process
# connector the test is SKIPPED (exit 77, ctest SKIP_RETURN_CODE), never passed.
source "$(dirname "$0")/lib.sh"

PROBE=$EVD_BUILD_DIR/eventd-probe
[[ -x $PROBE ]] || evd_fail "$PROBE not built"

evd_start

evd_step "start the probe with only the process connector"
"$PROBE" --no-kmsg --output "$EVD_URL" --state-dir "$EVD_TMP/state" 2>"$EVD_TMP/probe.err" &
PROBE_PID=$!
evd_bg_pid $PROBE_PID
evd_wait_for grep -qE "process connector on|abnormal-exit source off" "$EVD_TMP/probe.err" ||
  evd_fail "probe did not start: $(cat "$EVD_TMP/probe.err")"
if grep -q "abnormal-exit source off" "$EVD_TMP/probe.err"; then
  echo "SKIP test_probe_proc: the netlink process connector is not permitted here: $(grep 'source off' "$EVD_TMP/probe.err")" >&2
  kill -TERM $PROBE_PID
  exit 77
fi

evd_step "children that crash, fail, get killed, and end normally"
# Each child names itself (prctl PR_SET_NAME) so its events are told apart by comm.
python3 - <<'EOF' || evd_fail "child driver failed"
import ctypes, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
def child(name, action):
    pid = os.fork()
    if pid == 0:
        libc.prctl(15, name.encode(), 0, 0, 0)   # PR_SET_NAME
        os.close(2)                              # no Python traceback noise
        time.sleep(0.2)                          # a measurable runtime
        action()
        os._exit(0)
    return pid
def segv(): ctypes.string_at(0)
kids = [child("evt-abort", os.abort), child("evt-segv", segv), child("evt-exit3", lambda: os._exit(3)),
        child("evt-ok", lambda: os._exit(0)), child("evt-sleep", lambda: time.sleep(60)),
        child("evt-term", lambda: time.sleep(60))]
time.sleep(0.5)
os.kill(kids[4], signal.SIGKILL)
os.kill(kids[5], signal.SIGTERM)
for k in kids:
    os.waitpid(k, 0)
print("driver pid", os.getpid(), file=sys.stderr)
EOF

# event COMM EXPR: evaluate EXPR on the abnormal_exit event of that comm (bound to e)
evd_query_comm() {
  evd_req GET "/v1/events?stream=host&type=process.abnormal_exit&limit=1000"
  assert_status 200 "query"
  evd_json "[x for x in d['events'] if x['data']['comm'] == '$1']"
}
got_comm() { [[ "$(evd_query_comm "$1")" != "[]" ]]; }
for c in evt-abort evt-segv evt-exit3 evt-sleep; do
  evd_wait_for got_comm "$c" || evd_fail "no process.abnormal_exit for $c; probe log: $(cat "$EVD_TMP/probe.err")"
done

check() { # COMM EXPR EXPECTED
  local got
  got=$(evd_json "(lambda e: $2)(d[0])" "$(evd_query_comm "$1")")
  assert_eq "$got" "$3" "$1"
}
check evt-abort '[e["severity"], e["data"]["signal"], e["data"]["signal_name"], e["data"]["exit_code"], e["labels"]["rule"]]' \
  '["ERROR", 6, "SIGABRT", null, "proc.killed_by_signal"]'
check evt-segv '[e["severity"], e["data"]["signal"], e["data"]["signal_name"]]' '["ERROR", 11, "SIGSEGV"]'
check evt-exit3 '[e["severity"], e["data"]["exit_code"], e["data"]["signal"], e["data"]["core_dumped"], e["labels"]["rule"]]' \
  '["WARN", 3, null, false, "proc.exit_code"]'
check evt-sleep '[e["severity"], e["data"]["signal"], e["data"]["signal_name"]]' '["WARN", 9, "SIGKILL"]'
check evt-exit3 '[e["data"]["ppid"] > 1, e["data"]["exe"].startswith("/"), 0.15 < e["data"]["runtime"] < 30, e["source"], e["stream"]]' \
  "[true, true, true, \"$(hostname)\", \"host\"]"
check evt-segv '[type(e["data"]["core_dumped"]).__name__, e["id"].startswith("exit:")]' '["bool", true]'

evd_step "exit 0 and SIGTERM are not abnormal"
sleep 1
for c in evt-ok evt-term; do
  assert_eq "$(evd_query_comm $c)" "[]" "$c must not be reported"
done

kill -TERM $PROBE_PID
wait $PROBE_PID
assert_eq "$?" 0 "probe exit status"
evd_stop
evd_pass
