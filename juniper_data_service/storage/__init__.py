"""Where datasets live: metadata stores (a dataset is kept as its recipe) and the artifact cache.

:class:`DatasetStore` is the interface; :class:`SqliteStore` the default,
:class:`MemoryStore` a small in-memory one for unit tests; :class:`ArtifactCache`
keeps artifact bytes on disk as a bounded, rebuildable cache.
"""

from __future__ import annotations

from juniper_data_service.storage.base import DatasetStore, Entry, FilterQuery
from juniper_data_service.storage.cache import ArtifactCache
from juniper_data_service.storage.memory import MemoryStore
from juniper_data_service.storage.sqlite import SqliteStore

__all__ = ["ArtifactCache", "DatasetStore", "Entry", "FilterQuery", "MemoryStore", "SqliteStore"]
