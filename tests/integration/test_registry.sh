#!/usr/bin/env bash
# The event-type registry in ingest: startup errors, accept/reject with path-naming errors,
# unregistered policies (global, per stream, config vs file), the unregistered=true flag,
# defaults from the registry, GET /v1/registry(/{type}), POST /v1/registry/validate, reload
# (HTTP and SIGHUP, good and bad), eventctl schema check and validate.
source "$(dirname "$0")/lib.sh"

REG=$EVD_SOURCE_DIR/examples/registry/eventd.yml
SESSION='{"imsi":"IMSI001010000000001","session_id":"s-1","pdp_start_time":1700000000}'

evd_step "a registry that does not load stops startup with FILE:LINE: reason (exit 2)"
mkdir -p "$EVD_TMP/reg/specs/lte"
cp "$EVD_SOURCE_DIR/examples/registry/specs/lte/mme_events.v1.yml" "$EVD_TMP/reg/specs/lte/"
printf 'spec_dirs: [specs]\nevent_registry:\n  attach_success: {module: lte, filename: mme_events.v1.yml}\n  attach_sucess: {module: lte, filename: mme_events.v1.yml}\n' \
  >"$EVD_TMP/reg/typo.yml"
"$EVD_EVENTD" --data-dir "$EVD_TMP/never" --http 127.0.0.1:0 --grpc off --registry "$EVD_TMP/reg/typo.yml" \
  >"$EVD_TMP/o" 2>&1
assert_eq "$?" 2 "bad registry exit status"
assert_contains "$(cat "$EVD_TMP/o")" "typo.yml:4: event type 'attach_sucess' is not defined in"
[[ ! -e $EVD_TMP/never ]] || evd_fail "a bad registry must stop startup before the store is opened"
"$EVD_EVENTD" --registry "$EVD_TMP/reg/missing.yml" --check-config >"$EVD_TMP/o" 2>&1
assert_eq "$?" 2 "--check-config with a missing registry"
assert_contains "$(cat "$EVD_TMP/o")" "missing.yml"
out=$("$EVD_EVENTD" --registry "$REG" --check-config 2>&1) || evd_fail "check-config: $out"
assert_contains "$out" "registry ok: 40 event types"

evd_step "valid events are stored, invalid ones refused naming the JSON path"
evd_start --registry "$REG"
evd_post_json /v1/events "{\"type\":\"session_created\",\"data\":$SESSION}"
assert_status 200 "valid session_created"
id=$(evd_json 'd["ids"][0]')
evd_req GET "/v1/events/$id"
assert_eq "$(evd_json 'd["stream"]')" sessiond "stream defaulted from the registry"
assert_eq "$(evd_json 'd["key"]')" sessiond.session_created "key follows the defaulted stream"
assert_eq "$(evd_json 'd.get("labels")')" null "a registered type is not flagged"
evd_post_json /v1/events '{"type":"session_created","data":{"imsi":"IMSI001010000000001","session_id":"s","pdp_start_time":"soon"}}'
assert_status 400 "schema mismatch"
assert_eq "$(evd_json 'd["errors"][0]["field"]')" data.pdp_start_time "error field"
assert_eq "$(evd_json 'd["errors"][0]["reason"]')" "expected integer, got string" "error reason"
evd_post_json /v1/events '{"type":"session_terminated","data":{"imsi":"IMSI001010000000001","session_id":"s","list_of_service_data":[{"rating_group":1,"data_volume_uplink":-5,"data_volume_downlink":0}]}}'
assert_status 400 "nested CDR error"
assert_contains "$EVD_BODY" 'data.list_of_service_data[0].data_volume_uplink' "nested path"
evd_post_json /v1/events '{"type":"attach_success","data":{}}'
assert_status 400 "missing required"
assert_eq "$(evd_json 'd["errors"][0]["reason"]')" "missing required property 'imsi'"
# all-or-nothing: one bad event refuses the batch, every error is listed with its index
evd_post_ndjson /v1/events $'{"type":"attach_success","data":{"imsi":"IMSI001010000000001"}}\n{"type":"attach_success","data":{"imsi":5}}\n{"type":"nope.x"}'
assert_status 400 "batch with errors"
assert_eq "$(evd_json 'len(d["errors"])')" 2 "two errors"
assert_eq "$(evd_json 'd["errors"][0]["line"]')" 2 "line of the first error"
assert_eq "$(evd_json 'd["errors"][1]["field"]')" type "second error: the type"

evd_step "unregistered types: reject globally, accept-and-flag on stream ci (file policy)"
evd_post_json /v1/events '{"type":"not_in_registry","data":{}}'
assert_status 400 "unregistered rejected"
assert_eq "$(evd_json 'd["errors"][0]["reason"]')" \
  "event type 'not_in_registry' is not registered, please add it to the event registry"
evd_post_json /v1/events '{"type":"not_in_registry","stream":"ci","labels":{"job":"7"}}'
assert_status 200 "flagged on stream ci"
id=$(evd_json 'd["ids"][0]')
evd_req GET "/v1/events/$id"
assert_eq "$(evd_json 'd["labels"]["unregistered"]')" true "flag label"
assert_eq "$(evd_json 'd["labels"]["job"]')" 7 "producer's labels kept"
assert_eq "$(evd_curl '/v1/events/count?label=unregistered:true')" '{"count":1}' "flagged events are queryable"

evd_step "defaults from the registry only when the producer gave none"
evd_post_json /v1/events '{"type":"attach_reject","data":{"imsi":"IMSI001010000000001"}}'
id=$(evd_json 'd["ids"][0]')
evd_req GET "/v1/events/$id"
assert_eq "$(evd_json 'd["severity"]')" WARN "severity from the registry"
assert_eq "$(evd_json 'd["stream"]')" mme "stream from the registry"
evd_post_json /v1/events '{"type":"attach_reject","stream":"lab","severity":"ERROR","key":"k.x","data":{"imsi":"IMSI001010000000001"}}'
id=$(evd_json 'd["ids"][0]')
evd_req GET "/v1/events/$id"
assert_eq "$(evd_json 'd["severity"]')" ERROR "producer's severity wins"
assert_eq "$(evd_json 'd["stream"]')" lab "producer's stream wins"
assert_eq "$(evd_json 'd["key"]')" k.x "producer's key wins"
evd_post_json /v1/events '{"type":"attach_reject","stream":"lab","data":{"imsi":"IMSI001010000000001"}}'
id=$(evd_json 'd["ids"][0]')
evd_req GET "/v1/events/$id"
assert_eq "$(evd_json 'd["key"]')" lab.attach_reject "default key from the producer's stream"

evd_step "GET /v1/registry and /v1/registry/{type}"
evd_req GET /v1/registry
assert_status 200 "registry list"
assert_eq "$(evd_json 'd["count"]')" 40 "types"
assert_eq "$(evd_json 'd["unregistered"]')" reject "global policy"
assert_eq "$(evd_json 'd["streams"]["ci"]')" accept-and-flag "stream policy"
assert_eq "$(evd_json '[t for t in d["types"] if t["type"]=="session_created"][0]["seen"]')" 2 "seen"
assert_eq "$(evd_json '[t for t in d["types"] if t["type"]=="session_created"][0]["invalid"]')" 1 "invalid"
assert_eq "$(evd_json '[t for t in d["types"] if t["type"]=="session_created"][0]["module"]')" lte "module"
assert_eq "$(evd_json 'd["unregistered_seen"]')" 3 "unregistered seen"
evd_req GET /v1/registry/session_terminated
assert_status 200 "one type"
assert_eq "$(evd_json 'd["filename"]')" session_manager_events.v1.yml "filename"
assert_eq "$(evd_json 'd["schema"]["properties"]["list_of_service_data"]["type"]')" array "schema as JSON"
evd_req GET /v1/registry/nope
assert_status 404 "unknown type"
assert_contains "$EVD_BODY" "event type 'nope' is not registered"

evd_step "POST /v1/registry/validate checks without storing or counting"
before=$(evd_curl /v1/events/count)
evd_post_json /v1/registry/validate "{\"type\":\"session_created\",\"data\":$SESSION}"
assert_status 200 "valid"
assert_eq "$(evd_json 'd["valid"]')" true
evd_post_json /v1/registry/validate '{"type":"session_created","data":{"imsi":"bad"}}'
assert_status 400 "invalid"
assert_eq "$(evd_json 'd["valid"]')" false
assert_eq "$(evd_json 'd["errors"][0]["field"]')" data.imsi
assert_eq "$(evd_curl /v1/events/count)" "$before" "validate stores nothing"
evd_req GET /v1/registry/session_created
assert_eq "$(evd_json 'd["seen"]')" 2 "validate does not count"

evd_step "eventctl validate (through eventd and locally) and schema check"
export EVENTD_URL=$EVD_URL
out=$("$EVD_EVENTCTL" validate --type session_created --data "$SESSION" 2>&1) || evd_fail "validate: $out"
assert_eq "$out" valid "remote valid"
out=$("$EVD_EVENTCTL" validate --type session_created --data '{"imsi":"IMSI001010000000001","session_id":"s","pdp_start_time":"x"}' 2>&1)
assert_eq "$?" 1 "remote invalid exit status"
assert_eq "$out" "data.pdp_start_time: expected integer, got string" "remote message"
out=$("$EVD_EVENTCTL" validate --registry "$REG" --type attach_success --data '{"imsi":7}' 2>&1)
assert_eq "$?" 1 "local invalid exit status"
assert_eq "$out" "data.imsi: expected string, got integer" "local message"
printf '%s' "$SESSION" >"$EVD_TMP/s.json"
out=$("$EVD_EVENTCTL" validate --registry "$REG" --type session_created --data "@$EVD_TMP/s.json" 2>&1) ||
  evd_fail "local valid: $out"
assert_eq "$out" valid
out=$("$EVD_EVENTCTL" validate --registry "$REG" --type whatever --stream ci 2>&1) || evd_fail "flag: $out"
assert_contains "$out" "unregistered=true"
"$EVD_EVENTCTL" validate --data '{}' >/dev/null 2>&1
assert_eq "$?" 64 "--type is required"
"$EVD_EVENTCTL" validate --type x --data '[1]' >/dev/null 2>&1
assert_eq "$?" 64 "data must be an object"
assert_contains "$("$EVD_EVENTCTL" validate --help)" "POST /v1/registry/validate"
assert_contains "$("$EVD_EVENTCTL" schema --help)" "schema check FILE"
out=$("$EVD_EVENTCTL" schema check "$REG" "$EVD_SOURCE_DIR/examples/registry/specs/lte/mme_events.v1.yml" 2>&1) ||
  evd_fail "schema check: $out"
assert_contains "$out" "eventd.yml: ok (registry: 40 event types"
assert_contains "$out" "mme_events.v1.yml: ok (Swagger 2.0"
printf 'swagger: "2.0"\ndefinitions:\n  x:\n    type: object\n    properties:\n      n: {type: integr}\n' >"$EVD_TMP/bad.yml"
out=$("$EVD_EVENTCTL" schema check "$EVD_TMP/bad.yml" "$REG" 2>&1)
assert_eq "$?" 1 "schema check of a bad file"
assert_contains "$out" "bad.yml:6: definitions.x.properties.n.type: unknown type 'integr'"
assert_contains "$out" "eventd.yml: ok" "the other files are still checked"
out=$("$EVD_EVENTCTL" schema check "$EVD_TMP/reg/typo.yml" 2>&1)
assert_eq "$?" 1 "schema check of a bad registry"
assert_contains "$out" "typo.yml:4: event type 'attach_sucess'"
evd_stop

evd_step "reload: POST /v1/registry/reload and SIGHUP, a bad file keeps the running registry"
cp "$EVD_SOURCE_DIR/examples/registry/specs/lte/session_manager_events.v1.yml" "$EVD_TMP/reg/specs/lte/"
printf 'spec_dirs: [specs]\nevent_registry:\n  attach_success: {module: lte, filename: mme_events.v1.yml}\n' >"$EVD_TMP/reg/live.yml"
evd_start --registry "$EVD_TMP/reg/live.yml"
evd_post_json /v1/events '{"type":"attach_success","data":{"imsi":"IMSI001010000000001"}}'
assert_status 200
evd_post_json /v1/events "{\"type\":\"session_created\",\"data\":$SESSION}"
assert_status 400 "not registered yet"
printf 'spec_dirs: [specs]\nevent_registry:\n  attach_success: {module: lte, filename: mme_events.v1.yml}\n  session_created: {module: lte, filename: session_manager_events.v1.yml}\n' \
  >"$EVD_TMP/reg/live.yml"
evd_req POST /v1/registry/reload
assert_status 200 "reload"
assert_eq "$(evd_json 'd["types"]')" 2 "types after reload"
evd_post_json /v1/events "{\"type\":\"session_created\",\"data\":$SESSION}"
assert_status 200 "registered after reload"
evd_req GET /v1/registry/attach_success
assert_eq "$(evd_json 'd["seen"]')" 1 "counters carried over"
cp "$EVD_TMP/reg/typo.yml" "$EVD_TMP/reg/live.yml"
evd_req POST /v1/registry/reload
assert_status 422 "bad reload"
assert_contains "$(evd_json 'd["error"]')" "live.yml:4: event type 'attach_sucess' is not defined"
assert_eq "$(evd_json 'd["types"]')" 2 "the running registry is kept"
evd_post_json /v1/events "{\"type\":\"session_created\",\"data\":$SESSION}"
assert_status 200 "still registered after a bad reload"
evd_req GET /v1/registry
assert_eq "$(evd_json 'd["reload_failures"]')" 1 "failure counted"
assert_contains "$(evd_json 'd["last_reload_error"]')" "attach_sucess"
kill -HUP "$EVD_PID"
evd_wait_for_log "registry reload failed, keeping the running registry: .*live.yml:4" ||
  evd_fail "SIGHUP with a bad file is not logged"
printf 'spec_dirs: [specs]\nevent_registry:\n  session_created: {module: lte, filename: session_manager_events.v1.yml}\n' \
  >"$EVD_TMP/reg/live.yml"
kill -HUP "$EVD_PID"
evd_wait_for_log "registry reloaded in [0-9]+ ms: 1 event types" || evd_fail "SIGHUP reload not logged"
evd_post_json /v1/events '{"type":"attach_success","data":{"imsi":"IMSI001010000000001"}}'
assert_status 400 "removed by the SIGHUP reload"
assert_eq "$(evd_curl /metrics | awk '$1 == "eventd_registry_reloads_total{result=\"ok\"}" {print $2}')" 2 "reload metric"
assert_eq "$(evd_curl /metrics | awk '$1 == "eventd_events_rejected_total{reason=\"unregistered\"}" {print $2}')" 2 \
  "rejected metric by reason"
evd_stop
assert_eq "$EVD_EXIT" 0

evd_step "policies from the configuration: registry.unregistered and registry.streams"
printf 'registry:\n  file: %s\n  unregistered: accept\n  streams:\n    strict: reject\n    lab: {unregistered: accept-and-flag}\n' \
  "$EVD_TMP/reg/nopolicy.yml" >"$EVD_TMP/conf.yml"
printf 'spec_dirs: [specs]\nevent_registry:\n  attach_success: {module: lte, filename: mme_events.v1.yml}\n' >"$EVD_TMP/reg/nopolicy.yml"
evd_start --config "$EVD_TMP/conf.yml"
evd_post_json /v1/events '{"type":"free.x"}'
assert_status 200 "accepted by registry.unregistered"
id=$(evd_json 'd["ids"][0]')
evd_req GET "/v1/events/$id"
assert_eq "$(evd_json 'd.get("labels")')" null "accept does not flag"
evd_post_json /v1/events '{"type":"free.x","stream":"strict"}'
assert_status 400 "rejected on stream strict"
evd_post_json /v1/events '{"type":"free.x","stream":"lab"}'
assert_status 200 "flagged on stream lab"
evd_req GET "/v1/events/$(evd_json 'd["ids"][0]')"
assert_eq "$(evd_json 'd["labels"]["unregistered"]')" true
evd_post_json /v1/events '{"type":"attach_success","stream":"lab","data":{"imsi":1}}'
assert_status 400 "registered types are still validated"
evd_req GET /v1/registry
assert_eq "$(evd_json 'd["unregistered"]')" accept
assert_eq "$(evd_json 'd["streams"]')" '{"strict": "reject", "lab": "accept-and-flag"}'
evd_stop

evd_step "without a registry everything well-formed is accepted"
evd_start
evd_post_json /v1/events '{"type":"anything.at.all","data":{"x":1}}'
assert_status 200
evd_req GET /v1/registry
assert_eq "$(evd_json 'd["path"]')" null
assert_eq "$(evd_json 'd["types"]')" "[]"
evd_req POST /v1/registry/reload
assert_status 409 "nothing to reload"
evd_post_json /v1/registry/validate '{"type":"x"}'
assert_eq "$(evd_json 'd["registry"]')" false
evd_stop

evd_pass
