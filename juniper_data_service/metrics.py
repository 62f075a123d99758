"""Prometheus metrics of one app, in a registry of its own (never the global one).

Labels carry route templates (``/v1/datasets/{dataset_id}``), never dataset IDs, so
the number of series stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class ServiceMetrics:
    """The service's counters, histograms and gauges."""

    def __init__(self, version: str, datasets_stored: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
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
            "Time to generate a dataset or artifact",
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
