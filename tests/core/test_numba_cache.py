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
if len(sys.argv) > 3:  # a module that registers a generator of its own
    __import__(sys.argv[3])
arrays = {}
for name, params in recipes.items():
    for key, array in jd.generate(jd.recipe(name, params), backend="numba").arrays.items():
        arrays[f"{name}.{key}"] = array
np.savez(out, **arrays)
stats = {name: [sum(loop.stats.cache_hits.values()), sum(loop.stats.cache_misses.values())]
         for (name, _), loop in nb._loops.items()}
print(json.dumps(stats))
"""


def _run(
    cache_dir: Path, out: Path, recipes: dict[str, dict[str, int]], plugin: Path | None = None, **env: str
) -> dict[str, list[int]]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("JUNIPER_DATA_", "NUMBA_"))}
    path = f"{ROOT}{os.pathsep}{plugin.parent}" if plugin else str(ROOT)
    environ.update(NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=path, **env)
    extra = [plugin.stem] if plugin else []
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(recipes), str(out), *extra],
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
    # Both generators' loops share one source line; each has an index file of its own and must
    # load its own code, or the arrays below would differ.
    assert len(list(cache.rglob("*.nbi"))) == 2

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


_PLUGIN = """
import numpy as np
from typing import NamedTuple
from pydantic import Field
import juniper_data_core as jd
from juniper_data_core.generators.base import GeneratorSpec, Shape, SplitParams
from juniper_data_core.generators.kernel import Kernel
from juniper_data_core.rng import stream_key, threefry2x32, uniform

class StripeParams(SplitParams):
    n_samples: int = Field(default=100, ge=2)

class StripeConsts(NamedTuple):
    k0: np.uint32
    k1: np.uint32

def _label(xp, i, c):
    return xp.i32(i % 2)

def _point(xp, i, c):
    lo, hi = xp.counter(i)
    a, b = threefry2x32(c.k0, c.k1, lo, hi)
    return uniform(xp, a), uniform(xp, b) + xp.f32(i % 2)

def _build(p):
    k0, k1 = stream_key(p.rng_seed, 0)
    return Kernel("stripe-plugin", label=_label, point=_point), StripeConsts(np.uint32(k0), np.uint32(k1))

jd.register_generator(GeneratorSpec(
    name="stripe", description="two stripes", params_model=StripeParams,
    shape=lambda p: Shape(p.n_samples, 2, 2), build=_build, sized=lambda p, n: {"n_samples": n},
))
"""


@pytest.mark.slow
def test_a_generator_from_another_module_does_not_break_the_cache_of_the_others(tmp_path: Path) -> None:
    # A process that registered a generator from its own module (here importable only by that
    # process) caches that generator's loop; a later process without the module still loads
    # spiral's loop from the same cache directory.
    plugin = tmp_path / "plugins" / "jd_stripe_plugin.py"
    plugin.parent.mkdir()
    plugin.write_text(_PLUGIN)
    cache = tmp_path / "cache"
    spiral = {"spiral": RECIPES["spiral"]}
    _run(cache, tmp_path / "a.npz", spiral)
    with_plugin = _run(
        cache, tmp_path / "b.npz", {**spiral, "stripe": {"n_samples": 5000, "seed": 1}}, plugin
    )
    without = _run(cache, tmp_path / "c.npz", spiral)
    assert with_plugin == {"spiral-modern": [1, 0], "stripe-plugin": [0, 1]}, with_plugin
    assert without == {"spiral-modern": [1, 0]}, without
    a, c = _loaded(tmp_path / "a.npz"), _loaded(tmp_path / "c.npz")
    for key in a:
        np.testing.assert_array_equal(c[key], a[key], err_msg=key)
