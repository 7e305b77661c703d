#!/usr/bin/env python3
"""A FedAttention silo client in Python, written from protocol/fedattn.proto alone.

It keeps the wire contract honest: a second implementation that joins a federation of
Swift clients, trains the attention model with numpy exactly as the protocol describes,
uploads float16 deltas with the item table sent as rows, and reports evaluations as
histograms. In a federation with secure aggregation it sends no update: it takes part in
the round's SecAgg+ phases instead (secagg.py). For the most-popular baseline it shares its
items' train-row counts (SharePopularity; under secure aggregation, masked in the indicator
sum of the round that carries them), unless --no-share-popularity; it ranks no users, so it
scores the baseline as zeros. Needs python3 with grpcio, grpcio-tools
(stubs are generated from the .proto at start), zstandard and numpy, and for secure rounds
cryptography.

    python3 clients/python/fedattn_client.py --coordinator 127.0.0.1:7443 \
        --cert silo/cert.pem --key silo/key.pem --ca silo/ca.pem --data silo.csv
"""

import argparse
import csv
import hashlib
import os
import struct
import sys
import tempfile
import threading
import time

import grpc
import numpy as np
import zstandard

try:
    import secagg   # SecAgg+ (secure rounds), which needs the `cryptography` package
except ImportError as missing:
    secagg, SECAGG_MISSING = None, missing

PROTOCOL_VERSION = 11
OLDER_PROTOCOLS = (10, 9)   # what an older coordinator may speak: the same calls, less of the baseline
HISTORY_LENGTH = 20
TEST_FRACTION = 0.2
BINS, LOGIT_RANGE = 4096, 16.0
# The interaction head (the last two) ranks the catalogue; this client trains the click
# head alone (it takes no sampled negatives), so its delta for the head is zero.
ORDER = ["item_embedding", "strategy_embedding", "attention.query", "attention.key",
         "hidden.weight", "hidden.bias", "output.weight", "output.bias",
         "interaction.weight", "interaction.bias"]
CLICK_MODEL = ORDER[:8]


def log(line):
    print(line, file=sys.stderr, flush=True)


def load_stubs():
    """Generates the Python stubs from the .proto into a temporary folder and imports them."""
    from grpc_tools import protoc
    proto_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "protocol")
    out = tempfile.mkdtemp(prefix="fedattn-py-")
    status = protoc.main(["protoc", f"-I{proto_dir}", f"--python_out={out}", f"--grpc_python_out={out}",
                          os.path.join(proto_dir, "fedattn.proto")])
    if status != 0:
        raise SystemExit("could not generate stubs from fedattn.proto")
    sys.path.insert(0, out)
    import fedattn_pb2
    import fedattn_pb2_grpc
    return fedattn_pb2, fedattn_pb2_grpc


# ── Data: the silo's click log as examples (the protocol's model section) ──────────────

def item_row(item_id, mapping):
    kind, n = mapping.split(":")
    n = int(n)
    if kind in ("catalogue", "catalog"):
        k = int(item_id)
        if not 1 <= k <= n:
            raise ValueError(f"item {item_id} is outside catalogue:{n}")
        return k
    h = 0xCBF29CE484222325
    for byte in item_id.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return 1 + h % n


def read_examples(path, mapping):
    """Train and test examples: candidate row, strategy, label, history rows (oldest first)."""
    users = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            users.setdefault(row["user_id"], []).append(
                (int(row["timestamp"]), row["item_id"], int(row["label"]), int(row.get("strategy") or 0)))
    train, test = [], []
    for rows in users.values():
        rows.sort(key=lambda r: (r[0], int(r[1]) if r[1].isdigit() else float("inf"), r[1]))
        first_test = len(rows) - max(1, int(TEST_FRACTION * len(rows)))
        history = []
        for position, (_, item, label, strategy) in enumerate(rows):
            row = item_row(item, mapping)
            (train if position < first_test else test).append((row, strategy, float(label), list(history)))
            if label == 1:
                history = (history + [row])[-HISTORY_LENGTH:]
    return train, test


def item_rows(mapping):
    """V, the model's item rows: "catalogue:N" and "hash:B" have N + 1 and B + 1 (row 0 is padding)."""
    return int(mapping.split(":")[1]) + 1


def popularity_counts(train, rows):
    """The train rows of each item row 0..rows-1 (each row once, any label; row 0 counts 0):
    what SharePopularity sends (sparse) and a secure indicator sum carries (dense)."""
    return np.bincount(np.array([e[0] for e in train], dtype=np.int64), minlength=rows)[:rows].astype(np.uint64)


def count_train_examples(path):
    """Rows of the train split: each user's rows but the last 20% (at least one is test)."""
    per_user = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            per_user[row["user_id"]] = per_user.get(row["user_id"], 0) + 1
    return sum(n - max(1, int(TEST_FRACTION * n)) for n in per_user.values())


def batch_arrays(examples):
    candidates = np.array([e[0] for e in examples], dtype=np.int64)
    strategies = np.array([e[1] for e in examples], dtype=np.int64)
    labels = np.array([e[2] for e in examples], dtype=np.float64)
    histories = np.zeros((len(examples), HISTORY_LENGTH), dtype=np.int64)
    mask = np.zeros((len(examples), HISTORY_LENGTH), dtype=bool)
    for i, e in enumerate(examples):
        histories[i, :len(e[3])] = e[3]
        mask[i, :len(e[3])] = True
    return candidates, strategies, labels, histories, mask


# ── The model: forward and backward in numpy (float64 for clarity) ─────────────────────

def forward(w, c, s, hist, mask):
    E, S, Wq, Wk, W1, b1, w2, b2 = (w[n] for n in CLICK_MODEL)
    d = E.shape[1]
    ec, es, eh = E[c], S[s], E[hist]                      # (B,d) (B,d) (B,L,d)
    q = ec @ Wq.T                                          # q = W_q e_c
    k = eh @ Wk.T                                          # k_l = W_k e_{h_l}
    scores = np.einsum("bld,bd->bl", k, q) / np.sqrt(d)
    scores = np.where(mask, scores, -np.inf)
    top = np.max(np.where(mask, scores, 0.0), axis=1, keepdims=True)
    ex = np.where(mask, np.exp(scores - top), 0.0)
    total = ex.sum(axis=1, keepdims=True)
    a = np.divide(ex, total, out=np.zeros_like(ex), where=total > 0)   # u = 0 when no history
    u = np.einsum("bl,bld->bd", a, eh)
    x = np.concatenate([u, ec, u * ec, es], axis=1)       # (B,4d)
    h = x @ W1.T + b1
    z = np.maximum(h, 0)
    o = z @ w2 + b2[0]
    return o, (ec, es, eh, q, k, a, u, x, h, z)


def gradients(w, c, s, hist, mask, y, cache, o):
    E, S, Wq, Wk, W1, b1, w2, b2 = (w[n] for n in CLICK_MODEL)
    ec, es, eh, q, k, a, u, x, h, z = cache
    B, d = ec.shape
    g = {n: np.zeros_like(w[n]) for n in ORDER}
    do = (1 / (1 + np.exp(-o)) - y) / B                    # mean BCE through the sigmoid
    g["output.weight"] = z.T @ do
    g["output.bias"][0] = do.sum()
    dh = np.outer(do, w2) * (h > 0)
    g["hidden.weight"] = dh.T @ x
    g["hidden.bias"] = dh.sum(axis=0)
    dx = dh @ W1
    du = dx[:, :d] + dx[:, 2 * d:3 * d] * ec
    dec = dx[:, d:2 * d] + dx[:, 2 * d:3 * d] * u
    des = dx[:, 3 * d:]
    da = np.einsum("bld,bd->bl", eh, du)
    deh = a[:, :, None] * du[:, None, :]
    dscores = a * (da - (a * da).sum(axis=1, keepdims=True)) / np.sqrt(d)
    dq = np.einsum("bl,bld->bd", dscores, k)
    dk = dscores[:, :, None] * q[:, None, :]
    g["attention.key"] = np.einsum("bli,blj->ij", dk, eh)
    deh += dk @ Wk
    g["attention.query"] = dq.T @ ec
    dec += dq @ Wq
    np.add.at(g["item_embedding"], c, dec)
    np.add.at(g["item_embedding"], hist[mask], deh[mask])
    np.add.at(g["strategy_embedding"], s, des)
    return g


def train_round(global_w, examples, plan):
    """One round of local training as the protocol's "Local training" section says."""
    w = {n: v.astype(np.float64).copy() for n, v in global_w.items()}
    m = {n: np.zeros_like(v) for n, v in w.items()}
    v2 = {n: np.zeros_like(v) for n, v in w.items()}
    lr, mu, b1, b2, eps = plan.learning_rate, plan.proximal_mu, 0.9, 0.999, 1e-7
    rng = np.random.default_rng(plan.seed)
    arrays = batch_arrays(examples)
    t, losses = 0, []
    for _ in range(plan.epochs):
        order = rng.permutation(len(examples))
        for start in range(0, len(order), plan.batch_size):
            idx = order[start:start + plan.batch_size]
            c, s, y, hist, mask = (arr[idx] for arr in arrays)
            o, cache = forward(w, c, s, hist, mask)
            losses.append(float(np.mean(np.logaddexp(0, o) - y * o)))
            g = gradients(w, c, s, hist, mask, y, cache, o)
            t += 1
            alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            for n in ORDER:
                gn = g[n] + mu * (w[n] - global_w[n])
                m[n] = b1 * m[n] + (1 - b1) * gn
                v2[n] = b2 * v2[n] + (1 - b2) * gn * gn
                w[n] -= alpha * m[n] / (np.sqrt(v2[n]) + eps)
    return {n: w[n] - global_w[n] for n in ORDER}, float(np.mean(losses))


def evaluate(w, examples):
    c, s, y, hist, mask = batch_arrays(examples)
    o, _ = forward(w, c, s, hist, mask)
    bins = np.clip(np.floor((o + LOGIT_RANGE) / (2 * LOGIT_RANGE) * BINS), 0, BINS - 1).astype(np.int64)
    positives = np.bincount(bins[y == 1], minlength=BINS)
    negatives = np.bincount(bins[y == 0], minlength=BINS)
    return len(examples), float(np.sum(np.logaddexp(0, o) - y * o)), positives, negatives


# ── Payloads: the FAT1 format inside one zstd frame ────────────────────────────────────

def decode_payload(data, max_bytes):
    raw = zstandard.ZstdDecompressor().decompress(data, max_output_size=max_bytes)
    if raw[:4] != b"FAT1":
        raise ValueError("not a FAT1 payload")
    precision, count = raw[4], struct.unpack_from("<I", raw, 5)[0]
    at, specs = 9, []
    for _ in range(count):
        (length,) = struct.unpack_from("<H", raw, at); at += 2
        name = raw[at:at + length].decode(); at += length
        rank = raw[at]; at += 1
        dims = list(struct.unpack_from(f"<{rank}I", raw, at)); at += 4 * rank
        sparse = raw[at]; at += 1
        rows = None
        if sparse:
            (n_rows,) = struct.unpack_from("<I", raw, at); at += 4
            rows = np.frombuffer(raw, "<u4", n_rows, at).astype(np.int64); at += 4 * n_rows
        (n_values,) = struct.unpack_from("<I", raw, at); at += 4
        specs.append((name, dims, rows, n_values))
    width, dtype = (4, "<f4") if precision == 0 else (2, "<f2")
    total = sum(spec[3] for spec in specs)
    shuffled = np.frombuffer(raw, np.uint8, total * width, at)
    values = shuffled.reshape(width, total).T.copy().view(dtype).reshape(-1)   # undo the byte shuffle
    tensors, offset = {}, 0
    for name, dims, rows, n in specs:
        part = values[offset:offset + n].astype(np.float64); offset += n
        if rows is None:
            tensors[name] = part.reshape(dims)
        else:
            full = np.zeros(dims); full[rows] = part.reshape(len(rows), dims[1]); tensors[name] = full
    return tensors


def model_version(tensors):
    """The version naming a model's values ("Model versions" in fedattn.proto): SHA-256 over
    "FATD1", the block count, the hashes of item_embedding's 16-row blocks, and the hash of
    every other tensor's values, all as little-endian float32."""
    table = np.ascontiguousarray(tensors["item_embedding"], dtype="<f4")
    blocks = [hashlib.sha256(table[r:r + 16].tobytes()).digest() for r in range(0, len(table), 16)]
    rest = hashlib.sha256(b"".join(np.ascontiguousarray(tensors[n], dtype="<f4").tobytes() for n in ORDER[1:])).digest()
    return hashlib.sha256(b"FATD1" + struct.pack("<I", len(blocks)) + b"".join(blocks) + rest).hexdigest()


def as_sent(delta):
    """The update as this client sends it: every value in float16, and the item rows it lists
    (those with a value that is non-zero once rounded; never row 0)."""
    halves = {name: delta[name].astype(np.float16) for name in ORDER}
    rows = np.nonzero(np.any(halves["item_embedding"] != 0, axis=1))[0]
    return halves, rows[rows != 0]


def encode_update(delta):
    """float16 values, the item table as its changed rows (never row 0), byte-shuffled, zstd."""
    header, chunks = bytearray(b"FAT1") + bytes([1]) + struct.pack("<I", len(ORDER)), []
    halves, rows = as_sent(delta)
    for name in ORDER:
        tensor = halves[name]
        header += struct.pack("<H", len(name)) + name.encode() + bytes([tensor.ndim])
        header += struct.pack(f"<{tensor.ndim}I", *tensor.shape)
        if name == "item_embedding":
            header += bytes([1]) + struct.pack("<I", len(rows)) + rows.astype("<u4").tobytes()
            tensor = tensor[rows]
        else:
            header += bytes([0])
        header += struct.pack("<I", tensor.size)
        chunks.append(tensor.reshape(-1))
    values = np.concatenate(chunks).astype("<f2")
    shuffled = values.view(np.uint8).reshape(values.size, 2).T.tobytes()
    return zstandard.ZstdCompressor(level=3).compress(bytes(header) + shuffled)


# ── Secure rounds (the protocol's "Secure aggregation", SecAgg+: see secagg.py) ────────

def secure_plan_problem(plan):
    """Why a SecurePlan does not hold together (None when it does): this client then declines
    the round with SecureStep(ADVERTISE, abort) instead of training."""
    others = list(plan.neighbours)
    if plan.clients < secagg.MIN_SURVIVORS or plan.id >= plan.clients:
        return f"id {plan.id} of {plan.clients} clients (a secure round has 3 or more)"
    if len(set(others)) != len(others) or any(v >= plan.clients or v == plan.id for v in others):
        return f"neighbours {others} are not distinct other clients of 0..{plan.clients - 1}"
    if not 2 <= plan.threshold <= len(others):
        return f"threshold {plan.threshold} is not in 2..{len(others)} (its neighbours)"
    if not 8 <= plan.bits <= 24 or secagg.ring_bits(plan.bits, plan.clients) > 32:
        return f"{plan.bits} quantisation bits (8 to 24) for {plan.clients} clients: a ring of " \
               f"{secagg.ring_bits(plan.bits, plan.clients)} bits (at most 32)"
    if not (np.isfinite(plan.clip) and plan.clip > 0 and np.isfinite(plan.weight) and plan.weight >= 0):
        return f"clip {plan.clip} is not above 0, or weight {plan.weight} is negative (or either is not finite)"
    if plan.session >= 1 << 63:
        return f"session {plan.session} is not below 2^63"
    return None


class SecureRound:
    """This client's part in one attempt of a secure round: its trained update (as it would
    upload it: float16, decoded to float32) and one secagg.SumClient per sum, sum 0 for the
    new-row indicators and sum 1 for the weighted values, each with keys of its own."""

    def __init__(self, pb, round_, plan, delta, counts):
        self.pb, self.round, self.attempt, self.plan = pb, round_, plan.attempt, plan
        self.counts = counts    # its dense item counts for an indicator sum that carries them (None: declines)
        self.sent_counts = False
        halves, self.touched = as_sent(delta)
        self.values = {name: halves[name].astype(np.float32) for name in ORDER}
        indicators = secagg.SumClient(plan.session, 0, plan.id, plan.neighbours, plan.threshold)
        values = secagg.SumClient(plan.session, 1, plan.id, plan.neighbours, plan.threshold, taken=indicators.keys)
        self.sums = [indicators, values]
        self.rng = np.random.default_rng()   # indicator marks and stochastic rounding: only sums are seen
        self.rows_summed = 0

    def public_keys(self):
        """ADVERTISE: sum 0's keys, then sum 1's, each of its own id."""
        return [self.pb.PublicKeys(client=self.plan.id, encryption_key=c.keys[0], masking_key=c.keys[1]) for c in self.sums]

    def answer(self, task, reply):
        """Fills `reply` for the SecureTask `task` and returns the masked vector's bytes (b""
        for none); raises secagg.SecAggAbort when this client cannot go on."""
        pb = self.pb
        if task.phase == pb.SHARE_KEYS:
            return self.share_keys(task, reply)
        if task.phase == pb.MASK_INDICATORS:
            return self.mask_indicators(task, reply)
        if task.phase == pb.MASK_VALUES:
            return self.mask_values(task, reply)
        if task.phase in (pb.UNMASK_INDICATORS, pb.UNMASK_VALUES):
            return self.unmask(task, reply, 0 if task.phase == pb.UNMASK_INDICATORS else 1)
        raise secagg.SecAggAbort(f"phase {task.phase} is not one this client knows")

    def share_keys(self, task, reply):
        if len(task.peer_keys) != 2:
            raise secagg.SecAggAbort(f"{len(task.peer_keys)} key lists, not one per sum (2)")
        for client, keys in zip(self.sums, task.peer_keys):
            advertised = {k.client: (k.encryption_key, k.masking_key) for k in keys.keys}
            sealed = client.share_keys(advertised)
            reply.shares.append(self.pb.ShareList(shares=[
                self.pb.EncryptedShare(**{"from": self.plan.id, "to": v, "ciphertext": c}) for v, c in sealed.items()]))
        return b""

    def mask_indicators(self, task, reply):
        if len(task.shares) != 2:
            raise secagg.SecAggAbort(f"{len(task.shares)} share lists, not one per sum (2)")
        for client, shares in zip(self.sums, task.shares):   # sum 1's are kept for MASK_VALUES
            if any(share.to != self.plan.id for share in shares.shares):
                raise secagg.SecAggAbort("a share addressed to another client")
            client.receive_shares({getattr(share, "from"): share.ciphertext for share in shares.shares})
        item_rows = len(self.values["item_embedding"])
        known = self.rows(task, item_rows)
        x, self.new_rows = secagg.indicators(item_rows, self.touched, known, self.rng)
        bits = secagg.INDICATOR_BITS
        if task.carries_popularity_counts:   # protocol 11: its counts (or zeros) and shared flag, mod 2^32
            x, bits = secagg.counted_indicators(x, self.counts), secagg.COUNTED_BITS
            self.sent_counts = self.counts is not None
        reply.masked_count, reply.masked_bits = len(x), bits
        return secagg.pack(self.sums[0].mask(x, bits), bits)

    def mask_values(self, task, reply):
        table = self.values["item_embedding"]
        rows = np.nonzero(self.rows(task, len(table)))[0]
        lost = len(np.setdiff1d(self.touched, rows))
        if lost:   # a new row whose marks summed to 0 mod 2^16: the sum carries no values for it
            log(f"round {self.round}: {lost} of the rows this client trained are not among the rows summed")
        vector = np.concatenate([table[rows].reshape(-1)] + [self.values[name].reshape(-1) for name in ORDER[1:]])
        plan = self.plan
        m = secagg.ring_bits(plan.bits, plan.clients)
        levels = secagg.quantise(vector, plan.weight, plan.clip, plan.bits, self.rng)
        reply.masked_count, reply.masked_bits = len(vector), m
        self.rows_summed = len(rows)
        return secagg.pack(self.sums[1].mask(levels, m), m)

    def unmask(self, task, reply, index):
        seeds, keys = self.sums[index].unmask(task.survivors)
        x = self.plan.id + 1
        reply.self_mask_shares.extend(self.pb.ShamirShare(peer=v, x=x, values=s) for v, s in seeds.items())
        reply.masking_key_shares.extend(self.pb.ShamirShare(peer=v, x=x, values=s) for v, s in keys.items())
        return b""

    @staticmethod
    def rows(task, item_rows):
        """SecureTask.rows as a boolean per item row (rows past row_count: not set)."""
        if task.row_count > item_rows:
            raise secagg.SecAggAbort(f"a rows bitmap of {task.row_count} rows for a model of {item_rows}")
        known = np.zeros(item_rows, dtype=bool)
        known[:task.row_count] = secagg.bitmap_rows(task.rows, task.row_count)
        return known


def secure_step(stub, pb, reply, masked, chunk_bytes, metadata):
    """SecureStep: the reply first, then the masked vector's bytes in chunks."""
    parts = [pb.SecurePart(reply=reply)] + [pb.SecurePart(masked=masked[i:i + chunk_bytes])
                                             for i in range(0, len(masked), chunk_bytes)]
    stub.SecureStep(iter(parts), metadata=metadata)


# ── The client's life (the protocol's "A client's life") ───────────────────────────────

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--coordinator", required=True, help="HOST:PORT")
    parser.add_argument("--cert"); parser.add_argument("--key"); parser.add_argument("--ca")
    parser.add_argument("--insecure", action="store_true", help="plaintext on loopback; needs --name")
    parser.add_argument("--name")
    parser.add_argument("--data", required=True, help="the silo's CSV: user_id,item_id,timestamp,label[,strategy]")
    parser.add_argument("--no-share-popularity", action="store_true",
                        help="share no item counts for the most-popular baseline (under secure aggregation: "
                             "zeros and a shared flag of 0 in the indicator sum)")
    parser.add_argument("--freeze-after", metavar="PHASE",
                        help="for tests of dropout: after answering this secure phase (e.g. MASK_INDICATORS), "
                             "stop doing anything, as a frozen process would, until killed")
    args = parser.parse_args()
    pb, rpc = load_stubs()

    options = [("grpc.max_receive_message_length", 8 << 20)]
    if args.insecure:
        channel = grpc.insecure_channel(args.coordinator, options=options)
        metadata = [("x-fedattn-client", args.name)]
    else:
        read = lambda p: open(p, "rb").read()
        credentials = grpc.ssl_channel_credentials(read(args.ca), read(args.key), read(args.cert))
        channel = grpc.secure_channel(args.coordinator, credentials, options=options)
        metadata = []
    stub = rpc.FederationStub(channel)

    # The item mapping comes from Join; the number of training examples does not need it. A
    # coordinator that does not speak 11 refuses it (FAILED_PRECONDITION): then 10, then 9,
    # which differ only in the most-popular baseline (the JoinResponse says what applies).
    examples = count_train_examples(args.data)
    for version in (PROTOCOL_VERSION,) + OLDER_PROTOCOLS:
        try:
            joined = stub.Join(pb.JoinRequest(protocol_version=version, train_examples=examples), metadata=metadata)
            break
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.FAILED_PRECONDITION or version == OLDER_PROTOCOLS[-1]:
                raise
    if version != PROTOCOL_VERSION:
        log(f"the coordinator speaks an older wire protocol ({version}): joined with it")
    train, test = read_examples(args.data, joined.model.items)
    limits = joined.limits
    log(f"joined as {joined.client_id}: {len(train)} train and {len(test)} test examples; {joined.rounds} rounds")

    # The most-popular baseline ("The most-popular baseline" in the .proto): in the clear
    # (SharePopularity, once), or under secure aggregation masked in an indicator sum.
    sharing = not args.no_share_popularity
    counts = popularity_counts(train, item_rows(joined.model.items)) if sharing else None
    if joined.popularity == pb.POPULARITY_POOLING_ON:
        named = np.nonzero(counts)[0] if sharing else []
        if len(named) > limits.max_popularity_items:
            named, sharing = [], False
        share = pb.PopularityCounts(items=[int(i) for i in named], counts=[int(counts[i]) for i in named], decline=not sharing)
        try:
            receipt = stub.SharePopularity(share, metadata=metadata)
            log(f"item counts {'shared' if sharing else 'not shared'}: {receipt.message}")
        except grpc.RpcError as error:   # a refused share is not a configuration error
            sharing = False
            log(f"item counts not taken: {error.details()}; carrying on without the most-popular baseline")
    elif joined.popularity == pb.POPULARITY_POOLING_SECURE_SUM:
        if sharing:
            log("item counts to be summed securely")
        else:   # a decline is said in the clear, before any task: the coordinator checks the shared flags by it
            try:
                receipt = stub.SharePopularity(pb.PopularityCounts(decline=True), metadata=metadata)
                log(f"item counts not shared (zeros in the secure sum): {receipt.message}")
            except grpc.RpcError as error:
                log(f"item counts not shared; the decline was not taken: {error.details()}")
    secure_counts = counts if sharing and joined.popularity == pb.POPULARITY_POOLING_SECURE_SUM else None

    cache = {}

    def model(version):
        if version not in cache:
            payload = bytearray()
            while True:
                piece = stub.DownloadModel(pb.ModelRequest(model_version=version, offset=len(payload)), metadata=metadata)
                payload += piece.data
                if len(payload) >= piece.total_bytes:
                    break
            # No base_version is sent: this client always downloads the whole model.
            tensors = decode_payload(bytes(payload), 1 << 31)
            if model_version(tensors) != version:
                raise SystemExit(f"model {version[:12]} arrived as another model ({model_version(tensors)[:12]})")
            cache.clear()
            cache[version] = tensors
        return cache[version]

    last_round = 0
    warned_negatives = False
    chunk = limits.update_chunk_bytes or 8192
    secure = None   # this client's part in the secure round it trained last (SecureRound)
    while True:
        task = stub.NextTask(pb.TaskRequest(last_round=last_round), metadata=metadata)
        try:
            if task.kind == pb.Task.TRAIN:
                if task.plan.dp_clip_norm or task.plan.dp_noise_multiplier or task.plan.dp_row_learning_rate:
                    # Training without the noise asked for would break the federation's privacy promise.
                    raise SystemExit("the coordinator asks for example-level DP-SGD, which this client does not implement: "
                                     "use fedattn-client join, or a coordinator without --example-noise-multiplier/--example-target-epsilon")
                if task.plan.negatives and not warned_negatives:
                    # Still a valid update (the click head's), but it does not train the ranking head.
                    log(f"note: the plan asks for {task.plan.negatives} sampled negatives per click; this client trains the click head "
                        "alone and sends the interaction head a zero delta")
                    warned_negatives = True
                # With a secure plan the update is never uploaded: it enters the round's two
                # secure sums (SecureStep ADVERTISE now, then the SECURE tasks).
                plan = task.plan.secure if task.plan.HasField("secure") else None
                secure = None
                if plan is not None and secagg is None:
                    raise SystemExit(f"the coordinator runs secure aggregation (SecAgg+), which needs python3's cryptography "
                                     f"package ({SECAGG_MISSING}): pip install cryptography")
                if plan is not None:
                    advertise = pb.SecureReply(round=task.round, attempt=plan.attempt, phase=pb.ADVERTISE)
                    problem = secure_plan_problem(plan)
                    if problem:
                        advertise.abort = f"the secure plan does not hold together: {problem}"
                        secure_step(stub, pb, advertise, b"", chunk, metadata)
                        log(f"round {task.round}: declined the secure round ({advertise.abort})")
                        continue
                global_w = model(task.model_version)
                started = time.time()
                delta, loss = train_round(global_w, train, task.plan)
                if plan is not None:
                    secure = SecureRound(pb, task.round, plan, delta, secure_counts)
                    # Once its counts were in an indicator sum it helped unmask, never again: a
                    # second sum over other silos would subtract into this silo's counts.
                    advertise.base_version, advertise.example_count = task.model_version, len(train)
                    advertise.train_seconds = time.time() - started
                    advertise.keys.extend(secure.public_keys())
                    secure_step(stub, pb, advertise, b"", chunk, metadata)
                    log(f"round {task.round}: trained (train loss {loss:.4f}); secure aggregation, attempt {plan.attempt}: "
                        f"id {plan.id} of {plan.clients}, neighbours {sorted(plan.neighbours)}, threshold {plan.threshold}, "
                        f"{len(secure.touched)} rows trained; keys advertised")
                    continue
                payload = encode_update(delta)
                while not stub.ReserveUpload(pb.UploadReservation(round=task.round, base_version=task.model_version),
                                             metadata=metadata).granted:
                    time.sleep(0.01)
                header = pb.UpdateHeader(round=task.round, base_version=task.model_version, example_count=len(train),
                                         total_bytes=len(payload), train_seconds=time.time() - started)
                parts = [pb.UpdateChunk(header=header)] + [pb.UpdateChunk(data=payload[i:i + chunk])
                                                            for i in range(0, len(payload), chunk)]
                stub.UploadUpdate(iter(parts), metadata=metadata)
                log(f"round {task.round}: sent {len(payload)} bytes (train loss {loss:.4f})")
                last_round = task.round
            elif task.kind == pb.Task.SECURE:
                step = task.secure
                phase = pb.SecurePhase.Name(step.phase)
                reply = pb.SecureReply(round=step.round, attempt=step.attempt, phase=step.phase)
                masked, started = b"", time.time()
                if secure is None or (secure.round, secure.attempt) != (step.round, step.attempt):
                    # It reconnected, restarted or never trained this attempt: it cannot answer.
                    reply.abort = f"no secure state for round {step.round}, attempt {step.attempt}"
                else:
                    try:
                        masked = secure.answer(step, reply)
                    except secagg.SecAggAbort as why:
                        reply = pb.SecureReply(round=step.round, attempt=step.attempt, phase=step.phase, abort=str(why))
                        masked, secure = b"", None
                secure_step(stub, pb, reply, masked, chunk, metadata)
                if reply.abort:
                    log(f"round {step.round}: {phase} aborted: {reply.abort}")
                    continue
                detail = ""
                if masked:
                    detail = f": {reply.masked_count} values at {reply.masked_bits} bits, {len(masked)} bytes"
                elif reply.self_mask_shares or reply.masking_key_shares:
                    detail = (f": {len(reply.self_mask_shares)} self-mask and {len(reply.masking_key_shares)} "
                              f"masking-key shares revealed of {len(step.survivors)} survivors")
                log(f"round {step.round}: {phase} answered in {time.time() - started:.2f} s{detail}")
                if args.freeze_after == phase:
                    log(f"round {step.round}: frozen after {phase} (--freeze-after), until killed")
                    threading.Event().wait()
                if step.phase == pb.UNMASK_INDICATORS and secure.sent_counts:
                    secure_counts = None
                if step.phase == pb.UNMASK_VALUES:
                    log(f"round {step.round}: secure round done (values over {secure.rows_summed} rows)")
                    last_round = step.round
            elif task.kind == pb.Task.EVALUATE:
                n, loss_sum, positives, negatives = evaluate(model(task.model_version), test)
                report = pb.EvaluationReport(
                    round=task.round, model_version=task.model_version, examples=n, log_loss_sum=loss_sum,
                    positive_histogram=positives.tolist(), negative_histogram=negatives.tolist())
                # Pooled counts: this client ranks no users (for the model either), so its
                # baseline sums are zeros, which also stop the counts being sent again. A client
                # that declined (handed them under a secure sum) scores nothing.
                scored = task.HasField("popularity") and sharing
                if scored:
                    report.popularity.SetInParent()   # present, all zeros
                stub.ReportEvaluation(report, metadata=metadata)
                log(f"round {task.round}: evaluated on {n} test examples" + ("; most-popular baseline: no users ranked" if scored else ""))
            elif task.kind == pb.Task.WAIT:
                time.sleep(task.retry_after_ms / 1000)
            elif task.kind == pb.Task.DONE:
                log("federation done")
                return
        except grpc.RpcError as error:
            # ABORTED: the update or report came too late; NOT_FOUND: the model was replaced
            # before it was fetched. Either way the task is stale: ask for the next one.
            if error.code() not in (grpc.StatusCode.ABORTED, grpc.StatusCode.NOT_FOUND):
                raise
            log(f"round {task.round}: not counted ({error.details()}); carrying on")


if __name__ == "__main__":
    main()
