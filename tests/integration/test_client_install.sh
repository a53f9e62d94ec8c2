#!/usr/bin/env bash
# libeventd installs: `cmake --install` puts the headers, libeventd.so (with its SONAME, only
# evd_* exported) and libeventd.a and eventd.pc under the prefix; the examples build against
# the installed library through pkg-config (shared and static) and deliver to a real eventd.
source "$(dirname "$0")/lib.sh"

PREFIX=$EVD_TMP/prefix
evd_step "cmake --install --prefix $PREFIX"
cmake --install "$EVD_BUILD_DIR" --prefix "$PREFIX" >"$EVD_TMP/install.log" 2>&1 ||
  evd_fail "install failed: $(tail -5 "$EVD_TMP/install.log")"
PCDIR=$(dirname "$(find "$PREFIX" -name eventd.pc | head -1)")
[[ -f $PCDIR/eventd.pc ]] || evd_fail "eventd.pc not installed"
LIBDIR=$(dirname "$PCDIR")
for f in "$PREFIX/include/eventd/eventd.h" "$PREFIX/include/eventd/gala_event.h" \
         "$LIBDIR/libeventd.a" "$LIBDIR/libeventd.so" "$LIBDIR/libeventd.so.0"; do
  [[ -e $f ]] || evd_fail "not installed: $f"
done
soname=$(readelf -d "$LIBDIR/libeventd.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
assert_eq "$soname" "libeventd.so.0" "SONAME"
others=$(nm -D --defined-only "$LIBDIR/libeventd.so" | awk '$2 ~ /[TDBRWV]/ {print $3}' | grep -v '^evd_' || true)
assert_eq "$others" "" "symbols exported besides evd_*"
nm -D --defined-only "$LIBDIR/libeventd.so" | grep -Eq ' T evd_emit(@@LIBEVENTD_0)?$' || evd_fail "evd_emit not exported"

export PKG_CONFIG_PATH=$PCDIR
assert_eq "$(pkg-config --modversion eventd)" "$(sed -n 's/^project(eventd VERSION \([0-9.]*\).*/\1/p' "$EVD_SOURCE_DIR/CMakeLists.txt")" "pkg-config version"
incdir=$(pkg-config --variable=includedir eventd)
[[ -f $incdir/eventd/eventd.h && $(cd "$incdir" && pwd -P) == $(cd "$PREFIX/include" && pwd -P) ]] ||
  evd_fail "pkg-config includedir '$incdir' is not the installed $PREFIX/include (relocation)"

# An ASan/UBSan build of the library needs the sanitizer runtime in the program too.
SAN=""
readelf -d "$LIBDIR/libeventd.so" | grep -q 'libasan' && SAN="-fsanitize=address,undefined"

evd_step "build the examples with pkg-config (shared, then static)"
cp -r "$EVD_SOURCE_DIR/examples/client" "$EVD_TMP/ex-shared"
make -C "$EVD_TMP/ex-shared" CFLAGS="-O1 -g -Wall -Wextra -Werror $SAN" \
  LDFLAGS="-Wl,-rpath,$LIBDIR $SAN" >"$EVD_TMP/make1.log" 2>&1 ||
  evd_fail "examples (shared) did not build: $(tail -20 "$EVD_TMP/make1.log")"
ldd "$EVD_TMP/ex-shared/hello" | grep -q "$LIBDIR/libeventd.so.0" || evd_fail "hello is not linked to the installed libeventd.so.0"
cp -r "$EVD_SOURCE_DIR/examples/client" "$EVD_TMP/ex-static"
make -C "$EVD_TMP/ex-static" STATIC=1 CFLAGS="-O1 -g -Wall -Wextra -Werror $SAN" LDFLAGS="$SAN" \
  >"$EVD_TMP/make2.log" 2>&1 || evd_fail "examples (static) did not build: $(tail -20 "$EVD_TMP/make2.log")"
if ldd "$EVD_TMP/ex-static/hello" | grep -q libeventd; then evd_fail "static hello uses libeventd.so"; fi

evd_step "the examples deliver to eventd"
evd_start --grpc off
unset EVENTD_SPOOL
for kind in shared static; do
  out=$("$EVD_TMP/ex-$kind/hello") || evd_fail "hello ($kind) failed: $out"
  assert_contains "$out" "undelivered 0" "hello ($kind)"
  id=$(sed -n 's/^event id //p' <<<"$out")
  evd_req GET "/v1/events/$id"
  assert_status 200 "hello's event ($kind) by its client id"
  assert_contains "$EVD_BODY" '"tag":"IMSI001010000000001"' "hello's event"
  out=$("$EVD_TMP/ex-$kind/gala_probe") || evd_fail "gala_probe ($kind) failed: $out"
done
evd_req GET "/v1/events/count?type=gala.event&stream=gala-gopher"
assert_eq "$(evd_json 'd["count"]')" 4 "gala events (2 per run)"
evd_req GET "/v1/events?type=gala.event&severity=error&limit=1"
assert_contains "$EVD_BODY" 'return code=[130]' "gala ERROR event body"
evd_req GET "/v1/events/count?type=quota.low"
assert_eq "$(evd_json 'd["count"]')" 2 "EVD_WARN events"
evd_req GET "/v1/events?type=quota.low&limit=1"
assert_contains "$EVD_BODY" '"code.function":"main"' "EVD_WARN captures __func__"
assert_contains "$EVD_BODY" '"code.file":"hello.c"' "EVD_WARN captures __FILE__"
evd_req GET "/v1/events/count?type=metric.counter"
assert_eq "$(evd_json 'd["count"]')" 2 "counter events sent at close"
evd_pass
