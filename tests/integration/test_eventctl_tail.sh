#!/usr/bin/env bash
# eventctl tail against a real eventd: live events with a routing-key pattern, automatic
# reconnection with Last-Event-ID across a clean restart and a kill -9 (no gap, no duplicate,
# events sent while it was disconnected arrive), table output, -n, --since replay, --after,
# SIGINT exits 0, a bad filter exits 1, an unreachable daemon with --retries exits 2.
source "$(dirname "$0")/lib.sh"

E=$EVD_EVENTCTL
[[ -x $E ]] || evd_fail "$E not built"

nlines() { if [[ -s $1 ]]; then wc -l <"$1"; else echo 0; fi; }
wait_lines() { # wait_lines FILE N -> up to 20 s
  for _ in $(seq 1 200); do
    (($(nlines "$1") >= $2)) && return 0
    sleep 0.1
  done
  return 1
}
tail_clients() { evd_curl /metrics | awk '$1 == "eventd_tail_clients" {print $2}'; }
wait_clients() {
  for _ in $(seq 1 200); do
    [[ $(tail_clients 2>/dev/null) == "$1" ]] && return 0
    sleep 0.1
  done
  evd_fail "tail clients did not become $1 (is $(tail_clients))"
}
SENT=()
# send_ev STREAM TYPE MSG -> appends the id to SENT when the stream is tailt
send_ev() {
  local id
  id=$("$E" send "$3" --stream "$1" --type "$2") || evd_fail "send $*"
  [[ $1 == tailt ]] && SENT+=("$id")
  return 0
}
ids_of() { python3 -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin))' <"$1"; }

evd_start
port=$EVD_PORT

evd_step "tail --key 'tailt.#' receives live matching events only"
"$E" tail --key 'tailt.#' --ndjson >"$EVD_TMP/tail.out" 2>"$EVD_TMP/tail.err" &
tail_pid=$!
evd_bg_pid "$tail_pid"
wait_clients 1
send_ev tailt a.one "first"
send_ev other a.one "not matching"
send_ev tailt b "second"
send_ev tailt c.d.e "third"
wait_lines "$EVD_TMP/tail.out" 3 || evd_fail "live events did not arrive: $(cat "$EVD_TMP/tail.out" "$EVD_TMP/tail.err")"
assert_eq "$(ids_of "$EVD_TMP/tail.out")" "${SENT[*]}" "live ids, filtered, in order"

evd_step "eventd restarts (SIGTERM): tail reconnects and resumes after the last event"
evd_stop
evd_start --http "127.0.0.1:$port"
# sent right away, most likely before tail is back: must still arrive (no gap)
send_ev tailt after.restart "fourth"
send_ev other x "not matching"
send_ev tailt after.restart "fifth"
wait_lines "$EVD_TMP/tail.out" 5 || evd_fail "events after the restart did not arrive: $(cat "$EVD_TMP/tail.err")"
wait_clients 1
send_ev tailt live.again "sixth"
wait_lines "$EVD_TMP/tail.out" 6 || evd_fail "live event after reconnect did not arrive"
assert_contains "$(cat "$EVD_TMP/tail.err")" "reconnecting" "the reconnection is announced"

evd_step "eventd is killed (-9): tail reconnects again, no gap, no duplicate"
send_ev tailt before.kill "seventh"
wait_lines "$EVD_TMP/tail.out" 7 || evd_fail "seventh did not arrive"
evd_stop KILL
evd_start --http "127.0.0.1:$port"
for i in 8 9 10; do send_ev tailt after.kill "event $i"; done
wait_lines "$EVD_TMP/tail.out" 10 || evd_fail "events after kill -9 did not arrive: $(cat "$EVD_TMP/tail.err")"
sleep 0.5 # a duplicate would show up now
assert_eq "$(nlines "$EVD_TMP/tail.out")" 10 "exactly the 10 matching events"
assert_eq "$(ids_of "$EVD_TMP/tail.out")" "${SENT[*]}" "every matching event once, in order"

evd_step "SIGINT ends tail with exit 0"
kill -INT "$tail_pid"
wait "$tail_pid"
assert_eq "$?" 0 "tail exit status after SIGINT"

evd_step "tail --since replays, -n stops, table output"
out=$(timeout 20 "$E" tail --key 'tailt.#' --since -1h -n 3 --table)
assert_eq "$?" 0 "tail -n 3 exit status"
assert_eq "$(wc -l <<<"$out")" 4 "header + 3 rows"
assert_contains "$(head -1 <<<"$out")" "MESSAGE" "table header"
assert_contains "$out" "first" "first replayed event"
assert_contains "$out" "third" "third replayed event"

evd_step "tail --after ID starts right after that event"
out=$(timeout 20 "$E" tail --key 'tailt.#' --after "${SENT[3]}" -n 2 --ndjson)
assert_eq "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin))' <<<"$out")" \
  "${SENT[4]} ${SENT[5]}" "--after resumes like a reconnect"

evd_step "tail with a bad filter exits 1 with eventd's message"
timeout 20 "$E" tail --since not-a-time >/dev/null 2>"$EVD_TMP/bad.err"
assert_eq "$?" 1 "bad filter exit status"
assert_contains "$(cat "$EVD_TMP/bad.err")" "since" "the bad parameter is named"

evd_step "tail --retries gives up on an unreachable eventd with exit 2"
evd_stop
timeout 20 "$E" tail --retries 2 >/dev/null 2>"$EVD_TMP/gone.err"
assert_eq "$?" 2 "unreachable exit status"
assert_contains "$(cat "$EVD_TMP/gone.err")" "127.0.0.1:$port" "the URL is named"
evd_pass
