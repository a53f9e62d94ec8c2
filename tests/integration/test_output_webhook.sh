#!/usr/bin/env bash
# Webhook output end to end: eventd -> examples/webhook-receiver/receiver.py (a real HTTP
# receiver verifying X-Eventd-Signature). Proves: delivery with verified signatures, store
# order, pattern matching, retry after the receiver comes back, rejected (4xx) -> dead
# letter, a wrong secret is refused by the receiver (401 -> dead letter), batch mode, the
# delivery history, and the CloudStack signature mode.
source "$(dirname "$0")/lib.sh"

RECEIVER=$EVD_SOURCE_DIR/examples/webhook-receiver/receiver.py

# start_receiver NAME ARGS...: start a receiver (stdout -> $EVD_TMP/NAME.out, appended), wait
# for its port; sets REC_PID and REC_PORT.
start_receiver() {
  local name=$1
  shift
  /usr/bin/python3 "$RECEIVER" "$@" >>"$EVD_TMP/$name.out" 2>"$EVD_TMP/$name.err" &
  REC_PID=$!
  evd_bg_pid "$REC_PID"
  local line=""
  for _ in $(seq 1 100); do
    line=$(grep -o 'listening on [0-9.]*:[0-9]*' "$EVD_TMP/$name.err" | tail -1)
    [[ -n $line ]] && break
    sleep 0.05
  done
  [[ -n $line ]] || evd_fail "receiver $name did not start"
  REC_PORT=${line##*:}
}

stop_receiver() {
  kill -TERM "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

lines() { [[ -f $1 ]] && wc -l <"$1" || echo 0; }
wait_lines() { # FILE N
  for _ in $(seq 1 150); do
    [[ $(lines "$1") -ge $2 ]] && return 0
    sleep 0.1
  done
  evd_fail "expected $2 lines in $1, got $(lines "$1")"
}

post_events() { # STREAM TYPE FROM TO
  local body="" i
  for i in $(seq "$3" "$4"); do
    body+="{\"stream\":\"$1\",\"type\":\"$2\",\"message\":\"n$i\",\"labels\":{\"n\":\"$i\"}}"$'\n'
  done
  evd_post_ndjson /v1/events "$body"
  assert_status 200 "post events"
}

# The messages of the events in FILE, in order, one line.
messages() { /usr/bin/python3 -c 'import json,sys; print(" ".join(json.loads(l)["message"] for l in open(sys.argv[1])))' "$1"; }
seq_messages() { local s="" i; for i in $(seq "$1" "$2"); do s+="n$i "; done; echo "${s% }"; }

evd_start
RETRY='"retry":{"base":0.05,"cap":0.5}'

evd_step "delivery with signatures, in order, only matching keys"
start_receiver hook1 --port 0 --secret s3cret
P1=$REC_PORT
R1=$REC_PID
evd_post_json /v1/outputs "{\"name\":\"hook1\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$P1/in\",\"match\":[\"app.*\"],\"secret\":\"s3cret\",$RETRY}"
assert_status 201 "create hook1: $EVD_BODY"
post_events app started 1 10
post_events other started 100 105 # key other.started: not matched
post_events app stopped 11 20
wait_lines "$EVD_TMP/hook1.out" 20
sleep 0.3
assert_eq "$(lines "$EVD_TMP/hook1.out")" 20 "events delivered to hook1"
assert_eq "$(messages "$EVD_TMP/hook1.out")" "$(seq_messages 1 20)" "store order"
assert_not_contains "$(cat "$EVD_TMP/hook1.err")" "rejected" "receiver verified every signature"

evd_step "retry after the receiver comes back"
stop_receiver "$R1"
post_events app later 21 30
evd_wait_for sh -c "curl -s $EVD_URL/v1/outputs/hook1 | grep -q '\"retries\":[1-9]'" ||
  evd_fail "no retries counted while the receiver is down: $(curl -s "$EVD_URL/v1/outputs/hook1")"
start_receiver hook1 --port "$P1" --secret s3cret
R1=$REC_PID
wait_lines "$EVD_TMP/hook1.out" 30
assert_eq "$(messages "$EVD_TMP/hook1.out")" "$(seq_messages 1 30)" "order kept across the outage"
evd_req GET /v1/outputs/hook1/deliveries
assert_status 200
assert_contains "$EVD_BODY" '"code":200' "delivery history has successes"
assert_contains "$EVD_BODY" '"ok":false' "delivery history has the failed attempts"

evd_step "replay from an event id redelivers what follows it (the receiver sees duplicates)"
ID25=$(sed -n 25p "$EVD_TMP/hook1.out" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
evd_post_json /v1/outputs/hook1/replay "{\"after_id\":\"$ID25\"}"
assert_status 200 "replay: $EVD_BODY"
# n26..n30 must come again (whether n25 itself does is the dispatcher's business).
WANT=$(sed -n 26,30p "$EVD_TMP/hook1.out" | /usr/bin/python3 -c 'import json,sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin))')
redelivered() { for id in $WANT; do grep -q "duplicate $id" "$EVD_TMP/hook1.err" || return 1; done; }
evd_wait_for redelivered || evd_fail "replay did not redeliver n26..n30: $(grep duplicate "$EVD_TMP/hook1.err")"
assert_eq "$(lines "$EVD_TMP/hook1.out")" 30 "duplicates are not printed twice"

evd_step "test delivery (POST /v1/outputs/hook1/test) reaches the receiver, signed"
evd_req POST /v1/outputs/hook1/test
assert_status 200 "test delivery: $EVD_BODY"
assert_eq "$(evd_json 'd["ok"]')" true "test delivery ok"
wait_lines "$EVD_TMP/hook1.out" 31
assert_contains "$(tail -1 "$EVD_TMP/hook1.out")" '"type":"eventd.test"' "the synthetic event arrived"

evd_step "4xx -> dead letter at once, the next event still goes"
start_receiver hook2 --port 0 --reject-type poison
P2=$REC_PORT
evd_post_json /v1/outputs "{\"name\":\"hook2\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$P2/\",\"match\":[\"q.#\"],$RETRY}"
assert_status 201 "create hook2: $EVD_BODY"
post_events q poison 1 1
post_events q fine 2 3
wait_lines "$EVD_TMP/hook2.out" 2
assert_eq "$(messages "$EVD_TMP/hook2.out")" "n2 n3" "events after the rejected one"
evd_req GET /v1/outputs/hook2/dead
assert_status 200
assert_contains "$EVD_BODY" '400' "dead letter carries the HTTP status"
assert_eq "$(evd_json 'd["total"]')" 1 "one dead letter"

evd_step "batch mode: a refused batch is split, only the refused event is dead-lettered"
evd_post_json /v1/outputs "{\"name\":\"hook2b\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$P2/\",\"match\":[\"qb.#\"],\"batch\":50,$RETRY}"
assert_status 201 "create hook2b: $EVD_BODY"
evd_post_json /v1/outputs/hook2b/pause ''
post_events qb fine 4 5
post_events qb poison 6 6
post_events qb fine 7 8
evd_post_json /v1/outputs/hook2b/resume ''
wait_lines "$EVD_TMP/hook2.out" 6
sleep 0.3
assert_eq "$(messages "$EVD_TMP/hook2.out")" "n2 n3 n4 n5 n7 n8" "the events around the refused one"
evd_req GET /v1/outputs/hook2b/dead
assert_eq "$(evd_json 'd["total"]')" 1 "only the refused event is dead"
# 400s seen by the receiver: hook2's poison, the batch of 5, then the poison alone.
REJ=$(curl -s "http://127.0.0.1:$P2/stats" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["rejected"])')
assert_eq "$REJ" 3 "the batch was refused whole, then split"

evd_step "wrong secret: the receiver refuses it (401), eventd dead-letters"
start_receiver hook3 --port 0 --secret s3cret
P3=$REC_PORT
evd_post_json /v1/outputs "{\"name\":\"hook3\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$P3/\",\"match\":[\"w.#\"],\"secret\":\"not-it\",$RETRY}"
assert_status 201 "create hook3: $EVD_BODY"
post_events w x 1 2
evd_wait_for sh -c "curl -s $EVD_URL/v1/outputs/hook3/dead | grep -q '\"total\":2'" ||
  evd_fail "wrong-secret events not dead-lettered: $(curl -s "$EVD_URL/v1/outputs/hook3/dead")"
assert_eq "$(lines "$EVD_TMP/hook3.out")" 0 "nothing accepted with a wrong secret"
assert_contains "$(cat "$EVD_TMP/hook3.err")" "signature mismatch" "receiver saw a bad signature"

evd_step "batch mode (JSON array) with the CloudStack signature"
start_receiver hook4 --port 0 --secret k3y --cloudstack
P4=$REC_PORT
evd_post_json /v1/outputs "{\"name\":\"hook4\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$P4/\",\"match\":[\"b.#\"],\"secret\":\"k3y\",\"signature\":\"cloudstack\",\"batch\":50,$RETRY}"
assert_status 201 "create hook4: $EVD_BODY"
post_events b y 1 40
wait_lines "$EVD_TMP/hook4.out" 40
assert_eq "$(messages "$EVD_TMP/hook4.out")" "$(seq_messages 1 40)" "batched events in order"
assert_not_contains "$(cat "$EVD_TMP/hook4.err")" "rejected" "X-CS-Signature verified"
REQS=$(curl -s "http://127.0.0.1:$P4/stats" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
[[ $REQS -lt 40 ]] || evd_fail "batch mode sent $REQS requests for 40 events"

evd_step "HTTPS: verification on by default, ca_file, tls_verify false"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$EVD_TMP/key.pem" -out "$EVD_TMP/cert.pem" \
  -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 ||
  evd_fail "openssl could not make a certificate"
start_receiver tls --port 0 --secret s3cret --tls-cert "$EVD_TMP/cert.pem" --tls-key "$EVD_TMP/key.pem"
PT=$REC_PORT
evd_post_json /v1/outputs "{\"name\":\"tls1\",\"type\":\"webhook\",\"url\":\"https://127.0.0.1:$PT/\",\"match\":[\"t1.#\"],\"secret\":\"s3cret\",$RETRY}"
assert_status 201 "create tls1: $EVD_BODY"
evd_post_json /v1/outputs "{\"name\":\"tls2\",\"type\":\"webhook\",\"url\":\"https://127.0.0.1:$PT/\",\"match\":[\"t2.#\"],\"secret\":\"s3cret\",\"ca_file\":\"$EVD_TMP/cert.pem\",$RETRY}"
assert_status 201 "create tls2: $EVD_BODY"
evd_post_json /v1/outputs "{\"name\":\"tls3\",\"type\":\"webhook\",\"url\":\"https://127.0.0.1:$PT/\",\"match\":[\"t3.#\"],\"secret\":\"s3cret\",\"tls_verify\":false,$RETRY}"
assert_status 201 "create tls3: $EVD_BODY"
post_events t2 x 1 1
post_events t3 x 2 2
post_events t1 x 3 3
wait_lines "$EVD_TMP/tls.out" 2
assert_eq "$(messages "$EVD_TMP/tls.out" | tr ' ' '\n' | sort | tr '\n' ' ')" "n1 n2 " "ca_file and tls_verify:false deliver"
evd_wait_for sh -c "curl -s $EVD_URL/v1/outputs/tls1 | grep -q '\"retries\":[1-9]'" ||
  evd_fail "unverifiable certificate was not retried: $(curl -s "$EVD_URL/v1/outputs/tls1")"
evd_req GET /v1/outputs/tls1
assert_contains "$EVD_BODY" "certificate" "the error names the certificate problem"
assert_eq "$(lines "$EVD_TMP/tls.out")" 2 "nothing delivered to an unverified server"

evd_step "the example receiver rejects a replayed (old, correctly signed) request"
sign() { # TS BODY -> header value
  /usr/bin/python3 -c 'import hmac,hashlib,sys; t,b=sys.argv[1],sys.argv[2]; print("t=%s,v1=%s" % (t, hmac.new(b"s3cret", (t+"."+b).encode(), hashlib.sha256).hexdigest()))' "$1" "$2"
}
BODY='{"id":"replay-1","type":"x","message":"old"}'
OLD=$(( $(date +%s) - 1000 ))
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Eventd-Signature: $(sign $OLD "$BODY")" --data-binary "$BODY" "http://127.0.0.1:$P1/")
assert_eq "$CODE" 401 "stale timestamp refused"
NOW=$(date +%s)
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Eventd-Signature: $(sign $NOW "$BODY")" --data-binary "$BODY" "http://127.0.0.1:$P1/")
assert_eq "$CODE" 200 "fresh timestamp accepted"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Eventd-Signature: $(sign $NOW "$BODY")" --data-binary "${BODY/old/new}" "http://127.0.0.1:$P1/")
assert_eq "$CODE" 401 "tampered body refused"

evd_step "secrets are not shown"
evd_req GET /v1/outputs/hook1
assert_not_contains "$EVD_BODY" "s3cret" "secret hidden"

evd_step "bad specs are refused with the member named"
evd_post_json /v1/outputs '{"name":"bad1","type":"webhook","url":"ftp://x/"}'
assert_status 400
assert_contains "$EVD_BODY" "url" "error names url"
evd_post_json /v1/outputs '{"name":"bad2","type":"webhook","url":"http://x/","secrte":"a"}'
assert_status 400
assert_contains "$EVD_BODY" "secrte" "error names the unknown member"

evd_stop
evd_pass
