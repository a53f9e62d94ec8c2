#!/usr/bin/env bash
# Crash test: kill -9 eventd at random moments under concurrent ingest, restart it on the
# same data dir, and verify that every acknowledged event is stored exactly once, nothing is
# stored twice, client ids stay idempotent across crashes, ids are unique, the count endpoint
# agrees with a full cursor walk, and recovery reports truncation, never corruption.
# The driver (kill9_driver.py, python3 stdlib only) documents in detail what this proves.
#
# Environment: EVD_BUILD_DIR (dir with eventd; default ../../build), EVD_CRASH_KILLS
# (default 25), EVD_CRASH_SENDERS (default 4), EVD_CRASH_SEED (default: time; printed, so a
# failure can be replayed), EVD_CRASH_KEEP=1 keeps the data dir and daemon logs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${EVD_BUILD_DIR:-$here/../../build}
args=(--eventd "$build/eventd" --kills "${EVD_CRASH_KILLS:-25}" --senders "${EVD_CRASH_SENDERS:-4}")
[[ -n ${EVD_CRASH_SEED:-} ]] && args+=(--seed "$EVD_CRASH_SEED")
[[ ${EVD_CRASH_KEEP:-0} == 1 ]] && args+=(--keep)
exec /usr/bin/python3 "$here/kill9_driver.py" "${args[@]}"
