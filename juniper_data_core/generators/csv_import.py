"""csv_import: a dataset from a tabular source (CSV, TSV, JSON, JSON Lines, Parquet, Arrow).

The earlier service's parameters, plus ``source_id``: the recipe names its source by
content, so the dataset is a pure function of (source, transform, seed, row index).
Row ``i`` of the full dataset is row ``i`` of the source (rows with a missing value
dropped first when ``drop_missing``); train and test are the keyed shuffle of every
generator. Features are the ``feature_columns`` (default: every column but the label)
as float32, which must be numeric (int64, float64 or bool). Labels are the
``label_column``'s distinct values sorted (numbers numerically, strings by code
point): class ``k`` is the ``k``-th; the mapping is in the dataset's meta
(``label_classes``). ``normalize_features`` scales each feature to [0, 1] with the
minimum and range of the TRAINING rows (a constant feature has range 1), so test rows
may fall outside [0, 1]: ``(x - min) / range`` in float64, then float32.

``file_path`` is a file to import first (the engine reads it only under the
directories of ``JUNIPER_DATA_IMPORT_ROOTS``; the service checks its own setting), with
``file_format``, ``delimiter``, ``header``; the canonical params then hold its
``source_id`` and no path.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from juniper_data_core.errors import FieldValueError
from juniper_data_core.generators.base import FromTable, GeneratorSpec, SplitParams
from juniper_data_core.generators.kernel import FloatArray
from juniper_data_core.sources.canonical import pyarrow_missing
from juniper_data_core.sources.errors import SourceFormatError

_NUMERIC = ("int64", "float64", "bool")
FileFormat = Literal["auto", "csv", "tsv", "json", "jsonl", "parquet", "arrow"]


class CsvImportParams(SplitParams):
    """Parameters of csv_import (the earlier service's names, plus ``source_id`` and ``drop_missing``)."""

    source_id: str | None = Field(
        default=None,
        description="The source's id (sha256:<hex>), from POST /v1/sources or juniper-data import",
    )
    file_path: str | None = Field(
        default=None,
        description="A file to import instead of source_id (only under JUNIPER_DATA_IMPORT_ROOTS)",
    )
    file_format: FileFormat = Field(default="auto", description="Format of file_path; auto: from its suffix")
    feature_columns: list[str] | None = Field(
        default=None, description="Feature columns, in order (null: every column but the label)"
    )
    label_column: str = Field(default="label", description="The column holding the class")
    delimiter: str = Field(default=",", min_length=1, max_length=1, description="CSV delimiter of file_path")
    header: bool = Field(default=True, description="Whether file_path's first line names the columns")
    one_hot_labels: bool = Field(
        default=True, description="One-hot labels (else one column holding the class)"
    )
    normalize_features: bool = Field(
        default=False, description="Scale features to [0, 1] with the training rows' minimum and range"
    )
    drop_missing: bool = Field(
        default=False, description="Drop rows with a missing feature or label (else they are an error)"
    )
    seed: int | None = Field(default=42, ge=0, lt=2**63, description="Random seed; null draws one")

    @model_validator(mode="before")
    @classmethod
    def _import_file_path(cls, data: Any) -> Any:
        # The engine's own callers: the service resolves file_path (its settings) before this.
        if isinstance(data, dict) and data.get("file_path") is not None and data.get("source_id") is None:
            return _before_validation(data)
        return data

    @model_validator(mode="after")
    def _one_source(self) -> CsvImportParams:
        if self.source_id is None and self.file_path is None:
            raise FieldValueError(
                "source_id", "give source_id (upload the file: POST /v1/sources) or file_path"
            )
        if self.source_id is not None:
            from juniper_data_core.sources.canonical import parse_source_id

            try:
                parse_source_id(self.source_id)
            except SourceFormatError as err:
                raise FieldValueError("source_id", str(err)) from None
        return self


class CsvRows:
    """The :class:`~juniper_data_core.generators.base.TableRows` of a csv_import recipe."""

    def __init__(self, p: CsvImportParams) -> None:
        from juniper_data_core.sources.table import open_source

        assert p.source_id is not None  # file_path is resolved before the model is built
        table = open_source(p.source_id)
        self.table = table
        names = table.schema.names
        table.column_type(p.label_column)
        features = (
            p.feature_columns if p.feature_columns is not None else [n for n in names if n != p.label_column]
        )
        if not features:
            raise SourceFormatError(
                "there are no feature columns: the source has only the label column", "feature_columns"
            )
        for name in features:
            kind = table.column_type(name)
            if kind not in _NUMERIC:
                raise SourceFormatError(
                    f"feature column {name!r} is {kind}, not numeric; leave it out of feature_columns "
                    f"or give the source column_types={{{name!r}: 'float64'}} when uploading",
                    "feature_columns",
                )
        self.feature_names = list(features)
        self.label_column = p.label_column
        used = [*features, p.label_column]
        self._keep: npt.NDArray[np.int64] | None = None
        if p.drop_missing:
            missing = table.missing_mask(used)
            if missing.any():
                self._keep = np.flatnonzero(~missing).astype(np.int64)
        else:
            for name in used:
                row = table.first_missing(name)
                if row is not None:
                    raise SourceFormatError(
                        f"column {name!r} has a missing value at row {row} (0-based, header not counted); "
                        f"fix the file or set drop_missing=true to drop such rows",
                        "drop_missing",
                    )
        self.n_rows = table.n_rows if self._keep is None else len(self._keep)
        self.n_features = len(features)
        self.classes, self._codes = _label_codes(table, p.label_column)
        self.n_classes = len(self.classes)
        self.normalize = p.normalize_features
        self.one_hot = p.one_hot_labels
        self._dropped = table.n_rows - self.n_rows

    def _rows(self, rows: slice | npt.NDArray[np.int64]) -> slice | npt.NDArray[np.int64]:
        if self._keep is None:
            return rows
        return self._keep[rows]

    def features(self, rows: slice | npt.NDArray[np.int64]) -> FloatArray:
        rows = self._rows(rows)
        n = len(range(*rows.indices(self.table.n_rows))) if isinstance(rows, slice) else len(rows)
        X = np.empty((n, self.n_features), np.float32)
        for j, name in enumerate(self.feature_names):
            X[:, j] = self.table.take(name, rows, np.float64)
        return X

    def labels(self, rows: slice | npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        rows = self._rows(rows)
        if isinstance(rows, slice):
            return self._codes[rows]
        codes: npt.NDArray[np.int64] = self._codes[rows]
        return codes

    def meta(self) -> dict[str, Any]:
        return {
            "source_id": self.table.source_id,
            "feature_columns": list(self.feature_names),
            "label_column": self.label_column,
            "label_classes": list(self.classes),
            "label_mapping": {str(c): k for k, c in enumerate(self.classes)},
            "rows_dropped": self._dropped,
        }


def _label_codes(table: Any, column: str) -> tuple[list[Any], npt.NDArray[np.int64]]:
    """The sorted distinct values of ``column`` and each row's class (int64, every row of the
    table; dropped rows' codes are never read)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = table.values(column)
    distinct = pc.unique(values).drop_null()
    if pa.types.is_floating(distinct.type):
        distinct = distinct.filter(pc.invert(pc.is_nan(distinct)))
    ordered = pc.array_sort_indices(distinct)
    classes_arrow = distinct.take(ordered)
    classes = classes_arrow.to_pylist()
    codes = pc.index_in(values, value_set=classes_arrow).fill_null(0)
    return classes, codes.to_numpy().astype(np.int64, copy=False)


def _source_present(p: CsvImportParams) -> None:
    """A deleted source is gone, even if its rows are still cached."""
    from juniper_data_core.sources.directory import find_source

    assert p.source_id is not None
    find_source(p.source_id)


def _check(params: Any) -> None:
    if params.get("file_path") is not None:
        raise FieldValueError(
            "file_path", "file_path must be imported before the recipe is built (it was not resolved)"
        )


def _before_validation(params: dict[str, Any]) -> dict[str, Any]:
    """The engine's own resolution of ``file_path``: roots from ``JUNIPER_DATA_IMPORT_ROOTS``."""
    from juniper_data_core.sources.directory import default_directory
    from juniper_data_core.sources.paths import env_import_roots, import_file_path

    return import_file_path(params, env_import_roots(), default_directory())


TABLE = FromTable(open=CsvRows, check=_check, guard=_source_present)

SPEC = GeneratorSpec(
    name="csv_import",
    description="A dataset from an uploaded table (CSV, TSV, JSON, JSON Lines, Parquet, Arrow)",
    params_model=CsvImportParams,
    shape=TABLE.shape,
    table=TABLE,
    unavailable=pyarrow_missing,
)
