"""Artifact bytes on disk: a size-bounded cache, never the source of truth.

A dataset is its recipe, so any file here can be dropped and rebuilt. Files are
written to a temporary name, fsynced and renamed into place, so a reader sees a
whole file or none. When the total passes ``max_bytes`` the least recently used
files (by modification time, bumped on every hit) are removed. The total is kept in memory
(counted once at start, then by each write and removal), so a write costs no directory
scan: listing and stat-ing every file per write made each create slower as datasets
accumulated (Cascor's fresh-create loop fell from 59 to 31 pairs/s within a minute).

:class:`BackgroundWriter` fills an entry from a thread of its own, for artifacts teed
into the cache while they stream: the stream never waits for the disk (nor for the
final fsync), and a failed write only means the entry is not cached.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from juniper_data_service.logs import LOGGER

log = logging.getLogger(f"{LOGGER}.cache")
_FINISH = object()
_ABORT = object()


class ArtifactCache:
    """Files ``<root>/<key>`` totalling at most ``max_bytes``."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Entries whose bytes are all handed to a BackgroundWriter, not yet renamed into place.
        self._publishing: dict[str, threading.Event] = {}
        self._publishing_lock = threading.Lock()
        for stale in root.glob(".tmp-*"):  # left by a crash mid-write
            stale.unlink(missing_ok=True)
        self._total = self.total_bytes()

    def _path(self, key: str) -> Path:
        if "/" in key or key.startswith("."):
            raise ValueError(f"bad cache key {key!r}")
        return self.root / key

    def get(self, key: str, publish_wait_s: float = 30.0) -> Path | None:
        """The cached file, marked as just used; None on a miss.

        An entry being published (written in the background, its fsync and rename under
        way) is waited for, up to ``publish_wait_s``: a download right after the one that
        filled the cache reads the file instead of generating it all again.
        """
        publishing = self._publishing.get(key)
        if publishing is not None:
            publishing.wait(publish_wait_s)
        path = self._path(key)
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        return path

    def _publishing_starts(self, key: str, published: threading.Event) -> None:
        with self._publishing_lock:
            self._publishing[key] = published

    def _publishing_ends(self, key: str, published: threading.Event) -> None:
        with self._publishing_lock:
            if self._publishing.get(key) is published:
                del self._publishing[key]

    def fits(self, n_bytes: int) -> bool:
        return n_bytes <= self.max_bytes

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        """A file to write ``key`` into; published atomically when the block exits cleanly,
        discarded when it raises."""
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.root)
        path = self._path(key)
        try:
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
                size = f.tell()
            with self._lock:
                replaced = _size(path)
                os.replace(tmp, path)
                self._total += size - replaced
                over = self._total > self.max_bytes
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if over:
            self.evict()

    def remove(self, *keys: str) -> None:
        for key in keys:
            path = self._path(key)
            with self._lock:
                size = _size(path)
                path.unlink(missing_ok=True)
                self._total -= size

    def total_bytes(self) -> int:
        return sum(size for _, size, _ in self._files())

    def _files(self) -> list[tuple[float, int, Path]]:
        out = []
        for path in self.root.iterdir():
            if path.name.startswith(".tmp-"):
                continue
            with contextlib.suppress(FileNotFoundError):
                st = path.stat()
                out.append((st.st_mtime, st.st_size, path))
        return out

    def evict(self) -> list[str]:
        """Remove least recently used files until the total fits; returns their keys. The
        directory is scanned here (the only place), which also corrects the kept total."""
        with self._lock:
            files = sorted(self._files())
            total = sum(size for _, size, _ in files)
            gone = []
            for _, size, path in files:
                if total <= self.max_bytes:
                    break
                path.unlink(missing_ok=True)
                total -= size
                gone.append(path.name)
            self._total = total
        return gone


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class BackgroundWriter:
    """Writes chunks to the cache entry ``key`` in a thread of its own.

    :meth:`write` hands a chunk over and returns at once, unless the thread is
    ``max_pending`` chunks behind (the disk is slower than the stream: then the
    producer waits, which bounds the memory held). Chunks must not be modified after
    they are handed over. :meth:`finish` publishes the entry (fsync and rename, in the
    thread, after the caller has moved on); :meth:`abort` discards it. A write that
    fails (a full disk, say) is logged and the rest is drained unwritten: the cache is
    optional, the stream goes on.
    """

    def __init__(self, cache: ArtifactCache, key: str, max_pending: int = 8) -> None:
        self._cache = cache
        self._key = key
        self._pending: queue.Queue[Any] = queue.Queue(max_pending)
        self._published = threading.Event()
        # Not a daemon: a publish under way when the service stops is completed, not cut.
        self._thread = threading.Thread(target=self._run, name="juniper-data-cache-writer")
        self._thread.start()

    def write(self, chunk: Any) -> None:
        self._pending.put(chunk)

    def finish(self) -> None:
        self._cache._publishing_starts(self._key, self._published)
        self._pending.put(_FINISH)

    def abort(self) -> None:
        self._pending.put(_ABORT)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread (the entry published or discarded)."""
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            with self._cache.writer(self._key) as f:
                while (chunk := self._pending.get()) is not _FINISH:
                    if chunk is _ABORT:
                        raise _AbortedError
                    f.write(chunk)
        except _AbortedError:
            pass
        except Exception as err:  # noqa: BLE001 - the cache is optional; the producer must never block
            log.warning("caching %s failed: %s", self._key, err)
            while (rest := self._pending.get()) is not _FINISH and rest is not _ABORT:
                pass
        finally:
            self._cache._publishing_ends(self._key, self._published)
            self._published.set()


class _AbortedError(Exception):
    """Leaves the cache writer's block, which discards the temporary file."""
