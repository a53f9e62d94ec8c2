#!/usr/bin/env bash
# Outputs belong to a tenant (issue 7; docs/outputs.md "Owner and scope"): with auth on a
# domain-admin's scope-domain output receives its subtree's events only, a user's output
# (scope local, its default) only its own tenant's; a user cannot create global or domain
# outputs (403), nor see (404) another tenant's output; the list shows only what the caller
# may manage; owner and scope survive a restart. file (and stdout) outputs write on the
# daemon's host, so only an admin may create or change one (403 naming the type); the admin
# gives them an owner here.
source "$(dirname "$0")/lib.sh"

OUT=$EVD_TMP/out
mkdir -p "$OUT"

evd_start --auth on --grpc off
ADMIN=$(cat "$EVD_DATA/admin.token")
[[ $ADMIN == evd_* ]] || evd_fail "no bootstrap token"

new_token() { # ROLE TENANT NAME
  evd_req POST /v1/tokens -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    --data-binary "{\"role\":\"$1\",\"tenant\":\"$2\",\"name\":\"$3\"}"
  assert_status 201 "create $1 token of '$2'"
  evd_json 'd["token"]'
}
DADM=$(new_token domain-admin acme acme-admin)
USER=$(new_token user acme/prod prod-user)
BUSER=$(new_token user beta beta-user)

as() { # TOKEN METHOD PATH [BODY]
  local tok=$1 m=$2 p=$3
  if [[ $# -ge 4 ]]; then
    evd_req "$m" "$p" -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' --data-binary "$4"
  else
    evd_req "$m" "$p" -H "Authorization: Bearer $tok"
  fi
}

evd_step "file outputs are admin-only: a domain-admin or user gets 403 naming the type"
as "$DADM" POST /v1/outputs "{\"name\":\"acme-all\",\"type\":\"file\",\"path\":\"$OUT/acme-all.jsonl\",\"scope\":\"domain\"}"
assert_status 403 "domain-admin file output"
assert_contains "$EVD_BODY" "output type 'file' writes where the daemon can write"
assert_contains "$EVD_BODY" "needs an admin token"
as "$USER" POST /v1/outputs "{\"name\":\"prod-own\",\"type\":\"stdout\"}"
assert_status 403 "user stdout output"
assert_contains "$EVD_BODY" "output type 'stdout'"

evd_step "the admin creates tenant-owned file outputs (owner acme, scope domain)"
as "$ADMIN" POST /v1/outputs "{\"name\":\"acme-all\",\"type\":\"file\",\"path\":\"$OUT/acme-all.jsonl\",\"owner\":\"acme\",\"scope\":\"domain\"}"
assert_status 201 "create acme-all"
assert_eq "$(evd_json 'd["owner"]')" "acme"
assert_eq "$(evd_json 'd["scope"]')" "domain"
as "$ADMIN" POST /v1/outputs "{\"name\":\"prod-own\",\"type\":\"file\",\"path\":\"$OUT/prod-own.jsonl\",\"owner\":\"acme/prod\",\"scope\":\"local\"}"
assert_status 201 "create prod-own"

evd_step "a user's output defaults to owner = its tenant, scope local"
as "$USER" POST /v1/outputs '{"name":"prod-hook","type":"webhook","url":"http://hooks.invalid/x","paused":true}'
assert_status 201 "create prod-hook"
assert_eq "$(evd_json 'd["owner"]')" "acme/prod"
assert_eq "$(evd_json 'd["scope"]')" "local"

evd_step "what may not be created is 403"
HOOK='"type":"webhook","url":"http://hooks.invalid/x","paused":true'
as "$USER" POST /v1/outputs "{\"name\":\"u-global\",$HOOK,\"scope\":\"global\"}"
assert_status 403 "user global"
as "$USER" POST /v1/outputs "{\"name\":\"u-domain\",$HOOK,\"scope\":\"domain\"}"
assert_status 403 "user domain"
as "$USER" POST /v1/outputs "{\"name\":\"u-other\",$HOOK,\"owner\":\"acme\",\"scope\":\"local\"}"
assert_status 403 "user other owner"
as "$DADM" POST /v1/outputs "{\"name\":\"d-global\",$HOOK,\"scope\":\"global\"}"
assert_status 403 "domain-admin global"
as "$DADM" POST /v1/outputs "{\"name\":\"d-beta\",$HOOK,\"owner\":\"beta\"}"
assert_status 403 "domain-admin owner outside its subtree"
as "$DADM" POST /v1/outputs "{\"name\":\"d-bad\",$HOOK,\"tenant\":\"beta\"}"
assert_status 400 "tenant filter outside the scope"
as "$ADMIN" POST /v1/outputs "{\"name\":\"root-all\",\"type\":\"file\",\"path\":\"$OUT/root-all.jsonl\",\"scope\":\"global\"}"
assert_status 201 "admin global"
as "$ADMIN" POST /v1/outputs "{\"name\":\"beta-own\",\"type\":\"file\",\"path\":\"$OUT/beta-own.jsonl\",\"owner\":\"beta\",\"scope\":\"local\"}"
assert_status 201 "beta output (by the admin)"

evd_step "visibility: lists and 404 for outputs of others"
as "$USER" GET /v1/outputs
assert_status 200 "user list"
assert_eq "$(evd_json '",".join(o["name"] for o in d["outputs"])')" "prod-hook,prod-own"
as "$USER" GET /v1/outputs/acme-all
assert_status 404 "user get domain output"
as "$USER" GET /v1/outputs/beta-own
assert_status 404 "user get other user's output"
as "$BUSER" DELETE /v1/outputs/prod-own
assert_status 404 "other user delete"
as "$BUSER" POST /v1/outputs/prod-own/pause
assert_status 404 "other user pause"
as "$DADM" GET /v1/outputs
assert_eq "$(evd_json '",".join(o["name"] for o in d["outputs"])')" "acme-all,prod-hook,prod-own"
as "$DADM" GET /v1/outputs/root-all
assert_status 404 "domain-admin get global output"
as "$ADMIN" GET /v1/outputs
assert_eq "$(evd_json '",".join(o["name"] for o in d["outputs"])')" "acme-all,beta-own,prod-hook,prod-own,root-all"
as "$USER" PATCH /v1/outputs/prod-hook '{"scope":"domain"}'
assert_status 403 "user widens its scope"
as "$USER" PATCH /v1/outputs/prod-own '{"batch":5}'
assert_status 403 "user changes a file output (admin-only type)"
assert_contains "$EVD_BODY" "output 'prod-own' is of type 'file'"
as "$USER" PUT /v1/outputs/prod-hook "{\"type\":\"file\",\"path\":\"$OUT/evil.jsonl\",\"scope\":\"local\"}"
assert_status 403 "user turns its webhook into a file output"
assert_contains "$EVD_BODY" "output type 'file'"
as "$USER" PATCH /v1/outputs/prod-hook '{"timeout_ms":5000}'
assert_status 200 "user changes its webhook"
assert_eq "$(evd_json 'd["scope"]')" "local"
assert_eq "$(evd_json 'd["owner"]')" "acme/prod"

evd_step "delivery: each output receives only its owner's (sub)tree"
batch='['
for t in acme acme/dev acme/prod acme/prod/x beta acme2 gamma; do
  for i in 1 2 3; do batch+="{\"type\":\"t.ev\",\"tenant\":\"$t\",\"message\":\"$t-$i\"},"; done
done
batch+='{"type":"t.end","tenant":"acme/prod","message":"end"},{"type":"t.end","tenant":"beta","message":"end"}]'
as "$ADMIN" POST /v1/events "$batch"
assert_status 200 "ingest"
for f in acme-all prod-own beta-own root-all; do
  for _ in $(seq 1 100); do grep -q '"t.end"' "$OUT/$f.jsonl" 2>/dev/null && break; sleep 0.1; done
  grep -q '"t.end"' "$OUT/$f.jsonl" 2>/dev/null || evd_fail "$f did not receive the end marker"
done
tenants() { # FILE: sorted distinct tenants of the t.ev events
  python3 -c '
import json, sys
s = set()
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("type") == "t.ev": s.add(e.get("tenant", ""))
print(",".join(sorted(s)))' "$1"
}
assert_eq "$(tenants "$OUT/acme-all.jsonl")" "acme,acme/dev,acme/prod,acme/prod/x"
assert_eq "$(tenants "$OUT/prod-own.jsonl")" "acme/prod"
assert_eq "$(tenants "$OUT/beta-own.jsonl")" "beta"
assert_eq "$(tenants "$OUT/root-all.jsonl")" "acme,acme/dev,acme/prod,acme/prod/x,acme2,beta,gamma"
assert_eq "$(grep -c '"t.ev"' "$OUT/acme-all.jsonl")" "12"

evd_step "owner and scope survive a restart"
evd_stop
evd_start --auth on --grpc off
as "$DADM" GET /v1/outputs/acme-all
assert_status 200 "get after restart"
assert_eq "$(evd_json 'd["owner"]+"|"+d["scope"]')" "acme|domain"
as "$USER" GET /v1/outputs/acme-all
assert_status 404 "still invisible to the user"

evd_stop
evd_pass
