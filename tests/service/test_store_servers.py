"""What only the server stores do: PostgreSQL's migrations, Redis's own expiry, and a
wrong or unreachable URL failing start-up with one line (real servers; see
test_store_contract.py for the variables that name them)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from juniper_data_service.storage import StoreUnavailableError
from juniper_data_service.storage.base import iso
from tests.service.test_store_contract import StoreBacking, meta_of


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[StoreBacking]:
    b = StoreBacking("postgres", tmp_path)
    yield b
    b.cleanup()


@pytest.fixture
def rds(tmp_path: Path) -> Iterator[StoreBacking]:
    b = StoreBacking("redis", tmp_path)
    yield b
    b.cleanup()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed when this returns: nothing listens there


def _versions(url: str) -> list[int]:
    import psycopg

    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT version FROM juniper_data_schema ORDER BY version")]


def test_postgres_creates_the_schema_once(pg: StoreBacking) -> None:
    from juniper_data_service.storage.postgres import SCHEMA_VERSION

    pg.open()
    pg.open()  # a second replica starting: nothing to do, nothing fails
    assert _versions(pg.url) == list(range(1, SCHEMA_VERSION + 1))


def test_postgres_upgrades_an_older_schema_and_keeps_its_rows(pg: StoreBacking) -> None:
    import psycopg

    from juniper_data_service.storage.postgres import SCHEMA_VERSION, migrate

    now = time.time()
    with psycopg.connect(pg.url) as conn:
        assert migrate(conn, target=1) == 0
        conn.execute(
            "INSERT INTO datasets (dataset_id, generator, created_at, n_samples, persist, meta) "
            "VALUES ('old', 'xor', %s, 80, true, %s)",
            (
                now,
                psycopg.types.json.Jsonb(
                    {k: v for k, v in meta_of("old", now).items() if k != "access_count"}
                ),
            ),
        )
        conn.commit()
    assert _versions(pg.url) == [1]
    store = pg.open()
    assert _versions(pg.url) == list(range(1, SCHEMA_VERSION + 1))
    entry = store.get("old", now)
    assert entry is not None and entry.meta["generator"] == "xor"
    with psycopg.connect(pg.url) as conn:  # migration 2's lock table exists and works
        store_lock = store.lock("k", wait_s=1)
        with store_lock as held:
            assert held and conn.execute("SELECT COUNT(*) FROM juniper_data_locks").fetchone() == (1,)


def test_postgres_refuses_a_newer_schema(pg: StoreBacking) -> None:
    import psycopg

    from juniper_data_service.storage.postgres import SCHEMA_VERSION, SchemaVersionError

    pg.open()
    with psycopg.connect(pg.url) as conn:
        conn.execute("INSERT INTO juniper_data_schema (version) VALUES (%s)", (SCHEMA_VERSION + 7,))
    with pytest.raises(SchemaVersionError, match=f"version {SCHEMA_VERSION + 7}, newer than"):
        pg.open()


def test_postgres_unreachable_is_one_line_without_the_password() -> None:
    from juniper_data_service.storage.postgres import PostgresStore

    url = f"postgresql://jd:s3cret@127.0.0.1:{_closed_port()}/jd"
    with pytest.raises(StoreUnavailableError) as info:
        PostgresStore(url, timeout_s=2)
    message = str(info.value)
    assert "\n" not in message and "s3cret" not in message and "cannot be reached" in message
    assert "postgresql://jd:***@127.0.0.1" in message


def test_redis_expires_a_dataset_by_itself(rds: StoreBacking) -> None:
    import redis

    store = rds.open()
    now = time.time()
    store.put(meta_of("brief", now, ttl_seconds=1, expires_at=iso(now + 1)), persist=True, now=now)
    store.put(meta_of("kept", now), persist=True, now=now)
    client = redis.Redis.from_url(rds.url)
    key = f"{rds.name}:ds:brief"
    assert 0 < client.pttl(key) <= 1000
    time.sleep(1.3)
    assert client.exists(key) == 0  # gone without any reaper
    later = time.time()
    assert store.get("brief", later) is None and store.list_ids(10, 0, later) == ["kept"]
    assert store.delete_expired(later) == ["brief"]  # the reaper drops its index entries
    assert client.zscore(f"{rds.name}:idx:created", "brief") is None
    client.close()


def test_redis_keeps_every_key_under_its_prefix(rds: StoreBacking) -> None:
    import redis

    store = rds.open()
    now = time.time()
    store.put(meta_of("a", now, tags=["t"], dataset_name="n"), persist=True, now=now)
    store.touch("a", now)
    with store.lock("k"):
        client = redis.Redis.from_url(rds.url, decode_responses=True)
        keys = set(client.scan_iter(match="*"))
        ours = {k for k in keys if k.startswith(f"{rds.name}:")}
        assert f"{rds.name}:ds:a" in ours and f"{rds.name}:lock:k" in ours
        assert f"{rds.name}:idx:tag:t" in ours and f"{rds.name}:idx:name:n" in ours
        client.close()


def test_redis_unreachable_is_one_line() -> None:
    from juniper_data_service.storage.redis import RedisStore

    with pytest.raises(StoreUnavailableError) as info:
        RedisStore(f"redis://:hunter2@127.0.0.1:{_closed_port()}/0", timeout_s=2)
    message = str(info.value)
    assert "\n" not in message and "hunter2" not in message and "cannot be reached" in message


def _serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("JUNIPER_DATA_")}
    environ.update(JUNIPER_DATA_STORAGE_PATH=str(tmp_path), JUNIPER_DATA_WARM_KERNELS="false", **env)
    return subprocess.run(
        [sys.executable, "-m", "juniper_data_service"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"storage": "redis", "redis_url": "http://127.0.0.1:1"},
            "JUNIPER_DATA_REDIS_URL must start with redis://",
        ),
        ({"storage": "postgres", "database_url": "mysql://x"}, "JUNIPER_DATA_DATABASE_URL must start with"),
        ({"storage": "cassandra"}, "Input should be 'sqlite', 'memory', 'postgres' or 'redis'"),
    ],
)
def test_wrong_store_settings_are_refused(settings: dict[str, str], expected: str) -> None:
    from pydantic import ValidationError

    from juniper_data_service.settings import Settings

    with pytest.raises(ValidationError, match=re.escape(expected)):
        Settings(**settings)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"JUNIPER_DATA_STORAGE": "postgres"},
            "JUNIPER_DATA_STORAGE=postgres needs JUNIPER_DATA_DATABASE_URL",
        ),
        (
            {
                "JUNIPER_DATA_STORAGE": "postgres",
                "JUNIPER_DATA_DATABASE_URL": "postgresql://u:pw@127.0.0.1:{port}/x",
            },
            "cannot start: PostgreSQL at postgresql://u:***@127.0.0.1:{port}/x cannot be reached",
        ),
        (
            {"JUNIPER_DATA_STORAGE": "redis", "JUNIPER_DATA_REDIS_URL": "redis://127.0.0.1:{port}/0"},
            "cannot start: Redis at redis://127.0.0.1:{port}/0 cannot be reached",
        ),
    ],
)
def test_wrong_or_unreachable_store_fails_start_up_with_one_line(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    port = str(_closed_port())
    done = _serve(tmp_path, **{k: v.replace("{port}", port) for k, v in env.items()})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert expected.replace("{port}", port) in lines[0] and "Traceback" not in done.stderr


def test_redis_reaper_spares_a_dataset_made_again_after_redis_expired_it(rds: StoreBacking) -> None:
    store = rds.open()
    now = time.time()
    store.put(meta_of("a", now, ttl_seconds=1, expires_at=iso(now + 1)), persist=True, now=now)
    time.sleep(1.2)  # Redis drops the key; its expiry index entry stays until the reaper runs
    later = time.time()
    _, created = store.put(meta_of("a", later), persist=True, now=later)  # the same recipe, no TTL now
    assert created
    assert store.delete_expired(later + 5) == [] and store.get("a", later + 5) is not None


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://jd:s3cret@db:5432/jd", "postgresql://jd:***@db:5432/jd"),
        ("postgresql://db/jd?user=jd&password=s3cret", "postgresql://db/jd"),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("redis://cache:6379/0", "redis://cache:6379/0"),
    ],
)
def test_messages_never_show_a_password(url: str, shown: str) -> None:
    from juniper_data_service.storage.base import redact

    assert redact(url) == shown
