"""Exports: ``POST /v1/datasets/{id}/exports`` starts one on the Dask cluster;
``GET /v1/exports/{job_id}`` reports it; ``DELETE /v1/exports/{job_id}`` cancels it.

Without ``JUNIPER_DATA_DASK_SCHEDULER`` every route answers 503 saying so; a ``url``
outside ``JUNIPER_DATA_EXPORT_ROOTS`` is refused with 403 before anything is submitted.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from juniper_data_service.artifacts import stored_recipe
from juniper_data_service.context import Ctx
from juniper_data_service.errors import ErrorBody
from juniper_data_service.export_roots import ExportForbiddenError, ExportRoots
from juniper_data_service.exports import ExportJobs, ExportsUnavailableError
from juniper_data_service.lookup import find
from juniper_data_service.responses import SafeJSONResponse
from juniper_data_service.schemas import Text

router = APIRouter(tags=["exports"])

_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody, "description": "url outside JUNIPER_DATA_EXPORT_ROOTS"},
    404: {"model": ErrorBody, "description": "No such dataset or export job"},
    503: {
        "model": ErrorBody,
        "description": "No Dask cluster configured (JUNIPER_DATA_DASK_SCHEDULER) or reachable",
    },
}


class ExportRequest(BaseModel):
    """``POST /v1/datasets/{id}/exports``: where and how to write the dataset's files."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["parquet", "arrow"] = Field(default="parquet", description="Parquet, or Arrow IPC files")
    url: Annotated[Text, Field(min_length=1, max_length=4096)] = Field(
        description="Directory or URL inside JUNIPER_DATA_EXPORT_ROOTS (relative: under the first root)"
    )
    rows_per_file: Annotated[int, Field(ge=1, le=1 << 40)] | None = Field(
        default=None, description="Rows per file (default about 128 MiB per file; at most 100,000 files)"
    )
    split: Literal["full", "train", "test"] = "full"


class ExportStatus(BaseModel):
    """An export job: what it writes, how far it is, and its manifest when done."""

    job_id: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    dataset_id: str
    format: str
    split: str
    url: str
    rows_per_file: int
    created_at: str
    progress: float = Field(description="Rows written / rows in all, 0..1")
    files_done: int
    files_total: int
    rows_done: int
    rows_total: int
    files_written: int | None = Field(default=None, description="Files this job wrote (the rest were kept)")
    manifest: dict[str, Any] | None = Field(default=None, description="The manifest, when done")
    error: str | None = None


def get_exports(request: Request) -> ExportJobs:
    """The app's export jobs; 503 when no cluster is configured."""
    jobs: ExportJobs = request.app.state.exports
    try:
        jobs.check_configured()
    except ExportsUnavailableError as err:
        raise HTTPException(503, str(err)) from None
    return jobs


Jobs = Annotated[ExportJobs, Depends(get_exports)]


@router.post(
    "/datasets/{dataset_id}/exports", status_code=202, response_model=ExportStatus, responses=_ERRORS
)
async def create_export(dataset_id: str, body: ExportRequest, ctx: Ctx, jobs: Jobs) -> SafeJSONResponse:
    """Write the dataset as partitioned files on the cluster: 202 with the job's status."""
    entry = await find(ctx, dataset_id)
    try:
        url = ExportRoots(ctx.settings.export_roots).resolve(body.url)
    except ExportForbiddenError as err:
        raise HTTPException(403, str(err)) from None
    recipe = stored_recipe(entry.meta)
    try:
        status = await ctx.blocking(
            jobs.submit,
            dataset_id,
            recipe,
            url,
            fmt=body.format,
            split=body.split,
            rows_per_file=body.rows_per_file,
        )
    except ExportsUnavailableError as err:
        raise HTTPException(503, str(err)) from None
    location = f"/v1/exports/{status['job_id']}"
    return SafeJSONResponse(status, status_code=202, headers={"Location": location})


async def _job(job_id: str, ctx: Ctx, jobs: ExportJobs, cancel: bool) -> dict[str, Any]:
    status: dict[str, Any] | None = None
    if _JOB_ID.match(job_id):
        status = await ctx.blocking(jobs.cancel if cancel else jobs.status, job_id)
    if status is None:
        raise HTTPException(404, f"export job {job_id!r} not found (never started here, or forgotten)")
    return status


@router.get("/exports/{job_id}", response_model=ExportStatus, responses=_ERRORS)
async def get_export(job_id: str, ctx: Ctx, jobs: Jobs) -> dict[str, Any]:
    """The job's status (queued, running, done, failed, cancelled), progress, and manifest when done."""
    return await _job(job_id, ctx, jobs, cancel=False)


@router.delete("/exports/{job_id}", response_model=ExportStatus, responses=_ERRORS)
async def cancel_export(job_id: str, ctx: Ctx, jobs: Jobs) -> dict[str, Any]:
    """Cancel the job (a job already over is left as it is); its status."""
    return await _job(job_id, ctx, jobs, cancel=True)
