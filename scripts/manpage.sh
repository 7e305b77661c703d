#!/usr/bin/env bash
# Writes a man page for one of the executables to standard output, made of its own help:
# `EXECUTABLE --help`, then `EXECUTABLE help SUB` for each subcommand it lists. `make install`
# installs one per executable (man fedattn-coordinator). Usage: scripts/manpage.sh EXECUTABLE
set -euo pipefail
executable="${1:?usage: scripts/manpage.sh EXECUTABLE (a built fedattn-coordinator or fedattn-client)}"
[ -x "$executable" ] || { echo "manpage.sh: $executable is not an executable file" >&2; exit 1; }
name="$(basename "$executable")"

help="$("$executable" --help)" || { echo "manpage.sh: $executable --help failed" >&2; exit 1; }
version="$("$executable" --version)" || { echo "manpage.sh: $executable --version failed" >&2; exit 1; }
# The subcommands are the lines indented by two spaces under SUBCOMMANDS:, up to "See 'help …'".
mapfile -t subcommands < <(printf '%s\n' "$help" |
  awk '/^SUBCOMMANDS:/ { on = 1; next } on && /^  See / { exit } on && /^  [a-z]/ { print $1 }')
[ "${#subcommands[@]}" -gt 0 ] || { echo "manpage.sh: found no subcommands in $executable --help" >&2; exit 1; }
# The one-line overview, for NAME (the help's first paragraph, joined).
overview="$(printf '%s\n' "$help" | awk 'NR == 1 { sub(/^OVERVIEW: /, "") } /^$/ { exit } { printf "%s%s", (NR > 1 ? " " : ""), $0 }')"

# Help text as roff, verbatim: backslashes escaped, and no line may start a request.
verbatim() { sed -e 's/\\/\\e/g' -e 's/^\([.'\'']\)/\\\&\1/'; }

echo ".TH $(tr '[:lower:]' '[:upper:]' <<<"$name") 1 \"\" \"$version\" \"FedAttention\""
echo ".SH NAME"
echo "$name \\- $(verbatim <<<"$overview")"
echo ".SH SYNOPSIS"
echo ".B $name"
echo ".I subcommand"
echo "[options]"
echo ".SH DESCRIPTION"
echo ".nf"
printf '%s\n' "$help" | verbatim
echo ".fi"
for sub in "${subcommands[@]}"; do
  echo ".SH \"$(tr '[:lower:]' '[:upper:]' <<<"$name $sub")\""
  echo ".nf"
  "$executable" help "$sub" | verbatim || { echo "manpage.sh: $executable help $sub failed" >&2; exit 1; }
  echo ".fi"
done
echo ".SH SEE ALSO"
echo "The documentation in /usr/share/doc/fedattention (or PREFIX/share/doc/fedattention):"
echo "operations.md (running a federation, and as a service), client.md, protocol.md."
