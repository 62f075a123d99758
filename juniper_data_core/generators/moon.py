"""Two interleaving half-moons (scikit-learn's make_moons, index-pure).

Version 2.0.0 only, row ``i``: the first ``n // 2`` rows are the upper arc
``(cos t, sin t)``, class 0, the rest the lower arc ``(1 - cos t, 0.5 - sin t)``,
class 1, ``t`` evenly spaced on ``[0, pi]`` within each arc; plus ``noise`` times a
Box-Muller pair of stream 0.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from pydantic import Field

from juniper_data_core.generators.base import MAX_MAGNITUDE, GeneratorSpec, Shape, SplitParams
from juniper_data_core.generators.kernel import Kernel
from juniper_data_core.rng import normal_pair, stream_key, threefry2x32


class MoonParams(SplitParams):
    """Parameters of the moon generator."""

    n_samples: int = Field(default=200, ge=2, description="Rows in all")
    noise: float = Field(default=0.1, ge=0.0, le=MAX_MAGNITUDE, description="Scale of the normal noise added")
    seed: int | None = Field(default=42, ge=0, lt=2**63, description="Random seed; null draws one")


class MoonConsts(NamedTuple):
    k0: np.uint32
    k1: np.uint32
    n_upper: np.int64
    upper_step: np.float32
    lower_step: np.float32
    noise: np.float32


def _label(xp: Any, i: Any, c: Any) -> Any:
    return xp.i32(i >= c.n_upper)


def _point(xp: Any, i: Any, c: Any) -> tuple[Any, Any]:
    lower = i >= c.n_upper
    lf = xp.f32(lower)
    # Position within the arc and its angle step, chosen without branches.
    k = xp.f32(i - c.n_upper * lower)
    t = k * (c.upper_step + (c.lower_step - c.upper_step) * lf)
    lo, hi = xp.counter(i)
    a, b = threefry2x32(c.k0, c.k1, lo, hi)
    z0, z1 = normal_pair(xp, a, b)
    sign = xp.float32(1.0) - xp.float32(2.0) * lf
    x = lf + sign * xp.cos(t) + c.noise * z0
    y = xp.float32(0.5) * lf + sign * xp.sin(t) + c.noise * z1
    return x, y


KERNEL = Kernel("moon", label=_label, point=_point)


def _step(points: int) -> float:
    return math.pi / (points - 1) if points > 1 else 0.0


def _build(p: MoonParams) -> tuple[Kernel, MoonConsts]:
    n = p.n_samples
    upper = n // 2
    k0, k1 = stream_key(p.rng_seed, 0)
    consts = MoonConsts(
        np.uint32(k0),
        np.uint32(k1),
        np.int64(upper),
        np.float32(_step(upper)),
        np.float32(_step(n - upper)),
        np.float32(p.noise),
    )
    return KERNEL, consts


SPEC = GeneratorSpec(
    name="moon",
    description="Two interleaving half-moons",
    params_model=MoonParams,
    shape=lambda p: Shape(p.n_samples, 2, 2),
    build=_build,
    sized=lambda p, n: {"n_samples": max(2, n)},
    examples={
        "noisy": {"noise": 0.05, "test_ratio": 0.15},
        "unshuffled": {"shuffle": False, "train_ratio": 0.6},
    },
)
