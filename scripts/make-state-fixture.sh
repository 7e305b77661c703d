#!/usr/bin/env bash
# Writes the state folder kept in Tests/Fixtures/state-<release> with the binaries of a
# previous release: a 2-round federation of two small synthetic silos over plaintext on
# loopback (200 items: ranking needs 99 negatives a user). The upgrade test opens it with the current build (migrating its history forward)
# and resumes from it. Usage: make-state-fixture.sh PREVIOUS_BIN_FOLDER OUT_FOLDER
# (PREVIOUS_BIN_FOLDER holds that release's fedattn-coordinator and fedattn-client, e.g. a
# `git worktree add /tmp/prev TAG && swift build -c release` in it).
set -euo pipefail
bin=${1:?usage: make-state-fixture.sh PREVIOUS_BIN_FOLDER OUT_FOLDER}
out=${2:?usage: make-state-fixture.sh PREVIOUS_BIN_FOLDER OUT_FOLDER}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin/fedattn-client" synthesize --out "$work/silos" --silos 2 --users 200 --items 200 --strategies 1 >/dev/null
"$bin/fedattn-coordinator" serve --insecure --host 127.0.0.1 --port 0 --port-file "$work/port" --state "$work/state" \
  --rounds 2 --min-clients 2 --items catalogue:200 --strategies 1 ${EXTRA_SERVE_FLAGS:-} 2> "$work/serve.log" &
serve=$!
while [ ! -s "$work/port" ]; do kill -0 $serve; sleep 0.2; done
port=$(cat "$work/port")
for silo in silo-00 silo-01; do
  "$bin/fedattn-client" join --insecure --name "$silo" --coordinator "127.0.0.1:$port" --data "$work/silos/$silo.csv" \
    --items catalogue:200 --strategies 1 2> "$work/$silo.log" &
done
wait $serve
wait
rm -rf "$out" && mkdir -p "$out"
cp "$work"/state/history.sqlite "$work"/state/settings.json "$work"/state/round-*.safetensors "$work"/state/best.safetensors "$out"/
"$bin/fedattn-coordinator" history --state "$out"
