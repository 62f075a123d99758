"""Generator version 2.0.0's numbers, frozen: ``tests/data/v2_known_answers.json``.

The file was written by ``tools/make_known_answers.py`` and checked against the engine as it
was before the architecture change (commit 82d458b, through that version's own API); this
test only reads it. A failure here means a 2.0.0 number changed, which is a breaking change:
make a new version instead (docs/reproducibility.md). Checked through the public API: IDs,
labels and membership exactly, X within the documented bound (4 ulp of the largest value of
the rows compared) on every backend present.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import juniper_data_core as jd

DOC = json.loads((Path(__file__).parents[1] / "data" / "v2_known_answers.json").read_text())
CASES = DOC["cases"]
IDS = [f"{c['generator']}-{c['label']}" for c in CASES]
ULP_BOUND = 4


def _sha(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def test_every_generator_and_example_is_frozen() -> None:
    frozen = {(c["generator"], c["label"]) for c in CASES}
    for name in ("spiral", "xor", "gaussian", "circles", "checkerboard", "moon"):
        spec = jd.generators.REGISTRY[name]
        assert {(name, label) for label in spec.example_labels} <= frozen
    assert DOC["rows"] == 1_000_000


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_dataset_id(case: dict[str, Any]) -> None:
    assert jd.recipe(case["generator"], case["params"]).dataset_id == case["dataset_id"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rows_at_fixed_indices(case: dict[str, Any], backend: str) -> None:
    recipe = jd.recipe(case["generator"], case["params"])
    for split, rows in case["rows"].items():
        for i, want_x, want_label in zip(rows["index"], rows["X"], rows["label"], strict=True):
            X, y = jd.generate_rows(recipe, split=split, start=i, stop=i + 1, backend=backend)
            assert int(np.argmax(y[0])) == want_label, (split, i)
            want = np.asarray(want_x, np.float32)
            bound = ULP_BOUND * np.spacing(np.max(np.abs(want)))
            assert np.max(np.abs(X[0].astype(np.float64) - want)) <= bound, (split, i, X[0], want)
            if backend == "numpy":
                np.testing.assert_array_equal(X[0], want)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_labels_and_membership_of_every_row(case: dict[str, Any]) -> None:
    from juniper_data_core.backends.numpy import NAMESPACE
    from juniper_data_core.split import permute

    recipe = jd.recipe(case["generator"], case["params"])
    for split in jd.SPLITS:
        _, y = recipe.plan.rows("numpy", split, 0, recipe.n_rows(split), features=False)
        assert _sha(np.argmax(y, axis=1).astype(np.int8)) == case["labels_sha256"][split], split
    plan = recipe.plan
    for split, offset in (("train", 0), ("test", plan.n_train)):
        positions = np.arange(offset, offset + recipe.n_rows(split), dtype=np.int64)
        rows = permute(NAMESPACE, positions, plan.permutation) if plan.shuffle else positions
        assert _sha(rows) == case["membership_sha256"][split], split
