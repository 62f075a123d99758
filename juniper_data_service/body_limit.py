"""Request bodies capped by the bytes actually read, not by what Content-Length claims.

The body is read here, chunk by chunk, up to the cap, before the app sees it; past
the cap the answer is 413 and the app is never called. Buffering is bounded by the
cap (1 MiB by default), which is the point. A JSON body must be UTF-8 (RFC 8259): the
JSON parser underneath would also read UTF-16 and UTF-32, which no client of this API
sends on purpose, so such a body is a 422 here.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from juniper_data_service.responses import problem


class BodyLimitMiddleware:
    """413 for a request body longer than ``max_bytes``; POSTs to the ``streamed`` paths pass
    through unread (their route streams the body to disk under its own limit)."""

    def __init__(self, app: ASGIApp, max_bytes: int, streamed: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed = frozenset(streamed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"] == "POST" and scope["path"] in self.streamed):
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
        body = b"".join(chunks)
        if _is_json(scope) and not _utf8_json(body):
            error = {
                "type": "json_invalid",
                "loc": ["body"],
                "msg": "the JSON body must be encoded as UTF-8 (RFC 8259), without NUL bytes",
            }
            await problem(422, [error])(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _is_json(scope: Scope) -> bool:
    for key, value in scope.get("headers", ()):
        if key == b"content-type":
            media = bytes(value).split(b";")[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def _utf8_json(body: bytes) -> bool:
    # UTF-16 and UTF-32 text of ASCII JSON is NUL bytes between valid UTF-8 bytes; raw NULs
    # are never valid JSON in any encoding read as UTF-8.
    if b"\x00" in body:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
