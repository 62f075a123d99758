"""The JSON response every route and error handler uses.

ASCII-escaped, so a lone surrogate or other junk echoed from a request can never fail
to encode (a 500); non-finite floats are refused at the request edge instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse


class SafeJSONResponse(JSONResponse):
    """``application/json`` rendered with ``ensure_ascii=True`` and ``allow_nan=False``."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def problem(status: int, detail: Any, headers: Mapping[str, str] | None = None) -> SafeJSONResponse:
    """An error response: ``{"detail": detail}``."""
    return SafeJSONResponse({"detail": detail}, status_code=status, headers=dict(headers or {}))
