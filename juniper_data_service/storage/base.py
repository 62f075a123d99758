"""The metadata store interface and the rules every store shares.

A store keeps one *meta* document per dataset (the flat dict of CONTRACT section 3,
which carries the recipe: generator, generator_version, params), plus whether its
bytes may be cached (``persist``). Calls are blocking; the service runs them in a
worker thread. Times passed in (``now``) are POSIX seconds; times in metas are
UTC ISO-8601 strings ending in ``Z``.
"""

from __future__ import annotations

import abc
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

Meta = dict[str, Any]


def iso(ts: float | None) -> str | None:
    """POSIX seconds -> ``2024-01-02T03:04:05.678901Z`` (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch(text: str | None) -> float | None:
    """The inverse of :func:`iso`; naive times are UTC."""
    if text is None:
        return None
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


class StoreUnavailableError(Exception):
    """The store's server cannot be reached or answered with a connection error: the service
    answers 503 (``Retry-After``) and ``/v1/health/ready`` reports the store as down.
    The message is one line, names the store and never carries a password."""


def redact(url: str) -> str:
    """``scheme://user:secret@host/db?password=x`` -> ``scheme://user:***@host/db`` (for
    messages: the password and every query parameter, which may carry one, are left out)."""
    url = url.split("?", 1)[0]
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user, colon, _ = creds.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"


class Entry(NamedTuple):
    """A stored dataset: its meta and whether its artifact bytes may be cached."""

    meta: Meta
    persist: bool


@dataclass(frozen=True)
class FilterQuery:
    """``GET /v1/datasets/filter``; times are POSIX seconds."""

    generator: str | None = None
    tags: tuple[str, ...] = ()
    tags_match: str = "any"
    created_after: float | None = None
    created_before: float | None = None
    min_samples: int | None = None
    max_samples: int | None = None
    include_expired: bool = False
    limit: int = 100
    offset: int = 0


def retag(meta: Meta, add: list[str], remove: list[str]) -> Meta:
    """Tags become ``sorted((old | add) - remove)``."""
    return {**meta, "tags": sorted((set(meta["tags"]) | set(add)) - set(remove))}


def merge_hit(old: Meta, new: Meta, now: float) -> Meta:
    """An identical recipe asked for again: add its tags, extend the TTL it asks for."""
    meta = retag(old, new["tags"], [])
    ttl = new.get("ttl_seconds")
    old_expiry = epoch(old.get("expires_at"))
    if ttl is not None and old_expiry is not None and now + ttl > old_expiry:
        meta["expires_at"] = iso(now + ttl)
        meta["ttl_seconds"] = ttl
    return meta


def is_expired(meta: Meta, now: float) -> bool:
    expiry = epoch(meta.get("expires_at"))
    return expiry is not None and expiry <= now


@dataclass
class Claim:
    """A create's hold on its dataset ID among the replicas sharing a store (from
    :meth:`DatasetStore.claim`): one of them builds the dataset, the others find it."""

    found: Entry | None
    """The live dataset already stored under the ID: then there is nothing to build."""
    held: bool
    """True while the other replicas are kept out; False when the wait ran out (go ahead
    unlocked: an identical create elsewhere then merges into the same row) or when
    ``found`` came without needing the hold."""
    store_fn: Callable[[Meta, bool, float], tuple[Entry, bool]]

    def put(self, meta: Meta, *, persist: bool, now: float) -> tuple[Entry, bool]:
        """:meth:`DatasetStore.put`, letting the other replicas go in the same round trip
        where the store can."""
        return self.store_fn(meta, persist, now)


class DatasetStore(abc.ABC):
    """Metadata of every dataset. Expired datasets are absent to every read unless asked for."""

    #: Whether several service processes may share this store (then :meth:`lock` excludes them).
    shared: bool = False

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise if the store cannot answer (the readiness probe)."""

    @abc.abstractmethod
    def get(self, dataset_id: str, now: float) -> Entry | None:
        """The dataset, or None when absent or expired."""

    @abc.abstractmethod
    def put(self, meta: Meta, *, persist: bool, now: float) -> tuple[Entry, bool]:
        """Store a new dataset, or merge into the live one with its ID (:func:`merge_hit`).

        Atomic. A new named dataset gets ``dataset_version`` = 1 + the highest for its
        name. An expired one with the same ID is replaced. Returns ``(entry, created)``.
        """

    @abc.abstractmethod
    def list_ids(self, limit: int, offset: int, now: float) -> list[str]:
        """Live dataset IDs, newest first."""

    @abc.abstractmethod
    def filter(self, query: FilterQuery, now: float) -> tuple[list[Meta], int]:
        """One page of matching metas, newest first, and the total that match."""

    @abc.abstractmethod
    def delete(self, dataset_ids: list[str]) -> list[str]:
        """Delete those present (expired included); returns the IDs deleted."""

    @abc.abstractmethod
    def update_tags(self, dataset_id: str, add: list[str], remove: list[str], now: float) -> Meta | None:
        """Apply :func:`retag` atomically; None when absent or expired."""

    @abc.abstractmethod
    def touch(self, dataset_id: str, now: float) -> None:
        """Record one access (``access_count`` + 1, ``last_accessed_at`` = now)."""

    @abc.abstractmethod
    def set_checksum(self, dataset_id: str, checksum: str) -> None:
        """Record the sha256 of the dataset's full NPZ."""

    @abc.abstractmethod
    def versions(self, name: str, now: float) -> list[Meta]:
        """Live datasets named ``name``, by ascending ``dataset_version``."""

    @abc.abstractmethod
    def delete_expired(self, now: float) -> list[str]:
        """Delete every expired dataset; returns their IDs."""

    @abc.abstractmethod
    def stats(self, now: float) -> dict[str, Any]:
        """``total_datasets, total_samples, by_generator, by_tag, oldest_created_at,
        newest_created_at, expired_count`` over live datasets (expired counted apart)."""

    @abc.abstractmethod
    def count(self, now: float) -> int:
        """How many live datasets are stored."""

    def lock(self, key: str, wait_s: float = 300.0) -> contextlib.AbstractContextManager[bool]:
        """Exclude every other replica sharing this store from ``key`` while held (blocking).

        Identical creates on two replicas serialise on the dataset ID, so one generates and
        the other finds its dataset. Yields True when held, False when ``wait_s`` passed
        first (the caller goes ahead unlocked, as :class:`SingleFlight` does). A store that
        one process owns (memory, SQLite) has no other replica: nothing to exclude.
        """
        return contextlib.nullcontext(True)

    @contextlib.contextmanager
    def claim(self, dataset_id: str, now: float, wait_s: float = 300.0) -> Iterator[Claim]:
        """Hold ``dataset_id`` against the other replicas (:meth:`lock`) and read what is
        stored under it, for a create: build only when :attr:`Claim.found` is None, then
        :meth:`Claim.put`. Stores with a server fold the lock, the read and the release into
        fewer round trips."""
        with self.lock(dataset_id, wait_s) as held:
            found = self.get(dataset_id, now)
            yield Claim(found, held, lambda meta, persist, at: self.put(meta, persist=persist, now=at))

    def close(self) -> None:  # noqa: B027 - optional for stores with nothing to release
        """Release connections and files."""


@contextlib.asynccontextmanager
async def claimed(store: DatasetStore, dataset_id: str, now: float, wait_s: float) -> AsyncIterator[Claim]:
    """:meth:`DatasetStore.claim` from async code (entered and left in worker threads)."""
    import anyio.to_thread

    hold = store.claim(dataset_id, now, wait_s)
    claim: Claim = await anyio.to_thread.run_sync(hold.__enter__)
    try:
        yield claim
    finally:
        if store.shared:  # a release to send
            await anyio.to_thread.run_sync(hold.__exit__, None, None, None)
        else:
            hold.__exit__(None, None, None)


def stats_of(metas: list[Meta], now: float) -> dict[str, Any]:
    """``GET /v1/datasets/stats`` over ``metas`` (expired ones counted apart), for stores that
    cannot ask their database for it."""
    live = [m for m in metas if not is_expired(m, now)]
    created = sorted(m["created_at"] for m in live)
    return {
        "total_datasets": len(live),
        "total_samples": sum(m["n_samples"] for m in live),
        "by_generator": dict(Counter(m["generator"] for m in live)),
        "by_tag": dict(Counter(t for m in live for t in m["tags"])),
        "oldest_created_at": created[0] if created else None,
        "newest_created_at": created[-1] if created else None,
        "expired_count": len(metas) - len(live),
    }
