#!/usr/bin/env bash
# The Elasticsearch-compatible endpoints with a real Elasticsearch client: Debian's
# python3-elasticsearch (7.17, which checks GET / and the X-elastic-product header before
# its first request): info(), index(), create() with an id and its 409 ConflictError, and
# helpers.bulk with create, index and a refused delete. Checks the stored events via
# GET /v1/events.
source "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import elasticsearch' 2>/dev/null ||
  evd_fail "python3-elasticsearch is not installed (apt-get install python3-elasticsearch)"

evd_start --grpc off

evd_step "python elasticsearch client against eventd"
out=$(/usr/bin/python3 - "$EVD_URL" <<'EOF'
import json, sys
from elasticsearch import Elasticsearch, helpers
from elasticsearch.exceptions import ConflictError
es = Elasticsearch(sys.argv[1])
res = {}
res["version"] = es.info()["version"]["number"]
res["index"] = es.index(index="events-gprd", document={"type": "deploy", "message": "from python"})
res["create"] = es.create(index="events-gprd", id="py-1", document={"type": "deploy", "n": 1})
try:
    es.create(index="events-gprd", id="py-1", document={"type": "deploy", "n": 2})
    res["conflict"] = None
except ConflictError as e:
    res["conflict"] = [e.status_code, e.error]
ok, errs = helpers.bulk(es, [{"_index": "app-dev", "_op_type": "create", "message": "m%d" % i,
                              "@timestamp": "2026-11-21T10:00:0%dZ" % i} for i in range(5)],
                        raise_on_error=False)
res["bulk"] = [ok, errs]
ok, errs = helpers.bulk(es, [{"_index": "app-dev", "_op_type": "delete", "_id": "x"},
                             {"_index": "app-dev", "_id": "py-2", "message": "indexed"}],
                        raise_on_error=False)
res["bulk2"] = [ok, [list(e.keys())[0] for e in errs], [list(e.values())[0]["status"] for e in errs]]
print(json.dumps(res))
EOF
) || evd_fail "python client failed: $out"
assert_eq "$(evd_json 'd["version"][0]' "$out")" 8 "info() version"
assert_eq "$(evd_json 'd["index"]["result"]' "$out")" created "index()"
assert_eq "$(evd_json 'd["create"]["_id"]' "$out")" py-1 "create() id"
assert_eq "$(evd_json 'd["conflict"]' "$out")" '[409, "version_conflict_engine_exception"]' "second create() -> ConflictError"
assert_eq "$(evd_json 'd["bulk"]' "$out")" '[5, []]' "helpers.bulk: 5 created, no errors"
assert_eq "$(evd_json 'd["bulk2"]' "$out")" '[1, ["delete"], [400]]' "helpers.bulk: delete refused, index stored"

evd_req GET "/v1/events?stream=events&label=env:gprd"
assert_eq "$(evd_json 'len(d["events"])')" 2 "index() and create() stored once each"
evd_req GET /v1/events/py-1
assert_eq "$(evd_json 'd["data"]["n"]')" 1 "the first create() stays"
evd_req GET "/v1/events?stream=app&label=env:dev"
assert_eq "$(evd_json 'len(d["events"])')" 6 "bulk documents stored"
evd_req GET /v1/events/py-2
assert_eq "$(evd_json 'd["message"]')" indexed "bulk index with _id"

evd_stop
evd_pass
