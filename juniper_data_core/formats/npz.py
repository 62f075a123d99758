"""NPZ artifacts, streamed: a ZIP of ``.npy`` members, stored (no compression), zip64.

The cut: :class:`ZipStreamWriter` knows the ZIP format and nothing of arrays (the
service also uses it for ``batch-export`` archives of several NPZ members);
:func:`iter_npz` lays out the ``.npy`` members of a dataset and feeds it row batches.

Every shape is known from the recipe before a row is computed, so each ``.npy``
header is written first and the rows follow batch by batch. The CRC-32 of a member
is only known once its bytes have passed, so each member is followed by a zip64 data
descriptor (general-purpose flag bit 3) and nothing is ever sought back to: the
archive can go to a pipe, a socket or ``sys.stdout.buffer``. Every entry carries
zip64 extra fields and the archive ends with a zip64 end-of-central-directory record,
so any size works. Entries are dated 1980-01-01 00:00, so the same recipe always
gives the same bytes (and the same checksum).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, BinaryIO

from juniper_data_core.errors import ParamsError
from juniper_data_core.formats.chunks import Chunk, as_bytes_view, merge_small, write_chunks
from juniper_data_core.formats.rows import (
    RowRange,
    RowSource,
    Source,
    batch_rows_for,
    row_range,
    source_recipe,
)

if TYPE_CHECKING:
    from typing_extensions import Buffer

try:
    # zlib-ng's CRC-32 folds with carry-less multiplies: about 13 GB/s here against the
    # stdlib zlib's 3.7, which made the checksum a sixth of streaming an NPZ from a recipe.
    from zlib_ng.zlib_ng import crc32
except ImportError:  # the same checksum, slower
    from zlib import crc32


_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_DESCRIPTOR = struct.Struct("<IIQQ")
_ZIP64_LOCAL_EXTRA = struct.Struct("<HHQQ")
_ZIP64_CENTRAL_EXTRA = struct.Struct("<HHQQQ")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<IIQI")
_END = struct.Struct("<IHHHHIIH")

_ZIP64_VERSION = 45  # "version needed to extract" for zip64 (APPNOTE 4.4.3)
_MADE_BY = (3 << 8) | _ZIP64_VERSION  # Unix, so that the external attributes are file modes
_FLAG_DESCRIPTOR = 0x0008
_FLAG_UTF8 = 0x0800
_FILE_MODE = (0o100644 << 16) & 0xFFFFFFFF
_U32_MAX = 0xFFFFFFFF
_U16_MAX = 0xFFFF

#: Contract order of the six arrays (CONTRACT section 4) as (split, ...) pairs.
_SPLITS_ALL = ("train", "test", "full")
#: Bytes of X and y per generated batch.
_BATCH_BYTES = 16 << 20


@dataclass
class _Entry:
    name: bytes
    flags: int
    offset: int
    crc: int = 0
    size: int = 0


def _dos_date_time(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time
    return ((y - 1980) << 9) | (mo << 5) | d, (h << 11) | (mi << 5) | (s // 2)


class ZipStreamWriter:
    """Produces a ZIP archive (stored, zip64, data descriptors) as a sequence of chunks.

    It never seeks: it returns the bytes to write and counts them itself. Use
    :meth:`member` per file and :meth:`finish` once::

        zw = ZipStreamWriter()
        for chunk in zw.member("a.npz", iter_npz(recipe)):
            out.write(chunk)
        out.write(zw.finish())

    Chunks are bytes or 1-D unsigned-byte memoryviews (``len`` is the byte count);
    data chunks are passed through uncopied.
    """

    def __init__(self, date_time: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0)) -> None:
        self._date, self._time = _dos_date_time(date_time)
        self._entries: list[_Entry] = []
        self._current: _Entry | None = None
        self._finished = False
        self.offset = 0
        """Bytes produced so far."""

    def member(self, name: str, chunks: Iterable[Buffer]) -> Iterator[Chunk]:
        """Everything of one member: its local header, its data (``chunks``, passed
        through), its data descriptor."""
        yield self.start(name)
        for chunk in chunks:
            yield self.data(chunk)
        yield self.end()

    def start(self, name: str) -> bytes:
        """The local header of a new member called ``name``."""
        if self._current is not None or self._finished:
            raise RuntimeError("end the current member (and do not finish) before starting another")
        encoded = name.encode("utf-8")
        flags = _FLAG_DESCRIPTOR | (0 if name.isascii() else _FLAG_UTF8)
        self._current = _Entry(encoded, flags, self.offset)
        # Sizes and CRC follow in the data descriptor; the zip64 extra announces 8-byte sizes.
        extra = _ZIP64_LOCAL_EXTRA.pack(0x0001, 16, 0, 0)
        header = _LOCAL.pack(
            0x04034B50, _ZIP64_VERSION, flags, 0, self._time, self._date,
            0, _U32_MAX, _U32_MAX, len(encoded), len(extra),
        )  # fmt: skip
        return self._count(header + encoded + extra)

    def data(self, chunk: Buffer) -> memoryview:
        """A chunk of the current member's bytes, returned as a byte view after its CRC."""
        if self._current is None:
            raise RuntimeError("start a member before writing data")
        view = as_bytes_view(chunk)
        self._current.crc = crc32(view, self._current.crc)
        self._current.size += len(view)
        self.offset += len(view)
        return view

    def end(self) -> bytes:
        """The data descriptor that closes the current member."""
        entry = self._current
        if entry is None:
            raise RuntimeError("no member to end")
        self._entries.append(entry)
        self._current = None
        return self._count(_DESCRIPTOR.pack(0x08074B50, entry.crc, entry.size, entry.size))

    def finish(self) -> bytes:
        """The central directory, the zip64 end records and the end record."""
        if self._current is not None:
            raise RuntimeError("end the current member before finishing")
        if self._finished:
            raise RuntimeError("the archive is already finished")
        self._finished = True
        cd_offset = self.offset
        parts = []
        for e in self._entries:
            extra = _ZIP64_CENTRAL_EXTRA.pack(0x0001, 24, e.size, e.size, e.offset)
            header = _CENTRAL.pack(
                0x02014B50, _MADE_BY, _ZIP64_VERSION, e.flags, 0, self._time, self._date,
                e.crc, _U32_MAX, _U32_MAX, len(e.name), len(extra), 0, 0, 0, _FILE_MODE, _U32_MAX,
            )  # fmt: skip
            parts.append(header + e.name + extra)
        directory = b"".join(parts)
        end64_offset = cd_offset + len(directory)
        n = len(self._entries)
        end64 = _END64.pack(
            0x06064B50, _END64.size - 12, _MADE_BY, _ZIP64_VERSION, 0, 0, n, n, len(directory), cd_offset
        )
        locator = _LOCATOR64.pack(0x07064B50, 0, end64_offset, 1)
        end = _END.pack(0x06054B50, 0, 0, min(n, _U16_MAX), min(n, _U16_MAX), _U32_MAX, _U32_MAX, 0)
        return self._count(directory + end64 + locator + end)

    def _count(self, piece: bytes) -> bytes:
        self.offset += len(piece)
        return piece


def iter_zip(members: Iterable[tuple[str, Iterable[Buffer]]]) -> Iterator[Chunk]:
    """A whole stored zip64 archive of ``(name, chunks)`` members, chunk by chunk."""
    zw = ZipStreamWriter()
    for name, chunks in members:
        yield from zw.member(name, chunks)
    yield zw.finish()


def npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    """The ``.npy`` header of a C-order array: format 1.0, or 2.0 when the header
    needs more than 65535 bytes; padded so the data starts 64-byte aligned, as NumPy does."""
    text = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape!r}, }}"
    for version, preamble in (((1, 0), 10), ((2, 0), 12)):
        length = len(text) + 1
        padded = length + (-(preamble + length) % 64)
        if version == (1, 0) and padded > _U16_MAX:
            continue
        size = struct.pack("<H" if version == (1, 0) else "<I", padded)
        return b"\x93NUMPY" + bytes(version) + size + (text + " " * (padded - length) + "\n").encode("latin1")
    raise AssertionError("unreachable")


def _split_chunks(zw: ZipStreamWriter, rows: RowSource, rr: RowRange, batch_rows: int) -> Iterator[Chunk]:
    """The ``X_<split>.npy`` and ``y_<split>.npy`` members of one row range."""
    # ZIP members are sequential: a generated range is computed twice, features only for
    # X, labels only for y. Holding y back while X streams (staging it to a temporary file
    # past a memory bound) cost more than the labels-only pass, about 12 against 2-4 ns
    # a row on the spiral.
    xs = (X.data for X, _ in rows.batches(rr, batch_rows, labels=False))
    yield from zw.member(f"X_{rr.split}.npy", chain([npy_header((rr.n_rows, rr.n_features))], xs))
    ys = (y.data for _, y in rows.batches(rr, batch_rows, features=False))
    yield from zw.member(f"y_{rr.split}.npy", chain([npy_header((rr.n_rows, rr.n_classes))], ys))


def iter_npz(
    source: Source,
    *,
    split: str | None = None,
    offset: int = 0,
    limit: int | None = None,
    backend: str = "auto",
    batch_rows: int | None = None,
) -> Iterator[Chunk]:
    """The bytes of an NPZ of ``source``, chunk by chunk (see :func:`write_npz`).

    Chunks are ``bytes`` or 1-D unsigned-byte memoryviews (``len`` is the byte count).
    Arguments are checked (and a backend resolved) before this returns, so errors
    come before the first byte. ``batch_rows`` overrides the rows generated at a time.
    """
    ranges = _npz_ranges(source, split, offset, limit)
    if batch_rows is not None and batch_rows < 1:
        raise ParamsError(f"batch_rows must be >= 1, got {batch_rows}", [("batch_rows", "must be >= 1")])
    n_rows = source_recipe(source).shape.n_rows if split is None else ranges[0].n_rows
    rows = RowSource(source, backend, n_rows)
    return merge_small(_npz_chunks(rows, ranges, batch_rows))


def _npz_ranges(source: Source, split: str | None, offset: int, limit: int | None) -> list[RowRange]:
    """The row ranges an NPZ holds: every split whole, or one range of one split."""
    if split is None:
        if offset != 0 or limit is not None:
            raise ParamsError(
                "offset and limit need a split ('full', 'train' or 'test'); "
                "without one all six arrays are written whole",
                [("split", "required with offset or limit")],
            )
        return [row_range(source, s) for s in _SPLITS_ALL]
    return [row_range(source, split, offset, limit)]


def npz_nbytes(source: Source, *, split: str | None = None, offset: int = 0, limit: int | None = None) -> int:
    """The exact size in bytes of the NPZ that :func:`iter_npz` writes with these arguments,
    known before a row is computed (every header's size follows from the shapes)."""
    total = _END64.size + _LOCATOR64.size + _END.size
    for rr in _npz_ranges(source, split, offset, limit):
        for part, columns in (("X", rr.n_features), ("y", rr.n_classes)):
            name = len(f"{part}_{rr.split}.npy".encode())
            data = len(npy_header((rr.n_rows, columns))) + 4 * rr.n_rows * columns
            local = _LOCAL.size + name + _ZIP64_LOCAL_EXTRA.size + data + _DESCRIPTOR.size
            total += local + _CENTRAL.size + name + _ZIP64_CENTRAL_EXTRA.size
    return total


def _npz_chunks(rows: RowSource, ranges: list[RowRange], batch_rows: int | None) -> Iterator[Chunk]:
    zw = ZipStreamWriter()
    for rr in ranges:
        size = batch_rows or batch_rows_for(rr.n_features, rr.n_classes, _BATCH_BYTES)
        yield from _split_chunks(zw, rows, rr, size)
    yield zw.finish()


def write_npz(
    source: Source,
    file: str | os.PathLike[str] | BinaryIO,
    *,
    split: str | None = None,
    offset: int = 0,
    limit: int | None = None,
    backend: str = "auto",
) -> int:
    """Stream an NPZ of ``source`` to ``file``; the number of bytes written.

    Parameters
    ----------
    source : Recipe or Dataset
        A Recipe is generated batch by batch (memory stays bounded whatever its size);
        a Dataset's arrays are written as they are, nothing regenerated.
    file : str, path-like or binary file object
        A path (created or truncated) or a writable binary file object, which may be
        unseekable (a pipe, a socket, ``sys.stdout.buffer``) and is left open.
    split : {None, "full", "train", "test"}
        ``None`` writes the six arrays ``X_train, y_train, X_test, y_test, X_full,
        y_full``; a split writes only ``X_<split>`` and ``y_<split>``.
    offset, limit : int
        Rows ``[offset, offset + limit)`` of ``split`` (clipped to its end;
        ``limit=None``: to the end). Need a split.
    backend : str
        Backend for a Recipe (``"auto"`` resolves once, as :func:`generate` would for
        the whole dataset, or :func:`generate_rows` for a range).

    Returns
    -------
    int
        Bytes written.

    Notes
    -----
    Members are ``.npy`` (format 1.0, little-endian float32, C order, 2-D; y
    one-hot), stored uncompressed with zip64 extras and data descriptors; the result
    loads with ``numpy.load(file, allow_pickle=False)``.

    Raises
    ------
    ParamsError
        For an unknown split, ``offset``/``limit`` out of range, or a range without a split.
    """
    chunks = iter_npz(source, split=split, offset=offset, limit=limit, backend=backend)
    return write_chunks(chunks, file)
