#!/usr/bin/env bash
# GET /v1/events with every filter, cursor pagination in both orders (no gaps, no
# duplicates), count, histogram, get by id, and the 400s of bad query strings.
source "$(dirname "$0")/lib.sh"

evd_start

evd_step "load a known set of events"
# 60 events, one per second from T0, spread over types, streams, sources, severities, labels.
T0=1767225600 # 2026-01-01T00:00:00Z
python3 - "$T0" >"$EVD_TMP/events.ndjson" <<'EOF'
import json, sys
t0 = int(sys.argv[1])
sev = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
for i in range(60):
    e = {
        "time": t0 + i,
        "type": ["account.create", "account.delete", "vm.start"][i % 3],
        "stream": ["audit", "infra"][i % 2],
        "source": "host-%d" % (i % 4),
        "severity": sev[i % 5],
        "tag": "tag-%d" % (i % 6),
        "tenant": "t%d" % (i % 2),
        "labels": {"env": ["prod", "dev"][i % 2], "zone": "z%d" % (i % 3)},
        "message": "event number %d%s" % (i, " disk full" if i % 10 == 0 else ""),
        "id": "ev-%02d" % i,
    }
    if i % 7 == 0:
        e["correlation_id"] = "job-%d" % (i // 7)
    print(json.dumps(e))
EOF
evd_req POST /v1/events -H 'Content-Type: application/x-ndjson' --data-binary @"$EVD_TMP/events.ndjson"
assert_status 200 "load"
assert_eq "$(evd_json 'd["accepted"]')" 60 accepted

# count QUERY-STRING -> prints the count, asserting 200
count() {
  evd_req GET "/v1/events/count?$1"
  assert_status 200 "count $1"
  evd_json 'd["count"]'
}
# ids QUERY-STRING -> prints the ids of one page
ids() {
  evd_req GET "/v1/events?$1"
  assert_status 200 "query $1"
  evd_json '" ".join(e["id"] for e in d["events"])'
}

evd_step "each filter"
assert_eq "$(count '')" 60 "everything"
assert_eq "$(count 'type=vm.start')" 20 "type exact"
assert_eq "$(count 'type=account.*')" 40 "type prefix"
assert_eq "$(count 'stream=audit')" 30 stream
assert_eq "$(count 'source=host-1')" 15 source
assert_eq "$(count 'tag=tag-5')" 10 tag
assert_eq "$(count 'tenant=t1')" 30 tenant
assert_eq "$(count 'correlation_id=job-3')" 1 correlation_id
assert_eq "$(count 'severity=error')" 24 "severity minimum (ERROR and FATAL)"
assert_eq "$(count 'severity=17')" 24 "severity as a number"
assert_eq "$(count 'label=env:prod')" 30 "one label"
assert_eq "$(count 'label=env:prod&label=zone:z0')" 10 "two labels"
assert_eq "$(count 'key=audit.account.*')" 20 "key pattern with *"
assert_eq "$(count 'key=infra.%23')" 30 "key pattern with #"
assert_eq "$(count "since=$((T0 + 50))")" 10 "since (inclusive)"
assert_eq "$(count "until=$((T0 + 10))")" 10 "until (exclusive)"
assert_eq "$(count "since=2026-01-01T00:00:10Z&until=2026-01-01T00:00:20Z")" 10 "RFC 3339 range"
assert_eq "$(count 'q=disk+full')" 6 "message substring"
assert_eq "$(count 'stream=audit&type=account.*&severity=warn')" 12 "filters combine"
assert_eq "$(count 'since=-1h')" 0 "relative time (events are in the past)"

evd_step "query answer shape and order"
assert_eq "$(ids 'limit=3')" "ev-59 ev-58 ev-57" "default order is newest first"
assert_eq "$(ids 'limit=3&order=asc')" "ev-00 ev-01 ev-02" "asc"
evd_req GET "/v1/events?limit=1&type=vm.start&order=asc"
assert_eq "$(evd_json 'sorted(d["events"][0].keys())')" \
  '["id", "key", "labels", "message", "observed_time", "severity", "severity_number", "source", "stream", "tag", "tenant", "time", "type"]' \
  "canonical event members"
assert_eq "$(evd_json 'd["events"][0]["time"]')" "2026-01-01T00:00:02.000000000Z" "time format"
evd_req GET "/v1/events?type=vm.start&limit=100"
assert_eq "$(evd_json '"next" in d')" "false" "no next when everything fit"

evd_step "pagination covers everything exactly once, both orders"
for order in asc desc; do
  seen=()
  cursor=""
  pages=0
  while :; do
    q="limit=7&order=$order&stream=audit"
    [[ -n $cursor ]] && q="$q&cursor=$cursor"
    evd_req GET "/v1/events?$q"
    assert_status 200 "page $pages ($order)"
    page=$(evd_json '" ".join(e["id"] for e in d["events"])')
    seen+=($page)
    pages=$((pages + 1))
    cursor=$(evd_json 'd.get("next", "")')
    [[ -z $cursor ]] && break
    ((pages < 20)) || evd_fail "pagination does not end"
  done
  assert_eq "${#seen[@]}" 30 "$order: number of events over all pages"
  assert_eq "$(printf '%s\n' "${seen[@]}" | sort -u | wc -l)" 30 "$order: no duplicates"
  if [[ $order == asc ]]; then expected=$(printf '%s\n' "${seen[@]}" | sort | tr '\n' ' ')
  else expected=$(printf '%s\n' "${seen[@]}" | sort -r | tr '\n' ' '); fi
  assert_eq "$(printf '%s\n' "${seen[@]}" | tr '\n' ' ')" "$expected" "$order: in order across pages"
  assert_eq "$pages" 5 "$order: 30 events in pages of 7"
done

evd_step "events arriving between pages do not disturb the walk"
evd_req GET "/v1/events?limit=10&order=asc&type=vm.start"
c1=$(evd_json 'd["next"]')
first=$(evd_json '" ".join(e["id"] for e in d["events"])')
evd_post_json /v1/events "{\"type\":\"vm.start\",\"time\":$((T0 - 100)),\"id\":\"early\"}"
evd_req GET "/v1/events?limit=100&order=asc&type=vm.start&cursor=$c1"
rest=$(evd_json '" ".join(e["id"] for e in d["events"])')
assert_eq "$(echo $first $rest | wc -w)" 20 "the older insert is before the cursor, not in the walk"
assert_not_contains "$rest" "early" "older insert"

evd_step "bad query strings are 400s naming the parameter"
evd_req GET "/v1/events?colour=red"
assert_status 400 "unknown parameter"
assert_contains "$(evd_json 'd["error"]')" "'colour'"
evd_req GET "/v1/events?limit=10001"
assert_status 400 "limit over the maximum"
assert_contains "$(evd_json 'd["error"]')" "between 1 and 10000"
evd_req GET "/v1/events?cursor=garbage"
assert_status 400 "bad cursor"
assert_contains "$(evd_json 'd["error"]')" "'cursor'"
evd_req GET "/v1/events?order=desc&cursor=$c1"
assert_status 400 "cursor from another order"
evd_req GET "/v1/events?since=last+tuesday"
assert_status 400 "bad since"
evd_req GET "/v1/events?stream=a&stream=b"
assert_status 400 "repeated parameter"

evd_step "get by id"
evd_req GET /v1/events/ev-07
assert_status 200 "get ev-07"
assert_eq "$(evd_json 'd["correlation_id"]')" job-1 "the right event"
evd_req GET /v1/events/ev-07%2Fx
assert_status 404 "encoded slash is part of the id"

evd_step "histogram"
evd_req GET "/v1/events/histogram?interval=10s&since=$T0&until=$((T0 + 60))"
assert_status 200 histogram
assert_eq "$(evd_json 'd["interval"]')" 10s "interval echoed"
assert_eq "$(evd_json '[b["count"] for b in d["buckets"]]')" "[10, 10, 10, 10, 10, 10]" "bucket counts"
assert_eq "$(evd_json 'd["buckets"][1]["time"]')" "2026-01-01T00:00:10.000000000Z" "bucket time"
evd_req GET "/v1/events/histogram?interval=30s&by=type&since=$T0&until=$((T0 + 60))"
assert_status 200 "histogram by type"
assert_eq "$(evd_json 'd["buckets"][0]["groups"]')" \
  '{"account.create": 10, "account.delete": 10, "vm.start": 10}' "groups"
evd_req GET "/v1/events/histogram?interval=1m&by=severity&type=vm.start&since=$T0"
assert_status 200 "histogram by severity"
assert_eq "$(evd_json 'sum(d["buckets"][0]["groups"].values())')" 20 "severity groups sum"
evd_req GET "/v1/events/histogram?by=type"
assert_status 400 "interval is required"
assert_contains "$(evd_json 'd["error"]')" "interval"
evd_req GET "/v1/events/histogram?interval=1s&since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z"
assert_status 400 "too many buckets"
assert_contains "$(evd_json 'd["error"]')" "buckets"

evd_stop
assert_eq "$EVD_EXIT" 0 "exit status"
evd_pass
