"""Settings read from the environment: a real ``python -m juniper_data_service`` process
started with ``JUNIPER_DATA_*`` variables, and what it then does over HTTP.

The comma lists (API keys, CORS origins) are parsed from plain ``a, b`` strings,
``METRICS_ENABLED=false`` removes ``/metrics``, the rate limit takes its number from the
environment, and ``LOG_FORMAT=json`` writes one JSON object per request to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.service.conftest import ServerProcess

KEYS = ("first-key-0123456789", "second-key-abcdefgh")
ORIGINS = ("http://ui.example", "https://lab.example:8443")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = ServerProcess(
        tmp_path_factory.mktemp("env"),
        # Spaces and an empty item, as an operator may write them.
        JUNIPER_DATA_API_KEYS=f" {KEYS[0]} ,, {KEYS[1]}",
        JUNIPER_DATA_CORS_ORIGINS=",".join(ORIGINS),
        JUNIPER_DATA_METRICS_ENABLED="false",
        JUNIPER_DATA_RATE_LIMIT_ENABLED="true",
        JUNIPER_DATA_RATE_LIMIT_REQUESTS_PER_MINUTE="3",
    )
    yield server.url
    server.stop()


def test_every_key_of_the_list_is_accepted(url: str) -> None:
    for key in KEYS:
        assert httpx.get(f"{url}/v1/generators", headers={"X-API-Key": key}).status_code == 200
    # The list is split, not taken whole; and no key means 401.
    for wrong in (f"{KEYS[0]} ,, {KEYS[1]}", f"{KEYS[0]},{KEYS[1]}", ""):
        assert httpx.get(f"{url}/v1/generators", headers={"X-API-Key": wrong}).status_code == 401
    r = httpx.get(f"{url}/v1/generators")
    assert r.status_code == 401 and "X-API-Key" in r.json()["detail"]


def test_cors_allows_each_listed_origin_only(url: str) -> None:
    preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "X-API-Key"}
    for origin in ORIGINS:
        r = httpx.options(f"{url}/v1/generators", headers={"Origin": origin, **preflight})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == origin
        get = httpx.get(f"{url}/v1/health", headers={"Origin": origin})
        assert get.headers["access-control-allow-origin"] == origin
    r = httpx.options(f"{url}/v1/generators", headers={"Origin": "http://evil.example", **preflight})
    assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
    get = httpx.get(f"{url}/v1/health", headers={"Origin": "http://evil.example"})
    assert get.status_code == 200 and "access-control-allow-origin" not in get.headers


def test_metrics_off_removes_the_route(url: str) -> None:
    assert httpx.get(f"{url}/v1/health").status_code == 200
    assert httpx.get(f"{url}/metrics").status_code == 404


def test_rate_limit_from_the_environment(url: str) -> None:
    # Per key; another test of this module may have spent some of this key's window.
    key = {"X-API-Key": KEYS[1]}
    responses = [httpx.get(f"{url}/v1/generators", headers=key) for _ in range(4)]
    ok = [r for r in responses if r.status_code == 200]
    assert responses[len(ok)].status_code == 429 and 1 <= len(ok) <= 3
    assert all(r.headers["x-ratelimit-limit"] == "3" for r in responses)
    assert [r.headers["x-ratelimit-remaining"] for r in ok] == [str(n) for n in range(len(ok) - 1, -1, -1)]


def test_json_logs_one_object_per_request(
    tmp_path_factory: pytest.TempPathFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    # The server process inherits this process's stderr, which capfd reads; the access line is
    # written after the response is sent, so the process is stopped (and flushed) first.
    server = ServerProcess(
        tmp_path_factory.mktemp("logs"), JUNIPER_DATA_LOG_FORMAT="json", JUNIPER_DATA_LOG_LEVEL="INFO"
    )
    try:
        r = httpx.get(f"{server.url}/v1/datasets/xor-2.0.0-0000000000000000")
    finally:
        server.stop()
    assert r.status_code == 404
    rid = r.headers["x-request-id"]
    records = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    mine = [doc for doc in records if doc.get("request_id") == rid]
    assert len(mine) == 1, records
    doc = mine[0]
    assert doc["level"] == "INFO" and doc["logger"] == "juniper_data_service.access"
    assert doc["status"] == 404 and doc["method"] == "GET"
    assert doc["route"] == "/v1/datasets/{dataset_id}" and doc["path"].endswith("0000000000000000")
