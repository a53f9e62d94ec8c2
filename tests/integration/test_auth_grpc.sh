#!/usr/bin/env bash
# Access control on gRPC (docs/security.md): with --auth on, calls need the metadata
# `authorization: Bearer TOKEN`: none or an unknown token -> UNAUTHENTICATED, a read token ->
# PERMISSION_DENIED, an ingest token -> OK with the event in the token's tenant, another
# tenant refused; health stays open. With auth off nothing changes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/grpc/grpc_lib.sh"

evd_grpc_setup

# call TOKEN METHOD EVENTS-JSON: Publish (or LogEvent with METHOD=log) with the token as
# metadata ("" = none); prints {"code", "details", "ids"?}.
call() {
  "$EVD_GRPC_PY" - "$EVD_GRPC_ADDR" "$@" <<'PY'
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["EVD_SOURCE_DIR"], "tests/integration/grpc"))
import grpc
import evd_grpc
addr, token, method, events = sys.argv[1:5]
magma_pb2, magma_grpc, pb, pg, hpb, hg = evd_grpc.stubs()
md = [("authorization", "Bearer " + token)] if token else []
ch = evd_grpc.channel(addr)
try:
    if method == "log":
        magma_grpc.EventServiceStub(ch).LogEvent(
            magma_pb2.Event(stream_name="s", event_type="magma.t", tag="t", value="{}"),
            timeout=10, metadata=md)
        print(json.dumps({"code": "OK", "details": ""}))
    elif method == "health":
        r = hg.HealthStub(ch).Check(hpb.HealthCheckRequest(), timeout=10, metadata=md)
        print(json.dumps({"code": "OK", "details": "", "status": r.status}))
    else:
        req = pb.PublishRequest(events=[evd_grpc.native_event(pb, e) for e in json.loads(events)])
        r = pg.EventsStub(ch).Publish(req, timeout=10, metadata=md)
        print(json.dumps({"code": "OK", "details": "", "ids": list(r.ids)}))
except grpc.RpcError as e:
    print(json.dumps({"code": e.code().name, "details": e.details() or ""}))
PY
}
export EVD_SOURCE_DIR

evd_step "auth off: no metadata needed (unchanged)"
EVD_DATA=$EVD_TMP/off evd_start
GRPC_OUT=$(call "" publish '[{"type":"g.off"}]')
assert_grpc_code OK "Publish without a token, auth off"
evd_stop

evd_step "auth on"
evd_start --auth on
ADMIN=$(cat "$EVD_DATA/admin.token")
mk() {
  evd_req POST /v1/tokens -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    --data-binary "{\"role\":\"$1\",\"tenant\":\"$2\"}"
  assert_status 201 "create $1"
  evd_json 'd["token"]'
}
INGEST=$(mk ingest acme)
READ=$(mk read acme)

GRPC_OUT=$(call "" publish '[{"type":"g.none"}]')
assert_grpc_code UNAUTHENTICATED "Publish without metadata"
GRPC_OUT=$(call "evd_nottherightone" publish '[{"type":"g.bad"}]')
assert_grpc_code UNAUTHENTICATED "Publish with an unknown token"
GRPC_OUT=$(call "" log '')
assert_grpc_code UNAUTHENTICATED "LogEvent without metadata"
GRPC_OUT=$(call "$READ" publish '[{"type":"g.read"}]')
assert_grpc_code PERMISSION_DENIED "Publish with a read token"
GRPC_OUT=$(call "" health '')
assert_grpc_code OK "health needs no token"

GRPC_OUT=$(call "$INGEST" publish '[{"type":"g.ok","id":"g1"},{"type":"g.ok","id":"g2","tenant":"acme/prod"}]')
assert_grpc_code OK "Publish with an ingest token"
evd_req GET /v1/events/g1 -H "Authorization: Bearer $ADMIN"
assert_eq "$(evd_json 'd["tenant"]')" acme "the token's tenant when none is given"
evd_req GET /v1/events/g2 -H "Authorization: Bearer $ADMIN"
assert_eq "$(evd_json 'd["tenant"]')" acme/prod "a tenant in the subtree is kept"
GRPC_OUT=$(call "$INGEST" publish '[{"type":"g.x","tenant":"other"}]')
assert_grpc_code INVALID_ARGUMENT "Publish into another tenant"
assert_contains "$(grpc_field 'd["details"]')" "tenant 'other' is outside" "names the tenant"
GRPC_OUT=$(call "$INGEST" log '')
assert_grpc_code OK "LogEvent with an ingest token"
evd_req GET '/v1/events/count?type=magma.t&tenant=acme' -H "Authorization: Bearer $ADMIN"
assert_eq "$(evd_json 'd["count"]')" 1 "Magma event in the token's tenant"
evd_stop
evd_pass
