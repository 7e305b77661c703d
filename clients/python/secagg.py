"""SecAgg+ for the Python client, written from the "Secure aggregation" section of
protocol/fedattn.proto alone.

The client's side of the semi-honest protocol of Bonawitz et al., "Practical Secure
Aggregation for Privacy-Preserving Machine Learning" (CCS 2017), over the sparse neighbour
graph of Bell et al., "Secure Single-Server Aggregation with (Poly)Logarithmic Overhead"
(CCS 2020): pairwise masks agreed with X25519 and HKDF-SHA256, a ChaCha20 keystream as the
PRG, Shamir t-of-k sharing over GF(2^61 - 1) of the self-mask seed and the masking key,
shares sent under ChaCha20-Poly1305, masked vectors packed at the ring's bits. Nothing in
here knows gRPC or protobuf: `SumClient` is one client of one secure sum, and the helpers
below it turn an update into the sum's input (quantising) and a masked vector into bytes.

Needs `cryptography` and numpy. `python3 secagg.py` runs a self-test: four clients mask,
one drops out, and the unmasked sum is the survivors' inputs' sum.
"""

import os
import secrets
import struct

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PRIME = (1 << 61) - 1               # the Shamir field GF(2^61 - 1)
CHUNKS = 5                          # a 32-byte secret as five chunks: 7, 7, 7, 7 and 4 bytes
SHARE_SALT = b"fedattn-secagg-share"
MASK_SALT = b"fedattn-secagg-mask"
SHARE_PLAINTEXT = 16 * CHUNKS       # the five u64 of b's share, then the five of the key's
SHARE_CIPHERTEXT = 12 + SHARE_PLAINTEXT + 16   # nonce | ciphertext | tag: 108 bytes
INDICATOR_BITS = 16                 # sum 0's ring
COUNTED_BITS = 32                   # sum 0's ring when it carries the item counts (protocol 11)
MIN_SURVIVORS = 3                   # a client never helps unmask a sum of fewer


class SecAggAbort(Exception):
    """This client cannot go on in this round; the message is sent as SecureReply.abort."""


# ── Contexts and keys ──────────────────────────────────────────────────────────────────

def session_id(session, sum_index):
    """s = SecurePlan.session << 1 | sum: one key context per sum (0 indicators, 1 values)."""
    return ((session << 1) | sum_index) & 0xFFFFFFFFFFFFFFFF


def ctx(s, a, b):
    """ctx(s, a, b) = s (u64 LE) | min(a, b) (u32 LE) | max(a, b) (u32 LE): binds a pairwise
    key to its session and its pair, the same from either end."""
    return struct.pack("<QII", s, min(a, b), max(a, b))


def public_bytes(key):
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def private_bytes(key):
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def agree(private_key, peer_public, salt, s, a, b):
    """A pairwise key (Bonawitz et al. 2017, KA.agree): HKDF-SHA256 of the X25519 secret with
    `salt`, info ctx(s, a, b), 32 bytes. A peer key of small order (secret zero) is refused."""
    if len(peer_public) != 32:
        raise SecAggAbort(f"client {b}'s key is {len(peer_public)} bytes, not 32")
    try:
        secret = private_key.exchange(X25519PublicKey.from_public_bytes(peer_public))
    except ValueError:          # OpenSSL refuses an all-zero result itself
        secret = bytes(32)
    if secret == bytes(32):
        raise SecAggAbort("a neighbour's X25519 key is of small order (its shared secret is zero)")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=ctx(s, a, b)).derive(secret)


def prg(key, n):
    """PRG(key, n): n u32 little-endian from ChaCha20 (RFC 8439) with `key`, a zero 12-byte
    nonce and the block counter from 1: the ciphertext of 4n zero bytes under
    ChaCha20-Poly1305, without its tag. (cryptography's ChaCha20 takes a 16-byte nonce: the
    32-bit counter, little-endian, then the 12-byte nonce.)"""
    stream = Cipher(algorithms.ChaCha20(key, struct.pack("<I", 1) + bytes(12)), mode=None).encryptor()
    return np.frombuffer(stream.update(bytes(4 * n)), dtype="<u4").astype(np.uint32)


# ── Shamir sharing over GF(2^61 - 1) ───────────────────────────────────────────────────

def secret_chunks(secret):
    """A 32-byte secret as five little-endian integers of 7, 7, 7, 7 and 4 bytes (< 2^56)."""
    if len(secret) != 32:
        raise ValueError("a secret is 32 bytes")
    return [int.from_bytes(secret[i:i + 7], "little") for i in range(0, 32, 7)]


def chunks_secret(chunks):
    """The inverse of secret_chunks."""
    return b"".join(c.to_bytes(7 if i < CHUNKS - 1 else 4, "little") for i, c in enumerate(chunks))


def shamir_split(secret, threshold, points):
    """Shamir (1979), t of k: each chunk is the constant term of its own random polynomial
    of degree t - 1 over GF(2^61 - 1); returns {x: [five values]} for each point x."""
    polynomials = [[chunk] + [secrets.randbelow(PRIME) for _ in range(threshold - 1)]
                   for chunk in secret_chunks(secret)]

    def evaluate(coefficients, x):
        y = 0
        for c in reversed(coefficients):
            y = (y * x + c) % PRIME
        return y

    return {x: [evaluate(p, x) for p in polynomials] for x in points}


def shamir_combine(shares):
    """Lagrange interpolation at 0 of {x: [five values]} (t or more shares): the secret."""
    xs = list(shares)
    chunks = []
    for k in range(CHUNKS):
        total = 0
        for xi in xs:
            numerator, denominator = 1, 1
            for xj in xs:
                if xj != xi:
                    numerator = numerator * (-xj) % PRIME
                    denominator = denominator * (xi - xj) % PRIME
            total = (total + shares[xi][k] * numerator * pow(denominator, PRIME - 2, PRIME)) % PRIME
        chunks.append(total)
    return chunks_secret(chunks)


# ── One client of one secure sum ───────────────────────────────────────────────────────

class SumClient:
    """One client u of one secure sum (Bonawitz et al. 2017, the four rounds; the neighbours
    of Bell et al. 2020 in place of all clients): its encryption and masking key pairs and
    self-mask seed b, fresh for every TRAIN. Each method is one phase; any of them raises
    SecAggAbort when the client cannot go on (too few keys or shares, a share that does not
    decrypt, too few survivors)."""

    def __init__(self, session, sum_index, me, neighbours, threshold, taken=()):
        self.s = session_id(session, sum_index)
        self.me, self.neighbours, self.threshold = me, set(neighbours), threshold
        while True:   # the four public keys of a client's two sums are all distinct
            self.encryption, self.masking = X25519PrivateKey.generate(), X25519PrivateKey.generate()
            self.keys = (public_bytes(self.encryption), public_bytes(self.masking))
            if len({*self.keys, *taken}) == 2 + len(set(taken)):
                break
        self.seed = secrets.token_bytes(32)            # b: the self mask's key
        self.peers = {}                                 # v -> (share key, mask key), for those that advertised
        self.held = {}                                  # v -> (share of v's b, share of v's masking key)
        self.revealed = False

    # SHARE_KEYS (Bonawitz's round 1): split b and the masking key among the neighbours
    # that advertised, each share encrypted to its holder.
    def share_keys(self, advertised):
        """`advertised`: {v: (encryption key, masking key)} of the neighbours whose keys the
        coordinator relays. Returns {v: 108-byte ciphertext}, for v ascending."""
        advertised = {v: keys for v, keys in advertised.items() if v != self.me}
        strangers = sorted(set(advertised) - self.neighbours)
        if strangers:
            raise SecAggAbort(f"keys of clients {strangers} that are not its neighbours")
        if len(advertised) < self.threshold:
            raise SecAggAbort(f"{len(advertised)} neighbours advertised keys; the threshold is {self.threshold}")
        for v, (encryption_key, masking_key) in sorted(advertised.items()):
            self.peers[v] = (agree(self.encryption, encryption_key, SHARE_SALT, self.s, self.me, v),
                             agree(self.masking, masking_key, MASK_SALT, self.s, self.me, v))
        points = [v + 1 for v in sorted(self.peers)]
        seed_shares = shamir_split(self.seed, self.threshold, points)
        key_shares = shamir_split(private_bytes(self.masking), self.threshold, points)
        ciphertexts = {}
        for v in sorted(self.peers):
            plaintext = struct.pack("<10Q", *seed_shares[v + 1], *key_shares[v + 1])
            nonce = os.urandom(12)
            sealed = ChaCha20Poly1305(self.peers[v][0]).encrypt(nonce, plaintext, self.associated(self.me, v))
            ciphertexts[v] = nonce + sealed
        return ciphertexts

    def associated(self, sender, receiver):
        """A share's additional data: ctx(s, sender, receiver) | sender (u32 LE)."""
        return ctx(self.s, sender, receiver) + struct.pack("<I", sender)

    # MASK_* (Bonawitz's round 2): decrypt the shares addressed to it, then mask.
    def receive_shares(self, ciphertexts):
        """`ciphertexts`: {v: 108 bytes from v}. Keeps v's shares of b and of its masking key."""
        if len(ciphertexts) < self.threshold:
            raise SecAggAbort(f"{len(ciphertexts)} shares arrived; the threshold is {self.threshold}")
        for v, sealed in ciphertexts.items():
            if v not in self.peers:
                raise SecAggAbort(f"a share from client {v}, which did not advertise keys to it")
            if len(sealed) != SHARE_CIPHERTEXT:
                raise SecAggAbort(f"client {v}'s share is {len(sealed)} bytes, not {SHARE_CIPHERTEXT}")
            try:
                plaintext = ChaCha20Poly1305(self.peers[v][0]).decrypt(sealed[:12], sealed[12:], self.associated(v, self.me))
            except InvalidTag:
                raise SecAggAbort(f"client {v}'s share does not decrypt") from None
            values = struct.unpack("<10Q", plaintext)
            if any(value >= PRIME for value in values):
                raise SecAggAbort(f"client {v}'s share holds a value outside GF(2^61 - 1)")
            self.held[v] = (list(values[:CHUNKS]), list(values[CHUNKS:]))

    def mask(self, x, ring_bits):
        """y = x + PRG(b) + sum over v that shared with it of (u < v ? +1 : -1) PRG(k_uv),
        on u32 (mod 2^32), then reduced mod 2^ring_bits. `x`: u32 values below 2^ring_bits."""
        y = np.asarray(x, dtype=np.uint32) + prg(self.seed, len(x))
        for v in sorted(self.held):
            if v > self.me:
                y += prg(self.peers[v][1], len(x))
            else:
                y -= prg(self.peers[v][1], len(x))
        if ring_bits < 32:
            y &= np.uint32((1 << ring_bits) - 1)
        return y

    # UNMASK_* (Bonawitz's round 4): for each neighbour that shared, one kind of share.
    def unmask(self, survivors):
        """`survivors`: the ids whose masked input the coordinator holds. Returns the shares
        to reveal: ({v: share of v's b} for surviving v, {v: share of v's masking key} for
        dropped v), never both for one v, and only once for this sum."""
        survivors = set(survivors)
        if self.revealed:
            raise SecAggAbort("it already revealed shares for this sum")
        if self.me not in survivors:
            raise SecAggAbort("it is not among the survivors")
        if len(survivors) < max(MIN_SURVIVORS, self.threshold):
            raise SecAggAbort(f"{len(survivors)} survivors; it unmasks no sum of fewer than "
                              f"{max(MIN_SURVIVORS, self.threshold)}")
        silent = sorted((survivors & self.neighbours) - set(self.held) - {self.me})
        if silent:
            raise SecAggAbort(f"surviving neighbours {silent} never shared with it")
        self.revealed = True
        seeds = {v: shares[0] for v, shares in sorted(self.held.items()) if v in survivors}
        keys = {v: shares[1] for v, shares in sorted(self.held.items()) if v not in survivors}
        return seeds, keys


# ── Inputs: quantising, indicators, rows ───────────────────────────────────────────────

def ring_bits(bits, clients):
    """m = bits + ceil(log2 clients): the ring that holds the sum of `clients` inputs."""
    return bits + (clients - 1).bit_length()


def quantise(values, weight, clip, bits, rng):
    """Each value times `weight` (one binary32 product), clipped to [-clip, clip] (NaN as 0),
    stochastically rounded onto 0..2^bits - 1: level = (v + clip)(2^bits - 1) / (2 clip),
    rounded up with the probability of its fraction (unbiased: the dequantised sum's
    expectation is the weighted sum)."""
    v = np.asarray(values, dtype=np.float32) * np.float32(weight)
    v = np.where(np.isnan(v), np.float32(0), v)
    v = np.clip(v, np.float32(-clip), np.float32(clip)).astype(np.float64)
    top = (1 << bits) - 1
    level = (v + float(np.float32(clip))) * top / (2 * float(np.float32(clip)))
    low = np.floor(level)
    up = rng.random(len(level)) < (level - low)
    return np.clip(low + up, 0, top).astype(np.uint32)


def indicators(row_total, touched, known, rng):
    """Sum 0's input: one element per item row, a uniformly random value in 1..65535 for each
    row it touched that no client trained before (not in `known`), 0 elsewhere: the sum is
    non-zero where a row is new, and says nothing of how many clients or which."""
    x = np.zeros(row_total, dtype=np.uint32)
    new = np.asarray(touched, dtype=np.int64)
    new = new[~known[new]]
    x[new] = rng.integers(1, 1 << INDICATOR_BITS, size=len(new), dtype=np.uint32)
    return x, len(new)


def counted_indicators(marks, counts):
    """Sum 0's input when the task carries_popularity_counts (protocol 11): the V indicator
    marks, then the client's train rows of each item row 0..V-1 (`counts`, V values; row 0 is
    padding, 0), then its shared flag: 1, or, when it declines (`counts` None), V zeros and a
    flag of 0. 2V + 1 values, masked and sent in the ring of 32 bits."""
    # The marks in the ring's top 16 bits: their sum is the 16-bit ring's, shifted (in the low
    # bits they would not wrap, and their sum would bound how many silos marked a row).
    marks = np.asarray(marks, dtype=np.uint32) << np.uint32(16)
    if counts is None:
        tail = np.zeros(len(marks) + 1, dtype=np.uint32)
    else:
        counts = np.asarray(counts, dtype=np.uint64)
        if len(counts) != len(marks) or (len(counts) and (counts[0] != 0 or counts.max() >= 1 << 32)):
            raise SecAggAbort(f"{len(counts)} item counts for {len(marks)} rows (row 0 must count 0, each below 2^32)")
        tail = np.concatenate([counts.astype(np.uint32), np.ones(1, dtype=np.uint32)])
    return np.concatenate([marks, tail])


def bitmap_rows(bitmap, row_count):
    """SecureTask.rows as a boolean array of `row_count`: row r is bit r mod 8 of byte r / 8."""
    if len(bitmap) != (row_count + 7) // 8:
        raise SecAggAbort(f"the rows bitmap is {len(bitmap)} bytes for {row_count} rows")
    return np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")[:row_count].astype(bool)


# ── Masked vectors on the wire ─────────────────────────────────────────────────────────

def pack(values, bits):
    """`values` (u32, each below 2^bits) as ceil(n bits / 8) bytes: element i is bits
    [i bits, (i + 1) bits) of the bytes read as one little-endian integer."""
    values = np.asarray(values, dtype=np.uint32)
    if bits in (8, 16, 32):
        return values.astype(f"<u{bits // 8}").tobytes()
    out, step = bytearray(), 1 << 18   # a multiple of 8 elements: every block ends on a byte
    for start in range(0, len(values), step):
        block = values[start:start + step].astype("<u4").view(np.uint8).reshape(-1, 4)
        out += np.packbits(np.unpackbits(block, axis=1, bitorder="little")[:, :bits].reshape(-1),
                           bitorder="little").tobytes()
    return bytes(out)


def unpack(data, bits, count):
    """The inverse of pack."""
    stream = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")[:count * bits]
    weights = (np.uint64(1) << np.arange(bits, dtype=np.uint64))
    return (stream.reshape(count, bits).astype(np.uint64) @ weights).astype(np.uint32)


# ── Self-test: the server's side, just enough to check the client's ───────────────────

def _self_test():
    rng = np.random.default_rng(7)
    # The PRG is ChaCha20-Poly1305's ciphertext of zero bytes.
    key = os.urandom(32)
    sealed = ChaCha20Poly1305(key).encrypt(bytes(12), bytes(4 * 1000), b"")
    assert np.array_equal(prg(key, 1000), np.frombuffer(sealed[:-16], dtype="<u4")), "PRG"
    # Shamir: any t shares rebuild the secret.
    secret = os.urandom(32)
    shares = shamir_split(secret, 3, [1, 2, 5, 9])
    assert shamir_combine({x: shares[x] for x in (2, 5, 9)}) == secret, "Shamir"
    # Packing round-trips at every ring width.
    for bits in range(8, 33):
        v = rng.integers(0, 1 << bits, size=1001, dtype=np.uint64).astype(np.uint32)
        data = pack(v, bits)
        assert len(data) == (1001 * bits + 7) // 8 and np.array_equal(unpack(data, bits, 1001), v), bits
    # Four clients, everyone a neighbour of everyone, t = 2; client 2 drops after sharing.
    n, length, m = 4, 5000, ring_bits(20, 4)
    session = secrets.randbelow(1 << 63)
    clients = [SumClient(session, 1, u, [v for v in range(n) if v != u], 2) for u in range(n)]
    boxes = {}
    for u, c in enumerate(clients):
        for v, sealed in c.share_keys({v: clients[v].keys for v in range(n)}).items():
            boxes.setdefault(v, {})[u] = sealed
    inputs = [rng.integers(0, 1 << 20, size=length, dtype=np.uint32) for _ in range(n)]
    masked = {}
    for u, c in enumerate(clients):
        c.receive_shares(boxes[u])
        if u != 2:
            masked[u] = c.mask(inputs[u], m)
    survivors = sorted(masked)
    revealed = [clients[u].unmask(survivors) for u in survivors]
    total = np.zeros(length, dtype=np.uint32)
    for y in masked.values():
        total += y
    for u in survivors:   # remove each survivor's self mask
        seed = shamir_combine({v + 1: revealed[i][0][u] for i, v in enumerate(survivors) if u in revealed[i][0]})
        total -= prg(seed, length)
    sk = X25519PrivateKey.from_private_bytes(shamir_combine(
        {v + 1: revealed[i][1][2] for i, v in enumerate(survivors) if 2 in revealed[i][1]}))
    for v in survivors:   # add the masks the dropped client would have: the survivors' cancel
        k = agree(sk, clients[v].keys[1], MASK_SALT, clients[2].s, 2, v)
        total = total + prg(k, length) if 2 < v else total - prg(k, length)
    expected = sum(inputs[u].astype(np.uint64) for u in survivors) % (1 << m)
    assert np.array_equal(total & np.uint32((1 << m) - 1), expected.astype(np.uint32)), "unmasked sum"
    # Sum 0 with counts (protocol 11): three clients, two sharing; the ring of 32 bits holds
    # the marks, the counts and the flags, and the unmasked sum splits into them.
    rows, trio = 50, 3
    session = secrets.randbelow(1 << 63)
    clients = [SumClient(session, 0, u, [v for v in range(trio) if v != u], 2) for u in range(trio)]
    boxes = {}
    for u, c in enumerate(clients):
        for v, sealed in c.share_keys({v: clients[v].keys for v in range(trio)}).items():
            boxes.setdefault(v, {})[u] = sealed
    counts = [np.concatenate([[0], rng.integers(0, 1000, size=rows - 1)]).astype(np.uint64) for _ in range(trio)]
    known = np.zeros(rows, dtype=bool)
    xs = [counted_indicators(indicators(rows, [1, 2, 3 + u], known, rng)[0], counts[u] if u < 2 else None) for u in range(trio)]
    assert all(len(x) == 2 * rows + 1 for x in xs) and xs[2][rows:].sum() == 0 and xs[0][-1] == 1
    total = np.zeros(2 * rows + 1, dtype=np.uint32)
    for u, c in enumerate(clients):
        c.receive_shares(boxes[u])
        total += c.mask(xs[u], COUNTED_BITS)
        total -= prg(c.seed, 2 * rows + 1)      # each self mask; the pairwise masks cancel
    assert np.array_equal(total[rows:2 * rows], (counts[0] + counts[1]).astype(np.uint32)), "summed counts"
    assert total[2 * rows] == 2, "shared flags"
    assert all(total[r] != 0 for r in (1, 2, 3, 4, 5)) and not total[6:rows].any(), "new rows"
    # Quantising: unbiased, within the levels.
    q = quantise(np.full(20000, 0.3, dtype=np.float32), 1.0, 1.0, 8, rng)
    assert abs(q.mean() * 2 / 255 - 1 - 0.3) < 0.002 and q.max() <= 255
    print("secagg self-test: ok")


if __name__ == "__main__":
    _self_test()
