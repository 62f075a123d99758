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
- See: :func:`preview_png` (a recipe's scatter plot as PNG, sampled past 50,000 points),
  :func:`scatter_png` (given points); :data:`PREVIEW_SIZE` (the pixel bounds of both).
- Sources (data read, not generated): :mod:`juniper_data_core.sources` (its own
  ``__all__``: source directories, readers, the import-root check, its errors).
- Extend: :func:`register_generator` with a
  :class:`~juniper_data_core.generators.base.GeneratorSpec` (``docs/architecture.md``).
"""

from __future__ import annotations

from juniper_data_core import sources
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
    DataUnavailableError,
    JuniperDataError,
    MissingDependencyError,
    ParamsError,
    UnknownGeneratorError,
)
from juniper_data_core.formats import write_arrow, write_npz
from juniper_data_core.generators import catalog as generator_catalog
from juniper_data_core.generators import register as register_generator
from juniper_data_core.plan import ARRAY_NAMES
from juniper_data_core.preview import MAX_SIZE as _PREVIEW_MAX
from juniper_data_core.preview import MIN_SIZE as _PREVIEW_MIN
from juniper_data_core.preview import preview_png, scatter_png
from juniper_data_core.recipe import SPLITS, Recipe, recipe

__version__ = "0.1.0"
#: ``(min, max)`` pixels of a preview's width and height.
PREVIEW_SIZE = (_PREVIEW_MIN, _PREVIEW_MAX)

__all__ = [
    "ARRAY_NAMES",
    "PREVIEW_SIZE",
    "SPLITS",
    "BackendUnavailableError",
    "DataUnavailableError",
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
    "preview_png",
    "recipe",
    "register_generator",
    "sources",
    "scatter_png",
    "write_arrow",
    "write_npz",
]
