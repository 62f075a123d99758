"""A bounded load over loopback: concurrent clients of a mixed workload, errors and latencies.

    python benchmarks/load.py --clients 50 --requests 5000        # against a fresh server process
    python benchmarks/load.py --large-rows 1e8                    # health p99 during a 1e8-row download

Each client (a thread with its own ``httpx.Client``, keep-alive on) sends, in turn: a create of
a small fresh dataset (xor, 400 rows, a new seed) and its NPZ download, a metadata read, a
generator list, a filter query, and a health probe. An error is a 5xx or a transport error
(a reset, a refused or timed-out connection); 4xx answers are part of the workload and none is
expected. ``tests/service/test_load.py`` runs a smaller instance and asserts zero errors.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

_seeds = itertools.count(10_000)


@dataclass
class LoadResult:
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def record(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    def percentile(self, kind: str, q: float) -> float:
        values = sorted(self.latencies.get(kind, [0.0]))
        return values[min(len(values) - 1, int(q * len(values)))]

    def report(self) -> str:
        lines = [f"{self.requests} requests in {self.seconds:.1f} s ({self.requests / self.seconds:.0f}/s), "
                 f"{len(self.errors)} errors"]  # fmt: skip
        for kind, values in sorted(self.latencies.items()):
            lines.append(
                f"  {kind:9s} n={len(values):5d} p50 {1e3 * statistics.median(values):7.1f} ms  "
                f"p99 {1e3 * self.percentile(kind, 0.99):7.1f} ms  max {1e3 * max(values):7.1f} ms"
            )
        return "\n".join(lines)


def _pair(client: httpx.Client, result: LoadResult, lock: threading.Lock) -> int:
    """One round of the workload; the number of requests sent."""
    steps: list[tuple[str, Callable[[], httpx.Response]]] = []
    dataset: list[str] = []

    def create() -> httpx.Response:
        body = {"generator": "xor", "params": {"n_points_per_quadrant": 100, "seed": next(_seeds)}}
        r = client.post("/v1/datasets", json=body)
        if r.status_code == 201:
            dataset.append(r.json()["dataset_id"])
        return r

    steps.append(("create", create))
    steps.append(("download", lambda: client.get(f"/v1/datasets/{dataset[0]}/artifact")))
    steps.append(("meta", lambda: client.get(f"/v1/datasets/{dataset[0]}")))
    steps.append(("list", lambda: client.get("/v1/generators")))
    steps.append(
        ("filter", lambda: client.get("/v1/datasets/filter", params={"generator": "xor", "limit": 10}))
    )
    steps.append(("health", lambda: client.get("/v1/health")))
    sent = 0
    for kind, step in steps:
        if kind != "create" and not dataset:
            break
        t0 = time.perf_counter()
        try:
            r = step()
            error = f"{kind}: {r.status_code} {r.text[:200]}" if r.status_code >= 400 else None
        except httpx.TransportError as err:
            error = f"{kind}: {type(err).__name__}: {err}"
        sent += 1
        with lock:
            result.record(kind, time.perf_counter() - t0)
            if error:
                result.errors.append(error)
    return sent


def run_load(url: str, clients: int, requests: int, seconds_limit: float = 300) -> LoadResult:
    """About ``requests`` requests from ``clients`` concurrent clients (bounded by time too)."""
    result, lock = LoadResult(), threading.Lock()
    deadline = time.perf_counter() + seconds_limit
    per_client = max(1, requests // clients)

    def client_loop(_: int) -> int:
        sent = 0
        with httpx.Client(base_url=url, timeout=60) as client:
            while sent < per_client and time.perf_counter() < deadline:
                sent += _pair(client, result, lock)
        return sent

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        result.requests = sum(pool.map(client_loop, range(clients)))
    result.seconds = time.perf_counter() - t0
    return result


def health_during_download(url: str, rows: int) -> tuple[int, float, float]:
    """Health probes while one ``rows``-row Arrow download streams: (probes, p50 s, p99 s)."""
    with httpx.Client(base_url=url, timeout=600) as client:
        params = {"n_points_per_quadrant": rows // 4, "seed": 1}
        body = {"generator": "xor", "params": params, "persist": False}
        dataset_id = client.post("/v1/datasets", json=body).json()["dataset_id"]
    done = threading.Event()

    def download() -> None:
        with (
            httpx.Client(base_url=url, timeout=600) as c,
            c.stream("GET", f"/v1/datasets/{dataset_id}/artifact", params={"format": "arrow"}) as r,
        ):
            for _ in r.iter_raw(1 << 20):
                pass
        done.set()

    thread = threading.Thread(target=download)
    thread.start()
    times = []
    with httpx.Client(base_url=url, timeout=60) as probe:
        while not done.is_set():
            t0 = time.perf_counter()
            probe.get("/v1/health")
            times.append(time.perf_counter() - t0)
            time.sleep(0.02)
    thread.join()
    times.sort()
    return len(times), statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))]


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.service.conftest import ServerProcess

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--large-rows", type=float, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as storage:
        server = ServerProcess(Path(storage))
        try:
            if args.requests:
                result = run_load(server.url, args.clients, args.requests)
                print(f"{args.clients} clients: " + result.report())
                for error in result.errors[:10]:
                    print("  error:", error)
            if args.large_rows:
                n, p50, p99 = health_during_download(server.url, int(args.large_rows))
                print(f"health during a {args.large_rows:.0e}-row Arrow download: {n} probes, "
                      f"p50 {1e3 * p50:.1f} ms, p99 {1e3 * p99:.1f} ms")  # fmt: skip
        finally:
            server.stop()


if __name__ == "__main__":
    main()
