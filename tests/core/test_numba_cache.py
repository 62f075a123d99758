"""Numba's compiled loops are kept on disk and found again by a later process, with the same bits.

Each process here is a fresh interpreter with its own ``NUMBA_CACHE_DIR``; the counts come from
Numba's own dispatcher statistics (hits: loaded from disk; misses: compiled).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import juniper_data_core as jd

pytestmark = pytest.mark.skipif("numba" not in jd.available_backends(), reason="needs numba")

ROOT = Path(__file__).resolve().parents[2]
RECIPES = {
    "spiral": {"n_spirals": 3, "n_points_per_spiral": 3000, "seed": 5},
    "xor": {"n_points_per_quadrant": 2000, "seed": 6},
}
_CHILD = """
import json, sys
import numpy as np
import juniper_data_core as jd
from juniper_data_core.backends import numba as nb

recipes, out = json.loads(sys.argv[1]), sys.argv[2]
arrays = {}
for name, params in recipes.items():
    for key, array in jd.generate(jd.recipe(name, params), backend="numba").arrays.items():
        arrays[f"{name}.{key}"] = array
np.savez(out, **arrays)
stats = {name: [sum(loop.stats.cache_hits.values()), sum(loop.stats.cache_misses.values())]
         for (name, _), loop in nb._loops.items()}
print(json.dumps(stats))
"""


def _run(cache_dir: Path, out: Path, recipes: dict[str, dict[str, int]], **env: str) -> dict[str, list[int]]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("JUNIPER_DATA_", "NUMBA_"))}
    environ.update(NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT), **env)
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(recipes), str(out)],
        capture_output=True,
        env=environ,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    stats: dict[str, list[int]] = json.loads(result.stdout.decode().splitlines()[-1])
    return stats


def _loaded(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return dict(npz)


@pytest.mark.slow
def test_a_later_process_loads_each_generators_loop_from_disk_with_the_same_bits(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = _run(cache, tmp_path / "first.npz", RECIPES)
    second = _run(cache, tmp_path / "second.npz", RECIPES)
    off = _run(cache, tmp_path / "off.npz", {"xor": RECIPES["xor"]}, JUNIPER_DATA_NUMBA_CACHE="0")

    # The kernels' names, as the backend keys its loops (spiral's is named by its algorithm).
    assert len(first) == 2 and all(stat == [0, 1] for stat in first.values()), first
    assert second == {name: [1, 0] for name in first}, second
    assert off == {"xor": [0, 1]}, off
    # Both generators' loops share one source line, so one index file holds both; each must load
    # its own code, or the arrays below would differ.
    assert len(list(cache.rglob("*.nbi"))) == 1

    a, b, c = _loaded(tmp_path / "first.npz"), _loaded(tmp_path / "second.npz"), _loaded(tmp_path / "off.npz")
    assert a.keys() == b.keys() and len(a) == 12
    for key in a:
        np.testing.assert_array_equal(b[key], a[key], err_msg=key)
        if key.startswith("xor."):
            np.testing.assert_array_equal(c[key], a[key], err_msg=key)
    # And what was loaded is what this process computes.
    for name, params in RECIPES.items():
        for key, array in jd.generate(jd.recipe(name, params), backend="numba").arrays.items():
            np.testing.assert_array_equal(b[f"{name}.{key}"], array, err_msg=f"{name}.{key}")
