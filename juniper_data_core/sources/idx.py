"""The IDX format (MNIST, Fashion-MNIST, EMNIST): one array per file, gzipped or not.

Layout (Y. LeCun, "THE MNIST DATABASE", the published description): two zero bytes, a
dtype code (0x08 ubyte, 0x09 byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64),
the number of dimensions, then each dimension as a big-endian uint32, then the values in
C order, big-endian. :func:`read_idx` checks every part of that and refuses anything else
with an :class:`IdxFormatError` that names the file and what is wrong, never a silently
short or reshaped array.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from juniper_data_core.sources.errors import SourceFormatError

#: dtype code -> big-endian NumPy dtype (the published table).
IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
# No IDX array needs more: MNIST's images are 3-D; a corrupt byte here would otherwise
# make the header read run over megabytes of pixels as dimensions.
_MAX_DIMS = 8


class IdxFormatError(SourceFormatError):
    """An IDX file that is malformed, truncated, or not what the caller expected."""


def read_idx(path: str | os.PathLike[str]) -> np.ndarray[Any, Any]:
    """The array an IDX file holds, in native byte order.

    Parameters
    ----------
    path : path-like
        The file, gzipped (recognised by its first bytes, whatever its name) or not.

    Returns
    -------
    ndarray
        Shape and dtype from the header (MNIST images: ``(n, 28, 28)`` uint8; labels:
        ``(n,)`` uint8).

    Raises
    ------
    IdxFormatError
        Bad magic bytes, an unknown dtype code, a header or data shorter than it
        declares (a truncated download), or bytes after the data; the message names the
        file. ``FileNotFoundError`` when it does not exist.
    """
    path = Path(path)
    data = _read_bytes(path)
    return parse_idx(data, name=str(path))


def parse_idx(data: bytes, *, name: str = "<bytes>") -> np.ndarray[Any, Any]:
    """The array in the IDX bytes ``data`` (already decompressed); ``name`` is what errors
    call it. See :func:`read_idx`."""
    if len(data) < 4:
        raise IdxFormatError(f"{name}: {len(data)} bytes is too short for an IDX header (4 bytes at least)")
    if data[0] != 0 or data[1] != 0:
        raise IdxFormatError(
            f"{name}: not an IDX file (its first two bytes are {data[:2].hex()}, IDX files start with 0000)"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise IdxFormatError(f"{name}: unknown IDX dtype code 0x{code:02X} (known: {known})")
    if not 1 <= ndim <= _MAX_DIMS:
        raise IdxFormatError(
            f"{name}: {ndim} dimensions in the header; IDX arrays here have 1 to {_MAX_DIMS}"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxFormatError(
            f"{name}: truncated header: {ndim} dimensions need {header} bytes, the file has {len(data)}"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual < expected:
        raise IdxFormatError(
            f"{name}: truncated: shape {dims} of {dtype.name} needs {expected} bytes of data, "
            f"the file has {actual}; download it again"
        )
    if actual > expected:
        raise IdxFormatError(
            f"{name}: {actual - expected} bytes after the data of shape {dims}; "
            "the header does not describe this file"
        )
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    # Native order, so that every later step (casts, Arrow) works on plain arrays.
    return values.astype(dtype.newbyteorder("="), copy=False)


def _read_bytes(path: Path) -> bytes:
    with path.open("rb") as f:
        raw = f.read()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    inflate: Any = gzip.decompress
    errors: tuple[type[BaseException], ...] = (EOFError, OSError, zlib.error)
    try:  # zlib-ng (the cpu and service extras) inflates about twice as fast as zlib
        from zlib_ng import gzip_ng, zlib_ng

        ng_error: Any = zlib_ng.error  # typed as an instance in its stubs; it is the class
        inflate, errors = gzip_ng.decompress, (*errors, ng_error)
    except ImportError:
        pass
    try:
        return bytes(inflate(raw))
    except errors as exc:
        raise IdxFormatError(f"{path}: a damaged or truncated gzip file ({exc}); download it again") from exc


__all__ = ["IDX_DTYPES", "IdxFormatError", "parse_idx", "read_idx"]
