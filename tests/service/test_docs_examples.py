"""The Python examples of docs/formats.md run as written and load the right rows.

Each ```python block is executed in a directory holding the ``spiral.npz`` and ``spiral.arrow``
the examples open (written by the writers from one recipe), with the names the prose leaves to the
reader bound: ``recipe_a``/``recipe_b``, and ``base``/``dataset_id`` of the live test server. What a
block leaves behind is then compared with ``generate()``. A block whose imports are missing here
(PyTorch) is skipped, not passed.
"""

from __future__ import annotations

import ast
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import juniper_data_core as jd

DOC = Path(__file__).resolve().parents[2] / "docs" / "formats.md"
_BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
RECIPE = jd.recipe("spiral", {"n_spirals": 3, "n_points_per_spiral": 400, "seed": 11})


def _imports(code: str) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def _labels(y: np.ndarray) -> np.ndarray:
    return np.asarray(y).argmax(axis=1)


def _check_numpy(ns: dict[str, Any], ds: jd.Dataset, _: Path) -> None:
    np.testing.assert_array_equal(ns["X_train"], ds.arrays["X_train"])
    np.testing.assert_array_equal(ns["labels"], _labels(ds.arrays["y_train"]))


def _check_torch_npz(ns: dict[str, Any], ds: jd.Dataset, _: Path) -> None:
    np.testing.assert_array_equal(ns["X"].numpy(), ds.arrays["X_train"])
    assert len(ns["loader"].dataset) == len(ds.arrays["X_train"])


def _check_torch_arrow(ns: dict[str, Any], ds: jd.Dataset, _: Path) -> None:
    # The loop leaves the last record batch; the file holds one (fewer rows than a batch).
    np.testing.assert_array_equal(ns["X"].numpy(), ds.arrays["X_full"])
    np.testing.assert_array_equal(ns["labels"].numpy(), _labels(ds.arrays["y_full"]))


def _check_pandas(ns: dict[str, Any], ds: jd.Dataset, _: Path) -> None:
    df = ns["df"]
    assert list(df.columns) == ["x0", "x1", "label"]
    np.testing.assert_array_equal(df[["x0", "x1"]].to_numpy(), ds.arrays["X_full"])
    np.testing.assert_array_equal(df["label"].to_numpy(), _labels(ds.arrays["y_full"]))


def _check_polars(ns: dict[str, Any], ds: jd.Dataset, _: Path) -> None:
    np.testing.assert_array_equal(ns["X"], ds.arrays["X_full"])
    np.testing.assert_array_equal(ns["df"]["label"].to_numpy(), _labels(ds.arrays["y_full"]))


def _check_datasets(ns: dict[str, Any], ds: jd.Dataset, _: Path) -> None:
    np.testing.assert_array_equal(ns["X"], ds.arrays["X_full"])
    np.testing.assert_array_equal(ns["labels"], _labels(ds.arrays["y_full"]))


def _check_zip(ns: dict[str, Any], _: jd.Dataset, cwd: Path) -> None:
    with zipfile.ZipFile(cwd / "two.zip") as archive:
        names = archive.namelist()
        assert names == [f"{r.dataset_id}.npz" for r in (ns["recipe_a"], ns["recipe_b"])]
        for r, name in zip((ns["recipe_a"], ns["recipe_b"]), names, strict=True):
            with archive.open(name) as member, np.load(member, allow_pickle=False) as npz:
                expected = jd.generate(r).arrays
                assert sorted(npz.files) == sorted(expected)
                for key, array in expected.items():
                    np.testing.assert_array_equal(npz[key], array)


def _check_http(ns: dict[str, Any], _: jd.Dataset, __: Path) -> None:
    # The NPZ body and the Arrow stream of the same dataset hold the same train rows.
    arrays, table = ns["arrays"], ns["table"]
    assert table.schema.metadata[b"dataset_id"].decode() == ns["dataset_id"]
    X = np.asarray(table.column("X").combine_chunks().flatten()).reshape(len(table), -1)
    np.testing.assert_array_equal(X, arrays["X_train"])
    np.testing.assert_array_equal(table.column("label").to_numpy(), _labels(arrays["y_train"]))


# A block is recognised by a phrase of its code; every block must have a check.
CHECKS: dict[str, Callable[[dict[str, Any], jd.Dataset, Path], None]] = {
    "labels = y_train.argmax": _check_numpy,
    "TensorDataset": _check_torch_npz,
    "for batch in reader": _check_torch_arrow,
    "pd.DataFrame": _check_pandas,
    "pl.from_arrow": _check_polars,
    "Dataset.from_file": _check_datasets,
    "ZipStreamWriter": _check_zip,
    "httpx.get": _check_http,
}


def _check_for(code: str) -> Callable[[dict[str, Any], jd.Dataset, Path], None]:
    found = [check for phrase, check in CHECKS.items() if phrase in code]
    assert len(found) == 1, f"no single check for this example of docs/formats.md:\n{code}"
    return found[0]


def test_every_example_has_a_check() -> None:
    assert len(_BLOCKS) == len(CHECKS)
    for code in _BLOCKS:
        _check_for(code)


@pytest.mark.parametrize("code", _BLOCKS, ids=[f"block{i}" for i in range(len(_BLOCKS))])
def test_formats_example_runs_and_loads_the_rows(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base_url: str, spiral_id: str
) -> None:
    for module in sorted(_imports(code)):
        pytest.importorskip(module)
    check = _check_for(code)
    ds = jd.generate(RECIPE)
    jd.write_npz(RECIPE, tmp_path / "spiral.npz")
    jd.write_arrow(RECIPE, tmp_path / "spiral.arrow")
    monkeypatch.chdir(tmp_path)
    ns: dict[str, Any] = {
        "recipe_a": RECIPE,
        "recipe_b": jd.recipe("xor", {"n_points_per_quadrant": 50, "seed": 2}),
        "base": base_url,
        "dataset_id": spiral_id,
    }
    exec(compile(code, f"{DOC}:example", "exec"), ns)
    check(ns, ds, tmp_path)
