"""Peak memory of ``jd.generate`` against the bytes of the arrays it returns.

Measured in a fresh subprocess (after a tiny warm-up generation, so compilation is
not counted), two ways: the tracemalloc peak (NumPy's allocations are traced; JAX's
device buffers are not) and the growth of the resident set's high-water mark
(``VmHWM``, reset through ``/proc/self/clear_refs`` where the kernel allows). Target,
asserted: peak <= 1.5 x the bytes returned, by both measures (tracemalloc's on the
backends whose buffers it sees). The target is about large datasets, where the arrays
dwarf the fixed-size chunk buffers (at 1e5 rows the NumPy backend's peak is about 2.3x):
sizes under 1e6 rows are measured at 1e6. The figures go to ``extra_info``; the timing of
this benchmark (a whole subprocess) means nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.conftest import size_label

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import json, sys, time, tracemalloc
import juniper_data_core as jd
from benchmarks.peers import engine_params

generator, n, backend = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0

jd.generate(jd.recipe(generator, engine_params(generator, 1000)), backend=backend)  # warm-up
r = jd.recipe(generator, engine_params(generator, n))
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    hwm_reset = True
except OSError:
    hwm_reset = False
rss0 = status("VmRSS")
tracemalloc.start()
t = time.perf_counter()
ds = jd.generate(r, backend=backend)
seconds = time.perf_counter() - t
traced_peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
hwm = status("VmHWM")
array_bytes = sum(a.nbytes for a in ds.arrays.values())
print(json.dumps({
    "array_bytes": array_bytes, "tracemalloc_peak": traced_peak, "rss_peak_growth": hwm - rss0,
    "hwm_reset": hwm_reset, "seconds": seconds,
}))
"""


def measure(generator: str, n: int, backend: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, generator, str(n), backend],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


TARGET = 1.5  # peak memory / bytes returned (docs/benchmarks.md)
MIN_ROWS = 1_000_000  # below this, fixed chunk buffers, not the arrays, set the peak


def test_peak_memory(benchmark, enabled: bool, backend: str, n_rows: int) -> None:
    if enabled and n_rows < MIN_ROWS:
        pytest.skip("peak memory is measured at large sizes only")
    n_rows = max(n_rows, MIN_ROWS)  # the correctness mode's 1e3 rows: measured at 1e6
    benchmark.group = f"memory-{size_label(n_rows)}"
    out = benchmark.pedantic(lambda: measure("spiral", n_rows, backend), rounds=1, iterations=1)
    benchmark.extra_info.update(
        n_rows=n_rows, role="memory", kind="memory", generator="spiral", backend=backend, **out
    )
    array_bytes = out["array_bytes"]
    assert array_bytes == 2 * n_rows * 16
    if backend != "jax":  # JAX's buffers are not traced (its RSS growth counts them)
        assert array_bytes <= out["tracemalloc_peak"] <= TARGET * array_bytes, out
    if out["hwm_reset"]:  # else VmHWM holds the process's earlier peak, not this one's
        assert out["rss_peak_growth"] <= TARGET * array_bytes, out
