#!/usr/bin/env bash
# Prints the ranking figures (issue: recommend better than the best off-the-shelf recommender):
# for the built-in demo silos (written to out/demo-silos by `synthesize`) and MovieLens iid-10
# and dirichlet0.5-10, each user's last clicked test item ranked
#   - among 99 items of its silo it never interacted with: HR@10, NDCG@10 (He et al. 2017);
#   - among every catalogue item it never interacted with: Recall@20, NDCG@20 (Krichene and
#     Rendle 2020);
# by
#   1. the federation at the command line's defaults (20 rounds, the round kept by the silos'
#      validation AUC), REPEATS times (default 3: updates reach the sum in the order they
#      finish, so runs differ), the median;
#   2. the same federation on the labelled rows alone (--negatives 0), the model before
#      training to rank;
#   3. centralised `train --ranking` on the pooled silos (20 epochs, the epoch kept by
#      validation AUC, patience 5);
#   4. the most popular items and implicit's ALS, pooled train rows (scripts/ranking_reference.py;
#      ALS only where Python's implicit is installed: pip install implicit);
#   5. on iid-10, the first federated model's lists re-ranked for variety (recommend --diversity,
#      maximal marginal relevance): Recall@20 and NDCG@20 against intra-list diversity and
#      catalogue coverage (evaluate --diversity-trade-off).
# The test AUC of each federated and centralised model is printed beside: training to rank must
# keep the click task. JSON lines in out/ranking.jsonl, then the table. About 10 minutes on 2 cores.
set -euo pipefail
repeats=${REPEATS:-3}
data=${1:?usage: ranking.sh DATA_FOLDER FEDATTN_COORDINATOR FEDATTN_CLIENT}
coordinator=${2:?usage: ranking.sh DATA_FOLDER FEDATTN_COORDINATOR FEDATTN_CLIENT}
client=${3:?usage: ranking.sh DATA_FOLDER FEDATTN_COORDINATOR FEDATTN_CLIENT}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p out
: > out/ranking.jsonl
tag() { sed "s/^{/{$1,/" | tee -a out/ranking.jsonl >/dev/null; }
rm -rf out/demo-silos
"$client" synthesize --out out/demo-silos >/dev/null
for split in demo iid-10 dirichlet0.5-10; do
  # The demo data's 200 items and 3 strategies (the built-in silos `simulate` makes alone).
  if [ "$split" = demo ]; then folder=out/demo-silos; model=(--items catalogue:200 --strategies 3); else folder="$data/silos/$split"; model=(); fi
  for run in $(seq "$repeats"); do
    echo "federated: $split, run $run of $repeats (20 rounds) ..." >&2
    out=(); [ "$run" = 1 ] && out=(--out "out/ranking-$split.safetensors")
    "$coordinator" simulate --silos "$folder" "${model[@]}" --rounds 20 --link in-process "${out[@]}" --json \
      | tag "\"kind\":\"federated\",\"split\":\"$split\""
  done
  if [ "$split" = iid-10 ]; then
    echo "diversity: $split, the first federated model's lists re-ranked ..." >&2
    "$client" evaluate --model "out/ranking-$split.safetensors" --data "$folder" --diversity-trade-off 0,0.2,0.4,0.6 --threads 2 --json \
      | tag "\"kind\":\"diversity\",\"split\":\"$split\""
  fi
  echo "federated, labelled rows only: $split ..." >&2
  "$coordinator" simulate --silos "$folder" "${model[@]}" --rounds 20 --link in-process --negatives 0 --json \
    | tag "\"kind\":\"federated-labelled-only\",\"split\":\"$split\""
  echo "centralised: $split (train --epochs 20 --patience 5 --ranking) ..." >&2
  "$client" train --data "$folder" "${model[@]}" --epochs 20 --patience 5 --ranking --json | tag "\"kind\":\"centralised\",\"split\":\"$split\""
  echo "popularity and ALS: $split ..." >&2
  python3 "$here/ranking_reference.py" --silos "$folder" --json out/ranking-reference.json >/dev/null 2>&1
  python3 -c '
import json, sys
for row in json.load(open(sys.argv[1])):
    row.pop("data", None)
    print(json.dumps(row))' out/ranking-reference.json | tag "\"kind\":\"reference\",\"split\":\"$split\""
done
python3 - out/ranking.jsonl <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
def f(x): return "  n/a " if x is None else f"{x:.4f}"
def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
print(f"{'split':16} {'method':34} {'HR@10':>7} {'NDCG@10':>7} {'Rec@20':>7} {'NDCG@20':>7} {'test AUC':>8}")
for split in ("demo", "iid-10", "dirichlet0.5-10"):
    fed = [r for r in rows if r["kind"] == "federated" and r["split"] == split]
    if fed:
        keys = ("best_hr_at_10", "best_ndcg_at_10", "best_recall_at_20", "best_ndcg_at_20", "best_test_auc")
        m = [median([r[k] for r in fed]) for k in keys]
        print(f"{split:16} {f'federated, kept round (median of {len(fed)})':34} " + " ".join(f"{f(v):>7}" for v in m[:4]) + f" {f(m[4]):>8}")
    for r in rows:
        if r["split"] != split: continue
        if r["kind"] == "federated-labelled-only":
            vals = [r[k] for k in ("best_hr_at_10", "best_ndcg_at_10", "best_recall_at_20", "best_ndcg_at_20")]
            print(f"{split:16} {'federated, labelled rows only':34} " + " ".join(f"{f(v):>7}" for v in vals) + f" {f(r['best_test_auc']):>8}")
        elif r["kind"] == "centralised":
            vals = [r[k] for k in ("hr_at_10", "ndcg_at_10", "recall_at_20", "ndcg_at_20")]
            auc = r.get("best_test_auc") or r.get("test_auc")
            print(f"{split:16} {'centralised train, kept epoch':34} " + " ".join(f"{f(v):>7}" for v in vals) + f" {f(auc):>8}")
        elif r["kind"] == "reference":
            vals = [r[k] for k in ("hr_at_10", "ndcg_at_10", "recall_at_20", "ndcg_at_20")]
            print(f"{split:16} {r['method'] + ' (pooled train rows)':34} " + " ".join(f"{f(v):>7}" for v in vals) + f" {'':>8}")
for r in rows:
    if r["kind"] != "diversity": continue
    print(f"\nrecommend --diversity on {r['split']} (the first federated model, lists of 20 over the catalogue):")
    print(f"{'diversity':>9} {'Recall@20':>9} {'NDCG@20':>8} {'intra-list diversity':>20} {'coverage':>8}")
    for d in r["diversity"]:
        print(f"{d['diversity']:>9.1f} {d['recall_at_20']:>9.4f} {d['ndcg_at_20']:>8.4f} {d['intra_list_diversity']:>20.4f} {d['coverage']:>8.4f}")
PY
