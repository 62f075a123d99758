"""How errors become responses: engine errors to 400/501, validation to a clean 422.

Every handler answers ``{"detail": ...}`` through :class:`SafeJSONResponse`; the
422 list keeps FastAPI's form (``type``, ``loc``, ``msg``) but drops the echoed
input, which may be huge or not JSON-encodable (NaN).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.responses import Response

from juniper_data_core import (
    BackendUnavailableError,
    DataUnavailableError,
    JuniperDataError,
    MissingDependencyError,
    ParamsError,
    UnknownGeneratorError,
    sources,
)
from juniper_data_service.responses import problem


class ErrorBody(BaseModel):
    """Every error's body: a message, or FastAPI's list of validation errors."""

    detail: str | list[dict[str, Any]]


_MEANINGS = {
    304: "Not modified: If-None-Match named the current ETag",
    400: "The engine refused the request: unknown generator or version, bad params, unavailable backend",
    401: "API key missing or wrong (when JUNIPER_DATA_API_KEYS is set)",
    403: "A file_path outside JUNIPER_DATA_IMPORT_ROOTS (or reading paths switched off)",
    404: "No such dataset, generator, source or name (or expired)",
    409: "The source is used by datasets (delete it with ?force=true)",
    413: "Request body larger than JUNIPER_DATA_MAX_BODY_BYTES (uploads: JUNIPER_DATA_MAX_UPLOAD_BYTES)",
    422: "Invalid request or file, or larger than JUNIPER_DATA_MAX_ROWS / JUNIPER_DATA_MAX_BYTES",
    429: "Rate limit, or too many failed API key attempts from this address (see Retry-After)",
    501: "An optional library the request needs is not installed",
    503: "Data the recipe reads is not on this server yet (e.g. juniper-data fetch mnist)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses (304 has no body)."""
    return {
        status: {"description": _MEANINGS[status]}
        if status == 304
        else {"model": ErrorBody, "description": _MEANINGS[status]}
        for status in statuses
    }


class BudgetError(Exception):
    """A dataset or response larger than a configured budget (422)."""


class RowBudgetError(BudgetError):
    """More rows than ``JUNIPER_DATA_MAX_ROWS``."""

    def __init__(self, rows: int, limit: int) -> None:
        super().__init__(
            f"{rows} rows requested, more than the limit of {limit} rows; "
            "ask for fewer rows (a row range with offset/limit) or raise JUNIPER_DATA_MAX_ROWS"
        )


class ByteBudgetError(BudgetError):
    """More bytes than ``JUNIPER_DATA_MAX_BYTES``."""

    def __init__(self, what: str, n_bytes: int, limit: int) -> None:
        super().__init__(
            f"{what} would be {n_bytes} bytes, more than the limit of {limit} bytes; ask for fewer "
            "rows or features (or a row range with offset/limit) or raise JUNIPER_DATA_MAX_BYTES"
        )


def engine_status(exc: Exception) -> int:
    """The HTTP status of an engine error."""
    if isinstance(exc, MissingDependencyError):
        return 501
    if isinstance(exc, sources.PathNotAllowedError):
        return 403
    if isinstance(exc, sources.SourceNotFoundError):
        return 404
    if isinstance(exc, sources.SourceFormatError):
        return 422
    if isinstance(exc, DataUnavailableError):
        return 503
    if isinstance(exc, BudgetError):
        return 422
    if isinstance(exc, UnknownGeneratorError | ParamsError | BackendUnavailableError | JuniperDataError):
        return 400
    return 500


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 304 or exc.status_code < 200:
        return Response(status_code=exc.status_code, headers=exc.headers)
    return problem(exc.status_code, exc.detail, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"type": e.get("type"), "loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    return problem(422, errors)


async def _engine_error(request: Request, exc: Exception) -> Response:
    return problem(engine_status(exc), str(exc))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(JuniperDataError, _engine_error)
    app.add_exception_handler(BudgetError, _engine_error)
