"""Creating a dataset: request -> recipe -> (maybe) bytes -> stored meta.

A dataset is stored as its recipe. Small datasets are generated at once and their
NPZ cached (clients such as Cascor create and then download), which also gives
the checksum; large ones only have their labels counted, and their bytes are
generated when downloaded. Identical requests at the same moment serialise on the
dataset ID (within a process, and across replicas by the store's lock), so the second
finds the first's dataset and nothing is generated twice.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import juniper_data_core as jd
from juniper_data_core.formats import iter_npz, npz_nbytes
from juniper_data_service.context import ServiceContext
from juniper_data_service.meta import check_budget, new_meta
from juniper_data_service.schemas import DatasetRequest
from juniper_data_service.storage.base import Meta, claimed

#: Datasets whose full NPZ is at most this many bytes are generated (and cached) when created
#: (about 1e6 rows of a 2-feature, 2-class dataset); larger ones are generated when downloaded.
EAGER_BYTES = 32 << 20


def cache_key(dataset_id: str, fmt: str = "npz", split: str = "full") -> str:
    """The cache's name for a whole artifact: ``<id>.npz`` (the six arrays) or
    ``<id>.<split>.arrows`` (the Arrow stream of one split)."""
    return f"{dataset_id}.npz" if fmt == "npz" else f"{dataset_id}.{split}.arrows"


def cache_keys(dataset_id: str) -> tuple[str, ...]:
    """Every key a dataset's bytes can be cached under (what deleting it removes)."""
    return (cache_key(dataset_id), *(cache_key(dataset_id, "arrow", split) for split in jd.SPLITS))


def build_recipe(body: DatasetRequest) -> jd.Recipe:
    """Validate the request's generator, version and params (400 on errors)."""
    return jd.recipe(body.generator, body.params, version=body.version)


class Creator:
    """``POST /v1/datasets`` and each item of ``batch-create``."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def _recipe(self, body: DatasetRequest) -> tuple[jd.Recipe, int]:
        """The recipe and its full NPZ's bytes; blocking (a source's file is imported, its
        label column read)."""
        if body.generator in ("csv_import", "arc_agi"):
            # Files a recipe names (csv_import's file_path, arc_agi's local_path): only under
            # JUNIPER_DATA_IMPORT_ROOTS (403 before any open), imported into this service's store.
            params = jd.sources.resolve_params(
                body.generator, body.params, self.ctx.settings.import_roots, self.ctx.sources
            )
            body = body.model_copy(update={"params": params})
        recipe = build_recipe(body)
        return recipe, npz_nbytes(recipe)  # the full NPZ's bytes, known before anything is computed

    async def create(self, body: DatasetRequest) -> tuple[Meta, list[str]]:
        """Store (or find) the dataset; returns its meta and the recipe's warnings."""
        ctx = self.ctx
        # A source's recipe reads files when built and its meta reads rows (normalisation):
        # worker threads. Generators' (Cascor's many small creates) stay on the event loop.
        from_source = body.generator in ctx.from_source
        recipe, size = await ctx.blocking(self._recipe, body) if from_source else self._recipe(body)
        check_budget("the dataset (its full NPZ)", recipe.n_rows("full"), size, ctx.settings)
        backend = jd.backend_for(recipe, body.backend or ctx.settings.backend)
        # Identical creates in this process queue on the ID; replicas sharing the store also
        # claim it there, so one of them builds the dataset and the others find it.
        wait_s = ctx.settings.single_flight_wait_seconds
        async with (
            ctx.locks.hold(recipe.dataset_id),
            claimed(ctx.store, recipe.dataset_id, ctx.now(), wait_s) as claim,
        ):
            if claim.found is None:
                meta = await self._build(recipe, body, backend, size)
            else:
                meta = {**claim.found.meta, "tags": body.tags, "ttl_seconds": body.ttl_seconds}
            entry, _ = await ctx.blocking(claim.put, meta, persist=body.persist, now=ctx.now())
        return entry.meta, list(recipe.warnings)

    async def _build(self, recipe: jd.Recipe, body: DatasetRequest, backend: str, size: int) -> Meta:
        ctx = self.ctx
        if size <= EAGER_BYTES:
            cache_it = body.persist and ctx.cache.fits(size)
            distribution, checksum = await ctx.blocking(self._generate_now, recipe, backend, cache_it)
        else:
            distribution, checksum = await ctx.blocking(jd.class_distribution, recipe), None
        if recipe.generator in ctx.from_source:
            await ctx.blocking(recipe.plan.extra_meta)  # a source's statistics, off the event loop
        meta = new_meta(
            recipe, body, backend=backend, distribution=distribution, checksum=checksum, now=ctx.now()
        )
        if meta.get("source_id") and ctx.sources is not None:
            # The source's record lists the datasets made from it (a delete in use is 409).
            await ctx.blocking(ctx.sources.add_user, meta["source_id"], recipe.dataset_id)
        return meta

    def _generate_now(self, recipe: jd.Recipe, backend: str, cache_it: bool) -> tuple[dict[str, int], str]:
        """Generate the dataset and hash its NPZ, writing it to the cache when ``cache_it``; blocking."""
        t0 = time.perf_counter()
        dataset = jd.generate(recipe, backend=backend)
        seconds = time.perf_counter() - t0
        metrics = self.ctx.metrics
        metrics.generation_seconds.labels(generator=recipe.generator, backend=dataset.backend).observe(
            seconds
        )
        metrics.rows_generated.labels(generator=recipe.generator).inc(recipe.shape.n_rows)
        digest = hashlib.sha256()
        cache = self.ctx.cache
        if cache_it:
            with cache.writer(cache_key(recipe.dataset_id)) as f:
                for chunk in iter_npz(dataset):
                    digest.update(chunk)
                    f.write(chunk)
        else:
            for chunk in iter_npz(dataset):
                digest.update(chunk)
        meta: dict[str, Any] = dataset.meta
        return dict(meta["class_distribution"]), digest.hexdigest()
