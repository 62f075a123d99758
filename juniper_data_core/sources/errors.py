"""The errors of sources; each names the field, column, row or limit and how to fix it."""

from __future__ import annotations

from juniper_data_core.errors import JuniperDataError


class SourceFormatError(JuniperDataError, ValueError):
    """A file or table that cannot become a source, or a transform that does not fit it
    (a missing value, a non-numeric feature column); ``field`` is what to change."""

    def __init__(self, message: str, field: str = "file") -> None:
        super().__init__(message)
        self.field = field


class SourceNotFoundError(JuniperDataError, LookupError):
    """No source with that id in any source directory."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
