#!/usr/bin/env bash
# Hostile input (docs/security.md, "Hostile input"): oversized and malformed requests,
# slow clients (slowloris: headers one byte at a time; slow bodies), many connections,
# wrong content types, invalid UTF-8, deep nesting, huge headers, binary garbage to every
# listener (HTTP, gRPC, forward, syslog TCP and UDP, lines TCP and UDP), request rate limits
# per peer and per token. After each attack the daemon still answers /healthz and every
# event acknowledged before is still there (count and contents).
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
H=$EVD_SOURCE_DIR/tests/integration/hostile/hostile.py
N=25

hostile() { "$PY" "$H" "$@" >"$EVD_TMP/hostile.out" 2>"$EVD_TMP/hostile.err" || evd_fail "hostile.py $* failed: $(tail -5 "$EVD_TMP/hostile.err")"; }

# The daemon still serves and the N acknowledged events are intact.
check_intact() {
  evd_req GET /healthz
  assert_status 200 "healthz after $1"
  evd_req GET '/v1/events?type=hostile.ok&limit=1000'
  assert_status 200 "query after $1"
  assert_eq "$(evd_json 'len(d["events"])')" "$N" "acknowledged events after $1"
  assert_eq "$(evd_json 'sorted(e["data"]["n"] for e in d["events"]) == list(range('"$N"'))')" true \
    "their contents after $1"
}

evd_step "eventd with every listener, short slow-client timeouts and a connection bound"
evd_start --lines 127.0.0.1:0 --forward 127.0.0.1:0 --syslog 127.0.0.1:0 \
  --set http.header_timeout=2s --set http.body_timeout=4s --set http.max_connections=40 \
  --set limits.body_max_bytes=1MiB --set http.max_header_bytes=16KiB --set limits.max_depth=32 \
  --set grpc.max_connections=10 --set grpc.handshake_timeout=2s
HTTP=${EVD_URL#http://}
FWD=$(evd_input_addr forward)
SYSLOG=$(evd_input_addr syslog)
LINES=$(evd_input_addr lines)

evd_step "acknowledge $N events"
body=""
for i in $(seq 0 $((N - 1))); do body+="{\"type\":\"hostile.ok\",\"stream\":\"h\",\"data\":{\"n\":$i}}"$'\n'; done
evd_post_ndjson /v1/events "$body"
assert_status 200 "the good batch"
check_intact "the good batch"

evd_step "oversized body (2 MiB > limits.body_max_bytes)"
head -c 2097152 /dev/zero | tr '\0' 'a' >"$EVD_TMP/big"
evd_req POST /v1/events -H 'Content-Type: application/json' --data-binary @"$EVD_TMP/big"
assert_status 413 "oversized body"
check_intact "an oversized body"

evd_step "a Content-Length that promises more than is sent, then close"
printf 'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500000\r\n\r\n{"type":"hostile.bad"' >"$EVD_TMP/short"
"$PY" - "$HTTP" "$EVD_TMP/short" <<'PYEOF'
import socket, sys
h, p = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((h, int(p)))
s.sendall(open(sys.argv[2], "rb").read())
s.close()
PYEOF
check_intact "a truncated body"

evd_step "truncated and malformed JSON and NDJSON"
for b in '{"type":"hostile.bad","data":{' '[{"type":"hostile.bad"},' '{"type":' '}' 'null' '"x"' \
  '{"type":"hostile.bad","data":{"a":1,"a":2,"a":' '{"type":"hostile.bad","time":"not-a-time"}'; do
  evd_post_json /v1/events "$b"
  assert_status 400 "malformed JSON '$b'"
done
evd_post_ndjson /v1/events $'{"type":"hostile.bad"}\n{"type":\n{"type":"hostile.bad"}\n'
assert_status 400 "NDJSON with a broken line"
evd_post_ndjson /v1/events $'\n\n\n' # empty lines are skipped (docs/api.md): 0 events
evd_req GET '/v1/events/count?type=hostile.bad'
assert_eq "$(evd_json 'd["count"]')" 0 "nothing of a refused batch is stored"
check_intact "malformed JSON"

evd_step "deep nesting (100000 levels; limits.max_depth 32)"
"$PY" -c 'import sys; sys.stdout.write("{\"type\":\"hostile.bad\",\"data\":" + "[" * 100000 + "]" * 100000 + "}")' >"$EVD_TMP/deep"
evd_req POST /v1/events -H 'Content-Type: application/json' --data-binary @"$EVD_TMP/deep"
assert_status 400 "deep nesting"
assert_contains "$EVD_BODY" "nesting deeper than 32" "the error names the depth limit"
check_intact "deep nesting"

evd_step "huge headers (one of 100 KB; 2000 small ones)"
big=$(head -c 100000 /dev/zero | tr '\0' 'h')
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$EVD_URL/healthz" 2>/dev/null) || true
[[ $code != 200 ]] || evd_fail "a 100 KB header was accepted"
args=()
for i in $(seq 1 2000); do args+=(-H "X-H$i: vvvvvvvvvvvvvvvvvvvv"); done
code=$(curl -sS -o /dev/null -w '%{http_code}' "${args[@]}" "$EVD_URL/healthz" 2>/dev/null) || true
[[ $code != 200 ]] || evd_fail "2000 headers (over http.max_header_bytes) were accepted"
check_intact "huge headers"

evd_step "wrong content types"
evd_req POST /v1/events -H 'Content-Type: text/plain' --data-binary '{"type":"hostile.bad"}'
assert_status 415 "text/plain"
evd_req POST /v1/events -H 'Content-Type: application/octet-stream' --data-binary @"$EVD_TMP/short"
assert_status 415 "application/octet-stream"
evd_req POST /v1/events -H 'Content-Type: application/json; charset=latin1' --data-binary '{"type":"hostile.bad"}'
assert_ne "$EVD_STATUS" 200 "a charset other than UTF-8"
check_intact "wrong content types"

evd_step "invalid UTF-8 (overlong, surrogate, truncated, bare continuation bytes)"
for bad in '\xc0\xaf' '\xed\xa0\x80' '\xe2\x82' '\x80\x80' '\xff'; do
  printf '{"type":"hostile.bad","message":"a%bb"}' "$bad" >"$EVD_TMP/utf8"
  evd_req POST /v1/events -H 'Content-Type: application/json' --data-binary @"$EVD_TMP/utf8"
  assert_status 400 "invalid UTF-8 $bad"
done
check_intact "invalid UTF-8"

evd_step "binary garbage to every listener"
hostile garbage "$HTTP" 65536
hostile garbage "$EVD_GRPC_ADDR" 65536
printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' >"$EVD_TMP/h2"
head -c 20000 /dev/urandom >>"$EVD_TMP/h2"
hostile raw "$EVD_GRPC_ADDR" "$EVD_TMP/h2"
hostile garbage "$FWD" 65536
hostile garbage "$SYSLOG" 65536
hostile garbage "$SYSLOG" 12000 udp
hostile garbage "$LINES" 65536
hostile garbage "$LINES" 12000 udp
check_intact "binary garbage"

evd_step "slowloris: a request head one byte every 0.5 s is cut within http.header_timeout (2 s)"
out=$("$PY" "$H" slowloris "$HTTP" 0.5 15)
assert_eq "$(evd_json 'd["closed"]' "$out")" true "the slowloris connection is closed: $out"
assert_eq "$(evd_json 'd["after"] < 6' "$out")" true "within the header timeout (+ margin; 15 s without it): $out"

evd_step "slow body: the body one byte every 0.5 s is cut within http.body_timeout (4 s)"
out=$("$PY" "$H" slowbody "$HTTP" 0.5 20)
assert_eq "$(evd_json 'd["closed"]' "$out")" true "the slow-body connection is closed: $out"
assert_eq "$(evd_json 'd["after"] < 9' "$out")" true "within the body timeout (+ margin; 20 s without it): $out"
evd_req GET /metrics
assert_contains "$EVD_BODY" 'eventd_http_slow_requests_total{timeout="header"} ' "slow-request metric"
check_intact "slow clients"

evd_step "many connections: 120 idle ones against http.max_connections 40"
out=$("$PY" "$H" conns "$HTTP" 120 2)
assert_eq "$(evd_json 'd["opened"]' "$out")" 120 "connections opened: $out"
assert_eq "$(evd_json 'd["closed_by_server"] >= 70' "$out")" true "those over the bound are closed: $out"
evd_wait_for curl -sSf -o /dev/null "$EVD_URL/healthz" || evd_fail "healthz after the connection flood"
evd_req GET /metrics
refused=$(grep -o '^eventd_http_connections_refused_total [0-9]*' <<<"$EVD_BODY" | awk '{print $2}')
[[ ${refused:-0} -ge 70 ]] || evd_fail "eventd_http_connections_refused_total is '${refused:-}'"
check_intact "a connection flood"

evd_step "a request on a connection past http.max_connections gets a 503 JSON answer, not a bare close"
"$PY" "$H" conns "$HTTP" 45 4 >/dev/null &
holder=$!
evd_bg_pid "$holder" 2>/dev/null || true
sleep 1
code=$(curl -sS -o "$EVD_TMP/over.json" -D "$EVD_TMP/over.hdr" -w '%{http_code}' "$EVD_URL/v1/events?limit=1" || true)
assert_eq "$code" 503 "status past the connection bound"
assert_contains "$(cat "$EVD_TMP/over.json")" 'http.max_connections (40)' "the answer names the setting"
grep -qi '^Retry-After: 1' "$EVD_TMP/over.hdr" || evd_fail "no Retry-After on the 503: $(cat "$EVD_TMP/over.hdr")"
wait "$holder" 2>/dev/null
evd_wait_for curl -sSf -o /dev/null "$EVD_URL/healthz" || evd_fail "healthz after the bound was released"

evd_step "a long-lived response (live tail) stays tracked as an open connection"
curl -sS -N -m 4 "$EVD_URL/v1/tail" >/dev/null 2>&1 &
tail_pid=$!
evd_bg_pid "$tail_pid" 2>/dev/null || true
sleep 1.5 # several sweeps while the tail is being written
evd_req GET /metrics
open_now=$(grep -o '^eventd_http_connections_open [0-9]*' <<<"$EVD_BODY" | awk '{print $2}')
[[ ${open_now:-0} -ge 2 ]] || evd_fail "eventd_http_connections_open is '${open_now:-}' with a tail open (expected >= 2)"
kill "$tail_pid" 2>/dev/null
wait "$tail_pid" 2>/dev/null
check_intact "a live tail"

evd_step "gRPC slowloris: the HTTP/2 preface one byte every 0.5 s is cut within grpc.handshake_timeout (2 s)"
out=$("$PY" "$H" slowh2 "$EVD_GRPC_ADDR" 0.5 15)
assert_eq "$(evd_json 'd["closed"]' "$out")" true "the slow gRPC connection is closed: $out"
assert_eq "$(evd_json 'd["after"] < 6' "$out")" true "within the handshake timeout (+ margin; 15 s without it): $out"
evd_wait_for_log 'no HTTP/2 hello within grpc.handshake_timeout' || evd_fail "no gRPC handshake-timeout log line"

evd_step "many gRPC connections: 40 idle ones against grpc.max_connections 10"
out=$("$PY" "$H" conns "$EVD_GRPC_ADDR" 40 1)
assert_eq "$(evd_json 'd["closed_by_server"] >= 30' "$out")" true "gRPC connections over the bound are closed: $out"
evd_wait_for_log 'grpc: grpc.max_connections \(10\) open' || evd_fail "no gRPC connection-bound log line"
check_intact "a gRPC connection flood"
evd_stop
assert_eq "$EVD_EXIT" 0 "exit status"

evd_step "limits.rate_per_peer: 429 with Retry-After past the rate; /healthz is never limited"
EVD_DATA=$EVD_TMP/data-rate evd_start --grpc off --set limits.rate_per_peer=2
urls=()
for i in $(seq 1 20); do urls+=("$EVD_URL/v1/events/count"); done
codes=$(curl -sS -o /dev/null -w '%{http_code} ' "${urls[@]}")
assert_contains "$codes" "200" "requests within the burst: $codes"
assert_contains "$codes" "429" "requests past the rate: $codes"
hdr=$(curl -sS -D - -o /dev/null "$EVD_URL/v1/events/count")
assert_contains "$hdr" "429" "still limited"
assert_contains "$hdr" "Retry-After: " "Retry-After header"
for i in $(seq 1 10); do
  evd_req GET /healthz
  assert_status 200 "healthz is not rate limited"
done
sleep 1.3
evd_req GET /v1/events/count
assert_status 200 "allowed again after a second"
evd_stop

evd_step "limits.rate_per_token: one token is limited, another is not"
EVD_DATA=$EVD_TMP/data-tok evd_start --grpc off --auth on --set limits.rate_per_token=2
admin=$(cat "$EVD_TMP/data-tok/admin.token")
codes=$(curl -sS -o /dev/null -w '%{http_code} ' -H "Authorization: Bearer $admin" "${urls[@]/#*/$EVD_URL/v1/events/count}")
assert_contains "$codes" "429" "the admin token past its rate: $codes"
# eventctl retries a 429 after its Retry-After (like a 503), so it gets through.
out=$(EVENTD_TOKEN=$admin "$EVD_EVENTCTL" --url "$EVD_URL" count 2>"$EVD_TMP/ctl.err") ||
  evd_fail "eventctl count with a rate-limited token: $out $(cat "$EVD_TMP/ctl.err")"
assert_contains "$(cat "$EVD_TMP/ctl.err")" "answered 429 (rate limited); retrying" "eventctl retried the 429"
sleep 1.5 # the admin token's bucket refills
other=$(EVENTD_TOKEN=$admin "$EVD_EVENTCTL" --url "$EVD_URL" tokens create --role read --tenant acme --name r 2>"$EVD_TMP/ctl.err")
[[ $other =~ ^evd_ ]] || evd_fail "cannot create a second token: $other $(cat "$EVD_TMP/ctl.err")"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $other" "$EVD_URL/v1/events/count")
assert_eq "$code" 200 "another token is not limited"
evd_stop

evd_step "limits.rate_per_token on gRPC: calls past the rate get RESOURCE_EXHAUSTED"
source "$(dirname "$0")/grpc/grpc_lib.sh"
evd_grpc_setup
EVD_DATA=$EVD_TMP/data-grpc evd_start --auth on --set limits.rate_per_token=2
admin=$(cat "$EVD_TMP/data-grpc/admin.token")
out=$(EVD_SOURCE_DIR=$EVD_SOURCE_DIR "$EVD_GRPC_PY" - "$EVD_GRPC_ADDR" "$admin" <<'PY'
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["EVD_SOURCE_DIR"], "tests/integration/grpc"))
import grpc
import evd_grpc
addr, token = sys.argv[1:3]
magma_pb2, magma_grpc, pb, pg, hpb, hg = evd_grpc.stubs()
stub = magma_grpc.EventServiceStub(evd_grpc.channel(addr))
codes = []
for i in range(12):
    try:
        stub.LogEvent(magma_pb2.Event(stream_name="s", event_type="g.rate", tag="t", value="{}"),
                      timeout=10, metadata=[("authorization", "Bearer " + token)])
        codes.append("OK")
    except grpc.RpcError as e:
        codes.append(e.code().name)
print(json.dumps(codes))
PY
) || evd_fail "the gRPC rate client failed: $out"
assert_contains "$out" '"OK"' "calls within the burst: $out"
assert_contains "$out" '"RESOURCE_EXHAUSTED"' "calls past the rate: $out"
evd_req GET /healthz
assert_status 200 "healthz after the gRPC burst"
evd_stop

evd_step "limits.rate_per_peer on gRPC: calls past the rate get RESOURCE_EXHAUSTED naming the setting"
EVD_DATA=$EVD_TMP/data-grpc-peer evd_start --set limits.rate_per_peer=2
out=$(EVD_SOURCE_DIR=$EVD_SOURCE_DIR "$EVD_GRPC_PY" - "$EVD_GRPC_ADDR" <<'PY'
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["EVD_SOURCE_DIR"], "tests/integration/grpc"))
import grpc
import evd_grpc
magma_pb2, magma_grpc, pb, pg, hpb, hg = evd_grpc.stubs()
stub = magma_grpc.EventServiceStub(evd_grpc.channel(sys.argv[1]))
codes, details = [], ""
for i in range(12):
    try:
        stub.LogEvent(magma_pb2.Event(stream_name="s", event_type="g.peer", tag="t", value="{}"), timeout=10)
        codes.append("OK")
    except grpc.RpcError as e:
        codes.append(e.code().name)
        details = e.details()
print(json.dumps({"codes": codes, "details": details}))
PY
) || evd_fail "the gRPC per-peer rate client failed: $out"
assert_contains "$out" '"OK"' "calls within the burst: $out"
assert_contains "$out" '"RESOURCE_EXHAUSTED"' "calls past the rate: $out"
assert_contains "$out" 'limits.rate_per_peer' "the status names the setting: $out"
ok=$(evd_json 'd["codes"].count("OK")' "$out")
sleep 1.5 # the count below comes from the same address: let its bucket refill
assert_eq "$(curl -sS "$EVD_URL/v1/events/count?type=g.peer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')" "$ok" "every call answered OK was stored, none of the refused ones"
evd_stop

evd_pass
