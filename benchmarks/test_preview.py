"""Preview images: 50,000 points of a spiral as a 512x512 PNG (group ``preview-50k``).

- ``engine``: ``jd.preview_png`` end to end (generating the rows, drawing, encoding), what
  ``GET /v1/datasets/{id}/preview.png`` runs;
- ``render``: ``jd.scatter_png`` of rows already in memory;
- peers, same points and size: matplotlib (Agg ``scatter`` + ``savefig``) and Pillow
  (``ImageDraw.point`` + ``save``), each drawing its dots as small as it can.

The target is under 50 ms for ``engine`` on the project's machine. In CI (benchmarks
disabled) each runs once and checks it made a PNG of the right size.

``python -m pytest benchmarks/test_preview.py --benchmark-enable --benchmark-columns=min,median``
"""

from __future__ import annotations

import io

import numpy as np
import pytest

import juniper_data_core as jd
from juniper_data_core.preview import CLASS_COLORS, sample_rows

SIZE = 512
PARAMS = {"n_spirals": 2, "n_points_per_spiral": 25_000, "noise": 0.25, "seed": 1}
GROUP = "preview-50k"


@pytest.fixture(scope="module")
def points() -> tuple[np.ndarray, np.ndarray]:
    X, labels = sample_rows(jd.recipe("spiral", PARAMS), backend="numpy")
    assert len(X) == 50_000
    return X, labels


def _check_png(png: bytes) -> None:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        assert im.size == (SIZE, SIZE)


def test_preview_engine(benchmark: pytest.FixtureRequest) -> None:
    r = jd.recipe("spiral", PARAMS)
    jd.preview_png(r, backend="numpy")  # the plan is built once per recipe, as in the service
    benchmark.group = GROUP  # type: ignore[attr-defined]
    png = benchmark(lambda: jd.preview_png(r, width=SIZE, height=SIZE, backend="numpy"))  # type: ignore[operator]
    _check_png(png)


def test_preview_render(benchmark: pytest.FixtureRequest, points: tuple[np.ndarray, np.ndarray]) -> None:
    X, labels = points
    benchmark.group = GROUP  # type: ignore[attr-defined]
    png = benchmark(lambda: jd.scatter_png(X, labels, width=SIZE, height=SIZE))  # type: ignore[operator]
    _check_png(png)


def test_preview_peer_matplotlib(
    benchmark: pytest.FixtureRequest, points: tuple[np.ndarray, np.ndarray]
) -> None:
    matplotlib = pytest.importorskip("matplotlib", reason="the matplotlib peer (test extra)")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    X, labels = points
    colours = np.array(CLASS_COLORS, dtype=np.float64)[labels % len(CLASS_COLORS)] / 255

    def draw() -> bytes:
        fig = Figure(figsize=(SIZE / 100, SIZE / 100), dpi=100)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.scatter(X[:, 0], X[:, 1], c=colours, s=1, marker="s", linewidths=0)
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=100)
        return out.getvalue()

    benchmark.group = GROUP  # type: ignore[attr-defined]
    _check_png(benchmark(draw))  # type: ignore[operator]


def test_preview_peer_pillow(benchmark: pytest.FixtureRequest, points: tuple[np.ndarray, np.ndarray]) -> None:
    from PIL import Image, ImageDraw

    X, labels = points
    lo, hi = X.min(axis=0), X.max(axis=0)
    px = ((X - lo) / (hi - lo) * (SIZE - 11) + 5).astype(int)

    def draw() -> bytes:
        im = Image.new("RGB", (SIZE, SIZE), "white")
        d = ImageDraw.Draw(im)
        for k, colour in enumerate(CLASS_COLORS[: int(labels.max()) + 1]):
            sel = px[labels == k]
            d.point([(int(x), SIZE - 1 - int(y)) for x, y in sel], fill=colour)
        out = io.BytesIO()
        im.save(out, format="PNG")
        return out.getvalue()

    benchmark.group = GROUP  # type: ignore[attr-defined]
    _check_png(benchmark(draw))  # type: ignore[operator]
