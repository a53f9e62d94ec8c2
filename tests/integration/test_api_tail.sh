#!/usr/bin/env bash
# GET /v1/tail: live events arrive over SSE with filters; reconnecting with Last-Event-ID
# gets exactly the missed events; since= replays history first; keepalive comments;
# clients that disconnect are freed (the tail_clients gauge drops).
source "$(dirname "$0")/lib.sh"

evd_start --set tail.keepalive=300ms --log-level debug

# sse_ids FILE -> the event ids received so far, space-separated
sse_ids() { grep '^id: ' "$1" | sed 's/^id: //' | tr '\n' ' ' | sed 's/ $//'; }
sse_count() { grep -c '^id: ' "$1"; }
# wait_sse FILE N -> waits (10 s) until FILE holds at least N events
wait_sse() {
  for _ in $(seq 1 100); do
    (($(sse_count "$1") >= $2)) && return 0
    sleep 0.1
  done
  return 1
}
# tail_bg OUTFILE QUERY [CURL-ARGS...] -> starts curl -N in the background, sets TAIL_PID
tail_bg() {
  local out=$1 q=$2
  shift 2
  curl -sS -N "$@" "$EVD_URL/v1/tail?$q" >"$out" 2>"$out.err" &
  TAIL_PID=$!
  evd_bg_pid "$TAIL_PID"
}
tail_clients() {
  evd_curl /metrics | awk '$1 == "eventd_tail_clients" {print $2}'
}
wait_clients() {
  local want=$1
  for _ in $(seq 1 100); do
    [[ $(tail_clients) == "$want" ]] && return 0
    sleep 0.1
  done
  evd_fail "tail_clients did not become $want (is $(tail_clients))"
}
send() { # send TYPE ID...
  local type=$1 body=""
  shift
  for id in "$@"; do body+="{\"type\":\"$type\",\"id\":\"$id\"}"$'\n'; done
  evd_post_ndjson /v1/events "$body"
  assert_status 200 "send $*"
}

evd_step "events sent before the tail connects are not replayed"
send old.event before-1 before-2

evd_step "live events arrive, filtered"
tail_bg "$EVD_TMP/t1" 'type=live.*'
wait_clients 1
send live.a l1 l2
send other.x o1
send live.b l3
wait_sse "$EVD_TMP/t1" 3 || evd_fail "live events did not arrive: $(cat "$EVD_TMP/t1")"
assert_eq "$(sse_ids "$EVD_TMP/t1")" "l1 l2 l3" "live ids, filter applied, in order"
assert_contains "$(cat "$EVD_TMP/t1")" "event: event" "event field"
data=$(grep -m1 '^data: ' "$EVD_TMP/t1" | sed 's/^data: //')
assert_eq "$(evd_json 'd["id"]' "$data")" l1 "data is the canonical event"
assert_eq "$(evd_json 'd["type"]' "$data")" live.a "data type"

evd_step "keepalive comments on an idle stream"
evd_wait_for grep -q '^: keepalive' "$EVD_TMP/t1" || evd_fail "no keepalive comment"

evd_step "disconnect frees the client"
kill "$TAIL_PID"
wait "$TAIL_PID" 2>/dev/null
wait_clients 0

evd_step "reconnect with Last-Event-ID gets exactly the missed events"
send live.c m1 m2
send other.y o2
send live.d m3
tail_bg "$EVD_TMP/t2" 'type=live.*' -H 'Last-Event-ID: l3'
wait_sse "$EVD_TMP/t2" 3 || evd_fail "missed events not replayed: $(cat "$EVD_TMP/t2")"
send live.e m4
wait_sse "$EVD_TMP/t2" 4 || evd_fail "live after resume"
sleep 0.3
assert_eq "$(sse_ids "$EVD_TMP/t2")" "m1 m2 m3 m4" "exactly the missed events, then live"
kill "$TAIL_PID"
wait "$TAIL_PID" 2>/dev/null

evd_step "last_event_id as a query parameter"
tail_bg "$EVD_TMP/t3" 'type=live.*&last_event_id=m2'
wait_sse "$EVD_TMP/t3" 2 || evd_fail "resume by parameter"
sleep 0.2
assert_eq "$(sse_ids "$EVD_TMP/t3")" "m3 m4" "resume after m2"
kill "$TAIL_PID"
wait "$TAIL_PID" 2>/dev/null

evd_step "unknown Last-Event-ID is a 400"
evd_req GET '/v1/tail' -H 'Last-Event-ID: never-stored' --max-time 5
assert_status 400 "unknown Last-Event-ID"
assert_contains "$(evd_json 'd["error"]')" "never-stored"

evd_step "since= replays history in time order, then goes live"
now=$(date +%s)
evd_post_ndjson /v1/events "{\"type\":\"hist.x\",\"id\":\"h2\",\"time\":$((now - 20))}
{\"type\":\"hist.x\",\"id\":\"h1\",\"time\":$((now - 30))}
{\"type\":\"hist.x\",\"id\":\"h0\",\"time\":$((now - 3600))}"
assert_status 200 "history"
tail_bg "$EVD_TMP/t4" 'type=hist.*&since=-10m'
wait_sse "$EVD_TMP/t4" 2 || evd_fail "history not replayed: $(cat "$EVD_TMP/t4")"
send hist.y h3
wait_sse "$EVD_TMP/t4" 3 || evd_fail "live after history"
sleep 0.2
assert_eq "$(sse_ids "$EVD_TMP/t4")" "h1 h2 h3" "history (since, time order) then live"
kill "$TAIL_PID"
wait "$TAIL_PID" 2>/dev/null

evd_step "bad filters are refused before streaming"
evd_req GET '/v1/tail?limit=5' --max-time 5
assert_status 400 "limit is not a tail parameter"

evd_step "many events to a tail client (bounded turns, nothing lost)"
tail_bg "$EVD_TMP/t5" 'type=bulk'
wait_clients 1
python3 -c 'print("\n".join("{\"type\":\"bulk\",\"id\":\"b%05d\",\"message\":\"%s\"}" % (i, "z"*300) for i in range(5000)))' >"$EVD_TMP/bulk.ndjson"
evd_req POST /v1/events -H 'Content-Type: application/x-ndjson' --data-binary @"$EVD_TMP/bulk.ndjson"
assert_status 200 "bulk send"
wait_sse "$EVD_TMP/t5" 5000 || evd_fail "bulk: got $(sse_count "$EVD_TMP/t5") of 5000"
assert_eq "$(grep '^id: ' "$EVD_TMP/t5" | sort -u | wc -l)" 5000 "no duplicates"
assert_eq "$(grep '^id: ' "$EVD_TMP/t5" | head -1)" "id: b00000" "first"
assert_eq "$(grep '^id: ' "$EVD_TMP/t5" | tail -1)" "id: b04999" "last"
kill "$TAIL_PID"
wait "$TAIL_PID" 2>/dev/null
wait_clients 0

evd_step "a slow reader is paused, not buffered without bound, and loses nothing"
cat >"$EVD_TMP/slow.py" <<'PYEOF'
import socket, sys, time
port, want, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
s.sendall(b"GET /v1/tail?type=slow HTTP/1.1\r\nHost: x\r\n\r\n")
open(out + ".ready", "w").close()
time.sleep(4)  # do not read while the events are sent
# Count ids incrementally (re-counting the whole buffer per chunk is quadratic and too slow
# on a loaded machine); the 4 bytes kept from the previous chunk catch an id split in two.
chunks, ids, tail, deadline = [], 0, b"\n", time.time() + 120
while ids < want and time.time() < deadline:
    chunk = s.recv(65536)
    if not chunk:
        break
    chunks.append(chunk)
    ids += (tail + chunk).count(b"\nid: ")
    tail = chunk[-4:]
open(out, "wb").write(b"".join(chunks))
PYEOF
python3 "$EVD_TMP/slow.py" "$EVD_PORT" 20000 "$EVD_TMP/slow.out" &
slow=$!
evd_bg_pid "$slow"
evd_wait_for test -e "$EVD_TMP/slow.out.ready" || evd_fail "slow client did not connect"
wait_clients 1
python3 -c 'print("\n".join("{\"type\":\"slow\",\"id\":\"s%05d\",\"message\":\"%s\"}" % (i, "w"*400) for i in range(20000)))' >"$EVD_TMP/slow.ndjson"
evd_req POST /v1/events -H 'Content-Type: application/x-ndjson' --data-binary @"$EVD_TMP/slow.ndjson"
assert_status 200 "send while the reader sleeps"
wait "$slow" || evd_fail "slow client failed"
got=$(grep -ac '^id: s' "$EVD_TMP/slow.out")
assert_eq "$got" 20000 "events the slow reader received"
assert_eq "$(grep -a '^id: s' "$EVD_TMP/slow.out" | sed 's/^id: //' | sort -c && echo sorted)" sorted "in order"
grep -q 'tail: client paused' "$EVD_LOG" || evd_fail "the slow reader was never paused"
grep -q 'tail: client drained, resuming' "$EVD_LOG" || evd_fail "the slow reader was never resumed"

evd_step "SIGTERM ends open streams and exits 0"
evd_stop
assert_eq "$EVD_EXIT" 0 "exit status with a tail client connected"
wait "$TAIL_PID" 2>/dev/null
evd_pass
