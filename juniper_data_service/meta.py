"""A dataset's meta document: built from its recipe, its request and what generation told us.

A large dataset's ``class_distribution`` comes from
:func:`juniper_data_core.class_distribution` (labels alone, never the features).
"""

from __future__ import annotations

from typing import Any

from juniper_data_core import Recipe
from juniper_data_service.errors import ByteBudgetError, RowBudgetError
from juniper_data_service.schemas import DatasetRequest
from juniper_data_service.settings import Settings
from juniper_data_service.storage.base import Meta, iso

ARTIFACT_FORMATS = ["npz", "arrow"]


def check_budget(what: str, rows: int, n_bytes: int, settings: Settings) -> None:
    """Refuse, before any work, ``rows`` over ``JUNIPER_DATA_MAX_ROWS`` or ``n_bytes`` over
    ``JUNIPER_DATA_MAX_BYTES`` (422 naming the limit, the size asked and the setting)."""
    if rows > settings.max_rows:
        raise RowBudgetError(rows, settings.max_rows)
    if n_bytes > settings.max_bytes:
        raise ByteBudgetError(what, n_bytes, settings.max_bytes)


def new_meta(
    recipe: Recipe,
    body: DatasetRequest,
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
        # Classes, not y's columns: one column of class indices when one_hot_labels=false.
        "n_classes": len(distribution) if distribution else shape.n_classes,
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
        # A source's id, label mapping and normalisation statistics; nothing when generated.
        **recipe.plan.extra_meta(),
    }
    return fields
