"""Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy as
1, 2, 3", SC 2011), the Random123 reference parameters.

The generator is a keyed bijection of a 64-bit counter: the same (key, counter)
gives the same two uint32 words on every backend. Keys are derived from
(seed, stream) once on the host; the counter of row ``i`` is ``(i mod 2**32,
i div 2**32)``, never a thread or block id, which is what makes every dataset
a pure function of its recipe and the row index.

Values are held in integers of at least 32 bits and masked after every add and
shift, because Numba widens uint32 scalars to 64 bits; on uint32 arrays the
masks are no-ops.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

# NumPy scalars, not Python ints: JAX refuses Python ints above 2**31 - 1 beside
# uint32 arrays, and Numba types an int64 op with a uint32 constant as int64.
MASK32 = np.uint32(0xFFFFFFFF)
_PARITY = np.uint32(0x1BD11BDA)
# Key of the key derivation: "JDK2" in ASCII, fixed for generator version 2.0.0.
_DERIVE_TAG = 0x4A444B32


def _rounds4(x0: Any, x1: Any, ra: int, rb: int, rc: int, rd: int) -> tuple[Any, Any]:
    x0 = (x0 + x1) & MASK32
    x1 = (((x1 << ra) | (x1 >> (32 - ra))) & MASK32) ^ x0
    x0 = (x0 + x1) & MASK32
    x1 = (((x1 << rb) | (x1 >> (32 - rb))) & MASK32) ^ x0
    x0 = (x0 + x1) & MASK32
    x1 = (((x1 << rc) | (x1 >> (32 - rc))) & MASK32) ^ x0
    x0 = (x0 + x1) & MASK32
    x1 = (((x1 << rd) | (x1 >> (32 - rd))) & MASK32) ^ x0
    return x0, x1


def threefry2x32(k0: Any, k1: Any, c0: Any, c1: Any) -> tuple[Any, Any]:
    """Threefry-2x32-20 of counter ``(c0, c1)`` under key ``(k0, k1)``.

    Parameters
    ----------
    k0, k1 : uint32 scalars or arrays (any integer type holding values < 2**32)
    c0, c1 : uint32 scalars or arrays, broadcastable against the keys

    Returns
    -------
    (x0, x1) : two uint32 words, the shape of the broadcast inputs.
    """
    k2 = k0 ^ k1 ^ _PARITY
    x0 = (c0 + k0) & MASK32
    x1 = (c1 + k1) & MASK32
    # Unrolled: Numba cannot index a heterogeneous key tuple with a loop variable.
    x0, x1 = _rounds4(x0, x1, 13, 15, 26, 6)
    x0 = (x0 + k1) & MASK32
    x1 = (x1 + k2 + 1) & MASK32
    x0, x1 = _rounds4(x0, x1, 17, 29, 16, 24)
    x0 = (x0 + k2) & MASK32
    x1 = (x1 + k0 + 2) & MASK32
    x0, x1 = _rounds4(x0, x1, 13, 15, 26, 6)
    x0 = (x0 + k0) & MASK32
    x1 = (x1 + k1 + 3) & MASK32
    x0, x1 = _rounds4(x0, x1, 17, 29, 16, 24)
    x0 = (x0 + k1) & MASK32
    x1 = (x1 + k2 + 4) & MASK32
    x0, x1 = _rounds4(x0, x1, 13, 15, 26, 6)
    x0 = (x0 + k2) & MASK32
    x1 = (x1 + k0 + 5) & MASK32
    return x0, x1


# The same two functions evaluated on Python ints: their code with int constants. Keys are
# derived on the host once per recipe, where NumPy's per-operation overhead made the scalar
# path cost 0.2 ms a key (0.9 ms of every create request's plan).
_HOST_SCOPE: dict[str, Any] = {**globals(), "MASK32": int(MASK32), "_PARITY": int(_PARITY)}
_HOST_SCOPE["_rounds4"] = types.FunctionType(_rounds4.__code__, _HOST_SCOPE, "_rounds4")
_threefry_host: Any = types.FunctionType(threefry2x32.__code__, _HOST_SCOPE, "threefry2x32")


def threefry2x32_host(k0: int, k1: int, c0: int, c1: int) -> tuple[int, int]:
    """:func:`threefry2x32` of Python ints (each < 2**32), as Python ints: the same code."""
    x0, x1 = _threefry_host(k0, k1, c0, c1)
    return int(x0), int(x1)


def stream_key(seed: int, stream: int) -> tuple[int, int]:
    """The Threefry key of one random stream of a dataset, computed on the host.

    ``(k0, k1) = threefry2x32(key=(seed mod 2**32, seed div 2**32),
    counter=(stream, 0x4A444B32))``: distinct streams of one seed get unrelated
    keys (for a fixed seed the map from stream to key is a bijection).
    """
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return threefry2x32_host(seed & 0xFFFFFFFF, seed >> 32, stream & 0xFFFFFFFF, _DERIVE_TAG)
