#!/usr/bin/env bash
# Access control (docs/security.md): startup refusal without auth on a non-loopback address,
# the bootstrap token file, tenant visibility (a user of one tenant cannot see, count,
# histogram, get, tail or Magma-query another's events; a domain admin sees its subtree),
# ingest forcing and checking the tenant, token restrictions, revocation, Basic auth on the
# Elasticsearch endpoints, the brute-force slowdown, and eventctl --token / EVENTD_TOKEN.
source "$(dirname "$0")/lib.sh"

evd_step "auth off on a non-loopback address: refused with a clear message"
set +e
timeout 10 "$EVD_EVENTD" --data-dir "$EVD_TMP/refused" --http 0.0.0.0:0 --grpc off \
  >"$EVD_TMP/refused.out" 2>&1
rc=$?
set -e
assert_ne "$rc" 0 "exit status of eventd refusing to start"
assert_contains "$(cat "$EVD_TMP/refused.out")" "auth.mode is off but http.listen 0.0.0.0:0 is not a loopback address" "refusal message"
set +e
timeout 10 "$EVD_EVENTD" --data-dir "$EVD_TMP/refused2" --http 127.0.0.1:0 --grpc '[::]:0' \
  >"$EVD_TMP/refused2.out" 2>&1
rc=$?
set -e
assert_ne "$rc" 0 "a non-loopback gRPC listener is refused too"
assert_contains "$(cat "$EVD_TMP/refused2.out")" "grpc.listen" "names the listener"

evd_step "auth off on a non-loopback address with auth.allow_insecure: starts, warns"
EVD_DATA=$EVD_TMP/insecure evd_start --http 0.0.0.0:0 --grpc off --set auth.allow_insecure=true
assert_contains "$(cat "$EVD_LOG")" "auth.allow_insecure: true" "warning"
evd_req GET /v1/events/count
assert_status 200 "no token needed with auth off"
evd_stop

evd_step "auth on: bootstrap admin token, mode 0600, path logged, token not"
evd_start --auth on
ADMIN=$(cat "$EVD_DATA/admin.token")
[[ $ADMIN =~ ^evd_[A-Za-z0-9_-]{43}$ ]] || evd_fail "bootstrap token has the wrong form: $ADMIN"
assert_eq "$(stat -c %a "$EVD_DATA/admin.token")" 600 "admin.token mode"
assert_eq "$(stat -c %u "$EVD_DATA/admin.token")" "$(id -u)" "admin.token owner"
assert_contains "$(cat "$EVD_LOG")" "bootstrap admin token written to $EVD_DATA/admin.token" "path logged"
assert_not_contains "$(cat "$EVD_LOG")" "$ADMIN" "the token itself is never logged"
evd_req GET /healthz
assert_status 200 "/healthz stays open"
evd_req GET /v1/events
assert_status 401 "no token"
assert_contains "$(curl -sS -D - -o /dev/null "$EVD_URL/v1/events")" "WWW-Authenticate: Bearer" "WWW-Authenticate"

A=(-H "Authorization: Bearer $ADMIN")
mk() { # mk ROLE TENANT [EXTRA-JSON]: print the new token
  evd_req POST /v1/tokens "${A[@]}" -H 'Content-Type: application/json' \
    --data-binary "{\"role\":\"$1\",\"tenant\":\"$2\"${3:+,$3}}"
  assert_status 201 "create $1 of '$2'"
  evd_json 'd["token"]'
}
USER_A=$(mk user acme/prod)
USER_B=$(mk user other)
DADMIN=$(mk domain-admin acme)
INGEST=$(mk ingest acme)
READ=$(mk read acme)
ONE_STREAM=$(mk read acme '"streams":["billing"]')
as() { local t=$1; shift; local m=$1 p=$2; shift 2; evd_req "$m" "$p" -H "Authorization: Bearer $t" "$@"; }
post_as() { as "$1" POST /v1/events -H 'Content-Type: application/x-ndjson' --data-binary "$2"; }

evd_step "seed events (admin): acme/prod x3, acme/prod/team1 x1, acme/dev x2, other x4"
post_as "$ADMIN" '{"type":"t.a","tenant":"acme/prod","id":"a1","stream":"billing"}
{"type":"t.a","tenant":"acme/prod","id":"a2"}
{"type":"t.a","tenant":"acme/prod","id":"a3"}
{"type":"t.a","tenant":"acme/prod/team1","id":"t1"}
{"type":"t.d","tenant":"acme/dev","id":"d1","stream":"billing"}
{"type":"t.d","tenant":"acme/dev","id":"d2"}
{"type":"t.b","tenant":"other","id":"b1"}
{"type":"t.b","tenant":"other","id":"b2"}
{"type":"t.b","tenant":"other","id":"b3"}
{"type":"t.b","tenant":"other","id":"b4"}'
assert_status 200 "seed"

evd_step "ingest: a user's event without a tenant gets the user's; another tenant is refused"
post_as "$USER_A" '{"type":"t.a","id":"a4"}'
assert_status 200 "user A sends without tenant"
as "$ADMIN" GET /v1/events/a4
assert_eq "$(evd_json 'd["tenant"]')" acme/prod "forced tenant"
post_as "$USER_A" '{"type":"t.a","id":"x1","tenant":"other"}'
assert_status 400 "user A sends into other"
assert_eq "$(evd_json 'd["errors"][0]["field"]')" tenant "error field"
assert_contains "$(evd_json 'd["errors"][0]["reason"]')" "tenant 'other' is outside the tenant 'acme/prod'" "error reason"
post_as "$USER_A" '{"type":"t.a","id":"x2","tenant":"acme/prod/team1"}'
assert_status 400 "a user may not send into a sub-tenant of its own"
post_as "$INGEST" '{"type":"t.i","id":"i1","tenant":"acme/dev"}
{"type":"t.i","id":"i2"}'
assert_status 200 "ingest token into its subtree"
post_as "$INGEST" '{"type":"t.i","id":"x3","tenant":"acmex"}'
assert_status 400 "acmex is not in the subtree of acme"
as "$ADMIN" GET /v1/events/i2
assert_eq "$(evd_json 'd["tenant"]')" acme "ingest token's own tenant"
as "$ADMIN" GET /v1/events/x1
assert_status 404 "nothing of a refused request is stored"

evd_step "visibility: counts"
count_as() { as "$1" GET "/v1/events/count${2:-}"; assert_status 200 "count"; evd_json 'd["count"]'; }
assert_eq "$(count_as "$ADMIN")" 13 "admin sees everything"
assert_eq "$(count_as "$USER_A")" 4 "user A: acme/prod exactly (a1-a4)"
assert_eq "$(count_as "$USER_B")" 4 "user B: other"
assert_eq "$(count_as "$DADMIN")" 9 "domain admin: the acme subtree"
assert_eq "$(count_as "$READ")" 9 "read token of acme: the subtree"
assert_eq "$(count_as "$USER_A" '?tenant=other')" 0 "user A asking for other: nothing, no error"
assert_eq "$(count_as "$DADMIN" '?tenant=other')" 0 "domain admin asking for other"
assert_eq "$(count_as "$DADMIN" '?tenant=acme/dev')" 3 "domain admin asking for a sub-tenant"
assert_eq "$(count_as "$ONE_STREAM")" 2 "read token restricted to stream billing"
as "$INGEST" GET /v1/events/count
assert_status 403 "an ingest token may not read"

evd_step "visibility: query, histogram, get by id"
as "$USER_A" GET '/v1/events?limit=100'
assert_eq "$(evd_json 'sorted(set(e["tenant"] for e in d["events"]))')" '["acme/prod"]' "user A's query"
assert_eq "$(evd_json 'len(d["events"])')" 4 "user A's query size"
as "$DADMIN" GET '/v1/events?limit=100'
assert_eq "$(evd_json 'sorted(set(e["tenant"] for e in d["events"]))')" '["acme", "acme/dev", "acme/prod", "acme/prod/team1"]' "domain admin's query"
as "$USER_A" GET '/v1/events/histogram?interval=1d'
assert_eq "$(evd_json 'sum(b["count"] for b in d["buckets"])')" 4 "user A's histogram"
as "$USER_B" GET '/v1/events/histogram?interval=1d&by=type'
assert_eq "$(evd_json 'sorted(set(k for b in d["buckets"] for k in b["groups"]))')" '["t.b"]' "user B's histogram groups"
as "$USER_A" GET /v1/events/b1
hidden_status=$EVD_STATUS hidden_body=$EVD_BODY
as "$USER_A" GET /v1/events/no-such-id
assert_eq "$hidden_status" 404 "another tenant's event by id"
assert_eq "$hidden_body" "$EVD_BODY" "same answer as a missing id"
as "$USER_B" GET /v1/events/b1
assert_status 200 "own event by id"

evd_step "visibility: Magma queries"
as "$USER_A" GET /magma/v1/events/other
assert_status 200 "magma as user A"
assert_eq "$(evd_json 'len(d)')" 0 "no events of other through Magma"
as "$USER_B" GET /magma/v1/events/other
assert_eq "$(evd_json 'len(d)')" 4 "user B sees its own through Magma"
as "$USER_A" GET /magma/v1/events/other/about/count
assert_eq "$EVD_BODY" 0 "Magma count as user A"

evd_step "visibility: live tail"
curl -sS -N --max-time 4 -H "Authorization: Bearer $USER_A" "$EVD_URL/v1/tail" >"$EVD_TMP/tail.out" 2>/dev/null &
tail_pid=$! # ends by itself (--max-time)
sleep 1
post_as "$ADMIN" '{"type":"t.live","tenant":"other","id":"live-b"}
{"type":"t.live","tenant":"acme/prod","id":"live-a"}'
assert_status 200 "live events"
wait "$tail_pid" || true
assert_contains "$(cat "$EVD_TMP/tail.out")" '"id":"live-a"' "user A's tail shows its event"
assert_not_contains "$(cat "$EVD_TMP/tail.out")" 'live-b' "user A's tail hides other's event"

evd_step "roles: 403 where the role may not"
as "$READ" GET /v1/outputs
assert_status 403 "read token on outputs"
as "$USER_A" GET /v1/outputs
assert_status 200 "user on outputs: only its own (test_outputs_tenant.sh)"
assert_eq "$EVD_BODY" '{"outputs":[]}' "user sees no output of others"
as "$USER_A" GET /v1/tokens
assert_status 403 "user on tokens"
as "$DADMIN" POST /v1/tokens -H 'Content-Type: application/json' --data-binary '{"role":"user","tenant":"other"}'
assert_status 403 "domain admin creating a token outside its subtree"
as "$DADMIN" POST /v1/tokens -H 'Content-Type: application/json' --data-binary '{"role":"admin","tenant":""}'
assert_status 403 "domain admin creating an admin"
as "$DADMIN" GET /v1/tokens
assert_eq "$(evd_json 'sorted(set(t["tenant"] for t in d["tokens"]))')" '["acme", "acme/prod"]' "domain admin lists its subtree's tokens"
assert_not_contains "$EVD_BODY" '"token"' "no secrets in the list"

evd_step "revoke: the token stops working at once"
as "$ADMIN" GET /v1/tokens
bid=$(evd_json '[t["id"] for t in d["tokens"] if t["tenant"] == "other"][0]')
as "$DADMIN" DELETE "/v1/tokens/$bid"
assert_status 404 "domain admin cannot revoke outside its subtree (same as unknown)"
as "$ADMIN" DELETE "/v1/tokens/$bid"
assert_status 200 "admin revokes user B"
as "$USER_B" GET /v1/events/count
assert_status 401 "revoked token"

evd_step "Elasticsearch-compatible endpoints: Basic auth with the token's name"
SHIPPER=$(mk ingest acme/logs '"name":"es-shipper"')
bulk=$'{"index":{"_index":"app-prod"}}\n{"message":"from es"}\n'
evd_req POST /_bulk -u "es-shipper:$SHIPPER" -H 'Content-Type: application/x-ndjson' --data-binary "$bulk"
assert_status 200 "bulk with Basic"
assert_eq "$(evd_json 'd["errors"]')" false "bulk items"
evd_req POST /_bulk -u "someone-else:$SHIPPER" -H 'Content-Type: application/x-ndjson' --data-binary "$bulk"
assert_status 401 "Basic with the wrong user name"
assert_eq "$(count_as "$ADMIN" '?tenant=acme/logs')" 1 "the bulk event got the token's tenant"

evd_step "brute force: failed tokens from one address are slowed down, in metrics"
for i in 1 2 3 4 5; do
  evd_req GET /v1/events -H "Authorization: Bearer evd_wrong$i"
  assert_status 401 "bad token $i"
done
start=$(date +%s%N)
evd_req GET /v1/events -H "Authorization: Bearer evd_wrong6"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_status 401 "bad token 6"
(( elapsed_ms >= 300 )) || evd_fail "6th failure answered after ${elapsed_ms} ms; expected >= 400 ms"
evd_step "a client that gives up during the delay leaves the daemon serving"
curl -sS -o /dev/null --max-time 0.2 -H "Authorization: Bearer evd_gone" "$EVD_URL/v1/events" 2>/dev/null || true
curl -sS -o /dev/null --max-time 0.2 -H "Authorization: Bearer evd_gone2" "$EVD_URL/v1/events" 2>/dev/null || true
sleep 2.5 # past the held answers' timers
as "$ADMIN" GET /v1/events/count
assert_status 200 "still serving after abandoned held answers"
as "$ADMIN" GET /metrics
delayed=$(grep -o '^eventd_auth_delayed_total [0-9]*' <<<"$EVD_BODY" | cut -d' ' -f2)
(( ${delayed:-0} >= 3 )) || evd_fail "eventd_auth_delayed_total is '${delayed}', expected >= 3"
assert_contains "$EVD_BODY" "eventd_auth_failures_total" "failures counted"

evd_step "eventctl: --token, EVENTD_TOKEN, tokens create/list/revoke"
export EVENTD_URL=$EVD_URL
unset EVENTD_TOKEN
set +e
"$EVD_EVENTCTL" count >"$EVD_TMP/ctl.out" 2>&1
rc=$?
set -e
assert_eq "$rc" 1 "eventctl without a token is refused"
assert_contains "$(cat "$EVD_TMP/ctl.out")" "401" "eventctl shows the 401"
# user A: a1-a4 and live-a; the domain admin: those, t1, d1, d2, i1, i2 and the bulk event
assert_eq "$("$EVD_EVENTCTL" --token "$USER_A" count)" 5 "eventctl --token (global)"
assert_eq "$("$EVD_EVENTCTL" count --token "$USER_A")" 5 "eventctl --token after the command"
assert_eq "$(EVENTD_TOKEN=$DADMIN "$EVD_EVENTCTL" count)" 11 "EVENTD_TOKEN"
NEW=$(EVENTD_TOKEN=$ADMIN "$EVD_EVENTCTL" tokens create --role read --tenant acme/prod --name ctl-read 2>"$EVD_TMP/ctl.err")
[[ $NEW =~ ^evd_ ]] || evd_fail "tokens create printed '$NEW'"
assert_eq "$("$EVD_EVENTCTL" --token "$NEW" count)" 6 "the new token works (read: the acme/prod subtree)"
list=$(EVENTD_TOKEN=$ADMIN "$EVD_EVENTCTL" tokens list)
assert_contains "$list" "ctl-read" "tokens list"
nid=$(evd_json '[t["id"] for t in d["tokens"] if t["name"] == "ctl-read"][0]' \
  "$(EVENTD_TOKEN=$ADMIN "$EVD_EVENTCTL" tokens list --raw)")
EVENTD_TOKEN=$ADMIN "$EVD_EVENTCTL" tokens revoke "$nid" >/dev/null
set +e
"$EVD_EVENTCTL" --token "$NEW" count >/dev/null 2>&1
rc=$?
set -e
assert_eq "$rc" 1 "revoked through eventctl"

evd_step "restart: tokens persist, no second bootstrap"
evd_stop
evd_start --auth on
assert_not_contains "$(cat "$EVD_LOG")" "bootstrap admin token written" "no new bootstrap token"
assert_eq "$(count_as "$USER_A")" 5 "user A's token still works after a restart"
evd_stop
evd_pass
