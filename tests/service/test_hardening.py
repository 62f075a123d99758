"""Regression tests for the faults fuzzing and load found (one section per fault), against
real servers over HTTP."""

from __future__ import annotations

import asyncio
import gc
import http.client
import io
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest

import juniper_data_core as jd
from juniper_data_core.formats import npz_nbytes
from juniper_data_core.generators.base import MAX_MAGNITUDE
from juniper_data_service import security

API_KEY = "hardening-key-0123456789"

# ---- 1. an offset past SQLite's integers --------------------------------------------


def test_list_offset_past_int64_is_422_not_500(client: httpx.Client) -> None:
    r = client.get("/v1/datasets", params={"offset": 2**63})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "offset"]
    assert client.get("/v1/datasets", params={"offset": 2**62}).json() == []


# ---- 2. params whose values overflow float32 ------------------------------------------

# Every float parameter of every generator, at its bound, with the others at theirs.
EXTREMES = {
    "spiral": {"radius": 100.0, "noise": 2.0, "origin": [-MAX_MAGNITUDE, MAX_MAGNITUDE]},
    "xor": {"x_range": MAX_MAGNITUDE, "y_range": MAX_MAGNITUDE, "margin": 0.0, "noise": MAX_MAGNITUDE},
    "gaussian": {
        "class_std": [MAX_MAGNITUDE, 1.0],
        "centers": [[MAX_MAGNITUDE, -MAX_MAGNITUDE], [-MAX_MAGNITUDE, MAX_MAGNITUDE]],
        "noise": MAX_MAGNITUDE,
    },
    "circles": {"outer_radius": MAX_MAGNITUDE, "noise": MAX_MAGNITUDE},
    "checkerboard": {
        "x_range": [-MAX_MAGNITUDE, MAX_MAGNITUDE],
        "y_range": [-MAX_MAGNITUDE, MAX_MAGNITUDE],
        "noise": MAX_MAGNITUDE,
    },
    "moon": {"noise": MAX_MAGNITUDE},
}


@pytest.mark.parametrize("generator", sorted(EXTREMES))
def test_params_at_their_bounds_give_finite_values_everywhere(generator: str, client: httpx.Client) -> None:
    created = client.post(
        "/v1/datasets", json={"generator": generator, "params": {**EXTREMES[generator], "seed": 3}}
    )
    assert created.status_code == 201, created.text
    dataset_id = created.json()["dataset_id"]
    with np.load(io.BytesIO(client.get(f"/v1/datasets/{dataset_id}/artifact").content)) as npz:
        assert all(np.isfinite(npz[name]).all() for name in npz.files)
    assert client.get(f"/v1/datasets/{dataset_id}/preview").status_code == 200


@pytest.mark.parametrize(
    ("generator", "params", "field"),
    [
        ("moon", {"noise": 1e308}, "noise"),
        ("xor", {"x_range": 1e20}, "x_range"),
        ("circles", {"outer_radius": 1e16}, "outer_radius"),
        ("checkerboard", {"x_range": [0.0, 1e300]}, "x_range"),
        ("gaussian", {"class_std": [1.0, 1e39]}, "class_std"),
        ("gaussian", {"centers": [[0.0, 0.0], [0.0, 10**40]]}, "centers"),
        ("spiral", {"origin": [2e15, 0.0]}, "origin"),
    ],
)
def test_params_that_would_overflow_are_400_naming_the_field_and_bound(
    generator: str, params: dict[str, Any], field: str, client: httpx.Client
) -> None:
    r = client.post("/v1/datasets", json={"generator": generator, "params": {**params, "seed": 1}})
    assert r.status_code == 400, r.text
    assert field in r.json()["detail"] and "1e+15" in r.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"n_points_per_spiral": True}, "n_points_per_spiral"),
        ({"n_points_per_spiral": "100"}, "n_points_per_spiral"),
        ({"noise": "0.1"}, "noise"),
        ({"origin": [False, 0.0]}, "origin"),
        ({"clockwise": 0}, "clockwise"),
        ({"seed": "7"}, "seed"),
    ],
)
def test_a_boolean_or_a_string_is_not_a_number(
    params: dict[str, Any], field: str, client: httpx.Client
) -> None:
    r = client.post("/v1/datasets", json={"generator": "spiral", "params": params})
    assert r.status_code == 400 and field in r.json()["detail"], r.text


def test_integral_floats_and_ints_for_floats_still_work(client: httpx.Client) -> None:
    # Strictness refuses booleans and strings only: JSON numbers keep their meaning (and IDs).
    a = client.post(
        "/v1/datasets", json={"generator": "spiral", "params": {"n_points_per_spiral": 50, "noise": 0}}
    )
    b = client.post(
        "/v1/datasets", json={"generator": "spiral", "params": {"n_points_per_spiral": 50, "noise": 0.0}}
    )
    assert a.status_code == b.status_code == 201 and a.json()["dataset_id"] == b.json()["dataset_id"]


@pytest.mark.parametrize(
    "body", [{"persist": 0}, {"persist": "true"}, {"ttl_seconds": "60"}, {"ttl_seconds": True}]
)
def test_request_fields_are_strictly_typed(body: dict[str, Any], client: httpx.Client) -> None:
    r = client.post("/v1/datasets", json={"generator": "xor", "params": {"seed": 1}, **body})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == next(iter(body))


# ---- 3, 4. rate limits that hold ------------------------------------------------------


def test_rate_limit_without_auth_ignores_the_api_key_header(start_server: Callable[..., Any]) -> None:
    url = start_server(rate_limit_enabled=True, rate_limit_requests_per_minute=5).url
    statuses = [
        httpx.get(f"{url}/v1/generators", headers={"X-API-Key": f"k{i}"}).status_code for i in range(12)
    ]
    assert statuses == [200] * 5 + [429] * 7


def test_rate_limit_with_auth_buckets_by_key(start_server: Callable[..., Any]) -> None:
    url = start_server(api_keys=[API_KEY, "other-key-0123456789"], rate_limit_enabled=True,
                       rate_limit_requests_per_minute=3).url  # fmt: skip
    first = [httpx.get(f"{url}/v1/generators", headers={"X-API-Key": API_KEY}).status_code for _ in range(4)]
    other = httpx.get(f"{url}/v1/generators", headers={"X-API-Key": "other-key-0123456789"})
    assert first == [200, 200, 200, 429] and other.status_code == 200


def test_failed_key_attempts_are_limited_per_address(start_server: Callable[..., Any]) -> None:
    url = start_server(api_keys=[API_KEY], auth_failures_per_minute=5, trusted_proxies=["127.0.0.1"]).url
    guesses = [
        httpx.get(
            f"{url}/v1/generators", headers={"X-API-Key": f"guess-{i}", "X-Forwarded-For": "203.0.113.9"}
        )
        for i in range(8)
    ]
    assert [r.status_code for r in guesses] == [401] * 5 + [429] * 3
    assert int(guesses[-1].headers["retry-after"]) >= 1 and "failed API key" in guesses[-1].json()["detail"]
    # Blocked means blocked: the right key from that address is refused too (no oracle) ...
    right = httpx.get(
        f"{url}/v1/generators", headers={"X-API-Key": API_KEY, "X-Forwarded-For": "203.0.113.9"}
    )
    assert right.status_code == 429
    # ... and another client is not.
    other = httpx.get(
        f"{url}/v1/generators", headers={"X-API-Key": API_KEY, "X-Forwarded-For": "203.0.113.10"}
    )
    assert other.status_code == 200


def test_forwarded_for_counts_only_behind_a_trusted_proxy(start_server: Callable[..., Any]) -> None:
    url = start_server(api_keys=[API_KEY], auth_failures_per_minute=2).url
    statuses = [
        httpx.get(
            f"{url}/v1/generators", headers={"X-API-Key": "bad", "X-Forwarded-For": f"198.51.100.{i}"}
        ).status_code
        for i in range(4)
    ]
    assert statuses == [401, 401, 429, 429]  # one address (the peer), whatever the header claims


def test_rate_limiter_memory_is_bounded_over_100000_clients() -> None:
    limiter = security.RateLimiter(5, max_clients=100_000)
    used = []
    tracemalloc.start()
    try:
        for batch in range(4):  # 400,000 distinct clients, 100,000 at a time
            for i in range(100_000):
                limiter.hit(f"ip:{10 + batch}.{i >> 16}.{(i >> 8) & 255}.{i & 255}", float(batch))
            gc.collect()
            used.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert len(limiter) == 100_000
    # Full from the first batch on: later ones replace clients, they add no memory.
    assert max(used[2:]) <= used[1] * 1.1 and used[1] < 2 * used[0] < 100 << 20, used
    # The most recent clients are still counted; the oldest were forgotten.
    assert limiter.hit("ip:13.1.134.159", 4.0)[1] == 3 and limiter.hit("ip:10.0.0.0", 4.0)[1] == 4


# ---- 5. limits by bytes ----------------------------------------------------------------

WIDE = {"n_classes": 2, "n_samples_per_class": 100_000, "n_features": 1024, "seed": 1}


def test_dataset_over_the_byte_budget_is_422_before_any_work(start_server: Callable[..., Any]) -> None:
    server = start_server(max_bytes=100 << 20)
    r = httpx.post(f"{server.url}/v1/datasets", json={"generator": "gaussian", "params": WIDE})
    assert r.status_code == 422
    detail = r.json()["detail"]
    size = npz_nbytes(jd.recipe("gaussian", WIDE))
    assert str(size) in detail and str(100 << 20) in detail and "JUNIPER_DATA_MAX_BYTES" in detail
    assert not list((server.settings.storage_path / "artifacts").glob("*.npz"))
    assert _rows_generated(server.url, "gaussian") == 0  # refused before any work


def test_artifact_range_over_the_byte_budget_is_422(start_server: Callable[..., Any]) -> None:
    server = start_server(max_bytes=2 << 20)
    params = {"n_points_per_quadrant": 20_000, "seed": 2}  # 80,000 rows: 2.6 MB of NPZ
    assert (
        httpx.post(f"{server.url}/v1/datasets", json={"generator": "xor", "params": params}).status_code
        == 422
    )
    small = {"n_points_per_quadrant": 10_000, "seed": 2}  # 1.3 MB: created
    created = httpx.post(f"{server.url}/v1/datasets", json={"generator": "xor", "params": small})
    assert created.status_code == 201
    arrow = httpx.get(f"{server.url}/v1/datasets/{created.json()['dataset_id']}/artifact?format=arrow")
    assert arrow.status_code == 200


def test_wide_dataset_is_not_generated_eagerly(start_server: Callable[..., Any]) -> None:
    server = start_server()
    params = {"n_classes": 2, "n_samples_per_class": 5_000, "n_features": 1024, "seed": 4}  # 82 MB of NPZ
    r = httpx.post(f"{server.url}/v1/datasets", json={"generator": "gaussian", "params": params}, timeout=60)
    assert r.status_code == 201 and r.json()["meta"]["checksum"] is None
    assert r.json()["meta"]["class_distribution"] == {"0": 5000, "1": 5000}
    assert not list((server.settings.storage_path / "artifacts").iterdir())


# ---- 6. one generation per artifact --------------------------------------------------


def _rows_generated(url: str, generator: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith(f'juniper_data_rows_generated_total{{generator="{generator}"}}'):
            return float(line.split()[-1])
    return 0.0


def test_simultaneous_first_downloads_generate_once(start_server: Callable[..., Any]) -> None:
    server = start_server(backend="numpy")
    # Past the eager size, so the first download generates it: 3e6 rows, 96 MB of NPZ.
    params = {"n_samples": 1_500_000, "seed": 8}
    created = httpx.post(
        f"{server.url}/v1/datasets", json={"generator": "moon", "params": params}, timeout=60
    )
    dataset_id = created.json()["dataset_id"]
    before = _rows_generated(server.url, "moon")

    async def download(client: httpx.AsyncClient) -> bytes:
        r = await client.get(f"/v1/datasets/{dataset_id}/artifact")
        assert r.status_code == 200
        return r.content

    async def eight() -> list[bytes]:
        async with httpx.AsyncClient(base_url=server.url, timeout=300) as client:
            return await asyncio.gather(*(download(client) for _ in range(8)))

    bodies = asyncio.run(eight())
    assert len({len(b) for b in bodies}) == 1 and all(b == bodies[0] for b in bodies)
    # One generation: the full rows plus train and test once, not eight times.
    assert _rows_generated(server.url, "moon") - before == 3_000_000
    cached = sorted(p.name for p in (server.settings.storage_path / "artifacts").iterdir())
    assert cached == [f"{dataset_id}.npz"]


# ---- 7. an honest OpenAPI and HTTP's methods ------------------------------------------


def test_openapi_declares_error_statuses_and_the_generator_names(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    create = doc["paths"]["/v1/datasets"]["post"]
    assert {"400", "413", "422", "429"} <= set(create["responses"])
    body_schema = doc["components"]["schemas"]["CreateDatasetRequest"]["properties"]["generator"]
    assert set(body_schema["enum"]) == set(jd.generator_catalog())
    artifact = doc["paths"]["/v1/datasets/{dataset_id}/artifact"]["get"]
    assert {"304", "400", "404", "422", "429"} <= set(artifact["responses"])
    assert "$ref" in str(artifact["responses"]["404"]["content"])


def test_head_is_the_get_without_a_body(client: httpx.Client, spiral_id: str) -> None:
    for path in ("/v1/datasets/{}", "/v1/datasets/{}/artifact", "/v1/datasets/{}/artifact?format=arrow"):
        url = path.format(spiral_id)
        get, head = client.get(url), client.head(url)
        assert head.status_code == get.status_code == 200 and head.content == b""
        assert head.headers["etag"] == get.headers["etag"]
        assert head.headers["content-type"] == get.headers["content-type"]
    assert client.head("/v1/datasets/no-such-dataset").status_code == 404


def test_options_lists_every_method_of_the_path(client: httpx.Client, spiral_id: str) -> None:
    r = client.options("/v1/datasets")
    assert r.status_code == 204 and set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}
    r = client.options(f"/v1/datasets/{spiral_id}")
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "DELETE", "OPTIONS"}


def test_405_allow_lists_every_method_of_the_path(client: httpx.Client) -> None:
    r = client.put("/v1/datasets")
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_a_json_body_that_is_not_utf8_is_422(client: httpx.Client, encoding: str) -> None:
    body = '{"generator": "xor", "params": {"seed": 1}}'.encode(encoding)
    r = client.post("/v1/datasets", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "UTF-8" in r.json()["detail"][0]["msg"]


# ---- 8. keep-alive ---------------------------------------------------------------------


def _idle_connection_open_after(port: int, seconds: float) -> bool:
    """True when a kept-alive connection, idle for ``seconds``, still serves a request."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/v1/health/live")
        assert conn.getresponse().read() and conn.sock is not None
        first = conn.sock
        time.sleep(seconds)
        conn.request("GET", "/v1/health/live")
        response = conn.getresponse()
        response.read()
        return response.status == 200 and conn.sock is first  # the same connection, not a new one
    except (http.client.HTTPException, ConnectionError):
        return False
    finally:
        conn.close()


def test_keep_alive_is_a_setting(served: Callable[..., Any]) -> None:
    short = served(JUNIPER_DATA_KEEP_ALIVE_SECONDS="1")
    assert not _idle_connection_open_after(short, 3.0)
    default = served()
    assert _idle_connection_open_after(default, 6.0)  # uvicorn's own default (5 s) would close it
