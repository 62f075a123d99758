"""Measure how far each backend's outputs are from NumPy's.

Run from the repository root::

    python benchmarks/ulp_report.py             # about 1e6 rows per case
    python benchmarks/ulp_report.py --rows 100000

For every generator's example params (``GeneratorSpec.examples``, the table the tests
and the benchmarks use), and every backend present besides NumPy, it prints per case:

- ``ulp``: the largest ``max|a - b| / spacing(max|a|)`` over ``X_full``, ``X_train``,
  ``X_test`` (the quantity the tests bound by 4, per array), and ``abs``: ``max|a - b|``;
- ``labels``: rows whose one-hot label differs (must be 0);
- ``X bits``: elements of ``X_full`` that differ at all (must be 0 for the
  ``-uniform`` cases, whose values are uniforms scaled and shifted, noise 0).

An element-wise relative figure is not meaningful: a value near 0 that is the sum of
a point and its noise keeps the absolute error of its larger terms.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

import juniper_data_core as jd
from juniper_data_core.generators import REGISTRY

ULP_BOUND = 4


def cases(rows: int) -> dict[str, tuple[str, dict[str, Any]]]:
    """``"<generator>-<label>"`` -> every example of every generator, about ``rows`` rows each."""
    return {
        f"{name}-{label}": (name, spec.example(label, rows, seed=seed))
        for seed, (name, spec) in enumerate(sorted(REGISTRY.items()), start=1)
        if not spec.from_source
        for label in spec.example_labels
    }


def array_ulps(a: np.ndarray, b: np.ndarray) -> float:
    scale = np.spacing(np.float32(np.max(np.abs(a))))
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))) / scale)


def max_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    others = [b for b in jd.available_backends() if b != "numpy"]
    print(f"rows ~{args.rows}; backends {', '.join(others)} against numpy")
    worst, ok = 0.0, True
    for label, (name, params) in cases(args.rows).items():
        ref = jd.generate(name, params, backend="numpy").arrays
        for backend in others:
            got = jd.generate(name, params, backend=backend).arrays
            keys = ("X_full", "X_train", "X_test")
            ulp = max(array_ulps(ref[k], got[k]) for k in keys)
            diff = max(max_abs(ref[k], got[k]) for k in keys)
            labels = sum(int(np.any(ref[k] != got[k], axis=1).sum()) for k in ("y_full", "y_train", "y_test"))
            bits = int(np.sum(ref["X_full"] != got["X_full"]))
            worst = max(worst, ulp)
            ok &= labels == 0 and ulp <= ULP_BOUND and (bits == 0 or not label.endswith("-uniform"))
            print(
                f"{label:21s} {backend:6s} ulp {ulp:5.1f}  abs {diff:.1e}  labels {labels}  "
                f"X bits {bits}/{ref['X_full'].size}"
            )
    print(f"worst per-array figure: {worst:.1f} ulp (tests allow {ULP_BOUND})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
