#!/usr/bin/env bash
# eventd-probe on the live /dev/kmsg: a child that really segfaults must arrive in eventd as
# process.segfault with the kernel's own facts; a restart with the same state directory must
# not report records handled before (the sequence number is persisted) but must report new
# ones; a record forged from user space (facility user) is not matched. Where /dev/kmsg is
# not readable (no CAP_SYSLOG, dmesg_restrict) the test is SKIPPED (exit 77).
source "$(dirname "$0")/lib.sh"

PROBE=$EVD_BUILD_DIR/eventd-probe
[[ -x $PROBE ]] || evd_fail "$PROBE not built"
if ! head -c 1 /dev/kmsg >/dev/null 2>"$EVD_TMP/kmsg.err" && ! grep -q "Invalid argument" "$EVD_TMP/kmsg.err"; then
  echo "SKIP test_probe_kmsg: /dev/kmsg is not readable here: $(cat "$EVD_TMP/kmsg.err")" >&2
  exit 77
fi

# segfault_child NAME: a child process named NAME that dereferences NULL
segfault_child() {
  # an inner shell waits for the child, so its "Segmentation fault" notice goes to /dev/null
  bash -c 'python3 -c "
import ctypes, os, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
os.close(2)
ctypes.string_at(0)" "$1"; exit 0' segfault_child "$1" 2>/dev/null
}

evd_start
STATE=$EVD_TMP/state
TAG=$$-$RANDOM
cat >"$EVD_TMP/probe.yml" <<EOF
state_dir: $STATE
process:
  enabled: false
limits:
  rate_per_minute: 0
EOF

evd_step "a real segfault reaches eventd from /dev/kmsg"
"$PROBE" --config "$EVD_TMP/probe.yml" --output "$EVD_URL" 2>"$EVD_TMP/probe1.err" &
PROBE_PID=$!
evd_bg_pid $PROBE_PID
evd_wait_for grep -q "eventd-probe 0" "$EVD_TMP/probe1.err" || evd_fail "probe did not start"
if grep -q "kernel log source off" "$EVD_TMP/probe1.err"; then
  echo "SKIP test_probe_kmsg: $(grep 'source off' "$EVD_TMP/probe1.err")" >&2
  kill -TERM $PROBE_PID
  exit 77
fi
C1="sf1-$TAG"
C1=${C1:0:15}
segfault_child "$C1"
seg_of() {
  evd_req GET "/v1/events?stream=host&type=process.segfault&limit=1000"
  evd_json "[e for e in d['events'] if e['data']['comm'] == '$1']"
}
has_seg() { [[ "$(seg_of "$1")" != "[]" ]]; }
evd_wait_for has_seg "$C1" || evd_fail "no process.segfault for $C1: $(cat "$EVD_TMP/probe1.err")"
got=$(evd_json '(lambda e: [e["severity"], e["data"]["addr"], e["data"]["error"] & 4, e["data"]["module"] is not None, e["labels"]["rule"], e["id"].startswith("kmsg:")])(d[0])' "$(seg_of "$C1")")
assert_eq "$got" '["ERROR", "0x0", 4, true, "kmsg.segfault", true]' "live segfault"
kill -TERM $PROBE_PID
wait $PROBE_PID
assert_eq "$?" 0 "probe exit status"
[[ -s $STATE/kmsg.state ]] || evd_fail "kmsg.state not written"
assert_contains "$(cat "$STATE/kmsg.state")" "boot_id $(cat /proc/sys/kernel/random/boot_id)"

evd_step "restart: records handled before are skipped, new ones reported; forged records ignored"
C2="sf2-$TAG"
C2=${C2:0:15}
segfault_child "$C2"
FORGED=1
echo "<14>forged-$TAG[77]: segfault at 0 ip 0000000000401136 sp 00007ffc00000000 error 6 in x[401000+1000]" \
  >/dev/kmsg 2>/dev/null || { FORGED=0; echo "-- test_probe_kmsg: /dev/kmsg not writable here: forged-record check not run"; }
timeout 5 "$PROBE" --config "$EVD_TMP/probe.yml" --output stdout >"$EVD_TMP/restart.jsonl" 2>"$EVD_TMP/probe2.err"
comms=$(python3 -c '
import json, sys
print(" ".join(sorted(json.loads(l)["data"].get("comm") or "" for l in open(sys.argv[1]) if json.loads(l)["type"] == "process.segfault")))' \
  "$EVD_TMP/restart.jsonl")
assert_contains " $comms " " $C2 " "new segfault after restart"
assert_not_contains " $comms " " $C1 " "segfault of the first run reported again"
if [[ $FORGED == 1 ]]; then
  assert_not_contains "$(cat "$EVD_TMP/restart.jsonl")" "forged-$TAG" "forged user-space record"
fi

evd_stop
evd_pass
