"""API keys, rate limits, body limits, headers on every response, no 500 for hostile input."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

API_KEY = "test-key-0123456789"
SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "referrer-policy", "content-security-policy")


@pytest.fixture(scope="module")
def auth_url(start_server: Callable[..., Any]) -> str:
    return str(start_server(api_keys=[API_KEY, "second-key-abcdefgh"]).url)


@pytest.fixture(scope="module")
def limited_url(start_server: Callable[..., Any]) -> str:
    return str(start_server(rate_limit_enabled=True, rate_limit_requests_per_minute=5).url)


def test_auth_missing_key_is_401(auth_url: str) -> None:
    r = httpx.get(f"{auth_url}/v1/generators")
    assert r.status_code == 401 and "X-API-Key" in r.json()["detail"]


def test_auth_wrong_key_is_401(auth_url: str) -> None:
    assert httpx.get(f"{auth_url}/v1/generators", headers={"X-API-Key": "wrong"}).status_code == 401


def test_auth_any_configured_key_works(auth_url: str) -> None:
    for key in (API_KEY, "second-key-abcdefgh"):
        assert httpx.get(f"{auth_url}/v1/generators", headers={"X-API-Key": key}).status_code == 200


def test_auth_exempts_health_and_metrics(auth_url: str) -> None:
    assert httpx.get(f"{auth_url}/v1/health").status_code == 200
    assert httpx.get(f"{auth_url}/v1/health/ready").status_code == 200
    assert httpx.get(f"{auth_url}/metrics").status_code == 200


def test_auth_off_by_default(client: httpx.Client) -> None:
    assert client.get("/v1/generators").status_code == 200


def test_rate_limit_429_with_retry_after(limited_url: str) -> None:
    statuses = [httpx.get(f"{limited_url}/v1/generators") for _ in range(6)]
    assert [r.status_code for r in statuses[:5]] == [200] * 5
    assert statuses[0].headers["x-ratelimit-limit"] == "5"
    assert statuses[4].headers["x-ratelimit-remaining"] == "0"
    last = statuses[5]
    assert last.status_code == 429 and int(last.headers["retry-after"]) >= 1
    assert "x-request-id" in last.headers and "x-ratelimit-reset" in last.headers


def test_rate_limit_exempts_health(limited_url: str) -> None:
    assert all(httpx.get(f"{limited_url}/v1/health").status_code == 200 for _ in range(8))


def test_body_over_limit_is_413(client: httpx.Client) -> None:
    body = b'{"generator": "xor", "params": {"pad": "' + b"x" * (2 << 20) + b'"}}'
    r = client.post("/v1/datasets", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "x-request-id" in r.headers


def test_body_limit_counts_bytes_read_not_content_length(base_url: str) -> None:
    def chunks() -> Any:
        yield b'{"generator": "xor", "params": {"pad": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}}'

    # A streamed (chunked) body announces no Content-Length at all.
    r = httpx.post(f"{base_url}/v1/datasets", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/datasets/nope", None),
        ("PUT", "/v1/datasets/nope", None),
        ("GET", "/no/such/route", None),
        ("POST", "/v1/datasets", {"generator": "nope"}),
        ("POST", "/v1/datasets", {"generator": 5}),
        ("GET", "/v1/health", None),
    ],
)
def test_every_response_has_request_id_and_security_headers(
    client: httpx.Client, method: str, path: str, body: Any
) -> None:
    r = client.request(method, path, json=body)
    assert r.headers["x-request-id"]
    for name in SECURITY_HEADERS:
        assert name in r.headers, name
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in r.headers["content-security-policy"]


def test_request_id_is_echoed(client: httpx.Client) -> None:
    assert client.get("/v1/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"


def test_insane_request_id_is_replaced(client: httpx.Client) -> None:
    rid = client.get("/v1/health", headers={"X-Request-ID": "a b<script>"}).headers["x-request-id"]
    assert rid != "a b<script>" and len(rid) == 32


def test_auth_401_carries_headers(auth_url: str) -> None:
    r = httpx.get(f"{auth_url}/v1/datasets")
    assert r.status_code == 401 and "x-request-id" in r.headers and "content-security-policy" in r.headers


HOSTILE: list[bytes] = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"generator": "xor", "params": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}",
    json.dumps({"generator": "xor", "params": {"x": list(range(200_000))}}).encode(),
    b'{"generator": "xor", "params": {"noise": NaN}}',
    b'{"generator": "xor", "params": {"noise": Infinity, "seed": 1}}',
    b'{"generator": "xor", "params": {"seed": -1}}',
    b'{"generator": "xor", "params": {"seed": 1e400}}',
    b'{"generator": "xor", "params": {"n_points_per_quadrant": 99999999999999999999999999}}',
    b'{"generator": "spiral", "params": {"origin": [NaN, 0]}}',
    b'{"generator": "\\ud800", "params": {}}',
    b'{"generator": "xor", "params": {}, "tags": ["\\udfff"]}',
    b'{"generator": "xor", "params": {}, "name": "\\ud800x"}',
    b'{"generator": "xor", "params": {"\\ud800": 1}}',
    b"\xff\xfe\x00garbage",
    b'{"generator": "xor", "params": [1, 2]}',
    b'{"generator": "xor", "params": {}, "ttl_seconds": -5}',
    b'{"generator": "xor", "params": {}, "tags": "not-a-list"}',
    b"null",
    b'"just a string"',
    b"",
]


@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_bodies_are_4xx_never_500(client: httpx.Client, body: bytes) -> None:
    r = client.post("/v1/datasets", content=body, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    assert "x-request-id" in r.headers
    r.json()  # always JSON


def test_hostile_query_strings_are_4xx(client: httpx.Client, spiral_id: str) -> None:
    for params in ({"offset": -1}, {"limit": "x"}, {"split": "nope"}, {"format": "csv"}, {"offset": 10**30}):
        r = client.get(f"/v1/datasets/{spiral_id}/artifact", params=params)
        assert 400 <= r.status_code < 500, params


def test_cors_preflight_allows_configured_origin(start_server: Callable[..., Any]) -> None:
    url = start_server(cors_origins=["http://ui.example"]).url
    r = httpx.options(
        f"{url}/v1/datasets",
        headers={"Origin": "http://ui.example", "Access-Control-Request-Method": "POST"},
    )
    assert r.headers["access-control-allow-origin"] == "http://ui.example"
