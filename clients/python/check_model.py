#!/usr/bin/env python3
"""Checks that the Python client computes the model the protocol describes.

1. Its hand-written gradients against central finite differences on a small random model.
2. Its forward pass against the Swift implementation: given a model file written by
   `fedattn-client train --out` and a silo, it prints the test split's exact AUC and mean
   log loss, as JSON, for comparison with `fedattn-client evaluate --json` on the same files.

    python3 clients/python/check_model.py gradients
    python3 clients/python/check_model.py evaluate MODEL.safetensors SILO.csv
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fedattn_client as fc  # noqa: E402


def check_gradients():
    rng = np.random.default_rng(0)
    V, S, d, H = 12, 3, 4, 5
    shapes = {"item_embedding": (V, d), "strategy_embedding": (S, d), "attention.query": (d, d), "attention.key": (d, d),
              "hidden.weight": (H, 4 * d), "hidden.bias": (H,), "output.weight": (H,), "output.bias": (1,),
              "interaction.weight": (H,), "interaction.bias": (1,)}
    w = {n: rng.normal(0, 0.5, shapes[n]) for n in fc.ORDER}
    w["item_embedding"][0] = 0
    saved, fc.HISTORY_LENGTH = fc.HISTORY_LENGTH, 5
    examples = [(3, 1, 1.0, [2, 5, 7]), (4, 0, 0.0, []), (9, 2, 1.0, [1, 3]), (2, 1, 0.0, [4, 4, 6, 8, 11])]
    c, s, y, hist, mask = fc.batch_arrays(examples)
    fc.HISTORY_LENGTH = saved

    def loss(weights):
        o, _ = fc.forward(weights, c, s, hist, mask)
        return np.mean(np.logaddexp(0, o) - y * o)

    o, cache = fc.forward(w, c, s, hist, mask)
    g = fc.gradients(w, c, s, hist, mask, y, cache, o)
    worst = 0.0
    for n in fc.ORDER:
        for i in np.ndindex(*w[n].shape):
            old = w[n][i]
            w[n][i] = old + 1e-6; up = loss(w)
            w[n][i] = old - 1e-6; down = loss(w)
            w[n][i] = old
            worst = max(worst, abs((up - down) / 2e-6 - g[n][i]))
    print(json.dumps({"max_gradient_error": worst}))
    return worst < 1e-6


def exact_auc(scores, labels):
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores)); ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # ties share their mean rank
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return (ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def evaluate(model_path, silo):
    from safetensors import safe_open
    from safetensors.numpy import load_file
    weights = {n: v.astype(np.float64) for n, v in load_file(model_path).items()}
    with safe_open(model_path, "np") as f:
        mapping = f.metadata()["items"]
    _, test = fc.read_examples(silo, mapping)
    c, s, y, hist, mask = fc.batch_arrays(test)
    o, _ = fc.forward(weights, c, s, hist, mask)
    print(json.dumps({"test_auc": float(exact_auc(o, y)), "test_logloss": float(np.mean(np.logaddexp(0, o) - y * o)),
                      "test_examples": len(test)}))
    return True


if __name__ == "__main__":
    ok = check_gradients() if sys.argv[1:2] == ["gradients"] else evaluate(sys.argv[2], sys.argv[3])
    sys.exit(0 if ok else 1)
