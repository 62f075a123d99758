"""Which route template a request path belongs to, for metrics and logs.

Labels must be templates (``/v1/datasets/{dataset_id}``), never the IDs in paths,
and must be known even for requests the router never saw (401, 413, 429), so the
templates are matched here from the routers' own paths.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fastapi import APIRouter
from starlette.routing import compile_path
from starlette.types import Scope

UNMATCHED = "unmatched"


class RouteTemplates:
    """Matches ``scope["path"]`` against every route template, in routing order."""

    def __init__(self, templates: Iterable[str]) -> None:
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        for template in dict.fromkeys(templates):
            regex, _, _ = compile_path(template)
            self._patterns.append((regex, template))

    @classmethod
    def of(cls, mounted: Iterable[tuple[str, APIRouter]], extra: Iterable[str] = ()) -> RouteTemplates:
        """From ``(prefix, router)`` pairs as included, plus fixed paths."""
        paths = [f"{prefix}{route.path}" for prefix, router in mounted for route in router.routes]  # type: ignore[attr-defined]
        return cls([*paths, *extra])

    def __call__(self, scope: Scope) -> str:
        path = scope.get("path", "")
        for regex, template in self._patterns:
            if regex.match(path):
                return template
        return UNMATCHED
