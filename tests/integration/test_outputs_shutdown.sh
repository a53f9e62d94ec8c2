#!/usr/bin/env bash
# SIGTERM with outputs: workers stop promptly, a worker blocked in its destination (a webhook
# receiver that never answers) does not hold the daemon beyond its bound, cursors are
# flushed (nothing confirmed is sent again after the restart; what was not confirmed is).
source "$(dirname "$0")/lib.sh"

OUT=$EVD_TMP/out
mkdir -p "$OUT"
# A receiver that accepts connections and never answers.
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' >"$EVD_TMP/hole.port" &
evd_bg_pid $!
for _ in $(seq 1 50); do [[ -s $EVD_TMP/hole.port ]] && break; sleep 0.1; done
HOLE=$(cat "$EVD_TMP/hole.port")

evd_start --grpc off
evd_post_json /v1/outputs "{\"name\":\"f\",\"type\":\"file\",\"path\":\"$OUT/f.jsonl\"}"
assert_status 201
evd_post_json /v1/outputs "{\"name\":\"hole\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$HOLE/in\",\"timeout_ms\":60000}"
assert_status 201 "webhook output ($EVD_BODY)"
evd_post_json /v1/events '[{"stream":"s","type":"a"},{"stream":"s","type":"b"}]'
assert_status 200
for _ in $(seq 1 50); do [[ -f $OUT/f.jsonl && $(wc -l <"$OUT/f.jsonl") -ge 2 ]] && break; sleep 0.1; done
assert_eq "$(wc -l <"$OUT/f.jsonl")" 2 "file output"
for _ in $(seq 1 50); do
  evd_req GET /v1/outputs/hole
  [[ $(evd_json 'd["status"]["in_flight"]') -ge 1 ]] && break
  sleep 0.1
done
assert_eq "$(evd_json 'd["status"]["in_flight"] >= 1')" "true" "the webhook is blocked"

evd_step "a test delivery to the blocked receiver does not hold the event loop"
curl -sS -o "$EVD_TMP/test.out" -X POST "$EVD_URL/v1/outputs/hole/test" &
TEST_CURL=$!
evd_bg_pid "$TEST_CURL"
sleep 0.3
t0=$(date +%s%N)
evd_req GET /healthz
assert_status 200 "healthz during a blocked test delivery"
t1=$(date +%s%N)
[[ $(((t1 - t0) / 1000000)) -lt 1000 ]] || evd_fail "healthz took $(((t1 - t0) / 1000000)) ms"
evd_post_json /v1/events '[{"stream":"s","type":"c"}]'
assert_status 200 "ingest during a blocked test delivery"

evd_step "SIGTERM returns within the stop bound (a worker and a test delivery blocked)"
t0=$(date +%s%N)
evd_stop
t1=$(date +%s%N)
assert_eq "$EVD_EXIT" 0
ms=$(((t1 - t0) / 1000000))
[[ $ms -lt 9000 ]] || evd_fail "stop took $ms ms"
echo "stopped in $ms ms"

evd_step "after restart: the file output sends nothing again, the webhook's events are still pending"
evd_start --grpc off
sleep 0.5
assert_eq "$(wc -l <"$OUT/f.jsonl")" 3 "cursor of f was flushed at stop"
evd_req GET /v1/outputs/hole
assert_eq "$(evd_json 'd["status"]["cursor"]')" 0 "nothing was confirmed by the hole"
evd_req DELETE /v1/outputs/hole
assert_status 200
evd_stop
assert_eq "$EVD_EXIT" 0
evd_pass
