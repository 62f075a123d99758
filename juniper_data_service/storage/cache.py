"""Artifact bytes on disk: a size-bounded cache, never the source of truth.

A dataset is its recipe, so any file here can be dropped and rebuilt. Files are
written to a temporary name, fsynced and renamed into place, so a reader sees a
whole file or none. When the total passes ``max_bytes`` the least recently used
files (by modification time, bumped on every hit) are removed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


class ArtifactCache:
    """Files ``<root>/<key>`` totalling at most ``max_bytes``."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        for stale in root.glob(".tmp-*"):  # left by a crash mid-write
            stale.unlink(missing_ok=True)

    def _path(self, key: str) -> Path:
        if "/" in key or key.startswith("."):
            raise ValueError(f"bad cache key {key!r}")
        return self.root / key

    def get(self, key: str) -> Path | None:
        """The cached file, marked as just used; None on a miss."""
        path = self._path(key)
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        return path

    def fits(self, n_bytes: int) -> bool:
        return n_bytes <= self.max_bytes

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        """A file to write ``key`` into; published atomically when the block exits cleanly,
        discarded when it raises."""
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path(key))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.evict()

    def remove(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

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
        """Remove least recently used files until the total fits; returns their keys."""
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
        return gone
