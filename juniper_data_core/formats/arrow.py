"""Arrow IPC stream artifacts: one split per stream, in record batches of bounded size.

Columns: ``X`` FixedSizeList<float32>[n_features], ``y`` FixedSizeList<float32>[n_classes]
(one-hot) and ``label`` int32 (the class, argmax of ``y``). The lists are built over the
NumPy buffers without a copy, and pyarrow hands the body buffers of each batch back to
the sink uncopied, so the stream costs little beyond generating the rows. pyarrow is
imported here, when a stream is asked for.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import numpy.typing as npt

from juniper_data_core.errors import MissingDependencyError, ParamsError
from juniper_data_core.formats.chunks import Chunk, as_bytes_view, merge_small, write_chunks
from juniper_data_core.formats.rows import (
    RowRange,
    RowSource,
    Source,
    batch_rows_for,
    row_range,
    source_recipe,
)
from juniper_data_core.generators.kernel import FloatArray
from juniper_data_core.recipe import Recipe

if TYPE_CHECKING:
    import pyarrow as pa

#: Bytes of X and y per record batch by default (about 400K rows of a 2-feature, 2-class dataset).
_BATCH_BYTES = 8 << 20


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise MissingDependencyError(
            "the Arrow format needs pyarrow: pip install pyarrow (or pip install 'juniper-data[arrow]')"
        ) from None
    return pyarrow


def arrow_schema(recipe: Recipe, rows: RowRange) -> pa.Schema:
    """The stream's schema, with the recipe and the row range in its metadata (all text):
    ``dataset_id, generator, generator_version, params`` (JSON), ``split, offset, n_rows,
    n_features, n_classes``."""
    pa = _pyarrow()
    metadata = {
        "dataset_id": recipe.dataset_id,
        "generator": recipe.generator,
        "generator_version": recipe.version,
        "params": json.dumps(recipe.params, sort_keys=True),
        "split": rows.split,
        "offset": str(rows.start),
        "n_rows": str(rows.n_rows),
        "n_features": str(rows.n_features),
        "n_classes": str(rows.n_classes),
    }
    fields = [
        pa.field("X", pa.list_(pa.float32(), rows.n_features), nullable=False),
        pa.field("y", pa.list_(pa.float32(), rows.n_classes), nullable=False),
        pa.field("label", pa.int32(), nullable=False),
    ]
    return pa.schema(fields, metadata=metadata)


def record_batch(schema: pa.Schema, X: FloatArray, y: FloatArray) -> pa.RecordBatch:
    """One record batch of ``schema`` (from :func:`arrow_schema`) over ``X`` float32
    (rows, n_features) and one-hot ``y`` float32 (rows, n_classes), C-contiguous: the
    lists are built over their buffers without a copy; ``label`` (int32) is computed.
    What the Arrow stream and the partitioned Parquet and Arrow files are made of."""
    pa = _pyarrow()
    label = _labels(y)
    columns = [
        pa.FixedSizeListArray.from_arrays(pa.array(X.reshape(-1)), X.shape[1]),
        pa.FixedSizeListArray.from_arrays(pa.array(y.reshape(-1)), y.shape[1]),
        pa.array(label),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _labels(y: FloatArray) -> npt.NDArray[np.int32]:
    """The class of each one-hot row: one pass per class column, no BLAS.

    Not ``argmax`` (about 9x slower along rows this short) and not a matrix-vector
    product with 0..C-1: OpenBLAS's threads keep spinning after the call and take the
    cores from the Numba loop computing the next batch (generation ran at half speed).
    """
    if y.shape[1] == 1:
        # One column holds the class index (a source read with ``one_hot_labels=false``);
        # every generator's one-hot ``y`` has at least two columns.
        return y[:, 0].astype(np.int32)
    label = np.zeros(y.shape[0], np.int32)
    for k in range(1, y.shape[1]):
        label += (y[:, k] != 0) * np.int32(k)
    return label


def arrow_nbytes(source: Source, *, split: str = "full", offset: int = 0, limit: int | None = None) -> int:
    """About the size in bytes of the Arrow stream :func:`iter_arrow` writes with these
    arguments and the default batch size: X, y and the int32 label of each row, plus
    64 KiB for the schema, the message headers of the batches and their padding."""
    rows = row_range(source, split, offset, limit)
    return 4 * rows.n_rows * (rows.n_features + rows.n_classes + 1) + (64 << 10)


class _ChunkSink:
    """A file-like object that keeps what pyarrow writes (its body buffers, uncopied)."""

    closed = False

    def __init__(self) -> None:
        self.chunks: list[memoryview] = []

    def write(self, data: Any) -> int:
        view = as_bytes_view(data)
        self.chunks.append(view)
        return len(view)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def drain(self) -> list[memoryview]:
        out, self.chunks = self.chunks, []
        return out


def iter_arrow(
    source: Source,
    *,
    split: str = "full",
    offset: int = 0,
    limit: int | None = None,
    batch_rows: int | None = None,
    backend: str = "auto",
) -> Iterator[Chunk]:
    """The bytes of an Arrow IPC stream of ``source``, chunk by chunk (see :func:`write_arrow`).

    Chunks are ``bytes`` or 1-D unsigned-byte memoryviews (``len`` is the byte count).
    Arguments are checked (pyarrow imported, a backend resolved) before this returns,
    so errors come before the first byte.
    """
    pa = _pyarrow()
    recipe = source_recipe(source)
    rows = row_range(source, split, offset, limit)
    if batch_rows is not None and batch_rows < 1:
        raise ParamsError(f"batch_rows must be >= 1, got {batch_rows}", [("batch_rows", "must be >= 1")])
    size = batch_rows or batch_rows_for(rows.n_features, rows.n_classes, _BATCH_BYTES)
    row_source = RowSource(source, backend, rows.n_rows)
    schema = arrow_schema(recipe, rows)
    return merge_small(_arrow_chunks(pa, schema, row_source, rows, size))


def _arrow_chunks(
    pa: Any, schema: pa.Schema, source: RowSource, rows: RowRange, size: int
) -> Iterator[Chunk]:
    sink = _ChunkSink()
    with pa.ipc.new_stream(sink, schema) as writer:
        yield from sink.drain()
        for X, y in source.batches(rows, size):
            writer.write_batch(record_batch(schema, X, y))
            yield from sink.drain()
    yield from sink.drain()  # the end-of-stream marker


def write_arrow(
    source: Source,
    file: str | os.PathLike[str] | BinaryIO,
    *,
    split: str = "full",
    offset: int = 0,
    limit: int | None = None,
    batch_rows: int | None = None,
    backend: str = "auto",
) -> int:
    """Stream an Arrow IPC stream of one split of ``source`` to ``file``; bytes written.

    Parameters
    ----------
    source : Recipe or Dataset
        A Recipe is generated batch by batch (memory stays bounded whatever its size);
        a Dataset's arrays are written as they are, nothing regenerated.
    file : str, path-like or binary file object
        A path (created or truncated) or a writable binary file object, which may be
        unseekable (a pipe, a socket, ``sys.stdout.buffer``) and is left open.
    split : {"full", "train", "test"}
    offset, limit : int
        Rows ``[offset, offset + limit)`` of ``split`` (clipped to its end;
        ``limit=None``: to the end); only those rows are computed.
    batch_rows : int, optional
        Rows per record batch; default about 8 MiB of X and y per batch (at most 2**20 rows).
    backend : str
        Backend for a Recipe (``"auto"`` resolves once, as :func:`generate_rows` would
        for the range).

    Returns
    -------
    int
        Bytes written.

    Raises
    ------
    MissingDependencyError
        If pyarrow is not installed.
    ParamsError
        For an unknown split or ``offset``/``limit``/``batch_rows`` out of range.
    """
    chunks = iter_arrow(
        source, split=split, offset=offset, limit=limit, batch_rows=batch_rows, backend=backend
    )
    return write_chunks(chunks, file)
