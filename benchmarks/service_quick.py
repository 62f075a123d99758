"""Quick service figures over loopback: artifact throughput, server RSS while streaming, Cascor's loop.

Starts ``python -m juniper_data_service`` in a subprocess (fresh storage directory) and drives it
over loopback. Not a test: it prints numbers.

    python benchmarks/service_quick.py [--rows 1e7] [--rows-large 1e8] [--backend numba] [--repeat 3]
    python benchmarks/service_quick.py --rows 0 --rows-large 0 --backend numba --no-wait-kernels
    python benchmarks/service_quick.py --rows-large 0 --cascor-seconds 0 --readers client,socket

(``--rows 0`` / ``--rows-large 0`` skip those parts; the second line times Cascor's loop on a server
that has just started, as a client arriving first would see it; the third times only the artifacts
through ``JuniperDataClient`` and the plain socket.)

Each artifact is read by five clients, so that the server's rate and the client's are told apart:

- ``httpx``: ``httpx.stream`` + ``iter_bytes(1 MiB)``, what a user of bare httpx writes (the timing
  includes building the ``httpx.Client``, about 25 ms for its SSL context);
- ``httpx-raw``: ``iter_raw()``, no re-chunking (httpcore still reads 64 KiB per ``recv``);
- ``httpcore-1M``: httpcore (httpx's transport) with a network backend reading 1 MiB per ``recv``;
- ``client``: ``JuniperDataClient`` as a user calls it, on a client built before the timer starts:
  ``download_artifact_bytes`` for NPZ, ``download_arrow(stream=True)`` with every record batch
  decoded for Arrow (its MB column counts the batches' buffers, a little under the body);
- ``socket``: a plain socket reading 4 MiB at a time; the server's own ceiling.

``streamed``: a ``persist=false`` dataset, generated while it streams on every download;
``cached``: a persisted one, whose first download fills the artifact cache (not timed).
Compilation (Numba) is done before timing: the service warms its kernels at start-up and this
script waits for that, then downloads a few rows of each format.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpcore
import httpx

# Run as a script, this file's folder is on sys.path and the repository root is not: put it there so
# that the client timed here is this checkout's, as is the server started with ``python -m``.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from juniper_data_service.client import JuniperDataClient

Reader = Callable[[str, int, str], tuple[int, float]]


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


def _wait_for_kernels(url: str, limit_s: float = 300) -> float:
    """Seconds waited until readiness no longer reports kernels warming (0 when it never did)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        kernels = httpx.get(f"{url}/v1/health/ready", timeout=30).json()["dependencies"].get("kernels")
        if kernels is None or kernels["status"] != "warming":
            break
        time.sleep(0.2)
    return time.perf_counter() - t0


def _create(url: str, points_per_arm: int, seed: int, persist: bool = True) -> str:
    params = {"n_spirals": 2, "n_points_per_spiral": points_per_arm, "seed": seed}
    body = {"generator": "spiral", "params": params, "persist": persist}
    r = httpx.post(f"{url}/v1/datasets", json=body, timeout=600)
    r.raise_for_status()
    return str(r.json()["dataset_id"])


def _httpx(url: str, path: str, raw: bool) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = 0
    with httpx.stream("GET", url + path, timeout=3600) as r:
        r.raise_for_status()
        for chunk in r.iter_raw() if raw else r.iter_bytes(1 << 20):
            n += len(chunk)
    return n, time.perf_counter() - t0


def _socket(port: int, path: str) -> tuple[int, float]:
    """Body bytes and seconds of one GET read off a plain socket (``Connection: close``)."""
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            piece = s.recv(1 << 16)
            if not piece:
                raise RuntimeError(f"GET {path}: connection closed before the headers")
            head += piece
        if head.split(b" ", 2)[1] != b"200":
            raise RuntimeError(f"GET {path}: {head[:200]!r}")
        n = len(head) - head.index(b"\r\n\r\n") - 4
        buf = bytearray(4 << 20)
        while k := s.recv_into(buf):
            n += k
    # Chunked bodies count their chunk-size lines too: a few bytes per MiB.
    return n, time.perf_counter() - t0


class _LargeReads(httpcore.NetworkBackend):
    """httpcore's sync backend with each ``recv`` asking for up to 1 MiB (httpcore asks for 64 KiB)."""

    def __init__(self) -> None:
        self._sync = httpcore.SyncBackend()

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        return _LargeReadStream(self._sync.connect_tcp(*args, **kwargs))

    def sleep(self, seconds: float) -> None:
        self._sync.sleep(seconds)


class _LargeReadStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max(max_bytes, 1 << 20), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


def _httpcore_large_reads(url: str, path: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = 0
    with httpcore.ConnectionPool(network_backend=_LargeReads()) as pool, pool.stream("GET", url + path) as r:
        if r.status != 200:
            raise RuntimeError(f"GET {path}: {r.status}")
        for chunk in r.iter_stream():
            n += len(chunk)
    return n, time.perf_counter() - t0


def _client(url: str, path: str) -> tuple[int, float]:
    """Bytes and seconds of one download of ``path`` (``/v1/datasets/<id>/artifact?format=...``)
    through ``JuniperDataClient``; Arrow counts the decoded batches' buffers."""
    parts = urlsplit(path)
    dataset_id = parts.path.split("/")[3]
    fmt = parse_qs(parts.query).get("format", ["npz"])[0]
    with JuniperDataClient(url, timeout=3600, retries=0) as client:
        t0 = time.perf_counter()
        if fmt == "arrow":
            with client.download_arrow(dataset_id, stream=True) as batches:
                n = sum(batch.nbytes for batch in batches)
        else:
            n = len(client.download_artifact_bytes(dataset_id))
        return n, time.perf_counter() - t0


READERS: dict[str, Reader] = {
    "httpx": lambda url, port, path: _httpx(url, path, raw=False),
    "httpx-raw": lambda url, port, path: _httpx(url, path, raw=True),
    "httpcore-1M": lambda url, port, path: _httpcore_large_reads(url, path),
    "client": lambda url, port, path: _client(url, path),
    "socket": lambda url, port, path: _socket(port, path),
}


def _measure(label: str, url: str, port: int, path: str, repeat: int) -> None:
    for name, read in READERS.items():
        rates = []
        for _ in range(repeat):
            n, seconds = read(url, port, path)
            rates.append(n / seconds / 1e9)
        print(
            f"{label:<34} {name:<11} {n / 1e6:8.1f} MB  GB/s median {statistics.median(rates):5.2f}"
            f"  (min {min(rates):.2f}, max {max(rates):.2f}, n={repeat})",
            flush=True,
        )


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


def _cascor_loop(url: str, clients: int, seconds: float) -> tuple[float, float]:
    """Create-and-download pairs per second over ``seconds``, and the seconds to the first pair."""
    body = {
        "generator": "spiral",
        "params": {"n_spirals": 2, "n_points": 1000, "n_rotations": 2, "noise_level": 0.25, "seed": 42},
    }
    t0 = time.perf_counter()
    stop = t0 + seconds
    counts = [0] * clients
    first: list[float] = []

    def worker(i: int) -> None:
        with httpx.Client(base_url=url, timeout=600) as c:
            while time.perf_counter() < stop:
                dataset_id = c.post("/v1/datasets", json=body).json()["dataset_id"]
                c.get(f"/v1/datasets/{dataset_id}/artifact").raise_for_status()
                first.append(time.perf_counter() - t0)
                counts[i] += 1

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return sum(counts) / (time.perf_counter() - t0), min(first, default=math.inf)


def _artifacts(url: str, port: int, rows: int, repeat: int) -> None:
    streamed = _create(url, rows // 2, seed=1, persist=False)
    cached = _create(url, rows // 2, seed=2)
    for fmt in ("arrow", "npz"):
        for dataset_id, source in ((streamed, "streamed"), (cached, "cached")):
            path = f"/v1/datasets/{dataset_id}/artifact?format={fmt}"
            if source == "cached":
                _httpx(url, path, raw=True)  # fills the cache
            _measure(f"{fmt} {rows:.0e} rows, {source}", url, port, path, repeat)


def _large(url: str, pid: int, rows: int) -> None:
    big = _create(url, rows // 2, seed=4, persist=False)
    path = f"/v1/datasets/{big}/artifact?format=arrow"
    result: list[tuple[int, float]] = []
    base, peak = _rss_while(pid, lambda: result.append(_httpx(url, path, raw=True)))
    n, seconds = result[0]
    print(f"arrow {rows:.0e} rows, streamed (httpx-raw): {n / 1e6:.0f} MB, {n / seconds / 1e9:.2f} GB/s")
    print(f"server RSS while streaming: {base:.0f} MB -> peak {peak:.0f} MB (+{peak - base:.0f} MB)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=float, default=1e7)
    ap.add_argument("--rows-large", type=float, default=1e8)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--port", type=int, default=8177)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cascor-seconds", type=float, default=10)
    ap.add_argument("--readers", default=",".join(READERS), help="comma-separated readers to time")
    ap.add_argument(
        "--no-wait-kernels",
        dest="wait_kernels",
        action="store_false",
        help="start measuring at once, while the service may still be compiling its kernels",
    )
    args = ap.parse_args()
    chosen = args.readers.split(",")
    unknown = sorted(set(chosen) - set(READERS))
    if unknown:
        ap.error(f"unknown readers {unknown}; choose from {list(READERS)}")
    for name in set(READERS) - set(chosen):
        del READERS[name]
    rows, rows_large = int(args.rows), int(args.rows_large)
    url = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as storage:
        proc = _start(args.port, storage, args.backend)
        try:
            print(f"server pid {proc.pid}, backend {args.backend}, cpus {os.cpu_count()}")
            if args.wait_kernels:
                print(f"waited {_wait_for_kernels(url):.1f} s for the service to warm its kernels")
            if rows:
                warm = _create(url, 500_000, seed=3, persist=False)
                for fmt in ("arrow", "npz"):
                    _httpx(url, f"/v1/datasets/{warm}/artifact?format={fmt}&split=train&limit=1000", raw=True)
                _artifacts(url, args.port, rows, args.repeat)
            if rows_large:
                _large(url, proc.pid, rows_large)
            if args.cascor_seconds:
                rate, first = _cascor_loop(url, clients=8, seconds=args.cascor_seconds)
                print(
                    f"cascor create+download, 8 clients, {args.cascor_seconds:.0f} s: {rate:.0f} pairs/s "
                    f"({2 * rate:.0f} requests/s); the first pair took {first:.2f} s"
                )
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
