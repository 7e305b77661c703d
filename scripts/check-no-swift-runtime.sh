#!/usr/bin/env bash
# Checks that each executable named runs without the Swift runtime: `ldd` names no Swift
# library (libswift*, Foundation, Dispatch, BlocksRuntime, ICU of Foundation) and no library
# it cannot find. A release needs this (`make release` builds with --static-swift-stdlib);
# `make build` links the runtime dynamically, from the Swift toolchain.
# Usage: scripts/check-no-swift-runtime.sh EXECUTABLE...; exit status 1 naming what is wrong.
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: scripts/check-no-swift-runtime.sh EXECUTABLE..." >&2; exit 2; }
swift_runtime='lib(swift[^ ]*|Foundation[^ ]*|_Foundation[^ ]*|dispatch|BlocksRuntime)\.so'
failed=0
for executable in "$@"; do
  [ -f "$executable" ] || { echo "$executable: no such file" >&2; failed=1; continue; }
  libraries="$(ldd "$executable" 2>&1)" || { echo "$executable: ldd failed: $libraries" >&2; failed=1; continue; }
  runtime="$(grep -E "$swift_runtime" <<<"$libraries" | awk '{ print $1 }' | tr '\n' ' ' || true)"
  runtime_folder="$(grep -E "$swift_runtime" <<<"$libraries" | awk '$3 ~ /^\// { sub(/\/[^\/]*$/, "", $3); print $3; exit }' || true)"
  missing="$(grep 'not found' <<<"$libraries" || true)"
  if [ -n "$runtime" ]; then
    echo "$executable: the binaries need the Swift runtime: build them with make release (swift build --static-swift-stdlib)." >&2
    echo "  it loads ${runtime}from ${runtime_folder:-nowhere here (not found)}" >&2
    failed=1
  fi
  if [ -n "$missing" ]; then
    echo "$executable: libraries that cannot be found here:" >&2
    echo "$missing" >&2
    failed=1
  fi
done
exit "$failed"
