"""HTTP routes, one module per resource; :func:`api_routers` in the order they must be matched."""

from __future__ import annotations

from fastapi import APIRouter

from juniper_data_service.routes import (
    artifacts,
    batch,
    datasets,
    exports,
    generators,
    health,
    preview,
    sources,
)


def api_routers() -> list[APIRouter]:
    """The ``/v1`` routers; fixed paths (``/datasets/batch-*``) before ``/datasets/{dataset_id}``."""
    return [
        health.router,
        generators.router,
        batch.router,
        datasets.router,
        artifacts.router,
        preview.router,
        exports.router,
        sources.router,
    ]
