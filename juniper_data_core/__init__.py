"""juniper_data_core: synthetic datasets as pure functions of a recipe and the row index.

The public face (CONTRACT section 1): :func:`generators`, :func:`available_backends`,
:func:`recipe`, :func:`generate`, :func:`generate_rows`, :class:`Dataset`,
:class:`Recipe`, and the errors. Importing it needs only NumPy and pydantic; every
optional library is imported where it is used.
"""

from __future__ import annotations

from typing import Any

from juniper_data_core.backends.registry import available_backends
from juniper_data_core.dataset import ARRAY_NAMES, Dataset, generate, generate_rows
from juniper_data_core.errors import (
    BackendUnavailableError,
    JuniperDataError,
    MissingDependencyError,
    ParamsError,
    UnknownGeneratorError,
)
from juniper_data_core.formats import write_arrow, write_npz
from juniper_data_core.generators import REGISTRY
from juniper_data_core.recipe import Recipe, recipe

__version__ = "0.1.0"


def generators() -> dict[str, dict[str, Any]]:
    """Every registered generator: name -> description, params model, JSON schema,
    versions, default version, and whether its optional dependencies are installed."""
    import importlib.util

    out = {}
    for name, spec in REGISTRY.items():
        missing = [m for m in spec.requires if importlib.util.find_spec(m) is None]
        out[name] = {
            "name": name,
            "description": spec.description,
            "params_model": spec.params_model,
            "schema": spec.params_model.model_json_schema(),
            "versions": list(spec.versions),
            "default_version": spec.default_version,
            "available": not missing,
            "install_hint": f"pip install {' '.join(missing)}" if missing else None,
        }
    return out


__all__ = [
    "ARRAY_NAMES",
    "BackendUnavailableError",
    "Dataset",
    "JuniperDataError",
    "MissingDependencyError",
    "ParamsError",
    "Recipe",
    "UnknownGeneratorError",
    "__version__",
    "available_backends",
    "generate",
    "generate_rows",
    "generators",
    "recipe",
    "write_arrow",
    "write_npz",
]
