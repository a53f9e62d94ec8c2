#!/usr/bin/env bash
# gRPC: the native service eventd.v1.Events (proto/eventd.proto) with a real gRPC client:
# Publish (every canonical field, ids, duplicates, all-or-nothing), PublishStream, and
# UNAVAILABLE when the store queue is full (nothing of a refused batch is stored).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/grpc/grpc_lib.sh"

evd_grpc_setup
evd_start

evd_step "Publish: every field of the canonical event"
evd_grpc publish '[
 {"id":"evt-1","time_unix_nano":1763713560123456789,"tenant":"acme","stream":"deploys",
  "type":"deploy.started","key":"deploys.web.started","tag":"web","severity_text":"WARN",
  "source":"ci-7","message":"deploying web","data":"{\"version\":\"1.2.3\",\"n\":7}",
  "labels":{"env":"prod","team":"core"},"trace_id":"0123456789ABCDEF0123456789abcdef",
  "span_id":"0123456789abcdef","correlation_id":"corr-9","state":"running",
  "resource":"{\"host\":\"h1\"}"},
 {"type":"deploy.finished","time_text":"2026-11-21T08:26:00.5Z","severity_number":17},
 {"type":"deploy.finished","time_text":"1763713560"}]'
assert_grpc_code OK "Publish"
assert_eq "$(grpc_field 'd["accepted"]')" 3 "accepted"
assert_eq "$(grpc_field 'd["duplicates"]')" 0 "duplicates"
assert_eq "$(grpc_field 'len(d["ids"])')" 3 "one id per event"
assert_eq "$(grpc_field 'd["ids"][0]')" evt-1 "client id kept"
id2=$(grpc_field 'd["ids"][1]')
assert_eq "${#id2}" 26 "store-assigned ULID"
evd_req GET /v1/events/evt-1
assert_status 200 "get evt-1"
e=$EVD_BODY
assert_eq "$(evd_json 'd["time"]' "$e")" 2025-11-21T08:26:00.123456789Z "time_unix_nano, to the ns"
for kv in tenant=acme stream=deploys type=deploy.started key=deploys.web.started tag=web \
  severity=WARN source=ci-7 "message=deploying web" correlation_id=corr-9 state=running \
  trace_id=0123456789abcdef0123456789abcdef span_id=0123456789abcdef; do
  assert_eq "$(evd_json "d[\"${kv%%=*}\"]" "$e")" "${kv#*=}" "${kv%%=*}"
done
assert_eq "$(evd_json 'd["data"]' "$e")" '{"version": "1.2.3", "n": 7}' "data"
assert_eq "$(evd_json 'sorted(d["labels"].items())' "$e")" '[["env", "prod"], ["team", "core"]]' "labels"
assert_eq "$(evd_json 'd["resource"]' "$e")" '{"host": "h1"}' "resource"
evd_req GET "/v1/events/$id2"
assert_eq "$(evd_json 'd["time"]')" 2026-11-21T08:26:00.500000000Z "time_text RFC 3339"
assert_eq "$(evd_json 'd["severity"]')" ERROR "severity_number 17"
evd_req GET "/v1/events/$(grpc_field 'd["ids"][2]')"
assert_eq "$(evd_json 'd["time"]')" 2025-11-21T08:26:00.000000000Z "time_text epoch seconds"
assert_eq "$(evd_json 'd["severity"]')" INFO "default severity"
assert_eq "$(evd_json 'd["stream"]')" default "default stream"

evd_step "Publish again with the same client id: counted as a duplicate, stored once"
evd_grpc publish '[{"id":"evt-1","type":"deploy.started","tenant":"acme","stream":"deploys"}]'
assert_grpc_code OK "re-publish"
assert_eq "$(grpc_field 'd["duplicates"]')" 1 "duplicates"
assert_eq "$(grpc_field 'd["ids"]')" '["evt-1"]' "same id"
evd_req GET '/v1/events/count?type=deploy.started'
assert_eq "$(evd_json 'd["count"]')" 1 "stored once"

evd_step "Publish is all-or-nothing: one bad event refuses the batch"
evd_grpc publish '[{"type":"aon"},{"type":"aon","trace_id":"xyz"},{"type":"aon"}]'
assert_grpc_code INVALID_ARGUMENT "batch with a bad trace_id"
assert_contains "$(grpc_field 'd["details"]')" "1 of 3 events is invalid; events[1].trace_id: must be 32 hex digits" \
  "names the event, the field and the rule"
evd_grpc publish '[{"type":"aon"},{"type":"aon","data":"{nope"}]'
assert_grpc_code INVALID_ARGUMENT "batch with invalid data JSON"
assert_contains "$(grpc_field 'd["details"]')" "events[1].data: invalid JSON" "data error"
evd_grpc publish '[{"type":"aon","severity_text":"LOUD"},{"type":""}]'
assert_grpc_code INVALID_ARGUMENT "two bad events"
assert_contains "$(grpc_field 'd["details"]')" "2 of 2 events are invalid; events[0].severity: unknown severity 'LOUD'" \
  "first error"
evd_grpc publish '[{"type":"aon","labels":{"bad key":"v"}}]'
assert_grpc_code INVALID_ARGUMENT "bad label key"
evd_grpc publish '[{"type":"aon","message":"'"$(printf 'm%.0s' $(seq 1 300))"'"}, {"type":"aon","tag":"'"$(head -c 5000 /dev/zero | tr '\0' t)"'"}]'
assert_grpc_code RESOURCE_EXHAUSTED "a tag over limits.value_max"
assert_contains "$(grpc_field 'd["details"]')" "events[1].tag: exceeds 4096 bytes (limits.value_max)" "limit error"
evd_req GET '/v1/events/count?type=aon'
assert_eq "$(evd_json 'd["count"]')" 0 "nothing of a refused batch is stored"

evd_step "Publish with no events: OK, nothing stored"
evd_grpc publish '[]'
assert_grpc_code OK "empty Publish"
assert_eq "$(grpc_field 'd["accepted"]')" 0 "accepted"

evd_step "PublishStream: batches as they come, one answer at the end"
batches=$("$EVD_GRPC_PY" -c '
import json
print(json.dumps([[{"type": "streamed", "tag": "%d-%d" % (b, i)} for i in range(50)] for b in range(20)]))')
evd_grpc stream "$batches"
assert_grpc_code OK "PublishStream"
assert_eq "$(grpc_field 'd["accepted"]')" 1000 "accepted"
evd_req GET '/v1/events/count?type=streamed'
assert_eq "$(evd_json 'd["count"]')" 1000 "all stored"
evd_grpc stream '[]'
assert_grpc_code OK "PublishStream without messages"
assert_eq "$(grpc_field 'd["accepted"]')" 0 "accepted"

evd_step "PublishStream: a bad batch ends the call; the batches before it stay stored"
batches=$("$EVD_GRPC_PY" -c '
import json
b = [[{"type": "streamfail", "tag": "%d-%d" % (n, i)} for i in range(10)] for n in range(5)]
b[2][3]["severity_number"] = 99
print(json.dumps(b))')
evd_grpc stream "$batches"
assert_grpc_code INVALID_ARGUMENT "bad third batch"
assert_contains "$(grpc_field 'd["details"]')" "events[3].severity_number: must be 1..24, got 99" "error"
evd_req GET '/v1/events/count?type=streamfail'
assert_eq "$(evd_json 'd["count"]')" 20 "the two batches before the bad one"
evd_stop
assert_eq "$EVD_EXIT" 0 "exit status"

evd_step "store queue full: UNAVAILABLE, and only acknowledged batches are stored"
evd_start --sync always --set store.queue_max_bytes=4KiB
saw=0
ok=0
for round in 1 2 3 4 5; do
  evd_grpc pload --callers 24 --calls 3 --events 30 --size 300 --type q
  unavailable=$(grpc_field 'd["counts"].get("UNAVAILABLE", 0)')
  okcalls=$(grpc_field 'd["counts"].get("OK", 0)')
  others=$(grpc_field 'sum(v for k, v in d["counts"].items() if k not in ("OK", "UNAVAILABLE"))')
  assert_eq "$others" 0 "only OK or UNAVAILABLE: $GRPC_OUT"
  ok=$((ok + okcalls))
  if ((unavailable > 0)); then
    saw=1
    assert_eq "$(grpc_field 'd["details"]["UNAVAILABLE"]')" "store queue is full; retry later" "message"
    break
  fi
done
((saw)) || evd_fail "could not fill a 4 KiB store queue with 24 concurrent Publish calls"
evd_req GET '/v1/events/count?type=q'
assert_eq "$(evd_json 'd["count"]')" "$((ok * 30))" "only acknowledged batches are stored"
evd_stop
assert_eq "$EVD_EXIT" 0 "exit status"
evd_pass
