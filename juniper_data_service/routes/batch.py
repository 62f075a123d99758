"""``/v1/datasets/batch-*`` and ``cleanup-expired``: many datasets per request, each independent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, HTTPException, Response
from starlette.responses import StreamingResponse

from juniper_data_service.artifacts import NPZ_TYPE, ArtifactServer
from juniper_data_service.context import Ctx
from juniper_data_service.creation import Creator, cache_keys
from juniper_data_service.errors import BudgetError, engine_status, error_responses
from juniper_data_service.lookup import possible_id
from juniper_data_service.reaper import reap
from juniper_data_service.routes.datasets import artifact_url
from juniper_data_service.schemas import (
    BatchCreateRequest,
    BatchCreateResponse,
    BatchCreateResult,
    BatchDeleteRequest,
    BatchDeleteResponse,
    BatchExportRequest,
    BatchTagsRequest,
    BatchTagsResponse,
)
from juniper_data_service.storage.base import Meta
from juniper_data_service.streaming import ChunkStreamResponse

router = APIRouter(prefix="/datasets", tags=["batch"])


@router.post(
    "/batch-create",
    response_model=BatchCreateResponse,
    status_code=201,
    responses={200: {"model": BatchCreateResponse, "description": "No item was created (each says why)"}},
)
async def batch_create(body: BatchCreateRequest, response: Response, ctx: Ctx) -> BatchCreateResponse:
    """Create each dataset independently; 201 when any was created, else 200."""
    from juniper_data_core import JuniperDataError

    results = []
    creator = Creator(ctx)
    for index, item in enumerate(body.datasets):
        try:
            meta, _ = await creator.create(item)
        except (JuniperDataError, BudgetError) as err:
            error = f"{engine_status(err)}: {err}"
            results.append(
                BatchCreateResult(index=index, generator=item.generator, success=False, error=error)
            )
            continue
        results.append(
            BatchCreateResult(
                index=index,
                dataset_id=meta["dataset_id"],
                generator=item.generator,
                success=True,
                artifact_url=artifact_url(meta["dataset_id"]),
            )
        )
    created = sum(r.success for r in results)
    if not created:
        response.status_code = 200
    return BatchCreateResponse(results=results, total_created=created, total_failed=len(results) - created)


@router.post("/batch-delete", response_model=BatchDeleteResponse)
async def batch_delete(body: BatchDeleteRequest, ctx: Ctx) -> BatchDeleteResponse:
    """Delete those that exist; the rest are listed as not found."""
    ids = list(dict.fromkeys(body.dataset_ids))
    live = [i for i in ids if possible_id(i) and await ctx.blocking(ctx.store.get, i, ctx.now()) is not None]
    deleted = await ctx.blocking(ctx.store.delete, live)
    for dataset_id in deleted:
        await ctx.blocking(ctx.cache.remove, *cache_keys(dataset_id))
    return BatchDeleteResponse(
        deleted=deleted, not_found=[i for i in ids if i not in set(deleted)], total_deleted=len(deleted)
    )


@router.patch("/batch-tags", response_model=BatchTagsResponse)
async def batch_tags(body: BatchTagsRequest, ctx: Ctx) -> BatchTagsResponse:
    """Apply the same tag change to each dataset that exists."""
    updated: list[str] = []
    missing: list[str] = []
    for dataset_id in dict.fromkeys(body.dataset_ids):
        meta = None
        if possible_id(dataset_id):
            meta = await ctx.blocking(
                ctx.store.update_tags, dataset_id, body.add_tags, body.remove_tags, ctx.now()
            )
        (updated if meta is not None else missing).append(dataset_id)
    return BatchTagsResponse(updated=updated, not_found=missing, total_updated=len(updated))


def _archive(
    server: ArtifactServer, found: list[Meta], missing: list[str], requested: list[str]
) -> Iterator[Any]:
    from juniper_data_core.formats import ZipStreamWriter

    zw = ZipStreamWriter()
    for meta in found:
        yield from zw.member(f"{meta['dataset_id']}.npz", server.npz_member(meta))
    if missing:
        manifest = {
            "requested": requested,
            "exported": [m["dataset_id"] for m in found],
            "missing": {i: "not_found" for i in missing},
        }
        yield from zw.member("manifest.json", [json.dumps(manifest, indent=2).encode()])
    yield zw.finish()


@router.post(
    "/batch-export",
    response_class=StreamingResponse,
    responses={
        200: {"description": "A stored zip64 of <id>.npz members", "content": {NPZ_TYPE: {}}},
        **error_responses(404),
    },
)
async def batch_export(body: BatchExportRequest, ctx: Ctx) -> ChunkStreamResponse:
    """A streamed ZIP of ``<id>.npz`` members, plus ``manifest.json`` when some are missing;
    404 when none exist."""
    requested = list(dict.fromkeys(body.dataset_ids))
    found, missing = [], []
    for dataset_id in requested:
        entry = await ctx.blocking(ctx.store.get, dataset_id, ctx.now()) if possible_id(dataset_id) else None
        if entry is None:
            missing.append(dataset_id)
        else:
            found.append(entry.meta)
    if not found:
        raise HTTPException(404, "none of the requested datasets exist")
    server = ArtifactServer(ctx)
    return ChunkStreamResponse(
        _archive(server, found, missing, requested),
        media_type=NPZ_TYPE,
        headers={"Content-Disposition": "attachment; filename=datasets.zip"},
    )


@router.post("/cleanup-expired", response_model=list[str])
async def cleanup_expired(ctx: Ctx) -> list[str]:
    """Delete every expired dataset now; returns their IDs (a background reaper does this too)."""
    return await reap(ctx)
