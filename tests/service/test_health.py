"""Health routes and the generator catalogue."""

from __future__ import annotations

import httpx


def test_health_ok(client: httpx.Client) -> None:
    body = client.get("/v1/health").json()
    assert body["status"] == "ok" and body["version"]


def test_health_live(client: httpx.Client) -> None:
    assert client.get("/v1/health/live").json() == {"status": "alive"}


def test_health_ready_checks_the_sqlite_store(client: httpx.Client) -> None:
    body = client.get("/v1/health/ready").json()
    assert body["status"] == "ready"
    assert body["service"] == "juniper-data"
    assert body["timestamp"].endswith("Z")
    storage = body["dependencies"]["storage"]
    assert storage["status"] == "healthy"
    assert storage["latency_ms"] >= 0
    assert "Sqlite" in storage["message"]
    assert "numpy" in body["backends"]


def test_generators_list_has_compat_fields_first(client: httpx.Client) -> None:
    gens = client.get("/v1/generators").json()
    spiral = next(g for g in gens if g["name"] == "spiral")
    assert list(spiral)[:7] == [
        "name",
        "version",
        "versions",
        "description",
        "schema",
        "available",
        "install_hint",
    ]
    assert spiral["version"] == "2.0.0" and "1.0.0" in spiral["versions"]
    assert "n_points_per_spiral" in spiral["schema"]["properties"]
    assert {"spiral", "xor", "gaussian", "circles", "checkerboard", "moon"} <= {g["name"] for g in gens}


def test_generator_schema(client: httpx.Client) -> None:
    schema = client.get("/v1/generators/xor/schema").json()
    assert "n_points_per_quadrant" in schema["properties"]


def test_generator_schema_unknown_is_404(client: httpx.Client) -> None:
    r = client.get("/v1/generators/nope/schema")
    assert r.status_code == 404 and "nope" in r.json()["detail"]


def test_openapi_describes_every_route(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/health/ready",
        "/v1/generators",
        "/v1/datasets",
        "/v1/datasets/filter",
        "/v1/datasets/stats",
        "/v1/datasets/versions",
        "/v1/datasets/latest",
        "/v1/datasets/batch-create",
        "/v1/datasets/batch-delete",
        "/v1/datasets/batch-tags",
        "/v1/datasets/batch-export",
        "/v1/datasets/cleanup-expired",
        "/v1/datasets/{dataset_id}",
        "/v1/datasets/{dataset_id}/artifact",
        "/v1/datasets/{dataset_id}/preview",
        "/v1/datasets/{dataset_id}/access",
        "/v1/datasets/{dataset_id}/tags",
        "/metrics",
    ):
        assert path in paths, path
    create = paths["/v1/datasets"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert create["$ref"].endswith("CreateDatasetResponse")


def test_docs_page_is_served_with_a_relaxed_csp(client: httpx.Client) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()
    assert "cdn.jsdelivr.net" in r.headers["content-security-policy"]
