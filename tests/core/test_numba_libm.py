"""The Numba backend's own float32 sin, cos and log (backends/numba_libm.py): within one
float32 ulp of the float64 reference, over the arguments the generators produce and beyond."""

from __future__ import annotations

import numpy as np
import pytest

numba = pytest.importorskip("numba")


@pytest.fixture(scope="module")
def libm() -> dict:
    from juniper_data_core.backends import numba_libm
    from juniper_data_core.backends.numba import _jit_tree

    def vectorised(fn):  # type: ignore[no-untyped-def]
        scalar = _jit_tree(fn)

        @numba.njit
        def apply(x):  # type: ignore[no-untyped-def]
            out = np.empty_like(x)
            for i in range(x.shape[0]):
                out[i] = scalar(x[i])
            return out

        return apply

    return {name: vectorised(getattr(numba_libm, name)) for name in ("sin", "cos", "log")}


def _ulps(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    spacing = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - exact) / spacing


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sin_cos_within_one_ulp(libm: dict, name: str) -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [
            rng.uniform(-np.pi, np.pi, 200_000),  # Box-Muller and reduced spiral angles
            rng.uniform(-200, 200, 100_000),  # legacy spiral angles (radius up to 100)
            rng.uniform(-1e4, 1e4, 20_000),
            np.float32([0.0, np.pi / 4, np.pi / 2, np.pi, -np.pi]),
        ]
    ).astype(np.float32)
    exact = getattr(np, name)(x.astype(np.float64))
    got = libm[name](x)
    assert got.dtype == np.float32
    # Near a zero of the function an ulp of the result is tiny: bound those absolutely.
    small = np.abs(exact) < 1e-3
    assert np.max(_ulps(got[~small], exact[~small])) <= 1.0
    assert np.max(np.abs(got[small] - exact[small])) < 1e-9


def test_log_within_one_ulp_over_open_uniforms(libm: dict) -> None:
    # Box-Muller's argument: ((b >> 9) + 0.5) * 2**-23 for every 23-bit b, sampled, plus the ends.
    m = np.concatenate([np.arange(0, 1 << 23, 37), [0, 1, (1 << 23) - 1]])
    x = ((m + 0.5) * 2.0**-23).astype(np.float32)
    exact = np.log(x.astype(np.float64))
    got = libm["log"](x)
    away = np.abs(exact) > 1e-6  # log(1 - 2**-24) is -6e-8: one ulp there is absolute
    assert np.max(_ulps(got[away], exact[away])) <= 1.0
    assert np.max(np.abs(got - exact)) < 1e-6
    wide = np.float32([1e-30, 1e-5, 0.5, 1.0, 2.0, 3.0, 1e5, 3e38])
    np.testing.assert_allclose(libm["log"](wide), np.log(wide.astype(np.float64)), rtol=2**-23)
