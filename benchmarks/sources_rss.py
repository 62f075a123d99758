"""Peak memory and speed of importing a large CSV as a source (run once, by hand; not in CI).

``python -m benchmarks.sources_rss [--gb 2] [--dir /tmp/juniper-rss]`` writes a numeric CSV of
about that many gigabytes (6 float columns, an int label; written by pyarrow in batches), then
imports it in a fresh subprocess and prints JSON: the CSV's bytes, the seconds, MB/s, and the
peak resident set (``VmHWM``) of the importing process, with pyarrow's streaming reader alone
(parse only, nothing kept) measured the same way beside it. Target: under 500 MB peak for 2 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROWS_PER_BATCH = 1 << 20

IMPORT = r"""
import json, sys, time
from juniper_data_core import sources
path, target = sys.argv[1], sys.argv[2]
t = time.perf_counter()
info = sources.SourceDirectory(target).import_file(path)
seconds = time.perf_counter() - t
hwm = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "peak_rss": hwm, "n_rows": info.n_rows}))
"""

PARSE = r"""
import json, sys, time
import pyarrow.csv as pcsv
from juniper_data_core.sources.readers import BLOCK_BYTES
t = time.perf_counter()
options = pcsv.ReadOptions(block_size=BLOCK_BYTES)
rows = sum(b.num_rows for b in pcsv.open_csv(sys.argv[1], read_options=options))
seconds = time.perf_counter() - t
hwm = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "peak_rss": hwm, "n_rows": rows}))
"""


def write_csv(path: Path, target_bytes: int) -> None:
    """A numeric CSV of about ``target_bytes``, written batch by batch (bounded memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(0)
    schema = pa.schema([*(pa.field(f"f{j}", pa.float64()) for j in range(6)), pa.field("label", pa.int64())])
    with pcsv.CSVWriter(path, schema) as writer:
        while path.stat().st_size < target_bytes:
            columns = [np.round(rng.normal(size=ROWS_PER_BATCH), 6) for _ in range(6)]
            columns.append(rng.integers(0, 4, size=ROWS_PER_BATCH))
            writer.write_batch(pa.record_batch(columns, schema=schema))


def measure(script: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", script, *args], check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0, help="size of the CSV in GB (1e9 bytes)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/juniper-rss"), help="where files go")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"numeric-{args.gb:g}gb.csv"
    if not path.exists() or path.stat().st_size < args.gb * 1e9:
        write_csv(path, int(args.gb * 1e9))
    size = path.stat().st_size
    target = args.dir / "sources"
    for old in target.glob("*"):
        old.unlink()
    imported = measure(IMPORT, str(path), str(target))
    parsed = measure(PARSE, str(path))
    report = {
        "csv_bytes": size,
        "import": {**imported, "mb_per_s": size / imported["seconds"] / 1e6},
        "pyarrow_parse_only": {**parsed, "mb_per_s": size / parsed["seconds"] / 1e6},
        "import_vs_parse_speed": parsed["seconds"] / imported["seconds"],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
