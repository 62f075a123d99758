"""Artifacts: NPZ and Arrow IPC streams of a Recipe or a Dataset, written in bounded batches.

The ``iter_*`` functions give the bytes chunk by chunk (what the HTTP service streams);
the ``write_*`` functions send the same bytes to a path or a binary file object, which
may be unseekable. :class:`ZipStreamWriter` is the streaming zip64 writer under the
NPZ format, reusable for archives of several artifacts. See ``docs/formats.md``.
"""

from __future__ import annotations

from juniper_data_core.formats.arrow import arrow_schema, iter_arrow, write_arrow
from juniper_data_core.formats.npz import ZipStreamWriter, iter_npz, iter_zip, npy_header, write_npz

__all__ = [
    "ZipStreamWriter",
    "arrow_schema",
    "iter_arrow",
    "iter_npz",
    "iter_zip",
    "npy_header",
    "write_arrow",
    "write_npz",
]
