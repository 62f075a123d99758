"""Serving artifacts: from the cache when whole and cached, else generated while streamed.

A full NPZ that misses the cache is teed into it as it streams (for persisted
datasets that fit the cache) and its sha256 becomes the dataset's checksum once the
last byte has passed. Row ranges and Arrow streams are generated, never cached.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response, StreamingResponse

import juniper_data_core as jd
from juniper_data_core.backends.registry import get_backend
from juniper_data_core.errors import BackendUnavailableError
from juniper_data_service.context import ServiceContext
from juniper_data_service.creation import cache_key, npz_bytes_estimate
from juniper_data_service.meta import check_budget
from juniper_data_service.storage.base import Meta
from juniper_data_service.streaming import file_chunks, pump

NPZ_TYPE = "application/zip"
ARROW_TYPE = "application/vnd.apache.arrow.stream"


@dataclass(frozen=True)
class ArtifactRequest:
    """What to serve: ``fmt`` (npz|arrow), ``split`` (None = all six arrays, NPZ only), a row range."""

    fmt: str
    split: str | None
    offset: int
    limit: int | None

    @property
    def whole_npz(self) -> bool:
        return self.fmt == "npz" and self.split is None and self.offset == 0 and self.limit is None

    def etag(self, dataset_id: str) -> str:
        key = f"{dataset_id}|{self.fmt}|{self.split}|{self.offset}|{self.limit}"
        return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'

    def n_rows(self, recipe: jd.Recipe) -> int:
        """Rows of the split served (for all six arrays: the full dataset's rows)."""
        total = recipe.n_rows(self.split or "full")
        rest = max(0, total - self.offset)
        return rest if self.limit is None else min(rest, self.limit)


def recipe_of(meta: Meta) -> jd.Recipe:
    """The stored recipe of a dataset (its params are canonical, seed included)."""
    return jd.recipe(meta["generator"], meta["params"], version=meta["generator_version"])


def stored_backend(meta: Meta) -> str:
    """The backend the dataset was made with, or ``auto`` when it cannot run here (any
    backend gives the same integers and uniforms; floats agree within a few ulp)."""
    try:
        get_backend(str(meta["backend"]))
    except BackendUnavailableError:
        return "auto"
    return str(meta["backend"])


def _headers(dataset_id: str, req: ArtifactRequest, etag: str) -> dict[str, str]:
    ext = "npz" if req.fmt == "npz" else "arrows"
    return {"ETag": etag, "Content-Disposition": f"attachment; filename={dataset_id}.{ext}"}


class ArtifactServer:
    """``GET /v1/datasets/{id}/artifact`` and the members of ``batch-export``."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def response(self, meta: Meta, persist: bool, req: ArtifactRequest, etag: str) -> Response:
        recipe = recipe_of(meta)
        check_budget(req.n_rows(recipe), self.ctx.settings.max_rows)
        headers = _headers(meta["dataset_id"], req, etag)
        media = NPZ_TYPE if req.fmt == "npz" else ARROW_TYPE
        if req.whole_npz:
            cached = await self.ctx.blocking(self._open_cached, meta["dataset_id"])
            if cached is not None:
                self.ctx.metrics.cache_hits.inc()
                f, size = cached
                headers["Content-Length"] = str(size)
                return StreamingResponse(
                    pump(file_chunks(f), self._count("npz")), media_type=media, headers=headers
                )
            self.ctx.metrics.cache_misses.inc()
        chunks = await self.ctx.blocking(self._generated, meta, persist, recipe, req)
        return StreamingResponse(pump(chunks, self._count(req.fmt)), media_type=media, headers=headers)

    def _count(self, fmt: str) -> Any:
        return lambda n: self.ctx.metrics.artifact_bytes.labels(format=fmt).inc(n)

    def _open_cached(self, dataset_id: str) -> tuple[Any, int] | None:
        path = self.ctx.cache.get(cache_key(dataset_id))
        if path is None:
            return None
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed by file_chunks when the body ends
        except FileNotFoundError:  # evicted since
            return None
        return f, os.fstat(f.fileno()).st_size

    def npz_member(self, meta: Meta) -> Iterator[Any]:
        """The full NPZ of a dataset for an archive: cached bytes or generated (blocking)."""
        opened = self._open_cached(meta["dataset_id"])
        if opened is not None:
            return file_chunks(opened[0])
        return self._generated(meta, False, recipe_of(meta), ArtifactRequest("npz", None, 0, None))

    def _generated(self, meta: Meta, persist: bool, recipe: jd.Recipe, req: ArtifactRequest) -> Iterator[Any]:
        """The artifact's chunks, generated as they are pulled (blocking: call in a thread)."""
        backend = stored_backend(meta)
        if req.fmt == "arrow":
            from juniper_data_core.formats import iter_arrow

            chunks = iter_arrow(
                recipe, split=req.split or "full", offset=req.offset, limit=req.limit, backend=backend
            )
        else:
            from juniper_data_core.formats import iter_npz

            chunks = iter_npz(recipe, split=req.split, offset=req.offset, limit=req.limit, backend=backend)
        rows = req.n_rows(recipe) if req.split else recipe.n_rows("full") + sum(recipe.split_sizes)
        measured = self._measured(chunks, meta, backend, rows)
        if req.whole_npz:
            return self._whole_npz(
                measured, meta, persist and self.ctx.cache.fits(npz_bytes_estimate(recipe))
            )
        return measured

    def _measured(self, chunks: Iterator[Any], meta: Meta, backend: str, rows: int) -> Iterator[Any]:
        t0 = time.perf_counter()
        yield from chunks
        metrics = self.ctx.metrics
        metrics.generation_seconds.labels(generator=meta["generator"], backend=backend).observe(
            time.perf_counter() - t0
        )
        metrics.rows_generated.labels(generator=meta["generator"]).inc(rows)

    def _whole_npz(self, chunks: Iterator[Any], meta: Meta, cache_it: bool) -> Iterator[Any]:
        """Pass the chunks on; hash them (and tee them into the cache); record the checksum at the end."""
        digest = hashlib.sha256()
        dataset_id = meta["dataset_id"]
        if cache_it:
            with self.ctx.cache.writer(cache_key(dataset_id)) as f:
                for chunk in chunks:
                    digest.update(chunk)
                    f.write(chunk)
                    yield chunk
        else:
            for chunk in chunks:
                digest.update(chunk)
                yield chunk
        if meta["checksum"] is None:
            self.ctx.store.set_checksum(dataset_id, digest.hexdigest())
