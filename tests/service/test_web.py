"""The web page's files over HTTP (a live server): where they are, their types, the
Content-Security-Policy they run under, and that nothing else can be read through them.
The page's behaviour in a browser is tests/service/test_web_browser.py."""

from __future__ import annotations

import http.client
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from juniper_data_service.edge import STRICT_CSP

WEB = Path(__file__).resolve().parents[2] / "juniper_data_service" / "web"


def test_root_redirects_to_the_page(client: httpx.Client) -> None:
    for path in ("/", "/ui"):
        r = client.get(path)
        assert r.status_code == 307
        assert r.headers["location"] == "/ui/"
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>JuniperData</title>" in page.text


def test_the_page_has_no_inline_script_and_a_policy_that_forbids_it(client: httpx.Client) -> None:
    r = client.get("/ui/")
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", r.text, flags=re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+=", r.text)  # no inline event handlers
    csp = dict(part.strip().split(" ", 1) for part in r.headers["content-security-policy"].split(";"))
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["default-src"] == "'none'"
    assert "unsafe" not in r.headers["content-security-policy"]


def test_the_api_keeps_the_strict_policy(client: httpx.Client) -> None:
    assert client.get("/v1/health").headers["content-security-policy"] == STRICT_CSP


def referenced_files(text: str) -> set[str]:
    """Files of the page that a file names: src/href in HTML, imports in JS modules."""
    names = set(re.findall(r'(?:src|href)="([\w.-]+\.(?:js|css))"', text))
    return names | set(re.findall(r'from\s+"\./([\w.-]+\.js)"', text))


def test_every_file_the_page_references_is_served_with_its_type(client: httpx.Client) -> None:
    seen: set[str] = set()
    todo = ["index.html"]
    types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
    while todo:
        name = todo.pop()
        r = client.get("/ui/" if name == "index.html" else f"/ui/{name}")
        assert r.status_code == 200, name
        assert r.content == (WEB / name).read_bytes()
        if name != "index.html":
            assert r.headers["content-type"] == types[Path(name).suffix]
        seen.add(name)
        todo += sorted(referenced_files(r.text) - seen)
    assert {
        "app.js",
        "api.js",
        "arrow.js",
        "plot.js",
        "catalogue.js",
        "dataset.js",
        "create.js",
        "style.css",
    } <= seen
    assert seen == {p.name for p in WEB.iterdir() if p.suffix in {".html", ".js", ".css"}}


@pytest.mark.parametrize(
    "path",
    [
        "/ui/../app.py",
        "/ui/..%2fapp.py",
        "/ui/%2e%2e%2f%2e%2e%2fpyproject.toml",
        "/ui/routes",
        "/ui/web.py",
        "/ui/..",
    ],
)
def test_nothing_but_the_page_files_can_be_read(server: Any, path: str) -> None:
    # http.client sends the path as written (httpx would normalise the dots away).
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    assert response.status == 404
    assert b"import" not in body and b"[project]" not in body


def test_the_page_loads_without_a_key_when_the_api_needs_one(start_server: Any) -> None:
    server = start_server(api_keys=["web-key-0123456789"])
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/v1/datasets").status_code == 401
        assert c.get("/", follow_redirects=True).status_code == 200
        assert c.get("/ui/app.js").status_code == 200
        assert c.get("/v1/datasets", headers={"X-API-Key": "web-key-0123456789"}).status_code == 200


def test_head_and_options_work_on_the_page(client: httpx.Client) -> None:
    head = client.head("/ui/app.js")
    assert head.status_code == 200 and head.content == b""
    options = client.options("/ui/")
    assert options.status_code == 204
    assert "GET" in options.headers["allow"]
    assert client.post("/ui/").status_code == 405
