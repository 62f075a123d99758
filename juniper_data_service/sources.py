"""The service's source store: canonical tables on disk, with a small record beside each.

One small class, :class:`SourceStore`: put (import a file, atomically), get, list,
local path, delete, and which datasets use a source. The tables are the engine's
``<hex>.arrow`` files in the data directory (``JUNIPER_DATA_SOURCES_PATH``, default
``STORAGE_PATH/sources``), which the engine memory-maps; each has a ``<hex>.json`` record
(name, columns, rows, bytes, created_at, used_by) written atomically beside it. The
directory is added to the engine's search path, so recipes naming a source find it.

The engine memory-maps sources, so a local file is always read. With a blob store
elsewhere (``JUNIPER_DATA_BLOB_URL``: a shared volume, S3), the blob store holds the
truth under ``sources/<hex>.arrow`` and ``sources/<hex>.json``, and the data directory is
this replica's copy: a new source is uploaded once imported, a source another replica
imported is copied down when first read (an engine fetcher), and records are read from
and written to the blob store. A copy never goes stale: its name is its content's hash.
When the blob store is the storage directory itself (the default), the two coincide and
nothing is copied.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from juniper_data_core import sources
from juniper_data_service.storage.base import iso
from juniper_data_service.storage.blobs import BlobStore

#: Rows of a source shown by ``GET /v1/sources/{id}``.
PREVIEW_ROWS = 5


class SourceInUseError(Exception):
    """Deleting a source that datasets use (409)."""

    def __init__(self, source_id: str, users: list[str]) -> None:
        shown = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
        super().__init__(
            f"source {source_id} is used by {len(users)} dataset(s) ({shown}); delete them first "
            f"or delete the source with ?force=true"
        )


class SourceStore:
    """Sources under ``root`` (a directory, created if absent). Calls block (disk)."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        blobs: BlobStore | None = None,
        lock: Callable[[str], contextlib.AbstractContextManager[bool]] | None = None,
    ) -> None:
        self.directory = sources.SourceDirectory(root)
        self.root = self.directory.root
        sources.add_source_directory(self.root)
        # Record updates (used_by) are read-modify-write: one at a time in this process, and,
        # with ``lock`` (the lock of a metadata store replicas share), one at a time among them.
        self._lock = threading.Lock()
        self._replica_lock = lock
        self.blobs = None if blobs is None or self._is_this_directory(blobs) else blobs
        if self.blobs is not None:
            sources.add_source_fetcher(self.fetch)

    @contextlib.contextmanager
    def _updating(self, source_id: str) -> Iterator[None]:
        """Exclusive use of ``source_id``'s record, in this process and among the replicas."""
        with self._lock:
            if self._replica_lock is None:
                yield
                return
            with self._replica_lock(f"source:{source_id}"):
                yield

    def _is_this_directory(self, blobs: BlobStore) -> bool:
        local = blobs.local_path("sources/probe")
        return local is not None and local.parent.resolve() == self.root.resolve()

    @staticmethod
    def _key(source_id: str, suffix: str) -> str:
        return f"sources/{sources.parse_source_id(source_id)}{suffix}"

    def fetch(self, source_id: str) -> Path | None:
        """Copy ``source_id`` from the blob store into the data directory (atomically);
        its local path, or None when the blob store does not have it either."""
        if self.blobs is None:
            return None
        target = self.directory.path(source_id)
        try:
            with self.blobs.open(self._key(source_id, ".arrow")) as src:
                fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=".arrow", dir=self.root)
                try:
                    with os.fdopen(fd, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                    os.replace(temp, target)
                except BaseException:
                    Path(temp).unlink(missing_ok=True)
                    raise
        except FileNotFoundError:
            return None
        return target

    def _publish(self, source_id: str) -> None:
        """Upload a source imported here, once (the blob store keeps the first copy)."""
        if self.blobs is None or self.blobs.exists(self._key(source_id, ".arrow")):
            return
        with (
            self.blobs.writer(self._key(source_id, ".arrow")) as out,
            self.local_path(source_id).open("rb") as f,
        ):
            shutil.copyfileobj(f, out, 1 << 20)

    def _stored(self, source_id: str) -> bool:
        if self.blobs is not None:
            return self.blobs.exists(self._key(source_id, ".arrow"))
        return source_id in self.directory

    def _record_path(self, source_id: str) -> Path:
        return self.root / f"{sources.parse_source_id(source_id)}.json"

    def _read_record(self, source_id: str) -> dict[str, Any]:
        if self.blobs is not None:
            text = self.blobs.read(self._key(source_id, ".json")).decode()
        else:
            text = self._record_path(source_id).read_text()
        record: dict[str, Any] = json.loads(text)
        return record

    def _write_record(self, record: dict[str, Any]) -> None:
        if self.blobs is not None:
            self.blobs.put(self._key(record["source_id"], ".json"), json.dumps(record).encode())
            return
        fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.root)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(record, f)
            os.replace(temp, self._record_path(record["source_id"]))
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def put(
        self, path: str | os.PathLike[str], options: sources.ReadOptions, name: str, now: float
    ) -> tuple[dict[str, Any], bool]:
        """Import the file at ``path``; ``(record, created)`` (``created`` False when the same
        content was already stored: its record is kept as it was)."""
        info = self.directory.import_file(path, options)
        self._publish(info.source_id)
        with self._updating(info.source_id):
            # The record, wherever it is kept (a shared blob store: another replica's, with the
            # datasets that use the source): never replaced by a new one.
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
                return self._read_record(info.source_id), False
            record = {
                "source_id": info.source_id,
                "name": name,
                "columns": info.columns,
                "n_rows": info.n_rows,
                "bytes": info.bytes,
                "created_at": iso(now),
                "used_by": [],
            }
            self._write_record(record)
        return record, info.created

    def import_file(self, path: str | os.PathLike[str], options: sources.ReadOptions) -> sources.SourceInfo:
        """:meth:`put` under the file's name, now (what a csv_import ``file_path`` does)."""
        record, created = self.put(path, options, Path(path).name, time.time())
        return sources.SourceInfo(
            record["source_id"], record["columns"], record["n_rows"], record["bytes"], created
        )

    def import_table(self, table: Any) -> sources.SourceInfo:
        """A table an importer built (arc_agi's tasks) stored as a source; its record is made
        from the file when first asked for (:meth:`get`)."""
        info = self.directory.import_table(table)
        self._publish(info.source_id)
        return info

    def __contains__(self, source_id: str) -> bool:
        return self._stored(source_id)

    def get(self, source_id: str) -> dict[str, Any] | None:
        """The record of ``source_id``, or None. A source put in the directory by other means
        (``juniper-data import`` on this machine) gets a record made from its file."""
        if not self._stored(source_id):
            return None
        try:
            return self._read_record(source_id)
        except (FileNotFoundError, json.JSONDecodeError):
            return self._record_of_file(source_id)

    def _record_of_file(self, source_id: str) -> dict[str, Any] | None:
        path = self.local_path(source_id)
        try:
            table = sources.SourceTable(path)
            stat = path.stat()
        except (OSError, ValueError):
            return None
        record = {
            "source_id": table.source_id,
            "name": path.name,
            "columns": table.columns,
            "n_rows": table.n_rows,
            "bytes": stat.st_size,
            "created_at": iso(stat.st_mtime),
            "used_by": [],
        }
        self._write_record(record)
        return record

    def records(self) -> list[dict[str, Any]]:
        """Every source's record, newest first."""
        if self.blobs is not None:
            keys = [b.key for b in self.blobs.list("sources/") if b.key.endswith(".arrow")]
            ids = [f"sha256:{key[len('sources/') : -len('.arrow')]}" for key in keys]
        else:
            ids = self.directory.ids()
        records = [r for r in (self.get(i) for i in ids) if r is not None]
        return sorted(records, key=lambda r: (r["created_at"], r["source_id"]), reverse=True)

    def local_path(self, source_id: str) -> Path:
        """The canonical ``.arrow`` file of ``source_id`` (copied from the blob store first
        when this replica has none)."""
        path = self.directory.path(source_id)
        if self.blobs is not None and not path.is_file():
            self.fetch(source_id)
        return path

    def preview(self, source_id: str, n: int = PREVIEW_ROWS) -> list[dict[str, Any]]:
        """The first ``n`` rows as records (NaN as null)."""
        table = sources.SourceTable(self.local_path(source_id))
        rows: list[dict[str, Any]] = []
        names = table.schema.names
        columns = {name: table.values(name).slice(0, n).to_pylist() for name in names}
        for i in range(min(n, table.n_rows)):
            rows.append({name: _json_value(columns[name][i]) for name in names})
        return rows

    def add_user(self, source_id: str, dataset_id: str) -> None:
        """Record that ``dataset_id`` is made from ``source_id``."""
        with self._updating(source_id):
            record = self.get(source_id)
            if record is None or dataset_id in record["used_by"]:
                return
            record["used_by"] = sorted({*record["used_by"], dataset_id})
            self._write_record(record)

    def delete(self, source_id: str, live: Callable[[list[str]], list[str]], force: bool) -> bool:
        """Remove a source (False if absent); a SourceInUseError when datasets that use it
        still exist (``live(used_by)``, asked while no dataset can be added), unless ``force``."""
        with self._updating(source_id):
            record = self.get(source_id)
            if record is None:
                return False
            live_users = live(record["used_by"]) if not force else []
            if live_users:
                raise SourceInUseError(source_id, live_users)
            if self.blobs is not None:
                self.blobs.delete(self._key(source_id, ".arrow"))
                self.blobs.delete(self._key(source_id, ".json"))
            self.directory.delete(source_id)
            self._record_path(source_id).unlink(missing_ok=True)
        return True


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    return value
