"""Access control: API keys and the per-client rate limit, as one pure ASGI middleware.

Health probes, ``/metrics`` and the API docs are exempt from both. Keys are compared
in constant time against every configured key, so timing reveals neither which key
nearly matched nor how many there are.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from juniper_data_service.responses import problem

EXEMPT_PREFIXES = ("/v1/health", "/metrics", "/docs", "/redoc", "/openapi.json")
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
    """A fixed one-minute window per client: at most ``per_minute`` requests in each."""

    def __init__(self, per_minute: int, window_s: float = 60.0) -> None:
        self.limit = per_minute
        self.window_s = window_s
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, client: str, now: float) -> tuple[bool, int, float]:
        """Count one request: ``(allowed, remaining, seconds until the window resets)``."""
        with self._lock:
            start, count = self._windows.get(client, (now, 0))
            if now - start >= self.window_s:
                start, count = now, 0
            if len(self._windows) > 100_000:  # forget idle clients rather than grow for ever
                self._windows = {c: w for c, w in self._windows.items() if now - w[0] < self.window_s}
            count += 1
            self._windows[client] = (start, count)
        reset = max(0.0, start + self.window_s - now)
        return count <= self.limit, max(0, self.limit - count), reset


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class GuardMiddleware:
    """401 without a valid ``X-API-Key`` (when keys are set); 429 past the rate limit."""

    def __init__(self, app: ASGIApp, keys: ApiKeys, limiter: RateLimiter | None) -> None:
        self.app = app
        self.keys = keys
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"].startswith(EXEMPT_PREFIXES)
            or scope["method"] == "OPTIONS"
        ):
            await self.app(scope, receive, send)
            return
        key = _header(scope, API_KEY_HEADER.encode())
        if self.keys.enabled and not self.keys.accepts(key):
            detail = "missing API key: send it in the X-API-Key header" if key is None else "invalid API key"
            await problem(401, detail, {"WWW-Authenticate": "ApiKey"})(scope, receive, send)
            return
        if self.limiter is None:
            await self.app(scope, receive, send)
            return
        client = f"key:{hashlib.sha256(key.encode()).hexdigest()[:16]}" if key else _client_ip(scope)
        allowed, remaining, reset = self.limiter.hit(client, time.monotonic())
        headers = {
            "X-RateLimit-Limit": str(self.limiter.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil(reset)))
            detail = f"rate limit of {self.limiter.limit} requests per minute exceeded; retry later"
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


def _client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return f"ip:{client[0]}" if client else "ip:unknown"
