"""Creating datasets and reading, listing, filtering, tagging and deleting them."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np

import juniper_data_core as jd

Create = Callable[..., httpx.Response]
Params = Callable[..., dict[str, Any]]

META_FIELDS = [
    "dataset_id", "generator", "generator_version", "params", "n_samples", "n_features", "n_classes",
    "n_train", "n_test", "class_distribution", "artifact_formats", "created_at", "checksum", "tags",
    "ttl_seconds", "expires_at", "last_accessed_at", "access_count", "backend", "dataset_name",
    "dataset_version", "description", "created_by", "parent_dataset_id",
]  # fmt: skip


def test_create_returns_201_with_compat_meta(create: Create, cascor_params: dict[str, Any]) -> None:
    r = create("spiral", cascor_params)
    assert r.status_code == 201
    body = r.json()
    assert list(body) == ["dataset_id", "generator", "meta", "artifact_url", "warnings"]
    assert list(body["meta"]) == META_FIELDS
    meta = body["meta"]
    assert meta["params"]["n_points_per_spiral"] == 1000 and meta["params"]["noise"] == 0.25
    assert meta["n_samples"] == meta["n_train"] + meta["n_test"] == 2000
    assert meta["class_distribution"] == {"0": 1000, "1": 1000}
    assert meta["created_at"].endswith("Z")
    assert body["artifact_url"] == f"/v1/datasets/{body['dataset_id']}/artifact"


def test_create_same_request_same_id(create: Create, cascor_params: dict[str, Any]) -> None:
    assert (
        create("spiral", cascor_params).json()["dataset_id"]
        == create("spiral", cascor_params).json()["dataset_id"]
    )


def test_create_unknown_params_become_warnings(create: Create, unique: Params) -> None:
    body = create("xor", unique(bogus=1)).json()
    assert any("bogus" in w for w in body["warnings"])


def test_create_train_ratio_alone_implies_test_ratio(create: Create, unique: Params) -> None:
    params = create("xor", unique(train_ratio=0.7)).json()["meta"]["params"]
    assert params["test_ratio"] == 0.3


def test_create_seedless_records_a_fresh_seed(create: Create) -> None:
    a = create("xor", {"n_points_per_quadrant": 5}).json()
    b = create("xor", {"n_points_per_quadrant": 5}).json()
    assert isinstance(a["meta"]["params"]["seed"], int)
    assert a["dataset_id"] != b["dataset_id"]


def test_create_version_1_0_0(create: Create, unique: Params) -> None:
    body = create("xor", unique(), version="1.0.0").json()
    assert body["meta"]["generator_version"] == "1.0.0" and "-1.0.0-" in body["dataset_id"]


def test_create_version_1_0_0_on_numba_is_400(create: Create, unique: Params) -> None:
    r = create("xor", unique(), version="1.0.0", backend="numba")
    assert r.status_code == 400 and "numpy" in r.json()["detail"]


def test_create_unknown_generator_is_400(create: Create) -> None:
    r = create("nope", {})
    assert r.status_code == 400 and "nope" in r.json()["detail"]


def test_create_bad_params_is_400_naming_the_field(create: Create) -> None:
    r = create("spiral", {"n_spirals": 99})
    assert r.status_code == 400 and "n_spirals" in r.json()["detail"]


def test_create_over_row_budget_is_422_naming_the_setting(create: Create) -> None:
    r = create("spiral", {"n_spirals": 2, "n_points_per_spiral": 10**9, "seed": 1})
    assert r.status_code == 422
    assert "JUNIPER_DATA_MAX_ROWS" in r.json()["detail"] and "100000000" in r.json()["detail"]


def test_create_wrong_types_is_422(create: Create) -> None:
    r = create("spiral", {}, ttl_seconds="soon")
    assert r.status_code == 422 and isinstance(r.json()["detail"], list)


def test_create_malformed_json_is_422(client: httpx.Client) -> None:
    r = client.post("/v1/datasets", content=b'{"generator": ', headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_create_hit_adds_tags(create: Create, unique: Params) -> None:
    params = unique()
    create("xor", params, tags=["a"])
    assert create("xor", params, tags=["b"]).json()["meta"]["tags"] == ["a", "b"]


def test_create_hit_extends_ttl(create: Create, unique: Params) -> None:
    params = unique()
    first = create("xor", params, ttl_seconds=60).json()["meta"]["expires_at"]
    assert create("xor", params, ttl_seconds=3600).json()["meta"]["expires_at"] > first


def test_named_datasets_count_versions(client: httpx.Client, create: Create, unique: Params) -> None:
    name = f"named-{time.time_ns()}"
    v1 = create("xor", unique(), name=name).json()["meta"]["dataset_version"]
    v2 = create("xor", unique(), name=name).json()["meta"]["dataset_version"]
    assert (v1, v2) == (1, 2)
    versions = client.get("/v1/datasets/versions", params={"name": name}).json()
    assert versions["total"] == 2 and versions["latest_version"] == 2
    assert [m["dataset_version"] for m in versions["versions"]] == [1, 2]
    assert client.get("/v1/datasets/latest", params={"name": name}).json()["dataset_version"] == 2


def test_latest_of_unknown_name_is_404(client: httpx.Client) -> None:
    assert client.get("/v1/datasets/latest", params={"name": "never-made"}).status_code == 404


def test_get_meta_is_flat_with_dataset_id(client: httpx.Client, spiral_id: str) -> None:
    meta = client.get(f"/v1/datasets/{spiral_id}").json()
    assert meta["dataset_id"] == spiral_id and list(meta) == META_FIELDS


def test_get_meta_etag_and_304(client: httpx.Client, spiral_id: str) -> None:
    etag = client.get(f"/v1/datasets/{spiral_id}").headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    r = client.get(f"/v1/datasets/{spiral_id}", headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.headers["etag"] == etag and r.content == b""


def test_get_unknown_dataset_is_404(client: httpx.Client) -> None:
    assert client.get("/v1/datasets/spiral-2.0.0-0000000000000000").status_code == 404


def test_expired_dataset_is_404(client: httpx.Client, create: Create, unique: Params) -> None:
    dataset_id = create("xor", unique(), ttl_seconds=1).json()["dataset_id"]
    assert client.get(f"/v1/datasets/{dataset_id}").status_code == 200
    time.sleep(1.2)
    assert client.get(f"/v1/datasets/{dataset_id}").status_code == 404
    assert client.get(f"/v1/datasets/{dataset_id}/artifact").status_code == 404
    assert dataset_id not in client.get("/v1/datasets", params={"limit": 10_000}).json()


def test_cleanup_expired_deletes_them(client: httpx.Client, create: Create, unique: Params) -> None:
    dataset_id = create("xor", unique(), ttl_seconds=1).json()["dataset_id"]
    time.sleep(1.2)
    assert dataset_id in client.post("/v1/datasets/cleanup-expired").json()


def test_list_ids(client: httpx.Client, spiral_id: str) -> None:
    ids = client.get("/v1/datasets", params={"limit": 10_000}).json()
    assert spiral_id in ids and all(isinstance(i, str) for i in ids)


def test_list_limit(client: httpx.Client, spiral_id: str, create: Create, unique: Params) -> None:
    create("xor", unique())
    assert len(client.get("/v1/datasets", params={"limit": 1}).json()) == 1


def test_filter_by_generator_and_tags(client: httpx.Client, create: Create, unique: Params) -> None:
    tag = f"t{time.time_ns()}"
    a = create("xor", unique(), tags=[tag, "x"]).json()["dataset_id"]
    b = create("xor", unique(), tags=[tag]).json()["dataset_id"]
    found = client.get("/v1/datasets/filter", params={"generator": "xor", "tags": f"{tag},x"}).json()
    assert {m["dataset_id"] for m in found["datasets"]} == {a, b} and found["total"] == 2
    both = client.get("/v1/datasets/filter", params={"tags": f"{tag},x", "tags_match": "all"}).json()
    assert [m["dataset_id"] for m in both["datasets"]] == [a]


def test_filter_newest_first_and_dates(client: httpx.Client, create: Create, unique: Params) -> None:
    tag = f"d{time.time_ns()}"
    first = create("xor", unique(), tags=[tag]).json()["meta"]
    time.sleep(0.01)
    second = create("xor", unique(), tags=[tag]).json()["meta"]
    listed = client.get("/v1/datasets/filter", params={"tags": tag}).json()["datasets"]
    assert [m["dataset_id"] for m in listed] == [second["dataset_id"], first["dataset_id"]]
    after = client.get(
        "/v1/datasets/filter", params={"tags": tag, "created_after": first["created_at"].rstrip("Z")}
    ).json()
    assert [m["dataset_id"] for m in after["datasets"]] == [second["dataset_id"]]


def test_filter_by_samples(client: httpx.Client, create: Create, unique: Params) -> None:
    tag = f"s{time.time_ns()}"
    create("xor", unique(), tags=[tag])
    assert client.get("/v1/datasets/filter", params={"tags": tag, "min_samples": 81}).json()["total"] == 0
    assert client.get("/v1/datasets/filter", params={"tags": tag, "max_samples": 80}).json()["total"] == 1


def test_stats(client: httpx.Client, spiral_id: str) -> None:
    stats = client.get("/v1/datasets/stats").json()
    assert stats["total_datasets"] >= 1 and stats["by_generator"]["spiral"] >= 1
    assert stats["total_samples"] >= 2000 and stats["oldest_created_at"] <= stats["newest_created_at"]
    assert set(stats) == {
        "total_datasets", "total_samples", "by_generator", "by_tag",
        "oldest_created_at", "newest_created_at", "expired_count",
    }  # fmt: skip


def test_update_tags(client: httpx.Client, create: Create, unique: Params) -> None:
    dataset_id = create("xor", unique(), tags=["b", "c"]).json()["dataset_id"]
    r = client.patch(f"/v1/datasets/{dataset_id}/tags", json={"add_tags": ["a"], "remove_tags": ["c"]})
    assert r.json()["tags"] == ["a", "b"]


def test_update_tags_unknown_is_404(client: httpx.Client) -> None:
    assert client.patch("/v1/datasets/nope/tags", json={"add_tags": ["a"]}).status_code == 404


def test_delete(client: httpx.Client, create: Create, unique: Params) -> None:
    dataset_id = create("xor", unique()).json()["dataset_id"]
    assert client.delete(f"/v1/datasets/{dataset_id}").status_code == 204
    assert client.get(f"/v1/datasets/{dataset_id}").status_code == 404
    assert client.delete(f"/v1/datasets/{dataset_id}").status_code == 404


def test_access_counts_downloads(client: httpx.Client, create: Create, unique: Params) -> None:
    dataset_id = create("xor", unique()).json()["dataset_id"]
    assert client.get(f"/v1/datasets/{dataset_id}/access").json()["access_count"] == 0
    client.get(f"/v1/datasets/{dataset_id}/artifact")
    access = client.get(f"/v1/datasets/{dataset_id}/access").json()
    assert access["access_count"] == 1 and access["last_accessed_at"].endswith("Z")


def test_persist_false_still_serves_the_artifact(
    client: httpx.Client, create: Create, unique: Params
) -> None:
    params = unique()
    dataset_id = create("xor", params, persist=False).json()["dataset_id"]
    r = client.get(f"/v1/datasets/{dataset_id}/artifact")
    assert r.status_code == 200
    expected = jd.generate("xor", params).arrays
    with np.load(io.BytesIO(r.content), allow_pickle=False) as npz:
        for name, array in expected.items():
            np.testing.assert_array_equal(npz[name], array, err_msg=name)
