"""Reading response bodies: whole into one buffer, as a file for pyarrow, or as NPZ arrays.

Bodies are read in the blocks the connection received (up to 1 MiB each, see :mod:`.transport`),
without re-cutting or joining them: at GB/s, each extra copy of every byte shows. Failures while
reading a body become the client's exception types here, as failures while sending do in
:mod:`.connection`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np

from .errors import JuniperDataClientError, JuniperDataConnectionError, JuniperDataTimeoutError


def _body_blocks(response: httpx.Response) -> Iterator[bytes]:
    """The blocks of a streamed response body as the transport read them (up to 1 MiB each).

    ``iter_raw`` hands them over untouched; ``iter_bytes(n)`` would re-cut them to ``n`` bytes
    through a ``BytesIO``, one more copy of every byte. Only a content-encoded body (which the
    service never sends, but a proxy might) goes through ``iter_bytes`` to be decoded. Transport
    failures while reading become the client's exception types.
    """
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    blocks = response.iter_raw() if encoding in ("", "identity") else response.iter_bytes()
    try:
        yield from blocks
    except httpx.TimeoutException as exc:
        raise JuniperDataTimeoutError(f"Reading the response timed out: {exc}") from exc
    except httpx.HTTPError as exc:
        raise JuniperDataConnectionError(f"Reading the response failed: {exc}") from exc


def read_body(response: httpx.Response) -> bytes:
    """Read a streamed response's whole body into one ``bytes`` and close the response.

    ``httpx.Response.read`` keeps every block and joins them at the end, so a large body occupies
    fresh memory twice and is copied once more; first touches of fresh pages cost as much as the
    copy on a VM. Appending each block to a ``BytesIO`` as it arrives lets the blocks' memory be
    reused, and CPython's ``getvalue`` hands over the buffer itself, not a copy.
    """
    body = io.BytesIO()
    try:
        for block in _body_blocks(response):
            body.write(block)
    finally:
        response.close()
    return body.getvalue()


class ResponseBodyReader(io.RawIOBase):
    """A read-only file over a streamed httpx response body, for pyarrow's IPC reader."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__()
        self._blocks = _body_blocks(response)
        self._block = memoryview(b"")

    def readable(self) -> bool:
        return True

    def drain(self, limit: int) -> None:
        """Read to the end of the body if at most ``limit`` bytes are left (the connection is then kept)."""
        left = len(self._block)
        for block in self._blocks:
            left += len(block)
            if left > limit:
                return
        self._block = memoryview(b"")

    def readinto(self, buffer: Any) -> int:
        while not self._block:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._block = memoryview(block)
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._block))
        view[:n] = self._block[:n]
        self._block = self._block[n:]
        return n


def load_npz(content: bytes) -> dict[str, np.ndarray]:
    """Load every array of an NPZ held in memory (object arrays refused)."""
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (ValueError, OSError) as exc:
        raise JuniperDataClientError(f"The artifact is not a readable NPZ: {exc}") from exc
