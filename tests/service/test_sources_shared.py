"""Sources shared by replicas through the blob store (``JUNIPER_DATA_BLOB_URL``): a shared
directory and S3 (moto's server on loopback). Each server has its own storage directory,
so each has its own local copy of the sources: what one imports, the other reads."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from juniper_data_service.storage.blobs import open_blob_store
from tests.service.conftest import new_bucket

pd = pytest.importorskip("pandas")

KNOWN = Path(__file__).resolve().parents[1] / "data" / "sources_known.csv"


@pytest.fixture(params=["shared-directory", "s3"])
def blob_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "shared-directory":
        return str(tmp_path / "shared")
    return f"s3://{new_bucket(request.getfixturevalue('s3_endpoint'))}/jd"


def upload(url: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/sources?name=known.csv",
        content=KNOWN.read_bytes(),
        headers={"Content-Type": "text/csv"},
        timeout=60,
    )


def test_a_source_imported_by_one_replica_is_read_by_the_other(
    start_server: Callable[..., Any], blob_url: str
) -> None:
    a, b = start_server(blob_url=blob_url), start_server(blob_url=blob_url)
    first = upload(a.url)
    assert first.status_code == 201, first.text
    source_id = first.json()["source_id"]
    hex_id = source_id.removeprefix("sha256:")
    blobs = open_blob_store(blob_url)
    assert {x.key for x in blobs.list("sources/")} == {f"sources/{hex_id}.arrow", f"sources/{hex_id}.json"}
    # B has no local copy yet: it lists the source, shows its rows and dedups the same upload.
    assert not (Path(b.settings.sources_dir) / f"{hex_id}.arrow").exists()
    assert [s["source_id"] for s in httpx.get(f"{b.url}/v1/sources", timeout=30).json()] == [source_id]
    shown = httpx.get(f"{b.url}/v1/sources/{source_id}", timeout=30).json()
    assert shown["rows"][0] == {"sepal": 5.1, "petal": 1.4, "count": 3, "species": "setosa"}
    again = upload(b.url)
    assert again.status_code == 200 and again.json()["source_id"] == source_id
    # A dataset made on B from A's source has the CSV's values (pandas read them independently).
    params = {"source_id": source_id, "label_column": "species", "shuffle": False}
    made = httpx.post(f"{b.url}/v1/datasets", json={"generator": "csv_import", "params": params}, timeout=60)
    assert made.status_code == 201, made.text
    dataset_id = made.json()["dataset_id"]
    body = httpx.get(f"{b.url}/v1/datasets/{dataset_id}/artifact", timeout=60)
    with np.load(io.BytesIO(body.content), allow_pickle=False) as npz:
        expected = pd.read_csv(KNOWN)[["sepal", "petal", "count"]].to_numpy(np.float32)
        np.testing.assert_array_equal(npz["X_full"], expected)
    # The record (shared) names the dataset as a user, seen from A as well.
    assert httpx.get(f"{a.url}/v1/sources/{source_id}", timeout=30).json()["used_by"] == [dataset_id]
    refused = httpx.delete(f"{b.url}/v1/sources/{source_id}", timeout=30)
    assert refused.status_code == 409, refused.text
    assert httpx.delete(f"{b.url}/v1/sources/{source_id}?force=true", timeout=30).status_code == 204
    assert blobs.list("sources/") == []
    assert httpx.get(f"{a.url}/v1/sources/{source_id}", timeout=30).status_code == 404


def test_the_same_upload_on_another_replica_keeps_the_shared_record(
    start_server: Callable[..., Any], blob_url: str
) -> None:
    """B has never read A's source: its upload of the same file is a new file to B's own
    directory, yet the source is not new. The shared record, which names A's dataset, stays."""
    a, b = start_server(blob_url=blob_url), start_server(blob_url=blob_url)
    source_id = upload(a.url).json()["source_id"]
    params = {"source_id": source_id, "label_column": "species"}
    made = httpx.post(f"{a.url}/v1/datasets", json={"generator": "csv_import", "params": params}, timeout=60)
    assert made.status_code == 201, made.text
    again = upload(b.url)
    assert again.status_code == 200 and again.json()["source_id"] == source_id
    used_by = httpx.get(f"{b.url}/v1/sources/{source_id}", timeout=30).json()["used_by"]
    assert used_by == [made.json()["dataset_id"]]
    # (Each server here has a metadata store of its own: A is the one that knows the dataset.)
    assert httpx.delete(f"{a.url}/v1/sources/{source_id}", timeout=30).status_code == 409
