"""float32 ``sin``, ``cos`` and ``log`` for the Numba backend, written so that LLVM vectorises them.

Numba from pip has no vector math library, so ``np.sin`` on a scalar is a call to
libm, and one call in a loop body stops LLVM vectorising the whole row loop (the
Threefry rounds included): measured on the 2-core machine, the spiral's row loop went
from about 30 to about 10 ns/row once every call in it was inlinable arithmetic.

Each function evaluates in float64 and rounds once to float32, so the results are
the correctly rounded float32 values except within about 1e-9 relative of a rounding
boundary: they agree with NumPy's float32 functions to the ulp bound the backend
contract tests assert (docs/reproducibility.md). Arguments are finite, as every
generator's are (params are validated finite); ``log`` expects a positive normal
number (Box-Muller's open uniform).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import types
from numba.extending import intrinsic

_INV_PIO2 = 0.6366197723675814
# pi/2 as a double plus the double nearest the remainder (Cody-Waite), so that the
# reduced argument stays accurate for the arguments the generators produce (|x| < 1e6).
_PIO2_HI = 1.5707963267948966
_PIO2_LO = 6.123233995736766e-17
# Mantissas are brought into [sqrt(1/2), sqrt(2)) by subtracting the bits of sqrt(1/2).
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD
_LN2 = 0.6931471805599453


def _bitcast(source: Any, target: Any, name: str) -> Any:
    """A Numba intrinsic reinterpreting the bits of a ``source`` scalar as ``target``."""

    def typer(typingctx: Any, x: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.bitcast(args[0], context.get_value_type(target))

        return target(source), codegen

    # Numba names an intrinsic's template after its function: one name per cast.
    typer.__name__ = typer.__qualname__ = name
    return intrinsic(typer)


_f64_bits = _bitcast(types.float64, types.int64, "_f64_bits")
_bits_f64 = _bitcast(types.int64, types.float64, "_bits_f64")


def _quadrant(x: Any) -> tuple[Any, Any, Any]:
    # (sin r, cos r, q) with x = r + q pi/2, |r| <= pi/4. Taylor terms up to r**9 and
    # r**10: the first dropped term is below 2e-9, under a float32 half-ulp.
    d = np.float64(x)
    k = np.floor(d * _INV_PIO2 + 0.5)
    r = d - k * _PIO2_HI - k * _PIO2_LO
    r2 = r * r
    s = r + r * r2 * (-1 / 6 + r2 * (1 / 120 + r2 * (-1 / 5040 + r2 * (1 / 362880))))
    c = 1.0 - 0.5 * r2 + r2 * r2 * (1 / 24 + r2 * (-1 / 720 + r2 * (1 / 40320 + r2 * (-1 / 3628800))))
    # int32, not int64: AVX2 has no packed double-to-int64 conversion.
    return s, c, np.int32(k)


def sin(x: Any) -> Any:
    """float32 sine of a float32."""
    s, c, q = _quadrant(x)
    v = c if (q & 1) != 0 else s
    return np.float32(v * (1.0 - 2.0 * ((q >> 1) & 1)))


def cos(x: Any) -> Any:
    """float32 cosine of a float32."""
    s, c, q = _quadrant(x)
    v = s if (q & 1) != 0 else c
    return np.float32(v * (1.0 - 2.0 * (((q + 1) >> 1) & 1)))


def log(x: Any) -> Any:
    """float32 natural logarithm of a positive normal float32."""
    bits = _f64_bits(np.float64(x))
    k = (bits - _SQRT_HALF_BITS) >> 52
    m = _bits_f64(bits - (k << 52))
    # log m = 2 atanh(s), |s| <= 0.172: terms up to s**9 leave a relative error < 3e-9.
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    atanh = s * (1.0 + s2 * (1 / 3 + s2 * (1 / 5 + s2 * (1 / 7 + s2 * (1 / 9)))))
    return np.float32(np.float64(np.int32(k)) * _LN2 + 2.0 * atanh)
