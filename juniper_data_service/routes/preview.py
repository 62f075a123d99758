"""``GET /v1/datasets/{id}/preview.png``: a dataset's scatter plot, drawn by the engine.

The image is a pure function of the dataset (its recipe) and the query, so its
``ETag`` is a hash of those and an ``If-None-Match`` that names it is a 304 without
drawing anything; thumbnails in a catalogue are then fetched once per browser.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response
from fastapi.exceptions import RequestValidationError

import juniper_data_core as jd
from juniper_data_service import __version__
from juniper_data_service.artifacts import stored_backend, stored_recipe
from juniper_data_service.context import Ctx
from juniper_data_service.errors import error_responses
from juniper_data_service.lookup import etag_matches, find

router = APIRouter(prefix="/datasets", tags=["artifacts"])
PNG_TYPE = "image/png"
_MIN, _MAX = jd.PREVIEW_SIZE


def preview_etag(dataset_id: str, width: int, height: int, split: str, x: int, y: int) -> str:
    # The version is part of it: a new way of drawing must not leave browsers on old images.
    key = f"{dataset_id}|png|{__version__}|{width}x{height}|{split}|{x}|{y}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def _check_columns(x: int, y: int, n_features: int) -> None:
    """A column beyond the dataset's features is a 422 on that query parameter."""
    for name, value in (("x", x), ("y", y)):
        if value >= n_features and (name == "x" or n_features > 1):
            msg = (
                f"{name}={value} is not a feature column: the dataset has {n_features} "
                f"(use 0..{n_features - 1})"
            )
            error = {"type": "value_error", "loc": ("query", name), "msg": msg, "input": value}
            raise RequestValidationError([error])


@router.get(
    "/{dataset_id}/preview.png",
    response_class=Response,
    responses={
        200: {"description": "A PNG scatter plot coloured by class", "content": {PNG_TYPE: {}}},
        **error_responses(304, 404),
    },
)
async def preview_png(
    dataset_id: str,
    ctx: Ctx,
    width: Annotated[int, Query(ge=_MIN, le=_MAX, description="Pixels")] = 512,
    height: Annotated[int, Query(ge=_MIN, le=_MAX, description="Pixels")] = 512,
    split: Annotated[Literal["full", "train", "test"], Query()] = "full",
    x: Annotated[int, Query(ge=0, le=1_000_000, description="Feature column on the horizontal axis")] = 0,
    y: Annotated[int, Query(ge=0, le=1_000_000, description="Feature column on the vertical axis")] = 1,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A scatter plot of the split's rows coloured by class: all of them up to 50,000,
    else a uniform sample of 50,000. With one feature column, the vertical axis is the class."""
    entry = await find(ctx, dataset_id)
    etag = preview_etag(dataset_id, width, height, split, x, y)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    _check_columns(x, y, int(entry.meta["n_features"]))
    recipe = stored_recipe(entry.meta)
    backend = stored_backend(entry.meta)
    png = await ctx.blocking(
        jd.preview_png, recipe, width=width, height=height, split=split, x=x, y=y, backend=backend
    )
    await ctx.blocking(ctx.store.touch, dataset_id, ctx.now())
    return Response(png, media_type=PNG_TYPE, headers=headers)
