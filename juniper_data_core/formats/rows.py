"""Row batches of a split of a Recipe or a Dataset: what the artifact writers stream.

The cut: this module decides *which* rows are written and computes them in bounded
batches; :mod:`~juniper_data_core.formats.npz` and :mod:`~juniper_data_core.formats.arrow`
decide how the bytes look. A Recipe is generated batch by batch from its compiled
:attr:`~juniper_data_core.Recipe.plan`, so memory stays bounded whatever the size; a
Dataset is sliced (views, no copies, no regeneration).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from juniper_data_core.dataset import Dataset, backend_for, generate
from juniper_data_core.errors import ParamsError
from juniper_data_core.generators.kernel import FloatArray
from juniper_data_core.recipe import Recipe, check_split

Source = Recipe | Dataset
#: The most rows in one batch, whatever the row width.
MAX_BATCH_ROWS = 1 << 20


def batch_rows_for(n_features: int, n_classes: int, target_bytes: int) -> int:
    """Rows per batch so that a batch of X and y holds about ``target_bytes`` (at least
    one row, at most :data:`MAX_BATCH_ROWS`)."""
    row_bytes = 4 * (n_features + n_classes)
    return max(1, min(MAX_BATCH_ROWS, target_bytes // max(1, row_bytes)))


@dataclass(frozen=True)
class RowRange:
    """Rows ``[start, stop)`` of ``split``, with ``n_features`` and ``n_classes`` columns."""

    split: str
    start: int
    stop: int
    n_features: int
    n_classes: int

    @property
    def n_rows(self) -> int:
        return self.stop - self.start


def source_recipe(source: Source) -> Recipe:
    """The recipe of a Recipe or a Dataset; a TypeError for anything else."""
    if isinstance(source, Dataset):
        return source.recipe
    if isinstance(source, Recipe):
        return source
    raise TypeError(f"source must be a Recipe or a Dataset, not {type(source).__name__}")


def _split_shape(source: Source, split: str) -> tuple[int, int, int]:
    if isinstance(source, Dataset):
        X, y = source.arrays[f"X_{split}"], source.arrays[f"y_{split}"]
        return int(X.shape[0]), int(X.shape[1]), int(y.shape[1])
    shape = source.shape
    return source.n_rows(split), shape.n_features, shape.n_classes


def row_range(source: Source, split: str, offset: int = 0, limit: int | None = None) -> RowRange:
    """Rows ``[offset, offset + limit)`` of ``split``, clipped to the split's end.

    Raises
    ------
    ParamsError
        For an unknown split, a negative ``offset`` or ``limit``, or an ``offset``
        beyond the split's last row (``offset == n_rows`` is an empty range).
    """
    source_recipe(source)
    check_split(split)
    n, n_features, n_classes = _split_shape(source, split)
    if offset < 0 or offset > n:
        raise ParamsError(
            f"offset must be in [0, {n}] for the {split} split of {n} rows, got {offset}",
            [("offset", f"must be in [0, {n}]")],
        )
    if limit is not None and limit < 0:
        raise ParamsError(
            f"limit must be >= 0 (or None for all rows), got {limit}", [("limit", "must be >= 0")]
        )
    stop = n if limit is None else min(n, offset + limit)
    return RowRange(split, offset, stop, n_features, n_classes)


class RowSource:
    """Computes row batches of one source on one backend.

    ``backend="auto"`` is resolved once, so every batch comes from the same backend
    (bit-identical rows): for ``n_rows`` equal to the whole dataset this is the choice
    :func:`~juniper_data_core.generate` makes, for a range the one
    :func:`~juniper_data_core.generate_rows` makes. Every batch reuses the recipe's
    compiled plan. A sequential version (1.0.0, small) is generated whole once and sliced.
    """

    def __init__(self, source: Source, backend: str, n_rows: int) -> None:
        self.recipe = source_recipe(source)
        self._dataset: Dataset | None = source if isinstance(source, Dataset) else None
        if self._dataset is None and self.recipe.plan.sequential:
            self._dataset = generate(self.recipe, backend=backend)
        if self._dataset is not None:
            self._backend = self._dataset.backend
        else:
            self._backend = backend_for(self.recipe, backend, n_rows=n_rows)

    @property
    def backend(self) -> str:
        """The concrete backend the batches come from."""
        return self._backend

    @property
    def in_memory(self) -> bool:
        """True when batches are slices of arrays already in memory (cheap to take twice)."""
        return self._dataset is not None

    def batches(
        self, rows: RowRange, batch_rows: int, *, features: bool = True, labels: bool = True
    ) -> Iterator[tuple[FloatArray, FloatArray]]:
        """``(X, y)`` C-contiguous little-endian float32 batches of at most ``batch_rows`` rows.

        ``features=False`` or ``labels=False``: that part is not computed (an array with
        no columns when generated; slices of a Dataset are cheap and come whole).
        """
        if batch_rows < 1:
            raise ParamsError(f"batch_rows must be >= 1, got {batch_rows}", [("batch_rows", "must be >= 1")])
        for start in range(rows.start, rows.stop, batch_rows):
            stop = min(rows.stop, start + batch_rows)
            if self._dataset is not None:
                X = self._dataset.arrays[f"X_{rows.split}"][start:stop]
                y = self._dataset.arrays[f"y_{rows.split}"][start:stop]
            else:
                X, y = self.recipe.plan.rows(self._backend, rows.split, start, stop, features, labels)
            yield _le_f32(X), _le_f32(y)


def _le_f32(a: FloatArray) -> FloatArray:
    # A no-op for arrays the engine made; a copy only for odd layouts or byte orders.
    return np.ascontiguousarray(a, dtype=np.dtype("<f4"))
