"""Scatter-plot previews (juniper_data_core.preview) and ``juniper-data plot``.

The spiral checks read the decoded image only: each class colour's pixels, mapped back
to data coordinates through the bounding boxes of the image's dots and of the data,
must lie nearer their own arm of the spiral (the generator's documented curve) than
the other arm.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest

import juniper_data_core as jd
from juniper_data_core.cli import main
from juniper_data_core.preview import CLASS_COLORS, sample_rows

Image = pytest.importorskip("PIL.Image", reason="Pillow decodes the PNGs (test extra)")

SPIRAL = {"n_spirals": 2, "n_points_per_spiral": 5000, "n_rotations": 1.5, "noise": 0.05, "seed": 7}


def decode(png: bytes) -> np.ndarray:
    """``(height, width, 3)`` uint8 RGB of a PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"))


def pixels_of(rgb: np.ndarray, colour: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(column, row) of the pixels of exactly ``colour``."""
    rows, cols = np.nonzero(np.all(rgb == np.array(colour, dtype=np.uint8), axis=2))
    return cols.astype(np.float64), rows.astype(np.float64)


def arm_fractions(rgb: np.ndarray, params: dict[str, float], X: np.ndarray) -> list[float]:
    """For each arm k of a 2-arm modern spiral, the fraction of colour k's pixels (outside
    the centre, where the arms meet) nearer arm k than arm 1 - k.

    Arm k is ``r = R f``, ``t = 2 pi n_rotations f + pi k`` (docs/reproducibility.md;
    clockwise: ``y = r sin t``), so a point's phase ``atan2(y, x) - 2 pi n_rotations r / R``
    is near ``pi k``. Pixels map to data by the affine map between the dots' bounding box
    and the data's (the image's vertical axis points down).
    """
    cols, rows = np.nonzero(np.any(rgb != 255, axis=2))[::-1]
    inside = (cols > 0) & (cols < rgb.shape[1] - 1) & (rows > 0) & (rows < rgb.shape[0] - 1)  # no frame
    c0, c1 = cols[inside].min(), cols[inside].max()
    r0, r1 = rows[inside].min(), rows[inside].max()
    (x0, y0), (x1, y1) = X.min(axis=0), X.max(axis=0)
    fractions = []
    for k in (0, 1):
        c, r = pixels_of(rgb, CLASS_COLORS[k])
        x = x0 + (c - c0) / (c1 - c0) * (x1 - x0)
        y = y1 - (r - r0) / (r1 - r0) * (y1 - y0)
        radius = np.hypot(x, y) / params.get("radius", 10.0)
        far = radius > 0.2
        phase = np.arctan2(y[far], x[far]) - 2 * math.pi * params["n_rotations"] * radius[far]
        to_own = np.abs(np.angle(np.exp(1j * (phase - math.pi * k))))
        to_other = np.abs(np.angle(np.exp(1j * (phase - math.pi * (1 - k)))))
        assert far.sum() > 1000, f"too few pixels of class {k} to judge"
        fractions.append(float(np.mean(to_own < to_other)))
    return fractions


def test_preview_png_two_arm_spiral_colours_lie_on_their_own_arms() -> None:
    r = jd.recipe("spiral", SPIRAL)
    rgb = decode(jd.preview_png(r, width=400, height=400))
    X, _ = jd.generate_rows(r)
    fractions = arm_fractions(rgb, SPIRAL, X)
    assert min(fractions) > 0.97, fractions


def test_preview_png_colours_are_the_class_colours_on_white() -> None:
    rgb = decode(jd.preview_png(jd.recipe("gaussian", {"n_classes": 3, "seed": 3}), width=200, height=150))
    assert rgb.shape == (150, 200, 3)
    colours = {tuple(int(v) for v in c) for c in np.unique(rgb.reshape(-1, 3), axis=0)}
    assert set(CLASS_COLORS[:3]) <= colours
    assert not set(CLASS_COLORS[3:]) & colours
    assert (255, 255, 255) in colours


def test_scatter_png_puts_larger_y_higher_and_larger_x_further_right() -> None:
    X = np.array([[0.0, 0.0], [1.0, 1.0]], dtype=np.float32)
    rgb = decode(jd.scatter_png(X, np.array([0, 1]), width=64, height=64))
    c0, r0 = pixels_of(rgb, CLASS_COLORS[0])
    c1, r1 = pixels_of(rgb, CLASS_COLORS[1])
    assert c0.mean() < 16 and r0.mean() > 48  # bottom left
    assert c1.mean() > 48 and r1.mean() < 16  # top right


def test_scatter_png_draws_chosen_columns() -> None:
    # Column 2 separates the classes, columns 0 and 1 do not.
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 200)
    X = rng.normal(size=(400, 3)).astype(np.float32)
    X[:, 2] = labels * 10 + rng.normal(size=400)
    rgb = decode(jd.scatter_png(X, labels, width=128, height=128, x=2, y=0))
    c0, _ = pixels_of(rgb, CLASS_COLORS[0])
    c1, _ = pixels_of(rgb, CLASS_COLORS[1])
    assert c0.max() < c1.min()


def test_scatter_png_one_feature_puts_classes_in_strips() -> None:
    X = np.linspace(0, 1, 300, dtype=np.float32)[:, None]
    labels = np.arange(300) % 3
    rgb = decode(jd.scatter_png(X, labels, width=96, height=96))
    rows = [pixels_of(rgb, CLASS_COLORS[k])[1] for k in range(3)]
    assert rows[0].min() > rows[1].max() and rows[1].min() > rows[2].max()  # class 0 lowest


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 15}, r"width=15 is outside \[16, 2048\]"),
        ({"height": 4096}, r"height=4096 is outside \[16, 2048\]"),
        ({"x": 2}, r"x=2 is not a feature column: the data has 2 \(use 0\.\.1\)"),
        ({"y": 5}, r"y=5 is not a feature column"),
        ({"split": "validation"}, r"split must be one of full, train, test"),
    ],
)
def test_preview_png_rejects_bad_arguments_naming_them(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(jd.ParamsError, match=message):
        jd.preview_png(jd.recipe("xor", {"seed": 1}), **kwargs)  # type: ignore[arg-type]


def test_sample_rows_of_a_large_full_split_is_a_sample_of_all_classes() -> None:
    # Full is in generation order (class 0 first): its first rows would be one class.
    r = jd.recipe("spiral", {"n_spirals": 3, "n_points_per_spiral": 4000, "seed": 5})
    X, labels = sample_rows(r, "full", max_points=600)
    assert len(X) == 600
    counts = np.bincount(labels, minlength=3)
    assert counts.min() > 140, counts
    full = jd.generate(r).arrays["X_full"]
    assert {tuple(row) for row in X.tolist()} <= {tuple(row) for row in full.tolist()}


def test_sample_rows_within_the_limit_are_the_whole_split_in_order() -> None:
    r = jd.recipe("xor", {"seed": 2})
    X, labels = sample_rows(r, "test")
    X_test, y_test = jd.generate_rows(r, split="test")
    np.testing.assert_array_equal(X, X_test)
    np.testing.assert_array_equal(labels, y_test.argmax(axis=1))


# ---- juniper-data plot --------------------------------------------------------------------------


def run_cli(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return int(exit_info.value.code or 0)


def test_plot_a_recipe_draws_its_arms(tmp_path: Path) -> None:
    out = tmp_path / "spiral.png"
    params = [arg for key, value in SPIRAL.items() for arg in ("-p", f"{key}={value}")]
    assert run_cli(["plot", "spiral", *params, "--width", "400", "--height", "400", "-o", str(out)]) == 0
    X, _ = jd.generate_rows(jd.recipe("spiral", SPIRAL))
    assert min(arm_fractions(decode(out.read_bytes()), SPIRAL, X)) > 0.97


def test_plot_an_npz_file_draws_its_split(tmp_path: Path) -> None:
    r = jd.recipe("spiral", SPIRAL)
    npz = tmp_path / "s.npz"
    jd.write_npz(r, npz)
    out = tmp_path / "train.png"
    assert (
        run_cli(["plot", str(npz), "--split", "train", "--width", "400", "--height", "400", "-o", str(out)])
        == 0
    )
    X_train, _ = jd.generate_rows(r, split="train")
    assert min(arm_fractions(decode(out.read_bytes()), SPIRAL, X_train)) > 0.97


def test_plot_an_arrow_file_and_a_json_recipe_give_the_recipes_image(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="Arrow files need pyarrow (cpu extra)")
    r = jd.recipe("moon", {"seed": 3})
    arrow = tmp_path / "m.arrows"
    jd.write_arrow(r, arrow)
    recipe_file = tmp_path / "m.json"
    recipe_file.write_text('{"generator": "moon", "params": {"seed": 3}}')
    expected = decode(jd.preview_png(r))
    for source in (arrow, recipe_file):
        out = tmp_path / f"{source.suffix[1:]}.png"
        assert run_cli(["plot", str(source), "-o", str(out)]) == 0
        np.testing.assert_array_equal(decode(out.read_bytes()), expected)


def test_plot_bad_width_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["plot", "xor", "--width", "9", "-o", str(tmp_path / "x.png")]) == 2
    assert "width=9 is outside [16, 2048]" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
