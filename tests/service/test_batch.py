"""batch-create, batch-delete, batch-tags and batch-export."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np

Create = Callable[..., httpx.Response]
Params = Callable[..., dict[str, Any]]


def test_batch_create_items_fail_independently(client: httpx.Client, unique: Params) -> None:
    body = {"datasets": [{"generator": "xor", "params": unique()}, {"generator": "nope", "params": {}}]}
    r = client.post("/v1/datasets/batch-create", json=body)
    assert r.status_code == 201
    out = r.json()
    assert out["total_created"] == 1 and out["total_failed"] == 1
    ok, bad = out["results"]
    assert ok["success"] and ok["artifact_url"].endswith("/artifact") and ok["index"] == 0
    assert not bad["success"] and "nope" in bad["error"] and bad["dataset_id"] is None


def test_batch_create_all_failed_is_200(client: httpx.Client) -> None:
    r = client.post("/v1/datasets/batch-create", json={"datasets": [{"generator": "nope"}]})
    assert r.status_code == 200 and r.json()["total_created"] == 0


def test_batch_create_empty_is_422(client: httpx.Client) -> None:
    assert client.post("/v1/datasets/batch-create", json={"datasets": []}).status_code == 422


def test_batch_delete(client: httpx.Client, create: Create, unique: Params) -> None:
    dataset_id = create("xor", unique()).json()["dataset_id"]
    out = client.post("/v1/datasets/batch-delete", json={"dataset_ids": [dataset_id, "nope"]}).json()
    assert out == {"deleted": [dataset_id], "not_found": ["nope"], "total_deleted": 1}


def test_batch_tags(client: httpx.Client, create: Create, unique: Params) -> None:
    dataset_id = create("xor", unique(), tags=["old"]).json()["dataset_id"]
    body = {"dataset_ids": [dataset_id, "nope"], "add_tags": ["new"], "remove_tags": ["old"]}
    out = client.patch("/v1/datasets/batch-tags", json=body).json()
    assert out == {"updated": [dataset_id], "not_found": ["nope"], "total_updated": 1}
    assert client.get(f"/v1/datasets/{dataset_id}").json()["tags"] == ["new"]


def test_batch_export_zip_of_npz_with_manifest(client: httpx.Client, create: Create, unique: Params) -> None:
    a = create("xor", unique()).json()["dataset_id"]
    b = create("xor", unique(), persist=False).json()["dataset_id"]
    r = client.post("/v1/datasets/batch-export", json={"dataset_ids": [a, b, "missing-one"]})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert sorted(zf.namelist()) == sorted([f"{a}.npz", f"{b}.npz", "manifest.json"])
        assert json.loads(zf.read("manifest.json"))["missing"] == {"missing-one": "not_found"}
        inner = np.load(io.BytesIO(zf.read(f"{a}.npz")), allow_pickle=False)
        assert inner["X_full"].shape == (80, 2)
    assert (
        r.content
        == client.post("/v1/datasets/batch-export", json={"dataset_ids": [a, b, "missing-one"]}).content
    )


def test_batch_export_none_found_is_404(client: httpx.Client) -> None:
    assert client.post("/v1/datasets/batch-export", json={"dataset_ids": ["nope"]}).status_code == 404
