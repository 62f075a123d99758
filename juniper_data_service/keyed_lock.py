"""Per-key exclusion: one asyncio lock per key, and single flights of artifact generation.

Two identical create requests (same dataset ID) arriving at once serialise on the
ID: the first generates and stores, the second then finds the stored dataset. Two
first downloads of the same uncached artifact share one generation: the second waits
for the first to cache it, then reads the cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLocks:
    """``async with locks.hold(key): ...`` excludes every other holder of ``key``."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class SingleFlight:
    """One generation per key at a time: the first request for a key leads; the others wait
    until it releases the key (its artifact cached, or its attempt over) and look again.

    Unlike :class:`KeyedLocks`, the leader's work outlives the request handler (an artifact
    streams after the handler returns, from worker threads), so it releases with
    :meth:`release`, callable from any thread.
    """

    def __init__(self) -> None:
        self._events: dict[str, tuple[asyncio.Event, asyncio.AbstractEventLoop]] = {}

    async def lead(self, key: str, wait_s: float) -> bool | None:
        """True: the caller leads and must :meth:`release` ``key`` when done. False: a leader
        finished, look again (the caller may lead next). None: the leader took longer than
        ``wait_s``; go ahead without it."""
        flight = self._events.get(key)
        if flight is None:
            self._events[key] = (asyncio.Event(), asyncio.get_running_loop())
            return True
        try:
            await asyncio.wait_for(flight[0].wait(), wait_s)
        except TimeoutError:
            return None
        return False

    def release(self, key: str) -> None:
        """End the flight of ``key`` (thread-safe; a second call does nothing)."""
        flight = self._events.get(key)
        if flight is not None:
            flight[1].call_soon_threadsafe(self._end, key, flight[0])

    def _end(self, key: str, event: asyncio.Event) -> None:
        if self._events.get(key, (None,))[0] is event:
            del self._events[key]
        event.set()

    def __len__(self) -> int:
        return len(self._events)
