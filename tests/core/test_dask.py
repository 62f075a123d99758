"""Scale-out on Dask (juniper_data_core.dask): the same rows as one process, from a real cluster.

One ``LocalCluster`` of 2 worker processes serves the module (made by
``connect("local:2")``). Every comparison is against ``generate_rows`` in this process,
bit for bit (the float32 bits, so -0.0 and NaN payloads count). The worker-killing test
runs last: it leaves the cluster to restart a worker.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pytest

import juniper_data_core as jd
from juniper_data_core.generators import REGISTRY

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

from juniper_data_core import dask as scale  # noqa: E402 - after the skips: needs dask to be useful

REPO = Path(__file__).resolve().parents[2]
CPU_BACKENDS = [b for b in jd.available_backends() if b in ("numpy", "numba", "jax")]
# The shipped generators (a test elsewhere registers a toy one the workers do not know).
GENERATORS = sorted(
    n
    for n, s in REGISTRY.items()
    if s.build is not None and s.build.__module__.startswith("juniper_data_core.")
)
CASE_ROWS = 1203
CHUNKINGS = (97, 500)


def _example(name: str) -> dict[str, Any]:
    """The generator's first example with noise or width (not the defaults), ~1203 rows."""
    spec = REGISTRY[name]
    labels = [k for k in spec.example_labels if k not in ("default", "uniform", "unshuffled")]
    return spec.example(labels[0] if labels else "default", CASE_ROWS, seed=7)


def assert_bits_equal(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.dtype == expected.dtype == np.float32
    assert got.shape == expected.shape
    assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    c = scale.connect("local:2")
    c.wait_for_workers(2, timeout=60)
    yield c
    c.close()


def _read_table(url: Path, manifest: dict[str, Any]) -> pa.Table:
    fmt = "parquet" if manifest["format"] == "parquet" else "arrow"
    paths = [str(url / f["path"]) for f in manifest["files"]]
    return pads.dataset(paths, format=fmt).to_table()


def _xy(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    X = table["X"].combine_chunks().flatten().to_numpy().reshape(table.num_rows, -1)
    y = table["y"].combine_chunks().flatten().to_numpy().reshape(table.num_rows, -1)
    return X, y


def _stats(directory: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in directory.glob("part-*")}


# --------------------------------------------------------------------------- to_dask


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("generator", GENERATORS)
def test_to_dask_on_two_workers_equals_one_process(client: Any, generator: str, backend: str) -> None:
    # The train split: rows at shuffled positions, the permutation computed per block.
    r = jd.recipe(generator, _example(generator))
    # Computed here first: the workers then load Numba's compiled loop from its disk cache.
    X_exp, y_exp = jd.generate_rows(r, split="train", backend=backend)
    arrays = []
    for chunk_rows in CHUNKINGS:
        X, y = scale.to_dask(r, "train", chunk_rows=chunk_rows, backend=backend)
        assert X.chunks[0][0] == chunk_rows and X.dtype == y.dtype == np.float32
        arrays += [X, y]
    got = client.compute(arrays, sync=True)
    for i in range(len(CHUNKINGS)):
        assert_bits_equal(got[2 * i], X_exp)
        assert_bits_equal(got[2 * i + 1], y_exp)


def test_to_dask_blocks_are_row_ranges_with_known_shapes() -> None:
    r = jd.recipe("spiral", {"n_points_per_spiral": 500, "seed": 1})
    X, y = scale.to_dask(r, "test", chunk_rows=64, backend="numpy")
    n = r.n_rows("test")
    assert X.shape == (n, 2) and y.shape == (n, 2)
    assert X.chunks[0] == (64,) * (n // 64) + ((n % 64,) if n % 64 else ())
    # One task per block computes both: X[128:192] alone is rows [128, 192) of the split.
    block = X.blocks[2].compute(scheduler="sync")
    assert_bits_equal(block, jd.generate_rows(r, split="test", start=128, stop=192, backend="numpy")[0])


def test_to_dask_of_an_empty_split_has_no_rows() -> None:
    r = jd.recipe("xor", {"n_points_per_quadrant": 10, "seed": 1, "train_ratio": 1.0, "test_ratio": 0.0})
    X, y = scale.to_dask(r, "test")
    assert X.shape == (0, 2) and y.shape == (0, 2)
    assert X.compute(scheduler="sync").shape == (0, 2)


def test_to_dask_of_a_frozen_1_0_0_recipe_equals_generate_rows() -> None:
    r = jd.recipe("spiral", {"n_points": 300, "seed": 5}, version="1.0.0")
    X, y = scale.to_dask(r, "train", chunk_rows=101)
    got_X, got_y = dask.compute(X, y, scheduler="threads")
    X_exp, y_exp = jd.generate_rows(r, split="train")
    assert_bits_equal(got_X, X_exp)
    assert_bits_equal(got_y, y_exp)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"chunk_rows": 0}, "chunk_rows must be >= 1"), ({"split": "valid"}, "split must be one of")],
)
def test_to_dask_bad_arguments_name_the_field(kwargs: dict[str, Any], match: str) -> None:
    r = jd.recipe("spiral", {"seed": 1})
    with pytest.raises(jd.ParamsError, match=match):
        scale.to_dask(r, **kwargs)


# --------------------------------------------------------------------------- partitioned files


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_partitioned_write_on_the_cluster_reads_back_equal(client: Any, tmp_path: Path, fmt: str) -> None:
    r = jd.recipe("moon", {"n_samples": 5000, "noise": 0.1, "seed": 2})
    write = scale.write_parquet if fmt == "parquet" else scale.write_arrow_files
    done: list[int] = []
    result = write(
        r, str(tmp_path / "out"), split="train", rows_per_file=900, scheduler=client, progress=done.append
    )
    manifest = result.manifest
    n = r.n_rows("train")
    assert sorted(done) == sorted(f["stop"] - f["start"] for f in manifest["files"]) and sum(done) == n
    # The files tile [0, n) in order, and each checksum is the file's own sha256.
    assert [(f["start"], f["stop"]) for f in manifest["files"]] == [
        (s, min(n, s + 900)) for s in range(0, n, 900)
    ]
    for f in manifest["files"]:
        data = (tmp_path / "out" / f["path"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (f["bytes"], f["sha256"])
    assert json.loads((tmp_path / "out" / "_manifest.json").read_text()) == manifest
    assert manifest["dataset_id"] == r.dataset_id and manifest["params"] == r.params
    X, y = _xy(_read_table(tmp_path / "out", manifest))
    X_exp, y_exp = jd.generate_rows(r, split="train", backend=manifest["files"][0]["backend"])
    assert_bits_equal(X, X_exp)
    assert_bits_equal(y, y_exp)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["_manifest.json"] + [
        f["path"] for f in manifest["files"]
    ]


def test_parquet_directory_reads_in_pyarrow_pandas_polars_and_datasets(tmp_path: Path) -> None:
    r = jd.recipe("gaussian", {"n_samples_per_class": 1000, "n_features": 3, "n_classes": 3, "seed": 4})
    assert r.shape.n_rows == 3000 and r.warnings == ()
    scale.write_parquet(r, str(tmp_path / "pq"), rows_per_file=1000, backend="numpy", scheduler="threads")
    X_exp, y_exp = jd.generate_rows(r, backend="numpy")
    labels = y_exp.argmax(axis=1)
    # The directory itself: readers skip _manifest.json and read the files in name order.
    table = pads.dataset(str(tmp_path / "pq"), format="parquet").to_table()
    assert_bits_equal(_xy(table)[0], X_exp)
    import datasets
    import pandas as pd
    import polars as pl

    frame = pd.read_parquet(tmp_path / "pq")
    assert np.array_equal(frame["label"].to_numpy(), labels)
    polars_frame = pl.read_parquet(str(tmp_path / "pq" / "*.parquet"))
    assert_bits_equal(np.asarray(polars_frame["X"].to_list(), dtype=np.float32), X_exp)
    hf = datasets.load_dataset(
        "parquet",
        data_files=str(tmp_path / "pq" / "*.parquet"),
        split="train",
        cache_dir=str(tmp_path / "hf-cache"),
    )
    assert hf.num_rows == 3000 and np.array_equal(np.asarray(hf["label"]), labels)
    assert_bits_equal(np.asarray(hf["X"], dtype=np.float32), X_exp)


def test_arrow_files_read_in_pyarrow_pandas_and_polars(tmp_path: Path) -> None:
    r = jd.recipe("circles", {"n_samples": 2000, "seed": 8})
    result = scale.write_arrow_files(r, str(tmp_path / "ipc"), rows_per_file=700, scheduler="sync")
    X_exp, y_exp = jd.generate_rows(r, backend=result.manifest["files"][0]["backend"])
    table = pads.dataset(str(tmp_path / "ipc"), format="arrow").to_table()
    assert_bits_equal(_xy(table)[0], X_exp)
    import pandas as pd
    import polars as pl

    first = pd.read_feather(tmp_path / "ipc" / "part-00000.arrow")
    assert np.array_equal(first["label"].to_numpy(), y_exp[:700].argmax(axis=1))
    assert pl.scan_ipc(str(tmp_path / "ipc" / "*.arrow")).collect().height == 2000


def test_rerun_rewrites_only_missing_or_damaged_files(tmp_path: Path) -> None:
    r = jd.recipe("spiral", {"n_points_per_spiral": 2500, "seed": 6})
    out = tmp_path / "out"
    first = scale.write_parquet(r, str(out), rows_per_file=800, backend="numpy", scheduler="sync")
    assert len(first.written) == 7 and first.kept == ()
    before = _stats(out)
    (out / "part-00001.parquet").unlink()
    damaged = bytearray((out / "part-00004.parquet").read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # same size, one bit pattern changed
    (out / "part-00004.parquet").write_bytes(bytes(damaged))
    before.pop("part-00004.parquet")
    again = scale.write_parquet(r, str(out), rows_per_file=800, backend="numpy", scheduler="threads")
    assert sorted(again.written) == ["part-00001.parquet", "part-00004.parquet"]
    after = _stats(out)
    assert {k: after[k] for k in before if k != "part-00001.parquet"} == {
        k: v for k, v in before.items() if k != "part-00001.parquet"
    }
    assert [f["sha256"] for f in again.manifest["files"]] == [f["sha256"] for f in first.manifest["files"]]
    X, _ = _xy(_read_table(out, again.manifest))
    assert_bits_equal(X, jd.generate_rows(r, backend="numpy")[0])


class _InterruptedError(Exception):
    pass


def test_interrupted_job_resumed_on_the_cluster_writes_only_missing_files(
    client: Any, tmp_path: Path
) -> None:
    r = jd.recipe("xor", {"n_points_per_quadrant": 1500, "seed": 9})
    out = tmp_path / "out"
    finished: list[int] = []

    def stop_after_three(rows: int) -> None:
        finished.append(rows)
        if len(finished) == 3:
            raise _InterruptedError

    # The synchronous scheduler runs one file at a time: exactly three are in place.
    with pytest.raises(_InterruptedError):
        scale.write_parquet(r, str(out), rows_per_file=1000, scheduler="sync", progress=stop_after_three)
    assert not (out / "_manifest.json").exists()
    present = _stats(out)
    assert len(present) == 3 and len(list((out / "_parts").iterdir())) == 3
    result = scale.write_parquet(r, str(out), rows_per_file=1000, scheduler=client)
    assert sorted(result.kept) == sorted(present)
    assert len(result.written) == 3 and not set(result.written) & set(present)
    assert {k: v for k, v in _stats(out).items() if k in present} == present
    assert not (out / "_parts").exists()
    X, y = _xy(_read_table(out, result.manifest))
    X_exp, y_exp = jd.generate_rows(r, backend=result.manifest["files"][0]["backend"])
    assert_bits_equal(X, X_exp)
    assert_bits_equal(y, y_exp)


def test_a_target_holding_other_files_or_another_export_is_refused(tmp_path: Path) -> None:
    r = jd.recipe("xor", {"n_points_per_quadrant": 50, "seed": 1})
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.csv").write_text("a,b\n")
    with pytest.raises(jd.ParamsError, match=r"holds files that are not part of this export \(notes.csv\)"):
        scale.write_parquet(r, str(tmp_path / "other"), scheduler="sync")
    scale.write_parquet(r, str(tmp_path / "one"), rows_per_file=50, scheduler="sync")
    with pytest.raises(jd.ParamsError, match="already holds another export"):
        scale.write_parquet(r, str(tmp_path / "one"), rows_per_file=60, scheduler="sync")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rows_per_file": 0}, r"rows_per_file must be >= 2 .*, got 0"),
        ({"rows_per_file": 1}, r"rows_per_file must be >= 2 \(at most 100000 files"),
        ({"split": "valid"}, "split must be one of"),
    ],
)
def test_write_bad_arguments_name_the_field_and_bound(
    tmp_path: Path, kwargs: dict[str, Any], match: str
) -> None:
    r = jd.recipe("xor", {"n_points_per_quadrant": 50_000, "seed": 1})
    with pytest.raises(jd.ParamsError, match=match):
        scale.write_parquet(r, str(tmp_path / "x"), scheduler="sync", **kwargs)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("address", ["local:0", "local:two", " "])
def test_connect_refuses_a_bad_address(address: str) -> None:
    with pytest.raises(jd.ParamsError, match=r"local:N|tcp://host:port"):
        scale.connect(address)


def test_the_module_imports_without_dask_and_says_what_to_install() -> None:
    code = (
        "import sys\n"
        "for name in ('dask', 'distributed', 'fsspec'):\n"
        "    sys.modules[name] = None\n"
        "import juniper_data_core as jd\n"
        "from juniper_data_core import dask as scale\n"
        "try:\n"
        "    scale.to_dask(jd.recipe('xor', {'seed': 1}))\n"
        "except jd.MissingDependencyError as err:\n"
        "    print(err)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert "pip install 'juniper-data[dask]'" in out.stdout


# --------------------------------------------------------------------------- the command line


def _cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(REPO), **env}
    environ.pop("JUNIPER_DATA_BACKEND", None)
    return subprocess.run(
        [sys.executable, "-m", "juniper_data_core.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        timeout=300,
        check=False,
    )


SPIRAL = ["generate", "spiral", "-p", "n_points_per_spiral=3000", "-p", "seed=3", "--backend", "numpy"]


def test_cli_writes_parquet_on_the_cluster_with_a_progress_bar(client: Any, tmp_path: Path) -> None:
    address = client.scheduler.address
    args = [*SPIRAL, "--format", "parquet", "-o", "out", "--dask", address, "--rows-per-file", "1000"]
    # rich draws its bar when it believes stderr is a terminal.
    first = _cli(*args, cwd=tmp_path, TTY_COMPATIBLE="1", COLUMNS="200")
    assert first.returncode == 0, first.stderr
    assert "6,000/6,000 rows" in first.stderr
    assert "6,000 rows" in first.stderr and "(6 files: 6 written, 0 kept)" in first.stderr
    again = _cli(*args, cwd=tmp_path)
    assert again.returncode == 0 and "(6 files: 0 written, 6 kept)" in again.stderr, again.stderr
    manifest = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    X, _ = _xy(_read_table(tmp_path / "out", manifest))
    r = jd.recipe("spiral", {"n_points_per_spiral": 3000, "seed": 3})
    assert_bits_equal(X, jd.generate_rows(r, backend="numpy")[0])


def test_cli_writes_arrow_files_on_a_local_cluster(tmp_path: Path) -> None:
    result = _cli(
        *SPIRAL, "--format", "arrow", "--split", "test", "--dask", "local:1", "-o", "ipc", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    r = jd.recipe("spiral", {"n_points_per_spiral": 3000, "seed": 3})
    table = pads.dataset(str(tmp_path / "ipc"), format="arrow").to_table()
    assert_bits_equal(_xy(table)[1], jd.generate_rows(r, split="test", backend="numpy")[1])


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--format", "npz", "--dask", "local:1"], "--format parquet"),
        (["--format", "parquet", "--limit", "10"], "--offset and --limit do not apply"),
        (["--format", "arrow", "--rows-per-file", "10"], "--rows-per-file applies to partitioned output"),
        (["--format", "parquet", "--dask", "local:0"], "local:N with N >= 1"),
        (["--format", "parquet", "-o", "-"], "not stdout"),
    ],
)
def test_cli_partitioned_mistakes_are_one_line_exit_2(tmp_path: Path, extra: list[str], needle: str) -> None:
    result = _cli(*SPIRAL, *extra, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and needle in result.stderr, result.stderr


# --------------------------------------------------------------------------- a worker dies (last)


def test_a_worker_killed_mid_job_and_the_job_still_finishes_identical(client: Any, tmp_path: Path) -> None:
    r = jd.recipe("spiral", {"n_points_per_spiral": 1_500_000, "seed": 12})
    reference = scale.write_parquet(
        r, str(tmp_path / "ref"), rows_per_file=200_000, backend="numpy", scheduler="sync"
    )
    job = scale.submit_export(client, r, str(tmp_path / "out"), rows_per_file=200_000, backend="numpy")
    deadline = time.monotonic() + 60
    busy: list[str] = []
    while not busy and time.monotonic() < deadline:
        # A worker holding part tasks, once a first file is in place: well into the job.
        if job.progress().files_done >= 1:
            processing = client.processing().items()
            busy = [w for w, keys in processing if any("juniper-part" in str(k) for k in keys)]
        time.sleep(0.005)
    assert busy, "no worker was busy with the job"
    pids = client.run(os.getpid)
    done_at_kill = job.progress().files_done
    os.kill(pids[busy[0]], signal.SIGKILL)
    result = job.result(timeout=180)
    assert done_at_kill < job.progress().files_total == 15
    client.wait_for_workers(2, timeout=60)
    assert pids[busy[0]] not in client.run(os.getpid).values()  # the kill took: a new process
    assert [f["sha256"] for f in result.manifest["files"]] == [
        f["sha256"] for f in reference.manifest["files"]
    ]
    X, y = _xy(_read_table(tmp_path / "out", result.manifest))
    X_exp, y_exp = jd.generate_rows(r, backend="numpy")
    assert_bits_equal(X, X_exp)
    assert_bits_equal(y, y_exp)
    leftovers = [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    assert leftovers == []
