"""Peers of the engine, timed in the same run, at the same sizes, producing the same arrays.

They share the engine's groups (``full-<size>``, ``contract-<size>``, ``split-<size>``),
so pytest-benchmark lists them side by side and ``benchmarks/report.py`` computes
every engine result's ratio to each of them.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.conftest import size_label
from benchmarks.peers import (
    ROW_BYTES,
    SKLEARN_PEERS,
    CopyFloor,
    MemorySink,
    engine_params,
    first_touch,
    row_multiset,
    shuffled_split,
    sklearn_contract,
    sklearn_full,
    v1_generation,
    v1_pipeline,
    v1_spiral_full,
    v1_spiral_params,
    v1_split,
)

# Values are compared up to this size (as in test_engine.py).
CHECKED_ROWS = 100_000
# Bytes the engine writes in each kind of group (2 features + 2 classes, float32).
KIND_BYTES = {"full": ROW_BYTES, "contract": 2 * ROW_BYTES, "split": ROW_BYTES}


def _assert_partition(arrays: dict[str, np.ndarray]) -> None:
    """A contract peer's train and test rows are its full rows, each once (values, not shapes)."""
    split = row_multiset(
        np.vstack([arrays["X_train"], arrays["X_test"]]), np.vstack([arrays["y_train"], arrays["y_test"]])
    )
    np.testing.assert_array_equal(split, row_multiset(arrays["X_full"], arrays["y_full"]))


def _check(arrays: dict[str, np.ndarray], n: int) -> None:
    total = 0
    for name, a in arrays.items():
        assert a.dtype == np.float32 and a.ndim == 2 and a.shape[1] == 2, name
        if name.startswith("y"):
            assert np.all(a[:1000].sum(axis=1) == 1.0)
        if name.endswith("_full"):
            assert len(a) == n
        else:
            total += len(a)
    assert total in (0, 2 * n)  # train + test rows, X and y


@pytest.mark.parametrize("peer", SKLEARN_PEERS)
def test_sklearn_full(run, peer: str, n_rows: int) -> None:
    pytest.importorskip("sklearn")
    out = run(
        lambda: sklearn_full(peer, n_rows),
        n_rows,
        group=f"full-{size_label(n_rows)}",
        role="peer",
        kind="full",
        peer=f"{peer}",
        bytes=n_rows * ROW_BYTES,
    )
    _check(out, n_rows)


@pytest.mark.parametrize("peer", SKLEARN_PEERS)
def test_sklearn_contract(run, peer: str, n_rows: int) -> None:
    pytest.importorskip("sklearn")
    out = run(
        lambda: sklearn_contract(peer, n_rows),
        n_rows,
        group=f"contract-{size_label(n_rows)}",
        role="peer",
        kind="contract",
        peer=f"{peer}+split",
        bytes=2 * n_rows * ROW_BYTES,
    )
    _check(out, n_rows)
    assert len(out) == 6
    _assert_partition(out)


def test_v1_generation(run, n_rows: int) -> None:
    out = run(
        lambda: v1_generation(n_rows),
        n_rows,
        group=f"full-{size_label(n_rows)}",
        role="peer",
        kind="full",
        peer="v1-generation",
        bytes=n_rows * ROW_BYTES,
    )
    _check(out, n_rows)
    if n_rows <= CHECKED_ROWS:
        # The replica against the 1.0.0 pipeline of the engine (generate_v1), bit for bit.
        from juniper_data_core.compat import generate_v1

        ref = generate_v1("spiral", v1_spiral_params(n_rows), enforce_caps=False)
        assert out["X_full"].tobytes() == ref["X_full"].tobytes()
        assert out["y_full"].tobytes() == ref["y_full"].tobytes()


def test_v1_pipeline(run, n_rows: int) -> None:
    out = run(
        lambda: v1_pipeline(n_rows),
        n_rows,
        group=f"contract-{size_label(n_rows)}",
        role="peer",
        kind="contract",
        peer="v1-pipeline",
        bytes=2 * n_rows * ROW_BYTES,
    )
    _check(out, n_rows)
    assert len(out) == 6
    _assert_partition(out)
    if n_rows <= CHECKED_ROWS:
        # The pipeline's full arrays against the replica of the earlier service's algorithm.
        X, Y = v1_spiral_full(v1_spiral_params(n_rows))
        assert out["X_full"].tobytes() == X.tobytes() and out["y_full"].tobytes() == Y.tobytes()


@pytest.mark.parametrize("peer", ["np-permutation+take", "v1-split"])
def test_split_peer(run, peer: str, n_rows: int) -> None:
    full = v1_generation(n_rows)
    X, Y = full["X_full"], full["y_full"]
    fn = shuffled_split if peer == "np-permutation+take" else v1_split
    out = run(
        lambda: fn(X, Y),
        n_rows,
        group=f"split-{size_label(n_rows)}",
        role="peer",
        kind="split",
        peer=peer,
        bytes=n_rows * ROW_BYTES,
    )
    _check(out, n_rows)
    _assert_partition({**out, "X_full": X, "y_full": Y})


def test_savez_peer(run, n_rows: int) -> None:
    """``np.savez`` of the six arrays of a generated dataset into the same in-memory sink
    as the writers alone (``write-<size>``): the bar ``write_npz``/``write_arrow`` of a
    Dataset must clear."""
    import juniper_data_core as jd

    r = jd.recipe("spiral", engine_params("spiral", n_rows))
    arrays = jd.generate(r, backend="numba" if "numba" in jd.available_backends() else "numpy").arrays

    sink = MemorySink()

    def savez() -> int:
        sink.rewind()
        np.savez(sink, **arrays)  # type: ignore[arg-type]
        return sink.nbytes

    written = run(
        savez,
        r.shape.n_rows,
        group=f"write-{size_label(n_rows)}",
        role="peer",
        kind="write",
        peer="np.savez",
        format="npz",
        bytes=savez(),
    )
    assert written >= sum(a.nbytes for a in arrays.values())


@pytest.mark.parametrize("kind", ["full", "contract", "split"])
@pytest.mark.parametrize("floor", ["copy", "first-touch"])
def test_floor(run, floor: str, kind: str, n_rows: int) -> None:
    nbytes = KIND_BYTES[kind] * n_rows
    fn = CopyFloor(nbytes) if floor == "copy" else (lambda: first_touch(nbytes))
    out = run(
        fn,
        n_rows,
        group=f"{kind}-{size_label(n_rows)}",
        role="floor",
        kind=kind,
        peer=f"floor-{floor}",
        bytes=nbytes,
    )
    assert out.nbytes == nbytes and out[-1] == 1.0


def test_v1_replica_is_bit_exact() -> None:
    """The 1.0.0 generation peer computes exactly generate_v1's X_full and y_full."""
    from juniper_data_core.compat import generate_v1

    for n in (20, 2000, 30_000):
        p = v1_spiral_params(n)
        ref = generate_v1("spiral", p, enforce_caps=False)
        X, Y = v1_spiral_full(p)
        assert X.tobytes() == ref["X_full"].tobytes()
        assert Y.tobytes() == ref["y_full"].tobytes()
    p = {**v1_spiral_params(200), "clockwise": False, "origin": [1.0, -2.0], "noise": 0.7, "seed": 7}
    ref = generate_v1("spiral", p)
    X, _ = v1_spiral_full(p)
    assert X.tobytes() == ref["X_full"].tobytes()
