#!/usr/bin/env bash
# OTLP/HTTP logs on the HTTP port, with curl: the OTLP specification's example JSON request
# (opentelemetry-proto examples/logs.json), the same request as protobuf (hand-encoded by
# tests/integration/otlp/otlp_pb.py from the official field numbers), gzip bodies,
# partialSuccess for a mix of good and bad records (JSON and protobuf answers), and the
# error statuses (400, 405, 415). Every case checks the stored events via GET /v1/events.
source "$(dirname "$0")/lib.sh"
PB="/usr/bin/python3 $EVD_SOURCE_DIR/tests/integration/otlp/otlp_pb.py"
# evd_req for a binary answer: the body goes to $EVD_TMP/resp.bin (empty file when none).
pb_req() {
  rm -f "$EVD_TMP/.body"
  evd_req "$@"
  cp "$EVD_TMP/.body" "$EVD_TMP/resp.bin" 2>/dev/null || : >"$EVD_TMP/resp.bin"
}

evd_start --grpc off

# The example request of the OTLP specification (examples/logs.json), unchanged.
cat > "$EVD_TMP/logs.json" <<'EOF'
{
  "resourceLogs": [
    {
      "resource": {
        "attributes": [
          {
            "key": "service.name",
            "value": {
              "stringValue": "my.service"
            }
          }
        ]
      },
      "scopeLogs": [
        {
          "scope": {
            "name": "my.library",
            "version": "1.0.0",
            "attributes": [
              {
                "key": "my.scope.attribute",
                "value": {
                  "stringValue": "some scope attribute"
                }
              }
            ]
          },
          "logRecords": [
            {
              "timeUnixNano": 1544712660300000000,
              "observedTimeUnixNano": 1544712660300000000,
              "severityText": "Information",
              "traceId": "5B8EFFF798038103D269B633813FC60C",
              "spanId": "EEE19B7EC3C1B174",
              "body": {
                "stringValue": "Example log record"
              },
              "attributes": [
                {
                  "key": "string.attribute",
                  "value": {
                    "stringValue": "some string"
                  }
                },
                {
                  "key": "boolean.attribute",
                  "value": {
                    "boolValue": true
                  }
                },
                {
                  "key": "int.attribute",
                  "value": {
                    "intValue": 10
                  }
                },
                {
                  "key": "double.attribute",
                  "value": {
                    "doubleValue": 637.704
                  }
                },
                {
                  "key": "array.attribute",
                  "value": {
                    "arrayValue": {
                      "values": [
                        {
                          "stringValue": "many"
                        },
                        {
                          "stringValue": "values"
                        }
                      ]
                    }
                  }
                },
                {
                  "key": "map.attribute",
                  "value": {
                    "kvlistValue": {
                      "values": [
                        {
                          "key": "some.map.key",
                          "value": {
                            "stringValue": "some value"
                          }
                        }
                      ]
                    }
                  }
                }
              ]
            }
          ]
        }
      ]
    }
  ]
}
EOF

check_example_event() { # $1: the stored event (JSON), $2: what
  local ev=$1
  assert_eq "$(evd_json 'd["stream"]' "$ev")" my.service "$2: service.name -> stream"
  assert_eq "$(evd_json 'd["type"]' "$ev")" otlp.log "$2: default type"
  assert_eq "$(evd_json 'd["message"]' "$ev")" "Example log record" "$2: body -> message"
  assert_eq "$(evd_json 'd["time"]' "$ev")" "2018-12-13T14:51:00.300000000Z" "$2: timeUnixNano -> time"
  assert_eq "$(evd_json 'd["trace_id"]' "$ev")" 5b8efff798038103d269b633813fc60c "$2: traceId"
  assert_eq "$(evd_json 'd["span_id"]' "$ev")" eee19b7ec3c1b174 "$2: spanId"
  assert_eq "$(evd_json 'd["resource"]["service.name"]' "$ev")" my.service "$2: resource"
  assert_eq "$(evd_json 'd["labels"]["otel.scope.name"]' "$ev")" my.library "$2: scope name label"
  assert_eq "$(evd_json 'd["data"]["int.attribute"]' "$ev")" 10 "$2: intValue -> number"
  assert_eq "$(evd_json 'd["data"]["boolean.attribute"]' "$ev")" true "$2: boolValue"
  assert_eq "$(evd_json 'd["data"]["double.attribute"]' "$ev")" 637.704 "$2: doubleValue"
  assert_eq "$(evd_json 'd["data"]["array.attribute"]' "$ev")" '["many", "values"]' "$2: arrayValue"
  assert_eq "$(evd_json 'd["data"]["map.attribute"]["some.map.key"]' "$ev")" "some value" "$2: kvlistValue"
  assert_eq "$(evd_json 'd["data"]["severity_text"]' "$ev")" Information "$2: unknown severityText kept"
  assert_eq "$(evd_json 'd["severity"]' "$ev")" INFO "$2: severity"
}

evd_step "the specification's example request (JSON)"
evd_req POST /v1/logs -H 'Content-Type: application/json' --data-binary @"$EVD_TMP/logs.json"
assert_status 200 "OTLP JSON"
assert_eq "$EVD_BODY" "{}" "full success: empty ExportLogsServiceResponse"
evd_req GET "/v1/events?stream=my.service"
assert_eq "$(evd_json 'len(d["events"])')" 1 "one record stored"
check_example_event "$(evd_json 'd["events"][0]')" json

evd_step "the same request as protobuf, gzip-compressed, into another stream"
sed 's/"my.service"/"my.proto.service"/' "$EVD_TMP/logs.json" | $PB encode > "$EVD_TMP/logs.bin" ||
  evd_fail "encoding the protobuf request"
gzip -c "$EVD_TMP/logs.bin" > "$EVD_TMP/logs.bin.gz"
pb_req POST /v1/logs -H 'Content-Type: application/x-protobuf' -H 'Content-Encoding: gzip' \
  --data-binary @"$EVD_TMP/logs.bin.gz"
assert_status 200 "OTLP protobuf + gzip"
assert_eq "$(stat -c %s "$EVD_TMP/resp.bin")" 0 "full success: empty protobuf response"
evd_req GET "/v1/events?stream=my.proto.service"
assert_eq "$(evd_json 'len(d["events"])')" 1 "protobuf record stored"
ev=$(evd_json 'd["events"][0]')
assert_eq "$(evd_json 'd["message"]' "$ev")" "Example log record" "protobuf: body -> message"
assert_eq "$(evd_json 'd["trace_id"]' "$ev")" 5b8efff798038103d269b633813fc60c "protobuf: traceId bytes -> hex"
assert_eq "$(evd_json 'd["data"]["int.attribute"]' "$ev")" 10 "protobuf: intValue"
assert_eq "$(evd_json 'd["data"]["map.attribute"]["some.map.key"]' "$ev")" "some value" "protobuf: kvlist"

evd_step "gzip JSON"
gzip -c "$EVD_TMP/logs.json" > "$EVD_TMP/logs.json.gz"
evd_req POST /v1/logs -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' \
  --data-binary @"$EVD_TMP/logs.json.gz"
assert_status 200 "gzip JSON"
evd_req GET "/v1/events/count?stream=my.service"
assert_eq "$(evd_json 'd["count"]')" 2 "the gzip request stored one more record"

evd_step "partialSuccess: good records stored, bad ones counted (JSON)"
mix='{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc-mix"}},{"key":"host.name","value":{"stringValue":"gw-7"}}]},"scopeLogs":[{"logRecords":[
 {"eventName":"device.boot","body":{"stringValue":"good one"},"severityNumber":17,"timeUnixNano":"1700000000000000000"},
 {"traceId":"abcd","body":{"stringValue":"bad trace id"}},
 {"attributes":[{"key":"k","value":{"intValue":"1"}},{"key":"k","value":{"intValue":"2"}}]},
 {"eventName":"has space","body":{"stringValue":"bad type"}},
 {"attributes":[{"key":"event.name","value":{"stringValue":"app.click"}},{"key":"n","value":{"intValue":"-5"}}],"body":{"kvlistValue":{"values":[{"key":"x","value":{"doubleValue":1.5}}]}},"severityText":"warn"}
]}]}]}'
evd_post_json /v1/logs "$mix"
assert_status 200 "partial success is a 200"
assert_eq "$(evd_json 'd["partialSuccess"]["rejectedLogRecords"]')" 3 rejectedLogRecords
msg=$(evd_json 'd["partialSuccess"]["errorMessage"]')
assert_contains "$msg" "log record 1: traceId" "errorMessage names record 1"
assert_contains "$msg" "duplicate key 'k'" "errorMessage names the duplicate key"
assert_contains "$msg" "log record 3: type" "errorMessage names the bad type"
evd_req GET "/v1/events?stream=svc-mix"
assert_eq "$(evd_json 'sorted(e["type"] for e in d["events"])')" '["app.click", "device.boot"]' "exactly the good records"
evd_req GET "/v1/events?stream=svc-mix&type=device.boot"
assert_eq "$(evd_json 'd["events"][0]["severity"]')" ERROR "severityNumber 17"
assert_eq "$(evd_json 'd["events"][0]["source"]')" gw-7 "host.name -> source"
assert_eq "$(evd_json 'd["events"][0]["time"]')" "2023-11-14T22:13:20.000000000Z" "timeUnixNano as a string"
evd_req GET "/v1/events?stream=svc-mix&type=app.click"
assert_eq "$(evd_json 'd["events"][0]["data"]["body"]["x"]')" 1.5 "non-string body -> data.body"
assert_eq "$(evd_json 'd["events"][0]["data"]["n"]')" -5 "negative intValue"
assert_eq "$(evd_json '"event.name" in d["events"][0]["data"]')" false "event.name taken out of data"
assert_eq "$(evd_json 'd["events"][0]["severity"]')" WARN "severityText when no number"

evd_step "partialSuccess in protobuf"
pmix=$(sed -e 's/svc-mix/svc-pmix/' -e 's/"abcd"/"abcd"/' <<<"$mix")
$PB encode <<<"$pmix" > "$EVD_TMP/mix.bin" || evd_fail "encoding the mixed protobuf request"
pb_req POST /v1/logs -H 'Content-Type: application/x-protobuf' --data-binary @"$EVD_TMP/mix.bin"
assert_status 200 "protobuf partial success"
resp=$($PB decode-response < "$EVD_TMP/resp.bin")
assert_eq "$(evd_json 'd["partialSuccess"]["rejectedLogRecords"]' "$resp")" 3 "protobuf rejectedLogRecords"
assert_contains "$(evd_json 'd["partialSuccess"]["errorMessage"]' "$resp")" "traceId must be 16 bytes" "protobuf reason"
evd_req GET "/v1/events/count?stream=svc-pmix"
assert_eq "$(evd_json 'd["count"]')" 2 "protobuf: the good records stored"

evd_step "errors: undecodable 400, every record bad 400, 415, 405"
evd_post_json /v1/logs '{"resourceLogs": 5}'
assert_status 400 "resourceLogs not an array"
assert_eq "$(evd_json 'd["code"]')" 3 "google.rpc.Status code INVALID_ARGUMENT"
evd_post_json /v1/logs 'not json'
assert_status 400 "not JSON"
pb_req POST /v1/logs -H 'Content-Type: application/x-protobuf' --data-binary $'\x0a\xff\xff'
assert_status 400 "truncated protobuf"
assert_eq "$(evd_json 'd["code"]' "$($PB decode-response --status < "$EVD_TMP/resp.bin")")" 3 "protobuf Status"
evd_post_json /v1/logs '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"zz"}]}]}]}'
assert_status 400 "every record refused"
assert_contains "$(evd_json 'd["message"]')" "1 of 1 log records rejected" "message"
evd_req POST /v1/logs -H 'Content-Type: text/plain' --data-binary '{}'
assert_status 415 "text/plain"
evd_req GET /v1/logs
assert_status 405 "GET /v1/logs"
evd_post_json /v1/logs '{}'
assert_status 200 "an empty request"

evd_req GET "/v1/events/count"
assert_eq "$(evd_json 'd["count"]')" 7 "nothing else was stored (3 examples + 2 + 2 good records)"
m=$(evd_curl /metrics)
assert_contains "$m" 'input="otlp"' "per-input metrics"

evd_stop
evd_pass
