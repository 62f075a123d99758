"""Serving artifacts: from the cache when whole and cached, else generated while streamed.

A whole artifact (the full NPZ, or the Arrow stream of a whole split) that misses the
cache is teed into it as it streams, for persisted datasets that fit the cache; a later
download is a read of that file (with a ``Content-Length``). The full NPZ's sha256
becomes the dataset's checksum once its last byte has passed. Row ranges are generated,
never cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

import juniper_data_core as jd
from juniper_data_core.formats import arrow_nbytes, iter_arrow, iter_npz, npz_nbytes, row_range
from juniper_data_service.context import ServiceContext
from juniper_data_service.creation import cache_key
from juniper_data_service.meta import check_budget
from juniper_data_service.storage.base import Meta
from juniper_data_service.storage.cache import BackgroundWriter
from juniper_data_service.streaming import READ_BYTES, ChunkStreamResponse, file_chunks

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

    def cache_key(self, dataset_id: str) -> str | None:
        """Where the artifact is cached: whole artifacts only (the six-array NPZ, an Arrow split)."""
        if self.whole_npz:
            return cache_key(dataset_id)
        if self.fmt == "arrow" and self.offset == 0 and self.limit is None:
            return cache_key(dataset_id, "arrow", self.split or "full")
        return None

    def n_bytes(self, recipe: jd.Recipe) -> int:
        """The response's size in bytes (exact for NPZ, a close upper bound for Arrow)."""
        if self.fmt == "npz":
            return npz_nbytes(recipe, split=self.split, offset=self.offset, limit=self.limit)
        return arrow_nbytes(recipe, split=self.split or "full", offset=self.offset, limit=self.limit)

    def etag(self, dataset_id: str) -> str:
        key = f"{dataset_id}|{self.fmt}|{self.split}|{self.offset}|{self.limit}"
        return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'

    def n_rows(self, recipe: jd.Recipe) -> int:
        """Rows of the split served (for all six arrays: the full dataset's rows); a 422 on
        the query parameter for a range outside the split, like every other bad query."""
        try:
            return row_range(recipe, self.split or "full", self.offset, self.limit).n_rows
        except jd.ParamsError as err:
            field = err.errors[0][0] if err.errors else "offset"
            value = {"offset": self.offset, "limit": self.limit}.get(field, self.split)
            error = {"type": "value_error", "loc": ("query", field), "msg": str(err), "input": value}
            raise RequestValidationError([error]) from None


def stored_recipe(meta: Meta) -> jd.Recipe:
    """The stored recipe of a dataset (its params are canonical, seed included)."""
    return jd.recipe(meta["generator"], meta["params"], version=meta["generator_version"])


def stored_backend(meta: Meta) -> str:
    """The backend the dataset was made with, or ``auto`` when it cannot run here (any
    backend gives the same integers and uniforms; floats agree within a few ulp)."""
    backend = str(meta["backend"])
    return backend if backend in jd.available_backends() else "auto"


def _headers(dataset_id: str, req: ArtifactRequest, etag: str) -> dict[str, str]:
    ext = "npz" if req.fmt == "npz" else "arrows"
    return {"ETag": etag, "Content-Disposition": f"attachment; filename={dataset_id}.{ext}"}


class ArtifactServer:
    """``GET /v1/datasets/{id}/artifact`` and the members of ``batch-export``."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def response(self, meta: Meta, persist: bool, req: ArtifactRequest, etag: str) -> Response:
        """The download's response, its access counted (once the request is known to be valid)."""
        recipe = stored_recipe(meta)
        n_rows = req.n_rows(recipe)  # first: a range outside the split is a 422 on its parameter
        n_bytes = req.n_bytes(recipe)
        check_budget("the artifact", n_rows, n_bytes, self.ctx.settings)
        # Counted while the artifact is looked up, not after: with a store on a server the
        # download then waits for one round trip to it instead of two in a row.
        ctx = self.ctx
        touched = asyncio.ensure_future(ctx.blocking(ctx.store.touch, meta["dataset_id"], ctx.now()))
        try:
            return await self._response(meta, recipe, persist, req, etag, n_bytes)
        finally:
            await touched

    async def _response(
        self, meta: Meta, recipe: jd.Recipe, persist: bool, req: ArtifactRequest, etag: str, n_bytes: int
    ) -> Response:
        headers = _headers(meta["dataset_id"], req, etag)
        media = NPZ_TYPE if req.fmt == "npz" else ARROW_TYPE
        key = req.cache_key(meta["dataset_id"])
        cache_it = key is not None and persist and self.ctx.cache.fits(n_bytes)
        flight: _Flight | None = None  # held while this request generates (and caches) the artifact
        try:
            while key is not None:
                cached = await self.ctx.blocking(self._open_cached, key)
                if cached is not None:
                    if flight is not None:  # cached meanwhile (another replica, or a leader just done)
                        await self.ctx.blocking(flight.release)
                    self.ctx.metrics.cache_hits.inc()
                    return self._cached_response(cached, req.fmt, media, headers)
                if not cache_it or flight is not None:
                    break
                flight = await self._lead(key)
                if flight is None:
                    cache_it = False
                    break
                if not flight.leads:
                    flight = None  # a leader finished: look again
            self.ctx.metrics.cache_misses.inc()
            chunks = await self.ctx.blocking(self._generated, meta, recipe, req, cache_it, flight)
        except BaseException:
            if flight is not None:
                await self.ctx.blocking(flight.release)
            raise
        if flight is not None:
            chunks = _Releasing(chunks, flight.release)
        return ChunkStreamResponse(chunks, media_type=media, headers=headers, on_done=self._count(req.fmt))

    async def _lead(self, key: str) -> _Flight | None:
        """Single flight: the first request generates (and caches) the artifact, the others
        wait for it and read the cache; past the wait they generate uncached (None). Replicas
        sharing the store also take its lock, so one of them generates and the others find
        the artifact in the shared blob store. A :class:`_Flight` whose ``leads`` is False
        means a leader here finished: look again."""
        wait_s = self.ctx.settings.single_flight_wait_seconds
        led = await self.ctx.flights.lead(key, wait_s)
        if led is None:
            return None
        flight = _Flight(self.ctx, key, leads=led)
        if led and self.ctx.store.shared:
            flight.replica = self.ctx.store.lock(f"artifact:{key}", wait_s)
            # Past the wait the lock is not held and this replica generates too, as above.
            await self.ctx.blocking(flight.replica.__enter__)
        return flight

    def _cached_response(
        self, cached: tuple[Any, int], fmt: str, media: str, headers: dict[str, str]
    ) -> Response:
        body, size = cached
        headers["Content-Length"] = str(size)
        if isinstance(body, bytes):
            self._count(fmt)(size)
            return Response(body, media_type=media, headers=headers)
        return ChunkStreamResponse(
            file_chunks(body), media_type=media, headers=headers, on_done=self._count(fmt)
        )

    def _count(self, fmt: str) -> Any:
        return lambda n: self.ctx.metrics.artifact_bytes.labels(format=fmt).inc(n)

    def _open_cached(self, key: str) -> tuple[Any, int] | None:
        """The cached file, open, and its size; its bytes instead when one read takes it all
        (Cascor's datasets: a plain response then costs no streaming machinery). None on a miss."""
        opened = self.ctx.cache.open(key)  # closed by file_chunks when the body ends
        if opened is None:
            return None
        f, size = opened
        if size > READ_BYTES:
            return f, size
        with f:
            return f.read(), size

    def npz_member(self, meta: Meta) -> Iterator[Any]:
        """The full NPZ of a dataset for an archive: cached bytes or generated (blocking)."""
        opened = self._open_cached(cache_key(meta["dataset_id"]))
        if opened is not None:
            body = opened[0]
            return iter([body]) if isinstance(body, bytes) else file_chunks(body)
        return self._generated(meta, stored_recipe(meta), ArtifactRequest("npz", None, 0, None), False)

    def _generated(
        self,
        meta: Meta,
        recipe: jd.Recipe,
        req: ArtifactRequest,
        cache_it: bool,
        flight: _Flight | None = None,
    ) -> Iterator[Any]:
        """The artifact's chunks, generated as they are pulled, teed into the cache when
        ``cache_it`` (blocking: call in a thread); ``flight``, when given, is let go only
        once that cache entry is published."""
        backend = stored_backend(meta)
        if req.fmt == "arrow":
            chunks = iter_arrow(
                recipe, split=req.split or "full", offset=req.offset, limit=req.limit, backend=backend
            )
        else:
            chunks = iter_npz(recipe, split=req.split, offset=req.offset, limit=req.limit, backend=backend)
        rows = req.n_rows(recipe) if req.split else recipe.n_rows("full") + sum(recipe.split_sizes)
        measured = self._measured(chunks, meta, backend, rows)
        key = req.cache_key(meta["dataset_id"])
        if key is None:
            return measured
        return self._whole(measured, meta, key, cache_it, checksum=req.whole_npz, flight=flight)

    def _measured(self, chunks: Iterator[Any], meta: Meta, backend: str, rows: int) -> Iterator[Any]:
        """The chunks, timed: generation is the time spent making them, streaming the
        whole time from the first to the last (a slow reader lengthens only that)."""
        t0 = time.perf_counter()
        generating = 0.0
        try:
            while True:
                t = time.perf_counter()
                chunk = next(chunks, None)
                generating += time.perf_counter() - t
                if chunk is None:
                    break
                yield chunk
        finally:  # as `yield from` would: a client gone closes the generation at once
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        metrics = self.ctx.metrics
        labels = {"generator": meta["generator"], "backend": backend}
        metrics.generation_seconds.labels(**labels).observe(generating)
        metrics.stream_seconds.labels(**labels).observe(time.perf_counter() - t0)
        metrics.rows_generated.labels(generator=meta["generator"]).inc(rows)

    def _whole(
        self,
        chunks: Iterator[Any],
        meta: Meta,
        key: str,
        cache_it: bool,
        checksum: bool,
        flight: _Flight | None = None,
    ) -> Iterator[Any]:
        """Pass the chunks on, teed into the cache under ``key`` when ``cache_it``; with
        ``checksum``, hash them and record the sha256 as the dataset's checksum at the end.

        The cache file is written and published by a thread of its own, so the stream
        neither waits for the disk nor for the final fsync; the checksum is recorded
        before the last byte goes out, so a client that asks for the meta next sees it.
        """
        digest = hashlib.sha256() if checksum and meta["checksum"] is None else None
        tee = BackgroundWriter(self.ctx.cache, key) if cache_it else None
        if tee is not None and flight is not None:
            flight.publishing = tee
        try:
            for chunk in chunks:
                if digest is not None:
                    digest.update(chunk)
                if tee is not None:
                    tee.write(chunk)
                yield chunk
        except BaseException:  # the client went away (GeneratorExit) or generation failed
            if tee is not None:
                tee.abort()
            raise
        if tee is not None:
            tee.finish()
        if digest is not None:
            self.ctx.store.set_checksum(meta["dataset_id"], digest.hexdigest())


class _Flight:
    """A download's part in a single flight: ``leads`` when it generates; ``release`` (from any
    thread, once) lets the waiting requests (and, through the store's lock, other replicas) go."""

    def __init__(self, ctx: ServiceContext, key: str, leads: bool) -> None:
        self.ctx, self.key, self.leads = ctx, key, leads
        self.replica: contextlib.AbstractContextManager[bool] | None = None
        # The cache entry this flight fills. Let go before it is published, another replica
        # waiting on the store's lock would miss the entry and generate the artifact too.
        self.publishing: BackgroundWriter | None = None
        self._released = False

    def release(self) -> None:
        if self._released or not self.leads:
            return
        self._released = True
        if self.publishing is not None:
            self.publishing.when_done(self._let_go)
        else:
            self._let_go()

    def _let_go(self) -> None:
        try:
            if self.replica is not None:
                self.replica.__exit__(None, None, None)
        finally:
            self.ctx.flights.release(self.key)


class _Releasing:
    """``chunks`` that call ``release`` once when they end, fail or are closed, also if
    they were never started (a generator's ``finally`` would not run then)."""

    def __init__(self, chunks: Iterator[Any], release: Callable[[], None]) -> None:
        self._chunks = chunks
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> _Releasing:
        return self

    def __next__(self) -> Any:
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        try:
            if close is not None:
                close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()
