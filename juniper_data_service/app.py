"""The app factory and the server entry point.

:func:`create_app` builds everything per app (store, cache, metrics registry, rate
limiter) and nothing at import time, so tests can run several apps side by side.
Middleware, outermost first: edge (request ID, security headers, access log,
request metrics, last-resort 500), CORS, methods (HEAD, OPTIONS, 405's Allow), guard
(API key, rate limit, failed key attempts), body limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from pydantic import ValidationError
from starlette.middleware.cors import CORSMiddleware

import juniper_data_core as jd
from juniper_data_service import __version__
from juniper_data_service.body_limit import BodyLimitMiddleware
from juniper_data_service.context import ServiceContext
from juniper_data_service.edge import EdgeMiddleware
from juniper_data_service.errors import error_responses, install_error_handlers
from juniper_data_service.exports import ExportJobs
from juniper_data_service.logs import configure_logging
from juniper_data_service.methods import MethodsMiddleware, PathMethods
from juniper_data_service.metrics import ServiceMetrics
from juniper_data_service.reaper import reap_forever
from juniper_data_service.responses import SafeJSONResponse
from juniper_data_service.route_templates import RouteTemplates
from juniper_data_service.routes import api_routers
from juniper_data_service.routes import metrics as metrics_route
from juniper_data_service.routes import web as web_route
from juniper_data_service.security import ApiKeys, Guard, GuardMiddleware, RateLimiter
from juniper_data_service.settings import Settings
from juniper_data_service.sources import SourceStore
from juniper_data_service.storage import (
    ArtifactCache,
    DatasetStore,
    StoreUnavailableError,
    open_blobs,
    open_store,
)
from juniper_data_service.warmup import KernelWarmup

EXPOSED_HEADERS = [
    "X-Request-ID",
    "ETag",
    "Content-Disposition",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]


def _context(settings: Settings, store: DatasetStore | None) -> ServiceContext:
    store = store if store is not None else open_store(settings)
    blobs = open_blobs(settings)
    cache = ArtifactCache(blobs, settings.cache_max_bytes, prefix="artifacts/")
    ctx_store = store
    metrics = ServiceMetrics(__version__, lambda: ctx_store.count(ServiceContext.now()), cache)
    warmup = KernelWarmup(settings.backend if settings.warm_kernels else None)
    return ServiceContext(
        settings=settings,
        store=store,
        cache=cache,
        metrics=metrics,
        warmup=warmup,
        sources=SourceStore(settings.sources_dir, blobs, lock=store.lock if store.shared else None),
    )


def create_app(settings: Settings | None = None, *, store: DatasetStore | None = None) -> FastAPI:
    """A JuniperData app. ``settings`` default to the environment (``JUNIPER_DATA_*``);
    ``store`` defaults to the one ``settings.storage`` chooses (SQLite under
    ``settings.storage_path``). Raises :class:`StoreUnavailableError` when it cannot be reached."""
    settings = settings if settings is not None else Settings()
    configure_logging(settings.log_level, settings.log_format)
    ctx = _context(settings, store)
    exports = ExportJobs(settings.dask_scheduler)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        reaper = asyncio.create_task(reap_forever(ctx), name="juniper-data-reaper")
        ctx.warmup.start()
        # Probing backends (JAX, Numba) takes seconds once; do it now, off the loop.
        probe = asyncio.create_task(ctx.blocking(jd.available_backends))
        try:
            yield
        finally:
            for task in (reaper, probe):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await ctx.blocking(exports.close)
            ctx.store.close()

    app = FastAPI(
        title="JuniperData",
        version=__version__,
        description="Synthetic ML datasets as pure functions of a recipe and the row index.",
        default_response_class=SafeJSONResponse,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.exports = exports
    mounted = [("/v1", router) for router in api_routers()]
    if settings.metrics_enabled:
        mounted.append(("", metrics_route.router))
    mounted.append(("", web_route.router))
    for prefix, router in mounted:
        # Every route can answer 413 (the body limit reads any body) and 422; the guarded ones
        # 401 and 429 too (health and metrics are exempt).
        guarded = router is not metrics_route.router and router.prefix != "/health"
        common = error_responses(401, 413, 422, 429) if guarded else error_responses(413, 422)
        app.include_router(router, prefix=prefix, responses=common)
    docs = ["/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"]
    templates = RouteTemplates.of(mounted, docs)
    install_error_handlers(app)
    app.add_exception_handler(StoreUnavailableError, _store_unavailable)
    max_clients = settings.rate_limit_max_clients
    limiter = None
    if settings.rate_limit_enabled:
        limiter = RateLimiter(settings.rate_limit_requests_per_minute, max_clients=max_clients)
    failures = None
    if settings.auth_failures_per_minute > 0:
        failures = RateLimiter(settings.auth_failures_per_minute, max_clients=max_clients)
    guard = Guard(ApiKeys(settings.api_keys), limiter, failures, frozenset(settings.trusted_proxies))
    # Uploads stream to disk under their own limit (JUNIPER_DATA_MAX_UPLOAD_BYTES).
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, streamed=("/v1/sources",))
    app.add_middleware(GuardMiddleware, guard=guard)
    app.add_middleware(MethodsMiddleware, methods=PathMethods(mounted, docs))
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
        )
    app.add_middleware(EdgeMiddleware, metrics=ctx.metrics, route_of=templates)
    return app


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    """The metadata store's server is down (or restarting): 503, try again shortly."""
    detail = f"the metadata store is unavailable, retry shortly: {exc}"
    return SafeJSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "1"})


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The options uvicorn runs the app with (besides host and port)."""
    return {
        "log_level": settings.log_level.lower(),
        "access_log": False,  # the edge middleware logs each request once
        # uvicorn's default of 5 s closes connections that clients' pools (httpx: 5 s,
        # requests: none) still hold and reuse, and their next request fails with a reset.
        "timeout_keep_alive": settings.keep_alive_seconds,
        "limit_concurrency": settings.limit_concurrency,
        # Which X-Forwarded-For to believe is JUNIPER_DATA_TRUSTED_PROXIES' call alone
        # (security.client_address); uvicorn's own rewrite would trust any local peer.
        "proxy_headers": False,
    }


def run(host: str | None = None, port: int | None = None) -> None:
    """Serve with uvicorn; settings from the environment, ``host``/``port`` override them."""
    import uvicorn

    try:
        settings = Settings()
        app = create_app(settings)
    except ValidationError as err:  # one line per wrong setting, no traceback
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        raise SystemExit(f"juniper-data: cannot start: {where}: {first['msg']}") from None
    except StoreUnavailableError as err:
        raise SystemExit(f"juniper-data: cannot start: {err}") from None
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, **uvicorn_options(settings))
