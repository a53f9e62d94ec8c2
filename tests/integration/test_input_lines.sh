#!/usr/bin/env bash
# JSON lines input: logstash-style json_lines over TCP (bash /dev/tcp and python), UDP
# datagrams (several lines each), per-line errors (invalid lines are counted and logged,
# the valid lines of the same read still land), the line length limit, connections limit,
# and a last line without LF.
source "$(dirname "$0")/lib.sh"

evd_start --grpc off --lines 127.0.0.1:0 --set lines.max_line_bytes=200 --set lines.max_connections=2
LADDR=$(evd_input_addr lines)
LPORT=${LADDR##*:}

count() { evd_req GET "/v1/events/count?$1"; evd_json 'd["count"]'; }
# wait_count QUERY N: wait (up to 10 s) until QUERY counts N events
wait_count() {
  for _ in $(seq 1 100); do [[ $(count "$1") == "$2" ]] && return 0; sleep 0.1; done
  return 1
}

evd_step "TCP: valid lines stored, invalid ones skipped (not JSON, no type, too long), CRLF ok"
long=$(printf '%0300d' 0)
# One write: bash's printf writes line by line, and the daemon may then read the first
# lines alone (the log line below counts the invalid lines per read); cat writes the file
# at once.
printf '%s\n' '{"type":"app.start","stream":"svc","data":{"pid":1}}' 'not json' \
  '{"stream":"svc","message":"no type"}' "{\"type\":\"app.long\",\"stream\":\"svc\",\"message\":\"$long\"}" >"$EVD_TMP/batch.txt"
cat "$EVD_TMP/batch.txt" >"/dev/tcp/127.0.0.1/$LPORT"
printf '{"type":"app.crlf","stream":"svc"}\r\n\n{"type":"app.nolf","stream":"svc","severity":"error"}' >"/dev/tcp/127.0.0.1/$LPORT"
wait_count 'stream=svc' 3 || evd_fail "stored $(count 'stream=svc') of 3"
assert_eq "$(count 'stream=svc&type=app.nolf')" 1 "last line without LF"
evd_req GET "/v1/events?type=app.start"
assert_eq "$(evd_json 'd["events"][0]["data"]["pid"]')" 1 data
evd_wait_for_log "lines: 127.0.0.1:[0-9]+: 3 of 4 events invalid" || evd_fail "invalid lines not logged"
evd_req GET /metrics
assert_contains "$EVD_BODY" 'eventd_input_events_total{input="lines",outcome="rejected"} 3'
assert_contains "$EVD_BODY" 'eventd_input_events_total{input="lines",outcome="accepted"} 3'

evd_step "an over-long line in the middle of a stream is skipped; the stream goes on"
huge=$(printf '%05000d' 0)
printf '%s\n' '{"type":"s.before","stream":"skip"}' "$huge" '{"type":"s.after","stream":"skip"}' >"/dev/tcp/127.0.0.1/$LPORT"
wait_count 'stream=skip' 2 || evd_fail "stream after a long line: $(count 'stream=skip')"

evd_step "UDP datagrams, several lines in one"
printf '{"type":"u.one","stream":"udp"}\n{"type":"u.two","stream":"udp"}\n' >"/dev/udp/127.0.0.1/$LPORT"
printf '{"type":"u.three","stream":"udp"}' >"/dev/udp/127.0.0.1/$LPORT"
wait_count 'stream=udp' 3 || evd_fail "UDP: $(count 'stream=udp') of 3"

evd_step "python json_lines sender, 2000 events on one connection (batched)"
/usr/bin/python3 - "$LPORT" <<'EOF' || evd_fail "python sender"
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"".join(json.dumps({"type": "bulk.ev", "stream": "py", "tag": "t%d" % i}).encode() + b"\n" for i in range(2000)))
s.close()
EOF
wait_count 'stream=py' 2000 || evd_fail "python: $(count 'stream=py') of 2000"
assert_eq "$(count 'tag=t1999')" 1 "last event"

evd_step "lines.max_connections: a third connection is closed at accept"
exec 7<>"/dev/tcp/127.0.0.1/$LPORT"
exec 8<>"/dev/tcp/127.0.0.1/$LPORT"
sleep 0.2
exec 9<>"/dev/tcp/127.0.0.1/$LPORT"
evd_wait_for_log "refused, 2 connections open" || evd_fail "third connection not refused"
exec 7>&- 8>&- 9>&-
evd_req GET /metrics
assert_contains "$EVD_BODY" 'eventd_input_connections_refused_total{input="lines"} 1'
evd_stop

evd_step "backpressure: tiny store queue, sync always: a flood of lines and forward messages is all stored (reading pauses, nothing dropped)"
EVD_DATA=$EVD_TMP/data-bp evd_start --grpc off --lines 127.0.0.1:0 --forward 127.0.0.1:0 --sync always \
  --set store.queue_max_bytes=4096
LPORT=$(evd_input_addr lines); LPORT=${LPORT##*:}
FPORT=$(evd_input_addr forward); FPORT=${FPORT##*:}
/usr/bin/python3 - "$LPORT" "$FPORT" <<'EOF' || evd_fail "flood senders"
import json, socket, sys, msgpack, threading
def lines():
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"".join(json.dumps({"type": "bp.ev", "stream": "bp", "tag": "l%d" % i, "data": {"pad": "x" * 200}}).encode() + b"\n" for i in range(20000)))
    s.close()
def forward():
    s = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
    for k in range(40):  # fire and forget: no chunk
        s.sendall(msgpack.packb(["bp.fwd", [[1700000000, {"event_tag": "f%d" % (k * 100 + i), "pad": "y" * 200}] for i in range(100)]]))
    s.close()
ts = [threading.Thread(target=f) for f in (lines, forward)]
[t.start() for t in ts]; [t.join() for t in ts]
EOF
wait_count 'stream=bp&type=bp.ev' 20000 || evd_fail "lines flood: $(count 'stream=bp&type=bp.ev') of 20000 stored"
wait_count 'stream=bp&type=fwd' 4000 || evd_fail "forward flood: $(count 'stream=bp&type=fwd') of 4000 stored"
evd_req GET /metrics
over=$(grep -o 'eventd_events_rejected_total{reason="overloaded"} [0-9]*' <<<"$EVD_BODY" | awk '{print $2}')
echo "   (the store refused $over events for now; they were retried)"
evd_stop

evd_step "lines.format=record: a logstash json_lines document (python-logstash-async shape) is mapped"
EVD_DATA=$EVD_TMP/data-rec evd_start --grpc off --lines 127.0.0.1:0 --set lines.format=record --set lines.stream=webapp
LPORT=$(evd_input_addr lines); LPORT=${LPORT##*:}
printf '%s\n' '{"@timestamp":"2024-05-01T10:00:00.250Z","@version":"1","host":"web-1","level":"ERROR","logsource":"web-1","message":"payment failed","pid":4242,"program":"shop.py","type":"python-logstash","tags":["x"],"extra":{"order":17}}' \
  '{"message":"no type, epoch ms","timestamp":1714557600000}' '{"message":"bad time","time":"yesterday"}' >"/dev/tcp/127.0.0.1/$LPORT"
wait_count 'stream=webapp' 2 || evd_fail "record lines: $(count 'stream=webapp') of 2"
evd_req GET "/v1/events?stream=webapp&type=python-logstash"
assert_eq "$(evd_json 'd["events"][0]["time"]')" 2024-05-01T10:00:00.250000000Z "@timestamp -> time"
assert_eq "$(evd_json 'd["events"][0]["severity"]')" ERROR "level -> severity"
assert_eq "$(evd_json 'd["events"][0]["source"]')" web-1 "host -> source"
assert_eq "$(evd_json 'd["events"][0]["message"]')" "payment failed" message
assert_eq "$(evd_json 'd["events"][0]["data"]["extra"]["order"]')" 17 "other keys -> data"
assert_eq "$(evd_json '"@timestamp" in d["events"][0]["data"]')" false "@timestamp not kept in data"
evd_req GET "/v1/events?stream=webapp&type=log"
assert_eq "$(evd_json 'd["events"][0]["time"]')" 2024-05-01T10:00:00.000000000Z "epoch ms"
evd_wait_for_log "time: not an RFC 3339 time" || evd_fail "bad time not logged"
evd_stop
evd_pass
