"""The client's exceptions, and which one a non-2xx response becomes.

Every error the client raises is a :class:`JuniperDataClientError`; the subclasses tell a caller what
to do about it (recreate an expired dataset, fix a parameter, wait for the service). Transport
failures are mapped where they happen (sending in :mod:`.connection`, reading in :mod:`.bodies`);
this module maps an HTTP status and body with :func:`error_for`.
"""

from __future__ import annotations

from typing import Any

import httpx


class JuniperDataClientError(Exception):
    """Base class of every error this client raises.

    Parameters
    ----------
    message : str
        Human-readable summary (also ``str(exc)``).
    status_code : int or None
        HTTP status of the response behind the error; ``None`` for transport errors.
    detail : Any
        The server's ``detail`` exactly as decoded: a ``str`` for most errors, FastAPI's list of
        dicts for 422 validation errors, the raw body text when it was not JSON.
    """

    def __init__(self, message: str = "", *, status_code: int | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.detail = detail

    def __reduce__(self) -> tuple[type[JuniperDataClientError], tuple[str], dict[str, Any]]:
        # ``args`` holds only the message: without this, pickling (a worker process reporting a
        # failure to its parent) would silently drop status_code and detail.
        return (self.__class__, (self.message,), self.__dict__.copy())


class JuniperDataConnectionError(JuniperDataClientError):
    """The service could not be reached (refused, DNS failure, connection dropped)."""


class JuniperDataTimeoutError(JuniperDataClientError):
    """A request took longer than the client's ``timeout``."""


class JuniperDataNotFoundError(JuniperDataClientError):
    """404: unknown or expired dataset, unknown generator, no version of a name."""


class JuniperDataValidationError(JuniperDataClientError):
    """400 or 422: parameters or body rejected; ``detail`` names the field and the bound."""


class JuniperDataServerError(JuniperDataClientError):
    """5xx still failing after the retries (501: an optional dependency is missing on the server)."""


def error_for(response: httpx.Response) -> JuniperDataClientError:
    """Map a non-2xx response to the exception type a caller catches."""
    detail: Any = response.text
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
    status = response.status_code
    if status == 404:
        return JuniperDataNotFoundError(f"Resource not found: {detail}", status_code=status, detail=detail)
    if status in (400, 422):
        return JuniperDataValidationError(f"Validation error: {detail}", status_code=status, detail=detail)
    if status >= 500:
        return JuniperDataServerError(
            f"Request failed ({status}): {detail}", status_code=status, detail=detail
        )
    return JuniperDataClientError(f"Request failed ({status}): {detail}", status_code=status, detail=detail)
