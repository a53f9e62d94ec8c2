#!/usr/bin/env bash
# libeventd against a real eventd: delivery end to end, server down then up (with and without
# a spool: everything delivered once, in order), a close with the server down returns within
# its timeout, and the daemon stores a resent batch once (client ids).
source "$(dirname "$0")/lib.sh"

EMIT=$EVD_BUILD_DIR/evd-client-emit
[[ -x $EMIT ]] || evd_fail "$EMIT not built"
unset EVENTD_SPOOL EVENTD_TOKEN EVENTD_SITE EVENTD_CLUSTER EVENTD_STREAM EVENTD_TENANT

# The events labelled run=$1 are data.seq 0..$2-1, each once, acknowledged in order.
check_run() {
  python3 "$EVD_SOURCE_DIR/tests/integration/test_client_check.py" "$EVD_URL" "$1" exact "$2" ||
    evd_fail "run $1: delivery check failed"
}

evd_step "delivery with the server up"
evd_start --grpc off
PORT=$EVD_PORT
out=$(EVENTD_URL=$EVD_URL "$EMIT" -n 2000 -l run=up -f 5000 -c 5000)
assert_contains "$out" "flushed" "flush with the server up"
assert_contains "$out" "undelivered=0" "close"
assert_contains "$out" '"delivered":2000' "stats"
check_run up 2000

evd_step "a resent event is stored once (same id)"
out=$(EVENTD_URL=$EVD_URL "$EMIT" -n 0 -c 1000)
evd_post_ndjson /v1/events '{"id":"client-id-1","type":"x"}'
evd_post_ndjson /v1/events '{"id":"client-id-1","type":"x"}'
assert_contains "$EVD_BODY" '"duplicates":1' "resend"

evd_step "server down, then up: memory only"
evd_stop
EVENTD_URL=http://127.0.0.1:$PORT EVENTD_RETRY_MAX_MS=300 \
  "$EMIT" -n 3000 -l run=mem -c 30000 >"$EVD_TMP/mem.out" 2>&1 &
CLIENT=$!
evd_bg_pid $CLIENT
sleep 1.5
evd_start --grpc off --http 127.0.0.1:$PORT
assert_eq "$EVD_PORT" "$PORT" "restart on the same port"
wait $CLIENT || evd_fail "client exited with $?: $(cat "$EVD_TMP/mem.out")"
out=$(cat "$EVD_TMP/mem.out")
assert_contains "$out" "undelivered=0" "memory-only client after the server came back"
check_run mem 3000

evd_step "server down, then up: with a spool, across a client restart"
evd_stop
SPOOL=$EVD_TMP/spool
out=$(EVENTD_URL=http://127.0.0.1:$PORT EVENTD_SPOOL=$SPOOL "$EMIT" -n 5000 -l run=spool -f 5000 -c 300)
assert_contains "$out" "flushed" "flush with the server down and a spool (events durable)"
assert_contains "$out" '"spooled":5000' "everything spooled"
assert_contains "$out" "undelivered=5000" "close reports what stays in the spool"
ls "$SPOOL"/*.seg >/dev/null || evd_fail "no spool segment"
evd_start --grpc off --http 127.0.0.1:$PORT
# a second process on the same spool replays it, then adds its own events after it
out=$(EVENTD_URL=$EVD_URL EVENTD_SPOOL=$SPOOL "$EMIT" -n 0 -c 10000)
assert_contains "$out" '"recovered":5000' "replayed from the spool"
assert_contains "$out" "undelivered=0" "spool drained"
check_run spool 5000

evd_step "close with the server down returns within its timeout"
evd_stop
start=$(date +%s%N)
out=$(EVENTD_URL=http://127.0.0.1:$PORT "$EMIT" -n 500 -l run=down -c 700)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_contains "$out" "undelivered=500" "close reports the events it could not deliver"
(( ms < 3000 )) || evd_fail "close with timeout 700 ms took a process $ms ms"
close_ms=$(sed -n 's/.*close_ms=\([0-9]*\).*/\1/p' <<<"$out")
(( close_ms >= 650 && close_ms < 1500 )) || evd_fail "close took $close_ms ms for a 700 ms timeout"

evd_pass
