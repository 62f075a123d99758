"""Partitioned datasets: one split cut into files of row ranges, each written atomically, and a manifest.

What a target (a local directory or an fsspec URL) holds once an export is complete::

    part-00000.parquet, part-00001.parquet, ...   rows [start, stop) each (or .arrow: Arrow IPC files)
    _manifest.json                                the recipe, the files, their row ranges and sha256

File ``i`` holds rows ``[i * rows_per_file, min(n, (i + 1) * rows_per_file))`` of the split,
with the columns of the Arrow artifact (``X``, ``y``, ``label``; see ``docs/formats.md``).
Readers that take a directory (pyarrow.dataset, pandas, polars, Hugging Face ``datasets``)
skip names that start with ``_`` or ``.``, so the manifest, the records and temporary
files are never read as data.

Each file is written under a hidden temporary name and renamed into place, so neither a
reader nor a re-run ever sees half a file; its sha256 is computed from the bytes as they
are written (not read back). While an export is incomplete, each finished file also gets
a small record, ``_parts/<file>.json``, written by the same task; the manifest is written
last, from the records, and ``_parts/`` is then removed. A re-run of the same export
(same recipe, split, format and ``rows_per_file`` at the same URL) keeps every file whose
bytes still hash to its recorded checksum and writes the others, so a job that failed, was
cancelled or lost a worker is finished by running it again.

This module computes and writes; :mod:`juniper_data_core.dask` decides when and where
(one process, threads, a cluster). :class:`PartitionedExport` is picklable and its
methods run on any worker; fsspec and pyarrow are imported where they are used.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import posixpath
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, TypedDict

from juniper_data_core.errors import MissingDependencyError, ParamsError
from juniper_data_core.formats.arrow import arrow_schema, record_batch
from juniper_data_core.formats.chunks import as_bytes_view
from juniper_data_core.formats.rows import MAX_BATCH_ROWS, RowSource, batch_rows_for, row_range
from juniper_data_core.generators.kernel import FloatArray
from juniper_data_core.recipe import Recipe

#: The file formats and their file name extensions.
FORMATS = {"parquet": ".parquet", "arrow": ".arrow"}
MANIFEST_NAME = "_manifest.json"
RECORDS_DIR = "_parts"
#: Version of the manifest's layout (its key ``juniper_data_manifest``).
MANIFEST_VERSION = 1
#: The most files one export may have: each is a task, and a scheduler slows down long
#: before a million of them.
MAX_FILES = 100_000
#: Bytes of X, y and label per file by default (Parquet compresses the spiral's to ~40%).
FILE_BYTES = 128 << 20
#: Bytes of X and y per record batch (a Parquet row group): what one task holds at a time.
_BATCH_BYTES = 8 << 20
_READ_BYTES = 8 << 20
_TMP_SUFFIX = ".tmp"
# Parquet settings, measured on the spiral (docs/scale-out.md): X's float bits split into
# byte streams, then snappy (7.1 B/row, 8.0 with the default dictionaries tried and
# abandoned on X); y plain and snappy-compressed (a dictionary of its two values saves
# 0.4 B/row and costs 20% of the write time); the label a dictionary; statistics only
# for the label, the one column a reader filters on.
_PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "snappy",
    "use_dictionary": ["label"],
    "column_encoding": {"X.list.element": "BYTE_STREAM_SPLIT"},
    "write_statistics": ["label"],
}


class FileRecord(TypedDict):
    """One file of a manifest: its name, its rows ``[start, stop)`` of the split, its size,
    its sha256 (hex) and the backend that computed it."""

    path: str
    start: int
    stop: int
    bytes: int
    sha256: str
    backend: str


@dataclass(frozen=True)
class Part:
    """File ``index`` of an export: rows ``[start, stop)`` of the split, named ``name``."""

    index: int
    start: int
    stop: int
    name: str


@dataclass(frozen=True)
class ExportResult:
    """What an export left behind: the ``manifest`` (also at ``<url>/_manifest.json``),
    and which files this run ``written`` and which it ``kept`` (already there, checksum
    verified)."""

    manifest: dict[str, Any]
    written: tuple[str, ...]
    kept: tuple[str, ...]

    @property
    def n_bytes(self) -> int:
        """Bytes of all the data files."""
        return int(self.manifest["n_bytes"])


def _fsspec() -> Any:
    try:
        import fsspec
    except ImportError:
        raise MissingDependencyError(
            "partitioned files need fsspec: pip install fsspec (or pip install 'juniper-data[dask]')"
        ) from None
    return fsspec


def default_rows_per_file(recipe: Recipe) -> int:
    """Rows per file so that a file holds about :data:`FILE_BYTES` of X, y and label."""
    shape = recipe.shape
    return max(1, FILE_BYTES // (4 * (shape.n_features + shape.n_classes + 1)))


@dataclass(frozen=True)
class PartitionedExport:
    """One split of ``recipe`` as files of ``rows_per_file`` rows at ``url``.

    Make one with :meth:`of` (which checks the arguments). The methods are the steps of
    a job, each runnable on any machine that reaches ``url``: :meth:`prepare` once, then
    :meth:`write_part` for each of :attr:`parts` (in any order, in parallel, repeated),
    then :meth:`finalize` with their records.
    """

    recipe: Recipe
    url: str
    fmt: str
    split: str
    rows_per_file: int
    backend: str = "auto"
    storage_options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        recipe: Recipe,
        url: str,
        *,
        fmt: str = "parquet",
        split: str = "full",
        rows_per_file: int | None = None,
        backend: str = "auto",
        storage_options: Mapping[str, Any] | None = None,
    ) -> PartitionedExport:
        """The export, its arguments checked.

        Raises
        ------
        ParamsError
            For an unknown format or split, an empty ``url``, or ``rows_per_file`` below 1
            or so small that the split needs more than :data:`MAX_FILES` files.
        """
        if not isinstance(recipe, Recipe):
            raise TypeError(f"recipe must be a Recipe, not {type(recipe).__name__}")
        if fmt not in FORMATS:
            raise ParamsError(
                f"format must be one of {', '.join(FORMATS)}, got {fmt!r}", [("format", "unknown")]
            )
        if not url:
            raise ParamsError("url must name a directory or an fsspec URL", [("url", "empty")])
        n = row_range(recipe, split).n_rows
        least = -(-n // MAX_FILES)
        rows = max(default_rows_per_file(recipe), least) if rows_per_file is None else rows_per_file
        if rows < max(1, least):
            raise ParamsError(
                f"rows_per_file must be >= {max(1, least)} (at most {MAX_FILES} files for the "
                f"{n} rows of the {split} split), got {rows}",
                [("rows_per_file", f"must be >= {max(1, least)}")],
            )
        if "://" not in url and "::" not in url:
            # A local path is made absolute here: workers run in other directories.
            url = os.path.abspath(os.path.expanduser(url))
        return cls(recipe, url, fmt, split, rows, backend, dict(storage_options or {}))

    @functools.cached_property
    def n_rows(self) -> int:
        return self.recipe.n_rows(self.split)

    @functools.cached_property
    def parts(self) -> tuple[Part, ...]:
        """The files, in row order; one empty file for an empty split (so that readers
        still find the schema)."""
        n, size = self.n_rows, self.rows_per_file
        count = max(1, -(-n // size))
        width = max(5, len(str(count - 1)))
        ext = FORMATS[self.fmt]
        return tuple(
            Part(i, min(n, i * size), min(n, (i + 1) * size), f"part-{i:0{width}d}{ext}")
            for i in range(count)
        )

    def header(self) -> dict[str, Any]:
        """The manifest without its files: the recipe, the split and how it is cut."""
        r, shape = self.recipe, self.recipe.shape
        return {
            "juniper_data_manifest": MANIFEST_VERSION,
            "dataset_id": r.dataset_id,
            "generator": r.generator,
            "generator_version": r.version,
            "params": dict(r.params),
            "split": self.split,
            "format": self.fmt,
            "n_rows": self.n_rows,
            "n_features": shape.n_features,
            "n_classes": shape.n_classes,
            "rows_per_file": self.rows_per_file,
            "n_files": len(self.parts),
            "columns": {
                "X": f"fixed_size_list<float32>[{shape.n_features}]",
                "y": f"fixed_size_list<float32>[{shape.n_classes}]",
                "label": "int32",
            },
        }

    @functools.cached_property
    def fingerprint(self) -> str:
        """What a file's record must match to be kept: the data the files hold and how they are cut."""
        keys = ("dataset_id", "split", "format", "n_rows", "rows_per_file")
        header = self.header()
        text = json.dumps({k: header[k] for k in keys}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    # ------------------------------------------------------------------ steps

    def filesystem(self) -> tuple[Any, str]:
        """``(fs, root)``: the fsspec filesystem and the target's path on it."""
        fs, path = _fsspec().core.url_to_fs(self.url, **self.storage_options)
        return fs, str(path).rstrip("/") or "/"

    def prepare(self) -> dict[str, FileRecord]:
        """Create the target; the records of a previous complete run of this export (by
        file name), for :meth:`write_part` to verify instead of rewriting.

        Raises
        ------
        ParamsError
            If ``url`` is a file, holds another export (a manifest of other data or
            another cut), or holds files that are not this export's.
        """
        fs, root = self.filesystem()
        if fs.isfile(root):
            raise ParamsError(f"url {self.url!r} is a file; give a directory", [("url", "is a file")])
        fs.makedirs(root, exist_ok=True)
        manifest = _read_json(fs, f"{root}/{MANIFEST_NAME}")
        if manifest is not None and not self._same_export(manifest):
            raise ParamsError(
                f"url {self.url!r} already holds another export ({manifest.get('dataset_id')}, split "
                f"{manifest.get('split')}, {manifest.get('format')}, {manifest.get('rows_per_file')} rows "
                "per file); write to an empty directory or remove it first",
                [("url", "holds another export")],
            )
        ours = {p.name for p in self.parts} | {MANIFEST_NAME, RECORDS_DIR}
        names = (posixpath.basename(p.rstrip("/")) for p in fs.ls(root, detail=False))
        foreign = sorted(n for n in names if n not in ours and not n.startswith("."))
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise ParamsError(
                f"url {self.url!r} holds files that are not part of this export ({shown}); "
                "readers of the directory would read them too: write to an empty directory",
                [("url", "holds other files")],
            )
        if manifest is None:
            return {}
        return {record["path"]: record for record in manifest.get("files", [])}

    def write_part(self, index: int, previous: Mapping[str, FileRecord] | None = None) -> dict[str, Any]:
        """Make sure file ``index`` is in place: kept when its bytes hash to its record
        (``_parts/`` first, else ``previous``, from :meth:`prepare`), else written.

        Returns
        -------
        dict
            Its :class:`FileRecord`, plus ``written`` (bool).
        """
        part = self.parts[index]
        fs, root = self.filesystem()
        known = _read_json(fs, self._record_path(root, part))
        if known is None or known.get("export") != self.fingerprint:
            known = dict(previous[part.name]) if previous and part.name in previous else None
        if known is not None and self._intact(fs, f"{root}/{part.name}", part, known):
            return {**_file_record(known), "written": False}
        record = self._write(fs, root, part)
        _write_atomic(fs, self._record_path(root, part), _json_bytes({**record, "export": self.fingerprint}))
        return {**record, "written": True}

    def finalize(self, records: Iterable[Mapping[str, Any]]) -> ExportResult:
        """Write the manifest from the files' records, then remove ``_parts/`` and any
        temporary file a lost task left behind."""
        fs, root = self.filesystem()
        done = sorted(records, key=lambda r: int(r["start"]))
        files = [_file_record(r) for r in done]
        if [f["path"] for f in files] != [p.name for p in self.parts]:
            raise RuntimeError(f"finalize needs the record of every file of {self.url!r}")
        manifest = {
            **self.header(),
            "files": files,
            "n_bytes": sum(f["bytes"] for f in files),
            "writer": _writer_info(self.fmt),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        _write_atomic(fs, f"{root}/{MANIFEST_NAME}", _json_bytes(manifest))
        if fs.exists(f"{root}/{RECORDS_DIR}"):
            fs.rm(f"{root}/{RECORDS_DIR}", recursive=True)
        for path in fs.ls(root, detail=False):
            name = posixpath.basename(path.rstrip("/"))
            if name.startswith((".part-", f".{MANIFEST_NAME}.")) and name.endswith(_TMP_SUFFIX):
                fs.rm(path)
        written = tuple(r["path"] for r in done if r.get("written"))
        kept = tuple(r["path"] for r in done if not r.get("written"))
        return ExportResult(manifest, written, kept)

    # ------------------------------------------------------------------ internals

    def _same_export(self, manifest: Mapping[str, Any]) -> bool:
        header = self.header()
        keys = ("dataset_id", "split", "format", "n_rows", "rows_per_file")
        return all(manifest.get(k) == header[k] for k in keys)

    @staticmethod
    def _record_path(root: str, part: Part) -> str:
        return f"{root}/{RECORDS_DIR}/{part.name}.json"

    @staticmethod
    def _intact(fs: Any, path: str, part: Part, known: Mapping[str, Any]) -> bool:
        if (known.get("path"), known.get("start"), known.get("stop")) != (part.name, part.start, part.stop):
            return False
        try:
            if fs.size(path) != known.get("bytes"):
                return False
            digest = hashlib.sha256()
            with fs.open(path, "rb") as f:
                while block := f.read(_READ_BYTES):
                    digest.update(block)
        except FileNotFoundError:
            return False
        return digest.hexdigest() == known.get("sha256")

    def _write(self, fs: Any, root: str, part: Part) -> FileRecord:
        final = f"{root}/{part.name}"
        tmp = f"{root}/.{part.name}.{uuid.uuid4().hex}{_TMP_SUFFIX}"
        # Every file resolves "auto" for the whole split, as one process writing it would.
        source = RowSource(self.recipe, self.backend, self.n_rows)
        rows = row_range(self.recipe, self.split, part.start, part.stop - part.start)
        schema = arrow_schema(self.recipe, row_range(self.recipe, self.split))
        size = min(MAX_BATCH_ROWS, batch_rows_for(rows.n_features, rows.n_classes, _BATCH_BYTES))
        try:
            with fs.open(tmp, "wb") as raw:
                sink = _HashingSink(raw)
                _write_file(self.fmt, sink, schema, source.batches(rows, size))
            _rename(fs, tmp, final)
        except BaseException:
            _remove_quietly(fs, tmp)
            raise
        return FileRecord(
            path=part.name,
            start=part.start,
            stop=part.stop,
            bytes=sink.size,
            sha256=sink.digest.hexdigest(),
            backend=source.backend,
        )


class _HashingSink:
    """A write-only file object that passes bytes to ``raw``, counting and hashing them
    (sha256) on the way, so a file's checksum costs no second read. ``tell`` is the count:
    the Parquet writer records column chunk offsets from it."""

    closed = False

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, data: Any) -> int:
        view = as_bytes_view(data)
        self.digest.update(view)
        self.raw.write(view)
        self.size += len(view)
        return len(view)

    def tell(self) -> int:
        return self.size

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        self.raw.flush()

    def close(self) -> None:
        # The raw file is closed by its owner (a context manager), after the last write.
        self.closed = True


def _write_file(
    fmt: str, sink: _HashingSink, schema: Any, batches: Iterator[tuple[FloatArray, FloatArray]]
) -> None:
    import pyarrow as pa

    if fmt == "parquet":
        import pyarrow.parquet as pq

        writer: Any = pq.ParquetWriter(sink, schema, **_PARQUET_OPTIONS)
    else:
        writer = pa.ipc.new_file(sink, schema)
    with writer:
        for X, y in batches:
            writer.write_batch(record_batch(schema, X, y))


def _writer_info(fmt: str) -> dict[str, Any]:
    import pyarrow as pa

    from juniper_data_core import __version__

    info: dict[str, Any] = {"juniper_data": __version__, "pyarrow": pa.__version__}
    if fmt == "parquet":
        info["parquet"] = dict(_PARQUET_OPTIONS)
    return info


def _file_record(record: Mapping[str, Any]) -> FileRecord:
    return FileRecord(
        path=str(record["path"]),
        start=int(record["start"]),
        stop=int(record["stop"]),
        bytes=int(record["bytes"]),
        sha256=str(record["sha256"]),
        backend=str(record["backend"]),
    )


def _json_bytes(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, indent=1, sort_keys=True).encode()


def _read_json(fs: Any, path: str) -> dict[str, Any] | None:
    """The JSON object at ``path``; None when absent or unreadable (then rewritten)."""
    try:
        doc = json.loads(fs.cat_file(path))
    except (FileNotFoundError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _is_local(fs: Any) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocol or "local" in protocol


def _rename(fs: Any, src: str, dst: str) -> None:
    if _is_local(fs):
        # One atomic step on POSIX and Windows, replacing an older file of that name.
        os.replace(src, dst)
    else:
        # Object stores publish an object whole when its upload ends; a move is a server-side copy.
        fs.mv(src, dst)


def _write_atomic(fs: Any, path: str, data: bytes) -> None:
    parent = posixpath.dirname(path)
    fs.makedirs(parent, exist_ok=True)
    tmp = f"{parent}/.{posixpath.basename(path)}.{uuid.uuid4().hex}{_TMP_SUFFIX}"
    try:
        with fs.open(tmp, "wb") as f:
            f.write(data)
        _rename(fs, tmp, path)
    except BaseException:
        _remove_quietly(fs, tmp)
        raise


def _remove_quietly(fs: Any, path: str) -> None:
    with contextlib.suppress(OSError):
        fs.rm(path)
