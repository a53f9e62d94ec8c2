#!/usr/bin/env bash
# libeventd survives kill -9 of the client process: the spool's unacknowledged events —
# including the batch that was in flight — are resent by the next process on the same spool,
# and eventd stores each once (client ids). This is the loss hole of the parent library
# (rows marked in-flight are never resent) checked closed.
source "$(dirname "$0")/lib.sh"

EMIT=$EVD_BUILD_DIR/evd-client-emit
[[ -x $EMIT ]] || evd_fail "$EMIT not built"
unset EVENTD_SPOOL EVENTD_TOKEN EVENTD_SITE EVENTD_CLUSTER EVENTD_STREAM EVENTD_TENANT
CHECK=$EVD_SOURCE_DIR/tests/integration/test_client_check.py
# (curl + sed, no interpreter start-up: the kill below must follow the first count closely)
count_run() { curl -sS "$EVD_URL/v1/events/count?label=run:$1" | sed -n 's/.*"count":\([0-9]*\).*/\1/p'; }

evd_start --grpc off
PORT=$EVD_PORT
evd_stop

evd_step "kill -9 mid-delivery of a spool, then a new process on the same spool"
# Enough events in small batches that delivering them takes far longer than the gap between
# seeing the first ones stored and the kill (an optimized build delivers ~100k events/s).
N=100000
SPOOL=$EVD_TMP/spool1
# Spool everything while eventd is down (flush returns when it is durable), then stay alive
# delivering it in batches of 50 once eventd is back.
EVENTD_URL=http://127.0.0.1:$PORT EVENTD_SPOOL=$SPOOL EVENTD_BATCH_MAX_EVENTS=50 \
  EVENTD_RETRY_MAX_MS=200 EVENTD_SPOOL_FSYNC=0 \
  "$EMIT" -n $N -l run=kill1 -f 60000 -s 120000 >"$EVD_TMP/c1.out" 2>&1 &
CLIENT=$!
evd_bg_pid $CLIENT
for _ in $(seq 1 1200); do grep -q flushed "$EVD_TMP/c1.out" && break; sleep 0.05; done
grep -q flushed "$EVD_TMP/c1.out" || evd_fail "client did not spool: $(cat "$EVD_TMP/c1.out")"
evd_start --grpc off --http 127.0.0.1:$PORT
killed_at=""
for _ in $(seq 1 2000); do
  n=$(count_run kill1)
  if (( n > 0 )); then killed_at=$n; kill -9 $CLIENT; break; fi
  sleep 0.005
done
[[ -n $killed_at ]] || evd_fail "nothing was delivered before the kill"
wait $CLIENT 2>/dev/null
after_kill=$(count_run kill1)
echo "killed with $killed_at stored (then $after_kill)"
(( after_kill < N )) || evd_fail "the kill came too late to test anything ($after_kill of $N stored)"
out=$(EVENTD_URL=$EVD_URL EVENTD_SPOOL=$SPOOL "$EMIT" -n 0 -c 30000)
assert_contains "$out" "undelivered=0" "second process drains the spool"
recovered=$(sed -n 's/.*"recovered":\([0-9]*\).*/\1/p' <<<"$out")
(( recovered >= N - after_kill )) || evd_fail "recovered $recovered, but $((N - after_kill)) were not stored"
python3 "$CHECK" "$EVD_URL" kill1 exact $N || evd_fail "after kill -9 and restart"

evd_step "kill -9 while emitting in write-ahead mode (spool_mode always)"
SPOOL=$EVD_TMP/spool2
EVENTD_URL=$EVD_URL EVENTD_SPOOL=$SPOOL EVENTD_SPOOL_MODE=always EVENTD_BATCH_MAX_EVENTS=500 \
  EVENTD_SPOOL_FSYNC=0 "$EMIT" -n 400000 -r 40000 -k 2000 -l run=kill2 >"$EVD_TMP/c2.out" 2>&1 &
CLIENT=$!
evd_bg_pid $CLIENT
for _ in $(seq 1 400); do
  grep -q 'checkpoint 10000' "$EVD_TMP/c2.out" && break
  sleep 0.05
done
kill -9 $CLIENT
wait $CLIENT 2>/dev/null
last=$(grep -o 'checkpoint [0-9]*' "$EVD_TMP/c2.out" | tail -1 | cut -d' ' -f2)
[[ -n $last ]] || evd_fail "no checkpoint before the kill: $(cat "$EVD_TMP/c2.out")"
out=$(EVENTD_URL=$EVD_URL EVENTD_SPOOL=$SPOOL "$EMIT" -n 0 -c 30000)
assert_contains "$out" "undelivered=0" "spool drained after the kill"
k=$(python3 "$CHECK" "$EVD_URL" kill2 prefix "$last") || evd_fail "after kill -9 in write-ahead mode"
echo "checkpoint $last before the kill; $k events stored, seq 0..$((k - 1)) once each"

evd_pass
