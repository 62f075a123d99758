"""The HTTP methods the routes do not spell out, answered as RFC 9110 says.

- ``HEAD`` on a path that has a ``GET`` route: the GET's status and headers without the
  body. The GET runs, but the client counts as gone as soon as its headers are sent, so
  an artifact is not generated for nothing.
- ``OPTIONS``: 204 with ``Allow`` listing every method of the path (CORS preflights are
  answered by the CORS middleware outside this one).
- ``405``: ``Allow`` lists every method of the path, not only those of the one route
  that happened to match first (``GET`` and ``POST /v1/datasets`` are two routes).
"""

from __future__ import annotations

from collections.abc import Iterable

import anyio
from fastapi import APIRouter
from starlette.routing import Route, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from juniper_data_service.responses import problem


class PathMethods:
    """The methods of each route path, from the routers as mounted."""

    def __init__(self, mounted: Iterable[tuple[str, APIRouter]], get_paths: Iterable[str] = ()) -> None:
        table: dict[str, set[str]] = {path: {"GET"} for path in get_paths}
        for prefix, router in mounted:
            for route in router.routes:
                if isinstance(route, Route) and route.methods:
                    table.setdefault(f"{prefix}{route.path}", set()).update(route.methods)
        self._static = {path: frozenset(methods) for path, methods in table.items() if "{" not in path}
        self._patterns = [(compile_path(path)[0], frozenset(m)) for path, m in table.items() if "{" in path]

    def __call__(self, path: str) -> set[str]:
        """The methods of ``path``'s resource (with HEAD for GET, and OPTIONS), or an empty set
        when no route has that path. A fixed path is its own resource (``/v1/datasets/stats``
        is not the dataset ``stats``), as the routers match fixed paths first."""
        methods: set[str] = set(self._static.get(path, ()))
        if not methods:
            for regex, served in self._patterns:
                if regex.match(path):
                    methods |= served
        if "GET" in methods:
            methods.add("HEAD")
        return methods | {"OPTIONS"} if methods else methods


class MethodsMiddleware:
    """HEAD from GET, OPTIONS with ``Allow``, and a full ``Allow`` on 405s."""

    def __init__(self, app: ASGIApp, methods: PathMethods) -> None:
        self.app = app
        self.methods = methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed = self.methods(scope["path"])
        allow = ", ".join(sorted(allowed)).encode()
        if scope["method"] == "OPTIONS" and allowed:
            await send({"type": "http.response.start", "status": 204, "headers": [(b"allow", allow)]})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["method"] == "HEAD" and "GET" in allowed:
            await self._head(scope, receive, send)
            return
        if allowed and scope["method"] not in allowed:
            detail = f"method {scope['method']} not allowed here; allowed: {', '.join(sorted(allowed))}"
            await problem(405, detail, {"Allow": allow.decode()})(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405 and allowed:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message["headers"] = [*headers, (b"allow", allow)]
            await send(message)

        await self.app(scope, receive, send_with_allow)

    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers_sent = anyio.Event()

        async def head_send(message: Message) -> None:
            if headers_sent.is_set():
                return
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body":
                headers_sent.set()
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        async def head_receive() -> Message:
            # The client's messages, until the headers are out: from then on it is gone, also
            # for a receive already waiting (a streamed response's disconnect watch).
            message: Message = {"type": "http.disconnect"}
            if headers_sent.is_set():
                return message
            async with anyio.create_task_group() as tg:

                async def client() -> None:
                    nonlocal message
                    message = await receive()
                    tg.cancel_scope.cancel()

                async def sent() -> None:
                    await headers_sent.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(client)
                tg.start_soon(sent)
            return message

        await self.app({**scope, "method": "GET"}, head_receive, head_send)
        if not headers_sent.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})
