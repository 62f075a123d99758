"""A Python client for the JuniperData HTTP API (``/v1``, port 8100).

A drop-in replacement for the earlier ``juniper_data_client.JuniperDataClient``: the same
constructor, URL normalisation, API-key lookup, methods, defaults and exception types (CONTRACT
section 6), built on httpx instead of requests. It adds Arrow downloads (whole or streamed record
batches) and row-range downloads.

The cut: this module needs httpx and NumPy only (pyarrow only for :meth:`JuniperDataClient.download_arrow`,
imported there), and never imports the server side, so that trainers (JuniperCascor, JuniperCanopy) can
use it without FastAPI or uvicorn installed. Its connections read 1 MiB per ``recv`` through the
transport in :mod:`juniper_data_service.client_transport` (httpx and httpcore only), which is what
lets a large download run faster than httpx's 64 KiB reads allow.

Examples
--------
>>> from juniper_data_service.client import JuniperDataClient
>>> with JuniperDataClient("http://localhost:8100") as client:  # doctest: +SKIP
...     created = client.create_spiral_dataset(n_points_per_spiral=100, seed=42)
...     arrays = client.download_artifact_npz(created["dataset_id"])
...     X_train, y_train = arrays["X_train"], arrays["y_train"]
"""

from __future__ import annotations

import email.utils
import io
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self, cast, overload
from urllib.parse import urlsplit, urlunsplit

import httpx
import numpy as np

from juniper_data_service.client_transport import LargeReadTransport, environment_proxies

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ArrowBatchStream",
    "JuniperDataClient",
    "JuniperDataClientError",
    "JuniperDataConnectionError",
    "JuniperDataNotFoundError",
    "JuniperDataServerError",
    "JuniperDataTimeoutError",
    "JuniperDataValidationError",
]

DEFAULT_BASE_URL: Final = "http://localhost:8100"
API_KEY_ENV: Final = "JUNIPER_DATA_API_KEY"
API_KEY_FILE_ENV: Final = "JUNIPER_DATA_API_KEY_FILE"
API_KEY_HEADER: Final = "X-API-Key"
ARROW_MEDIA_TYPE: Final = "application/vnd.apache.arrow.stream"

#: Statuses worth retrying: rate limited, or a server/proxy that may recover.
RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
#: Only methods whose repetition cannot create or destroy twice are retried.
RETRY_METHODS: Final = frozenset({"GET", "HEAD", "PUT"})
#: Upper bound, in seconds, on one wait between attempts, whatever ``Retry-After`` or the backoff says.
MAX_RETRY_WAIT_S: Final = 60.0

_STREAM_CHUNK_BYTES: Final = 1 << 20
# "host:8100" has no scheme although urlsplit would read "host" as one: require "://".
_HAS_SCHEME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


# --------------------------------------------------------------------------------------------------
# Exceptions
# --------------------------------------------------------------------------------------------------


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


def _error_for(response: httpx.Response) -> JuniperDataClientError:
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


# --------------------------------------------------------------------------------------------------
# Configuration helpers
# --------------------------------------------------------------------------------------------------


def normalize_base_url(url: str) -> str:
    """Return the service root for ``url``, as the earlier client did.

    Spaces are stripped, ``http://`` is added when there is no scheme, the query and fragment are
    dropped, trailing ``/`` are stripped and then one trailing ``/v1`` is removed.

    Parameters
    ----------
    url : str
        What a user wrote: ``"localhost:8100"``, ``"http://data:8100/v1/"``, ...

    Returns
    -------
    str
        E.g. ``"http://localhost:8100"``; API paths (``/v1/...``) are appended to it.
    """
    url = url.strip()
    if not _HAS_SCHEME.match(url):
        url = f"http://{url}"
    parts = urlsplit(url)
    root = urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")).rstrip("/")
    if root.endswith("/v1"):
        root = root[: -len("/v1")]
    return root


def resolve_api_key(api_key: str | None = None) -> str | None:
    """Return the API key to send: the argument, else the key file, else the environment.

    Parameters
    ----------
    api_key : str or None
        An explicit key; wins when non-empty.

    Returns
    -------
    str or None
        The first non-empty of: ``api_key``; the stripped content of the file named by
        ``JUNIPER_DATA_API_KEY_FILE`` (a Docker secret); ``JUNIPER_DATA_API_KEY``. ``None`` when
        there is none. An unreadable or blank key file is treated as absent (compat), so the
        environment variable still applies.
    """
    if api_key:
        return api_key
    key_file = os.environ.get(API_KEY_FILE_ENV)
    if key_file:
        try:
            from_file = open(key_file, encoding="utf-8").read().strip()  # noqa: SIM115
        except OSError:
            from_file = ""
        if from_file:
            return from_file
    return os.environ.get(API_KEY_ENV) or None


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


# --------------------------------------------------------------------------------------------------
# Response bodies
# --------------------------------------------------------------------------------------------------


def _body_blocks(response: httpx.Response) -> Iterator[bytes]:
    """The blocks of a streamed response body as the transport read them (up to 1 MiB each).

    ``iter_raw`` hands them over untouched; ``iter_bytes(n)`` would re-cut them to ``n`` bytes
    through a ``BytesIO``, one more copy of every byte. Only a content-encoded body (which the
    service never sends, but a proxy might) goes through ``iter_bytes`` to be decoded. Transport
    failures while reading become the client's exception types.
    """
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    blocks = response.iter_raw() if encoding in ("", "identity") else response.iter_bytes()
    try:
        yield from blocks
    except httpx.TimeoutException as exc:
        raise JuniperDataTimeoutError(f"Reading the response timed out: {exc}") from exc
    except httpx.HTTPError as exc:
        raise JuniperDataConnectionError(f"Reading the response failed: {exc}") from exc


def _read_body(response: httpx.Response) -> bytes:
    """Read a streamed response's whole body into one ``bytes`` and close the response.

    ``httpx.Response.read`` keeps every block and joins them at the end, so a large body occupies
    fresh memory twice and is copied once more; first touches of fresh pages cost as much as the
    copy on a VM. Appending each block to a ``BytesIO`` as it arrives lets the blocks' memory be
    reused, and CPython's ``getvalue`` hands over the buffer itself, not a copy.
    """
    body = io.BytesIO()
    try:
        for block in _body_blocks(response):
            body.write(block)
    finally:
        response.close()
    return body.getvalue()


class _ResponseBodyReader(io.RawIOBase):
    """A read-only file over a streamed httpx response body, for pyarrow's IPC reader."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__()
        self._blocks = _body_blocks(response)
        self._block = memoryview(b"")

    def readable(self) -> bool:
        return True

    def drain(self, limit: int) -> None:
        """Read to the end of the body if at most ``limit`` bytes are left (the connection is then kept)."""
        left = len(self._block)
        for block in self._blocks:
            left += len(block)
            if left > limit:
                return
        self._block = memoryview(b"")

    def readinto(self, buffer: Any) -> int:
        while not self._block:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._block = memoryview(block)
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._block))
        view[:n] = self._block[:n]
        self._block = self._block[n:]
        return n


# --------------------------------------------------------------------------------------------------
# Arrow streaming
# --------------------------------------------------------------------------------------------------


class _Closing:
    """``with`` support for a class with ``close()``: the block's end closes it."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ArrowBatchStream(_Closing):
    """The record batches of one Arrow IPC stream response, read as they arrive.

    Iterating yields :class:`pyarrow.RecordBatch` objects (columns ``X``, ``y``, ``label``); only the
    batch being decoded is held in memory. The HTTP response is closed when the stream is exhausted,
    on :meth:`close`, or on leaving a ``with`` block: close it when stopping early.

    Attributes
    ----------
    schema : pyarrow.Schema
        The stream's schema; its metadata carries ``dataset_id``, ``generator``,
        ``generator_version`` and ``params`` (JSON).
    """

    def __init__(self, response: httpx.Response) -> None:
        import pyarrow as pa

        self._response = response
        try:
            self._body = _ResponseBodyReader(response)
            self._reader = pa.ipc.open_stream(io.BufferedReader(self._body, buffer_size=_STREAM_CHUNK_BYTES))
        except BaseException:
            response.close()
            raise
        self.schema: pa.Schema = self._reader.schema

    def __iter__(self) -> ArrowBatchStream:
        return self

    def __next__(self) -> pa.RecordBatch:
        try:
            return self._reader.read_next_batch()
        except StopIteration:
            # The end-of-stream marker is the body's last bytes, but the HTTP layer only sees the
            # body end when asked for more: without this, closing would drop a reusable connection.
            self._body.drain(_STREAM_CHUNK_BYTES)
            self.close()
            raise
        except BaseException:  # a failure: the response is done
            self.close()
            raise

    def read_all(self) -> pa.Table:
        """Read the remaining batches into one table and close the response."""
        import pyarrow as pa

        with self:
            return pa.Table.from_batches(list(self), schema=self.schema)

    def close(self) -> None:
        """Close the HTTP response (idempotent)."""
        self._response.close()


# --------------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------------


class JuniperDataClient(_Closing):
    """Client for the JuniperData REST API.

    Parameters
    ----------
    base_url : str, default "http://localhost:8100"
        The service root, normalised by :func:`normalize_base_url` (``"data:8100/v1/"`` works).
    timeout : float, default 30
        Seconds allowed for each request (connect, each read, write).
    retries : int, default 3
        Extra attempts after a 429, 500, 502, 503 or 504 answer, for GET, HEAD and PUT only: POST,
        PATCH and DELETE are sent once, since a retry could act twice. Transport errors are not
        retried (see :meth:`wait_for_ready` to wait for a service that is starting).
    backoff_factor : float, default 0.5
        Attempt ``k`` (0-based) waits ``backoff_factor * 2**k`` seconds before the next one, or the
        server's ``Retry-After`` when it sent one; each wait is capped at 60 s.
    api_key : str or None
        Sent as ``X-API-Key``; when ``None``, see :func:`resolve_api_key` for the fallbacks.

    Attributes
    ----------
    base_url : str
        The normalised root.
    session : httpx.Client
        The underlying connection pool (its ``headers`` carry ``X-API-Key`` when a key was found).

    Raises
    ------
    Each method raises :class:`JuniperDataNotFoundError` (404), :class:`JuniperDataValidationError`
    (400, 422), :class:`JuniperDataServerError` (5xx), :class:`JuniperDataClientError` (other non-2xx),
    :class:`JuniperDataConnectionError` (transport) and :class:`JuniperDataTimeoutError` (timeout).
    """

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
        # Large reads (client_transport.py) are what lets a download go past ~0.6-0.9 GB/s; a client
        # given a transport ignores HTTP_PROXY and friends, so with a proxy set httpx keeps its own.
        transport = None if environment_proxies() else LargeReadTransport()
        self.session = httpx.Client(
            base_url=self.base_url, timeout=timeout, headers=headers, transport=transport
        )

    # ---- transport ------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request, retrying where allowed; return a 2xx response or raise.

        With ``stream=True`` the body is not read: the caller must close the response.
        """
        query = {k: v for k, v in (params or {}).items() if v is not None}
        limit = self.timeout if timeout is None else timeout
        request = self.session.build_request(
            method,
            path,
            params=query,
            json=json,
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
            if (
                response.status_code in RETRY_STATUSES
                and method.upper() in RETRY_METHODS
                and attempt < self.retries
            ):
                wait = _retry_after_seconds(response)
                if wait is None:
                    wait = self.backoff_factor * 2**attempt
                response.close()
                time.sleep(min(wait, MAX_RETRY_WAIT_S))
                attempt += 1
                continue
            if not response.is_success:
                try:
                    response.read()
                finally:
                    response.close()
                raise _error_for(response)
            return response

    def _bytes(self, method: str, path: str, **kwargs: Any) -> bytes:
        """Send a request and return its whole body (read as in :func:`_read_body`)."""
        return _read_body(self._send(method, path, stream=True, **kwargs))

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and decode its JSON body."""
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise JuniperDataClientError(
                f"{method} {path}: the response is not JSON", status_code=response.status_code
            ) from exc

    # ---- health ---------------------------------------------------------------------------------

    def health_check(self) -> dict[str, Any]:
        """Return ``GET /v1/health``: ``{"status": "ok", "version": ...}``."""
        return cast(dict[str, Any], self._json("GET", "/v1/health"))

    def is_ready(self) -> bool:
        """Return True when ``GET /v1/health/ready`` answers ``status == "ready"``; never raises."""
        return self._is_ready(self.timeout)

    def _is_ready(self, timeout: float) -> bool:
        try:
            body = self._json("GET", "/v1/health/ready", timeout=timeout)
        except JuniperDataClientError:
            return False
        return isinstance(body, dict) and body.get("status") == "ready"

    def wait_for_ready(self, timeout: float = 30, poll_interval: float = 0.5) -> bool:
        """Poll :meth:`is_ready` until it is True or ``timeout`` seconds have passed.

        Parameters
        ----------
        timeout : float, default 30
            Seconds to wait in all; each probe is also limited to what remains.
        poll_interval : float, default 0.5
            Seconds between probes.

        Returns
        -------
        bool
            True once the service is ready, False on timeout.
        """
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._is_ready(min(self.timeout, remaining)):
                return True
            time.sleep(max(0.0, min(poll_interval, deadline - time.monotonic())))

    # ---- generators -----------------------------------------------------------------------------

    def list_generators(self) -> list[dict[str, Any]]:
        """Return ``GET /v1/generators``: one dict per generator (``name``, ``version``, ``schema``, ...)."""
        return cast(list[dict[str, Any]], self._json("GET", "/v1/generators"))

    def get_generator_schema(self, name: str) -> dict[str, Any]:
        """Return the JSON schema of generator ``name``'s parameters (404 for an unknown name)."""
        return cast(dict[str, Any], self._json("GET", f"/v1/generators/{name}/schema"))

    # ---- datasets -------------------------------------------------------------------------------

    def create_dataset(
        self,
        generator: str,
        params: Mapping[str, Any],
        persist: bool = True,
        name: str | None = None,
        description: str | None = None,
        created_by: str | None = None,
        parent_dataset_id: str | None = None,
        tags: Sequence[str] | None = None,
        ttl_seconds: int | None = None,
    ) -> dict[str, Any]:
        """Create (or find: same recipe, same ID) a dataset with ``POST /v1/datasets``.

        Parameters
        ----------
        generator : str
            Generator name, e.g. ``"spiral"``.
        params : mapping
            Generator parameters; unknown keys are ignored by the server and listed in ``warnings``.
        persist : bool, default True
            Cache the generated arrays on the server.
        name, description, created_by, parent_dataset_id : str or None
            Versioning and provenance; a ``name`` gives the dataset an incrementing version.
        tags : sequence of str or None
            Tags to attach (added to an existing dataset's tags on a hit).
        ttl_seconds : int or None
            Lifetime in seconds (>= 1); ``None`` keeps it until deleted.

        Returns
        -------
        dict
            ``{"dataset_id", "generator", "meta", "artifact_url", "warnings"}``.

        Notes
        -----
        Optional keys are sent only when not ``None``. POST is never retried.
        """
        payload: dict[str, Any] = {"generator": generator, "params": dict(params), "persist": persist}
        optional = {
            "name": name,
            "description": description,
            "created_by": created_by,
            "parent_dataset_id": parent_dataset_id,
            "tags": list(tags) if tags is not None else None,
            "ttl_seconds": ttl_seconds,
        }
        payload.update({key: value for key, value in optional.items() if value is not None})
        return cast(dict[str, Any], self._json("POST", "/v1/datasets", json=payload))

    def create_spiral_dataset(
        self,
        n_spirals: int = 2,
        n_points_per_spiral: int = 100,
        noise: float = 0.1,
        seed: int | None = None,
        algorithm: str = "modern",
        train_ratio: float = 0.8,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Create a spiral dataset (the shortcut JuniperCascor uses).

        Sends ``train_ratio`` but not ``test_ratio`` (the server then uses ``1 - train_ratio``) and no
        ``seed`` key when ``seed`` is None (the server draws one and records it in ``meta.params``).
        ``kwargs`` are further spiral parameters (``n_rotations``, ``clockwise``, ...).

        Returns
        -------
        dict
            As :meth:`create_dataset`.
        """
        params: dict[str, Any] = {
            "n_spirals": n_spirals,
            "n_points_per_spiral": n_points_per_spiral,
            "noise": noise,
            "algorithm": algorithm,
            "train_ratio": train_ratio,
        }
        if seed is not None:
            params["seed"] = seed
        params.update(kwargs)
        return self.create_dataset("spiral", params)

    def list_datasets(self, limit: int = 100, offset: int = 0) -> list[str]:
        """Return up to ``limit`` dataset IDs after skipping ``offset``."""
        return cast(list[str], self._json("GET", "/v1/datasets", params={"limit": limit, "offset": offset}))

    def get_dataset_metadata(self, dataset_id: str) -> dict[str, Any]:
        """Return a dataset's flat meta (``dataset_id``, ``n_train``, ``params``, ``tags``, ...)."""
        return cast(dict[str, Any], self._json("GET", f"/v1/datasets/{dataset_id}"))

    def list_versions(self, name: str) -> dict[str, Any]:
        """Return ``{"dataset_name", "versions": [meta], "total", "latest_version"}`` for ``name``."""
        return cast(dict[str, Any], self._json("GET", "/v1/datasets/versions", params={"name": name}))

    def get_latest(self, name: str) -> dict[str, Any]:
        """Return the meta of the newest version of ``name`` (404 when it has none)."""
        return cast(dict[str, Any], self._json("GET", "/v1/datasets/latest", params={"name": name}))

    def get_preview(self, dataset_id: str, n: int = 100) -> dict[str, Any]:
        """Return ``{"n_samples", "X_sample", "y_sample"}``: the first ``n`` (1..1000) rows of the data."""
        return cast(dict[str, Any], self._json("GET", f"/v1/datasets/{dataset_id}/preview", params={"n": n}))

    def delete_dataset(self, dataset_id: str) -> bool:
        """Delete a dataset; return True (404 raises :class:`JuniperDataNotFoundError`)."""
        self._send("DELETE", f"/v1/datasets/{dataset_id}")
        return True

    # ---- artifacts ------------------------------------------------------------------------------

    def download_artifact_bytes(self, dataset_id: str) -> bytes:
        """Return the dataset's NPZ artifact (all six arrays) as bytes."""
        return self._bytes("GET", f"/v1/datasets/{dataset_id}/artifact")

    def download_artifact_npz(self, dataset_id: str) -> dict[str, np.ndarray]:
        """Download and load the NPZ artifact.

        Returns
        -------
        dict of str to numpy.ndarray
            ``X_train, y_train, X_test, y_test, X_full, y_full``: float32, 2-D, ``X`` of shape
            ``(rows, n_features)``, ``y`` one-hot of shape ``(rows, n_classes)``.
        """
        return _load_npz(self.download_artifact_bytes(dataset_id))

    def download_rows(
        self, dataset_id: str, split: str = "train", offset: int = 0, limit: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Download rows ``[offset, offset + limit)`` of one split; the server computes only those.

        Parameters
        ----------
        dataset_id : str
            The dataset.
        split : {"train", "test", "full"}, default "train"
            Which pair of arrays.
        offset : int, default 0
            First row.
        limit : int or None
            Number of rows; ``None`` to the end of the split.

        Returns
        -------
        X : numpy.ndarray of float32, shape (rows, n_features)
        y : numpy.ndarray of float32, shape (rows, n_classes), one-hot
        """
        content = self._bytes(
            "GET",
            f"/v1/datasets/{dataset_id}/artifact",
            params={"format": "npz", "split": split, "offset": offset, "limit": limit},
        )
        arrays = _load_npz(content)
        try:
            return arrays[f"X_{split}"], arrays[f"y_{split}"]
        except KeyError as exc:
            raise JuniperDataClientError(
                f"The artifact has no {exc.args[0]!r} array (it has {sorted(arrays)})"
            ) from exc

    @overload
    def download_arrow(
        self,
        dataset_id: str,
        split: str = ...,
        *,
        offset: int | None = ...,
        limit: int | None = ...,
        stream: Literal[False] = ...,
    ) -> pa.Table: ...

    @overload
    def download_arrow(
        self,
        dataset_id: str,
        split: str = ...,
        *,
        offset: int | None = ...,
        limit: int | None = ...,
        stream: Literal[True],
    ) -> ArrowBatchStream: ...

    def download_arrow(
        self,
        dataset_id: str,
        split: str = "full",
        *,
        offset: int | None = None,
        limit: int | None = None,
        stream: bool = False,
    ) -> pa.Table | ArrowBatchStream:
        """Download one split as an Arrow IPC stream (needs pyarrow).

        Parameters
        ----------
        dataset_id : str
            The dataset.
        split : {"full", "train", "test"}, default "full"
            Which split.
        offset, limit : int or None
            A row range of the split; ``None`` for the start / the end.
        stream : bool, default False
            False: return a :class:`pyarrow.Table`. True: return an :class:`ArrowBatchStream`, an
            iterator of :class:`pyarrow.RecordBatch` decoded as bytes arrive, so a dataset larger
            than memory can be consumed batch by batch.

        Returns
        -------
        pyarrow.Table or ArrowBatchStream
            Columns ``X`` (fixed-size list of float32, n_features), ``y`` (fixed-size list of
            float32, n_classes, one-hot) and ``label`` (int32).
        """
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                "download_arrow needs pyarrow: pip install 'juniper-data[arrow]' (or pyarrow)"
            ) from exc
        response = self._send(
            "GET",
            f"/v1/datasets/{dataset_id}/artifact",
            params={"format": "arrow", "split": split, "offset": offset, "limit": limit},
            headers={"Accept": ARROW_MEDIA_TYPE},
            stream=True,
        )
        batches = ArrowBatchStream(response)
        return batches if stream else batches.read_all()

    # ---- batch operations -----------------------------------------------------------------------

    def batch_create(self, datasets: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Create 1..50 datasets (each a :meth:`create_dataset` body); items fail independently.

        Returns
        -------
        dict
            ``{"results": [{"index", "dataset_id", "generator", "success", "error", "artifact_url"}],
            "total_created", "total_failed"}``.
        """
        body = {"datasets": [dict(item) for item in datasets]}
        return cast(dict[str, Any], self._json("POST", "/v1/datasets/batch-create", json=body))

    def batch_delete(self, dataset_ids: Sequence[str]) -> dict[str, Any]:
        """Delete 1..100 datasets; return ``{"deleted", "not_found", "total_deleted"}``."""
        body = {"dataset_ids": list(dataset_ids)}
        return cast(dict[str, Any], self._json("POST", "/v1/datasets/batch-delete", json=body))

    def batch_update_tags(
        self,
        dataset_ids: Sequence[str],
        add_tags: Sequence[str] | None = None,
        remove_tags: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Add and remove tags on 1..100 datasets; return ``{"updated", "not_found", "total_updated"}``.

        ``add_tags`` and ``remove_tags`` are sent only when non-empty.
        """
        body: dict[str, Any] = {"dataset_ids": list(dataset_ids)}
        if add_tags:
            body["add_tags"] = list(add_tags)
        if remove_tags:
            body["remove_tags"] = list(remove_tags)
        return cast(dict[str, Any], self._json("PATCH", "/v1/datasets/batch-tags", json=body))

    def batch_export(self, dataset_ids: Sequence[str]) -> bytes:
        """Return a ZIP of ``<id>.npz`` members (and ``manifest.json`` when some IDs are missing).

        Raises :class:`JuniperDataNotFoundError` when none of the IDs exists.
        """
        body = {"dataset_ids": list(dataset_ids)}
        return self._bytes("POST", "/v1/datasets/batch-export", json=body)

    # ---- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self.session.close()

    def __repr__(self) -> str:
        return f"JuniperDataClient(base_url={self.base_url!r}, timeout={self.timeout!r})"


def _load_npz(content: bytes) -> dict[str, np.ndarray]:
    """Load every array of an NPZ held in memory (object arrays refused)."""
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (ValueError, OSError) as exc:
        raise JuniperDataClientError(f"The artifact is not a readable NPZ: {exc}") from exc
