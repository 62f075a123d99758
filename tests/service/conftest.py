"""Live servers for the service tests: real uvicorn on a free loopback port, driven with httpx."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from juniper_data_service.app import create_app, uvicorn_options
from juniper_data_service.settings import Settings
from juniper_data_service.storage import DatasetStore

API_KEY = "test-key-0123456789"
CASCOR_SPIRAL = {"n_spirals": 2, "n_points": 1000, "n_rotations": 2, "noise_level": 0.25, "seed": 42}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """``create_app(settings)`` served by uvicorn in a background thread."""

    def __init__(self, settings: Settings, store: DatasetStore | None = None) -> None:
        self.settings = settings
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        options = {**uvicorn_options(settings), "log_level": "warning"}
        self.app = create_app(settings, store=store)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, **options)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v1/health/live", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


@pytest.fixture(scope="session")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., LiveServer]]:
    """Start a server with settings overrides (``storage_path`` defaults to a fresh directory)."""
    started: list[LiveServer] = []

    def start(**overrides: Any) -> LiveServer:
        overrides.setdefault("storage_path", tmp_path_factory.mktemp("storage"))
        overrides.setdefault("log_level", "WARNING")
        # Compiling every Numba kernel takes tens of seconds of one core; test_warmup.py covers it.
        overrides.setdefault("warm_kernels", False)
        server = LiveServer(Settings(**overrides)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def server(start_server: Callable[..., LiveServer]) -> LiveServer:
    return start_server()


@pytest.fixture(scope="session")
def base_url(server: LiveServer) -> str:
    return server.url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=60) as c:
        yield c


@pytest.fixture(scope="session")
def spiral_id(base_url: str) -> str:
    """Cascor's spiral, created once."""
    r = httpx.post(
        f"{base_url}/v1/datasets", json={"generator": "spiral", "params": CASCOR_SPIRAL}, timeout=60
    )
    r.raise_for_status()
    return str(r.json()["dataset_id"])


Create = Callable[..., httpx.Response]


@pytest.fixture
def create(client: httpx.Client) -> Create:
    """``create(generator, params, **body)`` -> the POST /v1/datasets response."""

    def post(generator: str, params: dict[str, Any], **body: Any) -> httpx.Response:
        return client.post("/v1/datasets", json={"generator": generator, "params": params, **body})

    return post


_seeds = iter(range(10_000, 1_000_000))


@pytest.fixture
def unique() -> Callable[..., dict[str, Any]]:
    """Small xor params with a seed no other test uses."""

    def params(**extra: Any) -> dict[str, Any]:
        return {"n_points_per_quadrant": 20, "seed": next(_seeds), **extra}

    return params


@pytest.fixture
def cascor_params() -> dict[str, Any]:
    return dict(CASCOR_SPIRAL)


class ServerProcess:
    """``python -m juniper_data_service`` in a process of its own (what ``juniper-data serve``
    runs), on a free port: for tests of the server's own settings, of crashes and of
    replicas. With ``log``, its output goes to that file (else to the test's)."""

    def __init__(self, storage: Path, log: Path | None = None, **env: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.storage = storage
        self.log = log
        environ = {k: v for k, v in os.environ.items() if not k.startswith("JUNIPER_DATA_")}
        environ.update(
            JUNIPER_DATA_PORT=str(self.port),
            JUNIPER_DATA_STORAGE_PATH=str(storage),
            JUNIPER_DATA_WARM_KERNELS="false",
            JUNIPER_DATA_LOG_LEVEL="WARNING",
        )
        environ.update(env)  # a test's own settings win (LOG_LEVEL too)
        command = [sys.executable, "-m", "juniper_data_service"]
        if log is None:
            self.process = subprocess.Popen(command, env=environ)
        else:
            with open(log, "wb") as out:
                self.process = subprocess.Popen(command, env=environ, stdout=out, stderr=out)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/v1/health/live", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.process.kill()
        said = f": {log.read_text()}" if log is not None else ""
        raise RuntimeError(f"the server process did not start{said}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., int]]:
    """``served(**JUNIPER_DATA_env)`` starts a server process and returns its port."""
    started: list[ServerProcess] = []

    def start(**env: str) -> int:
        server = ServerProcess(tmp_path_factory.mktemp("served"), **env)
        started.append(server)
        return server.port

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, one per session; the AWS variables point boto
    at it. One server, because fsspec keeps its S3 filesystems (and so the endpoint they were
    made with) cached for the process."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            mp.setenv(name, value)
        yield endpoint
    server.stop()


def new_bucket(endpoint: str) -> str:
    """A fresh bucket on the S3 server at ``endpoint``; its name."""
    import s3fs

    name = f"b{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint}).mkdir(name)
    return name
