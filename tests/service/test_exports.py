"""Exports (POST /v1/datasets/{id}/exports, GET and DELETE /v1/exports/{job_id}) on a real cluster.

One ``LocalCluster`` of 2 worker processes serves the module; the live server is given
its scheduler's address (``JUNIPER_DATA_DASK_SCHEDULER``) and one export root. Files are
read back here and compared with ``generate_rows`` bit for bit.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow.dataset as pads
import pytest

import juniper_data_core as jd

# Scale-out is an extra (dask): without it this module has nothing to test.
pytest.importorskip("distributed")

from juniper_data_core import dask as scale
from tests.service.conftest import LiveServer


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    client = scale.connect("local:2")
    client.wait_for_workers(2, timeout=60)
    yield str(client.scheduler.address)
    client.close()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("exports")


@pytest.fixture(scope="module")
def exporting(start_server: Callable[..., LiveServer], scheduler: str, root: Path) -> LiveServer:
    return start_server(dask_scheduler=scheduler, export_roots=[str(root)])


@pytest.fixture
def api(exporting: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=exporting.url, timeout=60) as c:
        yield c


def _dataset(api: httpx.Client, generator: str, params: dict[str, Any]) -> tuple[str, jd.Recipe]:
    r = api.post("/v1/datasets", json={"generator": generator, "params": params})
    assert r.status_code == 201, r.text
    meta = r.json()["meta"]
    return meta["dataset_id"], jd.recipe(generator, meta["params"], version=meta["generator_version"])


def _wait(api: httpx.Client, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = api.get(f"/v1/exports/{job_id}").json()
        if body["status"] in ("done", "failed", "cancelled"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"export {job_id} did not finish in {timeout} s")


@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_export_runs_on_the_cluster_and_equals_generate_rows(api: httpx.Client, root: Path, fmt: str) -> None:
    dataset_id, recipe = _dataset(api, "spiral", {"n_points_per_spiral": 3000, "seed": 21})
    body = {"format": fmt, "url": f"spiral-{fmt}", "rows_per_file": 1000, "split": "train"}
    r = api.post(f"/v1/datasets/{dataset_id}/exports", json=body)
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert accepted["status"] in ("queued", "running") and len(accepted["job_id"]) == 32
    assert r.headers["Location"] == f"/v1/exports/{accepted['job_id']}"
    done = _wait(api, accepted["job_id"])
    assert done["status"] == "done", done
    n = recipe.n_rows("train")
    assert (done["progress"], done["rows_done"], done["rows_total"]) == (1.0, n, n)
    assert done["files_done"] == done["files_total"] == 5 == done["files_written"]
    manifest = done["manifest"]
    assert manifest["dataset_id"] == dataset_id and manifest["split"] == "train"
    assert done["url"] == str(root / f"spiral-{fmt}")
    paths = [str(root / f"spiral-{fmt}" / f["path"]) for f in manifest["files"]]
    table = pads.dataset(paths, format=fmt).to_table()
    X = table["X"].combine_chunks().flatten().to_numpy().reshape(n, 2)
    X_exp, _ = jd.generate_rows(recipe, split="train", backend=manifest["files"][0]["backend"])
    assert np.array_equal(X.view(np.uint32), X_exp.view(np.uint32))


def test_an_export_to_a_directory_of_other_files_fails_with_the_reason(api: httpx.Client, root: Path) -> None:
    dataset_id, _ = _dataset(api, "xor", {"n_points_per_quadrant": 100, "seed": 22})
    (root / "busy").mkdir()
    (root / "busy" / "keep.txt").write_text("not ours")
    r = api.post(f"/v1/datasets/{dataset_id}/exports", json={"url": "busy"})
    assert r.status_code == 202
    done = _wait(api, r.json()["job_id"])
    assert done["status"] == "failed" and done["manifest"] is None
    assert "holds files that are not part of this export (keep.txt)" in done["error"]
    assert (root / "busy" / "keep.txt").read_text() == "not ours"


def test_delete_cancels_a_running_export(api: httpx.Client, root: Path) -> None:
    dataset_id, _ = _dataset(api, "spiral", {"n_points_per_spiral": 2_000_000, "seed": 23})
    r = api.post(f"/v1/datasets/{dataset_id}/exports", json={"url": "cancelled", "rows_per_file": 100_000})
    job_id = r.json()["job_id"]
    cancelled = api.delete(f"/v1/exports/{job_id}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    later = api.get(f"/v1/exports/{job_id}").json()
    assert later["status"] == "cancelled" and later["files_done"] < later["files_total"] == 40
    assert not (root / "cancelled" / "_manifest.json").exists()


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("../escape", "'..' component"),
        ("inside/../../escape", "'..' component"),
        ("/etc/juniper-export", "outside the directories exports may be written to"),
        ("file:///var/tmp/juniper-export", "outside the directories exports may be written to"),
        ("s3://bucket/exports/x", "not under a URL prefix listed in JUNIPER_DATA_EXPORT_ROOTS"),
        ("simplecache::s3://bucket/x", "no '::' chains"),
    ],
)
def test_export_url_outside_the_roots_is_403(
    api: httpx.Client, spiral_id_here: str, url: str, needle: str
) -> None:
    r = api.post(f"/v1/datasets/{spiral_id_here}/exports", json={"url": url})
    assert r.status_code == 403, r.text
    assert needle in r.json()["detail"]


def test_a_symlink_pointing_out_of_the_root_is_403(
    api: httpx.Client, spiral_id_here: str, root: Path, tmp_path: Path
) -> None:
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", root / "link-out")
    r = api.post(f"/v1/datasets/{spiral_id_here}/exports", json={"url": "link-out/data"})
    assert r.status_code == 403 and "symlinks are followed" in r.json()["detail"]
    assert list((tmp_path / "outside").iterdir()) == []


@pytest.fixture
def spiral_id_here(api: httpx.Client) -> str:
    return _dataset(api, "spiral", {"n_points_per_spiral": 100, "seed": 24})[0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "x", "rows_per_file": 0}, "rows_per_file"),
        ({"url": "x", "format": "csv"}, "format"),
        ({"url": "x", "split": "valid"}, "split"),
        ({"url": ""}, "url"),
        ({}, "url"),
        ({"url": "x", "compression": "zstd"}, "compression"),
    ],
)
def test_bad_export_bodies_are_422_naming_the_field(
    api: httpx.Client, spiral_id_here: str, body: dict[str, Any], field: str
) -> None:
    r = api.post(f"/v1/datasets/{spiral_id_here}/exports", json=body)
    assert r.status_code == 422, r.text
    assert field in {str(e["loc"][-1]) for e in r.json()["detail"]}


def test_a_url_that_is_not_unicode_is_422(api: httpx.Client, spiral_id_here: str) -> None:
    # A lone surrogate, escaped in valid JSON: it must not reach the path checks.
    body = b'{"url": "exports/bad\\ud800"}'
    r = api.post(
        f"/v1/datasets/{spiral_id_here}/exports", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "url"


def test_too_many_files_is_400_naming_rows_per_file_and_its_bound(api: httpx.Client) -> None:
    # 100,004 rows: more files than the bound at one row each.
    dataset_id, _ = _dataset(api, "xor", {"n_points_per_quadrant": 25_001, "seed": 25})
    r = api.post(f"/v1/datasets/{dataset_id}/exports", json={"url": "many", "rows_per_file": 1})
    assert r.status_code == 400
    assert "rows_per_file must be >= 2 (at most 100000 files" in r.json()["detail"]


def test_unknown_dataset_and_job_are_404(api: httpx.Client) -> None:
    assert (
        api.post("/v1/datasets/spiral-2.0.0-0000000000000000/exports", json={"url": "x"}).status_code == 404
    )
    assert api.get(f"/v1/exports/{'0' * 32}").status_code == 404
    assert api.get("/v1/exports/not-a-job").status_code == 404
    assert api.delete(f"/v1/exports/{'0' * 32}").status_code == 404


def test_without_export_roots_local_paths_are_refused(
    start_server: Callable[..., LiveServer], scheduler: str
) -> None:
    server = start_server(dask_scheduler=scheduler)
    with httpx.Client(base_url=server.url, timeout=60) as api:
        dataset_id, _ = _dataset(api, "xor", {"n_points_per_quadrant": 10, "seed": 26})
        r = api.post(f"/v1/datasets/{dataset_id}/exports", json={"url": "/tmp/anything"})
    assert r.status_code == 403
    assert "JUNIPER_DATA_EXPORT_ROOTS lists no directory" in r.json()["detail"]


def test_without_a_scheduler_exports_are_503_saying_so(client: httpx.Client, spiral_id: str) -> None:
    r = client.post(f"/v1/datasets/{spiral_id}/exports", json={"url": "x"})
    assert r.status_code == 503
    assert "set JUNIPER_DATA_DASK_SCHEDULER" in r.json()["detail"]
    assert client.get(f"/v1/exports/{'0' * 32}").status_code == 503
    assert client.delete(f"/v1/exports/{'0' * 32}").status_code == 503


def test_a_scheduler_setting_that_is_no_address_is_503_naming_it(
    start_server: Callable[..., LiveServer], root: Path
) -> None:
    server = start_server(dask_scheduler="local:0", export_roots=[str(root)])
    with httpx.Client(base_url=server.url, timeout=60) as api:
        dataset_id, _ = _dataset(api, "xor", {"n_points_per_quadrant": 10, "seed": 27})
        r = api.post(f"/v1/datasets/{dataset_id}/exports", json={"url": "never"})
    assert r.status_code == 503
    assert "cannot reach the Dask scheduler at 'local:0' (JUNIPER_DATA_DASK_SCHEDULER)" in r.json()["detail"]
    assert not (root / "never").exists()
