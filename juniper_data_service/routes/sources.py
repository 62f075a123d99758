"""``/v1/sources``: upload a table (the request body, or multipart), list, describe, delete.

An upload is streamed to a temporary file in the data directory while its bytes are
counted (413 past ``JUNIPER_DATA_MAX_UPLOAD_BYTES``, whatever Content-Length claims),
then parsed into a canonical source off the event loop; the temporary file is removed
whatever happens, and a failed import leaves no source behind. The same content
uploaded again answers 200 with the stored source (201 when new).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from juniper_data_core import sources
from juniper_data_service.context import Ctx, ServiceContext
from juniper_data_service.errors import error_responses
from juniper_data_service.responses import SafeJSONResponse
from juniper_data_service.sources import SourceInUseError, SourceStore

router = APIRouter(prefix="/sources", tags=["sources"])
_COPY_BYTES = 1 << 20


class SourceColumn(BaseModel):
    name: str
    type: str = Field(description="int64, float64, bool or string")


class SourceRecord(BaseModel):
    """A stored source."""

    source_id: str = Field(description="sha256:<hex> of the canonical table")
    name: str
    columns: list[SourceColumn]
    n_rows: int
    bytes: int = Field(description="Bytes of the canonical (Arrow) table on disk")
    created_at: str
    used_by: list[str] = Field(default_factory=list, description="Datasets made from this source")


class SourceDetail(SourceRecord):
    """A stored source and its first rows."""

    rows: list[dict[str, Any]] = Field(description="The first rows, as records")


class UploadTooLargeError(Exception):
    """The body went past the upload limit while it was read."""


def store_of(ctx: ServiceContext) -> SourceStore:
    """The app's source store (a 503 if the app has none)."""
    store = ctx.sources
    if store is None:
        raise HTTPException(503, "this app has no source store")
    assert isinstance(store, SourceStore)
    return store


def _column_types(text: str | None) -> dict[str, str]:
    """``column_types`` as ``{"a": "float64"}`` (JSON) or ``a:float64,b:string``."""
    if not text:
        return {}
    try:
        value = json.loads(text) if text.lstrip().startswith("{") else None
    except json.JSONDecodeError as err:
        raise sources.SourceFormatError(
            f"column_types is not valid JSON: {err.msg}", "column_types"
        ) from None
    if value is None:
        pairs = [p.split(":", 1) for p in text.split(",") if p.strip()]
        if any(len(p) != 2 for p in pairs):
            raise sources.SourceFormatError(
                f"column_types must be name:type pairs, comma-separated (a:float64,b:string), got {text!r}",
                "column_types",
            )
        value = {k.strip(): v.strip() for k, v in pairs}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise sources.SourceFormatError("column_types must map column names to type names", "column_types")
    bad = sorted({v for v in value.values() if v not in sources.TYPES})
    if bad:
        raise sources.SourceFormatError(
            f"column_types has unknown types {', '.join(map(repr, bad))}; use {', '.join(sources.TYPES)}",
            "column_types",
        )
    return value


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        413,
        f"the upload is larger than {limit} bytes (JUNIPER_DATA_MAX_UPLOAD_BYTES); upload a smaller "
        "file (Parquet is smaller than CSV) or raise the limit",
        headers={"Connection": "close"},
    )


async def _counted(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise UploadTooLargeError
        yield chunk


@contextlib.contextmanager
def _temp_file(root: Path) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(prefix=".upload-", dir=root)
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


#: Form fields a multipart upload may carry besides its file: the query's options.
_FORM_OPTIONS = ("format", "name", "delimiter", "header", "column_types")


async def _receive(
    request: Request, target: Path, limit: int
) -> tuple[str | None, str | None, dict[str, str]]:
    """Write the uploaded file to ``target``; ``(file name, content type, options)``: of the
    multipart file part and the form's other fields, or ``(None, request content type, {})``
    for a plain body."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == "multipart/form-data":
        parser = MultiPartParser(request.headers, _counted(request, limit), max_files=1, max_fields=20)
        try:
            form = await parser.parse()
        except MultiPartException as err:
            raise sources.SourceFormatError(
                f"the multipart body is malformed: {err.message}", "file"
            ) from None
        try:
            files = [v for v in form.values() if isinstance(v, UploadFile)]
            if len(files) != 1:
                raise sources.SourceFormatError(
                    "a multipart upload needs exactly one file part (e.g. curl -F file=@data.csv)", "file"
                )
            fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
            unknown = sorted(set(fields) - set(_FORM_OPTIONS))
            if unknown:
                raise sources.SourceFormatError(
                    f"unknown form field(s) {', '.join(map(repr, unknown))}; besides the file, a "
                    f"multipart upload may give {', '.join(_FORM_OPTIONS)}",
                    unknown[0],
                )
            upload = files[0]
            with open(target, "wb") as out:
                while chunk := await upload.read(_COPY_BYTES):
                    out.write(chunk)
            return upload.filename, upload.content_type, fields
        finally:
            await form.close()
    with open(target, "wb") as out:
        async for chunk in _counted(request, limit):
            out.write(chunk)
    return None, content_type or None, {}


def _flag(text: str, field: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise sources.SourceFormatError(f"{field} must be true or false, got {text!r}", field)


@router.post(
    "",
    response_model=SourceRecord,
    status_code=201,
    responses={
        200: {"model": SourceRecord, "description": "The same content was already stored"},
        **error_responses(400, 413, 422),
    },
)
async def upload_source(
    request: Request,
    ctx: Ctx,
    format: Annotated[str | None, Query(description="csv, tsv, json, jsonl, parquet or arrow")] = None,
    name: Annotated[str | None, Query(max_length=256)] = None,
    delimiter: Annotated[str | None, Query(min_length=1, max_length=1)] = None,
    header: Annotated[bool | None, Query(description="Whether a CSV's first line names the columns")] = None,
    column_types: Annotated[str | None, Query(description='{"a": "float64"} or a:float64,b:string')] = None,
) -> Response:
    """Store the table in the body (or a multipart file part) as a source: 201, or 200 when
    the same content is already stored. A multipart upload may give the options as form
    fields instead (the query's win)."""
    store = store_of(ctx)
    limit = ctx.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    # The query's column_types are checked before the body is read, those of a form after.
    query_types = _column_types(column_types) if column_types is not None else None
    with _temp_file(store.root) as temp:
        try:
            filename, content_type, fields = await _receive(request, temp, limit)
        except UploadTooLargeError:
            raise _too_large(limit) from None
        format = format if format is not None else fields.get("format")
        name = name if name is not None else fields.get("name")
        if name is not None and len(name) > 256:
            raise sources.SourceFormatError(f"name must be at most 256 characters, got {len(name)}", "name")
        if delimiter is None and "delimiter" in fields:
            delimiter = fields["delimiter"]
            if len(delimiter) != 1:
                # curl's -F reads "delimiter=;" as an empty value followed by attributes.
                raise sources.SourceFormatError(
                    f"delimiter must be one character, got {delimiter!r} (with curl, give "
                    "--form-string 'delimiter=;' for a semicolon)",
                    "delimiter",
                )
        if header is None:
            header = _flag(fields["header"], "header") if "header" in fields else True
        types = query_types if query_types is not None else _column_types(fields.get("column_types"))
        fmt = sources.format_for(filename or name, content_type, format)
        options = sources.ReadOptions(format=fmt, delimiter=delimiter, header=header, column_types=types)
        label = name or filename or "upload"
        record, created = await ctx.blocking(store.put, temp, options, label, ctx.now())
    return SafeJSONResponse(SourceRecord(**record).model_dump(), status_code=201 if created else 200)


@router.get("", response_model=list[SourceRecord])
async def list_sources(ctx: Ctx) -> list[SourceRecord]:
    """Every stored source, newest first."""
    records = await ctx.blocking(store_of(ctx).records)
    return [SourceRecord(**r) for r in records]


@router.get("/{source_id}", response_model=SourceDetail, responses=error_responses(404, 422))
async def get_source(source_id: str, ctx: Ctx) -> SourceDetail:
    """A source's record and its first rows."""
    store = store_of(ctx)
    record = await ctx.blocking(store.get, source_id)
    if record is None:
        raise HTTPException(404, f"source {source_id} not found")
    rows = await ctx.blocking(store.preview, source_id)
    return SourceDetail(**record, rows=rows)


@router.delete("/{source_id}", status_code=204, responses=error_responses(404, 409, 422))
async def delete_source(
    source_id: str,
    ctx: Ctx,
    force: Annotated[bool, Query(description="Delete even if datasets use it")] = False,
) -> Response:
    """Delete a source: 409 while datasets that still exist use it, unless ``?force=true``."""
    store = store_of(ctx)
    now = ctx.now()

    def live(dataset_ids: list[str]) -> list[str]:
        return [d for d in dataset_ids if ctx.store.get(d, now) is not None]

    try:
        deleted = await ctx.blocking(store.delete, source_id, live, force)
    except SourceInUseError as err:
        raise HTTPException(409, str(err)) from None
    if not deleted:
        raise HTTPException(404, f"source {source_id} not found")
    return Response(status_code=204)
