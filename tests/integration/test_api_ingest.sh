#!/usr/bin/env bash
# POST /v1/events: single object, array, NDJSON; every error status (400 naming the field,
# 413, 415, 405, 404); all-or-nothing; idempotency by client id.
source "$(dirname "$0")/lib.sh"

evd_start --set limits.body_max_bytes=64KiB --set limits.event_max_bytes=2KiB

evd_step "single object"
evd_post_json /v1/events '{"type":"deploy.started","source":"ci","labels":{"env":"prod"}}'
assert_status 200 "single object"
assert_eq "$(evd_json 'd["accepted"]')" 1 accepted
assert_eq "$(evd_json 'd["duplicates"]')" 0 duplicates
id1=$(evd_json 'd["ids"][0]')
assert_eq "${#id1}" 26 "assigned id is a ULID"
evd_req GET "/v1/events/$id1"
assert_status 200 "get the stored event"
assert_eq "$(evd_json 'd["type"]')" deploy.started "stored type"
assert_eq "$(evd_json 'd["labels"]["env"]')" prod "stored label"

evd_step "array, ids in request order"
evd_post_json /v1/events '[{"type":"a.one"},{"type":"a.two","id":"client-7"},{"type":"a.three"}]'
assert_status 200 array
assert_eq "$(evd_json 'd["accepted"]')" 3 accepted
assert_eq "$(evd_json 'd["ids"][1]')" client-7 "client id echoed in place"
evd_req GET "/v1/events/$(evd_json 'd["ids"][2]')"
assert_eq "$(evd_json 'd["type"]')" a.three "third id is the third event"

evd_step "NDJSON with blank lines and CRLF, charset parameter"
evd_req POST /v1/events -H 'Content-Type: application/x-ndjson; charset=utf-8' \
  --data-binary $'{"type":"n.1"}\r\n\n{"type":"n.2","severity":"error"}\n\n'
assert_status 200 ndjson
assert_eq "$(evd_json 'd["accepted"]')" 2 accepted
evd_req POST /v1/events -H 'Content-Type: application/json; charset=UTF-8' --data-binary '{"type":"c.1"}'
assert_status 200 "json with charset"

evd_step "empty array and empty NDJSON are accepted as nothing"
evd_post_json /v1/events '[]'
assert_status 200 "empty array"
assert_eq "$(evd_json 'd["accepted"]')" 0 accepted
evd_post_ndjson /v1/events $'\n\n'
assert_status 200 "blank NDJSON"

evd_step "idempotency: the same client id twice is stored once"
before=$(evd_curl '/v1/events/count' | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
evd_post_json /v1/events '{"type":"idem.x","id":"order-42"}'
assert_status 200 "first send"
assert_eq "$(evd_json 'd["duplicates"]')" 0 "first is new"
evd_post_json /v1/events '{"type":"idem.x","id":"order-42"}'
assert_status 200 "second send"
assert_eq "$(evd_json 'd["duplicates"]')" 1 "second is a duplicate"
assert_eq "$(evd_json 'd["ids"][0]')" order-42 "duplicate reports the stored id"
evd_post_ndjson /v1/events $'{"type":"idem.y","id":"dup-in-batch"}\n{"type":"idem.y","id":"dup-in-batch"}\n'
assert_status 200 "duplicate within one request"
after=$(evd_curl '/v1/events/count' | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
assert_eq "$after" "$((before + 2))" "count grew by the two distinct ids only"

evd_step "400: invalid events are all reported, nothing stored"
before=$after
evd_post_json /v1/events '[{"type":"ok.1"},{"typo":"x"},{"type":"ok.2","time":"yesterday"},7]'
assert_status 400 "invalid array"
assert_contains "$(evd_json 'd["error"]')" "3 of 4 events are invalid"
assert_eq "$(evd_json '[e["index"] for e in d["errors"]]')" "[1, 2, 3]" "error indexes"
assert_eq "$(evd_json 'd["errors"][0]["field"]')" typo "unknown field named"
assert_eq "$(evd_json 'd["errors"][1]["field"]')" time "bad time named"
after=$(evd_curl '/v1/events/count' | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
assert_eq "$after" "$before" "all-or-nothing: the valid ones were not stored"

evd_step "400: missing type, NDJSON line numbers"
evd_post_ndjson /v1/events $'{"type":"fine"}\n\n{"source":"x"}\n{not json}\n'
assert_status 400 "ndjson errors"
assert_eq "$(evd_json 'd["errors"][0]["index"]')" 1 "index counts events, not lines"
assert_eq "$(evd_json 'd["errors"][0]["line"]')" 3 "line number"
assert_eq "$(evd_json 'd["errors"][0]["field"]')" type "missing type named"
assert_contains "$(evd_json 'd["errors"][1]["reason"]')" "invalid JSON" "bad line"

evd_step "400: body that is not JSON, or not objects"
evd_post_json /v1/events '{"type":"x",'
assert_status 400 "truncated JSON"
assert_contains "$(evd_json 'd["error"]')" "not valid JSON"
evd_post_json /v1/events '"hello"'
assert_status 400 "a string body"
evd_req POST /v1/events -H 'Content-Type: application/json'
assert_status 400 "empty JSON body"

evd_step "400: an event over limits.event_max_bytes"
big=$(python3 -c 'print("{\"type\":\"big\",\"message\":\"" + "x"*3000 + "\"}")')
evd_post_ndjson /v1/events "$big"
assert_status 400 "event too large"
assert_contains "$(evd_json 'd["errors"][0]["reason"]')" "limits.event_max_bytes"
evd_post_json /v1/events "[{\"type\":\"small\"},$big]"
assert_status 400 "array element too large"
assert_eq "$(evd_json 'd["errors"][0]["index"]')" 1 "the big element is named"

evd_step "errors list is capped"
many=$(python3 -c 'print("\n".join("{\"bad\":%d}" % i for i in range(150)))')
evd_post_ndjson /v1/events "$many"
assert_status 400 "many errors"
assert_eq "$(evd_json 'len(d["errors"])')" 100 "at most 100 errors listed"
assert_eq "$(evd_json 'd["more_errors"]')" 50 "the rest counted"

evd_step "400: POST takes no query parameters"
evd_req POST '/v1/events?pretty=1' -H 'Content-Type: application/json' --data-binary '{"type":"x"}'
assert_status 400 "query parameter on POST"
assert_contains "$(evd_json 'd["error"]')" "'pretty'"

evd_step "413: body over limits.body_max_bytes"
python3 -c 'import sys; sys.stdout.write("\n".join("{\"type\":\"t\",\"message\":\"%s\"}" % ("y"*1000) for _ in range(80)))' >"$EVD_TMP/big.ndjson"
evd_req POST /v1/events -H 'Content-Type: application/x-ndjson' --data-binary @"$EVD_TMP/big.ndjson"
assert_status 413 "body too large"
assert_contains "$(evd_json 'd["error"]')" "exceeds limits.body_max_bytes" "a JSON error naming the setting"
evd_step "413 on a kept-alive connection: answered before the body, the next connection works"
/usr/bin/python3 - "$EVD_PORT" <<'PY' || evd_fail "keep-alive 413 check"
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("POST", "/v1/events", body=b'{"type":"big413.ok"}', headers={"Content-Type": "application/json"})
r = c.getresponse(); r.read()
assert r.status == 200, r.status
c.request("POST", "/v1/events", body=b"x" * (1 << 20), headers={"Content-Type": "application/json"})
r = c.getresponse(); body = r.read()
assert r.status == 413, (r.status, body)
assert "body_max_bytes" in json.loads(body)["error"], body
assert r.getheader("Connection") == "close", r.getheaders()
c.close()
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("GET", "/healthz"); r = c.getresponse(); r.read()
assert r.status == 200, r.status
PY

evd_step "415: other content types"
evd_req POST /v1/events -H 'Content-Type: text/plain' --data-binary '{"type":"x"}'
assert_status 415 "text/plain"
assert_contains "$(evd_json 'd["error"]')" "unsupported content type 'text/plain'"
evd_req POST /v1/events -H 'Content-Type: application/json; charset=latin1' --data-binary '{"type":"x"}'
assert_status 415 "latin1 charset"

evd_step "405 with Allow, 404 as JSON"
allow=$(curl -sS -o /dev/null -D - -X DELETE "$EVD_URL/v1/events" | tr -d '\r' | grep -i '^Allow:')
assert_contains "$allow" "GET, HEAD, POST" "Allow header"
evd_req PUT /v1/events
assert_status 405 "PUT /v1/events"
assert_contains "$(evd_json 'd["error"]')" "method not allowed"
evd_req POST /v1/tail -H 'Content-Type: application/json' --data-binary '{}'
assert_status 405 "POST /v1/tail"
evd_req GET /v2/nothing
assert_status 404 "unknown path"
assert_contains "$(evd_json 'd["error"]')" "/v2/nothing"
evd_req GET /v1/events/no-such-id
assert_status 404 "unknown id"
assert_eq "$(evd_json 'd["error"]')" "event not found"

evd_step "keep-alive: many requests on one connection"
args=()
for i in $(seq 1 20); do
  ((i > 1)) && args+=(--next)
  args+=(-sS -o /dev/null -H 'Content-Type: application/json' -d "{\"type\":\"ka.$i\"}" "$EVD_URL/v1/events")
done
curl "${args[@]}" || evd_fail "keep-alive requests"
out=$(curl -sS "$EVD_URL/v1/events/count?type=ka.*")
assert_contains "$out" '"count":20' "20 events over one connection"

evd_stop
assert_eq "$EVD_EXIT" 0 "exit status after SIGTERM"

evd_step "503 + Retry-After when the store queue is full; nothing of a refused request is stored"
evd_start --sync always --set store.queue_max_bytes=4KiB
python3 -c 'print("\n".join("{\"type\":\"q\",\"message\":\"%s\"}" % ("q"*300) for _ in range(30)))' >"$EVD_TMP/q.ndjson"
saw503=0
ok=0
for round in 1 2 3 4 5; do
  pids=()
  # Small requests parse in microseconds while each commit waits for its own fdatasync
  # (sync: always), so concurrent ones find the queue occupied.
  for i in $(seq 1 20); do
    curl -sS -D "$EVD_TMP/h.$i" -o "$EVD_TMP/b.$i" -w '%{http_code}' -H 'Expect:' \
      -H 'Content-Type: application/x-ndjson' --data-binary @"$EVD_TMP/q.ndjson" \
      "$EVD_URL/v1/events" >"$EVD_TMP/c.$i" &
    pids+=($!)
  done
  wait "${pids[@]}" # not a bare `wait`: the daemon is a background job of this shell too
  for i in $(seq 1 20); do
    code=$(cat "$EVD_TMP/c.$i")
    if [[ $code == 503 ]]; then
      saw503=1
      assert_contains "$(tr -d '\r' <"$EVD_TMP/h.$i")" "Retry-After: 1" "503 has Retry-After"
      assert_eq "$(evd_json 'd["error"]' "$(cat "$EVD_TMP/b.$i")")" "store queue is full" "503 body"
    else
      assert_eq "$code" 200 "a request that was not refused"
      ok=$((ok + 1))
    fi
  done
  ((saw503)) && break
done
((saw503)) || evd_fail "could not fill a 4 KiB store queue with 20 concurrent requests"
evd_req GET '/v1/events/count?type=q'
assert_eq "$(evd_json 'd["count"]')" "$((ok * 30))" "only acknowledged requests are stored"
assert_ne "$(evd_curl /metrics | awk '$1 == "eventd_events_rejected_total{reason=\"overloaded\"}" {print $2}')" 0 \
  "rejected{overloaded} counted"
evd_stop
assert_eq "$EVD_EXIT" 0 "exit status"
evd_pass
