"""Generating datasets and row ranges from recipes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from juniper_data_core.backends.base import FloatArray, Task, gather
from juniper_data_core.backends.registry import get_backend, resolve_backend
from juniper_data_core.errors import BackendUnavailableError, ParamsError
from juniper_data_core.generators import V1
from juniper_data_core.recipe import SPLITS, Recipe, as_recipe
from juniper_data_core.split import make_permutation

ARRAY_NAMES = ("X_train", "y_train", "X_test", "y_test", "X_full", "y_full")


class Dataset:
    """A generated dataset: six host arrays and what made them.

    Attributes
    ----------
    arrays : dict[str, ndarray]
        ``X_train, y_train, X_test, y_test, X_full, y_full``; X float32
        (rows, n_features), y float32 one-hot (rows, n_classes). ``X_full``/``y_full``
        are in generation order (class blocks in sequence); train and test are the
        first ``n_train`` and next ``n_test`` rows of the shuffled order.
    recipe : Recipe
    backend : str
        The backend that computed the arrays.
    """

    def __init__(self, recipe: Recipe, arrays: dict[str, FloatArray], backend: str) -> None:
        self.recipe = recipe
        self.arrays = arrays
        self.backend = backend

    @property
    def warnings(self) -> list[str]:
        return list(self.recipe.warnings)

    @property
    def meta(self) -> dict[str, Any]:
        """dataset_id, generator, generator_version, params, backend, sizes, class_distribution."""
        r = self.recipe
        y_full = self.arrays["y_full"]
        counts = y_full.sum(axis=0, dtype=np.float64).astype(np.int64)
        n_train, n_test = len(self.arrays["X_train"]), len(self.arrays["X_test"])
        return {
            "dataset_id": r.dataset_id,
            "generator": r.generator,
            "generator_version": r.version,
            "params": dict(r.params),
            "backend": self.backend,
            "n_samples": n_train + n_test,
            "n_full": len(y_full),
            "n_features": int(self.arrays["X_full"].shape[1]),
            "n_classes": int(y_full.shape[1]),
            "n_train": n_train,
            "n_test": n_test,
            "class_distribution": {str(k): int(v) for k, v in enumerate(counts)},
        }

    def __repr__(self) -> str:
        return f"Dataset({self.recipe.dataset_id!r}, backend={self.backend!r})"


def _v1_backend(backend: str) -> str:
    if backend not in ("auto", "numpy"):
        raise BackendUnavailableError(
            f"generator version 1.0.0 runs on the numpy backend only, not {backend!r}; "
            "use backend='numpy' or version 2.0.0"
        )
    return "numpy"


def _task(
    r: Recipe, start: int, stop: int, shuffled: bool, features: bool = True, labels: bool = True
) -> Task:
    kernel, consts = r.spec.build(r.params)
    shape = r.shape
    perm = make_permutation(shape.n_rows, r.seed) if shuffled else None
    return Task(kernel, consts, shape.n_features, shape.n_classes, start, stop, perm, features, labels)


def _rows(
    r: Recipe,
    backend: str,
    split: str,
    start: int,
    stop: int,
    features: bool = True,
    labels: bool = True,
) -> tuple[FloatArray, FloatArray]:
    offset = r.split_sizes[0] if split == "test" else 0
    shuffled = split != "full" and bool(r.params["shuffle"])
    task = _task(r, offset + start, offset + stop, shuffled, features, labels)
    return get_backend(backend).compute(task)


def generate(
    name_or_recipe: str | Recipe,
    params: Mapping[str, Any] | None = None,
    *,
    backend: str = "auto",
    version: str | None = None,
) -> Dataset:
    """The whole dataset in memory.

    Parameters
    ----------
    name_or_recipe : str or Recipe
        A generator name (with ``params``) or a :class:`Recipe`.
    params : mapping, optional
        Generator parameters (see :func:`recipe`).
    backend : str
        ``"auto"`` (default; ``JUNIPER_DATA_BACKEND`` overrides), ``"numpy"``,
        ``"numba"``, ``"jax"`` or ``"cupy"``.
    version : str, optional
        Generator version; default 2.0.0.

    Examples
    --------
    >>> ds = generate("spiral", {"n_points_per_spiral": 100, "seed": 1})
    >>> ds.arrays["X_full"].shape, ds.arrays["y_full"].dtype
    ((200, 2), dtype('float32'))
    """
    r = as_recipe(name_or_recipe, params, version)
    if r.version == V1:
        from juniper_data_core.compat import generate_v1

        return Dataset(r, generate_v1(r.generator, r.params), _v1_backend(backend))
    name = resolve_backend(backend, r.shape.n_rows)
    X_full, y_full = _rows(r, name, "full", 0, r.shape.n_rows)
    n_train, n_test = r.split_sizes
    if r.params["shuffle"] and get_backend(name).recompute_shuffled:
        # Compiled backends compute shuffled rows faster than they can gather them from
        # full: a gather is a random memory read per row (docs/benchmarks.md).
        X_train, y_train = _rows(r, name, "train", 0, n_train)
        X_test, y_test = _rows(r, name, "test", 0, n_test)
    elif r.params["shuffle"]:
        # NumPy computes rows slowly: train and test are copied from full, not recomputed.
        perm = make_permutation(r.shape.n_rows, r.seed)
        X_train, y_train = gather(X_full, y_full, perm, 0, n_train)
        X_test, y_test = gather(X_full, y_full, perm, n_train, n_train + n_test)
    else:
        X_train, y_train = X_full[:n_train].copy(), y_full[:n_train].copy()
        X_test, y_test = X_full[n_train : n_train + n_test].copy(), y_full[n_train : n_train + n_test].copy()
    arrays = dict(zip(ARRAY_NAMES, (X_train, y_train, X_test, y_test, X_full, y_full), strict=True))
    return Dataset(r, arrays, name)


def generate_rows(
    name_or_recipe: str | Recipe,
    params: Mapping[str, Any] | None = None,
    *,
    split: str = "full",
    start: int = 0,
    stop: int | None = None,
    backend: str = "auto",
    version: str | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Rows ``[start, stop)`` of one split as host arrays ``(X, y)``, computing only those rows.

    Equal, bit for bit on a given backend, to the same rows of :func:`generate`.
    Version 1.0.0 is sequential by nature: its rows are cut from the whole dataset.
    """
    r = as_recipe(name_or_recipe, params, version)
    if split not in SPLITS:
        raise ParamsError(f"split must be one of {', '.join(SPLITS)}, got {split!r}", [("split", "unknown")])
    total = r.n_rows(split)
    stop = total if stop is None else stop
    if not 0 <= start <= stop <= total:
        raise ParamsError(
            f"row range [{start}, {stop}) is outside the {split} split of {total} rows; "
            f"use 0 <= start <= stop <= {total}",
            [("start", "out of range")],
        )
    if r.version == V1:
        ds = generate(r, backend=_v1_backend(backend))
        return ds.arrays[f"X_{split}"][start:stop], ds.arrays[f"y_{split}"][start:stop]
    name = resolve_backend(backend, stop - start)
    return _rows(r, name, split, start, stop)
