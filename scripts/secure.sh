#!/usr/bin/env bash
# Prints the secure-aggregation figures (issue 13), plain runs beside secure ones in the same run:
#  1. test AUC after 20 rounds on the MovieLens iid-10 and dirichlet0.5-10 silos (10 clients
#     over gRPC with mutual TLS), plain and with --secure-aggregation (goal: within 0.002);
#     bytes up per client per round against the plain run's and the raw float32 model; and
#     on iid-10 a smaller ring (--secagg-bits 16 --secagg-clip 0.1: fewer bytes, coarser steps);
#  2. seconds per round and the coordinator's CPU seconds (serve as its own process; the
#     clients send prepared updates of a 1,682-item model) at 10 and 100 clients, plain and
#     secure, 5 rounds, 3 runs each: medians; and a 100-silo federation that trains
#     (`simulate`, 100 synthetic silos of 100 users over gRPC, 5 rounds), plain and secure;
#  3. a secure round where 3 of 10 silos drop out after sending their masked values (their
#     connection closes): whether it completed with their inputs, and its seconds against the
#     same round without drops (iid-10, in process, 4 rounds, round 3; 3 runs each: medians).
# JSON lines in out/secure.jsonl, then the tables. About 5 minutes on 2 cores.
set -euo pipefail
data=${1:?usage: secure.sh DATA_FOLDER FEDATTN_COORDINATOR FEDATTN_CLIENT}
coordinator=${2:?usage: secure.sh DATA_FOLDER FEDATTN_COORDINATOR FEDATTN_CLIENT}
client=${3:?usage: secure.sh DATA_FOLDER FEDATTN_COORDINATOR FEDATTN_CLIENT}
mkdir -p out
: > out/secure.jsonl
tag() { sed "s/^{/{$1,/" | tee -a out/secure.jsonl >/dev/null; }
for split in iid-10 dirichlet0.5-10; do
  modes="plain secure"; [ "$split" = iid-10 ] && modes="plain secure secure-16bit"
  for mode in $modes; do
    echo "$split, $mode: 20 rounds over gRPC ..." >&2
    flags=()
    [ "$mode" = secure ] && flags=(--secure-aggregation)
    [ "$mode" = secure-16bit ] && flags=(--secure-aggregation --secagg-bits 16 --secagg-clip 0.1)
    "$coordinator" simulate --silos "$data/silos/$split" --rounds 20 "${flags[@]}" --json \
      | tag "\"kind\":\"auc\",\"split\":\"$split\",\"mode\":\"$mode\""
  done
done
for clients in 10 100; do
  for run in 1 2 3; do
    for mode in plain secure; do
      echo "load, $clients clients, $mode, run $run ..." >&2
      flags=(); [ "$mode" = secure ] && flags=(--secure-aggregation)
      "$coordinator" bench --clients "$clients" --rounds 5 --items 1682 "${flags[@]}" --json 2>/dev/null \
        | tag "\"kind\":\"load\",\"mode\":\"$mode\""
    done
  done
done
silos100=$(mktemp -d)
trap 'rm -rf "$silos100"' EXIT
"$client" synthesize --out "$silos100" --silos 100 --users 10000 --items 1682 >/dev/null 2>&1
for mode in plain secure; do
  echo "100 synthetic silos, $mode: 5 rounds over gRPC ..." >&2
  flags=(); [ "$mode" = secure ] && flags=(--secure-aggregation)
  "$coordinator" simulate --silos "$silos100" --items catalogue:1682 --strategies 3 --rounds 5 "${flags[@]}" --json \
    | tag "\"kind\":\"silos100\",\"mode\":\"$mode\""
done
for run in 1 2 3; do
  for drops in 0 3; do
    echo "dropouts: $drops of 10 after masking in round 3, run $run ..." >&2
    "$coordinator" simulate --silos "$data/silos/iid-10" --rounds 4 --link in-process --secure-aggregation --dropouts "$drops" \
      --dropout-round 3 --json | tag "\"kind\":\"dropout\",\"dropouts\":$drops"
  done
done
python3 - out/secure.jsonl <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print()
print("1. 20 rounds, 10 silos over gRPC: test AUC after round 20, mean bytes up per client per round")
print(f"{'split':<17}{'mode':<14}{'test AUC':>9}{'vs plain':>10}{'bytes up':>10}{'vs plain':>10}{'vs float32 model':>18}")
for split in ["iid-10", "dirichlet0.5-10"]:
    run = {r["mode"]: r for r in rows if r["kind"] == "auc" and r["split"] == split}
    up = {m: statistics.mean(x["bytes_up_per_client"] for x in run[m]["rounds"]) for m in run}
    p = run["plain"]
    for mode, r in run.items():
        print(f"{split:<17}{mode:<14}{r['test_auc']:>9.4f}{r['test_auc'] - p['test_auc']:>+10.4f}{up[mode]:>10,.0f}"
              f"{up[mode] / up['plain']:>9.2f}x{up[mode] / p['model_bytes_float32']:>17.2f}x")
print()
print("2. Load: serve as its own process, prepared updates, 1,682-item model, 5 rounds; medians of 3 runs")
print(f"{'clients':>8}{'mode':>8}{'s/round':>9}{'coordinator CPU s':>19}{'CPU s/round':>13}{'bytes up':>10}")
for clients in [10, 100]:
    for mode in ["plain", "secure"]:
        runs = [r for r in rows if r["kind"] == "load" and r["clients"] == clients and r["mode"] == mode]
        sec = statistics.median(statistics.mean(r["round_seconds"]) for r in runs)
        cpu = statistics.median(r["coordinator_cpu_seconds"] for r in runs)
        print(f"{clients:>8}{mode:>8}{sec:>9.3f}{cpu:>19.2f}{cpu / runs[0]['rounds']:>13.3f}{runs[0]['bytes_up_per_client'][-1]:>10,}")
print()
print("   100 synthetic silos that train (simulate over gRPC, 5 rounds): seconds per round, median over the rounds")
for mode in ["plain", "secure"]:
    r = next(r for r in rows if r["kind"] == "silos100" and r["mode"] == mode)
    print(f"  {mode:<7} {statistics.median(x['seconds'] for x in r['rounds']):.2f} s a round "
          f"(slowest silo's training {statistics.median(x['train_seconds_max'] for x in r['rounds']):.2f} s), "
          f"bytes up {r['rounds'][-1]['bytes_up_per_client']:,}, test AUC {r['test_auc']:.4f}")
print()
print("3. Round 3 of iid-10 (in process, secure): 3 of 10 silos drop out after their masked values; medians of 3 runs")
for drops in [0, 3]:
    runs = [r for r in rows if r["kind"] == "dropout" and r["dropouts"] == drops]
    third = [r["rounds"][2] for r in runs]
    done = all(t["clients"] == 10 and t["retries"] == 0 for t in third)
    print(f"  {drops} dropouts: {'completed with all 10 inputs, no retry' if done else 'NOT completed as planned'}; "
          f"evaluated by {third[0]['evaluated_clients']}; {statistics.median(t['seconds'] for t in third):.3f} s; "
          f"final test AUC {statistics.median(r['test_auc'] for r in runs):.4f}")
PY
