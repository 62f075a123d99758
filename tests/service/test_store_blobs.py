"""Blob stores (a local directory and an fsspec URL on a real S3-compatible server, moto's
standalone server on loopback) and the artifact cache on each; the service with its
artifacts on S3."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from juniper_data_service.storage import ArtifactCache, BlobStore, FsspecBlobStore, LocalBlobStore
from juniper_data_service.storage.blobs import check_key, open_blob_store
from tests.service.conftest import new_bucket


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return open_blob_store(tmp_path / "blobs")
    endpoint = request.getfixturevalue("s3_endpoint")
    store = open_blob_store(f"s3://{new_bucket(endpoint)}/prefix")
    assert isinstance(store, FsspecBlobStore)
    return store


def test_open_blob_store_picks_by_location(tmp_path: Path) -> None:
    assert isinstance(open_blob_store(tmp_path), LocalBlobStore)
    assert isinstance(open_blob_store(f"file://{tmp_path}/x"), LocalBlobStore)
    assert isinstance(open_blob_store("memory://juniper-test"), FsspecBlobStore)


@pytest.mark.parametrize("key", ["", "../x", "a/../../x", "/abs", "a//b", ".tmp-1", "a/.hidden", "a\\b"])
def test_keys_cannot_leave_the_root(key: str) -> None:
    with pytest.raises(ValueError, match="bad blob key"):
        check_key(key)


def test_put_read_size_list_delete(blobs: BlobStore) -> None:
    blobs.put("sources/a.arrow", b"alpha")
    blobs.put("sources/b.arrow", b"bravo!")
    blobs.put("artifacts/c.npz", b"c")
    assert blobs.read("sources/a.arrow") == b"alpha" and blobs.size("sources/b.arrow") == 6
    assert blobs.exists("artifacts/c.npz") and not blobs.exists("sources/zz")
    assert sorted((b.key, b.size) for b in blobs.list("sources/")) == [
        ("sources/a.arrow", 5),
        ("sources/b.arrow", 6),
    ]
    assert len(blobs.list()) == 3
    assert blobs.delete("sources/a.arrow") and not blobs.delete("sources/a.arrow")
    with pytest.raises(FileNotFoundError):
        blobs.read("sources/a.arrow")
    assert blobs.size("sources/a.arrow") is None


def test_failed_write_publishes_nothing_and_keeps_the_old_blob(blobs: BlobStore) -> None:
    blobs.put("k", b"old")
    with pytest.raises(RuntimeError), blobs.writer("k") as f:
        f.write(b"half of the new")
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError), blobs.writer("fresh") as f:
        f.write(b"partial")
        raise RuntimeError("boom")
    assert blobs.read("k") == b"old" and not blobs.exists("fresh")
    assert [b.key for b in blobs.list()] == ["k"]


def test_reader_never_sees_a_half_written_blob(blobs: BlobStore) -> None:
    blobs.put("k", b"old")
    with blobs.writer("k") as f:
        f.write(b"new bytes, first half ")
        assert blobs.read("k") == b"old"  # mid-write: still the whole old blob
        f.write(b"and second half")
    assert blobs.read("k") == b"new bytes, first half and second half"


def test_cache_on_blobs_evicts_oldest_and_serves_whole_entries(blobs: BlobStore) -> None:
    import time

    cache = ArtifactCache(blobs, 250, prefix="artifacts/")
    for key in ("a", "b"):
        with cache.writer(key) as f:
            f.write(key.encode() * 100)
        time.sleep(1.1)  # object stores keep modification times in whole seconds
    if isinstance(blobs, LocalBlobStore):
        assert cache.open("a") is not None  # a hit marks a as used after b
        with cache.writer("c") as f:
            f.write(b"c" * 100)
        gone = "b"
    else:  # no touch on an object store: the oldest written goes first
        with cache.writer("c") as f:
            f.write(b"c" * 100)
        gone = "a"
    assert cache.open(gone) is None
    kept = {"a", "b", "c"} - {gone}
    for key in kept:
        opened = cache.open(key)
        assert opened is not None and opened[1] == 100
        with opened[0] as f:
            assert f.read() == key.encode() * 100
    cache.remove(*kept)
    assert blobs.list("artifacts/") == [] and cache.total_bytes() == 0


def test_two_caches_on_one_shared_directory_see_each_others_entries(tmp_path: Path) -> None:
    first = ArtifactCache(LocalBlobStore(tmp_path), 1 << 20, prefix="artifacts/")
    second = ArtifactCache(LocalBlobStore(tmp_path), 1 << 20, prefix="artifacts/")
    with first.writer("x.npz") as f:
        f.write(b"written by the first replica")
    opened = second.open("x.npz")
    assert opened is not None
    with opened[0] as f:
        assert f.read() == b"written by the first replica"
    second.remove("x.npz")
    assert first.open("x.npz") is None


def test_concurrent_writers_of_one_key_leave_one_whole_blob(blobs: BlobStore) -> None:
    payloads = [bytes([i]) * 200_000 for i in range(6)]
    barrier = threading.Barrier(len(payloads))

    def write(data: bytes) -> None:
        barrier.wait()
        blobs.put("same", data)

    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert blobs.read("same") in payloads and [b.key for b in blobs.list()] == ["same"]


def test_service_keeps_artifacts_on_s3(start_server: Callable[..., Any], s3_endpoint: str) -> None:
    bucket = new_bucket(s3_endpoint)
    server = start_server(blob_url=f"s3://{bucket}/jd")
    params = {"n_spirals": 2, "n_points_per_spiral": 300, "seed": 5}
    r = httpx.post(f"{server.url}/v1/datasets", json={"generator": "spiral", "params": params}, timeout=60)
    assert r.status_code == 201, r.text
    dataset_id = r.json()["dataset_id"]
    blobs = open_blob_store(f"s3://{bucket}/jd")
    assert [b.key for b in blobs.list("artifacts/")] == [f"artifacts/{dataset_id}.npz"]
    body = httpx.get(f"{server.url}/v1/datasets/{dataset_id}/artifact", timeout=60)
    assert body.status_code == 200 and body.content == blobs.read(f"artifacts/{dataset_id}.npz")
    with np.load(io.BytesIO(body.content), allow_pickle=False) as npz:
        assert npz["X_full"].shape == (600, 2)
    ready = httpx.get(f"{server.url}/v1/health/ready", timeout=60).json()
    assert ready["dependencies"]["artifact_cache"]["message"] == f"s3://{bucket}/jd/artifacts/"
    assert httpx.delete(f"{server.url}/v1/datasets/{dataset_id}").status_code == 204
    assert blobs.list("artifacts/") == []


def test_ready_is_503_naming_the_blob_store_when_it_is_gone(
    start_server: Callable[..., Any], tmp_path: Path
) -> None:
    import shutil

    shared = tmp_path / "shared"
    server = start_server(blob_url=str(shared))
    assert httpx.get(f"{server.url}/v1/health/ready", timeout=60).status_code == 200
    shutil.rmtree(shared)  # the shared volume unmounted, say
    r = httpx.get(f"{server.url}/v1/health/ready", timeout=60)
    body = r.json()
    assert r.status_code == 503 and body["status"] == "degraded"
    assert body["dependencies"]["storage"]["status"] == "healthy"
    cache = body["dependencies"]["artifact_cache"]
    assert cache["status"] == "unhealthy" and cache["message"] == f"blob store: {shared} is not a directory"
