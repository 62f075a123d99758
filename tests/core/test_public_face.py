"""The engine's public face: what the service and users call instead of its internals."""

from __future__ import annotations

import importlib
import io
import warnings

import numpy as np
import pytest

import juniper_data_core as jd
from juniper_data_core.formats import arrow_nbytes, iter_arrow, iter_npz, npz_nbytes, row_range


def test_generators_package_imports_beside_the_catalog() -> None:
    gaussian = importlib.import_module("juniper_data_core.generators.gaussian")
    assert gaussian.SPEC.name == "gaussian"
    import juniper_data_core.generators.spiral as spiral  # the form that failed when shadowed

    assert spiral.SPEC is jd.generators.REGISTRY["spiral"]


def test_old_generators_call_still_works_with_a_deprecation_warning() -> None:
    with pytest.warns(DeprecationWarning, match="generator_catalog"):
        old = jd.generators()
    assert old.keys() == jd.generator_catalog().keys()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jd.generator_catalog()


@pytest.mark.parametrize(
    ("name", "versions"),
    [("spiral", ["1.0.0", "2.0.0"]), ("checkerboard", ["1.0.0", "2.0.0"]), ("moon", ["2.0.0"])],
)
def test_a_generator_lists_the_versions_it_declares(name: str, versions: list[str]) -> None:
    assert jd.generator_catalog()[name]["versions"] == versions


def test_a_seedless_recipe_keeps_its_drawn_seed_in_the_typed_params() -> None:
    r = jd.recipe("xor", {"seed": None})
    assert r.model.seed == r.params["seed"] == r.seed  # type: ignore[attr-defined]
    assert isinstance(r.params["seed"], int)


def test_backend_for_a_v1_recipe_is_numpy_and_refuses_others() -> None:
    r = jd.recipe("spiral", {"seed": 1}, version="1.0.0")
    assert jd.backend_for(r) == jd.backend_for(r, "numpy") == "numpy"
    with pytest.raises(jd.BackendUnavailableError, match=r"1\.0\.0 runs on the numpy backend only"):
        jd.backend_for(r, "jax")


def test_backend_for_resolves_auto_by_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUNIPER_DATA_BACKEND", raising=False)
    r = jd.recipe("spiral", {"seed": 1})
    assert jd.backend_for(r) == "numpy"
    large = jd.backend_for(r, n_rows=10**9)
    assert large == ("numba" if "numba" in jd.available_backends() else "numpy")
    monkeypatch.setenv("JUNIPER_DATA_BACKEND", "numpy")
    assert jd.backend_for(r, n_rows=10**9) == "numpy"
    with pytest.raises(jd.BackendUnavailableError, match="abacus"):
        jd.backend_for(r, "abacus")


@pytest.mark.parametrize(
    ("name", "params", "version"),
    [
        ("gaussian", {"n_classes": 3, "n_samples_per_class": 7, "seed": 2}, "2.0.0"),
        ("checkerboard", {"n_samples": 501, "n_squares": 3, "seed": 4}, "2.0.0"),
        ("circles", {"n_samples": 99, "inner_ratio": 0.3, "seed": 5}, "1.0.0"),
        ("checkerboard", {"n_samples": 300, "seed": 6}, "1.0.0"),
    ],
)
def test_class_distribution_counts_the_labels_of_the_dataset(
    name: str, params: dict[str, object], version: str
) -> None:
    r = jd.recipe(name, params, version=version)
    y_full = jd.generate(r, backend="numpy").arrays["y_full"]
    counted = {str(k): int(v) for k, v in enumerate(y_full.sum(axis=0))}
    assert jd.class_distribution(r) == counted
    assert sum(counted.values()) == r.n_rows("full")


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"split": "train"}, {"split": "test", "offset": 5, "limit": 17}, {"split": "full", "offset": 200}],
)
@pytest.mark.parametrize("version", ["1.0.0", "2.0.0"])
def test_npz_nbytes_is_the_exact_size(kwargs: dict[str, object], version: str) -> None:
    r = jd.recipe(
        "gaussian", {"n_features": 5, "n_classes": 3, "n_samples_per_class": 70, "seed": 9}, version=version
    )
    data = b"".join(bytes(c) for c in iter_npz(r, **kwargs))  # type: ignore[arg-type]
    assert npz_nbytes(r, **kwargs) == len(data)  # type: ignore[arg-type]
    with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
        assert len(loaded.files) == (6 if not kwargs else 2)


@pytest.mark.parametrize("rows", [0, 1, 1000, 300_000])
def test_arrow_nbytes_bounds_the_stream_from_above_by_at_most_64_kib(rows: int) -> None:
    r = jd.recipe("moon", {"n_samples": max(rows, 2), "seed": 1})
    actual = sum(len(c) for c in iter_arrow(r, limit=rows, backend="numpy"))
    estimate = arrow_nbytes(r, limit=rows)
    assert actual <= estimate <= actual + (64 << 10)


def test_row_range_clips_to_the_split_and_refuses_offsets_past_it() -> None:
    r = jd.recipe("xor", {"n_points_per_quadrant": 25, "seed": 1})
    assert row_range(r, "train", 70, 50).n_rows == 10
    with pytest.raises(jd.ParamsError, match=r"offset must be in \[0, 80\]"):
        row_range(r, "train", 81)
    with pytest.raises(jd.ParamsError, match="split must be one of full, train, test"):
        row_range(r, "validation")
