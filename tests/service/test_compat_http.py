"""The earlier service's known answers (tests/data/v1_vectors.json) through the product:
each case created over HTTP at version 1.0.0, its ID and downloaded arrays compared with the
vector, and Cascor's aliases and ``legacy_cascor`` accepted the way Cascor sends them."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

import juniper_data_core as jd

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "v1_vectors.json").read_text())["cases"]
IDS = [f"{c['generator']}-{i}" for i, c in enumerate(VECTORS)]


def _sha16(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


@pytest.mark.parametrize("case", VECTORS, ids=IDS)
def test_v1_vector_over_http(case: dict[str, Any], client: httpx.Client) -> None:
    body = {"generator": case["generator"], "params": case["params_in"], "version": "1.0.0"}
    created = client.post("/v1/datasets", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["dataset_id"] == case["dataset_id"]
    npz = client.get(f"/v1/datasets/{case['dataset_id']}/artifact")
    with np.load(io.BytesIO(npz.content), allow_pickle=False) as arrays:
        for name, want in case["arrays"].items():
            assert list(arrays[name].shape) == want["shape"] and str(arrays[name].dtype) == want["dtype"]
            assert _sha16(arrays[name]) == want["sha256"], name
        np.testing.assert_array_equal(arrays["X_full"][:2], np.asarray(case["X_full_first2"], np.float32))


@pytest.mark.parametrize("case", VECTORS, ids=IDS)
def test_v1_vector_through_the_engine(case: dict[str, Any]) -> None:
    recipe = jd.recipe(case["generator"], case["params_in"], version="1.0.0")
    assert recipe.dataset_id == case["dataset_id"]
    arrays = jd.generate(recipe).arrays
    assert {name: _sha16(arrays[name]) for name in case["arrays"]} == {
        name: want["sha256"] for name, want in case["arrays"].items()
    }


def test_cascor_aliases_and_legacy_algorithm_over_http(client: httpx.Client) -> None:
    # What Cascor sends: n_points and noise_level, legacy_cascor, no test_ratio.
    params = {"n_spirals": 2, "n_points": 150, "noise_level": 0.3, "algorithm": "legacy_cascor",
              "seed": 11, "train_ratio": 0.75}  # fmt: skip
    canonical = {"n_spirals": 2, "n_points_per_spiral": 150, "noise": 0.3, "algorithm": "legacy_cascor",
                 "seed": 11, "train_ratio": 0.75, "test_ratio": 0.25}  # fmt: skip
    for version in ("1.0.0", "2.0.0"):
        r = client.post("/v1/datasets", json={"generator": "spiral", "params": params, "version": version})
        assert r.status_code == 201, r.text
        expected = jd.recipe("spiral", canonical, version=version)
        assert r.json()["dataset_id"] == expected.dataset_id
        assert r.json()["meta"]["n_train"] == 225 and r.json()["meta"]["n_test"] == 75
        with np.load(io.BytesIO(client.get(r.json()["artifact_url"]).content)) as npz:
            np.testing.assert_array_equal(npz["X_train"], jd.generate(expected).arrays["X_train"])
