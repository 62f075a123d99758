"""Service settings, read from ``JUNIPER_DATA_*`` environment variables (CONTRACT section 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
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

    _split_keys = field_validator("api_keys", "cors_origins", "trusted_proxies", mode="before")(_comma_list)
    _split_roots = field_validator("export_roots", mode="before")(_comma_list)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        level = level.strip().upper()
        if level not in ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"):
            raise ValueError(f"log_level must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG, got {level!r}")
        return level

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, backend: str) -> str:
        backend = backend.strip().lower()
        if backend not in ("auto", "numpy", "numba", "jax", "cupy"):
            raise ValueError(f"backend must be auto, numpy, numba, jax or cupy, got {backend!r}")
        return backend
