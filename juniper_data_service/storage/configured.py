"""The store and blob store the settings choose (``JUNIPER_DATA_STORAGE``, ``..._BLOB_URL``).

PostgreSQL and Redis are imported only when chosen, so their libraries stay optional. A
store that cannot be reached raises :class:`StoreUnavailableError` with one line that
names it; the service's start-up prints that line and exits.
"""

from __future__ import annotations

from juniper_data_service.settings import Settings
from juniper_data_service.storage.base import DatasetStore, StoreUnavailableError
from juniper_data_service.storage.blobs import BlobStore, open_blob_store
from juniper_data_service.storage.memory import MemoryStore
from juniper_data_service.storage.sqlite import SqliteStore

#: The pip extra that brings each server store's library.
_EXTRA = {"postgres": "postgres", "redis": "redis"}


def open_store(settings: Settings) -> DatasetStore:
    """The metadata store ``settings.storage`` names, connected and (PostgreSQL) migrated."""
    try:
        if settings.storage == "postgres":
            from juniper_data_service.storage.postgres import PostgresStore, SchemaVersionError

            assert settings.database_url is not None  # the settings' validator requires it
            try:
                return PostgresStore(
                    settings.database_url,
                    pool_size=settings.database_pool_size,
                    timeout_s=settings.database_timeout_seconds,
                )
            except SchemaVersionError as err:
                raise StoreUnavailableError(str(err)) from None
        if settings.storage == "redis":
            from juniper_data_service.storage.redis import RedisStore

            assert settings.redis_url is not None
            return RedisStore(
                settings.redis_url, prefix=settings.redis_prefix, timeout_s=settings.database_timeout_seconds
            )
    except ImportError as err:
        extra = _EXTRA[settings.storage]
        raise StoreUnavailableError(
            f"JUNIPER_DATA_STORAGE={settings.storage} needs {err.name}: pip install 'juniper-data[{extra}]'"
        ) from None
    if settings.storage == "memory":
        return MemoryStore()
    return SqliteStore(settings.storage_path)


def open_blobs(settings: Settings) -> BlobStore:
    """The blob store for artifacts and sources: ``settings.blob_url``, else ``storage_path``."""
    location = settings.blob_url or settings.storage_path
    try:
        blobs = open_blob_store(location)
        blobs.ping()
    except ImportError as err:
        raise StoreUnavailableError(
            f"JUNIPER_DATA_BLOB_URL={location} needs {err.name}: pip install 'juniper-data[blobs]'"
        ) from None
    except (OSError, ValueError) as err:
        raise StoreUnavailableError(f"the blob store at {location} cannot be used: {err}") from None
    return blobs
