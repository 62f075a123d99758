"""``/v1/datasets``: create, list, filter, stats, versions, and one dataset's meta, tags, access, delete."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Response
from pydantic import BeforeValidator

from juniper_data_service.context import Ctx
from juniper_data_service.creation import Creator, cache_keys
from juniper_data_service.errors import error_responses
from juniper_data_service.lookup import etag_matches, find, not_found
from juniper_data_service.responses import SafeJSONResponse
from juniper_data_service.schemas import (
    AccessStats,
    CreateDatasetRequest,
    CreateDatasetResponse,
    DatasetListResponse,
    DatasetMeta,
    DatasetStats,
    UpdateTagsRequest,
    VersionList,
)
from juniper_data_service.storage.base import FilterQuery, Meta

router = APIRouter(prefix="/datasets", tags=["datasets"])


def artifact_url(dataset_id: str) -> str:
    return f"/v1/datasets/{dataset_id}/artifact"


@router.post(
    "",
    response_model=CreateDatasetResponse,
    status_code=201,
    responses=error_responses(400, 403, 404, 501, 503),
)
async def create_dataset(body: CreateDatasetRequest, ctx: Ctx) -> CreateDatasetResponse:
    """Create a dataset (or find the identical one): 201 with its meta, artifact URL and warnings."""
    meta, warnings = await Creator(ctx).create(body)
    return CreateDatasetResponse(
        dataset_id=meta["dataset_id"],
        generator=meta["generator"],
        meta=DatasetMeta(**meta),
        artifact_url=artifact_url(meta["dataset_id"]),
        warnings=warnings,
    )


@router.get("", response_model=list[str])
async def list_datasets(
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> list[str]:
    """Live dataset IDs, newest first."""
    ids: list[str] = await ctx.blocking(ctx.store.list_ids, limit, offset, ctx.now())
    return ids


def _iso_text(value: object) -> object:
    # pydantic would read "0.5" or "1700000000" as Unix times; the API documents ISO-8601.
    if isinstance(value, str) and not _ISO_DATE_TIME.match(value.strip()):
        raise ValueError("must be an ISO-8601 date and time, e.g. 2026-12-01T09:30:00Z")
    return value


_ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$")
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]


def _posix(when: datetime | None) -> float | None:
    if when is None:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


@router.get("/filter", response_model=DatasetListResponse)
async def filter_datasets(
    ctx: Ctx,
    generator: Annotated[str | None, Query(max_length=100)] = None,
    # 4,096 characters percent-encode to at most 48 KiB: the request line stays inside what the
    # HTTP server reads (far longer lines get a 400 and a closed connection, not a 422).
    tags: Annotated[str | None, Query(max_length=4096, description="Comma list")] = None,
    tags_match: Literal["any", "all"] = "any",
    created_after: Annotated[IsoDateTime | None, Query(description="ISO-8601; naive = UTC")] = None,
    created_before: Annotated[IsoDateTime | None, Query(description="ISO-8601; naive = UTC")] = None,
    min_samples: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    max_samples: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    include_expired: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> DatasetListResponse:
    """Metas matching every given criterion, newest first, one page and the total."""
    query = FilterQuery(
        generator=generator,
        tags=tuple(t.strip() for t in (tags or "").split(",") if t.strip()),
        tags_match=tags_match,
        created_after=_posix(created_after),
        created_before=_posix(created_before),
        min_samples=min_samples,
        max_samples=max_samples,
        include_expired=include_expired,
        limit=limit,
        offset=offset,
    )
    metas, total = await ctx.blocking(ctx.store.filter, query, ctx.now())
    return DatasetListResponse(
        datasets=[DatasetMeta(**m) for m in metas], total=total, limit=limit, offset=offset
    )


@router.get("/stats", response_model=DatasetStats)
async def dataset_stats(ctx: Ctx) -> DatasetStats:
    """Counts of live datasets by generator and tag, samples, oldest and newest."""
    return DatasetStats(**await ctx.blocking(ctx.store.stats, ctx.now()))


@router.get("/versions", response_model=VersionList)
async def dataset_versions(
    name: Annotated[str, Query(min_length=1, max_length=200)], ctx: Ctx
) -> VersionList:
    """Every live version of a named dataset, oldest first."""
    metas = await ctx.blocking(ctx.store.versions, name, ctx.now())
    return VersionList(
        dataset_name=name,
        versions=[DatasetMeta(**m) for m in metas],
        total=len(metas),
        latest_version=metas[-1]["dataset_version"] if metas else None,
    )


@router.get("/latest", response_model=DatasetMeta, responses=error_responses(404))
async def latest_version(name: Annotated[str, Query(min_length=1, max_length=200)], ctx: Ctx) -> DatasetMeta:
    """The newest version of a named dataset; 404 when there is none."""
    metas = await ctx.blocking(ctx.store.versions, name, ctx.now())
    if not metas:
        raise HTTPException(404, f"no versions of dataset name {name!r}")
    return DatasetMeta(**metas[-1])


def meta_etag(meta: Meta) -> str:
    body = json.dumps(meta, sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


@router.get("/{dataset_id}", response_model=DatasetMeta, responses=error_responses(304, 404))
async def get_dataset(
    dataset_id: str, ctx: Ctx, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    """The dataset's flat meta, with a strong ``ETag``; 304 when ``If-None-Match`` names it."""
    entry = await find(ctx, dataset_id)
    etag = meta_etag(entry.meta)
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    return SafeJSONResponse(DatasetMeta(**entry.meta).model_dump(), headers={"ETag": etag})


@router.get("/{dataset_id}/access", response_model=AccessStats, responses=error_responses(404))
async def dataset_access(dataset_id: str, ctx: Ctx) -> AccessStats:
    """How often the dataset's data was served (artifact, preview), and when last."""
    meta = (await find(ctx, dataset_id)).meta
    return AccessStats(
        dataset_id=dataset_id, access_count=meta["access_count"], last_accessed_at=meta["last_accessed_at"]
    )


@router.patch("/{dataset_id}/tags", response_model=DatasetMeta, responses=error_responses(404))
async def update_tags(dataset_id: str, body: UpdateTagsRequest, ctx: Ctx) -> DatasetMeta:
    """Tags become ``sorted((old | add) - remove)``; returns the meta."""
    await find(ctx, dataset_id)
    meta = await ctx.blocking(ctx.store.update_tags, dataset_id, body.add_tags, body.remove_tags, ctx.now())
    if meta is None:
        raise not_found(dataset_id)
    return DatasetMeta(**meta)


@router.delete("/{dataset_id}", status_code=204, response_class=Response, responses=error_responses(404))
async def delete_dataset(dataset_id: str, ctx: Ctx) -> Response:
    """Delete the dataset and its cached bytes; 404 when absent."""
    await find(ctx, dataset_id)
    if not await ctx.blocking(ctx.store.delete, [dataset_id]):
        raise not_found(dataset_id)
    await ctx.blocking(ctx.cache.remove, *cache_keys(dataset_id))
    return Response(status_code=204)
