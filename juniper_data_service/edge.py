"""The outermost middleware: what every response carries and what every request leaves behind.

Every response, errors included (401, 404, 405, 413, 429 and a last-resort 500), gets
``X-Request-ID`` (a sane incoming one echoed, else a new one) and the security
headers; every request is logged once and counted in the metrics under its route
template. An exception that escapes the app becomes a JSON 500 here, inside this
middleware, so even that response carries the headers.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from juniper_data_service.logs import LOGGER
from juniper_data_service.metrics import ServiceMetrics
from juniper_data_service.responses import problem

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc load scripts and styles from a CDN and run inline scripts.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
# The web page (juniper_data_service/web): its own scripts and styles only, no inline
# script; img blob: for previews fetched with an API key; connect-src for the /v1 calls.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_PREFIX = "/ui"
access_log = logging.getLogger(f"{LOGGER}.access")
error_log = logging.getLogger(f"{LOGGER}.errors")


def request_id(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            text = value.decode("latin-1")
            if _REQUEST_ID.match(text):
                return str(text)
    return uuid.uuid4().hex


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    csp = STRICT_CSP
    if path.startswith(DOCS_PATHS):
        csp = DOCS_CSP
    elif path == PAGE_PREFIX or path.startswith(PAGE_PREFIX + "/"):
        csp = PAGE_CSP
    return [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", csp.encode()),
    ]


class EdgeMiddleware:
    """Request ID, security headers, access log, request metrics, last-resort 500."""

    def __init__(
        self, app: ASGIApp, metrics: ServiceMetrics | None, route_of: Callable[[Scope], str]
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.route_of = route_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        extra = [(b"x-request-id", rid.encode()), *security_headers(scope["path"])]
        status = 500
        started = False
        t0 = time.perf_counter()

        async def send_wrapped(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                names = {k for k, _ in extra}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = [*kept, *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapped)
        except Exception:  # noqa: BLE001 - the last line of defence: log it, answer 500
            error_log.exception("unhandled error [request_id=%s]", rid)
            if not started:
                detail = f"internal error; quote request id {rid}"
                await problem(500, detail)(scope, receive, send_wrapped)
        self._record(scope, rid, status, time.perf_counter() - t0)

    def _record(self, scope: Scope, rid: str, status: int, seconds: float) -> None:
        route = self.route_of(scope)
        method = scope["method"]
        if self.metrics is not None:
            self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            self.metrics.request_seconds.labels(method=method, route=route).observe(seconds)
        client = scope.get("client")
        access_log.info(
            "%s %s %s %d %.1fms [request_id=%s]",
            method,
            route,
            scope["path"],
            status,
            seconds * 1000,
            rid,
            extra={
                "request_id": rid,
                "method": method,
                "route": route,
                "path": scope["path"],
                "status": status,
                "ms": round(seconds * 1000, 3),
                "client": client[0] if client else None,
            },
        )
