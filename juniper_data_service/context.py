"""What one app holds: settings, the store, the artifact cache, metrics, the create locks, the warm-up."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

import juniper_data_core as jd
from juniper_data_service.keyed_lock import KeyedLocks, SingleFlight
from juniper_data_service.metrics import ServiceMetrics
from juniper_data_service.settings import Settings
from juniper_data_service.storage import ArtifactCache, DatasetStore
from juniper_data_service.warmup import KernelWarmup

T = TypeVar("T")


@dataclass
class ServiceContext:
    """Per-app state (``app.state.ctx``); nothing here is global."""

    settings: Settings
    store: DatasetStore
    cache: ArtifactCache
    metrics: ServiceMetrics
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    flights: SingleFlight = field(default_factory=SingleFlight)
    warmup: KernelWarmup = field(default_factory=lambda: KernelWarmup(None))
    """Start-up compilation of kernels; a finished no-op unless the app starts one."""
    sources: Any = None
    """The source store (:class:`~juniper_data_service.sources.SourceStore`), if the app has one."""
    from_source: frozenset[str] = field(
        default_factory=lambda: frozenset(n for n, g in jd.generator_catalog().items() if g["from_source"])
    )
    """Generators whose recipes read files when built (a source's labels, MNIST's IDX files),
    as registered when the app was made: their creates do that work in worker threads."""

    @staticmethod
    def now() -> float:
        return time.time()

    async def blocking(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a blocking call (database, disk, generation) in a worker thread."""
        return await run_in_threadpool(fn, *args, **kwargs)


def get_ctx(request: Request) -> ServiceContext:
    """FastAPI dependency: the app's :class:`ServiceContext`."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


#: A route's parameter annotation for the app's context (``ctx: Ctx``).
Ctx = Annotated[ServiceContext, Depends(get_ctx)]
