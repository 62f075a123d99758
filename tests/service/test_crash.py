"""A server killed with SIGKILL in the middle of creates and downloads loses nothing it
acknowledged: after each restart every dataset answered 201 is there, and its artifact
loads, matches its checksum and equals the engine's arrays."""

from __future__ import annotations

import hashlib
import io
import itertools
import threading
import time
from pathlib import Path

import httpx
import numpy as np

import juniper_data_core as jd
from tests.service.conftest import ServerProcess

KILLS = 4


def _traffic(
    url: str, seeds: itertools.count[int], acknowledged: dict[str, dict[str, object]], stop: threading.Event
) -> None:
    """Create datasets (and download some) until the server dies or ``stop`` is set."""
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            seed = next(seeds)
            params = {"n_points_per_spiral": 2000 + seed % 7, "seed": seed}
            try:
                r = client.post("/v1/datasets", json={"generator": "spiral", "params": params})
                if r.status_code == 201:
                    acknowledged[r.json()["dataset_id"]] = params
                    if seed % 3 == 0:
                        client.get(f"/v1/datasets/{r.json()['dataset_id']}/artifact?format=arrow")
            except httpx.TransportError:
                return  # the server was killed


def test_sigkill_during_writes_loses_no_acknowledged_dataset(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    acknowledged: dict[str, dict[str, object]] = {}
    seeds = itertools.count(1)
    for kill in range(KILLS):
        server = ServerProcess(storage, JUNIPER_DATA_BACKEND="numpy")
        stop = threading.Event()
        threads = [
            threading.Thread(target=_traffic, args=(server.url, seeds, acknowledged, stop)) for _ in range(4)
        ]
        for t in threads:
            t.start()
        time.sleep(0.6 + 0.3 * kill)  # somewhere in the middle of writes, differently each time
        server.process.kill()
        server.process.wait()
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert len(acknowledged) >= 20, "too few creates were acknowledged to test anything"

    server = ServerProcess(storage, JUNIPER_DATA_BACKEND="numpy")
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for dataset_id, params in acknowledged.items():
                meta = client.get(f"/v1/datasets/{dataset_id}")
                assert meta.status_code == 200, dataset_id
                body = client.get(f"/v1/datasets/{dataset_id}/artifact")
                assert body.status_code == 200, dataset_id
                checksum = client.get(f"/v1/datasets/{dataset_id}").json()["checksum"]
                assert checksum == hashlib.sha256(body.content).hexdigest(), dataset_id
                expected = jd.generate("spiral", params, backend="numpy").arrays
                with np.load(io.BytesIO(body.content), allow_pickle=False) as npz:
                    for name in jd.ARRAY_NAMES:
                        np.testing.assert_array_equal(npz[name], expected[name], err_msg=dataset_id)
    finally:
        server.stop()
