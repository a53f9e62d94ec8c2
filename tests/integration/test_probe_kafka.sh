#!/usr/bin/env bash
# eventd-probe -> Kafka (librdkafka's mock cluster, evd-kafka-mock) -> kcat: the recorded
# kernel log replayed with --output kafka://BROKER/gala_gopher_event arrives as one message
# per event in gala-gopher's event JSON shape (Timestamp, event_id, Attributes{entity_id,
# event_id, event_type "sys"}, Resource{metric, labels{Host, PID, COMM, ...}}, SeverityText,
# SeverityNumber, Body), in order, without a key.
source "$(dirname "$0")/lib.sh"

PROBE=$EVD_BUILD_DIR/eventd-probe
MOCK=$EVD_BUILD_DIR/evd-kafka-mock
FIXTURE=$EVD_SOURCE_DIR/tests/integration/probe/replay.kmsg
[[ -x $PROBE ]] || evd_fail "$PROBE not built"
[[ -x $MOCK ]] || evd_fail "$MOCK not built"
command -v kcat >/dev/null || evd_fail "kcat not installed"

"$MOCK" gala_gopher_event >"$EVD_TMP/mock.out" 2>"$EVD_TMP/mock.err" &
evd_bg_pid $!
for _ in $(seq 1 100); do [[ -s $EVD_TMP/mock.out ]] && break; sleep 0.05; done
BS=$(head -1 "$EVD_TMP/mock.out")
[[ -n $BS ]] || evd_fail "mock cluster did not print its bootstrap servers"

evd_step "replay to kafka://$BS/gala_gopher_event"
"$PROBE" --kmsg-file "$FIXTURE" --output "kafka://$BS/gala_gopher_event" 2>"$EVD_TMP/probe.err" ||
  evd_fail "probe failed: $(cat "$EVD_TMP/probe.err")"
assert_contains "$(cat "$EVD_TMP/probe.err")" "8 events sent, 0 suppressed, 0 send failures, 0 undelivered at exit"

evd_step "consume and check gala-gopher's shape"
kcat -C -b "$BS" -t gala_gopher_event -o beginning -e -q -f '%k\t%s\n' >"$EVD_TMP/msgs" 2>/dev/null
result=$(python3 - "$EVD_TMP/msgs" "$(cat /etc/machine-id)" <<'EOF'
import json, sys
rows = [l.rstrip("\n").split("\t", 1) for l in open(sys.argv[1]) if l.strip()]
assert all(k == "" for k, _ in rows), "messages must have no key"
msgs = [json.loads(v) for _, v in rows]
order = ["Timestamp", "event_id", "Attributes", "Resource", "SeverityText", "SeverityNumber", "Body"]
for m in msgs:
    assert list(m) == order, list(m)
    assert isinstance(m["Timestamp"], int) and m["Timestamp"] > 1700000000000
    a = m["Attributes"]
    assert list(a) == ["entity_id", "event_id", "event_type"] and a["event_type"] == "sys"
    assert a["event_id"] == m["event_id"] == "%d_%s" % (m["Timestamp"], a["entity_id"])
    assert a["entity_id"].startswith(sys.argv[2] + "-")
    assert list(m["Resource"]["labels"]) == ["Host", "PID", "COMM", "IP", "ContainerID", "POD", "Device"]
    assert {m["SeverityText"]: m["SeverityNumber"]}.items() <= {"INFO": 9, "WARN": 13, "ERROR": 17, "FATAL": 21}.items()
    assert (" %s Entity(%s) " % (m["SeverityText"], a["entity_id"])) in m["Body"]
oom = msgs[0]
print(len(msgs), oom["Resource"]["metric"], oom["Resource"]["labels"]["PID"], oom["Resource"]["labels"]["COMM"],
      oom["SeverityText"], oom["SeverityNumber"], oom["Attributes"]["entity_id"].endswith("_proc_4123"),
      "Killed process 4123 (stress)" in oom["Body"], msgs[6]["Resource"]["metric"], msgs[6]["SeverityText"])
EOF
) || evd_fail "kafka messages are not in gala-gopher's shape: $(head -c 600 "$EVD_TMP/msgs")"
assert_eq "$result" "8 gala_gopher_proc_process_oom_kill 4123 stress ERROR 17 True True gala_gopher_host_probe_kmsg_gap WARN" "kafka messages"
evd_pass
