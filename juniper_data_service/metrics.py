"""Prometheus metrics of one app, in a registry of its own (never the global one).

Labels carry route templates (``/v1/datasets/{dataset_id}``), generator and backend
names and artifact formats, never dataset IDs, so the number of series stays bounded.
The registry also holds the process collector (CPU seconds, resident memory, open
files: ``process_*``), the platform collector (``python_info``), garbage collection
(``python_gc_*``) and, through :class:`CacheCollector`, the artifact cache's size and
evictions read at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

CONTENT_TYPE = CONTENT_TYPE_LATEST
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class CacheStats(Protocol):
    """What :class:`CacheCollector` reads (``juniper_data_service.storage.ArtifactCache``)."""

    max_bytes: int
    evictions: int
    evicted_bytes: int

    @property
    def used_bytes(self) -> int: ...


class CacheCollector:
    """The artifact cache's size, bound and evictions, read when scraped (a custom
    collector: the counts live in the cache, which evicts on its own)."""

    def __init__(self, cache: CacheStats) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
        c = self.cache
        yield GaugeMetricFamily("juniper_data_cache_bytes", "Bytes held in the artifact cache", c.used_bytes)
        yield GaugeMetricFamily("juniper_data_cache_max_bytes", "Bound of the artifact cache", c.max_bytes)
        yield CounterMetricFamily(
            "juniper_data_cache_evictions", "Artifact cache entries evicted to stay in bound", c.evictions
        )
        yield CounterMetricFamily(
            "juniper_data_cache_evicted_bytes", "Bytes of the artifact cache entries evicted", c.evicted_bytes
        )


class ServiceMetrics:
    """The service's counters, histograms and gauges."""

    def __init__(
        self, version: str, datasets_stored: Callable[[], float], cache: CacheStats | None = None
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # The standard collectors, in this registry (the global one holds them already).
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        if cache is not None:
            r.register(CacheCollector(cache))
        self.requests = Counter(
            "juniper_data_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=r
        )
        self.request_seconds = Histogram(
            "juniper_data_http_request_duration_seconds",
            "Time to answer an HTTP request (to the last body byte)",
            ["method", "route"],
            buckets=_SECONDS,
            registry=r,
        )
        self.generation_seconds = Histogram(
            "juniper_data_generation_duration_seconds",
            "Time spent generating a dataset or artifact (not waiting for the client)",
            ["generator", "backend"],
            buckets=_SECONDS,
            registry=r,
        )
        self.stream_seconds = Histogram(
            "juniper_data_stream_duration_seconds",
            "Time to stream a generated artifact, first byte to last (generation and the client's reading)",
            ["generator", "backend"],
            buckets=_SECONDS,
            registry=r,
        )
        self.rows_generated = Counter(
            "juniper_data_rows_generated", "Rows generated", ["generator"], registry=r
        )
        self.artifact_bytes = Counter(
            "juniper_data_artifact_bytes", "Artifact bytes served", ["format"], registry=r
        )
        self.cache_hits = Counter(
            "juniper_data_cache_hits", "Artifact requests served from the cache", registry=r
        )
        self.cache_misses = Counter(
            "juniper_data_cache_misses", "Full-artifact requests that had to generate", registry=r
        )
        stored = Gauge("juniper_data_datasets_stored", "Live datasets in the store", registry=r)
        stored.set_function(datasets_stored)
        info = Gauge("juniper_data_build_info", "Build information (always 1)", ["version"], registry=r)
        info.labels(version=version).set(1)

    def render(self) -> bytes:
        """The Prometheus text exposition (blocking: the gauge queries the store)."""
        return generate_latest(self.registry)
