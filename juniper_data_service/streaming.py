"""Sync chunk iterators to async HTTP bodies, one chunk at a time in a worker thread.

The engine's writers are plain iterators that compute as they go; pulling each
chunk with ``anyio.to_thread`` keeps the event loop free (health stays fast while a
large artifact is generated), and pulling one at a time bounds memory to a chunk
or two whatever the artifact's size.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio

_END = object()
READ_BYTES = 1 << 20


async def pump(chunks: Iterator[Any], on_done: Callable[[int], None] | None = None) -> AsyncIterator[Any]:
    """Yield ``chunks`` from a worker thread; ``on_done(total_bytes)`` when all were sent.

    When the client goes away the iterator is closed (in a thread, shielded from the
    cancellation), so writers release files and temporary space.
    """
    total = 0
    try:
        while True:
            chunk: Any = await anyio.to_thread.run_sync(next, chunks, _END)
            if chunk is _END:
                break
            total += len(chunk)
            yield chunk
        if on_done is not None:
            on_done(total)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(close)


def file_chunks(f: Any) -> Iterator[bytes]:
    """The rest of an open binary file, read by :data:`READ_BYTES`; closes it at the end."""
    with f:
        while chunk := f.read(READ_BYTES):
            yield chunk
