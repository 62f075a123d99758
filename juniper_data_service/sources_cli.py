"""``juniper-data import FILE``: a table as a source, on a server or in the local data directory.

With ``--url`` (or ``JUNIPER_DATA_URL``) the file is uploaded to that server
(``POST /v1/sources``, streamed); without, it is imported into the local data directory
(``JUNIPER_DATA_SOURCES_PATH``, else ``~/.cache/juniper-data/sources``), where a server
using that directory finds it. Either way the source's record is printed as JSON.

``--from huggingface`` reads FILE as a Hugging Face dataset (a saved dataset, a directory of
data files, or a Hub name in the offline cache); ``--from kaggle`` as a Kaggle archive (a
downloaded ``.zip``, or ``owner/name`` downloaded first with the ``kaggle`` package). Both
are converted here into a canonical table; with ``--url`` that table is then uploaded as
Arrow, and the server finds the same ``source_id`` (the id is the content's).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

import juniper_data_core as jd
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


Origin = Literal["file", "huggingface", "kaggle"]


def import_other(
    what: str,
    origin: Origin,
    *,
    url: str | None,
    name: str | None,
    split: str | None = None,
    feature_columns: list[str] | None = None,
    label_column: str | None = None,
    member: str | None = None,
) -> dict[str, Any]:
    """The record of a Hugging Face dataset or Kaggle archive ``what`` imported (see the
    module docstring)."""
    huggingface, kaggle = sources.huggingface, sources.kaggle
    with tempfile.TemporaryDirectory(prefix="juniper-data-import-") as scratch:
        # Uploaded from a scratch directory; kept in the local data directory otherwise.
        directory = sources.SourceDirectory(scratch) if url else sources.default_directory()
        try:
            if origin == "huggingface":
                info = huggingface.import_huggingface(
                    what,
                    split=split,
                    feature_columns=feature_columns or None,
                    label_column=label_column,
                    directory=directory,
                )
            else:
                archive = Path(what)
                if not archive.is_file():
                    kaggle.check_credentials()
                    archive = kaggle.download_kaggle(what, scratch)
                info = kaggle.import_kaggle_archive(archive, member, directory=directory)
        except jd.JuniperDataError as err:  # a bad file or option, a missing library or credentials
            raise CommandLineError(str(err)) from None
        if url:
            return import_command(
                directory.path(info.source_id),
                url=url,
                name=name or Path(what).name,
                fmt="arrow",
                delimiter=None,
                header=True,
                column_types={},
            )
    return {
        "source_id": info.source_id,
        "name": name or Path(what).name,
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
        file: Annotated[
            str,
            typer.Argument(
                help="CSV, TSV, JSON, JSON Lines, Parquet or Arrow file; with --from, a Hugging Face "
                "dataset or a Kaggle archive (or owner/name)."
            ),
        ],
        origin: Annotated[str, typer.Option("--from", help="file, huggingface or kaggle.")] = "file",
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
        split: Annotated[str | None, typer.Option(help="Hugging Face: the split to import.")] = None,
        feature_column: Annotated[
            list[str] | None, typer.Option(help="Hugging Face: a feature column (default: all); repeatable.")
        ] = None,
        label_column: Annotated[str | None, typer.Option(help="Hugging Face: the label column.")] = None,
        member: Annotated[
            str | None, typer.Option(help="Kaggle: the archive's CSV (needed when it holds several).")
        ] = None,
    ) -> None:
        """Import FILE as a source and print its record (source_id, columns, rows) as JSON."""
        if origin not in ("file", "huggingface", "kaggle"):
            raise CommandLineError(f"--from must be file, huggingface or kaggle, got {origin!r}")
        if origin == "file":
            record = import_command(
                Path(file),
                url=url,
                name=name,
                fmt=fmt,
                delimiter=delimiter,
                header=header,
                column_types=_column_types(column_type or []),
            )
        else:
            record = import_other(
                file,
                "huggingface" if origin == "huggingface" else "kaggle",
                url=url,
                name=name,
                split=split,
                feature_columns=feature_column,
                label_column=label_column,
                member=member,
            )
        typer.echo(json.dumps(record, indent=2))


__all__ = ["import_command", "import_other", "register"]
