#!/usr/bin/env bash
# libeventd and eventd's refusals: events eventd refuses (400, here over limits.event_max_bytes)
# are dropped and counted as rejected while the rest of their batch is delivered; a batch over
# limits.body_max_bytes (413) is split into single events. Nothing valid is lost.
source "$(dirname "$0")/lib.sh"

EMIT=$EVD_BUILD_DIR/evd-client-emit
[[ -x $EMIT ]] || evd_fail "$EMIT not built"
unset EVENTD_SPOOL EVENTD_TOKEN EVENTD_SITE EVENTD_CLUSTER EVENTD_STREAM EVENTD_TENANT
stat_of() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$2"; }

evd_start --grpc off --set limits.event_max_bytes=2048 --set limits.body_max_bytes=65536

evd_step "400: the named events are rejected, the rest of each batch is stored"
out=$(EVENTD_URL=$EVD_URL EVENTD_BATCH_MAX_EVENTS=100 "$EMIT" -n 600 -b 100:3000 -l run=rej -f 20000 -c 5000)
assert_eq "$(stat_of rejected "$out")" 6 "rejected (every 100th event is over 2048 bytes)"
assert_eq "$(stat_of delivered "$out")" 594 "delivered"
assert_contains "$out" "undelivered=0" "close"
assert_contains "$out" "event_max_bytes" "last_error names eventd's reason"
evd_req GET "/v1/events/count?label=run:rej"
assert_eq "$(evd_json 'd["count"]')" 594 "stored"

evd_step "413: a request over body_max_bytes is sent event by event"
out=$(EVENTD_URL=$EVD_URL EVENTD_BATCH_MAX_EVENTS=1000 "$EMIT" -n 300 -l run=big -f 60000 -c 5000)
assert_eq "$(stat_of delivered "$out")" 300 "delivered one by one"
assert_eq "$(stat_of rejected "$out")" 0 "nothing rejected"
evd_req GET "/v1/events/count?label=run:big"
assert_eq "$(evd_json 'd["count"]')" 300 "stored"
evd_pass
