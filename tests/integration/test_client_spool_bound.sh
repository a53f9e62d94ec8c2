#!/usr/bin/env bash
# libeventd's spool bound: with eventd down and spool_max_bytes reached, each overflow policy
# is applied and counted — drop_oldest keeps the newest events, drop_newest the oldest, block
# makes evd_emit wait (bounded) then drop — and what was kept is delivered once eventd is up.
source "$(dirname "$0")/lib.sh"

EMIT=$EVD_BUILD_DIR/evd-client-emit
[[ -x $EMIT ]] || evd_fail "$EMIT not built"
unset EVENTD_SPOOL EVENTD_TOKEN EVENTD_SITE EVENTD_CLUSTER EVENTD_STREAM EVENTD_TENANT
CHECK=$EVD_SOURCE_DIR/tests/integration/test_client_check.py
stat_of() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$2"; }

evd_start --grpc off
PORT=$EVD_PORT
evd_stop
N=5000
BOUND=262144

for policy in drop_oldest drop_newest block; do
  evd_step "eventd down, spool bound $BOUND bytes, policy $policy"
  SPOOL=$EVD_TMP/spool-$policy
  # block: a small memory queue, so that evd_emit meets the full spool through it; the drop
  # policies: a memory queue that never fills, so that only the spool bound applies
  qmax=65536
  [[ $policy == block ]] && qmax=200
  out=$(EVENTD_URL=http://127.0.0.1:$PORT EVENTD_SPOOL=$SPOOL EVENTD_SPOOL_MAX_BYTES=$BOUND \
        EVENTD_OVERFLOW=$policy EVENTD_QUEUE_MAX_EVENTS=$qmax EVENTD_BATCH_MAX_EVENTS=100 \
        EVENTD_BLOCK_TIMEOUT_MS=2 EVENTD_SPOOL_FSYNC=0 \
        "$EMIT" -n $N -l run=$policy -f 3000 -c 200)
  echo "$out" | grep -v '^last_error'
  spool_bytes=$(stat_of spool_bytes "$out")
  (( spool_bytes <= BOUND )) || evd_fail "$policy: spool holds $spool_bytes bytes > bound $BOUND"
  undelivered=$(sed -n 's/.*undelivered=\([0-9]*\).*/\1/p' <<<"$out")
  case $policy in
    drop_oldest)
      dropped=$(stat_of dropped_oldest "$out")
      (( dropped > 0 )) || evd_fail "drop_oldest: nothing counted as dropped" ;;
    drop_newest)
      dropped=$(stat_of dropped_newest "$out")
      (( dropped > 0 )) || evd_fail "drop_newest: nothing counted as dropped" ;;
    block)
      dropped=$(stat_of dropped_block_timeout "$out")
      blocked=$(stat_of blocked "$out")
      (( dropped > 0 && blocked >= dropped )) || evd_fail "block: blocked=$blocked dropped=$dropped" ;;
  esac
  evd_start --grpc off --http 127.0.0.1:$PORT
  out2=$(EVENTD_URL=$EVD_URL EVENTD_SPOOL=$SPOOL "$EMIT" -n 0 -c 20000)
  assert_contains "$out2" "undelivered=0" "$policy: spool drained"
  if [[ $policy == drop_oldest ]]; then
    k=$(python3 "$CHECK" "$EVD_URL" $policy suffix $N) || evd_fail "$policy: stored events"
  elif [[ $policy == drop_newest ]]; then
    k=$(python3 "$CHECK" "$EVD_URL" $policy prefix 1) || evd_fail "$policy: stored events"
  else # block: an evd_emit that waited longer than its 2 ms drops that one event (a gap)
    k=$(python3 "$CHECK" "$EVD_URL" $policy subset $N) || evd_fail "$policy: stored events"
  fi
  echo "$policy: $k stored, $dropped dropped, $undelivered undelivered at close"
  # every event is accounted for: stored, counted as dropped, or reported lost by close
  lost=$(( undelivered - k ))
  assert_eq $(( k + dropped + lost )) $N "$policy: stored + dropped + lost at close"
  if [[ $policy != block ]]; then assert_eq "$lost" 0 "$policy: nothing lost at close"; fi
  evd_stop
done

evd_pass
