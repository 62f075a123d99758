"""Arrow IPC stream downloads, decoded record batch by record batch as the bytes arrive.

pyarrow is imported inside :class:`ArrowBatchStream`'s methods only, never when the module is, so
that the client imports without pyarrow installed (``download_arrow`` checks for it first).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Final

import httpx

from .bodies import ResponseBodyReader
from .closing import Closing

if TYPE_CHECKING:
    import pyarrow as pa


ARROW_MEDIA_TYPE: Final = "application/vnd.apache.arrow.stream"

_STREAM_CHUNK_BYTES: Final = 1 << 20


class ArrowBatchStream(Closing):
    """The record batches of one Arrow IPC stream response, read as they arrive.

    Iterating yields :class:`pyarrow.RecordBatch` objects (columns ``X``, ``y``, ``label``); only the
    batch being decoded is held in memory. The HTTP response is closed when the stream is exhausted,
    on :meth:`close`, or on leaving a ``with`` block: close it when stopping early.

    Attributes
    ----------
    schema : pyarrow.Schema
        The stream's schema; its metadata carries ``dataset_id``, ``generator``,
        ``generator_version`` and ``params`` (JSON).
    """

    def __init__(self, response: httpx.Response) -> None:
        import pyarrow as pa

        self._response = response
        try:
            self._body = ResponseBodyReader(response)
            self._reader = pa.ipc.open_stream(io.BufferedReader(self._body, buffer_size=_STREAM_CHUNK_BYTES))
        except BaseException:
            response.close()
            raise
        self.schema: pa.Schema = self._reader.schema

    def __iter__(self) -> ArrowBatchStream:
        return self

    def __next__(self) -> pa.RecordBatch:
        try:
            return self._reader.read_next_batch()
        except StopIteration:
            # The end-of-stream marker is the body's last bytes, but the HTTP layer only sees the
            # body end when asked for more: without this, closing would drop a reusable connection.
            self._body.drain(_STREAM_CHUNK_BYTES)
            self.close()
            raise
        except BaseException:  # a failure: the response is done
            self.close()
            raise

    def read_all(self) -> pa.Table:
        """Read the remaining batches into one table and close the response."""
        import pyarrow as pa

        with self:
            return pa.Table.from_batches(list(self), schema=self.schema)

    def close(self) -> None:
        """Close the HTTP response (idempotent)."""
        self._response.close()
