"""Removing expired datasets: on demand and from a background task in the app's lifespan."""

from __future__ import annotations

import asyncio
import logging

from juniper_data_service.context import ServiceContext
from juniper_data_service.creation import cache_keys
from juniper_data_service.logs import LOGGER

log = logging.getLogger(f"{LOGGER}.reaper")


async def reap(ctx: ServiceContext) -> list[str]:
    """Delete expired datasets and their cached bytes; their IDs."""
    gone: list[str] = await ctx.blocking(ctx.store.delete_expired, ctx.now())
    for dataset_id in gone:
        await ctx.blocking(ctx.cache.remove, *cache_keys(dataset_id))
    return gone


async def reap_forever(ctx: ServiceContext) -> None:
    """Reap every ``REAPER_INTERVAL_SECONDS`` until cancelled; a failed round is logged, not fatal."""
    while True:
        await asyncio.sleep(ctx.settings.reaper_interval_seconds)
        try:
            gone = await reap(ctx)
        except Exception:
            log.exception("reaper round failed")
            continue
        if gone:
            log.info("reaped %d expired datasets", len(gone))
