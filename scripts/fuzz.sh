#!/usr/bin/env bash
# Run every fuzz target in BUILD_DIR/fuzz for SECONDS each, starting from the seed corpus in
# tests/fuzz/corpus/<target>/ (copied to a scratch directory so seeds stay as committed).
# A crash, leak or timeout fails the run and leaves the reproducer in build-fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build-fuzz}
SECONDS_PER=${2:-20}
shopt -s nullglob
targets=("$BUILD_DIR"/fuzz/fuzz_*)
if ((${#targets[@]} == 0)); then echo "fuzz: no targets built"; exit 1; fi
mkdir -p "$BUILD_DIR/findings"
passed=0; failed=0
for t in "${targets[@]}"; do
  name=$(basename "$t")
  work=$(mktemp -d)
  [[ -d tests/fuzz/corpus/$name ]] && cp -r tests/fuzz/corpus/"$name"/. "$work"/
  dict=(); [[ -f tests/fuzz/$name.dict ]] && dict=(-dict=tests/fuzz/$name.dict)
  if "$t" "${dict[@]}" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$BUILD_DIR/findings/$name-" -print_final_stats=0 "$work" \
       >"$BUILD_DIR/findings/$name.log" 2>&1; then
    echo "fuzz: $name ok ($(grep -o 'cov: [0-9]*' "$BUILD_DIR/findings/$name.log" | tail -1))"
    passed=$((passed+1))
  else
    echo "fuzz: $name FAILED — see $BUILD_DIR/findings/$name.log"; tail -40 "$BUILD_DIR/findings/$name.log"
    failed=$((failed+1))
  fi
  rm -rf "$work"
done
echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
