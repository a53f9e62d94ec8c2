#!/usr/bin/env bash
# Access control: every row of auth_matrix.tsv (endpoint x role -> status) against a daemon
# with --auth on, and docs/security.md shows exactly that table (auth_matrix.py check).
source "$(dirname "$0")/lib.sh"

MATRIX=$EVD_SOURCE_DIR/tests/integration/auth_matrix.tsv

evd_step "docs/security.md shows the matrix of auth_matrix.tsv"
python3 "$EVD_SOURCE_DIR/tests/integration/auth_matrix.py" check "$EVD_SOURCE_DIR/docs/security.md" ||
  evd_fail "docs/security.md and auth_matrix.tsv differ"

evd_start --auth on --grpc off
ADMIN=$(cat "$EVD_DATA/admin.token")
[[ $ADMIN == evd_* ]] || evd_fail "no bootstrap token in $EVD_DATA/admin.token"

# new_token ROLE TENANT: create a token with the admin token, print the secret.
new_token() {
  evd_req POST /v1/tokens -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    --data-binary "{\"role\":\"$1\",\"tenant\":\"$2\",\"name\":\"matrix-$1\"}"
  assert_status 201 "create $1 token"
  evd_json 'd["token"]'
}
declare -A TOKEN
TOKEN[admin]=$ADMIN
TOKEN[domain-admin]=$(new_token domain-admin acme)
TOKEN[user]=$(new_token user acme/prod)
TOKEN[ingest]=$(new_token ingest acme)
TOKEN[read]=$(new_token read acme)
TOKEN[read-root]=$(new_token read "")

evd_step "seed: one event of acme/prod with a known id"
evd_req POST /v1/events -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  --data-binary '{"id":"matrix-seed-1","type":"matrix.seed","tenant":"acme/prod"}'
assert_status 200 "seed event"

body_of() {
  case $1 in
    event) printf '%s' '{"type":"matrix.test","tenant":"acme/prod"}' ;;
    token) printf '%s' '{"role":"read","tenant":"acme/prod"}' ;;
    bulk) printf '%s\n%s\n' '{"index":{"_index":"app-prod"}}' '{"message":"matrix","tenant":"acme/prod"}' ;;
    otlp) printf '%s' '{"resourceLogs":[]}' ;;
    lifecycle) printf '%s' '{"type":"matrix.nothing"}' ;; # archive/delete (docs/lifecycle.md)
    *) ;;
  esac
}
ctype_of() {
  case $1 in
    bulk) echo application/x-ndjson ;;
    *) echo application/json ;;
  esac
}

rows=0
fails=0
while IFS=$'\t' read -r method path body role want; do
  [[ -z $method || $method == \#* || $method == method ]] && continue
  args=(-sS -o "$EVD_TMP/.mbody" -w '%{http_code}' -X "$method")
  [[ $role != none ]] && args+=(-H "Authorization: Bearer ${TOKEN[$role]}")
  if [[ $body != - ]]; then
    body_of "$body" >"$EVD_TMP/.mreq"
    args+=(-H "Content-Type: $(ctype_of "$body")" --data-binary "@$EVD_TMP/.mreq")
  fi
  [[ $path == /v1/tail ]] && args+=(--max-time 1)
  got=$(curl "${args[@]}" "$EVD_URL$path" 2>/dev/null)
  rows=$((rows + 1))
  if [[ $got != "$want" ]]; then
    echo "MISMATCH $method $path as $role: got $got, want $want: $(head -c 300 "$EVD_TMP/.mbody")"
    fails=$((fails + 1))
  fi
done <"$MATRIX"
echo "-- $rows matrix rows checked, $fails mismatches"
(( rows >= 100 )) || evd_fail "only $rows rows read from $MATRIX"
(( fails == 0 )) || evd_fail "$fails rows of the matrix do not hold"

evd_stop
evd_pass
