#!/usr/bin/env bash
# Prints the model-quality figures (issue: federated at least as good as centralised):
#  1. each server optimiser (FedProx, the default; plain FedAvg; FedNova; FedAvgM, FedAdam,
#     FedYogi, FedAdagrad, with their default settings) on the built-in demo silos and the MovieLens
#     iid-10 and dirichlet0.5-10 silos, 20 rounds: the round-20 test AUC and that of the round
#     kept by the silos' validation splits (never chosen by test AUC);
#  2. model selection: the round kept by the silos' validation splits (--patience 5) against
#     centralised training on the pooled silos with the same split and early stopping
#     (train --epochs 20 --patience 5), with HR@10 and NDCG@10 of each kept model; with the
#     default settings, and with each split's tuned settings (FedNova, client rate 0.003,
#     batch 64; docs/model-quality.md), centralised training then also at rate 0.003, batch 64;
#     each federation runs REPEATS times (default 5: clients' updates reach the sum in the
#     order they finish, so runs differ), the table giving the median and the range;
#  3. robust aggregation on iid-10 with 1 hostile silo of 10 (in-process link): round-20 test
#     AUC pooled over the 9 honest silos, for each rule and attack ("none": the hostile silo
#     sends honestly, the clean run scored over the same silos).
# JSON lines in out/quality.jsonl, then the tables. About 9 minutes on 2 cores.
set -euo pipefail
repeats=${REPEATS:-5}
data=${1:?usage: quality.sh DATA_FOLDER FEDATTN_COORDINATOR FEDATTN_CLIENT}
coordinator=${2:?usage: quality.sh DATA_FOLDER FEDATTN_COORDINATOR FEDATTN_CLIENT}
client=${3:?usage: quality.sh DATA_FOLDER FEDATTN_COORDINATOR FEDATTN_CLIENT}
mkdir -p out
: > out/quality.jsonl
tag() { sed "s/^{/{$1,/" | tee -a out/quality.jsonl >/dev/null; }
for split in demo iid-10 dirichlet0.5-10; do
  silos=(); pooled=(); [ "$split" = demo ] || { silos=(--silos "$data/silos/$split"); pooled=(--data "$data/silos/$split"); }
  for strategy in fedprox fedavg fednova fedavgm fedadam fedyogi fedadagrad; do
    echo "server optimisers: $strategy on $split, 20 rounds ..." >&2
    "$coordinator" simulate "${silos[@]}" --rounds 20 --strategy "$strategy" --json | tag "\"kind\":\"server-optimiser\",\"split\":\"$split\",\"name\":\"$strategy\""
  done
  # Each split's tuned settings: the client rate and batch for all, the proximal term kept on
  # iid-10 only (docs/model-quality.md).
  case "$split" in
    demo) tuned=(--strategy fednova --proximal-mu 0 --learning-rate 0.003 --batch-size 64) ;;
    iid-10) tuned=(--strategy fednova --learning-rate 0.003 --batch-size 64) ;;
    *) tuned=(--strategy fednova --proximal-mu 0 --learning-rate 0.003 --batch-size 64) ;;
  esac
  echo "model selection: $split, federated (patience 5) and centralised (patience 5), default and tuned settings ..." >&2
  for run in $(seq "$repeats"); do
    "$coordinator" simulate "${silos[@]}" --rounds 20 --patience 5 --json | tag "\"kind\":\"selection-federated\",\"split\":\"$split\",\"settings\":\"default\""
    "$coordinator" simulate "${silos[@]}" --rounds 20 --patience 5 "${tuned[@]}" --json \
      | tag "\"kind\":\"selection-federated\",\"split\":\"$split\",\"settings\":\"tuned: ${tuned[*]}\""
  done
  "$client" train "${pooled[@]}" --epochs 20 --patience 5 --ranking --json | tag "\"kind\":\"selection-centralised\",\"split\":\"$split\",\"settings\":\"default\""
  "$client" train "${pooled[@]}" --epochs 20 --patience 5 --ranking --learning-rate 0.003 --batch-size 64 --json \
    | tag "\"kind\":\"selection-centralised\",\"split\":\"$split\",\"settings\":\"tuned: --learning-rate 0.003 --batch-size 64\""
done
for strategy in fednova fedprox median trimmed-mean krum norm-bounded; do
  for attack in none sign-flip scale:100 noise inflate-examples; do
    echo "robust aggregation: $strategy against $attack (1 hostile silo of 10, iid-10) ..." >&2
    "$coordinator" simulate --silos "$data/silos/iid-10" --rounds 20 --link in-process --strategy "$strategy" --hostile 1 --attack "$attack" --json \
      | tag "\"kind\":\"robust\",\"name\":\"$strategy\",\"attack\":\"$attack\""
  done
done
python3 - out/quality.jsonl <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
def f(x): return "n/a" if x is None else f"{x:.4f}"
opt = [r for r in rows if r["kind"] == "server-optimiser"]
splits = list(dict.fromkeys(r["split"] for r in opt))
print()
print("1. Server optimisers, 20 rounds: test AUC after round 20 / of the round kept by validation AUC (round)")
print(f"{'strategy':<11}" + "".join(f"{s:>24}" for s in splits))
for name in dict.fromkeys(r["name"] for r in opt):
    cells = []
    for s in splits:
        r = next(x for x in opt if x["name"] == name and x["split"] == s)
        cells.append(f"{r['test_auc']:.4f} / {r['best_test_auc']:.4f} ({r['best_round']:>2})")
    print(f"{name:<11}" + "".join(f"{c:>24}" for c in cells))
print()
print("2. Model selection (validation: a random 10% of each user's train rows; patience 5); centralised at")
print("   its default settings (rate 0.001, batch 256) and at the tuned client's (rate 0.003, batch 64);")
print("   federated: the median kept test AUC over the runs (range), and the median HR@10 / NDCG@10")
print(f"{'split':<16}{'settings':<9}{'runs':>5}{'federated kept (range)':>27}{'centralised kept (epoch)':>26}{'fed HR@10/NDCG@10':>20}{'central HR@10/NDCG@10':>23}")
for s in splits:
    for settings in ("default", "tuned"):
        feds = [r for r in rows if r["kind"] == "selection-federated" and r["split"] == s and r["settings"].startswith(settings)]
        cen = next(r for r in rows if r["kind"] == "selection-centralised" and r["split"] == s and r["settings"].startswith(settings))
        aucs = [r["best_test_auc"] for r in feds]
        kept = f"{statistics.median(aucs):.4f} ({min(aucs):.4f}-{max(aucs):.4f})"
        ranking = f(statistics.median(r["best_hr_at_10"] for r in feds)) + "/" + f(statistics.median(r["best_ndcg_at_10"] for r in feds))
        print(f"{s:<16}{settings:<9}{len(feds):>5}{kept:>27}{f(cen['best_test_auc']) + ' (' + str(cen['best_epoch']) + ')':>26}"
              f"{ranking:>20}{f(cen['hr_at_10']) + '/' + f(cen['ndcg_at_10']):>23}")
for s in splits:
    fed = next(r for r in rows if r["kind"] == "selection-federated" and r["split"] == s and r["settings"].startswith("tuned"))
    print(f"   tuned {s}: {fed['settings'][len('tuned: '):]}")
robust = [r for r in rows if r["kind"] == "robust"]
attacks = list(dict.fromkeys(r["attack"] for r in robust))
print()
print("3. Robust aggregation, iid-10, 1 hostile silo of 10: round-20 test AUC over the 9 honest silos")
print(f"{'rule':<14}" + "".join(f"{a:>18}" for a in attacks))
for name in dict.fromkeys(r["name"] for r in robust):
    cells = [f(next(r for r in robust if r["name"] == name and r["attack"] == a)["test_auc"]) for a in attacks]
    print(f"{name:<14}" + "".join(f"{c:>18}" for c in cells))
PY
