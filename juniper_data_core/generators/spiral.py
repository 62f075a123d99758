"""Interleaved spirals: ``n_spirals`` arms, class ``k`` is arm ``k``.

Version 2.0.0, row ``i``: arm ``a = i // n``, position ``k = i % n``,
``f = k / (n - 1)``. modern: ``r = radius f``, ``t = 2 pi n_rotations f + 2 pi a / S``
(taken modulo 2 pi into [-pi, pi) by whole turns before cos and sin, so that every
backend evaluates them where they are most accurate),
``x = r cos t + noise z0``, ``y = d r sin t + noise z1`` with ``(z0, z1)`` one
Box-Muller pair of stream 0 and ``d = -1`` mirroring the counter-clockwise spiral.
legacy_cascor: ``dist = radius sqrt(u0)``, ``t = dist + 2 pi a / S``,
``x = dist cos t + noise u1``, ``y = d dist sin t + noise u2`` (u0, u1 from stream 0,
u2 from stream 1). Then ``origin`` is added.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np
from pydantic import AliasChoices, Field

from juniper_data_core.generators.base import V1, GeneratorSpec, Shape, SplitParams, compat_v1
from juniper_data_core.generators.kernel import Kernel
from juniper_data_core.rng import normal_pair, stream_key, threefry2x32, uniform
from juniper_data_core.rng.conversions import TWO_PI


class SpiralParams(SplitParams):
    """Parameters of the spiral generator."""

    n_spirals: int = Field(default=2, ge=2, le=10, description="Number of arms (classes)")
    n_points_per_spiral: int = Field(
        default=97,
        ge=1,
        description="Points per arm (alias n_points); 1.0.0 caps it at 10..10000",
        validation_alias=AliasChoices("n_points_per_spiral", "n_points"),
    )
    n_rotations: float = Field(default=3.0, ge=0.5, le=10.0, description="Turns of each arm")
    noise: float = Field(
        default=0.25,
        ge=0.0,
        le=2.0,
        description="Noise scale (alias noise_level)",
        validation_alias=AliasChoices("noise", "noise_level"),
    )
    clockwise: bool = Field(default=True, description="Direction of the arms")
    seed: int | None = Field(default=42, ge=0, lt=2**63, description="Random seed; null draws one")
    algorithm: Literal["modern", "legacy_cascor"] = Field(
        default="modern",
        description=(
            "modern: linspace radius + normal noise; legacy_cascor: sqrt-uniform radius + uniform noise"
        ),
    )
    radius: float = Field(default=10.0, gt=0.0, le=100.0, description="Outer radius")
    origin: tuple[float, float] = Field(default=(0.0, 0.0), description="Centre (x, y)")


class SpiralConsts(NamedTuple):
    k0: np.uint32
    k1: np.uint32
    k2: np.uint32
    k3: np.uint32
    n: np.int64
    inv_span: np.float32
    rotations: np.float32
    arm_turn: np.float32
    radius: np.float32
    noise: np.float32
    mirror: np.float32
    ox: np.float32
    oy: np.float32


def _label(xp: Any, i: Any, c: Any) -> Any:
    return xp.i32(i // c.n)


def _modern(xp: Any, i: Any, c: Any) -> tuple[Any, Any]:
    f = xp.f32(i % c.n) * c.inv_span
    turns = c.rotations * f + xp.f32(i // c.n) * c.arm_turn
    t = xp.float32(TWO_PI) * (turns - xp.floor(turns + xp.float32(0.5)))
    r = c.radius * f
    lo, hi = xp.counter(i)
    a, b = threefry2x32(c.k0, c.k1, lo, hi)
    z0, z1 = normal_pair(xp, a, b)
    x = r * xp.cos(t) + c.noise * z0 + c.ox
    y = c.mirror * r * xp.sin(t) + c.noise * z1 + c.oy
    return x, y


def _legacy(xp: Any, i: Any, c: Any) -> tuple[Any, Any]:
    lo, hi = xp.counter(i)
    a, b = threefry2x32(c.k0, c.k1, lo, hi)
    u2, _ = threefry2x32(c.k2, c.k3, lo, hi)
    dist = c.radius * xp.sqrt(uniform(xp, a))
    t = dist + xp.f32(i // c.n) * xp.float32(TWO_PI) * c.arm_turn
    x = dist * xp.cos(t) + c.noise * uniform(xp, b) + c.ox
    y = c.mirror * dist * xp.sin(t) + c.noise * uniform(xp, u2) + c.oy
    return x, y


MODERN = Kernel("spiral-modern", label=_label, point=_modern)
LEGACY = Kernel("spiral-legacy", label=_label, point=_legacy)


def _shape(p: SpiralParams) -> Shape:
    return Shape(p.n_spirals * p.n_points_per_spiral, 2, p.n_spirals)


def _build(p: SpiralParams) -> tuple[Kernel, SpiralConsts]:
    n = p.n_points_per_spiral
    f32 = np.float32
    k0, k1 = stream_key(p.rng_seed, 0)
    k2, k3 = stream_key(p.rng_seed, 1)
    consts = SpiralConsts(
        np.uint32(k0),
        np.uint32(k1),
        np.uint32(k2),
        np.uint32(k3),
        np.int64(n),
        f32(1.0 / max(n - 1, 1)),
        f32(p.n_rotations),
        f32(1.0 / p.n_spirals),
        f32(p.radius),
        f32(p.noise),
        f32(1.0 if p.clockwise else -1.0),
        f32(p.origin[0]),
        f32(p.origin[1]),
    )
    return (MODERN if p.algorithm == "modern" else LEGACY), consts


SPEC = GeneratorSpec(
    name="spiral",
    description="Interleaved spiral arms, one class per arm (the two-spiral problem and its kin)",
    params_model=SpiralParams,
    shape=_shape,
    build=_build,
    sized=lambda p, n: {"n_points_per_spiral": max(1, n // p.get("n_spirals", 2))},
    examples={
        "mirrored": {
            "n_spirals": 3,
            "n_rotations": 2.5,
            "noise": 0.2,
            "clockwise": False,
            "origin": (1.0, -2.0),
        },
        "legacy": {"algorithm": "legacy_cascor", "radius": 5.0, "noise": 0.3},
    },
    other_versions={V1: compat_v1("spiral")},
    aliases={"n_points": "n_points_per_spiral", "noise_level": "noise"},
)
