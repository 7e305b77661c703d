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
echo "catalogue scale: training throughput, catalogue:1682 and hash:4000000 taking turns epoch by epoch, 1 and 2 threads ..." >&2
"$bin" bench --data "$silos" --items catalogue:1682 --compare-items hash:4000000 --threads 1,2 --epochs 9 --warmup 1 --json \
  | sed 's/^{/{"kind":"scale-train",/' | tee -a out/bench.jsonl
echo "catalogue scale: peak memory of hash:4000000 training alone, 1 and 2 threads ..." >&2
"$bin" bench --data "$silos" --items hash:4000000 --threads 1,2 --epochs 3 --warmup 1 --json | sed 's/^{/{"kind":"scale-memory",/' | tee -a out/bench.jsonl
echo "catalogue scale: federation dirichlet0.5-10 with hash:1000000 (32M parameters), 20 rounds ..." >&2
"$coordinator" simulate --silos "$data/silos/dirichlet0.5-10" --rounds 20 --items hash:1000000 --json \
  | sed 's/^{/{"kind":"scale-federation",/' | tee -a out/bench.jsonl
echo "catalogue scale: a coordinator with a 4M-row table (128M parameters, 512 MB), 10 clients, 5 rounds (about 3 minutes) ..." >&2
"$coordinator" bench --items 4000000 --clients 10 --rounds 5 --changed-rows 0.001 --json | sed 's/^{/{"kind":"scale-load",/' | tee -a out/bench.jsonl
echo "catalogue scale: a 7.9M-row synthetic silo (synthesize --users 200000), train --epochs 1: peak memory and rows read per second ..." >&2
"$bin" synthesize --out out/big-silo --silos 1 --users 200000 >/dev/null
/usr/bin/time -f '{"kind":"big-silo-memory","peak_kib":%M}' -a -o out/bench.jsonl "$bin" train --data out/big-silo/silo-00.csv --items catalogue:200 --strategies 3 --epochs 1 --json \
  | sed 's/^{/{"kind":"big-silo",/' | tee -a out/bench.jsonl
rm -rf out/big-silo
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
    print(f"Federation, {f['split']}: 10 clients, gRPC + mutual TLS on 127.0.0.1, {f['strategy']}, 1 local epoch")
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
scale = [r for r in rows if r["kind"] == "scale-train"]
if scale:
    print()
    print("Catalogue scale: training throughput, MovieLens iid-10 pooled, mappings taking turns epoch by epoch (medians)")
    print(f"{'items':<16} {'threads':>7} {'examples/s':>11} {'vs catalogue':>12} {'2-thread speed-up':>17}")
    for r in scale[0]["results"]:
        vs = f"{r['ratio_vs_first_items']:.2f}x" if r.get("ratio_vs_first_items") else ""
        sp = f"{r['speedup_vs_first']:.2f}x" if r.get("speedup_vs_first") else ""
        print(f"{r['items']:<16} {r['threads']:>7} {r['examples_per_second']:>11,.0f} {vs:>12} {sp:>17}")
for r in [r for r in rows if r["kind"] == "scale-memory"]:
    x = r["results"][0]
    table = 4 * 4000001 * 32  # the item table's float32 bytes
    print(f"hash:4000000 training alone (1 and 2 threads, a model each): peak memory {x['peak_rss_bytes'] / 1e6:.1f} MB "
          f"(budget 3 x {table / 1e6:.0f} MB + 150 MB = {(3 * table + 150e6) / 1e6:.0f} MB)")
for f in [r for r in rows if r["kind"] == "scale-federation"]:
    base = next((b for b in rows if b["kind"] == "federation" and b["split"] == "dirichlet0.5-10"), None)
    up = sum(x["bytes_up_per_client"] for x in f["rounds"][1:]) / (len(f["rounds"]) - 1)
    down = sum(x["bytes_down_per_client"] for x in f["rounds"][1:]) / (len(f["rounds"]) - 1)
    last = f["rounds"][-1]["test_auc"]
    print(f"Federation, dirichlet0.5-10, hash:1000000: round-20 test AUC {last:.4f}"
          + (f" (catalogue:1682 in this run: {base['rounds'][-1]['test_auc']:.4f})" if base else "")
          + f"; bytes down {down:,.0f} per client per round after round 1, {down / up:.2f}x the {up:,.0f} up; mean overhead {f['mean_overhead_seconds']:.2f} s")
for r in [r for r in rows if r["kind"] == "scale-load"]:
    print(f"Coordinator, 4M-row table ({r['parameters']:,} parameters), {r['clients']} clients, {r['rounds']} rounds: peak memory "
          f"{r['coordinator_peak_rss_bytes'] / 1e6:.1f} MB (budget {r['memory_budget_bytes'] / 1e6:.1f} MB); rounds "
          + " ".join(f"{x:.1f}" for x in r["round_seconds"]) + " s")
for r in [r for r in rows if r["kind"] == "big-silo"]:
    peak = next((m["peak_kib"] for m in rows if m["kind"] == "big-silo-memory"), 0) * 1024
    print(f"7.9M-row silo, train --epochs 1: {r['rows']:,} rows read and made into examples at {r['rows_read_per_second']:,.0f} rows/s; "
          f"peak memory {peak / 1e6:.1f} MB (aim: under 350 MB); test AUC {r['test_auc']:.4f}")
for r in [r for r in rows if r["kind"] == "idle"]:
    print()
    print(f"Idle: {int(r['clients'])} clients waiting for a round: {r['wakeups_per_second_per_client']:.2f} coordinator wake-ups per second each "
          f"(the sleep loop of protocol 3: up to 500), {r['cpu_seconds_per_second']:.4f} CPU seconds per second")
PY
