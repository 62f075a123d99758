"""One scale-out run as a user makes it: a spiral written as partitioned Parquet by a local
cluster, timed, with the peak memory of each worker.

    python benchmarks/scale_run.py --rows 1e9 --workers 2 --out /tmp/jd-scale-1e9

Prints one JSON line: rows, files, bytes written, seconds, rows/s, each worker's private
resident memory (anonymous + shared pages, sampled every 10 ms) once warm and at its peak,
and this process's peak. The output is deleted afterwards unless ``--keep``.
``benchmarks/test_scale.py`` uses the same memory sampler.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
import time
from typing import Any

import juniper_data_core as jd


def private_kb() -> int:
    """This process's private resident memory (RssAnon + RssShmem), KiB. Not VmHWM or
    ru_maxrss, which also count the pages of shared libraries mapped from the page cache."""
    try:
        with open("/proc/self/status") as f:
            status = f.read()
    except OSError:  # not Linux: ru_maxrss, which counts everything, stands in
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return sum(int(status.split(key + ":")[1].split()[0]) for key in ("RssAnon", "RssShmem"))


class PeakMemory:
    """:func:`private_kb`, sampled every 10 ms on a thread until :meth:`stop`."""

    def __init__(self) -> None:
        self.base = self.peak = private_kb()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, private_kb())

    def stop(self) -> tuple[float, float]:
        """``(base, peak)`` in MB."""
        self._done.set()
        self._thread.join()
        return self.base / 1024, max(self.peak, private_kb()) / 1024


def start_sampling(dask_worker: Any) -> None:
    """``client.run(start_sampling)``: a sampler in each worker."""
    dask_worker.juniper_peak = PeakMemory()


def stop_sampling(dask_worker: Any) -> tuple[float, float]:
    """``client.run(stop_sampling)``: each worker's ``(base, peak)`` MB."""
    result: tuple[float, float] = dask_worker.juniper_peak.stop()
    return result


def warm_workers(client: Any, recipe: jd.Recipe) -> None:
    """Load in every worker what the job will use (the backend ``auto`` picks for the
    whole split, its compiled kernel, pyarrow.parquet), so memory is measured warm."""

    def warm() -> None:
        import pyarrow.parquet  # noqa: F401 - imported for its side effect: loaded

        name = jd.backend_for(recipe, "auto", n_rows=recipe.n_rows("full"))
        jd.generate_rows(recipe, start=0, stop=min(1000, recipe.n_rows("full")), backend=name)

    client.run(warm)


def main(argv: list[str] | None = None) -> None:
    import cloudpickle

    from juniper_data_core import dask as scale

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=float, default=1e8, help="total rows (2 spiral arms)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows-per-file", type=int, default=None)
    parser.add_argument("--out", required=True, help="output directory (must not exist)")
    parser.add_argument("--keep", action="store_true", help="keep the output")
    args = parser.parse_args(argv)
    # The samplers run in the workers, which cannot import this script: send them whole.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    recipe = jd.recipe("spiral", {"n_points_per_spiral": int(args.rows) // 2, "seed": 42})
    me = PeakMemory()
    client = scale.connect(f"local:{args.workers}")
    try:
        client.wait_for_workers(args.workers, timeout=120)
        warm_workers(client, recipe)
        client.run(start_sampling)
        start = time.perf_counter()
        result = scale.write_parquet(recipe, args.out, rows_per_file=args.rows_per_file, scheduler=client)
        seconds = time.perf_counter() - start
        workers = client.run(stop_sampling)
    finally:
        client.close()
        if not args.keep:
            shutil.rmtree(args.out, ignore_errors=True)
    _, my_peak = me.stop()
    n = result.manifest["n_rows"]
    print(
        json.dumps(
            {
                "rows": n,
                "workers": args.workers,
                "files": result.manifest["n_files"],
                "rows_per_file": result.manifest["rows_per_file"],
                "bytes_written": result.n_bytes,
                "seconds": round(seconds, 2),
                "rows_per_s": round(n / seconds),
                "backend": result.manifest["files"][0]["backend"],
                "worker_warm_private_mb": [round(b, 1) for b, _ in workers.values()],
                "worker_peak_private_mb": [round(p, 1) for _, p in workers.values()],
                "client_peak_private_mb": round(my_peak, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
