"""Compiled recipes: everything a recipe implies, worked out once.

A :class:`Plan` holds what every batch of every artifact of a recipe needs (the
shape, the split sizes, and for an index-pure version its kernel, constants and
permutation) so that a writer streaming thousands of batches builds them once, not
per batch. It is the one place where a version's implementation record is turned
into behaviour: :class:`KernelPlan` for an
:class:`~juniper_data_core.generators.base.IndexPure` version, :class:`SequentialPlan`
for a :class:`~juniper_data_core.generators.base.Sequential` one. Everything above it
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
from juniper_data_core.generators.base import Implementation, IndexPure, Sequential, Shape
from juniper_data_core.generators.kernel import FloatArray, Kernel, Task
from juniper_data_core.split import Permutation, make_permutation, split_sizes

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


def compile_plan(
    shape: Shape, model: Any, params: Mapping[str, Any], impl: Implementation, version: str
) -> Plan:
    """The plan of a recipe: ``model`` is its validated params model, ``params`` the
    canonical dict (both with the seed set), ``impl`` its version's record."""
    if isinstance(impl, IndexPure):
        return KernelPlan(shape, model, impl)
    return SequentialPlan(shape, params, impl, version)
