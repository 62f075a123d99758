"""Service benchmarks by metadata store: Cascor's loop (``POST /v1/datasets`` with a fresh
seed, spiral 2 x 1000, then ``GET .../artifact`` as NPZ) with 1 and 8 clients against
``python -m juniper_data_service`` on SQLite, PostgreSQL and Redis, side by side in one
run, interleaved: each round runs a burst on every store in turn (groups
``service-stores-<clients>``; the rates per store and their ratios to SQLite's are in each
benchmark's ``extra_info`` and printed with the results).

PostgreSQL and Redis come from ``JUNIPER_DATA_TEST_DATABASE_URL`` and
``JUNIPER_DATA_TEST_REDIS_URL`` (``.ci/servers.sh`` starts both); each run gets a schema or
key prefix of its own.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("juniper_data_service.app")
httpx = pytest.importorskip("httpx")

from benchmarks.conftest import benchmarks_enabled, stop_process, summary_line  # noqa: E402
from benchmarks.test_service import CASCOR, _create, _download, _seeds  # noqa: E402
from tests.service.test_store_contract import StoreBacking  # noqa: E402

STORES = ["sqlite", "postgres", "redis"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes] | None, store: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the service process on {store} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the service on {store} did not start")
        try:
            if httpx.get(f"{url}/v1/health/ready", timeout=30).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)


@contextlib.contextmanager
def _serving(store: str, timed: bool, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service on ``store``: timed, in its own process (its GIL its own, as deployed);
    in the correctness mode, in a thread of this one (no process start-up to pay)."""
    backing = StoreBacking(store, tmp_path_factory.mktemp(f"backing-{store}"))  # skips without its server
    port = _free_port()
    env = {
        "JUNIPER_DATA_HOST": "127.0.0.1",
        "JUNIPER_DATA_PORT": str(port),
        "JUNIPER_DATA_STORAGE_PATH": str(tmp_path_factory.mktemp(f"stores-{store}")),
        "JUNIPER_DATA_LOG_LEVEL": "WARNING",
        "JUNIPER_DATA_WARM_KERNELS": "false",  # Cascor's spiral runs on numpy at this size
        **backing.service_env(),
    }
    url = f"http://127.0.0.1:{port}"
    proc = None
    server = thread = None
    try:
        if timed:
            environ = {k: v for k, v in os.environ.items() if not k.startswith("JUNIPER_DATA_")}
            root = Path(__file__).resolve().parents[1]
            proc = subprocess.Popen(
                [sys.executable, "-m", "juniper_data_service"], env={**environ, **env}, cwd=root
            )
        else:
            import uvicorn

            from juniper_data_service.app import create_app
            from juniper_data_service.settings import Settings

            settings = Settings(**{k.removeprefix("JUNIPER_DATA_").lower(): v for k, v in env.items()})
            config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
        _wait_ready(url, proc, store)
        yield url
    finally:
        if proc is not None:
            stop_process(proc)
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(30)
        backing.cleanup()


@pytest.fixture(scope="module")
def store_urls(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The service on each store, all running at once (an idle one costs the others nothing)."""
    timed = benchmarks_enabled(request.config)
    with contextlib.ExitStack() as stack:
        yield {store: stack.enter_context(_serving(store, timed, tmp_path_factory)) for store in STORES}


def _stored(url: str) -> int:
    return int(httpx.get(f"{url}/v1/datasets/stats", timeout=30).json()["total_datasets"])


@pytest.mark.parametrize("clients", [1, 8])
def test_service_stores_cascor_fresh(
    benchmark, enabled: bool, store_urls: dict[str, str], clients: int, request: pytest.FixtureRequest
) -> None:  # type: ignore[no-untyped-def]
    """Each round runs a burst on every store, in turn (each store first in its turn), so a
    machine that slows down mid-run slows all three alike; the rates are per store, the
    benchmark's own time that of a whole round."""
    requests = 60 if enabled else clients
    rounds = 9 if enabled else 1
    sessions = {
        s: [httpx.Client(base_url=u, timeout=120) for _ in range(clients)] for s, u in store_urls.items()
    }
    pool = ThreadPoolExecutor(clients)
    seconds: dict[str, list[float]] = {s: [] for s in STORES}
    before = {s: _stored(u) for s, u in store_urls.items()}
    turn = itertools.count()

    def one(client: httpx.Client) -> int:
        return _download(client, _create(client, {**CASCOR, "seed": next(_seeds)}), format="npz")

    def burst(store: str) -> float:
        t0 = time.perf_counter()
        jobs = [pool.submit(one, sessions[store][k % clients]) for k in range(requests)]
        sizes = [j.result() for j in jobs]
        elapsed = time.perf_counter() - t0
        assert len(sizes) == requests and all(n == sizes[0] > 2000 * 32 for n in sizes)
        return elapsed

    def round_() -> None:
        k = next(turn) % len(STORES)
        for store in STORES[k:] + STORES[:k]:
            seconds[store].append(burst(store))

    try:
        for store in STORES:
            burst(store)  # warm: connections, caches
        benchmark.group = f"service-stores-{clients}"
        benchmark.pedantic(round_, rounds=rounds, iterations=1)
    finally:
        pool.shutdown()
        for client in (c for group in sessions.values() for c in group):
            client.close()
    rates = {s: requests / statistics.median(v) for s, v in seconds.items()}
    benchmark.extra_info.update(
        role="service",
        clients=clients,
        requests=requests,
        n_rows=2000,
        pairs_per_s={s: round(r, 1) for s, r in rates.items()},
        of_sqlite={s: round(r / rates["sqlite"], 3) for s, r in rates.items()},
    )
    if enabled:
        line = ", ".join(f"{s} {r:.0f} ({r / rates['sqlite']:.0%})" for s, r in rates.items())
        summary_line(request.config, f"service-stores-{clients}, pairs/s (of sqlite's): {line}")
    # Every fresh create stored one dataset in its store (the warm-up burst included).
    for store, url in store_urls.items():
        assert _stored(url) - before[store] == requests * (rounds + 1)
