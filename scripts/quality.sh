#!/usr/bin/env bash
# Prints the model-quality figures: each server optimiser (FedProx, the default; plain
# FedAvg; FedAvgM, FedAdam, FedYogi, FedAdagrad, with their default settings) on the built-in demo silos
# and the MovieLens iid-10 and dirichlet0.5-10 silos, 20 rounds each: the round-20 test
# AUC, and the best round's. JSON lines in out/quality.jsonl, then a table.
set -euo pipefail
data=${1:?usage: quality.sh DATA_FOLDER FEDATTN_COORDINATOR}
coordinator=${2:?usage: quality.sh DATA_FOLDER FEDATTN_COORDINATOR}
mkdir -p out
: > out/quality.jsonl
for split in demo iid-10 dirichlet0.5-10; do
  silos=(); [ "$split" = demo ] || silos=(--silos "$data/silos/$split")
  for strategy in fedprox fedavg fedavgm fedadam fedyogi fedadagrad; do
    echo "server optimisers: $strategy on $split, 20 rounds ..." >&2
    "$coordinator" simulate "${silos[@]}" --rounds 20 --strategy "$strategy" --json \
      | sed "s/^{/{\"kind\":\"server-optimiser\",\"split\":\"$split\",\"name\":\"$strategy\",/" | tee -a out/quality.jsonl >/dev/null
  done
done
python3 - out/quality.jsonl <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
splits = list(dict.fromkeys(r["split"] for r in rows))
print()
print("Server optimisers, 20 rounds: test AUC after round 20 / best round's (round)")
print(f"{'strategy':<11}" + "".join(f"{s:>24}" for s in splits))
for name in dict.fromkeys(r["name"] for r in rows):
    cells = []
    for s in splits:
        r = next(x for x in rows if x["name"] == name and x["split"] == s)
        aucs = [x["test_auc"] for x in r["rounds"]]
        best = max(range(len(aucs)), key=lambda i: aucs[i])
        cells.append(f"{aucs[-1]:.4f} / {aucs[best]:.4f} ({best + 1:>2})")
    print(f"{name:<11}" + "".join(f"{c:>24}" for c in cells))
PY
