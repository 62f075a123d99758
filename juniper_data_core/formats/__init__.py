"""Artifacts: NPZ and Arrow IPC streams of a Recipe or a Dataset, written in bounded batches.

The ``iter_*`` functions give the bytes chunk by chunk (what the HTTP service streams);
the ``write_*`` functions send the same bytes to a path or a binary file object, which
may be unseekable; :func:`row_range`, :func:`npz_nbytes` and :func:`arrow_nbytes` say
which rows and how many bytes an artifact has before anything is computed;
:func:`record_batch` builds the Arrow record batches every Arrow-based writer uses
(the stream here, the partitioned files of :mod:`juniper_data_core.dask`).
:class:`ZipStreamWriter` is the streaming zip64 writer under the NPZ format, reusable
for archives of several artifacts. See ``docs/formats.md``.
"""

from __future__ import annotations

from juniper_data_core.formats.arrow import (
    arrow_nbytes,
    arrow_schema,
    iter_arrow,
    record_batch,
    write_arrow,
)
from juniper_data_core.formats.npz import (
    ZipStreamWriter,
    iter_npz,
    iter_zip,
    npy_header,
    npz_nbytes,
    write_npz,
)
from juniper_data_core.formats.rows import RowRange, row_range

__all__ = [
    "RowRange",
    "ZipStreamWriter",
    "arrow_nbytes",
    "arrow_schema",
    "iter_arrow",
    "iter_npz",
    "iter_zip",
    "npy_header",
    "npz_nbytes",
    "record_batch",
    "row_range",
    "write_arrow",
    "write_npz",
]
