"""The store contract: the same tests for every :class:`DatasetStore` (memory, SQLite,
PostgreSQL, Redis), against real servers.

PostgreSQL and Redis come from ``JUNIPER_DATA_TEST_DATABASE_URL`` and
``JUNIPER_DATA_TEST_REDIS_URL`` (``.ci/servers.sh`` starts both and sets them); their
instances skip only where those are unset. Each test gets a fresh PostgreSQL schema or
Redis key prefix, and "a second replica" is a second store object on the same backing.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from juniper_data_service.storage import DatasetStore, FilterQuery, MemoryStore, SqliteStore
from juniper_data_service.storage.base import iso

PG_VAR = "JUNIPER_DATA_TEST_DATABASE_URL"
REDIS_VAR = "JUNIPER_DATA_TEST_REDIS_URL"
KINDS = ["memory", "sqlite", "postgres", "redis"]
SHARED = ["postgres", "redis"]  # stores several replicas can share


def meta_of(dataset_id: str, now: float, **over: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "dataset_id": dataset_id, "generator": "xor", "generator_version": "2.0.0", "params": {"seed": 1},
        "n_samples": 80, "n_features": 2, "n_classes": 2, "n_train": 64, "n_test": 16,
        "class_distribution": {"0": 40, "1": 40}, "artifact_formats": ["npz", "arrow"],
        "created_at": iso(now), "checksum": None, "tags": [], "ttl_seconds": None, "expires_at": None,
        "last_accessed_at": None, "access_count": 0, "backend": "numpy", "dataset_name": None,
        "dataset_version": None, "description": None, "created_by": None, "parent_dataset_id": None,
    }  # fmt: skip
    meta.update(over)
    return meta


def postgres_schema_url(url: str, schema: str) -> str:
    """``url`` with libpq's ``options`` selecting ``schema`` (created by the caller)."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


class StoreBacking:
    """One store's backing (a directory, a PostgreSQL schema, a Redis prefix); :meth:`open`
    gives a new store object on it, as a restarted process or a second replica would."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.opened: list[DatasetStore] = []
        self._memory = MemoryStore()
        self._tmp = tmp_path
        self.name = f"t_{uuid.uuid4().hex[:12]}"
        self.url = ""
        if kind == "postgres":
            base = os.environ.get(PG_VAR)
            if not base:
                pytest.skip(f"PostgreSQL store tests need {PG_VAR} (.ci/servers.sh sets it)")
            import psycopg

            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {self.name}".encode())
            self.base_url = base
            self.url = postgres_schema_url(base, self.name)
        elif kind == "redis":
            url = os.environ.get(REDIS_VAR)
            if not url:
                pytest.skip(f"Redis store tests need {REDIS_VAR} (.ci/servers.sh sets it)")
            self.url = url

    def open(self) -> DatasetStore:
        store: DatasetStore
        if self.kind == "memory":
            store = self._memory
        elif self.kind == "sqlite":
            store = SqliteStore(self._tmp)
        elif self.kind == "postgres":
            from juniper_data_service.storage.postgres import PostgresStore

            store = PostgresStore(self.url, pool_size=4)
        else:
            from juniper_data_service.storage.redis import RedisStore

            store = RedisStore(self.url, prefix=f"{self.name}:")
        self.opened.append(store)
        return store

    def service_env(self) -> dict[str, str]:
        """The service's variables for a server on this backing (SQLite: its storage path's)."""
        if self.kind == "postgres":
            return {"JUNIPER_DATA_STORAGE": "postgres", "JUNIPER_DATA_DATABASE_URL": self.url}
        if self.kind == "redis":
            return {
                "JUNIPER_DATA_STORAGE": "redis",
                "JUNIPER_DATA_REDIS_URL": self.url,
                "JUNIPER_DATA_REDIS_PREFIX": f"{self.name}:",
            }
        return {"JUNIPER_DATA_STORAGE": self.kind}

    def cleanup(self) -> None:
        for store in self.opened:
            store.close()
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(self.base_url, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {self.name} CASCADE".encode())
        elif self.kind == "redis":
            import redis

            client = redis.Redis.from_url(self.url)
            keys = list(client.scan_iter(match=f"{self.name}:*"))
            if keys:
                client.delete(*keys)
            client.close()


@pytest.fixture(params=KINDS)
def backing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreBacking]:
    b = StoreBacking(request.param, tmp_path)
    yield b
    b.cleanup()


@pytest.fixture(params=SHARED)
def shared_backing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreBacking]:
    b = StoreBacking(request.param, tmp_path)
    yield b
    b.cleanup()


@pytest.fixture
def store(backing: StoreBacking) -> DatasetStore:
    return backing.open()


@pytest.fixture
def now() -> float:
    # Real time: Redis expires keys by its own clock, so the tests' clock must be near it.
    return round(time.time(), 3)


def run_together(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """``fn(0..n-1)`` in n threads released at once; their results in order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def call(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except BaseException as err:  # noqa: BLE001 - re-raised below, in the test's thread
            errors.append(err)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return results


def test_put_then_get(store: DatasetStore, now: float) -> None:
    entry, created = store.put(meta_of("a", now, params={"seed": 7}), persist=True, now=now)
    found = store.get("a", now)
    assert created and found == entry and entry.persist and found.meta["params"] == {"seed": 7}
    assert store.get("absent", now) is None


def test_hit_merges_tags_persist_and_extends_ttl(store: DatasetStore, now: float) -> None:
    store.put(meta_of("a", now, tags=["x"], ttl_seconds=60, expires_at=iso(now + 60)), persist=False, now=now)
    entry, created = store.put(meta_of("a", now, tags=["y"], ttl_seconds=600), persist=True, now=now + 1)
    assert not created and entry.meta["tags"] == ["x", "y"] and entry.persist
    assert entry.meta["expires_at"] == iso(now + 601)
    again = store.get("a", now + 100)  # past the first TTL: the extension was stored
    assert again is not None and again.meta["tags"] == ["x", "y"]


def test_expired_is_absent_and_replaced(store: DatasetStore, now: float) -> None:
    store.put(meta_of("a", now, ttl_seconds=1, expires_at=iso(now + 1)), persist=True, now=now)
    assert store.get("a", now) is not None and store.get("a", now + 2) is None
    assert store.update_tags("a", ["t"], [], now + 2) is None
    _, created = store.put(meta_of("a", now + 2), persist=True, now=now + 2)
    found = store.get("a", now + 3)
    assert created and found is not None and found.meta["created_at"] == iso(now + 2)


def test_versions_count_up_per_name(store: DatasetStore, now: float) -> None:
    for i in range(3):
        store.put(meta_of(f"d{i}", now + i, dataset_name="n"), persist=True, now=now)
    store.put(meta_of("other", now, dataset_name="m"), persist=True, now=now)
    versions = store.versions("n", now)
    assert [(m["dataset_id"], m["dataset_version"]) for m in versions] == [("d0", 1), ("d1", 2), ("d2", 3)]
    assert store.versions("nobody", now) == []


def test_list_ids_newest_first_pages_and_skips_expired(store: DatasetStore, now: float) -> None:
    for i in range(5):
        store.put(meta_of(f"d{i}", now + i), persist=True, now=now)
    store.put(meta_of("gone", now + 9, ttl_seconds=1, expires_at=iso(now + 1)), persist=True, now=now)
    assert store.list_ids(10, 0, now + 5) == ["d4", "d3", "d2", "d1", "d0"]
    assert store.list_ids(2, 1, now + 5) == ["d3", "d2"]
    assert store.count(now + 5) == 5 and store.count(now) == 6


def test_filter_tags_all_and_any(store: DatasetStore, now: float) -> None:
    store.put(meta_of("a", now, tags=["p", "q"]), persist=True, now=now)
    store.put(meta_of("b", now, tags=["p"]), persist=True, now=now)
    store.put(meta_of("c", now, tags=["r"]), persist=True, now=now)
    found_any, total = store.filter(FilterQuery(tags=("p", "q")), now)
    assert total == 2 and {m["dataset_id"] for m in found_any} == {"a", "b"}
    all_, total = store.filter(FilterQuery(tags=("p", "q"), tags_match="all"), now)
    assert [m["dataset_id"] for m in all_] == ["a"] and total == 1


def test_filter_pages_newest_first(store: DatasetStore, now: float) -> None:
    for i in range(5):
        store.put(meta_of(f"d{i}", now + i), persist=True, now=now)
    page, total = store.filter(FilterQuery(limit=2, offset=1), now + 10)
    assert [m["dataset_id"] for m in page] == ["d3", "d2"] and total == 5
    past_end, total = store.filter(FilterQuery(limit=2, offset=9), now + 10)
    assert past_end == [] and total == 5


def test_filter_by_generator_time_samples_and_expiry(store: DatasetStore, now: float) -> None:
    store.put(meta_of("x1", now, n_samples=10), persist=True, now=now)
    store.put(meta_of("x2", now + 10, n_samples=500), persist=True, now=now)
    store.put(meta_of("s1", now + 20, generator="spiral", n_samples=200), persist=True, now=now)
    store.put(meta_of("old", now + 30, ttl_seconds=1, expires_at=iso(now + 1)), persist=True, now=now)

    def ids(**q: Any) -> list[str]:
        metas, total = store.filter(FilterQuery(**q), now + 5)
        assert total == len(metas)
        return [m["dataset_id"] for m in metas]

    assert ids(generator="spiral") == ["s1"]
    assert ids(created_after=now + 5, created_before=now + 25) == ["s1", "x2"]
    assert ids(min_samples=100, max_samples=300) == ["s1"]
    assert ids(generator="xor") == ["x2", "x1"]
    assert ids(generator="xor", include_expired=True) == ["old", "x2", "x1"]


def test_touch_counts_every_access(store: DatasetStore, now: float) -> None:
    store.put(meta_of("a", now), persist=True, now=now)
    store.touch("a", now + 5)
    store.touch("a", now + 6)
    store.touch("absent", now + 6)  # no error, and it creates nothing
    entry = store.get("a", now + 7)
    assert entry is not None and entry.meta["access_count"] == 2
    assert entry.meta["last_accessed_at"] == iso(now + 6) and store.get("absent", now) is None


def test_concurrent_touches_are_all_counted(backing: StoreBacking, now: float) -> None:
    stores = [backing.open(), backing.open()] if backing.kind in SHARED else [backing.open()]
    stores[0].put(meta_of("a", now), persist=True, now=now)
    run_together(8, lambda i: [stores[i % len(stores)].touch("a", now + 1) for _ in range(25)])
    entry = stores[0].get("a", now + 2)
    assert entry is not None and entry.meta["access_count"] == 200


def test_delete_and_delete_expired(store: DatasetStore, now: float) -> None:
    store.put(meta_of("a", now), persist=True, now=now)
    store.put(meta_of("b", now, expires_at=iso(now + 1), ttl_seconds=1), persist=True, now=now)
    store.put(meta_of("c", now), persist=True, now=now)
    assert store.delete(["a", "zz", "a"]) == ["a"]
    assert store.delete_expired(now + 2) == ["b"] and store.delete_expired(now + 2) == []
    assert store.list_ids(10, 0, now + 2) == ["c"] and store.count(now + 2) == 1


def test_stats(store: DatasetStore, now: float) -> None:
    store.put(meta_of("a", now, tags=["t"]), persist=True, now=now)
    store.put(meta_of("b", now + 1, generator="spiral", n_samples=20, tags=["t", "u"]), persist=True, now=now)
    store.put(meta_of("c", now + 2, ttl_seconds=1, expires_at=iso(now + 1)), persist=True, now=now)
    stats = store.stats(now + 2)
    assert stats["total_datasets"] == 2 and stats["total_samples"] == 100
    assert stats["by_generator"] == {"xor": 1, "spiral": 1} and stats["by_tag"] == {"t": 2, "u": 1}
    assert stats["oldest_created_at"] == iso(now) and stats["newest_created_at"] == iso(now + 1)
    assert stats["expired_count"] == 1


def test_checksum_and_tags(store: DatasetStore, now: float) -> None:
    store.put(meta_of("a", now, tags=["b"]), persist=True, now=now)
    store.set_checksum("a", "abc")
    meta = store.update_tags("a", ["a", "c"], ["b"], now)
    assert meta is not None and meta["tags"] == ["a", "c"] and meta["checksum"] == "abc"
    entry = store.get("a", now)
    assert entry is not None and entry.meta["tags"] == ["a", "c"] and entry.meta["checksum"] == "abc"
    assert [m["dataset_id"] for m in store.filter(FilterQuery(tags=("b",)), now)[0]] == []
    assert store.update_tags("absent", ["a"], [], now) is None


def test_concurrent_identical_creates_give_one_dataset(backing: StoreBacking, now: float) -> None:
    stores = [backing.open(), backing.open()] if backing.kind in SHARED else [backing.open()]
    results = run_together(
        8, lambda i: stores[i % len(stores)].put(meta_of("a", now, tags=[f"t{i}"]), persist=True, now=now)
    )
    assert sum(created for _, created in results) == 1
    entry = stores[0].get("a", now)
    assert entry is not None and entry.meta["tags"] == sorted(f"t{i}" for i in range(8))
    assert stores[0].count(now) == 1


def test_concurrent_named_creates_get_distinct_versions(backing: StoreBacking, now: float) -> None:
    stores = [backing.open(), backing.open()] if backing.kind in SHARED else [backing.open()]
    run_together(
        6,
        lambda i: stores[i % len(stores)].put(meta_of(f"d{i}", now, dataset_name="n"), persist=True, now=now),
    )
    assert sorted(m["dataset_version"] for m in stores[0].versions("n", now)) == [1, 2, 3, 4, 5, 6]


def test_reopening_keeps_everything(backing: StoreBacking, now: float) -> None:
    if backing.kind == "memory":  # nothing survives the process, by design
        first = backing.open()
        first.put(meta_of("a", now), persist=True, now=now)
        assert MemoryStore().get("a", now) is None
        return
    first = backing.open()
    first.put(meta_of("a", now, tags=["t"], dataset_name="n"), persist=False, now=now)
    first.touch("a", now + 1)
    first.set_checksum("a", "abc")
    first.close()
    backing.opened.remove(first)
    again = backing.open()
    entry = again.get("a", now + 2)
    assert entry is not None and not entry.persist
    assert entry.meta["tags"] == ["t"] and entry.meta["access_count"] == 1 and entry.meta["checksum"] == "abc"
    assert [m["dataset_version"] for m in again.versions("n", now)] == [1]


def test_reapers_on_two_replicas_never_delete_twice(shared_backing: StoreBacking, now: float) -> None:
    a, b = shared_backing.open(), shared_backing.open()
    for i in range(40):
        a.put(meta_of(f"e{i}", now, ttl_seconds=1, expires_at=iso(now + 1)), persist=True, now=now)
    a.put(meta_of("kept", now), persist=True, now=now)
    reaped = run_together(4, lambda i: (a, b)[i % 2].delete_expired(now + 2))
    every = [dataset_id for gone in reaped for dataset_id in gone]
    assert sorted(every) == sorted(f"e{i}" for i in range(40))  # each once, none twice
    assert a.list_ids(100, 0, now + 2) == ["kept"]


def test_lock_excludes_another_replica(shared_backing: StoreBacking) -> None:
    a, b = shared_backing.open(), shared_backing.open()
    with a.lock("k") as held:
        assert held
        with b.lock("k", wait_s=0.3) as other:
            assert not other
        with b.lock("other-key", wait_s=0.3) as unrelated:
            assert unrelated
    with b.lock("k", wait_s=5) as after:
        assert after


def test_claim_then_put_stores_a_new_dataset_and_a_second_claim_finds_it(
    store: DatasetStore, now: float
) -> None:
    with store.claim("a", now) as claim:
        assert claim.found is None and claim.held
        entry, created = claim.put(meta_of("a", now, tags=["x"]), persist=False, now=now)
    assert created and entry.meta["tags"] == ["x"]
    with store.claim("a", now + 1) as again:
        assert again.found is not None and again.found.meta["tags"] == ["x"] and not again.found.persist
        entry, created = again.put(meta_of("a", now, tags=["y"]), persist=True, now=now + 1)
    assert not created and entry.meta["tags"] == ["x", "y"] and entry.persist
    stored = store.get("a", now + 1)
    assert stored is not None and stored.meta["tags"] == ["x", "y"] and stored.persist
    assert store.count(now + 1) == 1


def test_claim_treats_an_expired_dataset_as_absent(store: DatasetStore, now: float) -> None:
    store.put(meta_of("a", now, ttl_seconds=1, expires_at=iso(now + 1)), persist=True, now=now)
    with store.claim("a", now + 2) as claim:
        assert claim.found is None and claim.held
        _, created = claim.put(meta_of("a", now + 2, tags=["new"]), persist=True, now=now + 2)
    assert created
    entry = store.get("a", now + 2)
    assert entry is not None and entry.meta["tags"] == ["new"] and entry.meta["expires_at"] is None


def test_claim_put_of_a_named_dataset_gives_it_the_next_version(store: DatasetStore, now: float) -> None:
    store.put(meta_of("v1", now, dataset_name="n"), persist=True, now=now)
    with store.claim("v2", now) as claim:
        entry, created = claim.put(meta_of("v2", now, dataset_name="n"), persist=True, now=now)
    assert created and entry.meta["dataset_version"] == 2
    assert [m["dataset_id"] for m in store.versions("n", now)] == ["v1", "v2"]


def test_concurrent_claims_give_one_new_dataset_with_every_tag(backing: StoreBacking, now: float) -> None:
    """The service's create, eight times at once over two replicas: one builds, the others
    merge their tags into its dataset, none lost."""
    stores = [backing.open(), backing.open()] if backing.kind in SHARED else [backing.open()]

    def create(i: int) -> bool:
        with stores[i % len(stores)].claim("a", now, wait_s=30) as claim:
            if claim.found is None:
                meta = meta_of("a", now, tags=[f"t{i}"])
            else:
                meta = {**claim.found.meta, "tags": [f"t{i}"]}
            return claim.put(meta, persist=True, now=now)[1]

    assert sum(run_together(8, create)) == 1
    entry = stores[0].get("a", now)
    assert entry is not None and entry.meta["tags"] == sorted(f"t{i}" for i in range(8))


def test_claim_excludes_other_replicas_until_its_put(shared_backing: StoreBacking, now: float) -> None:
    """One replica builds while the others wait; when its put lands they find its dataset
    (and so build nothing), and the put let go of the hold in the same call."""
    a, b = shared_backing.open(), shared_backing.open()
    seen: list[Any] = []
    with a.claim("a", now) as first:
        assert first.held and first.found is None
        waiter = threading.Thread(target=lambda: seen.append(_claim_found(b, "a", now)))
        waiter.start()
        time.sleep(0.3)
        assert seen == []  # still waiting for the holder
        first.put(meta_of("a", now, tags=["first"]), persist=True, now=now)
        waiter.join(10)
    assert seen == [["first"]]
    with b.lock("a", wait_s=0.3) as free:
        assert free  # the put released it: nothing left to expire


def _claim_found(store: DatasetStore, dataset_id: str, now: float) -> list[str] | None:
    with store.claim(dataset_id, now, wait_s=10) as claim:
        return None if claim.found is None else list(claim.found.meta["tags"])


def test_claim_left_without_a_put_lets_the_next_replica_build(
    shared_backing: StoreBacking, now: float
) -> None:
    a, b = shared_backing.open(), shared_backing.open()
    with pytest.raises(RuntimeError), a.claim("a", now) as first:
        assert first.held
        raise RuntimeError("the build failed")
    with b.claim("a", now, wait_s=0.3) as second:
        assert second.held and second.found is None


def test_claim_past_its_wait_goes_ahead_unheld(shared_backing: StoreBacking, now: float) -> None:
    """A replica that waited too long writes unheld; the holder's later write then merges
    into that row instead of replacing it."""
    a, b = shared_backing.open(), shared_backing.open()
    with a.claim("a", now) as first:
        t0 = time.monotonic()
        with b.claim("a", now, wait_s=0.3) as late:
            assert not late.held and late.found is None
            assert time.monotonic() - t0 >= 0.3  # it did wait
            _, created = late.put(meta_of("a", now, tags=["late"]), persist=True, now=now)
        assert created
        _, created = first.put(meta_of("a", now, tags=["first"]), persist=True, now=now)
        assert not created
    entry = a.get("a", now)
    assert entry is not None and entry.meta["tags"] == ["first", "late"]
    with b.lock("a", wait_s=0.3) as free:
        assert free  # the holder's merge let its claim go


def test_ping_answers(store: DatasetStore) -> None:
    store.ping()
