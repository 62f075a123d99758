"""``/v1/datasets/{id}/artifact`` (NPZ or Arrow, whole or a row range) and ``/preview``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response

import juniper_data_core as jd
from juniper_data_service.artifacts import (
    ARROW_TYPE,
    NPZ_TYPE,
    ArtifactRequest,
    ArtifactServer,
    stored_backend,
    stored_recipe,
)
from juniper_data_service.context import Ctx
from juniper_data_service.errors import error_responses
from juniper_data_service.lookup import etag_matches, find
from juniper_data_service.schemas import Preview

router = APIRouter(prefix="/datasets", tags=["artifacts"])

_ARTIFACT_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The artifact (NPZ: a stored zip64 of .npy members; Arrow: an IPC stream)",
        "content": {NPZ_TYPE: {}, ARROW_TYPE: {}},
    },
    **error_responses(304, 400, 404, 501, 503),
}


def _format(fmt: str | None, accept: str | None) -> str:
    if fmt is not None:
        return fmt
    return "arrow" if accept and ARROW_TYPE in accept else "npz"


@router.get("/{dataset_id}/artifact", response_class=Response, responses=_ARTIFACT_RESPONSES)
async def artifact(
    dataset_id: str,
    ctx: Ctx,
    format: Annotated[
        Literal["npz", "arrow"] | None, Query(description="Default npz, or from Accept")
    ] = None,
    split: Annotated[Literal["full", "train", "test"] | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    accept: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Stream the dataset as NPZ (all six arrays, or ``X_<split>``/``y_<split>``) or an Arrow
    IPC stream of one split (default ``full``), optionally rows ``[offset, offset+limit)``."""
    fmt = _format(format, accept)
    if (offset or limit is not None) and split is None:
        split = "full"
    req = ArtifactRequest(fmt, split if fmt == "npz" else (split or "full"), offset, limit)
    entry = await find(ctx, dataset_id)
    etag = req.etag(dataset_id)
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    return await ArtifactServer(ctx).response(entry.meta, entry.persist, req, etag)


@router.get("/{dataset_id}/preview", response_model=Preview, responses=error_responses(400, 404))
async def preview(dataset_id: str, ctx: Ctx, n: Annotated[int, Query(ge=1, le=1000)] = 100) -> Preview:
    """The first ``n`` rows of the full data (generation order) as JSON."""
    entry = await find(ctx, dataset_id)
    recipe = stored_recipe(entry.meta)
    stop = min(n, recipe.n_rows("full"))
    backend = stored_backend(entry.meta)
    X, y = await ctx.blocking(jd.generate_rows, recipe, split="full", start=0, stop=stop, backend=backend)
    await ctx.blocking(ctx.store.touch, dataset_id, ctx.now())
    return Preview(n_samples=stop, X_sample=X.tolist(), y_sample=y.tolist())
