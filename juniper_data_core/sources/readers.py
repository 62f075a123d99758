"""Readers of files into canonical record batches, streamed: memory is bounded by the
reader's block size, never by the file's size.

Formats: ``csv``, ``tsv``, ``json`` (a JSON array of records, or JSON Lines), ``jsonl``,
``parquet`` and ``arrow`` (Arrow IPC, file or stream). Parsing is pyarrow's (its CSV,
JSON Lines, Parquet and IPC readers); a JSON array is cut into records by the standard
``json`` decoder, a record at a time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from juniper_data_core.sources.canonical import arrow_type, pyarrow
from juniper_data_core.sources.errors import SourceFormatError

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("csv", "tsv", "json", "jsonl", "parquet", "arrow")
#: Bytes of text the JSON reader parses at a time. pyarrow's default, on purpose: with larger
#: blocks its streaming readers' peak memory grows with the file (700 MB for a 600 MB CSV with
#: 16 MiB blocks, 120 MB with 1 MiB ones), and 1 MiB parses as fast.
BLOCK_BYTES = 1 << 20
#: Bytes of CSV text cut (at a line's end) and parsed at a time, by pyarrow's multi-threaded
#: ``read_csv``, the next chunk while the last one is hashed and written: 2.7 times the
#: streaming reader's speed on two cores (278 against 100 MB/s), memory a few chunks.
CSV_CHUNK_BYTES = 8 << 20
# Records of a JSON array turned into one record batch.
_JSON_RECORDS = 1 << 14
_SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".arrows": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}
_CONTENT_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/json": "json",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
    "application/vnd.apache.arrow.file": "arrow",
    "application/vnd.apache.arrow.stream": "arrow",
}


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file.

    ``format``: one of :data:`FORMATS` (``None``: from the file name's suffix).
    ``delimiter``: a CSV's one-character delimiter (default ``,``; ``\\t`` for tsv).
    ``header``: whether a CSV's first line names the columns (else ``col_0``, ``col_1``, ...).
    ``column_types``: column -> ``int64|float64|bool|string``, overriding what the reader infers.
    """

    format: str | None = None
    delimiter: str | None = None
    header: bool = True
    column_types: Mapping[str, str] = field(default_factory=dict)


def format_for(name: str | None = None, content_type: str | None = None, given: str | None = None) -> str:
    """The format: ``given`` if set, else from ``content_type``, else from the suffix of ``name``."""
    if given:
        fmt = given.strip().lower()
        if fmt not in FORMATS:
            raise SourceFormatError(f"format must be one of {', '.join(FORMATS)}, got {given!r}", "format")
        return fmt
    if content_type:
        base = content_type.split(";")[0].strip().lower()
        if base in _CONTENT_TYPES:
            return _CONTENT_TYPES[base]
    if name:
        suffixes = [s.lower() for s in Path(name).suffixes]
        for suffix in reversed(suffixes):
            if suffix in _SUFFIXES:
                return _SUFFIXES[suffix]
    raise SourceFormatError(
        f"cannot tell the file's format (name {name!r}, content type {content_type!r}); "
        f"give format= one of {', '.join(FORMATS)}",
        "format",
    )


def read_batches(
    path: str | os.PathLike[str], options: ReadOptions
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The file's schema (as read) and an iterator of its record batches; errors in the first
    block are raised here, later ones (a value that does not fit the inferred type) while
    iterating, all as SourceFormatError."""
    fmt = format_for(str(path), given=options.format)
    pa = pyarrow()
    try:
        if fmt in ("csv", "tsv"):
            return _csv(pa, path, options, "\t" if fmt == "tsv" else ",")
        if fmt in ("json", "jsonl"):
            return _json(pa, path, options)
        if fmt == "parquet":
            return _parquet(path)
        return _arrow(pa, path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, ValueError) as err:
        if isinstance(err, SourceFormatError):
            raise
        if isinstance(err, FileNotFoundError):
            raise
        raise SourceFormatError(f"the file is not readable as {fmt}: {err}") from None


def _guarded(pa: Any, fmt: str, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    try:
        yield from batches
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise SourceFormatError(
            f"the {fmt} file cannot be read past its first block: {err}; if a column's type was "
            f"guessed from its first rows, give column_types for it (e.g. {{'x': 'float64'}})",
            "column_types",
        ) from None


def _csv(
    pa: Any, path: str | os.PathLike[str], options: ReadOptions, default_delimiter: str
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    delimiter = options.delimiter or default_delimiter
    if len(delimiter) != 1 or delimiter in '\r\n"':
        raise SourceFormatError(
            f"delimiter must be one character (not a quote or newline), got {delimiter!r}", "delimiter"
        )
    types = {name: arrow_type(t) for name, t in options.column_types.items()}
    if not options.header:
        # Names are only known after the first line: read it with generated names, then rename.
        types = {f"f{name.removeprefix('col_')}": t for name, t in types.items()}
    chunks = _CsvChunks(path, delimiter, options.header, types)
    first = chunks.next_table()
    assert first is not None  # the first chunk is always parsed, if only for the header
    schema = first.schema
    batches = _chain_tables(first, chunks)
    if not options.header:
        names = [f"col_{i}" for i in range(len(schema))]
        schema = pa.schema([pa.field(n, f.type) for n, f in zip(names, schema, strict=True)])
        batches = (b.rename_columns(names) for b in batches)
    return schema, _guarded(pa, "csv", batches)


class _CsvChunks:
    """A CSV file cut into chunks of about :data:`CSV_CHUNK_BYTES` at line ends, each parsed by
    pyarrow's ``read_csv``: the first with the header and type inference (as pyarrow's
    streaming reader infers from its first block), the rest with those names and types.

    Like pyarrow's own readers with their default options, a chunk ends at a newline, so a
    quoted value with a line break in it may not span a cut."""

    def __init__(
        self, path: str | os.PathLike[str], delimiter: str, header: bool, types: dict[str, Any]
    ) -> None:
        import pyarrow.csv as pcsv

        self._pcsv = pcsv
        self._path = path
        self._offset = 0
        self._done = False
        self._parse = pcsv.ParseOptions(delimiter=delimiter)
        self._read = pcsv.ReadOptions(autogenerate_column_names=not header)
        # An empty field is a missing value in every column (strings too), as in numeric ones.
        self._convert = pcsv.ConvertOptions(column_types=types, strings_can_be_null=True)

    def _text(self) -> bytes:
        """The next chunk's bytes: up to and including its last newline, or all that is left."""
        with open(self._path, "rb") as f:
            f.seek(self._offset)
            data = f.read(CSV_CHUNK_BYTES)
            cut = _line_end(data)
            while len(data) >= CSV_CHUNK_BYTES and cut == 0:  # a line longer than a chunk
                more = f.read(CSV_CHUNK_BYTES)
                if not more:
                    break
                found = _line_end(more)
                cut = len(data) + found if found else 0
                data += more
        if len(data) < CSV_CHUNK_BYTES or cut == 0:  # the end of the file
            self._done = True
        else:
            data = data[:cut]
        self._offset += len(data)
        return data

    def next_table(self) -> pa.Table | None:
        """The next chunk, parsed; None past the end. The first call always parses (the header)."""
        first = self._offset == 0
        while True:
            if self._done:
                return None
            data = self._text()
            if first or data.strip():  # a chunk of empty lines only has nothing to parse
                break
        import pyarrow as pa

        table = self._pcsv.read_csv(
            pa.py_buffer(data),
            read_options=self._read,
            parse_options=self._parse,
            convert_options=self._convert,
        )
        if first:  # the rest: no header line, the names and types this chunk gave
            self._read = self._pcsv.ReadOptions(column_names=table.schema.names)
            self._convert = self._pcsv.ConvertOptions(
                column_types={f.name: f.type for f in table.schema}, strings_can_be_null=True
            )
        return table


def _line_end(data: bytes) -> int:
    """Where the last line of ``data`` ends (after its ``\\n`` or ``\\r``); 0 if none does. A cut
    between ``\\r`` and ``\\n`` leaves an empty line, which the parser skips."""
    return max(data.rfind(b"\n"), data.rfind(b"\r")) + 1


def _chain_tables(first: pa.Table, chunks: _CsvChunks) -> Iterator[pa.RecordBatch]:
    """The batches of ``first``, then of each chunk after it, the next chunk parsed in a thread
    while the caller works on the current one (pyarrow parses without the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="juniper-data-csv") as pool:
        upcoming = pool.submit(chunks.next_table)
        table: pa.Table | None = first
        while table is not None:
            yield from table.to_batches()
            table = upcoming.result()
            if table is not None:
                upcoming = pool.submit(chunks.next_table)


def _first_char(path: str | os.PathLike[str]) -> str:
    with open(path, "rb") as f:
        while chunk := f.read(4096):
            text = chunk.lstrip(b" \t\r\n\xef\xbb\xbf")
            if text:
                return chr(text[0])
    return ""


def _json(
    pa: Any, path: str | os.PathLike[str], options: ReadOptions
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    import pyarrow.json as pjson

    first = _first_char(path)
    if first == "":
        raise SourceFormatError("the JSON file is empty")
    if first == "[":
        batches = _json_array(pa, path)
        head = next(batches, None)
        if head is None:
            raise SourceFormatError("the JSON array has no records")
        return head.schema, _chain(head, batches)
    types = {name: arrow_type(t) for name, t in options.column_types.items()}
    schema_hint = pa.schema(list(types.items())) if types else None
    read_options = pjson.ReadOptions(block_size=BLOCK_BYTES)
    parse_options = pjson.ParseOptions(explicit_schema=schema_hint)
    if not hasattr(pjson, "open_json"):  # pyarrow < 19: no streaming JSON reader
        whole = pjson.read_json(path, read_options=read_options, parse_options=parse_options)
        return whole.schema, iter(whole.to_batches())
    reader = pjson.open_json(path, read_options=read_options, parse_options=parse_options)
    return reader.schema, _guarded(pa, "json", iter(reader))


def _chain(head: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield head
    yield from rest


def _json_array(pa: Any, path: str | os.PathLike[str]) -> Iterator[pa.RecordBatch]:
    """Record batches of a JSON array of objects, decoded a record at a time (bounded memory:
    a block of text and :data:`_JSON_RECORDS` records)."""
    decoder = json.JSONDecoder()
    records: list[Any] = []
    with open(path, encoding="utf-8") as f:
        text = f.read(BLOCK_BYTES).lstrip("\ufeff \t\r\n")[1:]  # past "["
        pos, done, index = 0, False, 0
        while not done:
            while True:
                while pos < len(text) and text[pos] in " \t\r\n,":
                    pos += 1
                if pos < len(text) and text[pos] == "]":
                    done = True
                    break
                try:
                    record, end = decoder.raw_decode(text, pos)
                except json.JSONDecodeError as err:
                    more = f.read(BLOCK_BYTES)
                    if not more:
                        raise SourceFormatError(
                            f"the JSON array is malformed near record {index}: {err.msg}"
                        ) from None
                    text, pos = text[pos:] + more, 0
                    continue
                if not isinstance(record, dict):
                    raise SourceFormatError(
                        f"record {index} of the JSON array is not an object: {record!r:.60}"
                    )
                records.append(record)
                index += 1
                pos = end
                if len(records) >= _JSON_RECORDS:
                    yield _records_batch(pa, records)
                    records = []
    if records:
        yield _records_batch(pa, records)


def _records_batch(pa: Any, records: list[Any]) -> pa.RecordBatch:
    try:
        return pa.RecordBatch.from_pylist(records)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise SourceFormatError(f"the JSON records do not form a table: {err}") from None


def _parquet(path: str | os.PathLike[str]) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path, memory_map=True)
    return parquet.schema_arrow, parquet.iter_batches(batch_size=1 << 16)


def _arrow(pa: Any, path: str | os.PathLike[str]) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    source = pa.memory_map(str(path))
    try:
        reader: Any = pa.ipc.open_file(source)
        return reader.schema, (reader.get_batch(i) for i in range(reader.num_record_batches))
    except pa.ArrowInvalid:
        source.seek(0)
        stream = pa.ipc.open_stream(source)
        return stream.schema, iter(stream)
