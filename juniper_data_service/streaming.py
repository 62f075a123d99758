"""Blocking chunk iterators as HTTP bodies, computed ahead of the socket in worker threads.

The engine's writers (and cached-file reads) are plain iterators that compute as they
go. A fetch task pulls each chunk in a worker thread (``anyio.to_thread``, so the event
loop stays free and health stays fast while a large artifact is generated) into a
small bounded buffer, while the response sends what is already there: the next batch
is generated while the previous one is on the wire, instead of the two taking turns.
The buffer holds at most :data:`AHEAD_CHUNKS` chunks, so memory stays bounded whatever
the artifact's size, and no thread is held while a slow client drains the buffer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import anyio
from anyio import CancelScope
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

#: Chunks computed but not yet sent. Writers' chunks are up to a few MiB (a record batch's
#: column, an NPZ batch of X, a file read), so this is tens of MiB at most.
AHEAD_CHUNKS = 4
#: Bytes per read of a cached artifact: large enough that the per-chunk costs (a thread
#: hop, an HTTP body message) vanish next to the copy, small enough to stay cache-friendly.
READ_BYTES = 4 << 20
_END = object()


class ChunkStreamResponse(Response):
    """200 with the body ``chunks`` (``bytes`` or 1-D byte ``memoryview``), computed ahead.

    ``on_done(total_bytes)`` runs once every chunk was handed to the server. When the
    client goes away the iterator is closed (in a thread, shielded from the
    cancellation), so writers release files and temporary space. An error raised by the
    iterator ends the response without its final message, so the client sees a cut
    body (the connection is closed), never a short one that looks whole.
    """

    def __init__(
        self,
        chunks: Iterator[Any],
        *,
        media_type: str,
        headers: Mapping[str, str] | None = None,
        on_done: Callable[[int], None] | None = None,
    ) -> None:
        # Not Response.__init__: with no body it would announce Content-Length: 0.
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.init_headers(headers)
        self._chunks = chunks
        self._on_done = on_done

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ahead, ready = anyio.create_memory_object_stream[Any](AHEAD_CHUNKS)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_fetch, self._chunks, ahead)
                tg.start_soon(_cancel_on_disconnect, receive, tg.cancel_scope)
                await self._send_body(send, ready)
                tg.cancel_scope.cancel()  # stops the disconnect watcher; the fetch task has ended
        except BaseExceptionGroup as group:
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise

    async def _send_body(self, send: Send, ready: MemoryObjectReceiveStream[Any]) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        total = 0
        async with ready:
            async for chunk in ready:
                total += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        # Before the last message, so that the client's next request already sees the count.
        if self._on_done is not None:
            self._on_done(total)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _fetch(chunks: Iterator[Any], ahead: MemoryObjectSendStream[Any]) -> None:
    """Pull every chunk in a worker thread into ``ahead``; close it only after the last one,
    so that an error (which leaves it open) can never read as the end of the body."""
    try:
        while (chunk := await anyio.to_thread.run_sync(next, chunks, _END)) is not _END:
            await ahead.send(chunk)
        await ahead.aclose()
    except anyio.BrokenResourceError:
        pass  # the sender stopped reading: the response is over
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(close)


async def _cancel_on_disconnect(receive: Receive, scope: CancelScope) -> None:
    # uvicorn's send() returns quietly once the client is gone; without this watcher a
    # departed client would have the whole artifact generated for nobody.
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


def file_chunks(f: Any, read_bytes: int = READ_BYTES) -> Iterator[bytes]:
    """The rest of an open binary file, read by ``read_bytes``; closes it at the end."""
    with f:
        while chunk := f.read(read_bytes):
            yield chunk
