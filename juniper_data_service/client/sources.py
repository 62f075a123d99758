"""The source endpoints of the client: upload a table, list, describe and delete sources."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from .connection import Connection

#: Content types sent for the formats a suffix names (the server also reads ``?format=``).
_CONTENT_TYPES = {
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
    ".parquet": "application/vnd.apache.parquet",
    ".arrow": "application/vnd.apache.arrow.file",
    ".feather": "application/vnd.apache.arrow.file",
}


class SourceMethods(Connection):
    """``/v1/sources``: what :class:`~.api.JuniperDataClient` offers for data that is uploaded."""

    def upload_source(
        self,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        format: str | None = None,
        delimiter: str | None = None,
        header: bool = True,
        column_types: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Upload the file at ``path`` (streamed, not read into memory) as a source.

        Returns the source's record: ``{"source_id": "sha256:<hex>", "name", "columns",
        "n_rows", "bytes", "created_at", "used_by"}`` (the same content uploaded before
        returns the stored record). ``format`` is one of csv, tsv, json, jsonl, parquet,
        arrow (default: from the suffix); ``column_types`` maps columns to int64, float64,
        bool or string. Give a longer ``timeout`` for large files.
        """
        file = Path(path)
        params = {
            "name": name or file.name,
            "format": format,
            "delimiter": delimiter,
            "header": "true" if header else "false",
            "column_types": ",".join(f"{k}:{v}" for k, v in column_types.items()) if column_types else None,
        }
        content_type = _CONTENT_TYPES.get(file.suffix.lower(), "application/octet-stream")
        with open(file, "rb") as body:
            response = self._send(
                "POST",
                "/v1/sources",
                params=params,
                content=body,
                headers={"Content-Type": content_type},
                timeout=timeout,
            )
        return cast(dict[str, Any], response.json())

    def list_sources(self) -> list[dict[str, Any]]:
        """Every stored source's record, newest first."""
        return cast(list[dict[str, Any]], self._json("GET", "/v1/sources"))

    def get_source(self, source_id: str) -> dict[str, Any]:
        """A source's record and its first rows (``rows``); 404 raises JuniperDataNotFoundError."""
        return cast(dict[str, Any], self._json("GET", f"/v1/sources/{source_id}"))

    def delete_source(self, source_id: str, *, force: bool = False) -> bool:
        """Delete a source; True. While datasets use it the server answers 409 (raised as
        JuniperDataClientError) unless ``force``."""
        self._send("DELETE", f"/v1/sources/{source_id}", params={"force": "true" if force else None})
        return True
