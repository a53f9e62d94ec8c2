#!/usr/bin/env bash
# Fluentd Forward Protocol input: python3-fluent-logger (Message mode, nanosecond EventTime)
# as td-agent-bit would send Magma's records, then crafted msgpack (python3-msgpack) for
# Forward, PackedForward, CompressedPackedForward (gzip with two members; zstd made with the
# zstd CLI), chunk/ack, the size option, invalid events (skipped and counted; refused with
# forward.on_invalid=refuse), the HELO/PING/PONG handshake with users, and TLS. Every case
# checks the stored events with GET /v1/events.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
CLIENT="$EVD_SOURCE_DIR/tests/integration/inputs/fwd_client.py"
$PY -c 'import msgpack, fluent' 2>/dev/null || evd_fail "python3-msgpack / python3-fluent-logger missing"

evd_start --grpc off --forward 127.0.0.1:0 --set forward.chunk_ids=1
FWD=$(evd_input_addr forward)
FPORT=${FWD##*:}

# count QUERY: number of events matching the query string
count() { evd_req GET "/v1/events/count?$1"; evd_json 'd["count"]'; }
# wait_count QUERY N: wait (up to 10 s) until QUERY counts N events
wait_count() {
  for _ in $(seq 1 100); do [[ $(count "$1") == "$2" ]] && return 0; sleep 0.1; done
  return 1
}

evd_step "fluent-logger, Message mode: a Magma td-agent-bit record lands as the original event"
$PY - "$FPORT" <<'EOF' || evd_fail "fluent-logger emit failed"
import sys, json
from fluent import sender
s = sender.FluentSender('eventd', host='127.0.0.1', port=int(sys.argv[1]), nanosecond_precision=True)
rec = {"stream_name": "sessiond", "event_type": "session_created", "event_tag": "IMSI001",
       "value": json.dumps({"imsi": "IMSI001", "apn": "internet"}), "retry_on_failure": "True",
       "hw_id": "hw-42", "network_id": "net1", "gateway_id": "gw1"}
if not s.emit_with_time(None, 1700000000.25, rec): sys.exit("emit: %r" % s.last_error)
s2 = sender.FluentSender('app.login', host='127.0.0.1', port=int(sys.argv[1]), nanosecond_precision=True)
if not s2.emit('ok', {"log": "user logged in", "user": "bob", "level": "warn"}): sys.exit(1)
s.close(); s2.close()
EOF
wait_count 'tag=IMSI001' 1 || evd_fail "the Magma record was not stored"
evd_req GET "/v1/events?tag=IMSI001"
assert_eq "$(evd_json 'd["events"][0]["stream"]')" sessiond stream
assert_eq "$(evd_json 'd["events"][0]["type"]')" session_created type
assert_eq "$(evd_json 'd["events"][0]["source"]')" hw-42 "source from hw_id"
assert_eq "$(evd_json 'd["events"][0]["data"]')" '{"imsi": "IMSI001", "apn": "internet"}' "data from value"
assert_eq "$(evd_json 'd["events"][0]["labels"]["network_id"]')" net1 "label network_id"
assert_eq "$(evd_json 'd["events"][0]["time"]')" 2023-11-14T22:13:20.250000000Z "EventTime kept"
wait_count 'stream=app&type=login.ok' 1 || evd_fail "tag app.login + label ok: not split into stream/type"
evd_req GET "/v1/events?stream=app"
assert_eq "$(evd_json 'd["events"][0]["message"]')" "user logged in" "log -> message"
assert_eq "$(evd_json 'd["events"][0]["severity"]')" WARN "level -> severity"
assert_eq "$(evd_json 'd["events"][0]["data"]["user"]')" bob "other keys -> data"

evd_step "Magma query API sees the forwarded event under its network"
evd_req GET "/magma/v1/events/net1?streams=sessiond"
assert_status 200 "magma query"
assert_eq "$(evd_json 'd[0]["hardware_id"]')" hw-42 "magma hardware_id"

for mode in forward packed gzip zstd; do
  evd_step "$mode mode with chunk: acked only once stored; size option matches"
  out=$($PY "$CLIENT" "$FPORT" $mode --n 5 --size 5 --chunk "chunk-$mode" --prefix "$mode") ||
    evd_fail "$mode: client failed: $out"
  assert_eq "$out" "{\"ack\": \"chunk-$mode\"}" "$mode ack"
  # The ack means durable: the events are queryable at once, no waiting.
  assert_eq "$(count "tag=$mode-4")" 1 "$mode: last event stored before the ack"
  evd_req GET "/v1/events?tag=$mode-3"
  assert_eq "$(evd_json 'd["events"][0]["data"]["imsi"]')" IMSI00003 "$mode data"
  assert_eq "$(evd_json 'd["events"][0]["time"]')" 2023-11-14T22:13:23.123456789Z "$mode time"
done

evd_step "a chunk resent after a lost ack is stored once (forward.chunk_ids: ids CHUNK:INDEX)"
for attempt in 1 2; do
  out=$($PY "$CLIENT" "$FPORT" packed --n 4 --chunk "resend-1" --prefix resend) || evd_fail "resend $attempt: $out"
  assert_eq "$out" '{"ack": "resend-1"}' "ack of attempt $attempt"
done
assert_eq "$(count 'tag=resend-3')" 1 "resent chunk stored once"
evd_req GET "/v1/events?tag=resend-2"
assert_eq "$(evd_json 'd["events"][0]["id"]')" "resend-1:2" "id from chunk and index"

evd_step "integer and float times, Fluent Bit 2.1 [[time, metadata], record] entries"
for t in int float fb2; do
  out=$($PY "$CLIENT" "$FPORT" forward --n 2 --time $t --chunk "t-$t" --prefix "time$t") || evd_fail "$t: $out"
done
evd_req GET "/v1/events?tag=timeint-1"
assert_eq "$(evd_json 'd["events"][0]["time"]')" 2023-11-14T22:13:21.000000000Z "int time"
evd_req GET "/v1/events?tag=timefloat-1"
assert_eq "$(evd_json 'd["events"][0]["time"]')" 2023-11-14T22:13:21.500000000Z "float time"
assert_eq "$(count 'tag=timefb2-1')" 1 "fb2 entry"

evd_step "a message whose size option disagrees is not acked (connection closed)"
out=$($PY "$CLIENT" "$FPORT" forward --n 3 --size 4 --chunk sz --prefix size --timeout 3) && evd_fail "acked: $out"
assert_eq "$(count 'tag=size-0')" 0 "nothing of it stored"

evd_step "an invalid event is skipped (logged, counted); the valid ones are stored and acked"
out=$($PY "$CLIENT" "$FPORT" forward --n 3 --bad 1 --chunk bad1 --prefix skip) || evd_fail "$out"
assert_eq "$out" '{"ack": "bad1"}' "ack despite one invalid"
assert_eq "$(count 'tag=skip-0')" 1 "valid 0 stored"
assert_eq "$(count 'tag=skip-2')" 1 "valid 2 stored"
evd_wait_for_log "1 of 3 events invalid" || evd_fail "invalid event not logged"

evd_step "metrics per input"
evd_req GET /metrics
assert_contains "$EVD_BODY" 'eventd_input_connections_total{input="forward"}'
acc=$(grep -o 'eventd_input_events_total{input="forward",outcome="accepted"} [0-9]*' <<<"$EVD_BODY" | awk '{print $2}')
rej=$(grep -o 'eventd_input_events_total{input="forward",outcome="rejected"} [0-9]*' <<<"$EVD_BODY" | awk '{print $2}')
[[ $acc -ge 30 ]] || evd_fail "accepted forward events: $acc"
[[ $rej -ge 1 ]] || evd_fail "rejected forward events: $rej"
evd_stop

evd_step "forward.on_invalid=refuse: nothing stored, no ack"
EVD_DATA=$EVD_TMP/data-refuse evd_start --grpc off --forward 127.0.0.1:0 --set forward.on_invalid=refuse
FPORT=$(evd_input_addr forward); FPORT=${FPORT##*:}
out=$($PY "$CLIENT" "$FPORT" forward --n 3 --bad 1 --chunk r1 --prefix refuse --timeout 3) && evd_fail "acked: $out"
assert_eq "$(count 'tag=refuse-0')" 0 "valid event of a refused message not stored"
evd_stop

evd_step "shared-key handshake with users (HELO/PING/PONG)"
EVD_DATA=$EVD_TMP/data-auth evd_start --grpc off --forward 127.0.0.1:0 \
  --set forward.shared_key=s3cret --set forward.users=alice:pw1,bob:pw2 --set forward.self_hostname=eventd-test
FPORT=$(evd_input_addr forward); FPORT=${FPORT##*:}
out=$($PY "$CLIENT" "$FPORT" packed --chunk a1 --shared-key s3cret --user bob:pw2 --prefix auth) || evd_fail "handshake: $out"
assert_eq "$out" '{"ack": "a1"}' "ack after handshake"
assert_eq "$(count 'tag=auth-2')" 1 "authenticated events stored"
out=$($PY "$CLIENT" "$FPORT" packed --chunk a2 --shared-key wrong --user bob:pw2 --prefix nokey)
assert_eq "$?" 4 "wrong key refused"
assert_contains "$out" "shared_key mismatch"
out=$($PY "$CLIENT" "$FPORT" packed --chunk a3 --shared-key s3cret --user bob:nope --prefix nouser)
assert_contains "$out" "username/password mismatch"
out=$($PY "$CLIENT" "$FPORT" packed --chunk a4 --prefix nohs --timeout 3) && evd_fail "no handshake acked: $out"
assert_eq "$(count 'tag=nokey-0')$(count 'tag=nouser-0')$(count 'tag=nohs-0')" 000 "unauthenticated not stored"
evd_stop

evd_step "TLS (forward.tls.cert/key)"
CERT=$EVD_TMP/cert.pem KEY=$EVD_TMP/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$KEY" -out "$CERT" >"$EVD_TMP/openssl.out" 2>&1 || evd_fail "openssl req failed"
EVD_DATA=$EVD_TMP/data-tls evd_start --grpc off --forward 127.0.0.1:0 \
  --set forward.tls.cert="$CERT" --set forward.tls.key="$KEY"
grep -q 'forward listening on .* (TLS)' "$EVD_LOG" || evd_fail "no TLS in the listening line"
FPORT=$(evd_input_addr forward); FPORT=${FPORT##*:}
out=$($PY "$CLIENT" "$FPORT" gzip --chunk tls1 --tls "$CERT" --prefix tls) || evd_fail "TLS: $out"
assert_eq "$out" '{"ack": "tls1"}' "ack over TLS"
assert_eq "$(count 'tag=tls-2')" 1 "TLS events stored"
evd_stop

evd_pass
