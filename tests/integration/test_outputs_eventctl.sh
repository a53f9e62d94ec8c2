#!/usr/bin/env bash
# eventctl outputs: create (flags and file), list, get, update, pause/resume, replay, dead,
# deliveries, test, delete; errors exit 1 with eventd's message.
source "$(dirname "$0")/lib.sh"

OUT=$EVD_TMP/out
mkdir -p "$OUT"
ctl() { "$EVD_EVENTCTL" --url "$EVD_URL" outputs "$@"; }

evd_start --grpc off

evd_step "create from flags and from a file"
ctl create --name f1 --type file --match 'app.#' --set path="$OUT/f1.jsonl" --set batch=5 >"$EVD_TMP/c1" ||
  evd_fail "create f1"
assert_contains "$(cat "$EVD_TMP/c1")" '"batch": 5'
printf '{"name":"f2","type":"file","path":"%s","match":"other.*"}' "$OUT/f2.jsonl" >"$EVD_TMP/f2.json"
ctl create --file "$EVD_TMP/f2.json" >/dev/null || evd_fail "create f2 from a file"
ctl create --name f1 --type file --set path=/tmp/x 2>"$EVD_TMP/err"
assert_eq "$?" 1 "duplicate exits 1"
assert_contains "$(cat "$EVD_TMP/err")" "already exists"
ctl create --name bad --type file 2>"$EVD_TMP/err"
assert_eq "$?" 1 "bad spec exits 1"
assert_contains "$(cat "$EVD_TMP/err")" "path"
ctl create --type file 2>/dev/null
assert_eq "$?" 64 "usage error"

evd_step "events flow; list and get"
evd_post_json /v1/events '[{"stream":"app","type":"a"},{"stream":"other","type":"b"},{"stream":"app","type":"c"}]'
assert_status 200
for _ in $(seq 1 50); do [[ -f $OUT/f1.jsonl && $(wc -l <"$OUT/f1.jsonl") -ge 2 ]] && break; sleep 0.1; done
assert_eq "$(wc -l <"$OUT/f1.jsonl")" 2 "f1 got the app events"
list=$(ctl list) || evd_fail "list"
assert_contains "$list" "NAME"
assert_contains "$list" "f2"
ctl get f1 | grep -q '"delivered": 2' || evd_fail "get f1 shows 2 delivered"

evd_step "update, pause, resume, replay"
ctl update f1 --set batch=9 | grep -q '"batch": 9' || evd_fail "update"
ctl pause f1 | grep -q '"paused": true' || evd_fail "pause"
ctl get f1 | grep -q '"state": "paused"' || evd_fail "paused state"
ctl resume f1 >/dev/null || evd_fail "resume"
ctl replay f1 --since -1h >/dev/null || evd_fail "replay"
for _ in $(seq 1 50); do [[ $(wc -l <"$OUT/f1.jsonl") -ge 4 ]] && break; sleep 0.1; done
assert_eq "$(wc -l <"$OUT/f1.jsonl")" 4 "replayed"
ctl replay f1 2>/dev/null
assert_eq "$?" 64 "replay needs --since or --after-id"

evd_step "dead letters, deliveries, test"
ctl dead f1 | grep -q '"total": 0' || evd_fail "dead list"
ctl dead f1 redeliver | grep -q '"queued": 0' || evd_fail "redeliver"
ctl dead f1 purge | grep -q '"purged": 0' || evd_fail "purge"
ctl deliveries f1 --limit 1 | grep -q '"ok": true' || evd_fail "deliveries"
ctl test f1 | grep -q '"ok": true' || evd_fail "test"

evd_step "delete"
ctl delete f2 >/dev/null || evd_fail "delete"
ctl get f2 2>/dev/null
assert_eq "$?" 1 "gone"
evd_stop
evd_pass
