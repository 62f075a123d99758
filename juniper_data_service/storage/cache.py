"""Artifact bytes in a blob store: a size-bounded cache, never the source of truth.

A dataset is its recipe, so any entry here can be dropped and rebuilt. Entries are
blobs (:mod:`~juniper_data_service.storage.blobs`) under one prefix, on the local disk by
default or on a shared directory or object store (``JUNIPER_DATA_BLOB_URL``) that several
replicas use together. Writes are atomic (a reader sees a whole entry or none). When the
total passes ``max_bytes`` the least recently used entries (by modification time, bumped
on every hit where the store can; on an object store, by age of writing) are removed. The
total is kept in memory (counted once at start, then by each write and removal), so a write
costs no listing: listing and stat-ing every file per write made each create slower as
datasets accumulated (Cascor's fresh-create loop fell from 59 to 31 pairs/s within a
minute). With several replicas each counts its own writes; the listing in :meth:`evict`
corrects the total.

:class:`BackgroundWriter` fills an entry from a thread of its own, for artifacts teed
into the cache while they stream: the stream never waits for the disk (nor for the
final fsync), and a failed write only means the entry is not cached.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from juniper_data_service.logs import LOGGER
from juniper_data_service.storage.blobs import BlobStore, LocalBlobStore

log = logging.getLogger(f"{LOGGER}.cache")
_FINISH = object()
_ABORT = object()


class ArtifactCache:
    """Entries ``<prefix><key>`` of a blob store, totalling at most ``max_bytes``.

    ``blobs`` may be a directory (a :class:`LocalBlobStore` on it). Keys are single names
    (no ``/``, not starting with ``.``).
    """

    def __init__(self, blobs: BlobStore | Path, max_bytes: int, prefix: str = "") -> None:
        self.blobs = blobs if isinstance(blobs, BlobStore) else LocalBlobStore(blobs)
        self.prefix = prefix
        self.max_bytes = max_bytes
        # On a local directory the cache's folder exists from the start, as it always has.
        folder = self.blobs.local_path(prefix.rstrip("/")) if prefix.rstrip("/") else None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Entries whose bytes are all handed to a BackgroundWriter, not yet renamed into place.
        self._publishing: dict[str, threading.Event] = {}
        self._publishing_lock = threading.Lock()
        self._total = self.total_bytes()
        # For /metrics: entries and bytes evicted by this process since it started.
        self.evictions = 0
        self.evicted_bytes = 0

    @property
    def url(self) -> str:
        """Where the entries live, for messages."""
        return f"{self.blobs.url.rstrip('/')}/{self.prefix}"

    def _key(self, key: str) -> str:
        if "/" in key or key.startswith("."):
            raise ValueError(f"bad cache key {key!r}")
        return self.prefix + key

    def _wait_published(self, key: str, publish_wait_s: float) -> None:
        """An entry being published (written in the background, its fsync and rename under
        way) is waited for, up to ``publish_wait_s``: a download right after the one that
        filled the cache reads the entry instead of generating it all again."""
        publishing = self._publishing.get(key)
        if publishing is not None:
            publishing.wait(publish_wait_s)

    def open(self, key: str, publish_wait_s: float = 30.0) -> tuple[BinaryIO, int] | None:
        """The cached entry, open for reading (the caller closes it), and its size, marked
        as just used; None on a miss."""
        self._wait_published(key, publish_wait_s)
        name = self._key(key)
        if not self.blobs.touch(name):
            return None
        try:
            f = self.blobs.open(name)
        except FileNotFoundError:  # evicted or deleted since
            return None
        size = f.seek(0, 2)
        f.seek(0)
        return f, size

    def get(self, key: str, publish_wait_s: float = 30.0) -> Path | None:
        """The cached entry's local path (a local store only), marked as just used; None on a miss."""
        self._wait_published(key, publish_wait_s)
        name = self._key(key)
        if not self.blobs.touch(name):
            return None
        return self.blobs.local_path(name)

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
        name = self._key(key)
        replaced = self.blobs.size(name) or 0
        with self.blobs.writer(name) as f:
            yield f
            size = f.tell()
        with self._lock:
            self._total += size - replaced
            over = self._total > self.max_bytes
        if over:
            self.evict()

    def remove(self, *keys: str) -> None:
        for key in keys:
            name = self._key(key)
            size = self.blobs.size(name)
            if size is not None and self.blobs.delete(name):
                with self._lock:
                    self._total -= size

    def total_bytes(self) -> int:
        return sum(blob.size for blob in self.blobs.list(self.prefix))

    def evict(self) -> list[str]:
        """Remove least recently used entries until the total fits; returns their keys. The
        store is listed here (the only place), which also corrects the kept total."""
        with self._lock:
            blobs = sorted(self.blobs.list(self.prefix), key=lambda b: (b.modified, b.key))
            total = sum(blob.size for blob in blobs)
            gone = []
            for blob in blobs:
                if total <= self.max_bytes:
                    break
                self.blobs.delete(blob.key)
                total -= blob.size
                gone.append(blob.key[len(self.prefix) :])
                self.evicted_bytes += blob.size
            self._total = total
            self.evictions += len(gone)
        return gone

    @property
    def used_bytes(self) -> int:
        """Bytes of the entries, as counted by this process (no listing)."""
        return self._total


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
        self._after: list[Callable[[], None]] = []
        self._after_lock = threading.Lock()
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

    def when_done(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the entry is published or discarded (at once if it is
        already): in the writer's thread, so the stream that filled it does not wait."""
        with self._after_lock:
            if not self._published.is_set():
                self._after.append(callback)
                return
        callback()

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
            with self._after_lock:
                self._published.set()
                after, self._after = self._after, []
            for callback in after:
                try:
                    callback()
                except Exception:
                    log.exception("after caching %s", self._key)


class _AbortedError(Exception):
    """Leaves the cache writer's block, which discards the temporary file."""
