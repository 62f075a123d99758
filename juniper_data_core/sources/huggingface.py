"""Hugging Face ``datasets`` into canonical tables (and so into sources).

Where a dataset can come from, and nothing else (this module never downloads):

- a dataset saved with ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk`` (a
  directory holding ``state.json`` or ``dataset_dict.json``): ``datasets.load_from_disk``;
- any other local directory of data files (CSV, JSON, Parquet, images ...):
  ``datasets.load_dataset(directory)``, which reads the files there;
- a Hub name (``ylecun/mnist``) from the local cache only: allowed when offline mode is
  on (``HF_DATASETS_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``, read by ``datasets`` when it is
  imported), so that ``datasets`` reads its cache and never the network; otherwise a
  :class:`HuggingFaceError` says to set it or to give a directory.

:func:`to_table` turns a dataset into a table whose columns the source store accepts:
scalar columns as they are (a ``ClassLabel`` as its integer), and image, array and
fixed-length list columns flattened row-major into one numeric column per element,
``<column>_<k>`` (a 28x28 image ``image`` -> ``image_0`` ... ``image_783``). Every image
of a column must have the same shape; one that differs is an error naming the column and
row.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from juniper_data_core.errors import MissingDependencyError
from juniper_data_core.sources.errors import SourceFormatError

if TYPE_CHECKING:
    import pyarrow as pa

    from juniper_data_core.sources.directory import SourceDirectory, SourceInfo

#: Rows decoded and flattened at a time by :func:`iter_batches`.
BATCH_ROWS = 4096


class HuggingFaceError(SourceFormatError):
    """A dataset that cannot be found or read offline; the message says what to set or give."""

    def __init__(self, message: str, field: str = "dataset") -> None:
        super().__init__(message, field)


def datasets_module() -> Any:
    """The ``datasets`` package, or a MissingDependencyError saying how to install it."""
    try:
        import datasets
    except ImportError:
        raise MissingDependencyError(
            "Hugging Face sources need the datasets package: pip install datasets"
        ) from None
    return datasets


def offline() -> bool:
    """Whether ``datasets`` runs offline (``HF_DATASETS_OFFLINE`` or ``HF_HUB_OFFLINE`` was set
    when it was imported): then loading a Hub name reads the cache and nothing else."""
    return bool(getattr(datasets_module().config, "HF_HUB_OFFLINE", False))


def load_dataset(
    path_or_name: str | os.PathLike[str], *, split: str | None = None, name: str | None = None
) -> Any:
    """A ``datasets.Dataset``: one split of a saved dataset, a local directory, or a Hub dataset
    in the offline cache (see the module docstring). ``split`` is required when there are
    several; ``name`` is the Hub dataset's configuration, if it has several."""
    datasets = datasets_module()
    path = Path(path_or_name)
    if path.is_dir():
        if (path / "state.json").is_file() or (path / "dataset_dict.json").is_file():
            return _one_split(datasets.load_from_disk(str(path)), split, str(path))
        return _load(datasets, str(path), name, split)
    if path.exists():
        raise HuggingFaceError(
            f"{path} is a file; give a dataset directory (saved or of data files) or a Hub name"
        )
    if not offline():
        raise HuggingFaceError(
            f"{str(path_or_name)!r} is not a local directory, and a Hub dataset is read from the local cache "
            "only: set HF_DATASETS_OFFLINE=1 (and download it beforehand with datasets.load_dataset), "
            "or give the directory of a dataset saved with save_to_disk"
        )
    return _load(datasets, str(path_or_name), name, split)


def _load(datasets: Any, where: str, name: str | None, split: str | None) -> Any:
    try:
        loaded = datasets.load_dataset(where, name, split=split)
    except (FileNotFoundError, ConnectionError) as err:
        raise HuggingFaceError(
            f"dataset {where!r} is not available offline ({err}); download it where there is a network "
            "(datasets.load_dataset) or give a local directory"
        ) from None
    except ValueError as err:
        # An unknown split or configuration: datasets names the ones there are.
        raise HuggingFaceError(f"dataset {where!r}: {err}", "split") from None
    return _one_split(loaded, None, where)


def _one_split(loaded: Any, split: str | None, where: str) -> Any:
    splits = list(loaded.keys()) if hasattr(loaded, "keys") and not hasattr(loaded, "features") else None
    if splits is None:
        return loaded
    if split is None:
        if len(splits) == 1:
            return loaded[splits[0]]
        raise HuggingFaceError(
            f"dataset {where!r} has splits {', '.join(splits)}; choose one with split=", "split"
        )
    if split not in splits:
        raise HuggingFaceError(
            f"dataset {where!r} has no split {split!r}; it has {', '.join(splits)}", "split"
        )
    return loaded[split]


def _is_flattened(feature: Any, datasets: Any) -> bool:
    """Whether a column is an image or an array (one source column per element)."""
    kinds = tuple(
        getattr(datasets, k)
        for k in ("Image", "Array2D", "Array3D", "Array4D", "Array5D", "Sequence", "List")
        if hasattr(datasets, k)
    )
    return isinstance(feature, (*kinds, list))


def columns_for(dataset: Any, feature_columns: Sequence[str] | None, label_column: str | None) -> list[str]:
    """The dataset columns a table takes: ``feature_columns`` (all but the label when None)
    then ``label_column``; a HuggingFaceError naming a column the dataset lacks."""
    names = list(dataset.column_names)
    wanted = list(feature_columns) if feature_columns is not None else [n for n in names if n != label_column]
    if label_column is not None:
        wanted.append(label_column)
    missing = [c for c in wanted if c not in names]
    if missing:
        field = "label_column" if missing == [label_column] else "feature_columns"
        raise HuggingFaceError(f"no column {missing[0]!r} in the dataset; it has {', '.join(names)}", field)
    return wanted


def iter_batches(
    dataset: Any, columns: Sequence[str], batch_rows: int = BATCH_ROWS
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The schema and record batches of ``columns`` of ``dataset``, images and arrays
    flattened (see the module docstring); decoded ``batch_rows`` rows at a time."""
    import pyarrow as pa

    datasets = datasets_module()
    flat = {c for c in columns if _is_flattened(dataset.features[c], datasets)}
    numpy_view = dataset.select_columns(list(columns)).with_format("numpy")
    first = next(numpy_view.iter(batch_size=1), None)
    if first is None:
        raise HuggingFaceError("the dataset has no rows")
    shapes = {c: np.asarray(first[c][0]).shape for c in flat}
    fields: list[pa.Field] = []
    for c in columns:
        if c in flat:
            kind = _numeric(np.asarray(first[c][0]).dtype, c)
            fields.extend(pa.field(f"{c}_{k}", kind) for k in range(int(np.prod(shapes[c]))))
        else:
            fields.append(pa.field(c, dataset.data.schema.field(c).type))
    schema = pa.schema(fields)

    def batches() -> Iterator[pa.RecordBatch]:
        for start, batch in zip(
            range(0, dataset.num_rows, batch_rows), numpy_view.iter(batch_size=batch_rows), strict=True
        ):
            arrays: list[Any] = []
            for c in columns:
                if c in flat:
                    values = _stack(batch[c], shapes[c], c, start)
                    arrays.extend(values[:, k] for k in range(values.shape[1]))
                else:
                    arrays.append(pa.array(batch[c]))
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    return schema, batches()


def _numeric(dtype: np.dtype[Any], column: str) -> pa.DataType:
    import pyarrow as pa

    if dtype.kind in "iub":
        return pa.int64()
    if dtype.kind == "f":
        return pa.float64()
    raise HuggingFaceError(
        f"column {column!r} holds {dtype} arrays; only numeric arrays can be flattened", "feature_columns"
    )


def _stack(values: Any, shape: tuple[int, ...], column: str, start: int) -> np.ndarray[Any, Any]:
    """``values`` (one array per row, or already stacked) as ``(rows, prod(shape))``."""
    if isinstance(values, np.ndarray) and values.dtype != object and values.shape[1:] == shape:
        return values.reshape(len(values), -1)
    for i, value in enumerate(values):
        if np.asarray(value).shape != shape:
            raise HuggingFaceError(
                f"column {column!r} row {start + i}: shape {np.asarray(value).shape} differs from the first "
                f"row's {shape}; every image or array of a column must have one shape",
                "feature_columns",
            )
    return np.stack([np.asarray(v) for v in values]).reshape(len(values), -1)


def to_table(
    dataset: Any, feature_columns: Sequence[str] | None = None, label_column: str | None = None
) -> pa.Table:
    """``dataset`` (a ``datasets.Dataset``) as a pyarrow Table of ``feature_columns`` (all
    but the label when None) and ``label_column``, images and arrays flattened."""
    import pyarrow as pa

    schema, batches = iter_batches(dataset, columns_for(dataset, feature_columns, label_column))
    return pa.Table.from_batches(list(batches), schema=schema)


def import_huggingface(
    path_or_name: str | os.PathLike[str],
    *,
    split: str | None = None,
    name: str | None = None,
    feature_columns: Sequence[str] | None = None,
    label_column: str | None = None,
    directory: SourceDirectory | None = None,
) -> SourceInfo:
    """A Hugging Face dataset (see :func:`load_dataset`) as a source in ``directory`` (the
    default source directory when None), streamed batch by batch; its ``SourceInfo``."""
    from juniper_data_core.sources.directory import default_directory

    dataset = load_dataset(path_or_name, split=split, name=name)
    schema, batches = iter_batches(dataset, columns_for(dataset, feature_columns, label_column))
    return (directory or default_directory()).import_batches(schema, batches)


__all__ = [
    "HuggingFaceError",
    "import_huggingface",
    "iter_batches",
    "load_dataset",
    "offline",
    "to_table",
]
