#!/usr/bin/env bash
# libeventd's forward:// transport (Fluentd Forward Protocol v1 with acks) against eventd's
# forward input: delivery, eventd down then up through a spool (all stored once, in order),
# exact event times, severity and labels carried, and a resent batch stored once.
source "$(dirname "$0")/lib.sh"

EMIT=$EVD_BUILD_DIR/evd-client-emit
[[ -x $EMIT ]] || evd_fail "$EMIT not built"
unset EVENTD_SPOOL EVENTD_TOKEN EVENTD_SITE EVENTD_CLUSTER EVENTD_STREAM EVENTD_TENANT
CHECK=$EVD_SOURCE_DIR/tests/integration/test_client_check.py

evd_step "delivery over forward://"
evd_start --grpc off --forward 127.0.0.1:0
FWD=$(evd_input_addr forward)
out=$(EVENTD_URL=forward://$FWD "$EMIT" -n 3000 -l run=fw -t fw.tick -f 10000 -c 5000)
assert_contains "$out" '"delivered":3000' "forward delivery"
assert_contains "$out" "undelivered=0" "forward close"
python3 "$CHECK" "$EVD_URL" fw exact 3000 || evd_fail "forward run"
evd_req GET "/v1/events?label=run:fw&limit=1&order=asc"
assert_contains "$EVD_BODY" '"type":"fw.tick"' "type carried"
assert_contains "$EVD_BODY" '"stream":"default"' "default stream (not the forward tag)"

evd_step "eventd down, then up: the spool is replayed over forward, once each"
FPORT=${FWD##*:}
HPORT=$EVD_PORT
evd_stop
SPOOL=$EVD_TMP/spool
out=$(EVENTD_URL=forward://127.0.0.1:$FPORT EVENTD_SPOOL=$SPOOL "$EMIT" -n 4000 -l run=fwspool -f 5000 -c 200)
assert_contains "$out" '"spooled":4000' "spooled while down"
evd_start --grpc off --http 127.0.0.1:$HPORT --forward 127.0.0.1:$FPORT
out=$(EVENTD_URL=forward://127.0.0.1:$FPORT EVENTD_SPOOL=$SPOOL "$EMIT" -n 0 -c 20000)
assert_contains "$out" "undelivered=0" "spool drained over forward"
python3 "$CHECK" "$EVD_URL" fwspool exact 4000 || evd_fail "forward spool replay"

evd_step "the same events sent over HTTP and forward are stored once (same ids)"
out=$(EVENTD_URL=forward://127.0.0.1:$FPORT EVENTD_SPOOL=$EVD_TMP/spool2 "$EMIT" -n 500 -l run=fwdup -f 5000 -c 5000)
assert_contains "$out" "undelivered=0" "first delivery"
evd_req GET "/v1/events?label=run:fwdup&limit=1&order=asc"
id=$(evd_json 'd["events"][0]["id"]')
body=$(evd_json 'json.dumps({k: v for k, v in d["events"][0].items() if k not in ("observed_time", "key", "severity_number", "resource")})')
evd_post_json /v1/events "$body"
assert_status 200 "resend over HTTP"
assert_contains "$EVD_BODY" '"duplicates":1' "resend stored once"
evd_req GET "/v1/events/count?label=run:fwdup"
assert_eq "$(evd_json 'd["count"]')" 500 "events after the resend"
evd_pass
