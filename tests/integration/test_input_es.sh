#!/usr/bin/env bash
# Elasticsearch-compatible ingest on the HTTP port, with curl: the GitLab CI sendEvent
# snippet replayed verbatim, a Fluent-Bit-shaped _bulk body (create actions, @timestamp,
# log/message), per-item statuses, _doc/_create with ids and the 409 conflict, GET / and
# HEAD /, gzip bodies, ES-shaped errors. Every case checks what was stored via GET /v1/events.
source "$(dirname "$0")/lib.sh"

evd_start --grpc off

evd_step "GET / answers like an Elasticsearch 8 cluster root; HEAD / is 200"
evd_req GET /
assert_status 200 "GET /"
assert_eq "$(evd_json 'd["version"]["number"].split(".")[0]')" 8 "version.number is 8.x"
assert_eq "$(evd_json 'd["tagline"]')" "You Know, for Search" tagline
assert_ne "$(evd_json 'd["cluster_name"]')" "" cluster_name
evd_req HEAD / -I
assert_status 200 "HEAD /"
hdrs=$(curl -sS -D - -o /dev/null -X POST -H 'Content-Type: application/x-ndjson' --data-binary $'\n' "$EVD_URL/_bulk")
assert_contains "${hdrs,,}" "x-elastic-product: elasticsearch" "product header on _bulk answers (elasticsearch-py 8 checks it)"

evd_step "GitLab CI sendEvent snippet, verbatim (index events-gprd)"
ES_NONPROD_EVENTS_URL=$EVD_URL
GITLAB_USER_LOGIN=deployer
CI_JOB_URL=https://ops.gitlab.net/gitlab-com/job/42
# ---- begin: the snippet from the GitLab handbook (.sendEvent) ----
      sendEvent() {
        command -v curl >/dev/null 2>&1 || \
          { echo >&2 "sending events requires curl but it's not installed."; exit 1; }
        MSG="$1"
        TYPE="${2:-configuration}"
        ENV="${3:-gprd}"
        TS=$(date -u +%s000)
        USERNAME="${GITLAB_USER_LOGIN:-unknown}"
        SOURCE="${CI_JOB_URL:-unknown}"
        DATA="
          {
            \"time\": \"$TS\",
            \"type\": \"$TYPE\",
            \"message\": \"$MSG\",
            \"env\": \"$ENV\",
            \"username\": \"$USERNAME\",
            \"source\": \"$SOURCE\"
          }
        "
        echo "Sending event: \"$MSG\""
        curl -s -X POST "$ES_NONPROD_EVENTS_URL/events-$ENV/_doc" -H 'Content-Type: application/json' -d "$DATA" > /dev/null
      }
# ---- end of the snippet ----
before=$(date -u +%s)
sendEvent "Starting an event"
sendEvent "Finishing an event" deployment gstg
evd_req GET "/v1/events?stream=events&label=env:gprd"
assert_eq "$(evd_json 'len(d["events"])')" 1 "one event in stream events, env=gprd"
assert_eq "$(evd_json 'd["events"][0]["type"]')" configuration "type from the document"
assert_eq "$(evd_json 'd["events"][0]["message"]')" "Starting an event" message
assert_eq "$(evd_json 'd["events"][0]["source"]')" "https://ops.gitlab.net/gitlab-com/job/42" source
assert_eq "$(evd_json 'd["events"][0]["data"]["username"]')" deployer "other fields -> data"
t=$(evd_json 'd["events"][0]["time"]')
tsec=$(date -u -d "$t" +%s)
(( tsec >= before - 1 && tsec <= before + 5 )) || evd_fail "time from epoch-ms string: $t vs $before"
evd_req GET "/v1/events?stream=events&label=env:gstg&type=deployment"
assert_eq "$(evd_json 'len(d["events"])')" 1 "the gstg deployment event"

evd_step "the snippet's request, with its answer checked (201, ES-shaped)"
evd_post_json /events-gprd/_doc '{"time":"1700000000000","type":"alert","message":"m","env":"gprd"}'
assert_status 201 "_doc"
assert_eq "$(evd_json 'd["result"]')" created result
assert_eq "$(evd_json 'd["_index"]')" events-gprd _index
assert_eq "$(evd_json 'd["_shards"]["successful"]')" 1 _shards
id=$(evd_json 'd["_id"]')
evd_req GET "/v1/events/$id"
assert_status 200 "stored under the _id answered"
assert_eq "$(evd_json 'd["time"]')" "2023-11-14T22:13:20.000000000Z" "time from epoch ms"

evd_step "Fluent-Bit-shaped _bulk (create actions, @timestamp, log and message)"
bulk='{"create":{"_index":"fluentbit-prod"}}
{"@timestamp":"2026-11-21T08:00:00.123Z","log":"line one\n","stream":"stdout","kubernetes":{"pod_name":"web-1","namespace_name":"default"}}
{"create":{"_index":"fluentbit-prod"}}
{"@timestamp":"2026-11-21T08:00:01.000Z","message":"line two","level":"warning","host":"gw1"}
'
evd_req POST /_bulk -H 'Content-Type: application/x-ndjson' --data-binary "$bulk"
assert_status 200 "_bulk"
assert_contains "$EVD_BODY" '"errors":false,"items":[' "errors:false followed by items (Fluent Bit's check)"
assert_eq "$(evd_json '[i["create"]["status"] for i in d["items"]]')" "[201, 201]" "per-item status"
assert_eq "$(evd_json 'isinstance(d["took"], int)')" true took
evd_req GET "/v1/events?stream=stdout"
assert_eq "$(evd_json 'len(d["events"])')" 1 "document stream field wins over the index rule"
assert_eq "$(evd_json 'd["events"][0]["message"] == "line one\n"')" true "log -> message"
assert_eq "$(evd_json 'd["events"][0]["labels"]["env"]')" prod "label env from the index"
assert_eq "$(evd_json 'd["events"][0]["data"]["kubernetes"]["pod_name"]')" web-1 "nested data kept"
assert_eq "$(evd_json 'd["events"][0]["time"]')" "2026-11-21T08:00:00.123000000Z" "@timestamp -> time"
evd_req GET "/v1/events?stream=fluentbit&type=es.document"
assert_eq "$(evd_json 'len(d["events"])')" 1 "index fluentbit-prod -> stream fluentbit, default type"
assert_eq "$(evd_json 'd["events"][0]["severity"]')" WARN "level -> severity"
assert_eq "$(evd_json 'd["events"][0]["data"]["host"]')" gw1 "host -> data"

evd_step "_bulk is per item: valid items stored, invalid ones get their own status"
bulk='{"index":{"_index":"mix-a","_id":"bulk-1"}}
{"message":"ok one","type":"t.ok"}
{"delete":{"_index":"mix-a","_id":"bulk-1"}}
{"update":{"_index":"mix-a","_id":"bulk-1"}}
{"doc":{"x":1}}
{"create":{"_index":"mix-a"}}
{"time":"not a time","type":"t.bad"}
{"create":{"_index":"mix-a"}}
not json at all
{"create":{"_index":"mix-a"}}
["an","array"]
{"create":{"_index":"mix-a","_id":"bulk-2"}}
{"message":"ok two","type":"t.ok"}
'
evd_req POST /mix-a/_bulk -H 'Content-Type: application/x-ndjson' --data-binary "$bulk"
assert_status 200 "mixed _bulk"
assert_eq "$(evd_json 'd["errors"]')" true errors
assert_eq "$(evd_json '[list(i.values())[0]["status"] for i in d["items"]]')" "[201, 400, 400, 400, 400, 400, 201]" statuses
assert_eq "$(evd_json '[list(i.keys())[0] for i in d["items"]]')" '["index", "delete", "update", "create", "create", "create", "create"]' ops
assert_contains "$(evd_json 'd["items"][1]["delete"]["error"]["reason"]')" "delete is not supported" "delete refused clearly"
assert_contains "$(evd_json 'd["items"][2]["update"]["error"]["reason"]')" "update is not supported" "update refused clearly"
assert_contains "$(evd_json 'd["items"][3]["create"]["error"]["reason"]')" "[time]" "bad time names the field"
assert_eq "$(evd_json 'd["items"][4]["create"]["error"]["type"]')" document_parsing_exception "not JSON"
assert_eq "$(evd_json 'd["items"][6]["create"]["_id"]')" bulk-2 "_id echoed"
evd_req GET "/v1/events?stream=mix"
assert_eq "$(evd_json 'sorted(e["id"] for e in d["events"])')" '["bulk-1", "bulk-2"]' "exactly the two valid items stored"

evd_step "_create with an id, then again: 409 version_conflict_engine_exception"
evd_req PUT /things-dev/_create/thing-1 -H 'Content-Type: application/json' --data-binary '{"type":"thing.made","n":1}'
assert_status 201 "_create"
assert_eq "$(evd_json 'd["_id"]')" thing-1 "_id is the URL id"
evd_req PUT /things-dev/_create/thing-1 -H 'Content-Type: application/json' --data-binary '{"type":"thing.made","n":2}'
assert_status 409 "_create of an existing id"
assert_eq "$(evd_json 'd["error"]["type"]')" version_conflict_engine_exception "conflict type"
assert_eq "$(evd_json 'd["status"]')" 409 "status member"
evd_req GET /v1/events/thing-1
assert_eq "$(evd_json 'd["data"]["n"]')" 1 "the first document stays"
evd_req POST "/things-dev/_doc/thing-2?op_type=create&refresh=true" -H 'Content-Type: application/json' --data-binary '{"n":3}'
assert_status 201 "_doc/{id}?op_type=create"
evd_req POST "/things-dev/_doc/thing-2?op_type=create" -H 'Content-Type: application/json' --data-binary '{"n":3}'
assert_status 409 "op_type=create conflict"
evd_req PUT /things-dev/_doc/thing-3 -H 'Content-Type: application/json' --data-binary '{"n":4}'
assert_status 201 "PUT _doc/{id}"
evd_req PUT /things-dev/_doc/thing-3 -H 'Content-Type: application/json' --data-binary '{"n":4}'
assert_status 200 "PUT _doc/{id} again (idempotent)"
assert_eq "$(evd_json 'd["result"]')" noop "index of an existing id is a noop"
bulk='{"create":{"_index":"things-dev","_id":"thing-1"}}
{"n":9}
'
evd_req POST /_bulk -H 'Content-Type: application/x-ndjson' --data-binary "$bulk"
assert_eq "$(evd_json 'd["items"][0]["create"]["status"]')" 409 "bulk create of an existing id"
assert_eq "$(evd_json 'd["items"][0]["create"]["error"]["type"]')" version_conflict_engine_exception "bulk conflict type"
evd_req GET "/v1/events/count?stream=things"
assert_eq "$(evd_json 'd["count"]')" 3 "thing-1, thing-2, thing-3 once each"

evd_step "gzip body (Fluent Bit compress gzip)"
printf '{"create":{"_index":"gz-x"}}\n{"message":"zipped"}\n' | gzip -c > "$EVD_TMP/bulk.gz"
evd_req POST /_bulk -H 'Content-Type: application/x-ndjson' -H 'Content-Encoding: gzip' --data-binary @"$EVD_TMP/bulk.gz"
assert_status 200 "gzip _bulk"
assert_eq "$(evd_json 'd["errors"]')" false "gzip errors"
evd_req GET "/v1/events?stream=gz"
assert_eq "$(evd_json 'd["events"][0]["message"]')" zipped "gzip stored"
evd_req POST /_bulk -H 'Content-Type: application/x-ndjson' -H 'Content-Encoding: gzip' --data-binary 'not gzip'
assert_status 400 "bad gzip"
assert_eq "$(evd_json 'd["status"]')" 400 "ES-shaped error"

evd_step "request-level errors are ES-shaped"
evd_req POST /_bulk -H 'Content-Type: application/x-ndjson' --data-binary $'{"frobnicate":{}}\n{}\n'
assert_status 400 "unknown action"
assert_eq "$(evd_json 'd["error"]["type"]')" illegal_argument_exception "error.type"
assert_contains "$(evd_json 'd["error"]["reason"]')" "frobnicate" "reason names the action"
evd_req POST /_bulk -H 'Content-Type: application/x-ndjson' --data-binary $'{"index":{"_index":"a"}}\n'
assert_status 400 "action without source"
evd_req POST /x-y/_doc -H 'Content-Type: text/plain' --data-binary '{}'
assert_status 406 "unsupported content type"
evd_req POST /x-y/_doc -H 'Content-Type: application/json' --data-binary '[1,2]'
assert_status 400 "document not an object"
assert_eq "$(evd_json 'd["error"]["type"]')" document_parsing_exception "not an object"
evd_req GET /x-y/_doc
assert_status 405 "GET _doc"
evd_req GET "/v1/events/count?stream=x"
assert_eq "$(evd_json 'd["count"]')" 0 "nothing stored by refused requests"

evd_step "metrics count the es input"
m=$(evd_curl /metrics)
assert_contains "$m" 'input="es"' "per-input metrics"

evd_stop
evd_pass
