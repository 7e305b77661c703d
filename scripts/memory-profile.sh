#!/usr/bin/env bash
# The resident memory of a process over time, sampled every 20 ms from /proc (Linux).
#
#   scripts/memory-profile.sh OUT.tsv COMMAND [ARGS...]   runs COMMAND, writing samples to OUT.tsv
#   scripts/memory-profile.sh --summary OUT.tsv           prints the peak and each second's range
#
# As the coordinator's wrapper under load:
#   fedattn-coordinator bench --clients 200 --rounds 5 --serve-wrapper "scripts/memory-profile.sh out/serve-memory.tsv"
#   scripts/memory-profile.sh --summary out/serve-memory.tsv
set -u

if [ "${1:-}" = "--summary" ]; then
  file=${2:?usage: memory-profile.sh --summary OUT.tsv}
  awk -F'\t' 'NR == 1 { next }
    { s = int($1); if (!(s in lo) || $2 < lo[s]) lo[s] = $2; if ($2 > hi[s]) hi[s] = $2; if (s > last) last = s
      if ($2 > peak) { peak = $2; anon = $3; filed = $4; at = $1 } }
    END {
      printf "peak resident %.1f MB at %.2f s: %.1f MB anonymous, %.1f MB mapped from files\n", peak / 1000, at, anon / 1000, filed / 1000
      print "second  lowest MB  highest MB"
      for (i = 0; i <= last; i++) if (i in hi) printf "%6d %10.1f %11.1f\n", i, lo[i] / 1000, hi[i] / 1000
    }' "$file"
  exit 0
fi

out=${1:?usage: memory-profile.sh OUT.tsv COMMAND [ARGS...]}
shift
"$@" &
pid=$!
trap 'kill "$pid" 2>/dev/null' TERM INT
printf 'seconds\trss_kb\tanon_kb\tfile_kb\n' > "$out"
start=$(date +%s.%N)
while kill -0 "$pid" 2>/dev/null; do
  awk -v now="$(date +%s.%N)" -v start="$start" '
    BEGIN { t = now - start } /^VmRSS:/ { rss = $2 } /^RssAnon:/ { anon = $2 } /^RssFile:/ { file = $2 }
    END { if (rss != "") printf "%.3f\t%d\t%d\t%d\n", t, rss, anon, file }' "/proc/$pid/status" 2>/dev/null >> "$out"
  sleep 0.02
done
wait "$pid"
