"""A dataset's meta document: built from its recipe, its request and what generation told us.

``class_distribution`` is needed on create but the whole dataset is not: it is
counted from the labels alone (integer arithmetic for the block-structured
generators), batch by batch, never from the features.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from juniper_data_core import Recipe
from juniper_data_core.generators import V1
from juniper_data_service.errors import RowBudgetError
from juniper_data_service.schemas import CreateDatasetRequest
from juniper_data_service.storage.base import Meta, iso

ARTIFACT_FORMATS = ["npz", "arrow"]
_LABEL_BATCH = 1 << 20


def check_budget(rows: int, limit: int) -> None:
    """Raise :class:`RowBudgetError` when ``rows`` passes ``limit`` (``JUNIPER_DATA_MAX_ROWS``)."""
    if rows > limit:
        raise RowBudgetError(rows, limit)


def class_distribution(recipe: Recipe) -> dict[str, int]:
    """Rows per class of the full dataset, counted from labels only (blocking)."""
    n_classes = recipe.shape.n_classes
    if recipe.version == V1:
        import juniper_data_core as jd

        counts = jd.generate(recipe, backend="numpy").meta["class_distribution"]
        return {str(k): int(counts.get(str(k), 0)) for k in range(n_classes)}
    from juniper_data_core.backends.numpy import NAMESPACE

    kernel, consts = recipe.spec.build(recipe.params)
    total = np.zeros(n_classes, np.int64)
    n = recipe.shape.n_rows
    for start in range(0, n, _LABEL_BATCH):
        rows = np.arange(start, min(n, start + _LABEL_BATCH), dtype=np.int64)
        labels = np.asarray(kernel.label(NAMESPACE, rows, consts), dtype=np.int64)
        total += np.bincount(labels, minlength=n_classes)[:n_classes]
    return {str(k): int(v) for k, v in enumerate(total)}


def new_meta(
    recipe: Recipe,
    body: CreateDatasetRequest,
    *,
    backend: str,
    distribution: dict[str, int],
    checksum: str | None,
    now: float,
) -> Meta:
    """The meta of a dataset created now (compat field order)."""
    n_train, n_test = recipe.split_sizes
    shape = recipe.shape
    fields: dict[str, Any] = {
        "dataset_id": recipe.dataset_id,
        "generator": recipe.generator,
        "generator_version": recipe.version,
        "params": dict(recipe.params),
        "n_samples": n_train + n_test,
        "n_features": shape.n_features,
        "n_classes": shape.n_classes,
        "n_train": n_train,
        "n_test": n_test,
        "class_distribution": distribution,
        "artifact_formats": list(ARTIFACT_FORMATS),
        "created_at": iso(now),
        "checksum": checksum,
        "tags": sorted(set(body.tags)),
        "ttl_seconds": body.ttl_seconds,
        "expires_at": iso(now + body.ttl_seconds) if body.ttl_seconds is not None else None,
        "last_accessed_at": None,
        "access_count": 0,
        "backend": backend,
        "dataset_name": body.name,
        "dataset_version": None,
        "description": body.description,
        "created_by": body.created_by,
        "parent_dataset_id": body.parent_dataset_id,
    }
    return fields
