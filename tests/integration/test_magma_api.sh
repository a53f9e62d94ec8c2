#!/usr/bin/env bash
# Magma orc8r-compatible queries: GET /magma/v1/events/{network_id} (filters, from/size,
# start/end, ascending), /about/count (a bare integer), the legacy /{stream_name} endpoint
# (descending, 50 newest), Magma's response shape, network = tenant or label network_id,
# 400 on bad numbers and times.
source "$(dirname "$0")/lib.sh"

evd_start
evd_step "load events of two networks (by tenant and by label) and of another one"
evd_post_ndjson /v1/events $'{"type":"attach_success","stream":"mme","tenant":"net1","source":"hw-a","tag":"imsi1","time":"2026-01-01T00:00:01Z","data":{"imsi":"IMSI1"}}
{"type":"detach_success","stream":"mme","tenant":"net1","source":"hw-b","time":"2026-01-01T00:00:02Z","data":{"imsi":"IMSI1","action":"detach"}}
{"type":"session_created","stream":"sessiond","labels":{"network_id":"net1"},"source":"hw-a","tag":"s1","time":"2026-01-01T00:00:03Z","data":{"imsi":"IMSI2","pdp_start_time":1}}
{"type":"session_terminated","stream":"sessiond","tenant":"net1","labels":{"network_id":"net1"},"source":"hw-c","time":"2026-01-01T00:00:04Z"}
{"type":"attach_success","stream":"mme","tenant":"net2","source":"hw-a","time":"2026-01-01T00:00:05Z","data":{"imsi":"IMSI3"}}
{"type":"attach_success","stream":"mme","labels":{"network_id":"net2"},"source":"hw-z","time":"2026-01-01T00:00:06Z"}'
assert_status 200 "load"

names() { python3 -c 'import json,sys; print(" ".join(e["event_type"] for e in json.load(sys.stdin)))'; }

evd_step "GET /magma/v1/events/{network_id}: Magma's shape, ascending, tenant or label"
evd_req GET /magma/v1/events/net1
assert_status 200
assert_eq "$(evd_json 'len(d)')" 4 "net1 has 4 events (tenant or label, each once)"
assert_eq "$(names <<<"$EVD_BODY")" "attach_success detach_success session_created session_terminated" "ascending"
assert_eq "$(evd_json 'sorted(d[0].keys())')" '["event_type", "hardware_id", "stream_name", "tag", "timestamp", "value"]' "fields"
assert_eq "$(evd_json 'd[0]["stream_name"]')" mme
assert_eq "$(evd_json 'd[0]["hardware_id"]')" hw-a
assert_eq "$(evd_json 'd[0]["tag"]')" imsi1
assert_eq "$(evd_json 'd[0]["value"]')" '{"imsi": "IMSI1"}' "value is the data object"
assert_eq "$(evd_json 'd[0]["timestamp"]')" 2026-01-01T00:00:01.000000000Z
assert_eq "$(evd_json 'd[3]["value"]')" '{}' "no data: an empty object"

evd_step "filters: streams, events, tags, hw_ids (comma lists), start/end, from/size"
assert_eq "$(evd_curl '/magma/v1/events/net1?streams=sessiond' | names)" "session_created session_terminated"
assert_eq "$(evd_curl '/magma/v1/events/net1?events=attach_success,session_terminated' | names)" \
  "attach_success session_terminated"
assert_eq "$(evd_curl '/magma/v1/events/net1?hw_ids=hw-a' | names)" "attach_success session_created"
assert_eq "$(evd_curl '/magma/v1/events/net1?hw_ids=hw-b,hw-c&streams=mme,sessiond' | names)" \
  "detach_success session_terminated"
assert_eq "$(evd_curl '/magma/v1/events/net1?tags=s1,imsi1' | names)" "attach_success session_created"
assert_eq "$(evd_curl '/magma/v1/events/net1?start=2026-01-01T00:00:02Z&end=2026-01-01T00:00:03Z' | names)" \
  "detach_success session_created" "start and end are inclusive"
assert_eq "$(evd_curl '/magma/v1/events/net1?size=2' | names)" "attach_success detach_success"
assert_eq "$(evd_curl '/magma/v1/events/net1?from=1&size=2' | names)" "detach_success session_created"
assert_eq "$(evd_curl '/magma/v1/events/net1?from=3' | names)" "session_terminated"
assert_eq "$(evd_curl '/magma/v1/events/net2' | names)" "attach_success attach_success"
assert_eq "$(evd_curl '/magma/v1/events/nowhere')" "[]"

evd_step "GET .../about/count: a bare integer with the same filters"
assert_eq "$(evd_curl /magma/v1/events/net1/about/count)" 4
assert_eq "$(evd_curl '/magma/v1/events/net1/about/count?streams=mme')" 2
assert_eq "$(evd_curl '/magma/v1/events/net1/about/count?streams=mme,sessiond&hw_ids=hw-a')" 2
assert_eq "$(evd_curl '/magma/v1/events/net1/about/count?start=2026-01-01T00:00:03Z')" 2
assert_eq "$(evd_curl /magma/v1/events/net2/about/count)" 2

evd_step "legacy GET .../{stream_name}: descending, event_type, hardware_id, tag"
assert_eq "$(evd_curl /magma/v1/events/net1/mme | names)" "detach_success attach_success"
assert_eq "$(evd_curl '/magma/v1/events/net1/mme?hardware_id=hw-a' | names)" "attach_success"
assert_eq "$(evd_curl '/magma/v1/events/net1/sessiond?event_type=session_created&tag=s1' | names)" "session_created"
assert_eq "$(evd_curl '/magma/v1/events/net1/nostream')" "[]"

evd_step "the legacy endpoint returns the 50 newest"
body=""
for i in $(seq 1 60); do body+="{\"type\":\"tick\",\"stream\":\"bulk\",\"tenant\":\"net3\",\"time\":\"2026-01-02T00:00:$(printf %02d $((i % 60)))Z\",\"tag\":\"$i\"}"$'\n'; done
evd_post_ndjson /v1/events "$body"
assert_status 200
evd_req GET /magma/v1/events/net3/bulk
assert_eq "$(evd_json 'len(d)')" 50 "50 events"
assert_eq "$(evd_json 'd[0]["tag"]')" 59 "newest first"
evd_req GET /magma/v1/events/net3
assert_eq "$(evd_json 'len(d)')" 50 "size defaults to 50"
assert_eq "$(evd_json 'd[0]["tag"]')" 60 "oldest first (second 0)"

evd_step "bad parameters are 400, unknown paths 404"
for q in 'size=x' 'size=-1' 'from=abc' 'start=yesterday' 'end=2026-13-01T00:00:00Z' 'from=9000&size=2000' \
  'start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z'; do
  evd_req GET "/magma/v1/events/net1?$q"
  assert_status 400 "$q"
  assert_ne "$(evd_json 'd["message"]')" "" "Magma's message field ($q)"
done
evd_req GET '/magma/v1/events/net1/about/count?start=nope'
assert_status 400 "count with a bad time"
evd_req GET /magma/v1/events/net1/a/b/c
assert_status 404 "deeper path"
evd_req POST /magma/v1/events/net1
assert_status 405 "POST"
evd_stop

evd_pass
