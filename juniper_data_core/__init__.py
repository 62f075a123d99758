"""juniper_data_core: synthetic datasets as pure functions of a recipe and the row index.

The public face (CONTRACT section 1, ``docs/architecture.md``): everything in
``__all__`` here, and the artifact writers of :mod:`juniper_data_core.formats`.
Nothing else is promised to callers (the service included). Importing it needs only
NumPy and pydantic; every optional library is imported where it is used.

- Describe: :func:`generator_catalog`, :func:`available_backends`.
- Recipes: :func:`recipe` -> :class:`Recipe` (computes nothing); :data:`SPLITS`.
- Compute: :func:`generate` -> :class:`Dataset`, :func:`generate_rows`,
  :func:`backend_for` (the backend a recipe will run on), :func:`class_distribution`
  (class counts from labels alone).
- Write: :func:`write_npz`, :func:`write_arrow` (streamed; :mod:`juniper_data_core.formats`
  has the chunk iterators and sizes).
- Extend: :func:`register_generator` with a
  :class:`~juniper_data_core.generators.base.GeneratorSpec` (``docs/architecture.md``).
"""

from __future__ import annotations

from juniper_data_core.backends.registry import available_backends
from juniper_data_core.dataset import (
    Dataset,
    backend_for,
    class_distribution,
    generate,
    generate_rows,
)
from juniper_data_core.errors import (
    BackendUnavailableError,
    JuniperDataError,
    MissingDependencyError,
    ParamsError,
    UnknownGeneratorError,
)
from juniper_data_core.formats import write_arrow, write_npz
from juniper_data_core.generators import catalog as generator_catalog
from juniper_data_core.generators import register as register_generator
from juniper_data_core.plan import ARRAY_NAMES
from juniper_data_core.recipe import SPLITS, Recipe, recipe

__version__ = "0.1.0"

__all__ = [
    "ARRAY_NAMES",
    "SPLITS",
    "BackendUnavailableError",
    "Dataset",
    "JuniperDataError",
    "MissingDependencyError",
    "ParamsError",
    "Recipe",
    "UnknownGeneratorError",
    "__version__",
    "available_backends",
    "backend_for",
    "class_distribution",
    "generate",
    "generate_rows",
    "generator_catalog",
    "recipe",
    "register_generator",
    "write_arrow",
    "write_npz",
]
