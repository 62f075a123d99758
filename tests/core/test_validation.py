"""Bad requests fail early with errors that name the field and the bound."""

from __future__ import annotations

import math

import pytest

import juniper_data_core as jd
from juniper_data_core.errors import BackendUnavailableError, ParamsError, UnknownGeneratorError

NAN, INF = math.nan, math.inf


def test_ratios_summing_above_one() -> None:
    with pytest.raises(ParamsError, match=r"train_ratio \(0\.9\) \+ test_ratio \(0\.2\).*<= 1"):
        jd.recipe("spiral", {"train_ratio": 0.9, "test_ratio": 0.2})


@pytest.mark.parametrize(("key", "value"), [("train_ratio", 1.5), ("test_ratio", -0.1)])
def test_ratio_outside_unit_interval(key: str, value: float) -> None:
    with pytest.raises(ParamsError, match=rf"{key}.*(less|greater) than or equal to [01]"):
        jd.recipe("xor", {"train_ratio": 0.5, "test_ratio": 0.5, key: value})


@pytest.mark.parametrize(
    ("params", "field"), [({"margin": 1.0}, "x_range"), ({"margin": 0.5, "y_range": 0.4}, "y_range")]
)
def test_make_xor_margin_not_below_range(params: dict, field: str) -> None:
    with pytest.raises(ParamsError, match=rf"margin \({params['margin']}\) must be < {field}"):
        jd.recipe("xor", params)


@pytest.mark.parametrize(("field", "bounds"), [("x_range", (1.0, 1.0)), ("y_range", (2.0, 1.0))])
def test_make_checkerboard_range_min_not_below_max(field: str, bounds: tuple) -> None:
    with pytest.raises(ParamsError, match=rf"{field} min \({bounds[0]}\) must be < max \({bounds[1]}\)"):
        jd.recipe("checkerboard", {field: bounds})


@pytest.mark.parametrize("name", ["spiral", "xor", "gaussian", "circles", "checkerboard", "moon"])
def test_negative_noise(name: str) -> None:
    with pytest.raises(ParamsError, match=r"noise.*greater than or equal to 0 \(got -0\.1\)"):
        jd.recipe(name, {"noise": -0.1})


def test_make_spiral_noise_level_alias_is_validated() -> None:
    with pytest.raises(ParamsError, match=r"noise.*less than or equal to 2"):
        jd.recipe("spiral", {"noise_level": 3.0})


def test_make_gaussian_empty_class_std() -> None:
    with pytest.raises(ParamsError, match="class_std must be a number or a non-empty list"):
        jd.recipe("gaussian", {"class_std": []})


@pytest.mark.parametrize("std", [0.0, -1.0, [1.0, 0.0], [0.5, -2.0]])
def test_make_gaussian_class_std_not_positive(std: float | list) -> None:
    with pytest.raises(ParamsError, match=r"class_std values must be > 0"):
        jd.recipe("gaussian", {"class_std": std})


@pytest.mark.parametrize(
    ("params", "shape"),
    [
        ({"n_classes": 3, "centers": [[0, 0], [1, 1]]}, "3 x 2"),
        ({"n_features": 3, "centers": [[0, 0], [1, 1]]}, "2 x 3"),
        ({"centers": [[0, 0], [1, 1, 1]]}, "2 x 2"),
    ],
)
def test_make_gaussian_centres_shape(params: dict, shape: str) -> None:
    with pytest.raises(ParamsError, match=rf"centers must be n_classes x n_features = {shape}"):
        jd.recipe("gaussian", params)


@pytest.mark.parametrize(
    ("value", "bound"), [(1, "greater than or equal to 2"), (11, "less than or equal to 10")]
)
def test_make_spiral_n_spirals_out_of_range(value: int, bound: str) -> None:
    with pytest.raises(ParamsError, match=rf"n_spirals: Input should be {bound} \(got {value}\)"):
        jd.recipe("spiral", {"n_spirals": value})


@pytest.mark.parametrize("name", ["spiral", "xor", "moon"])
@pytest.mark.parametrize("seed", [-1, 2**63])
def test_seed_out_of_range(name: str, seed: int) -> None:
    with pytest.raises(ParamsError, match=r"seed: Input should be (greater|less) than"):
        jd.recipe(name, {"seed": seed})


def test_seed_not_an_integer() -> None:
    with pytest.raises(ParamsError, match=r"seed.*integer"):
        jd.recipe("spiral", {"seed": 1.5})


def test_errors_list_names_fields() -> None:
    with pytest.raises(ParamsError) as info:
        jd.recipe("spiral", {"n_spirals": 1, "n_rotations": 11})
    assert {field for field, _ in info.value.errors} == {"n_spirals", "n_rotations"}


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("circles", {"noise": NAN}, "noise"),
        ("xor", {"margin": NAN}, "margin"),
        ("checkerboard", {"x_range": (0.0, NAN)}, "x_range"),
        pytest.param(
            "gaussian",
            {"class_std": NAN},
            "class_std",
        ),
        pytest.param(
            "gaussian",
            {"centers": [[0.0, NAN], [1.0, 1.0]]},
            "centers",
        ),
        pytest.param(
            "circles",
            {"noise": INF},
            "noise",
        ),
        pytest.param(
            "checkerboard",
            {"x_range": (0.0, INF)},
            "x_range",
        ),
        pytest.param(
            "spiral",
            {"origin": (INF, 0.0)},
            "origin",
        ),
    ],
)
def test_non_finite_float_params(name: str, params: dict, field: str) -> None:
    with pytest.raises(ParamsError, match=field):
        jd.recipe(name, params)


# --- generators and versions ---


def test_unknown_generator() -> None:
    with pytest.raises(UnknownGeneratorError, match=r"unknown generator 'spirals'; available: .*spiral"):
        jd.recipe("spirals")
    with pytest.raises(UnknownGeneratorError, match="spirals"):
        jd.generate("spirals")


def test_make_moon_has_no_version_1() -> None:
    with pytest.raises(UnknownGeneratorError, match=r"'moon' has no version '1\.0\.0'; versions: 2\.0\.0"):
        jd.generate("moon", {}, version="1.0.0")


def test_unknown_version() -> None:
    with pytest.raises(UnknownGeneratorError, match=r"no version '3\.0\.0'; versions: 1\.0\.0, 2\.0\.0"):
        jd.recipe("xor", version="3.0.0")


@pytest.mark.parametrize("backend", ["numba", "jax", "cupy"])
def test_version_1_is_numpy_only(backend: str) -> None:
    with pytest.raises(
        BackendUnavailableError, match=rf"1\.0\.0 runs on the numpy backend only, not '{backend}'"
    ):
        jd.generate("spiral", {"seed": 1}, version="1.0.0", backend=backend)
    with pytest.raises(BackendUnavailableError, match="numpy backend only"):
        jd.generate_rows("spiral", {"seed": 1}, version="1.0.0", backend=backend, stop=3)


def test_make_spiral_version_1_caps_points() -> None:
    with pytest.raises(
        ParamsError, match=r"n_points_per_spiral must be between 10 and 10000.*got 20000"
    ) as info:
        jd.recipe("spiral", {"n_points_per_spiral": 20_000}, version="1.0.0")
    assert [field for field, _ in info.value.errors] == ["n_points_per_spiral"]
    assert jd.recipe("spiral", {"n_points_per_spiral": 20_000}).n_rows() == 40_000


def test_recipe_with_params_is_rejected() -> None:
    r = jd.recipe("xor", {"seed": 1})
    with pytest.raises(ParamsError, match="params"):
        jd.generate(r, {"seed": 2})


# --- row ranges and splits ---


@pytest.mark.parametrize(
    ("split", "start", "stop"),
    [
        ("full", -1, None),
        ("full", 5, 3),
        ("full", 0, 195),
        ("train", 0, 156),
        ("test", 40, None),
        ("test", 0, 40),
    ],
)
def test_generate_rows_out_of_range(split: str, start: int, stop: int | None) -> None:
    # spiral defaults: 194 rows, 155 train, 39 test.
    with pytest.raises(
        ParamsError, match=rf"row range .* is outside the {split} split of \d+ rows; use 0 <= start"
    ):
        jd.generate_rows("spiral", {}, split=split, start=start, stop=stop)


def test_generate_rows_empty_range_is_allowed() -> None:
    X, y = jd.generate_rows("spiral", {}, split="test", start=39, stop=39)
    assert X.shape == (0, 2) and y.shape == (0, 2)


@pytest.mark.parametrize("split", ["validation", "FULL", ""])
def test_unknown_split(split: str) -> None:
    with pytest.raises(ParamsError, match=rf"split must be one of full, train, test, got '{split}'"):
        jd.generate_rows("spiral", {}, split=split)
    with pytest.raises(ParamsError, match="split must be one of"):
        jd.recipe("spiral").n_rows(split)


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("spiral", {"train_ratio": 0.9, "test_ratio": 0.2}, "test_ratio"),
        ("xor", {"margin": 1.0}, "margin"),
        ("checkerboard", {"y_range": (2.0, 1.0)}, "y_range"),
        ("gaussian", {"class_std": []}, "class_std"),
        ("gaussian", {"n_classes": 2, "n_features": 2, "centers": [[0, 0]]}, "centers"),
    ],
)
def test_checks_across_fields_name_the_field_to_change(name: str, params: dict, field: str) -> None:
    # Clients map errors to form fields: a cross-field check must not report a bare "params".
    with pytest.raises(ParamsError) as info:
        jd.recipe(name, params)
    assert [f for f, _ in info.value.errors] == [field]


def test_make_checkerboard_equal_bounds_hint_widens_the_range() -> None:
    with pytest.raises(ParamsError, match=r"give a wider range, e\.g\. \(1\.0, 2\.0\)"):
        jd.recipe("checkerboard", {"x_range": (1.0, 1.0)})
