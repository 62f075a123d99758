"""Streams of byte chunks: merging small pieces, and writing a stream to a file.

The artifact writers produce iterators of chunks (``bytes`` or 1-D unsigned-byte
``memoryview``; ``len`` is the byte count) so that the HTTP service can stream
them; the ``write_*`` functions send the same chunks to a path or a file object.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from typing_extensions import Buffer


Chunk = bytes | memoryview
#: Pieces smaller than this are merged before they are passed on.
MERGE_BYTES = 64 << 10


def as_bytes_view(chunk: Buffer) -> memoryview:
    """``chunk`` as a 1-D unsigned-byte view (no copy; C-contiguous input)."""
    view = memoryview(chunk)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def merge_small(chunks: Iterable[Buffer], min_bytes: int = MERGE_BYTES) -> Iterator[Chunk]:
    """The same bytes, with runs of pieces under ``min_bytes`` merged into one (large
    pieces pass through uncopied), so that headers and padding do not each become a
    write or an HTTP body message."""
    pending = bytearray()
    for chunk in chunks:
        view = as_bytes_view(chunk)
        if len(view) >= min_bytes:
            if pending:
                yield bytes(pending)
                pending.clear()
            yield view
        elif len(view):
            pending += view
            if len(pending) >= min_bytes:
                yield bytes(pending)
                pending.clear()
    if pending:
        yield bytes(pending)


def write_chunks(chunks: Iterable[Buffer], file: str | os.PathLike[str] | BinaryIO) -> int:
    """Write every chunk to ``file`` (a path, opened ``"wb"``, or a writable binary file
    object, which may be unseekable and is left open); the number of bytes written."""
    if isinstance(file, str | os.PathLike):
        with open(file, "wb") as out:
            return _write_all(chunks, out)
    return _write_all(chunks, file)


def _write_all(chunks: Iterable[Buffer], out: BinaryIO) -> int:
    total = 0
    for chunk in chunks:
        view = as_bytes_view(chunk)
        while len(view):
            # Raw (unbuffered) files may write only part of a chunk.
            n = out.write(view)
            n = len(view) if n is None else n
            total += n
            view = view[n:]
    return total
