"""``GET /v1/datasets/{id}/preview.png`` on a live server: the image, its ETag, its bounds."""

from __future__ import annotations

import io
from typing import Any

import httpx
import numpy as np
import pytest

import juniper_data_core as jd
from juniper_data_core.preview import CLASS_COLORS
from tests.core.test_preview import SPIRAL, arm_fractions, decode, pixels_of


@pytest.fixture(scope="module")
def arms_id(base_url: str) -> str:
    r = httpx.post(f"{base_url}/v1/datasets", json={"generator": "spiral", "params": SPIRAL}, timeout=60)
    assert r.status_code == 201, r.text
    return str(r.json()["dataset_id"])


def test_preview_png_of_a_two_arm_spiral_draws_each_class_on_its_own_arm(
    client: httpx.Client, arms_id: str
) -> None:
    r = client.get(f"/v1/datasets/{arms_id}/preview.png", params={"width": 400, "height": 400})
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    rgb = decode(r.content)
    assert rgb.shape == (400, 400, 3)
    X, _ = jd.generate_rows(jd.recipe("spiral", SPIRAL))
    assert min(arm_fractions(rgb, SPIRAL, X)) > 0.97


def test_preview_png_etag_is_stable_per_query_and_answers_304(client: httpx.Client, arms_id: str) -> None:
    url = f"/v1/datasets/{arms_id}/preview.png"
    first = client.get(url, params={"width": 64, "height": 64})
    again = client.get(url, params={"width": 64, "height": 64})
    other = client.get(url, params={"width": 64, "height": 64, "split": "train"})
    etag = first.headers["etag"]
    assert etag == again.headers["etag"] and first.content == again.content
    assert other.headers["etag"] != etag and other.content != first.content
    cached = client.get(url, params={"width": 64, "height": 64}, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == etag
    stale = client.get(url, params={"width": 64, "height": 64}, headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200 and stale.content == first.content


def test_preview_png_counts_as_an_access(client: httpx.Client, arms_id: str) -> None:
    before = client.get(f"/v1/datasets/{arms_id}/access").json()["access_count"]
    client.get(f"/v1/datasets/{arms_id}/preview.png", params={"width": 32, "height": 32}).raise_for_status()
    assert client.get(f"/v1/datasets/{arms_id}/access").json()["access_count"] == before + 1


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"width": 15}, "width", "greater than or equal to 16"),
        ({"width": 4096}, "width", "less than or equal to 2048"),
        ({"height": "tall"}, "height", "valid integer"),
        ({"split": "validation"}, "split", "'full', 'train' or 'test'"),
        ({"x": 2}, "x", "x=2 is not a feature column: the dataset has 2 (use 0..1)"),
        ({"y": 9}, "y", "y=9 is not a feature column"),
        ({"x": -1}, "x", "greater than or equal to 0"),
    ],
)
def test_preview_png_bad_query_is_a_422_naming_the_field_and_bound(
    client: httpx.Client, arms_id: str, query: dict[str, Any], field: str, message: str
) -> None:
    r = client.get(f"/v1/datasets/{arms_id}/preview.png", params=query)
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert error["loc"] == ["query", field]
    assert message in error["msg"]


def test_preview_png_of_an_unknown_dataset_is_a_404(client: httpx.Client) -> None:
    r = client.get("/v1/datasets/spiral-2.0.0-0000000000000000/preview.png")
    assert r.status_code == 404
    assert "not found" in r.json()["detail"]


def test_preview_png_of_a_large_dataset_draws_a_sample_of_every_class(client: httpx.Client) -> None:
    # 3 x 40,000 rows, past the 50,000 drawn: the full split's first rows are all class 0,
    # so only a sample across the dataset shows all three arms in like measure.
    params = {"n_spirals": 3, "n_points_per_spiral": 40_000, "seed": 11}
    created = client.post("/v1/datasets", json={"generator": "spiral", "params": params})
    assert created.status_code == 201, created.text
    png = client.get(
        f"/v1/datasets/{created.json()['dataset_id']}/preview.png", params={"width": 256, "height": 256}
    )
    rgb = decode(png.content)
    counts = np.array([len(pixels_of(rgb, CLASS_COLORS[k])[0]) for k in range(3)])
    assert counts.min() > 0.5 * counts.max(), counts


def test_preview_png_with_api_keys_needs_the_key(start_server: Any) -> None:
    server = start_server(api_keys=["preview-key-0123456789"])
    with httpx.Client(base_url=server.url, timeout=60) as c:
        created = c.post(
            "/v1/datasets",
            json={"generator": "xor", "params": {"seed": 4}},
            headers={"X-API-Key": "preview-key-0123456789"},
        )
        url = f"/v1/datasets/{created.json()['dataset_id']}/preview.png"
        assert c.get(url).status_code == 401
        ok = c.get(url, headers={"X-API-Key": "preview-key-0123456789"})
        assert ok.status_code == 200
        assert decode(ok.content).shape == (512, 512, 3)


def test_preview_png_is_a_png_pillow_verifies(client: httpx.Client, arms_id: str) -> None:
    from PIL import Image

    r = client.get(f"/v1/datasets/{arms_id}/preview.png", params={"width": 100, "height": 30})
    with Image.open(io.BytesIO(r.content)) as im:
        im.verify()  # checks the chunks' CRCs
        assert im.size == (100, 30)
