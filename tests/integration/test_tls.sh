#!/usr/bin/env bash
# TLS on the HTTP API (http.tls.cert / http.tls.key / http.tls.client_ca) and mTLS on gRPC
# (grpc.tls.client_ca): a private CA made at test time with the openssl CLI signs the
# server certificate (127.0.0.1, localhost) and two client certificates; a second CA signs
# a rogue client certificate. Real clients: curl (--cacert, --cert/--key), openssl s_client,
# eventctl, and python3-grpcio with client credentials.
#   - HTTPS: the listening line says https://; curl trusting the CA gets /healthz and can
#     ingest and query; a plain-HTTP request to the TLS port gets no answer.
#   - SIGHUP: a new certificate is served to new connections (s_client shows its CN); a
#     broken certificate file keeps the old one and the log says why.
#   - mTLS: without a client certificate, or with one from another CA, the handshake fails;
#     with one from the CA the request succeeds, and the CN is logged.
#   - gRPC mTLS: the same with a Python gRPC client.
#   - syslog and lines over TLS: mTLS (Python ssl senders) and SIGHUP reload.
#   - bad settings stop startup with a message naming the setting.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/grpc/grpc_lib.sh"

command -v openssl >/dev/null || evd_fail "the openssl CLI is missing (run scripts/setup.sh)"

evd_step "make a CA, a server certificate, client certificates and a rogue CA"
P=$EVD_TMP/pki
mkdir -p "$P"
mkca() { # NAME
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=$1" -keyout "$P/$1.key" -out "$P/$1.pem" >>"$P/openssl.out" 2>&1 ||
    evd_fail "openssl req ($1) failed: $(tail -5 "$P/openssl.out")"
}
mkcert() { # NAME CA CN [EXT]
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$3" \
    -keyout "$P/$1.key" -out "$P/$1.csr" >>"$P/openssl.out" 2>&1 &&
    openssl x509 -req -in "$P/$1.csr" -CA "$P/$2.pem" -CAkey "$P/$2.key" -CAcreateserial \
      -days 2 -out "$P/$1.pem" ${4:+-extfile <(printf '%s\n' "$4")} >>"$P/openssl.out" 2>&1 ||
    evd_fail "openssl x509 ($1) failed: $(tail -5 "$P/openssl.out")"
}
SAN='subjectAltName=DNS:localhost,IP:127.0.0.1'
mkca ca
mkca rogue-ca
mkcert server1 ca eventd-one "$SAN"
mkcert server2 ca eventd-two "$SAN"
mkcert client1 ca client-one "extendedKeyUsage=clientAuth"
mkcert rogue rogue-ca client-rogue "extendedKeyUsage=clientAuth"
# The files the daemon is configured with; the test swaps their contents.
cp "$P/server1.pem" "$EVD_TMP/cert.pem"
cp "$P/server1.key" "$EVD_TMP/key.pem"

# The CN a fresh TLS connection to ADDR is served.
served_cn() {
  openssl s_client -connect "$1" ${2:+-alpn "$2"} -CAfile "$P/ca.pem" </dev/null 2>/dev/null |
    tr -d '\0' | sed -n 's/^subject=.*CN *= *\([^,/]*\).*/\1/p' | head -1
}

evd_step "eventd with HTTPS: the listening line says https://"
evd_start --set http.tls.cert="$EVD_TMP/cert.pem" --set http.tls.key="$EVD_TMP/key.pem" --grpc off
assert_contains "$EVD_URL" "https://127.0.0.1:" "listening URL"
export CURL_CA_BUNDLE=$P/ca.pem

evd_step "curl trusting the CA: /healthz, ingest, query"
evd_req GET /healthz
assert_status 200 "healthz over HTTPS"
evd_post_json /v1/events '{"type":"tls.test","stream":"s","data":{"n":1}}'
assert_status 200 "ingest over HTTPS"
evd_req GET '/v1/events?type=tls.test'
assert_status 200 "query over HTTPS"
assert_eq "$(evd_json 'len(d["events"])')" 1 "the event is stored"

evd_step "a client that does not trust the certificate, and plain HTTP, get nothing"
if curl -sS --cacert "$P/rogue-ca.pem" -o /dev/null "$EVD_URL/healthz" 2>/dev/null; then
  evd_fail "curl trusting another CA accepted the server certificate"
fi
plain=${EVD_URL/https:/http:}
code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$plain/healthz" 2>/dev/null) || true
assert_eq "$code" "000" "plain HTTP against the TLS port gets no HTTP answer"
evd_req GET /healthz
assert_status 200 "still serving after the refused clients"

evd_step "eventctl over https with --cacert and with EVENTD_CACERT"
out=$(CURL_CA_BUNDLE= "$EVD_EVENTCTL" --url "$EVD_URL" --cacert "$P/ca.pem" query --type tls.test 2>&1) ||
  evd_fail "eventctl --cacert failed: $out"
assert_contains "$out" "tls.test" "eventctl query over https"
out=$(CURL_CA_BUNDLE= EVENTD_CACERT=$P/ca.pem "$EVD_EVENTCTL" --url "$EVD_URL" send --type tls.cli --stream s "hello over https" 2>&1) ||
  evd_fail "eventctl with EVENTD_CACERT failed: $out"
if out=$(CURL_CA_BUNDLE= "$EVD_EVENTCTL" --url "$EVD_URL" --cacert "$P/rogue-ca.pem" query --type tls.test 2>&1); then
  evd_fail "eventctl trusting another CA succeeded: $out"
fi

evd_step "SIGHUP: new connections get the new certificate"
addr=${EVD_URL#https://}
assert_eq "$(served_cn "$addr")" "eventd-one" "CN before the reload"
cp "$P/server2.pem" "$EVD_TMP/cert.pem"
cp "$P/server2.key" "$EVD_TMP/key.pem"
kill -HUP "$EVD_PID"
evd_wait_for_log 'SIGHUP: http.tls: certificate reloaded \(CN=eventd-two\)' ||
  evd_fail "no reload line in the log"
assert_eq "$(served_cn "$addr")" "eventd-two" "CN after the reload"
evd_req GET /healthz
assert_status 200 "curl after the reload"

evd_step "SIGHUP with a broken certificate keeps the old one and says why"
echo "not a certificate" >"$EVD_TMP/cert.pem"
kill -HUP "$EVD_PID"
evd_wait_for_log 'SIGHUP: http.tls: keeping the old certificate: http.tls.cert: cannot use' ||
  evd_fail "no refusal line in the log"
assert_eq "$(served_cn "$addr")" "eventd-two" "CN after the failed reload"
cp "$P/server1.pem" "$EVD_TMP/cert.pem" # a key that does not match the certificate
kill -HUP "$EVD_PID"
evd_wait_for_log 'keeping the old certificate: http.tls.key: .*(mismatch|does not match)' ||
  evd_fail "no mismatch line in the log"
assert_eq "$(served_cn "$addr")" "eventd-two" "CN after the mismatched reload"
evd_req GET /healthz
assert_status 200 "serving after the failed reloads"
evd_stop
assert_eq "$EVD_EXIT" 0 "exit status"
cp "$P/server1.pem" "$EVD_TMP/cert.pem"
cp "$P/server1.key" "$EVD_TMP/key.pem"

evd_step "mTLS on HTTP: a client certificate from the CA is required"
evd_start --set http.tls.cert="$EVD_TMP/cert.pem" --set http.tls.key="$EVD_TMP/key.pem" \
  --set http.tls.client_ca="$P/ca.pem" --grpc off
code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$EVD_URL/healthz" 2>/dev/null) || true
assert_eq "$code" "000" "no client certificate: refused"
code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' --cert "$P/rogue.pem" --key "$P/rogue.key" \
  "$EVD_URL/healthz" 2>/dev/null) || true
assert_eq "$code" "000" "a client certificate from another CA: refused"
evd_req GET /healthz --cert "$P/client1.pem" --key "$P/client1.key"
assert_status 200 "a client certificate from the CA: accepted"
evd_req POST /v1/events -H 'Content-Type: application/json' --data-binary '{"type":"mtls.test","data":{}}' \
  --cert "$P/client1.pem" --key "$P/client1.key"
assert_status 200 "ingest with a client certificate"
evd_wait_for_log 'tls: client certificate CN=client-one accepted' || evd_fail "the CN is not logged"
out=$(CURL_CA_BUNDLE= "$EVD_EVENTCTL" --url "$EVD_URL" --cacert "$P/ca.pem" --client-cert "$P/client1.pem" \
  --client-key "$P/client1.key" query --type mtls.test 2>&1) || evd_fail "eventctl with a client certificate failed: $out"
assert_contains "$out" "mtls.test" "eventctl --client-cert/--client-key"
evd_stop
assert_eq "$EVD_EXIT" 0 "exit status"

evd_step "mTLS on gRPC (grpc.tls.client_ca) with a Python gRPC client"
evd_grpc_setup
evd_start --grpc-tls-cert "$EVD_TMP/cert.pem" --grpc-tls-key "$EVD_TMP/key.pem" \
  --set grpc.tls.client_ca="$P/ca.pem"
unset CURL_CA_BUNDLE
assert_contains "$(cat "$EVD_LOG")" "(TLS, ALPN h2, client certificates)" "gRPC listening line"
export EVD_GRPC_TLS_CA=$P/ca.pem
evd_grpc health --timeout 3
assert_grpc_code UNAVAILABLE "gRPC without a client certificate"
EVD_GRPC_TLS_CLIENT_CERT=$P/rogue.pem EVD_GRPC_TLS_CLIENT_KEY=$P/rogue.key evd_grpc health --timeout 3
assert_grpc_code UNAVAILABLE "gRPC with a client certificate from another CA"
export EVD_GRPC_TLS_CLIENT_CERT=$P/client1.pem EVD_GRPC_TLS_CLIENT_KEY=$P/client1.key
evd_grpc health
assert_grpc_code OK "gRPC health with a client certificate"
evd_grpc log --stream gw --type grpc_mtls --tag t --value '{"n":1}'
assert_grpc_code OK "gRPC LogEvent with a client certificate"
evd_req GET '/v1/events?type=grpc_mtls'
assert_eq "$(evd_json 'len(d["events"])')" 1 "the gRPC event is stored"

evd_step "gRPC SIGHUP reload"
assert_eq "$(served_cn "$EVD_GRPC_ADDR" h2)" "eventd-one" "gRPC CN before the reload"
cp "$P/server2.pem" "$EVD_TMP/cert.pem"
cp "$P/server2.key" "$EVD_TMP/key.pem"
kill -HUP "$EVD_PID"
evd_wait_for_log 'SIGHUP: grpc.tls: certificate reloaded \(CN=eventd-two\)' || evd_fail "no gRPC reload line"
evd_grpc health
assert_grpc_code OK "gRPC health after the reload"
evd_stop
assert_eq "$EVD_EXIT" 0 "exit status"

evd_step "mTLS and SIGHUP reload on the syslog and lines listeners"
cp "$P/server1.pem" "$EVD_TMP/cert.pem"
cp "$P/server1.key" "$EVD_TMP/key.pem"
EVD_DATA=$EVD_TMP/data-sock evd_start --grpc off --syslog 127.0.0.1:0 --lines 127.0.0.1:0 \
  --set syslog.tls.cert="$EVD_TMP/cert.pem" --set syslog.tls.key="$EVD_TMP/key.pem" \
  --set syslog.tls.client_ca="$P/ca.pem" \
  --set lines.tls.cert="$EVD_TMP/cert.pem" --set lines.tls.key="$EVD_TMP/key.pem" \
  --set lines.tls.client_ca="$P/ca.pem"
SYSLOG=$(evd_input_addr syslog)
LINES=$(evd_input_addr lines)
# tls_send ADDR DATA [CERT KEY]: one TLS connection sending DATA (errors ignored).
tls_send() {
  /usr/bin/python3 - "$1" "$2" "$P/ca.pem" "${3:-}" "${4:-}" <<'PY' || true
import socket, ssl, sys, time
addr, data, ca, cert, key = sys.argv[1:6]
host, port = addr.rsplit(":", 1)
ctx = ssl.create_default_context(cafile=ca)
if cert:
    ctx.load_cert_chain(cert, key)
try:
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(data.encode())
            time.sleep(0.3)
except (ssl.SSLError, OSError) as e:
    print("refused:", e, file=sys.stderr)
PY
}
msg='<13>1 2024-05-01T10:00:00Z h mtlsapp - mtls.msg - with a client certificate'
tls_send "$SYSLOG" "${#msg} $msg" "$P/client1.pem" "$P/client1.key"
msg2='<13>1 2024-05-01T10:00:01Z h mtlsapp - mtls.msg - without one'
tls_send "$SYSLOG" "${#msg2} $msg2"
tls_send "$SYSLOG" "${#msg2} $msg2" "$P/rogue.pem" "$P/rogue.key"
tls_send "$LINES" '{"type":"mtls.line","stream":"mtlsapp"}'$'\n' "$P/client1.pem" "$P/client1.key"
tls_send "$LINES" '{"type":"mtls.line","stream":"mtlsapp"}'$'\n'
evd_wait_for test "$(curl -sS "$EVD_URL/v1/events/count?stream=mtlsapp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')" = 2 ||
  evd_fail "the two senders with a client certificate did not get through"
sleep 0.5
evd_req GET '/v1/events/count?stream=mtlsapp'
assert_eq "$(evd_json 'd["count"]')" 2 "only the senders with a CA-signed client certificate are stored"
assert_eq "$(served_cn "$SYSLOG")" "eventd-one" "syslog CN before the reload"
cp "$P/server2.pem" "$EVD_TMP/cert.pem"
cp "$P/server2.key" "$EVD_TMP/key.pem"
kill -HUP "$EVD_PID"
evd_wait_for_log 'SIGHUP: syslog.tls: certificate reloaded \(CN=eventd-two\)' || evd_fail "no syslog reload line"
evd_wait_for_log 'SIGHUP: lines.tls: certificate reloaded \(CN=eventd-two\)' || evd_fail "no lines reload line"
assert_eq "$(served_cn "$SYSLOG")" "eventd-two" "syslog CN after the reload"
assert_eq "$(served_cn "$LINES")" "eventd-two" "lines CN after the reload"
evd_stop
assert_eq "$EVD_EXIT" 0 "exit status"

evd_step "bad settings stop startup naming the setting"
for args in "--set http.tls.cert=$EVD_TMP/cert.pem" \
  "--set http.tls.cert=$EVD_TMP/nope.pem --set http.tls.key=$EVD_TMP/key.pem" \
  "--set http.tls.client_ca=$P/ca.pem"; do
  # shellcheck disable=SC2086
  if "$EVD_EVENTD" --data-dir "$EVD_TMP/bad" --http 127.0.0.1:0 --grpc off $args 2>"$EVD_TMP/bad.err"; then
    evd_fail "eventd started with $args"
  fi
  assert_contains "$(cat "$EVD_TMP/bad.err")" "http.tls." "message for $args"
done
assert_contains "$(cat "$EVD_TMP/bad.err")" "http.tls.client_ca needs http.tls.cert" "client_ca alone"

evd_pass
