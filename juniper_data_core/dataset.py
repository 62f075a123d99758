"""Generating datasets and row ranges from recipes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from juniper_data_core.errors import ParamsError
from juniper_data_core.generators.kernel import FloatArray
from juniper_data_core.recipe import Recipe, as_recipe, check_split


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
        if y_full.shape[1] == 1:
            # Labels as one column of class indices (``one_hot_labels=false``): the plan counts them.
            counts = r.plan.class_counts()
        else:
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
            "n_classes": len(counts),
            "n_train": n_train,
            "n_test": n_test,
            "class_distribution": {str(k): int(v) for k, v in enumerate(counts)},
            # A source's id, label mapping and normalisation statistics; nothing when generated.
            **r.plan.extra_meta(),
        }

    def __repr__(self) -> str:
        return f"Dataset({self.recipe.dataset_id!r}, backend={self.backend!r})"


def backend_for(recipe: Recipe, backend: str = "auto", *, n_rows: int | None = None) -> str:
    """The concrete backend that computes ``recipe`` (or ``n_rows`` of its rows) when
    ``backend`` is asked for: ``"auto"`` resolved as :func:`generate` resolves it.

    Raises
    ------
    BackendUnavailableError
        For an unknown backend, one that cannot run here, or one the recipe's version
        does not run on (1.0.0 runs on NumPy only).
    """
    return recipe.plan.backend_for(backend, recipe.shape.n_rows if n_rows is None else n_rows)


def class_distribution(recipe: Recipe) -> dict[str, int]:
    """Rows of each class in the full dataset, ``{"0": n0, "1": n1, ...}``, counted from
    the labels alone (no features are computed; the frozen 1.0.0 versions generate)."""
    return {str(k): int(v) for k, v in enumerate(recipe.plan.class_counts())}


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
    name = backend_for(r, backend)
    return Dataset(r, r.plan.arrays(name), name)


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

    Equal, bit for bit on a given backend, to the same rows of :func:`generate`. A
    sequential version (the frozen 1.0.0 ones) cuts them from the whole dataset.
    """
    r = as_recipe(name_or_recipe, params, version)
    total = r.n_rows(check_split(split))
    stop = total if stop is None else stop
    if not 0 <= start <= stop <= total:
        raise ParamsError(
            f"row range [{start}, {stop}) is outside the {split} split of {total} rows; "
            f"use 0 <= start <= stop <= {total}",
            [("start", "out of range")],
        )
    return r.plan.rows(backend_for(r, backend, n_rows=stop - start), split, start, stop)
