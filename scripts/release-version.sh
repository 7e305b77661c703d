#!/usr/bin/env bash
# Prints this source tree's release version: BuildVersion.release, which both executables'
# --version print. The .deb and the tarball are named and versioned by it.
set -euo pipefail
file="$(dirname "$0")/../Sources/FedAttnCommandLine/BuildVersion.swift"
version="$(sed -n 's/^ *public static let release = "\([^"]*\)".*/\1/p' "$file")"
[[ "$version" =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || {
  echo "release-version.sh: no release version in $file (expected: public static let release = \"X.Y.Z\"; found '$version')" >&2
  exit 1
}
echo "$version"
