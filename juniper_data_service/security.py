"""Access control: API keys, the per-client rate limit and the limit on failed key attempts,
as one pure ASGI middleware.

Health probes, ``/metrics``, the API docs and the web page's files (``/``, ``/ui``: they
hold no data; the page sends the key with its API calls) are exempt from all three. Keys are compared
in constant time against every configured key, so timing reveals neither which key
nearly matched nor how many there are.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from juniper_data_service.responses import problem

EXEMPT_PREFIXES = ("/v1/health", "/metrics", "/docs", "/redoc", "/openapi.json", "/ui")
API_KEY_HEADER = "x-api-key"


class ApiKeys:
    """The configured keys; empty means authentication is off."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._digests = [hashlib.sha256(k.encode()).digest() for k in keys]

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def accepts(self, key: str | None) -> bool:
        # Hashing first makes every comparison the same length.
        given = hashlib.sha256((key or "").encode("utf-8", "replace")).digest()
        ok = False
        for digest in self._digests:
            ok |= hmac.compare_digest(given, digest)
        return ok and key is not None


class RateLimiter:
    """A fixed window per client: at most ``limit`` requests in each ``window_s``.

    Memory is bounded: at most ``max_clients`` windows are kept; past that the least
    recently seen client's window is forgotten (that client starts a fresh window).
    """

    def __init__(self, limit: int, window_s: float = 60.0, max_clients: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_clients = max_clients
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._windows)

    def hit(self, client: str, now: float) -> tuple[bool, int, float]:
        """Count one request: ``(allowed, remaining, seconds until the window resets)``."""
        with self._lock:
            start, count = self._windows.pop(client, (now, 0))
            if now - start >= self.window_s:
                start, count = now, 0
            count += 1
            self._windows[client] = (start, count)
            while len(self._windows) > self.max_clients:
                self._windows.popitem(last=False)
        reset = max(0.0, start + self.window_s - now)
        return count <= self.limit, max(0, self.limit - count), reset

    def blocked(self, client: str, now: float) -> float:
        """Seconds until ``client`` may try again (0 when it is under the limit); counts nothing."""
        with self._lock:
            start, count = self._windows.get(client, (now, 0))
        if now - start >= self.window_s or count < self.limit:
            return 0.0
        return start + self.window_s - now


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def client_address(scope: Scope, trusted_proxies: frozenset[str]) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the nearest
    address in ``X-Forwarded-For`` that is not one (a client cannot spoof past its own proxy)."""
    peer = scope.get("client")
    address = peer[0] if peer else "unknown"
    if address in trusted_proxies:
        forwarded = [a.strip() for a in (_header(scope, b"x-forwarded-for") or "").split(",") if a.strip()]
        for hop in reversed(forwarded):
            address = hop
            if hop not in trusted_proxies:
                break
    return address


@dataclass(frozen=True)
class Guard:
    """What the middleware enforces: the keys, the request limit (None: off), the limit on
    failed key attempts per address (None: off), and the proxies whose X-Forwarded-For counts."""

    keys: ApiKeys
    limiter: RateLimiter | None = None
    failures: RateLimiter | None = None
    trusted_proxies: frozenset[str] = frozenset()


class GuardMiddleware:
    """401 without a valid ``X-API-Key`` (when keys are set); 429 past the rate limit, or for
    an address past the limit of failed key attempts.

    The bucket of a request is its key when authentication is on (the key was just checked),
    else its client address: an unchecked ``X-API-Key`` never chooses the bucket.
    """

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"].startswith(EXEMPT_PREFIXES)
            or scope["path"] == "/"
            or scope["method"] == "OPTIONS"
        ):
            await self.app(scope, receive, send)
            return
        guard, now = self.guard, time.monotonic()
        address = client_address(scope, guard.trusted_proxies)
        bucket = f"ip:{address}"
        if guard.keys.enabled:
            if guard.failures is not None:
                wait = guard.failures.blocked(address, now)
                if wait > 0:
                    detail = f"too many failed API key attempts from {address}; retry in {math.ceil(wait)} s"
                    headers = {"Retry-After": str(max(1, math.ceil(wait)))}
                    await problem(429, detail, headers)(scope, receive, send)
                    return
            key = _header(scope, API_KEY_HEADER.encode())
            if not guard.keys.accepts(key):
                if guard.failures is not None:
                    guard.failures.hit(address, now)
                detail = (
                    "missing API key: send it in the X-API-Key header" if key is None else "invalid API key"
                )
                await problem(401, detail, {"WWW-Authenticate": "ApiKey"})(scope, receive, send)
                return
            bucket = f"key:{hashlib.sha256(str(key).encode()).hexdigest()[:16]}"
        if guard.limiter is None:
            await self.app(scope, receive, send)
            return
        allowed, remaining, reset = guard.limiter.hit(bucket, now)
        headers = {
            "X-RateLimit-Limit": str(guard.limiter.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil(reset)))
            detail = f"rate limit of {guard.limiter.limit} requests per minute exceeded; retry later"
            await problem(429, detail, headers)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.lower().encode(), v.encode()) for k, v in headers.items()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
