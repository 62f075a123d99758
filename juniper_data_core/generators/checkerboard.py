"""Checkerboard: uniform points on a ``k x k`` board, labelled ``(ix + iy) % 2`` by cell.

Version 2.0.0, row ``i``: ``x = x0 + (x1 - x0) u0``, ``y = y0 + (y1 - y0) u1``
(stream 0); the label uses these coordinates, before ``noise`` times a Box-Muller
pair of stream 1 is added.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from pydantic import Field, model_validator

from juniper_data_core.errors import FieldValueError
from juniper_data_core.generators.base import MAX_MAGNITUDE, V1, GeneratorSpec, Shape, SplitParams, compat_v1
from juniper_data_core.generators.kernel import Kernel
from juniper_data_core.rng import normal_pair, stream_key, threefry2x32, uniform


class CheckerboardParams(SplitParams):
    """Parameters of the checkerboard generator."""

    n_samples: int = Field(default=200, ge=1, description="Rows in all")
    n_squares: int = Field(default=4, ge=2, le=16, description="Cells along each side")
    x_range: tuple[float, float] = Field(default=(0.0, 1.0), description="(min, max) of x")
    y_range: tuple[float, float] = Field(default=(0.0, 1.0), description="(min, max) of y")
    noise: float = Field(default=0.0, ge=0.0, le=MAX_MAGNITUDE, description="Scale of the normal noise added")

    @model_validator(mode="after")
    def _ranges_ordered(self) -> CheckerboardParams:
        for name in ("x_range", "y_range"):
            lo, hi = getattr(self, name)
            if not lo < hi:
                fix = f"give ({hi}, {lo})" if lo > hi else f"give a wider range, e.g. ({lo}, {lo + 1})"
                raise FieldValueError(name, f"{name} min ({lo}) must be < max ({hi}); {fix}")
        return self


class CheckerboardConsts(NamedTuple):
    k0: np.uint32
    k1: np.uint32
    k2: np.uint32
    k3: np.uint32
    squares: np.int64
    x0: np.float32
    x_span: np.float32
    x_cell: np.float32
    y0: np.float32
    y_span: np.float32
    y_cell: np.float32
    noise: np.float32


def _coords(xp: Any, i: Any, c: Any) -> tuple[Any, Any]:
    lo, hi = xp.counter(i)
    a, b = threefry2x32(c.k0, c.k1, lo, hi)
    return c.x0 + c.x_span * uniform(xp, a), c.y0 + c.y_span * uniform(xp, b)


def _cell(xp: Any, v: Any, v0: Any, cell: Any, k: Any) -> Any:
    return xp.minimum(xp.maximum(xp.i32(xp.floor((v - v0) / cell)), 0), k - 1)


def _label(xp: Any, i: Any, c: Any) -> Any:
    x, y = _coords(xp, i, c)
    return (_cell(xp, x, c.x0, c.x_cell, c.squares) + _cell(xp, y, c.y0, c.y_cell, c.squares)) % 2


def _point(xp: Any, i: Any, c: Any) -> tuple[Any, Any]:
    x, y = _coords(xp, i, c)
    lo, hi = xp.counter(i)
    na, nb = threefry2x32(c.k2, c.k3, lo, hi)
    z0, z1 = normal_pair(xp, na, nb)
    return x + c.noise * z0, y + c.noise * z1


KERNEL = Kernel("checkerboard", label=_label, point=_point)


def _build(p: CheckerboardParams) -> tuple[Kernel, CheckerboardConsts]:
    f32 = np.float32
    k = p.n_squares
    (x0, x1), (y0, y1) = p.x_range, p.y_range
    k0, k1 = stream_key(p.rng_seed, 0)
    k2, k3 = stream_key(p.rng_seed, 1)
    consts = CheckerboardConsts(
        np.uint32(k0),
        np.uint32(k1),
        np.uint32(k2),
        np.uint32(k3),
        np.int64(k),
        f32(x0),
        f32(x1 - x0),
        f32((x1 - x0) / k),
        f32(y0),
        f32(y1 - y0),
        f32((y1 - y0) / k),
        f32(p.noise),
    )
    return KERNEL, consts


SPEC = GeneratorSpec(
    name="checkerboard",
    description="Uniform points on a k x k board, class by the colour of the cell",
    params_model=CheckerboardParams,
    shape=lambda p: Shape(p.n_samples, 2, 2),
    build=_build,
    sized=lambda p, n: {"n_samples": max(1, n)},
    examples={
        "noisy": {"n_squares": 5, "x_range": (-1.0, 2.0), "y_range": (0.0, 3.0), "noise": 0.01},
        # noise 0: every value is a uniform scaled and shifted, bit-identical on every backend.
        "uniform": {"n_squares": 3, "x_range": (-2.0, 2.0), "noise": 0.0},
    },
    other_versions={V1: compat_v1("checkerboard")},
)
