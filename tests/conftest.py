"""Shared test options and fixtures: backends as test parameters (SciPy style).

A backend becomes a test parameter only if it runs here: each absent one is
skipped with a reason. ``--require-gpu`` turns a missing GPU into a failure, so a
GPU job cannot pass by skipping everything: under it the ``cupy`` parameter, the
``jax`` parameter when JAX has no GPU device, and every test marked ``gpu`` fail
instead of skipping when there is no GPU.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

BACKENDS = ("numpy", "numba", "jax", "cupy")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-gpu",
        action="store_true",
        default=False,
        help="fail, not skip, the tests that need a GPU backend (cupy, or jax on a GPU) when none runs",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gpu: needs a GPU backend (cupy, or jax on a GPU)")


def _available() -> list[str]:
    from juniper_data_core import available_backends

    return available_backends()


def _jax_on_gpu() -> bool:
    if "jax" not in _available():
        return False
    import jax

    return any(d.platform != "cpu" for d in jax.devices())


def _has_gpu() -> bool:
    return "cupy" in _available() or _jax_on_gpu()


def check_backend(name: str, config: pytest.Config) -> None:
    """Skip the running test when backend ``name`` cannot run here; with
    ``--require-gpu``, fail instead for cupy, and for jax without a GPU device."""
    require_gpu = config.getoption("--require-gpu")
    available = _available()
    if require_gpu and name == "cupy" and "cupy" not in available:
        pytest.fail("--require-gpu: the cupy backend is not available (no CuPy or no CUDA device)")
    if require_gpu and name == "jax" and not _jax_on_gpu():
        pytest.fail("--require-gpu: the jax backend has no GPU device (CPU-only jaxlib or no CUDA device)")
    if name not in available:
        pytest.skip(f"backend {name!r} is not available here (available: {', '.join(available)})")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("gpu") is None or _has_gpu():
        return
    if item.config.getoption("--require-gpu"):
        pytest.fail("--require-gpu: no GPU backend (cupy, or jax on a GPU) is available")
    pytest.skip("needs a GPU backend (cupy, or jax on a GPU); none is available here")


@pytest.fixture(params=[*BACKENDS[:3], pytest.param("cupy", marks=pytest.mark.gpu)])
def backend(request: pytest.FixtureRequest) -> str:
    """The name of each backend in turn, skipped when absent (see ``--require-gpu``)."""
    check_backend(request.param, request.config)
    return str(request.param)


@pytest.fixture
def require_backend(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """``require_backend(name)`` skips (or, under ``--require-gpu``, fails) the test
    when ``name`` cannot run here; for per-backend test classes."""
    return lambda name: check_backend(name, request.config)
