"""Options and parametrisation of the benchmark suite.

Two modes, one suite:

- **correctness mode** (a plain ``python -m pytest``: pyproject's addopts has
  ``--benchmark-disable``): every benchmark function runs once, at a tiny size, and
  asserts what its output must be. This is what CI runs.
- **benchmark mode** (``--benchmark-enable``): sizes 1e3, 1e5, 1e7 rows by default
  (1e8 too with ``--bench-huge``); large sizes are timed with one warm-up round (so
  Numba/JAX compilation is excluded) and 5 measured rounds.

Options (or environment): ``--bench-sizes 1e3,1e7`` (``JUNIPER_BENCH_SIZES``),
``--bench-huge``, ``--bench-backends numpy,numba`` (``JUNIPER_BENCH_BACKENDS``),
``--bench-gpu-only`` (engine benchmarks on cupy / jax-on-GPU only; an error if there
is none), ``--bench-rounds`` (default 5).
"""

from __future__ import annotations

import os
import subprocess

import pytest

TINY_SIZES = (1_000,)
DEFAULT_SIZES = (1_000, 100_000, 10_000_000)
HUGE_SIZE = 100_000_000
# Sizes at or above this are timed with pedantic rounds (one warm-up, then --bench-rounds).
PEDANTIC_MIN_ROWS = 1_000_000


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("juniper-bench", "JuniperData benchmarks")
    group.addoption(
        "--bench-sizes",
        default=None,
        help="comma-separated row counts, e.g. 1e3,1e5,1e7 (env JUNIPER_BENCH_SIZES); "
        "default tiny (1e3) with benchmarks disabled, 1e3,1e5,1e7 when enabled",
    )
    group.addoption("--bench-huge", action="store_true", help="also run 1e8 rows")
    group.addoption(
        "--bench-backends",
        default=None,
        help="comma-separated engine backends to run (env JUNIPER_BENCH_BACKENDS); default all present",
    )
    group.addoption(
        "--bench-gpu-only",
        action="store_true",
        help="engine benchmarks on GPU backends only (cupy, jax on a GPU); error if none is present",
    )
    group.addoption("--bench-rounds", type=int, default=5, help="measured rounds at large sizes")
    group.addoption(
        "--bench-large-generators",
        default=None,
        help="comma-separated generators to run at sizes >= 1e6 (env JUNIPER_BENCH_LARGE_GENERATORS); "
        "default all (a shorter run: spiral)",
    )


def benchmarks_enabled(config: pytest.Config) -> bool:
    session = getattr(config, "_benchmarksession", None)
    if session is not None:
        return not session.disabled
    return not (
        config.getoption("benchmark_disable", False) and not config.getoption("benchmark_enable", False)
    )


def _parse_sizes(text: str) -> list[int]:
    return [int(float(s)) for s in text.replace(" ", "").split(",") if s]


def bench_sizes(config: pytest.Config) -> list[int]:
    text = config.getoption("bench_sizes") or os.environ.get("JUNIPER_BENCH_SIZES")
    if text:
        sizes = _parse_sizes(text)
    elif benchmarks_enabled(config):
        sizes = list(DEFAULT_SIZES)
    else:
        sizes = list(TINY_SIZES)
    if config.getoption("bench_huge") and HUGE_SIZE not in sizes:
        sizes.append(HUGE_SIZE)
    return sizes


def size_label(n: int) -> str:
    """``1e7`` for powers of ten, else the number."""
    k = len(str(n)) - 1
    return f"1e{k}" if n == 10**k else str(n)


def _is_gpu_backend(name: str) -> bool:
    if name == "cupy":
        return True
    if name == "jax":
        import jax

        return any(d.platform != "cpu" for d in jax.devices())
    return False


def engine_backends(config: pytest.Config) -> list[str]:
    import juniper_data_core as jd

    present = jd.available_backends()
    text = config.getoption("bench_backends") or os.environ.get("JUNIPER_BENCH_BACKENDS")
    names = [b for b in present if not text or b in text.split(",")]
    if config.getoption("bench_gpu_only"):
        names = [b for b in names if _is_gpu_backend(b)]
        if not names:
            raise pytest.UsageError(
                f"--bench-gpu-only: no GPU backend is present (available: {', '.join(present)}); "
                "install the 'gpu' extra on a machine with a CUDA device"
            )
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    config = metafunc.config
    if "n_rows" in metafunc.fixturenames:
        sizes = bench_sizes(config)
        metafunc.parametrize("n_rows", sizes, ids=[size_label(n) for n in sizes])
    if "backend" in metafunc.fixturenames:
        names = engine_backends(config)
        metafunc.parametrize("backend", names, ids=names)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    text = config.getoption("bench_large_generators") or os.environ.get("JUNIPER_BENCH_LARGE_GENERATORS")
    keep = set(text.split(",")) if text else None
    timed = benchmarks_enabled(config)
    selected, deselected = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        big = params.get("n_rows", 0) >= PEDANTIC_MIN_ROWS
        drop = keep is not None and big and "generator" in params and params["generator"] not in keep
        # The correctness mode measures peak memory on NumPy alone: a subprocess per backend
        # would compile Numba and JAX kernels for a 1e3-row check.
        drop |= not timed and item.name.startswith("test_peak_memory") and params.get("backend") != "numpy"
        (deselected if drop else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture
def enabled(request: pytest.FixtureRequest) -> bool:
    """True when benchmarks are being timed (not the correctness mode)."""
    return benchmarks_enabled(request.config)


@pytest.fixture
def run(benchmark, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """``run(fn, n_rows, group=..., **extra_info)``: time ``fn`` and return its last result.

    Large sizes: ``benchmark.pedantic`` with one warm-up round (compilation excluded)
    and ``--bench-rounds`` rounds. Small sizes: one untimed warm-up call, then
    pytest-benchmark's own calibration. Correctness mode: one call.
    """
    rounds = request.config.getoption("bench_rounds")
    on = benchmarks_enabled(request.config)

    def _run(fn, n_rows: int, *, group: str, **extra):  # type: ignore[no-untyped-def]
        benchmark.group = group
        benchmark.extra_info.update(n_rows=n_rows, **extra)
        if not on:
            return benchmark(fn)
        if n_rows >= PEDANTIC_MIN_ROWS:
            return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)
        fn()
        return benchmark(fn)

    return _run


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: object, output_json: dict) -> None:
    """Drop each benchmark's raw per-round timings from the JSON: the summary statistics are
    what compare.py and report.py read, and the raw rounds made a saved run 12 MB."""
    for bench in output_json.get("benchmarks", []):
        bench.get("stats", {}).pop("data", None)


_SUMMARY = pytest.StashKey[list[str]]()


def summary_line(config: pytest.Config, line: str) -> None:
    """Print ``line`` after the benchmark tables (ratios a benchmark computed across peers it
    ran side by side, which pytest-benchmark's one-time-per-row tables cannot show)."""
    config.stash.setdefault(_SUMMARY, []).append(line)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for line in config.stash.get(_SUMMARY, []):
        terminalreporter.write_line(line)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop a service process the benchmarks started: SIGTERM, then SIGKILL after 30 s."""
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(30)
