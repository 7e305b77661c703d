#!/usr/bin/env bash
# Prints what one dishonest silo of 10 can do to the published figures and to the round kept
# (issue: a partner who cheats). MovieLens iid-10, 20 rounds at the command line's defaults,
# in process; the last silo trains honestly and reports
#   none             nothing (the clean run, scored over the same 9 honest silos);
#   forge-eval-high  a perfect model for round 1, with as many rows as it may claim;
#   forge-eval-low   a useless model for every later round, with as many rows as it may claim.
# Both forgeries aim at round 1 being kept. For each, REPEATS runs (default 3; updates reach the
# sum in the order they finish, so runs differ), the median of: the kept model's test AUC on
# the 9 honest silos (what their users get), the lowest pooled test AUC the history shows, and
# the rounds whose evaluation was disputed. JSON lines in out/hostile.jsonl, then the table.
# About 5 minutes on 2 cores.
set -euo pipefail
repeats=${REPEATS:-3}
data=${1:?usage: hostile.sh DATA_FOLDER FEDATTN_COORDINATOR}
coordinator=${2:?usage: hostile.sh DATA_FOLDER FEDATTN_COORDINATOR}
mkdir -p out
: > out/hostile.jsonl
for attack in none forge-eval-high forge-eval-low; do
  for run in $(seq "$repeats"); do
    echo "iid-10, 1 hostile silo of 10, $attack: run $run of $repeats (20 rounds) ..." >&2
    "$coordinator" simulate --silos "$data/silos/iid-10" --rounds 20 --link in-process --hostile 1 --attack "$attack" --json \
      | sed "s/^{/{\"attack\":\"$attack\",/" >> out/hostile.jsonl
  done
done
python3 - out/hostile.jsonl <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
def row(attack):
    rs = [r for r in runs if r["attack"] == attack]
    return {
        "attack": attack,
        "kept_rounds": [r["best_round"] for r in rs],
        "kept_test_auc_honest_silos": statistics.median(r["best_on_honest_silos"]["test_auc"] for r in rs),
        "lowest_pooled_test_auc": statistics.median(min(x["test_auc"] for x in r["rounds"]) for r in rs),
        "highest_pooled_hr_at_10": statistics.median(max(x["hr_at_10"] for x in r["rounds"]) for r in rs),
        "disputed_rounds": statistics.median(sum(1 for x in r["rounds"] if x["disputes"]) for r in rs),
    }
rows = [row(a) for a in ["none", "forge-eval-high", "forge-eval-low"]]
clean = rows[0]["kept_test_auc_honest_silos"]
print("One forging silo of 10, MovieLens iid-10, 20 rounds; medians of %d runs" % (len(runs) // 3))
print(f"{'attack':<17}{'kept rounds':<16}{'kept test AUC*':>15}{'vs clean':>10}{'lowest pooled AUC':>19}{'top pooled HR@10':>18}{'disputed rounds':>17}")
for r in rows:
    print(f"{r['attack']:<17}{','.join(map(str, r['kept_rounds'])):<16}{r['kept_test_auc_honest_silos']:>15.4f}"
          f"{r['kept_test_auc_honest_silos'] - clean:>+10.4f}{r['lowest_pooled_test_auc']:>19.4f}{r['highest_pooled_hr_at_10']:>18.4f}{r['disputed_rounds']:>17.0f}")
print("* the kept model evaluated on the 9 honest silos alone: what their users get")
print(json.dumps({"kind": "hostile-summary", "rows": rows}))
PY
