"""The array namespace ``xp``: the one definition of what kernels may call.

A generator's math, the RNG and the shuffle are written once over ``xp``; each
backend supplies an ``xp`` whose members behave as declared here. Members come in
three groups:

- :data:`SCALAR` members work element-wise and are what kernels use. Every backend
  has them: on the array backends (NumPy, CuPy, JAX) they take arrays, on Numba they
  are compiled and take scalars.
- :data:`ARRAY` members build and reshape arrays (one-hot labels, stacking feature
  columns): the array backends only, since Numba runs a kernel one row at a time.
- :data:`COMPACTION` members serve the shuffle's cycle walking by compaction: NumPy
  and CuPy only (JAX walks in a device loop, Numba row by row).

Integer widths differ by backend on purpose, and :data:`WIDTHS` states them: JAX runs
in 32-bit mode, and Numba widens scalar arithmetic to int64 (the masks in the RNG keep
uint32 values exact in an int64). ``tests/core/test_backends.py`` checks that every
backend present provides its members with these widths.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    """One member of ``xp``: its name and what it means."""

    name: str
    semantics: str


SCALAR: tuple[Member, ...] = (
    Member("counter", "counter(i) -> (lo, hi): the two uint32 words of the int64 row index i"),
    Member("f32", "f32(x): x converted to float32"),
    Member("i32", "i32(x): x converted to a signed integer of the backend's label width (class labels)"),
    Member("u32", "u32(x): x as an unsigned 32-bit value (the backend's uint32 width)"),
    Member("index", "index(x): x converted to the backend's row-index width"),
    Member("float32", "float32(v): a float32 scalar constant"),
    Member("sqrt", "sqrt(x): float32 square root, correctly rounded"),
    Member("log", "log(x): float32 natural logarithm (within a few ulp)"),
    Member("cos", "cos(x): float32 cosine of x in [-pi, pi] (within a few ulp)"),
    Member("sin", "sin(x): float32 sine of x in [-pi, pi] (within a few ulp)"),
    Member("floor", "floor(x): float32 floor"),
    Member("minimum", "minimum(a, b): element-wise minimum"),
    Member("maximum", "maximum(a, b): element-wise maximum"),
    Member("mulhi", "mulhi(h, a): floor(h * a / 2**32) for uint32 h and 0 <= a < 2**31, as a row index"),
)
ARRAY: tuple[Member, ...] = (
    Member("stack", "stack(arrays, axis): arrays joined along a new axis"),
    Member("arange", "arange(n): 0 .. n-1 as integers"),
)
COMPACTION: tuple[Member, ...] = (
    Member("nonzero", "nonzero(mask): tuple of index arrays where mask is true (numpy.nonzero)"),
)

#: Which groups each backend provides.
GROUPS: dict[str, tuple[tuple[Member, ...], ...]] = {
    "numpy": (SCALAR, ARRAY, COMPACTION),
    "cupy": (SCALAR, ARRAY, COMPACTION),
    "jax": (SCALAR, ARRAY),
    "numba": (SCALAR,),
}

#: Backend -> integer helper -> the dtype name of its result (on a Numba scalar: the
#: NumPy scalar type Numba returns).
WIDTHS: dict[str, dict[str, str]] = {
    "numpy": {"i32": "int32", "u32": "uint32", "index": "int64", "counter": "uint32", "mulhi": "int64"},
    "cupy": {"i32": "int32", "u32": "uint32", "index": "int64", "counter": "uint32", "mulhi": "int64"},
    "jax": {"i32": "int32", "u32": "uint32", "index": "int32", "counter": "uint32", "mulhi": "int32"},
    "numba": {"i32": "int64", "u32": "int64", "index": "int64", "counter": "int64", "mulhi": "int64"},
}


def members(backend: str) -> tuple[Member, ...]:
    """Every member the backend called ``backend`` must provide."""
    return tuple(m for group in GROUPS[backend] for m in group)
