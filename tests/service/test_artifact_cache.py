"""Whole artifacts (the six-array NPZ, an Arrow split) are cached on their first download;
ranges and ``persist=false`` datasets never are; deleting a dataset removes all of its files."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

LiveServer = Any


@pytest.fixture(scope="module")
def cached_server(start_server: Callable[..., LiveServer], tmp_path_factory: pytest.TempPathFactory) -> Any:
    return start_server(storage_path=tmp_path_factory.mktemp("cache-storage"))


def _artifacts(server: LiveServer) -> Path:
    return Path(server.settings.storage_path) / "artifacts"


def _cache_hits(url: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    families = text_string_to_metric_families(text)
    return sum(s.value for f in families for s in f.samples if s.name == "juniper_data_cache_hits_total")


def _published(path: Path, timeout: float = 30) -> bool:
    """Whether ``path`` appears (the cache is written and renamed into place in the background)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _create(url: str, seed: int, points: int = 500, **body: Any) -> str:
    params = {"n_spirals": 2, "n_points_per_spiral": points, "seed": seed}
    r = httpx.post(f"{url}/v1/datasets", json={"generator": "spiral", "params": params, **body}, timeout=60)
    assert r.status_code == 201, r.text
    return str(r.json()["dataset_id"])


@pytest.mark.parametrize("split", ["full", "train", "test"])
def test_arrow_split_is_cached_after_its_first_download(cached_server: LiveServer, split: str) -> None:
    url = cached_server.url
    dataset_id = _create(url, seed=100 + len(split))
    path = f"{url}/v1/datasets/{dataset_id}/artifact"
    first = httpx.get(path, params={"format": "arrow", "split": split})
    assert "content-length" not in first.headers  # generated: chunked
    cached = _artifacts(cached_server) / f"{dataset_id}.{split}.arrows"
    assert _published(cached)
    assert cached.read_bytes() == first.content
    hits = _cache_hits(url)
    again = httpx.get(path, params={"format": "arrow", "split": split})
    assert again.content == first.content
    assert again.headers["content-length"] == str(len(first.content))
    assert again.headers["etag"] == first.headers["etag"]
    assert _cache_hits(url) - hits == 1


def test_arrow_ranges_are_never_cached(cached_server: LiveServer) -> None:
    url = cached_server.url
    dataset_id = _create(url, seed=200)
    for _ in range(2):
        r = httpx.get(f"{url}/v1/datasets/{dataset_id}/artifact", params={"format": "arrow", "limit": 10})
        assert r.status_code == 200 and "content-length" not in r.headers
    assert not list(_artifacts(cached_server).glob(f"{dataset_id}.*.arrows"))


def test_not_persisted_datasets_are_never_cached(cached_server: LiveServer) -> None:
    url = cached_server.url
    dataset_id = _create(url, seed=300, persist=False)
    for fmt in ("arrow", "npz", "arrow", "npz"):
        r = httpx.get(f"{url}/v1/datasets/{dataset_id}/artifact", params={"format": fmt})
        assert r.status_code == 200 and "content-length" not in r.headers
    assert not list(_artifacts(cached_server).glob(f"{dataset_id}.*"))


def test_delete_removes_every_cached_file(cached_server: LiveServer) -> None:
    url = cached_server.url
    dataset_id = _create(url, seed=400)  # small: its NPZ is cached on create
    for split in ("full", "test"):
        httpx.get(f"{url}/v1/datasets/{dataset_id}/artifact", params={"format": "arrow", "split": split})
        assert _published(_artifacts(cached_server) / f"{dataset_id}.{split}.arrows")
    assert len(list(_artifacts(cached_server).glob(f"{dataset_id}.*"))) == 3
    assert httpx.delete(f"{url}/v1/datasets/{dataset_id}").status_code == 204
    assert not list(_artifacts(cached_server).glob(f"{dataset_id}.*"))


def test_departed_client_publishes_nothing(cached_server: LiveServer) -> None:
    url = cached_server.url
    # Past the size generated on create, so the download generates (and tees into the cache).
    dataset_id = _create(url, seed=500, points=1_500_000, backend="numpy")
    with httpx.stream(
        "GET", f"{url}/v1/datasets/{dataset_id}/artifact", params={"format": "arrow"}, timeout=60
    ) as r:
        assert r.status_code == 200
        next(r.iter_raw())
    cache = _artifacts(cached_server)
    deadline = time.monotonic() + 30
    while list(cache.glob(".tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(cache.glob(".tmp-*"))
    assert not (cache / f"{dataset_id}.full.arrows").exists()
