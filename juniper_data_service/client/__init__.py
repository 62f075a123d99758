"""A Python client for the JuniperData HTTP API (``/v1``, port 8100).

A drop-in replacement for the earlier ``juniper_data_client.JuniperDataClient``: the same
constructor, URL normalisation, API-key lookup, methods, defaults and exception types (CONTRACT
section 6), built on httpx instead of requests. It adds Arrow downloads (whole or streamed record
batches) and row-range downloads.

The cut from the rest of the project: this package needs httpx and NumPy only (pyarrow only for
:meth:`JuniperDataClient.download_arrow`, imported there), and never imports the server side, so
that trainers (JuniperCascor, JuniperCanopy) can use it without FastAPI or uvicorn installed.

The cut between its modules, one concern each, so that each can be read (and tested) alone; the
arrows are the only imports between them:

- :mod:`.errors`: the exception types and the non-2xx response -> exception mapping.
- :mod:`.config`: base-URL normalisation and API-key lookup (argument, key file, environment).
- :mod:`.retry`: which answers are retried and how long to wait first (backoff, ``Retry-After``).
- :mod:`.transport`: the httpx transport whose connections read 1 MiB per ``recv``, which is what
  lets a large download run faster than httpx's 64 KiB reads allow (httpx and httpcore only).
- :mod:`.closing`: ``with`` support for the objects that hold a pool or a response.
- :mod:`.bodies` (-> errors): reading response bodies whole, as a file, or as NPZ arrays.
- :mod:`.arrow` (-> bodies, closing): :class:`ArrowBatchStream`, record batches as bytes arrive.
- :mod:`.connection` (-> config, errors, retry, transport, bodies, closing): the settings, the pool
  and sending one request with retries; no endpoint.
- :mod:`.downloads` (-> connection, bodies, arrow, errors): the artifact endpoints (NPZ, rows, Arrow).
- :mod:`.sources` (-> connection): the source endpoints (upload a table, list, get, delete).
- :mod:`.api` (-> downloads, sources, errors): :class:`JuniperDataClient` itself and its JSON endpoints.

The last three are one class in layers (``Connection`` <- ``ArtifactDownloads`` <- ``JuniperDataClient``):
every endpoint stays a method of the one class users know, while no module has to hold them all.

This module is the public face only: it re-exports the names below and defines nothing.

Examples
--------
>>> from juniper_data_service.client import JuniperDataClient
>>> with JuniperDataClient("http://localhost:8100") as client:  # doctest: +SKIP
...     created = client.create_spiral_dataset(n_points_per_spiral=100, seed=42)
...     arrays = client.download_artifact_npz(created["dataset_id"])
...     X_train, y_train = arrays["X_train"], arrays["y_train"]
"""

from __future__ import annotations

from .api import JuniperDataClient
from .arrow import ARROW_MEDIA_TYPE, ArrowBatchStream
from .config import (
    API_KEY_ENV,
    API_KEY_FILE_ENV,
    API_KEY_HEADER,
    DEFAULT_BASE_URL,
    normalize_base_url,
    resolve_api_key,
)
from .errors import (
    JuniperDataClientError,
    JuniperDataConnectionError,
    JuniperDataNotFoundError,
    JuniperDataServerError,
    JuniperDataTimeoutError,
    JuniperDataValidationError,
)
from .retry import MAX_RETRY_WAIT_S, RETRY_METHODS, RETRY_STATUSES

__all__ = [
    "API_KEY_ENV",
    "API_KEY_FILE_ENV",
    "API_KEY_HEADER",
    "ARROW_MEDIA_TYPE",
    "DEFAULT_BASE_URL",
    "MAX_RETRY_WAIT_S",
    "RETRY_METHODS",
    "RETRY_STATUSES",
    "ArrowBatchStream",
    "JuniperDataClient",
    "JuniperDataClientError",
    "JuniperDataConnectionError",
    "JuniperDataNotFoundError",
    "JuniperDataServerError",
    "JuniperDataTimeoutError",
    "JuniperDataValidationError",
    "normalize_base_url",
    "resolve_api_key",
]
