"""The default :class:`DatasetStore`: one SQLite database file, WAL mode.

The meta document is kept as JSON; the columns the filters and the reaper query
(generator, created_at, expires_at, dataset_name, n_samples) are mirrored beside it
and indexed, and tags live in their own indexed table. One connection shared under a
lock: callers are worker threads, and every write is one short transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from juniper_data_service.storage.base import (
    DatasetStore,
    Entry,
    FilterQuery,
    Meta,
    epoch,
    iso,
    merge_hit,
    retag,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    dataset_id TEXT PRIMARY KEY,
    generator TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    dataset_name TEXT,
    dataset_version INTEGER,
    n_samples INTEGER NOT NULL,
    persist INTEGER NOT NULL,
    access_count INTEGER NOT NULL DEFAULT 0,
    last_accessed_at REAL,
    meta TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS datasets_generator ON datasets (generator);
CREATE INDEX IF NOT EXISTS datasets_created_at ON datasets (created_at);
CREATE INDEX IF NOT EXISTS datasets_expires_at ON datasets (expires_at);
CREATE INDEX IF NOT EXISTS datasets_name ON datasets (dataset_name, dataset_version);
CREATE TABLE IF NOT EXISTS tags (
    dataset_id TEXT NOT NULL REFERENCES datasets (dataset_id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (dataset_id, tag)
);
CREATE INDEX IF NOT EXISTS tags_tag ON tags (tag);
"""

_COLUMNS = "meta, persist, access_count, last_accessed_at"
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
_NEWEST = "ORDER BY created_at DESC, dataset_id"


def _meta(row: sqlite3.Row) -> Meta:
    meta: Meta = json.loads(row["meta"])
    meta["access_count"] = row["access_count"]
    meta["last_accessed_at"] = iso(row["last_accessed_at"])
    return meta


class SqliteStore(DatasetStore):
    """Metadata in ``<directory>/datasets.sqlite3``."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "datasets.sqlite3"
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def ping(self) -> None:
        self._query("SELECT 1")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get(self, dataset_id: str, now: float) -> Entry | None:
        rows = self._query(
            f"SELECT {_COLUMNS} FROM datasets WHERE dataset_id = ? AND {_LIVE}", (dataset_id, now)
        )
        return Entry(_meta(rows[0]), bool(rows[0]["persist"])) if rows else None

    def _write(self, db: sqlite3.Connection, meta: Meta, persist: bool) -> None:
        stored = {k: v for k, v in meta.items() if k not in ("access_count", "last_accessed_at")}
        db.execute(
            "INSERT OR REPLACE INTO datasets (dataset_id, generator, created_at, expires_at, dataset_name, "
            "dataset_version, n_samples, persist, access_count, last_accessed_at, meta) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                meta["dataset_id"],
                meta["generator"],
                epoch(meta["created_at"]),
                epoch(meta["expires_at"]),
                meta["dataset_name"],
                meta["dataset_version"],
                meta["n_samples"],
                int(persist),
                meta["access_count"],
                epoch(meta["last_accessed_at"]),
                json.dumps(stored),
            ),
        )
        db.execute("DELETE FROM tags WHERE dataset_id = ?", (meta["dataset_id"],))
        db.executemany("INSERT INTO tags VALUES (?, ?)", [(meta["dataset_id"], t) for t in meta["tags"]])

    def put(self, meta: Meta, *, persist: bool, now: float) -> tuple[Entry, bool]:
        with self._tx() as db:
            sql = f"SELECT {_COLUMNS} FROM datasets WHERE dataset_id = ? AND {_LIVE}"
            rows = db.execute(sql, (meta["dataset_id"], now)).fetchall()
            if rows:
                entry = Entry(merge_hit(_meta(rows[0]), meta, now), bool(rows[0]["persist"]) or persist)
            else:
                meta = dict(meta)
                if meta["dataset_name"] is not None:
                    sql = "SELECT MAX(dataset_version) FROM datasets WHERE dataset_name = ?"
                    top = db.execute(sql, (meta["dataset_name"],)).fetchone()[0]
                    meta["dataset_version"] = (top or 0) + 1
                entry = Entry(meta, persist)
            self._write(db, entry.meta, entry.persist)
        return entry, not rows

    def list_ids(self, limit: int, offset: int, now: float) -> list[str]:
        sql = f"SELECT dataset_id FROM datasets WHERE {_LIVE} {_NEWEST} LIMIT ? OFFSET ?"
        return [r["dataset_id"] for r in self._query(sql, (now, limit, offset))]

    def filter(self, query: FilterQuery, now: float) -> tuple[list[Meta], int]:
        where: list[str] = ["1"]
        args: list[Any] = []
        if not query.include_expired:
            where.append(_LIVE)
            args.append(now)
        for clause, value in (
            ("generator = ?", query.generator),
            ("created_at > ?", query.created_after),
            ("created_at < ?", query.created_before),
            ("n_samples >= ?", query.min_samples),
            ("n_samples <= ?", query.max_samples),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        if query.tags:
            marks = ", ".join("?" * len(query.tags))
            tagged = (
                "SELECT COUNT(DISTINCT tag) FROM tags t "
                f"WHERE t.dataset_id = d.dataset_id AND tag IN ({marks})"
            )
            need = len(set(query.tags)) if query.tags_match == "all" else 1
            where.append(f"({tagged}) >= ?")
            args.extend([*query.tags, need])
        cond = " AND ".join(where)
        total = self._query(f"SELECT COUNT(*) FROM datasets d WHERE {cond}", tuple(args))[0][0]
        sql = f"SELECT {_COLUMNS} FROM datasets d WHERE {cond} {_NEWEST} LIMIT ? OFFSET ?"
        rows = self._query(sql, (*args, query.limit, query.offset))
        return [_meta(r) for r in rows], int(total)

    def delete(self, dataset_ids: list[str]) -> list[str]:
        deleted = []
        with self._tx() as db:
            for dataset_id in dict.fromkeys(dataset_ids):
                if db.execute("DELETE FROM datasets WHERE dataset_id = ?", (dataset_id,)).rowcount:
                    deleted.append(dataset_id)
        return deleted

    def update_tags(self, dataset_id: str, add: list[str], remove: list[str], now: float) -> Meta | None:
        with self._tx() as db:
            sql = f"SELECT {_COLUMNS} FROM datasets WHERE dataset_id = ? AND {_LIVE}"
            rows = db.execute(sql, (dataset_id, now)).fetchall()
            if not rows:
                return None
            meta = retag(_meta(rows[0]), add, remove)
            self._write(db, meta, bool(rows[0]["persist"]))
        return meta

    def touch(self, dataset_id: str, now: float) -> None:
        with self._tx() as db:
            sql = (
                "UPDATE datasets SET access_count = access_count + 1, last_accessed_at = ? "
                "WHERE dataset_id = ?"
            )
            db.execute(sql, (now, dataset_id))

    def set_checksum(self, dataset_id: str, checksum: str) -> None:
        with self._tx() as db:
            sql = "UPDATE datasets SET meta = json_set(meta, '$.checksum', ?) WHERE dataset_id = ?"
            db.execute(sql, (checksum, dataset_id))

    def versions(self, name: str, now: float) -> list[Meta]:
        sql = f"SELECT {_COLUMNS} FROM datasets WHERE dataset_name = ? AND {_LIVE} ORDER BY dataset_version"
        return [_meta(r) for r in self._query(sql, (name, now))]

    def delete_expired(self, now: float) -> list[str]:
        with self._tx() as db:
            sql = "SELECT dataset_id FROM datasets WHERE expires_at IS NOT NULL AND expires_at <= ?"
            gone = [r["dataset_id"] for r in db.execute(sql, (now,)).fetchall()]
            db.execute("DELETE FROM datasets WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,))
        return gone

    def stats(self, now: float) -> dict[str, Any]:
        live = f"FROM datasets WHERE {_LIVE}"
        total, samples, oldest, newest = self._query(
            f"SELECT COUNT(*), COALESCE(SUM(n_samples), 0), MIN(created_at), MAX(created_at) {live}", (now,)
        )[0]
        by_gen = self._query(f"SELECT generator, COUNT(*) {live} GROUP BY generator", (now,))
        by_tag = self._query(
            f"SELECT tag, COUNT(*) FROM tags WHERE dataset_id IN (SELECT dataset_id {live}) GROUP BY tag",
            (now,),
        )
        expired = self._query("SELECT COUNT(*) FROM datasets WHERE expires_at <= ?", (now,))[0][0]
        return {
            "total_datasets": total,
            "total_samples": samples,
            "by_generator": {r[0]: r[1] for r in by_gen},
            "by_tag": {r[0]: r[1] for r in by_tag},
            "oldest_created_at": iso(oldest),
            "newest_created_at": iso(newest),
            "expired_count": expired,
        }

    def count(self, now: float) -> int:
        return int(self._query(f"SELECT COUNT(*) FROM datasets WHERE {_LIVE}", (now,))[0][0])
