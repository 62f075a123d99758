"""Kaggle datasets: a downloaded archive (a zip of CSV files) into a source.

Two steps, kept apart so that the second works anywhere:

1. :func:`download_kaggle` fetches ``owner/dataset`` as a zip into a directory, through the
   ``kaggle`` package, where it and credentials are present (``KAGGLE_USERNAME`` and
   ``KAGGLE_KEY``, or ``~/.kaggle/kaggle.json``; ``KAGGLE_CONFIG_DIR`` moves that file).
   Without them, a :class:`KaggleError` says what to set; credentials are checked before
   the package is imported, because the package itself exits the process without them.
2. :func:`import_kaggle_archive` reads one CSV member of such an archive into a source
   (pyarrow's CSV reader, streamed: the member is copied out in blocks, never held whole).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from juniper_data_core.errors import MissingDependencyError
from juniper_data_core.sources.errors import SourceFormatError
from juniper_data_core.sources.readers import ReadOptions

if TYPE_CHECKING:
    from juniper_data_core.sources.directory import SourceDirectory, SourceInfo

_TABLE_SUFFIXES = (".csv", ".tsv")
_COPY_BYTES = 1 << 20


class KaggleError(SourceFormatError):
    """Kaggle credentials, package or archive missing or unusable; the message says what to do."""

    def __init__(self, message: str, field: str = "dataset") -> None:
        super().__init__(message, field)


def credentials_file() -> Path:
    """Where the kaggle package looks for ``kaggle.json``: ``$KAGGLE_CONFIG_DIR`` or ``~/.kaggle``."""
    return Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle") / "kaggle.json"


def check_credentials() -> None:
    """A KaggleError naming KAGGLE_USERNAME/KAGGLE_KEY and the kaggle.json path unless one is set."""
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return
    if credentials_file().is_file():
        return
    raise KaggleError(
        "Kaggle credentials are missing: set KAGGLE_USERNAME and KAGGLE_KEY, or put your API token in "
        f"{credentials_file()} (Kaggle -> Settings -> API -> Create New Token)",
        "credentials",
    )


def download_kaggle(dataset: str, directory: str | os.PathLike[str]) -> Path:
    """Download Kaggle dataset ``owner/name`` as ``<directory>/<name>.zip``; its path.

    Raises KaggleError (no credentials, a malformed name, a failed download) or
    MissingDependencyError (no ``kaggle`` package).
    """
    owner, _, name = dataset.partition("/")
    if not owner or not name or "/" in name or any(c in dataset for c in "\\\0") or ".." in dataset:
        raise KaggleError(f"a Kaggle dataset is named 'owner/name', got {dataset!r}")
    check_credentials()
    try:
        from kaggle.api.kaggle_api_extended import KaggleApi
    except ImportError:
        raise MissingDependencyError(
            "downloading from Kaggle needs the kaggle package: pip install kaggle"
        ) from None
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    api = KaggleApi()
    try:
        api.authenticate()
        api.dataset_download_files(dataset, path=str(target), unzip=False, quiet=True)
    except Exception as err:  # noqa: BLE001 - the package raises anything from HTTP errors to OSError
        raise KaggleError(f"downloading Kaggle dataset {dataset!r} failed: {err}") from None
    archive = target / f"{name}.zip"
    if not archive.is_file():
        raise KaggleError(f"the Kaggle download of {dataset!r} left no {archive}")
    return archive


def table_members(archive: str | os.PathLike[str]) -> list[str]:
    """The CSV and TSV members of a zip archive, in archive order."""
    try:
        with zipfile.ZipFile(archive) as zf:
            return [
                info.filename
                for info in zf.infolist()
                if not info.is_dir() and PurePosixPath(info.filename).suffix.lower() in _TABLE_SUFFIXES
            ]
    except zipfile.BadZipFile as err:
        raise KaggleError(f"{archive} is not a zip archive ({err}); download it again", "file") from None


def import_kaggle_archive(
    archive: str | os.PathLike[str],
    member: str | None = None,
    *,
    options: ReadOptions | None = None,
    directory: SourceDirectory | None = None,
) -> SourceInfo:
    """One CSV/TSV ``member`` of a Kaggle zip ``archive`` as a source in ``directory`` (the
    default source directory when None); ``member`` may be omitted when the archive holds
    exactly one. The format comes from the member's suffix unless ``options`` says."""
    from juniper_data_core.sources.directory import default_directory

    members = table_members(archive)
    if member is None:
        if len(members) != 1:
            listed = ", ".join(members) or "none"
            raise KaggleError(
                f"{archive} holds {len(members)} CSV files ({listed}); choose one with member=", "member"
            )
        member = members[0]
    elif member not in members:
        raise KaggleError(
            f"{archive} has no CSV member {member!r}; it has {', '.join(members) or 'none'}", "member"
        )
    target = directory or default_directory()
    suffix = PurePosixPath(member).suffix.lower()
    options = options or ReadOptions()
    if options.format is None:
        options = ReadOptions(
            "tsv" if suffix == ".tsv" else "csv", options.delimiter, options.header, options.column_types
        )
    # Copied out beside the sources (same file system, bounded memory) and removed after.
    fd, temp_name = tempfile.mkstemp(prefix=".kaggle-", suffix=suffix, dir=target.root)
    try:
        with os.fdopen(fd, "wb") as out, zipfile.ZipFile(archive) as zf, zf.open(member) as src:
            shutil.copyfileobj(src, out, _COPY_BYTES)
        return target.import_file(temp_name, options)
    finally:
        Path(temp_name).unlink(missing_ok=True)


__all__ = [
    "KaggleError",
    "check_credentials",
    "credentials_file",
    "download_kaggle",
    "import_kaggle_archive",
    "table_members",
]
