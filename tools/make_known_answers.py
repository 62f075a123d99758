"""Write ``tests/data/v2_known_answers.json``: the frozen numbers of every generator's 2.0.0.

    python tools/make_known_answers.py            # rewrites the file (review the diff!)

Run it only when a 2.0.0 number is meant to change, which is never: a change of numbers is a
new generator version (docs/reproducibility.md). ``tests/core/test_known_answers.py`` reads
the file and never writes it. For every generator and each of its examples (the defaults
and the labelled ones, at about 1e6 rows, seed 20261201) it records, from the NumPy backend:

- the dataset ID;
- rows of X (float32, as exact decimal text of the float) and their labels at fixed indices
  of full, train and test: the first, the last, and three in the middle;
- sha256 of the labels of every row of each split (int8, in row order) and of the train and
  test membership (the int64 source rows of the shuffled order, in order).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "v2_known_answers.json"
ROWS = 1_000_000
SEED = 20261201


def indices(n: int) -> list[int]:
    """First, last and three in the middle (as many as exist)."""
    return sorted({i for i in (0, n // 3, n // 2 + 1, (2 * n) // 3 + 7, n - 1) if 0 <= i < n})


def sha(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def labels(recipe: Any, split: str, backend: str = "numpy") -> np.ndarray:
    """Every label of a split, computed without the features."""
    _, y = recipe.plan.rows(backend, split, 0, recipe.n_rows(split), features=False)
    return np.argmax(y, axis=1).astype(np.int8)


def membership(recipe: Any, split: str) -> np.ndarray:
    """The source rows (positions in full) of a split's rows, in order."""
    from juniper_data_core.backends.numpy import NAMESPACE
    from juniper_data_core.split import permute

    plan = recipe.plan
    offset = plan.n_train if split == "test" else 0
    positions = np.arange(offset, offset + recipe.n_rows(split), dtype=np.int64)
    return permute(NAMESPACE, positions, plan.permutation) if plan.shuffle else positions


def case(name: str, label: str) -> dict[str, Any]:
    import juniper_data_core as jd
    from juniper_data_core.generators import REGISTRY

    params = REGISTRY[name].example(label, ROWS, seed=SEED)
    recipe = jd.recipe(name, params)
    out: dict[str, Any] = {
        "generator": name,
        "label": label,
        "params": params,
        "dataset_id": recipe.dataset_id,
    }
    out["rows"] = {}
    for split in jd.SPLITS:
        at = indices(recipe.n_rows(split))
        X = np.concatenate(
            [jd.generate_rows(recipe, split=split, start=i, stop=i + 1, backend="numpy")[0] for i in at]
        )
        out["rows"][split] = {
            "index": at,
            "X": [[float(v) for v in row] for row in X],
            "label": [int(v) for v in labels(recipe, split)[at]],
        }
    out["labels_sha256"] = {split: sha(labels(recipe, split)) for split in jd.SPLITS}
    out["membership_sha256"] = {split: sha(membership(recipe, split)) for split in ("train", "test")}
    return out


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from juniper_data_core.generators import REGISTRY

    names = ("spiral", "xor", "gaussian", "circles", "checkerboard", "moon")
    cases = [case(name, label) for name in names for label in REGISTRY[name].example_labels]
    doc = {
        "about": (
            "Frozen numbers of generator version 2.0.0 (NumPy backend), written by "
            "tools/make_known_answers.py; X values are float32 written as the exact double."
        ),
        "rows": ROWS,
        "seed": SEED,
        "cases": cases,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
