"""Compare two pytest-benchmark JSON runs by benchmark name; exit 1 on a slowdown.

    python benchmarks/compare.py benchmarks/baselines/cpu2-x86_64.json NEW.json [--threshold 0.15]

For every benchmark in both files (matched by ``fullname``), the change is
``new median / baseline median - 1``; one above ``--threshold`` is a regression.
Prints a table (slowest changes first) and lists benchmarks present in only one file.
Benchmarks whose timing is not a figure (``extra_info.role == "memory"``) are skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def medians(path: str | Path) -> dict[str, float]:
    """Benchmark name -> median seconds."""
    doc = json.loads(Path(path).read_text())
    out = {}
    for b in doc.get("benchmarks", []):
        if b.get("extra_info", {}).get("role") == "memory":
            continue
        out[b.get("fullname") or b["name"]] = float(b["stats"]["median"])
    return out


def compare(base: dict[str, float], new: dict[str, float], threshold: float) -> tuple[list[tuple], bool]:
    """Rows ``(name, base, new, change, status)`` (largest change first) and whether any regressed."""
    rows = []
    failed = False
    for name in sorted(set(base) & set(new)):
        change = new[name] / base[name] - 1.0 if base[name] > 0 else 0.0
        if change > threshold:
            status, failed = "SLOWER", True
        elif change < -threshold:
            status = "faster"
        else:
            status = "ok"
        rows.append((name, base[name], new[name], change, status))
    rows.sort(key=lambda r: -r[3])
    return rows, failed


def _fmt_time(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", help="baseline pytest-benchmark JSON")
    parser.add_argument("new", help="new pytest-benchmark JSON")
    parser.add_argument(
        "--threshold", type=float, default=0.15, help="largest tolerated slowdown (0.15 = 15%%)"
    )
    args = parser.parse_args(argv)
    base, new = medians(args.baseline), medians(args.new)
    rows, failed = compare(base, new, args.threshold)
    width = max([len(r[0]) for r in rows] + [9])
    print(f"{'benchmark':<{width}}  {'baseline':>10}  {'new':>10}  {'change':>8}  status")
    for name, b, n, change, status in rows:
        print(f"{name:<{width}}  {_fmt_time(b):>10}  {_fmt_time(n):>10}  {change:>+8.1%}  {status}")
    for name in sorted(set(base) - set(new)):
        print(f"only in baseline: {name}")
    for name in sorted(set(new) - set(base)):
        print(f"only in new: {name}")
    slower = sum(r[4] == "SLOWER" for r in rows)
    print(
        f"{len(rows)} compared, {slower} slower than {args.threshold:.0%} over the baseline"
        + (": FAIL" if failed else ": ok")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
