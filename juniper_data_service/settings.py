"""Service settings, read from ``JUNIPER_DATA_*`` environment variables (CONTRACT section 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MiB = 1 << 20
GiB = 1 << 30


def _comma_list(value: object) -> object:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``; lists pass through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything the service reads from its environment.

    Comma lists (``API_KEYS``, ``CORS_ORIGINS``) are plain ``a,b,c`` strings in the
    environment. An empty ``API_KEYS`` turns authentication off.
    """

    model_config = SettingsConfigDict(env_prefix="JUNIPER_DATA_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8100, ge=1, le=65535)
    storage_path: Path = Path("./data")
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    rate_limit_enabled: bool = False
    rate_limit_requests_per_minute: int = Field(default=60, ge=1)
    rate_limit_max_clients: int = Field(
        default=100_000, ge=1, description="Clients whose windows are kept (least recently seen forgotten)"
    )
    auth_failures_per_minute: int = Field(
        default=20, ge=0, description="Failed API key attempts per client address and minute (0: no limit)"
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Peer addresses whose X-Forwarded-For names the client (empty: the peer is the client)",
    )
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    metrics_enabled: bool = True
    backend: str = "auto"
    warm_kernels: bool = Field(default=True, description="Compile the Numba kernels at start-up")
    max_rows: int = Field(default=100_000_000, ge=1, description="Largest dataset (full rows) served")
    max_bytes: int = Field(
        default=16 * GiB,
        ge=1 << 20,
        description="Largest dataset (its full NPZ) created and largest artifact response served, in bytes",
    )
    max_body_bytes: int = Field(default=1 * MiB, ge=1024, description="Largest request body read")
    cache_max_bytes: int = Field(default=2 * GiB, ge=0, description="Bound of the artifact cache on disk")
    reaper_interval_seconds: float = Field(default=60.0, gt=0)
    keep_alive_seconds: int = Field(
        default=75,
        ge=1,
        description="Idle seconds a kept-alive connection stays open (longer than clients' pool expiry)",
    )
    limit_concurrency: int | None = Field(
        default=None, ge=1, description="Connections and tasks at once before 503s (None: no limit)"
    )
    single_flight_wait_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long a download waits for another generating the same artifact, then generates",
    )
    worker_threads: int = Field(
        default=40, ge=1, description="Threads for blocking work (generation, storage, cache reads)"
    )
    dask_scheduler: str | None = Field(
        default=None,
        description="Dask scheduler that runs exports: tcp://host:8786, or local:N (unset: exports are 503)",
    )
    export_roots: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Directories (or URL prefixes such as s3://bucket/exports) exports may be written "
        "inside (empty: none)",
    )

    # Stores (docs/operations.md, "Choosing a store"): where metadata and blobs live.
    storage: Literal["sqlite", "memory", "postgres", "redis"] = Field(
        default="sqlite", description="Metadata store: sqlite (under STORAGE_PATH), memory, postgres or redis"
    )
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://user:password@host:5432/db) for STORAGE=postgres",
    )
    database_pool_size: int = Field(default=10, ge=1, description="Most PostgreSQL connections per replica")
    database_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How long a request waits for a PostgreSQL or Redis connection before its 503",
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL (redis://host:6379/0) for STORAGE=redis"
    )
    redis_prefix: str = Field(
        default="juniper-data:", min_length=1, description="Prefix of every Redis key this service writes"
    )
    blob_url: str | None = Field(
        default=None,
        description="Directory or fsspec URL (s3://bucket/prefix) for artifacts and sources "
        "(unset: STORAGE_PATH)",
    )

    # Sources (docs/sources.md): uploads, the data directory, where file_path may read.
    max_upload_bytes: int = Field(
        default=1 * GiB, ge=1, description="Largest file uploaded as a source (POST /v1/sources), in bytes"
    )
    sources_path: Path | None = Field(
        default=None,
        description="Data directory: imported sources (<hex>.arrow) and mnist/, fashion_mnist/ "
        "(unset: STORAGE_PATH/sources)",
    )
    import_roots: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Directories csv_import's file_path and arc_agi's local_path may read (empty: none)",
    )

    _split_keys = field_validator("api_keys", "cors_origins", "trusted_proxies", mode="before")(_comma_list)
    _split_roots = field_validator("export_roots", "import_roots", mode="before")(_comma_list)

    @property
    def sources_dir(self) -> Path:
        """The data directory: ``sources_path``, else ``storage_path/sources``."""
        return self.sources_path if self.sources_path is not None else self.storage_path / "sources"

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        level = level.strip().upper()
        if level not in ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"):
            raise ValueError(f"log_level must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG, got {level!r}")
        return level

    @field_validator("storage", mode="before")
    @classmethod
    def _storage_name(cls, storage: object) -> object:
        return storage.strip().lower() if isinstance(storage, str) else storage

    @model_validator(mode="after")
    def _store_url_given(self) -> Settings:
        for store, name, url, schemes in (
            ("postgres", "database_url", self.database_url, ("postgresql://", "postgres://")),
            ("redis", "redis_url", self.redis_url, ("redis://", "rediss://", "unix://")),
        ):
            if self.storage != store:
                continue
            if not url:
                raise ValueError(f"JUNIPER_DATA_STORAGE={store} needs JUNIPER_DATA_{name.upper()}")
            if not url.startswith(schemes):
                raise ValueError(
                    f"JUNIPER_DATA_{name.upper()} must start with {' or '.join(schemes)}, got {url.split('://')[0]!r}"
                )
        return self

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, backend: str) -> str:
        backend = backend.strip().lower()
        if backend not in ("auto", "numpy", "numba", "jax", "cupy"):
            raise ValueError(f"backend must be auto, numpy, numba, jax or cupy, got {backend!r}")
        return backend
