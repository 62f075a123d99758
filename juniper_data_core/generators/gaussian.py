"""Gaussian blobs: ``n_classes`` blocks of ``n_samples_per_class`` rows around centres.

Version 2.0.0, row ``i`` of class ``k = i // m``, feature ``j``:
``X = std_k z + centre_kj (+ noise z')``, where ``z`` is element ``j % 2`` of the
Box-Muller pair of stream ``j // 2`` and ``z'`` the same of stream ``1024 + j // 2``.
Default centres are ``R (cos a_k, sin a_k, 0, ...)``, ``a = 2 pi k / n_classes``:
they depend on the parameters alone, never on the seed or the number of rows.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from juniper_data_core.errors import FieldValueError
from juniper_data_core.generators.base import MAX_MAGNITUDE, V1, GeneratorSpec, Shape, SplitParams, compat_v1
from juniper_data_core.generators.kernel import Kernel
from juniper_data_core.rng import normal_pair, stream_key, threefry2x32

MAX_FEATURES = 1024
_NOISE_STREAM = 1024


class GaussianParams(SplitParams):
    """Parameters of the gaussian-blobs generator."""

    n_classes: int = Field(default=2, ge=2, le=10, description="Number of blobs (classes)")
    n_samples_per_class: int = Field(default=50, ge=1, description="Rows in each blob")
    n_features: int = Field(default=2, ge=1, le=MAX_FEATURES, description="Dimensions")
    class_std: float | list[float] = Field(
        default=1.0, description="Standard deviation, one for all or one per class (> 0)"
    )
    centers: list[list[float]] | None = Field(
        default=None, description="n_classes x n_features centres; null places them on a circle"
    )
    center_radius: float = Field(
        default=3.0, ge=0.0, le=MAX_MAGNITUDE, description="Radius of the default centres"
    )
    noise: float = Field(default=0.0, ge=0.0, le=MAX_MAGNITUDE, description="Scale of extra normal noise")

    @model_validator(mode="after")
    def _shapes_agree(self) -> GaussianParams:
        stds = self.class_std if isinstance(self.class_std, list) else [self.class_std]
        if not stds:
            message = "class_std must be a number or a non-empty list; give e.g. 1.0"
            raise FieldValueError("class_std", message)
        if any(s <= 0 for s in stds):
            raise FieldValueError("class_std", f"class_std values must be > 0, got {stds}")
        if self.centers is not None:
            rows = len(self.centers)
            if rows != self.n_classes or any(len(r) != self.n_features for r in self.centers):
                raise FieldValueError(
                    "centers",
                    f"centers must be n_classes x n_features = {self.n_classes} x {self.n_features}, "
                    f"got {rows} rows of lengths {sorted({len(r) for r in self.centers})}",
                )
        return self


class GaussianConsts(NamedTuple):
    keys: npt.NDArray[np.uint32]  # (2 * streams, 2): base streams, then noise streams
    m: np.int64
    std: npt.NDArray[np.float32]
    centers: npt.NDArray[np.float32]
    noise: np.float32


def class_stds(p: GaussianParams) -> list[float]:
    """One standard deviation per class; a short list reuses its first value."""
    std = p.class_std
    values = std if isinstance(std, list) else [std]
    return [values[k] if k < len(values) else values[0] for k in range(p.n_classes)]


def default_centers(p: GaussianParams) -> npt.NDArray[np.float32]:
    """``R (cos a_k, sin a_k, 0, ...)``, float32, shape (n_classes, n_features)."""
    k, f = p.n_classes, p.n_features
    a = np.linspace(0, 2 * np.pi, k, endpoint=False)
    c = np.zeros((k, f), np.float32)
    c[:, 0] = p.center_radius * np.cos(a)
    if f > 1:
        c[:, 1] = p.center_radius * np.sin(a)
    return c


def _label(xp: Any, i: Any, c: Any) -> Any:
    return xp.i32(i // c.m)


def _feature(xp: Any, i: Any, j: int, c: Any) -> Any:
    k = i // c.m
    lo, hi = xp.counter(i)
    s = j // 2
    a, b = threefry2x32(c.keys[s, 0], c.keys[s, 1], lo, hi)
    z = normal_pair(xp, a, b)[j % 2]
    v = c.std[k] * z + c.centers[k, j]
    s2 = s + c.keys.shape[0] // 2
    a, b = threefry2x32(c.keys[s2, 0], c.keys[s2, 1], lo, hi)
    zn = normal_pair(xp, a, b)[j % 2]
    return v + c.noise * zn


KERNEL = Kernel("gaussian", label=_label, feature=_feature)


def _build(p: GaussianParams) -> tuple[Kernel, GaussianConsts]:
    streams = math.ceil(p.n_features / 2)
    ids = list(range(streams)) + [_NOISE_STREAM + s for s in range(streams)]
    keys = np.array([stream_key(p.rng_seed, s) for s in ids], np.uint32)
    centers = np.asarray(p.centers, np.float32) if p.centers is not None else default_centers(p)
    consts = GaussianConsts(
        keys,
        np.int64(p.n_samples_per_class),
        np.asarray(class_stds(p), np.float32),
        centers,
        np.float32(p.noise),
    )
    return KERNEL, consts


SPEC = GeneratorSpec(
    name="gaussian",
    description="Gaussian blobs, one per class, in any number of dimensions",
    params_model=GaussianParams,
    shape=lambda p: Shape(p.n_classes * p.n_samples_per_class, p.n_features, p.n_classes),
    build=_build,
    sized=lambda p, n: {"n_samples_per_class": max(1, n // p.get("n_classes", 2))},
    examples={
        "3-class": {"n_classes": 3, "n_features": 3, "class_std": [0.5, 1.0, 2.0], "noise": 0.1},
        "5-feature": {"n_classes": 4, "n_features": 5, "noise": 0.1},
    },
    other_versions={V1: compat_v1("gaussian")},
)
