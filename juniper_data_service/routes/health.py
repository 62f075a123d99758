"""``/v1/health``, ``/v1/health/live`` and ``/v1/health/ready`` (never behind auth or rate limits)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Response

import juniper_data_core as jd
from juniper_data_service import __version__
from juniper_data_service.context import Ctx, ServiceContext
from juniper_data_service.schemas import DependencyHealth, Health, Liveness, Readiness
from juniper_data_service.storage.base import iso

router = APIRouter(prefix="/health", tags=["health"])


@router.get("", response_model=Health)
async def health() -> Health:
    """The process answers."""
    return Health(status="ok", version=__version__)


@router.get("/live", response_model=Liveness)
async def live() -> Liveness:
    """Liveness: the event loop answers."""
    return Liveness(status="alive")


def _check(what: str, probe: Any) -> DependencyHealth:
    """Time ``probe()``: healthy with its message, or unhealthy with the error's first line."""
    t0 = time.perf_counter()
    try:
        message = probe()
    except Exception as err:  # noqa: BLE001 - any failure means "not healthy", reported as such
        ms = round((time.perf_counter() - t0) * 1000, 3)
        first = (str(err).strip() or type(err).__name__).splitlines()[0]
        return DependencyHealth(status="unhealthy", latency_ms=ms, message=f"{what}: {first}")
    ms = round((time.perf_counter() - t0) * 1000, 3)
    return DependencyHealth(status="healthy", latency_ms=ms, message=message)


def _storage(ctx: ServiceContext) -> str:
    ctx.store.ping()
    where = getattr(ctx.store, "where", None)
    name = type(ctx.store).__name__
    return f"{name}{f' ({where})' if where else ''}, {ctx.store.count(ctx.now())} datasets"


def _blobs(ctx: ServiceContext) -> str:
    ctx.cache.blobs.ping()
    return ctx.cache.url


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency is down (named in dependencies)"}},
)
async def ready(ctx: Ctx, response: Response) -> Readiness:
    """Readiness: the metadata store answers a query and the blob store (artifacts, sources)
    can be listed: ``ready``; either down: ``degraded`` with 503, the dependency named.
    ``kernels`` reports the start-up compilation (``warming`` does not make the service
    unready: requests are served meanwhile, the first ones on a kernel being compiled wait for it)."""
    storage = await ctx.blocking(_check, "metadata store", lambda: _storage(ctx))
    blobs = await ctx.blocking(_check, "blob store", lambda: _blobs(ctx))
    backends = await ctx.blocking(jd.available_backends)
    healthy = storage.status == "healthy" and blobs.status == "healthy"
    if not healthy:
        response.status_code = 503
    return Readiness(
        status="ready" if healthy else "degraded",
        version=__version__,
        service="juniper-data",
        timestamp=iso(ctx.now()) or "",
        dependencies={"storage": storage, "artifact_cache": blobs, "kernels": ctx.warmup.health()},
        backends=backends,
    )
