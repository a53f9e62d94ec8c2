#!/usr/bin/env bash
# Loss test of the outputs (issue 4): while ingesting, take the webhook receiver down and up
# several times and kill -9 eventd several times; at the end every acknowledged event has
# reached the receiver at least once (duplicates are counted and printed). Then the same
# with a file output (eventd kills only). The driver (outputs_loss_driver.py, python3 stdlib
# only) documents what it checks.
#
# Environment: EVD_BUILD_DIR (dir with eventd; default ../../build), EVD_LOSS_DURATION
# (seconds of ingest per run, default 20), EVD_LOSS_KILLS (default 4), EVD_LOSS_OUTAGES
# (default 4), EVD_CRASH_SEED, EVD_CRASH_KEEP=1 keeps the data dir and logs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${EVD_BUILD_DIR:-$here/../../build}
args=(--eventd "$build/eventd" --duration "${EVD_LOSS_DURATION:-20}"
      --kills "${EVD_LOSS_KILLS:-4}" --outages "${EVD_LOSS_OUTAGES:-4}")
[[ -n ${EVD_CRASH_SEED:-} ]] && args+=(--seed "$EVD_CRASH_SEED")
[[ ${EVD_CRASH_KEEP:-0} == 1 ]] && args+=(--keep)
/usr/bin/python3 "$here/outputs_loss_driver.py" "${args[@]}" --dest webhook
/usr/bin/python3 "$here/outputs_loss_driver.py" "${args[@]}" --dest file
echo "PASS test_outputs_loss"
