#!/usr/bin/env bash
# eventctl against a real eventd: send (the CI example, data, ids, NDJSON batches), refusals
# and their exit status/messages, connection failure (exit 2) and retry, query in table /
# JSON / NDJSON with filters, --all pagination, count, histogram, get, health, URL encoding of
# filter values, and --help of every command.
source "$(dirname "$0")/lib.sh"

E=$EVD_EVENTCTL
[[ -x $E ]] || evd_fail "$E not built"

# run_ctl ARGS... -> runs eventctl; sets OUT, ERR, RC
run_ctl() {
  "$E" "$@" >"$EVD_TMP/out" 2>"$EVD_TMP/err"
  RC=$?
  OUT=$(cat "$EVD_TMP/out")
  ERR=$(cat "$EVD_TMP/err")
}
expect_rc() { # expect_rc CODE WHAT
  [[ $RC == "$1" ]] || evd_fail "$2: expected exit $1, got $RC; stdout '${OUT:0:400}' stderr '${ERR:0:400}'"
}
lines() { if [[ -z $1 ]]; then echo 0; else printf '%s\n' "$1" | wc -l; fi; }

evd_step "--help of eventctl and of every command exits 0 and documents its options"
run_ctl --help
expect_rc 0 "eventctl --help"
for word in SYNOPSIS COMMANDS send query count histogram get tail health "EXIT STATUS" EVENTD_URL; do
  assert_contains "$OUT" "$word" "eventctl --help"
done
run_ctl --version
expect_rc 0 "--version"
assert_contains "$OUT" "eventctl " "--version"
declare -A opts=(
  [send]="--type --stream --tag --source --severity --label --data --data-file --time --id --key --tenant --correlation-id --state --ndjson --retries --url --timeout"
  [query]="--stream --type --tag --source --tenant --severity --label --key --since --until --q --correlation-id --limit --order --all --json --ndjson --table"
  [count]="--stream --type --label --key --since --until --json"
  [histogram]="--interval --by --since --json"
  [get]="ID --compact"
  [tail]="--key --ndjson --table --after --since Last-Event-ID SIGINT"
  [health]="--wait --json"
)
for cmd in "${!opts[@]}"; do
  for form in "$cmd --help" "help $cmd" "$cmd -h"; do
    # shellcheck disable=SC2086
    run_ctl $form
    expect_rc 0 "eventctl $form"
    for word in NAME SYNOPSIS DESCRIPTION OPTIONS EXAMPLES "EXIT STATUS" ${opts[$cmd]}; do
      assert_contains "$OUT" "$word" "eventctl $form"
    done
  done
done
run_ctl send --help
assert_contains "$OUT" "--retries" "send --help mentions retries"
assert_contains "$OUT" "503" "send --help explains what is retried"

evd_step "usage errors exit 64 with a message naming the problem"
run_ctl
expect_rc 64 "no command"
run_ctl frobnicate
expect_rc 64 "unknown command"
assert_contains "$ERR" "frobnicate" "unknown command message"
run_ctl send "no type"
expect_rc 64 "send without --type"
assert_contains "$ERR" "--type is required" "send without --type"
run_ctl send "x" --type t --data '{"a":'
expect_rc 64 "send with bad --data"
assert_contains "$ERR" "--data is not valid JSON" "bad --data"
run_ctl send "x" --type t --data '[1,2]'
expect_rc 64 "send with non-object --data"
run_ctl query --order sideways
expect_rc 64 "bad --order"
run_ctl query --no-such-option
expect_rc 64 "unknown option"
assert_contains "$ERR" "--no-such-option" "unknown option message"

evd_step "connection failure: exit 2 with a clear message, after retrying"
closed_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run_ctl --url "http://127.0.0.1:$closed_port" --retries 1 send "x" --type t
expect_rc 2 "send to a closed port"
assert_contains "$ERR" "cannot reach eventd at http://127.0.0.1:$closed_port" "unreachable message"
assert_contains "$ERR" "retrying" "a retry is announced"
run_ctl --url "http://127.0.0.1:$closed_port" health
expect_rc 1 "health of a closed port"

evd_start

evd_step "health"
run_ctl health
expect_rc 0 "health"
assert_contains "$OUT" "ok" "health output"
run_ctl health --json
assert_eq "$(evd_json 'd["status"]' "$OUT")" ok "health --json"

evd_step "send: the CI example prints the id; get shows every field"
CI_JOB_URL="https://gitlab.example.com/group/project/-/jobs/4242?x=1&y=2"
run_ctl send "Starting deploy" --type deployment --label env=gprd --label stage=main --source "$CI_JOB_URL"
expect_rc 0 "CI example"
ci_id=$OUT
[[ $ci_id =~ ^[0-9A-Z]{26}$ ]] || evd_fail "send printed '$ci_id', expected one ULID"
assert_eq "$ERR" "" "nothing on stderr for a plain send"
run_ctl get "$ci_id" --compact
expect_rc 0 "get"
assert_eq "$(evd_json 'd["message"]' "$OUT")" "Starting deploy" "message"
assert_eq "$(evd_json 'd["type"]' "$OUT")" deployment "type"
assert_eq "$(evd_json 'd["source"]' "$OUT")" "$CI_JOB_URL" "source"
assert_eq "$(evd_json 'd["labels"]' "$OUT")" '{"env": "gprd", "stage": "main"}' "labels"
run_ctl get "$ci_id"
assert_contains "$OUT" $'{\n  "id": "'"$ci_id"'"' "get prints indented JSON"

evd_step "send: every field option, --data, --time"
run_ctl send "Deploy finished" --type deploy.step --stream ci --tag "$ci_id" --severity warn \
  --data '{"sha":"abc123","steps":[1,2,3]}' --time 2026-01-02T03:04:05Z --key ci.deploy.done \
  --tenant team-a --correlation-id pipe-77 --state Completed --trace-id 4bf92f3577b34da6a3ce929d0e0e4736 \
  --span-id 00f067aa0ba902b7
expect_rc 0 "send with all fields"
full_id=$OUT
run_ctl get "$full_id" --compact
ev=$OUT
for pair in 'stream=ci' "tag=$ci_id" 'severity=WARN' 'key=ci.deploy.done' 'tenant=team-a' \
  'correlation_id=pipe-77' 'state=Completed' 'time=2026-01-02T03:04:05.000000000Z' \
  'trace_id=4bf92f3577b34da6a3ce929d0e0e4736' 'span_id=00f067aa0ba902b7'; do
  assert_eq "$(evd_json "d[\"${pair%%=*}\"]" "$ev")" "${pair#*=}" "field ${pair%%=*}"
done
assert_eq "$(evd_json 'd["data"]' "$ev")" '{"sha": "abc123", "steps": [1, 2, 3]}' "data"
printf '{"from":"file","n":7}' >"$EVD_TMP/data.json"
run_ctl send "from file" --type filedata --data-file "$EVD_TMP/data.json"
expect_rc 0 "--data-file"
run_ctl get "$OUT" --compact
assert_eq "$(evd_json 'd["data"]["n"]' "$OUT")" 7 "--data-file content"
run_ctl send "from stdin" --type filedata --data-file - <<<'{"from":"stdin"}'
expect_rc 0 "--data-file -"

evd_step "send --id is idempotent"
run_ctl send "once" --type idem --id build-42-start
expect_rc 0 "send --id"
assert_eq "$OUT" build-42-start "the client id is the event id"
run_ctl send "once" --type idem --id build-42-start
expect_rc 0 "send --id again"
assert_eq "$OUT" build-42-start "the repeat reports the same id"
assert_contains "$ERR" "not stored again" "the repeat is noted"
run_ctl count --type idem
assert_eq "$OUT" 1 "stored once"

evd_step "refusal: exit 1, eventd's message and the field on stderr"
run_ctl send "bad" --type deployment --severity extreme
expect_rc 1 "bad severity"
assert_contains "$ERR" "eventd refused the event" "refusal message"
assert_contains "$ERR" "(HTTP 400)" "status"
assert_contains "$ERR" "severity" "the field is named"
assert_eq "$OUT" "" "no id printed on refusal"
run_ctl send "bad" --type "$(printf 'x%.0s' $(seq 1 300))"
expect_rc 1 "type over the name limit"
assert_contains "$ERR" "type" "limit refusal names the field"

evd_step "send --ndjson: batches, defaults from options, line numbers on refusal"
: >"$EVD_TMP/batch.ndjson"
for i in $(seq 1 25); do
  printf '{"type":"page.item","message":"item %d","data":{"i":%d}}\n' "$i" "$i" >>"$EVD_TMP/batch.ndjson"
  [[ $i == 10 ]] && echo >>"$EVD_TMP/batch.ndjson" # blank lines are skipped
done
run_ctl send --ndjson "$EVD_TMP/batch.ndjson" --batch-size 7 --stream paging --label env=test
expect_rc 0 "send --ndjson"
assert_eq "$(lines "$OUT")" 25 "one id per event"
assert_eq "$(printf '%s\n' "$OUT" | sort -u | wc -l)" 25 "ids are distinct"
assert_contains "$ERR" "sent 25 events in 4 requests" "summary"
run_ctl count --stream paging --label env:test
assert_eq "$OUT" 25 "defaults applied to every line"
printf '{"type":"nd.ok"}\n{"type":"nd.ok","severity":"nonsense"}\n' | "$E" send --ndjson - >"$EVD_TMP/out" 2>"$EVD_TMP/err"
RC=$?
ERR=$(cat "$EVD_TMP/err")
OUT=$(cat "$EVD_TMP/out")
expect_rc 1 "refused ndjson batch"
assert_contains "$ERR" "stdin:2" "the refused line is named"
assert_contains "$ERR" "severity" "and its field"
run_ctl count --type nd.ok
assert_eq "$OUT" 0 "a refused batch stores nothing"
printf '{"type":"nd.bad"}\nnot json\n' >"$EVD_TMP/bad.ndjson"
run_ctl send --ndjson "$EVD_TMP/bad.ndjson"
expect_rc 64 "invalid JSON line"
assert_contains "$ERR" "bad.ndjson:2" "the invalid line is named"

evd_step "query: table with every column, filters"
run_ctl query --type deployment
expect_rc 0 "query table"
header=$(head -1 <<<"$OUT")
for col in TIME SEVERITY STREAM TYPE TAG SOURCE MESSAGE; do assert_contains "$header" "$col" "table header"; done
assert_contains "$OUT" "Starting deploy" "table row"
assert_eq "$(lines "$OUT")" 2 "header + one row"
run_ctl query --label env:gprd --label stage=main --ndjson
assert_eq "$(lines "$OUT")" 1 "two labels (k:v and k=v)"
assert_eq "$(evd_json 'd["id"]' "$OUT")" "$ci_id" "label filter finds the CI event"
run_ctl query --label env:gprd --label stage:other --ndjson
assert_eq "$OUT" "" "labels must all match"
run_ctl query --type 'deploy.*' --ndjson
assert_eq "$(evd_json 'd["id"]' "$OUT")" "$full_id" "type prefix"
run_ctl query --key 'ci.#' --ndjson
assert_eq "$(evd_json 'd["id"]' "$OUT")" "$full_id" "key pattern"
run_ctl query --severity WARN --ndjson
assert_eq "$(evd_json 'd["id"]' "$OUT")" "$full_id" "minimum severity"
run_ctl query --tenant team-a --correlation-id pipe-77 --tag "$ci_id" --stream ci --ndjson
assert_eq "$(lines "$OUT")" 1 "tenant+correlation+tag+stream"
run_ctl query --source "$CI_JOB_URL" --ndjson
assert_eq "$(evd_json 'd["id"]' "$OUT")" "$ci_id" "source with ?, & and / is URL-encoded"
run_ctl query --since 2026-01-02T00:00:00Z --until 2026-01-03T00:00:00Z --ndjson
assert_eq "$(evd_json 'd["id"]' "$OUT")" "$full_id" "since/until"
run_ctl query --since -1h --type deploy.step --ndjson
assert_eq "$OUT" "" "relative since excludes the 2026-01-02 event"

evd_step "query: URL encoding of odd values"
odd='50% off & more=yes + "quotes" #hash é/ü ?'
run_ctl send "$odd" --type odd --tag "a b&c=d"
expect_rc 0 "send odd message"
odd_id=$OUT
run_ctl query --q "& more=yes + \"quotes\" #hash é" --ndjson
assert_eq "$(evd_json 'd["id"]' "$OUT")" "$odd_id" "--q with reserved characters"
assert_eq "$(evd_json 'd["message"]' "$OUT")" "$odd" "message round-trips"
run_ctl query --tag "a b&c=d" --ndjson
assert_eq "$(evd_json 'd["id"]' "$OUT")" "$odd_id" "--tag with reserved characters"

evd_step "query --json is eventd's answer; --ndjson one event per line"
run_ctl query --stream paging --limit 5 --json
expect_rc 0 "query --json"
assert_eq "$(evd_json 'len(d["events"])' "$OUT")" 5 "5 events"
assert_eq "$(evd_json '"next" in d' "$OUT")" true "next cursor present"
run_ctl query --stream paging --limit 5 --order asc --ndjson
assert_eq "$(lines "$OUT")" 5 "5 lines"
assert_eq "$(head -1 <<<"$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["message"])')" "item 1" "asc starts with the oldest"
assert_contains "$ERR" "more events match" "the note about more events"

evd_step "query --all follows cursors: every event once, in order"
run_ctl query --stream paging --all --limit 4 --order asc --ndjson
expect_rc 0 "query --all"
assert_eq "$(lines "$OUT")" 25 "all 25 events over 7 pages"
assert_eq "$(python3 -c '
import json, sys
evs = [json.loads(l) for l in sys.stdin]
print(" ".join(str(e["data"]["i"]) for e in evs))' <<<"$OUT")" "$(seq -s ' ' 1 25)" "order and completeness"
assert_eq "$ERR" "" "no note when everything was printed"
run_ctl query --stream paging --all --limit 10 --json
assert_eq "$(evd_json 'len(d["events"])' "$OUT")" 25 "--all --json merges the pages"
assert_eq "$(evd_json '"next" in d' "$OUT")" false "no next after the last page"
run_ctl query --stream paging --limit 12 --ndjson
assert_eq "$(lines "$OUT")" 12 "--limit above one page"
run_ctl query --stream paging --all
assert_eq "$(lines "$OUT")" 26 "--all as a table: header + 25"

evd_step "query table fits the terminal width"
run_ctl send "$(printf 'long-message-%.0s' $(seq 1 40))" --type wide.one --source "$(printf 'src%.0s' $(seq 1 30))"
COLUMNS=100 "$E" query --type wide.one >"$EVD_TMP/out"
while IFS= read -r l; do
  w=$(python3 -c 'import sys; print(len(sys.argv[1]))' "$l")
  ((w <= 100)) || evd_fail "table line wider than COLUMNS=100 ($w): $l"
done <"$EVD_TMP/out"
assert_contains "$(cat "$EVD_TMP/out")" "…" "cut cells end in an ellipsis"
COLUMNS=100 "$E" query --type wide.one --wide >"$EVD_TMP/out"
assert_contains "$(cat "$EVD_TMP/out")" "$(printf 'long-message-%.0s' $(seq 1 40))" "--wide keeps cells whole"
run_ctl query --type wide.one --ndjson
assert_contains "$OUT" "$(printf 'long-message-%.0s' $(seq 1 40))" "ndjson never cuts"

evd_step "count"
run_ctl count
expect_rc 0 "count"
total=$OUT
[[ $total =~ ^[0-9]+$ ]] || evd_fail "count printed '$total'"
evd_req GET /v1/events/count
assert_eq "$total" "$(evd_json 'd["count"]')" "count agrees with the API"
run_ctl count --stream paging --q "item 2"
assert_eq "$OUT" 7 "count with filters (item 2, 20-25)"
run_ctl count --type nothing.like.this
assert_eq "$OUT" 0 "count of nothing"
run_ctl count --json --stream paging
assert_eq "$(evd_json 'd["count"]' "$OUT")" 25 "count --json"

evd_step "histogram"
run_ctl histogram --stream paging --interval 1h
expect_rc 0 "histogram"
assert_contains "$(head -1 <<<"$OUT")" "COUNT" "histogram header"
assert_eq "$(tail -n +2 <<<"$OUT" | awk '{s+=$2} END {print s}')" 25 "bucket counts add up"
run_ctl histogram --stream paging --interval 1h --by type
expect_rc 0 "histogram --by"
assert_contains "$(head -1 <<<"$OUT")" "page.item" "a column per group"
run_ctl histogram --interval 1h --json
assert_eq "$(evd_json 'd["interval"]' "$OUT")" 1h "histogram --json"
run_ctl histogram --interval nonsense
expect_rc 64 "bad interval"

evd_step "get: unknown id exits 1"
run_ctl get 01AAAAAAAAAAAAAAAAAAAAAAAA
expect_rc 1 "get unknown"
assert_contains "$ERR" "no event with id" "get unknown message"

evd_step "query refusal: a bad filter value exits 1 with eventd's message"
run_ctl query --since yesterday-ish
expect_rc 1 "bad since"
assert_contains "$ERR" "since" "bad since names the parameter"

evd_step "send retries while eventd restarts (a CI job survives a blip)"
port=$EVD_PORT
evd_stop
"$E" --retries 6 send "during restart" --type blip >"$EVD_TMP/blip.out" 2>"$EVD_TMP/blip.err" &
blip=$!
evd_bg_pid "$blip"
sleep 0.6
evd_start --http "127.0.0.1:$port"
wait "$blip"
RC=$?
OUT=$(cat "$EVD_TMP/blip.out")
ERR=$(cat "$EVD_TMP/blip.err")
expect_rc 0 "send across a restart"
assert_contains "$ERR" "retrying" "the retry is announced"
run_ctl count --type blip
assert_eq "$OUT" 1 "stored once"

evd_stop
assert_eq "$EVD_EXIT" 0 "eventd exit status"
evd_pass
