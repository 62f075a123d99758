"""Content-addressed directories of sources, and the search path the engine finds them on.

A source directory holds ``<hex>.arrow`` files: canonical tables as Arrow IPC files
(uncompressed, so they are memory-mapped, not read), named by the hex digest of their
``sha256:`` id. A file is written to a temporary name in the same directory and renamed
into place once whole, so a reader sees a whole source or none; importing content that
is already there keeps the file that is there (and says so: ``created=False``).

The engine finds a source by looking for ``<hex>.arrow`` in each directory of the search
path (:func:`add_source_directory`; the first is also where :func:`import_file` writes by
default: ``JUNIPER_DATA_SOURCES_PATH`` if set, else ``~/.cache/juniper-data/sources``).
The search path is process-wide on purpose: an id names the same bytes in every
directory, so apps in one process sharing it can never read each other's data wrongly.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from juniper_data_core.sources.canonical import (
    ContentHash,
    canonical_schema,
    column_list,
    parse_source_id,
    pyarrow,
    rebatch,
    rows_per_batch,
    schema_with_types,
)
from juniper_data_core.sources.errors import SourceNotFoundError
from juniper_data_core.sources.readers import ReadOptions, read_batches

if TYPE_CHECKING:
    import pyarrow as pa

SUFFIX = ".arrow"
_TEMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class SourceInfo:
    """What a source is: ``source_id`` (``sha256:<hex>``), ``columns`` (``[{"name", "type"}]``),
    ``n_rows``, ``bytes`` (of its canonical file), and whether this import wrote it
    (``created``; False when the same content was already there)."""

    source_id: str
    columns: list[dict[str, str]]
    n_rows: int
    bytes: int
    created: bool = False


class SourceDirectory:
    """A directory of ``<hex>.arrow`` canonical tables (created if absent)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, source_id: str) -> Path:
        """Where source ``source_id`` is or would be (a SourceFormatError for a malformed id)."""
        return self.root / f"{parse_source_id(source_id)}{SUFFIX}"

    def __contains__(self, source_id: str) -> bool:
        return self.path(source_id).is_file()

    def ids(self) -> list[str]:
        """Every source here, sorted."""
        return sorted(f"sha256:{p.stem}" for p in self.root.glob(f"*{SUFFIX}") if len(p.stem) == 64)

    def delete(self, source_id: str) -> bool:
        """Remove a source; False if it was not here."""
        try:
            self.path(source_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def import_file(self, path: str | os.PathLike[str], options: ReadOptions | None = None) -> SourceInfo:
        """Parse ``path`` (see :class:`~juniper_data_core.sources.readers.ReadOptions`) into a
        source here, streamed in bounded memory; its :class:`SourceInfo`."""
        options = options or ReadOptions()
        schema, batches = read_batches(path, options)
        return self.import_batches(schema, batches, column_types=options.column_types)

    def import_table(self, table: pa.Table) -> SourceInfo:
        """A pyarrow Table (or anything with ``schema`` and ``to_batches()``) as a source here."""
        return self.import_batches(table.schema, iter(table.to_batches()))

    def import_batches(
        self,
        schema: pa.Schema,
        batches: Iterable[pa.RecordBatch],
        column_types: Mapping[str, str] | None = None,
    ) -> SourceInfo:
        """Record batches of ``schema`` as a source here: cast to the canonical schema (with
        ``column_types`` applied), re-cut, hashed and written atomically. Nothing is left
        behind if anything raises."""
        pa = pyarrow()
        canonical = schema_with_types(canonical_schema(schema), dict(column_types or {}))
        rows = rows_per_batch(canonical)
        digest = ContentHash(canonical)
        n_rows = 0
        fd, temp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=SUFFIX, dir=self.root)
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                with pa.ipc.new_file(out, canonical) as writer:
                    for batch in rebatch(batches, canonical, rows):
                        digest.update(batch)
                        writer.write_batch(batch)
                        n_rows += batch.num_rows
                out.flush()
                os.fsync(out.fileno())
            final = self.path(digest.source_id)
            size = temp.stat().st_size
            created = not final.exists()
            if created:
                os.replace(temp, final)
            else:
                temp.unlink()
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return SourceInfo(digest.source_id, column_list(canonical), n_rows, size, created)


_LOCK = threading.Lock()
_SEARCH: list[Path] = []


def default_directory() -> SourceDirectory:
    """Where the engine imports to by default: ``JUNIPER_DATA_SOURCES_PATH``, else
    ``~/.cache/juniper-data/sources`` (created when first used)."""
    root = os.environ.get("JUNIPER_DATA_SOURCES_PATH") or Path.home() / ".cache" / "juniper-data" / "sources"
    return SourceDirectory(root)


def add_source_directory(root: str | os.PathLike[str]) -> None:
    """Look for sources in ``root`` too (after those added before); adding twice is harmless."""
    path = Path(root).resolve()
    with _LOCK:
        if path not in _SEARCH:
            _SEARCH.append(path)


def remove_source_directory(root: str | os.PathLike[str]) -> None:
    """Stop looking in ``root``."""
    path = Path(root).resolve()
    with _LOCK:
        if path in _SEARCH:
            _SEARCH.remove(path)


def source_directories() -> list[Path]:
    """The search path: the directories added, then the default directory."""
    with _LOCK:
        added = list(_SEARCH)
    return [*added, default_directory().root]


def _candidates(hex_id: str) -> Iterator[Path]:
    for root in source_directories():
        yield root / f"{hex_id}{SUFFIX}"


#: Functions that bring a source missing from every directory to a local file (a server
#: whose sources live on a shared blob store copies one down); each returns its path or None.
_FETCHERS: list[Callable[[str], Path | None]] = []


def add_source_fetcher(fetch: Callable[[str], Path | None]) -> None:
    """Ask ``fetch(source_id)`` for a source no directory has (after the search path)."""
    with _LOCK:
        if fetch not in _FETCHERS:
            _FETCHERS.append(fetch)


def remove_source_fetcher(fetch: Callable[[str], Path | None]) -> None:
    """Stop asking ``fetch``."""
    with _LOCK:
        if fetch in _FETCHERS:
            _FETCHERS.remove(fetch)


def find_source(source_id: str) -> Path:
    """The canonical file of ``source_id`` on the search path (or brought there by a
    fetcher); a SourceNotFoundError naming how to add the source if none has it."""
    hex_id = parse_source_id(source_id)
    for path in _candidates(hex_id):
        if path.is_file():
            return path
    with _LOCK:
        fetchers = list(_FETCHERS)
    for fetch in fetchers:
        fetched = fetch(source_id)
        if fetched is not None:
            return fetched
    raise SourceNotFoundError(
        f"no source {source_id} in the source directories; upload it (POST /v1/sources, "
        f"juniper-data import FILE) or import it with juniper_data_core.sources.import_file"
    )


def import_file(path: str | os.PathLike[str], options: ReadOptions | None = None) -> SourceInfo:
    """Import ``path`` into the default source directory (see :func:`default_directory`)."""
    return default_directory().import_file(path, options)
