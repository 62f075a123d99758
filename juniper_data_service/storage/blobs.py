"""Blob stores: named byte objects on a local directory or any fsspec URL.

The service keeps two kinds of bytes outside its metadata store: artifact bytes (a cache
that can always be rebuilt, :class:`~juniper_data_service.storage.cache.ArtifactCache`)
and imported sources (content that must be kept). Both go through :class:`BlobStore`,
so one setting, ``JUNIPER_DATA_BLOB_URL``, moves them from the local disk to a shared
volume or an object store, and several replicas see the same bytes.

Keys are relative, ``/``-separated names such as ``artifacts/<id>.npz`` or
``sources/<hex>.arrow``: every segment non-empty, none starting with ``.`` (names
beginning with a dot are the stores' temporary files), no ``\\`` and no NUL. A key that
breaks these rules raises :class:`ValueError`, so no key can name anything outside the
store's root (``..`` is a segment starting with a dot).

Every write is atomic: a reader sees the whole previous object, the whole new one, or
none, never a half-written one. :class:`LocalBlobStore` writes a temporary file in the
target's directory, fsyncs it and renames it into place; :class:`FsspecBlobStore`
spools to a local temporary file and uploads it in one put when the writer closes
(an object store publishes an object only when its upload completes), or, on a
filesystem without that guarantee, uploads to a temporary name and renames.

Usage::

    blobs = open_blob_store(settings.blob_url or settings.storage_path)
    with blobs.writer("sources/abc.arrow") as f:   # published when the block exits cleanly
        f.write(data)                              # discarded if it raises
    blobs.put("sources/abc.json", b"{}")           # the same, for bytes in hand
    with blobs.open("sources/abc.arrow") as f:     # FileNotFoundError when absent
        head = f.read(16)
    blobs.size("sources/abc.arrow")                # bytes, or None when absent
    [b.key for b in blobs.list("sources/")]        # every blob under a prefix

Calls block (disk or network); the service runs them in a worker thread.
"""

from __future__ import annotations

import abc
import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

#: Temporary files older than this are left by a crashed writer and may be removed; younger
#: ones may belong to another replica's write under way on a shared directory.
STALE_TEMP_SECONDS = 3600.0

#: Filesystems whose single put is atomic (an object appears only when its upload completes).
_ATOMIC_PUT = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "memory", "oss"})


def check_key(key: str) -> str:
    """``key`` if it is a valid blob name (see the module's docstring), else ValueError."""
    parts = key.split("/")
    if not key or "\\" in key or "\0" in key or any(not p or p.startswith(".") for p in parts):
        raise ValueError(
            f"bad blob key {key!r}: use '/'-separated names whose parts are non-empty "
            "and do not start with '.'"
        )
    return key


@dataclass(frozen=True)
class BlobInfo:
    """One stored blob: its key, its size in bytes, when it was last written or touched
    (POSIX seconds)."""

    key: str
    size: int
    modified: float


class BlobStore(abc.ABC):
    """Named byte objects under one root; see the module's docstring for keys and atomicity."""

    #: Where the blobs live (a directory or a URL), for messages and health checks.
    url: str

    @abc.abstractmethod
    def writer(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """A binary file to write ``key`` into: published atomically when the ``with`` block
        exits cleanly (replacing any blob of that key), discarded when it raises."""

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically."""
        with self.writer(key) as f:
            f.write(data)

    @abc.abstractmethod
    def open(self, key: str) -> BinaryIO:
        """The blob, open for reading (the caller closes it); FileNotFoundError when absent."""

    def read(self, key: str) -> bytes:
        """All the blob's bytes; FileNotFoundError when absent."""
        with self.open(key) as f:
            return f.read()

    @abc.abstractmethod
    def size(self, key: str) -> int | None:
        """The blob's size in bytes, or None when absent."""

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    @abc.abstractmethod
    def delete(self, key: str) -> bool:
        """Remove the blob; False when it was absent."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> list[BlobInfo]:
        """Every blob whose key starts with ``prefix`` (a folder such as ``"artifacts/"``),
        temporary files excluded, in no particular order."""

    def touch(self, key: str) -> bool:
        """Mark the blob as just used (its ``modified`` time becomes now), where the store
        can do so cheaply; False when it is absent. Object stores cannot: there it only
        says whether the blob exists, and ``modified`` stays the time it was written."""
        return self.exists(key)

    def local_path(self, key: str) -> Path | None:
        """The blob's path on this machine when the store is a local directory, else None."""
        return None

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise if the store cannot be reached (the readiness probe)."""


class LocalBlobStore(BlobStore):
    """Blobs as files under a directory (``<root>/<key>``), local or a shared mount.

    Writes go to ``.tmp-*`` in the target's directory, are fsynced and renamed into place
    (atomic on POSIX filesystems, NFS included, so replicas sharing the directory never read a
    partial file). Temporary files older than :data:`STALE_TEMP_SECONDS` are removed at start.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.url = str(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temps()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _remove_stale_temps(self) -> None:
        cutoff = time.time() - STALE_TEMP_SECONDS
        for stale in self.root.rglob(".tmp-*"):
            with contextlib.suppress(FileNotFoundError):
                if stale.stat().st_mtime < cutoff:
                    stale.unlink()

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> bool:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def list(self, prefix: str = "") -> list[BlobInfo]:
        # Walk only the prefix's folder; the prefix's last part filters the names found.
        folder = prefix.rpartition("/")[0]
        base = self.root / check_key(folder) if folder else self.root
        out = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith("."):
                    continue
                path = Path(dirpath) / name
                key = path.relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    st = path.stat()
                    out.append(BlobInfo(key, st.st_size, st.st_mtime))
        return out

    def touch(self, key: str) -> bool:
        try:
            os.utime(self._path(key))
        except FileNotFoundError:
            return False
        return True

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def ping(self) -> None:
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root} is not a directory")


class FsspecBlobStore(BlobStore):
    """Blobs under an fsspec URL (``s3://bucket/prefix``, ``gs://...``, ``memory://...``).

    Credentials and endpoints come from the filesystem's own configuration: for S3 the
    ``AWS_*`` variables (``AWS_ENDPOINT_URL`` for an S3-compatible server) or fsspec's
    ``FSSPEC_S3_*`` ones. Listings are read fresh on every call (another replica may have
    written since). ``touch`` cannot change an object's time, so an artifact cache on an
    object store evicts by age of writing rather than of last use.
    """

    def __init__(self, url: str, **storage_options: Any) -> None:
        from fsspec.core import url_to_fs  # optional: the dask or blob extra

        self.url = url
        self.fs, root = url_to_fs(url, **storage_options)
        self._root = str(root).rstrip("/")
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        self._atomic_put = bool(_ATOMIC_PUT.intersection(protocols))

    def _path(self, key: str) -> str:
        return f"{self._root}/{check_key(key)}"

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        path = self._path(key)
        # Spooled to local disk first: a failed block uploads nothing, and the upload is one put.
        with tempfile.NamedTemporaryFile(prefix=".tmp-blob-") as spool:
            yield spool  # type: ignore[misc]
            spool.flush()
            if self._atomic_put:
                self.fs.put_file(spool.name, path)
            else:
                parent, _, name = path.rpartition("/")
                tmp = f"{parent}/.tmp-{uuid.uuid4().hex}-{name}"
                self.fs.put_file(spool.name, tmp)
                try:
                    self.fs.mv(tmp, path)
                except BaseException:
                    with contextlib.suppress(Exception):
                        self.fs.rm_file(tmp)
                    raise
        self.fs.invalidate_cache(path)

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        self.fs.invalidate_cache(path)
        f: BinaryIO = self.fs.open(path, "rb")
        return f

    def size(self, key: str) -> int | None:
        path = self._path(key)
        self.fs.invalidate_cache(path)
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return None
        return int(info["size"]) if info.get("type", "file") == "file" else None

    def delete(self, key: str) -> bool:
        path = self._path(key)
        if self.size(key) is None:
            return False
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)
        self.fs.invalidate_cache(path)
        return True

    def list(self, prefix: str = "") -> list[BlobInfo]:
        folder, _, _ = prefix.rpartition("/")
        base = f"{self._root}/{check_key(folder)}" if folder else self._root
        self.fs.invalidate_cache()
        try:
            found = self.fs.find(base, detail=True)
        except FileNotFoundError:
            return []
        out = []
        root = self.fs._strip_protocol(self._root).rstrip("/")
        for path, info in found.items():
            key = self.fs._strip_protocol(path)[len(root) + 1 :]
            if not key.startswith(prefix) or any(p.startswith(".") for p in key.split("/")):
                continue
            out.append(BlobInfo(key, int(info.get("size") or 0), _modified(info)))
        return out

    def ping(self) -> None:
        self.fs.invalidate_cache(self._root)
        # The root of an object store may hold no object yet; listing it must still succeed.
        self.fs.ls(self._root.split("/", 1)[0] if self._atomic_put else self._root, detail=False)


def _modified(info: dict[str, Any]) -> float:
    for name in ("LastModified", "mtime", "last_modified", "created"):
        value = info.get(name)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float):
            return float(value)
    return 0.0


def open_blob_store(location: str | Path) -> BlobStore:
    """The blob store for a directory or a URL: a path or ``file://`` URL gives a
    :class:`LocalBlobStore`, any other fsspec URL an :class:`FsspecBlobStore`."""
    text = str(location)
    if isinstance(location, Path) or "://" not in text:
        return LocalBlobStore(Path(text))
    if text.startswith("file://"):
        return LocalBlobStore(Path(text.removeprefix("file://")))
    return FsspecBlobStore(text)
