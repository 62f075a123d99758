"""Compiled recipes: everything a recipe implies, worked out once.

A :class:`Plan` holds what every batch of every artifact of a recipe needs (the
shape, the split sizes, and for an index-pure version its kernel, constants and
permutation) so that a writer streaming thousands of batches builds them once, not
per batch. It is the one place where a version's implementation record is turned
into behaviour: :class:`KernelPlan` for an
:class:`~juniper_data_core.generators.base.IndexPure` version, :class:`SequentialPlan`
for a :class:`~juniper_data_core.generators.base.Sequential` one, :class:`TablePlan`
for a :class:`~juniper_data_core.generators.base.FromTable` one (rows read from a source). Everything above it
(generate, generate_rows, the writers, the service) asks the plan, never the version.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np

from juniper_data_core.backends.registry import get_backend, resolve_backend
from juniper_data_core.errors import BackendUnavailableError
from juniper_data_core.generators.base import (
    FromTable,
    Implementation,
    IndexPure,
    Sequential,
    Shape,
    TableRows,
)
from juniper_data_core.generators.kernel import FloatArray, Kernel, Task
from juniper_data_core.split import Permutation, make_permutation, permute, split_sizes

ARRAY_NAMES = ("X_train", "y_train", "X_test", "y_test", "X_full", "y_full")
# Rows whose labels are counted at a time (class_counts): 8 bytes each.
_LABEL_BATCH = 1 << 20


class Plan(ABC):
    """What a recipe computes, compiled. Made by :func:`compile_plan`; read-only."""

    #: True when rows can only be cut from the whole dataset (computed at once); False
    #: when any row range is computed alone.
    sequential: bool

    def __init__(self, shape: Shape, train_ratio: float, test_ratio: float) -> None:
        self.shape = shape
        self.n_train, self.n_test = split_sizes(shape.n_rows, train_ratio, test_ratio)

    def n_rows(self, split: str) -> int:
        """Rows of ``split`` (checked by the caller: full, train or test)."""
        return {"full": self.shape.n_rows, "train": self.n_train, "test": self.n_test}[split]

    @abstractmethod
    def backend_for(self, backend: str, n_rows: int) -> str:
        """The concrete backend that computes ``n_rows`` rows when ``backend`` is asked for
        (``"auto"`` resolved); a BackendUnavailableError for one that cannot."""

    @abstractmethod
    def arrays(self, backend: str) -> dict[str, FloatArray]:
        """The six arrays of the whole dataset, computed on the concrete ``backend``."""

    @abstractmethod
    def rows(
        self, backend: str, split: str, start: int, stop: int, features: bool = True, labels: bool = True
    ) -> tuple[FloatArray, FloatArray]:
        """Rows ``[start, stop)`` of ``split`` on the concrete ``backend``: ``(X, y)``, a part
        not asked for with no columns."""

    @abstractmethod
    def class_counts(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Rows of each class in the full dataset (int64, length ``n_classes``)."""

    def extra_meta(self) -> dict[str, Any]:
        """What a dataset's meta adds beyond the recipe and its sizes (a source's id, label
        mapping and normalisation statistics); nothing for a generated dataset."""
        return {}


class KernelPlan(Plan):
    """An index-pure version: the kernel, its constants and the shuffle, each built once, when
    first needed (a create that finds its dataset stored asks only which backend runs it)."""

    sequential = False

    def __init__(self, shape: Shape, params: Any, impl: IndexPure) -> None:
        super().__init__(shape, params.train_ratio, params.test_ratio)
        self._params = params
        self._impl = impl
        self.shuffle = bool(params.shuffle)

    @functools.cached_property
    def _built(self) -> tuple[Kernel, Any]:
        return self._impl.build(self._params)

    @property
    def kernel(self) -> Kernel:
        return self._built[0]

    @property
    def consts(self) -> Any:
        return self._built[1]

    @functools.cached_property
    def permutation(self) -> Permutation:
        return make_permutation(self.shape.n_rows, self._params.rng_seed)

    def backend_for(self, backend: str, n_rows: int) -> str:
        return resolve_backend(backend, n_rows)

    def task(self, split: str, start: int, stop: int, features: bool = True, labels: bool = True) -> Task:
        """The backend task for rows ``[start, stop)`` of ``split``."""
        offset = self.n_train if split == "test" else 0
        perm = self.permutation if split != "full" and self.shuffle else None
        shape = self.shape
        return Task(
            self.kernel,
            self.consts,
            shape.n_features,
            shape.n_classes,
            offset + start,
            offset + stop,
            perm,
            features,
            labels,
        )

    def rows(
        self, backend: str, split: str, start: int, stop: int, features: bool = True, labels: bool = True
    ) -> tuple[FloatArray, FloatArray]:
        return get_backend(backend).compute(self.task(split, start, stop, features, labels))

    def arrays(self, backend: str) -> dict[str, FloatArray]:
        from juniper_data_core.backends.numpy import gather

        n_train, n_test = self.n_train, self.n_test
        X_full, y_full = self.rows(backend, "full", 0, self.shape.n_rows)
        if self.shuffle and get_backend(backend).recompute_shuffled:
            # Compiled backends compute shuffled rows faster than they can gather them from
            # full: a gather is a random memory read per row (docs/benchmarks.md).
            X_train, y_train = self.rows(backend, "train", 0, n_train)
            X_test, y_test = self.rows(backend, "test", 0, n_test)
        elif self.shuffle:
            # NumPy computes rows slowly: train and test are copied from full, not recomputed.
            X_train, y_train = gather(X_full, y_full, self.permutation, 0, n_train)
            X_test, y_test = gather(X_full, y_full, self.permutation, n_train, n_train + n_test)
        else:
            X_train, y_train = X_full[:n_train].copy(), y_full[:n_train].copy()
            end = n_train + n_test
            X_test, y_test = X_full[n_train:end].copy(), y_full[n_train:end].copy()
        return dict(zip(ARRAY_NAMES, (X_train, y_train, X_test, y_test, X_full, y_full), strict=True))

    def class_counts(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        from juniper_data_core.backends.numpy import NAMESPACE

        n, k = self.shape.n_rows, self.shape.n_classes
        total = np.zeros(k, np.int64)
        for start in range(0, n, _LABEL_BATCH):
            rows = np.arange(start, min(n, start + _LABEL_BATCH), dtype=np.int64)
            labels = np.asarray(self.kernel.label(NAMESPACE, rows, self.consts), dtype=np.int64)
            total += np.bincount(labels, minlength=k)[:k]
        return total


class SequentialPlan(Plan):
    """A version that produces the whole dataset at once: rows are cut from it."""

    sequential = True

    def __init__(self, shape: Shape, params: Mapping[str, Any], impl: Sequential, version: str) -> None:
        super().__init__(shape, params["train_ratio"], params["test_ratio"])
        self.params = params
        self.impl = impl
        self.version = version

    def backend_for(self, backend: str, n_rows: int) -> str:
        if backend != "auto" and backend not in self.impl.backends:
            raise BackendUnavailableError(
                f"generator version {self.version} runs on the {' or '.join(self.impl.backends)} "
                f"backend only, not {backend!r}; use backend={self.impl.backends[0]!r} or version 2.0.0"
            )
        return self.impl.backends[0]

    def arrays(self, backend: str) -> dict[str, FloatArray]:
        return self.impl.produce(self.params)

    def rows(
        self, backend: str, split: str, start: int, stop: int, features: bool = True, labels: bool = True
    ) -> tuple[FloatArray, FloatArray]:
        arrays = self.arrays(backend)
        return arrays[f"X_{split}"][start:stop], arrays[f"y_{split}"][start:stop]

    def class_counts(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        y_full = self.arrays(self.impl.backends[0])["y_full"]
        counts: np.ndarray[Any, np.dtype[np.int64]] = y_full.sum(axis=0, dtype=np.float64).astype(np.int64)
        return counts


class TablePlan(Plan):
    """A version whose rows are read from a table: the same keyed shuffle and split as a
    kernel's, rows gathered from the table on the host (so every backend and every chunking
    gives the same arrays), min-max statistics from the training rows when asked."""

    sequential = False
    #: Rows read at a time when statistics or class counts are computed.
    STATS_BATCH = 1 << 18

    def __init__(self, shape: Shape, params: Any, impl: FromTable, table: TableRows) -> None:
        super().__init__(shape, params.train_ratio, params.test_ratio)
        self._params = params
        self.table = table
        self.shuffle = bool(params.shuffle)

    @functools.cached_property
    def permutation(self) -> Permutation:
        return make_permutation(self.shape.n_rows, self._params.rng_seed)

    def backend_for(self, backend: str, n_rows: int) -> str:
        return resolve_backend(backend, n_rows)

    def source_rows(self, split: str, start: int, stop: int) -> slice | np.ndarray[Any, np.dtype[np.int64]]:
        """The table rows of positions ``[start, stop)`` of ``split``: a slice when contiguous."""
        offset = self.n_train if split == "test" else 0
        if split == "full" or not self.shuffle:
            return slice(offset + start, offset + stop)
        from juniper_data_core.backends.numpy import NAMESPACE

        positions = np.arange(offset + start, offset + stop, dtype=np.int64)
        rows: np.ndarray[Any, np.dtype[np.int64]] = permute(NAMESPACE, positions, self.permutation)
        return rows

    @functools.cached_property
    def scaling(
        self,
    ) -> tuple[np.ndarray[Any, np.dtype[np.float64]], np.ndarray[Any, np.dtype[np.float64]]] | None:
        """``(minimum, range)`` per feature over the training rows (float64; a zero range is
        1), or None when the table does not normalise. With no training rows, all rows."""
        if not self.table.normalize:
            return None
        split, n = ("train", self.n_train) if self.n_train else ("full", self.shape.n_rows)
        lo = np.full(self.shape.n_features, np.inf)
        hi = np.full(self.shape.n_features, -np.inf)
        for start in range(0, n, self.STATS_BATCH):
            X = self.table.features(self.source_rows(split, start, min(n, start + self.STATS_BATCH)))
            if len(X):
                lo = np.minimum(lo, X.min(axis=0))
                hi = np.maximum(hi, X.max(axis=0))
        if n == 0:
            lo, hi = np.zeros_like(lo), np.ones_like(hi)
        span = hi - lo
        span[span == 0] = 1.0
        return lo, span

    def rows(
        self, backend: str, split: str, start: int, stop: int, features: bool = True, labels: bool = True
    ) -> tuple[FloatArray, FloatArray]:
        rows = self.source_rows(split, start, stop)
        n = stop - start
        if features:
            X = self.table.features(rows)
            if self.scaling is not None:
                lo, span = self.scaling
                X = ((X - lo) / span).astype(np.float32)
        else:
            X = np.empty((n, 0), np.float32)
        y = self._encode(self.table.labels(rows)) if labels else np.empty((n, 0), np.float32)
        return X, y

    def _encode(self, classes: np.ndarray[Any, np.dtype[np.int64]]) -> FloatArray:
        if not self.table.one_hot:
            return classes.astype(np.float32).reshape(-1, 1)
        y = np.zeros((len(classes), self.shape.n_classes), np.float32)
        y[np.arange(len(classes)), classes] = 1.0
        return y

    def arrays(self, backend: str) -> dict[str, FloatArray]:
        parts = [self.rows(backend, s, 0, self.n_rows(s)) for s in ("train", "test", "full")]
        (X_train, y_train), (X_test, y_test), (X_full, y_full) = parts
        return dict(zip(ARRAY_NAMES, (X_train, y_train, X_test, y_test, X_full, y_full), strict=True))

    def class_counts(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        n, k = self.shape.n_rows, self.table.n_classes
        total = np.zeros(k, np.int64)
        for start in range(0, n, self.STATS_BATCH):
            labels = self.table.labels(slice(start, min(n, start + self.STATS_BATCH)))
            total += np.bincount(labels, minlength=k)[:k]
        return total

    def extra_meta(self) -> dict[str, Any]:
        meta = dict(self.table.meta())
        if self.scaling is not None:
            lo, span = self.scaling
            meta["normalization"] = {
                "method": "minmax",
                "fitted_on": "train" if self.n_train else "full",
                "minimum": [float(v) for v in lo],
                "range": [float(v) for v in span],
            }
        return meta


def compile_plan(
    shape: Shape, model: Any, params: Mapping[str, Any], impl: Implementation, version: str
) -> Plan:
    """The plan of a recipe: ``model`` is its validated params model, ``params`` the
    canonical dict (both with the seed set), ``impl`` its version's record."""
    if isinstance(impl, IndexPure):
        return KernelPlan(shape, model, impl)
    if isinstance(impl, FromTable):
        return TablePlan(shape, model, impl, impl.rows(model))
    return SequentialPlan(shape, params, impl, version)
