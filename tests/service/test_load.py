"""A bounded load over loopback: 50 concurrent clients, a few thousand requests of a mixed
workload (create, download, meta, list, filter, health) against a server process: no error.

The latencies it measures are reported by ``python benchmarks/load.py`` in
docs/benchmarks.md, not asserted here (a shared 2-core machine makes timings noisy).
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.load import run_load


def test_fifty_clients_get_no_errors(served: Callable[..., int]) -> None:
    port = served(JUNIPER_DATA_BACKEND="numpy")
    result = run_load(f"http://127.0.0.1:{port}", clients=50, requests=2400)
    assert result.requests >= 2000, result.report()
    assert result.errors == [], result.report()
    assert {"create", "download", "meta", "list", "filter", "health"} <= set(result.latencies)
