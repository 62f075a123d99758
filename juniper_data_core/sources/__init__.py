"""Sources: data that is read, not generated (CSV/JSON/Parquet/Arrow files, MNIST, ARC-AGI...).

**What a source is.** A file's content parsed once into a *canonical table* (pyarrow):
columns typed ``int64``, ``float64``, ``bool`` or ``string`` whatever the file format said,
cut into record batches of a size fixed by the schema alone. Its id is
``sha256:<hex>`` of that canonical content (column names, types and values; not the
file format, the reader's blocks or the input's batches: the same table as CSV or as
Parquet is one source). A source is immutable. :mod:`~juniper_data_core.sources.canonical`
defines the form and the hash.

**Where source files are.** A :class:`SourceDirectory` holds ``<hex>.arrow`` files
(uncompressed Arrow IPC, memory-mapped when read), written atomically (a temporary file
in the same directory, renamed once whole; nothing left behind on failure). The engine
finds a source on a process-wide search path: the directories given to
:func:`add_source_directory` (the service adds its own store's directory at start-up),
then the default directory (``JUNIPER_DATA_SOURCES_PATH``, else
``~/.cache/juniper-data/sources``), where :func:`import_file` writes. Sharing one search
path between apps in a process is safe: an id names the same bytes wherever it is found.
A source on no directory may be brought to one by a fetcher (:func:`add_source_fetcher`):
a server whose sources live on a shared blob store copies one down when first read.

**Reading files** (:mod:`~juniper_data_core.sources.readers`): :func:`import_file` /
:meth:`SourceDirectory.import_file` parse CSV, TSV, JSON (array or lines), JSON Lines,
Parquet and Arrow IPC with pyarrow's readers, streamed in blocks (memory bounded by the
block size, not the file), with :class:`ReadOptions` (format, delimiter, header,
column_types). Other importers (IDX, ARC, Hugging Face, Kaggle) build record batches and
call :meth:`SourceDirectory.import_batches` (or ``import_table``): same form, same id.

**Paths clients name** (:mod:`~juniper_data_core.sources.paths`):
:func:`resolve_under_roots` refuses (:class:`PathNotAllowedError`, the service's 403)
any spelling of a path that leaves the import roots, before anything is opened;
:func:`import_file_path` imports csv_import's ``file_path`` that way, and
:func:`resolve_params` any generator's file params (csv_import, arc_agi) with a server's
own roots and store.

**Reading rows** (:mod:`~juniper_data_core.sources.table`): :func:`open_source` gives a
:class:`SourceTable` (memory-mapped); ``take(column, rows, dtype)`` reads one column at
``rows`` (a ``slice`` or an int64 index array) as a NumPy array; ``first_missing`` and
``missing_mask`` find nulls/NaNs; ``values`` gives a whole column as pyarrow.

**How a generator from a source declares itself.** Like any generator, a
:class:`~juniper_data_core.generators.base.GeneratorSpec` (params model with the split
params, ``shape``), but with ``table=FromTable(open=...)`` instead of a kernel
``build``. ``open(params)`` returns a
:class:`~juniper_data_core.generators.base.TableRows`: ``n_rows``, ``n_features``,
``n_classes``, ``normalize`` (min-max from training rows, done by the plan),
``one_hot``, ``features(rows)`` (float32), ``labels(rows)`` (int64 classes) and
``meta()`` (what the dataset's meta adds: ``source_id``, the label mapping...). Cache
what ``open`` builds per canonical params, since ``shape`` needs it too (see
``generators/csv_import.py``). :class:`~juniper_data_core.plan.TablePlan` then does
the rest as for every generator: the keyed permutation of :mod:`~juniper_data_core.split`
for train/test, row ranges, every writer (NPZ, Arrow, Dask chunks), and
``plan.extra_meta()`` for the service. A backend never knows the rows came from a file:
rows are read on the host, so every backend and chunking gives the same arrays.

A generator's ``TableRows`` need not read a stored source (``mnist`` may read IDX
arrays it holds), but a dataset must stay a pure function of its recipe: name the
content by its ``source_id`` (or another content hash) in the canonical params.
"""

from __future__ import annotations

from juniper_data_core.sources import huggingface, kaggle
from juniper_data_core.sources.canonical import TYPES, parse_source_id
from juniper_data_core.sources.directory import (
    SourceDirectory,
    SourceInfo,
    add_source_directory,
    add_source_fetcher,
    default_directory,
    find_source,
    import_file,
    remove_source_directory,
    remove_source_fetcher,
    source_directories,
)
from juniper_data_core.sources.errors import SourceFormatError, SourceNotFoundError
from juniper_data_core.sources.paths import (
    PathNotAllowedError,
    import_file_path,
    resolve_params,
    resolve_under_roots,
)
from juniper_data_core.sources.readers import FORMATS, ReadOptions, format_for
from juniper_data_core.sources.table import SourceTable, open_source

__all__ = [
    "huggingface",
    "kaggle",
    "FORMATS",
    "PathNotAllowedError",
    "TYPES",
    "ReadOptions",
    "SourceDirectory",
    "SourceFormatError",
    "SourceInfo",
    "SourceNotFoundError",
    "SourceTable",
    "add_source_directory",
    "add_source_fetcher",
    "default_directory",
    "find_source",
    "format_for",
    "import_file",
    "import_file_path",
    "open_source",
    "parse_source_id",
    "remove_source_directory",
    "remove_source_fetcher",
    "resolve_params",
    "resolve_under_roots",
    "source_directories",
]
