"""A :class:`DatasetStore` on Redis (redis-py with a connection pool), for replicas.

Every key starts with a prefix (``JUNIPER_DATA_REDIS_PREFIX``, ``juniper-data:``), so
one Redis can hold several services. Layout, with ``P`` the prefix:

- ``P ds:<id>``: one hash per dataset: ``meta`` (the JSON document), ``persist``,
  ``access_count`` (``HINCRBY``, atomic), ``last_accessed_at``, ``checksum``. A dataset with
  a TTL gets Redis's own expiry (``PEXPIREAT``): it disappears without the reaper.
- ``P idx:created`` (sorted set, score = created_at), ``P idx:samples`` (score =
  n_samples), ``P idx:expires`` (score = expires_at, datasets with a TTL only),
  ``P idx:gen:<generator>`` and ``P idx:tag:<tag>`` (sets), ``P idx:name:<name>``
  (score = dataset_version), ``P idx:generators`` and ``P idx:tags`` (the names in use).
  Filters and pages are answered from these; metas are read only for the page returned.
- ``P lock:<key>``: :meth:`RedisStore.lock` (``SET NX PX`` with a token, released by a
  script that deletes only its own token).

A new unnamed dataset is written by one script that runs only if its key is absent (one
round trip); every other write of a dataset is an optimistic transaction (``WATCH``/``MULTI``):
a create that races another on the same ID retries and merges into it. Scripts touch keys
they do not declare, so Redis Cluster is not supported (one server, or one with replicas).
When Redis expires a dataset, its index entries stay until :meth:`RedisStore.delete_expired`
(the reaper) removes them; reads skip them meanwhile (the expiry index says they are gone).

What Redis does not guarantee: durability depends on the server's persistence settings
(RDB snapshots lose what came after the last one; AOF with ``appendfsync everysec`` up
to a second; none at all with both off), and with replication a failover can lose
acknowledged writes. Since a dataset is its recipe, a lost meta means a dataset to create
again, not lost data; but choose PostgreSQL where the catalogue itself must be durable.
Stats read every live dataset's meta (one pipelined round trip per 500).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Iterable, Iterator
from typing import Any

from juniper_data_service.storage.base import (
    Claim,
    DatasetStore,
    Entry,
    FilterQuery,
    Meta,
    StoreUnavailableError,
    epoch,
    is_expired,
    iso,
    merge_hit,
    redact,
    retag,
    stats_of,
)

_TOUCH = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'access_count', 1)
  redis.call('HSET', KEYS[1], 'last_accessed_at', ARGV[1])
end
return 0
"""
_SET_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return -1
"""
# Runs the recorded commands (ARGV[2:]: count, command, arguments, count, ...) only if
# KEYS[1] does not exist: a new dataset's record and index entries written in one round trip;
# then releases the claim lock KEYS[2] if it is given and still holds the token ARGV[1].
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
if KEYS[2] and redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""
# A create's claim: the dataset KEYS[2] as stored; when it is absent (or ARGV[3] is '1': it is
# there but expired), also the lock KEYS[1] for token ARGV[1] (for ARGV[2] ms). Atomic, so a
# free lock and no dataset mean nobody is making it: a holder writes before it lets go.
_CLAIM = """
local found = redis.call('HGETALL', KEYS[2])
if #found > 0 and ARGV[3] ~= '1' then return {0, found} end
local took = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
if not took and redis.call('GET', KEYS[1]) == ARGV[1] then took = true end
return {took and 1 or 0, found}
"""
_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_BATCH = 500


class RedisStore(DatasetStore):
    """Metadata in the Redis at ``url`` (``redis://host:6379/0``), keys under ``prefix``."""

    shared = True

    def __init__(self, url: str, *, prefix: str = "juniper-data:", timeout_s: float = 5.0) -> None:
        import redis as redis_lib

        self.where = f"Redis at {redact(url)}"
        self.prefix = prefix
        self._errors: tuple[type[BaseException], ...] = (
            redis_lib.ConnectionError,
            redis_lib.TimeoutError,
            redis_lib.BusyLoadingError,
        )
        self._watch_error = redis_lib.WatchError
        pool = redis_lib.ConnectionPool.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=30,
            decode_responses=True,
        )
        # Any: redis-py types each reply as the union of its sync and async forms.
        self._r: Any = redis_lib.Redis(connection_pool=pool)
        self._touch = self._r.register_script(_TOUCH)
        self._set_if_exists = self._r.register_script(_SET_IF_EXISTS)
        self._unlock = self._r.register_script(_UNLOCK)
        self._create = self._r.register_script(_CREATE)
        self._claim = self._r.register_script(_CLAIM)
        try:
            self._r.ping()
        except self._errors as err:
            raise StoreUnavailableError(f"{self.where} cannot be reached: {err}") from None
        except redis_lib.RedisError as err:  # a wrong password, say
            raise StoreUnavailableError(f"{self.where} refused the connection: {err}") from None

    # -- keys -------------------------------------------------------------------------------

    def _ds(self, dataset_id: str) -> str:
        return f"{self.prefix}ds:{dataset_id}"

    def _idx(self, name: str) -> str:
        return f"{self.prefix}idx:{name}"

    @contextlib.contextmanager
    def _errors_as_unavailable(self) -> Iterator[None]:
        try:
            yield
        except self._errors as err:
            raise StoreUnavailableError(f"{self.where} is unavailable: {err}") from None

    # -- reading ----------------------------------------------------------------------------

    def _entry(self, fields: dict[str, str]) -> Entry | None:
        if not fields or "meta" not in fields:
            return None
        meta: Meta = json.loads(fields["meta"])
        meta["access_count"] = int(fields.get("access_count", 0))
        last = fields.get("last_accessed_at")
        meta["last_accessed_at"] = iso(float(last)) if last else None
        if fields.get("checksum"):
            meta["checksum"] = fields["checksum"]
        return Entry(meta, fields.get("persist") == "1")

    def _entries(self, ids: Iterable[str]) -> list[Entry]:
        """The stored entries of ``ids``, in order; those Redis has expired are left out."""
        ids = list(ids)
        out: list[Entry] = []
        for start in range(0, len(ids), _BATCH):
            pipe = self._r.pipeline(transaction=False)
            for dataset_id in ids[start : start + _BATCH]:
                pipe.hgetall(self._ds(dataset_id))
            out.extend(e for e in (self._entry(f) for f in pipe.execute()) if e is not None)
        return out

    def _expired_ids(self, now: float) -> set[str]:
        return set(self._r.zrangebyscore(self._idx("expires"), "-inf", now))

    def _newest_first(self, scored: list[tuple[str, float]]) -> list[str]:
        return [i for i, _ in sorted(scored, key=lambda p: (-p[1], p[0]))]

    def ping(self) -> None:
        with self._errors_as_unavailable():
            self._r.ping()

    def close(self) -> None:
        self._r.close()
        self._r.connection_pool.disconnect()

    def get(self, dataset_id: str, now: float) -> Entry | None:
        with self._errors_as_unavailable():
            entry = self._entry(self._r.hgetall(self._ds(dataset_id)))
        if entry is None or is_expired(entry.meta, now):
            return None
        return entry

    # -- writing ----------------------------------------------------------------------------

    def _index(self, pipe: Any, meta: Meta, old: Meta | None) -> None:
        """Queue the index updates for ``meta`` replacing ``old`` (None: a new dataset)."""
        dataset_id = meta["dataset_id"]
        if old is not None:
            self._unindex(pipe, old, keep_created=True)
        pipe.zadd(self._idx("created"), {dataset_id: epoch(meta["created_at"]) or 0.0})
        pipe.zadd(self._idx("samples"), {dataset_id: meta["n_samples"]})
        expiry = epoch(meta["expires_at"])
        if expiry is not None:
            pipe.zadd(self._idx("expires"), {dataset_id: expiry})
        else:  # an entry left by an earlier dataset of this ID that Redis expired: not ours to reap
            pipe.zrem(self._idx("expires"), dataset_id)
        pipe.sadd(self._idx(f"gen:{meta['generator']}"), dataset_id)
        pipe.sadd(self._idx("generators"), meta["generator"])
        for tag in meta["tags"]:
            pipe.sadd(self._idx(f"tag:{tag}"), dataset_id)
            pipe.sadd(self._idx("tags"), tag)
        if meta.get("dataset_name") is not None:
            pipe.zadd(self._idx(f"name:{meta['dataset_name']}"), {dataset_id: meta["dataset_version"] or 0})

    def _unindex(self, pipe: Any, meta: Meta, keep_created: bool = False) -> None:
        dataset_id = meta["dataset_id"]
        if not keep_created:
            pipe.zrem(self._idx("created"), dataset_id)
            pipe.zrem(self._idx("samples"), dataset_id)
        pipe.zrem(self._idx("expires"), dataset_id)
        pipe.srem(self._idx(f"gen:{meta['generator']}"), dataset_id)
        for tag in meta["tags"]:
            pipe.srem(self._idx(f"tag:{tag}"), dataset_id)
        if meta.get("dataset_name") is not None:
            pipe.zrem(self._idx(f"name:{meta['dataset_name']}"), dataset_id)

    def _store(self, pipe: Any, meta: Meta, persist: bool) -> None:
        key = self._ds(meta["dataset_id"])
        stored = {k: v for k, v in meta.items() if k not in ("access_count", "last_accessed_at")}
        pipe.delete(key)
        fields = {"meta": json.dumps(stored), "persist": "1" if persist else "0"}
        fields["access_count"] = str(meta["access_count"])
        if meta["last_accessed_at"] is not None:
            fields["last_accessed_at"] = repr(epoch(meta["last_accessed_at"]))
        if meta.get("checksum"):
            fields["checksum"] = meta["checksum"]
        pipe.hset(key, mapping=fields)
        expiry = epoch(meta["expires_at"])
        if expiry is not None:
            pipe.pexpireat(key, int(expiry * 1000))

    def _optimistic(self, watch: list[str], body: Any) -> Any:
        """Run ``body(pipe)`` under ``WATCH watch``, again whenever another client changed them."""
        with self._errors_as_unavailable(), self._r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(*watch)
                    result = body(pipe)
                    pipe.execute()
                    return result
                except self._watch_error:
                    continue

    def put(self, meta: Meta, *, persist: bool, now: float) -> tuple[Entry, bool]:
        key = self._ds(meta["dataset_id"])
        name = meta.get("dataset_name")
        if name is None:
            # The common case, a new unnamed dataset: one script call instead of WATCH, read and
            # MULTI; when the key exists (a hit, or an expired one to replace), the general path.
            entry = Entry(dict(meta), persist)
            commands = _Commands()
            self._store(commands, entry.meta, persist)
            self._index(commands, entry.meta, None)
            with self._errors_as_unavailable():
                if self._create(keys=[key], args=["", *commands.argv]) == 1:
                    return entry, True
        watch = [key] + ([self._idx(f"name:{name}")] if name is not None else [])

        def body(pipe: Any) -> tuple[Entry, bool]:
            found = self._entry(pipe.hgetall(key))
            if found is not None and not is_expired(found.meta, now):
                entry = Entry(merge_hit(found.meta, meta, now), found.persist or persist)
                created = False
            else:
                new = dict(meta)
                if name is not None:
                    top = pipe.zrevrange(self._idx(f"name:{name}"), 0, 0, withscores=True)
                    new["dataset_version"] = (int(top[0][1]) if top else 0) + 1
                entry = Entry(new, persist)
                created = True
            pipe.multi()
            self._store(pipe, entry.meta, entry.persist)
            self._index(pipe, entry.meta, found.meta if found is not None else None)
            return entry, created

        result: tuple[Entry, bool] = self._optimistic(watch, body)
        return result

    def update_tags(self, dataset_id: str, add: list[str], remove: list[str], now: float) -> Meta | None:
        key = self._ds(dataset_id)

        def body(pipe: Any) -> Meta | None:
            found = self._entry(pipe.hgetall(key))
            pipe.multi()
            if found is None or is_expired(found.meta, now):
                return None
            meta = retag(found.meta, add, remove)
            stored = {k: v for k, v in meta.items() if k not in ("access_count", "last_accessed_at")}
            pipe.hset(key, "meta", json.dumps(stored))
            self._index(pipe, meta, found.meta)
            return meta

        result: Meta | None = self._optimistic([key], body)
        return result

    def touch(self, dataset_id: str, now: float) -> None:
        with self._errors_as_unavailable():
            self._touch(keys=[self._ds(dataset_id)], args=[repr(now)])

    def set_checksum(self, dataset_id: str, checksum: str) -> None:
        with self._errors_as_unavailable():
            self._set_if_exists(keys=[self._ds(dataset_id)], args=["checksum", checksum])

    def delete(self, dataset_ids: list[str]) -> list[str]:
        deleted = []
        with self._errors_as_unavailable():
            for dataset_id in dict.fromkeys(dataset_ids):
                entry = self._entry(self._r.hgetall(self._ds(dataset_id)))
                # DEL answers 1 to one client only: two replicas never both report a delete.
                if entry is None or not self._r.delete(self._ds(dataset_id)):
                    continue
                pipe = self._r.pipeline()
                self._unindex(pipe, entry.meta)
                pipe.execute()
                deleted.append(dataset_id)
        return deleted

    def delete_expired(self, now: float) -> list[str]:
        """Delete expired datasets (those Redis has not expired yet) and drop the index entries
        of every expired one; returns their IDs. Each ID is claimed by removing it from the
        expiry index (ZREM answers 1 to one client), so two replicas never both report one."""
        gone = []
        with self._errors_as_unavailable():
            for dataset_id in self._r.zrangebyscore(self._idx("expires"), "-inf", now):
                if not self._r.zrem(self._idx("expires"), dataset_id):
                    continue
                entry = self._entry(self._r.hgetall(self._ds(dataset_id)))
                pipe = self._r.pipeline()
                pipe.delete(self._ds(dataset_id))
                pipe.zrem(self._idx("created"), dataset_id)
                pipe.zrem(self._idx("samples"), dataset_id)
                if entry is not None:
                    self._unindex(pipe, entry.meta)
                else:  # Redis expired it: its generator, tags and name are unknown now
                    for group in ("generators", "tags"):
                        kind = "gen" if group == "generators" else "tag"
                        for value in self._r.smembers(self._idx(group)):
                            pipe.srem(self._idx(f"{kind}:{value}"), dataset_id)
                pipe.execute()
                gone.append(dataset_id)
        return gone

    # -- queries ----------------------------------------------------------------------------

    def _live(self, now: float) -> list[tuple[str, float]]:
        scored = self._r.zrange(self._idx("created"), 0, -1, withscores=True)
        expired = self._expired_ids(now)
        return [(i, s) for i, s in scored if i not in expired]

    def list_ids(self, limit: int, offset: int, now: float) -> list[str]:
        with self._errors_as_unavailable():
            return self._newest_first(self._live(now))[offset : offset + limit]

    def filter(self, query: FilterQuery, now: float) -> tuple[list[Meta], int]:
        with self._errors_as_unavailable():
            lo = f"({query.created_after}" if query.created_after is not None else "-inf"
            hi = f"({query.created_before}" if query.created_before is not None else "+inf"
            scored = self._r.zrangebyscore(self._idx("created"), lo, hi, withscores=True)
            keep: set[str] = {i for i, _ in scored}
            if not query.include_expired:
                keep -= self._expired_ids(now)
            if query.min_samples is not None or query.max_samples is not None:
                smin = query.min_samples if query.min_samples is not None else "-inf"
                smax = query.max_samples if query.max_samples is not None else "+inf"
                keep &= set(self._r.zrangebyscore(self._idx("samples"), smin, smax))
            if query.generator is not None:
                keep &= self._r.smembers(self._idx(f"gen:{query.generator}"))
            if query.tags:
                tag_keys = [self._idx(f"tag:{t}") for t in sorted(set(query.tags))]
                tagged = self._r.sinter(tag_keys) if query.tags_match == "all" else self._r.sunion(tag_keys)
                keep &= tagged
            ordered = self._newest_first([(i, s) for i, s in scored if i in keep])
            page = self._entries(ordered[query.offset : query.offset + query.limit])
        return [e.meta for e in page], len(ordered)

    def versions(self, name: str, now: float) -> list[Meta]:
        with self._errors_as_unavailable():
            ids = self._r.zrange(self._idx(f"name:{name}"), 0, -1)
            entries = self._entries(ids)
        return [e.meta for e in entries if not is_expired(e.meta, now)]

    def stats(self, now: float) -> dict[str, Any]:
        with self._errors_as_unavailable():
            scored = self._r.zrange(self._idx("created"), 0, -1, withscores=True)
            metas = [e.meta for e in self._entries(i for i, _ in scored)]
        return stats_of(metas, now)

    def count(self, now: float) -> int:
        # Two O(log n) counts, not a listing: /metrics and the readiness probe call this.
        with self._errors_as_unavailable():
            pipe = self._r.pipeline(transaction=False)
            pipe.zcard(self._idx("created"))
            pipe.zcount(self._idx("expires"), "-inf", now)
            total, expired = pipe.execute()
        return int(total) - int(expired)

    @contextlib.contextmanager
    def lock(self, key: str, wait_s: float = 300.0) -> Iterator[bool]:
        # The lock expires by itself after wait_s, so a replica that dies holding it blocks
        # the others no longer than a live one would.
        name = f"{self.prefix}lock:{key}"
        token = secrets.token_hex(16)
        deadline = time.monotonic() + wait_s
        delay = 0.002
        with self._errors_as_unavailable():
            while not (held := bool(self._r.set(name, token, nx=True, px=int(wait_s * 1000)))):
                if time.monotonic() >= deadline:
                    break
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        try:
            yield held
        finally:
            if held:
                with contextlib.suppress(*self._errors):
                    self._unlock(keys=[name], args=[token])

    @contextlib.contextmanager
    def claim(self, dataset_id: str, now: float, wait_s: float = 300.0) -> Iterator[Claim]:
        name, key = f"{self.prefix}lock:{dataset_id}", self._ds(dataset_id)
        token = secrets.token_hex(16)
        deadline = time.monotonic() + wait_s
        delay = 0.002
        expired = False  # the stored dataset is expired: take the lock to make it again
        with self._errors_as_unavailable():
            while True:
                took, fields = self._claim(
                    keys=[name, key], args=[token, int(wait_s * 1000), "1" if expired else "0"]
                )
                found = self._entry(dict(zip(fields[::2], fields[1::2], strict=True)))
                if found is not None and is_expired(found.meta, now):
                    found = None
                    if not expired:
                        expired = True
                        continue  # at once, asking for the lock this time
                held = bool(took)
                if held or found is not None or time.monotonic() >= deadline:
                    break
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        released = False

        def put(meta: Meta, persist: bool, at: float) -> tuple[Entry, bool]:
            nonlocal released
            if held and found is None and meta.get("dataset_name") is None:
                # The new dataset and the lock's release in one script call.
                commands = _Commands()
                self._store(commands, meta, persist)
                self._index(commands, meta, None)
                with self._errors_as_unavailable():
                    if self._create(keys=[key, name], args=[token, *commands.argv]) == 1:
                        released = True
                        return Entry(dict(meta), persist), True
            return self.put(meta, persist=persist, now=at)

        try:
            yield Claim(found, held, put)
        finally:
            if held and not released:
                with contextlib.suppress(*self._errors):
                    self._unlock(keys=[name], args=[token])


class _Commands:
    """Records the writes of :meth:`RedisStore._store` and ``_index`` (the pipeline methods
    they call) as the flat argument list the create script replays."""

    def __init__(self) -> None:
        self.argv: list[str] = []

    def _add(self, *command: object) -> None:
        self.argv += [str(len(command)), *(str(part) for part in command)]

    def delete(self, key: str) -> None:
        self._add("DEL", key)

    def hset(self, key: str, mapping: dict[str, str]) -> None:
        self._add("HSET", key, *(part for pair in mapping.items() for part in pair))

    def pexpireat(self, key: str, when_ms: int) -> None:
        self._add("PEXPIREAT", key, when_ms)

    def zadd(self, key: str, mapping: dict[str, float]) -> None:
        for member, score in mapping.items():
            self._add("ZADD", key, repr(float(score)), member)

    def zrem(self, key: str, member: str) -> None:
        self._add("ZREM", key, member)

    def sadd(self, key: str, member: str) -> None:
        self._add("SADD", key, member)

    def srem(self, key: str, member: str) -> None:
        self._add("SREM", key, member)
