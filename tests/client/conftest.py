"""Fixtures for the client tests: the real service on a loopback port, and a scripted stub.

The real service (``create_app`` under uvicorn in a thread) answers everything it can produce on
demand. The stub is a small ``http.server`` used only for what the service cannot be made to do
on request: answer slowly, answer 503 or 429 and then 200, and count the requests it received.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest


def free_port() -> int:
    """A loopback port that nothing listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningService:
    """A service started by :func:`start_service`."""

    url: str
    storage_path: Path
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_service(storage_path: Path, **settings: Any) -> RunningService:
    """Start ``create_app(Settings(storage_path=..., **settings))`` on a free port; wait until live."""
    pytest.importorskip("fastapi")
    uvicorn = pytest.importorskip("uvicorn")
    from juniper_data_service.app import create_app
    from juniper_data_service.settings import Settings

    # Compiling every Numba kernel takes tens of seconds of one core; tests/service/test_warmup.py covers it.
    settings.setdefault("warm_kernels", False)
    app = create_app(Settings(storage_path=storage_path, **settings))
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"juniper-data-{port}", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the service thread exited during start-up")
        try:
            if httpx.get(f"{url}/v1/health/live", timeout=1).status_code == 200:
                return RunningService(url, storage_path, server, thread)
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    server.should_exit = True
    raise RuntimeError(f"the service on {url} did not become live within 30 s")


@pytest.fixture(name="start_service", scope="session")
def start_service_fixture() -> Any:
    """:func:`start_service`, for tests that need a service of their own."""
    return start_service


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """The real service, shared by the tests of the session (no auth, no rate limit)."""
    running = start_service(tmp_path_factory.mktemp("service-storage"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def keyed_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """The real service with authentication on: accepts ``X-API-Key: key-one`` or ``key-two``."""
    running = start_service(tmp_path_factory.mktemp("keyed-storage"), api_keys=["key-one", "key-two"])
    yield running
    running.stop()


@pytest.fixture
def no_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own API key variables out of the tests."""
    monkeypatch.delenv("JUNIPER_DATA_API_KEY", raising=False)
    monkeypatch.delenv("JUNIPER_DATA_API_KEY_FILE", raising=False)


# --------------------------------------------------------------------------------------------------
# The scripted stub
# --------------------------------------------------------------------------------------------------


@dataclass
class Scripted:
    """One canned answer: status, headers, body (JSON, or str / bytes sent as they are) and a delay (s)."""

    status: int = 200
    body: Any = field(default_factory=lambda: {"status": "ok", "version": "stub"})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    """One request the stub received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class StubServer:
    """Answers each ``(method, path)`` with its script, one entry per request, the last repeating."""

    def __init__(self) -> None:
        self.scripts: dict[tuple[str, str], list[Scripted]] = {}
        self.received: list[Received] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                with stub._lock:
                    stub.received.append(
                        Received(self.command, path, dict(self.headers), body, time.monotonic())
                    )
                    script = stub.scripts.get((self.command, path)) or [
                        Scripted(404, {"detail": "no script"})
                    ]
                    answer = script.pop(0) if len(script) > 1 else script[0]
                time.sleep(answer.delay)
                if isinstance(answer.body, bytes):
                    payload, media_type = answer.body, "application/octet-stream"
                elif isinstance(answer.body, str):
                    payload, media_type = answer.body.encode(), "text/plain"
                else:
                    payload, media_type = json.dumps(answer.body).encode(), "application/json"
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", media_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        for verb in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
            setattr(Handler, f"do_{verb}", Handler._answer)  # http.server dispatches on do_<VERB>
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def script(self, method: str, path: str, *answers: dict[str, Any]) -> None:
        """Script the answers to ``method path``: each a dict of :class:`Scripted` fields."""
        with self._lock:
            self.scripts[(method, path)] = [Scripted(**answer) for answer in answers]

    def count(self, method: str, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.received if r.method == method and r.path == path)

    def requests_to(self, method: str, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.method == method and r.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer()
    yield server
    server.close()
