#!/usr/bin/env bash
# Who may send to the socket inputs (forward, syslog, JSON lines) with auth on
# (docs/security.md "Socket inputs"):
#   - each listener has a tenant (<input>.tenant): events naming none get it, events naming
#     a tenant outside its subtree are refused one by one (the rest of the stream is stored);
#   - mTLS on lines and syslog: a client certificate whose CN is the name of an active
#     ingest-capable token sends as that token (its tenant); an unknown CN, a read-only
#     token's name or a revoked token's name is closed after the handshake, nothing stored;
#   - forward users with a tenant ("user:password:tenant") send into it;
#   - <input>.allow: a peer outside the list (127.0.0.2 vs 127.0.0.1) is refused on TCP and
#     its UDP datagrams dropped, counted in /metrics, logged once;
#   - the startup rule: a syslog/lines/forward listener beyond loopback without a means to
#     know its senders refuses to start, naming the setting and the remedies; each remedy
#     (allow list, mTLS, forward shared key, auth.allow_insecure) lets it start.
# Real clients: python3 sockets/ssl and the forward client (tests/integration/inputs).
source "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || evd_fail "the openssl CLI is missing (run scripts/setup.sh)"
PY=/usr/bin/python3
FWD="$EVD_SOURCE_DIR/tests/integration/inputs/fwd_client.py"

evd_step "a CA, a server certificate and client certificates named after tokens"
P=$EVD_TMP/pki
mkdir -p "$P"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=ca" \
  -keyout "$P/ca.key" -out "$P/ca.pem" >>"$P/openssl.out" 2>&1 || evd_fail "openssl req (ca)"
mkcert() { # NAME CN [EXT]
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
    -keyout "$P/$1.key" -out "$P/$1.csr" >>"$P/openssl.out" 2>&1 &&
    openssl x509 -req -in "$P/$1.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial \
      -days 2 -out "$P/$1.pem" ${3:+-extfile <(printf '%s\n' "$3")} >>"$P/openssl.out" 2>&1 ||
    evd_fail "openssl x509 ($1) failed: $(tail -5 "$P/openssl.out")"
}
mkcert server eventd 'subjectAltName=DNS:localhost,IP:127.0.0.1'
mkcert sender sock-sender extendedKeyUsage=clientAuth
mkcert stranger nobody-knows-me extendedKeyUsage=clientAuth
mkcert reader sock-reader extendedKeyUsage=clientAuth
mkcert revoked sock-revoked extendedKeyUsage=clientAuth

# count_where QUERY: "tenant=count ..." of the events a root admin sees for QUERY.
count_where() {
  curl -sS -H "Authorization: Bearer $ADMIN" "$EVD_URL/v1/events?limit=1000&$1" | $PY -c '
import collections, json, sys
d = json.load(sys.stdin)
c = collections.Counter(e.get("tenant", "") for e in d["events"])
print(" ".join("%s=%d" % (k or "(root)", v) for k, v in sorted(c.items())))'
}
# tls_send ADDR DATA CERTNAME: one TLS connection sending DATA with that client certificate;
# prints "sent" or "closed: REASON" (the server closing right after the handshake).
tls_send() {
  $PY - "$1" "$2" "$P/ca.pem" "$P/$3.pem" "$P/$3.key" <<'PY'
import socket, ssl, sys, time
addr, data, ca, cert, key = sys.argv[1:6]
host, port = addr.rsplit(":", 1)
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
try:
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(data.encode())
            s.settimeout(1.5)
            try:
                got = s.recv(100)  # the server never writes: b"" = it closed
                print("closed: eof" if got == b"" else "data?")
            except socket.timeout:
                print("sent")
except (ssl.SSLError, OSError) as e:
    print("closed:", e)
PY
}

evd_step "auth on: lines and syslog over mTLS, forward with users, tenants per listener"
evd_start --grpc off --auth on \
  --lines 127.0.0.1:0 --set lines.tls.cert="$P/server.pem" --set lines.tls.key="$P/server.key" \
  --set lines.tls.client_ca="$P/ca.pem" --set lines.tenant=acme \
  --syslog 127.0.0.1:0 --set syslog.tls.cert="$P/server.pem" --set syslog.tls.key="$P/server.key" \
  --set syslog.tls.client_ca="$P/ca.pem" \
  --forward 127.0.0.1:0 --set forward.tenant=acme --set forward.shared_key=k3y \
  --set forward.users='alice:pw:acme/fwd,bob:pw2'
ADMIN=$(cat "$EVD_DATA/admin.token")
LINES=$(evd_input_addr lines)
SYSLOG=$(evd_input_addr syslog)
FPORT=$(evd_input_addr forward)
FPORT=${FPORT##*:}
mk() { # NAME ROLE TENANT: create a token, print its id
  evd_req POST /v1/tokens -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    --data-binary "{\"name\":\"$1\",\"role\":\"$2\",\"tenant\":\"$3\"}"
  assert_status 201 "create token $1"
  evd_json 'd["id"]'
}
mk sock-sender ingest acme/tls >/dev/null
mk sock-reader read acme >/dev/null
REVOKED_ID=$(mk sock-revoked ingest acme/rev)

evd_step "lines over mTLS: the certificate's token gives the tenant; outside its subtree refused"
out=$(tls_send "$LINES" '{"type":"sk.line","stream":"mtls"}
{"type":"sk.line","stream":"mtls","tenant":"acme/tls/sub"}
{"type":"sk.line","stream":"mtls","tenant":"other"}
' sender)
assert_eq "$out" "sent" "lines with the token-named certificate"
evd_wait_for test "$(count_where stream=mtls)" = "acme/tls=1 acme/tls/sub=1" ||
  evd_fail "lines mTLS events: $(count_where stream=mtls)"
evd_wait_for_log "lines: .*client certificate CN=sock-sender: sending as token 'sock-sender'" ||
  evd_fail "the identity is not logged"
evd_wait_for_log "tenant 'other' is outside" || evd_fail "the refused tenant is not logged"

evd_step "syslog over mTLS (octet-counted frame) lands in the token's tenant"
msg='<13>1 2024-05-01T10:00:00Z h mtlsapp - sk.syslog - from a token-named certificate'
out=$(tls_send "$SYSLOG" "${#msg} $msg" sender)
assert_eq "$out" "sent" "syslog with the token-named certificate"
evd_wait_for test "$(count_where stream=mtlsapp)" = "acme/tls=1" ||
  evd_fail "syslog mTLS events: $(count_where stream=mtlsapp)"

evd_step "unknown CN, read-only token's CN: closed after the handshake, nothing stored"
out=$(tls_send "$LINES" '{"type":"sk.line","stream":"stranger"}
' stranger)
assert_contains "$out" "closed" "unknown CN"
evd_wait_for_log "lines: .*client certificate CN 'nobody-knows-me' is not the name of an active token" ||
  evd_fail "no warning naming the unknown CN"
out=$(tls_send "$SYSLOG" "${#msg} $msg" reader)
assert_contains "$out" "closed" "read token's CN"
evd_wait_for_log "syslog: .*client certificate CN 'sock-reader' names a token whose role may not send" ||
  evd_fail "no warning for the read-only token"
sleep 0.3
assert_eq "$(count_where stream=stranger)" "" "nothing stored from the unknown CN"
assert_eq "$(count_where stream=mtlsapp)" "acme/tls=1" "nothing more stored from the read token"

evd_step "a revoked token's certificate is refused on the next connection"
out=$(tls_send "$LINES" '{"type":"sk.line","stream":"rev"}
' revoked)
assert_eq "$out" "sent" "before the revocation"
evd_wait_for test "$(count_where stream=rev)" = "acme/rev=1" || evd_fail "revoked-before: $(count_where stream=rev)"
evd_req DELETE "/v1/tokens/$REVOKED_ID" -H "Authorization: Bearer $ADMIN"
assert_status 200 "revoke"
out=$(tls_send "$LINES" '{"type":"sk.line","stream":"rev"}
' revoked)
assert_contains "$out" "closed" "after the revocation"
evd_wait_for_log "client certificate CN 'sock-revoked' is not the name of an active token \(unknown or revoked\)" ||
  evd_fail "no warning for the revoked token"
sleep 0.3
assert_eq "$(count_where stream=rev)" "acme/rev=1" "nothing stored after the revocation"

evd_step "forward users: alice (tenant acme/fwd) and bob (the listener's tenant acme)"
out=$($PY "$FWD" "$FPORT" forward --tag skfwd.alice --n 2 --chunk c1 --shared-key k3y --user alice:pw) ||
  evd_fail "alice: $out"
out=$($PY "$FWD" "$FPORT" forward --tag skfwd.bob --n 2 --chunk c2 --shared-key k3y --user bob:pw2) ||
  evd_fail "bob: $out"
out=$($PY "$FWD" "$FPORT" forward --tag skfwd.sub --n 1 --chunk c3 --shared-key k3y --user alice:pw \
  --tenant acme/fwd/team) || evd_fail "alice sub-tenant: $out"
out=$($PY "$FWD" "$FPORT" forward --tag skfwd.out --n 1 --chunk c4 --shared-key k3y --user bob:pw2 \
  --tenant other) || evd_fail "bob outside: $out"
evd_wait_for test "$(count_where stream=skfwd)" = "acme=2 acme/fwd=2 acme/fwd/team=1" ||
  evd_fail "forward tenants: $(count_where stream=skfwd)"
evd_wait_for_log "forward: .*tenant 'other' is outside" || evd_fail "the refused forward event is not logged"
evd_req GET /metrics -H "Authorization: Bearer $ADMIN"
assert_contains "$EVD_BODY" 'eventd_input_connections_closed_total{input="lines",reason="identity"} 2' "lines identity closes"
assert_contains "$EVD_BODY" 'eventd_input_connections_closed_total{input="syslog",reason="identity"} 1' "syslog identity closes"
evd_stop

evd_step "plain listeners: tenant forcing, allow lists (127.0.0.1 allowed, 127.0.0.2 refused)"
EVD_DATA=$EVD_TMP/data2 evd_start --grpc off --auth on \
  --lines 127.0.0.1:0 --set lines.tenant=shop --set lines.allow='127.0.0.1/32,::1/128' \
  --syslog 127.0.0.1:0 --set syslog.tenant=shop/sys --set syslog.allow=127.0.0.0/31
ADMIN=$(cat "$EVD_TMP/data2/admin.token")
LINES=$(evd_input_addr lines)
SYSLOG=$(evd_input_addr syslog)
# send FROM ADDR PROTO DATA: one TCP connection or UDP datagram from local address FROM;
# prints "sent" or "closed".
send() {
  $PY - "$@" <<'PY'
import socket, sys, time
src, addr, proto, data = sys.argv[1:5]
host, port = addr.rsplit(":", 1)
if proto == "udp":
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((src, 0))
    u.sendto(data.encode(), (host, int(port)))
    print("sent")
    sys.exit(0)
s = socket.socket()
s.bind((src, 0))
s.connect((host, int(port)))
try:
    s.sendall(data.encode())
    s.settimeout(1)
    got = s.recv(10)
    print("closed" if got == b"" else "data?")
except socket.timeout:
    print("sent")
except OSError:
    print("closed")
PY
}
assert_eq "$(send 127.0.0.1 "$LINES" tcp '{"type":"sk.p","stream":"plain"}
{"type":"sk.p","stream":"plain","tenant":"shop/eu"}
{"type":"sk.p","stream":"plain","tenant":"elsewhere"}
')" sent "lines from 127.0.0.1"
send 127.0.0.1 "$LINES" udp '{"type":"sk.p","stream":"plain"}' >/dev/null
assert_eq "$(send 127.0.0.2 "$LINES" tcp '{"type":"sk.p","stream":"plain"}
')" closed "lines TCP from 127.0.0.2"
assert_eq "$(send 127.0.0.2 "$LINES" tcp '{"type":"sk.p","stream":"plain"}
')" closed "lines TCP from 127.0.0.2, again"
send 127.0.0.2 "$LINES" udp '{"type":"sk.p","stream":"plain"}' >/dev/null
m='<13>1 2024-05-01T10:00:00Z h sysplain - sk.s - hello'
send 127.0.0.1 "$SYSLOG" udp "$m" >/dev/null
send 127.0.0.2 "$SYSLOG" udp "$m" >/dev/null
assert_eq "$(send 127.0.0.3 "$SYSLOG" tcp "${#m} $m")" closed "syslog TCP from 127.0.0.3 (outside 127.0.0.0/31)"
evd_wait_for test "$(count_where stream=plain)" = "shop=2 shop/eu=1" || evd_fail "lines tenants: $(count_where stream=plain)"
evd_wait_for test "$(count_where stream=sysplain)" = "shop/sys=1" || evd_fail "syslog: $(count_where stream=sysplain)"
evd_req GET /metrics -H "Authorization: Bearer $ADMIN"
assert_contains "$EVD_BODY" 'eventd_input_connections_closed_total{input="lines",reason="refused"} 2' "lines TCP refusals counted"
assert_contains "$EVD_BODY" 'eventd_input_datagrams_dropped_total{input="lines",reason="refused"} 1' "lines UDP refusal counted"
assert_contains "$EVD_BODY" 'eventd_input_connections_closed_total{input="syslog",reason="refused"} 1' "syslog TCP refusal counted"
assert_contains "$EVD_BODY" 'eventd_input_datagrams_dropped_total{input="syslog",reason="refused"} 1' "syslog UDP refusal counted"
n=$(grep -c 'lines: 127.0.0.2:[0-9]*: refused: the address is not in lines.allow' "$EVD_LOG")
assert_eq "$n" 1 "the refusal of one address is logged once"
evd_req GET /healthz
assert_status 200 "healthz"
evd_stop

evd_step "IPv6: syslog on [::] with an allow list of ::1 and 127.0.0.1 (IPv4-mapped peers match)"
EVD_DATA=$EVD_TMP/data3 evd_start --grpc off --auth on --syslog '[::]:0' --set syslog.allow='::1,127.0.0.1'
ADMIN=$(cat "$EVD_TMP/data3/admin.token")
SYSLOG=$(evd_input_addr syslog)
SPORT=${SYSLOG##*:}
m='<13>1 2024-05-01T10:00:00Z h six - sk.s - hello'
send 127.0.0.1 "127.0.0.1:$SPORT" udp "$m" >/dev/null
send 127.0.0.2 "127.0.0.1:$SPORT" udp "$m" >/dev/null
$PY -c 'import socket,sys; u=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM); u.sendto(sys.argv[1].encode(),("::1",int(sys.argv[2])))' "$m" "$SPORT"
evd_wait_for test "$(count_where stream=six)" = "default=2" || evd_fail "IPv6 allow list: $(count_where stream=six)"
evd_wait_for_log 'syslog: \[::ffff:127.0.0.2\]:[0-9]+: refused' || evd_fail "the IPv4-mapped refusal is not logged"
evd_stop

evd_step "startup rule: beyond loopback without mTLS, allow list or shared key: refused"
refused_start() { # NAME ARGS...: eventd must exit 1 naming the setting and the remedies
  local name=$1
  shift
  "$EVD_EVENTD" --data-dir "$EVD_TMP/data-$name" --http 127.0.0.1:0 --grpc off --auth on "$@" \
    >"$EVD_TMP/$name.out" 2>&1 &
  local pid=$!
  local i
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    wait "$pid"
    evd_fail "$name: eventd started: $(cat "$EVD_TMP/$name.out")"
  fi
  wait "$pid"
  local rc=$?
  [[ $rc != 0 ]] || evd_fail "$name: exit status 0"
  cat "$EVD_TMP/$name.out"
}
out=$(refused_start syslog --syslog 0.0.0.0:0)
assert_contains "$out" "syslog.listen 0.0.0.0:0 is not a loopback address" "syslog refusal"
assert_contains "$out" "syslog.tls.client_ca" "remedy mTLS"
assert_contains "$out" "syslog.allow" "remedy allow list"
assert_contains "$out" "auth.allow_insecure: true" "remedy allow_insecure"
out=$(refused_start lines --lines 0.0.0.0:0)
assert_contains "$out" "lines.listen 0.0.0.0:0 is not a loopback address" "lines refusal"
out=$(refused_start forward --forward 0.0.0.0:0)
assert_contains "$out" "forward.shared_key or forward.tls.client_ca" "forward refusal names the key"

evd_step "startup rule: each remedy lets the listener start"
ok_start() { # NAME INPUT ARGS...
  local name=$1 input=$2
  shift 2
  EVD_DATA=$EVD_TMP/data-ok-$name evd_start --grpc off --auth on "$@"
  evd_input_addr "$input" >/dev/null
  assert_not_contains "$(cat "$EVD_LOG")" "refusing to start" "$name"
  evd_stop
}
ok_start syslog-allow syslog --syslog 0.0.0.0:0 --set syslog.allow=127.0.0.1/32
ok_start lines-mtls lines --lines 0.0.0.0:0 --set lines.tls.cert="$P/server.pem" \
  --set lines.tls.key="$P/server.key" --set lines.tls.client_ca="$P/ca.pem"
ok_start forward-key forward --forward 0.0.0.0:0 --set forward.shared_key=k
ok_start lines-insecure lines --lines 0.0.0.0:0 --set auth.allow_insecure=true
assert_contains "$(cat "$EVD_LOG")" "auth.allow_insecure: true" "the insecure start is warned about"

evd_step "bad settings stop startup naming them"
out=$(refused_start badtenant --lines 127.0.0.1:0 --set lines.tenant='a//b')
assert_contains "$out" "lines.tenant" "bad tenant"
out=$(refused_start badcidr --lines 127.0.0.1:0 --set lines.allow='10.0.0.0/40')
assert_contains "$out" "lines.allow: '10.0.0.0/40' is not an address or CIDR" "bad CIDR"
out=$(refused_start baduser --forward 127.0.0.1:0 --set forward.shared_key=k \
  --set forward.tenant=acme --set forward.users='u:p:other')
assert_contains "$out" "tenant 'other' is outside forward.tenant 'acme'" "user tenant outside"

evd_pass
