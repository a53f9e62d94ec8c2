#!/usr/bin/env bash
# Operating the daemon: --help/--version, configuration files (good, example, bad with
# FILE:LINE), /healthz, /metrics (names present, counters moving), SIGTERM exits 0 and the
# data survives a restart, a second daemon on the same data directory is refused.
source "$(dirname "$0")/lib.sh"

evd_step "--help is a manual page, --version prints the version"
help=$("$EVD_EVENTD" --help) || evd_fail "--help exit status"
for section in NAME SYNOPSIS DESCRIPTION OPTIONS FILES SIGNALS "EXIT STATUS" EXAMPLES; do
  assert_contains "$help" "$section" "--help section"
done
for opt in --config --data-dir --http --sync --log-level --set --check-config --print-config; do
  assert_contains "$help" "$opt" "--help documents $opt"
done
assert_contains "$("$EVD_EVENTD" --version)" "eventd " "--version"

evd_step "bad command lines exit 2 with a message"
"$EVD_EVENTD" --no-such-option >"$EVD_TMP/o" 2>&1
assert_eq "$?" 2 "unknown option status"
assert_contains "$(cat "$EVD_TMP/o")" "unknown option '--no-such-option'"
"$EVD_EVENTD" --sync sometimes >"$EVD_TMP/o" 2>&1
assert_eq "$?" 2 "bad --sync status"
assert_contains "$(cat "$EVD_TMP/o")" "sometimes"

evd_step "the example configuration loads cleanly and documents every setting"
example=$EVD_SOURCE_DIR/examples/eventd.yml
out=$("$EVD_EVENTD" --config "$example" --check-config 2>&1) || evd_fail "example config: $out"
assert_contains "$out" "configuration ok"
"$EVD_EVENTD" --print-config >"$EVD_TMP/all.yml" || evd_fail "--print-config"
names=$(python3 - "$EVD_TMP/all.yml" <<'EOF'
import sys
section = None
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    key = line.split(":", 1)[0]
    if not line.startswith(" "):
        rest = line.split(":", 1)[1].split("#", 1)[0].strip()
        if rest == "":
            section = key
            continue
        section = None
        print(key)
    else:
        print(section + "." + key.strip())
EOF
)
[[ $(wc -w <<<"$names") -ge 20 ]] || evd_fail "too few settings printed: $names"
docs=$(cat "$EVD_SOURCE_DIR/docs/configuration.md")
for n in $names; do
  assert_contains "$docs" "\`$n\`" "docs/configuration.md documents $n"
  leaf=${n##*.}
  grep -qE "^ *#? *$leaf:" "$example" || evd_fail "examples/eventd.yml lacks $n"
done
# --print-config output is itself a valid configuration file.
out=$("$EVD_EVENTD" --config "$EVD_TMP/all.yml" --check-config 2>&1) || evd_fail "printed config: $out"

evd_step "a bad configuration file stops startup with FILE:LINE: reason"
printf 'data_dir: %s\nhttp:\n  listen: 127.0.0.1:0\n  listne: x\n' "$EVD_TMP/d" >"$EVD_TMP/bad1.yml"
"$EVD_EVENTD" --config "$EVD_TMP/bad1.yml" >"$EVD_TMP/o" 2>&1
assert_eq "$?" 2 "unknown key exit status"
assert_contains "$(cat "$EVD_TMP/o")" "$EVD_TMP/bad1.yml:4: unknown key 'listne' in section 'http'"
printf 'store:\n  segment_max_bytes: [1, 2]\n' >"$EVD_TMP/bad2.yml"
"$EVD_EVENTD" --config "$EVD_TMP/bad2.yml" >"$EVD_TMP/o" 2>&1
assert_eq "$?" 2 "wrong type exit status"
assert_contains "$(cat "$EVD_TMP/o")" "bad2.yml:2: store.segment_max_bytes: expected a size"
printf '# retention\nretention:\n  max_age: forever\n' >"$EVD_TMP/bad3.yml"
"$EVD_EVENTD" --config "$EVD_TMP/bad3.yml" >"$EVD_TMP/o" 2>&1
assert_eq "$?" 2 "bad value exit status"
assert_contains "$(cat "$EVD_TMP/o")" "bad3.yml:3: retention.max_age: invalid duration 'forever'"
printf 'sync: batch\n  nested: [\n' >"$EVD_TMP/bad4.yml"
"$EVD_EVENTD" --config "$EVD_TMP/bad4.yml" >"$EVD_TMP/o" 2>&1
assert_eq "$?" 2 "syntax error exit status"
assert_contains "$(cat "$EVD_TMP/o")" "bad4.yml:2: YAML syntax error"
"$EVD_EVENTD" --config "$EVD_TMP/missing.yml" >"$EVD_TMP/o" 2>&1
assert_eq "$?" 2 "missing file exit status"
assert_contains "$(cat "$EVD_TMP/o")" "missing.yml: cannot open"
[[ ! -e $EVD_TMP/d ]] || evd_fail "a bad configuration must not create the data directory"

evd_step "a good configuration file is used, flags override it"
printf 'data_dir: %s/from-file\nlog_level: debug\nhttp:\n  listen: 127.0.0.1:1\n' "$EVD_TMP" >"$EVD_TMP/good.yml"
evd_start --config "$EVD_TMP/good.yml" # evd_start adds --data-dir and --http after it
evd_req GET /healthz
evd_wait_for_log ' debug ' || evd_fail "log_level from the file not applied"
[[ -d $EVD_DATA ]] || evd_fail "--data-dir did not override data_dir"
[[ ! -e $EVD_TMP/from-file ]] || evd_fail "data_dir of the file used despite --data-dir"
evd_stop
assert_eq "$EVD_EXIT" 0 "exit status"

evd_step "healthz and metrics"
evd_start
evd_req GET /healthz
assert_status 200 healthz
assert_eq "$(evd_json 'd["status"]')" ok status
assert_eq "$(evd_json 'd["committed_seq"]')" 0 "empty store"
assert_ne "$(evd_json 'd["version"]')" "" version
m1=$(evd_curl /metrics)
for name in eventd_events_received_total eventd_events_accepted_total eventd_events_rejected_total \
  eventd_events_duplicate_total eventd_http_requests_total eventd_ingest_bytes_total \
  eventd_store_segments eventd_store_bytes eventd_store_records eventd_store_committed_seq \
  eventd_store_fsync_seconds eventd_store_queue_bytes eventd_store_queue_batches \
  eventd_tail_clients eventd_build_info eventd_start_time_seconds \
  eventd_process_resident_memory_bytes; do
  assert_contains "$m1" "# TYPE $name " "metric $name declared"
done
assert_contains "$m1" 'eventd_events_rejected_total{reason="invalid"} 0'
assert_contains "$m1" 'eventd_store_fsync_seconds_bucket{le="+Inf"}'
metric() { evd_curl /metrics | awk -v n="$1" '$1 == n {print $2}'; }
evd_post_ndjson /v1/events $'{"type":"m.1"}\n{"type":"m.2","id":"dup"}\n{"type":"m.3","id":"dup"}'
assert_status 200 "send"
evd_post_json /v1/events '{"nope":1}'
assert_status 400 "invalid"
assert_eq "$(metric eventd_events_received_total)" 4 "received"
assert_eq "$(metric eventd_events_accepted_total)" 3 "accepted"
assert_eq "$(metric eventd_events_duplicate_total)" 1 "duplicates"
assert_eq "$(metric 'eventd_events_rejected_total{reason="invalid"}')" 1 "rejected invalid"
assert_eq "$(metric eventd_store_committed_seq)" 2 "committed seq"
assert_eq "$(metric 'eventd_http_requests_total{path="/v1/events",method="POST",code="200"}')" 1 "http 200"
assert_eq "$(metric 'eventd_http_requests_total{path="/v1/events",method="POST",code="400"}')" 1 "http 400"
rss=$(metric eventd_process_resident_memory_bytes)
[[ ${rss%.*} -gt 1000000 ]] || evd_fail "implausible RSS $rss"
evd_req GET /healthz
assert_eq "$(evd_json 'd["committed_seq"]')" 2 "healthz follows commits"

evd_step "a second daemon on the same data directory is refused"
"$EVD_EVENTD" --data-dir "$EVD_DATA" --http 127.0.0.1:0 >"$EVD_TMP/second.log" 2>&1 &
second=$!
for _ in $(seq 1 100); do kill -0 "$second" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$second" 2>/dev/null; then kill -KILL "$second"; evd_fail "second daemon kept running"; fi
wait "$second"
assert_eq "$?" 1 "second daemon exit status"
assert_contains "$(cat "$EVD_TMP/second.log")" "$EVD_DATA" "message names the directory"
assert_contains "$(cat "$EVD_TMP/second.log")" "locked" "message says why"
assert_not_contains "$(cat "$EVD_TMP/second.log")" "listening on" "never listened"
evd_req GET /healthz
assert_status 200 "the first daemon is unaffected"

evd_step "SIGTERM exits 0 and the data survives a restart"
ids_before=$(evd_curl '/v1/events?order=asc' | python3 -c 'import json,sys; print(" ".join(e["id"] for e in json.load(sys.stdin)["events"]))')
evd_stop TERM
assert_eq "$EVD_EXIT" 0 "exit status after SIGTERM"
evd_start
ids_after=$(evd_curl '/v1/events?order=asc' | python3 -c 'import json,sys; print(" ".join(e["id"] for e in json.load(sys.stdin)["events"]))')
assert_eq "$ids_after" "$ids_before" "same events after restart"
evd_post_json /v1/events '{"type":"m.2","id":"dup"}'
assert_eq "$(evd_json 'd["duplicates"]')" 1 "idempotency survives a restart"
evd_stop INT
assert_eq "$EVD_EXIT" 0 "exit status after SIGINT"

evd_pass
