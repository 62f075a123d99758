"""``juniper-data import FILE``: a table as a source, on a server or in the local data directory.

With ``--url`` (or ``JUNIPER_DATA_URL``) the file is uploaded to that server
(``POST /v1/sources``, streamed); without, it is imported into the local data directory
(``JUNIPER_DATA_SOURCES_PATH``, else ``~/.cache/juniper-data/sources``), where a server
using that directory finds it. Either way the source's record is printed as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from juniper_data_core import sources
from juniper_data_core.cli import CommandLineError


def _column_types(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, kind = pair.partition(":")
        if not sep or not name:
            raise CommandLineError(f"--column-type must be NAME:TYPE (e.g. x:float64), got {pair!r}")
        out[name] = kind
    return out


def import_command(
    file: Path,
    *,
    url: str | None,
    name: str | None,
    fmt: str | None,
    delimiter: str | None,
    header: bool,
    column_types: dict[str, str],
) -> dict[str, Any]:
    """The record of ``file`` imported (see the module docstring)."""
    if not file.is_file():
        raise CommandLineError(f"{file} is not a file")
    if url:
        from juniper_data_service.client import JuniperDataClient, JuniperDataClientError

        try:
            with JuniperDataClient(url) as client:
                return client.upload_source(
                    file,
                    name=name,
                    format=fmt,
                    delimiter=delimiter,
                    header=header,
                    column_types=column_types or None,
                    timeout=3600,
                )
        except JuniperDataClientError as err:
            raise CommandLineError(f"the upload failed: {err}") from None
    options = sources.ReadOptions(format=fmt, delimiter=delimiter, header=header, column_types=column_types)
    directory = sources.default_directory()
    try:
        info = directory.import_file(file, options)
    except sources.SourceFormatError as err:
        raise CommandLineError(str(err)) from None
    return {
        "source_id": info.source_id,
        "name": name or file.name,
        "columns": info.columns,
        "n_rows": info.n_rows,
        "bytes": info.bytes,
        "created": info.created,
        "directory": str(directory.root),
    }


def register(app: typer.Typer) -> None:
    """Add ``import`` to the ``juniper-data`` typer application."""

    @app.command("import")
    def import_(
        file: Annotated[Path, typer.Argument(help="CSV, TSV, JSON, JSON Lines, Parquet or Arrow file.")],
        url: Annotated[
            str | None, typer.Option(envvar="JUNIPER_DATA_URL", help="Upload to this server instead.")
        ] = None,
        name: Annotated[str | None, typer.Option(help="The source's name (default: the file's).")] = None,
        fmt: Annotated[
            str | None, typer.Option("--format", help="csv, tsv, json, jsonl, parquet or arrow.")
        ] = None,
        delimiter: Annotated[str | None, typer.Option(help="A CSV's delimiter.")] = None,
        header: Annotated[bool, typer.Option(help="Whether a CSV's first line names the columns.")] = True,
        column_type: Annotated[
            list[str] | None, typer.Option(help="NAME:TYPE (int64, float64, bool, string); repeatable.")
        ] = None,
    ) -> None:
        """Import FILE as a source and print its record (source_id, columns, rows) as JSON."""
        record = import_command(
            file,
            url=url,
            name=name,
            fmt=fmt,
            delimiter=delimiter,
            header=header,
            column_types=_column_types(column_type or []),
        )
        typer.echo(json.dumps(record, indent=2))


__all__ = ["import_command", "register"]
