"""A :class:`DatasetStore` on PostgreSQL (psycopg 3 and its connection pool), for replicas.

The meta document is JSONB; the columns the filters, pagination, stats and the reaper
query (generator, created_at, expires_at, dataset_name, dataset_version, n_samples) sit
beside it, indexed, and tags live in their own table, so every read is one SQL query.
Several replicas may share the database:

- a write locks its dataset ID (and its name, for ``dataset_version``) with transaction
  advisory locks, so identical concurrent creates give one row and versions never repeat;
- :meth:`PostgresStore.claim` holds a lock row (``juniper_data_locks``) across a whole
  create, so one replica generates and the others find its dataset: the row is taken and
  the dataset read in one round trip, and the create's write deletes it in the same
  statement (two round trips for a new dataset, the lock included);
- the reaper deletes rows taken ``FOR UPDATE SKIP LOCKED``: two replicas reaping at once
  never both delete (nor both report) the same dataset.

The schema is created and upgraded by :data:`MIGRATIONS` (version *n* is the *n*-th
entry), each applied once in its own transaction and recorded in ``juniper_data_schema``,
under an advisory lock so replicas starting together do not race. A database whose schema
is newer than this code knows is refused with :class:`SchemaVersionError`.

Connection errors (server down or restarted) become :class:`StoreUnavailableError` (the
service's 503); a pooled connection found dead makes the pool check all of them and the
query run again, so after a restart the first request gets a fresh connection rather
than an error.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from juniper_data_service.storage.base import (
    Claim,
    DatasetStore,
    Entry,
    FilterQuery,
    Meta,
    StoreUnavailableError,
    epoch,
    iso,
    merge_hit,
    redact,
    retag,
)

if TYPE_CHECKING:
    import psycopg

#: Schema migrations, in order; never edit one that has shipped, append a new one.
MIGRATIONS: tuple[str, ...] = (
    # 1: datasets (meta as JSONB beside the queried columns) and their tags.
    """
    CREATE TABLE datasets (
        dataset_id TEXT PRIMARY KEY,
        generator TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION,
        dataset_name TEXT,
        dataset_version INTEGER,
        n_samples BIGINT NOT NULL,
        persist BOOLEAN NOT NULL,
        access_count BIGINT NOT NULL DEFAULT 0,
        last_accessed_at DOUBLE PRECISION,
        meta JSONB NOT NULL
    );
    CREATE INDEX datasets_generator ON datasets (generator);
    CREATE INDEX datasets_created_at ON datasets (created_at DESC, dataset_id);
    CREATE INDEX datasets_expires_at ON datasets (expires_at) WHERE expires_at IS NOT NULL;
    CREATE INDEX datasets_name ON datasets (dataset_name, dataset_version);
    CREATE TABLE dataset_tags (
        dataset_id TEXT NOT NULL REFERENCES datasets (dataset_id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (dataset_id, tag)
    );
    """,
    # 2: tag filters and stats look tags up by name; replicas coordinate creates by lock rows.
    """
    CREATE INDEX dataset_tags_tag ON dataset_tags (tag, dataset_id);
    CREATE INDEX datasets_n_samples ON datasets (n_samples);
    CREATE TABLE juniper_data_locks (
        key TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
T = TypeVar("T")

# Advisory lock keys (64-bit); the per-key ones are hashtextextended(<key>, <seed>).
_MIGRATION_LOCK = 0x4A554E4950455201
_ID_SEED = 1
_NAME_SEED = 2

_COLUMNS = "meta, persist, access_count, last_accessed_at"
# A lock row is taken when absent, expired (its holder died), or already ours (a connection
# lost after the insert committed: the retry must not wait out its own row).
_TAKE = (
    "INSERT INTO juniper_data_locks (key, token, expires_at) VALUES (%s, %s, %s) "
    "ON CONFLICT (key) DO UPDATE SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at "
    "WHERE juniper_data_locks.expires_at < %s OR juniper_data_locks.token = EXCLUDED.token "
    "RETURNING token"
)
_RELEASE = "DELETE FROM juniper_data_locks WHERE key = %s AND token = %s"
_LIVE = "(expires_at IS NULL OR expires_at > %s)"
_NEWEST = "ORDER BY created_at DESC, dataset_id"


class SchemaVersionError(Exception):
    """The database's schema is newer than this code: upgrade JuniperData, or use another database."""


def migrate(conn: psycopg.Connection[Any], target: int = SCHEMA_VERSION) -> int:
    """Bring the schema up to ``target``; returns the version found before. Idempotent."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS juniper_data_schema ("
            "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM juniper_data_schema").fetchone()
        found = int(row[0]) if row else 0
        if found > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the PostgreSQL schema is version {found}, newer than this JuniperData's "
                f"({SCHEMA_VERSION}): upgrade JuniperData, or point JUNIPER_DATA_DATABASE_URL "
                "at another database"
            )
        for version in range(found + 1, target + 1):
            conn.execute(MIGRATIONS[version - 1].encode())
            conn.execute("INSERT INTO juniper_data_schema (version) VALUES (%s)", (version,))
    return found


def _meta(row: tuple[Any, ...]) -> Meta:
    meta: Meta = dict(row[0])
    meta["access_count"] = int(row[2])
    meta["last_accessed_at"] = iso(row[3])
    return meta


class PostgresStore(DatasetStore):
    """Metadata in the PostgreSQL database at ``url`` (``postgresql://user:pw@host:5432/db``;
    libpq parameters such as ``?options=-csearch_path%3Dname`` select a schema)."""

    shared = True

    def __init__(self, url: str, *, pool_size: int = 10, timeout_s: float = 5.0) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self._errors: tuple[type[BaseException], ...] = (psycopg.OperationalError,)
        self.where = f"PostgreSQL at {redact(url)}"
        try:
            with psycopg.connect(url, connect_timeout=max(1, round(timeout_s))) as conn:
                migrate(conn)
        except psycopg.OperationalError as err:
            raise StoreUnavailableError(f"{self.where} cannot be reached: {_first_line(err)}") from None
        except psycopg.Error as err:
            raise StoreUnavailableError(
                f"{self.where} refused the schema set-up: {_first_line(err)}"
            ) from None
        from psycopg_pool import PoolTimeout

        self._errors = (psycopg.OperationalError, PoolTimeout)
        # No per-checkout check (a round trip on every query): a connection found dead is
        # handled in _run, which then checks the whole pool once and tries again.
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            timeout=timeout_s,
            kwargs={"autocommit": True, "connect_timeout": max(1, round(timeout_s))},
            name="juniper-data",
            open=True,
        )

    def _run(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """``work(conn)`` on a pooled connection (autocommit; ``work`` opens transactions).

        A server restart kills every pooled connection: the first one found dead makes the
        pool check all of them (the dead are replaced) and ``work`` runs once more. The work
        is safe to repeat (a write either committed or did not; a repeat merges or finds it).
        Failures become :class:`StoreUnavailableError`.
        """
        for attempt in (1, 2):
            used: psycopg.Connection[Any] | None = None
            try:
                with self._pool.connection() as conn:
                    used = conn
                    return work(conn)
            except self._errors as err:
                if attempt == 1 and used is not None and (used.broken or used.closed):
                    with contextlib.suppress(*self._errors):
                        self._pool.check()
                    continue
                raise StoreUnavailableError(f"{self.where} is unavailable: {_first_line(err)}") from None
        raise AssertionError("unreachable")

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._run(lambda conn: conn.execute(sql.encode(), args).fetchall())

    def _execute(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        self._run(lambda conn: conn.execute(sql.encode(), args))

    def ping(self) -> None:
        self._query("SELECT 1")

    def close(self) -> None:
        self._pool.close()

    def get(self, dataset_id: str, now: float) -> Entry | None:
        sql = f"SELECT {_COLUMNS} FROM datasets WHERE dataset_id = %s AND {_LIVE}"
        rows = self._query(sql, (dataset_id, now))
        return Entry(_meta(rows[0]), bool(rows[0][1])) if rows else None

    def _write(
        self,
        conn: psycopg.Connection[Any],
        meta: Meta,
        persist: bool,
        release: tuple[str, str] | None = None,
        unless_live_at: float | None = None,
    ) -> psycopg.Cursor[Any]:
        """Upsert the row and make its tags exactly ``meta["tags"]``, in one statement (the
        tag delete and insert touch disjoint rows, so they can run side by side); with
        ``release`` (a lock row's key and token), delete that lock row in it too. With
        ``unless_live_at``, a row live at that time is left alone (and the lock kept). The
        cursor's one row counts the rows written (0 or 1)."""
        from psycopg.types.json import Jsonb

        stored = {k: v for k, v in meta.items() if k not in ("access_count", "last_accessed_at")}
        only_expired = " WHERE datasets.expires_at <= %(now)s" if unless_live_at is not None else ""
        unlock = (
            ", released AS (DELETE FROM juniper_data_locks WHERE key = %(lock)s AND token = %(token)s "
            "AND EXISTS (SELECT 1 FROM row)) "
            if release is not None
            else " "
        )
        return conn.execute(
            "WITH row AS (INSERT INTO datasets (dataset_id, generator, created_at, expires_at, dataset_name, "
            "dataset_version, n_samples, persist, access_count, last_accessed_at, meta) "
            "VALUES (%(id)s, %(generator)s, %(created)s, %(expires)s, %(name)s, %(version)s, %(samples)s, "
            "%(persist)s, %(count)s, %(accessed)s, %(meta)s) "
            "ON CONFLICT (dataset_id) DO UPDATE SET generator = EXCLUDED.generator, "
            "created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, "
            "dataset_name = EXCLUDED.dataset_name, dataset_version = EXCLUDED.dataset_version, "
            "n_samples = EXCLUDED.n_samples, persist = EXCLUDED.persist, "
            "access_count = EXCLUDED.access_count, last_accessed_at = EXCLUDED.last_accessed_at, "
            f"meta = EXCLUDED.meta{only_expired} RETURNING dataset_id), "
            "gone AS (DELETE FROM dataset_tags WHERE dataset_id = %(id)s AND tag <> ALL(%(tags)s) "
            "AND EXISTS (SELECT 1 FROM row)), "
            "tagged AS (INSERT INTO dataset_tags (dataset_id, tag) "
            "SELECT row.dataset_id, t FROM row, unnest(%(tags)s::text[]) t ON CONFLICT DO NOTHING)"
            f"{unlock}"
            "SELECT COUNT(*) FROM row",
            {
                "id": meta["dataset_id"],
                "generator": meta["generator"],
                "created": epoch(meta["created_at"]),
                "expires": epoch(meta["expires_at"]),
                "name": meta["dataset_name"],
                "version": meta["dataset_version"],
                "samples": meta["n_samples"],
                "persist": persist,
                "count": meta["access_count"],
                "accessed": epoch(meta["last_accessed_at"]),
                "meta": Jsonb(stored),
                "tags": list(meta["tags"]),
                "lock": release[0] if release is not None else None,
                "token": release[1] if release is not None else None,
                "now": unless_live_at,
            },
        )

    def put(self, meta: Meta, *, persist: bool, now: float) -> tuple[Entry, bool]:
        return self._put(meta, persist, now)

    def _put(
        self, meta: Meta, persist: bool, now: float, release: tuple[str, str] | None = None
    ) -> tuple[Entry, bool]:
        """:meth:`put`; with ``release``, that lock row is deleted in the same transaction."""

        def work(conn: psycopg.Connection[Any]) -> tuple[Entry, bool]:
            # Pipelined: BEGIN, the lock and the read go out together, the write and COMMIT too.
            with conn.pipeline(), conn.transaction():
                # Identical creates on two replicas meet here: the second waits, then merges.
                lock = "SELECT pg_advisory_xact_lock(hashtextextended(%s, %s))"
                conn.execute(lock, (meta["dataset_id"], _ID_SEED))
                sql = f"SELECT {_COLUMNS} FROM datasets WHERE dataset_id = %s AND {_LIVE}"
                rows = conn.execute(sql.encode(), (meta["dataset_id"], now)).fetchall()
                if rows:
                    entry = Entry(merge_hit(_meta(rows[0]), meta, now), bool(rows[0][1]) or persist)
                else:
                    new = dict(meta)
                    if new["dataset_name"] is not None:
                        conn.execute(lock, (new["dataset_name"], _NAME_SEED))
                        sql = "SELECT MAX(dataset_version) FROM datasets WHERE dataset_name = %s"
                        top = conn.execute(sql, (new["dataset_name"],)).fetchone()
                        new["dataset_version"] = ((top[0] if top else None) or 0) + 1
                    entry = Entry(new, persist)
                self._write(conn, entry.meta, entry.persist, release)
            return entry, not rows

        return self._run(work)

    def list_ids(self, limit: int, offset: int, now: float) -> list[str]:
        sql = f"SELECT dataset_id FROM datasets WHERE {_LIVE} {_NEWEST} LIMIT %s OFFSET %s"
        return [r[0] for r in self._query(sql, (now, limit, offset))]

    def filter(self, query: FilterQuery, now: float) -> tuple[list[Meta], int]:
        where: list[str] = ["TRUE"]
        args: list[Any] = []
        if not query.include_expired:
            where.append(_LIVE)
            args.append(now)
        for clause, value in (
            ("generator = %s", query.generator),
            ("created_at > %s", query.created_after),
            ("created_at < %s", query.created_before),
            ("n_samples >= %s", query.min_samples),
            ("n_samples <= %s", query.max_samples),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        if query.tags:
            tags = sorted(set(query.tags))
            need = len(tags) if query.tags_match == "all" else 1
            where.append(
                "(SELECT COUNT(*) FROM dataset_tags t "
                "WHERE t.dataset_id = d.dataset_id AND t.tag = ANY(%s)) >= %s"
            )
            args.extend([tags, need])
        cond = " AND ".join(where)
        sql = f"SELECT {_COLUMNS}, COUNT(*) OVER () FROM datasets d WHERE {cond} {_NEWEST} LIMIT %s OFFSET %s"
        rows = self._query(sql, (*args, query.limit, query.offset))
        if rows:
            total = int(rows[0][4])
        else:  # the page is past the end: count apart
            total = int(self._query(f"SELECT COUNT(*) FROM datasets d WHERE {cond}", tuple(args))[0][0])
        return [_meta(r) for r in rows], total

    def delete(self, dataset_ids: list[str]) -> list[str]:
        ids = list(dict.fromkeys(dataset_ids))
        if not ids:
            return []
        rows = self._query("DELETE FROM datasets WHERE dataset_id = ANY(%s) RETURNING dataset_id", (ids,))
        gone = {r[0] for r in rows}
        return [i for i in ids if i in gone]

    def update_tags(self, dataset_id: str, add: list[str], remove: list[str], now: float) -> Meta | None:
        def work(conn: psycopg.Connection[Any]) -> Meta | None:
            with conn.pipeline(), conn.transaction():
                sql = f"SELECT {_COLUMNS} FROM datasets WHERE dataset_id = %s AND {_LIVE} FOR UPDATE"
                rows = conn.execute(sql.encode(), (dataset_id, now)).fetchall()
                if not rows:
                    return None
                meta = retag(_meta(rows[0]), add, remove)
                self._write(conn, meta, bool(rows[0][1]))
            return meta

        return self._run(work)

    def touch(self, dataset_id: str, now: float) -> None:
        sql = (
            "UPDATE datasets SET access_count = access_count + 1, last_accessed_at = %s WHERE dataset_id = %s"
        )
        self._execute(sql, (now, dataset_id))

    def set_checksum(self, dataset_id: str, checksum: str) -> None:
        sql = (
            "UPDATE datasets SET meta = jsonb_set(meta, '{checksum}', to_jsonb(%s::text)) "
            "WHERE dataset_id = %s"
        )
        self._execute(sql, (checksum, dataset_id))

    def versions(self, name: str, now: float) -> list[Meta]:
        sql = f"SELECT {_COLUMNS} FROM datasets WHERE dataset_name = %s AND {_LIVE} ORDER BY dataset_version"
        return [_meta(r) for r in self._query(sql, (name, now))]

    def delete_expired(self, now: float) -> list[str]:
        # SKIP LOCKED: rows another replica's reaper holds are its to delete, not ours.
        sql = (
            "DELETE FROM datasets WHERE dataset_id IN (SELECT dataset_id FROM datasets "
            "WHERE expires_at IS NOT NULL AND expires_at <= %s FOR UPDATE SKIP LOCKED) RETURNING dataset_id"
        )
        gone = [r[0] for r in self._query(sql, (now,))]
        # Lock rows left by replicas that died holding them (a live holder deletes its own).
        self._execute("DELETE FROM juniper_data_locks WHERE expires_at < %s", (time.time(),))
        return gone

    def stats(self, now: float) -> dict[str, Any]:
        live = f"FROM datasets WHERE {_LIVE}"
        sql = (
            f"SELECT COUNT(*), COALESCE(SUM(n_samples), 0), MIN(created_at), MAX(created_at), "
            f"(SELECT COUNT(*) FROM datasets WHERE expires_at <= %s) {live}"
        )
        total, samples, oldest, newest, expired = self._query(sql, (now, now))[0]
        by_gen = self._query(f"SELECT generator, COUNT(*) {live} GROUP BY generator", (now,))
        by_tag = self._query(
            "SELECT t.tag, COUNT(*) FROM dataset_tags t JOIN datasets d USING (dataset_id) "
            "WHERE d.expires_at IS NULL OR d.expires_at > %s GROUP BY t.tag",
            (now,),
        )
        return {
            "total_datasets": int(total),
            "total_samples": int(samples),
            "by_generator": {r[0]: int(r[1]) for r in by_gen},
            "by_tag": {r[0]: int(r[1]) for r in by_tag},
            "oldest_created_at": iso(oldest),
            "newest_created_at": iso(newest),
            "expired_count": int(expired),
        }

    def count(self, now: float) -> int:
        return int(self._query(f"SELECT COUNT(*) FROM datasets WHERE {_LIVE}", (now,))[0][0])

    def _take(
        self, key: str, token: str, wait_s: float, read: Callable[[psycopg.Connection[Any]], T] | None = None
    ) -> tuple[bool, T | None]:
        """Take the lock row ``key`` for ``token``, trying again (backing off) until ``wait_s``
        passes; ``read(conn)`` runs after each try, in the same round trip, and a truthy
        answer ends the wait (what the holder was making is there)."""
        deadline = time.monotonic() + wait_s
        delay = 0.002

        def attempt(conn: psycopg.Connection[Any]) -> tuple[bool, T | None]:
            now = time.time()
            # One round trip: the read waits on the server, not on the network (the replicas'
            # database is often on another host).
            with conn.pipeline():
                took = conn.execute(_TAKE, (key, token, now + wait_s, now))
                seen = read(conn) if read is not None else None
                return bool(took.fetchall()), seen

        while True:
            held, seen = self._run(attempt)
            if held or seen or time.monotonic() >= deadline:
                return held, seen
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _release(self, key: str, token: str) -> None:
        with contextlib.suppress(StoreUnavailableError):  # else it expires after wait_s
            self._execute(_RELEASE, (key, token))

    @contextlib.contextmanager
    def lock(self, key: str, wait_s: float = 300.0) -> Iterator[bool]:
        # A row in juniper_data_locks rather than a session advisory lock: a held advisory lock
        # pins a pooled connection for the whole create, and eight creates at once would then
        # starve the pool. The row expires after wait_s, so a replica that dies holding it blocks
        # the others no longer than a live one would.
        token = secrets.token_hex(16)
        held, _ = self._take(key, token, wait_s)
        try:
            yield held
        finally:
            if held:
                self._release(key, token)

    @contextlib.contextmanager
    def claim(self, dataset_id: str, now: float, wait_s: float = 300.0) -> Iterator[Claim]:
        token = secrets.token_hex(16)
        sql = f"SELECT {_COLUMNS} FROM datasets WHERE dataset_id = %s AND {_LIVE}".encode()
        # The read is a statement after the lock's: its snapshot sees a holder's write, which
        # commits with the lock row's delete.
        held, rows = self._take(
            dataset_id, token, wait_s, lambda conn: conn.execute(sql, (dataset_id, now)).fetchall()
        )
        found = Entry(_meta(rows[0]), bool(rows[0][1])) if rows else None
        released = False

        def put(meta: Meta, persist: bool, at: float) -> tuple[Entry, bool]:
            nonlocal released
            if held and found is None and meta.get("dataset_name") is None:
                # A new dataset: written and the lock released in one statement, unless a
                # replica whose wait ran out wrote it meanwhile (then merged below).
                def write(conn: psycopg.Connection[Any]) -> bool:
                    row = self._write(conn, meta, persist, (dataset_id, token), unless_live_at=at).fetchone()
                    return bool(row and row[0])

                if self._run(write):
                    released = True
                    return Entry(dict(meta), persist), True
            # A hit merges with the row as it is now (others' tags may have landed since the
            # claim read it); a name takes its next version. The release commits with it.
            result = self._put(meta, persist, at, (dataset_id, token) if held else None)
            released = held
            return result

        try:
            yield Claim(found, held, put)
        finally:
            if held and not released:
                self._release(dataset_id, token)


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]
