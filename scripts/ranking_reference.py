"""Off-the-shelf recommenders on FedAttention's leave-one-out ranking protocol, for printing beside its figures.

Reads a folder of silo files (silo-NN.csv: user_id,item_id,timestamp,label) and splits every
user's rows as the Swift ExampleBuilder does: rows in order of (timestamp, item id: numerically
when both are numbers, numbers first), then file order, exact repeats dropped; the last
max(1, floor(0.2 n)) rows are test, the rest train. A user's target is its last test row with
label 1; its interacted items are the items of all its rows.

  HR@10, NDCG@10    (He et al., NCF 2017): the target against 99 negatives drawn uniformly
                    without replacement from its silo's items it never interacted with (users
                    with fewer than 99 such items are not ranked), as RankingSet does.
  Recall@20, NDCG@20 (Krichene & Rendle, KDD 2020): the target against every item of the
                    folder's catalogue the user never interacted with (unsampled).

A target's rank is the number of items it is ranked against that score at least as high (ties
count against it). The negatives are drawn once per folder from --seed, so every method is
ranked on the same draws (they are not the Swift code's draws).

Methods, all trained on the pooled train rows of every silo (test rows never used):
  popularity         an item's train rows (any label)
  popularity-clicks  an item's train rows with label 1
  als                implicit's AlternatingLeastSquares on the user x item counts of all train
                     rows, confidence 1 + alpha * count (the matrix holds 1 + alpha * count and
                     implicit's own alpha is 1: implicit takes the matrix value as the confidence)
  als-clicks         the same on train rows with label 1 only
The issue's figures for ALS on iid-10 (HR@10 0.474, NDCG@10 0.270, Recall@20 0.194) are the
als (all train rows) variant's, within its spread over implicit's random_state (Recall@20 0.183
to 0.194 over states 0-5); als-clicks stays near HR@10 0.42, Recall@20 0.16.
ALS needs implicit (pip install implicit); without it only the popularity methods run.

Prints a table (users = users ranked on the sampled metrics; Recall@20 and NDCG@20 rank every
user with a target; seconds = training and ranking, not reading the files) and, with --json, the
same rows as a list of {data, method, users, hr_at_10, ndcg_at_10, recall_at_20, ndcg_at_20,
seconds} (null for a metric without users). Progress goes to stderr. Single-threaded
(OPENBLAS_NUM_THREADS=1, num_threads=1); not part of the tests.

usage: python3 scripts/ranking_reference.py [--silos DIR ...] [--json FILE] [--seed N]
           [--factors N] [--regularization X] [--alpha X] [--iterations N]
"""
import argparse, csv, glob, json, os, re, sys, time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
import numpy as np
from scipy.sparse import csr_matrix

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SILOS = [os.path.join(HERE, "..", "..", "shared", "data", "movielens-100k", "silos", name) for name in ("iid-10", "dirichlet0.5-10")]
NEGATIVES, K_SAMPLED, K_FULL, TEST_FRACTION = 99, 10, 20, 0.2
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def log(message):
    print(message, file=sys.stderr, flush=True)


def microseconds(text):
    """Seconds since 1970 (whole or fractional) or ISO-8601 (naive read as UTC), in microseconds."""
    text = text.strip()
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        return int(Decimal(text) * 1_000_000)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"timestamp {text!r} is neither seconds since 1970 nor ISO-8601") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - EPOCH) // timedelta(microseconds=1)


def item_order(item):
    """Items in the Swift order: numbers (Int, 64-bit) numerically first, then other ids."""
    if re.fullmatch(r"[+-]?[0-9]+", item):
        value = int(item)
        if -(2**63) <= value < 2**63:
            return (0, value, "")
    return (1, 0, item)


def read_silo(path):
    """Each user's rows of one silo, in order, exact repeats dropped: {user: [(item, label)]}."""
    rows = defaultdict(list)
    with open(path, newline="") as f:
        for index, r in enumerate(csv.DictReader(f)):
            label = r["label"].strip().lower()
            if label not in ("0", "1", "true", "false"):
                raise ValueError(f"{path}: label {r['label']!r} is not 0, 1, true or false")
            rows[r["user_id"]].append((microseconds(r["timestamp"]), item_order(r["item_id"]), index, r["item_id"],
                                       int(label in ("1", "true")), r.get("strategy")))
    users = {}
    for user, user_rows in rows.items():
        user_rows.sort(key=lambda row: row[:3])
        seen, kept = set(), []
        for timestamp, _, _, item, label, strategy in user_rows:
            if (timestamp, item, label, strategy) not in seen:
                seen.add((timestamp, item, label, strategy))
                kept.append((item, label))
        users[user] = kept
    return users


def load(folder, seed):
    """The folder's catalogue, pooled train rows and ranking cases (negatives drawn here)."""
    paths = sorted(glob.glob(os.path.join(folder, "silo-*.csv")))
    if not paths:
        raise SystemExit(f"no silo-*.csv files in {folder}")
    silos = [read_silo(path) for path in paths]
    catalogue = sorted({item for silo in silos for rows in silo.values() for item, _ in rows}, key=item_order)
    column = {item: i for i, item in enumerate(catalogue)}
    train = []  # (user index, item column, label), users numbered over all silos
    cases = []  # (user index, target column, interacted columns, negative columns or None)
    users = 0
    for number, silo in enumerate(silos):
        vocabulary = np.array(sorted({column[item] for rows in silo.values() for item, _ in rows}), dtype=np.int64)
        rng = np.random.default_rng([seed, number])
        for user in sorted(silo, key=item_order):
            rows = silo[user]
            first_test = len(rows) - max(1, int(TEST_FRACTION * len(rows)))
            train.extend((users, column[item], label) for item, label in rows[:first_test])
            clicked = [item for item, label in rows[first_test:] if label == 1]
            if clicked:
                interacted = np.array(sorted({column[item] for item, _ in rows}), dtype=np.int64)
                pool = np.setdiff1d(vocabulary, interacted, assume_unique=True)
                negatives = rng.choice(pool, NEGATIVES, replace=False) if len(pool) >= NEGATIVES else None
                cases.append((users, column[clicked[-1]], interacted, negatives))
            users += 1
    return {"silos": len(paths), "users": users, "catalogue": catalogue, "train": np.array(train, dtype=np.int64).reshape(-1, 3), "cases": cases}


def evaluate(cases, scores_of):
    """HR@10, NDCG@10 over the users with 99 negatives; Recall@20, NDCG@20 over every case."""
    sampled, full = [], []
    for user, target, interacted, negatives in cases:
        scores = scores_of(user)
        mark = scores[target]
        if negatives is not None:
            sampled.append(int(np.count_nonzero(scores[negatives] >= mark)))
        # Every catalogue item scoring at least as high, less the interacted ones (the target among them).
        full.append(int(np.count_nonzero(scores >= mark) - np.count_nonzero(scores[interacted] >= mark)))
    sampled, full = np.array(sampled), np.array(full)

    def ndcg(ranks, k):
        return float(np.where(ranks < k, 1 / np.log2(ranks + 2.0), 0).mean()) if len(ranks) else float("nan")

    return {"users": len(sampled), "hr_at_10": float((sampled < K_SAMPLED).mean()) if len(sampled) else float("nan"),
            "ndcg_at_10": ndcg(sampled, K_SAMPLED), "full_users": len(full),
            "recall_at_20": float((full < K_FULL).mean()) if len(full) else float("nan"), "ndcg_at_20": ndcg(full, K_FULL)}


def popularity(data, clicks_only):
    train = data["train"]
    rows = train[train[:, 2] == 1] if clicks_only else train
    counts = np.bincount(rows[:, 1], minlength=len(data["catalogue"])).astype(np.float64)
    return lambda user: counts


def als(data, clicks_only, args):
    from implicit.cpu.als import AlternatingLeastSquares

    train = data["train"]
    rows = train[train[:, 2] == 1] if clicks_only else train
    shape = (data["users"], len(data["catalogue"]))
    counts = csr_matrix((np.ones(len(rows), dtype=np.float32), (rows[:, 0], rows[:, 1])), shape=shape)
    counts.sum_duplicates()
    confidence = counts.copy()
    confidence.data = 1 + args.alpha * confidence.data  # implicit reads the stored value as the confidence
    model = AlternatingLeastSquares(factors=args.factors, regularization=args.regularization, alpha=1.0, iterations=args.iterations,
                                    num_threads=1, random_state=0)
    model.fit(confidence, show_progress=False)
    scores = np.asarray(model.user_factors) @ np.asarray(model.item_factors).T
    return lambda user: scores[user]


def implicit_version():
    try:
        import implicit
        return implicit.__version__
    except ImportError:
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--silos", action="append", help="a folder of silo-NN.csv files (repeatable; default both MovieLens-100k splits)")
    parser.add_argument("--json", help="also write the rows to this file as a JSON list")
    parser.add_argument("--seed", type=int, default=0, help="seed of the negatives draw")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--regularization", type=float, default=1.0)
    parser.add_argument("--alpha", type=float, default=4.0, help="confidence = 1 + alpha * count")
    parser.add_argument("--iterations", type=int, default=15)
    args = parser.parse_args()
    version = implicit_version()
    if version is None:
        log("implicit is not installed (pip install implicit): ALS skipped, popularity only")
    else:
        try:
            from threadpoolctl import threadpool_limits
            threadpool_limits(1)
        except ImportError:
            pass
    methods = [("popularity", lambda d: popularity(d, False)), ("popularity-clicks", lambda d: popularity(d, True))]
    if version is not None:
        methods += [("als", lambda d: als(d, False, args)), ("als-clicks", lambda d: als(d, True, args))]
    results = []
    for folder in args.silos or DEFAULT_SILOS:
        name = os.path.relpath(os.path.normpath(folder))
        start = time.perf_counter()
        data = load(folder, args.seed)
        ranked = sum(1 for case in data["cases"] if case[3] is not None)
        log(f"{name}: {data['silos']} silos, {data['users']} users, {len(data['catalogue'])} items, {len(data['train'])} train rows, "
            f"{len(data['cases'])} targets ({ranked} with {NEGATIVES} negatives) in {time.perf_counter() - start:.1f} s")
        for method, make in methods:
            start = time.perf_counter()
            figures = evaluate(data["cases"], make(data))
            seconds = time.perf_counter() - start
            log(f"  {method}: {seconds:.1f} s")
            results.append({"data": name, "method": method, "users": figures["users"], "hr_at_10": figures["hr_at_10"],
                            "ndcg_at_10": figures["ndcg_at_10"], "recall_at_20": figures["recall_at_20"], "ndcg_at_20": figures["ndcg_at_20"],
                            "seconds": round(seconds, 3)})
    width = max(len(r["data"]) for r in results)
    print(f"{'data':<{width}}  {'method':<17}  {'users':>5}  {'HR@10':>6}  {'NDCG@10':>7}  {'Recall@20':>9}  {'NDCG@20':>7}  {'seconds':>7}")
    for r in results:
        print(f"{r['data']:<{width}}  {r['method']:<17}  {r['users']:>5}  {r['hr_at_10']:>6.3f}  {r['ndcg_at_10']:>7.3f}  "
              f"{r['recall_at_20']:>9.3f}  {r['ndcg_at_20']:>7.3f}  {r['seconds']:>7.1f}")
    print(f"ALS: implicit {version}, factors {args.factors}, regularization {args.regularization}, alpha {args.alpha}, "
          f"iterations {args.iterations}, seed {args.seed}" if version else "ALS: skipped (implicit not installed)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{k: None if isinstance(v, float) and v != v else v for k, v in r.items()} for r in results], f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
