#!/usr/bin/env bash
# AMQP output over TLS and to a non-default vhost: a private rabbitmq-server with an AMQPS
# listener (self-signed certificate) and a vhost made with rabbitmqctl. Proves: amqps:// with
# ca_file verifies and delivers into the vhost; verification is on by default (an unknown
# certificate is retried, nothing delivered); tls_verify:false delivers.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/amqp/rabbit.sh"
trap 'rabbit_cleanup; evd_cleanup' EXIT

/usr/bin/python3 -c 'import pika' 2>/dev/null || evd_fail "python3-pika not installed"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$EVD_TMP/key.pem" -out "$EVD_TMP/cert.pem" \
  -days 1 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1 ||
  evd_fail "openssl could not make a certificate"
RABBIT_TLS_CERT=$EVD_TMP/cert.pem
RABBIT_TLS_KEY=$EVD_TMP/key.pem

evd_step "start rabbitmq-server with an AMQPS listener and a vhost"
rabbit_start
evd_wait_for sh -c "ss -ltn 'sport = :$RABBIT_TLS_PORT' | grep -q LISTEN" || evd_fail "no AMQPS listener"
rabbit_ctl add_vhost v1 >/dev/null || evd_fail "add_vhost"
rabbit_ctl set_permissions -p v1 guest '.*' '.*' '.*' >/dev/null || evd_fail "set_permissions"
rabbit_consume --vhost v1 bind q1 eventd-events '#' || evd_fail "bind q1"

post_events() { # STREAM FROM TO
  local body="" i
  for i in $(seq "$2" "$3"); do body+="{\"stream\":\"$1\",\"type\":\"t\",\"message\":\"n$i\"}"$'\n'; done
  evd_post_ndjson /v1/events "$body"
  assert_status 200 "post events"
}
drain() { # QUEUE N
  rabbit_consume --vhost v1 drain "$1" --expect "$2" --timeout 20 |
    /usr/bin/python3 -c 'import json,sys; print(" ".join(json.loads(l)["body"]["message"] for l in sys.stdin))'
}

evd_start
RETRY='"retry":{"base":0.1,"cap":1}'
URL="amqps://guest:guest@localhost:$RABBIT_TLS_PORT/v1"

evd_step "amqps:// with ca_file into vhost v1"
evd_post_json /v1/outputs "{\"name\":\"tls1\",\"type\":\"amqp\",\"url\":\"$URL\",\"ca_file\":\"$EVD_TMP/cert.pem\",\"match\":[\"a.#\"],$RETRY}"
assert_status 201 "create tls1: $EVD_BODY"
post_events a 1 5
assert_eq "$(drain q1 5)" "n1 n2 n3 n4 n5" "delivered over TLS into v1"

evd_step "verification is on by default: an unknown certificate is retried"
evd_post_json /v1/outputs "{\"name\":\"tls2\",\"type\":\"amqp\",\"url\":\"$URL\",\"match\":[\"b.#\"],$RETRY}"
assert_status 201 "create tls2: $EVD_BODY"
post_events b 6 6
evd_wait_for sh -c "curl -s $EVD_URL/v1/outputs/tls2 | grep -q '\"retries\":[1-9]'" ||
  evd_fail "unverified broker not retried: $(curl -s "$EVD_URL/v1/outputs/tls2")"

evd_step "tls_verify:false delivers"
evd_post_json /v1/outputs "{\"name\":\"tls3\",\"type\":\"amqp\",\"url\":\"$URL\",\"tls_verify\":false,\"match\":[\"c.#\"],$RETRY}"
assert_status 201 "create tls3: $EVD_BODY"
post_events c 7 7
assert_eq "$(drain q1 1)" "n7" "delivered without verification"
assert_eq "$(rabbit_consume --vhost v1 drain q1 --timeout 2 | wc -l)" 0 "nothing from the unverified output"

evd_stop
evd_pass
