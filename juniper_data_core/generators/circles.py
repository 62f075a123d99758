"""Concentric circles: the outer ring is class 0, the inner ring (radius
``outer_radius * factor``) class 1.

Version 2.0.0, row ``i``: the first ``n - int(n * inner_ratio)`` rows are outer;
angle ``2 pi u0`` (stream 0), plus ``noise`` times a Box-Muller pair of stream 1.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from pydantic import Field

from juniper_data_core.generators.base import MAX_MAGNITUDE, V1, GeneratorSpec, Shape, SplitParams, compat_v1
from juniper_data_core.generators.kernel import Kernel
from juniper_data_core.rng import normal_pair, stream_key, threefry2x32, uniform


class CirclesParams(SplitParams):
    """Parameters of the circles generator."""

    n_samples: int = Field(default=100, ge=2, description="Rows in all")
    outer_radius: float = Field(default=1.0, gt=0.0, le=MAX_MAGNITUDE, description="Radius of the outer ring")
    factor: float = Field(default=0.5, gt=0.0, lt=1.0, description="Inner radius / outer radius")
    noise: float = Field(default=0.0, ge=0.0, le=MAX_MAGNITUDE, description="Scale of the normal noise added")
    inner_ratio: float = Field(default=0.5, ge=0.0, le=1.0, description="Fraction of rows on the inner ring")


class CirclesConsts(NamedTuple):
    k0: np.uint32
    k1: np.uint32
    k2: np.uint32
    k3: np.uint32
    n_outer: np.int64
    outer: np.float32
    ring_gap: np.float32
    noise: np.float32


def _label(xp: Any, i: Any, c: Any) -> Any:
    return xp.i32(i >= c.n_outer)


def _point(xp: Any, i: Any, c: Any) -> tuple[Any, Any]:
    lo, hi = xp.counter(i)
    a, _ = threefry2x32(c.k0, c.k1, lo, hi)
    na, nb = threefry2x32(c.k2, c.k3, lo, hi)
    z0, z1 = normal_pair(xp, na, nb)
    r = c.outer - c.ring_gap * xp.f32(i >= c.n_outer)
    t = xp.float32(2.0 * math.pi) * uniform(xp, a)
    return r * xp.cos(t) + c.noise * z0, r * xp.sin(t) + c.noise * z1


KERNEL = Kernel("circles", label=_label, point=_point)


def _build(p: CirclesParams) -> tuple[Kernel, CirclesConsts]:
    n = p.n_samples
    k0, k1 = stream_key(p.rng_seed, 0)
    k2, k3 = stream_key(p.rng_seed, 1)
    outer = p.outer_radius
    consts = CirclesConsts(
        np.uint32(k0),
        np.uint32(k1),
        np.uint32(k2),
        np.uint32(k3),
        np.int64(n - int(n * p.inner_ratio)),
        np.float32(outer),
        np.float32(outer - outer * p.factor),
        np.float32(p.noise),
    )
    return KERNEL, consts


SPEC = GeneratorSpec(
    name="circles",
    description="Two concentric rings, outer class 0 and inner class 1",
    params_model=CirclesParams,
    shape=lambda p: Shape(p.n_samples, 2, 2),
    build=_build,
    sized=lambda p, n: {"n_samples": max(2, n)},
    examples={"noisy": {"factor": 0.3, "noise": 0.05, "inner_ratio": 0.4}},
    other_versions={V1: compat_v1("circles")},
)
