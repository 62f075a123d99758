"""The web page: ``/`` redirects to ``/ui/``, which serves the static files of
``juniper_data_service/web`` (HTML, CSS and JavaScript modules; no build step).

Only the files found there at start-up are served, by name from that table: a request
path never becomes a filesystem path, so nothing outside the directory can be read.
The page needs no API key to load (it holds no data); its requests to ``/v1`` carry
the key the user enters.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import RedirectResponse

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
UI = "/ui/"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
FILES: dict[str, tuple[bytes, str]] = {
    path.name: (path.read_bytes(), _TYPES[path.suffix])
    for path in (sorted(WEB_DIR.iterdir()) if WEB_DIR.is_dir() else [])
    if path.is_file() and path.suffix in _TYPES
}

router = APIRouter(tags=["page"], include_in_schema=False)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse(UI, status_code=307)


@router.get("/ui")
async def ui_no_slash() -> RedirectResponse:
    # Relative asset URLs in index.html resolve against /ui/, not /.
    return RedirectResponse(UI, status_code=307)


@router.get("/ui/")
async def index() -> Response:
    return _file("index.html")


@router.get("/ui/{name}")
async def asset(name: str) -> Response:
    return _file(name)


def _file(name: str) -> Response:
    found = FILES.get(name)
    if found is None:
        raise HTTPException(404, f"no page file {name!r}; the page is at {UI}")
    body, media = found
    # The files change only with the package; revalidating each load keeps a browser
    # from mixing modules of two versions after an upgrade.
    return Response(body, media_type=media, headers={"Cache-Control": "no-cache"})
