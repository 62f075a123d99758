"""The generator registry: one module per generator, each exposing ``SPEC``.

A new generator is its own module (params model, kernel, ``SPEC``) plus one call of
:func:`register` (see ``docs/architecture.md``). :func:`catalog` describes them all.

This package can also be called, ``juniper_data_core.generators()``: that was the
catalog's name before the package was reachable as ``juniper_data_core.generators``;
it still works, with a ``DeprecationWarning`` (use
:func:`juniper_data_core.generator_catalog`).
"""

from __future__ import annotations

import sys
import types
import warnings
from typing import Any

from juniper_data_core.generators import (
    arc_agi,
    checkerboard,
    circles,
    csv_import,
    gaussian,
    mnist,
    moon,
    spiral,
    xor,
)
from juniper_data_core.generators.base import V1, V2, GeneratorSpec, Shape, SplitParams

REGISTRY: dict[str, GeneratorSpec] = {}


def register(spec: GeneratorSpec, *, replace: bool = False) -> GeneratorSpec:
    """Make ``spec`` available under ``spec.name`` to recipes, every backend, the writers and
    the service; a ValueError if the name is taken (unless ``replace``)."""
    if spec.name in REGISTRY and not replace:
        raise ValueError(f"a generator called {spec.name!r} is already registered")
    REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove the generator called ``name`` (tests that register their own)."""
    REGISTRY.pop(name, None)


def catalog() -> dict[str, dict[str, Any]]:
    """Every registered generator: name -> description, params model, JSON schema,
    versions, default version, and whether it can run here (with an install hint if not)."""
    hints = {
        name: spec.unavailable() if spec.unavailable is not None else None for name, spec in REGISTRY.items()
    }
    return {
        name: {
            "name": name,
            "description": spec.description,
            "params_model": spec.params_model,
            "schema": spec.params_model.model_json_schema(),
            "versions": list(spec.versions),
            "default_version": spec.default_version,
            # The synthetic generators run on NumPy alone; the sources say what they lack.
            "available": hints[name] is None,
            "install_hint": hints[name],
            "from_source": spec.from_source,
        }
        for name, spec in REGISTRY.items()
    }


for _module in (spiral, xor, gaussian, circles, checkerboard, moon, csv_import, mnist, arc_agi):
    register(_module.SPEC)


class _CallablePackage(types.ModuleType):
    """This package, callable as the deprecated ``juniper_data_core.generators()``."""

    def __call__(self) -> dict[str, dict[str, Any]]:
        warnings.warn(
            "juniper_data_core.generators() is deprecated; use juniper_data_core.generator_catalog()",
            DeprecationWarning,
            stacklevel=2,
        )
        return catalog()


sys.modules[__name__].__class__ = _CallablePackage

__all__ = [
    "REGISTRY",
    "V1",
    "V2",
    "GeneratorSpec",
    "Shape",
    "SplitParams",
    "catalog",
    "register",
    "unregister",
]
