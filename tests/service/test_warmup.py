"""Numba kernels are compiled at start-up, in the background, in a fresh server process.

A subprocess, because kernels compiled by other tests in this process would make any
first request fast whether or not the service warmed them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import juniper_data_core as jd

pytestmark = pytest.mark.slow


@pytest.fixture
def numba_server(tmp_path: Path) -> Iterator[str]:
    if "numba" not in jd.available_backends():
        pytest.skip("numba is not available")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "JUNIPER_DATA_PORT": str(port),
        "JUNIPER_DATA_STORAGE_PATH": str(tmp_path),
        "JUNIPER_DATA_BACKEND": "numba",
        "JUNIPER_DATA_LOG_LEVEL": "WARNING",
        # An empty on-disk cache: the kernels are really compiled (later starts load them).
        "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache"),
    }
    proc = subprocess.Popen([sys.executable, "-m", "juniper_data_service"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/v1/health/live", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the service did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def test_numba_kernels_are_compiled_at_start_up(numba_server: str) -> None:
    url = numba_server
    statuses = []
    probes = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        ready = httpx.get(f"{url}/v1/health/ready", timeout=30).json()
        kernels = ready["dependencies"]["kernels"]
        statuses.append(kernels["status"])
        assert ready["status"] == "ready"  # warming does not make the service unready
        if kernels["status"] != "warming":
            break
        probes.append(httpx.get(f"{url}/v1/health", timeout=30).status_code)
        time.sleep(0.2)
    assert statuses[0] == "warming" and statuses[-1] == "healthy", statuses
    for name, info in jd.generator_catalog().items():
        assert (name in kernels["message"]) != info["from_source"]
    # The event loop stays free meanwhile: health is answered all through the compilation (how
    # fast is for the benchmarks; a shared machine makes timings noisy).
    assert len(probes) >= 3 and set(probes) == {200}, probes
    body = {"generator": "moon", "params": {"seed": 1}, "backend": "numba"}
    r = httpx.post(f"{url}/v1/datasets", json=body, timeout=120)
    assert r.status_code == 201 and r.json()["meta"]["backend"] == "numba"
