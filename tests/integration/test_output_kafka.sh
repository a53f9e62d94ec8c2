#!/usr/bin/env bash
# Kafka output end to end: eventd -> librdkafka's mock cluster (evd-kafka-mock, over loopback
# TCP) -> kcat. Proves: delivery in store order with the chosen key and a topic template,
# retry after the broker comes back (nothing lost), a message Kafka can never take -> dead
# letter, the gala-gopher value format, and at-least-once across a kill -9 of eventd.
source "$(dirname "$0")/lib.sh"

MOCK=$EVD_BUILD_DIR/evd-kafka-mock
[[ -x $MOCK ]] || evd_fail "$MOCK not built"
command -v kcat >/dev/null || evd_fail "kcat not installed"

"$MOCK" ev-app eventd big gala_gopher_event crash >"$EVD_TMP/mock.out" 2>"$EVD_TMP/mock.err" &
MOCK_PID=$!
evd_bg_pid "$MOCK_PID"
for _ in $(seq 1 100); do [[ -s $EVD_TMP/mock.out ]] && break; sleep 0.05; done
BS=$(head -1 "$EVD_TMP/mock.out")
[[ -n $BS ]] || evd_fail "mock cluster did not print its bootstrap servers"

# consume TOPIC: every message as "key<TAB>value" lines, from the beginning.
consume() { kcat -C -b "$BS" -t "$1" -o beginning -e -q -f '%k\t%s\n' 2>/dev/null; }
# The messages (event "message" field) of the values, first occurrence only, in order.
uniq_messages() {
  /usr/bin/python3 -c '
import json, sys
seen, out = set(), []
for line in sys.stdin:
    k, _, v = line.rstrip("\n").partition("\t")
    m = json.loads(v)["message"]
    if m not in seen:
        seen.add(m); out.append(m)
print(" ".join(out))'
}
seq_messages() { local s="" i; for i in $(seq "$1" "$2"); do s+="n$i "; done; echo "${s% }"; }
post_events() { # STREAM TYPE FROM TO
  local body="" i
  for i in $(seq "$3" "$4"); do
    body+="{\"stream\":\"$1\",\"type\":\"$2\",\"tag\":\"t$i\",\"message\":\"n$i\"}"$'\n'
  done
  evd_post_ndjson /v1/events "$body"
  assert_status 200 "post events"
}
wait_messages() { # TOPIC EXPECTED
  local got=""
  for _ in $(seq 1 100); do
    got=$(consume "$1" | uniq_messages)
    [[ $got == "$2" ]] && return 0
    sleep 0.2
  done
  evd_fail "topic $1: expected '$2', got '$got'"
}

evd_start
RETRY='"retry":{"base":0.05,"cap":0.5}'

evd_step "delivery in order, key = tag, topic from a template"
evd_post_json /v1/outputs "{\"name\":\"k1\",\"type\":\"kafka\",\"brokers\":\"$BS\",\"topic\":\"ev-{stream}\",\"key\":\"tag\",\"match\":[\"app.#\"],\"timeout_ms\":1000,\"compression\":\"lz4\",$RETRY}"
assert_status 201 "create k1: $EVD_BODY"
post_events app started 1 10
post_events other started 100 102
post_events app stopped 11 20
wait_messages ev-app "$(seq_messages 1 20)"
KEYS=$(consume ev-app | cut -f1 | head -3 | tr '\n' ' ')
assert_eq "$KEYS" "t1 t2 t3 " "message keys are the tags"
evd_req GET /v1/outputs/k1/deliveries
assert_contains "$EVD_BODY" '"ok":true' "batches are in the delivery history"

evd_step "retry after the broker comes back"
kill -USR1 "$MOCK_PID"
sleep 0.3
post_events app later 21 30
evd_wait_for sh -c "curl -s $EVD_URL/v1/outputs/k1 | grep -q '\"retries\":[1-9]'" ||
  sleep 8 # the first failure surfaces after timeout_ms + the report wait
curl -s "$EVD_URL/v1/outputs/k1" | grep -q '"retries":[1-9]' ||
  evd_fail "no retries while the broker is down: $(curl -s "$EVD_URL/v1/outputs/k1")"
kill -USR2 "$MOCK_PID"
wait_messages ev-app "$(seq_messages 1 30)"

evd_step "a message Kafka can never take -> dead letter, the next one goes"
evd_post_json /v1/outputs "{\"name\":\"k2\",\"type\":\"kafka\",\"brokers\":\"$BS\",\"topic\":\"big\",\"match\":[\"big.#\"],\"properties\":{\"message.max.bytes\":\"2000\"},$RETRY}"
assert_status 201 "create k2: $EVD_BODY"
LONG=$(head -c 5000 /dev/zero | tr '\0' 'x')
evd_post_ndjson /v1/events "{\"stream\":\"big\",\"type\":\"huge\",\"message\":\"$LONG\"}
{\"stream\":\"big\",\"type\":\"small\",\"message\":\"n2\"}"
assert_status 200
wait_messages big "n2"
evd_req GET /v1/outputs/k2/dead
assert_eq "$(evd_json 'd["total"]')" 1 "one dead letter"

evd_step "gala-gopher format"
evd_post_json /v1/outputs "{\"name\":\"gg\",\"type\":\"kafka\",\"brokers\":\"$BS\",\"format\":\"gala-gopher\",\"match\":[\"kernel.#\"],$RETRY}"
assert_status 201 "create gg: $EVD_BODY"
evd_post_json /v1/events '{"stream":"kernel","type":"oom","severity":"ERROR","message":"Out of memory: Killed process 42","labels":{"entity_id":"h1_proc_42","Host":"h1"},"time":"2024-06-01T12:00:00Z"}'
assert_status 200
for _ in $(seq 1 100); do [[ -n $(consume gala_gopher_event) ]] && break; sleep 0.1; done
V=$(consume gala_gopher_event | head -1 | cut -f2-)
[[ -n $V ]] || evd_fail "nothing on gala_gopher_event"
/usr/bin/python3 - "$V" <<'EOF' || evd_fail "gala-gopher value has the wrong shape: $V"
import json, sys
v = json.loads(sys.argv[1])
assert v["Timestamp"] == 1717243200000, v
assert v["event_id"] == "1717243200000_h1_proc_42", v
assert v["Attributes"]["entity_id"] == "h1_proc_42" and v["Attributes"]["event_type"] == "sys", v
assert v["Resource"]["labels"]["Host"] == "h1" and v["Resource"]["metric"] == "oom", v
assert v["SeverityText"] == "ERROR" and v["SeverityNumber"] == 17, v
assert v["Body"] == "Out of memory: Killed process 42", v
EOF

evd_step "kill -9 during delivery, restart: every acknowledged event reaches Kafka at least once"
evd_post_json /v1/outputs "{\"name\":\"crash\",\"type\":\"kafka\",\"brokers\":\"$BS\",\"topic\":\"crash\",\"match\":[\"crash.#\"],\"batch\":20,$RETRY}"
assert_status 201 "create crash: $EVD_BODY"
for chunk in 0 1 2 3; do post_events crash x $((chunk * 100 + 1)) $((chunk * 100 + 100)); done
evd_stop KILL
evd_start
wait_messages crash "$(seq_messages 1 400)"
TOTAL=$(consume crash | wc -l)
echo "   crash: 400 events, $((TOTAL - 400)) duplicate(s) after kill -9"

evd_stop
kill -TERM "$MOCK_PID"
wait "$MOCK_PID" 2>/dev/null
evd_pass
