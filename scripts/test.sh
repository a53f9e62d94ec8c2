#!/usr/bin/env bash
# The whole test suite (what `make test` and CI run):
#   1. normal build with -Werror, every ctest test (unit, integration, crash);
#   2. ASan+UBSan build, every unit and integration test again;
#   3. every fuzz target for FUZZ_SECONDS (default 20) on its seed corpus.
# Exits non-zero if any step fails. ctest's summary lines say what ran.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
status=0

echo "== normal build"
make --no-print-directory build
(cd build && ctest --output-on-failure -j "$JOBS" --timeout 900) || status=1

echo "== ASan/UBSan build"
make --no-print-directory build-asan
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd build-asan && ctest --output-on-failure -j "$JOBS" -L 'unit|integration' --timeout 900) || status=1

echo "== fuzz (${FUZZ_SECONDS}s per target)"
make --no-print-directory build-fuzz
bash scripts/fuzz.sh build-fuzz "$FUZZ_SECONDS" || status=1

if [[ $status -ne 0 ]]; then echo "test suite FAILED"; else echo "test suite passed"; fi
exit $status
