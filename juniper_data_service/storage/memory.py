"""An in-memory :class:`DatasetStore` for unit tests: a dict under a lock."""

from __future__ import annotations

import threading
from typing import Any

from juniper_data_service.storage.base import (
    DatasetStore,
    Entry,
    FilterQuery,
    Meta,
    epoch,
    is_expired,
    iso,
    merge_hit,
    retag,
    stats_of,
)


def _matches(meta: Meta, q: FilterQuery, now: float) -> bool:
    created = epoch(meta["created_at"]) or 0.0
    tags = set(meta["tags"])
    checks = (
        q.include_expired or not is_expired(meta, now),
        q.generator is None or meta["generator"] == q.generator,
        not q.tags or (tags.issuperset(q.tags) if q.tags_match == "all" else bool(tags & set(q.tags))),
        q.created_after is None or created > q.created_after,
        q.created_before is None or created < q.created_before,
        q.min_samples is None or meta["n_samples"] >= q.min_samples,
        q.max_samples is None or meta["n_samples"] <= q.max_samples,
    )
    return all(checks)


class MemoryStore(DatasetStore):
    """Everything in one dict; nothing survives the process."""

    def __init__(self) -> None:
        self._rows: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def ping(self) -> None:
        return None

    def _newest_first(self) -> list[Meta]:
        metas = [e.meta for e in self._rows.values()]
        return sorted(metas, key=lambda m: (-(epoch(m["created_at"]) or 0.0), m["dataset_id"]))

    def get(self, dataset_id: str, now: float) -> Entry | None:
        with self._lock:
            entry = self._rows.get(dataset_id)
        if entry is None or is_expired(entry.meta, now):
            return None
        return Entry(dict(entry.meta), entry.persist)

    def put(self, meta: Meta, *, persist: bool, now: float) -> tuple[Entry, bool]:
        with self._lock:
            old = self._rows.get(meta["dataset_id"])
            if old is not None and not is_expired(old.meta, now):
                entry = Entry(merge_hit(old.meta, meta, now), old.persist or persist)
                created = False
            else:
                meta = dict(meta)
                if meta.get("dataset_name") is not None:
                    same = [
                        e.meta["dataset_version"] or 0
                        for e in self._rows.values()
                        if e.meta.get("dataset_name") == meta["dataset_name"]
                    ]
                    meta["dataset_version"] = max(same, default=0) + 1
                entry = Entry(meta, persist)
                created = True
            self._rows[meta["dataset_id"]] = entry
            return Entry(dict(entry.meta), entry.persist), created

    def list_ids(self, limit: int, offset: int, now: float) -> list[str]:
        with self._lock:
            live = [m["dataset_id"] for m in self._newest_first() if not is_expired(m, now)]
        return live[offset : offset + limit]

    def filter(self, query: FilterQuery, now: float) -> tuple[list[Meta], int]:
        with self._lock:
            hits = [dict(m) for m in self._newest_first() if _matches(m, query, now)]
        return hits[query.offset : query.offset + query.limit], len(hits)

    def delete(self, dataset_ids: list[str]) -> list[str]:
        with self._lock:
            return [i for i in dict.fromkeys(dataset_ids) if self._rows.pop(i, None) is not None]

    def update_tags(self, dataset_id: str, add: list[str], remove: list[str], now: float) -> Meta | None:
        with self._lock:
            entry = self._rows.get(dataset_id)
            if entry is None or is_expired(entry.meta, now):
                return None
            meta = retag(entry.meta, add, remove)
            self._rows[dataset_id] = Entry(meta, entry.persist)
            return dict(meta)

    def touch(self, dataset_id: str, now: float) -> None:
        with self._lock:
            entry = self._rows.get(dataset_id)
            if entry is not None:
                meta = {**entry.meta, "access_count": entry.meta["access_count"] + 1}
                meta["last_accessed_at"] = iso(now)
                self._rows[dataset_id] = Entry(meta, entry.persist)

    def set_checksum(self, dataset_id: str, checksum: str) -> None:
        with self._lock:
            entry = self._rows.get(dataset_id)
            if entry is not None:
                self._rows[dataset_id] = Entry({**entry.meta, "checksum": checksum}, entry.persist)

    def versions(self, name: str, now: float) -> list[Meta]:
        with self._lock:
            named = [
                dict(e.meta)
                for e in self._rows.values()
                if e.meta.get("dataset_name") == name and not is_expired(e.meta, now)
            ]
        return sorted(named, key=lambda m: m["dataset_version"] or 0)

    def delete_expired(self, now: float) -> list[str]:
        with self._lock:
            gone = [i for i, e in self._rows.items() if is_expired(e.meta, now)]
            for i in gone:
                del self._rows[i]
        return gone

    def stats(self, now: float) -> dict[str, Any]:
        with self._lock:
            metas = [e.meta for e in self._rows.values()]
        return stats_of(metas, now)

    def count(self, now: float) -> int:
        with self._lock:
            return sum(not is_expired(e.meta, now) for e in self._rows.values())
