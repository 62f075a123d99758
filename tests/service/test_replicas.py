"""Several replicas: two service processes on different ports sharing one PostgreSQL (a
schema of the server ``JUNIPER_DATA_TEST_DATABASE_URL`` names) and one blob directory.

A dataset created through one is listed, downloaded and deleted through the other;
identical concurrent creates spread over both give one dataset and one generation; their
reapers never both delete a dataset; a replica killed mid-download leaves the other
serving; PostgreSQL restarted under a running replica gives 503s, then success, without
restarting the replica (that test needs ``JUNIPER_DATA_TEST_PGDATA`` and
``JUNIPER_DATA_TEST_PG_CTL``, which ``.ci/servers.sh`` sets). The same for Redis, on a
Redis server the test starts and restarts itself.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.service.conftest import ServerProcess
from tests.service.test_store_contract import StoreBacking


class Replica(ServerProcess):
    """A server process logging at INFO into ``log`` (the reaper's lines are counted)."""

    def __init__(self, storage: Path, log: Path, **env: str) -> None:
        super().__init__(storage, log, JUNIPER_DATA_LOG_LEVEL="INFO", **env)

    def reaped(self) -> int:
        """How many datasets this replica's reaper has deleted (from its log)."""
        return sum(int(n) for n in re.findall(r"reaped (\d+) expired datasets", self.log.read_text()))

    def rows_generated(self) -> float:
        text = httpx.get(f"{self.url}/metrics", timeout=30).text
        return sum(
            s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == "juniper_data_rows_generated_total"
        )


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Replica, Replica]]:
    """Two replicas on one PostgreSQL schema and one shared blob directory, for the whole
    module (starting a process takes seconds); the test that kills one comes last."""
    root = tmp_path_factory.mktemp("replicas")
    backing = StoreBacking("postgres", root)  # skips when the variable is unset
    env = {
        **backing.service_env(),
        "JUNIPER_DATA_DATABASE_TIMEOUT_SECONDS": "1",
        "JUNIPER_DATA_BLOB_URL": str(root / "shared-blobs"),
        "JUNIPER_DATA_REAPER_INTERVAL_SECONDS": "0.2",
    }
    replicas: list[Replica] = []
    try:
        for name in ("a", "b"):
            (root / name).mkdir()
            replicas.append(Replica(root / name, root / f"{name}.log", **env))
        yield replicas[0], replicas[1]
    finally:
        for replica in replicas:
            replica.stop()
        backing.cleanup()


def _create(url: str, params: dict[str, object], **body: object) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/datasets", json={"generator": "spiral", "params": params, **body}, timeout=120
    )


def test_a_dataset_made_on_one_replica_is_served_and_deleted_by_the_other(
    pair: tuple[Replica, Replica],
) -> None:
    a, b = pair
    r = _create(a.url, {"n_points_per_spiral": 500, "seed": 11}, tags=["shared"])
    assert r.status_code == 201, r.text
    dataset_id = r.json()["dataset_id"]
    assert dataset_id in httpx.get(f"{b.url}/v1/datasets", timeout=30).json()
    filtered = httpx.get(f"{b.url}/v1/datasets/filter", params={"tags": "shared"}, timeout=30).json()
    assert [m["dataset_id"] for m in filtered["datasets"]] == [dataset_id]
    from_b = httpx.get(f"{b.url}/v1/datasets/{dataset_id}/artifact", timeout=60)
    from_a = httpx.get(f"{a.url}/v1/datasets/{dataset_id}/artifact", timeout=60)
    assert from_b.status_code == 200 and from_b.content == from_a.content
    # b served a's cached bytes (content-length: read whole from the shared directory).
    assert from_b.headers["content-length"] == str(len(from_a.content))
    access = httpx.get(f"{a.url}/v1/datasets/{dataset_id}/access", timeout=30).json()
    assert access["access_count"] == 2  # counted in the one shared store
    assert httpx.delete(f"{b.url}/v1/datasets/{dataset_id}", timeout=30).status_code == 204
    assert httpx.get(f"{a.url}/v1/datasets/{dataset_id}", timeout=30).status_code == 404
    assert httpx.delete(f"{a.url}/v1/datasets/{dataset_id}", timeout=30).status_code == 404


def test_identical_creates_on_both_replicas_give_one_dataset_and_one_generation(
    pair: tuple[Replica, Replica],
) -> None:
    a, b = pair
    params = {"n_spirals": 2, "n_points": 1000, "seed": 4242}
    before = a.rows_generated() + b.rows_generated()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: _create((a, b)[i % 2].url, params, tags=[f"t{i}"]), range(8)))
    assert all(r.status_code == 201 for r in answers), [r.text for r in answers]
    assert len({r.json()["dataset_id"] for r in answers}) == 1
    assert a.rows_generated() + b.rows_generated() - before == 2000  # one generation of 2x1000
    dataset_id = answers[0].json()["dataset_id"]
    meta = httpx.get(f"{b.url}/v1/datasets/{dataset_id}", timeout=30).json()
    assert meta["tags"] == sorted(f"t{i}" for i in range(8))


def test_first_downloads_on_both_replicas_generate_an_artifact_once(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    # 600,000 rows: the Arrow stream (12 MB) takes long enough to make that, without the
    # store's lock, both replicas miss the shared cache and generate it.
    r = _create(a.url, {"n_points_per_spiral": 300_000, "seed": 77})
    assert r.status_code == 201, r.text
    dataset_id = r.json()["dataset_id"]
    url = f"/v1/datasets/{dataset_id}/artifact?format=arrow&split=full"
    before = a.rows_generated() + b.rows_generated()
    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda i: httpx.get((a, b)[i % 2].url + url, timeout=300), range(8)))
    assert all(x.status_code == 200 for x in bodies), [x.text[:200] for x in bodies]
    assert len({x.content for x in bodies}) == 1
    assert a.rows_generated() + b.rows_generated() - before == 600_000  # one generation, not two
    assert httpx.delete(f"{a.url}/v1/datasets/{dataset_id}", timeout=30).status_code == 204


def test_datasets_made_from_one_source_on_both_replicas_are_all_recorded(
    pair: tuple[Replica, Replica],
) -> None:
    """The source's record lists its datasets (a delete is refused while they live); made on
    two replicas at once, none of them may be lost from it."""
    a, b = pair
    rows = "".join(f"{i * 0.5},{i % 3}\n" for i in range(40))
    up = httpx.post(
        f"{a.url}/v1/sources?name=shared.csv", content="x,label\n" + rows,
        headers={"Content-Type": "text/csv"}, timeout=60,
    )  # fmt: skip
    assert up.status_code == 201, up.text
    source_id = up.json()["source_id"]

    def make(i: int) -> httpx.Response:
        params = {"source_id": source_id, "label_column": "label", "seed": 500 + i}
        body = {"generator": "csv_import", "params": params}
        return httpx.post(f"{(a, b)[i % 2].url}/v1/datasets", json=body, timeout=120)

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(make, range(32)))
    assert all(r.status_code == 201 for r in made), [r.text for r in made]
    ids = sorted(r.json()["dataset_id"] for r in made)
    assert len(set(ids)) == 32
    assert httpx.get(f"{b.url}/v1/sources/{source_id}", timeout=30).json()["used_by"] == ids
    assert httpx.delete(f"{b.url}/v1/sources/{source_id}", timeout=30).status_code == 409


def test_reapers_of_both_replicas_delete_each_expired_dataset_once(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    ids = []
    for i in range(12):
        r = _create((a, b)[i % 2].url, {"n_points_per_spiral": 50, "seed": 900 + i}, ttl_seconds=1)
        assert r.status_code == 201, r.text
        ids.append(r.json()["dataset_id"])
    kept = _create(a.url, {"n_points_per_spiral": 50, "seed": 999}).json()["dataset_id"]
    deadline = time.monotonic() + 30
    while a.reaped() + b.reaped() < len(ids) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # a few more rounds of both reapers: none may report a second delete
    assert a.reaped() + b.reaped() == len(ids)
    assert kept in httpx.get(f"{b.url}/v1/datasets", timeout=30).json()
    assert not set(ids) & set(httpx.get(f"{b.url}/v1/datasets", timeout=30).json())
    shared = a.log.parent / "shared-blobs" / "artifacts"
    left = {p.name for p in shared.iterdir()}
    assert f"{kept}.npz" in left and not {f"{i}.npz" for i in ids} & left  # cached bytes went too


def _pg_ctl(action: str) -> None:
    pgdata, pg_ctl = os.environ.get("JUNIPER_DATA_TEST_PGDATA"), os.environ.get("JUNIPER_DATA_TEST_PG_CTL")
    assert pgdata and pg_ctl
    command = f"'{pg_ctl}' -D '{pgdata}' -m fast -w -l '{pgdata}/server.log' {action}"
    user = os.environ.get("JUNIPER_DATA_TEST_PG_USER", "")
    argv = ["su", user, "-s", "/bin/sh", "-c", command] if user else ["sh", "-c", command]
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


def test_postgres_restart_gives_503_then_success_without_restarting_the_replica(
    pair: tuple[Replica, Replica],
) -> None:
    if not (os.environ.get("JUNIPER_DATA_TEST_PGDATA") and os.environ.get("JUNIPER_DATA_TEST_PG_CTL")):
        pytest.skip("restarting PostgreSQL needs JUNIPER_DATA_TEST_PGDATA and JUNIPER_DATA_TEST_PG_CTL")
    a, _ = pair
    created = _create(a.url, {"n_points_per_spiral": 100, "seed": 77})
    dataset_id = created.json()["dataset_id"]
    _pg_ctl("stop")
    try:
        down = httpx.get(f"{a.url}/v1/datasets/{dataset_id}", timeout=60)
        assert down.status_code == 503 and "metadata store is unavailable" in down.json()["detail"]
        assert down.headers["retry-after"] == "1"
        ready = httpx.get(f"{a.url}/v1/health/ready", timeout=60)
        assert ready.status_code == 503 and ready.json()["status"] == "degraded"
        assert ready.json()["dependencies"]["storage"]["status"] == "unhealthy"
        assert "PostgreSQL" in ready.json()["dependencies"]["storage"]["message"]
    finally:
        _pg_ctl("start")
    deadline = time.monotonic() + 30
    while (up := httpx.get(f"{a.url}/v1/datasets/{dataset_id}", timeout=60)).status_code != 200:
        assert up.status_code == 503 and time.monotonic() < deadline
        time.sleep(0.2)
    assert up.json()["dataset_id"] == dataset_id and a.process.poll() is None
    assert httpx.get(f"{a.url}/v1/health/ready", timeout=60).status_code == 200


class OwnRedis:
    """A Redis server of one test's own, to stop and start again; every write is appended
    to its file (fsynced), so a restart keeps the data."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed (.ci/servers.sh installs it)"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self._argv += ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(directory)]
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(self._argv, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(30)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if not os.environ.get("JUNIPER_DATA_TEST_REDIS_URL"):
        pytest.skip("the Redis restart test runs where the Redis servers are (JUNIPER_DATA_TEST_REDIS_URL)")
    server = OwnRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_redis_restart_gives_503_then_success_without_restarting_the_service(
    own_redis: OwnRedis, tmp_path: Path
) -> None:
    service = ServerProcess(
        tmp_path / "storage",
        tmp_path / "service.log",
        JUNIPER_DATA_STORAGE="redis",
        JUNIPER_DATA_REDIS_URL=own_redis.url,
        JUNIPER_DATA_DATABASE_TIMEOUT_SECONDS="1",
    )
    try:
        created = _create(service.url, {"n_points_per_spiral": 100, "seed": 78})
        assert created.status_code == 201, created.text
        dataset_id = created.json()["dataset_id"]
        own_redis.stop()
        down = httpx.get(f"{service.url}/v1/datasets/{dataset_id}", timeout=60)
        assert down.status_code == 503 and "metadata store is unavailable" in down.json()["detail"]
        ready = httpx.get(f"{service.url}/v1/health/ready", timeout=60)
        assert ready.status_code == 503 and "Redis" in ready.json()["dependencies"]["storage"]["message"]
        own_redis.start()
        deadline = time.monotonic() + 30
        while (up := httpx.get(f"{service.url}/v1/datasets/{dataset_id}", timeout=60)).status_code != 200:
            assert up.status_code == 503 and time.monotonic() < deadline
            time.sleep(0.2)
        assert up.json()["dataset_id"] == dataset_id and service.process.poll() is None
        again = _create(service.url, {"n_points_per_spiral": 100, "seed": 79})
        assert again.status_code == 201, again.text
    finally:
        service.stop()


def test_killing_a_replica_mid_download_leaves_the_other_serving(pair: tuple[Replica, Replica]) -> None:
    a, b = pair
    # Past the size generated on create: the download generates and streams.
    r = _create(a.url, {"n_points_per_spiral": 1_500_000, "seed": 31}, backend="numpy")
    dataset_id = r.json()["dataset_id"]
    url = f"/v1/datasets/{dataset_id}/artifact"
    with pytest.raises(httpx.HTTPError), httpx.stream("GET", f"{a.url}{url}", timeout=60) as stream:
        chunks = stream.iter_raw()
        next(chunks)
        os.kill(a.process.pid, signal.SIGKILL)
        for _ in chunks:  # the rest never comes: the connection drops
            pass
    a.process.wait(30)
    whole = httpx.get(f"{b.url}{url}", params={"format": "arrow", "limit": 1000}, timeout=60)
    assert whole.status_code == 200 and len(whole.content) > 1000 * 8
    again = _create(b.url, {"n_points_per_spiral": 100, "seed": 32})
    assert again.status_code == 201
    assert httpx.get(f"{b.url}/v1/health/ready", timeout=60).status_code == 200


def test_compose_replicas_profile_shares_one_database_and_one_volume() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML parses compose.yaml")
    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "compose.yaml").read_text())
    services = compose["services"]
    replicas = [services["juniper-data-replica-1"], services["juniper-data-replica-2"]]
    assert len({r["ports"][0].split(":")[-2] for r in replicas}) == 2  # two host ports
    for replica in replicas:
        env = replica["environment"]
        assert replica["profiles"] == ["replicas"]
        assert (
            "@postgres:5432/" in env["JUNIPER_DATA_DATABASE_URL"]
            and "redis:6379" in env["JUNIPER_DATA_REDIS_URL"]
        )
        assert replica["volumes"] == ["juniper-data-shared:/data"] and env["JUNIPER_DATA_BLOB_URL"] == "/data"
        assert {name: dep["condition"] for name, dep in replica["depends_on"].items()} == {
            "postgres": "service_healthy",
            "redis": "service_healthy",
        }
        assert "/v1/health/ready" in " ".join(replica["healthcheck"]["test"])
    for name in ("postgres", "redis"):
        assert services[name]["profiles"] == ["replicas"] and "healthcheck" in services[name]
        assert str(services[name]["volumes"][0]).split(":")[0] in compose["volumes"]
    assert "--appendonly" in services["redis"]["command"]
