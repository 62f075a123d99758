"""Time streaming the NPZ of a wide gaussian (1024 features) from its recipe, bytes discarded.

    python benchmarks/wide_npz.py [ROWS] [BACKEND]      # default 1e6 rows, numba: 8.2 GB of NPZ

The case where rebuilding a recipe's kernel constants per batch (1024 stream keys) cost most:
2026-12-01, 2-core machine, numba, 1e6 rows: 235-270 s before the compiled plan, 123 s after.
"""

from __future__ import annotations

import sys
import time

import juniper_data_core as jd
from juniper_data_core.formats import iter_npz


def main() -> None:
    rows = int(float(sys.argv[1])) if len(sys.argv) > 1 else 10**6
    backend = sys.argv[2] if len(sys.argv) > 2 else "numba"
    params = {"n_classes": 2, "n_samples_per_class": rows // 2, "n_features": 1024, "seed": 1}
    recipe = jd.recipe("gaussian", params)
    for _ in iter_npz(jd.recipe("gaussian", {"n_features": 1024, "seed": 2}), backend=backend):
        pass  # compile first
    t0 = time.perf_counter()
    n = sum(len(chunk) for chunk in iter_npz(recipe, backend=backend))
    seconds = time.perf_counter() - t0
    print(f"rows={rows} backend={backend} bytes={n} seconds={seconds:.1f} GB/s={n / seconds / 1e9:.3f}")


if __name__ == "__main__":
    main()
