"""How errors become responses: engine errors to 400/501, validation to a clean 422.

Every handler answers ``{"detail": ...}`` through :class:`SafeJSONResponse`; the
422 list keeps FastAPI's form (``type``, ``loc``, ``msg``) but drops the echoed
input, which may be huge or not JSON-encodable (NaN).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from juniper_data_core import (
    BackendUnavailableError,
    JuniperDataError,
    MissingDependencyError,
    ParamsError,
    UnknownGeneratorError,
)
from juniper_data_service.responses import problem


class RowBudgetError(Exception):
    """A dataset or artifact larger than ``JUNIPER_DATA_MAX_ROWS`` (422)."""

    def __init__(self, rows: int, limit: int) -> None:
        super().__init__(
            f"{rows} rows requested, more than the limit of {limit} rows; "
            "ask for fewer rows (a row range with offset/limit) or raise JUNIPER_DATA_MAX_ROWS"
        )


def engine_status(exc: Exception) -> int:
    """The HTTP status of an engine error."""
    if isinstance(exc, MissingDependencyError):
        return 501
    if isinstance(exc, RowBudgetError):
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
    app.add_exception_handler(RowBudgetError, _engine_error)
