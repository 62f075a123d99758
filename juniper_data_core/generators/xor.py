"""XOR: four quadrant blocks of ``n`` points, Q1 and Q3 class 0, Q2 and Q4 class 1.

Version 2.0.0, row ``i`` in block ``q = i // n`` (Q1..Q4): ``|x| = m + (x_range - m) u0``,
``|y| = m + (y_range - m) u1`` with signs of the quadrant (u0, u1 from stream 0),
plus ``noise`` times a Box-Muller pair of stream 1.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from pydantic import Field, model_validator

from juniper_data_core.errors import FieldValueError
from juniper_data_core.generators.base import MAX_MAGNITUDE, V1, GeneratorSpec, Shape, SplitParams, compat_v1
from juniper_data_core.generators.kernel import Kernel
from juniper_data_core.rng import normal_pair, stream_key, threefry2x32, uniform


class XorParams(SplitParams):
    """Parameters of the XOR generator."""

    n_points_per_quadrant: int = Field(default=50, ge=1, description="Points in each quadrant")
    x_range: float = Field(default=1.0, gt=0.0, le=MAX_MAGNITUDE, description="Half-width of the x extent")
    y_range: float = Field(default=1.0, gt=0.0, le=MAX_MAGNITUDE, description="Half-height of the y extent")
    margin: float = Field(
        default=0.1, ge=0.0, le=MAX_MAGNITUDE, description="Gap kept clear around each axis"
    )
    noise: float = Field(default=0.0, ge=0.0, le=MAX_MAGNITUDE, description="Scale of the normal noise added")

    @model_validator(mode="after")
    def _margin_fits(self) -> XorParams:
        for name in ("x_range", "y_range"):
            if self.margin >= getattr(self, name):
                raise FieldValueError(
                    "margin",
                    f"margin ({self.margin}) must be < {name} ({getattr(self, name)}); "
                    f"lower margin or raise {name}",
                )
        return self


class XorConsts(NamedTuple):
    k0: np.uint32
    k1: np.uint32
    k2: np.uint32
    k3: np.uint32
    n: np.int64
    margin: np.float32
    x_span: np.float32
    y_span: np.float32
    noise: np.float32


def _label(xp: Any, i: Any, c: Any) -> Any:
    return xp.i32((i // c.n) % 2)


def _point(xp: Any, i: Any, c: Any) -> tuple[Any, Any]:
    q = i // c.n
    # Quadrant signs without branches: x < 0 in Q2, Q3; y < 0 in Q3, Q4.
    sx = xp.f32(1 - 2 * (((q + 1) // 2) % 2))
    sy = xp.f32(1 - 2 * (q // 2))
    lo, hi = xp.counter(i)
    a, b = threefry2x32(c.k0, c.k1, lo, hi)
    na, nb = threefry2x32(c.k2, c.k3, lo, hi)
    z0, z1 = normal_pair(xp, na, nb)
    x = sx * (c.margin + c.x_span * uniform(xp, a)) + c.noise * z0
    y = sy * (c.margin + c.y_span * uniform(xp, b)) + c.noise * z1
    return x, y


KERNEL = Kernel("xor", label=_label, point=_point)


def _build(p: XorParams) -> tuple[Kernel, XorConsts]:
    f32 = np.float32
    k0, k1 = stream_key(p.rng_seed, 0)
    k2, k3 = stream_key(p.rng_seed, 1)
    consts = XorConsts(
        np.uint32(k0),
        np.uint32(k1),
        np.uint32(k2),
        np.uint32(k3),
        np.int64(p.n_points_per_quadrant),
        f32(p.margin),
        f32(p.x_range - p.margin),
        f32(p.y_range - p.margin),
        f32(p.noise),
    )
    return KERNEL, consts


SPEC = GeneratorSpec(
    name="xor",
    description="XOR problem: four quadrant blocks, opposite quadrants share a class",
    params_model=XorParams,
    shape=lambda p: Shape(4 * p.n_points_per_quadrant, 2, 2),
    build=_build,
    sized=lambda p, n: {"n_points_per_quadrant": max(1, n // 4)},
    examples={
        "noisy": {"x_range": 2.0, "margin": 0.2, "noise": 0.05, "train_ratio": 0.7, "test_ratio": 0.25},
        # noise 0: every value is a uniform scaled and shifted, bit-identical on every backend.
        "uniform": {"margin": 0.05, "noise": 0.0},
        "unshuffled": {"noise": 0.1, "shuffle": False},
    },
    other_versions={V1: compat_v1("xor")},
)
