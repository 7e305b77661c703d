"""The BENCHMARK.md model in Keras, for comparing FedAttention on the same machine.

Builds the examples independently of the Swift code (so it also cross-checks the example
counts), trains 5 epochs on one thread, and prints one JSON object: per-epoch test AUC and
examples per second. Needs tensorflow (pip install tensorflow-cpu); not part of the tests.

usage: python3 scripts/keras_reference.py SILO_FOLDER [--seed N] [--epochs N]
"""
import argparse, csv, glob, json, os, time
from collections import defaultdict

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import tensorflow as tf
from scipy.stats import rankdata

H, D = 20, 32


def build_examples(folder):
    rows = defaultdict(list)
    for path in sorted(glob.glob(os.path.join(folder, "*.csv"))):
        with open(path) as f:
            for r in csv.DictReader(f):
                rows[r["user_id"]].append((int(r["timestamp"]), int(r["item_id"]), int(r["label"])))
    sets = {"train": ([], [], []), "test": ([], [], [])}
    for user_rows in rows.values():
        user_rows.sort()
        n = len(user_rows)
        first_test = n - max(1, int(0.2 * n))
        clicks = []
        for i, (_, item, label) in enumerate(user_rows):
            cand, hist, lab = sets["train" if i < first_test else "test"]
            cand.append(item)
            hist.append(clicks[-H:] + [0] * (H - len(clicks[-H:])))
            lab.append(label)
            if label == 1:
                clicks.append(item)
    return {k: (np.array(c, np.int32), np.array(h, np.int32), np.array(l, np.float32)) for k, (c, h, l) in sets.items()}


def model(items):
    k = tf.keras
    cand = k.Input((), dtype="int32")
    hist = k.Input((H,), dtype="int32")
    strat = k.Input((), dtype="int32")
    item_emb = k.layers.Embedding(items + 1, D)
    ec, eh = item_emb(cand), item_emb(hist)
    es = k.layers.Embedding(1, D)(strat)
    q = k.layers.Dense(D, use_bias=False)(ec)
    keys = k.layers.Dense(D, use_bias=False)(eh)
    mask = k.ops.cast(k.ops.not_equal(hist, 0), "float32")
    scores = k.ops.einsum("bd,bld->bl", q, keys) / D**0.5
    scores = scores + (mask - 1.0) * 1e9  # padded positions get exactly zero weight
    weights = k.ops.softmax(scores, axis=-1) * mask  # all-zero for an empty history: u = 0
    u = k.ops.einsum("bl,bld->bd", weights, eh)
    x = k.ops.concatenate([u, ec, u * ec, es], axis=-1)
    z = k.layers.Dense(64, activation="relu")(x)
    p = k.layers.Dense(1, activation="sigmoid")(z)
    m = k.Model([cand, hist, strat], p)
    m.compile(optimizer=k.optimizers.Adam(1e-3), loss="binary_crossentropy")
    return m


def auc(scores, labels):
    ranks = rankdata(scores)
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.keras.utils.set_random_seed(args.seed)
    data = build_examples(args.folder)
    (c, h, y), (tc, th, ty) = data["train"], data["test"]
    m = model(1682)
    epochs = []
    for epoch in range(args.epochs):
        start = time.perf_counter()
        m.fit([c, h, np.zeros_like(c)], y, batch_size=256, epochs=1, shuffle=True, verbose=0)
        seconds = time.perf_counter() - start
        p = m.predict([tc, th, np.zeros_like(tc)], batch_size=4096, verbose=0).ravel()
        epochs.append({"epoch": epoch + 1, "examples_per_second": len(y) / seconds, "test_auc": auc(p, ty)})
    print(json.dumps({
        "train_examples": int(len(y)), "test_examples": int(len(ty)), "parameters": int(m.count_params()),
        "epochs": epochs,
        "median_examples_per_second_after_first": float(np.median([e["examples_per_second"] for e in epochs[1:]])),
    }))


if __name__ == "__main__":
    main()
