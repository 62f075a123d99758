"""Artifacts: NPZ and Arrow, whole and ranged, ETags, previews; Cascor's and Canopy's calls."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.ipc

Create = Callable[..., httpx.Response]
ARRAYS = ("X_train", "y_train", "X_test", "y_test", "X_full", "y_full")


def _npz(r: httpx.Response) -> dict[str, np.ndarray]:
    assert r.status_code == 200, r.text
    with np.load(io.BytesIO(r.content), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _arrow(r: httpx.Response) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    assert r.status_code == 200, r.text
    table = pa.ipc.open_stream(io.BytesIO(r.content)).read_all()
    X = np.asarray(table.column("X").combine_chunks().flatten()).reshape(table.num_rows, -1)
    y = np.asarray(table.column("y").combine_chunks().flatten()).reshape(table.num_rows, -1)
    return table, X, y


def test_cascor_spiral_six_float32_arrays(client: httpx.Client, spiral_id: str) -> None:
    arrays = _npz(client.get(f"/v1/datasets/{spiral_id}/artifact"))
    assert sorted(arrays) == sorted(ARRAYS)
    for name in ARRAYS:
        assert arrays[name].dtype == np.float32 and arrays[name].ndim == 2
    for name in ("X_train", "X_test", "X_full"):
        assert arrays[name].shape[1] == 2
    assert arrays["X_full"].shape == (2000, 2) and arrays["X_train"].shape == (1600, 2)
    assert np.array_equal(arrays["y_full"].sum(axis=1), np.ones(2000, np.float32))


def test_npz_headers(client: httpx.Client, spiral_id: str) -> None:
    r = client.get(f"/v1/datasets/{spiral_id}/artifact")
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"] == f"attachment; filename={spiral_id}.npz"


def test_npz_checksum_matches_meta(client: httpx.Client, spiral_id: str) -> None:
    import hashlib

    body = client.get(f"/v1/datasets/{spiral_id}/artifact").content
    assert client.get(f"/v1/datasets/{spiral_id}").json()["checksum"] == hashlib.sha256(body).hexdigest()


def test_canopy_xor_full_arrays(client: httpx.Client, create: Create) -> None:
    params = {"n_points_per_quadrant": 100, "noise": 0.1, "seed": 42}
    dataset_id = create("xor", params).json()["dataset_id"]
    arrays = _npz(client.get(f"/v1/datasets/{dataset_id}/artifact"))
    assert arrays["X_full"].shape == (400, 2) and arrays["y_full"].shape == (400, 2)


def test_canopy_spiral_2x100(client: httpx.Client, create: Create) -> None:
    params = {"n_spirals": 2, "n_points_per_spiral": 100, "noise": 0.1, "seed": 42}
    dataset_id = create("spiral", params).json()["dataset_id"]
    arrays = _npz(client.get(f"/v1/datasets/{dataset_id}/artifact"))
    assert arrays["X_full"].shape == (200, 2) and arrays["y_full"].shape == (200, 2)


def test_arrow_round_trip_equals_npz(client: httpx.Client, spiral_id: str) -> None:
    arrays = _npz(client.get(f"/v1/datasets/{spiral_id}/artifact"))
    r = client.get(f"/v1/datasets/{spiral_id}/artifact", params={"format": "arrow"})
    assert r.headers["content-type"] == "application/vnd.apache.arrow.stream"
    table, X, y = _arrow(r)
    assert np.array_equal(X, arrays["X_full"]) and np.array_equal(y, arrays["y_full"])
    assert np.array_equal(table.column("label").to_numpy(), arrays["y_full"].argmax(axis=1))
    assert table.schema.metadata[b"dataset_id"].decode() == spiral_id


def test_arrow_by_accept_header(client: httpx.Client, spiral_id: str) -> None:
    r = client.get(
        f"/v1/datasets/{spiral_id}/artifact", headers={"Accept": "application/vnd.apache.arrow.stream"}
    )
    assert r.headers["content-type"] == "application/vnd.apache.arrow.stream"
    assert _arrow(r)[0].num_rows == 2000


def test_npz_range_equals_rows_of_split(client: httpx.Client, spiral_id: str) -> None:
    full = _npz(client.get(f"/v1/datasets/{spiral_id}/artifact"))
    part = _npz(
        client.get(f"/v1/datasets/{spiral_id}/artifact", params={"split": "train", "offset": 10, "limit": 20})
    )
    assert sorted(part) == ["X_train", "y_train"]
    assert np.array_equal(part["X_train"], full["X_train"][10:30])
    assert np.array_equal(part["y_train"], full["y_train"][10:30])


def test_arrow_range_equals_rows_of_split(client: httpx.Client, spiral_id: str) -> None:
    full = _npz(client.get(f"/v1/datasets/{spiral_id}/artifact"))
    params: dict[str, Any] = {"format": "arrow", "split": "test", "offset": 5, "limit": 7}
    _, X, _ = _arrow(client.get(f"/v1/datasets/{spiral_id}/artifact", params=params))
    assert np.array_equal(X, full["X_test"][5:12])


def test_range_offset_past_the_end_is_422_on_offset(client: httpx.Client, spiral_id: str) -> None:
    # 422 like every other bad query parameter (it was a 400 before the hardening issue).
    r = client.get(f"/v1/datasets/{spiral_id}/artifact", params={"split": "train", "offset": 10**6})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "offset"]
    assert "offset must be in [0, 1600]" in r.json()["detail"][0]["msg"]


def test_artifact_etag_and_304(client: httpx.Client, spiral_id: str) -> None:
    etag = client.get(f"/v1/datasets/{spiral_id}/artifact").headers["etag"]
    r = client.get(f"/v1/datasets/{spiral_id}/artifact", headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""


def test_artifact_etag_differs_by_range(client: httpx.Client, spiral_id: str) -> None:
    whole = client.get(f"/v1/datasets/{spiral_id}/artifact").headers["etag"]
    ranged = client.get(f"/v1/datasets/{spiral_id}/artifact", params={"split": "train", "limit": 3})
    assert ranged.headers["etag"] != whole


def test_artifact_unknown_is_404(client: httpx.Client) -> None:
    assert client.get("/v1/datasets/nope/artifact").status_code == 404


def test_preview(client: httpx.Client, spiral_id: str) -> None:
    full = _npz(client.get(f"/v1/datasets/{spiral_id}/artifact"))
    preview = client.get(f"/v1/datasets/{spiral_id}/preview", params={"n": 5}).json()
    assert preview["n_samples"] == 5
    assert np.allclose(np.array(preview["X_sample"], np.float32), full["X_full"][:5])
    assert np.array_equal(np.array(preview["y_sample"], np.float32), full["y_full"][:5])


def test_preview_n_out_of_range_is_422(client: httpx.Client, spiral_id: str) -> None:
    assert client.get(f"/v1/datasets/{spiral_id}/preview", params={"n": 1001}).status_code == 422
