#!/usr/bin/env bash
# Prints the reference figures: test AUC and log loss after 5 epochs on the pooled
# MovieLens iid-10 silos for seeds 0, 1, 2; training throughput on 1 and 2 threads
# (median of 9 timed epochs after a warm-up, the two counts taking turns) and peak memory. The JSON lines it prints
# are what the table is made from; they are also left in out/bench.jsonl. Where TensorFlow
# is installed it also runs scripts/keras_reference.py, the same model in Keras on 1 thread.
set -euo pipefail
bin=${1:?usage: benchmark.sh FEDATTN_CLIENT DATA_FOLDER FEDATTN_COORDINATOR}
data=${2:?usage: benchmark.sh FEDATTN_CLIENT DATA_FOLDER FEDATTN_COORDINATOR}
coordinator=${3:?usage: benchmark.sh FEDATTN_CLIENT DATA_FOLDER FEDATTN_COORDINATOR}
silos="$data/silos/iid-10"
mkdir -p out
: > out/bench.jsonl
for seed in 0 1 2; do
  echo "training 5 epochs, seed $seed ..." >&2
  "$bin" train --data "$silos" --epochs 5 --seed "$seed" --json | sed "s/^{/{\"kind\":\"train\",\"seed\":$seed,/" | tee -a out/bench.jsonl
done
echo "throughput, 1 and 2 threads taking turns epoch by epoch ..." >&2
"$bin" bench --data "$silos" --threads 1,2 --epochs 9 --warmup 1 --json | sed 's/^{/{"kind":"bench",/' | tee -a out/bench.jsonl
for split in iid-10 dirichlet0.5-10; do
  echo "federation, $split: 10 clients over gRPC with mutual TLS, 20 rounds ..." >&2
  start=$(date +%s%N)
  result=$("$coordinator" simulate --silos "$data/silos/$split" --rounds 20 --json)
  wall_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "$result" | sed "s/^{/{\"kind\":\"federation\",\"split\":\"$split\",\"wall_seconds\":$wall_ms.0e-3,/" | tee -a out/bench.jsonl
done
# Each load case runs 3 times; the table shows medians.
load() { # label, then bench flags
  local label=$1; shift
  for run in 1 2 3; do
    "$coordinator" bench "$@" --json | sed "s/^{/{\"kind\":\"load\",\"case\":\"$label\",/" | tee -a out/bench.jsonl
  done
}
echo "coordinator under load: 200 clients over mutual TLS, 1M parameters, 5 rounds (3 runs) ..." >&2
load "200 clients" --clients 200 --rounds 5
echo "the same with updates that change every row (1.8 MB each), 3 rounds (3 runs) ..." >&2
load "200 clients, dense updates" --clients 200 --rounds 3 --changed-rows 1
echo "20 clients, then 20 clients each sending a 1 GiB decompression bomb before each update (3 runs each) ..." >&2
load "20 clients" --clients 20 --rounds 3
load "20 clients, bombs" --clients 20 --rounds 3 --bombs 20
echo "waiting clients: 200 clients long-polling a coordinator that cannot start a round, 5 s ..." >&2
"$coordinator" idle-bench --clients 200 --seconds 5 --json | sed 's/^{/{"kind":"idle",/' | tee -a out/bench.jsonl
if python3 -c "import tensorflow" 2>/dev/null; then
  echo "Keras reference, same model and data, 1 thread ..." >&2
  python3 "$(dirname "$0")/keras_reference.py" "$silos" --seed 0 2>/dev/null | sed 's/^{/{"kind":"keras",/' | tee -a out/bench.jsonl
else
  echo "(tensorflow not installed: no Keras reference in this run; pip install tensorflow-cpu to add it)" >&2
fi
python3 - out/bench.jsonl <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
train = [r for r in rows if r["kind"] == "train"]
bench = {r["threads"]: r for b in rows if b["kind"] == "bench" for r in b["results"]}
print()
print("MovieLens-100k, pooled iid-10, 5 epochs, batch 256, Adam 1e-3")
print(f"{'seed':>6} {'test AUC':>9} {'log loss':>9} {'seconds':>8}")
for r in train:
    print(f"{r['seed']:>6} {r['test_auc']:>9.4f} {r['test_logloss']:>9.4f} {r['seconds']:>8.2f}")
mean = sum(r["test_auc"] for r in train) / len(train)
print(f"{'mean':>6} {mean:>9.4f}")
print()
print(f"{'threads':>7} {'examples/s (median)':>20} {'peak memory':>12}")
for t, r in sorted(bench.items()):
    print(f"{t:>7} {r['examples_per_second']:>20,.0f} {r['peak_rss_bytes'] / 1e6:>9.1f} MB")
keras = [r for r in rows if r["kind"] == "keras"]
if keras and 1 in bench:
    k = keras[0]["median_examples_per_second_after_first"]
    print(f"Keras 1 thread {k:>14,.0f}   (FedAttention 1 thread is {bench[1]['examples_per_second'] / k:.1f}x; Keras epoch-5 AUC {keras[0]['epochs'][-1]['test_auc']:.4f}, seed 0)")
if bench.get(2, {}).get("speedup_vs_first"):
    print(f"2-thread speed-up (median of per-epoch paired ratios): {bench[2]['speedup_vs_first']:.2f}x")
flower = {"iid-10": [0.6562, 0.7143, 0.7346, 0.7389], "dirichlet0.5-10": [0.6996, 0.7310, 0.7246, 0.7132]}
for f in [r for r in rows if r["kind"] == "federation"]:
    auc = {x["round"]: x["test_auc"] for x in f["rounds"]}
    up = sum(x["bytes_up_per_client"] for x in f["rounds"]) / len(f["rounds"])
    down = sum(x["bytes_down_per_client"] for x in f["rounds"][1:]) / max(1, len(f["rounds"]) - 1)
    print()
    print(f"Federation, {f['split']}: 10 clients, gRPC + mutual TLS on 127.0.0.1, FedAvg + FedProx, 1 local epoch")
    print(f"{'round':>12} " + " ".join(f"{r:>7}" for r in (1, 5, 10, 20)))
    print(f"{'test AUC':>12} " + " ".join(f"{auc.get(r, float('nan')):>7.4f}" for r in (1, 5, 10, 20)))
    print(f"{'Flower 1.42':>12} " + " ".join(f"{v:>7.4f}" for v in flower.get(f["split"], [])))
    print(f"bytes up per client per round {up:,.0f} ({100 * up / f['model_bytes_float32']:.1f}% of the float32 model, {f['model_bytes_float32']:,} bytes); "
          f"down {down:,.0f} after round 1")
    print(f"mean overhead per round {f['mean_overhead_seconds']:.2f} s; 20 rounds in {f['wall_seconds']:.1f} s wall (data loading included)")
print()
print("Coordinator load (fedattn-coordinator bench: prepared float16 updates, mutual TLS, 127.0.0.1; medians of 3 runs)")
print(f"{'case':<27} {'update bytes':>12} {'clients refused':>15} {'bombs sent/refused':>18} {'updates/s':>9} {'peak memory':>11} {'budget':>9}")
cases = {}
for r in [r for r in rows if r["kind"] == "load"]:
    cases.setdefault(r["case"], []).append(r)
median = lambda xs: sorted(xs)[len(xs) // 2]
for case, runs in cases.items():
    r = runs[0]
    bombs = f"{sum(x['bombs_sent'] for x in runs)}/{sum(x['bombs_refused'] for x in runs)}"
    refused = sum(x["refused"] for x in runs)
    rate = median([x["updates_aggregated_per_second"] for x in runs])
    peak = median([x["coordinator_peak_rss_bytes"] for x in runs])
    print(f"{case:<27} {r['update_bytes']:>12,} {refused:>15} {bombs:>18} {rate:>9.0f} {peak / 1e6:>8.1f} MB {r['memory_budget_bytes'] / 1e6:>6.1f} MB")
for r in [r for r in rows if r["kind"] == "idle"]:
    print()
    print(f"Idle: {int(r['clients'])} clients waiting for a round: {r['wakeups_per_second_per_client']:.2f} coordinator wake-ups per second each "
          f"(the sleep loop of protocol 3: up to 500), {r['cpu_seconds_per_second']:.4f} CPU seconds per second")
PY
