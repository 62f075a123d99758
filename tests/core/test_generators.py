"""Properties of each generator's 2.0.0 output (NumPy backend), one per test."""

from __future__ import annotations

import math

import numpy as np
import pytest

import juniper_data_core as jd

EPS = 1e-5


def full(name: str, params: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(X_full, labels)`` of a dataset on the numpy backend."""
    arrays = jd.generate(name, params, backend="numpy").arrays
    return arrays["X_full"], arrays["y_full"].argmax(axis=1)


# --- class balance ---


def test_make_spiral_class_balance() -> None:
    _, y = full("spiral", {"n_spirals": 4, "n_points_per_spiral": 50, "seed": 1})
    np.testing.assert_array_equal(np.bincount(y), [50] * 4)
    np.testing.assert_array_equal(y, np.repeat(np.arange(4), 50))


def test_make_xor_class_balance() -> None:
    _, y = full("xor", {"n_points_per_quadrant": 30, "seed": 1})
    np.testing.assert_array_equal(y, np.repeat([0, 1, 0, 1], 30))


def test_make_gaussian_class_balance() -> None:
    _, y = full("gaussian", {"n_classes": 5, "n_samples_per_class": 17, "seed": 1})
    np.testing.assert_array_equal(y, np.repeat(np.arange(5), 17))


def test_make_circles_class_balance() -> None:
    _, y = full("circles", {"n_samples": 101, "inner_ratio": 0.3, "seed": 1})
    n_inner = int(101 * 0.3)
    np.testing.assert_array_equal(y, np.repeat([0, 1], [101 - n_inner, n_inner]))


def test_make_moon_class_balance() -> None:
    _, y = full("moon", {"n_samples": 201, "seed": 1})
    np.testing.assert_array_equal(y, np.repeat([0, 1], [100, 101]))


def test_make_checkerboard_class_balance() -> None:
    n = 20_000
    _, y = full("checkerboard", {"n_samples": n, "n_squares": 4, "seed": 1})
    assert abs(np.mean(y) - 0.5) < 5 * 0.5 / math.sqrt(n)


SYNTHETIC = sorted(name for name, info in jd.generator_catalog().items() if not info["from_source"])


def test_make_one_hot_labels() -> None:
    for name in SYNTHETIC:
        arrays = jd.generate(name, {"seed": 3}, backend="numpy").arrays
        for split in ("train", "test", "full"):
            y = arrays[f"y_{split}"]
            assert y.dtype == np.float32 and arrays[f"X_{split}"].dtype == np.float32
            assert set(np.unique(y)) <= {0.0, 1.0}
            np.testing.assert_array_equal(y.sum(axis=1), 1.0)


# --- spiral ---


@pytest.mark.parametrize("algorithm", ["modern", "legacy_cascor"])
def test_make_spiral_radius_bound(algorithm: str) -> None:
    origin = (2.0, -3.0)
    params = {"n_points_per_spiral": 500, "noise": 0.0, "radius": 7.0, "origin": origin, "seed": 5}
    X, _ = full("spiral", {**params, "algorithm": algorithm, "n_spirals": 3})
    dist = np.hypot(X[:, 0] - origin[0], X[:, 1] - origin[1])
    assert dist.max() <= 7.0 * (1 + EPS)
    assert dist.max() > 7.0 * 0.99


def test_make_spiral_arms_end_at_their_offsets() -> None:
    # modern, noise 0: arm a starts at the origin and ends at radius R, angle 2 pi (rot + a / S).
    S, n, rot, R = 3, 101, 2.25, 4.0
    params = {"n_spirals": S, "n_points_per_spiral": n, "n_rotations": rot, "radius": R, "noise": 0.0}
    X, _ = full("spiral", {**params, "seed": 1})
    for a in range(S):
        np.testing.assert_allclose(X[a * n], [0.0, 0.0], atol=EPS)
        angle = 2 * math.pi * (rot + a / S)
        np.testing.assert_allclose(X[a * n + n - 1], [R * math.cos(angle), R * math.sin(angle)], atol=EPS * R)


@pytest.mark.parametrize("algorithm", ["modern", "legacy_cascor"])
def test_make_spiral_counterclockwise_is_mirror_image(algorithm: str) -> None:
    params = {"n_spirals": 3, "n_points_per_spiral": 200, "noise": 0.0, "algorithm": algorithm, "seed": 9}
    cw, _ = full("spiral", {**params, "clockwise": True})
    ccw, _ = full("spiral", {**params, "clockwise": False})
    np.testing.assert_array_equal(ccw[:, 0], cw[:, 0])
    np.testing.assert_array_equal(ccw[:, 1], -cw[:, 1])


def test_make_spiral_noise_spread() -> None:
    base = {"n_points_per_spiral": 20_000, "seed": 4}
    clean, _ = full("spiral", {**base, "noise": 0.0})
    noisy, _ = full("spiral", {**base, "noise": 0.5})
    d = (noisy - clean).astype(np.float64)
    assert np.all(np.abs(d.mean(axis=0)) < 5 * 0.5 / math.sqrt(len(d)))
    np.testing.assert_allclose(d.std(axis=0), 0.5, rtol=0.02)


def test_make_spiral_rows_do_not_depend_on_split_or_shuffle() -> None:
    base = {"n_points_per_spiral": 150, "noise": 0.3, "seed": 8}
    X, _ = full("spiral", base)
    for extra in ({"train_ratio": 0.5}, {"shuffle": False}, {"train_ratio": 0.3, "test_ratio": 0.1}):
        np.testing.assert_array_equal(full("spiral", {**base, **extra})[0], X)


# --- xor ---


def test_make_xor_quadrant_signs_match_labels() -> None:
    params = {"n_points_per_quadrant": 400, "x_range": 2.0, "y_range": 0.5, "margin": 0.15, "seed": 2}
    X, y = full("xor", params)
    same_sign = np.sign(X[:, 0]) == np.sign(X[:, 1])
    np.testing.assert_array_equal(same_sign, y == 0)
    assert np.all(np.abs(X[:, 0]) >= np.float32(0.15)) and np.all(np.abs(X[:, 0]) <= 2.0)
    assert np.all(np.abs(X[:, 1]) >= np.float32(0.15)) and np.all(np.abs(X[:, 1]) <= 0.5)
    quadrants = np.sign(X).reshape(4, 400, 2)
    for q, signs in enumerate([(1, 1), (-1, 1), (-1, -1), (1, -1)]):
        assert np.all(quadrants[q] == signs), f"block {q} is not quadrant Q{q + 1}"


def test_make_xor_margin_spread_is_uniform() -> None:
    X, _ = full("xor", {"n_points_per_quadrant": 20_000, "margin": 0.2, "seed": 3})
    a = np.abs(X[:, 0]).astype(np.float64)
    # |x| is uniform on [margin, x_range]: mean 0.6, variance 0.8**2 / 12.
    assert abs(a.mean() - 0.6) < 5 * 0.8 / math.sqrt(12 * len(a))
    assert abs(a.var() - 0.8**2 / 12) < 0.002


# --- checkerboard ---


def test_make_checkerboard_labels_by_cell() -> None:
    k, (x0, x1), (y0, y1) = 5, (-1.0, 2.0), (0.0, 3.0)
    params = {"n_samples": 5000, "n_squares": k, "x_range": (x0, x1), "y_range": (y0, y1), "seed": 6}
    X, y = full("checkerboard", params)
    assert np.all((X[:, 0] >= x0) & (X[:, 0] <= x1) & (X[:, 1] >= y0) & (X[:, 1] <= y1))
    fx = (X[:, 0].astype(np.float64) - x0) / ((x1 - x0) / k)
    fy = (X[:, 1].astype(np.float64) - y0) / ((y1 - y0) / k)
    expected = (np.clip(np.floor(fx), 0, k - 1) + np.clip(np.floor(fy), 0, k - 1)) % 2
    # Only a point within rounding of a cell edge may be labelled by the other side.
    near_edge = (np.abs(fx - np.round(fx)) < 1e-5) | (np.abs(fy - np.round(fy)) < 1e-5)
    assert np.all((y == expected) | near_edge)
    assert np.mean(near_edge) < 0.01


def test_make_checkerboard_labels_ignore_noise() -> None:
    base = {"n_samples": 3000, "n_squares": 6, "seed": 7}
    clean, y_clean = full("checkerboard", {**base, "noise": 0.0})
    noisy, y_noisy = full("checkerboard", {**base, "noise": 0.05})
    np.testing.assert_array_equal(y_noisy, y_clean)
    np.testing.assert_allclose((noisy - clean).std(axis=0), 0.05, rtol=0.1)


# --- circles ---


def test_make_circles_radii() -> None:
    params = {"n_samples": 1000, "outer_radius": 2.0, "factor": 0.3, "noise": 0.0, "seed": 4}
    X, y = full("circles", params)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 2.0, atol=EPS)
    np.testing.assert_allclose(r[y == 1], 0.6, atol=EPS)


def test_make_circles_angles_cover_the_ring() -> None:
    X, _ = full("circles", {"n_samples": 20_000, "seed": 4})
    counts = np.histogram(np.arctan2(X[:, 1], X[:, 0]), bins=8, range=(-math.pi, math.pi))[0]
    assert np.all(np.abs(counts - 2500) < 5 * math.sqrt(2500))


# --- gaussian ---


def test_make_gaussian_means_and_spread() -> None:
    m, stds, noise = 20_000, [0.5, 1.0, 2.0], 0.3
    centers = [[1.0, -2.0], [-3.0, 0.5], [4.0, 4.0]]
    params = {"n_classes": 3, "n_samples_per_class": m, "class_std": stds, "centers": centers, "noise": noise}
    X, y = full("gaussian", {**params, "seed": 5})
    for k in range(3):
        block = X[y == k].astype(np.float64)
        spread = math.sqrt(stds[k] ** 2 + noise**2)
        np.testing.assert_allclose(block.mean(axis=0), centers[k], atol=5 * spread / math.sqrt(m))
        np.testing.assert_allclose(block.std(axis=0), spread, rtol=0.02)


def test_make_gaussian_default_centres() -> None:
    m, R = 20_000, 2.5
    params = {"n_classes": 4, "n_samples_per_class": m, "n_features": 3, "center_radius": R, "seed": 6}
    X, y = full("gaussian", params)
    for k in range(4):
        a = 2 * math.pi * k / 4
        mean = X[y == k].astype(np.float64).mean(axis=0)
        np.testing.assert_allclose(mean, [R * math.cos(a), R * math.sin(a), 0.0], atol=5 / math.sqrt(m))


def test_make_gaussian_short_std_list_reuses_first() -> None:
    m = 20_000
    X, y = full("gaussian", {"n_classes": 3, "n_samples_per_class": m, "class_std": [0.5], "seed": 2})
    for k in range(3):
        np.testing.assert_allclose(X[y == k].std(axis=0), 0.5, rtol=0.03)


def test_make_gaussian_centres_do_not_depend_on_n() -> None:
    # Nearly zero spread: every row sits on its centre.
    base = {"n_classes": 3, "n_features": 4, "class_std": 1e-6, "seed": 3}
    small, y_small = full("gaussian", {**base, "n_samples_per_class": 5})
    large, y_large = full("gaussian", {**base, "n_samples_per_class": 9})
    for k in range(3):
        np.testing.assert_allclose(small[y_small == k], large[y_large == k][:5], atol=EPS)
    # Rows of class 0 are the same rows, bit for bit.
    np.testing.assert_array_equal(small[:5], large[:5])


def test_make_gaussian_many_features() -> None:
    X, _ = full("gaussian", {"n_features": 7, "n_samples_per_class": 5000, "seed": 1})
    assert X.shape == (10_000, 7)
    corr = np.corrcoef(X[:5000].T.astype(np.float64))
    assert np.all(np.abs(corr - np.eye(7)) < 5 / math.sqrt(5000))


# --- moon ---


def test_make_moon_arcs() -> None:
    X, y = full("moon", {"n_samples": 301, "noise": 0.0, "seed": 1})
    upper, lower = X[y == 0].astype(np.float64), X[y == 1].astype(np.float64)
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=EPS)
    assert np.all(upper[:, 1] >= -EPS)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=EPS)
    assert np.all(lower[:, 1] <= 0.5 + EPS)
    np.testing.assert_allclose(upper[[0, -1]], [[1.0, 0.0], [-1.0, 0.0]], atol=EPS)
    np.testing.assert_allclose(lower[[0, -1]], [[0.0, 0.5], [2.0, 0.5]], atol=EPS)
    # t evenly spaced on [0, pi] within each arc.
    t = np.unwrap(np.arctan2(upper[:, 1], upper[:, 0]))
    np.testing.assert_allclose(np.diff(t), math.pi / 149, atol=EPS)


# --- rows depend on the seed and the row index only ---


@pytest.mark.parametrize(
    ("name", "size_key", "small", "large"),
    [
        ("checkerboard", "n_samples", 100, 333),
        ("circles", "n_samples", 200, 500),
        ("xor", "n_points_per_quadrant", 20, 50),
    ],
)
def test_make_rows_do_not_depend_on_n(name: str, size_key: str, small: int, large: int) -> None:
    a, _ = full(name, {size_key: small, "noise": 0.1, "seed": 12})
    b, _ = full(name, {size_key: large, "noise": 0.1, "seed": 12})
    np.testing.assert_array_equal(a[: small // 4], b[: small // 4])


# --- recipes and identity ---


def test_make_same_recipe_same_id_and_bits() -> None:
    params = {"n_points_per_quadrant": 40, "noise": 0.2, "seed": 99}
    a, b = jd.generate("xor", params), jd.generate("xor", dict(params))
    assert a.meta["dataset_id"] == b.meta["dataset_id"] == jd.recipe("xor", params).dataset_id
    for key, value in a.arrays.items():
        np.testing.assert_array_equal(b.arrays[key], value)


def test_make_different_seeds_differ() -> None:
    a = jd.generate("circles", {"noise": 0.1, "seed": 1})
    b = jd.generate("circles", {"noise": 0.1, "seed": 2})
    assert a.meta["dataset_id"] != b.meta["dataset_id"]
    assert not np.any(np.all(a.arrays["X_full"] == b.arrays["X_full"], axis=1))
    assert not np.array_equal(a.arrays["y_train"], b.arrays["y_train"])  # another shuffle


def test_make_seedless_recipe_draws_and_records_a_seed() -> None:
    first, second = jd.generate("xor", {"noise": 0.1}), jd.generate("xor", {"seed": None, "noise": 0.1})
    seed = first.meta["params"]["seed"]
    assert isinstance(seed, int) and 0 <= seed < 2**53
    assert first.meta["dataset_id"] != second.meta["dataset_id"]
    assert not np.array_equal(first.arrays["X_full"], second.arrays["X_full"])
    again = jd.generate("xor", {"seed": seed, "noise": 0.1})
    assert again.meta["dataset_id"] == first.meta["dataset_id"]
    np.testing.assert_array_equal(again.arrays["X_train"], first.arrays["X_train"])


def test_make_spiral_null_seed_draws_one() -> None:
    assert jd.recipe("spiral").params["seed"] == 42
    a, b = jd.recipe("spiral", {"seed": None}), jd.recipe("spiral", {"seed": None})
    assert a.params["seed"] != b.params["seed"] and a.dataset_id != b.dataset_id


def test_make_unknown_keys_listed_in_warnings() -> None:
    ds = jd.generate("spiral", {"seed": 1, "colour": "red", "n_arms": 3})
    assert any("colour" in w for w in ds.warnings) and any("n_arms" in w for w in ds.warnings)
    assert len(ds.warnings) == 2
    assert "colour" not in ds.meta["params"]
    assert ds.meta["dataset_id"] == jd.recipe("spiral", {"seed": 1}).dataset_id


def test_make_spiral_aliases_resolved() -> None:
    aliased = jd.recipe("spiral", {"n_points": 33, "noise_level": 0.4, "seed": 1})
    canonical = jd.recipe("spiral", {"n_points_per_spiral": 33, "noise": 0.4, "seed": 1})
    assert aliased.params["n_points_per_spiral"] == 33 and aliased.params["noise"] == 0.4
    assert "n_points" not in aliased.params and "noise_level" not in aliased.params
    assert aliased.dataset_id == canonical.dataset_id
    assert aliased.warnings == ()


def test_make_alias_beside_its_target_is_ignored_with_warning() -> None:
    r = jd.recipe("spiral", {"n_points": 33, "n_points_per_spiral": 44, "seed": 1})
    assert r.params["n_points_per_spiral"] == 44
    assert any("n_points" in w for w in r.warnings)


@pytest.mark.parametrize(("train", "test"), [(0.8, 0.2), (0.7, 0.3), (0.9, 0.1), (1.0, 0.0)])
def test_make_train_ratio_alone_sets_test_ratio(train: float, test: float) -> None:
    params = jd.recipe("spiral", {"train_ratio": train, "seed": 1}).params
    assert params["test_ratio"] == test


@pytest.mark.parametrize(
    ("n", "train", "test", "sizes"),
    [(10, 0.25, 0.75, (2, 8)), (7, 0.5, 0.5, (4, 3)), (10, 0.45, 0.55, (4, 6)), (9, 0.5, 0.3, (4, 3))],
)
def test_make_split_sizes_round_half_even_and_cap(n: int, train: float, test: float, sizes: tuple) -> None:
    params = {"n_samples": n, "train_ratio": train, "test_ratio": test, "seed": 1}
    r = jd.recipe("checkerboard", params)
    assert (r.n_rows("train"), r.n_rows("test")) == sizes
    ds = jd.generate(r)
    assert (len(ds.arrays["X_train"]), len(ds.arrays["X_test"])) == sizes
    assert (ds.meta["n_train"], ds.meta["n_test"]) == sizes


@pytest.mark.parametrize("name", SYNTHETIC)
def test_make_meta_consistent(name: str) -> None:
    ds = jd.generate(name, {"seed": 4, "train_ratio": 0.6, "test_ratio": 0.3})
    meta, arrays = ds.meta, ds.arrays
    for key in ("dataset_id", "generator", "generator_version", "params", "backend", "n_samples"):
        assert key in meta
    assert meta["generator"] == name and meta["generator_version"] == "2.0.0"
    assert meta["dataset_id"].startswith(f"{name}-2.0.0-") and len(meta["dataset_id"].split("-")[-1]) == 16
    assert meta["params"] == ds.recipe.params and meta["params"]["seed"] == 4
    assert meta["n_samples"] == meta["n_train"] + meta["n_test"]
    assert (meta["n_train"], meta["n_test"]) == (len(arrays["X_train"]), len(arrays["X_test"]))
    n_full = len(arrays["X_full"])
    assert sum(meta["class_distribution"].values()) == n_full
    assert list(meta["class_distribution"]) == [str(k) for k in range(meta["n_classes"])]
    assert arrays["X_full"].shape == (n_full, meta["n_features"])
    assert arrays["y_full"].shape == (n_full, meta["n_classes"])
    counts = np.bincount(arrays["y_full"].argmax(axis=1), minlength=meta["n_classes"])
    assert [meta["class_distribution"][str(k)] for k in range(meta["n_classes"])] == counts.tolist()
