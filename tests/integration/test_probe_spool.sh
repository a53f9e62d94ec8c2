#!/usr/bin/env bash
# eventd-probe while eventd is down: failed commands found meanwhile go to libeventd's spool in
# the state directory and reach eventd, in order, once it is back on the same port — also
# across a restart of the probe itself. Nothing is lost, nothing is stored twice.
source "$(dirname "$0")/lib.sh"

PROBE=$EVD_BUILD_DIR/eventd-probe
[[ -x $PROBE ]] || evd_fail "$PROBE not built"

evd_start
PORT=$EVD_PORT
URL=$EVD_URL
LOG=$EVD_TMP/messages
: >"$LOG"
line() { echo "Nov 21 10:00:0$1 web1 bash[$1]: [gala-gopher] return code=[$1], execute failed by [u$1] from [pts/$1]" >>"$LOG"; }
count() {
  evd_req GET "/v1/events/count?stream=host&type=command.failed"
  evd_json 'd["count"]'
}
count_is() { [[ "$(count)" == "$1" ]]; }
codes() {
  evd_req GET "/v1/events?stream=host&type=command.failed&order=asc"
  evd_json '[e["data"]["code"] for e in d["events"]]'
}

start_probe() {
  "$PROBE" --no-kmsg --no-process --tail "$LOG" --output "$URL" --state-dir "$EVD_TMP/state" 2>>"$EVD_TMP/probe.err" &
  PROBE_PID=$!
  evd_bg_pid $PROBE_PID
  sleep 1.5
}

evd_step "eventd up: one command arrives"
start_probe
line 1
evd_wait_for count_is 1 || evd_fail "first command did not arrive: $(cat "$EVD_TMP/probe.err")"

evd_step "eventd down: two commands are spooled; the probe itself restarts meanwhile"
evd_stop
line 2
sleep 2.5
kill -TERM $PROBE_PID
wait $PROBE_PID
assert_eq "$?" 0 "probe exit status with events kept in the spool"
start_probe
line 3
sleep 2.5
[[ -n $(ls "$EVD_TMP/state/spool" 2>/dev/null) ]] || evd_fail "no spool in the state directory"

evd_step "eventd back on the same port: the spooled commands arrive, in order, once"
evd_start --http "127.0.0.1:$PORT"
[[ $EVD_PORT == "$PORT" ]] || evd_fail "eventd did not come back on port $PORT (got $EVD_PORT)"
evd_wait_for count_is 3 || evd_fail "spooled commands did not arrive (count $(count)): $(cat "$EVD_TMP/probe.err")"
sleep 1
assert_eq "$(count)" 3 "no command stored twice"
assert_eq "$(codes)" "[1, 2, 3]" "order"
kill -TERM $PROBE_PID
wait $PROBE_PID
assert_eq "$?" 0 "probe exit status"
evd_stop
evd_pass
