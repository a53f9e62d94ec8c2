#!/usr/bin/env bash
# The SSRF guard of tenant-owned outputs and the types open to tenants (issue 7;
# docs/security.md "Outputs"): with outputs.allow_local_targets false (the default) an output
# owned by a tenant may not reach loopback, private or link-local addresses — a literal one
# is refused at create (400), a name that resolves to one ("localhost") at connect time, with
# the reason in the output's status, its delivery history and a test delivery; the webhook,
# Kafka and AMQP destinations all check. The admin's (root-owned) output to the same URL
# delivers. allow_local_targets: true lets the tenant's output through, but never to eventd's
# own listeners. Members that use the daemon's host (ca_file, key files, Kafka kinit commands,
# plugins, *.location files) are refused for tenant-owned outputs. outputs.tenant_types
# narrows the types non-admins may create; naming file in it is a configuration error.
source "$(dirname "$0")/lib.sh"

RECEIVER=$EVD_SOURCE_DIR/examples/webhook-receiver/receiver.py
/usr/bin/python3 "$RECEIVER" --port 0 >>"$EVD_TMP/rec.out" 2>"$EVD_TMP/rec.err" &
REC_PID=$!
evd_bg_pid "$REC_PID"
line=""
for _ in $(seq 1 100); do
  line=$(grep -o 'listening on [0-9.]*:[0-9]*' "$EVD_TMP/rec.err" | tail -1)
  [[ -n $line ]] && break
  sleep 0.05
done
[[ -n $line ]] || evd_fail "receiver did not start"
REC_PORT=${line##*:}

evd_start --auth on --grpc off
ADMIN=$(cat "$EVD_DATA/admin.token")
as() { # TOKEN METHOD PATH [BODY]
  local tok=$1 m=$2 p=$3
  if [[ $# -ge 4 ]]; then
    evd_req "$m" "$p" -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' --data-binary "$4"
  else
    evd_req "$m" "$p" -H "Authorization: Bearer $tok"
  fi
}
as "$ADMIN" POST /v1/tokens '{"role":"domain-admin","tenant":"acme","name":"acme-admin"}'
assert_status 201 "create the domain-admin token"
DADM=$(evd_json 'd["token"]')

received() { grep -c "\"$1\"" "$EVD_TMP/rec.out" 2>/dev/null || true; }
wait_received() { # MESSAGE
  for _ in $(seq 1 100); do
    [[ $(received "$1") -ge 1 ]] && return 0
    sleep 0.1
  done
  evd_fail "the receiver did not get '$1'"
}
wait_error() { # TOKEN NAME TEXT: the output's status.last_error comes to contain TEXT
  for _ in $(seq 1 100); do
    as "$1" GET "/v1/outputs/$2"
    [[ $(evd_json 'd["status"]["last_error"] or ""') == *"$3"* ]] && return 0
    sleep 0.1
  done
  evd_fail "output $2: last_error never contained '$3': $EVD_BODY"
}

evd_step "literal local addresses are refused at create (400, naming address, tenant, setting)"
as "$DADM" POST /v1/outputs "{\"name\":\"lit\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$REC_PORT/\"}"
assert_status 400 "tenant webhook to 127.0.0.1"
assert_contains "$EVD_BODY" "url: 127.0.0.1 is a loopback address; outputs of tenant acme may not reach the local network (outputs.allow_local_targets)"
as "$DADM" POST /v1/outputs '{"name":"lit","type":"webhook","url":"http://10.0.0.5/hook"}'
assert_status 400 "private"
assert_contains "$EVD_BODY" "10.0.0.5 is a private address"
as "$DADM" POST /v1/outputs '{"name":"lit","type":"webhook","url":"http://[::1]:80/"}'
assert_status 400 "IPv6 loopback"
as "$DADM" POST /v1/outputs '{"name":"lit","type":"webhook","url":"http://169.254.169.254/latest/meta-data"}'
assert_status 400 "link-local (cloud metadata)"
assert_contains "$EVD_BODY" "link-local"
as "$DADM" POST /v1/outputs '{"name":"lit","type":"kafka","brokers":"8.8.8.8:9092,10.1.2.3:9092"}'
assert_status 400 "kafka broker"
assert_contains "$EVD_BODY" "brokers: 10.1.2.3 is a private address"
as "$DADM" POST /v1/outputs '{"name":"lit","type":"amqp","url":"amqp://guest:guest@192.168.0.9/"}'
assert_status 400 "amqp broker"
assert_contains "$EVD_BODY" "192.168.0.9 is a private address"

evd_step "members that use the daemon's host (files, commands, plugins) are refused for tenants"
as "$DADM" POST /v1/outputs '{"name":"hf","type":"webhook","url":"https://hooks.example.com/","ca_file":"/etc/passwd"}'
assert_status 400 "webhook ca_file"
assert_contains "$EVD_BODY" "ca_file: names a file on the daemon's host; outputs owned by tenant acme may not set it"
as "$DADM" POST /v1/outputs '{"name":"hf","type":"amqp","url":"amqps://mq.example.com/","cert_file":"/etc/ssl/x.pem","key_file":"/etc/ssl/x.key"}'
assert_status 400 "amqp cert_file"
assert_contains "$EVD_BODY" "cert_file: names a file on the daemon's host"
as "$DADM" POST /v1/outputs '{"name":"hf","type":"kafka","brokers":"kafka.example.com:9092","properties":{"sasl.kerberos.kinit.cmd":"touch /tmp/pwned"}}'
assert_status 400 "kafka kinit command"
assert_contains "$EVD_BODY" "properties.sasl.kerberos.kinit.cmd: runs kinit or reads a keytab on the daemon's host"
as "$DADM" POST /v1/outputs '{"name":"hf","type":"kafka","brokers":"kafka.example.com:9092","properties":{"ssl.ca.location":"/etc/passwd"}}'
assert_status 400 "kafka ssl.ca.location"
as "$DADM" POST /v1/outputs '{"name":"hf","type":"kafka","brokers":"kafka.example.com:9092","properties":{"plugin.library.paths":"/tmp/evil.so"}}'
assert_status 400 "kafka plugin"
as "$DADM" POST /v1/outputs '{"name":"hf","type":"kafka","brokers":"kafka.example.com:9092","paused":true,"properties":{"linger.ms":5}}'
assert_status 201 "ordinary properties are fine"
as "$DADM" DELETE /v1/outputs/hf
as "$ADMIN" POST /v1/outputs '{"name":"hf","type":"webhook","url":"https://hooks.example.com/","ca_file":"/etc/ssl/certs/ca-certificates.crt","paused":true}'
assert_status 201 "the admin's own output may"
as "$ADMIN" DELETE /v1/outputs/hf

evd_step "a name resolving to loopback is refused at connect time, with the reason in status"
as "$DADM" POST /v1/outputs "{\"name\":\"byname\",\"type\":\"webhook\",\"url\":\"http://localhost:$REC_PORT/\",\"retry\":{\"base\":\"50ms\",\"cap\":\"200ms\"}}"
assert_status 201 "tenant webhook to localhost (a name) is created"
as "$ADMIN" POST /v1/outputs "{\"name\":\"rootwh\",\"type\":\"webhook\",\"url\":\"http://localhost:$REC_PORT/\"}"
assert_status 201 "the admin's webhook to the same URL"
as "$ADMIN" POST /v1/events '[{"type":"g.ev","tenant":"acme","message":"guard-1"}]'
assert_status 200 "ingest"
wait_received guard-1 # the admin's output delivered it
wait_error "$DADM" byname "is a loopback address; outputs of tenant acme may not reach the local network (outputs.allow_local_targets)"
assert_eq "$(received guard-1)" "1" "only the admin's output reached the receiver"
as "$DADM" GET /v1/outputs/byname/deliveries
assert_contains "$EVD_BODY" "is a loopback address" "delivery history"
as "$DADM" POST /v1/outputs/byname/test
assert_status 200 "test delivery"
assert_eq "$(evd_json 'd["ok"]')" "false"
assert_contains "$(evd_json 'd["error"]')" "is a loopback address"

evd_step "Kafka and AMQP check the resolved address too"
as "$DADM" POST /v1/outputs '{"name":"kname","type":"kafka","brokers":"localhost:9","timeout_ms":2000}'
assert_status 201 "tenant kafka output to localhost"
as "$DADM" POST /v1/outputs '{"name":"aname","type":"amqp","host":"localhost","port":9}'
assert_status 201 "tenant amqp output to localhost"
as "$ADMIN" POST /v1/events '[{"type":"g.ev","tenant":"acme","message":"guard-2"}]'
assert_status 200 "ingest"
wait_error "$DADM" kname "is a loopback address; outputs of tenant acme"
wait_error "$DADM" aname "is a loopback address; outputs of tenant acme"

evd_step "outputs.allow_local_targets: true lets the tenant's output through"
evd_stop
evd_start --auth on --grpc off --set outputs.allow_local_targets=true
as "$DADM" DELETE /v1/outputs/kname
as "$DADM" DELETE /v1/outputs/aname
wait_received guard-2
# the receiver prints an event once (it de-duplicates by id): count the tenant output's own
# confirmations instead
for _ in $(seq 1 100); do
  as "$DADM" GET /v1/outputs/byname
  [[ $(evd_json 'd["status"]["delivered"]') -ge 2 ]] && break
  sleep 0.1
done
assert_eq "$(evd_json 'd["status"]["delivered"]')" "2" "the tenant's output delivered guard-1 and guard-2"
assert_eq "$(evd_json 'd["status"]["last_error"]')" "null"
assert_contains "$(cat "$EVD_TMP/rec.err")" "duplicate" "the receiver saw guard-1 a second time"
as "$DADM" POST /v1/outputs "{\"name\":\"lit\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$REC_PORT/\"}"
assert_status 201 "a literal loopback address is accepted now"

evd_step "... but never to eventd's own listeners"
as "$DADM" POST /v1/outputs "{\"name\":\"self\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$EVD_PORT/v1/events\"}"
assert_status 400 "tenant webhook to eventd itself"
assert_contains "$EVD_BODY" "one of eventd's own listeners"
as "$DADM" POST /v1/outputs "{\"name\":\"self\",\"type\":\"webhook\",\"url\":\"http://localhost:$EVD_PORT/v1/events\",\"retry\":{\"base\":\"50ms\",\"cap\":\"200ms\"}}"
assert_status 201 "by name: created"
as "$ADMIN" POST /v1/events '[{"type":"g.ev","tenant":"acme","message":"guard-3"}]'
assert_status 200 "ingest"
wait_error "$DADM" self "one of eventd's own listeners"
as "$DADM" DELETE /v1/outputs/self
evd_stop

evd_step "outputs.tenant_types"
evd_start --auth on --grpc off --set outputs.tenant_types=webhook
as "$DADM" POST /v1/outputs '{"name":"k2","type":"kafka","brokers":"kafka.example.com:9092"}'
assert_status 403 "kafka is not open to tenants here"
assert_contains "$EVD_BODY" "output type 'kafka' is not open to tenants (outputs.tenant_types: webhook): creating or changing one needs an admin token"
as "$ADMIN" POST /v1/outputs '{"name":"k2","type":"kafka","brokers":"kafka.example.com:9092","paused":true}'
assert_status 201 "the admin may"
evd_stop
set +e
"$EVD_EVENTD" --data-dir "$EVD_DATA" --set outputs.tenant_types=webhook,file --check-config 2>"$EVD_TMP/cc.err"
rc=$?
set -e
assert_eq "$rc" "2" "file in outputs.tenant_types is a configuration error"
assert_contains "$(cat "$EVD_TMP/cc.err")" "'file' cannot be given to tenants"

evd_pass
