"""What the engine is compared with, producing the same output arrays.

Every peer returns float32 ``X`` (rows, 2) and float32 one-hot ``Y`` (rows, 2), the
arrays the engine produces, so a ratio compares like with like:

- scikit-learn ``make_moons`` / ``make_circles`` / ``make_blobs`` converted to float32
  one-hot (the full arrays), and the same plus a shuffled 80/20 split
  (``np.random`` permutation + ``np.take``: the whole contract dataset);
- the 1.0.0 pipeline (:func:`juniper_data_core.compat.generate_v1` without caps) and
  the 1.0.0 spiral generation alone (:func:`v1_spiral_full`, a replica of the
  earlier service's algorithm, checked bit for bit against ``generate_v1``);
- the machine's floor: a NumPy copy of the same bytes into touched memory, and a
  first-touch write (``np.empty`` + fill) of the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np

from juniper_data_core.generators import REGISTRY

F32 = np.float32
ROW_BYTES = 16  # X (2 float32) + one-hot Y (2 float32)
SEED = 0
TRAIN_RATIO = 0.8


# ---- the engine's generators at a given number of rows -------------------------


def engine_params(generator: str, n: int) -> dict[str, Any]:
    """The generator's default example (``GeneratorSpec.examples``) with ``n`` rows (n
    divisible by 4): 2 features, 2 classes, seed 42."""
    return REGISTRY[generator].example("default", n, seed=42)


def row_multiset(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The rows of ``(X, Y)`` as one sorted structured array: equal for two pairs of arrays
    exactly when they hold the same rows, each as often, in any order (a split's check)."""
    both = np.ascontiguousarray(np.hstack([X, Y]))
    return np.sort(both.view([("", both.dtype)] * both.shape[1]).ravel())


# ---- scikit-learn peers ---------------------------------------------------------


def one_hot(labels: np.ndarray, n_classes: int = 2) -> np.ndarray:
    return (labels[:, None] == np.arange(n_classes)[None, :]).astype(F32)


def _sklearn(name: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    if name == "make_moons":
        X, y = datasets.make_moons(n_samples=n, noise=0.1, random_state=SEED)
    elif name == "make_circles":
        X, y = datasets.make_circles(n_samples=n, noise=0.1, factor=0.5, random_state=SEED)
    elif name == "make_blobs":
        X, y = datasets.make_blobs(n_samples=n, centers=2, n_features=2, random_state=SEED)
    else:
        raise ValueError(name)
    return X.astype(F32), one_hot(y)


SKLEARN_PEERS = ("make_moons", "make_circles", "make_blobs")


def sklearn_full(name: str, n: int) -> dict[str, np.ndarray]:
    """scikit-learn generator -> float32 X, float32 one-hot Y (generation order)."""
    X, Y = _sklearn(name, n)
    return {"X_full": X, "y_full": Y}


def shuffled_split(X: np.ndarray, Y: np.ndarray, seed: int = SEED) -> dict[str, np.ndarray]:
    """A shuffled 80/20 split: ``np.random`` permutation + ``np.take`` (the fast gather)."""
    n = len(X)
    perm = np.random.default_rng(seed).permutation(n)
    n_train = round(n * TRAIN_RATIO)
    tr, te = perm[:n_train], perm[n_train:]
    return {
        "X_train": np.take(X, tr, axis=0),
        "y_train": np.take(Y, tr, axis=0),
        "X_test": np.take(X, te, axis=0),
        "y_test": np.take(Y, te, axis=0),
    }


def sklearn_contract(name: str, n: int) -> dict[str, np.ndarray]:
    """The whole contract dataset from a scikit-learn generator: full arrays + shuffled split."""
    X, Y = _sklearn(name, n)
    return {**shuffled_split(X, Y), "X_full": X, "y_full": Y}


# ---- 1.0.0 ------------------------------------------------------------------------


def v1_spiral_params(n: int) -> dict[str, Any]:
    """Complete 1.0.0 canonical spiral params for ``n`` rows (2 arms)."""
    from juniper_data_core.compat import V1_DEFAULTS

    return {**V1_DEFAULTS["spiral"], "n_spirals": 2, "n_points_per_spiral": n // 2, "seed": 42}


def v1_pipeline(n: int) -> dict[str, np.ndarray]:
    """The 1.0.0 compat pipeline: ``generate_v1`` without the 1.0.0 caps (six arrays)."""
    from juniper_data_core.compat import generate_v1

    return generate_v1("spiral", v1_spiral_params(n), enforce_caps=False)


def v1_spiral_full(p: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The 1.0.0 spiral generation alone (``X_full``, ``y_full``), replaying compat/v1.py.

    One ``default_rng(seed)`` (PCG64); arm by arm: float64 ``linspace`` radius and
    angle, n normals for x then n for y, the arm cast to float32; one-hot labels in
    class blocks. ``modern`` algorithm only (the default, and what is benchmarked).
    """
    if p["algorithm"] != "modern":
        raise ValueError("the replica covers the modern algorithm only")
    rng = np.random.default_rng(int(p["seed"]))
    n_arms, n = int(p["n_spirals"]), int(p["n_points_per_spiral"])
    noise, radius, rotations = float(p["noise"]), float(p["radius"]), float(p["n_rotations"])
    ox, oy = (float(v) for v in p["origin"])
    d = 1 if p["clockwise"] else -1
    arms = []
    for i in range(n_arms):
        offset = 2 * np.pi * i / n_arms
        r = np.linspace(0, radius, n)
        t = np.linspace(0, 2 * np.pi * rotations, n) + offset
        x = d * r * np.cos(t) + rng.standard_normal(n) * noise
        y = d * r * np.sin(t) + rng.standard_normal(n) * noise
        arms.append(np.column_stack([x + ox, y + oy]).astype(F32))
    labels = np.repeat(np.arange(n_arms), n)
    Y = np.zeros((n_arms * n, n_arms), dtype=F32)
    Y[np.arange(n_arms * n), labels] = 1.0
    return np.vstack(arms), Y


def v1_generation(n: int) -> dict[str, np.ndarray]:
    X, Y = v1_spiral_full(v1_spiral_params(n))
    return {"X_full": X, "y_full": Y}


def v1_split(X: np.ndarray, Y: np.ndarray, seed: int = 42) -> dict[str, np.ndarray]:
    """The 1.0.0 split alone: a second ``default_rng(seed).permutation`` and fancy indexing."""
    n = len(X)
    order = np.random.default_rng(seed).permutation(n)
    Xs, Ys = X[order], Y[order]
    n_train = round(n * TRAIN_RATIO)
    return {"X_train": Xs[:n_train], "y_train": Ys[:n_train], "X_test": Xs[n_train:], "y_test": Ys[n_train:]}


# ---- the machine's floor ------------------------------------------------------------


class CopyFloor:
    """``np.copyto`` of ``nbytes`` between two buffers already touched (memory bandwidth)."""

    def __init__(self, nbytes: int) -> None:
        self.src = np.ones(nbytes // 4, F32)
        self.dst = np.ones(nbytes // 4, F32)

    def __call__(self) -> np.ndarray:
        np.copyto(self.dst, self.src)
        return self.dst


def first_touch(nbytes: int) -> np.ndarray:
    """A fresh buffer written once: ``np.empty`` + ``fill`` (page faults included)."""
    a = np.empty(nbytes // 4, F32)
    a.fill(1.0)
    return a


# ---- sinks for the writers ----------------------------------------------------------


class MemorySink:
    """A binary file-like object that copies what is written into one reused, preallocated buffer.

    The bytes really land in memory (one copy, as into any buffer), in pages a first round has
    already touched: a round then times the writer, not the kernel zeroing fresh pages or
    ``io.BytesIO`` regrowing. Call :meth:`rewind` before each round.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.nbytes = 0

    def rewind(self) -> None:
        self.nbytes = 0

    def write(self, data: Any) -> int:
        src = memoryview(data).cast("B")
        end = self.nbytes + src.nbytes
        if end > len(self._buffer):
            # Doubling: a first round of n bytes costs O(n) copies; later rounds never grow.
            self._buffer.extend(bytes(max(end, 2 * len(self._buffer)) - len(self._buffer)))
        with memoryview(self._buffer) as view:
            view[self.nbytes : end] = src
        self.nbytes = end
        return src.nbytes

    def getbuffer(self) -> memoryview:
        """What was written since the last :meth:`rewind` (a view: valid until the next write)."""
        return memoryview(self._buffer)[: self.nbytes]

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        # np.savez treats only objects with a ``read`` as file objects; this one is never read.
        raise io.UnsupportedOperation("a MemorySink is written only")

    def tell(self) -> int:
        return self.nbytes

    def close(self) -> None:
        pass
