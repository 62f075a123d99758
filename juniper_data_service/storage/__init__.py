"""Where datasets live: metadata stores (a dataset is kept as its recipe), blob stores
and the artifact cache.

:class:`DatasetStore` is the interface; :class:`SqliteStore` the default,
:class:`MemoryStore` a small in-memory one for unit tests, ``PostgresStore`` and
``RedisStore`` (modules ``postgres`` and ``redis``, imported where chosen: their
libraries are optional) for several replicas. :class:`BlobStore` keeps named bytes on a
directory or an fsspec URL; :class:`ArtifactCache` keeps artifact bytes in one as a
bounded, rebuildable cache.
"""

from __future__ import annotations

from juniper_data_service.storage.base import DatasetStore, Entry, FilterQuery, StoreUnavailableError
from juniper_data_service.storage.blobs import (
    BlobInfo,
    BlobStore,
    FsspecBlobStore,
    LocalBlobStore,
    open_blob_store,
)
from juniper_data_service.storage.cache import ArtifactCache
from juniper_data_service.storage.configured import open_blobs, open_store
from juniper_data_service.storage.memory import MemoryStore
from juniper_data_service.storage.sqlite import SqliteStore

__all__ = [
    "ArtifactCache",
    "BlobInfo",
    "BlobStore",
    "DatasetStore",
    "Entry",
    "FilterQuery",
    "FsspecBlobStore",
    "LocalBlobStore",
    "MemoryStore",
    "SqliteStore",
    "StoreUnavailableError",
    "open_blob_store",
    "open_blobs",
    "open_store",
]
