#!/usr/bin/env bash
# Runs the built test suite RUNS times in a row while a CPU hog keeps every core busy, and
# stops at the first failing run (its log is kept). A suite that passes here does not depend
# on how fast the machine is: `make test-repeat RUNS=20`.
set -euo pipefail
runs="${1:-20}"
swift_bin="${SWIFT:-swift}"
config="${CONFIG:-release}"
logs="$(mktemp -d /tmp/fedattn-test-repeat.XXXXXX)"

cores="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
hogs=()
stop_hogs() { for pid in ${hogs[@]+"${hogs[@]}"}; do kill "$pid" 2>/dev/null || true; done; }
trap stop_hogs EXIT
for _ in $(seq "$cores"); do
  ( while :; do :; done ) &
  hogs+=("$!")
done
echo "test-repeat: $runs runs of the suite beside $cores busy loop(s); logs in $logs"

passed=0
for run in $(seq "$runs"); do
  started=$(date +%s)
  # A run that hangs is a failing run: cut off after 20 minutes (a run takes about 2 here).
  if timeout 1200 "$swift_bin" test -c "$config" --skip-build >"$logs/run-$run.log" 2>&1; then
    passed=$((passed + 1))
    echo "run $run/$runs: passed in $(( $(date +%s) - started )) s ($(grep -Eo 'with [0-9]+ tests' "$logs/run-$run.log" | tail -1))"
  else
    echo "run $run/$runs: FAILED in $(( $(date +%s) - started )) s; log: $logs/run-$run.log"
    grep -E '✘' "$logs/run-$run.log" | head -20 || true
    echo "{\"runs\": $run, \"passed\": $passed, \"failed_run\": $run, \"log\": \"$logs/run-$run.log\"}"
    exit 1
  fi
done
echo "{\"runs\": $runs, \"passed\": $passed}"
