"""``ChunkStreamResponse`` on a real uvicorn server: the body, errors, departed clients, the bound."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from juniper_data_service.streaming import AHEAD_CHUNKS, ChunkStreamResponse

MiB = 1 << 20


class Source:
    """An iterator of chunks that records how many were pulled and whether it was closed."""

    def __init__(self, chunks: Iterator[Any]) -> None:
        self._chunks = chunks
        self.pulled = 0
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[Any]:
        try:
            for chunk in self._chunks:
                self.pulled += 1
                yield chunk
        finally:
            self.closed.set()


def _failing() -> Iterator[bytes]:
    yield b"a" * MiB
    raise RuntimeError("generation failed mid-stream")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, dict[str, Any]]]:
    """A bare Starlette app whose ``/<name>`` streams the iterator that ``make[name]()`` gives."""
    make: dict[str, Callable[[], Any]] = {}
    state: dict[str, Any] = {}

    async def stream(request: Request) -> Response:
        name = request.path_params["name"]
        source = Source(make[name]())
        state[name] = source
        done = state.setdefault(f"{name}.done", [])
        return ChunkStreamResponse(iter(source), media_type="application/octet-stream", on_done=done.append)

    app = Starlette(routes=[Route("/{name}", stream)])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    state["make"] = make
    try:
        yield f"http://127.0.0.1:{port}", state
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _wait(predicate: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_body_is_every_chunk_in_order(served: tuple[str, dict[str, Any]]) -> None:
    url, state = served
    pieces = [b"head", memoryview(b"x" * 3 * MiB), b"", bytes(range(256)) * 1000, memoryview(b"tail")]
    state["make"]["whole"] = lambda: iter(pieces)
    body = httpx.get(f"{url}/whole", timeout=30).content
    assert body == b"".join(bytes(p) for p in pieces)
    assert _wait(lambda: state["whole.done"] == [len(body)])
    assert state["whole"].closed.is_set()


def test_error_mid_stream_cuts_the_body(served: tuple[str, dict[str, Any]]) -> None:
    url, state = served
    state["make"]["fails"] = _failing
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{url}/fails", timeout=30)
    assert state.get("fails.done") == []


def test_departed_client_closes_an_endless_source(served: tuple[str, dict[str, Any]]) -> None:
    url, state = served
    state["make"]["endless"] = lambda: itertools.repeat(b"z" * MiB)
    with httpx.stream("GET", f"{url}/endless", timeout=30) as r:
        for _ in itertools.islice(r.iter_raw(), 4):
            pass
    assert _wait(lambda: "endless" in state and state["endless"].closed.is_set())
    pulled = state["endless"].pulled
    time.sleep(0.3)
    assert state["endless"].pulled == pulled  # nothing is computed for nobody
    assert state.get("endless.done") == []


def test_a_stalled_client_bounds_what_is_computed_ahead(served: tuple[str, dict[str, Any]]) -> None:
    url, state = served
    state["make"]["stall"] = lambda: itertools.repeat(b"s" * MiB)
    with httpx.stream("GET", f"{url}/stall", timeout=30) as r:
        next(r.iter_raw())
        time.sleep(1.0)  # read nothing more: the socket buffers and the ahead buffer fill, then it stops
        first = state["stall"].pulled
        time.sleep(0.5)
        assert state["stall"].pulled == first
    # Loopback socket buffers hold a few MiB; without the bound this would run without end.
    assert first <= AHEAD_CHUNKS + 32
    assert _wait(lambda: state["stall"].closed.is_set())
