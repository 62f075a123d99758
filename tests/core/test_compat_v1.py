"""Tests for the frozen 1.0.0 generators: the earlier answers, then properties."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import juniper_data_core as jd
from juniper_data_core.compat import (
    V1_ALIASES,
    V1_DEFAULTS,
    V1_GENERATORS,
    check_v1_params,
    generate_v1,
)

ARRAY_NAMES = ("X_train", "y_train", "X_test", "y_test", "X_full", "y_full")


def _vectors_path() -> Path:
    """Find the repo's copy of the reference vectors, else the shared original."""
    copy = Path(__file__).resolve().parents[1] / "data" / "v1_vectors.json"
    if copy.exists():
        return copy
    return Path(__file__).resolve().parents[3] / "shared" / "reference" / "v1_vectors.json"


CASES: list[dict[str, Any]] = json.loads(_vectors_path().read_text())["cases"]
CASE_IDS = [f"{c['generator']}-{i}" for i, c in enumerate(CASES)]


def _canonical(generator: str, params_in: dict[str, Any]) -> dict[str, Any]:
    """Canonicalise like the earlier ``params.model_dump()``.

    Defaults filled, aliases resolved, float fields as floats.
    """
    params = dict(V1_DEFAULTS[generator])
    for key, value in params_in.items():
        field = V1_ALIASES.get(generator, {}).get(key, key)
        if isinstance(params[field], float) and not isinstance(value, bool):
            value = float(value)
        params[field] = value
    return params


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def _labels(y: np.ndarray) -> np.ndarray:
    return np.asarray(y.argmax(axis=1))


def _gen(generator: str, **params: Any) -> dict[str, np.ndarray]:
    return generate_v1(generator, _canonical(generator, {"seed": 0, **params}))


# Known answers from the earlier service.


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_vectors_arrays_are_bit_identical(case: dict[str, Any]) -> None:
    out = generate_v1(case["generator"], _canonical(case["generator"], case["params_in"]))
    assert sorted(out) == sorted(ARRAY_NAMES)
    for name, expected in case["arrays"].items():
        assert list(out[name].shape) == expected["shape"], name
        assert str(out[name].dtype) == expected["dtype"], name
        assert _digest(out[name]) == expected["sha256"], name


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_vectors_first_rows(case: dict[str, Any]) -> None:
    out = generate_v1(case["generator"], _canonical(case["generator"], case["params_in"]))
    np.testing.assert_array_equal(out["X_full"][:2], np.array(case["X_full_first2"], dtype=np.float32))
    np.testing.assert_array_equal(out["X_train"][:2], np.array(case["X_train_first2"], dtype=np.float32))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_vectors_dataset_id(case: dict[str, Any]) -> None:
    # Through the product (the recipe's canonical form and digest), not a copy of them here.
    recipe = jd.recipe(case["generator"], case["params_in"], version="1.0.0")
    assert recipe.dataset_id == case["dataset_id"]
    assert recipe.params == _canonical(case["generator"], case["params_in"])


def test_vectors_cover_every_v1_generator() -> None:
    assert {c["generator"] for c in CASES} == set(V1_GENERATORS) == set(V1_DEFAULTS)


# Properties.


def test_spiral_class_counts() -> None:
    out = _gen("spiral", n_spirals=3, n_points_per_spiral=40)
    assert np.bincount(_labels(out["y_full"])).tolist() == [40, 40, 40]
    assert out["y_full"].sum(axis=1).tolist() == [1.0] * 120


def test_spiral_blocks_in_generation_order() -> None:
    y = _gen("spiral", n_spirals=3, n_points_per_spiral=20)["y_full"]
    assert _labels(y).tolist() == [0] * 20 + [1] * 20 + [2] * 20


def test_spiral_legacy_cascor_differs_from_modern() -> None:
    legacy = _gen("spiral", algorithm="legacy_cascor")["X_full"]
    modern = _gen("spiral", algorithm="modern")["X_full"]
    assert legacy.shape == modern.shape == (194, 2)
    assert np.isfinite(legacy).all()
    assert not np.allclose(legacy, modern)
    # legacy radii are sqrt(U) * radius plus at most noise in each coordinate
    assert np.hypot(legacy[:, 0], legacy[:, 1]).max() <= 10.0 + 0.25 * np.sqrt(2)


def test_spiral_counterclockwise_is_half_turn_in_modern() -> None:
    cw = _gen("spiral", noise=0.0, clockwise=True)["X_full"]
    ccw = _gen("spiral", noise=0.0, clockwise=False)["X_full"]
    np.testing.assert_array_equal(ccw, -cw)


def test_spiral_counterclockwise_is_mirror_in_legacy_cascor() -> None:
    cw = _gen("spiral", algorithm="legacy_cascor", noise=0.0, clockwise=True)["X_full"]
    ccw = _gen("spiral", algorithm="legacy_cascor", noise=0.0, clockwise=False)["X_full"]
    np.testing.assert_array_equal(ccw[:, 0], cw[:, 0])
    np.testing.assert_array_equal(ccw[:, 1], -cw[:, 1])


def test_spiral_origin_shifts_points() -> None:
    base = _gen("spiral", noise=0.0)["X_full"]
    moved = _gen("spiral", noise=0.0, origin=[2.0, -1.0])["X_full"]
    np.testing.assert_allclose(moved - base, np.broadcast_to([2.0, -1.0], base.shape), atol=1e-5)


def test_xor_class_counts() -> None:
    y = _gen("xor", n_points_per_quadrant=30)["y_full"]
    assert np.bincount(_labels(y)).tolist() == [60, 60]


def test_xor_quadrant_signs_match_labels() -> None:
    out = _gen("xor", n_points_per_quadrant=100, margin=0.2)
    X, labels = out["X_full"], _labels(out["y_full"])
    assert (np.abs(X) >= np.float32(0.2)).all()
    np.testing.assert_array_equal(labels, (X[:, 0] * X[:, 1] < 0).astype(int))


def test_xor_quadrant_blocks_in_order() -> None:
    X = _gen("xor", n_points_per_quadrant=25)["X_full"]
    signs = [tuple(np.sign(X[q * 25 : (q + 1) * 25]).mean(axis=0)) for q in range(4)]
    assert signs == [(1.0, 1.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0)]


def test_gaussian_class_counts() -> None:
    y = _gen("gaussian", n_classes=4, n_samples_per_class=25)["y_full"]
    assert np.bincount(_labels(y)).tolist() == [25, 25, 25, 25]


def test_gaussian_class_means_near_centres() -> None:
    out = _gen("gaussian", n_classes=3, n_samples_per_class=4000, class_std=0.5)
    X, labels = out["X_full"], _labels(out["y_full"])
    angles = np.linspace(0, 2 * np.pi, 3, endpoint=False)
    centres = np.column_stack([3.0 * np.cos(angles), 3.0 * np.sin(angles)])
    means = np.array([X[labels == k].mean(axis=0) for k in range(3)])
    np.testing.assert_allclose(means, centres, atol=0.05)


def test_gaussian_explicit_centres_shape_checked() -> None:
    with pytest.raises(ValueError, match="centers"):
        _gen("gaussian", centers=[[0.0, 0.0]])


def test_circles_class_counts_truncate_inner() -> None:
    y = _gen("circles", n_samples=11, inner_ratio=0.5)["y_full"]
    assert _labels(y).tolist() == [0] * 6 + [1] * 5


def test_circles_radii_without_noise() -> None:
    out = _gen("circles", n_samples=200, outer_radius=2.0, factor=0.25)
    radii, labels = (
        np.hypot(out["X_full"][:, 0], out["X_full"][:, 1]),
        _labels(out["y_full"]),
    )
    np.testing.assert_allclose(radii[labels == 0], 2.0, rtol=1e-6)
    np.testing.assert_allclose(radii[labels == 1], 0.5, rtol=1e-6)


def test_checkerboard_labels_by_cell() -> None:
    out = _gen(
        "checkerboard",
        n_samples=2000,
        n_squares=5,
        x_range=[-1.0, 4.0],
        y_range=[0.0, 10.0],
    )
    X = out["X_full"].astype(np.float64)
    ix = np.clip(np.floor((X[:, 0] + 1.0) / 1.0), 0, 4)
    iy = np.clip(np.floor(X[:, 1] / 2.0), 0, 4)
    # float32 rounding may move a point that lies within an ulp of a cell edge
    inside = (np.abs(X[:, 0] + 1.0 - np.round(X[:, 0] + 1.0)) > 1e-5) & (
        np.abs(X[:, 1] / 2 - np.round(X[:, 1] / 2)) > 1e-5
    )
    np.testing.assert_array_equal(_labels(out["y_full"])[inside], ((ix + iy) % 2)[inside].astype(int))


def test_checkerboard_labels_ignore_noise() -> None:
    clean = _gen("checkerboard", noise=0.0)
    noisy = _gen("checkerboard", noise=0.3)
    np.testing.assert_array_equal(noisy["y_full"], clean["y_full"])
    assert not np.allclose(noisy["X_full"], clean["X_full"])


def test_split_without_shuffle_keeps_generation_order() -> None:
    out = _gen("xor", shuffle=False)
    np.testing.assert_array_equal(out["X_train"], out["X_full"][:160])
    np.testing.assert_array_equal(out["y_test"], out["y_full"][160:])


def test_split_shuffle_is_separate_permutation_of_seed() -> None:
    out = _gen("circles", seed=7)
    order = np.random.default_rng(7).permutation(100)
    np.testing.assert_array_equal(out["X_train"], out["X_full"][order[:80]])
    np.testing.assert_array_equal(out["X_test"], out["X_full"][order[80:]])


def test_split_sizes_round_half_to_even() -> None:
    out = _gen("circles", n_samples=10, train_ratio=0.25, test_ratio=0.75)
    assert (len(out["X_train"]), len(out["X_test"])) == (2, 8)


def test_split_caps_test_rows_when_rounding_overflows() -> None:
    out = _gen("checkerboard", n_samples=7, train_ratio=0.5, test_ratio=0.5)
    assert (len(out["X_train"]), len(out["X_test"])) == (4, 3)


def test_split_rejects_ratios_above_one() -> None:
    with pytest.raises(ValueError, match="train_ratio \\+ test_ratio"):
        _gen("xor", train_ratio=0.9, test_ratio=0.2)


@pytest.mark.parametrize("generator", V1_GENERATORS)
def test_generate_v1_outputs_float32_2d_contiguous(generator: str) -> None:
    out = _gen(generator)
    assert {name: (a.dtype.name, a.ndim, a.flags.c_contiguous) for name, a in out.items()} == {
        name: ("float32", 2, True) for name in ARRAY_NAMES
    }


def test_generate_v1_requires_a_seed() -> None:
    with pytest.raises(ValueError, match="seed"):
        generate_v1("xor", V1_DEFAULTS["xor"])


def test_check_v1_params_names_field_and_lower_bound() -> None:
    with pytest.raises(ValueError, match="n_points_per_spiral must be between 10 and 10000"):
        check_v1_params("spiral", _canonical("spiral", {"n_points": 9}))


def test_check_v1_params_names_field_and_upper_bound() -> None:
    with pytest.raises(ValueError, match="n_points_per_spiral must be between 10 and 10000"):
        _gen("spiral", n_points_per_spiral=10_001)


def test_check_v1_params_caps_radius() -> None:
    with pytest.raises(ValueError, match="radius must be at most 100"):
        check_v1_params("spiral", _canonical("spiral", {"radius": 100.5}))


def test_check_v1_params_rejects_unknown_generator() -> None:
    with pytest.raises(ValueError, match="moon"):
        check_v1_params("moon", {})


def test_generate_v1_without_caps_goes_past_them() -> None:
    params = _canonical("spiral", {"n_points_per_spiral": 10_001})
    out = generate_v1("spiral", params, enforce_caps=False)
    assert out["X_full"].shape == (20_002, 2)
