#!/usr/bin/env bash
# Syslog input with logger (util-linux): RFC 5424 and RFC 3164 over UDP, TCP with LF framing
# and TCP with RFC 6587 octet counting, all on the same port; structured data -> data and
# labels, facility/severity, hostname -> source, app-name -> stream, msgid -> type (and the
# configured defaults). A malformed TCP frame is counted and the valid ones still land.
source "$(dirname "$0")/lib.sh"

command -v logger >/dev/null || evd_fail "logger (util-linux) missing"
evd_start --grpc off --syslog 127.0.0.1:0 --set syslog.default_type=syslog.msg
SADDR=$(evd_input_addr syslog)
SPORT=${SADDR##*:}
grep -q 'syslog listening on .* (TCP and UDP)' "$EVD_LOG" || evd_fail "listening line"

count() { evd_req GET "/v1/events/count?$1"; evd_json 'd["count"]'; }
# wait_count QUERY N: wait (up to 10 s) until QUERY counts N events
wait_count() {
  for _ in $(seq 1 100); do [[ $(count "$1") == "$2" ]] && return 0; sleep 0.1; done
  return 1
}
first() { evd_req GET "/v1/events?$1"; evd_json "d['events'][0]$2"; }

evd_step "RFC 5424 over UDP: SD -> data, labels@ SD -> labels, msgid -> type, pri -> severity"
logger --rfc5424 -n 127.0.0.1 -P "$SPORT" -d -t myapp --msgid login.ok \
  --sd-id origin@32473 --sd-param 'ip="10.0.0.1"' --sd-id labels@32473 --sd-param 'env="prod"' \
  -p auth.warning "udp 5424 message" || evd_fail "logger failed"
wait_count 'stream=myapp' 1 || evd_fail "5424/UDP not stored"
assert_eq "$(first 'stream=myapp' '["type"]')" login.ok "msgid -> type"
assert_eq "$(first 'stream=myapp' '["severity"]')" WARN "warning -> WARN"
assert_eq "$(first 'stream=myapp' '["message"]')" "udp 5424 message" message
assert_eq "$(first 'stream=myapp' '["source"]')" "$(hostname)" "hostname -> source"
assert_eq "$(first 'stream=myapp' '["labels"]["env"]')" prod "labels SD"
assert_eq "$(first 'stream=myapp' '["data"]["structured_data"]["origin@32473"]["ip"]')" 10.0.0.1 "SD param"
assert_eq "$(first 'stream=myapp' '["data"]["facility"]')" auth facility

evd_step "RFC 3164 over UDP: tag -> stream, pid -> data.procid, default type"
logger --rfc3164 -n 127.0.0.1 -P "$SPORT" -d -t app3164 -i -p local3.err "udp 3164 message" || evd_fail logger
wait_count 'stream=app3164' 1 || evd_fail "3164/UDP not stored"
assert_eq "$(first 'stream=app3164' '["type"]')" syslog.msg "syslog.default_type"
assert_eq "$(first 'stream=app3164' '["severity"]')" ERROR "err -> ERROR"
assert_eq "$(first 'stream=app3164' '["data"]["facility"]')" local3 facility
assert_ne "$(first 'stream=app3164' '["data"].get("procid","")')" "" "procid kept"
y=$(date -u +%Y)
assert_contains "$(first 'stream=app3164' '["time"]')" "$y-" "3164 time in the current year"

evd_step "TCP, LF framing and octet counting (5424 and 3164)"
logger --rfc5424 -n 127.0.0.1 -P "$SPORT" -T -t tcplf "tcp lf message" || evd_fail logger
logger --rfc5424 -n 127.0.0.1 -P "$SPORT" -T --octet-count -t tcpoct --msgid m1 "tcp octet message" || evd_fail logger
logger --rfc3164 -n 127.0.0.1 -P "$SPORT" -T --octet-count -t oct3164 "tcp octet 3164" || evd_fail logger
for q in stream=tcplf stream=tcpoct stream=oct3164; do
  wait_count "$q" 1 || evd_fail "TCP message $q not stored"
done
assert_eq "$(first 'stream=tcpoct' '["type"]')" m1 "octet-counted msgid"
assert_eq "$(first 'stream=oct3164' '["message"]')" "tcp octet 3164" "octet-counted 3164 message"

evd_step "mixed framing on one connection; an invalid frame is skipped and counted"
printf '<14>1 2024-05-01T10:00:00.5Z h1 mixed - t1 - first\n%s\n28 <14>1 - h1 mixed - t2 - 2nd\n<14>1 2024-05-01T10:00:00Z h1 mixed - t3 - last' \
  '<999>1 bad pri' > "/dev/tcp/127.0.0.1/$SPORT" || evd_fail "send"
wait_count 'stream=mixed' 3 || evd_fail "mixed framing: $(count 'stream=mixed') of 3"
assert_eq "$(first 'stream=mixed&type=t1' '["time"]')" 2024-05-01T10:00:00.500000000Z "5424 time"
assert_eq "$(first 'stream=mixed&type=t2' '["message"]')" 2nd "octet-counted frame in an LF stream"
evd_wait_for_log "invalid PRI" || evd_fail "invalid frame not logged"
evd_req GET /metrics
assert_contains "$EVD_BODY" 'eventd_input_events_total{input="syslog",outcome="rejected"} 1'
assert_contains "$EVD_BODY" 'eventd_input_connections_total{input="syslog"}'
evd_stop

evd_step "syslog over TLS (RFC 5425: octet counting), TCP only"
CERT=$EVD_TMP/cert.pem KEY=$EVD_TMP/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$KEY" -out "$CERT" >"$EVD_TMP/openssl.out" 2>&1 || evd_fail "openssl req failed"
EVD_DATA=$EVD_TMP/data-tls evd_start --grpc off --syslog 127.0.0.1:0 \
  --set syslog.tls.cert="$CERT" --set syslog.tls.key="$KEY"
grep -q 'syslog listening on .* (TLS)' "$EVD_LOG" || evd_fail "no (TLS) in the listening line"
SPORT=$(evd_input_addr syslog); SPORT=${SPORT##*:}
/usr/bin/python3 - "$SPORT" "$CERT" <<'EOF' || evd_fail "TLS sender"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
for i in range(3):
    m = ("<13>1 2024-05-01T10:00:0%dZ tlshost tlsapp - tls.msg - over tls %d" % (i, i)).encode()
    s.sendall(b"%d %s" % (len(m), m))
s.close()
EOF
wait_count 'stream=tlsapp' 3 || evd_fail "TLS syslog: $(count 'stream=tlsapp') of 3"
assert_eq "$(first 'stream=tlsapp&type=tls.msg&source=tlshost' '["message"]')" "over tls 2" "TLS message"
evd_stop
evd_pass
