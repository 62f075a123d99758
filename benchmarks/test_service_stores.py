"""Service benchmarks by metadata store: Cascor's loop (``POST /v1/datasets`` with a fresh
seed, spiral 2 x 1000, then ``GET .../artifact`` as NPZ) with 1 and 8 clients against
``python -m juniper_data_service`` on SQLite, PostgreSQL and Redis, side by side in one
run (groups ``service-stores-<clients>``; compare each store's rate with SQLite's there).

PostgreSQL and Redis come from ``JUNIPER_DATA_TEST_DATABASE_URL`` and
``JUNIPER_DATA_TEST_REDIS_URL`` (``.ci/servers.sh`` starts both); each run gets a schema or
key prefix of its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

pytest.importorskip("juniper_data_service.app")
httpx = pytest.importorskip("httpx")

from benchmarks.test_service import _cascor_bursts  # noqa: E402

STORES = ["sqlite", "postgres", "redis"]
PG_VAR = "JUNIPER_DATA_TEST_DATABASE_URL"
REDIS_VAR = "JUNIPER_DATA_TEST_REDIS_URL"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _store_env(store: str, name: str) -> dict[str, str]:
    """The service's variables for ``store``, on a fresh schema or prefix ``name``."""
    if store == "sqlite":
        return {}
    if store == "postgres":
        base = os.environ.get(PG_VAR)
        if not base:
            pytest.skip(f"the PostgreSQL store's benchmark needs {PG_VAR} (.ci/servers.sh sets it)")
        import psycopg

        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}".encode())
        sep = "&" if "?" in base else "?"
        url = f"{base}{sep}options={quote(f'-csearch_path={name}')}"
        return {"JUNIPER_DATA_STORAGE": "postgres", "JUNIPER_DATA_DATABASE_URL": url}
    url = os.environ.get(REDIS_VAR)
    if not url:
        pytest.skip(f"the Redis store's benchmark needs {REDIS_VAR} (.ci/servers.sh sets it)")
    return {
        "JUNIPER_DATA_STORAGE": "redis",
        "JUNIPER_DATA_REDIS_URL": url,
        "JUNIPER_DATA_REDIS_PREFIX": f"{name}:",
    }


def _drop(store: str, name: str) -> None:
    if store == "postgres":
        import psycopg

        with psycopg.connect(os.environ[PG_VAR], autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE".encode())
    elif store == "redis":
        import redis

        client = redis.Redis.from_url(os.environ[REDIS_VAR])
        keys = list(client.scan_iter(match=f"{name}:*"))
        if keys:
            client.delete(*keys)
        client.close()


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


@pytest.fixture(scope="module", params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service on one store: timed, in its own process (its GIL its own, as deployed);
    in the correctness mode, in a thread of this one (no process start-up to pay)."""
    from benchmarks.conftest import benchmarks_enabled

    store = request.param
    name = f"bench_{uuid.uuid4().hex[:10]}"
    port = _free_port()
    env = {
        "JUNIPER_DATA_HOST": "127.0.0.1",
        "JUNIPER_DATA_PORT": str(port),
        "JUNIPER_DATA_STORAGE_PATH": str(tmp_path_factory.mktemp(f"stores-{store}")),
        "JUNIPER_DATA_LOG_LEVEL": "WARNING",
        "JUNIPER_DATA_WARM_KERNELS": "false",  # Cascor's spiral runs on numpy at this size
        **_store_env(store, name),
    }
    url = f"http://127.0.0.1:{port}"
    proc = None
    server = thread = None
    try:
        if benchmarks_enabled(request.config):
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
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(30)
        _drop(store, name)


@pytest.mark.parametrize("clients", [1, 8])
def test_service_store_cascor_fresh(benchmark, enabled: bool, store_url: str, clients: int) -> None:  # type: ignore[no-untyped-def]
    before = httpx.get(f"{store_url}/v1/datasets/stats", timeout=30).json()["total_datasets"]
    _cascor_bursts(benchmark, enabled, store_url, clients, "fresh", f"service-stores-{clients}")
    store = httpx.get(f"{store_url}/v1/health/ready", timeout=30).json()["dependencies"]["storage"]["message"]
    benchmark.extra_info["store"] = store.split(" ", 1)[0]
    # Every fresh create stored one dataset in this store (the warm-up burst included).
    after = httpx.get(f"{store_url}/v1/datasets/stats", timeout=30).json()["total_datasets"]
    requests = benchmark.extra_info["requests"]
    rounds = 5 if enabled else 1
    assert after - before == requests * (rounds + 1)
