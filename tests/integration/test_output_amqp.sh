#!/usr/bin/env bash
# AMQP output end to end: eventd -> a private rabbitmq-server (tests/integration/amqp/rabbit.sh)
# -> python3-pika consumers through queues bound with '*' and '#' patterns. Proves: delivery
# with publisher confirms, persistent messages, store order, topic-pattern routing, retry
# after the broker restarts (nothing lost), CloudStack routing keys, and a routing key AMQP
# cannot carry -> dead letter, and at-least-once across a kill -9 of eventd.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/amqp/rabbit.sh"
trap 'rabbit_cleanup; evd_cleanup' EXIT

/usr/bin/python3 -c 'import pika' 2>/dev/null || evd_fail "python3-pika not installed"

evd_step "start rabbitmq-server"
rabbit_start
EX=eventd-events
rabbit_consume bind q_star "$EX" 'app.*' || evd_fail "bind q_star"
rabbit_consume bind q_hash "$EX" '#' || evd_fail "bind q_hash"
rabbit_consume bind q_deep "$EX" 'app.deep.#' || evd_fail "bind q_deep"

# drain QUEUE [N]: the event messages read from QUEUE, first occurrence only, in order.
drain() {
  local args=(drain "$1" --timeout 30)
  [[ -n ${2:-} ]] && args+=(--expect "$2")
  rabbit_consume "${args[@]}" >"$EVD_TMP/drain.out" || evd_fail "drain $1"
  /usr/bin/python3 -c '
import json, sys
seen, out = set(), []
for line in open(sys.argv[1]):
    m = json.loads(line)
    assert m["delivery_mode"] == 2, m
    assert m["content_type"] == "application/json", m
    assert m["message_id"] == m["body"]["id"], m
    msg = m["body"]["message"]
    if msg not in seen:
        seen.add(msg); out.append(msg)
print(" ".join(out))' "$EVD_TMP/drain.out"
}
seq_messages() { local s="" i; for i in $(seq "$1" "$2"); do s+="n$i "; done; echo "${s% }"; }
post_events() { # STREAM TYPE FROM TO
  local body="" i
  for i in $(seq "$3" "$4"); do
    body+="{\"stream\":\"$1\",\"type\":\"$2\",\"message\":\"n$i\"}"$'\n'
  done
  evd_post_ndjson /v1/events "$body"
  assert_status 200 "post events"
}

evd_start
RETRY='"retry":{"base":0.1,"cap":1}'

evd_step "delivery with confirms, routed by topic patterns"
evd_post_json /v1/outputs "{\"name\":\"mq\",\"type\":\"amqp\",\"url\":\"amqp://guest:guest@127.0.0.1:$RABBIT_PORT/%2f\",\"match\":[\"app.#\"],\"heartbeat\":5,\"timeout_ms\":3000,$RETRY}"
assert_status 201 "create mq: $EVD_BODY"
post_events app started 1 10       # key app.started   -> q_star, q_hash
post_events app deep.x 11 12        # key app.deep.x    -> q_hash, q_deep (not q_star)
post_events other started 100 101   # not matched by the output
post_events app stopped 13 20
assert_eq "$(drain q_star 18)" "$(seq_messages 1 10) $(seq_messages 13 20)" "q_star (app.*) in order"
assert_eq "$(drain q_hash 20)" "$(seq_messages 1 20)" "q_hash (#) gets all, in order"
assert_eq "$(drain q_deep 2)" "n11 n12" "q_deep (app.deep.#)"
evd_req GET /v1/outputs/mq
assert_not_contains "$EVD_BODY" "guest:guest" "password hidden in the url"
evd_req GET /v1/outputs/mq/deliveries
assert_contains "$EVD_BODY" '"ok":true' "publishes are in the delivery history"

evd_step "a url ending in '/' means vhost \"\" (AMQP URI spec): the refused login names it"
evd_post_json /v1/outputs "{\"name\":\"mqslash\",\"type\":\"amqp\",\"url\":\"amqp://guest:guest@127.0.0.1:$RABBIT_PORT/\",\"paused\":true,\"timeout_ms\":3000}"
assert_status 201 "create mqslash"
evd_req POST /v1/outputs/mqslash/test
assert_status 200 "test delivery"
assert_eq "$(evd_json 'd["ok"]')" "false"
assert_contains "$(evd_json 'd["error"]')" "login"
assert_contains "$(evd_json 'd["error"]')" "vhost '' (url ends in '/'; the default vhost '/' is written %2f)"
evd_req DELETE /v1/outputs/mqslash
assert_status 200 "delete mqslash"

evd_step "an idle connection the broker dropped (missed heartbeats) is reopened without a retry"
evd_post_json /v1/outputs "{\"name\":\"idle\",\"type\":\"amqp\",\"port\":$RABBIT_PORT,\"exchange\":\"idle-events\",\"match\":[\"idle.#\"],\"heartbeat\":1,$RETRY}"
assert_status 201 "create idle: $EVD_BODY"
rabbit_consume bind q_idle idle-events 'idle.#' || evd_fail "bind q_idle"
post_events idle a 1 1
assert_eq "$(drain q_idle 1)" "n1" "first idle event"
sleep 5 # > 2 heartbeats with no library call: the broker closes the connection
post_events idle a 2 2
assert_eq "$(drain q_idle 1)" "n2" "event after the idle period"
grep -q 'output idle: amqp: connection lost while idle' "$EVD_LOG" ||
  evd_fail "the broker did not drop the idle connection: the case was not exercised"
evd_req GET /v1/outputs/idle
assert_eq "$(evd_json 'd["status"]["retries"]')" 0 "no retry for a connection that died idle"

evd_step "retry after the broker restarts"
rabbit_stop
post_events app later 21 30
evd_wait_for sh -c "curl -s $EVD_URL/v1/outputs/mq | grep -q '\"retries\":[1-9]'" ||
  evd_fail "no retries while the broker is down: $(curl -s "$EVD_URL/v1/outputs/mq")"
rabbit_start
assert_eq "$(drain q_hash 10)" "$(seq_messages 21 30)" "events after the restart, in order"

evd_step "CloudStack routing keys"
rabbit_consume bind q_cs cs-events 'management-server.ActionEvent.VM-CREATE.#' || evd_fail "bind q_cs"
evd_post_json /v1/outputs "{\"name\":\"cs\",\"type\":\"amqp\",\"port\":$RABBIT_PORT,\"exchange\":\"cs-events\",\"routing_key\":\"cloudstack\",\"match\":[\"#\"],$RETRY}"
assert_status 201 "create cs: $EVD_BODY"
evd_post_json /v1/events '{"stream":"cloud","type":"VM.CREATE","source":"management-server","message":"n1","labels":{"category":"ActionEvent","resource_type":"VirtualMachine","resource_uuid":"1b2c-3d"}}'
assert_status 200
assert_eq "$(drain q_cs 1)" "n1" "CloudStack subscriber binding matched"
RK=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["routing_key"])' "$EVD_TMP/drain.out")
assert_eq "$RK" "management-server.ActionEvent.VM-CREATE.VirtualMachine.1b2c-3d" "routing key"

evd_step "a routing key AMQP cannot carry (> 255 bytes) -> dead letter, the next one goes"
LONGSRC=$(head -c 300 /dev/zero | tr '\0' 's')
evd_post_ndjson /v1/events "{\"stream\":\"cloud\",\"type\":\"VM.CREATE\",\"source\":\"$LONGSRC\",\"message\":\"too-long\"}
{\"stream\":\"cloud\",\"type\":\"VM.CREATE\",\"source\":\"management-server\",\"message\":\"n2\",\"labels\":{\"category\":\"ActionEvent\"}}"
assert_status 200
assert_eq "$(drain q_cs 1)" "n2" "the event after the dead one"
evd_req GET /v1/outputs/cs/dead
assert_eq "$(evd_json 'd["total"]')" 1 "one dead letter"

evd_step "kill -9 during delivery, restart: every acknowledged event reaches the queue at least once"
rabbit_consume bind q_crash crash-events '#' || evd_fail "bind q_crash"
evd_post_json /v1/outputs "{\"name\":\"crash\",\"type\":\"amqp\",\"port\":$RABBIT_PORT,\"exchange\":\"crash-events\",\"match\":[\"crash.#\"],\"batch\":20,$RETRY}"
assert_status 201 "create crash: $EVD_BODY"
for chunk in 0 1 2 3; do post_events crash x $((chunk * 100 + 1)) $((chunk * 100 + 100)); done
evd_stop KILL
evd_start
# Read q_crash until 400 distinct events arrived (duplicates are expected after a crash).
: >"$EVD_TMP/crash.out"
uniq_crash() { /usr/bin/python3 -c 'import json,sys; print(len({json.loads(l)["body"]["message"] for l in open(sys.argv[1])}))' "$EVD_TMP/crash.out"; }
for _ in $(seq 1 30); do
  rabbit_consume drain q_crash --timeout 3 >>"$EVD_TMP/crash.out" || evd_fail "drain q_crash"
  [[ $(uniq_crash) -ge 400 ]] && break
done
assert_eq "$(uniq_crash)" 400 "all 400 acknowledged events reached the queue"
/usr/bin/python3 - "$EVD_TMP/crash.out" <<'PY' || evd_fail "first arrivals out of store order"
import json, sys
first = []
for l in open(sys.argv[1]):
    n = int(json.loads(l)["body"]["message"][1:])
    if n not in first:
        first.append(n)
assert first == sorted(first), first
PY
echo "   crash: 400 events, $(( $(wc -l <"$EVD_TMP/crash.out") - 400 )) duplicate(s) after kill -9"

evd_stop
evd_pass
