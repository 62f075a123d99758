"""Paths a client names (``file_path``, ``local_path``): allowed only inside import roots.

:func:`resolve_under_roots` decides before anything is opened. The path and every
spelling of it (percent-decoded, repeatedly) are resolved (``..`` collapsed, symlinks
followed to their targets); each must lie inside one of the roots (themselves
resolved). NUL bytes, empty paths and an empty list of roots are refused. A relative
path is taken relative to the first root that holds it (else the first root).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from juniper_data_core.errors import JuniperDataError, ParamsError
from juniper_data_core.sources.errors import SourceFormatError
from juniper_data_core.sources.readers import ReadOptions


class PathNotAllowedError(JuniperDataError, PermissionError):
    """A path outside the import roots (or import from paths switched off); ``field`` is the
    parameter that named it. The service answers 403."""

    def __init__(self, message: str, field: str = "file_path") -> None:
        super().__init__(message)
        self.field = field

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _spellings(path: str) -> list[str]:
    out = [path]
    while (decoded := unquote(out[-1])) != out[-1] and len(out) < 8:
        out.append(decoded)
    return out


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def resolve_under_roots(
    path: str,
    roots: Sequence[str | os.PathLike[str]],
    *,
    field: str = "file_path",
    setting: str = "JUNIPER_DATA_IMPORT_ROOTS",
) -> Path:
    """The resolved ``path`` if it (and each of its percent-decoded spellings) lies inside one
    of ``roots``; a PathNotAllowedError otherwise. Nothing is opened."""
    if not roots:
        raise PathNotAllowedError(
            f"{field} is switched off on this server: set {setting} to the directories files "
            f"may be read from, or upload the file (POST /v1/sources) and give source_id",
            field,
        )
    if not isinstance(path, str) or not path.strip():
        raise PathNotAllowedError(f"{field} must be a non-empty path", field)
    resolved_roots = [Path(r).resolve() for r in roots]
    chosen: Path | None = None
    for spelling in _spellings(path):
        if "\x00" in spelling:
            raise PathNotAllowedError(f"{field} must not contain NUL bytes", field)
        candidate = Path(spelling)
        options = [candidate] if candidate.is_absolute() else [r / candidate for r in resolved_roots]
        resolved = [p.resolve() for p in options]
        if not all(_inside(p, resolved_roots) for p in resolved):
            raise PathNotAllowedError(
                f"{field} {path!r} is outside the directories files may be read from ({setting}); "
                f"give a path inside one of them",
                field,
            )
        if chosen is None:
            chosen = next((p for p in resolved if p.exists()), resolved[0])
    assert chosen is not None
    return chosen


def import_file_path(
    params: Mapping[str, Any], roots: Sequence[str | os.PathLike[str]], directory: Any
) -> dict[str, Any]:
    """csv_import's ``params`` with ``file_path`` imported into ``directory`` (anything with
    :meth:`SourceDirectory.import_file`) and replaced by its ``source_id``; the path must lie
    under ``roots`` (PathNotAllowedError otherwise, before anything is opened). Params
    without ``file_path`` come back as they are."""
    path = params.get("file_path")
    if path is None or params.get("source_id") is not None:
        return {**params, "file_path": None} if "file_path" in params else dict(params)
    resolved = resolve_under_roots(path, roots)
    if not resolved.is_file():
        raise SourceFormatError(f"file_path {path!r} is not a file inside the import roots", "file_path")
    fmt = params.get("file_format", "auto")
    options = ReadOptions(
        format=None if fmt in (None, "auto") else fmt,
        delimiter=params.get("delimiter") if fmt not in ("tsv",) else None,
        header=bool(params.get("header", True)),
    )
    info = directory.import_file(resolved, options)
    return {**params, "source_id": info.source_id, "file_path": None}


def resolve_params(
    generator: str, params: Mapping[str, Any], roots: Sequence[str | os.PathLike[str]], directory: Any
) -> dict[str, Any]:
    """``params`` of ``generator`` with every file they name read into ``directory`` and
    replaced by its ``source_id``, each path checked against ``roots`` first: csv_import's
    ``file_path``, arc_agi's ``local_path`` (or bundled corpus). How a server turns a
    request into a recipe with its own roots and store; other generators' params come back
    as they are."""
    if generator == "csv_import":
        return import_file_path(params, roots, directory)
    if generator == "arc_agi":
        # Imported here: the generators import this module.
        from juniper_data_core.generators.arc_agi import resolve_source

        try:
            return resolve_source(dict(params), [str(r) for r in roots], directory)
        except SourceFormatError as err:
            # The same error the params model gives when the engine resolves them itself.
            raise ParamsError(
                f"invalid arc_agi parameters: {err.field}: {err}", [(err.field, str(err))]
            ) from None
    return dict(params)


def env_import_roots() -> list[str]:
    """The import roots the engine's own callers (the CLI, a notebook) allow: the comma list
    in ``JUNIPER_DATA_IMPORT_ROOTS`` (empty: none). A server passes its settings' roots."""
    return [r.strip() for r in os.environ.get("JUNIPER_DATA_IMPORT_ROOTS", "").split(",") if r.strip()]
