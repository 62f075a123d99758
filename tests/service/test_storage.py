"""The store interface (SQLite and in-memory alike) and the artifact cache."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from juniper_data_service.storage import ArtifactCache, DatasetStore, FilterQuery, MemoryStore, SqliteStore
from juniper_data_service.storage.base import iso
from juniper_data_service.storage.cache import BackgroundWriter

NOW = 1_700_000_000.0


def _meta(dataset_id: str, **over: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "dataset_id": dataset_id, "generator": "xor", "generator_version": "2.0.0", "params": {"seed": 1},
        "n_samples": 80, "n_features": 2, "n_classes": 2, "n_train": 64, "n_test": 16,
        "class_distribution": {"0": 40, "1": 40}, "artifact_formats": ["npz", "arrow"],
        "created_at": iso(NOW), "checksum": None, "tags": [], "ttl_seconds": None, "expires_at": None,
        "last_accessed_at": None, "access_count": 0, "backend": "numpy", "dataset_name": None,
        "dataset_version": None, "description": None, "created_by": None, "parent_dataset_id": None,
    }  # fmt: skip
    meta.update(over)
    return meta


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DatasetStore]:
    s: DatasetStore = SqliteStore(tmp_path) if request.param == "sqlite" else MemoryStore()
    yield s
    s.close()


def test_store_put_then_get(store: DatasetStore) -> None:
    entry, created = store.put(_meta("a"), persist=True, now=NOW)
    assert created and store.get("a", NOW) == entry and entry.persist


def test_store_hit_merges_tags_and_persist(store: DatasetStore) -> None:
    store.put(_meta("a", tags=["x"]), persist=False, now=NOW)
    entry, created = store.put(_meta("a", tags=["y"]), persist=True, now=NOW)
    assert not created and entry.meta["tags"] == ["x", "y"] and entry.persist


def test_store_expired_is_absent_and_replaced(store: DatasetStore) -> None:
    store.put(_meta("a", ttl_seconds=1, expires_at=iso(NOW + 1)), persist=True, now=NOW)
    assert store.get("a", NOW + 2) is None
    _, created = store.put(_meta("a", created_at=iso(NOW + 2)), persist=True, now=NOW + 2)
    assert created and store.get("a", NOW + 3) is not None


def test_store_versions_count_up_per_name(store: DatasetStore) -> None:
    for i in range(3):
        store.put(_meta(f"d{i}", dataset_name="n"), persist=True, now=NOW)
    store.put(_meta("other", dataset_name="m"), persist=True, now=NOW)
    assert [m["dataset_version"] for m in store.versions("n", NOW)] == [1, 2, 3]


def test_store_filter_tags_all_and_any(store: DatasetStore) -> None:
    store.put(_meta("a", tags=["p", "q"]), persist=True, now=NOW)
    store.put(_meta("b", tags=["p"]), persist=True, now=NOW)
    found_any, total = store.filter(FilterQuery(tags=("p", "q")), NOW)
    assert total == 2 and {m["dataset_id"] for m in found_any} == {"a", "b"}
    all_, total = store.filter(FilterQuery(tags=("p", "q"), tags_match="all"), NOW)
    assert [m["dataset_id"] for m in all_] == ["a"] and total == 1


def test_store_filter_pages_newest_first(store: DatasetStore) -> None:
    for i in range(5):
        store.put(_meta(f"d{i}", created_at=iso(NOW + i)), persist=True, now=NOW)
    page, total = store.filter(FilterQuery(limit=2, offset=1), NOW + 10)
    assert [m["dataset_id"] for m in page] == ["d3", "d2"] and total == 5


def test_store_touch_counts(store: DatasetStore) -> None:
    store.put(_meta("a"), persist=True, now=NOW)
    store.touch("a", NOW + 5)
    store.touch("a", NOW + 6)
    meta = store.get("a", NOW + 7)
    assert (
        meta is not None and meta.meta["access_count"] == 2 and meta.meta["last_accessed_at"] == iso(NOW + 6)
    )


def test_store_delete_and_delete_expired(store: DatasetStore) -> None:
    store.put(_meta("a"), persist=True, now=NOW)
    store.put(_meta("b", expires_at=iso(NOW + 1), ttl_seconds=1), persist=True, now=NOW)
    assert store.delete(["a", "zz"]) == ["a"]
    assert store.delete_expired(NOW + 2) == ["b"] and store.count(NOW + 2) == 0


def test_store_stats(store: DatasetStore) -> None:
    store.put(_meta("a", tags=["t"]), persist=True, now=NOW)
    store.put(_meta("b", generator="spiral", n_samples=20), persist=True, now=NOW)
    stats = store.stats(NOW)
    assert stats["total_datasets"] == 2 and stats["total_samples"] == 100
    assert stats["by_generator"] == {"xor": 1, "spiral": 1} and stats["by_tag"] == {"t": 1}


def test_store_checksum_and_tags(store: DatasetStore) -> None:
    store.put(_meta("a", tags=["b"]), persist=True, now=NOW)
    store.set_checksum("a", "abc")
    meta = store.update_tags("a", ["a"], ["b"], NOW)
    assert meta is not None and meta["tags"] == ["a"] and meta["checksum"] == "abc"


def test_cache_write_is_atomic(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path, 1 << 20)
    with pytest.raises(RuntimeError), cache.writer("k") as f:
        f.write(b"partial")
        raise RuntimeError("boom")
    assert cache.get("k") is None and list(tmp_path.iterdir()) == []


def test_cache_evicts_least_recently_used(tmp_path: Path) -> None:
    import os

    cache = ArtifactCache(tmp_path, 250)
    for i, key in enumerate(("a", "b")):
        with cache.writer(key) as f:
            f.write(b"x" * 100)
        os.utime(tmp_path / key, (NOW + i, NOW + i))
    os.utime(tmp_path / "a", (NOW + 5, NOW + 5))  # a used after b
    with cache.writer("c") as f:
        f.write(b"x" * 100)
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None


def test_background_writer_publishes_on_finish(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path, 1 << 20)
    tee = BackgroundWriter(cache, "k", max_pending=2)
    for i in range(10):
        tee.write(bytes([i]) * 1000)
    tee.write(memoryview(b"end"))
    tee.finish()
    tee.join(10)
    path = cache.get("k")
    assert path is not None
    assert path.read_bytes() == b"".join(bytes([i]) * 1000 for i in range(10)) + b"end"


def test_background_writer_abort_leaves_nothing(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path, 1 << 20)
    tee = BackgroundWriter(cache, "k")
    tee.write(b"partial")
    tee.abort()
    tee.join(10)
    assert cache.get("k") is None and list(tmp_path.iterdir()) == []


@pytest.mark.timeout(60)
def test_background_writer_failure_never_blocks_the_producer(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path, 1 << 20)
    tee = BackgroundWriter(cache, "k", max_pending=2)
    tee.write(object())  # not bytes: the write fails in the thread
    for _ in range(50):  # far more than max_pending: these would block if nothing drained them
        tee.write(b"x" * 100)
    tee.finish()
    tee.join(10)
    assert cache.get("k") is None and list(tmp_path.iterdir()) == []


def test_get_waits_for_an_entry_being_published(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import juniper_data_service.storage.cache as cache_module

    real_fsync = cache_module.os.fsync

    def slow_fsync(fd: int) -> None:
        time.sleep(0.5)
        real_fsync(fd)

    monkeypatch.setattr(cache_module.os, "fsync", slow_fsync)
    cache = ArtifactCache(tmp_path, 1 << 20)
    tee = BackgroundWriter(cache, "k")
    tee.write(b"bytes")
    tee.finish()
    path = cache.get("k")  # the rename comes after the slow fsync: only waiting finds it
    assert path is not None and path.read_bytes() == b"bytes"
