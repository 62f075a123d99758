"""``/v1/health``, ``/v1/health/live`` and ``/v1/health/ready`` (never behind auth or rate limits)."""

from __future__ import annotations

import time

from fastapi import APIRouter

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


def _check_storage(ctx: ServiceContext) -> DependencyHealth:
    t0 = time.perf_counter()
    try:
        ctx.store.ping()
        count = ctx.store.count(ctx.now())
    except Exception as err:  # noqa: BLE001 - any failure means "not healthy", reported as such
        ms = (time.perf_counter() - t0) * 1000
        return DependencyHealth(
            status="unhealthy", latency_ms=round(ms, 3), message=f"{type(err).__name__}: {err}"
        )
    ms = (time.perf_counter() - t0) * 1000
    name = type(ctx.store).__name__
    return DependencyHealth(status="healthy", latency_ms=round(ms, 3), message=f"{name}, {count} datasets")


def _check_cache(ctx: ServiceContext) -> DependencyHealth:
    t0 = time.perf_counter()
    ok = ctx.cache.root.is_dir()
    ms = round((time.perf_counter() - t0) * 1000, 3)
    if not ok:
        return DependencyHealth(
            status="unhealthy", latency_ms=ms, message=f"{ctx.cache.root} is not a directory"
        )
    return DependencyHealth(status="healthy", latency_ms=ms, message=str(ctx.cache.root))


@router.get("/ready", response_model=Readiness)
async def ready(ctx: Ctx) -> Readiness:
    """Readiness: the store answers a query (``ready``); the artifact cache is optional (``degraded``).
    ``kernels`` reports the start-up compilation (``warming`` does not make the service unready:
    requests are served meanwhile, the first ones on a kernel being compiled wait for it)."""
    storage = await ctx.blocking(_check_storage, ctx)
    cache = await ctx.blocking(_check_cache, ctx)
    backends = await ctx.blocking(jd.available_backends)
    status = "ready" if storage.status == "healthy" and cache.status == "healthy" else "degraded"
    return Readiness(
        status=status,
        version=__version__,
        service="juniper-data",
        timestamp=iso(ctx.now()) or "",
        dependencies={"storage": storage, "artifact_cache": cache, "kernels": ctx.warmup.health()},
        backends=backends,
    )
