"""``GET /metrics``: the Prometheus text exposition of this app's registry."""

from __future__ import annotations

from fastapi import APIRouter, Response

from juniper_data_service.context import Ctx
from juniper_data_service.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}})
async def metrics(ctx: Ctx) -> Response:
    """Request counts and durations by route template, generation, cache and storage metrics."""
    body = await ctx.blocking(ctx.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)
