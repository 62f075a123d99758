"""The client's link to one service: settings, connection pool, and sending one request.

:class:`Connection` is the base of :class:`~.api.JuniperDataClient`: it holds the settings a user
passes (base URL, timeout, retries, API key) and the ``httpx.Client`` pool, and sends a request with
the retry policy of :mod:`.retry`, turning transport errors and non-2xx answers into the exceptions
of :mod:`.errors`. It knows no endpoint; the endpoints (:mod:`.downloads`, :mod:`.api`) are methods
of its subclasses, so that they stay methods of the one client class users know.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final

import httpx

from .bodies import read_body
from .closing import Closing
from .config import API_KEY_HEADER, DEFAULT_BASE_URL, normalize_base_url, resolve_api_key
from .errors import JuniperDataClientError, JuniperDataConnectionError, JuniperDataTimeoutError, error_for
from .retry import retry_wait
from .transport import LargeReadTransport, environment_proxies


class Connection(Closing):
    """Settings, pool and request sending of a :class:`~.api.JuniperDataClient` (documented there)."""

    DEFAULT_TIMEOUT: Final = 30
    DEFAULT_RETRIES: Final = 3
    DEFAULT_BACKOFF_FACTOR: Final = 0.5

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff_factor: float = DEFAULT_BACKOFF_FACTOR,
        api_key: str | None = None,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff_factor = backoff_factor
        self.api_key = resolve_api_key(api_key)
        headers = {API_KEY_HEADER: self.api_key} if self.api_key else {}
        # Large reads (transport.py) are what lets a download go past ~0.6-0.9 GB/s; a client
        # given a transport ignores HTTP_PROXY and friends, so with a proxy set httpx keeps its own.
        transport = None if environment_proxies() else LargeReadTransport()
        self.session = httpx.Client(
            base_url=self.base_url, timeout=timeout, headers=headers, transport=transport
        )

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request, retrying where allowed; return a 2xx response or raise.

        With ``stream=True`` the body is not read: the caller must close the response.
        ``content`` (bytes or a binary file, streamed) is a raw request body, sent once (POST).
        """
        query = {k: v for k, v in (params or {}).items() if v is not None}
        limit = self.timeout if timeout is None else timeout
        request = self.session.build_request(
            method,
            path,
            params=query,
            json=json,
            content=content,
            headers=headers,
            timeout=limit,
        )
        attempt = 0
        while True:
            try:
                response = self.session.send(request, stream=stream)
            except httpx.TimeoutException as exc:
                raise JuniperDataTimeoutError(
                    f"{method} {request.url} timed out after {limit}s: {exc}"
                ) from exc
            except httpx.TransportError as exc:
                raise JuniperDataConnectionError(
                    f"Failed to connect to JuniperData at {self.base_url}: {exc}"
                ) from exc
            except httpx.HTTPError as exc:
                raise JuniperDataClientError(f"Request failed: {exc}") from exc
            wait = retry_wait(
                response, method, attempt, retries=self.retries, backoff_factor=self.backoff_factor
            )
            if wait is not None:
                response.close()
                time.sleep(wait)
                attempt += 1
                continue
            if not response.is_success:
                try:
                    response.read()
                finally:
                    response.close()
                raise error_for(response)
            return response

    def _bytes(self, method: str, path: str, **kwargs: Any) -> bytes:
        """Send a request and return its whole body (read as in :func:`.bodies.read_body`)."""
        return read_body(self._send(method, path, stream=True, **kwargs))

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and decode its JSON body."""
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise JuniperDataClientError(
                f"{method} {path}: the response is not JSON", status_code=response.status_code
            ) from exc

    def close(self) -> None:
        """Close the connection pool."""
        self.session.close()
