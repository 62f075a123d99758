"""When the client sends a request again, and how long it waits first.

The policy: a 429, 500, 502, 503 or 504 answer to a GET, HEAD or PUT is retried (methods whose
repetition cannot create or destroy twice); before attempt ``k + 1`` the client waits the server's
``Retry-After`` (seconds or an HTTP date) when it sent one, else ``backoff_factor * 2**k`` seconds,
and never more than :data:`MAX_RETRY_WAIT_S`. Transport errors are not retried. The loop that
applies it is :meth:`.connection.Connection._send`; this module only decides.
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from typing import Final

import httpx

#: Statuses worth retrying: rate limited, or a server/proxy that may recover.
RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
#: Only methods whose repetition cannot create or destroy twice are retried.
RETRY_METHODS: Final = frozenset({"GET", "HEAD", "PUT"})
#: Upper bound, in seconds, on one wait between attempts, whatever ``Retry-After`` or the backoff says.
MAX_RETRY_WAIT_S: Final = 60.0


def retry_wait(
    response: httpx.Response, method: str, attempt: int, *, retries: int, backoff_factor: float
) -> float | None:
    """Seconds to wait before sending ``method`` again after ``response``; None when it is the answer.

    Parameters
    ----------
    response : httpx.Response
        The answer to attempt ``attempt`` (0-based).
    method : str
        The request's HTTP method.
    attempt : int
        How many retries were already made.
    retries, backoff_factor
        The client's settings of the same names.
    """
    if (
        response.status_code not in RETRY_STATUSES
        or method.upper() not in RETRY_METHODS
        or attempt >= retries
    ):
        return None
    wait = _retry_after_seconds(response)
    if wait is None:
        wait = backoff_factor * 2**attempt
    return min(wait, MAX_RETRY_WAIT_S)


def _retry_after_seconds(response: httpx.Response) -> float | None:
    """Seconds the server asked to wait (``Retry-After`` as seconds or an HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
