#!/usr/bin/env bash
# Prints the differential-privacy figures (issue: a number for how much a silo's users are
# protected), on the MovieLens iid-10 silos:
#  1. test AUC after 20 rounds at epsilon 1, 2, 4 and 8 and without DP, for each kind:
#     example-level DP-SGD in every silo (delta = 1 / the silo's training examples; the
#     settings DP-SGD needs: fedavg, batch 1024, client learning rate 0.003, 2 local epochs,
#     clip 0.7, the same without DP beside it) and client-level DP-FedAvg (delta = 1 / 10
#     silos, fixed clip 1 and adaptive clipping to the median norm);
#  2. one-thread training throughput with DP-SGD against without (train on the pooled
#     silos, batch 256 and 1024, 3 runs each: medians);
#  3. the accountant against Google's dp-accounting (RDP): the largest relative difference
#     over a grid of sampling rates, noise multipliers, steps and deltas (needs python3
#     dp-accounting, which make deps installs; skipped without it).
# JSON lines in out/privacy.jsonl, then the tables. About 5 minutes on 2 cores.
set -euo pipefail
data=${1:?usage: privacy.sh DATA_FOLDER FEDATTN_COORDINATOR FEDATTN_CLIENT}
coordinator=${2:?usage: privacy.sh DATA_FOLDER FEDATTN_COORDINATOR FEDATTN_CLIENT}
client=${3:?usage: privacy.sh DATA_FOLDER FEDATTN_COORDINATOR FEDATTN_CLIENT}
mkdir -p out
: > out/privacy.jsonl
tag() { sed "s/^{/{$1,/" | tee -a out/privacy.jsonl >/dev/null; }
silos=(--silos "$data/silos/iid-10" --rounds 20 --link in-process)
dpsgd=(--strategy fedavg --batch-size 1024 --learning-rate 0.003 --local-epochs 2)
echo "no DP: the default run, and DP-SGD's settings without noise ..." >&2
"$coordinator" simulate "${silos[@]}" --json | tag '"kind":"auc","level":"none","name":"default settings","epsilon":null'
"$coordinator" simulate "${silos[@]}" "${dpsgd[@]}" --json | tag '"kind":"auc","level":"none","name":"DP-SGD settings","epsilon":null'
for epsilon in 1 2 4 8; do
  echo "example-level DP-SGD at epsilon $epsilon ..." >&2
  "$coordinator" simulate "${silos[@]}" "${dpsgd[@]}" --example-clip-norm 0.7 --example-target-epsilon "$epsilon" --json \
    | tag "\"kind\":\"auc\",\"level\":\"example\",\"name\":\"DP-SGD\",\"epsilon\":$epsilon"
  echo "client-level DP-FedAvg at epsilon $epsilon, fixed and adaptive clipping ..." >&2
  "$coordinator" simulate "${silos[@]}" --strategy dp-fedavg --target-epsilon "$epsilon" --json \
    | tag "\"kind\":\"auc\",\"level\":\"client\",\"name\":\"DP-FedAvg clip 1\",\"epsilon\":$epsilon"
  "$coordinator" simulate "${silos[@]}" --strategy dp-fedavg --target-epsilon "$epsilon" --adaptive-clip-quantile 0.5 --json \
    | tag "\"kind\":\"auc\",\"level\":\"client\",\"name\":\"DP-FedAvg adaptive\",\"epsilon\":$epsilon"
done
for batch in 256 1024; do
  for run in 1 2 3; do
    echo "throughput, batch $batch, run $run: plain and DP-SGD (noise multiplier 1), one thread ..." >&2
    "$client" train --data "$data/silos/iid-10" --epochs 3 --batch-size "$batch" --threads 1 --json \
      | tag "\"kind\":\"throughput\",\"dp\":false,\"batch\":$batch"
    "$client" train --data "$data/silos/iid-10" --epochs 3 --batch-size "$batch" --threads 1 --dp-noise-multiplier 1 --json \
      | tag "\"kind\":\"throughput\",\"dp\":true,\"batch\":$batch"
  done
done
if python3 -c "import dp_accounting.rdp" 2>/dev/null; then
  echo "accountant against dp-accounting: 96 grid points ..." >&2
  # (dp-accounting warns, on stderr, about orders its series do not converge for: it skips them, as we do.)
  python3 - "$coordinator" <<'PY' 2>/dev/null | tee -a out/privacy.jsonl >/dev/null
import itertools, json, subprocess, sys
from dp_accounting import dp_event, rdp
worst = 0.0
grid = list(itertools.product([0.001, 0.01, 0.1, 1.0], [0.6, 1.0, 2.0, 5.0], [1, 100, 1000], [1e-5, 1e-3]))
for q, sigma, steps, delta in grid:
    accountant = rdp.RdpAccountant()
    accountant.compose(dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma)), steps)
    theirs = accountant.get_epsilon(delta)
    out = subprocess.run([sys.argv[1], "privacy", "--sampling-rate", str(q), "--noise-multiplier", str(sigma), "--steps", str(steps),
                          "--delta", str(delta), "--json"], capture_output=True, text=True, check=True).stdout
    ours = json.loads(out)["epsilon"]
    worst = max(worst, abs(ours - theirs) / max(abs(theirs), 1e-12))
print(json.dumps({"kind": "accountant", "points": len(grid), "largest_relative_difference": worst}))
PY
fi
python3 - out/privacy.jsonl <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
def f(x): return "n/a" if x is None else f"{x:.4f}"
auc = [r for r in rows if r["kind"] == "auc"]
print()
print("1. iid-10, 20 rounds: test AUC after round 20 (log loss, HR@10), and the epsilon spent per silo")
print(f"{'kind':<34}{'epsilon':>8}{'test AUC':>10}{'log loss':>10}{'HR@10':>8}{'spent':>9}")
for r in auc:
    last = r["rounds"][-1]
    spent = last.get("example_epsilon") if r["level"] == "example" else last.get("epsilon")
    label = f"{r['level']} level: {r['name']}" if r["level"] != "none" else f"no DP: {r['name']}"
    print(f"{label:<34}{'-' if r['epsilon'] is None else r['epsilon']:>8}{f(r['test_auc']):>10}{f(last['test_logloss']):>10}"
          f"{f(last.get('hr_at_10')):>8}{f(spent) if spent is not None else '-':>9}")
best_plain = max(r["test_auc"] for r in auc if r["level"] == "none")
at8 = next((r for r in auc if r["level"] == "example" and r["epsilon"] == 8), None)
if at8: print(f"example level at epsilon 8: {at8['test_auc']:.4f}, {best_plain - at8['test_auc']:.4f} below the best non-private run ({best_plain:.4f}; goal: within 0.02)")
print()
print("2. One-thread training throughput (train on the pooled silos, 3 epochs; medians of 3 runs)")
print(f"{'batch':>6}{'plain ex/s':>13}{'DP-SGD ex/s':>13}{'ratio':>8}")
for batch in sorted({r["batch"] for r in rows if r["kind"] == "throughput"}):
    rate = lambda dp: statistics.median(r["examples_trained"] / r["train_seconds"] for r in rows
                                        if r["kind"] == "throughput" and r["batch"] == batch and r["dp"] == dp)
    print(f"{batch:>6}{rate(False):>13,.0f}{rate(True):>13,.0f}{rate(True) / rate(False):>8.2f}x")
acc = next((r for r in rows if r["kind"] == "accountant"), None)
print()
print("3. Accountant against dp-accounting (RDP): " + (f"largest relative difference {acc['largest_relative_difference']:.2e} over {acc['points']} points"
      if acc else "skipped (python3 dp-accounting not installed)"))
PY
