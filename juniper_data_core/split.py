"""Split sizes and the index-pure shuffle.

The shuffle is a keyed bijection of ``[0, N)``: a 4-round Feistel network over the
smallest power-of-two domain ``2**b >= N`` (halves of ``b - b//2`` and ``b//2`` bits,
swapping widths each round), with cycle walking (apply again while the value is
``>= N``; fewer than 2 applications on average). Row ``j`` of the shuffled order is
``perm(j)``, computed alone, so train row ``j`` is source row ``perm(j)`` and test
row ``j`` is source row ``perm(n_train + j)``, with nothing sorted or stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from juniper_data_core.rng.threefry import MASK32, stream_key, threefry2x32

FEISTEL_ROUNDS = 4  # even, so the halves end where they started; 4 suffice for a PRP
# Random stream of the shuffle's round keys (see docs/reproducibility.md).
PERM_STREAM = 0x5045524D  # "PERM"


@dataclass(frozen=True)
class Permutation:
    """A keyed bijection of ``[0, n)``."""

    n: int
    bits: int
    keys: tuple[int, ...]


def split_sizes(n: int, train_ratio: float, test_ratio: float) -> tuple[int, int]:
    """``(n_train, n_test)``: each ``round_half_even(n * ratio)``, capped to sum to <= n.

    Python's ``round`` of the float product (half to even), as the earlier service
    did; any excess is taken out of ``n_test``.
    """
    n_train = round(n * train_ratio)
    n_test = round(n * test_ratio)
    n_train = min(n_train, n)
    n_test = min(n_test, n - n_train)
    return n_train, n_test


def make_permutation(n: int, seed: int) -> Permutation:
    """The shuffle of a dataset of ``n`` rows with ``seed``; depends on nothing else."""
    bits = max(2, (n - 1).bit_length())
    k0, k1 = stream_key(seed, PERM_STREAM)
    rounds = np.arange(FEISTEL_ROUNDS, dtype=np.uint32)
    words, _ = threefry2x32(np.uint32(k0), np.uint32(k1), rounds, np.zeros_like(rounds))
    keys = tuple(int(w) for w in words)
    return Permutation(n=n, bits=bits, keys=keys)


_MUL1 = np.uint32(0x7FEB352D)
_MUL2 = np.uint32(0x846CA68B)


def _mix32(x: Any) -> Any:
    # A strong 32-bit integer hash (lowbias32, C. Wellons): the Feistel round function.
    x = x ^ (x >> 16)
    x = (x * _MUL1) & MASK32
    x = x ^ (x >> 15)
    x = (x * _MUL2) & MASK32
    return x ^ (x >> 16)


def feistel(xp: Any, x: Any, bits: int, keys: Any) -> Any:
    """One application of the Feistel network to ``x`` in ``[0, 2**bits)``.

    The halves have ``bits - bits//2`` (left) and ``bits//2`` (right) bits and swap
    widths every round; after the even number of rounds they are back in place.
    """
    shift = bits // 2
    mask_right = (1 << shift) - 1
    mask_left = (1 << (bits - shift)) - 1
    left = x >> shift
    right = x & mask_right
    for key in keys:
        h = _mix32(xp.u32(right) ^ key)
        left, right = right, (left ^ xp.index(h)) & mask_left
        mask_left, mask_right = mask_right, mask_left
    return (left << shift) | right


def walk(xp: Any, p: Any, n: int, bits: int, keys: Any) -> Any:
    """``perm(p)`` for one scalar position (compiled by Numba): cycle walking."""
    y = feistel(xp, p, bits, keys)
    while y >= n:
        y = feistel(xp, y, bits, keys)
    return y


def permute(xp: Any, positions: Any, perm: Permutation) -> Any:
    """``perm(p)`` for a vector of positions (NumPy, CuPy): cycle walking by compaction,
    so each further pass touches only the values still outside ``[0, n)``."""
    y = feistel(xp, positions, perm.bits, perm.keys)
    bad = xp.nonzero(y >= perm.n)[0]
    while bad.size:
        y[bad] = feistel(xp, y[bad], perm.bits, perm.keys)
        bad = bad[y[bad] >= perm.n]
    return y
