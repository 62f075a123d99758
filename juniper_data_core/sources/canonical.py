"""The canonical form of a table, and the hash that is a source's identity.

Canonical columns have one of four types, whatever the file said: ``int64`` (every
integer width, signed or not), ``float64`` (every float width, decimals), ``bool`` and
``string`` (strings, dictionaries of strings, dates and timestamps as their ISO text).
A column of nulls only (an empty CSV column) is ``float64``. Nested types (lists,
structs, maps) are refused with an error naming the column. Rows are cut into record
batches of :func:`rows_per_batch` rows (a function of the schema alone), so the bytes
hashed depend on the column names, types and values and on nothing else: not on the
file format, the reader's block size or the input's batch layout.

The hash (``sha256:<hex>``) covers a header (the JSON list of ``[name, type]``) and,
batch by batch and column by column, the validity of each value (only when a batch of
that column has nulls) and the values themselves (nulls as zeros; strings as their
lengths then their UTF-8 bytes). See ``docs/sources.md``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from juniper_data_core.errors import MissingDependencyError
from juniper_data_core.sources.errors import SourceFormatError

if TYPE_CHECKING:
    import pyarrow as pa

#: The canonical column types, by name (what ``columns`` lists and ``column_types`` accepts).
TYPES = ("int64", "float64", "bool", "string")
#: Bytes of canonical values per record batch that :func:`rows_per_batch` aims at.
BATCH_BYTES = 8 << 20
_MIN_BATCH_ROWS = 1 << 10
_MAX_BATCH_ROWS = 1 << 20
# A guess of a string value's bytes when sizing batches (only the batch size depends on it).
_STRING_BYTES = 24
PREFIX = "sha256:"
_LITTLE = {"int64": np.dtype("<i8"), "double": np.dtype("<f8")}


def pyarrow() -> Any:
    """pyarrow, or a MissingDependencyError saying how to install it."""
    try:
        import pyarrow
    except ImportError:
        raise MissingDependencyError(
            "sources need pyarrow: pip install pyarrow (or pip install 'juniper-data[arrow]')"
        ) from None
    return pyarrow


def pyarrow_missing() -> str | None:
    """What to install when pyarrow is not there (a generator's ``unavailable``), else None."""
    import importlib.util

    if importlib.util.find_spec("pyarrow") is None:
        return "sources need pyarrow: pip install pyarrow (or pip install 'juniper-data[arrow]')"
    return None


def arrow_type(name: str) -> pa.DataType:
    """The pyarrow type of canonical type ``name`` (one of :data:`TYPES`)."""
    pa = pyarrow()
    types = {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(), "string": pa.string()}
    try:
        return types[name]
    except KeyError:
        raise SourceFormatError(
            f"unknown column type {name!r}; column types are {', '.join(TYPES)}", field="column_types"
        ) from None


def type_name(t: pa.DataType) -> str:
    """The canonical type name of canonical pyarrow type ``t``."""
    return {"int64": "int64", "double": "float64", "bool": "bool", "string": "string"}[str(t)]


def canonical_type(column: str, t: pa.DataType) -> pa.DataType:
    """The canonical type a column of pyarrow type ``t`` becomes (a SourceFormatError for nested types)."""
    pa = pyarrow()
    if pa.types.is_integer(t):
        return pa.int64()
    if pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_null(t):
        return pa.float64()
    if pa.types.is_boolean(t):
        return pa.bool_()
    if pa.types.is_dictionary(t):
        return canonical_type(column, t.value_type)
    if (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or pa.types.is_temporal(t)
    ):
        return pa.string()
    raise SourceFormatError(
        f"column {column!r} has type {t}, which a source cannot hold; "
        f"columns must be numbers, booleans, strings, dates or times",
        field="columns",
    )


def canonical_schema(schema: pa.Schema) -> pa.Schema:
    """The canonical schema of ``schema``: names kept (they must be unique and non-empty), types
    mapped by :func:`canonical_type`, no metadata."""
    pa = pyarrow()
    names = list(schema.names)
    if not names:
        raise SourceFormatError("the file has no columns", field="file")
    seen: set[str] = set()
    for name in names:
        if not name:
            raise SourceFormatError("a column has an empty name; name every column", field="columns")
        if name in seen:
            raise SourceFormatError(f"column {name!r} appears twice; column names must be unique", "columns")
        seen.add(name)
    return pa.schema([pa.field(f.name, canonical_type(f.name, f.type)) for f in schema])


def rows_per_batch(schema: pa.Schema) -> int:
    """Rows per canonical record batch: a power of two near :data:`BATCH_BYTES` of values,
    between 1024 and 2**20; a function of the (canonical) schema alone."""
    pa = pyarrow()
    width = sum(_STRING_BYTES if pa.types.is_string(f.type) else 8 for f in schema)
    rows = BATCH_BYTES // max(1, width)
    return int(min(_MAX_BATCH_ROWS, max(_MIN_BATCH_ROWS, 1 << (rows.bit_length() - 1))))


def _cast(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    pa = pyarrow()
    columns = []
    for name, target in zip(schema.names, schema.types, strict=True):
        column = batch.column(name)
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        if column.type != target:
            try:
                column = column.cast(target, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
                raise SourceFormatError(
                    f"column {name!r}: cannot read {column.type} values as {type_name(target)} ({err}); "
                    f"give column_types={{{name!r}: 'string'}} or fix the values",
                    field="column_types",
                ) from None
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def rebatch(batches: Iterable[pa.RecordBatch], schema: pa.Schema, rows: int) -> Iterator[pa.RecordBatch]:
    """``batches`` cast to the canonical ``schema`` and re-cut into batches of exactly ``rows``
    rows (the last may be shorter; none is empty), holding at most about two batches."""
    pa = pyarrow()
    pending: list[Any] = []
    held = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(_cast(batch, schema))
        held += batch.num_rows
        while held >= rows:
            table = pa.Table.from_batches(pending, schema=schema)
            yield table.slice(0, rows).combine_chunks().to_batches()[0]
            rest = table.slice(rows)
            pending = [b for b in rest.combine_chunks().to_batches() if b.num_rows]
            held -= rows
    if held:
        table = pa.Table.from_batches(pending, schema=schema).combine_chunks()
        yield table.to_batches()[0]


class ContentHash:
    """The running ``sha256:`` identity of a canonical table (see the module docstring)."""

    def __init__(self, schema: pa.Schema) -> None:
        self._sha = hashlib.sha256()
        header = [[f.name, type_name(f.type)] for f in schema]
        self._sha.update(json.dumps({"columns": header}, separators=(",", ":")).encode())

    def update(self, batch: pa.RecordBatch) -> None:
        """Add one canonical batch (as cut by :func:`rebatch`)."""
        pa = pyarrow()
        import pyarrow.compute as pc

        self._sha.update(np.int64(batch.num_rows).tobytes())
        for column in batch.columns:
            if column.null_count:
                valid = column.is_valid().to_numpy(zero_copy_only=False)
                self._sha.update(b"V" + np.packbits(valid).tobytes())
            if pa.types.is_string(column.type):
                lengths = pc.binary_length(column)
                self._sha.update(lengths.fill_null(0).to_numpy(zero_copy_only=False).astype("<i8").tobytes())
                buffers = column.buffers()
                offsets = np.frombuffer(buffers[1], np.int32)[column.offset : column.offset + len(column) + 1]
                data = buffers[2]
                if data is not None and offsets[-1] > offsets[0]:
                    self._sha.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
            elif pa.types.is_boolean(column.type):
                values = column.fill_null(False).to_numpy(zero_copy_only=False)
                self._sha.update(values.astype(np.uint8).tobytes())
            else:
                # Little-endian 8-byte values, hashed over Arrow's own buffer when it has no nulls.
                filled = column.fill_null(0) if column.null_count else column
                values = np.ascontiguousarray(
                    filled.to_numpy(zero_copy_only=False), dtype=_LITTLE[str(column.type)]
                )
                self._sha.update(values.data.cast("B"))

    @property
    def source_id(self) -> str:
        return PREFIX + self._sha.hexdigest()


def parse_source_id(source_id: str) -> str:
    """The hex digest of ``source_id`` (``sha256:`` and 64 lowercase hex digits; the bare hex
    is accepted too); a SourceFormatError naming the form otherwise."""
    hex_part = source_id.removeprefix(PREFIX) if isinstance(source_id, str) else ""
    if len(hex_part) != 64 or any(c not in "0123456789abcdef" for c in hex_part):
        raise SourceFormatError(
            f"source_id must be 'sha256:' and 64 lowercase hex digits, got {source_id!r}", field="source_id"
        )
    return hex_part


def column_list(schema: pa.Schema) -> list[dict[str, str]]:
    """``[{"name", "type"}]`` of a canonical schema."""
    return [{"name": f.name, "type": type_name(f.type)} for f in schema]


def schema_with_types(schema: pa.Schema, column_types: Mapping[str, str] | None) -> pa.Schema:
    """The canonical ``schema`` with the types ``column_types`` asks for (columns it names must exist)."""
    pa = pyarrow()
    if not column_types:
        return schema
    unknown = sorted(set(column_types) - set(schema.names))
    if unknown:
        raise SourceFormatError(
            f"column_types names columns the file does not have: {', '.join(map(repr, unknown))}; "
            f"columns: {', '.join(schema.names)}",
            field="column_types",
        )
    return pa.schema(
        [
            pa.field(f.name, arrow_type(column_types[f.name]) if f.name in column_types else f.type)
            for f in schema
        ]
    )
