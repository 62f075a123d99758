"""Engine benchmarks: every generator x every backend present x sizes.

Groups (pytest-benchmark puts the peers of test_peers.py in the same groups):

- ``contract-<size>``: the whole contract dataset, ``jd.generate`` (six arrays);
- ``full-<size>``: ``X_full``/``y_full`` alone, ``generate_rows(split="full")``;
- ``split-<size>``: the shuffled rows alone, ``generate_rows`` of train then test
  (each row computed at its shuffled position);
- ``write-<size>``: the writers alone, ``write_npz``/``write_arrow`` of a generated
  Dataset into a sink that counts bytes (skipped until the writers exist).

Values, not only shapes, are checked at sizes up to 1e5 rows (all of the correctness mode;
the reference costs as much as the benchmark): every backend against the NumPy backend (the
reference: labels and train/test membership exactly, X within the 4-ulp bound of
docs/reproducibility.md), the train and test rows against the full rows (a partition of
them, whatever the shuffle), and ``generate_rows`` against ``generate`` (another path).
"""

from __future__ import annotations

import functools
import io

import numpy as np
import pytest

import juniper_data_core as jd
from benchmarks.conftest import size_label
from benchmarks.peers import ROW_BYTES, MemorySink, engine_params, row_multiset

GENERATORS = ("spiral", "xor", "gaussian", "circles", "checkerboard", "moon")


def _check_xy(X: np.ndarray, Y: np.ndarray, n: int) -> None:
    assert X.shape == (n, 2) and Y.shape == (n, 2)
    assert X.dtype == np.float32 and Y.dtype == np.float32
    assert X.flags.c_contiguous and Y.flags.c_contiguous
    head = Y[:1000]
    assert np.all(head.sum(axis=1) == 1.0)
    assert np.isfinite(X[:1000]).all()


# Values are compared up to this size (a reference costs as much as the benchmark).
CHECKED_ROWS = 100_000
# docs/reproducibility.md: backends agree within 4 ulp of the largest magnitude compared.
ULP_BOUND = 4


@functools.lru_cache(maxsize=8)
def _reference(generator: str, n_rows: int) -> dict[str, np.ndarray]:
    """The NumPy backend's contract dataset (the reference every backend is held to)."""
    return jd.generate(jd.recipe(generator, engine_params(generator, n_rows)), backend="numpy").arrays


def _assert_close(got: np.ndarray, want: np.ndarray, backend: str, name: str) -> None:
    """Exact on NumPy; elsewhere within ``ULP_BOUND`` ulp of the largest value."""
    if backend == "numpy":
        np.testing.assert_array_equal(got, want, err_msg=name)
        return
    bound = ULP_BOUND * np.spacing(np.max(np.abs(want)))
    assert np.max(np.abs(got.astype(np.float64) - want)) <= bound, name


def _assert_matches(arrays: dict[str, np.ndarray], ref: dict[str, np.ndarray], backend: str) -> None:
    """Labels (so membership of each class) exactly, X within the bound."""
    for name, array in arrays.items():
        if name.startswith("y"):
            np.testing.assert_array_equal(array, ref[name], err_msg=name)
        else:
            _assert_close(array, ref[name], backend, name)


def _assert_partition(a: dict[str, np.ndarray], n_train: int) -> None:
    """Train and test are the full rows, each once, and shuffled (not the first n_train in order)."""
    split = row_multiset(np.vstack([a["X_train"], a["X_test"]]), np.vstack([a["y_train"], a["y_test"]]))
    np.testing.assert_array_equal(split, row_multiset(a["X_full"], a["y_full"]))
    assert not np.array_equal(a["X_train"], a["X_full"][:n_train])


@pytest.mark.parametrize("generator", GENERATORS)
def test_contract(run, generator: str, backend: str, n_rows: int) -> None:
    r = jd.recipe(generator, engine_params(generator, n_rows))
    n = r.shape.n_rows
    ds = run(
        lambda: jd.generate(r, backend=backend),
        n,
        group=f"contract-{size_label(n_rows)}",
        role="engine",
        kind="contract",
        generator=generator,
        backend=backend,
        bytes=2 * n * ROW_BYTES,
    )
    a = ds.arrays
    assert ds.backend == backend
    n_train, n_test = r.split_sizes
    assert n_train + n_test == n
    _check_xy(a["X_full"], a["y_full"], n)
    _check_xy(a["X_train"], a["y_train"], n_train)
    _check_xy(a["X_test"], a["y_test"], n_test)
    # A shuffle of the same rows: class counts agree.
    np.testing.assert_array_equal(
        a["y_train"].sum(0) + a["y_test"].sum(0), a["y_full"].sum(0, dtype=np.float32)
    )
    if n_rows <= CHECKED_ROWS:
        _assert_partition(a, n_train)
        if backend != "numpy":
            _assert_matches(a, _reference(generator, n_rows), backend)


@pytest.mark.parametrize("generator", GENERATORS)
def test_full(run, generator: str, backend: str, n_rows: int) -> None:
    r = jd.recipe(generator, engine_params(generator, n_rows))
    n = r.shape.n_rows
    X, Y = run(
        lambda: jd.generate_rows(r, split="full", backend=backend),
        n,
        group=f"full-{size_label(n_rows)}",
        role="engine",
        kind="full",
        generator=generator,
        backend=backend,
        bytes=n * ROW_BYTES,
    )
    _check_xy(X, Y, n)
    # Generation order: class blocks in sequence, so the first row is class 0.
    assert Y[0, 0] == 1.0 or generator in ("xor", "checkerboard")
    if n_rows <= CHECKED_ROWS:
        # Rows alone (generate_rows) against the whole dataset (generate) on the reference.
        _assert_matches({"X_full": X, "y_full": Y}, _reference(generator, n_rows), backend)


@pytest.mark.parametrize("generator", GENERATORS)
def test_split(run, generator: str, backend: str, n_rows: int) -> None:
    r = jd.recipe(generator, engine_params(generator, n_rows))
    n = r.shape.n_rows
    n_train, n_test = r.split_sizes

    def split() -> tuple[np.ndarray, ...]:
        return (
            *jd.generate_rows(r, split="train", backend=backend),
            *jd.generate_rows(r, split="test", backend=backend),
        )

    X_train, y_train, X_test, y_test = run(
        split,
        n,
        group=f"split-{size_label(n_rows)}",
        role="engine",
        kind="split",
        generator=generator,
        backend=backend,
        bytes=n * ROW_BYTES,
    )
    _check_xy(X_train, y_train, n_train)
    _check_xy(X_test, y_test, n_test)
    if n_rows <= CHECKED_ROWS:
        # Each row computed at its shuffled position: the rows generate() gathers.
        got = {"X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test}
        _assert_matches(got, _reference(generator, n_rows), backend)


def _writer(fmt: str):  # type: ignore[no-untyped-def]
    fn = getattr(jd, f"write_{fmt}", None)
    if fn is None:
        try:
            module = __import__(f"juniper_data_core.formats.{fmt}", fromlist=[f"write_{fmt}"])
            fn = getattr(module, f"write_{fmt}", None)
        except ImportError:
            fn = None
    if fn is None:
        pytest.skip(f"write_{fmt} does not exist yet")
    if fmt == "arrow":
        pytest.importorskip("pyarrow")
    return fn


def _assert_holds(fmt: str, data: memoryview, arrays: dict[str, np.ndarray]) -> None:
    if fmt == "npz":
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            assert sorted(npz.files) == sorted(arrays)
            for name, array in arrays.items():
                np.testing.assert_array_equal(npz[name], array, err_msg=name)
        return
    import pyarrow as pa

    table = pa.ipc.open_stream(data).read_all()
    X = np.asarray(table.column("X").combine_chunks().flatten()).reshape(-1, arrays["X_full"].shape[1])
    np.testing.assert_array_equal(X, arrays["X_full"])
    np.testing.assert_array_equal(np.asarray(table.column("label")), np.argmax(arrays["y_full"], axis=1))


@pytest.mark.parametrize("source", ["dataset", "recipe"])
@pytest.mark.parametrize("fmt", ["npz", "arrow"])
def test_write(run, fmt: str, source: str, n_rows: int) -> None:
    """A writer alone (source="dataset": arrays already generated), or a Recipe
    streamed batch by batch (source="recipe": generation + writing, bounded memory)."""
    write = _writer(fmt)
    r = jd.recipe("spiral", engine_params("spiral", n_rows))
    n = r.shape.n_rows
    backend = "numba" if "numba" in jd.available_backends() else "numpy"
    src = jd.generate(r, backend=backend) if source == "dataset" else r

    sink = MemorySink()

    def write_all() -> int:
        sink.rewind()
        written = write(src, sink, backend=backend)
        assert written == sink.nbytes
        return sink.nbytes

    nbytes = write_all()
    # The sink holds the artifact itself, not only its length: read back by NumPy or pyarrow
    # (not by this project's code), it holds the arrays the engine generates.
    _assert_holds(fmt, sink.getbuffer(), jd.generate(r, backend=backend).arrays)
    written = run(
        write_all,
        n,
        group=f"write-{size_label(n_rows)}",
        role="engine",
        kind="write" if source == "dataset" else "stream",
        generator="spiral",
        backend=backend,
        format=fmt,
        bytes=nbytes,
        payload_bytes=(2 if fmt == "npz" else 1) * n * ROW_BYTES,
    )
    # NPZ: the six arrays (2 n rows of 16 bytes); Arrow: one split, "full" (n rows); plus headers.
    payload = (2 if fmt == "npz" else 1) * n * ROW_BYTES
    assert written == nbytes >= payload
