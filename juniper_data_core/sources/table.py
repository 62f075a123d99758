"""Reading rows of a source as NumPy arrays: the engine's side of a source.

A :class:`SourceTable` memory-maps a canonical ``.arrow`` file; its columns are NumPy views
of the mapped record batches (no copy, nothing read until touched), so taking rows costs
the rows taken, whatever the source's size. Rows are given as a ``slice`` (a contiguous
range: the unshuffled ``full`` split) or an int64 array of row indices (a shuffled split's
rows, in their shuffled order).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from juniper_data_core.sources.canonical import column_list, pyarrow, type_name
from juniper_data_core.sources.directory import find_source
from juniper_data_core.sources.errors import SourceFormatError

if TYPE_CHECKING:
    import pyarrow as pa

Rows = slice | npt.NDArray[np.int64]


class SourceTable:
    """A canonical table, memory-mapped. ``n_rows``, ``columns`` (``[{"name", "type"}]``),
    ``source_id`` (from the file's name)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        pa = pyarrow()
        self.path = Path(path)
        self.source_id = f"sha256:{self.path.stem}"
        self._reader = pa.ipc.open_file(pa.memory_map(str(self.path)))
        self.schema: Any = self._reader.schema
        self._batches = [self._reader.get_batch(i) for i in range(self._reader.num_record_batches)]
        lengths = [b.num_rows for b in self._batches]
        self.n_rows = int(sum(lengths))
        self.batch_rows = lengths[0] if lengths else 1
        self._starts = np.cumsum([0, *lengths], dtype=np.int64)
        self._views: dict[tuple[int, int], np.ndarray[Any, Any]] = {}

    @property
    def columns(self) -> list[dict[str, str]]:
        return column_list(self.schema)

    def column_type(self, name: str) -> str:
        """The canonical type of column ``name``; a SourceFormatError naming the columns if absent."""
        if name not in self.schema.names:
            raise SourceFormatError(
                f"the source has no column {name!r}; its columns are {', '.join(self.schema.names)}",
                "columns",
            )
        return type_name(self.schema.field(name).type)

    def arrow_batches(self, name: str) -> list[pa.Array]:
        """Column ``name`` as its record batches' arrays, in row order."""
        index = self.schema.get_field_index(name)
        return [b.column(index) for b in self._batches]

    def first_missing(self, name: str) -> int | None:
        """The first row where column ``name`` is null (or NaN), else None."""
        for start, array in zip(self._starts, self.arrow_batches(name), strict=False):
            missing = _missing(array)
            if missing is not None and missing.any():
                return int(start + int(np.argmax(missing)))
        return None

    def missing_mask(self, names: list[str]) -> npt.NDArray[np.bool_]:
        """Rows where any of ``names`` is null or NaN (bool, ``n_rows``)."""
        out = np.zeros(self.n_rows, bool)
        for name in names:
            for start, array in zip(self._starts, self.arrow_batches(name), strict=False):
                missing = _missing(array)
                if missing is not None:
                    out[start : start + len(array)] |= missing
        return out

    def _view(self, column: int, batch: int) -> np.ndarray[Any, Any]:
        key = (column, batch)
        view = self._views.get(key)
        if view is None:
            array = self._batches[batch].column(column)
            view = array.to_numpy(zero_copy_only=False)
            self._views[key] = view
        return view

    def take(self, name: str, rows: Rows, dtype: Any) -> np.ndarray[Any, Any]:
        """Column ``name`` at ``rows`` as a 1-D array of ``dtype`` (numeric columns)."""
        column = self.schema.get_field_index(name)
        if isinstance(rows, slice):
            start, stop, _ = rows.indices(self.n_rows)
            out = np.empty(max(0, stop - start), dtype)
            first = int(np.searchsorted(self._starts, start, side="right")) - 1
            pos = start
            for batch in range(max(first, 0), len(self._batches)):
                if pos >= stop:
                    break
                lo = int(self._starts[batch])
                hi = min(stop, int(self._starts[batch + 1]))
                out[pos - start : hi - start] = self._view(column, batch)[pos - lo : hi - lo]
                pos = hi
            return out
        out = np.empty(len(rows), dtype)
        if not len(rows):
            return out
        batch_of = np.searchsorted(self._starts, rows, side="right") - 1
        if batch_of[0] == batch_of[-1] and (batch_of == batch_of[0]).all():
            b = int(batch_of[0])
            out[:] = self._view(column, b)[rows - self._starts[b]]
            return out
        order = np.argsort(batch_of, kind="stable")
        sorted_batches = batch_of[order]
        cuts = np.flatnonzero(np.diff(sorted_batches)) + 1
        for group in np.split(order, cuts):
            b = int(batch_of[group[0]])
            out[group] = self._view(column, b)[rows[group] - self._starts[b]]
        return out

    def values(self, name: str) -> pa.ChunkedArray:
        """Column ``name`` whole, as a pyarrow chunked array (memory-mapped)."""
        pa = pyarrow()
        return pa.chunked_array(self.arrow_batches(name), type=self.schema.field(name).type)


def _missing(array: Any) -> npt.NDArray[np.bool_] | None:
    pa = pyarrow()
    import pyarrow.compute as pc

    missing = None
    if array.null_count:
        missing = array.is_null().to_numpy(zero_copy_only=False)
    if pa.types.is_floating(array.type):
        nan = pc.is_nan(array).fill_null(False).to_numpy(zero_copy_only=False)
        missing = nan if missing is None else missing | nan
    return missing


_OPEN_LOCK = threading.Lock()
_OPEN: OrderedDict[Path, SourceTable] = OrderedDict()
_OPEN_MAX = 16


def open_source(source_id: str) -> SourceTable:
    """The table of ``source_id`` from the search path (a few recently opened are kept open:
    opening maps the file and reads its footer)."""
    path = find_source(source_id)
    with _OPEN_LOCK:
        table = _OPEN.get(path)
        if table is not None and path.exists():
            _OPEN.move_to_end(path)
            return table
    table = SourceTable(path)
    with _OPEN_LOCK:
        _OPEN[path] = table
        while len(_OPEN) > _OPEN_MAX:
            _OPEN.popitem(last=False)
    return table
