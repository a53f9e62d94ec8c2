#!/usr/bin/env bash
# Event lifecycle (docs/lifecycle.md): archive hides events from every read path unless
# archived=true is asked for; delete removes them from every read path; counts stay right;
# permissions per role (a user its own tenant, a domain admin its subtree, read tokens
# refused); the audit stream records each operation and non-admins cannot remove it; marks
# survive a restart; purge (POST /v1/events/purge, admin only) deletes by purge.after.
source "$(dirname "$0")/lib.sh"

evd_start --auth on
ADMIN=$(cat "$EVD_DATA/admin.token")
A=(-H "Authorization: Bearer $ADMIN")
mk() { # mk ROLE TENANT NAME: print the new token
  evd_req POST /v1/tokens "${A[@]}" -H 'Content-Type: application/json' \
    --data-binary "{\"role\":\"$1\",\"tenant\":\"$2\",\"name\":\"$3\"}"
  assert_status 201 "create $1 of '$2'"
  evd_json 'd["token"]'
}
USER_P=$(mk user acme/prod user-prod)
USER_O=$(mk user other user-other)
DADMIN=$(mk domain-admin acme dadmin-acme)
READ=$(mk read acme read-acme)
as() { local t=$1; shift; local m=$1 p=$2; shift 2; evd_req "$m" "$p" -H "Authorization: Bearer $t" "$@"; }
lc() { as "$1" POST "/v1/events/$2" -H 'Content-Type: application/json' --data-binary "$3"; }
count() { as "$ADMIN" GET "/v1/events/count?$1"; assert_status 200 "count $1"; evd_json 'd["count"]'; }

evd_step "seed: 10 events of acme/prod, 5 of other, 3 of acme/dev"
{
  for i in $(seq 1 10); do echo "{\"id\":\"p-$i\",\"type\":\"vm.created\",\"tenant\":\"acme/prod\",\"stream\":\"s\"}"; done
  for i in $(seq 1 5); do echo "{\"id\":\"o-$i\",\"type\":\"vm.created\",\"tenant\":\"other\",\"stream\":\"s\"}"; done
  for i in $(seq 1 3); do echo "{\"id\":\"d-$i\",\"type\":\"vm.deleted\",\"tenant\":\"acme/dev\",\"stream\":\"s\"}"; done
} >"$EVD_TMP/seed.ndjson"
as "$ADMIN" POST /v1/events -H 'Content-Type: application/x-ndjson' --data-binary "@$EVD_TMP/seed.ndjson"
assert_status 200 "seed"
assert_eq "$(count stream=s)" 18 "all seeded"

evd_step "the request must name ids, type or until (400 naming the rule)"
lc "$ADMIN" archive '{}'
assert_status 400 "empty body"
assert_contains "$EVD_BODY" "at least one of ids, type or until" "names the rule"
lc "$ADMIN" delete '{"since":"-1h"}'
assert_status 400 "since alone"
lc "$ADMIN" delete '{"type":"x","bogus":1}'
assert_status 400 "unknown member"
as "$ADMIN" GET /v1/events/archive
assert_status 405 "GET is not allowed"

evd_step "read tokens may not archive or delete"
lc "$READ" archive '{"type":"vm.created"}'
assert_status 403 "read archive"
lc "$READ" delete '{"ids":["p-1"]}'
assert_status 403 "read delete"

evd_step "a user archives by type: only its own tenant's events"
lc "$USER_P" archive '{"type":"vm.created"}'
assert_status 200 "user archive"
assert_eq "$EVD_BODY" '{"archived":10}' "archived count"
assert_eq "$(count 'stream=s&type=vm.created')" 5 "archived hidden from count"
assert_eq "$(count 'stream=s&type=vm.created&archived=true')" 10 "archived=true counts them"
assert_eq "$(count 'stream=s&archived=any')" 18 "archived=any counts all"
as "$ADMIN" GET "/v1/events?stream=s&limit=100"
assert_eq "$(evd_json 'len(d["events"])')" 8 "archived hidden from query"
assert_not_contains "$EVD_BODY" '"p-' "no archived event listed"
as "$ADMIN" GET "/v1/events?stream=s&archived=true&limit=100"
assert_eq "$(evd_json 'sorted(e["id"] for e in d["events"])[0]')" "p-1" "archived=true lists them"
as "$ADMIN" GET "/v1/events/histogram?stream=s&interval=1d"
assert_eq "$(evd_json 'sum(b["count"] for b in d["buckets"])')" 8 "archived hidden from histogram"
as "$ADMIN" GET /v1/events/p-1
assert_status 404 "archived hidden from get"
as "$ADMIN" GET "/v1/events/p-1?archived=true"
assert_status 200 "get with archived=true"
lc "$USER_P" archive '{"type":"vm.created"}'
assert_eq "$EVD_BODY" '{"archived":0}' "archiving again changes nothing"

evd_step "a user of another tenant deletes nothing it cannot see"
lc "$USER_O" delete '{"ids":["p-2","p-3","d-1"]}'
assert_status 200 "other user delete"
assert_eq "$EVD_BODY" '{"deleted":0}' "nothing visible to it"

evd_step "a domain admin deletes within its subtree (archived ones included)"
lc "$DADMIN" delete '{"ids":["p-2","p-3","o-1","d-1","no-such-id"]}'
assert_status 200 "domain-admin delete"
assert_eq "$EVD_BODY" '{"deleted":3}' "p-2, p-3, d-1 (o-1 is outside acme)"
assert_eq "$(count 'stream=s&archived=any')" 15 "deleted gone from count"
assert_eq "$(count 'stream=s&archived=true')" 8 "deleted archived ones gone too"
assert_eq "$(count 'stream=s&type=vm.deleted')" 2 "count by type"
for id in p-2 d-1; do
  as "$ADMIN" GET "/v1/events/$id?archived=true"
  assert_status 404 "deleted $id gone from get"
done
as "$ADMIN" GET "/v1/events?stream=s&archived=any&limit=100"
assert_eq "$(evd_json 'len(d["events"])')" 15 "deleted gone from query"
as "$ADMIN" GET "/v1/events/histogram?stream=s&interval=1d&archived=any&by=type"
assert_eq "$(evd_json 'sum(b["count"] for b in d["buckets"])')" 15 "deleted gone from histogram"
curl -sS -N --max-time 2 -H "Authorization: Bearer $ADMIN" "$EVD_URL/v1/tail?stream=s&archived=any&since=-1h" >"$EVD_TMP/tail.out" 2>/dev/null || true
assert_eq "$(grep -c '^data:' "$EVD_TMP/tail.out")" 15 "deleted gone from tail history"

evd_step "delete by until: a user deletes its tenant's events up to a time"
lc "$USER_P" delete '{"until":"+1h"}'
assert_eq "$EVD_BODY" '{"deleted":8}' "the 8 remaining acme/prod events (archived included)"
assert_eq "$(count 'stream=s&archived=any')" 7 "o-1..o-5, d-2, d-3"

evd_step "the audit stream records each operation with who and how many"
as "$ADMIN" GET "/v1/events?stream=audit&limit=100&order=asc"
assert_eq "$(evd_json '[e["type"] for e in d["events"]]')" '["event.archived", "event.deleted", "event.deleted"]' "audit types"
assert_eq "$(evd_json 'd["events"][0]["data"]["by"]')" "user-prod" "who"
assert_eq "$(evd_json 'd["events"][0]["data"]["count"]')" 10 "how many"
assert_eq "$(evd_json 'd["events"][0]["tenant"]')" "acme/prod" "in the caller's tenant"
assert_eq "$(evd_json 'd["events"][1]["data"]["request"]["ids"][0]')" "p-2" "what"
AUDIT_ID=$(evd_json 'd["events"][1]["id"]')

evd_step "non-admins cannot delete or archive audit events; the admin can"
lc "$DADMIN" delete "{\"ids\":[\"$AUDIT_ID\"]}"
assert_eq "$EVD_BODY" '{"deleted":0}' "domain admin: audit event protected"
lc "$DADMIN" delete '{"type":"event.deleted"}'
assert_eq "$EVD_BODY" '{"deleted":0}' "domain admin by type: protected"
lc "$DADMIN" archive '{"type":"event.archived"}'
assert_eq "$EVD_BODY" '{"archived":0}' "protected from archive too"
lc "$ADMIN" delete "{\"ids\":[\"$AUDIT_ID\"]}"
assert_eq "$EVD_BODY" '{"deleted":1}' "admin may"

evd_step "a long id list is audited as its first 100 ids and the total"
python3 -c "
import json
print(json.dumps({'ids': ['o-2', 'o-3'] + ['missing-%d' % i for i in range(148)]}))" >"$EVD_TMP/many.json"
as "$ADMIN" POST /v1/events/delete -H 'Content-Type: application/json' --data-binary "@$EVD_TMP/many.json"
assert_eq "$EVD_BODY" '{"deleted":2}' "two existed"
as "$ADMIN" GET "/v1/events?stream=audit&type=event.deleted&limit=1"
assert_eq "$(evd_json 'd["events"][0]["data"]["request"]["ids_total"]')" 150 "ids_total"
assert_eq "$(evd_json 'len(d["events"][0]["data"]["request"]["ids"])')" 100 "first 100 ids"
assert_eq "$(evd_json 'd["events"][0]["data"]["count"]')" 2 "count"

evd_step "marks are durable: the same answers after a restart"
before=$(count 'archived=any')
evd_stop
evd_start --auth on
assert_eq "$(count 'archived=any')" "$before" "count after restart"
assert_eq "$(count 'stream=s&archived=true')" 0 "no archived left (all deleted)"
as "$ADMIN" GET "/v1/events/p-5?archived=true"
assert_status 404 "deleted stays deleted"

evd_step "purge: admin only; deletes events older than purge.after"
evd_stop
evd_start --auth on --set purge.after=1d
OLD=$(date -u -d '3 days ago' +%Y-%m-%dT%H:%M:%SZ)
{
  for i in $(seq 1 4); do echo "{\"id\":\"old-$i\",\"type\":\"vm.old\",\"tenant\":\"other\",\"stream\":\"s\",\"time\":\"$OLD\"}"; done
} >"$EVD_TMP/old.ndjson"
as "$ADMIN" POST /v1/events -H 'Content-Type: application/x-ndjson' --data-binary "@$EVD_TMP/old.ndjson"
assert_status 200 "old events"
as "$DADMIN" POST /v1/events/purge
assert_status 403 "domain admin may not purge"
as "$ADMIN" POST /v1/events/purge
assert_status 200 "admin purge"
assert_eq "$EVD_BODY" '{"deleted":4}' "the 4 old events"
assert_eq "$(count 'type=vm.old&archived=any')" 0 "gone"
assert_eq "$(count 'stream=s&archived=any')" 5 "recent ones kept (o-1, o-4, o-5, d-2, d-3)"
as "$ADMIN" GET "/v1/events?stream=audit&type=event.purged"
assert_eq "$(evd_json 'd["events"][0]["data"]["count"]')" 4 "purge audited"

evd_step "the audit event is durable before the answer: kill -9 right after a delete keeps it"
as "$ADMIN" POST /v1/events -H 'Content-Type: application/json' --data-binary '{"id":"k-1","type":"vm.k","tenant":"other","stream":"s"}'
assert_status 200 "event to delete"
as "$ADMIN" POST /v1/events/delete -H 'Content-Type: application/json' --data-binary '{"ids":["k-1"]}'
assert_eq "$EVD_BODY" '{"deleted":1}' "deleted"
evd_stop KILL
evd_start --auth on
as "$ADMIN" GET "/v1/events?stream=audit&type=event.deleted&limit=1"
assert_eq "$(evd_json 'd["events"][0]["data"]["request"]["ids"][0]')" k-1 "the delete's audit event survived kill -9"
evd_stop
evd_pass
