"""HTTP semantics through a real server: conditional GETs, rate-limit windows and clients,
and the request models' caps.

- ``If-None-Match`` (RFC 9110 13.1.2) on the meta and on every artifact form (NPZ and Arrow,
  whole, a split, a row range): the current tag, bare, weak (``W/"..."``), in a list or as
  ``*``, is a 304 with the ETag and no body; a stale tag, or a list of only stale tags, is a
  200 with the whole representation (checked against ``generate()``). A tag update changes
  the meta's ETag (the old tag then gets a 200) but not the artifacts' (same bytes).
- Rate limits: the one-minute window resets (the limiter's clock is injected: no sleeps),
  and clients behind a trusted proxy are counted apart by ``X-Forwarded-For``.
- Every cap of the request models: one past the bound is a 422 whose ``loc`` names the field
  and whose message names the bound; the value at the bound is accepted.
"""

from __future__ import annotations

import io
import types
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.ipc
import pytest

import juniper_data_core as jd
from juniper_data_service import security

PARAMS = {"n_points_per_quadrant": 30, "noise": 0.1, "seed": 424_242}
STALE = '"' + "0" * 32 + '"'

# (name, query) of every representation that carries an ETag; "meta" is GET /v1/datasets/{id}.
TARGETS: list[tuple[str, dict[str, Any] | None]] = [
    ("meta", None),
    ("npz", {}),
    ("npz-train", {"split": "train"}),
    ("npz-range", {"split": "test", "offset": 3, "limit": 7}),
    ("arrow", {"format": "arrow"}),
    ("arrow-test", {"format": "arrow", "split": "test"}),
    ("arrow-range", {"format": "arrow", "split": "train", "offset": 5, "limit": 11}),
]
TARGET_IDS = [name for name, _ in TARGETS]


@pytest.fixture(scope="module")
def dataset(base_url: str) -> dict[str, Any]:
    """A small xor dataset of this module: its meta, and ``generate()``'s arrays of its recipe."""
    r = httpx.post(f"{base_url}/v1/datasets", json={"generator": "xor", "params": PARAMS}, timeout=60)
    assert r.status_code == 201, r.text
    meta = r.json()["meta"]
    ds = jd.generate(jd.recipe("xor", PARAMS), backend=meta["backend"])
    return {"id": meta["dataset_id"], "meta": meta, "arrays": ds.arrays}


def _get(client: httpx.Client, dataset_id: str, query: dict[str, Any] | None, **headers: str) -> Any:
    path = f"/v1/datasets/{dataset_id}" + ("" if query is None else "/artifact")
    return client.get(path, params=query or {}, headers=headers)


def _check_body(r: httpx.Response, query: dict[str, Any] | None, dataset: dict[str, Any]) -> None:
    """The 200's body is the whole representation the query names."""
    assert r.status_code == 200, r.text
    arrays = dataset["arrays"]
    if query is None:
        assert r.json()["dataset_id"] == dataset["id"]
        assert r.json()["params"]["seed"] == PARAMS["seed"]
        return
    split = query.get("split")
    lo = query.get("offset", 0)
    hi = lo + query["limit"] if "limit" in query else None
    if query.get("format") == "arrow":
        table = pa.ipc.open_stream(io.BytesIO(r.content)).read_all()
        X = np.asarray(table.column("X").combine_chunks().flatten()).reshape(table.num_rows, -1)
        np.testing.assert_array_equal(X, arrays[f"X_{split or 'full'}"][lo:hi])
        return
    with np.load(io.BytesIO(r.content), allow_pickle=False) as npz:
        names = sorted(arrays) if split is None else [f"X_{split}", f"y_{split}"]
        assert sorted(npz.files) == sorted(names)
        for name in names:
            np.testing.assert_array_equal(npz[name], arrays[name][lo:hi])


def _assert_304(r: httpx.Response, etag: str) -> None:
    assert r.status_code == 304, r.status_code
    assert r.headers["etag"] == etag and r.content == b""


# ---- If-None-Match -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "query"), TARGETS, ids=TARGET_IDS)
def test_if_none_match_current_tag_in_every_form_is_304(
    name: str, query: dict[str, Any] | None, client: httpx.Client, dataset: dict[str, Any]
) -> None:
    etag = _get(client, dataset["id"], query).headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) == 34
    for header in (etag, f"W/{etag}", f"{STALE}, {etag}", f'"other", W/{etag}', "*", f"{STALE},{etag}"):
        _assert_304(_get(client, dataset["id"], query, **{"If-None-Match": header}), etag)


@pytest.mark.parametrize(("name", "query"), TARGETS, ids=TARGET_IDS)
def test_if_none_match_stale_tags_get_the_whole_body(
    name: str, query: dict[str, Any] | None, client: httpx.Client, dataset: dict[str, Any]
) -> None:
    etag = _get(client, dataset["id"], query).headers["etag"]
    # One hex digit off, the tag unquoted, a weak stale tag, a list of stale tags only.
    near = etag[:-2] + ("1" if etag[-2] != "1" else "2") + '"'
    for header in (STALE, near, etag.strip('"'), f"W/{STALE}", f'"a", "b", {near}'):
        r = _get(client, dataset["id"], query, **{"If-None-Match": header})
        assert r.headers["etag"] == etag, header
        _check_body(r, query, dataset)


def test_every_representation_has_its_own_etag(client: httpx.Client, dataset: dict[str, Any]) -> None:
    tags = {name: _get(client, dataset["id"], query).headers["etag"] for name, query in TARGETS}
    assert len(set(tags.values())) == len(TARGETS), tags
    # The tag of the train split names nothing else: the test split is served whole.
    r = _get(client, dataset["id"], {"split": "test"}, **{"If-None-Match": tags["npz-train"]})
    _check_body(r, {"split": "test"}, dataset)


def test_tag_update_changes_the_meta_etag_but_not_the_artifacts(
    client: httpx.Client, create: Callable[..., httpx.Response], unique: Callable[..., dict[str, Any]]
) -> None:
    dataset_id = create("xor", unique(), tags=["before"]).json()["dataset_id"]
    old_npz = client.get(f"/v1/datasets/{dataset_id}/artifact").headers["etag"]
    old_meta = client.get(f"/v1/datasets/{dataset_id}").headers["etag"]  # after the download
    r = client.patch(f"/v1/datasets/{dataset_id}/tags", json={"add_tags": ["after"]})
    assert r.status_code == 200 and r.json()["tags"] == ["after", "before"]
    stale = client.get(f"/v1/datasets/{dataset_id}", headers={"If-None-Match": old_meta})
    assert stale.status_code == 200 and stale.json()["tags"] == ["after", "before"]
    new_meta = stale.headers["etag"]
    assert new_meta != old_meta
    _assert_304(client.get(f"/v1/datasets/{dataset_id}", headers={"If-None-Match": new_meta}), new_meta)
    # The artifact's bytes did not change, so neither did its tag.
    npz = client.get(f"/v1/datasets/{dataset_id}/artifact", headers={"If-None-Match": old_npz})
    _assert_304(npz, old_npz)


def test_meta_etag_changes_when_a_download_changes_the_access_count(
    client: httpx.Client, create: Callable[..., httpx.Response], unique: Callable[..., dict[str, Any]]
) -> None:
    dataset_id = create("xor", unique()).json()["dataset_id"]
    before = client.get(f"/v1/datasets/{dataset_id}")
    assert client.get(f"/v1/datasets/{dataset_id}/artifact").status_code == 200
    after = client.get(f"/v1/datasets/{dataset_id}", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.json()["access_count"] == before.json()["access_count"] + 1
    assert after.headers["etag"] != before.headers["etag"]


def test_if_none_match_on_an_unknown_dataset_is_404(client: httpx.Client) -> None:
    unknown = "/v1/datasets/xor-2.0.0-0000000000000000"
    for path in (unknown, f"{unknown}/artifact"):
        assert client.get(path, headers={"If-None-Match": "*"}).status_code == 404


# ---- rate limits ---------------------------------------------------------------------------


class Clock:
    """The limiter's clock (``time.monotonic`` as ``security`` sees it), moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    # The live servers run in this process, so the middleware reads this clock.
    fake = Clock()
    monkeypatch.setattr(security, "time", types.SimpleNamespace(monotonic=fake.monotonic))
    yield fake


def _hit(url: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{url}/v1/generators", headers=headers)


def test_rate_limit_window_resets_after_a_minute(start_server: Callable[..., Any], clock: Clock) -> None:
    url = start_server(rate_limit_enabled=True, rate_limit_requests_per_minute=2).url
    first = [_hit(url) for _ in range(3)]
    assert [r.status_code for r in first] == [200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in first] == ["1", "0", "0"]
    assert first[2].headers["retry-after"] == "60" and first[2].headers["x-ratelimit-reset"] == "60"
    clock.now += 30
    late = _hit(url)
    assert late.status_code == 429 and late.headers["retry-after"] == "30"
    clock.now += 29.5
    last = _hit(url)  # half a second before the window ends: still refused, retry in 1 s
    assert last.status_code == 429 and last.headers["retry-after"] == "1"
    clock.now += 0.5  # exactly one window after its first request: a fresh window
    fresh = [_hit(url) for _ in range(3)]
    assert [r.status_code for r in fresh] == [200, 200, 429]
    assert fresh[0].headers["x-ratelimit-remaining"] == "1"
    assert fresh[0].headers["x-ratelimit-reset"] == "60" and fresh[2].headers["retry-after"] == "60"
    clock.now += 75  # any time past the window, not only its exact end
    assert [_hit(url).status_code for _ in range(3)] == [200, 200, 429]


def test_failed_key_window_resets_after_a_minute(start_server: Callable[..., Any], clock: Clock) -> None:
    key = "test-key-0123456789"
    url = start_server(api_keys=[key], auth_failures_per_minute=2).url
    assert [_hit(url, **{"X-API-Key": "guess"}).status_code for _ in range(3)] == [401, 401, 429]
    clock.now += 59
    blocked = _hit(url, **{"X-API-Key": key})
    assert blocked.status_code == 429 and blocked.headers["retry-after"] == "1"
    clock.now += 1
    assert _hit(url, **{"X-API-Key": key}).status_code == 200


def test_clients_behind_a_trusted_proxy_are_counted_apart(start_server: Callable[..., Any]) -> None:
    url = start_server(
        rate_limit_enabled=True, rate_limit_requests_per_minute=2, trusted_proxies=["127.0.0.1"]
    ).url
    a = [_hit(url, **{"X-Forwarded-For": "198.51.100.1"}) for _ in range(3)]
    assert [r.status_code for r in a] == [200, 200, 429]
    b = _hit(url, **{"X-Forwarded-For": "198.51.100.2"})
    assert b.status_code == 200 and b.headers["x-ratelimit-remaining"] == "1"
    # The nearest untrusted hop is the client: a spoofed first entry does not get a new window,
    # and a chain through another trusted proxy still counts as its client.
    assert _hit(url, **{"X-Forwarded-For": "203.0.113.7, 198.51.100.1"}).status_code == 429
    assert _hit(url, **{"X-Forwarded-For": "198.51.100.1, 127.0.0.1"}).status_code == 429
    c = _hit(url, **{"X-Forwarded-For": "198.51.100.1, 198.51.100.3"})
    assert c.status_code == 200 and c.headers["x-ratelimit-remaining"] == "1"
    # Without the header the proxy itself is the client, with a window of its own.
    assert _hit(url).headers["x-ratelimit-remaining"] == "1"


def test_forwarded_for_is_ignored_without_a_trusted_proxy(start_server: Callable[..., Any]) -> None:
    url = start_server(rate_limit_enabled=True, rate_limit_requests_per_minute=2).url
    statuses = [_hit(url, **{"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(3)]
    assert statuses == [200, 200, 429]


# ---- the request models' caps --------------------------------------------------------------

TTL_MAX = 10 * 365 * 86400


def _xor(**body: Any) -> dict[str, Any]:
    return {"generator": "xor", "params": {"n_points_per_quadrant": 5, "seed": 77}, **body}


def _ids(n: int) -> list[str]:
    return [f"xor-2.0.0-{i:016x}" for i in range(n)]


def _batch(n: int) -> dict[str, Any]:
    return {"datasets": [_xor(params={"n_points_per_quadrant": 2, "seed": 900 + i}) for i in range(n)]}


class Cap(NamedTuple):
    """``body(n)`` is the request with a field of size ``n``; ``loc`` the field; ``bound`` the
    largest (or, for ``minimum``, the smallest) accepted size; ``ok`` the status at the bound."""

    method: str
    path: str
    body: Callable[[int], dict[str, Any]]
    loc: list[Any]
    bound: int
    ok: int
    minimum: bool = False


POST, DATASETS = "POST", "/v1/datasets"
CAPS = {
    "tags-count": Cap(
        POST, DATASETS, lambda n: _xor(tags=[f"t{i}" for i in range(n)]), ["body", "tags"], 100, 201
    ),
    "tag-length": Cap(POST, DATASETS, lambda n: _xor(tags=["t" * n]), ["body", "tags", 0], 128, 201),
    "tag-empty": Cap(POST, DATASETS, lambda n: _xor(tags=["t" * n]), ["body", "tags", 0], 1, 201, True),
    "name": Cap(POST, DATASETS, lambda n: _xor(name="n" * n), ["body", "name"], 200, 201),
    "name-empty": Cap(POST, DATASETS, lambda n: _xor(name="n" * n), ["body", "name"], 1, 201, True),
    "description": Cap(
        POST, DATASETS, lambda n: _xor(description="d" * n), ["body", "description"], 2000, 201
    ),
    "created_by": Cap(POST, DATASETS, lambda n: _xor(created_by="c" * n), ["body", "created_by"], 200, 201),
    "parent": Cap(
        POST, DATASETS, lambda n: _xor(parent_dataset_id="p" * n), ["body", "parent_dataset_id"], 200, 201
    ),
    # At the bound the name passes validation: the engine's 400 names the unknown generator.
    "generator": Cap(POST, DATASETS, lambda n: {"generator": "g" * n}, ["body", "generator"], 100, 400),
    "ttl": Cap(POST, DATASETS, lambda n: _xor(ttl_seconds=n), ["body", "ttl_seconds"], TTL_MAX, 201),
    "ttl-zero": Cap(POST, DATASETS, lambda n: _xor(ttl_seconds=n), ["body", "ttl_seconds"], 1, 201, True),
    "add-tags": Cap(
        "PATCH",
        "/v1/datasets/{id}/tags",
        lambda n: {"add_tags": [f"a{i}" for i in range(n)]},
        ["body", "add_tags"],
        100,
        200,
    ),
    "remove-tags": Cap(
        "PATCH",
        "/v1/datasets/{id}/tags",
        lambda n: {"remove_tags": [f"r{i}" for i in range(n)]},
        ["body", "remove_tags"],
        100,
        200,
    ),
    "batch-create": Cap(POST, "/v1/datasets/batch-create", _batch, ["body", "datasets"], 50, 201),
    "batch-create-empty": Cap(POST, "/v1/datasets/batch-create", _batch, ["body", "datasets"], 1, 201, True),
    "batch-delete": Cap(
        POST,
        "/v1/datasets/batch-delete",
        lambda n: {"dataset_ids": _ids(n)},
        ["body", "dataset_ids"],
        100,
        200,
    ),
    "batch-delete-id": Cap(
        POST,
        "/v1/datasets/batch-delete",
        lambda n: {"dataset_ids": ["x" * n]},
        ["body", "dataset_ids", 0],
        200,
        200,
    ),
    "batch-tags": Cap(
        "PATCH",
        "/v1/datasets/batch-tags",
        lambda n: {"dataset_ids": _ids(n), "add_tags": ["x"]},
        ["body", "dataset_ids"],
        100,
        200,
    ),
    # "{id}" stands for this module's dataset.
    "batch-export": Cap(
        POST,
        "/v1/datasets/batch-export",
        lambda n: {"dataset_ids": ["{id}"] * n},
        ["body", "dataset_ids"],
        50,
        200,
    ),
}


def _send(client: httpx.Client, cap: Cap, size: int, dataset_id: str) -> httpx.Response:
    body = cap.body(size)
    if "dataset_ids" in body:
        body["dataset_ids"] = [dataset_id if v == "{id}" else v for v in body["dataset_ids"]]
    return client.request(cap.method, cap.path.format(id=dataset_id), json=body)


@pytest.mark.parametrize("name", list(CAPS))
def test_request_cap_names_field_and_bound(name: str, client: httpx.Client, dataset: dict[str, Any]) -> None:
    cap = CAPS[name]
    r = _send(client, cap, cap.bound - 1 if cap.minimum else cap.bound + 1, dataset["id"])
    assert r.status_code == 422, r.text[:500]
    errors = r.json()["detail"]
    assert [e["loc"] for e in errors] == [cap.loc], errors
    assert str(cap.bound) in errors[0]["msg"], errors
    r = _send(client, cap, cap.bound, dataset["id"])
    assert r.status_code == cap.ok, r.text[:500]


@pytest.mark.parametrize(
    ("path", "field", "bound", "at_ok"),
    [
        ("/v1/datasets", "limit", 10_000, 200),
        ("/v1/datasets/filter", "limit", 1000, 200),
        ("/v1/datasets/filter", "tags", 4096, 200),
        ("/v1/datasets/{id}/preview", "n", 1000, 200),
        ("/v1/datasets/versions", "name", 200, 200),
        ("/v1/datasets/latest", "name", 200, 404),
    ],
)
def test_query_cap_names_field_and_bound(
    path: str, field: str, bound: int, at_ok: int, client: httpx.Client, dataset: dict[str, Any]
) -> None:
    url = path.format(id=dataset["id"])

    def value(n: int) -> Any:
        return "v" * n if field in ("name", "tags") else n

    r = client.get(url, params={field: value(bound + 1)})
    assert r.status_code == 422, r.text[:500]
    error = r.json()["detail"][0]
    assert error["loc"] == ["query", field] and str(bound) in error["msg"], error
    assert client.get(url, params={field: value(bound)}).status_code == at_ok
