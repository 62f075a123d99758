"""Where a client may have an export written: under the roots the operator lists.

An export's ``url`` comes from the client, and the cluster's workers write there with
the service's authority, so it is checked before anything is submitted.
``JUNIPER_DATA_EXPORT_ROOTS`` lists directories (and URL prefixes such as
``s3://bucket/exports``); empty means no export may be written anywhere. A target must
lie strictly inside one root (never the root itself, which may hold other exports):

- a local path (plain, or ``file://``): no ``..`` component; relative paths are taken
  under the first local root; the path with every symlink resolved (``realpath``) must
  still be inside the root with its own symlinks resolved, so a link that points out is
  refused;
- a URL (``s3://``, ``gs://``, ...): the same scheme, bucket and path prefix as a root,
  and path components of plain characters only (no ``..``, ``.``, empty or
  percent-encoded ones, no ``::`` chains).

The check is made where the service runs; the workers must see the same paths (a
shared volume mounted at the same place). Anyone who can create symlinks inside a root
after the check can still redirect a write: keep the roots writable by the service and
its workers only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

_ROOTS_HINT = "JUNIPER_DATA_EXPORT_ROOTS"
# What one component of a remote export URL may hold.
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.=+@,-]*$")


class ExportForbiddenError(Exception):
    """An export ``url`` the operator's roots do not allow (403)."""


def _scheme(url: str) -> str | None:
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme) else None


def _is_local(url: str) -> bool:
    return _scheme(url) in (None, "file")


def _local_path(url: str) -> str:
    return url[len("file://") :] if _scheme(url) == "file" else url


def _inside(path: str, root: str) -> bool:
    return path != root and os.path.commonpath([path, root]) == root


class ExportRoots:
    """The operator's export roots; :meth:`resolve` turns a client's ``url`` into the target."""

    def __init__(self, roots: Sequence[str]) -> None:
        self._dirs = [os.path.realpath(os.path.expanduser(_local_path(r))) for r in roots if _is_local(r)]
        self._prefixes = [
            f"{_scheme(r)}://{r.split('://', 1)[1].rstrip('/')}" for r in roots if not _is_local(r)
        ]

    def resolve(self, url: str) -> str:
        """The target to write: a local path made absolute with symlinks resolved, or the URL.

        Raises
        ------
        ExportForbiddenError
            When ``url`` is not strictly inside a root, or has a ``..`` component.
        """
        if any(ord(c) < 32 for c in url) or "::" in url:
            raise ExportForbiddenError(
                "url must be a plain path or URL (no control characters, no '::' chains)"
            )
        if _is_local(url):
            return self._resolve_local(_local_path(url))
        return self._resolve_remote(url)

    def _resolve_local(self, path: str) -> str:
        if not self._dirs:
            raise ExportForbiddenError(
                f"exports to local paths are off: {_ROOTS_HINT} lists no directory the service may write to"
            )
        if ".." in re.split(r"[/\\]", path):
            raise ExportForbiddenError(
                f"url {path!r} has a '..' component; name a path inside an export root"
            )
        absolute = path if os.path.isabs(path) else os.path.join(self._dirs[0], path)
        real = os.path.realpath(absolute)
        if not any(_inside(real, root) for root in self._dirs):
            raise ExportForbiddenError(
                f"url {path!r} is outside the directories exports may be written to ({_ROOTS_HINT}); "
                "symlinks are followed before the check"
            )
        return real

    def _resolve_remote(self, url: str) -> str:
        scheme = _scheme(url)
        rest = url.split("://", 1)[1] if scheme else url
        segments = rest.rstrip("/").split("/")
        if scheme is None or not all(_SEGMENT.match(s) for s in segments):
            raise ExportForbiddenError(
                f"url {url!r} must be scheme://bucket/path with plain path components "
                "(letters, digits, _ . = + @ , -; no '..', '.', empty or percent-encoded ones)"
            )
        target = f"{scheme}://{'/'.join(segments)}"
        if not any(target.startswith(prefix + "/") for prefix in self._prefixes):
            raise ExportForbiddenError(f"url {url!r} is not under a URL prefix listed in {_ROOTS_HINT}")
        return target
