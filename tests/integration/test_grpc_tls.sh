#!/usr/bin/env bash
# gRPC over TLS (grpc.tls.cert / grpc.tls.key): a self-signed certificate for 127.0.0.1 and
# localhost made at test time with the openssl CLI; a real gRPC client (python3-grpcio with
# ssl_channel_credentials trusting that certificate) calls LogEvent and Health; an insecure
# (h2c) client against the TLS port fails; ALPN must select h2 (a client offering only
# http/1.1, or no ALPN, fails the handshake); bad or missing files stop startup naming the
# file and the reason.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/grpc/grpc_lib.sh"

command -v openssl >/dev/null || evd_fail "the openssl CLI is missing (run scripts/setup.sh)"
evd_grpc_setup

evd_step "make a self-signed certificate for 127.0.0.1 and localhost"
CERT=$EVD_TMP/cert.pem KEY=$EVD_TMP/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$KEY" -out "$CERT" >"$EVD_TMP/openssl.out" 2>&1 ||
  evd_fail "openssl req failed: $(cat "$EVD_TMP/openssl.out")"

evd_step "eventd with TLS: the listening line says so"
evd_start --grpc-tls-cert "$CERT" --grpc-tls-key "$KEY"
[[ -n $EVD_GRPC_ADDR ]] || evd_fail "no 'eventd: grpc listening on' line"
assert_contains "$(cat "$EVD_LOG")" "eventd: grpc listening on $EVD_GRPC_ADDR (TLS, ALPN h2)" "listening line"

evd_step "a TLS client trusting the certificate: Health and LogEvent succeed"
export EVD_GRPC_TLS_CA=$CERT
evd_grpc health
assert_grpc_code OK "health over TLS"
assert_eq "$(grpc_field 'd["status"]')" SERVING "health status over TLS"
evd_grpc log --stream magmad --type tls_event --tag gw-tls --value '{"n":1}'
assert_grpc_code OK "LogEvent over TLS"
evd_req GET '/v1/events?type=tls_event'
assert_status 200 "query"
assert_eq "$(evd_json 'len(d["events"])')" 1 "the TLS event is stored"
assert_eq "$(evd_json 'd["events"][0]["tag"]')" gw-tls "its tag"
evd_grpc log --type tls_event --value '{"a":'
assert_grpc_code INVALID_ARGUMENT "errors are answered over TLS as over h2c"
evd_grpc load --callers 8 --calls 5 --channels 2 --prefix tls
assert_eq "$(grpc_field 'd["counts"].get("OK", 0)')" 40 "40 concurrent LogEvent calls over TLS: $GRPC_OUT"

evd_step "a client using another CA (the system's) fails verification"
EVD_GRPC_TLS_CA=/dev/null evd_grpc health --timeout 3
assert_grpc_code UNAVAILABLE "a client that does not trust the certificate"

evd_step "an insecure (h2c) client against the TLS port fails"
unset EVD_GRPC_TLS_CA
evd_grpc health --timeout 3
assert_grpc_code UNAVAILABLE "plaintext health against TLS"
evd_grpc log --type tls_plain --value '{}' --timeout 3
assert_grpc_code UNAVAILABLE "plaintext LogEvent against TLS"
evd_req GET '/v1/events?type=tls_plain'
assert_eq "$(evd_json 'len(d["events"])')" 0 "nothing stored from the plaintext client"

evd_step "ALPN: h2 is selected; http/1.1 only or no ALPN fails the handshake; TLS 1.2 works, 1.1 does not"
out=$(openssl s_client -connect "$EVD_GRPC_ADDR" -alpn h2 -CAfile "$CERT" </dev/null 2>&1 | tr -d '\0')
assert_contains "$out" "ALPN protocol: h2" "s_client -alpn h2"
assert_contains "$out" "Verify return code: 0 (ok)" "certificate verifies for 127.0.0.1"
out=$(openssl s_client -connect "$EVD_GRPC_ADDR" -alpn h2 -tls1_2 -CAfile "$CERT" </dev/null 2>&1 | tr -d '\0')
assert_contains "$out" "Protocol  : TLSv1.2" "TLS 1.2 accepted"
if out=$(openssl s_client -connect "$EVD_GRPC_ADDR" -alpn http/1.1 </dev/null 2>&1 | tr -d '\0'); then
  evd_fail "a client offering only http/1.1 completed the handshake: ${out:0:400}"
fi
assert_contains "$out" "no application protocol" "ALPN refusal alert"
if out=$(openssl s_client -connect "$EVD_GRPC_ADDR" </dev/null 2>&1 | tr -d '\0'); then
  evd_fail "a client offering no ALPN completed the handshake: ${out:0:400}"
fi
assert_contains "$out" "no application protocol" "no-ALPN refusal alert"

# The client side allows TLS 1.1 here (SECLEVEL=0): the refusal is the server's alert.
if out=$(openssl s_client -connect "$EVD_GRPC_ADDR" -alpn h2 -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' \
  </dev/null 2>&1 | tr -d '\0'); then
  evd_fail "a TLS 1.1 client completed the handshake: ${out:0:400}"
fi
assert_contains "$out" "alert protocol version" "TLS 1.1 refused by the server"

evd_step "the daemon still serves after the refused handshakes, then stops cleanly"
export EVD_GRPC_TLS_CA=$CERT
evd_grpc health
assert_grpc_code OK "health after refused clients"
unset EVD_GRPC_TLS_CA
evd_stop
assert_eq "$EVD_EXIT" 0 "exit status"

evd_step "startup errors: bad key, missing file, only one of the two, key of another cert"
start_fails() { # WHAT EXPECTED-TEXT ARGS...
  local what=$1 want=$2
  shift 2
  "$EVD_EVENTD" --data-dir "$EVD_TMP/data-bad" --http 127.0.0.1:0 --grpc 127.0.0.1:0 "$@" \
    >"$EVD_TMP/o" 2>&1 &
  local pid=$!
  EVD_ALL_PIDS+=("$pid")
  local i
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && evd_fail "$what: eventd did not stop at startup: $(cat "$EVD_TMP/o")"
  wait "$pid"
  local rc=$?
  [[ $rc -ne 0 ]] || evd_fail "$what: exit status 0"
  assert_contains "$(cat "$EVD_TMP/o")" "$want" "$what"
  evd_check_log_clean "$EVD_TMP/o"
}
printf -- '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n' >"$EVD_TMP/bad-key.pem"
start_fails "bad key" "grpc.tls.key: cannot use $EVD_TMP/bad-key.pem as a PEM private key (OpenSSL: error:" \
  --grpc-tls-cert "$CERT" --grpc-tls-key "$EVD_TMP/bad-key.pem"
start_fails "missing key file" "grpc.tls.key: cannot open $EVD_TMP/nope.pem: No such file or directory" \
  --grpc-tls-cert "$CERT" --grpc-tls-key "$EVD_TMP/nope.pem"
start_fails "key given as the cert" "grpc.tls.cert: cannot use $KEY as a PEM certificate (OpenSSL: error:" \
  --grpc-tls-cert "$KEY" --grpc-tls-key "$KEY"
start_fails "cert without key" "grpc.tls.cert and grpc.tls.key go together: grpc.tls.cert is set, grpc.tls.key is not" \
  --set grpc.tls.cert="$CERT"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=other \
  -keyout "$EVD_TMP/other-key.pem" -out "$EVD_TMP/other-cert.pem" >/dev/null 2>&1 ||
  evd_fail "openssl req (second certificate) failed"
start_fails "key of another certificate" "grpc.tls.key: cannot use $EVD_TMP/other-key.pem as a PEM private key (OpenSSL: error:05800074:x509 certificate routines::key values mismatch)" \
  --grpc-tls-cert "$CERT" --grpc-tls-key "$EVD_TMP/other-key.pem"

evd_step "the same settings from a config file"
printf 'grpc:\n  tls:\n    cert: %s\n    key: %s\n' "$CERT" "$KEY" >"$EVD_TMP/tls.yml"
evd_start --config "$EVD_TMP/tls.yml"
assert_contains "$(cat "$EVD_LOG")" "(TLS, ALPN h2)" "TLS from the config file"
EVD_GRPC_TLS_CA=$CERT evd_grpc health
assert_grpc_code OK "health, TLS from the config file"
evd_stop
assert_eq "$EVD_EXIT" 0 "exit status"

evd_pass
