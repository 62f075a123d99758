"""A check the source tests share: a recipe read in row chunks, on every backend present,
gives the arrays of one whole generation on NumPy."""

from __future__ import annotations

import numpy as np

import juniper_data_core as jd


def assert_chunks_give_the_whole(recipe: jd.Recipe, step: int) -> None:
    """Rows ``[a, a + step)`` of each split, on each available backend, concatenated, equal
    the split as ``jd.generate(recipe, backend="numpy")`` makes it."""
    whole = jd.generate(recipe, backend="numpy").arrays
    for backend in jd.available_backends():
        for split in ("train", "test", "full"):
            n = recipe.n_rows(split)
            parts = [
                jd.generate_rows(recipe, split=split, start=a, stop=min(n, a + step), backend=backend)
                for a in range(0, n, step)
            ]
            for i, name in enumerate(("X", "y")):
                np.testing.assert_array_equal(
                    np.concatenate([p[i] for p in parts]), whole[f"{name}_{split}"], err_msg=f"{backend}"
                )
