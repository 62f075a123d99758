"""Finding a dataset for a request: 404 when absent, expired, or not even a possible ID."""

from __future__ import annotations

import re

from fastapi import HTTPException

from juniper_data_service.context import ServiceContext
from juniper_data_service.storage.base import Entry

# What a dataset ID can look like: "{generator}-{version}-{16 hex}", with room to spare.
_DATASET_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")


def possible_id(dataset_id: str) -> bool:
    return bool(_DATASET_ID.match(dataset_id))


def not_found(dataset_id: str) -> HTTPException:
    return HTTPException(404, f"dataset {dataset_id!r} not found (never created, deleted, or expired)")


async def find(ctx: ServiceContext, dataset_id: str) -> Entry:
    """The live dataset, or a 404."""
    entry: Entry | None = None
    if possible_id(dataset_id):
        entry = await ctx.blocking(ctx.store.get, dataset_id, ctx.now())
    if entry is None:
        raise not_found(dataset_id)
    return entry


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """True when an ``If-None-Match`` header names ``etag`` (or ``*``); weak prefixes compare equal."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags
