#!/usr/bin/env bash
# gRPC: Magma's magma.orc8r.EventService/LogEvent with a real gRPC client (python3-grpcio and
# stubs compiled from proto/orc8r/eventd.proto at test time): the field mapping, every error
# code Magma's clients see (and the ones where Magma was wrong), the health service, the
# protocol edges (compression, unknown methods, non-gRPC requests, deadlines).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/grpc/grpc_lib.sh"

evd_grpc_setup

evd_step "health: SERVING"
evd_start
[[ -n $EVD_GRPC_ADDR ]] || evd_fail "no 'eventd: grpc listening on' line"
assert_contains "$EVD_GRPC_ADDR" "127.0.0.1:" "gRPC address"
evd_grpc health
assert_grpc_code OK "health check"
assert_eq "$(grpc_field 'd["status"]')" SERVING "health status"
evd_grpc health --service magma.orc8r.EventService
assert_eq "$(grpc_field 'd["status"]')" SERVING "health of magma.orc8r.EventService"
evd_grpc health --service no.such.Service
assert_grpc_code NOT_FOUND "health of an unknown service"

evd_step "LogEvent: OK, and the event is stored with Magma's fields mapped"
evd_grpc log --stream magmad --type processed_updates --tag gw-42 \
  --value '{"updates":[{"key":"a","value":"Yg=="}],"n":3}'
assert_grpc_code OK "LogEvent"
evd_req GET '/v1/events?type=processed_updates'
assert_status 200 "query"
assert_eq "$(evd_json 'len(d["events"])')" 1 "one event stored"
assert_eq "$(evd_json 'd["events"][0]["stream"]')" magmad "stream_name -> stream"
assert_eq "$(evd_json 'd["events"][0]["type"]')" processed_updates "event_type -> type"
assert_eq "$(evd_json 'd["events"][0]["tag"]')" gw-42 "tag -> tag"
assert_eq "$(evd_json 'd["events"][0]["data"]')" '{"updates": [{"key": "a", "value": "Yg=="}], "n": 3}' \
  "value -> data (parsed JSON)"
assert_eq "$(evd_json 'd["events"][0]["key"]')" magmad.processed_updates "routing key default"

evd_step "LogEvent without stream_name or tag: defaults"
evd_grpc log --type bare_event --value '{}'
assert_grpc_code OK "LogEvent with only a type"
evd_req GET '/v1/events?type=bare_event'
assert_eq "$(evd_json 'd["events"][0]["stream"]')" default "default stream"
assert_eq "$(evd_json '"tag" in d["events"][0]')" false "no tag"

evd_step "invalid JSON in value: INVALID_ARGUMENT (Magma answered UNKNOWN)"
evd_grpc log --stream s --type t1 --value '{"a":'
assert_grpc_code INVALID_ARGUMENT "invalid JSON value"
assert_contains "$(grpc_field 'd["details"]')" "Event validation failed, Details: invalid JSON in value:" "message"
evd_grpc log --stream s --type t1 --value ''
assert_grpc_code INVALID_ARGUMENT "empty value"
assert_contains "$(grpc_field 'd["details"]')" "invalid JSON in value" "empty value message"
evd_grpc log --stream s --type t1 --value '[1,2]'
assert_grpc_code INVALID_ARGUMENT "value that is not an object"
assert_eq "$(grpc_field 'd["details"]')" "Event validation failed, Details: data: expected object, got array" \
  "non-object message"

evd_step "event_type missing: INVALID_ARGUMENT naming event_type"
evd_grpc log --stream s --value '{}'
assert_grpc_code INVALID_ARGUMENT "missing event_type"
assert_eq "$(grpc_field 'd["details"]')" "Event validation failed, Details: event_type: required" "message"

evd_step "bad field: INVALID_ARGUMENT; a field over its limit: RESOURCE_EXHAUSTED"
evd_grpc log --stream 'two words' --type t1 --value '{}'
assert_grpc_code INVALID_ARGUMENT "stream with a space"
assert_contains "$(grpc_field 'd["details"]')" "Details: stream: invalid character ' '" "names the field"
evd_grpc log --stream "$(printf 'x%.0s' $(seq 1 300))" --type t1 --value '{}'
assert_grpc_code RESOURCE_EXHAUSTED "stream over 256 bytes"
assert_eq "$(grpc_field 'd["details"]')" "Event validation failed, Details: stream: exceeds 256 bytes (limits.name_max)" \
  "names the field and the limit"

evd_step "strings with a NUL byte or invalid UTF-8: INVALID_ARGUMENT (nothing cut silently)"
# field 2 (event_type) "t", field 3 (tag) "a\0b"
evd_grpc raw /magma.orc8r.EventService/LogEvent 1201741a03610062
assert_grpc_code INVALID_ARGUMENT "NUL in tag"
assert_eq "$(grpc_field 'd["details"]')" "Event validation failed, Details: tag: contains a NUL byte" "message"
evd_grpc raw /magma.orc8r.EventService/LogEvent 1201741a02c328
assert_grpc_code INVALID_ARGUMENT "invalid UTF-8 in tag"
assert_contains "$(grpc_field 'd["details"]')" "tag: invalid UTF-8" "message"

evd_step "a request that is not a protobuf Event: INTERNAL; no message: INTERNAL"
evd_grpc raw /magma.orc8r.EventService/LogEvent ffffffff
assert_grpc_code INTERNAL "garbage request"
evd_grpc raw /magma.orc8r.EventService/LogEvent
assert_grpc_code INTERNAL "no request message"
assert_contains "$(grpc_field 'd["details"]')" "no request message" "message"

evd_step "unknown method: UNIMPLEMENTED"
evd_grpc raw /magma.orc8r.EventService/LogEvents 1201741a0161
assert_grpc_code UNIMPLEMENTED "unknown method"
assert_contains "$(grpc_field 'd["details"]')" "unknown method /magma.orc8r.EventService/LogEvents" "message"
evd_grpc raw /grpc.health.v1.Health/Watch ""
assert_grpc_code UNIMPLEMENTED "Health/Watch is not served"

evd_step "a compressed message: UNIMPLEMENTED (only identity is supported)"
evd_grpc log --type compressed --value-size 20000 --gzip
assert_grpc_code UNIMPLEMENTED "gzip message"
assert_contains "$(grpc_field 'd["details"]')" "compressed messages are not supported" "message"

evd_step "over limits: RESOURCE_EXHAUSTED"
# An event over limits.event_max_bytes (1 MiB) inside a message under 4 MiB.
evd_grpc log --type big --value-size $((1536 * 1024))
assert_grpc_code RESOURCE_EXHAUSTED "value over limits.event_max_bytes"
assert_contains "$(grpc_field 'd["details"]')" "limits.event_max_bytes" "names the limit"
# A message over grpc.max_message_bytes (4 MiB): refused from its prefix.
evd_grpc log --type huge --value-size $((5 * 1024 * 1024))
assert_grpc_code RESOURCE_EXHAUSTED "message over grpc.max_message_bytes"
assert_contains "$(grpc_field 'd["details"]')" "grpc.max_message_bytes" "names the setting"
evd_req GET '/v1/events/count?type=big'
assert_eq "$(evd_json 'd["count"]')" 0 "nothing stored of refused events"
# Just under the limits: fine.
evd_grpc log --type large --value-size $((1000 * 1024))
assert_grpc_code OK "a 1000 KiB value"
evd_req GET '/v1/events/count?type=large'
assert_eq "$(evd_json 'd["count"]')" 1 "large event stored"

evd_step "requests that are not gRPC: 405, 415, HTTP/1.1"
port=$EVD_GRPC_PORT
code=$(curl -sS -o /dev/null -w '%{http_code}' --http2-prior-knowledge \
  "http://127.0.0.1:$port/magma.orc8r.EventService/LogEvent") || evd_fail "curl GET"
assert_eq "$code" 405 "GET"
code=$(curl -sS -o /dev/null -w '%{http_code}' --http2-prior-knowledge -H 'content-type: text/plain' \
  -d '' "http://127.0.0.1:$port/magma.orc8r.EventService/LogEvent") || evd_fail "curl text/plain"
assert_eq "$code" 415 "wrong content type"
curl -sS -m 5 -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && evd_fail "HTTP/1.1 on the gRPC port got an answer"
evd_grpc health
assert_grpc_code OK "still serving after bad requests"

evd_step "deadline: DEADLINE_EXCEEDED when the ack is not ready in time"
evd_stop
evd_start --sync always
# The server's own deadline: grpc-timeout 1n passes before the fdatasync can complete.
"$EVD_GRPC_PY" -c '
import sys
sys.path.insert(0, sys.argv[1])
from orc8r import eventd_pb2 as m
b = m.Event(stream_name="s", event_type="deadline_test", value="{}").SerializeToString()
sys.stdout.buffer.write(bytes([0]) + len(b).to_bytes(4, "big") + b)' "$EVD_GRPC_GEN" >"$EVD_TMP/frame.bin"
curl -sS -v --http2-prior-knowledge -H 'content-type: application/grpc' -H 'te: trailers' \
  -H 'grpc-timeout: 1n' --data-binary @"$EVD_TMP/frame.bin" -o /dev/null \
  "http://127.0.0.1:$EVD_GRPC_PORT/magma.orc8r.EventService/LogEvent" 2>"$EVD_TMP/curl.err" ||
  evd_fail "curl h2c: $(cat "$EVD_TMP/curl.err")"
assert_contains "$(tr -d '\r' <"$EVD_TMP/curl.err")" "< grpc-status: 4" "server-side DEADLINE_EXCEEDED"
assert_contains "$(tr -d '\r' <"$EVD_TMP/curl.err")" "< grpc-message: deadline exceeded" "grpc-message"
# A reasonable deadline is met.
evd_grpc log --type deadline_ok --value '{}' --timeout 5
assert_grpc_code OK "5 s deadline"

evd_step "metrics count gRPC events under input=grpc"
metrics=$(evd_curl /metrics)
accepted=$(awk '$1 == "eventd_input_events_total{input=\"grpc\",outcome=\"accepted\"}" {print $2}' <<<"$metrics")
[[ ${accepted:-0} -ge 1 ]] || evd_fail "no accepted gRPC events in metrics"
evd_stop
assert_eq "$EVD_EXIT" 0 "exit status"

evd_step "registry: unregistered type and schema mismatch are INVALID_ARGUMENT with Magma's wording"
evd_start --registry "$EVD_SOURCE_DIR/examples/registry/eventd.yml"
evd_grpc log --stream mme --type attach_sucess --value '{"imsi":"IMSI001010000000001"}'
assert_grpc_code INVALID_ARGUMENT "misspelled (unregistered) type"
assert_contains "$(grpc_field 'd["details"]')" "Event validation failed, Details: type: " "message prefix"
assert_contains "$(grpc_field 'd["details"]')" "not registered" "says not registered"
evd_grpc log --stream sessiond --type session_created \
  --value '{"imsi":"IMSI001010000000001","ip_addr":"10.0.0.1","msisdn":"1","imei":"1","spgw_ip":"10.0.0.2","session_id":"s","apn":"internet","mac_addr":"00:11:22:33:44:55","pdp_start_time":"soon"}'
assert_grpc_code INVALID_ARGUMENT "schema mismatch"
assert_contains "$(grpc_field 'd["details"]')" "Event validation failed, Details: data.pdp_start_time: expected integer, got string" \
  "names the JSON path and the rule"
evd_grpc log --type attach_success --value '{"imsi":"IMSI001010000000001"}'
assert_grpc_code OK "registered type, valid data"
evd_req GET '/v1/events?type=attach_success'
assert_eq "$(evd_json 'd["events"][0]["stream"]')" mme "stream from the registry when stream_name is empty"
evd_stop
assert_eq "$EVD_EXIT" 0 "exit status"

evd_step "health while stopping: NOT_SERVING (a call on a stream opened before SIGTERM)"
evd_start
"$EVD_GRPC_PY" - "$EVD_GRPC_PORT" "$EVD_PID" <<'PY' || evd_fail "raw h2 health client"
import os, signal, socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
def frame(t, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload
hdrs = b""
for k, v in [(b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/grpc.health.v1.Health/Check"),
             (b":authority", b"x"), (b"content-type", b"application/grpc")]:
    hdrs += b"\x00" + bytes([len(k)]) + k + bytes([len(v)]) + v
# Preface, SETTINGS, the call's HEADERS (no END_STREAM): the stream is open before the stop.
s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"") + frame(1, 4, 1, hdrs))
time.sleep(0.2)
os.kill(int(sys.argv[2]), signal.SIGTERM)
time.sleep(0.05)
s.sendall(frame(0, 1, 1, b"\x00\x00\x00\x00\x00"))  # an empty HealthCheckRequest, END_STREAM
want = b"\x00\x00\x00\x00\x02\x08\x02"  # gRPC frame of HealthCheckResponse{status: NOT_SERVING}
got = b""
s.settimeout(5)
try:
    while want not in got:
        d = s.recv(65536)
        if not d:
            break
        got += d
except socket.timeout:
    pass
if want not in got:
    sys.exit("no NOT_SERVING answer; got %r" % got[:300])
PY
for _ in $(seq 1 100); do kill -0 "$EVD_PID" 2>/dev/null || break; sleep 0.1; done
wait "$EVD_PID"
assert_eq "$?" 0 "exit status after SIGTERM"
EVD_PID=""
evd_check_log_clean

evd_step "--grpc off: no gRPC listener"
evd_start --grpc off
assert_eq "$EVD_GRPC_ADDR" "" "no grpc listening line"
evd_stop

evd_step "a gRPC address in use stops startup (exit 1) with the reason"
out=$("$EVD_GRPC_PY" - "$EVD_EVENTD" "$EVD_TMP/inuse" <<'PY'
import socket, subprocess, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
port = s.getsockname()[1]
r = subprocess.run([sys.argv[1], "--data-dir", sys.argv[2], "--http", "127.0.0.1:0",
                    "--grpc", "127.0.0.1:%d" % port], capture_output=True, text=True, timeout=20)
print(r.returncode, r.stderr.strip().splitlines()[-1])
PY
) || evd_fail "port-in-use check"
assert_contains "$out" "1 eventd: cannot listen on 127.0.0.1:" "exit 1 and message"
assert_contains "$out" "(grpc.listen): Address already in use" "names the setting and the reason"
evd_pass
