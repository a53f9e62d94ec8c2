# grpc_lib.sh — helpers for the gRPC integration tests (source after lib.sh).
#
#   evd_grpc_setup            fail the test unless /usr/bin/python3 has grpc and grpc_tools
#                             (scripts/setup.sh installs python3-grpcio, python3-grpc-tools);
#                             generate the stubs from proto/ into $EVD_TMP/gen.
#   evd_grpc CMD ARGS...      run tests/integration/grpc/evd_grpc.py CMD $EVD_GRPC_ADDR ARGS
#                             (for CMD other than gen); sets GRPC_OUT (its JSON line).
#   assert_grpc_code CODE [WHAT]       the last call's status code name
#   grpc_field EXPR           evd_json EXPR on GRPC_OUT
#
# The Python client is Debian's (/usr/bin/python3): the python3 first on PATH may be an
# interpreter that does not see Debian's python3-* packages.

EVD_GRPC_PY=/usr/bin/python3
EVD_GRPC_CLIENT=$EVD_SOURCE_DIR/tests/integration/grpc/evd_grpc.py
export EVD_GRPC_GEN=$EVD_TMP/gen
GRPC_OUT=""

evd_grpc_setup() {
  [[ -x $EVD_GRPC_PY ]] || evd_fail "$EVD_GRPC_PY is missing (run scripts/setup.sh)"
  "$EVD_GRPC_PY" -c 'import grpc, grpc_tools.protoc' 2>"$EVD_TMP/grpc-import.err" ||
    evd_fail "python3-grpcio / python3-grpc-tools are not installed for $EVD_GRPC_PY (run scripts/setup.sh): $(cat "$EVD_TMP/grpc-import.err")"
  "$EVD_GRPC_PY" "$EVD_GRPC_CLIENT" gen >/dev/null 2>"$EVD_TMP/grpc-gen.err" ||
    evd_fail "cannot generate the gRPC stubs from proto/: $(cat "$EVD_TMP/grpc-gen.err")"
}

evd_grpc() {
  local cmd=$1
  shift
  [[ -n $EVD_GRPC_ADDR ]] || evd_fail "evd_grpc $cmd: the daemon has no gRPC address"
  GRPC_OUT=$("$EVD_GRPC_PY" "$EVD_GRPC_CLIENT" "$cmd" "$EVD_GRPC_ADDR" "$@" 2>"$EVD_TMP/grpc.err") ||
    evd_fail "evd_grpc.py $cmd failed: $(tail -n 20 "$EVD_TMP/grpc.err")"
}

grpc_field() { evd_json "$1" "$GRPC_OUT"; }

assert_grpc_code() {
  local got
  got=$(grpc_field 'd["code"]')
  [[ $got == "$1" ]] || evd_fail "${2:-call}: expected gRPC $1, got $GRPC_OUT"
}
