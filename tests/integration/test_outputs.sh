#!/usr/bin/env bash
# Outputs core (issue 4) with the file destination: delivery in store order, pattern
# matching and filters, pause/resume, replay (time and id), dead-letter after max attempts,
# redeliver and purge, runtime outputs and cursors surviving a restart, config-declared
# outputs (listed, refused for update/delete), metrics, the API's errors.
source "$(dirname "$0")/lib.sh"

OUT=$EVD_TMP/out
mkdir -p "$OUT"
lines() { [[ -f $1 ]] && wc -l <"$1" || echo 0; }
wait_lines() { # FILE N: wait until FILE has at least N lines
  for _ in $(seq 1 100); do [[ $(lines "$1") -ge $2 ]] && return 0; sleep 0.1; done
  evd_fail "$1 has $(lines "$1") lines, expected $2"
}
post_events() { # JSON array
  evd_post_json /v1/events "$1"
  assert_status 200 "ingest"
}

cat >"$EVD_TMP/eventd.yml" <<EOF
outputs:
  - name: declared1
    type: file
    path: $OUT/declared1.jsonl
    match: ["billing.#"]
    start: oldest
EOF

evd_step "start with a config-declared output"
evd_start --grpc off --config "$EVD_TMP/eventd.yml"

evd_step "create: bad members are 400 naming the member, duplicates 409"
evd_post_json /v1/outputs '{"name":"x","type":"file"}'
assert_status 400 "missing path"
assert_contains "$EVD_BODY" "path"
evd_post_json /v1/outputs '{"name":"x","type":"nope","path":"/tmp/x"}'
assert_status 400 "unknown type"
assert_contains "$EVD_BODY" "type"
evd_post_json /v1/outputs '{"name":"x","type":"file","path":"/tmp/x","match":["a.#","a..b#"]}'
assert_status 400 "bad pattern"
assert_contains "$EVD_BODY" "match[1]"
evd_post_json /v1/outputs '{"name":"x","type":"file","path":"/tmp/x","retry":{"base":"soon"}}'
assert_status 400 "bad retry"
assert_contains "$EVD_BODY" "retry.base"
evd_post_json /v1/outputs "{\"name\":\"f1\",\"type\":\"file\",\"path\":\"$OUT/f1.jsonl\",\"match\":[\"app.*.created\",\"app.audit.#\"],\"batch\":7}"
assert_status 201 "create f1"
assert_eq "$(evd_json 'd["status"]["state"]')" "running"
evd_post_json /v1/outputs "{\"name\":\"f1\",\"type\":\"file\",\"path\":\"$OUT/other.jsonl\"}"
assert_status 409 "duplicate"
evd_post_json /v1/outputs "{\"name\":\"sev\",\"type\":\"file\",\"path\":\"$OUT/sev.jsonl\",\"min_severity\":\"WARN\",\"tenant\":\"t1\",\"labels\":{\"env\":\"prod\"}}"
assert_status 201 "create sev"

evd_step "delivery in store order, only matching keys"
batch='['
for i in $(seq 1 100); do
  batch+="{\"stream\":\"app\",\"type\":\"vm.created\",\"message\":\"m$i\"},"
  batch+="{\"stream\":\"app\",\"type\":\"vm.deleted\",\"message\":\"skip$i\"},"
done
batch+='{"stream":"app","type":"audit.login.ok","message":"audit"},'
batch+='{"stream":"billing","type":"invoice","message":"bill"}]'
post_events "$batch"
wait_lines "$OUT/f1.jsonl" 101
sleep 0.3
assert_eq "$(lines "$OUT/f1.jsonl")" 101 "f1 got exactly the matching events"
python3 - "$OUT/f1.jsonl" <<'PY' || evd_fail "f1 order/content"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
msgs = [r.get("message") for r in rows]
assert msgs[:100] == ["m%d" % i for i in range(1, 101)], msgs[:5]
assert msgs[100] == "audit"
assert all(not m.startswith("skip") for m in msgs)
PY
wait_lines "$OUT/declared1.jsonl" 1
assert_contains "$(cat "$OUT/declared1.jsonl")" '"message":"bill"'

evd_step "filters: min_severity, tenant, labels"
post_events '[{"stream":"s","type":"a","severity":"ERROR","tenant":"t1","labels":{"env":"prod"},"message":"yes"},
 {"stream":"s","type":"a","severity":"INFO","tenant":"t1","labels":{"env":"prod"},"message":"low"},
 {"stream":"s","type":"a","severity":"ERROR","tenant":"t2","labels":{"env":"prod"},"message":"tenant"},
 {"stream":"s","type":"a","severity":"ERROR","tenant":"t1","labels":{"env":"dev"},"message":"label"}]'
wait_lines "$OUT/sev.jsonl" 1
sleep 0.3
assert_eq "$(lines "$OUT/sev.jsonl")" 1 "only one event passes the filters"
assert_contains "$(cat "$OUT/sev.jsonl")" '"message":"yes"'

evd_step "pause holds delivery, resume catches up"
evd_req POST /v1/outputs/f1/pause
assert_status 200 "pause"
post_events '[{"stream":"app","type":"x.created","message":"while-paused"}]'
sleep 0.5
assert_eq "$(lines "$OUT/f1.jsonl")" 101 "nothing delivered while paused"
evd_req GET /v1/outputs/f1
assert_eq "$(evd_json 'd["status"]["state"]')" "paused"
assert_eq "$(evd_json 'd["status"]["lag_events"] > 0')" "true" "lag while paused"
metrics=$(evd_curl /metrics) # (not piped into grep -q: curl fails when grep stops early)
grep -q 'eventd_output_paused{output="f1",owner=""} 1' <<<"$metrics" || evd_fail "paused metric"
evd_req POST /v1/outputs/f1/resume
assert_status 200 "resume"
wait_lines "$OUT/f1.jsonl" 102
assert_contains "$(tail -1 "$OUT/f1.jsonl")" "while-paused"

evd_step "replay from an event id and from a time"
ID50=$(sed -n 50p "$OUT/f1.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
evd_post_json /v1/outputs/f1/replay "{\"after_id\":\"$ID50\"}"
assert_status 200 "replay after_id"
# after_id = that event is delivered again (the cursor is set just before it)
wait_lines "$OUT/f1.jsonl" $((102 + 53))
evd_post_json /v1/outputs/f1/replay '{"since":"-1h"}'
assert_status 200 "replay since"
wait_lines "$OUT/f1.jsonl" $((102 + 53 + 102))
evd_post_json /v1/outputs/f1/replay '{"after_id":"no-such-id"}'
assert_status 400 "unknown id"
evd_post_json /v1/outputs/nope/replay '{"since":"-1h"}'
assert_status 404 "unknown output"

evd_step "dead-letter after max attempts, without blocking later events"
evd_post_json /v1/outputs "{\"name\":\"broken\",\"type\":\"file\",\"path\":\"$OUT/missing-dir/x.jsonl\",\"match\":\"dl.#\",\"retry\":{\"base\":\"10ms\",\"cap\":\"40ms\",\"max_attempts\":3}}"
assert_status 201 "create broken"
post_events '[{"stream":"dl","type":"one"},{"stream":"dl","type":"two"}]'
for _ in $(seq 1 100); do
  evd_req GET /v1/outputs/broken/dead
  [[ $(evd_json 'd["total"]') == 2 ]] && break
  sleep 0.1
done
assert_eq "$(evd_json 'd["total"]')" 2 "both events dead-lettered"
assert_eq "$(evd_json 'd["dead"][0]["attempts"]')" 3 "attempts recorded"
assert_contains "$(evd_json 'd["dead"][0]["error"]')" "No such file"
evd_req GET /v1/outputs/broken
assert_eq "$(evd_json 'd["status"]["dead_lettered"]')" 2
assert_eq "$(evd_json 'd["status"]["retries"]')" 4 "2 retries per event"
evd_req GET /v1/outputs/broken/deliveries
assert_eq "$(evd_json 'len(d["deliveries"])')" 6 "every attempt is in the history"
evd_req POST /v1/outputs/broken/test
assert_status 200 "test"
assert_eq "$(evd_json 'd["ok"]')" "false" "test against a broken destination"

evd_step "fix the destination (PATCH), redeliver the dead letters"
mkdir -p "$OUT/missing-dir"
evd_req PATCH /v1/outputs/broken -H 'Content-Type: application/json' --data-binary '{"retry":{"base":"10ms","max_attempts":0}}'
assert_status 200 "patch"
assert_eq "$(evd_json 'd["retry"]["max_attempts"]')" 0
evd_req POST /v1/outputs/broken/dead/redeliver
assert_status 202 "redeliver"
wait_lines "$OUT/missing-dir/x.jsonl" 2
for _ in $(seq 1 50); do
  evd_req GET /v1/outputs/broken/dead
  [[ $(evd_json 'd["total"]') == 0 ]] && break
  sleep 0.1
done
assert_eq "$(evd_json 'd["total"]')" 0 "redelivered letters leave the list"
rmdir "$OUT/missing-dir" 2>/dev/null; rm -rf "$OUT/missing-dir"
post_events '[{"stream":"dl","type":"three"}]'
for _ in $(seq 1 100); do
  evd_req GET /v1/outputs/broken
  [[ $(evd_json 'd["status"]["retries"]') -gt 6 ]] && break
  sleep 0.1
done
evd_req DELETE /v1/outputs/broken/dead
assert_status 200 "purge"

evd_step "test delivery to a working output"
evd_req POST /v1/outputs/f1/test
assert_eq "$(evd_json 'd["ok"]')" "true"

evd_step "config-declared outputs are listed and refuse update and delete"
evd_req GET /v1/outputs
assert_eq "$(evd_json '[o["name"] for o in d["outputs"]]')" '["broken", "declared1", "f1", "sev"]'
assert_eq "$(evd_json '[o["declared"] for o in d["outputs"] if o["name"] == "declared1"][0]')" "true"
evd_req DELETE /v1/outputs/declared1
assert_status 409 "delete declared"
assert_contains "$EVD_BODY" "config file"
evd_req PUT /v1/outputs/declared1 -H 'Content-Type: application/json' --data-binary '{"type":"stdout"}'
assert_status 409 "update declared"

evd_step "metrics"
m=$(evd_curl /metrics)
assert_contains "$m" 'eventd_output_delivered_total{output="f1",owner=""}'
assert_contains "$m" 'eventd_output_dead_lettered_total{output="broken",owner=""} 2'
assert_contains "$m" 'eventd_output_lag_seconds{output="f1",owner=""}'

evd_step "restart: runtime outputs and cursors survive, nothing is lost"
before=$(lines "$OUT/f1.jsonl")
evd_stop
assert_eq "$EVD_EXIT" 0
evd_start --grpc off --config "$EVD_TMP/eventd.yml"
evd_req GET /v1/outputs
assert_eq "$(evd_json '[o["name"] for o in d["outputs"]]')" '["broken", "declared1", "f1", "sev"]'
sleep 0.5
assert_eq "$(lines "$OUT/f1.jsonl")" "$before" "no redelivery after a clean stop"
post_events '[{"stream":"app","type":"after.created","message":"after-restart"},{"stream":"billing","type":"b2"}]'
wait_lines "$OUT/f1.jsonl" $((before + 1))
assert_contains "$(tail -1 "$OUT/f1.jsonl")" "after-restart"
wait_lines "$OUT/declared1.jsonl" 2
assert_eq "$(lines "$OUT/declared1.jsonl")" 2 "declared output resumed from its cursor"

evd_step "delete"
evd_req DELETE /v1/outputs/f1
assert_status 200 "delete"
evd_req GET /v1/outputs/f1
assert_status 404 "gone"
post_events '[{"stream":"app","type":"gone.created"}]'
sleep 0.3
assert_not_contains "$(tail -1 "$OUT/f1.jsonl")" "gone.created"
evd_stop
assert_eq "$EVD_EXIT" 0
evd_pass
