"""The shape of the ``juniper_data_service.client`` package: its public face and its modules.

The names below are written out, not read from ``__all__``, so that dropping a re-export (or a
module) fails here rather than in a user's import.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import juniper_data_service.client as client_package

#: Every public name of the single-module client, with the module of the package that now defines
#: it. The first eight formed that module's ``__all__``; the functions are used by tests and docs.
EARLIER_PUBLIC = {
    "JuniperDataClient": "api",
    "ArrowBatchStream": "arrow",
    "JuniperDataClientError": "errors",
    "JuniperDataConnectionError": "errors",
    "JuniperDataTimeoutError": "errors",
    "JuniperDataNotFoundError": "errors",
    "JuniperDataValidationError": "errors",
    "JuniperDataServerError": "errors",
    "normalize_base_url": "config",
    "resolve_api_key": "config",
    "DEFAULT_BASE_URL": "config",
    "API_KEY_ENV": "config",
    "API_KEY_FILE_ENV": "config",
    "API_KEY_HEADER": "config",
    "ARROW_MEDIA_TYPE": "arrow",
    "RETRY_STATUSES": "retry",
    "RETRY_METHODS": "retry",
    "MAX_RETRY_WAIT_S": "retry",
}

SUBMODULES = {
    "api",
    "arrow",
    "bodies",
    "closing",
    "config",
    "connection",
    "downloads",
    "errors",
    "retry",
    "sources",
    "transport",
}


def submodule(name: str) -> object:
    return importlib.import_module(f"juniper_data_service.client.{name}")


@pytest.mark.parametrize(("name", "home"), sorted(EARLIER_PUBLIC.items()))
def test_every_earlier_public_name_is_importable_from_the_package(name: str, home: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from juniper_data_service.client import {name}", namespace)
    assert namespace[name] is getattr(submodule(home), name)


def test_all_lists_exactly_the_earlier_public_names() -> None:
    assert sorted(client_package.__all__) == sorted(EARLIER_PUBLIC)


def test_the_package_init_defines_nothing_else_public() -> None:
    # ``annotations`` is bound by ``from __future__ import annotations``; submodules become
    # attributes when imported. Anything more is a helper that leaked into the public face.
    public = {name for name in vars(client_package) if not name.startswith("_")}
    assert public - {"annotations"} == set(EARLIER_PUBLIC) | SUBMODULES


def test_the_submodules_are_the_expected_ones() -> None:
    found = {info.name for info in pkgutil.iter_modules(client_package.__path__)}
    assert found == SUBMODULES


@pytest.mark.parametrize("name", sorted(SUBMODULES))
def test_every_submodule_has_a_docstring_and_a_place_in_the_package_docstring(name: str) -> None:
    doc = submodule(name).__doc__
    assert doc is not None and doc.strip(), f"{name} has no docstring"
    assert f":mod:`.{name}`" in str(client_package.__doc__), f"the package docstring does not place {name}"


def test_the_package_has_a_docstring() -> None:
    assert client_package.__doc__ is not None and client_package.__doc__.strip()
