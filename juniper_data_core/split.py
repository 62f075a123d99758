"""Split sizes and the index-pure shuffle.

The shuffle is a keyed bijection of ``[0, N)``: a 4-round Feistel network over the
mixed-radix domain ``Z_a x Z_m`` with ``m = 2**k``, ``k = b // 2`` for the smallest
``2**b >= N``, and ``a = ceil(N / m)``. A position ``x`` splits into ``u = x >> k``
(in ``[0, a)``) and ``v = x & (m - 1)``; rounds alternate ``u = (u + F(v)) mod a``
and ``v = v ^ (F(u) mod m)``. The domain ``a * m`` exceeds ``N`` by less than ``m``
(about ``sqrt(N)``), so cycle walking (apply again while the value is ``>= N``) almost
never repeats: a power-of-two domain would walk up to half of all positions, and that
data-dependent loop was most of the cost of a shuffled split. Row ``j`` of the shuffled
order is ``perm(j)``, computed alone, so train row ``j`` is source row ``perm(j)`` and
test row ``j`` is source row ``perm(n_train + j)``, with nothing sorted or stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from juniper_data_core.rng.threefry import MASK32, stream_key, threefry2x32_host

FEISTEL_ROUNDS = 4  # even: two rounds of each half
# Random stream of the shuffle's round keys (see docs/reproducibility.md).
PERM_STREAM = 0x5045524D  # "PERM"


@dataclass(frozen=True)
class Permutation:
    """A keyed bijection of ``[0, n)`` over ``Z_high x Z_(2**low_bits)``."""

    n: int
    low_bits: int
    high: int
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
    low_bits = max(2, (n - 1).bit_length()) // 2
    high = max(1, -(-n // (1 << low_bits)))
    k0, k1 = stream_key(seed, PERM_STREAM)
    keys = tuple(threefry2x32_host(k0, k1, r, 0)[0] for r in range(FEISTEL_ROUNDS))
    return Permutation(n=n, low_bits=low_bits, high=high, keys=keys)


_MUL1 = np.uint32(0x7FEB352D)
_MUL2 = np.uint32(0x846CA68B)


def _mix32(x: Any) -> Any:
    # A strong 32-bit integer hash (lowbias32, C. Wellons): the Feistel round function.
    x = x ^ (x >> 16)
    x = (x * _MUL1) & MASK32
    x = x ^ (x >> 15)
    x = (x * _MUL2) & MASK32
    return x ^ (x >> 16)


def feistel(xp: Any, x: Any, low_bits: int, high: Any, keys: Any) -> Any:
    """One application of the Feistel network to ``x`` in ``[0, high * 2**low_bits)``.

    ``xp.mulhi(h, high)`` is ``floor(h * high / 2**32)``: a 32-bit hash brought into
    ``[0, high)`` with a multiply instead of a division (Lemire's reduction).
    """
    mask = (1 << low_bits) - 1
    u = x >> low_bits
    v = x & mask
    for r in range(0, len(keys), 2):
        u = u + xp.mulhi(_mix32(xp.u32(v) ^ keys[r]), high)
        u = u - high * (u >= high)
        v = v ^ (xp.index(_mix32(xp.u32(u) ^ keys[r + 1])) & mask)
    return (u << low_bits) | v


def permute(xp: Any, positions: Any, perm: Permutation) -> Any:
    """``perm(p)`` for a vector of positions (NumPy, CuPy): cycle walking by compaction,
    so each further pass touches only the values still outside ``[0, n)``."""
    args = (perm.low_bits, perm.high, perm.keys)
    y = feistel(xp, positions, *args)
    bad = xp.nonzero(y >= perm.n)[0]
    while bad.size:
        y[bad] = feistel(xp, y[bad], *args)
        bad = bad[y[bad] >= perm.n]
    return y
