"""The one conversion from random bits to float32, and the one way to make normals.

- ``uniform(b) = (b >> 8) * 2**-24``: the top 24 bits of a uint32 word, exactly
  representable, so uniforms are bit-identical on every backend; range [0, 1 - 2**-24].
- ``uniform_open(b) = ((b >> 9) + 0.5) * 2**-23``: the top 23 bits plus a half step,
  exact in float32 (24 significant bits), range [2**-24, 1 - 2**-24], for logs.
- ``normal_pair(a, b)``: Box-Muller in float32,
  ``rho = sqrt(-2 log uniform_open(a))``, ``theta = 2 pi (uniform(b) - 1/2)``
  (an angle in [-pi, pi), where every backend's cos and sin are most accurate),
  returning ``(rho cos theta, rho sin theta)``. Its values pass through log, sqrt,
  cos and sin, so they agree across backends to a few ulp, not bit for bit
  (docs/reproducibility.md gives the bound the tests assert).
"""

from __future__ import annotations

import math
from typing import Any

TWO_NEG24 = 2.0**-24
TWO_NEG23 = 2.0**-23
TWO_PI = 2.0 * math.pi


def uniform(xp: Any, bits: Any) -> Any:
    """float32 uniform in [0, 1) from uint32 ``bits`` (exact; top 24 bits)."""
    return xp.f32(bits >> 8) * xp.float32(TWO_NEG24)


def uniform_open(xp: Any, bits: Any) -> Any:
    """float32 uniform in (0, 1) from uint32 ``bits``: never 0 nor 1, safe under log."""
    # 23 bits, not 24: (m + 0.5) must fit float32's 24-bit significand to stay exact.
    return (xp.f32(bits >> 9) + xp.float32(0.5)) * xp.float32(TWO_NEG23)


def normal_pair(xp: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """Two independent float32 standard normals from two uint32 words (Box-Muller)."""
    rho = xp.sqrt(xp.float32(-2.0) * xp.log(uniform_open(xp, a)))
    theta = xp.float32(TWO_PI) * (uniform(xp, b) - xp.float32(0.5))
    return rho * xp.cos(theta), rho * xp.sin(theta)
