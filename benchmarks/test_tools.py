"""Tests of the benchmark tools (compare.py, report.py) on small synthetic runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import compare, report


def _bench(name: str, median: float, **info: object) -> dict:
    return {
        "name": name,
        "fullname": f"benchmarks/test_x.py::{name}",
        "group": info.get("group"),
        "stats": {"median": median, "mean": median, "min": median, "max": median},
        "extra_info": {k: v for k, v in info.items() if k != "group"},
    }


def _write(path: Path, benches: list[dict]) -> Path:
    path.write_text(json.dumps({"benchmarks": benches, "datetime": "2025-01-01T00:00:00"}))
    return path


def test_compare_passes_within_threshold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = _write(tmp_path / "base.json", [_bench("a", 1.0), _bench("b", 2.0), _bench("gone", 1.0)])
    new = _write(tmp_path / "new.json", [_bench("a", 1.10), _bench("b", 1.0), _bench("added", 1.0)])
    assert compare.main([str(base), str(new), "--threshold", "0.15"]) == 0
    out = capsys.readouterr().out
    assert "+10.0%" in out and "-50.0%" in out and "faster" in out
    assert "only in baseline: benchmarks/test_x.py::gone" in out
    assert "only in new: benchmarks/test_x.py::added" in out


def test_compare_fails_on_slowdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = _write(tmp_path / "base.json", [_bench("a", 1.0), _bench("b", 2.0)])
    new = _write(tmp_path / "new.json", [_bench("a", 1.2), _bench("b", 2.0)])
    assert compare.main([str(base), str(new)]) == 1  # +20% > the default 15%
    out = capsys.readouterr().out
    assert "SLOWER" in out and "FAIL" in out
    assert compare.main([str(base), str(new), "--threshold", "0.25"]) == 0


N = 10_000_000


def _synthetic_run() -> list[dict]:
    e = {"role": "engine", "generator": "spiral", "n_rows": N}
    return [
        # engine, numba: full 0.2 s (20 ns/row), contract 0.5 s (50 ns/row)
        _bench("full-numba", 0.2, kind="full", backend="numba", bytes=16 * N, **e),
        _bench("contract-numba", 0.5, kind="contract", backend="numba", bytes=32 * N, **e),
        _bench("full-numpy", 0.8, kind="full", backend="numpy", bytes=16 * N, **e),
        # peers
        _bench("moons", 5.0, role="peer", kind="full", peer="make_moons", n_rows=N),
        _bench("v1gen", 0.7, role="peer", kind="full", peer="v1-generation", n_rows=N),
        _bench("v1pipe", 3.0, role="peer", kind="contract", peer="v1-pipeline", n_rows=N),
        _bench("moons+split", 6.0, role="peer", kind="contract", peer="make_moons+split", n_rows=N),
        _bench("copy", 0.05, role="floor", kind="full", peer="floor-copy", n_rows=N),
        _bench("copy2", 0.1, role="floor", kind="contract", peer="floor-copy", n_rows=N),
        # writers, memory, service
        _bench(
            "npz",
            0.4,
            role="engine",
            kind="write",
            format="npz",
            generator="spiral",
            backend="numba",
            n_rows=N,
            bytes=320_000_000,
        ),
        _bench(
            "savez", 0.8, role="peer", kind="write", format="npz", peer="np.savez", n_rows=N, bytes=N * 32
        ),
        _bench(
            "arrow-stream",
            0.25,
            role="engine",
            kind="stream",
            format="arrow",
            generator="spiral",
            backend="numba",
            n_rows=N,
            bytes=200_000_000,
        ),
        _bench(
            "mem",
            9.0,
            role="memory",
            kind="memory",
            generator="spiral",
            backend="numba",
            n_rows=N,
            array_bytes=320_000_000,
            tracemalloc_peak=336_000_000,
            rss_peak_growth=352_000_000,
        ),
        _bench(
            "svc",
            2.0,
            role="service",
            kind="service-small",
            clients=8,
            requests=400,
            n_rows=2000,
            dataset="same",
        ),
        _bench(
            "big",
            0.5,
            role="service",
            kind="service-large",
            format="arrow",
            source="cached",
            n_rows=N,
            bytes=160_000_000,
        ),
    ]


def test_report_tables_have_ratios_of_medians(tmp_path: Path) -> None:
    results = _write(tmp_path / "run.json", _synthetic_run())
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "benchmarks.md").write_text(
        f"# Benchmarks\n\nhand-written\n\n{report.BEGIN}\nold\n{report.END}\n\ntail\n"
    )
    assert report.main([str(results), "--out", str(docs)]) == 0
    md = (docs / "benchmarks.md").read_text()
    assert "hand-written" in md and "tail" in md and "\nold\n" not in md
    # Targets: full 5.0/0.2 = 25x make_moons (met), 0.7/0.2 = 3.5x v1 generation (missed);
    # contract 3.0/0.5 = 6x v1 pipeline (met), 6.0/0.5 = 12x moons+split (met).
    assert "| X_full + y_full alone | 20.0 | make_moons | 500.0 | 25.0x | >= 15x | met |" in md
    assert "| X_full + y_full alone | 20.0 | v1-generation | 70.0 | 3.50x | >= 4x | **missed** |" in md
    assert "| whole contract dataset | 50.0 | v1-pipeline | 300.0 | 6.00x | >= 5x | met |" in md
    assert "| whole contract dataset | 50.0 | make_moons+split | 600.0 | 12.0x | >= 8x | met |" in md
    # Floors: engine / floor = 0.2 / 0.05 = 4x; 0.5 / 0.1 = 5x.
    assert "4.00x the floor's time" in md and "5.00x the floor's time" in md
    # ns/row table and ratio table (numpy: 5.0/0.8 = 6.25x moons, 0.7/0.8 = 0.87x v1, 0.8/0.05 = 16x floor).
    assert "| spiral | numba | 20.0 |" in md and "| spiral | numpy | 80.0 |" in md
    assert "| spiral | numpy | 6.25x | 0.87x | 16.0x |" in md
    assert "| spiral | numba | 25.0x | 3.50x | 4.00x |" in md
    # Throughputs: 320 MB / 0.4 s = 0.80 GB/s; 400 requests / 2 s = 200/s; 160 MB / 0.5 s = 0.32 GB/s.
    assert "| npz | Dataset (writer alone) | numba | 1e7 | 320.0 | 40.0 | 0.80 |" in md
    assert "| npz | np.savez of the Dataset (peer) | - | 1e7 | 320.0 | 80.0 | 0.40 |" in md
    # Artifact targets: the writer 0.80 GB/s against np.savez's 0.40; Arrow streamed 200 MB / 0.25 s.
    assert "| npz writer alone | 0.80 GB/s | >= np.savez 0.40 GB/s | met |" in md
    assert "| arrow streamed from a Recipe | 0.80 GB/s | >= 0.8 GB/s | met |" in md
    assert "| same | 8 | 400 | 200 | 40.0 |" in md
    assert "| arrow | cached | 1e7 | 160 | 0.50 | 0.32 |" in md
    assert "tracemalloc peak 1.05x" in md and "(target <= 1.5x: met)" in md
    assert "of which X_full/y_full 20.0 (40%) and the train/test part 30.0 (60%)" in md
    assert (docs / "img" / "rows_per_s_full.png").stat().st_size > 1000
    assert (docs / "img" / "ratio_contract.png").exists()
