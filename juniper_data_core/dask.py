"""Scale-out on Dask: a recipe's rows as dask arrays, or as partitioned Parquet or Arrow files.

Row ``i`` of a dataset is a pure function of its recipe and ``i``, so a split cuts into row
ranges that are computed alone: each range is one task, with no shuffle and no
communication between tasks, and each gives the bytes one process gives for those rows.

- :func:`to_dask`: ``(X, y)`` dask arrays whose blocks are
  :func:`~juniper_data_core.generate_rows` ranges.
- :func:`write_parquet`, :func:`write_arrow_files`: a split written as files of row
  ranges with a manifest (:mod:`juniper_data_core.formats.partitioned`) by the
  scheduler's workers, and waited for; run again after a failure, they write only the
  files that are missing or whose checksum is wrong.
- :func:`submit_export` -> :class:`ExportJob`: the same on a ``dask.distributed``
  cluster, not waited for (what the HTTP service runs): status, progress, cancel.
- :func:`connect`: a client of a scheduler address, or of a new local cluster (``local:N``).

Which scheduler runs the tasks: a ``distributed.Client`` (given, or the default one when a
client is active), else Dask's threaded scheduler, or any of Dask's local schedulers by
name. With ``backend="auto"`` every task resolves the backend on its own worker for the
whole split, as one process writing the split would: CPU workers agree bit for bit, GPU
workers pick their GPU (within the documented ulp bound for transcendental floats).

dask, distributed, fsspec and pyarrow (the ``dask`` extra) are imported when a function
here is called, so this module imports without them. See ``docs/scale-out.md``.
"""

from __future__ import annotations

import functools
import importlib
import os
import uuid
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from juniper_data_core.dataset import backend_for, generate_rows
from juniper_data_core.errors import MissingDependencyError, ParamsError
from juniper_data_core.formats.partitioned import (
    FORMATS,
    MANIFEST_NAME,
    ExportResult,
    FileRecord,
    PartitionedExport,
)
from juniper_data_core.formats.rows import row_range
from juniper_data_core.generators.kernel import FloatArray
from juniper_data_core.recipe import Recipe

__all__ = [
    "FORMATS",
    "MANIFEST_NAME",
    "ExportJob",
    "ExportProgress",
    "ExportResult",
    "FileRecord",
    "connect",
    "submit_export",
    "to_dask",
    "write_arrow_files",
    "write_parquet",
]

#: Bytes of X and y per dask block by default (Dask's advice: blocks of tens of MB).
CHUNK_BYTES = 64 << 20
#: What ``progress`` callbacks receive: the rows of one file just finished.
Progress = Callable[[int], None]


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.partition(".")[0]
        raise MissingDependencyError(
            f"scale-out needs {package}: pip install 'juniper-data[dask]' "
            "(dask, distributed, fsspec and pyarrow)"
        ) from None


# --------------------------------------------------------------------------- arrays


def _rows_block(recipe: Recipe, split: str, backend: str, n_rows: int, block_info: Any = None) -> FloatArray:
    """Block ``[start, stop)`` of the split as one array of X's then y's columns."""
    (start, stop), _ = block_info[None]["array-location"]
    # "auto" resolved for the whole split on this worker, so every block comes from the
    # backend one process would use for generate_rows(recipe, split, 0, n_rows).
    name = backend_for(recipe, backend, n_rows=n_rows)
    X, y = generate_rows(recipe, split=split, start=start, stop=stop, backend=name)
    return np.concatenate([X, y], axis=1)


def to_dask(
    recipe: Recipe, split: str = "full", *, chunk_rows: int | None = None, backend: str = "auto"
) -> tuple[Any, Any]:
    """One split of ``recipe`` as dask arrays, computed where the scheduler runs them.

    Parameters
    ----------
    recipe : Recipe
    split : {"full", "train", "test"}
    chunk_rows : int, optional
        Rows per block; default about 64 MiB of X and y per block (4M rows of a
        2-feature, 2-class dataset).
    backend : str
        ``"auto"`` (resolved on each worker for the whole split) or a backend name.

    Returns
    -------
    X : dask.array.Array
        float32, shape (n_rows, n_features), blocks of ``chunk_rows`` rows.
    y : dask.array.Array
        float32 one-hot, shape (n_rows, n_classes), the same blocks.
        Block ``i`` of both comes from one task, ``generate_rows(recipe, split,
        start_i, stop_i)`` (X's and y's columns side by side, then sliced): computing
        ``X`` and ``y`` together computes each block once. Whatever the chunking and
        the number of workers, the arrays equal ``generate_rows(recipe, split=split)``
        on the same backend bit for bit.

    Raises
    ------
    MissingDependencyError
        If dask is not installed.
    ParamsError
        For an unknown split or ``chunk_rows`` below 1.
    """
    dask = _require("dask")
    da = _require("dask.array")
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, not {type(recipe).__name__}")
    n = row_range(recipe, split).n_rows
    n_features, n_classes = recipe.shape.n_features, recipe.shape.n_classes
    if chunk_rows is None:
        chunk_rows = max(1, CHUNK_BYTES // (4 * (n_features + n_classes)))
    elif chunk_rows < 1:
        raise ParamsError(f"chunk_rows must be >= 1, got {chunk_rows}", [("chunk_rows", "must be >= 1")])
    sizes = (chunk_rows,) * (n // chunk_rows) + ((n % chunk_rows,) if n % chunk_rows or not n else ())
    token = dask.base.tokenize(recipe.canonical, split, chunk_rows, backend)
    # One blockwise layer, not a task per block built in Python: 1e11 rows are 25,000 blocks.
    rows = da.map_blocks(
        functools.partial(_rows_block, recipe, split, backend, n),
        chunks=(sizes, (n_features + n_classes,)),
        dtype=np.float32,
        meta=np.empty((0, n_features + n_classes), np.float32),
        name=f"juniper-rows-{token}",
    )
    return rows[:, :n_features], rows[:, n_features:]


# --------------------------------------------------------------------------- jobs


def _identity(export: PartitionedExport) -> PartitionedExport:
    return export


def _write_part(index: int, export: PartitionedExport, previous: Mapping[str, FileRecord]) -> dict[str, Any]:
    return export.write_part(index, previous)


class ExportProgress(NamedTuple):
    """Files and rows finished of an export's totals."""

    files_done: int
    files_total: int
    rows_done: int
    rows_total: int

    @property
    def fraction(self) -> float:
        """Rows done / rows in all (1.0 for an empty split once its file is done)."""
        if self.rows_total == 0:
            return self.files_done / max(1, self.files_total)
        return self.rows_done / self.rows_total


class ExportJob:
    """An export submitted to a ``dask.distributed`` cluster and not waited for.

    The steps run on the cluster's workers (only they touch the target): prepare, one
    task per file, finalize (the manifest). The client holds small records, never the
    data. A worker lost mid-job has its tasks run again elsewhere by the scheduler; a
    file is renamed into place only when whole, so the output is the same.

    Attributes
    ----------
    job_id : str
        32 hex digits, unique per submission.
    export : PartitionedExport
        What is written where.
    """

    def __init__(self, client: Any, export: PartitionedExport) -> None:
        self.job_id = job = uuid.uuid4().hex
        self.export = export
        self._client = client
        n = len(export.parts)
        # Futures, not a delayed graph: building and merging the graphs of 15,000 delayed
        # files took 20-50 s here, client.map well under a second. The export is one task's
        # result, so each worker fetches it once (its copy keeps the compiled plan from file
        # to file) and a worker lost with it has it recomputed (scattered data would be gone).
        source = client.submit(_identity, export, key=f"juniper-export-{job}", pure=False)
        self._prepare = client.submit(PartitionedExport.prepare, source, key=f"juniper-prepare-{job}")
        keys = [f"juniper-part-{job}-{i}" for i in range(n)]
        self._parts = client.map(_write_part, range(n), export=source, previous=self._prepare, key=keys)
        self._finalize = client.submit(
            PartitionedExport.finalize, source, self._parts, key=f"juniper-finalize-{job}"
        )
        self._futures = [source, self._prepare, *self._parts, self._finalize]
        self._rows = {f.key: p.stop - p.start for f, p in zip(self._parts, export.parts, strict=True)}
        self._cancelled = False

    @property
    def status(self) -> str:
        """``queued`` (not yet prepared), ``running``, ``done``, ``failed`` or ``cancelled``."""
        if self._cancelled:
            return "cancelled"
        state = self._finalize.status
        if state == "finished":
            return "done"
        if state in ("error", "lost", "cancelled") or self._prepare.status == "error":
            # "cancelled" without cancel(): the scheduler dropped the job (it restarted, or
            # the client lost its connection), a failure to report, not a choice.
            return "failed"
        return "running" if self._prepare.status == "finished" else "queued"

    def progress(self) -> ExportProgress:
        """Files finished so far (read from the client's futures: no network call)."""
        done = [f for f in self._parts if f.status == "finished"]
        return ExportProgress(
            len(done), len(self._parts), sum(self._rows[f.key] for f in done), self.export.n_rows
        )

    def error(self) -> str | None:
        """``"<Error>: <message>"`` of a failed job (asks the scheduler), else None."""
        if self.status != "failed":
            return None
        for future in (self._prepare, self._finalize):
            if future.status == "error":
                exc = future.exception()
                return f"{type(exc).__name__}: {exc}"
        return (
            f"the cluster dropped the job (its last task is {self._finalize.status}: the scheduler "
            "restarted or the connection to it was lost); submit the export again to finish it"
        )

    def result(self, timeout: float | None = None) -> ExportResult:
        """Wait for the manifest; the task's own error for a failed job.

        Raises
        ------
        concurrent.futures.CancelledError
            For a cancelled job.
        TimeoutError
            When ``timeout`` seconds pass first.
        """
        result: ExportResult = self._finalize.result(timeout=timeout)
        return result

    def wait(self, progress: Progress | None = None, timeout: float | None = None) -> ExportResult:
        """:meth:`result`, calling ``progress(rows)`` as each file finishes; cancels the
        job when interrupted (Ctrl-C) or failed."""
        distributed = _require("distributed")
        try:
            if progress is not None:
                for future in distributed.as_completed(self._parts, timeout=timeout):
                    if future.status == "finished":
                        progress(self._rows[future.key])
            return self.result(timeout)
        except BaseException:
            self.cancel()
            raise

    def cancel(self) -> None:
        """Stop the job: tasks not started are dropped; a file being written is finished
        or abandoned whole (never half in place), and a later run of the same export
        keeps what was finished."""
        if self._finalize.status in ("finished", "error"):
            return
        self._cancelled = True
        self._client.cancel(self._futures)


def submit_export(
    client: Any,
    recipe: Recipe,
    url: str,
    *,
    fmt: str = "parquet",
    split: str = "full",
    rows_per_file: int | None = None,
    backend: str = "auto",
    storage_options: Mapping[str, Any] | None = None,
) -> ExportJob:
    """Start an export on a ``dask.distributed`` cluster and return at once.

    Parameters are those of :func:`write_parquet`, with ``fmt`` ``"parquet"`` or
    ``"arrow"`` and a ``distributed.Client`` (see :func:`connect`).

    Raises
    ------
    ParamsError
        For a bad format, split or ``rows_per_file`` (before anything is submitted);
        problems with ``url`` (another export there, foreign files) fail the job.
    """
    export = PartitionedExport.of(
        recipe,
        url,
        fmt=fmt,
        split=split,
        rows_per_file=rows_per_file,
        backend=backend,
        storage_options=storage_options,
    )
    return ExportJob(client, export)


# --------------------------------------------------------------------------- waited-for writes


def _client_of(scheduler: Any) -> Any:
    """The distributed client to use: ``scheduler`` itself, or the active default
    client when ``scheduler`` is None; None for Dask's local schedulers."""
    if isinstance(scheduler, str):
        return None
    try:
        distributed = importlib.import_module("distributed")
    except ImportError:
        distributed = None
    if scheduler is None:
        if distributed is None:
            return None
        try:
            return distributed.default_client()
        except ValueError:  # no client is active
            return None
    if distributed is None or not isinstance(scheduler, distributed.Client):
        raise TypeError(
            "scheduler must be None, a distributed.Client or the name of a Dask scheduler "
            f"('threads', 'sync', 'processes'), not {type(scheduler).__name__}"
        )
    return scheduler


def _run_locally(export: PartitionedExport, scheduler: str, progress: Progress | None) -> ExportResult:
    """The export on one of Dask's local schedulers: every task runs in this process, so
    prepare and finalize run here too; the files are a bag of one index per partition
    (one blockwise layer: built in milliseconds for any number of files)."""
    bag = _require("dask.bag")
    callbacks = _require("dask.callbacks")
    previous = export.prepare()
    n = len(export.parts)
    files = bag.from_sequence(range(n), npartitions=n).map(_write_part, export, previous)

    def finished(key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        if progress is not None and isinstance(key, tuple) and key[0] == files.name:
            part = export.parts[key[1]]
            progress(part.stop - part.start)

    with callbacks.Callback(posttask=finished):
        records = files.compute(scheduler=scheduler)
    return export.finalize(records)


def _write(
    fmt: str,
    recipe: Recipe,
    url: str,
    split: str,
    rows_per_file: int | None,
    backend: str,
    scheduler: Any,
    storage_options: Mapping[str, Any] | None,
    progress: Progress | None,
) -> ExportResult:
    export = PartitionedExport.of(
        recipe,
        url,
        fmt=fmt,
        split=split,
        rows_per_file=rows_per_file,
        backend=backend,
        storage_options=storage_options,
    )
    client = _client_of(scheduler)
    if client is not None:
        return ExportJob(client, export).wait(progress)
    return _run_locally(export, scheduler or "threads", progress)


def write_parquet(
    recipe: Recipe,
    url: str,
    *,
    split: str = "full",
    rows_per_file: int | None = None,
    backend: str = "auto",
    scheduler: Any = None,
    storage_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write one split of ``recipe`` as partitioned Parquet at ``url``, on Dask's workers.

    Parameters
    ----------
    recipe : Recipe
    url : str
        A local directory or an fsspec URL (``s3://bucket/path``, ``file:///data/x``),
        created if absent; it must be empty or hold an earlier run of this same export.
        Every worker writes to it, so on a cluster it must be storage they all reach.
    split : {"full", "train", "test"}
    rows_per_file : int, optional
        Rows per file; default about 128 MiB of X, y and label per file. At most
        100,000 files.
    backend : str
        ``"auto"`` (resolved on each worker for the whole split) or a backend name.
    scheduler : distributed.Client or str, optional
        Default: the active ``distributed`` client if there is one, else Dask's threaded
        scheduler; or a client, or a scheduler name (``"threads"``, ``"sync"``).
    storage_options : mapping, optional
        Passed to fsspec (credentials travel to the workers with the tasks: prefer the
        workers' own environment).
    progress : callable, optional
        Called with each finished file's row count, in this process.

    Returns
    -------
    ExportResult
        The manifest (also written to ``<url>/_manifest.json``: the recipe, the split,
        each file's name, row range ``[start, stop)``, bytes and sha256) and which files
        this run wrote or kept. File ``i`` holds rows ``[i * rows_per_file, ...)``; read
        in file order, the rows equal ``generate_rows(recipe, split=split)`` bit for bit
        (on the same backend). Columns: ``X`` fixed_size_list<float32>[n_features],
        ``y`` fixed_size_list<float32>[n_classes] (one-hot), ``label`` int32.

    Raises
    ------
    MissingDependencyError
        If dask, fsspec or pyarrow is missing.
    ParamsError
        For a bad split or ``rows_per_file``, or a ``url`` that holds something else.
    """
    return _write("parquet", recipe, url, split, rows_per_file, backend, scheduler, storage_options, progress)


def write_arrow_files(
    recipe: Recipe,
    url: str,
    *,
    split: str = "full",
    rows_per_file: int | None = None,
    backend: str = "auto",
    scheduler: Any = None,
    storage_options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """:func:`write_parquet`, as Arrow IPC files (``part-NNNNN.arrow``, the random-access
    "file" format, uncompressed: what ``pyarrow.dataset(format="arrow")``,
    ``pandas.read_feather`` and ``polars.scan_ipc`` read, memory-mapped)."""
    return _write("arrow", recipe, url, split, rows_per_file, backend, scheduler, storage_options, progress)


# --------------------------------------------------------------------------- clusters


def connect(address: str, *, timeout: float = 30.0) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address``, or of a new local cluster.

    Parameters
    ----------
    address : str
        A scheduler address (``tcp://host:8786``, ``tls://...``), or ``"local:N"``: a
        cluster of N worker processes on this machine, one task at a time each, Numba
        given ``cores // N`` threads each; it closes with the client.
    timeout : float
        Seconds to wait for the scheduler.

    Raises
    ------
    ParamsError
        For an empty address or ``local:N`` with N not a whole number >= 1.
    OSError
        When the scheduler cannot be reached in time.
    """
    distributed = _require("distributed")
    kind, sep, count = address.strip().partition(":")
    if kind == "local" and sep:
        workers = int(count) if count.isdigit() else 0
        if workers < 1:
            raise ParamsError(
                f"a local cluster is local:N with N >= 1 worker processes, got {address!r}",
                [("dask", "local:N needs N >= 1")],
            )
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        return distributed.Client(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # Each worker's Numba and BLAS get their share of the cores, not all of them.
            env={"NUMBA_NUM_THREADS": threads, "OMP_NUM_THREADS": threads},
            timeout=timeout,
        )
    if not address.strip():
        raise ParamsError(
            "a Dask scheduler address is tcp://host:port (or local:N)", [("dask", "empty address")]
        )
    return distributed.Client(address.strip(), timeout=timeout)
