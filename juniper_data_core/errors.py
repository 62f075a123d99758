"""The errors the engine raises; each message names the field or choice and how to fix it."""

from __future__ import annotations


class JuniperDataError(Exception):
    """Base of every error the engine raises on purpose."""


class UnknownGeneratorError(JuniperDataError, KeyError):
    """No generator of that name (or no such version of it)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ParamsError(JuniperDataError, ValueError):
    """Parameters that fail validation; ``errors`` lists ``(field, message)`` pairs."""

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class FieldValueError(ValueError):
    """A check across fields failed; ``field`` is the one to change (raised inside
    validators, reported as that field's error in :class:`ParamsError`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class BackendUnavailableError(JuniperDataError, RuntimeError):
    """The backend asked for is unknown or cannot run here."""


class MissingDependencyError(JuniperDataError, ImportError):
    """An optional library a generator or writer needs is not installed."""


class DataUnavailableError(JuniperDataError, RuntimeError):
    """Data a recipe reads is not on this machine (e.g. MNIST's files not fetched yet): the
    request is fine, the server is not ready for it (the service answers 503); the message
    says how to get the data."""
