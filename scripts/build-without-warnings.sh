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
# The compiler prints real paths; the root is escaped for the pattern.
root="$(pwd -P | sed 's/[].[*^$+?(){}|\\]/\\&/g')"
# A warning inside a macro's expansion (#expect) is printed as "macro expansion ...", with the
# file it expands in on the next line: ours too (dependencies are built without warnings).
warnings=$(grep -E -A1 "^(${root}/(Sources|Tests|client|coordinator|protocol)/[^:]+:[0-9]+:[0-9]+|macro expansion [^:]*:[0-9]+:[0-9]+): warning:" "$log" \
  | grep -v -E "^--$" | sort -u)
if [ -n "$warnings" ]; then
  echo
  echo "the build warned; the project builds without warnings:"
  printf '%s\n' "$warnings"
  exit 1
fi
