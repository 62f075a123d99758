"""The artifact cache on a local directory (the stores' tests are test_store_contract.py)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from juniper_data_service.settings import Settings
from juniper_data_service.storage import ArtifactCache, MemoryStore
from juniper_data_service.storage.cache import BackgroundWriter
from tests.service.conftest import LiveServer

NOW = 1_700_000_000.0


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
    opened = cache.open("k")
    assert opened is not None
    with opened[0] as f:
        assert f.read() == b"".join(bytes([i]) * 1000 for i in range(10)) + b"end"
    assert opened[1] == 10_003


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
    import juniper_data_service.storage.blobs as blobs_module

    real_fsync = blobs_module.os.fsync

    def slow_fsync(fd: int) -> None:
        time.sleep(0.5)
        real_fsync(fd)

    monkeypatch.setattr(blobs_module.os, "fsync", slow_fsync)
    cache = ArtifactCache(tmp_path, 1 << 20)
    tee = BackgroundWriter(cache, "k")
    tee.write(b"bytes")
    tee.finish()
    opened = cache.open("k")  # the rename comes after the slow fsync: only waiting finds it
    assert opened is not None
    with opened[0] as f:
        assert f.read() == b"bytes"


class _SharedWatchedStore(MemoryStore):
    """A store that replicas share (as PostgreSQL and Redis are), whose lock notes whether
    the artifact's cache entry could be read at the moment the lock was let go."""

    shared = True

    def __init__(self) -> None:
        super().__init__()
        self.cache: ArtifactCache | None = None
        self.entry_readable_at_release: list[bool] = []

    def lock(self, key: str, wait_s: float = 300.0) -> contextlib.AbstractContextManager[bool]:
        @contextlib.contextmanager
        def held() -> Iterator[bool]:
            yield True
            if key.startswith("artifact:") and self.cache is not None:
                opened = self.cache.open(key.removeprefix("artifact:"), publish_wait_s=0)
                self.entry_readable_at_release.append(opened is not None)
                if opened is not None:
                    opened[0].close()

        return held()


def test_replica_lock_is_held_until_the_cached_artifact_is_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another replica waits on the store's lock for the first download's artifact; let go
    before the entry is renamed into place (its fsync is slow here, as on a busy disk), that
    replica misses the shared cache and generates the artifact a second time."""
    import juniper_data_service.storage.blobs as blobs_module

    real_fsync = blobs_module.os.fsync

    def slow_fsync(fd: int) -> None:
        time.sleep(0.5)
        real_fsync(fd)

    store = _SharedWatchedStore()
    settings = Settings(storage_path=tmp_path, log_level="WARNING", warm_kernels=False)
    server = LiveServer(settings, store).start()
    try:
        store.cache = server.app.state.ctx.cache
        monkeypatch.setattr(blobs_module.os, "fsync", slow_fsync)
        params = {"n_spirals": 2, "n_points": 5000, "seed": 3}
        created = httpx.post(f"{server.url}/v1/datasets", json={"generator": "spiral", "params": params})
        assert created.status_code == 201, created.text
        url = f"{server.url}/v1/datasets/{created.json()['dataset_id']}/artifact?format=arrow&split=full"
        assert httpx.get(url, timeout=60).status_code == 200
        deadline = time.monotonic() + 30
        while not store.entry_readable_at_release and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.entry_readable_at_release == [True]
    finally:
        server.stop()
