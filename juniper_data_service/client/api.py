"""The client users hold: :class:`JuniperDataClient` and its JSON endpoints.

The class stands on :class:`~.downloads.ArtifactDownloads` (the artifact endpoints), which stands on
:class:`~.connection.Connection` (settings, pool, sending with retries); this module adds the
endpoints that answer JSON (health, generators, datasets, batch operations) and ``batch_export``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

from .downloads import ArtifactDownloads
from .errors import JuniperDataClientError
from .sources import SourceMethods


class JuniperDataClient(ArtifactDownloads, SourceMethods):
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
        ``seed`` key when ``seed`` is None (the spiral's default, 42, then applies, as the earlier
        client's did).
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

    def __repr__(self) -> str:
        return f"JuniperDataClient(base_url={self.base_url!r}, timeout={self.timeout!r})"
