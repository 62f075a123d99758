"""A recipe is compiled once per download, not once per batch.

Streaming a wide dataset (1024 features) used to rebuild the generator's kernel
constants (1024 stream keys) for every batch of every member: about 23% of the time
of a 1024-feature gaussian NPZ. The build is counted here through the real service.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

import juniper_data_core as jd
from juniper_data_core.formats import iter_npz, npz_nbytes
from juniper_data_core.generators import REGISTRY, register
from tests.service.conftest import LiveServer

WIDE = {"n_classes": 2, "n_samples_per_class": 3000, "n_features": 1024, "seed": 3}


@pytest.fixture
def builds() -> Iterator[list[int]]:
    """Counts calls of the gaussian generator's kernel build while the test runs."""
    spec = REGISTRY["gaussian"]
    calls: list[int] = []

    def counting(p: Any) -> Any:
        calls.append(1)
        return spec.build(p)

    register(dataclasses.replace(spec, build=counting), replace=True)
    yield calls
    register(spec, replace=True)


def test_engine_stream_builds_the_recipe_once(builds: list[int]) -> None:
    r = jd.recipe("gaussian", {**WIDE, "n_samples_per_class": 500})
    chunks = list(iter_npz(r, backend="numpy", batch_rows=64))
    # 1000 + 800 + 200 rows in batches of 64, X and y in separate passes: 64 batches.
    assert sum(len(c) for c in chunks) == npz_nbytes(r)
    assert len(builds) == 1


def test_download_builds_the_recipe_once(builds: list[int], start_server: Any) -> None:
    server: LiveServer = start_server(backend="numpy")
    with httpx.Client(base_url=server.url, timeout=120) as client:
        body = {"generator": "gaussian", "params": WIDE, "persist": False}
        created = client.post("/v1/datasets", json=body)
        assert created.status_code == 201, created.text
        dataset_id = created.json()["dataset_id"]
        builds.clear()
        response = client.get(f"/v1/datasets/{dataset_id}/artifact")
    assert response.status_code == 200
    recipe = jd.recipe("gaussian", WIDE)
    # 16 MiB batches of 4104-byte rows (4088 rows): full, train and test take 2 + 2 + 1
    # batches, each computed twice (X, then y): 10 batches from one build.
    assert len(response.content) == npz_nbytes(recipe)
    assert len(builds) == 1, f"the recipe was built {len(builds)} times for one download"
    with np.load(io.BytesIO(response.content), allow_pickle=False) as loaded:
        X, y = jd.generate_rows(recipe, split="test", start=1100, stop=1200, backend="numpy")
        np.testing.assert_array_equal(loaded["X_test"][1100:], X)
        np.testing.assert_array_equal(loaded["y_test"][1100:], y)
