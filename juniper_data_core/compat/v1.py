"""The frozen 1.0.0 generators: the earlier service's NumPy algorithms, bit for bit.

Version 1.0.0 of every generator replays the earlier JuniperData service (v0.4)
exactly: one sequential PCG64 stream, ``np.random.default_rng(seed)``, drawn in that
service's call order, the same float64 maths and the same casts to float32, then a
split that shuffles with a second, separate ``default_rng(seed).permutation(N)``.
Given the same canonical params, the six arrays are byte-identical to the earlier
service's (see ``shared/reference/v1_vectors.json`` and
``tests/core/test_compat_v1.py``).

This module must never change what it computes. Its quirks (``clockwise=False`` in
the modern spiral is a 180-degree turn, not a mirror; noise drawn after all the
points; the split's rounding) are part of the version. A fix is a new generator
version elsewhere, never an edit here.

Canonical params are the earlier service's ``params.model_dump()``: every field
present, defaults filled, aliases resolved (:data:`V1_DEFAULTS`, :data:`V1_ALIASES`).
The dataset ID hashes ``json.dumps({"generator", "version", "params"},
sort_keys=True, separators=(",", ":"))``, so float fields must stay floats and pairs
are JSON lists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from juniper_data_core.errors import FieldValueError

__all__ = [
    "V1_ALIASES",
    "V1_DEFAULTS",
    "V1_GENERATORS",
    "V1_VERSION",
    "check_v1_params",
    "generate_v1",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

V1_VERSION: Final = "1.0.0"

V1_GENERATORS: Final[tuple[str, ...]] = (
    "spiral",
    "xor",
    "gaussian",
    "circles",
    "checkerboard",
)

_SPLIT_DEFAULTS: Final[dict[str, Any]] = {
    "train_ratio": 0.8,
    "test_ratio": 0.2,
    "shuffle": True,
}

V1_DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    "spiral": {
        "n_spirals": 2,
        "n_points_per_spiral": 97,
        "n_rotations": 3.0,
        "noise": 0.25,
        "clockwise": True,
        "seed": 42,
        **_SPLIT_DEFAULTS,
        "algorithm": "modern",
        "radius": 10.0,
        "origin": [0.0, 0.0],
    },
    "xor": {
        "n_points_per_quadrant": 50,
        "x_range": 1.0,
        "y_range": 1.0,
        "margin": 0.1,
        "noise": 0.0,
        "seed": None,
        **_SPLIT_DEFAULTS,
    },
    "gaussian": {
        "n_classes": 2,
        "n_samples_per_class": 50,
        "n_features": 2,
        "class_std": 1.0,
        "centers": None,
        "center_radius": 3.0,
        "noise": 0.0,
        "seed": None,
        **_SPLIT_DEFAULTS,
    },
    "circles": {
        "n_samples": 100,
        "outer_radius": 1.0,
        "factor": 0.5,
        "noise": 0.0,
        "inner_ratio": 0.5,
        "seed": None,
        **_SPLIT_DEFAULTS,
    },
    "checkerboard": {
        "n_samples": 200,
        "n_squares": 4,
        "x_range": [0.0, 1.0],
        "y_range": [0.0, 1.0],
        "noise": 0.0,
        "seed": None,
        **_SPLIT_DEFAULTS,
    },
}
"""Generator -> complete 1.0.0 canonical params with the earlier service's defaults.

A ``None`` seed means "the caller draws one"; :func:`generate_v1` needs an int.
"""

V1_ALIASES: Final[dict[str, dict[str, str]]] = {
    "spiral": {"n_points": "n_points_per_spiral", "noise_level": "noise"},
}
"""Generator -> {alias: field} accepted by the earlier service."""

# Limits only the earlier service had (2.0.0 is bounded by the size budget instead):
# generator -> field -> (lowest allowed or None, highest allowed).
_V1_CAPS: Final[dict[str, dict[str, tuple[float | None, float]]]] = {
    "spiral": {"n_points_per_spiral": (10, 10_000), "radius": (None, 100.0)},
}

_Generate = Callable[[np.random.Generator, Mapping[str, Any]], tuple[F32, F32]]


def check_v1_params(generator: str, params: Mapping[str, Any]) -> None:
    """Reject params outside the limits that only the 1.0.0 versions had.

    Parameters
    ----------
    generator : str
        One of :data:`V1_GENERATORS`.
    params : Mapping[str, Any]
        Canonical params (see :data:`V1_DEFAULTS`).

    Raises
    ------
    ValueError
        If the generator has no 1.0.0 version, or a field is outside its 1.0.0
        cap; the message names the field and the bound. Spiral:
        ``10 <= n_points_per_spiral <= 10000`` and ``radius <= 100``.
    """
    _require_v1(generator)
    for field, (low, high) in _V1_CAPS.get(generator, {}).items():
        value = params[field]
        if low is not None and not low <= value <= high:
            bound = f"between {low:g} and {high:g}"
        elif value > high:
            bound = f"at most {high:g}"
        else:
            continue
        raise FieldValueError(
            field,
            f"{field} must be {bound} in {generator} {V1_VERSION}, got {value!r}"
            " (2.0.0 is bounded only by the size budget)",
        )


def generate_v1(generator: str, params: Mapping[str, Any], *, enforce_caps: bool = True) -> dict[str, F32]:
    """Generate a dataset with the frozen 1.0.0 algorithm of ``generator``.

    Parameters
    ----------
    generator : str
        One of :data:`V1_GENERATORS`.
    params : Mapping[str, Any]
        Canonical params: every field of :data:`V1_DEFAULTS` for that generator,
        aliases resolved, ``seed`` an int >= 0 (never ``None``: the caller draws one).
    enforce_caps : bool, default True
        Apply :func:`check_v1_params`. ``False`` lets benchmarks run 1.0.0 beyond
        the earlier service's caps (the numbers are still the 1.0.0 ones).

    Returns
    -------
    dict[str, numpy.ndarray]
        ``X_train, y_train, X_test, y_test, X_full, y_full``, float32, 2-D and
        C-contiguous: ``X_*`` of shape (rows, n_features), ``y_*`` one-hot of shape
        (rows, n_classes). ``X_full``/``y_full`` are in generation order (class
        blocks in sequence); train and test are in shuffled order.

    Raises
    ------
    ValueError
        Unknown generator, a cap exceeded, a missing seed or invalid split ratios.
    """
    _require_v1(generator)
    if enforce_caps:
        check_v1_params(generator, params)
    seed = params["seed"]
    if seed is None or isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an int >= 0 in {generator} 1.0.0, got {seed!r}")
    X, y = _GENERATE[generator](np.random.default_rng(int(seed)), params)
    split = _split(
        X,
        y,
        seed=int(seed),
        train_ratio=float(params["train_ratio"]),
        test_ratio=float(params["test_ratio"]),
        shuffle=bool(params["shuffle"]),
    )
    return {**split, "X_full": X, "y_full": y}


def _require_v1(generator: str) -> None:
    """Raise ``ValueError`` unless ``generator`` has a 1.0.0 version."""
    if generator not in V1_GENERATORS:
        names = ", ".join(V1_GENERATORS)
        raise ValueError(f"generator {generator!r} has no version 1.0.0 (has: {names})")


def _split(
    X: F32, y: F32, *, seed: int, train_ratio: float, test_ratio: float, shuffle: bool
) -> dict[str, F32]:
    """Shuffle with a second ``default_rng(seed)``, then cut off train, then test.

    ``n_train = round_half_even(N * train_ratio)`` and likewise ``n_test`` (NumPy's
    ``round`` in float64); only ``n_test`` is cut back when the two exceed ``N``.
    """
    if not (0.0 <= train_ratio <= 1.0 and 0.0 <= test_ratio <= 1.0):
        raise ValueError(
            f"train_ratio and test_ratio must be between 0 and 1, got {train_ratio} and {test_ratio}"
        )
    if train_ratio + test_ratio > 1.0:
        raise ValueError(f"train_ratio + test_ratio must be at most 1, got {train_ratio} + {test_ratio}")
    n = X.shape[0]
    if shuffle:
        order = np.random.default_rng(seed).permutation(n)
        X, y = X[order], y[order]
    n_train = int(np.round(n * train_ratio))
    n_test = int(np.round(n * test_ratio))
    if n_train + n_test > n:
        n_test = n - n_train
    end = n_train + n_test
    return {
        "X_train": X[:n_train],
        "y_train": y[:n_train],
        "X_test": X[n_train:end],
        "y_test": y[n_train:end],
    }


def _one_hot(labels: npt.NDArray[np.intp], n_classes: int) -> F32:
    """One-hot float32 rows of shape (len(labels), n_classes)."""
    y = np.zeros((labels.shape[0], n_classes), dtype=np.float32)
    y[np.arange(labels.shape[0]), labels] = 1.0
    return y


def _block_labels(n_classes: int, per_class: int) -> npt.NDArray[np.intp]:
    """Labels in class blocks: ``per_class`` zeros, then ones, and so on."""
    return np.repeat(np.arange(n_classes, dtype=np.intp), per_class)


def _spiral(rng: np.random.Generator, p: Mapping[str, Any]) -> tuple[F32, F32]:
    """Generate interleaved spiral arms, one block per arm.

    Arm i has offset ``2*pi*i/S``; ``d = +1`` if clockwise else ``-1``.
    ``modern``: ``x = d*r*cos(t) + N*noise``, ``y = d*r*sin(t) + N*noise``, with
    ``r``, ``t`` evenly spaced; n normals for x, then n for y.
    ``legacy_cascor``: ``dist = sqrt(U)*radius``, ``t = d*(dist + offset)``,
    ``x = cos(t)*dist + U*noise``, ``y = sin(t)*dist + U*noise`` (draws: dist, x
    noise, y noise). Float64, then ``+ origin`` and a cast to float32 per arm.
    With ``d = -1`` the modern arms turn by 180 degrees and the legacy arms mirror
    across the x axis.
    """
    n_arms, n = int(p["n_spirals"]), int(p["n_points_per_spiral"])
    noise, radius = float(p["noise"]), float(p["radius"])
    rotations = float(p["n_rotations"])
    ox, oy = (float(v) for v in p["origin"])
    d = 1 if p["clockwise"] else -1
    arms: list[F32] = []
    for i in range(n_arms):
        offset = 2 * np.pi * i / n_arms
        x: F64
        y: F64
        if p["algorithm"] == "legacy_cascor":
            dist = np.sqrt(rng.random(n)) * radius
            t = d * (dist + offset)
            x = np.cos(t) * dist + rng.random(n) * noise
            y = np.sin(t) * dist + rng.random(n) * noise
        elif p["algorithm"] == "modern":
            r = np.linspace(0, radius, n)
            t = np.linspace(0, 2 * np.pi * rotations, n) + offset
            x = d * r * np.cos(t) + rng.standard_normal(n) * noise
            y = d * r * np.sin(t) + rng.standard_normal(n) * noise
        else:
            raise ValueError(f"algorithm must be 'modern' or 'legacy_cascor', got {p['algorithm']!r}")
        arms.append(np.column_stack([x + ox, y + oy]).astype(np.float32))
    return np.vstack(arms), _one_hot(_block_labels(n_arms, n), n_arms)


def _xor(rng: np.random.Generator, p: Mapping[str, Any]) -> tuple[F32, F32]:
    """Generate quadrant blocks Q1, Q2, Q3, Q4 (classes 0, 1, 0, 1) off the axes.

    Each block draws n x-uniforms then n y-uniforms, ``margin`` away from the axes;
    noise (if > 0) is one ``standard_normal((4n, 2))`` drawn after all the blocks
    and added in float64 before the cast.
    """
    n = int(p["n_points_per_quadrant"])
    xr, yr, m = float(p["x_range"]), float(p["y_range"]), float(p["margin"])
    boxes = ((m, xr, m, yr), (-xr, -m, m, yr), (-xr, -m, -yr, -m), (m, xr, -yr, -m))
    X = np.vstack(
        [np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)]) for x0, x1, y0, y1 in boxes]
    )
    noise = float(p["noise"])
    if noise > 0:
        X += rng.standard_normal(X.shape) * noise
    labels = np.tile(np.array([0, 1], dtype=np.intp), 2).repeat(n)
    return X.astype(np.float32), _one_hot(labels, 2)


def _gaussian(rng: np.random.Generator, p: Mapping[str, Any]) -> tuple[F32, F32]:
    """Generate Gaussian blobs class by class: ``N((m, F)) * std_i + c_i``.

    Each class block is computed in float64 and stored into a float32 array. A
    ``class_std`` list shorter than ``n_classes`` reuses its first value. Noise
    (if > 0) is ``standard_normal((N, F))`` cast to float32, scaled and added in
    float32.
    """
    k, m, f = int(p["n_classes"]), int(p["n_samples_per_class"]), int(p["n_features"])
    centers = _gaussian_centers(k, f, p["centers"], float(p["center_radius"]))
    std = p["class_std"]
    stds = [float(s) for s in std] if isinstance(std, list | tuple) else [float(std)] * k
    X = np.zeros((k * m, f), dtype=np.float32)
    for i in range(k):
        class_std = stds[i] if i < len(stds) else stds[0]
        X[i * m : (i + 1) * m] = rng.standard_normal((m, f)) * class_std + centers[i]
    noise = float(p["noise"])
    if noise > 0:
        X += rng.standard_normal(X.shape).astype(np.float32) * noise
    return X, _one_hot(_block_labels(k, m), k)


def _gaussian_centers(k: int, f: int, given: Any, radius: float) -> F32:
    """Return the (k, f) float32 class centres: ``given``, else spaced on a circle.

    Default centre i is ``(R cos a_i, R sin a_i, 0, ...)`` with
    ``a = linspace(0, 2*pi, k, endpoint=False)``, computed in float64.
    """
    if given is not None:
        centers = np.array(given, dtype=np.float32)
        if centers.shape != (k, f):
            raise ValueError(
                f"centers must have shape (n_classes, n_features) = ({k}, {f}), got {centers.shape}"
            )
        return centers
    centers = np.zeros((k, f), dtype=np.float32)
    for i, angle in enumerate(np.linspace(0, 2 * np.pi, k, endpoint=False)):
        centers[i, 0] = radius * np.cos(angle)
        if f > 1:
            centers[i, 1] = radius * np.sin(angle)
    return centers


def _circles(rng: np.random.Generator, p: Mapping[str, Any]) -> tuple[F32, F32]:
    """Generate two concentric circles: outer (class 0) first, then inner (class 1).

    ``n_inner = int(n * inner_ratio)`` (truncated), at radius
    ``outer_radius * factor``; the outer angles are drawn first. Noise (if > 0) is
    one ``standard_normal((n, 2))`` added in float64 before the cast.
    """
    n, outer = int(p["n_samples"]), float(p["outer_radius"])
    n_inner = int(n * float(p["inner_ratio"]))
    n_outer = n - n_inner
    rings = []
    for radius, count in ((outer, n_outer), (outer * float(p["factor"]), n_inner)):
        angles = rng.uniform(0, 2 * np.pi, count)
        rings.append(np.column_stack([radius * np.cos(angles), radius * np.sin(angles)]))
    X = np.vstack(rings)
    noise = float(p["noise"])
    if noise > 0:
        X += rng.standard_normal(X.shape) * noise
    labels = np.repeat(np.array([0, 1], dtype=np.intp), [n_outer, n_inner])
    return X.astype(np.float32), _one_hot(labels, 2)


def _checkerboard(rng: np.random.Generator, p: Mapping[str, Any]) -> tuple[F32, F32]:
    """Generate uniform points on a k x k board, labelled by cell parity before noise.

    n x-uniforms, then n y-uniforms, then (if noise > 0) ``standard_normal((n, 2))``
    added in float64. Cell index per axis:
    ``clip(floor((v - min) / ((max - min) / k)), 0, k - 1)``, label ``(ix + iy) % 2``.
    """
    n, k, noise = int(p["n_samples"]), int(p["n_squares"]), float(p["noise"])
    x_min, x_max = (float(v) for v in p["x_range"])
    y_min, y_max = (float(v) for v in p["y_range"])
    x = rng.uniform(x_min, x_max, n)
    y = rng.uniform(y_min, y_max, n)
    X = np.column_stack([x, y])
    if noise > 0:
        X += rng.standard_normal(X.shape) * noise
    ix = np.floor((x - x_min) / ((x_max - x_min) / k)).astype(np.intp)
    iy = np.floor((y - y_min) / ((y_max - y_min) / k)).astype(np.intp)
    labels = (np.clip(ix, 0, k - 1) + np.clip(iy, 0, k - 1)) % 2
    return X.astype(np.float32), _one_hot(labels, 2)


_GENERATE: Final[dict[str, _Generate]] = {
    "spiral": _spiral,
    "xor": _xor,
    "gaussian": _gaussian,
    "circles": _circles,
    "checkerboard": _checkerboard,
}
