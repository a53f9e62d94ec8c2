#!/usr/bin/env bash
# eventd-probe end to end: a recorded kernel log (tests/integration/probe/replay.kmsg) replayed
# into a real eventd through libeventd, every row of the probe's table checked with
# GET /v1/events?type=...; failed commands from a tailed log file across rotation and
# truncation; the previous boot's panic from a pstore directory; resume without re-reporting
# after a restart; stdout mode; the de-duplication window with its probe.suppressed summary.
source "$(dirname "$0")/lib.sh"

PROBE=$EVD_BUILD_DIR/eventd-probe
FIXTURE=$EVD_SOURCE_DIR/tests/integration/probe/replay.kmsg
[[ -x $PROBE ]] || evd_fail "$PROBE not built"

evd_start

# count TYPE [EXTRA-QUERY]: number of stored events of that type in stream host
count() {
  evd_req GET "/v1/events/count?stream=host&type=$1${2:-}"
  assert_status 200 "count $1"
  evd_json 'd["count"]'
}

# count_is TYPE N: whether the count is N now (for evd_wait_for, which re-runs it)
count_is() { [[ "$(count "$1")" == "$2" ]]; }

# first TYPE EXPR: evaluate EXPR on the newest event of TYPE (bound to e)
first() {
  evd_req GET "/v1/events?stream=host&type=$1&limit=1"
  assert_status 200 "query $1"
  evd_json "(lambda e: $2)(d['events'][0])"
}

evd_step "replay the recorded kernel log into eventd (libeventd, spool in the state dir)"
"$PROBE" --kmsg-file "$FIXTURE" --output "$EVD_URL" --state-dir "$EVD_TMP/state-replay" \
  2>"$EVD_TMP/replay.err" || evd_fail "probe replay failed: $(cat "$EVD_TMP/replay.err")"
assert_contains "$(cat "$EVD_TMP/replay.err")" "8 events sent, 0 suppressed, 0 send failures, 0 undelivered at exit"

evd_step "every kernel row of the table landed, with its data"
assert_eq "$(count process.oom_kill)" 1 "oom kills"
assert_eq "$(count process.segfault)" 1 "segfaults"
assert_eq "$(count process.trap)" 3 "traps (invalid opcode, user GPF, kernel GPF)"
assert_eq "$(count task.hung)" 1 "hung tasks"
assert_eq "$(count process.abnormal_exit)" 1 "abnormal exit (audit ANOM_ABEND)"
assert_eq "$(count probe.kmsg_gap)" 1 "sequence gap"
assert_eq "$(count 'process.*' '&severity=ERROR')" 6 "ERROR process events"

first process.oom_kill '[e["severity"], e["source"], e["labels"]["rule"], e["data"]["pid"], e["data"]["comm"], e["data"]["uid"], e["data"]["total_vm_kb"], e["data"]["anon_rss_kb"], e["data"]["oom_score_adj"], e["data"]["memcg"], e["data"]["constraint"]]' >"$EVD_TMP/oom"
assert_eq "$(cat "$EVD_TMP/oom")" "[\"ERROR\", \"$(hostname)\", \"kmsg.oom_kill\", 4123, \"stress\", 0, 1050060, 1048728, 0, \"/system.slice/stress.service\", \"CONSTRAINT_MEMCG\"]" "oom event"
assert_eq "$(first process.oom_kill '[e["resource"]["host.name"], e["resource"]["host.id"], e["resource"]["os.kernel.release"], e["stream"]]')" \
  "[\"$(hostname)\", \"$(cat /etc/machine-id)\", \"$(uname -r)\", \"host\"]" "resource"
assert_eq "$(first process.segfault '[e["data"][k] for k in ("pid","comm","addr","ip","sp","error","module")]')" \
  '[4200, "a.out", "0x0", "0x000055d0c1e5a131", "0x00007ffc4d1c1f60", 6, "a.out"]' "segfault event"
assert_eq "$(first task.hung '[e["data"]["pid"], e["data"]["comm"], e["data"]["seconds"]]')" '[312, "jbd2/sda1-8", 122]' "hung task"
assert_eq "$(first process.abnormal_exit '[e["severity"], e["data"]["pid"], e["data"]["comm"], e["data"]["exe"], e["data"]["signal"]]')" \
  '["ERROR", 4242, "crashy", "/usr/local/bin/crashy", 11]' "abnormal exit"
evd_req GET "/v1/events?stream=host&type=process.trap&label=rule:kmsg.trap"
assert_eq "$(evd_json '[e["data"]["trap"] for e in d["events"]]')" '["invalid opcode"]' "trap label filter"
assert_eq "$(first probe.kmsg_gap '[e["severity"], e["data"]["missed"], e["data"]["after_seq"], e["data"]["next_seq"]]')" \
  '["WARN", 6, 2313, 2320]' "gap event"

evd_step "the same replay over plain HTTP (libcurl sink) stores the same 8 events again"
"$PROBE" --kmsg-file "$FIXTURE" --output "curl+$EVD_URL" 2>"$EVD_TMP/curl.err" ||
  evd_fail "curl replay failed: $(cat "$EVD_TMP/curl.err")"
assert_contains "$(cat "$EVD_TMP/curl.err")" "output curl+$EVD_URL (http)"
assert_eq "$(count 'process.*')" 12 "process events after the second replay"
assert_eq "$(count task.hung)" 2 "hung tasks after the second replay"

evd_step "failed commands from a tailed log (rotation and truncation) and the previous boot's panic"
LOG=$EVD_TMP/messages
PSTORE=$EVD_TMP/pstore
STATE=$EVD_TMP/state
mkdir -p "$PSTORE"
printf 'Kernel panic - not syncing: Fatal exception\n---[ end Kernel panic - not syncing: Fatal exception ]---\n' \
  >"$PSTORE/dmesg-ramoops-0"
echo "Nov 21 10:00:00 web1 [/bin/bash]: [gala-gopher] return code=[1], execute failed by [old(uid=1)] from [pts/9]" >"$LOG"
cat >"$EVD_TMP/probe.yml" <<EOF
output:
  url: $EVD_URL
state_dir: $STATE
kmsg:
  enabled: false
process:
  enabled: false
command_failed:
  files: [$LOG]
pstore:
  dir: $PSTORE
limits:
  dedup_window: 0
EOF
"$PROBE" --config "$EVD_TMP/probe.yml" 2>"$EVD_TMP/live.err" &
PROBE_PID=$!
evd_bg_pid $PROBE_PID
evd_wait_for grep -q "eventd-probe 0" "$EVD_TMP/live.err" || evd_fail "probe did not start: $(cat "$EVD_TMP/live.err")"
sleep 1.5 # the tailer has opened the file at its end
{
  echo "Nov 21 10:00:01 web1 [/bin/bash]: [gala-gopher] return code=[0], execute failed by [root(uid=0)] from [pts/4 (10.136.119.3)]"
  echo "Dec 27 16:32:22 hh131 [/bin/bash]: [gala-gopher] return code=[130], execute failed by [root(uid=0)] from [pts/4 (10.136.119.3)]"
  echo "Nov 21 10:00:03 web1 sshd[22]: Accepted publickey for root from 10.0.0.1 port 22"
} >>"$LOG"
evd_wait_for count_is command.failed 1 || evd_fail "command.failed did not arrive: $(cat "$EVD_TMP/live.err")"
assert_eq "$(first command.failed '[e["severity"], e["data"]["code"], e["data"]["user"], e["data"]["tty"], e["data"]["remote"], e["data"]["command"], e["labels"]["rule"]]')" \
  '["ERROR", 130, "root", "pts/4", "10.136.119.3", null, "tail.command_failed"]' "command.failed event"
mv "$LOG" "$LOG.1" # rotation: rename + create
echo "Nov 21 10:00:04 web1 bash[7]: [gala-gopher] return code=[2], execute failed by [alice(uid=1000)] from [tty1], command=[make install]" >"$LOG"
evd_wait_for count_is command.failed 2 || evd_fail "command after rotation did not arrive"
assert_eq "$(first command.failed '[e["data"]["command"], e["data"]["user"], e["data"]["uid"]]')" '["make install", "alice", 1000]' "after rotation"
: >"$LOG" # truncation (copytruncate)
echo "Nov 21 10:00:05 web1 bash[8]: [gala-gopher] return code=[127], execute failed by [bob] from [pts/1 (192.0.2.7)]: nosuchcmd" >>"$LOG"
evd_wait_for count_is command.failed 3 || evd_fail "command after truncation did not arrive: $(cat "$EVD_TMP/live.err")"
assert_eq "$(first command.failed '[e["data"]["command"], e["data"]["code"], e["data"]["remote"]]')" '["nosuchcmd", 127, "192.0.2.7"]' "after truncation"
assert_eq "$(count kernel.panic_previous_boot)" 1 "pstore panic"
assert_eq "$(first kernel.panic_previous_boot '[e["severity"], e["data"]["file"], "Kernel panic" in e["data"]["text"]]')" \
  '["FATAL", "dmesg-ramoops-0", true]' "panic event"
kill -TERM $PROBE_PID
wait $PROBE_PID
assert_eq "$?" 0 "probe exit status after SIGTERM"

evd_step "restart with the same state: nothing is reported twice, new lines are"
"$PROBE" --config "$EVD_TMP/probe.yml" 2>"$EVD_TMP/live2.err" &
PROBE_PID=$!
evd_bg_pid $PROBE_PID
sleep 1.5
echo "Nov 21 10:00:06 web1 bash[9]: [gala-gopher] return code=[3], execute failed by [carol] from [pts/2]" >>"$LOG"
evd_wait_for count_is command.failed 4 || evd_fail "command after restart did not arrive: $(cat "$EVD_TMP/live2.err")"
sleep 1
assert_eq "$(count command.failed)" 4 "no command reported twice"
assert_eq "$(count kernel.panic_previous_boot)" 1 "pstore file not reported twice"
kill -TERM $PROBE_PID
wait $PROBE_PID

evd_step "a line read again (position lost, as after a crash before the commit) keeps its id: stored once"
rm -f "$STATE"/tail-*.state
sed -i 's/^  files: \[/  from_start: true\n  files: [/' "$EVD_TMP/probe.yml"
"$PROBE" --config "$EVD_TMP/probe.yml" 2>"$EVD_TMP/live3.err" &
PROBE_PID=$!
evd_bg_pid $PROBE_PID
evd_wait_for grep -q "eventd-probe 0" "$EVD_TMP/live3.err" || evd_fail "probe did not start: $(cat "$EVD_TMP/live3.err")"
sleep 2 # the whole file (2 failed commands, both already stored) is read again and sent
echo "Nov 21 10:00:07 web1 bash[10]: [gala-gopher] return code=[4], execute failed by [dave] from [pts/3]" >>"$LOG"
evd_wait_for count_is command.failed 5 || evd_fail "the new line did not arrive: $(cat "$EVD_TMP/live3.err")"
sleep 1
assert_eq "$(count command.failed)" 5 "re-read lines not stored twice (4 before + the new one)"
kill -TERM $PROBE_PID
wait $PROBE_PID

evd_step "stdout mode: JSON lines, the same events, EVENTD_URL ignored with --output stdout"
EVENTD_URL=http://127.0.0.1:1 "$PROBE" --kmsg-file "$FIXTURE" --output stdout >"$EVD_TMP/out.jsonl" 2>"$EVD_TMP/stdout.err" ||
  evd_fail "stdout replay failed: $(cat "$EVD_TMP/stdout.err")"
types=$(python3 -c '
import json, sys
print(" ".join(json.loads(l)["type"] for l in open(sys.argv[1])))' "$EVD_TMP/out.jsonl")
assert_eq "$types" "process.oom_kill process.segfault process.trap process.trap task.hung process.abnormal_exit probe.kmsg_gap process.trap" "stdout types"

evd_step "de-duplication: the same segfault five times is reported once, and the rest counted"
for i in 1 2 3 4 5; do
  echo "6,$((900 + i)),$((1000 + i)),-;loopy[$((300 + i))]: segfault at 0 ip 0000000000401136 sp 00007ffc00000000 error 6 in loopy[401000+1000]"
done >"$EVD_TMP/dup.kmsg"
"$PROBE" --kmsg-file "$EVD_TMP/dup.kmsg" --output stdout >"$EVD_TMP/dup.jsonl" 2>"$EVD_TMP/dup.err" || evd_fail "dup replay failed"
summary=$(python3 -c '
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
s = [e for e in evs if e["type"] == "probe.suppressed"][0]["data"]
print(len([e for e in evs if e["type"] == "process.segfault"]), s["suppressed_type"], s["suppressed"], s["duplicates"])' "$EVD_TMP/dup.jsonl")
assert_eq "$summary" "1 process.segfault 4 4" "dedup summary"

evd_step "a bad configuration is refused with file:line"
printf 'rules:\n  oom_kill: maybe\n' >"$EVD_TMP/bad.yml"
"$PROBE" --config "$EVD_TMP/bad.yml" --output stdout 2>"$EVD_TMP/bad.err"
assert_eq "$?" 2 "exit status for a bad config"
assert_contains "$(cat "$EVD_TMP/bad.err")" "bad.yml:2: oom_kill: expected true or false"

evd_stop
evd_pass
