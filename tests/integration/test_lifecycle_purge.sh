#!/usr/bin/env bash
# Event lifecycle, part 2 (docs/lifecycle.md): eventctl archive|delete|purge; the periodic
# purge (purge.after, purge.archived_after, purge.streams on purge.interval); and space
# actually reclaimed: deleting most events of a sealed segment makes the store compact it,
# so the data directory shrinks, while the remaining events keep their ids and seqs.
source "$(dirname "$0")/lib.sh"

OLD=$(date -u -d '3 days ago' +%Y-%m-%dT%H:%M:%SZ)
MID=$(date -u -d '36 hours ago' +%Y-%m-%dT%H:%M:%SZ)
count() { evd_req GET "/v1/events/count?$1"; assert_status 200 "count $1"; evd_json 'd["count"]'; }

evd_step "eventctl archive / delete / purge"
evd_start --set purge.after=2d
{
  for i in $(seq 1 6); do echo "{\"id\":\"c-$i\",\"type\":\"app.login\",\"stream\":\"app\"}"; done
  for i in $(seq 1 3); do echo "{\"id\":\"old-$i\",\"type\":\"app.old\",\"stream\":\"app\",\"time\":\"$OLD\"}"; done
} >"$EVD_TMP/a.ndjson"
evd_post_ndjson /v1/events "$(cat "$EVD_TMP/a.ndjson")"
assert_status 200 "seed"
out=$("$EVD_EVENTCTL" archive --id c-1 --id c-2)
assert_eq "$out" "archived 2 events" "eventctl archive"
assert_eq "$("$EVD_EVENTCTL" count --stream app --archived true)" 2 "eventctl count --archived true"
assert_eq "$("$EVD_EVENTCTL" count --stream app)" 7 "eventctl count hides archived"
out=$("$EVD_EVENTCTL" delete --type app.login --since -1h --until +1h)
assert_eq "$out" "deleted 6 events" "eventctl delete (archived included)"
set +e
"$EVD_EVENTCTL" delete --since -1h >/dev/null 2>"$EVD_TMP/err"
rc=$?
set -e
assert_eq "$rc" 64 "usage error without ids/type/until"
assert_contains "$(cat "$EVD_TMP/err")" "at least one of --id, --type or --until" "names the rule"
out=$("$EVD_EVENTCTL" purge)
assert_eq "$out" "deleted 3 events" "eventctl purge (events older than 2d)"
assert_eq "$(count 'stream=app&archived=any')" 0 "all gone"
evd_stop

evd_step "periodic purge: per-stream rule and archived retention"
EVD_DATA=$EVD_TMP/periodic
evd_start --set purge.interval=1s --set purge.streams=debug=1d --set purge.archived_after=1d
{
  echo "{\"id\":\"dbg-old\",\"type\":\"x\",\"stream\":\"debug\",\"time\":\"$MID\"}"
  echo "{\"id\":\"app-mid\",\"type\":\"x\",\"stream\":\"app\",\"time\":\"$MID\"}"
  echo "{\"id\":\"app-mid-arch\",\"type\":\"y\",\"stream\":\"app\",\"time\":\"$MID\"}"
  echo "{\"id\":\"dbg-new\",\"type\":\"x\",\"stream\":\"debug\"}"
} >"$EVD_TMP/p.ndjson"
evd_post_ndjson /v1/events "$(cat "$EVD_TMP/p.ndjson")"
assert_status 200 "seed"
evd_post_json /v1/events/archive '{"ids":["app-mid-arch"]}'
assert_eq "$EVD_BODY" '{"archived":1}' "archive one"
gone() { evd_req GET /v1/events/dbg-old; [[ $EVD_STATUS == 404 ]]; }
evd_wait_for gone || evd_fail "the periodic purge did not delete dbg-old"
evd_req GET "/v1/events/app-mid-arch?archived=true"
for _ in $(seq 1 30); do [[ $EVD_STATUS == 404 ]] && break; sleep 0.1; evd_req GET "/v1/events/app-mid-arch?archived=true"; done
assert_status 404 "archived event past purge.archived_after deleted"
evd_req GET /v1/events/app-mid
assert_status 200 "no global purge.after: app-mid kept"
evd_req GET /v1/events/dbg-new
assert_status 200 "recent debug event kept"
evd_stop

evd_step "space is reclaimed: compaction after deleting most of a sealed segment"
EVD_DATA=$EVD_TMP/compact
evd_start
PAD=$(head -c 900 /dev/zero | tr '\0' 'x')
python3 -c "
import json
for i in range(3000):
    print(json.dumps({'id': 'k-%d' % i, 'type': 'bulk.keep' if i % 10 == 0 else 'bulk.drop', 'stream': 'bulk', 'message': '$PAD'}))
" >"$EVD_TMP/bulk.ndjson"
evd_req POST /v1/events -H 'Content-Type: application/x-ndjson' --data-binary "@$EVD_TMP/bulk.ndjson"
assert_status 200 "3000 events (~3 MB)"
evd_stop
evd_start # reopening seals the segment
before=$(du -sk "$EVD_DATA" | cut -f1)
evd_post_json /v1/events/delete '{"type":"bulk.drop"}'
assert_eq "$EVD_BODY" '{"deleted":2700}' "delete 90%"
shrunk() { [[ $(du -sk "$EVD_DATA" | cut -f1) -lt $((before / 2)) ]]; }
evd_wait_for shrunk || { sleep 5; shrunk; } || evd_fail "data dir did not shrink: before ${before}k, now $(du -sk "$EVD_DATA" | cut -f1)k"
after=$(du -sk "$EVD_DATA" | cut -f1)
echo "data dir: ${before} KiB -> ${after} KiB"
assert_eq "$(count 'stream=bulk')" 300 "kept events counted"
evd_req GET /v1/events/k-1230
assert_status 200 "a kept event by id"
evd_req GET /v1/events/k-1231
assert_status 404 "a deleted one"
evd_stop
evd_start
assert_eq "$(count 'stream=bulk')" 300 "after restart"
evd_stop
evd_pass
