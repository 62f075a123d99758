"""The Python examples of docs/client.md run as written against a live server, and get the
right data.

Each ```python block is executed with the service's URL in place of the docs'
``http://localhost:8100`` and ``http://juniper-data:8100``, and with the names the prose
leaves to the reader bound: ``JuniperDataClient`` (imported by the first examples),
``client`` (open on the live server), ``dataset_id``, ``generator``/``params``, ``k``/``n``
(a shard) and ``train_step`` (which keeps what it is given). One number is made smaller:
the Arrow example's 1e7-point spiral becomes 1e4 points (same code, a download a test can
afford). What a block leaves behind is then compared with ``generate()`` /
``generate_rows()`` of the recipe the server stored (on the backend it used).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

import juniper_data_core as jd
import juniper_data_service.client as client_package
from juniper_data_service.client import JuniperDataClient

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"
_BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
DOC_URLS = ("http://localhost:8100", "http://juniper-data:8100")
# The streamed example's size, and the size it runs at here.
BIG, SMALL = "10_000_000", "10_000"
# A dataset whose train split has the rows the row-range example asks for (1_000_000 + 100_000).
SHARDED = {"n_spirals": 2, "n_points_per_spiral": 1_000_000, "seed": 5}
GAUSSIAN = ("gaussian", {"n_classes": 2, "n_samples_per_class": 40, "seed": 3})


def _arrays_of(meta: dict[str, Any]) -> dict[str, np.ndarray]:
    """The arrays of a stored dataset, computed here from its stored recipe."""
    recipe = jd.recipe(meta["generator"], meta["params"], version=meta["generator_version"])
    assert recipe.dataset_id == meta["dataset_id"]
    return jd.generate(recipe, backend=meta["backend"]).arrays


def _meta(base: str, dataset_id: str) -> dict[str, Any]:
    r = httpx.get(f"{base}/v1/datasets/{dataset_id}")
    r.raise_for_status()
    return dict(r.json())


def _labels(y: np.ndarray) -> Any:
    return np.asarray(y).argmax(axis=1)


def _check_import(ns: dict[str, Any], base: str) -> None:
    assert ns["JuniperDataClient"] is client_package.JuniperDataClient
    assert issubclass(ns["JuniperDataNotFoundError"], client_package.JuniperDataClientError)


def _check_connect(ns: dict[str, Any], base: str) -> None:
    client = ns["client"]
    assert client.base_url == base and client.timeout == 30 and client.retries == 3
    assert client.session.is_closed  # the example closes it


def _check_cascor(ns: dict[str, Any], base: str) -> None:
    created, arrays = ns["created"], ns["arrays"]
    params = created["meta"]["params"]
    assert (params["n_points_per_spiral"], params["noise"], params["seed"]) == (97, 0.25, 42)
    expected = _arrays_of(created["meta"])
    assert ns["X_train"].shape == (155, 2) and ns["y_test"].shape == (39, 2)  # 194 rows, 80/20
    for name, array in expected.items():
        np.testing.assert_array_equal(arrays[name], array)


def _check_create(ns: dict[str, Any], base: str) -> None:
    meta = ns["created"]["meta"]
    assert (meta["n_samples"], meta["n_classes"], meta["ttl_seconds"]) == (1500, 3, 86400)
    assert meta["dataset_name"] == "blobs" and "experiment-7" in meta["tags"]
    assert ns["created"]["warnings"] == []
    assert ns["client"].get_latest("blobs")["dataset_id"] == meta["dataset_id"]


def _check_stream(ns: dict[str, Any], base: str) -> None:
    expected = _arrays_of(ns["created"]["meta"])
    X = np.concatenate([X for X, _ in ns["steps"]])
    labels = np.concatenate([labels for _, labels in ns["steps"]])
    np.testing.assert_array_equal(X, expected["X_train"])
    np.testing.assert_array_equal(labels, _labels(expected["y_train"]))
    assert ns["printed"] == "b'2.0.0'"


def _check_table(ns: dict[str, Any], base: str) -> None:
    expected = _arrays_of(_meta(base, ns["dataset_id"]))
    df = ns["df"]
    assert list(df.columns) == ["X", "y", "label"]
    np.testing.assert_array_equal(np.stack(df["X"].to_numpy()), expected["X_test"])
    np.testing.assert_array_equal(
        ns["pl"].from_arrow(ns["table"])["label"].to_numpy(), _labels(expected["y_test"])
    )


def _check_rows(ns: dict[str, Any], base: str) -> None:
    meta = _meta(base, ns["dataset_id"])
    recipe = jd.recipe(meta["generator"], meta["params"], version=meta["generator_version"])
    k, shard = ns["k"], ns["shard"]
    assert shard == -(-meta["n_train"] // ns["n"])
    X, y = jd.generate_rows(
        recipe, split="train", start=k * shard, stop=(k + 1) * shard, backend=meta["backend"]
    )
    np.testing.assert_array_equal(ns["X"], X)
    np.testing.assert_array_equal(ns["y"], y)
    X, _ = jd.generate_rows(recipe, split="train", start=1_000_000, stop=1_100_000, backend=meta["backend"])
    table = ns["table"]
    np.testing.assert_array_equal(np.asarray(table.column("X").combine_chunks().flatten()).reshape(-1, 2), X)


def _check_errors(ns: dict[str, Any], base: str) -> None:
    # The bound dataset_id does not exist: the example recreated it from the recipe.
    created = ns["dataset_id"]
    assert created == jd.recipe(ns["generator"], ns["params"]).dataset_id
    for name, array in _arrays_of(_meta(base, created)).items():
        np.testing.assert_array_equal(ns["arrays"][name], array)


def _check_retries(ns: dict[str, Any], base: str) -> None:
    client = ns["client"]
    assert client.base_url == base and client.retries == 5 and client.backoff_factor == 1.0


# A block is recognised by a phrase of its code; every block must have a check.
CHECKS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "# from juniper_data_client import": _check_import,
    "client.wait_for_ready(timeout=60)": _check_connect,
    "create_spiral_dataset": _check_cascor,
    'name="blobs"': _check_create,
    "stream=True": _check_stream,
    "to_pandas": _check_table,
    "# Shard k of n workers": _check_rows,
    "except JuniperDataNotFoundError": _check_errors,
    "retries=5": _check_retries,
}


def _check_for(code: str) -> Callable[[dict[str, Any], str], None]:
    found = [check for phrase, check in CHECKS.items() if phrase in code]
    assert len(found) == 1, f"no single check for this example of docs/client.md:\n{code}"
    return found[0]


def test_every_example_has_a_check() -> None:
    assert len(_BLOCKS) == len(CHECKS)
    for code in _BLOCKS:
        _check_for(code)
    assert sum(BIG in code for code in _BLOCKS) == 1  # the one number this test changes


@pytest.fixture(scope="module")
def sharded_id(base_url: str) -> str:
    """A spiral of 2e6 rows (created lazily: the row ranges generate only their rows)."""
    r = httpx.post(f"{base_url}/v1/datasets", json={"generator": "spiral", "params": SHARDED}, timeout=60)
    r.raise_for_status()
    return str(r.json()["dataset_id"])


@pytest.fixture
def live_client(base_url: str) -> Iterator[JuniperDataClient]:
    with JuniperDataClient(base_url) as client:
        yield client


@pytest.mark.parametrize("code", _BLOCKS, ids=[f"block{i}" for i in range(len(_BLOCKS))])
def test_client_example_runs_and_gets_the_data(
    code: str, base_url: str, sharded_id: str, live_client: JuniperDataClient, spiral_id: str
) -> None:
    check = _check_for(code)
    for url in DOC_URLS:
        code = code.replace(url, base_url)
    code = code.replace(BIG, SMALL)
    steps: list[tuple[np.ndarray, np.ndarray]] = []
    printed: list[str] = []
    generator, params = GAUSSIAN
    ns: dict[str, Any] = {
        "JuniperDataClient": JuniperDataClient,  # imported by an earlier example
        "client": live_client,
        "dataset_id": sharded_id if check is _check_rows else spiral_id,
        "generator": generator,
        "params": params,
        "k": 1,
        "n": 4,
        "train_step": lambda X, labels: steps.append((np.array(X), np.array(labels))),
        "print": lambda *args: printed.append(" ".join(map(str, args))),
        "steps": steps,
    }
    if check is _check_errors:
        # Never created: the example's NotFound branch recreates it from generator and params.
        ns["dataset_id"] = "gaussian-2.0.0-0000000000000000"
    try:
        exec(compile(code, f"{DOC}:example", "exec"), ns)
        ns["printed"] = "\n".join(printed)
        check(ns, base_url)
    finally:
        if ns["client"] is not live_client:
            ns["client"].close()
