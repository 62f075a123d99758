"""Request bodies capped by the bytes actually read, not by what Content-Length claims.

The body is read here, chunk by chunk, up to the cap, before the app sees it; past
the cap the answer is 413 and the app is never called. Buffering is bounded by the
cap (1 MiB by default), which is the point.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from juniper_data_service.responses import problem


class BodyLimitMiddleware:
    """413 for a request body longer than ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                detail = f"request body larger than {self.max_bytes} bytes (JUNIPER_DATA_MAX_BODY_BYTES)"
                await problem(413, detail, {"Connection": "close"})(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
