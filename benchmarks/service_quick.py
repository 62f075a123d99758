"""Quick service figures over loopback: artifact throughput, server RSS while streaming, Cascor's loop.

Starts ``python -m juniper_data_service`` in a subprocess (fresh storage directory) and drives it
with httpx. Not a test: it prints numbers.

    python benchmarks/service_quick.py [--rows-large 100000000] [--backend numba]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _start(port: int, storage: str, backend: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "JUNIPER_DATA_PORT": str(port),
        "JUNIPER_DATA_STORAGE_PATH": storage,
        "JUNIPER_DATA_MAX_ROWS": str(10**9),
        "JUNIPER_DATA_LOG_LEVEL": "WARNING",
        "JUNIPER_DATA_BACKEND": backend,
    }
    proc = subprocess.Popen([sys.executable, "-m", "juniper_data_service"], env=env)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health/live").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def _create(url: str, points_per_arm: int, seed: int) -> str:
    params = {"n_spirals": 2, "n_points_per_spiral": points_per_arm, "seed": seed}
    body = {"generator": "spiral", "params": params}
    r = httpx.post(f"{url}/v1/datasets", json=body, timeout=600)
    r.raise_for_status()
    return str(r.json()["dataset_id"])


def _download(url: str, dataset_id: str, params: dict[str, Any]) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = 0
    with httpx.stream("GET", f"{url}/v1/datasets/{dataset_id}/artifact", params=params, timeout=3600) as r:
        r.raise_for_status()
        for chunk in r.iter_bytes(1 << 20):
            n += len(chunk)
    return n, time.perf_counter() - t0


def _report(label: str, n: int, seconds: float) -> None:
    print(f"{label:<48} {n / 1e6:10.1f} MB {seconds:8.2f} s {n / seconds / 1e6:9.1f} MB/s")


def _rss_while(pid: int, work: Any) -> tuple[float, float]:
    base = _rss_mb(pid)
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb(pid))
            time.sleep(0.05)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        work()
    finally:
        done.set()
        t.join()
    return base, peak[0]


def _cascor_loop(url: str, clients: int, seconds: float) -> float:
    body = {
        "generator": "spiral",
        "params": {"n_spirals": 2, "n_points": 1000, "n_rotations": 2, "noise_level": 0.25, "seed": 42},
    }
    stop = time.perf_counter() + seconds
    counts = [0] * clients

    def worker(i: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            while time.perf_counter() < stop:
                dataset_id = c.post("/v1/datasets", json=body).json()["dataset_id"]
                c.get(f"/v1/datasets/{dataset_id}/artifact").raise_for_status()
                counts[i] += 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return sum(counts) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--rows-large", type=int, default=100_000_000)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--port", type=int, default=8177)
    args = ap.parse_args()
    url = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as storage:
        proc = _start(args.port, storage, args.backend)
        try:
            print(f"server pid {proc.pid}, backend {args.backend}, cpus {os.cpu_count()}")
            dataset_id = _create(url, args.rows // 2, seed=1)
            arrow = _download(url, dataset_id, {"format": "arrow"})
            _report(f"arrow {args.rows:.0e} rows, generated", *arrow)
            _report(f"npz {args.rows:.0e} rows, miss (generated + cached)", *_download(url, dataset_id, {}))
            _report(f"npz {args.rows:.0e} rows, cached", *_download(url, dataset_id, {}))
            big = _create(url, args.rows_large // 2, seed=2)
            result: list[tuple[int, float]] = []
            base, peak = _rss_while(proc.pid, lambda: result.append(_download(url, big, {"format": "arrow"})))
            _report(f"arrow {args.rows_large:.0e} rows, generated", *result[0])
            print(f"server RSS while streaming: {base:.0f} MB -> peak {peak:.0f} MB (+{peak - base:.0f} MB)")
            rate = _cascor_loop(url, clients=8, seconds=10)
            print(f"cascor create+download, 8 clients: {rate:.0f} pairs/s ({2 * rate:.0f} requests/s)")
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
