#!/usr/bin/env bash
# Output names are unique per owner tenant (issue 7; docs/outputs.md "Names"): two tenants
# may each have an output "hooks" (no 409 leaking the other's), /v1/outputs/NAME means the
# caller's own tenant's output first, else the only one it may manage, else 409 "ambiguous:
# add ?owner=TENANT"; ?owner= selects on every route and eventctl has --owner; same-named
# outputs keep separate cursors and deliveries; metrics carry owner="T"; a meta.db written
# before this (rows keyed by name) is migrated at start, owners taken from the stored specs.
source "$(dirname "$0")/lib.sh"

OUT=$EVD_TMP/out
mkdir -p "$OUT"
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
new_token() { # ROLE TENANT NAME
  as "$ADMIN" POST /v1/tokens "{\"role\":\"$1\",\"tenant\":\"$2\",\"name\":\"$3\"}"
  assert_status 201 "create $1 token of '$2'"
  evd_json 'd["token"]'
}
UA=$(new_token user acme/prod prod-user)
UB=$(new_token user beta beta-user)
DA=$(new_token domain-admin acme acme-admin)
HOOK='"type":"webhook","url":"http://hooks.invalid/x","paused":true'

evd_step "two tenants each create an output named hooks"
as "$UA" POST /v1/outputs "{\"name\":\"hooks\",$HOOK}"
assert_status 201 "acme/prod's hooks"
as "$UB" POST /v1/outputs "{\"name\":\"hooks\",$HOOK}"
assert_status 201 "beta's hooks (no 409 telling it acme/prod has one)"
as "$UA" POST /v1/outputs "{\"name\":\"hooks\",$HOOK}"
assert_status 409 "the same owner twice"

evd_step "NAME resolves to the caller's own tenant's output"
as "$UA" GET /v1/outputs/hooks
assert_status 200 "user a"
assert_eq "$(evd_json 'd["owner"]')" "acme/prod"
as "$UB" GET /v1/outputs/hooks
assert_eq "$(evd_json 'd["owner"]')" "beta"
as "$DA" GET /v1/outputs/hooks
assert_status 200 "the domain-admin sees only acme/prod's: the unique visible one"
assert_eq "$(evd_json 'd["owner"]')" "acme/prod"
as "$UB" GET "/v1/outputs/hooks?owner=acme/prod"
assert_status 404 "another tenant's output stays invisible with ?owner="

evd_step "an admin seeing several gets 409 ambiguous, and ?owner= selects"
as "$ADMIN" GET /v1/outputs/hooks
assert_status 409 "ambiguous"
assert_contains "$EVD_BODY" "ambiguous"
assert_contains "$EVD_BODY" "?owner=TENANT"
as "$ADMIN" GET "/v1/outputs/hooks?owner=beta"
assert_status 200 "?owner=beta"
assert_eq "$(evd_json 'd["owner"]')" "beta"
as "$ADMIN" POST "/v1/outputs/hooks/resume?owner=beta"
assert_status 200 "resume beta's"
as "$UB" GET /v1/outputs/hooks
assert_eq "$(evd_json 'd["status"]["state"]')" "running"
as "$UA" GET /v1/outputs/hooks
assert_eq "$(evd_json 'd["status"]["state"]')" "paused" "acme/prod's is untouched"
as "$ADMIN" GET /v1/outputs
assert_eq "$(evd_json '",".join(o["name"]+"@"+o["owner"] for o in d["outputs"])')" "hooks@acme/prod,hooks@beta"
as "$ADMIN" POST /v1/outputs "{\"name\":\"hooks\",$HOOK}"
assert_status 201 "the admin's own (root) hooks"
as "$ADMIN" GET /v1/outputs/hooks
assert_status 200 "the admin's own tenant (the root) comes first"
assert_eq "$(evd_json 'd["owner"]')" ""
as "$ADMIN" PATCH "/v1/outputs/hooks?owner=beta" '{"owner":"acme"}'
assert_status 400 "the owner is part of the identity"
assert_contains "$EVD_BODY" "owner: cannot be changed"

evd_step "eventctl --owner"
out=$("$EVD_EVENTCTL" --token "$ADMIN" outputs get hooks --owner beta) || evd_fail "eventctl get --owner"
assert_contains "$out" '"owner": "beta"'
out=$("$EVD_EVENTCTL" --token "$ADMIN" outputs list) || evd_fail "eventctl list"
assert_contains "$out" "OWNER"
assert_contains "$out" "acme/prod"
"$EVD_EVENTCTL" --token "$ADMIN" outputs pause hooks --owner beta >/dev/null || evd_fail "eventctl pause --owner"
as "$UB" GET /v1/outputs/hooks
assert_eq "$(evd_json 'd["status"]["state"]')" "paused"

evd_step "same-named outputs deliver separately (own cursors) and are labelled by owner"
as "$ADMIN" POST /v1/outputs "{\"name\":\"sink\",\"type\":\"file\",\"path\":\"$OUT/acme.jsonl\",\"owner\":\"acme\",\"scope\":\"domain\"}"
assert_status 201 "acme sink"
as "$ADMIN" POST /v1/outputs "{\"name\":\"sink\",\"type\":\"file\",\"path\":\"$OUT/beta.jsonl\",\"owner\":\"beta\",\"scope\":\"domain\"}"
assert_status 201 "beta sink"
as "$ADMIN" POST /v1/events '[{"type":"n.ev","tenant":"acme","message":"a1"},{"type":"n.ev","tenant":"beta","message":"b1"},{"type":"n.ev","tenant":"acme/x","message":"a2"}]'
assert_status 200 "ingest"
for f in acme beta; do
  for _ in $(seq 1 100); do [[ -s $OUT/$f.jsonl ]] && break; sleep 0.1; done
done
sleep 0.3
assert_eq "$(grep -c '"n.ev"' "$OUT/acme.jsonl")" "2"
assert_eq "$(grep -c '"n.ev"' "$OUT/beta.jsonl")" "1"
as "$ADMIN" GET "/v1/outputs/sink?owner=acme"
assert_eq "$(evd_json 'd["status"]["delivered"]')" "2"
as "$ADMIN" GET /metrics
assert_contains "$EVD_BODY" 'eventd_output_delivered_total{output="sink",owner="acme"} 2'
assert_contains "$EVD_BODY" 'eventd_output_delivered_total{output="sink",owner="beta"} 1'

evd_step "state survives a restart, per owner"
evd_stop
evd_start --auth on --grpc off
as "$UA" GET /v1/outputs/hooks
assert_eq "$(evd_json 'd["status"]["state"]')" "paused"
as "$ADMIN" GET "/v1/outputs/sink?owner=beta"
assert_eq "$(evd_json 'd["status"]["cursor"]')" "$(evd_json 'd["status"]["committed_seq"]')"
as "$UA" DELETE /v1/outputs/hooks
assert_status 200 "delete acme/prod's"
as "$UB" GET /v1/outputs/hooks
assert_status 200 "beta's is still there"
evd_stop

evd_step "a meta.db keyed by name (before owners were part of the key) is migrated"
OLD=$EVD_TMP/old
mkdir -p "$OLD"
/usr/bin/python3 - "$OLD/meta.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE outputs(name TEXT PRIMARY KEY, spec TEXT NOT NULL, created_ns INTEGER NOT NULL);
CREATE TABLE cursors(name TEXT PRIMARY KEY, seq INTEGER NOT NULL, paused INTEGER NOT NULL DEFAULT 0, updated_ns INTEGER NOT NULL DEFAULT 0);
CREATE TABLE dead(output TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT NOT NULL, error TEXT NOT NULL, attempts INTEGER NOT NULL, time_ns INTEGER NOT NULL, PRIMARY KEY(output, seq));
CREATE TABLE deliveries(id INTEGER PRIMARY KEY AUTOINCREMENT, output TEXT NOT NULL, first_seq INTEGER, last_seq INTEGER, event_id TEXT, count INTEGER, code INTEGER, latency_ns INTEGER, ok INTEGER, response TEXT, error TEXT, time_ns INTEGER);
INSERT INTO outputs VALUES('old1', '{"name":"old1","type":"webhook","url":"http://hooks.invalid/","owner":"acme","scope":"domain"}', 1);
INSERT INTO outputs VALUES('old2', '{"name":"old2","type":"webhook","url":"http://hooks.invalid/"}', 1);
INSERT INTO cursors VALUES('old1', 0, 1, 1);
INSERT INTO cursors VALUES('gone', 7, 0, 1);
INSERT INTO dead VALUES('old1', 5, '01OLDDEAD', 'HTTP 400', 3, 1);
INSERT INTO deliveries(output, first_seq, last_seq, event_id, count, code, latency_ns, ok, response, error, time_ns) VALUES('old1', 5, 5, '01OLDDEAD', 1, 400, 1000, 0, 'bad', NULL, 1);
""")
db.commit()
PY
EVD_DATA=$OLD evd_start --grpc off
evd_req GET /v1/outputs/old1
assert_status 200 "old1 after the migration"
assert_eq "$(evd_json 'd["owner"]+"|"+d["status"]["state"]')" "acme|paused" "owner from the spec, paused flag kept"
evd_req GET /v1/outputs/old1/dead
assert_eq "$(evd_json 'd["total"]')" "1" "its dead letter"
evd_req GET /v1/outputs/old1/deliveries
assert_eq "$(evd_json 'd["deliveries"][0]["event_id"]')" "01OLDDEAD" "its delivery history"
evd_req GET /v1/outputs/old2
assert_eq "$(evd_json 'd["owner"]')" "" "no owner in the spec: the root"
evd_stop
keys=$(/usr/bin/python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("PRAGMA user_version").fetchone()[0],
      ",".join(r[0] for r in db.execute("SELECT name FROM cursors ORDER BY name")),
      ",".join(r[0] for r in db.execute("SELECT output FROM dead")))' "$OLD/meta.db")
assert_eq "$keys" "2 :gone,:old2,acme:old1 acme:old1" "rows keyed OWNER:NAME, schema version 2"

evd_pass
