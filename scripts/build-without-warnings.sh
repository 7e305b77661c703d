#!/usr/bin/env bash
# Runs the build command given as arguments, shows its output, and fails when the build fails
# or when the compiler warned about a file of this project (dependencies' own warnings are
# theirs): a clean build has none, and `make test` keeps it so.
set -uo pipefail
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
"$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || exit "$status"
root="$(pwd)"
warnings=$(grep -E "^${root}/(Sources|Tests|client|coordinator|protocol)/[^:]+:[0-9]+:[0-9]+: warning:" "$log" | sort -u)
if [ -n "$warnings" ]; then
  echo
  echo "the build warned $(printf '%s\n' "$warnings" | wc -l) time(s); the project builds without warnings:"
  printf '%s\n' "$warnings"
  exit 1
fi
