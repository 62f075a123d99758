"""Source benchmarks: CSV import speed, and a source's dataset streamed against a generated one.

Groups (each with its peer, measured in the same run, so ratios survive a noisy machine):

- ``sources-csv-<size>``: a numeric CSV (6 float columns, an int label; about 58 bytes a row)
  parsed into a source (``SourceDirectory.import_file``: parse, canonical re-batching,
  hashing, the Arrow file written and fsynced), against pyarrow's own streaming CSV reader
  alone (``pyarrow.csv.open_csv``, nothing kept). ``extra_info["bytes"]`` is the CSV's
  size, so MB/s = bytes / mean seconds. Target: >= 150 MB/s on the 2-core CI machine.
- ``sources-arrow-<size>``: the Arrow IPC stream of a csv_import dataset (2 feature columns,
  2 classes, full split) against the same stream of a generated ``moon`` dataset of the
  same shape, both on ``backend="auto"``. Target: the source's at least half as fast.

Peak memory of a 2 GB CSV import is measured once, outside the suite, by
``python -m benchmarks.sources_rss`` (see ``docs/sources.md``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import juniper_data_core as jd
from benchmarks.conftest import size_label
from juniper_data_core import sources
from juniper_data_core.formats import iter_arrow

pa = pytest.importorskip("pyarrow")
pcsv = pytest.importorskip("pyarrow.csv")


def write_numeric_csv(path: Path, n: int, seed: int = 0) -> None:
    """``n`` rows of 6 normal floats (6 decimals) and an int label 0..3, written by pyarrow."""
    rng = np.random.default_rng(seed)
    columns = {f"f{j}": np.round(rng.normal(size=n), 6) for j in range(6)}
    columns["label"] = rng.integers(0, 4, size=n)
    pcsv.write_csv(pa.table(columns), path)


@pytest.fixture
def csv_file(tmp_path: Path, n_rows: int) -> Path:
    path = tmp_path / "numeric.csv"
    write_numeric_csv(path, n_rows)
    return path


def test_csv_import(run, csv_file: Path, tmp_path: Path, n_rows: int) -> None:
    target = tmp_path / "sources"

    def import_once() -> sources.SourceInfo:
        shutil.rmtree(target, ignore_errors=True)  # each round writes the source afresh
        return sources.SourceDirectory(target).import_file(csv_file)

    info = run(
        import_once,
        n_rows,
        group=f"sources-csv-{size_label(n_rows)}",
        role="engine",
        kind="csv-import",
        bytes=csv_file.stat().st_size,
    )
    assert info.created and info.n_rows == n_rows
    table = sources.SourceTable(sources.SourceDirectory(target).path(info.source_id))
    expected = pcsv.read_csv(csv_file)
    np.testing.assert_array_equal(table.take("f3", slice(0, n_rows), np.float64), expected["f3"].to_numpy())


def test_csv_parse_peer(run, csv_file: Path, n_rows: int) -> None:
    def parse_once() -> int:
        reader = pcsv.open_csv(
            csv_file, read_options=pcsv.ReadOptions(block_size=sources.readers.BLOCK_BYTES)
        )
        return sum(batch.num_rows for batch in reader)

    rows = run(
        parse_once,
        n_rows,
        group=f"sources-csv-{size_label(n_rows)}",
        role="peer",
        kind="pyarrow-open-csv",
        bytes=csv_file.stat().st_size,
    )
    assert rows == n_rows


@pytest.fixture
def numeric_source(tmp_path: Path, n_rows: int) -> Iterator[str]:
    """A source of ``n_rows`` rows: two float features and a 0/1 label (written as Parquet)."""
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    table = pa.table(
        {"a": rng.normal(size=n_rows), "b": rng.normal(size=n_rows), "label": rng.integers(0, 2, size=n_rows)}
    )
    path = tmp_path / "numeric.parquet"
    pq.write_table(table, path)
    directory = sources.SourceDirectory(tmp_path / "sources")
    sources.add_source_directory(directory.root)
    yield directory.import_file(path).source_id
    sources.remove_source_directory(directory.root)


def _stream_bytes(recipe: jd.Recipe) -> int:
    return sum(len(chunk) for chunk in iter_arrow(recipe, split="full"))


def test_source_arrow_stream(run, numeric_source: str, n_rows: int) -> None:
    recipe = jd.recipe("csv_import", {"source_id": numeric_source, "seed": 1})
    recipe.plan.class_counts()  # the label column read once, as a create does
    n_bytes = run(
        lambda: _stream_bytes(recipe),
        n_rows,
        group=f"sources-arrow-{size_label(n_rows)}",
        role="engine",
        kind="source-arrow",
        bytes=n_rows * 20,
    )
    assert n_bytes > n_rows * 20  # X (2 float32), y (2 float32) and label (int32) per row


def test_generated_arrow_stream_peer(run, n_rows: int) -> None:
    recipe = jd.recipe("moon", {"n_samples": n_rows, "seed": 1})
    n_bytes = run(
        lambda: _stream_bytes(recipe),
        n_rows,
        group=f"sources-arrow-{size_label(n_rows)}",
        role="peer",
        kind="generated-arrow",
        bytes=n_rows * 20,
    )
    assert n_bytes > n_rows * 20
