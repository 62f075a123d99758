"""Scale-out benchmarks (group ``scale-<size>``): a spiral written as partitioned Parquet.

Three writers of the same 16 files (same bytes: their checksums are compared):

- ``single-process``: :func:`juniper_data_core.dask.write_parquet` with Dask's
  synchronous scheduler in this process, one file after another, Numba on every core;
- ``dask-1-worker`` and ``dask-2-workers``: a ``LocalCluster`` of 2 worker processes
  (``connect("local:2")``: one task and one Numba thread each, so a worker is one
  core), the job held to one worker with ``dask.annotate(workers=...)`` or free to use both.

``extra_info`` has rows/s, bytes written and the peak private resident memory (anonymous
+ shared pages, sampled every 10 ms by ``benchmarks/scale_run.py``'s sampler) of each
worker, warm (its kernel loaded) and at its peak over all rounds, or this process's growth
for ``single-process``.
Benchmark mode runs sizes >= 1e6 only: ``--bench-sizes 1e8 -k scale``. Correctness mode
writes 1e3 rows and checks every file against ``generate_rows``.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

import juniper_data_core as jd
from benchmarks import scale_run
from benchmarks.conftest import size_label
from benchmarks.peers import engine_params
from benchmarks.scale_run import PeakMemory, start_sampling, stop_sampling, warm_workers
from juniper_data_core import dask as scale

pytest.importorskip("distributed")

FILES = 16
VARIANTS = ("single-process", "dask-1-worker", "dask-2-workers")
# sha256 of every file, per size, from the first writer to run: the others must match.
_CHECKSUMS: dict[int, list[str]] = {}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    import cloudpickle

    # The samplers run in the workers, which cannot import the benchmarks package: send them whole.
    cloudpickle.register_pickle_by_value(scale_run)
    client = scale.connect("local:2")
    client.wait_for_workers(2, timeout=60)
    yield client
    client.close()
    cloudpickle.unregister_pickle_by_value(scale_run)


@pytest.mark.parametrize("variant", VARIANTS)
def test_scale_parquet(
    benchmark: Any, request: pytest.FixtureRequest, enabled: bool, n_rows: int, variant: str, tmp_path: Path
) -> None:
    if enabled and n_rows < 1_000_000:
        pytest.skip("scale-out is measured at sizes >= 1e6 (--bench-sizes 1e8)")
    r = jd.recipe("spiral", engine_params("spiral", n_rows))
    n = r.n_rows("full")
    out = tmp_path / "out"
    client = None if variant == "single-process" else request.getfixturevalue("cluster")
    write = _writer(r, out, variant, client)
    benchmark.group = f"scale-{size_label(n_rows)}"
    samplers = _start(client, r)
    if enabled:
        result = benchmark.pedantic(
            write,
            setup=lambda: shutil.rmtree(out, ignore_errors=True),
            rounds=request.config.getoption("bench_rounds"),
            iterations=1,
            warmup_rounds=1,
        )
    else:
        result = benchmark(write)
    memory = _stop(client, samplers)
    files = result.manifest["files"]
    seconds = benchmark.stats.stats.median if enabled and benchmark.stats else None
    benchmark.extra_info.update(
        n_rows=n,
        role="scale",
        kind="scale",
        variant=variant,
        generator="spiral",
        files=len(files),
        bytes_written=result.n_bytes,
        rows_per_s=n / seconds if seconds else None,
        **memory,
    )
    assert [(f["start"], f["stop"]) for f in files][-1][1] == n and len(files) == min(FILES, n)
    checksums = [f["sha256"] for f in files]
    assert checksums == _CHECKSUMS.setdefault(n, checksums)  # every writer, the same bytes
    _check_rows(r, out, files, every_file=not enabled)


def _writer(r: jd.Recipe, out: Path, variant: str, client: Any) -> Any:
    rows_per_file = -(-r.n_rows("full") // FILES)
    if client is None:
        return lambda: scale.write_parquet(r, str(out), rows_per_file=rows_per_file, scheduler="sync")
    import dask

    workers = sorted(client.scheduler_info()["workers"])

    def write() -> Any:
        if variant == "dask-2-workers":
            return scale.write_parquet(r, str(out), rows_per_file=rows_per_file, scheduler=client)
        with dask.annotate(workers=workers[:1], allow_other_workers=False):
            return scale.write_parquet(r, str(out), rows_per_file=rows_per_file, scheduler=client)

    return write


def _start(client: Any, r: jd.Recipe) -> Any:
    if client is None:
        return PeakMemory()
    warm_workers(client, r)
    client.run(start_sampling)
    return None


def _stop(client: Any, sampler: Any) -> dict[str, Any]:
    if client is None:
        base, peak = sampler.stop()
        return {"process_peak_growth_mb": round(peak - base, 1)}
    per_worker = client.run(stop_sampling)
    return {
        "worker_warm_private_mb": [round(b, 1) for b, _ in per_worker.values()],
        "worker_peak_private_mb": [round(p, 1) for _, p in per_worker.values()],
    }


def _check_rows(r: jd.Recipe, out: Path, files: list[dict[str, Any]], *, every_file: bool) -> None:
    """Each file (only the first when timing: 1e8 rows is 2 GB to read) equals its
    ``generate_rows`` range, and its bytes hash to its checksum."""
    for f in files if every_file else files[:1]:
        data = (out / f["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"]
        table = pq.read_table(out / f["path"])
        X = table["X"].combine_chunks().flatten().to_numpy().reshape(table.num_rows, 2)
        X_exp, _ = jd.generate_rows(r, start=f["start"], stop=f["stop"], backend=f["backend"])
        assert np.array_equal(X.view(np.uint32), X_exp.view(np.uint32))
